//! Expensive reads on one database cannot starve the rest: 200 clients asking the public API
//! for deep pages of 1,000,000 listings (each an OFFSET walk of most of the table), while a
//! plain `GET /users/{id}` and the health endpoint are timed, and the host's memory watched.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::{Client, Host, app_with_databases_in, fresh_dir, ids};

const LISTINGS: i64 = 1_000_000;
const USERS: i64 = 20;
const CLIENTS: usize = 200;
const FLOOD: Duration = Duration::from_secs(8);
const DEEP_PAGE: &str = "/public-api/listings?page_size=100&page_num=9000";

#[test]
fn a_flood_of_deep_pages_leaves_the_other_database_and_health_fast() {
    let dir = fresh_dir();
    let data = dir.join("data");
    let app = || app_with_databases_in(&dir, &data).start();

    // The app creates its schema; then a million listings go straight into its file.
    let host = app();
    for n in 1..=USERS {
        assert_eq!(
            host.post_form("/users", &format!("name=User+{n}")).status,
            200
        );
    }
    assert_eq!(host.get("/listings").status, 200);
    host.terminate();
    fill_listings(&data.join("listings.db"));

    let host = app();
    let rss_at_start = host.rss_bytes();
    let deep = host.get(DEEP_PAGE);
    assert_eq!(deep.status, 200, "{}", deep.body);
    assert_eq!(ids(&deep.json()["listings"]).len(), 100);

    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let flood: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (url, stop, answered) = (host.url.clone(), stop.clone(), answered.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if support::try_get(&format!("{url}{DEEP_PAGE}"))
                        .is_ok_and(|reply| reply.status == 200)
                    {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    // Let the flood build up before timing anything.
    std::thread::sleep(Duration::from_secs(1));
    let probes = probe_while_flooded(&host);
    stop.store(true, Ordering::Relaxed);
    for client in flood {
        client.join().expect("flood client");
    }

    let user_p99 = percentile(&probes.user, 99);
    let health_max = probes.health.iter().max().copied().unwrap_or_default();
    eprintln!(
        "{} deep pages answered in {FLOOD:?}; GET /users/{{id}} p50 {:?} p99 {user_p99:?}, \
         health max {health_max:?}; RSS {} MB at start, {} MB at most",
        answered.load(Ordering::Relaxed),
        percentile(&probes.user, 50),
        rss_at_start >> 20,
        probes.max_rss >> 20
    );
    assert!(
        answered.load(Ordering::Relaxed) > 0,
        "no deep page was answered"
    );
    assert!(
        user_p99 < Duration::from_millis(50),
        "GET /users/{{id}} p99 {user_p99:?}"
    );
    assert!(
        health_max < Duration::from_millis(100),
        "health took {health_max:?}"
    );
    assert!(
        probes.max_rss < 150 << 20,
        "RSS reached {} MB",
        probes.max_rss >> 20
    );
    // Afterwards everything answers as ever.
    let first = host.get("/public-api/listings?page_size=10");
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(ids(&first.json()["listings"]).len(), 10);
}

/// What was measured while the flood ran.
struct Probes {
    user: Vec<Duration>,
    health: Vec<Duration>,
    max_rss: u64,
}

/// Times `GET /users/{id}` and the health endpoint, and samples RSS, for [`FLOOD`].
fn probe_while_flooded(host: &Host) -> Probes {
    let mut probes = Probes {
        user: Vec::new(),
        health: Vec::new(),
        max_rss: 0,
    };
    let end = Instant::now() + FLOOD;
    let mut n = 0;
    while Instant::now() < end {
        n += 1;
        let started = Instant::now();
        let user = host.get(&format!("/users/{}", 1 + n % USERS));
        probes.user.push(started.elapsed());
        assert_eq!(user.status, 200, "{}", user.body);
        let started = Instant::now();
        let health = host.get("/.well-known/spin/health");
        probes.health.push(started.elapsed());
        assert_eq!(health.status, 200);
        probes.max_rss = probes.max_rss.max(host.rss_bytes());
        std::thread::sleep(Duration::from_millis(20));
    }
    probes
}

fn percentile(samples: &[Duration], percent: usize) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted
        .get((sorted.len() * percent / 100).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

/// A million listings of the app's users, newest last, written in one transaction.
fn fill_listings(path: &std::path::Path) {
    let database = rusqlite::Connection::open(path).expect("open the listings database");
    database
        .execute(
            "INSERT INTO listings (user_id, listing_type, price, created_at, updated_at)
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             SELECT 1 + i % ?2, CASE i % 2 WHEN 0 THEN 'rent' ELSE 'sale' END, 100 + i % 5000,
                    1700000000000000 + i, 1700000000000000 + i
             FROM n",
            [LISTINGS, USERS],
        )
        .expect("fill the listings");
}
