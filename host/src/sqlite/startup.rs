//! `--sqlite`: SQL run once before the app serves, with the syntax and meaning of
//! `spin up --sqlite`. Text is one statement against the `default` database; `@file` runs every
//! statement of a file against `default`, `@file:label` against `label`. Statements run as a
//! component's would (the same rules: no `ATTACH`, no PRAGMAs that change how the host runs the
//! file), each on its own unless the file opens a transaction.

use super::statement::Rest;
use super::{Databases, Session};
use crate::bindings::spin::sqlite::sqlite::Error;
use crate::runtime_config::DEFAULT_LABEL;
use std::ffi::CString;
use std::fmt;
use std::path::PathBuf;
use wasmtime::error::Context as _;
use wasmtime::{Result, bail, format_err};

/// One `--sqlite` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupSql {
    /// One statement, run against `default`.
    Statement(String),
    /// Every statement of a file (relative to the working directory), run against `label`.
    File {
        /// The file.
        path: PathBuf,
        /// The database.
        label: String,
    },
}

impl StartupSql {
    /// The database it runs against.
    pub fn label(&self) -> &str {
        match self {
            StartupSql::Statement(_) => DEFAULT_LABEL,
            StartupSql::File { label, .. } => label,
        }
    }
}

/// As Spin reads it: `@` starts a file, a colon after the file names the database.
impl std::str::FromStr for StartupSql {
    type Err = String;

    fn from_str(argument: &str) -> Result<Self, String> {
        let Some(file) = argument.strip_prefix('@') else {
            return Ok(StartupSql::Statement(argument.to_string()));
        };
        let file = file.trim();
        if file.is_empty() {
            return Err(format!(
                "database configuration is empty in the '@{file}' sqlite statement"
            ));
        }
        let (path, label) = match file.split_once(':') {
            Some((_, label)) if label.trim().is_empty() => {
                return Err(format!("database label is empty in the '@{file}' sqlite statement"));
            }
            Some((path, _)) if path.trim().is_empty() => {
                return Err(format!("file path is empty in the '@{file}' sqlite statement"));
            }
            Some((path, label)) => (path.trim(), label.trim()),
            None => (file, DEFAULT_LABEL),
        };
        Ok(StartupSql::File { path: PathBuf::from(path), label: label.to_string() })
    }
}

impl fmt::Display for StartupSql {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartupSql::Statement(sql) => f.write_str(sql),
            StartupSql::File { path, label } => write!(f, "@{}:{label}", path.display()),
        }
    }
}

