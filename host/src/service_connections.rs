//! What outbound Redis and MQTT share: a component connects only where its
//! `allowed_outbound_hosts` allows, and one instance holds a bounded number of connections
//! (each is a socket and a task on the host, which the instance's memory limit does not count).

use crate::allowed_hosts::AllowedHosts;
use std::sync::Arc;
use wasmtime::component::{Resource, ResourceTable};

/// Connections one instance may hold open at once, per service kind.
pub const MAX_CONNECTIONS: usize = 16;

/// Why a connection may not be opened.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The allow-list does not allow the address.
    NotAllowed,
    /// The instance holds [`MAX_CONNECTIONS`] already.
    TooMany,
}

/// One instance's connections of one kind: where it may connect and how many it holds.
pub struct ServiceConnections {
    allowed: Arc<AllowedHosts>,
    open: usize,
}

impl ServiceConnections {
    /// No connection open yet; connections only where `allowed` allows.
    pub fn new(allowed: Arc<AllowedHosts>) -> Self {
        ServiceConnections { allowed, open: 0 }
    }

    /// Whether a connection to `address` (a `scheme://` URL) may be opened now.
    pub fn may_open(&self, address: &str, scheme: &str) -> Result<(), Refusal> {
        if !self.allowed.allows_address(address, scheme) {
            return Err(Refusal::NotAllowed);
        }
        if self.open >= MAX_CONNECTIONS {
            return Err(Refusal::TooMany);
        }
        Ok(())
    }
}

/// What the Redis and MQTT implementations borrow from the store.
pub struct ServiceView<'a> {
    /// The instance's connections of the kind.
    pub connections: &'a mut ServiceConnections,
    /// Where the guest's connections live.
    pub table: &'a mut ResourceTable,
}

impl ServiceView<'_> {
    /// Hands `connection` to the guest, counted against the instance's bound.
    pub fn keep<T: Send + 'static>(&mut self, connection: T) -> wasmtime::Result<Resource<T>> {
        let connection = self.table.push(connection)?;
        self.connections.open += 1;
        Ok(connection)
    }

    /// Closes the guest's `connection`, making room for another.
    pub fn close<T: 'static>(&mut self, connection: Resource<T>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        self.connections.open = self.connections.open.saturating_sub(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowed_addresses_and_only_so_many_at_once() {
        let allowed = Arc::new(AllowedHosts::parse(&["redis://cache".to_string()]).unwrap());
        let mut connections = ServiceConnections::new(allowed);
        let mut table = ResourceTable::new();
        let mut view = ServiceView { connections: &mut connections, table: &mut table };
        assert_eq!(view.connections.may_open("redis://other", "redis"), Err(Refusal::NotAllowed));
        let mut kept = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            assert_eq!(view.connections.may_open("redis://cache:6379", "redis"), Ok(()));
            kept.push(view.keep(()).unwrap());
        }
        assert_eq!(view.connections.may_open("redis://cache:6379", "redis"), Err(Refusal::TooMany));
        view.close(kept.pop().unwrap()).unwrap();
        assert_eq!(view.connections.may_open("redis://cache:6379", "redis"), Ok(()));
    }
}
