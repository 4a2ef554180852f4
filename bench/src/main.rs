//! `cargo run --release -p bench -- --name NAME [--current] [--systems ...] [--duration 10s]`
//!
//! Starts each chosen system, one at a time: the app on fn-host's configurations (its
//! durability modes, a baseline binary, instance reuse 1, databases on libSQL behind HAProxy),
//! then each reference (Spin, wasmtime serve, Tornado, native axum); seeds each through its
//! public API, drives oha against every scenario and writes results.json and results.md into
//! bench/results/<date>-<name>/, and the index of runs beside them.

mod cli;
mod load;
mod machine;
mod report;
mod results;
mod runner;
mod scenarios;
mod start;
mod system;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let opts = cli::Opts::parse();
    let results = testkit::repo_root().join("bench/results");
    let outcome = match opts.index_only {
        true => results::write_index(&results).map(|_| true),
        false => runner::run(&opts).and_then(|report| {
            let folder = results.join(results::folder_name(report.generated_unix, &opts.name));
            report.write(&folder)?;
            println!("{}", report.markdown());
            eprintln!("wrote {}", folder.display());
            results::write_index(&results)?;
            if !report.problems.is_empty() {
                eprintln!(
                    "{} problems (see Notes in the report)",
                    report.problems.len()
                );
            }
            Ok(report.problems.is_empty())
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
