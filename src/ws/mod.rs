//! RFC 6455 WebSocket: frames, masking, message reassembly and the connection
//! state machine.
//!
//! Layers, lowest first: [`frame`] (bytes ↔ [`FrameHeader`], [`mask`]),
//! [`message`] (reassembly and incremental UTF-8), [`connection`] (close
//! handshake, ping/pong, timers). Lower layers never import higher ones. The
//! connection's read path (one gate that checks every frame header against the
//! RFC and the [`Limits`]) and its transmit queue are private parts of
//! [`Connection`], in files of their own.
//!
//! Everything a user of [`Connection`] names is re-exported here:
//!
//! ```
//! use socketwire::ws::{
//!     ClosedBy, CloseCode, Config, Connection, Event, EventRef, Limits, MessageKind,
//! };
//! let config = Config { limits: Limits { max_message_size: 1 << 20, ..Limits::default() }, ..Config::default() };
//! let mut server = Connection::server(config);
//! server.send_shared(MessageKind::Text, bytes::Bytes::from_static(b"hi")).unwrap();
//! server.handle_eof();
//! let Some(EventRef::Owned(Event::Closed { code, by })) = server.poll_event_borrowed() else { panic!() };
//! assert_eq!((code, by), (CloseCode::ABNORMAL, ClosedBy::Eof));
//! ```

pub mod close;
pub mod connection;
pub mod error;
pub mod extension;
pub mod frame;
pub mod mask;
pub mod message;
mod prepared;
mod read;
mod role;
mod transmit;

pub use close::CloseCode;
#[cfg(feature = "getrandom")]
pub use connection::OsRandomMask;
pub use connection::{ClosedBy, Config, Connection, Event, EventRef, Fragment, MaskSource, State};
pub use error::{ApiMisuse, ProtocolError};
pub use frame::{FrameHeader, Opcode};
pub use message::{Limits, MessageKind};
pub use prepared::PreparedMessage;
pub use role::Role;
