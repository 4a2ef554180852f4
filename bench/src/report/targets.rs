//! Targets for fn-host (`bench/targets.toml`), checked against a run: scenarios, a metric, maybe
//! relative to the scenario's floor, and a bound, met when the worst of the scenarios meets it.

use super::{ScenarioReport, SizeReport, SystemReport, mib};
use crate::scenarios::{self, Scenario};
use crate::system::System;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The targets of a file, checked as they are read.
#[derive(Debug)]
pub struct Targets(Vec<Target>);

#[derive(Debug)]
struct Target {
    scenarios: Vec<&'static Scenario>,
    metric: Metric,
    /// Divided by the same metric of the scenario's floor on fn-host.
    of_floor: bool,
    /// Checked only in a run with this many connections.
    connections: Option<u32>,
    bound: Bound,
}

#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
enum Metric {
    #[serde(rename = "req/s")]
    RequestsPerSec,
    #[serde(rename = "p99 ms")]
    P99Ms,
    #[serde(rename = "RSS MB")]
    RssMb,
    /// RSS a while after the load (`--settle`) over RSS at start.
    #[serde(rename = "RSS after load / start")]
    RssAfterLoadOverStart,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Bound {
    AtLeast(f64),
    AtMost(f64),
}

#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Against {
    Floor,
}

/// One `[[target]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetToml {
    scenarios: Vec<String>,
    metric: Metric,
    against: Option<Against>,
    connections: Option<u32>,
    at_least: Option<f64>,
    at_most: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetsToml {
    #[serde(default)]
    target: Vec<TargetToml>,
}

/// One target's outcome, as the report shows it.
#[derive(Debug, Serialize)]
pub struct TargetCheck {
    pub target: String,
    pub measured: String,
    /// `None` when a number it needs was not measured.
    pub met: Option<bool>,
}

impl Targets {
    pub fn read(path: &Path) -> Result<Targets> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Targets::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    fn parse(text: &str) -> Result<Targets> {
        let file: TargetsToml = toml::from_str(text)?;
        (file.target.into_iter().enumerate())
            .map(|(index, target)| {
                Target::new(target).with_context(|| format!("target {}", index + 1))
            })
            .collect::<Result<_>>()
            .map(Targets)
    }

    /// Each target against fn-host's numbers in `size`, from a run with `connections`.
    pub fn check(&self, size: &SizeReport, connections: u32) -> Vec<TargetCheck> {
        (self.0.iter()).map(|target| target.check(size, connections)).collect()
    }
}

impl Target {
    fn new(written: TargetToml) -> Result<Target> {
        let scenarios = (written.scenarios.iter())
            .map(|id| scenarios::by_id(id).with_context(|| format!("unknown scenario {id:?}")))
            .collect::<Result<Vec<_>>>()?;
        if scenarios.is_empty() {
            bail!("no scenarios");
        }
        let of_floor = written.against == Some(Against::Floor);
        if of_floor && !matches!(written.metric, Metric::RequestsPerSec | Metric::P99Ms) {
            bail!("only req/s and p99 ms are measured against the floor");
        }
        if of_floor && scenarios.iter().any(|s| s.floor().is_none()) {
            bail!("a floor has no floor");
        }
        let bound = match (written.at_least, written.at_most) {
            (Some(least), None) => Bound::AtLeast(least),
            (None, Some(most)) => Bound::AtMost(most),
            _ => bail!("give one of at_least and at_most"),
        };
        let (metric, connections) = (written.metric, written.connections);
        Ok(Target { scenarios, metric, of_floor, connections, bound })
    }

    fn check(&self, size: &SizeReport, connections: u32) -> TargetCheck {
        let unmeasured =
            |why: String| TargetCheck { target: self.describe(), measured: why, met: None };
        if let Some(wanted) = self.connections.filter(|wanted| *wanted != connections) {
            return unmeasured(format!("not in this run (one with --connections {wanted})"));
        }
        let fn_host = size.system(System::FnHost);
        let measured: Vec<(f64, &Scenario)> = (self.scenarios.iter())
            .filter_map(|scenario| Some((self.value(fn_host?, scenario)?, *scenario)))
            .collect();
        let worst = measured.iter().copied().reduce(|a, b| match self.bound {
            Bound::AtLeast(_) if b.0 < a.0 => b,
            Bound::AtMost(_) if b.0 > a.0 => b,
            _ => a,
        });
        let Some((value, scenario)) = worst else {
            return unmeasured("not measured".into());
        };
        let mut text = self.format(value);
        if self.scenarios.len() > 1 {
            text = format!("worst {text} ({})", scenario.title);
        }
        let (found, wanted) = (measured.len(), self.scenarios.len());
        if found < wanted {
            text.push_str(&format!(", {found} of {wanted} measured"));
        }
        let met = match self.bound {
            Bound::AtLeast(least) => value >= least,
            Bound::AtMost(most) => value <= most,
        };
        TargetCheck { target: self.describe(), measured: text, met: Some(met) }
    }

