//! Message reassembly and incremental, fail-fast UTF-8 validation (RFC 6455 §5.4, §8.1).
//!
//! A text message may be split across frames and chunks anywhere, even inside a
//! code point; [`Utf8Validator`] carries the incomplete code point across the cut
//! and reports an invalid sequence as soon as it has seen it.

use bytes::{Bytes, BytesMut};

use super::error::ProtocolError;

/// A whole outgoing message of `kind`: text must be valid UTF-8 (RFC 6455
/// §5.6), checked once wherever a caller hands over bytes as text.
pub(crate) fn check_outgoing(kind: MessageKind, payload: &[u8]) -> Result<(), super::ApiMisuse> {
    if kind == MessageKind::Text && simdutf8::basic::from_utf8(payload).is_err() {
        return Err(super::ApiMisuse::InvalidUtf8);
    }
    Ok(())
}

/// Incremental UTF-8 validation over a stream of chunks.
///
/// ```
/// use socketwire::ws::message::Utf8Validator;
/// let text = "κόσμε".as_bytes();
/// let mut v = Utf8Validator::default();
/// // Split inside the two-byte 'κ'.
/// v.feed(&text[..1]).unwrap();
/// v.feed(&text[1..]).unwrap();
/// v.finish().unwrap();
/// // An invalid byte fails at once, before the message ends.
/// assert!(Utf8Validator::default().feed(&[0xce, 0xba, 0xff]).is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    partial: [u8; 4],
    partial_len: usize,
}

/// The length of the UTF-8 sequence that starts with `lead` (0 if it cannot start one).
fn sequence_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => 0,
    }
}

impl Utf8Validator {
    /// Validates the next chunk. Fails as soon as an invalid sequence is seen; an
    /// incomplete code point at the end of the chunk is kept for the next one.
    ///
    /// ```
    /// let mut v = socketwire::ws::message::Utf8Validator::default();
    /// v.feed(&[0xe2, 0x82]).unwrap(); // first two bytes of '€'
    /// v.feed(&[0xac]).unwrap();
    /// assert!(v.is_boundary());
    /// ```
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), ProtocolError> {
        if self.partial_len > 0 {
            let need = sequence_len(self.partial[0]);
            let take = (need - self.partial_len).min(data.len());
            self.partial[self.partial_len..self.partial_len + take].copy_from_slice(&data[..take]);
            self.partial_len += take;
            data = &data[take..];
            match core::str::from_utf8(&self.partial[..self.partial_len]) {
                Ok(_) => self.partial_len = 0,
                // Still a valid prefix of a code point: wait for more.
                Err(e) if e.error_len().is_none() => return Ok(()),
                Err(_) => return Err(ProtocolError::InvalidUtf8),
            }
        }
        // The common case, a chunk that is valid and ends on a boundary, takes the
        // faster pass that only says yes or no; the other pass finds where it stopped.
        if simdutf8::basic::from_utf8(data).is_ok() {
            return Ok(());
        }
        match simdutf8::compat::from_utf8(data) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                let tail = &data[e.valid_up_to()..];
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len();
                Ok(())
            }
            Err(_) => Err(ProtocolError::InvalidUtf8),
        }
    }

    /// Whether the input so far ends on a code point boundary.
    ///
    /// ```
    /// let mut v = socketwire::ws::message::Utf8Validator::default();
    /// v.feed(&[0xc3]).unwrap();
    /// assert!(!v.is_boundary());
    /// ```
    pub fn is_boundary(&self) -> bool {
        self.partial_len == 0
    }

    /// Ends the stream: an incomplete code point at the end is an error. Resets the
    /// validator for the next message.
    ///
    /// ```
    /// let mut v = socketwire::ws::message::Utf8Validator::default();
    /// v.feed(&[0xc3]).unwrap();
    /// assert!(v.finish().is_err());
    /// ```
    pub fn finish(&mut self) -> Result<(), ProtocolError> {
        let complete = self.partial_len == 0;
        self.partial_len = 0;
        if complete {
            Ok(())
        } else {
            Err(ProtocolError::InvalidUtf8)
        }
    }
}

/// The kind of a data message.
///
/// ```
/// use socketwire::ws::{MessageKind, Opcode};
/// assert_eq!(MessageKind::from_opcode(Opcode::Text), Some(MessageKind::Text));
/// assert_eq!(MessageKind::from_opcode(Opcode::Ping), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text.
    Text,
    /// Binary data.
    Binary,
}

impl MessageKind {
    /// The kind a first data frame's opcode starts, if any.
    ///
    /// ```
    /// use socketwire::ws::{MessageKind, Opcode};
    /// assert_eq!(MessageKind::from_opcode(Opcode::Binary), Some(MessageKind::Binary));
    /// ```
    #[inline]
    pub fn from_opcode(op: super::Opcode) -> Option<Self> {
        match op {
            super::Opcode::Text => Some(MessageKind::Text),
            super::Opcode::Binary => Some(MessageKind::Binary),
            _ => None,
        }
    }
}

