//! `spin:sqlite@3.1.0`: labels mapped to files by the runtime config, opened only by the
//! components that declare them, served from connections kept open per label.
//!
//! Where this goes beyond Spin (which opens a fresh connection on every `open`):
//! - connections are pooled per label, each with its own prepared-statement cache;
//! - every database runs in WAL mode with `synchronous = NORMAL` and a busy timeout: a commit is
//!   in the WAL (the OS has it) before the guest sees the statement succeed, so a response sent
//!   after a write survives a crash of this process;
//! - rows stream to the guest in batches from a blocking thread, so a huge result never sits in
//!   memory; a guest that drops the stream stops the query and frees the connection.

use crate::bindings::spin::sqlite::sqlite::{self, Error, QueryResult, RowResult, Value};
use crate::runtime_config::RuntimeConfig;
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use wasmtime::Result;
use wasmtime::StoreContextMut;
use wasmtime::component::{
    Accessor, Destination, FutureReader, HasData, Resource, ResourceTable, StreamProducer,
    StreamReader, StreamResult, VecBuffer,
};
use wasmtime::error::Context as _;

/// Rows handed to the guest per stream read; also what the first reply carries inline, so a
/// typical page needs no second hop.
const ROW_BATCH: usize = 64;
/// Idle connections kept per label.
const MAX_IDLE_CONNECTIONS: usize = 16;
/// Page cache per connection (KiB). Small: every connection reads the same file, which the OS
/// caches once; SQLite's default (2 MiB) times the pool measured 200 MB RSS at a million rows.
const PAGE_CACHE_KIB: i64 = 1024;
/// Prepared statements cached per connection.
const STATEMENT_CACHE: usize = 64;
/// How long a writer waits for another writer before `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Every configured database of the app, by label. Shared by all instances.
#[derive(Default)]
pub struct Databases {
    pools: BTreeMap<String, Arc<Pool>>,
}

impl Databases {
    /// Opens (creating if needed) each configured database that some component uses, so a bad
    /// path or a locked file fails the start rather than the first request.
    pub fn open(config: &RuntimeConfig, used_labels: &[&str]) -> Result<Self> {
        let mut pools = BTreeMap::new();
        for (label, path) in &config.sqlite_databases {
            if !used_labels.contains(&label.as_str()) {
                continue;
            }
            let pool = Pool::open(path).with_context(|| {
                format!(
                    "cannot open sqlite database `{label}` at {}",
                    path.display()
                )
            })?;
            pools.insert(label.clone(), Arc::new(pool));
        }
        Ok(Databases { pools })
    }
}

/// A component's view of the databases: only the labels it declared.
#[derive(Clone)]
pub struct SqliteCtx {
    databases: Arc<Databases>,
    configured: Arc<[String]>,
    allowed: Arc<[String]>,
}

impl SqliteCtx {
    pub fn new(
        databases: Arc<Databases>,
        configured: Arc<[String]>,
        allowed: Arc<[String]>,
    ) -> Self {
        SqliteCtx {
            databases,
            configured,
            allowed,
        }
    }

    fn pool(&self, label: &str) -> Result<Arc<Pool>, Error> {
        if !self.allowed.iter().any(|allowed| allowed == label) {
            return Err(if self.configured.iter().any(|known| known == label) {
                Error::AccessDenied
            } else {
                Error::NoSuchDatabase
            });
        }
        self.databases
            .pools
            .get(label)
            .cloned()
            .ok_or(Error::NoSuchDatabase)
    }
}

/// Open connections of one database file.
struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
}

