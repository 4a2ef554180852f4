//! The app of this repository (its `spin.toml` and `runtime.toml`) on each available target:
//! the fn-host under test always; the Spin CLI when one is found (`SPIN`, or `spin` on PATH);
//! and a cluster of both, its databases on sqld, behind HAProxy, when those are found too
//! (`SQLD`, `HAPROXY`, or on PATH).

#![allow(dead_code)] // each test binary uses a different part

use serde_json::{Value, json};
pub use testkit::*;

/// Every target there is (saying which it skips and why).
pub fn targets() -> Vec<Target> {
    Target::all(env!("CARGO_BIN_EXE_e2e-fn-host"))
}

/// Runs `test` on fn-host, then on Spin and on a cluster where they can run (if not, it says
/// it skips them). A failing run names its hosts (see [`Host`]).
pub fn on_each_target(test: impl Fn(&Target)) {
    for target in targets() {
        test(&target);
    }
}

/// Runs `test` on each single host (fn-host, then Spin where found), for what a cluster would
/// only repeat, more slowly.
pub fn on_each_host(test: impl Fn(&HostProgram)) {
    let fn_host = HostProgram::FnHost(env!("CARGO_BIN_EXE_e2e-fn-host").into());
    for program in std::iter::once(fn_host).chain(HostProgram::spin()) {
        test(&program);
    }
}

/// The programs of a cluster, if one can run (if not, it says why).
pub fn cluster() -> Option<ClusterPrograms> {
    targets().into_iter().find_map(|target| match target {
        Target::Cluster(programs) => Some(programs),
        Target::Host(_) => None,
    })
}

/// The app on `on` (a [`Target`], a [`HostProgram`] or [`ClusterPrograms`]), on fresh
/// databases unless given a directory.
pub fn app_on<T: Clone>(on: &T) -> RunOptions<T> {
    let root = repo_root();
    RunOptions::new(on.clone(), root.join("spin.toml")).runtime_config(root.join("runtime.toml"))
}

/// What the tests do through the public API, checked as they go.
pub trait PublicApi {
    /// Creates a user; returns it.
    fn create_user(&self, name: &str) -> Value;
    /// Creates a listing; returns it.
    fn create_listing(&self, user_id: i64, listing_type: &str, price: i64) -> Value;
}

impl<C: Client> PublicApi for C {
    fn create_user(&self, name: &str) -> Value {
        let reply = self.post_json("/public-api/users", json!({ "name": name }));
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["user"].clone()
    }

    fn create_listing(&self, user_id: i64, listing_type: &str, price: i64) -> Value {
        let reply = self.post_json(
            "/public-api/listings",
            json!({ "user_id": user_id, "listing_type": listing_type, "price": price }),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["listing"].clone()
    }
}
