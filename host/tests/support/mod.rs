//! The host's tests run `host/tests/app/spin.toml` (one purpose-built guest under several
//! component ids) on the `fn-host` binary under test, through the shared test toolkit.

#![allow(dead_code)] // each test binary uses a different part

use std::path::PathBuf;
pub use testkit::*;

/// The `fn-host` binary Cargo built for these tests.
pub fn fn_host() -> HostProgram {
    HostProgram::FnHost(env!("CARGO_BIN_EXE_fn-host").into())
}

/// The test app (`host/tests/app/spin.toml`).
pub fn test_manifest() -> PathBuf {
    repo_root().join("host/tests/app/spin.toml")
}

/// The test app with its runtime config and the one required variable set.
pub fn test_app() -> HostOptions {
    let manifest = test_manifest();
    HostOptions::new(fn_host(), &manifest)
        .runtime_config(manifest.with_file_name("runtime.toml"))
        .env("SPIN_VARIABLE_SECRET_TOKEN", "t0ken")
}
