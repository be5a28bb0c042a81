//! The small pieces of HTTP grammar (RFC 7230 §3.2.6, §7) the handshake needs: tokens,
//! optional whitespace and comma-separated lists. Every function is one linear pass.

/// `tchar` from RFC 7230 §3.2.6.
pub(crate) fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// `OWS` (space or horizontal tab).
pub(crate) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
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

/// `true` if the list `value` has an element equal to `token`, ignoring ASCII case.
pub(crate) fn list_contains(value: &[u8], token: &[u8]) -> bool {
    list_elements(value).any(|e| e.eq_ignore_ascii_case(token))
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
        assert!(list_contains(b"keep-alive, Upgrade", b"upgrade"));
        assert!(list_contains(b" ,UPGRADE,", b"upgrade"));
        assert!(!list_contains(b"keep-alive", b"upgrade"));
        assert!(!list_contains(b"upgrades", b"upgrade"));
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b"  "), b"");
        assert!(is_token(b"chat.v2"));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b""));
    }
}
