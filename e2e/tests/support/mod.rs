//! The app of this repository (its `spin.toml` or `spin.wasip2.toml`, and `runtime.toml`) on
//! each available target, in each flavour the target serves: the fn-host under test always;
//! the Spin CLIs when found (`SPIN` for Spin >= 4.1, `SPIN3` for Spin 3, or on PATH); and a
//! cluster of fn-hosts and a Spin, its databases on sqld, behind HAProxy, when those are found
//! too (`SQLD`, `HAPROXY`, or on PATH).

#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeMap;

use serde_json::{Value, json};
pub use testkit::*;

/// The fn-host under test.
pub fn fn_host() -> HostProgram {
    HostProgram::FnHost(env!("CARGO_BIN_EXE_e2e-fn-host").into())
}

/// Every target there is (saying which it skips and why).
pub fn targets() -> Vec<Target> {
    Target::all(env!("CARGO_BIN_EXE_e2e-fn-host"))
}

/// Runs `test` on fn-host, then on the Spin CLIs and on a cluster where they can run (if not,
/// it says it skips them), in each flavour each serves. A failing run names its hosts (see
/// [`Host`]).
pub fn on_each_target(test: impl Fn(&Target)) {
    for target in targets() {
        println!("on {target}");
        test(&target);
    }
}

/// Runs `test` on each single host (fn-host, then the Spin CLIs where found) in each flavour
/// it serves, for what a cluster would only repeat, more slowly.
pub fn on_each_host(test: impl Fn(&Target)) {
    for target in Target::hosts_of(&HostProgram::all(env!("CARGO_BIN_EXE_e2e-fn-host"))) {
        println!("on {target}");
        test(&target);
    }
}

/// The cluster of the default flavour and its programs, if one can run (if not, it says why),
/// for what only a cluster has: that is the same in both flavours, which the suites run on a
/// cluster through [`on_each_target`].
pub fn cluster() -> Option<(Target, ClusterPrograms)> {
    targets().into_iter().find_map(|target| match &target.runner {
        Runner::Cluster(programs) if target.flavour == Flavour::P3 => {
            Some((target.clone(), programs.clone()))
        }
        _ => None,
    })
}

/// The app as deployed (only the public API routed) on `target`, on fresh databases unless
/// given a directory.
pub fn app_on(target: &Target) -> RunOptions<Target> {
    RunOptions::new(target.clone(), target.flavour.manifest())
        .runtime_config(repo_root().join("runtime.toml"))
}

/// The app on `target` with the services routed too ([`SERVICE_ROUTES`]), for the tests of
/// the services' own APIs.
pub fn services_on(target: &Target) -> RunOptions<Target> {
    app_on(target).with_services_routed()
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

/// Every item of a service's list (`"listings"` or `"users"`), by id, read page by page.
pub fn every_item(app: &impl Client, list: &str) -> BTreeMap<i64, Value> {
    let mut items = BTreeMap::new();
    for page in 1.. {
        let reply = app.get(&format!("/{list}?page_size=100&page_num={page}"));
        assert_eq!(reply.status, 200, "{}", reply.body);
        let page = reply.json()[list].as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        for item in page {
            items.insert(item["id"].as_i64().unwrap(), item);
        }
    }
    items
}
