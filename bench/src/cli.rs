//! Command-line options.

use anyhow::{Result, bail};
use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

/// Benchmarks the app on fn-host beside the Tornado and native-axum references, in one run.
///
/// Needs `target/release/fn-host` and the components built:
/// `cargo build --release -p fn-host && cargo run --release -p fn-host -- build`
/// (and `cargo build --target wasm32-wasip2 --release -p fn-host-test-guest` for the floor).
#[derive(Parser, Debug)]
#[command(name = "bench", version)]
pub struct Opts {
    /// Where results.json, results.md and chart.png are written.
    #[arg(long, default_value = "bench/results")]
    pub out: PathBuf,
    /// How long each scenario is measured.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Unmeasured load before each scenario (0s for none).
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// Concurrent connections of the load generator.
    #[arg(long, default_value_t = 64)]
    pub connections: u32,
    /// Listings to seed (ignored when --sizes is given).
    #[arg(long, default_value_t = 10_000)]
    pub listings: usize,
    /// Users to seed (ignored when --sizes is given).
    #[arg(long, default_value_t = 1_000)]
    pub users: usize,
    /// Data sizes as LISTINGS:USERS, comma-separated, e.g. `10000:1000,1000000:100000`. The
    /// first gets every scenario on every system; the others re-measure the scale scenarios
    /// (`GET /listings?page_size=10` and `?user_id=`) on the host, for the latency ratio.
    #[arg(long, value_delimiter = ',', value_parser = parse_size)]
    pub sizes: Vec<Size>,
    /// References to run beside the host: `tornado`, `native`, or `none`.
    #[arg(long, value_delimiter = ',', default_value = "tornado,native")]
    pub anchors: Vec<String>,
    /// Folder holding the references (default: <repo>/../shared/anchors).
    #[arg(long)]
    pub anchors_dir: Option<PathBuf>,
    /// Also run the extra sizes of --sizes on the references.
    #[arg(long)]
    pub scale_anchors: bool,
    /// Also measure the host with `--max-instance-reuse-count 1` (a fresh instance per request).
    #[arg(long)]
    pub reuse_one: bool,
    /// Only these scenarios (ids: listings_page10, listings_by_user, user_by_id, public_page10,
    /// public_page50, public_create_listing, floor_hello).
    #[arg(long, value_delimiter = ',')]
    pub scenarios: Vec<String>,
    /// Seed of the data and of the random ids and bodies (same seed, same requests).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Seeding requests in flight at once.
    #[arg(long, default_value_t = 32)]
    pub seed_concurrency: usize,
    /// Timed host starts (with compiled components cached) for the start-up figure.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub startup_runs: u32,
    /// Extra arguments for `fn-host up`, e.g. `--host-arg=--max-instances=200`.
    #[arg(long = "host-arg", allow_hyphen_values = true)]
    pub host_args: Vec<String>,
    /// The repository (default: the one this binary was built from).
    #[arg(long)]
    pub repo: Option<PathBuf>,
    /// An oha binary to use (default: `oha` on PATH, else a pinned one in target/bench-tools).
    #[arg(long)]
    pub oha: Option<PathBuf>,
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

impl Opts {
    /// The sizes to run, the main one first.
    pub fn sizes(&self) -> Vec<Size> {
        if self.sizes.is_empty() {
            vec![Size {
                listings: self.listings,
                users: self.users,
            }]
        } else {
            self.sizes.clone()
        }
    }

    /// The references asked for (`none` means none).
    pub fn anchor_names(&self) -> Vec<String> {
        self.anchors
            .iter()
            .map(|a| a.trim().to_ascii_lowercase())
            .filter(|a| !a.is_empty() && a != "none")
            .collect()
    }

    pub fn validate(&self) -> Result<()> {
        if self.connections == 0 {
            bail!("--connections must be at least 1");
        }
        if self.duration < Duration::from_millis(500) {
            bail!("--duration must be at least 500ms");
        }
        if self.seed_concurrency == 0 {
            bail!("--seed-concurrency must be at least 1");
        }
        for id in &self.scenarios {
            if crate::scenarios::by_id(id).is_none() {
                let known: Vec<_> = crate::scenarios::ALL.iter().map(|s| s.id).collect();
                bail!("unknown scenario {id:?} (known: {})", known.join(", "));
            }
        }
        Ok(())
    }
}

fn parse_size(text: &str) -> Result<Size, String> {
    let (listings, users) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not LISTINGS:USERS"))?;
    let number = |s: &str| {
        s.trim()
            .replace('_', "")
            .parse::<usize>()
            .map_err(|e| format!("{s:?} in {text:?}: {e}"))
    };
    let size = Size {
        listings: number(listings)?,
        users: number(users)?,
    };
    if size.users == 0 {
        return Err(format!("{text:?}: at least one user is needed"));
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(
            parse_size("10000:1000"),
            Ok(Size {
                listings: 10_000,
                users: 1_000
            })
        );
        assert_eq!(
            parse_size("1_000_000:100_000").map(|s| s.listings),
            Ok(1_000_000)
        );
        assert!(parse_size("10000").is_err());
        assert!(parse_size("a:b").is_err());
        assert!(parse_size("10:0").is_err());
    }

    #[test]
    fn defaults_and_lists() -> Result<()> {
        let opts = Opts::try_parse_from(["bench"])?;
        assert_eq!(
            opts.sizes(),
            vec![Size {
                listings: 10_000,
                users: 1_000
            }]
        );
        assert_eq!(opts.anchor_names(), ["tornado", "native"]);
        opts.validate()?;
        let opts = Opts::try_parse_from([
            "bench",
            "--sizes",
            "10000:1000,1000000:100000",
            "--anchors",
            "none",
            "--duration",
            "3s",
            "--host-arg=--max-instances=10",
        ])?;
        assert_eq!(opts.sizes().len(), 2);
        assert!(opts.anchor_names().is_empty());
        assert_eq!(opts.duration, Duration::from_secs(3));
        assert_eq!(opts.host_args, ["--max-instances=10"]);
        assert!(
            Opts::try_parse_from(["bench", "--scenarios", "bogus"])?
                .validate()
                .is_err()
        );
        Ok(())
    }
}
