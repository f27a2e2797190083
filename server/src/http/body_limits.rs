//! Every request's body: a size limit for its route, refused from `Content-Length` before a byte
//! is read, and one deadline for the whole body. tower-http's `RequestBodyTimeout` restarts its
//! timer on every frame, so a client trickling a byte every few seconds held a connection (and
//! its memory) for as long as it liked; admin and console routes had no deadline at all.
//!
//! Every body the server takes is small (an answer, a form, a survey definition) but the
//! console's import upload (at most 20 MB, with a longer deadline), so it is read whole here,
//! within the deadline, and handed on in memory.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use soovita_wire::MAX_BODY_BYTES;

use crate::http::error::ApiError;

/// The largest body of any other route: a survey definition with wording in every language, or
/// the survey editor's form, is a few tens of kilobytes.
pub const MAX_OTHER_BODY_BYTES: usize = 256 * 1024;

/// The largest file an admin may upload in the console to import; a bigger one is imported on
/// the server with `soovita import`, which streams it.
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;

/// How long an upload may take to arrive: 20 MB over a slow office line.
const UPLOAD_DEADLINE: Duration = Duration::from_secs(180);

/// Whether `path` is the console's import upload.
fn is_upload(path: &str) -> bool {
    path.starts_with("/console/sites/") && path.ends_with("/import")
}

/// The body limit of `path`: answers are small, and posted by anyone.
pub fn limit_for(path: &str) -> usize {
    let ingest = path.starts_with("/v1/sites/") && path.ends_with("/responses")
        || path.starts_with("/bench/parse-only/");
    if ingest {
        MAX_BODY_BYTES
    } else if is_upload(path) {
        MAX_UPLOAD_BYTES
    } else {
        MAX_OTHER_BODY_BYTES
    }
}

/// Reads the body within `deadline` and `limit_for` its path, or answers 413 / 400 and closes
/// the connection (the rest of the body is never read, so the connection cannot be reused).
pub async fn read_whole_body(
    State(deadline): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let limit = limit_for(request.uri().path());
    let deadline = if is_upload(request.uri().path()) {
        deadline.max(UPLOAD_DEADLINE)
    } else {
        deadline
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    let too_large = if is_upload(request.uri().path()) {
        ApiError::UploadTooLarge(limit)
    } else {
        ApiError::PayloadTooLarge(limit)
    };
    if declared.is_some_and(|length| length > limit as u64) {
        return closing(too_large.into_response());
    }
    let (parts, body) = request.into_parts();
    let read = http_body_util::Limited::new(body, limit).collect();
    let bytes = match tokio::time::timeout(deadline, read).await {
        Err(_) => {
            let late = ApiError::UnreadableBody(format!(
                "it did not arrive within {} ms: send the body whole, at once",
                deadline.as_millis()
            ));
            return closing(late.into_response());
        }
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => {
            return closing(too_large.into_response())
        }
        Ok(Err(error)) => {
            return closing(ApiError::UnreadableBody(error.to_string()).into_response())
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    // A limit inside (the decompressed size of an answer) refused the body: the client may
    // still be sending it, so it must not send the next request on this connection.
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return closing(response);
    }
    response
}

/// `response` with `Connection: close`, which makes hyper close the connection after it and
/// tells the client not to reuse it.
fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_have_the_small_limit_and_everything_else_the_larger_one() {
        assert_eq!(limit_for("/v1/sites/abc/responses"), MAX_BODY_BYTES);
        assert_eq!(limit_for("/bench/parse-only/abc"), MAX_BODY_BYTES);
        assert_eq!(
            limit_for("/v1/sites/abc/survey/definition"),
            MAX_OTHER_BODY_BYTES
        );
        assert_eq!(limit_for("/console/sign-in"), MAX_OTHER_BODY_BYTES);
    }
}
