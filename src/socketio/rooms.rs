//! Rooms and broadcast, sans-IO: who is in which room of which namespace, and
//! who receives a broadcast.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use super::binary::EncodedPacket;
use super::error::ApiMisuse;
use super::value::Value;

/// The addressees of a broadcast: everyone in the namespace, or the members of
/// some rooms, minus the members of other rooms, minus one socket (the sender).
///
/// ```
/// use socketwire::socketio::Broadcast;
/// let target = Broadcast::<u32>::all().to("room1").except("muted").except_socket(7);
/// assert_eq!(target.rooms(), ["room1".to_string()]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broadcast<S> {
    to: Vec<String>,
    except: Vec<String>,
    except_socket: Option<S>,
}

impl<S> Default for Broadcast<S> {
    fn default() -> Self {
        Broadcast {
            to: Vec::new(),
            except: Vec::new(),
            except_socket: None,
        }
    }
}

impl<S> Broadcast<S> {
    /// Every socket of the namespace.
    ///
    /// ```
    /// assert!(socketwire::socketio::Broadcast::<u32>::all().rooms().is_empty());
    /// ```
    pub fn all() -> Self {
        Broadcast::default()
    }

    /// Restricts to members of `room` (several calls: members of any of them).
    ///
    /// ```
    /// let b = socketwire::socketio::Broadcast::<u32>::all().to("a").to("b");
    /// assert_eq!(b.rooms().len(), 2);
    /// ```
    #[must_use = "returns the narrowed target"]
    pub fn to(mut self, room: impl Into<String>) -> Self {
        self.to.push(room.into());
        self
    }

    /// Leaves out members of `room`.
    ///
    /// ```
    /// let b = socketwire::socketio::Broadcast::<u32>::all().except("a");
    /// assert!(b.rooms().is_empty());
    /// ```
    #[must_use = "returns the narrowed target"]
    pub fn except(mut self, room: impl Into<String>) -> Self {
        self.except.push(room.into());
        self
    }

    /// Leaves out one socket (usually the sender: JS `socket.broadcast`).
    ///
    /// ```
    /// let b = socketwire::socketio::Broadcast::all().except_socket("me");
    /// assert!(b.rooms().is_empty());
    /// ```
    #[must_use = "returns the narrowed target"]
    pub fn except_socket(mut self, socket: S) -> Self {
        self.except_socket = Some(socket);
        self
    }

    /// The rooms targeted (empty: the whole namespace).
    ///
    /// ```
    /// assert_eq!(socketwire::socketio::Broadcast::<u32>::all().to("x").rooms(), ["x".to_string()]);
    /// ```
    pub fn rooms(&self) -> &[String] {
        &self.to
    }

    /// The rooms left out.
    ///
    /// ```
    /// assert_eq!(socketwire::socketio::Broadcast::<u32>::all().except("x").except_rooms(), ["x".to_string()]);
    /// ```
    pub fn except_rooms(&self) -> &[String] {
        &self.except
    }

    /// The socket left out, if any.
    ///
    /// ```
    /// assert_eq!(socketwire::socketio::Broadcast::all().except_socket(3u32).excepted_socket(), Some(&3));
    /// ```
    pub fn excepted_socket(&self) -> Option<&S> {
        self.except_socket.as_ref()
    }
}

#[derive(Debug)]
struct NamespaceRooms<S> {
    rooms: BTreeMap<String, BTreeSet<S>>,
    sockets: BTreeMap<S, BTreeSet<String>>,
}

impl<S> Default for NamespaceRooms<S> {
    fn default() -> Self {
        NamespaceRooms {
            rooms: BTreeMap::new(),
            sockets: BTreeMap::new(),
        }
    }
}

