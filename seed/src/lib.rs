//! Seeds a running listings app through its public API only, as the seed document's
//! `initialize_data` does: `POST /public-api/users` for every user, then
//! `POST /public-api/listings` for every listing, many requests in flight at once. The bodies
//! it sends and the answers it reads are the API's own types (`api-model`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), seed::SeedError> {
//! let report = seed::run(&seed::Config::new("http://127.0.0.1:3000", 1_000, 10_000)).await?;
//! println!("{}", report.summary());
//! # Ok(())
//! # }
//! ```

mod body;
mod client;
pub mod generate;

use api_model::{UserAnswer, UserId};
pub use body::{Encoding, listing_body, user_body};
use bytes::Bytes;
use client::Client;
pub use generate::{ListingSpec, Plan};
use indicatif::{ProgressBar, ProgressStyle};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How many failure messages a report keeps (the rest are only counted).
const KEPT_ERRORS: usize = 5;

/// What to seed and where.
#[derive(Clone, Debug)]
pub struct Config {
    /// Base URL of the app, e.g. `http://127.0.0.1:3000` (the public API lives under it).
    pub url: String,
    pub users: usize,
    pub listings: usize,
    /// Same seed, same names, prices, types and owners.
    pub seed: u64,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Show progress bars on stderr (hidden anyway when stderr is not a terminal).
    pub progress: bool,
    /// Longest one request may take.
    pub request_timeout: Duration,
}

