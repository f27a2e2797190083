//! The `soovita` command line.

use std::time::Duration;

use clap::Parser;
use soovita_server::accounts::{normalize_email, password_or_generated, Owner};
use std::fs::File;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use soovita_server::config::{
    Cli, Command, ImportArgs, OwnerAddArgs, OwnerArgs, OwnerCommand, SiteCommand,
};
use soovita_server::domain::SiteId;
use soovita_server::imports::{self, Format, ImportError, Mapping, Opener, Options, Target};
use soovita_server::ingest::rate_limit::RateLimitConfig;
use soovita_server::mail::MailOptions;
use soovita_server::sites::{register, rotate_token, SiteSettings};
use soovita_server::webhooks::WebhookOptions;
use soovita_server::{clock, demo, serve, shutdown_signal, store, ServeOptions};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

// glibc's allocator spent a sixth of the ingest benchmark's CPU in its own bookkeeping
// (consolidating and unlinking free chunks), as buffers allocated on one thread are freed on
// another; mimalloc's per-thread free lists do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("SOOVITA_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => {
            let store = store::open(&args.database.url).await?;
            let listener = TcpListener::bind(args.listen).await?;
            // Tests and scripts read this line to learn the port when --listen ends in :0.
            println!("soovita listening on http://{}", listener.local_addr()?);
            let options = ServeOptions {
                rate_limits: RateLimitConfig {
                    per_client_per_minute: args.rate_per_client,
                    per_site_per_second: args.rate_per_site,
                    trusted_proxies: args.trusted_proxies,
                },
                bench_parse_only: args.bench_parse_only,
                connections: soovita_server::http::ConnectionLimits {
                    total: args.max_connections,
                    per_client: args.max_connections_per_client,
                    trusted_proxies: Vec::new(),
                },
                metrics_token: args.metrics_token,
                mail: match (&args.smtp_url, &args.mail_from, &args.console_url) {
                    (Some(url), Some(from), None) => Some(MailOptions::new(url, from)?),
                    (Some(url), Some(from), Some(console)) => {
                        Some(MailOptions::new(url, from)?.with_console_url(console)?)
                    }
                    _ => None,
                },
                webhooks: WebhookOptions {
                    settle: Duration::from_secs(args.webhook_settle_seconds),
                    allow_private: args.webhook_allow_private,
                    ..WebhookOptions::default()
                },
                ..ServeOptions::default()
            };
            serve(listener, store, options, shutdown_signal()).await?;
        }
        Command::Site(SiteCommand::Add(args)) => {
            let store = store::open(&args.database.url).await?;
            let settings = SiteSettings {
                name: &args.name,
                origins: &args.origins,
                sample_percent: args.sample_percent,
                cooldown_days: args.cooldown_days,
                retention_days: args.retention_days,
                honor_do_not_track: args.honor_do_not_track,
            };
            let registered = register(store.as_ref(), settings).await?;
            println!("{}", serde_json::to_string_pretty(&registered)?);
        }
        Command::Site(SiteCommand::Delete(args)) => {
            let id = SiteId::parse(&args.id)?;
            let store = store::open(&args.database.url).await?;
            anyhow::ensure!(store.delete_site(&id).await?, "no site with id {id}");
            println!("deleted site {id} and all its responses");
        }
        Command::Site(SiteCommand::RotateToken(args)) => {
            let id = SiteId::parse(&args.id)?;
            let store = store::open(&args.database.url).await?;
            let rotated = rotate_token(store.as_ref(), &id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no site with id {id}"))?;
            println!("{}", serde_json::to_string_pretty(&rotated)?);
        }
        Command::Owner(OwnerCommand::Add(args)) => add_owner(args).await?,
        Command::Owner(OwnerCommand::Delete(args)) => {
            let store = store::open(&args.database.url).await?;
            let email = normalize_email(&args.email);
            anyhow::ensure!(
                store.delete_owner(&email).await?,
                "no owner account for {email}"
            );
            println!("deleted the account of {email}; its sites stay");
        }
        Command::Owner(OwnerCommand::ResetPassword(args)) => {
            let (owner, generated) = owner_from(&args)?;
            let store = store::open(&args.database.url).await?;
            anyhow::ensure!(
                store
                    .set_password(&owner.email, &owner.password_hash)
                    .await?,
                "no owner account for {}; create one with `soovita owner add`",
                owner.email
            );
            println!("owner {} has a new password{generated}", owner.email);
        }
        Command::Demo(args) => demo::run(args).await?,
        Command::Import(args) => import(args).await?,
    }
    Ok(())
}

