//! Inputs see the deadlines that have passed: every input taking `now` first
//! applies the deadlines at or before `now`, each at its own time, so whether
//! the caller's timer ran first (or late, or at all) never changes an outcome.
//!
//! The property tests drive two copies of a session with the same seeded
//! inputs and times, one with `handle_timeout(t)` before every input and one
//! with no timer at all, and require the same replies, events, long-poll
//! responses, WebSocket output and end state.

use bytes::{Bytes, BytesMut};
use core::time::Duration;
use proptest::prelude::*;
use socketwire::engineio::{
    ClientSession, ClientTransport, EngineIoVersion, Method, Packet, Reply, RequestInfo, Response,
    Server, ServerConfig, ServerEvent, WebSocketId, WebSocketOpen, WebSocketOutput,
};

const SEC: Duration = Duration::from_secs(1);

fn config() -> ServerConfig {
    ServerConfig {
        ping_interval: 4 * SEC,
        ping_timeout: 3 * SEC,
        upgrade_timeout: 5 * SEC,
        allow_eio3: true,
        ..ServerConfig::default()
    }
}

fn poll_query(v4: bool) -> String {
    format!("EIO={}&transport=polling&sid=s1", if v4 { 4 } else { 3 })
}

fn get(server: &mut Server, v4: bool, now: Duration) -> Reply {
    let body = Bytes::new();
    let query = poll_query(v4);
    server.handle_request(&RequestInfo::new(Method::Get, &query, &body), now, || {
        "s1".into()
    })
}

/// A poll that comes just after `pingInterval + pingTimeout` with no
/// heartbeat answered finds the session gone, even though no timer ran: 400
/// `Session ID unknown`, never a `200`.
#[test]
fn poll_after_the_heartbeat_deadline_is_refused_without_a_timer() {
    for v4 in [false, true] {
        let config = config();
        let mut server = Server::new(config.clone());
        let handshake = format!("EIO={}&transport=polling", if v4 { 4 } else { 3 });
        let body = Bytes::new();
        let open = server.handle_request(
            &RequestInfo::new(Method::Get, &handshake, &body),
            Duration::ZERO,
            || "s1".into(),
        );
        assert!(matches!(open, Reply::Respond(r) if r.status == 200));
        let late = config.ping_interval + config.ping_timeout + Duration::from_millis(1);
        let Reply::Respond(r) = get(&mut server, v4, late) else {
            panic!("v4={v4}: the late poll waits");
        };
        assert_eq!(
            (r.status, &r.body[..]),
            (400, &br#"{"code":1,"message":"Session ID unknown"}"#[..]),
            "v4={v4}"
        );
        assert_eq!(server.session_count(), 0);
        let events: Vec<ServerEvent> = core::iter::from_fn(|| server.poll_event()).collect();
        assert!(
            matches!(
                &events[..],
                [ServerEvent::Open { .. }, ServerEvent::Closed { .. }]
            ),
            "{events:?}"
        );
    }
}

/// One input of the property test.
#[derive(Debug, Clone)]
enum Input {
    Get,
    /// A POST of these packets (framed for the session's version).
    Post(Vec<&'static str>),
    PollAborted,
    WebSocketOpen,
    /// A text message on the `n`-th socket handed out so far (modulo).
    WebSocketText(usize, &'static str),
    WebSocketClosed(usize),
    Send,
    Close,
}

fn packet() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["2", "3", "4hi", "1", "6", "2probe", "5"])
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        4 => Just(Input::Get),
        4 => prop::collection::vec(packet(), 1..3).prop_map(Input::Post),
        1 => Just(Input::PollAborted),
        2 => Just(Input::WebSocketOpen),
        4 => (0..4usize, packet()).prop_map(|(n, t)| Input::WebSocketText(n, t)),
        1 => (0..4usize).prop_map(Input::WebSocketClosed),
        2 => Just(Input::Send),
        1 => Just(Input::Close),
    ]
}

/// Everything one copy of the server said, in order, per stream.
#[derive(Debug, Default, PartialEq)]
struct Trace {
    replies: Vec<String>,
    events: Vec<ServerEvent>,
    long_polls: Vec<(String, Response)>,
    websocket: Vec<(String, WebSocketOutput)>,
    sessions: usize,
    next_deadline: Option<Duration>,
}

