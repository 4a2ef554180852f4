//! Command-line options.

use crate::scenarios::{self, Scenario};
use crate::system::System;
use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

/// Benchmarks the app on fn-host (its durability modes, a baseline binary, libSQL shapes)
/// beside Spin, wasmtime serve, Tornado and native axum, both wasi:http flavours on fn-host
/// and the Spin CLIs, in one run, and writes the results to bench/results/<date>-<name>/.
///
/// Needs the host built (`cargo build --release -p host`); the components are built as the
/// hosts build them. Third-party programs come from SPIN, SPIN3, SQLD, HAPROXY, WASMTIME and
/// OHA, else PATH; a system whose programs are missing is skipped with a note.
#[derive(Parser, Debug)]
#[command(name = "bench", version)]
pub struct Opts {
    /// Names this run's folder, bench/results/<date>-<name>/.
    #[arg(long, default_value = "run")]
    pub name: String,
    /// Makes this run the current one, the one bench/results/INDEX.md points to.
    #[arg(long)]
    pub current: bool,
    /// Only rewrites bench/results/INDEX.md from the run folders; measures nothing.
    #[arg(long)]
    pub index_only: bool,
    /// How long each scenario is measured.
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub duration: Duration,
    /// Unmeasured load before each scenario (0s for none).
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// Concurrent connections of the load generator.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,
    /// Data sizes as LISTINGS:USERS, comma-separated, e.g. `10000:1000,1000000:100000`. The
    /// first gets every scenario on every system; the others re-measure the scale scenarios
    /// (`GET /listings?page_size=10` and `?user_id=`) on fn-host, for the latency ratio.
    #[arg(long, value_delimiter = ',', value_parser = parse_size, default_value = "10000:1000")]
    pub sizes: Vec<Size>,
    /// The systems to measure, comma-separated: ids (fn-host, fn-host-p2, fn-host-process,
    /// baseline, fn-host-reuse1, fn-host-libsql, fn-host-libsql-balanced, spin, spin-p2, spin3,
    /// wasmtime-serve, tornado, native; -p2 and spin3 serve the wasi:http 0.2 build) or groups
    /// (`all`; `durability`: fn-host, fn-host-process, baseline; `shapes`: fn-host and the two
    /// libSQL shapes; `flavours`: fn-host, fn-host-p2, spin, spin-p2, spin3; `references`:
    /// spin, wasmtime-serve, tornado, native).
    /// Default: all; for a soak, fn-host and fn-host-libsql-balanced.
    #[arg(long, value_parser = |text: &str| System::parse_list(text).map(Systems))]
    pub systems: Option<Systems>,
    /// Instead of the scenarios, a soak this long (e.g. `30m`): the systems at once, each
    /// seeded at the first size, then under reads and writes minute after minute, with the
    /// hosts' memory, p99 and errors per minute (soak.json, soak.md, soak.svg).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub soak: Option<Duration>,
    /// The fn-host binary measured as `fn-host` and its variants (default:
    /// target/release/fn-host; target/dist/fn-host for the deployed build).
    #[arg(long, value_name = "PATH")]
    pub fn_host: Option<PathBuf>,
    /// An fn-host binary measured as the system `baseline` (e.g. the code before a change),
    /// with the app, arguments and data of `fn-host`.
    #[arg(long, value_name = "PATH")]
    pub baseline_fn_host: Option<PathBuf>,
    /// What the tables call the baseline (default: its path).
    #[arg(long)]
    pub baseline_label: Option<String>,
    /// The manifest the baseline serves, when it cannot read the repository's.
    #[arg(long, value_name = "PATH")]
    pub baseline_manifest: Option<PathBuf>,
    /// Folder holding the Tornado and native references (default: <repo>/../shared/anchors).
    #[arg(long)]
    pub anchors_dir: Option<PathBuf>,
    /// Also run the extra sizes of --sizes on the references.
    #[arg(long)]
    pub scale_references: bool,
    /// How long after each load the memory of the `flavours` systems is measured again (0s: not).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub settle: Duration,
    /// Only these scenarios (ids: listings_page10, listings_by_user, user_by_id, public_page10,
    /// public_page50, users_create, listings_create, public_create_listing, floor_hello,
    /// floor_chained).
    #[arg(long, value_delimiter = ',', value_parser = parse_scenario)]
    pub scenarios: Vec<&'static Scenario>,
    /// Seed of the data and of the random ids and bodies (same seed, same requests).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Seeding requests in flight at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub seed_concurrency: u64,
    /// Timed fn-host starts (with compiled components cached) for the start-up figure.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub startup_runs: u32,
    /// Extra arguments for every `fn-host up` (the baseline's too), e.g.
    /// `--host-arg=--max-instances=200`.
    #[arg(long = "host-arg", allow_hyphen_values = true)]
    pub host_args: Vec<String>,
    /// The targets checked against the run (default: <repo>/bench/targets.toml).
    #[arg(long)]
    pub targets: Option<PathBuf>,
    /// Scratch space: state dirs, logs, URL lists (default: <repo>/target/bench-work).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Keep this run's scratch folder (databases, logs) instead of deleting it.
    #[arg(long)]
    pub keep_work: bool,
}

