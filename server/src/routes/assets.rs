//! The widget files, served from inside the binary under content-hashed names.
//!
//! `scripts/build-widget` writes them to `dist/widget/`; release builds embed that folder,
//! debug builds read it at run time. The loader keeps its fixed URL (it is in site owners'
//! pages) with a short cache; everything it loads is immutable under a hashed name.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::error::ApiError;

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
    bytes: Bytes,
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
            let (stem, extension) = file_name.rsplit_once('.').expect("names have extensions");
            let hash = hex::encode(&file.metadata.sha256_hash()[..8]);
            let hashed_name = format!("{stem}-{hash}.{extension}");
            loader = loader.map(|text| text.replace(marker, &format!("/assets/{hashed_name}")));
            hashed.insert(
                hashed_name,
                HashedFile {
                    content_type,
                    bytes: Bytes::from(file.data.into_owned()),
                },
            );
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
pub async fn loader(State(state): State<AppState>) -> Result<Response, ApiError> {
    let loader = state.assets.loader.clone().ok_or(ApiError::AssetsMissing)?;
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
pub async fn hashed_asset(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let file = state
        .assets
        .hashed
        .get(&name)
        .ok_or_else(|| ApiError::UnknownAsset(name.chars().take(100).collect()))?;
    Ok((
        [
            (CONTENT_TYPE, file.content_type),
            (CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        file.bytes.clone(),
    )
        .into_response())
}
