//! Term counts per settled day in the rollups (migration 0019), kept up to date in the same
//! step and transaction as the results' rollups, and read back as the results are: the rollups
//! of settled days, plus the comments of newer and dirty days, read and counted here.
//!
//! The rollups keep terms apart by language and day only: a filter on page, device, survey
//! version or source (or dates that are not whole UTC days) reads every comment it covers,
//! which is slower but rare (a 20th of a big site's comments takes a fraction of a second).

use std::collections::HashMap;

use async_trait::async_trait;

use super::{text, ByCategory, Tally, TermKey};
use crate::db::{placeholders, Db, Placeholder, Query, Row, StoreError, Tx, Value};
use crate::domain::SiteId;
use crate::responses::filter::{ResponseFilter, FILTERED};

#[async_trait]
pub trait ThemeStore: Send + Sync {
    /// The term counts of the comments `filter` covers; forms only of the comments that were
    /// read rather than summed from the rollups.
    async fn theme_tally(
        &self,
        site: &SiteId,
        filter: &ResponseFilter,
    ) -> Result<Tally, StoreError>;
    /// How often each form of each of `terms` was used in the rollups `filter` covers.
    async fn term_forms(
        &self,
        site: &SiteId,
        filter: &ResponseFilter,
        terms: &[TermKey],
    ) -> Result<HashMap<TermKey, HashMap<String, u64>>, StoreError>;
    /// Every comment `filter` covers that uses `term`, newest first.
    async fn mentions(
        &self,
        site: &SiteId,
        filter: &ResponseFilter,
        term: &TermKey,
    ) -> Result<Vec<Mention>, StoreError>;
}

/// A comment that uses a term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub response_id: String,
    pub score: u8,
    pub comment: String,
    pub created_at_ms: i64,
    /// Where the term stands in `comment`, and how it is written there.
    pub occurrences: Vec<text::Occurrence>,
}

/// The themes' rollups of a site's days `[$2, $3)`.
pub const DELETE_ROLLUPS: [&str; 3] = [
    "DELETE FROM rollup_comments WHERE site_id = $1 AND day >= $2 AND day < $3",
    "DELETE FROM rollup_terms WHERE site_id = $1 AND day >= $2 AND day < $3",
    "DELETE FROM rollup_term_forms WHERE site_id = $1 AND day >= $2 AND day < $3",
];

/// The themes' rollups of days before each site's retention cutoff.
pub const DELETE_PURGED_ROLLUPS: [&str; 3] = [
    "DELETE FROM rollup_comments WHERE EXISTS (SELECT 1 FROM sites \
     WHERE sites.id = rollup_comments.site_id \
     AND rollup_comments.day < sites.purged_before_ms / 86400000)",
    "DELETE FROM rollup_terms WHERE EXISTS (SELECT 1 FROM sites \
     WHERE sites.id = rollup_terms.site_id AND rollup_terms.day < sites.purged_before_ms / 86400000)",
    "DELETE FROM rollup_term_forms WHERE EXISTS (SELECT 1 FROM sites \
     WHERE sites.id = rollup_term_forms.site_id \
     AND rollup_term_forms.day < sites.purged_before_ms / 86400000)",
];

/// Rows per multi-row insert: 7 values each stays far below either backend's parameter limit.
const ROWS_PER_INSERT: usize = 500;

