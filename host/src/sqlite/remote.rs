//! A database on a libSQL server (`type = "libsql"`), reached through the `libsql` crate's
//! remote client, as Spin reaches it: how several hosts share one database. The server orders
//! and persists writes; this side reuses connections, keeps a guest transaction on one server
//! stream, and bounds every statement by the request deadline.

use super::statement::{Collected, Effects, Memo, Started, Stats};
use crate::bindings::spin::sqlite::sqlite::{Error, RowResult, Value};
use crate::metrics::StatementTimings;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime::Result;
use wasmtime::error::Context as _;

/// Idle connections kept per database.
const MAX_IDLE_CONNECTIONS: usize = 16;

/// Statements in flight at once per database from this host; the others wait here, within
/// their deadline. More only contend for the server's one write lock, and sqld then stalls the
/// database's writes for seconds at a time. Seeding 10,000 listings 32 requests at a time
/// (failures: past the public API's 5 s upstream deadline): unbounded, one host failed 122;
/// 8 per host, one host none but two behind HAProxy 96; 4 per host, none on either, at the
/// same throughput.
const MAX_IN_FLIGHT: usize = 4;

/// The pauses before sending again a statement the server did not run ([`never_ran`]):
/// doubling from the first to the last, until the statement deadline.
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(2);
const LAST_RETRY_PAUSE: Duration = Duration::from_millis(100);

/// How long an idle connection is kept. A connection is a server stream, and sqld expires a
/// stream after 10 s without a request ("Stream handle ... is expired"): one kept longer would
/// fail the next statement sent on it.
const MAX_IDLE_TIME: Duration = Duration::from_secs(5);

/// One database on a libSQL server.
pub struct RemoteDatabase {
    client: libsql::Database,
    url: String,
    /// Each with the moment it was last used; the most recently used last.
    idle: Mutex<Vec<(libsql::Connection, Instant)>>,
    /// Whether each statement text has result columns, learned when it first runs: one without
    /// then goes in a single round trip, with no need to describe it first.
    has_columns: Memo<bool>,
    statement_timeout: Duration,
    metrics: StatementTimings,
    in_flight: tokio::sync::Semaphore,
}

impl RemoteDatabase {
    /// A client for the server at `url`; nothing is sent until a guest runs a statement.
    pub fn open(
        url: &str,
        token: &str,
        statement_timeout: Duration,
        metrics: StatementTimings,
    ) -> Result<Arc<Self>> {
        // Building a remote client does no I/O: blocking on it here is immediate.
        let client = futures::executor::block_on(
            libsql::Builder::new_remote(url.to_owned(), token.to_owned()).build(),
        )
        .with_context(|| format!("cannot set up a libSQL client for {url}"))?;
        Ok(Arc::new(RemoteDatabase {
            client,
            url: url.to_owned(),
            idle: Mutex::default(),
            has_columns: Memo::new(),
            statement_timeout,
            metrics,
            in_flight: tokio::sync::Semaphore::new(MAX_IN_FLIGHT),
        }))
    }

    /// The connection used last, if it is recent enough, else a new one (which opens its
    /// server stream with its first statement).
    fn checkout(&self) -> Result<libsql::Connection, Error> {
        let recent = self.idle.lock().ok().and_then(|mut idle| {
            // Those past the age limit may have lost their server stream.
            idle.retain(|(_, since)| since.elapsed() < MAX_IDLE_TIME);
            idle.pop()
        });
        match recent {
            Some((connection, _)) => Ok(connection),
            None => self.client.connect().map_err(|e| self.error(e)),
        }
    }

    /// Keeps a connection for reuse after a statement that succeeded outside a transaction.
    /// After a failure where its server stream stands is unknown (expired, reset, cut off by
    /// the deadline), so it is dropped and the next statement opens a new one.
    fn checkin(&self, connection: libsql::Connection) {
        if connection.is_autocommit()
            && let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE_CONNECTIONS
        {
            idle.push((connection, Instant::now()));
        }
    }

