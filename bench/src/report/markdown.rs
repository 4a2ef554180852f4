//! The Markdown report: settings, a table per size, latency at scale, targets, problems.

use super::{BenchReport, SizeReport, mib, thousands};
use crate::scenarios::ALL;
use crate::system::System;
use std::fmt::Write;

pub fn render(report: &BenchReport) -> String {
    let s = &report.run.settings;
    let mut md = format!("# Benchmark results: {}\n\n", s.name);
    let mut line = |text: String| md.push_str(&format!("- {text}\n"));
    line(format!("Machine: {}", report.run.machine.describe()));
    line(format!(
        "Load: {} (HTTP/1.1 keep-alive), {} connections, {:.0} s per scenario after {:.0} s \
         warm-up, load generator on the same machine; only one system runs at a time",
        s.oha, s.connections, s.duration_secs, s.warmup_secs
    ));
    line(format!(
        "Data: seeded through each system's public API with seed {}; commit {}",
        s.seed,
        s.commit.as_deref().unwrap_or("unknown")
    ));
    let args = s.host_args.iter().map(|arg| format!(" `{arg}`")).collect::<String>();
    line(format!("fn-host: `{}`{args}", s.fn_host.display()));
    if let Some(baseline) = &s.baseline {
        line(format!("fn-host baseline: `{}`", baseline.display()));
    }
    for (name, version) in &s.programs {
        line(format!("{name}: {version}"));
    }
    line(
        "req/s counts 2xx answers only; errors = non-2xx + transport errors; × fn-host is req/s \
         over fn-host's for the same scenario in this run (durability modes, the baseline, the \
         libSQL shapes, the wasi:http 0.2 builds and the references alike); % floor is req/s over \
         the trivial component's on the same system (chained twice for the public API); RSS = peak \
         summed resident memory of the system's process trees during the scenario (fn-host: 1 \
         process; Spin: `spin up` and the trigger process it forks; references: 3 processes; \
         libSQL shapes: the hosts, each sqld and HAProxy)"
            .into(),
    );
    if let Some(startup) = &report.startup {
        let runs: Vec<String> =
            startup.first_response_ms.iter().map(|ms| format!("{ms:.0}")).collect();
        let (median, runs, cold) =
            (startup.median_first_response_ms, runs.join(", "), startup.cold_first_response_ms);
        line(format!(
            "fn-host start-up, process start → first successful response: {median:.0} ms median \
             with components cached (runs: {runs}); first start, compiling the components: \
             {cold:.0} ms"
        ));
    }

    for (index, size) in report.sizes.iter().enumerate() {
        let (listings, users) = (thousands(size.listings), thousands(size.users));
        let scale_run = if index == 0 { "" } else { " (scale run)" };
        let _ = writeln!(md, "\n## {listings} listings over {users} users{scale_run}\n");
        table(&mut md, size);
        seeding(&mut md, size, s.seed_concurrency);
        memory_after_load(&mut md, size, s.settle_secs);
    }
    scale(&mut md, &report.sizes);

    if !report.targets.is_empty() {
        md.push_str("\n## Targets\n\n| Target (fn-host) | Measured | Met |\n|---|---|:-:|\n");
        for check in &report.targets {
            let met = check.met.map_or("–", |met| if met { "yes" } else { "**no**" });
            let _ = writeln!(md, "| {} | {} | {met} |", check.target, check.measured);
        }
        md.push_str(
            "\nA scenario's floor is the trivial component on fn-host in this run (for the public \
             API, one calling another twice, as the public API calls the two services), measured \
             once like every cell.\n",
        );
    }
    md + &report.run.notes()
}

fn table(md: &mut String, size: &SizeReport) {
    md.push_str(
        "| Scenario | System | req/s | p50 ms | p99 ms | errors | × fn-host | % floor | RSS MB |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for scenario in ALL {
        let results = size.systems.iter().filter_map(|s| Some((s, s.scenario(scenario.id)?)));
        for (system, result) in results {
            let bold = if system.system == System::FnHost { "**" } else { "" };
            let (load, title, label) = (&result.load, scenario.title, &system.label);
            let (rate, p50, p99, errors) =
                (rate(load.ok_per_sec), ms(load.p50_ms), ms(load.p99_ms), load.errors());
            let floor = result.of_floor.map_or("–".into(), |v| format!("{:.0}%", v * 100.0));
            let (of_fn_host, rss) = (times(result.of_fn_host), mib(result.rss_peak_kib));
            let _ = writeln!(
                md,
                "| {title} | {bold}{label}{bold} | {rate} | {p50} | {p99} | {errors} | {of_fn_host} | {floor} | {rss:.1} |"
            );
        }
    }
}

fn seeding(md: &mut String, size: &SizeReport, concurrency: u64) {
    let seeded: Vec<String> = (size.systems.iter())
        .filter_map(|system| {
            let seed = system.seeding.as_ref()?;
            let failed = (seed.failures > 0).then(|| format!(", **{} failed**", seed.failures));
            let (secs, rate, failed) =
                (seed.secs, seed.requests_per_sec, failed.unwrap_or_default());
            Some(format!("{} {secs:.1} s ({rate:.0} req/s{failed})", system.label))
        })
        .collect();
    if !seeded.is_empty() {
        let seeded = seeded.join("; ");
        let _ =
            writeln!(md, "\nSeeding through the public API ({concurrency} in flight): {seeded}.");
    }
}

