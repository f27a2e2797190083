//! The survey model: what a site owner configures, and the rules both the widget and the server
//! apply to it (which steps a visitor sees, which loyalty statements they are shown).
//! See `LOYALTY.md` for why these steps and dimensions exist.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Category, Targeting};

/// The most questions one visitor is asked, the NPS question included: survey fatigue is real
/// (`LOYALTY.md` §1), so loyalty statements give way when other steps apply.
pub const MAX_QUESTIONS: usize = 6;

/// The most loyalty statements a site owner may ask per visitor.
pub const MAX_STATEMENTS_PER_VISITOR: u8 = 3;

/// The agree–disagree scale of loyalty statements: 1 strongly disagree … 5 strongly agree.
pub const AGREEMENT_RANGE: std::ops::RangeInclusive<i32> = 1..=5;

/// The Customer Effort Score scale: 1 very difficult … 7 very easy.
pub const EFFORT_RANGE: std::ops::RangeInclusive<i32> = 1..=7;

/// What a loyalty statement measures: one of the five drivers or five stages of loyalty
/// (`LOYALTY.md` §2 and §3).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Driver: treated with respect, clear answers, a reasonable price.
    Fairness,
    /// Driver: reliable, professional, fast.
    ServiceQuality,
    /// Driver: a familiar, welcome customer.
    CommercialFriendship,
    /// Driver: expectations met.
    Satisfaction,
    /// Driver: honest and competent.
    Trust,
    /// Stage: the first choice, better than others.
    Cognitive,
    /// Stage: attachment and belonging.
    Affective,
    /// Stage: more value here than elsewhere.
    Calculative,
    /// Stage: the intention to recommend and come back.
    Conative,
    /// Stage: actually coming back and spending.
    Behavioural,
}

impl Dimension {
    /// Every dimension, drivers first, in the order reports list them.
    pub const ALL: [Dimension; 10] = [
        Self::Fairness,
        Self::ServiceQuality,
        Self::CommercialFriendship,
        Self::Satisfaction,
        Self::Trust,
        Self::Cognitive,
        Self::Affective,
        Self::Calculative,
        Self::Conative,
        Self::Behavioural,
    ];

    /// The snake_case name, which is also the prefix of its statements' ids.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fairness => "fairness",
            Self::ServiceQuality => "service_quality",
            Self::CommercialFriendship => "commercial_friendship",
            Self::Satisfaction => "satisfaction",
            Self::Trust => "trust",
            Self::Cognitive => "cognitive",
            Self::Affective => "affective",
            Self::Calculative => "calculative",
            Self::Conative => "conative",
            Self::Behavioural => "behavioural",
        }
    }

    /// Whether it is one of the five drivers (the rest are stages of loyalty).
    pub fn is_driver(self) -> bool {
        matches!(
            self,
            Self::Fairness
                | Self::ServiceQuality
                | Self::CommercialFriendship
                | Self::Satisfaction
                | Self::Trust
        )
    }

    /// The dimension a statement id such as `trust.honest` belongs to.
    pub fn of_statement(id: &str) -> Option<Self> {
        let (prefix, rest) = id.split_once('.')?;
        if rest.is_empty() {
            return None;
        }
        Self::ALL.into_iter().find(|d| d.as_str() == prefix)
    }
}

/// The effort drivers of `LOYALTY.md` §4 a visitor can tick after the effort question.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EffortDriver {
    /// Had to contact the company more than once.
    ContactedAgain,
    /// Had to repeat the same information.
    RepeatedInformation,
    /// Had to switch channel, e.g. from the website to the phone.
    SwitchedChannel,
    /// Was transferred to someone else.
    Transferred,
}

impl EffortDriver {
    /// Every driver, in the order the checklist shows them.
    pub const ALL: [EffortDriver; 4] = [
        Self::ContactedAgain,
        Self::RepeatedInformation,
        Self::SwitchedChannel,
        Self::Transferred,
    ];

    /// The snake_case name used in JSON and CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ContactedAgain => "contacted_again",
            Self::RepeatedInformation => "repeated_information",
            Self::SwitchedChannel => "switched_channel",
            Self::Transferred => "transferred",
        }
    }
}

/// Who sees a step, by the category of their score.
pub type Audience = Vec<Category>;

