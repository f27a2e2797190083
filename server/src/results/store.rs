//! What the results are computed from, summed by the database, and the rollups that keep those
//! sums fast (migration 0010 says what they hold). The sums a rollup row holds are written once
//! here and used by the results queries too, so the rollups and the responses they stand for
//! always sum alike.

use std::sync::LazyLock;

use async_trait::async_trait;
use soovita_wire::EffortDriver;

use crate::db::{Db, Query, StoreError};
use crate::domain::SiteId;
use crate::responses::filter::{ResponseFilter, FILTERED};
use crate::themes::store as themes;

#[async_trait]
pub trait ResultStore: Send + Sync {
    async fn result_sums(
        &self,
        site: &SiteId,
        filter: &ResponseFilter,
    ) -> Result<ResultSums, StoreError>;
    /// One step of keeping a site's rollups up to date with its days before `until_day`: rolls
    /// up a day marked dirty again, or else up to [`MAX_DAYS_PER_STEP`] more days. `true` while
    /// there is more to do. Steps are short, as each holds the site's row (on SQLite, the write
    /// lock) while it runs.
    async fn roll_up(&self, site: &SiteId, until_day: i64) -> Result<bool, StoreError>;
    /// Deletes every response older than its site's retention period, and the rollups of the
    /// days that go with them; returns how many responses.
    async fn purge_expired(&self, now_ms: i64) -> Result<u64, StoreError>;
}

/// The most days one [`ResultStore::roll_up`] step adds to the rollups: one day of a site with
/// a million responses a year takes about 90 ms on SQLite, the longest answers wait for it.
pub const MAX_DAYS_PER_STEP: i64 = 1;

/// What a site's results are computed from, summed by the database: the 1,000,000-response
/// site must not travel to the server row by row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResultSums {
    /// Responses per UTC day by score, oldest first; days without any are left out.
    pub days: Vec<DayScores>,
    /// Per dimension with answered statements.
    pub dimensions: Vec<DimensionSums>,
    /// Responses by effort answer, 1 to 7.
    pub effort: [u64; 7],
    /// Of the responses with an effort answer, how many ticked each driver, in
    /// `EffortDriver::ALL` order.
    pub effort_drivers: [u64; 4],
}

impl ResultSums {
    /// The sums of responses given one by one, as (created at, score): for a set that SQL
    /// cannot pick out, such as the comments that use a term.
    pub fn of_scores(scores: impl IntoIterator<Item = (i64, u8)>) -> Self {
        let mut days: std::collections::BTreeMap<i64, [u64; 11]> = Default::default();
        for (created_at_ms, score) in scores {
            if let Some(n) = days
                .entry(created_at_ms.div_euclid(86_400_000))
                .or_default()
                .get_mut(usize::from(score))
            {
                *n += 1;
            }
        }
        Self {
            days: days
                .into_iter()
                .map(|(day, scores)| DayScores { day, scores })
                .collect(),
            ..Self::default()
        }
    }