struct Replica {
    server: Server,
    sockets: Vec<WebSocketId>,
    trace: Trace,
    /// Whether this copy calls `handle_timeout(t)` before each input.
    timer: bool,
}

impl Replica {
    fn new(timer: bool) -> Replica {
        Replica {
            server: Server::new(config()),
            sockets: Vec::new(),
            trace: Trace::default(),
            timer,
        }
    }

    fn drain(&mut self) {
        self.trace
            .events
            .extend(core::iter::from_fn(|| self.server.poll_event()));
        self.trace
            .long_polls
            .extend(core::iter::from_fn(|| self.server.poll_long_poll()));
        self.trace
            .websocket
            .extend(core::iter::from_fn(|| self.server.poll_websocket()));
    }

    fn open(&mut self, v4: bool, websocket: bool) {
        let eio = if v4 { 4 } else { 3 };
        if websocket {
            let query = format!("EIO={eio}&transport=websocket");
            let (_, open) = self
                .server
                .handle_websocket_open(&query, Duration::ZERO, || "s1".into())
                .unwrap();
            self.sockets.push(open.id().unwrap());
        } else {
            let query = format!("EIO={eio}&transport=polling");
            let body = Bytes::new();
            let reply = self.server.handle_request(
                &RequestInfo::new(Method::Get, &query, &body),
                Duration::ZERO,
                || "s1".into(),
            );
            self.trace.replies.push(format!("{reply:?}"));
        }
        self.drain();
    }

    fn step(&mut self, v4: bool, now: Duration, input: &Input) {
        // `handle_poll_aborted`, `handle_websocket_closed` and `send_text` take
        // no `now`, so they cannot see a deadline that passed: left alone, a
        // poll aborted after the heartbeat expired would close the session as
        // a transport error instead of a ping timeout, and a message sent then
        // would be queued before the ping that was due. Both copies fire the
        // timer first there, as a glue that wants the exact order does.
        let without_now = matches!(
            input,
            Input::PollAborted | Input::WebSocketClosed(_) | Input::Send
        );
        if self.timer || without_now {
            self.server.handle_timeout(now);
            self.drain();
        }
        let query = poll_query(v4);
        let socket =
            |sockets: &[WebSocketId], n: usize| sockets.get(n % sockets.len().max(1)).copied();
        let reply = match input {
            Input::Get => format!("{:?}", get(&mut self.server, v4, now)),
            Input::Post(packets) => {
                let body = if v4 {
                    packets.join("\u{1e}")
                } else {
                    packets.iter().map(|p| format!("{}:{p}", p.len())).collect()
                };
                let body = Bytes::from(body);
                let reply = self.server.handle_request(
                    &RequestInfo::new(Method::Post, &query, &body),
                    now,
                    || "s1".into(),
                );
                format!("{reply:?}")
            }
            Input::PollAborted => {
                self.server.handle_poll_aborted("s1");
                String::new()
            }
            Input::WebSocketOpen => {
                let query = format!("EIO={}&transport=websocket&sid=s1", if v4 { 4 } else { 3 });
                let open = self
                    .server
                    .handle_websocket_open(&query, now, || unreachable!());
                if let Ok((_, WebSocketOpen::Attach(ws))) = open {
                    self.sockets.push(ws);
                }
                format!("{open:?}")
            }
            Input::WebSocketText(n, text) => match socket(&self.sockets, *n) {
                Some(ws) => format!(
                    "{:?}",
                    self.server.handle_websocket_text("s1", ws, text, now)
                ),
                None => String::new(),
            },
            Input::WebSocketClosed(n) => {
                if let Some(ws) = socket(&self.sockets, *n) {
                    self.server.handle_websocket_closed("s1", ws);
                }
                String::new()
            }
            Input::Send => format!("{:?}", self.server.send_text("s1", "x")),
            Input::Close => format!("{:?}", self.server.close("s1", now)),
        };
        self.trace.replies.push(reply);
        self.drain();
    }