/// Limits on incoming data, checked before any buffer grows.
///
/// ```
/// let l = socketwire::ws::Limits::default();
/// assert_eq!(l.max_message_size, 64 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest payload of one frame (default 16 MiB).
    pub max_frame_size: u64,
    /// Largest message, after decompression (default 64 MiB). In streaming mode
    /// it bounds the sum of the message's fragments, inflated ones included.
    pub max_message_size: u64,
    /// Most frames in one message (default 100 000: a 4 MiB message in 64-byte
    /// fragments fits).
    pub max_fragments: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_fragments: 100_000,
        }
    }
}

/// Reassembles a message from frame payload chunks and validates text as it
/// arrives. The rules (§5.4 order, the limits) are checked by the connection's
/// read gate before a frame gets here; this only keeps the state they are
/// checked against.
#[derive(Debug, Default)]
pub(crate) struct MessageAssembler {
    kind: Option<MessageKind>,
    compressed: bool,
    frames: usize,
    /// Wire bytes announced so far (compressed size for compressed messages).
    wire_len: u64,
    /// Bytes inflated so far for a compressed message, those streaming mode
    /// already handed out included: what `max_message_size` bounds.
    inflated_len: u64,
    buffer: BytesMut,
    utf8: Utf8Validator,
}

impl MessageAssembler {
    /// Frees the reassembly buffer when no message is open.
    pub(crate) fn release_buffer(&mut self) {
        if !self.is_open() {
            self.buffer = BytesMut::new();
        }
    }

    /// Whether a message is open (its first frame seen, its last not yet).
    pub(crate) fn is_open(&self) -> bool {
        self.kind.is_some()
    }

    /// The open message's kind.
    pub(crate) fn kind(&self) -> Option<MessageKind> {
        self.kind
    }

    /// Whether the open message is compressed (RSV1 on its first frame).
    pub(crate) fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// The fragment count and wire length the open message would reach with one
    /// more frame of `payload_len` bytes.
    pub(crate) fn totals_with(&self, payload_len: u64) -> (usize, u64) {
        (
            self.frames.saturating_add(1),
            self.wire_len.saturating_add(payload_len),
        )
    }

    /// Opens a message (the read gate checked that none is open).
    pub(crate) fn open(&mut self, kind: MessageKind, compressed: bool) {
        self.kind = Some(kind);
        self.compressed = compressed;
        self.frames = 0;
        self.wire_len = 0;
        self.inflated_len = 0;
    }

    /// Counts a frame of `payload_len` bytes into the open message (the read
    /// gate checked the totals against the limits).
    pub(crate) fn count_frame(&mut self, payload_len: u64) {
        (self.frames, self.wire_len) = self.totals_with(payload_len);
    }

    /// Appends an unmasked, uncompressed chunk that was already validated.
    pub(crate) fn push_chunk(&mut self, chunk: BytesMut) {
        if self.buffer.is_empty() {
            // Keep the chunk's allocation when it is the first: no copy.
            self.buffer = chunk;
        } else {
            self.buffer.extend_from_slice(&chunk);
        }
    }

    /// Validates a chunk of the open message without buffering it.
    pub(crate) fn validate(&mut self, chunk: &[u8]) -> Result<(), ProtocolError> {
        if self.kind == Some(MessageKind::Text) {
            self.utf8.feed(chunk)
        } else {
            Ok(())
        }
    }

    /// [`validate`](Self::validate), told whether `chunk` is all ASCII (as found
    /// while unmasking it): an ASCII chunk is valid UTF-8 by itself, so when no code
    /// point is left open from the previous chunk it needs no validation pass.
    pub(crate) fn validate_with_ascii_hint(
        &mut self,
        chunk: &[u8],
        ascii: bool,
    ) -> Result<(), ProtocolError> {
        if ascii && self.utf8.is_boundary() {
            Ok(())
        } else {
            self.validate(chunk)
        }
    }

    /// Bytes inflated so far for the open message (buffered or handed out).
    pub(crate) fn inflated_len(&self) -> u64 {
        self.inflated_len
    }

    /// The bytes of the open message inflated so far that are no longer in the
    /// buffer (streaming mode handed them out).
    pub(crate) fn inflated_handed_out(&self) -> u64 {
        self.inflated_len.saturating_sub(self.buffer.len() as u64)
    }

    /// Counts `len` more inflated bytes into the open message.
    pub(crate) fn count_inflated(&mut self, len: usize) {
        self.inflated_len = self.inflated_len.saturating_add(len as u64);
    }

    /// The buffer decompressed output goes into.
    pub(crate) fn decompress_target(&mut self) -> &mut BytesMut {
        &mut self.buffer
    }

