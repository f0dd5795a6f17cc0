//! The fuzz targets' invariants ([`super::model`]) as property tests: bounded,
//! on stable Rust, in every test run. The generators write JSON by hand so
//! that what a serialiser would never produce comes up: escapes and raw
//! characters mixed, U+FFFE/U+FFFF raw, lone surrogate escapes, repeated keys,
//! odd whitespace, truncations and stray bytes.

use http::Method;
use proptest::prelude::*;

use super::answers::check_answer;
use super::model::{
    EVENT_PLATFORM_SECRETS, EVENTS_API_SECRETS, NOW, RequestCase, SignatureCase, check_message_and_processor,
    check_request, check_signatures, check_split,
};
use crate::core::protocol::Protocol;
use crate::core::signature::{event_platform, events_api};

fn protocol() -> impl Strategy<Value = Protocol> {
    prop_oneof![Just(Protocol::EventsApi), Just(Protocol::EventPlatform)]
}

/// One character of a JSON string, written raw or escaped.
fn string_char() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9 _.:-]".prop_map(|s| s),
        1 => Just("\\\"".to_owned()),
        1 => Just("\\\\".to_owned()),
        1 => Just("\\/".to_owned()),
        1 => Just("\\f".to_owned()),
        1 => Just("\\u0000".to_owned()),
        1 => Just("\\u00e9".to_owned()),
        1 => Just("é".to_owned()),
        1 => Just("\u{FFFF}".to_owned()),
        1 => Just("\u{FFFE}".to_owned()),
        1 => Just("\\uffff".to_owned()),
        1 => Just("\\ud800".to_owned()),
        1 => Just("\\ud83d\\ude00".to_owned()),
        1 => Just("😀".to_owned()),
        1 => Just("\t".to_owned()).prop_map(|_| "\\t".to_owned()),
    ]
}

fn json_string() -> impl Strategy<Value = String> {
    prop::collection::vec(string_char(), 0..8).prop_map(|chars| format!("\"{}\"", chars.concat()))
}

fn space() -> impl Strategy<Value = &'static str> {
    prop_oneof![4 => Just(""), 1 => Just(" "), 1 => Just("\n  "), 1 => Just("\t")]
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => json_string(),
        1 => any::<i32>().prop_map(|n| n.to_string()),
        1 => Just("1.5e3".to_owned()),
        1 => Just("null".to_owned()),
        1 => Just("true".to_owned()),
        1 => Just("[]".to_owned()),
        1 => Just("{\"uuid\":\"x\"}".to_owned()),
    ]
}

/// An event object, keys from both protocols (repeats possible).
fn event() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("event_id"),
        Just("action"),
        Just("event_datetime"),
        Just("pim_source"),
        Just("id"),
        Just("type"),
        Just("time"),
        Just("subject"),
        Just("data"),
        Just("author"),
    ];
    prop::collection::vec((key, scalar(), space()), 0..7).prop_map(|fields| {
        let fields: Vec<String> = fields
            .into_iter()
            .map(|(key, value, space)| format!("{space}\"{key}\"{space}:{value}"))
            .collect();
        format!("{{{}}}", fields.join(","))
    })
}

/// A body of either protocol's shape, or near it.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let events = prop::collection::vec(event(), 0..4);
    let shaped = (events, 0..6u8, space())
        .prop_map(|(events, shape, space)| {
            let list = format!("[{space}{}]", events.join(","));
            match shape {
                0 => format!("{{\"events\":{list}}}"),
                1 => format!("{{\"events\":[{{}}],\"events\":{list},\"x\":1}}"),
                2 => format!("[{list}]"),
                3 => events.first().cloned().unwrap_or_else(|| "{}".to_owned()),
                4 => list,
                _ => format!("{space}{{{space}\"events\"{space}:{space}{list}{space}}}{space}"),
            }
        })
        .boxed();
    let mutated = (shaped.clone(), any::<prop::sample::Index>(), any::<u8>(), 0..3u8).prop_map(
        |(body, at, byte, mutation)| {
            let mut bytes = body.into_bytes();
            let at = at.index(bytes.len() + 1);
            match mutation {
                0 => bytes.truncate(at),
                1 => bytes.insert(at, byte),
                _ => {}
            }
            bytes
        },
    );
    prop_oneof![3 => shaped.prop_map(String::into_bytes), 1 => mutated]
}

