//! The small pieces of HTTP grammar (RFC 7230 §3.2.6, §7) the handshake needs: tokens,
//! optional whitespace and comma-separated lists. Every function is one linear pass.

/// `tchar` from RFC 7230 §3.2.6, as a lookup table.
static TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        #[allow(clippy::cast_possible_truncation)] // b < 256
        let c = b as u8;
        table[b] = matches!(c,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
            | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z');
        b += 1;
    }
    table
};

/// `tchar` from RFC 7230 §3.2.6.
#[inline]
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// A lowercase header name or token of 4 to 24 bytes, prepared for a case-insensitive
/// comparison with three (possibly overlapping) word loads straight from the name:
/// letters are compared with bit 0x20 forced on, every other byte exactly.
pub(crate) struct KnownName {
    len: usize,
    /// Word size: 8, or 4 for names shorter than 8 bytes.
    width: usize,
    offsets: [usize; 3],
    words: [u64; 3],
    case_bits: [u64; 3],
}

impl KnownName {
    /// Prepares `lower` (lowercase ASCII, 4 to 24 bytes; checked at compile time).
    pub(crate) const fn new(lower: &[u8]) -> KnownName {
        let len = lower.len();
        assert!(len >= 4 && len <= 24);
        let width = if len >= 8 { 8 } else { 4 };
        let middle = if len - width < width {
            len - width
        } else {
            width
        };
        let offsets = [0, middle, len - width];
        let mut words = [0u64; 3];
        let mut case_bits = [0u64; 3];
        let mut w = 0;
        while w < 3 {
            let mut i = 0;
            while i < width {
                let c = lower[offsets[w] + i];
                assert!(!c.is_ascii_uppercase());
                words[w] |= (c as u64) << (8 * i);
                if c.is_ascii_lowercase() {
                    case_bits[w] |= 0x20 << (8 * i);
                }
                i += 1;
            }
            w += 1;
        }
        KnownName {
            len,
            width,
            offsets,
            words,
            case_bits,
        }
    }

    /// The name's length.
    pub(crate) const fn len(&self) -> usize {
        self.len
    }

    /// `true` if `name` is this name, ignoring ASCII case.
    #[inline]
    pub(crate) fn matches(&self, name: &[u8]) -> bool {
        if name.len() != self.len {
            return false;
        }
        (0..3).all(|w| {
            let at = self.offsets[w];
            let word = if self.width == 8 {
                name.get(at..at + 8)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map(u64::from_le_bytes)
            } else {
                name.get(at..at + 4)
                    .and_then(|b| <[u8; 4]>::try_from(b).ok())
                    .map(|b| u64::from(u32::from_le_bytes(b)))
            };
            word.is_some_and(|word| word | self.case_bits[w] == self.words[w])
        })
    }
}

/// `OWS` (space or horizontal tab).
#[inline]
pub(crate) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `bytes`, already checked to be ASCII (a token, an element of a validated list), as
/// text.
pub(crate) fn ascii_str(bytes: &[u8]) -> &str {
    let text = core::str::from_utf8(bytes);
    debug_assert!(text.is_ok(), "checked bytes are not ASCII");
    text.unwrap_or_default()
}

/// `true` if `s` is a non-empty token.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// `s` without leading and trailing OWS.
pub(crate) fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ows(b)).map_or(start, |p| p + 1);
    &s[start..end]
}

/// The non-empty, OWS-trimmed elements of a comma-separated list (`#rule`).
pub(crate) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// The token `Upgrade` asks for.
pub(crate) const WEBSOCKET: KnownName = KnownName::new(b"websocket");
/// The token `Connection` lists for an upgrade.
pub(crate) const UPGRADE: KnownName = KnownName::new(b"upgrade");
/// The transfer coding that frames a body in chunks (RFC 9112 §7.1).
pub(crate) const CHUNKED: KnownName = KnownName::new(b"chunked");

/// `true` if the list `value` has an element equal to `token`, ignoring ASCII case.
#[inline]
pub(crate) fn list_contains(value: &[u8], token: &KnownName) -> bool {
    // Fast path: the common single-element value.
    token.matches(value) || list_elements(value).any(|e| token.matches(e))
}

/// `true` for a byte allowed in a header value we write: visible ASCII, space, tab
/// and obs-text; never CR, LF, NUL or other controls (header injection).
pub(crate) fn is_field_value_byte(b: u8) -> bool {
    b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        assert!(list_contains(b"keep-alive, Upgrade", &UPGRADE));
        assert!(list_contains(b" ,UPGRADE,", &UPGRADE));
        assert!(list_contains(b"upgrade", &UPGRADE));
        assert!(!list_contains(b"keep-alive", &UPGRADE));
        assert!(!list_contains(b"upgrades", &UPGRADE));
        assert!(!list_contains(b"upgrad", &UPGRADE));
        assert!(list_contains(b"WebSocket", &WEBSOCKET));
        assert!(list_contains(b"h2c,\twebsocket ", &WEBSOCKET));
        assert!(!list_contains(b"web socket", &WEBSOCKET));
        assert!(!list_contains(b"websocke\x14", &WEBSOCKET));
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b"  "), b"");
        const KEY: KnownName = KnownName::new(b"sec-websocket-key");
        const HOST: KnownName = KnownName::new(b"host");
        const EXT: KnownName = KnownName::new(b"sec-websocket-extensions");
        assert!(KEY.matches(b"Sec-WebSocket-Key"));
        assert!(HOST.matches(b"HOST"));
        assert!(EXT.matches(b"SEC-websocket-EXTENSIONS"));
        assert!(!EXT.matches(b"SEC-websocket-EXTENSIONs1"));
        assert!(!KEY.matches(b"Sec\rWebSocket-Key"));
        assert!(!KEY.matches(b"Sec-WebSocket-Kez"));
        assert!(!HOST.matches(b"hosts"));
        assert!(!HOST.matches(b"h0st"));
        assert!(!HOST.matches(b"hos\x14"));
        const UPGRADE: KnownName = KnownName::new(b"upgrade");
        assert!(UPGRADE.matches(b"UpGrade"));
        assert!(!UPGRADE.matches(b"UpGradf"));
        assert!(!UPGRADE.matches(b"Vpgrade"));
        const CONNECTION: KnownName = KnownName::new(b"connection");
        assert!(CONNECTION.matches(b"Connection"));
        assert!(!CONNECTION.matches(b"Connectio\x0e"));
        assert!(!CONNECTION.matches(b"User-Agent"));
        assert!(is_token(b"chat.v2"));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b""));
    }
}
