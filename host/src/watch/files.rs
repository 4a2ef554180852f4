//! The files `fn-host watch` follows and what a change to each means: a component's `watch`
//! globs (rooted at its build `workdir`, as `spin watch` roots them), the manifest, the runtime
//! config. Only the directories the globs can match are watched (never, say, the build's
//! `target/`), and events are debounced.

use crate::manifest::Manifest;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;
use wasmtime::Result;
use wasmtime::error::Context as _;

/// What changed since the last version.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Components whose watched files changed.
    pub components: BTreeSet<String>,
    /// The manifest.
    pub manifest: bool,
    /// The runtime config.
    pub runtime_config: bool,
}

impl Changes {
    fn is_empty(&self) -> bool {
        self.components.is_empty() && !self.manifest && !self.runtime_config
    }
}

/// What changed, for a person: "`users-fn`, the manifest".
impl std::fmt::Display for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let components = self.components.iter().map(|id| format!("`{id}`"));
        let files = [
            self.manifest.then(|| "the manifest".to_string()),
            self.runtime_config.then(|| "the runtime config".to_string()),
        ];
        let all: Vec<String> = components.chain(files.into_iter().flatten()).collect();
        f.write_str(&all.join(", "))
    }
}

/// Which files matter and to what: absolute paths and patterns.
#[derive(Debug)]
pub struct Plan {
    components: Vec<(String, GlobSet)>,
    manifest: PathBuf,
    runtime_config: Option<PathBuf>,
    /// The directories to watch; recursive when a pattern reaches below them.
    roots: Vec<(PathBuf, RecursiveMode)>,
}

impl Plan {
    /// The plan for `manifest` (read from `manifest_path`) and its runtime config; both paths
    /// absolute. Components without `watch` globs are named on stdout, as `spin watch` does.
    pub fn new(
        manifest: &Manifest,
        manifest_path: &Path,
        runtime_config: Option<&Path>,
    ) -> Result<Plan> {
        let mut roots = Vec::new();
        for file in std::iter::once(manifest_path).chain(runtime_config) {
            roots.push((parent(file), RecursiveMode::NonRecursive));
        }
        let mut components = Vec::new();
        for (id, component) in &manifest.components {
            let Some(build) = component.build.as_ref().filter(|build| !build.watch.is_empty())
            else {
                println!(
                    "Component `{id}` has no `watch` globs in [component.{id}.build]: \
                     changes to its files are not picked up"
                );
                continue;
            };
            let dir = build.dir(&manifest.dir);
            let mut globs = GlobSetBuilder::new();
            for glob in &build.watch {
                let pattern = normalize(&dir.join(glob));
                let text = pattern.to_string_lossy();
                globs.add(
                    GlobBuilder::new(&text)
                        .literal_separator(true)
                        .build()
                        .with_context(|| format!("component.{id}.build.watch: {glob:?}"))?,
                );
                roots.push(root_of(&pattern));
            }
            let globs = globs.build().with_context(|| format!("component.{id}.build.watch"))?;
            components.push((id.clone(), globs));
        }
        Ok(Plan {
            components,
            manifest: manifest_path.to_path_buf(),
            runtime_config: runtime_config.map(Path::to_path_buf),
            roots: without_nested(roots),
        })
    }

    /// Adds what a change to `path` means to `changes`.
    fn classify(&self, path: &Path, changes: &mut Changes) {
        changes.manifest |= path == self.manifest;
        changes.runtime_config |= Some(path) == self.runtime_config.as_deref();
        for (id, globs) in &self.components {
            if globs.is_match(path) {
                changes.components.insert(id.clone());
            }
        }
    }
}

/// The directory to watch for `pattern`: the part before its first wildcard; recursive when the
/// rest has more than one level (or `**`). A plain file is watched through its directory, which
/// also sees an editor replace it.
fn root_of(pattern: &Path) -> (PathBuf, RecursiveMode) {
    let parts: Vec<Component> = pattern.components().collect();
    let literal = parts
        .iter()
        .position(|part| part.as_os_str().to_string_lossy().contains(['*', '?', '[', '{']))
        .unwrap_or(parts.len());
    let base: PathBuf = parts[..literal].iter().collect();
    match &parts[literal..] {
        [] => (parent(&base), RecursiveMode::NonRecursive),
        [last] if last.as_os_str() != "**" => (base, RecursiveMode::NonRecursive),
        _ => (base, RecursiveMode::Recursive),
    }
}

fn parent(path: &Path) -> PathBuf {
    path.parent().unwrap_or(Path::new("/")).to_path_buf()
}

/// `path` with `.` and `..` resolved as text: a glob such as `../api-http/src/**/*.rs` in
/// workdir `listings-fn` is `<app>/api-http/src/**/*.rs`.
fn normalize(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal
}

/// One entry per directory, the recursive one if any is; none inside a recursive one.
fn without_nested(mut roots: Vec<(PathBuf, RecursiveMode)>) -> Vec<(PathBuf, RecursiveMode)> {
    // Recursive first, so a directory watched both ways keeps the recursive entry.
    roots.sort_by_key(|(dir, mode)| (dir.clone(), *mode != RecursiveMode::Recursive));
    let mut kept: Vec<(PathBuf, RecursiveMode)> = Vec::new();
    for (dir, mode) in roots {
        let covered = kept.iter().any(|(other, other_mode)| {
            *other == dir || (*other_mode == RecursiveMode::Recursive && dir.starts_with(other))
        });
        if !covered {
            kept.push((dir, mode));
        }
    }
    kept
}

