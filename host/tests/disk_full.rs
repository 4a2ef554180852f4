//! A full disk: the app's databases on a tiny tmpfs, clients writing until it is full. Writes
//! that cannot be stored fail with a JSON 5xx (never a hang), reads keep answering, and every
//! write that was acknowledged is there after a restart.
//!
//! Needs to mount a tmpfs (root); skips, saying so, where it cannot.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{Client, app_with_databases_in, fresh_dir, try_post};

const WRITERS: usize = 16;

#[test]
fn a_full_disk_fails_the_writes_it_cannot_store_and_loses_none_acknowledged() {
    let dir = fresh_dir();
    let Some(disk) = Tmpfs::mount(&dir.join("disk"), "1m") else {
        return;
    };
    let options = || app_with_databases_in(&dir, &disk.path);
    let host = options().start();

    let acknowledged = Arc::new(Mutex::new(Vec::<i64>::new()));
    let failures = Arc::new(Mutex::new(Vec::<(u16, Value, Duration)>::new()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (url, acknowledged, failures) =
                (host.url.clone(), acknowledged.clone(), failures.clone());
            std::thread::spawn(move || {
                // Long names fill the disk sooner.
                let name = format!("writer {writer:02} ").repeat(18);
                let mut failed_in_a_row = 0;
                while failed_in_a_row < 20 {
                    let started = Instant::now();
                    let (status, body) = post_user(&url, &name);
                    if status == 200 {
                        failed_in_a_row = 0;
                        let id = body["user"]["id"].as_i64().expect("user id");
                        acknowledged.lock().unwrap().push(id);
                    } else {
                        failed_in_a_row += 1;
                        failures.lock().unwrap().push((status, body, started.elapsed()));
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().expect("writer thread");
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let failures = failures.lock().unwrap().clone();
    eprintln!(
        "{} users acknowledged, {} writes refused, e.g. {:?}",
        acknowledged.len(),
        failures.len(),
        failures.first()
    );
    assert!(acknowledged.len() > 10, "the disk was full from the start");
    for (status, body, took) in &failures {
        assert!((500..600).contains(status), "{status} {body}");
        assert_eq!(body["result"], false, "{body}");
        assert!(body["errors"].as_array().is_some_and(|e| !e.is_empty()), "{body}");
        assert!(*took < Duration::from_secs(5), "a failing write took {took:?}");
    }
    // The host keeps serving what it has.
    let first = host.get(&format!("/users/{}", acknowledged[0]));
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(host.get("/.well-known/spin/health").status, 200);

    let dir = host.crash();
    let restarted = options().in_dir(&dir).start();
    let mut missing = Vec::new();
    for id in &acknowledged {
        let reply = restarted.get(&format!("/users/{id}"));
        if reply.status != 200 {
            missing.push((*id, reply.status));
        }
    }
    assert!(missing.is_empty(), "acknowledged users missing after a full disk: {missing:?}");
    drop(restarted);
    drop(disk);
}

fn post_user(url: &str, name: &str) -> (u16, Value) {
    let form = format!("name={}", name.replace(' ', "+"));
    let reply =
        try_post(&format!("{url}/users"), "application/x-www-form-urlencoded", form.as_bytes())
            .expect("the host answers");
    (reply.status, reply.json())
}

/// A small RAM file system, unmounted when dropped.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).expect("create mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .is_ok_and(|output| output.status.success());
        if !mounted {
            eprintln!("skipping the full-disk test: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(Tmpfs { path: path.to_path_buf() })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}
