//! The flags of `spin up` a Spin user types, on `fn-host up`: `-e`, `--sqlite`, `--quiet`, and
//! a clear refusal of those this host does not have.

mod support;

use support::{Client, fresh_dir, test_app};

#[test]
fn env_flags_reach_every_component_over_the_manifest_environment() {
    let host =
        test_app().arg("-e").arg("OVERRIDDEN=command line").arg("--env").arg("NEW=a=b").start();
    let env = |name: &str| host.get(&format!("/guest/env?name={name}")).body;
    assert_eq!(env("OVERRIDDEN"), "command line");
    assert_eq!(env("FROM_MANIFEST"), "manifest");
    // Split at the first `=`, as Spin splits it.
    assert_eq!(env("NEW"), "a=b");
    // `hidden` has no environment in the manifest, and gets the command line's too.
    let chained = host.get("/guest/fetch?url=http://hidden.spin.internal/env?name=NEW");
    assert_eq!(chained.body, "200 a=b");
}

#[test]
fn an_env_flag_without_a_value_is_refused() {
    let (code, stderr) = test_app().arg("-e").arg("NO_VALUE").fail_to_start();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("invalid value 'NO_VALUE' for '--env <KEY=VALUE>'")
            && stderr.contains("Environment variable must be of the form `key=value`"),
        "{stderr}"
    );
}

#[test]
fn sqlite_flags_run_statements_and_files_before_serving() {
    let dir = fresh_dir();
    std::fs::write(
        dir.join("rows.sql"),
        "-- two rows; the second statement has no `;`\n\
         INSERT INTO items VALUES ('from a file; semicolon and all');\n\
         INSERT INTO items VALUES ('second')\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("alpha.sql"),
        "CREATE TABLE items (value TEXT NOT NULL);\nINSERT INTO items VALUES ('alpha');\n",
    )
    .unwrap();
    let host = test_app()
        .in_dir(&dir)
        .arg("--sqlite")
        .arg("CREATE TABLE items (value TEXT NOT NULL)")
        .arg("--sqlite")
        .arg("INSERT INTO items VALUES ('inline')")
        .arg("--sqlite")
        .arg("@rows.sql")
        .arg("--sqlite")
        .arg("@alpha.sql:alpha")
        .start();
    // Plain statements and `@file` go to `default`; `@file:label` to that database.
    let default = host.get("/guest/count?db=default");
    assert_eq!(default.body, "inline,from a file; semicolon and all,second");
    assert_eq!(host.get("/guest/count?db=alpha").body, "alpha");
}

#[test]
fn a_failing_sqlite_flag_stops_the_start_naming_the_statement() {
    let dir = fresh_dir();
    std::fs::write(dir.join("bad.sql"), "CREATE TABLE t (x);\nINSERT INTO nowhere VALUES (1);\n")
        .unwrap();
    for (argument, messages) in [
        (
            "INSERT INTO nowhere VALUES (1)",
            vec![
                "failed to execute following sql statement against default database: \
                 'INSERT INTO nowhere VALUES (1)'",
                "no such table: nowhere",
            ],
        ),
        (
            "@bad.sql:alpha",
            vec![
                "failed to execute sql against database 'alpha' from file 'bad.sql'",
                "no such table: nowhere",
            ],
        ),
        ("@absent.sql", vec!["could not read file 'absent.sql' containing sql statements"]),
        ("@bad.sql:nope", vec!["a registered database named 'nope' was expected but not found"]),
    ] {
        let (code, stderr) = test_app().in_dir(&dir).arg("--sqlite").arg(argument).fail_to_start();
        assert_eq!(code, Some(1), "{argument}: {stderr}");
        for message in messages {
            assert!(stderr.contains(message), "{argument}: {stderr}");
        }
    }
    let (code, stderr) = test_app().arg("--sqlite").arg("@:alpha").fail_to_start();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("file path is empty in the '@:alpha' sqlite statement"), "{stderr}");
}

#[test]
fn quiet_silences_what_components_print() {
    let host = test_app().arg("--quiet").start();
    assert_eq!(host.get("/guest/log").body, "logged");
    // The host's own log goes on; the guest's lines would come before its request's line.
    assert!(host.wait_for_log("GET /guest/log guest 200"), "{}", host.logs());
    let logs = host.logs();
    assert!(!logs.contains("a line on stdout") && !logs.contains("a line on stderr"), "{logs}");
}

#[test]
fn spin_flags_this_host_does_not_have_are_named() {
    for (subcommand, flags, message) in [
        (
            "up",
            vec!["--disable-pooling"],
            "`--disable-pooling` is a flag of `spin up` that fn-host does not support",
        ),
        ("up", vec!["-k"], "`--insecure` is a flag of `spin up` that fn-host does not support"),
        (
            "up",
            vec!["--max-instance-memory=1000000"],
            "`--max-instance-memory` is a flag of `spin up` that fn-host does not support \
             (use --max-instance-memory-mib)",
        ),
        (
            "watch",
            vec!["--key-value", "a=b"],
            "`--key-value` is a flag of `spin up` that fn-host does not support",
        ),
    ] {
        let mut options = test_app();
        options.subcommand = subcommand;
        for flag in &flags {
            options = options.arg(flag);
        }
        let (code, stderr) = options.fail_to_start();
        assert_eq!(code, Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(message), "{flags:?}: {stderr}");
        assert!(stderr.contains(&format!("Usage: fn-host {subcommand}")), "{stderr}");
    }
    // Anything else is clap's usual error.
    let (code, stderr) = test_app().arg("--bogus").fail_to_start();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("unexpected argument '--bogus'"), "{stderr}");
}