    /// Responses by score, 0 to 10, over every day.
    pub fn histogram(&self) -> [u64; 11] {
        let mut histogram = [0; 11];
        for day in &self.days {
            for (total, n) in histogram.iter_mut().zip(day.scores) {
                *total += n;
            }
        }
        histogram
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayScores {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    /// Responses by score, 0 to 10.
    pub scores: [u64; 11],
}

/// One dimension's answered statements, with agreement `x` (1–5) and the response's score `y`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimensionSums {
    /// e.g. `trust`.
    pub dimension: String,
    pub answers: i64,
    /// Answers of 4 or 5.
    pub agree: i64,
    pub sum_x: i64,
    pub sum_xx: i64,
    pub sum_y: i64,
    pub sum_yy: i64,
    pub sum_xy: i64,
}

/// A dimension's sums over a set of responses' answered statements (join `rs` to `r`): what a
/// `rollup_dimensions` row holds, and what the results add to the rollups for other days.
const DIMENSION_SUMS: &str = "rs.dimension AS dimension, COUNT(*) AS answers, \
     SUM(CASE WHEN rs.answer >= 4 THEN 1 ELSE 0 END) AS agree, \
     SUM(rs.answer) AS sum_x, SUM(rs.answer * rs.answer) AS sum_xx, \
     SUM(r.score) AS sum_y, SUM(r.score * r.score) AS sum_yy, SUM(rs.answer * r.score) AS sum_xy";

/// How many of a set of responses `r` gave each effort answer, and ticked each driver (drivers
/// are stored comma-separated): what a `rollup_effort` row holds, and what the results add to
/// the rollups for other days.
const EFFORT_COUNTS: &str = "r.effort AS effort, COUNT(*) AS n, \
     SUM(CASE WHEN r.effort_drivers LIKE '%contacted_again%' THEN 1 ELSE 0 END) \
         AS contacted_again, \
     SUM(CASE WHEN r.effort_drivers LIKE '%repeated_information%' THEN 1 ELSE 0 END) \
         AS repeated_information, \
     SUM(CASE WHEN r.effort_drivers LIKE '%switched_channel%' THEN 1 ELSE 0 END) \
         AS switched_channel, \
     SUM(CASE WHEN r.effort_drivers LIKE '%transferred%' THEN 1 ELSE 0 END) AS transferred";

/// The first day results read from the responses rather than the rollups: `$9`, or the site's
/// watermark. Binding 0 reads every response (a filter whose dates are not whole UTC days).
const CUTOFF: &str = "COALESCE($9, (SELECT s.rolled_until_day FROM sites s WHERE s.id = $1))";

/// Each results query adds up three parts: the responses on or after the cutoff day, the
/// responses of rolled-up days marked dirty, and the rollups of the other days before it.
/// `select` sums responses `r` (joined to what `join` adds) that meet `conditions`, grouped by
/// `group`; `rollup` selects the same sums from a rollup table `u`, up to its WHERE.
fn three_parts(
    outer: &str,
    select: &str,
    join: &str,
    conditions: &str,
    group: &str,
    rollup: &str,
) -> String {
    [
        outer,
        " FROM (SELECT ",
        select,
        " FROM responses r",
        join,
        " WHERE r.site_id = $1",
        conditions,
        FILTERED,
        // Not in the rollups: on or after the cutoff day.
        " AND r.created_at_ms >= ",
        CUTOFF,
        " * 86400000 GROUP BY ",
        group,
        " UNION ALL SELECT ",
        select,
        // Dirty days before the cutoff, joined in by day so each is an index range.
        " FROM rollup_dirty d JOIN responses r ON r.site_id = d.site_id \
         AND r.created_at_ms >= d.day * 86400000 AND r.created_at_ms < (d.day + 1) * 86400000",
        join,
        " WHERE r.site_id = $1",
        conditions,
        " AND d.site_id = $1 AND d.day < ",
        CUTOFF,
        FILTERED,
        " GROUP BY ",
        group,
        " UNION ALL ",
        rollup,
        // Rollup rows before the cutoff, not dirty, that the filter covers: a filter's dates
        // are whole UTC days, so a day is in or out as a whole.
        " AND u.day < ",
        CUTOFF,
        " AND NOT EXISTS (SELECT 1 FROM rollup_dirty d WHERE d.site_id = $1 AND d.day = u.day) \
         AND ($2 IS NULL OR u.day * 86400000 >= $2) AND ($3 IS NULL OR u.day * 86400000 < $3) \
         AND ($4 IS NULL OR u.page_path = $4) AND ($5 IS NULL OR u.lang = $5) \
         AND ($6 IS NULL OR u.device_class = $6) AND ($7 IS NULL OR u.survey_version = $7)) t",
    ]
    .concat()
}

/// Responses per UTC day (days since the epoch) and score, oldest first: the histogram and the
/// trend both come from this one query.
static SELECT_DAILY_SCORES: LazyLock<String> = LazyLock::new(|| {
    three_parts(
        "SELECT day, CAST(score AS BIGINT) AS score, CAST(SUM(n) AS BIGINT) AS n",
        "CAST(r.created_at_ms / 86400000 AS BIGINT) AS day, r.score AS score, COUNT(*) AS n",
        "",
        "",
        "CAST(r.created_at_ms / 86400000 AS BIGINT), r.score",
        "SELECT u.day, u.score, u.n FROM rollup_scores u WHERE u.site_id = $1",
    ) + " GROUP BY day, score ORDER BY day"
});

static SELECT_DIMENSION_SUMS: LazyLock<String> = LazyLock::new(|| {
    three_parts(
        "SELECT dimension, CAST(SUM(answers) AS BIGINT) AS answers, \
         CAST(SUM(agree) AS BIGINT) AS agree, CAST(SUM(sum_x) AS BIGINT) AS sum_x, \
         CAST(SUM(sum_xx) AS BIGINT) AS sum_xx, CAST(SUM(sum_y) AS BIGINT) AS sum_y, \
         CAST(SUM(sum_yy) AS BIGINT) AS sum_yy, CAST(SUM(sum_xy) AS BIGINT) AS sum_xy",
        DIMENSION_SUMS,
        " JOIN response_statements rs ON rs.response_id = r.id",
        " AND rs.answer IS NOT NULL",
        "rs.dimension",
        "SELECT u.dimension, u.answers, u.agree, u.sum_x, u.sum_xx, u.sum_y, u.sum_yy, \
         u.sum_xy FROM rollup_dimensions u WHERE u.site_id = $1",
    ) + " GROUP BY dimension ORDER BY dimension"
});

/// Responses by effort answer with how many of them ticked each driver, a column named after
/// each.
static SELECT_EFFORT_COUNTS: LazyLock<String> = LazyLock::new(|| {
    three_parts(
        "SELECT CAST(effort AS BIGINT) AS effort, CAST(SUM(n) AS BIGINT) AS n, \
         CAST(SUM(contacted_again) AS BIGINT) AS contacted_again, \
         CAST(SUM(repeated_information) AS BIGINT) AS repeated_information, \
         CAST(SUM(switched_channel) AS BIGINT) AS switched_channel, \
         CAST(SUM(transferred) AS BIGINT) AS transferred",
        EFFORT_COUNTS,
        "",
        " AND r.effort IS NOT NULL",
        "r.effort",
        "SELECT u.effort, u.n, u.contacted_again, u.repeated_information, u.switched_channel, \
         u.transferred FROM rollup_effort u WHERE u.site_id = $1",
    ) + " GROUP BY effort ORDER BY effort"
});

/// `$9` of the results queries: `Some(0)` reads every response, for a filter whose dates are
/// not whole UTC days (the console's and the API's always are) or that asks for a source (the
/// rollups do not keep sources apart: imports are rare and a source is asked for rarely);
/// `None` uses the rollups.
fn cutoff_override(filter: &ResponseFilter) -> Option<i64> {
    (!filter.whole_days() || filter.source.is_some()).then_some(0)
}

/// The rollups of a site's days `[$2, $3)`.
const DELETE_ROLLUPS: [&str; 3] = [
    "DELETE FROM rollup_scores WHERE site_id = $1 AND day >= $2 AND day < $3",
    "DELETE FROM rollup_dimensions WHERE site_id = $1 AND day >= $2 AND day < $3",
    "DELETE FROM rollup_effort WHERE site_id = $1 AND day >= $2 AND day < $3",
];

/// The columns a rollup row is kept apart by: the day and what filters can ask for.
const ROLLUP_KEY: &str =
    "r.site_id, r.created_at_ms / 86400000, r.lang, r.device_class, r.survey_version, r.page_path";

/// The responses of a site's days `[$2, $3)`.
const DAYS_OF_SITE: &str =
    " r.site_id = $1 AND r.created_at_ms >= $2 * 86400000 AND r.created_at_ms < $3 * 86400000";

/// Sums the responses of a site's days `[$2, $3)` into the rollups.
static INSERT_ROLLUPS: LazyLock<[String; 3]> = LazyLock::new(|| {
    [
        [
            "INSERT INTO rollup_scores (site_id, day, lang, device_class, survey_version, \
             page_path, score, n) SELECT ",
            ROLLUP_KEY,
            ", r.score, COUNT(*) FROM responses r WHERE",
            DAYS_OF_SITE,
            " GROUP BY ",
            ROLLUP_KEY,
            ", r.score",
        ]
        .concat(),
        [
            "INSERT INTO rollup_dimensions (site_id, day, lang, device_class, survey_version, \
             page_path, dimension, answers, agree, sum_x, sum_xx, sum_y, sum_yy, sum_xy) SELECT ",
            ROLLUP_KEY,
            ", ",
            DIMENSION_SUMS,
            " FROM responses r JOIN response_statements rs ON rs.response_id = r.id \
             WHERE rs.answer IS NOT NULL AND",
            DAYS_OF_SITE,
            " GROUP BY ",
            ROLLUP_KEY,
            ", rs.dimension",
        ]
        .concat(),
        [
            "INSERT INTO rollup_effort (site_id, day, lang, device_class, survey_version, \
             page_path, effort, n, contacted_again, repeated_information, switched_channel, \
             transferred) SELECT ",
            ROLLUP_KEY,
            ", ",
            EFFORT_COUNTS,
            " FROM responses r WHERE r.effort IS NOT NULL AND",
            DAYS_OF_SITE,
            " GROUP BY ",
            ROLLUP_KEY,
            ", r.effort",
        ]
        .concat(),
    ]
});

/// Rollups of days before each site's retention cutoff, whose responses are purged.
const DELETE_PURGED_ROLLUPS: [&str; 3] = [
    "DELETE FROM rollup_scores WHERE EXISTS (SELECT 1 FROM sites \
     WHERE sites.id = rollup_scores.site_id AND rollup_scores.day < sites.purged_before_ms / 86400000)",
    "DELETE FROM rollup_dimensions WHERE EXISTS (SELECT 1 FROM sites \
     WHERE sites.id = rollup_dimensions.site_id \
     AND rollup_dimensions.day < sites.purged_before_ms / 86400000)",
    "DELETE FROM rollup_effort WHERE EXISTS (SELECT 1 FROM sites \
     WHERE sites.id = rollup_effort.site_id AND rollup_effort.day < sites.purged_before_ms / 86400000)",
];

/// Each site's retention cutoff: responses created before it are purged. Bind now.
const SET_PURGE_CUTOFF: &str = "UPDATE sites SET purged_before_ms = \
     $1 - CAST(retention_days AS BIGINT) * 86400000 \
     WHERE purged_before_ms < $1 - CAST(retention_days AS BIGINT) * 86400000";

/// The day a purge cut through keeps some responses: it is rolled up again.
const MARK_CUT_DAY: &str = "INSERT INTO rollup_dirty (site_id, day, marks) \
     SELECT id, purged_before_ms / 86400000, 1 FROM sites \
     WHERE rolled_until_day > purged_before_ms / 86400000 \
     ON CONFLICT (site_id, day) DO UPDATE SET marks = rollup_dirty.marks + 1";

const PURGE_EXPIRED: &str = "DELETE FROM responses WHERE EXISTS (SELECT 1 FROM sites \
     WHERE sites.id = responses.site_id AND responses.created_at_ms < sites.purged_before_ms)";

#[async_trait]
impl ResultStore for Db {
    async fn result_sums(
        &self,
        site: &SiteId,
        filter: &ResponseFilter,
    ) -> Result<ResultSums, StoreError> {
        let query = |sql: &'static LazyLock<String>| {
            Query::new(sql.as_str())
                .bind_all(filter.site_and_values(site))
                .bind(cutoff_override(filter))
        };
        let mut sums = ResultSums::default();
        for row in self.fetch_all(query(&SELECT_DAILY_SCORES)).await? {
            let day: i64 = row.get("day")?;
            if sums.days.last().is_none_or(|last| last.day != day) {
                sums.days.push(DayScores {
                    day,
                    scores: [0; 11],
                });
            }
            let score: usize = row.narrow("score")?;
            let slot = sums
                .days
                .last_mut()
                .and_then(|last| last.scores.get_mut(score))
                .ok_or_else(|| StoreError::Corrupt(format!("score {score}")))?;
            *slot = row.narrow("n")?;
        }
        for row in self.fetch_all(query(&SELECT_DIMENSION_SUMS)).await? {
            sums.dimensions.push(DimensionSums {
                dimension: row.get("dimension")?,
                answers: row.get("answers")?,
                agree: row.get("agree")?,
                sum_x: row.get("sum_x")?,
                sum_xx: row.get("sum_xx")?,
                sum_y: row.get("sum_y")?,
                sum_yy: row.get("sum_yy")?,
                sum_xy: row.get("sum_xy")?,
            });
        }
        for row in self.fetch_all(query(&SELECT_EFFORT_COUNTS)).await? {
            let effort: i64 = row.get("effort")?;
            let slot = usize::try_from(effort - 1)
                .ok()
                .and_then(|index| sums.effort.get_mut(index))
                .ok_or_else(|| StoreError::Corrupt(format!("effort {effort}")))?;
            *slot = row.narrow("n")?;
            for (total, driver) in sums.effort_drivers.iter_mut().zip(EffortDriver::ALL) {
                *total += row.narrow::<u64>(driver.as_str())?;
            }
        }
        Ok(sums)
    }

