//! `spin:key-value@3.0.0` and `fermyon:spin/key-value@2.0.0`: stores by label, kept as Spin keeps
//! them: the runtime config maps each label to a SQLite file (or to memory), the `default`
//! store lives in the state directory, and a file holds its stores in Spin's layout (one
//! `spin_key_value` table, a row per store and key), so Spin and this host read each other's
//! files. A component opens only the stores its manifest declares.
//!
//! [`host`] is the WIT surface over this.

mod host;

pub use host::{GuestStore, KeyValue, KeyValueView};

use crate::bindings::spin::key_value::key_value::Error;
use crate::runtime_config::StoreLocation;
use rusqlite::OptionalExtension;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::Result;
use wasmtime::error::Context as _;

/// How long a statement waits for another process (a Spin on the same file) holding the lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Every store some component of the app uses, by label. Shared by all instances.
pub struct Stores {
    by_label: BTreeMap<String, Arc<Store>>,
}

/// One label's store: its rows in a file that other labels may share.
pub struct Store {
    label: String,
    file: Arc<Mutex<rusqlite::Connection>>,
}

impl Stores {
    /// Opens (creating if needed) the store of each of `used_labels`, as `locations` (the
    /// runtime config) places it; labels mapped to one file share its connection. A bad path
    /// or a locked file fails the start rather than the first request.
    pub fn open(locations: &BTreeMap<String, StoreLocation>, used_labels: &[&str]) -> Result<Self> {
        let mut files: BTreeMap<PathBuf, Arc<Mutex<rusqlite::Connection>>> = BTreeMap::new();
        let mut by_label = BTreeMap::new();
        for (label, location) in locations {
            if !used_labels.contains(&label.as_str()) {
                continue;
            }
            let file = match location {
                StoreLocation::File(path) => match files.get(path) {
                    Some(file) => file.clone(),
                    None => {
                        let file = Arc::new(Mutex::new(open_file(path).with_context(|| {
                            format!("cannot open key-value store `{label}` at {}", path.display())
                        })?));
                        files.insert(path.clone(), file.clone());
                        file
                    }
                },
                StoreLocation::Memory => Arc::new(Mutex::new(
                    with_table(rusqlite::Connection::open_in_memory()?)
                        .with_context(|| format!("cannot create key-value store `{label}`"))?,
                )),
            };
            let store = Store { label: label.clone(), file };
            by_label.insert(label.clone(), Arc::new(store));
        }
        Ok(Stores { by_label })
    }
}

fn open_file(path: &std::path::Path) -> Result<rusqlite::Connection> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let connection = rusqlite::Connection::open(path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    with_table(connection)
}

/// Spin's table, created if the file is new.
fn with_table(connection: rusqlite::Connection) -> Result<rusqlite::Connection> {
    connection.execute(
        "CREATE TABLE IF NOT EXISTS spin_key_value (
             store TEXT NOT NULL,
             key   TEXT NOT NULL,
             value BLOB NOT NULL,
             PRIMARY KEY (store, key)
         )",
        [],
    )?;
    Ok(connection)
}

