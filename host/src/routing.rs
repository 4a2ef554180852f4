//! Routes as Spin matches them (with `routefinder`, as Spin does): `/x` exact (also `/x/`),
//! `/x/...` a trailing wildcard (also `/x`), `:name` segments, exact before longest prefix.
//! Also the `spin-*` request headers that tell a component how it was reached.

use crate::manifest::{HttpTrigger, Route};
use http::{HeaderMap, HeaderName, HeaderValue};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use wasmtime::{Result, bail};

/// Paths the host answers itself, as Spin does; no component is reached below it.
pub const WELL_KNOWN_PREFIX: &str = "/.well-known/spin/";
/// Answered `OK` while the host serves.
pub const HEALTH_PATH: &str = "/.well-known/spin/health";

/// The headers only the host sets (header names are lower-case in `http`).
const SPIN_HEADER_PREFIX: &str = "spin-";

/// The public routes of the app, and each component's routes for chained requests.
pub struct Routes {
    public: Router,
    /// Per component: its public routes, and the target used when none fits (a chained request
    /// may address any path of a component, even one with only a private route).
    by_component: BTreeMap<Arc<str>, (Router, Arc<RouteTarget>)>,
    /// Every public route as written and its component, in manifest order.
    listing: Vec<(String, Arc<str>)>,
}

type Router = routefinder::Router<Arc<RouteTarget>>;

/// What a trigger routes to.
#[derive(Debug)]
pub struct RouteTarget {
    /// The component id.
    pub component: Arc<str>,
    /// The route as written (`/listings/...`), empty for a private route.
    raw_route: String,
    /// The route without a trailing `/...` (`/listings`).
    component_route: String,
}

impl RouteTarget {
    /// The route as written in the manifest (`/listings/...`), or `private`.
    pub fn route(&self) -> &str {
        if self.raw_route.is_empty() { "private" } else { &self.raw_route }
    }
}

/// A request matched to a route.
pub struct RouteMatch<'a> {
    /// The route's trigger.
    pub target: &'a RouteTarget,
    path_info: String,
    params: Vec<(String, String)>,
}

impl Routes {
    /// The routes of `triggers`; two triggers on one route are an error.
    pub fn new(triggers: &[HttpTrigger]) -> Result<Self> {
        let mut routes =
            Routes { public: Router::new(), by_component: BTreeMap::new(), listing: Vec::new() };
        for trigger in triggers {
            let component: Arc<str> = trigger.component.as_str().into();
            let raw_route = match &trigger.route {
                Route::Public(route) => route.clone(),
                Route::Private => String::new(),
            };
            let target = Arc::new(RouteTarget {
                component: component.clone(),
                component_route: raw_route.trim_end_matches("/...").to_string(),
                raw_route,
            });
            let (own, _) = routes
                .by_component
                .entry(component.clone())
                .or_insert_with(|| (Router::new(), target.clone()));
            if let Route::Public(route) = &trigger.route {
                let pattern = to_routefinder(route);
                if routes.listing.iter().any(|(existing, _)| existing == route) {
                    bail!("route {route:?} is given to more than one component");
                }
                for router in [&mut routes.public, own] {
                    router
                        .add(pattern.as_str(), target.clone())
                        .map_err(|e| wasmtime::format_err!("route {route:?}: {e}"))?;
                }
                routes.listing.push((route.clone(), component));
            }
        }
        Ok(routes)
    }

