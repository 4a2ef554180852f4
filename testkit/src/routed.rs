//! An app manifest with some private components given public routes: how the tests and the
//! bench reach the listing and user services directly, as a developer may on a local `up`,
//! while the repository's manifests keep them private.

use crate::paths::fresh_dir;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// A copy of `manifest` (written once per process) where each component of `routes` is
/// routed at its path pattern, with every component's `source` made absolute and the `build`
/// sections left out: build with `manifest` itself, serve with the copy.
pub fn with_routes(manifest: &Path, routes: &[(&str, &str)]) -> PathBuf {
    static WRITTEN: OnceLock<Mutex<BTreeMap<String, PathBuf>>> = OnceLock::new();
    let key = format!("{}{routes:?}", manifest.display());
    let mut written =
        WRITTEN.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    written
        .entry(key)
        .or_insert_with(|| {
            let text = routed(manifest, routes).unwrap_or_else(|e| panic!("{e}"));
            let name = manifest.file_name().expect("a manifest file");
            let path = fresh_dir().join(name);
            std::fs::write(&path, text).expect("write the routed manifest");
            path
        })
        .clone()
}

fn routed(manifest: &Path, routes: &[(&str, &str)]) -> Result<String, String> {
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| format!("read {}: {e}", manifest.display()))?;
    let mut table: toml::Table =
        text.parse().map_err(|e| format!("parse {}: {e}", manifest.display()))?;
    let dir = manifest
        .canonicalize()
        .map_err(|e| format!("resolve {}: {e}", manifest.display()))?
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let triggers = table
        .get_mut("trigger")
        .and_then(|trigger| trigger.get_mut("http"))
        .and_then(toml::Value::as_array_mut)
        .ok_or("the manifest has no [[trigger.http]]")?;
    for (component, route) in routes {
        let trigger = triggers
            .iter_mut()
            .find(|trigger| {
                trigger.get("component").and_then(toml::Value::as_str) == Some(component)
            })
            .ok_or_else(|| format!("no trigger for component {component}"))?;
        trigger["route"] = toml::Value::String(route.to_string());
    }
    let components = table
        .get_mut("component")
        .and_then(toml::Value::as_table_mut)
        .ok_or("the manifest has no [component.*]")?;
    for (_, component) in components.iter_mut() {
        let component = component.as_table_mut().ok_or("a component is not a table")?;
        component.remove("build");
        if let Some(source) = component.get("source").and_then(toml::Value::as_str) {
            let absolute = dir.join(source).to_string_lossy().into_owned();
            component.insert("source".into(), toml::Value::String(absolute));
        }
    }
    toml::to_string(&table).map_err(|e| format!("write the routed manifest: {e}"))
}
