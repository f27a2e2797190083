//! Writing imported rows: new ones inserted with their own times and source, one already there
//! left as it is, and every settled day that gained a response marked to be rolled up again.

use std::collections::{BTreeSet, HashMap, HashSet};

use async_trait::async_trait;

use crate::db::{placeholders, Db, Query, StoreError, Value};
use crate::domain::SiteId;
use crate::responses::{StoredResponse, StoredStatement};

/// What a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Written {
    pub added: usize,
    /// Already there (an earlier import, or a repeat within the file): left as they are.
    pub existing: usize,
}

#[async_trait]
pub trait ImportStore: Send + Sync {
    /// The site each of these response ids belongs to, for those that exist.
    async fn owners_of(&self, ids: &[String]) -> Result<HashMap<String, String>, StoreError>;
    /// Inserts the rows the site does not have yet, in one transaction.
    async fn import_rows(
        &self,
        site: &SiteId,
        rows: &[StoredResponse],
    ) -> Result<Written, StoreError>;
}

/// The columns of an imported row, in the order [`values`] binds them.
const COLUMNS: &str = "INSERT INTO responses (id, site_id, score, comment, survey_version, \
     lang, effort, effort_drivers, contact_consent, email, page_path, page_query, \
     referrer_domain, device_class, utm, attributes, created_at_ms, updated_at_ms, source) VALUES ";
const WIDTH: usize = 19;

fn values(site: &SiteId, row: &StoredResponse) -> [Value; WIDTH] {
    [
        row.id.as_str().into(),
        site.as_str().into(),
        row.score.into(),
        row.comment.as_deref().into(),
        row.survey_version.into(),
        row.lang.as_deref().into(),
        row.effort.into(),
        row.effort_drivers.as_deref().into(),
        row.contact_consent.into(),
        row.email.as_deref().into(),
        row.page_path.as_deref().into(),
        row.page_query.as_deref().into(),
        row.referrer.as_deref().into(),
        row.device.as_deref().into(),
        row.utm.as_deref().into(),
        row.attributes.as_deref().into(),
        row.created_at_ms.into(),
        row.updated_at_ms.into(),
        row.source.as_deref().into(),
    ]
}

/// A settled day that gained responses is rolled up again (bind the site and the day).
const MARK_DAY: &str = "INSERT INTO rollup_dirty (site_id, day, marks) \
     SELECT id, $2, 1 FROM sites WHERE id = $1 AND rolled_until_day > $2 \
     ON CONFLICT (site_id, day) DO UPDATE SET marks = rollup_dirty.marks + 1";

#[async_trait]
impl ImportStore for Db {
    async fn owners_of(&self, ids: &[String]) -> Result<HashMap<String, String>, StoreError> {
        let mut owners = HashMap::new();
        for chunk in ids.chunks(500) {
            let list = placeholders(1, chunk.len(), self.placeholder());
            let query = Query::new(format!(
                "SELECT id, site_id FROM responses WHERE id IN {list}"
            ))
            .bind_all(chunk.iter().map(|id| id.as_str().into()));
            for row in self.fetch_all(query).await? {
                owners.insert(row.get("id")?, row.get("site_id")?);
            }
        }
        Ok(owners)
    }

    async fn import_rows(
        &self,
        site: &SiteId,
        rows: &[StoredResponse],
    ) -> Result<Written, StoreError> {
        if rows.is_empty() {
            return Ok(Written::default());
        }
        let mut transaction = self.begin().await?;
        let mut added = HashSet::new();
        // A statement per thousand rows (19,000 values, within SQLite's 32,766): a round trip
        // per row made a million rows take minutes.
        for chunk in rows.chunks(1_000) {
            let insert = Query::new(format!(
                "{COLUMNS}{} ON CONFLICT (id) DO NOTHING RETURNING id",
                placeholders(chunk.len(), WIDTH, self.placeholder())
            ))
            .bind_all(chunk.iter().flat_map(|row| values(site, row)));
            for row in transaction.fetch_all(insert).await? {
                added.insert(row.get::<String>("id")?);
            }
        }
        let statements: Vec<(&StoredResponse, &StoredStatement)> = rows
            .iter()
            .filter(|row| added.contains(&row.id))
            .flat_map(|row| row.statements.iter().map(move |statement| (row, statement)))
            .collect();
        for chunk in statements.chunks(1_000) {
            let query = Query::new(format!(
                "INSERT INTO response_statements (response_id, statement_id, dimension, answer) \
                 VALUES {} ON CONFLICT (response_id, statement_id) DO NOTHING",
                placeholders(chunk.len(), 4, self.placeholder())
            ))
            .bind_all(chunk.iter().flat_map(|(row, statement)| {
                [
                    Value::from(row.id.as_str()),
                    statement.id.as_str().into(),
                    statement.dimension.as_str().into(),
                    statement.answer.into(),
                ]
            }));
            transaction.execute(query).await?;
        }
        let days: BTreeSet<i64> = rows
            .iter()
            .filter(|row| added.contains(&row.id))
            .map(|row| row.created_at_ms.div_euclid(86_400_000))
            .collect();
        for day in days {
            transaction
                .execute(Query::new(MARK_DAY).bind(site.as_str()).bind(day))
                .await?;
        }
        transaction.commit().await?;
        Ok(Written {
            added: added.len(),
            existing: rows.len() - added.len(),
        })
    }
}
