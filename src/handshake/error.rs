//! Handshake errors (placeholder).

/// Why an opening handshake failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// A malformed header.
    MalformedHeader,
}
