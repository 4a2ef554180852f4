//! The results: one data model, written as JSON and as Markdown tables.

mod markdown;
pub mod soak;
pub mod targets;

use crate::cli::Size;
use crate::load::LoadResult;
use crate::machine::Machine;
use crate::scenarios::{self, Scenario};
use crate::system::System;
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// What every report has: when and where it was made, how, and what went wrong.
#[derive(Debug, Serialize)]
pub struct Run {
    /// Seconds since the Unix epoch, when the run finished.
    pub generated_unix: u64,
    pub machine: Machine,
    pub settings: Settings,
    /// Things that went wrong (the run still wrote what it had).
    pub problems: Vec<String>,
    /// Things worth knowing (e.g. a reference that is not there).
    pub notes: Vec<String>,
}

impl Run {
    /// The Notes section, if there is anything to note: each problem and note's first line.
    fn notes(&self) -> String {
        let first_line = |text: &String| text.lines().next().unwrap_or_default().to_string();
        let problems =
            self.problems.iter().map(|text| format!("**problem:** {}", first_line(text)));
        let notes: Vec<String> = problems.chain(self.notes.iter().map(first_line)).collect();
        let section = format!("\n## Notes\n\n- {}\n", notes.join("\n- "));
        if notes.is_empty() { String::new() } else { section }
    }
}

#[derive(Debug, Serialize)]
pub struct BenchReport {
    #[serde(flatten)]
    pub run: Run,
    pub startup: Option<StartupReport>,
    /// The first size has every scenario, extra sizes the scale ones (`--sizes`).
    pub sizes: Vec<SizeReport>,
    /// The targets file's targets, checked against the first size.
    pub targets: Vec<targets::TargetCheck>,
}

#[derive(Debug, Serialize)]
pub struct Settings {
    /// The run's name, the end of its folder's.
    pub name: String,
    /// Whether it was made the current run (`--current`).
    pub current: bool,
    pub duration_secs: f64,
    pub warmup_secs: f64,
    /// How long after each load memory was measured again (the `flavours` systems).
    pub settle_secs: f64,
    pub connections: u32,
    pub seed: u64,
    pub sizes: Vec<Size>,
    /// The systems that could run here (each also has a report, unless it failed).
    pub systems: Vec<System>,
    pub seed_concurrency: u64,
    pub host_args: Vec<String>,
    /// The binary measured as `fn-host` (and its variants).
    pub fn_host: PathBuf,
    /// The binary measured as `baseline`, when there was one.
    pub baseline: Option<PathBuf>,
    pub oha: String,
    /// The first line of `--version` of each third-party program that ran.
    pub programs: BTreeMap<&'static str, String>,
    /// The short commit of the repository, `-dirty` when it has changes.
    pub commit: Option<String>,
}

/// fn-host start-up with compiled components cached (cold = the first start, which compiles).
#[derive(Debug, Serialize)]
pub struct StartupReport {
    pub cold_first_response_ms: f64,
    pub first_response_ms: Vec<f64>,
    pub median_first_response_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct SizeReport {
    pub listings: usize,
    pub users: usize,
    pub systems: Vec<SystemReport>,
}

#[derive(Debug, Serialize)]
pub struct SystemReport {
    pub system: System,
    /// What the tables call it.
    pub label: String,
    pub seeding: Option<SeedStats>,
    /// Summed RSS of the system's process trees once it answered, before seeding (KiB).
    pub rss_start_kib: Option<u64>,
    pub scenarios: Vec<ScenarioReport>,
}

#[derive(Debug, Serialize)]
pub struct SeedStats {
    pub users: usize,
    pub listings: usize,
    pub failures: usize,
    pub secs: f64,
    pub requests_per_sec: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct ScenarioReport {
    pub id: &'static str,
    pub title: &'static str,
    pub load: LoadResult,
    /// Largest summed RSS sampled during the measured load (KiB).
    pub rss_peak_kib: u64,
    /// Summed RSS when the load ended (KiB).
    pub rss_end_kib: u64,
    /// Summed RSS `settle_secs` after the load ended (KiB; the `flavours` systems).
    pub rss_settled_kib: Option<u64>,
    /// 2xx req/s over fn-host's for the same scenario in the same run.
    pub of_fn_host: Option<f64>,
    /// 2xx req/s as a fraction of the trivial component's on the same system.
    pub of_floor: Option<f64>,
}

impl SizeReport {
    pub fn new(size: Size) -> SizeReport {
        SizeReport { listings: size.listings, users: size.users, systems: Vec::new() }
    }

    pub fn system(&self, system: System) -> Option<&SystemReport> {
        self.systems.iter().find(|s| s.system == system)
    }

