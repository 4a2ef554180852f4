//! The host's test component. Each path exercises one capability and answers in plain text,
//! so a test can assert exactly what the guest saw.

use bytes::Bytes;
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{FullBody, IntoResponse, Request};
use spin_sdk::sqlite::{Connection, Value};

type Response = http::Response<FullBody<Bytes>>;

fn text(status: u16, body: impl Into<String>) -> Response {
    let mut response = http::Response::new(FullBody::new(Bytes::from(body.into())));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
    response
}

/// The value of query parameter `name` (no decoding: tests pass plain values).
fn param<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.uri().query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then_some(value)
    })
}

// The Spin export exists only on wasm: natively (`cargo test --workspace`) this is a plain
// function, since the export's symbol names do not link into a native library.
#[cfg_attr(target_arch = "wasm32", spin_sdk::http_service)]
pub async fn handle(request: Request) -> impl IntoResponse {
    let path = request.uri().path().to_string();
    let action = path.rsplit('/').next().unwrap_or_default();
    match action {
        "hello" => text(200, "hello"),
        "counter" => {
            // Counts the requests this instance has served: shows instance reuse.
            static SERVED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let served = SERVED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            text(200, served.to_string())
        }
        "headers" => headers(&request),
        "var" => variable(param(&request, "name").unwrap_or_default()).await,
        "env" => text(
            200,
            std::env::var(param(&request, "name").unwrap_or_default()).unwrap_or_default(),
        ),
        "put" => {
            put(
                param(&request, "db").unwrap_or_default(),
                param(&request, "value").unwrap_or_default(),
            )
            .await
        }
        "count" => count(param(&request, "db").unwrap_or_default()).await,
        "kv" => {
            key_value(
                param(&request, "store").unwrap_or_default(),
                param(&request, "key").unwrap_or_default(),
                param(&request, "value").unwrap_or_default(),
            )
            .await
        }
        "abandon" => abandon(param(&request, "db").unwrap_or_default()).await,
        "script" => {
            let db = param(&request, "db").unwrap_or_default().to_owned();
            match request.into_body().bytes().await {
                Ok(body) => script(&db, &String::from_utf8_lossy(&body)).await,
                Err(error) => text(400, format!("{error:?}")),
            }
        }
        "fetch" => {
            // `times` calls one after the other in one request, as the public API calls two
            // services in turn.
            let times = param(&request, "times").and_then(|t| t.parse().ok());
            fetch(param(&request, "url").unwrap_or_default(), times.unwrap_or(1)).await
        }
        "echo" => match request.into_body().bytes().await {
            Ok(body) => text(200, format!("{} bytes", body.len())),
            Err(error) => text(400, format!("{error:?}")),
        },
        "log" => {
            println!("a line on stdout");
            eprintln!("a line on stderr");
            text(200, "logged")
        }
        "trap" => panic!("the test guest traps on purpose"),
        "loop" => {
            let mut counter: u64 = 0;
            loop {
                counter = std::hint::black_box(counter.wrapping_add(1));
            }
        }
        "grow" => {
            let mib: usize = param(&request, "mib").and_then(|m| m.parse().ok()).unwrap_or(1);
            let block = vec![1u8; mib * 1024 * 1024];
            text(200, format!("allocated {} bytes", std::hint::black_box(block).len()))
        }
        _ => text(404, format!("the test guest has no action {action:?}")),
    }
}

fn headers(request: &Request) -> Response {
    let mut lines: Vec<String> = request
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("spin-"))
        .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("<binary>")))
        .collect();
    lines.sort();
    text(200, lines.join("\n"))
}

async fn variable(name: &str) -> Response {
    match spin_sdk::variables::get(name).await {
        Ok(value) => text(200, value),
        Err(error) => text(404, format!("{error:?}")),
    }
}

/// Sets `key` to `value` in `store`, then answers every `key=value` of it, in key order.
async fn key_value(store: &str, key: &str, value: &str) -> Response {
    let store = match spin_sdk::key_value::Store::open(store).await {
        Ok(store) => store,
        Err(error) => return text(403, format!("{error:?}")),
    };
    let listed = async {
        store.set(key, value).await?;
        let mut keys = store.get_keys().await.collect().await?;
        keys.sort();
        let mut pairs = Vec::new();
        for key in keys {
            let value = store.get(&key).await?.unwrap_or_default();
            pairs.push(format!("{key}={}", String::from_utf8_lossy(&value)));
        }
        Ok::<_, spin_sdk::key_value::Error>(pairs.join(","))
    };
    match listed.await {
        Ok(pairs) => text(200, pairs),
        Err(error) => text(500, format!("{error:?}")),
    }
}

async fn open(db: &str) -> Result<Connection, Response> {
    Connection::open(db).await.map_err(|error| text(403, format!("{error:?}")))
}

