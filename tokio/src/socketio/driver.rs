//! The task behind a [`Client`](super::Client): connects, moves messages
//! between the transport (a WebSocket, or long-polling requests) and the two
//! core sessions, arms their timers, reports events, and reconnects with
//! backoff.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use socketwire::engineio::{
    self as eio, Backoff, ClientTransmit, ClientTransport, EngineIoVersion, MessageData,
    MessageKind, Packet, PayloadDecoder, PayloadFormat, PayloadLimits,
};
use socketwire::socketio::{ClientEvent, DisconnectReason, EngineMessage};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use super::client::{
    AckError, AckResponder, ClientConfig, Event, Inner, Shared, Target, Transport,
};
use crate::message::Utf8Bytes;
use crate::reconnect::random_unit;
use crate::{
    Config, Connector, Error, MaybeTlsStream, Message, WebSocketStream,
    connect_async_tls_with_config,
};

/// How one connection ended.
enum End {
    /// `close()` was called; the connection was closed.
    Closed,
    /// The reader dropped the client's event stream.
    Dropped,
    /// Lost: reconnect.
    Lost(Option<Error>),
}

/// A text message the engine encoded: checked as UTF-8 here once, so the
/// WebSocket does not check it again. (The engine builds text from `str`s
/// only; a failure would be an engine bug, reported as the send misuse it is.)
fn engine_text(data: Bytes) -> Result<Utf8Bytes, Error> {
    Utf8Bytes::try_from(data).map_err(|_| Error::Misuse(socketwire::ws::ApiMisuse::InvalidUtf8))
}

/// The client's WebSocket (TLS for `https://` and `wss://` URLs).
type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One HTTP/1.1 connection of the polling transport.
type HttpConnection = SendRequest<Full<Bytes>>;

/// A polling response: the connection, back for the next request, and the
/// body in the format its `Content-Type` says.
type HttpAnswer = (HttpConnection, Bytes, PayloadFormat);

/// A polling request under way.
type HttpRequest = Pin<Box<dyn Future<Output = Result<HttpAnswer, Error>> + Send>>;

/// How long closing may wait for the last `POST` (the `close` packet).
const CLOSE_POST_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) struct Driver {
    inner: Arc<Inner>,
    target: Target,
    connector: Connector,
    version: EngineIoVersion,
    transport: Transport,
    websocket: Config,
    max_polling_body: usize,
    backoff: Option<Backoff>,
    closing: watch::Receiver<bool>,
    events: mpsc::Sender<Event>,
}

