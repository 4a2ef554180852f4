//! The typed values of the services' HTTP contract (`ListingType`, `Price`, `UserId`,
//! `UserName`, `ListingsQuery`, `NewListing`): parsed once at the edge, with the same rules
//! and messages, by the service that owns them (from its form or query string) and by the
//! public API (from its JSON body or query string, so bad input never costs an upstream
//! call); past the edge they are valid. And what the services answer (`Listing`, `User`),
//! written by the service and read by the public API.
//!
//! The shared-crate rule of the architecture ("never holds a service's domain or SQL") is
//! about storage and domain logic, while the request contract that a service and its caller
//! both parse is what this crate is for.
//!
//! So no SQL, HTTP client or Spin types appear here, and all of it is tested
//! natively.

mod listing;
mod user;

pub use listing::{Listing, ListingType, ListingsQuery, NewListing, Price};
pub use user::{User, UserId, UserName};

/// What the tests of both modules read requests with.
#[cfg(test)]
mod test_support {
    use api_common::{ApiError, JsonObject, Params};
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
