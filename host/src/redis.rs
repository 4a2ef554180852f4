//! `fermyon:spin/redis@2.0.0`: outbound Redis, as Spin serves it. A guest opens a connection to
//! a `redis://` address its component's `allowed_outbound_hosts` allows (any other address gets
//! `invalid-address`, as on Spin); each connection is one multiplexed client connection, and
//! each call one command on it. `execute` answers as Spin does: a reply's arrays flattened
//! into the list, `OK` as a status.
//!
//! All it needs from above is the component's allow-list, handed down in its
//! [`ServiceConnections`](crate::service_connections::ServiceConnections).

use crate::bindings::fermyon::spin::redis::{self as wit, Error, RedisParameter, RedisResult};
use crate::service_connections::{Refusal, ServiceView};
use ::redis::aio::MultiplexedConnection;
use ::redis::{
    AsyncConnectionConfig, Client, Cmd, ErrorKind, FromRedisValue, RedisError, Value, cmd,
};
use std::time::Duration;
use wasmtime::component::{HasData, Resource};

/// How long opening a connection may take. A command has no time limit of its own (a blocking
/// one, as `BLPOP`, may wait long), as on Spin: the request's deadline bounds it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The host side of a guest's `connection` resource.
pub struct GuestRedis(MultiplexedConnection);

/// [`HasData`] marker for the Redis implementation.
pub struct Redis;

impl HasData for Redis {
    type Data<'a> = ServiceView<'a>;
}

/// Runs `command` on the guest's `connection` and reads its reply as `T`.
async fn query<T: FromRedisValue>(
    view: &mut ServiceView<'_>,
    connection: &Resource<GuestRedis>,
    command: &Cmd,
) -> wasmtime::Result<Result<T, Error>> {
    let mut client = view.table.get(connection)?.0.clone();
    Ok(command.query_async(&mut client).await.map_err(error))
}

/// A client error as the guest sees it: a reply that is not of the type asked for (a `GET` of
/// a number, an `INCR` answered with text) is `type-error`.
fn error(error: RedisError) -> Error {
    match error.kind() {
        ErrorKind::Parse | ErrorKind::UnexpectedReturnType => Error::TypeError,
        _ => Error::Other(error.to_string()),
    }
}

/// A reply of `execute`: arrays flattened, each value as the WIT has it.
fn results(value: Value, into: &mut Vec<RedisResult>) -> Result<(), Error> {
    match value {
        Value::Nil => into.push(RedisResult::Nil),
        Value::Int(int) => into.push(RedisResult::Int64(int)),
        Value::BulkString(bytes) => into.push(RedisResult::Binary(bytes)),
        Value::SimpleString(status) => into.push(RedisResult::Status(status)),
        Value::Okay => into.push(RedisResult::Status("OK".into())),
        Value::Array(values) | Value::Set(values) => {
            for value in values {
                results(value, into)?;
            }
        }
        other => {
            return Err(Error::Other(format!("a reply this interface cannot carry: {other:?}")));
        }
    }
    Ok(())
}

impl wit::Host for ServiceView<'_> {}

