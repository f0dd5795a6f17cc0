//! A Function URL invocation (payload format 2.0) as lambda_http's request.
//! The receiver reads the method, the raw path, the headers and the body's
//! bytes exactly as the client sent them; nothing else.

use base64::Engine;
use http::StatusCode;
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Request};

/// The path exactly as the client sent it (`rawPath`), before lambda_http
/// makes a URL of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawPath(pub String);

/// Why an invocation could not be read as a Function URL request.
#[derive(Debug, thiserror::Error)]
pub enum FunctionUrlError {
    /// Lambda marked the body base64 but it does not decode; nothing the
    /// sender signed can be recovered from it.
    #[error("the request body is marked base64 but does not decode")]
    Base64,
    /// An event of another shape than a Function URL's (not configured so).
    #[error("the invocation is not a Function URL request")]
    NotFunctionUrl,
}

impl FunctionUrlError {
    /// The answer's status: 400 for a body that does not decode, 500 for an
    /// invocation of another shape.
    pub fn status(&self) -> StatusCode {
        match self {
            FunctionUrlError::Base64 => StatusCode::BAD_REQUEST,
            FunctionUrlError::NotFunctionUrl => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Its stable code: `invalid_encoding` or `unsupported_event`.
    pub fn code(&self) -> &'static str {
        match self {
            FunctionUrlError::Base64 => "invalid_encoding",
            FunctionUrlError::NotFunctionUrl => "unsupported_event",
        }
    }
}

/// lambda_http's request for `event`, its body the client's bytes.
///
/// lambda_http builds the request's URI from the `Host` header, the stage and
/// the path with `Url::parse(..).unwrap()`, and decodes a base64 body with
/// `expect`: odd input would panic. The receiver reads neither the URI nor
/// the query, so the conversion is given a plain `/` and no host, and the
/// body, headers and raw path are put back afterwards.
pub fn into_request(event: LambdaRequest) -> Result<Request, FunctionUrlError> {
    #[allow(unreachable_patterns)]
    let mut event = match event {
        LambdaRequest::ApiGatewayV2(event) => event,
        _ => return Err(FunctionUrlError::NotFunctionUrl),
    };
    let body = match (event.body.take(), event.is_base64_encoded) {
        (None, _) => Body::Empty,
        (Some(text), false) => Body::Text(text),
        (Some(text), true) => Body::Binary(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| FunctionUrlError::Base64)?,
        ),
    };
    event.is_base64_encoded = false;
    let path = RawPath(event.raw_path.replace("/".into()).unwrap_or_default());
    let headers = std::mem::take(&mut event.headers);
    event.raw_query_string = None;
    event.cookies = None;
    event.request_context.domain_name = None;
    event.request_context.stage = None;
    let mut request = Request::from(LambdaRequest::ApiGatewayV2(event));
    *request.headers_mut() = headers;
    *request.body_mut() = body;
    request.extensions_mut().insert(path);
    Ok(request)
}
