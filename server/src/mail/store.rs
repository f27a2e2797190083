//! Queued and sent mail in the database.

use async_trait::async_trait;

use soovita_wire::Category;

use super::templates::Template;
use super::{DueMail, MailKind, MailStatus, OutgoingMail, ThreadMail};
use crate::db::{Db, Query, Row, StoreError};
use crate::domain::{ResponseId, SiteId};

#[async_trait]
pub trait MailStore: Send + Sync {
    /// Queues a message, due now; `false` if one with its id is queued already.
    async fn queue_mail(&self, mail: &OutgoingMail, now_ms: i64) -> Result<bool, StoreError>;
    /// The newest message of this kind about a site that is about no case (a test message).
    async fn latest_mail(
        &self,
        site: &SiteId,
        kind: MailKind,
    ) -> Result<Option<ThreadMail>, StoreError>;
    /// The messages of a case, oldest first.
    async fn thread(
        &self,
        site: &SiteId,
        response: &ResponseId,
    ) -> Result<Vec<ThreadMail>, StoreError>;
    /// Takes up to `limit` messages due by `now_ms`, due again at `lease_until_ms` in case this
    /// server stops while sending them; another server's sender leaves them alone meanwhile.
    async fn claim_due_mail(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<DueMail>, StoreError>;
    /// A site's own wording of a reply, if it has one.
    async fn reply_template(
        &self,
        site: &SiteId,
        lang: &str,
        category: Category,
    ) -> Result<Option<Template>, StoreError>;
    /// Keeps a site's own wording of a reply, in place of the built-in one.
    async fn save_reply_template(
        &self,
        site: &SiteId,
        (lang, category): (&str, Category),
        template: &Template,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Goes back to the built-in wording.
    async fn reset_reply_template(
        &self,
        site: &SiteId,
        lang: &str,
        category: Category,
    ) -> Result<(), StoreError>;
    /// The languages and categories a site has its own wording for.
    async fn edited_templates(&self, site: &SiteId) -> Result<Vec<(String, String)>, StoreError>;
    /// Where a message stands after an attempt.
    async fn record_mail(
        &self,
        id: &str,
        status: MailStatus,
        error: Option<&str>,
        next_attempt_at_ms: i64,
        now_ms: i64,
    ) -> Result<(), StoreError>;
}

const INSERT_MAIL: &str = "INSERT INTO mails (id, site_id, response_id, sender_email, to_email, \
     subject, body, status, next_attempt_at_ms, message_id, created_at_ms, kind) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $8, $9, $8, $10) ON CONFLICT (id) DO NOTHING";

/// A message as a thread lists it.
const SELECT_THREAD_MAIL: &str = "SELECT id, kind, sender_email, subject, body, status, \
     CAST(attempts AS BIGINT) AS attempts, error, created_at_ms, sent_at_ms FROM mails";

const CLAIM_DUE: &str = "UPDATE mails SET next_attempt_at_ms = $2 \
     WHERE status IN ('queued', 'retrying') AND next_attempt_at_ms <= $1 AND id IN (SELECT id \
     FROM mails WHERE status IN ('queued', 'retrying') AND next_attempt_at_ms <= $1 \
     ORDER BY next_attempt_at_ms LIMIT $3) RETURNING id";

const SELECT_DUE: &str = "SELECT id, sender_email, to_email, subject, body, message_id, \
     CAST(attempts AS BIGINT) AS attempts FROM mails WHERE id = $1";

/// Bind the id, status, error, next attempt and now; a sent message records when.
const RECORD: &str = "UPDATE mails SET status = $2, error = $3, next_attempt_at_ms = $4, \
     attempts = attempts + 1, sent_at_ms = CASE WHEN $2 = 'sent' THEN $5 END WHERE id = $1";

#[async_trait]
impl MailStore for Db {
    async fn queue_mail(&self, mail: &OutgoingMail, now_ms: i64) -> Result<bool, StoreError> {
        let query = Query::new(INSERT_MAIL)
            .bind(mail.id.as_str())
            .bind(mail.site_id.as_str())
            .bind(mail.response_id.map(|id| id.to_string()))
            .bind(mail.sender_email.as_str())
            .bind(mail.to_email.as_str())
            .bind(mail.subject.as_str())
            .bind(mail.body.as_str())
            .bind(now_ms)
            .bind(mail.message_id.as_str())
            .bind(mail.kind.as_str());
        Ok(self.execute(query).await? > 0)
    }

    async fn latest_mail(
        &self,
        site: &SiteId,
        kind: MailKind,
    ) -> Result<Option<ThreadMail>, StoreError> {
        let query = Query::new(
            [
                SELECT_THREAD_MAIL,
                " WHERE site_id = $1 AND kind = $2 AND response_id IS NULL \
                 ORDER BY created_at_ms DESC, id LIMIT 1",
            ]
            .concat(),
        )
        .bind(site.as_str())
        .bind(kind.as_str());
        self.fetch_optional(query)
            .await?
            .map(|row| thread_mail_of(&row))
            .transpose()
    }

    async fn thread(
        &self,
        site: &SiteId,
        response: &ResponseId,
    ) -> Result<Vec<ThreadMail>, StoreError> {
        let query = Query::new(
            [
                SELECT_THREAD_MAIL,
                " WHERE site_id = $1 AND response_id = $2 ORDER BY created_at_ms, id",
            ]
            .concat(),
        )
        .bind(site.as_str())
        .bind(response.to_string());
        self.fetch_all(query)
            .await?
            .iter()
            .map(thread_mail_of)
            .collect()
    }

    async fn claim_due_mail(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<DueMail>, StoreError> {
        let claim = Query::new(CLAIM_DUE)
            .bind(now_ms)
            .bind(lease_until_ms)
            .bind(limit);
        let mut due = Vec::new();
        for claimed in self.fetch_all(claim).await? {
            let id: String = claimed.get("id")?;
            if let Some(row) = self.fetch_optional(Query::new(SELECT_DUE).bind(id)).await? {
                due.push(DueMail {
                    id: row.get("id")?,
                    sender_email: row.get("sender_email")?,
                    to_email: row.get("to_email")?,
                    subject: row.get("subject")?,
                    body: row.get("body")?,
                    message_id: row.get("message_id")?,
                    attempts: row.narrow("attempts")?,
                });
            }
        }
        Ok(due)
    }

    async fn reply_template(
        &self,
        site: &SiteId,
        lang: &str,
        category: Category,
    ) -> Result<Option<Template>, StoreError> {
        let query = Query::new(
            "SELECT subject, body FROM reply_templates \
             WHERE site_id = $1 AND lang = $2 AND category = $3",
        )
        .bind(site.as_str())
        .bind(lang)
        .bind(category.as_str());
        let Some(row) = self.fetch_optional(query).await? else {
            return Ok(None);
        };
        Ok(Some(Template {
            subject: row.get("subject")?,
            body: row.get("body")?,
        }))
    }

    async fn save_reply_template(
        &self,
        site: &SiteId,
        (lang, category): (&str, Category),
        template: &Template,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let query = Query::new(
            "INSERT INTO reply_templates (site_id, lang, category, subject, body, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (site_id, lang, category) DO UPDATE \
             SET subject = excluded.subject, body = excluded.body, \
             updated_at_ms = excluded.updated_at_ms",
        )
        .bind(site.as_str())
        .bind(lang)
        .bind(category.as_str())
        .bind(template.subject.as_str())
        .bind(template.body.as_str())
        .bind(now_ms);
        self.execute(query).await.map(|_| ())
    }

    async fn reset_reply_template(
        &self,
        site: &SiteId,
        lang: &str,
        category: Category,
    ) -> Result<(), StoreError> {
        let query = Query::new(
            "DELETE FROM reply_templates WHERE site_id = $1 AND lang = $2 AND category = $3",
        )
        .bind(site.as_str())
        .bind(lang)
        .bind(category.as_str());
        self.execute(query).await.map(|_| ())
    }

    async fn edited_templates(&self, site: &SiteId) -> Result<Vec<(String, String)>, StoreError> {
        let query = Query::new("SELECT lang, category FROM reply_templates WHERE site_id = $1")
            .bind(site.as_str());
        self.fetch_all(query)
            .await?
            .iter()
            .map(|row| Ok((row.get("lang")?, row.get("category")?)))
            .collect()
    }

    async fn record_mail(
        &self,
        id: &str,
        status: MailStatus,
        error: Option<&str>,
        next_attempt_at_ms: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let query = Query::new(RECORD)
            .bind(id)
            .bind(status.as_str())
            .bind(error)
            .bind(next_attempt_at_ms)
            .bind(now_ms);
        self.execute(query).await.map(|_| ())
    }
}

fn thread_mail_of(row: &Row) -> Result<ThreadMail, StoreError> {
    Ok(ThreadMail {
        id: row.get("id")?,
        kind: row.parsed("kind", MailKind::parse)?,
        sender_email: row.get("sender_email")?,
        subject: row.get("subject")?,
        body: row.get("body")?,
        status: row.parsed("status", MailStatus::parse)?,
        attempts: row.narrow("attempts")?,
        error: row.get("error")?,
        created_at_ms: row.get("created_at_ms")?,
        sent_at_ms: row.get("sent_at_ms")?,
    })
}
