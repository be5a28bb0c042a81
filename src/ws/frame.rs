//! Frame headers: bytes ↔ [`FrameHeader`] (RFC 6455 §5.2).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! ```

use bytes::BufMut;

use super::error::ProtocolError;
use crate::Status;

/// The longest header: 2 bytes + 8 length bytes + 4 mask bytes.
pub const MAX_HEADER_LEN: usize = 14;

/// A frame opcode. Reserved values are kept so the decoder can report them.
///
/// ```
/// use socketwire::ws::Opcode;
/// assert_eq!(Opcode::from(0x1), Opcode::Text);
/// assert_eq!(Opcode::from(0x3), Opcode::Reserved(0x3));
/// assert!(Opcode::Ping.is_control());
/// assert_eq!(u8::from(Opcode::Close), 0x8);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// 0x0: continuation of a fragmented message.
    Continuation,
    /// 0x1: text (UTF-8) data.
    Text,
    /// 0x2: binary data.
    Binary,
    /// 0x8: connection close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
    /// 0x3–0x7, 0xB–0xF: reserved for future use.
    Reserved(u8),
}

impl Opcode {
    /// Whether this is a control opcode (the high bit of the nibble is set, §5.5).
    ///
    /// ```
    /// use socketwire::ws::Opcode;
    /// assert!(Opcode::Reserved(0xB).is_control());
    /// assert!(!Opcode::Binary.is_control());
    /// ```
    #[inline]
    pub fn is_control(self) -> bool {
        match self {
            Opcode::Close | Opcode::Ping | Opcode::Pong => true,
            Opcode::Continuation | Opcode::Text | Opcode::Binary => false,
            Opcode::Reserved(v) => v & 0x8 != 0,
        }
    }

    /// Whether the RFC reserves this opcode.
    ///
    /// ```
    /// assert!(socketwire::ws::Opcode::Reserved(7).is_reserved());
    /// ```
    pub fn is_reserved(self) -> bool {
        matches!(self, Opcode::Reserved(_))
    }
}

impl From<u8> for Opcode {
    #[inline]
    fn from(v: u8) -> Self {
        /// Every low nibble's opcode: a table lookup, no branch.
        const OPCODES: [Opcode; 16] = {
            let mut table = [Opcode::Continuation; 16];
            let mut v = 0;
            while v < 16 {
                table[v as usize] = match v {
                    0x0 => Opcode::Continuation,
                    0x1 => Opcode::Text,
                    0x2 => Opcode::Binary,
                    0x8 => Opcode::Close,
                    0x9 => Opcode::Ping,
                    0xA => Opcode::Pong,
                    other => Opcode::Reserved(other),
                };
                v += 1;
            }
            table
        };
        OPCODES[usize::from(v & 0x0f)]
    }
}

impl From<Opcode> for u8 {
    fn from(op: Opcode) -> u8 {
        match op {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
            Opcode::Reserved(v) => v & 0x0f,
        }
    }
}

/// A decoded frame header.
///
/// ```
/// use socketwire::{Status, ws::{FrameHeader, Opcode}};
/// // RFC 6455 §5.7: a single-frame masked text message "Hello".
/// let bytes = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// let Status::Complete((h, n)) = FrameHeader::decode(&bytes).unwrap() else { panic!() };
/// assert_eq!((h.fin, h.opcode, h.payload_len, n), (true, Opcode::Text, 5, 6));
/// assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: this is the final fragment of a message.
    pub fin: bool,
    /// RSV1 (used by permessage-deflate).
    pub rsv1: bool,
    /// RSV2.
    pub rsv2: bool,
    /// RSV3.
    pub rsv3: bool,
    /// The opcode.
    pub opcode: Opcode,
    /// The masking key, if the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes.
    pub payload_len: u64,
}

impl FrameHeader {
    /// A header for a final, unmasked frame with the given opcode and length.
    ///
    /// ```
    /// use socketwire::ws::{FrameHeader, Opcode};
    /// let h = FrameHeader::new(Opcode::Binary, 256);
    /// assert!(h.fin && h.mask.is_none());
    /// assert_eq!(h.encoded_len(), 4);
    /// ```
    pub fn new(opcode: Opcode, payload_len: u64) -> Self {
        FrameHeader {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode,
            mask: None,
            payload_len,
        }
    }

