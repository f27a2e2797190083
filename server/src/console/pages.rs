//! The console's pages as HTML. maud escapes every value it interpolates, so what visitors
//! wrote (comments, page paths) always shows as text, never as markup.

use maud::{html, Markup, DOCTYPE};
use soovita_wire::{Category, EffortDriver, SiteResults};

use super::charts;
use crate::checkbacks::Recovery;
use crate::inbox::InboxItem;
use crate::inbox::{human, FollowUpStatus, ResponseTimes, Share};
use crate::responses::filter::FilterQuery;
use crate::responses::StoredComment;
use crate::results::TrendInterval;
use crate::sites::Site;
use crate::webhooks::{Delivery, DeliveryStatus, Webhook, WebhookEvent, WebhookOptions};

/// How the margin of error is computed, for the tooltip beside every NPS.
const MARGIN_METHOD: &str = "95% confidence interval. Each response counts +1 (promoter), 0 \
    (passive) or -1 (detractor); NPS is 100 times their mean, and the margin is 1.96 standard \
    errors: 100 x 1.96 x sqrt((p + d - (p - d)^2) / n), with p and d the shares of promoters \
    and detractors (the trinomial model).";

/// The class and the words for a score's category.
pub fn category(score: u8) -> (&'static str, &'static str) {
    let category = Category::from_score(score);
    let words = match category {
        Category::Passive => "passive: satisfied but not loyal",
        _ => category.as_str(),
    };
    (category.as_str(), words)
}

/// Who is signed in, for the header.
pub struct SignedInAs<'a> {
    pub email: &'a str,
    pub csrf_token: &'a str,
}

pub(super) fn layout(title: &str, signed_in: Option<SignedInAs<'_>>, body: Markup) -> Markup {
    refreshing_layout(title, signed_in, None, body)
}

