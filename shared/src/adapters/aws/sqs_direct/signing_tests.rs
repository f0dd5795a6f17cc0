//! The signature checked against botocore's SigV4 (an independent
//! implementation), computed for the same request, credentials and time with
//! `botocore.auth.SigV4Auth(credentials, "sqs", "eu-west-1").add_auth(request)`.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;

use super::signing::signed_request;

const BODY: &str = r#"{"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/123456789012/akeneo-events","Entries":[{"Id":"0","MessageBody":"{\"v\":1}"}]}"#;
/// 2026-12-02T20:45:00Z
const AT_SECONDS: u64 = 1_796_244_300;

fn credentials(session_token: Option<&str>) -> Credentials {
    Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        session_token.map(str::to_owned),
        None,
        "test",
    )
}

fn header<'a>(request: &'a http::Request<()>, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|value| value.to_str().ok())
}

#[test]
fn a_batch_is_signed_as_botocore_signs_it() {
    // GIVEN session credentials and a fixed time
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(AT_SECONDS);
    // WHEN a SendMessageBatch body is signed for eu-west-1
    let request = signed_request(
        "https://sqs.eu-west-1.amazonaws.com/",
        BODY.as_bytes(),
        &credentials(Some("session-token-example")),
        "eu-west-1",
        at,
    )
    .expect("signed");
    // THEN the headers and signature are botocore's
    assert_eq!(
        header(&request, "content-type"),
        Some("application/x-amz-json-1.0")
    );
    assert_eq!(
        header(&request, "x-amz-target"),
        Some("AmazonSQS.SendMessageBatch")
    );
    assert_eq!(header(&request, "x-amz-date"), Some("20261202T204500Z"));
    assert_eq!(
        header(&request, "x-amz-security-token"),
        Some("session-token-example")
    );
    assert_eq!(
        header(&request, "authorization"),
        Some(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/eu-west-1/sqs/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, \
             Signature=c1f406a72a7947d25aaee048cfd02e8af19432113a25d54c81690db28c83e705"
        )
    );
}

#[test]
fn long_term_keys_send_no_session_token() {
    // GIVEN an IAM user's keys (no session token)
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(AT_SECONDS);
    // WHEN a body is signed
    let request = signed_request(
        "https://sqs.eu-west-1.amazonaws.com/",
        BODY.as_bytes(),
        &credentials(None),
        "eu-west-1",
        at,
    )
    .expect("signed");
    // THEN no token header is sent or signed, and the signature is botocore's
    assert_eq!(header(&request, "x-amz-security-token"), None);
    assert_eq!(
        header(&request, "authorization"),
        Some(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/eu-west-1/sqs/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-target, \
             Signature=c7ff0829ff9d00c090689042ba979b827a7105745890d30da6cbf9da6d32e8fc"
        )
    );
}
