//! Running one guest statement on one connection: prepared (cached), bound, stepped, its rows
//! turned into guest values, either streamed in batches (reads) or collected (writes, which
//! answer only once committed).

use super::connection::{Abandon, Connection, Guard};
use crate::bindings::spin::sqlite::sqlite::{Error, RowResult, Value};
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::collections::HashMap;
use std::sync::Mutex;
use std::task::{Context, Poll};
use tokio::sync::{mpsc, oneshot};

/// Rows handed to the guest per stream read; also what the first reply carries inline, so a
/// typical page needs no second hop.
const ROW_BATCH: usize = 64;
/// Statement texts a [`Memo`] remembers before it starts over.
const MEMO_CAPACITY: usize = 1024;

/// What is known of each statement text of one database, learned when it first runs. Past
/// [`MEMO_CAPACITY`] texts it starts over: a guest that builds SQL text per request must not
/// grow it without bound.
pub struct Memo<T>(Mutex<HashMap<Box<str>, T>>);

impl<T: Copy> Memo<T> {
    pub fn new() -> Self {
        Memo(Mutex::new(HashMap::new()))
    }

    pub fn get(&self, sql: &str) -> Option<T> {
        self.0.lock().ok()?.get(sql).copied()
    }

    pub fn remember(&self, sql: &str, value: T) {
        if let Ok(mut known) = self.0.lock() {
            if known.len() >= MEMO_CAPACITY {
                known.clear();
            }
            known.insert(sql.into(), value);
        }
    }
}

/// How a statement started: its columns and first rows, and either its outcome (when it fit in
/// the first batch) or the channels the rest arrives on.
pub struct Started {
    pub columns: Vec<String>,
    pub first_rows: Vec<RowResult>,
    pub rest: Rest,
}

pub enum Rest {
    Done(Result<(), Error>),
    Streaming { rows: RowStream, outcome: oneshot::Receiver<Result<(), Error>> },
}

/// The rows after the first batch, as the statement produces them.
pub struct RowStream {
    rows: mpsc::Receiver<Vec<RowResult>>,
    /// Dropped with the stream: stops the statement if it is still running.
    _abandon: Abandon,
}

impl RowStream {
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Vec<RowResult>>> {
        self.rows.poll_recv(cx)
    }

    pub async fn recv(&mut self) -> Option<Vec<RowResult>> {
        self.rows.recv().await
    }
}

/// A statement run to its end.
pub struct Collected {
    pub columns: Vec<String>,
    pub rows: Vec<RowResult>,
    pub effects: Effects,
}

impl Collected {
    /// As a statement that has started and already ended.
    pub fn into_started(self) -> Started {
        Started { columns: self.columns, first_rows: self.rows, rest: Rest::Done(Ok(())) }
    }
}

/// What a statement changed of the connection's `last-insert-rowid` and `changes`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Effects {
    pub inserted_rowid: Option<i64>,
    pub changes: Option<u64>,
}

/// What a guest connection's `last-insert-rowid` and `changes` report: its own statements'
/// effects, whichever connection to the database ran them.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub last_insert_rowid: i64,
    pub changes: u64,
}

impl Stats {
    pub fn record(&mut self, effects: Effects) {
        if let Some(rowid) = effects.inserted_rowid {
            self.last_insert_rowid = rowid;
        }
        if let Some(changes) = effects.changes {
            self.changes = changes;
        }
    }
}

/// The first batch of a streamed read, as the blocking thread reports it.
pub struct FirstBatch {
    columns: Vec<String>,
    rows: Vec<RowResult>,
    complete: bool,
}

/// Where a streamed read sends its results; [`Sinks::started`] is the other end.
pub struct Sinks {
    first: oneshot::Sender<Result<FirstBatch, Error>>,
    rows: mpsc::Sender<Vec<RowResult>>,
    outcome: oneshot::Sender<Result<(), Error>>,
}

/// The receiving end of [`Sinks`].
pub struct Receivers {
    first: oneshot::Receiver<Result<FirstBatch, Error>>,
    rows: mpsc::Receiver<Vec<RowResult>>,
    outcome: oneshot::Receiver<Result<(), Error>>,
}

impl Sinks {
    pub fn new() -> (Sinks, Receivers) {
        let (first_tx, first) = oneshot::channel();
        let (rows_tx, rows) = mpsc::channel(2);
        let (outcome_tx, outcome) = oneshot::channel();
        let sinks = Sinks { first: first_tx, rows: rows_tx, outcome: outcome_tx };
        (sinks, Receivers { first, rows, outcome })
    }

    /// Reports that the statement could not start.
    pub fn fail(self, error: Error) {
        let _ = self.first.send(Err(error));
    }
}

impl Receivers {
    /// Waits for the first batch; `abandon` goes with the stream of the rest.
    pub async fn started(self, abandon: Abandon) -> Result<Started, Error> {
        let first = self.first.await.unwrap_or_else(|_| Err(task_ended()))?;
        Ok(Started {
            columns: first.columns,
            first_rows: first.rows,
            rest: if first.complete {
                Rest::Done(Ok(()))
            } else {
                Rest::Streaming {
                    rows: RowStream { rows: self.rows, _abandon: abandon },
                    outcome: self.outcome,
                }
            },
        })
    }
}

