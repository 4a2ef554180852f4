//! `spin:sqlite@3.1.0` (and Spin 2's `fermyon:spin/sqlite@2.0.0`): labels mapped by the runtime
//! config to database files ([`local`]) or to databases on a libSQL server ([`remote`], to share
//! them between hosts), opened only by the components that declare them.
//!
//! Where this goes beyond Spin (which opens a fresh connection on every `open` and runs a
//! rollback journal):
//! - durable by default: a write is reported only once it is on stable storage, and writes that
//!   arrive together share one commit and one sync ([`writer`]: group commit, one writer thread
//!   per file); `--sqlite-durability process` trades power-cut safety for speed;
//! - reads run on pooled read-only connections ([`local`]) and never wait for the writer; rows
//!   stream to the guest in batches, and a guest that drops the stream stops the query;
//! - a guest reaches nothing but its own database ([`connection`]: no ATTACH, VACUUM INTO,
//!   extensions or PRAGMAs that change how the host runs the file), and each statement is cut off
//!   at the request deadline.
//!
//! [`host`] is the WIT surface over this.

mod connection;
mod host;
mod local;
mod remote;
mod startup;
mod statement;
mod writer;

pub use host::{GuestConnection, Sqlite, SqliteView};
pub use startup::StartupSql;

use crate::bindings::spin::sqlite::sqlite::{Error, Value};
use crate::metrics::Metrics;
use crate::runtime_config::{DatabaseLocation, RuntimeConfig};
use local::LocalDatabase;
use remote::RemoteDatabase;
use statement::{Started, Stats};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::Result;
use wasmtime::error::Context as _;

/// What a successful write survives, once the guest has been told of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// A power cut or a crash of the machine: the log is synced at every commit.
    #[default]
    Machine,
    /// A crash of this host process, not of the machine: syncs only at checkpoints.
    Process,
}

impl std::str::FromStr for Durability {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "machine" => Ok(Durability::Machine),
            "process" => Ok(Durability::Process),
            other => Err(format!(
                "unknown durability `{other}`: `machine` (survives a power cut) or `process` \
                 (survives a crash of the host process only)"
            )),
        }
    }
}

/// How the host runs every database.
#[derive(Clone)]
pub struct SqliteOptions {
    /// What a write reported to a guest survives.
    pub durability: Durability,
    /// How long one statement may run; it is interrupted past that.
    pub statement_timeout: Duration,
    /// Reads that may run at once on one database.
    pub readers_per_database: usize,
    /// Where statements and commits are counted.
    pub metrics: Arc<Metrics>,
}

impl SqliteOptions {
    /// Durable, statements bounded by `request_timeout`, readers sized to the machine.
    pub fn new(durability: Durability, request_timeout: Duration, metrics: Arc<Metrics>) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        SqliteOptions {
            durability,
            statement_timeout: request_timeout,
            readers_per_database: (2 * cores).max(4),
            metrics,
        }
    }
}

/// Every configured database of the app, by label. Shared by all instances.
#[derive(Default)]
pub struct Databases {
    by_label: BTreeMap<String, Opened>,
}

/// A label's database, and where the runtime config put it.
struct Opened {
    location: DatabaseLocation,
    database: Database,
}

/// One label's database.
#[derive(Clone)]
enum Database {
    Local(Arc<LocalDatabase>),
    Remote(Arc<RemoteDatabase>),
}

/// A guest connection's session on its database.
enum Session {
    Local(local::Session),
    Remote(remote::Session),
}

impl Session {
    fn new(database: &Database) -> Self {
        match database {
            Database::Local(database) => Session::Local(local::Session::new(database.clone())),
            Database::Remote(database) => Session::Remote(remote::Session::new(database.clone())),
        }
    }

    async fn execute(&self, sql: String, parameters: Vec<Value>) -> Result<Started, Error> {
        match self {
            Session::Local(session) => session.execute(sql, parameters).await,
            Session::Remote(session) => session.execute(sql, parameters).await,
        }
    }