impl Driver {
    pub(super) fn new(
        inner: Arc<Inner>,
        target: Target,
        connector: Connector,
        config: ClientConfig,
        closing: watch::Receiver<bool>,
        events: mpsc::Sender<Event>,
    ) -> Driver {
        Driver {
            inner,
            target,
            connector,
            version: config.engineio_version,
            transport: config.transport,
            websocket: config.websocket,
            max_polling_body: config.max_polling_body,
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
            let end = match self.transport {
                Transport::Polling => self.polling(false).await,
                Transport::PollingThenWebSocket => self.polling(true).await,
                Transport::WebSocket => self.websocket().await,
            };
            let error = match end {
                End::Closed => break false,
                End::Dropped => {
                    self.stop();
                    return;
                }
                End::Lost(error) => error,
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

    /// Opens a WebSocket and runs it until it is lost or closed.
    async fn websocket(&mut self) -> End {
        let url = self.target.websocket_url(self.version);
        let connector = Some(self.connector.clone());
        let attempt =
            connect_async_tls_with_config(url.as_str(), self.websocket.clone(), connector);
        let opened = tokio::select! {
            opened = attempt => opened,
            _ = self.closing.changed() => return End::Closed,
        };
        match opened {
            Ok((ws, _)) => self.websocket_connection(ws).await,
            Err(error) => End::Lost(Some(error)),
        }
    }

    /// The session's next deadline, either layer's.
    fn deadline(&self, engine: &eio::ClientSession) -> impl Future<Output = ()> + use<> {
        let shared = self.inner.lock();
        let at = [engine.poll_timeout(), shared.session.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .map(|at| self.inner.instant(at));
        async move {
            match at {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        }
    }

    /// Both layers' deadlines up to now.
    fn fire_timers(&self, engine: &mut eio::ClientSession) {
        let now = self.inner.now();
        engine.handle_timeout(now);
        self.inner.lock().session.handle_timeout(now);
    }

    /// Runs one WebSocket connection until it is lost or closed.
    async fn websocket_connection(&mut self, ws: Ws) -> End {
        let engine = eio::ClientSession::new(self.version, ClientTransport::WebSocket);
        self.websocket_session(engine, ws).await
    }

    /// Runs `engine` on `ws` (opened on it, or upgraded to it) until it is
    /// lost or closed.
    async fn websocket_session(&mut self, mut engine: eio::ClientSession, mut ws: Ws) -> End {
        let mut out = BytesMut::new();
        loop {
            if let Err(end) = self.pump(&mut engine, &mut ws, &mut out).await {
                return end;
            }
            let timer = self.deadline(&engine);
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
                () = timer => self.fire_timers(&mut engine),
            }
        }
    }

    /// Leaves every namespace, then closes the Engine.IO session and the
    /// WebSocket (the close handshake, bounded by its close timeout).
    async fn close(
        &mut self,
        mut engine: eio::ClientSession,
        mut ws: Ws,
        mut out: BytesMut,
    ) -> End {
        let left = self.leave_all();
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

    /// `close()`: fails the awaited acks, leaves every namespace (the
    /// DISCONNECTs are queued) and returns the events to report once closed.
    fn leave_all(&self) -> Vec<Event> {
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
                    reason: DisconnectReason::ClientDisconnect,
                });
            }
            let _ = shared.session.disconnect(&namespace);
            shared.forget(&namespace);
        }
        left
    }

    /// Moves everything that is ready: Engine.IO events into the Socket.IO
    /// session, its messages into the Engine.IO session, its events to the
    /// reader, and the Engine.IO output onto the WebSocket.
    async fn pump(
        &mut self,
        engine: &mut eio::ClientSession,
        ws: &mut Ws,
        out: &mut BytesMut,
    ) -> Result<(), End> {
        let lost = self.exchange(engine).await?;
        let mut wrote = false;
        let mut close_transport = false;
        while let Some(transmit) = engine.poll_transmit(out) {
            let data = out.split().freeze();
            let message = match transmit {
                ClientTransmit::WebSocket(MessageKind::Text)
                | ClientTransmit::Probe(MessageKind::Text) => {
                    Message::Text(engine_text(data).map_err(|e| End::Lost(Some(e)))?)
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

    /// The transport-independent part of a pump: Engine.IO events into the
    /// Socket.IO session, its messages into the Engine.IO session, its events
    /// to the reader. `Ok(true)`: the Engine.IO session closed or the server
    /// broke the Socket.IO protocol, drop the transport.
    async fn exchange(&mut self, engine: &mut eio::ClientSession) -> Result<bool, End> {
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
        Ok(lost)
    }

    /// Turns the Socket.IO session's events into the reader's, settling acks
    /// on the way; also says whether the session asked to close the transport.
    fn take_events(&self, shared: &mut Shared) -> (Vec<Event>, bool) {
        let mut events = std::mem::take(&mut shared.local_events);
        let mut close = false;
        while let Some(event) = shared.session.poll_event() {
            match event {
                ClientEvent::Connected { namespace, sid } => {
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
                    if reason != DisconnectReason::TransportClose {
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

/// Where and how the polling transport connects.
struct HttpEndpoint {
    address: String,
    host: String,
    tls: bool,
    connector: Connector,
}

/// Opens one HTTP/1.1 connection (TLS for `https://`) for the polling transport.
async fn http_connection(endpoint: &HttpEndpoint) -> Result<HttpConnection, Error> {
    let tcp = TcpStream::connect(&endpoint.address).await?;
    tcp.set_nodelay(true)?;
    let stream = endpoint
        .connector
        .wrap(tcp, &endpoint.host, endpoint.tls)
        .await?;
    let (send, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(http_error)?;
    // Ends when `send` is dropped or the server closes.
    tokio::spawn(connection);
    Ok(send)
}

impl Driver {
    /// A `GET` (empty `body`) or `POST` on `connection`; the response body
    /// is read up to `max_body` bytes.
    fn request(
        &self,
        mut connection: HttpConnection,
        engine: &eio::ClientSession,
        body: Option<Bytes>,
        max_body: usize,
    ) -> HttpRequest {
        let target = self
            .target
            .request_target(&engine.query(ClientTransport::Polling));
        let mut request = http::Request::builder()
            .uri(target)
            .header(http::header::HOST, &self.target.authority);
        request = match &body {
            Some(_) => request.method(http::Method::POST).header(
                http::header::CONTENT_TYPE,
                PayloadFormat::text(self.version).content_type(),
            ),
            None => request.method(http::Method::GET),
        };
        let request = request.body(Full::new(body.unwrap_or_default()));
        let text = PayloadFormat::text(self.version);
        Box::pin(async move {
            let request = request.map_err(|_| Error::InvalidUrl("not a valid request target"))?;
            connection.ready().await.map_err(http_error)?;
            let response = connection.send_request(request).await.map_err(http_error)?;
            if !response.status().is_success() {
                return Err(Error::Refused(response.status()));
            }
            // An Engine.IO 3 server answers a client that did not ask for
            // base64 (`b64=1`) in the binary framing when it has binary data.
            let binary = PayloadFormat::V3Binary.content_type();
            let format = match response.headers().get(http::header::CONTENT_TYPE) {
                Some(value) if value.as_bytes() == binary.as_bytes() => PayloadFormat::V3Binary,
                _ => text,
            };
            let body = Limited::new(response.into_body(), max_body)
                .collect()
                .await
                .map_err(|e| Error::Io(std::io::Error::other(e)))?
                .to_bytes();
            Ok((connection, body, format))
        })
    }

    /// Runs the long-polling transport until it is lost or closed: one `GET`
    /// always parked (the first one is the handshake), one `POST` at a time
    /// for what the session queued. With `upgrade`, a WebSocket is probed once
    /// the server offers it; after its `3probe` polling pauses (no new `GET`)
    /// and the answer goes to the session only once no request is under way,
    /// as socket.io-client does, then the session goes on over the WebSocket.
    async fn polling(&mut self, upgrade: bool) -> End {
        let endpoint = HttpEndpoint {
            address: self.target.address.clone(),
            host: self.target.host.clone(),
            tls: self.target.tls,
            connector: self.connector.clone(),
        };
        let connections = async move {
            let get = http_connection(&endpoint).await?;
            Ok::<_, Error>((get, http_connection(&endpoint).await?))
        };
        let (get_connection, post_connection) = tokio::select! {
            opened = connections => match opened {
                Ok(connections) => connections,
                Err(error) => return End::Lost(Some(error)),
            },
            _ = self.closing.changed() => return End::Closed,
        };
        let mut engine = eio::ClientSession::new(self.version, ClientTransport::Polling);
        // The server batches as many packets as fit in its `maxPayload`: the
        // body bound is the only one (a packet is at least one byte).
        let limits = PayloadLimits {
            max_payload: self.max_polling_body,
            max_packets: self.max_polling_body,
        };
        let mut idle_get = Some(get_connection);
        let mut idle_post = Some(post_connection);
        let mut get: Option<HttpRequest> = None;
        let mut post: Option<HttpRequest> = None;
        let mut out = BytesMut::new();
        let mut upgrade_tried = !upgrade;
        let mut probe_opening: Option<ProbeOpening> = None;
        let mut probe: Option<Ws> = None;
        // `3probe` arrived and waits for the requests under way.
        let mut probe_answered = false;
        loop {
            match self.exchange(&mut engine).await {
                Ok(false) => {}
                Ok(true) => return End::Lost(None),
                Err(end) => return end,
            }
            if probe_answered && get.is_none() && post.is_none() {
                engine.handle_probe_packet(Packet::Pong("probe"));
                if let (ClientTransport::WebSocket, Some(ws)) = (engine.transport(), probe.take()) {
                    return self.websocket_session(engine, ws).await;
                }
                probe_answered = false;
            }
            if !upgrade_tried && engine.can_upgrade() {
                upgrade_tried = true;
                let url = self
                    .target
                    .websocket_url_for(&engine.query(ClientTransport::WebSocket));
                let connector = Some(self.connector.clone());
                probe_opening = Some(Box::pin(connect_async_tls_with_config(
                    url,
                    self.websocket.clone(),
                    connector,
                )));
            }
            let mut probe_wrote = false;
            while let Some(transmit) = engine.poll_transmit(&mut out) {
                let data = out.split().freeze();
                match transmit {
                    ClientTransmit::Post => {
                        if let Some(connection) = idle_post.take() {
                            post = Some(self.request(connection, &engine, Some(data), usize::MAX));
                        }
                    }
                    ClientTransmit::Probe(kind) => {
                        let message = match kind {
                            MessageKind::Text => engine_text(data).map(Message::Text),
                            MessageKind::Binary => Ok(Message::Binary(data)),
                        };
                        if let (Some(ws), Ok(message)) = (probe.as_mut(), message) {
                            probe_wrote |= ws.feed(message).await.is_ok();
                        }
                    }
                    // Not on polling.
                    ClientTransmit::WebSocket(_) | ClientTransmit::CloseTransport => {}
                }
            }
            if probe_wrote
                && let Some(ws) = probe.as_mut()
                && ws.flush().await.is_err()
            {
                engine.handle_probe_packet(Packet::Close);
                probe = None;
            }
            if !probe_answered && let Some(connection) = idle_get.take() {
                get = Some(self.request(connection, &engine, None, self.max_polling_body));
            }
            let timer = self.deadline(&engine);
            tokio::select! {
                biased;
                _ = self.closing.changed() => {
                    return self.close_polling(engine, post, idle_post, out).await;
                }
                opened = opening(&mut probe_opening) => {
                    probe_opening = None;
                    if let Ok((ws, _)) = opened && engine.start_upgrade().is_ok() {
                        probe = Some(ws);
                    }
                }
                read = probe_read(&mut probe) => {
                    let version = self.version;
                    let answer = match &read {
                        Some(Ok(Message::Text(text))) => Packet::decode_text(text.as_str(), version).ok(),
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        _ => None,
                    };
                    if answer == Some(Packet::Pong("probe")) {
                        probe_answered = true;
                    } else {
                        // Anything else ends the upgrade; polling goes on.
                        engine.handle_probe_packet(Packet::Close);
                        probe = None;
                    }
                }
                answered = in_flight(&mut get) => {
                    get = None;
                    let (connection, body, format) = match answered {
                        Ok(answered) => answered,
                        Err(error) => return End::Lost(Some(error)),
                    };
                    idle_get = Some(connection);
                    let now = self.inner.now();
                    for packet in PayloadDecoder::new(&body, format, limits) {
                        // An undecodable body or packet: the session closes
                        // (`Closed(ParseError)`), the next exchange drops it.
                        let handled = packet.and_then(|packet| engine.handle_packet(packet, now));
                        if handled.is_err() {
                            engine.handle_transport_error();
                            break;
                        }
                    }
                }
                answered = in_flight(&mut post) => {
                    post = None;
                    engine.handle_post_done();
                    match answered {
                        Ok((connection, _, _)) => idle_post = Some(connection),
                        Err(error) => return End::Lost(Some(error)),
                    }
                }
                () = self.inner.wake.notified() => {}
                () = timer => self.fire_timers(&mut engine),
            }
        }
    }

    /// Leaves every namespace and POSTs the DISCONNECTs with Engine.IO's
    /// `close` (waiting at most [`CLOSE_POST_TIMEOUT`] for the POST under way
    /// and the last one).
    async fn close_polling(
        &mut self,
        mut engine: eio::ClientSession,
        post: Option<HttpRequest>,
        idle_post: Option<HttpConnection>,
        mut out: BytesMut,
    ) -> End {
        let left = self.leave_all();
        if self.exchange(&mut engine).await.is_err() {
            return End::Dropped;
        }
        engine.close();
        let last_post = async {
            let connection = match (post, idle_post) {
                (Some(under_way), _) => {
                    let (connection, _, _) = under_way.await?;
                    engine.handle_post_done();
                    connection
                }
                (None, Some(connection)) => connection,
                (None, None) => return Ok(()),
            };
            if let Some(ClientTransmit::Post) = engine.poll_transmit(&mut out) {
                let body = out.split().freeze();
                self.request(connection, &engine, Some(body), usize::MAX)
                    .await?;
            }
            Ok::<_, Error>(())
        };
        let _ = tokio::time::timeout(CLOSE_POST_TIMEOUT, last_post).await;
        if self.report(left).await.is_err() {
            return End::Dropped;
        }
        End::Closed
    }
}

/// A probe WebSocket being opened.
type ProbeOpening = Pin<Box<dyn Future<Output = Result<(Ws, crate::Response), Error>> + Send>>;

/// Waits for the probe WebSocket being opened, if any.
async fn opening(opening: &mut Option<ProbeOpening>) -> Result<(Ws, crate::Response), Error> {
    match opening {
        Some(opening) => opening.await,
        None => std::future::pending().await,
    }
}

/// The probe WebSocket's next message, if there is a probe.
async fn probe_read(probe: &mut Option<Ws>) -> Option<Result<Message, Error>> {
    match probe {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}

/// Waits for the request under way, if any (never resolves otherwise).
async fn in_flight(request: &mut Option<HttpRequest>) -> Result<HttpAnswer, Error> {
    match request {
        Some(request) => request.await,
        None => std::future::pending().await,
    }
}

/// A hyper client error, as the transport failure it is.
fn http_error(error: hyper::Error) -> Error {
    Error::Io(std::io::Error::other(error))
}
