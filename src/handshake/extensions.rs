//! `Sec-WebSocket-Extensions` values (RFC 6455 §9.1) as parsed lists.

use alloc::string::String;
use alloc::vec::Vec;

/// One extension in a `Sec-WebSocket-Extensions` list, with its parameters in order.
///
/// ```
/// use socketwire::handshake::{ExtensionOffer, ExtensionParam};
/// let offer = ExtensionOffer {
///     name: "permessage-deflate".into(),
///     params: vec![ExtensionParam { name: "client_max_window_bits".into(), value: None }],
/// };
/// assert_eq!(offer.params.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtensionOffer {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// Its parameters, in the order given; duplicates are kept for the extension to judge.
    pub params: Vec<ExtensionParam>,
}

/// One `name[=value]` extension parameter (a quoted value is unquoted).
///
/// ```
/// let p = socketwire::handshake::ExtensionParam { name: "server_max_window_bits".into(), value: Some("10".into()) };
/// assert_eq!(p.value.as_deref(), Some("10"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtensionParam {
    /// Parameter name.
    pub name: String,
    /// Parameter value, if any.
    pub value: Option<String>,
}

/// Parses a `Sec-WebSocket-Extensions` header value (RFC 6455 §9.1) into a list of
/// offers, in order. Placeholder: returns an empty list until the parser lands.
///
/// ```
/// let list = socketwire::handshake::parse_extensions("").unwrap();
/// assert!(list.is_empty());
/// ```
pub fn parse_extensions(value: &str) -> Result<Vec<ExtensionOffer>, super::HandshakeError> {
    let _ = value;
    Ok(Vec::new())
}