    /// The RSV bits as a 3-bit number (RSV1 is the high bit).
    ///
    /// ```
    /// let mut h = socketwire::ws::FrameHeader::new(socketwire::ws::Opcode::Text, 0);
    /// h.rsv1 = true;
    /// assert_eq!(h.rsv_bits(), 0b100);
    /// ```
    #[inline]
    pub fn rsv_bits(&self) -> u8 {
        (u8::from(self.rsv1) << 2) | (u8::from(self.rsv2) << 1) | u8::from(self.rsv3)
    }

    /// Decodes a header from the start of `buf`.
    ///
    /// Returns `Complete((header, header_len))`, or `Partial` if `buf` is too short
    /// (nothing is consumed). Strict: a non-minimal length encoding or a 64-bit
    /// length with the top bit set is an error. Reserved opcodes and RSV bits are
    /// returned as they are; the connection decides whether they are allowed.
    ///
    /// ```
    /// use socketwire::{Status, ws::{FrameHeader, ProtocolError}};
    /// assert_eq!(FrameHeader::decode(&[0x82, 0x7e, 0x01]).unwrap(), Status::Partial);
    /// // 16-bit length encoding of 5: not minimal.
    /// assert_eq!(FrameHeader::decode(&[0x82, 0x7e, 0x00, 0x05]), Err(ProtocolError::NonMinimalLength));
    /// ```
    #[inline]
    pub fn decode(buf: &[u8]) -> Result<Status<(FrameHeader, usize)>, ProtocolError> {
        let Some((&[b0, b1], mut rest)) = buf.split_first_chunk::<2>() else {
            return Ok(Status::Partial);
        };
        let short = b1 & 0x7f;
        // The common case first: a 7-bit length, one compare.
        let payload_len = if short < 126 {
            u64::from(short)
        } else if short == 126 {
            let Some((ext, tail)) = rest.split_first_chunk::<2>() else {
                return Ok(Status::Partial);
            };
            rest = tail;
            let len = u64::from(u16::from_be_bytes(*ext));
            // RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length"
            // https://www.rfc-editor.org/rfc/rfc6455#section-5.2
            if len < 126 {
                return Err(ProtocolError::NonMinimalLength);
            }
            len
        } else {
            let Some((ext, tail)) = rest.split_first_chunk::<8>() else {
                return Ok(Status::Partial);
            };
            rest = tail;
            let len = u64::from_be_bytes(*ext);
            // RFC 6455 §5.2: "the most significant bit MUST be 0"
            // https://www.rfc-editor.org/rfc/rfc6455#section-5.2
            if len >> 63 != 0 {
                return Err(ProtocolError::LengthTopBit);
            }
            // RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length"
            // https://www.rfc-editor.org/rfc/rfc6455#section-5.2
            if len <= 0xffff {
                return Err(ProtocolError::NonMinimalLength);
            }
            len
        };
        let mask = if b1 & 0x80 != 0 {
            let Some((key, tail)) = rest.split_first_chunk::<4>() else {
                return Ok(Status::Partial);
            };
            rest = tail;
            Some(*key)
        } else {
            None
        };
        let header = FrameHeader {
            fin: b0 & 0x80 != 0,
            rsv1: b0 & 0x40 != 0,
            rsv2: b0 & 0x20 != 0,
            rsv3: b0 & 0x10 != 0,
            opcode: Opcode::from(b0),
            mask,
            payload_len,
        };
        Ok(Status::Complete((header, buf.len() - rest.len())))
    }

