//! `GET /public-api/listings` costs exactly two upstream requests for a full page: the page of
//! listings, then one batch of its users. Counted by a recording proxy the public API is
//! pointed at (its `listings_url` and `users_url`), so it counts on any host.

mod support;

use support::{Client, PublicApi, RecordingProxy, on_each_target, services_on};

#[test]
fn a_full_page_costs_two_upstream_requests() {
    on_each_target(|target| {
        let proxy = RecordingProxy::start();
        let app = services_on(target)
            .env("SPIN_VARIABLE_LISTINGS_URL", &proxy.url)
            .env("SPIN_VARIABLE_USERS_URL", &proxy.url)
            .start();
        proxy.forward_to(app.url());
        // Ten listings by ten different users: the worst case for a per-listing design.
        let mut users = Vec::new();
        for n in 0..10 {
            let user = app.create_user(&format!("Owner {n}"))["id"].as_i64().unwrap();
            app.create_listing(user, "rent", 1000 + n);
            users.push(user);
        }
        proxy.clear();

        let page = app.get("/public-api/listings?page_size=10").json();
        let listings = page["listings"].as_array().unwrap();
        assert_eq!(listings.len(), 10);
        assert!(listings.iter().all(|l| l["user"]["name"].is_string()));

        let newest_first: Vec<String> = users.iter().rev().map(i64::to_string).collect();
        assert_eq!(
            proxy.requests(),
            [
                "GET /listings?page_num=1&page_size=10".to_string(),
                format!("GET /users?ids={}", newest_first.join(",")),
            ]
        );
    });
}
