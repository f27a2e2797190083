//! Comment themes on SQLite and PostgreSQL: the lists equal a plain count and Monroe et al.'s
//! formula computed here over the same comments, to 1e-9, from the rollups, from the comments
//! and from both at once; Estonian, Polish and English detractors' delivery and promoters'
//! friendliness come out on top with no stop word listed; an erased comment's words leave
//! every count.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use soovita_server::domain::{ResponseId, SiteId};
use soovita_server::responses::filter::{FilterQuery, ResponseFilter};
use soovita_server::store::{self, prelude::*};
use soovita_server::themes::{self, text, TermKey};
use soovita_wire::{Category, Theme, Themes};

mod common;

const DAY: i64 = 86_400_000;

/// What each group writes in each language: (detractors' topic, promoters' topic, words
/// everybody uses).
const WORDING: [(&str, [&[&str]; 3]); 3] = [
    (
        "en",
        [
            &[
                "The delivery was slow",
                "slow delivery again!",
                "Delivery came late",
                "cold coffee and a late delivery",
            ],
            &[
                "Friendly staff",
                "very friendly barista",
                "the staff were friendly and kind",
            ],
            &[
                "coffee", "cake", "price", "shop", "order", "morning", "table", "music",
            ],
        ],
    ),
    (
        "et",
        [
            &[
                "Tarne oli aeglane",
                "aeglane tarne jälle",
                "tarne hilines",
                "kohv oli külm ja tarne hilines",
            ],
            &[
                "Sõbralik teenindaja",
                "väga sõbralik personal",
                "teenindus oli sõbralik",
            ],
            &[
                "kohv", "kook", "hind", "pood", "tellimus", "hommik", "laud", "muusika",
            ],
        ],
    ),
    (
        "pl",
        [
            &[
                "Dostawa była wolna",
                "wolna dostawa znowu",
                "dostawa się spóźniła",
                "zimna kawa i spóźniona dostawa",
            ],
            &["Miła obsługa", "bardzo miły barista", "personel był miły"],
            &[
                "kawa",
                "ciasto",
                "cena",
                "sklep",
                "zamówienie",
                "rano",
                "stolik",
                "muzyka",
            ],
        ],
    ),
];

/// A comment as stored, for the plain count.
struct Seeded {
    id: String,
    lang: &'static str,
    score: u8,
    comment: String,
    at: i64,
    device: &'static str,
}

/// xorshift: the same comments on every run and both backends.
struct Draw(u64);

