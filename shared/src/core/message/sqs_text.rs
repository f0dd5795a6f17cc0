//! The characters SQS accepts in a message body and in attribute values:
//! `#x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF`. A
//! message holding any other character is refused whole, so an event Akeneo
//! signed could never be queued; the writer checks with these functions and
//! takes another form. Rust strings cannot hold surrogates, which leaves the
//! C0 controls but tab, line feed and carriage return, and U+FFFE and U+FFFF.

/// Whether SQS accepts `c` in a body or an attribute value.
pub fn sqs_accepts(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Whether SQS accepts every character of `text`. Large events are scanned
/// on every request, so a byte-wise pass that can use wide registers looks for
/// the only lead bytes that can start a refused character (a C0 control, or
/// 0xEF, the first byte of U+FFFE and U+FFFF) before any character is decoded.
pub fn is_sqs_text(text: &str) -> bool {
    let suspect = |chunk: &[u8]| {
        chunk
            .iter()
            .fold(false, |seen, &b| seen | (b < 0x20) | (b == 0xEF))
    };
    if !text.as_bytes().chunks(64).any(suspect) {
        return true;
    }
    text.chars().all(sqs_accepts)
}

/// Whether SQS accepts every character of `json`, JSON text as a parser
/// accepted it: such text holds no raw control character (JSON forbids them
/// in strings, and whitespace is tab, line feed, carriage return and space),
/// so only U+FFFE and U+FFFF are left, both starting with the byte 0xEF, which
/// a word-at-a-time search rules out for most events without decoding one
/// character.
pub fn is_sqs_json(json: &str) -> bool {
    !json.as_bytes().contains(&0xEF) || json.chars().all(sqs_accepts)
}

/// `text` with each character SQS refuses replaced by U+FFFD, for values that
/// only label a message (its attributes): the exact value stays in the body.
pub fn sqs_clean(text: &str) -> String {
    if is_sqs_text(text) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if sqs_accepts(c) {
                c
            } else {
                char::REPLACEMENT_CHARACTER
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refused_characters_are_the_c0_controls_but_three_and_two_noncharacters() {
        // GIVEN every character around the rule's edges
        let refused: Vec<char> = ['\0', '\u{8}', '\u{B}', '\u{C}', '\u{1F}', '\u{FFFE}', '\u{FFFF}'].into();
        let accepted: Vec<char> = [
            '\t',
            '\n',
            '\r',
            ' ',
            '\u{D7FF}',
            '\u{E000}',
            '\u{FFFD}',
            '\u{10000}',
            '\u{10FFFF}',
            '\u{7F}',
        ]
        .into();
        // WHEN each is checked
        // THEN only the first group is refused
        assert!(refused.iter().all(|&c| !sqs_accepts(c)));
        assert!(accepted.iter().all(|&c| sqs_accepts(c)));
    }

    #[test]
    fn a_long_text_is_refused_for_one_character_at_its_end() {
        // GIVEN 100 KB of accepted text (with other characters starting 0xEF) and one U+FFFF at the end
        let mut text = "é\u{F000}\u{FFFD}a".repeat(20_000);
        assert!(is_sqs_text(&text));
        text.push('\u{FFFF}');
        // WHEN it is checked
        // THEN it is refused
        assert!(!is_sqs_text(&text));
    }

    #[test]
    fn json_text_is_refused_only_for_its_noncharacters() {
        // GIVEN JSON text with other characters starting 0xEF, and with a raw U+FFFE
        // WHEN each is checked
        // THEN only the second is refused
        assert!(is_sqs_json("{\"a\":\"\u{F000}\u{FFFD}\\u0000\"}"));
        assert!(!is_sqs_json("{\"a\":\"\u{FFFE}\"}"));
    }

    #[test]
    fn cleaning_replaces_each_refused_character_and_keeps_the_rest() {
        // GIVEN a value with a form feed, a NUL and U+FFFE among accepted characters
        // WHEN it is cleaned
        // THEN each refused character became U+FFFD
        assert_eq!(
            sqs_clean("a\u{C}b\0c\u{FFFE}é\t"),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}é\t"
        );
        assert_eq!(sqs_clean("plain"), "plain");
    }
}
