//! The Markdown report: machine, settings, one table per size, scale, targets.

use super::{BenchReport, SizeReport, mib, thousands};
use crate::scenarios::ALL;
use crate::system::System;
use std::fmt::Write;

pub fn render(report: &BenchReport) -> String {
    let mut md = String::new();
    let s = &report.settings;
    let _ = writeln!(md, "# Benchmark results\n");
    let _ = writeln!(md, "- Machine: {}", report.machine.describe());
    let _ = writeln!(
        md,
        "- Load: {} (HTTP/1.1 keep-alive), {} connections, {:.0} s per scenario after {:.0} s \
         warm-up, load generator on the same machine; only one system runs at a time",
        s.oha, s.connections, s.duration_secs, s.warmup_secs
    );
    let _ = writeln!(
        md,
        "- Data: seeded through each system's public API with seed {}; commit {}",
        s.seed,
        s.commit.as_deref().unwrap_or("unknown")
    );
    if !s.host_args.is_empty() {
        let _ = writeln!(md, "- fn-host extra arguments: `{}`", s.host_args.join(" "));
    }
    if let Some(spin) = &s.spin {
        let _ = writeln!(
            md,
            "- Spin: {spin}, `spin up` with its default instance reuse"
        );
    }
    let _ = writeln!(
        md,
        "- req/s counts 2xx answers only; errors = non-2xx + transport errors; × <system> is \
         req/s over that system's for the same scenario in this run; % floor compares with the \
         trivial component on the same fn-host configuration; RSS = peak summed resident \
         memory of the system's process trees during the scenario (fn-host: 1 process; Spin: \
         `spin up` and the trigger process it forks; references: 3 processes)."
    );
    if let Some(startup) = &report.startup {
        let _ = writeln!(
            md,
            "- fn-host start-up, process start → first successful response: {:.0} ms median \
             with components cached (runs: {}; health endpoint {:.0} ms); first start \
             compiling the components: {:.0} ms",
            startup.median_first_response_ms,
            startup
                .first_response_ms
                .iter()
                .map(|ms| format!("{ms:.0}"))
                .collect::<Vec<_>>()
                .join(", "),
            startup.median_health_ms,
            startup.cold_first_response_ms
        );
    }

    for (index, size) in report.sizes.iter().enumerate() {
        let _ = writeln!(
            md,
            "\n## {} listings over {} users{}\n",
            thousands(size.listings),
            thousands(size.users),
            if index == 0 { "" } else { " (scale run)" }
        );
        table(&mut md, size);
        seeding(&mut md, size, s.seed_concurrency);
    }

    if !report.scale.is_empty() {
        let _ = writeln!(md, "\n## Latency at scale\n");
        let _ = writeln!(
            md,
            "| Scenario | System | Listings | req/s | p50 ms | p99 ms | p50 vs base | p99 vs base |"
        );
        let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|");
        for row in &report.scale {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                row.title,
                row.system.label(),
                thousands(row.listings),
                rate(row.requests_per_sec),
                ms(row.p50_ms),
                ms(row.p99_ms),
                times(row.p50_ratio),
                times(row.p99_ratio)
            );
        }
        if let Some(row) = report.scale.first() {
            let _ = writeln!(
                md,
                "\nRatios are against the same scenario at {} listings in this run.",
                thousands(row.base_listings)
            );
        }
    }

    if !report.targets.is_empty() {
        let _ = writeln!(md, "\n## Targets\n");
        let _ = writeln!(md, "| Target | Measured | Met |");
        let _ = writeln!(md, "|---|---|:-:|");
        for check in &report.targets {
            let met = match check.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "–",
            };
            let _ = writeln!(md, "| {} | {} | {met} |", check.target, check.measured);
        }
    }

    if !report.notes.is_empty() || !report.problems.is_empty() {
        let _ = writeln!(md, "\n## Notes\n");
        for problem in &report.problems {
            let _ = writeln!(md, "- **problem:** {}", one_line(problem));
        }
        for note in &report.notes {
            let _ = writeln!(md, "- {}", one_line(note));
        }
    }
    md
}

