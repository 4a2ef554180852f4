//! `cargo run --release -p bench -- --name NAME [--current] [--systems ...] [--duration 10s]`
//!
//! Starts each chosen system in turn (fn-host's configurations, then the references), seeds it
//! through its public API, drives oha against every scenario, and writes results.json and
//! results.md (a soak, `--soak 30m`: soak.json, .md, .svg) into bench/results/<date>-<name>/.

mod cli;
mod load;
mod machine;
mod report;
mod results;
mod runner;
mod scenarios;
mod start;
mod system;

use anyhow::Result;
use clap::Parser;
use report::Run;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let opts = cli::Opts::parse();
    let results = testkit::repo_root().join("bench/results");
    let folder = |run: &Run| results.join(results::folder_name(run.generated_unix, &opts.name));
    let outcome = match (opts.index_only, opts.soak) {
        (true, _) => results::write_index(&results).map(|_| true),
        (false, Some(soak)) => runner::soak::run(&opts, soak).and_then(|report| {
            report.write(&folder(&report.run))?;
            let passed =
                report.systems.iter().all(|s| s.verdict.as_ref().is_some_and(|v| v.passed));
            Ok(finish(&results, &report.run, report.markdown())? && passed)
        }),
        (false, None) => runner::run(&opts).and_then(|report| {
            report.write(&folder(&report.run))?;
            finish(&results, &report.run, report.markdown())
        }),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the report and rewrites the index; whether nothing went wrong.
fn finish(results: &Path, run: &Run, markdown: String) -> Result<bool> {
    println!("{markdown}");
    results::write_index(results)?;
    if !run.problems.is_empty() {
        eprintln!("{} problems (see Notes in the report)", run.problems.len());
    }
    Ok(run.problems.is_empty())
}
