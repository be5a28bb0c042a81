//! Transport and sid edge cases of the upgrade, as the reference server
//! (npm `engine.io` 6.6: `lib/server.ts` verify/onWebSocket, `lib/socket.ts`
//! `_maybeUpgrade`, `lib/transports/polling.ts`) behaves, each for EIO 3 and
//! EIO 4. The Engine.IO path (`/engine.io/` or `/socket.io/`) plays no part:
//! the same session machine serves both.
//!
//! | case | reference | here |
//! |---|---|---|
//! | polling GET/POST after the upgrade | verify: `TRANSPORT_MISMATCH`, 400 `{"code":3,"message":"Bad request"}`, session kept | same |
//! | second WebSocket while probing / after the upgrade | onWebSocket: 101, then `websocket.close()`; session and socket kept | [`WebSocketOpen::AcceptThenClose`] |
//! | second WebSocket for a session opened on a WebSocket | `_maybeUpgrade` (a socket takeover) | accepted then closed (the session keeps its socket) |
//! | WebSocket opens while a GET is parked | the GET stays parked until the probe, then gets `6` | same (the `6` at once) |
//! | `5` while a GET is parked | clearTransport closes polling: the GET gets `1` | same |
//! | a second `2probe` | answered with `3probe` again | same |
//! | another packet on the probing socket | cleanup, the probing socket is closed, the packet is dropped | same |
//! | WebSocket with the sid of a closed session | verify, abortUpgrade: 400, `text/html` body `Session ID unknown` | `Err(Error::UnknownSid)`, [`Response::upgrade_error`] |
//! | probe after the session closed | the probing socket was closed with the session | socket closed, late probe ignored |
//! | WebSocket while a server close waits for the last GET | `_maybeUpgrade` on a closing socket | accepted then closed |
//! | polling after the session closed | 400 `{"code":1,"message":"Session ID unknown"}` | same |
//! | polling after a server close with no GET parked | the next GET gets the buffer and `1` | same, then 400 code 1 |
//! | overlapping GET | 400 (empty body), session closes, the parked GET gets `1` | same |
//! | `2probe` on the upgraded socket | a ping: v3 answers `3`, v4 closes ("invalid heartbeat direction") | same |

use bytes::Bytes;
use core::time::Duration;
use socketwire::engineio::{
    CloseReason, Error, MessageData, Method, Reply, RequestInfo, Response, Server, ServerConfig,
    ServerEvent, ServerSession, WebSocketId, WebSocketOpen, WebSocketOutput,
};

const SID: &str = "s1";
const NOW: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, PartialEq)]
enum Eio {
    V3,
    V4,
}

impl Eio {
    fn number(self) -> u8 {
        match self {
            Eio::V3 => 3,
            Eio::V4 => 4,
        }
    }

    /// The query of a request of this version on `transport`, with the sid
    /// when `with_sid`.
    fn query(self, transport: &str, with_sid: bool) -> String {
        let sid = if with_sid { "&sid=s1" } else { "" };
        format!("EIO={}&transport={transport}{sid}", self.number())
    }

    /// A polling body of text packets in this version's framing.
    fn payload(self, packets: &[&str]) -> String {
        match self {
            Eio::V4 => packets.join("\u{1e}"),
            Eio::V3 => packets
                .iter()
                .map(|p| format!("{}:{p}", p.chars().count()))
                .collect(),
        }
    }
}

struct Harness {
    server: Server,
    eio: Eio,
}

impl Harness {
    /// A polling session `s1` of this version, open.
    fn polling(eio: Eio) -> Harness {
        let mut h = Harness {
            server: Server::new(ServerConfig {
                allow_eio3: true,
                ..ServerConfig::default()
            }),
            eio,
        };
        let open = h.respond(Method::Get, &eio.query("polling", false), "");
        assert_eq!(open.status, 200);
        assert!(matches!(h.events()[..], [ServerEvent::Open { .. }]));
        h
    }

    /// A session `s1` opened on a WebSocket, with that socket's id.
    fn websocket_only(eio: Eio) -> (Harness, WebSocketId) {
        let mut h = Harness {
            server: Server::new(ServerConfig {
                allow_eio3: true,
                ..ServerConfig::default()
            }),
            eio,
        };
        let query = eio.query("websocket", false);
        let (sid, open) = h
            .server
            .handle_websocket_open(&query, NOW, || SID.into())
            .unwrap();
        assert_eq!(sid, SID);
        h.events();
        h.websocket();
        (h, open.id().unwrap())
    }

    fn request(&mut self, method: Method, body: &str) -> Reply {
        let body = Bytes::copy_from_slice(body.as_bytes());
        let query = self.eio.query("polling", true);
        let request = RequestInfo::new(method, &query, &body);
        self.server.handle_request(&request, NOW, || SID.into())
    }

