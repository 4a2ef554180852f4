//! What the host counts, for Prometheus: requests by component, route and status with their
//! latency; instances created and alive; each database's statements, time spent queued for them
//! and running them, and its group commits. Parts of the host get handles for what they count
//! (resolved once per component or database, so counting costs a few atomic operations);
//! `fn-host up --metrics-listen ADDRESS` serves them as text at `/metrics`.

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::convert::Infallible;
use std::time::Duration;
use tokio::net::TcpListener;

/// Every metric of the host, registered once; shared by whatever the host runs.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram, fn() -> Histogram>,
    instances_created: Family<ComponentLabels, Counter>,
    instances_alive: Family<ComponentLabels, Gauge>,
    statements: Family<StatementLabels, Histogram, fn() -> Histogram>,
    queued: Family<StatementLabels, Histogram, fn() -> Histogram>,
    commits: Family<DatabaseLabels, Counter>,
    committed_writes: Family<DatabaseLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    component: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    component: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ComponentLabels {
    component: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DatabaseLabels {
    database: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatementLabels {
    database: String,
    /// `read`, `write` (in a group commit), `transaction` (control, or inside a guest's
    /// transaction) or `libsql`.
    kind: &'static str,
}

/// Latency buckets from 50 µs to about 26 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 20))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut metrics = Metrics {
            registry: Registry::with_prefix("fn_host"),
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(latency_histogram),
            instances_created: Family::default(),
            instances_alive: Family::default(),
            statements: Family::new_with_constructor(latency_histogram),
            queued: Family::new_with_constructor(latency_histogram),
            commits: Family::default(),
            committed_writes: Family::default(),
        };
        let registry = &mut metrics.registry;
        registry.register(
            "requests",
            "Requests answered, by component, route (as written in spin.toml) and status; \
             `-` for those no component answered",
            metrics.requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to its answer",
            metrics.request_seconds.clone(),
        );
        registry.register(
            "instances_created",
            "Component instances created",
            metrics.instances_created.clone(),
        );
        registry.register(
            "instances_alive",
            "Component instances alive (serving or kept for reuse)",
            metrics.instances_alive.clone(),
        );
        registry.register(
            "sqlite_statement_duration_seconds",
            "Time a statement ran, by database and kind",
            metrics.statements.clone(),
        );
        registry.register(
            "sqlite_queue_duration_seconds",
            "Time a statement waited before it ran (for a read slot, or for the writer)",
            metrics.queued.clone(),
        );
        registry.register(
            "sqlite_commits",
            "Transactions the writer committed for groups of writes",
            metrics.commits.clone(),
        );
        registry.register(
            "sqlite_committed_writes",
            "Writes those transactions carried",
            metrics.committed_writes.clone(),
        );
        metrics
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Counts one answered request.
    pub fn request(&self, component: &str, route: &str, status: u16, took: Duration) {
        let route_labels = RouteLabels { component: component.to_owned(), route: route.to_owned() };
        self.request_seconds.get_or_create(&route_labels).observe(took.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                component: route_labels.component,
                route: route_labels.route,
                status,
            })
            .inc();
    }

    /// What the instances of `component` count.
    pub fn component(&self, component: &str) -> InstanceMetrics {
        let labels = ComponentLabels { component: component.to_owned() };
        InstanceMetrics {
            created: self.instances_created.get_or_create_owned(&labels),
            alive: self.instances_alive.get_or_create_owned(&labels),
        }
    }

    /// What the statements on the database file of `label` count.
    pub fn local_database(&self, label: &str) -> DatabaseMetrics {
        let database = DatabaseLabels { database: label.to_owned() };
        DatabaseMetrics {
            read: self.statement_timings(label, "read"),
            write: self.statement_timings(label, "write"),
            transaction: self.statement_timings(label, "transaction"),
            commits: self.commits.get_or_create_owned(&database),
            committed_writes: self.committed_writes.get_or_create_owned(&database),
        }
    }

    /// What the statements sent to the libSQL database of `label` count.
    pub fn remote_database(&self, label: &str) -> StatementTimings {
        self.statement_timings(label, "libsql")
    }

    fn statement_timings(&self, database: &str, kind: &'static str) -> StatementTimings {
        let labels = StatementLabels { database: database.to_owned(), kind };
        StatementTimings {
            queued: self.queued.get_or_create_owned(&labels),
            ran: self.statements.get_or_create_owned(&labels),
        }
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// What one component's instances count.
#[derive(Clone, Default)]
pub struct InstanceMetrics {
    /// Instances created.
    pub created: Counter,
    /// Instances alive now.
    pub alive: Gauge,
}

/// What the statements on one database file count.
#[derive(Clone, Default)]
pub struct DatabaseMetrics {
    /// Reads on a reader connection.
    pub read: StatementTimings,
    /// Writes, in group commits.
    pub write: StatementTimings,
    /// Transaction control and statements inside a guest's transaction.
    pub transaction: StatementTimings,
    /// Group commits.
    pub commits: Counter,
    /// Writes those commits carried.
    pub committed_writes: Counter,
}

/// How long statements of one kind waited, and ran.
#[derive(Clone)]
pub struct StatementTimings {
    /// Time waited before running.
    pub queued: Histogram,
    /// Time running.
    pub ran: Histogram,
}

impl Default for StatementTimings {
    fn default() -> Self {
        StatementTimings { queued: latency_histogram(), ran: latency_histogram() }
    }
}

impl StatementTimings {
    /// Counts one statement.
    pub fn observe(&self, queued: Duration, ran: Duration) {
        self.queued.observe(queued.as_secs_f64());
        self.ran.observe(ran.as_secs_f64());
    }
}

/// Serves `GET /metrics` on `listener`, for as long as the host runs.
pub async fn serve(metrics: std::sync::Arc<Metrics>, listener: TcpListener) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!("metrics: accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let metrics = metrics.clone();
        let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
            let response = if request.uri().path() == "/metrics" {
                http::Response::builder()
                    .header(
                        http::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )
                    .body(Full::new(Bytes::from(metrics.encode())))
            } else {
                http::Response::builder()
                    .status(http::StatusCode::NOT_FOUND)
                    .body(Full::new(Bytes::from_static(b"metrics are at /metrics\n")))
            };
            async move { Ok::<_, Infallible>(response.unwrap_or_default()) }
        });
        tokio::spawn(async move {
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
