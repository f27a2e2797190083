//! Which responses a figure, a list or an export covers: a date range, a page, a language, a
//! device class and a survey version, all optional, as query parameters of the results and
//! export endpoints and of the console.

use serde::Deserialize;
use thiserror::Error;
use time::macros::format_description;
use time::Date;

use soovita_wire::DeviceClass;

use crate::db::Value;
use crate::domain::SiteId;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The filter as the query string gives it. Values are taken as given, not trimmed, so that the
/// patterns in the OpenAPI document say exactly what is accepted; an empty one (as an HTML form
/// sends it) means no filter. The date pattern leaves out February 29th (the server takes it in
/// leap years); everything else in it is exact.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterQuery {
    /// The first day (UTC, `YYYY-MM-DD`) of responses to count.
    #[param(
        pattern = r"^([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|[0-9]{4}-(0[13-9]|1[0-2])-(29|30)|[0-9]{4}-(0[13578]|1[02])-31)?$"
    )]
    pub from: Option<String>,
    /// The last day (UTC, `YYYY-MM-DD`), included.
    #[param(
        pattern = r"^([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|[0-9]{4}-(0[13-9]|1[0-2])-(29|30)|[0-9]{4}-(0[13578]|1[02])-31)?$"
    )]
    pub to: Option<String>,
    /// Only responses given on this page path, e.g. `/checkout`.
    #[param(pattern = "^(/[\\s\\S]{0,499})?$")]
    pub page: Option<String>,
    /// Only responses in this language, e.g. `et`.
    #[param(pattern = "^([A-Za-z0-9-]{2,12})?$")]
    pub lang: Option<String>,
    /// Only responses from `phone`, `tablet` or `desktop`.
    #[param(pattern = "^(phone|tablet|desktop)?$")]
    pub device: Option<String>,
    /// Only answers to this survey version.
    #[param(pattern = "^([0-9]{1,9})?$")]
    pub version: Option<String>,
    /// Only responses from this source: `widget` (this server's card) or an import's, e.g.
    /// `import:delighted`.
    #[param(pattern = "^([A-Za-z0-9:_.-]{1,60})?$")]
    pub source: Option<String>,
}

/// A checked filter; `None` everywhere covers every response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseFilter {
    /// Responses created at or after this instant.
    pub from_ms: Option<i64>,
    /// Responses created before this instant.
    pub until_ms: Option<i64>,
    pub page_path: Option<String>,
    pub lang: Option<String>,
    pub device: Option<&'static str>,
    pub survey_version: Option<i64>,
    /// `widget`, or an import's source.
    pub source: Option<String>,
}

/// The conditions of a [`ResponseFilter`] on the responses aliased `r`, as parameters `$2` to
/// `$8` (bound by [`ResponseFilter::site_and_values`], the site as `$1`); a null parameter lets
/// every response through.
pub const FILTERED: &str = " AND ($2 IS NULL OR r.created_at_ms >= $2) \
     AND ($3 IS NULL OR r.created_at_ms < $3) AND ($4 IS NULL OR r.page_path = $4) \
     AND ($5 IS NULL OR r.lang = $5) AND ($6 IS NULL OR r.device_class = $6) \
     AND ($7 IS NULL OR r.survey_version = $7) \
     AND ($8 IS NULL OR COALESCE(r.source, 'widget') = $8)";

impl ResponseFilter {
    /// Whether its dates, if any, are whole UTC days (the console's and the API's always are):
    /// only then can a figure come from per-day rollups.
    pub fn whole_days(&self) -> bool {
        [self.from_ms, self.until_ms]
            .into_iter()
            .flatten()
            .all(|ms| ms % DAY_MS == 0)
    }

    /// `$1` to `$8` of a query using [`FILTERED`].
    pub fn site_and_values(&self, site: &SiteId) -> [Value; 8] {
        [
            site.as_str().into(),
            self.from_ms.into(),
            self.until_ms.into(),
            self.page_path.as_deref().into(),
            self.lang.as_deref().into(),
            self.device.into(),
            self.survey_version.into(),
            self.source.as_deref().into(),
        ]
    }
}

/// A filter parameter that cannot be applied, named.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum InvalidFilter {
    #[error("{0}={1:?} is not a date: use YYYY-MM-DD")]
    Date(&'static str, String),
    #[error("from is after to: the range is empty")]
    EmptyRange,
    #[error("page={0:?} is not a page path: start it with / (at most 500 characters)")]
    Page(String),
    #[error("lang={0:?} is not a language: use a code like et or pt-br")]
    Lang(String),
    #[error("device={0:?} is not a device class: use phone, tablet or desktop")]
    Device(String),
    #[error("version={0:?} is not a survey version: use its number, e.g. 2")]
    Version(String),
    #[error("source={0:?} is not a source: use widget or an import's, e.g. import:delighted")]
    Source(String),
}

