//! The chat demo's server side (the page at `/`, `chat.html`), on
//! socketwire-tokio's Socket.IO server, in the namespace [`NAMESPACE`]
//! (`/chat`), so the `/` namespace stays free for other handlers.
//!
//! The events are those of the socket.io chat demo, plus rooms:
//!
//! | client → server | args | what happens |
//! |---|---|---|
//! | `add user` | nickname, room (optional, default [`LOBBY`]) | the socket gets a name and enters the room; the ack (or a `login` event) gets a [`reply`](Chat::add_user), the room gets `user joined` |
//! | `join room` | room | the user moves there (one room at a time): the old room gets `user left`, the new one `user joined`; the ack (or a `room` event) gets the reply |
//! | `leave room` | — | back to [`LOBBY`], as `join room` |
//! | `new message` | text | the other members of the room get `new message` `{username, message}` |
//! | `typing`, `stop typing` | — | the other members of the room get it with `{username}` |
//! | (disconnect) | — | the room gets `user left` |
//!
//! `user joined` and `user left` carry `{username, room, numUsers, online}`:
//! the room's member count and "who is online" (at most [`MAX_ONLINE_LIST`]
//! names). A refusal (bad nickname or room, a full server) is the reply
//! `{ok: false, error}`, emitted as `refused` when no ack was asked for.
//!
//! Every bound, and what happens when it is hit:
//!
//! | what | bound | when it is hit |
//! |---|---|---|
//! | a nickname | 1 to [`MAX_NAME`] characters, no control characters | `add user` refused |
//! | a message | 1 to [`MAX_MESSAGE`] characters | the message is dropped |
//! | a custom room name | 1 to [`MAX_ROOM_NAME`] of `a-z 0-9 - _` | `join room` refused |
//! | named users | [`MAX_USERS`] | `add user` refused ("the chat is full") |
//! | custom rooms in use | [`MAX_CUSTOM_ROOMS`] | a new one is refused ([`ROOMS`] are always open) |
//! | names in an `online` list | [`MAX_ONLINE_LIST`] | the list is cut (`numUsers` stays exact) |
//!
//! The page is [`PAGE`] and the socket.io-client browser build it loads is
//! [`CLIENT_BUNDLE`], to serve at [`CLIENT_BUNDLE_PATH`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use socketwire_tokio::socketio::server::{AckSender, ConnectError, SocketIo, SocketRef};
use socketwire_tokio::socketio::{DisconnectReason, Value};

/// The namespace the chat lives in.
pub const NAMESPACE: &str = "/chat";

/// The chat page (serve it at `/`, `text/html; charset=utf-8`).
pub const PAGE: &str = include_str!("chat.html");

/// socket.io-client 4.8.1's browser build (MIT, see `static/`), which [`PAGE`] loads.
pub const CLIENT_BUNDLE: &[u8] = include_bytes!("static/socket.io.min.js");

/// Where [`PAGE`] loads [`CLIENT_BUNDLE`] from (`text/javascript; charset=utf-8`).
pub const CLIENT_BUNDLE_PATH: &str = "/socket.io.min.js";

/// The room every user starts in, and goes back to on `leave room`.
pub const LOBBY: &str = "lobby";

/// The named rooms, always open.
pub const ROOMS: [&str; 3] = [LOBBY, "rust", "random"];

/// Most characters in a nickname.
pub const MAX_NAME: usize = 24;

/// Most characters in a message.
pub const MAX_MESSAGE: usize = 1000;

/// Most characters in a custom room's name.
pub const MAX_ROOM_NAME: usize = 24;

/// Most users with a nickname at once.
pub const MAX_USERS: usize = 500;

/// Most custom rooms with members at once.
pub const MAX_CUSTOM_ROOMS: usize = 32;

/// Most names in an `online` list.
pub const MAX_ONLINE_LIST: usize = 50;

