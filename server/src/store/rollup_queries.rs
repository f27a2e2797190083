//! Building the rollups the results read (migration 0010 says what they hold), in SQL that is
//! the same on every backend, and [`roll_up_step!`], which runs one step on either backend. The
//! sums a rollup row holds are written once here and used by the results queries too, so the
//! rollups and the responses they stand for always sum alike.

/// A dimension's sums over a set of responses' answered statements (join `rs` to `r`): what a
/// `rollup_dimensions` row holds, and what the results add to the rollups for other days.
macro_rules! dimension_sums {
    () => {
        "rs.dimension AS dimension, COUNT(*) AS answers, \
         SUM(CASE WHEN rs.answer >= 4 THEN 1 ELSE 0 END) AS agree, \
         SUM(rs.answer) AS sum_x, SUM(rs.answer * rs.answer) AS sum_xx, \
         SUM(r.score) AS sum_y, SUM(r.score * r.score) AS sum_yy, SUM(rs.answer * r.score) AS sum_xy"
    };
}
pub(crate) use dimension_sums;

/// How many of a set of responses `r` gave each effort answer, and ticked each driver (drivers
/// are stored comma-separated): what a `rollup_effort` row holds, and what the results add to
/// the rollups for other days.
macro_rules! effort_counts {
    () => {
        "r.effort AS effort, COUNT(*) AS n, \
         SUM(CASE WHEN r.effort_drivers LIKE '%contacted_again%' THEN 1 ELSE 0 END) \
             AS contacted_again, \
         SUM(CASE WHEN r.effort_drivers LIKE '%repeated_information%' THEN 1 ELSE 0 END) \
             AS repeated_information, \
         SUM(CASE WHEN r.effort_drivers LIKE '%switched_channel%' THEN 1 ELSE 0 END) \
             AS switched_channel, \
         SUM(CASE WHEN r.effort_drivers LIKE '%transferred%' THEN 1 ELSE 0 END) AS transferred"
    };
}
pub(crate) use effort_counts;

/// The rollups of a site's days `[$2, $3)`.
pub(super) const DELETE_ROLLUPS: [&str; 3] = [
    "DELETE FROM rollup_scores WHERE site_id = $1 AND day >= $2 AND day < $3",
    "DELETE FROM rollup_dimensions WHERE site_id = $1 AND day >= $2 AND day < $3",
    "DELETE FROM rollup_effort WHERE site_id = $1 AND day >= $2 AND day < $3",
];

/// The columns a rollup row is kept apart by: the day and what filters can ask for.
macro_rules! rollup_key {
    () => {
        "r.site_id, r.created_at_ms / 86400000, r.lang, r.device_class, r.survey_version, r.page_path"
    };
}

/// The responses of a site's days `[$2, $3)`.
macro_rules! days_of_site {
    () => {
        " r.site_id = $1 AND r.created_at_ms >= $2 * 86400000 AND r.created_at_ms < $3 * 86400000"
    };
}

/// Sums the responses of a site's days `[$2, $3)` into the rollups.
pub(super) const INSERT_ROLLUPS: [&str; 3] = [
    concat!(
        "INSERT INTO rollup_scores (site_id, day, lang, device_class, survey_version, page_path, \
         score, n) SELECT ",
        rollup_key!(),
        ", r.score, COUNT(*) FROM responses r WHERE",
        days_of_site!(),
        " GROUP BY ",
        rollup_key!(),
        ", r.score"
    ),
    concat!(
        "INSERT INTO rollup_dimensions (site_id, day, lang, device_class, survey_version, \
         page_path, dimension, answers, agree, sum_x, sum_xx, sum_y, sum_yy, sum_xy) SELECT ",
        rollup_key!(),
        ", ",
        dimension_sums!(),
        " FROM responses r \
         JOIN response_statements rs ON rs.response_id = r.id WHERE rs.answer IS NOT NULL AND",
        days_of_site!(),
        " GROUP BY ",
        rollup_key!(),
        ", rs.dimension"
    ),
    concat!(
        "INSERT INTO rollup_effort (site_id, day, lang, device_class, survey_version, page_path, \
         effort, n, contacted_again, repeated_information, switched_channel, transferred) SELECT ",
        rollup_key!(),
        ", ",
        effort_counts!(),
        " FROM responses r WHERE r.effort IS NOT NULL AND",
        days_of_site!(),
        " GROUP BY ",
        rollup_key!(),
        ", r.effort"
    ),
];

/// Rollups of days before each site's retention cutoff, whose responses are purged.
pub(super) const DELETE_PURGED_ROLLUPS: [&str; 3] = [
    "DELETE FROM rollup_scores WHERE EXISTS (SELECT 1 FROM sites \
     WHERE sites.id = rollup_scores.site_id AND rollup_scores.day < sites.purged_before_ms / 86400000)",
    "DELETE FROM rollup_dimensions WHERE EXISTS (SELECT 1 FROM sites \
     WHERE sites.id = rollup_dimensions.site_id \
     AND rollup_dimensions.day < sites.purged_before_ms / 86400000)",
    "DELETE FROM rollup_effort WHERE EXISTS (SELECT 1 FROM sites \
     WHERE sites.id = rollup_effort.site_id AND rollup_effort.day < sites.purged_before_ms / 86400000)",
];

/// Each site's retention cutoff: responses created before it are purged. Bind now.
pub(super) const SET_PURGE_CUTOFF: &str = "UPDATE sites SET purged_before_ms = \
     $1 - CAST(retention_days AS BIGINT) * 86400000 \
     WHERE purged_before_ms < $1 - CAST(retention_days AS BIGINT) * 86400000";

