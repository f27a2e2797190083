//! Charts drawn as SVG on the server: no script runs in the console, and a screen reader gets
//! each chart's title, a description, and the figures as text.

use maud::{html, Markup};

use super::pages::category;

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
                rect class=(format!("bar {}", category(score as u8).0)) x=(x) y=(top)
                    width=(BAR_WIDTH) height=(bar) {}
                text x=(x + BAR_WIDTH / 2) y=(top - 4) text-anchor="middle" { (n) }
                text x=(x + BAR_WIDTH / 2) y=(height - 4) text-anchor="middle" { (score) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::histogram;

    #[test]
    fn the_tallest_bar_fills_the_plot_and_every_count_is_written_out() {
        let svg = histogram(&[0, 0, 0, 0, 0, 0, 2, 0, 1, 0, 4]).into_string();
        assert!(svg.contains(r#"class="bar promoter" x="404" y="20" width="32" height="120""#));
        assert!(svg.contains(r#"class="bar detractor" x="244" y="80" width="32" height="60""#));
        assert!(svg.contains("Responses per score: 0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 2"));
        assert!(svg.contains("<title id=\"histogram-title\">"));
    }
}
