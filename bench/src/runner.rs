//! One benchmark run: every chosen system in turn, each started fresh, seeded, loaded,
//! stopped.

use crate::cli::{Opts, Size};
use crate::launch::{self, App, FnHost, Running, Startup};
use crate::load::{Load, Oha};
use crate::machine::Machine;
use crate::report::targets::Targets;
use crate::report::{
    self, BenchReport, Memory, ScenarioReport, SeedStats, Settings, SizeReport, StartupReport,
    SystemReport,
};
use crate::rss;
use crate::scenarios::{self, Scenario};
use crate::setup::{self, Places, Setup};
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
    /// What a run needs, from `repo`; `fn_host` instead of the release build when given.
    fn check(repo: &Path, fn_host: Option<&Path>) -> Result<Artifacts> {
        let fn_host =
            fn_host.map_or_else(|| repo.join("target/release/fn-host"), Path::to_path_buf);
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
                 cargo build --release -p host && cargo run --release -p host -- build",
                missing.join(", "),
                repo.display()
            );
        }
        let guest_app = repo.join("host/tests/app");
        let floor =
            (wasm("guest.wasm").is_file() && guest_app.join("spin.toml").is_file()).then(|| App {
                manifest: guest_app.join("spin.toml"),
                runtime_config: guest_app.join("runtime.toml"),
                env: vec![("SPIN_VARIABLE_SECRET_TOKEN".into(), "bench".into())],
                ready_path: "/guest/hello",
            });
        Ok(Artifacts {
            repo: repo.to_path_buf(),
            app: App {
                // The scenarios of the services' own endpoints need them routed.
                manifest: testkit::with_routes(&repo.join("spin.toml"), &testkit::SERVICE_ROUTES),
                runtime_config: repo.join("runtime.toml"),
                env: Vec::new(),
                ready_path: "/listings?page_size=1",
            },
            fn_host,
            floor,
        })
    }
}

struct Bench<'a> {
    opts: &'a Opts,
    artifacts: Artifacts,
    oha: Oha,
    run_dir: PathBuf,
    runtime: tokio::runtime::Runtime,
    startup: Option<StartupReport>,
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
    let artifacts = Artifacts::check(&repo, opts.fn_host.as_deref())?;
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

    let anchors_dir = match &opts.anchors_dir {
        Some(dir) => dir.clone(),
        None => repo.join("../shared/anchors"),
    };
    let (setups, notes) = setup::find(
        opts,
        &Places {
            repo: &repo,
            fn_host: &artifacts.fn_host,
            anchors_dir: &anchors_dir,
            // Per run, so that the first start really compiles (the "cold" figure).
            run_dir: &run_dir,
        },
    );
    let mut bench = Bench {
        opts,
        oha,
        run_dir: run_dir.clone(),
        runtime: tokio::runtime::Runtime::new().context("cannot start the async runtime")?,
        startup: None,
        problems: Vec::new(),
        notes: Vec::new(),
        artifacts,
    };
    for note in notes {
        bench.note(note);
    }
    if bench.artifacts.floor.is_none() {
        bench.notes.push(
            "no trivial component: build it with `cargo build --target wasm32-wasip2 --release \
             -p guest`"
                .into(),
        );
    }
    let result = bench.run_all(machine, targets.as_ref(), &setups);
    if !opts.keep_work
        && let Err(error) = std::fs::remove_dir_all(&run_dir)
    {
        eprintln!("warning: cannot remove {}: {error}", run_dir.display());
    }
    result
}

