//! How long the owner's figures take for a site with many responses, on SQLite.
//!
//! ```sh
//! cargo run --release -p soovita-server --example results_bench -- [responses]
//! ```
//!
//! It seeds a fresh SQLite file with `responses` (default 1,000,000) responses over a year in
//! the card's nine languages, each with two answered statements and, for detractors, an effort
//! answer, straight in SQL (the ingest path would take minutes to fill it); every fifth has a
//! comment in its language (200,000 at a million), drawn from a vocabulary per language: stop
//! words, everyday words that lean towards detractors or promoters, and a long tail of rarer
//! words with Zipf-like frequencies. It rolls up the settled days as the server does in the
//! background, then times what the console asks the store for: the results unfiltered and
//! filtered, the comment themes, the newest comments, and the inbox, each the median of five
//! runs; then one streamed CSV export of everything. It asserts nothing.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use soovita_server::responses::export::{download, ExportFormat};
use soovita_server::responses::filter::{FilterQuery, ResponseFilter};
use soovita_server::sites::{register, SiteSettings};
use soovita_server::store;
use soovita_server::themes;

/// Rows inserted per statement while seeding.
const CHUNK: i64 = 50_000;

/// The languages responses cycle through, and each one's words: stop words; everyday words
/// (0–6 and 17 lean towards detractors, 7–13 towards promoters, the rest neither); and
/// syllables for a tail of 1,000 rarer words.
/// A language's code, stop words, everyday words and syllables.
type Words = (
    &'static str,
    [&'static str; 8],
    [&'static str; 18],
    [&'static str; 10],
);

const LANGUAGES: [Words; 9] = [
    (
        "en",
        ["the", "was", "and", "very", "it", "but", "is", "to"],
        [
            "delivery",
            "slow",
            "late",
            "price",
            "expensive",
            "cold",
            "rude",
            "friendly",
            "staff",
            "fast",
            "quality",
            "fresh",
            "helpful",
            "lovely",
            "website",
            "order",
            "coffee",
            "wait",
        ],
        [
            "ka", "lo", "mi", "ter", "sen", "ba", "ro", "vi", "tan", "del",
        ],
    ),
    (
        "et",
        ["ja", "oli", "on", "väga", "see", "aga", "et", "kui"],
        [
            "tarne",
            "aeglane",
            "hilinenud",
            "hind",
            "kallis",
            "külm",
            "ebaviisakas",
            "sõbralik",
            "personal",
            "kiire",
            "kvaliteet",
            "värske",
            "abivalmis",
            "armas",
            "koduleht",
            "tellimus",
            "kohv",
            "ootama",
        ],
        ["ka", "lu", "mõ", "tee", "sa", "jä", "ra", "vi", "tu", "kse"],
    ),
    (
        "fi",
        ["ja", "oli", "on", "hyvin", "se", "mutta", "että", "kun"],
        [
            "toimitus",
            "hidas",
            "myöhässä",
            "hinta",
            "kallis",
            "kylmä",
            "tyly",
            "ystävällinen",
            "henkilökunta",
            "nopea",
            "laatu",
            "tuore",
            "avulias",
            "ihana",
            "verkkosivu",
            "tilaus",
            "kahvi",
            "odottaa",
        ],
        ["ka", "lu", "mä", "tee", "sa", "jo", "ra", "vi", "tu", "kse"],
    ),
    (
        "lv",
        ["un", "bija", "ir", "ļoti", "tas", "bet", "ka", "kad"],
        [
            "piegāde",
            "lēna",
            "kavēta",
            "cena",
            "dārga",
            "auksta",
            "rupjš",
            "draudzīgs",
            "personāls",
            "ātra",
            "kvalitāte",
            "svaiga",
            "izpalīdzīgs",
            "jauks",
            "mājaslapa",
            "pasūtījums",
            "kafija",
            "gaidīt",
        ],
        ["ka", "lu", "mē", "tie", "sa", "jā", "ra", "vi", "tu", "ša"],
    ),
    (
        "lt",
        ["ir", "buvo", "yra", "labai", "tai", "bet", "kad", "kai"],
        [
            "pristatymas",
            "lėtas",
            "vėlavo",
            "kaina",
            "brangu",
            "šalta",
            "nemandagus",
            "draugiškas",
            "personalas",
            "greitas",
            "kokybė",
            "šviežia",
            "paslaugus",
            "mielas",
            "svetainė",
            "užsakymas",
            "kava",
            "laukti",
        ],
        ["ka", "lu", "mė", "tie", "sa", "ją", "ra", "vi", "tu", "šo"],
    ),
    (
        "pl",
        ["i", "była", "jest", "bardzo", "to", "ale", "że", "gdy"],
        [
            "dostawa",
            "wolna",
            "spóźniona",
            "cena",
            "drogo",
            "zimna",
            "niemiły",
            "miła",
            "obsługa",
            "szybka",
            "jakość",
            "świeża",
            "pomocny",
            "uroczy",
            "strona",
            "zamówienie",
            "kawa",
            "czekać",
        ],
        ["ka", "lu", "mi", "sze", "sa", "ją", "ra", "wi", "tu", "cz"],
    ),
    (
        "ru",
        ["и", "была", "это", "очень", "но", "что", "когда", "он"],
        [
            "доставка",
            "медленная",
            "опоздала",
            "цена",
            "дорого",
            "холодный",
            "грубый",
            "дружелюбный",
            "персонал",
            "быстрая",
            "качество",
            "свежий",
            "отзывчивый",
            "милый",
            "сайт",
            "заказ",
            "кофе",
            "ждать",
        ],
        ["ка", "лу", "ми", "те", "са", "жо", "ра", "ви", "ту", "ще"],
    ),
    (
        "de",
        ["und", "war", "ist", "sehr", "das", "aber", "dass", "wenn"],
        [
            "Lieferung",
            "langsam",
            "verspätet",
            "Preis",
            "teuer",
            "kalt",
            "unhöflich",
            "freundlich",
            "Personal",
            "schnell",
            "Qualität",
            "frisch",
            "hilfsbereit",
            "nett",
            "Webseite",
            "Bestellung",
            "Kaffee",
            "warten",
        ],
        ["ka", "lu", "mi", "ter", "sa", "jö", "ra", "wi", "tu", "sch"],
    ),
    (
        "ar",
        ["و", "كان", "هو", "جدا", "هذا", "لكن", "أن", "عندما"],
        [
            "التوصيل",
            "بطيء",
            "متأخر",
            "السعر",
            "غالي",
            "بارد",
            "وقح",
            "ودود",
            "الموظفين",
            "سريع",
            "الجودة",
            "طازج",
            "متعاون",
            "لطيف",
            "الموقع",
            "الطلب",
            "القهوة",
            "انتظار",
        ],
        ["كا", "لو", "مي", "تر", "سا", "جو", "را", "في", "تو", "شا"],
    ),
];

/// xorshift: the same comments on every run.
struct Draw(u64);

impl Draw {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// A comment of 3 to 14 words in `lang`'s words, leaning as a response of `score` would.
fn comment(draw: &mut Draw, language: usize, score: i64) -> String {
    let (_, stop, everyday, syllables) = &LANGUAGES[language];
    let leaning: &[usize] = match score {
        0..=6 => &[0, 1, 2, 3, 4, 5, 6, 17],
        9..=10 => &[7, 8, 9, 10, 11, 12, 13],
        _ => &[14, 15, 16],
    };
    let words = 3 + draw.below(12);
    let mut text = Vec::with_capacity(words);
    for _ in 0..words {
        let word = match draw.below(20) {
            0..=6 => stop[draw.below(stop.len())].to_owned(),
            7..=10 => everyday[leaning[draw.below(leaning.len())]].to_owned(),
            11..=13 => everyday[draw.below(everyday.len())].to_owned(),
            _ => {
                // Zipf-like: rank r of 1,000 with probability about 1 / r.
                let rank = (1000f64.powf(draw.below(1_000_000) as f64 / 1e6)) as usize - 1;
                [rank / 100, rank / 10 % 10, rank % 10]
                    .map(|digit| syllables[digit])
                    .concat()
            }
        };
        text.push(word);
    }
    text.join(" ")
}

async fn median_of_five<F, Fut, T>(mut run: F) -> anyhow::Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, store::StoreError>>,
{
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        run().await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[2])
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let responses: i64 = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/results.db", dir.path().display());
    let store = store::open(&url).await?;
    let origins = ["https://shop.example".to_owned()];
    let site = register(
        store.as_ref(),
        SiteSettings {
            name: "Bench",
            origins: &origins,
            sample_percent: 100,
            cooldown_days: 90,
            retention_days: 730,
            honor_do_not_track: false,
        },
    )
    .await?;
    let site_id = soovita_server::domain::SiteId::parse(&site.site_id)?;

    let seeding = Instant::now();
    let pool = sqlx::SqlitePool::connect(&url).await?;
    // Responses spread over the 365 days before today (UTC).
    let today = soovita_server::clock::now_ms() / 86_400_000;
    let start_ms: i64 = (today - 365) * 86_400_000;
    for first in (0..responses).step_by(CHUNK as usize) {
        let last = (first + CHUNK).min(responses) - 1;
        let mut transaction = pool.begin().await?;
        sqlx::query(
            "WITH RECURSIVE seq(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM seq WHERE i < $2) \
             INSERT INTO responses (id, site_id, score, survey_version, lang, device_class, \
                 page_path, comment, effort, effort_drivers, contact_consent, email, \
                 created_at_ms, updated_at_ms) \
             SELECT 'r' || i, $3, (i * 7 + i / 13) % 11, 1, \
                 CASE i % 9 WHEN 0 THEN 'en' WHEN 1 THEN 'et' WHEN 2 THEN 'fi' WHEN 3 THEN 'lv' \
                 WHEN 4 THEN 'lt' WHEN 5 THEN 'pl' WHEN 6 THEN 'ru' WHEN 7 THEN 'de' ELSE 'ar' END, \
                 CASE i % 3 WHEN 0 THEN 'phone' WHEN 1 THEN 'tablet' ELSE 'desktop' END, \
                 CASE i % 4 WHEN 0 THEN '/checkout' ELSE '/' END, \
                 NULL, \
                 CASE WHEN (i * 7 + i / 13) % 11 <= 6 THEN 1 + i % 7 END, \
                 CASE WHEN (i * 7 + i / 13) % 11 <= 6 AND i % 2 = 0 THEN 'contacted_again' END, \
                 CASE WHEN i % 50 = 0 THEN TRUE END, \
                 CASE WHEN i % 50 = 0 THEN 'guest' || i || '@example.com' END, \
                 $4 + (i % 365) * 86400000 + i % 86400000, $4 + (i % 365) * 86400000 \
             FROM seq",
        )
        .bind(first)
        .bind(last)
        .bind(site_id.as_str())
        .bind(start_ms)
        .execute(&mut *transaction)
        .await?;
        sqlx::query(
            "WITH RECURSIVE seq(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM seq WHERE i < $2) \
             INSERT INTO response_statements (response_id, statement_id, dimension, answer) \
             SELECT 'r' || i, 'trust.a', 'trust', 1 + ((i * 7 + i / 13) % 11) / 3 FROM seq \
             UNION ALL \
             SELECT 'r' || i, 'fairness.a', 'fairness', 1 + i % 5 FROM seq",
        )
        .bind(first)
        .bind(last)
        .execute(&mut *transaction)
        .await?;
        let mut draw = Draw(0x5eed ^ first as u64 | 1);
        for i in (first..=last).filter(|i| i % 5 == 0) {
            let score = (i * 7 + i / 13) % 11;
            let language = usize::try_from(i % 9)?;
            sqlx::query("UPDATE responses SET comment = $1 WHERE id = $2")
                .bind(comment(&mut draw, language, score))
                .bind(format!("r{i}"))
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
    }
    sqlx::query("ANALYZE").execute(&pool).await?;
    println!(
        "seeded {responses} responses ({} statements, {} comments) in {:.1} s",
        2 * responses,
        (responses + 4) / 5,
        seeding.elapsed().as_secs_f64()
    );

    // What the server's background task does every minute; the first time, for a year.
    let rolling = Instant::now();
    soovita_server::results::roll_up_all(store.as_ref(), soovita_server::clock::now_ms()).await?;
    println!(
        "rolled up the settled days in {:.1} s",
        rolling.elapsed().as_secs_f64()
    );

    let everything = ResponseFilter::default();
    let date = |day: i64| {
        time::OffsetDateTime::from_unix_timestamp(day * 86_400)
            .map(|at| at.date().to_string())
            .ok()
    };
    let phones_in_a_month = FilterQuery {
        from: date(today - 90),
        to: date(today - 61),
        device: Some("phone".into()),
        ..FilterQuery::default()
    }
    .parse()?;
    let estonian = FilterQuery {
        lang: Some("et".into()),
        ..FilterQuery::default()
    }
    .parse()?;
    let delivery = themes::TermKey {
        lang: "en".into(),
        key: "deliveri".into(),
    };
    let figures = [
        (
            "results, every response",
            median_of_five(|| store.result_sums(&site_id, &everything)).await?,
        ),
        (
            "results, phones in a month",
            median_of_five(|| store.result_sums(&site_id, &phones_in_a_month)).await?,
        ),
        (
            "themes, every comment",
            median_of_five(|| themes::of_site(store.as_ref(), &site_id, &everything)).await?,
        ),
        (
            "themes, Estonian",
            median_of_five(|| themes::of_site(store.as_ref(), &site_id, &estonian)).await?,
        ),
        (
            "themes, phones in a month",
            median_of_five(|| themes::of_site(store.as_ref(), &site_id, &phones_in_a_month))
                .await?,
        ),
        (
            "a term's page: \"delivery\"",
            median_of_five(|| store.mentions(&site_id, &everything, &delivery)).await?,
        ),
        (
            "newest 100 comments",
            median_of_five(|| store.comments(&site_id, &everything, None, 100)).await?,
        ),
        (
            "comments containing \"delivery\"",
            median_of_five(|| store.comments(&site_id, &everything, Some("delivery"), 100)).await?,
        ),
        (
            "inbox, 500 cases",
            median_of_five(|| store.inbox(&site_id, 500)).await?,
        ),
    ];
    for (what, took) in figures {
        println!("  {what:<28} {:>8.1} ms", took.as_secs_f64() * 1e3);
    }

    // Once, not five times: it reads every response.
    let started = Instant::now();
    let response = download(
        store.clone(),
        site_id.clone(),
        everything,
        ExportFormat::Csv,
    )
    .await?;
    let first_bytes = started.elapsed();
    let mut body = response.into_body().into_data_stream();
    let mut bytes = 0;
    while let Some(chunk) = body.next().await {
        bytes += chunk?.len();
    }
    println!(
        "  CSV export, streamed         first bytes after {:.1} ms, all {:.0} MB in {:.1} s",
        first_bytes.as_secs_f64() * 1e3,
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
