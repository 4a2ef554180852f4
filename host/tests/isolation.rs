//! What a client, a guest or another user of the machine cannot make the host do: pass its own
//! `spin-*` headers off as the host's, send credentials in a URL, dodge in-process dispatch by
//! spelling a component's host name differently, or get native code of its choosing run from
//! the compile cache.

mod support;

use std::process::Command;
use support::{Client, Host, test_app};

fn start() -> Host {
    test_app().start()
}

#[test]
fn spin_headers_sent_by_a_client_never_reach_the_guest() {
    let host = start();
    let request = support::http::Request::get(format!("{}/items/42/headers", host.url))
        .header("spin-path-match-id", "1337")
        .header("Spin-Full-Url", "http://evil.example/")
        .header("spin-client-addr", "10.6.6.6:1")
        .header("spin-x", "1")
        .body(Vec::new())
        .unwrap();
    let reply = host.send(request);
    assert_eq!(reply.status, 200);
    let port = host.url.rsplit(':').next().unwrap();
    let seen: Vec<&str> = reply.body.lines().collect();
    let client_addr = seen.iter().find(|line| line.starts_with("spin-client-addr: ")).unwrap();
    assert!(client_addr.starts_with("spin-client-addr: 127.0.0.1:"), "{client_addr}");
    assert_eq!(
        seen.iter()
            .filter(|line| !line.starts_with("spin-client-addr: "))
            .copied()
            .collect::<Vec<_>>(),
        [
            "spin-base-path: /",
            "spin-component-route: /items/:id",
            &format!("spin-full-url: http://127.0.0.1:{port}/items/42/headers"),
            "spin-matched-route: /items/:id/...",
            "spin-path-info: /headers",
            "spin-path-match-id: 42",
            "spin-raw-component-route: /items/:id/...",
        ],
        "exactly the host's own spin-* headers, once each"
    );
}

#[test]
fn component_host_names_match_in_any_case_and_with_a_trailing_dot() {
    let host = start();
    // `guest` may reach http://hidden.spin.internal; these name the same host, and are served
    // in-process (DNS knows no `spin.internal`, so going out would fail).
    for url in [
        "http://HIDDEN.SPIN.INTERNAL/hello",
        "http://Hidden.Spin.Internal/hello",
        "http://hidden.spin.internal./hello",
    ] {
        let reply = host.get(&format!("/guest/fetch?url={url}"));
        assert_eq!((reply.status, reply.body.as_str()), (200, "200 hello"), "{url}");
    }
}

#[test]
fn urls_with_userinfo_are_refused_and_their_credentials_not_logged() {
    let host = start();
    // `guest` may reach http://hidden.spin.internal, but not with credentials in the URL: this
    // host refuses a user name...
    let reply = host.get("/guest/fetch?url=http://user@hidden.spin.internal/hello");
    assert_eq!((reply.status, reply.body.as_str()), (502, "ErrorCode::HttpRequestDenied"));
    assert!(host.wait_for_log("outbound request denied: the URL has userinfo"), "{}", host.logs());
    // ...and wasmtime's `wasi:http` already refuses `user:password@` as an authority.
    let reply = host.get("/guest/fetch?url=http://user:s3cret@hidden.spin.internal/hello");
    assert_eq!((reply.status, reply.body.as_str()), (502, "ErrorCode::HttpRequestUriInvalid"));
    assert!(!host.logs().contains("s3cret"), "{}", host.logs());
    assert!(!host.logs().contains("GET /hello hidden"), "hidden was called");
}

/// The one compiled file of the test app in `cache`.
fn cached_file(cache: &std::path::Path) -> std::path::PathBuf {
    let files: Vec<_> =
        std::fs::read_dir(cache).unwrap().map(|entry| entry.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

#[test]
fn a_planted_or_damaged_compiled_component_is_compiled_again_not_run() {
    let cache = support::fresh_dir();
    let with_cache = || {
        let mut options = test_app();
        options.cache_dir = cache.clone();
        options.start()
    };
    drop(with_cache());
    let compiled = cached_file(&cache);
    let sound = std::fs::read(&compiled).unwrap();

    // One bit of its native code flipped (wasmtime itself checks only its own header).
    let mut damaged = sound.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    // Another tool's file under the same name.
    let foreign = b"\x7fELF not a compiled component of this host".to_vec();
    for (planted, problem) in [
        (damaged, "does not match its digest (corrupted or altered)"),
        (foreign, "is not in this host's format"),
    ] {
        std::fs::write(&compiled, planted).unwrap();
        let host = with_cache();
        let logged = format!("guest.wasm: the cached copy {} {problem}", compiled.display());
        assert!(host.wait_for_log(&logged), "{}", host.logs());
        assert!(host.logs().contains("WARN recompiling "), "{}", host.logs());
        assert_eq!(host.get("/guest/hello").body, "hello");
        assert_eq!(
            std::fs::read(cached_file(&cache)).unwrap(),
            sound,
            "the cache holds a sound copy again"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_cache_directory_other_users_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let cache = support::fresh_dir();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut options = test_app();
    options.cache_dir = cache.clone();
    let (code, stderr) = options.fail_to_start();
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr.trim_end(),
        format!(
            "Error: the cache directory {0} can be written by other users (mode 777); compiled \
             code from it would run as you: `chmod go-w {0}` or pass another --cache-dir",
            cache.display()
        )
    );
}

#[test]
fn without_home_the_cache_directory_must_be_given() {
    let dir = support::fresh_dir();
    let output = Command::new(env!("CARGO_BIN_EXE_fn-host"))
        .current_dir(&dir)
        .args(["up", "--from"])
        .arg(support::test_manifest())
        .env_remove("HOME")
        .env_remove("XDG_CACHE_HOME")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim_end(),
        "Error: neither HOME nor XDG_CACHE_HOME is set, so there is no place of yours to keep \
         compiled components: pass --cache-dir <a directory only you can write>"
    );
}
