//! The listing service: rent and sale listings, in its own `listings` database.

mod handlers;
mod store;
#[cfg(test)]
mod tests;

use api_http::{ApiError, JsonResponse, RequestBody, route_path};
use http::Method;
use spin_sdk::http::Request;

/// The Spin entry point, on wasm only: natively the export's symbol names do not link, and
/// the tests call `route`.
#[cfg_attr(target_arch = "wasm32", spin_sdk::http_service)]
pub async fn handle(request: Request) -> JsonResponse {
    route(request).await.unwrap_or_else(ApiError::into_response)
}

/// Dispatches a request to its endpoint.
async fn route<B: RequestBody>(request: http::Request<B>) -> Result<JsonResponse, ApiError> {
    match (route_path(request.uri().path()), request.method()) {
        ("/listings", &Method::GET) => {
            handlers::list_listings(request.uri().query().unwrap_or_default()).await
        }
        ("/listings", &Method::POST) => handlers::create_listing(request).await,
        ("/listings", _) => Err(ApiError::method_not_allowed("GET, POST")),
        _ => Err(ApiError::no_route()),
    }
}
