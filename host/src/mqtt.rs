//! `fermyon:spin/mqtt@2.0.0`: outbound MQTT, as Spin serves it. A guest opens a connection to an
//! `mqtt://` address its component's `allowed_outbound_hosts` allows (any other gets
//! `connection-failed` with Spin's text); the client connects on its first publish, and a
//! publish returns once the message is sent.
//!
//! All it needs from above is the component's allow-list, handed down in its
//! [`ServiceConnections`](crate::service_connections::ServiceConnections).

use crate::bindings::fermyon::spin::mqtt::{self as wit, Error, Qos};
use crate::service_connections::{Refusal, ServiceView};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Outgoing, QoS};
use std::time::Duration;
use wasmtime::component::{HasData, Resource};

/// Publishes a connection's client may have queued before they are sent.
const QUEUED_PUBLISHES: usize = 16;

/// The host side of a guest's `connection` resource: the client and the event loop that
/// sends what it queues.
pub struct GuestMqtt {
    client: AsyncClient,
    events: EventLoop,
}

/// [`HasData`] marker for the MQTT implementation.
pub struct Mqtt;

impl HasData for Mqtt {
    type Data<'a> = ServiceView<'a>;
}

impl wit::Host for ServiceView<'_> {}

impl wit::HostConnection for ServiceView<'_> {
    async fn open(
        &mut self,
        address: String,
        username: String,
        password: String,
        keep_alive_interval_in_secs: u64,
    ) -> wasmtime::Result<Result<Resource<GuestMqtt>, Error>> {
        match self.connections.may_open(&address, "mqtt") {
            Ok(()) => {}
            Err(Refusal::NotAllowed) => {
                let refusal = format!("address {address} is not permitted");
                return Ok(Err(Error::ConnectionFailed(refusal)));
            }
            Err(Refusal::TooMany) => return Ok(Err(Error::TooManyConnections)),
        }
        let Ok(mut options) = MqttOptions::parse_url(address) else {
            return Ok(Err(Error::InvalidAddress));
        };
        options.set_credentials(username, password);
        // The protocol carries it in 16 bits.
        let keep_alive = keep_alive_interval_in_secs.min(u64::from(u16::MAX));
        options.set_keep_alive(Duration::from_secs(keep_alive));
        let (client, events) = AsyncClient::new(options, QUEUED_PUBLISHES);
        Ok(Ok(self.keep(GuestMqtt { client, events })?))
    }

    async fn publish(
        &mut self,
        connection: Resource<GuestMqtt>,
        topic: String,
        payload: Vec<u8>,
        qos: Qos,
    ) -> wasmtime::Result<Result<(), Error>> {
        let connection = self.table.get_mut(&connection)?;
        let qos = match qos {
            Qos::AtMostOnce => QoS::AtMostOnce,
            Qos::AtLeastOnce => QoS::AtLeastOnce,
            Qos::ExactlyOnce => QoS::ExactlyOnce,
        };
        if let Err(error) = connection.client.publish(topic, qos, false, payload).await {
            return Ok(Err(Error::Other(error.to_string())));
        }
        // The event loop connects (the first time) and sends; the publish is done once sent.
        loop {
            match connection.events.poll().await {
                Ok(Event::Outgoing(Outgoing::Publish(_))) => return Ok(Ok(())),
                Ok(_) => continue,
                Err(error) => return Ok(Err(Error::ConnectionFailed(error.to_string()))),
            }
        }
    }

    async fn drop(&mut self, connection: Resource<GuestMqtt>) -> wasmtime::Result<()> {
        self.close(connection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allowed_hosts::AllowedHosts;
    use crate::service_connections::{MAX_CONNECTIONS, ServiceConnections};
    use std::sync::Arc;
    use wasmtime::component::ResourceTable;
    use wit::HostConnection;

    /// What the guest gets when it opens `address`.
    fn open(view: &mut ServiceView<'_>, address: &str) -> String {
        let opened = view.open(address.into(), "user".into(), "secret".into(), 30);
        format!("{:?}", futures::executor::block_on(opened).unwrap().map(|_| ()))
    }

    #[test]
    fn an_address_the_list_refuses_fails_with_spins_text_and_a_full_instance_opens_no_more() {
        let allowed = Arc::new(AllowedHosts::parse(&["mqtt://broker:1883".to_string()]).unwrap());
        let mut connections = ServiceConnections::new(allowed);
        let mut table = ResourceTable::new();
        let mut view = ServiceView { connections: &mut connections, table: &mut table };
        assert_eq!(
            open(&mut view, "mqtt://other:1883"),
            r#"Err(Error::ConnectionFailed("address mqtt://other:1883 is not permitted"))"#
        );
        assert_eq!(open(&mut view, "mqtt://broker:1883"), "Err(Error::InvalidAddress)");
        assert_eq!(open(&mut view, "mqtt://broker:1883?client_id=a"), "Ok(())");
        for _ in 1..MAX_CONNECTIONS {
            view.keep(()).unwrap();
        }
        assert_eq!(
            open(&mut view, "mqtt://broker:1883?client_id=b"),
            "Err(Error::TooManyConnections)"
        );
    }
}
