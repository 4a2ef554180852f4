//! Where runs are kept: a folder per run, `bench/results/<date>-<name>/`, and `INDEX.md`
//! beside them, written from the folders, naming the current run: the newest run made with
//! `--current`, the one the documentation points to.

use anyhow::{Context, Result};
use serde_json::Value;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// `<YYYY-MM-DD>-<name>` of a run that finished at `unix` (UTC).
pub fn folder_name(unix: u64, name: &str) -> String {
    format!("{}-{name}", date(unix))
}

/// The UTC date of `unix`, as `YYYY-MM-DD` (the civil-from-days algorithm of H. Hinnant).
fn date(unix: u64) -> String {
    let days = (unix / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Rewrites `<results>/INDEX.md` from the run folders in it; returns its path.
pub fn write_index(results: &Path) -> Result<PathBuf> {
    let entries =
        std::fs::read_dir(results).with_context(|| format!("cannot read {}", results.display()))?;
    let mut runs = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let json = path.join("results.json");
        let run = match json.is_file() {
            true => {
                let text = std::fs::read_to_string(&json)
                    .with_context(|| format!("cannot read {}", json.display()))?;
                serde_json::from_str(&text)
                    .with_context(|| format!("{} is not JSON", json.display()))?
            }
            // A folder of other material (e.g. profiles).
            false => Value::Null,
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
    let link = |(folder, run): &(String, Value)| match run.is_null() {
        true => format!("[`{folder}`]({folder}/)"),
        false => format!("[`{folder}`]({folder}/results.md)"),
    };
    let current = (runs
        .iter()
        .filter(|(_, run)| run["settings"]["current"] == true))
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
                let items: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                items.join(", ")
            }
            _ => "–".into(),
        };
        let (commit, systems) = (field("commit"), field("systems"));
        let (connections, secs) = (field("connections"), field("duration_secs"));
        let _ = writeln!(
            md,
            "| {} | {commit} | {systems} | {connections} | {secs} |",
            link(run)
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(folder_name(1_795_910_400, "bound"), "2026-11-29-bound");
    }

    #[test]
    fn the_index_names_the_newest_current_run() -> serde_json::Result<()> {
        let run = |folder: &str, json: &str| -> serde_json::Result<(String, Value)> {
            let run = match json {
                "" => Value::Null,
                json => serde_json::from_str(json)?,
            };
            Ok((folder.into(), run))
        };
        let index = render(vec![
            run(
                "2026-11-27-old",
                r#"{"generated_unix": 1, "settings": {"current": true}}"#,
            )?,
            run(
                "2026-11-28-new",
                r#"{"generated_unix": 2, "settings": {"current": true, "commit": "abc",
                    "systems": ["fn-host", "spin"], "connections": 64, "duration_secs": 10.0}}"#,
            )?,
            run(
                "2026-11-29-smoke",
                r#"{"generated_unix": 3, "settings": {}}"#,
            )?,
            run("2026-11-28-profiles", "")?,
        ]);
        let lines: Vec<&str> = index.lines().collect();
        assert_eq!(
            lines[4],
            "Current: [`2026-11-28-new`](2026-11-28-new/results.md)"
        );
        // Newest first, by folder name.
        assert_eq!(
            lines[9],
            "| [`2026-11-28-profiles`](2026-11-28-profiles/) | – | – | – | – |"
        );
        assert_eq!(
            lines[10],
            "| [`2026-11-28-new`](2026-11-28-new/results.md) | abc | fn-host, spin | 64 | 10.0 |"
        );
        Ok(())
    }
}
