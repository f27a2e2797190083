//! Charts drawn as SVG on the server: no script runs in the console, and a screen reader gets
//! each chart's title, a description, and the figures as text.

use maud::{html, Markup};

use soovita_wire::{Category, TrendPoint};

const BAR_WIDTH: u32 = 32;
const GAP: u32 = 8;
const PLOT_HEIGHT: u32 = 120;
/// Room under the bars for the score labels, and above them for the counts.
const MARGIN: u32 = 20;

/// The 0–10 distribution: one bar per score, coloured by category, its count above it.
pub fn histogram(counts: &[u64; 11]) -> Markup {
    let tallest = counts.iter().copied().max().unwrap_or(0).max(1);
    let width = 11 * (BAR_WIDTH + GAP);
    let height = PLOT_HEIGHT + 2 * MARGIN;
    let description = counts
        .iter()
        .enumerate()
        .map(|(score, n)| format!("{score}: {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    html! {
        svg viewBox=(format!("0 0 {width} {height}")) role="img"
            aria-labelledby="histogram-title histogram-desc" {
            title #histogram-title { "Responses by score, 0 to 10" }
            desc #histogram-desc { "Responses per score: " (description) "." }
            @for (score, &n) in counts.iter().enumerate() {
                @let bar = (n as f64 / tallest as f64 * f64::from(PLOT_HEIGHT)).round() as u32;
                @let x = score as u32 * (BAR_WIDTH + GAP) + GAP / 2;
                @let top = MARGIN + PLOT_HEIGHT - bar;
                rect class=(format!("bar {}", Category::from_score(score as u8).as_str())) x=(x) y=(top)
                    width=(BAR_WIDTH) height=(bar) {}
                text x=(x + BAR_WIDTH / 2) y=(top - 4) text-anchor="middle" { (n) }
                text x=(x + BAR_WIDTH / 2) y=(height - 4) text-anchor="middle" { (score) }
            }
        }
    }
}

const TREND_WIDTH: u32 = 640;
const TREND_HEIGHT: u32 = 220;
/// Above and below the plot.
const TREND_MARGIN: u32 = 30;
/// Left and right of it: room for the axis labels and for half a date under the end points.
const TREND_SIDE: u32 = 45;

/// NPS per period as a line, with its 95% interval as a band around it, from −100 to 100.
pub fn trend(points: &[TrendPoint]) -> Markup {
    let plot_width = f64::from(TREND_WIDTH - 2 * TREND_SIDE);
    let plot_height = f64::from(TREND_HEIGHT - 2 * TREND_MARGIN);
    let x = |index: usize| match points.len() {
        1 => f64::from(TREND_WIDTH) / 2.0,
        n => f64::from(TREND_SIDE) + plot_width / (n - 1) as f64 * index as f64,
    };
    let y = |nps: f64| {
        f64::from(TREND_MARGIN) + (100.0 - nps.clamp(-100.0, 100.0)) / 200.0 * plot_height
    };
    let upper = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.nps + p.margin_of_error)));
    let lower = points
        .iter()
        .enumerate()
        .rev()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.nps - p.margin_of_error)));
    let band = upper.chain(lower).collect::<Vec<_>>().join(" ");
    let line = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.nps)))
        .collect::<Vec<_>>()
        .join(" ");
    let describe = |p: &TrendPoint| {
        format!(
            "{}: {:.0} ± {:.1} (n = {})",
            p.start, p.nps, p.margin_of_error, p.responses
        )
    };
    let description = points.iter().map(describe).collect::<Vec<_>>().join("; ");
    html! {
        svg.trend viewBox=(format!("0 0 {TREND_WIDTH} {TREND_HEIGHT}")) role="img"
            aria-labelledby="trend-title trend-desc" {
            title #trend-title { "NPS over time, with its 95% interval" }
            desc #trend-desc { "NPS per period: " (description) "." }
            @for nps in [100, 0, -100] {
                line.grid x1=(TREND_SIDE) x2=(TREND_WIDTH - TREND_SIDE)
                    y1=(format!("{:.1}", y(f64::from(nps)))) y2=(format!("{:.1}", y(f64::from(nps)))) {}
                text x="2" y=(format!("{:.1}", y(f64::from(nps)) + 4.0)) { (nps) }
            }
            polygon.band points=(band) {}
            polyline.line points=(line) {}
            @for (i, point) in points.iter().enumerate() {
                line.whisker x1=(format!("{:.1}", x(i))) x2=(format!("{:.1}", x(i)))
                    y1=(format!("{:.1}", y(point.nps + point.margin_of_error)))
                    y2=(format!("{:.1}", y(point.nps - point.margin_of_error))) {}
                circle.point cx=(format!("{:.1}", x(i))) cy=(format!("{:.1}", y(point.nps))) r="4" {
                    title { (describe(point)) }
                }
                text x=(format!("{:.1}", x(i))) y=(TREND_HEIGHT - 8) text-anchor="middle" { (point.start) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{histogram, trend};
    use soovita_wire::TrendPoint;

    #[test]
    fn the_tallest_bar_fills_the_plot_and_every_count_is_written_out() {
        let svg = histogram(&[0, 0, 0, 0, 0, 0, 2, 0, 1, 0, 4]).into_string();
        assert!(svg.contains(r#"class="bar promoter" x="404" y="20" width="32" height="120""#));
        assert!(svg.contains(r#"class="bar detractor" x="244" y="80" width="32" height="60""#));
        assert!(svg.contains("Responses per score: 0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 2"));
        assert!(svg.contains("<title id=\"histogram-title\">"));
    }

    #[test]
    fn the_interval_band_surrounds_the_line() {
        let point = |start: &str, nps, margin| TrendPoint {
            start: start.into(),
            responses: 40,
            nps,
            margin_of_error: margin,
        };
        let svg = trend(&[
            point("2026-10-01", 20.0, 10.0),
            point("2026-11-01", -40.0, 80.0),
        ])
        .into_string();
        // y runs from 30 (NPS 100) to 190 (NPS −100), 0.8 per point: 20 ± 10 spans y 86 to
        // 102; −40 ± 80 reaches up to 40 (y 78) and down past −100, where the band is cut.
        assert!(
            svg.contains(r#"points="45.0,86.0 595.0,78.0 595.0,190.0 45.0,102.0""#),
            "{svg}"
        );
        assert!(svg.contains(r#"points="45.0,94.0 595.0,142.0""#), "{svg}");
        assert!(
            svg.contains(r#"x1="595.0" x2="595.0" y1="78.0" y2="190.0""#),
            "{svg}"
        );
        assert!(svg.contains("2026-11-01: -40 ± 80.0 (n = 40)"));
    }
}
