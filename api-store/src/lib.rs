//! What the listing and user services do with their Spin SQLite database besides their own
//! SQL (each keeps every statement in its `store.rs`): open it with the schema brought up to
//! date once per instance, run a statement to its collected rows, store a row once per
//! idempotency key, read a row's columns, and stamp a row with the time.
//!
//! On `api-spin`'s SQLite seam, so it is the same in both WASI flavours; the public API does
//! not depend on it.

mod columns;
mod database;

pub use api_spin::sqlite::{RowResult, Value};
pub use columns::Columns;
pub use database::{Database, Once, Schema};

/// Now, in microseconds since the Unix epoch: the unit of every timestamp of the API.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| i64::try_from(since.as_micros()).unwrap_or(i64::MAX))
}
