//! Per-message compression and bounded decompression (RFC 7692 §6, §7.2).

use bytes::BytesMut;
use flate2::{Compress, FlushCompress, FlushDecompress, Status};

use super::config::DeflateConfig;
use super::negotiation::DeflateParams;
use super::pool::{CompressorKind, DeflatePool, INFLATE_STEP, Inflater, zlib_window_bits};
use crate::ws::Role;
use crate::ws::error::ProtocolError;
use crate::ws::extension::{EncodingKey, PerMessageExtension};

/// The tail a sync flush leaves, stripped on send and appended on receive
/// (RFC 7692 §7.2.1, §7.2.2).
const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Largest output slice offered to the compressor in one step.
const DEFLATE_STEP: usize = 32 * 1024;

/// The number [`EncodingKey`]s of permessage-deflate start with (the RFC's).
const KEY_TAG: u64 = 0x7692 << 32;

/// One connection's permessage-deflate state: a compressor for what we send
/// and a decompressor for what we receive, each with its own LZ77 window.
///
/// Build it through negotiation ([`DeflateConfig::accept_offers`] on a server,
/// [`DeflateConfig::accept_response`] on a client) or directly with
/// [`PerMessageDeflate::new`], then hand it to the connection, which drives it
/// through [`PerMessageExtension`].
///
/// Memory: a few dozen bytes once built. The decompressor (about 80 KiB: the
/// zlib-rs inflate state with its 32 KiB window, plus a 32 KiB inflate
/// scratch) is created on the first `decode`, the compressor (about 270 KiB at
/// 15 bits, level 6) on the first `encode`. With a [`DeflatePool`]
/// ([`with_pool`](Self::with_pool)) a direction that resets per message
/// (`*_no_context_takeover`) borrows its state for one message at a time, so
/// an idle connection holds none.
///
/// Sending one message to many connections: where our side resets per
/// message, [`shared_encoding`](PerMessageExtension::shared_encoding) names
/// the output (level and window), and a
/// [`PreparedMessage`](crate::ws::PreparedMessage) compressed once is sent as
/// it is by every connection with the same key.
///
/// - Sending: each frame's payload goes through `encode`; the last frame
///   (`fin`) ends with a sync flush whose `00 00 ff ff` tail is stripped. With
///   our side's `*_no_context_takeover` the compressor is reset after each
///   message.
/// - Receiving: each frame's payload goes through `decode`; at `fin` the tail
///   is appended. Output is produced in steps of at most 32 KiB and checked
///   against `max_out` after each step, so a compression bomb fails with
///   [`ProtocolError::MessageTooBig`] (close code 1009) before the message
///   buffer grows past the limit. Corrupt data fails with
///   [`ProtocolError::InvalidCompressedData`]. With the peer's
///   `*_no_context_takeover` the decompressor is reset after each message.
///
/// ```
/// use bytes::BytesMut;
/// use socketwire::deflate::{DeflateConfig, DeflateParams, PerMessageDeflate};
/// use socketwire::ws::{Role, extension::PerMessageExtension};
///
/// let config = DeflateConfig::default();
/// let mut server = PerMessageDeflate::new(Role::Server, DeflateParams::default(), &config);
/// let mut client = PerMessageDeflate::new(Role::Client, DeflateParams::default(), &config);
/// // RFC 7692 §7.2.3.1: "Hello" compressed.
/// let mut wire = BytesMut::new();
/// server.encode(b"Hello", true, &mut wire);
/// assert_eq!(&wire[..], [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
/// let mut message = BytesMut::new();
/// client.decode(&wire, true, &mut message, 1024).unwrap();
/// assert_eq!(&message[..], b"Hello");
/// ```
#[derive(Debug)]
pub struct PerMessageDeflate {
    role: Role,
    params: DeflateParams,
    compress_threshold: usize,
    /// Created (or borrowed from the pool) on the first `encode`: a
    /// receive-only connection never pays for the deflate state.
    compressor: Option<Compress>,
    compressor_kind: CompressorKind,
    /// Created (or borrowed from the pool) on the first `decode`.
    inflater: Option<Inflater>,
    inflater_window_bits: u8,
    /// Where the per-message states come from and go back to, if set.
    pool: Option<DeflatePool>,
    reset_compressor_per_message: bool,
    reset_decompressor_per_message: bool,
    /// The peer's deflate stream ended (a block with BFINAL = 1) inside the
    /// current message: the rest of the message is ignored and the
    /// decompressor is reset at its end.
    inflate_stream_ended: bool,
}

