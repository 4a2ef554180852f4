//! The Spin interface this host links but does not serve: PostgreSQL
//! (`spin:postgres/postgres@4.0.0`). A guest that imports it loads; opening a connection fails
//! first as it fails on Spin when the component's `allowed_outbound_hosts` does not allow the
//! address, and otherwise with an error saying that fn-host does not support the interface.
//! As no connection can be opened, none can be used: a call on one traps.
//!
//! All it needs is the component's allow-list, handed down as [`AllowedHosts`].

mod postgres;

use crate::allowed_hosts::AllowedHosts;
use wasmtime::component::HasData;

/// [`HasData`] marker for the unsupported interfaces.
pub struct Unsupported;

impl HasData for Unsupported {
    type Data<'a> = &'a AllowedHosts;
}

/// What a guest is told once it may connect: the interface is not there.
fn not_supported(interface: &str) -> String {
    format!("fn-host does not support {interface}")
}

/// A call on a connection, which cannot exist (the component model checks a guest's handles):
/// a trap, should it ever happen.
fn no_connection<T>(interface: &str) -> wasmtime::Result<T> {
    wasmtime::bail!("{interface}: fn-host opens no connections")
}
