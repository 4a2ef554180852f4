//! The requests measured, the same for every system.

use crate::launch::Ports;
use api_model::UserId;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use seed::Encoding;

/// How many distinct random URLs or bodies a scenario cycles through (oha picks one at random
/// for each request).
const VARIANTS: usize = 10_000;

/// Which service a scenario talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Listings,
    Users,
    Public,
    /// The trivial component (host only): what instantiate-and-respond costs.
    Floor,
}

#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// Stable id, used in the JSON and on the command line.
    pub id: &'static str,
    /// What the table shows.
    pub title: &'static str,
    /// Short label for the chart.
    pub short: &'static str,
    pub service: Service,
    shape: Shape,
    /// Measured again at every extra size of a scale run.
    pub scale: bool,
}

#[derive(Clone, Copy, Debug)]
enum Shape {
    Fixed(&'static str),
    /// `prefix{random user id}`
    RandomUser(&'static str),
    /// `POST path`, random users' names as the seed tool draws them.
    NewUsers(&'static str, Encoding),
    /// `POST path`, random listings of the seeded users as the seed tool draws them.
    NewListings(&'static str, Encoding),
}

/// The trivial component's scenario: what a service's scenarios are compared with on fn-host.
pub const FLOOR: &str = "floor_hello";

/// The trivial component calling another twice through the host's chaining, as the public
/// API calls the two services: what its scenarios are compared with on fn-host.
pub const FLOOR_CHAINED: &str = "floor_chained";

pub const ALL: &[Scenario] = &[
    Scenario {
        id: "listings_page10",
        title: "GET /listings?page_size=10",
        short: "listings p10",
        service: Service::Listings,
        shape: Shape::Fixed("/listings?page_size=10"),
        scale: true,
    },
    Scenario {
        id: "listings_by_user",
        title: "GET /listings?user_id={id}",
        short: "listings user_id",
        service: Service::Listings,
        shape: Shape::RandomUser("/listings?user_id="),
        scale: true,
    },
    Scenario {
        id: "user_by_id",
        title: "GET /users/{id}",
        short: "users/{id}",
        service: Service::Users,
        shape: Shape::RandomUser("/users/"),
        scale: false,
    },
    Scenario {
        id: "public_page10",
        title: "GET /public-api/listings?page_size=10",
        short: "public p10",
        service: Service::Public,
        shape: Shape::Fixed("/public-api/listings?page_size=10"),
        scale: false,
    },
    Scenario {
        id: "public_page50",
        title: "GET /public-api/listings?page_size=50",
        short: "public p50",
        service: Service::Public,
        shape: Shape::Fixed("/public-api/listings?page_size=50"),
        scale: false,
    },
    // Writes last, so that every read above sees the seeded size.
    Scenario {
        id: "users_create",
        title: "POST /users",
        short: "POST users",
        service: Service::Users,
        shape: Shape::NewUsers("/users", Encoding::Form),
        scale: false,
    },
    Scenario {
        id: "listings_create",
        title: "POST /listings",
        short: "POST listings",
        service: Service::Listings,
        shape: Shape::NewListings("/listings", Encoding::Form),
        scale: false,
    },
    Scenario {
        id: "public_create_listing",
        title: "POST /public-api/listings",
        short: "POST public",
        service: Service::Public,
        shape: Shape::NewListings("/public-api/listings", Encoding::Json),
        scale: false,
    },
    Scenario {
        id: FLOOR,
        title: "GET /guest/hello (trivial component)",
        short: "floor",
        service: Service::Floor,
        shape: Shape::Fixed("/guest/hello"),
        scale: false,
    },
    Scenario {
        id: FLOOR_CHAINED,
        title: "GET /guest/fetch (trivial component calling another twice)",
        short: "floor chained",
        service: Service::Floor,
        shape: Shape::Fixed("/guest/fetch?url=http://hidden.spin.internal/hello&times=2"),
        scale: false,
    },
];

pub fn by_id(id: &str) -> Option<&'static Scenario> {
    ALL.iter().find(|s| s.id == id)
}

/// What oha is asked to send.
#[derive(Clone, Debug, PartialEq)]
pub enum Requests {
    /// One URL.
    Url(String),
    /// Random URLs from this list.
    Urls(Vec<String>),
    /// POST random bodies from this list, all of one content type, to one URL.
    Bodies {
        url: String,
        content_type: &'static str,
        bodies: Vec<String>,
    },
}

impl Scenario {
    /// An API scenario (everything but the floor).
    pub fn is_api(&self) -> bool {
        self.service != Service::Floor
    }

    /// The trivial scenario this one is compared with: the chained one for the public API,
    /// whose every request invokes three components, as that one does; none for a floor.
    pub fn floor(&self) -> Option<&'static str> {
        match self.service {
            Service::Listings | Service::Users => Some(FLOOR),
            Service::Public => Some(FLOOR_CHAINED),
            Service::Floor => None,
        }
    }

    /// The requests for a system on `ports` whose users have `user_ids`; the same `seed`
    /// gives every system the same sequence of ids and bodies.
    pub fn requests(
        &self,
        ports: &Ports,
        user_ids: &[UserId],
        seed: u64,
    ) -> Result<Requests, String> {
        let port = match self.service {
            Service::Listings => ports.listings,
            Service::Users => ports.users,
            Service::Public | Service::Floor => ports.public,
        };
        let base = format!("http://127.0.0.1:{port}");
        let seed = seed ^ hash(self.id);
        if user_ids.is_empty()
            && matches!(self.shape, Shape::RandomUser(_) | Shape::NewListings(..))
        {
            return Err("no users to make requests for".into());
        }
        match self.shape {
            Shape::Fixed(path) => Ok(Requests::Url(format!("{base}{path}"))),
            Shape::RandomUser(prefix) => {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let urls = (0..VARIANTS).map(|_| {
                    let user_id = user_ids[rng.random_range(0..user_ids.len())].get();
                    format!("{base}{prefix}{user_id}")
                });
                Ok(Requests::Urls(urls.collect()))
            }
            Shape::NewUsers(path, encoding) => {
                let plan = seed::Plan::generate(seed, VARIANTS, 0);
                let bodies = plan
                    .users
                    .iter()
                    .map(|name| seed::user_body(name, encoding));
                Ok(Requests::Bodies {
                    url: format!("{base}{path}"),
                    content_type: encoding.content_type(),
                    bodies: bodies.collect::<Result<_, _>>()?,
                })
            }
            Shape::NewListings(path, encoding) => {
                let plan = seed::Plan::generate(seed, user_ids.len(), VARIANTS);
                let bodies = plan.listings.iter().map(|listing| {
                    seed::listing_body(user_ids[listing.user_index], listing, encoding)
                });
                Ok(Requests::Bodies {
                    url: format!("{base}{path}"),
                    content_type: encoding.content_type(),
                    bodies: bodies.collect::<Result<_, _>>()?,
                })
            }
        }
    }
}

/// FNV-1a: a fixed per-scenario seed offset (std's hasher is randomised per process).
fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORTS: Ports = Ports {
        listings: 1,
        users: 2,
        public: 3,
    };

    #[test]
    fn ids_are_unique_and_found() {
        for scenario in ALL {
            assert_eq!(by_id(scenario.id).map(|s| s.title), Some(scenario.title));
        }
        let mut ids: Vec<_> = ALL.iter().map(|s| s.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len());
        assert!(by_id("nope").is_none());
    }

    fn user_ids(ids: &[i64]) -> Vec<UserId> {
        ids.iter().map(|id| UserId::new(*id).unwrap()).collect()
    }

    #[test]
    fn urls_go_to_the_right_service() {
        let ids = user_ids(&[7, 8, 9]);
        let listings = by_id("listings_page10").map(|s| s.requests(&PORTS, &ids, 1));
        assert_eq!(
            listings,
            Some(Ok(Requests::Url(
                "http://127.0.0.1:1/listings?page_size=10".into()
            )))
        );
        let Some(Ok(Requests::Urls(urls))) =
            by_id("user_by_id").map(|s| s.requests(&PORTS, &ids, 1))
        else {
            panic!("user_by_id has random URLs");
        };
        assert_eq!(urls.len(), VARIANTS);
        assert!(urls.iter().all(|u| {
            ["7", "8", "9"]
                .iter()
                .any(|id| *u == format!("http://127.0.0.1:2/users/{id}"))
        }));
    }

    /// The bodies of a write scenario, checked to be reproducible.
    fn bodies(id: &str, ids: &[UserId]) -> (String, &'static str, Vec<String>) {
        let Some(scenario) = by_id(id) else {
            panic!("missing scenario {id}");
        };
        let first = scenario.requests(&PORTS, ids, 42);
        assert_eq!(first, scenario.requests(&PORTS, ids, 42));
        let Ok(Requests::Bodies {
            url,
            content_type,
            bodies,
        }) = first
        else {
            panic!("{id} has bodies: {first:?}");
        };
        assert_eq!(bodies.len(), VARIANTS);
        (url, content_type, bodies)
    }

    #[test]
    fn public_listings_are_valid_json_and_reproducible() {
        let ids = user_ids(&[4, 5]);
        let (url, content_type, bodies) = bodies("public_create_listing", &ids);
        assert_eq!(url, "http://127.0.0.1:3/public-api/listings");
        assert_eq!(content_type, "application/json");
        for body in bodies.iter().take(100) {
            let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
            assert!(matches!(value["user_id"].as_i64(), Some(4 | 5)), "{body}");
            assert!(value["price"].as_i64().unwrap_or(0) > 0);
            assert!(matches!(
                value["listing_type"].as_str(),
                Some("rent" | "sale")
            ));
        }
    }

    #[test]
    fn the_services_get_forms() {
        let ids = user_ids(&[4, 5]);
        let (url, content_type, users) = bodies("users_create", &[]);
        assert_eq!(url, "http://127.0.0.1:2/users");
        assert_eq!(content_type, "application/x-www-form-urlencoded");
        for body in users.iter().take(100) {
            let fields: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect();
            assert!(
                matches!(&fields[..], [(name, value)] if name == "name" && value.contains(' ')),
                "{body}"
            );
        }
        let (url, content_type, listings) = bodies("listings_create", &ids);
        assert_eq!(url, "http://127.0.0.1:1/listings");
        assert_eq!(content_type, "application/x-www-form-urlencoded");
        for body in listings.iter().take(100) {
            let fields: std::collections::HashMap<String, String> =
                form_urlencoded::parse(body.as_bytes())
                    .into_owned()
                    .collect();
            assert!(matches!(fields["user_id"].as_str(), "4" | "5"), "{body}");
            assert!(
                matches!(fields["listing_type"].as_str(), "rent" | "sale"),
                "{body}"
            );
            assert!(
                fields["price"].parse::<i64>().is_ok_and(|price| price > 0),
                "{body}"
            );
        }
    }

    #[test]
    fn listings_need_users() {
        let listings = by_id("listings_create").map(|s| s.requests(&PORTS, &[], 1));
        assert!(matches!(listings, Some(Err(_))));
    }
}
