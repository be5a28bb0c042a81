//! The task behind a [`Client`](super::Client): connects, moves messages
//! between the WebSocket and the two core sessions, arms their timers, reports
//! events, and reconnects with backoff.

use std::sync::Arc;

use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use socketwire::engineio::{
    self as eio, Backoff, ClientTransmit, ClientTransport, EngineIoVersion, MessageData,
    MessageKind, Packet,
};
use socketwire::socketio::{ClientEvent, EngineMessage};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use super::client::{AckError, AckResponder, ClientConfig, Event, Inner, Shared};
use crate::message::Utf8Bytes;
use crate::reconnect::random_unit;
use crate::{Config, Error, Message, WebSocketStream, connect_async_with_config};

/// How one connection ended.
enum End {
    /// `close()` was called; the connection was closed.
    Closed,
    /// The reader dropped the client's event stream.
    Dropped,
    /// Lost: reconnect.
    Lost(Option<Error>),
}

pub(super) struct Driver {
    inner: Arc<Inner>,
    url: String,
    version: EngineIoVersion,
    websocket: Config,
    backoff: Option<Backoff>,
    closing: watch::Receiver<bool>,
    events: mpsc::Sender<Event>,
}

impl Driver {
    pub(super) fn new(
        inner: Arc<Inner>,
        url: String,
        config: ClientConfig,
        closing: watch::Receiver<bool>,
        events: mpsc::Sender<Event>,
    ) -> Driver {
        Driver {
            inner,
            url,
            version: config.engineio_version,
            websocket: config.websocket,
            backoff: config.reconnection,
            closing,
            events,
        }
    }

    pub(super) async fn run(mut self) {
        let gave_up = loop {
            if *self.closing.borrow() {
                break false;
            }
            let attempt = connect_async_with_config(self.url.as_str(), self.websocket.clone());
            let opened = tokio::select! {
                opened = attempt => opened,
                _ = self.closing.changed() => continue,
            };
            let error = match opened {
                Ok((ws, _)) => match self.connection(ws).await {
                    End::Closed => break false,
                    End::Dropped => {
                        self.stop();
                        return;
                    }
                    End::Lost(error) => error,
                },
                Err(error) => Some(error),
            };
            if self.transport_lost().await.is_err() {
                self.stop();
                return;
            }
            let Some(backoff) = self.backoff.as_mut() else {
                break true;
            };
            let Some(retry_in) = backoff.next_delay(random_unit()) else {
                break true;
            };
            let reconnecting = Event::Reconnecting {
                attempt: backoff.attempts(),
                retry_in,
                error,
            };
            if self.events.send(reconnecting).await.is_err() {
                self.stop();
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(retry_in) => {}
                _ = self.closing.changed() => {}
            }
        };
        self.stop();
        let _ = self.events.send(Event::Closed { gave_up }).await;
    }

    /// The task is ending: emits fail from now on, awaited acks fail.
    fn stop(&self) {
        let mut shared = self.inner.lock();
        shared.closed = true;
        for (_, slot) in shared.acks.drain() {
            let _ = slot.send(Err(AckError::Closed));
        }
    }

    /// The transport is gone: connected namespaces report `Disconnected`.
    async fn transport_lost(&mut self) -> Result<(), ()> {
        let events = {
            let mut shared = self.inner.lock();
            shared.session.handle_transport_closed();
            self.take_events(&mut shared).0
        };
        self.report(events).await
    }

    async fn report(&self, events: Vec<Event>) -> Result<(), ()> {
        for event in events {
            self.events.send(event).await.map_err(|_| ())?;
        }
        Ok(())
    }

