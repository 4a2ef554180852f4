//! The user service's contract: the user ids of `GET /users/{id}` and of listings, and the
//! new user of `POST /users`, which the public API mirrors as `POST /public-api/users`.

use api_http::{ApiError, FieldErrors, Fields, integer_of_text};
use serde::{Deserialize, Serialize};

/// The id of a user (the user service's; ids start at 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UserId(i64);

impl UserId {
    /// A `user_id` field.
    pub fn new(value: i64) -> Result<Self, String> {
        if value > 0 {
            Ok(Self(value))
        } else {
            Err("user_id must be a positive integer".to_owned())
        }
    }

    /// The `{id}` of `/users/{id}`.
    pub fn from_path(segment: &str) -> Result<Self, ApiError> {
        match integer_of_text(segment) {
            Ok(id) if id > 0 => Ok(Self(id)),
            _ => Err(ApiError::bad_request("user id must be a positive integer")),
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A user's full name: trimmed, not empty, at most [`UserName::MAX_CHARS`] characters.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct UserName(String);

impl UserName {
    pub const MAX_CHARS: usize = 200;

    /// A `name` field.
    pub fn new(name: &str) -> Result<Self, String> {
        let name = name.trim();
        if name.is_empty() {
            Err("name must not be blank".to_owned())
        } else if name.chars().count() > Self::MAX_CHARS {
            Err(format!("name must be at most {} characters", Self::MAX_CHARS))
        } else {
            Ok(Self(name.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A user to store: the form of `POST /users`, or the JSON body of `POST /public-api/users`
/// (`{"name": "..."}`), which is also how a client such as the seed tool writes it.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct NewUser {
    pub name: UserName,
}

impl NewUser {
    pub fn parse(fields: &impl Fields) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let name = errors.check(fields.text("name").and_then(UserName::new));
        errors.finish(name.map(|name| Self { name }))
    }

    /// The form of `POST /users`, as the public API sends it.
    pub fn form(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("name", self.name.as_str())
            .finish()
    }

    /// Whether `user` is what this request stores (so a retry of it may be answered with it).
    pub fn is_stored_as(&self, user: &User) -> bool {
        user.name == self.name.as_str()
    }
}

/// A user as the user service answers it (and the public API reads it); timestamps in
/// microseconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{from_form, from_json, messages};

    /// The name of a new user as the user service reads it: a form.
    fn name(form: &str) -> Result<UserName, Vec<String>> {
        from_form(form, NewUser::parse).map(|new| new.name)
    }

    /// The name of a new user as the public API reads it: a JSON body.
    fn json_name(body: &str) -> Result<UserName, Vec<String>> {
        from_json(body, NewUser::parse).map(|new| new.name)
    }

    #[test]
    fn names_are_trimmed_and_decoded() {
        assert_eq!(name("name=Ann").unwrap().into_string(), "Ann");
        assert_eq!(
            name("name=+Suresh%20Subramaniam%09").unwrap().into_string(),
            "Suresh Subramaniam"
        );
        assert_eq!(name("name=Zo%C3%AB+%26+co").unwrap().into_string(), "Zoë & co");
        assert_eq!(json_name(r#"{"name": " Lorel Ipsum "}"#).unwrap().as_str(), "Lorel Ipsum");
    }

    #[test]
    fn names_must_not_be_missing_or_blank() {
        assert_eq!(name(""), Err(vec!["name is required".to_owned()]));
        assert_eq!(name("name="), Err(vec!["name is required".to_owned()]));
        for blank in ["name=+", "name=%20", "name=%20%09%0A"] {
            assert_eq!(name(blank), Err(vec!["name must not be blank".to_owned()]));
        }
        for missing in [r#"{}"#, r#"{"name": null}"#] {
            assert_eq!(json_name(missing), Err(vec!["name is required".to_owned()]));
        }
        for blank in [r#"{"name": ""}"#, r#"{"name": " "}"#, r#"{"name": "\t\n"}"#] {
            assert_eq!(json_name(blank), Err(vec!["name must not be blank".to_owned()]));
        }
    }

    #[test]
    fn a_json_name_must_be_a_string() {
        assert_eq!(json_name(r#"{"name": 5}"#), Err(vec!["name must be a string".to_owned()]));
    }

    #[test]
    fn names_have_a_maximum_length_in_characters() {
        let longest = "é".repeat(UserName::MAX_CHARS);
        assert_eq!(name(&format!("name={longest}")).unwrap().into_string(), longest);
        assert_eq!(
            name(&format!("name={longest}e")),
            Err(vec!["name must be at most 200 characters".to_owned()])
        );
        // Surrounding blanks do not count.
        assert!(name(&format!("name=++{longest}++")).is_ok());
        let longest = "x".repeat(UserName::MAX_CHARS);
        assert!(json_name(&format!(r#"{{"name": "{longest}"}}"#)).is_ok());
        assert_eq!(
            json_name(&format!(r#"{{"name": "{longest}x"}}"#)),
            Err(vec!["name must be at most 200 characters".to_owned()])
        );
    }

    #[test]
    fn the_form_of_a_new_user_reads_back_as_it() {
        let user = NewUser { name: UserName::new("Zoë & co = 100%").unwrap() };
        assert_eq!(user.form(), "name=Zo%C3%AB+%26+co+%3D+100%25");
        assert_eq!(from_form(&user.form(), NewUser::parse), Ok(user));
    }

    #[test]
    fn a_new_user_is_written_as_it_is_read() {
        let user = NewUser { name: UserName::new(" Ann \"Q\" O'Neil ").unwrap() };
        let text = serde_json::to_string(&user).unwrap();
        assert_eq!(text, r#"{"name":"Ann \"Q\" O'Neil"}"#);
        assert_eq!(from_json(&text, NewUser::parse), Ok(user));
    }

    #[test]
    fn path_ids_must_be_positive_integers() {
        assert_eq!(UserId::from_path("42").unwrap().get(), 42);
        assert_eq!(UserId::from_path(&i64::MAX.to_string()).unwrap().get(), i64::MAX);
        assert_eq!(UserId::from_path("42.0").unwrap().get(), 42);
        for bad in ["abc", "0", "-1", "1.5", "", "9223372036854775808", "%31"] {
            assert_eq!(
                UserId::from_path(bad).map_err(messages),
                Err(vec!["user id must be a positive integer".to_owned()]),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_user_is_shown_and_read_as_the_api_gives_it() {
        let user = User {
            id: 1,
            name: "Suresh \"S\" Subramaniam".into(),
            created_at: 1_475_820_997_000_000,
            updated_at: 1_475_820_997_000_000,
        };
        let text = r#"{"id":1,"name":"Suresh \"S\" Subramaniam","created_at":1475820997000000,"updated_at":1475820997000000}"#;
        assert_eq!(serde_json::to_string(&user).unwrap(), text);
        assert_eq!(serde_json::from_str::<User>(text).unwrap(), user);
    }
}
