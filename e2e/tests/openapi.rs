//! The OpenAPI document (`api-model/openapi.json`) as the app serves it, and its paths held to
//! the routers: each path answers exactly the methods the document lists. schemathesis
//! (`schemathesis.rs`) checks the answers themselves.

mod support;

use serde_json::Value;
use support::{Client, app_on, on_each_target, repo_root, services_on};

/// The document as kept in the repository.
fn kept_document() -> Value {
    let text = std::fs::read_to_string(repo_root().join("api-model/openapi.json"))
        .expect("read api-model/openapi.json");
    serde_json::from_str(&text).expect("the document is JSON")
}

/// A path of the document as a request can name it (`{id}` filled in).
fn concrete(path: &str) -> String {
    path.replace("{id}", "1")
}

#[test]
fn the_app_serves_its_openapi_document() {
    on_each_target(|target| {
        let app = app_on(target).start();
        let reply = app.get("/public-api/openapi.json");
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_eq!(reply.json(), kept_document());
    });
}

#[test]
fn every_path_answers_the_methods_the_document_lists_and_no_other() {
    on_each_target(|target| {
        let app = services_on(target).start();
        let document = kept_document();
        let paths = document["paths"].as_object().expect("paths");
        assert_eq!(paths.len(), 6);
        for (path, operations) in paths {
            let mut listed: Vec<String> = operations
                .as_object()
                .expect("operations")
                .keys()
                .map(|method| method.to_uppercase())
                .collect();
            listed.sort();
            for method in &listed {
                let reply = app.request(method, &concrete(path));
                assert!(
                    ![404, 405].contains(&reply.status) || reply.errors()[0].starts_with("user"),
                    "{method} {path} is not routed: {} {}",
                    reply.status,
                    reply.body
                );
            }
            let refused = app.request("DELETE", &concrete(path));
            assert_eq!(refused.status, 405, "DELETE {path}: {}", refused.body);
            assert_eq!(refused.header("allow"), Some(listed.join(", ").as_str()), "{path}");
        }
    });
}