/// A signature header's value: right for one of the secrets, or not.
fn signature_value(
    message: Vec<u8>,
    secrets: &'static [&'static str],
) -> impl Strategy<Value = Option<Vec<u8>>> {
    let sign = move |i: usize| {
        use ring::hmac;
        let key = hmac::Key::new(hmac::HMAC_SHA256, secrets[i % secrets.len()].as_bytes());
        hex::encode(hmac::sign(&key, &message))
    };
    let right = sign.clone();
    prop_oneof![
        3 => (0..2usize).prop_map(move |i| Some(right(i).into_bytes())),
        1 => (0..2usize).prop_map(move |i| Some(format!(" {} ", sign(i).to_uppercase()).into_bytes())),
        1 => Just(None),
        1 => Just(Some(Vec::new())),
        1 => "[0-9a-f]{64}".prop_map(|s| Some(s.into_bytes())),
        1 => prop::collection::vec(any::<u8>(), 0..70).prop_map(Some),
    ]
}

fn request() -> impl Strategy<Value = RequestCase> {
    let method = prop_oneof![8 => Just(Method::POST), 1 => Just(Method::GET), 1 => Just(Method::HEAD), 1 => Just(Method::PUT)];
    (protocol(), body(), method, -400i64..400).prop_flat_map(|(protocol, body, method, skew)| {
        let signed = RequestCase::signed(protocol, body.clone(), skew);
        let timestamp = (NOW as i64 - skew).to_string();
        let (message, secrets, first_name, second_name): (Vec<u8>, &'static [&'static str], _, _) =
            match protocol {
                Protocol::EventsApi => (
                    [timestamp.as_bytes(), b".", &body].concat(),
                    &EVENTS_API_SECRETS,
                    events_api::TIMESTAMP_HEADER,
                    events_api::SIGNATURE_HEADER,
                ),
                Protocol::EventPlatform | Protocol::CatchUp => (
                    body.clone(),
                    &EVENT_PLATFORM_SECRETS,
                    event_platform::PRIMARY_HEADER,
                    event_platform::SECONDARY_HEADER,
                ),
            };
        let first = match protocol {
            Protocol::EventsApi => Just(Some(timestamp.into_bytes())).boxed(),
            Protocol::EventPlatform | Protocol::CatchUp => signature_value(message.clone(), secrets).boxed(),
        };
        (first, signature_value(message, secrets), any::<bool>()).prop_map(
            move |(first, second, as_akeneo)| {
                let mut case = signed.clone();
                case.method = method.clone();
                if !as_akeneo {
                    case.headers = [(first_name, first.clone()), (second_name, second)]
                        .into_iter()
                        .filter_map(|(name, value)| Some((name, value?)))
                        .collect();
                }
                case
            },
        )
    })
}

fn signatures() -> impl Strategy<Value = SignatureCase> {
    let secrets = prop::collection::vec(
        prop_oneof![Just("s1".to_owned()), Just("s2".to_owned()), "[a-z]{1,8}"],
        0..3,
    );
    let header = prop_oneof![
        2 => Just(None),
        1 => Just(Some(NOW.to_string().into_bytes())),
        1 => Just(Some(format!(" {} ", NOW - 100).into_bytes())),
        1 => Just(Some((NOW + 1000).to_string().into_bytes())),
        1 => prop::collection::vec(any::<u8>(), 0..70).prop_map(Some),
        1 => "[0-9a-fA-F]{64}".prop_map(|s| Some(s.into_bytes())),
    ];
    let algorithm = prop_oneof![
        Just(None),
        Just(Some(b"HmacSHA256".to_vec())),
        Just(Some(b"hmacsha256".to_vec())),
        Just(Some(b"SHA1".to_vec()))
    ];
    (
        secrets,
        header.clone(),
        header,
        algorithm,
        prop::collection::vec(any::<u8>(), 0..40),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(secrets, first, second, algorithm, body, sign_first, sign_second)| {
                // Half the cases carry a right signature, so the model's "yes" is exercised too.
                let signer = secrets.first().cloned().unwrap_or_else(|| "s1".to_owned());
                let mut case = SignatureCase {
                    secrets,
                    first,
                    second,
                    algorithm,
                    body,
                };
                if sign_second {
                    let timestamp = case.first.clone().unwrap_or_default();
                    let signed = if sign_first {
                        case.body.clone()
                    } else {
                        [timestamp.as_slice(), b".", &case.body].concat()
                    };
                    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, signer.as_bytes());
                    case.second = Some(hex::encode(ring::hmac::sign(&key, &signed)).into_bytes());
                }
                case
            },
        )
}

