//! What detractors talk about and what promoters praise: the terms each group's comments use
//! distinctly more than the other side's, by the weighted log-odds ratio with an informative
//! Dirichlet prior (Monroe, Colaresi & Quinn 2008, "Fightin' Words", §3.5). Nothing leaves the
//! server: the text is read here (`text.rs`), counted per settled day into rollups beside the
//! results' (`store.rs`), and compared here.
//!
//! A term's count in a group is the number of the group's comments that use it (once per
//! comment), `y`; `n` is the sum of those counts over every term. The prior of a term is its
//! count over all comments of the selection, every group, `α_w`, and `α_0 = Σ α_w`: the
//! selection's own vocabulary, so a term everybody uses is pulled towards no difference and a
//! rare one needs many uses to stand out. For group `a` against `b`:
//!
//! ```text
//! δ_w = ln((y_aw + α_w) / (n_a + α_0 − y_aw − α_w)) − ln((y_bw + α_w) / (n_b + α_0 − y_bw − α_w))
//! σ²(δ_w) ≈ 1 / (y_aw + α_w) + 1 / (y_bw + α_w)          z_w = δ_w / σ(δ_w)
//! ```

pub mod store;
pub mod text;

use std::collections::HashMap;

use soovita_wire::{Category, GroupComments, Theme, ThemeList, Themes};

pub use store::{Mention, ThemeStore};

/// A term is listed only this far from no difference: |z| of a two-sided 95% test.
pub const MIN_Z: f64 = 1.96;

/// A term is listed only if at least this many of the group's comments use it.
pub const MIN_TERM_COMMENTS: u64 = 5;

/// Each side of a comparison needs this many comments before any term is listed: below it, a
/// term in 5 comments is a large share by chance.
pub const MIN_GROUP_COMMENTS: u64 = 30;

/// The most terms a list shows.
pub const TERMS_SHOWN: usize = 15;

/// A term as counted: the language whose stems it is made of, and its stem or stems.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TermKey {
    pub lang: String,
    pub key: String,
}

/// Comments per category: detractors, passives, promoters.
pub type ByCategory = [u64; 3];

fn slot(score: u8) -> usize {
    match Category::from_score(score) {
        Category::Detractor => 0,
        Category::Passive => 1,
        Category::Promoter => 2,
    }
}

/// Term counts of a set of comments: what a day's rollup holds, and what a selection adds up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Comments with at least one term, per language.
    pub comments: HashMap<String, ByCategory>,
    /// The sum of every term's count, per language: `n` of the formula, kept apart so that
    /// a selection need not read the many terms that cannot be listed (used in fewer than
    /// [`MIN_TERM_COMMENTS`] comments of every group) to know it.
    pub uses: HashMap<String, ByCategory>,
    /// Comments using each term: every term, or (from the store) at least every term that can
    /// be listed.
    pub terms: HashMap<TermKey, ByCategory>,
    /// How often each form of each term was used (once per comment).
    pub forms: HashMap<TermKey, HashMap<String, u64>>,
}

impl Tally {
    /// Counts one comment in the response's language, `lang` as stored (`""` for none).
    pub fn add(&mut self, lang: &str, score: u8, comment: &str) {
        let terms = text::terms(lang, comment);
        if terms.is_empty() {
            return;
        }
        let slot = slot(score);
        self.comments.entry(lang.to_owned()).or_default()[slot] += 1;
        self.uses.entry(lang.to_owned()).or_default()[slot] += terms.len() as u64;
        for term in terms {
            let key = TermKey {
                lang: lang.to_owned(),
                key: term.key,
            };
            *self
                .forms
                .entry(key.clone())
                .or_default()
                .entry(term.form)
                .or_default() += 1;
            self.terms.entry(key).or_default()[slot] += 1;
        }
    }

    fn group_comments(&self) -> GroupComments {
        let mut total = [0; 3];
        for counts in self.comments.values() {
            add(&mut total, *counts);
        }
        GroupComments {
            detractors: total[0],
            passives: total[1],
            promoters: total[2],
        }
    }
}

