//! The named fields of a request (query string, form or JSON body), read as integers or
//! text, each failure a message naming its field. The rules of each field (paging, ids,
//! prices...) are the contract's, in `api-model`: this only knows "present", "integer" and
//! "text".

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::ApiError;
use crate::integer::{NotAnInteger, integer_of_json, integer_of_text};

/// A field as sent: text of a query string or form, or a JSON value.
pub enum FieldValue<'a> {
    Text(&'a str),
    Json(&'a Value),
}

/// Named fields of a request. An empty query/form value or a JSON `null` counts as absent.
pub trait Fields {
    fn value(&self, name: &str) -> Option<FieldValue<'_>>;

    /// A required 64-bit integer.
    fn int(&self, name: &str) -> Result<i64, String> {
        self.optional_int(name)?.ok_or_else(|| required(name))
    }

    /// An integer as [`integer_of_text`] and [`integer_of_json`] read them.
    fn optional_int(&self, name: &str) -> Result<Option<i64>, String> {
        let Some(value) = self.value(name) else {
            return Ok(None);
        };
        match value {
            FieldValue::Text(text) => integer_of_text(text),
            FieldValue::Json(Value::Number(number)) => integer_of_json(number),
            FieldValue::Json(_) => Err(NotAnInteger::NotWhole),
        }
        .map(Some)
        .map_err(|why| why.message(name))
    }

    /// Required text, as sent (not trimmed).
    fn text(&self, name: &str) -> Result<&str, String> {
        self.optional_text(name)?.ok_or_else(|| required(name))
    }

    fn optional_text(&self, name: &str) -> Result<Option<&str>, String> {
        match self.value(name) {
            None => Ok(None),
            Some(FieldValue::Text(text)) => Ok(Some(text)),
            Some(FieldValue::Json(Value::String(text))) => Ok(Some(text)),
            Some(FieldValue::Json(_)) => Err(format!("{name} must be a string")),
        }
    }
}

fn required(name: &str) -> String {
    format!("{name} is required")
}

/// The decoded `key=value` pairs of a query string or form body (`+` and `%XX` decoded).
/// A key given more than once takes its last value.
pub struct Params<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> Params<'a> {
    pub fn parse(encoded: &'a [u8]) -> Self {
        Self(form_urlencoded::parse(encoded).collect())
    }
}

impl Fields for Params<'_> {
    fn value(&self, name: &str) -> Option<FieldValue<'_>> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_ref())
            .filter(|value| !value.is_empty())
            .map(FieldValue::Text)
    }
}

/// A JSON request body, which must be an object.
pub struct JsonObject(Map<String, Value>);

impl JsonObject {
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        match serde_json::from_slice(body) {
            Ok(Value::Object(object)) => Ok(Self(object)),
            Ok(_) => Err(ApiError::bad_request("request body must be a JSON object")),
            Err(_) => Err(ApiError::bad_request("request body must be valid JSON")),
        }
    }
}

impl Fields for JsonObject {
    fn value(&self, name: &str) -> Option<FieldValue<'_>> {
        self.0.get(name).filter(|value| !value.is_null()).map(FieldValue::Json)
    }
}

/// The field errors of one request, so the client learns all of them at once.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<String>);

impl FieldErrors {
    /// The field's value, or `None` with its message recorded.
    pub fn check<T>(&mut self, field: Result<T, String>) -> Option<T> {
        field.map_err(|message| self.0.push(message)).ok()
    }

    /// `value` if no field failed, else 400 with every message.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, ApiError> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(ApiError::new(http::StatusCode::BAD_REQUEST, self.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::*;

    fn messages(error: ApiError) -> Vec<String> {
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        error.errors().to_vec()
    }

