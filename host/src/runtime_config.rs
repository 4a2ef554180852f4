//! `runtime.toml`: where each SQLite label lives, in Spin's runtime-config format: a local file
//! (`[sqlite_database.<label>] type = "spin", path = "..."`) or a database on a libSQL server
//! (`type = "libsql", url = "https://...", token = "..."`); and where each key-value store lives
//! (`[key_value_store.<label>] type = "spin", path = "..."`, in memory without a path).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wasmtime::error::Context;
use wasmtime::{Result, bail};

/// The label every Spin host provides without configuration.
pub const DEFAULT_LABEL: &str = "default";

/// Label → where its database or store lives, with the built-in `default` labels included.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// Label → where its database lives.
    pub sqlite_databases: BTreeMap<String, DatabaseLocation>,
    /// Label → where its key-value store lives.
    pub key_value_stores: BTreeMap<String, StoreLocation>,
}

/// Where one key-value store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file on this machine, in Spin's layout (one table for all its stores).
    File(PathBuf),
    /// In this process's memory, gone when it stops.
    Memory,
}

/// Where one label's database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    /// A SQLite file on this machine.
    File(PathBuf),
    /// A database on a libSQL server, reached over HTTP(S): how several hosts share one.
    Libsql {
        /// The server's URL.
        url: String,
        /// Its access token.
        token: String,
    },
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuntimeConfig {
    #[serde(default)]
    sqlite_database: BTreeMap<String, RawSqliteDatabase>,
    #[serde(default)]
    key_value_store: BTreeMap<String, RawKeyValueStore>,
}

/// The one store type this host has; Spin's others (`redis`, `azure_cosmos`, ...) are refused
/// by name.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum RawKeyValueStore {
    Spin {
        #[serde(default)]
        path: Option<PathBuf>,
    },
}

/// Spin's keys for each database type; any other key is refused, as Spin refuses it.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum RawSqliteDatabase {
    Spin {
        #[serde(default)]
        path: Option<PathBuf>,
    },
    Libsql {
        url: String,
        token: String,
    },
}

impl RuntimeConfig {
    /// Reads `file` (when given). Relative database paths resolve against `working_dir` and
    /// relative store paths against the file's directory, as Spin does; the `default` database
    /// is `<state_dir>/sqlite_db.db` and the `default` store `<state_dir>/sqlite_key_value.db`
    /// unless the file remaps them.
    pub fn load(file: Option<&Path>, working_dir: &Path, state_dir: &Path) -> Result<Self> {
        let raw = match file {
            Some(file) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read runtime config {}", file.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("invalid runtime config {}", file.display()))?
            }
            None => RawRuntimeConfig::default(),
        };
        let dirs = Dirs {
            working: working_dir,
            config: file.and_then(Path::parent).unwrap_or(working_dir),
            state: state_dir,
        };
        Self::from_raw(raw, &dirs).with_context(|| match file {
            Some(file) => format!("invalid runtime config {}", file.display()),
            None => "invalid runtime config".to_string(),
        })
    }

    fn from_raw(raw: RawRuntimeConfig, dirs: &Dirs) -> Result<Self> {
        let mut sqlite_databases = BTreeMap::new();
        sqlite_databases.insert(
            DEFAULT_LABEL.to_string(),
            DatabaseLocation::File(dirs.state.join("sqlite_db.db")),
        );
        for (label, database) in raw.sqlite_database {
            let key = format!("sqlite_database.{label}");
            let location = match database {
                RawSqliteDatabase::Spin { path: Some(path) } => {
                    DatabaseLocation::File(dirs.working.join(path))
                }
                RawSqliteDatabase::Spin { path: None } => {
                    bail!("{key}.path: a `spin` database needs a file path")
                }
                RawSqliteDatabase::Libsql { url, token } => {
                    if !(url.starts_with("https://") || url.starts_with("http://")) {
                        bail!(
                            "{key}.url: {url:?} does not start with `https://` or `http://`; \
                             libSQL databases are reached over HTTP(S)"
                        );
                    }
                    DatabaseLocation::Libsql { url, token }
                }
            };
            sqlite_databases.insert(label, location);
        }
        let mut key_value_stores = BTreeMap::new();
        key_value_stores.insert(
            DEFAULT_LABEL.to_string(),
            StoreLocation::File(dirs.state.join("sqlite_key_value.db")),
        );
        for (label, store) in raw.key_value_store {
            let location = match store {
                RawKeyValueStore::Spin { path: Some(path) } => {
                    StoreLocation::File(dirs.config.join(path))
                }
                RawKeyValueStore::Spin { path: None } => StoreLocation::Memory,
            };
            key_value_stores.insert(label, location);
        }
        Ok(RuntimeConfig { sqlite_databases, key_value_stores })
    }
}

