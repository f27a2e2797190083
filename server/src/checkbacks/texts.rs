//! What a check-back says, in every language the card speaks: the mail with its eleven links
//! and the page a link opens. `{site}` is filled in.

/// One language's words.
pub struct Texts {
    pub lang: &'static str,
    pub subject: &'static str,
    /// Above the links.
    pub intro: &'static str,
    /// The question, on the page.
    pub question: &'static str,
    /// Under the links, the ends of the scale.
    pub scale: &'static str,
    pub confirm: &'static str,
    pub thanks: &'static str,
    pub already: &'static str,
    pub invalid: &'static str,
}

const TEXTS: [Texts; 9] = [
    Texts {
        lang: "en",
        subject: "One question from {site}",
        intro: "Hello,\n\nThank you for giving us the chance to put things right. How likely are you now to recommend {site} to a friend or colleague? Choose a number:",
        question: "How likely are you now to recommend {site}?",
        scale: "0 = not at all likely, 10 = extremely likely",
        confirm: "Send my answer",
        thanks: "Thank you! Your answer has been recorded.",
        already: "Thank you, we already have your answer.",
        invalid: "This link does not work: it was changed, or it has expired. Nothing was recorded.",
    },
    Texts {
        lang: "et",
        subject: "Üks küsimus: {site}",
        intro: "Tere!\n\nAitäh, et andsite meile võimaluse asi korda teha. Kui tõenäoliselt soovitaksite nüüd {site} sõbrale või kolleegile? Valige number:",
        question: "Kui tõenäoliselt soovitaksite nüüd {site}?",
        scale: "0 = üldse mitte tõenäoliselt, 10 = väga tõenäoliselt",
        confirm: "Saada vastus",
        thanks: "Aitäh! Teie vastus on salvestatud.",
        already: "Aitäh, teie vastus on meil juba olemas.",
        invalid: "See link ei tööta: seda on muudetud või see on aegunud. Midagi ei salvestatud.",
    },
    Texts {
        lang: "pl",
        subject: "Jedno pytanie od {site}",
        intro: "Dzień dobry,\n\nDziękujemy za szansę naprawienia sytuacji. Jak prawdopodobne jest teraz, że polecisz {site} znajomemu lub współpracownikowi? Wybierz liczbę:",
        question: "Jak prawdopodobne jest teraz, że polecisz {site}?",
        scale: "0 = zupełnie nieprawdopodobne, 10 = bardzo prawdopodobne",
        confirm: "Wyślij odpowiedź",
        thanks: "Dziękujemy! Twoja odpowiedź została zapisana.",
        already: "Dziękujemy, mamy już Twoją odpowiedź.",
        invalid: "Ten link nie działa: został zmieniony albo wygasł. Nic nie zapisano.",
    },
    Texts {
        lang: "fi",
        subject: "Yksi kysymys: {site}",
        intro: "Hei,\n\nKiitos, että annoit meille mahdollisuuden korjata asian. Kuinka todennäköisesti suosittelisit nyt {site}-palvelua ystävälle tai kollegalle? Valitse numero:",
        question: "Kuinka todennäköisesti suosittelisit nyt {site}-palvelua?",
        scale: "0 = en lainkaan todennäköisesti, 10 = erittäin todennäköisesti",
        confirm: "Lähetä vastaus",
        thanks: "Kiitos! Vastauksesi on tallennettu.",
        already: "Kiitos, vastauksesi on jo meillä.",
        invalid: "Tämä linkki ei toimi: sitä on muutettu tai se on vanhentunut. Mitään ei tallennettu.",
    },
    Texts {
        lang: "lv",
        subject: "Viens jautājums no {site}",
        intro: "Labdien!\n\nPaldies, ka devāt mums iespēju visu labot. Cik ticami ir, ka tagad ieteiktu {site} draugam vai kolēģim? Izvēlieties skaitli:",
        question: "Cik ticami ir, ka tagad ieteiktu {site}?",
        scale: "0 = nepavisam neticami, 10 = ļoti ticami",
        confirm: "Nosūtīt atbildi",
        thanks: "Paldies! Jūsu atbilde ir saglabāta.",
        already: "Paldies, jūsu atbilde mums jau ir.",
        invalid: "Šī saite nedarbojas: tā ir mainīta vai tai beidzies derīgums. Nekas netika saglabāts.",
    },
    Texts {
        lang: "lt",
        subject: "Vienas klausimas iš {site}",
        intro: "Laba diena,\n\nDėkojame, kad suteikėte mums galimybę viską ištaisyti. Kiek tikėtina, kad dabar rekomenduotumėte {site} draugui ar kolegai? Pasirinkite skaičių:",
        question: "Kiek tikėtina, kad dabar rekomenduotumėte {site}?",
        scale: "0 = visiškai netikėtina, 10 = labai tikėtina",
        confirm: "Siųsti atsakymą",
        thanks: "Ačiū! Jūsų atsakymas įrašytas.",
        already: "Ačiū, jūsų atsakymą jau turime.",
        invalid: "Ši nuoroda neveikia: ji buvo pakeista arba nebegalioja. Niekas neįrašyta.",
    },
    Texts {
        lang: "ru",
        subject: "Один вопрос от {site}",
        intro: "Здравствуйте!\n\nСпасибо, что дали нам возможность всё исправить. Насколько вероятно, что теперь вы порекомендуете {site} другу или коллеге? Выберите число:",
        question: "Насколько вероятно, что теперь вы порекомендуете {site}?",
        scale: "0 = совсем маловероятно, 10 = очень вероятно",
        confirm: "Отправить ответ",
        thanks: "Спасибо! Ваш ответ сохранён.",
        already: "Спасибо, ваш ответ у нас уже есть.",
        invalid: "Эта ссылка не работает: её изменили или срок её действия истёк. Ничего не сохранено.",
    },
    Texts {
        lang: "de",
        subject: "Eine Frage von {site}",
        intro: "Guten Tag,\n\ndanke, dass Sie uns die Gelegenheit gegeben haben, die Sache in Ordnung zu bringen. Wie wahrscheinlich ist es jetzt, dass Sie {site} einem Freund oder Kollegen empfehlen? Wählen Sie eine Zahl:",
        question: "Wie wahrscheinlich ist es jetzt, dass Sie {site} empfehlen?",
        scale: "0 = überhaupt nicht wahrscheinlich, 10 = äußerst wahrscheinlich",
        confirm: "Antwort senden",
        thanks: "Vielen Dank! Ihre Antwort wurde gespeichert.",
        already: "Vielen Dank, wir haben Ihre Antwort bereits.",
        invalid: "Dieser Link funktioniert nicht: Er wurde verändert oder ist abgelaufen. Es wurde nichts gespeichert.",
    },
    Texts {
        lang: "ar",
        subject: "سؤال واحد من {site}",
        intro: "مرحبًا،\n\nشكرًا لأنك منحتنا الفرصة لتصحيح الأمور. ما مدى احتمال أن توصي الآن بـ {site} لصديق أو زميل؟ اختر رقمًا:",
        question: "ما مدى احتمال أن توصي الآن بـ {site}؟",
        scale: "0 = غير محتمل على الإطلاق، 10 = محتمل جدًا",
        confirm: "أرسل إجابتي",
        thanks: "شكرًا لك! تم تسجيل إجابتك.",
        already: "شكرًا لك، لدينا إجابتك بالفعل.",
        invalid: "هذا الرابط لا يعمل: فقد تم تغييره أو انتهت صلاحيته. لم يُسجَّل أي شيء.",
    },
];

/// The words for `lang`; English when the card does not speak it.
pub fn of(lang: Option<&str>) -> &'static Texts {
    TEXTS
        .iter()
        .find(|texts| Some(texts.lang) == lang)
        .unwrap_or(&TEXTS[0])
}

/// Whether the language is written right to left.
pub fn right_to_left(texts: &Texts) -> bool {
    texts.lang == "ar"
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_language_of_the_card_has_a_check_back() {
        let mut ours: Vec<&str> = super::TEXTS.iter().map(|texts| texts.lang).collect();
        let mut bank: Vec<&str> = crate::surveys::bank::codes().collect();
        ours.sort_unstable();
        bank.sort_unstable();
        assert_eq!(ours, bank);
        for texts in &super::TEXTS {
            for text in [texts.subject, texts.intro, texts.question] {
                assert!(text.contains("{site}"), "{}: {text}", texts.lang);
            }
        }
    }
}
