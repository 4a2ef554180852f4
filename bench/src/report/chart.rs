//! The PNG chart: req/s and p99 per scenario, every system side by side, log scales (the
//! systems differ by orders of magnitude).
//!
//! Text is drawn with plotters' `ab_glyph` backend from Noto Sans compiled into the binary
//! (crate `ttf-noto-sans`), so no system font, fontconfig or freetype is needed.

use super::{SizeReport, thousands};
use crate::scenarios::ALL;
use crate::system::System;
use anyhow::{Result, anyhow};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;
use std::sync::Once;

const WIDTH: u32 = 1600;
const HEIGHT: u32 = 1100;
const FONT: &str = "sans-serif";

/// fn-host's configurations in blues and purples, the other stacks in their own colours.
fn color(system: System) -> RGBColor {
    match system {
        System::FnHost => RGBColor(0x1f, 0x77, 0xb4),
        System::FnHostProcess => RGBColor(0x17, 0xbe, 0xcf),
        System::Baseline => RGBColor(0x7f, 0x7f, 0x7f),
        System::FnHostReuse1 => RGBColor(0x9e, 0xc9, 0xe9),
        System::FnHostLibsql => RGBColor(0x94, 0x67, 0xbd),
        System::FnHostLibsqlBalanced => RGBColor(0xc5, 0xb0, 0xd5),
        System::Spin => RGBColor(0xff, 0x7f, 0x0e),
        System::Tornado => RGBColor(0xd6, 0x27, 0x28),
        System::Native => RGBColor(0x2c, 0xa0, 0x2c),
    }
}

/// One bar: scenario slot, system slot, value.
struct Bar {
    scenario: usize,
    system: usize,
    value: f64,
}

/// `subtitle`: the machine and load settings, shown under the title.
pub fn draw(size: &SizeReport, subtitle: &str, path: &Path) -> Result<()> {
    register_font()?;
    let scenarios: Vec<_> = ALL
        .iter()
        .filter(|s| size.systems.iter().any(|sys| sys.scenario(s.id).is_some()))
        .collect();
    if scenarios.is_empty() {
        return Err(anyhow!("nothing was measured"));
    }
    let systems: Vec<(System, &str)> = size
        .systems
        .iter()
        .map(|s| (s.system, s.label.as_str()))
        .collect();
    let bars = |value: &dyn Fn(&super::ScenarioReport) -> Option<f64>| -> Vec<Bar> {
        let mut bars = Vec::new();
        for (si, scenario) in scenarios.iter().enumerate() {
            for (yi, system) in size.systems.iter().enumerate() {
                if let Some(v) = system.scenario(scenario.id).and_then(value)
                    && v > 0.0
                {
                    bars.push(Bar {
                        scenario: si,
                        system: yi,
                        value: v,
                    });
                }
            }
        }
        bars
    };
    let rps = bars(&|r| Some(r.load.ok_per_sec));
    let p99 = bars(&|r| r.load.p99_ms);
    let labels: Vec<&str> = scenarios.iter().map(|s| s.short).collect();

    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let others: Vec<&str> = systems
        .iter()
        .filter(|(system, _)| system.is_reference())
        .map(|(_, label)| *label)
        .collect();
    let title = format!(
        "{} listings / {} users: the app on fn-host{}",
        thousands(size.listings),
        thousands(size.users),
        match others.as_slice() {
            [] => String::new(),
            others => format!(" beside {}", others.join(", ")),
        }
    );
    let (header, body) = root.split_vertically(70);
    header
        .draw(&Text::new(
            title,
            (20, 12),
            (FONT, 26).into_font().color(&BLACK),
        ))
        .map_err(plot_error)?;
    header
        .draw(&Text::new(
            subtitle.to_string(),
            (20, 44),
            (FONT, 16).into_font().color(&RGBColor(90, 90, 90)),
        ))
        .map_err(plot_error)?;
    let (upper, lower) = body.split_vertically((HEIGHT - 70) / 2);
    panel(
        &root,
        &upper,
        "Requests per second (2xx), log scale: higher is better",
        "req/s",
        &rps,
        &labels,
        &systems,
    )?;
    panel(
        &root,
        &lower,
        "p99 latency (ms), log scale: lower is better",
        "p99 ms",
        &p99,
        &labels,
        &systems,
    )?;
    root.present().map_err(plot_error)?;
    Ok(())
}

