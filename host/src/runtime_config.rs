//! `runtime.toml`: where each SQLite label lives, in Spin's runtime-config format
//! (`[sqlite_database.<label>] type = "spin", path = "..."`).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wasmtime::error::Context;
use wasmtime::{Result, bail};

/// The label every Spin host provides without configuration.
pub const DEFAULT_LABEL: &str = "default";

/// Label → database file, with the built-in `default` label included.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// Label → the database file (absolute, or relative to the working directory given).
    pub sqlite_databases: BTreeMap<String, PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuntimeConfig {
    #[serde(default)]
    sqlite_database: BTreeMap<String, RawSqliteDatabase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSqliteDatabase {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    path: Option<PathBuf>,
    // Accepted so a libSQL section gets a clear "not supported here" instead of a parse error.
    #[serde(default, rename = "url")]
    _url: Option<String>,
    #[serde(default, rename = "token")]
    _token: Option<String>,
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
        sqlite_databases.insert(DEFAULT_LABEL.to_string(), state_dir.join("sqlite_db.db"));
        for (label, database) in raw.sqlite_database {
            let key = format!("sqlite_database.{label}");
            let path = match (database.kind.as_str(), database.path) {
                ("spin", Some(path)) => working_dir.join(path),
                ("spin", None) => bail!("{key}.path: a `spin` database needs a file path"),
                ("libsql", _) => bail!(
                    "{key}.type: `libsql` is served by Spin itself, not by this host; \
                     use `type = \"spin\"` here"
                ),
                (other, _) => bail!("{key}.type: unknown database type `{other}`"),
            };
            sqlite_databases.insert(label, path);
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
            PathBuf::from("/work/.spin/listings.db")
        );
        assert_eq!(
            config.sqlite_databases["abs"],
            PathBuf::from("/data/abs.db")
        );
        assert_eq!(
            config.sqlite_databases["default"],
            PathBuf::from("/work/.spin/sqlite_db.db")
        );
    }

    #[test]
    fn default_label_can_be_remapped() {
        let config =
            parse("[sqlite_database.default]\ntype = \"spin\"\npath = \"other.db\"\n").unwrap();
        assert_eq!(
            config.sqlite_databases["default"],
            PathBuf::from("/work/other.db")
        );
    }

    #[test]
    fn explains_unsupported_and_incomplete_sections() {
        let libsql =
            parse("[sqlite_database.x]\ntype = \"libsql\"\nurl = \"https://db\"\ntoken = \"t\"\n");
        assert!(format!("{:#}", libsql.unwrap_err()).contains("sqlite_database.x.type"));
        let no_path = parse("[sqlite_database.x]\ntype = \"spin\"\n");
        assert!(format!("{:#}", no_path.unwrap_err()).contains("sqlite_database.x.path"));
        assert!(parse("[key_value_store.x]\ntype = \"spin\"\n").is_err());
    }
}
