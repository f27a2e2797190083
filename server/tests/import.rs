//! `soovita import` on SQLite and PostgreSQL: Soovita's own exports read back exactly (export,
//! import into a site of another database, export again: identical), a Delighted-shaped file
//! made here from the documented layout (results after import equal those computed here from
//! the file; twice imported, nothing changes; refused rows named, and nothing written), and a
//! CSV through a column mapping.

use std::collections::BTreeMap;
use std::sync::Arc;

use soovita_server::domain::SiteId;
use soovita_server::imports::{
    import, in_memory, Format, ImportError, Mapping, Options, Report, Target,
};
use soovita_server::responses::export::{download, ExportFormat};
use soovita_server::responses::filter::ResponseFilter;
use soovita_server::responses::StatementUpdate;
use soovita_server::results::TrendInterval;
use soovita_server::store::{self, prelude::*};
use soovita_wire::{Dimension, PageContext};

mod common;

const DAY: i64 = 86_400_000;

fn target(site: &SiteId, now: i64) -> Target {
    Target {
        site: site.clone(),
        oldest_ms: now - 730 * DAY,
        retention_days: 730,
        newest_ms: now + DAY,
    }
}

async fn run(
    store: &Arc<dyn Store>,
    site: &SiteId,
    format: Format,
    data: &[u8],
    options: Options,
) -> Result<Report, ImportError> {
    let now = soovita_server::clock::now_ms();
    import(
        store.clone(),
        &target(site, now),
        &format,
        in_memory(data),
        &options,
        None,
    )
    .await
}

async fn export(store: &Arc<dyn Store>, site: &SiteId, format: ExportFormat) -> Vec<u8> {
    let response = download(
        store.clone(),
        site.clone(),
        ResponseFilter::default(),
        format,
    )
    .await
    .unwrap();
    axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec()
}

/// Responses with every field the widget can send, over the past months.
async fn history(store: &dyn Store, site: &SiteId) {
    let now = soovita_server::clock::now_ms();
    for n in 0..60i64 {
        let id = uuid::Uuid::from_u128(0x1000 + n as u128).to_string();
        let score = (n * 7 % 11) as i32;
        let comment = (n % 3 == 0).then(|| format!("Kohv nr {n}, =see oli; hea"));
        let mut update = common::update(&id, score, comment.as_deref());
        update.lang = Some(["et", "en", "de"][n as usize % 3]);
        update.statements = vec![
            StatementUpdate {
                id: "trust.honest".into(),
                dimension: Dimension::Trust,
                answer: Some((n % 5 + 1) as u8),
            },
            StatementUpdate {
                id: "fairness.respect".into(),
                dimension: Dimension::Fairness,
                answer: (n % 2 == 0).then_some(3),
            },
        ];
        if score <= 6 {
            update.effort = Some((n % 7 + 1) as u8);
            update.effort_drivers = (n % 2 == 0).then(|| "contacted_again,transferred".into());
        }
        if n % 4 == 0 {
            update.contact_consent = Some(true);
            update.email = Some(format!("guest{n}@example.com"));
        } else if n % 4 == 1 {
            update.contact_consent = Some(false);
        }
        if n % 5 != 0 {
            let context = PageContext {
                path: format!("/tooted/{n}"),
                query: (n % 2 == 0).then(|| "kampaania=talv".into()),
                utm: BTreeMap::from([("utm_source".into(), "uudiskiri".into())]),
                referrer: Some("news.example".into()),
                device: soovita_wire::DeviceClass::Phone,
            };
            update.page_path = Some(context.path.clone());
            update.page_query = context.query.clone();
            update.referrer = context.referrer.clone();
            update.device = Some("phone");
            update.utm = Some(serde_json::to_string(&context.utm).unwrap());
        }
        if n % 3 == 1 {
            update.attributes = Some(r#"{"plan":"pro","tier":"=gold"}"#.into());
        }
        update.survey_version = 1;
        store
            .upsert_response(site, &update, now - (n + 1) * 3 * DAY)
            .await
            .unwrap();
    }
}

async fn round_trip(one: Arc<dyn Store>, two: Arc<dyn Store>) {
    let from = common::kohvik(one.as_ref()).await;
    history(one.as_ref(), &from).await;
    for format in [ExportFormat::Json, ExportFormat::Csv] {
        let exported = export(&one, &from, format).await;
        let into = common::kohvik(two.as_ref()).await;
        let report = run(&two, &into, Format::Soovita, &exported, Options::default())
            .await
            .unwrap();
        assert_eq!(
            (report.read, report.added, report.refused, report.written),
            (60, 60, 0, true),
            "{format:?}: {report:?}"
        );
        let again = export(&two, &into, format).await;
        assert_eq!(
            String::from_utf8(again).unwrap(),
            String::from_utf8(exported.clone()).unwrap(),
            "{format:?}: exported, imported and exported again"
        );
        let twice = run(&two, &into, Format::Soovita, &exported, Options::default())
            .await
            .unwrap();
        assert_eq!((twice.added, twice.existing), (0, 60), "{format:?}: twice");
        // The same responses into another site of the same database: the ids are taken.
        let other = common::kohvik(two.as_ref()).await;
        let taken = run(&two, &other, Format::Soovita, &exported, Options::default())
            .await
            .unwrap();
        assert_eq!((taken.refused, taken.written), (60, false));
        assert!(
            taken.refusals[0].reason.contains("another site"),
            "{:?}",
            taken.refusals[0]
        );
        // The next format starts from a database without them.
        assert!(two.delete_site(&into).await.unwrap());
    }
}

#[tokio::test]
async fn a_soovita_export_comes_back_exactly_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = |name: &str| format!("sqlite://{}/{name}.db", dir.path().display());
    round_trip(
        store::open(&url("one")).await.unwrap(),
        store::open(&url("two")).await.unwrap(),
    )
    .await;
}