/// Why a request was refused (its `error` text goes to the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Empty, too long, or with control characters.
    BadName,
    /// Not a named room and not `a-z 0-9 - _` of at most [`MAX_ROOM_NAME`].
    BadRoom,
    /// [`MAX_USERS`] have a nickname.
    Full,
    /// [`MAX_CUSTOM_ROOMS`] custom rooms are in use.
    TooManyRooms,
    /// `add user` twice on one socket.
    AlreadyNamed,
    /// `join room` before `add user`.
    NotNamed,
}

impl Refusal {
    /// The text the client gets.
    pub fn message(self) -> String {
        match self {
            Refusal::BadName => {
                format!("a nickname is 1 to {MAX_NAME} characters, without control characters")
            }
            Refusal::BadRoom => format!("a room name is 1 to {MAX_ROOM_NAME} of a-z, 0-9, - and _"),
            Refusal::Full => "the chat is full, try again later".into(),
            Refusal::TooManyRooms => "too many rooms are open, pick a named one".into(),
            Refusal::AlreadyNamed => "you have a nickname already".into(),
            Refusal::NotNamed => "pick a nickname first".into(),
        }
    }
}

/// A room after a change: its name, its member count and who is online.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomView {
    /// The room's name.
    pub room: String,
    /// Its members, all of them.
    pub count: usize,
    /// Their names, sorted, at most [`MAX_ONLINE_LIST`].
    pub online: Vec<String>,
}

/// What a room change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The user's nickname.
    pub name: String,
    /// The room left (after the user left it), if any.
    pub left: Option<RoomView>,
    /// The room entered (with the user in it).
    pub joined: RoomView,
}

struct User {
    name: String,
    room: String,
}

/// The chat's state: the nickname and room of each socket id, and each
/// room's member count. No I/O: [`register`] wraps it in a mutex and emits
/// what its methods return.
#[derive(Default)]
pub struct Chat {
    users: HashMap<String, User>,
    /// Rooms with members → their count (a room with none is removed).
    rooms: HashMap<String, usize>,
}

/// `Some(name)` trimmed if it is a valid nickname.
pub fn check_name(name: &str) -> Option<&str> {
    let name = name.trim();
    let len = name.chars().count();
    let ok = (1..=MAX_NAME).contains(&len) && !name.chars().any(char::is_control);
    ok.then_some(name)
}

/// `Some(room)` (trimmed, lowercased) if it is a named room or a valid custom name.
pub fn check_room(room: &str) -> Option<String> {
    let room = room.trim().to_ascii_lowercase();
    let ok = (1..=MAX_ROOM_NAME).contains(&room.len())
        && room
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    ok.then_some(room)
}

/// `true` if `message` may be sent.
pub fn check_message(message: &str) -> bool {
    !message.trim().is_empty() && message.chars().count() <= MAX_MESSAGE
}

/// The registry's room for a chat room: prefixed, so no chat room is the room
/// of a socket id (which would let its members read that socket's emits).
fn registry_room(room: &str) -> String {
    format!("chat:{room}")
}

impl Chat {
    fn view(&self, room: &str) -> RoomView {
        let mut online: Vec<String> = self
            .users
            .values()
            .filter(|u| u.room == room)
            .map(|u| u.name.clone())
            .collect();
        online.sort_unstable();
        online.truncate(MAX_ONLINE_LIST);
        RoomView {
            room: room.to_string(),
            count: self.rooms.get(room).copied().unwrap_or(0),
            online,
        }
    }

    /// Refuses a room that would be one custom room too many.
    fn check_room_open(&self, room: &str) -> Result<(), Refusal> {
        let custom = |r: &str| !ROOMS.contains(&r);
        let in_use = self.rooms.keys().filter(|r| custom(r)).count();
        if custom(room) && !self.rooms.contains_key(room) && in_use >= MAX_CUSTOM_ROOMS {
            return Err(Refusal::TooManyRooms);
        }
        Ok(())
    }

    fn enter(&mut self, room: &str) {
        *self.rooms.entry(room.to_string()).or_default() += 1;
    }

