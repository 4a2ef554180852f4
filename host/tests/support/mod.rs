//! The host's tests run `host/tests/app/spin.toml` (one purpose-built guest under several
//! component ids) on the `fn-host` binary under test, through the shared test toolkit.

#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
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

/// The repository's app on this fn-host, with both its databases as files in `data` (say, on a
/// file system a test controls) through a runtime config written into `dir`, its working dir.
pub fn app_with_databases_in(dir: &Path, data: &Path) -> HostOptions {
    let runtime_config = dir.join("runtime.toml");
    std::fs::write(
        &runtime_config,
        format!(
            "[sqlite_database.listings]\ntype = \"spin\"\npath = \"{0}/listings.db\"\n\
             [sqlite_database.users]\ntype = \"spin\"\npath = \"{0}/users.db\"\n",
            data.display()
        ),
    )
    .expect("write the runtime config");
    HostOptions::new(fn_host(), Flavour::P3.manifest())
        .with_services_routed()
        .runtime_config(runtime_config)
        .in_dir(dir)
}

/// The repository's app on this fn-host, with its services routed (the tests of the host's
/// limits use their endpoints) and its own runtime config.
pub fn repo_app() -> HostOptions {
    HostOptions::new(fn_host(), Flavour::P3.manifest())
        .with_services_routed()
        .runtime_config(repo_root().join("runtime.toml"))
}
