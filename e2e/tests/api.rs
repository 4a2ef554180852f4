//! The seven endpoints of the app, end to end: the repository's `spin.toml` and `runtime.toml`
//! on each target (fn-host; Spin and a cluster behind a balancer when they can run), over HTTP. Shapes, defaults, order,
//! paging, filters and every error.

mod support;

use serde_json::{Value, json};
use std::process::ExitStatus;
use support::{
    Client, HostProgram, PublicApi, RefusedPort, app_on, ids, on_each_target, services_on,
};

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

fn assert_microsecond_timestamps(item: &Value) {
    let created = item["created_at"].as_i64().expect("created_at");
    // Microseconds since the epoch: 16 digits for any date between 2001 and 2286.
    assert_eq!(created.to_string().len(), 16, "{item}");
    assert_eq!(item["updated_at"], item["created_at"]);
}

#[test]
fn users_service_creates_lists_and_finds_users() {
    on_each_target(|target| {
        let app = services_on(target).start();
        let created = app.post_form("/users", "name=Suresh+Subramaniam");
        assert_eq!(created.status, 200);
        assert!(created.header("content-type").unwrap_or_default().starts_with("application/json"));
        let body = created.json();
        assert_eq!(body["result"], true);
        let user = &body["user"];
        assert_eq!(user["name"], "Suresh Subramaniam");
        assert_eq!(
            user.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["created_at", "id", "name", "updated_at"]
        );
        assert_microsecond_timestamps(user);

        let id = user["id"].as_i64().unwrap();
        let found = app.get(&format!("/users/{id}")).json();
        assert_eq!(found, json!({ "result": true, "user": user }));

        // Percent-encoding survives the form.
        let odd = app.post_form("/users", "name=Zo%C3%AB+O%27Brien+%26+Co").json();
        assert_eq!(odd["user"]["name"], "Zoë O'Brien & Co");

        let listed = app.get("/users").json();
        assert_eq!(listed["result"], true);
        assert_eq!(ids(&listed["users"]), [id + 1, id], "newest first");
    });
}

