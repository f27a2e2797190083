//! The command line and environment: every setting the binary reads, in one place.

use std::net::SocketAddr;
use std::num::NonZeroU32;

use clap::{Args, Parser, Subcommand};

use crate::accounts::Role;

/// Soovita: a self-hosted Net Promoter Score widget and its ingestion server.
#[derive(Parser, Debug)]
#[command(name = "soovita", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serves the widget, the ingest endpoints and the admin API.
    Serve(ServeArgs),
    /// Manages sites.
    #[command(subcommand)]
    Site(SiteCommand),
    /// Manages the accounts that sign in to the console.
    #[command(subcommand)]
    Owner(OwnerCommand),
    /// Serves the API and a demo shop page on a second origin, with a ready demo site.
    Demo(DemoArgs),
    /// Brings responses in from a file: Soovita's own export, Delighted's, or any CSV. The file
    /// is checked whole first; with a refused row nothing is written (unless --skip-invalid).
    Import(ImportArgs),
}

/// Settings of `soovita import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The site the responses go to.
    #[arg(long)]
    pub site: String,
    /// soovita (its own CSV or JSON export), delighted (Delighted's CSV export of responses) or
    /// csv (any CSV with a header row, read through the --…-column flags).
    #[arg(long, value_parser = ["soovita", "delighted", "csv"])]
    pub format: String,
    /// The file to read.
    pub file: std::path::PathBuf,
    /// Imports the good rows of a file with refused ones, instead of nothing.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Checks the file and says what would be added, already there and refused; writes nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The character between fields.
    #[arg(long, default_value = ",", value_parser = crate::imports::delimiter)]
    pub delimiter: u8,
    /// csv: the column with the 0–10 score.
    #[arg(long, required_if_eq("format", "csv"))]
    pub score_column: Option<String>,
    /// csv: the column with the response's time (RFC 3339, "YYYY-MM-DD HH:MM:SS" in UTC, a
    /// date, or Unix seconds).
    #[arg(long, required_if_eq("format", "csv"))]
    pub time_column: Option<String>,
    /// csv: the column with the comment.
    #[arg(long)]
    pub comment_column: Option<String>,
    /// csv: the column with an email address, kept as an address the visitor agreed to be
    /// contacted at.
    #[arg(long)]
    pub email_column: Option<String>,
    /// csv: the column with the source's own response id (a second import of the file then
    /// finds its rows by it; without one, by their content).
    #[arg(long)]
    pub id_column: Option<String>,
    /// csv: the column with a language code of the card (et, de, …).
    #[arg(long)]
    pub lang_column: Option<String>,
    /// csv: a column to keep as an attribute (repeatable).
    #[arg(long = "attribute-column")]
    pub attribute_columns: Vec<String>,
    /// Where the data lives.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// `soovita owner …`.
#[derive(Subcommand, Debug)]
pub enum OwnerCommand {
    /// Creates an account that can sign in to the console at /console. It sees no site until
    /// it is given a membership: with --site and --role here (also for an existing account),
    /// or in the console by a site's admin.
    Add(OwnerAddArgs),
    /// Gives an account a new password and signs it out everywhere.
    ResetPassword(OwnerArgs),
    /// Deletes an account, its sessions and its memberships; its sites stay.
    Delete(OwnerDeleteArgs),
}

/// Settings of `soovita owner add`.
#[derive(Args, Debug)]
pub struct OwnerAddArgs {
    #[command(flatten)]
    pub owner: OwnerArgs,
    /// A site the account becomes a member of.
    #[arg(long, requires = "role")]
    pub site: Option<String>,
    /// Its role there: admin (everything on the site) or member (results, exports, inbox).
    #[arg(long, requires = "site", value_parser = parse_role)]
    pub role: Option<Role>,
}

fn parse_role(name: &str) -> Result<Role, String> {
    Role::parse(name).ok_or_else(|| format!("{name:?} is not a role: use admin or member"))
}

/// Settings of `soovita owner delete`.
#[derive(Args, Debug)]
pub struct OwnerDeleteArgs {
    #[arg(long)]
    pub email: String,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Whose account, and its password.
#[derive(Args, Debug)]
pub struct OwnerArgs {
    /// The email address the owner signs in with.
    #[arg(long)]
    pub email: String,
    /// The password (at least 12 characters), from the environment only: on the command line
    /// it would show in `ps` and the shell's history. Without it one is generated and printed.
    #[arg(skip = std::env::var("SOOVITA_OWNER_PASSWORD").ok())]
    pub password: Option<String>,
    /// Refused with a message saying where the password goes instead.
    #[arg(long = "password", hide = true, value_name = "REFUSED")]
    pub password_on_command_line: Option<String>,
    /// Where the data lives.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Where the data lives.
#[derive(Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// The database: sqlite://PATH (created if missing).
    #[arg(
        long = "database",
        env = "SOOVITA_DATABASE",
        default_value = "sqlite://data/soovita.db"
    )]
    pub url: String,
}

