//! The widget files, served from inside the binary under content-hashed names.
//!
//! `scripts/build-widget` writes them to `dist/widget/`; release builds embed that folder,
//! debug builds read it at run time. The loader keeps its fixed URL (it is in site owners'
//! pages) with a short cache; everything it loads is immutable under a hashed name.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

#[derive(rust_embed::Embed)]
#[folder = "../dist/widget/"]
#[allow_missing = true]
struct WidgetDist;

const LOADER: &str = "loader.js";
/// The files the loader fetches, with the marker it names each one by.
const LOADED_FILES: [(&str, &str, &str); 2] = [
    (
        "soovita_widget.js",
        "__SOOVITA_GLUE__",
        "text/javascript; charset=utf-8",
    ),
    // instantiateStreaming refuses wasm served under any other type.
    (
        "soovita_widget_bg.wasm",
        "__SOOVITA_WASM__",
        "application/wasm",
    ),
];

struct HashedFile {
    content_type: &'static str,
    identity: Bytes,
    /// Written by `scripts/build-widget` next to the file as `.gz` and `.br`.
    gzip: Option<Bytes>,
    brotli: Option<Bytes>,
}

impl HashedFile {
    fn read(name: &str, content_type: &'static str, identity: Vec<u8>) -> Self {
        let variant = |suffix: &str| {
            WidgetDist::get(&format!("{name}.{suffix}")).map(|f| Bytes::from(f.data.into_owned()))
        };
        Self {
            content_type,
            identity: Bytes::from(identity),
            gzip: variant("gz"),
            brotli: variant("br"),
        }
    }

    /// The smallest variant the client accepts, with its `Content-Encoding`.
    fn encoded_for(&self, headers: &HeaderMap) -> (Option<&'static str>, Bytes) {
        let accepts = |coding| accepts_encoding(headers, coding);
        match (&self.brotli, &self.gzip) {
            (Some(brotli), _) if accepts("br") => (Some("br"), brotli.clone()),
            (_, Some(gzip)) if accepts("gzip") => (Some("gzip"), gzip.clone()),
            _ => (None, self.identity.clone()),
        }
    }
}

/// Whether `Accept-Encoding` lists `coding` with a non-zero quality.
fn accepts_encoding(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| {
            value.split(',').any(|entry| {
                let mut parts = entry.split(';').map(str::trim);
                let name_matches = parts
                    .next()
                    .is_some_and(|name| name.eq_ignore_ascii_case(coding));
                let refused = parts.any(|param| {
                    param
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        == Some(0.0)
                });
                name_matches && !refused
            })
        })
}

/// The loader with the hashed URLs written in, and the hashed files themselves.
pub struct WidgetAssets {
    loader: Option<Bytes>,
    hashed: HashMap<String, HashedFile>,
}

impl WidgetAssets {
    /// Reads and hashes the built widget; `None` parts answer 503 until it is built.
    pub fn load() -> Self {
        let mut hashed = HashMap::new();
        let mut loader =
            WidgetDist::get(LOADER).map(|file| String::from_utf8_lossy(&file.data).into_owned());
        for (file_name, marker, content_type) in LOADED_FILES {
            let Some(file) = WidgetDist::get(file_name) else {
                loader = None;
                continue;
            };
            let (_, extension) = file_name.rsplit_once('.').expect("names have extensions");
            // 40 bits tell versions apart (two builds share a name once in a trillion); every
            // byte of the name is in the loader's budget.
            let hash = hex::encode(&file.metadata.sha256_hash()[..5]);
            let hashed_name = format!("{hash}.{extension}");
            loader = loader.map(|text| text.replace(marker, &format!("/assets/{hashed_name}")));
            let file = HashedFile::read(file_name, content_type, file.data.into_owned());
            hashed.insert(hashed_name, file);
        }
        Self {
            loader: loader.map(Bytes::from),
            hashed,
        }
    }

    /// Whether the widget was built into this binary.
    pub fn is_complete(&self) -> bool {
        self.loader.is_some()
    }
}

/// `GET /widget.js`: the loader from the site owner's script tag.
#[utoipa::path(get, path = "/widget.js", tag = "assets",
    responses((status = 200, description = "the loader script", content_type = "text/javascript")))]
pub async fn loader(State(assets): State<Arc<WidgetAssets>>) -> Result<Response, ApiError> {
    let loader = assets.loader.clone().ok_or(ApiError::AssetsMissing)?;
    Ok((
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        loader,
    )
        .into_response())
}

/// `GET /assets/{name}`: a content-hashed file, cacheable forever.
#[utoipa::path(get, path = "/assets/{name}", tag = "assets", params(("name" = String, Path)),
    responses((status = 200, description = "the glue or wasm, cached forever"),
        (status = 404, description = "unknown_asset", body = soovita_wire::ErrorBody)))]
pub async fn hashed_asset(
    State(assets): State<Arc<WidgetAssets>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let file = assets
        .hashed
        .get(&name)
        .ok_or_else(|| ApiError::UnknownAsset(name.chars().take(100).collect()))?;
    let (encoding, body) = file.encoded_for(&headers);
    let mut response = (
        [
            (CONTENT_TYPE, file.content_type),
            (CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (VARY, "accept-encoding"),
        ],
        body,
    )
        .into_response();
    if let Some(encoding) = encoding {
        response
            .headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_ENCODING, value.parse().unwrap());
        headers
    }

    #[test]
    fn encodings_are_matched_by_name_and_quality() {
        assert!(accepts_encoding(&accept("gzip, deflate, br, zstd"), "br"));
        assert!(accepts_encoding(&accept("GZIP;q=0.5"), "gzip"));
        assert!(!accepts_encoding(&accept("gzip;q=0, br"), "gzip"));
        assert!(!accepts_encoding(&accept("br;q=0.0"), "br"));
        assert!(!accepts_encoding(&accept("brotli"), "br"));
        assert!(!accepts_encoding(&HeaderMap::new(), "gzip"));
    }
}
