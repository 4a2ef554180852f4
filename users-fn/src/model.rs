//! The user service's own values: the query of `GET /users`, parsed once at the edge (past
//! here it is valid). What it shares with the public API (`UserId`, `NewUser`, the `User` it
//! answers, paging) is their contract, in `api-model`.

use api_http::{ApiError, FieldErrors, Fields};
use api_model::Page;

/// The ids of `GET /users?ids=1,2,3`: 1 to 100 given, kept distinct in the order first given.
#[derive(Debug, PartialEq, Eq)]
pub struct UserIds(Vec<i64>);

impl UserIds {
    pub const MAX: usize = Page::MAX_SIZE as usize;

    pub fn parse(list: &str) -> Result<Self, String> {
        let mut ids = Vec::new();
        for (given, item) in list.split(',').enumerate() {
            // Checked as we go, so a huge list costs no more than a hundred-and-one items.
            if given == Self::MAX {
                return Err(format!("ids must list at most {} ids", Self::MAX));
            }
            match item.trim().parse::<i64>() {
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

    /// As a JSON array, the one parameter of the batch query.
    pub fn to_json_array(&self) -> String {
        let items: Vec<String> = self.0.iter().map(i64::to_string).collect();
        format!("[{}]", items.join(","))
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
        let Ok(UsersQuery::Page(page)) = query("") else {
            panic!("not a page")
        };
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
        let Ok(UsersQuery::Ids(ids)) = query("ids=3,1,+2,3,1") else {
            panic!("not ids")
        };
        assert_eq!(ids, UserIds(vec![3, 1, 2]));
        assert_eq!(ids.to_json_array(), "[3,1,2]");
        assert!(matches!(
            query("ids=1%2C2&page_size=100"),
            Ok(UsersQuery::Ids(_))
        ));
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
            "ids=1.0",
            "ids=99999999999999999999",
        ] {
            assert_eq!(
                query(bad),
                Err(vec![
                    "ids must be a comma-separated list of positive integers".to_owned()
                ]),
                "{bad}"
            );
        }
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
        let document: serde_json::Value =
            serde_json::from_str(api_model::OPENAPI_DOCUMENT).unwrap();
        let parameters = document["paths"]["/users"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let ids = parameters.iter().find(|p| p["name"] == "ids").unwrap();
        assert_eq!(ids["schema"]["maxItems"], UserIds::MAX);
    }
}