/// `soovita owner add`: a new account, or with `--site` a membership for a new or existing one.
async fn add_owner(args: OwnerAddArgs) -> anyhow::Result<()> {
    let store = store::open(&args.owner.database.url).await?;
    let site = match &args.site {
        Some(site) => {
            let id = SiteId::parse(site)?;
            anyhow::ensure!(store.site(&id).await?.is_some(), "no site with id {id}");
            Some(id)
        }
        None => None,
    };
    let email = normalize_email(&args.owner.email);
    let owner = match store.owner_by_email(&email).await? {
        // With a site, an existing account gets the membership; without one, adding it again
        // is a mistake the store refuses.
        Some(owner) if site.is_some() => owner,
        _ => {
            let (owner, generated) = owner_from(&args.owner)?;
            store.create_owner(&owner, clock::now_ms()).await?;
            println!("owner {} can sign in at /console{generated}", owner.email);
            owner
        }
    };
    match (site, args.role) {
        (Some(site), Some(role)) => {
            store
                .set_role(&owner.id, &site, role, clock::now_ms())
                .await?;
            println!(
                "owner {} has the {} role on site {site}",
                owner.email,
                role.as_str()
            );
        }
        _ => println!(
            "it sees no site until it is given a membership: \
             soovita owner add --email {} --site SITE_ID --role admin|member",
            owner.email
        ),
    }
    Ok(())
}

/// The account `args` describe, and ", with password …" when the password was generated (one
/// given on the command line or in the environment is not echoed).
fn owner_from(args: &OwnerArgs) -> anyhow::Result<(Owner, String)> {
    anyhow::ensure!(
        soovita_wire::is_valid_email(args.email.trim()),
        "{:?} is not an email address",
        args.email
    );
    anyhow::ensure!(
        args.password_on_command_line.is_none(),
        "--password would show in ps and in the shell's history: set SOOVITA_OWNER_PASSWORD \
         instead, or leave it out to have a password generated and printed"
    );
    let password = password_or_generated(args.password.clone()).map_err(anyhow::Error::msg)?;
    let shown = if args.password.is_none() {
        format!(", with password {password}")
    } else {
        String::new()
    };
    Ok((Owner::new(&args.email, &password), shown))
}

/// `soovita import`: the file opened for each pass with a progress bar on the terminal (hidden
/// by indicatif when standard error is not one), and the report printed.
async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let site = SiteId::parse(&args.site)?;
    let store = store::open_for_import(&args.database.url).await?;
    let site = store
        .site(&site)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no site with id {site}"))?;
    let target = Target::for_site(&site, clock::now_ms());
    let format = match args.format.as_str() {
        "soovita" => Format::Soovita,
        "delighted" => Format::Delighted,
        _ => Format::Csv(Mapping {
            score: args.score_column.unwrap_or_default(),
            time: args.time_column.unwrap_or_default(),
            comment: args.comment_column,
            email: args.email_column,
            id: args.id_column,
            lang: args.lang_column,
            attributes: args.attribute_columns,
        }),
    };
    let size = std::fs::metadata(&args.file)
        .map_err(|error| anyhow::anyhow!("{}: {error}", args.file.display()))?
        .len();
    let path = args.file.clone();
    let passes = Arc::new(AtomicUsize::new(0));
    let open: Opener = Arc::new(move || {
        let pass = passes.fetch_add(1, Ordering::Relaxed);
        // Hidden by indicatif itself when standard error is not a terminal.
        let bar = ProgressBar::new(size).with_style(
            ProgressStyle::with_template("{msg:10} {wide_bar} {bytes}/{total_bytes} {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(if pass == 0 { "checking" } else { "importing" });
        Ok(Box::new(bar.wrap_read(File::open(&path)?)) as Box<dyn std::io::Read + Send>)
    });
    let options = Options {
        skip_invalid: args.skip_invalid,
        dry_run: args.dry_run,
        delimiter: args.delimiter,
    };
    let report = imports::import(store.clone(), &target, &format, open, &options, None)
        .await
        .map_err(|error| match error {
            ImportError::File(error) => anyhow::anyhow!("{}: {error}", args.file.display()),
            ImportError::Store(error) => anyhow::anyhow!(error),
        })?;
    println!("{}", report.summary(&options));
    anyhow::ensure!(
        report.written || options.dry_run || options.skip_invalid || report.refused == 0,
        "nothing was written: fix the refused rows, or give --skip-invalid to import the others"
    );
    Ok(())
}