/// [`layout`] for a page that reloads itself every `refresh` seconds while work goes on (an
/// import): no script may run, but a refresh in the page is not one.
pub(super) fn refreshing_layout(
    title: &str,
    signed_in: Option<SignedInAs<'_>>,
    refresh: Option<u32>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                @if let Some(seconds) = refresh { meta http-equiv="refresh" content=(seconds); }
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Soovita" }
                link rel="stylesheet" href=(super::STYLESHEET);
            }
            body {
                header {
                    a href="/console" { "Soovita" }
                    @if let Some(owner) = signed_in {
                        form.inline method="post" action="/console/sign-out" {
                            span.muted { (owner.email) " " }
                            input type="hidden" name="csrf" value=(owner.csrf_token);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The sign-in form, with what went wrong last time.
pub fn sign_in(error: Option<&str>, email: &str) -> Markup {
    layout(
        "Sign in",
        None,
        html! {
            h1 { "Sign in" }
            @if let Some(error) = error {
                p.error role="alert" { (error) }
            }
            form.stack method="post" action="/console/sign-in" {
                label { "Email" input type="email" name="email" value=(email) required autocomplete="username"; }
                label { "Password" input type="password" name="password" required autocomplete="current-password"; }
                button type="submit" { "Sign in" }
            }
            p.muted { "No account yet? The server's operator creates one with "
                code { "soovita owner add --email you@example.com" } "." }
        },
    )
}

/// Every site on the server.
pub fn sites(owner: SignedInAs<'_>, sites: &[Site]) -> Markup {
    layout(
        "Sites",
        Some(owner),
        html! {
            h1 { "Sites" }
            @if sites.is_empty() {
                p { "You have no sites yet. Add one, or ask a site's admin to make you a member." }
            }
            ul {
                @for site in sites {
                    li { a href=(format!("/console/sites/{}", site.id)) { (site.name) } }
                }
            }
            p { a href="/console/sites/new" { "Add a site" } }
        },
    )
}

/// What the dashboard shows, and the filter it was asked for.
pub struct DashboardView<'a> {
    /// How fast cases were answered, and how many detractors were won back.
    pub closing: (&'a ResponseTimes, &'a Recovery),
    pub results: &'a SiteResults,
    pub comments: &'a [StoredComment],
    pub search: &'a str,
    pub filter: &'a FilterQuery,
    pub interval: TrendInterval,
    /// The filter as a query string, for the export links.
    pub export_query: &'a str,
    /// What each group's comments talk about (`themes::section`).
    pub themes: Markup,
}

/// The filter form: every field optional, the current values kept.
fn filter_form(view: &DashboardView<'_>) -> Markup {
    let value = |field: &Option<String>| field.clone().unwrap_or_default();
    let device = value(&view.filter.device);
    html! {
        form.filters method="get" {
            label { "From" input type="date" name="from" value=(value(&view.filter.from)); }
            label { "To" input type="date" name="to" value=(value(&view.filter.to)); }
            label { "Page" input type="text" name="page" placeholder="/checkout" value=(value(&view.filter.page)); }
            label { "Language" input type="text" name="lang" placeholder="et" size="5" value=(value(&view.filter.lang)); }
            label { "Device"
                select name="device" {
                    option value="" { "any" }
                    @for class in ["phone", "tablet", "desktop"] {
                        option value=(class) selected[device == class] { (class) }
                    }
                }
            }
            label { "Survey version" input type="number" name="version" min="1" value=(value(&view.filter.version)); }
            label { "Source" input type="text" name="source" placeholder="widget" size="16" value=(value(&view.filter.source)); }
            label { "Trend by"
                select name="interval" {
                    option value="month" selected[view.interval == TrendInterval::Month] { "month" }
                    option value="week" selected[view.interval == TrendInterval::Week] { "week" }
                }
            }
            label { "Search comments" input type="search" name="q" value=(view.search); }
            button type="submit" { "Apply" }
        }
    }
}

/// The share of cases contacted within target by month, beside the medians, and the recovery
/// rate of detractors who answered a check-back.
fn closing_the_loop(site: &Site, (times, recovery): (&ResponseTimes, &Recovery)) -> Markup {
    let share = |share: Share| {
        share
            .percent()
            .map_or_else(|| "–".to_owned(), |percent| format!("{percent}%"))
    };
    html! {
        h2 { "Closing the loop" }
        div.cards {
            div.card {
                div.muted { "Contacted within target" }
                div.figure #dashboard-within-target { (share(times.within_target)) }
                div.muted { (times.within_target.part) " of " (times.within_target.whole) " cases" }
            }
            div.card {
                div.muted { "Median time to first contact" }
                div.figure { (wait(times.first_contact_ms)) }
            }
            div.card {
                div.muted { "Detractors won back" }
                div.figure #recovery-rate { @match recovery.recovered.percent() { Some(p) => (format!("{p}%")), None => "–" } }
                div.muted #recovery-detail {
                    @if recovery.recovered.whole == 0 { "no check-back answered yet" }
                    @else {
                        (recovery.recovered.part) " of " (recovery.recovered.whole) " now answer 7 or more; median change "
                        (format!("{:+.1}", recovery.median_change.unwrap_or_default()))
                    }
                }
            }
        }
        @if !times.by_month.is_empty() {
            div.table-wrap { table {
                caption.muted { "By the month of the response (the inbox's newest " (crate::inbox::INBOX_SHOWN) " cases)" }
                thead { tr { th { "Month" } th.number { "Contacted within target" } th.number { "Median to first contact" } th.number { "Median to resolution" } } }
                tbody {
                    @for month in times.by_month.iter().rev().take(6) {
                        tr {
                            td { (month.month) }
                            td.number { (share(month.within_target)) " (" (month.within_target.part) "/" (month.within_target.whole) ")" }
                            td.number { (wait(month.first_contact_ms)) }
                            td.number { (wait(month.resolution_ms)) }
                        }
                    }
                }
            } }
        }
        p.muted { a href=(format!("/console/sites/{}/inbox", site.id)) { "To the inbox" } " · "
            a href=(format!("/console/sites/{}/closing-the-loop", site.id)) { "Target times" } }
    }
}

/// The pages of a site the dashboard links to: (path under the site, link text).
const SITE_PAGES: [(&str, &str); 9] = [
    ("inbox", "Inbox: visitors who asked to be contacted"),
    ("webhooks", "Webhooks"),
    ("survey", "Survey editor"),
    ("install", "Install"),
    ("settings", "Settings"),
    ("tokens", "API tokens"),
    ("members", "Members"),
    ("closing-the-loop", "Closing the loop"),
    ("import", "Import"),
];

/// One site's results and comments.
pub fn dashboard(owner: SignedInAs<'_>, site: &Site, view: &DashboardView<'_>) -> Markup {
    let (results, comments, search) = (view.results, view.comments, view.search);
    let share = |n: u64| percent(n as f64 / results.responses.max(1) as f64);
    layout(
        &site.name,
        Some(owner),
        html! {
            h1 { (site.name) }
            p {
                @for (n, (page, name)) in SITE_PAGES.iter().enumerate() {
                    @if n > 0 { " · " }
                    a href=(format!("/console/sites/{}/{page}", site.id)) { (name) }
                }
            }
            (filter_form(view))
            p.muted {
                "Export these responses: "
                a href=(format!("/console/sites/{}/export?format=csv&{}", site.id, view.export_query)) { "CSV" }
                " · "
                a href=(format!("/console/sites/{}/export?format=json&{}", site.id, view.export_query)) { "JSON" }
            }
            @if results.responses == 0 {
                p { "No responses here yet. Once visitors answer, their score, its drivers and their comments show here." }
            } @else {
                div.cards {
                    div.card {
                        div.muted { "Net Promoter Score" }
                        div.figure #nps { (signed(results.nps.unwrap_or_default())) }
                        div {
                            abbr title=(MARGIN_METHOD) {
                                "± " (format!("{:.1}", results.margin_of_error.unwrap_or_default()))
                            }
                            " · n = " span #responses { (results.responses) }
                        }
                    }
                    div.card {
                        div.promoter { "Promoters (9–10) " strong { (results.promoters) } " · " (share(results.promoters)) }
                        div.passive { "Passives (7–8), satisfied but not loyal " strong { (results.passives) } " · " (share(results.passives)) }
                        div.detractor { "Detractors (0–6) " strong { (results.detractors) } " · " (share(results.detractors)) }
                    }
                }
                h2 { "Distribution" }
                (charts::histogram(&results.histogram))
                h2 { "Trend" }
                p.muted { "NPS per " (if view.interval == TrendInterval::Week { "week" } else { "month" })
                    ", with the band of its 95% interval: a short period with few answers has a wide one." }
                (charts::trend(&results.trend))
                @if let Some(focus) = &results.focus {
                    h2 { "What to work on" }
                    p.focus #focus { (focus) }
                }
                @if !results.key_drivers.is_empty() {
                    h2 { "Key drivers" }
                    p.muted { "How strongly agreement with each driver goes with the 0–10 score (Pearson's r, 95% interval by Fisher's z)." }
                    div.table-wrap { table {
                        thead { tr { th { "Driver" } th.number { "r" } th.number { "95% interval" } th.number { "n" } th.number { "Mean agreement (1–5)" } } }
                        tbody {
                            @for driver in &results.key_drivers {
                                tr {
                                    td { (label(driver.dimension.as_str())) }
                                    td.number { (format!("{:.2}", driver.correlation)) }
                                    td.number { (format!("{:.2} to {:.2}", driver.low, driver.high)) }
                                    td.number { (driver.answers) }
                                    td.number { (format!("{:.1}", driver.mean_agreement)) }
                                }
                            }
                        }
                    } }
                }
                @if !results.dimensions.is_empty() {
                    h2 { "Loyalty dimensions" }
                    p.muted { "Each visitor rates only a few statements, so every dimension has its own n." }
                    div.table-wrap { table {
                        thead { tr { th { "Dimension" } th.number { "n" } th.number { "Mean agreement (1–5)" } th.number { "Agree" } } }
                        tbody {
                            @for dimension in &results.dimensions {
                                tr {
                                    td { (label(dimension.dimension.as_str())) }
                                    td.number { (dimension.answers) }
                                    td.number { (format!("{:.1}", dimension.mean_agreement)) }
                                    td.number { (percent(dimension.agree_share)) }
                                }
                            }
                        }
                    } }
                }
            }
            @if results.responses > 0 {
                (view.themes)
            }
            @if let Some(effort) = &results.effort {
                h2 { "Effort" }
                p #effort {
                    (effort.answers) " answers to “How easy was it to get what you needed?”: "
                    "mean " (format!("{:.1}", effort.mean)) " of 7 (7 is very easy); "
                    (percent(effort.difficult_share)) " found it difficult (1–3), against 30% in the CEB study."
                }
                div.table-wrap { table {
                    thead { tr { th { "What happened" } th.number { "Ticked" } th.number { "Share" } th.number { "CEB study" } } }
                    tbody {
                        @for driver in &effort.drivers {
                            tr {
                                td { (effort_driver(driver.driver)) }
                                td.number { (driver.ticked) }
                                td.number { (percent(driver.share)) }
                                td.number { (driver.study_share.map_or_else(|| "–".to_owned(), percent)) }
                            }
                        }
                    }
                } }
            }
            (closing_the_loop(site, view.closing))
            h2 { "Comments" }
            @if comments.is_empty() {
                p.muted { "No comments" @if !search.is_empty() { " containing “" (search) "”" } "." }
            }
            ul.comments {
                @for comment in comments {
                    @let (class, words) = category(comment.score);
                    li {
                        div {
                            strong class=(class) { (comment.score) } " · " (words)
                            @if let Some(path) = &comment.page_path { " · " span.muted { (path) } }
                            " · " span.muted { (date(comment.created_at_ms)) }
                        }
                        p.comment { (comment.comment) }
                    }
                }
            }
        },
    )
}

/// A median wait in the unit that fits, or a dash without one.
fn wait(ms: Option<i64>) -> String {
    ms.map_or_else(|| "–".to_owned(), human)
}

/// How long a case has left before its first contact is due, or how long it is overdue.
pub(super) fn due(case: &InboxItem, now_ms: i64) -> Option<(bool, String)> {
    if !case.awaits_contact() {
        return None;
    }
    let left = case.due_at_ms - now_ms;
    Some(if left >= 0 {
        (false, format!("{} left to first contact", human(left)))
    } else {
        (true, format!("overdue by {}", human(-left)))
    })
}

/// The visitors who agreed to be contacted, and how fast their cases are handled.
pub fn inbox(
    owner: SignedInAs<'_>,
    site: &Site,
    items: &[InboxItem],
    times: &ResponseTimes,
    now_ms: i64,
) -> Markup {
    let csrf = owner.csrf_token.to_owned();
    let share = |share: Share| {
        share.percent().map_or_else(
            || "–".to_owned(),
            |percent| format!("{percent}% of {}", share.whole),
        )
    };
    layout(
        &format!("Inbox · {}", site.name),
        Some(owner),
        html! {
            p { a href=(format!("/console/sites/{}", site.id)) { "← " (site.name) } }
            h1 { "Inbox" }
            p.muted { "Visitors who agreed to be contacted: cases waiting for a first contact first, \
                the most overdue first. A complaint handled quickly is what wins a customer back, so \
                the time to first contact is the number to watch. "
                a href=(format!("/console/sites/{}/closing-the-loop", site.id)) { "Target times and acknowledgements" } }
            @if items.is_empty() {
                p { "Nobody has asked to be contacted yet." }
            } @else {
                div.cards {
                    div.card {
                        div.muted { "Median time to first contact" }
                        div.figure #first-contact { (wait(times.first_contact_ms)) }
                    }
                    div.card {
                        div.muted { "Median time to resolution" }
                        div.figure #resolution { (wait(times.resolution_ms)) }
                    }
                    div.card {
                        div.muted { "Contacted within target" }
                        div.figure #within-target { (share(times.within_target)) }
                    }
                }
                div.table-wrap { table {
                    caption.muted { "Medians by the month of the response" }
                    thead { tr { th { "Month" } th.number { "To first contact" } th.number { "Contacted" } th.number { "Within target" } th.number { "To resolution" } th.number { "Resolved" } } }
                    tbody {
                        @for month in &times.by_month {
                            tr {
                                td { (month.month) }
                                td.number { (wait(month.first_contact_ms)) }
                                td.number { (month.contacted) }
                                td.number { (share(month.within_target)) }
                                td.number { (wait(month.resolution_ms)) }
                                td.number { (month.resolved) }
                            }
                        }
                    }
                } }
            }
            @for item in items {
                @let (class, words) = category(item.score);
                article.card.case id=(format!("case-{}", item.response_id)) {
                    div {
                        strong class=(class) { (item.score) } " · " (words) " · "
                        span.muted { (date(item.created_at_ms)) }
                        @if let Some((late, text)) = due(item, now_ms) {
                            " · " strong.due.overdue[late] { (text) }
                        }
                        @if let Some(path) = &item.page_path { " · " span.muted { (path) } }
                    }
                    @if let Some(email) = &item.email {
                        p { a href=(mailto(email)) { (email) } " · "
                            a href=(format!("/console/sites/{}/inbox/{}/thread", site.id, item.response_id)) { "Messages and reply" } }
                    }
                    @if let Some(comment) = &item.comment { p.comment { (comment) } }
                    p.muted {
                        "Status: " strong.status { (item.status.as_str()) }
                        @if let Some(at) = item.contacted_at_ms { " · first contact after " (human(at - item.created_at_ms)) }
                        @if let Some(at) = item.resolved_at_ms { " · resolved after " (human(at - item.created_at_ms)) }
                    }
                    form.stack method="post" action=(format!("/console/sites/{}/inbox/{}", site.id, item.response_id)) {
                        input type="hidden" name="csrf" value=(csrf);
                        label { "Status"
                            select name="status" {
                                @for status in FollowUpStatus::ALL {
                                    option value=(status.as_str()) selected[status == item.status] { (status.as_str()) }
                                }
                            }
                        }
                        label { "Internal notes" textarea name="notes" rows="3" maxlength="4000" { (item.notes) } }
                        button type="submit" { "Save" }
                    }
                }
            }
        },
    )
}

/// What the webhooks page shows.
pub struct WebhooksView<'a> {
    pub webhooks: &'a [Webhook],
    pub deliveries: &'a [Delivery],
    pub options: &'a WebhookOptions,
}

