//! A service's database: opened with its schema brought up to date once per instance, and
//! statements run to their collected rows.

use anyhow::{Context, Result};
use api_spin::sqlite::{Connection, RowResult, Value};
use std::sync::atomic::{AtomicBool, Ordering};

/// A service's database: its label in spin.toml and its schema, one step per version
/// (`PRAGMA user_version` counts the steps applied; each statement must be idempotent, so
/// instances migrating at the same time all succeed).
pub struct Schema {
    pub label: &'static str,
    pub migrations: &'static [&'static [&'static str]],
    /// Whether this instance has migrated (an instance serves many requests).
    pub migrated: &'static AtomicBool,
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
            self.rows(statement, []).await?;
        }
        Ok(())
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
