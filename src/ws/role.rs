//! Which end of the connection we are, and the rules that follow from it.

/// The side of a WebSocket connection.
///
/// All role-dependent rules (who masks) live here.
///
/// ```
/// use socketwire::ws::Role;
/// assert!(Role::Client.masks_outgoing());
/// assert!(Role::Server.expects_masked_input());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The side that sent the opening handshake request.
    Client,
    /// The side that accepted it.
    Server,
}

impl Role {
    /// Whether frames we send must be masked.
    ///
    /// RFC 6455 §5.1: "a client MUST mask all frames that it sends to the server".
    /// <https://www.rfc-editor.org/rfc/rfc6455#section-5.1>
    ///
    /// ```
    /// assert!(!socketwire::ws::Role::Server.masks_outgoing());
    /// ```
    #[inline]
    pub fn masks_outgoing(self) -> bool {
        self == Role::Client
    }

    /// Whether frames we receive must be masked.
    ///
    /// RFC 6455 §5.1: "A server MUST NOT mask any frames that it sends to the client."
    /// <https://www.rfc-editor.org/rfc/rfc6455#section-5.1>
    ///
    /// ```
    /// assert!(!socketwire::ws::Role::Client.expects_masked_input());
    /// ```
    #[inline]
    pub fn expects_masked_input(self) -> bool {
        self == Role::Server
    }
}
