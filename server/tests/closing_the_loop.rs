//! Closing the loop on SQLite and PostgreSQL, with time as a parameter (no sleeping): cases
//! that pass their target are announced once (a signed `case.overdue` webhook delivery) and
//! digested at most hourly to the site's admins; acknowledgements go once per case; a
//! check-back link records one answer, refuses tampered, expired and borrowed links, and the
//! recovery rate equals a count made here; erasing a respondent takes their thread with it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::post;
use axum::Router;
use reqwest::{Client, StatusCode};
use soovita_server::accounts::{Owner, Role, Session};
use soovita_server::checkbacks::{self, Link, Recovery};
use soovita_server::domain::{ResponseId, SiteId};
use soovita_server::inbox::{CaseSettings, FollowUpStatus};
use soovita_server::mail::{DueMail, MailKind, MailOptions};
use soovita_server::store::{self, prelude::*};
use soovita_server::watch::{self, Watched};
use soovita_server::webhooks::{self, Webhook, WebhookEvent, WebhookOptions};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

mod common;

const HOUR: i64 = 3_600_000;

async fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&format!("sqlite://{}/loop.db", dir.path().display()))
        .await
        .unwrap();
    (store, dir)
}

async fn owner(store: &dyn Store, site: &SiteId, email: &str, role: Role) -> Owner {
    let owner = Owner::new(email, "correct horse battery");
    store.create_owner(&owner, 0).await.unwrap();
    store.set_role(&owner.id, site, role, 0).await.unwrap();
    owner
}

/// A visitor of `site` who scored `score` at `at_ms` and agreed to be contacted.
async fn case(store: &dyn Store, site: &SiteId, score: i32, at_ms: i64) -> ResponseId {
    let id = uuid::Uuid::new_v4().to_string();
    let mut update = common::update(&id, score, Some("Kohv oli külm"));
    (update.contact_consent, update.email, update.lang) =
        (Some(true), Some("mari@example.com".into()), Some("et"));
    store.upsert_response(site, &update, at_ms).await.unwrap();
    ResponseId::parse(&id).unwrap()
}

fn mail_options() -> MailOptions {
    // Nothing sends in these tests: what was queued is read back from the queue.
    MailOptions::new("smtp://127.0.0.1:9", "Kohvik <tere@kohvik.ee>")
        .unwrap()
        .with_console_url("https://feedback.kohvik.ee/")
        .unwrap()
}

/// Takes every message due by `now_ms` off the queue for good, to read.
async fn queued(store: &dyn Store, now_ms: i64) -> Vec<DueMail> {
    store
        .claim_due_mail(now_ms, i64::MAX / 2, 1_000)
        .await
        .unwrap()
}

/// One request a webhook receiver got.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> AxumStatus {
    receiver.got.lock().unwrap().push((headers, body));
    AxumStatus::NO_CONTENT
}

impl Receiver {
    async fn start(&self) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }
}

