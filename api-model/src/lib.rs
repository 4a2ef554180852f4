//! The contract of the API, written once for everything that speaks it: the services, the
//! public API, the seed tool and the benchmark.
//!
//! - Requests (`ListingsQuery`, `UsersQuery` with its `UserIds`, `NewListing`, `NewUser` and
//!   their values `ListingType`, `Price`, `UserId`, `UserName`; `Page`; the
//!   `IdempotencyKey` of a POST): parsed once at the edge, with the same rules and messages,
//!   by the service that owns them (from its form or query string) and by the public API
//!   (from its JSON body or query string, so bad input never costs an upstream call); past
//!   the edge they are valid. The same types write them: the JSON bodies clients send, and
//!   the forms and query strings the public API sends the services.
//! - Answers (`Listing`, `User`, and the one-key objects around them: `ListingAnswer`,
//!   `ListingsPage`, `UserAnswer`, `UsersPage`): written by the services, read by the public
//!   API and the seed tool.
//! - The OpenAPI 3.1 document of the whole API (`openapi.json`, [`OPENAPI_DOCUMENT`]), which
//!   the public API serves and tests hold to these types and to the running app.
//!
//! No SQL, HTTP client or Spin types (the field parsing and envelopes come from `api-http`,
//! which has none either), so all of it is tested natively.

mod answers;
mod idempotency;
mod listing;
mod openapi;
mod page;
mod user;
mod users_query;

pub use answers::{ListingAnswer, ListingsPage, UserAnswer, UsersPage};
pub use idempotency::{IDEMPOTENCY_KEY, IdempotencyKey, KEY_KEPT_MICROS};
pub use listing::{Listing, ListingType, ListingsQuery, NewListing, Price};
pub use openapi::OPENAPI_DOCUMENT;
pub use page::Page;
pub use user::{NewUser, User, UserId, UserName};
pub use users_query::{UserIds, UsersQuery};

/// What the tests of every module read requests with.
#[cfg(test)]
mod test_support {
    use api_http::{ApiError, JsonObject, Params};
    use http::StatusCode;

    /// The messages of a 400.
    pub fn messages(error: ApiError) -> Vec<String> {
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        error.errors().to_vec()
    }

    /// Parses a query string or form, as the services read them.
    pub fn from_form<'a, T>(
        form: &'a str,
        parse: impl FnOnce(&Params<'a>) -> Result<T, ApiError>,
    ) -> Result<T, Vec<String>> {
        parse(&Params::parse(form.as_bytes())).map_err(messages)
    }

    /// Parses a JSON body, as the public API reads it.
    pub fn from_json<T>(
        body: &str,
        parse: impl FnOnce(&JsonObject) -> Result<T, ApiError>,
    ) -> Result<T, Vec<String>> {
        parse(&JsonObject::parse(body.as_bytes()).map_err(messages)?).map_err(messages)
    }
}
