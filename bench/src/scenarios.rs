//! The requests measured, the same for every system.

use api_model::UserId;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use seed::Encoding;

/// How many random URLs or bodies a scenario has (oha picks one at random per request).
const VARIANTS: usize = 10_000;

/// Which service a scenario talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Listings,
    Users,
    Public,
    /// The trivial component (`bench/trivial`): what instantiate-and-respond costs.
    Floor,
    /// The trivial component calling another twice through service chaining.
    ChainedFloor,
}

/// Where a system serves each service: one URL on a host, one per service on a reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Urls {
    pub listings: String,
    pub users: String,
    pub public: String,
}

impl Urls {
    /// Every service at `url`.
    pub fn all(url: &str) -> Urls {
        Urls { listings: url.to_string(), users: url.to_string(), public: url.to_string() }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// Stable id, used in the JSON and on the command line.
    pub id: &'static str,
    /// What the table shows.
    pub title: &'static str,
    /// Short label, for a list of scenarios.
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
    Scenario::new("listings_page10", "GET /listings?page_size=10", "listings p10")
        .on(Service::Listings, Shape::Fixed("/listings?page_size=10"))
        .at_scale(),
    Scenario::new("listings_by_user", "GET /listings?user_id={id}", "listings user_id")
        .on(Service::Listings, Shape::RandomUser("/listings?user_id="))
        .at_scale(),
    Scenario::new("user_by_id", "GET /users/{id}", "users/{id}")
        .on(Service::Users, Shape::RandomUser("/users/")),
    Scenario::new("public_page10", "GET /public-api/listings?page_size=10", "public p10")
        .on(Service::Public, Shape::Fixed("/public-api/listings?page_size=10")),
    Scenario::new("public_page50", "GET /public-api/listings?page_size=50", "public p50")
        .on(Service::Public, Shape::Fixed("/public-api/listings?page_size=50")),
    // Writes last, so that every read above sees the seeded size.
    Scenario::new("users_create", "POST /users", "POST users")
        .on(Service::Users, Shape::NewUsers("/users", Encoding::Form)),
    Scenario::new("listings_create", "POST /listings", "POST listings")
        .on(Service::Listings, Shape::NewListings("/listings", Encoding::Form)),
    Scenario::new("public_create_listing", "POST /public-api/listings", "POST public")
        .on(Service::Public, Shape::NewListings("/public-api/listings", Encoding::Json)),
    Scenario::new(FLOOR, "GET /hello (trivial component)", "floor")
        .on(Service::Floor, Shape::Fixed("/hello")),
    Scenario::new(
        FLOOR_CHAINED,
        "GET /chained (trivial component calling another twice)",
        "floor chained",
    )
    .on(Service::ChainedFloor, Shape::Fixed("/chained")),
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
    Bodies { url: String, content_type: &'static str, bodies: Vec<String> },
}

impl Scenario {
    const fn new(id: &'static str, title: &'static str, short: &'static str) -> Scenario {
        Scenario {
            id,
            title,
            short,
            service: Service::Floor,
            shape: Shape::Fixed("/"),
            scale: false,
        }
    }

    const fn on(self, service: Service, shape: Shape) -> Scenario {
        Scenario { service, shape, ..self }
    }

    const fn at_scale(self) -> Scenario {
        Scenario { scale: true, ..self }
    }

    /// An API scenario (everything but the floors).
    pub fn is_api(&self) -> bool {
        self.floor().is_some()
    }

    /// The trivial scenario this one is compared with: the chained one for the public API,
    /// whose every request invokes three components, as that one does; none for a floor.
    pub fn floor(&self) -> Option<&'static str> {
        match self.service {
            Service::Listings | Service::Users => Some(FLOOR),
            Service::Public => Some(FLOOR_CHAINED),
            Service::Floor | Service::ChainedFloor => None,
        }
    }

    /// The requests for a system at `urls` whose users have `users`; the same `seed`
    /// gives every system the same sequence of ids and bodies.
    pub fn requests(&self, urls: &Urls, users: &[UserId], seed: u64) -> Result<Requests, String> {
        let base = match self.service {
            Service::Listings => &urls.listings,
            Service::Users => &urls.users,
            Service::Public | Service::Floor | Service::ChainedFloor => &urls.public,
        };
        let seed = seed ^ hash(self.id);
        if users.is_empty() && matches!(self.shape, Shape::RandomUser(_) | Shape::NewListings(..)) {
            return Err("no users to make requests for".into());
        }
        match self.shape {
            Shape::Fixed(path) => Ok(Requests::Url(format!("{base}{path}"))),
            Shape::RandomUser(prefix) => {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let urls = (0..VARIANTS).map(|_| {
                    let user_id = users[rng.random_range(0..users.len())].get();
                    format!("{base}{prefix}{user_id}")
                });
                Ok(Requests::Urls(urls.collect()))
            }
            Shape::NewUsers(path, encoding) | Shape::NewListings(path, encoding) => {
                let bodies: Result<_, _> = match self.shape {
                    Shape::NewUsers(..) => (seed::Plan::generate(seed, VARIANTS, 0).users.iter())
                        .map(|name| seed::user_body(name, encoding))
                        .collect(),
                    _ => (seed::Plan::generate(seed, users.len(), VARIANTS).listings.iter())
                        .map(|listing| {
                            seed::listing_body(users[listing.user_index], listing, encoding)
                        })
                        .collect(),
                };
                Ok(Requests::Bodies {
                    url: format!("{base}{path}"),
                    content_type: encoding.content_type(),
                    bodies: bodies?,
                })
            }
        }
    }
}

/// FNV-1a: a fixed per-scenario seed offset (std's hasher is randomised per process).
fn hash(text: &str) -> u64 {
    text.bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requests(id: &str, users: &[i64]) -> Result<Requests, String> {
        let urls =
            Urls { listings: "http://l".into(), users: "http://u".into(), ..Urls::all("http://p") };
        let users: Vec<UserId> = users.iter().filter_map(|id| UserId::new(*id).ok()).collect();
        let scenario = by_id(id).ok_or("no such scenario")?;
        let requests = scenario.requests(&urls, &users, 42)?;
        assert_eq!(Ok(&requests), scenario.requests(&urls, &users, 42).as_ref(), "reproducible");
        Ok(requests)
    }

    #[test]
    fn each_goes_to_its_service_with_the_seeded_users() -> Result<(), String> {
        let first = |id| ALL.iter().position(|s| s.id == id);
        assert!(ALL.iter().enumerate().all(|(i, s)| first(s.id) == Some(i)), "unique ids");
        let fixed = Requests::Url("http://l/listings?page_size=10".into());
        assert_eq!(requests("listings_page10", &[7])?, fixed);
        let Requests::Urls(urls) = requests("user_by_id", &[7, 8])? else {
            return Err("user_by_id has random URLs".into());
        };
        assert!(urls.iter().all(|url| url == "http://u/users/7" || url == "http://u/users/8"));
        assert_eq!(urls.len(), VARIANTS);
        for (id, to, content_type) in [
            ("users_create", "http://u/users", "application/x-www-form-urlencoded"),
            ("listings_create", "http://l/listings", "application/x-www-form-urlencoded"),
            ("public_create_listing", "http://p/public-api/listings", "application/json"),
        ] {
            let Requests::Bodies { url, content_type: sent, bodies } = requests(id, &[4])? else {
                return Err(format!("{id} has bodies"));
            };
            assert_eq!((url.as_str(), sent, bodies.len()), (to, content_type, VARIANTS));
            if id != "users_create" {
                assert!(bodies.iter().all(|body| body.contains("user_id")), "{id}");
            }
        }
        assert!(requests("listings_create", &[]).is_err(), "listings need users");
        Ok(())
    }
}