fn panel(
    root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    caption: &str,
    unit: &str,
    bars: &[Bar],
    labels: &[&str],
    systems: &[(System, &str)],
) -> Result<()> {
    let max = bars.iter().map(|b| b.value).fold(f64::MIN, f64::max);
    let min = bars.iter().map(|b| b.value).fold(f64::MAX, f64::min);
    // Whole decades around the data, so bars have a visible base.
    let (low, high) = if bars.is_empty() {
        (1.0, 10.0)
    } else {
        (
            10f64.powf(min.log10().floor()),
            10f64.powf(max.log10().ceil().max(min.log10().floor() + 1.0)),
        )
    };
    let slots = labels.len() as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 20))
        .margin(12)
        .margin_left(20)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..slots, (low..high).log_scale())
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(unit)
        .y_label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .y_label_formatter(&|v: &f64| compact(*v))
        .draw()
        .map_err(plot_error)?;

    let width = 0.8 / systems.len().max(1) as f64;
    for (system_slot, (system, label)) in systems.iter().enumerate() {
        let color = color(*system);
        let mine: Vec<&Bar> = bars.iter().filter(|b| b.system == system_slot).collect();
        chart
            .draw_series(mine.iter().map(|bar| {
                let x0 = bar.scenario as f64 + 0.1 + width * bar.system as f64;
                Rectangle::new([(x0, low), (x0 + width * 0.92, bar.value)], color.filled())
            }))
            .map_err(plot_error)?
            .label(*label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled()));
        // The value above each bar.
        let style = TextStyle::from((FONT, 12).into_font())
            .pos(Pos::new(HPos::Center, VPos::Bottom))
            .color(&RGBColor(60, 60, 60));
        for bar in &mine {
            let x = bar.scenario as f64 + 0.1 + width * (bar.system as f64 + 0.46);
            let (px, py) = chart.backend_coord(&(x, bar.value));
            root.draw(&Text::new(compact(bar.value), (px, py - 2), style.clone()))
                .map_err(plot_error)?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 15))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()
        .map_err(plot_error)?;

    // Scenario names under their groups.
    let style = TextStyle::from((FONT, 15).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (slot, text) in labels.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(slot as f64 + 0.5, low));
        root.draw(&Text::new(text.to_string(), (px, py + 8), style.clone()))
            .map_err(plot_error)?;
    }
    Ok(())
}

/// 12345 → "12.3k", 0.85 → "0.85".
fn compact(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if value >= 1e4 {
        format!("{:.0}k", value / 1e3)
    } else if value >= 1e3 {
        format!("{:.1}k", value / 1e3)
    } else if value >= 10.0 {
        format!("{value:.0}")
    } else if value >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn register_font() -> Result<()> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = plotters::style::register_font(FONT, FontStyle::Normal, ttf_noto_sans::REGULAR)
            .map_err(|_| anyhow!("the bundled Noto Sans font does not load"));
    });
    result
}

fn plot_error<E: std::fmt::Debug>(error: E) -> anyhow::Error {
    anyhow!("drawing the chart: {error:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_numbers() {
        assert_eq!(compact(40_636.0), "41k");
        assert_eq!(compact(4_612.0), "4.6k");
        assert_eq!(compact(182.0), "182");
        assert_eq!(compact(2.5), "2.5");
        assert_eq!(compact(0.456), "0.46");
        assert_eq!(compact(1_200_000.0), "1.2M");
    }

    #[test]
    fn draws_a_png() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("bench-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("chart.png");
        draw(&crate::report::tests::sample_size(), "test machine", &path)?;
        let bytes = std::fs::read(&path)?;
        assert!(bytes.starts_with(b"\x89PNG"));
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
