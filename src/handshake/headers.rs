//! Header fields the caller hands to either side (the client's request, the server's
//! 101): the checks that keep them from breaking the head, and the lines they become.

use bytes::{BufMut, BytesMut};

use super::HandshakeMisuse;
use super::tokens::{is_field_value_byte, is_token};

/// Rejects extra header fields that would break the head (header injection).
pub(super) fn check_extra_headers(headers: &[(&str, &str)]) -> Result<(), HandshakeMisuse> {
    for (name, value) in headers {
        if !is_token(name.as_bytes()) {
            return Err(HandshakeMisuse::InvalidHeaderName);
        }
        if !value.bytes().all(is_field_value_byte) {
            return Err(HandshakeMisuse::InvalidHeaderValue);
        }
    }
    Ok(())
}

/// Bytes [`put_optional_fields`] writes.
pub(super) fn optional_fields_len(extensions: Option<&str>, headers: &[(&str, &str)]) -> usize {
    let extensions = extensions.map_or(0, |e| EXTENSIONS.len() + e.len() + 2);
    let headers: usize = headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
    extensions + headers
}

const EXTENSIONS: &[u8] = b"Sec-WebSocket-Extensions: ";

/// Writes the `Sec-WebSocket-Extensions` line, if any, then the extra fields, each
/// as `name: value` and CRLF. The values were checked by the caller.
pub(super) fn put_optional_fields(
    out: &mut BytesMut,
    extensions: Option<&str>,
    headers: &[(&str, &str)],
) {
    if let Some(extensions) = extensions {
        out.put_slice(EXTENSIONS);
        out.put_slice(extensions.as_bytes());
        out.put_slice(b"\r\n");
    }
    for (name, value) in headers {
        out.put_slice(name.as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
}