#[test]
fn users_are_paged_newest_first_without_overlap() {
    on_each_target(|target| {
        let app = services_on(target).start();
        let created: Vec<i64> = (0..25)
            .map(|n| {
                app.post_form("/users", &format!("name=User+{n}")).json()["user"]["id"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        let newest_first: Vec<i64> = created.iter().rev().copied().collect();

        let default_page = app.get("/users").json();
        assert_eq!(ids(&default_page["users"]), newest_first[..10], "page_num 1, page_size 10");

        let mut seen = Vec::new();
        for page in 1..=4 {
            let users =
                app.get(&format!("/users?page_num={page}&page_size=7")).json()["users"].clone();
            seen.extend(ids(&users));
        }
        assert_eq!(seen, newest_first, "pages neither overlap nor skip");
        assert_eq!(app.get("/users?page_num=100").json()["users"], json!([]));

        // The batch extension the public API uses: only known ids, newest first.
        let batch = app.get(&format!("/users?ids={},{},999999", created[0], created[3])).json();
        assert_eq!(ids(&batch["users"]), [created[3], created[0]]);
    });
}

#[test]
fn listings_service_creates_and_filters_listings() {
    on_each_target(|target| {
        let app = services_on(target).start();
        let created = app.post_form("/listings", "user_id=7&listing_type=rent&price=6000");
        assert_eq!(created.status, 200);
        let listing = created.json()["listing"].clone();
        assert_eq!(listing["user_id"], 7);
        assert_eq!(listing["listing_type"], "rent");
        assert_eq!(listing["price"], 6000);
        assert_eq!(
            listing.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["created_at", "id", "listing_type", "price", "updated_at", "user_id"]
        );
        assert_microsecond_timestamps(&listing);

        for (user, kind, price) in [(8, "sale", 250_000), (7, "sale", 900_000), (9, "rent", 1200)] {
            let body = format!("user_id={user}&listing_type={kind}&price={price}");
            assert_eq!(app.post_form("/listings", &body).status, 200);
        }
        let all = app.get("/listings").json();
        assert_eq!(all["result"], true);
        let all_ids = ids(&all["listings"]);
        assert_eq!(all_ids.len(), 4);
        assert!(all_ids.windows(2).all(|w| w[0] > w[1]), "newest first: {all_ids:?}");

        let of_seven = app.get("/listings?user_id=7").json();
        let of_seven = of_seven["listings"].as_array().unwrap();
        assert_eq!(of_seven.len(), 2);
        assert!(of_seven.iter().all(|l| l["user_id"] == 7));
        assert_eq!(of_seven[0]["listing_type"], "sale", "newest first");

        let page = app.get("/listings?page_num=2&page_size=3").json();
        assert_eq!(ids(&page["listings"]), all_ids[3..]);
    });
}

#[test]
fn public_api_creates_users_and_listings_and_joins_them() {
    on_each_target(|target| {
        let app = app_on(target).start();
        let alice = app.create_user("Alice Tan");
        let bob = app.create_user("Bob Lim");
        assert_eq!(alice["name"], "Alice Tan");

        let reply = app.post_json(
            "/public-api/listings",
            json!({ "user_id": alice["id"], "listing_type": "rent", "price": 6000 }),
        );
        assert_eq!(reply.status, 200);
        let body = reply.json();
        // The seed's shape: `{"listing": {...}}` with `user_id`.
        assert_eq!(body.as_object().unwrap().keys().collect::<Vec<_>>(), ["listing"]);
        assert_eq!(body["listing"]["user_id"], alice["id"]);
        app.create_listing(bob["id"].as_i64().unwrap(), "sale", 750_000);
        app.create_listing(alice["id"].as_i64().unwrap(), "sale", 1_200_000);

        let listed = app.get("/public-api/listings").json();
        assert_eq!(listed["result"], true);
        let listings = listed["listings"].as_array().unwrap();
        assert_eq!(listings.len(), 3);
        let newest = &listings[0];
        assert_eq!(
            newest.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["created_at", "id", "listing_type", "price", "updated_at", "user"]
        );
        assert_eq!(newest["price"], 1_200_000);
        assert_eq!(newest["user"], alice, "the full user replaces user_id");
        assert_eq!(listings[1]["user"], bob);

        let of_bob = app.get(&format!("/public-api/listings?user_id={}", bob["id"])).json();
        let of_bob = of_bob["listings"].as_array().unwrap();
        assert_eq!(of_bob.len(), 1);
        assert_eq!(of_bob[0]["user"]["name"], "Bob Lim");

        let second_page = app.get("/public-api/listings?page_num=2&page_size=2").json();
        assert_eq!(ids(&second_page["listings"]), [listings[2]["id"].as_i64().unwrap()]);
        assert_eq!(app.get("/public-api/listings?page_num=9").json()["listings"], json!([]));
    });
}

#[test]
fn public_api_pages_through_many_listings_without_overlap() {
    on_each_target(|target| {
        let app = app_on(target).start();
        let user = app.create_user("Paging Person")["id"].as_i64().unwrap();
        let mut created: Vec<i64> = (0..23)
            .map(|n| {
                app.create_listing(user, if n % 2 == 0 { "rent" } else { "sale" }, 1000 + n)["id"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        created.reverse();
        let mut seen = Vec::new();
        for page in 1..=3 {
            let listings = app
                .get(&format!("/public-api/listings?page_num={page}&page_size=10"))
                .json()["listings"]
                .clone();
            seen.extend(ids(&listings));
        }
        assert_eq!(seen, created);
    });
}

#[test]
fn invalid_input_is_a_400_naming_each_field() {
    on_each_target(|target| {
        let app = services_on(target).start();
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "/listings",
                "",
                &["user_id is required", "listing_type is required", "price is required"],
            ),
            ("/listings", "user_id=x&listing_type=rent&price=10", &["user_id must be an integer"]),
            (
                "/listings",
                "user_id=1&listing_type=lease&price=10",
                &["listing_type must be 'rent' or 'sale'"],
            ),
            ("/listings", "user_id=1&listing_type=rent&price=0", &["price must be greater than 0"]),
            (
                "/listings",
                "user_id=1&listing_type=rent&price=-5",
                &["price must be greater than 0"],
            ),
            (
                "/listings",
                "user_id=1&listing_type=rent&price=9223372036854775808",
                &["price must be at most 9223372036854775807"],
            ),
            ("/listings", "user_id=1&listing_type=rent&price=12.5", &["price must be an integer"]),
            ("/users", "", &["name is required"]),
            ("/users", "name=+++", &["name must not be blank"]),
        ];
        for (path, form, expected) in cases {
            let reply = app.post_form(path, form);
            assert_eq!(reply.status, 400, "{path} {form}: {}", reply.body);
            assert_eq!(reply.errors(), *expected, "{path} {form}");
        }
        // The largest price there is, is a price.
        let max =
            app.post_form("/listings", "user_id=1&listing_type=sale&price=9223372036854775807");
        assert_eq!(max.status, 200, "{}", max.body);

        for path in ["/listings", "/users", "/public-api/listings"] {
            for (query, message) in [
                ("page_num=0", "page_num must be at least 1"),
                ("page_num=x", "page_num must be an integer"),
                ("page_size=0", "page_size must be between 1 and 100"),
                ("page_size=101", "page_size must be between 1 and 100"),
            ] {
                let reply = app.get(&format!("{path}?{query}"));
                assert_eq!(reply.status, 400, "{path}?{query}");
                assert_eq!(reply.errors(), [message], "{path}?{query}");
            }
            assert_eq!(app.get(&format!("{path}?page_size=100")).status, 200);
        }
        for (path, message) in [
            ("/listings?user_id=abc", "user_id must be an integer"),
            ("/public-api/listings?user_id=abc", "user_id must be an integer"),
            ("/users/abc", "user id must be a positive integer"),
        ] {
            let reply = app.get(path);
            assert_eq!(reply.status, 400, "{path}");
            assert_eq!(reply.errors(), [message], "{path}");
        }

        let json_cases: &[(&str, &str, &[&str])] = &[
            ("/public-api/users", "{\"name\": \"  \"}", &["name must not be blank"]),
            ("/public-api/users", "{}", &["name is required"]),
            ("/public-api/users", "{\"name\": 5}", &["name must be a string"]),
            ("/public-api/users", "{\"name\": ", &["request body must be valid JSON"]),
            ("/public-api/users", "[1]", &["request body must be a JSON object"]),
            (
                "/public-api/listings",
                "{\"user_id\": \"1\", \"listing_type\": \"rent\", \"price\": 1}",
                &["user_id must be an integer"],
            ),
            (
                "/public-api/listings",
                "{\"user_id\": 1, \"listing_type\": \"flat\", \"price\": 0}",
                &["listing_type must be 'rent' or 'sale'", "price must be greater than 0"],
            ),
        ];
        for (path, body, expected) in json_cases {
            let reply = app.post(path, "application/json", body);
            assert_eq!(reply.status, 400, "{path} {body}: {}", reply.body);
            assert_eq!(reply.errors(), *expected, "{path} {body}");
        }
    });
}

#[test]
fn wrong_content_type_method_or_path_and_unknown_users() {
    on_each_target(|target| {
        let app = services_on(target).start();
        for (path, content_type, body, expected) in [
            ("/users", "application/json", "{\"name\": \"A\"}", FORM),
            ("/listings", "text/plain", "user_id=1", FORM),
            ("/public-api/users", FORM, "name=A", JSON),
            ("/public-api/listings", "text/plain", "{}", JSON),
        ] {
            let reply = app.post(path, content_type, body);
            assert_eq!(reply.status, 415, "{path} as {content_type}");
            assert_eq!(
                reply.errors(),
                [format!("Content-Type must be {expected}")],
                "{path} as {content_type}"
            );
        }
        // Parameters on the media type are fine.
        assert_eq!(
            app.post("/users", "application/x-www-form-urlencoded; charset=utf-8", "name=A").status,
            200
        );

        for (method, path, allow) in [
            ("DELETE", "/listings", "GET, POST"),
            ("PUT", "/users", "GET, POST"),
            ("POST", "/users/1", "GET"),
            ("GET", "/public-api/users", "POST"),
            ("DELETE", "/public-api/listings", "GET, POST"),
        ] {
            let reply = app.request(method, path);
            assert_eq!(reply.status, 405, "{method} {path}");
            assert_eq!(reply.header("allow"), Some(allow), "{method} {path}");
            assert_eq!(reply.errors(), ["method not allowed"]);
        }
        // Paths under a component's route that no endpoint answers: the component's 404.
        for path in ["/listings/5", "/users/1/friends", "/public-api/other"] {
            let reply = app.get(path);
            assert_eq!(reply.status, 404, "{path}");
            assert_eq!(reply.errors(), ["not found"], "{path}");
        }
        // A path no route matches is answered by the host itself.
        let elsewhere = app.get("/elsewhere");
        assert_eq!(elsewhere.status, 404);
        match app.served_by(&elsewhere) {
            // fn-host answers its own errors in the app's envelope (docs/host.md, "Where it
            // differs from Spin").
            HostProgram::FnHost(_) => {
                assert_eq!(elsewhere.errors(), ["no route for /elsewhere"]);
            }
            // Spin answers an empty 404 (trigger-http's `not_found`).
            HostProgram::Spin(_) | HostProgram::Spin3(_) => {
                assert_eq!(elsewhere.body, "");
                assert_eq!(elsewhere.header("content-type"), None);
            }
        }

        let missing = app.get("/users/424242");
        assert_eq!(missing.status, 404);
        assert_eq!(missing.errors(), ["user 424242 not found"]);
        let orphan = app.post_json(
            "/public-api/listings",
            json!({ "user_id": 424242, "listing_type": "rent", "price": 100 }),
        );
        assert_eq!(orphan.status, 404);
        assert_eq!(orphan.errors(), ["user 424242 does not exist"]);
        assert_eq!(app.get("/listings").json()["listings"], json!([]), "nothing was stored");
    });
}

/// As deployed, only the public API is reachable: the services' own paths reach nothing, and
/// nothing sent there is stored.
#[test]
fn only_the_public_api_is_reachable_from_outside() {
    on_each_target(|target| {
        let app = app_on(target).start();
        let posts =
            [("/users", "name=Mallory"), ("/listings", "user_id=1&listing_type=rent&price=1")];
        for (path, form) in posts {
            let reply = app.post_form(path, form);
            assert_eq!(reply.status, 404, "POST {path}: {}", reply.body);
        }
        for path in ["/users", "/users/1", "/users?ids=1", "/listings"] {
            let reply = app.get(path);
            assert_eq!(reply.status, 404, "GET {path}: {}", reply.body);
            assert!(!reply.body.contains("\"result\":true"), "GET {path}");
        }
        let first = app.create_user("Alice");
        assert_eq!(first["id"], 1, "the user sent to /users was not stored");
        let listings = app.get("/public-api/listings").json();
        assert_eq!(listings["listings"], json!([]), "nor the listing");
    });
}

#[test]
fn data_survives_a_restart() {
    on_each_target(|target| {
        let app = app_on(target).start();
        let user = app.create_user("Persistent Pat");
        let listing = app.create_listing(user["id"].as_i64().unwrap(), "sale", 420_000);
        let dir = app.work_dir().to_path_buf();
        let stopped = app.terminate();
        assert!(stopped.iter().all(ExitStatus::success), "{stopped:?}");

        let again = app_on(target).in_dir(&dir).start();
        let listings = again.get("/public-api/listings").json();
        assert_eq!(listings["listings"][0]["id"], listing["id"]);
        assert_eq!(listings["listings"][0]["user"], user);
        // New rows continue after the old ones.
        let next = again.create_user("Second Sam");
        assert!(next["id"].as_i64() > user["id"].as_i64());
    });
}

#[test]
fn an_unreachable_service_is_a_502_for_the_public_api() {
    on_each_target(|target| {
        let refused = RefusedPort::new();
        let app = app_on(target).env("SPIN_VARIABLE_USERS_URL", &refused.url).start();
        let reply = app.post_json("/public-api/users", json!({ "name": "Lost" }));
        assert_eq!(reply.status, 502, "{}", reply.body);
        assert_eq!(reply.errors(), ["user service unavailable: ErrorCode::ConnectionRefused"]);
        // The listings side still works: an empty page needs no user service.
        let listings = app.get("/public-api/listings");
        assert_eq!(listings.status, 200);
        assert_eq!(listings.json(), json!({ "result": true, "listings": [] }));
    });
}

#[test]
fn a_service_chained_to_a_missing_component() {
    on_each_target(|target| {
        // The public API pointed at a component the app does not have.
        let app =
            app_on(target).env("SPIN_VARIABLE_USERS_URL", "http://nobody-fn.spin.internal").start();
        let reply = app.post_json("/public-api/users", json!({ "name": "Lost" }));
        match app.served_by(&reply) {
            // fn-host answers the outbound request with an error the component handles.
            HostProgram::FnHost(_) => {
                assert_eq!(reply.status, 502, "{}", reply.body);
                assert!(
                    reply.errors()[0].starts_with("user service unavailable: "),
                    "{}",
                    reply.body
                );
            }
            // Spin traps the calling component ("unknown routing destination", trigger-http's
            // outbound_http.rs): an empty 500 the component cannot turn into its own error.
            HostProgram::Spin(_) | HostProgram::Spin3(_) => {
                assert_eq!((reply.status, reply.body.as_str()), (500, ""));
            }
        }
        let listings = app.get("/public-api/listings");
        assert_eq!(listings.status, 200);
        assert_eq!(listings.json(), json!({ "result": true, "listings": [] }));
    });
}

#[test]
fn a_slow_service_is_a_504_for_the_public_api() {
    on_each_target(|target| {
        // A "user service" that accepts connections and never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let app = app_on(target)
            .env("SPIN_VARIABLE_USERS_URL", &format!("http://{}", silent.local_addr().unwrap()))
            .env("SPIN_VARIABLE_UPSTREAM_TIMEOUT_MS", "300")
            .start();
        let reply = app.post_json("/public-api/users", json!({ "name": "Patient" }));
        assert_eq!(reply.status, 504, "{}", reply.body);
        assert_eq!(reply.errors(), ["user service did not answer within 300 ms"]);
    });
}
