//! The host's own error answers: no route, a body too large (413) or too slow (408), a component
//! that failed (500), could not start (503) or did not answer in time (504), a server at its
//! connection limit (503).
//!
//! How they look is the app's choice, not the host's: by default a plain-text message; an app
//! whose errors are JSON gives its shape as a template in its manifest, and the host fills in
//! the message:
//!
//! ```toml
//! [application.tool.fn-host]
//! error_template = '{"result":false,"errors":["{message}"]}'
//! ```
//!
//! Spin reads no `tool` table, so such a manifest runs unchanged on Spin (whose own answers to
//! these cases are empty bodies).

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use wasmtime::{Result, bail};

/// The placeholder a template's message goes into, JSON-escaped (without quotes).
const PLACEHOLDER: &str = "{message}";

/// How the host writes the body of its own error answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum HostErrors {
    /// `text/plain`: the message alone.
    #[default]
    PlainText,
    /// `application/json`: the template with the message in place of each `{message}`.
    Json(String),
}

impl HostErrors {
    /// A JSON template; it must name `{message}` and be JSON whatever the message is.
    pub fn json(template: &str) -> Result<Self> {
        if !template.contains(PLACEHOLDER) {
            bail!("it has no {PLACEHOLDER} for the message");
        }
        let errors = HostErrors::Json(template.to_string());
        let sample = errors.body("a \"quoted\" \\ message\non two lines");
        if let Err(error) = serde_json::from_slice::<serde_json::Value>(&sample) {
            bail!(
                "it is not JSON once {PLACEHOLDER} is filled in ({error}); \
                 put {PLACEHOLDER} inside a JSON string, e.g. {{\"error\": \"{PLACEHOLDER}\"}}"
            );
        }
        Ok(errors)
    }

    /// The answer with `status` and `message`.
    pub fn response(&self, status: StatusCode, message: &str) -> http::Response<Bytes> {
        let content_type = match self {
            HostErrors::PlainText => "text/plain; charset=utf-8",
            HostErrors::Json(_) => "application/json",
        };
        let mut response = http::Response::new(Bytes::from(self.body(message)));
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    }

    fn body(&self, message: &str) -> Vec<u8> {
        match self {
            HostErrors::PlainText => message.as_bytes().to_vec(),
            HostErrors::Json(template) => {
                let quoted = serde_json::Value::from(message).to_string();
                let escaped = &quoted[1..quoted.len() - 1];
                template.replace(PLACEHOLDER, escaped).into_bytes()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_template_gets_the_escaped_message() {
        let errors = HostErrors::json(r#"{"errors":["{message}"],"result":false}"#).unwrap();
        let response = errors.response(StatusCode::NOT_FOUND, r#"no route for /a"b\c"#);
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.body(), r#"{"errors":["no route for /a\"b\\c"],"result":false}"#);
    }

    #[test]
    fn plain_text_by_default() {
        let response = HostErrors::default().response(StatusCode::GATEWAY_TIMEOUT, "too slow");
        assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
        assert_eq!(response.body(), "too slow");
    }

    #[test]
    fn templates_that_cannot_carry_every_message_are_refused() {
        let no_placeholder = HostErrors::json(r#"{"error": "oops"}"#).unwrap_err();
        assert_eq!(no_placeholder.to_string(), "it has no {message} for the message");
        // Outside a string the message would have to be JSON itself.
        let unquoted = HostErrors::json(r#"{"error": {message}}"#).unwrap_err();
        assert!(
            unquoted.to_string().starts_with("it is not JSON once {message} is filled in"),
            "{unquoted}"
        );
    }
}