impl Bench<'_> {
    fn run_all(
        &mut self,
        machine: Machine,
        targets: Option<&Targets>,
        setups: &[Setup],
    ) -> Result<BenchReport> {
        let sizes = &self.opts.sizes;
        let mut size_reports = Vec::new();
        for (index, size) in sizes.iter().enumerate() {
            let main = index == 0;
            eprintln!(
                "\n== {} listings over {} users{} ==",
                size.listings,
                size.users,
                if main { "" } else { " (scale run)" }
            );
            let mut report = SizeReport::new(*size);
            for setup in setups {
                let system = setup.system;
                let scaled = system == System::FnHost
                    || (self.opts.scale_references && system.is_reference());
                if !main && !scaled {
                    continue;
                }
                let tag = format!("size{index}-{}", system.id());
                match self.measure(setup, *size, main, &tag) {
                    Ok(system) => report.systems.push(system),
                    Err(error) => self.problem(format!("{}: {error:#}", setup.label)),
                }
            }
            report.finish();
            size_reports.push(report);
        }
        let targets = match (targets, size_reports.first()) {
            (Some(targets), Some(main)) => targets.check(main),
            _ => Vec::new(),
        };
        let programs = setups
            .iter()
            .flat_map(Setup::programs)
            .filter_map(|(name, binary)| Some((name, launch::version(binary).ok()?)))
            .collect();
        let ran_baseline = setups.iter().any(|s| s.system == System::Baseline);
        Ok(BenchReport {
            generated_unix: unix_now(),
            machine,
            settings: Settings {
                duration_secs: self.opts.duration.as_secs_f64(),
                warmup_secs: self.opts.warmup.as_secs_f64(),
                settle_secs: self.opts.settle.as_secs_f64(),
                connections: self.opts.connections,
                seed: self.opts.seed,
                sizes: sizes.clone(),
                systems: setups.iter().map(|setup| setup.system).collect(),
                seed_concurrency: self.opts.seed_concurrency,
                host_args: self.opts.host_args.clone(),
                fn_host: self.artifacts.fn_host.clone(),
                baseline: (self.opts.baseline_fn_host.clone()).filter(|_| ran_baseline),
                oha: self.oha.version.clone(),
                programs,
                commit: git_commit(&self.artifacts.repo),
            },
            startup: self.startup.take(),
            scale: report::scale_rows(&size_reports),
            sizes: size_reports,
            targets,
            problems: std::mem::take(&mut self.problems),
            notes: std::mem::take(&mut self.notes),
        })
    }

    /// The scenarios to run: the API's or the floor's, all of them at the main size, the
    /// scale ones at other sizes; only those asked for.
    fn scenarios(&self, main: bool, floor: bool) -> Vec<&'static Scenario> {
        scenarios::ALL
            .iter()
            .filter(|s| s.is_api() != floor && (main || s.scale) && self.opts.wants(s))
            .collect()
    }

    /// One system at one size: started on fresh state (fn-host at the main size after its
    /// timed starts), seeded through its public API, measured scenario by scenario, stopped;
    /// then, for a host configuration with a floor, the floor.
    fn measure(
        &mut self,
        setup: &Setup,
        size: Size,
        main: bool,
        tag: &str,
    ) -> Result<SystemReport> {
        let dir = self.run_dir.join(tag);
        let app = self.artifacts.app.clone();
        let timed = setup
            .fn_host()
            .filter(|_| main && setup.system == System::FnHost);
        let mut running = match timed {
            Some(host) => self.timed_fn_host_start(host, &dir)?,
            None => {
                eprintln!("{}: starting", setup.label);
                setup.start(&app, &dir, &self.log_of(&dir))?
            }
        };
        let mut report = SystemReport::new(setup.system, &setup.label);
        report.rss_start_kib = Some(rss::current_kib(&running.pids));
        let user_ids = self.seed(&running, size, &mut report)?;
        let settle = Some(self.opts.settle)
            .filter(|settle| setup.system.tracks_memory_after_load() && !settle.is_zero());
        let scenarios = self.scenarios(main, false);
        report.rss_high_water_kib = Some(self.measure_and_stop(
            &mut running,
            &scenarios,
            &user_ids,
            settle,
            &mut report,
            tag,
        )?);
        if main && setup.system.has_floor() {
            self.floor(setup, &mut report, tag);
        }
        Ok(report)
    }

    /// The trivial component on the same host configuration, into `report`.
    fn floor(&mut self, setup: &Setup, report: &mut SystemReport, tag: &str) {
        let scenarios = self.scenarios(true, true);
        let Some(floor) = self
            .artifacts
            .floor
            .clone()
            .filter(|_| !scenarios.is_empty())
        else {
            return;
        };
        let dir = self.run_dir.join(format!("{tag}-floor"));
        eprintln!("{}: the trivial component", setup.label);
        let measured = setup
            .start(&floor, &dir, &self.log_of(&dir))
            .and_then(|mut running| {
                self.measure_and_stop(&mut running, &scenarios, &[], None, report, tag)
            });
        if let Err(error) = measured {
            self.problem(format!("{} floor: {error:#}", setup.label));
        }
    }

    /// Starts fn-host once to fill the compiled-component cache, then times fresh starts;
    /// the last start, in `state_dir`, stays up for the benchmark.
    fn timed_fn_host_start(&mut self, host: &FnHost, state_dir: &Path) -> Result<Running> {
        let app = self.artifacts.app.clone();
        let start = |name: &str, dir: &Path| {
            launch::start_host(
                name,
                app.fn_host(host, dir),
                app.ready_path,
                &self.log_of(dir),
            )
        };
        eprintln!("fn-host: first start (compiles the components into the cache)");
        let (mut warm, cold) = start("fn-host (warm-up)", &self.run_dir.join("fn-host-warm-up"))?;
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
            let (mut running, startup) = start("fn-host", &dir)?;
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
        self.startup = Some(report);
        Ok(running)
    }

    /// The log file of a system whose state lives in `dir`.
    fn log_of(&self, dir: &Path) -> PathBuf {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("system");
        self.run_dir.join(format!("{name}.log"))
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
    /// sampled throughout, and again `settle` after it when given) into `report`, then stops
    /// it; returns its RSS high-water mark (KiB). A scenario that fails to run is reported
    /// and skipped.
    fn measure_and_stop(
        &mut self,
        running: &mut Running,
        scenarios: &[&'static Scenario],
        user_ids: &[UserId],
        settle: Option<Duration>,
        report: &mut SystemReport,
        tag: &str,
    ) -> Result<u64> {
        let scratch = self.run_dir.join(format!("{tag}-load"));
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
            let peak_kib = sampler.finish();
            let end_kib = rss::current_kib(&running.pids);
            let result = match outcome {
                Ok(result) => result,
                Err(error) => {
                    self.problem(format!("{} {}: {error:#}", running.name, scenario.id));
                    continue;
                }
            };
            eprintln!(
                "  {:<30} {:<42} {:>9.0} req/s  p50 {:>8.2} ms  p99 {:>8.2} ms  errors {}",
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
            let settled_kib = settle.map(|settle| {
                std::thread::sleep(settle);
                rss::current_kib(&running.pids)
            });
            let memory = Memory {
                peak_kib,
                end_kib,
                settled_kib,
            };
            report
                .scenarios
                .push(ScenarioReport::new(scenario, result, memory));
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
        let error = Artifacts::check(&dir, None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("cargo build --release -p host"), "{error}");
        assert!(error.contains("fn-host -- build"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
