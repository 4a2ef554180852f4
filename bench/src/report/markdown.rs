//! The Markdown report: machine, settings, one table per size, scale, targets.

use super::{BenchReport, SizeReport, mib, thousands};
use crate::scenarios::ALL;
use crate::system::System;
use std::fmt::Write;

/// Issue 7's comparison, as the report introduces it.
const DURABILITY: &str = "fn-host's default (`--sqlite-durability machine`: a write is \
    acknowledged once it is on stable storage, writes of one database committed together) \
    against the weaker mode (`process`: acknowledged before it is synced) and the baseline \
    binary. The writes are where they differ.";

/// Issue 13's shapes, as the report introduces them.
const SHAPES: &str = "One fn-host with its databases in local files; one with both on sqld \
    (one sqld per database); two over the same sqld servers behind HAProxy \
    (`deploy/haproxy.cfg`, round robin). Every process shares this one machine's cores, so \
    this is what a shape costs, not what it can scale to.";

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
    let _ = writeln!(md, "- fn-host: `{}`", s.fn_host.display());
    if let Some(baseline) = &s.baseline {
        let _ = writeln!(md, "- fn-host baseline: `{}`", baseline.display());
    }
    if let Some(spin) = s.programs.get("spin") {
        let _ = writeln!(
            md,
            "- Spin: {spin}, `spin up` with its default instance reuse"
        );
    }
    let servers: Vec<&str> = ["sqld", "haproxy"]
        .iter()
        .filter_map(|name| s.programs.get(name).map(String::as_str))
        .collect();
    if !servers.is_empty() {
        let _ = writeln!(md, "- libSQL shapes: {}", servers.join("; "));
    }
    let _ = writeln!(
        md,
        "- req/s counts 2xx answers only; errors = non-2xx + transport errors; × <system> is \
         req/s over that system's for the same scenario in this run; % floor compares with the \
         trivial component on the same fn-host configuration; RSS = peak summed resident \
         memory of the system's process trees during the scenario (fn-host: 1 process; Spin: \
         `spin up` and the trigger process it forks; references: 3 processes; libSQL shapes: \
         the hosts, each sqld and HAProxy)."
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
        comparison(&mut md, size, "Durability", DURABILITY, &System::DURABILITY);
        comparison(&mut md, size, "Shapes", SHAPES, &System::SHAPES);
        memory_after_load(&mut md, size, s.settle_secs);
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
        let _ = writeln!(md, "| Target | Measured | Met | Trivial component |");
        let _ = writeln!(md, "|---|---|:-:|---|");
        for check in &report.targets {
            let met = match check.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "–",
            };
            let ceiling = check.ceiling.as_deref().unwrap_or("–");
            let _ = writeln!(
                md,
                "| {} | {} | {met} | {ceiling} |",
                check.target, check.measured
            );
        }
        let _ = writeln!(
            md,
            "\n*Trivial component*: the same ratio for fn-host's trivial component in place of \
             the app (for the public API, one calling another twice, as the public API calls the \
             two services): what an app that does nothing reaches on this host. Measured once, \
             like every cell, so as noisy."
        );
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
    let references = size.compared_with();
    let columns: String = references
        .iter()
        .map(|r| format!(" × {} |", size.label(*r)))
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
                System::FnHost => format!("**{}**", system.label),
                _ => system.label.clone(),
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
                system.label,
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
            let start = system
                .rss_start_kib
                .map(|start| format!("{:.1} MB at start / ", mib(start)));
            Some(format!(
                "{} {}{:.1} MB after seeding / {:.1} MB high-water",
                system.label,
                start.unwrap_or_default(),
                mib(idle),
                mib(high)
            ))
        })
        .collect();
    if !idle.is_empty() {
        let _ = writeln!(md, "\nMemory (summed RSS): {}.", idle.join("; "));
    }
}

