//! `seed --url http://127.0.0.1:3000 --users 1000 --listings 10000 [--seed 42]`

use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

/// Fills a running listings app with random users and listings through its public API.
#[derive(Parser)]
#[command(name = "seed", version)]
struct Cli {
    /// Base URL of the running app.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// Users to create.
    #[arg(long, default_value_t = 1_000)]
    users: usize,
    /// Listings to create, spread over the new users.
    #[arg(long, default_value_t = 10_000)]
    listings: usize,
    /// Seed of the generator: the same seed gives the same data. Random when left out.
    #[arg(long)]
    seed: Option<u64>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=4096))]
    concurrency: u64,
    /// Longest one request may take, in seconds.
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let seed = cli.seed.unwrap_or_else(random_seed);
    let config = seed::Config {
        url: cli.url,
        users: cli.users,
        listings: cli.listings,
        seed,
        concurrency: cli.concurrency as usize,
        progress: !cli.quiet,
        request_timeout: Duration::from_secs(cli.timeout_secs),
    };
    eprintln!(
        "seeding {} users and {} listings into {} (seed {seed}, {} in flight)",
        config.users, config.listings, config.url, config.concurrency
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(seed::run(&config)) {
        Ok(report) => {
            println!("{}", report.summary());
            if report.failures() > 0 {
                eprintln!("error: {} requests failed", report.failures());
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// A seed from the clock, printed so the run can be repeated.
fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let seed = nanos ^ u64::from(std::process::id()).rotate_left(32);
    eprintln!("no --seed given: using {seed}");
    seed
}