    /// The end state at `now`: the copy without a timer catches up first.
    fn finish(mut self, now: Duration) -> Trace {
        self.server.handle_timeout(now);
        self.drain();
        self.trace.sessions = self.server.session_count();
        self.trace.next_deadline = self.server.poll_timeout();
        self.trace
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The server: timer before every input, or no timer at all, same story.
    #[test]
    fn server_outcomes_do_not_depend_on_the_timer(
        v4 in any::<bool>(),
        websocket in any::<bool>(),
        steps in prop::collection::vec((0..6u32, input()), 1..40),
    ) {
        let mut timely = Replica::new(true);
        let mut untimed = Replica::new(false);
        timely.open(v4, websocket);
        untimed.open(v4, websocket);
        let mut now = Duration::ZERO;
        for (delta, input) in &steps {
            now += SEC * *delta;
            timely.step(v4, now, input);
            untimed.step(v4, now, input);
        }
        prop_assert_eq!(timely.finish(now), untimed.finish(now));
    }

    /// The Engine.IO client: packets from the server with the timer fired
    /// before each, or never, give the same events and transmits.
    #[test]
    fn client_outcomes_do_not_depend_on_the_timer(
        v4 in any::<bool>(),
        steps in prop::collection::vec(
            (0..6u32, prop::sample::select(vec!["2", "3", "4hi", "6", "1"])),
            1..40,
        ),
    ) {
        let version = if v4 { EngineIoVersion::V4 } else { EngineIoVersion::V3 };
        let open = r#"0{"sid":"s1","upgrades":[],"pingInterval":4000,"pingTimeout":3000}"#;
        let run = |timer: bool| {
            let mut client = ClientSession::new(version, ClientTransport::WebSocket);
            let mut out = BytesMut::new();
            let mut seen = Vec::new();
            let mut now = Duration::ZERO;
            let feed = |client: &mut ClientSession, text: &str, now: Duration, seen: &mut Vec<String>| {
                let packet = Packet::decode_text(text, version).unwrap();
                seen.push(format!("{:?}", client.handle_packet(packet, now)));
            };
            feed(&mut client, open, now, &mut seen);
            for (delta, text) in &steps {
                now += SEC * *delta;
                if timer {
                    client.handle_timeout(now);
                }
                feed(&mut client, text, now, &mut seen);
                while let Some(event) = client.poll_event() {
                    seen.push(format!("{event:?}"));
                }
                while let Some(transmit) = client.poll_transmit(&mut out) {
                    seen.push(format!("{transmit:?} {:?}", out.split()));
                }
            }
            seen.push(format!("{:?}", client.poll_timeout()));
            seen
        };
        prop_assert_eq!(run(true), run(false));
    }
}

mod socketio_sessions {
    //! Socket.IO: `handle_text`, `handle_binary` and `emit_with_ack` see the
    //! deadlines that passed, and one late `handle_timeout` fires them in
    //! time order, as timely calls do.

    use super::SEC;
    use core::time::Duration;
    use proptest::prelude::*;
    use socketwire::socketio::{
        ClientConfig, ClientEvent, ClientSession, CloseReason, ServerConfig, ServerEvent,
        ServerSession,
    };