impl Pool {
    fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let first = connect(path)?;
        // WAL is a property of the file: set once, every later connection inherits it.
        let mode: String = first.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        wasmtime::ensure!(
            mode.eq_ignore_ascii_case("wal"),
            "cannot enable WAL (mode is {mode})"
        );
        Ok(Pool {
            path: path.to_path_buf(),
            idle: Mutex::new(vec![first]),
        })
    }

    /// An idle connection, or a new one. Blocking: called on the query's blocking thread.
    fn checkout(self: &Arc<Self>) -> Result<PooledConnection, Error> {
        let idle = self.idle.lock().map_err(poisoned)?.pop();
        let connection = match idle {
            Some(connection) => connection,
            None => connect(&self.path).map_err(|e| Error::Io(e.to_string()))?,
        };
        Ok(PooledConnection {
            connection: Some(connection),
            pool: self.clone(),
        })
    }
}

fn connect(path: &Path) -> Result<rusqlite::Connection> {
    let connection = rusqlite::Connection::open(path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Query-planner stability: otherwise a statement whose plan looked at a bound value
    // (`LIMIT ?`) is expired and parsed again on every new binding, defeating the cache.
    connection.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(connection)
}

/// The outcome when a query's blocking task is gone without reporting one.
fn task_ended() -> Error {
    Error::Io("query task ended unexpectedly".into())
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> Error {
    Error::Io("connection pool lock poisoned".into())
}

/// A connection lent for one statement (or, while a transaction is open, to one guest
/// connection); it goes back to its pool when dropped.
struct PooledConnection {
    connection: Option<rusqlite::Connection>,
    pool: Arc<Pool>,
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else {
            return;
        };
        // A guest that left a transaction open must not hand it to the next guest: closing
        // the connection rolls it back.
        if !connection.is_autocommit() {
            return;
        }
        if let Ok(mut idle) = self.pool.idle.lock()
            && idle.len() < MAX_IDLE_CONNECTIONS
        {
            idle.push(connection);
        }
    }
}

/// The host side of a guest's `connection` resource. It borrows a pooled SQLite connection
/// per statement, so idle guests hold none; only a guest inside a transaction (`BEGIN` without
/// `COMMIT` yet) keeps its SQLite connection pinned, as the transaction lives on it.
/// Clones share all of it: a clone is a handle that outlives a borrow of the store.
#[derive(Clone)]
pub struct GuestConnection {
    pool: Arc<Pool>,
    /// The pinned connection; the lock also runs one guest connection's statements in order.
    pinned: Arc<tokio::sync::Mutex<Option<PooledConnection>>>,
    stats: Arc<Mutex<Stats>>,
}

/// What `last-insert-rowid` and `changes` report, tracked per guest connection because the
/// underlying SQLite connection also served other guests before.
#[derive(Default, Clone, Copy)]
struct Stats {
    last_insert_rowid: i64,
    changes: u64,
}

/// How a query started: its columns and first rows, and either its outcome (when it fit in the
/// first batch) or the channels the rest arrives on.
struct Started {
    columns: Vec<String>,
    first_rows: Vec<RowResult>,
    rest: Rest,
}

enum Rest {
    Done(Result<(), Error>),
    Streaming {
        rows: mpsc::Receiver<Vec<RowResult>>,
        outcome: oneshot::Receiver<Result<(), Error>>,
    },
}

impl GuestConnection {
    /// Runs `sql` on a blocking thread; returns once the first batch of rows (or an error from
    /// preparing, binding or the first step) is known, so a failing INSERT fails `execute`.
    async fn start(&self, sql: String, parameters: Vec<Value>) -> Result<Started, Error> {
        let mut pinned = self.pinned.clone().lock_owned().await;
        let pool = self.pool.clone();
        let stats = self.stats.clone();
        let (started_tx, started_rx) = oneshot::channel();
        tokio::task::spawn_blocking(move || {
            let mut connection = match pinned.take().map_or_else(|| pool.checkout(), Ok) {
                Ok(connection) => connection,
                Err(error) => {
                    let _ = started_tx.send(Err(error));
                    return;
                }
            };
            let Some(sqlite) = connection.connection.as_mut() else {
                let _ = started_tx.send(Err(Error::InvalidConnection));
                return;
            };
            run_query(sqlite, &sql, &parameters, &stats, started_tx);
            if !sqlite.is_autocommit() {
                *pinned = Some(connection);
            }
        });
        started_rx.await.unwrap_or_else(|_| Err(task_ended()))
    }

    fn stats(&self) -> Stats {
        self.stats.lock().map(|stats| *stats).unwrap_or_default()
    }
}

/// The blocking part of a query: prepare (cached), bind, step; rows go out in batches.
fn run_query(
    connection: &mut rusqlite::Connection,
    sql: &str,
    parameters: &[Value],
    stats: &Mutex<Stats>,
    started: oneshot::Sender<Result<Started, Error>>,
) {
    let rowid_before = connection.last_insert_rowid();
    let mut statement = match prepare(connection, sql, parameters) {
        Ok(statement) => statement,
        Err(error) => {
            let _ = started.send(Err(error));
            return;
        }
    };
    let columns: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let column_count = columns.len();
    let readonly = statement.readonly();
    let mut rows = statement.raw_query();
    let mut batch = Vec::new();
    // The first batch decides what `execute` answers.
    let first_outcome = fill_batch(&mut rows, &mut batch, column_count);
    let outcome = match first_outcome {
        Err(error) => {
            let _ = started.send(Err(error));
            return;
        }
        Ok(true) => Ok(()),
        Ok(false) => {
            let (rows_tx, rows_rx) = mpsc::channel(2);
            let (outcome_tx, outcome_rx) = oneshot::channel();
            let first_rows = std::mem::take(&mut batch);
            let streaming = Started {
                columns,
                first_rows,
                rest: Rest::Streaming {
                    rows: rows_rx,
                    outcome: outcome_rx,
                },
            };
            if started.send(Ok(streaming)).is_err() {
                return;
            }
            let outcome = loop {
                match fill_batch(&mut rows, &mut batch, column_count) {
                    Ok(done) => {
                        if !batch.is_empty()
                            && rows_tx.blocking_send(std::mem::take(&mut batch)).is_err()
                        {
                            // The guest dropped the stream: stop here, release the connection.
                            break Ok(());
                        }
                        if done {
                            break Ok(());
                        }
                    }
                    Err(error) => break Err(error),
                }
            };
            drop(rows);
            record_stats(connection, rowid_before, readonly, stats);
            let _ = outcome_tx.send(outcome);
            return;
        }
    };
    drop(rows);
    record_stats(connection, rowid_before, readonly, stats);
    let _ = started.send(Ok(Started {
        columns,
        first_rows: batch,
        rest: Rest::Done(outcome),
    }));
}

fn prepare<'c>(
    connection: &'c rusqlite::Connection,
    sql: &str,
    parameters: &[Value],
) -> Result<rusqlite::CachedStatement<'c>, Error> {
    let mut statement = connection.prepare_cached(sql).map_err(to_error)?;
    let expected = statement.parameter_count();
    if expected != parameters.len() {
        return Err(Error::Io(format!(
            "statement takes {expected} parameters, {} given",
            parameters.len()
        )));
    }
    for (index, value) in parameters.iter().enumerate() {
        let value = ToSqlOutput::Borrowed(match value {
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
            Value::Null => ValueRef::Null,
        });
        statement
            .raw_bind_parameter(index + 1, value)
            .map_err(to_error)?;
    }
    Ok(statement)
}