/// Memory given back: RSS at start, at the end of each load, and `settle_secs` later.
fn memory_after_load(md: &mut String, size: &SizeReport, settle_secs: f64) {
    let rows: Vec<String> = (ALL.iter())
        .flat_map(|scenario| {
            size.systems.iter().filter_map(move |system| {
                let result = system.scenario(scenario.id)?;
                let start = mib(system.rss_start_kib.unwrap_or_default());
                let (peak, end) = (mib(result.rss_peak_kib), mib(result.rss_end_kib));
                let later = mib(result.rss_settled_kib?);
                let (title, label) = (scenario.title, &system.label);
                let ratio = times(system.settled_over_start(result));
                Some(format!(
                    "| {title} | {label} | {start:.1} | {peak:.1} | {end:.1} | {later:.1} | {ratio} |"
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
         {settle_secs:.0} s after it, with no request in between.\n\n\
         | Scenario | System | at start | peak | end of load | {settle_secs:.0} s later | \
         later ÷ start |\n|---|---|---:|---:|---:|---:|---:|\n{}",
        rows.join("\n")
    );
}

/// Each scenario measured at an extra size, its latency against the first size's.
fn scale(md: &mut String, sizes: &[SizeReport]) {
    let Some((base, extra)) = sizes.split_first().filter(|(_, extra)| !extra.is_empty()) else {
        return;
    };
    let _ = writeln!(
        md,
        "\n## Latency at scale\n\nAgainst the same scenario at {} listings in this run.\n\n\
         | Scenario | System | Listings | req/s | p50 ms | p99 ms | p50 ÷ base | p99 ÷ base |\n\
         |---|---|---:|---:|---:|---:|---:|---:|",
        thousands(base.listings)
    );
    for size in extra {
        for system in &size.systems {
            for scenario in &system.scenarios {
                let then = base.system(system.system).and_then(|s| s.scenario(scenario.id));
                let ratio =
                    |now: Option<f64>, then: Option<f64>| Some(now? / then.filter(|t| *t > 0.0)?);
                let (load, title, label, listings) =
                    (&scenario.load, scenario.title, &system.label, thousands(size.listings));
                let (rate, p50, p99) = (rate(load.ok_per_sec), ms(load.p50_ms), ms(load.p99_ms));
                let p50_ratio = times(ratio(load.p50_ms, then.and_then(|t| t.load.p50_ms)));
                let p99_ratio = times(ratio(load.p99_ms, then.and_then(|t| t.load.p99_ms)));
                let _ = writeln!(
                    md,
                    "| {title} | {label} | {listings} | {rate} | {p50} | {p99} | {p50_ratio} | {p99_ratio} |"
                );
            }
        }
    }
}

fn rate(value: f64) -> String {
    if value >= 100.0 { thousands(value.round() as usize) } else { format!("{value:.1}") }
}

fn ms(value: Option<f64>) -> String {
    value.map_or("–".into(), |v| format!("{v:.*}", if v >= 100.0 { 0 } else { 2 }))
}

fn times(value: Option<f64>) -> String {
    value.map_or("–".into(), |v| format!("{v:.*}×", if v >= 10.0 { 0 } else { 2 }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{sample_size, scenario, system};

    #[test]
    fn formats() {
        assert_eq!((rate(12_345.6), rate(39.04)), ("12,346".into(), "39.0".into()));
        assert_eq!(
            (ms(Some(1.234)), ms(Some(1_234.0)), ms(None)),
            ("1.23".into(), "1234".into(), "–".into())
        );
        assert_eq!((times(Some(50.4)), times(Some(1.5))), ("50×".into(), "1.50×".into()));
    }

    #[test]
    fn a_row_per_result() {
        let mut md = String::new();
        table(&mut md, &sample_size());
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines.len(), 2 + 9, "{md}");
        assert_eq!(
            lines[2..4],
            [
                "| GET /listings?page_size=10 | **fn-host** | 20,000 | 2.00 | 6.00 | 0 | – | 50% | 48.8 |",
                "| GET /listings?page_size=10 | Spin | 4,000 | 10.00 | 30.00 | 0 | 0.20× | – | 48.8 |",
            ]
        );
    }

    #[test]
    fn memory_after_load_and_latency_at_scale() {
        let mut md = String::new();
        memory_after_load(&mut md, &sample_size(), 5.0);
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(
            lines[7],
            "| GET /listings?page_size=10 | fn-host | 19.5 | 48.8 | 39.1 | 29.3 | 1.50× |"
        );
        let mut big = SizeReport::new(crate::cli::Size { listings: 1_000_000, users: 100_000 });
        let scaled = vec![scenario("listings_page10", 18_000.0, 2.4, 9.0)];
        big.systems.push(system(System::FnHost, scaled));
        let mut md = String::new();
        scale(&mut md, &[sample_size(), big]);
        let last = md.lines().last().unwrap_or_default();
        assert_eq!(
            last,
            "| GET /listings?page_size=10 | fn-host | 1,000,000 | 18,000 | 2.40 | 9.00 | 1.20× | 1.50× |"
        );
    }
}
