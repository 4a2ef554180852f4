//! Typed clients of the listing and user services, which the public API reaches over
//! their HTTP APIs only. Base URLs and the per-call timeout come from the Spin variables
//! `listings_url`, `users_url` and `upstream_timeout_ms`.

use std::fmt::Display;
use std::pin::pin;
use std::sync::OnceLock;
use std::time::Duration;

use api_http::{ApiError, ErrorBody, FORM};
use api_model::{
    IDEMPOTENCY_KEY, IdempotencyKey, Listing, ListingAnswer, ListingsPage, ListingsQuery,
    NewListing, NewUser, User, UserAnswer, UserId, UserIds, UsersPage,
};
use api_spin::Answer;
use futures::future::{Either, select};
use http::{Method, StatusCode, Uri, header};
use serde::de::DeserializeOwned;

/// Both services, as configured.
pub struct Services {
    pub listings: ListingService,
    pub users: UserService,
}

/// Variables do not change while the app runs: read once per instance.
static SERVICES: OnceLock<Services> = OnceLock::new();

impl Services {
    /// The clients as the variables configure them; a bad or missing variable is a 500.
    pub async fn configured() -> Result<&'static Self, ApiError> {
        if let Some(services) = SERVICES.get() {
            return Ok(services);
        }
        let timeout = variable("upstream_timeout_ms")
            .await?
            .trim()
            .parse()
            .ok()
            .filter(|millis| *millis > 0)
            .map(Duration::from_millis)
            .ok_or_else(|| misconfigured("upstream_timeout_ms must be a positive integer"))?;
        let listings = Upstream::new("listing service", &variable("listings_url").await?, timeout)?;
        let users = Upstream::new("user service", &variable("users_url").await?, timeout)?;
        Ok(SERVICES
            .get_or_init(|| Self { listings: ListingService(listings), users: UserService(users) }))
    }
}

async fn variable(name: &str) -> Result<String, ApiError> {
    api_spin::variable(name)
        .await
        .map_err(|error| misconfigured(format_args!("variable {name}: {error}")))
}

fn misconfigured(detail: impl Display) -> ApiError {
    ApiError::internal(format!("public API misconfigured: {detail}"))
}

/// The listing service's API.
pub struct ListingService(Upstream);

impl ListingService {
    /// `GET /listings`: one page, newest first.
    pub async fn newest(&self, query: &ListingsQuery) -> Result<Vec<Listing>, ApiError> {
        let path = format!("/listings?{}", query.query());
        let page: ListingsPage = self.0.decode(self.0.get(&path).await?)?;
        Ok(page.listings)
    }

    /// `POST /listings`: stores a listing (whose user the caller has checked).
    pub async fn create(
        &self,
        new: &NewListing,
        key: Option<&IdempotencyKey>,
    ) -> Result<ListingAnswer, ApiError> {
        self.0.decode(self.0.post("/listings", new.form(), key).await?)
    }
}

/// The user service's API.
pub struct UserService(Upstream);

impl UserService {
    /// `GET /users?ids=...`: the users of these ids that exist, all in one call.
    pub async fn by_ids(&self, ids: &UserIds) -> Result<Vec<User>, ApiError> {
        let path = format!("/users?{}", ids.query());
        let page: UsersPage = self.0.decode(self.0.get(&path).await?)?;
        Ok(page.users)
    }

    /// `GET /users/{id}`: whether the user exists.
    pub async fn exists(&self, id: UserId) -> Result<bool, ApiError> {
        let answer = self.0.get(&format!("/users/{}", id.get())).await?;
        match answer.status {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.0.failure(answer)),
        }
    }

    /// `POST /users`: stores a user.
    pub async fn create(
        &self,
        new: &NewUser,
        key: Option<&IdempotencyKey>,
    ) -> Result<UserAnswer, ApiError> {
        self.0.decode(self.0.post("/users", new.form(), key).await?)
    }
}

/// One service: where it is and how long a call to it may take.
struct Upstream {
    /// As error messages name it, e.g. "listing service".
    name: &'static str,
    /// Without a trailing slash, so paths append to it.
    base_url: String,
    timeout: Duration,
}

impl Upstream {
    fn new(name: &'static str, base_url: &str, timeout: Duration) -> Result<Self, ApiError> {
        let base_url = base_url.trim().trim_end_matches('/');
        // Checked once here, so the URLs built on it are valid.
        match base_url.parse::<Uri>() {
            Ok(uri) if uri.scheme().is_some() && uri.authority().is_some() => {
                Ok(Self { name, base_url: base_url.to_owned(), timeout })
            }
            _ => Err(misconfigured(format_args!(
                "the {name} URL {base_url:?} is not an absolute http URL"
            ))),
        }
    }

    async fn get(&self, path: &str) -> Result<Answer, ApiError> {
        self.call(self.request(Method::GET, path), String::new()).await
    }

    /// Posts `form`, with the client's idempotency key if it gave one: a retry through any
    /// host then stores nothing twice.
    async fn post(
        &self,
        path: &str,
        form: String,
        key: Option<&IdempotencyKey>,
    ) -> Result<Answer, ApiError> {
        let mut request = self.request(Method::POST, path).header(header::CONTENT_TYPE, FORM);
        if let Some(key) = key {
            request = request.header(IDEMPOTENCY_KEY, key.as_str());
        }
        self.call(request, form).await
    }

    fn request(&self, method: Method, path: &str) -> http::request::Builder {
        http::Request::builder().method(method).uri(format!("{}{path}", self.base_url))
    }

    /// Calls the service, its whole answer within the timeout.
    async fn call(
        &self,
        request: http::request::Builder,
        body: String,
    ) -> Result<Answer, ApiError> {
        let request = request.body(body).map_err(|error| {
            ApiError::internal(format!("invalid {} request: {error}", self.name))
        })?;
        let exchange =
            async { api_spin::send(request).await.map_err(|error| self.unavailable(error)) };
        match select(pin!(exchange), pin!(api_spin::sleep(self.timeout))).await {
            Either::Left((answer, _)) => answer,
            Either::Right(_) => Err(ApiError::gateway_timeout(format!(
                "{} did not answer within {} ms",
                self.name,
                self.timeout.as_millis()
            ))),
        }
    }

    /// The body of a 200 answer as `T`, else the failure.
    fn decode<T: DeserializeOwned>(&self, answer: Answer) -> Result<T, ApiError> {
        if answer.status != StatusCode::OK {
            return Err(self.failure(answer));
        }
        serde_json::from_slice(&answer.body)
            .map_err(|error| self.unavailable(format_args!("invalid answer: {error}")))
    }

    /// A client error of the service passes through as it is (status and messages): the
    /// client's request was wrong. A 503 or 504 (its database unavailable or slow, its host
    /// past the deadline) passes through as its status, so the client knows a retry may
    /// work. Anything else means the service is not working.
    fn failure(&self, answer: Answer) -> ApiError {
        let message = format!("{} unavailable: answered {}", self.name, answer.status);
        match answer.status {
            status if status.is_client_error() => {
                match serde_json::from_slice::<ErrorBody>(&answer.body) {
                    Ok(body) => ApiError::new(status, body.errors),
                    Err(_) => ApiError::bad_gateway(message),
                }
            }
            StatusCode::SERVICE_UNAVAILABLE => ApiError::service_unavailable(message),
            StatusCode::GATEWAY_TIMEOUT => ApiError::gateway_timeout(message),
            _ => ApiError::bad_gateway(message),
        }
    }

    fn unavailable(&self, detail: impl Display) -> ApiError {
        ApiError::bad_gateway(format!("{} unavailable: {detail}", self.name))
    }
}