/// `systems` side by side, a row per scenario: req/s, p50 and p99 of each, and the first
/// one's req/s over each other's. Nothing unless two of them ran.
fn comparison(md: &mut String, size: &SizeReport, title: &str, intro: &str, systems: &[System]) {
    let ran: Vec<_> = systems.iter().filter_map(|s| size.system(*s)).collect();
    let [first, others @ ..] = ran.as_slice() else {
        return;
    };
    if others.is_empty() {
        return;
    }
    let _ = writeln!(md, "\n### {title}\n\n{intro}\n");
    let mut header = String::from("| Scenario |");
    let mut rule = String::from("|---|");
    for system in &ran {
        let _ = write!(
            header,
            " {0} req/s | {0} p50 ms | {0} p99 ms |",
            system.label
        );
        rule.push_str("---:|---:|---:|");
    }
    for other in others {
        let _ = write!(header, " {} ÷ {} |", first.label, other.label);
        rule.push_str("---:|");
    }
    let _ = writeln!(md, "{header}\n{rule}");
    for scenario in ALL {
        if !ran
            .iter()
            .any(|system| system.scenario(scenario.id).is_some())
        {
            continue;
        }
        let mut row = format!("| {} |", scenario.title);
        for system in &ran {
            let load = system.scenario(scenario.id).map(|r| &r.load);
            let _ = write!(
                row,
                " {} | {} | {} |",
                load.map_or("–".into(), |load| rate(load.ok_per_sec)),
                ms(load.and_then(|load| load.p50_ms)),
                ms(load.and_then(|load| load.p99_ms))
            );
        }
        let mine = first.scenario(scenario.id).map(|r| r.load.ok_per_sec);
        for other in others {
            let theirs = other.scenario(scenario.id).map(|r| r.load.ok_per_sec);
            let ratio = match (mine, theirs) {
                (Some(mine), Some(theirs)) if theirs > 0.0 => Some(mine / theirs),
                _ => None,
            };
            let _ = write!(row, " {} |", times(ratio));
        }
        let _ = writeln!(md, "{row}");
    }
}

/// Issue 10's memory bound: RSS at start, at the end of each load, and `settle_secs` later.
fn memory_after_load(md: &mut String, size: &SizeReport, settle_secs: f64) {
    let rows: Vec<String> = ALL
        .iter()
        .flat_map(|scenario| {
            size.systems.iter().filter_map(move |system| {
                let result = system.scenario(scenario.id)?;
                let settled = result.rss_settled_kib?;
                Some(format!(
                    "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
                    scenario.title,
                    system.label,
                    mib(system.rss_start_kib.unwrap_or_default()),
                    mib(result.rss_peak_kib),
                    mib(result.rss_end_kib),
                    mib(settled),
                    times(system.settled_over_start(result))
                ))
            })
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "\n### Memory after load\n\nSummed RSS (MB) of the system's process trees: once it \
         answered (before seeding), at the peak and at the end of each scenario's load, and \
         {settle_secs:.0} s after it, with no request in between.\n"
    );
    let _ = writeln!(
        md,
        "| Scenario | System | at start | peak | end of load | {settle_secs:.0} s later | \
         later ÷ start |\n|---|---|---:|---:|---:|---:|---:|"
    );
    for row in rows {
        let _ = writeln!(md, "{row}");
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
        assert_eq!(lines.len(), 2 + 10, "{md}");
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

    #[test]
    fn systems_side_by_side() {
        use crate::report::tests::{scenario, system};
        let mut size = crate::report::tests::sample_size();
        let mut baseline = system(
            System::Baseline,
            vec![scenario("user_by_id", 20_000.0, 2.0, 8.0)],
        );
        baseline.label = "before".into();
        size.systems.push(baseline);
        size.finish();
        let mut md = String::new();
        comparison(&mut md, &size, "Durability", "Why.", &System::DURABILITY);
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines[1], "### Durability");
        assert_eq!(lines[3], "Why.");
        assert_eq!(
            lines[5],
            "| Scenario | fn-host req/s | fn-host p50 ms | fn-host p99 ms | before req/s | \
             before p50 ms | before p99 ms | fn-host ÷ before |"
        );
        assert_eq!(lines[6], "|---|---:|---:|---:|---:|---:|---:|---:|");
        assert_eq!(
            lines[7],
            "| GET /listings?page_size=10 | 20,000 | 2.00 | 6.00 | – | – | – | – |"
        );
        assert_eq!(
            lines[8],
            "| GET /users/{id} | 30,000 | 1.50 | 4.00 | 20,000 | 2.00 | 8.00 | 1.50× |"
        );
        assert_eq!(lines.len(), 12, "{md}");
        // The main table gets a column for the baseline, by its label.
        let mut table_md = String::new();
        table(&mut table_md, &size);
        assert!(table_md.starts_with(
            "| Scenario | System | req/s | p50 ms | p99 ms | errors | × before | × Spin |"
        ));
        // One system of a comparison is no comparison.
        let mut md = String::new();
        comparison(&mut md, &size, "Shapes", "Why.", &System::SHAPES);
        assert_eq!(md, "");
    }

    #[test]
    fn memory_after_each_load() {
        let size = crate::report::tests::sample_size();
        let mut md = String::new();
        memory_after_load(&mut md, &size, 5.0);
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines[1], "### Memory after load");
        assert_eq!(
            lines[5],
            "| Scenario | System | at start | peak | end of load | 5 s later | later ÷ start |"
        );
        assert_eq!(
            lines[7],
            "| GET /listings?page_size=10 | fn-host | 19.5 | 48.8 | 39.1 | 29.3 | 1.50× |"
        );
    }
}
