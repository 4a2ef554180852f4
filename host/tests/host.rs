//! End-to-end tests of `fn-host`: each starts the real binary (or, where the point is that no
//! socket is involved, the app in-process) on `tests/app/spin.toml`, whose components are one
//! purpose-built guest (`tests/guest`) under several ids with different grants.

mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};
use support::{Client, Host, test_app};

fn start() -> Host {
    test_app().start()
}

#[test]
fn routes_match_as_spin_does_and_set_spin_headers() {
    let host = start();
    let reply = host.get("/items/42/a/b/headers?x=1");
    assert_eq!(reply.status, 200);
    let port = host.url.rsplit(':').next().unwrap();
    for expected in [
        "spin-base-path: /".to_string(),
        "spin-component-route: /items/:id".to_string(),
        format!("spin-full-url: http://127.0.0.1:{port}/items/42/a/b/headers?x=1"),
        "spin-matched-route: /items/:id/...".to_string(),
        "spin-path-info: /a/b/headers".to_string(),
        "spin-path-match-id: 42".to_string(),
        "spin-raw-component-route: /items/:id/...".to_string(),
    ] {
        assert!(reply.body.contains(&expected), "missing {expected:?} in\n{}", reply.body);
    }
    assert!(reply.body.contains("spin-client-addr: 127.0.0.1:"), "{}", reply.body);

    // `/guest/...` also matches `/guest`; `/exact` also matches `/exact/`, but not below it.
    assert_eq!(host.get("/guest").status, 404, "the guest answers 404 for an empty action");
    assert!(host.get("/guest").body.contains("no action"));
    assert!(host.get("/exact/").body.contains("no action \"\""));
    let unmatched = host.get("/exact/below");
    assert_eq!(unmatched.status, 404);
    assert_eq!(unmatched.errors(), ["no route for /exact/below"]);
    let nowhere = host.get("/nowhere");
    assert_eq!(nowhere.status, 404);
    assert_eq!(nowhere.errors(), ["no route for /nowhere"]);

    let health = host.get("/.well-known/spin/health");
    assert_eq!((health.status, health.body.as_str()), (200, "OK"));
}