fn add(total: &mut ByCategory, counts: ByCategory) {
    for (total, n) in total.iter_mut().zip(counts) {
        *total += n;
    }
}

/// One term's weighted log-odds ratio of side `a` against side `b`, and its z-score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogOdds {
    pub delta: f64,
    pub z: f64,
}

/// Monroe et al.'s δ and z for a term used `y_a` and `y_b` times by sides totalling `n_a` and
/// `n_b`, with prior `alpha` for the term and `alpha_0` in all.
pub fn log_odds(y_a: f64, n_a: f64, y_b: f64, n_b: f64, alpha: f64, alpha_0: f64) -> LogOdds {
    let odds = |y: f64, n: f64| ((y + alpha) / (n + alpha_0 - y - alpha)).ln();
    let delta = odds(y_a, n_a) - odds(y_b, n_b);
    let variance = 1.0 / (y_a + alpha) + 1.0 / (y_b + alpha);
    LogOdds {
        delta,
        z: delta / variance.sqrt(),
    }
}

/// Which categories make up each side of a comparison.
type Sides = ([bool; 3], [bool; 3]);

const DETRACTORS_AGAINST_PROMOTERS: Sides = ([true, false, false], [false, false, true]);
const PROMOTERS_AGAINST_DETRACTORS: Sides = ([false, false, true], [true, false, false]);
const PASSIVES_AGAINST_THE_REST: Sides = ([false, true, false], [true, false, true]);

fn side(counts: &ByCategory, members: [bool; 3]) -> u64 {
    counts
        .iter()
        .zip(members)
        .filter(|(_, m)| *m)
        .map(|(n, _)| n)
        .sum()
}

/// The three lists of a selection's tally, each term shown by its most frequent form in the
/// tally.
pub fn themes(tally: &Tally) -> Themes {
    let comments = tally.group_comments();
    let per_group = [comments.detractors, comments.passives, comments.promoters];
    let mut n: ByCategory = [0; 3];
    for counts in tally.uses.values() {
        add(&mut n, *counts);
    }
    let alpha_0: u64 = n.iter().sum();
    let list = |(a, b): Sides| {
        let needed = MIN_GROUP_COMMENTS.saturating_sub(side(&per_group, a))
            + MIN_GROUP_COMMENTS.saturating_sub(side(&per_group, b));
        let mut terms = Vec::new();
        if needed == 0 {
            let (n_a, n_b) = (side(&n, a) as f64, side(&n, b) as f64);
            for (key, counts) in &tally.terms {
                let (y_a, y_b) = (side(counts, a), side(counts, b));
                if y_a < MIN_TERM_COMMENTS {
                    continue;
                }
                let alpha = counts.iter().sum::<u64>() as f64;
                let score = log_odds(y_a as f64, n_a, y_b as f64, n_b, alpha, alpha_0 as f64);
                if score.z >= MIN_Z {
                    terms.push(theme(key, tally, score, (y_a, y_b), (&per_group, a, b)));
                }
            }
            terms.sort_by(|x: &Theme, y| y.z.total_cmp(&x.z).then_with(|| x.key.cmp(&y.key)));
            terms.truncate(TERMS_SHOWN);
        }
        ThemeList {
            more_comments_needed: needed,
            min_comments: MIN_GROUP_COMMENTS,
            terms,
        }
    };
    Themes {
        comments,
        detractors: list(DETRACTORS_AGAINST_PROMOTERS),
        promoters: list(PROMOTERS_AGAINST_DETRACTORS),
        passives: list(PASSIVES_AGAINST_THE_REST),
    }
}

fn theme(
    key: &TermKey,
    tally: &Tally,
    score: LogOdds,
    (y_a, y_b): (u64, u64),
    (per_group, a, b): (&ByCategory, [bool; 3], [bool; 3]),
) -> Theme {
    let share = |y: u64, members| y as f64 / side(per_group, members).max(1) as f64;
    Theme {
        term: most_frequent_form(tally, key),
        lang: key.lang.clone(),
        key: key.key.clone(),
        log_odds: score.delta,
        z: score.z,
        comments: y_a,
        other_comments: y_b,
        share: share(y_a, a),
        other_share: share(y_b, b),
    }
}

