//! How each chosen system starts on this machine, decided once per run: the fn-host binary
//! and arguments of each host configuration, sqld and HAProxy for the libSQL shapes, the Spin
//! CLI, the reference folders. A system whose programs are not here is skipped with a note.

use crate::cli::Opts;
use crate::launch::{self, Anchor, App, FnHost, Running};
use crate::libsql::{Balancer, Shape};
use crate::system::System;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// A system that can run here.
pub struct Setup {
    pub system: System,
    /// What the tables call it.
    pub label: String,
    start: Start,
}

enum Start {
    /// fn-host with its databases in local files.
    FnHost(FnHost),
    Libsql(Shape),
    /// The Spin CLI.
    Spin(PathBuf),
    Anchor(Anchor),
}

/// Where a run finds what it starts.
pub struct Places<'a> {
    pub repo: &'a Path,
    /// This repository's fn-host.
    pub fn_host: &'a Path,
    /// The reference stacks' folder.
    pub anchors_dir: &'a Path,
    /// The run's scratch folder (compiled-component caches go there).
    pub run_dir: &'a Path,
}

/// The systems `opts` asks for that can run here, in display order, and a note for each of
/// the others.
pub fn find(opts: &Opts, places: &Places<'_>) -> (Vec<Setup>, Vec<String>) {
    let mut notes = Vec::new();
    let setups = opts
        .systems
        .0
        .iter()
        .filter_map(|&system| {
            Setup::find(system, opts, places)
                .map_err(|why| notes.push(format!("{}: {why}; skipped", system.label())))
                .ok()
        })
        .collect();
    (setups, notes)
}

impl Setup {
    fn find(system: System, opts: &Opts, places: &Places<'_>) -> Result<Setup, String> {
        let host = |binary: &Path, cache: &str| FnHost {
            binary: binary.to_path_buf(),
            args: (system.fn_host_args().iter().map(|arg| arg.to_string()))
                .chain(opts.host_args.iter().cloned())
                .collect(),
            // A binary of its own may compile the components differently.
            cache_dir: places.run_dir.join(cache),
            manifest: None,
        };
        let this_host = || host(places.fn_host, "fn-host-cache");
        let mut label = system.label().to_string();
        let start = match system {
            System::FnHost | System::FnHostProcess | System::FnHostReuse1 => {
                Start::FnHost(this_host())
            }
            System::Baseline => {
                let binary = opts
                    .baseline_fn_host
                    .as_deref()
                    .ok_or("give its binary with --baseline-fn-host PATH")?;
                if !binary.is_file() {
                    return Err(format!("{} is not a file", binary.display()));
                }
                label = match &opts.baseline_label {
                    Some(given) => given.clone(),
                    None => file_name(binary),
                };
                Start::FnHost(FnHost {
                    manifest: opts.baseline_manifest.clone(),
                    ..host(binary, "baseline-cache")
                })
            }
            System::FnHostLibsql | System::FnHostLibsqlBalanced => {
                let sqld = program(
                    opts.sqld.as_deref(),
                    "sqld",
                    "set SQLD or put `sqld` on PATH; `../shared/tools/sqld/install.sh` unpacks one",
                )?;
                let balancer = if system == System::FnHostLibsqlBalanced {
                    Some(Balancer {
                        haproxy: program(
                            opts.haproxy.as_deref(),
                            "haproxy",
                            "set HAPROXY or put `haproxy` on PATH; `apt-get install haproxy`",
                        )?,
                        shipped_config: places.repo.join(testkit::SHIPPED_CONFIG),
                    })
                } else {
                    None
                };
                Start::Libsql(Shape {
                    host: this_host(),
                    sqld,
                    balancer,
                })
            }
            System::Spin => Start::Spin(program(
                opts.spin.as_deref(),
                "spin",
                "set SPIN or put `spin` on PATH",
            )?),
            System::Tornado | System::Native => {
                let anchor =
                    Anchor::of(system, places.anchors_dir).ok_or("not a reference stack")?;
                if !anchor.is_present() {
                    return Err(format!("not found at {}", anchor.dir.display()));
                }
                Start::Anchor(anchor)
            }
        };
        Ok(Setup {
            system,
            label,
            start,
        })
    }

    /// Starts the system serving `app` (the references serve their own), its state in `dir`
    /// and its output in `log`; returns once it answers.
    pub fn start(&self, app: &App, dir: &Path, log: &Path) -> Result<Running> {
        Ok(match &self.start {
            Start::FnHost(host) => {
                launch::start_host(&self.label, app.fn_host(host, dir), app.ready_path, log)?.0
            }
            Start::Libsql(shape) => shape.start(&self.label, app, dir)?,
            Start::Spin(binary) => {
                launch::start_host(&self.label, app.spin(binary, dir), app.ready_path, log)?.0
            }
            Start::Anchor(anchor) => anchor.start(dir.to_path_buf(), log)?,
        })
    }

