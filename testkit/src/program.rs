//! The programs that serve a Spin app: this repository's `fn-host` and the Spin CLIs.

use crate::flavour::Flavour;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// A host program, by the path of its executable. All take the same `build` and `up`
/// arguments for what the tests use (`--from`, `--runtime-config-file`, `--listen`,
/// `--state-dir`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostProgram {
    FnHost(PathBuf),
    /// The Spin CLI, >= 4.1: both flavours.
    Spin(PathBuf),
    /// The Spin CLI 3.x, the runtime of SpinKube's containerd-shim-spin: wasi:http 0.2 only.
    Spin3(PathBuf),
}

impl HostProgram {
    /// The Spin CLI named by `SPIN`, else `spin` on `PATH`; `None` (saying so on stdout) when
    /// there is neither. A `SPIN` that names no file is a mistake, not a skip: it panics.
    pub fn spin() -> Option<HostProgram> {
        let found = crate::find_tool("SPIN", "spin");
        if found.is_none() {
            println!(
                "skipped on Spin: no Spin CLI (set SPIN to one, >= 4.1, or put `spin` on PATH; \
                 `../shared/tools/spin/install.sh` prints one)"
            );
        }
        found.map(HostProgram::Spin)
    }

    /// The Spin 3 CLI named by `SPIN3`, else `spin3` on `PATH`; `None` (saying so) otherwise.
    pub fn spin3() -> Option<HostProgram> {
        let found = crate::find_tool("SPIN3", "spin3");
        if found.is_none() {
            println!(
                "skipped on Spin 3: no Spin 3 CLI (set SPIN3 to one, or put `spin3` on PATH; \
                 `../shared/tools/spin3/install.sh` prints one)"
            );
        }
        found.map(HostProgram::Spin3)
    }

    /// fn-host at `fn_host`, then each Spin CLI found.
    pub fn all(fn_host: impl Into<PathBuf>) -> Vec<HostProgram> {
        let fn_host = HostProgram::FnHost(fn_host.into());
        std::iter::once(fn_host).chain(HostProgram::spin()).chain(HostProgram::spin3()).collect()
    }

    /// Whether it is one of the Spin CLIs.
    pub fn is_spin(&self) -> bool {
        !matches!(self, HostProgram::FnHost(_))
    }

    /// Whether it serves components of `flavour`.
    pub fn serves(&self, flavour: Flavour) -> bool {
        !matches!((self, flavour), (HostProgram::Spin3(_), Flavour::P3))
    }

    pub fn path(&self) -> &Path {
        match self {
            HostProgram::FnHost(path) | HostProgram::Spin(path) | HostProgram::Spin3(path) => path,
        }
    }

    /// Builds the components of `manifest` with this program's `build` (as a user would),
    /// once per program and manifest per test binary.
    pub fn build(&self, manifest: &Path) {
        static BUILT: OnceLock<Mutex<Vec<(HostProgram, PathBuf)>>> = OnceLock::new();
        // Held while building: concurrent tests wait for the one build instead of racing it.
        let mut built =
            BUILT.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        let key = (self.clone(), manifest.to_path_buf());
        if built.contains(&key) {
            return;
        }
        let output = Command::new(self.path())
            .arg("build")
            .arg("--from")
            .arg(manifest)
            .output()
            .unwrap_or_else(|e| panic!("run {self} build: {e}"));
        assert!(
            output.status.success(),
            "{self} build failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        built.push(key);
    }
}

impl fmt::Display for HostProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostProgram::FnHost(_) => "fn-host",
            HostProgram::Spin(_) => "Spin",
            HostProgram::Spin3(_) => "Spin 3",
        })
    }
}
