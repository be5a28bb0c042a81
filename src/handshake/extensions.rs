//! `Sec-WebSocket-Extensions` values (RFC 6455 §9.1) as parsed lists.
//!
//! ```text
//! Sec-WebSocket-Extensions = extension-list
//! extension-list = 1#extension
//! extension = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```
//!
//! The parser walks the value once, left to right, never backtracking: linear time in
//! the length of the value whatever its content (the ReDoS/DoS history of this header
//! in other implementations is why).

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use super::HandshakeError;
use super::tokens::{ascii_str, is_ows, is_tchar};

/// One extension in a `Sec-WebSocket-Extensions` list, with its parameters in order.
/// It borrows the header value it was parsed from: names are `&str`, and so are values
/// but for a quoted value with escapes, which is unescaped into a `String`.
///
/// ```
/// use socketwire::handshake::{ExtensionOffer, ExtensionParam};
/// let offer = ExtensionOffer {
///     name: "permessage-deflate",
///     params: vec![ExtensionParam { name: "client_max_window_bits", value: None }],
/// };
/// assert_eq!(offer.params.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtensionOffer<'a> {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: &'a str,
    /// Its parameters, in the order given; duplicates are kept for the extension to judge.
    pub params: Vec<ExtensionParam<'a>>,
}

/// One `name[=value]` extension parameter (a quoted value is unquoted).
///
/// ```
/// let p = socketwire::handshake::ExtensionParam { name: "server_max_window_bits", value: Some("10".into()) };
/// assert_eq!(p.value.as_deref(), Some("10"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtensionParam<'a> {
    /// Parameter name.
    pub name: &'a str,
    /// Parameter value, if any: borrowed, or owned when unescaping changed it.
    pub value: Option<Cow<'a, str>>,
}

/// One step of the §9.1 grammar walk.
pub(crate) enum ExtensionEvent<'a> {
    /// An extension token starts a new list element.
    Extension(&'a [u8]),
    /// A parameter of the current extension; the value is raw (still quoted-pair
    /// escaped when `quoted`).
    Param {
        name: &'a [u8],
        value: Option<&'a [u8]>,
        quoted: bool,
    },
}

/// Walks a `Sec-WebSocket-Extensions` value once, calling `sink` for each extension and
/// parameter. Empty list elements (`a, , b`) are skipped as RFC 7230 §7 asks. Returns
/// the offset of the first byte that does not fit the grammar.
pub(crate) fn walk_extensions<'a>(
    s: &'a [u8],
    mut sink: impl FnMut(ExtensionEvent<'a>),
) -> Result<(), usize> {
    let n = s.len();
    let mut i = 0;
    let skip_ows = |i: &mut usize| {
        while *i < n && is_ows(s[*i]) {
            *i += 1;
        }
    };
    let token = |i: &mut usize| -> Result<(usize, usize), usize> {
        let start = *i;
        while *i < n && is_tchar(s[*i]) {
            *i += 1;
        }
        if *i == start {
            Err(start)
        } else {
            Ok((start, *i))
        }
    };
    loop {
        skip_ows(&mut i);
        if i == n {
            return Ok(());
        }
        if s[i] == b',' {
            i += 1;
            continue;
        }
        let (a, b) = token(&mut i)?;
        sink(ExtensionEvent::Extension(&s[a..b]));
        skip_ows(&mut i);
        while i < n && s[i] == b';' {
            i += 1;
            skip_ows(&mut i);
            let (na, nb) = token(&mut i)?;
            skip_ows(&mut i);
            let mut value = None;
            let mut quoted = false;
            if i < n && s[i] == b'=' {
                i += 1;
                skip_ows(&mut i);
                if i < n && s[i] == b'"' {
                    i += 1;
                    let start = i;
                    // https://www.rfc-editor.org/rfc/rfc6455#section-9.1
                    // "the value after quoted-string unescaping MUST
                    // conform to the 'token' ABNF" - so every unescaped char is a tchar.
                    loop {
                        match s.get(i) {
                            None => return Err(i),
                            Some(b'"') => break,
                            Some(b'\\') => match s.get(i + 1) {
                                Some(&c) if is_tchar(c) => i += 2,
                                _ => return Err(i + 1),
                            },
                            Some(&c) if is_tchar(c) => i += 1,
                            Some(_) => return Err(i),
                        }
                    }
                    if i == start {
                        return Err(i);
                    }
                    value = Some(&s[start..i]);
                    quoted = true;
                    i += 1;
                } else {
                    let (va, vb) = token(&mut i)?;
                    value = Some(&s[va..vb]);
                }
                skip_ows(&mut i);
            }
            sink(ExtensionEvent::Param {
                name: &s[na..nb],
                value,
                quoted,
            });
        }
        if i == n {
            return Ok(());
        }
        if s[i] != b',' {
            return Err(i);
        }
        i += 1;
    }
}

/// Checks a value against the §9.1 grammar without allocating.
pub(crate) fn validate_extensions(value: &[u8]) -> Result<(), HandshakeError> {
    walk_extensions(value, |_| {}).map_err(|offset| HandshakeError::InvalidExtensionList { offset })
}

