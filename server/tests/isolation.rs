//! Nobody sees what is not theirs. Every route of the router that names a site is walked, from
//! the router's own lists (`console::ROUTES`, `routes::PATHS`), so that a route added later
//! without its check fails here: as an account that is a member of another site only, as a
//! `member` where the admin role is needed, and with another site's API token. Each must answer
//! as the rules say and change nothing.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{Client, Method, StatusCode};
use soovita_server::accounts::{Owner, Role, Session};
use soovita_server::domain::{AdminToken, ResponseId, SiteId};
use soovita_server::sites::{register, RegisteredSite, SiteSettings};
use soovita_server::store::{self, prelude::*};
use soovita_server::webhooks::{Webhook, WebhookEvent};
use soovita_wire::SurveyDefinition;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Console routes a `member` may use; every other route naming a site needs the admin role.
/// A new route is an admin's until it is added here on purpose.
const MEMBERS_MAY: [&str; 8] = [
    "/console/sites/{site_id}/inbox/{response_id}/thread",
    "/console/sites/{site_id}/inbox/{response_id}/thread/check-back",
    "/console/sites/{site_id}",
    "/console/sites/{site_id}/install",
    "/console/sites/{site_id}/export",
    "/console/sites/{site_id}/themes/{lang}/{term}",
    "/console/sites/{site_id}/inbox",
    "/console/sites/{site_id}/inbox/{response_id}",
];

/// API routes anyone may call (a visitor's browser, a load balancer, a scraper): (method, path).
const PUBLIC: [(&str, &str); 2] = [
    ("GET", "/v1/sites/{site_id}/survey"),
    ("POST", "/v1/sites/{site_id}/responses"),
];

struct Account {
    owner_id: String,
    cookie: String,
    csrf: String,
}

async fn account(store: &dyn Store, email: &str, site: &SiteId, role: Role) -> Account {
    let owner = Owner::new(email, "correct horse battery");
    store.create_owner(&owner, 0).await.unwrap();
    store.set_role(&owner.id, site, role, 0).await.unwrap();
    let (session, token) = Session::start(&owner, soovita_server::clock::now_ms());
    store.create_session(&session).await.unwrap();
    Account {
        owner_id: owner.id.clone(),
        cookie: format!("soovita_session={token}"),
        csrf: session.csrf_token,
    }
}

async fn site(store: &dyn Store, name: &str) -> (RegisteredSite, SiteId) {
    let registered = register(
        store,
        SiteSettings {
            name,
            origins: &["https://shop.example".to_owned()],
            sample_percent: 100,
            cooldown_days: 0,
            retention_days: 30,
            honor_do_not_track: false,
        },
    )
    .await
    .unwrap();
    let id = SiteId::parse(&registered.site_id).unwrap();
    (registered, id)
}

/// A server on a port of its own over `store`, until the sender is dropped.
async fn serve(store: std::sync::Arc<dyn Store>) -> (String, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(soovita_server::serve(
        listener,
        store,
        soovita_server::ServeOptions::default(),
        async {
            let _ = stopped.await;
        },
    ));
    (base, stop)
}

/// Everything a route could change about a site, as text to compare.
async fn snapshot(store: &dyn Store, site: &SiteId) -> String {
    let stored = store.site(site).await.unwrap().unwrap();
    let mut threads = Vec::new();
    for response in store.responses(site).await.unwrap() {
        let id = ResponseId::parse(&response.id).unwrap();
        threads.push(store.thread(site, &id).await.unwrap());
    }
    format!(
        "{threads:?}\n\
         {:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?} {:?} {:?}\n{:?}\n{:?}\n{:?}",
        store.responses(site).await.unwrap(),
        store.inbox(site, 500).await.unwrap(),
        store.webhooks(Some(site)).await.unwrap(),
        store.deliveries(site, 500).await.unwrap(),
        store.tokens(site).await.unwrap(),
        store.members(site).await.unwrap(),
        store.invitations(site, 0).await.unwrap(),
        stored.survey,
        stored.name,
        stored.allowed_origins,
        stored.admin_token_hash,
        store.case_settings(site).await.unwrap(),
        store.edited_templates(site).await.unwrap(),
        store.upload(site, UPLOAD).await.unwrap(),
    )
}