/// Counts the comments of a site's days `[from, to)` into the rollups, inside the results'
/// roll-up step (which has deleted what was there).
pub async fn roll_up(tx: &mut Tx, site: &str, from: i64, to: i64) -> Result<(), StoreError> {
    let rows = tx
        .fetch_all(
            Query::new(
                "SELECT CAST(created_at_ms / 86400000 AS BIGINT) AS day, \
                 COALESCE(lang, '') AS lang, CAST(score AS BIGINT) AS score, comment \
                 FROM responses WHERE site_id = $1 AND created_at_ms >= $2 * 86400000 \
                 AND created_at_ms < $3 * 86400000 AND comment IS NOT NULL",
            )
            .bind(site)
            .bind(from)
            .bind(to),
        )
        .await?;
    let mut days: HashMap<i64, Tally> = HashMap::new();
    for row in rows {
        let day: i64 = row.get("day")?;
        days.entry(day).or_default().add(
            &row.get::<String>("lang")?,
            row.narrow("score")?,
            &row.get::<String>("comment")?,
        );
    }
    let style = tx.placeholder();
    let (mut comments, mut terms, mut forms) = (Vec::new(), Vec::new(), Vec::new());
    for (day, tally) in days {
        for (lang, counts) in tally.comments {
            let uses = tally.uses.get(&lang).copied().unwrap_or_default();
            let head = vec![site.into(), day.into(), lang.into()];
            comments.push([head, counts_of(counts), counts_of(uses)].concat());
        }
        for (key, counts) in tally.terms {
            let head = vec![site.into(), key.lang.into(), key.key.into(), day.into()];
            terms.push([head, counts_of(counts)].concat());
        }
        for (key, by_form) in tally.forms {
            for (form, n) in by_form {
                forms.push(vec![
                    site.into(),
                    key.lang.clone().into(),
                    key.key.clone().into(),
                    day.into(),
                    form.into(),
                    count(n),
                ]);
            }
        }
    }
    let inserts = [
        (
            "INSERT INTO rollup_comments (site_id, day, lang, detractors, passives, promoters, \
             detractor_uses, passive_uses, promoter_uses) VALUES ",
            comments,
        ),
        (
            "INSERT INTO rollup_terms (site_id, lang, term, day, detractors, passives, promoters) VALUES ",
            terms,
        ),
        (
            "INSERT INTO rollup_term_forms (site_id, lang, term, day, form, n) VALUES ",
            forms,
        ),
    ];
    for (head, rows) in inserts {
        insert(tx, style, head, rows).await?;
    }
    Ok(())
}

/// A count as the database keeps it.
fn count(n: u64) -> Value {
    i64::try_from(n).unwrap_or(i64::MAX).into()
}

fn counts_of(counts: ByCategory) -> Vec<Value> {
    counts.into_iter().map(count).collect()
}

async fn insert(
    tx: &mut Tx,
    style: Placeholder,
    head: &str,
    rows: Vec<Vec<Value>>,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let width = chunk.first().map_or(0, Vec::len);
        let sql = [head, &placeholders(chunk.len(), width, style)].concat();
        tx.execute(Query::new(sql).bind_all(chunk.iter().flatten().cloned()))
            .await?;
    }
    Ok(())
}

/// The first day read from the comments rather than the rollups, as in the results.
const CUTOFF: &str = "COALESCE($9, (SELECT s.rolled_until_day FROM sites s WHERE s.id = $1))";

/// Whether the rollups can answer for `filter`: they keep only days and languages apart.
fn rollups_serve(filter: &ResponseFilter) -> bool {
    filter.whole_days()
        && filter.page_path.is_none()
        && filter.device.is_none()
        && filter.survey_version.is_none()
        && filter.source.is_none()
}

/// The comments of the days the rollups do not cover: on or after the cutoff, and dirty days
/// before it. Binds as the results' queries do (`$1`–`$8` the filter, `$9` the cutoff).
fn unrolled_comments() -> String {
    let columns = "SELECT COALESCE(r.lang, '') AS lang, CAST(r.score AS BIGINT) AS score, \
         r.comment AS comment FROM ";
    [
        columns,
        "responses r WHERE r.site_id = $1 AND r.comment IS NOT NULL",
        FILTERED,
        " AND r.created_at_ms >= ",
        CUTOFF,
        " * 86400000 UNION ALL ",
        columns,
        "rollup_dirty d JOIN responses r ON r.site_id = d.site_id \
         AND r.created_at_ms >= d.day * 86400000 AND r.created_at_ms < (d.day + 1) * 86400000 \
         WHERE r.site_id = $1 AND r.comment IS NOT NULL AND d.site_id = $1 AND d.day < ",
        CUTOFF,
        FILTERED,
    ]
    .concat()
}