/// A site's webhooks, a form to add one, and the delivery log with a re-send button per line.
pub fn webhooks(owner: SignedInAs<'_>, site: &Site, view: &WebhooksView<'_>) -> Markup {
    let csrf = owner.csrf_token.to_owned();
    let settle = view.options.settle.as_secs();
    let attempts = view.options.attempts;
    layout(
        &format!("Webhooks · {}", site.name),
        Some(owner),
        html! {
            p { a href=(format!("/console/sites/{}", site.id)) { "← " (site.name) } }
            h1 { "Webhooks" }
            p.muted { "Tell a help desk, a chat channel or a script the moment an unhappy customer \
                answers. A response is announced once it has had no new answer for "
                (settle) " seconds, so the announcement carries the comment and the contact \
                details. A delivery that fails is tried again, up to " (attempts) " attempts in \
                all, waiting twice as long each time." }
            p.muted { "Every delivery is signed: the header " code { "Soovita-Signature: t=…,v1=…" }
                " carries the time and the HMAC-SHA256, in hex, of " code { r#"t + "." + body"# }
                " keyed with the webhook's secret. Check it, and refuse deliveries older than a \
                few minutes. " code { "Soovita-Delivery" } " is the same on every retry and re-send." }
            @if view.webhooks.is_empty() {
                p { "No webhooks yet." }
            }
            @for webhook in view.webhooks {
                article.card.webhook {
                    p { strong { (webhook.url) } }
                    p.muted {
                        (webhook.format.as_str()) " · "
                        @for (index, event) in webhook.events.iter().enumerate() {
                            @if index > 0 { ", " }
                            (event.describe())
                        }
                    }
                    p { "Secret: " code.secret { (webhook.secret) } }
                    form.inline method="post" action=(format!("/console/sites/{}/webhooks/{}/delete", site.id, webhook.id)) {
                        input type="hidden" name="csrf" value=(csrf);
                        button.secondary type="submit" { "Delete" }
                    }
                }
            }
            h2 { "Add a webhook" }
            form.stack method="post" action=(format!("/console/sites/{}/webhooks", site.id)) {
                input type="hidden" name="csrf" value=(csrf);
                label { "URL" input type="url" name="url" required placeholder="https://hooks.slack.com/services/…"; }
                fieldset {
                    legend { "Announce" }
                    @for event in WebhookEvent::ALL {
                        label.check {
                            input type="checkbox" name=(event.as_str()) checked[event == WebhookEvent::NewDetractor];
                            (event.describe())
                        }
                    }
                }
                label { "Format"
                    select name="format" {
                        option value="json" { "JSON (for scripts and help desks)" }
                        option value="slack" { "Slack message (also Mattermost)" }
                    }
                }
                button type="submit" { "Add webhook" }
            }
            h2 { "Delivery log" }
            @if view.deliveries.is_empty() {
                p.muted { "Nothing sent yet." }
            } @else {
                div.table-wrap { table {
                    thead { tr { th { "Event" } th { "Recorded" } th { "Status" } th { "Attempts (HTTP status)" } th { "" } } }
                    tbody {
                        @for delivery in view.deliveries {
                            tr id=(format!("delivery-{}", delivery.id)) {
                                td { (delivery.event.as_str()) br; span.muted { (delivery.url) } }
                                td { (date(delivery.created_at_ms)) }
                                td.status { (delivery.status.as_str())
                                    @if delivery.status == DeliveryStatus::Pending {
                                        br; span.muted { "next " (date(delivery.next_attempt_at_ms)) }
                                    }
                                }
                                td.attempts {
                                    @for (index, attempt) in delivery.attempts.iter().enumerate() {
                                        @if index > 0 { " · " }
                                        @match (attempt.status_code, &attempt.error) {
                                            (Some(code), _) => span title=(date(attempt.at_ms)) { (code) },
                                            (None, Some(error)) => span title=(date(attempt.at_ms)) { (error) },
                                            (None, None) => span { "–" },
                                        }
                                    }
                                }
                                td {
                                    form.inline method="post" action=(format!("/console/sites/{}/deliveries/{}/resend", site.id, delivery.id)) {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button.secondary type="submit" aria-label=(format!("Re-send {} of {}", delivery.event.as_str(), date(delivery.created_at_ms))) { "Re-send" }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
        },
    )
}

fn effort_driver(driver: EffortDriver) -> &'static str {
    match driver {
        EffortDriver::ContactedAgain => "Had to contact us again",
        EffortDriver::RepeatedInformation => "Had to repeat the same information",
        EffortDriver::SwitchedChannel => "Had to switch channel (e.g. website to phone)",
        EffortDriver::Transferred => "Was transferred to someone else",
    }
}

pub(super) fn signed(nps: f64) -> String {
    let rounded = nps.round();
    if rounded == 0.0 {
        "0".to_owned()
    } else {
        format!("{rounded:+.0}")
    }
}

pub(super) fn percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

pub(super) fn label(dimension: &str) -> String {
    let spaced = dimension.replace('_', " ");
    let mut chars = spaced.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

pub(super) fn date(unix_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_ms.div_euclid(1000))
        .ok()
        .and_then(|at| {
            at.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// The UTC day of a moment, `2026-12-05`, where the hour says nothing (a token's last use, an
/// invitation's end).
pub(super) fn day(unix_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_ms.div_euclid(1000))
        .map(|at| at.date().to_string())
        .unwrap_or_default()
}

/// A `mailto:` link to exactly `email`: every character an address may hold but a URL gives a
/// meaning to (`?`, `&`, `=`, `%`, `#`…) is percent-encoded, so `x?cc=other@example.com`, which
/// is a valid address, cannot add a recipient (RFC 6068).
pub(super) fn mailto(email: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'@')
        .remove(b'.')
        .remove(b'-')
        .remove(b'_');
    format!(
        "mailto:{}",
        percent_encoding::utf8_percent_encode(email, KEEP)
    )
}

#[cfg(test)]
mod tests {
    use super::{category, label, mailto, signed};

    #[test]
    fn a_mailto_link_carries_one_recipient_and_nothing_else() {
        assert_eq!(
            mailto("mari.maasikas@example.ee"),
            "mailto:mari.maasikas@example.ee"
        );
        assert_eq!(
            mailto("x?cc=boss@example.com&subject=hi@example.com"),
            "mailto:x%3Fcc%3Dboss@example.com%26subject%3Dhi@example.com"
        );
        assert_eq!(
            mailto("a+b#c%d@example.com"),
            "mailto:a%2Bb%23c%25d@example.com"
        );
    }

    #[test]
    fn figures_read_as_people_write_them() {
        assert_eq!(signed(41.6), "+42");
        assert_eq!(signed(-7.2), "-7");
        assert_eq!(signed(0.2), "0");
        assert_eq!(signed(-0.4), "0");
        assert_eq!(label("service_quality"), "Service quality");
        assert_eq!(category(8).1, "passive: satisfied but not loyal");
        assert_eq!(category(6).0, "detractor");
    }
}
