//! The bodies that create users and listings, written from the API's own types: JSON for the
//! public API (`POST /public-api/users`, `/public-api/listings`), a form for the services'
//! own `POST /users` and `POST /listings`.

use crate::ListingSpec;
use api_model::{NewListing, NewUser, Price, UserId, UserName};
use serde::Serialize;

/// How a body is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Json,
    /// `application/x-www-form-urlencoded`, as the public API writes it to the services.
    Form,
}

impl Encoding {
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Json => "application/json",
            Encoding::Form => "application/x-www-form-urlencoded",
        }
    }
}

/// The body that creates a user called `name`, or why the API would refuse the name.
pub fn user_body(name: &str, encoding: Encoding) -> Result<String, String> {
    let user = NewUser { name: UserName::new(name)? };
    match encoding {
        Encoding::Json => json(&user),
        Encoding::Form => Ok(user.form()),
    }
}

/// The body that creates `listing` for the user `user_id`, or why the API would refuse it.
pub fn listing_body(
    user_id: UserId,
    listing: &ListingSpec,
    encoding: Encoding,
) -> Result<String, String> {
    let listing = NewListing {
        user_id,
        listing_type: listing.listing_type,
        price: Price::new(listing.price)?,
    };
    match encoding {
        Encoding::Json => json(&listing),
        Encoding::Form => Ok(listing.form()),
    }
}

fn json(body: &impl Serialize) -> Result<String, String> {
    serde_json::to_string(body).map_err(|e| format!("cannot write the body: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_model::ListingType;

    const SALE: ListingSpec =
        ListingSpec { user_index: 0, listing_type: ListingType::Sale, price: 250_000 };

    #[test]
    fn json_bodies() {
        assert_eq!(
            user_body(" Ann \"Q\" O'Neil", Encoding::Json).unwrap(),
            r#"{"name":"Ann \"Q\" O'Neil"}"#
        );
        let user_id = UserId::new(17).unwrap();
        assert_eq!(
            listing_body(user_id, &SALE, Encoding::Json).unwrap(),
            r#"{"user_id":17,"listing_type":"sale","price":250000}"#
        );
    }

    #[test]
    fn form_bodies() {
        assert_eq!(
            user_body("Ann O'Neil & Co", Encoding::Form).unwrap(),
            "name=Ann+O%27Neil+%26+Co"
        );
        let user_id = UserId::new(17).unwrap();
        assert_eq!(
            listing_body(user_id, &SALE, Encoding::Form).unwrap(),
            "user_id=17&listing_type=sale&price=250000"
        );
    }

    #[test]
    fn what_the_api_would_refuse_is_not_sent() {
        assert_eq!(user_body(" ", Encoding::Form), Err("name must not be blank".to_owned()));
        let free = ListingSpec { price: 0, ..SALE };
        assert_eq!(
            listing_body(UserId::new(1).unwrap(), &free, Encoding::Json),
            Err("price must be greater than 0".to_owned())
        );
    }
}
