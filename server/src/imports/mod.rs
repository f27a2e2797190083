//! Bringing history in (`soovita import`): Soovita's own CSV and JSON exports, Delighted's CSV
//! export, and any CSV with a column mapping. A file is read twice, streaming: first every row
//! is checked and counted (added, already there, refused), and only if none is refused (or
//! `--skip-invalid` says to leave those out) is it read again and written in batches. Each
//! imported row keeps its original times and says where it came from (`source`); its id is the
//! source's own where it has one and a hash of the row otherwise, so importing a file twice
//! adds nothing the second time. An imported response is never overwritten: one already there
//! is left as it is.

mod delighted;
pub mod fields;
mod mapped;
mod soovita;
mod store;

use std::collections::HashSet;
use std::io::Read;
use std::sync::Arc;

use tokio::sync::mpsc;
use uuid::Uuid;

use crate::db::StoreError;
use crate::domain::{ResponseId, SiteId};
use crate::responses::StoredResponse;

pub use mapped::Mapping;
pub use store::{ImportStore, Upload, UploadStatus, Written};

/// Rows checked or written together: one transaction each, so one fsync per 5,000 rows.
const BATCH: usize = 5_000;

/// Refusals listed one by one; past this, only counted.
pub const REFUSALS_LISTED: usize = 100;

/// What the file is.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Format {
    /// Soovita's own export, CSV or JSON (told apart by the first character).
    Soovita,
    /// Delighted's CSV export of survey responses.
    Delighted,
    /// Any CSV with a header row, read through a column mapping.
    Csv(Mapping),
}

/// How to read and whether to write.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Options {
    /// Writes the good rows of a file that has refused ones, instead of nothing.
    pub skip_invalid: bool,
    /// Checks and counts only, writes nothing: the preview.
    pub dry_run: bool,
    /// The CSV field separator.
    pub delimiter: u8,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            skip_invalid: false,
            dry_run: false,
            delimiter: b',',
        }
    }
}

/// The field separator as typed on the command line or in the console: one ASCII character,
/// or `tab`; nothing is a comma.
pub fn delimiter(typed: &str) -> Result<u8, String> {
    // A space or a tab typed as itself is the separator, not padding around one.
    if let [byte] = typed.as_bytes() {
        if byte.is_ascii() {
            return Ok(*byte);
        }
    }
    match typed.trim() {
        "" => Ok(b','),
        "tab" | "\\t" => Ok(b'\t'),
        one if one.len() == 1 && one.is_ascii() => Ok(one.as_bytes()[0]),
        other => Err(format!(
            "{other:?} is not one ASCII character: use , or ; or tab"
        )),
    }
}

/// A row left out, and why: the line of a CSV (the header is line 1) or the item of a JSON
/// array (the first is 1), the column or field, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Refusal {
    pub line: u64,
    pub column: String,
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, {}: {}", self.line, self.column, self.reason)
    }
}

/// One row of a file, read.
#[derive(Debug)]
pub struct Line {
    pub line: u64,
    pub row: Result<StoredResponse, Refusal>,
}

/// Why a file cannot be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the file could not be read: {0}")]
    Io(#[from] std::io::Error),
    #[error("the file is empty: it needs a header row and at least one row")]
    Empty,
    #[error("line {0} is not UTF-8 text: save the file as UTF-8 (in a spreadsheet: CSV UTF-8)")]
    NotUtf8(u64),
    #[error("the header has no {wanted} column (it has: {found}){hint}")]
    MissingColumn {
        wanted: String,
        found: String,
        hint: String,
    },
    #[error("the header is one column with {0:?} in it: the file seems separated by {0:?}; give --delimiter '{0}'")]
    Delimiter(char),
    #[error("line {line}: {message}")]
    Csv { line: u64, message: String },
    #[error("{0} attribute columns: a response keeps at most {max}", max = soovita_wire::MAX_ATTRIBUTES)]
    TooManyAttributes(usize),
    #[error("not a Soovita JSON export (an array of responses): {0}")]
    Json(String),
}

