//! `fn-host`: a Spin-compatible host on wasmtime. It reads an app's `spin.toml` and
//! `runtime.toml` and gives each component what Spin gives it.
//!
//! Modules depend one way: [`cli`] → [`watch`] → [`server`] → [`app`] → [`instance`] → the
//! capabilities. [`watch`] rebuilds ([`component_build`]) and reloads the app as its files change.
//! [`app`] loads [`manifest`] (whose `{{ variable }}` templates are [`template`]) and
//! [`runtime_config`], compiles with [`engine`] through [`compile_cache`], routes with
//! [`routing`] and answers its own errors as [`host_errors`] says. Guest imports, one module per
//! capability: [`sqlite`], [`key_value`], [`variables`], [`outbound`] (HTTP), [`sockets`]
//! (TCP), [`redis`] and [`mqtt`] (sharing [`service_connections`]), whose allow-list grammar
//! is [`allowed_hosts`], and the interface linked only to say it is not served,
//! [`unsupported`]; a capability that needs the app, as service chaining
//! does, gets it handed down as a trait ([`outbound::LocalApp`]). What they count goes to
//! [`metrics`], which depends on none of them.

#![deny(missing_docs)]

pub mod allowed_hosts;
pub mod app;
mod bindings;
pub mod body;
pub mod cli;
pub mod compile_cache;
pub mod component_build;
pub mod engine;
pub mod host_errors;
pub mod instance;
pub mod key_value;
pub mod manifest;
pub mod metrics;
pub mod mqtt;
pub mod outbound;
pub mod redis;
pub mod routing;
pub mod runtime_config;
pub mod server;
pub mod service_connections;
pub mod sockets;
pub mod sqlite;
pub mod template;
pub mod unsupported;
pub mod variables;
pub mod watch;
