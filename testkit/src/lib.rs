//! The end-to-end suites' toolkit: a Spin app served by a real host process (this repository's
//! `fn-host`, or the Spin CLI when one is found) on a free port and fresh state, or by a
//! cluster of them (databases on sqld, HAProxy in front), and an HTTP client for it.
//!
//! ```no_run
//! use testkit::{Client, HostOptions, HostProgram};
//! let fn_host = HostProgram::FnHost("target/release/fn-host".into());
//! let host = HostOptions::new(fn_host, testkit::repo_root().join("spin.toml")).start();
//! assert_eq!(host.get("/.well-known/spin/health").body, "OK");
//! ```

mod balancer;
mod client;
mod cluster;
mod flavour;
mod host;
mod link;
pub mod memory;
mod options;
mod output;
mod paths;
mod ports;
mod process;
mod program;
mod proxy;
mod routed;
mod runtime_config;
mod sqld;
mod target;
mod tools;
mod wire;

pub use balancer::{Balancer, SERVED_BY, SHIPPED_CONFIG, balancer_program};
pub use client::{Client, Reply, ids, try_get, try_post, try_post_with_headers};
pub use cluster::{Cluster, ClusterPrograms};
pub use flavour::{Flavour, SERVICE_ROUTES};
pub use host::Host;
pub use link::{Link, LinkState};
pub use options::{HostOptions, RunOptions};
pub use paths::{fresh_dir, repo_root, shared_cache_dir};
pub use ports::{RefusedPort, free_ports};
pub use process::{Daemon, StartError};
pub use program::HostProgram;
pub use proxy::RecordingProxy;
pub use routed::with_routes;
pub use runtime_config::RuntimeConfig;
pub use sqld::{Sqld, sqld_program};
pub use target::{App, Runner, Target};
pub use tools::{REQUIRED_TOOLS, find_tool, required};
/// The `http` types of [`Host::send`].
pub use ureq::http;
pub use wire::read_reply;
