//! Connection state recovery, sans-IO: a full drop and recovery on the wire,
//! and a property test of the [`RecoveryStore`] with [`ServerSession`]s and a
//! [`RoomRegistry`] against an oracle that keeps every emit.
#![cfg(feature = "json")]

use std::collections::BTreeSet;
use std::time::Duration;

use proptest::prelude::*;
use socketwire::socketio::{
    Broadcast, DisconnectedSession, PacketTarget, RecoveryConfig, RecoveryStore, RoomRegistry,
    ServerConfig, ServerEvent, ServerSession, Value,
};

fn config() -> ServerConfig {
    ServerConfig {
        connection_state_recovery: true,
        ..ServerConfig::default()
    }
}

fn sent(session: &mut ServerSession) -> Vec<String> {
    std::iter::from_fn(|| session.poll_message())
        .map(|m| m.as_text().unwrap().to_string())
        .collect()
}

#[test]
fn drop_and_recover_on_the_wire() {
    let t = |s| Duration::from_secs(s);
    let mut store = RecoveryStore::new(RecoveryConfig::default(), 41);
    let mut rooms = RoomRegistry::new();

    // A connects, gets a pid and a recorded hello, joins "r".
    let mut a = ServerSession::new(config(), t(0));
    a.handle_text(r#"0{"token":"x"}"#, t(0)).unwrap();
    assert_eq!(
        a.poll_event(),
        Some(ServerEvent::Connect {
            namespace: "/".into(),
            auth: Value::from_json_str(r#"{"token":"x"}"#).unwrap()
        })
    );
    a.accept_with_pid("/", "sidA", "pidA").unwrap();
    rooms.join("/", "sidA", "sidA").unwrap();
    rooms.join("/", "sidA", "r").unwrap();
    let hello = store.record_event("/", PacketTarget::socket("sidA"), "hello", vec![], t(0));
    a.send_encoded(&hello.packet).unwrap();
    assert_eq!(
        sent(&mut a),
        [r#"0{"sid":"sidA","pid":"pidA"}"#, r#"2["hello","41"]"#]
    );

    // A broadcast to "r" is queued but never read: the transport drops.
    let target = Broadcast::all().to("r");
    let lost = store.record_event(
        "/",
        PacketTarget::from_broadcast(&target, |s: &&str| s.to_string()),
        "news",
        vec![1u64.into()],
        t(1),
    );
    for sid in rooms.recipients("/", &target) {
        assert_eq!(sid, "sidA");
        a.send_encoded(&lost.packet).unwrap();
    }
    a.handle_transport_closed();
    assert!(matches!(
        a.poll_event(),
        Some(ServerEvent::Disconnected { .. })
    ));
    let joined: Vec<String> = rooms.rooms_of("/", &"sidA").map(String::from).collect();
    rooms.remove_socket("/", &"sidA");
    store.persist(DisconnectedSession::new("/", "sidA", "pidA", joined), t(2));

    // While away: one for the room, one for A, one for another room, one to all but A.
    for target in [
        PacketTarget::all().to("r"),
        PacketTarget::socket("sidA"),
        PacketTarget::all().to("elsewhere"),
        PacketTarget::all().except("sidA"),
    ] {
        let _ = store.record_event("/", target, "news", vec![2u64.into()], t(3));
    }

    // A comes back with its pid and the offset of the hello.
    let mut a = ServerSession::new(config(), t(4));
    a.handle_text(r#"0{"pid":"pidA","offset":"41","token":"x"}"#, t(4))
        .unwrap();
    let Some(ServerEvent::Resume {
        namespace,
        auth,
        request,
    }) = a.poll_event()
    else {
        panic!("a resume")
    };
    assert_eq!(auth.get("token").and_then(Value::as_str), Some("x"));
    let restored = store.restore(&namespace, &request, t(4)).unwrap();
    assert_eq!(restored.rooms, ["r", "sidA"]);
    a.accept_recovered(&namespace, &restored).unwrap();
    assert_eq!(
        sent(&mut a),
        [
            r#"0{"sid":"sidA","pid":"pidA"}"#,
            r#"2["news",1,"42"]"#,
            r#"2["news",2,"43"]"#,
            r#"2["news",2,"44"]"#,
        ]
    );

    // Without recovery in the config the same CONNECT is an ordinary one.
    let mut plain = ServerSession::new(ServerConfig::default(), t(4));
    plain
        .handle_text(r#"0{"pid":"pidA","offset":"41"}"#, t(4))
        .unwrap();
    assert!(matches!(
        plain.poll_event(),
        Some(ServerEvent::Connect { .. })
    ));
    // A hostile offset too, with recovery on.
    let mut hostile = ServerSession::new(config(), t(4));
    hostile
        .handle_text(r#"0{"pid":"pidA","offset":"4 1"}"#, t(4))
        .unwrap();
    assert!(matches!(
        hostile.poll_event(),
        Some(ServerEvent::Connect { .. })
    ));
}

/// Clients, rooms and the window of the property test.
const CLIENTS: usize = 3;
const ROOMS: [&str; 3] = ["r0", "r1", "r2"];
const WINDOW: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
enum Op {
    /// Emit to all (`None`), a room, or a client's socket; `except` a room.
    Emit {
        to: Option<Dest>,
        except: Option<usize>,
    },
    Join(usize, usize),
    /// The client reads what its session queued.
    Deliver(usize),
    /// The transport drops (what is queued is lost).
    Drop(usize),
    Reconnect(usize),
    Advance(u64),
}

#[derive(Debug, Clone)]
enum Dest {
    Room(usize),
    Socket(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let dest = prop_oneof![
        (0..ROOMS.len()).prop_map(Dest::Room),
        (0..CLIENTS).prop_map(Dest::Socket),
    ];
    prop_oneof![
        4 => (proptest::option::of(dest), proptest::option::weighted(0.2, 0..ROOMS.len()))
            .prop_map(|(to, except)| Op::Emit { to, except }),
        2 => (0..CLIENTS, 0..ROOMS.len()).prop_map(|(c, r)| Op::Join(c, r)),
        3 => (0..CLIENTS).prop_map(Op::Deliver),
        2 => (0..CLIENTS).prop_map(Op::Drop),
        2 => (0..CLIENTS).prop_map(Op::Reconnect),
        1 => (1..8u64).prop_map(Op::Advance),
    ]
}

/// One emit as the oracle keeps it: its offset, who it was for, when.
struct Emitted {
    offset: u64,
    to: Vec<String>,
    except: Vec<String>,
    at: Duration,
}

impl Emitted {
    /// Written apart from `PacketTarget::includes` on purpose.
    fn targets(&self, sid: &str, rooms: &BTreeSet<String>) -> bool {
        let member = |room: &String| room == sid || rooms.contains(room);
        let reached = self.to.is_empty() || self.to.iter().any(member);
        reached && !self.except.iter().any(member)
    }
}

struct Client {
    session: Option<ServerSession>,
    sid: String,
    pid: String,
    /// The offset of the last event this client read.
    last: Option<u64>,
    /// Rooms and time when it went away.
    away: Option<(BTreeSet<String>, Duration)>,
}

struct Sim {
    store: RecoveryStore,
    rooms: RoomRegistry<String>,
    clients: Vec<Client>,
    emitted: Vec<Emitted>,
    max_packets: usize,
    now: Duration,
    ids: u64,
    recovered: usize,
}

impl Sim {
    fn fresh_id(&mut self, kind: &str) -> String {
        self.ids += 1;
        format!("{kind}{}", self.ids)
    }

    fn record(
        &mut self,
        to: Vec<String>,
        except: Vec<String>,
    ) -> socketwire::socketio::EncodedPacket {
        let mut target = PacketTarget::all();
        for room in &to {
            target = target.to(room.clone());
        }
        for room in &except {
            target = target.except(room.clone());
        }
        let recorded = self.store.record_event("/", target, "e", vec![], self.now);
        let socketwire::socketio::Offset::Sequence(offset) = recorded.offset else {
            panic!("in-memory offsets are sequences")
        };
        self.emitted.push(Emitted {
            offset,
            to,
            except,
            at: self.now,
        });
        recorded.packet
    }

    fn emit(&mut self, to: Vec<String>, except: Vec<String>) {
        let mut broadcast = Broadcast::all();
        for room in &to {
            broadcast = broadcast.to(room.clone());
        }
        for room in &except {
            broadcast = broadcast.except(room.clone());
        }
        let packet = self.record(to, except);
        for sid in self.rooms.recipients("/", &broadcast) {
            let client = self.clients.iter_mut().find(|c| c.sid == sid).unwrap();
            client
                .session
                .as_mut()
                .unwrap()
                .send_encoded(&packet)
                .unwrap();
        }
    }

    /// Accepts client `i` as a new socket, with a hello for it.
    fn accept_new(&mut self, i: usize, mut session: ServerSession) {
        let sid = self.fresh_id("sid");
        let pid = self.fresh_id("pid");
        session.accept_with_pid("/", &sid, &pid).unwrap();
        self.rooms.join("/", sid.clone(), &sid).unwrap();
        let client = &mut self.clients[i];
        client.sid = sid.clone();
        client.pid = pid;
        client.session = Some(session);
        let hello = self.record(vec![sid.clone()], vec![]);
        self.clients[i]
            .session
            .as_mut()
            .unwrap()
            .send_encoded(&hello)
            .unwrap();
    }

    /// The offsets of the events in `messages` (after any CONNECT reply).
    fn offsets(messages: &[String]) -> Vec<u64> {
        messages
            .iter()
            .filter(|m| m.starts_with('2'))
            .map(|m| {
                let data = Value::from_json_str(&m[1..]).unwrap();
                let offset = data.as_array().unwrap().last().unwrap().as_str().unwrap();
                offset.parse().unwrap()
            })
            .collect()
    }

    fn deliver(&mut self, i: usize) {
        let Some(session) = self.clients[i].session.as_mut() else {
            return;
        };
        let messages = sent(session);
        for offset in Self::offsets(&messages) {
            let client = &mut self.clients[i];
            assert!(
                client.last.is_none_or(|last| last < offset),
                "offsets grow, none twice"
            );
            client.last = Some(offset);
        }
    }

    fn drop_transport(&mut self, i: usize) {
        let Some(mut session) = self.clients[i].session.take() else {
            return;
        };
        session.handle_transport_closed();
        let sid = self.clients[i].sid.clone();
        let joined: BTreeSet<String> = self.rooms.rooms_of("/", &sid).map(String::from).collect();
        self.rooms.remove_socket("/", &sid);
        let kept = DisconnectedSession::new(
            "/",
            &sid,
            &self.clients[i].pid,
            joined.iter().cloned().collect(),
        );
        let _ = self.store.persist(kept, self.now);
        self.clients[i].away = Some((joined, self.now));
    }

    fn reconnect(&mut self, i: usize) {
        if self.clients[i].session.is_some() {
            return;
        }
        let mut session = ServerSession::new(config(), self.now);
        let (sid, pid) = (self.clients[i].sid.clone(), self.clients[i].pid.clone());
        let Some(last) = self.clients[i].last else {
            // Never read an event: socket.io-client sends no offset.
            session.handle_text("0", self.now).unwrap();
            assert!(matches!(
                session.poll_event(),
                Some(ServerEvent::Connect { .. })
            ));
            self.clients[i].away = None;
            return self.accept_new(i, session);
        };
        let resume = format!(r#"0{{"pid":"{pid}","offset":"{last}"}}"#);
        session.handle_text(&resume, self.now).unwrap();
        let Some(ServerEvent::Resume { request, .. }) = session.poll_event() else {
            panic!("a resume")
        };
        let (rooms, away_at) = self.clients[i].away.take().expect("it went away");
        // The oracle: inside the window, and nothing after the offset dropped
        // (the log keeps the last `max_packets`, each for the window).
        let kept_from = self.emitted.len().saturating_sub(self.max_packets);
        let lost = self
            .emitted
            .iter()
            .enumerate()
            .filter(|(_, e)| e.offset > last)
            .any(|(index, e)| index < kept_from || e.at + WINDOW < self.now);
        let recoverable = away_at + WINDOW >= self.now && !lost;
        let expected: Vec<u64> = self
            .emitted
            .iter()
            .filter(|e| e.offset > last && e.targets(&sid, &rooms))
            .map(|e| e.offset)
            .collect();
        match self.store.restore("/", &request, self.now) {
            Ok(restored) => {
                assert!(recoverable, "restored although the oracle says lost");
                assert_eq!(restored.sid, sid);
                session.accept_recovered("/", &restored).unwrap();
                for room in restored.rooms.iter().chain([&restored.sid]) {
                    self.rooms.join("/", restored.sid.clone(), room).unwrap();
                }
                let messages = sent(&mut session);
                assert_eq!(messages[0], format!(r#"0{{"sid":"{sid}","pid":"{pid}"}}"#));
                assert_eq!(
                    Self::offsets(&messages),
                    expected,
                    "exactly the missed ones, in order"
                );
                if let Some(&newest) = expected.last() {
                    self.clients[i].last = Some(newest);
                }
                self.clients[i].session = Some(session);
                self.recovered += 1;
            }
            Err(why) => {
                assert!(
                    !recoverable,
                    "not restored ({why}) although the oracle says it could"
                );
                self.accept_new(i, session);
            }
        }
    }

    fn run(&mut self, op: Op) {
        match op {
            Op::Emit { to, except } => {
                let to = match to {
                    None => vec![],
                    Some(Dest::Room(r)) => vec![ROOMS[r].to_string()],
                    Some(Dest::Socket(c)) => vec![self.clients[c].sid.clone()],
                };
                let except = except.map(|r| ROOMS[r].to_string()).into_iter().collect();
                self.emit(to, except);
            }
            Op::Join(c, r) => {
                if self.clients[c].session.is_some() {
                    let sid = self.clients[c].sid.clone();
                    self.rooms.join("/", sid, ROOMS[r]).unwrap();
                }
            }
            Op::Deliver(c) => self.deliver(c),
            Op::Drop(c) => self.drop_transport(c),
            Op::Reconnect(c) => self.reconnect(c),
            Op::Advance(s) => self.now += Duration::from_secs(s),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any interleaving of emits, joins, reads, drops and reconnects: a
    /// recovered client gets exactly the packets after its offset that
    /// targeted it, in order; past the window or a cap it is a new socket.
    #[test]
    fn recovery_replays_exactly_what_was_missed(
        ops in proptest::collection::vec(op(), 1..120),
        max_packets in 4usize..40,
        first in 0u64..1 << 40,
    ) {
        let store = RecoveryStore::new(
            RecoveryConfig { max_disconnection_duration: WINDOW, max_packets, ..RecoveryConfig::default() },
            first,
        );
        let mut sim = Sim {
            store,
            rooms: RoomRegistry::new(),
            clients: Vec::new(),
            emitted: Vec::new(),
            max_packets,
            now: Duration::ZERO,
            ids: 0,
            recovered: 0,
        };
        for i in 0..CLIENTS {
            sim.clients.push(Client { session: None, sid: String::new(), pid: String::new(), last: None, away: None });
            let mut session = ServerSession::new(config(), Duration::ZERO);
            session.handle_text("0", Duration::ZERO).unwrap();
            let _ = session.poll_event();
            sim.accept_new(i, session);
        }
        for op in ops {
            sim.run(op);
        }
        prop_assert!(sim.store.packets() <= max_packets);
    }
}

/// The same rule, twice: the registry's live recipients are the sockets the
/// recovery rule includes, for every target over a few sockets and rooms.
#[test]
fn live_recipients_follow_the_replay_rule() {
    let mut rooms = RoomRegistry::new();
    let memberships: [(&str, &[&str]); 4] =
        [("a", &["x"]), ("b", &["x", "y"]), ("c", &["y"]), ("d", &[])];
    for (sid, joined) in memberships {
        rooms.join("/", sid.to_string(), sid).unwrap();
        for room in joined {
            rooms.join("/", sid.to_string(), room).unwrap();
        }
    }
    let names = ["x", "y", "a", "z"];
    for to in 0..16u32 {
        for except in 0..16u32 {
            let pick = |mask: u32| {
                names
                    .iter()
                    .enumerate()
                    .filter(move |(i, _)| mask >> i & 1 == 1)
                    .map(|(_, n)| n.to_string())
            };
            let mut broadcast = Broadcast::all();
            let mut target = PacketTarget::all();
            for room in pick(to) {
                broadcast = broadcast.to(room.clone());
                target = target.to(room);
            }
            for room in pick(except) {
                broadcast = broadcast.except(room.clone());
                target = target.except(room);
            }
            let live = rooms.recipients("/", &broadcast);
            let rule: Vec<String> = memberships
                .iter()
                .filter(|(sid, joined)| target.includes(sid, joined.iter().copied()))
                .map(|(sid, _)| sid.to_string())
                .collect();
            assert_eq!(live, rule, "to {to:b} except {except:b}");
        }
    }
}
