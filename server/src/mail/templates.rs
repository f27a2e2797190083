//! The replies an owner starts from, per NPS category, in every language the card speaks: the
//! visitor is written to in the language they answered in. A site may keep its own wording of
//! each (`reply_templates`); these are the built-in ones. `{site}`, `{score}` and `{comment}`
//! are filled in when the composer opens; the owner edits the result before sending.
//! LOYALTY.md §5: thank, own the problem, say what happens next, and answer the happy ones too.

use soovita_wire::Category;

/// (language, [detractor, passive, promoter] as (subject, body)).
type Texts = (&'static str, [(&'static str, &'static str); 3]);

const TEMPLATES: [Texts; 9] = [
    ("en", [
        ("About your feedback to {site}", "Hello,\n\nThank you for telling us how {site} did. You gave us {score} out of 10, and you wrote:\n\n{comment}\n\nI am sorry we let you down. I am looking into what happened and will write again within a day with what we are doing about it.\n\nBest regards"),
        ("Thank you for your feedback to {site}", "Hello,\n\nThank you for your feedback. You gave {site} {score} out of 10:\n\n{comment}\n\nWhat would have made it a 10 for you? Your answer goes straight to me.\n\nBest regards"),
        ("Thank you from {site}", "Hello,\n\nThank you for the {score} out of 10, and for your kind words:\n\n{comment}\n\nIt means a lot to the whole team. If there is ever anything we can do better, just reply to this message.\n\nBest regards"),
    ]),
    ("et", [
        ("Teie tagasiside {site} kohta", "Tere!\n\nAitäh, et andsite teada, kuidas {site} hakkama sai. Andsite hindeks {score} 10-st ja kirjutasite:\n\n{comment}\n\nMul on kahju, et teid alt vedasime. Uurin juhtunut ja kirjutan teile ühe päeva jooksul, mida ette võtame.\n\nParimate soovidega"),
        ("Aitäh tagasiside eest, {site}", "Tere!\n\nAitäh tagasiside eest. Andsite {site} hindeks {score} 10-st:\n\n{comment}\n\nMis oleks teinud sellest teie jaoks kümne? Teie vastus jõuab otse minuni.\n\nParimate soovidega"),
        ("Suur aitäh, {site}", "Tere!\n\nSuur aitäh hinde {score} 10-st ja heade sõnade eest:\n\n{comment}\n\nSee tähendab kogu meeskonnale palju. Kui saame midagi paremini teha, vastake lihtsalt sellele kirjale.\n\nParimate soovidega"),
    ]),
    ("pl", [
        ("Twoja opinia o {site}", "Dzień dobry,\n\nDziękujemy za informację, jak poradził sobie {site}. Wystawiła Pani / wystawił Pan ocenę {score} na 10 i napisał(a):\n\n{comment}\n\nPrzykro mi, że Panią / Pana zawiedliśmy. Sprawdzam, co się stało, i w ciągu doby napiszę, co z tym robimy.\n\nZ poważaniem"),
        ("Dziękujemy za opinię o {site}", "Dzień dobry,\n\nDziękujemy za opinię. Ocena dla {site}: {score} na 10:\n\n{comment}\n\nCo sprawiłoby, że byłoby to 10? Odpowiedź trafi prosto do mnie.\n\nZ poważaniem"),
        ("Dziękujemy, {site}", "Dzień dobry,\n\nDziękujemy za ocenę {score} na 10 i za miłe słowa:\n\n{comment}\n\nTo wiele znaczy dla całego zespołu. Jeśli możemy coś poprawić, wystarczy odpowiedzieć na tę wiadomość.\n\nZ poważaniem"),
    ]),
    ("fi", [
        ("Palautteesi {site}-palvelulle", "Hei,\n\nKiitos, että kerroit, miten {site} onnistui. Annoit arvosanan {score}/10 ja kirjoitit:\n\n{comment}\n\nOlen pahoillani, että petimme odotuksesi. Selvitän tapahtunutta ja kirjoitan vuorokauden kuluessa, mitä asialle teemme.\n\nYstävällisin terveisin"),
        ("Kiitos palautteestasi, {site}", "Hei,\n\nKiitos palautteestasi. Annoit {site}-palvelulle arvosanan {score}/10:\n\n{comment}\n\nMikä olisi tehnyt siitä kympin? Vastauksesi tulee suoraan minulle.\n\nYstävällisin terveisin"),
        ("Kiitos, {site}", "Hei,\n\nKiitos arvosanasta {score}/10 ja ystävällisistä sanoistasi:\n\n{comment}\n\nSe merkitsee paljon koko tiimille. Jos voimme tehdä jotain paremmin, vastaa tähän viestiin.\n\nYstävällisin terveisin"),
    ]),
    ("lv", [
        ("Jūsu atsauksme par {site}", "Labdien!\n\nPaldies, ka pastāstījāt, kā {site} tika galā. Jūs novērtējāt ar {score} no 10 un rakstījāt:\n\n{comment}\n\nMan žēl, ka jūs pievīlām. Es noskaidroju, kas notika, un dienas laikā rakstīšu, ko darām.\n\nAr cieņu"),
        ("Paldies par atsauksmi, {site}", "Labdien!\n\nPaldies par atsauksmi. Jūs novērtējāt {site} ar {score} no 10:\n\n{comment}\n\nKas būtu padarījis to par 10? Jūsu atbilde nonāks tieši pie manis.\n\nAr cieņu"),
        ("Paldies, {site}", "Labdien!\n\nPaldies par vērtējumu {score} no 10 un jaukajiem vārdiem:\n\n{comment}\n\nTas daudz nozīmē visai komandai. Ja varam ko uzlabot, vienkārši atbildiet uz šo vēstuli.\n\nAr cieņu"),
    ]),
    ("lt", [
        ("Jūsų atsiliepimas apie {site}", "Laba diena,\n\nDėkojame, kad papasakojote, kaip sekėsi {site}. Įvertinote {score} iš 10 ir parašėte:\n\n{comment}\n\nApgailestauju, kad jus nuvylėme. Aiškinuosi, kas nutiko, ir per parą parašysiu, ką darome.\n\nPagarbiai"),
        ("Ačiū už atsiliepimą, {site}", "Laba diena,\n\nAčiū už atsiliepimą. {site} įvertinote {score} iš 10:\n\n{comment}\n\nKas būtų lėmę dešimtuką? Jūsų atsakymas pateks tiesiai man.\n\nPagarbiai"),
        ("Ačiū, {site}", "Laba diena,\n\nAčiū už įvertinimą {score} iš 10 ir malonius žodžius:\n\n{comment}\n\nTai labai daug reiškia visai komandai. Jei galime ką nors patobulinti, tiesiog atsakykite į šį laišką.\n\nPagarbiai"),
    ]),
    ("ru", [
        ("Ваш отзыв о {site}", "Здравствуйте!\n\nСпасибо, что рассказали, как справился {site}. Вы поставили {score} из 10 и написали:\n\n{comment}\n\nМне жаль, что мы вас подвели. Я разбираюсь в случившемся и в течение суток напишу, что мы делаем.\n\nС уважением"),
        ("Спасибо за отзыв, {site}", "Здравствуйте!\n\nСпасибо за отзыв. Вы оценили {site} на {score} из 10:\n\n{comment}\n\nЧто сделало бы эту оценку десяткой? Ваш ответ придёт прямо ко мне.\n\nС уважением"),
        ("Спасибо, {site}", "Здравствуйте!\n\nСпасибо за оценку {score} из 10 и добрые слова:\n\n{comment}\n\nЭто очень важно для всей команды. Если мы можем что-то улучшить, просто ответьте на это письмо.\n\nС уважением"),
    ]),
    ("de", [
        ("Ihr Feedback zu {site}", "Guten Tag,\n\ndanke, dass Sie uns gesagt haben, wie {site} abgeschnitten hat. Sie haben {score} von 10 gegeben und geschrieben:\n\n{comment}\n\nEs tut mir leid, dass wir Sie enttäuscht haben. Ich gehe der Sache nach und schreibe Ihnen innerhalb eines Tages, was wir unternehmen.\n\nMit freundlichen Grüßen"),
        ("Danke für Ihr Feedback zu {site}", "Guten Tag,\n\ndanke für Ihr Feedback. Sie haben {site} mit {score} von 10 bewertet:\n\n{comment}\n\nWas hätte daraus eine 10 gemacht? Ihre Antwort kommt direkt bei mir an.\n\nMit freundlichen Grüßen"),
        ("Vielen Dank von {site}", "Guten Tag,\n\nvielen Dank für die {score} von 10 und Ihre freundlichen Worte:\n\n{comment}\n\nDas bedeutet dem ganzen Team viel. Wenn wir etwas besser machen können, antworten Sie einfach auf diese Nachricht.\n\nMit freundlichen Grüßen"),
    ]),
    ("ar", [
        ("ملاحظاتك حول {site}", "مرحبًا،\n\nشكرًا لإخبارنا بتجربتك مع {site}. لقد منحتنا {score} من 10 وكتبت:\n\n{comment}\n\nيؤسفني أننا خيبنا ظنك. أنا أتحقق مما حدث وسأكتب إليك خلال يوم بما نفعله حيال ذلك.\n\nمع أطيب التحيات"),
        ("شكرًا على ملاحظاتك حول {site}", "مرحبًا،\n\nشكرًا على ملاحظاتك. لقد قيّمت {site} بـ {score} من 10:\n\n{comment}\n\nما الذي كان سيجعلها 10؟ سيصلني ردك مباشرة.\n\nمع أطيب التحيات"),
        ("شكرًا من {site}", "مرحبًا،\n\nشكرًا على تقييم {score} من 10 وعلى كلماتك اللطيفة:\n\n{comment}\n\nهذا يعني الكثير للفريق بأكمله. إذا كان بإمكاننا تحسين أي شيء، فما عليك سوى الرد على هذه الرسالة.\n\nمع أطيب التحيات"),
    ]),
];

/// A reply to start from, with its placeholders still in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub subject: String,
    pub body: String,
}

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 3] = ["{site}", "{score}", "{comment}"];