#[test]
fn private_components_are_reachable_only_by_chaining() {
    let host = start();
    // `hidden` has only a private route: no public path reaches it...
    let hidden = host.get("/hidden/hello");
    assert_eq!(hidden.status, 404);
    assert_eq!(hidden.errors(), ["no route for /hidden/hello"]);
    // ...but `guest` may chain to it, and to the app itself through `self`.
    let chained = host.get("/guest/fetch?url=http://hidden.spin.internal/hello");
    assert_eq!((chained.status, chained.body.as_str()), (200, "200 hello"));
    let twice = host.get("/guest/fetch?url=http://hidden.spin.internal/hello&times=2");
    assert_eq!(twice.body, "200 hello; 200 hello");
    let to_self = host.get("/guest/fetch?url=http://self/exact");
    assert_eq!(to_self.status, 200);
    assert!(to_self.body.starts_with("404"), "{}", to_self.body);
    // Each hop gets its own request log line.
    assert!(host.wait_for_log("GET /hello hidden 200"), "{}", host.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn chaining_runs_in_process_without_any_listening_socket() {
    use http_body_util::BodyExt;
    support::fn_host().build(&support::test_manifest());
    let dir = support::fresh_dir();
    let manifest = support::test_manifest();
    let options = host::app::AppOptions {
        runtime_config: Some(manifest.with_file_name("runtime.toml")),
        manifest,
        working_dir: dir.clone(),
        state_dir: dir.join(".spin"),
        cache_dir: support::shared_cache_dir(),
        lifecycle: host::instance::Lifecycle::default(),
        sqlite_durability: host::sqlite::Durability::Machine,
        metrics: Default::default(),
        max_instances: 100,
        max_concurrent_requests: 25,
        env: vec![("SPIN_VARIABLE_SECRET_TOKEN".into(), "x".into())],
        component_env: Vec::new(),
        sqlite_statements: Vec::new(),
        perf_map: false,
    };
    // No server is started: the app is only called as a library.
    let app = host::app::App::load(&options).unwrap();
    let request = http::Request::get("/guest/fetch?url=http://hidden.spin.internal/hello")
        .header("host", "in-process")
        .body(host::body::body_from(bytes::Bytes::new()))
        .unwrap();
    let response = app.dispatch_public(request, None).await;
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"200 hello");
}

#[test]
fn outbound_requests_outside_allowed_hosts_are_denied_before_leaving_the_host() {
    let host = start();
    // `denied` may reach only https://example.com: not another component...
    let chained = host.get("/denied/fetch?url=http://hidden.spin.internal/hello");
    assert_eq!(chained.status, 502);
    assert_eq!(chained.body, "ErrorCode::HttpRequestDenied");
    // ...and not a real server, which must see no connection at all.
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    server.set_nonblocking(true).unwrap();
    let url = format!("http://{}/", server.local_addr().unwrap());
    let denied = host.get(&format!("/denied/fetch?url={url}"));
    assert_eq!(denied.body, "ErrorCode::HttpRequestDenied");
    assert!(server.accept().is_err(), "the denied request reached the network");
    assert!(host.wait_for_log("outbound request denied"), "{}", host.logs());
}

#[test]
fn a_component_opens_only_its_own_databases() {
    let host = start();
    assert_eq!(host.get("/guest/put?db=alpha&value=a1").body, "rowid 1");
    assert_eq!(host.get("/guest/put?db=alpha&value=a2").body, "rowid 2");
    assert_eq!(host.get("/guest/count?db=alpha").body, "a1,a2");
    assert_eq!(host.get("/guest/put?db=default&value=d").body, "rowid 1");
    // `beta` belongs to `hidden`; `nope` is configured nowhere: both are denied, as on Spin,
    // which does not tell a component what exists beyond its own.
    for other in ["beta", "nope"] {
        let reply = host.get(&format!("/guest/put?db={other}&value=x"));
        assert_eq!((reply.status, reply.body.as_str()), (403, "Error::AccessDenied"), "{other}");
    }
    // The files are where the runtime config and the state dir put them.
    assert!(host.work_dir.join("data/alpha.db").exists());
    assert!(host.work_dir.join(".spin/sqlite_db.db").exists());
}

#[test]
fn key_value_stores_are_the_components_own_and_default_outlives_the_host() {
    let host = start();
    let kv = |host: &Host, store: &str, key: &str| {
        let reply = host.get(&format!("/guest/kv?store={store}&key={key}&value={key}1"));
        (reply.status, reply.body)
    };
    assert_eq!(kv(&host, "default", "b"), (200, "b=b1".into()));
    assert_eq!(kv(&host, "default", "a"), (200, "a=a1,b=b1".into()));
    assert_eq!(kv(&host, "scratch", "c"), (200, "c=c1".into()));
    // `hidden` belongs to another component; `nope` is configured nowhere.
    for other in ["hidden", "nope"] {
        assert_eq!(kv(&host, other, "x"), (403, "Error::AccessDenied".into()), "{other}");
    }
    // `default` is a file in the state directory, as Spin keeps it; `scratch` is in memory.
    let dir = host.work_dir.clone();
    assert!(dir.join(".spin/sqlite_key_value.db").exists());
    host.terminate();
    let restarted = test_app().in_dir(&dir).start();
    assert_eq!(kv(&restarted, "default", "z"), (200, "a=a1,b=b1,z=z1".into()));
    assert_eq!(kv(&restarted, "scratch", "d"), (200, "d=d1".into()));
}

#[test]
fn an_abandoned_row_stream_does_not_hold_the_connection() {
    let host = start();
    let reply = host.get("/guest/abandon?db=alpha");
    assert_eq!(reply.body, "first row Some(1), then wrote");
    assert_eq!(host.get("/guest/count?db=alpha").body, "after-abandon");
}

#[test]
fn writes_survive_a_crash_of_the_host() {
    let host = start();
    for value in ["first", "second", "third"] {
        assert_eq!(host.get(&format!("/guest/put?db=alpha&value={value}")).status, 200);
    }
    // SIGKILL: no shutdown, no flush; only what SQLite committed before answering survives.
    let dir = host.crash();
    let restarted = test_app().in_dir(&dir).start();
    assert_eq!(restarted.get("/guest/count?db=alpha").body, "first,second,third");
}

#[test]
fn variables_come_from_manifest_defaults_and_the_environment() {
    let host = start();
    assert_eq!(host.get("/guest/var?name=greeting").body, "hello from the manifest");
    assert_eq!(host.get("/guest/var?name=token").body, "Bearer t0ken");
    // Only the component's own variables exist for it, not the application's.
    assert_eq!(host.get("/guest/var?name=secret_token").body, "Error::Undefined(\"secret_token\")");
    let hidden = host.get("/hidden/var?name=greeting");
    assert_eq!(hidden.status, 404);
    assert_eq!(hidden.errors(), ["no route for /hidden/var"]);
    assert_eq!(host.get("/denied/var?name=greeting").body, "Error::Undefined(\"greeting\")");

    let overridden = test_app().env("SPIN_VARIABLE_GREETING", "hello from the environment").start();
    assert_eq!(overridden.get("/guest/var?name=greeting").body, "hello from the environment");
}

#[test]
fn request_bodies_over_the_limit_get_413() {
    let host = test_app().arg("--max-request-body-bytes").arg("1024").start();
    let small = host.post("/guest/echo", "text/plain", &[b'x'; 1000]);
    assert_eq!((small.status, small.body.as_str()), (200, "1000 bytes"));
    let large = host.post("/guest/echo", "text/plain", &[b'x'; 4096]);
    assert_eq!(large.status, 413);
    assert_eq!(large.errors(), ["request body must be at most 1024 bytes"]);
    // Without a Content-Length (chunked), the limit holds too.
    let chunked = host.send(
        support::http::Request::post(format!("{}/guest/echo", host.url))
            .header("transfer-encoding", "chunked")
            .body(vec![b'y'; 4096])
            .unwrap(),
    );
    assert_eq!(chunked.status, 413);
    assert_eq!(chunked.errors(), ["request body must be at most 1024 bytes"]);
    assert_eq!(host.get("/guest/hello").body, "hello", "the host keeps serving");
}

#[test]
fn a_trapping_guest_gets_500_and_the_next_request_is_served() {
    let host = start();
    let trapped = host.get("/guest/trap");
    assert_eq!(trapped.status, 500);
    assert_eq!(trapped.errors(), ["the component failed"]);
    assert_eq!(host.get("/guest/hello").body, "hello");
    assert!(host.wait_for_log("the test guest traps on purpose"), "guest stderr is forwarded");
    assert!(host.wait_for_log("GET /guest/trap guest 500"), "{}", host.logs());
}

#[test]
fn a_guest_over_its_memory_cap_fails_alone() {
    let host = test_app().arg("--max-instance-memory-mib").arg("32").start();
    let within = host.get("/guest/grow?mib=8");
    assert_eq!((within.status, within.body.as_str()), (200, "allocated 8388608 bytes"));
    let over = host.get("/guest/grow?mib=64");
    assert_eq!(over.status, 500);
    assert_eq!(over.errors(), ["the component failed"]);
    assert_eq!(host.get("/guest/hello").body, "hello");
}

#[test]
fn a_looping_guest_is_cut_off_at_the_deadline_and_the_host_keeps_serving() {
    let host = test_app().arg("--request-timeout").arg("1s").start();
    let started = Instant::now();
    let looping = host.get("/guest/loop");
    let took = started.elapsed();
    assert_eq!(looping.status, 504);
    assert_eq!(looping.errors(), ["the component did not answer within 1s"]);
    assert!(took < Duration::from_secs(5), "cut off after {took:?}");
    assert_eq!(host.get("/guest/hello").body, "hello");
    assert_eq!(host.get("/guest/hello").body, "hello");
}

#[test]
fn requests_past_the_concurrency_limit_wait_their_turn_then_get_503() {
    let host = test_app()
        .arg("--max-concurrent-requests")
        .arg("1")
        .arg("--request-timeout")
        .arg("2s")
        .start();
    let started = Instant::now();
    std::thread::scope(|scope| {
        // The first holds the only turn until its deadline (2 s); the second, sent at 0.9 s,
        // waits for it (until 2.9 s at most), then holds it for its own 2 s; the third, sent at
        // 1 s, waits until 3 s, while the second holds the turn, and gets 503.
        let first = scope.spawn(|| host.get("/guest/loop"));
        std::thread::sleep(Duration::from_millis(900));
        let second = scope.spawn(|| host.get("/guest/loop"));
        std::thread::sleep(Duration::from_millis(100));
        let third = host.get("/guest/hello");
        assert_eq!(third.status, 503, "{}", third.body);
        assert_eq!(
            third.errors(),
            ["the server is at its limit of requests in progress; try again shortly"]
        );
        assert_eq!(third.header("retry-after"), Some("1"));
        assert_eq!(first.join().unwrap().status, 504);
        assert_eq!(second.join().unwrap().status, 504);
    });
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(3900), "the second ran after the first: {took:?}");
    assert_eq!(host.get("/guest/hello").body, "hello");
}