/// Steps up to [`ROW_BATCH`] rows into `batch`; `Ok(true)` once the result set is exhausted.
fn fill_batch(
    rows: &mut rusqlite::Rows<'_>,
    batch: &mut Vec<RowResult>,
    column_count: usize,
) -> Result<bool, Error> {
    while batch.len() < ROW_BATCH {
        let Some(row) = rows.next().map_err(to_error)? else {
            return Ok(true);
        };
        let mut values = Vec::with_capacity(column_count);
        for index in 0..column_count {
            values.push(match row.get_ref(index).map_err(to_error)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(i) => Value::Integer(i),
                ValueRef::Real(f) => Value::Real(f),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            });
        }
        batch.push(RowResult { values });
    }
    Ok(false)
}

fn record_stats(
    connection: &rusqlite::Connection,
    rowid_before: i64,
    readonly: bool,
    stats: &Mutex<Stats>,
) {
    let Ok(mut stats) = stats.lock() else { return };
    let rowid = connection.last_insert_rowid();
    if rowid != rowid_before {
        stats.last_insert_rowid = rowid;
    }
    if !readonly {
        stats.changes = connection.changes();
    }
}

fn to_error(error: rusqlite::Error) -> Error {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => Error::DatabaseFull,
        _ => Error::Io(error.to_string()),
    }
}

