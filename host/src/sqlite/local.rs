//! A database file: its [`Writer`] and a pool of read-only connections. Each statement goes
//! where it belongs: a read to a reader (never waiting for the writer), a write to the writer,
//! and everything of a guest transaction to the writer that holds it.

use super::SqliteOptions;
use super::connection::{Connection, Guard, Kind};
use super::statement::{self, Effects, Rest, Sinks, Started};
use super::writer::{Scope, SessionId, Writer};
use crate::bindings::spin::sqlite::sqlite::{Error, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use wasmtime::Result;
use wasmtime::error::Context as _;

/// Statement kinds remembered per database; past this the memory starts over (a guest that
/// builds SQL text per request must not grow it without bound).
const MAX_REMEMBERED_KINDS: usize = 1024;

/// One database file.
pub struct LocalDatabase {
    path: PathBuf,
    writer: Writer,
    readers: Mutex<Vec<Connection>>,
    /// Reads running at once on this file. A flood of expensive reads on one database then
    /// queues here, leaving threads and CPU for the other databases.
    read_slots: Arc<Semaphore>,
    max_readers: usize,
    /// What each statement text does, learned when it is first prepared.
    kinds: Mutex<HashMap<Box<str>, Kind>>,
    statement_timeout: Duration,
}

impl LocalDatabase {
    /// Opens (creating if needed) the file at `path`, in WAL mode, and starts its writer.
    pub fn open(path: &Path, label: &str, options: &SqliteOptions) -> Result<Arc<Self>> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let writer = Connection::open_writer(path, options.durability)?;
        // A new file must survive a power cut as well as what is written into it.
        sync_path(path).and_then(|()| sync_path(dir))?;
        let first_reader = Connection::open_reader(path)?;
        let max_readers = options.readers_per_database.max(1);
        Ok(Arc::new(LocalDatabase {
            path: path.to_path_buf(),
            writer: Writer::spawn(writer, label).context("cannot start the writer thread")?,
            readers: Mutex::new(vec![first_reader]),
            read_slots: Arc::new(Semaphore::new(max_readers)),
            max_readers,
            kinds: Mutex::new(HashMap::new()),
            statement_timeout: options.statement_timeout,
        }))
    }

    fn kind_of(&self, sql: &str) -> Option<Kind> {
        self.kinds.lock().ok()?.get(sql).copied()
    }

    fn remember(&self, sql: &str, kind: Kind) {
        if let Ok(mut kinds) = self.kinds.lock() {
            if kinds.len() >= MAX_REMEMBERED_KINDS {
                kinds.clear();
            }
            kinds.insert(sql.into(), kind);
        }
    }

    /// Runs `work` with a reader (or the error of getting one) on a blocking thread, within
    /// this file's read slots.
    async fn with_reader<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(Result<&Connection, Error>) -> T + Send + 'static,
    ) -> Result<tokio::task::JoinHandle<T>, Error> {
        let slot = self
            .read_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Io("the database is closed".into()))?;
        let database = self.clone();
        Ok(tokio::task::spawn_blocking(move || {
            let _slot = slot;
            match database.checkout_reader() {
                Ok(reader) => {
                    let result = work(Ok(&reader));
                    database.checkin_reader(reader);
                    result
                }
                Err(error) => work(Err(error)),
            }
        }))
    }

    fn checkout_reader(&self) -> Result<Connection, Error> {
        let idle = self.readers.lock().map_err(poisoned)?.pop();
        match idle {
            Some(reader) => Ok(reader),
            None => Connection::open_reader(&self.path).map_err(|e| Error::Io(e.to_string())),
        }
    }

    /// Takes a reader back if it is as it was lent: no transaction left open on it.
    fn checkin_reader(&self, reader: Connection) {
        if !reader.sqlite.is_autocommit() {
            return;
        }
        if let Ok(mut idle) = self.readers.lock()
            && idle.len() < self.max_readers
        {
            idle.push(reader);
        }
    }

    /// What `sql` does, preparing it on a reader the first time it is seen.
    async fn classify(self: &Arc<Self>, sql: &str) -> Result<Kind, Error> {
        if let Some(kind) = self.kind_of(sql) {
            return Ok(kind);
        }
        let text = sql.to_owned();
        let kind = self
            .with_reader(move |reader| reader.and_then(|reader| reader.classify(&text)))
            .await?
            .await
            .unwrap_or_else(|_| Err(statement::task_ended()))?;
        self.remember(sql, kind);
        Ok(kind)
    }

    /// Starts a read on a reader; the rest of its rows stream from there.
    async fn read(self: &Arc<Self>, sql: String, parameters: Vec<Value>) -> Result<Started, Error> {
        let (guard, abandon) = Guard::new(self.statement_timeout);
        let (sinks, receivers) = Sinks::new();
        // Not awaited: the statement reports through `sinks` and goes on streaming.
        let _running = self
            .with_reader(move |reader| match reader {
                Ok(reader) => statement::stream(reader, &sql, &parameters, &guard, sinks),
                Err(error) => sinks.fail(error),
            })
            .await?;
        receivers.started(abandon).await
    }
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> Error {
    Error::Io("connection pool lock poisoned".into())
}

/// Flushes a file or directory entry to stable storage.
fn sync_path(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|file| file.sync_all())
        .with_context(|| format!("cannot sync {}", path.display()))
}

/// A guest's connection to a database file: statements run in order; `last-insert-rowid` and
/// `changes` are its own; a transaction it opens holds the file's writer until it ends.
pub struct Session {
    database: Arc<LocalDatabase>,
    id: SessionId,
    /// Whether this session has a transaction open; the lock also keeps its statements in order.
    in_transaction: tokio::sync::Mutex<bool>,
    stats: Mutex<Stats>,
}

/// What `last-insert-rowid` and `changes` report.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub last_insert_rowid: i64,
    pub changes: u64,
}

impl Session {
    pub fn new(database: Arc<LocalDatabase>) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Session {
            database,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            in_transaction: tokio::sync::Mutex::new(false),
            stats: Mutex::default(),
        }
    }

    /// Runs `sql`; returns once its first rows (or, for a write, its durable result) are known.
    pub async fn execute(&self, sql: String, parameters: Vec<Value>) -> Result<Started, Error> {
        let mut in_transaction = self.in_transaction.lock().await;
        let scope = if *in_transaction {
            Scope::Transaction
        } else {
            match self.database.classify(&sql).await? {
                Kind::Read => return self.database.read(sql, parameters).await,
                Kind::Write => Scope::Batch,
                Kind::Transaction => Scope::Alone,
            }
        };
        let outcome = self
            .database
            .writer
            .run(
                self.id,
                scope,
                sql,
                parameters,
                self.database.statement_timeout,
            )
            .await;
        *in_transaction = outcome.in_transaction;
        let collected = outcome.result?;
        self.record(collected.effects);
        Ok(Started {
            columns: collected.columns,
            first_rows: collected.rows,
            rest: Rest::Done(Ok(())),
        })
    }

    pub fn stats(&self) -> Stats {
        self.stats.lock().map(|stats| *stats).unwrap_or_default()
    }

    fn record(&self, effects: Effects) {
        let Ok(mut stats) = self.stats.lock() else {
            return;
        };
        if let Some(rowid) = effects.inserted_rowid {
            stats.last_insert_rowid = rowid;
        }
        if let Some(changes) = effects.changes {
            stats.changes = changes;
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.in_transaction.get_mut().to_owned() {
            self.database.writer.end(self.id);
        }
    }
}