/// Appends the parsed elements of one header value to `out`.
pub(crate) fn parse_extensions_into<'a>(
    value: &'a [u8],
    out: &mut Vec<ExtensionOffer<'a>>,
) -> Result<(), HandshakeError> {
    walk_extensions(value, |event| match event {
        ExtensionEvent::Extension(name) => out.push(ExtensionOffer {
            name: ascii_str(name),
            params: Vec::new(),
        }),
        ExtensionEvent::Param {
            name,
            value,
            quoted,
        } => {
            // The walk let through tchars and, quoted, `\` + tchar: ASCII either way.
            let value = value.map(|v| {
                if quoted && v.contains(&b'\\') {
                    let unescaped = v.iter().filter(|&&b| b != b'\\').map(|&b| char::from(b));
                    Cow::Owned(unescaped.collect::<String>())
                } else {
                    Cow::Borrowed(ascii_str(v))
                }
            });
            // The walk always yields an extension before its parameters.
            if let Some(offer) = out.last_mut() {
                offer.params.push(ExtensionParam {
                    name: ascii_str(name),
                    value,
                });
            }
        }
    })
    .map_err(|offset| HandshakeError::InvalidExtensionList { offset })
}

/// The offers in `values`, `Sec-WebSocket-Extensions` values checked already, in order.
pub(crate) fn checked_offers<'a>(
    values: impl Iterator<Item = &'a [u8]>,
) -> Vec<ExtensionOffer<'a>> {
    let mut offers = Vec::new();
    for value in values {
        let parsed = parse_extensions_into(value, &mut offers);
        debug_assert!(parsed.is_ok(), "checked extensions do not parse");
    }
    offers
}

/// Parses a `Sec-WebSocket-Extensions` header value (RFC 6455 §9.1) into a list of
/// offers, in order, borrowing `value`. Quoted parameter values are unescaped. Runs in time linear in the
/// length of `value`. An empty value (or one with only empty list elements) gives an
/// empty list.
///
/// ```
/// use socketwire::handshake::parse_extensions;
/// let list = parse_extensions(
///     "permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits=\"10\"",
/// ).unwrap();
/// assert_eq!(list.len(), 2);
/// assert_eq!(list[0].params[0].name, "client_max_window_bits");
/// assert_eq!(list[0].params[0].value, None);
/// assert_eq!(list[1].params[0].value.as_deref(), Some("10"));
/// assert!(parse_extensions("permessage-deflate; x=\"a b\"").is_err());
/// assert!(parse_extensions("").unwrap().is_empty());
/// ```
pub fn parse_extensions(value: &str) -> Result<Vec<ExtensionOffer<'_>>, HandshakeError> {
    let mut out = Vec::new();
    parse_extensions_into(value.as_bytes(), &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn offer<'a>(name: &'a str, params: &[(&'a str, Option<&'a str>)]) -> ExtensionOffer<'a> {
        ExtensionOffer {
            name,
            params: params
                .iter()
                .map(|&(name, value)| ExtensionParam {
                    name,
                    value: value.map(Cow::Borrowed),
                })
                .collect(),
        }
    }

    #[test]
    fn accepted_values() {
        let cases: &[(&str, Vec<ExtensionOffer<'_>>)] = &[
            ("", vec![]),
            (" , ,", vec![]),
            ("foo", vec![offer("foo", &[])]),
            (
                "permessage-deflate; client_max_window_bits",
                vec![offer(
                    "permessage-deflate",
                    &[("client_max_window_bits", None)],
                )],
            ),
            (
                "a;b=1 ; c = \"2\" ,d\t;e",
                vec![
                    offer("a", &[("b", Some("1")), ("c", Some("2"))]),
                    offer("d", &[("e", None)]),
                ],
            ),
            ("x; y=\"a\\bc\"", vec![offer("x", &[("y", Some("abc"))])]),
            ("x;y;y", vec![offer("x", &[("y", None), ("y", None)])]),
        ];
        for (input, expected) in cases {
            assert_eq!(&parse_extensions(input).unwrap(), expected, "{input:?}");
        }
    }

    #[test]
    fn rejected_values() {
        let cases: &[(&str, usize)] = &[
            (";", 0),
            ("a;", 2),
            ("a;=1", 2),
            ("a;b=", 4),
            ("a;b=\"\"", 5),
            ("a;b=\"c d\"", 6),
            ("a;b=\"c", 6),
            ("a;b=\"c\\", 7),
            ("a b", 2),
            ("a;b=c d", 6),
            ("a/b", 1),
            ("\"a\"", 0),
        ];
        for (input, offset) in cases {
            assert_eq!(
                parse_extensions(input),
                Err(HandshakeError::InvalidExtensionList { offset: *offset }),
                "{input:?}"
            );
        }
    }

    #[test]
    fn long_adversarial_values_are_linear() {
        // Many parameters and long quoted values: one pass, no blow-up.
        let mut s = String::from("x");
        for _ in 0..20_000 {
            s.push_str(";a=\"\\b\"");
        }
        assert_eq!(parse_extensions(&s).unwrap()[0].params.len(), 20_000);
        let s = ";".repeat(100_000);
        assert!(parse_extensions(&s).is_err());
    }
}
