//! What machine the numbers came from, read from /proc (Linux).

use serde::Serialize;
use testkit::memory::kib_field;

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
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let field = |text: &str, key: &str| {
            text.lines().find_map(|line| {
                let (name, value) = line.split_once(key)?;
                let value = value.trim().trim_matches(['"', ':']).trim();
                name.trim().is_empty().then(|| value.to_string())
            })
        };
        Machine {
            cpu_model: field(&cpuinfo, "model name").unwrap_or("unknown CPU".into()),
            logical_cpus: cpuinfo.lines().filter(|line| line.starts_with("processor")).count(),
            available_parallelism: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: kib_field(&read("/proc/meminfo"), "MemTotal").unwrap_or(0) as f64
                / (1024.0 * 1024.0),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            os: field(&read("/etc/os-release"), "PRETTY_NAME=").unwrap_or("unknown OS".into()),
        }
    }

    /// One line for a report.
    pub fn describe(&self) -> String {
        let Machine { cpu_model, logical_cpus, available_parallelism, memory_gib, kernel, os } =
            self;
        let cpus = format!("{logical_cpus} logical CPUs ({available_parallelism} available)");
        format!("{cpu_model}, {cpus}, {memory_gib:.1} GiB RAM, {os} (Linux {kernel})")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_machine() {
        let machine = super::Machine::read();
        assert!(machine.logical_cpus >= 1 && machine.memory_gib > 0.0);
        assert!(!machine.cpu_model.starts_with(':'), "{machine:?}");
    }
}