    /// Validates decompressed bytes appended since offset `from` (text only).
    pub(crate) fn validate_buffered_from(&mut self, from: usize) -> Result<(), ProtocolError> {
        if self.kind == Some(MessageKind::Text) {
            self.utf8.feed(&self.buffer[from..])
        } else {
            Ok(())
        }
    }

    /// Closes the message: text must end on a code point boundary. Returns the kind
    /// and the whole payload.
    pub(crate) fn finish(&mut self) -> Result<(MessageKind, Bytes), ProtocolError> {
        let kind = self
            .kind
            .take()
            .ok_or(ProtocolError::UnexpectedContinuation)?;
        if kind == MessageKind::Text {
            self.utf8.finish()?;
        }
        let data = if self.compressed {
            // Keep the decompression buffer's spare capacity for the next message.
            self.buffer.split().freeze()
        } else {
            // Hand the chunk over whole: keeping an empty view of it would pin the
            // connection's input buffer and stop it from being reused in place.
            core::mem::take(&mut self.buffer).freeze()
        };
        self.compressed = false;
        Ok((kind, data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_split_everywhere_matches_std() {
        let samples: &[&[u8]] = &[
            "Hello-µ@ßöäüàá-UTF-8!!".as_bytes(),
            "κόσμε".as_bytes(),
            &[0xf0, 0x90, 0x80, 0x80],
            &[
                0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80,
            ],
            &[0xf4, 0x90, 0x80, 0x80],
            &[0xc0, 0xaf],
            &[0xe0, 0x80, 0xaf],
            &[0xed, 0x9f, 0xbf],
        ];
        for s in samples {
            let expect = core::str::from_utf8(s).is_ok();
            for cut in 0..=s.len() {
                let mut v = Utf8Validator::default();
                let ok = v
                    .feed(&s[..cut])
                    .and_then(|_| v.feed(&s[cut..]))
                    .and_then(|_| v.finish());
                assert_eq!(ok.is_ok(), expect, "{s:02x?} cut at {cut}");
            }
        }
    }

    #[test]
    fn fails_fast_on_bad_prefix() {
        let mut v = Utf8Validator::default();
        // 0xed 0xa0 starts a surrogate: invalid as soon as the second byte is seen.
        assert!(v.feed(&[0x41, 0xed]).is_ok());
        assert_eq!(v.feed(&[0xa0]), Err(ProtocolError::InvalidUtf8));
    }

    #[test]
    fn assembler_reassembles_and_counts() {
        let mut m = MessageAssembler::default();
        assert!(!m.is_open() && !m.is_compressed());
        m.open(MessageKind::Text, false);
        assert_eq!(m.kind(), Some(MessageKind::Text));
        assert_eq!(m.totals_with(3), (1, 3));
        m.count_frame(3);
        m.validate(b"Hel").unwrap();
        m.push_chunk(b"Hel".as_slice().into());
        assert_eq!(m.totals_with(2), (2, 5));
        m.count_frame(2);
        m.push_chunk(b"lo".as_slice().into());
        let (kind, data) = m.finish().unwrap();
        assert_eq!((kind, &data[..]), (MessageKind::Text, &b"Hello"[..]));
        assert!(!m.is_open());
        assert_eq!(m.finish(), Err(ProtocolError::UnexpectedContinuation));
    }

    #[test]
    fn assembler_ascii_hint_respects_open_code_point() {
        let mut m = MessageAssembler::default();
        m.open(MessageKind::Text, false);
        m.validate(&[0xc3]).unwrap(); // first byte of 'é'
        // Not skipped: the open code point makes this ASCII chunk invalid.
        assert!(m.validate_with_ascii_hint(b"a", true).is_err());
    }

    #[test]
    fn assembler_counts_inflated_bytes_per_message() {
        let mut m = MessageAssembler::default();
        m.open(MessageKind::Binary, true);
        m.decompress_target().extend_from_slice(&[0; 10]);
        m.count_inflated(10);
        assert_eq!((m.inflated_len(), m.inflated_handed_out()), (10, 0));
        // Streaming mode hands the buffer out: the count stays with the message.
        let _ = m.decompress_target().split();
        assert_eq!((m.inflated_len(), m.inflated_handed_out()), (10, 10));
        m.finish().unwrap();
        // The next message starts from zero.
        m.open(MessageKind::Binary, true);
        assert_eq!(m.inflated_len(), 0);
    }

    #[test]
    fn assembler_validates_decompressed_text() {
        let mut m = MessageAssembler::default();
        m.open(MessageKind::Text, true);
        assert!(m.is_compressed());
        m.decompress_target().extend_from_slice(b"abc\xff");
        assert!(m.validate_buffered_from(0).is_err());
        let mut m = MessageAssembler::default();
        m.open(MessageKind::Binary, false);
        let (_, data) = m.finish().unwrap();
        assert!(data.is_empty());
    }
}