/// A number as an answer could write it: ordinary, past u64, negative,
/// fractional, in exponent form, or text.
fn hostile_number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u32>().prop_map(|n| n.to_string()),
        Just("18446744073709551615".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("99999999999999999999999999".to_owned()),
        Just("-1".to_owned()),
        Just("1.5".to_owned()),
        Just("1e308".to_owned()),
        Just("\"3600\"".to_owned()),
        Just("null".to_owned()),
    ]
}

/// A JSON string's content, escapes and controls included.
fn answer_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(string_char(), 0..12).prop_map(|parts| parts.concat())
}

/// What Akeneo's APIs could answer: token answers, search pages, lists and
/// errors with hostile values, truncated or followed by stray bytes, or no
/// JSON at all.
fn answer() -> impl Strategy<Value = (u8, Vec<u8>)> {
    let token = (answer_text(), hostile_number(), answer_text()).prop_map(|(access, expires, refresh)| {
        format!(r#"{{"access_token":"{access}","expires_in":{expires},"token_type":"bearer","refresh_token":"{refresh}"}}"#)
    });
    let page = || {
        (proptest::collection::vec(answer_text(), 0..4), answer_text()).prop_map(|(keys, next)| {
            let items: Vec<String> = keys
                .iter()
                .map(|k| format!(r#"{{"uuid":"{k}","code":"{k}","values":{{}}}}"#))
                .collect();
            format!(
                r#"{{"_links":{{"next":{{"href":"{next}"}}}},"_embedded":{{"items":[{}]}}}}"#,
                items.join(",")
            )
        })
    };
    let error = answer_text().prop_map(|m| format!(r#"{{"code":400,"message":"{m}"}}"#));
    let json = prop_oneof![
        token,
        page(),
        page().prop_map(|p| format!("[{p}]")),
        error,
        hostile_number()
    ];
    let shaped =
        (json, 0..3usize, proptest::collection::vec(any::<u8>(), 0..8)).prop_map(|(text, how, stray)| {
            let mut bytes = text.into_bytes();
            match how {
                0 => {}
                1 => bytes.truncate(bytes.len() / 2),
                _ => bytes.extend(stray),
            }
            bytes
        });
    let body = prop_oneof![4 => shaped, 1 => proptest::collection::vec(any::<u8>(), 0..256)];
    (any::<u8>(), body)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_split_event_is_an_exact_slice_and_the_verdict_matches_the_model((protocol, body) in (protocol(), body())) {
        // GIVEN any body on either route
        // WHEN it is split
        // THEN it is refused exactly when the model refuses it, and each event is a byte-exact slice
        check_split(protocol, &body);
    }

    #[test]
    fn every_event_reaches_the_business_logic_byte_for_byte((protocol, body) in (protocol(), body())) {
        // GIVEN any body that splits
        // WHEN its events are written to messages, read back and processed
        // THEN SQS accepts every message and the business logic sees each event's exact bytes
        check_message_and_processor(protocol, &body);
    }

    #[test]
    fn the_receiver_answers_as_the_protocol_model_and_200_means_all_queued(case in request()) {
        // GIVEN any request, signed right or wrong
        // WHEN the receiver handles it
        // THEN its status is the model's and a 200 means every event is queued byte for byte
        check_request(&case);
    }

    #[test]
    fn signature_verdicts_match_the_model(case in signatures()) {
        // GIVEN any headers, secrets and body
        // WHEN both protocols verify them
        // THEN each verdict is the model's
        check_signatures(&case);
    }

    #[test]
    fn no_answer_from_akeneo_panics_or_passes_its_bounds((pick, body) in answer()) {
        // GIVEN any answer a PIM or the management API could send
        // WHEN it is read as a token, a search page, a list, an error, a Retry-After or chunks under a limit
        // THEN nothing panics and every value read is within its bound
        check_answer(pick, &body);
    }
}
