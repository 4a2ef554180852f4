//! One function per endpoint: parse the request, ask the store, answer.

use api_common::{ApiError, FORM, JsonResponse, Params, read_body, success};
use api_model::{UserId, UserName};
use spin_sdk::http::Request;

use crate::model::UsersQuery;
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
    Ok(success("users", &users))
}

/// `GET /users/{id}`
pub async fn get_user(id: &str) -> Result<JsonResponse, ApiError> {
    let id = UserId::from_path(id)?;
    let store = Store::open().await.map_err(ApiError::storage)?;
    match store.by_id(id).await.map_err(ApiError::storage)? {
        Some(user) => Ok(success("user", &user)),
        None => Err(ApiError::not_found(format!("user {} not found", id.get()))),
    }
}

/// `POST /users` (form: `name`)
pub async fn create_user(request: Request) -> Result<JsonResponse, ApiError> {
    let body = read_body(request, FORM).await?;
    let name = UserName::parse(&Params::parse(&body))?;
    let store = Store::open().await.map_err(ApiError::storage)?;
    let user = store.insert(name).await.map_err(ApiError::storage)?;
    Ok(success("user", &user))
}
