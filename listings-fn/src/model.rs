//! The listing service's values, parsed once at the edge: past here they are valid.

use api_common::{ApiError, FieldErrors, Fields, Page};
use serde::Serialize;

/// What a listing offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

/// The id of a user (the user service's; ids start at 1).
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

/// `GET /listings`: which page, optionally of one user's listings only.
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

/// `POST /listings`: a listing to store.
#[derive(Debug, PartialEq, Eq)]
pub struct NewListing {
    pub user_id: UserId,
    pub listing_type: ListingType,
    pub price: Price,
}

impl NewListing {
    pub fn parse(form: &impl Fields) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let user_id = errors.check(form.int("user_id").and_then(UserId::new));
        let listing_type = errors.check(form.text("listing_type").and_then(ListingType::parse));
        let price = errors.check(form.int("price").and_then(Price::new));
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
    use api_common::Params;
    use http::StatusCode;

    use super::*;

    fn new_listing(form: &str) -> Result<NewListing, Vec<String>> {
        NewListing::parse(&Params::parse(form.as_bytes())).map_err(|error| {
            assert_eq!(error.status(), StatusCode::BAD_REQUEST);
            error.errors().to_vec()
        })
    }

    fn query(query: &str) -> Result<ListingsQuery, Vec<String>> {
        ListingsQuery::parse(&Params::parse(query.as_bytes())).map_err(|error| {
            assert_eq!(error.status(), StatusCode::BAD_REQUEST);
            error.errors().to_vec()
        })
    }

    #[test]
    fn parses_a_new_listing() {
        let listing = new_listing("user_id=1&listing_type=rent&price=6000").unwrap();
        assert_eq!(listing.user_id.get(), 1);
        assert_eq!(listing.listing_type, ListingType::Rent);
        assert_eq!(listing.price.get(), 6000);
        let sale = new_listing("price=1&listing_type=sale&user_id=2").unwrap();
        assert_eq!(sale.listing_type, ListingType::Sale);
    }

    #[test]
    fn price_boundaries() {
        let max = new_listing("user_id=1&listing_type=rent&price=9223372036854775807").unwrap();
        assert_eq!(max.price.get(), i64::MAX);
        assert_eq!(
            new_listing("user_id=1&listing_type=rent&price=1")
                .unwrap()
                .price
                .get(),
            1
        );
        for (price, message) in [
            ("0", "price must be greater than 0"),
            ("-5", "price must be greater than 0"),
            (
                "9223372036854775808",
                "price must be at most 9223372036854775807",
            ),
            ("12.5", "price must be an integer"),
            ("abc", "price must be an integer"),
        ] {
            assert_eq!(
                new_listing(&format!("user_id=1&listing_type=rent&price={price}")),
                Err(vec![message.to_owned()]),
                "price={price}"
            );
        }
    }

    #[test]
    fn listing_type_must_be_rent_or_sale() {
        for listing_type in ["buy", "Rent", "rent%20", "%20sale"] {
            assert_eq!(
                new_listing(&format!("user_id=1&price=1&listing_type={listing_type}")),
                Err(vec!["listing_type must be 'rent' or 'sale'".to_owned()])
            );
        }
    }

    #[test]
    fn user_id_must_be_a_positive_integer() {
        assert_eq!(
            new_listing("user_id=0&listing_type=rent&price=1"),
            Err(vec!["user_id must be a positive integer".to_owned()])
        );
        assert_eq!(
            new_listing("user_id=one&listing_type=rent&price=1"),
            Err(vec!["user_id must be an integer".to_owned()])
        );
    }

    #[test]
    fn reports_every_missing_field() {
        let every_field_missing = vec![
            "user_id is required".to_owned(),
            "listing_type is required".to_owned(),
            "price is required".to_owned(),
        ];
        assert_eq!(new_listing(""), Err(every_field_missing.clone()));
        assert_eq!(
            new_listing("user_id=&listing_type=&price="),
            Err(every_field_missing)
        );
        assert_eq!(
            new_listing("user_id=x&listing_type=flat&price=0"),
            Err(vec![
                "user_id must be an integer".to_owned(),
                "listing_type must be 'rent' or 'sale'".to_owned(),
                "price must be greater than 0".to_owned(),
            ])
        );
    }

    #[test]
    fn parses_the_listings_query() {
        let all = query("").unwrap();
        assert_eq!(
            (all.page.num(), all.page.size(), all.user_id),
            (1, 10, None)
        );
        let mine = query("page_num=2&page_size=100&user_id=7").unwrap();
        assert_eq!((mine.page.num(), mine.page.size()), (2, 100));
        assert_eq!(mine.user_id.map(UserId::get), Some(7));
        assert_eq!(query("user_id=").unwrap().user_id, None);
    }

    #[test]
    fn reports_every_bad_query_parameter() {
        assert_eq!(
            query("page_num=0&page_size=101&user_id=abc"),
            Err(vec![
                "page_num must be at least 1".to_owned(),
                "page_size must be between 1 and 100".to_owned(),
                "user_id must be an integer".to_owned(),
            ])
        );
        assert_eq!(
            query("user_id=-1"),
            Err(vec!["user_id must be a positive integer".to_owned()])
        );
    }

    #[test]
    fn listing_type_round_trips() {
        for listing_type in [ListingType::Rent, ListingType::Sale] {
            assert_eq!(ListingType::parse(listing_type.as_str()), Ok(listing_type));
        }
    }

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