/// The id of the site's one uploaded import.
const UPLOAD: &str = "00112233445566778899aabbccddeeff";

#[tokio::test]
async fn every_route_naming_a_site_refuses_who_may_not_act_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&format!("sqlite://{}/test.db", dir.path().display()))
        .await
        .unwrap();
    let (_, kohvik) = site(store.as_ref(), "Kohvik").await;
    let (pood_registered, pood) = site(store.as_ref(), "Pood").await;
    let admin = account(store.as_ref(), "anu@kohvik.ee", &kohvik, Role::Admin).await;
    let member = account(store.as_ref(), "mari@kohvik.ee", &kohvik, Role::Member).await;
    let outsider = account(store.as_ref(), "jaan@pood.ee", &pood, Role::Admin).await;

    // Something of every kind for the routes to reach: a case, a webhook, a delivery.
    let id = "3f2b8c1e-7a4d-4e8b-9c0a-1b2c3d4e5f60";
    let response = ResponseId::parse(id).unwrap();
    let mut update = common::update(id, 3, Some("Slow delivery"));
    (update.contact_consent, update.email) = (Some(true), Some("visitor@example.com".into()));
    // Today, or the server's retention purge at start would take it.
    let now = soovita_server::clock::now_ms();
    store.upsert_response(&kohvik, &update, now).await.unwrap();
    let webhook = Webhook::new(
        kohvik.clone(),
        "https://hooks.example/soovita",
        &["response".to_owned()],
        "json",
        0,
        false,
    )
    .unwrap();
    assert!(store.create_webhook(&webhook, 0).await.unwrap());
    let upload = soovita_server::imports::Upload {
        id: UPLOAD.into(),
        file_name: "delighted.csv".into(),
        settings: serde_json::to_string(&(
            soovita_server::imports::Format::Delighted,
            soovita_server::imports::Options::default(),
        ))
        .unwrap(),
        status: soovita_server::imports::UploadStatus::Previewed,
        report: r#"{"read":1,"added":1,"existing":0,"refused":0,"refusals":[],"notes":[],"written":false}"#.into(),
        written: 0,
        created_at_ms: now,
        updated_at_ms: now,
    };
    let file = "Response ID,Score,Response timestamp\n1,9,2026-11-01\n";
    store
        .create_upload(&kohvik, "admin", &upload, file, 0)
        .await
        .unwrap();
    store
        .record_events(
            &webhook.id,
            &[(response.to_string(), WebhookEvent::Response)],
            1,
            now,
            // Due tomorrow, so that the server's dispatcher leaves it as it is meanwhile.
            now + 86_400_000,
        )
        .await
        .unwrap();
    let delivery = store.deliveries(&kohvik, 10).await.unwrap().remove(0).id;
    let named = AdminToken::generate();
    let token_id = store
        .create_token(&kohvik, "help desk", &named.hash(), now)
        .await
        .unwrap();
    let draft = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&SurveyDefinition::default()).unwrap());

    let (base, _stop) = serve(store.clone()).await;
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let fill = |path: &str| {
        path.replace("{site_id}", kohvik.as_str())
            .replace("{previewed}", kohvik.as_str())
            .replace("{response_id}", &response.to_string())
            .replace("{webhook_id}", &webhook.id)
            .replace("{delivery_id}", &delivery)
            .replace("{token_id}", &token_id)
            .replace("{owner_id}", &member.owner_id)
            .replace("{draft}", &draft)
            .replace("{lang}", "et")
            .replace("{import_id}", UPLOAD)
            .replace("{category}", "detractor")
            .replace("{term}", "kohv")
    };
    let before = snapshot(store.as_ref(), &kohvik).await;

    // The console, as each account. Forms carry the account's own CSRF token, so a route
    // without the site check would act; the admin's carry a wrong one, so they reach the
    // handler's own checks and still change nothing.
    let console = |who: &Account, method: Method, path: &str, csrf: &str| {
        let form = [
            ("csrf", csrf),
            ("status", "resolved"),
            ("notes", "seen"),
            ("url", "https://hooks.example/other"),
            ("format", "json"),
            ("response", "on"),
            ("name", "Taken over"),
            ("origins", "https://attacker.example"),
            ("sample_percent", "100"),
            ("cooldown_days", "0"),
            ("retention_days", "1"),
            ("confirm", "Kohvik"),
        ];
        let request = http
            .request(method.clone(), format!("{base}{}", fill(path)))
            .header("cookie", &who.cookie)
            .header("sec-fetch-site", "same-origin");
        let request = if method == Method::POST {
            request.form(&form)
        } else {
            request
        };
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.text().await.unwrap_or_default())
        }
    };
    let mut walked = 0;
    for (path, _) in &soovita_server::console::ROUTES {
        if !path.contains("{site_id}") {
            continue;
        }
        for method in [Method::GET, Method::POST] {
            let (status, _) = console(&admin, method.clone(), path, "not the token").await;
            if status == StatusCode::METHOD_NOT_ALLOWED {
                continue;
            }
            walked += 1;
            let route = format!("{method} {path}");
            assert!(
                !matches!(status, StatusCode::NOT_FOUND) && status != StatusCode::FORBIDDEN
                    || method == Method::POST && status == StatusCode::FORBIDDEN,
                "{route}: the site's admin got {status}, so the ids filled in are wrong"
            );
            let (status, body) = console(&outsider, method.clone(), path, &outsider.csrf).await;
            let unknown = path.replace("{site_id}", SiteId::generate().as_str());
            let (unknown_status, unknown_body) =
                console(&outsider, method.clone(), &unknown, &outsider.csrf).await;
            assert_eq!(
                (status, body.as_str()),
                (StatusCode::NOT_FOUND, unknown_body.as_str()),
                "{route} as an account of another site: must answer as for an unknown site"
            );
            assert!(body.contains("No such site"), "{route}: {body}");
            assert_eq!(unknown_status, StatusCode::NOT_FOUND);
            // A member's own token where the member may not act, a wrong one where it may (its
            // forms there reach the handler's CSRF check and change nothing).
            let allowed = MEMBERS_MAY.contains(path);
            let csrf = if allowed {
                "not the token"
            } else {
                &member.csrf
            };
            let (status, body) = console(&member, method.clone(), path, csrf).await;
            if allowed {
                assert_ne!(status, StatusCode::NOT_FOUND, "{route} as a member: {body}");
                assert!(!body.contains("needs the admin role"), "{route}: {body}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{route} as a member: {body}");
                assert!(body.contains("needs the admin role"), "{route}: {body}");
            }
            assert_eq!(
                snapshot(store.as_ref(), &kohvik).await,
                before,
                "{route} changed the site for someone who may not change it"
            );
        }
    }
    assert!(walked >= 26, "walked only {walked} console routes");

    // The site list shows an account its own sites only.
    let (_, list) = console(&outsider, Method::GET, "/console", "").await;
    assert!(list.contains("Pood") && !list.contains("Kohvik"), "{list}");

    // The admin API with another site's token.
    let mut walked = 0;
    for path in soovita_server::routes::PATHS {
        if !path.contains("{site_id}") {
            continue;
        }
        for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
            if PUBLIC.contains(&(method.as_str(), path)) {
                continue;
            }
            let response = http
                .request(method.clone(), format!("{base}{}", fill(path)))
                .bearer_auth(&pood_registered.admin_token)
                .header("content-type", "application/json")
                .body(r#"{"status": "resolved", "email": "visitor@example.com"}"#)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body = response.text().await.unwrap();
            if status == StatusCode::METHOD_NOT_ALLOWED {
                continue;
            }
            walked += 1;
            assert!(
                status == StatusCode::FORBIDDEN && body.contains("wrong_token")
                    || status == StatusCode::BAD_REQUEST,
                "{method} {path} with another site's token: {status} {body}"
            );
        }
    }
    assert!(walked >= 10, "walked only {walked} API routes");
    assert_eq!(snapshot(store.as_ref(), &kohvik).await, before);

    // A named token opens the site's API, its own only, until it is revoked.
    let results = |site: &str, token: &str| {
        http.get(format!("{base}/v1/sites/{site}/results"))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(
        results(kohvik.as_str(), named.reveal())
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        results(pood.as_str(), named.reveal())
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let today = soovita_server::clock::now_ms().div_euclid(86_400_000);
    assert_eq!(
        store.tokens(&kohvik).await.unwrap()[0].last_used_day,
        Some(today)
    );
    assert!(store.revoke_token(&kohvik, &token_id).await.unwrap());
    let revoked = results(kohvik.as_str(), named.reveal()).await.unwrap();
    assert_eq!(revoked.status(), StatusCode::FORBIDDEN);
    assert!(revoked.text().await.unwrap().contains("wrong_token"));
}

/// `soovita owner add --site --role`, `owner delete` and `site rotate-token`, as an operator
/// runs them.
#[tokio::test]
async fn the_command_line_gives_memberships_takes_accounts_away_and_rotates_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/cli.db", dir.path().display());
    let soovita = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_soovita"))
            .args(args)
            .args(["--database", &database])
            .env("SOOVITA_OWNER_PASSWORD", "correct horse battery")
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        (output.status.success(), said)
    };
    let (ok, said) = soovita(&[
        "site",
        "add",
        "--name",
        "Kohvik",
        "--origin",
        "https://k.ee",
    ]);
    assert!(ok, "{said}");
    let first: serde_json::Value = serde_json::from_str(&said).unwrap();
    let site_id = first["site_id"].as_str().unwrap().to_owned();

    let (ok, said) = soovita(&["owner", "add", "--email", "anu@k.ee"]);
    assert!(ok && said.contains("sees no site"), "{said}");
    let (ok, said) = soovita(&[
        "owner", "add", "--email", "anu@k.ee", "--site", &site_id, "--role", "member",
    ]);
    assert!(ok && said.contains("member role"), "{said}");
    let (ok, said) = soovita(&[
        "owner", "add", "--email", "anu@k.ee", "--site", &site_id, "--role", "owner",
    ]);
    assert!(!ok && said.contains("use admin or member"), "{said}");
    let (ok, said) = soovita(&["owner", "add", "--email", "anu@k.ee", "--site", &site_id]);
    assert!(!ok && said.contains("--role"), "{said}");

    let (ok, said) = soovita(&["site", "rotate-token", "--id", &site_id]);
    assert!(ok, "{said}");
    let rotated: serde_json::Value = serde_json::from_str(&said).unwrap();
    assert_eq!(rotated["site_id"], first["site_id"]);
    assert_ne!(rotated["admin_token"], first["admin_token"]);

    let store = store::open(&database).await.unwrap();
    let site = SiteId::parse(&site_id).unwrap();
    let stored = store.site(&site).await.unwrap().unwrap();
    assert!(stored
        .admin_token_hash
        .matches(rotated["admin_token"].as_str().unwrap()));
    assert!(!stored
        .admin_token_hash
        .matches(first["admin_token"].as_str().unwrap()));
    let anu = store.owner_by_email("anu@k.ee").await.unwrap().unwrap();
    assert_eq!(
        store.role(&anu.id, &site).await.unwrap(),
        Some(Role::Member)
    );
    drop(store);

    let (ok, said) = soovita(&["owner", "delete", "--email", "Anu@K.ee"]);
    assert!(ok, "{said}");
    let (ok, said) = soovita(&["owner", "delete", "--email", "anu@k.ee"]);
    assert!(!ok && said.contains("no owner account"), "{said}");
    let (ok, said) = soovita(&[
        "site",
        "rotate-token",
        "--id",
        "0123456789abcdef0123456789abcdef",
    ]);
    assert!(!ok && said.contains("no site"), "{said}");
}