    /// Puts systems in display order and fills in every ratio.
    pub fn finish(&mut self) {
        self.systems.sort_by_key(|s| s.system);
        let rates: HashMap<(System, &str), f64> = (self.systems.iter())
            .flat_map(|s| (s.scenarios.iter()).map(|r| ((s.system, r.id), r.load.ok_per_sec)))
            .filter(|(_, rate)| *rate > 0.0)
            .collect();
        for system in &mut self.systems {
            for scenario in &mut system.scenarios {
                let rate = |system, id| rates.get(&(system, id)).copied();
                let mine = scenario.load.ok_per_sec;
                scenario.of_fn_host = (system.system != System::FnHost)
                    .then(|| Some(mine / rate(System::FnHost, scenario.id)?))
                    .flatten();
                let floor = scenarios::by_id(scenario.id).and_then(Scenario::floor);
                let floor = floor.filter(|_| system.system.has_floor());
                scenario.of_floor =
                    floor.and_then(|floor| Some(mine / rate(system.system, floor)?));
            }
        }
    }
}

impl SystemReport {
    pub fn new(system: System, label: &str) -> SystemReport {
        let label = label.to_string();
        SystemReport { system, label, seeding: None, rss_start_kib: None, scenarios: Vec::new() }
    }

    pub fn scenario(&self, id: &str) -> Option<&ScenarioReport> {
        self.scenarios.iter().find(|s| s.id == id)
    }

    /// RSS `settle_secs` after the load of `scenario` over RSS at start.
    pub fn settled_over_start(&self, scenario: &ScenarioReport) -> Option<f64> {
        let start = self.rss_start_kib.filter(|kib| *kib > 0)?;
        Some(scenario.rss_settled_kib? as f64 / start as f64)
    }
}

impl BenchReport {
    pub fn markdown(&self) -> String {
        markdown::render(self)
    }

    /// Writes results.json and results.md into `out`.
    pub fn write(&self, out: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self)?;
        write_files(out, [("results.json", json), ("results.md", self.markdown())])
    }
}

/// Writes each `(name, text)` into the folder `out`, made if it is not there.
fn write_files<const N: usize>(out: &Path, files: [(&str, String); N]) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for (name, text) in files {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits: Vec<char> = n.to_string().chars().collect();
    let groups: Vec<String> = digits.rchunks(3).rev().map(String::from_iter).collect();
    groups.join(",")
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::scenarios::{FLOOR, FLOOR_CHAINED, by_id};

    pub fn scenario(id: &str, rps: f64, p50: f64, p99: f64) -> ScenarioReport {
        let load = LoadResult {
            ok_per_sec: rps,
            p50_ms: Some(p50),
            p99_ms: Some(p99),
            ..Default::default()
        };
        let Scenario { id, title, .. } = *by_id(id).unwrap_or_else(|| panic!("no scenario {id}"));
        let mut report = ScenarioReport { id, title, load, ..ScenarioReport::default() };
        (report.rss_peak_kib, report.rss_end_kib, report.rss_settled_kib) =
            (50_000, 40_000, Some(30_000));
        report
    }

    pub fn system(system: System, scenarios: Vec<ScenarioReport>) -> SystemReport {
        SystemReport {
            scenarios,
            rss_start_kib: Some(20_000),
            ..SystemReport::new(system, system.label())
        }
    }

    /// Native axum, Spin and fn-host (with its floors), as a run measures them.
    pub fn sample_size() -> SizeReport {
        let measured = [
            (System::Native, "listings_page10", 40_000.0, 3.0),
            (System::Native, "user_by_id", 100_000.0, 1.0),
            (System::Spin, "listings_page10", 4_000.0, 30.0),
            (System::Spin, "user_by_id", 5_000.0, 20.0),
            (System::FnHost, "listings_page10", 20_000.0, 6.0),
            (System::FnHost, "user_by_id", 30_000.0, 4.0),
            (System::FnHost, "public_page10", 3_000.0, 50.0),
            (System::FnHost, FLOOR, 40_000.0, 2.0),
            (System::FnHost, FLOOR_CHAINED, 15_000.0, 8.0),
        ];
        let mut size = SizeReport::new(Size { listings: 10_000, users: 1_000 });
        for (which, id, rps, p99) in measured {
            if size.system(which).is_none() {
                size.systems.push(system(which, Vec::new()));
            }
            let report = size.systems.iter_mut().find(|s| s.system == which);
            let p50 = p99 / 3.0;
            (report.expect("just added").scenarios).push(scenario(id, rps, p50, p99));
        }
        size.finish();
        size
    }

    #[test]
    fn ratios_to_fn_host_and_the_floors() {
        let size = sample_size();
        let order: Vec<_> = size.systems.iter().map(|s| s.system).collect();
        assert_eq!(order, [System::FnHost, System::Spin, System::Native]);
        let of = |system, id| size.system(system).and_then(|s| s.scenario(id));
        let ratios = |system, id| of(system, id).map(|s| (s.of_fn_host, s.of_floor));
        assert_eq!(ratios(System::FnHost, "listings_page10"), Some((None, Some(0.5))));
        let chained = ratios(System::FnHost, "public_page10");
        assert_eq!(chained, Some((None, Some(0.2))), "against the chained floor");
        assert_eq!(ratios(System::FnHost, FLOOR), Some((None, None)));
        assert_eq!(ratios(System::Spin, "user_by_id"), Some((Some(1.0 / 6.0), None)));
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(12_345), "12,345");
    }
}