    /// fn-host's value for `scenario`: over its floor's when the target says so.
    fn value(&self, fn_host: &SystemReport, scenario: &Scenario) -> Option<f64> {
        let of = |id| self.metric.of(fn_host, fn_host.scenario(id)?);
        let mine = of(scenario.id)?;
        match self.of_floor {
            true => Some(mine / of(scenario.floor()?).filter(|floor| *floor > 0.0)?),
            false => Some(mine),
        }
    }

    /// E.g. "GET /users/{id}: req/s ≥ 0.85× its floor's".
    fn describe(&self) -> String {
        let scenarios = match self.scenarios.as_slice() {
            [one] => one.title.to_string(),
            many => many.iter().map(|s| s.short).collect::<Vec<_>>().join(", "),
        };
        let (sign, bound) = match self.bound {
            Bound::AtLeast(least) => ("≥", least),
            Bound::AtMost(most) => ("≤", most),
        };
        let floor = if self.of_floor { " its floor's" } else { "" };
        let connections =
            (self.connections).map_or(String::new(), |n| format!(", at {n} connections"));
        let metric = self.metric.name();
        format!("{scenarios}: {metric} {sign} {}{floor}{connections}", self.format(bound))
    }

    /// A value of this target: a ratio, or the metric in its unit.
    fn format(&self, value: f64) -> String {
        match (self.of_floor, self.metric) {
            (true, _) | (_, Metric::RssAfterLoadOverStart) => format!("{value:.2}×"),
            (false, Metric::RequestsPerSec) => format!("{value:.0}"),
            (false, Metric::P99Ms) => format!("{value:.2} ms"),
            (false, Metric::RssMb) => format!("{value:.1} MB"),
        }
    }
}

impl Metric {
    fn of(self, system: &SystemReport, result: &ScenarioReport) -> Option<f64> {
        match self {
            Metric::RequestsPerSec => Some(result.load.ok_per_sec),
            Metric::P99Ms => result.load.p99_ms,
            Metric::RssMb => Some(mib(result.rss_peak_kib)),
            Metric::RssAfterLoadOverStart => system.settled_over_start(result),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Metric::RequestsPerSec => "req/s",
            Metric::P99Ms => "p99",
            Metric::RssMb => "peak RSS",
            Metric::RssAfterLoadOverStart => "RSS after load ÷ at start",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_size;

    /// `(target, measured, met)` of each target in `toml`, against a run with `connections`.
    fn check(toml: &str, connections: u32) -> Vec<(String, String, Option<bool>)> {
        let targets = Targets::parse(toml).unwrap_or_else(|e| panic!("{e:#}"));
        let checks = targets.check(&sample_size(), connections).into_iter();
        checks.map(|c| (c.target, c.measured, c.met)).collect()
    }

    #[test]
    fn ratios_to_the_floors_memory_and_connections() {
        let targets = r#"target = [
            { scenarios = ["listings_page10", "user_by_id"], metric = "req/s", against = "floor", at_least = 0.6 },
            { scenarios = ["public_page10"], metric = "p99 ms", against = "floor", at_most = 1.5 },
            { scenarios = ["listings_page10", "user_by_id"], metric = "RSS after load / start", at_most = 1.3 },
            { scenarios = ["user_by_id", "listings_create"], metric = "RSS MB", connections = 1000, at_most = 150 },
        ]"#;
        let rss = "users/{id}, POST listings: peak RSS ≤ 150.0 MB, at 1000 connections";
        let worst_listings = "worst 0.50× (GET /listings?page_size=10)";
        let p99 = "GET /public-api/listings?page_size=10: p99 ≤ 1.50× its floor's";
        let settled = "listings p10, users/{id}: RSS after load ÷ at start ≤ 1.30×";
        let expected = [
            ("listings p10, users/{id}: req/s ≥ 0.60× its floor's", worst_listings, Some(false)),
            (p99, "6.25×", Some(false)),
            (settled, "worst 1.50× (GET /listings?page_size=10)", Some(false)),
            (rss, "not in this run (one with --connections 1000)", None),
        ];
        let owned =
            |(target, measured, met): (&str, &str, _)| (target.into(), measured.into(), met);
        assert_eq!(check(targets, 64), expected.map(owned));
        let measured = "worst 48.8 MB (GET /users/{id}), 1 of 2 measured";
        assert_eq!(check(targets, 1000)[3], owned((rss, measured, Some(true))));
    }

    #[test]
    fn refuses_targets_that_cannot_be_checked() {
        for (target, message) in [
            (r#"scenarios = ["nope"]"#, "unknown scenario \"nope\""),
            ("scenarios = []", "no scenarios"),
            (r#"scenarios = ["floor_hello"]"#, "a floor has no floor"),
        ] {
            let toml = format!(
                "[[target]]\n{target}\nmetric = \"req/s\"\nagainst = \"floor\"\nat_least = 1"
            );
            let error = Targets::parse(&toml).map(|_| ()).map_err(|e| format!("{e:#}"));
            assert!(error.as_ref().is_err_and(|e| e.contains(message)), "{error:?}");
        }
    }

    #[test]
    fn the_repository_targets_file_reads() -> Result<()> {
        let targets = Targets::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("targets.toml"))?;
        assert_eq!(targets.0.len(), 5);
        Ok(())
    }
}
