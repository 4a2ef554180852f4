//! The seed tool against a small fake of the public API (plain threads, HTTP/1.1 keep-alive).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What the fake saw.
#[derive(Default)]
struct Seen {
    users: Mutex<Vec<String>>,
    listings: Mutex<Vec<serde_json::Value>>,
    next_id: AtomicU64,
}

/// The fake refuses listings whose price is a multiple of 3, to exercise failure counting.
fn refused(listing: &serde_json::Value) -> bool {
    listing["price"].as_i64().is_some_and(|p| p % 3 == 0)
}

/// Serves `POST /public-api/users` (ids from 100 up) and `POST /public-api/listings` (some
/// refused with 400); anything else answers 404.
fn fake_app() -> std::io::Result<(String, Arc<Seen>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    let seen = Arc::new(Seen { next_id: AtomicU64::new(100), ..Seen::default() });
    let shared = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = Arc::clone(&shared);
            std::thread::spawn(move || serve(stream, &seen));
        }
    });
    Ok((url, seen))
}

fn serve(stream: TcpStream, seen: &Seen) -> Option<()> {
    stream.set_nodelay(true).ok()?;
    let mut writer = stream.try_clone().ok()?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).ok()? == 0 {
            return Some(());
        }
        let mut length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).ok()?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().ok()?;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let (status, answer) = match request_line.split_whitespace().nth(1)? {
            "/public-api/users" => {
                let id = seen.next_id.fetch_add(1, Ordering::SeqCst);
                let name = json["name"].as_str()?.to_string();
                seen.users.lock().ok()?.push(name.clone());
                let user =
                    serde_json::json!({"id": id, "name": name, "created_at": 1, "updated_at": 1});
                (200, serde_json::json!({"user": user}))
            }
            "/public-api/listings" if refused(&json) => {
                (400, serde_json::json!({"result": false, "errors": ["price"]}))
            }
            "/public-api/listings" => {
                seen.listings.lock().ok()?.push(json.clone());
                (200, serde_json::json!({"listing": json}))
            }
            _ => (404, serde_json::json!({"result": false})),
        };
        let answer = answer.to_string();
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        );
        writer.write_all(response.as_bytes()).ok()?;
    }
}

fn config(url: &str, users: usize, listings: usize) -> seed::Config {
    seed::Config { progress: false, concurrency: 8, ..seed::Config::new(url, users, listings) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeds_every_user_and_listing() -> Result<(), Box<dyn std::error::Error>> {
    let (url, seen) = fake_app()?;
    let report = seed::run(&config(&url, 50, 400)).await?;
    let plan = seed::Plan::generate(42, 50, 400);
    let failing = plan.listings.iter().filter(|l| l.price % 3 == 0).count();
    assert!(failing > 0 && failing < 400);

    assert_eq!(report.users_created, 50);
    assert_eq!(report.user_failures, 0);
    assert_eq!(report.listings_created, 400 - failing);
    assert_eq!(report.listing_failures, failing);
    assert_eq!(report.failures(), failing);
    assert!(report.errors[0].contains("HTTP 400"), "{:?}", report.errors);
    let ids = report.created_user_ids();
    assert_eq!(ids.len(), 50);
    assert!(ids.iter().all(|id| (100..150).contains(&id.get())));

    // Concurrency reorders the requests, not their content.
    let mut sent = seen.users.lock().map_err(|_| "poisoned")?.clone();
    let mut planned = plan.users.clone();
    sent.sort();
    planned.sort();
    assert_eq!(sent, planned);
    // Every listing went to the id its planned owner got.
    let listings = seen.listings.lock().map_err(|_| "poisoned")?;
    for listing in listings.iter() {
        let owner = listing["user_id"].as_i64().ok_or("no user_id")?;
        assert!(ids.iter().any(|id| id.get() == owner));
    }
    let by_owner = |index: usize| report.user_ids[index].map(|id| id.get());
    let expected: usize = plan
        .listings
        .iter()
        .filter(|l| l.price % 3 != 0 && by_owner(l.user_index) == by_owner(0))
        .count();
    let actual = listings.iter().filter(|l| l["user_id"].as_i64() == by_owner(0)).count();
    assert_eq!(actual, expected);
    Ok(())
}

#[tokio::test]
async fn nothing_listening_is_a_clear_error() -> Result<(), Box<dyn std::error::Error>> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let url = format!("http://127.0.0.1:{port}");
    let error =
        seed::run(&config(&url, 1, 1)).await.err().ok_or("seeding a closed port succeeded")?;
    let message = error.to_string();
    assert!(message.contains("is the app running at"), "{message}");
    assert!(message.contains(&url), "{message}");
    Ok(())
}

#[tokio::test]
async fn bad_urls_are_refused() {
    for url in ["https://127.0.0.1:1", "127.0.0.1:3000", "http://h/?q=1"] {
        let error = seed::run(&config(url, 1, 1)).await.err();
        assert!(matches!(error, Some(seed::SeedError::InvalidUrl { .. })), "{url}: {error:?}");
    }
}
