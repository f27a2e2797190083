//! The storage conformance story: what every backend must do, run against each of them.

mod common;

use std::sync::Arc;

use common::{postgres_admin_url, update, ThrowawayPostgres};
use soovita_server::accounts::{Invitation, MemberChange, Owner, Role, Session};
use soovita_server::domain::{AdminToken, Origin, ResponseId, SiteId, TokenHash};
use soovita_server::inbox::FollowUpStatus;
use soovita_server::inbox::InboxItem;
use soovita_server::mail::templates::{for_case, Template};
use soovita_server::mail::{MailKind, MailStatus, OutgoingMail};
use soovita_server::responses::filter::{FilterQuery, ResponseFilter};
use soovita_server::responses::{StatementUpdate, UPDATE_WINDOW_MS};
use soovita_server::results::TrendInterval;
use soovita_server::sites::{PublishedSurvey, Site};
use soovita_server::store::{self, prelude::*, StoreError};
use soovita_server::webhooks::{
    AnnouncedResponse, Attempt, AttemptOutcome, DeliveryStatus, DueDelivery, Webhook, WebhookEvent,
    WebhookFormat,
};
use soovita_wire::{Category, Dimension, EffortDriver, SurveyDefinition};

fn site(name: &str) -> Site {
    Site {
        id: SiteId::generate(),
        name: name.to_owned(),
        allowed_origins: vec![Origin::parse("https://shop.example").unwrap()],
        sample_percent: 50,
        cooldown_days: 30,
        retention_days: 7,
        honor_do_not_track: true,
        admin_token_hash: AdminToken::generate().hash(),
        survey: Arc::new(PublishedSurvey {
            version: 1,
            definition: SurveyDefinition::default(),
        }),
    }
}

fn statement(id: &str, dimension: Dimension, answer: Option<u8>) -> StatementUpdate {
    StatementUpdate {
        id: id.into(),
        dimension,
        answer,
    }
}

const FIRST: &str = "00000000-0000-4000-8000-000000000001";
const SECOND: &str = "00000000-0000-4000-8000-000000000002";

async fn conformance_story(store: Arc<dyn Store>) {
    let shop = site("Shop");
    store.create_site(&shop).await.unwrap();
    let read = store
        .site(&shop.id)
        .await
        .unwrap()
        .expect("the site was just created");
    assert_eq!(
        (read.name.as_str(), read.sample_percent, read.cooldown_days),
        ("Shop", 50, 30)
    );
    assert_eq!(read.allowed_origins, shop.allowed_origins);
    assert_eq!(read.admin_token_hash, shop.admin_token_hash);
    assert!(read.honor_do_not_track);
    assert!(store.site(&SiteId::generate()).await.unwrap().is_none());
    assert_eq!(
        store.site_by_name("Shop").await.unwrap().map(|s| s.id),
        Some(shop.id.clone())
    );

    let mut renamed = shop.clone();
    renamed.name = "Shop two".into();
    renamed
        .allowed_origins
        .push(Origin::parse("http://localhost:8081").unwrap());
    store.update_site(&renamed).await.unwrap();
    assert_eq!(
        store
            .site(&shop.id)
            .await
            .unwrap()
            .unwrap()
            .allowed_origins
            .len(),
        2
    );
    assert!(matches!(
        store.update_site(&site("Ghost")).await,
        Err(StoreError::UnknownSite(_))
    ));

    store
        .upsert_response(&shop.id, &update(FIRST, 9, None), 1_000)
        .await
        .unwrap();
    store
        .upsert_response(&shop.id, &update(FIRST, 9, Some("Great")), 2_000)
        .await
        .unwrap();
    store
        .upsert_response(&shop.id, &update(FIRST, 9, None), 3_000)
        .await
        .unwrap();
    store
        .upsert_response(&shop.id, &update(SECOND, 0, Some("Awful")), 4_000)
        .await
        .unwrap();
    let responses = store.responses(&shop.id).await.unwrap();
    assert_eq!(responses.len(), 2);
    assert_eq!(responses[0].id, FIRST);
    assert_eq!(
        responses[0].comment.as_deref(),
        Some("Great"),
        "a later score-only update keeps the comment"
    );
    assert_eq!(
        (responses[0].created_at_ms, responses[0].updated_at_ms),
        (1_000, 3_000)
    );
    assert_eq!(
        (responses[1].score, responses[1].comment.as_deref()),
        (0, Some("Awful"))
    );

    // Two years: enough to overflow 32-bit millisecond arithmetic in SQL.
    let other = Site {
        retention_days: 730,
        ..site("Other")
    };
    store.create_site(&other).await.unwrap();
    let taken = store
        .upsert_response(&other.id, &update(FIRST, 1, None), 5_000)
        .await;
    assert!(
        matches!(taken, Err(StoreError::ResponseOfAnotherSite(_))),
        "{taken:?}"
    );
    assert!(store.responses(&other.id).await.unwrap().is_empty());
    assert_eq!(store.responses(&shop.id).await.unwrap()[0].score, 9);

    // A day after its first answer a response no longer changes: a leaked id cannot rewrite it.
    let last_minute = 1_000 + UPDATE_WINDOW_MS;
    store
        .upsert_response(&shop.id, &update(FIRST, 9, Some("Still fine")), last_minute)
        .await
        .unwrap();
    let rewritten = store
        .upsert_response(
            &shop.id,
            &update(FIRST, 0, Some("Rewritten")),
            last_minute + 1,
        )
        .await;
    assert!(
        matches!(rewritten, Err(StoreError::ResponseOfAnotherSite(_))),
        "{rewritten:?}"
    );
    let first = &store.responses(&shop.id).await.unwrap()[0];
    assert_eq!(
        (first.score, first.comment.as_deref()),
        (9, Some("Still fine"))
    );

    survey_versions(store.as_ref(), &shop).await;
    loyalty_answers_merge(store.as_ref(), &shop).await;

    // FIRST belongs to shop: among concurrent writes to other, it alone is refused.
    concurrent_writers_are_all_committed_and_isolated(store.clone(), &other).await;
    a_failed_write_fails_alone(store.clone()).await;
    results_come_from_every_answer(store.clone()).await;
    filters_and_trend(store.as_ref()).await;
    console_storage(store.as_ref()).await;
    memberships(store.as_ref()).await;
    follow_ups(store.as_ref(), &shop).await;
    webhooks_storage(store.clone()).await;
    erasure_and_retention(store.clone(), &shop, &other).await;
    // Last: its purge, in today's time, would take every earlier site's responses.
    rollups_match_the_responses(store.as_ref()).await;
}

