//! [`WebSocketCodec`]: the core connection as a tokio-util
//! [`Decoder`] + [`Encoder`] of [`Message`]s (feature `codec`), for a transport
//! already in a [`Framed`](tokio_util::codec::Framed) after an opening
//! handshake done elsewhere.
//!
//! A codec only runs when it is called: it cannot write by itself, and has no
//! clock. So, unlike [`WebSocketStream`](crate::WebSocketStream):
//!
//! - **Replies wait for the next encode.** The pongs answering pings and the
//!   close answering the peer's (or reporting a protocol error, with its code)
//!   are queued in the connection when the decoder reads what caused them, and
//!   written in front of the next message encoded. To write them without a
//!   message, send [`Replies`] (`framed.send(Replies)`); after the decoder gave
//!   a `Ping`, a `Close` or an error, do that (or send something) promptly.
//!   [`WebSocketCodec::has_replies`] says whether any wait. The queue is the
//!   core's: at most [`MAX_QUEUED_PONGS`](socketwire::ws::connection::MAX_QUEUED_PONGS) pongs,
//!   plus the latest one when messages come between the pings, and one close.
//! - **No end of stream.** A decoder cannot end a `Framed` stream: after the
//!   close handshake (or an error) decoding gives nothing more, and the stream
//!   waits for the transport's end. A server writes its replies and then drops
//!   the transport once [`WebSocketCodec::is_closed`]; a client waits for the
//!   server to close it.
//! - **No timers.** [`Config`]'s keepalive, idle and close timeouts do not run;
//!   wrap reads in `tokio::time::timeout` where a deadline is needed.
//!
//! The codec encodes two item types, so a `Framed` is a `Sink` of both: name
//! the one meant where nothing else says it (`SinkExt::<Message>::close(&mut
//! framed)`; `send` says it by its argument).
//!
//! Limits are the core's ([`Config::limits`]): a frame or message past them is
//! a decode error ([`Error::Protocol`], close code 1009) with its close queued.
//! After the connection closed, decoding gives `None` and drops what arrives.
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//! use socketwire_tokio::codec::{Replies, WebSocketCodec};
//! use socketwire_tokio::{Config, Message, Role};
//! use tokio_util::codec::Framed;
//!
//! # async fn run(tcp: tokio::net::TcpStream) -> Result<(), socketwire_tokio::Error> {
//! // `tcp` has been through the opening handshake already.
//! let mut framed = Framed::new(tcp, WebSocketCodec::new(Role::Server, &Config::default()));
//! while let Some(message) = framed.next().await {
//!     match message {
//!         Ok(m @ (Message::Text(_) | Message::Binary(_))) => framed.send(m).await?,
//!         // The pong, or the close reply, is queued: write it.
//!         Ok(_) => {
//!             framed.send(Replies).await?;
//!             if framed.codec().is_closed() {
//!                 return Ok(()); // dropping `framed` closes the TCP connection
//!             }
//!         }
//!         Err(error) => {
//!             framed.send(Replies).await?; // the close with the error's code
//!             return Err(error);
//!         }
//!     }
//! }
//! # Ok(()) }
//! ```

use bytes::BytesMut;
use socketwire::ws::{Connection, OsRandomMask, Role, State};
use tokio_util::codec::{Decoder, Encoder};

use crate::stream::{end_of, message_of, queue};
use crate::{Config, Error, Message};

/// A WebSocket connection as a [`Decoder`] and [`Encoder`] of [`Message`]s;
/// see the [module docs](self) for what it does and does not do by itself.
///
/// ```
/// use bytes::BytesMut;
/// use socketwire_tokio::codec::WebSocketCodec;
/// use socketwire_tokio::{Config, Message, Role};
/// use tokio_util::codec::{Decoder, Encoder};
///
/// let mut client = WebSocketCodec::new(Role::Client, &Config::default());
/// let mut server = WebSocketCodec::new(Role::Server, &Config::default());
/// let mut wire = BytesMut::new();
/// client.encode(Message::text("hello"), &mut wire).unwrap();
/// assert_eq!(server.decode(&mut wire).unwrap(), Some(Message::text("hello")));
/// ```
#[derive(Debug)]
pub struct WebSocketCodec {
    conn: Connection,
}

/// What [`WebSocketCodec`] encodes to write the replies the decoder queued
/// (pongs, the close) without a message: `framed.send(Replies)`.
///
/// ```
/// use bytes::BytesMut;
/// use socketwire_tokio::codec::{Replies, WebSocketCodec};
/// use socketwire_tokio::{Config, Message, Role};
/// use tokio_util::codec::{Decoder, Encoder};
///
/// let mut server = WebSocketCodec::new(Role::Server, &Config::default());
/// let mut input = BytesMut::from(&[0x89, 0x80, 0, 0, 0, 0][..]); // a masked empty ping
/// assert!(matches!(server.decode(&mut input).unwrap(), Some(Message::Ping(_))));
/// assert!(server.has_replies());
/// let mut out = BytesMut::new();
/// server.encode(Replies, &mut out).unwrap();
/// assert_eq!(&out[..], &[0x8a, 0x00]); // the pong
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Replies;

