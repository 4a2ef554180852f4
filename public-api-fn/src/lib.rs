//! The public API: what external clients call. It reaches listings and users only through
//! the listing and user services' HTTP APIs.

mod handlers;
mod model;
mod upstream;

use api_http::{ApiError, JsonResponse, RequestBody, route_path};
use http::Method;
use spin_sdk::http::Request;

/// The Spin entry point, on wasm only: natively the export's symbol names do not link, and
/// the unit tests need no entry point.
#[cfg_attr(target_arch = "wasm32", spin_sdk::http_service)]
pub async fn handle(request: Request) -> JsonResponse {
    route(request).await.unwrap_or_else(ApiError::into_response)
}

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
