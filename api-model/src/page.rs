//! Paging, as every list of the API reads it: `GET /listings`, `GET /users` and
//! `GET /public-api/listings`.

use api_http::{FieldErrors, Fields};

/// Which page of a newest-first list: `page_num` (default 1, at least 1) and `page_size`
/// (default 10, 1 to 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    num: i64,
    size: i64,
}

impl Page {
    pub const MAX_SIZE: i64 = 100;
    const DEFAULT_SIZE: i64 = 10;

    pub fn parse(fields: &impl Fields, errors: &mut FieldErrors) -> Option<Self> {
        let num =
            errors.check(fields.optional_int("page_num").and_then(|num| match num.unwrap_or(1) {
                num if num >= 1 => Ok(num),
                _ => Err("page_num must be at least 1".to_owned()),
            }));
        let size = errors.check(fields.optional_int("page_size").and_then(|size| {
            match size.unwrap_or(Self::DEFAULT_SIZE) {
                size if (1..=Self::MAX_SIZE).contains(&size) => Ok(size),
                _ => Err(format!("page_size must be between 1 and {}", Self::MAX_SIZE)),
            }
        }));
        Some(Self { num: num?, size: size? })
    }

    pub fn num(self) -> i64 {
        self.num
    }

    pub fn size(self) -> i64 {
        self.size
    }

    /// Rows to skip; `None` when the page lies beyond any possible row (the product
    /// overflows i64), so the caller can answer an empty page without asking the store.
    pub fn offset(self) -> Option<i64> {
        (self.num - 1).checked_mul(self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::from_form;

    /// Paging alone, as a whole request.
    fn page(query: &str) -> Result<Page, Vec<String>> {
        from_form(query, |fields| {
            let mut errors = FieldErrors::default();
            let page = Page::parse(fields, &mut errors);
            errors.finish(page)
        })
    }

    fn page_errors(query: &str) -> Vec<String> {
        page(query).unwrap_err()
    }

    #[test]
    fn paging_defaults_to_the_first_ten() {
        let first = page("").unwrap();
        assert_eq!((first.num(), first.size(), first.offset()), (1, 10, Some(0)));
        // Empty values count as absent.
        assert_eq!(page("page_num=&page_size=").unwrap(), first);
    }

    #[test]
    fn paging_accepts_its_boundaries() {
        let page_100 = page("page_num=3&page_size=100").unwrap();
        assert_eq!((page_100.num(), page_100.size()), (3, 100));
        assert_eq!(page_100.offset(), Some(200));
        assert_eq!(page("page_size=1").unwrap().size(), 1);
    }

    #[test]
    fn paging_refuses_out_of_range_values_naming_the_field() {
        assert_eq!(page_errors("page_size=101"), ["page_size must be between 1 and 100"]);
        assert_eq!(page_errors("page_size=0"), ["page_size must be between 1 and 100"]);
        assert_eq!(page_errors("page_num=0"), ["page_num must be at least 1"]);
        assert_eq!(page_errors("page_num=-3"), ["page_num must be at least 1"]);
    }

    #[test]
    fn paging_reports_both_fields_at_once() {
        assert_eq!(
            page_errors("page_num=x&page_size=1.5"),
            ["page_num must be an integer", "page_size must be an integer"]
        );
    }

    #[test]
    fn a_page_beyond_any_row_has_no_offset() {
        let far = page(&format!("page_num={}&page_size=100", i64::MAX)).unwrap();
        assert_eq!(far.offset(), None);
    }
}
