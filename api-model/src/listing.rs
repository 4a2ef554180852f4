//! The listing service's contract: `GET /listings` and `POST /listings`, which the public API
//! mirrors as `GET /public-api/listings` and `POST /public-api/listings`.

use api_http::{ApiError, FieldErrors, Fields};
use serde::{Deserialize, Serialize};

use crate::{Page, UserId};

/// What a listing offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Price(i64);

impl Price {
    pub fn new(value: i64) -> Result<Self, String> {
        if value > 0 { Ok(Self(value)) } else { Err("price must be greater than 0".to_owned()) }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// `GET /listings` and `GET /public-api/listings` (query string): which page, optionally of
/// one user's listings only.
#[derive(Debug, PartialEq, Eq)]
pub struct ListingsQuery {
    pub page: Page,
    pub user_id: Option<UserId>,
}

impl ListingsQuery {
    pub fn parse(query: &impl Fields) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let page = Page::parse(query, &mut errors);
        let user_id = errors
            .check(query.optional_int("user_id").and_then(|id| id.map(UserId::new).transpose()));
        errors.finish(page.zip(user_id).map(|(page, user_id)| Self { page, user_id }))
    }

    /// The query string of `GET /listings`, as the public API sends it.
    pub fn query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("page_num", &self.page.num().to_string())
            .append_pair("page_size", &self.page.size().to_string());
        if let Some(user_id) = self.user_id {
            query.append_pair("user_id", &user_id.get().to_string());
        }
        query.finish()
    }
}

/// A listing to store: the form of `POST /listings`, or the JSON body of
/// `POST /public-api/listings` (`{"user_id": 1, "listing_type": "rent", "price": 6000}`),
/// which is also how a client such as the seed tool writes it.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct NewListing {
    pub user_id: UserId,
    pub listing_type: ListingType,
    pub price: Price,
}

impl NewListing {
    pub fn parse(fields: &impl Fields) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let user_id = errors.check(fields.int("user_id").and_then(UserId::new));
        let listing_type = errors.check(fields.text("listing_type").and_then(ListingType::parse));
        let price = errors.check(fields.int("price").and_then(Price::new));
        errors.finish(match (user_id, listing_type, price) {
            (Some(user_id), Some(listing_type), Some(price)) => {
                Some(Self { user_id, listing_type, price })
            }
            _ => None,
        })
    }

    /// The form of `POST /listings`, as the public API sends it.
    pub fn form(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("user_id", &self.user_id.get().to_string())
            .append_pair("listing_type", self.listing_type.as_str())
            .append_pair("price", &self.price.get().to_string())
            .finish()
    }

    /// Whether `listing` is what this request stores (so a retry of it may be answered with it).
    pub fn is_stored_as(&self, listing: &Listing) -> bool {
        listing.user_id == self.user_id.get()
            && listing.listing_type == self.listing_type
            && listing.price == self.price.get()
    }
}

