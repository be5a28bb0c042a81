//! Redis channel and stream names of the adapters, built and parsed in one place.
//!
//! | adapter | channel | carries |
//! |---|---|---|
//! | classic | `<key>#<nsp>#` | broadcasts to no room or several |
//! | classic | `<key>#<nsp>#<room>#` | broadcasts to exactly one room |
//! | classic | `<key>-request#<nsp>#` | requests (JSON, msgpack for broadcast-with-ack) |
//! | classic | `<key>-response#<nsp>#` | responses (and `…#<uid>#` with `publishOnSpecificResponseChannel`) |
//! | sharded / streams | `<prefix>#<nsp>#` | every ClusterAdapter message (sharded: `SPUBLISH`) |
//! | sharded / streams | `<prefix>#<nsp>#<uid>#` | responses to node `<uid>` |
//! | sharded, dynamic | `<prefix>#<nsp>#<room>#` | broadcasts to exactly one public room |
//! | streams | `<stream>` or `<stream>-<n>` | durable messages (`XADD`), `n` = [`stream_index`] |
//!
//! The key prefix (`key` / `channelPrefix`) defaults to `socket.io`.

use alloc::format;
use alloc::string::String;

/// The channels of one namespace under one key prefix.
///
/// ```
/// use socketwire::socketio::adapter::channel::Channels;
/// let c = Channels::new("socket.io", "/chat");
/// assert_eq!(c.broadcast(None), "socket.io#/chat#");
/// assert_eq!(c.broadcast(Some("room1")), "socket.io#/chat#room1#");
/// assert_eq!(c.classic_request(), "socket.io-request#/chat#");
/// assert_eq!(c.classic_response(Some("ab12cd")), "socket.io-response#/chat#ab12cd#");
/// assert_eq!(c.node("0123456789abcdef"), "socket.io#/chat#0123456789abcdef#");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channels {
    prefix: String,
    namespace: String,
}