/// Why nothing (more) was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an import found, and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// Rows read (not counting the header).
    pub read: usize,
    /// New responses: written, or to be written.
    pub added: usize,
    /// Responses the site has already (an earlier import of the same rows): left as they are.
    pub existing: usize,
    pub refused: usize,
    /// The first [`REFUSALS_LISTED`] refusals.
    pub refusals: Vec<Refusal>,
    /// What the reader noticed about the file as a whole (columns left out).
    pub notes: Vec<String>,
    /// Whether anything was written: not for a preview, nor for a file with refused rows
    /// without `skip_invalid`.
    pub written: bool,
}

/// What the readers need to know about where the rows go.
#[derive(Debug, Clone)]
pub struct Target {
    pub site: SiteId,
    /// Rows from before this would be purged at once by the site's retention.
    pub oldest_ms: i64,
    pub retention_days: u16,
    /// Later than this is a row from the future: refused.
    pub newest_ms: i64,
}

impl Target {
    /// Where rows for `site` go as of `now_ms`: nothing older than its retention, nothing more
    /// than a day ahead (clocks differ).
    pub fn for_site(site: &crate::sites::Site, now_ms: i64) -> Self {
        const DAY_MS: i64 = 86_400_000;
        Self {
            site: site.id.clone(),
            oldest_ms: now_ms - i64::from(site.retention_days) * DAY_MS,
            retention_days: site.retention_days,
            newest_ms: now_ms + DAY_MS,
        }
    }

    /// The common checks on a row read: its times within what the site keeps.
    fn check_times(&self, row: &StoredResponse) -> Result<(), (String, String)> {
        if row.created_at_ms < self.oldest_ms {
            return Err((
                "created_at".into(),
                format!(
                    "older than the site's retention of {} days, so it would be purged at once: \
                     raise the retention in the site's settings first",
                    self.retention_days
                ),
            ));
        }
        if row.created_at_ms > self.newest_ms {
            return Err(("created_at".into(), "in the future".into()));
        }
        if row.updated_at_ms < row.created_at_ms {
            return Err(("updated_at".into(), "before created_at".into()));
        }
        Ok(())
    }

    /// A stable id for a row of another tool's file: the same site, source and key give the
    /// same id, so a second import of the file finds its rows already there.
    fn stable_id(&self, source: &str, key: &[u8]) -> ResponseId {
        const NAMESPACE: Uuid = Uuid::from_u128(0x5a0b_17a1_1e5f_4d2b_8c3e_0f6d_1a2b_3c4d);
        let mut name = Vec::with_capacity(key.len() + 64);
        name.extend_from_slice(self.site.as_str().as_bytes());
        name.push(0);
        name.extend_from_slice(source.as_bytes());
        name.push(0);
        name.extend_from_slice(key);
        let id = Uuid::new_v5(&NAMESPACE, &name);
        ResponseId::parse(&id.to_string()).expect("a UUID is a response id")
    }
}

/// Reads `reader` in `format`, handing each row to `emit` (which returns `false` to stop).
fn read(
    format: &Format,
    reader: Box<dyn Read + Send>,
    target: &Target,
    delimiter: u8,
    emit: &mut dyn FnMut(Line) -> bool,
) -> Result<Vec<String>, FileError> {
    match format {
        Format::Soovita => soovita::read(reader, target, delimiter, emit),
        Format::Delighted => delighted::read(reader, target, delimiter, emit),
        Format::Csv(mapping) => mapping.read(reader, target, delimiter, emit),
    }
}

/// Opens the file anew for each pass.
pub type Opener = Arc<dyn Fn() -> std::io::Result<Box<dyn Read + Send>> + Send + Sync>;

/// An [`Opener`] of a file held in memory (an upload): each pass reads the same bytes, not a
/// copy of them.
pub fn in_memory(data: impl Into<Arc<[u8]>>) -> Opener {
    let data: Arc<[u8]> = data.into();
    Arc::new(move || Ok(Box::new(std::io::Cursor::new(data.clone())) as Box<dyn Read + Send>))
}