/// What relative paths of a runtime config resolve against.
struct Dirs<'a> {
    /// The working directory: database paths.
    working: &'a Path,
    /// The directory of the runtime config file: store paths.
    config: &'a Path,
    /// The state directory: the `default` database and store.
    state: &'a Path,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RuntimeConfig> {
        let dirs = Dirs {
            working: Path::new("/work"),
            config: Path::new("/work/config"),
            state: Path::new("/work/.spin"),
        };
        RuntimeConfig::from_raw(toml::from_str(text)?, &dirs)
    }

    #[test]
    fn relative_paths_resolve_against_working_dir_and_default_is_in_state_dir() {
        let config = parse(
            "[sqlite_database.listings]\ntype = \"spin\"\npath = \".spin/listings.db\"\n\
             [sqlite_database.abs]\ntype = \"spin\"\npath = \"/data/abs.db\"\n",
        )
        .unwrap();
        assert_eq!(config.sqlite_databases["listings"], file("/work/.spin/listings.db"));
        assert_eq!(config.sqlite_databases["abs"], file("/data/abs.db"));
        assert_eq!(config.sqlite_databases["default"], file("/work/.spin/sqlite_db.db"));
    }

    #[test]
    fn default_label_can_be_remapped() {
        let config =
            parse("[sqlite_database.default]\ntype = \"spin\"\npath = \"other.db\"\n").unwrap();
        assert_eq!(config.sqlite_databases["default"], file("/work/other.db"));
    }

    #[test]
    fn libsql_databases_need_an_http_url_and_a_token() {
        let config =
            parse("[sqlite_database.x]\ntype = \"libsql\"\nurl = \"https://db\"\ntoken = \"t\"\n")
                .unwrap();
        assert_eq!(
            config.sqlite_databases["x"],
            DatabaseLocation::Libsql { url: "https://db".into(), token: "t".into() }
        );
        for (text, message) in [
            (
                "type = \"libsql\"\nurl = \"libsql://db\"\ntoken = \"t\"",
                "sqlite_database.x.url: \"libsql://db\" does not start with `https://` or \
                 `http://`; libSQL databases are reached over HTTP(S)",
            ),
            ("type = \"libsql\"\nurl = \"https://db\"", "missing field `token`"),
            (
                "type = \"libsql\"\nurl = \"https://db\"\ntoken = \"t\"\npath = \"x.db\"",
                "unknown field `path`, expected `url` or `token`",
            ),
            (
                "type = \"spin\"\npath = \"x.db\"\nurl = \"https://db\"",
                "unknown field `url`, expected `path`",
            ),
        ] {
            let error =
                format!("{:#}", parse(&format!("[sqlite_database.x]\n{text}\n")).unwrap_err());
            assert!(error.contains(message), "{text}: {error}");
        }
    }

    fn file(path: &str) -> DatabaseLocation {
        DatabaseLocation::File(PathBuf::from(path))
    }

    #[test]
    fn explains_unsupported_and_incomplete_sections() {
        let unknown = parse("[sqlite_database.x]\ntype = \"redis\"\n");
        assert!(format!("{:#}", unknown.unwrap_err()).contains("unknown variant `redis`"));
        let no_path = parse("[sqlite_database.x]\ntype = \"spin\"\n");
        assert!(format!("{:#}", no_path.unwrap_err()).contains("sqlite_database.x.path"));
        let other_store = parse("[key_value_store.x]\ntype = \"redis\"\nurl = \"redis://x\"\n");
        assert!(
            format!("{:#}", other_store.unwrap_err())
                .contains("unknown variant `redis`, expected `spin`")
        );
    }

    #[test]
    fn stores_resolve_against_the_config_file_and_default_is_in_state_dir() {
        let config = parse(
            "[key_value_store.cache]\ntype = \"spin\"\npath = \"cache.db\"\n\
             [key_value_store.scratch]\ntype = \"spin\"\n",
        )
        .unwrap();
        let stores = &config.key_value_stores;
        assert_eq!(stores["cache"], StoreLocation::File("/work/config/cache.db".into()));
        assert_eq!(stores["scratch"], StoreLocation::Memory);
        assert_eq!(
            stores["default"],
            StoreLocation::File("/work/.spin/sqlite_key_value.db".into())
        );
    }
}