    /// Runs one statement on `connection` to its end.
    async fn run(
        &self,
        connection: &libsql::Connection,
        sql: &str,
        parameters: libsql::params::Params,
    ) -> Result<Collected, libsql::Error> {
        let rowid_before = connection.last_insert_rowid();
        let written = |connection: &libsql::Connection| {
            let rowid = connection.last_insert_rowid();
            Effects {
                inserted_rowid: (rowid != rowid_before).then_some(rowid),
                // The server counts 0 for any statement; SQLite's `changes` moves only on these.
                changes: changes_rows(sql).then(|| connection.changes()),
            }
        };
        if self.has_columns.get(sql) == Some(false) {
            connection.execute(sql, parameters).await?;
            return Ok(no_rows(written(connection)));
        }
        let statement = connection.prepare(sql).await?;
        let columns: Vec<String> =
            statement.columns().iter().map(|column| column.name().to_owned()).collect();
        self.has_columns.remember(sql, !columns.is_empty());
        if columns.is_empty() {
            statement.execute(parameters).await?;
            return Ok(no_rows(written(connection)));
        }
        let mut rows = statement.query(parameters).await?;
        let mut collected = Vec::new();
        while let Some(row) = rows.next().await? {
            let values = (0..row.column_count())
                .map(|index| row.get_value(index).map(from_libsql))
                .collect::<Result<_, _>>()?;
            collected.push(RowResult { values });
        }
        // The client learns the rows a statement changed, not the rowid of a row-returning one.
        let changes = connection.changes();
        Ok(Collected {
            columns,
            rows: collected,
            effects: Effects { inserted_rowid: None, changes: (changes > 0).then_some(changes) },
        })
    }

    fn error(&self, error: libsql::Error) -> Error {
        Error::Io(format!("libSQL server {}: {error}", self.url))
    }
}

/// Whether `error` says the server did not run the statement at all, so that sending it again
/// (on a new stream) cannot apply it twice: another stream held the write lock past the
/// server's busy timeout (`SQLITE_BUSY`), the stream had expired, or the server refused more
/// connections for now (429). The client reports these only as text.
fn never_ran(error: &libsql::Error) -> bool {
    let text = error.to_string();
    ["SQLITE_BUSY", "is expired", "429 Too Many Requests", "DbCreateTimeout"]
        .iter()
        .any(|sign| text.contains(sign))
}

/// Whether `sql` is an INSERT, REPLACE, UPDATE or DELETE (or one after a WITH): the statements
/// whose count of changed rows SQLite's `changes` reports; any other leaves it as it was.
fn changes_rows(sql: &str) -> bool {
    let mut rest = sql.trim_start();
    // Comments before the first keyword.
    loop {
        if let Some(line) = rest.strip_prefix("--") {
            rest = line.split_once('\n').map_or("", |(_, after)| after).trim_start();
        } else if let Some(block) = rest.strip_prefix("/*") {
            rest = block.split_once("*/").map_or("", |(_, after)| after).trim_start();
        } else {
            break;
        }
    }
    let keyword = &rest[..rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len())];
    ["INSERT", "REPLACE", "UPDATE", "DELETE", "WITH"]
        .iter()
        .any(|writes| keyword.eq_ignore_ascii_case(writes))
}

fn no_rows(effects: Effects) -> Collected {
    Collected { columns: Vec::new(), rows: Vec::new(), effects }
}

fn to_libsql(value: Value) -> libsql::Value {
    match value {
        Value::Integer(i) => libsql::Value::Integer(i),
        Value::Real(f) => libsql::Value::Real(f),
        Value::Text(t) => libsql::Value::Text(t),
        Value::Blob(b) => libsql::Value::Blob(b),
        Value::Null => libsql::Value::Null,
    }
}

fn from_libsql(value: libsql::Value) -> Value {
    match value {
        libsql::Value::Integer(i) => Value::Integer(i),
        libsql::Value::Real(f) => Value::Real(f),
        libsql::Value::Text(t) => Value::Text(t),
        libsql::Value::Blob(b) => Value::Blob(b),
        libsql::Value::Null => Value::Null,
    }
}

