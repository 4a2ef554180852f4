//! An app's runtime config with its SQLite databases moved onto libSQL servers (sqld), one
//! server per label: what every host of a scaled-out app is given.

use crate::process::StartError;
use std::path::Path;

/// A runtime config as read, before its databases are moved.
#[derive(Clone)]
pub struct RuntimeConfig(toml::Table);

impl RuntimeConfig {
    pub fn read(path: &Path) -> Result<RuntimeConfig, StartError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| StartError::new(format!("read {}: {e}", path.display())))?;
        text.parse()
            .map(RuntimeConfig)
            .map_err(|e| StartError::new(format!("parse {}: {e}", path.display())))
    }

    /// The labels of the SQLite databases it names, in the order [`RuntimeConfig::on_libsql`]
    /// takes their servers.
    pub fn database_labels(&self) -> Vec<String> {
        self.0
            .get("sqlite_database")
            .and_then(toml::Value::as_table)
            .map(|databases| databases.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The config with each database on the libSQL server at the same place in `urls` as
    /// its label in [`RuntimeConfig::database_labels`]; everything else as it was.
    pub fn on_libsql(mut self, urls: &[String]) -> Result<String, StartError> {
        let labels = self.database_labels();
        if labels.len() != urls.len() {
            return Err(StartError::new(format!(
                "{} databases ({}) but {} libSQL servers",
                labels.len(),
                labels.join(", "),
                urls.len()
            )));
        }
        let databases: toml::Table = labels
            .into_iter()
            .zip(urls)
            .map(|(label, url)| {
                let mut database = toml::Table::new();
                database.insert("type".into(), "libsql".into());
                database.insert("url".into(), url.as_str().into());
                // Spin requires a token; sqld started without auth keys ignores it.
                database.insert("token".into(), "unused".into());
                (label, database.into())
            })
            .collect();
        self.0.insert("sqlite_database".into(), databases.into());
        toml::to_string(&self.0)
            .map_err(|e| StartError::new(format!("write a runtime config: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_database_moves_to_its_server() -> Result<(), Box<dyn std::error::Error>> {
        let config = RuntimeConfig(
            "[sqlite_database.listings]\npath = \"l.db\"\n\
             [sqlite_database.users]\npath = \"u.db\"\n\
             [key_value_store.default]\ntype = \"spin\"\n"
                .parse()?,
        );
        assert_eq!(config.database_labels(), ["listings", "users"]);
        let urls = ["http://a:1".to_string(), "http://b:2".to_string()];
        let moved: toml::Table = config.on_libsql(&urls)?.parse()?;
        assert_eq!(moved["sqlite_database"]["listings"]["url"].as_str(), Some("http://a:1"));
        assert_eq!(moved["sqlite_database"]["users"]["type"].as_str(), Some("libsql"));
        assert!(moved["sqlite_database"]["users"].get("path").is_none());
        assert_eq!(moved["key_value_store"]["default"]["type"].as_str(), Some("spin"));
        Ok(())
    }

    #[test]
    fn a_server_per_database() -> Result<(), Box<dyn std::error::Error>> {
        let config = RuntimeConfig("[sqlite_database.users]\npath = \"u.db\"\n".parse()?);
        let error = config.on_libsql(&[]).err().map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some("1 databases (users) but 0 libSQL servers"));
        Ok(())
    }
}