    /// One transaction: the oldest dirty day again if there is one, else up to
    /// [`MAX_DAYS_PER_STEP`] more days up to `until_day`, skipping empty days before the first
    /// response.
    async fn roll_up(&self, site: &SiteId, until_day: i64) -> Result<bool, StoreError> {
        let site = site.as_str();
        // Most minutes there is nothing to do: find that out without taking the write lock.
        let work = self
            .fetch_optional(
                Query::new(
                    "SELECT s.rolled_until_day < $2 OR EXISTS (SELECT 1 FROM rollup_dirty d \
                     WHERE d.site_id = s.id AND d.day < $2) AS work FROM sites s WHERE s.id = $1",
                )
                .bind(site)
                .bind(until_day),
            )
            .await?;
        if !work
            .map(|row| row.get::<bool>("work"))
            .transpose()?
            .unwrap_or(false)
        {
            return Ok(false);
        }
        let mut transaction = self.begin().await?;
        // Written first, so the step holds the site's row (and SQLite's write lock) throughout.
        let watermark = transaction
            .fetch_optional(
                Query::new(
                    "UPDATE sites SET rolled_until_day = rolled_until_day WHERE id = $1 \
                     RETURNING rolled_until_day",
                )
                .bind(site),
            )
            .await?;
        let Some(watermark) = watermark else {
            return Ok(false);
        };
        let watermark: i64 = watermark.get("rolled_until_day")?;
        let dirty = transaction
            .fetch_optional(
                Query::new(
                    "SELECT day, marks FROM rollup_dirty WHERE site_id = $1 AND day < $2 \
                     ORDER BY day LIMIT 1",
                )
                .bind(site)
                .bind(until_day),
            )
            .await?
            .map(|row| Ok::<_, StoreError>((row.get::<i64>("day")?, row.get::<i64>("marks")?)))
            .transpose()?;
        let (from, to) = match dirty {
            Some((day, _)) => (day, day + 1),
            None if watermark >= until_day => return Ok(false),
            None => {
                let first = transaction
                    .fetch_optional(
                        Query::new(
                            "SELECT MIN(created_at_ms) / 86400000 AS first_day FROM responses \
                             WHERE site_id = $1 AND created_at_ms >= $2 * 86400000",
                        )
                        .bind(site)
                        .bind(watermark),
                    )
                    .await?
                    .map(|row| row.get::<Option<i64>>("first_day"))
                    .transpose()?
                    .flatten();
                let from = first.unwrap_or(until_day).clamp(watermark, until_day);
                (from, (from + MAX_DAYS_PER_STEP).min(until_day))
            }
        };
        let rebuild = DELETE_ROLLUPS
            .into_iter()
            .chain(themes::DELETE_ROLLUPS)
            .map(Query::new)
            .chain(INSERT_ROLLUPS.iter().map(|sql| Query::new(sql.clone())));
        for query in rebuild {
            transaction
                .execute(query.bind(site).bind(from).bind(to))
                .await?;
        }
        themes::roll_up(&mut transaction, site, from, to).await?;
        let finish = match dirty {
            // Cleared only if no change marked the day again meanwhile.
            Some((day, marks)) => Query::new(
                "DELETE FROM rollup_dirty WHERE site_id = $1 AND day = $2 AND marks = $3",
            )
            .bind(site)
            .bind(day)
            .bind(marks),
            None => Query::new("UPDATE sites SET rolled_until_day = $2 WHERE id = $1")
                .bind(site)
                .bind(to),
        };
        transaction.execute(finish).await?;
        transaction.commit().await?;
        Ok(dirty.is_some() || to < until_day)
    }

