//! The connection's read path: one gate for every frame header, then either a
//! whole message taken in place or a frame read by mode (control, compressed,
//! streamed, buffered).
//!
//! Every frame passes [`Connection::admit_frame`], the only place where the
//! rules a header decides (RFC 6455 §5.1, §5.2, §5.4, §5.5, RFC 7692 §6) and the
//! configured [`Limits`] are checked. Its answer picks the path:
//!
//! - [`Admission::Whole`]: a single-frame, uncompressed text or binary message
//!   outside streaming mode. Once its payload is buffered it is unmasked (and
//!   validated) in place at the front of the input and lent or split off
//!   whole: [`Connection::next_frame`] does this for the general path and, at an
//!   offset past messages already lent, for the fast path
//!   ([`Connection::lend_next`]).
//! - [`Admission::Frame`]: any other frame, read by [`Connection::read_payload`]
//!   as it arrives.

use bytes::{Bytes, BytesMut};

use super::connection::{Connection, Event, Fragment, State};
use super::error::ProtocolError;
use super::frame::{FrameHeader, Opcode};
use super::mask::Masker;
use super::message::{Limits, MessageKind, Utf8Validator};
use crate::{Status, Utf8Bytes};

/// A single-frame binary message up to this long waits in the input buffer,
/// header included, until it is complete, and is then read whole.
const DEFER_MAX: usize = 16 << 10;

/// Payloads are unmasked and validated in pieces of this size, so that UTF-8
/// validation reads bytes the unmasking just left in the L1 cache.
const CACHE_PIECE: usize = 8 << 10;

/// The frame being read by the general path.
#[derive(Debug)]
pub(super) struct ReadingFrame {
    header: FrameHeader,
    /// Payload bytes of this frame not yet taken from the input.
    pub(super) payload_len: usize,
    /// Payload bytes at the front of `input` already unmasked (and, for text
    /// checked on arrival, validated), by [`Connection::unmask_arrived`] in
    /// place or by [`Connection::append_input`] as they were copied in.
    pub(super) ready: usize,
    masker: Option<Masker>,
}

/// What the read path has ready for `poll_event` / `poll_event_borrowed`.
pub(super) enum Ready {
    /// An event from the queue.
    Event(Event),
    /// A whole message, unmasked and validated, lent at `input[start..start + len]`
    /// (the lent prefix covers it).
    Lent {
        kind: MessageKind,
        start: usize,
        len: usize,
    },
}

/// What one step of the general path did.
pub(super) enum Step {
    /// An event may have been queued; keep going.
    Progress,
    /// The input holds no complete next step.
    NeedInput,
    /// A whole message of this kind and length sits unmasked at the front of the input.
    Lent(MessageKind, usize),
}

/// The read gate's verdict on a frame header that broke no rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admission {
    /// A single-frame, uncompressed text or binary message outside streaming
    /// mode: it may be taken whole once its payload is buffered.
    Whole(MessageKind),
    /// Any other frame: read by the general path as it arrives.
    Frame,
}

/// The next frame at some offset of the input, after the gate.
enum Next {
    /// Not enough bytes for the header (or, for a small whole binary message,
    /// for its payload).
    NeedInput,
    /// A whole message, unmasked and validated in place `header_len` bytes past
    /// the offset.
    Whole {
        kind: MessageKind,
        header_len: usize,
        len: usize,
    },
    /// Any other frame, for the general path.
    Frame {
        header: FrameHeader,
        header_len: usize,
    },
}

/// How far the general path got with the frame being read.
enum Read {
    /// Nothing to do until more input arrives.
    Waiting,
    /// Part of the frame was handed on; more of it is to come.
    Partly,
    /// The frame is done.
    Done,
}

/// The event for a whole message.
pub(super) fn message_event(kind: MessageKind, payload: Bytes) -> Event {
    match kind {
        // The assembler checked the text as it came in.
        MessageKind::Text => Event::Text(Utf8Bytes::from_validated(payload)),
        MessageKind::Binary => Event::Binary(payload),
    }
}

