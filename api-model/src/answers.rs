//! The answers of the API, each one JSON object with one key. A service sends them inside
//! the success envelope (`{"result": true, "listing": ...}`, see `api_http::success`); the
//! public API reads them from there (the flag is ignored) and answers its creations bare
//! (`{"listing": ...}`) and its page of listings in the envelope.

use serde::{Deserialize, Serialize};

use crate::{Listing, User};

/// `{"listing": ...}`: the listing `POST /listings` and `POST /public-api/listings` stored.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingAnswer {
    pub listing: Listing,
}

/// `{"listings": [...]}`: a page of `GET /listings`, or with `L` the public API's listing
/// with its user, of `GET /public-api/listings`.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingsPage<L = Listing> {
    pub listings: Vec<L>,
}

/// `{"user": ...}`: the user of `GET /users/{id}`, or the one `POST /users` and
/// `POST /public-api/users` stored.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserAnswer {
    pub user: User,
}

/// `{"users": [...]}`: a page of `GET /users`, or the users of `GET /users?ids=...`.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersPage {
    pub users: Vec<User>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ListingType;

    fn listing() -> Listing {
        Listing {
            id: 143,
            user_id: 1,
            listing_type: ListingType::Sale,
            price: 6000,
            created_at: 1,
            updated_at: 2,
        }
    }

    fn user() -> User {
        User { id: 1, name: "Lorel Ipsum".into(), created_at: 1, updated_at: 2 }
    }

    const LISTING: &str = r#"{"id":143,"user_id":1,"listing_type":"sale","price":6000,"created_at":1,"updated_at":2}"#;
    const USER: &str = r#"{"id":1,"name":"Lorel Ipsum","created_at":1,"updated_at":2}"#;

    fn write(answer: &impl Serialize) -> String {
        serde_json::to_string(answer).unwrap()
    }

    #[test]
    fn answers_are_one_key_objects() {
        assert_eq!(
            write(&ListingAnswer { listing: listing() }),
            format!(r#"{{"listing":{LISTING}}}"#)
        );
        assert_eq!(
            write(&ListingsPage { listings: vec![listing()] }),
            format!(r#"{{"listings":[{LISTING}]}}"#)
        );
        assert_eq!(write(&UserAnswer { user: user() }), format!(r#"{{"user":{USER}}}"#));
        assert_eq!(write(&UsersPage { users: vec![] }), r#"{"users":[]}"#);
    }

    #[test]
    fn answers_read_back_from_the_success_envelope() {
        let read = |text: String| serde_json::from_str::<ListingAnswer>(&text).unwrap();
        assert_eq!(read(format!(r#"{{"result":true,"listing":{LISTING}}}"#)).listing, listing());
        let page: UsersPage =
            serde_json::from_str(&format!(r#"{{"result": true, "users": [{USER}]}}"#)).unwrap();
        assert_eq!(page.users, [user()]);
        let page: ListingsPage = serde_json::from_str(r#"{"result":true,"listings":[]}"#).unwrap();
        assert!(page.listings.is_empty());
    }

    #[test]
    fn an_answer_with_an_unknown_listing_type_is_refused() {
        let lease = LISTING.replace("sale", "lease");
        assert!(
            serde_json::from_str::<ListingAnswer>(&format!(r#"{{"listing":{lease}}}"#)).is_err()
        );
    }
}
