//! Any CSV with a header row, through a mapping given on the command line
//! (`--score-column Score --time-column Date …`), for other tools' exports.

use std::io::Read;

use soovita_wire::MAX_ATTRIBUTES;

use super::{
    attributes, bare, csv_reader, fields, header, records, required, row_key, FileError, Line,
    Refusal, Target,
};
use crate::responses::StoredResponse;

/// Which column holds what; only the score and the time are required.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Mapping {
    pub score: String,
    pub time: String,
    pub comment: Option<String>,
    pub email: Option<String>,
    /// The source's own response id; without one, a row is known by its content.
    pub id: Option<String>,
    /// A language code per row (`et`, `de`…).
    pub lang: Option<String>,
    /// Columns kept as attributes, each under its column's name made an attribute name.
    pub attributes: Vec<String>,
}

/// A mapped column that is missing.
fn find(header: &[String], title: &str) -> Result<usize, FileError> {
    required(
        header,
        &[title],
        ": check the --…-column flags against the header",
    )
}

impl Mapping {
    pub(super) fn read(
        &self,
        reader: Box<dyn Read + Send>,
        target: &Target,
        delimiter: u8,
        emit: &mut dyn FnMut(Line) -> bool,
    ) -> Result<Vec<String>, FileError> {
        let mut csv = csv_reader(reader, delimiter);
        let header = header(&mut csv)?;
        let optional =
            |title: &Option<String>| title.as_deref().map(|t| find(&header, t)).transpose();
        let score = find(&header, &self.score)?;
        let time = find(&header, &self.time)?;
        let (comment, email, id, lang) = (
            optional(&self.comment)?,
            optional(&self.email)?,
            optional(&self.id)?,
            optional(&self.lang)?,
        );
        if self.attributes.len() > MAX_ATTRIBUTES {
            return Err(FileError::TooManyAttributes(self.attributes.len()));
        }
        let mut kept = Vec::new();
        for title in &self.attributes {
            let n = find(&header, title)?;
            let name = fields::attribute_name(title).ok_or_else(|| FileError::MissingColumn {
                wanted: format!("{title:?} as an attribute"),
                found: header.join(", "),
                hint: ": an attribute's column needs letters or digits in its name".into(),
            })?;
            kept.push((n, name));
        }
        records(
            &mut csv,
            |line, record| {
                let cell = |n: usize| record.get(n).unwrap_or_default();
                let refuse = |n: usize, reason: String| Refusal {
                    line,
                    column: header[n].clone(),
                    reason,
                };
                let score_value = fields::score(cell(score)).map_err(|r| refuse(score, r))?;
                let at = fields::time(cell(time)).map_err(|r| refuse(time, r))?;
                let mut response: StoredResponse = bare(
                    target.stable_id("csv", &row_key(id.map(cell), record)),
                    score_value,
                    at,
                    Some("import:csv"),
                );
                if let Some(n) = comment {
                    response.comment = fields::comment(cell(n)).map_err(|r| refuse(n, r))?;
                }
                if let Some(n) = email {
                    response.email = fields::email(cell(n)).map_err(|r| refuse(n, r))?;
                    response.contact_consent = response.email.as_ref().map(|_| true);
                }
                if let Some(n) = lang {
                    let code = cell(n).trim().to_ascii_lowercase();
                    if !code.is_empty() {
                        let (known, _) =
                            crate::surveys::bank::language(&code).ok_or_else(|| {
                                refuse(n, format!("{code:?} is not a language of the card"))
                            })?;
                        response.lang = Some(known.to_owned());
                    }
                }
                response.attributes =
                    attributes(record, &kept).map_err(|(n, reason)| refuse(n, reason))?;
                target
                    .check_times(&response)
                    .map_err(|(column, reason)| Refusal {
                        line,
                        column,
                        reason,
                    })?;
                Ok(response)
            },
            emit,
        )?;
        Ok(Vec::new())
    }
}
