//! A run: each chosen system in turn started fresh, seeded, loaded, stopped; or a soak.

pub mod soak;

use crate::cli::{Opts, Size};
use crate::load::{self, Load, Oha};
use crate::machine::Machine;
use crate::report::targets::Targets;
use crate::report::{
    BenchReport, Run, ScenarioReport, SeedStats, Settings, SizeReport, StartupReport, SystemReport,
};
use crate::scenarios::{self, Scenario, Service};
use crate::start::{self, Running, Served, Setup, Started};
use crate::system::System;
use anyhow::{Context, Result, bail, ensure};
use api_model::UserId;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use testkit::memory::{self, RssSampler};

/// Set by Ctrl-C: the run stops at the next scenario, and dropping what runs stops it (the
/// hosts are in process groups of their own, which the terminal's signal does not reach).
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

struct Bench<'a> {
    opts: &'a Opts,
    oha: Oha,
    run_dir: PathBuf,
    runtime: tokio::runtime::Runtime,
    startup: Option<StartupReport>,
    problems: Vec<String>,
    notes: Vec<String>,
    machine: Machine,
    fn_host: PathBuf,
    commit: Option<String>,
}

impl<'a> Bench<'a> {
    /// The host binary, oha, the scratch folder and the chosen systems: a run's and a soak's.
    fn prepare(opts: &'a Opts) -> Result<(Bench<'a>, Vec<Setup>)> {
        let repo = testkit::repo_root();
        let fn_host = (opts.fn_host.clone()).unwrap_or_else(|| repo.join("target/release/fn-host"));
        let build = "build it first with `cargo build --release -p host` (or give --fn-host)";
        ensure!(fn_host.is_file(), "no {}: {build}", fn_host.display());
        let oha = Oha::find(&repo.join("target/bench-tools"))?;
        let work_root = (opts.work_dir.clone()).unwrap_or_else(|| repo.join("target/bench-work"));
        let run_dir = work_root.join(format!("run-{}-{}", unix_now(), std::process::id()));
        // oha's lists of URLs and bodies, per scenario.
        std::fs::create_dir_all(run_dir.join("load"))
            .with_context(|| format!("cannot create {}", run_dir.display()))?;
        ctrlc::set_handler(|| {
            eprintln!("\ninterrupted: stopping after this step");
            INTERRUPTED.store(true, Ordering::Relaxed);
        })
        .context("cannot install the Ctrl-C handler")?;
        let machine = Machine::read();
        eprintln!("machine: {}", machine.describe());
        eprintln!("load:    {} ({})", oha.version, oha.binary.display());
        eprintln!("scratch: {}", run_dir.display());
        let (setups, notes) = start::find(opts, &fn_host, &run_dir);
        let mut bench = Bench {
            opts,
            oha,
            run_dir,
            runtime: tokio::runtime::Runtime::new().context("cannot start the async runtime")?,
            startup: None,
            problems: Vec::new(),
            notes: Vec::new(),
            machine,
            fn_host,
            commit: git_commit(&repo),
        };
        notes.into_iter().for_each(|note| bench.note(note));
        Ok((bench, setups))
    }

    /// The options this run went by, the systems that could run and their programs' versions.
    fn settings(&self, setups: &[Setup]) -> Settings {
        let opts = self.opts;
        let programs = (setups.iter())
            .flat_map(Setup::programs)
            .filter_map(|(name, binary)| Some((name, load::version(binary).ok()?)))
            .collect();
        let ran_baseline = setups.iter().any(|s| s.system == System::Baseline);
        Settings {
            name: opts.name.clone(),
            current: opts.current,
            duration_secs: opts.duration.as_secs_f64(),
            warmup_secs: opts.warmup.as_secs_f64(),
            settle_secs: opts.settle.as_secs_f64(),
            connections: opts.connections,
            seed: opts.seed,
            sizes: opts.sizes.clone(),
            systems: setups.iter().map(|setup| setup.system).collect(),
            seed_concurrency: opts.seed_concurrency,
            host_args: opts.host_args.clone(),
            fn_host: self.fn_host.clone(),
            baseline: (opts.baseline_fn_host.clone()).filter(|_| ran_baseline),
            oha: self.oha.version.clone(),
            programs,
            commit: self.commit.clone(),
        }
    }

    /// Removes the scratch folder, unless asked to keep it; what the report records of the run.
    fn finish(&mut self, settings: Settings) -> Run {
        if !self.opts.keep_work
            && let Err(error) = std::fs::remove_dir_all(&self.run_dir)
        {
            eprintln!("warning: cannot remove {}: {error}", self.run_dir.display());
        }
        Run {
            generated_unix: unix_now(),
            machine: self.machine.clone(),
            settings,
            problems: std::mem::take(&mut self.problems),
            notes: std::mem::take(&mut self.notes),
        }
    }
}

