//! One SQLite connection as guests use it: opened with this host's settings, and held inside
//! the guest's own database by an authorizer. Its [`Policy`] also tells which statements
//! control transactions, which SQLite's read-only flag does not.

use super::Durability;
use crate::bindings::spin::sqlite::sqlite::Error;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::limits::Limit;
use rusqlite::{ErrorCode, OpenFlags};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Page cache per connection (KiB). Small: every connection reads the same file, which the OS
/// caches once; SQLite's default (2 MiB) times the pool measured 200 MB RSS at a million rows.
const PAGE_CACHE_KIB: i64 = 1024;
/// Prepared statements cached per connection.
const STATEMENT_CACHE: usize = 64;
/// How long a write waits for another process holding the file's write lock. Within this host
/// one writer thread per file means writers never wait for each other.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// SQLite virtual-machine steps between two checks of a statement's [`Guard`].
const GUARD_INTERVAL_OPS: i32 = 4096;

/// What a statement does, as far as where it may run is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Reads only: any reader connection may run it.
    Read,
    /// Changes the database: the writer runs it, in a group commit.
    Write,
    /// `BEGIN`, `COMMIT`, `SAVEPOINT`...: the writer runs it alone, and a transaction it opens
    /// holds the writer until it ends.
    Transaction,
}

/// A connection with this host's settings and authorizer.
pub struct Connection {
    pub sqlite: rusqlite::Connection,
    policy: Arc<Policy>,
}

impl Connection {
    /// The connection that writes `path`, creating the file (in WAL mode) if needed.
    pub fn open_writer(path: &Path, durability: Durability) -> wasmtime::Result<Self> {
        let sqlite = rusqlite::Connection::open(path)?;
        let mode: String = sqlite.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        wasmtime::ensure!(
            mode.eq_ignore_ascii_case("wal"),
            "cannot enable WAL (journal mode is {mode})"
        );
        // WAL with FULL syncs the log at every commit: a commit is on stable storage before it
        // is reported. NORMAL syncs only at checkpoints: safe from a crash of this process, not
        // from a power cut.
        let synchronous = match durability {
            Durability::Machine => "FULL",
            Durability::Process => "NORMAL",
        };
        sqlite.pragma_update(None, "synchronous", synchronous)?;
        Ok(Self::configure(sqlite)?)
    }

    /// A connection that only reads `path` (which the writer has created).
    pub fn open_reader(path: &Path) -> rusqlite::Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        Self::configure(rusqlite::Connection::open_with_flags(path, flags)?)
    }

    fn configure(sqlite: rusqlite::Connection) -> rusqlite::Result<Self> {
        sqlite.busy_timeout(BUSY_TIMEOUT)?;
        sqlite.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
        sqlite.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Query-planner stability: otherwise a statement whose plan looked at a bound value
        // (`LIMIT ?`) is expired and parsed again on every new binding, defeating the cache.
        sqlite.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        // No other database file may be reached from this one (VACUUM attaches one too).
        sqlite.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0)?;
        let policy = Arc::new(Policy::default());
        let hook = policy.clone();
        sqlite.authorizer(Some(move |context: AuthContext<'_>| hook.authorize(context)));
        Ok(Connection { sqlite, policy })
    }

    /// What `sql` does; prepares it afresh, since SQLite asks the authorizer only then.
    pub fn classify(&self, sql: &str) -> Result<Kind, Error> {
        self.policy.saw_transaction.store(false, Ordering::Relaxed);
        let statement = match self.sqlite.prepare(sql) {
            Ok(statement) => statement,
            // The schema this connection knows may predate the writer's last change (a reader
            // loads it once and SQLite checks it again at a prepare error only for some
            // errors: an unknown table, not an ON CONFLICT target missing its new index).
            // Reading the schema table brings it up to date; then prepare once more.
            Err(_) => {
                let _ = self.sqlite.query_row("SELECT count(*) FROM sqlite_schema", [], |row| {
                    row.get::<_, i64>(0)
                });
                self.sqlite.prepare(sql).map_err(|e| self.error(e))?
            }
        };
        Ok(if self.policy.saw_transaction.load(Ordering::Relaxed) {
            Kind::Transaction
        } else if statement.readonly() {
            Kind::Read
        } else {
            Kind::Write
        })
    }

    /// Runs `work` with `guard` able to interrupt it.
    pub fn guarded<T>(&self, guard: &Guard, work: impl FnOnce(&Self) -> T) -> T {
        let check = guard.clone();
        self.sqlite.progress_handler(GUARD_INTERVAL_OPS, Some(move || check.should_stop()));
        let result = work(self);
        self.sqlite.progress_handler(0, None::<fn() -> bool>);
        result
    }

    /// The guest's view of a failure, naming what the authorizer refused.
    pub fn error(&self, error: rusqlite::Error) -> Error {
        // SQLite reports a refused function as a plain error, a refused statement as AUTH.
        let refused = error.sqlite_error_code() == Some(ErrorCode::AuthorizationForStatementDenied)
            || error.to_string().contains("not authorized");
        if refused {
            let reason = self.policy.take_refusal();
            return Error::Io(format!(
                "not authorized: {}",
                reason.unwrap_or("the statement is not allowed")
            ));
        }
        match error.sqlite_error_code() {
            Some(ErrorCode::OperationInterrupted) => Error::Io(
                "interrupted: the statement ran past the request deadline or its request ended"
                    .into(),
            ),
            Some(ErrorCode::DiskFull) => Error::DatabaseFull,
            _ => Error::Io(error.to_string()),
        }
    }
}