/// The rollup rows a filter covers, `u` being a themes rollup: `$1` the site, `$2`/`$3` the
/// dates, `$5` the cutoff day (null: the site's watermark), and `$4` the language if one is
/// given (compared on its own, so that the rows of one language are one range of the key).
/// The day is `+u.day`, which SQLite cannot look up in an index: the rows are then read in the
/// key's order (language, term, day), grouped as they come, instead of by day through
/// `rollup_terms_by_day` and sorted.
const ROLLED: &str = " u.site_id = $1 \
     AND +u.day < COALESCE($5, (SELECT s.rolled_until_day FROM sites s WHERE s.id = $1)) \
     AND +u.day NOT IN (SELECT d.day FROM rollup_dirty d WHERE d.site_id = $1) \
     AND ($2 IS NULL OR +u.day * 86400000 >= $2) AND ($3 IS NULL OR +u.day * 86400000 < $3)";

/// `select … WHERE` the rows of `lang` (or every language) that a filter's dates cover, `group`.
fn rolled(
    select: &str,
    group: &str,
    site: &SiteId,
    filter: &ResponseFilter,
    lang: Option<&str>,
) -> Query {
    let language = if lang.is_some() {
        " AND u.lang = $4"
    } else {
        " AND $4 IS NULL"
    };
    Query::new([select, ROLLED, language, group].concat())
        .bind(site.as_str())
        .bind(filter.from_ms)
        .bind(filter.until_ms)
        .bind(lang)
        .bind(None::<i64>)
}

/// Terms per query when the rollups are asked for named ones.
const TERMS_PER_QUERY: usize = 400;

fn by_category(row: &Row) -> Result<ByCategory, StoreError> {
    Ok([
        row.narrow("detractors")?,
        row.narrow("passives")?,
        row.narrow("promoters")?,
    ])
}

const SUMS: &str = "CAST(SUM(u.detractors) AS BIGINT) AS detractors, \
     CAST(SUM(u.passives) AS BIGINT) AS passives, CAST(SUM(u.promoters) AS BIGINT) AS promoters";

#[async_trait]
impl ThemeStore for Db {
    async fn theme_tally(
        &self,
        site: &SiteId,
        filter: &ResponseFilter,
    ) -> Result<Tally, StoreError> {
        let serve = rollups_serve(filter);
        let mut tally = Tally::default();
        let unrolled = Query::new(unrolled_comments())
            .bind_all(filter.site_and_values(site))
            .bind((!serve).then_some(0i64));
        for row in self.fetch_all(unrolled).await? {
            tally.add(
                &row.get::<String>("lang")?,
                row.narrow("score")?,
                &row.get::<String>("comment")?,
            );
        }
        if !serve {
            return Ok(tally);
        }
        let lang = filter.lang.as_deref();
        let comments = rolled(
            &[
                "SELECT u.lang AS lang, ",
                SUMS,
                ", CAST(SUM(u.detractor_uses) AS BIGINT) AS detractor_uses, \
                 CAST(SUM(u.passive_uses) AS BIGINT) AS passive_uses, \
                 CAST(SUM(u.promoter_uses) AS BIGINT) AS promoter_uses \
                 FROM rollup_comments u WHERE",
            ]
            .concat(),
            " GROUP BY u.lang",
            site,
            filter,
            lang,
        );
        for row in self.fetch_all(comments).await? {
            let lang: String = row.get("lang")?;
            let uses = [
                row.narrow("detractor_uses")?,
                row.narrow("passive_uses")?,
                row.narrow("promoter_uses")?,
            ];
            super::add(tally.uses.entry(lang.clone()).or_default(), uses);
            super::add(tally.comments.entry(lang).or_default(), by_category(&row)?);
        }
        // Most terms are used in a comment or two: only those that can be listed come back,
        // and the rollup counts of the terms the other comments used.
        let unrolled: Vec<TermKey> = tally.terms.keys().cloned().collect();
        let listable = rolled(
            &[
                "SELECT u.lang AS lang, u.term AS term, ",
                SUMS,
                " FROM rollup_terms u WHERE",
            ]
            .concat(),
            " GROUP BY u.lang, u.term HAVING SUM(u.detractors) >= $6 OR SUM(u.passives) >= $6 \
             OR SUM(u.promoters) >= $6",
            site,
            filter,
            lang,
        )
        .bind(i64::try_from(super::MIN_TERM_COMMENTS).unwrap_or(i64::MAX));
        let mut found = std::collections::HashSet::new();
        for row in self.fetch_all(listable).await? {
            let key = TermKey {
                lang: row.get("lang")?,
                key: row.get("term")?,
            };
            super::add(
                tally.terms.entry(key.clone()).or_default(),
                by_category(&row)?,
            );
            found.insert(key);
        }
        let mut missing: HashMap<String, Vec<String>> = HashMap::new();
        for key in unrolled.into_iter().filter(|key| !found.contains(key)) {
            missing.entry(key.lang).or_default().push(key.key);
        }
        for (lang, terms) in missing {
            for chunk in terms.chunks(TERMS_PER_QUERY) {
                let list: Vec<String> = (6..6 + chunk.len()).map(|i| format!("${i}")).collect();
                let query = rolled(
                    &[
                        "SELECT u.term AS term, ",
                        SUMS,
                        " FROM rollup_terms u WHERE",
                    ]
                    .concat(),
                    &[" AND u.term IN (", &list.join(", "), ") GROUP BY u.term"].concat(),
                    site,
                    filter,
                    Some(&lang),
                )
                .bind_all(chunk.iter().map(Value::from));
                for row in self.fetch_all(query).await? {
                    let key = TermKey {
                        lang: lang.clone(),
                        key: row.get("term")?,
                    };
                    super::add(tally.terms.entry(key).or_default(), by_category(&row)?);
                }
            }
        }
        Ok(tally)
    }

