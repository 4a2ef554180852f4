//! What machine the numbers came from, read from /proc (Linux).

use serde::Serialize;
use std::path::Path;

#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cpu_model: String,
    /// Logical CPUs the kernel lists.
    pub logical_cpus: usize,
    /// CPUs this process may run on.
    pub available_parallelism: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub os: String,
}

impl Machine {
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                (key.trim() == "model name").then(|| value.trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let logical_cpus = cpuinfo
            .lines()
            .filter(|line| line.split(':').next().map(str::trim) == Some("processor"))
            .count();
        let memory_kib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| kib_field(&text, "MemTotal"))
            .unwrap_or(0);
        Machine {
            cpu_model,
            logical_cpus,
            available_parallelism: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            memory_gib: memory_kib as f64 / (1024.0 * 1024.0),
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
            os: std::fs::read_to_string("/etc/os-release")
                .ok()
                .and_then(|text| {
                    text.lines().find_map(|line| {
                        line.strip_prefix("PRETTY_NAME=")
                            .map(|v| v.trim_matches('"').to_string())
                    })
                })
                .unwrap_or_else(|| "unknown OS".into()),
        }
    }

    /// One line for a report.
    pub fn describe(&self) -> String {
        format!(
            "{}, {} logical CPUs ({} available), {:.1} GiB RAM, {} (Linux {})",
            self.cpu_model,
            self.logical_cpus,
            self.available_parallelism,
            self.memory_gib,
            self.os,
            self.kernel
        )
    }
}

/// A `Key:   123 kB` field of /proc/meminfo or /proc/<pid>/status, in KiB.
pub fn kib_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

fn read_trimmed(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kib_fields() {
        let status = "Name:\tfn-host\nVmHWM:\t  123456 kB\nVmRSS:\t   98765 kB\n";
        assert_eq!(kib_field(status, "VmHWM"), Some(123_456));
        assert_eq!(kib_field(status, "VmRSS"), Some(98_765));
        assert_eq!(kib_field(status, "VmSwap"), None);
        assert_eq!(
            kib_field("MemTotal:       24683500 kB", "MemTotal"),
            Some(24_683_500)
        );
    }

    #[test]
    fn reads_this_machine() {
        let machine = Machine::read();
        assert!(machine.available_parallelism >= 1);
        assert!(!machine.describe().is_empty());
    }
}
