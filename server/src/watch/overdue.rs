//! Cases past their target time: flagged once each (the webhook event `case.overdue`), then
//! listed in a digest mailed to the site's admins, at most one an hour per site.

use super::Stores;
use crate::accounts::Role;
use crate::db::StoreError;
use crate::domain::ResponseId;
use crate::mail::{MailKind, MailOptions, OutgoingMail};
use crate::webhooks::WebhookEvent;

const HOUR_MS: i64 = 3_600_000;

/// A case whose target passed longer ago than this when the watch first sees it (history from
/// before the feature, an import, a server that was off for weeks) is shown overdue in the
/// inbox but not announced: a flood of stale alerts would bury the fresh ones.
pub const ANNOUNCE_WITHIN_MS: i64 = 7 * 24 * HOUR_MS;

/// Flags every case that passed its target by `now_ms` and announces it; returns how many.
pub(super) async fn flag<S: Stores + ?Sized>(
    store: &S,
    webhook_attempts: u32,
    now_ms: i64,
) -> Result<usize, StoreError> {
    let flagged = store
        .flag_overdue(now_ms, now_ms - ANNOUNCE_WITHIN_MS)
        .await?;
    for (site, response) in &flagged {
        store
            .announce(
                site,
                response,
                WebhookEvent::CaseOverdue,
                webhook_attempts,
                now_ms,
            )
            .await?;
    }
    Ok(flagged.len())
}

/// Mails each site with cases flagged since its last digest, and none in the past hour, one
/// digest per admin; returns how many sites got one.
pub(super) async fn digest<S: Stores + ?Sized>(
    store: &S,
    mail: &MailOptions,
    now_ms: i64,
) -> Result<usize, StoreError> {
    let mut mailed = 0;
    for site in store.sites_due_a_digest(now_ms - HOUR_MS).await? {
        if !store.claim_digest(&site, now_ms, now_ms - HOUR_MS).await? {
            continue;
        }
        let cases = store.undigested_overdue(&site, now_ms).await?;
        let Some(first) = cases.first() else {
            continue;
        };
        let subject = format!(
            "{} overdue case{} at {}",
            cases.len(),
            if cases.len() == 1 { "" } else { "s" },
            first.site_name
        );
        let mut body = format!(
            "These visitors of {} asked to be contacted, and nobody has written to them within \
             the site's target time:\n\n",
            first.site_name
        );
        for case in &cases {
            body.push_str(&format!(
                "- {}/10, due {}: {}\n",
                case.score,
                crate::responses::export::rfc3339(case.due_at_ms),
                case.comment
                    .as_deref()
                    .map(|comment| comment.chars().take(200).collect::<String>())
                    .unwrap_or_else(|| "(no comment)".into())
            ));
        }
        body.push('\n');
        match &mail.console_url {
            Some(base) => {
                body.push_str(&format!("Answer them: {base}/console/sites/{site}/inbox\n"))
            }
            None => body.push_str("Answer them from the site's inbox in the Soovita console.\n"),
        }
        body.push_str(
            "\nThis digest comes at most once an hour, with the cases that became overdue since the last one.\n",
        );
        let from = mail.from.email.to_string();
        let members = store.members(&site).await?;
        let admins = members.iter().filter(|member| member.role == Role::Admin);
        for admin in admins.map(|member| member.email.as_str()) {
            if let Ok(message) = OutgoingMail::compose(
                MailKind::Digest,
                site.clone(),
                None,
                &from,
                admin,
                &subject,
                &body,
            ) {
                store.queue_mail(&message, now_ms).await?;
            }
        }
        let flagged: Vec<ResponseId> = cases.iter().map(|case| case.response_id).collect();
        store.mark_digested(&site, &flagged, now_ms).await?;
        mailed += 1;
    }
    Ok(mailed)
}
