//! A Function URL's request and response (payload format 2.0), as Lambda's
//! Runtime API carries them. Only what the receiver reads is parsed, in one
//! pass straight from the invocation's bytes; the rest of the event is
//! skipped.

use base64::Engine;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionUrlRequest {
    #[serde(default)]
    pub raw_path: String,
    pub request_context: RequestContext,
    #[serde(default, deserialize_with = "header_map")]
    pub headers: HeaderMap,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub is_base64_encoded: bool,
}

#[derive(Debug, Deserialize)]
pub struct RequestContext {
    pub http: HttpDescription,
}

#[derive(Debug, Deserialize)]
pub struct HttpDescription {
    #[serde(deserialize_with = "method")]
    pub method: Method,
}

/// What the Function URL answers: status, a JSON body when there is one.
/// `multiValueHeaders` and `cookies` are always present, empty: Function
/// URLs do without them, but `cargo lambda watch` refuses a response that
/// lacks them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionUrlResponse {
    pub status_code: u16,
    pub headers: ResponseHeaders,
    pub multi_value_headers: ResponseHeaders,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub is_base64_encoded: bool,
    pub cookies: [&'static str; 0],
}

#[derive(Debug, Default, Serialize)]
pub struct ResponseHeaders {
    #[serde(rename = "content-type", skip_serializing_if = "Option::is_none")]
    content_type: Option<&'static str>,
}

#[derive(Debug, thiserror::Error)]
pub enum FunctionUrlError {
    /// Lambda marked the body base64 but it does not decode; nothing the
    /// sender signed can be recovered from it.
    #[error("the request body is marked base64 but does not decode")]
    Base64,
}

impl FunctionUrlError {
    pub fn status(&self) -> StatusCode {
        match self {
            FunctionUrlError::Base64 => StatusCode::BAD_REQUEST,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            FunctionUrlError::Base64 => "invalid_encoding",
        }
    }
}

impl FunctionUrlRequest {
    /// The body's bytes as the client sent them: Function URLs base64-encode
    /// bodies they do not treat as text.
    pub fn body_bytes(&self) -> Result<std::borrow::Cow<'_, [u8]>, FunctionUrlError> {
        let body = self.body.as_deref().unwrap_or_default();
        if self.is_base64_encoded {
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .map(std::borrow::Cow::Owned)
                .map_err(|_| FunctionUrlError::Base64)
        } else {
            Ok(std::borrow::Cow::Borrowed(body.as_bytes()))
        }
    }
}

impl FunctionUrlResponse {
    pub fn new(status: StatusCode, body: Option<String>) -> FunctionUrlResponse {
        FunctionUrlResponse {
            status_code: status.as_u16(),
            headers: ResponseHeaders {
                content_type: body.as_ref().map(|_| "application/json"),
            },
            multi_value_headers: ResponseHeaders::default(),
            body,
            is_base64_encoded: false,
            cookies: [],
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

fn method<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Method, D::Error> {
    let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    Method::from_bytes(name.as_bytes()).map_err(serde::de::Error::custom)
}

/// Function URLs join repeated headers with commas into one string per
/// lowercase name. A name or value `http` cannot hold is left out: no header
/// the receiver reads can be one.
fn header_map<'de, D: Deserializer<'de>>(deserializer: D) -> Result<HeaderMap, D::Error> {
    struct Headers;
    impl<'de> Visitor<'de> for Headers {
        type Value = HeaderMap;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map of header names to strings")
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<HeaderMap, E> {
            Ok(HeaderMap::new())
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeaderMap, A::Error> {
            let mut headers = HeaderMap::with_capacity(map.size_hint().unwrap_or(16));
            while let Some((name, value)) =
                map.next_entry::<std::borrow::Cow<'de, str>, std::borrow::Cow<'de, str>>()?
            {
                if let (Ok(name), Ok(value)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    headers.append(name, value);
                }
            }
            Ok(headers)
        }
    }
    deserializer.deserialize_any(Headers)
}