    fn stats(&self) -> Stats {
        match self {
            Session::Local(session) => session.stats(),
            Session::Remote(session) => session.stats(),
        }
    }
}

impl Databases {
    /// Opens (creating if needed) each configured database that some component uses, so a bad
    /// path or a locked file fails the start rather than the first request. A label that
    /// `previous` (the app version serving now, under `fn-host watch`) has open at the same
    /// location is shared, not opened again: a file keeps its one writer across versions.
    pub fn open(
        config: &RuntimeConfig,
        used_labels: &[&str],
        options: &SqliteOptions,
        previous: Option<&Databases>,
    ) -> Result<Self> {
        let mut by_label = BTreeMap::new();
        for (label, location) in &config.sqlite_databases {
            if !used_labels.contains(&label.as_str()) {
                continue;
            }
            let kept = previous
                .and_then(|previous| previous.by_label.get(label))
                .filter(|opened| opened.location == *location);
            let database = match kept {
                Some(opened) => opened.database.clone(),
                None => open_database(label, location, options)?,
            };
            by_label.insert(label.clone(), Opened { location: location.clone(), database });
        }
        Ok(Databases { by_label })
    }
}

fn open_database(
    label: &str,
    location: &DatabaseLocation,
    options: &SqliteOptions,
) -> Result<Database> {
    Ok(match location {
        DatabaseLocation::File(path) => {
            LocalDatabase::open(path, label, options).map(Database::Local).with_context(|| {
                format!("cannot open sqlite database `{label}` at {}", path.display())
            })?
        }
        DatabaseLocation::Libsql { url, token } => RemoteDatabase::open(
            url,
            token,
            options.statement_timeout,
            options.metrics.remote_database(label),
        )
        .map(Database::Remote)?,
    })
}

/// A component's view of the databases: only the labels it declared.
#[derive(Clone)]
pub struct SqliteCtx {
    databases: Arc<Databases>,
    allowed: Arc<[String]>,
}

impl SqliteCtx {
    /// A component's view of the app's `databases`: `allowed` are the labels the manifest grants
    /// this component.
    pub fn new(databases: Arc<Databases>, allowed: Arc<[String]>) -> Self {
        SqliteCtx { databases, allowed }
    }

    /// A new session on `label`, if this component may use it. As on Spin, a label it did not
    /// declare is denied whether or not the runtime config knows it.
    fn open(&self, label: &str) -> Result<Session, Error> {
        if !self.allowed.iter().any(|allowed| allowed == label) {
            return Err(Error::AccessDenied);
        }
        let opened = self.databases.by_label.get(label).ok_or(Error::NoSuchDatabase)?;
        Ok(Session::new(&opened.database))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(databases: &Databases, label: &str) -> Arc<LocalDatabase> {
        match &databases.by_label[label].database {
            Database::Local(database) => database.clone(),
            Database::Remote(_) => panic!("`{label}` is remote"),
        }
    }

    #[test]
    fn a_new_version_shares_the_files_that_stay_where_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let config = |users: &str| {
            let mut config = RuntimeConfig::default();
            for (label, file) in [("listings", "listings.db"), ("users", users)] {
                let location = DatabaseLocation::File(dir.path().join(file));
                config.sqlite_databases.insert(label.into(), location);
            }
            config
        };
        let options =
            SqliteOptions::new(Durability::Process, Duration::from_secs(5), Arc::default());
        let labels = ["listings", "users"];
        let first = Databases::open(&config("users.db"), &labels, &options, None).unwrap();
        let second = Databases::open(&config("moved.db"), &labels, &options, Some(&first)).unwrap();
        assert!(Arc::ptr_eq(&local(&first, "listings"), &local(&second, "listings")));
        assert!(!Arc::ptr_eq(&local(&first, "users"), &local(&second, "users")));
    }
}