/// A thank-you gift shown on the last step: `{"coupon":{"code":"…"}}` or `{"link":{"url":"…"}}`.
/// Externally tagged, like [`Position`]: internally tagged enums make serde buffer the whole
/// object, which costs the widget kilobytes of code.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Reward {
    /// A code to use at the checkout.
    Coupon {
        /// The code itself.
        code: String,
    },
    /// A link to a gift, a download or a discount page.
    Link {
        /// An `https://` or `http://` URL.
        url: String,
    },
}

/// Light, dark, or whatever the visitor's system prefers.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ColorMode {
    /// Follows `prefers-color-scheme`.
    #[default]
    Auto,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

/// Where the card appears: `"bottom_right"`, … or `{"inline":{"selector":"#feedback"}}`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Position {
    /// Floating in the bottom-right corner.
    #[default]
    BottomRight,
    /// Floating in the bottom-left corner.
    BottomLeft,
    /// Floating in the top-right corner.
    TopRight,
    /// Floating in the top-left corner.
    TopLeft,
    /// A full-width bar along the bottom edge.
    BottomBar,
    /// In the page flow, as the last child of the element `selector` names.
    Inline {
        /// A CSS selector, e.g. `#feedback`.
        selector: String,
    },
}

/// How the card looks.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Appearance {
    /// The accent colour, `#rrggbb`.
    pub brand_color: String,
    /// Light, dark or automatic.
    #[serde(default)]
    pub mode: ColorMode,
    /// Where the card appears.
    #[serde(default)]
    pub position: Position,
}

impl Default for Appearance {
    fn default() -> Self {
        Self {
            brand_color: "#1a5fb4".into(),
            mode: ColorMode::Auto,
            position: Position::BottomRight,
        }
    }
}

/// A site's survey as its owner configured it. Every change is saved as a new version, and
/// each response records the version it answered.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SurveyDefinition {
    /// Step 2: the open question tailored to the visitor's category.
    pub open_question: bool,
    /// Step 3: how many loyalty statements each visitor is shown, 0–3.
    pub statements_per_visitor: u8,
    /// The dimensions statements are drawn from; rotation covers all of them across visitors.
    pub dimensions: Vec<Dimension>,
    /// Step 4: who is asked the Customer Effort Score question.
    pub effort: Audience,
    /// Whether the effort question comes with the checklist of effort drivers.
    pub effort_checklist: bool,
    /// Step 5: who is asked whether they may be contacted.
    pub contact: Audience,
    /// Step 6: an optional gift on the thank-you step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward: Option<Reward>,
    /// Per language (`et`, `en`…), message names and the owner's wording for them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub wording: BTreeMap<String, BTreeMap<String, String>>,
    /// Colours and position.
    #[serde(default)]
    pub appearance: Appearance,
    /// Pages, trigger and survey fatigue, applied by the loader.
    #[serde(default)]
    pub targeting: Targeting,
    /// Whether answers record the page's query string along with its path. Off by default:
    /// query strings can carry search terms, tokens and email addresses.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub record_query_string: bool,
}

impl Default for SurveyDefinition {
    /// What a new site starts with: every step of the loyalty flow, effort for detractors,
    /// contact for detractors and passives, no reward.
    fn default() -> Self {
        Self {
            open_question: true,
            statements_per_visitor: 2,
            dimensions: Dimension::ALL.to_vec(),
            effort: vec![Category::Detractor],
            effort_checklist: true,
            contact: vec![Category::Detractor, Category::Passive],
            reward: None,
            wording: BTreeMap::new(),
            appearance: Appearance::default(),
            targeting: Targeting::default(),
            record_query_string: false,
        }
    }
}

/// The steps after the NPS question that one visitor goes through, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Whether the open question is asked.
    pub open_question: bool,
    /// How many loyalty statements are shown.
    pub statements: usize,
    /// Whether the effort question is asked.
    pub effort: bool,
    /// Whether contact consent is asked.
    pub contact: bool,
}