    /// The number of bytes [`FrameHeader::encode`] writes.
    ///
    /// ```
    /// use socketwire::ws::{FrameHeader, Opcode};
    /// assert_eq!(FrameHeader::new(Opcode::Binary, 65536).encoded_len(), 10);
    /// ```
    pub fn encoded_len(&self) -> usize {
        let len = match self.payload_len {
            0..=125 => 2,
            126..=0xffff => 4,
            _ => 10,
        };
        len + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Encodes the header into `out` in the minimal length encoding and returns the
    /// number of bytes written.
    ///
    /// ```
    /// use socketwire::ws::{FrameHeader, Opcode};
    /// let mut out = [0u8; 14];
    /// let n = FrameHeader::new(Opcode::Text, 5).encode(&mut out);
    /// assert_eq!(&out[..n], &[0x81, 0x05]);
    /// ```
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = (u8::from(self.fin) << 7) | (self.rsv_bits() << 4) | u8::from(self.opcode);
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut pos = match self.payload_len {
            n @ 0..=125 => {
                out[1] = mask_bit | n.to_be_bytes()[7];
                2
            }
            n @ 126..=0xffff => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&n.to_be_bytes()[6..]);
                4
            }
            n => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&n.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            out[pos..pos + 4].copy_from_slice(&key);
            pos += 4;
        }
        pos
    }

    /// Appends the encoded header to a buffer.
    ///
    /// ```
    /// use socketwire::ws::{FrameHeader, Opcode};
    /// let mut out = bytes::BytesMut::new();
    /// FrameHeader::new(Opcode::Ping, 0).write(&mut out);
    /// assert_eq!(&out[..], &[0x89, 0x00]);
    /// ```
    pub fn write<B: BufMut>(&self, out: &mut B) {
        let mut tmp = [0u8; MAX_HEADER_LEN];
        let n = self.encode(&mut tmp);
        out.put_slice(&tmp[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn dec(b: &[u8]) -> Result<Status<(FrameHeader, usize)>, ProtocolError> {
        FrameHeader::decode(b)
    }

    #[test]
    fn rfc_5_7_vectors() {
        type Row = (&'static [u8], Opcode, bool, u64, Option<[u8; 4]>, usize);
        let table: &[Row] = &[
            (&[0x81, 0x05], Opcode::Text, true, 5, None, 2),
            (
                &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d],
                Opcode::Text,
                true,
                5,
                Some([0x37, 0xfa, 0x21, 0x3d]),
                6,
            ),
            (&[0x01, 0x03], Opcode::Text, false, 3, None, 2),
            (&[0x80, 0x02], Opcode::Continuation, true, 2, None, 2),
            (&[0x89, 0x05], Opcode::Ping, true, 5, None, 2),
            (
                &[0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d],
                Opcode::Pong,
                true,
                5,
                Some([0x37, 0xfa, 0x21, 0x3d]),
                6,
            ),
            (
                &[0x82, 0x7e, 0x01, 0x00],
                Opcode::Binary,
                true,
                256,
                None,
                4,
            ),
            (
                &[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0],
                Opcode::Binary,
                true,
                65536,
                None,
                10,
            ),
        ];
        for &(bytes, op, fin, len, mask, hlen) in table {
            let Status::Complete((h, n)) = dec(bytes).unwrap() else {
                panic!("partial for {bytes:02x?}")
            };
            assert_eq!(
                (h.opcode, h.fin, h.payload_len, h.mask, n),
                (op, fin, len, mask, hlen)
            );
            let mut out = [0u8; MAX_HEADER_LEN];
            let m = h.encode(&mut out);
            assert_eq!(&out[..m], bytes, "re-encode");
            // every strict prefix is Partial
            for cut in 0..bytes.len() {
                assert_eq!(dec(&bytes[..cut]).unwrap(), Status::Partial);
            }
        }
    }

    #[test]
    fn strict_lengths() {
        assert_eq!(
            dec(&[0x82, 0x7e, 0x00, 0x7d]),
            Err(ProtocolError::NonMinimalLength)
        );
        assert!(dec(&[0x82, 0x7e, 0x00, 0x7e]).unwrap().is_complete());
        assert_eq!(
            dec(&[0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff]),
            Err(ProtocolError::NonMinimalLength)
        );
        assert_eq!(
            dec(&[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            Err(ProtocolError::LengthTopBit)
        );
        let Status::Complete((h, _)) =
            dec(&[0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).unwrap()
        else {
            panic!()
        };
        assert_eq!(h.payload_len, (1u64 << 63) - 1);
    }

    #[test]
    fn reserved_values_are_kept() {
        let Status::Complete((h, _)) = dec(&[0x73, 0x00]).unwrap() else {
            panic!()
        };
        assert_eq!(h.opcode, Opcode::Reserved(3));
        assert_eq!(h.rsv_bits(), 0b111);
        assert!(!h.fin);
        let mut v = Vec::new();
        h.write(&mut v);
        assert_eq!(v, [0x73, 0x00]);
    }
}
