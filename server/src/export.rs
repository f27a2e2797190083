//! Turning stored responses into what the export endpoint sends.

use std::borrow::Cow;

use std::collections::BTreeMap;

use soovita_wire::{
    Category, DeviceClass, Dimension, EffortDriver, ExportedResponse, ExportedStatement,
    PageContext,
};
use time::macros::format_description;
use time::OffsetDateTime;

use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::domain::SiteId;
use crate::filter::ResponseFilter;
use crate::store::{Store, StoreError, StoredResponse};

/// The API form of a stored response.
pub fn exported(response: StoredResponse) -> ExportedResponse {
    ExportedResponse {
        category: Category::from_score(response.score),
        response_id: response.id,
        score: response.score,
        survey_version: response.survey_version,
        lang: response.lang,
        comment: response.comment,
        statements: response
            .statements
            .into_iter()
            .filter_map(|s| {
                Some(ExportedStatement {
                    dimension: Dimension::of_statement(&s.id)?,
                    id: s.id,
                    answer: s.answer,
                })
            })
            .collect(),
        effort: response.effort,
        effort_drivers: response
            .effort_drivers
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter_map(|name| EffortDriver::ALL.into_iter().find(|d| d.as_str() == name))
            .collect(),
        contact_consent: response.contact_consent,
        email: response.email,
        context: response.page_path.map(|path| PageContext {
            path,
            query: response.page_query,
            utm: json_map(response.utm.as_deref()),
            referrer: response.referrer,
            device: match response.device.as_deref() {
                Some("phone") => DeviceClass::Phone,
                Some("tablet") => DeviceClass::Tablet,
                _ => DeviceClass::Desktop,
            },
        }),
        attributes: json_map(response.attributes.as_deref()),
        created_at: rfc3339(response.created_at_ms),
        updated_at: rfc3339(response.updated_at_ms),
    }
}

/// A stored JSON object of strings; empty if absent (or, after a manual edit, unreadable).
fn json_map(stored: Option<&str>) -> BTreeMap<String, String> {
    stored
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default()
}

/// RFC 3339 in UTC with exactly three fractional digits, so that timestamps sort as text.
fn rfc3339(unix_ms: i64) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .ok()
        .and_then(|time| time.format(&format).ok())
        .unwrap_or_default()
}

/// The CSV header; one column per answer of the loyalty flow. Statements share one column,
/// `id=answer` pairs separated by `; `, with `-` for a statement shown but not answered.
const CSV_HEADER: [&str; 19] = [
    "response_id",
    "created_at",
    "updated_at",
    "survey_version",
    "lang",
    "score",
    "category",
    "comment",
    "statements",
    "effort",
    "effort_drivers",
    "contact_consent",
    "email",
    "page_path",
    "page_query",
    "referrer",
    "device",
    "utm",
    "attributes",
];

/// How an export is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// A JSON array of [`ExportedResponse`].
    Json,
    /// A CSV file download named after the site.
    Csv,
}

impl ExportFormat {
    /// `json` or `csv`.
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "json" => Some(Self::Json),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }
}