    #[test]
    fn integers_of_text_fields() {
        let params = Params::parse(
            b"a=42&b=-7&c=%2B5&d=abc&e=9223372036854775807&f=9223372036854775808\
              &g=-9223372036854775809&h=1.0&i=+1&j=0x10&k=",
        );
        assert_eq!(params.int("a"), Ok(42));
        assert_eq!(params.int("b"), Ok(-7));
        assert_eq!(params.int("c"), Ok(5));
        assert_eq!(params.int("d"), Err("d must be an integer".into()));
        assert_eq!(params.int("e"), Ok(i64::MAX));
        assert_eq!(params.int("f"), Err("f must be at most 9223372036854775807".into()));
        assert_eq!(params.int("g"), Err("g must be at least -9223372036854775808".into()));
        // A whole number, as in JSON.
        assert_eq!(params.int("h"), Ok(1));
        // `+` decodes to a space, which is not part of an integer.
        assert_eq!(params.int("i"), Err("i must be an integer".into()));
        assert_eq!(params.int("j"), Err("j must be an integer".into()));
        assert_eq!(params.int("k"), Err("k is required".into()));
        assert_eq!(params.int("missing"), Err("missing is required".into()));
        assert_eq!(params.optional_int("missing"), Ok(None));
        assert_eq!(params.optional_int("k"), Ok(None));
    }

    #[test]
    fn text_fields_are_percent_and_plus_decoded() {
        let params = Params::parse(b"name=Ann+Lee%20%26+Co%3D&city=S%C3%A3o+Paulo&raw=%zz");
        assert_eq!(params.text("name"), Ok("Ann Lee & Co="));
        assert_eq!(params.text("city"), Ok("São Paulo"));
        assert_eq!(params.text("raw"), Ok("%zz"));
        assert_eq!(params.text("none"), Err("none is required".into()));
        assert_eq!(params.optional_text("none"), Ok(None));
    }

    #[test]
    fn the_last_of_repeated_keys_wins() {
        let params = Params::parse(b"a=1&a=2");
        assert_eq!(params.int("a"), Ok(2));
    }

    #[test]
    fn integers_of_json_fields() {
        let object = JsonObject::parse(
            br#"{"a": 42, "b": 9223372036854775808, "c": 1.5, "d": 6000.0, "e": "42",
                 "f": true, "g": null, "h": [1]}"#,
        )
        .unwrap();
        assert_eq!(object.int("a"), Ok(42));
        assert_eq!(object.int("b"), Err("b must be at most 9223372036854775807".into()));
        // A whole float is an integer, as in JSON Schema.
        assert_eq!(object.int("d"), Ok(6000));
        for name in ["c", "e", "f", "h"] {
            assert_eq!(object.int(name), Err(format!("{name} must be an integer")));
        }
        assert_eq!(object.int("g"), Err("g is required".into()));
        assert_eq!(object.int("missing"), Err("missing is required".into()));
    }

    #[test]
    fn text_of_json_fields() {
        let object = JsonObject::parse(br#"{"name": " Ann ", "n": 5, "z": null}"#).unwrap();
        assert_eq!(object.text("name"), Ok(" Ann "));
        assert_eq!(object.text("n"), Err("n must be a string".into()));
        assert_eq!(object.text("z"), Err("z is required".into()));
    }

    #[test]
    fn json_bodies_must_be_objects() {
        for (body, message) in [
            (&b"{"[..], "request body must be valid JSON"),
            (b"", "request body must be valid JSON"),
            (b"\xff", "request body must be valid JSON"),
            (b"[1]", "request body must be a JSON object"),
            (b"\"name\"", "request body must be a JSON object"),
            (b"null", "request body must be a JSON object"),
        ] {
            let Err(error) = JsonObject::parse(body) else { panic!("{body:?} parsed") };
            assert_eq!(messages(error), [message]);
        }
    }

    #[test]
    fn deeply_nested_json_is_refused_not_overflowing() {
        let body = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(JsonObject::parse(body.as_bytes()).is_err());
    }

    #[test]
    fn field_errors_collect_every_message() {
        let mut errors = FieldErrors::default();
        let a = errors.check::<i64>(Err("a is required".into()));
        let b = errors.check(Ok(2));
        let c = errors.check::<i64>(Err("c must be an integer".into()));
        let result = errors.finish(a.zip(b).zip(c));
        assert_eq!(messages(result.unwrap_err()), ["a is required", "c must be an integer"]);
        assert_eq!(FieldErrors::default().finish(Some(1)), Ok(1));
    }
}
