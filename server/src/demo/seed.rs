//! A history for the demo site, so that its console shows what the product does: about 2,000
//! responses over the last 180 days in five languages, with comments, loyalty statements,
//! effort answers and contact requests whose cases are in every state. Drawn from a fixed seed,
//! so every run and every machine gets the same history; written once.

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use soovita_wire::{Category, EffortDriver};
use tokio::task::JoinSet;

use crate::domain::{Comment, ResponseId, Score, SiteId};
use crate::inbox::FollowUpStatus;
use crate::responses::{ResponseUpdate, StatementUpdate};
use crate::store::prelude::*;
use crate::surveys::bank;

const RESPONSES: usize = 2_000;
const DAYS: i64 = 180;
const DAY_MS: i64 = 86_400_000;
const SEED: u64 = 20_261_205;

/// Languages with their share of visitors, and comments per category: detractor, passive,
/// promoter. Written for a café that also delivers, as its visitors would.
const LANGUAGES: [(&str, u32, [&[&str]; 3]); 5] = [
    (
        "et",
        40,
        [
            &[
                "Tellimus tuli tund aega hiljem ja kohv oli külm.",
                "Hinnad on viimasel ajal liiga kõrgeks läinud.",
                "Kodulehel ei saanud tellimust muuta, pidin helistama.",
                "Kulleri kohta ei tulnud ühtegi teadet.",
                "Leib oli kuivanud, kook purunenud.",
                "Helistasin kaks korda, keegi ei vastanud.",
            ],
            &[
                "Kohv on hea, aga kohaletoimetamine võiks kiirem olla.",
                "Üldiselt korras, hinnad veidi krõbedad.",
                "Maitsev, kuid valik võiks suurem olla.",
                "Leht on natuke segane, aga tellimus jõudis kohale.",
            ],
            &[
                "Parim kaerapiimaga cappuccino linnas!",
                "Sõbralik teenindus ja alati õigel ajal.",
                "Kaneelirullid on imelised, tellin iga nädal.",
                "Kiire kohaletoimetamine ja kõik oli soe.",
                "Tore, et meeldejäetakse mu tavaline tellimus.",
            ],
        ],
    ),
    (
        "en",
        25,
        [
            &[
                "Delivery was an hour late and the coffee arrived cold.",
                "Prices went up again, not worth it any more.",
                "The website kept logging me out at checkout.",
                "Wrong order, and nobody answered the phone.",
                "Rude staff at the counter this morning.",
            ],
            &[
                "Good coffee, but the delivery slot was too wide.",
                "Fine overall, a bit pricey for what it is.",
                "Tasty pastries, the app could be simpler.",
                "Okay, though the queue was long.",
            ],
            &[
                "Best flat white in town, friendly staff.",
                "Always on time and the courier is lovely.",
                "The cinnamon buns are worth the trip.",
                "Great value lunch deal, I come back every week.",
                "Fast delivery, everything still warm.",
            ],
        ],
    ),
    (
        "pl",
        15,
        [
            &[
                "Dostawa spóźniona o godzinę, kawa zimna.",
                "Ceny są za wysokie w porównaniu z innymi.",
                "Strona internetowa nie działała przy płatności.",
                "Nikt nie odpowiedział na mój e-mail.",
            ],
            &[
                "Kawa dobra, ale dostawa mogłaby być szybsza.",
                "W porządku, choć trochę drogo.",
                "Smaczne ciasta, ale mały wybór.",
            ],
            &[
                "Najlepsze cappuccino w mieście!",
                "Bardzo miła obsługa i szybka dostawa.",
                "Pyszne bułeczki cynamonowe, polecam.",
                "Zawsze na czas i wszystko ciepłe.",
            ],
        ],
    ),
    (
        "de",
        10,
        [
            &[
                "Die Lieferung kam eine Stunde zu spät, der Kaffee war kalt.",
                "Die Preise sind zu hoch geworden.",
                "Die Webseite ist beim Bezahlen abgestürzt.",
                "Unfreundliches Personal an der Theke.",
            ],
            &[
                "Guter Kaffee, aber die Lieferung dauert zu lange.",
                "Insgesamt in Ordnung, etwas teuer.",
                "Leckerer Kuchen, die Auswahl ist klein.",
            ],
            &[
                "Der beste Kaffee der Stadt, sehr freundlich.",
                "Schnelle Lieferung, alles noch warm.",
                "Die Zimtschnecken sind großartig.",
                "Immer pünktlich, gerne wieder.",
            ],
        ],
    ),
    (
        "ru",
        10,
        [
            &[
                "Доставка опоздала на час, кофе остыл.",
                "Цены слишком высокие.",
                "Сайт не принимал оплату картой.",
                "Никто не ответил на звонок.",
            ],
            &[
                "Кофе хороший, но доставка могла бы быть быстрее.",
                "В целом неплохо, но дороговато.",
                "Вкусная выпечка, но выбор небольшой.",
            ],
            &[
                "Лучший капучино в городе!",
                "Очень приветливый персонал и быстрая доставка.",
                "Обожаю их булочки с корицей.",
                "Всегда вовремя, всё тёплое.",
            ],
        ],
    ),
];