async fn overdue_story(store: Arc<dyn Store>) {
    let store_ref = store.as_ref();
    let kohvik = common::kohvik(store_ref).await;
    owner(store_ref, &kohvik, "anu@kohvik.ee", Role::Admin).await;
    owner(store_ref, &kohvik, "jaan@kohvik.ee", Role::Member).await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let t0 = soovita_server::clock::now_ms();
    let hook = Webhook::new(
        kohvik.clone(),
        &url,
        &["case.overdue".to_owned()],
        "json",
        t0,
        true,
    )
    .unwrap();
    store.create_webhook(&hook, t0).await.unwrap();
    let mail = mail_options();
    let look = |now_ms: i64| {
        let (store, mail) = (store.clone(), mail.clone());
        async move {
            watch::look(store.as_ref(), Some(&mail), 3, now_ms)
                .await
                .unwrap()
        }
    };

    let detractor = case(store_ref, &kohvik, 3, t0).await;
    let passive = case(store_ref, &kohvik, 7, t0).await;
    let answered = case(store_ref, &kohvik, 2, t0).await;
    store
        .follow_up(&kohvik, &answered, FollowUpStatus::Contacted, "", t0 + HOUR)
        .await
        .unwrap();
    let history = case(store_ref, &kohvik, 1, t0 - 9 * 24 * HOUR).await;
    let later = case(store_ref, &kohvik, 4, t0 + HOUR / 2).await;

    let nothing = Watched::default();
    assert_eq!(look(t0 + 23 * HOUR).await, nothing, "not due yet");
    let inbox = store.inbox(&kohvik, 50).await.unwrap();
    assert_eq!(
        inbox[0].response_id,
        history.to_string(),
        "the most overdue case first"
    );
    assert_eq!(
        inbox[1].due_at_ms,
        t0 + 24 * HOUR,
        "a detractor's target is 24 h"
    );

    // A day on, the detractor is overdue: one announcement, one digest to the one admin.
    let first = look(t0 + 24 * HOUR + 1_000).await;
    assert_eq!(
        (first.overdue, first.digests),
        (1, 1),
        "only the detractor: not the contacted case, nor the 9-day-old one"
    );
    let digest = queued(store_ref, t0 + 24 * HOUR + 1_000).await;
    assert_eq!(digest.len(), 1, "admins only: {digest:?}");
    assert_eq!(digest[0].to_email, "anu@kohvik.ee");
    assert_eq!(digest[0].subject, "1 overdue case at Kohvik");
    assert!(digest[0].body.contains("3/10") && digest[0].body.contains("Kohv oli külm"));
    assert!(
        digest[0].body.contains(&format!(
            "https://feedback.kohvik.ee/console/sites/{kohvik}/inbox"
        )),
        "{}",
        digest[0].body
    );

    // The announcement: one delivery, sent signed.
    let deliveries = store.deliveries(&kohvik, 10).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].event, WebhookEvent::CaseOverdue);
    assert_eq!(deliveries[0].response_id, detractor.to_string());
    let options = WebhookOptions {
        allow_private: true,
        ..WebhookOptions::default()
    };
    let client = webhooks::dispatcher::client(&options).unwrap();
    webhooks::dispatcher::send_due(
        store_ref,
        &client,
        &options,
        &(std::sync::Arc::new(move || t0 + 24 * HOUR + 2_000) as webhooks::dispatcher::Clock),
    )
    .await
    .unwrap();
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (headers, body) = &got[0];
    assert_eq!(headers["soovita-event"], "case.overdue");
    let signature = headers["soovita-signature"].to_str().unwrap();
    let t: i64 = signature[2..signature.find(',').unwrap()].parse().unwrap();
    assert_eq!(
        signature,
        webhooks::payload::signature(&hook.secret, t, body),
        "signed with the webhook's secret"
    );
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(json["event"], "case.overdue");
    assert_eq!(json["response"]["id"], detractor.to_string());

    // Ten minutes on: nothing new. The later detractor falls due within the hour: flagged and
    // announced at once, but its digest waits for the hour to pass.
    assert_eq!(look(t0 + 24 * HOUR + 10 * 60_000).await, nothing);
    let within_the_hour = look(t0 + 24 * HOUR + 40 * 60_000).await;
    assert_eq!((within_the_hour.overdue, within_the_hour.digests), (1, 0));
    assert!(queued(store_ref, t0 + 25 * HOUR).await.is_empty());
    let next_hour = look(t0 + 25 * HOUR + 2_000).await;
    assert_eq!((next_hour.overdue, next_hour.digests), (0, 1));
    let second = queued(store_ref, t0 + 25 * HOUR + 2_000).await;
    assert_eq!(second.len(), 1);
    assert!(second[0].body.contains("4/10"), "{}", second[0].body);
    assert!(!second[0].body.contains("3/10"), "a case is digested once");
    assert_eq!(store.deliveries(&kohvik, 10).await.unwrap().len(), 2);
    let _ = later;

    // Passives and promoters have three days.
    let passive_due = look(t0 + 72 * HOUR + 1_000).await;
    assert_eq!((passive_due.overdue, passive_due.digests), (1, 1));
    let inbox = store.inbox(&kohvik, 50).await.unwrap();
    let passive_case = inbox
        .iter()
        .find(|item| item.response_id == passive.to_string())
        .unwrap();
    assert_eq!(
        passive_case.within_target(t0 + 72 * HOUR + 1_000),
        Some(false)
    );
    let answered_case = inbox
        .iter()
        .find(|item| item.response_id == answered.to_string())
        .unwrap();
    assert_eq!(answered_case.within_target(t0 + 72 * HOUR), Some(true));

    // A site's own target.
    store
        .set_case_settings(
            &kohvik,
            CaseSettings {
                detractor_hours: 2,
                other_hours: 8,
                acknowledge: false,
            },
            t0,
        )
        .await
        .unwrap();
    let fresh = case(store_ref, &kohvik, 0, t0 + 100 * HOUR).await;
    assert_eq!(look(t0 + 101 * HOUR).await.overdue, 0);
    assert_eq!(look(t0 + 102 * HOUR + 1).await.overdue, 1);
    assert_eq!(
        store
            .case(&kohvik, &fresh)
            .await
            .unwrap()
            .unwrap()
            .due_at_ms,
        t0 + 102 * HOUR
    );
}

