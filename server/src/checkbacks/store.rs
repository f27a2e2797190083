//! Check-backs and their answers in the database, and the key their links are signed with.

use async_trait::async_trait;

use super::Answer;
use crate::db::{Db, Query, StoreError};
use crate::domain::{ResponseId, SiteId};

/// A case's check-back as the thread shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckBack {
    pub sent_at_ms: i64,
    pub score: Option<u8>,
    pub answered_at_ms: Option<i64>,
}

/// What the page a link opens needs: the site's name and the visitor's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckBackCase {
    pub site_name: String,
    pub lang: Option<String>,
    pub score: Option<u8>,
}

#[async_trait]
pub trait CheckBackStore: Send + Sync {
    /// The key named `name`, made (32 random bytes) by whichever server asks first, so every
    /// server on one database signs alike.
    async fn server_key(&self, name: &str) -> Result<Vec<u8>, StoreError>;
    /// Records that a check-back goes out for a case of the site; `false` if the site has no
    /// such case or its check-back was answered already. Sending again before an answer moves
    /// the expiry on.
    async fn start_check_back(
        &self,
        site: &SiteId,
        response: &ResponseId,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<bool, StoreError>;
    async fn check_back(
        &self,
        site: &SiteId,
        response: &ResponseId,
    ) -> Result<Option<CheckBack>, StoreError>;
    /// The case a link names, for its page.
    async fn check_back_case(
        &self,
        response: &ResponseId,
    ) -> Result<Option<CheckBackCase>, StoreError>;
    /// Records the score once per case.
    async fn answer_check_back(
        &self,
        response: &ResponseId,
        score: u8,
        now_ms: i64,
    ) -> Result<Answer, StoreError>;
    /// (first score, check-back score) of every contacted case of the site that answered.
    async fn check_back_answers(&self, site: &SiteId) -> Result<Vec<(u8, u8)>, StoreError>;
}

const START: &str = "INSERT INTO check_backs (response_id, site_id, sent_at_ms, expires_at_ms) \
     SELECT id, site_id, $3, $4 FROM responses \
     WHERE id = $1 AND site_id = $2 AND contact_consent \
     ON CONFLICT (response_id) DO UPDATE SET sent_at_ms = excluded.sent_at_ms, \
     expires_at_ms = excluded.expires_at_ms WHERE check_backs.score IS NULL";

const ANSWER: &str = "UPDATE check_backs SET score = $2, answered_at_ms = $3 \
     WHERE response_id = $1 AND score IS NULL";

const ANSWERS: &str = "SELECT CAST(r.score AS BIGINT) AS before, CAST(c.score AS BIGINT) AS after \
     FROM check_backs c JOIN responses r ON r.id = c.response_id \
     JOIN follow_ups f ON f.response_id = c.response_id \
     WHERE c.site_id = $1 AND c.score IS NOT NULL AND f.contacted_at_ms IS NOT NULL";

#[async_trait]
impl CheckBackStore for Db {
    async fn server_key(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let select = || Query::new("SELECT key FROM server_keys WHERE name = $1").bind(name);
        // Read first: every check-back page asks for the key, and only the first ever makes it,
        // so a visitor's click costs no write.
        let row = match self.fetch_optional(select()).await? {
            Some(row) => row,
            None => {
                let fresh = hex::encode(rand::random::<[u8; 32]>());
                let insert = Query::new(
                    "INSERT INTO server_keys (name, key) VALUES ($1, $2) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(fresh);
                self.execute(insert).await?;
                self.fetch_optional(select())
                    .await?
                    .ok_or_else(|| StoreError::Corrupt(format!("server key {name} missing")))?
            }
        };
        row.parsed("key", |key| hex::decode(key).ok())
    }

    async fn start_check_back(
        &self,
        site: &SiteId,
        response: &ResponseId,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<bool, StoreError> {
        let query = Query::new(START)
            .bind(response.to_string())
            .bind(site.as_str())
            .bind(now_ms)
            .bind(expires_at_ms);
        Ok(self.execute(query).await? > 0)
    }

    async fn check_back(
        &self,
        site: &SiteId,
        response: &ResponseId,
    ) -> Result<Option<CheckBack>, StoreError> {
        let query = Query::new(
            "SELECT sent_at_ms, CAST(score AS BIGINT) AS score, answered_at_ms FROM check_backs \
             WHERE site_id = $1 AND response_id = $2",
        )
        .bind(site.as_str())
        .bind(response.to_string());
        let Some(row) = self.fetch_optional(query).await? else {
            return Ok(None);
        };
        Ok(Some(CheckBack {
            sent_at_ms: row.get("sent_at_ms")?,
            score: row.narrow_opt("score")?,
            answered_at_ms: row.get("answered_at_ms")?,
        }))
    }

    async fn check_back_case(
        &self,
        response: &ResponseId,
    ) -> Result<Option<CheckBackCase>, StoreError> {
        let query = Query::new(
            "SELECT s.name, r.lang, CAST(c.score AS BIGINT) AS score FROM check_backs c \
             JOIN responses r ON r.id = c.response_id JOIN sites s ON s.id = c.site_id \
             WHERE c.response_id = $1",
        )
        .bind(response.to_string());
        let Some(row) = self.fetch_optional(query).await? else {
            return Ok(None);
        };
        Ok(Some(CheckBackCase {
            site_name: row.get("name")?,
            lang: row.get("lang")?,
            score: row.narrow_opt("score")?,
        }))
    }

    async fn answer_check_back(
        &self,
        response: &ResponseId,
        score: u8,
        now_ms: i64,
    ) -> Result<Answer, StoreError> {
        let query = Query::new(ANSWER)
            .bind(response.to_string())
            .bind(score)
            .bind(now_ms);
        if self.execute(query).await? > 0 {
            return Ok(Answer::Recorded);
        }
        let exists = Query::new("SELECT response_id FROM check_backs WHERE response_id = $1")
            .bind(response.to_string());
        Ok(match self.fetch_optional(exists).await? {
            Some(_) => Answer::AlreadyAnswered,
            None => Answer::Unknown,
        })
    }

    async fn check_back_answers(&self, site: &SiteId) -> Result<Vec<(u8, u8)>, StoreError> {
        let query = Query::new(ANSWERS).bind(site.as_str());
        self.fetch_all(query)
            .await?
            .iter()
            .map(|row| Ok((row.narrow("before")?, row.narrow("after")?)))
            .collect()
    }
}
