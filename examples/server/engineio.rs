//! Engine.IO over HTTP long-polling and WebSocket: tokio glue around the sans-IO
//! `socketwire::engineio::Server`. One `EngineIo` serves one path; what happens
//! to messages is up to its `App` (an echo for `/engine.io/`, Socket.IO for
//! `/socket.io/`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use socketwire::engineio::{
    Method, Reply, RequestInfo, Response, Server, ServerConfig, ServerEvent, WebSocketOutput,
};
use socketwire::handshake::RequestHead;
use socketwire::ws::{Connection, Event};
use tokio::io::AsyncReadExt;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::Shared;
use crate::http::{self, RequestStream};
use crate::websocket::{self, Outgoing, Source};

/// What the server does with Engine.IO sessions.
pub trait App: Send + 'static {
    /// An event from the Engine.IO server; reply through `server`.
    fn on_event(&mut self, server: &mut Server, event: ServerEvent, now: Duration);
    /// The app's own next deadline.
    fn poll_timeout(&self) -> Option<Duration> {
        None
    }
    /// The app's timers, at `now`.
    fn handle_timeout(&mut self, _server: &mut Server, _now: Duration) {}
}

/// Echoes every message, text or binary.
pub struct Echo;

impl App for Echo {
    fn on_event(&mut self, server: &mut Server, event: ServerEvent, _now: Duration) {
        if let ServerEvent::Message { sid, data } = event {
            let _ = match data {
                socketwire::engineio::MessageData::Text(t) => server.send_text(&sid, &t),
                socketwire::engineio::MessageData::Binary(b) => server.send_binary(&sid, b),
            };
        }
    }
}

struct Inner {
    server: Server,
    app: Box<dyn App>,
    waiting_gets: HashMap<String, oneshot::Sender<Response>>,
    sockets: HashMap<String, mpsc::UnboundedSender<Outgoing>>,
    sid_counter: u64,
    sid_key: std::collections::hash_map::RandomState,
}

impl Inner {
    fn new_sid(&mut self) -> String {
        use std::hash::BuildHasher;
        self.sid_counter += 1;
        let h = self.sid_key.hash_one(self.sid_counter);
        format!("{h:016x}{:04x}", self.sid_counter & 0xffff)
    }

    /// Drains every output of the server (and what the app does in reaction).
    fn dispatch(&mut self, now: Duration) {
        loop {
            let mut progressed = false;
            // Responses for waiting GETs first: a session that closes may still
            // have a last response (e.g. the close packet) for its GET.
            while let Some((sid, response)) = self.server.poll_long_poll() {
                progressed = true;
                if let Some(tx) = self.waiting_gets.remove(&sid) {
                    let _ = tx.send(response);
                }
            }
            while let Some(event) = self.server.poll_event() {
                progressed = true;
                if let ServerEvent::Closed { sid, .. } = &event {
                    self.waiting_gets.remove(sid);
                    if let Some(tx) = self.sockets.remove(sid) {
                        let _ = tx.send(Outgoing::Close);
                    }
                }
                self.app.on_event(&mut self.server, event, now);
            }
            while let Some((sid, output)) = self.server.poll_websocket() {
                progressed = true;
                if let Some(tx) = self.sockets.get(&sid) {
                    let _ = tx.send(match output {
                        WebSocketOutput::Text(t) => Outgoing::Text(Bytes::from(t)),
                        WebSocketOutput::Binary(b) => Outgoing::Binary(b),
                        WebSocketOutput::Close => Outgoing::Close,
                    });
                }
            }
            if !progressed {
                return;
            }
        }
    }
}

/// An Engine.IO endpoint.
pub struct EngineIo {
    inner: Mutex<Inner>,
    timer: Notify,
    start: Instant,
}