impl Draw {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// 900 comments over the last 20 days: detractors mostly on delivery, promoters mostly on
/// friendliness, passives on neither, and everybody on the shop's everyday words.
async fn seed(store: &dyn Store, site: &SiteId, now: i64) -> Vec<Seeded> {
    let mut draw = Draw(0x5eed);
    let mut seeded = Vec::new();
    for n in 0..900usize {
        let (lang, [complaints, praise, everyday]) = WORDING[n % 3];
        let score = u8::try_from([1, 3, 5, 6, 7, 8, 9, 10, 10][draw.below(9)]).unwrap();
        let mut parts = Vec::new();
        let topic = draw.below(10) < 7;
        match Category::from_score(score) {
            Category::Detractor if topic => parts.push(complaints[draw.below(complaints.len())]),
            Category::Promoter if topic => parts.push(praise[draw.below(praise.len())]),
            _ => {}
        }
        for _ in 0..=draw.below(3) {
            parts.push(everyday[draw.below(everyday.len())]);
        }
        let comment = parts.join(", ");
        let at = now - i64::try_from(n % 20).unwrap() * DAY - i64::try_from(n).unwrap() * 1_000;
        let id = format!("40000000-0000-4000-8000-{n:012}");
        let device = ["phone", "desktop"][n % 2];
        let mut answer = common::update(&id, i32::from(score), Some(&comment));
        answer.lang = Some(lang);
        answer.device = Some(device);
        store.upsert_response(site, &answer, at).await.unwrap();
        seeded.push(Seeded {
            id,
            lang,
            score,
            comment,
            at,
            device,
        });
    }
    // A word too rare in the rolled-up days to be listed from them alone, listed once today's
    // comments are added: the rollups must be asked for its count by name.
    for n in 0..8usize {
        let id = format!("40000000-0000-4000-8001-{n:012}");
        let at = if n < 4 { now - 10 * DAY } else { now } - i64::try_from(n).unwrap();
        let comment = "Parking was impossible".to_owned();
        let mut answer = common::update(&id, 2, Some(&comment));
        answer.lang = Some("en");
        answer.device = Some("desktop");
        store.upsert_response(site, &answer, at).await.unwrap();
        seeded.push(Seeded {
            id,
            lang: "en",
            score: 2,
            comment,
            at,
            device: "desktop",
        });
    }
    seeded
}

/// The lists computed straight from the comments, with no rollup, no tally and no shortcut:
/// count each term once per comment, then Monroe et al.'s δ and z for every term.
fn plain_themes(comments: &[&Seeded]) -> [Vec<Theme>; 3] {
    let mut per_group = [0u64; 3];
    let mut counts: BTreeMap<(String, String), [u64; 3]> = BTreeMap::new();
    let mut forms: BTreeMap<(String, String), BTreeMap<String, u64>> = BTreeMap::new();
    for seeded in comments {
        let group = match Category::from_score(seeded.score) {
            Category::Detractor => 0,
            Category::Passive => 1,
            Category::Promoter => 2,
        };
        let terms = text::terms(seeded.lang, &seeded.comment);
        if terms.is_empty() {
            continue;
        }
        per_group[group] += 1;
        for term in terms {
            let key = (seeded.lang.to_owned(), term.key);
            counts.entry(key.clone()).or_default()[group] += 1;
            *forms.entry(key).or_default().entry(term.form).or_default() += 1;
        }
    }
    let mut n = [0u64; 3];
    for c in counts.values() {
        for g in 0..3 {
            n[g] += c[g];
        }
    }
    let alpha_0 = (n[0] + n[1] + n[2]) as f64;
    let sides: [([usize; 1], &[usize]); 3] = [([0], &[2]), ([2], &[0]), ([1], &[0, 2])];
    sides.map(|(a, b)| {
        let sum = |c: &[u64; 3], members: &[usize]| members.iter().map(|&g| c[g]).sum::<u64>();
        if sum(&per_group, &a) < themes::MIN_GROUP_COMMENTS
            || sum(&per_group, b) < themes::MIN_GROUP_COMMENTS
        {
            return Vec::new();
        }
        let (n_a, n_b) = (sum(&n, &a) as f64, sum(&n, b) as f64);
        let mut listed = Vec::new();
        for ((lang, key), c) in &counts {
            let (y_a, y_b) = (sum(c, &a), sum(c, b));
            let alpha = (c[0] + c[1] + c[2]) as f64;
            let (ya, yb) = (y_a as f64, y_b as f64);
            let delta = ((ya + alpha) / (n_a + alpha_0 - ya - alpha)).ln()
                - ((yb + alpha) / (n_b + alpha_0 - yb - alpha)).ln();
            let z = delta / (1.0 / (ya + alpha) + 1.0 / (yb + alpha)).sqrt();
            if y_a < themes::MIN_TERM_COMMENTS || z < themes::MIN_Z {
                continue;
            }
            let form_counts = &forms[&(lang.clone(), key.clone())];
            let top = form_counts.values().max().unwrap();
            let term = form_counts
                .iter()
                .find(|(_, n)| *n == top)
                .unwrap()
                .0
                .clone();
            listed.push(Theme {
                term,
                lang: lang.clone(),
                key: key.clone(),
                log_odds: delta,
                z,
                comments: y_a,
                other_comments: y_b,
                share: ya / sum(&per_group, &a) as f64,
                other_share: yb / sum(&per_group, b) as f64,
            });
        }
        listed.sort_by(|x, y| y.z.total_cmp(&x.z).then_with(|| x.key.cmp(&y.key)));
        listed.truncate(themes::TERMS_SHOWN);
        listed
    })
}

fn assert_same(got: &Themes, expected: &[Vec<Theme>; 3], what: &str) {
    let lists = [&got.detractors, &got.promoters, &got.passives];
    for (list, expected) in lists.into_iter().zip(expected) {
        let keys = |terms: &[Theme]| {
            terms
                .iter()
                .map(|t| (t.lang.clone(), t.key.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&list.terms), keys(expected), "{what}");
        for (got, expected) in list.terms.iter().zip(expected) {
            for (a, b) in [
                (got.log_odds, expected.log_odds),
                (got.z, expected.z),
                (got.share, expected.share),
                (got.other_share, expected.other_share),
            ] {
                assert!((a - b).abs() <= 1e-9, "{what}: {} {a} against {b}", got.key);
            }
            assert_eq!(
                (got.comments, got.other_comments, &got.term),
                (expected.comments, expected.other_comments, &expected.term),
                "{what}: {}",
                got.key
            );
        }
    }
}

/// Which seeded comments a filter covers, as the test knows it.
type Covers = Box<dyn Fn(&Seeded) -> bool>;

/// Every filter's lists equal the plain count of the comments it covers.
async fn same_as_plain(store: &dyn Store, site: &SiteId, seeded: &[Seeded], what: &str) {
    let today = soovita_server::clock::now_ms() / DAY;
    let date = |day: i64| {
        time::OffsetDateTime::from_unix_timestamp(day * 86_400)
            .unwrap()
            .date()
            .to_string()
    };
    let filters: [(FilterQuery, Covers); 4] = [
        (FilterQuery::default(), Box::new(|_| true)),
        (
            FilterQuery {
                lang: Some("et".into()),
                ..FilterQuery::default()
            },
            Box::new(|s| s.lang == "et"),
        ),
        (
            FilterQuery {
                from: Some(date(today - 12)),
                to: Some(date(today - 1)),
                ..FilterQuery::default()
            },
            Box::new(move |s| s.at >= (today - 12) * DAY && s.at < today * DAY),
        ),
        (
            FilterQuery {
                device: Some("phone".into()),
                ..FilterQuery::default()
            },
            Box::new(|s| s.device == "phone"),
        ),
    ];
    for (query, covers) in filters {
        let filter = query.parse().unwrap();
        let got = themes::of_site(store, site, &filter).await.unwrap();
        let covered: Vec<&Seeded> = seeded.iter().filter(|s| covers(s)).collect();
        assert_same(&got, &plain_themes(&covered), &format!("{what}, {query:?}"));
    }
}

async fn themes_story(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let site = common::kohvik(store).await;
    let now = soovita_server::clock::now_ms();
    let mut seeded = seed(store, &site, now).await;
    same_as_plain(store, &site, &seeded, "before rolling up").await;
    let until_day = now / DAY - 2;
    while store.roll_up(&site, until_day).await.unwrap() {}
    same_as_plain(store, &site, &seeded, "rolled up").await;

    let all = themes::of_site(store, &site, &ResponseFilter::default())
        .await
        .unwrap();
    let parking = TermKey {
        lang: "en".into(),
        key: "park".into(),
    };
    let tally = store
        .theme_tally(&site, &ResponseFilter::default())
        .await
        .unwrap();
    assert_eq!(
        tally.terms.get(&parking),
        Some(&[8, 0, 0]),
        "4 rolled up, 4 today"
    );
    // Each language's delivery tops its detractors' words, its friendliness its promoters'.
    for (list, words) in [
        (&all.detractors, ["delivery", "tarne", "dostawa"]),
        (&all.promoters, ["friendly", "sõbralik", "miły"]),
    ] {
        for ((lang, _), word) in WORDING.iter().zip(words) {
            let first_of_lang = list
                .terms
                .iter()
                .find(|t| t.lang == *lang && !t.key.contains(' '));
            let stem = &text::terms(lang, word)[0].key;
            assert_eq!(
                first_of_lang.map(|t| &t.key),
                Some(stem),
                "{lang}: {:?}",
                list.terms
            );
        }
        for theme in &list.terms {
            let stop: HashSet<&str> = stop_words::lookup(&theme.lang)
                .unwrap()
                .iter()
                .copied()
                .collect();
            assert!(
                theme.term.split(' ').all(|word| !stop.contains(word)),
                "{}",
                theme.term
            );
        }
    }

    // An erased comment's words leave every count: at once (its day is read again) and once
    // the day is rolled up again.
    let victim = seeded
        .iter()
        .position(|s| s.at < (until_day - 3) * DAY && s.comment.contains("Tarne"))
        .unwrap();
    let gone = seeded.remove(victim);
    let term = TermKey {
        lang: gone.lang.to_owned(),
        key: text::terms(gone.lang, &gone.comment)[0].key.clone(),
    };
    let before = store
        .theme_tally(&site, &ResponseFilter::default())
        .await
        .unwrap()
        .terms[&term];
    assert!(store
        .erase_response(&site, &ResponseId::parse(&gone.id).unwrap())
        .await
        .unwrap());
    let group = usize::from(gone.score >= 7) + usize::from(gone.score >= 9);
    for moment in ["erased", "rolled up again"] {
        let after = store
            .theme_tally(&site, &ResponseFilter::default())
            .await
            .unwrap()
            .terms[&term];
        assert_eq!(after[group] + 1, before[group], "{moment}");
        same_as_plain(store, &site, &seeded, moment).await;
        while store.roll_up(&site, until_day).await.unwrap() {}
    }
    let unique = TermKey {
        lang: "en".into(),
        key: "zanzibar".into(),
    };
    // A late comment on a rolled-up day (as the card's second step may bring) is rolled up.
    let late = seeded
        .iter()
        .find(|s| s.at < (until_day - 3) * DAY && s.lang == "en")
        .unwrap();
    let mut answer = common::update(&late.id, i32::from(late.score), Some("Zanzibar"));
    answer.lang = Some("en");
    store
        .upsert_response(&site, &answer, late.at)
        .await
        .unwrap();
    while store.roll_up(&site, until_day).await.unwrap() {}
    assert_eq!(
        store
            .term_forms(
                &site,
                &ResponseFilter::default(),
                std::slice::from_ref(&unique)
            )
            .await
            .unwrap()[&unique]["zanzibar"],
        1
    );
    assert!(store.erase_response(&site, &answer.id).await.unwrap());
    while store.roll_up(&site, until_day).await.unwrap() {}
    assert!(store
        .term_forms(
            &site,
            &ResponseFilter::default(),
            std::slice::from_ref(&unique)
        )
        .await
        .unwrap()
        .is_empty());
    assert!(!store
        .theme_tally(&site, &ResponseFilter::default())
        .await
        .unwrap()
        .terms
        .contains_key(&unique));
}

#[tokio::test]
async fn themes_equal_a_plain_count_and_forget_erased_comments_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&format!("sqlite://{}/t.db", dir.path().display()))
        .await
        .unwrap();
    themes_story(store).await;
}

#[tokio::test]
async fn themes_equal_a_plain_count_and_forget_erased_comments_on_postgres() {
    let Some((store, _database)) = common::postgres_store().await else {
        return;
    };
    themes_story(store).await;
}
