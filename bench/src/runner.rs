//! One benchmark run: every system in turn, each started fresh, seeded, loaded, stopped.

use crate::cli::{Opts, Size};
use crate::load::{Load, Oha};
use crate::machine::Machine;
use crate::report::{
    self, BenchReport, HOST, HOST_REUSE1, ScenarioReport, SeedStats, Settings, SizeReport,
    StartupReport, SystemReport,
};
use crate::rss;
use crate::scenarios::{self, Scenario};
use crate::systems::{self, Anchor, HostApp, HostLaunch, Running, Startup};
use anyhow::{Context, Result, bail};
use api_model::UserId;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What the run needs from the repository.
struct Artifacts {
    repo: PathBuf,
    host: PathBuf,
    app: HostApp,
    floor: Option<HostApp>,
}

impl Artifacts {
    fn check(repo: &Path) -> Result<Artifacts> {
        let host = repo.join("target/release/fn-host");
        let wasm = |name: &str| repo.join("target/wasm32-wasip2/release").join(name);
        let mut missing: Vec<PathBuf> = [
            host.clone(),
            wasm("listings_fn.wasm"),
            wasm("users_fn.wasm"),
            wasm("public_api_fn.wasm"),
        ]
        .into_iter()
        .filter(|path| !path.is_file())
        .collect();
        for file in ["spin.toml", "runtime.toml"] {
            if !repo.join(file).is_file() {
                missing.push(repo.join(file));
            }
        }
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
            bail!(
                "missing {}\nbuild them first (from {}):\n  \
                 cargo build --release -p fn-host && cargo run --release -p fn-host -- build",
                list.join(", "),
                repo.display()
            );
        }
        let guest_app = repo.join("host/tests/app");
        let floor = (wasm("fn_host_test_guest.wasm").is_file()
            && guest_app.join("spin.toml").is_file())
        .then(|| HostApp {
            manifest: guest_app.join("spin.toml"),
            runtime_config: guest_app.join("runtime.toml"),
            env: vec![("SPIN_VARIABLE_SECRET_TOKEN".into(), "bench".into())],
            ready_path: "/guest/hello",
        });
        Ok(Artifacts {
            repo: repo.to_path_buf(),
            app: HostApp {
                manifest: repo.join("spin.toml"),
                runtime_config: repo.join("runtime.toml"),
                env: Vec::new(),
                ready_path: "/listings?page_size=1",
            },
            host,
            floor,
        })
    }
}

struct Bench<'a> {
    opts: &'a Opts,
    artifacts: Artifacts,
    oha: Oha,
    run_dir: PathBuf,
    cache_dir: PathBuf,
    runtime: tokio::runtime::Runtime,
    problems: Vec<String>,
    notes: Vec<String>,
}

/// Runs everything the options ask for; the report holds whatever could be measured.
pub fn run(opts: &Opts) -> Result<BenchReport> {
    opts.validate()?;
    let repo = match &opts.repo {
        Some(repo) => repo.clone(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
    };
    let repo = repo
        .canonicalize()
        .with_context(|| format!("no repository at {}", repo.display()))?;
    let artifacts = Artifacts::check(&repo)?;
    let work_root = opts
        .work_dir
        .clone()
        .unwrap_or_else(|| repo.join("target/bench-work"));
    let oha = Oha::locate(opts.oha.as_deref(), &repo.join("target/bench-tools"))?;
    let run_dir = work_root.join(format!("run-{}-{}", unix_now(), std::process::id()));
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("cannot create {}", run_dir.display()))?;
    systems::install_interrupt_handler()?;

    let machine = Machine::read();
    eprintln!("machine: {}", machine.describe());
    eprintln!("load:    {} ({})", oha.version, oha.binary.display());
    eprintln!("scratch: {}", run_dir.display());

    let mut bench = Bench {
        opts,
        oha,
        // Per run, so that the first start really compiles (the "cold" figure).
        cache_dir: run_dir.join("fn-host-cache"),
        run_dir: run_dir.clone(),
        runtime: tokio::runtime::Runtime::new().context("cannot start the async runtime")?,
        problems: Vec::new(),
        notes: Vec::new(),
        artifacts,
    };
    if bench.artifacts.floor.is_none() {
        bench.notes.push(
            "no trivial component: build it with `cargo build --target wasm32-wasip2 --release \
             -p fn-host-test-guest`"
                .into(),
        );
    }
    let result = bench.run_all(machine);
    if !opts.keep_work
        && let Err(error) = std::fs::remove_dir_all(&run_dir)
    {
        eprintln!("warning: cannot remove {}: {error}", run_dir.display());
    }
    result
}