#[tokio::test]
async fn a_soovita_export_comes_back_exactly_on_postgres() {
    let Some(admin_url) = common::postgres_admin_url() else {
        return;
    };
    let (one, two) = (
        common::ThrowawayPostgres::create(&admin_url).await,
        common::ThrowawayPostgres::create(&admin_url).await,
    );
    round_trip(
        store::open(&one.url).await.unwrap(),
        store::open(&two.url).await.unwrap(),
    )
    .await;
}

/// A Delighted export as its documentation lays a response out (id, score, comment, time,
/// the person's email and name, properties), a few hundred rows.
fn delighted_file(now: i64, rows: usize) -> (String, Vec<(u8, i64)>) {
    let mut file = String::from(
        "Response ID,Score,Comment,Response timestamp,Email,Name,Survey type,Permalink,Purchase Experience,Country\n",
    );
    let mut kept = Vec::new();
    for n in 0..rows {
        let score = (n * 5 % 11) as u8;
        let at = now - (n as i64 % 300 + 1) * DAY - n as i64 * 1_000;
        let time = time::OffsetDateTime::from_unix_timestamp(at / 1000).unwrap();
        let email = if n % 3 == 0 {
            format!("person{n}@example.com")
        } else {
            String::new()
        };
        file.push_str(&format!(
            "{},{score},\"Comment {n}, with a comma\",{} UTC,{email},Person {n},nps,https://app.delighted.com/r/{n},{},{}\n",
            50_000 + n,
            time.format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]")).unwrap(),
            ["Retail Store", "Online"][n % 2],
            ["USA", "EE", "DE"][n % 3],
        ));
        kept.push((score, at));
    }
    (file, kept)
}

