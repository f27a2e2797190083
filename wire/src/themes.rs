//! What the owner's themes endpoint answers: the words and phrases each group's comments use
//! distinctly more than the others', by the weighted log-odds ratio with an informative
//! Dirichlet prior (Monroe, Colaresi & Quinn 2008, "Fightin' Words").

use serde::{Deserialize, Serialize};

/// `GET /v1/sites/{site_id}/themes`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Themes {
    /// Comments the lists are computed from, per group.
    pub comments: GroupComments,
    /// What detractors (0–6) write about more than promoters.
    pub detractors: ThemeList,
    /// What promoters (9–10) write about more than detractors.
    pub promoters: ThemeList,
    /// What passives (7–8) write about more than everyone else.
    pub passives: ThemeList,
}

/// Comments with at least one counted word, per group.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupComments {
    /// From scores 0–6.
    pub detractors: u64,
    /// From scores 7–8.
    pub passives: u64,
    /// From scores 9–10.
    pub promoters: u64,
}

/// One group's distinctive terms against another.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThemeList {
    /// How many more comments the two sides need before terms are listed: each side needs
    /// `min_comments`. 0 when there are enough.
    pub more_comments_needed: u64,
    /// Comments each side needs.
    pub min_comments: u64,
    /// At most 15 terms with |z| ≥ 1.96 used in at least 5 of the group's comments, the most
    /// distinctive first.
    pub terms: Vec<Theme>,
}

/// A word or two-word phrase, by its stem.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Theme {
    /// As it is shown: the most frequent form of the stem in these comments, lower-cased.
    pub term: String,
    /// The language of the comments it comes from (stems are per language).
    pub lang: String,
    /// The stem (or two stems, space-separated): what the comments were counted by.
    pub key: String,
    /// The weighted log-odds ratio of the group against the other side (natural log).
    pub log_odds: f64,
    /// `log_odds` over its standard deviation.
    pub z: f64,
    /// The group's comments that use it.
    pub comments: u64,
    /// The other side's comments that use it.
    pub other_comments: u64,
    /// `comments` over the group's comments, 0 to 1.
    pub share: f64,
    /// `other_comments` over the other side's comments, 0 to 1.
    pub other_share: f64,
}
