//! Targets for fn-host, read from a TOML file (`bench/targets.toml`) and checked against one
//! run's numbers. A target names its scenarios, a metric, optionally a reference to divide
//! by, and a bound; over several scenarios it is met when the worst of them is.

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
    /// A reference whose number for the same scenario divides fn-host's.
    against: Option<System>,
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

/// One `[[target]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetToml {
    scenarios: Vec<String>,
    metric: Metric,
    against: Option<System>,
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
    /// The same ratio with fn-host's trivial component in place of the app (for the scenario
    /// shown): what an app that does nothing reaches on this host configuration.
    pub ceiling: Option<String>,
}

impl Targets {
    pub fn read(path: &Path) -> Result<Targets> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Targets::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    fn parse(text: &str) -> Result<Targets> {
        let file: TargetsToml = toml::from_str(text)?;
        file.target
            .into_iter()
            .enumerate()
            .map(|(index, target)| {
                Target::new(target).with_context(|| format!("target {}", index + 1))
            })
            .collect::<Result<_>>()
            .map(Targets)
    }

    pub fn check(&self, size: &SizeReport) -> Vec<TargetCheck> {
        self.0.iter().map(|target| target.check(size)).collect()
    }
}

impl Target {
    fn new(written: TargetToml) -> Result<Target> {
        let scenarios = written
            .scenarios
            .iter()
            .map(|id| scenarios::by_id(id).with_context(|| format!("unknown scenario {id:?}")))
            .collect::<Result<Vec<_>>>()?;
        if scenarios.is_empty() {
            bail!("no scenarios");
        }
        if written
            .against
            .is_some_and(|against| !System::COMPARED_WITH.contains(&against))
        {
            bail!("against must be baseline, spin, tornado or native");
        }
        let bound = match (written.at_least, written.at_most) {
            (Some(least), None) => Bound::AtLeast(least),
            (None, Some(most)) => Bound::AtMost(most),
            _ => bail!("give one of at_least and at_most"),
        };
        Ok(Target {
            scenarios,
            metric: written.metric,
            against: written.against,
            bound,
        })
    }

    fn check(&self, size: &SizeReport) -> TargetCheck {
        let measured: Vec<(f64, &Scenario)> = self
            .scenarios
            .iter()
            .filter_map(|scenario| Some((self.value(size, scenario.id, scenario)?, *scenario)))
            .collect();
        let worst = measured.iter().copied().reduce(|a, b| match self.bound {
            Bound::AtLeast(_) if b.0 < a.0 => b,
            Bound::AtMost(_) if b.0 > a.0 => b,
            _ => a,
        });
        let Some((value, scenario)) = worst else {
            return TargetCheck {
                target: self.describe(size),
                measured: "not measured".into(),
                met: None,
                ceiling: None,
            };
        };
        let mut text = self.format(value);
        if self.scenarios.len() > 1 {
            text = format!("worst {text} ({})", scenario.title);
        }
        if measured.len() < self.scenarios.len() {
            text.push_str(&format!(
                ", {} of {} measured",
                measured.len(),
                self.scenarios.len()
            ));
        }
        TargetCheck {
            target: self.describe(size),
            measured: text,
            met: Some(match self.bound {
                Bound::AtLeast(least) => value >= least,
                Bound::AtMost(most) => value <= most,
            }),
            ceiling: self.ceiling(size, scenario).map(|value| self.format(value)),
        }
    }

    /// The value of this target for `scenario` with fn-host's number taken from scenario
    /// `measured` (the scenario itself, or the trivial component's): over the reference's
    /// number for `scenario` when the target has one.
    fn value(&self, size: &SizeReport, measured: &str, scenario: &Scenario) -> Option<f64> {
        let of = |system, id| {
            let system = size.system(system)?;
            self.metric.of(system, system.scenario(id)?)
        };
        let mine = of(System::FnHost, measured)?;
        match self.against {
            Some(reference) => {
                Some(mine / of(reference, scenario.id).filter(|theirs| *theirs > 0.0)?)
            }
            None => Some(mine),
        }
    }

    /// The value with the trivial component in place of the app, for a speed target against
    /// another system.
    fn ceiling(&self, size: &SizeReport, scenario: &Scenario) -> Option<f64> {
        let speed = matches!(self.metric, Metric::RequestsPerSec | Metric::P99Ms);
        if !speed || self.against.is_none() {
            return None;
        }
        self.value(size, scenario.floor()?, scenario)
    }

    /// E.g. "GET /users/{id}: req/s ≥ 0.45× native axum's".
    fn describe(&self, size: &SizeReport) -> String {
        let scenarios = match self.scenarios.as_slice() {
            [one] => one.title.to_string(),
            many => many.iter().map(|s| s.short).collect::<Vec<_>>().join(", "),
        };
        let (sign, bound) = match self.bound {
            Bound::AtLeast(least) => ("≥", least),
            Bound::AtMost(most) => ("≤", most),
        };
        let metric = self.metric.name();
        let against = self
            .against
            .map(|reference| format!(" {}'s", size.label(reference)));
        let bound = self.format(bound);
        format!(
            "{scenarios}: {metric} {sign} {bound}{}",
            against.unwrap_or_default()
        )
    }