/// The day a purge cut through keeps some responses: it is rolled up again.
pub(super) const MARK_CUT_DAY: &str = "INSERT INTO rollup_dirty (site_id, day, marks) \
     SELECT id, purged_before_ms / 86400000, 1 FROM sites \
     WHERE rolled_until_day > purged_before_ms / 86400000 \
     ON CONFLICT (site_id, day) DO UPDATE SET marks = rollup_dirty.marks + 1";

/// Deletes the responses before their site's retention cutoff.
pub(super) const PURGE_EXPIRED: &str = "DELETE FROM responses WHERE EXISTS (SELECT 1 FROM sites \
     WHERE sites.id = responses.site_id AND responses.created_at_ms < sites.purged_before_ms)";

/// Runs one step of rolling up a site on `$pool`, in one transaction: the oldest dirty day
/// again if there is one, else up to `MAX_DAYS_PER_STEP` more days up to `$until_day`, skipping
/// empty days before the first response. Evaluates to `Ok(true)` while there is more to do.
macro_rules! roll_up_step {
    ($pool:expr, $site:expr, $until_day:expr) => {{
        use $crate::store::rollup_queries::{DELETE_ROLLUPS, INSERT_ROLLUPS};
        let site: &str = $site.as_str();
        let until_day: i64 = $until_day;
        // Most minutes there is nothing to do: find that out without taking the write lock.
        let work: Option<bool> = sqlx::query_scalar(
            "SELECT s.rolled_until_day < $2 OR EXISTS (SELECT 1 FROM rollup_dirty d \
             WHERE d.site_id = s.id AND d.day < $2) FROM sites s WHERE s.id = $1",
        )
        .bind(site)
        .bind(until_day)
        .fetch_optional($pool)
        .await?;
        if work != Some(true) {
            return Ok(false);
        }
        let mut transaction = $pool.begin().await?;
        // Written first, so the step holds the site's row (and SQLite's write lock) throughout.
        let watermark: Option<i64> = sqlx::query_scalar(
            "UPDATE sites SET rolled_until_day = rolled_until_day WHERE id = $1 \
             RETURNING rolled_until_day",
        )
        .bind(site)
        .fetch_optional(&mut *transaction)
        .await?;
        let Some(watermark) = watermark else {
            return Ok(false);
        };
        let dirty: Option<(i64, i64)> = sqlx::query_as(
            "SELECT day, marks FROM rollup_dirty WHERE site_id = $1 AND day < $2 \
             ORDER BY day LIMIT 1",
        )
        .bind(site)
        .bind(until_day)
        .fetch_optional(&mut *transaction)
        .await?;
        let (from, to) = match dirty {
            Some((day, _)) => (day, day + 1),
            None if watermark >= until_day => return Ok(false),
            None => {
                let first: Option<i64> = sqlx::query_scalar(
                    "SELECT MIN(created_at_ms) / 86400000 FROM responses \
                     WHERE site_id = $1 AND created_at_ms >= $2 * 86400000",
                )
                .bind(site)
                .bind(watermark)
                .fetch_one(&mut *transaction)
                .await?;
                let from = first.unwrap_or(until_day).clamp(watermark, until_day);
                (
                    from,
                    (from + $crate::store::MAX_DAYS_PER_STEP).min(until_day),
                )
            }
        };
        for sql in DELETE_ROLLUPS.into_iter().chain(INSERT_ROLLUPS) {
            sqlx::query(sql)
                .bind(site)
                .bind(from)
                .bind(to)
                .execute(&mut *transaction)
                .await?;
        }
        match dirty {
            // Cleared only if no change marked the day again meanwhile.
            Some((day, marks)) => {
                sqlx::query(
                    "DELETE FROM rollup_dirty WHERE site_id = $1 AND day = $2 AND marks = $3",
                )
                .bind(site)
                .bind(day)
                .bind(marks)
                .execute(&mut *transaction)
                .await?;
            }
            None => {
                sqlx::query("UPDATE sites SET rolled_until_day = $2 WHERE id = $1")
                    .bind(site)
                    .bind(to)
                    .execute(&mut *transaction)
                    .await?;
            }
        }
        transaction.commit().await?;
        Ok(dirty.is_some() || to < until_day)
    }};
}
pub(crate) use roll_up_step;

/// Purges on `$pool` in one transaction: sets each site's cutoff, deletes the responses before
/// it and the rollups of days wholly before it, and marks the day it cuts through. Evaluates to
/// `Ok(responses purged)`.
macro_rules! purge {
    ($pool:expr, $now_ms:expr) => {{
        use $crate::store::rollup_queries::{
            DELETE_PURGED_ROLLUPS, MARK_CUT_DAY, PURGE_EXPIRED, SET_PURGE_CUTOFF,
        };
        let mut transaction = $pool.begin().await?;
        sqlx::query(SET_PURGE_CUTOFF)
            .bind($now_ms)
            .execute(&mut *transaction)
            .await?;
        let purged = sqlx::query(PURGE_EXPIRED)
            .execute(&mut *transaction)
            .await?
            .rows_affected();
        for sql in DELETE_PURGED_ROLLUPS.into_iter().chain([MARK_CUT_DAY]) {
            sqlx::query(sql).execute(&mut *transaction).await?;
        }
        transaction.commit().await?;
        Ok(purged)
    }};
}
pub(crate) use purge;