/// A pass over the file under way: batches of rows arrive on `batches` as a reader thread reads
/// them (a bounded channel: memory stays a few batches whatever the file's size).
struct Pass {
    batches: mpsc::Receiver<Vec<Line>>,
    reader: tokio::task::JoinHandle<Result<Vec<String>, FileError>>,
}

impl Pass {
    fn start(format: &Format, open: &Opener, target: &Target, delimiter: u8) -> Self {
        let (sender, batches) = mpsc::channel::<Vec<Line>>(1);
        let (format, open, target) = (format.clone(), open.clone(), target.clone());
        let reader = tokio::task::spawn_blocking(move || {
            let file = open()?;
            let mut batch = Vec::with_capacity(BATCH);
            let notes = read(&format, file, &target, delimiter, &mut |line| {
                batch.push(line);
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    return sender.blocking_send(full).is_ok();
                }
                true
            })?;
            if !batch.is_empty() {
                let _ = sender.blocking_send(batch);
            }
            Ok(notes)
        });
        Self { batches, reader }
    }

    /// The reader's notes, or why it could not read the file; stops it if it is still reading.
    async fn finish(self) -> Result<Vec<String>, FileError> {
        drop(self.batches);
        self.reader
            .await
            .map_err(|error| FileError::Io(std::io::Error::other(error)))?
    }
}

/// Checks the whole file, then (unless it is a preview, or rows were refused without
/// `skip_invalid`) writes it. With `upload`, the console's upload of that id hears of every
/// batch written.
pub async fn import(
    store: Arc<dyn ImportStore>,
    target: &Target,
    format: &Format,
    open: Opener,
    options: &Options,
    upload: Option<&str>,
) -> Result<Report, ImportError> {
    let mut report = Report::default();
    // Ids met earlier in this file, as 64-bit hashes: half the memory of the ids themselves
    // (a million rows: 19 MiB), and a collision, which would count one row as a repeat in the
    // preview only, is a one-in-ten-million chance.
    let mut seen: HashSet<u64> = HashSet::new();
    let mut check = Pass::start(format, &open, target, options.delimiter);
    while let Some(batch) = check.batches.recv().await {
        let mut ids = Vec::with_capacity(batch.len());
        for line in &batch {
            report.read += 1;
            match &line.row {
                Ok(row) => ids.push(row.id.clone()),
                Err(refusal) => refuse(&mut report, refusal.clone()),
            }
        }
        let owners = store.owners_of(&ids).await?;
        for line in batch {
            let Ok(row) = line.row else { continue };
            let id = ResponseId::parse(&row.id).expect("readers give UUIDs");
            match owners.get(&row.id) {
                Some(owner) if owner != target.site.as_str() => refuse(
                    &mut report,
                    Refusal {
                        line: line.line,
                        column: "response_id".into(),
                        reason: "this id belongs to a response of another site on this server"
                            .into(),
                    },
                ),
                Some(_) => report.existing += 1,
                None if !seen.insert(hash_of(&id)) => report.existing += 1,
                None => report.added += 1,
            }
        }
    }
    report.notes = check.finish().await?;
    drop(seen);
    if options.dry_run || (report.refused > 0 && !options.skip_invalid) || report.added == 0 {
        return Ok(report);
    }
    let (mut read, mut added) = (0usize, 0usize);
    let mut write = Pass::start(format, &open, target, options.delimiter);
    while let Some(batch) = write.batches.recv().await {
        read += batch.len();
        let rows: Vec<StoredResponse> =
            batch.into_iter().filter_map(|line| line.row.ok()).collect();
        added += store.import_rows(&target.site, &rows).await?.added;
        if let Some(id) = upload {
            let now = crate::clock::now_ms();
            store
                .record_upload_progress(id, u64::try_from(read).unwrap_or(u64::MAX), now)
                .await?;
        }
    }
    write.finish().await?;
    Ok(Report {
        written: true,
        existing: report.existing + (report.added - added),
        added,
        ..report
    })
}