async fn acknowledgement_story(store: Arc<dyn Store>) {
    let store_ref = store.as_ref();
    let kohvik = common::kohvik(store_ref).await;
    owner(store_ref, &kohvik, "anu@kohvik.ee", Role::Admin).await;
    let mail = mail_options();
    let t0 = soovita_server::clock::now_ms();
    let before = case(store_ref, &kohvik, 3, t0 - 60_000).await;
    assert_eq!(
        watch::look(store_ref, Some(&mail), 3, t0)
            .await
            .unwrap()
            .acknowledged,
        0,
        "off unless the site asks for it"
    );
    store
        .set_case_settings(
            &kohvik,
            CaseSettings {
                acknowledge: true,
                ..CaseSettings::default()
            },
            t0,
        )
        .await
        .unwrap();
    let asked = case(store_ref, &kohvik, 3, t0 + 1_000).await;
    let watched = watch::look(store_ref, Some(&mail), 3, t0 + 20_000)
        .await
        .unwrap();
    assert_eq!(
        watched.acknowledged, 1,
        "only the case from then on: not {before}"
    );
    assert_eq!(
        watch::look(store_ref, Some(&mail), 3, t0 + 40_000)
            .await
            .unwrap()
            .acknowledged,
        0,
        "once per case"
    );
    let sent = queued(store_ref, t0 + 40_000).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to_email, "mari@example.com");
    assert_eq!(
        sent[0].sender_email, "anu@kohvik.ee",
        "answers reach an admin"
    );
    assert_eq!(sent[0].subject, "Teie sõnum jõudis kohale: Kohvik");
    assert!(
        sent[0].body.contains("24 tunni jooksul"),
        "{}",
        sent[0].body
    );
    let thread = store.thread(&kohvik, &asked).await.unwrap();
    assert_eq!(thread[0].kind, MailKind::Acknowledgement);
    let case = store.case(&kohvik, &asked).await.unwrap().unwrap();
    assert_eq!(
        case.status,
        FollowUpStatus::New,
        "an acknowledgement is not a contact"
    );

    // Erasing the respondent takes the thread with it.
    assert!(store.erase_response(&kohvik, &asked).await.unwrap());
    assert!(store.thread(&kohvik, &asked).await.unwrap().is_empty());
}

#[tokio::test]
async fn overdue_cases_are_announced_once_and_digested_at_most_hourly_on_sqlite() {
    let (store, _dir) = sqlite().await;
    overdue_story(store).await;
}

