//! `fermyon:spin/redis@2.0.0`, linked but not served (see the [module](super) docs). An address
//! the allow-list refuses gets `invalid-address`, as on Spin.

use super::{no_connection, not_supported};
use crate::allowed_hosts::AllowedHosts;
use crate::bindings::fermyon::spin::redis::{self, Connection, Error, RedisParameter, RedisResult};
use wasmtime::Result;
use wasmtime::component::Resource;

const INTERFACE: &str = "fermyon:spin/redis@2.0.0";

impl redis::Host for &AllowedHosts {}

impl redis::HostConnection for &AllowedHosts {
    fn open(&mut self, address: String) -> Result<Result<Resource<Connection>, Error>> {
        if !self.allows_address(&address, "redis") {
            return Ok(Err(Error::InvalidAddress));
        }
        Ok(Err(Error::Other(not_supported(INTERFACE))))
    }

    fn publish(
        &mut self,
        _: Resource<Connection>,
        _: String,
        _: Vec<u8>,
    ) -> Result<Result<(), Error>> {
        no_connection(INTERFACE)
    }

    fn get(
        &mut self,
        _: Resource<Connection>,
        _: String,
    ) -> Result<Result<Option<Vec<u8>>, Error>> {
        no_connection(INTERFACE)
    }

    fn set(&mut self, _: Resource<Connection>, _: String, _: Vec<u8>) -> Result<Result<(), Error>> {
        no_connection(INTERFACE)
    }

    fn incr(&mut self, _: Resource<Connection>, _: String) -> Result<Result<i64, Error>> {
        no_connection(INTERFACE)
    }

    fn del(&mut self, _: Resource<Connection>, _: Vec<String>) -> Result<Result<u32, Error>> {
        no_connection(INTERFACE)
    }

    fn sadd(
        &mut self,
        _: Resource<Connection>,
        _: String,
        _: Vec<String>,
    ) -> Result<Result<u32, Error>> {
        no_connection(INTERFACE)
    }

    fn smembers(
        &mut self,
        _: Resource<Connection>,
        _: String,
    ) -> Result<Result<Vec<String>, Error>> {
        no_connection(INTERFACE)
    }

    fn srem(
        &mut self,
        _: Resource<Connection>,
        _: String,
        _: Vec<String>,
    ) -> Result<Result<u32, Error>> {
        no_connection(INTERFACE)
    }

    fn execute(
        &mut self,
        _: Resource<Connection>,
        _: String,
        _: Vec<RedisParameter>,
    ) -> Result<Result<Vec<RedisResult>, Error>> {
        no_connection(INTERFACE)
    }

    fn drop(&mut self, _: Resource<Connection>) -> Result<()> {
        no_connection(INTERFACE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::HostConnection;

    #[test]
    fn an_address_the_list_refuses_is_invalid_else_unsupported() {
        let mut allowed = &AllowedHosts::parse(&["redis://cache".to_string()]).unwrap();
        // As the guest prints it.
        let mut open = |address: &str| format!("{:?}", allowed.open(address.into()).unwrap());
        assert_eq!(open("redis://other"), "Err(Error::InvalidAddress)");
        assert_eq!(
            open("redis://cache:6379"),
            r#"Err(Error::Other("fn-host does not support fermyon:spin/redis@2.0.0"))"#
        );
    }
}
