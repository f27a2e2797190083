//! The automatic acknowledgement: soon after a visitor asks to be contacted, a short note in
//! their language that the message arrived and when someone will write. Only for sites that
//! switched it on, only for responses from then on, and once per case (its mail id is derived
//! from the case, so a second server queueing it adds nothing).

use soovita_wire::Category;

use super::store::Acknowledgement;
use super::Stores;
use crate::db::StoreError;
use crate::domain::ResponseId;
use crate::mail::{MailKind, MailOptions, OutgoingMail};

/// Cases acknowledged per look; the rest wait for the next.
const BATCH: u32 = 100;

/// (language, subject, body); `{site}` and `{hours}` are filled in.
const TEXTS: [(&str, &str, &str); 9] = [
    ("en", "We have your message, {site}", "Hello,\n\nThank you for your feedback. We have your message, and someone from {site} will write to you within {hours} hours.\n\nBest regards"),
    ("et", "Teie sõnum jõudis kohale: {site}", "Tere!\n\nAitäh tagasiside eest. Teie sõnum jõudis meieni ja keegi {site} meeskonnast kirjutab teile {hours} tunni jooksul.\n\nParimate soovidega"),
    ("pl", "Mamy Twoją wiadomość, {site}", "Dzień dobry,\n\nDziękujemy za opinię. Otrzymaliśmy Twoją wiadomość i ktoś z {site} napisze do Ciebie w ciągu {hours} godz.\n\nZ poważaniem"),
    ("fi", "Viestisi on perillä, {site}", "Hei,\n\nKiitos palautteestasi. Viestisi on perillä, ja joku {site}-tiimistä kirjoittaa sinulle {hours} tunnin kuluessa.\n\nYstävällisin terveisin"),
    ("lv", "Jūsu ziņa ir saņemta, {site}", "Labdien!\n\nPaldies par atsauksmi. Jūsu ziņa ir saņemta, un kāds no {site} jums rakstīs {hours} stundu laikā.\n\nAr cieņu"),
    ("lt", "Jūsų žinutę gavome, {site}", "Laba diena,\n\nAčiū už atsiliepimą. Jūsų žinutę gavome, ir kas nors iš {site} jums parašys per {hours} val.\n\nPagarbiai"),
    ("ru", "Мы получили ваше сообщение, {site}", "Здравствуйте!\n\nСпасибо за отзыв. Мы получили ваше сообщение, и сотрудник {site} напишет вам в течение {hours} ч.\n\nС уважением"),
    ("de", "Wir haben Ihre Nachricht, {site}", "Guten Tag,\n\ndanke für Ihr Feedback. Ihre Nachricht ist angekommen, und jemand von {site} schreibt Ihnen innerhalb von {hours} Stunden.\n\nMit freundlichen Grüßen"),
    ("ar", "وصلتنا رسالتك، {site}", "مرحبًا،\n\nشكرًا على ملاحظاتك. وصلتنا رسالتك، وسيكتب إليك أحد أعضاء فريق {site} خلال {hours} ساعة.\n\nمع أطيب التحيات"),
];

/// The acknowledgement's subject and body for a case.
pub(super) fn text(case: &Acknowledgement) -> (String, String) {
    let (_, subject, body) = TEXTS
        .iter()
        .find(|(code, _, _)| Some(*code) == case.lang.as_deref())
        .unwrap_or(&TEXTS[0]);
    let hours = match Category::from_score(case.score) {
        Category::Detractor => case.detractor_hours,
        _ => case.other_hours,
    };
    let fill = |text: &str| {
        text.replace("{site}", &case.site_name)
            .replace("{hours}", &hours.to_string())
    };
    (fill(subject), fill(body))
}

/// Queues an acknowledgement for every case due one; returns how many were queued.
pub(super) async fn acknowledge<S: Stores + ?Sized>(
    store: &S,
    mail: &MailOptions,
    now_ms: i64,
) -> Result<usize, StoreError> {
    let mut queued = 0;
    for case in store.due_acknowledgements(now_ms, BATCH).await? {
        let (subject, body) = text(&case);
        let reply_to = case
            .reply_to
            .clone()
            .unwrap_or_else(|| mail.from.email.to_string());
        let Ok(response) = ResponseId::parse(&case.response_id) else {
            continue;
        };
        match OutgoingMail::compose(
            MailKind::Acknowledgement,
            case.site_id.clone(),
            Some(response),
            &reply_to,
            &case.email,
            &subject,
            &body,
        ) {
            Ok(message) => {
                let message = message.with_id(format!("ack-{}", case.response_id));
                if store.queue_mail(&message, now_ms).await? {
                    queued += 1;
                }
            }
            // An address the card accepted but mail cannot go to: nothing to send, ever. The
            // error names the address, which must not reach the logs.
            Err(_) => tracing::debug!("no acknowledgement for a case: its address is unusable"),
        }
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SiteId;

    #[test]
    fn every_language_of_the_card_acknowledges_with_the_categorys_target() {
        let mut ours: Vec<&str> = TEXTS.iter().map(|(code, _, _)| *code).collect();
        let mut bank: Vec<&str> = crate::surveys::bank::codes().collect();
        ours.sort_unstable();
        bank.sort_unstable();
        assert_eq!(ours, bank);
        let case = |lang: &str, score| Acknowledgement {
            site_id: SiteId::generate(),
            site_name: "Kohvik".into(),
            response_id: String::new(),
            email: "mari@example.com".into(),
            lang: Some(lang.into()),
            score,
            detractor_hours: 24,
            other_hours: 72,
            reply_to: None,
        };
        let (subject, body) = text(&case("et", 3));
        assert_eq!(subject, "Teie sõnum jõudis kohale: Kohvik");
        assert!(body.contains("24 tunni jooksul"), "{body}");
        assert!(text(&case("de", 9)).1.contains("72 Stunden"));
        for (code, _, _) in TEXTS {
            let (subject, body) = text(&case(code, 5));
            assert!(!subject.contains('{') && !body.contains('{'), "{code}");
        }
    }
}