async fn delighted_story(store: Arc<dyn Store>) {
    let kohvik = common::kohvik(store.as_ref()).await;
    let now = soovita_server::clock::now_ms();
    // Days already rolled up: the import must mark the ones it adds to.
    soovita_server::results::roll_up_all(store.as_ref(), now)
        .await
        .unwrap();
    let (file, rows) = delighted_file(now, 400);

    // A half-bad file writes nothing, and names each bad row.
    let mut bad = file.clone();
    bad.push_str("60001,n/a,,2026-03-01 10:00:00 UTC,,,,,,\n");
    bad.push_str("60002,11,,2026-03-01 10:00:00 UTC,,,,,,\n");
    bad.push_str("60003,7,,18.03.2026,,,,,,\n");
    bad.push_str("60004,7,too,many,fields,here,,,,,,\n");
    let refused = run(
        &store,
        &kohvik,
        Format::Delighted,
        bad.as_bytes(),
        Options::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        (
            refused.read,
            refused.added,
            refused.refused,
            refused.written
        ),
        (404, 400, 4, false)
    );
    let lines: Vec<String> = refused.refusals.iter().map(ToString::to_string).collect();
    assert!(
        lines[0].starts_with("line 402, Score: \"n/a\" is not a score"),
        "{lines:?}"
    );
    assert!(lines[1].starts_with("line 403, Score: \"11\""), "{lines:?}");
    assert!(
        lines[2].starts_with("line 404, Response timestamp: \"18.03.2026\""),
        "{lines:?}"
    );
    assert!(
        lines[3].starts_with("line 405, the whole row: 12 fields where the header has 10"),
        "{lines:?}"
    );
    let results = || async {
        let sums = store
            .result_sums(&kohvik, &ResponseFilter::default())
            .await
            .unwrap();
        soovita_server::results::results(&sums, TrendInterval::Month)
    };
    assert_eq!(results().await.responses, 0, "nothing half-written");

    let imported = run(
        &store,
        &kohvik,
        Format::Delighted,
        file.as_bytes(),
        Options::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        (imported.added, imported.refused, imported.written),
        (400, 0, true)
    );
    assert!(imported.notes.is_empty(), "{:?}", imported.notes);
    let expected_nps = {
        let promoters = rows.iter().filter(|(s, _)| *s >= 9).count() as f64;
        let detractors = rows.iter().filter(|(s, _)| *s <= 6).count() as f64;
        100.0 * (promoters - detractors) / rows.len() as f64
    };
    let mut histogram = [0u64; 11];
    for (score, _) in &rows {
        histogram[*score as usize] += 1;
    }
    for when in ["after the import", "after the next roll-up"] {
        let shown = results().await;
        assert_eq!(shown.responses, 400, "{when}");
        assert_eq!(shown.histogram, histogram, "{when}");
        assert!(
            (shown.nps.unwrap() - expected_nps).abs() < 1e-9,
            "{when}: {:?} {expected_nps}",
            shown.nps
        );
        soovita_server::results::roll_up_all(store.as_ref(), now)
            .await
            .unwrap();
    }
    let twice = run(
        &store,
        &kohvik,
        Format::Delighted,
        file.as_bytes(),
        Options::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        (twice.added, twice.existing, twice.refused),
        (0, 400, 0),
        "twice: nothing changes"
    );
    assert_eq!(results().await.responses, 400);

    // What a row became: its time, source, email with consent, properties as attributes.
    let stored = store.responses(&kohvik).await.unwrap();
    let first = stored
        .iter()
        .find(|r| r.comment.as_deref() == Some("Comment 0, with a comma"))
        .unwrap();
    assert_eq!(first.source.as_deref(), Some("import:delighted"));
    assert_eq!(
        (first.contact_consent, first.email.as_deref()),
        (Some(true), Some("person0@example.com"))
    );
    assert_eq!(
        first.attributes.as_deref(),
        Some(r#"{"country":"USA","purchase_experience":"Retail Store"}"#)
    );
    assert_eq!(first.created_at_ms, rows[0].1 / 1000 * 1000);
    let second = stored
        .iter()
        .find(|r| r.comment.as_deref() == Some("Comment 1, with a comma"))
        .unwrap();
    assert_eq!(
        (second.contact_consent, second.email.as_deref()),
        (None, None)
    );
}

#[tokio::test]
async fn a_delighted_export_imports_once_and_its_results_match_the_file_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&format!("sqlite://{}/d.db", dir.path().display()))
        .await
        .unwrap();
    delighted_story(store).await;
}

#[tokio::test]
async fn a_delighted_export_imports_once_and_its_results_match_the_file_on_postgres() {
    let Some((store, _database)) = common::postgres_store().await else {
        return;
    };
    delighted_story(store).await;
}

