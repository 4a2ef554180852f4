//! Every SQL statement of the listing service: its schema, the schema's migrations and the
//! queries. SQL text is constant so the host can cache each prepared statement.

use std::sync::atomic::AtomicBool;

use anyhow::Result;
use api_model::{IdempotencyKey, KEY_KEPT_MICROS, Listing, ListingType, ListingsQuery, NewListing};
use api_store::{Columns, Database, Once, RowResult, Schema, Value, now_micros};

/// The schema, one step per version; `PRAGMA user_version` counts the steps applied.
/// Each statement is idempotent, so instances migrating at the same time all succeed.
const MIGRATIONS: &[&[&str]] = &[
    &[
        "CREATE TABLE IF NOT EXISTS listings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL,
        listing_type TEXT NOT NULL CHECK (listing_type IN ('rent', 'sale')),
        price INTEGER NOT NULL CHECK (price > 0),
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    )",
        "CREATE INDEX IF NOT EXISTS listings_newest ON listings (created_at DESC, id DESC)",
        "CREATE INDEX IF NOT EXISTS listings_by_user_newest
        ON listings (user_id, created_at DESC, id DESC)",
        "PRAGMA user_version = 1",
    ],
    // The idempotency key a listing was created with, kept with it: a retried request finds
    // the listing its first attempt stored.
    &[
        "ALTER TABLE listings ADD COLUMN idempotency_key TEXT",
        "CREATE UNIQUE INDEX IF NOT EXISTS listings_by_idempotency_key
            ON listings (idempotency_key) WHERE idempotency_key IS NOT NULL",
        "PRAGMA user_version = 2",
    ],
];

/// The database label spin.toml grants, and its schema.
const SCHEMA: Schema = Schema { label: "listings", migrations: MIGRATIONS, migrated: &MIGRATED };

/// Whether this instance has brought the schema up to date.
static MIGRATED: AtomicBool = AtomicBool::new(false);

/// The rows skipped by OFFSET are walked in the index alone (it covers `id`), and only the
/// page's rows are read from the table: a deep page costs about half what it otherwise would.
const NEWEST: &str = "SELECT id, user_id, listing_type, price, created_at, updated_at
    FROM listings WHERE id IN (
        SELECT id FROM listings ORDER BY created_at DESC, id DESC LIMIT ?1 OFFSET ?2)
    ORDER BY created_at DESC, id DESC";

const NEWEST_OF_USER: &str = "SELECT id, user_id, listing_type, price, created_at, updated_at
    FROM listings WHERE user_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2 OFFSET ?3";

/// The timestamp is never below the newest row's, so ids and `created_at` grow together
/// and newest-first paging is stable even if the clock steps back. One statement, so atomic:
/// of requests with one key, one stores and the others get its row (see `Database::insert_once`
/// for the parameters). `WHERE true` tells SQLite's parser that ON CONFLICT is not a join's.
const INSERT: Once = Once {
    insert: "INSERT INTO listings
            (idempotency_key, user_id, listing_type, price, created_at, updated_at)
        SELECT ?1, ?4, ?5, ?6, stamp, stamp
        FROM (SELECT MAX(?3, COALESCE((SELECT MAX(created_at) FROM listings), 0)) AS stamp)
        WHERE true
        ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL
        DO UPDATE SET idempotency_key = excluded.idempotency_key
            WHERE listings.created_at >= ?2
        RETURNING id, user_id, listing_type, price, created_at, updated_at",
    release: "UPDATE listings SET idempotency_key = NULL
        WHERE idempotency_key = ?1 AND created_at < ?2",
};

/// A connection to the listings database, its schema up to date.
pub struct Store(Database);

impl Store {
    pub async fn open() -> Result<Self> {
        Database::open(&SCHEMA).await.map(Self)
    }

    /// One page of listings, newest first.
    pub async fn newest(&self, query: &ListingsQuery) -> Result<Vec<Listing>> {
        let Some(offset) = query.page.offset() else {
            return Ok(Vec::new());
        };
        let limit = Value::Integer(query.page.size());
        let offset = Value::Integer(offset);
        let rows = match query.user_id {
            Some(user_id) => {
                let user_id = Value::Integer(user_id.get());
                self.0.rows(NEWEST_OF_USER, [user_id, limit, offset]).await?
            }
            None => self.0.rows(NEWEST, [limit, offset]).await?,
        };
        rows.iter().map(listing).collect()
    }

    /// Stores a listing and returns it as stored; with a key used in the last
    /// [`KEY_KEPT_MICROS`], stores nothing and returns the listing stored under it.
    pub async fn insert(&self, new: &NewListing, key: Option<&IdempotencyKey>) -> Result<Listing> {
        let now = now_micros();
        let fields = [
            Value::Integer(new.user_id.get()),
            Value::Text(new.listing_type.as_str().to_owned()),
            Value::Integer(new.price.get()),
        ];
        let key = key.map(IdempotencyKey::as_str);
        let row = (self.0).insert_once(&INSERT, key, now - KEY_KEPT_MICROS, now, fields).await?;
        listing(&row)
    }
}

/// A row of `id, user_id, listing_type, price, created_at, updated_at`.
fn listing(row: &RowResult) -> Result<Listing> {
    Ok(Listing {
        id: row.int(0)?,
        user_id: row.int(1)?,
        listing_type: ListingType::parse(row.text(2)?).map_err(anyhow::Error::msg)?,
        price: row.int(3)?,
        created_at: row.int(4)?,
        updated_at: row.int(5)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(listing_type: Value, price: Value) -> RowResult {
        RowResult {
            values: vec![
                Value::Integer(3),
                Value::Integer(7),
                listing_type,
                price,
                Value::Integer(1_795_814_021_937_619),
                Value::Integer(1_795_814_021_937_620),
            ],
        }
    }

    #[test]
    fn maps_a_row_to_a_listing() {
        let listing = listing(&row(Value::Text("sale".into()), Value::Integer(6000))).unwrap();
        assert_eq!(
            listing,
            Listing {
                id: 3,
                user_id: 7,
                listing_type: ListingType::Sale,
                price: 6000,
                created_at: 1_795_814_021_937_619,
                updated_at: 1_795_814_021_937_620,
            }
        );
    }

    #[test]
    fn a_row_that_is_not_a_listing_is_an_error_naming_what_is_wrong() {
        let error = |row: RowResult| listing(&row).unwrap_err().to_string();
        assert_eq!(
            error(row(Value::Text("lease".into()), Value::Integer(1))),
            "listing_type must be 'rent' or 'sale'"
        );
        assert_eq!(error(row(Value::Integer(1), Value::Integer(1))), "column 2 is not text");
        assert_eq!(
            error(row(Value::Text("rent".into()), Value::Real(1.5))),
            "column 3 is not an integer"
        );
        assert_eq!(error(RowResult { values: vec![] }), "column 0 is not an integer");
    }
}