    fn respond(&mut self, method: Method, query: &str, body: &str) -> Response {
        let body = Bytes::copy_from_slice(body.as_bytes());
        let request = RequestInfo::new(method, query, &body);
        match self.server.handle_request(&request, NOW, || SID.into()) {
            Reply::Respond(r) => r,
            Reply::Wait => panic!("{query} waits"),
        }
    }

    fn get(&mut self) -> Reply {
        self.request(Method::Get, "")
    }

    fn get_now(&mut self) -> Response {
        match self.get() {
            Reply::Respond(r) => r,
            Reply::Wait => panic!("the GET waits"),
        }
    }

    fn post(&mut self, body: &str) -> Response {
        match self.request(Method::Post, body) {
            Reply::Respond(r) => r,
            Reply::Wait => panic!("a POST waits"),
        }
    }

    fn open_websocket(&mut self) -> Result<WebSocketOpen, Error> {
        let query = self.eio.query("websocket", true);
        self.server
            .handle_websocket_open(&query, NOW, || unreachable!())
            .map(|(sid, open)| {
                assert_eq!(sid, SID);
                open
            })
    }

    fn attach(&mut self) -> WebSocketId {
        match self.open_websocket() {
            Ok(WebSocketOpen::Attach(ws)) => ws,
            other => panic!("not attached: {other:?}"),
        }
    }

    fn text(&mut self, ws: WebSocketId, text: &str) {
        self.server
            .handle_websocket_text(SID, ws, text, NOW)
            .unwrap();
    }

    /// Upgrades the session on a new socket (`2probe`, `3probe`, `5`).
    fn upgrade(&mut self) -> WebSocketId {
        let ws = self.attach();
        self.text(ws, "2probe");
        assert_eq!(self.websocket(), [text("3probe")]);
        self.text(ws, "5");
        assert_eq!(self.events(), [ServerEvent::Upgraded { sid: SID.into() }]);
        ws
    }

    fn events(&mut self) -> Vec<ServerEvent> {
        drained(|| self.server.poll_event())
    }

    /// What was written on WebSockets (all of this session's).
    fn websocket(&mut self) -> Vec<WebSocketOutput> {
        drained(|| self.server.poll_websocket().map(|(_, output)| output))
    }

    /// The bodies of the responses for parked GETs.
    fn long_polls(&mut self) -> Vec<String> {
        drained(|| {
            let (_, response) = self.server.poll_long_poll()?;
            Some(body(&response).to_string())
        })
    }

    /// The WebSocket socket `ws` still carries messages both ways.
    fn assert_websocket_works(&mut self, ws: WebSocketId) {
        self.server.send_text(SID, "down").unwrap();
        assert_eq!(self.websocket(), [text("4down")]);
        self.text(ws, "4up");
        assert_eq!(
            self.events(),
            [ServerEvent::Message {
                sid: SID.into(),
                data: MessageData::Text("up".into())
            }]
        );
        assert_eq!(self.server.session_count(), 1);
    }
}

/// Everything a `poll_*` queue holds now.
fn drained<T>(next: impl FnMut() -> Option<T>) -> Vec<T> {
    core::iter::from_fn(next).collect()
}

fn text(t: &str) -> WebSocketOutput {
    WebSocketOutput::Text(t.into())
}

fn body(r: &Response) -> &str {
    core::str::from_utf8(&r.body).unwrap()
}