impl Databases {
    /// Runs `statements` in order; stops at the first that fails, naming it and the database.
    /// Each database is one the app opened for it (see `AppDatabases` in `app`).
    pub async fn run_startup_sql(&self, statements: &[StartupSql]) -> Result<()> {
        for statement in statements {
            let database =
                self.by_label.get(statement.label()).map(|opened| &opened.database).ok_or_else(
                    || {
                        format_err!(
                            "based on the '{statement}' a registered database named '{}' was \
                         expected but not found.",
                            statement.label()
                        )
                    },
                )?;
            let session = Session::new(database);
            match statement {
                StartupSql::Statement(sql) => run(&session, sql).await.with_context(|| {
                    format!(
                        "failed to execute following sql statement against default database: \
                         '{sql}'"
                    )
                })?,
                StartupSql::File { path, label } => {
                    let failed = || {
                        format!(
                            "failed to execute sql against database '{label}' from file '{}'",
                            path.display()
                        )
                    };
                    let script = std::fs::read_to_string(path).with_context(|| {
                        format!(
                            "could not read file '{}' containing sql statements",
                            path.display()
                        )
                    })?;
                    for sql in statements_of(&script).with_context(failed)? {
                        run(&session, sql)
                            .await
                            .with_context(|| format!("in `{sql}`"))
                            .with_context(failed)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Runs one statement; rows a query returns are dropped, as Spin drops them.
async fn run(session: &Session, sql: &str) -> Result<()> {
    let started = session.execute(sql.to_string(), Vec::new()).await.map_err(describe)?;
    match started.rest {
        Rest::Done(outcome) => outcome.map_err(describe),
        Rest::Streaming { .. } => Ok(()),
    }
}

fn describe(error: Error) -> wasmtime::Error {
    match error {
        Error::Io(message) => format_err!("{message}"),
        other => format_err!("{other:?}"),
    }
}

/// The statements of a script, in order: cut at each `;` that ends a complete statement, as
/// SQLite itself tells (a `;` in a string, a comment or a trigger's body does not end one).
/// Pieces with nothing but comments are left out.
fn statements_of(script: &str) -> Result<Vec<&str>> {
    let mut statements = Vec::new();
    let mut start = 0;
    for (end, _) in script.match_indices(';') {
        let piece = &script[start..=end];
        if is_complete(piece)? {
            statements.push(piece);
            start = end + 1;
        }
    }
    // A last statement may go without its `;`.
    statements.push(&script[start..]);
    statements.retain(|statement| has_code(statement));
    Ok(statements.into_iter().map(str::trim).collect())
}

fn is_complete(sql: &str) -> Result<bool> {
    let Ok(text) = CString::new(sql) else {
        bail!("the file contains a NUL byte");
    };
    // SAFETY: `text` is a NUL-terminated string that outlives the call; sqlite3_complete only
    // reads it.
    Ok(unsafe { rusqlite::ffi::sqlite3_complete(text.as_ptr()) } != 0)
}

/// Whether `sql` has anything besides whitespace, comments and `;`.
fn has_code(sql: &str) -> bool {
    let mut rest = sql;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ';');
        if let Some(comment) = rest.strip_prefix("--") {
            rest = comment.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(comment) = rest.strip_prefix("/*") {
            rest = comment.split_once("*/").map_or("", |(_, after)| after);
        } else {
            return !rest.is_empty();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_read_as_spin_reads_them() {
        let parse = |text: &str| text.parse::<StartupSql>();
        assert_eq!(
            parse("CREATE TABLE t (x)"),
            Ok(StartupSql::Statement("CREATE TABLE t (x)".into()))
        );
        assert_eq!(
            parse("@migration.sql"),
            Ok(StartupSql::File { path: "migration.sql".into(), label: "default".into() })
        );
        assert_eq!(
            parse("@ dir/m.sql : users "),
            Ok(StartupSql::File { path: "dir/m.sql".into(), label: "users".into() })
        );
        for (argument, message) in [
            ("@", "database configuration is empty in the '@' sqlite statement"),
            ("@m.sql:", "database label is empty in the '@m.sql:' sqlite statement"),
            ("@:users", "file path is empty in the '@:users' sqlite statement"),
        ] {
            assert_eq!(parse(argument), Err(message.to_string()), "{argument}");
        }
    }

    #[test]
    fn scripts_are_cut_where_sqlite_says_a_statement_ends() {
        let script = "-- the schema\nCREATE TABLE t (x TEXT); /* a; comment */\n\
                      INSERT INTO t VALUES ('a;b');\n\
                      CREATE TRIGGER g AFTER INSERT ON t BEGIN DELETE FROM t WHERE x = ''; END;\n\
                      ;\n  INSERT INTO t VALUES ('last')\n-- done\n";
        assert_eq!(
            statements_of(script).unwrap(),
            [
                "-- the schema\nCREATE TABLE t (x TEXT);",
                "/* a; comment */\nINSERT INTO t VALUES ('a;b');",
                "CREATE TRIGGER g AFTER INSERT ON t BEGIN DELETE FROM t WHERE x = ''; END;",
                "INSERT INTO t VALUES ('last')\n-- done",
            ]
        );
        assert!(statements_of("-- nothing\n/* at all */ ;").unwrap().is_empty());
    }
}
