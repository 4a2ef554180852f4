//! Every SQL statement of the user service: its schema, the schema's migrations and the
//! queries. SQL text is constant so the host can cache each prepared statement.

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use api_common::{Page, now_micros};
use api_model::{UserId, UserName};
use spin_sdk::sqlite::{Connection, RowResult, Value};

use crate::model::{User, UserIds};

/// The database label, as spin.toml grants it.
const DATABASE: &str = "users";

/// The schema, one step per version; `PRAGMA user_version` counts the steps applied.
/// Each statement is idempotent, so instances migrating at the same time all succeed.
const MIGRATIONS: &[&[&str]] = &[&[
    "CREATE TABLE IF NOT EXISTS users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS users_newest ON users (created_at DESC, id DESC)",
    "PRAGMA user_version = 1",
]];

const SCHEMA_VERSION: &str = "PRAGMA user_version";

const NEWEST: &str = "SELECT id, name, created_at, updated_at
    FROM users ORDER BY created_at DESC, id DESC LIMIT ?1 OFFSET ?2";

const BY_ID: &str = "SELECT id, name, created_at, updated_at FROM users WHERE id = ?1";

/// One statement whatever the number of ids: they come as one JSON array.
const BY_IDS: &str = "SELECT id, name, created_at, updated_at
    FROM users WHERE id IN (SELECT value FROM json_each(?1))
    ORDER BY created_at DESC, id DESC";

/// The timestamp is never below the newest row's, so ids and `created_at` grow together
/// and newest-first paging is stable even if the clock steps back. One statement: atomic.
const INSERT: &str = "INSERT INTO users (name, created_at, updated_at)
    SELECT ?1, stamp, stamp
    FROM (SELECT MAX(?2, COALESCE((SELECT MAX(created_at) FROM users), 0)) AS stamp)
    RETURNING id, name, created_at, updated_at";

/// Whether this instance has brought the schema up to date (instances may serve many requests).
static MIGRATED: AtomicBool = AtomicBool::new(false);

/// A connection to the users database, its schema up to date.
pub struct Store(Connection);

impl Store {
    pub async fn open() -> Result<Self> {
        let connection = Connection::open(DATABASE)
            .await
            .context("opening the users database")?;
        let store = Self(connection);
        if !MIGRATED.load(Ordering::Relaxed) {
            store
                .migrate()
                .await
                .context("migrating the users schema")?;
            MIGRATED.store(true, Ordering::Relaxed);
        }
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let version = self
            .rows(SCHEMA_VERSION, [])
            .await?
            .first()
            .and_then(|row| row.get::<usize>(0))
            .context("reading user_version")?;
        for statement in MIGRATIONS.iter().skip(version).copied().flatten() {
            self.rows(statement, []).await?;
        }
        Ok(())
    }

    /// One page of users, newest first.
    pub async fn newest(&self, page: Page) -> Result<Vec<User>> {
        let Some(offset) = page.offset() else {
            return Ok(Vec::new());
        };
        let parameters = [Value::Integer(page.size()), Value::Integer(offset)];
        self.rows(NEWEST, parameters)
            .await?
            .iter()
            .map(user)
            .collect()
    }

    /// The users of these ids that exist, newest first.
    pub async fn by_ids(&self, ids: &UserIds) -> Result<Vec<User>> {
        let parameters = [Value::Text(ids.to_json_array())];
        self.rows(BY_IDS, parameters)
            .await?
            .iter()
            .map(user)
            .collect()
    }

    pub async fn by_id(&self, id: UserId) -> Result<Option<User>> {
        let rows = self.rows(BY_ID, [Value::Integer(id.get())]).await?;
        rows.first().map(user).transpose()
    }

    /// Stores a user and returns it as stored.
    pub async fn insert(&self, name: UserName) -> Result<User> {
        let parameters = [
            Value::Text(name.into_string()),
            Value::Integer(now_micros()),
        ];
        let rows = self.rows(INSERT, parameters).await?;
        user(rows.first().context("INSERT returned no row")?)
    }

    async fn rows(
        &self,
        statement: &str,
        parameters: impl IntoIterator<Item = Value>,
    ) -> Result<Vec<RowResult>> {
        Ok(self
            .0
            .execute(statement, parameters)
            .await?
            .collect()
            .await?)
    }
}

/// A row of `id, name, created_at, updated_at`.
fn user(row: &RowResult) -> Result<User> {
    let int = |column: usize| {
        row.get::<i64>(column)
            .with_context(|| format!("users column {column} is not an integer"))
    };
    let name = row.get::<&str>(1).context("users column 1 is not text")?;
    Ok(User {
        id: int(0)?,
        name: name.to_owned(),
        created_at: int(2)?,
        updated_at: int(3)?,
    })
}
