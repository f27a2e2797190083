//! Owners' replies by mail, against a real SMTP server (aiosmtpd with `tests/smtp/sink.py`,
//! installed by `scripts/setup test`): a reply arrives with the right headers, a permanent
//! refusal shows on the case with the server's words, and a server that is down is retried
//! until it is back, the message sent once.

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use soovita_server::accounts::{Owner, Role, Session};
use soovita_server::domain::{ResponseId, SiteId};
use soovita_server::inbox::FollowUpStatus;
use soovita_server::mail::{MailKind, MailOptions, MailStatus, OutgoingMail};
use soovita_server::store::{self, prelude::*};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

mod common;

/// Debian's interpreter, which has the python3-aiosmtpd package (a pyenv one may not).
const PYTHON: &str = "/usr/bin/python3";

fn aiosmtpd_available() -> bool {
    let found = Command::new(PYTHON)
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "aiosmtpd is missing under CI: scripts/setup test installs python3-aiosmtpd"
        );
        eprintln!("skipped: no aiosmtpd for {PYTHON}; run scripts/setup test to install it");
    }
    found
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running SMTP server writing what it accepts into a directory; stopped when dropped.
struct Sink {
    child: Child,
    dir: tempfile::TempDir,
}

impl Sink {
    fn start(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let handlers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/smtp");
        let child = Command::new(PYTHON)
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "sink.Sink",
            ])
            .arg(dir.path())
            .env("PYTHONPATH", handlers)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "aiosmtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, dir }
    }

    fn messages(&self) -> Vec<String> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|path| std::fs::read_to_string(path).unwrap())
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for `probe` to say yes, for at most 20 s: the sender runs on its own schedule.
async fn eventually<T>(mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "timed out");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Shop {
    base: String,
    store: Arc<dyn Store>,
    site: SiteId,
    cookie: String,
    csrf: String,
    http: Client,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

impl Shop {
    async fn start(smtp_port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = store::open(&format!("sqlite://{}/mail.db", dir.path().display()))
            .await
            .unwrap();
        let site = common::kohvik(store.as_ref()).await;
        let owner = Owner::new("anu@kohvik.ee", "correct horse battery");
        store.create_owner(&owner, 0).await.unwrap();
        store
            .set_role(&owner.id, &site, Role::Admin, 0)
            .await
            .unwrap();
        let (session, token) = Session::start(&owner, soovita_server::clock::now_ms());
        store.create_session(&session).await.unwrap();
        let mut mail = MailOptions::new(
            &format!("smtp://127.0.0.1:{smtp_port}"),
            "Kohvik <tere@kohvik.ee>",
        )
        .unwrap();
        (mail.tick, mail.first_retry) = (Duration::from_millis(50), Duration::from_millis(200));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(soovita_server::serve(
            listener,
            store.clone(),
            soovita_server::ServeOptions {
                mail: Some(mail),
                ..soovita_server::ServeOptions::default()
            },
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            base,
            store,
            site,
            cookie: format!("soovita_session={token}"),
            csrf: session.csrf_token,
            http: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            _stop: stop,
            _dir: dir,
        }
    }

    /// A detractor who agreed to be contacted at `email`.
    async fn case(&self, email: &str) -> ResponseId {
        let id = uuid::Uuid::new_v4().to_string();
        let mut update = common::update(&id, 3, Some("Kohv oli külm"));
        (update.contact_consent, update.email, update.lang) =
            (Some(true), Some(email.to_owned()), Some("et"));
        let now = soovita_server::clock::now_ms();
        self.store
            .upsert_response(&self.site, &update, now)
            .await
            .unwrap();
        ResponseId::parse(&id).unwrap()
    }

    /// Posts the composer at `step` (`preview` or `send`).
    async fn compose(&self, case: &ResponseId, step: &str, subject: &str) -> reqwest::Response {
        self.http
            .post(format!(
                "{}/console/sites/{}/inbox/{case}/thread",
                self.base, self.site
            ))
            .header("cookie", &self.cookie)
            .header("sec-fetch-site", "same-origin")
            .form(&[
                ("csrf", self.csrf.as_str()),
                ("step", step),
                ("subject", subject),
                ("body", "Vabandame! Saadame uue kohvi."),
            ])
            .send()
            .await
            .unwrap()
    }

    async fn reply(&self, case: &ResponseId, subject: &str) -> StatusCode {
        self.compose(case, "send", subject).await.status()
    }

    async fn status(&self, case: &ResponseId) -> (MailStatus, Option<String>) {
        let thread = self.store.thread(&self.site, case).await.unwrap();
        (thread[0].status, thread[0].error.clone())
    }
}

#[tokio::test]
async fn a_reply_reaches_the_visitor_and_a_refusal_shows_on_the_case() {
    if !aiosmtpd_available() {
        return;
    }
    let port = free_port();
    let sink = Sink::start(port);
    let shop = Shop::start(port).await;

    let case = shop.case("mari@example.com").await;
    // The composer starts from the default reply to a detractor, in the visitor's Estonian.
    let composer = shop
        .http
        .get(format!(
            "{}/console/sites/{}/inbox/{case}/thread",
            shop.base, shop.site
        ))
        .header("cookie", &shop.cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        composer.contains("value=\"Teie tagasiside Kohvik kohta\""),
        "{composer}"
    );
    assert!(composer.contains("Mul on kahju") && composer.contains("Kohv oli külm"));
    // Preview first: the message as it will go out, with its headers, and nothing queued.
    let preview = shop
        .compose(&case, "preview", "Teie tagasiside Kohvik kohta")
        .await
        .text()
        .await
        .unwrap();
    assert!(preview.contains("as it will go out"), "{preview}");
    assert!(
        preview.contains("<dd>anu@kohvik.ee</dd>") && preview.contains("<dd>mari@example.com</dd>")
    );
    assert!(
        shop.store
            .thread(&shop.site, &case)
            .await
            .unwrap()
            .is_empty(),
        "a preview sends nothing"
    );
    let sent_at = Instant::now();
    assert_eq!(
        shop.reply(&case, "Teie tagasiside Kohvik kohta").await,
        StatusCode::SEE_OTHER
    );
    let message = eventually(async || sink.messages().pop()).await;
    println!(
        "send to arrival at the SMTP server: {:?}",
        sent_at.elapsed()
    );
    let thread = shop.store.thread(&shop.site, &case).await.unwrap();
    for header in [
        "From: Kohvik <tere@kohvik.ee>".to_owned(),
        "Reply-To: anu@kohvik.ee".to_owned(),
        "To: mari@example.com".to_owned(),
        "Subject: Teie tagasiside Kohvik kohta".to_owned(),
        format!("Message-ID: <{}@soovita>", thread[0].id),
    ] {
        assert!(
            message.contains(&header),
            "{header} missing from:\n{message}"
        );
    }
    assert!(message.contains("Saadame uue kohvi"), "{message}");
    eventually(async || (shop.status(&case).await.0 == MailStatus::Sent).then_some(())).await;
    let followed = shop.store.case(&shop.site, &case).await.unwrap().unwrap();
    assert_eq!(
        followed.status,
        FollowUpStatus::Contacted,
        "the first message contacts"
    );
    assert!(followed.contacted_at_ms.is_some());

    // A permanent refusal: failed at once, with the server's words, and nothing delivered.
    let refused = shop.case("reject@example.com").await;
    assert_eq!(
        shop.reply(&refused, "Your order").await,
        StatusCode::SEE_OTHER
    );
    let (status, error) = eventually(async || {
        let (status, error) = shop.status(&refused).await;
        (status == MailStatus::Failed).then_some((status, error))
    })
    .await;
    assert_eq!(status, MailStatus::Failed);
    assert!(
        error
            .as_deref()
            .unwrap_or_default()
            .contains("no such mailbox"),
        "{error:?}"
    );
    assert_eq!(
        sink.messages().len(),
        1,
        "nothing delivered to the refused address"
    );

    // With mail on, an invitation to the site goes out by mail too, its link in it.
    let invited = shop
        .http
        .post(format!("{}/console/sites/{}/members", shop.base, shop.site))
        .header("cookie", &shop.cookie)
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("csrf", shop.csrf.as_str()),
            ("email", "jaan@example.com"),
            ("role", "member"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        invited.contains("on its way to jaan@example.com"),
        "{invited}"
    );
    let invitation = eventually(async || {
        sink.messages()
            .into_iter()
            .find(|message| message.contains("To: jaan@example.com"))
    })
    .await;
    // Long lines are quoted-printable: undo its soft line breaks before reading the link.
    let invitation = invitation.replace("=\r\n", "").replace("=\n", "");
    assert!(
        invitation.contains("Subject: Join Kohvik on Soovita"),
        "{invitation}"
    );
    assert!(invitation.contains("Reply-To: anu@kohvik.ee"));
    let link = invitation
        .split_whitespace()
        .find(|word| word.contains("/console/invitations/"))
        .expect("the link is in the mail");
    let page = shop.http.get(link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "{link}");

    // A header with a line break cannot be written, let alone sent.
    assert_eq!(
        shop.reply(&case, "Hi\r\nBcc: all@example.com").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(shop.store.thread(&shop.site, &case).await.unwrap().len(), 1);
}

#[tokio::test]
async fn mail_waits_for_a_server_that_is_down_and_goes_once_it_is_back() {
    if !aiosmtpd_available() {
        return;
    }
    let port = free_port();
    let shop = Shop::start(port).await;
    let case = shop.case("mari@example.com").await;
    assert_eq!(shop.reply(&case, "Your order").await, StatusCode::SEE_OTHER);
    let (_, error) = eventually(async || {
        let (status, error) = shop.status(&case).await;
        (status == MailStatus::Retrying).then_some((status, error))
    })
    .await;
    assert!(error.is_some(), "a temporary failure keeps its reason");

    let sink = Sink::start(port);
    eventually(async || (shop.status(&case).await.0 == MailStatus::Sent).then_some(())).await;
    // Another tick or two: nothing is sent twice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 1);
}

/// Two servers on one PostgreSQL database: each queued message reaches the SMTP server once,
/// and a case that falls overdue is announced and digested once, whichever server looks.
#[tokio::test]
async fn two_servers_on_one_postgres_send_each_message_once() {
    if !aiosmtpd_available() {
        return;
    }
    let Some(admin_url) = common::postgres_admin_url() else {
        return;
    };
    let database = common::ThrowawayPostgres::create(&admin_url).await;
    let (one, two) = (
        store::open(&database.url).await.unwrap(),
        store::open(&database.url).await.unwrap(),
    );
    let site = common::kohvik(one.as_ref()).await;
    let owner = Owner::new("anu@kohvik.ee", "correct horse battery");
    one.create_owner(&owner, 0).await.unwrap();
    one.set_role(&owner.id, &site, Role::Admin, 0)
        .await
        .unwrap();

    let port = free_port();
    let sink = Sink::start(port);
    let mut options = MailOptions::new(
        &format!("smtp://127.0.0.1:{port}"),
        "Kohvik <tere@kohvik.ee>",
    )
    .unwrap();
    options.tick = Duration::from_millis(20);
    const MESSAGES: usize = 30;
    let now = soovita_server::clock::now_ms();
    for n in 0..MESSAGES {
        let mail = OutgoingMail::compose(
            MailKind::Test,
            site.clone(),
            None,
            "anu@kohvik.ee",
            &format!("guest{n}@example.com"),
            "Both servers look",
            "Only one of them sends this.",
        )
        .unwrap();
        one.queue_mail(&mail, now).await.unwrap();
    }
    let senders = [
        tokio::spawn(soovita_server::mail::sender::run(
            one.clone(),
            options.clone(),
        )),
        tokio::spawn(soovita_server::mail::sender::run(
            two.clone(),
            options.clone(),
        )),
    ];
    eventually(async || (sink.messages().len() >= MESSAGES).then_some(())).await;
    // A few more ticks of both: nothing goes twice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut ids: Vec<String> = sink
        .messages()
        .iter()
        .filter_map(|message| {
            message
                .lines()
                .find(|line| line.starts_with("Message-ID:"))
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(ids.len(), MESSAGES, "each message once");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), MESSAGES, "no message twice");
    for sender in senders {
        sender.abort();
    }

    // The watch, on both at the same moment.
    let id = uuid::Uuid::new_v4().to_string();
    let mut update = common::update(&id, 2, Some("Cold"));
    (update.contact_consent, update.email) = (Some(true), Some("mari@example.com".into()));
    one.upsert_response(&site, &update, now).await.unwrap();
    let later = now + 25 * 3_600_000;
    let (a, b) = tokio::join!(
        soovita_server::watch::look(one.as_ref(), Some(&options), 3, later),
        soovita_server::watch::look(two.as_ref(), Some(&options), 3, later),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        (a.overdue + b.overdue, a.digests + b.digests),
        (1, 1),
        "{a:?} {b:?}"
    );
}
