//! The listing service: rent and sale listings, in its own `listings` database.

mod handlers;
mod store;

use api_common::{ApiError, JsonResponse, route_path};
use http::Method;
use spin_sdk::http::Request;

/// Dispatches a request to its endpoint. It is the Spin entry point on wasm only: natively
/// the export's symbol names do not link, and the unit tests need no entry point.
#[cfg_attr(target_arch = "wasm32", spin_sdk::http_service)]
pub async fn handle(request: Request) -> JsonResponse {
    let result = match (route_path(request.uri().path()), request.method()) {
        ("/listings", &Method::GET) => {
            handlers::list_listings(request.uri().query().unwrap_or_default()).await
        }
        ("/listings", &Method::POST) => handlers::create_listing(request).await,
        ("/listings", _) => Err(ApiError::method_not_allowed("GET, POST")),
        _ => Err(ApiError::no_route()),
    };
    result.unwrap_or_else(ApiError::into_response)
}
