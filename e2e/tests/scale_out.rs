//! The app past one machine: its two databases each on a libSQL server (sqld), two fn-host
//! processes and the Spin CLI (when found) over them, HAProxy in front. The app's own suite
//! runs through the balancer too (`api.rs`, `upstream_calls.rs`: a cluster is one of their
//! targets); here, what only a cluster has: hosts sharing data, hosts migrating one database
//! at once, and a host lost under load.
//!
//! Needs sqld (`SQLD`, or on PATH) and HAProxy (`HAPROXY`, or on PATH); skips, saying so,
//! without them.

mod support;

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, OnceLock};
use std::time::{Duration, Instant};
use support::{Client, PublicApi, Reply, SERVED_BY, cluster, every_item, services_on, try_post};

#[test]
fn writes_through_one_host_are_read_through_every_other() {
    let Some((target, programs)) = cluster() else {
        return;
    };
    let cluster = services_on(&target).on(programs.clone()).start();
    let mut created = Vec::new();
    for (n, writer) in cluster.hosts.iter().enumerate() {
        let user = writer.create_user(&format!("Written through host {n}"));
        let user_id = user["id"].as_i64().unwrap();
        let listing = writer.create_listing(user_id, "rent", 1000 + n as i64);
        for reader in &cluster.hosts {
            let on = format!("written on {}, read on {}", writer.url, reader.url);
            let found = reader.get(&format!("/users/{user_id}"));
            assert_eq!(found.status, 200, "{on}: {}", found.body);
            assert_eq!(found.json()["user"], user, "{on}");
            let page = reader.get(&format!("/public-api/listings?user_id={user_id}")).json();
            assert_eq!(page["listings"][0]["id"], listing["id"], "{on}: {page}");
            assert_eq!(page["listings"][0]["user"], user, "{on}: {page}");
        }
        created.push(listing["id"].clone());
    }
    created.reverse();
    let newest_first: Vec<Value> = cluster.get("/listings").json()["listings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|listing| listing["id"].clone())
        .collect();
    assert_eq!(newest_first, created, "through the balancer");
}

#[test]
fn hosts_migrating_one_database_at_once_all_succeed() {
    let Some((target, programs)) = cluster() else {
        return;
    };
    // Each round on new databases: the first requests, all at once on every host, each
    // find no schema and create it (several instances per host, as many as there are
    // requests at once).
    const AT_ONCE_PER_HOST: usize = 6;
    for round in 0..3 {
        let cluster = services_on(&target).on(programs.clone()).start();
        let start = Barrier::new(cluster.hosts.len() * AT_ONCE_PER_HOST);
        let replies: Vec<(String, Reply)> = std::thread::scope(|scope| {
            let requests: Vec<_> = cluster
                .hosts
                .iter()
                .flat_map(|host| (0..AT_ONCE_PER_HOST).map(move |n| (host, n)))
                .map(|(host, n)| {
                    let start = &start;
                    scope.spawn(move || {
                        start.wait();
                        let reply = match n % 2 {
                            0 => host.post_form("/users", &format!("name=Migrant+{n}")),
                            _ => host.post_form("/listings", "user_id=1&listing_type=sale&price=5"),
                        };
                        (host.url.clone(), reply)
                    })
                })
                .collect();
            requests.into_iter().map(|r| r.join().unwrap()).collect()
        });
        for (host, reply) in &replies {
            assert_eq!(reply.status, 200, "round {round}, {host}: {}", reply.body);
        }
        let users = cluster.get("/users?page_size=100").json()["users"].clone();
        let listings = cluster.get("/listings?page_size=100").json()["listings"].clone();
        let stored = users.as_array().unwrap().len() + listings.as_array().unwrap().len();
        assert_eq!(stored, replies.len(), "round {round}: {users} {listings}");
    }
}

/// Writers through the balancer, each one request at a time.
const WRITERS: usize = 8;
/// Acknowledged writes before the kill.
const ACKNOWLEDGED_BEFORE_KILL: usize = 100;
/// Rounds (a user, then a listing of theirs) each writer goes on with after the kill.
const ROUNDS_AFTER_KILL: usize = 20;

#[test]
fn a_host_killed_under_load_loses_nothing_acknowledged() {
    let Some((target, programs)) = cluster() else {
        return;
    };
    let mut cluster = services_on(&target).on(programs.clone()).start();
    let url = cluster.url().to_string();
    let acknowledged = AtomicUsize::new(0);
    let kill = OnceLock::new();
    let (writes, victim_address) = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let (url, acknowledged, kill) = (&url, &acknowledged, &kill);
                scope.spawn(move || write(url, writer, acknowledged, kill))
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        while acknowledged.load(Ordering::Relaxed) < ACKNOWLEDGED_BEFORE_KILL {
            assert!(Instant::now() < deadline, "too few writes acknowledged");
            std::thread::sleep(Duration::from_millis(5));
        }
        // A fn-host (there are always two), without warning.
        let victim = cluster.remove_host(1);
        let address = victim.url.trim_start_matches("http://").to_string();
        let started = Instant::now();
        victim.crash();
        kill.set(Kill { started, done: Instant::now() }).ok();
        let writes: Vec<Write> =
            writers.into_iter().flat_map(|writer| writer.join().unwrap()).collect();
        (writes, address)
    });
    let kill = kill.get().unwrap();

    // The balancer found it down by its health checks.
    let down = format!("hosts/{victim_address} is DOWN");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cluster.balancer_log().contains(&down) {
        assert!(Instant::now() < deadline, "{}", cluster.balancer_log());
        std::thread::sleep(Duration::from_millis(20));
    }

    // Every failure was a request in flight at the kill; everything after it succeeded, on
    // the hosts left.
    let failed: Vec<&Write> = writes.iter().filter(|w| w.id().is_none()).collect();
    for write in &failed {
        assert!(
            write.started < kill.done && write.finished > kill.started,
            "a request not in flight at the kill failed: {:?}",
            write.outcome
        );
    }
    let after: Vec<&Write> = writes.iter().filter(|w| w.started > kill.done).collect();
    assert!(after.len() >= WRITERS * ROUNDS_AFTER_KILL, "{}", after.len());
    let answered_by: BTreeSet<&str> =
        after.iter().filter_map(|write| write.outcome.as_ref().ok()?.header(SERVED_BY)).collect();
    let remaining: BTreeSet<&str> =
        cluster.hosts.iter().map(|host| host.url.trim_start_matches("http://")).collect();
    assert_eq!(answered_by, remaining, "the balancer spreads over the rest");

    // Nothing acknowledged is lost: each remaining host reads back every user and every
    // listing a writer was told was stored, as it was told.
    let users: BTreeMap<i64, Value> = acknowledged_records(&writes, "/public-api/users", "user");
    let listings: BTreeMap<i64, Value> =
        acknowledged_records(&writes, "/public-api/listings", "listing");
    for host in &cluster.hosts {
        let ids: Vec<i64> = users.keys().copied().collect();
        for batch in ids.chunks(100) {
            let batch: Vec<String> = batch.iter().map(i64::to_string).collect();
            let found = host.get(&format!("/users?ids={}", batch.join(","))).json();
            for user in found["users"].as_array().unwrap() {
                assert_eq!(Some(user), users.get(&user["id"].as_i64().unwrap()));
            }
            assert_eq!(found["users"].as_array().unwrap().len(), batch.len(), "{found}");
        }
        let stored = every_item(host, "listings");
        for (id, listing) in &listings {
            let stored = stored.get(id).unwrap_or_else(|| panic!("listing {id} is lost"));
            assert_eq!(stored, listing);
        }
    }
    println!(
        "{} writes acknowledged ({} users, {} listings) by {WRITERS} writers, {} failed (in \
         flight at the kill), {} sent after it, all answered; killing took {:?}",
        users.len() + listings.len(),
        users.len(),
        listings.len(),
        failed.len(),
        after.len(),
        kill.done - kill.started,
    );
    cluster.terminate();
}

