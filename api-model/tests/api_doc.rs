//! `docs/api.md` against the OpenAPI document: the same operations, and for each the same
//! parameters and statuses, so the page cannot drift from the contract.

use serde_json::Value;
use std::collections::BTreeMap;

/// Per operation (`GET /listings`), its parameters and its statuses, sorted.
type Operations = BTreeMap<String, (Vec<String>, Vec<String>)>;

/// The operations of the OpenAPI document.
fn documented() -> Operations {
    let document: Value = serde_json::from_str(api_model::OPENAPI_DOCUMENT).expect("JSON");
    let resolve = |value: &Value| match value["$ref"].as_str() {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            document.pointer(pointer).cloned().expect("a reference that resolves")
        }
        None => value.clone(),
    };
    let mut operations = Operations::new();
    let paths = document["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("a path item") {
            let Some(responses) = operation["responses"].as_object() else {
                continue; // `parameters` or `summary` of the path, not an operation
            };
            let parameters = (operation["parameters"].as_array().into_iter().flatten())
                .map(|parameter| resolve(parameter)["name"].as_str().expect("a name").to_string());
            let mut parameters: Vec<String> = parameters.collect();
            parameters.sort();
            let statuses = responses.keys().cloned().collect();
            let name = format!("{} {path}", method.to_uppercase());
            operations.insert(name, (parameters, statuses));
        }
    }
    operations
}

/// The operations `docs/api.md` describes: each a `### \`METHOD /path\`` heading, followed by
/// a `Parameters:` line and a `Statuses:` line naming them in backticks.
fn described() -> Operations {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md");
    let page = std::fs::read_to_string(path).expect("docs/api.md");
    let quoted = |line: &str| -> Vec<String> {
        let mut words: Vec<String> =
            (line.split('`').skip(1).step_by(2)).map(String::from).collect();
        words.sort();
        words
    };
    let mut operations = Operations::new();
    let mut current: Option<String> = None;
    for line in page.lines() {
        if let Some(heading) = line.strip_prefix("### `") {
            current = Some(heading.trim_end_matches('`').to_string());
            operations.insert(heading.trim_end_matches('`').to_string(), Default::default());
        } else if let Some(operation) = current.as_ref().and_then(|name| operations.get_mut(name)) {
            if let Some(parameters) = line.strip_prefix("Parameters:") {
                operation.0 = quoted(parameters);
            } else if let Some(statuses) = line.strip_prefix("Statuses:") {
                operation.1 = quoted(statuses);
            }
        }
    }
    operations
}

#[test]
fn the_api_page_describes_every_operation_of_the_document_and_no_other() {
    let (documented, described) = (documented(), described());
    let names = |operations: &Operations| operations.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&described), names(&documented), "the operations in docs/api.md");
    for (name, (parameters, statuses)) in &documented {
        let (page_parameters, page_statuses) = &described[name];
        assert_eq!(page_parameters, parameters, "the parameters of {name} in docs/api.md");
        assert_eq!(page_statuses, statuses, "the statuses of {name} in docs/api.md");
    }
}