async fn put(db: &str, value: &str) -> Response {
    let connection = match open(db).await {
        Ok(connection) => connection,
        Err(response) => return response,
    };
    let result = async {
        connection
            .execute("CREATE TABLE IF NOT EXISTS items (value TEXT NOT NULL)", [])
            .await?
            .result()
            .await?;
        connection
            .execute("INSERT INTO items (value) VALUES (?)", [Value::text(value)])
            .await?
            .result()
            .await?;
        Ok::<_, spin_sdk::sqlite::Error>(connection.last_insert_rowid().await)
    }
    .await;
    match result {
        Ok(rowid) => text(200, format!("rowid {rowid}")),
        Err(error) => text(500, format!("{error:?}")),
    }
}

async fn count(db: &str) -> Response {
    let connection = match open(db).await {
        Ok(connection) => connection,
        Err(response) => return response,
    };
    let rows = async {
        connection.execute("SELECT value FROM items ORDER BY rowid", []).await?.collect().await
    }
    .await;
    match rows {
        Ok(rows) => {
            let values: Vec<&str> = rows.iter().filter_map(|row| row.get::<&str>(0)).collect();
            text(200, values.join(","))
        }
        Err(error) => text(500, format!("{error:?}")),
    }
}

/// Starts a query of many rows, reads one and drops the rest; then the same connection and a
/// write must still work.
async fn abandon(db: &str) -> Response {
    let connection = match open(db).await {
        Ok(connection) => connection,
        Err(response) => return response,
    };
    let result = async {
        let mut many = connection
            .execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) SELECT i FROM n",
                [],
            )
            .await?;
        let first = many.next().await;
        drop(many);
        connection
            .execute("CREATE TABLE IF NOT EXISTS items (value TEXT NOT NULL)", [])
            .await?
            .result()
            .await?;
        connection
            .execute("INSERT INTO items (value) VALUES ('after-abandon')", [])
            .await?
            .result()
            .await?;
        Ok::<_, spin_sdk::sqlite::Error>(first.and_then(|row| row.get::<i64>(0)))
    }
    .await;
    match result {
        Ok(first) => text(200, format!("first row {first:?}, then wrote")),
        Err(error) => text(500, format!("{error:?}")),
    }
}

/// Runs one statement per line on one connection and reports, per statement, what a guest
/// sees: columns, rows, then `last-insert-rowid` and `changes`, or the error. A line may end
/// with `;; ` and its parameters: `int:1 real:2.5 text:abc blob:0a0b null`.
async fn script(db: &str, script: &str) -> Response {
    let connection = match open(db).await {
        Ok(connection) => connection,
        Err(response) => return response,
    };
    let mut transcript = Vec::new();
    for line in script.lines().filter(|line| !line.trim().is_empty()) {
        let (sql, parameters) = match line.split_once(";; ") {
            Some((sql, parameters)) => (sql, parameters.split(' ').map(parameter).collect()),
            None => (line, Vec::new()),
        };
        let outcome = match connection.execute(sql, parameters).await {
            Ok(result) => {
                let columns = result.columns().join(",");
                match result.collect().await {
                    Ok(rows) => {
                        let rows: Vec<String> =
                            rows.iter().map(|row| format!("{:?}", row.values)).collect();
                        format!(
                            "columns [{columns}] rows [{}] rowid {} changes {}",
                            rows.join(" "),
                            connection.last_insert_rowid().await,
                            connection.changes().await
                        )
                    }
                    Err(error) => format!("error {error:?}"),
                }
            }
            Err(error) => format!("error {error:?}"),
        };
        transcript.push(format!("{sql} => {outcome}"));
    }
    text(200, transcript.join("\n"))
}

fn parameter(text: &str) -> Value {
    match text.split_once(':') {
        Some(("int", n)) => Value::Integer(n.parse().unwrap_or_default()),
        Some(("real", f)) => Value::Real(f.parse().unwrap_or_default()),
        Some(("text", t)) => Value::text(t),
        Some(("blob", hex)) => Value::Blob(
            (0..hex.len() / 2)
                .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// GETs `url` `times` times in turn; answers each status and body, joined by "; ".
async fn fetch(url: &str, times: usize) -> Response {
    let mut answers = Vec::with_capacity(times);
    for _ in 0..times {
        let response = match spin_sdk::http::get(url).await {
            Ok(response) => response,
            Err(error) => return text(502, format!("{error:?}")),
        };
        let status = response.status().as_u16();
        match response.into_body().bytes().await {
            Ok(body) => answers.push(format!("{status} {}", String::from_utf8_lossy(&body))),
            Err(error) => return text(502, format!("{error:?}")),
        }
    }
    text(200, answers.join("; "))
}
