//! The open packet's handshake JSON: `{"sid","upgrades","pingInterval","pingTimeout","maxPayload"}`.

use alloc::string::String;
use alloc::vec::Vec;
use bytes::{BufMut, BytesMut};

#[cfg(feature = "json")]
use super::Error;
use super::payload::write_json_string;

/// The handshake a server sends in its open packet (`0{…}`).
///
/// Encoding is a small hand encoder (no `json` feature needed, and faster than
/// `serde_json` for this fixed shape — see `benches/engineio.rs`); decoding uses
/// `serde_json` and needs the `json` feature.
///
/// ```
/// use bytes::BytesMut;
/// use socketwire::engineio::OpenPacket;
/// let open = OpenPacket {
///     sid: "abc".into(),
///     upgrades: vec!["websocket".into()],
///     ping_interval: 25000,
///     ping_timeout: 20000,
///     max_payload: Some(1_000_000),
/// };
/// let mut out = BytesMut::new();
/// open.encode_json(&mut out);
/// assert_eq!(
///     &out[..],
///     br#"{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "json", serde(rename_all = "camelCase"))]
pub struct OpenPacket {
    /// The session id.
    pub sid: String,
    /// Transports the client may upgrade to (`["websocket"]` on polling, `[]` on WebSocket).
    #[cfg_attr(feature = "json", serde(default))]
    pub upgrades: Vec<String>,
    /// Heartbeat period in milliseconds.
    pub ping_interval: u64,
    /// Heartbeat timeout in milliseconds.
    pub ping_timeout: u64,
    /// Largest body the server accepts (v4 field; also sent by current v3 servers).
    #[cfg_attr(
        feature = "json",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub max_payload: Option<u64>,
}

impl OpenPacket {
    /// Appends the handshake JSON (without the `0` type digit).
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use socketwire::engineio::OpenPacket;
    /// let open = OpenPacket { sid: "a\"b".into(), upgrades: vec![], ping_interval: 1, ping_timeout: 2, max_payload: None };
    /// let mut out = BytesMut::new();
    /// open.encode_json(&mut out);
    /// assert_eq!(&out[..], br#"{"sid":"a\"b","upgrades":[],"pingInterval":1,"pingTimeout":2}"#);
    /// ```
    pub fn encode_json(&self, out: &mut BytesMut) {
        out.reserve(96 + self.sid.len());
        out.put_slice(b"{\"sid\":");
        write_json_string(&self.sid, out);
        out.put_slice(b",\"upgrades\":[");
        for (index, upgrade) in self.upgrades.iter().enumerate() {
            if index > 0 {
                out.put_u8(b',');
            }
            write_json_string(upgrade, out);
        }
        out.put_slice(b"],\"pingInterval\":");
        write_u64(self.ping_interval, out);
        out.put_slice(b",\"pingTimeout\":");
        write_u64(self.ping_timeout, out);
        if let Some(max) = self.max_payload {
            out.put_slice(b",\"maxPayload\":");
            write_u64(max, out);
        }
        out.put_u8(b'}');
    }

    /// Parses the handshake JSON (the data of an open packet).
    ///
    /// ```
    /// use socketwire::engineio::OpenPacket;
    /// let open = OpenPacket::decode_json(r#"{"sid":"x","upgrades":[],"pingInterval":300,"pingTimeout":200}"#).unwrap();
    /// assert_eq!(open.ping_interval, 300);
    /// assert_eq!(open.max_payload, None);
    /// ```
    #[cfg(feature = "json")]
    pub fn decode_json(json: &str) -> Result<OpenPacket, Error> {
        serde_json::from_str(json).map_err(|_| Error::InvalidOpenPacket)
    }

    /// Encodes with `serde_json` (same output as [`OpenPacket::encode_json`]; kept
    /// for comparison in the benchmark).
    ///
    /// ```
    /// use socketwire::engineio::OpenPacket;
    /// let open = OpenPacket { sid: "s".into(), upgrades: vec![], ping_interval: 1, ping_timeout: 2, max_payload: None };
    /// let mut out = bytes::BytesMut::new();
    /// open.encode_json(&mut out);
    /// assert_eq!(open.to_json_with_serde().as_bytes(), &out[..]);
    /// ```
    #[cfg(feature = "json")]
    pub fn to_json_with_serde(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn write_u64(value: u64, out: &mut BytesMut) {
    let mut digits = [0u8; 20];
    let mut n = value;
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[i..]);
}