    /// The best public route for `path`.
    pub fn find(&self, path: &str) -> Option<RouteMatch<'_>> {
        let found = self.public.best_match(path)?;
        Some(RouteMatch::new(found.handler(), &found.captures()))
    }

    /// The route of `component` that fits `path`, or its first route with the whole path as
    /// path info: how a chained request to `<component>.spin.internal` is addressed.
    pub fn find_for_component(&self, component: &str, path: &str) -> Option<RouteMatch<'_>> {
        let (router, fallback) = self.by_component.get(component)?;
        Some(match router.best_match(path) {
            Some(found) => RouteMatch::new(found.handler(), &found.captures()),
            None => {
                RouteMatch { target: fallback, path_info: path.to_string(), params: Vec::new() }
            }
        })
    }

    /// `(route as written, component)` of every public route, for the start-up listing.
    pub fn public_routes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.listing.iter().map(|(route, component)| (route.as_str(), &**component))
    }

    /// Components that have at least one trigger (the ones the app loads).
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.by_component.keys().map(|id| &**id)
    }
}

impl<'a> RouteMatch<'a> {
    fn new(target: &'a RouteTarget, captures: &routefinder::Captures<'_, '_>) -> Self {
        RouteMatch {
            target,
            path_info: captures.wildcard().map(path_info_of).unwrap_or_default(),
            params: captures
                .params()
                .iter()
                .map(|c| (c.name().to_string(), c.value().to_string()))
                .collect(),
        }
    }

    /// Sets Spin's `spin-*` headers on a request reaching the component, after removing every
    /// `spin-*` header the request came with: a client (or a chaining component) cannot pass
    /// its own `spin-path-match-id` or `spin-client-addr` off as the host's.
    pub fn set_headers(&self, headers: &mut HeaderMap, full_url: &str, client: Option<SocketAddr>) {
        let inbound: Vec<HeaderName> = headers
            .keys()
            .filter(|name| name.as_str().starts_with(SPIN_HEADER_PREFIX))
            .cloned()
            .collect();
        for name in inbound {
            headers.remove(name);
        }
        let mut set = |name: &str, value: &str| {
            if let (Ok(name), Ok(value)) =
                (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value))
            {
                headers.insert(name, value);
            }
        };
        set("spin-full-url", full_url);
        set("spin-path-info", &self.path_info);
        set("spin-matched-route", &self.target.raw_route);
        set("spin-raw-component-route", &self.target.raw_route);
        set("spin-component-route", &self.target.component_route);
        set("spin-base-path", "/");
        if let Some(client) = client {
            set("spin-client-addr", &client.to_string());
        }
        // Spin writes a parameter's name as a header name: lower case, `_` as `-`.
        for (name, value) in &self.params {
            let name = name.to_ascii_lowercase().replace('_', "-");
            set(&format!("spin-path-match-{name}"), value);
        }
    }
}

/// Spin's `/x/...` is routefinder's `/x/*`.
fn to_routefinder(route: &str) -> String {
    match route.strip_suffix("...") {
        Some(prefix) => format!("{prefix}*"),
        None => route.to_string(),
    }
}

