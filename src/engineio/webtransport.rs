//! WebTransport stream framing (engine.io-parser ≥ 5.2, v4 only; not in the
//! written spec): per packet a length header modelled on RFC 6455 — one byte if
//! the length is < 126, `126` + u16 BE, or `127` + u64 BE — with the top bit of
//! the first byte set for binary packets, then the encoded packet.

use bytes::{BufMut, Bytes, BytesMut};

use super::Error;
use super::packet::{EngineIoVersion, MessageKind, Packet};
use crate::Status;

/// The largest high 32-bit word of a 64-bit length the reference decoder accepts.
const MAX_HIGH_WORD: u64 = (1 << 21) - 1;

/// Appends one packet with its WebTransport length header.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use socketwire::engineio::{encode_webtransport_frame, Packet};
/// let mut out = BytesMut::new();
/// encode_webtransport_frame(&Packet::Binary(Bytes::from_static(&[1, 2, 3])), &mut out);
/// assert_eq!(&out[..], &[0x83, 1, 2, 3]);
/// ```
pub fn encode_webtransport_frame(packet: &Packet<'_>, out: &mut BytesMut) {
    let mut body = BytesMut::new();
    let kind = packet.encode_websocket(EngineIoVersion::V4, true, &mut body);
    let binary_bit = if kind == MessageKind::Binary { 0x80 } else { 0 };
    let len = body.len();
    if let Ok(tiny @ 0..126) = u8::try_from(len) {
        out.put_u8(binary_bit | tiny);
    } else if let Ok(short) = u16::try_from(len) {
        out.put_u8(binary_bit | 126);
        out.put_u16(short);
    } else {
        out.put_u8(binary_bit | 127);
        out.put_u64(len as u64);
    }
    out.put_slice(&body);
}

/// Decodes one framed packet from the start of `input`. Returns the packet and
/// the bytes consumed, or [`Status::Partial`] when the frame is not complete.
///
/// ```
/// use bytes::Bytes;
/// use socketwire::engineio::{decode_webtransport_frame, Packet};
/// use socketwire::Status;
/// let input = Bytes::from(&b"\x05\x341\xE2\x82\xAC"[..]);
/// let decoded = decode_webtransport_frame(&input, 1_000_000).unwrap();
/// assert_eq!(decoded, Status::Complete((Packet::Message("1€"), 6)));
/// assert_eq!(decode_webtransport_frame(&input.slice(..3), 1_000_000).unwrap(), Status::Partial);
/// ```
pub fn decode_webtransport_frame(
    input: &Bytes,
    max_payload: u64,
) -> Result<Status<(Packet<'_>, usize)>, Error> {
    let Some(&first) = input.first() else {
        return Ok(Status::Partial);
    };
    let binary = first & 0x80 != 0;
    let (len, header) = match first & 0x7F {
        126 => match input.get(1..3) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 3),
            None => return Ok(Status::Partial),
        },
        127 => match input.get(1..9) {
            Some(b) => {
                let mut word = [0u8; 8];
                word.copy_from_slice(b);
                let len = u64::from_be_bytes(word);
                if len >> 32 > MAX_HIGH_WORD {
                    return Err(Error::PayloadTooLarge {
                        len,
                        max: max_payload,
                    });
                }
                (len, 9)
            }
            None => return Ok(Status::Partial),
        },
        short => (u64::from(short), 1),
    };
    if len == 0 {
        return Err(Error::EmptyPacket);
    }
    if len > max_payload {
        return Err(Error::PayloadTooLarge {
            len,
            max: max_payload,
        });
    }
    let len = match usize::try_from(len) {
        Ok(len) if len <= input.len() - header => len,
        _ => return Ok(Status::Partial),
    };
    let end = header + len;
    let packet = if binary {
        Packet::Binary(input.slice(header..end))
    } else {
        let text =
            simdutf8::basic::from_utf8(&input[header..end]).map_err(|_| Error::InvalidUtf8)?;
        Packet::decode_text(text, EngineIoVersion::V4)?
    };
    Ok(Status::Complete((packet, end)))
}