impl FilterQuery {
    /// The parameters given, as a query string: the console's links (exports, a term's page)
    /// keep the filter the owner sees.
    pub fn to_query_string(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        let fields = [
            ("from", &self.from),
            ("to", &self.to),
            ("page", &self.page),
            ("lang", &self.lang),
            ("device", &self.device),
            ("version", &self.version),
            ("source", &self.source),
        ];
        for (name, value) in fields {
            if let Some(value) = value.as_deref().filter(|v| !v.trim().is_empty()) {
                query.append_pair(name, value);
            }
        }
        query.finish()
    }

    /// Checks every parameter; empty ones (as an HTML form sends them) mean no filter.
    pub fn parse(&self) -> Result<ResponseFilter, InvalidFilter> {
        let given = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        let day = |name: &'static str, value: Option<String>| {
            value
                .map(|text| {
                    Date::parse(&text, format_description!("[year]-[month]-[day]"))
                        .map(|date| date.midnight().assume_utc().unix_timestamp() * 1000)
                        .map_err(|_| InvalidFilter::Date(name, text))
                })
                .transpose()
        };
        let from_ms = day("from", given(&self.from))?;
        let until_ms = day("to", given(&self.to))?.map(|to| to + DAY_MS);
        if matches!((from_ms, until_ms), (Some(from), Some(until)) if from >= until) {
            return Err(InvalidFilter::EmptyRange);
        }
        let page_path = given(&self.page)
            .map(|page| {
                if page.starts_with('/') && page.chars().count() <= 500 {
                    Ok(page)
                } else {
                    Err(InvalidFilter::Page(page))
                }
            })
            .transpose()?;
        let lang = given(&self.lang)
            .map(|lang| {
                let valid = (2..=12).contains(&lang.len())
                    && lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
                if valid {
                    Ok(lang.to_ascii_lowercase())
                } else {
                    Err(InvalidFilter::Lang(lang))
                }
            })
            .transpose()?;
        let device = given(&self.device)
            .map(|device| {
                [
                    DeviceClass::Phone,
                    DeviceClass::Tablet,
                    DeviceClass::Desktop,
                ]
                .into_iter()
                .map(DeviceClass::as_str)
                .find(|name| *name == device)
                .ok_or(InvalidFilter::Device(device))
            })
            .transpose()?;
        Ok(ResponseFilter {
            from_ms,
            until_ms,
            page_path,
            lang,
            device,
            survey_version: given(&self.version)
                .map(|version| {
                    let digits = version.len() <= 9 && version.bytes().all(|b| b.is_ascii_digit());
                    match version.parse::<u32>() {
                        Ok(number) if digits => Ok(i64::from(number)),
                        _ => Err(InvalidFilter::Version(version)),
                    }
                })
                .transpose()?,
            source: given(&self.source)
                .map(|source| {
                    let valid = source.len() <= 60
                        && source
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b":_.-".contains(&b));
                    if valid {
                        Ok(source)
                    } else {
                        Err(InvalidFilter::Source(source))
                    }
                })
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> FilterQuery {
        let mut query = FilterQuery::default();
        for &(name, value) in pairs {
            let slot = match name {
                "from" => &mut query.from,
                "to" => &mut query.to,
                "page" => &mut query.page,
                "lang" => &mut query.lang,
                "device" => &mut query.device,
                "source" => &mut query.source,
                _ => &mut query.version,
            };
            *slot = Some(value.to_owned());
        }
        query
    }

    #[test]
    fn days_are_whole_utc_days_and_empty_fields_filter_nothing() {
        let filter = query(&[
            ("from", "2026-11-01"),
            ("to", "2026-11-01"),
            ("page", ""),
            ("device", "phone"),
        ])
        .parse()
        .unwrap();
        assert_eq!(filter.from_ms, Some(1_793_491_200_000));
        assert_eq!(filter.until_ms, Some(1_793_491_200_000 + DAY_MS));
        assert_eq!((filter.page_path, filter.device), (None, Some("phone")));
        assert_eq!(query(&[]).parse().unwrap(), ResponseFilter::default());
    }

    #[test]
    fn each_bad_parameter_is_named() {
        let bad = |pairs: &[(&str, &str)]| query(pairs).parse().unwrap_err();
        assert_eq!(
            bad(&[("from", "1.11.2026")]),
            InvalidFilter::Date("from", "1.11.2026".into())
        );
        assert_eq!(
            bad(&[("from", "2026-11-02"), ("to", "2026-11-01")]),
            InvalidFilter::EmptyRange
        );
        assert_eq!(
            bad(&[("page", "checkout")]),
            InvalidFilter::Page("checkout".into())
        );
        assert_eq!(bad(&[("lang", "e;t")]), InvalidFilter::Lang("e;t".into()));
        assert_eq!(
            bad(&[("device", "watch")]),
            InvalidFilter::Device("watch".into())
        );
        assert_eq!(
            bad(&[("version", "v2")]),
            InvalidFilter::Version("v2".into())
        );
    }
}
