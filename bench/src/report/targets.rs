//! Issue 4's targets, checked against one run's numbers (`met` is `None` when a number the
//! check needs was not measured, e.g. without the references).

use super::{HOST, ScaleRow, SizeReport, StartupReport};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct TargetCheck {
    pub target: String,
    pub measured: String,
    pub met: Option<bool>,
}

const RSS_LIMIT_MIB: f64 = 150.0;
const STARTUP_LIMIT_MS: f64 = 1_000.0;
const P99_LIMIT_MS: f64 = 10.0;
const SCALE_LIMIT: f64 = 1.5;

pub fn check(
    main: Option<&SizeReport>,
    scale: &[ScaleRow],
    startup: Option<&StartupReport>,
) -> Vec<TargetCheck> {
    let mut checks = Vec::new();
    let host = main.and_then(|size| size.system(HOST));
    let scenario = |id: &str| host.and_then(|h| h.scenario(id));

    for (id, title, share) in [
        (
            "public_page10",
            "GET /public-api/listings?page_size=10",
            0.5,
        ),
        (
            "public_page50",
            "GET /public-api/listings?page_size=50",
            0.5,
        ),
        ("public_create_listing", "POST /public-api/listings", 0.5),
        ("listings_page10", "GET /listings?page_size=10", 0.4),
    ] {
        let of_native = scenario(id).and_then(|s| s.of_native);
        checks.push(TargetCheck {
            target: format!("{title} ≥ {:.0}% of native", share * 100.0),
            measured: of_native.map_or_else(not_measured, |f| format!("{:.0}%", f * 100.0)),
            met: of_native.map(|f| f >= share),
        });
    }

    let vs_tornado = scenario("user_by_id").and_then(|s| s.vs_tornado);
    checks.push(TargetCheck {
        target: "GET /users/{id} ≥ 4× Tornado".into(),
        measured: vs_tornado.map_or_else(not_measured, |r| format!("{r:.1}×")),
        met: vs_tornado.map(|r| r >= 4.0),
    });

    let of_floor = host.and_then(|h| {
        h.scenarios
            .iter()
            .filter_map(|s| s.of_floor.map(|f| (f, s.title.as_str())))
            .min_by(|a, b| a.0.total_cmp(&b.0))
    });
    checks.push(TargetCheck {
        target: "every API scenario ≥ 50% of the trivial component's req/s".into(),
        measured: of_floor.map_or_else(not_measured, |(f, title)| {
            format!("lowest {:.0}% ({title})", f * 100.0)
        }),
        met: of_floor.map(|(f, _)| f >= 0.5),
    });

    let worst_get_p99 = host.and_then(|h| {
        h.scenarios
            .iter()
            .filter(|s| crate::scenarios::by_id(&s.id).is_some_and(|d| d.is_get() && d.is_api()))
            .filter_map(|s| s.load.p99_ms.map(|p| (p, s.title.as_str())))
            .max_by(|a, b| a.0.total_cmp(&b.0))
    });
    checks.push(TargetCheck {
        target: format!("p99 < {P99_LIMIT_MS} ms for every GET scenario"),
        measured: worst_get_p99.map_or_else(not_measured, |(p, title)| {
            format!("worst {p:.2} ms ({title})")
        }),
        met: worst_get_p99.map(|(p, _)| p < P99_LIMIT_MS),
    });

    for row in scale.iter().filter(|r| r.system == HOST) {
        checks.push(TargetCheck {
            target: format!(
                "{} at {} listings within {SCALE_LIMIT}× its latency at {}",
                row.title,
                thousands(row.listings),
                thousands(row.base_listings)
            ),
            measured: match (row.p50_ratio, row.p99_ratio) {
                (Some(p50), Some(p99)) => format!("p50 {p50:.2}×, p99 {p99:.2}×"),
                _ => not_measured(),
            },
            met: row.p50_ratio.map(|r| r <= SCALE_LIMIT),
        });
    }

    let peak_rss = host.and_then(|h| {
        h.scenarios
            .iter()
            .filter(|s| s.id != "floor_hello")
            .map(|s| s.rss_peak_kib)
            .max()
    });
    checks.push(TargetCheck {
        target: format!("host RSS < {RSS_LIMIT_MIB:.0} MB under load"),
        measured: peak_rss.map_or_else(not_measured, |k| format!("{:.1} MB peak", mib(k))),
        met: peak_rss.map(|k| mib(k) < RSS_LIMIT_MIB),
    });

    checks.push(TargetCheck {
        target: "process start → first successful response < 1 s (components cached)".into(),
        measured: startup.map_or_else(not_measured, |s| {
            format!("{:.0} ms (median)", s.median_first_response_ms)
        }),
        met: startup.map(|s| s.median_first_response_ms < STARTUP_LIMIT_MS),
    });
    checks
}

fn not_measured() -> String {
    "not measured".into()
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_size;

    #[test]
    fn formats_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn checks_what_was_measured() {
        let size = sample_size();
        let checks = check(Some(&size), &[], None);
        let find = |prefix: &str| checks.iter().find(|c| c.target.starts_with(prefix));
        assert_eq!(
            find("GET /listings?page_size=10").and_then(|c| c.met),
            Some(true)
        );
        assert_eq!(find("GET /users/{id}").and_then(|c| c.met), Some(true));
        assert_eq!(
            find("GET /public-api/listings?page_size=10").and_then(|c| c.met),
            None
        );
        assert_eq!(find("every API").and_then(|c| c.met), Some(true));
        assert_eq!(find("p99").and_then(|c| c.met), Some(true));
        assert_eq!(find("host RSS").and_then(|c| c.met), Some(true));
        assert_eq!(find("process start").and_then(|c| c.met), None);
    }
}
