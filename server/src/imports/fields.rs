//! Reading one cell of an imported file into a value the responses table takes, with the
//! message a refused cell gets.

use soovita_wire::{is_valid_email, MAX_EMAIL_BYTES};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::domain::{plain_text, Comment};

/// A score: a whole number from 0 to 10.
pub fn score(raw: &str) -> Result<u8, String> {
    raw.trim()
        .parse::<u8>()
        .ok()
        .filter(|score| *score <= 10)
        .ok_or_else(|| format!("{raw:?} is not a score: write a whole number from 0 to 10"))
}

/// A comment within the card's limit, without control characters; empty is none.
pub fn comment(raw: &str) -> Result<Option<String>, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let text = plain_text("comment", text).map_err(|error| error.to_string())?;
    Comment::parse(Some(text))
        .map(|comment| comment.map(|c| c.as_str().to_owned()))
        .map_err(|error| error.to_string())
}

/// An email address as the card checks it; empty is none.
pub fn email(raw: &str) -> Result<Option<String>, String> {
    let address = raw.trim();
    if address.is_empty() {
        return Ok(None);
    }
    if address.len() <= MAX_EMAIL_BYTES && is_valid_email(address) {
        Ok(Some(address.to_owned()))
    } else {
        Err(format!(
            "{address:?} is not an email address like name@example.com"
        ))
    }
}

/// A time, as Unix milliseconds: RFC 3339 (`2024-04-18T05:34:20Z`, any offset), a date and
/// time in UTC (`2024-04-18 05:34:20`, with or without ` UTC` or `+0000`), a day
/// (`2024-04-18`, midnight UTC), or Unix seconds or milliseconds.
pub fn time(raw: &str) -> Result<i64, String> {
    let text = raw.trim();
    let refused = || {
        format!(
            "{text:?} is not a time this import reads: write 2024-04-18T05:34:20Z, \
             2024-04-18 05:34:20 (UTC), 2024-04-18 or Unix seconds"
        )
    };
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let number: i64 = text.parse().map_err(|_| refused())?;
        // Ten digits or fewer are seconds (until the year 2286); more are milliseconds.
        return Ok(if text.len() <= 10 {
            number * 1000
        } else {
            number
        });
    }
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(millis(at));
    }
    let plain = text
        .trim_end_matches(" UTC")
        .trim_end_matches(" +0000")
        .trim_end_matches(" +00:00");
    let with_seconds = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let with_minutes = format_description!("[year]-[month]-[day] [hour]:[minute]");
    let day = format_description!("[year]-[month]-[day]");
    PrimitiveDateTime::parse(plain, with_seconds)
        .or_else(|_| PrimitiveDateTime::parse(plain, with_minutes))
        .map(|at| millis(at.assume_utc()))
        .or_else(|_| time::Date::parse(plain, day).map(|date| millis(date.midnight().assume_utc())))
        .map_err(|_| refused())
}

pub(super) fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// A column name as an attribute name: letters and digits kept (lower-cased), everything else
/// one `_`, at most 40 characters; `None` if nothing is left.
pub fn attribute_name(column: &str) -> Option<String> {
    let mut name = String::new();
    for c in column.trim().chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.ends_with('_') {
            name.push('_');
        }
    }
    let name = name.trim_matches('_');
    let name: String = name
        .chars()
        .take(soovita_wire::MAX_ATTRIBUTE_NAME_CHARS)
        .collect();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_in_the_forms_exports_use_and_others_are_named() {
        let at = 1_713_418_460_000;
        for form in [
            "2024-04-18T05:34:20Z",
            "2024-04-18T08:34:20+03:00",
            "2024-04-18 05:34:20",
            "2024-04-18 05:34:20 UTC",
            "2024-04-18 05:34:20 +0000",
            "1713418460",
            "1713418460000",
        ] {
            assert_eq!(time(form), Ok(at), "{form}");
        }
        assert_eq!(time("2024-04-18"), Ok(1_713_398_400_000));
        for bad in ["18.04.2024", "04/18/2024 5:34 AM", "", "yesterday"] {
            assert!(time(bad).unwrap_err().contains("is not a time"), "{bad}");
        }
    }

    #[test]
    fn scores_comments_and_addresses_are_checked_as_the_card_checks_them() {
        assert_eq!(score(" 7 "), Ok(7));
        for bad in ["11", "n/a", "-1", "7.5", ""] {
            assert!(score(bad).unwrap_err().contains("not a score"), "{bad}");
        }
        assert_eq!(comment("  "), Ok(None));
        assert!(comment(&"x".repeat(soovita_wire::MAX_COMMENT_CHARS + 1))
            .unwrap_err()
            .contains("at most"));
        assert!(comment("bell\u{7}").is_err());
        assert_eq!(
            email("mari@example.com"),
            Ok(Some("mari@example.com".into()))
        );
        assert!(email("not an address").is_err());
        assert_eq!(
            attribute_name(" Purchase Experience "),
            Some("purchase_experience".into())
        );
        assert_eq!(
            attribute_name("Country/Region"),
            Some("country_region".into())
        );
        assert_eq!(attribute_name("¿?"), None);
    }
}