impl WebSocketCodec {
    /// A codec for a connection in `role` with no extension, with
    /// [`Config::limits`]. A client masks with keys from the OS's random source,
    /// as every client of this crate does.
    ///
    /// ```
    /// use socketwire_tokio::{Config, Role, codec::WebSocketCodec};
    /// let codec = WebSocketCodec::new(Role::Client, &Config::default());
    /// assert_eq!(codec.connection().role(), Role::Client);
    /// ```
    #[must_use]
    pub fn new(role: Role, config: &Config) -> WebSocketCodec {
        let core = config.connection_config();
        let conn = match role {
            Role::Client => Connection::client(core, OsRandomMask),
            Role::Server => Connection::server(core),
        };
        WebSocketCodec::from_connection(conn)
    }

    /// A codec over a connection made by hand (say, with the permessage-deflate
    /// extension a handshake of your own negotiated).
    ///
    /// ```
    /// use socketwire_tokio::codec::WebSocketCodec;
    /// let conn = socketwire::ws::Connection::server(socketwire::ws::Config::default());
    /// let codec = WebSocketCodec::from_connection(conn);
    /// assert!(!codec.connection().has_extension());
    /// ```
    #[must_use]
    pub fn from_connection(conn: Connection) -> WebSocketCodec {
        WebSocketCodec { conn }
    }

    /// The sans-IO connection, for its state, role and extension.
    ///
    /// ```
    /// use socketwire_tokio::{Config, Role, codec::WebSocketCodec};
    /// let codec = WebSocketCodec::new(Role::Server, &Config::default());
    /// assert_eq!(codec.connection().state(), socketwire::ws::State::Open);
    /// ```
    #[must_use]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Whether replies the decoder queued (pongs, a close) wait for the next
    /// encode.
    ///
    /// ```
    /// use socketwire_tokio::{Config, Role, codec::WebSocketCodec};
    /// assert!(!WebSocketCodec::new(Role::Server, &Config::default()).has_replies());
    /// ```
    #[must_use]
    pub fn has_replies(&self) -> bool {
        self.conn.wants_transmit()
    }

    /// Whether the connection is over (both closes exchanged, a protocol error,
    /// the end of input): once the replies are written, close the transport.
    ///
    /// ```
    /// use socketwire_tokio::{Config, Role, codec::WebSocketCodec};
    /// assert!(!WebSocketCodec::new(Role::Server, &Config::default()).is_closed());
    /// ```
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.conn.state() == State::Closed
    }

    /// The next message the connection has, or how it ended.
    fn next_message(&mut self) -> Result<Option<Message>, Error> {
        while let Some(event) = self.conn.poll_event() {
            if let socketwire::ws::Event::Closed { by, .. } = event {
                return end_of(by).map_or(Ok(None), Err);
            }
            if let Some(message) = message_of(event) {
                return Ok(Some(message));
            }
        }
        Ok(None)
    }
}

impl Decoder for WebSocketCodec {
    type Item = Message;
    type Error = Error;

    /// Moves `src` into the connection (without a copy when it can) and gives
    /// the next whole message, if one is complete. A protocol error (or a limit
    /// passed) is an [`Error::Protocol`] once, with the close queued; after the
    /// close, `None`.
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, Error> {
        if self.conn.state() == State::Closed {
            // The connection ignores input once closed; so does the codec.
            src.clear();
            return self.next_message();
        }
        if !src.is_empty() {
            self.conn.input_buffer().unsplit(src.split());
        }
        self.next_message()
    }

    /// As [`decode`](WebSocketCodec::decode); then the end of input: without a
    /// finished close handshake, [`Error::Aborted`].
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Message>, Error> {
        if let Some(message) = self.decode(src)? {
            return Ok(Some(message));
        }
        self.conn.handle_eof();
        self.next_message()
    }
}

impl Encoder<Message> for WebSocketCodec {
    type Error = Error;

    /// Writes the queued replies, then the message. Sending once the connection
    /// is closing or closed is [`Error::AlreadyClosed`]; the replies are still
    /// written to `dst` (a `Framed` send that fails does not flush them: send
    /// [`Replies`]).
    fn encode(&mut self, message: Message, dst: &mut BytesMut) -> Result<(), Error> {
        let queued = queue(&mut self.conn, message);
        self.conn.poll_transmit(dst);
        queued
    }
}

impl Encoder<Replies> for WebSocketCodec {
    type Error = Error;

    /// Writes the queued replies (nothing if none wait).
    fn encode(&mut self, _: Replies, dst: &mut BytesMut) -> Result<(), Error> {
        self.conn.poll_transmit(dst);
        Ok(())
    }
}