/// The outcome when a statement's thread is gone without reporting one.
pub fn task_ended() -> Error {
    Error::Io("the statement's thread ended unexpectedly".into())
}

/// Runs a read (on a blocking thread), reporting its first batch, then streaming the rest;
/// stops early once the guest drops the stream.
pub fn stream(
    connection: &Connection,
    sql: &str,
    parameters: &[Value],
    guard: &Guard,
    sinks: Sinks,
) {
    connection.guarded(guard, |connection| {
        let mut statement = match prepare(connection, sql, parameters) {
            Ok(statement) => statement,
            Err(error) => {
                let _ = sinks.first.send(Err(error));
                return;
            }
        };
        let columns = column_names(&statement);
        let mut rows = statement.raw_query();
        let mut batch = Vec::new();
        let complete = match fill_batch(connection, &mut rows, &mut batch, ROW_BATCH) {
            Ok(complete) => complete,
            Err(error) => {
                let _ = sinks.first.send(Err(error));
                return;
            }
        };
        let first = FirstBatch { columns, rows: std::mem::take(&mut batch), complete };
        if sinks.first.send(Ok(first)).is_err() || complete {
            return;
        }
        let outcome = loop {
            match fill_batch(connection, &mut rows, &mut batch, ROW_BATCH) {
                Ok(done) => {
                    if !batch.is_empty()
                        && sinks.rows.blocking_send(std::mem::take(&mut batch)).is_err()
                    {
                        // The guest dropped the stream: stop, free the connection.
                        break Ok(());
                    }
                    if done {
                        break Ok(());
                    }
                }
                Err(error) => break Err(error),
            }
        };
        let _ = sinks.outcome.send(outcome);
    })
}

/// Runs a small read to its end right here: `None` once it goes past `budget` or past
/// `max_rows` rows (it is stopped, and the caller runs it again where it may take its time).
pub fn try_read(
    connection: &Connection,
    sql: &str,
    parameters: &[Value],
    budget: &Guard,
    max_rows: usize,
) -> Option<Result<Started, Error>> {
    connection.guarded(budget, |connection| {
        let mut statement = match prepare(connection, sql, parameters) {
            Ok(statement) => statement,
            Err(error) => return Some(Err(error)),
        };
        let columns = column_names(&statement);
        let mut rows = Vec::new();
        let mut stepping = statement.raw_query();
        match fill_batch(connection, &mut stepping, &mut rows, max_rows + 1) {
            Ok(true) => Some(Ok(Started { columns, first_rows: rows, rest: Rest::Done(Ok(())) })),
            // More rows than `max_rows`, or stopped at the budget.
            Ok(false) => None,
            Err(_) if budget.should_stop() => None,
            Err(error) => Some(Err(error)),
        }
    })
}

/// Runs a statement to its end, with what it did to `last-insert-rowid` and `changes`.
pub fn collect(
    connection: &Connection,
    sql: &str,
    parameters: &[Value],
    guard: &Guard,
) -> Result<Collected, Error> {
    connection.guarded(guard, |connection| {
        let rowid_before = connection.sqlite.last_insert_rowid();
        let mut statement = prepare(connection, sql, parameters)?;
        let columns = column_names(&statement);
        let readonly = statement.readonly();
        let mut rows = Vec::new();
        let mut stepping = statement.raw_query();
        fill_batch(connection, &mut stepping, &mut rows, usize::MAX)?;
        drop(stepping);
        let rowid = connection.sqlite.last_insert_rowid();
        let effects = Effects {
            inserted_rowid: (rowid != rowid_before).then_some(rowid),
            changes: (!readonly).then(|| connection.sqlite.changes()),
        };
        Ok(Collected { columns, rows, effects })
    })
}

fn prepare<'c>(
    connection: &'c Connection,
    sql: &str,
    parameters: &[Value],
) -> Result<rusqlite::CachedStatement<'c>, Error> {
    let mut statement = connection.sqlite.prepare_cached(sql).map_err(|e| connection.error(e))?;
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
        statement.raw_bind_parameter(index + 1, value).map_err(|e| connection.error(e))?;
    }
    Ok(statement)
}

fn column_names(statement: &rusqlite::Statement<'_>) -> Vec<String> {
    statement.column_names().into_iter().map(str::to_owned).collect()
}

/// Steps rows into `batch` until it holds `limit`; `Ok(true)` once the result set is exhausted.
fn fill_batch(
    connection: &Connection,
    rows: &mut rusqlite::Rows<'_>,
    batch: &mut Vec<RowResult>,
    limit: usize,
) -> Result<bool, Error> {
    while batch.len() < limit {
        let Some(row) = rows.next().map_err(|e| connection.error(e))? else {
            return Ok(true);
        };
        let count = row.as_ref().column_count();
        let mut values = Vec::with_capacity(count);
        for index in 0..count {
            values.push(match row.get_ref(index).map_err(|e| connection.error(e))? {
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