/// What a received channel name means to one namespace's node (see
/// [`Channels::parse_classic`] and [`Channels::parse_cluster`]).
///
/// ```
/// use socketwire::socketio::adapter::channel::{ChannelKind, Channels};
/// let c = Channels::new("socket.io", "/");
/// assert_eq!(c.parse_cluster("socket.io#/#r#"), Some(ChannelKind::Room("r")));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind<'a> {
    /// `<prefix>#<nsp>#`: the namespace's main channel.
    Main,
    /// `<prefix>#<nsp>#<x>#`: a one-room broadcast channel (or, for the
    /// ClusterAdapter, another node's response channel: the caller tells them
    /// apart by the uid it knows).
    Room(&'a str),
    /// Classic `<key>-request#<nsp>#`.
    Request,
    /// Classic `<key>-response#<nsp>#`, with the requester's uid on the
    /// specific channel.
    Response(Option<&'a str>),
}

impl Channels {
    /// The channels of `namespace` under `prefix`.
    ///
    /// ```
    /// let c = socketwire::socketio::adapter::channel::Channels::new("app", "/");
    /// assert_eq!(c.broadcast(None), "app#/#");
    /// ```
    pub fn new(prefix: &str, namespace: &str) -> Channels {
        Channels {
            prefix: prefix.into(),
            namespace: namespace.into(),
        }
    }

    /// The namespace.
    ///
    /// ```
    /// assert_eq!(socketwire::socketio::adapter::channel::Channels::new("p", "/x").namespace(), "/x");
    /// ```
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `<prefix>#<nsp>#`, or `<prefix>#<nsp>#<room>#`: the classic broadcast
    /// channels and the sharded main and dynamic room channels.
    ///
    /// ```
    /// let c = socketwire::socketio::adapter::channel::Channels::new("socket.io", "/");
    /// assert_eq!(c.broadcast(Some("r")), "socket.io#/#r#");
    /// ```
    pub fn broadcast(&self, room: Option<&str>) -> String {
        match room {
            None => format!("{}#{}#", self.prefix, self.namespace),
            Some(room) => format!("{}#{}#{room}#", self.prefix, self.namespace),
        }
    }

    /// `<prefix>#<nsp>#<uid>#`: where the ClusterAdapter sends answers to node `uid`.
    ///
    /// ```
    /// let c = socketwire::socketio::adapter::channel::Channels::new("socket.io", "/");
    /// assert_eq!(c.node("u1"), "socket.io#/#u1#");
    /// ```
    pub fn node(&self, uid: &str) -> String {
        self.broadcast(Some(uid))
    }

    /// `<key>-request#<nsp>#` (classic).
    ///
    /// ```
    /// let c = socketwire::socketio::adapter::channel::Channels::new("socket.io", "/");
    /// assert_eq!(c.classic_request(), "socket.io-request#/#");
    /// ```
    pub fn classic_request(&self) -> String {
        format!("{}-request#{}#", self.prefix, self.namespace)
    }

    /// `<key>-response#<nsp>#`, or `…#<uid>#` (classic).
    ///
    /// ```
    /// let c = socketwire::socketio::adapter::channel::Channels::new("socket.io", "/");
    /// assert_eq!(c.classic_response(None), "socket.io-response#/#");
    /// ```
    pub fn classic_response(&self, uid: Option<&str>) -> String {
        match uid {
            None => format!("{}-response#{}#", self.prefix, self.namespace),
            Some(uid) => format!("{}-response#{}#{uid}#", self.prefix, self.namespace),
        }
    }

    /// Reads a classic channel name (`None`: not one of this namespace's). A
    /// subscriber of `<key>#<nsp>#*` also receives other namespaces whose
    /// name extends this one (`/` and `/#x`); only names that end in `#` after
    /// the room are taken.
    ///
    /// ```
    /// use socketwire::socketio::adapter::channel::{ChannelKind, Channels};
    /// let c = Channels::new("socket.io", "/");
    /// assert_eq!(c.parse_classic("socket.io#/#"), Some(ChannelKind::Main));
    /// assert_eq!(c.parse_classic("socket.io#/#r1#"), Some(ChannelKind::Room("r1")));
    /// assert_eq!(c.parse_classic("socket.io-request#/#"), Some(ChannelKind::Request));
    /// assert_eq!(c.parse_classic("socket.io-response#/#u#"), Some(ChannelKind::Response(Some("u"))));
    /// assert_eq!(c.parse_classic("socket.io#/chat#"), None);
    /// ```
    pub fn parse_classic<'a>(&self, channel: &'a str) -> Option<ChannelKind<'a>> {
        if let Some(rest) = self.strip(channel, "-request") {
            return rest.is_empty().then_some(ChannelKind::Request);
        }
        if let Some(rest) = self.strip(channel, "-response") {
            return match rest {
                "" => Some(ChannelKind::Response(None)),
                uid => uid
                    .strip_suffix('#')
                    .map(|u| ChannelKind::Response(Some(u))),
            };
        }
        self.parse_cluster(channel)
    }

    /// Reads a sharded / streams pub/sub channel name: the main channel, or
    /// `<prefix>#<nsp>#<x>#` where `x` is a room or a node uid.
    ///
    /// ```
    /// use socketwire::socketio::adapter::channel::{ChannelKind, Channels};
    /// let c = Channels::new("socket.io", "/");
    /// assert_eq!(c.parse_cluster("socket.io#/#"), Some(ChannelKind::Main));
    /// assert_eq!(c.parse_cluster("socket.io#/#abc#"), Some(ChannelKind::Room("abc")));
    /// assert_eq!(c.parse_cluster("other#/#"), None);
    /// ```
    pub fn parse_cluster<'a>(&self, channel: &'a str) -> Option<ChannelKind<'a>> {
        match self.strip(channel, "")? {
            "" => Some(ChannelKind::Main),
            rest => rest
                .strip_suffix('#')
                .filter(|r| !r.is_empty())
                .map(ChannelKind::Room),
        }
    }

    /// `channel` after `<prefix><infix>#<nsp>#`.
    fn strip<'a>(&self, channel: &'a str, infix: &str) -> Option<&'a str> {
        channel
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix(infix)?
            .strip_prefix('#')?
            .strip_prefix(self.namespace.as_str())?
            .strip_prefix('#')
    }
}