/// Why a site's own template cannot be saved.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidTemplate {
    #[error(
        "write a subject of at most {} characters, on one line",
        super::MAX_SUBJECT_CHARS
    )]
    Subject,
    #[error("write a message of at most {} characters", super::MAX_BODY_CHARS)]
    Body,
    #[error("remove the control character from the {0}")]
    ControlCharacter(&'static str),
    #[error("{0} is not a placeholder: use {{site}}, {{score}} or {{comment}}")]
    Placeholder(String),
    #[error("unknown language {0:?}: use one the card speaks")]
    Language(String),
}

impl Template {
    /// A template as an owner typed it, checked: the limits of a message, and no placeholder
    /// but [`PLACEHOLDERS`] (a typo such as `{name}` would reach the visitor as written).
    pub fn check(subject: &str, body: &str) -> Result<Self, InvalidTemplate> {
        let subject = crate::domain::plain_text("subject", subject.trim())
            .map_err(|_| InvalidTemplate::ControlCharacter("subject"))?;
        if subject.is_empty()
            || subject.contains('\n')
            || subject.chars().count() > super::MAX_SUBJECT_CHARS
        {
            return Err(InvalidTemplate::Subject);
        }
        let body = crate::domain::plain_text("message", body.trim())
            .map_err(|_| InvalidTemplate::ControlCharacter("message"))?;
        if body.is_empty() || body.chars().count() > super::MAX_BODY_CHARS {
            return Err(InvalidTemplate::Body);
        }
        for text in [&subject, &body] {
            let mut rest = text.as_str();
            while let Some(open) = rest.find('{') {
                let after = &rest[open..];
                let word = after.find('}').map_or(after, |close| &after[..=close]);
                if !PLACEHOLDERS.contains(&word) {
                    return Err(InvalidTemplate::Placeholder(
                        word.chars().take(40).collect(),
                    ));
                }
                rest = &after[word.len()..];
            }
        }
        Ok(Self { subject, body })
    }

