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

#[cfg(test)]
mod tests {
    //! The expected figures are worked out by hand (or with a calculator from the textbook
    //! formulas), not with this module's code.

    use soovita_wire::Dimension;

    use super::{
        categories, effort, key_driver, nps_with_margin, results, DayScores, DimensionSums,
        ResultSums, TrendInterval,
    };

    fn close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < 1e-9,
            "{actual} is not {expected}"
        );
    }

    #[test]
    fn nps_and_its_margin() {
        assert_eq!(nps_with_margin(0, 0, 0), None, "no responses, no NPS");
        // One promoter: NPS 100, and with no spread at all no margin.
        assert_eq!(nps_with_margin(1, 0, 0), Some((100.0, 0.0)));
        assert_eq!(nps_with_margin(0, 0, 1), Some((-100.0, 0.0)));
        // All passives: 0, and again nothing varies.
        assert_eq!(nps_with_margin(0, 7, 0), Some((0.0, 0.0)));
        // 5 promoters, 3 passives, 2 detractors: p = 0.5, d = 0.2, NPS = 30;
        // margin = 100 × 1.96 × √((0.5 + 0.2 − 0.3²) / 10) = 100 × 1.96 × √0.061.
        let (nps, margin) = nps_with_margin(5, 3, 2).unwrap();
        close(nps, 30.0);
        close(margin, 48.407_539_501_852_56);
    }

    #[test]
    fn scores_fall_into_categories_at_6_and_8() {
        let one_each = [1; 11];
        assert_eq!(categories(&one_each), (2, 2, 7));
        let mut edges = [0; 11];
        (edges[6], edges[7], edges[8], edges[9]) = (1, 10, 100, 1000);
        assert_eq!(categories(&edges), (1000, 110, 1));
    }

    fn sums(x: &[i64], y: &[i64]) -> DimensionSums {
        DimensionSums {
            dimension: "trust".into(),
            answers: x.len() as i64,
            agree: x.iter().filter(|&&x| x >= 4).count() as i64,
            sum_x: x.iter().sum(),
            sum_xx: x.iter().map(|x| x * x).sum(),
            sum_y: y.iter().sum(),
            sum_yy: y.iter().map(|y| y * y).sum(),
            sum_xy: x.iter().zip(y).map(|(x, y)| x * y).sum(),
        }
    }

    #[test]
    fn pearson_r_with_fishers_interval() {
        let x = [1, 2, 3, 4, 5, 1, 2, 3, 4, 5];
        let y = [0, 3, 4, 8, 9, 2, 2, 6, 7, 10];
        // n = 10, Σx = 30, Σy = 51, Σx² = 110, Σy² = 363, Σxy = 197:
        // r = (10·197 − 30·51) / √((10·110 − 30²)(10·363 − 51²)) = 440 / √(200 · 1029).
        let driver = key_driver(Dimension::Trust, &sums(&x, &y)).unwrap();
        close(driver.correlation, 440.0 / (200.0_f64 * 1029.0).sqrt());
        close(driver.correlation, 0.969_906_771_190_292_1);
        // Fisher: tanh(atanh(r) ± 1.96 / √(n − 3)).
        close(driver.low, 0.874_035_324_426_693_6);
        close(driver.high, 0.993_080_097_407_369_1);
        close(driver.mean_agreement, 3.0);
        assert_eq!(driver.answers, 10);
        // Reversed scores: the same strength, the other way, the interval mirrored.
        let reversed: Vec<i64> = y.iter().map(|y| 10 - y).collect();
        let driver = key_driver(Dimension::Trust, &sums(&x, &reversed)).unwrap();
        close(driver.correlation, -0.969_906_771_190_292_1);
        close(driver.high, -0.874_035_324_426_693_6);
    }

    #[test]
    fn no_driver_from_too_few_answers_or_no_variation() {
        let x = [1, 2, 3, 4, 5, 1, 2, 3, 4];
        let y = [0, 3, 4, 8, 9, 2, 2, 6, 7];
        assert!(
            key_driver(Dimension::Trust, &sums(&x, &y)).is_none(),
            "n = 9"
        );
        let same = [4; 12];
        let scores = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10];
        assert!(key_driver(Dimension::Trust, &sums(&same, &scores)).is_none());
        assert!(key_driver(Dimension::Trust, &sums(&scores, &same)).is_none());
        assert!(
            key_driver(Dimension::Trust, &sums(&[], &[])).is_none(),
            "n = 0"
        );
    }

    #[test]
    fn effort_mean_and_difficult_share() {
        let mut sums = ResultSums::default();
        assert!(effort(&sums).is_none());
        // One answer of 1 and one of 7: mean 4, half of them difficult (1–3).
        (sums.effort[0], sums.effort[6]) = (1, 1);
        sums.effort_drivers = [1, 0, 0, 2];
        let summary = effort(&sums).unwrap();
        close(summary.mean, 4.0);
        close(summary.difficult_share, 0.5);
        close(summary.drivers[0].share, 0.5);
        close(summary.drivers[3].share, 1.0);
    }

    #[test]
    fn periods_start_on_mondays_and_first_days_of_months() {
        // 1970-01-01 (day 0) was a Thursday; its week began on Monday 1969-12-29 (day −3).
        assert_eq!(TrendInterval::Week.start(0), -3);
        assert_eq!(TrendInterval::Week.start(4), 4, "1970-01-05 was a Monday");
        // Day 40 is 1970-02-10; February began on day 31.
        assert_eq!(TrendInterval::Month.start(40), 31);
    }

    #[test]
    fn empty_sums_give_no_figures() {
        let figures = results(&ResultSums::default(), TrendInterval::Month);
        assert_eq!((figures.responses, figures.nps), (0, None));
        assert!(figures.trend.is_empty() && figures.key_drivers.is_empty());
        assert!(figures.focus.is_none() && figures.effort.is_none());
    }

    #[test]
    fn the_trend_sums_days_into_months() {
        let day = |day, promoters, detractors| {
            let mut scores = [0; 11];
            (scores[10], scores[0]) = (promoters, detractors);
            DayScores { day, scores }
        };
        // January 1970: 3 promoters, 1 detractor (NPS 50); February: 1 detractor (NPS −100).
        let sums = ResultSums {
            days: vec![day(0, 1, 1), day(30, 2, 0), day(31, 0, 1)],
            ..ResultSums::default()
        };
        let trend = results(&sums, TrendInterval::Month).trend;
        let points: Vec<(&str, u64, f64)> = trend
            .iter()
            .map(|p| (p.start.as_str(), p.responses, p.nps))
            .collect();
        assert_eq!(points, [("1970-01-01", 4, 50.0), ("1970-02-01", 1, -100.0)]);
    }
}
