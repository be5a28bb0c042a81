//! Test support: an in-memory client/server pair and frame builders.
#![allow(dead_code, unreachable_pub)]

use bytes::BytesMut;
use socketwire::ws::{Config, Connection, Event, FrameHeader, Opcode, mask::apply_mask};

/// A client and a server connected by memory, no sockets.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
}

impl Pair {
    pub fn new(config: Config) -> Self {
        let mut n = 0u32;
        Pair {
            client: Connection::client(config.clone(), move || {
                n = n.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                n.to_be_bytes()
            }),
            server: Connection::server(config),
        }
    }

    /// Moves the client's output to the server and returns the server's events.
    pub fn deliver_to_server(&mut self) -> Vec<Event> {
        let mut out = BytesMut::new();
        self.client.poll_transmit(&mut out);
        self.server.handle_input(&out);
        drain(&mut self.server)
    }

    /// Moves the server's output to the client and returns the client's events.
    pub fn deliver_to_client(&mut self) -> Vec<Event> {
        let mut out = BytesMut::new();
        self.server.poll_transmit(&mut out);
        self.client.handle_input(&out);
        drain(&mut self.client)
    }
}

pub fn drain(c: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

/// One frame's bytes, masked with `mask` if given.
pub fn frame(fin: bool, rsv: u8, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        fin,
        rsv1: rsv & 4 != 0,
        rsv2: rsv & 2 != 0,
        rsv3: rsv & 1 != 0,
        opcode: Opcode::from(opcode),
        mask,
        payload_len: payload.len() as u64,
    };
    let mut out = Vec::new();
    header.write(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key, 0);
    }
    out
}

/// A masked client frame (what a server receives).
pub fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(fin, 0, opcode, Some([0x37, 0xfa, 0x21, 0x3d]), payload)
}