/// An admin invites a teammate by link; the link makes the account, signs it in as a member of
/// that site only, and works once. The last admin can neither leave nor be demoted.
#[tokio::test]
async fn an_invitation_link_makes_a_member_once_and_a_site_keeps_an_admin() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&format!("sqlite://{}/test.db", dir.path().display()))
        .await
        .unwrap();
    let (_, kohvik) = site(store.as_ref(), "Kohvik").await;
    let admin = account(store.as_ref(), "anu@kohvik.ee", &kohvik, Role::Admin).await;
    let (base, _stop) = serve(store.clone()).await;
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |path: String, cookie: Option<&str>, form: Vec<(&str, &str)>| {
        let mut request = http
            .post(format!("{base}{path}"))
            .header("sec-fetch-site", "same-origin")
            .form(&form);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let location = response
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            let cookie = response
                .headers()
                .get("set-cookie")
                .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned());
            (status, response.text().await.unwrap(), location, cookie)
        }
    };
    let members = format!("/console/sites/{kohvik}/members");

    let (status, page, _, _) = post(
        members.clone(),
        Some(&admin.cookie),
        vec![
            ("csrf", &admin.csrf),
            ("email", "not an address"),
            ("role", "member"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("is not an email address"));

    let (status, page, _, _) = post(
        members.clone(),
        Some(&admin.cookie),
        vec![
            ("csrf", &admin.csrf),
            ("email", "Mari@Kohvik.ee"),
            ("role", "member"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let link = page
        .split("<code>")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .unwrap()
        .to_owned();
    let path = link
        .strip_prefix(&base)
        .expect("the link points at this server")
        .to_owned();
    let invited = http.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(
        invited.contains("mari@kohvik.ee") && invited.contains("Make my account"),
        "{invited}"
    );

    let (status, page, _, _) = post(path.clone(), None, vec![("password", "short")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("characters or more"), "{page}");
    let (status, _, location, cookie) = post(
        path.clone(),
        None,
        vec![("password", "a long enough password")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some(format!("/console/sites/{kohvik}").as_str())
    );
    let mari = store
        .owner_by_email("mari@kohvik.ee")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.role(&mari.id, &kohvik).await.unwrap(),
        Some(Role::Member)
    );
    let dashboard = http
        .get(format!("{base}/console/sites/{kohvik}"))
        .header("cookie", cookie.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        dashboard.status(),
        StatusCode::OK,
        "the new member is signed in"
    );

    let (status, page, _, _) = post(path, None, vec![("password", "a long enough password")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a link works once");
    assert!(page.contains("no longer works"));

    // The last admin can neither step down nor leave; with a second admin, it can.
    let own = format!("{members}/{}", admin.owner_id);
    for role in ["member", "remove"] {
        let (status, page, _, _) = post(
            own.clone(),
            Some(&admin.cookie),
            vec![("csrf", &admin.csrf), ("role", role)],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{role}: {page}");
        assert!(page.contains("at least one admin"));
    }
    assert_eq!(
        store.role(&admin.owner_id, &kohvik).await.unwrap(),
        Some(Role::Admin)
    );
    let (status, _, _, _) = post(
        format!("{members}/{}", mari.id),
        Some(&admin.cookie),
        vec![("csrf", &admin.csrf), ("role", "admin")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, location, _) = post(
        own,
        Some(&admin.cookie),
        vec![("csrf", &admin.csrf), ("role", "remove")],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console"))
    );
    assert_eq!(store.role(&admin.owner_id, &kohvik).await.unwrap(), None);
}
