//! Prometheus metrics: `--metrics-listen` serves what the host counted, and the counts are
//! those of the requests sent.

mod support;

use support::{Client, repo_app};

#[test]
fn metrics_count_requests_instances_and_statements() {
    let host = repo_app().arg("--metrics-listen").arg("127.0.0.1:0").start();
    let metrics_url = host
        .logs()
        .lines()
        .find_map(|line| line.strip_prefix("Metrics at ").map(str::to_owned))
        .expect("the host says where its metrics are");

    let created = host.post_form("/users", "name=Ann");
    assert_eq!(created.status, 200, "{}", created.body);
    let id = created.json()["user"]["id"].as_i64().expect("an id");
    for _ in 0..3 {
        assert_eq!(host.get(&format!("/users/{id}")).status, 200);
    }
    assert_eq!(host.get("/users/9999").status, 404);
    assert_eq!(host.get("/nowhere").status, 404);

    let scraped = support::try_get(&metrics_url).expect("scrape the metrics");
    assert_eq!(scraped.status, 200);
    assert!(
        scraped
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{:?}",
        scraped.headers
    );
    let value = |series: &str| -> f64 {
        scraped
            .body
            .lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in\n{}", scraped.body))
    };
    let users = r#"component="users-fn",route="/users/...""#;
    assert_eq!(value(&format!("fn_host_requests_total{{{users},status=\"200\"}}")), 4.0);
    assert_eq!(value(&format!("fn_host_requests_total{{{users},status=\"404\"}}")), 1.0);
    assert_eq!(value(r#"fn_host_requests_total{component="-",route="-",status="404"}"#), 1.0);
    assert_eq!(value(&format!("fn_host_request_duration_seconds_count{{{users}}}")), 5.0);
    assert!(value(r#"fn_host_instances_created_total{component="users-fn"}"#) >= 1.0);
    assert!(value(r#"fn_host_instances_alive{component="users-fn"}"#) >= 1.0);
    // The insert (and the schema's statements) went through the writer, in group commits.
    assert!(value(r#"fn_host_sqlite_commits_total{database="users"}"#) >= 1.0);
    assert!(value(r#"fn_host_sqlite_committed_writes_total{database="users"}"#) >= 1.0);
    // The four reads of a user, at least (the schema check reads too).
    let reads = r#"fn_host_sqlite_statement_duration_seconds_count{database="users",kind="read"}"#;
    assert!(value(reads) >= 4.0, "{}", value(reads));
    let queued = r#"fn_host_sqlite_queue_duration_seconds_count{database="users",kind="read"}"#;
    assert_eq!(value(queued), value(reads));
}