impl Bench<'_> {
    fn run_all(&mut self, machine: Machine) -> Result<BenchReport> {
        let sizes = self.opts.sizes();
        let anchors = self.anchors()?;
        let mut size_reports = Vec::new();
        let mut startup = None;
        for (index, size) in sizes.iter().enumerate() {
            let main = index == 0;
            eprintln!(
                "\n== {} listings over {} users{} ==",
                size.listings,
                size.users,
                if main { "" } else { " (scale run)" }
            );
            let mut report = SizeReport {
                listings: size.listings,
                users: size.users,
                systems: Vec::new(),
            };
            let tag = format!("size{index}");
            match self.host_systems(*size, main, &tag) {
                Ok((systems, measured_startup)) => {
                    report.systems.extend(systems);
                    if main {
                        startup = measured_startup;
                    }
                }
                Err(error) => self.problem(format!("fn-host at {tag}: {error:#}")),
            }
            if main || self.opts.scale_anchors {
                for anchor in &anchors {
                    match self.anchor_system(anchor, *size, main, &tag) {
                        Ok(system) => report.systems.push(system),
                        Err(error) => self.problem(format!("{}: {error:#}", anchor.name)),
                    }
                }
            }
            report.finish();
            size_reports.push(report);
        }
        let scale = report::scale_rows(&size_reports);
        let targets = report::targets::check(size_reports.first(), &scale, startup.as_ref());
        Ok(BenchReport {
            generated_unix: unix_now(),
            machine,
            settings: Settings {
                duration_secs: self.opts.duration.as_secs_f64(),
                warmup_secs: self.opts.warmup.as_secs_f64(),
                connections: self.opts.connections,
                seed: self.opts.seed,
                sizes,
                anchors: anchors.iter().map(|a| a.name.clone()).collect(),
                seed_concurrency: self.opts.seed_concurrency,
                reuse_one: self.opts.reuse_one,
                host_args: self.opts.host_args.clone(),
                oha: self.oha.version.clone(),
                commit: git_commit(&self.artifacts.repo),
            },
            startup,
            sizes: size_reports,
            scale,
            targets,
            problems: std::mem::take(&mut self.problems),
            notes: std::mem::take(&mut self.notes),
        })
    }

    /// The references asked for that are present.
    fn anchors(&mut self) -> Result<Vec<Anchor>> {
        let dir = match &self.opts.anchors_dir {
            Some(dir) => dir.clone(),
            None => self.artifacts.repo.join("../shared/anchors"),
        };
        let mut found = Vec::new();
        for name in self.opts.anchor_names() {
            let anchor = Anchor::known(&name, &dir, &self.run_dir)?;
            if anchor.is_present() {
                found.push(anchor);
            } else {
                self.note(format!(
                    "reference {name} not found at {}: skipped",
                    anchor.dir.display()
                ));
            }
        }
        Ok(found)
    }

    /// The scenarios to run on a system: all selected ones at the main size, the scale ones
    /// at other sizes.
    fn scenarios(&self, main: bool, floor: bool) -> Vec<&'static Scenario> {
        scenarios::ALL
            .iter()
            .filter(|s| (s.service == scenarios::Service::Floor) == floor)
            .filter(|s| main || s.scale)
            .filter(|s| {
                self.opts.scenarios.is_empty() || self.opts.scenarios.iter().any(|id| id == s.id)
            })
            .collect()
    }

    /// fn-host: start-up timing (main size), the app, optionally reuse 1, and the floor.
    fn host_systems(
        &mut self,
        size: Size,
        main: bool,
        tag: &str,
    ) -> Result<(Vec<SystemReport>, Option<StartupReport>)> {
        let state_dir = self.run_dir.join(format!("{tag}-host"));
        let (mut running, startup) = if main {
            let (running, startup) = self.timed_host_start(&state_dir)?;
            (running, Some(startup))
        } else {
            let (running, _) =
                self.start_host(HOST, &self.artifacts.app.clone(), &state_dir, false)?;
            (running, None)
        };
        let mut host = SystemReport::new(HOST);
        let user_ids = self.seed_into(&running, size, &mut host)?;
        let api = self.scenarios(main, false);
        self.measure(&running, &api, &user_ids, &mut host, tag)?;
        host.rss_high_water_kib = Some(rss::high_water_kib(&running.pids));
        running.stop()?;
        let mut systems = vec![host];

        if main && self.opts.reuse_one {
            match self.reuse_one_system(&state_dir, &api, &user_ids, tag) {
                Ok(reuse) => systems.push(reuse),
                Err(error) => self.problem(format!("fn-host reuse 1: {error:#}")),
            }
        }

        let floor_scenarios = self.scenarios(main, true);
        if let (Some(floor), false) = (self.artifacts.floor.clone(), floor_scenarios.is_empty()) {
            for system in &mut systems {
                if let Err(error) = self.floor(&floor, &floor_scenarios, system, tag) {
                    self.problem(format!("{} floor: {error:#}", system.system));
                }
            }
        }
        Ok((systems, startup))
    }

    /// The app again on the same data, with a fresh instance for every request.
    fn reuse_one_system(
        &mut self,
        state_dir: &Path,
        api: &[&'static Scenario],
        user_ids: &[UserId],
        tag: &str,
    ) -> Result<SystemReport> {
        let mut reuse = SystemReport::new(HOST_REUSE1);
        let app = self.artifacts.app.clone();
        let (mut running, _) = self.start_host(HOST_REUSE1, &app, state_dir, true)?;
        reuse.rss_idle_kib = Some(rss::current_kib(&running.pids));
        self.measure(&running, api, user_ids, &mut reuse, tag)?;
        reuse.rss_high_water_kib = Some(rss::high_water_kib(&running.pids));
        running.stop()?;
        Ok(reuse)
    }

    /// The trivial component on its own host process, configured as `system` was.
    fn floor(
        &mut self,
        floor: &HostApp,
        scenarios: &[&'static Scenario],
        system: &mut SystemReport,
        tag: &str,
    ) -> Result<()> {
        let reuse_one = system.system == HOST_REUSE1;
        let dir = self.run_dir.join(format!("{tag}-floor-{}", system.system));
        let name = format!("{} floor", system.system);
        let (mut running, _) = self.start_host(&name, floor, &dir, reuse_one)?;
        self.measure(&running, scenarios, &[], system, tag)?;
        running.stop()
    }

    /// Starts the host once to fill the compiled-component cache, then times fresh starts;
    /// the last start stays up for the benchmark.
    fn timed_host_start(&mut self, state_dir: &Path) -> Result<(Running, StartupReport)> {
        let app = self.artifacts.app.clone();
        eprintln!("fn-host: first start (compiles the components into the cache)");
        let (mut warm, cold) = self.start_host(
            "fn-host (warm-up)",
            &app,
            &self.run_dir.join("host-warmup"),
            false,
        )?;
        warm.stop()?;
        let runs = self.opts.startup_runs as usize;
        let mut startups: Vec<Startup> = Vec::new();
        let mut last = None;
        for run in 0..runs {
            let dir = if run + 1 == runs {
                state_dir.to_path_buf()
            } else {
                self.run_dir.join(format!("host-start{run}"))
            };
            let (mut running, startup) = self.start_host(HOST, &app, &dir, false)?;
            startups.push(startup);
            if run + 1 == runs {
                last = Some(running);
            } else {
                running.stop()?;
            }
        }
        let running = last.context("no host start")?;
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let health: Vec<f64> = startups.iter().map(|s| ms(s.health)).collect();
        let first: Vec<f64> = startups.iter().map(|s| ms(s.first_response)).collect();
        let report = StartupReport {
            cold_first_response_ms: ms(cold.first_response),
            median_health_ms: median(&health),
            median_first_response_ms: median(&first),
            health_ms: health,
            first_response_ms: first,
        };
        eprintln!(
            "fn-host: start → first response {:.0} ms median (cached), {:.0} ms cold",
            report.median_first_response_ms, report.cold_first_response_ms
        );
        Ok((running, report))
    }

    fn start_host(
        &self,
        name: &str,
        app: &HostApp,
        state_dir: &Path,
        reuse_one: bool,
    ) -> Result<(Running, Startup)> {
        let log = self.run_dir.join(format!(
            "{}.log",
            state_dir
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("host")
        ));
        systems::start_host(
            name,
            &HostLaunch {
                binary: &self.artifacts.host,
                app,
                state_dir,
                cache_dir: &self.cache_dir,
                reuse_one,
                extra_args: &self.opts.host_args,
                log,
            },
        )
    }

    /// A reference: start (empty databases), seed through its public port, measure, stop.
    fn anchor_system(
        &mut self,
        anchor: &Anchor,
        size: Size,
        main: bool,
        tag: &str,
    ) -> Result<SystemReport> {
        eprintln!(
            "{}: starting (builds or installs itself on first use)",
            anchor.name
        );
        let anchor = Anchor {
            data_dir: self.run_dir.join(format!("{tag}-{}-data", anchor.name)),
            ..anchor.clone()
        };
        let log = self
            .run_dir
            .join(format!("{tag}-{}-start.log", anchor.name));
        let mut running = anchor.start(&log)?;
        let mut system = SystemReport::new(&anchor.name);
        let user_ids = self.seed_into(&running, size, &mut system)?;
        let scenarios = self.scenarios(main, false);
        self.measure(&running, &scenarios, &user_ids, &mut system, tag)?;
        system.rss_high_water_kib = Some(rss::high_water_kib(&running.pids));
        running.stop()?;
        Ok(system)
    }

    /// Seeds through the system's public API; returns the users' ids.
    fn seed_into(
        &mut self,
        running: &Running,
        size: Size,
        system: &mut SystemReport,
    ) -> Result<Vec<UserId>> {
        eprintln!(
            "{}: seeding {} users and {} listings",
            running.name, size.users, size.listings
        );
        let config = seed::Config {
            url: format!("http://127.0.0.1:{}", running.ports.public),
            users: size.users,
            listings: size.listings,
            seed: self.opts.seed,
            concurrency: self.opts.seed_concurrency,
            progress: true,
            request_timeout: Duration::from_secs(30),
        };
        let seeded = self
            .runtime
            .block_on(seed::run(&config))
            .with_context(|| format!("seeding {}", running.name))?;
        eprintln!("{}", seeded.summary());
        if seeded.failures() > 0 {
            self.problem(format!(
                "{}: {} seeding requests failed (first: {})",
                running.name,
                seeded.failures(),
                seeded.errors.first().map(String::as_str).unwrap_or("?")
            ));
        }
        let user_ids = seeded.created_user_ids();
        if user_ids.is_empty() {
            bail!("no user could be created");
        }
        system.seeding = Some(SeedStats {
            users: seeded.users_created,
            listings: seeded.listings_created,
            failures: seeded.failures(),
            secs: seeded.elapsed.as_secs_f64(),
            requests_per_sec: seeded.requests_per_sec(),
        });
        system.rss_idle_kib = Some(rss::current_kib(&running.pids));
        Ok(user_ids)
    }

    /// Runs each scenario against a running system: warm-up, then the measured load with RSS
    /// sampled throughout. A scenario that fails to run is reported and skipped.
    fn measure(
        &mut self,
        running: &Running,
        scenarios: &[&Scenario],
        user_ids: &[UserId],
        system: &mut SystemReport,
        tag: &str,
    ) -> Result<()> {
        let scratch = self.run_dir.join(format!("{tag}-{}-load", system.system));
        std::fs::create_dir_all(&scratch)
            .with_context(|| format!("cannot create {}", scratch.display()))?;
        for scenario in scenarios {
            let requests = match scenario.requests(&running.ports, user_ids, self.opts.seed) {
                Ok(requests) => requests,
                Err(error) => {
                    self.problem(format!("{} {}: {error}", system.system, scenario.id));
                    continue;
                }
            };
            if !self.opts.warmup.is_zero() {
                let warmup = Load {
                    name: scenario.id,
                    requests: &requests,
                    duration: self.opts.warmup,
                    connections: self.opts.connections,
                };
                if let Err(error) = self.oha.run(&warmup, &scratch) {
                    eprintln!("warning: warm-up of {}: {error:#}", scenario.id);
                }
            }
            let load = Load {
                name: scenario.id,
                requests: &requests,
                duration: self.opts.duration,
                connections: self.opts.connections,
            };
            let sampler = rss::Sampler::start(running.pids.clone());
            let outcome = self.oha.run(&load, &scratch);
            let rss_peak_kib = sampler.finish();
            match outcome {
                Ok(result) => {
                    eprintln!(
                        "  {:<20} {:<42} {:>9.0} req/s  p50 {:>8.2} ms  p99 {:>8.2} ms  errors {}",
                        report::label(&system.system),
                        scenario.title,
                        result.ok_per_sec,
                        result.p50_ms.unwrap_or(f64::NAN),
                        result.p99_ms.unwrap_or(f64::NAN),
                        result.errors()
                    );
                    if result.errors() > 0 {
                        self.problem(format!(
                            "{} {}: {} errors ({:?} {:?})",
                            system.system,
                            scenario.id,
                            result.errors(),
                            result.status_codes,
                            result.error_kinds
                        ));
                    }
                    system.scenarios.push(ScenarioReport {
                        id: scenario.id.to_string(),
                        title: scenario.title.to_string(),
                        load: result,
                        rss_peak_kib,
                        vs_tornado: None,
                        of_native: None,
                        of_floor: None,
                    });
                }
                Err(error) => self.problem(format!("{} {}: {error:#}", system.system, scenario.id)),
            }
        }
        Ok(())
    }

    fn problem(&mut self, text: String) {
        eprintln!("problem: {text}");
        self.problems.push(text);
    }

    fn note(&mut self, text: String) {
        eprintln!("note: {text}");
        self.notes.push(text);
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn git_commit(repo: &Path) -> Option<String> {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "--short", "HEAD"])?;
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|status| !status.is_empty());
    Some(if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn missing_artifacts_say_how_to_build() {
        let dir = std::env::temp_dir().join(format!("bench-empty-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let error = Artifacts::check(&dir)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("cargo build --release -p fn-host"),
            "{error}"
        );
        assert!(error.contains("fn-host -- build"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
