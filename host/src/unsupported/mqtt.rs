//! `fermyon:spin/mqtt@2.0.0`, linked but not served (see the [module](super) docs). An address
//! the allow-list refuses gets `connection-failed` with Spin's own text.

use super::{no_connection, not_supported};
use crate::allowed_hosts::AllowedHosts;
use crate::bindings::fermyon::spin::mqtt::{self, Connection, Error, Qos};
use wasmtime::Result;
use wasmtime::component::Resource;

const INTERFACE: &str = "fermyon:spin/mqtt@2.0.0";

impl mqtt::Host for &AllowedHosts {}

impl mqtt::HostConnection for &AllowedHosts {
    fn open(
        &mut self,
        address: String,
        _username: String,
        _password: String,
        _keep_alive_interval_in_secs: u64,
    ) -> Result<Result<Resource<Connection>, Error>> {
        if !self.allows_address(&address, "mqtt") {
            return Ok(Err(Error::ConnectionFailed(format!("address {address} is not permitted"))));
        }
        Ok(Err(Error::Other(not_supported(INTERFACE))))
    }

    fn publish(
        &mut self,
        _: Resource<Connection>,
        _: String,
        _: Vec<u8>,
        _: Qos,
    ) -> Result<Result<(), Error>> {
        no_connection(INTERFACE)
    }

    fn drop(&mut self, _: Resource<Connection>) -> Result<()> {
        no_connection(INTERFACE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqtt::HostConnection;

    #[test]
    fn an_address_the_list_refuses_fails_with_spins_text_else_unsupported() {
        let mut allowed = &AllowedHosts::parse(&["mqtt://broker:1883".to_string()]).unwrap();
        // As the guest prints it.
        let mut open = |address: &str| {
            let opened = allowed.open(address.into(), "user".into(), "password".into(), 30);
            format!("{:?}", opened.unwrap())
        };
        assert_eq!(
            open("mqtt://localhost:1883?client_id=spintest"),
            r#"Err(Error::ConnectionFailed("address mqtt://localhost:1883?client_id=spintest is not permitted"))"#
        );
        assert_eq!(
            open("mqtt://broker?client_id=a"),
            r#"Err(Error::Other("fn-host does not support fermyon:spin/mqtt@2.0.0"))"#
        );
    }
}