impl PerMessageDeflate {
    /// A permessage-deflate state for `role` with the agreed `params`, taking
    /// the compression level and threshold from `config`.
    ///
    /// Our compressor uses our role's window and context-takeover parameters,
    /// the decompressor the peer's.
    ///
    /// ```
    /// use socketwire::deflate::{DeflateConfig, DeflateParams, PerMessageDeflate};
    /// use socketwire::ws::Role;
    /// let params = DeflateParams { client_max_window_bits: Some(10), ..Default::default() };
    /// let ext = PerMessageDeflate::new(Role::Client, params, &DeflateConfig::default());
    /// assert_eq!(ext.role(), Role::Client);
    /// assert_eq!(ext.params().client_max_window_bits, Some(10));
    /// ```
    pub fn new(role: Role, params: DeflateParams, config: &DeflateConfig) -> Self {
        let peer = match role {
            Role::Server => Role::Client,
            Role::Client => Role::Server,
        };
        PerMessageDeflate {
            role,
            params,
            compress_threshold: config.compress_threshold,
            compressor: None,
            compressor_kind: CompressorKind {
                level: config.level().level(),
                window_bits: zlib_window_bits(params.window_bits_of(role)),
            },
            inflater: None,
            inflater_window_bits: params.window_bits_of(peer),
            pool: None,
            reset_compressor_per_message: params.no_context_takeover_of(role),
            reset_decompressor_per_message: params.no_context_takeover_of(peer),
            inflate_stream_ended: false,
        }
    }

    /// Borrows the per-message states of the directions that reset after
    /// every message (our `*_no_context_takeover` for the compressor, the
    /// peer's for the decompressor) from `pool`, one message at a time,
    /// instead of owning them. Directions with context takeover are not
    /// affected.
    ///
    /// ```
    /// use socketwire::deflate::{DeflateConfig, DeflateParams, DeflatePool, PerMessageDeflate};
    /// use socketwire::ws::Role;
    /// let pool = DeflatePool::new(64);
    /// let params = DeflateParams { server_no_context_takeover: true, ..Default::default() };
    /// let ext = PerMessageDeflate::new(Role::Server, params, &DeflateConfig::default())
    ///     .with_pool(&pool);
    /// assert_eq!(ext.role(), Role::Server);
    /// ```
    #[must_use = "the extension with the pool is returned"]
    pub fn with_pool(mut self, pool: &DeflatePool) -> Self {
        self.pool = Some(pool.clone());
        self
    }

    /// Our side of the connection.
    ///
    /// ```
    /// use socketwire::deflate::{DeflateConfig, DeflateParams, PerMessageDeflate};
    /// use socketwire::ws::Role;
    /// let ext = PerMessageDeflate::new(Role::Server, DeflateParams::default(), &DeflateConfig::default());
    /// assert_eq!(ext.role(), Role::Server);
    /// ```
    pub fn role(&self) -> Role {
        self.role
    }

    /// The agreed parameters.
    ///
    /// ```
    /// use socketwire::deflate::{DeflateConfig, DeflateParams, PerMessageDeflate};
    /// use socketwire::ws::Role;
    /// let ext = PerMessageDeflate::new(Role::Server, DeflateParams::default(), &DeflateConfig::default());
    /// assert_eq!(*ext.params(), DeflateParams::default());
    /// ```
    pub fn params(&self) -> &DeflateParams {
        &self.params
    }

    /// Resets the decompressor after a message (or a failure), and gives it
    /// back when it is lent.
    fn end_inflate(&mut self) {
        if let Some(inflater) = self.inflater.as_mut() {
            inflater.state.reset(false);
        }
        self.inflate_stream_ended = false;
        // Lent only when the peer resets per message; with context takeover
        // the (reset) state stays.
        if self.reset_decompressor_per_message
            && let Some(pool) = &self.pool
            && let Some(inflater) = self.inflater.take()
        {
            pool.put_inflater(inflater);
        }
    }
}

