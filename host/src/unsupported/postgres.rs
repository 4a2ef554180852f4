//! `spin:postgres/postgres@4.0.0`, linked but not served (see the [module](super) docs). Every
//! host of the connection string must be allowed (as `postgres://host:port`), else the guest
//! gets `connection-failed` naming the first refused, as on Spin.

use super::{no_connection, not_supported};
use crate::allowed_hosts::AllowedHosts;
use crate::bindings::spin::postgres::postgres::{self, Connection, Error, ParameterValue, RowSet};
use wasmtime::Result;
use wasmtime::component::Resource;

const INTERFACE: &str = "spin:postgres/postgres@4.0.0";

impl postgres::Host for &AllowedHosts {}

impl postgres::HostConnection for &AllowedHosts {
    fn open(&mut self, address: String) -> Result<Result<Resource<Connection>, Error>> {
        let servers = match servers(&address) {
            Ok(servers) => servers,
            Err(message) => return Ok(Err(Error::ConnectionFailed(message))),
        };
        if let Some(refused) =
            servers.iter().find(|server| !self.allows_address(server, "postgres"))
        {
            return Ok(Err(Error::ConnectionFailed(format!(
                "address postgres://{refused} is not permitted"
            ))));
        }
        Ok(Err(Error::Other(not_supported(INTERFACE))))
    }

    fn query(
        &mut self,
        _: Resource<Connection>,
        _: String,
        _: Vec<ParameterValue>,
    ) -> Result<Result<RowSet, Error>> {
        no_connection(INTERFACE)
    }

    fn execute(
        &mut self,
        _: Resource<Connection>,
        _: String,
        _: Vec<ParameterValue>,
    ) -> Result<Result<u64, Error>> {
        no_connection(INTERFACE)
    }

    fn drop(&mut self, _: Resource<Connection>) -> Result<()> {
        no_connection(INTERFACE)
    }
}

/// The `host[:port]` of each server a connection string names, in its URL form
/// (`postgres://user:secret@db:5432,replica/app`) or its key-value form
/// (`host=db,replica port=5432 user=app`), where the i-th port goes with the i-th host, or one
/// port with every host.
fn servers(connection: &str) -> Result<Vec<String>, String> {
    let url =
        ["postgres://", "postgresql://"].iter().find_map(|scheme| connection.strip_prefix(scheme));
    if let Some(rest) = url {
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let hosts = authority.rsplit_once('@').map_or(authority, |(_, hosts)| hosts);
        return Ok(hosts.split(',').map(str::to_string).collect());
    }
    let mut hosts = Vec::new();
    let mut ports = Vec::new();
    for (key, value) in key_values(connection)? {
        match key.as_str() {
            "host" => hosts.extend(value.split(',').map(str::to_string)),
            "port" => ports.extend(value.split(',').map(str::to_string)),
            _ => {}
        }
    }
    Ok(hosts
        .into_iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports.get(i).or(if ports.len() == 1 { ports.first() } else { None });
            match port {
                Some(port) => format!("{host}:{port}"),
                None => host,
            }
        })
        .collect())
}

/// The `key=value` pairs of a key-value connection string; a value may be quoted (`'a b'`),
/// and `\` escapes the next character.
fn key_values(text: &str) -> Result<Vec<(String, String)>, String> {
    fn skip_spaces(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
    }
    let mut pairs = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        skip_spaces(&mut chars);
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        skip_spaces(&mut chars);
        if chars.next() != Some('=') {
            return Err(format!("invalid connection string: `{key}` has no `=`"));
        }
        skip_spaces(&mut chars);
        let quoted = chars.next_if_eq(&'\'').is_some();
        let mut value = String::new();
        loop {
            match chars.next() {
                Some('\\') => value.extend(chars.next()),
                Some('\'') if quoted => break,
                Some(c) if quoted || !c.is_whitespace() => value.push(c),
                None if quoted => {
                    return Err(format!("invalid connection string: `{key}` is not closed"));
                }
                _ => break,
            }
        }
        pairs.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postgres::HostConnection;

    #[test]
    fn servers_of_both_forms_of_connection_string() {
        assert_eq!(
            servers("host=localhost port=5432 user=postgres password=postgres dbname=spin_dev"),
            Ok(vec!["localhost:5432".to_string()])
        );
        assert_eq!(
            servers("host = a,b port=1,2 password='it\\'s here'"),
            Ok(vec!["a:1".to_string(), "b:2".to_string()])
        );
        assert_eq!(
            servers("host=a,b port=7 application_name='x y'"),
            Ok(vec!["a:7".to_string(), "b:7".to_string()])
        );
        assert_eq!(servers("host=db"), Ok(vec!["db".to_string()]));
        assert_eq!(
            servers("postgres://u:p@db:5433,replica/app?sslmode=require"),
            Ok(vec!["db:5433".to_string(), "replica".to_string()])
        );
        assert!(servers("host").is_err());
        assert!(servers("password='open").is_err());
    }

    #[test]
    fn every_server_must_be_allowed_before_the_interface_is_found_missing() {
        let mut allowed = &AllowedHosts::parse(&["postgres://db".to_string()]).unwrap();
        // As the guest prints it.
        let mut open = |address: &str| format!("{:?}", allowed.open(address.into()).unwrap());
        assert_eq!(
            open("host=db,other"),
            r#"Err(Error::ConnectionFailed("address postgres://other is not permitted"))"#
        );
        assert_eq!(
            open("host=db port=5432"),
            r#"Err(Error::Other("fn-host does not support spin:postgres/postgres@4.0.0"))"#
        );
    }
}
