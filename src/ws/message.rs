//! Message reassembly and incremental, fail-fast UTF-8 validation (RFC 6455 §5.4, §8.1).
//!
//! A text message may be split across frames and chunks anywhere, even inside a
//! code point; [`Utf8Validator`] carries the incomplete code point across the cut
//! and reports an invalid sequence as soon as it has seen it.

use bytes::{Bytes, BytesMut};

use super::error::ProtocolError;

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
/// use socketwire::ws::{message::MessageKind, Opcode};
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
    /// use socketwire::ws::{message::MessageKind, Opcode};
    /// assert_eq!(MessageKind::from_opcode(Opcode::Binary), Some(MessageKind::Binary));
    /// ```
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
/// let l = socketwire::ws::message::Limits::default();
/// assert_eq!(l.max_message_size, 64 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest payload of one frame (default 16 MiB).
    pub max_frame_size: u64,
    /// Largest message, after decompression (default 64 MiB).
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

/// Reassembles a message from frame payload chunks, enforcing the limits and
/// validating text as it arrives.
///
/// ```
/// use socketwire::ws::message::{Limits, MessageAssembler, MessageKind};
/// let mut m = MessageAssembler::new(Limits::default());
/// m.start(MessageKind::Text, false).unwrap();
/// m.begin_frame(3).unwrap();
/// m.push_chunk(b"Hel".as_slice().into());
/// m.begin_frame(2).unwrap();
/// m.push_chunk(b"lo".as_slice().into());
/// let (kind, data) = m.finish().unwrap();
/// assert_eq!((kind, &data[..]), (MessageKind::Text, &b"Hello"[..]));
/// ```
#[derive(Debug)]
pub struct MessageAssembler {
    limits: Limits,
    kind: Option<MessageKind>,
    compressed: bool,
    frames: usize,
    /// Wire bytes announced so far (compressed size for compressed messages).
    wire_len: u64,
    buffer: BytesMut,
    utf8: Utf8Validator,
}

impl MessageAssembler {
    /// An assembler with no message open.
    ///
    /// ```
    /// use socketwire::ws::message::{Limits, MessageAssembler};
    /// assert!(!MessageAssembler::new(Limits::default()).is_open());
    /// ```
    pub fn new(limits: Limits) -> Self {
        MessageAssembler {
            limits,
            kind: None,
            compressed: false,
            frames: 0,
            wire_len: 0,
            buffer: BytesMut::new(),
            utf8: Utf8Validator::default(),
        }
    }

    /// The limits in force.
    ///
    /// ```
    /// use socketwire::ws::message::{Limits, MessageAssembler};
    /// assert_eq!(MessageAssembler::new(Limits::default()).limits().max_fragments, 100_000);
    /// ```
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether a message is open (its first frame seen, its last not yet).
    ///
    /// ```
    /// use socketwire::ws::message::{Limits, MessageAssembler, MessageKind};
    /// let mut m = MessageAssembler::new(Limits::default());
    /// m.start(MessageKind::Binary, false).unwrap();
    /// assert!(m.is_open());
    /// ```
    pub fn is_open(&self) -> bool {
        self.kind.is_some()
    }

    /// The open message's kind.
    ///
    /// ```
    /// use socketwire::ws::message::{Limits, MessageAssembler, MessageKind};
    /// let mut m = MessageAssembler::new(Limits::default());
    /// m.start(MessageKind::Text, true).unwrap();
    /// assert_eq!(m.kind(), Some(MessageKind::Text));
    /// assert!(m.is_compressed());
    /// ```
    pub fn kind(&self) -> Option<MessageKind> {
        self.kind
    }

    /// Whether the open message is compressed (RSV1 on its first frame).
    ///
    /// ```
    /// use socketwire::ws::message::{Limits, MessageAssembler};
    /// assert!(!MessageAssembler::new(Limits::default()).is_compressed());
    /// ```
    pub fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// Opens a message.
    ///
    /// RFC 6455 §5.4: the fragments of one message MUST NOT be interleaved with another's.
    ///
    /// ```
    /// use socketwire::ws::{ProtocolError, message::{Limits, MessageAssembler, MessageKind}};
    /// let mut m = MessageAssembler::new(Limits::default());
    /// m.start(MessageKind::Text, false).unwrap();
    /// assert_eq!(m.start(MessageKind::Text, false), Err(ProtocolError::ExpectedContinuation));
    /// ```
    pub fn start(&mut self, kind: MessageKind, compressed: bool) -> Result<(), ProtocolError> {
        if self.kind.is_some() {
            return Err(ProtocolError::ExpectedContinuation);
        }
        self.kind = Some(kind);
        self.compressed = compressed;
        self.frames = 0;
        self.wire_len = 0;
        Ok(())
    }

