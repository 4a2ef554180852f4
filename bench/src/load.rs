//! The load generator: `oha` (crates.io), run once per scenario, its JSON output parsed.

use crate::launch::{self, GroupGuard};
use crate::scenarios::Requests;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    /// `explicit`, else `oha` on PATH, else `<tools>/bin/oha`, else a pinned install there.
    pub fn locate(explicit: Option<&Path>, tools: &Path) -> Result<Oha> {
        if let Some(path) = explicit {
            return Oha::check(path.to_path_buf());
        }
        if let Some(Ok(oha)) = launch::find_on_path("oha").map(Oha::check) {
            return Ok(oha);
        }
        let local = tools.join("bin").join("oha");
        if !local.is_file() {
            install(tools)?;
        }
        Oha::check(local)
    }

    fn check(binary: PathBuf) -> Result<Oha> {
        let version = launch::version(&binary)?;
        Ok(Oha { binary, version })
    }

    /// Runs one load and parses its result. Files for random URLs/bodies go to `scratch`.
    pub fn run(&self, load: &Load<'_>, scratch: &Path) -> Result<LoadResult> {
        let mut command = Command::new(&self.binary);
        command
            .arg("--no-tui")
            .args(["--output-format", "json"])
            .arg("-z")
            .arg(format!("{}ms", load.duration.as_millis()))
            .arg("-c")
            .arg(load.connections.to_string())
            // Let requests in flight at the deadline finish rather than count as aborted.
            .arg("-w")
            // A request that hangs is an error, not a hung benchmark.
            .args(["-t", "30s"]);
        match load.requests {
            Requests::Url(url) => {
                command.arg(url);
            }
            Requests::Urls(urls) => {
                let file = scratch.join(format!("{}-urls.txt", load.name));
                write_lines(&file, urls)?;
                command.arg("--urls-from-file").arg(&file);
            }
            Requests::Bodies {
                url,
                content_type,
                bodies,
            } => {
                let file = scratch.join(format!("{}-bodies.txt", load.name));
                write_lines(&file, bodies)?;
                command
                    .args(["-m", "POST", "-T", content_type, "-Z"])
                    .arg(&file)
                    .arg(url);
            }
        }
        let output = run_with_deadline(command, load.duration + Duration::from_secs(90))
            .with_context(|| format!("oha failed for {}", load.name))?;
        let parsed: OhaJson = serde_json::from_slice(&output).with_context(|| {
            format!(
                "cannot parse oha's JSON for {}: {}",
                load.name,
                String::from_utf8_lossy(&output[..output.len().min(500)])
            )
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
    eprintln!(
        "oha is not on PATH: installing oha {OHA_VERSION} into {} (once; a few minutes)",
        tools.display()
    );
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "install",
            "oha",
            "--version",
            OHA_VERSION,
            "--locked",
            "--root",
        ])
        .arg(tools)
        .status()
        .context("cannot run cargo install")?;
    if !status.success() {
        bail!(
            "`cargo install oha --version {OHA_VERSION} --locked --root {}` failed ({status}); \
             install oha yourself and pass --oha PATH",
            tools.display()
        );
    }
    Ok(())
}

fn write_lines(path: &Path, lines: &[String]) -> Result<()> {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Runs a command to completion, capturing stdout (stderr is shown on failure).
fn run_with_deadline(mut command: Command, deadline: Duration) -> Result<Vec<u8>> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .context("cannot start oha")?;
    let _guard = match GroupGuard::new(child.id()) {
        Ok(guard) => guard,
        Err(error) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(error);
        }
    };
    let mut stdout = child.stdout.take().context("no stdout pipe")?;
    let mut stderr = child.stderr.take().context("no stderr pipe")?;
    // Drain both pipes on threads so a chatty child never blocks on a full pipe.
    let out_thread = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        stdout.read_to_end(&mut buffer).map(|_| buffer)
    });
    let err_thread = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = stderr.read_to_end(&mut buffer);
        buffer
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("still running after {deadline:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out_thread
        .join()
        .map_err(|_| anyhow::anyhow!("stdout reader panicked"))?
        .context("cannot read oha's output")?;
    let stderr = err_thread.join().unwrap_or_default();
    if !status.success() {
        bail!(
            "exited with {status}: {}",
            String::from_utf8_lossy(&stderr).trim()
        );
    }
    Ok(stdout)
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
    #[serde(rename = "requestsPerSec")]
    requests_per_sec: f64,
    total: f64,
    average: Option<f64>,
    slowest: Option<f64>,
}

