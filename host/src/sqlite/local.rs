//! A database file: its [`Writer`] and a pool of read-only connections. Each statement goes
//! where it belongs: a read to a reader (never waiting for the writer), a write to the writer,
//! and everything of a guest transaction to the writer that holds it.

use super::SqliteOptions;
use super::connection::{Connection, Guard, Kind};
use super::statement::{self, Effects, Memo, Sinks, Started, Stats};
use super::writer::{Scope, SessionId, Writer};
use crate::bindings::spin::sqlite::sqlite::{Error, Value};
use crate::metrics::DatabaseMetrics;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use wasmtime::Result;
use wasmtime::error::Context as _;

/// A read that is over within this long runs on the executor thread that asks for it, with no
/// hand-off to a blocking thread and back; a longer one is stopped there and handed off. Short
/// enough that the executor is never held up for long.
const INLINE_READ_BUDGET: Duration = Duration::from_micros(250);
/// ... and that returns at most this many rows.
const INLINE_READ_ROWS: usize = 256;

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
    kinds: Memo<Kind>,
    statement_timeout: Duration,
    metrics: DatabaseMetrics,
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
        let metrics = options.metrics.local_database(label);
        Ok(Arc::new(LocalDatabase {
            path: path.to_path_buf(),
            writer: Writer::spawn(writer, label, metrics.clone())
                .context("cannot start the writer thread")?,
            readers: Mutex::new(vec![first_reader]),
            read_slots: Arc::new(Semaphore::new(max_readers)),
            max_readers,
            kinds: Memo::new(),
            statement_timeout: options.statement_timeout,
            metrics,
        }))
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
        if let Some(kind) = self.kinds.get(sql) {
            return Ok(kind);
        }
        let text = sql.to_owned();
        let kind = self
            .with_reader(move |reader| reader.and_then(|reader| reader.classify(&text)))
            .await?
            .await
            .unwrap_or_else(|_| Err(statement::task_ended()))?;
        self.kinds.remember(sql, kind);
        Ok(kind)
    }

    /// Starts a read on a reader; the rest of its rows stream from there.
    async fn read(self: &Arc<Self>, sql: String, parameters: Vec<Value>) -> Result<Started, Error> {
        if let Some(started) = self.try_read_here(&sql, &parameters) {
            return started;
        }
        let (guard, abandon) = Guard::new(self.statement_timeout);
        let (sinks, receivers) = Sinks::new();
        let (asked, timings) = (Instant::now(), self.metrics.read.clone());
        // Not awaited: the statement reports through `sinks` and goes on streaming.
        let _running = self
            .with_reader(move |reader| match reader {
                Ok(reader) => {
                    let running = Instant::now();
                    statement::stream(reader, &sql, &parameters, &guard, sinks);
                    timings.observe(running - asked, running.elapsed());
                }
                Err(error) => sinks.fail(error),
            })
            .await?;
        receivers.started(abandon).await
    }

    /// A small read on an idle reader within a free read slot, right here (see
    /// [`INLINE_READ_BUDGET`]); `None` when it is not small or nothing is free.
    fn try_read_here(&self, sql: &str, parameters: &[Value]) -> Option<Result<Started, Error>> {
        let _slot = self.read_slots.try_acquire().ok()?;
        let reader = self.readers.lock().ok()?.pop()?;
        let (budget, _abandon) = Guard::new(INLINE_READ_BUDGET);
        let running = Instant::now();
        let read = statement::try_read(&reader, sql, parameters, &budget, INLINE_READ_ROWS);
        self.checkin_reader(reader);
        if read.is_some() {
            self.metrics.read.observe(Duration::ZERO, running.elapsed());
        }
        read
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
            .run(self.id, scope, sql, parameters, self.database.statement_timeout)
            .await;
        *in_transaction = outcome.in_transaction;
        let collected = outcome.result?;
        self.record(collected.effects);
        Ok(collected.into_started())
    }

    pub fn stats(&self) -> Stats {
        self.stats.lock().map(|stats| *stats).unwrap_or_default()
    }

    fn record(&self, effects: Effects) {
        if let Ok(mut stats) = self.stats.lock() {
            stats.record(effects);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::Durability;
    use crate::sqlite::statement::Rest;

    fn database(dir: &Path, statement_timeout: Duration) -> Arc<LocalDatabase> {
        let options = SqliteOptions {
            durability: Durability::Machine,
            statement_timeout,
            readers_per_database: 4,
            metrics: Arc::default(),
        };
        LocalDatabase::open(&dir.join("test.db"), "test", &options).unwrap()
    }

    async fn run(session: &Session, sql: &str) -> Result<Vec<Vec<Value>>, Error> {
        run_with(session, sql, Vec::new()).await
    }

    async fn run_with(
        session: &Session,
        sql: &str,
        parameters: Vec<Value>,
    ) -> Result<Vec<Vec<Value>>, Error> {
        let started = session.execute(sql.to_owned(), parameters).await?;
        let mut rows: Vec<Vec<Value>> = started.first_rows.into_iter().map(|r| r.values).collect();
        match started.rest {
            Rest::Done(outcome) => outcome?,
            Rest::Streaming { rows: mut rest, outcome } => {
                while let Some(batch) = rest.recv().await {
                    rows.extend(batch.into_iter().map(|r| r.values));
                }
                outcome.await.unwrap_or_else(|_| Err(statement::task_ended()))?;
            }
        }
        Ok(rows)
    }

    async fn count(session: &Session) -> i64 {
        match run(session, "SELECT count(*) FROM t").await.unwrap()[0][0] {
            Value::Integer(n) => n,
            ref other => panic!("count is {other:?}"),
        }
    }

    async fn with_table(database: &Arc<LocalDatabase>) -> Session {
        let session = Session::new(database.clone());
        run(&session, "CREATE TABLE t (x INTEGER CHECK (x >= 0))").await.unwrap();
        session
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_commit_together_and_a_failing_one_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let database = database(dir.path(), Duration::from_secs(30));
        let reader = with_table(&database).await;
        let writes: Vec<_> = (0..200)
            .map(|n| {
                let database = database.clone();
                tokio::spawn(async move {
                    let session = Session::new(database);
                    // Every tenth breaks the CHECK constraint.
                    let x = if n % 10 == 0 { -1 } else { n };
                    let result =
                        run_with(&session, "INSERT INTO t VALUES (?)", vec![Value::Integer(x)])
                            .await;
                    (n, result, session.stats())
                })
            })
            .collect();
        let mut failed = 0;
        for write in writes {
            let (n, result, stats) = write.await.unwrap();
            if n % 10 == 0 {
                assert!(
                    matches!(&result, Err(Error::Io(m)) if m.contains("CHECK")),
                    "{n}: {result:?}"
                );
                failed += 1;
            } else {
                assert!(result.is_ok(), "{n}: {result:?}");
                assert_eq!(stats.changes, 1);
                assert!(stats.last_insert_rowid > 0);
            }
        }
        assert_eq!(failed, 20);
        assert_eq!(count(&reader).await, 180);
        let (commits, writes) =
            (database.metrics.commits.get(), database.metrics.committed_writes.get());
        // The CREATE TABLE and the 200 inserts, in fewer commits than writes.
        assert_eq!(writes, 201);
        assert!(commits < writes / 2, "{commits} commits for {writes} writes");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_guest_transaction_holds_the_writer_until_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let database = database(dir.path(), Duration::from_secs(30));
        let owner = with_table(&database).await;
        run(&owner, "BEGIN").await.unwrap();
        run(&owner, "INSERT INTO t VALUES (1)").await.unwrap();
        // Inside the transaction its own write is visible; outside it is not yet.
        assert_eq!(count(&owner).await, 1);
        let other = Session::new(database.clone());
        assert_eq!(count(&other).await, 0);
        let waiting = tokio::spawn(async move {
            run(&other, "INSERT INTO t VALUES (2)").await.unwrap();
            other
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiting.is_finished(), "a write ran inside another guest's transaction");
        run(&owner, "ROLLBACK").await.unwrap();
        let other = waiting.await.unwrap();
        assert_eq!(count(&other).await, 1, "the rolled back write is gone");

        run(&owner, "BEGIN").await.unwrap();
        run(&owner, "INSERT INTO t VALUES (3)").await.unwrap();
        run(&owner, "COMMIT").await.unwrap();
        assert_eq!(count(&other).await, 2);
        // A COMMIT without a transaction is SQLite's error, as ever.
        assert!(run(&owner, "COMMIT").await.is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_transaction_left_open_is_rolled_back_and_the_writer_moves_on() {
        let dir = tempfile::tempdir().unwrap();
        let database = database(dir.path(), Duration::from_millis(300));
        let setup = with_table(&database).await;
        // Dropped with its transaction open (as when an instance is dropped).
        let dropped = Session::new(database.clone());
        run(&dropped, "BEGIN").await.unwrap();
        run(&dropped, "INSERT INTO t VALUES (1)").await.unwrap();
        drop(dropped);
        run(&setup, "INSERT INTO t VALUES (2)").await.unwrap();
        assert_eq!(count(&setup).await, 1);

        // Still open at the deadline of the request that began it.
        let slow = Session::new(database.clone());
        run(&slow, "BEGIN").await.unwrap();
        run(&slow, "INSERT INTO t VALUES (3)").await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        run(&setup, "INSERT INTO t VALUES (4)").await.unwrap();
        let late = run(&slow, "COMMIT").await;
        assert!(matches!(&late, Err(Error::Io(m)) if m.contains("rolled back")), "{late:?}");
        assert_eq!(count(&setup).await, 2);
        // The session is usable again, outside any transaction.
        run(&slow, "INSERT INTO t VALUES (5)").await.unwrap();
        assert_eq!(count(&setup).await, 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_goes_through_while_a_long_read_streams() {
        let dir = tempfile::tempdir().unwrap();
        let database = database(dir.path(), Duration::from_secs(30));
        let session = with_table(&database).await;
        run(
            &session,
            "INSERT INTO t WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
             WHERE i < 10000) SELECT i FROM n",
        )
        .await
        .unwrap();
        let reading = Session::new(database.clone());
        let started = reading.execute("SELECT x FROM t".to_owned(), Vec::new()).await.unwrap();
        let Rest::Streaming { rows, .. } = started.rest else {
            panic!("10,000 rows came in one batch");
        };
        // The stream is open and unread: its reader holds a read transaction.
        let write =
            tokio::time::timeout(Duration::from_secs(5), run(&session, "INSERT INTO t VALUES (0)"))
                .await;
        assert!(matches!(write, Ok(Ok(_))), "{write:?}");
        assert_eq!(count(&session).await, 10_001);
        drop(rows);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_runaway_statement_is_cut_off_and_the_next_one_runs() {
        let dir = tempfile::tempdir().unwrap();
        let database = database(dir.path(), Duration::from_millis(200));
        let session = with_table(&database).await;
        let endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) \
                       SELECT count(*) FROM n";
        let cut = run(&session, endless).await;
        assert!(matches!(&cut, Err(Error::Io(m)) if m.starts_with("interrupted")), "{cut:?}");
        let endless_write = "INSERT INTO t WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL \
                             SELECT i + 1 FROM n) SELECT i FROM n";
        let cut = run(&session, endless_write).await;
        assert!(matches!(&cut, Err(Error::Io(m)) if m.starts_with("interrupted")), "{cut:?}");
        run(&session, "INSERT INTO t VALUES (1)").await.unwrap();
        assert_eq!(count(&session).await, 1);
    }
}
