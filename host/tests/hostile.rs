//! Hostile clients against the real app: this repository's `spin.toml` and `runtime.toml` on
//! the `fn-host` binary, over loopback. For each attack: the host's resident memory stays below
//! 150 MB, `/.well-known/spin/health` and `GET /users/{id}` answer within 100 ms on new
//! connections while it runs, and everything answers normally afterwards. Each test prints what
//! it measured (`--nocapture` shows it).

mod support;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{OnceLock, PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};
use support::{Client, Host, Reply, http, read_reply, repo_app};

/// The most resident memory the host may use under any attack.
const MAX_RSS_MB: u64 = 150;
/// How fast health and a plain read must answer during an attack.
const MAX_LATENCY: Duration = Duration::from_millis(100);
/// Connections each attack opens.
const ATTACKERS: usize = 100;

/// The machine as the tests here share it: those that measure latency run together; one that
/// loads the machine on purpose runs alone, so that its load is not measured as another's.
static MACHINE: RwLock<()> = RwLock::new(());

/// The app, started on a fresh state directory, with one user to read back.
struct App {
    host: Host,
    user_path: String,
    /// Held until the app is stopped (dropped after `host`).
    _sharing: Option<RwLockReadGuard<'static, ()>>,
}

impl App {
    /// The app, sharing the machine with the other tests that measure latency.
    fn start(args: &[&str]) -> App {
        let sharing = MACHINE.read().unwrap_or_else(PoisonError::into_inner);
        App { _sharing: Some(sharing), ..App::launch(args) }
    }

    /// The app, for a test that holds the machine to itself ([`MACHINE`]).
    fn launch(args: &[&str]) -> App {
        warm_compile_cache();
        let mut options = repo_app();
        options.args = args.iter().map(|arg| arg.to_string()).collect();
        let host = options.start();
        let created = host.post_form("/users", "name=Probe");
        assert_eq!(created.status, 200, "{}", created.body);
        let user_path = format!("/users/{}", created.json()["user"]["id"]);
        App { host, user_path, _sharing: None }
    }

    /// Stops the app, runs `change` on its working directory, and starts it again there.
    fn restart_after(self, change: impl FnOnce(&std::path::Path)) -> App {
        let dir = self.host.work_dir.clone();
        self.host.terminate();
        change(&dir);
        App {
            host: repo_app().in_dir(&dir).start(),
            user_path: self.user_path,
            _sharing: self._sharing,
        }
    }

    fn connect(&self) -> TcpStream {
        let address = self.host.url.trim_start_matches("http://");
        let stream = TcpStream::connect(address).expect("connect to the host");
        stream.set_nodelay(true).unwrap();
        stream
    }

    /// `count` connections, each with a request whose body never finishes: 1000 bytes
    /// announced, 6 sent.
    fn unfinished_bodies(&self, count: usize) -> Vec<TcpStream> {
        (0..count)
            .map(|_| {
                let mut stream = self.connect();
                write!(stream, "{}name=x", post_head("Content-Length: 1000")).unwrap();
                stream
            })
            .collect()
    }

    /// Resident memory now, in MB.
    fn rss_mb(&self) -> u64 {
        self.host.rss_bytes() / 1_000_000
    }

    /// `GET path` on a new connection: the reply, and how long it took.
    fn probe(&self, path: &str) -> (Reply, Duration) {
        let start = Instant::now();
        let request = http::Request::get(path).body(Vec::new()).unwrap();
        (self.host.send_raw(request), start.elapsed())
    }

    /// Health and the user answer 200 right now.
    fn assert_serves_normally(&self) {
        for path in ["/.well-known/spin/health", self.user_path.as_str()] {
            let (reply, _) = self.probe(path);
            assert_eq!(reply.status, 200, "{path}: {reply:?}");
        }
    }

