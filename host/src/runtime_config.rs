//! `runtime.toml`: where each SQLite label lives, in Spin's runtime-config format: a local file
//! (`[sqlite_database.<label>] type = "spin", path = "..."`) or a database on a libSQL server
//! (`type = "libsql", url = "https://...", token = "..."`).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wasmtime::error::Context;
use wasmtime::{Result, bail};

/// The label every Spin host provides without configuration.
pub const DEFAULT_LABEL: &str = "default";

/// Label → where its database lives, with the built-in `default` label included.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// Label → where its database lives.
    pub sqlite_databases: BTreeMap<String, DatabaseLocation>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuntimeConfig {
    #[serde(default)]
    sqlite_database: BTreeMap<String, RawSqliteDatabase>,
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
    /// Reads `file` (when given). Relative database paths resolve against `working_dir`, as Spin
    /// does; `default` lives at `<state_dir>/sqlite_db.db` unless the file remaps it.
    pub fn load(file: Option<&Path>, working_dir: &Path, state_dir: &Path) -> Result<Self> {
        let raw = match file {
            Some(file) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read runtime config {}", file.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("invalid runtime config {}", file.display()))?
            }
            None => RawRuntimeConfig {
                sqlite_database: BTreeMap::new(),
            },
        };
        Self::from_raw(raw, working_dir, state_dir).with_context(|| match file {
            Some(file) => format!("invalid runtime config {}", file.display()),
            None => "invalid runtime config".to_string(),
        })
    }

    fn from_raw(raw: RawRuntimeConfig, working_dir: &Path, state_dir: &Path) -> Result<Self> {
        let mut sqlite_databases = BTreeMap::new();
        sqlite_databases.insert(
            DEFAULT_LABEL.to_string(),
            DatabaseLocation::File(state_dir.join("sqlite_db.db")),
        );
        for (label, database) in raw.sqlite_database {
            let key = format!("sqlite_database.{label}");
            let location = match database {
                RawSqliteDatabase::Spin { path: Some(path) } => {
                    DatabaseLocation::File(working_dir.join(path))
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
        Ok(RuntimeConfig { sqlite_databases })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RuntimeConfig> {
        RuntimeConfig::from_raw(
            toml::from_str(text)?,
            Path::new("/work"),
            Path::new("/work/.spin"),
        )
    }

    #[test]
    fn relative_paths_resolve_against_working_dir_and_default_is_in_state_dir() {
        let config = parse(
            "[sqlite_database.listings]\ntype = \"spin\"\npath = \".spin/listings.db\"\n\
             [sqlite_database.abs]\ntype = \"spin\"\npath = \"/data/abs.db\"\n",
        )
        .unwrap();
        assert_eq!(
            config.sqlite_databases["listings"],
            file("/work/.spin/listings.db")
        );
        assert_eq!(config.sqlite_databases["abs"], file("/data/abs.db"));
        assert_eq!(
            config.sqlite_databases["default"],
            file("/work/.spin/sqlite_db.db")
        );
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
            DatabaseLocation::Libsql {
                url: "https://db".into(),
                token: "t".into()
            }
        );
        for (text, message) in [
            (
                "type = \"libsql\"\nurl = \"libsql://db\"\ntoken = \"t\"",
                "sqlite_database.x.url: \"libsql://db\" does not start with `https://` or \
                 `http://`; libSQL databases are reached over HTTP(S)",
            ),
            (
                "type = \"libsql\"\nurl = \"https://db\"",
                "missing field `token`",
            ),
            (
                "type = \"libsql\"\nurl = \"https://db\"\ntoken = \"t\"\npath = \"x.db\"",
                "unknown field `path`, expected `url` or `token`",
            ),
            (
                "type = \"spin\"\npath = \"x.db\"\nurl = \"https://db\"",
                "unknown field `url`, expected `path`",
            ),
        ] {
            let error = format!(
                "{:#}",
                parse(&format!("[sqlite_database.x]\n{text}\n")).unwrap_err()
            );
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
        assert!(parse("[key_value_store.x]\ntype = \"spin\"\n").is_err());
    }
}