#[tokio::test]
async fn overdue_cases_are_announced_once_and_digested_at_most_hourly_on_postgres() {
    let Some((store, _database)) = common::postgres_store().await else {
        return;
    };
    overdue_story(store).await;
}

#[tokio::test]
async fn acknowledgements_go_once_per_case_in_the_visitors_language_on_sqlite() {
    let (store, _dir) = sqlite().await;
    acknowledgement_story(store).await;
}

#[tokio::test]
async fn acknowledgements_go_once_per_case_in_the_visitors_language_on_postgres() {
    let Some((store, _database)) = common::postgres_store().await else {
        return;
    };
    acknowledgement_story(store).await;
}

/// The server on `store`, with mail on (nothing is sent: the queue is read back).
async fn serve(store: Arc<dyn Store>) -> (String, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let mut mail = mail_options();
    mail.tick = std::time::Duration::from_secs(3_600);
    tokio::spawn(soovita_server::serve(
        listener,
        store,
        soovita_server::ServeOptions {
            // The sender's first look is at start, its next an hour on: what this test queues
            // stays in the queue for it to read.
            mail: Some(mail),
            ..soovita_server::ServeOptions::default()
        },
        async {
            let _ = stopped.await;
        },
    ));
    (format!("http://{address}"), stop)
}

