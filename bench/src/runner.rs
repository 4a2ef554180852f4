//! One benchmark run: every system in turn, each started fresh, seeded, loaded, stopped.

use crate::cli::{Opts, Size};
use crate::launch::{self, Anchor, App, Running, Startup};
use crate::load::{Load, Oha};
use crate::machine::Machine;
use crate::report::targets::Targets;
use crate::report::{
    self, BenchReport, ScenarioReport, SeedStats, Settings, SizeReport, StartupReport, SystemReport,
};
use crate::rss;
use crate::scenarios::{self, Scenario};
use crate::system::System;
use anyhow::{Context, Result, bail};
use api_model::UserId;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What the run needs from the repository.
struct Artifacts {
    repo: PathBuf,
    fn_host: PathBuf,
    app: App,
    /// The trivial component, when built.
    floor: Option<App>,
}

impl Artifacts {
    fn check(repo: &Path) -> Result<Artifacts> {
        let fn_host = repo.join("target/release/fn-host");
        let wasm = |name: &str| repo.join("target/wasm32-wasip2/release").join(name);
        let missing: Vec<String> = [
            fn_host.clone(),
            wasm("listings_fn.wasm"),
            wasm("users_fn.wasm"),
            wasm("public_api_fn.wasm"),
            repo.join("spin.toml"),
            repo.join("runtime.toml"),
        ]
        .iter()
        .filter(|path| !path.is_file())
        .map(|path| path.display().to_string())
        .collect();
        if !missing.is_empty() {
            bail!(
                "missing {}\nbuild them first (from {}):\n  \
                 cargo build --release -p fn-host && cargo run --release -p fn-host -- build",
                missing.join(", "),
                repo.display()
            );
        }
        let guest_app = repo.join("host/tests/app");
        let floor = (wasm("fn_host_test_guest.wasm").is_file()
            && guest_app.join("spin.toml").is_file())
        .then(|| App {
            manifest: guest_app.join("spin.toml"),
            runtime_config: guest_app.join("runtime.toml"),
            env: vec![("SPIN_VARIABLE_SECRET_TOKEN".into(), "bench".into())],
            ready_path: "/guest/hello",
        });
        Ok(Artifacts {
            repo: repo.to_path_buf(),
            app: App {
                manifest: repo.join("spin.toml"),
                runtime_config: repo.join("runtime.toml"),
                env: Vec::new(),
                ready_path: "/listings?page_size=1",
            },
            fn_host,
            floor,
        })
    }
}

/// A reference found on this machine.
enum Reference {
    /// The Spin CLI binary.
    Spin(PathBuf),
    Anchor(Anchor),
}

impl Reference {
    fn system(&self) -> System {
        match self {
            Reference::Spin(_) => System::Spin,
            Reference::Anchor(anchor) => anchor.system,
        }
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
    let targets = match &opts.targets {
        Some(path) => Some(Targets::read(path)?),
        None => Some(repo.join("bench/targets.toml"))
            .filter(|path| path.is_file())
            .map(|path| Targets::read(&path))
            .transpose()?,
    };
    let work_root = opts
        .work_dir
        .clone()
        .unwrap_or_else(|| repo.join("target/bench-work"));
    let oha = Oha::locate(opts.oha.as_deref(), &repo.join("target/bench-tools"))?;
    let run_dir = work_root.join(format!("run-{}-{}", unix_now(), std::process::id()));
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("cannot create {}", run_dir.display()))?;
    launch::install_interrupt_handler()?;

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
    let result = bench.run_all(machine, targets.as_ref());
    if !opts.keep_work
        && let Err(error) = std::fs::remove_dir_all(&run_dir)
    {
        eprintln!("warning: cannot remove {}: {error}", run_dir.display());
    }
    result
}

