//! Importing history from the console (admins): upload a file, read the preview (how many rows
//! would be added, are already there and are refused, each refused row with its line and
//! reason), then import. The import runs in the background and records its progress, which the
//! page shows, reloading itself until it is done. Files over 20 MB are imported on the server
//! with `soovita import`, which streams them.

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use crate::accounts::random_hex;
use crate::clock;
use crate::http::body_limits::MAX_UPLOAD_BYTES;
use crate::imports::{self, Format, Mapping, Options, Report, Target, Upload, UploadStatus};
use crate::sites::Site;
use crate::state::AppState;

use super::auth::{from_this_site, AsAdmin, SiteAccess};
use super::error::ConsoleError;
use super::pages::{date, layout, refreshing_layout, SignedInAs};

const DAY_MS: i64 = 86_400_000;

/// An import whose progress has not moved for this long lost its server: it may be started
/// again (it picks up where it was, since rows already there are left as they are).
const STALE_MS: i64 = 5 * 60_000;

fn base(site: &Site) -> String {
    format!("/console/sites/{}/import", site.id)
}

fn form_page(owner: SignedInAs<'_>, site: &Site, problem: Option<&str>) -> Markup {
    let csrf = owner.csrf_token;
    layout(
        &format!("Import · {}", site.name),
        Some(owner),
        html! {
            p { a href=(format!("/console/sites/{}", site.id)) { "← " (site.name) } }
            h1 { "Import responses" }
            p.muted { "Bring history in, so the trend and the drivers do not start at zero: Soovita's own \
                export (CSV or JSON, from this server or another), Delighted's CSV export of responses, or \
                any CSV with a header row. The file is checked first and nothing is written until you \
                confirm; importing the same file twice adds nothing the second time. Files up to "
                (MAX_UPLOAD_BYTES / 1024 / 1024) " MB; import bigger ones on the server with "
                code { "soovita import" } " (README, \"Importing history\")." }
            @if let Some(problem) = problem { p.error role="alert" { (problem) } }
            form.stack method="post" action=(base(site)) enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(csrf);
                label { "Format"
                    select name="format" {
                        option value="soovita" { "Soovita export (CSV or JSON)" }
                        option value="delighted" { "Delighted CSV export" }
                        option value="csv" { "Any CSV (name the columns below)" }
                    }
                }
                label { "File" input type="file" name="file" required accept=".csv,.json,text/csv,application/json"; }
                label { "Field separator" input type="text" name="delimiter" value="," size="3" maxlength="3"; }
                label.check { input type="checkbox" name="skip_invalid"; "Import the good rows even if some are refused" }
                fieldset {
                    legend { "Any CSV: the columns" }
                    label { "Score (0–10)" input type="text" name="score_column"; }
                    label { "Time" input type="text" name="time_column"; }
                    label { "Comment" input type="text" name="comment_column"; }
                    label { "Email (kept as an address the visitor agreed to be contacted at)" input type="text" name="email_column"; }
                    label { "Response id" input type="text" name="id_column"; }
                    label { "Language" input type="text" name="lang_column"; }
                    label { "Attributes, comma-separated" input type="text" name="attribute_columns"; }
                }
                button type="submit" { "Check the file" }
            }
        },
    )
}

/// `GET /console/sites/{site_id}/import`.
pub(super) async fn form(SiteAccess { signed_in, site }: AsAdmin) -> Response {
    form_page(signed_in.header(), &site, None).into_response()
}

/// What the upload form sent.
#[derive(Default)]
struct Uploaded {
    csrf: String,
    format: String,
    file_name: String,
    data: Vec<u8>,
    delimiter: String,
    skip_invalid: bool,
    columns: [String; 7],
}

async fn read_form(mut multipart: Multipart) -> Result<Uploaded, String> {
    let mut form = Uploaded::default();
    const COLUMNS: [&str; 7] = [
        "score_column",
        "time_column",
        "comment_column",
        "email_column",
        "id_column",
        "lang_column",
        "attribute_columns",
    ];
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|error| format!("the form could not be read: {error}"))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            form.file_name = field
                .file_name()
                .unwrap_or("file")
                .chars()
                .take(200)
                .collect();
            form.data = field
                .bytes()
                .await
                .map_err(|error| format!("the file could not be read: {error}"))?
                .to_vec();
            continue;
        }
        let text = field
            .text()
            .await
            .map_err(|error| format!("the form could not be read: {error}"))?;
        match name.as_str() {
            "csrf" => form.csrf = text,
            "format" => form.format = text,
            "delimiter" => form.delimiter = text,
            "skip_invalid" => form.skip_invalid = true,
            other => {
                if let Some(n) = COLUMNS.iter().position(|column| *column == other) {
                    form.columns[n] = text.trim().to_owned();
                }
            }
        }
    }
    Ok(form)
}

