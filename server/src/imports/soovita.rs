//! Soovita's own exports read back: the JSON array of `GET /v1/sites/{id}/responses` and the
//! CSV of the console's export, every field of either. Both become an [`ExportedResponse`]
//! first and are checked by one conversion, the ingest path's own checks where it has them.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};

use serde::de::{Deserializer as _, SeqAccess, Visitor};
use soovita_wire::{
    Category, DeviceClass, Dimension, EffortDriver, ExportedResponse, ExportedStatement,
    PageContext, AGREEMENT_RANGE, EFFORT_RANGE,
};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{csv_reader, fields, header, records, required, FileError, Line, Refusal, Target};
use crate::domain::{plain_text, ResponseId};
use crate::ingest::submission;
use crate::responses::export::CSV_HEADER;
use crate::responses::{StoredResponse, StoredStatement};

/// The longest `source` a row may carry.
const MAX_SOURCE_CHARS: usize = 60;

pub(super) fn read(
    reader: Box<dyn Read + Send>,
    target: &Target,
    delimiter: u8,
    emit: &mut dyn FnMut(Line) -> bool,
) -> Result<Vec<String>, FileError> {
    let mut reader = BufReader::new(reader);
    let json = loop {
        let buffer = reader.fill_buf()?;
        match buffer
            .iter()
            .position(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF)
        {
            Some(at) => break buffer[at] == b'[',
            None if buffer.is_empty() => return Err(FileError::Empty),
            None => {
                let all = buffer.len();
                reader.consume(all);
            }
        }
    };
    if json {
        read_json(reader, target, emit)
    } else {
        read_csv(Box::new(reader), target, delimiter, emit)
    }
}

/// The array, one element at a time: a million responses never sit in memory together.
fn read_json(
    reader: BufReader<Box<dyn Read + Send>>,
    target: &Target,
    emit: &mut dyn FnMut(Line) -> bool,
) -> Result<Vec<String>, FileError> {
    struct Elements<'a> {
        target: &'a Target,
        emit: &'a mut dyn FnMut(Line) -> bool,
    }
    impl<'de> Visitor<'de> for Elements<'_> {
        type Value = ();

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of responses")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut item = 0;
            while let Some(value) = seq.next_element::<serde_json::Value>()? {
                item += 1;
                let row = serde_json::from_value::<ExportedResponse>(value)
                    .map_err(|error| Refusal {
                        line: item,
                        column: "the whole item".into(),
                        reason: error.to_string(),
                    })
                    .and_then(|exported| stored(exported, self.target, item));
                if !(self.emit)(Line { line: item, row }) {
                    break;
                }
            }
            Ok(())
        }
    }
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    deserializer
        .deserialize_seq(Elements { target, emit })
        .map_err(|error| FileError::Json(error.to_string()))?;
    Ok(Vec::new())
}

fn read_csv(
    reader: Box<dyn Read + Send>,
    target: &Target,
    delimiter: u8,
    emit: &mut dyn FnMut(Line) -> bool,
) -> Result<Vec<String>, FileError> {
    let mut csv = csv_reader(reader, delimiter);
    let header = header(&mut csv)?;
    let hint = ": is this a Soovita CSV export?";
    for wanted in ["response_id", "created_at", "updated_at", "score"] {
        required(&header, &[wanted], hint)?;
    }
    let at = |name: &str| header.iter().position(|column| column == name);
    let columns: Vec<Option<usize>> = CSV_HEADER.iter().map(|name| at(name)).collect();
    records(
        &mut csv,
        |line, record| {
            let cell = |name: &str| -> String {
                let n = CSV_HEADER.iter().position(|known| *known == name);
                let raw = n
                    .and_then(|n| columns[n])
                    .and_then(|n| record.get(n))
                    .unwrap_or_default();
                unescape(raw)
            };
            let exported = exported_of_csv(&cell).map_err(|(column, reason)| Refusal {
                line,
                column: column.into(),
                reason,
            })?;
            stored(exported, target, line)
        },
        emit,
    )?;
    Ok(Vec::new())
}