    /// The subject and body for a case, with the placeholders filled in. Without a comment,
    /// its paragraph goes.
    pub fn fill(&self, site: &str, score: u8, comment: Option<&str>) -> (String, String) {
        let fill = |text: &str| {
            let text = text
                .replace("{site}", site)
                .replace("{score}", &score.to_string());
            match comment {
                Some(comment) => text.replace("{comment}", comment),
                None => text
                    .replace("\n\n{comment}\n\n", "\n\n")
                    .replace(":\n\n", ".\n\n")
                    .replace("{comment}", ""),
            }
        };
        (fill(&self.subject), fill(&self.body))
    }
}

/// The languages replies are written in, which are the card's.
pub fn languages() -> impl Iterator<Item = &'static str> {
    TEMPLATES.iter().map(|(code, _)| *code)
}

/// A language the card speaks, as a path or form names it.
pub fn language(code: &str) -> Result<&'static str, InvalidTemplate> {
    languages()
        .find(|known| *known == code)
        .ok_or_else(|| InvalidTemplate::Language(code.to_owned()))
}

/// The reply a case's composer opens with: the site's own wording for the visitor's language
/// and category, or the built-in one.
pub async fn for_case(
    store: &dyn super::MailStore,
    site: &crate::domain::SiteId,
    lang: Option<&str>,
    score: u8,
) -> Result<Template, crate::db::StoreError> {
    let category = Category::from_score(score);
    let lang = lang.and_then(|code| language(code).ok()).unwrap_or("en");
    Ok(match store.reply_template(site, lang, category).await? {
        Some(own) => own,
        None => builtin(Some(lang), category),
    })
}