/// The format and options the form asks for, checked.
fn settings(form: &Uploaded) -> Result<(Format, Options), String> {
    let delimiter = imports::delimiter(&form.delimiter)?;
    let optional = |n: usize| Some(form.columns[n].clone()).filter(|c| !c.is_empty());
    let format = match form.format.as_str() {
        "soovita" => Format::Soovita,
        "delighted" => Format::Delighted,
        "csv" => {
            let (Some(score), Some(time)) = (optional(0), optional(1)) else {
                return Err("any CSV: name at least the score's column and the time's".into());
            };
            Format::Csv(Mapping {
                score,
                time,
                comment: optional(2),
                email: optional(3),
                id: optional(4),
                lang: optional(5),
                attributes: form.columns[6]
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        }
        other => {
            return Err(format!(
                "unknown format {other:?}: use soovita, delighted or csv"
            ))
        }
    };
    let options = Options {
        skip_invalid: form.skip_invalid,
        dry_run: false,
        delimiter,
    };
    Ok((format, options))
}

/// `POST /console/sites/{site_id}/import`: checks the file and keeps it with its preview.
pub(super) async fn upload(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    let refuse = |problem: String| {
        let page = form_page(signed_in.header(), &site, Some(&problem));
        Ok((StatusCode::BAD_REQUEST, page).into_response())
    };
    let form = match read_form(multipart).await {
        Ok(form) => form,
        Err(problem) => return refuse(problem),
    };
    signed_in.check_csrf(&form.csrf)?;
    let (format, options) = match settings(&form) {
        Ok(settings) => settings,
        Err(problem) => return refuse(problem),
    };
    let data = match String::from_utf8(form.data) {
        Ok(data) if !data.trim().is_empty() => data,
        Ok(_) => return refuse("the file is empty".into()),
        Err(error) => {
            let line = error.as_bytes()[..error.utf8_error().valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            return refuse(format!(
                "line {line} is not UTF-8 text: save the file as UTF-8 (in a spreadsheet: CSV UTF-8)"
            ));
        }
    };
    let now = clock::now_ms();
    let target = Target::for_site(&site, now);
    let open = imports::in_memory(data.as_bytes());
    let preview = Options {
        dry_run: true,
        ..options.clone()
    };
    let report =
        match imports::import(state.store.clone(), &target, &format, open, &preview, None).await {
            Ok(report) => report,
            Err(imports::ImportError::File(error)) => {
                return refuse(format!("{}: {error}", form.file_name))
            }
            Err(imports::ImportError::Store(error)) => return Err(error.into()),
        };
    let upload = Upload {
        id: random_hex::<16>(),
        file_name: form.file_name,
        settings: serde_json::to_string(&(&format, &options)).unwrap_or_default(),
        status: UploadStatus::Previewed,
        report: serde_json::to_string(&report).unwrap_or_default(),
        written: 0,
        created_at_ms: now,
        updated_at_ms: now,
    };
    state
        .store
        .create_upload(&site.id, &signed_in.owner.id, &upload, &data, now - DAY_MS)
        .await?;
    Ok(Redirect::to(&format!("{}/{}", base(&site), upload.id)).into_response())
}

fn report_of(upload: &Upload) -> Report {
    serde_json::from_str(&upload.report).unwrap_or_default()
}

fn refusals(report: &Report) -> Markup {
    html! {
        @for note in &report.notes { p.muted { "Note: " (note) } }
        @if report.refused > 0 {
            div.table-wrap { table {
                caption { (report.refused) " refused rows" @if report.refused > report.refusals.len() { ", the first " (report.refusals.len()) " listed" } }
                thead { tr { th.number { "Line" } th { "Column" } th { "Why" } } }
                tbody {
                    @for refusal in &report.refusals {
                        tr { td.number { (refusal.line) } td { (refusal.column) } td { (refusal.reason) } }
                    }
                }
            } }
        }
    }
}

/// `GET /console/sites/{site_id}/import/{import_id}`: the preview, the progress or the outcome.
pub(super) async fn show(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    let upload = state
        .store
        .upload(&site.id, &id)
        .await?
        .ok_or(ConsoleError::UnknownImport)?;
    let report = report_of(&upload);
    let owner = signed_in.header();
    let csrf = owner.csrf_token;
    let skip_invalid = serde_json::from_str::<(Format, Options)>(&upload.settings)
        .map(|(_, options)| options.skip_invalid)
        .unwrap_or_default();
    let now = clock::now_ms();
    let running = upload.status == UploadStatus::Importing;
    let stale = running && upload.updated_at_ms < now - STALE_MS;
    let body = html! {
        p { a href=(base(&site)) { "← Import another file" } }
        h1 { "Import of " (upload.file_name) }
        p.muted { "Uploaded " (date(upload.created_at_ms)) }
        @match upload.status {
            UploadStatus::Previewed => {
                p #preview { (report.read) " rows read: " strong { (report.added) " to add" } ", "
                    (report.existing) " already there (left as they are), " (report.refused) " refused." }
                (refusals(&report))
                @if report.refused > 0 && !skip_invalid {
                    p.error role="alert" { "Nothing will be imported while rows are refused: fix them and upload the file again, \
                        or upload it again with “Import the good rows even if some are refused”." }
                } @else if report.added == 0 {
                    p { "Nothing new to import." }
                } @else {
                    form method="post" action=(format!("{}/{}", base(&site), upload.id)) {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { "Import " (report.added) " responses" }
                    }
                }
            }
            UploadStatus::Importing => {
                p role="status" { "Importing: " (upload.written) " of " (report.read) " rows written." }
                progress value=(upload.written) max=(report.read.max(1)) aria-label="Rows written" { (upload.written) }
                @if stale {
                    p.error { "The import has not moved for five minutes: its server may have stopped. Start it again; \
                        rows already written are left as they are." }
                    form method="post" action=(format!("{}/{}", base(&site), upload.id)) {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { "Start the import again" }
                    }
                } @else {
                    p.muted { "This page reloads every two seconds until it is done." }
                }
            }
            UploadStatus::Done => {
                p role="status" #outcome { "Done: " strong { (report.added) " responses added" } ", " (report.existing)
                    " already there, " (report.refused) " refused." }
                (refusals(&report))
                p { a href=(format!("/console/sites/{}", site.id)) { "To the results" } }
            }
            UploadStatus::Failed => {
                p.error role="alert" { "The import stopped: " (report.notes.join("; ")) ". Rows written before stay; \
                    upload the file again to import the rest." }
            }
        }
    };
    let refresh = (running && !stale).then_some(2);
    Ok(refreshing_layout(
        &format!("Import · {}", site.name),
        Some(owner),
        refresh,
        body,
    )
    .into_response())
}

#[derive(Deserialize)]
pub(super) struct StartForm {
    csrf: String,
}

/// `POST /console/sites/{site_id}/import/{import_id}`: starts the import in the background.
pub(super) async fn start(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
    headers: HeaderMap,
    Path((_, id)): Path<(String, String)>,
    Form(form): Form<StartForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    let upload = state
        .store
        .upload(&site.id, &id)
        .await?
        .ok_or(ConsoleError::UnknownImport)?;
    let (format, options): (Format, Options) =
        serde_json::from_str(&upload.settings).map_err(|_| {
            ConsoleError::InvalidForm(
                "this upload cannot be read back: upload the file again".into(),
            )
        })?;
    let report = report_of(&upload);
    if report.refused > 0 && !options.skip_invalid {
        return Err(ConsoleError::InvalidForm(
            "rows of this file are refused: fix them, or upload it again allowing that".into(),
        ));
    }
    let now = clock::now_ms();
    if state
        .store
        .start_upload(&site.id, &id, now, now - STALE_MS)
        .await?
    {
        if let Some(data) = state.store.upload_data(&site.id, &id).await? {
            tokio::spawn(imports::import_upload(
                state.store.clone(),
                Target::for_site(&site, now),
                id.clone(),
                (format, options),
                data,
            ));
        }
    }
    Ok(Redirect::to(&format!("{}/{id}", base(&site))).into_response())
}
