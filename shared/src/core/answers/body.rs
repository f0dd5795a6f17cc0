//! An answer's body, read chunk by chunk up to a limit: a server that
//! announces or sends more is cut off before the excess is held in memory.

use bytes::Bytes;

/// The answer is longer than its caller allows. Trying again later may work
/// (a proxy's error page, a PIM under repair), so callers treat it as
/// transient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the answer is longer than the {limit} bytes allowed")]
pub struct AnswerTooLarge {
    /// The limit, in bytes.
    pub limit: usize,
}

/// What has been read of one answer's body.
#[derive(Debug)]
pub struct AnswerBuffer {
    limit: usize,
    bytes: Vec<u8>,
}

/// Room reserved up front at most, whatever length the answer announces: an
/// announced length is a claim, not a fact.
const MAX_RESERVED: usize = 1024 * 1024;

impl AnswerBuffer {
    /// A buffer for an answer that announced `announced` bytes (its
    /// `Content-Length`, if any); refused at once when that is over `limit`.
    pub fn new(limit: usize, announced: Option<u64>) -> Result<AnswerBuffer, AnswerTooLarge> {
        let announced = announced.map(|length| usize::try_from(length).unwrap_or(usize::MAX));
        if announced.is_some_and(|length| length > limit) {
            return Err(AnswerTooLarge { limit });
        }
        let reserve = announced.unwrap_or(0).min(MAX_RESERVED).min(limit);
        Ok(AnswerBuffer {
            limit,
            bytes: Vec::with_capacity(reserve),
        })
    }

    /// Adds the next chunk; refused, without keeping it, when the body would
    /// pass the limit.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), AnswerTooLarge> {
        if chunk.len() > self.limit - self.bytes.len() {
            return Err(AnswerTooLarge { limit: self.limit });
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    /// Bytes read so far.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing was read yet.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The body read.
    pub fn finish(self) -> Bytes {
        Bytes::from(self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_announcing_more_than_the_limit_is_refused_before_it_is_read() {
        // GIVEN a limit of 1 KB
        // WHEN an answer announces 1 KB and one byte, then u64::MAX
        // THEN both are refused at once; exactly the limit is accepted
        assert_eq!(
            AnswerBuffer::new(1024, Some(1025)).err(),
            Some(AnswerTooLarge { limit: 1024 })
        );
        assert!(AnswerBuffer::new(1024, Some(u64::MAX)).is_err());
        assert!(AnswerBuffer::new(1024, Some(1024)).is_ok());
    }

    #[test]
    fn a_body_that_goes_on_past_the_limit_is_cut_off_without_holding_the_excess() {
        // GIVEN a buffer of 10 bytes that holds 8, and a body that announced nothing
        let mut buffer = AnswerBuffer::new(10, None).expect("no length announced");
        buffer.push(b"12345678").expect("under the limit");
        // WHEN a chunk of 3 bytes comes
        let refused = buffer.push(b"9ab");
        // THEN it is refused and the buffer still holds only the first 8
        assert_eq!(refused, Err(AnswerTooLarge { limit: 10 }));
        assert_eq!(buffer.len(), 8);
        buffer.push(b"9a").expect("exactly the limit");
        assert_eq!(&buffer.finish()[..], b"123456789a");
    }

    #[test]
    fn a_huge_announced_length_under_the_limit_does_not_reserve_it() {
        // GIVEN a limit of 16 MB and an answer announcing 16 MB
        // WHEN the buffer is made
        let buffer = AnswerBuffer::new(16 << 20, Some(16 << 20)).expect("at the limit");
        // THEN at most 1 MB is reserved until bytes actually arrive
        assert!(buffer.bytes.capacity() <= MAX_RESERVED);
    }
}
