//! Every SQL statement of the user service: its schema, the schema's migrations and the
//! queries. SQL text is constant so the host can cache each prepared statement.

use std::sync::atomic::AtomicBool;

use anyhow::Result;
use api_model::{IdempotencyKey, KEY_KEPT_MICROS, NewUser, Page, User, UserId, UserIds};
use api_store::{Columns, Database, Once, RowResult, Schema, Value, now_micros};

/// The schema, one step per version; `PRAGMA user_version` counts the steps applied.
/// Each statement is idempotent, so instances migrating at the same time all succeed.
const MIGRATIONS: &[&[&str]] = &[
    &[
        "CREATE TABLE IF NOT EXISTS users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    )",
        "CREATE INDEX IF NOT EXISTS users_newest ON users (created_at DESC, id DESC)",
        "PRAGMA user_version = 1",
    ],
    // The idempotency key a user was created with, kept with it: a retried request finds
    // the user its first attempt stored.
    &[
        "ALTER TABLE users ADD COLUMN idempotency_key TEXT",
        "CREATE UNIQUE INDEX IF NOT EXISTS users_by_idempotency_key
            ON users (idempotency_key) WHERE idempotency_key IS NOT NULL",
        "PRAGMA user_version = 2",
    ],
];

/// The database label spin.toml grants, and its schema.
const SCHEMA: Schema = Schema { label: "users", migrations: MIGRATIONS, migrated: &MIGRATED };

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
/// and newest-first paging is stable even if the clock steps back. One statement, so atomic:
/// of requests with one key, one stores and the others get its row (see `Database::insert_once`
/// for the parameters). `WHERE true` tells SQLite's parser that ON CONFLICT is not a join's.
const INSERT: Once = Once {
    insert: "INSERT INTO users (idempotency_key, name, created_at, updated_at)
        SELECT ?1, ?4, stamp, stamp
        FROM (SELECT MAX(?3, COALESCE((SELECT MAX(created_at) FROM users), 0)) AS stamp)
        WHERE true
        ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL
        DO UPDATE SET idempotency_key = excluded.idempotency_key
            WHERE users.created_at >= ?2
        RETURNING id, name, created_at, updated_at",
    release: "UPDATE users SET idempotency_key = NULL
        WHERE idempotency_key = ?1 AND created_at < ?2",
};

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
        self.0.rows(NEWEST, parameters).await?.iter().map(user).collect()
    }

    /// The users of these ids that exist, newest first.
    pub async fn by_ids(&self, ids: &UserIds) -> Result<Vec<User>> {
        let ids: Vec<String> = ids.as_slice().iter().map(i64::to_string).collect();
        let parameters = [Value::Text(format!("[{}]", ids.join(",")))];
        self.0.rows(BY_IDS, parameters).await?.iter().map(user).collect()
    }

    pub async fn by_id(&self, id: UserId) -> Result<Option<User>> {
        let rows = self.0.rows(BY_ID, [Value::Integer(id.get())]).await?;
        rows.first().map(user).transpose()
    }

    /// Stores a user and returns it as stored; with a key used in the last
    /// [`KEY_KEPT_MICROS`], stores nothing and returns the user stored under it.
    pub async fn insert(&self, new: &NewUser, key: Option<&IdempotencyKey>) -> Result<User> {
        let now = now_micros();
        let fields = [Value::Text(new.name.as_str().to_owned())];
        let key = key.map(IdempotencyKey::as_str);
        let row = (self.0).insert_once(&INSERT, key, now - KEY_KEPT_MICROS, now, fields).await?;
        user(&row)
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
