//! `cargo run --release -p bench -- --out bench/results [--duration 10s] [--systems ...] ...`
//!
//! Starts each chosen system, one at a time: the app on fn-host's configurations (its
//! durability modes, a baseline binary, instance reuse 1, databases on libSQL, two hosts
//! behind HAProxy), then each reference (Spin, Tornado, native axum); seeds each through its
//! public API, drives oha against every scenario and writes results.json, results.md and
//! chart.png.

mod cli;
mod launch;
mod libsql;
mod load;
mod machine;
mod probe;
mod report;
mod rss;
mod runner;
mod scenarios;
mod setup;
mod system;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let opts = cli::Opts::parse();
    let report = match runner::run(&opts) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let written = match report.write(&opts.out) {
        Ok(written) => written,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", report.markdown());
    eprintln!("wrote {}", written.json.display());
    eprintln!("wrote {}", written.markdown.display());
    if let Some(chart) = &written.chart {
        eprintln!("wrote {}", chart.display());
    }
    if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "{} problems (see Notes in the report)",
            report.problems.len()
        );
        ExitCode::FAILURE
    }
}
