//! The listing service's own values: the stored listing. What it parses at the edge
//! (`ListingsQuery`, `NewListing`, `ListingType`, ...), alike with the public API, is their
//! shared contract, in `api-model`; past the edge those values are valid.

use api_model::ListingType;
use serde::Serialize;

/// A stored listing as the API shows it; timestamps in microseconds since the epoch.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Listing {
    pub id: i64,
    pub user_id: i64,
    pub listing_type: ListingType,
    pub price: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_a_listing_as_the_api_shows_it() {
        let listing = Listing {
            id: 1,
            user_id: 2,
            listing_type: ListingType::Sale,
            price: 6000,
            created_at: 1_475_820_997_000_000,
            updated_at: 1_475_820_997_000_000,
        };
        assert_eq!(
            serde_json::to_string(&listing).unwrap(),
            r#"{"id":1,"user_id":2,"listing_type":"sale","price":6000,"created_at":1475820997000000,"updated_at":1475820997000000}"#
        );
    }
}
