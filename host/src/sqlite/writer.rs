//! The one writer of a database file: every statement that changes it runs on one connection,
//! on one thread, so writers never wait on each other through SQLite's busy handler.
//!
//! Group commit: the writes waiting at a given moment commit together, in one transaction with
//! one sync, each inside its own savepoint so that a failing statement fails only its own
//! request; every request hears of its write only once the commit is durable. A guest's own
//! transaction (`BEGIN` ... `COMMIT`) holds the writer until it ends, at the latest at the
//! deadline of the request that began it.

use super::connection::{Abandon, Connection, Guard};
use super::statement::{self, Collected};
use crate::bindings::spin::sqlite::sqlite::{Error, Value};
use crate::metrics::{DatabaseMetrics, StatementTimings};
use std::collections::VecDeque;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Writes committed together at most. Bounds the work a failed commit undoes.
const MAX_BATCH: usize = 256;

/// Identifies a guest connection to the writer, so its transaction can be told apart.
pub type SessionId = u64;

/// How the writer runs a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A write: committed with whatever else is waiting.
    Batch,
    /// Transaction control (`BEGIN`...): run on its own; may open a guest transaction.
    Alone,
    /// A statement of the guest transaction the session has open.
    Transaction,
}

/// A statement's result once it is durable (or, inside a guest transaction, once it ran).
pub struct Outcome {
    pub result: Result<Collected, Error>,
    /// Whether the session has a transaction open after this statement.
    pub in_transaction: bool,
}

/// The handle through which statements reach a database's writer thread.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Message>,
}

enum Message {
    Run(Job),
    /// The guest connection is gone: roll back its transaction, if it has one open.
    End(SessionId),
}

struct Job {
    session: SessionId,
    scope: Scope,
    /// When it was handed to the writer.
    queued_at: Instant,
    sql: String,
    parameters: Vec<Value>,
    guard: Guard,
    reply: oneshot::Sender<Outcome>,
}

impl Job {
    fn answer(self, result: Result<Collected, Error>, in_transaction: bool) {
        let _ = self.reply.send(Outcome { result, in_transaction });
    }
}

impl Writer {
    /// Starts the writer thread of `connection`; it ends when the last handle is dropped.
    pub fn spawn(
        connection: Connection,
        name: &str,
        metrics: DatabaseMetrics,
    ) -> std::io::Result<Writer> {
        let (queue, jobs) = mpsc::channel();
        let thread = WriterThread { connection, jobs, waiting: VecDeque::new(), metrics };
        std::thread::Builder::new()
            .name(format!("sqlite-writer-{name}"))
            .spawn(move || thread.run())?;
        Ok(Writer { queue })
    }

    /// Runs `sql` on the writer; answers once it is durable (see [`Scope`]). Dropping the
    /// returned future abandons the statement if it has not run yet.
    pub async fn run(
        &self,
        session: SessionId,
        scope: Scope,
        sql: String,
        parameters: Vec<Value>,
        timeout: Duration,
    ) -> Outcome {
        let (guard, abandon): (Guard, Abandon) = Guard::new(timeout);
        let (reply, answer) = oneshot::channel();
        let job = Job { session, scope, queued_at: Instant::now(), sql, parameters, guard, reply };
        let gone = || Outcome {
            result: Err(Error::Io("the database writer has stopped".into())),
            in_transaction: false,
        };
        if self.queue.send(Message::Run(job)).is_err() {
            return gone();
        }
        let outcome = answer.await.unwrap_or_else(|_| gone());
        drop(abandon);
        outcome
    }

    /// Tells the writer that `session` is gone.
    pub fn end(&self, session: SessionId) {
        let _ = self.queue.send(Message::End(session));
    }
}

struct WriterThread {
    connection: Connection,
    jobs: mpsc::Receiver<Message>,
    /// Messages taken off the queue but not served yet: the statement that ended a batch, and
    /// what other sessions sent while a guest transaction held the writer.
    waiting: VecDeque<Message>,
    metrics: DatabaseMetrics,
}

impl WriterThread {
    /// Serves statements until every [`Writer`] handle is gone.
    fn run(mut self) {
        while let Some(message) = self.next() {
            let Message::Run(job) = message else {
                // A session without an open transaction ended: nothing to undo.
                continue;
            };
            match job.scope {
                Scope::Batch => {
                    let batch = self.gather(job);
                    self.commit(batch);
                }
                Scope::Alone => self.run_alone(job),
                // The session believes its transaction is open, but it was rolled back.
                Scope::Transaction => job.answer(
                    Err(Error::Io(
                        "the transaction was rolled back: it was still open at the deadline \
                         of the request that began it"
                            .into(),
                    )),
                    false,
                ),
            }
        }
    }

    fn next(&mut self) -> Option<Message> {
        self.waiting.pop_front().or_else(|| self.jobs.recv().ok())
    }

