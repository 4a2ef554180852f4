//! The results: one data model, written as JSON, a Markdown table and a PNG chart.

mod chart;
mod markdown;
pub mod targets;

use crate::cli::Size;
use crate::load::LoadResult;
use crate::machine::Machine;
use anyhow::{Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// System ids, in the order tables and charts show them.
pub const HOST: &str = "host";
pub const HOST_REUSE1: &str = "host-reuse1";
pub const TORNADO: &str = "tornado";
pub const NATIVE: &str = "native";
const ORDER: &[&str] = &[HOST, HOST_REUSE1, TORNADO, NATIVE];

/// A human name for a system id.
pub fn label(system: &str) -> &str {
    match system {
        HOST => "fn-host",
        HOST_REUSE1 => "fn-host (reuse 1)",
        TORNADO => "Tornado",
        NATIVE => "native axum",
        other => other,
    }
}

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
    /// Issue 4's targets, checked against these numbers.
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
    pub connections: u32,
    pub seed: u64,
    pub sizes: Vec<Size>,
    pub anchors: Vec<String>,
    pub seed_concurrency: usize,
    pub reuse_one: bool,
    pub host_args: Vec<String>,
    pub oha: String,
    /// `git rev-parse --short HEAD` of the repository, `-dirty` when it has changes.
    pub commit: Option<String>,
}

/// Host start-up with compiled components cached (cold = the first start, which compiles).
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
    pub system: String,
    pub seeding: Option<SeedStats>,
    /// Summed RSS of the system's processes after seeding, before load (KiB).
    pub rss_idle_kib: Option<u64>,
    /// Summed VmHWM of the system's processes when it was stopped (KiB).
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
    pub id: String,
    pub title: String,
    pub load: LoadResult,
    /// Largest summed RSS sampled during the measured load (KiB).
    pub rss_peak_kib: u64,
    /// 2xx req/s over Tornado's for the same scenario.
    pub vs_tornado: Option<f64>,
    /// 2xx req/s as a fraction of native axum's.
    pub of_native: Option<f64>,
    /// 2xx req/s as a fraction of the trivial component's on the same host configuration.
    pub of_floor: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct ScaleRow {
    pub scenario: String,
    pub title: String,
    pub system: String,
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
    pub fn system(&self, id: &str) -> Option<&SystemReport> {
        self.systems.iter().find(|s| s.system == id)
    }

    /// Puts systems in display order and fills in every ratio.
    pub fn finish(&mut self) {
        self.systems.sort_by_key(|s| {
            ORDER
                .iter()
                .position(|id| *id == s.system)
                .unwrap_or(ORDER.len())
        });
        let rate = |systems: &[SystemReport], system: &str, scenario: &str| {
            systems
                .iter()
                .find(|s| s.system == system)
                .and_then(|s| s.scenario(scenario))
                .map(|r| r.load.ok_per_sec)
                .filter(|r| *r > 0.0)
        };
        let mut ratios = Vec::new();
        for system in &self.systems {
            for scenario in &system.scenarios {
                let mine = scenario.load.ok_per_sec;
                let floor = if system.system.starts_with(HOST) && scenario.id != "floor_hello" {
                    rate(&self.systems, &system.system, "floor_hello").map(|f| mine / f)
                } else {
                    None
                };
                ratios.push((
                    rate(&self.systems, TORNADO, &scenario.id).map(|t| mine / t),
                    rate(&self.systems, NATIVE, &scenario.id).map(|n| mine / n),
                    floor,
                ));
            }
        }
        let slots = self.systems.iter_mut().flat_map(|s| s.scenarios.iter_mut());
        for (scenario, (vs_tornado, of_native, of_floor)) in slots.zip(ratios) {
            scenario.vs_tornado = vs_tornado;
            scenario.of_native = of_native;
            scenario.of_floor = of_floor;
        }
    }
}

impl SystemReport {
    pub fn new(system: &str) -> SystemReport {
        SystemReport {
            system: system.to_string(),
            seeding: None,
            rss_idle_kib: None,
            rss_high_water_kib: None,
            scenarios: Vec::new(),
        }
    }

    pub fn scenario(&self, id: &str) -> Option<&ScenarioReport> {
        self.scenarios.iter().find(|s| s.id == id)
    }
}