    /// Runs `attack` while probing health and the user every 50 ms and sampling memory every
    /// 10 ms; asserts the limits and prints what was measured. Returns what `attack` returned
    /// and how long each probe of the user took.
    fn under_attack<T>(&self, name: &str, attack: impl FnOnce() -> T) -> (T, Vec<Duration>) {
        let before = self.rss_mb();
        let done = AtomicBool::new(false);
        let (result, peak, probes) = std::thread::scope(|scope| {
            let sampler = scope.spawn(|| {
                let mut peak = 0;
                while !done.load(Ordering::Relaxed) {
                    peak = peak.max(self.rss_mb());
                    std::thread::sleep(Duration::from_millis(10));
                }
                peak
            });
            let prober = scope.spawn(|| {
                let mut probes = Vec::new();
                while !done.load(Ordering::Relaxed) {
                    for path in ["/.well-known/spin/health", self.user_path.as_str()] {
                        let (reply, took) = self.probe(path);
                        probes.push((path.to_string(), reply, took));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                probes
            });
            let result = attack();
            done.store(true, Ordering::Relaxed);
            (result, sampler.join().unwrap(), prober.join().unwrap())
        });
        let slowest = |path: &str| {
            probes
                .iter()
                .filter(|(probed, _, _)| probed == path)
                .map(|(_, _, took)| *took)
                .max()
                .unwrap_or_default()
        };
        println!(
            "{name}: RSS {before} MB before, {peak} MB peak, {} MB after; {} probes; slowest \
             health {:.1?}, slowest {} {:.1?}",
            self.rss_mb(),
            probes.len(),
            slowest("/.well-known/spin/health"),
            self.user_path,
            slowest(&self.user_path),
        );
        assert!(peak < MAX_RSS_MB, "{name}: host RSS reached {peak} MB");
        assert!(probes.len() >= 2, "{name}: the attack ended before any probe");
        for (path, reply, took) in &probes {
            assert_eq!(reply.status, 200, "{name}: {path} during the attack: {reply:?}");
            assert!(*took < MAX_LATENCY, "{name}: {path} took {took:?} during the attack");
        }
        let user = probes
            .iter()
            .filter(|(probed, _, _)| *probed == self.user_path)
            .map(|(_, _, took)| *took)
            .collect();
        (result, user)
    }
}

/// Starts the app once so its components are compiled before any memory is measured (a host
/// that compiled keeps the compiler's memory).
fn warm_compile_cache() {
    static WARM: OnceLock<()> = OnceLock::new();
    WARM.get_or_init(|| drop(repo_app().start()));
}

/// The next reply on `stream`, a connection that stays open (10 s at most).
fn next_reply(stream: &TcpStream) -> Reply {
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    read_reply(&mut BufReader::new(stream)).expect("a reply")
}

/// The reply on `stream` after which the server closes it (10 s at most).
fn last_reply(stream: &TcpStream) -> Reply {
    let reply = next_reply(stream);
    assert!(closed(stream), "the connection stayed open after {reply:?}");
    reply
}

/// Whether the server closed `stream` (within 10 s) without sending anything more.
fn closed(mut stream: &TcpStream) -> bool {
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    matches!(stream.read(&mut [0u8; 1]), Ok(0))
}

/// The head of a form POST to the user service whose body has not been sent yet.
fn post_head(framing: &str) -> String {
    format!(
        "POST /users HTTP/1.1\r\nHost: attacker\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n{framing}\r\n\r\n"
    )
}

#[test]
fn bodies_trickled_in_one_byte_chunks_cost_about_their_size() {
    let app = App::start(&[]);
    // 100 bodies of 50 kB, each byte its own chunk (6 bytes on the wire), sent a little at a time.
    const ROUNDS: usize = 100;
    const CHUNKS_PER_ROUND: usize = 500;
    let mut attackers: Vec<TcpStream> = (0..ATTACKERS)
        .map(|_| {
            let mut stream = app.connect();
            write!(stream, "{}", post_head("Transfer-Encoding: chunked")).unwrap();
            stream
        })
        .collect();
    let round = b"1\r\nx\r\n".repeat(CHUNKS_PER_ROUND);
    let (replies, _) = app.under_attack("1-byte chunks", || {
        for _ in 0..ROUNDS {
            for stream in &mut attackers {
                stream.write_all(&round).unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        attackers
            .iter_mut()
            .map(|stream| {
                stream.write_all(b"0\r\n\r\n").unwrap();
                next_reply(stream)
            })
            .collect::<Vec<_>>()
    });
    // Each body arrived whole and reached the user service, which refuses it (no `name`).
    for reply in &replies {
        assert_eq!(reply.status, 400, "{reply:?}");
        assert!(reply.body.contains(r#""result":false"#), "{reply:?}");
    }
    app.assert_serves_normally();
}

#[test]
fn bodies_that_never_finish_get_408_at_the_deadline_and_the_connection_closes() {
    let app = App::start(&["--request-body-timeout", "2s"]);
    let started = Instant::now();
    let attackers = app.unfinished_bodies(ATTACKERS);
    let (replies, _) = app
        .under_attack("unfinished bodies", || attackers.iter().map(last_reply).collect::<Vec<_>>());
    let took = started.elapsed();
    // The host answered and closed every connection.
    for reply in &replies {
        assert_eq!(reply.status, 408, "{reply:?}");
        assert_eq!(reply.header("connection"), Some("close"), "{reply:?}");
        assert_eq!(
            reply.body,
            r#"{"result":false,"errors":["the request body did not arrive within 2s"]}"#
        );
    }
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(6), "408 after {took:?}");
    app.assert_serves_normally();
}

#[test]
fn idle_connections_and_slow_heads_past_the_limit_cannot_lock_clients_out() {
    const LIMIT: usize = 20;
    let app = App::start(&["--max-connections", &LIMIT.to_string()]);
    let mut attackers: Vec<TcpStream> = Vec::new();
    app.under_attack("idle connections", || {
        // Five times the limit, held for two seconds: half never send a byte, half send the
        // start of a request head and no more.
        attackers = (0..ATTACKERS * 5)
            .map(|n| {
                let mut stream = app.connect();
                if n % 2 == 1 {
                    stream.write_all(b"GET /users/1 HTTP/1.1\r\nHo").unwrap();
                }
                stream
            })
            .collect();
        std::thread::sleep(Duration::from_secs(2));
    });
    // The limit held: every attacker but the newest few was closed to make room.
    let still_open = attackers
        .iter()
        .filter(|stream| {
            stream.set_nonblocking(true).unwrap();
            let mut reader: &TcpStream = stream;
            let read = reader.read(&mut [0u8; 1]);
            matches!(read, Err(error) if error.kind() == std::io::ErrorKind::WouldBlock)
        })
        .count();
    println!("idle connections: {still_open} of {} still open", attackers.len());
    assert!(still_open <= LIMIT, "{still_open} idle connections open");
    drop(attackers);
    app.assert_serves_normally();
}

#[test]
fn at_the_limit_with_every_connection_busy_health_still_answers() {
    const LIMIT: usize = 5;
    let app =
        App::start(&["--max-connections", &LIMIT.to_string(), "--request-body-timeout", "3s"]);
    // Every slot busy with a request whose body never comes.
    let busy = app.unfinished_bodies(LIMIT);
    std::thread::sleep(Duration::from_millis(200));
    let (health, took) = app.probe("/.well-known/spin/health");
    println!("busy limit: health answered in {took:.1?}");
    assert_eq!(health.status, 200, "{health:?}");
    assert!(took < MAX_LATENCY, "health took {took:?}");
    let (refused, _) = app.probe(&app.user_path);
    assert_eq!(refused.status, 503, "{refused:?}");
    assert_eq!(refused.header("retry-after"), Some("1"), "{refused:?}");
    assert_eq!(
        refused.body,
        r#"{"result":false,"errors":["the server is at its connection limit; try again shortly"]}"#
    );
    // The busy ones end at their body deadline; then the slots are free again.
    for stream in &busy {
        assert_eq!(last_reply(stream).status, 408);
    }
    app.assert_serves_normally();
}

#[test]
fn a_connection_idle_past_the_keep_alive_timeout_is_closed() {
    let app = App::start(&["--keep-alive-timeout", "1s"]);
    let mut stream = app.connect();
    write!(stream, "GET /.well-known/spin/health HTTP/1.1\r\nHost: client\r\n\r\n").unwrap();
    assert_eq!(next_reply(&stream).status, 200);
    let idle = Instant::now();
    // Kept open for the next request...
    assert!(closed(&stream), "closed without a reply");
    // ...until the timeout.
    let kept = idle.elapsed();
    assert!(
        kept > Duration::from_millis(800) && kept < Duration::from_secs(3),
        "closed after {kept:?} idle"
    );
}

#[test]
fn a_flood_of_deep_pages_on_one_database_leaves_the_others_fast() {
    const LISTINGS: i64 = 1_000_000;
    const DEEP_PAGE: &str = "/public-api/listings?page_size=100&page_num=9000";
    const FLOOD: Duration = Duration::from_secs(8);
    // The app creates its schema; then a million listings go straight into its file.
    let app = App::start(&[]);
    assert_eq!(app.host.get("/listings").status, 200);
    let app = app.restart_after(|dir| fill_listings(&dir.join(".spin/listings.db"), LISTINGS));
    let deep = app.host.get(DEEP_PAGE);
    assert_eq!(deep.status, 200, "{}", deep.body);
    assert_eq!(support::ids(&deep.json()["listings"]).len(), 100);

    let stop = AtomicBool::new(false);
    let answered = AtomicUsize::new(0);
    let (_, user) = std::thread::scope(|scope| {
        // Ends the flood however this closure ends (the scope waits for the flood's threads).
        let _stop_flood = SetOnDrop(&stop);
        for _ in 0..2 * ATTACKERS {
            scope.spawn(|| {
                let url = format!("{}{DEEP_PAGE}", app.host.url);
                while !stop.load(Ordering::Relaxed) {
                    if support::try_get(&url).is_ok_and(|reply| reply.status == 200) {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        app.under_attack("200 clients on deep pages", || std::thread::sleep(FLOOD))
    });
    let mut user = user;
    user.sort();
    let p99 = user[user.len() * 99 / 100];
    println!(
        "deep pages: {} answered in {FLOOD:?}; GET {} p50 {:.1?}, p99 {p99:.1?}",
        answered.load(Ordering::Relaxed),
        app.user_path,
        user[user.len() / 2]
    );
    assert!(answered.load(Ordering::Relaxed) > 0, "no deep page was answered");
    assert!(p99 < Duration::from_millis(50), "GET {} p99 {p99:?}", app.user_path);
    let first = app.host.get("/public-api/listings?page_size=10");
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(support::ids(&first.json()["listings"]).len(), 10);
}

#[test]
fn a_thousand_concurrent_clients_of_the_public_api_are_all_answered_in_bounded_memory() {
    const CLIENTS: usize = 1000;
    const MAX_RSS_UNDER_LOAD_MB: u64 = 300;
    const LOAD: Duration = Duration::from_secs(6);
    // It saturates the machine: the tests that measure latency wait for it to end.
    let _alone = MACHINE.write().unwrap_or_else(PoisonError::into_inner);
    // Fewer instances than the default, so that a test client reaches the engine's limits:
    // without turns, about 1 in 6 requests failed (instances or fiber stacks exhausted).
    let app = App::launch(&["--max-instances", "200"]);
    let user_id: i64 = app.user_path.trim_start_matches("/users/").parse().unwrap();
    for price in 1..=10 {
        let body = serde_json::json!({"user_id": user_id, "listing_type": "rent", "price": price});
        let created = app.host.post_json("/public-api/listings", body);
        assert_eq!(created.status, 200, "{}", created.body);
    }
    let url = format!("{}/public-api/listings?page_size=10", app.host.url);
    let stop = AtomicBool::new(false);
    let answered = AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    let peak = std::thread::scope(|scope| {
        let _stop_load = SetOnDrop(&stop);
        for _ in 0..CLIENTS {
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn_scoped(scope, || {
                    while !stop.load(Ordering::Relaxed) {
                        match support::try_get(&url) {
                            Ok(reply) if reply.status == 200 => {
                                answered.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(reply) => failures
                                .lock()
                                .unwrap()
                                .push(format!("{} {}", reply.status, reply.body)),
                            // The client's own limits (ports, time) are not the host's failures.
                            Err(_) => {}
                        }
                    }
                })
                .expect("start a client thread");
        }
        let end = Instant::now() + LOAD;
        let mut peak = 0;
        while Instant::now() < end {
            peak = peak.max(app.rss_mb());
            std::thread::sleep(Duration::from_millis(20));
        }
        peak
    });
    let failures = failures.into_inner().unwrap();
    println!(
        "{CLIENTS} clients of the public API: {} answered in {LOAD:?}, {} failed; RSS peak {peak} MB",
        answered.load(Ordering::Relaxed),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failed, e.g. {:?}",
        failures.len(),
        &failures[..3.min(failures.len())]
    );
    assert!(answered.load(Ordering::Relaxed) > CLIENTS, "too few answered");
    assert!(peak < MAX_RSS_UNDER_LOAD_MB, "RSS peak {peak} MB");
    app.assert_serves_normally();
}

/// Sets its flag when dropped, a panic included.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// `count` listings of user 1, newest last, written in one transaction.
fn fill_listings(path: &std::path::Path, count: i64) {
    let database = rusqlite::Connection::open(path).expect("open the listings database");
    database
        .execute(
            "INSERT INTO listings (user_id, listing_type, price, created_at, updated_at)
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             SELECT 1, CASE i % 2 WHEN 0 THEN 'rent' ELSE 'sale' END, 100 + i % 5000,
                    1700000000000000 + i, 1700000000000000 + i
             FROM n",
            [count],
        )
        .expect("fill the listings");
}