impl Bench<'_> {
    fn run_all(&mut self, machine: Machine, targets: Option<&Targets>) -> Result<BenchReport> {
        let sizes = &self.opts.sizes;
        let references = self.references();
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
            let mut report = SizeReport::new(*size);
            let tag = format!("size{index}");
            match self.fn_host_systems(*size, main, &tag) {
                Ok((systems, measured_startup)) => {
                    report.systems.extend(systems);
                    if main {
                        startup = measured_startup;
                    }
                }
                Err(error) => self.problem(format!("fn-host at {tag}: {error:#}")),
            }
            if main || self.opts.scale_references {
                for reference in &references {
                    match self.reference(reference, *size, main, &tag) {
                        Ok(system) => report.systems.push(system),
                        Err(error) => {
                            self.problem(format!("{}: {error:#}", reference.system().label()))
                        }
                    }
                }
            }
            report.finish();
            size_reports.push(report);
        }
        let targets = match (targets, size_reports.first()) {
            (Some(targets), Some(main)) => targets.check(main),
            _ => Vec::new(),
        };
        Ok(BenchReport {
            generated_unix: unix_now(),
            machine,
            settings: Settings {
                duration_secs: self.opts.duration.as_secs_f64(),
                warmup_secs: self.opts.warmup.as_secs_f64(),
                connections: self.opts.connections,
                seed: self.opts.seed,
                sizes: sizes.clone(),
                references: references.iter().map(Reference::system).collect(),
                seed_concurrency: self.opts.seed_concurrency,
                reuse_one: self.opts.reuse_one,
                host_args: self.opts.host_args.clone(),
                oha: self.oha.version.clone(),
                spin: references.iter().find_map(|reference| match reference {
                    Reference::Spin(binary) => launch::version(binary).ok(),
                    Reference::Anchor(_) => None,
                }),
                commit: git_commit(&self.artifacts.repo),
            },
            startup,
            scale: report::scale_rows(&size_reports),
            sizes: size_reports,
            targets,
            problems: std::mem::take(&mut self.problems),
            notes: std::mem::take(&mut self.notes),
        })
    }

    /// The references asked for that are on this machine; a note for each that is not.
    fn references(&mut self) -> Vec<Reference> {
        let anchors_dir = match &self.opts.anchors_dir {
            Some(dir) => dir.clone(),
            None => self.artifacts.repo.join("../shared/anchors"),
        };
        let mut found = Vec::new();
        for &system in &self.opts.references.0 {
            if system == System::Spin {
                match self
                    .opts
                    .spin
                    .clone()
                    .or_else(|| launch::find_on_path("spin"))
                {
                    Some(binary) if binary.is_file() => found.push(Reference::Spin(binary)),
                    Some(binary) => {
                        self.note(format!("Spin: {} is not a file; skipped", binary.display()))
                    }
                    None => self
                        .note("Spin: not found (set SPIN or put `spin` on PATH); skipped".into()),
                }
            } else if let Some(anchor) = Anchor::of(system, &anchors_dir) {
                if anchor.is_present() {
                    found.push(Reference::Anchor(anchor));
                } else {
                    self.note(format!(
                        "{} not found at {}; skipped",
                        system.label(),
                        anchor.dir.display()
                    ));
                }
            }
        }
        found
    }

    /// The scenarios to run: the API's or the floor's, all of them at the main size, the
    /// scale ones at other sizes; only those asked for.
    fn scenarios(&self, main: bool, floor: bool) -> Vec<&'static Scenario> {
        scenarios::ALL
            .iter()
            .filter(|s| s.is_api() != floor && (main || s.scale) && self.opts.wants(s))
            .collect()
    }

    /// fn-host: start-up timing (main size), the app, optionally reuse 1, and the floor.
    fn fn_host_systems(
        &mut self,
        size: Size,
        main: bool,
        tag: &str,
    ) -> Result<(Vec<SystemReport>, Option<StartupReport>)> {
        let state_dir = self.run_dir.join(format!("{tag}-fn-host"));
        let app = self.artifacts.app.clone();
        let (mut running, startup) = if main {
            let (running, startup) = self.timed_fn_host_start(&state_dir)?;
            (running, Some(startup))
        } else {
            (
                self.start_fn_host("fn-host", &app, &state_dir, false)?.0,
                None,
            )
        };
        let api = self.scenarios(main, false);
        let (host, user_ids) =
            self.seed_and_measure(System::FnHost, &mut running, size, &api, tag)?;
        let mut systems = vec![host];

        if main && self.opts.reuse_one {
            let reuse = self
                .start_fn_host("fn-host (reuse 1)", &app, &state_dir, true)
                .and_then(|(mut running, _)| {
                    let mut reuse = SystemReport::new(System::FnHostReuse1);
                    reuse.rss_idle_kib = Some(rss::current_kib(&running.pids));
                    reuse.rss_high_water_kib = Some(self.measure_and_stop(
                        &mut running,
                        &api,
                        &user_ids,
                        &mut reuse,
                        tag,
                    )?);
                    Ok(reuse)
                });
            match reuse {
                Ok(reuse) => systems.push(reuse),
                Err(error) => self.problem(format!("fn-host reuse 1: {error:#}")),
            }
        }

        let floor_scenarios = self.scenarios(main, true);
        if let (Some(floor), false) = (self.artifacts.floor.clone(), floor_scenarios.is_empty()) {
            for system in &mut systems {
                let reuse_one = system.system == System::FnHostReuse1;
                let name = format!("{} floor", system.system.label());
                let dir = self
                    .run_dir
                    .join(format!("{tag}-floor-{}", system.system.id()));
                let measured = self.start_fn_host(&name, &floor, &dir, reuse_one).and_then(
                    |(mut running, _)| {
                        self.measure_and_stop(&mut running, &floor_scenarios, &[], system, tag)
                    },
                );
                if let Err(error) = measured {
                    self.problem(format!("{name}: {error:#}"));
                }
            }
        }
        Ok((systems, startup))
    }

    /// Starts fn-host once to fill the compiled-component cache, then times fresh starts;
    /// the last start stays up for the benchmark.
    fn timed_fn_host_start(&mut self, state_dir: &Path) -> Result<(Running, StartupReport)> {
        let app = self.artifacts.app.clone();
        eprintln!("fn-host: first start (compiles the components into the cache)");
        let warm_up_dir = self.run_dir.join("fn-host-warm-up");
        let (mut warm, cold) =
            self.start_fn_host("fn-host (warm-up)", &app, &warm_up_dir, false)?;
        warm.stop()?;
        let runs = self.opts.startup_runs as usize;
        let mut startups: Vec<Startup> = Vec::new();
        let mut last = None;
        for run in 1..=runs {
            let dir = if run == runs {
                state_dir.to_path_buf()
            } else {
                self.run_dir.join(format!("fn-host-start{run}"))
            };
            let (mut running, startup) = self.start_fn_host("fn-host", &app, &dir, false)?;
            startups.push(startup);
            if run == runs {
                last = Some(running);
            } else {
                running.stop()?;
            }
        }
        let running = last.context("no fn-host start")?;
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

    fn start_fn_host(
        &self,
        name: &str,
        app: &App,
        state_dir: &Path,
        reuse_one: bool,
    ) -> Result<(Running, Startup)> {
        let command = app.fn_host(
            &self.artifacts.fn_host,
            state_dir,
            &self.cache_dir,
            reuse_one,
            &self.opts.host_args,
        );
        launch::start_host(name, command, app.ready_path, &self.log_of(state_dir))
    }

    /// The log file of a system whose state lives in `dir`.
    fn log_of(&self, dir: &Path) -> PathBuf {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("system");
        self.run_dir.join(format!("{name}.log"))
    }

    /// A reference: start (empty databases), seed through its public port, measure, stop.
    fn reference(
        &mut self,
        reference: &Reference,
        size: Size,
        main: bool,
        tag: &str,
    ) -> Result<SystemReport> {
        let system = reference.system();
        eprintln!(
            "{}: starting (a reference may build itself on first use)",
            system.label()
        );
        let dir = self.run_dir.join(format!("{tag}-{}", system.id()));
        let log = self.log_of(&dir);
        let mut running = match reference {
            Reference::Spin(binary) => {
                let app = &self.artifacts.app;
                launch::start_host(system.label(), app.spin(binary, &dir), app.ready_path, &log)?.0
            }
            Reference::Anchor(anchor) => anchor.start(dir, &log)?,
        };
        let scenarios = self.scenarios(main, false);
        let (report, _) = self.seed_and_measure(system, &mut running, size, &scenarios, tag)?;
        Ok(report)
    }

    /// Seeds a started system through its public API, measures it and stops it; also returns
    /// the ids of the users the seeding created.
    fn seed_and_measure(
        &mut self,
        system: System,
        running: &mut Running,
        size: Size,
        scenarios: &[&'static Scenario],
        tag: &str,
    ) -> Result<(SystemReport, Vec<UserId>)> {
        let mut report = SystemReport::new(system);
        let user_ids = self.seed(running, size, &mut report)?;
        report.rss_high_water_kib =
            Some(self.measure_and_stop(running, scenarios, &user_ids, &mut report, tag)?);
        Ok((report, user_ids))
    }

    /// Seeds through the system's public API; returns the users' ids.
    fn seed(
        &mut self,
        running: &Running,
        size: Size,
        report: &mut SystemReport,
    ) -> Result<Vec<UserId>> {
        eprintln!(
            "{}: seeding {} users and {} listings",
            running.name, size.users, size.listings
        );
        let url = format!("http://127.0.0.1:{}", running.ports.public);
        let config = seed::Config {
            seed: self.opts.seed,
            concurrency: self.opts.seed_concurrency as usize,
            ..seed::Config::new(url, size.users, size.listings)
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
        report.seeding = Some(SeedStats {
            users: seeded.users_created,
            listings: seeded.listings_created,
            failures: seeded.failures(),
            secs: seeded.elapsed.as_secs_f64(),
            requests_per_sec: seeded.requests_per_sec(),
        });
        report.rss_idle_kib = Some(rss::current_kib(&running.pids));
        Ok(user_ids)
    }

    /// Runs each scenario against a running system (warm-up, then the measured load with RSS
    /// sampled throughout) into `report`, then stops it; returns its RSS high-water mark
    /// (KiB). A scenario that fails to run is reported and skipped.
    fn measure_and_stop(
        &mut self,
        running: &mut Running,
        scenarios: &[&'static Scenario],
        user_ids: &[UserId],
        report: &mut SystemReport,
        tag: &str,
    ) -> Result<u64> {
        let scratch = self
            .run_dir
            .join(format!("{tag}-{}-load", report.system.id()));
        std::fs::create_dir_all(&scratch)
            .with_context(|| format!("cannot create {}", scratch.display()))?;
        for &scenario in scenarios {
            let requests = match scenario.requests(&running.ports, user_ids, self.opts.seed) {
                Ok(requests) => requests,
                Err(error) => {
                    self.problem(format!("{} {}: {error}", running.name, scenario.id));
                    continue;
                }
            };
            let load = |duration| Load {
                name: scenario.id,
                requests: &requests,
                duration,
                connections: self.opts.connections,
            };
            if !self.opts.warmup.is_zero()
                && let Err(error) = self.oha.run(&load(self.opts.warmup), &scratch)
            {
                eprintln!("warning: warm-up of {}: {error:#}", scenario.id);
            }
            let sampler = rss::Sampler::start(running.pids.clone());
            let outcome = self.oha.run(&load(self.opts.duration), &scratch);
            let rss_peak_kib = sampler.finish();
            let result = match outcome {
                Ok(result) => result,
                Err(error) => {
                    self.problem(format!("{} {}: {error:#}", running.name, scenario.id));
                    continue;
                }
            };
            eprintln!(
                "  {:<20} {:<42} {:>9.0} req/s  p50 {:>8.2} ms  p99 {:>8.2} ms  errors {}",
                running.name,
                scenario.title,
                result.ok_per_sec,
                result.p50_ms.unwrap_or(f64::NAN),
                result.p99_ms.unwrap_or(f64::NAN),
                result.errors()
            );
            if result.errors() > 0 {
                self.problem(format!(
                    "{} {}: {} errors ({:?} {:?})",
                    running.name,
                    scenario.id,
                    result.errors(),
                    result.status_codes,
                    result.error_kinds
                ));
            }
            report
                .scenarios
                .push(ScenarioReport::new(scenario, result, rss_peak_kib));
        }
        let high_water_kib = rss::high_water_kib(&running.pids);
        running.stop()?;
        Ok(high_water_kib)
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
