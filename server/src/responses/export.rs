//! Turning stored responses into what the export endpoint sends.

use std::borrow::Cow;
use std::sync::Arc;

use std::collections::BTreeMap;

use soovita_wire::{
    Category, DeviceClass, Dimension, EffortDriver, ExportedResponse, ExportedStatement,
    PageContext,
};
use time::macros::format_description;
use time::OffsetDateTime;

use axum::body::Body;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use futures_util::stream;

use super::filter::ResponseFilter;
use super::{ResponseKey, ResponseStore, StoredResponse, PAGE_SIZE};
use crate::db::StoreError;
use crate::domain::SiteId;

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
        source: response.source,
    }
}

/// A stored JSON object of strings; empty if absent (or, after a manual edit, unreadable).
fn json_map(stored: Option<&str>) -> BTreeMap<String, String> {
    stored
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default()
}

/// RFC 3339 in UTC with exactly three fractional digits, so that timestamps sort as text.
pub(crate) fn rfc3339(unix_ms: i64) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .ok()
        .and_then(|time| time.format(&format).ok())
        .unwrap_or_default()
}

/// The CSV header; one column per answer of the loyalty flow. Statements share one column,
/// `id=answer` pairs separated by `; `, with `-` for a statement shown but not answered.
pub const CSV_HEADER: [&str; 20] = [
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
    "source",
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
/// admin API and the console's export links both send. The body streams a page of responses at
/// a time, so a million-response export starts at once and never sits whole in memory. The
/// first page is read before answering, so a database that is down still gets its error status;
/// a failure later cuts the body short, which clients see as an incomplete download.
pub async fn download(
    store: Arc<dyn ResponseStore>,
    site: SiteId,
    filter: ResponseFilter,
    format: ExportFormat,
) -> Result<Response, StoreError> {
    let first = store
        .responses_page(&site, &filter, None, PAGE_SIZE)
        .await?;
    let content_type = match format {
        ExportFormat::Json => "application/json",
        ExportFormat::Csv => "text/csv; charset=utf-8",
    };
    let pages = Pages {
        store,
        site: site.clone(),
        filter,
        format,
        ready: Some(first),
        after: None,
        started: false,
    };
    let body = Body::from_stream(stream::unfold(pages, Pages::next_chunk));
    let mut response = ([(CONTENT_TYPE, content_type)], body).into_response();
    if format == ExportFormat::Csv {
        // The site id is hex, so the file name needs no further escaping.
        let disposition = format!("attachment; filename=\"soovita-{site}-responses.csv\"");
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            response.headers_mut().insert(CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}

/// Where a streaming export stands.
struct Pages {
    store: Arc<dyn ResponseStore>,
    site: SiteId,
    filter: ResponseFilter,
    format: ExportFormat,
    /// A page read but not yet sent.
    ready: Option<Vec<StoredResponse>>,
    /// The last response sent; `None` once the last page has gone.
    after: Option<ResponseKey>,
    /// Whether the opening (CSV header, JSON `[`) has gone.
    started: bool,
}

impl Pages {
    /// The next piece of the body: a page of rows, the closing with the last one; `None` after.
    async fn next_chunk(mut self) -> Option<(Result<Vec<u8>, StoreError>, Self)> {
        let page = match self.ready.take() {
            Some(page) => page,
            None if self.after.is_some() => {
                let read = self
                    .store
                    .responses_page(&self.site, &self.filter, self.after.as_ref(), PAGE_SIZE)
                    .await;
                match read {
                    Ok(page) => page,
                    Err(error) => {
                        self.after = None;
                        return Some((Err(error), self));
                    }
                }
            }
            None => return None,
        };
        let last = page.len() < PAGE_SIZE as usize;
        let key = page.last().map(ResponseKey::of);
        let rows: Vec<ExportedResponse> = page.into_iter().map(exported).collect();
        let mut chunk = match self.format {
            ExportFormat::Csv => csv_rows(&rows, !self.started),
            ExportFormat::Json => json_items(&rows, !self.started),
        };
        if last && self.format == ExportFormat::Json {
            chunk.push(b']');
        }
        self.started = true;
        self.after = if last { None } else { key };
        Some((Ok(chunk), self))
    }
}

/// Elements of a JSON array: the `[` first if `opening`, else a comma before each.
fn json_items(responses: &[ExportedResponse], opening: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for (index, response) in responses.iter().enumerate() {
        out.push(if opening && index == 0 { b'[' } else { b',' });
        // Strings, numbers, maps of strings: serializing cannot fail.
        out.extend(serde_json::to_vec(response).unwrap_or_default());
    }
    if opening && responses.is_empty() {
        out.push(b'[');
    }
    out
}

/// CSV rows, after the header if `header`; every cell safe to open in a spreadsheet.
fn csv_rows(responses: &[ExportedResponse], header: bool) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut write = |row: [&str; 20]| {
        writer
            .write_record(row.map(spreadsheet_safe).iter().map(|cell| cell.as_bytes()))
            .expect("writing to a Vec cannot fail");
    };
    if header {
        write(CSV_HEADER);
    }
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
            response.source.as_deref().unwrap_or(""),
        ]);
    }
    writer.into_inner().expect("writing to a Vec cannot fail")
}

