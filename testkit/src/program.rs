//! The programs that serve a Spin app: this repository's `fn-host` and the Spin CLI.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// A host program, by the path of its executable. Both take the same `build` and `up`
/// arguments for what the tests use (`--from`, `--runtime-config-file`, `--listen`,
/// `--state-dir`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostProgram {
    FnHost(PathBuf),
    Spin(PathBuf),
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

    pub fn is_spin(&self) -> bool {
        matches!(self, HostProgram::Spin(_))
    }

    pub fn path(&self) -> &Path {
        match self {
            HostProgram::FnHost(path) | HostProgram::Spin(path) => path,
        }
    }

    /// Builds the components of `manifest` with this program's `build` (as a user would),
    /// once per program and manifest per test binary.
    pub fn build(&self, manifest: &Path) {
        static BUILT: OnceLock<Mutex<Vec<(HostProgram, PathBuf)>>> = OnceLock::new();
        // Held while building: concurrent tests wait for the one build instead of racing it.
        let mut built = BUILT
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
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
        })
    }
}
