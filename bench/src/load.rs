//! The load generator: `oha` (crates.io), run once per scenario, its JSON output parsed.

use crate::scenarios::Requests;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The oha release this benchmark is written against (its JSON output and flags).
pub const OHA_VERSION: &str = "1.16.0";

/// oha's message for requests cut off by `-z` (not failures; `-w` avoids them anyway).
const DEADLINE_ABORT: &str = "aborted due to deadline";

/// A usable oha binary and the version it reports.
#[derive(Clone, Debug)]
pub struct Oha {
    pub binary: PathBuf,
    pub version: String,
}

impl Oha {
    /// `OHA`, else `oha` on PATH, else `<tools>/bin/oha`, installed there if it is not.
    pub fn find(tools: &Path) -> Result<Oha> {
        let binary = testkit::find_tool("OHA", "oha").unwrap_or_else(|| tools.join("bin/oha"));
        if !binary.is_file() {
            install(tools)?;
        }
        let version = version(&binary)?;
        Ok(Oha { binary, version })
    }

    /// Runs one load and parses its result. Files for random URLs/bodies go to `scratch`.
    /// oha stays in this process's group, so Ctrl-C ends it too.
    pub fn run(&self, load: &Load<'_>, scratch: &Path) -> Result<LoadResult> {
        let mut command = Command::new(&self.binary);
        command
            .args(["--no-tui", "--output-format", "json", "-z"])
            .arg(format!("{}ms", load.duration.as_millis()))
            .arg("-c")
            .arg(load.connections.to_string())
            // Requests in flight at the deadline finish rather than count as aborted; one that
            // hangs is an error, not a hung benchmark.
            .args(["-w", "-t", "30s"]);
        let list = |kind: &str, lines: &[String]| -> Result<PathBuf> {
            let file = scratch.join(format!("{}-{kind}.txt", load.name));
            std::fs::write(&file, lines.join("\n") + "\n")
                .with_context(|| format!("cannot write {}", file.display()))?;
            Ok(file)
        };
        match load.requests {
            Requests::Url(url) => command.arg(url),
            Requests::Urls(urls) => command.arg("--urls-from-file").arg(list("urls", urls)?),
            Requests::Bodies { url, content_type, bodies } => command
                .args(["-m", "POST", "-T", content_type, "-Z"])
                .arg(list("bodies", bodies)?)
                .arg(url),
        };
        let output = command.output().context("cannot run oha")?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            bail!("oha exited with {}: {}", output.status, stderr.trim());
        }
        let parsed: OhaJson = serde_json::from_slice(&output.stdout).with_context(|| {
            let start = &output.stdout[..output.stdout.len().min(500)];
            format!("oha's output is not its JSON: {}", String::from_utf8_lossy(start))
        })?;
        Ok(LoadResult::from_oha(parsed))
    }
}

/// One load to run.
pub struct Load<'a> {
    /// For file names and messages.
    pub name: &'a str,
    pub requests: &'a Requests,
    pub duration: Duration,
    pub connections: u32,
}

fn install(tools: &Path) -> Result<()> {
    let into = tools.display();
    eprintln!("no oha (OHA, or on PATH): installing oha {OHA_VERSION} into {into} (once; minutes)");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["install", "oha", "--version", OHA_VERSION, "--locked", "--root"])
        .arg(tools)
        .status()
        .context("cannot run cargo install")?;
    if !status.success() {
        bail!("`cargo install oha` failed ({status}); install oha yourself and set OHA");
    }
    Ok(())
}

/// The first line `<binary> --version` prints, e.g. `oha 1.16.0`.
pub fn version(binary: &Path) -> Result<String> {
    let output = Command::new(binary)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run {} --version", binary.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ok(stdout.lines().next().unwrap_or_default().trim().to_string())
}

/// The parts of `oha --output-format json` used here (times in seconds).
#[derive(Debug, Deserialize)]
struct OhaJson {
    summary: OhaSummary,
    #[serde(rename = "latencyPercentiles")]
    latency_percentiles: BTreeMap<String, Option<f64>>,
    #[serde(rename = "statusCodeDistribution", default)]
    status_codes: BTreeMap<String, u64>,
    #[serde(rename = "errorDistribution", default)]
    errors: BTreeMap<String, u64>,
}

#[derive(Debug, Deserialize)]
struct OhaSummary {
    total: f64,
}

/// One scenario's numbers (latencies in milliseconds).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LoadResult {
    /// Requests per second that got a 2xx.
    pub ok_per_sec: f64,
    pub duration_secs: f64,
    pub requests: u64,
    pub ok: u64,
    /// Answers that were not 2xx.
    pub non_2xx: u64,
    /// Requests with no answer (connection errors, timeouts).
    pub transport_errors: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    pub status_codes: BTreeMap<String, u64>,
    pub error_kinds: BTreeMap<String, u64>,
}

impl LoadResult {
    pub fn errors(&self) -> u64 {
        self.non_2xx + self.transport_errors
    }

    fn from_oha(json: OhaJson) -> LoadResult {
        let ms = |key: &str| json.latency_percentiles.get(key).copied().flatten().map(|s| s * 1e3);
        let count = |counts: &BTreeMap<String, u64>, counted: fn(&str) -> bool| -> u64 {
            counts.iter().filter(|(key, _)| counted(key)).map(|(_, n)| n).sum()
        };
        let answered = count(&json.status_codes, |_| true);
        let ok = count(&json.status_codes, |code| code.starts_with('2'));
        let transport_errors = count(&json.errors, |kind| !kind.contains(DEADLINE_ABORT));
        let duration = json.summary.total;
        LoadResult {
            ok_per_sec: if duration > 0.0 { ok as f64 / duration } else { 0.0 },
            duration_secs: duration,
            requests: answered + transport_errors,
            ok,
            non_2xx: answered - ok,
            transport_errors,
            p50_ms: ms("p50"),
            p99_ms: ms("p99"),
            p999_ms: ms("p99.9"),
            status_codes: json.status_codes,
            error_kinds: json.errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_oha_json() -> Result<()> {
        let text = r#"{
            "summary": {"successRate": 1.0, "total": 2.0, "slowest": 0.02, "fastest": 0.0001,
                        "average": 0.001, "requestsPerSec": 1500.5},
            "latencyPercentiles": {"p50": 0.001, "p90": 0.002, "p99": 0.004, "p99.9": null},
            "statusCodeDistribution": {"200": 2990, "404": 10},
            "errorDistribution": {"connection refused": 1, "aborted due to deadline": 5}
        }"#;
        let result = LoadResult::from_oha(serde_json::from_str(text)?);
        assert_eq!(result.requests, 3001);
        assert_eq!((result.ok, result.non_2xx, result.transport_errors), (2990, 10, 1));
        assert_eq!(result.errors(), 11);
        assert_eq!((result.p50_ms, result.p99_ms, result.p999_ms), (Some(1.0), Some(4.0), None));
        assert!((result.ok_per_sec - 1495.0).abs() < 1e-9);
        Ok(())
    }
}
