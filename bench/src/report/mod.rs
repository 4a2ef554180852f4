//! The results: one data model, written as JSON, a Markdown table and a PNG chart.

mod chart;
mod markdown;
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

#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// Seconds since the Unix epoch, when the run finished.
    pub generated_unix: u64,
    pub machine: Machine,
    pub settings: Settings,
    pub startup: Option<StartupReport>,
    pub sizes: Vec<SizeReport>,
    /// Latency of the scale scenarios at each extra size, against the first size.
    pub scale: Vec<ScaleRow>,
    /// The targets file's targets, checked against the first size.
    pub targets: Vec<targets::TargetCheck>,
    /// Things that went wrong (the run still wrote what it had).
    pub problems: Vec<String>,
    /// Things worth knowing (e.g. a reference that is not there).
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Settings {
    pub duration_secs: f64,
    pub warmup_secs: f64,
    /// How long after each load memory was measured again (fn-host and Spin).
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
    /// The first line of `--version` of each third-party program that ran (spin, sqld,
    /// haproxy).
    pub programs: BTreeMap<&'static str, String>,
    /// `git rev-parse --short HEAD` of the repository, `-dirty` when it has changes.
    pub commit: Option<String>,
}

/// fn-host start-up with compiled components cached (cold = the first start, which compiles).
#[derive(Debug, Serialize)]
pub struct StartupReport {
    pub cold_first_response_ms: f64,
    pub health_ms: Vec<f64>,
    pub first_response_ms: Vec<f64>,
    pub median_health_ms: f64,
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
    /// Summed RSS of the system's process trees after seeding, before load (KiB).
    pub rss_idle_kib: Option<u64>,
    /// Summed VmHWM of the system's process trees when it was stopped (KiB).
    pub rss_high_water_kib: Option<u64>,
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

#[derive(Debug, Serialize)]
pub struct ScenarioReport {
    pub id: &'static str,
    pub title: &'static str,
    pub load: LoadResult,
    /// Largest summed RSS sampled during the measured load (KiB).
    pub rss_peak_kib: u64,
    /// Summed RSS when the load ended (KiB).
    pub rss_end_kib: u64,
    /// Summed RSS `settle_secs` after the load ended (KiB; fn-host and Spin).
    pub rss_settled_kib: Option<u64>,
    /// 2xx req/s over that of each other system it is compared with
    /// ([`System::COMPARED_WITH`]) for the same scenario, same run.
    pub vs: BTreeMap<System, f64>,
    /// 2xx req/s as a fraction of the trivial component's on the same fn-host configuration.
    pub of_floor: Option<f64>,
}

/// Memory of one scenario's load, in KiB.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Memory {
    pub peak_kib: u64,
    pub end_kib: u64,
    pub settled_kib: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct ScaleRow {
    pub scenario: &'static str,
    pub title: &'static str,
    pub system: System,
    pub listings: usize,
    pub users: usize,
    pub requests_per_sec: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub base_listings: usize,
    pub p50_ratio: Option<f64>,
    pub p99_ratio: Option<f64>,
}

impl SizeReport {
    pub fn new(size: Size) -> SizeReport {
        SizeReport {
            listings: size.listings,
            users: size.users,
            systems: Vec::new(),
        }
    }

    pub fn system(&self, system: System) -> Option<&SystemReport> {
        self.systems.iter().find(|s| s.system == system)
    }

    /// What the tables call `system` (its label where it ran).
    pub fn label(&self, system: System) -> &str {
        self.system(system)
            .map_or(system.label(), |s| s.label.as_str())
    }

    /// The systems of [`System::COMPARED_WITH`] that ran at this size.
    pub fn compared_with(&self) -> Vec<System> {
        let ran = self.systems.iter().map(|s| s.system);
        ran.filter(|s| System::COMPARED_WITH.contains(s)).collect()
    }

