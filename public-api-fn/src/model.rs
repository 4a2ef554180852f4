//! The public API's values: its requests, parsed once at the edge with the same rules as
//! the services (so bad input never costs an upstream call), and what the services answer.

use std::collections::HashMap;

use api_common::{ApiError, FieldErrors, Fields, Page};
use serde::{Deserialize, Serialize};

/// What a listing offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListingType {
    Rent,
    Sale,
}

impl ListingType {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "rent" => Ok(Self::Rent),
            "sale" => Ok(Self::Sale),
            _ => Err("listing_type must be 'rent' or 'sale'".to_owned()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rent => "rent",
            Self::Sale => "sale",
        }
    }
}

/// A price above zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price(i64);

impl Price {
    pub fn new(value: i64) -> Result<Self, String> {
        if value > 0 {
            Ok(Self(value))
        } else {
            Err("price must be greater than 0".to_owned())
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// The id of a user; ids start at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserId(i64);

impl UserId {
    pub fn new(value: i64) -> Result<Self, String> {
        if value > 0 {
            Ok(Self(value))
        } else {
            Err("user_id must be a positive integer".to_owned())
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A user's full name: trimmed, not empty, at most [`UserName::MAX_CHARS`] characters.
#[derive(Debug, PartialEq, Eq)]
pub struct UserName(String);

impl UserName {
    pub const MAX_CHARS: usize = 200;

    /// `POST /public-api/users`: `{"name": "..."}`
    pub fn parse(body: &impl Fields) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let name = errors.check(body.text("name").and_then(|name| {
            let name = name.trim();
            if name.is_empty() {
                Err("name must not be blank".to_owned())
            } else if name.chars().count() > Self::MAX_CHARS {
                Err(format!(
                    "name must be at most {} characters",
                    Self::MAX_CHARS
                ))
            } else {
                Ok(Self(name.to_owned()))
            }
        }));
        errors.finish(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `GET /public-api/listings`: which page, optionally of one user's listings only.
#[derive(Debug, PartialEq, Eq)]
pub struct ListingsQuery {
    pub page: Page,
    pub user_id: Option<UserId>,
}

impl ListingsQuery {
    pub fn parse(query: &impl Fields) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let page = Page::parse(query, &mut errors);
        let user_id = errors.check(
            query
                .optional_int("user_id")
                .and_then(|id| id.map(UserId::new).transpose()),
        );
        errors.finish(
            page.zip(user_id)
                .map(|(page, user_id)| Self { page, user_id }),
        )
    }
}

/// `POST /public-api/listings`: `{"user_id": 1, "listing_type": "rent", "price": 6000}`
#[derive(Debug, PartialEq, Eq)]
pub struct NewListing {
    pub user_id: UserId,
    pub listing_type: ListingType,
    pub price: Price,
}

impl NewListing {
    pub fn parse(body: &impl Fields) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let user_id = errors.check(body.int("user_id").and_then(UserId::new));
        let listing_type = errors.check(body.text("listing_type").and_then(ListingType::parse));
        let price = errors.check(body.int("price").and_then(Price::new));
        errors.finish(match (user_id, listing_type, price) {
            (Some(user_id), Some(listing_type), Some(price)) => Some(Self {
                user_id,
                listing_type,
                price,
            }),
            _ => None,
        })
    }
}

/// A listing as the listing service shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub id: i64,
    pub user_id: i64,
    pub listing_type: ListingType,
    pub price: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A user as the user service shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `{"user": ...}`: read from the user service's answer, which it also is to the client.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedUser {
    pub user: User,
}

/// `{"listing": ...}`: read from the listing service's answer, which it also is to the client.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedListing {
    pub listing: Listing,
}

/// A listing of `GET /public-api/listings`: its user in place of `user_id`, `null` when
/// the user service does not know the user.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct PublicListing<'a> {
    pub id: i64,
    pub listing_type: ListingType,
    pub price: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub user: Option<&'a User>,
}

/// The users to ask for: each listing's user once, in order of first appearance.
pub fn distinct_user_ids(listings: &[Listing]) -> Vec<i64> {
    let mut ids = Vec::with_capacity(listings.len());
    for listing in listings {
        if !ids.contains(&listing.user_id) {
            ids.push(listing.user_id);
        }
    }
    ids
}

/// Each listing with its user from `users`, in the listings' order.
pub fn with_users<'a>(listings: &[Listing], users: &'a [User]) -> Vec<PublicListing<'a>> {
    let users_by_id: HashMap<i64, &User> = users.iter().map(|user| (user.id, user)).collect();
    listings
        .iter()
        .map(|listing| PublicListing {
            id: listing.id,
            listing_type: listing.listing_type,
            price: listing.price,
            created_at: listing.created_at,
            updated_at: listing.updated_at,
            user: users_by_id.get(&listing.user_id).copied(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use api_common::{JsonObject, Params};
    use http::StatusCode;

    use super::*;

    fn messages(error: ApiError) -> Vec<String> {
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        error.errors().to_vec()
    }

    fn new_listing(body: &str) -> Result<NewListing, Vec<String>> {
        NewListing::parse(&JsonObject::parse(body.as_bytes()).map_err(messages)?).map_err(messages)
    }

    fn name(body: &str) -> Result<UserName, Vec<String>> {
        UserName::parse(&JsonObject::parse(body.as_bytes()).map_err(messages)?).map_err(messages)
    }

    fn query(query: &str) -> Result<ListingsQuery, Vec<String>> {
        ListingsQuery::parse(&Params::parse(query.as_bytes())).map_err(messages)
    }

    fn listing(id: i64, user_id: i64) -> Listing {
        Listing {
            id,
            user_id,
            listing_type: ListingType::Rent,
            price: 6000,
            created_at: 1_475_820_997_000_000,
            updated_at: 1_475_820_997_000_000,
        }
    }

    fn user(id: i64, name: &str) -> User {
        User {
            id,
            name: name.into(),
            created_at: 1_475_820_997_000_000,
            updated_at: 1_475_820_997_000_000,
        }
    }

    #[test]
    fn parses_a_new_listing() {
        let listing =
            new_listing(r#"{"user_id": 1, "listing_type": "rent", "price": 6000}"#).unwrap();
        assert_eq!(listing.user_id.get(), 1);
        assert_eq!(listing.listing_type, ListingType::Rent);
        assert_eq!(listing.price.get(), 6000);
        let max =
            new_listing(r#"{"user_id": 2, "listing_type": "sale", "price": 9223372036854775807}"#)
                .unwrap();
        assert_eq!(
            (max.listing_type, max.price.get()),
            (ListingType::Sale, i64::MAX)
        );
    }

    #[test]
    fn a_new_listing_reports_every_bad_field() {
        assert_eq!(
            new_listing("{}"),
            Err(vec![
                "user_id is required".to_owned(),
                "listing_type is required".to_owned(),
                "price is required".to_owned(),
            ])
        );
        assert_eq!(
            new_listing(r#"{"user_id": "1", "listing_type": 1, "price": 60.5}"#),
            Err(vec![
                "user_id must be an integer".to_owned(),
                "listing_type must be a string".to_owned(),
                "price must be an integer".to_owned(),
            ])
        );
        assert_eq!(
            new_listing(r#"{"user_id": 0, "listing_type": "buy", "price": 0}"#),
            Err(vec![
                "user_id must be a positive integer".to_owned(),
                "listing_type must be 'rent' or 'sale'".to_owned(),
                "price must be greater than 0".to_owned(),
            ])
        );
        assert_eq!(
            new_listing(r#"{"user_id": 1, "listing_type": "rent", "price": 9223372036854775808}"#),
            Err(vec!["price must be at most 9223372036854775807".to_owned()])
        );
        assert_eq!(
            new_listing(r#"{"user_id": 1, "listing_type": "rent", "price": -1}"#),
            Err(vec!["price must be greater than 0".to_owned()])
        );
    }

    #[test]
    fn a_new_listing_must_be_a_json_object() {
        assert_eq!(
            new_listing("user_id=1"),
            Err(vec!["request body must be valid JSON".to_owned()])
        );
        assert_eq!(
            new_listing("[]"),
            Err(vec!["request body must be a JSON object".to_owned()])
        );
    }

    #[test]
    fn names_are_trimmed_non_empty_strings() {
        assert_eq!(
            name(r#"{"name": " Lorel Ipsum "}"#).unwrap().as_str(),
            "Lorel Ipsum"
        );
        assert_eq!(name(r#"{}"#), Err(vec!["name is required".to_owned()]));
        assert_eq!(
            name(r#"{"name": null}"#),
            Err(vec!["name is required".to_owned()])
        );
        assert_eq!(
            name(r#"{"name": 5}"#),
            Err(vec!["name must be a string".to_owned()])
        );
        for blank in [r#"{"name": ""}"#, r#"{"name": " "}"#, r#"{"name": "\t\n"}"#] {
            assert_eq!(name(blank), Err(vec!["name must not be blank".to_owned()]));
        }
        let longest = "x".repeat(UserName::MAX_CHARS);
        assert!(name(&format!(r#"{{"name": "{longest}"}}"#)).is_ok());
        assert_eq!(
            name(&format!(r#"{{"name": "{longest}x"}}"#)),
            Err(vec!["name must be at most 200 characters".to_owned()])
        );
    }

    #[test]
    fn parses_the_listings_query_like_the_listing_service() {
        let all = query("").unwrap();
        assert_eq!(
            (all.page.num(), all.page.size(), all.user_id),
            (1, 10, None)
        );
        let mine = query("page_num=2&page_size=100&user_id=%37").unwrap();
        assert_eq!((mine.page.num(), mine.page.size()), (2, 100));
        assert_eq!(mine.user_id.map(UserId::get), Some(7));
        assert_eq!(
            query("page_num=0&page_size=101&user_id=x"),
            Err(vec![
                "page_num must be at least 1".to_owned(),
                "page_size must be between 1 and 100".to_owned(),
                "user_id must be an integer".to_owned(),
            ])
        );
    }

    #[test]
    fn asks_for_each_user_once() {
        let listings = [listing(5, 2), listing(4, 1), listing(3, 2), listing(2, 3)];
        assert_eq!(distinct_user_ids(&listings), [2, 1, 3]);
        assert!(distinct_user_ids(&[]).is_empty());
    }

    #[test]
    fn joins_listings_with_their_users_or_null() {
        let listings = [listing(2, 1), listing(1, 9)];
        let users = [user(1, "Suresh Subramaniam")];
        let joined = with_users(&listings, &users);
        assert_eq!(
            serde_json::to_value(&joined).unwrap(),
            serde_json::json!([
                {
                    "id": 2, "listing_type": "rent", "price": 6000,
                    "created_at": 1_475_820_997_000_000_i64, "updated_at": 1_475_820_997_000_000_i64,
                    "user": {
                        "id": 1, "name": "Suresh Subramaniam",
                        "created_at": 1_475_820_997_000_000_i64, "updated_at": 1_475_820_997_000_000_i64,
                    },
                },
                {
                    "id": 1, "listing_type": "rent", "price": 6000,
                    "created_at": 1_475_820_997_000_000_i64, "updated_at": 1_475_820_997_000_000_i64,
                    "user": null,
                },
            ])
        );
    }

    #[test]
    fn reads_the_services_answers() {
        let created: CreatedUser = serde_json::from_str(
            r#"{"result": true, "user": {"id": 1, "name": "Lorel Ipsum", "created_at": 1, "updated_at": 1}}"#,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&created).unwrap(),
            r#"{"user":{"id":1,"name":"Lorel Ipsum","created_at":1,"updated_at":1}}"#
        );
        let created: CreatedListing = serde_json::from_str(
            r#"{"result": true, "listing": {"id": 143, "user_id": 1, "listing_type": "sale",
                "price": 6000, "created_at": 1, "updated_at": 1}}"#,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&created).unwrap(),
            r#"{"listing":{"id":143,"user_id":1,"listing_type":"sale","price":6000,"created_at":1,"updated_at":1}}"#
        );
        assert!(
            serde_json::from_str::<Listing>(
                r#"{"id": 1, "user_id": 1, "listing_type": "lease", "price": 1, "created_at": 1, "updated_at": 1}"#
            )
            .is_err()
        );
    }
}