/// Inflates `input` into `out`, stopping with an error as soon as `out` would
/// pass `max_out` bytes; sets `stream_ended` at a block with BFINAL = 1.
fn inflate_into(
    inflater: &mut Inflater,
    stream_ended: &mut bool,
    mut input: &[u8],
    out: &mut BytesMut,
    max_out: u64,
) -> Result<(), ProtocolError> {
    let Inflater { state, scratch } = inflater;
    while !*stream_ended {
        let budget = max_out.saturating_sub(out.len() as u64);
        // One byte more than the budget: producing it proves the message too big.
        let space = usize::try_from(budget.saturating_add(1))
            .map_or(INFLATE_STEP, |allowed| allowed.min(INFLATE_STEP));
        let in_before = state.total_in();
        let out_before = state.total_out();
        let result = state.decompress(input, &mut scratch[..space], FlushDecompress::None);
        let consumed = usize::try_from(state.total_in() - in_before)
            .unwrap_or(input.len())
            .min(input.len());
        let produced = usize::try_from(state.total_out() - out_before)
            .unwrap_or(space)
            .min(space);
        // RFC 7692 §6.2: the endpoint decompresses the message; data that does not inflate fails the connection.
        // https://www.rfc-editor.org/rfc/rfc7692#section-6.2
        let status = result.map_err(|_| ProtocolError::InvalidCompressedData)?;
        // Check the limit BEFORE the message buffer grows.
        if produced as u64 > budget {
            return Err(ProtocolError::MessageTooBig {
                len: out.len() as u64 + produced as u64,
                max: max_out,
            });
        }
        out.extend_from_slice(&scratch[..produced]);
        input = &input[consumed..];
        match status {
            // A block with BFINAL = 1: whatever follows in this message is not
            // part of the stream (RFC 7692 §7.2.3.4 allows such a block).
            Status::StreamEnd => *stream_ended = true,
            // The output slice was not filled: everything inflatable so far is out.
            Status::Ok | Status::BufError if input.is_empty() && produced < space => break,
            // No progress at all with room to write: with input left that
            // would drop data silently, so treat it as corrupt.
            _ if consumed == 0 && produced == 0 => {
                if input.is_empty() {
                    break;
                }
                return Err(ProtocolError::InvalidCompressedData);
            }
            _ => {}
        }
    }
    Ok(())
}

/// Runs `input` through `compressor`, appending to `out`; with `fin`, ends the
/// message the way RFC 7692 §7.2.1 says.
fn deflate_into(compressor: &mut Compress, input: &[u8], fin: bool, out: &mut BytesMut) {
    let frame_start = out.len();
    // RFC 7692 §7.2.1: "Compress all the octets of the payload of the message using DEFLATE" and
    // end with an empty block so the message ends on a byte boundary (sync flush).
    // https://www.rfc-editor.org/rfc/rfc7692#section-7.2.1
    let flush = if fin {
        FlushCompress::Sync
    } else {
        FlushCompress::None
    };
    let mut remaining = input;
    loop {
        let space = (remaining.len() + 64).min(DEFLATE_STEP);
        let start = out.len();
        out.resize(start + space, 0);
        let in_before = compressor.total_in();
        let out_before = compressor.total_out();
        let result = compressor.compress(remaining, &mut out[start..], flush);
        let consumed = usize::try_from(compressor.total_in() - in_before)
            .unwrap_or(remaining.len())
            .min(remaining.len());
        let produced = usize::try_from(compressor.total_out() - out_before)
            .unwrap_or(space)
            .min(space);
        out.truncate(start + produced);
        remaining = &remaining[consumed..];
        // zlib-rs only reports an error for a misused stream, which this
        // loop never does; stop rather than spin.
        if result.is_err() {
            break;
        }
        // All input taken and the output not filled: the flush is complete.
        if remaining.is_empty() && produced < space {
            break;
        }
        if consumed == 0 && produced == 0 {
            break;
        }
    }
    if fin {
        // RFC 7692 §7.2.1: "Remove 4 octets (that are 0x00 0x00 0xff 0xff) from the tail end."
        // https://www.rfc-editor.org/rfc/rfc7692#section-7.2.1
        if out[frame_start..].ends_with(&SYNC_TAIL) {
            out.truncate(out.len() - SYNC_TAIL.len());
        } else if out.len() == frame_start {
            // Nothing pending since the last flush (an empty message): a lone
            // empty stored block header, which the receiver completes with the tail
            // (RFC 7692 §7.2.3.6).
            out.extend_from_slice(&[0x00]);
        }
    }
}