const PAGES: [(&str, u32); 5] = [
    ("/", 30),
    ("/menu", 20),
    ("/order", 20),
    ("/checkout/done", 20),
    ("/delivery", 10),
];

fn pick<'a, T>(rng: &mut StdRng, weighted: &'a [(T, u32)]) -> &'a T {
    let total: u32 = weighted.iter().map(|(_, w)| w).sum();
    let mut at = rng.random_range(0..total);
    for (item, weight) in weighted {
        if at < *weight {
            return item;
        }
        at -= weight;
    }
    &weighted[0].0
}

/// A score for a day `age` days ago: the café improves over the half year, from an NPS around
/// +5 to one around +40, so the trend has something to show.
fn score(rng: &mut StdRng, age: i64) -> u8 {
    let progress = 1.0 - age as f64 / DAYS as f64;
    let promoter = 0.35 + 0.2 * progress;
    let detractor = 0.3 - 0.15 * progress;
    let draw: f64 = rng.random();
    if draw < promoter {
        rng.random_range(9..=10)
    } else if draw < promoter + detractor {
        rng.random_range(0..=6)
    } else {
        rng.random_range(7..=8)
    }
}

/// How strongly agreement with a dimension's statements goes with the score, and how far it
/// sits from the middle: the café's weak spot is its delivery (service quality), which is what
/// the drivers then point at, as a real site's would.
fn leaning_of(dimension: soovita_wire::Dimension) -> (f64, f64) {
    use soovita_wire::Dimension::*;
    match dimension {
        ServiceQuality => (0.9, -0.7),
        Fairness => (0.6, -0.3),
        Satisfaction => (0.7, 0.0),
        Trust => (0.5, 0.3),
        CommercialFriendship => (0.5, 0.5),
        _ => (0.3, 0.1),
    }
}

/// Whether the demo site already has its history: the seed runs once.
async fn seeded(store: &dyn Store, site: &SiteId) -> anyhow::Result<bool> {
    let filter = crate::responses::filter::ResponseFilter::default();
    Ok(!store
        .responses_page(site, &filter, None, 1)
        .await?
        .is_empty())
}