/// Who may act on which site: an account sees the sites it is a member of and no other, a role
/// can change, and deleting a site or an account takes its memberships along.
async fn memberships(store: &dyn Store) {
    let (kohvik, pood) = (site("Kohvik"), site("Pood"));
    store.create_site(&kohvik).await.unwrap();
    store.create_site(&pood).await.unwrap();
    let (anu, jaan) = (
        Owner::new("anu@kohvik.ee", "correct horse battery"),
        Owner::new("jaan@pood.ee", "correct horse battery"),
    );
    store.create_owner(&anu, 1_000).await.unwrap();
    store.create_owner(&jaan, 1_000).await.unwrap();
    assert!(store.sites_of(&anu.id).await.unwrap().is_empty());
    assert_eq!(store.role(&anu.id, &kohvik.id).await.unwrap(), None);

    store
        .set_role(&anu.id, &kohvik.id, Role::Admin, 2_000)
        .await
        .unwrap();
    store
        .set_role(&jaan.id, &pood.id, Role::Member, 2_000)
        .await
        .unwrap();
    store
        .set_role(&jaan.id, &kohvik.id, Role::Member, 2_000)
        .await
        .unwrap();
    let names = |sites: Vec<Site>| sites.into_iter().map(|s| s.name).collect::<Vec<_>>();
    assert_eq!(names(store.sites_of(&anu.id).await.unwrap()), ["Kohvik"]);
    assert_eq!(
        names(store.sites_of(&jaan.id).await.unwrap()),
        ["Kohvik", "Pood"]
    );
    assert_eq!(
        store.role(&anu.id, &kohvik.id).await.unwrap(),
        Some(Role::Admin)
    );
    assert_eq!(store.role(&anu.id, &pood.id).await.unwrap(), None);
    assert_eq!(
        store.role(&jaan.id, &pood.id).await.unwrap(),
        Some(Role::Member)
    );

    // Setting a role again changes it rather than adding a second membership.
    store
        .set_role(&jaan.id, &kohvik.id, Role::Admin, 3_000)
        .await
        .unwrap();
    assert_eq!(
        store.role(&jaan.id, &kohvik.id).await.unwrap(),
        Some(Role::Admin)
    );
    assert_eq!(store.sites_of(&jaan.id).await.unwrap().len(), 2);

    // Members: listed by email; the last admin stays.
    let members = store.members(&kohvik.id).await.unwrap();
    let listed: Vec<(&str, Role)> = members.iter().map(|m| (m.email.as_str(), m.role)).collect();
    assert_eq!(
        listed,
        [
            ("anu@kohvik.ee", Role::Admin),
            ("jaan@pood.ee", Role::Admin)
        ]
    );
    assert_eq!(
        store
            .change_member(&kohvik.id, &jaan.id, Some(Role::Member))
            .await
            .unwrap(),
        MemberChange::Changed
    );
    assert_eq!(
        store
            .change_member(&kohvik.id, &anu.id, Some(Role::Member))
            .await
            .unwrap(),
        MemberChange::LastAdmin
    );
    assert_eq!(
        store
            .change_member(&kohvik.id, &anu.id, None)
            .await
            .unwrap(),
        MemberChange::LastAdmin
    );
    assert_eq!(
        store.role(&anu.id, &kohvik.id).await.unwrap(),
        Some(Role::Admin)
    );
    assert_eq!(
        store.change_member(&pood.id, &anu.id, None).await.unwrap(),
        MemberChange::NotAMember,
        "not a member there"
    );

    // Invitations: found while live, accepted once, never by a second account.
    let (invitation, token) =
        Invitation::new(pood.id.clone(), "Anu@Kohvik.ee", Role::Member, 10_000);
    let hash = TokenHash::of(&token);
    store
        .create_invitation(&invitation, &hash, 10_000)
        .await
        .unwrap();
    assert_eq!(
        store.invitation(&hash, 20_000).await.unwrap(),
        Some(invitation.clone())
    );
    assert_eq!(
        store.invitations(&pood.id, 20_000).await.unwrap(),
        std::slice::from_ref(&invitation)
    );
    let expired = invitation.expires_at_ms;
    assert_eq!(
        store.invitation(&hash, expired).await.unwrap(),
        None,
        "expired"
    );
    assert!(!store
        .accept_invitation(&hash, &anu.id, expired)
        .await
        .unwrap());
    assert!(store
        .accept_invitation(&hash, &anu.id, 30_000)
        .await
        .unwrap());
    assert!(
        !store
            .accept_invitation(&hash, &jaan.id, 40_000)
            .await
            .unwrap(),
        "used"
    );
    assert_eq!(
        store.role(&anu.id, &pood.id).await.unwrap(),
        Some(Role::Member)
    );
    assert_eq!(store.invitation(&hash, 40_000).await.unwrap(), None);
    assert!(store
        .invitations(&pood.id, 40_000)
        .await
        .unwrap()
        .is_empty());

    // The last time a page fetched the survey, never moving backwards.
    assert_eq!(store.config_fetched_at(&kohvik.id).await.unwrap(), None);
    store.note_config_fetch(&kohvik.id, 50_000).await.unwrap();
    store.note_config_fetch(&kohvik.id, 40_000).await.unwrap();
    assert_eq!(
        store.config_fetched_at(&kohvik.id).await.unwrap(),
        Some(50_000)
    );

    // Mail: queued, claimed once under a lease, and where each stands after an attempt.
    let case_id = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e";
    let mut case = update(case_id, 2, Some("Cold coffee"));
    (case.contact_consent, case.email) = (Some(true), Some("mari@example.com".into()));
    store
        .upsert_response(&kohvik.id, &case, 60_000)
        .await
        .unwrap();
    let case = ResponseId::parse(case_id).unwrap();
    let mail = OutgoingMail::compose(
        MailKind::Reply,
        kohvik.id.clone(),
        Some(case),
        "anu@kohvik.ee",
        "mari@example.com",
        "Sorry",
        "We will send a new one.",
    )
    .unwrap();
    assert!(store.queue_mail(&mail, 70_000).await.unwrap());
    assert!(
        !store.queue_mail(&mail, 70_500).await.unwrap(),
        "one id, one message"
    );
    // A site's own wording of a reply replaces the built-in one until reset.
    let own = Template::check("Sorry, {site}", "You gave {score}.").unwrap();
    store
        .save_reply_template(&kohvik.id, ("et", Category::Detractor), &own, 1)
        .await
        .unwrap();
    assert_eq!(
        for_case(store, &kohvik.id, Some("et"), 3).await.unwrap(),
        own
    );
    assert_ne!(
        for_case(store, &kohvik.id, Some("et"), 9).await.unwrap(),
        own,
        "another category keeps the built-in one"
    );
    assert_eq!(
        store.edited_templates(&kohvik.id).await.unwrap(),
        [("et".to_owned(), "detractor".to_owned())]
    );
    store
        .reset_reply_template(&kohvik.id, "et", Category::Detractor)
        .await
        .unwrap();
    assert!(store.edited_templates(&kohvik.id).await.unwrap().is_empty());
    let claimed = store.claim_due_mail(70_000, 90_000, 10).await.unwrap();
    assert_eq!(
        (claimed.len(), claimed[0].id.as_str(), claimed[0].attempts),
        (1, mail.id.as_str(), 0)
    );
    assert!(
        store
            .claim_due_mail(80_000, 100_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    store
        .record_mail(
            &mail.id,
            MailStatus::Retrying,
            Some("421 busy"),
            95_000,
            81_000,
        )
        .await
        .unwrap();
    assert!(
        store
            .claim_due_mail(90_000, 110_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "not yet due"
    );
    assert_eq!(
        store.claim_due_mail(95_000, 120_000, 10).await.unwrap()[0].attempts,
        1
    );
    store
        .record_mail(&mail.id, MailStatus::Sent, None, 96_000, 96_000)
        .await
        .unwrap();
    let thread = store.thread(&kohvik.id, &case).await.unwrap();
    assert_eq!(
        (
            thread.len(),
            thread[0].status,
            thread[0].attempts,
            thread[0].sent_at_ms,
            thread[0].error.as_deref()
        ),
        (1, MailStatus::Sent, 2, Some(96_000), None)
    );
    assert!(
        store
            .claim_due_mail(200_000, 300_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "sent is done"
    );
    // Erasing the respondent erases the thread (and what was queued for them).
    assert!(store.erase_response(&kohvik.id, &case).await.unwrap());
    assert!(store.thread(&kohvik.id, &case).await.unwrap().is_empty());

    // Named API tokens: kept as hashes, live until revoked, each site's own.
    let desk = AdminToken::generate();
    let desk_id = store
        .create_token(&kohvik.id, "help desk", &desk.hash(), 86_400_000 * 5)
        .await
        .unwrap();
    let listed = store.tokens(&kohvik.id).await.unwrap();
    assert_eq!(
        (
            listed.len(),
            listed[0].name.as_str(),
            listed[0].last_used_day
        ),
        (1, "help desk", None)
    );
    assert!(store.use_token(&kohvik.id, &desk.hash(), 7).await.unwrap());
    assert!(store.use_token(&kohvik.id, &desk.hash(), 7).await.unwrap());
    assert_eq!(
        store.tokens(&kohvik.id).await.unwrap()[0].last_used_day,
        Some(7)
    );
    assert!(!store.use_token(&pood.id, &desk.hash(), 7).await.unwrap());
    assert!(!store.revoke_token(&pood.id, &desk_id).await.unwrap());
    assert!(store.revoke_token(&kohvik.id, &desk_id).await.unwrap());
    assert!(!store.use_token(&kohvik.id, &desk.hash(), 8).await.unwrap());

    assert!(store.delete_site(&pood.id).await.unwrap());
    assert_eq!(names(store.sites_of(&jaan.id).await.unwrap()), ["Kohvik"]);
    assert_eq!(names(store.sites_of(&anu.id).await.unwrap()), ["Kohvik"]);
    assert!(store.delete_owner("jaan@pood.ee").await.unwrap());
    assert!(!store.delete_owner("jaan@pood.ee").await.unwrap());
    assert_eq!(store.role(&jaan.id, &kohvik.id).await.unwrap(), None);
    assert_eq!(
        store.role(&anu.id, &kohvik.id).await.unwrap(),
        Some(Role::Admin)
    );
    // A membership of an account or site that does not exist is refused, not stored.
    assert!(store
        .set_role(&jaan.id, &kohvik.id, Role::Member, 4_000)
        .await
        .is_err());
}

/// Figures of part of the responses (a date range, a device, a language, a page, a version) and
/// the trend by week and by month, against counts made here from the seeded responses.
async fn filters_and_trend(store: &dyn Store) {
    const DAY_MS: i64 = 86_400_000;
    /// 2026-09-01, a Tuesday, 00:00 UTC.
    const SEPTEMBER: i64 = 1_788_220_800_000;
    let shop = site("Filtered");
    store.create_site(&shop).await.unwrap();
    struct Seeded {
        id: String,
        score: u8,
        day: i64,
        device: &'static str,
        lang: &'static str,
        page: &'static str,
        version: u32,
    }
    let mut seeded = Vec::new();
    for i in 0..2_000usize {
        let row = Seeded {
            id: format!("20000000-0000-4000-8000-{i:012}"),
            score: ((i * 7 + i / 13) % 11) as u8,
            day: (i % 61) as i64,
            device: ["phone", "tablet", "desktop"][i % 3],
            lang: ["et", "en"][i % 2],
            page: if i % 4 < 2 { "/a" } else { "/b" },
            version: if i % 5 == 0 { 2 } else { 1 },
        };
        let mut answer = update(&row.id, i32::from(row.score), None);
        answer.device = Some(row.device);
        answer.lang = Some(row.lang);
        answer.page_path = Some(row.page.to_owned());
        answer.survey_version = row.version;
        answer.statements.push(statement(
            "trust.seeded",
            Dimension::Trust,
            Some(1 + row.score % 5),
        ));
        let at = SEPTEMBER + row.day * DAY_MS + (i as i64 % 1_000);
        store.upsert_response(&shop.id, &answer, at).await.unwrap();
        seeded.push(row);
    }
    let nps = |rows: &[&Seeded]| {
        let n = rows.len() as f64;
        let promoters = rows.iter().filter(|r| r.score >= 9).count() as f64;
        let detractors = rows.iter().filter(|r| r.score <= 6).count() as f64;
        100.0 * (promoters - detractors) / n
    };

    let query = FilterQuery {
        from: Some("2026-09-11".into()),
        to: Some("2026-10-10".into()),
        device: Some("phone".into()),
        lang: Some("et".into()),
        ..FilterQuery::default()
    };
    let filter = query.parse().unwrap();
    let expected: Vec<&Seeded> = seeded
        .iter()
        .filter(|r| (10..40).contains(&r.day) && r.device == "phone" && r.lang == "et")
        .collect();
    assert!(expected.len() > 50, "the filter keeps a fair sample");
    let sums = store.result_sums(&shop.id, &filter).await.unwrap();
    for score in 0..=10u8 {
        let count = expected.iter().filter(|r| r.score == score).count() as u64;
        assert_eq!(sums.histogram()[usize::from(score)], count, "score {score}");
    }
    assert_eq!(
        sums.dimensions[0].answers,
        expected.len() as i64,
        "statements follow the filter"
    );
    let results = soovita_server::results::results(&sums, TrendInterval::Month);
    assert!((results.nps.unwrap() - nps(&expected)).abs() < 1e-9);

    let by_page_and_version = FilterQuery {
        page: Some("/b".into()),
        version: Some("2".into()),
        ..FilterQuery::default()
    };
    let exported = store
        .filtered_responses(&shop.id, &by_page_and_version.parse().unwrap())
        .await
        .unwrap();
    let mut expected_ids: Vec<&str> = seeded
        .iter()
        .filter(|r| r.page == "/b" && r.version == 2)
        .map(|r| r.id.as_str())
        .collect();
    let mut ids: Vec<&str> = exported.iter().map(|r| r.id.as_str()).collect();
    expected_ids.sort_unstable();
    ids.sort_unstable();
    assert_eq!(ids, expected_ids);

    let everything = store
        .result_sums(&shop.id, &ResponseFilter::default())
        .await
        .unwrap();
    for (interval, start_of) in [
        (
            TrendInterval::Month,
            Box::new(|date: time::Date| date.replace_day(1).unwrap())
                as Box<dyn Fn(time::Date) -> time::Date>,
        ),
        (
            TrendInterval::Week,
            Box::new(|date: time::Date| {
                date - time::Duration::days(i64::from(date.weekday().number_days_from_monday()))
            }),
        ),
    ] {
        let mut periods: std::collections::BTreeMap<time::Date, Vec<&Seeded>> = Default::default();
        for row in &seeded {
            let date = time::Date::from_calendar_date(2026, time::Month::September, 1).unwrap()
                + time::Duration::days(row.day);
            periods.entry(start_of(date)).or_default().push(row);
        }
        let trend = soovita_server::results::results(&everything, interval).trend;
        assert_eq!(trend.len(), periods.len(), "{interval:?}");
        for (point, (start, rows)) in trend.iter().zip(&periods) {
            assert_eq!(point.start, start.to_string(), "{interval:?}");
            assert_eq!(point.responses, rows.len() as u64, "{interval:?} {start}");
            assert!((point.nps - nps(rows)).abs() < 1e-9, "{interval:?} {start}");
        }
    }
    assert_eq!(
        soovita_server::results::results(&everything, TrendInterval::Week).trend[0].start,
        "2026-08-31",
        "weeks start on Monday"
    );
    assert!(store.delete_site(&shop.id).await.unwrap());
}

/// Closing the loop: the inbox lists the responses with contact consent, open and unhappy
/// ones first, and keeps when each was first contacted and when it was resolved.
async fn follow_ups(store: &dyn Store, shop: &Site) {
    let cafe = site("Inbox café");
    store.create_site(&cafe).await.unwrap();
    let mut ids = Vec::new();
    for (at, (score, consent)) in [
        (8, Some(true)),
        (2, Some(true)),
        (5, Some(true)),
        (9, Some(true)),
        (3, Some(false)),
        (4, None),
    ]
    .into_iter()
    .enumerate()
    {
        let id = uuid::Uuid::new_v4().to_string();
        let mut answer = update(&id, score, Some("Please call me"));
        answer.contact_consent = consent;
        answer.email = (consent == Some(true)).then(|| format!("guest{at}@example.com"));
        store
            .upsert_response(&cafe.id, &answer, 1_000 * (at as i64 + 1))
            .await
            .unwrap();
        ids.push(ResponseId::parse(&id).unwrap());
    }
    let inbox = || async { store.inbox(&cafe.id, 50).await.unwrap() };
    let order = |items: Vec<InboxItem>| items.into_iter().map(|i| i.score).collect::<Vec<_>>();
    assert_eq!(
        order(inbox().await),
        [2, 5, 8, 9],
        "cases waiting for a first contact, the soonest due first: detractors have 24 hours, \
         the others 72"
    );
    assert_eq!(
        inbox().await[0].email.as_deref(),
        Some("guest1@example.com")
    );
    assert_eq!(inbox().await[0].due_at_ms, 2_000 + 24 * 3_600_000);

    let (old_detractor, declined) = (&ids[1], &ids[4]);
    let note = |status, notes, at| store.follow_up(&cafe.id, old_detractor, status, notes, at);
    assert!(note(
        FollowUpStatus::Contacted,
        "Called; sending a voucher",
        10_000
    )
    .await
    .unwrap());
    let case = inbox().await.into_iter().find(|i| i.score == 2).unwrap();
    assert_eq!(
        (
            case.status,
            case.notes.as_str(),
            case.contacted_at_ms,
            case.resolved_at_ms
        ),
        (
            FollowUpStatus::Contacted,
            "Called; sending a voucher",
            Some(10_000),
            None
        )
    );
    assert!(note(FollowUpStatus::Resolved, "Voucher sent", 20_000)
        .await
        .unwrap());
    let items = inbox().await;
    assert_eq!(order(items.clone()), [5, 8, 9, 2], "resolved cases go last");
    assert_eq!(
        (items[3].contacted_at_ms, items[3].resolved_at_ms),
        (Some(10_000), Some(20_000)),
        "the first contact's time is kept"
    );
    assert!(note(FollowUpStatus::Contacted, "Reopened", 30_000)
        .await
        .unwrap());
    let case = inbox().await.into_iter().find(|i| i.score == 2).unwrap();
    assert_eq!(
        (case.contacted_at_ms, case.resolved_at_ms),
        (Some(10_000), None)
    );

    assert!(
        !store
            .follow_up(&cafe.id, declined, FollowUpStatus::Contacted, "", 1)
            .await
            .unwrap(),
        "no follow-up without consent"
    );
    assert!(
        !store
            .follow_up(&shop.id, old_detractor, FollowUpStatus::Contacted, "", 1)
            .await
            .unwrap(),
        "nor through another site"
    );
    assert!(
        store.delete_site(&cafe.id).await.unwrap(),
        "follow-ups go with their responses"
    );
}

/// What the console reads and writes: owners, their sessions, the site list and comments.
async fn console_storage(store: &dyn Store) {
    let mari = Owner::new("Mari@Kohvik.ee", "correct horse battery");
    store.create_owner(&mari, 1_000).await.unwrap();
    let twin = store
        .create_owner(&Owner::new("mari@kohvik.ee ", "another password"), 1_000)
        .await;
    assert!(
        matches!(&twin, Err(StoreError::OwnerExists(email)) if email == "mari@kohvik.ee"),
        "{twin:?}"
    );
    assert_eq!(
        store.owner_by_email("mari@kohvik.ee").await.unwrap(),
        Some(mari.clone())
    );
    assert_eq!(store.owner(&mari.id).await.unwrap(), Some(mari.clone()));
    assert!(store
        .owner_by_email("jaan@kohvik.ee")
        .await
        .unwrap()
        .is_none());

    let (session, token) = Session::start(&mari, 10_000);
    store.create_session(&session).await.unwrap();
    let hash = TokenHash::of(&token);
    assert_eq!(
        store.session(&hash, 10_001).await.unwrap(),
        Some(session.clone())
    );
    assert!(
        store
            .session(&hash, session.expires_at_ms)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(store
        .session(&TokenHash::of("a guess"), 10_001)
        .await
        .unwrap()
        .is_none());
    store.end_session(&hash, 10_002).await.unwrap();
    assert!(
        store.session(&hash, 10_003).await.unwrap().is_none(),
        "signed out"
    );
    let (session, _) = Session::start(&mari, 10_000);
    store.create_session(&session).await.unwrap();
    let renewed = Owner::new("mari@kohvik.ee", "a new password here");
    assert!(store
        .set_password("mari@kohvik.ee", &renewed.password_hash)
        .await
        .unwrap());
    assert!(store
        .owner(&mari.id)
        .await
        .unwrap()
        .unwrap()
        .has_password("a new password here"));
    assert!(
        store
            .session(&session.token_hash, 10_001)
            .await
            .unwrap()
            .is_none(),
        "a new password signs out everywhere"
    );
    assert!(!store
        .set_password("jaan@kohvik.ee", &renewed.password_hash)
        .await
        .unwrap());
    let (stale, _) = Session::start(&mari, 0);
    store.create_session(&stale).await.unwrap();
    store
        .end_session(&TokenHash::of("someone else"), stale.expires_at_ms)
        .await
        .unwrap();
    assert!(
        store.session(&stale.token_hash, 0).await.unwrap().is_none(),
        "any sign-out clears expired sessions"
    );

    let cafe = site("Café");
    store.create_site(&cafe).await.unwrap();
    let names: Vec<String> = store
        .sites()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "by name");
    assert!(
        names.len() >= 2 && names.iter().any(|n| n == "Café"),
        "every site: {names:?}"
    );

    let said = [
        (1, Some("Slow service at the till")),
        (8, None),
        (9, Some("100% oat milk, finally")),
        (10, Some("Best oat_milk latte in town")),
    ];
    let mut ids = Vec::new();
    for (at, (score, comment)) in said.into_iter().enumerate() {
        let id = uuid::Uuid::new_v4().to_string();
        store
            .upsert_response(&cafe.id, &update(&id, score, comment), 20_000 + at as i64)
            .await
            .unwrap();
        ids.push(id);
    }
    let listed = |search: Option<&'static str>, limit: u32| {
        let cafe = cafe.id.clone();
        async move {
            store
                .comments(&cafe, &ResponseFilter::default(), search, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|c| (c.score, c.comment))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed(None, 10).await,
        [
            (10, "Best oat_milk latte in town".to_owned()),
            (9, "100% oat milk, finally".to_owned()),
            (1, "Slow service at the till".to_owned()),
        ],
        "newest first, only responses with a comment"
    );
    assert_eq!(listed(None, 1).await.len(), 1);
    assert_eq!(listed(Some("OAT"), 10).await.len(), 2, "any case");
    assert_eq!(
        listed(Some("%"), 10).await,
        [(9, "100% oat milk, finally".to_owned())]
    );
    assert_eq!(
        listed(Some("_"), 10).await,
        [(10, "Best oat_milk latte in town".to_owned())]
    );
    assert!(listed(Some("espresso"), 10).await.is_empty());
    let first = &store
        .comments(&cafe.id, &ResponseFilter::default(), Some("till"), 10)
        .await
        .unwrap()[0];
    assert_eq!(
        (first.response_id.as_str(), first.created_at_ms),
        (ids[0].as_str(), 20_000)
    );
    assert!(store.delete_site(&cafe.id).await.unwrap());
}

/// A new site starts at version 1; each save is the next version and becomes the current one.
async fn survey_versions(store: &dyn Store, shop: &Site) {
    let read = store.site(&shop.id).await.unwrap().unwrap();
    assert_eq!(
        *read.survey, *shop.survey,
        "create_site saves the survey as version 1"
    );
    let fewer = SurveyDefinition {
        statements_per_visitor: 1,
        ..SurveyDefinition::default()
    };
    assert_eq!(store.save_survey(&shop.id, &fewer, 100).await.unwrap(), 2);
    let read = store.site(&shop.id).await.unwrap().unwrap();
    assert_eq!((read.survey.version, &read.survey.definition), (2, &fewer));
    assert_eq!(
        store.survey(&shop.id, 1).await.unwrap(),
        Some(SurveyDefinition::default()),
        "old versions stay readable for answers still in flight"
    );
    assert_eq!(store.survey(&shop.id, 9).await.unwrap(), None);
    assert_eq!(
        store
            .site_by_name("Shop two")
            .await
            .unwrap()
            .unwrap()
            .survey
            .version,
        2
    );
}

/// Every step's answer arrives in its own post; each keeps what earlier posts stored, a
/// statement shown without an answer is kept as shown, and withdrawn consent forgets the email.
async fn loyalty_answers_merge(store: &dyn Store, shop: &Site) {
    const FLOW: &str = "00000000-0000-4000-8000-0000000000f1";
    let mut step = update(FLOW, 2, Some("Cold coffee"));
    step.lang = Some("et");
    step.statements = vec![
        statement("trust.honest", Dimension::Trust, Some(2)),
        statement("fairness.respect", Dimension::Fairness, None),
    ];
    store
        .upsert_response(&shop.id, &step, 50_000)
        .await
        .unwrap();
    let mut later = update(FLOW, 2, None);
    later.statements = vec![statement("trust.honest", Dimension::Trust, None)];
    later.effort = Some(3);
    later.effort_drivers = Some("contacted_again,transferred".into());
    later.contact_consent = Some(true);
    later.email = Some("mari@example.ee".into());
    later.page_path = Some("/kassa".into());
    later.page_query = Some("order=42".into());
    later.device = Some("phone");
    later.attributes = Some(r#"{"plan":"pro"}"#.into());
    store
        .upsert_response(&shop.id, &later, 51_000)
        .await
        .unwrap();
    let stored = find(store, shop, FLOW).await;
    assert_eq!(stored.comment.as_deref(), Some("Cold coffee"));
    assert_eq!(
        (stored.lang.as_deref(), stored.survey_version),
        (Some("et"), Some(1))
    );
    let statements: Vec<_> = stored
        .statements
        .iter()
        .map(|s| (s.id.as_str(), s.dimension.as_str(), s.answer))
        .collect();
    assert_eq!(
        statements,
        [
            ("fairness.respect", "fairness", None),
            ("trust.honest", "trust", Some(2))
        ],
        "a statement re-sent without an answer keeps its answer"
    );
    assert_eq!(stored.effort, Some(3));
    assert_eq!(
        stored.effort_drivers.as_deref(),
        Some("contacted_again,transferred")
    );
    assert_eq!(
        (stored.contact_consent, stored.email.as_deref()),
        (Some(true), Some("mari@example.ee"))
    );

    let mut withdrawn = update(FLOW, 2, None);
    withdrawn.contact_consent = Some(false);
    store
        .upsert_response(&shop.id, &withdrawn, 52_000)
        .await
        .unwrap();
    let stored = find(store, shop, FLOW).await;
    assert_eq!((stored.contact_consent, stored.email), (Some(false), None));
    assert_eq!(stored.effort, Some(3), "other answers stay");
    assert_eq!(
        (
            stored.page_path.as_deref(),
            stored.page_query.as_deref(),
            stored.device.as_deref(),
            stored.attributes.as_deref()
        ),
        (
            Some("/kassa"),
            Some("order=42"),
            Some("phone"),
            Some(r#"{"plan":"pro"}"#)
        ),
        "the page context stays too"
    );
    assert!(store
        .erase_response(&shop.id, &ResponseId::parse(FLOW).unwrap())
        .await
        .unwrap());

    // Erasure by email takes every response of that respondent, and only of this site.
    for (n, email) in ["Mari@Example.ee", "mari@example.ee", "jaan@example.ee"]
        .iter()
        .enumerate()
    {
        let mut answer = update(&format!("00000000-0000-4000-8000-0000000000e{n}"), 1, None);
        answer.statements = vec![statement("trust.honest", Dimension::Trust, Some(1))];
        answer.contact_consent = Some(true);
        answer.email = Some((*email).into());
        store
            .upsert_response(&shop.id, &answer, 53_000)
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .erase_by_email(&SiteId::generate(), "mari@example.ee")
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .erase_by_email(&shop.id, "MARI@example.ee")
            .await
            .unwrap(),
        2
    );
    let left: Vec<_> = store
        .responses(&shop.id)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| r.email)
        .collect();
    assert_eq!(left, ["jaan@example.ee"]);
    assert_eq!(
        store
            .erase_by_email(&shop.id, "jaan@example.ee")
            .await
            .unwrap(),
        1
    );
}

async fn find(
    store: &dyn Store,
    shop: &Site,
    id: &str,
) -> soovita_server::responses::StoredResponse {
    store
        .responses(&shop.id)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id == id)
        .expect("the response was stored")
}

/// Many requests at once (batches, for the SQLite writer): replays of one id stay one row, and
/// a foreign id among them is refused without failing its neighbours.
async fn concurrent_writers_are_all_committed_and_isolated(store: Arc<dyn Store>, other: &Site) {
    let mut writers = tokio::task::JoinSet::new();
    for n in 0..200u32 {
        let (store, site) = (store.clone(), other.id.clone());
        writers.spawn(async move {
            let id = format!("00000000-0000-4000-9000-{:012}", n % 150);
            let score = i32::try_from(n % 11).unwrap();
            store
                .upsert_response(&site, &update(&id, score, None), 10_000)
                .await
        });
    }
    for outcome in writers.join_all().await {
        outcome.expect("every replay and every new id is stored");
    }
    assert_eq!(
        store.responses(&other.id).await.unwrap().len(),
        150,
        "150 distinct ids, 200 writes"
    );

    let mut writers = tokio::task::JoinSet::new();
    for n in 0..50u32 {
        let (store, site) = (store.clone(), other.id.clone());
        let id = if n == 25 {
            FIRST.to_owned()
        } else {
            format!("00000000-0000-4000-a000-{n:012}")
        };
        writers.spawn(async move {
            store
                .upsert_response(&site, &update(&id, 5, None), 20_000)
                .await
        });
    }
    let outcomes = writers.join_all().await;
    let refused = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Err(StoreError::ResponseOfAnotherSite(_))))
        .count();
    assert_eq!(
        (refused, outcomes.iter().filter(|o| o.is_ok()).count()),
        (1, 49)
    );
    assert_eq!(store.responses(&other.id).await.unwrap().len(), 199);

    // Pages of 7 over runs of equal first-answer times (the id breaks the tie) add up to the
    // whole, in order, each response once.
    let whole: Vec<_> = store
        .responses(&other.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .responses_page(&other.id, &ResponseFilter::default(), after.as_ref(), 7)
            .await
            .unwrap();
        assert!(page.len() <= 7);
        after = page.last().map(soovita_server::responses::ResponseKey::of);
        let done = page.len() < 7;
        paged.extend(page.into_iter().map(|r| r.id));
        if done {
            break;
        }
    }
    assert_eq!(paged, whole);
    let mut sorted = whole.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 199);
}

/// A seeded data set of 10,000 responses with known structure: agreement with trust follows the
/// score closely (and is low), satisfaction follows it loosely (and is high), fairness and
/// commercial friendship are noise. The figures the results endpoint computes from the
/// database's sums must equal what this test computes from the raw values, two-pass.
/// A write the database refuses (its site is gone, so the foreign key fails) fails alone: on
/// SQLite it shares a batch with the others, which must still commit.
async fn a_failed_write_fails_alone(store: Arc<dyn Store>) {
    let (batch, ghost) = (site("Batch"), site("Ghost"));
    store.create_site(&batch).await.unwrap();
    let mut writers = tokio::task::JoinSet::new();
    for n in 0..41u32 {
        let store = store.clone();
        let site = if n == 20 { &ghost } else { &batch }.id.clone();
        writers.spawn(async move {
            let id = format!("00000000-0000-4000-b000-{n:012}");
            let outcome = store
                .upsert_response(&site, &update(&id, 7, None), 30_000)
                .await;
            (n, outcome)
        });
    }
    for (n, outcome) in writers.join_all().await {
        assert_eq!(outcome.is_ok(), n != 20, "write {n}: {outcome:?}");
    }
    assert_eq!(store.responses(&batch.id).await.unwrap().len(), 40);
    // Out of the way of the retention figures later in the story.
    assert!(store.delete_site(&batch.id).await.unwrap());
}

async fn results_come_from_every_answer(store: Arc<dyn Store>) {
    const N: usize = 10_000;
    let survey = site("Results");
    store.create_site(&survey).await.unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut random = move |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    let drivers: Vec<Dimension> = Dimension::ALL
        .into_iter()
        .filter(|d| d.is_driver())
        .collect();
    let agreement = |dimension: Dimension, score: u8, noise: u64, coin: u64| -> u8 {
        let value = match dimension {
            Dimension::Trust => i64::from(score) * 4 / 10 + noise as i64 - 1,
            Dimension::Satisfaction if coin < 4 => i64::from(score) / 3 + 2,
            Dimension::Satisfaction => 5,
            _ => 1 + (noise as i64 * 7 + coin as i64) % 5,
        };
        value.clamp(1, 5) as u8
    };
    let mut scores = Vec::with_capacity(N);
    let mut answers: std::collections::HashMap<Dimension, Vec<(f64, f64)>> = Default::default();
    let mut updates = Vec::with_capacity(N);
    let mut efforts: Vec<(u8, Vec<&str>)> = Vec::new();
    for i in 0..N {
        let score = random(11) as u8;
        scores.push(score);
        let mut response = update(
            &format!("10000000-0000-4000-8000-{i:012}"),
            i32::from(score),
            None,
        );
        // Two neighbouring drivers per visitor, as the widget's rotation gives them.
        for dimension in [drivers[i % 5], drivers[(i + 1) % 5]] {
            let answer = agreement(dimension, score, random(3), random(10));
            answers
                .entry(dimension)
                .or_default()
                .push((f64::from(answer), f64::from(score)));
            response.statements.push(statement(
                &format!("{}.seeded", dimension.as_str()),
                dimension,
                Some(answer),
            ));
        }
        // Detractors are asked about effort; some tick drivers of it.
        if score <= 6 {
            let effort = 1 + random(7) as u8;
            let ticked: Vec<&str> = EffortDriver::ALL
                .into_iter()
                .filter(|_| random(2) == 1)
                .map(EffortDriver::as_str)
                .collect();
            efforts.push((effort, ticked.clone()));
            response.effort = Some(effort);
            response.effort_drivers = Some(ticked.join(",")).filter(|t| !t.is_empty());
        }
        updates.push(response);
    }
    let mut writers = tokio::task::JoinSet::new();
    for chunk in updates.chunks(N / 8) {
        let (store, id, chunk) = (store.clone(), survey.id.clone(), chunk.to_vec());
        writers.spawn(async move {
            for response in &chunk {
                store.upsert_response(&id, response, 1_000).await.unwrap();
            }
        });
    }
    writers.join_all().await;

    let everything = ResponseFilter::default();
    let results = soovita_server::results::results(
        &store.result_sums(&survey.id, &everything).await.unwrap(),
        TrendInterval::Month,
    );
    let close = |actual: f64, expected: f64, what: &str| {
        assert!(
            (actual - expected).abs() < 1e-9,
            "{what}: {actual} against {expected}"
        )
    };
    assert_eq!(results.responses, N as u64);
    for score in 0..=10u8 {
        let count = scores.iter().filter(|&&s| s == score).count() as u64;
        assert_eq!(
            results.histogram[usize::from(score)],
            count,
            "score {score}"
        );
    }
    // NPS as the mean of +1 / 0 / −1 times 100; its margin from that mean's sample spread.
    let values: Vec<f64> = scores
        .iter()
        .map(|&s| match s {
            9..=10 => 1.0,
            7..=8 => 0.0,
            _ => -1.0,
        })
        .collect();
    let mean = values.iter().sum::<f64>() / N as f64;
    let spread = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / N as f64;
    close(results.nps.unwrap(), 100.0 * mean, "nps");
    close(
        results.margin_of_error.unwrap(),
        100.0 * 1.959_963_984_540_054 * (spread / N as f64).sqrt(),
        "margin of error",
    );
    assert_eq!(
        results.promoters + results.passives + results.detractors,
        N as u64
    );

    for score in &results.dimensions {
        let pairs = &answers[&score.dimension];
        assert_eq!(score.answers, pairs.len() as u64);
        let mean = pairs.iter().map(|(x, _)| x).sum::<f64>() / pairs.len() as f64;
        close(score.mean_agreement, mean, "mean agreement");
        let agree = pairs.iter().filter(|(x, _)| *x >= 4.0).count() as f64;
        close(score.agree_share, agree / pairs.len() as f64, "agree share");
    }
    assert_eq!(results.dimensions.len(), 5, "every driver was answered");

    let effort = results
        .effort
        .expect("detractors answered the effort question");
    let n = efforts.len() as f64;
    assert_eq!(effort.answers, efforts.len() as u64);
    let mean = efforts.iter().map(|(e, _)| f64::from(*e)).sum::<f64>() / n;
    close(effort.mean, mean, "effort mean");
    let difficult = efforts.iter().filter(|(e, _)| *e <= 3).count() as f64;
    close(effort.difficult_share, difficult / n, "difficult share");
    for share in &effort.drivers {
        let ticked = efforts
            .iter()
            .filter(|(_, t)| t.contains(&share.driver.as_str()))
            .count();
        assert_eq!(share.ticked, ticked as u64, "{:?}", share.driver);
        close(share.share, ticked as f64 / n, "driver share");
    }
    assert_eq!(effort.drivers.len(), 4);

    for driver in &results.key_drivers {
        let pairs = &answers[&driver.dimension];
        let n = pairs.len() as f64;
        let (mx, my) = (
            pairs.iter().map(|(x, _)| x).sum::<f64>() / n,
            pairs.iter().map(|(_, y)| y).sum::<f64>() / n,
        );
        let covariance: f64 = pairs.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
        let (sx, sy): (f64, f64) = (
            pairs.iter().map(|(x, _)| (x - mx).powi(2)).sum(),
            pairs.iter().map(|(_, y)| (y - my).powi(2)).sum(),
        );
        let r = covariance / (sx * sy).sqrt();
        close(driver.correlation, r, "correlation");
        let half_width = 1.959_963_984_540_054 / (n - 3.0).sqrt();
        close(driver.low, (r.atanh() - half_width).tanh(), "interval low");
        close(
            driver.high,
            (r.atanh() + half_width).tanh(),
            "interval high",
        );
        assert!(driver.low < driver.correlation && driver.correlation < driver.high);
    }
    let ranked: Vec<Dimension> = results.key_drivers.iter().map(|d| d.dimension).collect();
    assert_eq!(
        &ranked[..2],
        [Dimension::Trust, Dimension::Satisfaction],
        "trust follows the score closest, then satisfaction"
    );
    assert!(
        results.key_drivers[0].correlation > 0.7,
        "{:?}",
        results.key_drivers[0]
    );
    assert!(
        results
            .focus
            .as_deref()
            .unwrap_or_default()
            .starts_with("Work on trust first"),
        "{:?}",
        results.focus
    );

    assert!(store.delete_site(&survey.id).await.unwrap());
    assert_eq!(
        store.result_sums(&survey.id, &everything).await.unwrap(),
        soovita_server::results::ResultSums::default(),
        "a deleted site leaves nothing to count"
    );
}

/// GDPR erasure of one response and of a whole site, and purging by retention.
/// Checks that a site's results for each filter are the same from the rollups as from the
/// responses alone: a filter starting a millisecond after the whole day reads only responses.
async fn same_from_rollups_and_responses(
    store: &dyn Store,
    site: &SiteId,
    filters: &[FilterQuery],
    when: &str,
) {
    for query in filters {
        let filter = query.parse().unwrap();
        let unaligned = ResponseFilter {
            from_ms: Some(filter.from_ms.unwrap_or(0) + 1),
            ..filter.clone()
        };
        let rolled = store.result_sums(site, &filter).await.unwrap();
        assert!(
            !rolled.days.is_empty(),
            "{when}: {filter:?} covers something"
        );
        assert_eq!(
            rolled,
            store.result_sums(site, &unaligned).await.unwrap(),
            "{when}, filter {filter:?}"
        );
    }
}

/// Results from the rollups equal those from the responses alone (a filter whose bounds are not
/// whole days reads only responses), before and after rolling up, after late answers, erasures
/// and a purge that cuts through a rolled-up day, whole and filtered.
async fn rollups_match_the_responses(store: &dyn Store) {
    const DAY_MS: i64 = 86_400_000;
    let site = Site {
        retention_days: 30,
        ..site("Rolled")
    };
    store.create_site(&site).await.unwrap();
    let now_ms = soovita_server::clock::now_ms();
    let today = now_ms / DAY_MS;
    let first_day = today - 20;
    let id = |n: usize| format!("30000000-0000-4000-8000-{n:012}");
    let answer = |n: usize, score: i32| {
        let mut answer = update(&id(n), score, None);
        answer.device = Some(["phone", "tablet", "desktop"][n % 3]);
        answer.lang = Some(["et", "en"][n % 2]);
        answer.page_path = Some(if n % 4 < 2 { "/a" } else { "/b" }.to_owned());
        answer.survey_version = if n % 5 == 0 { 2 } else { 1 };
        answer.effort = (score <= 6).then_some(u8::try_from(1 + n % 7).unwrap());
        answer.effort_drivers = (score <= 6 && n % 2 == 0).then(|| "contacted_again".to_owned());
        answer.statements = vec![
            statement(
                "trust.honest",
                Dimension::Trust,
                Some(u8::try_from(1 + n % 5).unwrap()),
            ),
            statement(
                "fairness.respect",
                Dimension::Fairness,
                (n % 3 > 0).then_some(3),
            ),
        ];
        answer
    };
    // 20 days, some of them empty, through today.
    for n in 0..600usize {
        // Every day but the 10th.
        let offset = match (n * 5) % 21 {
            10 => 11,
            offset => offset,
        };
        let day = first_day + i64::try_from(offset).unwrap();
        let at = day * DAY_MS + i64::try_from(n).unwrap() * 1_000;
        let score = i32::try_from((n * 7 + n / 13) % 11).unwrap();
        store
            .upsert_response(&site.id, &answer(n, score), at)
            .await
            .unwrap();
    }
    let day = |d: i64| {
        format!(
            "{}",
            time::OffsetDateTime::from_unix_timestamp(d * 86_400)
                .unwrap()
                .date()
        )
    };
    let filters = [
        FilterQuery::default(),
        FilterQuery {
            device: Some("phone".into()),
            ..FilterQuery::default()
        },
        FilterQuery {
            lang: Some("et".into()),
            page: Some("/b".into()),
            ..FilterQuery::default()
        },
        FilterQuery {
            version: Some("2".into()),
            ..FilterQuery::default()
        },
        FilterQuery {
            from: Some(day(first_day + 3)),
            to: Some(day(first_day + 9)),
            ..FilterQuery::default()
        },
        FilterQuery {
            from: Some(day(first_day + 15)),
            ..FilterQuery::default()
        },
    ];
    same_from_rollups_and_responses(store, &site.id, &filters, "before rolling up").await;
    let until_day = today - 2;
    let mut steps = 0;
    while store.roll_up(&site.id, until_day).await.unwrap() {
        steps += 1;
    }
    assert!(steps >= 2, "18 days are rolled up in steps, got {steps}");
    assert!(
        !store.roll_up(&site.id, until_day).await.unwrap(),
        "nothing left to do"
    );
    same_from_rollups_and_responses(store, &site.id, &filters, "rolled up").await;

    // A late answer and an erasure on rolled-up days: read from the responses until rolled again.
    store
        .upsert_response(&site.id, &answer(7, 0), first_day * DAY_MS)
        .await
        .unwrap();
    assert!(store
        .erase_response(&site.id, &ResponseId::parse(&id(14)).unwrap())
        .await
        .unwrap());
    same_from_rollups_and_responses(
        store,
        &site.id,
        &filters,
        "after a late answer and an erasure",
    )
    .await;
    let mut again = 0;
    while store.roll_up(&site.id, until_day).await.unwrap() {
        again += 1;
    }
    assert!(again >= 1, "the changed days are rolled up again");
    same_from_rollups_and_responses(store, &site.id, &filters, "rolled up again").await;

    // A purge whose cutoff falls inside a rolled-up day.
    let cutoff = (first_day + 5) * DAY_MS + 300_000;
    let purged = store.purge_expired(cutoff + 30 * DAY_MS).await.unwrap();
    assert!(purged > 0);
    same_from_rollups_and_responses(store, &site.id, &filters, "after a purge").await;
    while store.roll_up(&site.id, until_day).await.unwrap() {}
    same_from_rollups_and_responses(store, &site.id, &filters, "rolled up after the purge").await;
    assert!(store.delete_site(&site.id).await.unwrap());
}

/// Webhooks: events recorded once per (webhook, response, event), deliveries taken by one
/// claimant at a time, attempts logged, re-sends, and everything gone with its response or webhook.
async fn webhooks_storage(store: Arc<dyn Store>) {
    const DAY_MS: i64 = 86_400_000;
    let hooks = site("Hooks");
    let elsewhere = site("Elsewhere");
    store.create_site(&hooks).await.unwrap();
    store.create_site(&elsewhere).await.unwrap();
    let names = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    let hook = Webhook::new(
        hooks.id.clone(),
        "https://hooks.example/in",
        &names(&["new_detractor", "contact_requested"]),
        "json",
        10_000,
        false,
    )
    .unwrap();
    let other_hook = Webhook::new(
        elsewhere.id.clone(),
        "https://chat.example/slack",
        &names(&["response"]),
        "slack",
        10_000,
        false,
    )
    .unwrap();
    assert!(store.create_webhook(&hook, 10_000).await.unwrap());
    assert!(store.create_webhook(&other_hook, 10_000).await.unwrap());
    assert_eq!(
        store.webhooks(Some(&hooks.id)).await.unwrap(),
        std::slice::from_ref(&hook)
    );
    let mut all: Vec<_> = store.webhooks(None).await.unwrap();
    all.sort_by(|a, b| a.url.cmp(&b.url));
    assert_eq!(all, [other_hook.clone(), hook.clone()]);

    let id = |n: u32| format!("00000000-0000-4000-b0b0-{n:012}");
    let answer = |n: u32, score: i32, consent: Option<bool>| {
        let mut answer = update(&id(n), score, Some("Call me"));
        answer.contact_consent = consent;
        answer.email = (consent == Some(true)).then(|| "ann@example.com".to_owned());
        answer.page_path = Some("/checkout".into());
        answer
    };
    let upsert = |n: u32, score: i32, consent: Option<bool>, at: i64| {
        let store = store.clone();
        let site = hooks.id.clone();
        async move {
            store
                .upsert_response(&site, &answer(n, score, consent), at)
                .await
                .unwrap()
        }
    };
    upsert(1, 3, None, 11_000).await;
    upsert(2, 9, Some(true), 12_000).await;
    upsert(3, 2, None, 9_000).await;
    upsert(3, 2, None, 12_500).await;
    upsert(4, 5, None, 20_000).await;
    // An answer over a day after the first is refused (UPDATE_WINDOW_MS), so such a response
    // is never announced again.
    upsert(5, 1, None, 1_000).await;
    assert!(store
        .upsert_response(&hooks.id, &answer(5, 1, None), DAY_MS + 2_000)
        .await
        .is_err());
    store
        .upsert_response(&elsewhere.id, &update(&id(6), 0, None), 12_000)
        .await
        .unwrap();
    let settled = store
        .settled_responses(&hooks.id, 10_000, 15_000)
        .await
        .unwrap();
    let seen: Vec<_> = settled
        .iter()
        .map(|r| (r.id.as_str(), r.score, r.contact_consent))
        .collect();
    assert_eq!(
        seen,
        [
            (id(1).as_str(), 3, false),
            (id(2).as_str(), 9, true),
            (id(3).as_str(), 2, false)
        ]
    );
    assert!(store
        .settled_responses(&hooks.id, DAY_MS + 1_500, DAY_MS + 3_000)
        .await
        .unwrap()
        .is_empty());

    let events = [
        (id(1), WebhookEvent::NewDetractor),
        (id(2), WebhookEvent::ContactRequested),
        (id(3), WebhookEvent::NewDetractor),
        // Erased meanwhile (never stored): nothing is recorded for it.
        (id(99), WebhookEvent::NewDetractor),
    ];
    store
        .record_events(&hook.id, &events, 3, 15_000, 16_000)
        .await
        .unwrap();
    store
        .record_events(&hook.id, &events[..2], 3, 14_000, 16_500)
        .await
        .unwrap();
    assert_eq!(
        store.webhooks(Some(&hooks.id)).await.unwrap()[0].scanned_until_ms,
        15_000,
        "a scan never moves back"
    );
    assert_eq!(
        store.deliveries(&hooks.id, 50).await.unwrap().len(),
        3,
        "each event once"
    );

    let first = store
        .claim_due_deliveries(16_000, 100_000, 2)
        .await
        .unwrap();
    let rest = store
        .claim_due_deliveries(16_000, 100_000, 2)
        .await
        .unwrap();
    assert_eq!((first.len(), rest.len()), (2, 1));
    assert!(
        store
            .claim_due_deliveries(16_000, 100_000, 2)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let mut due: Vec<_> = first.into_iter().chain(rest).collect();
    due.sort_by(|a, b| a.response.id.cmp(&b.response.id));
    let contact = &due[1];
    assert_eq!(
        (contact.event, contact.attempts, contact.attempts_left),
        (WebhookEvent::ContactRequested, 0, 3)
    );
    assert_eq!(
        (
            contact.url.as_str(),
            contact.secret.as_str(),
            contact.format
        ),
        (hook.url.as_str(), hook.secret.as_str(), WebhookFormat::Json)
    );
    assert_eq!(
        (contact.site_id.as_str(), contact.site_name.as_str()),
        (hooks.id.as_str(), "Hooks")
    );
    assert_eq!(
        contact.response,
        AnnouncedResponse {
            id: id(2),
            score: 9,
            comment: Some("Call me".into()),
            contact_consent: true,
            email: Some("ann@example.com".into()),
            page_path: Some("/checkout".into()),
            lang: None,
            device: None,
            created_at_ms: 12_000,
        }
    );

    let outcome = |delivery: &DueDelivery, number, code, status, left, next| AttemptOutcome {
        delivery_id: delivery.id.clone(),
        attempt: Attempt {
            number,
            at_ms: next - 1_000,
            status_code: code,
            error: code.is_none().then(|| "could not connect".to_owned()),
        },
        status,
        attempts_left: left,
        next_attempt_at_ms: next,
    };
    let (failing, delivered) = (&due[0], &due[1]);
    store
        .record_attempt(&outcome(
            failing,
            1,
            Some(500),
            DeliveryStatus::Pending,
            2,
            17_000,
        ))
        .await
        .unwrap();
    store
        .record_attempt(&outcome(
            delivered,
            1,
            Some(204),
            DeliveryStatus::Delivered,
            3,
            17_000,
        ))
        .await
        .unwrap();
    let again = store
        .claim_due_deliveries(17_000, 100_000, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "only the failed one is due again");
    assert_eq!(
        (
            again[0].id.as_str(),
            again[0].attempts,
            again[0].attempts_left
        ),
        (failing.id.as_str(), 1, 2)
    );
    store
        .record_attempt(&outcome(
            failing,
            2,
            None,
            DeliveryStatus::Failed,
            0,
            18_000,
        ))
        .await
        .unwrap();
    assert!(
        store
            .claim_due_deliveries(99_999_999, 100_000_000, 10)
            .await
            .unwrap()
            .len()
            <= 1
    );

    let log = store.deliveries(&hooks.id, 50).await.unwrap();
    let entry = |delivery_id: &str| log.iter().find(|d| d.id == delivery_id).unwrap().clone();
    let failed = entry(&failing.id);
    assert_eq!(failed.status, DeliveryStatus::Failed);
    assert_eq!(failed.url, hook.url);
    assert_eq!(
        failed
            .attempts
            .iter()
            .map(|a| (a.number, a.status_code, a.error.clone()))
            .collect::<Vec<_>>(),
        [
            (1, Some(500), None),
            (2, None, Some("could not connect".to_owned()))
        ]
    );
    assert_eq!(entry(&delivered.id).status, DeliveryStatus::Delivered);
    assert!(store
        .deliveries(&elsewhere.id, 50)
        .await
        .unwrap()
        .is_empty());

    assert!(!store
        .resend_delivery(&elsewhere.id, &failing.id, 3, 30_000)
        .await
        .unwrap());
    assert!(
        !store
            .resend_delivery(&hooks.id, &failing.id, 0, 30_000)
            .await
            .unwrap(),
        "its 2 attempts are already (0 × 6 allowed)"
    );
    assert!(store
        .resend_delivery(&hooks.id, &failing.id, 3, 30_000)
        .await
        .unwrap());
    assert!(
        !store
            .resend_delivery(&hooks.id, &failing.id, 3, 30_000)
            .await
            .unwrap(),
        "a delivery being sent is not re-sent on top"
    );
    let resent = store
        .claim_due_deliveries(30_000, 100_000, 10)
        .await
        .unwrap();
    assert!(resent
        .iter()
        .any(|d| d.id == failing.id && d.attempts == 2 && d.attempts_left == 3));

    // Two claimants at once (two servers on one PostgreSQL) never take the same delivery.
    let many: Vec<_> = (100..140)
        .map(|n| (id(n), WebhookEvent::Response))
        .collect();
    for (response, _) in &many {
        store
            .upsert_response(&elsewhere.id, &update(response, 7, None), 40_000)
            .await
            .unwrap();
    }
    store
        .record_events(&other_hook.id, &many, 3, 41_000, 41_000)
        .await
        .unwrap();
    let claims = (0..4).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .claim_due_deliveries(41_000, 200_000, 16)
                .await
                .unwrap()
        })
    });
    let mut claimed = Vec::new();
    for claim in claims {
        claimed.extend(claim.await.unwrap().into_iter().map(|d| d.id));
    }
    let distinct: std::collections::HashSet<_> = claimed.iter().collect();
    assert_eq!((claimed.len(), distinct.len()), (40, 40));

    let erased = ResponseId::parse(&id(1)).unwrap();
    let before = store.deliveries(&hooks.id, 50).await.unwrap().len();
    assert!(store.erase_response(&hooks.id, &erased).await.unwrap());
    assert_eq!(
        store.deliveries(&hooks.id, 50).await.unwrap().len(),
        before - 1,
        "an erased response's deliveries go with it"
    );
    // A site has at most MAX_PER_SITE webhooks.
    for _ in 1..soovita_server::webhooks::MAX_PER_SITE {
        let more = Webhook::new(
            elsewhere.id.clone(),
            "https://more.example",
            &names(&["response"]),
            "json",
            50_000,
            false,
        )
        .unwrap();
        assert!(store.create_webhook(&more, 50_000).await.unwrap());
    }
    let one_too_many = Webhook::new(
        elsewhere.id.clone(),
        "https://more.example",
        &names(&["response"]),
        "json",
        50_000,
        false,
    )
    .unwrap();
    assert!(!store.create_webhook(&one_too_many, 50_000).await.unwrap());
    assert_eq!(
        store.webhooks(Some(&elsewhere.id)).await.unwrap().len(),
        soovita_server::webhooks::MAX_PER_SITE
    );
    assert!(!store.delete_webhook(&elsewhere.id, &hook.id).await.unwrap());
    assert!(store.delete_webhook(&hooks.id, &hook.id).await.unwrap());
    assert!(store.deliveries(&hooks.id, 50).await.unwrap().is_empty());
    assert!(store.webhooks(Some(&hooks.id)).await.unwrap().is_empty());
    assert!(store.delete_site(&elsewhere.id).await.unwrap());
    assert!(
        store
            .webhooks(None)
            .await
            .unwrap()
            .iter()
            .all(|w| w.id != other_hook.id),
        "a deleted site's webhooks go too"
    );
    assert!(store.delete_site(&hooks.id).await.unwrap());
}

