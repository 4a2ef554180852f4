//! `GET /public-api/listings` costs exactly two upstream requests for a full page: the page of
//! listings, then one batch of its users. Counted from the host's request log (one line per
//! request, chained ones included); alone in its binary so no other test's requests are counted.

mod support;

use std::sync::{Arc, Mutex};
use support::App;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

#[test]
fn a_full_page_costs_two_upstream_requests() {
    let log = Captured::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let app = App::start();
    // Ten listings by ten different users: the worst case for a per-listing design.
    for n in 0..10 {
        let user = app.create_user(&format!("Owner {n}"))["id"]
            .as_i64()
            .unwrap();
        app.create_listing(user, "rent", 1000 + n);
    }
    log.clear();

    let page = app.get("/public-api/listings?page_size=10").json();
    assert_eq!(page["listings"].as_array().unwrap().len(), 10);
    assert!(
        page["listings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["user"]["name"].is_string())
    );

    let requests: Vec<String> = log
        .lines()
        .into_iter()
        .filter(|line| line.contains(" GET /"))
        .collect();
    let upstream: Vec<&String> = requests
        .iter()
        .filter(|l| !l.contains("public-api-fn"))
        .collect();
    assert_eq!(upstream.len(), 2, "{requests:#?}");
    assert!(
        upstream[0].contains("GET /listings listings-fn 200"),
        "{requests:#?}"
    );
    assert!(
        upstream[1].contains("GET /users users-fn 200"),
        "{requests:#?}"
    );
    assert_eq!(
        requests.len(),
        3,
        "the public request itself and two upstream: {requests:#?}"
    );
}
