//! What the owner's results endpoint answers: the score, how sure it is, and what drives it.

use serde::{Deserialize, Serialize};

use crate::{Dimension, EffortDriver};

/// `GET /v1/sites/{site_id}/results`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteResults {
    /// How many responses the figures are computed from.
    pub responses: u64,
    /// Net Promoter Score, −100 to 100: % promoters (9–10) minus % detractors (0–6).
    /// `None` without responses.
    pub nps: Option<f64>,
    /// Half the width of the 95% confidence interval of `nps`, in NPS points. Each response is
    /// +1 (promoter), 0 (passive) or −1 (detractor); the margin is 1.96 times the standard error
    /// of their mean, whose variance is (p + d − (p − d)²) / n for shares p and d.
    pub margin_of_error: Option<f64>,
    /// Scores 9–10.
    pub promoters: u64,
    /// Scores 7–8: satisfied but not loyal.
    pub passives: u64,
    /// Scores 0–6.
    pub detractors: u64,
    /// How many responses gave each score, 0 to 10.
    pub histogram: [u64; 11],
    /// Every dimension with at least one answered statement, in report order.
    pub dimensions: Vec<DimensionScore>,
    /// The five drivers by how strongly agreement relates to the score, strongest first.
    pub key_drivers: Vec<KeyDriver>,
    /// One plain sentence naming the driver to work on first, when one stands out: clearly
    /// related to the score and with the lowest agreement among those.
    pub focus: Option<String>,
    /// The Customer Effort Score question and its checklist; `None` when nobody answered it.
    pub effort: Option<EffortSummary>,
    /// NPS per week (from Monday) or per calendar month, oldest first; periods without
    /// responses are left out.
    pub trend: Vec<TrendPoint>,
}

/// The NPS of one week or month, with its own margin of error.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrendPoint {
    /// The period's first day, `YYYY-MM-DD` (UTC).
    pub start: String,
    /// Responses in the period.
    pub responses: u64,
    /// The period's NPS.
    pub nps: f64,
    /// Half the width of its 95% confidence interval.
    pub margin_of_error: f64,
}

/// How easy visitors found it (1 very difficult to 7 very easy) and what made it hard, beside
/// the figures of the CEB study in LOYALTY.md §4 (seed 003).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EffortSummary {
    /// Responses that answered the effort question.
    pub answers: u64,
    /// Their mean, 1 to 7.
    pub mean: f64,
    /// The share that answered 1 to 3 (difficult), 0 to 1; the study: 0.30.
    pub difficult_share: f64,
    /// Each checklist item: how many of those responses ticked it.
    pub drivers: Vec<EffortDriverShare>,
}

/// One effort driver's frequency, and the study's for comparison where it gives one.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EffortDriverShare {
    /// The driver.
    pub driver: EffortDriver,
    /// Responses with an effort answer that ticked it.
    pub ticked: u64,
    /// `ticked` over the responses with an effort answer, 0 to 1.
    pub share: f64,
    /// The CEB study's share: 0.62 contacted again, 0.56 repeated information, 0.57 switched
    /// channel; none for transfers.
    pub study_share: Option<f64>,
}

impl EffortDriver {
    /// The share of customers the CEB study (LOYALTY.md §4) found this happening to.
    pub fn study_share(self) -> Option<f64> {
        match self {
            Self::ContactedAgain => Some(0.62),
            Self::RepeatedInformation => Some(0.56),
            Self::SwitchedChannel => Some(0.57),
            Self::Transferred => None,
        }
    }
}

/// Agreement with one dimension's statements. Rotation shows each visitor only a few
/// statements, so each dimension has its own `answers`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DimensionScore {
    /// The dimension.
    pub dimension: Dimension,
    /// Answered statements of this dimension.
    pub answers: u64,
    /// Mean agreement, 1 (disagree strongly) to 5 (agree strongly).
    pub mean_agreement: f64,
    /// The share of answers that agree (4 or 5), 0 to 1.
    pub agree_share: f64,
}

/// How strongly agreement with one driver relates to the score.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyDriver {
    /// The driver.
    pub dimension: Dimension,
    /// Responses that answered one of its statements.
    pub answers: u64,
    /// Pearson's correlation of agreement with the 0–10 score, −1 to 1.
    pub correlation: f64,
    /// The 95% confidence interval of `correlation` (Fisher's z), lower end.
    pub low: f64,
    /// The 95% confidence interval of `correlation`, upper end.
    pub high: f64,
    /// Mean agreement, 1 to 5.
    pub mean_agreement: f64,
}
