//! The public API: what external clients call. It reaches listings and users only through
//! the listing and user services' HTTP APIs.

mod handlers;
mod model;
mod upstream;

use api_http::{ApiError, JsonResponse, RequestBody, route_path};
use http::Method;

api_spin::entry_point!(route);

/// Dispatches a request to its endpoint.
async fn route<B: RequestBody>(request: http::Request<B>) -> Result<JsonResponse, ApiError> {
    match (route_path(request.uri().path()), request.method()) {
        ("/public-api/listings", &Method::GET) => {
            handlers::list_listings(request.uri().query().unwrap_or_default()).await
        }
        ("/public-api/listings", &Method::POST) => handlers::create_listing(request).await,
        ("/public-api/listings", _) => Err(ApiError::method_not_allowed("GET, POST")),
        ("/public-api/users", &Method::POST) => handlers::create_user(request).await,
        ("/public-api/users", _) => Err(ApiError::method_not_allowed("POST")),
        ("/public-api/openapi.json", &Method::GET) => Ok(handlers::openapi_document()),
        ("/public-api/openapi.json", _) => Err(ApiError::method_not_allowed("GET")),
        _ => Err(ApiError::no_route()),
    }
}