/// Imports an uploaded file (the console's), recording its progress after every batch and its
/// report at the end, for the upload's page to show.
pub async fn import_upload(
    store: Arc<dyn ImportStore>,
    target: Target,
    upload_id: String,
    (format, options): (Format, Options),
    data: String,
) {
    let open = in_memory(data.into_bytes());
    let outcome = import(
        store.clone(),
        &target,
        &format,
        open,
        &options,
        Some(&upload_id),
    )
    .await;
    let (status, report) = match outcome {
        Ok(report) => (UploadStatus::Done, report),
        Err(error) => (
            UploadStatus::Failed,
            Report {
                notes: vec![error.to_string()],
                ..Report::default()
            },
        ),
    };
    let report = serde_json::to_string(&report).unwrap_or_default();
    if let Err(error) = store
        .finish_upload(&upload_id, status, &report, crate::clock::now_ms())
        .await
    {
        tracing::warn!(%error, "recording the end of an import failed");
    }
}

impl Report {
    /// The report in words, one refusal per line.
    pub fn summary(&self, options: &Options) -> String {
        let report = self;
        let verb = if report.written { "added" } else { "to add" };
        let mut text = format!(
            "{} rows read: {} {verb}, {} already there, {} refused",
            report.read, report.added, report.existing, report.refused
        );
        for note in &report.notes {
            text.push_str(&format!("\nnote: {note}"));
        }
        for refusal in &report.refusals {
            text.push_str(&format!("\nrefused: {refusal}"));
        }
        if report.refused > report.refusals.len() {
            text.push_str(&format!(
                "\n… and {} more refused rows",
                report.refused - report.refusals.len()
            ));
        }
        if options.dry_run {
            text.push_str("\nnothing was written (--dry-run)");
        }
        text
    }
}

fn hash_of(id: &ResponseId) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(id)
}

fn refuse(report: &mut Report, refusal: Refusal) {
    report.refused += 1;
    if report.refusals.len() < REFUSALS_LISTED {
        report.refusals.push(refusal);
    }
}

/// A CSV reader over `reader`: a header row, `delimiter` between fields, a UTF-8 byte-order
/// mark at the start left out.
fn csv_reader(reader: Box<dyn Read + Send>, delimiter: u8) -> csv::Reader<Box<dyn Read + Send>> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .from_reader(reader)
}

/// The header, checked: read as UTF-8, without a BOM, and not one column that looks separated
/// by something else.
fn header(reader: &mut csv::Reader<Box<dyn Read + Send>>) -> Result<Vec<String>, FileError> {
    let header = reader.headers().map_err(|error| csv_error(&error, 1))?;
    let columns: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(n, name)| {
            let name = if n == 0 {
                name.trim_start_matches('\u{feff}')
            } else {
                name
            };
            name.trim().to_owned()
        })
        .collect();
    if columns.iter().all(String::is_empty) {
        return Err(FileError::Empty);
    }
    if columns.len() == 1 {
        if let Some(separator) = [';', '\t', '|']
            .into_iter()
            .find(|c| columns[0].contains(*c))
        {
            return Err(FileError::Delimiter(separator));
        }
    }
    Ok(columns)
}

fn csv_error(error: &csv::Error, line: u64) -> FileError {
    match error.kind() {
        csv::ErrorKind::Utf8 { pos, .. } => {
            FileError::NotUtf8(pos.as_ref().map_or(line, csv::Position::line))
        }
        csv::ErrorKind::Io(io) => FileError::Io(std::io::Error::new(io.kind(), io.to_string())),
        _ => FileError::Csv {
            line,
            message: error.to_string(),
        },
    }
}

