//! What a power cut does to acknowledged writes: the app's databases on LazyFS (a FUSE file
//! system that keeps written data in its own cache until it is fsync'd, and drops everything
//! unsynced on command), ≥ 32 clients writing through all three write endpoints, the host
//! killed with SIGKILL, the unsynced data dropped, the host started again on the same files,
//! and every write a client saw acknowledged read back.
//!
//! Needs LazyFS: the `lazyfs` binary named by `LAZYFS` or found on `PATH`, root (or FUSE rights)
//! and `/dev/fuse`. Skips, saying so, where it is missing.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{Client, Host, app_with_databases_in, find_tool, fresh_dir, ids, try_post};

const WRITERS: usize = 48;
const LOAD: Duration = Duration::from_secs(3);

#[test]
fn no_acknowledged_write_is_lost_in_a_power_cut() {
    let Some(lazyfs) = lazyfs() else { return };
    for round in 1..=3 {
        let outcome = power_cut_round(&lazyfs, &[]);
        eprintln!("durable (default), round {round}: {outcome}");
        assert!(
            outcome.acknowledged() >= 500,
            "round {round}: too few writes to mean anything: {outcome}"
        );
        assert_eq!(outcome.lost(), 0, "round {round}: {outcome}");
    }
}

#[test]
fn process_durability_loses_acknowledged_writes_in_a_power_cut() {
    // The weaker mode, to show that this test sees losses where there are some.
    let Some(lazyfs) = lazyfs() else { return };
    let mut lost = 0;
    for round in 1..=2 {
        let outcome = power_cut_round(&lazyfs, &["--sqlite-durability", "process"]);
        eprintln!("--sqlite-durability process, round {round}: {outcome}");
        lost += outcome.lost();
    }
    assert!(lost > 0, "no loss even without syncing: the power cut did not happen");
}

/// What one round found.
#[derive(Default)]
struct Outcome {
    users: Vec<i64>,
    listings: Vec<i64>,
    lost_users: Vec<i64>,
    lost_listings: Vec<i64>,
}

impl Outcome {
    fn acknowledged(&self) -> usize {
        self.users.len() + self.listings.len()
    }

    fn lost(&self) -> usize {
        self.lost_users.len() + self.lost_listings.len()
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} acknowledged users and {} of {} acknowledged listings lost",
            self.lost_users.len(),
            self.users.len(),
            self.lost_listings.len(),
            self.listings.len()
        )
    }
}

fn power_cut_round(lazyfs: &Path, args: &[&str]) -> Outcome {
    let dir = fresh_dir();
    let mount = LazyFs::mount(lazyfs, &dir);
    let start = || {
        let mut options = app_with_databases_in(&dir, &mount.data);
        for arg in args {
            options = options.arg(arg);
        }
        options.start()
    };

    let host = start();
    // A first user, so listings have someone to belong to from the start.
    let first = create_user(&host.url, "first").expect("create the first user");
    let acknowledged = Arc::new(Mutex::new(Outcome { users: vec![first], ..Outcome::default() }));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (url, acknowledged, stop) = (host.url.clone(), acknowledged.clone(), stop.clone());
            std::thread::spawn(move || write_until_stopped(writer, &url, &acknowledged, &stop))
        })
        .collect();
    std::thread::sleep(LOAD);
    // The power cut: the process dies with requests in flight, then unsynced data is gone.
    let dir = host.crash();
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().expect("writer thread");
    }
    mount.power_loss();

    let host = start();
    let mut outcome = std::mem::take(&mut *acknowledged.lock().unwrap());
    let users: BTreeSet<i64> = stored_users(&host, &outcome.users);
    let listings: BTreeSet<i64> = stored_listings(&host);
    outcome.lost_users = outcome.users.iter().filter(|id| !users.contains(id)).copied().collect();
    outcome.lost_listings =
        outcome.listings.iter().filter(|id| !listings.contains(id)).copied().collect();
    drop(host);
    drop(mount);
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