    /// Runs one WebSocket connection until it is lost or closed.
    async fn connection(&mut self, mut ws: WebSocketStream<TcpStream>) -> End {
        let mut engine = eio::ClientSession::new(self.version, ClientTransport::WebSocket);
        let mut out = BytesMut::new();
        loop {
            if let Err(end) = self.pump(&mut engine, &mut ws, &mut out).await {
                return end;
            }
            let deadline = {
                let shared = self.inner.lock();
                [engine.poll_timeout(), shared.session.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min()
            };
            let timer = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(self.inner.instant(at).into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = self.closing.changed() => return self.close(engine, ws, out).await,
                item = ws.next() => {
                    let now = self.inner.now();
                    let fed = match item {
                        Some(Ok(Message::Text(text))) => Packet::decode_text(text.as_str(), self.version)
                            .and_then(|packet| engine.handle_packet(packet, now)),
                        Some(Ok(Message::Binary(data))) => Packet::decode_binary(&data, self.version)
                            .and_then(|packet| engine.handle_packet(packet, now)),
                        Some(Ok(Message::Close(_))) | None => return End::Lost(None),
                        Some(Ok(_)) => Ok(()),
                        Some(Err(error)) => return End::Lost(Some(error)),
                    };
                    if fed.is_err() {
                        // The session reported `Closed(ParseError)`; the pump ends it.
                        engine.handle_transport_error();
                    }
                }
                () = self.inner.wake.notified() => {}
                () = timer => {
                    let now = self.inner.now();
                    engine.handle_timeout(now);
                    self.inner.lock().session.handle_timeout(now);
                }
            }
        }
    }

    /// Leaves every namespace, then closes the Engine.IO session and the
    /// WebSocket (the close handshake, bounded by its close timeout).
    async fn close(
        &mut self,
        mut engine: eio::ClientSession,
        mut ws: WebSocketStream<TcpStream>,
        mut out: BytesMut,
    ) -> End {
        let left = {
            let mut shared = self.inner.lock();
            // Before the namespaces go (which the core reports as ack timeouts).
            for (_, slot) in shared.acks.drain() {
                let _ = slot.send(Err(AckError::Closed));
            }
            let namespaces = std::mem::take(&mut shared.namespaces);
            let mut left = Vec::new();
            for namespace in namespaces {
                if shared.session.is_connected(&namespace) {
                    left.push(Event::Disconnected {
                        namespace: namespace.clone(),
                        reason: socketwire::socketio::DisconnectReason::ClientDisconnect,
                    });
                }
                let _ = shared.session.disconnect(&namespace);
                shared.forget(&namespace);
            }
            left
        };
        // The DISCONNECT packets go out before the close.
        let _ = self.pump(&mut engine, &mut ws, &mut out).await;
        engine.close();
        let _ = self.pump(&mut engine, &mut ws, &mut out).await;
        let _ = ws.send(Message::Close(None)).await;
        while let Some(Ok(_)) = ws.next().await {}
        if self.report(left).await.is_err() {
            return End::Dropped;
        }
        End::Closed
    }

    /// Moves everything that is ready: Engine.IO events into the Socket.IO
    /// session, its messages into the Engine.IO session, its events to the
    /// reader, and the Engine.IO output onto the WebSocket.
    async fn pump(
        &mut self,
        engine: &mut eio::ClientSession,
        ws: &mut WebSocketStream<TcpStream>,
        out: &mut BytesMut,
    ) -> Result<(), End> {
        let (events, lost) = {
            let now = self.inner.now();
            let mut shared = self.inner.lock();
            let mut engine_closed = false;
            while let Some(event) = engine.poll_event() {
                match event {
                    eio::ClientEvent::Open(_) => {
                        if let Some(backoff) = self.backoff.as_mut() {
                            backoff.reset();
                        }
                        shared.session.handle_transport_reconnected();
                    }
                    // A Socket.IO protocol error queues `ClientEvent::Close`.
                    eio::ClientEvent::Message(MessageData::Text(text)) => {
                        let _ = shared.session.handle_text(&text, now);
                    }
                    eio::ClientEvent::Message(MessageData::Binary(data)) => {
                        let _ = shared.session.handle_binary(data, now);
                    }
                    eio::ClientEvent::Closed(_) => engine_closed = true,
                    _ => {}
                }
            }
            while let Some(message) = shared.session.poll_message() {
                // Fails only once the Engine.IO session is closed; the
                // transport is being dropped then.
                let _ = match message {
                    EngineMessage::Text(text) => {
                        engine.send_text(std::str::from_utf8(&text).unwrap_or_default())
                    }
                    EngineMessage::Binary(data) => engine.send_binary(data),
                };
            }
            let (events, protocol_error) = self.take_events(&mut shared);
            (events, engine_closed || protocol_error)
        };
        self.report(events).await.map_err(|()| End::Dropped)?;
        let mut wrote = false;
        let mut close_transport = false;
        while let Some(transmit) = engine.poll_transmit(out) {
            let data = out.split().freeze();
            let message = match transmit {
                ClientTransmit::WebSocket(MessageKind::Text)
                | ClientTransmit::Probe(MessageKind::Text) => {
                    Message::Text(Utf8Bytes::from_validated(data))
                }
                ClientTransmit::WebSocket(MessageKind::Binary)
                | ClientTransmit::Probe(MessageKind::Binary) => Message::Binary(data),
                ClientTransmit::CloseTransport => {
                    close_transport = true;
                    break;
                }
                // No polling on this transport.
                ClientTransmit::Post => continue,
            };
            ws.feed(message).await.map_err(|e| End::Lost(Some(e)))?;
            wrote = true;
        }
        if wrote {
            ws.flush().await.map_err(|e| End::Lost(Some(e)))?;
        }
        if lost && !close_transport {
            return Err(End::Lost(None));
        }
        Ok(())
    }

    /// Turns the Socket.IO session's events into the reader's, settling acks
    /// on the way; also says whether the session asked to close the transport.
    fn take_events(&self, shared: &mut Shared) -> (Vec<Event>, bool) {
        let mut events = std::mem::take(&mut shared.local_events);
        let mut close = false;
        while let Some(event) = shared.session.poll_event() {
            match event {
                ClientEvent::Connected { namespace, sid } => {
                    shared.buffered.remove(&namespace);
                    events.push(Event::Connected { namespace, sid });
                }
                ClientEvent::ConnectError { namespace, data } => {
                    shared.forget(&namespace);
                    events.push(Event::ConnectError { namespace, data });
                }
                ClientEvent::Event {
                    namespace,
                    name,
                    args,
                    ack_id,
                } => {
                    let ack = ack_id.map(|id| AckResponder {
                        namespace: namespace.clone(),
                        id,
                        inner: self.inner.clone(),
                    });
                    events.push(Event::Message {
                        namespace,
                        name,
                        args,
                        ack,
                    });
                }
                ClientEvent::Ack {
                    namespace,
                    id,
                    args,
                } => {
                    if let Some(slot) = shared.acks.remove(&(namespace, id)) {
                        let _ = slot.send(Ok(args));
                    }
                }
                ClientEvent::AckTimeout { namespace, id } => {
                    if let Some(slot) = shared.acks.remove(&(namespace, id)) {
                        let _ = slot.send(Err(AckError::Timeout));
                    }
                }
                ClientEvent::Disconnected { namespace, reason } => {
                    if reason != socketwire::socketio::DisconnectReason::TransportClose {
                        // The server's DISCONNECT: the core dropped the namespace.
                        shared.forget(&namespace);
                    }
                    events.push(Event::Disconnected { namespace, reason });
                }
                ClientEvent::Close(_) => close = true,
                _ => {}
            }
        }
        (events, close)
    }
}
