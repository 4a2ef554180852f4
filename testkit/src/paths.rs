//! Where the tests find the repository and keep their state.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("testkit/ has a parent").to_path_buf()
}

/// fn-host's compiled components, shared by every test so each is compiled once per run.
pub fn shared_cache_dir() -> PathBuf {
    repo_root().join("target/fn-host-test-cache")
}

/// A new empty directory under `target/test-state/`, kept after the run for inspection.
pub fn fresh_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = repo_root().join(format!("target/test-state/{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a test directory");
    dir
}