/// Spreadsheets run a cell that starts with one of these as a formula (OWASP "CSV injection");
/// a leading apostrophe makes them show it as text. Excel in locales whose list separator is
/// `;` (Estonian, German, French…) splits a cell there, so every `;`-separated part is a cell
/// start too.
fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    let dangerous = |part: &str| part.starts_with(['=', '+', '-', '@', '\t', '\r', '\0']);
    if !cell.split(';').any(dangerous) {
        return Cow::Borrowed(cell);
    }
    let parts: Vec<String> = cell
        .split(';')
        .map(|part| {
            if dangerous(part) {
                format!("'{part}")
            } else {
                part.to_owned()
            }
        })
        .collect();
    Cow::Owned(parts.join(";"))
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
                crate::responses::StoredStatement {
                    id: "trust.honest".into(),
                    dimension: "trust".into(),
                    answer: Some(4),
                },
                crate::responses::StoredStatement {
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
            source: None,
        })
    }

    #[test]
    fn formula_cells_are_defused() {
        for dangerous in ["=HYPERLINK(\"x\")", "+1", "-1+1", "@SUM(A1)", "\tx", "\rx"] {
            let csv = String::from_utf8(csv_rows(&[response(dangerous)], true)).unwrap();
            let row = csv.lines().nth(1).unwrap();
            let comment_cell = row.split(',').nth(7).unwrap();
            assert!(
                comment_cell.trim_start_matches('"').starts_with('\''),
                "{dangerous:?} became {comment_cell:?}"
            );
        }
    }

    #[test]
    fn formulas_after_a_semicolon_and_after_nul_are_defused() {
        for (dangerous, safe) in [
            (
                "ok;=HYPERLINK(\"http://x\")",
                "ok;'=HYPERLINK(\"\"http://x\"\")",
            ),
            ("a;b;+1;@x", "a;b;'+1;'@x"),
            ("\0=1", "'\0=1"),
        ] {
            let csv = String::from_utf8(csv_rows(&[response(dangerous)], true)).unwrap();
            assert!(csv.contains(safe), "{dangerous:?} became {csv}");
        }
        assert_eq!(spreadsheet_safe("plain; text"), "plain; text");
    }

    #[test]
    fn csv_has_a_header_and_one_row_per_response() {
        let csv = String::from_utf8(csv_rows(&[response("Fast, friendly")], true)).unwrap();
        let lines: Vec<_> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "response_id,created_at,updated_at,survey_version,lang,score,category,comment,\
             statements,effort,effort_drivers,contact_consent,email,page_path,page_query,referrer,device,\
             utm,attributes,source"
        );
        assert_eq!(
            lines[1],
            "3f2b8c1e-7a4d-4e8b-9c0a-1b2c3d4e5f60,1970-01-01T00:00:00.000Z,1970-01-01T00:00:01.500Z,\
             1,et,3,detractor,\"Fast, friendly\",trust.honest=4; fairness.respect=-,2,\
             \"contacted_again,transferred\",true,mari@example.ee,/kassa,tellimus=42,,phone,\
             utm_source=uudiskiri,plan=pro,"
        );
    }
}
