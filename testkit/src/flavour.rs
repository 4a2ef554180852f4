//! The two builds of the app's components: for `wasi:http` 0.3 (`spin.toml`) and for 0.2
//! (`spin.wasip2.toml`), from one source.

use crate::paths::repo_root;
use std::fmt;
use std::path::PathBuf;

/// The listing and user services' own routes, which the repository's manifests keep private:
/// the tests of the services' APIs (and the bench) route them, as a developer may locally.
pub const SERVICE_ROUTES: [(&str, &str); 2] =
    [("listings-fn", "/listings/..."), ("users-fn", "/users/...")];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavour {
    /// spin-sdk 7, `wasi:http@0.3.0`: Spin >= 4.1 and fn-host.
    P3,
    /// spin-sdk 5.2, `wasi:http@0.2`: every Spin host and fn-host.
    P2,
}

impl Flavour {
    pub const ALL: [Flavour; 2] = [Flavour::P3, Flavour::P2];

    /// The repository's manifest of this flavour.
    pub fn manifest(self) -> PathBuf {
        repo_root().join(match self {
            Flavour::P3 => "spin.toml",
            Flavour::P2 => "spin.wasip2.toml",
        })
    }
}

impl fmt::Display for Flavour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flavour::P3 => "wasi:http 0.3",
            Flavour::P2 => "wasi:http 0.2",
        })
    }
}