/// When the host was killed: from just before the signal to when it was gone.
struct Kill {
    started: Instant,
    done: Instant,
}

/// One request of the load.
struct Write {
    path: &'static str,
    started: Instant,
    finished: Instant,
    outcome: Result<Reply, String>,
}

impl Write {
    /// The id of what it stored, if it was acknowledged.
    fn id(&self) -> Option<i64> {
        let reply = self.outcome.as_ref().ok().filter(|r| r.status == 200)?;
        let body = reply.json();
        body["user"]["id"].as_i64().or(body["listing"]["id"].as_i64())
    }
}

/// Writes through the balancer at `url` until some rounds after the kill (a minute at most):
/// a user, then a listing of that user if the user was acknowledged.
fn write(
    url: &str,
    writer: usize,
    acknowledged: &AtomicUsize,
    kill: &OnceLock<Kill>,
) -> Vec<Write> {
    let post = |path: &'static str, body: Value| {
        let started = Instant::now();
        let outcome =
            try_post(&format!("{url}{path}"), "application/json", body.to_string().as_bytes());
        let write = Write { path, started, finished: Instant::now(), outcome };
        if write.id().is_some() {
            acknowledged.fetch_add(1, Ordering::Relaxed);
        }
        write
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut writes = Vec::new();
    let mut rounds_after_kill = 0;
    for round in 0.. {
        let user =
            post("/public-api/users", json!({ "name": format!("Writer {writer}, round {round}") }));
        if let Some(user_id) = user.id() {
            let listing = json!({ "user_id": user_id, "listing_type": "sale", "price": round + 1 });
            writes.push(user);
            writes.push(post("/public-api/listings", listing));
        } else {
            writes.push(user);
        }
        if kill.get().is_some() {
            rounds_after_kill += 1;
        }
        if rounds_after_kill > ROUNDS_AFTER_KILL || Instant::now() > deadline {
            break;
        }
    }
    writes
}

/// What the acknowledged writes to `path` were told was stored, by id.
fn acknowledged_records(writes: &[Write], path: &str, field: &str) -> BTreeMap<i64, Value> {
    writes
        .iter()
        .filter(|write| write.path == path)
        .filter_map(|write| {
            let id = write.id()?;
            let reply = write.outcome.as_ref().ok()?;
            Some((id, reply.json()[field].clone()))
        })
        .collect()
}
