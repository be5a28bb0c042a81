#![allow(unreachable_pub)]
//! The simulated network: HTTP requests and responses that travel on their own
//! (any order), WebSocket links whose messages keep their order per direction,
//! and delivery times drawn from the schedule's RNG.

use bytes::Bytes;
use core::time::Duration;
use socketwire::engineio::{Method, Response, WebSocketId};

/// A simulated WebSocket connection, named by its index in [`Net::links`].
pub type LinkId = usize;

/// What kind of polling request an HTTP exchange is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpKind {
    /// The handshake GET (no sid).
    Handshake,
    /// A long-poll GET.
    Get,
    /// A POST of a payload.
    Post,
}

/// One WebSocket message, or the end of the link, in either direction.
#[derive(Debug)]
pub enum Ws {
    Text(String),
    Binary(Bytes),
    Close,
}

/// Something travelling to the server.
#[derive(Debug)]
pub enum ToServer {
    Http {
        client: usize,
        conn: u64,
        kind: HttpKind,
        method: Method,
        query: String,
        body: Bytes,
    },
    /// The client dropped the connection of the GET it had in flight.
    PollAborted {
        client: usize,
        conn: u64,
    },
    WsOpen {
        link: LinkId,
        query: String,
    },
    Ws {
        link: LinkId,
        message: Ws,
    },
}

/// Something travelling to a client.
#[derive(Debug)]
pub enum ToClient {
    /// `None`: the connection failed (dropped request or response, reset).
    Http {
        client: usize,
        conn: u64,
        kind: HttpKind,
        response: Option<Response>,
    },
    /// The WebSocket handshake's outcome.
    WsOpened {
        link: LinkId,
        accepted: bool,
    },
    Ws {
        link: LinkId,
        message: Ws,
    },
}

#[derive(Debug)]
pub enum Payload {
    ToServer(ToServer),
    ToClient(ToClient),
}

impl Payload {
    /// The link and direction whose order this payload keeps, if any.
    fn channel(&self) -> Option<(LinkId, bool)> {
        match self {
            Payload::ToServer(ToServer::WsOpen { link, .. } | ToServer::Ws { link, .. }) => {
                Some((*link, true))
            }
            Payload::ToClient(ToClient::WsOpened { link, .. } | ToClient::Ws { link, .. }) => {
                Some((*link, false))
            }
            _ => None,
        }
    }

    /// Whether this is an HTTP exchange the network may lose.
    pub fn is_http(&self) -> bool {
        matches!(
            self,
            Payload::ToServer(ToServer::Http { .. }) | Payload::ToClient(ToClient::Http { .. })
        )
    }
}

#[derive(Debug)]
pub struct Item {
    pub at: Duration,
    pub payload: Payload,
}

/// One simulated WebSocket: who opened it, and what the server made of it.
#[derive(Debug)]
pub struct Link {
    pub client: usize,
    pub conn: u64,
    /// The session and socket id the server attached it as.
    pub server: Option<(String, WebSocketId)>,
    /// The server incarnation that accepted it.
    pub epoch: u64,
    /// The server side still reads and writes it.
    pub server_open: bool,
    /// The client side still reads and writes it.
    pub client_open: bool,
    /// Opened by someone else with the client's sid (another tab, a
    /// replayed URL): it never speaks, and what the server sends on it is
    /// read by no one.
    pub stray: bool,
}

#[derive(Debug, Default)]
pub struct Net {
    /// In flight, in send order (which is each link's order).
    pub items: Vec<Item>,
    pub links: Vec<Link>,
}

impl Net {
    pub fn send(&mut self, at: Duration, payload: Payload) {
        self.items.push(Item { at, payload });
    }

    pub fn new_link(&mut self, client: usize, conn: u64, stray: bool) -> LinkId {
        self.links.push(Link {
            client,
            conn,
            server: None,
            epoch: 0,
            server_open: false,
            client_open: true,
            stray,
        });
        self.links.len() - 1
    }

    /// Indexes of the items deliverable at `now`: due, and first of their
    /// link direction.
    pub fn ready(&self, now: Duration) -> Vec<usize> {
        let mut seen: Vec<(LinkId, bool)> = Vec::new();
        let mut ready = Vec::new();
        for (i, item) in self.items.iter().enumerate() {
            let channel = item.payload.channel();
            if let Some(channel) = channel {
                if seen.contains(&channel) {
                    continue;
                }
                seen.push(channel);
            }
            if item.at <= now {
                ready.push(i);
            }
        }
        ready
    }

    /// The earliest delivery time of anything in flight.
    pub fn next_at(&self) -> Option<Duration> {
        self.items.iter().map(|item| item.at).min()
    }

    pub fn take(&mut self, index: usize) -> Payload {
        self.items.remove(index).payload
    }
}
