//! Spin's conformance suite (fermyon/conformance-tests, packaged for offline use) run against
//! fn-host the way Spin's own runner runs it against `spin up`: for each test, the services its
//! preconditions name are reachable ([`services`]), its `spin.toml` has `%{port=N}` replaced by
//! the port of the service behind guest port N and is served by a fresh host in a fresh
//! directory, and each invocation's request is sent and its response compared
//! ([`compare`]: status, body, and every header, none unlisted). [`suite`] reads the package.
//!
//! The suite's own helper crates are not published, so none of this depends on them.

pub mod compare;
pub mod run;
pub mod services;
pub mod suite;