/// Runs everything the options ask for; the report holds whatever could be measured.
pub fn run(opts: &Opts) -> Result<BenchReport> {
    let targets_file =
        (opts.targets.clone()).unwrap_or_else(|| testkit::repo_root().join("bench/targets.toml"));
    let targets = Targets::read(&targets_file)?;
    let (mut bench, setups) = Bench::prepare(opts)?;
    let sizes = bench.measure_all(&setups);
    let targets = sizes.first().map(|main| targets.check(main, opts.connections));
    let settings = bench.settings(&setups);
    Ok(BenchReport {
        startup: bench.startup.take(),
        sizes,
        targets: targets.unwrap_or_default(),
        run: bench.finish(settings),
    })
}

impl Bench<'_> {
    /// Every size, each chosen system at the first, the scale ones at the others.
    fn measure_all(&mut self, setups: &[Setup]) -> Vec<SizeReport> {
        let mut reports = Vec::new();
        for (index, size) in self.opts.sizes.iter().enumerate() {
            let main = index == 0;
            let scale_run = if main { "" } else { " (scale run)" };
            eprintln!("\n== {} listings over {} users{scale_run} ==", size.listings, size.users);
            let mut report = SizeReport::new(*size);
            for setup in setups {
                let system = setup.system;
                let scaled = system == System::FnHost
                    || (self.opts.scale_references && system.is_reference());
                if INTERRUPTED.load(Ordering::Relaxed) || !(main || (scaled && system.serves_app()))
                {
                    continue;
                }
                let tag = format!("size{index}-{}", system.id());
                let mut measured = SystemReport::new(system, &setup.label);
                if system.serves_app() {
                    self.attempt(&setup.label, |bench| {
                        bench.measure_app(setup, *size, main, &tag, &mut measured)
                    });
                }
                if main && system.has_floor() {
                    self.attempt(&format!("{} floor", setup.label), |bench| {
                        bench.measure_floor(setup, &tag, &mut measured)
                    });
                }
                report.systems.push(measured);
            }
            report.finish();
            reports.push(report);
        }
        reports
    }

    /// Runs one part of a run; what fails is a problem of the report, and the run goes on.
    fn attempt(&mut self, label: &str, part: impl FnOnce(&mut Self) -> Result<()>) {
        if let Some(failure) = failure(|| part(self)) {
            self.problem(format!("{label}: {failure}"));
        }
    }

    /// The app on one system at one size: started fresh (fn-host timed), seeded, measured.
    fn measure_app(
        &mut self,
        setup: &Setup,
        size: Size,
        main: bool,
        tag: &str,
        report: &mut SystemReport,
    ) -> Result<()> {
        let dir = self.run_dir.join(tag);
        let started = match main && setup.system == System::FnHost {
            true => self.timed_start(setup, &dir)?,
            false => {
                eprintln!("{}: starting", setup.label);
                start_compiled(setup, Served::App, &dir)?
            }
        };
        let running = started.running;
        report.rss_start_kib = Some(memory::rss_kib(&running.processes()));
        let user_ids = self.seed(&running, size, report)?;
        let settle = Some(self.opts.settle)
            .filter(|settle| setup.system.tracks_memory_after_load() && !settle.is_zero());
        let scenarios = self.scenarios(setup.system, main, Served::App);
        self.measure_scenarios(&running, &scenarios, &user_ids, settle, report)
    }

    /// The trivial component on the same system.
    fn measure_floor(&mut self, setup: &Setup, tag: &str, report: &mut SystemReport) -> Result<()> {
        eprintln!("{}: the trivial component", setup.label);
        let scenarios = self.scenarios(setup.system, true, Served::Floor);
        let dir = self.run_dir.join(format!("{tag}-floor"));
        let running = start_compiled(setup, Served::Floor, &dir)?.running;
        self.measure_scenarios(&running, &scenarios, &[], None, report)
    }

    /// The scenarios of `served` for `system`, only those asked for: all at the main size,
    /// the scale ones at other sizes; no chained floor where there is no service chaining.
    fn scenarios(&self, system: System, main: bool, served: Served) -> Vec<&'static Scenario> {
        (scenarios::ALL.iter())
            .filter(|s| s.is_api() == (served == Served::App) && (main || s.scale))
            .filter(|s| s.service != Service::ChainedFloor || system.serves_app())
            .filter(|s| self.opts.wants(s))
            .collect()
    }

    /// Starts fn-host once to fill its compiled-component cache (the cold start), then times
    /// `--startup-runs` fresh starts; the last one, in `dir`, stays up for the benchmark.
    fn timed_start(&mut self, setup: &Setup, dir: &Path) -> Result<Started> {
        eprintln!("fn-host: first start (compiles the components into the cache)");
        // Each start but the last is stopped (dropped) before the next.
        let ms = |started: &Started| started.ready.as_secs_f64() * 1e3;
        let start =
            |run| setup.start(Served::App, &self.run_dir.join(format!("fn-host-start-{run}")));
        let cold = ms(&start(0)?);
        let cached = (1..self.opts.startup_runs).map(|run| Ok(ms(&start(run)?)));
        let mut first = cached.collect::<Result<Vec<f64>>>()?;
        let started = setup.start(Served::App, dir)?;
        first.push(ms(&started));
        let median = median(&first);
        eprintln!(
            "fn-host: start → first response {median:.0} ms median (cached), {cold:.0} ms cold"
        );
        self.startup = Some(StartupReport {
            cold_first_response_ms: cold,
            first_response_ms: first,
            median_first_response_ms: median,
        });
        Ok(started)
    }

    /// Seeds through the system's public API; returns the users' ids.
    fn seed(
        &mut self,
        running: &Running,
        size: Size,
        report: &mut SystemReport,
    ) -> Result<Vec<UserId>> {
        let name = report.label.clone();
        eprintln!("{name}: seeding {} users and {} listings", size.users, size.listings);
        let config = seed::Config {
            seed: self.opts.seed,
            concurrency: self.opts.seed_concurrency as usize,
            ..seed::Config::new(running.urls().public, size.users, size.listings)
        };
        let seeded = (self.runtime.block_on(seed::run(&config)))
            .with_context(|| format!("seeding {name}"))?;
        eprintln!("{}", seeded.summary());
        let (failed, first) =
            (seeded.failures(), seeded.errors.first().map_or("?", String::as_str));
        if failed > 0 {
            self.problem(format!("{name}: {failed} seeding requests failed (first: {first})"));
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
        Ok(user_ids)
    }

    /// Runs each scenario against a running system (warm-up, then the measured load with RSS
    /// sampled throughout, and again `settle` after it when given) into `report`. A scenario
    /// that fails to run is reported and skipped.
    fn measure_scenarios(
        &mut self,
        running: &Running,
        scenarios: &[&'static Scenario],
        user_ids: &[UserId],
        settle: Option<Duration>,
        report: &mut SystemReport,
    ) -> Result<()> {
        let scratch = self.run_dir.join("load");
        let name = report.label.clone();
        // Asked before the load generator starts, which is a child of this process too.
        let processes = running.processes();
        let urls = running.urls();
        for &scenario in scenarios {
            if INTERRUPTED.load(Ordering::Relaxed) {
                bail!("interrupted");
            }
            let requests = match scenario.requests(&urls, user_ids, self.opts.seed) {
                Ok(requests) => requests,
                Err(error) => {
                    self.problem(format!("{name} {}: {error}", scenario.id));
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
            let sampler = RssSampler::start(processes.clone());
            let outcome = self.oha.run(&load(self.opts.duration), &scratch);
            let peak_kib = sampler.finish();
            let end_kib = memory::rss_kib(&processes);
            let result = match outcome {
                Ok(result) => result,
                Err(error) => {
                    self.problem(format!("{name} {}: {error:#}", scenario.id));
                    continue;
                }
            };
            let (id, title, rate, errors) =
                (scenario.id, scenario.title, result.ok_per_sec, result.errors());
            let [p50, p99] = [result.p50_ms, result.p99_ms].map(|ms| ms.unwrap_or(f64::NAN));
            eprintln!(
                "  {name:<30} {title:<42} {rate:>9.0} req/s  p50 {p50:>8.2} ms  p99 {p99:>8.2} ms  errors {errors}"
            );
            if errors > 0 {
                let (codes, kinds) = (&result.status_codes, &result.error_kinds);
                self.problem(format!("{name} {id}: {errors} errors ({codes:?} {kinds:?})"));
            }
            let settled_kib = settle.map(|settle| {
                std::thread::sleep(settle);
                memory::rss_kib(&processes)
            });
            report.scenarios.push(ScenarioReport {
                id: scenario.id,
                title: scenario.title,
                load: result,
                rss_peak_kib: peak_kib,
                rss_end_kib: end_kib,
                rss_settled_kib: settled_kib,
                ..ScenarioReport::default()
            });
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

/// `served` on `setup` after a first start, stopped, that fills fn-host's compile cache: a host
/// that compiled keeps some of the compiler's memory, and a deployed one restarts on its cache.
fn start_compiled(setup: &Setup, served: Served, dir: &Path) -> Result<Started> {
    drop(setup.start(served, &dir.join("compiling"))?);
    setup.start(served, dir)
}

/// What went wrong in `part`: an error, or a panic's message (testkit panics on failure).
fn failure(part: impl FnOnce() -> Result<()>) -> Option<String> {
    match std::panic::catch_unwind(AssertUnwindSafe(part)) {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(format!("{error:#}")),
        Err(panic) => Some(
            (panic.downcast_ref::<String>().cloned())
                .or_else(|| panic.downcast_ref::<&str>().map(|text| text.to_string()))
                .unwrap_or_else(|| "panicked".to_string()),
        ),
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
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The short commit of `repo`, `-dirty` when it has changes.
fn git_commit(repo: &Path) -> Option<String> {
    let mut git = std::process::Command::new("git");
    // No tag, so the short commit; untracked files do not make it dirty.
    git.arg("-C").arg(repo).args(["describe", "--always", "--dirty", "--exclude", "*"]);
    let output = git.output().ok().filter(|output| output.status.success())?;
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
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
}
