//! A connection's two byte buffers, both bounded: what was received and not yet parsed, and
//! what was answered and not yet sent.
//!
//! Parsed and sent bytes are consumed by moving an offset; the buffers compact only when they
//! read or are appended to, so a burst of pipelined requests costs time linear in its size.

use std::io::{self, Read};

/// Most bytes read from a socket in one call.
const READ_CHUNK: usize = 16 * 1024;

/// Pending output above which a connection stops parsing and reading until the client reads.
pub(super) const OUTPUT_LIMIT: usize = 64 * 1024;

/// Bytes received and not yet parsed, at most `capacity` of them.
pub(super) struct Input {
    bytes: Vec<u8>,
    start: usize,
    capacity: usize,
}

impl Input {
    /// An empty buffer that holds at most `capacity` bytes (one whole request at the limits).
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            bytes: Vec::new(),
            start: 0,
            capacity,
        }
    }

    /// The bytes not yet parsed.
    pub(super) fn unparsed(&self) -> &[u8] {
        &self.bytes[self.start..]
    }

    pub(super) fn len(&self) -> usize {
        self.bytes.len() - self.start
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many more bytes fit.
    pub(super) fn room(&self) -> usize {
        self.capacity.saturating_sub(self.len())
    }

    /// Marks the first `used` unparsed bytes as parsed.
    pub(super) fn consume(&mut self, used: usize) {
        self.start = (self.start + used).min(self.bytes.len());
        if self.start == self.bytes.len() {
            self.clear();
        }
    }

    /// Forgets everything received.
    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.start = 0;
    }

    /// Appends one read from `reader`, at most the room left; Ok(0) means end of stream.
    pub(super) fn read_from(&mut self, reader: &mut dyn Read) -> io::Result<usize> {
        let wanted = self.room().min(READ_CHUNK);
        if wanted == 0 {
            return Err(io::Error::other("input buffer full"));
        }
        // Moving the unparsed bytes only once as many were parsed keeps the copying linear.
        if self.start > 0 && self.start >= self.len() {
            self.bytes.drain(..self.start);
            self.start = 0;
        }
        let filled = self.bytes.len();
        self.bytes.resize(filled + wanted, 0);
        let result = reader.read(&mut self.bytes[filled..]);
        self.bytes.truncate(filled + *result.as_ref().unwrap_or(&0));
        if self.bytes.is_empty() && self.bytes.capacity() > READ_CHUNK {
            self.bytes.shrink_to(READ_CHUNK);
        }
        result
    }
}

/// Bytes answered and not yet sent.
#[derive(Default)]
pub(super) struct Output {
    bytes: Vec<u8>,
    sent: usize,
}

impl Output {
    /// The bytes not yet sent.
    pub(super) fn pending(&self) -> &[u8] {
        &self.bytes[self.sent..]
    }

    pub(super) fn len(&self) -> usize {
        self.bytes.len() - self.sent
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether enough waits to be sent that no more requests should be answered for now.
    pub(super) fn is_full(&self) -> bool {
        self.len() >= OUTPUT_LIMIT
    }

    /// Marks `count` pending bytes as sent.
    pub(super) fn advance(&mut self, count: usize) {
        self.sent = (self.sent + count).min(self.bytes.len());
        if self.sent == self.bytes.len() {
            self.clear();
        }
    }

    /// Forgets everything pending.
    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.sent = 0;
        if self.bytes.capacity() > OUTPUT_LIMIT {
            self.bytes.shrink_to(OUTPUT_LIMIT);
        }
    }

    /// The buffer to append a response to, with sent bytes dropped first.
    pub(super) fn append(&mut self) -> &mut Vec<u8> {
        if self.sent > 0 && self.sent >= self.len() {
            self.bytes.drain(..self.sent);
            self.sent = 0;
        }
        &mut self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::{Input, Output, OUTPUT_LIMIT};

    #[test]
    fn input_consumes_by_offset_and_stops_at_capacity() {
        let mut input = Input::new(8);
        let mut source: &[u8] = b"abcdefghij";
        assert_eq!(input.read_from(&mut source).unwrap(), 8);
        assert_eq!(input.room(), 0);
        assert!(input.read_from(&mut source).is_err());
        input.consume(3);
        assert_eq!(input.unparsed(), b"defgh");
        input.consume(2);
        assert_eq!(input.read_from(&mut source).unwrap(), 2);
        assert_eq!(input.unparsed(), b"fghij");
        input.consume(5);
        assert!(input.is_empty());
        assert_eq!(input.room(), 8);
    }

    #[test]
    fn output_is_full_at_its_limit_and_advances() {
        let mut output = Output::default();
        output
            .append()
            .extend(std::iter::repeat_n(b'x', OUTPUT_LIMIT));
        assert!(output.is_full());
        output.advance(10);
        assert!(!output.is_full());
        output.append().extend_from_slice(b"yz");
        assert_eq!(output.len(), OUTPUT_LIMIT - 8);
        assert_eq!(&output.pending()[OUTPUT_LIMIT - 10..], b"yz");
        output.advance(OUTPUT_LIMIT);
        assert!(output.is_empty());
    }
}