    /// A value of this target: a ratio, or the metric in its unit.
    fn format(&self, value: f64) -> String {
        match (self.against, self.metric) {
            (Some(_), _) => format!("{value:.2}×"),
            (None, Metric::RequestsPerSec) => format!("{value:.0}"),
            (None, Metric::P99Ms) => format!("{value:.2} ms"),
            (None, Metric::RssMb) => format!("{value:.1} MB"),
            (None, Metric::RssAfterLoadOverStart) => format!("{value:.2}×"),
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
            Metric::RssMb => "RSS",
            Metric::RssAfterLoadOverStart => "RSS after load ÷ at start",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_size;

    fn check(toml: &str) -> Vec<TargetCheck> {
        Targets::parse(toml).unwrap().check(&sample_size())
    }

    #[test]
    fn a_ratio_to_a_reference() {
        let [checked] = check(
            r#"[[target]]
               scenarios = ["listings_page10"]
               metric = "req/s"
               against = "native"
               at_least = 0.5"#,
        )
        .try_into()
        .unwrap();
        assert_eq!(
            checked.target,
            "GET /listings?page_size=10: req/s ≥ 0.50× native axum's"
        );
        assert_eq!(checked.measured, "0.50×");
        assert_eq!(checked.met, Some(true));
        assert_eq!(checked.ceiling.as_deref(), Some("1.00×"));
    }

    #[test]
    fn the_public_api_is_bounded_by_the_chained_floor() {
        let [speed, p99] = check(
            r#"[[target]]
               scenarios = ["public_page10"]
               metric = "req/s"
               against = "native"
               at_least = 0.4
               [[target]]
               scenarios = ["public_page10"]
               metric = "p99 ms"
               against = "native"
               at_most = 3"#,
        )
        .try_into()
        .unwrap();
        assert_eq!(
            (speed.measured.as_str(), speed.ceiling.as_deref()),
            ("0.30×", Some("1.50×"))
        );
        assert_eq!(
            (p99.measured.as_str(), p99.ceiling.as_deref()),
            ("5.00×", Some("0.80×"))
        );
    }

    #[test]
    fn several_scenarios_report_the_worst() {
        let [p99, spin] = check(
            r#"[[target]]
               scenarios = ["listings_page10", "user_by_id"]
               metric = "p99 ms"
               against = "native"
               at_most = 3
               [[target]]
               scenarios = ["listings_page10", "user_by_id", "public_page10"]
               metric = "req/s"
               against = "spin"
               at_least = 4"#,
        )
        .try_into()
        .unwrap();
        assert_eq!(p99.measured, "worst 4.00× (GET /users/{id})");
        assert_eq!(p99.met, Some(false));
        assert_eq!(
            spin.measured,
            "worst 5.00× (GET /listings?page_size=10), 2 of 3 measured"
        );
        assert_eq!(spin.met, Some(true));
    }

    #[test]
    fn absolute_bounds_and_what_was_not_measured() {
        let [rss, tornado] = check(
            r#"[[target]]
               scenarios = ["user_by_id"]
               metric = "RSS MB"
               at_most = 150
               [[target]]
               scenarios = ["user_by_id"]
               metric = "req/s"
               against = "tornado"
               at_least = 4"#,
        )
        .try_into()
        .unwrap();
        assert_eq!(rss.target, "GET /users/{id}: RSS ≤ 150.0 MB");
        assert_eq!(rss.ceiling, None);
        assert_eq!((rss.measured.as_str(), rss.met), ("48.8 MB", Some(true)));
        assert_eq!(
            (tornado.measured.as_str(), tornado.met),
            ("not measured", None)
        );
    }

    #[test]
    fn memory_given_back_after_load() {
        let [checked] = check(
            r#"[[target]]
               scenarios = ["listings_page10", "user_by_id"]
               metric = "RSS after load / start"
               at_most = 1.5"#,
        )
        .try_into()
        .unwrap();
        assert_eq!(
            checked.target,
            "listings p10, users/{id}: RSS after load ÷ at start ≤ 1.50×"
        );
        assert_eq!(checked.measured, "worst 1.50× (GET /listings?page_size=10)");
        assert_eq!(checked.met, Some(true));
    }

    #[test]
    fn refuses_targets_that_cannot_be_checked() {
        for (target, message) in [
            (
                r#"scenarios = ["nope"]
                   metric = "req/s"
                   at_least = 1"#,
                "unknown scenario \"nope\"",
            ),
            (
                r#"scenarios = []
                   metric = "req/s"
                   at_least = 1"#,
                "no scenarios",
            ),
            (
                r#"scenarios = ["user_by_id"]
                   metric = "req/s"
                   against = "fn-host"
                   at_least = 1"#,
                "against must be baseline, spin, tornado or native",
            ),
            (
                r#"scenarios = ["user_by_id"]
                   metric = "req/s"
                   at_least = 1
                   at_most = 2"#,
                "give one of at_least and at_most",
            ),
            (
                r#"scenarios = ["user_by_id"]
                   metric = "qps"
                   at_least = 1"#,
                "unknown variant `qps`",
            ),
        ] {
            let error = Targets::parse(&format!("[[target]]\n{target}")).unwrap_err();
            let error = format!("{error:#}");
            assert!(error.contains(message), "{error}");
        }
    }

    #[test]
    fn the_repository_targets_file_reads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("targets.toml");
        assert!(!Targets::read(&path).unwrap().0.is_empty());
    }
}
