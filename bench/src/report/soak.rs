//! A soak's results: a row per system per minute, the verdict, and an SVG chart of them.

use super::{Run, mib, thousands, write_files};
use crate::load::LoadResult;
use crate::runner::soak::{READERS, WRITERS};
use crate::system::System;
use anyhow::Result;
use serde::Serialize;
use std::fmt::Write;
use std::path::Path;

/// The minute whose memory the end is compared with: the first minutes fill caches and pools.
const SETTLED_MINUTE: u32 = 5;
/// How much the hosts' memory may move from that minute to the end.
const RSS_CHANGE_LIMIT: f64 = 0.10;

#[derive(Debug, Serialize)]
pub struct SoakReport {
    /// The settings' `duration_secs` is the whole soak's, `connections` readers and writers.
    #[serde(flatten)]
    pub run: Run,
    pub systems: Vec<SoakSystem>,
}

#[derive(Debug, Serialize)]
pub struct SoakSystem {
    pub system: System,
    pub label: String,
    pub minutes: Vec<SoakMinute>,
    pub verdict: Option<Verdict>,
}

#[derive(Debug, Serialize)]
pub struct SoakMinute {
    pub minute: u32,
    pub reads: LoadResult,
    pub writes: LoadResult,
    /// VmRSS of each host process at the end of the minute (KiB).
    pub rss_hosts_kib: Vec<u64>,
}

#[derive(Debug, Serialize)]
pub struct Verdict {
    /// The minute compared with the last: [`SETTLED_MINUTE`], or the last but one if shorter.
    pub settled_minute: u32,
    /// RSS at that minute and at the end (KiB), and the change from one to the other.
    pub rss: (u64, u64, f64),
    pub errors: u64,
    /// The lowest and highest p99 of any minute's reads or writes.
    pub p99_ms: (f64, f64),
    pub passed: bool,
}

impl SoakMinute {
    pub fn rss_kib(&self) -> u64 {
        self.rss_hosts_kib.iter().sum()
    }

    pub fn errors(&self) -> u64 {
        self.reads.errors() + self.writes.errors()
    }

    fn p99s(&self) -> [f64; 2] {
        [self.reads.p99_ms, self.writes.p99_ms].map(|p99| p99.unwrap_or(f64::NAN))
    }

    /// `| minute | ok | errors | read p99 | write p99 | RSS |`, what failed beside the errors.
    pub fn row(&self) -> String {
        let [reads, writes] = self.p99s();
        let mut errors = self.errors().to_string();
        for (kind, load) in [("reads", &self.reads), ("writes", &self.writes)] {
            let codes = load.status_codes.iter().filter(|(code, _)| !code.starts_with('2'));
            for (what, n) in codes.chain(&load.error_kinds) {
                let _ = write!(errors, " ({kind}: {what} ×{n})");
            }
        }
        let ok = thousands((self.reads.ok + self.writes.ok) as usize);
        let rss = mib(self.rss_kib());
        format!("| {} | {ok} | {errors} | {reads:.1} | {writes:.1} | {rss:.1} |", self.minute)
    }
}

impl SoakSystem {
    pub fn new(system: System, label: &str) -> SoakSystem {
        SoakSystem { system, label: label.to_string(), minutes: Vec::new(), verdict: None }
    }

    /// The verdict, from two minutes on: RSS settled after minute 5, and no error.
    pub fn judge(&mut self) {
        let Some(last) = self.minutes.last().filter(|last| last.minute >= 2) else {
            return;
        };
        let settled_minute = SETTLED_MINUTE.min(last.minute - 1);
        let settled = &self.minutes[settled_minute as usize - 1];
        let (rss_settled_kib, rss_end_kib) = (settled.rss_kib(), last.rss_kib());
        let rss_change = rss_end_kib as f64 / rss_settled_kib.max(1) as f64 - 1.0;
        let errors = self.minutes.iter().map(SoakMinute::errors).sum();
        let p99s = self.minutes.iter().flat_map(SoakMinute::p99s);
        let p99_ms =
            p99s.fold((f64::INFINITY, 0.0_f64), |(low, high), p99| (low.min(p99), high.max(p99)));
        let passed = rss_change.abs() < RSS_CHANGE_LIMIT && errors == 0;
        let rss = (rss_settled_kib, rss_end_kib, rss_change);
        self.verdict = Some(Verdict { settled_minute, rss, errors, p99_ms, passed });
    }
}

impl Verdict {
    /// The verdict table's cells after the system's.
    fn row(&self) -> String {
        let Verdict {
            settled_minute, rss: (then, end, change), errors, p99_ms: (low, high), ..
        } = self;
        let (then, end, change) = (mib(*then), mib(*end), change * 100.0);
        let passed = if self.passed { "yes" } else { "**no**" };
        format!(
            "{settled_minute} | {then:.1} | {end:.1} | {change:+.1}% | {errors} | {low:.1}–{high:.1} | {passed}"
        )
    }
}