/// Writes through the three write endpoints in turn, recording what was acknowledged.
fn write_until_stopped(writer: usize, url: &str, acknowledged: &Mutex<Outcome>, stop: &AtomicBool) {
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let user_id = {
            let outcome = acknowledged.lock().unwrap();
            outcome.users[(writer * 7919 + n) % outcome.users.len()]
        };
        let created = match n % 3 {
            0 => create_user(url, &format!("writer {writer} user {n}")).map(Created::User),
            1 => post(
                url,
                "/listings",
                "application/x-www-form-urlencoded",
                format!("user_id={user_id}&listing_type=rent&price={}", 100 + n),
            )
            .map(|body| Created::Listing(body["listing"]["id"].as_i64().expect("listing id"))),
            _ => post(
                url,
                "/public-api/listings",
                "application/json",
                format!(r#"{{"user_id": {user_id}, "listing_type": "sale", "price": {n}}}"#),
            )
            .map(|body| Created::Listing(body["listing"]["id"].as_i64().expect("listing id"))),
        };
        match created {
            Some(Created::User(id)) => acknowledged.lock().unwrap().users.push(id),
            Some(Created::Listing(id)) => acknowledged.lock().unwrap().listings.push(id),
            // The host is gone (or the request failed): nothing was acknowledged.
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

enum Created {
    User(i64),
    Listing(i64),
}

fn create_user(url: &str, name: &str) -> Option<i64> {
    let body = post(
        url,
        "/users",
        "application/x-www-form-urlencoded",
        format!("name={}", name.replace(' ', "+")),
    )?;
    Some(body["user"]["id"].as_i64().expect("user id"))
}

/// The JSON body of a 200 answer; `None` for anything else (the host may be dead).
fn post(url: &str, path: &str, content_type: &str, body: String) -> Option<Value> {
    let reply = try_post(&format!("{url}{path}"), content_type, body.as_bytes()).ok()?;
    (reply.status == 200).then(|| reply.json())
}

fn stored_users(host: &Host, acknowledged: &[i64]) -> BTreeSet<i64> {
    let mut found = BTreeSet::new();
    for batch in acknowledged.chunks(100) {
        let batch: Vec<String> = batch.iter().map(i64::to_string).collect();
        let reply = host.get(&format!("/users?ids={}", batch.join(",")));
        assert_eq!(reply.status, 200, "{}", reply.body);
        found.extend(ids(&reply.json()["users"]));
    }
    found
}

fn stored_listings(host: &Host) -> BTreeSet<i64> {
    let mut found = BTreeSet::new();
    for page in 1.. {
        let reply = host.get(&format!("/listings?page_size=100&page_num={page}"));
        assert_eq!(reply.status, 200, "{}", reply.body);
        let ids = ids(&reply.json()["listings"]);
        if ids.is_empty() {
            break;
        }
        found.extend(ids);
    }
    found
}

/// The LazyFS binary, or `None` (with the reason printed) when this machine has none.
fn lazyfs() -> Option<PathBuf> {
    let found = find_tool("LAZYFS", "lazyfs");
    if found.is_none() {
        eprintln!(
            "skipping the power-loss test: LazyFS not found (set LAZYFS to the `lazyfs` binary \
             or put it on PATH; ../shared/tools/lazyfs/lazyfs.sh build makes one)"
        );
    }
    found
}

/// A LazyFS mount: files written under `data` stay in LazyFS's cache until fsync'd.
struct LazyFs {
    mount_point: PathBuf,
    data: PathBuf,
    fifo: PathBuf,
    log: PathBuf,
    process: Child,
}

impl LazyFs {
    fn mount(binary: &Path, dir: &Path) -> LazyFs {
        let (mount_point, root) = (dir.join("mnt"), dir.join("root"));
        for path in [&mount_point, &root] {
            std::fs::create_dir_all(path).expect("create LazyFS dirs");
        }
        let (fifo, log, config) =
            (dir.join("faults.fifo"), dir.join("lazyfs.log"), dir.join("lazyfs.toml"));
        std::fs::write(
            &config,
            format!(
                "[faults]\nfifo_path=\"{}\"\n[cache]\napply_eviction=false\n\
                 [cache.simple]\ncustom_size=\"512mb\"\nblocks_per_page=1\n\
                 [filesystem]\nlog_all_operations=false\nlogfile=\"\"\n",
                fifo.display()
            ),
        )
        .expect("write LazyFS config");
        let output = std::fs::File::create(&log).expect("create LazyFS log");
        let process = Command::new(binary)
            .arg(&mount_point)
            .arg("--config-path")
            .arg(&config)
            .args(["-o", "modules=subdir", "-o"])
            .arg(format!("subdir={}", root.display()))
            .arg("-f")
            .stdout(output.try_clone().expect("log file"))
            .stderr(output)
            .stdin(Stdio::null())
            .spawn()
            .expect("start LazyFS");
        let mount = LazyFs { data: mount_point.join("data"), mount_point, fifo, log, process };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !(mount.is_mounted() && mount.fifo.exists()) {
            assert!(Instant::now() < deadline, "LazyFS did not mount:\n{}", mount.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
        std::fs::create_dir_all(&mount.data).expect("create the data dir on LazyFS");
        mount
    }

    fn is_mounted(&self) -> bool {
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        let point = format!(" {} ", self.mount_point.display());
        mounts.lines().any(|line| line.contains(&point) && line.contains("lazyfs"))
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Drops every byte not yet fsync'd, as a power cut does.
    fn power_loss(&self) {
        let cleared = |log: &str| log.matches("cache is cleared").count();
        let before = cleared(&self.log_text());
        std::fs::OpenOptions::new()
            .write(true)
            .open(&self.fifo)
            .and_then(|mut fifo| fifo.write_all(b"lazyfs::clear-cache\n"))
            .expect("signal LazyFS");
        let deadline = Instant::now() + Duration::from_secs(30);
        while cleared(&self.log_text()) <= before {
            assert!(
                Instant::now() < deadline,
                "LazyFS did not confirm the power loss:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for LazyFs {
    fn drop(&mut self) {
        let _ = Command::new("fusermount3").arg("-u").arg(&self.mount_point).status();
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
