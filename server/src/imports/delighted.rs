//! Delighted's CSV export of survey responses. Delighted documented its response record (API
//! v1, "Listing survey responses": id, person, survey_type, score, comment, permalink,
//! created_at, updated_at, person_properties, notes, tags) and its web export wrote one column
//! per field with the person's email and name and one column per person property; the column
//! titles varied over the years ("Response ID" or "ID", "Response timestamp" or "Created at"),
//! so columns are found by any of their known titles, without regard to case. Every column this
//! reader does not know is a person property and becomes an attribute (within the card's
//! limits). Delighted's respondents were mailed by the owner, so an email is kept as an address
//! with consent; the name is not kept.

use std::io::Read;

use soovita_wire::MAX_ATTRIBUTES;

use super::{
    attributes, bare, column, csv_reader, fields, header, records, required, row_key, FileError,
    Line, Refusal, Target,
};
use crate::responses::StoredResponse;

const ID: &[&str] = &["Response ID", "ID", "response_id", "id"];
const SCORE: &[&str] = &["Score", "score"];
const COMMENT: &[&str] = &["Comment", "comment"];
const TIME: &[&str] = &[
    "Response timestamp",
    "Created at",
    "created_at",
    "Response Date",
    "Date",
    "Timestamp",
];
const EMAIL: &[&str] = &["Email", "Person email", "E-mail", "email"];
/// Columns read and left out, or of no use here.
const LEFT_OUT: &[&str] = &[
    "Name",
    "Person name",
    "Person ID",
    "Person",
    "Survey type",
    "Permalink",
    "Updated at",
    "updated_at",
    "Notes",
    "Tags",
    "Delighted ID",
    "Phone number",
    "Channel",
];

pub(super) fn read(
    reader: Box<dyn Read + Send>,
    target: &Target,
    delimiter: u8,
    emit: &mut dyn FnMut(Line) -> bool,
) -> Result<Vec<String>, FileError> {
    let mut csv = csv_reader(reader, delimiter);
    let header = header(&mut csv)?;
    let hint = ": is this Delighted's responses export?";
    let score = required(&header, SCORE, hint)?;
    let time = required(&header, TIME, hint)?;
    let (id, comment, email) = (
        column(&header, ID),
        column(&header, COMMENT),
        column(&header, EMAIL),
    );
    let known: Vec<usize> = [Some(score), Some(time), id, comment, email]
        .into_iter()
        .flatten()
        .collect();
    let mut properties = Vec::new();
    let mut notes = Vec::new();
    for (n, title) in header.iter().enumerate() {
        if known.contains(&n) || LEFT_OUT.iter().any(|left| title.eq_ignore_ascii_case(left)) {
            continue;
        }
        match fields::attribute_name(title) {
            Some(name) if properties.len() < MAX_ATTRIBUTES => properties.push((n, name)),
            Some(_) => notes.push(format!(
                "column {title:?} left out: a response keeps at most {MAX_ATTRIBUTES} attributes"
            )),
            None => notes.push(format!(
                "column {title:?} left out: no letters or digits in its name"
            )),
        }
    }
    let columns = Columns {
        id,
        score,
        comment,
        time,
        email,
    };
    records(
        &mut csv,
        |line, record| row(line, record, target, &columns, &properties),
        emit,
    )?;
    Ok(notes)
}

/// Where each field is.
struct Columns {
    id: Option<usize>,
    score: usize,
    comment: Option<usize>,
    time: usize,
    email: Option<usize>,
}

fn row(
    line: u64,
    record: &csv::StringRecord,
    target: &Target,
    columns: &Columns,
    properties: &[(usize, String)],
) -> Result<StoredResponse, Refusal> {
    let cell = |n: usize| record.get(n).unwrap_or_default();
    let refuse = |column: &str, reason: String| Refusal {
        line,
        column: column.to_owned(),
        reason,
    };
    let score = fields::score(cell(columns.score)).map_err(|reason| refuse("Score", reason))?;
    let created_at_ms =
        fields::time(cell(columns.time)).map_err(|reason| refuse("Response timestamp", reason))?;
    let comment = match columns.comment {
        Some(n) => fields::comment(cell(n)).map_err(|reason| refuse("Comment", reason))?,
        None => None,
    };
    let email = match columns.email {
        Some(n) => fields::email(cell(n)).map_err(|reason| refuse("Email", reason))?,
        None => None,
    };
    let attributes = attributes(record, properties).map_err(|(n, reason)| {
        let name = properties
            .iter()
            .find(|(at, _)| *at == n)
            .map(|(_, name)| name);
        refuse(name.map_or("a property", String::as_str), reason)
    })?;
    let id = target.stable_id("delighted", &row_key(columns.id.map(cell), record));
    let mut response = bare(id, score, created_at_ms, Some("import:delighted"));
    response.comment = comment;
    response.contact_consent = email.as_ref().map(|_| true);
    response.email = email;
    response.attributes = attributes;
    target
        .check_times(&response)
        .map_err(|(column, reason)| refuse(&column, reason))?;
    Ok(response)
}