#[test]
fn instances_are_reused_unless_told_otherwise() {
    let reused = start();
    let counts: Vec<String> = (0..3).map(|_| reused.get("/guest/counter").body).collect();
    assert_eq!(counts, ["1", "2", "3"], "one instance served all three");

    let fresh = test_app().arg("--max-instance-reuse-count").arg("1").start();
    let counts: Vec<String> = (0..3).map(|_| fresh.get("/guest/counter").body).collect();
    assert_eq!(counts, ["1", "1", "1"], "a fresh instance per request");
}

#[test]
fn idle_instances_are_dropped() {
    let host = test_app().arg("--idle-instance-timeout").arg("100ms").start();
    assert_eq!(host.get("/guest/counter").body, "1");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(host.get("/guest/counter").body, "1", "a new instance after the idle time");
}

#[test]
fn guest_output_is_logged_with_the_component_id() {
    let host = start();
    assert_eq!(host.get("/guest/log").body, "logged");
    assert!(host.wait_for_log("a line on stdout"), "{}", host.logs());
    assert!(host.wait_for_log("a line on stderr"), "{}", host.logs());
    let logs = host.logs();
    let line = logs.lines().find(|l| l.contains("a line on stderr")).unwrap();
    assert!(line.contains("component=guest") && line.contains("stderr"), "{line}");
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let host = start();
    assert_eq!(host.get("/guest/hello").status, 200);
    let status = host.terminate();
    assert!(status.success(), "{status}");
}