/// Settings of `soovita serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The address to listen on; port 0 picks a free port and prints it.
    #[arg(long, env = "SOOVITA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Where the data lives.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Answers one client address may post per minute.
    #[arg(long, env = "SOOVITA_RATE_PER_CLIENT", default_value = "120")]
    pub rate_per_client: NonZeroU32,
    /// Answers one site may receive per second.
    #[arg(long, env = "SOOVITA_RATE_PER_SITE", default_value = "500")]
    pub rate_per_site: NonZeroU32,
    /// A proxy (IP or CIDR) whose X-Forwarded-For is believed; repeatable, or comma-separated
    /// in the environment. Without one, the TCP peer is the client.
    #[arg(
        long = "trusted-proxy",
        env = "SOOVITA_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = crate::ingest::rate_limit::parse_trusted_proxy
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Seconds a response must go without a new answer before webhooks announce it, so the
    /// announcement carries the comment and contact details that follow the score.
    #[arg(long, env = "SOOVITA_WEBHOOK_SETTLE_SECONDS", default_value = "120")]
    pub webhook_settle_seconds: u64,
    /// Connections open at once, in all; past it a new one is answered 503. Keep it below the
    /// file-descriptor limit (`ulimit -n`).
    #[arg(long, env = "SOOVITA_MAX_CONNECTIONS", default_value = "8192")]
    pub max_connections: usize,
    /// Connections open at once from one client address (an IPv6 client by its /64); trusted
    /// proxies are exempt.
    #[arg(
        long,
        env = "SOOVITA_MAX_CONNECTIONS_PER_CLIENT",
        default_value = "256"
    )]
    pub max_connections_per_client: usize,
    /// Allows webhooks to loopback, private and other internal addresses, for a receiver on the
    /// same network. Off by default: anyone who may add a webhook could otherwise reach them.
    #[arg(long, env = "SOOVITA_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,
    /// A bearer token that GET /metrics then requires; without one, /metrics is open to all.
    #[arg(long, env = "SOOVITA_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// The SMTP server owners' replies go through: smtp://HOST:PORT, or with STARTTLS
    /// smtp://USER:PASSWORD@HOST:587?tls=required, or smtps://HOST:465. Without it mail is off
    /// and the inbox keeps its manual flow. The password is never logged or shown.
    #[arg(
        long,
        env = "SOOVITA_SMTP_URL",
        hide_env_values = true,
        requires = "mail_from"
    )]
    pub smtp_url: Option<String>,
    /// The sender of every message, e.g. "Kohvik <tere@kohvik.ee>"; replies go to the owner
    /// who wrote (Reply-To).
    #[arg(long, env = "SOOVITA_MAIL_FROM", requires = "smtp_url")]
    pub mail_from: Option<String>,
    /// This server's address as owners reach the console, e.g. https://feedback.kohvik.ee:
    /// the digest of overdue cases links to the inbox with it.
    #[arg(long, env = "SOOVITA_CONSOLE_URL", requires = "smtp_url")]
    pub console_url: Option<String>,
    /// Adds the parse-only baseline endpoint used by the ingest benchmark. Not for production.
    #[arg(long, hide = true)]
    pub bench_parse_only: bool,
}

/// `soovita site …`.
#[derive(Subcommand, Debug)]
pub enum SiteCommand {
    /// Registers a site and prints its id and one-time admin token as JSON.
    Add(SiteAddArgs),
    /// Deletes a site and every response it received.
    Delete(SiteDeleteArgs),
    /// Gives a site a new admin token, printed once as JSON; the old one stops working at once.
    RotateToken(SiteDeleteArgs),
}

/// Which site: settings of `soovita site delete` and `soovita site rotate-token`.
#[derive(Args, Debug)]
pub struct SiteDeleteArgs {
    /// The site's id.
    #[arg(long)]
    pub id: String,
    /// Where the data lives.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Settings of `soovita site add`.
#[derive(Args, Debug)]
pub struct SiteAddArgs {
    /// The name visitors see in the question.
    #[arg(long)]
    pub name: String,
    /// An origin whose pages may show the survey, e.g. https://shop.example (repeatable).
    #[arg(long = "origin", required = true)]
    pub origins: Vec<String>,
    /// The share of visitors, 0–100, who are offered the survey.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub sample_percent: u8,
    /// Days a visitor is left alone after seeing the survey.
    #[arg(long, default_value_t = 90)]
    pub cooldown_days: u16,
    /// Never ask visitors whose browser sends Do Not Track or Global Privacy Control.
    #[arg(long)]
    pub honor_do_not_track: bool,
    /// Days a response is kept; older ones are purged hourly.
    #[arg(long, default_value_t = 730, value_parser = clap::value_parser!(u16).range(1..))]
    pub retention_days: u16,
    /// Where the data lives.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Settings of `soovita demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// The address of the API and widget.
    #[arg(long, env = "SOOVITA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The address of the demo shop page: another port, so another origin.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub demo_listen: SocketAddr,
    /// Where the data lives.
    #[command(flatten)]
    pub database: DatabaseArgs,
}