impl SurveyDefinition {
    /// The steps a visitor with a score in `category` goes through. Statements are cut first
    /// when the other steps would take the visitor past [`MAX_QUESTIONS`].
    pub fn plan(&self, category: Category) -> Plan {
        let effort = self.effort.contains(&category);
        let contact = self.contact.contains(&category);
        let other_questions =
            1 + usize::from(self.open_question) + usize::from(effort) + usize::from(contact);
        let wanted = if self.dimensions.is_empty() {
            0
        } else {
            usize::from(self.statements_per_visitor.min(MAX_STATEMENTS_PER_VISITOR))
        };
        Plan {
            open_question: self.open_question,
            statements: wanted.min(MAX_QUESTIONS.saturating_sub(other_questions)),
            effort,
            contact,
        }
    }
}

/// Picks the statements one visitor is shown.
///
/// `statement_ids` are the candidates (ids of statements of the enabled dimensions, each
/// `dimension.name`), `seed` is random per visitor. The enabled dimensions, in
/// [`Dimension::ALL`] order, form a ring; a visitor gets `count` neighbours starting at
/// `seed mod n`, so every dimension is shown to the same share of visitors, `count / n`.
/// Within a dimension the rest of the seed picks which statement, so every statement is used.
pub fn rotate_statements<'a>(statement_ids: &[&'a str], count: usize, seed: u32) -> Vec<&'a str> {
    let mut dimensions: Vec<Dimension> = statement_ids
        .iter()
        .filter_map(|id| Dimension::of_statement(id))
        .collect();
    dimensions.sort_unstable();
    dimensions.dedup();
    let n = dimensions.len();
    if n == 0 {
        return Vec::new();
    }
    let seed = seed as usize;
    let start = seed % n;
    let within = seed / n;
    (0..count.min(n))
        .filter_map(|offset| {
            let dimension = dimensions[(start + offset) % n];
            let mut candidates: Vec<&'a str> = statement_ids
                .iter()
                .copied()
                .filter(|id| Dimension::of_statement(id) == Some(dimension))
                .collect();
            candidates.sort_unstable();
            candidates.get(within % candidates.len()).copied()
        })
        .collect()
}

/// Whether `address` is an email address a visitor could be written to: the HTML
/// `input type=email` rule (a pragmatic subset of RFC 5322 that browsers enforce) plus a dot in
/// the domain, since a mailbox on a bare host name is almost always a typo.
pub fn is_valid_email(address: &str) -> bool {
    const LOCAL_SPECIALS: &str = ".!#$%&'*+/=?^_`{|}~-";
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || LOCAL_SPECIALS.contains(c));
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    local_ok && address.len() <= 254 && domain.contains('.') && domain.split('.').all(label_ok)
}

