//! Speaking HTTP to a host, and its replies as a test reads them.

use crate::host::Host;
use serde_json::Value;
use std::time::Duration;
use ureq::http;

/// A response: status, headers (as received, any case) and body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The messages of a `{"result": false, "errors": [...]}` answer.
    pub fn errors(&self) -> Vec<String> {
        let body = self.json();
        assert_eq!(body["result"], false, "{}", self.body);
        body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors array: {}", self.body))
            .iter()
            .map(|e| e.as_str().unwrap_or_default().to_string())
            .collect()
    }
}

/// The `id` of each object in a JSON array, e.g. a page of listings.
pub fn ids(items: &Value) -> Vec<i64> {
    items
        .as_array()
        .expect("an array")
        .iter()
        .map(|item| item["id"].as_i64().expect("an id"))
        .collect()
}

/// Requests to an app at [`Client::url`]: a host, a cluster's balancer, either. Every request
/// goes on a new connection.
pub trait Client {
    /// Scheme, host and port, e.g. `http://127.0.0.1:40000`.
    fn url(&self) -> &str;

    fn get(&self, path: &str) -> Reply {
        reply(agent().get(format!("{}{path}", self.url())).call())
    }

    fn post(&self, path: &str, content_type: &str, body: &(impl AsRef<[u8]> + ?Sized)) -> Reply {
        reply(
            agent()
                .post(format!("{}{path}", self.url()))
                .header("content-type", content_type)
                .send(body.as_ref()),
        )
    }

    fn post_form(&self, path: &str, form: &str) -> Reply {
        self.post(path, "application/x-www-form-urlencoded", form)
    }

    fn post_json(&self, path: &str, body: Value) -> Reply {
        self.post(path, "application/json", &body.to_string())
    }

    /// [`Client::post`] with an `Idempotency-Key` header.
    fn post_with_key(&self, path: &str, content_type: &str, body: &str, key: &str) -> Reply {
        let url = format!("{}{path}", self.url());
        try_post_with_headers(&url, content_type, body.as_bytes(), &[("idempotency-key", key)])
            .unwrap_or_else(|error| panic!("POST {url}: {error}"))
    }

    /// `method` on `path`, without a body.
    fn request(&self, method: &str, path: &str) -> Reply {
        let request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url()))
            .body(Vec::new())
            .expect("a valid request");
        send(request)
    }

    /// Any request, e.g. with headers of its own; its URI is absolute.
    fn send(&self, request: http::Request<Vec<u8>>) -> Reply {
        send(request)
    }
}

impl Client for Host {
    fn url(&self) -> &str {
        &self.url
    }
}

pub(crate) fn send(request: http::Request<Vec<u8>>) -> Reply {
    reply(agent().run(request))
}

/// `GET`s `url`, which may belong to a host that is gone or overwhelmed: no answer is an `Err`,
/// not a panic, for load that races a crash or a flood.
pub fn try_get(url: &str) -> Result<Reply, String> {
    read_reply(agent().get(url).call().map_err(|error| error.to_string())?)
}

/// `POST`s `body` to `url`, as [`try_get`] does.
pub fn try_post(url: &str, content_type: &str, body: &[u8]) -> Result<Reply, String> {
    try_post_with_headers(url, content_type, body, &[])
}

/// [`try_post`] with headers of its own, e.g. an `Idempotency-Key`.
pub fn try_post_with_headers(
    url: &str,
    content_type: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> Result<Reply, String> {
    let mut request = agent().post(url).header("content-type", content_type);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    read_reply(request.send(body).map_err(|error| error.to_string())?)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn reply(response: Result<http::Response<ureq::Body>, ureq::Error>) -> Reply {
    read_reply(response.expect("an HTTP response")).expect("read the body")
}

fn read_reply(mut response: http::Response<ureq::Body>) -> Result<Reply, String> {
    Ok(Reply {
        status: response.status().as_u16(),
        headers: response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect(),
        body: response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .map_err(|error| error.to_string())?,
    })
}