    async fn term_forms(
        &self,
        site: &SiteId,
        filter: &ResponseFilter,
        terms: &[TermKey],
    ) -> Result<HashMap<TermKey, HashMap<String, u64>>, StoreError> {
        let mut forms: HashMap<TermKey, HashMap<String, u64>> = HashMap::new();
        if !rollups_serve(filter) {
            return Ok(forms);
        }
        for term in terms {
            let query = rolled(
                "SELECT u.form AS form, CAST(SUM(u.n) AS BIGINT) AS n FROM rollup_term_forms u \
                 WHERE u.term = $6 AND",
                " GROUP BY u.form",
                site,
                filter,
                Some(&term.lang),
            )
            .bind(term.key.as_str());
            for row in self.fetch_all(query).await? {
                *forms
                    .entry(term.clone())
                    .or_default()
                    .entry(row.get("form")?)
                    .or_default() += row.narrow::<u64>("n")?;
            }
        }
        Ok(forms)
    }

    async fn mentions(
        &self,
        site: &SiteId,
        filter: &ResponseFilter,
        term: &TermKey,
    ) -> Result<Vec<Mention>, StoreError> {
        let query = Query::new(
            [
                "SELECT r.id AS id, CAST(r.score AS BIGINT) AS score, r.comment AS comment, \
                 r.created_at_ms AS created_at_ms FROM responses r \
                 WHERE r.site_id = $1 AND r.comment IS NOT NULL AND COALESCE(r.lang, '') = $9",
                FILTERED,
                " ORDER BY r.created_at_ms DESC, r.id",
            ]
            .concat(),
        )
        .bind_all(filter.site_and_values(site))
        .bind(term.lang.as_str());
        let mut mentions = Vec::new();
        for row in self.fetch_all(query).await? {
            let comment: String = row.get("comment")?;
            let occurrences = text::occurrences(&term.lang, &comment, &term.key);
            if occurrences.is_empty() {
                continue;
            }
            mentions.push(Mention {
                response_id: row.get("id")?,
                score: row.narrow("score")?,
                comment,
                created_at_ms: row.get("created_at_ms")?,
                occurrences,
            });
        }
        Ok(mentions)
    }
}
