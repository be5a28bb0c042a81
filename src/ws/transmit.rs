//! The connection's pending output: frames written into one buffer, payloads
//! handed over by [`Connection::send_shared`](super::Connection::send_shared)
//! queued beside it without a copy, and the bound on queued pongs.

use alloc::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};

use super::frame::FrameHeader;

/// From this payload length on, [`Connection::send_shared`](super::Connection::send_shared)
/// queues the payload itself instead of copying it behind its header; below it
/// a copy is cheaper than one more chunk in a vectored write.
///
/// ```
/// use bytes::Bytes;
/// use socketwire::ws::{Connection, MessageKind, connection::SHARED_MIN_LEN};
/// let mut c = Connection::server(Default::default());
/// c.send_shared(MessageKind::Binary, Bytes::from(vec![0u8; SHARED_MIN_LEN - 1])).unwrap();
/// assert_eq!(c.transmit_chunks().count(), 1); // copied behind its header
/// ```
pub const SHARED_MIN_LEN: usize = 1024;

/// The most pongs waiting in the output at once. Past it, the newest ping's pong
/// replaces the last queued one (RFC 6455 §5.5.3 allows answering only the most
/// recent ping); the count restarts once the output is drained. When the last
/// one cannot be replaced (something was queued after it, or it started going
/// out), the newest pong waits in one slot at the end of the output instead,
/// each newer ping replacing it: however the peer's pings and the
/// application's messages interleave, at most `MAX_QUEUED_PONGS + 1` pongs
/// wait, the last answering the most recent ping.
///
/// ```
/// use socketwire::ws::{Connection, connection::MAX_QUEUED_PONGS};
/// let mut c = Connection::server(Default::default());
/// for _ in 0..2 * MAX_QUEUED_PONGS {
///     c.handle_input(&[0x89, 0x80, 0, 0, 0, 0]); // masked empty ping
///     while c.poll_event().is_some() {}
/// }
/// assert_eq!(c.transmit_chunks().map(<[u8]>::len).sum::<usize>(), 2 * MAX_QUEUED_PONGS);
/// ```
pub const MAX_QUEUED_PONGS: usize = 16;

/// A payload handed over by `send_shared`, and the run of the output buffer
/// that goes out before it (its frame header, and whatever was written
/// before that): see [`TransmitQueue::segments`].
#[derive(Debug)]
struct Segment {
    /// The next this many bytes of the output buffer.
    before: usize,
    /// Then this payload.
    payload: Bytes,
}

/// Everything waiting to go to the transport, in order.
#[derive(Debug, Default)]
pub(super) struct TransmitQueue {
    output: BytesMut,
    /// The order of pending output once a shared payload was queued: for each
    /// segment a run of bytes from the front of `output`, then its shared
    /// payload; after them whatever of `output` no run covers. Empty: all of
    /// `output`.
    segments: VecDeque<Segment>,
    /// Bytes of `output` covered by the segments' runs.
    output_in_segments: usize,
    /// Bytes of the segments' payloads still pending.
    shared_len: usize,
    /// Pongs waiting in the output, and where the last one is while it can still
    /// be replaced (nothing written after it, none of it gone out).
    queued_pongs: usize,
    last_pong_at: Option<(usize, usize)>,
    /// The encoded pong owed past the cap when the last queued one could not
    /// be replaced (empty: none). It goes out after everything else pending
    /// and moves into `output` once all before it went out, or before a close.
    owed_pong: BytesMut,
}

impl TransmitQueue {
    /// Appends a frame: `header`, then `payload`, masked with the header's key.
    pub(super) fn write_frame(&mut self, header: &FrameHeader, payload: &[u8]) {
        write_masked(&mut self.output, header, payload);
    }

    /// Appends a pong frame, keeping at most [`MAX_QUEUED_PONGS`] pongs waiting
    /// (plus the owed one).
    pub(super) fn write_pong(&mut self, header: &FrameHeader, payload: &[u8]) {
        if self.queued_pongs >= MAX_QUEUED_PONGS {
            // Replace the last pong only if nothing was written after it.
            if let Some((start, end)) = self.last_pong_at
                && end == self.output.len()
            {
                self.output.truncate(start);
                self.queued_pongs -= 1;
            } else {
                // RFC 6455 §5.5.3: "the endpoint MAY elect to send a Pong frame
                // for only the most recently processed Ping frame."
                // https://www.rfc-editor.org/rfc/rfc6455#section-5.5.3
                self.owed_pong.clear();
                write_masked(&mut self.owed_pong, header, payload);
                return;
            }
        }
        let start = self.output.len();
        self.write_frame(header, payload);
        self.last_pong_at = Some((start, self.output.len()));
        self.queued_pongs += 1;
    }

    /// Moves the owed pong, if any, to the end of `output`: before a close
    /// frame (nothing may follow it), or once everything before it went out.
    pub(super) fn settle_owed_pong(&mut self) {
        if self.owed_pong.is_empty() {
            return;
        }
        let start = self.output.len();
        self.output.extend_from_slice(&self.owed_pong);
        self.owed_pong.clear();
        self.last_pong_at = Some((start, self.output.len()));
        self.queued_pongs += 1;
    }

