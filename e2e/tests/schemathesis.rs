//! schemathesis (PyPI) against the app on each host, on fresh databases, from the OpenAPI
//! document the app serves, with the settings of `schemathesis.toml` (every phase, stateful
//! links included, and every check): a handler whose answer drifts from the document fails it.
//!
//! The program is `SCHEMATHESIS` (the path of its `schemathesis` or `st` executable), else
//! `schemathesis` on PATH; without one these tests say so and skip. `.ci/run` installs the
//! version it pins into a virtualenv under `target/`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{
    Client, Flavour, HostProgram, Target, find_tool, fn_host, fresh_dir, on_each_host, repo_root,
    services_on,
};

fn schemathesis() -> Option<PathBuf> {
    let found = find_tool("SCHEMATHESIS", "schemathesis");
    if found.is_none() {
        println!(
            "skipped: no schemathesis (set SCHEMATHESIS to its executable or put `schemathesis` \
             on PATH; `.ci/run` installs the version it pins)"
        );
    }
    found
}

/// `schemathesis run` with the repository's settings and `args`, in a fresh directory (it
/// keeps state in its working directory); whether it passed, and what it printed.
fn run(schemathesis: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(schemathesis)
        .current_dir(fresh_dir())
        .arg("--config-file")
        .arg(repo_root().join("schemathesis.toml"))
        .args(["run", "--no-color"])
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("run {}: {error}", schemathesis.display()));
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), printed)
}

fn document_url(app: &impl Client) -> String {
    format!("{}/public-api/openapi.json", app.url())
}

#[test]
fn the_app_answers_as_its_openapi_document_says() {
    let Some(schemathesis) = schemathesis() else {
        return;
    };
    on_each_host(|target| {
        let app = services_on(target).start();
        let url = document_url(&app);
        let mut args = vec![url.as_str()];
        // Spin answers a request with a header value that is not UTF-8 with an empty 500
        // before any component runs (a known difference, in differential.rs), and
        // schemathesis writes such values into the Idempotency-Key header, in its coverage
        // phase and with its default codec: on Spin it runs the other phases on ASCII
        // strings, so that the run holds the app, not Spin, to the document.
        if !matches!(target.program(), Some(HostProgram::FnHost(_))) {
            args.extend(["--generation-codec", "ascii"]);
            args.extend(["--phases", "examples,fuzzing,stateful"]);
        }
        let (passed, printed) = run(&schemathesis, &args);
        println!("{target}:\n{printed}");
        assert!(passed, "schemathesis found answers of {target} that differ from the document");
    });
}

/// The same run on a document that no longer says what `GET /users/{id}` answers (no 404,
/// and a user with an `email`) fails, naming both differences.
#[test]
fn an_answer_that_differs_from_the_document_fails_the_run() {
    let Some(schemathesis) = schemathesis() else {
        return;
    };
    let app = services_on(&Target::host(fn_host(), Flavour::P3)).start();
    // A user for the document's example (`/users/1`) to find.
    assert_eq!(app.post_form("/users", "name=Ann").status, 200);
    let mut document: Value = app.get("/public-api/openapi.json").json();
    let responses = &mut document["paths"]["/users/{id}"]["get"]["responses"];
    responses.as_object_mut().expect("responses").remove("404");
    let user = &mut document["components"]["schemas"]["User"];
    user["properties"]["email"] = serde_json::json!({ "type": "string" });
    user["required"].as_array_mut().expect("required").push("email".into());
    let drifted = fresh_dir().join("openapi.json");
    std::fs::write(&drifted, document.to_string()).expect("write the document");

    let (passed, printed) = run(
        &schemathesis,
        &[
            drifted.to_str().expect("a UTF-8 path"),
            "--url",
            app.url(),
            "--include-operation-id",
            "getUser",
            "--phases",
            "examples,coverage",
        ],
    );
    assert!(!passed, "schemathesis passed a drifted document:\n{printed}");
    for failure in ["Undocumented status code", "Response violates schema"] {
        assert!(printed.contains(failure), "no {failure:?} in:\n{printed}");
    }
}