/// Feeds the rows after the first batch to the guest's `stream<row-result>`.
struct RowProducer {
    first_rows: Vec<RowResult>,
    rest: Option<mpsc::Receiver<Vec<RowResult>>>,
}

impl<D> StreamProducer<D> for RowProducer {
    type Item = RowResult;
    type Buffer = VecBuffer<RowResult>;

    fn poll_produce<'a>(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        store: StoreContextMut<'a, D>,
        mut destination: Destination<'a, RowResult, VecBuffer<RowResult>>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        // A zero-length read only asks for readiness; rows are delivered on a real read.
        if destination.remaining(store) == Some(0) {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        if !self.first_rows.is_empty() {
            let rows = std::mem::take(&mut self.first_rows);
            destination.set_buffer(rows.into());
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        let Some(rest) = self.rest.as_mut() else {
            return Poll::Ready(Ok(StreamResult::Dropped));
        };
        match rest.poll_recv(cx) {
            Poll::Ready(Some(rows)) => {
                destination.set_buffer(rows.into());
                Poll::Ready(Ok(StreamResult::Completed))
            }
            Poll::Ready(None) => Poll::Ready(Ok(StreamResult::Dropped)),
            Poll::Pending if finish => Poll::Ready(Ok(StreamResult::Cancelled)),
            Poll::Pending => Poll::Pending,
        }
    }
}

// ---- the WIT interface ---------------------------------------------------------------------

/// What the `spin:sqlite` implementation borrows from the store.
pub struct SqliteView<'a> {
    pub ctx: &'a SqliteCtx,
    pub table: &'a mut ResourceTable,
}

/// [`HasData`] marker for the `spin:sqlite` implementation.
pub struct Sqlite;

impl HasData for Sqlite {
    type Data<'a> = SqliteView<'a>;
}

impl SqliteCtx {
    /// Opens `database` for the guest if this component may use it.
    fn open(&self, database: &str) -> Result<GuestConnection, Error> {
        Ok(GuestConnection {
            pool: self.pool(database)?,
            pinned: Arc::default(),
            stats: Arc::default(),
        })
    }
}

impl SqliteView<'_> {
    /// A handle on the guest's connection that outlives this borrow of the store.
    fn connection(
        &self,
        connection: &Resource<GuestConnection>,
    ) -> wasmtime::Result<GuestConnection> {
        Ok(self.table.get(connection)?.clone())
    }

    fn push(
        &mut self,
        opened: Result<GuestConnection, Error>,
    ) -> wasmtime::Result<Result<Resource<GuestConnection>, Error>> {
        Ok(match opened {
            Ok(connection) => Ok(self.table.push(connection)?),
            Err(error) => Err(error),
        })
    }
}

/// Runs a query to the end, for the synchronous `execute`.
async fn collect(started: Result<Started, Error>) -> Result<QueryResult, Error> {
    let started = started?;
    let mut rows = started.first_rows;
    let outcome = match started.rest {
        Rest::Done(outcome) => outcome,
        Rest::Streaming {
            rows: mut rest,
            outcome,
        } => {
            while let Some(batch) = rest.recv().await {
                rows.extend(batch);
            }
            outcome.await.unwrap_or_else(|_| Err(task_ended()))
        }
    };
    outcome.map(|()| QueryResult {
        columns: started.columns,
        rows,
    })
}

