//! Comment themes in the console: the dashboard's lists of what each group writes about, and a
//! term's own page (its comments with the term marked, their NPS and its monthly trend).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use soovita_wire::{ThemeList, Themes};

use crate::responses::filter::FilterQuery;
use crate::results::{ResultSums, TrendInterval};
use crate::sites::Site;
use crate::state::AppState;
use crate::themes::{Mention, TermKey};

use super::auth::{AsMember, SiteAccess};
use super::charts;
use super::error::ConsoleError;
use super::pages::{category, date, layout, percent, signed};

/// The most comments a term's page lists; its figures count them all.
const MENTIONS_SHOWN: usize = 100;

/// The dashboard's section: what detractors talk about, what promoters praise, what passives
/// mention. `query` is the dashboard's filter as a query string, kept on every term's link.
pub(super) fn section(site: &Site, themes: &Themes, query: &str) -> Markup {
    let groups = themes.comments;
    let (detractors, passives, promoters) = (
        ("detractors", groups.detractors),
        ("passives", groups.passives),
        ("promoters", groups.promoters),
    );
    let everyone_else = ("everyone else", groups.detractors + groups.promoters);
    // (title, id, the list, its two sides with their comments)
    let lists = [
        (
            "What detractors talk about",
            "themes-detractors",
            &themes.detractors,
            [detractors, promoters],
        ),
        (
            "What promoters praise",
            "themes-promoters",
            &themes.promoters,
            [promoters, detractors],
        ),
        (
            "What passives mention",
            "themes-passives",
            &themes.passives,
            [passives, everyone_else],
        ),
    ];
    html! {
        p.muted {
            "Words and two-word phrases each group uses in its comments more than the other side, by the weighted log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008). Listed when |z| ≥ 1.96 and at least "
            (crate::themes::MIN_TERM_COMMENTS) " of the group's comments use it. From "
            (groups.detractors) " detractor, " (groups.passives) " passive and " (groups.promoters) " promoter comments."
        }
        @for (title, id, list, sides) in lists {
            @let [(group, _), (other, _)] = sides;
            h2 { (title) }
            div #(id) {
                @if list.more_comments_needed > 0 {
                    p.muted { (needed(list, sides)) }
                } @else if list.terms.is_empty() {
                    p.muted { "No word stands out: " (group) " write about what " (other) " write about." }
                } @else {
                    div.table-wrap { table {
                        thead { tr {
                            th { "Term" }
                            th.number { "Comments of " (group) }
                            th.number { "Comments of " (other) }
                            th.number { "z" }
                        } }
                        tbody {
                            @for theme in &list.terms {
                                tr {
                                    td {
                                        a href=(term_link(site, &theme.lang, &theme.key, query)) { (theme.term) }
                                        " " span.muted { (theme.lang) }
                                    }
                                    td.number { (theme.comments) " · " (percent(theme.share)) }
                                    td.number { (theme.other_comments) " · " (percent(theme.other_share)) }
                                    td.number { (format!("{:.1}", theme.z)) }
                                }
                            }
                        }
                    } }
                }
            }
        }
    }
}

/// "12 more from detractors needed": which side is short, by how many.
fn needed(list: &ThemeList, sides: [(&str, u64); 2]) -> String {
    let short: Vec<String> = sides
        .into_iter()
        .filter_map(|(side, have)| {
            let missing = list.min_comments.saturating_sub(have);
            (missing > 0).then(|| format!("{missing} more from {side}"))
        })
        .collect();
    format!(
        "Themes show once both sides have {} comments with words that count: {} needed.",
        list.min_comments,
        short.join(" and ")
    )
}

