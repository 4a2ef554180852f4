//! Faults past one machine, on the cluster shape (two fn-hosts over sqld behind HAProxy): the
//! libSQL server of the users' database killed and restarted, frozen past the deadline, and
//! cut off from one host (connections reset, or black-holed), while 32 writers create users
//! through the public API. Each writer is a careful client: a write that fails is sent again
//! with the same `Idempotency-Key` until it is acknowledged.
//!
//! In each: no acknowledged write is lost and none is stored twice; every failure is a JSON
//! 503 or 504 within the public API's deadline, never a hang; each host serves again within
//! 2 s of the server being back, without a restart. Each test prints what it counted:
//! acknowledged, lost, failed attempts, ambiguous outcomes (an attempt answered with an error
//! whose write was stored all the same, found when its retry is answered with a row created
//! before the retry was sent) and the recovery time of each host.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use support::*;

const WRITERS: usize = 32;
/// The public API's deadline for a call to a service (`upstream_timeout_ms`), shorter than the
/// default so that a frozen server costs the test seconds.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);
/// What a failure may take beyond that deadline: the answer's way back through two hosts'
/// queues and the balancer on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(1500);
/// How soon after the server is back each host must serve again.
const RECOVERY: Duration = Duration::from_secs(2);

#[test]
fn sqld_killed_and_restarted() {
    under_fault("sqld killed -9, restarted 2 s later", |cluster| {
        cluster.database("users").crash();
        std::thread::sleep(Duration::from_secs(2));
        Box::new(|cluster: &mut Cluster| cluster.database("users").restart())
    });
}

#[test]
fn sqld_frozen_past_the_deadline() {
    under_fault("sqld stopped (SIGSTOP) for 3 s, resumed", |cluster| {
        cluster.database("users").pause();
        std::thread::sleep(UPSTREAM_TIMEOUT + Duration::from_secs(1));
        Box::new(|cluster: &mut Cluster| cluster.database("users").resume())
    });
}

#[test]
fn one_host_cut_off_from_sqld() {
    under_fault("host 1's link to sqld cut (reset) for 3 s", |cluster| {
        cluster.link(1, "users").set(LinkState::Cut);
        std::thread::sleep(Duration::from_secs(3));
        Box::new(|cluster: &mut Cluster| cluster.link(1, "users").set(LinkState::Up))
    });
}

#[test]
fn one_host_black_holed_from_sqld() {
    under_fault("host 1's link to sqld black-holed for 3 s", |cluster| {
        cluster.link(1, "users").set(LinkState::BlackHole);
        std::thread::sleep(UPSTREAM_TIMEOUT + Duration::from_secs(1));
        Box::new(|cluster: &mut Cluster| cluster.link(1, "users").set(LinkState::Up))
    });
}

/// How the fault ends, once it has lasted.
type Restore = Box<dyn FnOnce(&mut Cluster)>;

/// Runs the writers, brings on the fault (which returns how to end it) a second in, ends it,
/// measures each host's recovery, lets the writers finish, and checks what was stored.
fn under_fault(fault: &str, bring_on: impl FnOnce(&mut Cluster) -> Restore) {
    let Some((target, mut programs)) = cluster() else {
        return;
    };
    programs.hosts.retain(|host| matches!(host, HostProgram::FnHost(_)));
    let mut cluster = services_on(&target)
        .on(programs)
        .env("SPIN_VARIABLE_UPSTREAM_TIMEOUT_MS", &UPSTREAM_TIMEOUT.as_millis().to_string())
        .start_with_links();
    let url = cluster.url().to_string();
    let host_urls: Vec<String> = cluster.hosts.iter().map(|h| h.url.clone()).collect();
    let stop = AtomicBool::new(false);
    let (writes, recoveries) = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let (url, stop) = (&url, &stop);
                scope.spawn(move || write_until(url, writer, stop))
            })
            .collect();
        std::thread::sleep(Duration::from_secs(1));
        let restore = bring_on(&mut cluster);
        restore(&mut cluster);
        let back = Instant::now();
        let probes: Vec<_> =
            host_urls.iter().map(|host| scope.spawn(move || serves_again(host, back))).collect();
        let recoveries: Vec<Duration> = probes.into_iter().map(|p| p.join().unwrap()).collect();
        std::thread::sleep(Duration::from_secs(1));
        stop.store(true, Ordering::Relaxed);
        let writes: Vec<Write> =
            writers.into_iter().flat_map(|writer| writer.join().unwrap()).collect();
        (writes, recoveries)
    });

    let stored = every_item(&cluster, "users");
    let failures: Vec<&Attempt> = writes.iter().flat_map(Write::failures).collect();
    let acknowledged: Vec<&Write> = writes.iter().filter(|w| w.stored.is_some()).collect();
    let lost: Vec<&&Write> = acknowledged
        .iter()
        .filter(|write| {
            let (id, _) = write.stored.as_ref().unwrap();
            stored.get(id).is_none_or(|user| user["name"] != write.name)
        })
        .collect();
    let mut copies: BTreeMap<&str, usize> = BTreeMap::new();
    for user in stored.values() {
        *copies.entry(user["name"].as_str().unwrap()).or_default() += 1;
    }
    let twice: Vec<_> = copies.iter().filter(|(_, count)| **count > 1).collect();
    let ambiguous = acknowledged.iter().filter(|w| w.was_ambiguous()).count();
    let count = |status: u16| failures.iter().filter(|a| a.status == Some(status)).count();
    println!(
        "{fault}: {} writes, {} acknowledged, {} lost, {} stored twice; {} failed attempts \
         ({} 503, {} 504), {ambiguous} ambiguous; hosts serving again after {:?}",
        writes.len(),
        acknowledged.len(),
        lost.len(),
        twice.len(),
        failures.len(),
        count(503),
        count(504),
        recoveries,
    );

    assert!(lost.is_empty(), "acknowledged, then lost: {lost:#?}");
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
    for attempt in &failures {
        assert!(
            matches!(attempt.status, Some(503 | 504)) && attempt.is_json_error(),
            "a failure that is not a JSON 503 or 504: {attempt:?}"
        );
        assert!(
            attempt.took <= UPSTREAM_TIMEOUT + SLACK,
            "a failure past the deadline: {attempt:?}"
        );
    }
    assert!(!failures.is_empty(), "the fault was never noticed");
    for (host, recovery) in host_urls.iter().zip(&recoveries) {
        assert!(*recovery <= RECOVERY, "{host} served again only after {recovery:?}");
    }
    let unfinished = writes.iter().filter(|w| w.stored.is_none()).count();
    assert_eq!(unfinished, 0, "writes never acknowledged, even after the fault");
}