    /// Puts systems in display order and fills in every ratio.
    pub fn finish(&mut self) {
        self.systems.sort_by_key(|s| s.system);
        let rates: HashMap<(System, &str), f64> = self
            .systems
            .iter()
            .flat_map(|s| {
                s.scenarios
                    .iter()
                    .map(move |r| ((s.system, r.id), r.load.ok_per_sec))
            })
            .filter(|(_, rate)| *rate > 0.0)
            .collect();
        let compared_with = self.compared_with();
        for system in &mut self.systems {
            let has_floor = system.system.has_floor();
            for scenario in &mut system.scenarios {
                let mine = scenario.load.ok_per_sec;
                scenario.vs = compared_with
                    .iter()
                    .filter(|reference| **reference != system.system)
                    .filter_map(|reference| {
                        Some((*reference, mine / rates.get(&(*reference, scenario.id))?))
                    })
                    .collect();
                scenario.of_floor = scenarios::by_id(scenario.id)
                    .and_then(Scenario::floor)
                    .filter(|_| has_floor)
                    .and_then(|floor| rates.get(&(system.system, floor)))
                    .map(|floor| mine / floor);
            }
        }
    }
}

impl SystemReport {
    pub fn new(system: System, label: &str) -> SystemReport {
        SystemReport {
            system,
            label: label.to_string(),
            seeding: None,
            rss_start_kib: None,
            rss_idle_kib: None,
            rss_high_water_kib: None,
            scenarios: Vec::new(),
        }
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

impl ScenarioReport {
    /// A measured scenario; the ratios are filled in by [`SizeReport::finish`].
    pub fn new(scenario: &'static Scenario, load: LoadResult, memory: Memory) -> ScenarioReport {
        ScenarioReport {
            id: scenario.id,
            title: scenario.title,
            load,
            rss_peak_kib: memory.peak_kib,
            rss_end_kib: memory.end_kib,
            rss_settled_kib: memory.settled_kib,
            vs: BTreeMap::new(),
            of_floor: None,
        }
    }
}

/// The scale rows: every scenario measured at an extra size, against the first size.
pub fn scale_rows(sizes: &[SizeReport]) -> Vec<ScaleRow> {
    let Some((base, extra)) = sizes.split_first() else {
        return Vec::new();
    };
    let ratio = |now: Option<f64>, then: Option<f64>| match (now, then) {
        (Some(now), Some(then)) if then > 0.0 => Some(now / then),
        _ => None,
    };
    let mut rows = Vec::new();
    for size in extra {
        for system in &size.systems {
            for scenario in &system.scenarios {
                let reference = base
                    .system(system.system)
                    .and_then(|s| s.scenario(scenario.id));
                rows.push(ScaleRow {
                    scenario: scenario.id,
                    title: scenario.title,
                    system: system.system,
                    listings: size.listings,
                    users: size.users,
                    requests_per_sec: scenario.load.ok_per_sec,
                    p50_ms: scenario.load.p50_ms,
                    p99_ms: scenario.load.p99_ms,
                    base_listings: base.listings,
                    p50_ratio: ratio(scenario.load.p50_ms, reference.and_then(|r| r.load.p50_ms)),
                    p99_ratio: ratio(scenario.load.p99_ms, reference.and_then(|r| r.load.p99_ms)),
                });
            }
        }
    }
    rows
}

/// The files written.
pub struct Written {
    pub json: PathBuf,
    pub markdown: PathBuf,
    pub chart: Option<PathBuf>,
}

impl BenchReport {
    pub fn markdown(&self) -> String {
        markdown::render(self)
    }

    /// Writes results.json, results.md and chart.png into `out`.
    pub fn write(&self, out: &Path) -> Result<Written> {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        let json = out.join("results.json");
        let text = serde_json::to_string_pretty(self).context("cannot serialise the results")?;
        std::fs::write(&json, text).with_context(|| format!("cannot write {}", json.display()))?;
        let chart_path = out.join("chart.png");
        let subtitle = format!(
            "{} | {} connections, {:.0} s per scenario, {}",
            self.machine.describe(),
            self.settings.connections,
            self.settings.duration_secs,
            self.settings.oha
        );
        let chart = self.sizes.first().and_then(|size| {
            chart::draw(size, &subtitle, &chart_path)
                .map_err(|error| eprintln!("warning: no chart: {error:#}"))
                .ok()
                .map(|()| chart_path)
        });
        let markdown = out.join("results.md");
        std::fs::write(&markdown, self.markdown())
            .with_context(|| format!("cannot write {}", markdown.display()))?;
        Ok(Written {
            json,
            markdown,
            chart,
        })
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
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
            requests_per_sec: rps,
            ok_per_sec: rps,
            p50_ms: Some(p50),
            p99_ms: Some(p99),
            ..LoadResult::default()
        };
        let memory = Memory {
            peak_kib: 50_000,
            end_kib: 40_000,
            settled_kib: Some(30_000),
        };
        ScenarioReport::new(by_id(id).unwrap(), load, memory)
    }

    pub fn system(system: System, scenarios: Vec<ScenarioReport>) -> SystemReport {
        SystemReport {
            scenarios,
            rss_start_kib: Some(20_000),
            ..SystemReport::new(system, system.label())
        }
    }

    pub fn sample_size() -> SizeReport {
        let mut size = SizeReport {
            listings: 10_000,
            users: 1_000,
            systems: vec![
                system(
                    System::Native,
                    vec![
                        scenario("listings_page10", 40_000.0, 1.0, 3.0),
                        scenario("user_by_id", 100_000.0, 0.5, 1.0),
                        scenario("public_page10", 10_000.0, 5.0, 10.0),
                    ],
                ),
                system(
                    System::Spin,
                    vec![
                        scenario("listings_page10", 4_000.0, 10.0, 30.0),
                        scenario("user_by_id", 5_000.0, 10.0, 20.0),
                    ],
                ),
                system(
                    System::FnHost,
                    vec![
                        scenario("listings_page10", 20_000.0, 2.0, 6.0),
                        scenario("user_by_id", 30_000.0, 1.5, 4.0),
                        scenario("public_page10", 3_000.0, 20.0, 50.0),
                        scenario(FLOOR, 40_000.0, 1.0, 2.0),
                        scenario(FLOOR_CHAINED, 15_000.0, 4.0, 8.0),
                    ],
                ),
            ],
        };
        size.finish();
        size
    }

    #[test]
    fn ratios() {
        let size = sample_size();
        let order: Vec<_> = size.systems.iter().map(|s| s.system).collect();
        assert_eq!(order, [System::FnHost, System::Spin, System::Native]);
        assert_eq!(size.compared_with(), [System::Spin, System::Native]);
        let host = size
            .system(System::FnHost)
            .and_then(|s| s.scenario("listings_page10"));
        assert_eq!(
            host.map(|s| s.vs.clone()),
            Some(BTreeMap::from([(System::Spin, 5.0), (System::Native, 0.5)]))
        );
        assert_eq!(host.and_then(|s| s.of_floor), Some(0.5));
        let public = size
            .system(System::FnHost)
            .and_then(|s| s.scenario("public_page10"));
        assert_eq!(public.and_then(|s| s.of_floor), Some(0.2));
        let floor = size.system(System::FnHost).and_then(|s| s.scenario(FLOOR));
        assert_eq!(floor.and_then(|s| s.of_floor), None);
        assert!(floor.is_some_and(|s| s.vs.is_empty()));
        let spin = size
            .system(System::Spin)
            .and_then(|s| s.scenario("user_by_id"));
        assert_eq!(
            spin.map(|s| s.vs.clone()),
            Some(BTreeMap::from([(System::Native, 0.05)]))
        );
        assert_eq!(spin.and_then(|s| s.of_floor), None);
    }

    #[test]
    fn scale_ratios() {
        let base = sample_size();
        let big = SizeReport {
            listings: 1_000_000,
            users: 100_000,
            systems: vec![system(
                System::FnHost,
                vec![scenario("listings_page10", 18_000.0, 2.4, 9.0)],
            )],
        };
        let rows = scale_rows(&[base, big]);
        assert_eq!(rows.len(), 1);
        let p50 = rows[0].p50_ratio.unwrap_or_default();
        assert!((p50 - 1.2).abs() < 1e-9);
        assert_eq!(rows[0].p99_ratio, Some(1.5));
        assert_eq!(rows[0].base_listings, 10_000);
    }

    #[test]
    fn formats_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
