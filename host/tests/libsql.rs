//! Databases on a libSQL server (`type = "libsql"`): what a guest sees there is what it sees on
//! a local file, and a server that is down or silent is an error within the request deadline,
//! never a hang.
//!
//! Needs `sqld` (the libSQL server), named by `SQLD` or found on `PATH`; skips, saying so,
//! where it is missing.

mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};
use support::{
    Client, HostOptions, RefusedPort, Sqld, free_ports, fresh_dir, sqld_program, test_app,
};

/// Every kind of value, rows, `last-insert-rowid`, `changes`, errors and transactions.
const SCRIPT: &str = "\
CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, data BLOB)
INSERT INTO t (name, score, data) VALUES (?, ?, ?);; text:ann real:1.5 blob:0a0b
INSERT INTO t (name) VALUES ('bob')
SELECT id, name, score, data FROM t ORDER BY id
UPDATE t SET score = 2 WHERE score IS NULL
SELECT name, score FROM t WHERE id = ?;; int:2
SELECT nosuchcolumn FROM t
INSERT INTO t (name) VALUES (NULL)
INSERT INTO t (name) VALUES ('cy') RETURNING id, name
BEGIN
INSERT INTO t (name) VALUES ('dora')
SELECT count(*) AS n FROM t
ROLLBACK
SELECT count(*) AS n FROM t
BEGIN
INSERT INTO t (name) VALUES ('eve')
COMMIT
SELECT name FROM t ORDER BY id
DELETE FROM t WHERE name IN ('ann', 'bob')
SELECT ?, ?;; null int:9223372036854775807";

#[test]
fn a_guest_sees_on_libsql_what_it_sees_on_a_local_file() {
    let Ok(program) = sqld_program().inspect_err(|reason| println!("skipped: {reason}")) else {
        return;
    };
    let sqld = Sqld::start(&program, &fresh_dir().join("data.sqld"), free_ports(1)[0]);
    let local = test_app().start();
    let remote = on_libsql(&sqld.url).start();
    let run = |host: &support::Host| {
        let reply = host.post("/guest/script?db=alpha", "text/plain", SCRIPT);
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    };
    let (on_file, on_libsql) = (run(&local), run(&remote));
    // The one thing the libSQL client does not tell: the rowid of a statement that returns
    // rows. There, `last-insert-rowid` keeps its value from before (2, not 3) until the next
    // insert.
    let mut rowid_lags = false;
    for (line, (file, libsql)) in on_file.lines().zip(on_libsql.lines()).enumerate() {
        if file.contains("RETURNING") {
            rowid_lags = true;
        } else if file.starts_with("INSERT") {
            rowid_lags = false;
        }
        match (file.split_once(" => error "), libsql.split_once(" => error ")) {
            // The messages differ (the libSQL one names the server); both say what is wrong.
            (Some((_, file_error)), Some((_, libsql_error))) => {
                for error in [file_error, libsql_error] {
                    assert!(
                        error.contains("no such column") || error.contains("NOT NULL"),
                        "line {line}: {error}"
                    );
                }
            }
            _ if rowid_lags => {
                assert_eq!(
                    file.replace("rowid 3", "rowid 2"),
                    libsql,
                    "line {line}\non a file:\n{on_file}\non libSQL:\n{on_libsql}"
                )
            }
            _ => assert_eq!(
                file, libsql,
                "line {line}\non a file:\n{on_file}\non libSQL:\n{on_libsql}"
            ),
        }
    }
    assert_eq!(on_file.lines().count(), on_libsql.lines().count());
    // What the script ends with, spelled out once.
    assert!(
        on_libsql.contains(
            "SELECT name FROM t ORDER BY id => columns [name] rows [[Value::Text(\"ann\")] \
             [Value::Text(\"bob\")] [Value::Text(\"cy\")] [Value::Text(\"eve\")]]"
        ),
        "{on_libsql}"
    );
    assert!(
        on_libsql.contains(
            // `eve` took id 4 again: `dora`'s insert was rolled back.
            "DELETE FROM t WHERE name IN ('ann', 'bob') => columns [] rows [] rowid 4 changes 2"
        ),
        "{on_libsql}"
    );
}

