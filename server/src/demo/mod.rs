//! `soovita demo`: the API plus a shop page on a second origin that embeds the widget, and a
//! demo site with a history (`seed.rs`) and two accounts, an admin and a member.

mod seed;

use std::sync::Arc;

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use soovita_wire::{Category, Reward, SurveyDefinition};

use crate::accounts::{Owner, Role};
use crate::config::DemoArgs;
use crate::domain::SiteId;
use crate::sites::{register_or_refresh, SiteSettings};
use crate::store::{self, prelude::*};

#[derive(rust_embed::Embed)]
#[folder = "../www/demo/"]
struct DemoPages;

/// The name the demo site is found by on the next run.
const DEMO_SITE_NAME: &str = "Kohvik Soovita";

/// The console account the demo signs in with.
pub const DEMO_OWNER_EMAIL: &str = "demo@soovita.local";

/// The demo's second account, a member of the demo site: results and inbox, no set-up.
pub const DEMO_MEMBER_EMAIL: &str = "member@soovita.local";

/// An account of the demo with `role` on its site, and its password, new every run: the demo's
/// database may outlive the terminal that showed the last one.
async fn demo_account(
    store: &dyn Store,
    email: &str,
    site: &SiteId,
    role: Role,
) -> anyhow::Result<String> {
    let password = crate::accounts::random_hex::<10>();
    let owner = Owner::new(email, &password);
    if !store
        .set_password(&owner.email, &owner.password_hash)
        .await?
    {
        store.create_owner(&owner, crate::clock::now_ms()).await?;
    }
    let id = store
        .owner_by_email(email)
        .await?
        .map(|owner| owner.id)
        .ok_or_else(|| anyhow::anyhow!("the demo account {email} was just saved"))?;
    store
        .set_role(&id, site, role, crate::clock::now_ms())
        .await?;
    Ok(password)
}

/// The demo survey asks everything the loyalty flow has: three statements, effort and contact
/// for detractors and passives, and a coupon for everyone who finishes.
fn demo_survey() -> SurveyDefinition {
    SurveyDefinition {
        statements_per_visitor: 3,
        effort: vec![Category::Detractor, Category::Passive],
        reward: Some(Reward::Coupon {
            code: "AITAH10".into(),
        }),
        ..SurveyDefinition::default()
    }
}

/// Saves the demo survey as a new version unless it is already the current one.
async fn show_every_step(store: &dyn Store, site_id: &str) -> anyhow::Result<()> {
    let id = SiteId::parse(site_id)?;
    let current = store
        .site(&id)
        .await?
        .map(|site| site.survey.definition.clone());
    if current != Some(demo_survey()) {
        store
            .save_survey(&id, &demo_survey(), crate::clock::now_ms())
            .await?;
    }
    Ok(())
}

/// Runs the demo until Ctrl-C.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let store = store::open(&args.database.url).await?;
    let api = TcpListener::bind(args.listen).await?;
    let page = TcpListener::bind(args.demo_listen).await?;
    let api_url = format!("http://{}", api.local_addr()?);
    let page_port = page.local_addr()?.port();
    // Browsers treat these as two origins; the demo page may be opened under either.
    let origins = [
        format!("http://127.0.0.1:{page_port}"),
        format!("http://localhost:{page_port}"),
    ];
    let site = register_or_refresh(
        store.as_ref(),
        SiteSettings {
            name: DEMO_SITE_NAME,
            origins: &origins,
            sample_percent: 100,
            cooldown_days: 0,
            retention_days: 730,
            honor_do_not_track: false,
        },
    )
    .await?;
    show_every_step(store.as_ref(), &site.site_id).await?;
    let site_id = SiteId::parse(&site.site_id)?;
    let admin_password =
        demo_account(store.as_ref(), DEMO_OWNER_EMAIL, &site_id, Role::Admin).await?;
    let member_password =
        demo_account(store.as_ref(), DEMO_MEMBER_EMAIL, &site_id, Role::Member).await?;
    let started = std::time::Instant::now();
    let seeded = seed::seed(store.clone(), &site_id, crate::clock::now_ms()).await?;
    if seeded > 0 {
        println!(
            "Seeded the demo site with {seeded} responses over the last 180 days in {:.1} s.",
            started.elapsed().as_secs_f64()
        );
    }

    let template = DemoPages::get("index.html").expect("www/demo/index.html is embedded");
    let snippet = format!(
        r#"<script src="{api_url}/widget.js" data-site="{}" async></script>"#,
        site.site_id
    );
    let html = String::from_utf8_lossy(&template.data).replace("<!-- soovita -->", &snippet);
    let html = Arc::new(html);
    let pages = Router::new().route(
        "/",
        get(move || async move { Html(html.as_str().to_owned()) }),
    );
    tokio::spawn(async move { axum::serve(page, pages).await });

    println!("Soovita demo is running.");
    println!("  Demo shop page (embeds the widget): http://127.0.0.1:{page_port}/");
    println!("  API and widget:                     {api_url}/widget.js");
    println!("  Demo site id:                       {}", site.site_id);
    println!("  Site owners' console:               {api_url}/console");
    println!("    sign in as {DEMO_OWNER_EMAIL} (admin) with password {admin_password}");
    println!("    or as {DEMO_MEMBER_EMAIL} (member) with password {member_password}");
    println!("  Read the answers:");
    println!(
        "    curl -H 'Authorization: Bearer {}' '{api_url}/v1/sites/{}/responses?format=csv'",
        site.admin_token, site.site_id
    );
    println!("Press Ctrl-C to stop.");
    crate::app::serve(
        api,
        store,
        crate::app::ServeOptions::default(),
        crate::app::shutdown_signal(),
    )
    .await?;
    Ok(())
}