    /// Accounts for a new frame of `payload_len` bytes in the open message, checking
    /// the fragment count and the message size before anything is buffered.
    ///
    /// ```
    /// use socketwire::ws::{ProtocolError, message::{Limits, MessageAssembler, MessageKind}};
    /// let mut m = MessageAssembler::new(Limits { max_message_size: 4, ..Limits::default() });
    /// m.start(MessageKind::Binary, false).unwrap();
    /// assert!(matches!(m.begin_frame(5), Err(ProtocolError::MessageTooBig { .. })));
    /// ```
    pub fn begin_frame(&mut self, payload_len: u64) -> Result<(), ProtocolError> {
        if self.kind.is_none() {
            // RFC 6455 §5.4: a continuation frame needs an open message.
            return Err(ProtocolError::UnexpectedContinuation);
        }
        self.frames += 1;
        if self.frames > self.limits.max_fragments {
            return Err(ProtocolError::TooManyFragments {
                max: self.limits.max_fragments,
            });
        }
        self.wire_len = self.wire_len.saturating_add(payload_len);
        if self.wire_len > self.limits.max_message_size {
            return Err(ProtocolError::MessageTooBig {
                len: self.wire_len,
                max: self.limits.max_message_size,
            });
        }
        Ok(())
    }

    /// Appends an unmasked, uncompressed chunk that was already passed through
    /// [`validate`](Self::validate).
    ///
    /// ```
    /// use socketwire::ws::message::{Limits, MessageAssembler, MessageKind};
    /// let mut m = MessageAssembler::new(Limits::default());
    /// m.start(MessageKind::Binary, false).unwrap();
    /// m.begin_frame(1).unwrap();
    /// m.push_chunk(vec![0xff].as_slice().into());
    /// assert_eq!(m.buffered_len(), 1);
    /// ```
    pub fn push_chunk(&mut self, chunk: BytesMut) {
        if self.buffer.is_empty() {
            // Keep the chunk's allocation when it is the first: no copy.
            self.buffer = chunk;
        } else {
            self.buffer.extend_from_slice(&chunk);
        }
    }

    /// Validates a chunk of the open message without buffering it (streaming mode
    /// and single-frame messages).
    ///
    /// ```
    /// use socketwire::ws::message::{Limits, MessageAssembler, MessageKind};
    /// let mut m = MessageAssembler::new(Limits::default());
    /// m.start(MessageKind::Text, false).unwrap();
    /// assert!(m.validate("ok".as_bytes()).is_ok());
    /// ```
    pub fn validate(&mut self, chunk: &[u8]) -> Result<(), ProtocolError> {
        if self.kind == Some(MessageKind::Text) {
            self.utf8.feed(chunk)
        } else {
            Ok(())
        }
    }

    /// [`validate`](Self::validate), told whether `chunk` is all ASCII (as found
    /// while unmasking it): an ASCII chunk is valid UTF-8 by itself, so when no code
    /// point is left open from the previous chunk it needs no validation pass.
    ///
    /// ```
    /// use socketwire::ws::message::{Limits, MessageAssembler, MessageKind};
    /// let mut m = MessageAssembler::new(Limits::default());
    /// m.start(MessageKind::Text, false).unwrap();
    /// m.validate(&[0xc3]).unwrap(); // first byte of 'é'
    /// // Not skipped: the open code point makes this ASCII chunk invalid.
    /// assert!(m.validate_with_ascii_hint(b"a", true).is_err());
    /// ```
    pub fn validate_with_ascii_hint(
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

    /// The buffer decompressed output goes into, and how much more it may hold.
    ///
    /// ```
    /// use socketwire::ws::message::{Limits, MessageAssembler};
    /// let mut m = MessageAssembler::new(Limits::default());
    /// let (buf, room) = m.decompress_target();
    /// assert!(buf.is_empty() && room == 64 << 20);
    /// ```
    pub fn decompress_target(&mut self) -> (&mut BytesMut, u64) {
        let max = self.limits.max_message_size;
        (&mut self.buffer, max)
    }

    /// Validates decompressed bytes appended since offset `from` (text only).
    ///
    /// ```
    /// use socketwire::ws::message::{Limits, MessageAssembler, MessageKind};
    /// let mut m = MessageAssembler::new(Limits::default());
    /// m.start(MessageKind::Text, true).unwrap();
    /// m.decompress_target().0.extend_from_slice(b"abc");
    /// m.validate_buffered_from(0).unwrap();
    /// ```
    pub fn validate_buffered_from(&mut self, from: usize) -> Result<(), ProtocolError> {
        if self.kind == Some(MessageKind::Text) {
            self.utf8.feed(&self.buffer[from..])
        } else {
            Ok(())
        }
    }

    /// Bytes buffered so far.
    ///
    /// ```
    /// use socketwire::ws::message::{Limits, MessageAssembler};
    /// assert_eq!(MessageAssembler::new(Limits::default()).buffered_len(), 0);
    /// ```
    pub fn buffered_len(&self) -> usize {
        self.buffer.len()
    }

    /// Closes the message: text must end on a code point boundary. Returns the kind
    /// and the whole payload.
    ///
    /// ```
    /// use socketwire::ws::message::{Limits, MessageAssembler, MessageKind};
    /// let mut m = MessageAssembler::new(Limits::default());
    /// m.start(MessageKind::Binary, false).unwrap();
    /// let (_, data) = m.finish().unwrap();
    /// assert!(data.is_empty() && !m.is_open());
    /// ```
    pub fn finish(&mut self) -> Result<(MessageKind, Bytes), ProtocolError> {
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
}
