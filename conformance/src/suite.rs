//! The package: a `tests.tar.gz` whose every directory is one test (`spin.toml`,
//! `component.wasm`, `test.json5`), and what a `test.json5` says, as the suite's runner reads
//! it.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One test of the suite: a Spin app and what to send it.
#[derive(Debug, Clone)]
pub struct Test {
    /// The test's directory name, e.g. `key-value-no-permission`.
    pub name: String,
    /// Where its `spin.toml`, `component.wasm` and `test.json5` are.
    pub dir: PathBuf,
    /// Its `test.json5`.
    pub config: TestConfig,
}

/// A `test.json5`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestConfig {
    /// Sent in order to one running app.
    pub invocations: Vec<Invocation>,
    /// What must be there before the app starts.
    #[serde(default)]
    pub preconditions: Vec<Precondition>,
}

/// One request and the response it must get.
#[derive(Debug, Clone, Deserialize)]
pub struct Invocation {
    /// What to send.
    pub request: Request,
    /// What must come back.
    pub response: Response,
}

/// A request of an invocation.
#[derive(Debug, Clone, Deserialize)]
pub struct Request {
    /// `GET` unless said.
    #[serde(default)]
    pub method: Method,
    /// Path and query, joined to the host's address.
    pub path: String,
    /// Sent as given, after `%{port=N}` is replaced.
    #[serde(default)]
    pub headers: Vec<RequestHeader>,
    /// The request body, if any.
    #[serde(default)]
    pub body: Option<String>,
}

/// The two methods the suite sends.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub enum Method {
    /// The default.
    #[default]
    #[serde(rename = "GET")]
    Get,
    /// With a body.
    #[serde(rename = "POST")]
    Post,
}

/// A header to send.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestHeader {
    /// Its name.
    pub name: String,
    /// Its value, which may hold `%{port=N}`.
    pub value: String,
}

/// The response an invocation must get.
#[derive(Debug, Clone, Deserialize)]
pub struct Response {
    /// 200 unless said.
    #[serde(default = "ok")]
    pub status: u16,
    /// Every header the response may have: one not listed fails the test.
    pub headers: Vec<ResponseHeader>,
    /// The exact body; none means empty.
    #[serde(default)]
    pub body: Option<String>,
}

fn ok() -> u16 {
    200
}

/// A header the response must (or, if `optional`, may) have.
#[derive(Debug, Clone, Deserialize)]
pub struct ResponseHeader {
    /// Its name, any case.
    pub name: String,
    /// Its value, any case; any value when not given.
    #[serde(default)]
    pub value: Option<String>,
    /// Whether it may be missing.
    #[serde(default)]
    pub optional: bool,
}

/// What a test needs before its app starts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Precondition {
    /// The host's key-value store `label`, empty.
    KeyValueStore {
        /// The store's label.
        label: String,
    },
    /// An HTTP server that echoes a POST's body, behind guest port 80.
    HttpEcho,
    /// A TCP server that echoes what it reads, behind guest port 7.
    TcpEcho,
    /// The host's `default` SQLite database, empty.
    Sqlite,
    /// A Redis server, behind guest port 6379.
    Redis,
    /// An MQTT broker, behind guest port 1883.
    Mqtt,
    /// A PostgreSQL server, behind guest port 5432.
    Postgres,
}

/// Unpacks the package at `archive` into `dir` and reads every test in it, in name order.
pub fn unpack(archive: &Path, dir: &Path) -> Result<Vec<Test>, String> {
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(archive)
        .arg("-C")
        .arg(dir)
        .status()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    if !status.success() {
        return Err(format!("tar -xzf {} failed ({status})", archive.display()));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut tests = Vec::new();
    for entry in entries {
        let dir = entry.map_err(|e| e.to_string())?.path();
        if !dir.is_dir() {
            continue;
        }
        let name =
            dir.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let path = dir.join("test.json5");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let config = json5::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        tests.push(Test { name, dir, config });
    }
    tests.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(tests)
}

/// `text` with every `%{port=N}` replaced by the port `ports` maps guest port N to, as Spin's
/// runner replaces them in a manifest and in header values.
pub fn substitute_ports(text: &str, ports: &BTreeMap<u16, u16>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("%{") {
        out.push_str(&rest[..start]);
        let Some(length) = rest[start..].find('}') else {
            return Err(format!("unclosed `%{{` in {text:?}"));
        };
        let template = &rest[start + 2..start + length];
        let port = template
            .strip_prefix("port=")
            .and_then(|port| port.trim().parse::<u16>().ok())
            .ok_or_else(|| format!("unknown template `%{{{template}}}` in {text:?}"))?;
        let host_port = ports
            .get(&port)
            .ok_or_else(|| format!("no service of the test exposes guest port {port}"))?;
        out.push_str(&host_port.to_string());
        rest = &rest[start + length + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_substituted_and_unknown_ones_refused() {
        let ports = BTreeMap::from([(80, 41000), (7, 42000)]);
        assert_eq!(
            substitute_ports("http://localhost:%{port=80}/x %{port=7}", &ports).as_deref(),
            Ok("http://localhost:41000/x 42000")
        );
        assert_eq!(substitute_ports("no templates", &ports).as_deref(), Ok("no templates"));
        assert_eq!(
            substitute_ports("%{port=6379}", &ports),
            Err("no service of the test exposes guest port 6379".to_string())
        );
        assert!(substitute_ports("%{source=x}", &ports).is_err());
        assert!(substitute_ports("%{port=80", &ports).is_err());
    }

    #[test]
    fn a_test_json5_reads_as_the_suite_writes_it() {
        let config: TestConfig = json5::from_str(
            r#"{
                invocations: [{
                    request: { path: "/", headers: [{ name: "Host", value: "example.com" }] },
                    response: {
                        status: 500,
                        headers: [{ "name": "Date", "optional": true }],
                        body: "Error::AccessDenied",
                    },
                }],
                "preconditions": [{ kind: "key-value-store", label: "default" }, { kind: "tcp-echo" }],
            }"#,
        )
        .unwrap();
        let invocation = &config.invocations[0];
        assert!(matches!(invocation.request.method, Method::Get));
        assert_eq!(invocation.response.status, 500);
        assert!(invocation.response.headers[0].optional);
        assert_eq!(
            config.preconditions,
            [Precondition::KeyValueStore { label: "default".into() }, Precondition::TcpEcho]
        );
        assert!(json5::from_str::<TestConfig>("{ invocations: [], extra: 1 }").is_err());
    }
}
