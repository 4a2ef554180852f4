//! The end-to-end suites' toolkit: a Spin app served by a real host process (this repository's
//! `fn-host`, or the Spin CLI when one is found) on a free port and fresh state, and an HTTP
//! client for it.
//!
//! ```no_run
//! use testkit::{HostOptions, HostProgram};
//! let fn_host = HostProgram::FnHost("target/release/fn-host".into());
//! let host = HostOptions::new(fn_host, testkit::repo_root().join("spin.toml")).start();
//! assert_eq!(host.get("/.well-known/spin/health").body, "OK");
//! ```

mod client;
mod host;
mod output;
mod paths;
mod program;
mod proxy;
mod tools;
mod wire;

pub use client::{Reply, ids, try_post};
pub use host::{Host, HostOptions};
pub use paths::{fresh_dir, repo_root, shared_cache_dir};
pub use program::HostProgram;
pub use proxy::RecordingProxy;
pub use tools::find_tool;
/// The `http` types of [`Host::send`].
pub use ureq::http;