#[test]
fn an_unreachable_libsql_server_is_an_error_and_the_host_keeps_serving() {
    let refused = RefusedPort::new();
    let url = refused.url.clone();
    let host = on_libsql(&url).start();
    let started = Instant::now();
    let reply = host.get("/guest/put?db=alpha&value=x");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(reply.status, 500, "{}", reply.body);
    assert!(
        reply.body.starts_with("Error::Io(\"libSQL server http://127.0.0.1:")
            && reply.body.contains("Connection refused"),
        "{}",
        reply.body
    );
    assert_eq!(host.get("/guest/hello").body, "hello");
}

#[test]
fn a_silent_libsql_server_is_cut_off_at_the_deadline() {
    // Accepts connections and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let host = on_libsql(&url).arg("--request-timeout").arg("2s").start();
    let started = Instant::now();
    let reply = host.get("/guest/put?db=alpha&value=x");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert!(reply.status == 500 || reply.status == 504, "{} {}", reply.status, reply.body);
    assert_eq!(host.get("/guest/hello").body, "hello");
    drop(silent);
}

#[test]
fn pooled_connections_outlive_the_servers_stream_expiry_and_concurrent_writers_all_succeed() {
    let Ok(program) = sqld_program().inspect_err(|reason| println!("skipped: {reason}")) else {
        return;
    };
    let sqld = Sqld::start(&program, &fresh_dir().join("data.sqld"), free_ports(1)[0]);
    let host = on_libsql(&sqld.url).start();
    // Clients writing and reading at once; each leaves a connection in the pool, and a read
    // leaves its server stream open for the connection's next statement.
    let write_and_read = |round: &str| {
        let failures: Vec<String> = std::thread::scope(|scope| {
            let clients: Vec<_> = (0..24)
                .map(|n| {
                    let host = &host;
                    scope.spawn(move || {
                        let mut failures = Vec::new();
                        for i in 0..10 {
                            let put = format!("/guest/put?db=alpha&value={round}-{n}-{i}");
                            for reply in [host.get(&put), host.get("/guest/count?db=alpha")] {
                                if reply.status != 200 {
                                    failures.push(format!("{} {}", reply.status, reply.body));
                                }
                            }
                        }
                        failures
                    })
                })
                .collect();
            clients.into_iter().flat_map(|client| client.join().unwrap()).collect()
        });
        assert!(failures.is_empty(), "{round}: {failures:?}");
    };
    write_and_read("before");
    // sqld expires a stream after 10 s without a request: each pooled connection's, which must
    // then not be used again.
    std::thread::sleep(Duration::from_secs(11));
    write_and_read("after");
    let stored = host.get("/guest/count?db=alpha").body;
    assert_eq!(stored.split(',').count(), 2 * 24 * 10, "{stored}");
}

/// The test app with its `alpha` database on the libSQL server at `url`, the rest of its
/// runtime config as it is.
fn on_libsql(url: &str) -> HostOptions {
    let dir = fresh_dir();
    let app = test_app();
    let config_path = app.runtime_config.clone().expect("the test app's runtime config");
    let mut config: toml::Table = std::fs::read_to_string(&config_path)
        .expect("read the test app's runtime config")
        .parse()
        .expect("a runtime config");
    let alpha: toml::Table =
        format!("type = \"libsql\"\nurl = \"{url}\"\ntoken = \"unused\"").parse().unwrap();
    config["sqlite_database"]["alpha"] = alpha.into();
    let runtime_config = dir.join("runtime.toml");
    std::fs::write(&runtime_config, config.to_string()).expect("write runtime config");
    app.runtime_config(runtime_config).in_dir(&dir)
}
