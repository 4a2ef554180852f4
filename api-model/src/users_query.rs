//! The query of `GET /users`: a page of all users, or the users of given ids (`?ids=3,1,2`),
//! which the public API writes to fetch a page's users in one call.

use api_http::{ApiError, FieldErrors, Fields, integer_of_text};

use crate::{Listing, Page};

/// The ids of `GET /users?ids=1,2,3`: at most [`UserIds::MAX`] given, kept distinct in the
/// order first given.
#[derive(Debug, PartialEq, Eq)]
pub struct UserIds(Vec<i64>);

impl UserIds {
    pub const MAX: usize = Page::MAX_SIZE as usize;

    /// The users of a page of listings, each once, in order of first appearance (a page holds
    /// at most [`Page::MAX_SIZE`] listings, so at most [`UserIds::MAX`] users).
    pub fn of_listings(listings: &[Listing]) -> Self {
        let mut ids = Vec::with_capacity(listings.len());
        for listing in listings {
            if !ids.contains(&listing.user_id) {
                ids.push(listing.user_id);
            }
        }
        Self(ids)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The query string that asks for them: `ids=3,1,2`.
    pub fn query(&self) -> String {
        let items: Vec<String> = self.0.iter().map(i64::to_string).collect();
        format!("ids={}", items.join(","))
    }

    pub fn parse(list: &str) -> Result<Self, String> {
        let mut ids = Vec::new();
        for (given, item) in list.split(',').enumerate() {
            // Checked as we go, so a huge list costs no more than a hundred-and-one items.
            if given == Self::MAX {
                return Err(format!("ids must list at most {} ids", Self::MAX));
            }
            match integer_of_text(item.trim()) {
                Ok(id) if id > 0 => {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                _ => return Err("ids must be a comma-separated list of positive integers".into()),
            }
        }
        Ok(Self(ids))
    }

    pub fn as_slice(&self) -> &[i64] {
        &self.0
    }
}

/// `GET /users`: a page of all users, or the users of given ids (paging then unused, but
/// checked all the same: one rule for a parameter whatever the others say).
#[derive(Debug, PartialEq, Eq)]
pub enum UsersQuery {
    Page(Page),
    Ids(UserIds),
}

impl UsersQuery {
    pub fn parse(query: &impl Fields) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let page = Page::parse(query, &mut errors);
        let query = match errors.check(query.optional_text("ids")) {
            Some(Some(ids)) => errors.check(UserIds::parse(ids)).map(Self::Ids),
            Some(None) => page.map(Self::Page),
            None => None,
        };
        errors.finish(query)
    }
}

#[cfg(test)]
mod tests {
    use api_http::Params;
    use http::StatusCode;

    use crate::ListingType;

    use super::*;

    fn messages(error: ApiError) -> Vec<String> {
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        error.errors().to_vec()
    }

    fn query(query: &str) -> Result<UsersQuery, Vec<String>> {
        UsersQuery::parse(&Params::parse(query.as_bytes())).map_err(messages)
    }

    #[test]
    fn the_users_query_pages_by_default() {
        let Ok(UsersQuery::Page(page)) = query("") else { panic!("not a page") };
        assert_eq!((page.num(), page.size()), (1, 10));
        assert_eq!(
            query("page_size=101"),
            Err(vec!["page_size must be between 1 and 100".to_owned()])
        );
        // An empty ids parameter is no ids parameter.
        assert!(matches!(query("ids="), Ok(UsersQuery::Page(_))));
    }

    #[test]
    fn ids_are_distinct_in_the_order_given() {
        let Ok(UsersQuery::Ids(ids)) = query("ids=3,1,+2,3,1") else { panic!("not ids") };
        assert_eq!(ids, UserIds(vec![3, 1, 2]));
        assert_eq!(ids.query(), "ids=3,1,2");
        // As the public API writes them, they read back.
        assert!(matches!(query(&ids.query()), Ok(UsersQuery::Ids(read)) if read == ids));
        // Whole numbers are integers, as everywhere in the API.
        assert!(
            matches!(query("ids=2.0,6e0"), Ok(UsersQuery::Ids(UserIds(read))) if read == [2, 6])
        );
        assert!(matches!(query("ids=1%2C2&page_size=100"), Ok(UsersQuery::Ids(_))));
        // Paging is not used with ids, but a bad page is still an error.
        assert_eq!(
            query("ids=1&page_size=1000&page_num=0"),
            Err(vec![
                "page_num must be at least 1".to_owned(),
                "page_size must be between 1 and 100".to_owned()
            ])
        );
    }

    #[test]
    fn ids_must_be_positive_integers() {
        for bad in [
            "ids=a",
            "ids=1,,2",
            "ids=1,",
            "ids=0",
            "ids=-4",
            "ids=1.5",
            "ids=99999999999999999999",
        ] {
            assert_eq!(
                query(bad),
                Err(vec!["ids must be a comma-separated list of positive integers".to_owned()]),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_page_of_listings_asks_for_each_user_once() {
        let listing = |id, user_id| Listing {
            id,
            user_id,
            listing_type: ListingType::Rent,
            price: 6000,
            created_at: 1_475_820_997_000_000,
            updated_at: 1_475_820_997_000_000,
        };
        let listings = [listing(5, 2), listing(4, 1), listing(3, 2), listing(2, 3)];
        assert_eq!(UserIds::of_listings(&listings), UserIds(vec![2, 1, 3]));
        assert!(UserIds::of_listings(&[]).is_empty());
    }

    #[test]
    fn at_most_a_hundred_ids() {
        let hundred: Vec<String> = (1..=100).map(|id| id.to_string()).collect();
        let Ok(UsersQuery::Ids(ids)) = query(&format!("ids={}", hundred.join(","))) else {
            panic!("100 ids refused")
        };
        assert_eq!(ids.0.len(), 100);
        let too_many = Err(vec!["ids must list at most 100 ids".to_owned()]);
        assert_eq!(query(&format!("ids={},101", hundred.join(","))), too_many);
        // Repeated ids count as given, as the document's `maxItems` counts them.
        assert_eq!(query(&format!("ids={}", ["7"; 101].join(","))), too_many);
    }

    #[test]
    fn the_openapi_document_has_this_limit() {
        let document: serde_json::Value = serde_json::from_str(crate::OPENAPI_DOCUMENT).unwrap();
        let parameters = document["paths"]["/users"]["get"]["parameters"].as_array().unwrap();
        let ids = parameters.iter().find(|p| p["name"] == "ids").unwrap();
        assert_eq!(ids["schema"]["maxItems"], UserIds::MAX);
    }
}