/// The sockets of every namespace and the rooms they joined. `S` identifies a
/// socket (its sid, or any key the caller uses to reach its session).
///
/// Add a socket when its namespace CONNECT is accepted, remove it on
/// [`ServerEvent::Disconnected`](super::ServerEvent::Disconnected) (that leaves
/// all its rooms). A broadcast yields the recipients and one
/// [`EncodedPacket`] shared by all of them.
///
/// ```
/// use socketwire::socketio::{Broadcast, RoomRegistry, Value};
/// let mut rooms = RoomRegistry::new();
/// for s in ["a", "b", "c"] { rooms.add_socket("/", s); }
/// rooms.join("/", "a", "r1").unwrap();
/// rooms.join("/", "b", "r1").unwrap();
/// let out = rooms.broadcast_event("/", &Broadcast::all().to("r1").except_socket("a"), "new messages", &["hi".into()]);
/// assert_eq!(out.recipients, ["b"]);
/// assert_eq!(out.packet.text(), r#"2["new messages","hi"]"#);
/// ```
///
/// # Limits
///
/// A socket is in at most [`RoomRegistry::DEFAULT_MAX_ROOMS_PER_SOCKET`] rooms
/// per namespace (or the cap given to
/// [`RoomRegistry::with_max_rooms_per_socket`]); a [`join`](Self::join) past it
/// fails with [`ApiMisuse::TooManyRooms`] and changes nothing. Rooms exist only
/// while they have members, so the registry holds at most sockets × cap rooms.
/// A broadcast never queues without bound on a slow member:
/// [`BroadcastPacket::take_over_cap`] takes out the recipients whose output
/// is over the caller's cap (to be disconnected), and the others get the packet.
#[derive(Debug)]
pub struct RoomRegistry<S> {
    namespaces: BTreeMap<String, NamespaceRooms<S>>,
    max_rooms_per_socket: usize,
}

impl<S> Default for RoomRegistry<S> {
    fn default() -> Self {
        RoomRegistry {
            namespaces: BTreeMap::new(),
            max_rooms_per_socket: Self::DEFAULT_MAX_ROOMS_PER_SOCKET,
        }
    }
}

impl<S> RoomRegistry<S> {
    /// The default rooms-per-socket cap (per namespace).
    pub const DEFAULT_MAX_ROOMS_PER_SOCKET: usize = 1024;

    /// An empty registry whose sockets may each join at most `max` rooms per
    /// namespace.
    ///
    /// ```
    /// use socketwire::socketio::{ApiMisuse, RoomRegistry};
    /// let mut rooms = RoomRegistry::with_max_rooms_per_socket(1);
    /// rooms.join("/", 1u32, "a").unwrap();
    /// assert_eq!(rooms.join("/", 1u32, "b"), Err(ApiMisuse::TooManyRooms));
    /// rooms.join("/", 1u32, "a").unwrap(); // already in it
    /// ```
    pub fn with_max_rooms_per_socket(max: usize) -> Self {
        RoomRegistry {
            namespaces: BTreeMap::new(),
            max_rooms_per_socket: max,
        }
    }
}

/// A broadcast ready to go: the packet encoded once and who gets it.
///
/// ```
/// use socketwire::socketio::{Broadcast, RoomRegistry};
/// let mut rooms = RoomRegistry::new();
/// rooms.add_socket("/", 1u32);
/// let out = rooms.broadcast_event("/", &Broadcast::all(), "broadcast", &[]);
/// assert_eq!(out.recipients, [1]);
/// ```
#[derive(Debug, Clone)]
pub struct BroadcastPacket<S> {
    /// The packet, for [`ServerSession::send_encoded`](super::ServerSession::send_encoded).
    pub packet: EncodedPacket,
    /// The sockets to send it to.
    pub recipients: Vec<S>,
}

