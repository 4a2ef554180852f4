//! Resident memory, from `/proc` (Linux): of one process, or summed over process trees (Spin
//! forks a child; a cluster is several processes), and its peak while load runs.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// A `Key:   123 kB` field of `/proc/meminfo` or `/proc/<pid>/status`, in KiB.
pub fn kib_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Field `key` (e.g. `VmRSS`) of `/proc/<pid>/status`, in KiB; `None` once the process is gone.
pub fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    kib_field(&status, key)
}

/// `VmRSS` summed over the trees of `roots`, in KiB.
pub fn rss_kib(roots: &[u32]) -> u64 {
    let pids = tree(roots);
    pids.iter().filter_map(|pid| status_kib(*pid, "VmRSS")).sum()
}

/// The processes whose parent is `pid`.
pub fn children(pid: u32) -> Vec<u32> {
    processes().into_iter().filter(|(_, parent)| *parent == pid).map(|(child, _)| child).collect()
}

/// `roots` and every live descendant of them.
pub fn tree(roots: &[u32]) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (pid, parent) in processes() {
        children.entry(parent).or_default().push(pid);
    }
    let mut found = roots.to_vec();
    let mut next = 0;
    while let Some(pid) = found.get(next).copied() {
        next += 1;
        for child in children.get(&pid).into_iter().flatten() {
            if !found.contains(child) {
                found.push(*child);
            }
        }
    }
    found
}

/// Every process and its parent, from `/proc/<pid>/stat`.
fn processes() -> Vec<(u32, u32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            Some((pid, parent(&stat)?))
        })
        .collect()
}

/// The parent PID of a `/proc/<pid>/stat` line: the second field after the command, which is
/// in parentheses and may itself contain spaces and parentheses.
fn parent(stat: &str) -> Option<u32> {
    let (_, after_command) = stat.rsplit_once(')')?;
    after_command.split_whitespace().nth(1)?.parse().ok()
}

/// The largest [`rss_kib`] of some process trees, sampled every 50 ms on a thread of its own
/// until [`RssSampler::finish`].
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<u64>,
}

impl RssSampler {
    pub fn start(roots: Vec<u32>) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut peak = rss_kib(&roots);
            while !stopped.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                peak = peak.max(rss_kib(&roots));
            }
            peak
        });
        RssSampler { stop, thread }
    }

    /// The peak, in KiB.
    pub fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn fields_and_parents() {
        let status = "Name:\tfn-host\nVmHWM:\t  123456 kB\nVmRSS:\t   98765 kB\n";
        assert_eq!(kib_field(status, "VmHWM"), Some(123_456));
        assert_eq!(kib_field(status, "VmRSS"), Some(98_765));
        assert_eq!(kib_field(status, "VmSwap"), None);
        assert_eq!(parent("42 (fn-host) S 7 42 42 0"), Some(7));
        assert_eq!(parent("43 (a) b) (c) R 9 1"), Some(9));
        assert_eq!(parent("garbage"), None);
    }

    #[test]
    fn a_tree_counts_its_children() -> std::io::Result<()> {
        let me = std::process::id();
        let mut child = Command::new("sleep").arg("5").stdout(Stdio::null()).spawn()?;
        let (mine, with_child) = (children(me), rss_kib(&[me]));
        let child_alone = rss_kib(&[child.id()]);
        let sampler = RssSampler::start(vec![me]);
        std::thread::sleep(Duration::from_millis(120));
        let peak = sampler.finish();
        child.kill()?;
        child.wait()?;
        assert!(mine.contains(&child.id()), "{mine:?}");
        assert!(child_alone > 0 && with_child > child_alone);
        assert!(peak >= with_child);
        assert_eq!(rss_kib(&[u32::MAX]), 0);
        Ok(())
    }
}
