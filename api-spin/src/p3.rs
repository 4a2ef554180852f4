//! spin-sdk 7: `wasi:http@0.3.0`, `spin:sqlite@3.1.0`, `spin:variables@3.0.0`.

use std::time::Duration;

use spin_sdk::http::body::IncomingBodyExt;

use crate::Answer;

/// What the entry point receives: already an `http::Request` with a streaming body.
pub type Incoming = spin_sdk::http::Request;

/// The request as the handlers read it.
pub fn request(incoming: Incoming) -> Incoming {
    incoming
}

/// Sends `request` and reads the whole answer; `Err` says why there is none.
pub async fn send(request: http::Request<String>) -> Result<Answer, String> {
    let response = spin_sdk::http::send(request).await.map_err(|error| error.to_string())?;
    let status = response.status();
    let body = response.into_body().bytes().await.map_err(|error| error.to_string())?;
    Ok(Answer { status, body: body.into() })
}

/// Resolves after `duration`.
pub async fn sleep(duration: Duration) {
    spin_sdk::time::sleep(duration).await;
}

/// The component variable `name`.
pub async fn variable(name: &str) -> Result<String, String> {
    spin_sdk::variables::get(name).await.map_err(|error| error.to_string())
}

pub mod sqlite {
    use anyhow::Result;
    pub use spin_sdk::sqlite::{RowResult, Value};

    /// An open connection.
    pub struct Connection(spin_sdk::sqlite::Connection);

    impl Connection {
        pub async fn open(label: &str) -> Result<Self> {
            Ok(Self(spin_sdk::sqlite::Connection::open(label).await?))
        }

        /// Runs `statement` and collects its rows.
        pub async fn rows(
            &self,
            statement: &str,
            parameters: impl IntoIterator<Item = Value>,
        ) -> Result<Vec<RowResult>> {
            Ok(self.0.execute(statement, parameters).await?.collect().await?)
        }
    }
}