#[test]
fn start_up_failures_say_what_to_fix() {
    // A required variable without a value.
    let mut options = test_app();
    options.env.clear();
    let (code, stderr) = options.fail_to_start();
    assert_eq!(code, Some(1));
    assert!(stderr.contains("SPIN_VARIABLE_SECRET_TOKEN"), "{stderr}");

    // A database label no runtime config provides.
    let dir = support::fresh_dir();
    let only_beta = dir.join("runtime.toml");
    std::fs::write(&only_beta, "[sqlite_database.beta]\ntype = \"spin\"\npath = \"beta.db\"\n")
        .unwrap();
    let mut options = test_app();
    options.runtime_config = Some(only_beta);
    let (_, stderr) = options.fail_to_start();
    assert!(stderr.contains("`alpha`") && stderr.contains("[sqlite_database.alpha]"), "{stderr}");

    // A component that was never built, and a manifest with a mistake.
    let dir = support::fresh_dir();
    let broken = dir.join("spin.toml");
    let text = std::fs::read_to_string(support::test_manifest()).unwrap();
    std::fs::write(&broken, text.replace("../../../target", "missing")).unwrap();
    let mut options = test_app();
    options.manifest = broken.clone();
    let (_, stderr) = options.fail_to_start();
    assert!(stderr.contains("fn-host build"), "{stderr}");

    std::fs::write(&broken, text.replace("route = \"/exact\"", "route = \"exact\"")).unwrap();
    let mut options = test_app();
    options.manifest = broken.clone();
    let (_, stderr) = options.fail_to_start();
    assert!(
        stderr.contains("spin.toml")
            && stderr.contains("trigger.http[1]")
            && stderr.contains("starts with '/'"),
        "{stderr}"
    );
}

#[test]
fn compiled_components_are_cached_across_restarts() {
    let cache = support::fresh_dir();
    let cached = || {
        std::fs::read_dir(&cache)
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                (entry.file_name(), entry.metadata().unwrap().modified().unwrap())
            })
            .collect::<Vec<_>>()
    };
    let with_cache = || {
        let mut options = test_app();
        options.cache_dir = cache.clone();
        options.start()
    };
    drop(with_cache());
    // Three component ids, one Wasm file: compiled once.
    let first = cached();
    assert_eq!(first.len(), 1);
    let second = with_cache();
    assert_eq!(second.get("/guest/hello").body, "hello");
    assert_eq!(cached(), first, "the restart read the cache instead of compiling again");
}