/// The payload lengths below which the first frame of a message passes every
/// limit the read gate checks (frame size, message size, fragment count) at
/// once: `min(max_frame_size, max_message_size) + 1`, or 0 when `max_fragments`
/// is 0 and no message is allowed at all. Worked out once per connection so
/// the gate tests a first frame with one compare; any other frame, and any
/// first frame at or over the bound, goes through the checks themselves,
/// which say which limit it broke.
pub(super) fn first_frame_bound(limits: &Limits) -> u64 {
    if limits.max_fragments == 0 {
        return 0;
    }
    limits
        .max_frame_size
        .min(limits.max_message_size)
        .saturating_add(1)
}

/// A message of `len` bytes fits `limits`.
fn check_message_len(limits: &Limits, len: u64) -> Result<(), ProtocolError> {
    if len > limits.max_message_size {
        return Err(ProtocolError::MessageTooBig {
            len,
            max: limits.max_message_size,
        });
    }
    Ok(())
}

/// Unmasks a whole message in place and, for text, validates it as UTF-8.
#[inline(always)]
fn unmask_whole_message(
    payload: &mut [u8],
    kind: MessageKind,
    key: Option<[u8; 4]>,
) -> Result<(), ProtocolError> {
    match (kind, key) {
        (MessageKind::Binary, Some(key)) => {
            super::mask::apply_mask(payload, key, 0);
            Ok(())
        }
        (MessageKind::Binary, None) => Ok(()),
        (MessageKind::Text, _) => unmask_whole_text(payload, key),
    }
}

/// Unmasks a whole text message and validates it as UTF-8, in cache-sized
/// pieces, each validated right after it is unmasked; pieces found all ASCII
/// while unmasking need no further check.
#[inline(never)]
fn unmask_whole_text(payload: &mut [u8], key: Option<[u8; 4]>) -> Result<(), ProtocolError> {
    // RFC 6455 §8.1: text "MUST" be valid UTF-8; the whole message is here.
    // https://www.rfc-editor.org/rfc/rfc6455#section-8.1
    let mut utf8 = Utf8Validator::default();
    let mut masker = key.map(Masker::new);
    for piece in payload.chunks_mut(CACHE_PIECE) {
        // An all-ASCII piece is valid UTF-8 on its own when no code point is left open.
        let ascii = match masker.as_mut() {
            Some(m) => m.apply_is_ascii(piece),
            None => piece.is_ascii(),
        };
        if !(ascii && utf8.is_boundary()) {
            utf8.feed(piece)?;
        }
    }
    utf8.finish()?;
    Ok(())
}

