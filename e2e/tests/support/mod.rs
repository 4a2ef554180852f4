//! The app of this repository (its `spin.toml` and `runtime.toml`) on each available host: the
//! fn-host under test always, the Spin CLI when one is found (`SPIN`, or `spin` on PATH).

#![allow(dead_code)] // each test binary uses a different part

use serde_json::{Value, json};
pub use testkit::*;

/// Runs `test` on fn-host, then on Spin if there is a Spin CLI (if not, it says it skips it).
/// A failing run names its host (see [`Host`]).
pub fn on_each_host(test: impl Fn(&HostProgram)) {
    for program in HostProgram::all(env!("CARGO_BIN_EXE_e2e-fn-host")) {
        test(&program);
    }
}

/// The app on `program`, on fresh databases unless given a directory.
pub fn app_on(program: &HostProgram) -> HostOptions {
    let root = repo_root();
    HostOptions::new(program.clone(), root.join("spin.toml"))
        .runtime_config(root.join("runtime.toml"))
}

/// What the tests do through the public API, checked as they go.
pub trait PublicApi {
    /// Creates a user; returns it.
    fn create_user(&self, name: &str) -> Value;
    /// Creates a listing; returns it.
    fn create_listing(&self, user_id: i64, listing_type: &str, price: i64) -> Value;
}

impl PublicApi for Host {
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
