//! Safe retries: a POST with an `Idempotency-Key` acts once, however often it is sent, on
//! every host and through the public API as through the services.

mod support;

use serde_json::{Value, json};
use support::*;

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// The body of a 200, checked.
fn stored(reply: &Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn assert_key_reused(reply: &Reply) {
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.errors(), ["Idempotency-Key was already used for a different request"]);
}

#[test]
fn a_retried_post_gets_the_first_answer_and_stores_nothing_again() {
    on_each_target(|target| {
        let app = app_on(target).start();
        let post = |path: &str, body: Value, key: &str| {
            app.post_with_key(path, JSON, &body.to_string(), key)
        };
        let first = post("/public-api/users", json!({ "name": "Ann" }), "user-1");
        let user = stored(&first)["user"].clone();
        // The same request again, byte for byte the same answer; written differently but
        // meaning the same (the name is trimmed), the same too.
        let again = post("/public-api/users", json!({ "name": "Ann" }), "user-1");
        assert_eq!((again.status, &again.body), (200, &first.body));
        let padded = post("/public-api/users", json!({ "name": " Ann " }), "user-1");
        assert_eq!(padded.body, first.body);
        assert_key_reused(&post("/public-api/users", json!({ "name": "Bo" }), "user-1"));

        let listing = json!({ "user_id": user["id"], "listing_type": "rent", "price": 6000 });
        let first = post("/public-api/listings", listing.clone(), "listing-1");
        stored(&first);
        let again = post("/public-api/listings", listing.clone(), "listing-1");
        assert_eq!((again.status, &again.body), (200, &first.body));
        let dearer = json!({ "user_id": user["id"], "listing_type": "rent", "price": 6001 });
        assert_key_reused(&post("/public-api/listings", dearer, "listing-1"));
        // A key names a request to one endpoint: the user's key is free for a listing.
        stored(&post("/public-api/listings", listing.clone(), "user-1"));
        // Without a key, every request stores.
        stored(&app.post_json("/public-api/listings", listing));

        let listings = app.get("/public-api/listings").json()["listings"].clone();
        assert_eq!(listings.as_array().unwrap().len(), 3, "{listings}");
        for listing in listings.as_array().unwrap() {
            assert_eq!(listing["user"], user, "one user stored");
        }
    });
}

#[test]
fn the_services_take_the_key_too() {
    on_each_host(|target| {
        let app = services_on(target).start();
        let first = app.post_with_key("/users", FORM, "name=Cy", "k");
        let user = stored(&first)["user"].clone();
        let again = app.post_with_key("/users", FORM, "name=Cy", "k");
        assert_eq!(again.body, first.body);
        assert_key_reused(&app.post_with_key("/users", FORM, "name=Di", "k"));
        let form = format!("user_id={}&listing_type=sale&price=9", user["id"]);
        let first = app.post_with_key("/listings", FORM, &form, "k");
        stored(&first);
        // `9.0` is the integer 9: the same request.
        let same = form.replace("price=9", "price=9.0");
        assert_eq!(app.post_with_key("/listings", FORM, &same, "k").body, first.body);
        assert_eq!(app.get("/users").json()["users"].as_array().unwrap().len(), 1);
        assert_eq!(app.get("/listings").json()["listings"].as_array().unwrap().len(), 1);
    });
}

#[test]
fn a_bad_key_is_a_400_and_stores_nothing() {
    on_each_host(|target| {
        let app = app_on(target).start();
        let body = json!({ "name": "Ann" }).to_string();
        let too_long = "k".repeat(256);
        for key in ["has space", too_long.as_str()] {
            let reply = app.post_with_key("/public-api/users", JSON, &body, key);
            assert_eq!(reply.status, 400, "{key}: {}", reply.body);
            assert_eq!(
                reply.errors(),
                ["Idempotency-Key must be 1 to 255 visible ASCII characters"]
            );
        }
        // Nothing was stored: the first user created now has id 1.
        assert_eq!(app.create_user("Ann")["id"], 1);
    });
}

#[test]
fn concurrent_requests_with_one_key_store_one_row() {
    on_each_target(|target| {
        let app = app_on(target).start();
        let user = app.create_user("Eve");
        let body =
            json!({ "user_id": user["id"], "listing_type": "sale", "price": 77 }).to_string();
        let answers: Vec<Reply> = std::thread::scope(|scope| {
            let senders: Vec<_> = (0..16)
                .map(|_| {
                    scope.spawn(|| app.post_with_key("/public-api/listings", JSON, &body, "once"))
                })
                .collect();
            senders.into_iter().map(|s| s.join().unwrap()).collect()
        });
        for answer in &answers {
            assert_eq!((answer.status, &answer.body), (200, &answers[0].body));
        }
        let listings = app.get("/public-api/listings").json()["listings"].clone();
        assert_eq!(listings.as_array().unwrap().len(), 1, "{listings}");
    });
}

#[test]
fn a_retry_through_another_host_after_a_crash_acts_once() {
    let Some((target, programs)) = cluster() else {
        return;
    };
    let mut cluster = app_on(&target).on(programs).start();
    let user = cluster.create_user("Fay");
    let body = json!({ "user_id": user["id"], "listing_type": "rent", "price": 1500 }).to_string();
    // The first attempt reaches one host, which then dies (its client would see a timeout).
    let doomed = cluster.remove_host(0);
    let first = doomed.post_with_key("/public-api/listings", JSON, &body, "crash");
    stored(&first);
    doomed.crash();
    // The retry goes through the balancer to a host that never saw the key.
    let retry = cluster.post_with_key("/public-api/listings", JSON, &body, "crash");
    assert_eq!((retry.status, &retry.body), (200, &first.body));
    let listings = cluster.get("/public-api/listings").json()["listings"].clone();
    assert_eq!(listings.as_array().unwrap().len(), 1, "{listings}");
}
