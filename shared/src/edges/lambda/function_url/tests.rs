//! The Function URL wire format as AWS documents it (payload format 2.0).

use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{FunctionUrlError, FunctionUrlRequest, FunctionUrlResponse};

/// The documented example, with a body that needs JSON escaping.
fn documented_event(body: Value, is_base64_encoded: bool) -> String {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/events-api",
        "rawQueryString": "parameter1=value1&parameter1=value2",
        "cookies": ["cookie1", "cookie2"],
        "headers": {
            "content-type": "application/json",
            "x-akeneo-request-signature": "abc123",
            "x-forwarded-for": "203.0.113.7, 198.51.100.1"
        },
        "queryStringParameters": { "parameter1": "value1,value2" },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "urlid",
            "authentication": null,
            "authorizer": { "iam": { "accessKey": "AKIA", "accountId": "111122223333" } },
            "domainName": "urlid.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "urlid",
            "http": {
                "method": "POST",
                "path": "/events-api",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "AkeneoPIM/7.0"
            },
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "12/Mar/2026:19:03:58 +0000",
            "timeEpoch": 1_583_348_638_390u64
        },
        "body": body,
        "pathParameters": null,
        "isBase64Encoded": is_base64_encoded,
        "stageVariables": null
    })
    .to_string()
}

fn parse(event: &str) -> FunctionUrlRequest {
    serde_json::from_str(event).expect("a documented Function URL event parses")
}

#[test]
fn a_text_body_reaches_the_receiver_as_the_bytes_the_client_sent() {
    // GIVEN a body with escapes, non-ASCII text and a slash JSON may escape
    let sent = "{\"data\":\"caf\u{e9} \\\"quoted\\\" a/b \\u00e9\"}\n";
    let event = documented_event(json!(sent), false);

    // WHEN Lambda's event is parsed
    let request = parse(&event);

    // THEN method, path, headers and body are those of the request
    assert_eq!(request.request_context.http.method, Method::POST);
    assert_eq!(request.raw_path, "/events-api");
    assert_eq!(request.headers["x-akeneo-request-signature"], "abc123");
    assert_eq!(request.headers["x-forwarded-for"], "203.0.113.7, 198.51.100.1");
    assert_eq!(&*request.body_bytes().expect("text body"), sent.as_bytes());
}

#[test]
fn a_base64_body_is_decoded_to_the_bytes_the_client_sent() {
    // GIVEN a body a Function URL passed base64-encoded
    let sent = b"{\"events\":[]}\xff";
    let event = documented_event(json!("eyJldmVudHMiOltdff8="), true);

    // WHEN it is read
    let body = parse(&event).body_bytes().expect("valid base64").into_owned();

    // THEN it is the client's bytes, whatever they are
    assert_eq!(body, sent);
}

#[test]
fn a_body_marked_base64_that_does_not_decode_is_refused_as_bad_request() {
    // GIVEN an event whose body is marked base64 but is not
    let event = documented_event(json!("not base64!"), true);

    // WHEN it is read
    let refused = parse(&event).body_bytes().expect_err("not base64");

    // THEN it is a 400 with a stable code
    assert!(matches!(refused, FunctionUrlError::Base64));
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(refused.code(), "invalid_encoding");
}

#[test]
fn a_request_without_body_or_headers_parses_as_empty() {
    // GIVEN a GET as a health check sends it: no body, null headers
    let event = json!({
        "rawPath": "/event-platform",
        "headers": null,
        "requestContext": { "http": { "method": "GET" } },
        "isBase64Encoded": false
    })
    .to_string();

    // WHEN it is parsed
    let request = parse(&event);

    // THEN it has no headers and an empty body
    assert_eq!(request.request_context.http.method, Method::GET);
    assert!(request.headers.is_empty());
    assert!(request.body_bytes().expect("no body").is_empty());
}

#[test]
fn a_header_http_cannot_hold_is_left_out_and_the_others_kept() {
    // GIVEN a header value with a control character beside a valid header
    let event = json!({
        "rawPath": "/events-api",
        "headers": { "x-broken": "a\u{1}b", "x-akeneo-request-timestamp": "1795406400" },
        "requestContext": { "http": { "method": "POST" } },
        "body": "{}"
    })
    .to_string();

    // WHEN it is parsed
    let request = parse(&event);

    // THEN only the valid header is there
    assert!(request.headers.get("x-broken").is_none());
    assert_eq!(request.headers["x-akeneo-request-timestamp"], "1795406400");
}

#[test]
fn an_answer_with_a_body_is_json_with_its_content_type() {
    // GIVEN the receiver's answer to a refused request
    let response = FunctionUrlResponse::new(
        StatusCode::UNAUTHORIZED,
        Some(r#"{"error":"unauthorized"}"#.into()),
    );

    // WHEN lambda_runtime serialises it for the Runtime API
    let wire: Value = serde_json::to_value(&response).expect("serialisable");

    // THEN it is the Function URL response format
    assert_eq!(
        wire,
        json!({
            "statusCode": 401,
            "headers": { "content-type": "application/json" },
            "multiValueHeaders": {},
            "body": "{\"error\":\"unauthorized\"}",
            "isBase64Encoded": false,
            "cookies": []
        })
    );
}

#[test]
fn an_answer_without_a_body_has_no_body_and_no_content_type() {
    // GIVEN the receiver's answer to a HEAD request
    let response = FunctionUrlResponse::new(StatusCode::OK, None);

    // WHEN it is serialised
    let wire: Value = serde_json::to_value(&response).expect("serialisable");

    // THEN only the status is said
    assert_eq!(
        wire,
        json!({ "statusCode": 200, "headers": {}, "multiValueHeaders": {}, "isBase64Encoded": false, "cookies": [] })
    );
}