async fn check_back_story(store: Arc<dyn Store>) {
    let store_ref = store.as_ref();
    let kohvik = common::kohvik(store_ref).await;
    let anu = owner(store_ref, &kohvik, "anu@kohvik.ee", Role::Admin).await;
    let (session, token) = Session::start(&anu, soovita_server::clock::now_ms());
    store.create_session(&session).await.unwrap();
    let (base, _stop) = serve(store.clone()).await;
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let now = soovita_server::clock::now_ms();
    let resolved = |score| {
        let store = store.clone();
        let kohvik = kohvik.clone();
        async move {
            let id = case(store.as_ref(), &kohvik, score, now - 2 * HOUR).await;
            for status in [FollowUpStatus::Contacted, FollowUpStatus::Resolved] {
                store
                    .follow_up(&kohvik, &id, status, "", now - HOUR)
                    .await
                    .unwrap();
            }
            id
        }
    };
    let send = |id: ResponseId| {
        let request = http
            .post(format!(
                "{base}/console/sites/{kohvik}/inbox/{id}/thread/check-back"
            ))
            .header("cookie", format!("soovita_session={token}"))
            .header("sec-fetch-site", "same-origin")
            .form(&[("csrf", session.csrf_token.as_str())]);
        async move { request.send().await.unwrap().status() }
    };

    let open = case(store_ref, &kohvik, 2, now).await;
    assert_eq!(
        send(open).await,
        StatusCode::BAD_REQUEST,
        "only a resolved case"
    );
    let mari = resolved(2).await;
    assert_eq!(send(mari).await, StatusCode::SEE_OTHER);
    let mail = queued(store_ref, soovita_server::clock::now_ms()).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].subject, "Üks küsimus: Kohvik");
    let links: Vec<&str> = mail[0]
        .body
        .split_whitespace()
        .filter(|word| word.contains("/check-back/"))
        .collect();
    assert_eq!(links.len(), 11, "{}", mail[0].body);
    let nine = links[9];

    // Opening the link records nothing (mail scanners open links); the button does, once.
    let page = http.get(nine).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let page = page.text().await.unwrap();
    assert!(
        page.contains("lang=\"et\"") && page.contains("9 / 10"),
        "{page}"
    );
    assert!(!page.contains("<script"));
    assert_eq!(
        store
            .check_back(&kohvik, &mari)
            .await
            .unwrap()
            .unwrap()
            .score,
        None
    );
    let click = |link: String| {
        let request = http.post(link);
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let (status, thanks) = click(nine.to_owned()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        thanks.contains("Aitäh! Teie vastus on salvestatud."),
        "{thanks}"
    );
    let (status, replay) = click(nine.to_owned()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(replay.contains("on meil juba olemas"), "{replay}");
    let (_, other_score) = click(links[3].to_owned()).await;
    assert!(
        other_score.contains("on meil juba olemas"),
        "one answer per case"
    );
    assert_eq!(
        store
            .check_back(&kohvik, &mari)
            .await
            .unwrap()
            .unwrap()
            .score,
        Some(9)
    );
    assert_eq!(
        send(mari).await,
        StatusCode::BAD_REQUEST,
        "answered: not again"
    );

    // Tampered, borrowed and expired links record nothing.
    let jaan = resolved(5).await;
    assert_eq!(send(jaan).await, StatusCode::SEE_OTHER);
    let tampered = links[4].replacen(&format!("{mari}.4."), &format!("{mari}.10."), 1);
    let borrowed = links[4].replacen(&mari.to_string(), &jaan.to_string(), 1);
    let key = store.server_key(checkbacks::KEY_NAME).await.unwrap();
    let expired = Link {
        response: jaan,
        score: 8,
        expires_at_s: now / 1000 - 1,
    }
    .sign(&key);
    let forged = Link {
        response: jaan,
        score: 8,
        expires_at_s: now / 1000 + 3_600,
    }
    .sign(b"a key of someone else");
    for (what, link) in [
        ("tampered", tampered),
        ("borrowed", borrowed),
        ("expired", format!("{base}/check-back/{expired}")),
        ("forged", format!("{base}/check-back/{forged}")),
    ] {
        let (status, page) = click(link).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
        assert!(page.contains("Nothing was recorded"), "{what}: {page}");
    }
    assert_eq!(
        store
            .check_back(&kohvik, &jaan)
            .await
            .unwrap()
            .unwrap()
            .score,
        None
    );

    // The recovery rate, against a count made here.
    let mut answers = vec![(2u8, 9u8)];
    for (before, after) in [(5, 6), (6, 8), (0, 3), (4, 10)] {
        let id = resolved(before).await;
        store
            .start_check_back(&kohvik, &id, now, now + HOUR)
            .await
            .unwrap();
        store.answer_check_back(&id, after, now).await.unwrap();
        answers.push((before as u8, after));
    }
    let recovery = Recovery::of(&store.check_back_answers(&kohvik).await.unwrap());
    let won_back = answers.iter().filter(|(_, after)| *after >= 7).count();
    let mut changes: Vec<i32> = answers
        .iter()
        .map(|(before, after)| i32::from(*after) - i32::from(*before))
        .collect();
    changes.sort_unstable();
    assert_eq!(
        (recovery.recovered.whole, recovery.recovered.part),
        (answers.len(), won_back)
    );
    assert_eq!(
        recovery.median_change,
        Some(f64::from(changes[changes.len() / 2]))
    );
    let dashboard = http
        .get(format!("{base}/console/sites/{kohvik}"))
        .header("cookie", format!("soovita_session={token}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        dashboard.contains(&format!(
            "{won_back} of {} now answer 7 or more",
            answers.len()
        )),
        "{dashboard}"
    );

    // Erasing the respondent erases the check-back and its mail.
    assert!(store.erase_response(&kohvik, &mari).await.unwrap());
    assert_eq!(store.check_back(&kohvik, &mari).await.unwrap(), None);
    let (status, _) = click(nine.to_owned()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_check_back_records_one_answer_and_the_recovery_rate_counts_it_on_sqlite() {
    let (store, _dir) = sqlite().await;
    check_back_story(store).await;
}

#[tokio::test]
async fn a_check_back_records_one_answer_and_the_recovery_rate_counts_it_on_postgres() {
    let Some((store, _database)) = common::postgres_store().await else {
        return;
    };
    check_back_story(store).await;
}