impl PerMessageExtension for PerMessageDeflate {
    /// Compress messages of at least `compress_threshold` bytes.
    fn should_encode(&self, len: usize) -> bool {
        len >= self.compress_threshold
    }

    fn encode(&mut self, input: &[u8], fin: bool, out: &mut BytesMut) {
        let kind = self.compressor_kind;
        // The pool handle is borrowed, not cloned, per frame.
        let lent = self
            .pool
            .as_ref()
            .filter(|_| self.reset_compressor_per_message);
        let compressor = self.compressor.get_or_insert_with(|| match lent {
            Some(pool) => pool.take_compressor(kind),
            None => kind.build(),
        });
        deflate_into(compressor, input, fin, out);
        // RFC 7692 §7.1.1: with our no_context_takeover, each message starts from an empty window.
        // https://www.rfc-editor.org/rfc/rfc7692#section-7.1.1
        if fin && self.reset_compressor_per_message {
            compressor.reset();
            if let Some(pool) = lent
                && let Some(compressor) = self.compressor.take()
            {
                pool.put_compressor(kind, compressor);
            }
        }
    }

    fn decode(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut BytesMut,
        max_out: u64,
    ) -> Result<(), ProtocolError> {
        let bits = self.inflater_window_bits;
        let lent = self
            .pool
            .as_ref()
            .filter(|_| self.reset_decompressor_per_message);
        let inflater = self.inflater.get_or_insert_with(|| match lent {
            Some(pool) => pool.take_inflater(),
            None => Inflater::new(bits),
        });
        let ended = &mut self.inflate_stream_ended;
        let result = inflate_into(inflater, ended, input, out, max_out).and_then(|()| {
            if fin {
                // RFC 7692 §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload".
                // https://www.rfc-editor.org/rfc/rfc7692#section-7.2.2
                inflate_into(inflater, ended, &SYNC_TAIL, out, max_out)
            } else {
                Ok(())
            }
        });
        if result.is_err() {
            // The stream is unusable; the connection closes, but leave a clean state.
            self.end_inflate();
            return result;
        }
        // RFC 7692 §7.2.2: with the peer's no_context_takeover, the endpoint "MAY decompress each message using a new LZ77 window".
        // https://www.rfc-editor.org/rfc/rfc7692#section-7.2.2
        if fin && (self.reset_decompressor_per_message || self.inflate_stream_ended) {
            self.end_inflate();
        }
        Ok(())
    }

    /// With our `*_no_context_takeover`, a message's bytes depend only on the
    /// message, the compression level and our window: the key is made of those
    /// two.
    fn shared_encoding(&self, len: usize) -> Option<EncodingKey> {
        if !self.reset_compressor_per_message || !self.should_encode(len) {
            return None;
        }
        let CompressorKind { level, window_bits } = self.compressor_kind;
        Some(EncodingKey::new(
            KEY_TAG | u64::from(level) << 8 | u64::from(window_bits),
        ))
    }

    /// Compresses with a state of its own (from the pool when there is one,
    /// else a fresh one): a message this connection is streaming keeps its
    /// compressor.
    fn encode_shared(&self, input: &[u8], out: &mut BytesMut) -> bool {
        if !self.reset_compressor_per_message {
            return false;
        }
        let kind = self.compressor_kind;
        let mut compressor = match &self.pool {
            Some(pool) => pool.take_compressor(kind),
            None => kind.build(),
        };
        deflate_into(&mut compressor, input, true, out);
        if let Some(pool) = &self.pool {
            compressor.reset();
            pool.put_compressor(kind, compressor);
        }
        true
    }
}