/// A guest's connection to a libSQL database: its statements in order, its own
/// `last-insert-rowid` and `changes`, and its transaction on one server stream.
pub struct Session {
    database: Arc<RemoteDatabase>,
    /// The connection of an open transaction; the lock also keeps statements in order.
    pinned: tokio::sync::Mutex<Option<libsql::Connection>>,
    stats: Mutex<Stats>,
}

impl Session {
    pub fn new(database: Arc<RemoteDatabase>) -> Self {
        Session { database, pinned: tokio::sync::Mutex::new(None), stats: Mutex::default() }
    }

    /// Runs `sql` to its end, within the statement deadline.
    pub async fn execute(&self, sql: String, parameters: Vec<Value>) -> Result<Started, Error> {
        let queued = Instant::now();
        let timeout = self.database.statement_timeout;
        let deadline = tokio::time::Instant::from_std(queued + timeout);
        let mut pinned = self.pinned.lock().await;
        let slot = tokio::time::timeout_at(deadline, self.database.in_flight.acquire()).await;
        let Ok(Ok(slot)) = slot else {
            return Err(Error::Io(format!(
                "libSQL server {}: no statement could start within {timeout:?}",
                self.database.url
            )));
        };
        let started = Instant::now();
        let connection = match pinned.take() {
            Some(connection) => connection,
            None => self.database.checkout()?,
        };
        let parameters =
            libsql::params::Params::Positional(parameters.into_iter().map(to_libsql).collect());
        let outcome = tokio::time::timeout_at(deadline, async {
            let (mut connection, mut slot) = (connection, slot);
            let mut pause = FIRST_RETRY_PAUSE;
            loop {
                let in_transaction = !connection.is_autocommit();
                let result = self.database.run(&connection, &sql, parameters.clone()).await;
                match result {
                    // Outside a transaction such a statement is sent again, on a new stream,
                    // until it runs or the deadline; inside one the guest decides. Its slot is
                    // given up while it waits: the server is often busy with a guest
                    // transaction, whose next statement needs a slot to end it.
                    Err(error) if !in_transaction && never_ran(&error) => {
                        drop((connection, slot));
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(LAST_RETRY_PAUSE);
                        slot = self.database.in_flight.acquire().await.map_err(|_| {
                            Error::Io("the libSQL statement slots are closed".to_string())
                        })?;
                        connection = self.database.checkout()?;
                    }
                    result => return Ok((connection, result)),
                }
            }
        })
        .await;
        self.database.metrics.observe(started - queued, started.elapsed());
        let Ok(attempted) = outcome else {
            // The connection is dropped: where its server stream stands is unknown.
            return Err(Error::Io(format!(
                "libSQL server {} did not answer within {timeout:?}",
                self.database.url
            )));
        };
        let (connection, result) = attempted?;
        if !connection.is_autocommit() {
            // A failing statement inside the guest's transaction leaves it open, for its
            // ROLLBACK to reach the same stream.
            *pinned = Some(connection);
        } else if result.is_ok() {
            self.database.checkin(connection);
        }
        let collected = result.map_err(|e| self.database.error(e))?;
        if let Ok(mut stats) = self.stats.lock() {
            stats.record(collected.effects);
        }
        Ok(collected.into_started())
    }

    pub fn stats(&self) -> Stats {
        self.stats.lock().map(|stats| *stats).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::changes_rows;

    #[test]
    fn only_the_statements_that_change_rows_move_changes() {
        for sql in [
            "INSERT INTO t VALUES (1)",
            "  replace into t values (1)",
            "UPDATE t SET a = 1",
            "-- why\n/* how */ DELETE FROM t",
            "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
        ] {
            assert!(changes_rows(sql), "{sql}");
        }
        for sql in [
            "BEGIN",
            "COMMIT",
            "CREATE TABLE t (a)",
            "SELECT 1",
            "PRAGMA user_version = 1",
            "/* INSERT */ SELECT 1",
            "INSERTED",
            "",
        ] {
            assert!(!changes_rows(sql), "{sql}");
        }
    }
}