/// One data size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Size {
    pub listings: usize,
    pub users: usize,
}

/// The systems asked for, in display order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Systems(pub Vec<System>);

impl Opts {
    pub fn systems(&self) -> Vec<System> {
        match (&self.systems, self.soak) {
            (Some(systems), _) => systems.0.clone(),
            (None, Some(_)) => vec![System::FnHost, System::FnHostLibsqlBalanced],
            (None, None) => System::ALL.to_vec(),
        }
    }

    /// Whether `scenario` was asked for (all are, by default).
    pub fn wants(&self, scenario: &Scenario) -> bool {
        self.scenarios.is_empty() || self.scenarios.iter().any(|s| s.id == scenario.id)
    }

    pub fn anchors_dir(&self) -> PathBuf {
        (self.anchors_dir.clone()).unwrap_or_else(|| testkit::repo_root().join("../shared/anchors"))
    }
}

fn duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    (duration >= Duration::from_millis(500)).then_some(duration).ok_or("at least 500ms".into())
}

fn parse_size(text: &str) -> Result<Size, String> {
    let (listings, users) =
        text.split_once(':').ok_or_else(|| format!("{text:?} is not LISTINGS:USERS"))?;
    let number = |s: &str| {
        let digits = s.trim().replace('_', "");
        digits.parse::<usize>().map_err(|e| format!("{s:?} in {text:?}: {e}"))
    };
    let size = Size { listings: number(listings)?, users: number(users)? };
    (size.users > 0).then_some(size).ok_or(format!("{text:?}: at least one user is needed"))
}

fn parse_scenario(id: &str) -> Result<&'static Scenario, String> {
    scenarios::by_id(id).ok_or_else(|| {
        let known: Vec<_> = scenarios::ALL.iter().map(|s| s.id).collect();
        format!("unknown scenario {id:?} (known: {})", known.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let size = |listings, users| Size { listings, users };
        assert_eq!(parse_size("10000:1000"), Ok(size(10_000, 1_000)));
        assert_eq!(parse_size("1_000_000:100_000"), Ok(size(1_000_000, 100_000)));
        for wrong in ["10000", "a:b", "10:0"] {
            assert!(parse_size(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn defaults_and_lists() -> Result<(), clap::Error> {
        let opts = Opts::try_parse_from(["bench"])?;
        assert_eq!((opts.name.as_str(), opts.current), ("run", false));
        assert_eq!(opts.systems(), System::ALL);
        let soak = Opts::try_parse_from(["bench", "--soak", "30m"])?;
        assert_eq!(soak.soak, Some(Duration::from_secs(1800)));
        assert_eq!(soak.systems()[1], System::FnHostLibsqlBalanced);
        assert_eq!(opts.settle, Duration::from_secs(5));
        let args = ["--scenarios", "user_by_id,floor_hello", "--host-arg=--max-instances=10"];
        let opts = Opts::try_parse_from(["bench"].into_iter().chain(args))?;
        assert_eq!(opts.host_args, ["--max-instances=10"]);
        let wanted: Vec<_> =
            scenarios::ALL.iter().filter(|s| opts.wants(s)).map(|s| s.id).collect();
        assert_eq!(wanted, ["user_by_id", "floor_hello"]);
        for wrong in [
            &["bench", "--scenarios", "bogus"][..],
            &["bench", "--systems", "fn-host,bogus"],
            &["bench", "--connections", "0"],
            &["bench", "--duration", "1ms"],
        ] {
            assert!(Opts::try_parse_from(wrong).is_err(), "{wrong:?}");
        }
        Ok(())
    }
}
