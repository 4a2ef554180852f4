//! The OpenAPI 3.1 document of the API (`api-model/openapi.json`), kept beside the types it
//! describes and served by the public API at `GET /public-api/openapi.json`. The tests here
//! hold it to this crate's rules where that is cheap; schemathesis (`e2e/tests/schemathesis.rs`)
//! holds the running app to it.

/// The document, as served.
pub const OPENAPI_DOCUMENT: &str = include_str!("../openapi.json");

#[cfg(test)]
mod tests {
    use api_http::{ApiError, FORM, Fields, JSON, JsonObject, MAX_BODY_BYTES, Params};
    use regex::Regex;
    use serde_json::Value;

    use super::OPENAPI_DOCUMENT;
    use crate::{
        IdempotencyKey, Listing, ListingType, ListingsQuery, NewListing, NewUser, Page, User,
        UserId, UserName,
    };

    fn document() -> Value {
        serde_json::from_str(OPENAPI_DOCUMENT).expect("the document is JSON")
    }

    /// The value at `pointer` (`#/components/...`), which must exist.
    fn at<'a>(document: &'a Value, pointer: &str) -> &'a Value {
        let path = pointer.strip_prefix('#').expect("a local reference");
        document.pointer(path).unwrap_or_else(|| panic!("{pointer} is not in the document"))
    }

    /// A schema, its reference followed.
    fn schema<'a>(document: &'a Value, name: &str) -> &'a Value {
        at(document, &format!("#/components/schemas/{name}"))
    }

    /// The one error message of the example of a reusable response.
    fn example_errors(document: &Value, response: &str) -> Vec<String> {
        let example = at(
            document,
            &format!("#/components/responses/{response}/content/application~1json/example"),
        );
        serde_json::from_value(example["errors"].clone()).expect("errors are strings")
    }

    /// The messages of a refused request.
    fn messages(result: Result<impl std::fmt::Debug, ApiError>) -> Vec<String> {
        result.expect_err("refused").errors().to_vec()
    }

    fn every_ref(value: &Value, refs: &mut Vec<String>) {
        match value {
            Value::Object(object) => {
                if let Some(Value::String(reference)) = object.get("$ref") {
                    refs.push(reference.clone());
                }
                object.values().for_each(|value| every_ref(value, refs));
            }
            Value::Array(items) => items.iter().for_each(|value| every_ref(value, refs)),
            _ => {}
        }
    }

    #[test]
    fn is_openapi_3_1_with_every_reference_resolved() {
        let document = document();
        assert_eq!(document["openapi"], "3.1.0");
        let mut refs = Vec::new();
        every_ref(&document, &mut refs);
        assert!(refs.len() > 30, "{refs:?}");
        for reference in refs {
            at(&document, &reference);
        }
    }

    #[test]
    fn every_operation_has_an_id_and_answers_json() {
        let document = document();
        let paths = document["paths"].as_object().expect("paths");
        for (path, operations) in paths {
            for (method, operation) in operations.as_object().expect("operations") {
                assert!(operation["operationId"].is_string(), "{method} {path}");
                let responses = operation["responses"].as_object().expect("responses");
                for (status, response) in responses {
                    let response = match response.get("$ref") {
                        Some(Value::String(reference)) => at(&document, reference),
                        _ => response,
                    };
                    let content = response["content"].as_object().expect("content");
                    assert_eq!(
                        content.keys().collect::<Vec<_>>(),
                        ["application/json"],
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }

    #[test]
    fn paging_is_the_contracts() {
        let document = document();
        let size = at(&document, "#/components/parameters/PageSize/schema");
        assert_eq!(size["maximum"], Page::MAX_SIZE);
        let defaults = ListingsQuery::parse(&Params::parse(b"")).unwrap().page;
        assert_eq!(size["default"], defaults.size());
        let num = at(&document, "#/components/parameters/PageNum/schema");
        assert_eq!(num["default"], defaults.num());
        assert_eq!(
            example_errors(&document, "BadQuery"),
            messages(ListingsQuery::parse(&Params::parse(
                format!("page_num=0&page_size={}&user_id=0", Page::MAX_SIZE + 1).as_bytes()
            )))
        );
    }

    #[test]
    fn ids_prices_and_listing_types_are_the_contracts() {
        let document = document();
        for name in ["Id", "Price"] {
            let integer = schema(&document, name);
            assert_eq!(integer["minimum"], 1, "{name}");
            assert_eq!(integer["maximum"], i64::MAX, "{name}");
        }
        assert!(UserId::new(1).is_ok() && UserId::new(0).is_err());
        let listing_types: Vec<&str> =
            [ListingType::Rent, ListingType::Sale].map(ListingType::as_str).into();
        assert_eq!(schema(&document, "ListingType")["enum"], serde_json::json!(listing_types));
        assert_eq!(
            example_errors(&document, "BadNewListing"),
            messages(NewListing::parse(&Params::parse(b"user_id=1&listing_type=lease&price=0")))
        );
    }

    #[test]
    fn body_limit_and_media_types_are_the_edges() {
        let document = document();
        assert_eq!(
            example_errors(&document, "PayloadTooLarge"),
            ApiError::payload_too_large().errors()
        );
        assert_eq!(MAX_BODY_BYTES, 64 * 1024, "the description says 64 KiB");
        for (response, media_type) in [("FormRequired", FORM), ("JsonRequired", JSON)] {
            assert_eq!(
                example_errors(&document, response),
                ApiError::unsupported_media_type(media_type).errors()
            );
        }
    }

    #[test]
    fn idempotency_keys_are_the_contracts() {
        let document = document();
        let header = at(&document, "#/components/parameters/IdempotencyKey");
        assert_eq!(header["name"], "Idempotency-Key");
        assert_eq!(header["schema"]["maxLength"], IdempotencyKey::MAX_LEN);
        let mut headers = http::HeaderMap::new();
        headers
            .insert(crate::IDEMPOTENCY_KEY, header["example"].as_str().unwrap().parse().unwrap());
        assert!(IdempotencyKey::of(&headers).unwrap().is_some());
        let key = IdempotencyKey::of(&headers).unwrap().unwrap();
        assert_eq!(example_errors(&document, "IdempotencyKeyReused"), key.reused().errors());
        // Every POST takes it, and says what a reused one gets.
        for (path, operations) in document["paths"].as_object().expect("paths") {
            if let Some(post) = operations.get("post") {
                assert_eq!(
                    post["parameters"][0]["$ref"], "#/components/parameters/IdempotencyKey",
                    "{path}"
                );
                assert_eq!(
                    post["responses"]["422"]["$ref"], "#/components/responses/IdempotencyKeyReused",
                    "{path}"
                );
            }
        }
        assert_eq!(
            example_errors(&document, "StorageUnavailable"),
            ApiError::storage("cause").errors()
        );
    }

    /// Whether a request body is a valid `schema` (a `$ref`) as the contract reads it.
    fn check_body(schema: &str, fields: &impl Fields) -> Result<(), ApiError> {
        match schema {
            "#/components/schemas/NewListing" => NewListing::parse(fields).map(drop),
            "#/components/schemas/NewUser" => NewUser::parse(fields).map(drop),
            other => panic!("unknown request body {other}"),
        }
    }

    /// A form of an example's fields (`name=Ann Lee&...`: the parser takes raw spaces).
    fn form_of(example: &Value) -> String {
        let fields: Vec<String> = example
            .as_object()
            .expect("an object")
            .iter()
            .map(|(name, value)| match value {
                Value::String(text) => format!("{name}={text}"),
                other => format!("{name}={other}"),
            })
            .collect();
        fields.join("&")
    }

    /// Each request body example of the document, as its endpoint reads it.
    #[test]
    fn request_examples_are_valid_requests() {
        let document = document();
        let mut seen = Vec::new();
        for operations in document["paths"].as_object().unwrap().values() {
            for operation in operations.as_object().unwrap().values() {
                let Some(content) = operation["requestBody"]["content"].as_object() else {
                    continue;
                };
                for (media_type, body) in content {
                    let schema = body["schema"]["$ref"].as_str().expect("a schema $ref");
                    let example = &body["example"];
                    let valid = match media_type.as_str() {
                        JSON => {
                            let json = example.to_string();
                            check_body(schema, &JsonObject::parse(json.as_bytes()).unwrap())
                        }
                        FORM => check_body(schema, &Params::parse(form_of(example).as_bytes())),
                        other => panic!("unexpected media type {other}"),
                    };
                    assert_eq!(valid, Ok(()), "{example}");
                    seen.push(media_type.as_str());
                }
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, [JSON, JSON, FORM, FORM]);
    }

    /// The answers' schemas list exactly the fields the types write, all required.
    #[test]
    fn answer_schemas_are_the_answer_types() {
        let document = document();
        let listing = Listing {
            id: 1,
            user_id: 1,
            listing_type: ListingType::Rent,
            price: 1,
            created_at: 1,
            updated_at: 1,
        };
        let user = User { id: 1, name: "Ann".into(), created_at: 1, updated_at: 1 };
        for (name, written) in [
            ("Listing", serde_json::to_value(listing).unwrap()),
            ("User", serde_json::to_value(user).unwrap()),
        ] {
            let schema = schema(&document, name);
            let mut fields: Vec<&String> = written.as_object().unwrap().keys().collect();
            let mut required: Vec<&str> = schema["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|field| field.as_str().unwrap())
                .collect();
            let mut properties: Vec<&String> =
                schema["properties"].as_object().unwrap().keys().collect();
            fields.sort();
            required.sort_unstable();
            properties.sort();
            assert_eq!(fields, required, "{name}");
            assert_eq!(fields, properties, "{name}");
            assert_eq!(schema["additionalProperties"], false, "{name}");
        }
        assert_eq!(
            schema(&document, "User")["properties"]["name"]["maxLength"],
            UserName::MAX_CHARS
        );
    }

    /// The `name` pattern of a new user, as a regex (the `regex` crate reads the document's
    /// escapes as JSON Schema's ECMA-262 and schemathesis's Python do).
    fn name_pattern() -> Regex {
        let document = document();
        let pattern = schema(&document, "NewUser")["properties"]["name"]["pattern"]
            .as_str()
            .expect("a pattern");
        Regex::new(pattern).expect("a regex")
    }

    /// The pattern accepts a name exactly when the contract does.
    fn assert_agrees(pattern: &Regex, name: &str) {
        assert_eq!(
            pattern.is_match(name),
            UserName::new(name).is_ok(),
            "{name:?} ({} characters)",
            name.chars().count()
        );
    }

    #[test]
    fn the_name_pattern_trims_what_the_contract_trims() {
        let pattern = name_pattern();
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            assert_agrees(&pattern, &c.to_string());
            if c.is_whitespace() {
                assert_agrees(&pattern, &format!("{c}a{c}b{c}"));
            }
        }
    }

    #[test]
    fn the_name_pattern_counts_characters_as_the_contract_does() {
        let pattern = name_pattern();
        let max = UserName::MAX_CHARS;
        for length in [1, 2, max - 1, max, max + 1, 2 * max] {
            for body in ["x".repeat(length), "é".repeat(length), "😀".repeat(length)] {
                for padding in ["", " ", "\t\n", "\u{3000}"] {
                    assert_agrees(&pattern, &format!("{padding}{body}{padding}"));
                }
                let spaced = format!("x{}x", " ".repeat(length.saturating_sub(2)));
                assert_agrees(&pattern, &spaced);
            }
        }
        for blank in ["", " ", "\u{85}\u{a0}", "\n"] {
            assert_agrees(&pattern, blank);
        }
    }
}