async fn erasure_and_retention(store: Arc<dyn Store>, shop: &Site, other: &Site) {
    const DAY_MS: i64 = 86_400_000;
    let first = ResponseId::parse(FIRST).unwrap();
    assert!(
        !store.erase_response(&other.id, &first).await.unwrap(),
        "FIRST is not other's to erase"
    );
    assert!(store.erase_response(&shop.id, &first).await.unwrap());
    assert!(!store.erase_response(&shop.id, &first).await.unwrap());
    let left: Vec<_> = store
        .responses(&shop.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(left, [SECOND]);

    // SECOND was created at 4_000 ms; shop keeps responses for 7 days, other for 730.
    assert_eq!(
        store.purge_expired(4_000 + 7 * DAY_MS - 1).await.unwrap(),
        0
    );
    assert_eq!(
        store.purge_expired(20_000 + 7 * DAY_MS + 1).await.unwrap(),
        1
    );
    assert!(store.responses(&shop.id).await.unwrap().is_empty());
    assert_eq!(store.responses(&other.id).await.unwrap().len(), 199);
    assert_eq!(
        store
            .purge_expired(20_000 + 730 * DAY_MS + 1)
            .await
            .unwrap(),
        199
    );

    let third = "00000000-0000-4000-8000-000000000003";
    store
        .upsert_response(&other.id, &update(third, 4, None), 30_000)
        .await
        .unwrap();
    assert!(store.delete_site(&other.id).await.unwrap());
    assert!(store.site(&other.id).await.unwrap().is_none());
    assert!(
        store.responses(&other.id).await.unwrap().is_empty(),
        "a deleted site's responses go too"
    );
    assert!(!store.delete_site(&other.id).await.unwrap());
}

#[tokio::test]
async fn sqlite_passes_the_conformance_story() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&format!(
        "sqlite://{}/nested/store.db",
        dir.path().display()
    ))
    .await
    .unwrap();
    conformance_story(store).await;
}

