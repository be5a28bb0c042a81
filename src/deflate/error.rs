//! Why a permessage-deflate offer or response was not acceptable.

use alloc::string::String;
use core::fmt;

/// A permessage-deflate negotiation failure (RFC 7692 §5, §7.1).
///
/// On the server, any of these declines that one offer (the next offer is
/// tried). On the client, any of these fails the WebSocket connection
/// (RFC 7692 §5: "the client MUST _Fail the WebSocket Connection_",
/// <https://www.rfc-editor.org/rfc/rfc7692#section-5>).
///
/// ```
/// use socketwire::deflate::NegotiationError;
/// let e = NegotiationError::DuplicateParameter("server_no_context_takeover".into());
/// assert_eq!(e.to_string(), "duplicate permessage-deflate parameter server_no_context_takeover");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The extension is not `permessage-deflate`.
    OtherExtension(String),
    /// permessage-deflate is disabled in our config, or (client) the server
    /// answered with it although we did not offer it.
    NotOffered,
    /// A parameter RFC 7692 does not define.
    UnknownParameter(String),
    /// A parameter given twice in one offer or response.
    DuplicateParameter(String),
    /// A parameter that takes no value was given one.
    UnexpectedValue(String),
    /// `server_max_window_bits` (anywhere) or `client_max_window_bits` (in a
    /// response) without a value.
    MissingValue(String),
    /// A window bits value that is not a decimal 8–15 without leading zeros.
    InvalidWindowBits {
        /// The parameter name.
        name: String,
        /// The value as received.
        value: String,
    },
    /// (Client) the response holds a parameter we did not offer, or a window
    /// larger than the one we offered.
    ParameterNotOffered(String),
    /// (Client) the response leaves out a parameter the server must echo to
    /// accept our offer (`server_no_context_takeover`, `server_max_window_bits`).
    ParameterNotAccepted(String),
    /// (Client) the response names permessage-deflate more than once.
    MultipleResponses,
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NegotiationError::OtherExtension(name) => {
                write!(f, "extension {name} is not permessage-deflate")
            }
            NegotiationError::NotOffered => f.write_str("permessage-deflate was not offered"),
            NegotiationError::UnknownParameter(p) => {
                write!(f, "unknown permessage-deflate parameter {p}")
            }
            NegotiationError::DuplicateParameter(p) => {
                write!(f, "duplicate permessage-deflate parameter {p}")
            }
            NegotiationError::UnexpectedValue(p) => write!(f, "parameter {p} takes no value"),
            NegotiationError::MissingValue(p) => write!(f, "parameter {p} needs a value"),
            NegotiationError::InvalidWindowBits { name, value } => {
                write!(f, "invalid {name} value {value:?} (must be 8-15)")
            }
            NegotiationError::ParameterNotOffered(p) => {
                write!(f, "response has {p} beyond what was offered")
            }
            NegotiationError::ParameterNotAccepted(p) => {
                write!(f, "response does not accept offered {p}")
            }
            NegotiationError::MultipleResponses => {
                f.write_str("more than one permessage-deflate in the response")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for NegotiationError {}
