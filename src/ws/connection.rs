//! The WebSocket connection state machine (placeholder while it is written).

use alloc::boxed::Box;
use bytes::Bytes;

use super::close::CloseCode;

/// Limits and behaviour of a connection.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest frame payload accepted.
    pub max_frame_size: u64,
}

/// Connection state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Open.
    Open,
}

/// Something that happened on the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A text message.
    Text(Bytes),
    /// A close.
    Closed(CloseCode),
}

/// A source of mask keys.
pub trait MaskSource: Send {
    /// The next key.
    fn next_mask(&mut self) -> [u8; 4];
}

/// A connection.
pub struct Connection {
    _mask: Option<Box<dyn MaskSource>>,
}
