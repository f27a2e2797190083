//! A site's settings as an owner types them in the console, checked field by field so that the
//! form can name every problem at once and keep what was typed.

use crate::domain::{plain_text, Origin};

/// The longest site name: it is shown inside the question, in every language.
pub const MAX_NAME_CHARS: usize = 80;

/// The settings as posted: text, as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SettingsForm {
    pub name: String,
    /// One origin per line.
    pub origins: String,
    pub sample_percent: String,
    pub cooldown_days: String,
    pub retention_days: String,
    /// A checkbox: present when ticked.
    pub honor_do_not_track: Option<String>,
}

/// The settings once every field is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedSettings {
    pub name: String,
    pub origins: Vec<Origin>,
    pub sample_percent: u8,
    pub cooldown_days: u16,
    pub retention_days: u16,
    pub honor_do_not_track: bool,
}

impl SettingsForm {
    /// The checked settings, or one message per problem, each naming its field (and, for
    /// origins, its line).
    pub fn check(&self) -> Result<CheckedSettings, Vec<String>> {
        let mut problems = Vec::new();
        let name = match plain_text("name", self.name.trim()) {
            Ok(name) if name.is_empty() => {
                problems
                    .push("Name: give the site a name; visitors see it in the question.".into());
                name
            }
            Ok(name) if name.chars().count() > MAX_NAME_CHARS || name.contains('\n') => {
                problems.push(format!(
                    "Name: one line of at most {MAX_NAME_CHARS} characters."
                ));
                name
            }
            Ok(name) => name,
            Err(_) => {
                problems.push("Name: remove the control character.".into());
                String::new()
            }
        };
        let mut origins = Vec::new();
        for (number, line) in (1..).zip(self.origins.lines()) {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match Origin::parse(line) {
                Ok(origin) if !origins.contains(&origin) => origins.push(origin),
                Ok(_) => {}
                Err(error) => problems.push(format!("Allowed origins, line {number}: {error}")),
            }
        }
        if origins.is_empty() && problems.iter().all(|p| !p.starts_with("Allowed origins")) {
            problems.push(
                "Allowed origins: add at least one, e.g. https://shop.example, where the survey \
                 may appear."
                    .into(),
            );
        }
        let mut number = |field: &str, raw: &str, max: u16, min: u16| -> u16 {
            match raw.trim().parse::<u16>() {
                Ok(n) if (min..=max).contains(&n) => n,
                _ => {
                    problems.push(format!("{field}: a whole number from {min} to {max}."));
                    0
                }
            }
        };
        let sample_percent = number("Share of visitors asked (%)", &self.sample_percent, 100, 0);
        let cooldown_days = number(
            "Days between two surveys to one visitor",
            &self.cooldown_days,
            3650,
            0,
        );
        let retention_days = number("Days a response is kept", &self.retention_days, 3650, 1);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(CheckedSettings {
            name,
            origins,
            sample_percent: u8::try_from(sample_percent).unwrap_or(100),
            cooldown_days,
            retention_days,
            honor_do_not_track: self.honor_do_not_track.is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::SettingsForm;

    fn form(name: &str, origins: &str) -> SettingsForm {
        SettingsForm {
            name: name.into(),
            origins: origins.into(),
            sample_percent: "100".into(),
            cooldown_days: "90".into(),
            retention_days: "730".into(),
            honor_do_not_track: Some("on".into()),
        }
    }

    #[test]
    fn every_refused_line_is_named_and_good_ones_are_kept() {
        let problems = form(
            "Kohvik",
            "https://kohvik.ee\nnot an origin\n\nftp://x.ee/path",
        )
        .check()
        .unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with("Allowed origins, line 2:"),
            "{problems:?}"
        );
        assert!(
            problems[1].starts_with("Allowed origins, line 4:"),
            "{problems:?}"
        );
        let checked = form(
            " Kohvik ",
            "https://kohvik.ee\nhttps://KOHVIK.ee/\nhttps://www.kohvik.ee",
        )
        .check()
        .unwrap();
        assert_eq!(checked.name, "Kohvik");
        assert_eq!(
            checked.origins.len(),
            2,
            "the same origin twice is kept once"
        );
        assert!(checked.honor_do_not_track);
    }

    #[test]
    fn a_missing_name_origin_or_number_is_named() {
        let mut bad = form("", "");
        bad.retention_days = "0".into();
        bad.sample_percent = "half".into();
        let problems = bad.check().unwrap_err();
        let fields: Vec<&str> = problems
            .iter()
            .map(|p| p.split(':').next().unwrap())
            .collect();
        assert_eq!(
            fields,
            [
                "Name",
                "Allowed origins",
                "Share of visitors asked (%)",
                "Days a response is kept"
            ]
        );
        assert!(form("a\u{7}b", "https://k.ee").check().is_err());
        assert!(form(&"x".repeat(81), "https://k.ee").check().is_err());
    }
}
