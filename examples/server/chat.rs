//! The chat page's Socket.IO namespaces, registered once at start-up.

use socketwire_tokio::socketio::server::SocketIo;

/// Registers the chat page's namespace handlers on `io`.
pub fn register(io: &SocketIo) {
    let _ = io;
}