impl SoakReport {
    /// Writes soak.json, soak.md and soak.svg into `out`.
    pub fn write(&self, out: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self)?;
        let (svg, md) = (self.chart(), self.markdown());
        write_files(out, [("soak.json", json), ("soak.svg", svg), ("soak.md", md)])
    }

    pub fn markdown(&self) -> String {
        let s = &self.run.settings;
        let mut md = format!(
            "# Soak: {}\n\n- Machine: {}\n- Load: {}, a minute at a time for {:.0} minutes, all \
             systems at once on this machine beside their load generators (and whatever else runs \
             on it): {READERS} connections reading (`GET /public-api/listings?page_num=..&\
             page_size=10` across the seeded pages and `GET /users/{{id}}`, half each) and \
             {WRITERS} writing (`POST /public-api/listings`, JSON, without an Idempotency-Key: \
             oha sends one header value for every request)\n- Data: {} listings over {} users \
             seeded through the public API with seed {}, growing by the writes; commit {}\n\
             - RSS: VmRSS of the host processes at the end of each minute, summed over a \
             cluster's hosts (sqld and HAProxy not counted); errors = non-2xx + transport \
             errors\n\n![RSS, p99 and errors per minute](soak.svg)\n\n## Verdict\n\n\
             RSS may move less than 10% from minute 5 to the end, and no request may fail.\n\n\
             | System | minute | RSS then MB | RSS at end MB | change | errors | p99 ms range \
             | passed |\n|---|---:|---:|---:|---:|---:|---:|:-:|\n",
            s.name,
            self.run.machine.describe(),
            s.oha,
            s.duration_secs / 60.0,
            thousands(s.sizes[0].listings),
            thousands(s.sizes[0].users),
            s.seed,
            s.commit.as_deref().unwrap_or("unknown")
        );
        for system in &self.systems {
            let verdict = system.verdict.as_ref().map(Verdict::row);
            let row = verdict.unwrap_or("– | – | – | – | – | – | **no**".into());
            let _ = writeln!(md, "| {} | {row} |", system.label);
        }
        for system in &self.systems {
            let header = "| minute | ok | errors | read p99 ms | write p99 ms | RSS MB |\n|---:|---:|---:|---:|---:|---:|";
            let _ = writeln!(md, "\n## {}\n\n{header}", system.label);
            for row in &system.minutes {
                let _ = writeln!(md, "{}", row.row());
            }
        }
        md + &self.run.notes()
    }

    /// A column per system, a panel per measure (RSS, p99s, errors), each from 0 to its top.
    pub fn chart(&self) -> String {
        let (width, height, margin) = (440.0, 170.0, 30.0);
        let (w, h) = (width - 2.0 * margin, height - 2.0 * margin);
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" \
             font-family=\"sans-serif\" font-size=\"11\"><rect width=\"100%\" \
             height=\"100%\" fill=\"white\"/>\n",
            width * self.systems.len() as f64,
            height * 3.0
        );
        for (column, system) in self.systems.iter().enumerate() {
            let minutes = &system.minutes;
            let p99s = minutes.iter().map(|m| m.p99s().to_vec()).collect();
            let panels: [(&str, Vec<Vec<f64>>); 3] = [
                ("RSS MB", minutes.iter().map(|m| vec![mib(m.rss_kib())]).collect()),
                ("p99 ms, reads (blue) and writes (red)", p99s),
                ("errors", minutes.iter().map(|m| vec![m.errors() as f64]).collect()),
            ];
            for (row, (title, series)) in panels.iter().enumerate() {
                let (left, top) = (column as f64 * width + margin, row as f64 * height + margin);
                let finite = series.iter().flatten().copied().filter(|v| v.is_finite());
                let most = finite.fold(1.0, f64::max);
                let _ = writeln!(
                    svg,
                    "<text x=\"{left}\" y=\"{}\">{}: {title} (0 to {most:.1}) over minutes 1 to \
                     {}</text><rect x=\"{left}\" y=\"{top}\" width=\"{w}\" height=\"{h}\" \
                     fill=\"none\" stroke=\"#999\"/>",
                    top - 8.0,
                    system.label,
                    minutes.len()
                );
                for (line, colour) in ["#1f77b4", "#d62728"].iter().enumerate() {
                    let points = series.iter().enumerate().filter_map(|(minute, values)| {
                        let value = values.get(line).filter(|v| v.is_finite())?;
                        let x = left + w * minute as f64 / (minutes.len().max(2) - 1) as f64;
                        Some(format!("{x:.1},{:.1} ", top + h - h * value / most))
                    });
                    let points: String = points.collect();
                    let _ = writeln!(
                        svg,
                        "<polyline fill=\"none\" stroke=\"{colour}\" points=\"{points}\"/>"
                    );
                }
            }
        }
        svg + "</svg>\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minute(minute: u32, rss_mib: u64, failed: u64) -> SoakMinute {
        let reads = LoadResult { ok: 100, p99_ms: Some(2.0), ..LoadResult::default() };
        let codes = [("503".to_string(), failed)].into_iter().filter(|(_, n)| *n > 0).collect();
        let writes = LoadResult {
            ok: 10,
            non_2xx: failed,
            p99_ms: Some(5.0),
            status_codes: codes,
            ..reads.clone()
        };
        SoakMinute { minute, reads, writes, rss_hosts_kib: vec![rss_mib * 512, rss_mib * 512] }
    }

    #[test]
    fn judges_memory_from_minute_five_and_every_error() {
        let mut system = SoakSystem::new(System::FnHost, "fn-host");
        system.minutes =
            (1..=8).map(|m| minute(m, if m < 5 { 80 } else { 100 + u64::from(m) }, 0)).collect();
        system.judge();
        let verdict = system.verdict.as_ref().map(Verdict::row);
        assert_eq!(verdict.as_deref(), Some("5 | 105.0 | 108.0 | +2.9% | 0 | 2.0–5.0 | yes"));
        system.minutes[2] = minute(3, 80, 1);
        system.judge();
        assert_eq!(system.minutes[2].row(), "| 3 | 110 | 1 (writes: 503 ×1) | 2.0 | 5.0 | 80.0 |");
        assert!(system.verdict.is_some_and(|verdict| verdict.errors == 1 && !verdict.passed));
    }
}
