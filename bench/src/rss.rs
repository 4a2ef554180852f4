//! Resident memory of a system: the summed RSS of its processes and all their descendants
//! (Spin forks a child; a reference may too), from /proc, sampled while load runs.

use crate::machine::kib_field;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

const SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// `VmRSS` summed over the trees of `roots`, in KiB (processes that are gone count as 0).
pub fn current_kib(roots: &[u32]) -> u64 {
    tree(roots).iter().map(|pid| field(*pid, "VmRSS")).sum()
}

/// `VmHWM` (each process's own peak) summed over the trees of `roots`, in KiB: an upper
/// bound of the peak of the sum.
pub fn high_water_kib(roots: &[u32]) -> u64 {
    tree(roots).iter().map(|pid| field(*pid, "VmHWM")).sum()
}

fn field(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| kib_field(&status, key))
        .unwrap_or(0)
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

/// Samples the summed RSS in the background until stopped; yields the largest sample.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<u64>>,
}

impl Sampler {
    pub fn start(roots: Vec<u32>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("rss-sampler".into())
            .spawn(move || {
                let mut peak = current_kib(&roots);
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(SAMPLE_EVERY);
                    peak = peak.max(current_kib(&roots));
                }
                peak
            })
            .ok();
        Sampler { stop, thread }
    }

    /// The peak summed RSS seen, in KiB (0 if the sampler could not run).
    pub fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|thread| thread.join().ok())
            .unwrap_or(0)
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn parents_of_stat_lines() {
        assert_eq!(parent("42 (fn-host) S 7 42 42 0"), Some(7));
        assert_eq!(parent("43 (a) b) (c) R 9 1"), Some(9));
        assert_eq!(parent("garbage"), None);
    }

    #[test]
    fn counts_the_children_of_a_process() -> std::io::Result<()> {
        let me = std::process::id();
        let mut child = Command::new("sleep")
            .arg("5")
            .stdout(Stdio::null())
            .spawn()?;
        let family = tree(&[me]);
        let with_child = current_kib(&[me]);
        let child_alone = current_kib(&[child.id()]);
        child.kill()?;
        child.wait()?;
        assert!(family.contains(&child.id()), "{family:?}");
        assert!(child_alone > 0 && with_child > child_alone);
        assert!(high_water_kib(&[me]) > 0);
        assert_eq!(current_kib(&[u32::MAX]), 0);
        Ok(())
    }

    #[test]
    fn samples_this_process() {
        let sampler = Sampler::start(vec![std::process::id()]);
        std::thread::sleep(Duration::from_millis(120));
        assert!(sampler.finish() > 0);
    }
}
