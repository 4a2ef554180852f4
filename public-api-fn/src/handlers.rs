//! One function per endpoint: parse the request, call the services, answer.

use api_http::{
    ApiError, JSON, JsonObject, JsonResponse, Params, RequestBody, json, json_text, read_body,
    success,
};
use api_model::{
    IdempotencyKey, ListingsPage, ListingsQuery, NewListing, NewUser, OPENAPI_DOCUMENT, UserIds,
};
use http::StatusCode;

use crate::model::with_users;
use crate::upstream::Services;

/// `GET /public-api/listings?page_num&page_size&user_id`: two upstream calls whatever
/// the page size, the page of listings and then all of its users at once.
pub async fn list_listings(query: &str) -> Result<JsonResponse, ApiError> {
    let query = ListingsQuery::parse(&Params::parse(query.as_bytes()))?;
    let services = Services::configured().await?;
    let listings = services.listings.newest(&query).await?;
    let user_ids = UserIds::of_listings(&listings);
    let users =
        if user_ids.is_empty() { Vec::new() } else { services.users.by_ids(&user_ids).await? };
    Ok(success(&ListingsPage { listings: with_users(&listings, &users) }))
}

/// `POST /public-api/users` (JSON: `{"name": "..."}`; optional `Idempotency-Key` header,
/// passed on), answered `{"user": ...}`
pub async fn create_user<B: RequestBody>(
    request: http::Request<B>,
) -> Result<JsonResponse, ApiError> {
    let key = IdempotencyKey::of(request.headers())?;
    let body = read_body(request, JSON).await?;
    let new = NewUser::parse(&JsonObject::parse(&body)?)?;
    let services = Services::configured().await?;
    let created = services.users.create(&new, key.as_ref()).await?;
    Ok(json(StatusCode::OK, &created))
}

/// `POST /public-api/listings` (JSON: `{"user_id": 1, "listing_type": "rent", "price": 6000}`;
/// optional `Idempotency-Key` header, passed on), answered `{"listing": ...}`
pub async fn create_listing<B: RequestBody>(
    request: http::Request<B>,
) -> Result<JsonResponse, ApiError> {
    let key = IdempotencyKey::of(request.headers())?;
    let body = read_body(request, JSON).await?;
    let new = NewListing::parse(&JsonObject::parse(&body)?)?;
    let services = Services::configured().await?;
    if !services.users.exists(new.user_id).await? {
        let user_id = new.user_id.get();
        return Err(ApiError::not_found(format!("user {user_id} does not exist")));
    }
    let created = services.listings.create(&new, key.as_ref()).await?;
    Ok(json(StatusCode::OK, &created))
}

/// `GET /public-api/openapi.json`: the OpenAPI document of the whole API, for client authors
/// and their code generators.
pub fn openapi_document() -> JsonResponse {
    json_text(StatusCode::OK, OPENAPI_DOCUMENT.to_owned())
}