    /// An ACK that comes after its ack deadline, with no timer call in
    /// between, finds the ack timed out: `AckTimeout`, never `Ack`.
    #[test]
    fn ack_after_its_deadline_is_a_timeout_without_a_timer() {
        let late = 3 * SEC + Duration::from_millis(1);

        let mut s = ServerSession::new(config(), Duration::ZERO);
        s.handle_text("0", Duration::ZERO).unwrap();
        let _ = s.poll_event();
        s.accept("/", "a").unwrap();
        let id = s.emit_with_ack("/", "q", vec![], Duration::ZERO).unwrap();
        s.handle_text(&format!("3{id}[]"), late).unwrap();
        let events: Vec<ServerEvent> = std::iter::from_fn(|| s.poll_event()).collect();
        assert_eq!(
            events,
            [ServerEvent::AckTimeout {
                namespace: "/".into(),
                id
            }]
        );

        let mut c = ClientSession::new(ClientConfig {
            ack_timeout: 3 * SEC,
            ..ClientConfig::default()
        });
        c.connect("/", None).unwrap();
        c.handle_text(r#"0{"sid":"a"}"#, Duration::ZERO).unwrap();
        let _ = c.poll_event();
        let id = c.emit_with_ack("/", "q", vec![], Duration::ZERO).unwrap();
        c.handle_text(&format!("3{id}[]"), late).unwrap();
        let events: Vec<ClientEvent> = std::iter::from_fn(|| c.poll_event()).collect();
        assert_eq!(
            events,
            [ClientEvent::AckTimeout {
                namespace: "/".into(),
                id
            }]
        );
    }

    /// Finding (the client proptest below): one late `handle_timeout` past a
    /// half-received packet's deadline failed the session but left the acks
    /// due after that deadline (and before `now`) for a later call, while
    /// timely calls report them at once. Now the same call reports both.
    #[test]
    fn client_acks_due_after_an_attachment_timeout_fire_in_the_same_call() {
        let mut c = ClientSession::new(ClientConfig {
            ack_timeout: 3 * SEC,
            attachment_timeout: 4 * SEC,
            ..ClientConfig::default()
        });
        c.connect("/", None).unwrap();
        c.handle_text(r#"0{"sid":"a"}"#, Duration::ZERO).unwrap();
        let _ = c.poll_event();
        c.handle_text(
            r#"51-["file",{"_placeholder":true,"num":0}]"#,
            Duration::ZERO,
        )
        .unwrap();
        let id = c.emit_with_ack("/", "q", vec![], 2 * SEC).unwrap();
        c.handle_timeout(5 * SEC);
        let events: Vec<ClientEvent> = std::iter::from_fn(|| c.poll_event()).collect();
        assert_eq!(
            events,
            [
                ClientEvent::Close(CloseReason::ProtocolError(
                    socketwire::socketio::Error::AttachmentTimeout
                )),
                ClientEvent::AckTimeout {
                    namespace: "/".into(),
                    id
                }
            ]
        );
        assert_eq!(c.poll_timeout(), None);
    }

    /// A CONNECT that comes after `connect_timeout`, with no timer call in
    /// between, finds the session closed: `Close(ConnectTimeout)` and no
    /// `Connect`.
    #[test]
    fn connect_after_the_connect_timeout_finds_the_session_closed_without_a_timer() {
        let mut s = ServerSession::new(config(), Duration::ZERO);
        assert_eq!(s.handle_text("0", 5 * SEC), Ok(()));
        assert!(s.is_closed());
        let events: Vec<ServerEvent> = std::iter::from_fn(|| s.poll_event()).collect();
        assert_eq!(events, [ServerEvent::Close(CloseReason::ConnectTimeout)]);
        assert_eq!(s.poll_message(), None);
    }

    fn config() -> ServerConfig {
        ServerConfig {
            ack_timeout: 3 * SEC,
            attachment_timeout: 4 * SEC,
            connect_timeout: 5 * SEC,
            ..ServerConfig::default()
        }
    }

    #[derive(Debug, Clone)]
    enum Step {
        Connect,
        EmitWithAck,
        /// An ACK for the `n`-th ack id handed out (modulo).
        Ack(usize),
        /// The header of a binary EVENT with one attachment, or its attachment.
        BinaryHeader,
        Attachment,
        /// Only the timely copy's timer runs.
        Tick,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            1 => Just(Step::Connect),
            3 => Just(Step::EmitWithAck),
            3 => (0..4usize).prop_map(Step::Ack),
            1 => Just(Step::BinaryHeader),
            1 => Just(Step::Attachment),
            3 => Just(Step::Tick),
        ]
    }

    struct Replica {
        session: ServerSession,
        ids: Vec<u64>,
        /// Per stream: step outcomes, events, messages.
        seen: [Vec<String>; 3],
        timely: bool,
    }

    impl Replica {
        fn new(timely: bool) -> Replica {
            Replica {
                session: ServerSession::new(config(), Duration::ZERO),
                ids: Vec::new(),
                seen: Default::default(),
                timely,
            }
        }

        fn drain(&mut self) {
            while let Some(event) = self.session.poll_event() {
                if let ServerEvent::Connect { namespace, .. } = &event {
                    let namespace = namespace.clone();
                    let _ = self.session.accept(&namespace, "a");
                }
                self.seen[1].push(format!("{event:?}"));
            }
            while let Some(message) = self.session.poll_message() {
                self.seen[2].push(format!("{message:?}"));
            }
        }

        fn step(&mut self, now: Duration, step: &Step) {
            if self.timely {
                self.session.handle_timeout(now);
                self.drain();
            }
            let outcome = match step {
                Step::Connect => format!("{:?}", self.session.handle_text("0", now)),
                Step::EmitWithAck => {
                    let id = self.session.emit_with_ack("/", "q", vec![], now);
                    if let Ok(id) = id {
                        self.ids.push(id);
                    }
                    format!("{id:?}")
                }
                Step::Ack(n) => match self.ids.get(n % self.ids.len().max(1)) {
                    Some(id) => format!("{:?}", self.session.handle_text(&format!("3{id}[]"), now)),
                    None => String::new(),
                },
                Step::BinaryHeader => format!(
                    "{:?}",
                    self.session
                        .handle_text(r#"51-["file",{"_placeholder":true,"num":0}]"#, now)
                ),
                Step::Attachment => format!(
                    "{:?}",
                    self.session
                        .handle_binary(bytes::Bytes::from_static(&[1, 2]), now)
                ),
                Step::Tick => String::new(),
            };
            self.seen[0].push(outcome);
            self.drain();
        }

        fn finish(mut self, now: Duration) -> [Vec<String>; 3] {
            self.session.handle_timeout(now);
            self.drain();
            self.seen[0].push(format!("{:?}", self.session.poll_timeout()));
            self.seen
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn server_outcomes_do_not_depend_on_the_timer(
            steps in prop::collection::vec((0..4u32, step()), 1..40),
        ) {
            let mut timely = Replica::new(true);
            let mut late = Replica::new(false);
            let mut now = Duration::ZERO;
            for (delta, step) in &steps {
                now += SEC * *delta;
                timely.step(now, step);
                late.step(now, step);
            }
            prop_assert_eq!(timely.finish(now), late.finish(now));
        }

        /// The Socket.IO client: server packets with the timer fired before
        /// each, or never, give the same outcomes, events and messages (each
        /// its own stream: the untimed copy learns of a deadline at its next
        /// input, not at a `Tick`).
        #[test]
        fn client_outcomes_do_not_depend_on_the_timer(
            steps in prop::collection::vec((0..4u32, step()), 1..40),
        ) {
            let run = |timer: bool| {
                let mut c = ClientSession::new(ClientConfig {
                    ack_timeout: 3 * SEC,
                    attachment_timeout: 4 * SEC,
                    ..ClientConfig::default()
                });
                c.connect("/", None).unwrap();
                let mut ids = Vec::new();
                let mut seen: [Vec<String>; 3] = Default::default();
                let mut now = Duration::ZERO;
                for (delta, step) in &steps {
                    now += SEC * *delta;
                    if timer {
                        c.handle_timeout(now);
                    }
                    let outcome = match step {
                        Step::Connect => c.handle_text(r#"0{"sid":"a"}"#, now),
                        Step::EmitWithAck => {
                            let id = c.emit_with_ack("/", "q", vec![], now);
                            seen[0].push(format!("{id:?}"));
                            ids.extend(id);
                            Ok(())
                        }
                        Step::Ack(n) => match ids.get(n % ids.len().max(1)) {
                            Some(id) => c.handle_text(&format!("3{id}[]"), now),
                            None => Ok(()),
                        },
                        Step::BinaryHeader => c.handle_text(
                            r#"51-["file",{"_placeholder":true,"num":0}]"#,
                            now,
                        ),
                        Step::Attachment => {
                            c.handle_binary(bytes::Bytes::from_static(&[1, 2]), now)
                        }
                        Step::Tick => Ok(()),
                    };
                    seen[0].push(format!("{outcome:?}"));
                    while let Some(event) = c.poll_event() {
                        seen[1].push(format!("{event:?}"));
                    }
                    while let Some(message) = c.poll_message() {
                        seen[2].push(format!("{message:?}"));
                    }
                }
                c.handle_timeout(now);
                while let Some(event) = c.poll_event() {
                    seen[1].push(format!("{event:?}"));
                }
                seen[0].push(format!("{:?}", c.poll_timeout()));
                seen
            };
            prop_assert_eq!(run(true), run(false));
        }
    }
}
