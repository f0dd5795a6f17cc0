//! The receiver's answer as a Function URL response.

use http::{HeaderValue, StatusCode, header};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_http::{Body, Response};

/// What goes back to the Runtime API.
pub type FunctionUrlResponse = ApiGatewayV2httpResponse;

/// The status, and a JSON body when there is one.
pub fn json(status: StatusCode, body: Option<String>) -> Response<Body> {
    let mut response = Response::new(body.map_or(Body::Empty, Body::Text));
    *response.status_mut() = status;
    if !matches!(response.body(), Body::Empty) {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    response
}

/// In the Function URL format. `multiValueHeaders` and `cookies` are always
/// written, empty: Function URLs do without them, but `cargo lambda watch`
/// refuses a response that lacks them.
pub fn to_wire(response: Response<Body>) -> FunctionUrlResponse {
    let (parts, body) = response.into_parts();
    let mut wire = FunctionUrlResponse::default();
    wire.status_code = i64::from(parts.status.as_u16());
    wire.headers = parts.headers;
    wire.body = match body {
        Body::Empty => None,
        other => Some(other),
    };
    wire.is_base64_encoded = false;
    wire
}