fn table(md: &mut String, size: &SizeReport) {
    let references = size.references();
    let columns: String = references
        .iter()
        .map(|r| format!(" × {} |", r.label()))
        .collect();
    let _ = writeln!(
        md,
        "| Scenario | System | req/s | p50 ms | p99 ms | errors |{columns} % floor | RSS MB |"
    );
    let _ = writeln!(
        md,
        "|---|---|---:|---:|---:|---:|{}---:|---:|",
        "---:|".repeat(references.len())
    );
    for scenario in ALL {
        for system in &size.systems {
            let Some(result) = system.scenario(scenario.id) else {
                continue;
            };
            let name = match system.system {
                System::FnHost => format!("**{}**", system.system.label()),
                other => other.label().to_string(),
            };
            let ratios: String = references
                .iter()
                .map(|r| format!(" {} |", times(result.vs.get(r).copied())))
                .collect();
            let _ = writeln!(
                md,
                "| {} | {name} | {} | {} | {} | {} |{ratios} {} | {:.1} |",
                scenario.title,
                rate(result.load.ok_per_sec),
                ms(result.load.p50_ms),
                ms(result.load.p99_ms),
                result.load.errors(),
                percent(result.of_floor),
                mib(result.rss_peak_kib)
            );
        }
    }
}

fn seeding(md: &mut String, size: &SizeReport, concurrency: u64) {
    let seeded: Vec<String> = size
        .systems
        .iter()
        .filter_map(|system| {
            let seed = system.seeding.as_ref()?;
            Some(format!(
                "{} {:.1} s ({:.0} req/s{})",
                system.system.label(),
                seed.secs,
                seed.requests_per_sec,
                if seed.failures > 0 {
                    format!(", **{} failed**", seed.failures)
                } else {
                    String::new()
                }
            ))
        })
        .collect();
    if !seeded.is_empty() {
        let _ = writeln!(
            md,
            "\nSeeding through the public API ({concurrency} requests in flight): {}.",
            seeded.join("; ")
        );
    }
    let idle: Vec<String> = size
        .systems
        .iter()
        .filter_map(|system| {
            let idle = system.rss_idle_kib?;
            let high = system.rss_high_water_kib.unwrap_or(idle);
            Some(format!(
                "{} {:.1} MB idle / {:.1} MB high-water",
                system.system.label(),
                mib(idle),
                mib(high)
            ))
        })
        .collect();
    if !idle.is_empty() {
        let _ = writeln!(md, "\nMemory (summed RSS): {}.", idle.join("; "));
    }
}

fn rate(value: f64) -> String {
    if value >= 100.0 {
        thousands(value.round() as usize)
    } else {
        format!("{value:.1}")
    }
}

fn ms(value: Option<f64>) -> String {
    match value {
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.2}"),
        None => "–".into(),
    }
}

fn times(value: Option<f64>) -> String {
    match value {
        Some(v) if v >= 10.0 => format!("{v:.0}×"),
        Some(v) => format!("{v:.2}×"),
        None => "–".into(),
    }
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| format!("{:.0}%", v * 100.0))
}

fn one_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(rate(12_345.6), "12,346");
        assert_eq!(rate(39.04), "39.0");
        assert_eq!(ms(Some(1.234)), "1.23");
        assert_eq!(ms(Some(1_234.0)), "1234");
        assert_eq!(ms(None), "–");
        assert_eq!(times(Some(50.4)), "50×");
        assert_eq!(times(Some(1.5)), "1.50×");
        assert_eq!(percent(Some(0.456)), "46%");
    }

    #[test]
    fn table_has_a_row_per_result() {
        let size = crate::report::tests::sample_size();
        let mut md = String::new();
        table(&mut md, &size);
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines.len(), 2 + 7);
        assert_eq!(
            lines[0],
            "| Scenario | System | req/s | p50 ms | p99 ms | errors | × Spin | × native axum | % floor | RSS MB |"
        );
        assert_eq!(
            lines[1],
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        assert_eq!(
            lines[2],
            "| GET /listings?page_size=10 | **fn-host** | 20,000 | 2.00 | 6.00 | 0 | 5.00× | 0.50× | 50% | 48.8 |"
        );
        assert_eq!(
            lines[3],
            "| GET /listings?page_size=10 | Spin | 4,000 | 10.00 | 30.00 | 0 | – | 0.10× | – | 48.8 |"
        );
    }
}