impl wit::HostConnection for ServiceView<'_> {
    async fn open(
        &mut self,
        address: String,
    ) -> wasmtime::Result<Result<Resource<GuestRedis>, Error>> {
        match self.connections.may_open(&address, "redis") {
            Ok(()) => {}
            Err(Refusal::NotAllowed) => return Ok(Err(Error::InvalidAddress)),
            Err(Refusal::TooMany) => return Ok(Err(Error::TooManyConnections)),
        }
        let client = match Client::open(address) {
            Ok(client) => client,
            Err(_) => return Ok(Err(Error::InvalidAddress)),
        };
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(None);
        Ok(match client.get_multiplexed_async_connection_with_config(&config).await {
            Ok(connection) => Ok(self.keep(GuestRedis(connection))?),
            Err(cause) => Err(error(cause)),
        })
    }

    async fn publish(
        &mut self,
        connection: Resource<GuestRedis>,
        channel: String,
        payload: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        query(self, &connection, cmd("PUBLISH").arg(channel).arg(payload)).await
    }

    async fn get(
        &mut self,
        connection: Resource<GuestRedis>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        query(self, &connection, cmd("GET").arg(key)).await
    }

    async fn set(
        &mut self,
        connection: Resource<GuestRedis>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        query(self, &connection, cmd("SET").arg(key).arg(value)).await
    }

    async fn incr(
        &mut self,
        connection: Resource<GuestRedis>,
        key: String,
    ) -> wasmtime::Result<Result<i64, Error>> {
        query(self, &connection, cmd("INCR").arg(key)).await
    }

    async fn del(
        &mut self,
        connection: Resource<GuestRedis>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<u32, Error>> {
        query(self, &connection, cmd("DEL").arg(keys)).await
    }

    async fn sadd(
        &mut self,
        connection: Resource<GuestRedis>,
        key: String,
        values: Vec<String>,
    ) -> wasmtime::Result<Result<u32, Error>> {
        query(self, &connection, cmd("SADD").arg(key).arg(values)).await
    }

    async fn smembers(
        &mut self,
        connection: Resource<GuestRedis>,
        key: String,
    ) -> wasmtime::Result<Result<Vec<String>, Error>> {
        query(self, &connection, cmd("SMEMBERS").arg(key)).await
    }

    async fn srem(
        &mut self,
        connection: Resource<GuestRedis>,
        key: String,
        values: Vec<String>,
    ) -> wasmtime::Result<Result<u32, Error>> {
        query(self, &connection, cmd("SREM").arg(key).arg(values)).await
    }

    async fn execute(
        &mut self,
        connection: Resource<GuestRedis>,
        command: String,
        arguments: Vec<RedisParameter>,
    ) -> wasmtime::Result<Result<Vec<RedisResult>, Error>> {
        let mut command = cmd(&command);
        for argument in arguments {
            match argument {
                RedisParameter::Int64(int) => command.arg(int),
                RedisParameter::Binary(bytes) => command.arg(bytes),
            };
        }
        Ok(query::<Value>(self, &connection, &command).await?.and_then(|value| {
            let mut flattened = Vec::new();
            results(value, &mut flattened).map(|()| flattened)
        }))
    }

    async fn drop(&mut self, connection: Resource<GuestRedis>) -> wasmtime::Result<()> {
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
        let opened = futures::executor::block_on(view.open(address.into())).unwrap();
        format!("{:?}", opened.map(|_| ()))
    }

    #[test]
    fn an_address_the_list_refuses_is_invalid_and_a_full_instance_opens_no_more() {
        let allowed = Arc::new(AllowedHosts::parse(&["redis://cache".to_string()]).unwrap());
        let mut connections = ServiceConnections::new(allowed);
        let mut table = ResourceTable::new();
        let mut view = ServiceView { connections: &mut connections, table: &mut table };
        assert_eq!(open(&mut view, "redis://other"), "Err(Error::InvalidAddress)");
        for _ in 0..MAX_CONNECTIONS {
            view.keep(()).unwrap();
        }
        assert_eq!(open(&mut view, "redis://cache:6379"), "Err(Error::TooManyConnections)");
    }

    #[test]
    fn an_execute_reply_is_flattened_as_spin_answers_it() {
        let reply = Value::Array(vec![
            Value::Okay,
            Value::Int(3),
            Value::Nil,
            Value::Array(vec![Value::BulkString(b"a".to_vec()), Value::SimpleString("b".into())]),
        ]);
        let mut flattened = Vec::new();
        results(reply, &mut flattened).unwrap();
        assert_eq!(
            format!("{flattened:?}"),
            r#"[RedisResult::Status("OK"), RedisResult::Int64(3), RedisResult::Nil, RedisResult::Binary([97]), RedisResult::Status("b")]"#
        );
        let mut none = Vec::new();
        assert!(matches!(results(Value::Double(1.5), &mut none), Err(Error::Other(_))));
    }
}
