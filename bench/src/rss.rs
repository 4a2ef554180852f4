//! Resident memory of a system's processes, from /proc/<pid>/status, sampled while load runs.

use crate::machine::kib_field;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

const SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// `VmRSS` summed over the processes, in KiB (processes that are gone count as 0).
pub fn current_kib(pids: &[u32]) -> u64 {
    pids.iter().map(|pid| field(*pid, "VmRSS")).sum()
}

/// `VmHWM` (each process's own peak) summed over the processes, in KiB: an upper bound of the
/// peak of the sum.
pub fn high_water_kib(pids: &[u32]) -> u64 {
    pids.iter().map(|pid| field(*pid, "VmHWM")).sum()
}

fn field(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| kib_field(&status, key))
        .unwrap_or(0)
}

/// Samples the summed RSS in the background until stopped; yields the largest sample.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<u64>>,
}

impl Sampler {
    pub fn start(pids: Vec<u32>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("rss-sampler".into())
            .spawn(move || {
                let mut peak = current_kib(&pids);
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(SAMPLE_EVERY);
                    peak = peak.max(current_kib(&pids));
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

    #[test]
    fn samples_this_process() {
        let me = vec![std::process::id()];
        assert!(current_kib(&me) > 0);
        assert!(high_water_kib(&me) > 0);
        let sampler = Sampler::start(me);
        std::thread::sleep(Duration::from_millis(120));
        assert!(sampler.finish() > 0);
        assert_eq!(current_kib(&[u32::MAX]), 0);
    }
}