    /// Appends a frame whose payload is queued as it is, not copied (already
    /// masked with the header's key, if it has one).
    pub(super) fn write_shared(&mut self, header: &FrameHeader, payload: Bytes) {
        header.write(&mut self.output);
        // A pong written before this payload can no longer be replaced.
        self.last_pong_at = None;
        let before = self.output.len() - self.output_in_segments;
        self.output_in_segments += before;
        self.shared_len += payload.len();
        self.segments.push_back(Segment { before, payload });
    }

    /// Moves everything pending to `out`; see
    /// [`Connection::poll_transmit`](super::Connection::poll_transmit).
    pub(super) fn poll(&mut self, out: &mut BytesMut) -> usize {
        // The owed pong goes last, after everything else pending.
        self.settle_owed_pong();
        let n = self.len();
        if out.is_empty() && self.segments.is_empty() {
            core::mem::swap(out, &mut self.output);
        } else {
            out.reserve(n);
            // The order of `chunks`, written out: the runs and shared payloads,
            // then the rest of `output` (the owed pong was settled above).
            let mut start = 0;
            for segment in self.segments.drain(..) {
                out.extend_from_slice(&self.output[start..start + segment.before]);
                start += segment.before;
                out.extend_from_slice(&segment.payload);
            }
            out.extend_from_slice(&self.output[start..]);
            self.output_in_segments = 0;
            self.shared_len = 0;
            self.output.clear();
        }
        self.queued_pongs = 0;
        self.last_pong_at = None;
        n
    }

    /// The pending output in order, as slices; see
    /// [`Connection::transmit_chunks`](super::Connection::transmit_chunks).
    pub(super) fn chunks(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut start = 0;
        let runs = self.segments.iter().flat_map(move |segment| {
            let run = &self.output[start..start + segment.before];
            start += segment.before;
            [run, &segment.payload[..]]
        });
        let rest = &self.output[self.output_in_segments..];
        runs.chain([rest, &self.owed_pong[..]])
            .filter(|chunk| !chunk.is_empty())
    }

    /// Drops the first `n` pending bytes; see
    /// [`Connection::advance_transmit`](super::Connection::advance_transmit).
    pub(super) fn advance(&mut self, mut n: usize) {
        let mut output_taken = 0;
        while n > 0 {
            let Some(segment) = self.segments.front_mut() else {
                let m = n.min(self.output.len());
                bytes::Buf::advance(&mut self.output, m);
                output_taken += m;
                n -= m;
                if n > 0 && !self.owed_pong.is_empty() {
                    // All before the owed pong went out: it joins the output
                    // (a fresh run, counted as one queued pong) and goes next.
                    self.queued_pongs = 0;
                    self.last_pong_at = None;
                    output_taken = 0;
                    self.settle_owed_pong();
                    continue;
                }
                break;
            };
            // The run first, then the payload.
            let from_output = n.min(segment.before);
            bytes::Buf::advance(&mut self.output, from_output);
            output_taken += from_output;
            self.output_in_segments -= from_output;
            segment.before -= from_output;
            let from_payload = (n - from_output).min(segment.payload.len());
            bytes::Buf::advance(&mut segment.payload, from_payload);
            self.shared_len -= from_payload;
            if segment.before == 0 && segment.payload.is_empty() {
                self.segments.pop_front();
            }
            n -= from_output + from_payload;
        }
        // The pong bound counts pongs still waiting in the output: it restarts
        // only once everything went out. A pong that started going out can no
        // longer be replaced; one still wholly queued moves with the output.
        if self.output.is_empty() && self.segments.is_empty() {
            self.queued_pongs = 0;
            self.last_pong_at = None;
            // An owed pong is now all that is pending: a fresh run of one.
            self.settle_owed_pong();
        } else if let Some((start, end)) = self.last_pong_at {
            self.last_pong_at =
                (start >= output_taken).then(|| (start - output_taken, end - output_taken));
        }
    }

    /// Bytes pending (constant time).
    pub(super) fn len(&self) -> usize {
        self.shared_len + self.output.len() + self.owed_pong.len()
    }

    /// Frees the buffers when nothing is pending (they are allocated again by
    /// the next write).
    pub(super) fn release_if_empty(&mut self) {
        if self.is_empty() {
            self.output = BytesMut::new();
            self.segments = VecDeque::new();
            self.owed_pong = BytesMut::new();
            self.output_in_segments = 0;
        }
    }

    /// Whether nothing is pending.
    pub(super) fn is_empty(&self) -> bool {
        self.output.is_empty() && self.segments.is_empty() && self.owed_pong.is_empty()
    }
}

/// Appends a frame to `out`: `header`, then `payload`, masked with the
/// header's key.
fn write_masked(out: &mut BytesMut, header: &FrameHeader, payload: &[u8]) {
    out.reserve(header.encoded_len() + payload.len());
    header.write(out);
    // RFC 6455 §5.3: "Octet i of the transformed data [...] is the XOR of octet i of the
    // original data [...] with octet at index i modulo 4 of the masking key". Copied and
    // masked in one pass. https://www.rfc-editor.org/rfc/rfc6455#section-5.3
    match header.mask {
        Some(key) => super::mask::extend_masked(out, payload, key, 0),
        None => out.put_slice(payload),
    }
}