/// The file system watcher of a [`Plan`], debounced.
pub struct FileWatch {
    plan: Plan,
    events: mpsc::UnboundedReceiver<DebounceEventResult>,
    /// Watching stops when this is dropped.
    _debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
}

impl FileWatch {
    /// Starts watching; a change reports once nothing else changed for `debounce`. A directory
    /// that does not exist is skipped, with a warning.
    pub fn start(plan: Plan, debounce: Duration) -> Result<FileWatch> {
        let (sender, events) = mpsc::unbounded_channel();
        let mut debouncer = new_debouncer(debounce, None, move |result| {
            let _ = sender.send(result);
        })
        .context("cannot watch files")?;
        for (dir, mode) in &plan.roots {
            if let Err(error) = debouncer.watch(dir, *mode) {
                tracing::warn!("not watching {}: {error}", dir.display());
            }
        }
        Ok(FileWatch { plan, events, _debouncer: debouncer })
    }

    /// Waits for the next changes that matter (files created, changed or removed that the plan
    /// names), with whatever else changed meanwhile.
    pub async fn changes(&mut self) -> Changes {
        let mut changes = Changes::default();
        while let Some(result) = self.events.recv().await {
            self.take(result, &mut changes);
            while let Ok(result) = self.events.try_recv() {
                self.take(result, &mut changes);
            }
            if !changes.is_empty() {
                return changes;
            }
        }
        // The watcher's thread is gone (it lives as long as `self`): nothing will change.
        std::future::pending().await
    }

    fn take(&self, result: DebounceEventResult, changes: &mut Changes) {
        match result {
            Ok(events) => {
                for event in events {
                    // Not reads (a build reads the sources) nor anything else that changes nothing.
                    if matches!(
                        event.kind,
                        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
                    ) {
                        for path in &event.paths {
                            self.plan.classify(path, changes);
                        }
                    }
                }
            }
            Err(errors) => {
                for error in errors {
                    tracing::warn!("watching files: {error}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
spin_manifest_version = 2
[application]
name = "demo"
[[trigger.http]]
route = "/a/..."
component = "a"
[[trigger.http]]
route = "/b/..."
component = "b"
[component.a]
source = "a.wasm"
[component.a.build]
command = "make"
workdir = "a"
watch = ["src/**/*.rs", "Cargo.toml", "../shared/src/**/*.rs"]
[component.b]
source = "b.wasm"
[component.b.build]
command = "make"
watch = ["b/*.txt", "/elsewhere/b.conf"]
"#;

    fn plan() -> Plan {
        let manifest = Manifest::parse(MANIFEST, PathBuf::from("/app")).unwrap();
        Plan::new(&manifest, Path::new("/app/spin.toml"), Some(Path::new("/app/runtime.toml")))
            .unwrap()
    }

    fn changes_of(paths: &[&str]) -> Changes {
        let plan = plan();
        let mut changes = Changes::default();
        for path in paths {
            plan.classify(Path::new(path), &mut changes);
        }
        changes
    }

    fn components(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|id| id.to_string()).collect()
    }

    #[test]
    fn globs_are_rooted_at_the_workdir_and_may_climb_out_of_it() {
        assert_eq!(
            changes_of(&["/app/a/src/deep/lib.rs", "/app/a/Cargo.toml"]).components,
            components(&["a"])
        );
        assert_eq!(changes_of(&["/app/shared/src/lib.rs"]).components, components(&["a"]));
        assert_eq!(changes_of(&["/app/b/notes.txt"]).components, components(&["b"]));
        assert_eq!(changes_of(&["/elsewhere/b.conf"]).components, components(&["b"]));
        // `*` stays within a directory; other files and the build's output do not count.
        assert!(
            changes_of(&["/app/b/sub/notes.txt", "/app/a/src/lib.txt", "/app/target/x.rs"])
                .is_empty()
        );
    }

    #[test]
    fn the_manifest_and_runtime_config_are_changes_of_their_own() {
        let changes = changes_of(&["/app/spin.toml", "/app/runtime.toml"]);
        assert!(changes.manifest && changes.runtime_config && changes.components.is_empty());
    }

    #[test]
    fn only_the_directories_the_globs_reach_are_watched() {
        use RecursiveMode::{NonRecursive, Recursive};
        let roots: Vec<(String, RecursiveMode)> =
            plan().roots.into_iter().map(|(dir, mode)| (dir.display().to_string(), mode)).collect();
        let expected = [
            ("/app", NonRecursive),
            ("/app/a", NonRecursive),
            ("/app/a/src", Recursive),
            ("/app/b", NonRecursive),
            ("/app/shared/src", Recursive),
            ("/elsewhere", NonRecursive),
        ];
        assert_eq!(roots, expected.map(|(dir, mode)| (dir.to_string(), mode)).to_vec());
    }
}
