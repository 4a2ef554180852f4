//! A small keep-alive HTTP/1.1 client for JSON POSTs (hyper-util's pooled client).

use crate::SeedError;
use bytes::Bytes;
use http::{Method, Request, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as Pool;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// The longest response body kept for an error message.
const ERROR_BODY_CHARS: usize = 300;

pub struct Client {
    pool: Pool<HttpConnector, Full<Bytes>>,
    /// `scheme://authority`, no trailing slash, plus any path prefix.
    base: String,
    timeout: Duration,
}

impl Client {
    pub fn new(url: &str, connections: usize, timeout: Duration) -> Result<Client, SeedError> {
        let base = normalise_base(url)?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let pool = Pool::builder(TokioExecutor::new())
            .pool_max_idle_per_host(connections)
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Client { pool, base, timeout })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// One GET to see that something answers at the base URL (any HTTP status will do).
    pub async fn probe(&self) -> Result<(), String> {
        let request = self.request(Method::GET, "/public-api/listings?page_size=1", None)?;
        let response = tokio::time::timeout(Duration::from_secs(10), self.pool.request(request))
            .await
            .map_err(|_| "no answer within 10s".to_string())?
            .map_err(|e| describe(&e))?;
        // Drain the body so the connection goes back to the pool.
        let _ = response.into_body().collect().await;
        Ok(())
    }

    /// POSTs a JSON body; a 2xx answer yields its body, anything else a description.
    pub async fn post_json(&self, path: &str, body: Bytes) -> Result<Bytes, String> {
        let request = self.request(Method::POST, path, Some(body))?;
        let exchange = async {
            let response = self.pool.request(request).await.map_err(|e| describe(&e))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("reading the response: {e}"))?
                .to_bytes();
            if status.is_success() {
                Ok(body)
            } else {
                let text = String::from_utf8_lossy(&body);
                let text: String = text.chars().take(ERROR_BODY_CHARS).collect();
                Err(format!("HTTP {status}: {text}"))
            }
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| format!("no answer within {:?}", self.timeout))?
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<Request<Full<Bytes>>, String> {
        let mut builder = Request::builder().method(method).uri(format!("{}{path}", self.base));
        if body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        builder
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| format!("building the request: {e}"))
    }
}

/// `http://host:port[/prefix]` without a trailing slash; only plain HTTP is supported.
fn normalise_base(url: &str) -> Result<String, SeedError> {
    let invalid =
        |reason: &str| SeedError::InvalidUrl { url: url.to_string(), reason: reason.to_string() };
    let uri: Uri = url.parse().map_err(|e: http::uri::InvalidUri| invalid(&e.to_string()))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => return Err(invalid("https is not supported; use http://")),
        Some(_) => return Err(invalid("only http:// URLs are supported")),
        None => return Err(invalid("give a full URL such as http://127.0.0.1:3000")),
    }
    let authority = uri.authority().ok_or_else(|| invalid("the URL has no host"))?;
    if uri.query().is_some() {
        return Err(invalid("the base URL must not have a query"));
    }
    let path = uri.path().trim_end_matches('/');
    Ok(format!("http://{authority}{path}"))
}

/// A transport error with its causes ("connection refused" is deep inside hyper's chain).
fn describe(error: &hyper_util::client::legacy::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::normalise_base;

    #[test]
    fn base_urls() {
        assert_eq!(
            normalise_base("http://127.0.0.1:3000").ok().as_deref(),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(
            normalise_base("http://localhost:3000/").ok().as_deref(),
            Some("http://localhost:3000")
        );
        assert_eq!(normalise_base("http://h:1/app/").ok().as_deref(), Some("http://h:1/app"));
        assert!(normalise_base("https://h").is_err());
        assert!(normalise_base("127.0.0.1:3000").is_err());
        assert!(normalise_base("http://h/?a=1").is_err());
        assert!(normalise_base("not a url").is_err());
    }
}