/// Every record of a CSV after its header, turned into a row by `convert` and handed to
/// `emit` with its line; a record with the wrong number of fields is refused, naming its line,
/// and one that is not UTF-8 stops the file.
fn records(
    reader: &mut csv::Reader<Box<dyn Read + Send>>,
    mut convert: impl FnMut(u64, &csv::StringRecord) -> Result<StoredResponse, Refusal>,
    emit: &mut dyn FnMut(Line) -> bool,
) -> Result<(), FileError> {
    let mut record = csv::StringRecord::new();
    loop {
        let line = match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = record.position().map_or(0, csv::Position::line);
                Line {
                    line,
                    row: convert(line, &record),
                }
            }
            Err(error) => {
                let line = error.position().map_or(0, csv::Position::line);
                let csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } = error.kind()
                else {
                    return Err(csv_error(&error, line));
                };
                Line {
                    line,
                    row: Err(Refusal {
                        line,
                        column: "the whole row".into(),
                        reason: format!(
                            "{len} fields where the header has {expected_len}: a delimiter or \
                             quote out of place?"
                        ),
                    }),
                }
            }
        };
        if !emit(line) {
            return Ok(());
        }
    }
}

/// The column of `header` named any of `names` (compared without case).
fn column(header: &[String], names: &[&str]) -> Option<usize> {
    header
        .iter()
        .position(|column| names.iter().any(|name| column.eq_ignore_ascii_case(name)))
}

/// [`column`], required.
fn required(header: &[String], names: &[&str], hint: &str) -> Result<usize, FileError> {
    column(header, names).ok_or_else(|| FileError::MissingColumn {
        wanted: names
            .iter()
            .map(|name| format!("{name:?}"))
            .collect::<Vec<_>>()
            .join(" or "),
        found: header.join(", "),
        hint: hint.to_owned(),
    })
}

/// What a CSV row of another tool is known by across imports: the source's own id where the
/// row has one, else the row itself.
fn row_key(own_id: Option<&str>, record: &csv::StringRecord) -> Vec<u8> {
    match own_id.map(str::trim).filter(|id| !id.is_empty()) {
        Some(id) => id.as_bytes().to_vec(),
        None => record.iter().collect::<Vec<_>>().join("\u{0}").into_bytes(),
    }
}

/// The cells of `columns` (number, attribute name) of a row, as stored attributes: the empty
/// ones left out, each value within the card's limits; a refused one names its column.
fn attributes(
    record: &csv::StringRecord,
    columns: &[(usize, String)],
) -> Result<Option<String>, (usize, String)> {
    let mut kept = std::collections::BTreeMap::new();
    for (n, name) in columns {
        let value = record.get(*n).unwrap_or_default().trim();
        if value.is_empty() {
            continue;
        }
        if value.chars().count() > soovita_wire::MAX_ATTRIBUTE_VALUE_CHARS {
            return Err((
                *n,
                format!(
                    "longer than {} characters, the most an attribute keeps",
                    soovita_wire::MAX_ATTRIBUTE_VALUE_CHARS
                ),
            ));
        }
        let value = crate::domain::plain_text(name, value).map_err(|e| (*n, e.to_string()))?;
        kept.insert(name.clone(), value);
    }
    Ok((!kept.is_empty())
        .then(|| serde_json::to_string(&kept).expect("a map of strings serialises")))
}

/// A response with nothing but what every format has.
fn bare(id: ResponseId, score: u8, created_at_ms: i64, source: Option<&str>) -> StoredResponse {
    StoredResponse {
        id: id.to_string(),
        score,
        comment: None,
        survey_version: None,
        lang: None,
        statements: Vec::new(),
        effort: None,
        effort_drivers: None,
        contact_consent: None,
        email: None,
        page_path: None,
        page_query: None,
        referrer: None,
        device: None,
        utm: None,
        attributes: None,
        created_at_ms,
        updated_at_ms: created_at_ms,
        source: source.map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::delimiter;

    #[test]
    fn a_separator_is_one_character_or_tab_and_nothing_is_a_comma() {
        assert_eq!(delimiter(";"), Ok(b';'));
        assert_eq!(delimiter(" ; "), Ok(b';'));
        assert_eq!(delimiter(" "), Ok(b' '));
        assert_eq!(delimiter("tab"), Ok(b'\t'));
        assert_eq!(delimiter(""), Ok(b','));
        assert!(delimiter(";;")
            .unwrap_err()
            .contains("not one ASCII character"));
        assert!(delimiter("§").is_err());
    }
}