/// When a statement must stop: its deadline, or the request that runs it went away.
#[derive(Clone)]
pub struct Guard {
    deadline: Instant,
    abandoned: Arc<AtomicBool>,
}

impl Guard {
    /// A guard for a statement that may run for `timeout`, and the token whose drop abandons it.
    pub fn new(timeout: Duration) -> (Guard, Abandon) {
        let abandoned = Arc::new(AtomicBool::new(false));
        let guard = Guard { deadline: Instant::now() + timeout, abandoned: abandoned.clone() };
        (guard, Abandon(abandoned))
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    pub fn should_stop(&self) -> bool {
        self.abandoned.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }
}

/// Held by whoever waits for a statement's result; dropping it tells the statement to stop.
pub struct Abandon(Arc<AtomicBool>);

impl Drop for Abandon {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The authorizer's rules, and what it saw while the last statement was prepared.
#[derive(Default)]
struct Policy {
    saw_transaction: AtomicBool,
    refusal: Mutex<Option<&'static str>>,
}

/// PRAGMAs that only read (or, with an argument, only inspect the schema).
const INSPECTING_PRAGMAS: &[&str] = &[
    "application_id",
    "collation_list",
    "compile_options",
    "data_version",
    "database_list",
    "foreign_key_check",
    "foreign_key_list",
    "foreign_keys",
    "freelist_count",
    "function_list",
    "index_info",
    "index_list",
    "index_xinfo",
    "integrity_check",
    "journal_mode",
    "module_list",
    "page_count",
    "page_size",
    "pragma_list",
    "quick_check",
    "schema_version",
    "synchronous",
    "table_info",
    "table_list",
    "table_xinfo",
    "user_version",
];
/// PRAGMAs whose argument inspects rather than sets.
const PRAGMAS_WITH_ARGUMENT: &[&str] = &[
    "foreign_key_check",
    "foreign_key_list",
    "index_info",
    "index_list",
    "index_xinfo",
    "integrity_check",
    "quick_check",
    "table_info",
    "table_list",
    "table_xinfo",
];
/// PRAGMAs that set a value kept in the database file itself, which is the app's to set.
const FILE_HEADER_PRAGMAS: &[&str] = &["user_version", "application_id"];

impl Policy {
    fn authorize(&self, context: AuthContext<'_>) -> Authorization {
        let refusal = match context.action {
            AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } => {
                self.saw_transaction.store(true, Ordering::Relaxed);
                None
            }
            AuthAction::Attach { .. } | AuthAction::Detach { .. } => {
                Some("ATTACH, DETACH and VACUUM: a component uses only its own database")
            }
            AuthAction::Pragma { pragma_name, pragma_value } => {
                pragma_refusal(pragma_name, pragma_value)
            }
            AuthAction::Function { function_name }
                if function_name.eq_ignore_ascii_case("load_extension") =>
            {
                Some("loading extensions")
            }
            AuthAction::CreateTempTable { .. }
            | AuthAction::CreateTempIndex { .. }
            | AuthAction::CreateTempTrigger { .. }
            | AuthAction::CreateTempView { .. } => {
                Some("TEMP objects: they would outlive the request on a shared connection")
            }
            _ => None,
        };
        match refusal {
            None => Authorization::Allow,
            Some(reason) => {
                if let Ok(mut last) = self.refusal.lock() {
                    *last = Some(reason);
                }
                Authorization::Deny
            }
        }
    }

    fn take_refusal(&self) -> Option<&'static str> {
        self.refusal.lock().ok()?.take()
    }
}

