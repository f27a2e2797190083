//! From the database's sums to the figures the owner reads: NPS with its margin of error, the
//! score distribution, agreement per dimension, and which driver goes with the score. The sums
//! and the rollups that keep them fast are in `store.rs`.

use soovita_wire::{
    Category, Dimension, DimensionScore, EffortDriver, EffortDriverShare, EffortSummary, KeyDriver,
    SiteResults, TrendPoint,
};

mod store;

pub use store::{DayScores, DimensionSums, ResultStore, ResultSums, MAX_DAYS_PER_STEP};

use std::time::Duration;

use crate::db::StoreError;
use crate::sites::SiteStore;

/// Rolls up every site's days before the day before yesterday (UTC): the database marks changes
/// to days before yesterday as late (migration 0010), which leaves a day's margin for clocks.
pub async fn roll_up_all<S: SiteStore + ResultStore + ?Sized>(
    store: &S,
    now_ms: i64,
) -> Result<(), StoreError> {
    let until_day = now_ms.div_euclid(86_400_000) - 2;
    for site in store.sites().await? {
        while store.roll_up(&site.id, until_day).await? {
            // Each step holds the write lock; let waiting answers in between.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    Ok(())
}

/// The normal quantile of a two-sided 95% interval.
const Z_95: f64 = 1.959_963_984_540_054;

/// Correlations need a few answers before Fisher's interval means anything.
const MIN_DRIVER_ANSWERS: i64 = 10;

/// How long one point of the trend is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrendInterval {
    /// Monday to Sunday (UTC).
    Week,
    /// A calendar month (UTC).
    #[default]
    Month,
}

impl TrendInterval {
    /// `week` or `month`; nothing means month.
    pub fn parse(name: Option<&str>) -> Option<Self> {
        match name.unwrap_or_default() {
            "week" => Some(Self::Week),
            "month" | "" => Some(Self::Month),
            _ => None,
        }
    }

    /// The first day of the period `day` (days since 1970-01-01) falls in.
    fn start(self, day: i64) -> i64 {
        match self {
            // 1970-01-01 was a Thursday: Monday-based weeks start 3 days later in the cycle.
            Self::Week => day - (day + 3).rem_euclid(7),
            Self::Month => {
                let date = date_of(day);
                day - i64::from(date.day()) + 1
            }
        }
    }
}

fn date_of(day: i64) -> time::Date {
    time::OffsetDateTime::from_unix_timestamp(day * 86_400)
        .map(|at| at.date())
        .unwrap_or(time::Date::MIN)
}

/// NPS and its margin from category counts: each response is +1, 0 or −1, and the margin is
/// 1.96 standard errors of their mean, whose variance is (p + d − (p − d)²) / n.
fn nps_with_margin(promoters: u64, passives: u64, detractors: u64) -> Option<(f64, f64)> {
    let responses = promoters + passives + detractors;
    if responses == 0 {
        return None;
    }
    let n = responses as f64;
    let (p, d) = (promoters as f64 / n, detractors as f64 / n);
    let variance = (p + d - (p - d).powi(2)) / n;
    Some((100.0 * (p - d), 100.0 * Z_95 * variance.sqrt()))
}

/// The figures of `sums`, with the trend in points of `interval`.
pub fn results(sums: &ResultSums, interval: TrendInterval) -> SiteResults {
    let histogram = sums.histogram();
    let responses: u64 = histogram.iter().sum();
    let (promoters, passives, detractors) = categories(&histogram);
    let overall = nps_with_margin(promoters, passives, detractors);
    let (nps, margin_of_error) = (overall.map(|o| o.0), overall.map(|o| o.1));
    let of = |dimension: Dimension| {
        sums.dimensions
            .iter()
            .find(|d| d.dimension == dimension.as_str() && d.answers > 0)
    };
    let dimensions = Dimension::ALL
        .into_iter()
        .filter_map(|dimension| {
            let sums = of(dimension)?;
            Some(DimensionScore {
                dimension,
                answers: sums.answers as u64,
                mean_agreement: sums.sum_x as f64 / sums.answers as f64,
                agree_share: sums.agree as f64 / sums.answers as f64,
            })
        })
        .collect();
    let mut key_drivers: Vec<KeyDriver> = Dimension::ALL
        .into_iter()
        .filter(|dimension| dimension.is_driver())
        .filter_map(|dimension| key_driver(dimension, of(dimension)?))
        .collect();
    key_drivers.sort_by(|a, b| b.correlation.total_cmp(&a.correlation));
    let focus = focus(&key_drivers);
    let effort = effort(sums);
    let trend = trend(sums, interval);
    SiteResults {
        responses,
        nps,
        margin_of_error,
        promoters,
        passives,
        detractors,
        histogram,
        dimensions,
        key_drivers,
        focus,
        effort,
        trend,
    }
}

/// Promoters, passives and detractors among responses by score.
fn categories(scores: &[u64; 11]) -> (u64, u64, u64) {
    let (mut promoters, mut passives, mut detractors) = (0, 0, 0);
    for (score, n) in (0u8..).zip(scores) {
        *match Category::from_score(score) {
            Category::Promoter => &mut promoters,
            Category::Passive => &mut passives,
            Category::Detractor => &mut detractors,
        } += n;
    }
    (promoters, passives, detractors)
}

/// The days' counts summed per period.
fn trend(sums: &ResultSums, interval: TrendInterval) -> Vec<TrendPoint> {
    let mut periods: std::collections::BTreeMap<i64, [u64; 11]> = Default::default();
    for day in &sums.days {
        let period = periods.entry(interval.start(day.day)).or_default();
        for (total, n) in period.iter_mut().zip(day.scores) {
            *total += n;
        }
    }
    periods
        .into_iter()
        .filter_map(|(start, scores)| {
            let (p, passive, d) = categories(&scores);
            let (nps, margin_of_error) = nps_with_margin(p, passive, d)?;
            Some(TrendPoint {
                start: date_of(start).to_string(),
                responses: p + passive + d,
                nps,
                margin_of_error,
            })
        })
        .collect()
}

/// The effort question's mean and share of difficult answers, and each driver's frequency.
fn effort(sums: &ResultSums) -> Option<EffortSummary> {
    let answers: u64 = sums.effort.iter().sum();
    if answers == 0 {
        return None;
    }
    let n = answers as f64;
    let total: u64 = (1..)
        .zip(sums.effort)
        .map(|(value, count)| value * count)
        .sum();
    Some(EffortSummary {
        answers,
        mean: total as f64 / n,
        difficult_share: sums.effort[..3].iter().sum::<u64>() as f64 / n,
        drivers: EffortDriver::ALL
            .into_iter()
            .zip(sums.effort_drivers)
            .map(|(driver, ticked)| EffortDriverShare {
                driver,
                ticked,
                share: ticked as f64 / n,
                study_share: driver.study_share(),
            })
            .collect(),
    })
}

/// Pearson's r of agreement and score from their sums, with Fisher's 95% interval; `None`
/// with too few answers or when either never varies.
fn key_driver(dimension: Dimension, sums: &DimensionSums) -> Option<KeyDriver> {
    if sums.answers < MIN_DRIVER_ANSWERS {
        return None;
    }
    let n = sums.answers as f64;
    let covariance = n * sums.sum_xy as f64 - sums.sum_x as f64 * sums.sum_y as f64;
    let spread_x = n * sums.sum_xx as f64 - (sums.sum_x as f64).powi(2);
    let spread_y = n * sums.sum_yy as f64 - (sums.sum_y as f64).powi(2);
    if spread_x <= 0.0 || spread_y <= 0.0 {
        return None;
    }
    let correlation = (covariance / (spread_x * spread_y).sqrt()).clamp(-1.0, 1.0);
    let z = correlation.clamp(-0.999_999, 0.999_999).atanh();
    let half_width = Z_95 / (n - 3.0).sqrt();
    Some(KeyDriver {
        dimension,
        answers: sums.answers as u64,
        correlation,
        low: (z - half_width).tanh(),
        high: (z + half_width).tanh(),
        mean_agreement: sums.sum_x as f64 / n,
    })
}

/// The driver to work on first: of those whose interval lies clearly above zero and whose
/// correlation is at least half the strongest one's, the least agreed with. A strong relation
/// says fixing it would move the score; low agreement says there is room to fix.
fn focus(ranked: &[KeyDriver]) -> Option<String> {
    let strongest = ranked.first()?.correlation;
    let chosen = ranked
        .iter()
        .filter(|d| d.low > 0.0 && d.correlation >= strongest / 2.0)
        .min_by(|a, b| a.mean_agreement.total_cmp(&b.mean_agreement))?;
    Some(format!(
        "Work on {} first: it goes with the score (r = {:.2}, n = {}) and is agreed with least \
         ({:.1} of 5).",
        chosen.dimension.as_str().replace('_', " "),
        chosen.correlation,
        chosen.answers,
        chosen.mean_agreement
    ))
}