/// The scale rows: every scenario measured at an extra size, against the first size.
pub fn scale_rows(sizes: &[SizeReport]) -> Vec<ScaleRow> {
    let Some((base, extra)) = sizes.split_first() else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for size in extra {
        for system in &size.systems {
            for scenario in &system.scenarios {
                let reference = base
                    .system(&system.system)
                    .and_then(|s| s.scenario(&scenario.id));
                let ratio = |now: Option<f64>, then: Option<f64>| match (now, then) {
                    (Some(now), Some(then)) if then > 0.0 => Some(now / then),
                    _ => None,
                };
                rows.push(ScaleRow {
                    scenario: scenario.id.clone(),
                    title: scenario.title.clone(),
                    system: system.system.clone(),
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
    fn chart_subtitle(&self) -> String {
        format!(
            "{} | {} connections, {:.0} s per scenario, {}",
            self.machine.describe(),
            self.settings.connections,
            self.settings.duration_secs,
            self.settings.oha
        )
    }

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
        let chart = match self.sizes.first() {
            Some(size) => match chart::draw(size, &self.chart_subtitle(), &chart_path) {
                Ok(()) => Some(chart_path),
                Err(error) => {
                    eprintln!("warning: no chart: {error:#}");
                    None
                }
            },
            None => None,
        };
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn scenario(id: &str, rps: f64, p50: f64, p99: f64) -> ScenarioReport {
        ScenarioReport {
            id: id.into(),
            title: crate::scenarios::by_id(id)
                .map(|s| s.title)
                .unwrap_or(id)
                .into(),
            load: LoadResult {
                requests_per_sec: rps,
                ok_per_sec: rps,
                p50_ms: Some(p50),
                p99_ms: Some(p99),
                ..LoadResult::default()
            },
            rss_peak_kib: 50_000,
            vs_tornado: None,
            of_native: None,
            of_floor: None,
        }
    }

    pub fn system(id: &str, scenarios: Vec<ScenarioReport>) -> SystemReport {
        SystemReport {
            scenarios,
            ..SystemReport::new(id)
        }
    }

    pub fn sample_size() -> SizeReport {
        let mut size = SizeReport {
            listings: 10_000,
            users: 1_000,
            systems: vec![
                system(
                    NATIVE,
                    vec![
                        scenario("listings_page10", 40_000.0, 1.0, 3.0),
                        scenario("user_by_id", 100_000.0, 0.5, 1.0),
                    ],
                ),
                system(
                    TORNADO,
                    vec![
                        scenario("listings_page10", 4_000.0, 10.0, 30.0),
                        scenario("user_by_id", 5_000.0, 10.0, 20.0),
                    ],
                ),
                system(
                    HOST,
                    vec![
                        scenario("listings_page10", 20_000.0, 2.0, 6.0),
                        scenario("user_by_id", 30_000.0, 1.5, 4.0),
                        scenario("floor_hello", 40_000.0, 1.0, 2.0),
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
        let order: Vec<_> = size.systems.iter().map(|s| s.system.as_str()).collect();
        assert_eq!(order, [HOST, TORNADO, NATIVE]);
        let host = size
            .system(HOST)
            .and_then(|s| s.scenario("listings_page10"));
        assert_eq!(host.and_then(|s| s.vs_tornado), Some(5.0));
        assert_eq!(host.and_then(|s| s.of_native), Some(0.5));
        assert_eq!(host.and_then(|s| s.of_floor), Some(0.5));
        let floor = size.system(HOST).and_then(|s| s.scenario("floor_hello"));
        assert_eq!(floor.and_then(|s| s.of_floor), None);
        assert_eq!(floor.and_then(|s| s.vs_tornado), None);
        let tornado = size.system(TORNADO).and_then(|s| s.scenario("user_by_id"));
        assert_eq!(tornado.and_then(|s| s.vs_tornado), Some(1.0));
        assert_eq!(tornado.and_then(|s| s.of_floor), None);
    }

    #[test]
    fn scale_ratios() {
        let base = sample_size();
        let big = SizeReport {
            listings: 1_000_000,
            users: 100_000,
            systems: vec![system(
                HOST,
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
}
