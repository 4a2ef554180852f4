//! A service's database: opened with its schema brought up to date once per instance, and
//! statements run to their collected rows.

use anyhow::{Context, Result};
use api_spin::sqlite::{Connection, RowResult, Value};
use std::sync::atomic::{AtomicBool, Ordering};

/// A service's database: its label in spin.toml and its schema, one step per version
/// (`PRAGMA user_version` counts the steps applied; each statement must be idempotent, so
/// instances migrating at the same time all succeed: `ALTER TABLE ... ADD COLUMN` counts as
/// done when the column is there).
pub struct Schema {
    pub label: &'static str,
    pub migrations: &'static [&'static [&'static str]],
    /// Whether this instance has migrated (an instance serves many requests).
    pub migrated: &'static AtomicBool,
}

/// The two statements of [`Database::insert_once`].
pub struct Once {
    /// `INSERT ... ON CONFLICT (idempotency_key) DO UPDATE ... WHERE <row at least ?2>
    /// RETURNING ...`: the no-op update returns the row stored under the key.
    pub insert: &'static str,
    /// `UPDATE ... SET idempotency_key = NULL WHERE idempotency_key = ?1 AND <row before ?2>`.
    pub release: &'static str,
}

/// Whether `error` only says that an `ALTER TABLE ... ADD COLUMN` ran already (another instance
/// migrating at the same time added the column first).
fn column_was_added(statement: &str, error: &anyhow::Error) -> bool {
    statement.trim_start().starts_with("ALTER TABLE")
        && format!("{error:#}").contains("duplicate column name")
}

/// An open connection whose schema is up to date.
pub struct Database(Connection);

impl Database {
    pub async fn open(schema: &Schema) -> Result<Self> {
        let connection = Connection::open(schema.label)
            .await
            .with_context(|| format!("opening the {} database", schema.label))?;
        let database = Self(connection);
        if !schema.migrated.load(Ordering::Relaxed) {
            database
                .migrate(schema.migrations)
                .await
                .with_context(|| format!("migrating the {} schema", schema.label))?;
            schema.migrated.store(true, Ordering::Relaxed);
        }
        Ok(database)
    }

    async fn migrate(&self, migrations: &[&[&str]]) -> Result<()> {
        let version = self
            .rows("PRAGMA user_version", [])
            .await?
            .first()
            .and_then(|row| row.get::<usize>(0))
            .context("reading user_version")?;
        for statement in migrations.iter().skip(version).copied().flatten() {
            if let Err(error) = self.rows(statement, []).await
                && !column_was_added(statement, &error)
            {
                return Err(error);
            }
        }
        Ok(())
    }

    /// Runs `statement`, an INSERT that stores a row under an optional idempotency key and
    /// returns it, else (the key taken by a row at least `kept_since`) returns that row. Its
    /// parameters are `?1` the key (or NULL), `?2` `kept_since`, `?3` now, then `fields`.
    /// A key whose row is older is freed by `release` (parameters `?1` the key, `?2`
    /// `kept_since`) and used again.
    pub async fn insert_once(
        &self,
        statement: &Once,
        key: Option<&str>,
        kept_since: i64,
        now: i64,
        fields: impl IntoIterator<Item = Value>,
    ) -> Result<RowResult> {
        let key = key.map_or(Value::Null, |key| Value::Text(key.to_owned()));
        let parameters: Vec<Value> = [key.clone(), Value::Integer(kept_since), Value::Integer(now)]
            .into_iter()
            .chain(fields)
            .collect();
        let mut rows = self.rows(statement.insert, parameters.clone()).await?;
        if rows.is_empty() {
            // Only an expired key returns nothing: free it and store anew.
            self.rows(statement.release, [key, Value::Integer(kept_since)]).await?;
            rows = self.rows(statement.insert, parameters).await?;
        }
        rows.into_iter().next().context("INSERT returned no row")
    }

    /// Runs `statement` and collects its rows.
    pub async fn rows(
        &self,
        statement: &str,
        parameters: impl IntoIterator<Item = Value>,
    ) -> Result<Vec<RowResult>> {
        self.0.rows(statement, parameters).await
    }
}
