//! One function per endpoint: parse the request, ask the store, answer.

use api_http::{ApiError, FORM, JsonResponse, Params, RequestBody, read_body, success};
use api_model::{IdempotencyKey, NewUser, UserAnswer, UserId, UsersPage, UsersQuery};

use crate::store::Store;

/// `GET /users?page_num&page_size` or `GET /users?ids=1,2,3`
pub async fn list_users(query: &str) -> Result<JsonResponse, ApiError> {
    let query = UsersQuery::parse(&Params::parse(query.as_bytes()))?;
    let store = Store::open().await.map_err(ApiError::storage)?;
    let users = match query {
        UsersQuery::Page(page) => store.newest(page).await,
        UsersQuery::Ids(ids) => store.by_ids(&ids).await,
    }
    .map_err(ApiError::storage)?;
    Ok(success(&UsersPage { users }))
}

/// `GET /users/{id}`
pub async fn get_user(id: &str) -> Result<JsonResponse, ApiError> {
    let id = UserId::from_path(id)?;
    let store = Store::open().await.map_err(ApiError::storage)?;
    match store.by_id(id).await.map_err(ApiError::storage)? {
        Some(user) => Ok(success(&UserAnswer { user })),
        None => Err(ApiError::not_found(format!("user {} not found", id.get()))),
    }
}

/// `POST /users` (form: `name`; optional `Idempotency-Key` header)
pub async fn create_user<B: RequestBody>(
    request: http::Request<B>,
) -> Result<JsonResponse, ApiError> {
    let key = IdempotencyKey::of(request.headers())?;
    let body = read_body(request, FORM).await?;
    let new = NewUser::parse(&Params::parse(&body))?;
    let store = Store::open().await.map_err(ApiError::storage)?;
    let user = store.insert(&new, key.as_ref()).await.map_err(ApiError::storage)?;
    match key {
        Some(key) if !new.is_stored_as(&user) => Err(key.reused()),
        _ => Ok(success(&UserAnswer { user })),
    }
}
