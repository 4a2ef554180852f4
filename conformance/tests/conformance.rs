//! Spin's conformance suite against fn-host: one trial per test of the package named by
//! `SPIN_CONFORMANCE` (`tests-components.tar.gz`; `.ci/run` sets it from
//! `../shared/tools/spin-conformance/`), named after the test. Without the package it runs no
//! trial and says so; in CI, where `REQUIRED_TOOLS` lists it, a missing package fails.
//!
//! Tests of the interfaces fn-host links but does not serve run too, marked `[unsupported]`:
//! they must get the error that says so. The Redis and MQTT tests need `redis-server`
//! (`REDIS_SERVER`, else on PATH) and `mosquitto` (`MOSQUITTO`): without them they are
//! ignored, saying so; in CI, where `REQUIRED_TOOLS` lists them, a missing one fails.

use conformance::run::{Expectation, Runner};
use conformance::services::{ServerPrograms, Services};
use conformance::suite;
use libtest_mimic::{Arguments, Trial};
use std::sync::Arc;

/// The tests of interfaces fn-host does not serve, each with the interface: what they need is
/// a PostgreSQL server behind the host.
const UNSUPPORTED: &[(&str, &str)] = &[("postgres", "spin:postgres/postgres@4.0.0")];

fn main() {
    let arguments = Arguments::from_args();
    let Some(package) = testkit::find_tool("SPIN_CONFORMANCE", "tests-components.tar.gz") else {
        println!(
            "skipped: no Spin conformance package (set SPIN_CONFORMANCE to \
             tests-components.tar.gz; ../shared/tools/spin-conformance/ has one)"
        );
        libtest_mimic::run(&arguments, Vec::new()).exit();
    };
    let programs = ServerPrograms {
        redis_server: testkit::find_tool("REDIS_SERVER", "redis-server"),
        mosquitto: testkit::find_tool("MOSQUITTO", "mosquitto"),
    };
    for (tests, program, variable, found) in [
        ("Redis", "redis-server", "REDIS_SERVER", programs.redis_server.is_some()),
        ("MQTT", "mosquitto", "MOSQUITTO", programs.mosquitto.is_some()),
    ] {
        if !found {
            println!(
                "the {tests} tests are ignored: no {program} (set {variable} to it or put it on \
                 PATH; Debian's package {program})"
            );
        }
    }
    let dir = testkit::fresh_dir();
    let tests = suite::unpack(&package, &dir).unwrap_or_else(|e| panic!("{e}"));
    let runner = Arc::new(Runner {
        fn_host: env!("CARGO_BIN_EXE_conformance-fn-host").into(),
        services: Services::start(programs.clone()).expect("start the echo services"),
    });
    let trials = tests
        .into_iter()
        .map(|test| {
            let unsupported = UNSUPPORTED
                .iter()
                .find(|(name, _)| *name == test.name)
                .map(|&(_, interface)| interface);
            let expectation = match unsupported {
                Some(interface) => Expectation::Unsupported { interface },
                None => Expectation::AsWritten,
            };
            let without_server = !programs.serve(&test.config.preconditions);
            let runner = runner.clone();
            let trial = Trial::test(test.name.clone(), move || Ok(runner.run(&test, expectation)?))
                .with_ignored_flag(without_server);
            match unsupported {
                Some(_) => trial.with_kind("unsupported"),
                None => trial,
            }
        })
        .collect();
    libtest_mimic::run(&arguments, trials).exit();
}