impl Connection {
    /// The read gate: every rule a frame header decides and every configured
    /// limit, checked here once for every path (the fast path included), before
    /// any payload byte is looked at or any buffer grows. Pure: the caller
    /// updates the message state once the frame is taken.
    #[inline(always)]
    pub(super) fn admit_frame(&self, h: &FrameHeader) -> Result<Admission, ProtocolError> {
        // RFC 6455 §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail_"
        // https://www.rfc-editor.org/rfc/rfc6455#section-5.2
        if let Opcode::Reserved(op) = h.opcode {
            return Err(ProtocolError::ReservedOpcode(op));
        }
        let kind = MessageKind::from_opcode(h.opcode);
        // RFC 6455 §5.2: RSV bits "MUST be 0 unless an extension is negotiated that defines"
        // them. https://www.rfc-editor.org/rfc/rfc6455#section-5.2
        // RFC 7692 §6.1: RSV1 may be set only on the first frame of a data message.
        // https://www.rfc-editor.org/rfc/rfc7692#section-6.1
        let rsv1_allowed = self.extension.is_some() && kind.is_some();
        if h.rsv2 || h.rsv3 || (h.rsv1 && !rsv1_allowed) {
            return Err(ProtocolError::ReservedBits(h.rsv_bits()));
        }
        // RFC 6455 §5.1: "The server MUST close the connection upon receiving a frame that
        // is not masked" / "A client MUST close a connection if it detects a masked frame".
        // https://www.rfc-editor.org/rfc/rfc6455#section-5.1
        if h.mask.is_some() != self.role.expects_masked_input() {
            return Err(if h.mask.is_some() {
                ProtocolError::MaskedFrame
            } else {
                ProtocolError::UnmaskedFrame
            });
        }
        if h.opcode.is_control() {
            // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or
            // less and MUST NOT be fragmented."
            // https://www.rfc-editor.org/rfc/rfc6455#section-5.5
            if h.payload_len > 125 {
                return Err(ProtocolError::ControlFrameTooLong(h.payload_len));
            }
            if !h.fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            return Ok(Admission::Frame);
        }
        // The common case in one compare: the first frame of a message, under
        // every limit below (see `first_frame_bound`).
        if kind.is_some() && !self.message.is_open() && h.payload_len < self.first_frame_bound {
            return Ok(self.admission(h, kind));
        }
        let limits = &self.config.limits;
        if h.payload_len > limits.max_frame_size {
            return Err(ProtocolError::FrameTooBig {
                len: h.payload_len,
                max: limits.max_frame_size,
            });
        }
        // RFC 6455 §5.4: "the fragments of one message MUST NOT be interleaved between the
        // fragments of another message"; a continuation needs a message to continue.
        // https://www.rfc-editor.org/rfc/rfc6455#section-5.4
        let (frames, len) = match (kind, self.message.is_open()) {
            (Some(_), true) => return Err(ProtocolError::ExpectedContinuation),
            (None, false) => return Err(ProtocolError::UnexpectedContinuation),
            (Some(_), false) => (1, h.payload_len),
            (None, true) => self.message.totals_with(h.payload_len),
        };
        if frames > limits.max_fragments {
            return Err(ProtocolError::TooManyFragments {
                max: limits.max_fragments,
            });
        }
        check_message_len(limits, len)?;
        Ok(self.admission(h, kind))
    }

    /// How an admitted data frame is read: whole, or as it arrives.
    #[inline(always)]
    fn admission(&self, h: &FrameHeader, kind: Option<MessageKind>) -> Admission {
        match kind {
            Some(kind) if h.fin && !h.rsv1 && !self.config.streaming => Admission::Whole(kind),
            _ => Admission::Frame,
        }
    }

    /// Decodes the frame header at `input[at..]` and passes it through the
    /// gate; a whole message whose payload is buffered is unmasked and
    /// validated in place. Nothing is consumed.
    ///
    /// With `SHORTCUT` (the fast path), only a final text or binary frame with no
    /// RSV bit goes on to the gate; any other frame is left to the general path
    /// at once. This is a choice of path, not a check: the gate still judges the
    /// frame, and the compiler drops the gate's branches the shortcut decided.
    #[inline(always)]
    fn next_frame<const SHORTCUT: bool>(&mut self, at: usize) -> Result<Next, ProtocolError> {
        let Status::Complete((header, header_len)) = FrameHeader::decode(&self.input[at..])? else {
            return Ok(Next::NeedInput);
        };
        if SHORTCUT
            && !(header.fin
                && header.rsv_bits() == 0
                && matches!(header.opcode, Opcode::Text | Opcode::Binary))
        {
            return Ok(Next::Frame { header, header_len });
        }
        let Admission::Whole(kind) = self.admit_frame(&header)? else {
            return Ok(Next::Frame { header, header_len });
        };
        let start = at + header_len;
        let buffered = usize::try_from(header.payload_len)
            .ok()
            .and_then(|len| self.input[start..].get_mut(..len));
        match buffered {
            Some(payload) => {
                let len = payload.len();
                unmask_whole_message(payload, kind, header.mask)?;
                Ok(Next::Whole {
                    kind,
                    header_len,
                    len,
                })
            }
            // A small whole binary message still arriving: wait for the rest and
            // take it whole instead of starting to assemble it. Text is not
            // deferred: its UTF-8 is checked as it arrives.
            _ if kind == MessageKind::Binary && header.payload_len <= DEFER_MAX as u64 => {
                Ok(Next::NeedInput)
            }
            _ => Ok(Next::Frame { header, header_len }),
        }
    }