/// Java's `String.hashCode` over UTF-16 code units, as the streams adapter's
/// `hashCode` computes it (`hash = hash * 31 + c`, wrapped to 32 bits).
///
/// ```
/// use socketwire::socketio::adapter::channel::namespace_hash;
/// assert_eq!(namespace_hash("/"), 47);
/// assert_eq!(namespace_hash("/chat"), 46_457_863);
/// assert_eq!(namespace_hash("/ñamespace-😀-long-name"), -1_472_229_168);
/// ```
pub fn namespace_hash(namespace: &str) -> i32 {
    namespace.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The stream index of `namespace` among `stream_count` streams: JS
/// `hashCode(nsp) % streamCount`, whose sign follows the hash (so it can be
/// negative, and the stream is then named `socket.io--3`). `None` when
/// `stream_count` is 0.
///
/// ```
/// use socketwire::socketio::adapter::channel::stream_index;
/// assert_eq!(stream_index("/", 4), Some(3));
/// assert_eq!(stream_index("/ñamespace-😀-long-name", 7), Some(-4)); // JS `%` keeps the sign
/// ```
pub fn stream_index(namespace: &str, stream_count: u32) -> Option<i64> {
    let count = i64::from(stream_count);
    (count > 0).then(|| i64::from(namespace_hash(namespace)) % count)
}

/// The stream a namespace's durable messages go to: `<name>` with one stream,
/// `<name>-<index>` with more ([`stream_index`]); `stream_count` 0 is read as 1.
///
/// ```
/// use socketwire::socketio::adapter::channel::stream_name;
/// assert_eq!(stream_name("socket.io", 1, "/chat"), "socket.io");
/// assert_eq!(stream_name("socket.io", 4, "/"), "socket.io-3");
/// ```
pub fn stream_name(name: &str, stream_count: u32, namespace: &str) -> String {
    match stream_index(namespace, stream_count) {
        Some(index) if stream_count > 1 => format!("{name}-{index}"),
        _ => name.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::{ChannelKind, Channels, stream_name};

    #[test]
    fn channel_names_parse_back() {
        let c = Channels::new("socket.io", "/chat");
        let table: &[(&str, Option<ChannelKind<'_>>, Option<ChannelKind<'_>>)] = &[
            // channel, classic reading, cluster reading
            (
                "socket.io#/chat#",
                Some(ChannelKind::Main),
                Some(ChannelKind::Main),
            ),
            (
                "socket.io#/chat#r#",
                Some(ChannelKind::Room("r")),
                Some(ChannelKind::Room("r")),
            ),
            (
                "socket.io#/chat#a#b#",
                Some(ChannelKind::Room("a#b")),
                Some(ChannelKind::Room("a#b")),
            ),
            ("socket.io#/chat##", None, None),
            ("socket.io#/chat#r", None, None),
            ("socket.io#/chatroom#", None, None),
            ("socket.io#/#", None, None),
            ("socket.io-request#/chat#", Some(ChannelKind::Request), None),
            ("socket.io-request#/chat#x#", None, None),
            (
                "socket.io-response#/chat#",
                Some(ChannelKind::Response(None)),
                None,
            ),
            (
                "socket.io-response#/chat#u1#",
                Some(ChannelKind::Response(Some("u1"))),
                None,
            ),
            ("socket.io-response#/chat#u1", None, None),
            ("other#/chat#", None, None),
            ("", None, None),
        ];
        for &(channel, classic, cluster) in table {
            assert_eq!(c.parse_classic(channel), classic, "{channel}");
            assert_eq!(c.parse_cluster(channel), cluster, "{channel}");
        }
        for built in [
            c.broadcast(None),
            c.broadcast(Some("x")),
            c.classic_request(),
            c.classic_response(None),
            c.classic_response(Some("u")),
        ] {
            assert!(c.parse_classic(&built).is_some(), "{built}");
        }
    }

    #[test]
    fn stream_names_follow_the_js_hash() {
        // Values from Node: `hashCode(nsp) % n` as the streams adapter computes it.
        assert_eq!(stream_name("socket.io", 0, "/"), "socket.io");
        assert_eq!(stream_name("socket.io", 4, "/chat"), "socket.io-3");
        assert_eq!(
            stream_name("socket.io", 7, "/ñamespace-😀-long-name"),
            "socket.io--4"
        );
        assert_eq!(stream_name("socket.io", 5, "/abcdefghij"), "socket.io-3");
    }
}
