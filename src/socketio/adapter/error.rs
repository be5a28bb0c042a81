//! The adapter layer's errors: what a peer node published wrong ([`Error`]) and
//! what the caller did wrong ([`ApiMisuse`]).

use core::fmt;

use crate::socketio::msgpack::MsgpackError;

/// A message from another node (or from Redis) that this layer refuses.
///
/// A cluster node drops such a message and goes on: one bad publisher must not
/// stop the others' traffic (the JS adapters `debug()` and return). The glue may
/// log it.
///
/// ```
/// use bytes::Bytes;
/// use socketwire::socketio::adapter::{Error, cluster::ClusterMessage, DecodeLimits};
/// let e = ClusterMessage::decode(&Bytes::from_static(b"{\"uid\":1}"), &DecodeLimits::default()).unwrap_err();
/// assert_eq!(e, Error::InvalidField("uid"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The payload is longer than [`DecodeLimits::max_payload_len`](super::DecodeLimits).
    TooLarge {
        /// The payload's length.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// The payload starts with `{` but is not JSON text.
    InvalidJson,
    /// The payload is not valid MessagePack.
    Msgpack(MsgpackError),
    /// The payload is not an object (a map), or the classic broadcast not a
    /// three-element array.
    NotAnObject,
    /// A required field is missing.
    MissingField(&'static str),
    /// A field has the wrong type (or an out-of-range number).
    InvalidField(&'static str),
    /// A message `type` this protocol does not define.
    UnknownType(u64),
    /// A stream entry's `data` is neither JSON nor base64.
    InvalidBase64,
    /// A list in the message (rooms, sockets, responses) is longer than its cap.
    TooMany(&'static str),
    /// A stream entry id that is not `<milliseconds>-<sequence>` (two
    /// canonical decimal `u64`), or not after the one before it.
    InvalidStreamId,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::TooLarge { len, max } => write!(
                f,
                "adapter payload of {len} bytes over the {max}-byte limit"
            ),
            Error::InvalidJson => f.write_str("adapter payload is not valid JSON"),
            Error::Msgpack(e) => write!(f, "adapter payload: {e}"),
            Error::NotAnObject => f.write_str("adapter payload is not an object"),
            Error::MissingField(name) => write!(f, "adapter message without `{name}`"),
            Error::InvalidField(name) => write!(f, "adapter message with an invalid `{name}`"),
            Error::UnknownType(t) => write!(f, "unknown adapter message type {t}"),
            Error::InvalidBase64 => f.write_str("stream entry data is neither JSON nor base64"),
            Error::TooMany(what) => write!(f, "too many {what} in an adapter message"),
            Error::InvalidStreamId => f.write_str("invalid or out-of-order stream entry id"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

impl From<MsgpackError> for Error {
    fn from(e: MsgpackError) -> Error {
        Error::Msgpack(e)
    }
}

/// A command the cluster node refuses; never caused by a peer's bytes.
///
/// ```
/// use socketwire::socketio::adapter::ApiMisuse;
/// assert_eq!(ApiMisuse::TooManyPendingRequests.to_string(), "too many pending cluster requests");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiMisuse {
    /// [`NodeConfig::max_pending_requests`](super::NodeConfig) requests are
    /// already waiting for answers; nothing was published.
    TooManyPendingRequests,
    /// A request id that is already pending (ids must be unique).
    DuplicateRequestId,
    /// An answer to a request this node was never asked (or already answered).
    UnknownRequest,
    /// [`NodeConfig::max_queued_publishes`](super::NodeConfig) messages wait
    /// in [`ClusterNode::poll_publish`](super::ClusterNode::poll_publish).
    PublishQueueFull,
    /// The transport has no such request (allRooms outside the classic adapter).
    Unsupported,
    /// The node was closed ([`ClusterNode::close`](super::ClusterNode::close)).
    Closed,
}

impl fmt::Display for ApiMisuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApiMisuse::TooManyPendingRequests => "too many pending cluster requests",
            ApiMisuse::DuplicateRequestId => "request id already pending",
            ApiMisuse::UnknownRequest => "no such pending request",
            ApiMisuse::PublishQueueFull => "cluster publish queue full",
            ApiMisuse::Unsupported => "not supported by this adapter transport",
            ApiMisuse::Closed => "cluster node closed",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ApiMisuse {}
