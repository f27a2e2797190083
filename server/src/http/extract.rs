//! Extractors that turn request parts into domain values or an [`ApiError`].

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::header::{AUTHORIZATION, ORIGIN};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::domain::Origin;
use crate::http::error::ApiError;

/// A JSON body whose failures come back in our error format. Any content type is accepted:
/// `sendBeacon` and preflight-free `fetch` can only send `text/plain`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge(soovita_wire::MAX_BODY_BYTES)
                } else {
                    ApiError::UnreadableBody(rejection.body_text())
                }
            })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::MalformedJson(e.to_string()))
    }
}

/// A query string whose failures come back in our error format as `bad_query`.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::from_request_parts(parts, state)
            .await
            .map(|Query(query)| Self(query))
            .map_err(|rejection| ApiError::BadQuery(rejection.body_text()))
    }
}

/// The `Origin` header, parsed; absent when the request did not carry one.
pub struct RequestOrigin(pub Option<Origin>);

impl<S: Send + Sync> FromRequestParts<S> for RequestOrigin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(ORIGIN) else {
            return Ok(Self(None));
        };
        let raw = value.to_str().unwrap_or_default();
        // Sandboxed frames and file: pages send "null"; it can never be on an allow-list.
        let origin = Origin::parse(raw).map_err(|_| ApiError::OriginNotAllowed(raw.to_owned()))?;
        Ok(Self(Some(origin)))
    }
}

/// The token of an `Authorization: Bearer` header.
pub struct BearerToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(|token| Self(token.trim().to_owned()))
            .filter(|token| !token.0.is_empty())
            .ok_or(ApiError::MissingToken)
    }
}