impl<S> BroadcastPacket<S> {
    /// The backpressure rule of a broadcast: takes out of
    /// [`recipients`](Self::recipients), and returns, every recipient whose
    /// output this packet would take past `max_buffered` bytes, as
    /// `buffered_amount(socket)` plus the packet's
    /// [`buffered_len`](EncodedPacket::buffered_len). The others keep
    /// their place and get the packet.
    ///
    /// Policy: a recipient taken out gets no copy, so what one slow member
    /// holds never grows without bound and never holds up the others. The
    /// caller then disconnects it (the example server closes its session):
    /// a member that silently missed a broadcast could not tell. A caller
    /// that wants Socket.IO's `volatile` delivery (skip, stay connected)
    /// ignores the returned list instead. `buffered_amount` is the caller's
    /// whole figure for the socket: its Socket.IO and Engine.IO sessions'
    /// `buffered_amount` plus its transport's.
    ///
    /// ```
    /// use socketwire::socketio::{Broadcast, RoomRegistry};
    /// let mut rooms = RoomRegistry::new();
    /// rooms.add_socket("/", "fast");
    /// rooms.add_socket("/", "slow");
    /// let mut out = rooms.broadcast_event("/", &Broadcast::all(), "tick", &[]);
    /// let buffered = |s: &&str| if *s == "slow" { 1000 } else { 0 };
    /// assert_eq!(out.take_over_cap(1000, buffered), ["slow"]);
    /// assert_eq!(out.recipients, ["fast"]);
    /// ```
    pub fn take_over_cap(
        &mut self,
        max_buffered: usize,
        mut buffered_amount: impl FnMut(&S) -> usize,
    ) -> Vec<S> {
        let (over, within) =
            core::mem::take(&mut self.recipients)
                .into_iter()
                .partition(|socket| {
                    self.packet
                        .would_exceed(buffered_amount(socket), max_buffered)
                });
        self.recipients = within;
        over
    }
}

impl<S: Ord + Clone> RoomRegistry<S> {
    /// An empty registry.
    ///
    /// ```
    /// let rooms = socketwire::socketio::RoomRegistry::<u32>::new();
    /// assert_eq!(rooms.sockets("/").count(), 0);
    /// ```
    pub fn new() -> Self {
        RoomRegistry::default()
    }

    /// Registers a connected socket of `namespace`.
    ///
    /// ```
    /// let mut rooms = socketwire::socketio::RoomRegistry::new();
    /// rooms.add_socket("/", 1u32);
    /// assert_eq!(rooms.sockets("/").count(), 1);
    /// ```
    pub fn add_socket(&mut self, namespace: &str, socket: S) {
        self.namespaces
            .entry(namespace.into())
            .or_default()
            .sockets
            .entry(socket)
            .or_default();
    }

    /// Removes a socket and leaves all its rooms (JS leave-all on disconnect).
    ///
    /// ```
    /// let mut rooms = socketwire::socketio::RoomRegistry::new();
    /// rooms.join("/", 1u32, "r").unwrap();
    /// rooms.remove_socket("/", &1);
    /// assert_eq!(rooms.members("/", "r").count(), 0);
    /// ```
    pub fn remove_socket(&mut self, namespace: &str, socket: &S) {
        let Some(ns) = self.namespaces.get_mut(namespace) else {
            return;
        };
        if let Some(joined) = ns.sockets.remove(socket) {
            for room in joined {
                if let Some(members) = ns.rooms.get_mut(&room) {
                    members.remove(socket);
                    if members.is_empty() {
                        ns.rooms.remove(&room);
                    }
                }
            }
        }
        if ns.sockets.is_empty() {
            self.namespaces.remove(namespace);
        }
    }

    /// Puts `socket` in `room` (registering the socket if needed). Past the
    /// rooms-per-socket cap it is [`ApiMisuse::TooManyRooms`] and nothing
    /// changes (see [Limits](RoomRegistry#limits)).
    ///
    /// ```
    /// let mut rooms = socketwire::socketio::RoomRegistry::new();
    /// rooms.join("/", 1u32, "r").unwrap();
    /// assert_eq!(rooms.rooms_of("/", &1).collect::<Vec<_>>(), ["r"]);
    /// ```
    pub fn join(&mut self, namespace: &str, socket: S, room: &str) -> Result<(), ApiMisuse> {
        let max = self.max_rooms_per_socket;
        let ns = self.namespaces.entry(namespace.into()).or_default();
        let joined = ns.sockets.entry(socket.clone()).or_default();
        if !joined.contains(room) {
            if joined.len() >= max {
                return Err(ApiMisuse::TooManyRooms);
            }
            joined.insert(room.into());
        }
        ns.rooms.entry(room.into()).or_default().insert(socket);
        Ok(())
    }