fn pragma_refusal(name: &str, value: Option<&str>) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    let is = |list: &[&str]| list.contains(&name.as_str());
    let allowed = match value {
        None => is(INSPECTING_PRAGMAS),
        Some(_) => is(PRAGMAS_WITH_ARGUMENT) || is(FILE_HEADER_PRAGMAS),
    };
    (!allowed).then_some(
        "this PRAGMA: it would change how the host runs the database (journal, durability, \
         connection state)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(dir: &Path) -> Connection {
        Connection::open_writer(&dir.join("test.db"), Durability::Machine).unwrap()
    }

    fn refusal(connection: &Connection, sql: &str) -> String {
        match connection.sqlite.execute_batch(sql) {
            Ok(()) => panic!("{sql} was allowed"),
            Err(error) => match connection.error(error) {
                Error::Io(message) => message,
                other => panic!("{sql}: unexpected {other:?}"),
            },
        }
    }

    #[test]
    fn statements_are_classified_by_what_they_do() {
        let dir = tempfile::tempdir().unwrap();
        let connection = writer(dir.path());
        connection.sqlite.execute_batch("CREATE TABLE t (x)").unwrap();
        for (sql, kind) in [
            ("SELECT x FROM t", Kind::Read),
            ("PRAGMA user_version", Kind::Read),
            ("INSERT INTO t VALUES (1)", Kind::Write),
            ("PRAGMA user_version = 3", Kind::Write),
            ("CREATE TABLE IF NOT EXISTS u (y)", Kind::Write),
            ("BEGIN", Kind::Transaction),
            ("begin immediate", Kind::Transaction),
            ("COMMIT", Kind::Transaction),
            ("SAVEPOINT a", Kind::Transaction),
            ("RELEASE a", Kind::Transaction),
        ] {
            assert_eq!(connection.classify(sql).unwrap(), kind, "{sql}");
        }
    }

    #[test]
    fn a_reader_classifies_statements_on_the_writers_latest_schema() {
        let dir = tempfile::tempdir().unwrap();
        let writer = writer(dir.path());
        writer.sqlite.execute_batch("CREATE TABLE t (x, k)").unwrap();
        let reader = Connection::open_reader(&dir.path().join("test.db")).unwrap();
        assert_eq!(reader.classify("SELECT x FROM t").unwrap(), Kind::Read);
        // An index the reader has not seen yet, which the upsert's conflict target needs.
        writer
            .sqlite
            .execute_batch("CREATE UNIQUE INDEX t_k ON t (k) WHERE k IS NOT NULL")
            .unwrap();
        let upsert = "INSERT INTO t (x, k) SELECT 1, 'a' WHERE true
            ON CONFLICT (k) WHERE k IS NOT NULL DO UPDATE SET x = excluded.x";
        assert_eq!(reader.classify(upsert).unwrap(), Kind::Write);
    }

    #[test]
    fn a_guest_cannot_reach_other_files_or_change_connection_state() {
        let dir = tempfile::tempdir().unwrap();
        let connection = writer(dir.path());
        let other = dir.path().join("other.db");
        for sql in [
            format!("ATTACH '{}' AS other", other.display()),
            "ATTACH ':memory:' AS m".to_string(),
            format!("VACUUM INTO '{}'", other.display()),
            "PRAGMA journal_mode = DELETE".to_string(),
            "PRAGMA synchronous = OFF".to_string(),
            "PRAGMA query_only = 1".to_string(),
            "PRAGMA writable_schema = 1".to_string(),
            "PRAGMA wal_checkpoint".to_string(),
            "CREATE TEMP TABLE scratch (x)".to_string(),
            "SELECT load_extension('/tmp/x.so')".to_string(),
        ] {
            let message = refusal(&connection, &sql);
            assert!(message.starts_with("not authorized: "), "{sql}: {message}");
        }
        assert!(!other.exists(), "VACUUM INTO wrote a file");
        let mode: String =
            connection.sqlite.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
        assert_eq!(mode, "wal");
        // What the app needs stays allowed.
        connection
            .sqlite
            .execute_batch(
                "PRAGMA user_version = 2; CREATE TABLE t (x); PRAGMA table_info(t); \
                 PRAGMA foreign_keys; PRAGMA integrity_check",
            )
            .unwrap();
    }

    #[test]
    fn a_statement_past_its_deadline_is_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let connection = writer(dir.path());
        let (guard, _abandon) = Guard::new(Duration::from_millis(50));
        let endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) \
                       SELECT count(*) FROM n";
        let started = Instant::now();
        let result = connection.guarded(&guard, |c| {
            c.sqlite.query_row(endless, [], |row| row.get::<_, i64>(0)).map_err(|e| c.error(e))
        });
        assert!(matches!(result, Err(Error::Io(m)) if m.starts_with("interrupted")));
        assert!(started.elapsed() < Duration::from_secs(2));
        // The connection serves the next statement.
        let one: i64 = connection.sqlite.query_row("SELECT 1", [], |row| row.get(0)).unwrap();
        assert_eq!(one, 1);
    }

    #[test]
    fn an_abandoned_statement_stops() {
        let dir = tempfile::tempdir().unwrap();
        let connection = writer(dir.path());
        let (guard, abandon) = Guard::new(Duration::from_secs(60));
        drop(abandon);
        let result = connection.guarded(&guard, |c| {
            c.sqlite
                .query_row(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) \
                     SELECT count(*) FROM n",
                    [],
                    |row| row.get::<_, i64>(0),
                )
                .map_err(|e| c.error(e))
        });
        assert!(matches!(result, Err(Error::Io(m)) if m.starts_with("interrupted")));
    }
}