fn term_link(site: &Site, lang: &str, key: &str, query: &str) -> String {
    let segment = |text: &str| {
        percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let mut link = format!(
        "/console/sites/{}/themes/{}/{}",
        site.id,
        segment(lang),
        segment(key)
    );
    if !query.is_empty() {
        link.push('?');
        link.push_str(query);
    }
    link
}

/// A term's page: the comments the dashboard's filter covers that use it.
pub(super) async fn term(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsMember,
    Path((_, lang, key)): Path<(String, String, String)>,
    Query(filter_query): Query<FilterQuery>,
) -> Result<Response, ConsoleError> {
    let filter = filter_query
        .parse()
        .map_err(|error| ConsoleError::InvalidForm(error.to_string()))?;
    let term = TermKey { lang, key };
    let mentions = state.store.mentions(&site.id, &filter, &term).await?;
    let results = crate::results::results(
        &ResultSums::of_scores(mentions.iter().map(|m| (m.created_at_ms, m.score))),
        TrendInterval::Month,
    );
    let shown = shown_as(&term, &mentions);
    let back = format!(
        "/console/sites/{}?{}",
        site.id,
        filter_query.to_query_string()
    );
    let page = layout(
        &format!("“{shown}” · {}", site.name),
        Some(signed_in.header()),
        html! {
            p { a href=(back) { "← " (site.name) } }
            h1 { "Comments mentioning “" (shown) "”" }
            p.muted { "Language " (term.lang) "; counted by its stem, so every form of the word (and of the phrase) is found." }
            @if mentions.is_empty() {
                p #term-summary { "No comment in this selection uses it." }
            } @else {
                p #term-summary {
                    "NPS " strong { (signed(results.nps.unwrap_or_default())) }
                    " ± " (format!("{:.1}", results.margin_of_error.unwrap_or_default()))
                    ", n = " (results.responses) ": "
                    (results.promoters) " promoters, " (results.passives) " passives, " (results.detractors) " detractors."
                }
                h2 { "By month" }
                (charts::trend(&results.trend))
                h2 { "Comments" }
                @if mentions.len() > MENTIONS_SHOWN {
                    p.muted { "The newest " (MENTIONS_SHOWN) " of " (mentions.len()) "." }
                }
                ul.comments #mentions {
                    @for mention in mentions.iter().take(MENTIONS_SHOWN) {
                        @let (class, words) = category(mention.score);
                        li {
                            div {
                                strong class=(class) { (mention.score) } " · " (words)
                                " · " span.muted { (date(mention.created_at_ms)) }
                            }
                            p.comment { (marked(mention)) }
                        }
                    }
                }
            }
        },
    );
    Ok(page.into_response())
}

/// The comment as text, with the term's occurrences in `<mark>`.
fn marked(mention: &Mention) -> Markup {
    let mut pieces = Vec::new();
    let mut at = 0;
    for occurrence in &mention.occurrences {
        let span = occurrence.span.clone();
        pieces.push((&mention.comment[at..span.start], false));
        pieces.push((&mention.comment[span.clone()], true));
        at = span.end;
    }
    pieces.push((&mention.comment[at..], false));
    html! {
        @for (text, is_term) in pieces {
            @if is_term { mark { (text) } } @else { (text) }
        }
    }
}

/// The form the comments use most (each counted by its first use), as the dashboard shows
/// the term.
fn shown_as(term: &TermKey, mentions: &[Mention]) -> String {
    let mut forms: std::collections::BTreeMap<&str, usize> = Default::default();
    for mention in mentions {
        if let Some(first) = mention.occurrences.first() {
            *forms.entry(first.form.as_str()).or_default() += 1;
        }
    }
    forms
        .into_iter()
        .rev()
        .max_by_key(|(_, n)| *n)
        .map_or_else(|| term.key.clone(), |(form, _)| form.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::themes::text;

    #[test]
    fn markup_in_a_comment_stays_text_and_the_term_is_marked() {
        let comment = "<b>slow</b> delivery";
        let mention = Mention {
            response_id: "r".into(),
            score: 2,
            comment: comment.into(),
            created_at_ms: 0,
            occurrences: text::occurrences("en", comment, "deliveri"),
        };
        assert_eq!(
            marked(&mention).into_string(),
            "&lt;b&gt;slow&lt;/b&gt; <mark>delivery</mark>"
        );
    }
}