/// The part of the path a wildcard matched, as Spin reports it: empty, or starting with `/`.
fn path_info_of(wildcard: &str) -> String {
    if wildcard.is_empty() {
        String::new()
    } else {
        format!("/{}", wildcard.trim_start_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(pairs: &[(&str, &str)]) -> Routes {
        let triggers: Vec<HttpTrigger> = pairs
            .iter()
            .map(|(route, component)| HttpTrigger {
                route: if *route == "private" {
                    Route::Private
                } else {
                    Route::Public(route.to_string())
                },
                component: component.to_string(),
            })
            .collect();
        Routes::new(&triggers).unwrap()
    }

    fn component_for(routes: &Routes, path: &str) -> Option<String> {
        routes.find(path).map(|m| m.target.component.to_string())
    }

    #[test]
    fn exact_and_wildcard_routes_match_as_spin_does() {
        let routes = routes(&[("/x", "exact"), ("/y/...", "prefix"), ("/...", "catchall")]);
        assert_eq!(component_for(&routes, "/x").as_deref(), Some("exact"));
        assert_eq!(component_for(&routes, "/x/").as_deref(), Some("exact"));
        assert_eq!(component_for(&routes, "/x/more").as_deref(), Some("catchall"));
        assert_eq!(component_for(&routes, "/y").as_deref(), Some("prefix"));
        assert_eq!(component_for(&routes, "/y/a/b").as_deref(), Some("prefix"));
        assert_eq!(component_for(&routes, "/z").as_deref(), Some("catchall"));
    }

    #[test]
    fn exact_beats_prefix_and_longest_prefix_wins() {
        let routes = routes(&[("/a/...", "short"), ("/a/b/...", "long"), ("/a/b/c", "exact")]);
        assert_eq!(component_for(&routes, "/a/b/c").as_deref(), Some("exact"));
        assert_eq!(component_for(&routes, "/a/b/d").as_deref(), Some("long"));
        assert_eq!(component_for(&routes, "/a/z").as_deref(), Some("short"));
    }

    #[test]
    fn unmatched_and_private_routes_are_not_public() {
        let routes = routes(&[("/only", "one"), ("private", "hidden")]);
        assert!(routes.find("/other").is_none());
        assert!(routes.find("/").is_none());
        assert_eq!(
            routes.find_for_component("hidden", "/any/path").unwrap().target.component.as_ref(),
            "hidden"
        );
    }

    #[test]
    fn headers_carry_route_path_info_and_params() {
        let routes = routes(&[("/users/:id/posts/:Post_Id/...", "posts")]);
        let found = routes.find("/users/42/posts/7/comments").unwrap();
        let mut headers = HeaderMap::new();
        found.set_headers(
            &mut headers,
            "http://localhost:3000/users/42/posts/7/comments?x=1",
            Some("127.0.0.1:5555".parse().unwrap()),
        );
        let get = |name: &str| headers[name].to_str().unwrap().to_string();
        assert_eq!(get("spin-path-info"), "/comments");
        assert_eq!(get("spin-matched-route"), "/users/:id/posts/:Post_Id/...");
        assert_eq!(get("spin-raw-component-route"), "/users/:id/posts/:Post_Id/...");
        assert_eq!(get("spin-component-route"), "/users/:id/posts/:Post_Id");
        assert_eq!(get("spin-path-match-id"), "42");
        assert_eq!(get("spin-path-match-post-id"), "7");
        assert_eq!(get("spin-base-path"), "/");
        assert_eq!(get("spin-client-addr"), "127.0.0.1:5555");
        assert_eq!(get("spin-full-url"), "http://localhost:3000/users/42/posts/7/comments?x=1");
    }

    #[test]
    fn inbound_spin_headers_are_replaced_not_kept() {
        let routes = routes(&[("/users/:id", "users")]);
        let found = routes.find("/users/42").unwrap();
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("spin-path-match-id", "1337"),
            ("spin-client-addr", "10.0.0.1:1"),
            ("spin-x", "1"),
            ("x-spin-kept", "not a spin header"),
        ] {
            headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        found.set_headers(&mut headers, "http://localhost/users/42", None);
        let values = |name: &str| -> Vec<&str> {
            headers.get_all(name).iter().map(|v| v.to_str().unwrap()).collect()
        };
        assert_eq!(values("spin-path-match-id"), ["42"]);
        assert!(values("spin-client-addr").is_empty());
        assert!(values("spin-x").is_empty());
        assert_eq!(values("x-spin-kept"), ["not a spin header"]);
    }

    #[test]
    fn chained_requests_use_the_components_own_route() {
        let routes = routes(&[("/listings/...", "listings")]);
        let found = routes.find_for_component("listings", "/listings/5").unwrap();
        assert_eq!(found.path_info, "/5");
        assert!(routes.find_for_component("nobody", "/listings").is_none());
    }

    #[test]
    fn duplicate_routes_are_rejected() {
        let triggers = vec![
            HttpTrigger { route: Route::Public("/a".into()), component: "one".into() },
            HttpTrigger { route: Route::Public("/a".into()), component: "two".into() },
        ];
        assert!(Routes::new(&triggers).is_err());
    }
}