/// The built-in reply for a category in a language; English when there is none for it.
pub fn builtin(lang: Option<&str>, category: Category) -> Template {
    let texts = TEMPLATES
        .iter()
        .find(|(code, _)| Some(*code) == lang)
        .unwrap_or(&TEMPLATES[0]);
    let slot = Category::ALL
        .iter()
        .position(|c| *c == category)
        .unwrap_or_default();
    let (subject, body) = texts.1[slot];
    Template {
        subject: subject.to_owned(),
        body: body.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{builtin, InvalidTemplate, Template, TEMPLATES};
    use soovita_wire::Category;

    fn default_reply(
        lang: Option<&str>,
        score: u8,
        site: &str,
        comment: Option<&str>,
    ) -> (String, String) {
        builtin(lang, Category::from_score(score)).fill(site, score, comment)
    }

    #[test]
    fn every_language_of_the_card_has_a_reply_for_every_category() {
        let codes: Vec<&str> = TEMPLATES.iter().map(|(code, _)| *code).collect();
        let mut bank: Vec<&str> = crate::surveys::bank::codes().collect();
        bank.sort_unstable();
        let mut ours = codes.clone();
        ours.sort_unstable();
        assert_eq!(ours, bank, "the card's languages and the replies' differ");
        for (code, texts) in TEMPLATES {
            for (subject, body) in texts {
                assert!(subject.contains("{site}"), "{code}: {subject}");
                for placeholder in ["{score}", "{comment}"] {
                    assert!(body.contains(placeholder), "{code}: {placeholder} missing");
                }
            }
        }
    }

    #[test]
    fn the_visitors_language_and_category_are_chosen_and_filled_in() {
        let (subject, body) = default_reply(Some("et"), 3, "Kohvik", Some("Kohv oli külm"));
        assert_eq!(subject, "Teie tagasiside Kohvik kohta");
        assert!(body.contains("Andsite hindeks 3 10-st") && body.contains("Kohv oli külm"));
        let (_, promoter) = default_reply(Some("de"), 10, "Kohvik", None);
        assert!(promoter.starts_with("Guten Tag") && !promoter.contains("{comment}"));
        let (subject, _) = default_reply(Some("xx"), 8, "Kohvik", None);
        assert_eq!(
            subject, "Thank you for your feedback to Kohvik",
            "English otherwise"
        );
    }

    #[test]
    fn a_sites_own_template_may_use_only_the_known_placeholders() {
        let ok = Template::check(" Hi from {site} ", "You gave {score}: {comment}").unwrap();
        assert_eq!(ok.subject, "Hi from {site}");
        assert_eq!(
            ok.fill("Kohvik", 4, Some("cold")),
            ("Hi from Kohvik".into(), "You gave 4: cold".into())
        );
        assert_eq!(
            Template::check("Hi {name}", "x"),
            Err(InvalidTemplate::Placeholder("{name}".into()))
        );
        assert_eq!(
            Template::check("Hi", "unclosed {site"),
            Err(InvalidTemplate::Placeholder("{site".into()))
        );
        assert_eq!(Template::check("a\nb", "x"), Err(InvalidTemplate::Subject));
        assert_eq!(Template::check("a", " "), Err(InvalidTemplate::Body));
    }
}