    /// The fast path, for [`poll_event_borrowed`](Self::poll_event_borrowed)
    /// and [`poll_event`](Self::poll_event): when nothing else is in progress,
    /// the next frame after the bytes already lent goes through
    /// [`next_frame`](Self::next_frame); a whole message is returned as its
    /// place in the input, and the lent prefix grows over it, so a run of small
    /// messages costs no buffer bookkeeping at all. Any other frame returns
    /// `None` untouched for the general path. A frame that breaks a rule fails
    /// the connection here (the `Closed` event then waits in the queue).
    #[inline(always)]
    fn lend_next(&mut self) -> Option<(MessageKind, usize, usize)> {
        if self.state != State::Open || self.reading.is_some() || !self.events.is_empty() {
            return None;
        }
        match self.next_frame::<true>(self.lent) {
            Ok(Next::Whole {
                kind,
                header_len,
                len,
            }) => {
                let start = self.lent + header_len;
                self.lent = start + len;
                Some((kind, start, len))
            }
            Ok(Next::NeedInput | Next::Frame { .. }) => None,
            Err(error) => {
                self.fail_cold(error);
                None
            }
        }
    }

    /// [`fail`](Self::fail), kept out of the fast path's code.
    #[cold]
    #[inline(never)]
    fn fail_cold(&mut self, error: ProtocolError) {
        self.fail(error);
    }

    /// Drops the bytes of messages lent (after counting what was appended to
    /// the input buffer, before the buffer's length changes).
    pub(super) fn release_lent(&mut self) {
        self.note_appended_input();
        if self.lent > 0 {
            bytes::Buf::advance(&mut self.input, self.lent);
            self.lent = 0;
        }
    }

    /// The next thing to hand out: a message from the fast path, a queued
    /// event, or what the general path makes of the buffered input.
    #[inline(always)]
    pub(super) fn poll_ready(&mut self) -> Option<Ready> {
        if let Some((kind, start, len)) = self.lend_next() {
            return Some(Ready::Lent { kind, start, len });
        }
        self.poll_general()
    }