/// The responses of `site` that `filter` covers, every answer included, in `format`: what the
/// admin API and the console's export links both send.
pub async fn download(
    store: &dyn Store,
    site: &SiteId,
    filter: &ResponseFilter,
    format: ExportFormat,
) -> Result<Response, StoreError> {
    let responses: Vec<_> = store
        .filtered_responses(site, filter)
        .await?
        .into_iter()
        .map(exported)
        .collect();
    Ok(match format {
        ExportFormat::Json => Json(responses).into_response(),
        ExportFormat::Csv => {
            // The site id is hex, so the file name needs no further escaping.
            let disposition = format!("attachment; filename=\"soovita-{site}-responses.csv\"");
            (
                [
                    (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (CONTENT_DISPOSITION, disposition),
                ],
                to_csv(&responses),
            )
                .into_response()
        }
    })
}

/// A CSV file with a header row, every cell safe to open in a spreadsheet.
pub fn to_csv(responses: &[ExportedResponse]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut write = |row: [&str; 19]| {
        writer
            .write_record(row.map(spreadsheet_safe).iter().map(|cell| cell.as_bytes()))
            .expect("writing to a Vec cannot fail");
    };
    write(CSV_HEADER);
    let text = |value: Option<String>| value.unwrap_or_default();
    let pairs = |map: &BTreeMap<String, String>| {
        let pairs: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.join("; ")
    };
    for response in responses {
        let statements: Vec<String> = response
            .statements
            .iter()
            .map(|s| {
                format!(
                    "{}={}",
                    s.id,
                    s.answer.map_or("-".into(), |a| a.to_string())
                )
            })
            .collect();
        let drivers: Vec<&str> = response.effort_drivers.iter().map(|d| d.as_str()).collect();
        write([
            &response.response_id,
            &response.created_at,
            &response.updated_at,
            &text(response.survey_version.map(|v| v.to_string())),
            response.lang.as_deref().unwrap_or(""),
            &response.score.to_string(),
            response.category.as_str(),
            response.comment.as_deref().unwrap_or(""),
            &statements.join("; "),
            &text(response.effort.map(|e| e.to_string())),
            &drivers.join(","),
            &text(response.contact_consent.map(|c| c.to_string())),
            response.email.as_deref().unwrap_or(""),
            response.context.as_ref().map_or("", |c| c.path.as_str()),
            response
                .context
                .as_ref()
                .and_then(|c| c.query.as_deref())
                .unwrap_or(""),
            response
                .context
                .as_ref()
                .and_then(|c| c.referrer.as_deref())
                .unwrap_or(""),
            response.context.as_ref().map_or("", |c| c.device.as_str()),
            &response
                .context
                .as_ref()
                .map(|c| pairs(&c.utm))
                .unwrap_or_default(),
            &pairs(&response.attributes),
        ]);
    }
    writer.into_inner().expect("writing to a Vec cannot fail")
}

/// Spreadsheets run a cell that starts with one of these as a formula (OWASP "CSV injection");
/// a leading apostrophe makes them show it as text.
fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(comment: &str) -> ExportedResponse {
        exported(StoredResponse {
            id: "3f2b8c1e-7a4d-4e8b-9c0a-1b2c3d4e5f60".into(),
            score: 3,
            comment: Some(comment.into()),
            survey_version: Some(1),
            lang: Some("et".into()),
            statements: vec![
                crate::store::StoredStatement {
                    id: "trust.honest".into(),
                    dimension: "trust".into(),
                    answer: Some(4),
                },
                crate::store::StoredStatement {
                    id: "fairness.respect".into(),
                    dimension: "fairness".into(),
                    answer: None,
                },
            ],
            effort: Some(2),
            effort_drivers: Some("contacted_again,transferred".into()),
            contact_consent: Some(true),
            email: Some("mari@example.ee".into()),
            page_path: Some("/kassa".into()),
            page_query: Some("tellimus=42".into()),
            referrer: None,
            device: Some("phone".into()),
            utm: Some(r#"{"utm_source":"uudiskiri"}"#.into()),
            attributes: Some(r#"{"plan":"pro"}"#.into()),
            created_at_ms: 0,
            updated_at_ms: 1_500,
        })
    }

    #[test]
    fn formula_cells_are_defused() {
        for dangerous in ["=HYPERLINK(\"x\")", "+1", "-1+1", "@SUM(A1)", "\tx", "\rx"] {
            let csv = String::from_utf8(to_csv(&[response(dangerous)])).unwrap();
            let row = csv.lines().nth(1).unwrap();
            let comment_cell = row.split(',').nth(7).unwrap();
            assert!(
                comment_cell.trim_start_matches('"').starts_with('\''),
                "{dangerous:?} became {comment_cell:?}"
            );
        }
    }

    #[test]
    fn csv_has_a_header_and_one_row_per_response() {
        let csv = String::from_utf8(to_csv(&[response("Fast, friendly")])).unwrap();
        let lines: Vec<_> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "response_id,created_at,updated_at,survey_version,lang,score,category,comment,\
             statements,effort,effort_drivers,contact_consent,email,page_path,page_query,referrer,device,\
             utm,attributes"
        );
        assert_eq!(
            lines[1],
            "3f2b8c1e-7a4d-4e8b-9c0a-1b2c3d4e5f60,1970-01-01T00:00:00.000Z,1970-01-01T00:00:01.500Z,\
             1,et,3,detractor,\"Fast, friendly\",trust.honest=4; fairness.respect=-,2,\
             \"contacted_again,transferred\",true,mari@example.ee,/kassa,tellimus=42,,phone,\
             utm_source=uudiskiri,plan=pro"
        );
    }
}