    /// Takes `socket` out of `room`.
    ///
    /// ```
    /// let mut rooms = socketwire::socketio::RoomRegistry::new();
    /// rooms.join("/", 1u32, "r").unwrap();
    /// rooms.leave("/", &1, "r");
    /// assert_eq!(rooms.rooms_of("/", &1).count(), 0);
    /// ```
    pub fn leave(&mut self, namespace: &str, socket: &S, room: &str) {
        let Some(ns) = self.namespaces.get_mut(namespace) else {
            return;
        };
        if let Some(joined) = ns.sockets.get_mut(socket) {
            joined.remove(room);
        }
        if let Some(members) = ns.rooms.get_mut(room) {
            members.remove(socket);
            if members.is_empty() {
                ns.rooms.remove(room);
            }
        }
    }

    /// The rooms `socket` is in.
    ///
    /// ```
    /// let rooms = socketwire::socketio::RoomRegistry::<u32>::new();
    /// assert_eq!(rooms.rooms_of("/", &1).count(), 0);
    /// ```
    pub fn rooms_of<'a>(
        &'a self,
        namespace: &str,
        socket: &S,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.namespaces
            .get(namespace)
            .and_then(|ns| ns.sockets.get(socket))
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// The members of `room`.
    ///
    /// ```
    /// let mut rooms = socketwire::socketio::RoomRegistry::new();
    /// rooms.join("/", 2u32, "r").unwrap();
    /// assert_eq!(rooms.members("/", "r").collect::<Vec<_>>(), [&2]);
    /// ```
    pub fn members<'a>(&'a self, namespace: &str, room: &str) -> impl Iterator<Item = &'a S> + 'a {
        self.namespaces
            .get(namespace)
            .and_then(|ns| ns.rooms.get(room))
            .into_iter()
            .flatten()
    }

    /// The rooms of `namespace` (those with members), in order.
    ///
    /// ```
    /// let mut rooms = socketwire::socketio::RoomRegistry::new();
    /// rooms.join("/", 1u32, "b").unwrap();
    /// rooms.join("/", 2u32, "a").unwrap();
    /// assert_eq!(rooms.room_names("/").collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn room_names<'a>(&'a self, namespace: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.namespaces
            .get(namespace)
            .into_iter()
            .flat_map(|ns| ns.rooms.keys())
            .map(String::as_str)
    }

    /// Every socket of `namespace`.
    ///
    /// ```
    /// let mut rooms = socketwire::socketio::RoomRegistry::new();
    /// rooms.add_socket("/chat", 1u32);
    /// assert_eq!(rooms.sockets("/chat").collect::<Vec<_>>(), [&1]);
    /// ```
    pub fn sockets<'a>(&'a self, namespace: &str) -> impl Iterator<Item = &'a S> + 'a {
        self.namespaces
            .get(namespace)
            .into_iter()
            .flat_map(|ns| ns.sockets.keys())
    }

    /// The recipients of a broadcast, each once, in socket order.
    ///
    /// ```
    /// use socketwire::socketio::{Broadcast, RoomRegistry};
    /// let mut rooms = RoomRegistry::new();
    /// rooms.join("/", 1u32, "a").unwrap();
    /// rooms.join("/", 2u32, "a").unwrap();
    /// rooms.join("/", 2u32, "b").unwrap();
    /// rooms.add_socket("/", 3u32);
    /// assert_eq!(rooms.recipients("/", &Broadcast::all().except("b")), [1, 3]);
    /// assert_eq!(rooms.recipients("/", &Broadcast::all().to("a").to("b")), [1, 2]);
    /// ```
    #[must_use]
    pub fn recipients(&self, namespace: &str, target: &Broadcast<S>) -> Vec<S> {
        let mut recipients = Vec::new();
        self.for_each_recipient(namespace, target, |socket| recipients.push(socket.clone()));
        recipients
    }

    /// Calls `f` with each recipient of a broadcast, each once, in socket
    /// order, as [`recipients`](Self::recipients) lists them but borrowed:
    /// a server that delivers while it holds the registry copies no id.
    ///
    /// ```
    /// use socketwire::socketio::{Broadcast, RoomRegistry};
    /// let mut rooms = RoomRegistry::new();
    /// rooms.join("/", "a".to_string(), "r").unwrap();
    /// rooms.join("/", "b".to_string(), "r").unwrap();
    /// let mut seen = Vec::new();
    /// rooms.for_each_recipient("/", &Broadcast::all().to("r").to("r"), |s| seen.push(s.len()));
    /// assert_eq!(seen, [1, 1]);
    /// ```
    pub fn for_each_recipient(&self, namespace: &str, target: &Broadcast<S>, f: impl FnMut(&S)) {
        let Some(ns) = self.namespaces.get(namespace) else {
            return;
        };
        // The excepted rooms' member sets, looked up once per broadcast, not
        // once per candidate (they are often one socket's own room).
        let except: Vec<&BTreeSet<S>> = target
            .except
            .iter()
            .filter_map(|room| ns.rooms.get(room))
            .collect();
        let excluded = |socket: &S| {
            target.except_socket.as_ref() == Some(socket)
                || except.iter().any(|members| members.contains(socket))
        };
        if target.to.is_empty() {
            ns.sockets.keys().filter(|s| !excluded(s)).for_each(f);
            return;
        }
        let mut rooms = target.to.iter().filter_map(|room| ns.rooms.get(room));
        match (rooms.next(), rooms.next()) {
            (None, _) => {}
            // One room: its members are already distinct and in order.
            (Some(only), None) => only.iter().filter(|s| !excluded(s)).for_each(f),
            // Members of several rooms are listed once; the set holds each
            // socket once, however many of the rooms it is in.
            (Some(first), Some(second)) => {
                let mut chosen = BTreeSet::new();
                for members in [first, second].into_iter().chain(rooms) {
                    chosen.extend(members.iter().filter(|s| !excluded(s)));
                }
                chosen.into_iter().for_each(f);
            }
        }
    }

    /// Encodes EVENT `[name, ...args]` once and lists its recipients.
    ///
    /// ```
    /// use socketwire::socketio::{Broadcast, RoomRegistry};
    /// let mut rooms = RoomRegistry::new();
    /// rooms.add_socket("/", "x");
    /// let out = rooms.broadcast_event("/", &Broadcast::all(), "broadcast", &["hi".into()]);
    /// assert_eq!(out.packet.text(), r#"2["broadcast","hi"]"#);
    /// ```
    #[must_use = "queue the packet on every recipient's session"]
    pub fn broadcast_event(
        &self,
        namespace: &str,
        target: &Broadcast<S>,
        name: &str,
        args: &[Value],
    ) -> BroadcastPacket<S> {
        self.broadcast_encoded(target, EncodedPacket::event(namespace, name, args, None))
    }

    /// Lists the recipients of a packet encoded once, in its namespace: how a
    /// server that speaks another [`Parser`](super::Parser) broadcasts.
    ///
    /// ```
    /// use socketwire::socketio::{Broadcast, Parser, RoomRegistry};
    /// let mut rooms = RoomRegistry::new();
    /// rooms.add_socket("/chat", "x");
    /// let packet = Parser::default().event("/chat", "broadcast", &[], None);
    /// let out = rooms.broadcast_encoded(&Broadcast::all(), packet);
    /// assert_eq!(out.recipients, ["x"]);
    /// ```
    #[must_use = "queue the packet on every recipient's session"]
    pub fn broadcast_encoded(
        &self,
        target: &Broadcast<S>,
        packet: EncodedPacket,
    ) -> BroadcastPacket<S> {
        let recipients = self.recipients(packet.namespace(), target);
        BroadcastPacket { packet, recipients }
    }
}