impl EngineIo {
    pub fn new(config: ServerConfig, app: Box<dyn App>) -> Arc<Self> {
        let this = Arc::new(EngineIo {
            inner: Mutex::new(Inner {
                server: Server::new(config),
                app,
                waiting_gets: HashMap::new(),
                sockets: HashMap::new(),
                sid_counter: 0,
                sid_key: Default::default(),
            }),
            timer: Notify::new(),
            start: Instant::now(),
        });
        tokio::spawn(this.clone().run_timers());
        this
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Runs `f` on the state, then dispatches outputs and re-arms the timer.
    fn with<R>(&self, f: impl FnOnce(&mut Inner, Duration) -> R) -> R {
        let now = self.now();
        let mut inner = self.inner.lock().expect("engine.io state");
        let r = f(&mut inner, now);
        inner.dispatch(now);
        drop(inner);
        self.timer.notify_one();
        r
    }

    async fn run_timers(self: Arc<Self>) {
        loop {
            let deadline = {
                let inner = self.inner.lock().expect("engine.io state");
                [inner.server.poll_timeout(), inner.app.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min()
            };
            match deadline {
                Some(d) => {
                    let at = tokio::time::Instant::from_std(self.start + d);
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = self.timer.notified() => continue,
                    }
                }
                None => {
                    self.timer.notified().await;
                    continue;
                }
            }
            let now = self.now();
            let mut inner = self.inner.lock().expect("engine.io state");
            inner.server.handle_timeout(now);
            let Inner { server, app, .. } = &mut *inner;
            app.handle_timeout(server, now);
            inner.dispatch(now);
        }
    }

    /// Serves one request on the Engine.IO path (polling, or a WebSocket upgrade).
    /// Returns the HTTP connection if it can carry more requests.
    pub async fn handle(
        self: &Arc<Self>,
        mut conn: RequestStream,
        request: http::Request,
        shared: &Arc<Shared>,
    ) -> std::io::Result<Option<RequestStream>> {
        let query = request
            .head
            .path()
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or("")
            .to_string();
        if request.head.is_websocket_upgrade() {
            self.websocket(conn, request.head, &query, shared).await?;
            return Ok(None);
        }
        let content_type = header(&request.head, "content-type");
        enum Answer {
            Now(Response),
            Wait(String, oneshot::Receiver<Response>),
        }
        let answer = self.with(|inner, now| {
            let info = RequestInfo {
                method: Method::from_name(request.head.method()),
                query: &query,
                content_type: content_type.as_deref(),
                body: &request.body,
            };
            let sid = inner.new_sid();
            match inner.server.handle_request(&info, now, || sid) {
                Reply::Respond(response) => Answer::Now(response),
                Reply::Wait => {
                    let sid = info.query_param("sid").unwrap_or_default().to_string();
                    // Registered before `with` dispatches, so no response is missed.
                    let (tx, rx) = oneshot::channel();
                    inner.waiting_gets.insert(sid.clone(), tx);
                    Answer::Wait(sid, rx)
                }
            }
        });
        let response = match answer {
            Answer::Now(response) => response,
            Answer::Wait(sid, rx) => {
                // Wait for data, watching for the client going away.
                let mut probe = [0u8; 1];
                tokio::select! {
                    r = rx => match r {
                        Ok(response) => response,
                        Err(_) => return Ok(None),
                    },
                    _ = conn.stream.read(&mut probe) => {
                        self.with(|inner, _| {
                            inner.waiting_gets.remove(&sid);
                            inner.server.handle_poll_aborted(&sid);
                        });
                        return Ok(None);
                    }
                }
            }
        };
        let content_type = if response.content_type.is_empty() {
            "text/plain"
        } else {
            response.content_type
        };
        http::write_response(
            &mut conn.stream,
            response.status,
            content_type,
            &response.body,
        )
        .await?;
        Ok(Some(conn))
    }

    async fn websocket(
        self: &Arc<Self>,
        conn: RequestStream,
        head: RequestHead,
        query: &str,
        shared: &Arc<Shared>,
    ) -> std::io::Result<()> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let opened = self.with(|inner, now| {
            let sid = inner.new_sid();
            let result = inner.server.handle_websocket_open(query, now, || sid);
            if let Ok(sid) = &result {
                inner.sockets.insert(sid.clone(), tx);
            }
            result
        });
        let sid = match opened {
            Ok(sid) => sid,
            Err(error) => {
                let mut conn = conn;
                let response = Response::error(&error);
                return http::write_response(
                    &mut conn.stream,
                    response.status,
                    "application/json",
                    &response.body,
                )
                .await;
            }
        };
        let Some((mut stream, mut ws)) = websocket::accept(conn, head, shared).await? else {
            self.with(|inner, _| {
                inner.sockets.remove(&sid);
                inner.server.handle_websocket_closed(&sid);
            });
            return Ok(());
        };
        let this = self.clone();
        let on_event = |_: &mut Connection, event: Event| {
            this.with(|inner, now| {
                let _ = match event {
                    Event::Text(t) => inner.server.handle_websocket_text(
                        &sid,
                        std::str::from_utf8(&t).unwrap_or(""),
                        now,
                    ),
                    Event::Binary(b) => inner.server.handle_websocket_binary(&sid, b, now),
                    Event::Closed { .. } => {
                        inner.sockets.remove(&sid);
                        inner.server.handle_websocket_closed(&sid);
                        Ok(())
                    }
                    _ => Ok(()),
                };
            })
        };
        let result =
            websocket::drive(&mut stream, &mut ws, on_event, Source::Channel(&mut rx)).await;
        self.with(|inner, _| {
            inner.sockets.remove(&sid);
            inner.server.handle_websocket_closed(&sid);
        });
        result
    }
}

fn header(head: &RequestHead, name: &str) -> Option<String> {
    head.header(name)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}