fn error_body(code: u8, message: &str) -> String {
    format!(r#"{{"code":{code},"message":"{message}"}}"#)
}

fn assert_refused(r: &Response, code: u8, message: &str) {
    assert_eq!(
        (r.status, r.content_type, body(r)),
        (400, "application/json", &*error_body(code, message))
    );
}

/// Runs one case for both protocol versions.
macro_rules! both_versions {
    ($case:ident: $v3:ident, $v4:ident) => {
        #[test]
        fn $v3() {
            $case(Eio::V3);
        }
        #[test]
        fn $v4() {
            $case(Eio::V4);
        }
    };
}

fn polling_after_upgrade_is_a_bad_request(eio: Eio) {
    let mut h = Harness::polling(eio);
    let ws = h.upgrade();
    let get = h.get_now();
    assert_refused(&get, 3, "Bad request");
    let post = h.post(&eio.payload(&["4hi"]));
    assert_refused(&post, 3, "Bad request");
    // Neither reached the session, which goes on on its socket.
    assert_eq!(h.events(), []);
    assert_eq!(h.websocket(), []);
    h.assert_websocket_works(ws);
}
both_versions!(polling_after_upgrade_is_a_bad_request: polling_after_upgrade_v3, polling_after_upgrade_v4);

fn second_websocket_after_upgrade_is_accepted_then_closed(eio: Eio) {
    let mut h = Harness::polling(eio);
    let ws = h.upgrade();
    assert_eq!(h.open_websocket(), Ok(WebSocketOpen::AcceptThenClose));
    // Nothing is written on (or closes) the upgraded socket.
    assert_eq!(h.websocket(), []);
    assert_eq!(h.events(), []);
    h.assert_websocket_works(ws);
}
both_versions!(second_websocket_after_upgrade_is_accepted_then_closed: second_websocket_after_upgrade_v3, second_websocket_after_upgrade_v4);

fn second_websocket_while_probing_is_accepted_then_closed(eio: Eio) {
    let mut h = Harness::polling(eio);
    let ws = h.attach();
    // Before the probe…
    assert_eq!(h.open_websocket(), Ok(WebSocketOpen::AcceptThenClose));
    h.text(ws, "2probe");
    assert_eq!(h.websocket(), [text("3probe")]);
    // …and after it: the upgrade goes on on the first socket.
    assert_eq!(h.open_websocket(), Ok(WebSocketOpen::AcceptThenClose));
    assert_eq!(h.websocket(), []);
    h.text(ws, "5");
    assert_eq!(h.events(), [ServerEvent::Upgraded { sid: SID.into() }]);
    h.assert_websocket_works(ws);
}
both_versions!(second_websocket_while_probing_is_accepted_then_closed: second_websocket_while_probing_v3, second_websocket_while_probing_v4);

fn second_websocket_for_a_websocket_session_is_accepted_then_closed(eio: Eio) {
    let (mut h, ws) = Harness::websocket_only(eio);
    assert_eq!(h.open_websocket(), Ok(WebSocketOpen::AcceptThenClose));
    assert_eq!(h.websocket(), []);
    // Polling with that sid is a transport mismatch.
    assert_refused(&h.get_now(), 3, "Bad request");
    h.assert_websocket_works(ws);
}
both_versions!(second_websocket_for_a_websocket_session_is_accepted_then_closed: second_websocket_for_websocket_session_v3, second_websocket_for_websocket_session_v4);

fn upgrade_while_a_get_is_parked(eio: Eio) {
    let mut h = Harness::polling(eio);
    assert_eq!(h.get(), Reply::Wait);
    let ws = h.attach();
    // Opening the socket does not end the parked GET; the probe does.
    assert_eq!(h.long_polls(), Vec::<String>::new());
    h.text(ws, "2probe");
    assert_eq!(h.websocket(), [text("3probe")]);
    assert_eq!(h.long_polls(), [eio.payload(&["6"])]);
    h.text(ws, "5");
    assert_eq!(h.events(), [ServerEvent::Upgraded { sid: SID.into() }]);
    h.assert_websocket_works(ws);
}
both_versions!(upgrade_while_a_get_is_parked: upgrade_while_get_parked_v3, upgrade_while_get_parked_v4);

fn upgrade_packet_while_a_get_is_parked(eio: Eio) {
    let mut h = Harness::polling(eio);
    assert_eq!(h.get(), Reply::Wait);
    let ws = h.attach();
    // `5` with no probe still upgrades; the polling transport is closed under
    // the parked GET, which gets `1`.
    h.text(ws, "5");
    assert_eq!(h.events(), [ServerEvent::Upgraded { sid: SID.into() }]);
    assert_eq!(h.long_polls(), [eio.payload(&["1"])]);
    h.assert_websocket_works(ws);
}
both_versions!(upgrade_packet_while_a_get_is_parked: upgrade_packet_while_get_parked_v3, upgrade_packet_while_get_parked_v4);

fn second_probe_is_answered(eio: Eio) {
    let mut h = Harness::polling(eio);
    let ws = h.attach();
    h.text(ws, "2probe");
    h.text(ws, "2probe");
    assert_eq!(h.websocket(), [text("3probe"), text("3probe")]);
    h.text(ws, "5");
    assert_eq!(h.events(), [ServerEvent::Upgraded { sid: SID.into() }]);
    h.assert_websocket_works(ws);
}
both_versions!(second_probe_is_answered: second_probe_v3, second_probe_v4);

fn other_packet_on_the_probing_socket_aborts(eio: Eio) {
    let mut h = Harness::polling(eio);
    let ws = h.attach();
    h.text(ws, "4early");
    assert_eq!(h.websocket(), [WebSocketOutput::Close]);
    assert_eq!(h.events(), [], "the packet is dropped");
    // Polling goes on, and a new socket may try.
    h.server.send_text(SID, "still polling").unwrap();
    assert_eq!(body(&h.get_now()), eio.payload(&["4still polling"]));
    let again = h.attach();
    assert_ne!(again, ws);
}
both_versions!(other_packet_on_the_probing_socket_aborts: other_packet_on_probe_v3, other_packet_on_probe_v4);

fn probe_on_a_closed_session(eio: Eio) {
    let mut h = Harness::polling(eio);
    let ws = h.attach();
    // The session closes while its socket probes: the socket is closed too.
    h.server.close(SID, NOW).unwrap();
    assert!(h.websocket().contains(&WebSocketOutput::Close));
    // A late probe on it is ignored.
    let _ = h.server.handle_websocket_text(SID, ws, "2probe", NOW);
    assert_eq!(h.websocket(), []);
    // Closing (its last GET not taken yet), the session takes no new socket;
    // once closed, its sid is unknown.
    assert_eq!(h.open_websocket(), Ok(WebSocketOpen::AcceptThenClose));
    assert_eq!(body(&h.get_now()), eio.payload(&["1"]));
    let closed = h.open_websocket().unwrap_err();
    assert_eq!(closed, Error::UnknownSid);
    // server.ts abortUpgrade: 400 with the message as text/html.
    let refusal = Response::upgrade_error(&closed);
    assert_eq!(
        (refusal.status, refusal.content_type, body(&refusal)),
        (400, "text/html", "Session ID unknown")
    );
}
both_versions!(probe_on_a_closed_session: probe_on_closed_session_v3, probe_on_closed_session_v4);

/// The same on the bare session: a session that closed but is not dropped yet
/// refuses a WebSocket with its sid.
fn websocket_on_a_closed_bare_session(eio: Eio) {
    let config = ServerConfig {
        allow_eio3: true,
        ..ServerConfig::default()
    };
    let query = eio.query("websocket", false);
    let mut session = ServerSession::open_websocket(&config, &query, NOW, || SID.into()).unwrap();
    session.handle_websocket_closed(session.websocket().unwrap());
    assert!(session.is_closed());
    assert_eq!(
        session.handle_websocket_open(&eio.query("websocket", true), NOW),
        Err(Error::UnknownSid)
    );
}
both_versions!(websocket_on_a_closed_bare_session: websocket_on_closed_bare_session_v3, websocket_on_closed_bare_session_v4);

fn polling_after_the_session_closed(eio: Eio) {
    let mut h = Harness::polling(eio);
    h.post(&eio.payload(&["1"]));
    assert!(matches!(
        h.events()[..],
        [ServerEvent::Closed {
            reason: CloseReason::TransportClose,
            ..
        }]
    ));
    assert_refused(&h.get_now(), 1, "Session ID unknown");
    assert_refused(&h.post(&eio.payload(&["4x"])), 1, "Session ID unknown");
}
both_versions!(polling_after_the_session_closed: polling_after_close_v3, polling_after_close_v4);

fn polling_after_a_server_close(eio: Eio) {
    let mut h = Harness::polling(eio);
    h.server.send_text(SID, "last").unwrap();
    h.server.close(SID, NOW).unwrap();
    // The next GET gets what was buffered and `1`; the one after, 400.
    assert_eq!(body(&h.get_now()), eio.payload(&["4last", "1"]));
    assert_refused(&h.get_now(), 1, "Session ID unknown");
    assert_eq!(h.server.session_count(), 0);
}
both_versions!(polling_after_a_server_close: polling_after_server_close_v3, polling_after_server_close_v4);

fn overlapping_get_closes_the_session(eio: Eio) {
    let mut h = Harness::polling(eio);
    assert_eq!(h.get(), Reply::Wait);
    let second = h.get_now();
    assert_eq!((second.status, body(&second)), (400, ""));
    assert_eq!(h.long_polls(), [eio.payload(&["1"])]);
    assert!(matches!(
        h.events()[..],
        [ServerEvent::Closed {
            reason: CloseReason::TransportError("overlap from client"),
            ..
        }]
    ));
}
both_versions!(overlapping_get_closes_the_session: overlapping_get_v3, overlapping_get_v4);

fn probe_on_the_upgraded_socket_is_a_ping(eio: Eio) {
    let mut h = Harness::polling(eio);
    let ws = h.upgrade();
    h.text(ws, "2probe");
    match eio {
        // v3: the client pings; any ping gets a pong.
        Eio::V3 => {
            assert_eq!(h.websocket(), [text("3")]);
            h.assert_websocket_works(ws);
        }
        // v4: a ping from the client is the wrong direction.
        Eio::V4 => {
            assert_eq!(h.websocket(), [WebSocketOutput::Close]);
            assert!(matches!(
                h.events()[..],
                [ServerEvent::Closed {
                    reason: CloseReason::TransportError("invalid heartbeat direction"),
                    ..
                }]
            ));
        }
    }
}
both_versions!(probe_on_the_upgraded_socket_is_a_ping: probe_on_upgraded_socket_v3, probe_on_upgraded_socket_v4);
