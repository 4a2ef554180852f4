//! The listing service: rent and sale listings, in its own `listings` database.

mod handlers;
mod store;
#[cfg(test)]
mod tests;

use api_http::{ApiError, JsonResponse, RequestBody, route_path};
use http::Method;

api_spin::entry_point!(route);

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