/// Undoes what the export does against spreadsheet formulas: an apostrophe before a cell (or
/// a `;`-separated part of one) that starts with `=`, `+`, `-`, `@`, a tab or a carriage return.
fn unescape(cell: &str) -> String {
    cell.split(';')
        .map(|part| match part.strip_prefix('\'') {
            Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r', '\0']) => rest,
            _ => part,
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// `a=1; b=2` as a map.
fn pairs(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    for pair in text.split("; ").filter(|pair| !pair.is_empty()) {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("{pair:?} is not name=value"))?;
        map.insert(name.to_owned(), value.to_owned());
    }
    Ok(map)
}

fn exported_of_csv(
    cell: &dyn Fn(&str) -> String,
) -> Result<ExportedResponse, (&'static str, String)> {
    let optional = |name: &str| Some(cell(name)).filter(|value| !value.is_empty());
    let number = |name: &'static str| -> Result<Option<u32>, (&'static str, String)> {
        optional(name)
            .map(|value| {
                value
                    .parse()
                    .map_err(|_| (name, format!("{value:?} is not a whole number")))
            })
            .transpose()
    };
    let score = fields::score(&cell("score")).map_err(|reason| ("score", reason))?;
    let statements = optional("statements")
        .map(|text| {
            text.split("; ")
                .map(|pair| {
                    let (id, answer) = pair.split_once('=').ok_or_else(|| {
                        ("statements", format!("{pair:?} is not statement=answer"))
                    })?;
                    let dimension = Dimension::of_statement(id).ok_or_else(|| {
                        (
                            "statements",
                            format!("{id:?} is not a statement of the bank"),
                        )
                    })?;
                    let answer = match answer {
                        "-" => None,
                        given => Some(given.parse::<u8>().map_err(|_| {
                            (
                                "statements",
                                format!("{given:?} is not an answer from 1 to 5"),
                            )
                        })?),
                    };
                    Ok(ExportedStatement {
                        id: id.to_owned(),
                        dimension,
                        answer,
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let effort_drivers = optional("effort_drivers")
        .map(|text| {
            text.split(',')
                .map(|name| {
                    EffortDriver::ALL
                        .into_iter()
                        .find(|driver| driver.as_str() == name)
                        .ok_or_else(|| {
                            (
                                "effort_drivers",
                                format!("{name:?} is not an effort driver"),
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let contact_consent = match cell("contact_consent").as_str() {
        "" => None,
        "true" => Some(true),
        "false" => Some(false),
        other => return Err(("contact_consent", format!("{other:?} is not true or false"))),
    };
    let context = optional("page_path")
        .map(|path| {
            let device = match cell("device").as_str() {
                "phone" => DeviceClass::Phone,
                "tablet" => DeviceClass::Tablet,
                "desktop" | "" => DeviceClass::Desktop,
                other => {
                    return Err((
                        "device",
                        format!("{other:?} is not phone, tablet or desktop"),
                    ))
                }
            };
            Ok(PageContext {
                path,
                query: optional("page_query"),
                utm: pairs(&cell("utm")).map_err(|reason| ("utm", reason))?,
                referrer: optional("referrer"),
                device,
            })
        })
        .transpose()?;
    Ok(ExportedResponse {
        response_id: cell("response_id"),
        score,
        category: Category::from_score(score),
        survey_version: number("survey_version")?,
        lang: optional("lang"),
        comment: optional("comment"),
        statements,
        effort: number("effort")?.map(|effort| u8::try_from(effort).unwrap_or(u8::MAX)),
        effort_drivers,
        contact_consent,
        email: optional("email"),
        context,
        attributes: pairs(&cell("attributes")).map_err(|reason| ("attributes", reason))?,
        created_at: cell("created_at"),
        updated_at: cell("updated_at"),
        source: optional("source"),
    })
}

/// An exported response checked as the card's answers are, into a row to store.
fn stored(
    exported: ExportedResponse,
    target: &Target,
    line: u64,
) -> Result<StoredResponse, Refusal> {
    let refuse = |column: &str, reason: String| Refusal {
        line,
        column: column.to_owned(),
        reason,
    };
    let id = ResponseId::parse(&exported.response_id)
        .map_err(|error| refuse("response_id", error.to_string()))?;
    if exported.score > 10 {
        return Err(refuse(
            "score",
            format!("{} is not a score from 0 to 10", exported.score),
        ));
    }
    let time = |name: &str, text: &str| {
        OffsetDateTime::parse(text, &Rfc3339)
            .map(fields::millis)
            .map_err(|_| {
                refuse(
                    name,
                    format!("{text:?} is not an RFC 3339 time like 2026-11-23T18:02:11.500Z"),
                )
            })
    };
    let created_at_ms = time("created_at", &exported.created_at)?;
    let updated_at_ms = time("updated_at", &exported.updated_at)?;
    let lang = exported
        .lang
        .map(|code| {
            crate::surveys::bank::language(&code)
                .map(|(known, _)| known.to_owned())
                .ok_or_else(|| refuse("lang", format!("{code:?} is not a language of the card")))
        })
        .transpose()?;
    let comment = match exported.comment {
        Some(text) => fields::comment(&text).map_err(|reason| refuse("comment", reason))?,
        None => None,
    };
    let mut statements = Vec::with_capacity(exported.statements.len());
    for statement in exported.statements {
        if Dimension::of_statement(&statement.id) != Some(statement.dimension) {
            return Err(refuse(
                "statements",
                format!("{:?} is not a statement of the bank", statement.id),
            ));
        }
        if statement
            .answer
            .is_some_and(|answer| !AGREEMENT_RANGE.contains(&i32::from(answer)))
        {
            return Err(refuse(
                "statements",
                format!("the answer to {:?} must be 1 to 5", statement.id),
            ));
        }
        statements.push(StoredStatement {
            dimension: statement.dimension.as_str().to_owned(),
            id: statement.id,
            answer: statement.answer,
        });
    }
    if exported
        .effort
        .is_some_and(|effort| !EFFORT_RANGE.contains(&i32::from(effort)))
    {
        return Err(refuse(
            "effort",
            "the effort must be 1 (very difficult) to 7 (very easy)".into(),
        ));
    }
    let email = match (exported.contact_consent, exported.email) {
        (Some(true), Some(address)) => {
            fields::email(&address).map_err(|reason| refuse("email", reason))?
        }
        (_, None) => None,
        (_, Some(_)) => {
            return Err(refuse(
                "email",
                "an address is kept only with contact_consent true".into(),
            ))
        }
    };
    let context = exported
        .context
        .map(|context| submission::context(context, true))
        .transpose()
        .map_err(|error| refuse("context", error.to_string()))?;
    let attributes = submission::attributes(&exported.attributes)
        .map_err(|error| refuse("attributes", error.to_string()))?;
    let source = exported
        .source
        .map(|source| {
            plain_text("source", &source)
                .ok()
                .filter(|text| !text.is_empty() && text.chars().count() <= MAX_SOURCE_CHARS)
                .ok_or_else(|| {
                    refuse(
                        "source",
                        format!("write at most {MAX_SOURCE_CHARS} characters on one line"),
                    )
                })
        })
        .transpose()?;
    let response = StoredResponse {
        id: id.to_string(),
        score: exported.score,
        comment,
        survey_version: exported.survey_version,
        lang,
        statements,
        effort: exported.effort,
        effort_drivers: submission::effort_drivers(exported.effort_drivers),
        contact_consent: exported.contact_consent,
        email,
        utm: context.as_ref().and_then(|context| {
            (!context.utm.is_empty())
                .then(|| serde_json::to_string(&context.utm).expect("a map of strings serialises"))
        }),
        page_query: context.as_ref().and_then(|context| context.query.clone()),
        referrer: context
            .as_ref()
            .and_then(|context| context.referrer.clone()),
        device: context
            .as_ref()
            .map(|context| context.device.as_str().to_owned()),
        page_path: context.map(|context| context.path),
        attributes,
        created_at_ms,
        updated_at_ms,
        source,
    };
    target
        .check_times(&response)
        .map_err(|(column, reason)| refuse(&column, reason))?;
    Ok(response)
}