    fn exit(&mut self, room: &str) {
        if let Some(count) = self.rooms.get_mut(room) {
            *count -= 1;
            if *count == 0 {
                self.rooms.remove(room);
            }
        }
    }

    /// Names socket `id` and puts it in `room`.
    pub fn add_user(&mut self, id: &str, name: &str, room: &str) -> Result<Moved, Refusal> {
        let name = check_name(name).ok_or(Refusal::BadName)?;
        let room = check_room(room).ok_or(Refusal::BadRoom)?;
        if self.users.contains_key(id) {
            return Err(Refusal::AlreadyNamed);
        }
        if self.users.len() >= MAX_USERS {
            return Err(Refusal::Full);
        }
        self.check_room_open(&room)?;
        self.enter(&room);
        let user = User {
            name: name.to_string(),
            room: room.clone(),
        };
        self.users.insert(id.to_string(), user);
        Ok(Moved {
            name: name.to_string(),
            left: None,
            joined: self.view(&room),
        })
    }

    /// Moves socket `id` to `room` (a move to its own room changes nothing
    /// and reports no room left).
    pub fn join_room(&mut self, id: &str, room: &str) -> Result<Moved, Refusal> {
        let room = check_room(room).ok_or(Refusal::BadRoom)?;
        let user = self.users.get(id).ok_or(Refusal::NotNamed)?;
        let (name, old) = (user.name.clone(), user.room.clone());
        if old == room {
            return Ok(Moved {
                name,
                left: None,
                joined: self.view(&room),
            });
        }
        self.check_room_open(&room)?;
        self.exit(&old);
        self.enter(&room);
        if let Some(user) = self.users.get_mut(id) {
            user.room = room.clone();
        }
        Ok(Moved {
            name,
            left: Some(self.view(&old)),
            joined: self.view(&room),
        })
    }

    /// Forgets socket `id`: its name and the room it left, if it had a name.
    pub fn remove(&mut self, id: &str) -> Option<(String, RoomView)> {
        let user = self.users.remove(id)?;
        self.exit(&user.room);
        Some((user.name, self.view(&user.room)))
    }

    /// The nickname and room of socket `id`.
    pub fn user(&self, id: &str) -> Option<(&str, &str)> {
        self.users
            .get(id)
            .map(|u| (u.name.as_str(), u.room.as_str()))
    }

    /// Users with a nickname.
    #[cfg(test)]
    fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Rooms with members.
    #[cfg(test)]
    fn room_count(&self) -> usize {
        self.rooms.len()
    }
}

type Shared = Arc<Mutex<Chat>>;

fn lock(chat: &Shared) -> MutexGuard<'_, Chat> {
    chat.lock().unwrap_or_else(PoisonError::into_inner)
}

fn number(n: usize) -> Value {
    u64::try_from(n).unwrap_or(u64::MAX).into()
}

