//! Where runs are kept: a folder per run, `bench/results/<date>-<name>/`, and `INDEX.md`
//! beside them, written from the folders, naming the current run: the newest run made with
//! `--current`, the one the documentation points to.

use anyhow::{Context, Result};
use serde_json::Value;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// `<YYYY-MM-DD>-<name>` of a run that finished at `unix` (UTC).
pub fn folder_name(unix: u64, name: &str) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix);
    format!("{}-{name}", &humantime::format_rfc3339_seconds(time).to_string()[..10])
}

/// Rewrites `<results>/INDEX.md` from the run folders in it; returns its path.
pub fn write_index(results: &Path) -> Result<PathBuf> {
    let entries =
        std::fs::read_dir(results).with_context(|| format!("cannot read {}", results.display()))?;
    let mut runs = Vec::new();
    for entry in entries {
        let path = entry?.path();
        // A run's results, a soak's, or a folder of other material (e.g. profiles).
        let json = ["results.json", "soak.json"].map(|name| path.join(name));
        let run = match json.into_iter().find(|json| json.is_file()) {
            Some(json) => {
                let text = std::fs::read_to_string(&json)
                    .with_context(|| format!("cannot read {}", json.display()))?;
                let mut run: Value = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not JSON", json.display()))?;
                run["markdown"] =
                    json.with_extension("md").file_name().map(|n| n.to_string_lossy()).into();
                run
            }
            None => Value::Null,
        };
        if let Some(folder) = path.file_name().filter(|_| path.is_dir()) {
            runs.push((folder.to_string_lossy().into_owned(), run));
        }
    }
    let index = results.join("INDEX.md");
    std::fs::write(&index, render(runs))
        .with_context(|| format!("cannot write {}", index.display()))?;
    Ok(index)
}

/// The index of `runs` (each folder and its results.json), newest first.
fn render(mut runs: Vec<(String, Value)>) -> String {
    runs.sort_by(|a, b| b.0.cmp(&a.0));
    let link = |(folder, run): &(String, Value)| {
        let markdown =
            run["markdown"].as_str().unwrap_or(if run.is_null() { "" } else { "results.md" });
        format!("[`{folder}`]({folder}/{markdown})")
    };
    let current = (runs.iter().filter(|(_, run)| run["settings"]["current"] == true))
        .max_by_key(|(_, run)| run["generated_unix"].as_u64());
    let mut md = String::from(
        "# Benchmark runs\n\nA folder per run, written by the bench \
         (`cargo run --release -p bench -- --name NAME [--current]`), as is this index.\n\n",
    );
    let _ = match current {
        Some(run) => writeln!(md, "Current: {}\n", link(run)),
        None => writeln!(md, "No run is marked current (`--current`).\n"),
    };
    md.push_str(
        "| run | commit | systems | connections | s per scenario |\n|---|---|---|---:|---:|\n",
    );
    for run in &runs {
        let field = |key: &str| match &run.1["settings"][key] {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            Value::Array(items) => {
                items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")
            }
            _ => "–".into(),
        };
        let (commit, systems) = (field("commit"), field("systems"));
        let (connections, secs) = (field("connections"), field("duration_secs"));
        let _ = writeln!(md, "| {} | {commit} | {systems} | {connections} | {secs} |", link(run));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(folder_name(951_782_400, "leap"), "2000-02-29-leap");
        assert_eq!(folder_name(1_795_910_400, "bound"), "2026-11-29-bound");
    }

    #[test]
    fn the_index_names_the_newest_current_run() -> serde_json::Result<()> {
        let run = |folder: &str, json: &str| -> serde_json::Result<(String, Value)> {
            let run = if json.is_empty() { Value::Null } else { serde_json::from_str(json)? };
            Ok((folder.into(), run))
        };
        let index = render(vec![
            run("2026-11-27-old", r#"{"generated_unix": 1, "settings": {"current": true}}"#)?,
            run(
                "2026-11-28-new",
                r#"{"generated_unix": 2, "settings": {"current": true, "commit": "abc",
                    "systems": ["fn-host", "spin"], "connections": 64, "duration_secs": 10.0}}"#,
            )?,
            run("2026-11-29-smoke", r#"{"generated_unix": 3, "settings": {}}"#)?,
            run("2026-11-28-profiles", "")?,
        ]);
        let lines: Vec<&str> = index.lines().collect();
        assert_eq!(lines[4], "Current: [`2026-11-28-new`](2026-11-28-new/results.md)");
        // Newest first, by folder name.
        assert_eq!(lines[9], "| [`2026-11-28-profiles`](2026-11-28-profiles/) | – | – | – | – |");
        assert_eq!(
            lines[10],
            "| [`2026-11-28-new`](2026-11-28-new/results.md) | abc | fn-host, spin | 64 | 10.0 |"
        );
        Ok(())
    }
}
