//! Turning stored responses into what the export endpoint sends.

use std::borrow::Cow;

use soovita_wire::{Category, ExportedResponse};
use time::macros::format_description;
use time::OffsetDateTime;

use crate::store::StoredResponse;

/// The API form of a stored response.
pub fn exported(response: StoredResponse) -> ExportedResponse {
    ExportedResponse {
        category: Category::from_score(response.score),
        response_id: response.id,
        score: response.score,
        comment: response.comment,
        created_at: rfc3339(response.created_at_ms),
        updated_at: rfc3339(response.updated_at_ms),
    }
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

/// A CSV file with a header row, every cell safe to open in a spreadsheet.
pub fn to_csv(responses: &[ExportedResponse]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = [
        "response_id",
        "created_at",
        "updated_at",
        "score",
        "category",
        "comment",
    ];
    let mut write = |row: [&str; 6]| {
        writer
            .write_record(row.map(spreadsheet_safe).iter().map(|cell| cell.as_bytes()))
            .expect("writing to a Vec cannot fail");
    };
    write(header);
    for response in responses {
        write([
            &response.response_id,
            &response.created_at,
            &response.updated_at,
            &response.score.to_string(),
            response.category.as_str(),
            response.comment.as_deref().unwrap_or(""),
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
            created_at_ms: 0,
            updated_at_ms: 1_500,
        })
    }

    #[test]
    fn formula_cells_are_defused() {
        for dangerous in ["=HYPERLINK(\"x\")", "+1", "-1+1", "@SUM(A1)", "\tx", "\rx"] {
            let csv = String::from_utf8(to_csv(&[response(dangerous)])).unwrap();
            let comment_cell = csv.lines().nth(1).unwrap().rsplit(',').next().unwrap();
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
            "response_id,created_at,updated_at,score,category,comment"
        );
        assert_eq!(
            lines[1],
            "3f2b8c1e-7a4d-4e8b-9c0a-1b2c3d4e5f60,1970-01-01T00:00:00.000Z,1970-01-01T00:00:01.500Z,3,detractor,\"Fast, friendly\""
        );
    }
}
