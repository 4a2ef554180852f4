//! `fn-host`: a Spin-compatible host on wasmtime. It reads an app's `spin.toml` and
//! `runtime.toml` and gives each component what Spin gives it.
//!
//! Data flows one way: [`cli`] → [`manifest`] + [`runtime_config`] → [`app`] (components
//! compiled by [`engine`], instances managed by [`instance`], requests routed by [`routing`]) →
//! [`server`]. Guest imports, one module per capability: [`sqlite`], [`variables`], [`outbound`].

pub mod app;
mod bindings;
pub mod cli;
pub mod component_build;
pub mod engine;
pub mod instance;
pub mod manifest;
pub mod outbound;
pub mod routing;
pub mod runtime_config;
pub mod server;
pub mod sqlite;
pub mod variables;
