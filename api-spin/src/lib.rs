//! What the components take from Spin, written once per WASI flavour so that everything
//! above it (routing, handlers, validation, SQL, the contract) is written once:
//!
//! - [`Incoming`], what an entry point receives, and [`request`], which makes it an
//!   `http::Request` whose body the handlers read;
//! - [`sqlite`]: open a database by label and run a statement to its rows;
//! - [`send`]: call a service, its whole answer read; [`sleep`], for deadlines;
//! - [`variable`]: a component variable.
//!
//! `p3` (the default) is spin-sdk 7 on `wasi:http@0.3.0` and `spin:sqlite@3.1.0`, for
//! Spin 4.1 and later and fn-host. `p2` is spin-sdk 5.2 on `wasi:http@0.2` and
//! `spin:sqlite@3.0.0`, for Spin 3.x (SpinKube's shim, Fermyon Cloud) and every later Spin.
//! A component is built with exactly one of them.

#[cfg(all(feature = "p2", feature = "p3"))]
compile_error!("api-spin: enable exactly one of the features `p2` and `p3`");
#[cfg(not(any(feature = "p2", feature = "p3")))]
compile_error!("api-spin: enable one of the features `p2` (wasi:http 0.2) or `p3` (wasi:http 0.3)");

#[cfg(feature = "p2")]
mod p2;
#[cfg(feature = "p2")]
use p2 as flavour;
#[cfg(feature = "p3")]
mod p3;
#[cfg(feature = "p3")]
use p3 as flavour;

pub use flavour::{Incoming, request, send, sleep, variable};

/// A service's whole answer.
#[derive(Debug)]
pub struct Answer {
    pub status: http::StatusCode,
    pub body: Vec<u8>,
}

/// A SQLite database of the component, by its label in spin.toml.
pub mod sqlite {
    pub use crate::flavour::sqlite::{Connection, RowResult, Value};
}

/// The component's Spin entry point, `handle`, for the flavour the component is built with:
/// each request goes to `route` (an `async fn(http::Request<_>) -> Result<JsonResponse,
/// ApiError>`), an error to its JSON answer. Exported on wasm only: natively the export's
/// symbols do not link, and tests call `route` itself. Invoked at the crate root, where a
/// `p2` build names spin-sdk 5.2 `spin_sdk`, as its macro expects.
#[macro_export]
macro_rules! entry_point {
    ($route:path) => {
        #[cfg(feature = "p2")]
        extern crate spin_sdk_p2 as spin_sdk;

        #[cfg_attr(all(target_arch = "wasm32", feature = "p3"), spin_sdk::http_service)]
        #[cfg_attr(all(target_arch = "wasm32", feature = "p2"), spin_sdk::http_component)]
        pub async fn handle(request: $crate::Incoming) -> ::api_http::JsonResponse {
            $route($crate::request(request))
                .await
                .unwrap_or_else(::api_http::ApiError::into_response)
        }
    };
}