impl Config {
    pub fn new(url: impl Into<String>, users: usize, listings: usize) -> Config {
        Config {
            url: url.into(),
            users,
            listings,
            seed: 42,
            concurrency: 32,
            progress: true,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct Report {
    pub users_created: usize,
    pub listings_created: usize,
    pub user_failures: usize,
    /// Failed listing requests, plus listings skipped because their owner failed to be created.
    pub listing_failures: usize,
    /// The first few failures, described.
    pub errors: Vec<String>,
    pub users_elapsed: Duration,
    pub listings_elapsed: Duration,
    pub elapsed: Duration,
    /// The ids the app gave the users, in plan order (`None` where creation failed).
    pub user_ids: Vec<Option<UserId>>,
}

impl Report {
    pub fn failures(&self) -> usize {
        self.user_failures + self.listing_failures
    }

    /// Requests sent (successful or not), skipped listings excluded.
    pub fn requests(&self) -> usize {
        self.users_created + self.user_failures + self.listings_created + self.listing_failures
    }

    pub fn requests_per_sec(&self) -> f64 {
        per_sec(self.requests(), self.elapsed)
    }

    /// The ids of the users that exist.
    pub fn created_user_ids(&self) -> Vec<UserId> {
        self.user_ids.iter().flatten().copied().collect()
    }

    /// A few lines for a terminal.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "users:    {} created, {} failed in {:.2?} ({:.0} req/s)\n\
             listings: {} created, {} failed in {:.2?} ({:.0} req/s)\n\
             total:    {} requests in {:.2?} ({:.0} req/s), {} failures",
            self.users_created,
            self.user_failures,
            self.users_elapsed,
            per_sec(self.users_created + self.user_failures, self.users_elapsed),
            self.listings_created,
            self.listing_failures,
            self.listings_elapsed,
            per_sec(self.listings_created + self.listing_failures, self.listings_elapsed),
            self.requests(),
            self.elapsed,
            self.requests_per_sec(),
            self.failures(),
        );
        for error in &self.errors {
            text.push_str("\n  error: ");
            text.push_str(error);
        }
        if self.failures() > self.errors.len() {
            text.push_str(&format!(
                "\n  ({} more failures not shown)",
                self.failures() - self.errors.len()
            ));
        }
        text
    }
}

fn per_sec(count: usize, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

/// Why a run could not go ahead at all (single failed requests are counted in the report).
#[derive(Debug)]
pub enum SeedError {
    /// The URL is not an `http://host:port` base URL.
    InvalidUrl { url: String, reason: String },
    /// Nothing answers at the URL.
    Unreachable { url: String, cause: String },
    /// The configuration makes no sense (e.g. zero concurrency).
    InvalidConfig(String),
}

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeedError::InvalidUrl { url, reason } => write!(f, "invalid URL {url:?}: {reason}"),
            SeedError::Unreachable { url, cause } => {
                write!(f, "cannot reach {url} ({cause}): is the app running at {url}?")
            }
            SeedError::InvalidConfig(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for SeedError {}

/// Seeds the app: all users first (their ids are needed), then all listings.
pub async fn run(config: &Config) -> Result<Report, SeedError> {
    if config.concurrency == 0 {
        return Err(SeedError::InvalidConfig("concurrency must be at least 1".into()));
    }
    let plan = Plan::generate(config.seed, config.users, config.listings);
    run_plan(config, &plan).await
}

/// Seeds the app with a plan made elsewhere.
pub async fn run_plan(config: &Config, plan: &Plan) -> Result<Report, SeedError> {
    let client = Arc::new(Client::new(&config.url, config.concurrency, config.request_timeout)?);
    client
        .probe()
        .await
        .map_err(|cause| SeedError::Unreachable { url: client.base().to_string(), cause })?;
    let started = Instant::now();

    // Users. Bodies are made as they are sent (a million of them need not sit in memory).
    let names: Arc<[String]> = plan.users.clone().into();
    let bar = progress_bar(config.progress, "users", names.len());
    let users = upload(
        &client,
        "/public-api/users",
        names.len(),
        move |index| user_body(&names[index], Encoding::Json),
        config.concurrency,
        &bar,
        |body| {
            let answer: UserAnswer = serde_json::from_slice(body)
                .map_err(|e| format!("unexpected response body ({e})"))?;
            UserId::new(answer.user.id).map_err(|e| format!("unexpected response body ({e})"))
        },
    )
    .await;
    bar.finish();
    let users_elapsed = started.elapsed();

    // Listings, each for the id its planned owner got.
    let listings_started = Instant::now();
    let owned: Arc<[(UserId, ListingSpec)]> = plan
        .listings
        .iter()
        .filter_map(|listing| Some((users.values[listing.user_index]?, listing.clone())))
        .collect();
    let skipped = plan.listings.len() - owned.len();
    let bar = progress_bar(config.progress, "listings", owned.len());
    let count = owned.len();
    let listings = upload(
        &client,
        "/public-api/listings",
        count,
        move |index| listing_body(owned[index].0, &owned[index].1, Encoding::Json),
        config.concurrency,
        &bar,
        |_| Ok(()),
    )
    .await;
    bar.finish();
    let listings_elapsed = listings_started.elapsed();

    let mut errors = users.errors;
    errors.extend(listings.errors);
    if skipped > 0 && errors.len() < KEPT_ERRORS {
        errors.push(format!("{skipped} listings skipped: their user could not be created"));
    }
    errors.truncate(KEPT_ERRORS);
    Ok(Report {
        users_created: users.succeeded,
        listings_created: listings.succeeded,
        user_failures: users.failed,
        listing_failures: listings.failed + skipped,
        errors,
        users_elapsed,
        listings_elapsed,
        elapsed: started.elapsed(),
        user_ids: users.values,
    })
}

fn progress_bar(enabled: bool, prefix: &'static str, len: usize) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64).with_prefix(prefix);
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix:>8} [{bar:40.cyan/blue}] {pos}/{len} {per_sec:>12} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The outcome of one phase: a value per body (in order), counts, the first errors.
struct Uploaded<T> {
    values: Vec<Option<T>>,
    succeeded: usize,
    failed: usize,
    errors: Vec<String>,
}

/// POSTs `total` bodies (`body(i)` makes the i-th, or says why it cannot be sent, which
/// counts as a failure) to `path` with `concurrency` requests in flight; `parse` turns a 2xx
/// response body into the value kept for it.
async fn upload<T, B, F>(
    client: &Arc<Client>,
    path: &'static str,
    total: usize,
    body: B,
    concurrency: usize,
    bar: &ProgressBar,
    parse: F,
) -> Uploaded<T>
where
    T: Send + 'static,
    B: Fn(usize) -> Result<String, String> + Send + Sync + 'static,
    F: Fn(&[u8]) -> Result<T, String> + Send + Sync + Copy + 'static,
{
    let body = Arc::new(body);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.min(total.max(1)) {
        let (client, body, next, bar) =
            (Arc::clone(client), Arc::clone(&body), Arc::clone(&next), bar.clone());
        workers.spawn(async move {
            let mut done: Vec<(usize, Result<T, String>)> = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= total {
                    break;
                }
                let outcome = match body(index) {
                    Ok(body) => client.post_json(path, Bytes::from(body)).await,
                    Err(error) => Err(format!("not sent: {error}")),
                }
                .and_then(|response| parse(&response));
                done.push((index, outcome));
                bar.inc(1);
            }
            done
        });
    }
    let mut uploaded = Uploaded {
        values: (0..total).map(|_| None).collect(),
        succeeded: 0,
        failed: 0,
        errors: Vec::new(),
    };
    while let Some(joined) = workers.join_next().await {
        let done = match joined {
            Ok(done) => done,
            Err(error) => {
                // A worker that panicked loses its results: count them as failed below.
                uploaded.errors.push(format!("worker failed: {error}"));
                continue;
            }
        };
        for (index, outcome) in done {
            match outcome {
                Ok(value) => {
                    uploaded.values[index] = Some(value);
                    uploaded.succeeded += 1;
                }
                Err(error) => {
                    uploaded.failed += 1;
                    if uploaded.errors.len() < KEPT_ERRORS {
                        uploaded.errors.push(format!("POST {path}: {error}"));
                    }
                }
            }
        }
    }
    // Whatever no worker reported on (a worker died) failed too.
    uploaded.failed = total - uploaded.succeeded;
    uploaded
}
