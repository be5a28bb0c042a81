//! Socket.IO v4 and v5: packets, binary attachments, sessions and rooms.
#![cfg(feature = "json")]

mod binary;
mod client;
mod error;
mod incoming;
mod packet;
mod rooms;
mod server;
mod value;

pub use binary::{BinaryPacket, EncodedPacket, EngineMessage, Reassembled, Reassembler, to_value};
pub use client::{ClientConfig, ClientEvent, ClientSession};
pub use error::{ApiMisuse, Error, InvalidPayload};
pub use packet::{DecoderConfig, MAX_ACK_ID, Packet, PacketType, ProtocolVersion, RESERVED_EVENTS};
pub use rooms::{Broadcast, BroadcastPacket, RoomRegistry};
pub use server::{CloseReason, DisconnectReason, ServerConfig, ServerEvent, ServerSession};
pub use value::Value;