#[tokio::test]
async fn postgres_passes_the_conformance_story() {
    let Some(admin_url) = postgres_admin_url() else {
        return;
    };
    let database = ThrowawayPostgres::create(&admin_url).await;
    let store = store::open(&database.url).await.unwrap();
    conformance_story(store).await;
}

#[tokio::test]
async fn unsupported_database_urls_are_refused_with_the_accepted_forms() {
    let error = store::open("mysql://localhost/soovita")
        .await
        .err()
        .expect("mysql is not supported");
    assert!(error.to_string().contains("sqlite://"), "{error}");
}

#[tokio::test]
async fn sqlite_keeps_no_trace_of_an_erased_comment_in_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&format!("sqlite://{}/erase.db", dir.path().display()))
        .await
        .unwrap();
    let shop = site("Shop");
    store.create_site(&shop).await.unwrap();
    let secret = "Mari Maasikas, phone 5551234, wants a refund";
    let id = "0190a0b0-0000-7000-8000-0000000000e1";
    store
        .upsert_response(&shop.id, &update(id, 2, Some(secret)), 1_000)
        .await
        .unwrap();
    let files_hold = |text: &str| {
        std::fs::read_dir(dir.path()).unwrap().any(|entry| {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            bytes
                .windows(text.len())
                .any(|window| window == text.as_bytes())
        })
    };
    assert!(files_hold(secret), "the comment was written");
    assert!(store
        .erase_response(&shop.id, &ResponseId::parse(id).unwrap())
        .await
        .unwrap());
    assert!(
        !files_hold(secret),
        "neither the database's free space nor the write-ahead log keeps it"
    );
}

#[tokio::test]
async fn a_new_sqlite_database_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("data");
    let store = store::open(&format!("sqlite://{}/soovita.db", folder.display()))
        .await
        .unwrap();
    let shop = site("Shop");
    store.create_site(&shop).await.unwrap();
    let mode = |name: &str| {
        let path = if name.is_empty() {
            folder.clone()
        } else {
            folder.join(name)
        };
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(""), 0o700, "the folder");
    for file in ["soovita.db", "soovita.db-wal", "soovita.db-shm"] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
}