/// A listing as the listing service answers it (and the public API reads it); timestamps in
/// microseconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    use crate::test_support::{from_form, from_json};

    /// As the listing service reads it: a form.
    fn new_listing(form: &str) -> Result<NewListing, Vec<String>> {
        from_form(form, NewListing::parse)
    }

    /// As the public API reads it: a JSON body.
    fn json_new_listing(body: &str) -> Result<NewListing, Vec<String>> {
        from_json(body, NewListing::parse)
    }

    /// As both read it: a query string.
    fn query(query: &str) -> Result<ListingsQuery, Vec<String>> {
        from_form(query, ListingsQuery::parse)
    }

    #[test]
    fn parses_a_new_listing() {
        let listing = new_listing("user_id=1&listing_type=rent&price=6000").unwrap();
        assert_eq!(listing.user_id.get(), 1);
        assert_eq!(listing.listing_type, ListingType::Rent);
        assert_eq!(listing.price.get(), 6000);
        let sale = new_listing("price=1&listing_type=sale&user_id=2").unwrap();
        assert_eq!(sale.listing_type, ListingType::Sale);
        assert_eq!(
            json_new_listing(r#"{"user_id": 1, "listing_type": "rent", "price": 6000}"#).unwrap(),
            listing
        );
    }

    #[test]
    fn forms_and_queries_read_back_as_what_wrote_them() {
        let listing =
            json_new_listing(r#"{"user_id": 7, "listing_type": "sale", "price": 6e3}"#).unwrap();
        assert_eq!(listing.form(), "user_id=7&listing_type=sale&price=6000");
        assert_eq!(new_listing(&listing.form()), Ok(listing));
        for written in ["page_num=2&page_size=50", "page_num=1&page_size=10&user_id=3"] {
            assert_eq!(query(written).unwrap().query(), written);
        }
        // A whole number is an integer in a form as in JSON.
        assert_eq!(
            new_listing("user_id=1.0&listing_type=rent&price=6e3"),
            new_listing("user_id=1&listing_type=rent&price=6000")
        );
    }

    #[test]
    fn a_stored_listing_is_what_its_request_asked_for() {
        let new = new_listing("user_id=7&listing_type=sale&price=6000").unwrap();
        let stored = Listing {
            id: 1,
            user_id: 7,
            listing_type: ListingType::Sale,
            price: 6000,
            created_at: 1,
            updated_at: 1,
        };
        assert!(new.is_stored_as(&stored));
        assert!(!new.is_stored_as(&Listing { price: 6001, ..stored.clone() }));
        assert!(!new.is_stored_as(&Listing { user_id: 8, ..stored.clone() }));
        let rent = Listing { listing_type: ListingType::Rent, ..stored };
        assert!(!new.is_stored_as(&rent));
    }

    #[test]
    fn price_boundaries() {
        let max = new_listing("user_id=1&listing_type=rent&price=9223372036854775807").unwrap();
        assert_eq!(max.price.get(), i64::MAX);
        let max = json_new_listing(
            r#"{"user_id": 2, "listing_type": "sale", "price": 9223372036854775807}"#,
        )
        .unwrap();
        assert_eq!((max.listing_type, max.price.get()), (ListingType::Sale, i64::MAX));
        assert_eq!(new_listing("user_id=1&listing_type=rent&price=1").unwrap().price.get(), 1);
        for (price, message) in [
            ("0", "price must be greater than 0"),
            ("-5", "price must be greater than 0"),
            ("9223372036854775808", "price must be at most 9223372036854775807"),
            ("12.5", "price must be an integer"),
            ("abc", "price must be an integer"),
        ] {
            assert_eq!(
                new_listing(&format!("user_id=1&listing_type=rent&price={price}")),
                Err(vec![message.to_owned()]),
                "price={price}"
            );
        }
        assert_eq!(
            json_new_listing(
                r#"{"user_id": 1, "listing_type": "rent", "price": 9223372036854775808}"#
            ),
            Err(vec!["price must be at most 9223372036854775807".to_owned()])
        );
        assert_eq!(
            json_new_listing(r#"{"user_id": 1, "listing_type": "rent", "price": -1}"#),
            Err(vec!["price must be greater than 0".to_owned()])
        );
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
        assert_eq!(new_listing("user_id=&listing_type=&price="), Err(every_field_missing.clone()));
        assert_eq!(json_new_listing("{}"), Err(every_field_missing));
    }

    #[test]
    fn reports_every_bad_field() {
        assert_eq!(
            new_listing("user_id=x&listing_type=flat&price=0"),
            Err(vec![
                "user_id must be an integer".to_owned(),
                "listing_type must be 'rent' or 'sale'".to_owned(),
                "price must be greater than 0".to_owned(),
            ])
        );
        assert_eq!(
            json_new_listing(r#"{"user_id": "1", "listing_type": 1, "price": 60.5}"#),
            Err(vec![
                "user_id must be an integer".to_owned(),
                "listing_type must be a string".to_owned(),
                "price must be an integer".to_owned(),
            ])
        );
        assert_eq!(
            json_new_listing(r#"{"user_id": 0, "listing_type": "buy", "price": 0}"#),
            Err(vec![
                "user_id must be a positive integer".to_owned(),
                "listing_type must be 'rent' or 'sale'".to_owned(),
                "price must be greater than 0".to_owned(),
            ])
        );
    }

    #[test]
    fn a_json_new_listing_must_be_a_json_object() {
        assert_eq!(
            json_new_listing("user_id=1"),
            Err(vec!["request body must be valid JSON".to_owned()])
        );
        assert_eq!(
            json_new_listing("[]"),
            Err(vec!["request body must be a JSON object".to_owned()])
        );
    }

    #[test]
    fn parses_the_listings_query() {
        let all = query("").unwrap();
        assert_eq!((all.page.num(), all.page.size(), all.user_id), (1, 10, None));
        // `%37` is a percent-encoded 7.
        for user_id in ["7", "%37"] {
            let mine = query(&format!("page_num=2&page_size=100&user_id={user_id}")).unwrap();
            assert_eq!((mine.page.num(), mine.page.size()), (2, 100));
            assert_eq!(mine.user_id.map(UserId::get), Some(7), "user_id={user_id}");
        }
        assert_eq!(query("user_id=").unwrap().user_id, None);
    }

    #[test]
    fn reports_every_bad_query_parameter() {
        for user_id in ["abc", "x"] {
            assert_eq!(
                query(&format!("page_num=0&page_size=101&user_id={user_id}")),
                Err(vec![
                    "page_num must be at least 1".to_owned(),
                    "page_size must be between 1 and 100".to_owned(),
                    "user_id must be an integer".to_owned(),
                ]),
                "user_id={user_id}"
            );
        }
        assert_eq!(query("user_id=-1"), Err(vec!["user_id must be a positive integer".to_owned()]));
    }

    #[test]
    fn a_new_listing_is_written_as_it_is_read() {
        let listing =
            json_new_listing(r#"{"user_id": 1, "listing_type": "rent", "price": 6000}"#).unwrap();
        let text = serde_json::to_string(&listing).unwrap();
        assert_eq!(text, r#"{"user_id":1,"listing_type":"rent","price":6000}"#);
        assert_eq!(json_new_listing(&text), Ok(listing));
    }

    #[test]
    fn listing_type_round_trips() {
        for listing_type in [ListingType::Rent, ListingType::Sale] {
            assert_eq!(ListingType::parse(listing_type.as_str()), Ok(listing_type));
        }
    }

    #[test]
    fn a_listing_is_shown_and_read_as_the_api_gives_it() {
        let listing = Listing {
            id: 1,
            user_id: 2,
            listing_type: ListingType::Sale,
            price: 6000,
            created_at: 1_475_820_997_000_000,
            updated_at: 1_475_820_997_000_000,
        };
        let text = r#"{"id":1,"user_id":2,"listing_type":"sale","price":6000,"created_at":1475820997000000,"updated_at":1475820997000000}"#;
        assert_eq!(serde_json::to_string(&listing).unwrap(), text);
        assert_eq!(serde_json::from_str::<Listing>(text).unwrap(), listing);
    }
}
