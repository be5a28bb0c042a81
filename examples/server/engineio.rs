//! `/engine.io/`: the example's Engine.IO echo on socketwire-tokio's
//! `EngineIo` server (its tower service is mounted at `/engine.io/`): every
//! message a client sends, text or binary, comes back.
//!
//! The bounds are the server's (`EngineIoConfig`, each with its test in
//! socketwire-tokio), set from the same flags as `/socket.io/`'s: sessions
//! each lock only themselves; `--max-payload` caps a message, a POST body
//! (`413`) and a WebSocket frame (1009); a POST body must arrive within
//! `--body-timeout` (`408`); an echo that would take a session past
//! `--max-backpressure`, or a WebSocket writer that fills, closes the
//! session; sids are 128 CSPRNG bits.

use socketwire_tokio::engineio::{EngineIo, EngineIoService, EngineSocket, MessageData};

use crate::Options;

/// The echo server, configured as the Socket.IO one is.
pub fn server(options: &Options) -> EngineIoService {
    let (service, io) = EngineIo::new(crate::socketio::config(options).engine_config());
    io.on_connection(|socket: EngineSocket| async move {
        socket.on_message(|socket: EngineSocket, message: MessageData| async move {
            // Refused only past the session's caps, which then closes it.
            let _ = socket.send(message);
        });
    });
    service
}