impl sqlite::Host for SqliteView<'_> {}

impl sqlite::HostConnection for SqliteView<'_> {
    fn drop(&mut self, connection: Resource<GuestConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

impl<T: Send> sqlite::HostConnectionWithStore<T> for Sqlite {
    async fn open(
        mut store: wasmtime::component::Access<'_, T, Self>,
        database: String,
    ) -> wasmtime::Result<Result<Resource<GuestConnection>, Error>> {
        let mut view = store.get();
        let opened = view.ctx.open(&database);
        view.push(opened)
    }

    async fn open_async(
        store: &Accessor<T, Self>,
        database: String,
    ) -> wasmtime::Result<Result<Resource<GuestConnection>, Error>> {
        store.with(|mut access| {
            let mut view = access.get();
            let opened = view.ctx.open(&database);
            view.push(opened)
        })
    }

    async fn execute(
        mut store: wasmtime::component::Access<'_, T, Self>,
        connection: Resource<GuestConnection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, Error>> {
        let connection = store.get().connection(&connection)?;
        Ok(collect(connection.start(statement, parameters).await).await)
    }

    async fn execute_async(
        store: &Accessor<T, Self>,
        connection: Resource<GuestConnection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<
        Result<
            (
                Vec<String>,
                StreamReader<RowResult>,
                FutureReader<Result<(), Error>>,
            ),
            Error,
        >,
    > {
        let connection = store.with(|mut access| access.get().connection(&connection))?;
        let started = match connection.start(statement, parameters).await {
            Ok(started) => started,
            Err(error) => return Ok(Err(error)),
        };
        let (rest, outcome) = match started.rest {
            Rest::Done(outcome) => (None, OutcomeSource::Ready(outcome)),
            Rest::Streaming { rows, outcome } => (Some(rows), OutcomeSource::Pending(outcome)),
        };
        let producer = RowProducer {
            first_rows: started.first_rows,
            rest,
        };
        store.with(|mut access| {
            let rows = StreamReader::new(&mut access, producer)?;
            let outcome = FutureReader::new(&mut access, outcome.resolve())?;
            Ok(Ok((started.columns, rows, outcome)))
        })
    }

    async fn last_insert_rowid(
        mut store: wasmtime::component::Access<'_, T, Self>,
        connection: Resource<GuestConnection>,
    ) -> wasmtime::Result<i64> {
        Ok(store
            .get()
            .connection(&connection)?
            .stats()
            .last_insert_rowid)
    }

    async fn last_insert_rowid_async(
        store: &Accessor<T, Self>,
        connection: Resource<GuestConnection>,
    ) -> wasmtime::Result<i64> {
        store.with(|mut access| {
            Ok(access
                .get()
                .connection(&connection)?
                .stats()
                .last_insert_rowid)
        })
    }

    async fn changes(
        mut store: wasmtime::component::Access<'_, T, Self>,
        connection: Resource<GuestConnection>,
    ) -> wasmtime::Result<u64> {
        Ok(store.get().connection(&connection)?.stats().changes)
    }

    async fn changes_async(
        store: &Accessor<T, Self>,
        connection: Resource<GuestConnection>,
    ) -> wasmtime::Result<u64> {
        store.with(|mut access| Ok(access.get().connection(&connection)?.stats().changes))
    }
}

/// The query's outcome for the guest's `future<result<_, error>>`.
enum OutcomeSource {
    Ready(Result<(), Error>),
    Pending(oneshot::Receiver<Result<(), Error>>),
}

impl OutcomeSource {
    async fn resolve(self) -> wasmtime::Result<Result<(), Error>> {
        Ok(match self {
            OutcomeSource::Ready(outcome) => outcome,
            OutcomeSource::Pending(outcome) => outcome.await.unwrap_or_else(|_| Err(task_ended())),
        })
    }
}