/// One write of a user, and every attempt it took.
#[derive(Debug)]
struct Write {
    name: String,
    attempts: Vec<Attempt>,
    /// The id and `created_at` the acknowledging answer gave.
    stored: Option<(i64, i64)>,
}

#[derive(Debug)]
struct Attempt {
    /// When it was sent, in microseconds since the epoch (the host's clock is this machine's).
    sent_at: i64,
    took: Duration,
    /// `None`: no HTTP answer at all.
    status: Option<u16>,
    body: String,
}

impl Write {
    fn failures(&self) -> impl Iterator<Item = &Attempt> {
        self.attempts.iter().filter(|a| a.status != Some(200))
    }

    /// Whether a failed attempt stored the write: the acknowledging retry was answered with a
    /// row created before it was sent.
    fn was_ambiguous(&self) -> bool {
        match (self.stored, self.attempts.last()) {
            (Some((_, created_at)), Some(last)) => {
                self.attempts.len() > 1 && created_at < last.sent_at
            }
            _ => false,
        }
    }
}

impl Attempt {
    fn is_json_error(&self) -> bool {
        serde_json::from_str::<Value>(&self.body)
            .is_ok_and(|body| body["result"] == false && body["errors"][0].is_string())
    }
}

/// Writes users through the balancer at `url` until told to stop, each write retried with its
/// key until acknowledged (for at most a minute).
fn write_until(url: &str, writer: usize, stop: &AtomicBool) -> Vec<Write> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut writes = Vec::new();
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let name = format!("writer-{writer}-{n}");
        let body = json!({ "name": name }).to_string();
        let mut write = Write { name, attempts: Vec::new(), stored: None };
        while write.stored.is_none() && Instant::now() < deadline {
            let sent_at = micros_now();
            let started = Instant::now();
            let headers = [("idempotency-key", write.name.as_str())];
            let reply = try_post_with_headers(
                &format!("{url}/public-api/users"),
                "application/json",
                body.as_bytes(),
                &headers,
            );
            let attempt = Attempt {
                sent_at,
                took: started.elapsed(),
                status: reply.as_ref().ok().map(|reply| reply.status),
                body: reply.map_or_else(|error| error, |reply| reply.body),
            };
            if attempt.status == Some(200) {
                let user: Value = serde_json::from_str(&attempt.body).expect("a JSON user");
                let user = &user["user"];
                write.stored = user["id"].as_i64().zip(user["created_at"].as_i64());
            } else {
                std::thread::sleep(Duration::from_millis(100));
            }
            write.attempts.push(attempt);
        }
        writes.push(write);
    }
    writes
}

/// How long after `back` the host at `url` first stores a user.
fn serves_again(url: &str, back: Instant) -> Duration {
    let give_up = back + Duration::from_secs(30);
    for probe in 0.. {
        let reply = try_post(
            &format!("{url}/public-api/users"),
            "application/json",
            json!({ "name": format!("probe of {url}, {probe}") }).to_string().as_bytes(),
        );
        if reply.is_ok_and(|reply| reply.status == 200) || Instant::now() > give_up {
            return back.elapsed();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    unreachable!("probes until the host serves or it is too late")
}

fn micros_now() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_micros()).unwrap()
}