/// The form most comments use, the first in alphabetical order among equals; the stem if none
/// is known.
fn most_frequent_form(tally: &Tally, key: &TermKey) -> String {
    tally
        .forms
        .get(key)
        .and_then(|forms| {
            forms
                .iter()
                .max_by(|x, y| x.1.cmp(y.1).then_with(|| y.0.cmp(x.0)))
                .map(|(form, _)| form.clone())
        })
        .unwrap_or_else(|| key.key.clone())
}

/// The themes of a site's comments that `filter` covers.
pub async fn of_site<S: ThemeStore + ?Sized>(
    store: &S,
    site: &crate::domain::SiteId,
    filter: &crate::responses::filter::ResponseFilter,
) -> Result<Themes, crate::db::StoreError> {
    let mut tally = store.theme_tally(site, filter).await?;
    let mut themes = themes(&tally);
    let mut listed: Vec<&mut Theme> = [
        &mut themes.detractors,
        &mut themes.promoters,
        &mut themes.passives,
    ]
    .into_iter()
    .flat_map(|list| list.terms.iter_mut())
    .collect();
    let keys: Vec<TermKey> = listed
        .iter()
        .map(|theme| TermKey {
            lang: theme.lang.clone(),
            key: theme.key.clone(),
        })
        .collect();
    // The tally has the forms of the comments read; the rollups add those of the other days.
    for (key, forms) in store.term_forms(site, filter, &keys).await? {
        let known = tally.forms.entry(key).or_default();
        for (form, n) in forms {
            *known.entry(form).or_default() += n;
        }
    }
    for (theme, key) in listed.iter_mut().zip(&keys) {
        theme.term = most_frequent_form(&tally, key);
    }
    Ok(themes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_odds_is_symmetric_and_shrunk_by_the_prior() {
        let a = log_odds(20.0, 100.0, 5.0, 100.0, 25.0, 200.0);
        let b = log_odds(5.0, 100.0, 20.0, 100.0, 25.0, 200.0);
        assert!((a.delta + b.delta).abs() < 1e-12 && (a.z + b.z).abs() < 1e-12);
        // Without a prior the log-odds would be ln((20/80)/(5/95)) = 1.558.
        assert!(a.delta > 0.0 && a.delta < 1.558);
        let expected =
            ((45.0f64 / 255.0).ln() - (30.0f64 / 270.0).ln()) / (1.0f64 / 45.0 + 1.0 / 30.0).sqrt();
        assert!((a.z - expected).abs() < 1e-12);
    }

    #[test]
    fn too_few_comments_say_how_many_more_and_list_nothing() {
        let mut tally = Tally::default();
        for _ in 0..40 {
            tally.add("en", 2, "slow delivery");
        }
        for _ in 0..25 {
            tally.add("en", 10, "friendly staff");
        }
        let themes = themes(&tally);
        assert_eq!(themes.detractors.more_comments_needed, 5);
        assert!(themes.detractors.terms.is_empty());
        assert_eq!(themes.passives.more_comments_needed, 30);
    }

    #[test]
    fn each_side_lists_its_own_words_with_their_most_frequent_form() {
        let mut tally = Tally::default();
        for i in 0..40 {
            tally.add(
                "en",
                3,
                if i % 3 == 0 {
                    "Deliveries late"
                } else {
                    "delivery late, coffee"
                },
            );
            tally.add("en", 9, "friendly staff, coffee");
            tally.add("en", 7, "okay coffee");
        }
        let themes = themes(&tally);
        let listed = |list: &ThemeList| {
            list.terms
                .iter()
                .map(|t| t.term.clone())
                .collect::<Vec<_>>()
        };
        assert!(listed(&themes.detractors).contains(&"delivery".to_owned()));
        assert!(listed(&themes.promoters).contains(&"friendly staff".to_owned()));
        assert!(listed(&themes.passives).contains(&"okay".to_owned()));
        assert!(!listed(&themes.detractors).contains(&"coffee".to_owned()));
    }
}