/// Whether `color` is a `#rrggbb` colour.
pub fn is_hex_color(color: &str) -> bool {
    color.len() == 7 && color.starts_with('#') && color[1..].chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bank() -> Vec<String> {
        Dimension::ALL
            .iter()
            .flat_map(|d| ["a", "b"].map(|s| format!("{}.{s}", d.as_str())))
            .collect()
    }

    /// A small deterministic generator, so the simulated visitors are the same on every run.
    fn xorshift(state: &mut u32) -> u32 {
        *state ^= *state << 13;
        *state ^= *state >> 17;
        *state ^= *state << 5;
        *state
    }

    fn coverage(seeds: impl Iterator<Item = u32>, count: usize) -> BTreeMap<String, usize> {
        let ids = bank();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut shown = BTreeMap::new();
        for seed in seeds {
            let picked = rotate_statements(&ids, count, seed);
            assert_eq!(picked.len(), count, "every visitor gets {count} statements");
            let mut dims: Vec<_> = picked
                .iter()
                .map(|id| Dimension::of_statement(id))
                .collect();
            dims.dedup();
            assert_eq!(
                dims.len(),
                count,
                "no dimension twice for one visitor: {picked:?}"
            );
            for id in picked {
                *shown.entry(id.to_owned()).or_insert(0) += 1;
            }
        }
        shown
    }

    fn per_dimension(shown: &BTreeMap<String, usize>) -> BTreeMap<Dimension, usize> {
        let mut totals = BTreeMap::new();
        for (id, n) in shown {
            *totals
                .entry(Dimension::of_statement(id).unwrap())
                .or_insert(0) += n;
        }
        totals
    }

    #[test]
    fn rotation_covers_every_dimension_evenly_over_300_random_visitors() {
        let mut state = 0x5eed_u32;
        let shown = coverage((0..300).map(|_| xorshift(&mut state)), 3);
        let totals = per_dimension(&shown);
        assert_eq!(totals.len(), 10, "every dimension shown: {totals:?}");
        // 300 visitors × 3 statements over 10 dimensions: 90 each on average.
        for (dimension, n) in &totals {
            assert!(
                (70..=110).contains(n),
                "{dimension:?} shown {n} times, expected about 90"
            );
        }
        assert_eq!(
            shown.len(),
            20,
            "every statement of every dimension is used: {shown:?}"
        );
    }

    #[test]
    fn rotation_is_exactly_even_for_consecutive_seeds() {
        let totals = per_dimension(&coverage(0..300, 3));
        assert!(totals.values().all(|&n| n == 90), "{totals:?}");
    }

    #[test]
    fn rotation_uses_only_what_is_enabled() {
        let ids = ["trust.honest", "trust.competent", "fairness.respect"];
        for seed in 0..20 {
            let picked = rotate_statements(&ids, 3, seed);
            assert_eq!(picked.len(), 2, "two dimensions enabled, so two statements");
        }
        assert!(rotate_statements(&[], 3, 7).is_empty());
    }

    #[test]
    fn the_plan_follows_the_audiences_and_never_asks_more_than_six_things() {
        let mut survey = SurveyDefinition {
            statements_per_visitor: 3,
            ..SurveyDefinition::default()
        };
        let detractor = survey.plan(Category::Detractor);
        assert!(detractor.effort && detractor.contact && detractor.open_question);
        assert_eq!(
            detractor.statements, 2,
            "NPS + open + effort + contact leave room for 2"
        );
        let passive = survey.plan(Category::Passive);
        assert!(!passive.effort && passive.contact);
        assert_eq!(passive.statements, 3);
        let promoter = survey.plan(Category::Promoter);
        assert!(!promoter.effort && !promoter.contact);
        survey.dimensions.clear();
        assert_eq!(survey.plan(Category::Promoter).statements, 0);
    }

    #[test]
    fn statement_ids_name_their_dimension() {
        assert_eq!(
            Dimension::of_statement("trust.honest"),
            Some(Dimension::Trust)
        );
        assert_eq!(
            Dimension::of_statement("service_quality.fast"),
            Some(Dimension::ServiceQuality)
        );
        assert_eq!(Dimension::of_statement("trust."), None);
        assert_eq!(Dimension::of_statement("loyalty.x"), None);
        assert_eq!(Dimension::of_statement("trust"), None);
    }

    #[test]
    fn emails_are_checked_like_browsers_do_plus_a_dotted_domain() {
        for good in ["mari@example.ee", "a.b+tag@mail.example.com", "o'neil@x.io"] {
            assert!(is_valid_email(good), "{good}");
        }
        for bad in [
            "",
            "mari",
            "mari@",
            "@example.ee",
            "mari@localhost",
            "mari@@example.ee",
            "mari @example.ee",
            "mari@-example.ee",
            "mari@example..ee",
            "<script>@x.ee",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
        assert!(!is_valid_email(&format!("{}@example.ee", "a".repeat(65))));
    }

    #[test]
    fn definitions_round_trip_and_refuse_unknown_fields() {
        let survey = SurveyDefinition {
            reward: Some(Reward::Coupon {
                code: "AITÄH10".into(),
            }),
            appearance: Appearance {
                position: Position::Inline {
                    selector: "#feedback".into(),
                },
                ..Appearance::default()
            },
            ..SurveyDefinition::default()
        };
        let json = serde_json::to_string(&survey).unwrap();
        assert!(
            json.contains(r##""position":{"inline":{"selector":"#feedback"}}"##),
            "{json}"
        );
        assert_eq!(
            serde_json::from_str::<SurveyDefinition>(&json).unwrap(),
            survey
        );
        let typo = json.replace("effort_checklist", "effort_checklst");
        assert!(serde_json::from_str::<SurveyDefinition>(&typo).is_err());
        assert!(is_hex_color("#A0b1c2") && !is_hex_color("red") && !is_hex_color("#12345g"));
    }
}
