//! The user service: users, in its own `users` database.

mod handlers;
mod store;

use api_http::{ApiError, JsonResponse, RequestBody, route_path};
use http::Method;

api_spin::entry_point!(route);

/// Dispatches a request to its endpoint.
async fn route<B: RequestBody>(request: http::Request<B>) -> Result<JsonResponse, ApiError> {
    match (route_path(request.uri().path()), request.method()) {
        ("/users", &Method::GET) => {
            handlers::list_users(request.uri().query().unwrap_or_default()).await
        }
        ("/users", &Method::POST) => handlers::create_user(request).await,
        ("/users", _) => Err(ApiError::method_not_allowed("GET, POST")),
        (path, method) => {
            match path.strip_prefix("/users/").filter(|id| !id.is_empty() && !id.contains('/')) {
                Some(id) if method == Method::GET => handlers::get_user(id).await,
                Some(_) => Err(ApiError::method_not_allowed("GET")),
                None => Err(ApiError::no_route()),
            }
        }
    }
}
