//! The Function URL wire format as AWS documents it (payload format 2.0).

use http::{Method, StatusCode};
use lambda_http::Request;
use lambda_http::request::LambdaRequest;
use serde_json::{Value, json};

use super::{FunctionUrlError, RawPath, into_request, response, to_wire};

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

fn parse(event: &str) -> LambdaRequest {
    serde_json::from_str(event).expect("a documented Function URL event parses")
}

fn request(event: &str) -> Request {
    into_request(parse(event)).expect("a valid request")
}

fn raw_path(request: &Request) -> &str {
    request.extensions().get::<RawPath>().map_or("", |p| p.0.as_str())
}

#[test]
fn a_text_body_reaches_the_receiver_as_the_bytes_the_client_sent() {
    // GIVEN a body with escapes, non-ASCII text and a slash JSON may escape
    let sent = "{\"data\":\"caf\u{e9} \\\"quoted\\\" a/b \\u00e9\"}\n";
    let event = documented_event(json!(sent), false);

    // WHEN Lambda's event is read
    let request = request(&event);

    // THEN method, path, headers and body are those of the request
    assert_eq!(request.method(), Method::POST);
    assert_eq!(raw_path(&request), "/events-api");
    assert_eq!(request.headers()["x-akeneo-request-signature"], "abc123");
    assert_eq!(request.headers()["x-forwarded-for"], "203.0.113.7, 198.51.100.1");
    assert_eq!(request.body().as_ref(), sent.as_bytes());
}

#[test]
fn a_base64_body_is_decoded_to_the_bytes_the_client_sent() {
    // GIVEN a body a Function URL passed base64-encoded
    let sent = b"{\"events\":[]}\xff";
    let event = documented_event(json!("eyJldmVudHMiOltdff8="), true);

    // WHEN it is read
    let request = request(&event);

    // THEN it is the client's bytes, whatever they are
    assert_eq!(request.body().as_ref(), sent);
}

#[test]
fn a_body_marked_base64_that_does_not_decode_is_refused_as_bad_request() {
    // GIVEN an event whose body is marked base64 but is not
    let event = documented_event(json!("not base64!"), true);

    // WHEN it is read
    let refused = into_request(parse(&event)).expect_err("not base64");

    // THEN it is a 400 with a stable code, not a panic in lambda_http
    assert!(matches!(refused, FunctionUrlError::Base64));
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(refused.code(), "invalid_encoding");
}

#[test]
fn a_request_without_body_or_headers_reads_as_empty() {
    // GIVEN a GET as a health check sends it: no body, null headers
    let event = json!({
        "rawPath": "/event-platform",
        "headers": null,
        "requestContext": { "http": { "method": "GET" } },
        "isBase64Encoded": false
    })
    .to_string();

    // WHEN it is read
    let request = request(&event);

    // THEN it has no headers and an empty body
    assert_eq!(request.method(), Method::GET);
    assert!(request.headers().is_empty());
    assert!(request.body().as_ref().is_empty());
}

#[test]
fn a_header_http_cannot_hold_makes_the_event_unreadable_without_a_panic() {
    // GIVEN a header value with a control character (no HTTP client can send
    // one through a Function URL; lambda_http's event types refuse it)
    let event = json!({
        "rawPath": "/events-api",
        "headers": { "x-broken": "a\u{1}b", "x-akeneo-request-timestamp": "1795406400" },
        "requestContext": { "http": { "method": "POST" } },
        "body": "{}"
    })
    .to_string();

    // WHEN it is read
    let read = std::panic::catch_unwind(|| serde_json::from_str::<LambdaRequest>(&event).is_err());

    // THEN it is a deserialisation error (the runtime reports the invocation failed), not a panic
    assert_eq!(read.ok(), Some(true));
}

#[test]
fn odd_paths_hosts_and_queries_reach_the_receiver_unchanged_and_never_panic() {
    // GIVEN paths lambda_http could not make a URL of, a host with a space, a stage
    for (path, host) in [
        (":99999", "a b"),
        ("/x?y#z", "pim:99999"),
        ("//\\evil", "@"),
        ("", ""),
    ] {
        let event = json!({
            "rawPath": path,
            "rawQueryString": "a=%zz&&",
            "headers": { "host": host, "x-forwarded-proto": "gopher" },
            "requestContext": { "http": { "method": "POST" }, "stage": "prod", "domainName": host },
            "body": "{}"
        })
        .to_string();
        // WHEN it is read
        let read = std::panic::catch_unwind(|| {
            let request = request(&event);
            (raw_path(&request).to_owned(), request.headers()["host"].clone())
        });
        // THEN the raw path and the headers are as sent
        let (seen_path, seen_host) = read.unwrap_or_else(|_| panic!("{path:?} {host:?} panicked"));
        assert_eq!(seen_path, path);
        assert_eq!(seen_host, host);
    }
}

#[test]
fn an_answer_with_a_body_is_json_with_its_content_type() {
    // GIVEN the receiver's answer to a refused request
    let answer = response::json(
        StatusCode::UNAUTHORIZED,
        Some(r#"{"error":"unauthorized"}"#.into()),
    );

    // WHEN it is serialised for the Runtime API
    let wire: Value = serde_json::to_value(to_wire(answer)).expect("serialisable");

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
    let answer = response::json(StatusCode::OK, None);

    // WHEN it is serialised
    let wire: Value = serde_json::to_value(to_wire(answer)).expect("serialisable");

    // THEN only the status is said
    assert_eq!(
        wire,
        json!({ "statusCode": 200, "headers": {}, "multiValueHeaders": {}, "isBase64Encoded": false, "cookies": [] })
    );
}
