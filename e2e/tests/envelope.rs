//! One error envelope, byte for byte: what the host answers itself (its `error_template` in
//! each manifest, filled in) is what the services answer for the same message, and a body
//! too large is worded alike by both, whichever limit it passed.

use api_http::{ApiError, MAX_BODY_BYTES};
use host::host_errors::HostErrors;
use host::server::body::BodyError;
use http::StatusCode;
use testkit::{Flavour, repo_root};

/// The host's error answers as a manifest of the app configures them.
fn host_errors(flavour: Flavour) -> HostErrors {
    let manifest = std::fs::read_to_string(repo_root().join(flavour.manifest())).unwrap();
    let manifest: toml::Table = manifest.parse().unwrap();
    let template = manifest["application"]["tool"]["fn-host"]["error_template"]
        .as_str()
        .expect("an error template");
    HostErrors::json(template).unwrap()
}

#[test]
fn the_hosts_errors_are_the_services_envelope() {
    for flavour in [Flavour::P3, Flavour::P2] {
        let errors = host_errors(flavour);
        for message in ["no route for /x", "a \"quoted\" \\ message\non two lines"] {
            let hosts = errors.response(StatusCode::NOT_FOUND, message);
            let services = ApiError::not_found(message).into_response();
            assert_eq!(hosts.headers()["content-type"], services.headers()["content-type"]);
            assert_eq!(std::str::from_utf8(hosts.body()).unwrap(), services.body(), "{flavour:?}");
        }
    }
}

#[test]
fn a_body_too_large_is_worded_alike_by_the_host_and_the_services() {
    let hosts = BodyError::TooLarge { limit: MAX_BODY_BYTES };
    assert_eq!(hosts.status(), ApiError::payload_too_large().status());
    assert_eq!([hosts.message()], ApiError::payload_too_large().errors());
}