fn object(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// `{username, room, numUsers, online}`: what `user joined`, `user left` and
/// the replies carry.
fn room_value(name: &str, view: &RoomView) -> Value {
    let online = view.online.iter().map(|n| n.as_str().into()).collect();
    object(vec![
        ("username", name.into()),
        ("room", view.room.as_str().into()),
        ("numUsers", number(view.count)),
        ("online", Value::Array(online)),
    ])
}

/// Answers a request: to its ack if the client asked for one, else as `event`.
fn reply(socket: &SocketRef, ack: AckSender, event: &str, value: Value) {
    if ack.is_requested() {
        let _ = ack.send(vec![value]);
    } else {
        let _ = socket.emit(event, vec![value]);
    }
}

fn refuse(socket: &SocketRef, ack: AckSender, refusal: Refusal) {
    let value = object(vec![
        ("ok", false.into()),
        ("error", refusal.message().into()),
    ]);
    reply(socket, ack, "refused", value);
}

/// Puts the socket in the registry's rooms and tells both rooms.
fn announce(io: &SocketIo, socket: &SocketRef, moved: &Moved) {
    if let Some(left) = &moved.left {
        socket.leave(&registry_room(&left.room));
        io.of(NAMESPACE)
            .to(&registry_room(&left.room))
            .emit("user left", vec![room_value(&moved.name, left)]);
    }
    // One chat room per socket, and the registry's rooms-per-socket cap is
    // far above two: this join cannot be refused.
    let _ = socket.join(&registry_room(&moved.joined.room));
    socket
        .to(&registry_room(&moved.joined.room))
        .emit("user joined", vec![room_value(&moved.name, &moved.joined)]);
}

fn reply_moved(socket: &SocketRef, ack: AckSender, event: &str, moved: &Moved) {
    let mut value = room_value(&moved.name, &moved.joined);
    if let Value::Object(pairs) = &mut value {
        pairs.insert(0, ("ok".to_string(), true.into()));
    }
    reply(socket, ack, event, value);
}

fn text_arg(args: &[Value], index: usize) -> &str {
    args.get(index).and_then(Value::as_str).unwrap_or("")
}

/// Serves the chat on `io`'s namespace [`NAMESPACE`] (call it once, at start-up).
pub fn register(io: &SocketIo) {
    let chat: Shared = Arc::default();
    let handle = io.clone();
    io.ns(NAMESPACE, move |socket: SocketRef, _auth: Value| {
        let (chat, io) = (chat.clone(), handle.clone());
        async move {
            on_connect(socket, chat, io);
            Ok::<(), ConnectError>(())
        }
    });
}

fn on_connect(socket: SocketRef, chat: Shared, io: SocketIo) {
    let (c, i) = (chat.clone(), io.clone());
    socket.on("add user", move |s: SocketRef, args: Vec<Value>, ack| {
        let (chat, io) = (c.clone(), i.clone());
        async move {
            let room = args.get(1).and_then(Value::as_str).unwrap_or(LOBBY);
            let added = lock(&chat).add_user(s.id(), text_arg(&args, 0), room);
            match added {
                Ok(moved) => {
                    announce(&io, &s, &moved);
                    reply_moved(&s, ack, "login", &moved);
                }
                Err(refusal) => refuse(&s, ack, refusal),
            }
        }
    });
    for (event, fixed) in [("join room", None), ("leave room", Some(LOBBY))] {
        let (c, i) = (chat.clone(), io.clone());
        socket.on(event, move |s: SocketRef, args: Vec<Value>, ack| {
            let (chat, io) = (c.clone(), i.clone());
            async move {
                let room = fixed.unwrap_or_else(|| text_arg(&args, 0));
                let moved = lock(&chat).join_room(s.id(), room);
                match moved {
                    Ok(moved) => {
                        if moved.left.is_some() {
                            announce(&io, &s, &moved);
                        }
                        reply_moved(&s, ack, "room", &moved);
                    }
                    Err(refusal) => refuse(&s, ack, refusal),
                }
            }
        });
    }
    let c = chat.clone();
    socket.on("new message", move |s: SocketRef, args: Vec<Value>, _| {
        let chat = c.clone();
        async move {
            let message = text_arg(&args, 0);
            let Some((name, room)) = lock(&chat)
                .user(s.id())
                .map(|(n, r)| (n.to_string(), r.to_string()))
            else {
                return;
            };
            if check_message(message) {
                let value = object(vec![("username", name.into()), ("message", message.into())]);
                s.to(&registry_room(&room)).emit("new message", vec![value]);
            }
        }
    });
    for event in ["typing", "stop typing"] {
        let c = chat.clone();
        socket.on(event, move |s: SocketRef, _: Vec<Value>, _| {
            let chat = c.clone();
            async move {
                let user = lock(&chat)
                    .user(s.id())
                    .map(|(n, r)| (n.to_string(), r.to_string()));
                if let Some((name, room)) = user {
                    let value = object(vec![("username", name.into())]);
                    s.to(&registry_room(&room)).emit(event, vec![value]);
                }
            }
        });
    }
    socket.on_disconnect(move |s: SocketRef, _: DisconnectReason| {
        let (chat, io) = (chat.clone(), io.clone());
        async move {
            let removed = lock(&chat).remove(s.id());
            if let Some((name, view)) = removed {
                io.of(NAMESPACE)
                    .to(&registry_room(&view.room))
                    .emit("user left", vec![room_value(&name, &view)]);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_are_bounded_and_trimmed() {
        let table: [(&str, Option<&str>); 7] = [
            ("alice", Some("alice")),
            ("  bob ", Some("bob")),
            ("κόσμε 😀", Some("κόσμε 😀")),
            ("", None),
            ("   ", None),
            ("a\u{7}b", None),
            ("x\ny", None),
        ];
        for (input, expected) in table {
            assert_eq!(check_name(input), expected, "{input:?}");
        }
        // MAX_NAME characters (not bytes) pass, one more does not.
        assert!(check_name(&"é".repeat(MAX_NAME)).is_some());
        assert!(check_name(&"é".repeat(MAX_NAME + 1)).is_none());
    }

    #[test]
    fn room_names_are_named_or_bounded_custom() {
        assert_eq!(check_room("Rust").as_deref(), Some("rust"));
        assert_eq!(check_room("my-room_2").as_deref(), Some("my-room_2"));
        for bad in ["", "a b", "chat:x", "é", "../x"] {
            assert_eq!(check_room(bad), None, "{bad:?}");
        }
        assert!(check_room(&"r".repeat(MAX_ROOM_NAME)).is_some());
        assert!(check_room(&"r".repeat(MAX_ROOM_NAME + 1)).is_none());
    }

    #[test]
    fn messages_are_bounded() {
        assert!(check_message("hi"));
        assert!(!check_message(""));
        assert!(!check_message(" \n"));
        assert!(check_message(&"😀".repeat(MAX_MESSAGE)));
        assert!(!check_message(&"a".repeat(MAX_MESSAGE + 1)));
    }

    #[test]
    fn refusals_name_their_bounds() {
        assert_eq!(
            Refusal::BadName.message(),
            "a nickname is 1 to 24 characters, without control characters"
        );
        assert!(
            Refusal::BadRoom
                .message()
                .contains(&MAX_ROOM_NAME.to_string())
        );
    }

    #[test]
    fn chat_rooms_never_collide_with_socket_id_rooms() {
        assert_eq!(registry_room("lobby"), "chat:lobby");
        // A custom name cannot hold the prefix's ':'.
        assert_eq!(check_room("chat:lobby"), None);
    }

    #[test]
    fn add_user_joins_the_room_and_counts() {
        let mut chat = Chat::default();
        let a = chat.add_user("a", "Alice", LOBBY).unwrap();
        assert_eq!(a.left, None);
        assert_eq!(a.joined.count, 1);
        let b = chat.add_user("b", "Bob", LOBBY).unwrap();
        assert_eq!(b.joined.count, 2);
        assert_eq!(b.joined.online, ["Alice", "Bob"]);
        assert_eq!(
            chat.add_user("a", "Again", LOBBY),
            Err(Refusal::AlreadyNamed)
        );
        assert_eq!(chat.add_user("c", "", LOBBY), Err(Refusal::BadName));
        assert_eq!(chat.add_user("c", "Carol", "a b"), Err(Refusal::BadRoom));
        assert_eq!(chat.user("b"), Some(("Bob", LOBBY)));
        assert_eq!(chat.user_count(), 2);
    }

    #[test]
    fn one_room_at_a_time() {
        let mut chat = Chat::default();
        chat.add_user("a", "Alice", LOBBY).unwrap();
        chat.add_user("b", "Bob", LOBBY).unwrap();
        let moved = chat.join_room("a", "rust").unwrap();
        let left = moved.left.unwrap();
        assert_eq!((left.room.as_str(), left.count), (LOBBY, 1));
        assert_eq!(left.online, ["Bob"]);
        assert_eq!(
            (moved.joined.room.as_str(), moved.joined.count),
            ("rust", 1)
        );
        // Moving to the room one is in changes nothing.
        let same = chat.join_room("a", "rust").unwrap();
        assert_eq!((same.left, same.joined.count), (None, 1));
        assert_eq!(chat.room_count(), 2);
        // Back to the lobby: the empty room is gone.
        chat.join_room("a", LOBBY).unwrap();
        assert_eq!(chat.room_count(), 1);
        assert_eq!(chat.join_room("nobody", "rust"), Err(Refusal::NotNamed));
    }

    #[test]
    fn remove_reports_the_room_left() {
        let mut chat = Chat::default();
        chat.add_user("a", "Alice", "random").unwrap();
        chat.add_user("b", "Bob", "random").unwrap();
        let (name, view) = chat.remove("a").unwrap();
        assert_eq!((name.as_str(), view.count), ("Alice", 1));
        assert_eq!(view.online, ["Bob"]);
        assert_eq!(chat.remove("a"), None);
        chat.remove("b").unwrap();
        assert_eq!((chat.user_count(), chat.room_count()), (0, 0));
        // A socket that never named itself leaves nothing to announce.
        assert_eq!(chat.remove("never"), None);
    }

    /// Bound: at most MAX_USERS named users; a leaving one frees a place.
    #[test]
    fn users_are_capped() {
        let mut chat = Chat::default();
        for i in 0..MAX_USERS {
            chat.add_user(&i.to_string(), "u", LOBBY).unwrap();
        }
        assert_eq!(chat.add_user("one more", "u", LOBBY), Err(Refusal::Full));
        chat.remove("0").unwrap();
        chat.add_user("one more", "u", LOBBY).unwrap();
        assert_eq!(chat.user_count(), MAX_USERS);
    }

    /// Bound: at most MAX_CUSTOM_ROOMS custom rooms in use; named rooms and
    /// rooms in use stay open, and an emptied room frees a place.
    #[test]
    fn custom_rooms_are_capped() {
        let mut chat = Chat::default();
        for i in 0..MAX_CUSTOM_ROOMS {
            chat.add_user(&i.to_string(), "u", &format!("r{i}"))
                .unwrap();
        }
        assert_eq!(chat.add_user("x", "u", "new"), Err(Refusal::TooManyRooms));
        chat.add_user("x", "u", "r0").unwrap();
        chat.add_user("y", "u", "rust").unwrap();
        assert_eq!(chat.join_room("y", "new"), Err(Refusal::TooManyRooms));
        // A refused move leaves the user where it was.
        assert_eq!(chat.user("y"), Some(("u", "rust")));
        chat.join_room("1", LOBBY).unwrap();
        chat.join_room("y", "new").unwrap();
        assert_eq!(chat.room_count(), MAX_CUSTOM_ROOMS + 1);
    }

    /// Bound: an online list holds at most MAX_ONLINE_LIST names; the count stays exact.
    #[test]
    fn online_list_is_capped() {
        let mut chat = Chat::default();
        for i in 0..MAX_ONLINE_LIST + 5 {
            chat.add_user(&i.to_string(), &format!("user{i:03}"), LOBBY)
                .unwrap();
        }
        let view = chat.view(LOBBY);
        assert_eq!(view.count, MAX_ONLINE_LIST + 5);
        assert_eq!(view.online.len(), MAX_ONLINE_LIST);
        assert_eq!(view.online[0], "user000");
    }

    #[test]
    fn replies_carry_the_room() {
        let view = RoomView {
            room: "rust".into(),
            count: 2,
            online: vec!["A".into(), "B".into()],
        };
        assert_eq!(
            room_value("A", &view).to_json_string(),
            r#"{"username":"A","room":"rust","numUsers":2,"online":["A","B"]}"#
        );
    }
}