impl Store {
    /// Runs `work` on the store's file, on a blocking thread: SQLite waits on the disk.
    async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&rusqlite::Connection, &str) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, Error> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let connection = store
                .file
                .lock()
                .map_err(|_| Error::Other("the store's connection was poisoned".into()))?;
            work(&connection, &store.label).map_err(|error| Error::Other(error.to_string()))
        })
        .await
        .map_err(|error| Error::Other(format!("the store's task failed: {error}")))?
    }

    /// The value of `key`, if it has one.
    pub async fn get(self: &Arc<Self>, key: String) -> Result<Option<Vec<u8>>, Error> {
        self.run(move |connection, store| {
            connection
                .prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .query_row((store, &key), |row| row.get(0))
                .optional()
        })
        .await
    }

    /// Sets `key` to `value`, over any value it had.
    pub async fn set(self: &Arc<Self>, key: String, value: Vec<u8>) -> Result<(), Error> {
        self.run(move |connection, store| {
            connection
                .prepare_cached(
                    "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT (store, key) DO UPDATE SET value = ?3",
                )?
                .execute((store, &key, &value))
                .map(drop)
        })
        .await
    }

    /// Removes `key`; removing a key that is not there is no error.
    pub async fn delete(self: &Arc<Self>, key: String) -> Result<(), Error> {
        self.run(move |connection, store| {
            connection
                .prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .execute((store, &key))
                .map(drop)
        })
        .await
    }

    /// Whether `key` has a value.
    pub async fn exists(self: &Arc<Self>, key: String) -> Result<bool, Error> {
        self.run(move |connection, store| {
            connection
                .prepare_cached("SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .exists((store, &key))
        })
        .await
    }

    /// Every key of the store.
    pub async fn keys(self: &Arc<Self>) -> Result<Vec<String>, Error> {
        self.run(|connection, store| {
            connection
                .prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")?
                .query_map([store], |row| row.get(0))?
                .collect()
        })
        .await
    }
}

/// A component's view of the stores: only the labels it declared.
#[derive(Clone)]
pub struct KeyValueCtx {
    stores: Arc<Stores>,
    allowed: Arc<[String]>,
}

impl KeyValueCtx {
    /// A component's view of the app's `stores`: `allowed` are the labels the manifest grants it.
    pub fn new(stores: Arc<Stores>, allowed: Arc<[String]>) -> Self {
        KeyValueCtx { stores, allowed }
    }

    /// The store `label`, if this component may use it. As on Spin, a label it did not declare
    /// is denied whether or not it exists.
    fn open(&self, label: &str) -> Result<Arc<Store>, Error> {
        if !self.allowed.iter().any(|allowed| allowed == label) {
            return Err(Error::AccessDenied);
        }
        self.stores.by_label.get(label).cloned().ok_or(Error::NoSuchStore)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stores(locations: &[(&str, StoreLocation)]) -> Stores {
        let locations: BTreeMap<String, StoreLocation> = locations
            .iter()
            .map(|(label, location)| (label.to_string(), location.clone()))
            .collect();
        let labels: Vec<&str> = locations.keys().map(String::as_str).collect();
        Stores::open(&locations, &labels).unwrap()
    }

    #[tokio::test]
    async fn stores_sharing_a_file_keep_their_keys_apart_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let file = StoreLocation::File(dir.path().join("kv/shared.db"));
        let opened = stores(&[("one", file.clone()), ("two", file.clone())]);
        let one = &opened.by_label["one"];
        let two = &opened.by_label["two"];
        one.set("k".into(), b"1".to_vec()).await.unwrap();
        one.set("k".into(), b"first".to_vec()).await.unwrap();
        two.set("k".into(), b"second".to_vec()).await.unwrap();
        assert_eq!(one.get("k".into()).await.unwrap(), Some(b"first".to_vec()));
        assert_eq!(one.keys().await.unwrap(), ["k"]);
        two.delete("k".into()).await.unwrap();
        two.delete("k".into()).await.unwrap();
        assert!(!two.exists("k".into()).await.unwrap());
        drop(opened);
        let reopened = stores(&[("one", file)]);
        assert!(reopened.by_label["one"].exists("k".into()).await.unwrap());
    }

    #[tokio::test]
    async fn a_memory_store_starts_empty_and_a_component_opens_only_its_own() {
        let opened = Arc::new(stores(&[("scratch", StoreLocation::Memory)]));
        let ctx = KeyValueCtx::new(opened.clone(), Arc::from(["scratch".to_string()]));
        let scratch = ctx.open("scratch").unwrap();
        assert_eq!(scratch.keys().await.unwrap(), Vec::<String>::new());
        assert_eq!(scratch.get("k".into()).await.unwrap(), None);
        let outsider = KeyValueCtx::new(opened, Arc::from([]));
        assert!(matches!(outsider.open("scratch"), Err(Error::AccessDenied)));
        assert!(matches!(outsider.open("unknown"), Err(Error::AccessDenied)));
    }
}
