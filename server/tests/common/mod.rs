//! Helpers shared by the integration tests: throw-away PostgreSQL databases and real
//! `soovita` processes.
#![allow(dead_code)] // Each test file uses its own subset.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use soovita_server::domain::{Comment, ResponseId, Score};
use soovita_server::responses::ResponseUpdate;

/// A database of its own for one test run, dropped (with its connections) afterwards.
pub struct ThrowawayPostgres {
    admin_url: String,
    name: String,
    pub url: String,
}

impl ThrowawayPostgres {
    pub async fn create(admin_url: &str) -> Self {
        use sqlx::Connection;
        let name = format!("soovita_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(admin_url)
            .await
            .expect("PostgreSQL is reachable");
        // The name is ours (hex from a UUID), so formatting it into SQL is safe.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let mut url = url::Url::parse(admin_url).unwrap();
        url.set_path(&name);
        Self {
            admin_url: admin_url.to_owned(),
            name,
            url: url.to_string(),
        }
    }
}

impl ThrowawayPostgres {
    /// Drops the database now, cutting off everyone connected to it: a storage outage.
    pub async fn drop_now(&self) {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&self.admin_url).await.unwrap();
        let drop = format!("DROP DATABASE {} WITH (FORCE)", self.name);
        sqlx::query(sqlx::AssertSqlSafe(drop))
            .execute(&mut admin)
            .await
            .unwrap();
    }
}

impl Drop for ThrowawayPostgres {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop cannot await, and the test's runtime may be shutting down: use a runtime of its own.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(async move {
                    use sqlx::Connection;
                    let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await?;
                    Ok::<_, sqlx::Error>(())
                })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {dropped:?}", self.name);
        }
    }
}

/// `scripts/test` installs and starts PostgreSQL and sets this variable; CI must not skip.
pub fn postgres_admin_url() -> Option<String> {
    let url = std::env::var("SOOVITA_TEST_POSTGRES").ok();
    if url.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the PostgreSQL suite: set SOOVITA_TEST_POSTGRES (scripts/test does)"
        );
        eprintln!("skipped: SOOVITA_TEST_POSTGRES is not set; scripts/test sets it after starting PostgreSQL");
    }
    url
}

/// A `soovita serve` process on a random port; killed with SIGKILL when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub url: String,
}

impl ServerProcess {
    pub fn start(database: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_soovita"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
            // These tests are the load; the limits are tested in api.rs.
            .args([
                "--rate-per-client",
                "1000000000",
                "--rate-per-site",
                "1000000000",
            ])
            .env("SOOVITA_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("the soovita binary starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .rsplit(' ')
            .next()
            .expect("soovita prints its address")
            .to_owned();
        assert!(url.starts_with("http://"), "unexpected first line {line:?}");
        Self { child, url }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Registers a site through the command line; returns (site_id, admin_token).
pub fn add_site(database: &str, origin: &str) -> (String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_soovita"))
        .args([
            "site",
            "add",
            "--name",
            "Shop",
            "--origin",
            origin,
            "--database",
            database,
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let site: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    (
        site["site_id"].as_str().unwrap().to_owned(),
        site["admin_token"].as_str().unwrap().to_owned(),
    )
}

/// What the tests send as `User-Agent`: bots' answers are not stored.
pub const BROWSER: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";

/// An HTTP client that looks like a visitor's browser.
pub fn browser_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(BROWSER)
        .build()
        .unwrap()
}

/// Every response id the admin export lists.
pub async fn exported_ids(url: &str, site_id: &str, token: &str) -> Vec<String> {
    let rows: Vec<soovita_wire::ExportedResponse> = reqwest::Client::new()
        .get(format!("{url}/v1/sites/{site_id}/responses"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    rows.into_iter().map(|row| row.response_id).collect()
}

/// A response with only a score (and maybe a comment), as the first step of the widget sends.
pub fn update(id: &str, score: i32, comment: Option<&str>) -> ResponseUpdate {
    ResponseUpdate {
        id: ResponseId::parse(id).unwrap(),
        score: Score::try_from(score).unwrap(),
        comment: Comment::parse(comment.map(str::to_owned)).unwrap(),
        survey_version: 1,
        lang: None,
        statements: Vec::new(),
        effort: None,
        effort_drivers: None,
        contact_consent: None,
        email: None,
        page_path: None,
        page_query: None,
        referrer: None,
        device: None,
        utm: None,
        attributes: None,
    }
}

/// A store on a database of its own on the test PostgreSQL server, kept while the returned
/// database lives; `None` (the test skips, saying why) without one.
pub async fn postgres_store() -> Option<(
    std::sync::Arc<dyn soovita_server::store::Store>,
    ThrowawayPostgres,
)> {
    let admin_url = postgres_admin_url()?;
    let database = ThrowawayPostgres::create(&admin_url).await;
    let store = soovita_server::store::open(&database.url).await.unwrap();
    Some((store, database))
}

/// Registers the café site the mail, closing-the-loop and import tests use: pages on
/// https://kohvik.ee, everyone asked, responses kept two years.
pub async fn kohvik(store: &dyn soovita_server::store::Store) -> soovita_server::domain::SiteId {
    let registered = soovita_server::sites::register(
        store,
        soovita_server::sites::SiteSettings {
            name: "Kohvik",
            origins: &["https://kohvik.ee".to_owned()],
            sample_percent: 100,
            cooldown_days: 0,
            retention_days: 730,
            honor_do_not_track: false,
        },
    )
    .await
    .unwrap();
    soovita_server::domain::SiteId::parse(&registered.site_id).unwrap()
}
