//! The public API's own values: the listing with its user that `GET /public-api/listings`
//! answers. Everything else it reads and answers (requests, listings, users) is the contract
//! it shares with the services, in `api-model`.

use std::collections::HashMap;

use api_model::{Listing, ListingType, User};
use serde::Serialize;

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
    use super::*;

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
}