    /// One transaction: sets each site's cutoff, deletes the responses before it and the
    /// rollups of days wholly before it, and marks the day it cuts through.
    async fn purge_expired(&self, now_ms: i64) -> Result<u64, StoreError> {
        let mut transaction = self.begin().await?;
        transaction
            .execute(Query::new(SET_PURGE_CUTOFF).bind(now_ms))
            .await?;
        let purged = transaction.execute(Query::new(PURGE_EXPIRED)).await?;
        let rollups = DELETE_PURGED_ROLLUPS
            .into_iter()
            .chain(themes::DELETE_PURGED_ROLLUPS);
        for sql in rollups.chain([MARK_CUT_DAY]) {
            transaction.execute(Query::new(sql)).await?;
        }
        transaction.commit().await?;
        Ok(purged)
    }
}

#[cfg(test)]
mod tests {
    use super::{SELECT_DAILY_SCORES, SELECT_DIMENSION_SUMS, SELECT_EFFORT_COUNTS};

    /// Each part of a results query filters alike: the same seven conditions three times.
    #[test]
    fn every_part_of_a_results_query_is_filtered() {
        for sql in [
            &SELECT_DAILY_SCORES,
            &SELECT_DIMENSION_SUMS,
            &SELECT_EFFORT_COUNTS,
        ] {
            assert_eq!(sql.matches("$7").count(), 6, "{}", sql.as_str());
            assert_eq!(sql.matches("UNION ALL").count(), 2);
        }
    }
}
