//! One function per endpoint: parse the request, ask the store, answer.

use api_http::{ApiError, FORM, JsonResponse, Params, RequestBody, read_body, success};
use api_model::{IdempotencyKey, ListingAnswer, ListingsPage, ListingsQuery, NewListing};

use crate::store::Store;

/// `GET /listings?page_num&page_size&user_id`
pub async fn list_listings(query: &str) -> Result<JsonResponse, ApiError> {
    let query = ListingsQuery::parse(&Params::parse(query.as_bytes()))?;
    let store = Store::open().await.map_err(ApiError::storage)?;
    let listings = store.newest(&query).await.map_err(ApiError::storage)?;
    Ok(success(&ListingsPage { listings }))
}

/// `POST /listings` (form: `user_id`, `listing_type`, `price`; optional `Idempotency-Key`
/// header)
pub async fn create_listing<B: RequestBody>(
    request: http::Request<B>,
) -> Result<JsonResponse, ApiError> {
    let key = IdempotencyKey::of(request.headers())?;
    let body = read_body(request, FORM).await?;
    let new = NewListing::parse(&Params::parse(&body))?;
    let store = Store::open().await.map_err(ApiError::storage)?;
    let listing = store.insert(&new, key.as_ref()).await.map_err(ApiError::storage)?;
    match key {
        Some(key) if !new.is_stored_as(&listing) => Err(key.reused()),
        _ => Ok(success(&ListingAnswer { listing })),
    }
}
