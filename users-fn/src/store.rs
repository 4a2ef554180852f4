//! Every SQL statement of the user service: its schema, the schema's migrations and the
//! queries. SQL text is constant so the host can cache each prepared statement.

use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use api_model::{NewUser, Page, User, UserId};
use api_store::{Columns, Database, RowResult, Schema, Value, now_micros};

use crate::model::UserIds;

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

/// The database label spin.toml grants, and its schema.
const SCHEMA: Schema = Schema {
    label: "users",
    migrations: MIGRATIONS,
    migrated: &MIGRATED,
};

/// Whether this instance has brought the schema up to date.
static MIGRATED: AtomicBool = AtomicBool::new(false);

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

/// A connection to the users database, its schema up to date.
pub struct Store(Database);

impl Store {
    pub async fn open() -> Result<Self> {
        Database::open(&SCHEMA).await.map(Self)
    }

    /// One page of users, newest first.
    pub async fn newest(&self, page: Page) -> Result<Vec<User>> {
        let Some(offset) = page.offset() else {
            return Ok(Vec::new());
        };
        let parameters = [Value::Integer(page.size()), Value::Integer(offset)];
        self.0
            .rows(NEWEST, parameters)
            .await?
            .iter()
            .map(user)
            .collect()
    }

    /// The users of these ids that exist, newest first.
    pub async fn by_ids(&self, ids: &UserIds) -> Result<Vec<User>> {
        let parameters = [Value::Text(ids.to_json_array())];
        self.0
            .rows(BY_IDS, parameters)
            .await?
            .iter()
            .map(user)
            .collect()
    }

    pub async fn by_id(&self, id: UserId) -> Result<Option<User>> {
        let rows = self.0.rows(BY_ID, [Value::Integer(id.get())]).await?;
        rows.first().map(user).transpose()
    }

    /// Stores a user and returns it as stored.
    pub async fn insert(&self, new: NewUser) -> Result<User> {
        let parameters = [
            Value::Text(new.name.into_string()),
            Value::Integer(now_micros()),
        ];
        let rows = self.0.rows(INSERT, parameters).await?;
        user(rows.first().context("INSERT returned no row")?)
    }
}

/// A row of `id, name, created_at, updated_at`.
fn user(row: &RowResult) -> Result<User> {
    Ok(User {
        id: row.int(0)?,
        name: row.text(1)?.to_owned(),
        created_at: row.int(2)?,
        updated_at: row.int(3)?,
    })
}