/// One scenario's numbers (latencies in milliseconds).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LoadResult {
    /// Answered requests per second (any status), as oha counts them.
    pub requests_per_sec: f64,
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
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub status_codes: BTreeMap<String, u64>,
    pub error_kinds: BTreeMap<String, u64>,
}

impl LoadResult {
    pub fn errors(&self) -> u64 {
        self.non_2xx + self.transport_errors
    }

    fn from_oha(json: OhaJson) -> LoadResult {
        let ms = |key: &str| {
            json.latency_percentiles
                .get(key)
                .copied()
                .flatten()
                .map(|s| s * 1e3)
        };
        let answered: u64 = json.status_codes.values().sum();
        let ok: u64 = json
            .status_codes
            .iter()
            .filter(|(code, _)| code.starts_with('2'))
            .map(|(_, n)| n)
            .sum();
        let transport_errors: u64 = json
            .errors
            .iter()
            .filter(|(kind, _)| !kind.contains(DEADLINE_ABORT))
            .map(|(_, n)| n)
            .sum();
        let duration = json.summary.total;
        LoadResult {
            requests_per_sec: json.summary.requests_per_sec,
            ok_per_sec: if duration > 0.0 {
                ok as f64 / duration
            } else {
                0.0
            },
            duration_secs: duration,
            requests: answered + transport_errors,
            ok,
            non_2xx: answered - ok,
            transport_errors,
            p50_ms: ms("p50"),
            p90_ms: ms("p90"),
            p99_ms: ms("p99"),
            p999_ms: ms("p99.9"),
            mean_ms: json.summary.average.map(|s| s * 1e3),
            max_ms: json.summary.slowest.map(|s| s * 1e3),
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
                        "average": 0.001, "requestsPerSec": 1500.5, "totalData": 10,
                        "sizePerRequest": 1, "sizePerSec": 5.0},
            "responseTimeHistogram": {},
            "latencyPercentiles": {"p10": 0.0005, "p50": 0.001, "p90": 0.002, "p99": 0.004,
                                   "p99.9": 0.01, "p99.99": 0.02},
            "rps": {"mean": 1.0},
            "details": {},
            "statusCodeDistribution": {"200": 2990, "404": 10},
            "errorDistribution": {"connection refused": 1, "aborted due to deadline": 5}
        }"#;
        let result = LoadResult::from_oha(serde_json::from_str(text)?);
        assert_eq!(result.requests, 3001);
        assert_eq!(result.ok, 2990);
        assert_eq!(result.non_2xx, 10);
        assert_eq!(result.transport_errors, 1);
        assert_eq!(result.errors(), 11);
        assert_eq!(result.p50_ms, Some(1.0));
        assert_eq!(result.p99_ms, Some(4.0));
        assert!((result.ok_per_sec - 1495.0).abs() < 1e-9);
        assert!((result.requests_per_sec - 1500.5).abs() < 1e-9);
        Ok(())
    }

    #[test]
    fn tolerates_missing_percentiles() -> Result<()> {
        let text = r#"{"summary": {"total": 1.0, "requestsPerSec": 0.0, "average": null,
                       "slowest": null},
                       "latencyPercentiles": {"p50": null},
                       "statusCodeDistribution": {}, "errorDistribution": {"refused": 3}}"#;
        let result = LoadResult::from_oha(serde_json::from_str(text)?);
        assert_eq!(result.p50_ms, None);
        assert_eq!(result.transport_errors, 3);
        assert_eq!(result.ok, 0);
        Ok(())
    }
}