    /// The host configuration, for a system that is one fn-host on local files.
    pub fn fn_host(&self) -> Option<&FnHost> {
        match &self.start {
            Start::FnHost(host) => Some(host),
            _ => None,
        }
    }

    /// The third-party programs it runs, by name, for their versions in the report.
    pub fn programs(&self) -> Vec<(&'static str, &Path)> {
        match &self.start {
            Start::Spin(binary) => vec![("spin", binary)],
            Start::Libsql(shape) => {
                let mut programs = vec![("sqld", shape.sqld.as_path())];
                programs.extend(
                    (shape.balancer.iter()).map(|balancer| ("haproxy", balancer.haproxy.as_path())),
                );
                programs
            }
            Start::FnHost(_) | Start::Anchor(_) => Vec::new(),
        }
    }
}

/// `explicit` if it is a file, else `name` on PATH; else why not (`how` says how to get one).
fn program(explicit: Option<&Path>, name: &str, how: &str) -> Result<PathBuf, String> {
    match explicit {
        Some(path) if path.is_file() => Ok(path.to_path_buf()),
        Some(path) => Err(format!("{} is not a file", path.display())),
        None => launch::find_on_path(name).ok_or_else(|| format!("no `{name}` ({how})")),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn found(args: &[&str]) -> (Vec<(System, String)>, Vec<String>) {
        let opts = Opts::try_parse_from(args).unwrap();
        let places = Places {
            repo: Path::new("/repo"),
            fn_host: Path::new("/repo/target/release/fn-host"),
            anchors_dir: Path::new("/nowhere/anchors"),
            run_dir: Path::new("/run"),
        };
        let (setups, notes) = find(&opts, &places);
        let setups = setups.into_iter().map(|s| (s.system, s.label)).collect();
        (setups, notes)
    }

    #[test]
    fn host_configurations_differ_in_their_arguments() {
        let opts = Opts::try_parse_from(["bench", "--host-arg=--max-instances=9"]).unwrap();
        let places = Places {
            repo: Path::new("/repo"),
            fn_host: Path::new("/repo/fn-host"),
            anchors_dir: Path::new("/a"),
            run_dir: Path::new("/run"),
        };
        let args = |system| {
            Setup::find(system, &opts, &places)
                .ok()
                .and_then(|setup| setup.fn_host().map(|host| host.args.join(" ")))
        };
        assert_eq!(args(System::FnHost).as_deref(), Some("--max-instances=9"));
        assert_eq!(
            args(System::FnHostProcess).as_deref(),
            Some("--sqlite-durability process --max-instances=9")
        );
        assert_eq!(
            args(System::FnHostReuse1).as_deref(),
            Some("--max-instance-reuse-count 1 --max-instances=9")
        );
    }

    #[test]
    fn the_baseline_is_a_given_binary_with_a_label() {
        let (setups, notes) = found(&["bench", "--systems", "durability"]);
        let systems: Vec<System> = setups.iter().map(|(system, _)| *system).collect();
        assert_eq!(systems, [System::FnHost, System::FnHostProcess]);
        assert_eq!(
            notes,
            ["fn-host baseline: give its binary with --baseline-fn-host PATH; skipped"]
        );

        let binary = std::env::current_exe().unwrap();
        let binary = binary.to_str().unwrap();
        let (setups, _) = found(&[
            "bench",
            "--systems",
            "baseline",
            "--baseline-fn-host",
            binary,
        ]);
        assert_eq!(setups, [(System::Baseline, file_name(Path::new(binary)))]);
        let (setups, _) = found(&[
            "bench",
            "--systems",
            "baseline",
            "--baseline-fn-host",
            binary,
            "--baseline-label",
            "before group commit",
        ]);
        assert_eq!(
            setups,
            [(System::Baseline, "before group commit".to_string())]
        );
        let (setups, notes) =
            found(&["bench", "--systems=baseline", "--baseline-fn-host=/no/such"]);
        assert!(setups.is_empty());
        assert_eq!(notes, ["fn-host baseline: /no/such is not a file; skipped"]);
    }

    #[test]
    fn missing_programs_are_skipped_with_a_note() {
        let (setups, notes) = found(&[
            "bench",
            "--systems",
            "shapes,references",
            "--sqld",
            "/no/sqld",
            "--spin",
            "/no/spin",
        ]);
        assert_eq!(setups, [(System::FnHost, "fn-host".to_string())]);
        assert_eq!(
            notes,
            [
                "fn-host on libSQL: /no/sqld is not a file; skipped",
                "2 × fn-host on libSQL + HAProxy: /no/sqld is not a file; skipped",
                "Spin: /no/spin is not a file; skipped",
                "Tornado: not found at /nowhere/anchors/tornado; skipped",
                "native axum: not found at /nowhere/anchors/native-axum; skipped",
            ]
        );
    }
}