    /// [`poll_ready`](Self::poll_ready) past the fast path: queued events
    /// first, then the general path over the buffered input.
    #[inline(never)]
    fn poll_general(&mut self) -> Option<Ready> {
        self.release_lent();
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(Ready::Event(event));
            }
            if self.state == State::Closed {
                return None;
            }
            match self.read_step() {
                Ok(Step::Progress) => {}
                Ok(Step::NeedInput) => return None,
                Ok(Step::Lent(kind, len)) => {
                    self.lent = len;
                    return Some(Ready::Lent {
                        kind,
                        start: 0,
                        len,
                    });
                }
                Err(error) => self.fail(error),
            }
        }
    }

    /// The general path: processes buffered input (no bytes may be lent). A
    /// whole message is left at the front of the input.
    fn read_step(&mut self) -> Result<Step, ProtocolError> {
        if self.reading.is_none() {
            match self.next_frame::<false>(0)? {
                Next::NeedInput => return Ok(Step::NeedInput),
                Next::Whole {
                    kind,
                    header_len,
                    len,
                } => {
                    // Drop the header bytes in place (no reference-count traffic).
                    bytes::Buf::advance(&mut self.input, header_len);
                    return Ok(Step::Lent(kind, len));
                }
                Next::Frame { header, header_len } => {
                    bytes::Buf::advance(&mut self.input, header_len);
                    self.begin_frame(header)?;
                }
            }
        }
        self.read_payload()
    }

    /// Starts reading a frame the gate let through: counts it into its message.
    fn begin_frame(&mut self, header: FrameHeader) -> Result<(), ProtocolError> {
        if let Some(kind) = MessageKind::from_opcode(header.opcode) {
            self.message.open(kind, header.rsv1);
            self.stream_first = true;
        }
        if !header.opcode.is_control() {
            self.message.count_frame(header.payload_len);
        }
        // Bounded by max_frame_size (data) or 125 (control) in the gate; a
        // limit above the address space is cut to it.
        let payload_len =
            usize::try_from(header.payload_len).map_err(|_| ProtocolError::FrameTooBig {
                len: header.payload_len,
                max: usize::MAX as u64,
            })?;
        self.reading = Some(ReadingFrame {
            header,
            payload_len,
            ready: 0,
            masker: header.mask.map(Masker::new),
        });
        Ok(())
    }

    /// Reads what arrived of the frame in progress, by mode.
    fn read_payload(&mut self) -> Result<Step, ProtocolError> {
        let Some(mut frame) = self.reading.take() else {
            return Ok(Step::NeedInput);
        };
        self.unmask_arrived(&mut frame)?;
        let read = if frame.header.opcode.is_control() {
            self.read_control(&frame)?
        } else if self.message.is_compressed() {
            self.read_compressed(&mut frame)?
        } else if self.config.streaming {
            self.read_streamed(&mut frame)?
        } else {
            self.read_buffered(&frame)?
        };
        Ok(match read {
            Read::Waiting => {
                self.reading = Some(frame);
                Step::NeedInput
            }
            Read::Partly => {
                self.reading = Some(frame);
                Step::Progress
            }
            Read::Done => Step::Progress,
        })
    }

    /// Unmasks the newly arrived part of the frame in place; outside streaming
    /// and compression, validates text as it arrives (fail fast).
    fn unmask_arrived(&mut self, frame: &mut ReadingFrame) -> Result<(), ProtocolError> {
        let available = self.input.len().min(frame.payload_len);
        if available <= frame.ready {
            return Ok(());
        }
        let text = self.checks_text_on_arrival(frame);
        // In cache-sized pieces, so each piece is validated while still in L1.
        for piece in self.input[frame.ready..available].chunks_mut(CACHE_PIECE) {
            match frame.masker.as_mut() {
                // Unmasking text also tells whether the piece is all ASCII.
                Some(m) if text => {
                    let ascii = m.apply_is_ascii(piece);
                    self.message.validate_with_ascii_hint(piece, ascii)?;
                }
                Some(m) => m.apply(piece),
                None if text => self.message.validate(piece)?,
                None => {}
            }
        }
        frame.ready = available;
        Ok(())
    }

    /// Whether the frame's payload is text checked as UTF-8 while it is
    /// unmasked (outside streaming and compression, which check it later).
    fn checks_text_on_arrival(&self, frame: &ReadingFrame) -> bool {
        !frame.header.opcode.is_control()
            && !self.message.is_compressed()
            && !self.config.streaming
            && self.message.kind() == Some(MessageKind::Text)
    }

    /// Appends input the caller hands over (a copy is made anyway). The part
    /// that continues the masked payload of the frame in progress is unmasked
    /// as it is copied, in one pass, when everything of that frame buffered so
    /// far is unmasked already and the frame is not text checked on arrival
    /// (that check rides along with unmasking in place, which also tells
    /// whether a piece is ASCII); the rest is copied as it is, to be unmasked
    /// in place when it is read.
    pub(super) fn append_input(&mut self, mut data: &[u8]) {
        let fuse = self.reading.as_ref().is_some_and(|frame| {
            frame.ready == self.input.len() && !self.checks_text_on_arrival(frame)
        });
        if let Some(frame) = self.reading.as_mut().filter(|_| fuse)
            && let Some(masker) = frame.masker.as_mut()
        {
            let (payload, rest) = data.split_at(data.len().min(frame.payload_len - frame.ready));
            masker.extend_masked(&mut self.input, payload);
            frame.ready += payload.len();
            data = rest;
        }
        self.input.extend_from_slice(data);
    }

    /// A control frame is handled once it is all here.
    fn read_control(&mut self, frame: &ReadingFrame) -> Result<Read, ProtocolError> {
        if frame.ready < frame.payload_len {
            return Ok(Read::Waiting);
        }
        let payload = self.input.split_to(frame.payload_len).freeze();
        self.handle_control(frame.header.opcode, payload)?;
        Ok(Read::Done)
    }

    /// Takes the unmasked bytes of the frame off the input (an empty chunk for
    /// an empty frame), or `None` while there are none.
    fn take_ready(&mut self, frame: &mut ReadingFrame) -> Option<BytesMut> {
        if frame.ready == 0 && frame.payload_len > 0 {
            return None;
        }
        let chunk = self.input.split_to(frame.ready);
        frame.payload_len -= frame.ready;
        frame.ready = 0;
        Some(chunk)
    }

    /// A compressed message: each arrived chunk is inflated at once.
    fn read_compressed(&mut self, frame: &mut ReadingFrame) -> Result<Read, ProtocolError> {
        let Some(chunk) = self.take_ready(frame) else {
            return Ok(Read::Waiting);
        };
        let done = frame.payload_len == 0;
        self.inflate(&chunk, done && frame.header.fin)?;
        if !done {
            return Ok(Read::Partly);
        }
        if frame.header.fin && !self.config.streaming {
            self.finish_message()?;
        }
        Ok(Read::Done)
    }

    /// Streaming mode: each arrived chunk goes out as a fragment at once.
    fn read_streamed(&mut self, frame: &mut ReadingFrame) -> Result<Read, ProtocolError> {
        let Some(chunk) = self.take_ready(frame) else {
            return Ok(Read::Waiting);
        };
        let done = frame.payload_len == 0;
        self.message.validate(&chunk)?;
        self.emit_fragment(chunk.freeze(), done && frame.header.fin)?;
        Ok(if done { Read::Done } else { Read::Partly })
    }

    /// A fragment of an assembled message is buffered once it is all here.
    fn read_buffered(&mut self, frame: &ReadingFrame) -> Result<Read, ProtocolError> {
        if frame.ready < frame.payload_len {
            return Ok(Read::Waiting);
        }
        let chunk = self.input.split_to(frame.ready);
        self.message.push_chunk(chunk);
        if frame.header.fin {
            self.finish_message()?;
        }
        Ok(Read::Done)
    }

    /// The last frame of an assembled message was read: hand the message out.
    fn finish_message(&mut self) -> Result<(), ProtocolError> {
        let (kind, data) = self.message.finish()?;
        self.events.push_back(message_event(kind, data));
        Ok(())
    }

    fn emit_fragment(&mut self, data: Bytes, last: bool) -> Result<(), ProtocolError> {
        let kind = self.message.kind().unwrap_or(MessageKind::Binary);
        let first = core::mem::replace(&mut self.stream_first, last);
        if last {
            let _ = self.message.finish()?;
        }
        if !data.is_empty() || first || last {
            self.events.push_back(Event::Fragment(Fragment {
                kind,
                data,
                first,
                last,
            }));
        }
        Ok(())
    }

    fn inflate(&mut self, chunk: &[u8], end: bool) -> Result<(), ProtocolError> {
        let ext = self
            .extension
            .as_mut()
            .ok_or(ProtocolError::ReservedBits(0b100))?;
        let limits = &self.config.limits;
        // `max_message_size` bounds the whole inflated message, not the buffer:
        // in streaming mode the buffer is emptied after every chunk, so the
        // buffer's budget is the limit less what was already handed out.
        let handed_out = self.message.inflated_handed_out();
        let budget = limits.max_message_size.saturating_sub(handed_out);
        let buffer = self.message.decompress_target();
        let before = buffer.len();
        let decoded = ext.decode(chunk, end, buffer, budget);
        let produced = buffer.len().saturating_sub(before);
        self.message.count_inflated(produced);
        if let Err(error) = decoded {
            // The extension measured the buffer; the limit is on the message.
            if let ProtocolError::MessageTooBig { len, .. } = error {
                check_message_len(limits, handed_out.saturating_add(len))?;
            }
            return Err(error);
        }
        // The extension promises to stop at the limit; hold it to that.
        check_message_len(limits, self.message.inflated_len())?;
        self.message.validate_buffered_from(before)?;
        if self.config.streaming {
            let data = self.message.decompress_target().split().freeze();
            self.emit_fragment(data, end)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::Config;

    fn header(fin: bool, rsv: u8, opcode: u8, len: u64) -> FrameHeader {
        FrameHeader {
            fin,
            rsv1: rsv & 4 != 0,
            rsv2: rsv & 2 != 0,
            rsv3: rsv & 1 != 0,
            opcode: Opcode::from(opcode),
            mask: Some([1, 2, 3, 4]),
            payload_len: len,
        }
    }

    /// A masked frame (`opcode`) of `len` payload bytes, all `a` but for a 0xff
    /// at `bad_at`.
    fn masked_frame(opcode: u8, len: usize, bad_at: Option<usize>) -> alloc::vec::Vec<u8> {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut payload = alloc::vec![b'a'; len];
        if let Some(at) = bad_at {
            payload[at] = 0xff;
        }
        crate::ws::mask::apply_mask(&mut payload, key, 0);
        let mut wire = alloc::vec![0x80 | opcode, 0xff];
        wire.extend_from_slice(&(len as u64).to_be_bytes());
        wire.extend_from_slice(&key);
        wire.extend_from_slice(&payload);
        wire
    }

    /// Feeds `wire` with `handle_input` in 16 KiB pieces, polling after each;
    /// returns the events and, per piece after the first, whether the copy
    /// unmasked it (the frame's `ready` count covers it before any poll).
    fn feed_copying(wire: &[u8]) -> (alloc::vec::Vec<Event>, alloc::vec::Vec<bool>) {
        let mut c = Connection::server(Config::default());
        let (mut events, mut fused) = (alloc::vec::Vec::new(), alloc::vec::Vec::new());
        for (i, piece) in wire.chunks(16 << 10).enumerate() {
            let before = c.input.len();
            c.handle_input(piece);
            if i > 0 {
                let ready = c.reading.as_ref().map_or(0, |frame| frame.ready);
                fused.push(ready == before + piece.len());
            }
            while let Some(e) = c.poll_event() {
                events.push(e);
            }
        }
        (events, fused)
    }

    /// `handle_input` unmasks the rest of a binary frame in progress as it
    /// copies it. Text checked on arrival is copied as it is and unmasked in
    /// place (where the UTF-8 check rides along): it arrives whole, and one
    /// bad byte fails the connection with 1007.
    #[test]
    fn copied_input_is_unmasked_in_the_copy_except_text() {
        let (events, fused) = feed_copying(&masked_frame(0x2, 70_000, None));
        assert_eq!(
            events,
            [Event::Binary(Bytes::from(alloc::vec![b'a'; 70_000]))]
        );
        assert_eq!(fused, [true; 4]);

        let (events, fused) = feed_copying(&masked_frame(0x1, 70_000, None));
        assert_eq!(events, [Event::Text(Utf8Bytes::from("a".repeat(70_000)))]);
        assert_eq!(fused, [false; 4]);

        let (events, _) = feed_copying(&masked_frame(0x1, 70_000, Some(50_000)));
        assert!(
            matches!(events[..], [Event::Closed { code, .. }] if code.0 == 1007),
            "{events:?}"
        );
    }

    /// The one-compare admission of a first frame agrees with the limit checks,
    /// in their order, on every boundary of every shape of limits.
    #[test]
    fn first_frame_bound_agrees_with_the_limit_checks() {
        use ProtocolError as E;
        let sizes = [0, 1, 2, 99, 100, 101, 150, u64::MAX >> 1, u64::MAX];
        let mut checked = 0;
        for max_frame_size in sizes {
            for max_message_size in sizes {
                for max_fragments in [0, 1, 2] {
                    let limits = Limits {
                        max_frame_size,
                        max_message_size,
                        max_fragments,
                    };
                    let c = Connection::server(Config {
                        limits,
                        ..Config::default()
                    });
                    for len in sizes
                        .iter()
                        .flat_map(|&s| [s.saturating_sub(1), s, s.saturating_add(1)])
                    {
                        let len = len.min(u64::MAX >> 1); // the largest length on the wire
                        let expected = if len > max_frame_size {
                            Err(E::FrameTooBig {
                                len,
                                max: max_frame_size,
                            })
                        } else if max_fragments == 0 {
                            Err(E::TooManyFragments { max: 0 })
                        } else if len > max_message_size {
                            Err(E::MessageTooBig {
                                len,
                                max: max_message_size,
                            })
                        } else {
                            Ok(Admission::Whole(MessageKind::Binary))
                        };
                        assert_eq!(
                            c.admit_frame(&header(true, 0, 0x2, len)),
                            expected,
                            "{limits:?}, len {len}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 9 * 9 * 3 * 27);
    }

    /// The gate's verdict on every kind of header, with no message open.
    #[test]
    fn gate_table() {
        use Admission::{Frame, Whole};
        use ProtocolError as E;
        let limits = Limits {
            max_frame_size: 100,
            max_message_size: 150,
            max_fragments: 2,
        };
        let server = Connection::server(Config {
            limits,
            ..Config::default()
        });
        type Row = (FrameHeader, Result<Admission, ProtocolError>);
        let unmasked = FrameHeader {
            mask: None,
            ..header(true, 0, 0x2, 1)
        };
        let table: &[Row] = &[
            (header(true, 0, 0x1, 5), Ok(Whole(MessageKind::Text))),
            (header(true, 0, 0x2, 100), Ok(Whole(MessageKind::Binary))),
            (header(false, 0, 0x2, 5), Ok(Frame)),
            (header(true, 0, 0x9, 125), Ok(Frame)),
            (header(true, 0, 0x3, 0), Err(E::ReservedOpcode(3))),
            (header(true, 0, 0xB, 0), Err(E::ReservedOpcode(0xB))),
            (header(true, 4, 0x1, 1), Err(E::ReservedBits(4))),
            (header(true, 2, 0x2, 1), Err(E::ReservedBits(2))),
            (header(true, 1, 0x9, 0), Err(E::ReservedBits(1))),
            (unmasked, Err(E::UnmaskedFrame)),
            (header(true, 0, 0x9, 126), Err(E::ControlFrameTooLong(126))),
            (header(false, 0, 0x8, 2), Err(E::FragmentedControlFrame)),
            (
                header(true, 0, 0x2, 101),
                Err(E::FrameTooBig { len: 101, max: 100 }),
            ),
            (header(true, 0, 0x0, 1), Err(E::UnexpectedContinuation)),
        ];
        for (h, expected) in table {
            assert_eq!(&server.admit_frame(h), expected, "{h:?}");
        }
        // A client expects unmasked frames.
        let client = Connection::client(Config::default(), || [0; 4]);
        assert_eq!(
            client.admit_frame(&header(true, 0, 0x2, 1)),
            Err(E::MaskedFrame)
        );
        assert_eq!(
            client.admit_frame(&unmasked),
            Ok(Whole(MessageKind::Binary))
        );
    }

    /// With a message open: order, fragment count and message size.
    #[test]
    fn gate_counts_the_open_message() {
        use ProtocolError as E;
        let limits = Limits {
            max_frame_size: 100,
            max_message_size: 150,
            max_fragments: 2,
        };
        let mut c = Connection::server(Config {
            limits,
            ..Config::default()
        });
        c.message.open(MessageKind::Binary, false);
        c.message.count_frame(100);
        assert_eq!(
            c.admit_frame(&header(true, 0, 0x1, 1)),
            Err(E::ExpectedContinuation)
        );
        assert_eq!(
            c.admit_frame(&header(true, 0, 0x0, 51)),
            Err(E::MessageTooBig { len: 151, max: 150 })
        );
        assert_eq!(
            c.admit_frame(&header(false, 0, 0x0, 50)),
            Ok(Admission::Frame)
        );
        // Control frames may come between fragments.
        assert_eq!(
            c.admit_frame(&header(true, 0, 0xA, 0)),
            Ok(Admission::Frame)
        );
        c.message.count_frame(50);
        assert_eq!(
            c.admit_frame(&header(true, 0, 0x0, 0)),
            Err(E::TooManyFragments { max: 2 })
        );
        // No fragment allowed at all: even a single-frame message is refused.
        let c = Connection::server(Config {
            limits: Limits {
                max_fragments: 0,
                ..limits
            },
            ..Config::default()
        });
        assert_eq!(
            c.admit_frame(&header(true, 0, 0x2, 1)),
            Err(E::TooManyFragments { max: 0 })
        );
        // Streaming mode and compressed messages never take the whole-message path.
        let c = Connection::server(Config {
            streaming: true,
            ..Config::default()
        });
        assert_eq!(
            c.admit_frame(&header(true, 0, 0x2, 1)),
            Ok(Admission::Frame)
        );
    }
}