/// Writes the history unless the site has responses already; returns how many it wrote.
pub async fn seed(store: Arc<dyn Store>, site: &SiteId, now_ms: i64) -> anyhow::Result<usize> {
    if seeded(store.as_ref(), site).await? {
        return Ok(0);
    }
    let mut rng = StdRng::seed_from_u64(SEED);
    let statements: Vec<&'static str> = bank::statement_ids().collect();
    let languages: Vec<(usize, u32)> = LANGUAGES
        .iter()
        .enumerate()
        .map(|(i, (_, weight, _))| (i, *weight))
        .collect();
    let mut cases = Vec::new();
    let mut writes = JoinSet::new();
    for n in 0..RESPONSES {
        let age = rng.random_range(0..DAYS);
        let at = now_ms - age * DAY_MS - rng.random_range(0..DAY_MS);
        let score = score(&mut rng, age);
        let category = Category::from_score(score);
        let slot = match category {
            Category::Detractor => 0,
            Category::Passive => 1,
            Category::Promoter => 2,
        };
        let (lang, _, comments) = LANGUAGES[*pick(&mut rng, &languages)];
        let comment = rng.random_bool(0.45).then(|| {
            let texts = comments[slot];
            texts[rng.random_range(0..texts.len())].to_owned()
        });
        // Three statements, agreement going with the score.
        let mut shown = Vec::new();
        for _ in 0..3 {
            let id = statements[rng.random_range(0..statements.len())];
            if shown.iter().any(|s: &StatementUpdate| s.id == id) {
                continue;
            }
            let dimension = bank::statement_dimension(id)
                .ok_or_else(|| anyhow::anyhow!("the bank names {id}"))?;
            let (weight, offset) = leaning_of(dimension);
            let leaning = 3.2
                + offset
                + weight * (f64::from(score) - 6.0) / 2.5
                + rng.random_range(-1.6..1.6);
            shown.push(StatementUpdate {
                id: id.to_owned(),
                dimension,
                answer: rng
                    .random_bool(0.9)
                    .then(|| leaning.round().clamp(1.0, 5.0) as u8),
            });
        }
        let unhappy = category != Category::Promoter;
        let effort = (unhappy && rng.random_bool(0.8)).then(|| {
            let easy = 1.0 + f64::from(score) / 1.6 + rng.random_range(-1.0..1.0);
            easy.round().clamp(1.0, 7.0) as u8
        });
        let drivers = effort.filter(|effort| *effort <= 4).map(|_| {
            EffortDriver::ALL
                .into_iter()
                .filter(|_| rng.random_bool(0.35))
                .map(EffortDriver::as_str)
                .collect::<Vec<_>>()
                .join(",")
        });
        let consent = unhappy && rng.random_bool(0.3);
        // Drawn from the seed too, version 4 in form: the same history on every machine.
        let id = ResponseId::parse(
            &uuid::Builder::from_random_bytes(rng.random())
                .into_uuid()
                .to_string(),
        )?;
        if consent {
            cases.push((id, at, score));
        }
        let update = ResponseUpdate {
            id,
            score: Score::try_from(i32::from(score))?,
            comment: Comment::parse(comment)?,
            survey_version: 1,
            lang: bank::language(lang).map(|(code, _)| code),
            statements: shown,
            effort,
            effort_drivers: drivers.filter(|d| !d.is_empty()),
            contact_consent: unhappy.then_some(consent),
            email: consent.then(|| format!("visitor{n}@example.com")),
            page_path: Some((*pick(&mut rng, &PAGES)).to_owned()),
            page_query: None,
            referrer: None,
            device: Some(*pick(
                &mut rng,
                &[("phone", 55), ("desktop", 35), ("tablet", 10)],
            )),
            utm: None,
            attributes: None,
        };
        let (store, site) = (store.clone(), site.clone());
        writes.spawn(async move { store.upsert_response(&site, &update, at).await });
        // The writer commits what is waiting as one batch; a few hundred at a time keep it full.
        if writes.len() >= 256 {
            while let Some(written) = writes.join_next().await {
                written??;
            }
        }
    }
    while let Some(written) = writes.join_next().await {
        written??;
    }
    // Cases in every state: the older, the more likely handled, first contact within hours.
    for (id, at, score) in cases {
        let age_days = (now_ms - at) / DAY_MS;
        let contacted = at + rng.random_range(1..48) * 3_600_000;
        if age_days < 2 || contacted > now_ms || rng.random_bool(0.15) {
            continue;
        }
        let note = if score <= 6 {
            "Called back, apologised, sent a voucher."
        } else {
            "Wrote back, thanked for the idea."
        };
        store
            .follow_up(site, &id, FollowUpStatus::Contacted, note, contacted)
            .await?;
        let resolved = contacted + rng.random_range(1..96) * 3_600_000;
        if age_days > 7 && resolved < now_ms && rng.random_bool(0.7) {
            store
                .follow_up(site, &id, FollowUpStatus::Resolved, note, resolved)
                .await?;
            // Most resolved detractors were asked once more; those who answered show the
            // recovery rate on the results page.
            let asked = resolved + 86_400_000;
            if score <= 6 && asked < now_ms && rng.random_bool(0.6) {
                store
                    .start_check_back(site, &id, asked, asked + 30 * DAY_MS)
                    .await?;
                if rng.random_bool(0.7) {
                    let now_answer = if rng.random_bool(0.6) {
                        rng.random_range(7..=10)
                    } else {
                        rng.random_range(score..=6)
                    };
                    store
                        .answer_check_back(&id, now_answer, asked + 3_600_000)
                        .await?;
                }
            }
        }
    }
    Ok(RESPONSES)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::{seed, DAY_MS, RESPONSES};
    use crate::domain::SiteId;
    use crate::inbox::FollowUpStatus;
    use crate::results::{results, TrendInterval};
    use crate::sites::{register, SiteSettings};
    use crate::store::{self, prelude::*};

    async fn seeded_site(
        dir: &tempfile::TempDir,
        now_ms: i64,
    ) -> (std::sync::Arc<dyn Store>, SiteId) {
        let store = store::open(&format!("sqlite://{}/demo.db", dir.path().display()))
            .await
            .unwrap();
        let registered = register(
            store.as_ref(),
            SiteSettings {
                name: "Kohvik",
                origins: &["https://kohvik.example".to_owned()],
                sample_percent: 100,
                cooldown_days: 0,
                retention_days: 730,
                honor_do_not_track: false,
            },
        )
        .await
        .unwrap();
        let site = SiteId::parse(&registered.site_id).unwrap();
        assert_eq!(seed(store.clone(), &site, now_ms).await.unwrap(), RESPONSES);
        (store, site)
    }

    #[tokio::test]
    async fn the_demo_history_is_the_same_everywhere_written_once_and_worth_a_look() {
        let now_ms = 1_796_000_000_000;
        let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (store, site) = seeded_site(&first, now_ms).await;
        let (other, other_site) = seeded_site(&second, now_ms).await;
        let answers = |responses: Vec<crate::responses::StoredResponse>| {
            responses
                .into_iter()
                .map(|r| (r.id, r.score, r.comment, r.lang, r.created_at_ms))
                .collect::<Vec<_>>()
        };
        let written = answers(store.responses(&site).await.unwrap());
        assert_eq!(written.len(), RESPONSES);
        assert_eq!(
            written,
            answers(other.responses(&other_site).await.unwrap()),
            "one seed, one history"
        );

        assert_eq!(
            seed(store.clone(), &site, now_ms).await.unwrap(),
            0,
            "a second run adds nothing"
        );
        assert_eq!(store.responses(&site).await.unwrap().len(), RESPONSES);

        let languages: BTreeSet<Option<String>> = written.iter().map(|w| w.3.clone()).collect();
        assert_eq!(languages.len(), 5, "{languages:?}");
        assert!(written
            .iter()
            .all(|w| w.4 > now_ms - 181 * DAY_MS && w.4 <= now_ms));
        let figures = results(
            &store.result_sums(&site, &Default::default()).await.unwrap(),
            TrendInterval::Month,
        );
        assert!(figures.trend.len() >= 6, "{:?}", figures.trend);
        assert!(figures.key_drivers.len() >= 3 && figures.focus.is_some());
        assert!(figures.effort.is_some_and(|effort| effort.answers > 100));
        let cases = store.inbox(&site, 500).await.unwrap();
        for status in [
            FollowUpStatus::New,
            FollowUpStatus::Contacted,
            FollowUpStatus::Resolved,
        ] {
            assert!(
                cases.iter().filter(|case| case.status == status).count() >= 10,
                "{status:?}"
            );
        }
        let recovery =
            crate::checkbacks::Recovery::of(&store.check_back_answers(&site).await.unwrap());
        assert!(
            recovery.recovered.whole >= 5 && recovery.recovered.part > 0,
            "the demo shows a recovery rate: {recovery:?}"
        );
    }
}