#[tokio::test]
async fn any_csv_imports_through_a_mapping_and_bad_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&format!("sqlite://{}/c.db", dir.path().display()))
        .await
        .unwrap();
    let kohvik = common::kohvik(store.as_ref()).await;
    let mapping = Mapping {
        score: "NPS".into(),
        time: "Submitted".into(),
        comment: Some("Feedback".into()),
        lang: Some("Locale".into()),
        attributes: vec!["Plan Name".into()],
        ..Mapping::default()
    };
    let file = "Submitted;NPS;Feedback;Locale;Plan Name\n2026-10-01T08:00:00Z;10;Suurepärane;et;Pro\n2026-10-02T08:00:00Z;4;;de;\n";
    let options = Options {
        delimiter: b';',
        ..Options::default()
    };
    let report = run(
        &store,
        &kohvik,
        Format::Csv(mapping.clone()),
        file.as_bytes(),
        options.clone(),
    )
    .await
    .unwrap();
    assert_eq!((report.added, report.written), (2, true), "{report:?}");
    let stored = store.responses(&kohvik).await.unwrap();
    let pro = stored.iter().find(|r| r.score == 10).unwrap();
    assert_eq!(
        (
            pro.lang.as_deref(),
            pro.source.as_deref(),
            pro.attributes.as_deref()
        ),
        (
            Some("et"),
            Some("import:csv"),
            Some(r#"{"plan_name":"Pro"}"#)
        )
    );
    let again = run(
        &store,
        &kohvik,
        Format::Csv(mapping.clone()),
        file.as_bytes(),
        options.clone(),
    )
    .await
    .unwrap();
    assert_eq!(
        (again.added, again.existing),
        (0, 2),
        "a row without an id is known by its content"
    );

    // A wrong delimiter, a missing column, a file that is not UTF-8: each named, nothing written.
    let wrong = run(
        &store,
        &kohvik,
        Format::Csv(mapping.clone()),
        file.as_bytes(),
        Options::default(),
    )
    .await;
    assert!(
        matches!(&wrong, Err(ImportError::File(e)) if e.to_string().contains("--delimiter ';'")),
        "{wrong:?}"
    );
    let missing = run(
        &store,
        &kohvik,
        Format::Csv(Mapping {
            score: "Score".into(),
            ..mapping.clone()
        }),
        file.as_bytes(),
        options.clone(),
    )
    .await;
    assert!(
        matches!(&missing, Err(ImportError::File(e)) if e.to_string().contains("no \"Score\" column (it has: Submitted, NPS, Feedback, Locale, Plan Name)")),
        "{missing:?}"
    );
    let latin1 =
        b"Submitted;NPS;Feedback;Locale;Plan Name\n2026-10-03T08:00:00Z;9;V\xe4ga hea;et;\n";
    let encoding = run(&store, &kohvik, Format::Csv(mapping), latin1, options).await;
    assert!(
        matches!(&encoding, Err(ImportError::File(e)) if e.to_string().contains("line 2 is not UTF-8")),
        "{encoding:?}"
    );
    assert_eq!(store.responses(&kohvik).await.unwrap().len(), 2);
}

/// A file over the console's limit is refused before it is read, with what to do instead.
#[tokio::test]
async fn an_upload_over_the_consoles_limit_says_to_use_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&format!("sqlite://{}/u.db", dir.path().display()))
        .await
        .unwrap();
    let kohvik = common::kohvik(store.as_ref()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(soovita_server::serve(
        listener,
        store,
        soovita_server::ServeOptions::default(),
        std::future::pending(),
    ));
    let too_big = soovita_server::http::body_limits::MAX_UPLOAD_BYTES + 1;
    let response = reqwest::Client::new()
        .post(format!("{base}/console/sites/{kohvik}/import"))
        .header("content-type", "multipart/form-data; boundary=x")
        .body(vec![b'a'; too_big])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("upload_too_large") && body.contains("soovita import"),
        "{body}"
    );
}

/// An uploaded file holds respondents' answers and addresses: it goes after a day, or at once
/// when one of them is erased by email; one being imported stays while it moves.
#[tokio::test]
async fn uploaded_files_are_not_kept_longer_than_their_import_needs() {
    use soovita_server::imports::{Upload, UploadStatus};
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&format!("sqlite://{}/f.db", dir.path().display()))
        .await
        .unwrap();
    let kohvik = common::kohvik(store.as_ref()).await;
    let upload = |id: &str, at: i64| Upload {
        id: id.into(),
        file_name: "delighted.csv".into(),
        settings: "[]".into(),
        status: UploadStatus::Previewed,
        report: "{}".into(),
        written: 0,
        created_at_ms: at,
        updated_at_ms: at,
    };
    let file = "Response ID,Score,Response timestamp,Email\n1,3,2026-11-01,Mari@Example.com\n";
    for (id, at) in [("old", 1_000), ("busy", 1_000), ("fresh", 100 * DAY)] {
        store
            .create_upload(&kohvik, "owner", &upload(id, at), file, 0)
            .await
            .unwrap();
    }
    assert!(store
        .start_upload(&kohvik, "busy", 100 * DAY, 0)
        .await
        .unwrap());
    assert_eq!(
        store.forget_uploads(100 * DAY - 1).await.unwrap(),
        1,
        "the old preview"
    );
    assert!(store.upload(&kohvik, "old").await.unwrap().is_none());
    assert!(
        store.upload(&kohvik, "busy").await.unwrap().is_some(),
        "it moved just now"
    );
    assert_eq!(
        store
            .forget_uploads_mentioning(&kohvik, "mari@example.COM")
            .await
            .unwrap(),
        2
    );
    assert!(store.upload(&kohvik, "fresh").await.unwrap().is_none());
}
