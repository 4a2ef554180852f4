//! The HTTP edge of the three components: the error type that knows its status
//! ([`ApiError`]), the JSON envelopes (`{"result": true, ...}` and
//! `{"result": false, "errors": [...]}`) and responses, request checks (path, Content-Type,
//! body size) and the reading of query strings, forms and JSON bodies into named fields.
//!
//! Plain Rust with no Spin types, tested natively; what the requests and answers contain is
//! the contract, in `api-model`.

mod error;
mod fields;
mod integer;
mod request;
mod response;

pub use error::{ApiError, ErrorBody};
pub use fields::{FieldErrors, FieldValue, Fields, JsonObject, Params};
pub use integer::integer_of_text;
pub use request::{FORM, JSON, MAX_BODY_BYTES, RequestBody, read_body, route_path};
pub use response::{JsonResponse, json, json_text, success};
