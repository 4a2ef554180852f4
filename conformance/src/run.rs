//! One test on fn-host, as Spin's runner runs one on `spin up`: the manifest with its ports
//! substituted and the component beside it in a fresh directory (whose `.spin/` is the state
//! directory, so the default store and database start empty), a host started there on a free
//! port, and each invocation sent in order.

use crate::compare::differences;
use crate::services::Services;
use crate::suite::{Method, Response, ResponseHeader, Test, substitute_ports};
use std::path::PathBuf;
use testkit::{Client, HostOptions, HostProgram};

/// What a test must get.
#[derive(Debug, Clone, Copy)]
pub enum Expectation {
    /// The responses its `test.json5` lists.
    AsWritten,
    /// For a test of an interface fn-host links but does not serve: each invocation gets the
    /// error that says so, as a 500 with the guest's rendering of it.
    Unsupported {
        /// The interface, e.g. `fermyon:spin/mqtt@2.0.0`.
        interface: &'static str,
    },
}

/// Runs tests on one fn-host binary with one set of services.
pub struct Runner {
    /// The fn-host executable.
    pub fn_host: PathBuf,
    /// The services the tests' preconditions name.
    pub services: Services,
}

impl Runner {
    /// Runs `test`; the error lists every difference of the first invocation that differs, with
    /// what the host printed.
    pub fn run(&self, test: &Test, expectation: Expectation) -> Result<(), String> {
        let services = self.services.for_test(&test.config.preconditions)?;
        let ports = &services.ports;
        let dir = testkit::fresh_dir();
        let manifest = std::fs::read_to_string(test.dir.join("spin.toml"))
            .map_err(|e| format!("read {}/spin.toml: {e}", test.name))?;
        std::fs::write(dir.join("spin.toml"), substitute_ports(&manifest, ports)?)
            .and_then(|()| {
                std::fs::copy(test.dir.join("component.wasm"), dir.join("component.wasm"))
            })
            .map_err(|e| format!("prepare {}: {e}", dir.display()))?;
        let host =
            HostOptions::new(HostProgram::FnHost(self.fn_host.clone()), dir.join("spin.toml"))
                .in_dir(&dir)
                .start();
        for (index, invocation) in test.config.invocations.iter().enumerate() {
            let request = &invocation.request;
            let mut sent = testkit::http::Request::builder()
                .method(match request.method {
                    Method::Get => "GET",
                    Method::Post => "POST",
                })
                .uri(format!("{}{}", host.url, request.path));
            for header in &request.headers {
                sent = sent.header(&header.name, substitute_ports(&header.value, ports)?);
            }
            let body = request.body.clone().unwrap_or_default().into_bytes();
            let sent = sent
                .body(body)
                .map_err(|e| format!("invocation {index}: cannot build the request: {e}"))?;
            let reply = host.send(sent);
            let expected = match expectation {
                Expectation::AsWritten => invocation.response.clone(),
                Expectation::Unsupported { interface } => unsupported(interface),
            };
            let found = differences(&expected, &reply);
            if !found.is_empty() {
                return Err(format!(
                    "invocation {index} ({:?} {}) got a different response:\n  {}\n\
                     --- what fn-host printed:\n{}",
                    request.method,
                    request.path,
                    found.join("\n  "),
                    host.logs()
                ));
            }
        }
        Ok(())
    }
}

/// The response of a guest that got fn-host's error for `interface` and answered with it, as
/// the suite's components answer every error.
fn unsupported(interface: &str) -> Response {
    let optional = |name: &str| ResponseHeader { name: name.into(), value: None, optional: true };
    Response {
        status: 500,
        headers: vec![optional("content-length"), optional("transfer-encoding"), optional("date")],
        body: Some(format!("Error::Other(\"fn-host does not support {interface}\")")),
    }
}
