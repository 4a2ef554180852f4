//! A response against what an invocation expects, as Spin's runner compares them: the status,
//! the exact body, and the headers by name and value in any case, where every expected header
//! must be there (unless optional) and every header there must be expected. Unlike Spin's
//! runner, which stops at the first difference, every difference is listed.

use crate::suite::Response;
use std::collections::BTreeMap;
use testkit::Reply;

/// Every way `actual` differs from `expected`, one per line; empty when it conforms.
pub fn differences(expected: &Response, actual: &Reply) -> Vec<String> {
    let mut differences = Vec::new();
    if actual.status != expected.status {
        differences.push(format!("status: expected {}, got {}", expected.status, actual.status));
    }
    let expected_body = expected.body.as_deref().unwrap_or_default();
    if actual.body != expected_body {
        differences.push(format!("body: expected {expected_body:?}, got {:?}", actual.body));
    }
    let mut unexpected: BTreeMap<String, String> = actual
        .headers
        .iter()
        .map(|(name, value)| (name.to_lowercase(), value.to_lowercase()))
        .collect();
    for header in &expected.headers {
        let name = header.name.to_lowercase();
        match (unexpected.remove(&name), &header.value) {
            (None, _) if header.optional => {}
            (None, _) => differences.push(format!("header {name}: missing")),
            (Some(actual), Some(value)) if actual != value.to_lowercase() => {
                differences.push(format!("header {name}: expected {value:?}, got {actual:?}"))
            }
            (Some(_), _) => {}
        }
    }
    for (name, value) in unexpected {
        differences.push(format!("header {name}: not expected (value {value:?})"));
    }
    differences
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::ResponseHeader;

    fn header(name: &str, value: Option<&str>, optional: bool) -> ResponseHeader {
        ResponseHeader { name: name.into(), value: value.map(Into::into), optional }
    }

    fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
        Reply {
            status,
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            body: body.into(),
        }
    }

    #[test]
    fn names_and_values_compare_in_any_case_and_optional_ones_may_be_missing() {
        let expected = Response {
            status: 200,
            headers: vec![
                header("Content-Length", Some("0"), false),
                header("Date", None, true),
                header("Transfer-Encoding", Some("chunked"), true),
            ],
            body: None,
        };
        let conforming = reply(200, &[("content-length", "0"), ("date", "today")], "");
        assert!(differences(&expected, &conforming).is_empty());
    }

    #[test]
    fn every_difference_is_listed() {
        let expected = Response {
            status: 500,
            headers: vec![
                header("content-length", Some("19"), false),
                header("x-needed", None, false),
            ],
            body: Some("Error::AccessDenied".into()),
        };
        let actual = reply(200, &[("Content-Length", "0"), ("Server", "x")], "");
        assert_eq!(
            differences(&expected, &actual),
            [
                "status: expected 500, got 200",
                "body: expected \"Error::AccessDenied\", got \"\"",
                "header content-length: expected \"19\", got \"0\"",
                "header x-needed: missing",
                "header server: not expected (value \"x\")",
            ]
        );
    }
}
