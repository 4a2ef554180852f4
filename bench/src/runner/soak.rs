//! The soak: the systems started and seeded as a run does, then all at once under reads and
//! writes a minute at a time, each minute's errors, p99s and host memory recorded.

use super::{Bench, INTERRUPTED, failure};
use crate::cli::Opts;
use crate::load::{Load, Oha};
use crate::report::soak::{SoakMinute, SoakReport, SoakSystem};
use crate::report::{Settings, SystemReport};
use crate::scenarios::{self, Requests};
use crate::start::{Running, Served};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// One measured step; the soak is as many as fit in `--soak`.
const MINUTE: Duration = Duration::from_secs(60);
/// Modest, for stability rather than peak throughput.
pub const READERS: u32 = 16;
pub const WRITERS: u32 = 4;

pub fn run(opts: &Opts, soak: Duration) -> Result<SoakReport> {
    let (mut bench, setups) = Bench::prepare(opts)?;
    let size = opts.sizes[0];
    let mut started = Vec::new();
    for setup in setups.iter().filter(|setup| setup.system.serves_app()) {
        bench.attempt(&setup.label, |bench| {
            eprintln!("{}: starting", setup.label);
            let dir = bench.run_dir.join(setup.system.id());
            let running = setup.start(Served::App, &dir)?.running;
            let mut seeded = SystemReport::new(setup.system, &setup.label);
            let user_ids = bench.seed(&running, size, &mut seeded)?;
            // Reads: public pages and users by id, half each; writes: public POSTs of listings.
            let urls = running.urls();
            let requests = |id| {
                let scenario = scenarios::by_id(id).expect("a scenario of scenarios::ALL");
                (scenario.requests(&urls, &user_ids, opts.seed)).map_err(anyhow::Error::msg)
            };
            let Requests::Urls(users) = requests("user_by_id")? else {
                bail!("user_by_id has a list of URLs");
            };
            let pages = (size.listings / 10).max(1);
            let listings = format!("{}/public-api/listings", urls.public);
            let page = |n| format!("{listings}?page_num={}&page_size=10", n % pages + 1);
            let reads = Requests::Urls((0..users.len()).map(page).chain(users).collect());
            started.push((setup, running, reads, requests("public_create_listing")?));
            Ok(())
        });
    }
    let minutes = (soak.as_secs() / MINUTE.as_secs()).max(1) as u32;
    eprintln!("\n== soak: {minutes} minutes of {READERS} readers + {WRITERS} writers each ==");
    let scratch = bench.run_dir.join("load");
    let (oha, scratch) = (&bench.oha, scratch.as_path());
    let soaked: Vec<(SoakSystem, Option<String>)> = std::thread::scope(|scope| {
        let threads: Vec<_> = (started.iter())
            .map(|(setup, running, reads, writes)| {
                scope.spawn(move || {
                    let mut system = SoakSystem::new(setup.system, &setup.label);
                    let loads = [(reads, READERS), (writes, WRITERS)];
                    let failure = failure(|| {
                        soak_minutes(oha, scratch, running, loads, minutes, &mut system)
                    });
                    system.judge();
                    (system, failure.map(|failure| format!("{}: {failure}", setup.label)))
                })
            })
            .collect();
        let joined = threads.into_iter().map(|thread| thread.join());
        joined.map(|outcome| outcome.expect("a soak thread returns its outcome")).collect()
    });
    drop(started);
    let (systems, failures): (Vec<_>, Vec<_>) = soaked.into_iter().unzip();
    failures.into_iter().flatten().for_each(|failure| bench.problem(failure));
    let settings = Settings {
        current: false,
        duration_secs: (minutes as u64 * MINUTE.as_secs()) as f64,
        warmup_secs: 0.0,
        settle_secs: 0.0,
        connections: READERS + WRITERS,
        sizes: vec![size],
        ..bench.settings(&setups)
    };
    Ok(SoakReport { run: bench.finish(settings), systems })
}

/// Runs `--soak`'s minutes on one system into `report`: its reads and writes at once, by an oha
/// each, then its hosts' memory.
fn soak_minutes(
    oha: &Oha,
    scratch: &Path,
    running: &Running,
    loads: [(&Requests, u32); 2],
    minutes: u32,
    report: &mut SoakSystem,
) -> Result<()> {
    let id = report.system.id();
    let names = [format!("soak-{id}-reads"), format!("soak-{id}-writes")];
    for minute in 1..=minutes {
        if INTERRUPTED.load(Ordering::Relaxed) {
            bail!("interrupted after {} minutes", minute - 1);
        }
        let run = |name: &str, (requests, connections): (&Requests, u32)| {
            oha.run(&Load { name, requests, duration: MINUTE, connections }, scratch)
        };
        let [reads, writes] = std::thread::scope(|scope| {
            let writes = scope.spawn(|| run(&names[1], loads[1]));
            [run(&names[0], loads[0]), writes.join().expect("oha's thread returns its result")]
        });
        let (reads, writes) = (reads.context("reads")?, writes.context("writes")?);
        let row = SoakMinute { minute, reads, writes, rss_hosts_kib: running.hosts_rss_kib() };
        eprintln!("  {:<32} {}", report.label, row.row());
        report.minutes.push(row);
    }
    Ok(())
}