    /// `first` and every write already waiting behind it, up to the first that is not one.
    fn gather(&mut self, first: Job) -> Vec<Job> {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match self.waiting.pop_front().or_else(|| self.jobs.try_recv().ok()) {
                Some(Message::Run(job)) if job.scope == Scope::Batch => batch.push(job),
                Some(Message::End(_)) => {}
                Some(other) => {
                    self.waiting.push_front(other);
                    break;
                }
                None => break,
            }
        }
        batch
    }

    /// Commits `batch` in one transaction, one savepoint per statement.
    fn commit(&mut self, batch: Vec<Job>) {
        let mut batch = VecDeque::from(batch);
        while !batch.is_empty() {
            batch = self.try_commit(batch);
        }
    }

    /// One attempt at committing `batch`; returns the jobs to try again, when SQLite undid the
    /// whole transaction because of one statement (which alone is answered with its error).
    fn try_commit(&mut self, mut batch: VecDeque<Job>) -> VecDeque<Job> {
        if let Err(error) = self.execute("BEGIN IMMEDIATE") {
            for job in batch {
                job.answer(Err(error.clone()), false);
            }
            return VecDeque::new();
        }
        let mut done: Vec<(Job, Result<Collected, Error>)> = Vec::with_capacity(batch.len());
        while let Some(job) = batch.pop_front() {
            if job.guard.should_stop() {
                job.answer(Err(abandoned()), false);
                continue;
            }
            let result = self
                .execute("SAVEPOINT statement")
                .and_then(|()| self.run_job(&job, &self.metrics.write));
            if result.is_err() && self.connection.sqlite.is_autocommit() {
                // SQLite rolled back the whole transaction (I/O error, full disk, interrupt):
                // the statements before this one are undone and run again in a new one.
                job.answer(result, false);
                for (earlier, _) in done.into_iter().rev() {
                    batch.push_front(earlier);
                }
                return batch;
            }
            let undo = if result.is_err() { self.execute("ROLLBACK TO statement") } else { Ok(()) };
            if let Err(error) = undo.and_then(|()| self.execute("RELEASE statement")) {
                // The savepoint machinery itself failed: nothing in this transaction is safe.
                self.rollback();
                job.answer(Err(error.clone()), false);
                for (earlier, _) in done {
                    earlier.answer(Err(error.clone()), false);
                }
                for later in batch {
                    later.answer(Err(error.clone()), false);
                }
                return VecDeque::new();
            }
            done.push((job, result));
        }
        match self.execute("COMMIT") {
            Ok(()) => {
                self.metrics.commits.inc();
                self.metrics.committed_writes.inc_by(done.len() as u64);
                for (job, result) in done {
                    job.answer(result, false);
                }
            }
            Err(error) => {
                tracing::error!("sqlite commit failed: {error:?}");
                self.rollback();
                for (job, result) in done {
                    job.answer(result.and(Err(error.clone())), false);
                }
            }
        }
        VecDeque::new()
    }

    /// A transaction-control statement; if it opens a transaction, serves that until it ends.
    fn run_alone(&mut self, job: Job) {
        let result = self.run_job(&job, &self.metrics.transaction);
        let in_transaction = !self.connection.sqlite.is_autocommit();
        let (session, deadline) = (job.session, job.guard.deadline());
        job.answer(result, in_transaction);
        if in_transaction {
            self.serve_transaction(session, deadline);
        }
    }

    /// Serves only `owner` until its transaction ends; other sessions' statements wait.
    fn serve_transaction(&mut self, owner: SessionId, deadline: Instant) {
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.jobs.recv_timeout(wait) {
                Ok(Message::Run(job)) if job.session == owner => {
                    let result = self.run_job(&job, &self.metrics.transaction);
                    let in_transaction = !self.connection.sqlite.is_autocommit();
                    job.answer(result, in_transaction);
                    if !in_transaction {
                        return;
                    }
                }
                Ok(Message::End(session)) if session == owner => {
                    self.rollback();
                    return;
                }
                Ok(Message::End(_)) => {}
                Ok(other) => self.waiting.push_back(other),
                Err(RecvTimeoutError::Timeout) => {
                    tracing::warn!(
                        "rolled back a guest transaction still open at its request deadline"
                    );
                    self.rollback();
                    return;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.rollback();
                    return;
                }
            }
        }
    }

    /// Runs a job's statement, counting how long it waited and ran.
    fn run_job(&self, job: &Job, timings: &StatementTimings) -> Result<Collected, Error> {
        let running = Instant::now();
        let result = statement::collect(&self.connection, &job.sql, &job.parameters, &job.guard);
        timings.observe(running - job.queued_at, running.elapsed());
        result
    }

    fn execute(&self, sql: &str) -> Result<(), Error> {
        self.connection
            .sqlite
            .prepare_cached(sql)
            .and_then(|mut statement| statement.raw_execute())
            .map(drop)
            .map_err(|e| self.connection.error(e))
    }

    fn rollback(&self) {
        if !self.connection.sqlite.is_autocommit()
            && let Err(error) = self.execute("ROLLBACK")
        {
            tracing::error!("sqlite rollback failed: {error:?}");
        }
    }
}

fn abandoned() -> Error {
    Error::Io("the request ended before its statement ran".into())
}
