//! An HTTP/1.x request head, written once over where its bytes live.
//!
//! [`RequestHead`] (owned: a copy of the head in one allocation, usable after the input
//! is gone) and [`RequestHeadRef`] (borrowed: the caller's buffer and a [`HeaderSlots`]
//! array on the caller's stack, nothing copied or allocated) are the same generic type,
//! [`RequestHead<S>`], over the two [`HeadStorage`]s [`Owned`] and [`Borrowed`]. Every
//! accessor exists once, in `impl<S: HeadStorage> RequestHead<S>`; only what depends on
//! the storage (building an owned head from parts, the borrowed head's length) is
//! written per storage. Both are read by [`RequestParser`](super::RequestParser).

use bytes::Bytes;
use core::fmt::Debug;
use core::mem::MaybeUninit;
use core::ops::Deref;

use super::HandshakeError;
use super::fields::{FieldList, HandshakeFieldIndex, HeaderBlock, header_accessors, span_of};
use super::parser::{HeadAt, HeadKind, HeadScanner, complete_len};
use super::tokens::{CHUNKED, WEBSOCKET, list_contains, list_elements, trim_ows};
use crate::Status;

/// Caps on the size of an HTTP head, enforced while reading.
///
/// ```
/// use socketwire::handshake::HeaderLimits;
/// let limits = HeaderLimits { max_header_bytes: 8 * 1024, ..HeaderLimits::default() };
/// assert_eq!(limits.max_headers, 64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderLimits {
    /// Most bytes the head may have, request line and final blank line included
    /// (default 16 KiB). Reading fails as soon as this many bytes arrived without the
    /// end of the head.
    pub max_header_bytes: usize,
    /// Most header fields the head may have (default 64).
    pub max_headers: usize,
}

impl HeaderLimits {
    /// The default limits: 16 KiB and 64 header fields.
    ///
    /// ```
    /// use socketwire::handshake::HeaderLimits;
    /// assert_eq!(HeaderLimits::DEFAULT.max_header_bytes, 16 * 1024);
    /// ```
    pub const DEFAULT: HeaderLimits = HeaderLimits {
        max_header_bytes: 16 * 1024,
        max_headers: 64,
    };
}

impl Default for HeaderLimits {
    fn default() -> Self {
        HeaderLimits::DEFAULT
    }
}

/// An HTTP version as `major.minor`.
///
/// ```
/// use socketwire::handshake::HttpVersion;
/// assert!(HttpVersion::HTTP_1_1 > HttpVersion::HTTP_1_0);
/// assert_eq!(HttpVersion { major: 1, minor: 1 }, HttpVersion::HTTP_1_1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HttpVersion {
    /// Major version.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
}

impl HttpVersion {
    /// HTTP/1.0.
    ///
    /// ```
    /// assert_eq!(socketwire::handshake::HttpVersion::HTTP_1_0.minor, 0);
    /// ```
    pub const HTTP_1_0: HttpVersion = HttpVersion { major: 1, minor: 0 };
    /// HTTP/1.1.
    ///
    /// ```
    /// assert_eq!(socketwire::handshake::HttpVersion::HTTP_1_1.minor, 1);
    /// ```
    pub const HTTP_1_1: HttpVersion = HttpVersion { major: 1, minor: 1 };
}

/// Heads with at most this many fields are parsed with a header array on the stack.
pub(super) const HEADERS_ON_STACK: usize = 64;

/// One uninitialised httparse header entry.
pub(super) type Slot<'b> = MaybeUninit<httparse::Header<'b>>;

/// Room for the header fields of one request head, for [`RequestHeadRef`] to borrow:
/// [`HeaderSlots::CAPACITY`] fields, on the caller's stack, never initialised before
/// use (creating one costs nothing).
///
/// A head read into these slots holds at most `CAPACITY` fields: a
/// [`HeaderLimits::max_headers`] above it counts as `CAPACITY`.
///
/// ```
/// use socketwire::Status;
/// use socketwire::handshake::{HeaderLimits, HeaderSlots, RequestHeadRef};
/// let mut slots = HeaderSlots::new();
/// let status = RequestHeadRef::parse(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &mut slots, HeaderLimits::DEFAULT);
/// assert!(matches!(status, Ok(Status::Complete(_))));
/// ```
pub struct HeaderSlots<'b> {
    slots: [MaybeUninit<httparse::Header<'b>>; HEADERS_ON_STACK],
}

impl HeaderSlots<'_> {
    /// How many header fields the slots hold: 64, the default
    /// [`HeaderLimits::max_headers`].
    ///
    /// ```
    /// assert_eq!(socketwire::handshake::HeaderSlots::CAPACITY, 64);
    /// ```
    pub const CAPACITY: usize = HEADERS_ON_STACK;

    /// Empty slots (uninitialised memory: free to create).
    ///
    /// ```
    /// let slots = socketwire::handshake::HeaderSlots::new();
    /// # let _ = slots;
    /// ```
    #[inline]
    pub fn new() -> Self {
        HeaderSlots {
            slots: [const { MaybeUninit::uninit() }; HEADERS_ON_STACK],
        }
    }
}

impl Default for HeaderSlots<'_> {
    fn default() -> Self {
        HeaderSlots::new()
    }
}

impl<'b> HeaderSlots<'b> {
    pub(super) fn as_mut_slice(&mut self) -> &mut [Slot<'b>] {
        &mut self.slots
    }
}

impl core::fmt::Debug for HeaderSlots<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HeaderSlots")
            .field("capacity", &HeaderSlots::CAPACITY)
            .finish()
    }
}

mod sealed {
    use super::{FieldList, HandshakeFieldIndex};

    /// What a [`RequestHead`](super::RequestHead) asks of its storage. Not public:
    /// the crate's two storages are the only ones.
    pub trait Storage: FieldList {
        fn method(&self) -> &str;
        /// The method's bytes (no UTF-8 check).
        fn method_bytes(&self) -> &[u8];
        fn path(&self) -> &str;
        /// The value of the field at `index`.
        fn value(&self, index: usize) -> Option<&[u8]>;
        /// Where the handshake's fields are, if the storage recorded it while the head
        /// was built.
        fn handshake_index(&self) -> Option<&HandshakeFieldIndex>;
    }
}

/// Where the bytes of a [`RequestHead`] live: [`Owned`] or [`Borrowed`]. Sealed: the
/// crate's two storages are the only ones. Write code once for both heads (or both
/// [`ServerHandshake`](super::ServerHandshake)s) with a `S: HeadStorage` bound.
///
/// ```
/// use socketwire::handshake::{HeadStorage, HeaderLimits, HeaderSlots, RequestHead, RequestHeadRef, RequestParser};
///
/// fn route<S: HeadStorage>(head: &RequestHead<S>) -> &str {
///     if head.is_websocket_upgrade() { "upgrade" } else { head.path() }
/// }
/// let request = b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n";
/// let owned: RequestHead = RequestParser::new().handle_input(request).unwrap().complete().unwrap();
/// let mut slots = HeaderSlots::new();
/// let borrowed: RequestHeadRef<'_> =
///     RequestHeadRef::parse(request, &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
/// assert_eq!(route(&owned), route(&borrowed));
/// ```
pub trait HeadStorage: sealed::Storage {
    /// What the bytes after the head come as: [`Bytes`] when owned, `&'a [u8]` when
    /// borrowed.
    ///
    /// ```
    /// use socketwire::handshake::{Borrowed, HeadStorage, Owned};
    /// let owned: <Owned as HeadStorage>::Leftover = bytes::Bytes::from_static(b"\x81");
    /// let borrowed: <Borrowed<'_> as HeadStorage>::Leftover = b"\x81";
    /// assert_eq!(&owned[..], borrowed);
    /// ```
    type Leftover: Deref<Target = [u8]> + Default + Clone + Debug + Eq;
}

/// The storage of an owned [`RequestHead`]: the head's text and a table of where its
/// fields are, in one allocation, plus where the handshake's fields are (recorded while
/// copying, so validating an upgrade needs no second pass). The leftover is [`Bytes`].
///
/// ```
/// use socketwire::handshake::{HttpVersion, Owned, RequestHead};
/// let head: RequestHead<Owned> = RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/", [("host", "a")]);
/// assert_eq!(head.header("host"), Some(&b"a"[..]));
/// ```
#[derive(Debug, Clone)]
pub struct Owned {
    block: HeaderBlock,
    method: (usize, usize),
    target: (usize, usize),
    index: HandshakeFieldIndex,
}

impl FieldList for Owned {
    fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.block.headers()
    }
    fn raw_fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.block.raw_fields()
    }
}

impl sealed::Storage for Owned {
    fn method(&self) -> &str {
        self.block.str(self.method)
    }
    fn method_bytes(&self) -> &[u8] {
        self.block.slice(self.method)
    }
    fn path(&self) -> &str {
        self.block.str(self.target)
    }
    fn value(&self, index: usize) -> Option<&[u8]> {
        self.block.value(index)
    }
    fn handshake_index(&self) -> Option<&HandshakeFieldIndex> {
        Some(&self.index)
    }
}

impl HeadStorage for Owned {
    type Leftover = Bytes;
}

/// The storage of a borrowed [`RequestHeadRef`]: the caller's buffer and the
/// [`HeaderSlots`] httparse filled. Nothing is copied; the leftover is `&'a [u8]`.
///
/// ```
/// use socketwire::handshake::{Borrowed, HeaderLimits, HeaderSlots, RequestHead};
/// let mut slots = HeaderSlots::new();
/// let head: RequestHead<Borrowed<'_>> =
///     RequestHead::parse(b"GET / HTTP/1.1\r\n\r\n", &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
/// assert_eq!(head.len(), 18);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Borrowed<'a> {
    /// The head's bytes, from the start line to the blank line included.
    text: &'a [u8],
    method: &'a str,
    path: &'a str,
    headers: &'a [httparse::Header<'a>],
    /// Bytes of the input the head takes, empty lines skipped before it included.
    len: usize,
}

impl FieldList for Borrowed<'_> {
    fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers.iter().map(|h| (h.name, h.value))
    }
    fn raw_fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.headers.iter().map(|h| (h.name.as_bytes(), h.value))
    }
}

impl sealed::Storage for Borrowed<'_> {
    fn method(&self) -> &str {
        self.method
    }
    fn method_bytes(&self) -> &[u8] {
        self.method.as_bytes()
    }
    fn path(&self) -> &str {
        self.path
    }
    fn value(&self, index: usize) -> Option<&[u8]> {
        self.headers.get(index).map(|h| h.value)
    }
    /// The borrowed head keeps no index: building one would cost a pass over the
    /// fields as long as the one validation makes instead.
    fn handshake_index(&self) -> Option<&HandshakeFieldIndex> {
        None
    }
}

impl<'a> HeadStorage for Borrowed<'a> {
    type Leftover = &'a [u8];
}

/// The head of an HTTP/1.x request: request line, header fields, and the bytes that
/// followed the blank line (a body, or WebSocket frames after an upgrade).
///
/// One type over two storages: `RequestHead` ([`RequestHead<Owned>`](Owned)) owns a
/// copy of the head, and [`RequestHeadRef<'a>`](RequestHeadRef) borrows the bytes it
/// was read from. Both come from a [`RequestParser`](super::RequestParser) (owned:
/// [`handle_input`](super::RequestParser::handle_input), borrowed:
/// [`parse_borrowed`](super::RequestParser::parse_borrowed)), have the same accessors
/// and validate as an upgrade with the same
/// [`ServerHandshake::new`](super::ServerHandshake::new). An owned head can also be
/// built from a host server's parsed parts ([`RequestHead::from_parts`]).
///
/// Header values are bytes (HTTP allows non-UTF-8 `obs-text`); names are tokens.
///
/// ```
/// use socketwire::Status;
/// use socketwire::handshake::{HttpVersion, RequestParser};
/// let mut parser = RequestParser::new();
/// let Ok(Status::Complete(head)) =
///     parser.handle_input(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
/// else { panic!() };
/// assert_eq!(head.method(), "POST");
/// assert_eq!(head.path(), "/echo");
/// assert_eq!(head.version(), HttpVersion::HTTP_1_1);
/// assert_eq!(head.header("host"), Some(&b"a"[..]));
/// assert_eq!(head.content_length(), Ok(Some(2)));
/// assert_eq!(head.leftover(), b"hi");
/// ```
#[must_use = "a parsed head is the request to answer"]
#[derive(Debug, Clone)]
pub struct RequestHead<S: HeadStorage = Owned> {
    storage: S,
    version: HttpVersion,
    leftover: S::Leftover,
}

/// A request head that borrows the bytes it was read from: [`RequestHead`] over the
/// [`Borrowed`] storage. Nothing is copied and nothing is allocated; use it when the
/// head is in one buffer you keep until the response is written.
///
/// Read it with [`RequestHeadRef::parse`] when the buffer already holds the whole head
/// (one read, the usual case), or with
/// [`RequestParser::parse_borrowed`](super::RequestParser::parse_borrowed) while bytes
/// keep arriving.
///
/// ```
/// use socketwire::Status;
/// use socketwire::handshake::{HeaderLimits, HeaderSlots, RequestHeadRef};
/// let input = b"GET /chat HTTP/1.1\r\nHost: a\r\n\r\n\x81";
/// let mut slots = HeaderSlots::new();
/// let Ok(Status::Complete(head)) = RequestHeadRef::parse(input, &mut slots, HeaderLimits::DEFAULT)
/// else { panic!() };
/// assert_eq!(head.path(), "/chat");
/// assert_eq!(head.leftover(), b"\x81");
/// ```
pub type RequestHeadRef<'a> = RequestHead<Borrowed<'a>>;

impl Copy for RequestHead<Borrowed<'_>> {}

impl<S: HeadStorage> RequestHead<S> {
    /// The request method, e.g. `GET`.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let head = RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/", [("host", "a")]);
    /// assert_eq!(head.method(), "GET");
    /// ```
    pub fn method(&self) -> &str {
        self.storage.method()
    }

    /// The request target as sent (path and query, e.g. `/chat?room=1`).
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let mut slots = HeaderSlots::new();
    /// let head = RequestHeadRef::parse(b"GET /a?b HTTP/1.1\r\n\r\n", &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// assert_eq!(head.path(), "/a?b");
    /// ```
    pub fn path(&self) -> &str {
        self.storage.path()
    }

    /// The HTTP version of the request line.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let head = RequestHead::from_parts("GET", HttpVersion::HTTP_1_0, "/", [("host", "a")]);
    /// assert_eq!(head.version(), HttpVersion::HTTP_1_0);
    /// ```
    pub fn version(&self) -> HttpVersion {
        self.version
    }

    header_accessors!(
        storage,
        r#" # let head = socketwire::handshake::RequestHead::from_parts("GET", socketwire::handshake::HttpVersion::HTTP_1_1, "/", [("Host", "a"), ("X", "1"), ("x", "2")]);"#
    );

    /// The length of the request's body, as its `Content-Length` frames it: `Ok(None)`
    /// when there is no `Content-Length` (no body). Several equal values are accepted;
    /// differing values, or a value that is not a decimal number, are
    /// [`HandshakeError::InvalidContentLength`] (400; RFC 9112 §6.3).
    ///
    /// Bodies are framed by `Content-Length` only, so a request with a
    /// `Transfer-Encoding` field is refused here, never framed by a `Content-Length` it
    /// also carries (two parties reading two different lengths is how requests are
    /// smuggled): [`HandshakeError::AmbiguousBodyLength`] (400) when it comes with a
    /// `Content-Length`, on HTTP/1.0, or with `chunked` not the final coding,
    /// [`HandshakeError::UnsupportedTransferEncoding`] (501) otherwise. Answer with the
    /// error's [`write_response`](HandshakeError::write_response) and close the
    /// connection: where the body ends is unknown.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let head = RequestHead::from_parts("POST", HttpVersion::HTTP_1_1, "/", [("content-length", "5")]);
    /// assert_eq!(head.content_length(), Ok(Some(5)));
    /// let bad = RequestHead::from_parts("POST", HttpVersion::HTTP_1_1, "/", [("content-length", "5, 6")]);
    /// assert_eq!(bad.content_length(), Err(HandshakeError::InvalidContentLength));
    /// let chunked = RequestHead::from_parts("POST", HttpVersion::HTTP_1_1, "/", [("transfer-encoding", "chunked")]);
    /// assert_eq!(chunked.content_length(), Err(HandshakeError::UnsupportedTransferEncoding));
    /// let both = RequestHead::from_parts(
    ///     "POST", HttpVersion::HTTP_1_1, "/", [("transfer-encoding", "chunked"), ("content-length", "5")],
    /// );
    /// assert_eq!(both.content_length(), Err(HandshakeError::AmbiguousBodyLength));
    /// ```
    pub fn content_length(&self) -> Result<Option<u64>, HandshakeError> {
        check_no_transfer_encoding(
            self.version,
            self.header_values("transfer-encoding"),
            self.header("content-length").is_some(),
        )?;
        content_length_of(self.header_values("content-length"))
    }

    /// `true` if an `Upgrade` header lists the token `websocket`: the request asks for
    /// a WebSocket (whether it is a valid one is for
    /// [`ServerHandshake::new`](super::ServerHandshake::new) to say).
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let head = RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/", [("upgrade", "h2c, WebSocket")]);
    /// assert!(head.is_websocket_upgrade());
    /// ```
    pub fn is_websocket_upgrade(&self) -> bool {
        self.header_values("upgrade")
            .any(|v| list_contains(v, &WEBSOCKET))
    }

    /// The bytes that arrived after the head's blank line: a request body, or the
    /// first WebSocket frames.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let head = RequestParser::new().handle_input(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\x81").unwrap().complete().unwrap();
    /// assert_eq!(head.leftover(), b"\x81");
    /// ```
    pub fn leftover(&self) -> &[u8] {
        &self.leftover
    }

    /// Takes the leftover bytes out, leaving none.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let mut head = RequestParser::new().handle_input(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nxy").unwrap().complete().unwrap();
    /// let leftover: bytes::Bytes = head.take_leftover();
    /// assert_eq!(&leftover[..], b"xy");
    /// assert!(head.leftover().is_empty());
    /// ```
    pub fn take_leftover(&mut self) -> S::Leftover {
        core::mem::take(&mut self.leftover)
    }

    /// Consumes the head, returning the leftover bytes.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let mut slots = HeaderSlots::new();
    /// let input = b"GET / HTTP/1.1\r\n\r\nxy";
    /// let head = RequestHeadRef::parse(input, &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// let leftover: &[u8] = head.into_leftover();
    /// assert_eq!(leftover, b"xy");
    /// ```
    pub fn into_leftover(self) -> S::Leftover {
        self.leftover
    }

    pub(super) fn storage(&self) -> &S {
        &self.storage
    }
}

impl RequestHead {
    /// Builds a head from parts a host HTTP server (hyper, axum…) already parsed, to
    /// drive [`ServerHandshake`](super::ServerHandshake) without re-parsing.
    ///
    /// ```
    /// use socketwire::handshake::{HttpVersion, RequestHead};
    /// let head = RequestHead::from_parts(
    ///     "GET",
    ///     HttpVersion::HTTP_1_1,
    ///     "/chat?room=1",
    ///     [("host", &b"example.com"[..]), ("upgrade", b"websocket")],
    /// );
    /// assert_eq!(head.path(), "/chat?room=1");
    /// assert!(head.is_websocket_upgrade());
    /// assert!(head.leftover().is_empty());
    /// ```
    pub fn from_parts<N, V>(
        method: &str,
        version: HttpVersion,
        target: &str,
        headers: impl IntoIterator<Item = (N, V)>,
    ) -> RequestHead
    where
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let mut index = HandshakeFieldIndex::default();
        let (block, [method, target]) =
            HeaderBlock::from_fields([method.as_bytes(), target.as_bytes()], headers, &mut index);
        RequestHead {
            storage: Owned {
                block,
                method,
                target,
                index,
            },
            version,
            leftover: Bytes::new(),
        }
    }

    /// A copy of `head` that owns its bytes, with `leftover` as its leftover.
    fn copy_of(head: &RequestHeadRef<'_>, leftover: &[u8]) -> RequestHead {
        let Borrowed {
            text,
            method,
            path,
            headers,
            ..
        } = head.storage;
        let mut index = HandshakeFieldIndex::default();
        RequestHead {
            storage: Owned {
                block: HeaderBlock::from_parsed(text, headers, &mut index),
                method: span_of(text, method.as_bytes()),
                target: span_of(text, path.as_bytes()),
                index,
            },
            version: head.version,
            leftover: Bytes::copy_from_slice(leftover),
        }
    }

    #[cfg(test)]
    pub(super) fn block(&self) -> &HeaderBlock {
        &self.storage.block
    }
}

impl<'a> RequestHead<Borrowed<'a>> {
    /// Reads the request head at the start of `input`, which holds every byte received
    /// so far: [`Status::Partial`] if the head is not complete yet, else the head, whose
    /// [`leftover`](RequestHead::leftover) is the rest of `input`. The outcome is
    /// exactly that of a new [`RequestParser`](super::RequestParser) with the same
    /// `limits` fed `input` (in one chunk or in any pieces, owned or borrowed): same
    /// caps, same errors.
    ///
    /// Each call starts from the beginning of `input`; when the head may arrive in many
    /// small reads, use [`RequestParser::parse_borrowed`](super::RequestParser::parse_borrowed),
    /// which scans each byte once.
    ///
    /// ```
    /// use socketwire::Status;
    /// use socketwire::handshake::{HandshakeError, HeaderLimits, HeaderSlots, RequestHeadRef};
    /// let limits = HeaderLimits::DEFAULT;
    /// let mut slots = HeaderSlots::new();
    /// assert_eq!(RequestHeadRef::parse(b"GET / HTTP/1.1\r\nHo", &mut slots, limits), Ok(Status::Partial));
    /// let mut slots = HeaderSlots::new();
    /// assert_eq!(
    ///     RequestHeadRef::parse(b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", &mut slots, limits),
    ///     Err(HandshakeError::MalformedHttp("invalid header name"))
    /// );
    /// ```
    pub fn parse<'b: 'a>(
        input: &'b [u8],
        slots: &'a mut HeaderSlots<'b>,
        limits: HeaderLimits,
    ) -> Result<Status<RequestHeadRef<'a>>, HandshakeError> {
        HeadScanner::new(limits).advance::<RequestKind>(input, slots.as_mut_slice())
    }

    /// How many bytes at the start of the input the head takes (empty lines skipped
    /// before it included): the leftover starts there.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let mut slots = HeaderSlots::new();
    /// let head = RequestHeadRef::parse(b"\r\nGET / HTTP/1.1\r\n\r\nrest", &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// assert_eq!(head.len(), 20);
    /// ```
    #[allow(clippy::len_without_is_empty)] // a head is never empty
    pub fn len(&self) -> usize {
        self.storage.len
    }
}

impl<S: HeadStorage, T: HeadStorage> PartialEq<RequestHead<T>> for RequestHead<S> {
    fn eq(&self, other: &RequestHead<T>) -> bool {
        self.method() == other.method()
            && self.path() == other.path()
            && self.version == other.version
            && self.headers().eq(other.headers())
            && self.leftover() == other.leftover()
    }
}

impl<S: HeadStorage> Eq for RequestHead<S> {}

/// Request heads, for the [`RequestParser`](super::RequestParser): parsed in place,
/// copied for the owned storage.
pub(super) struct RequestKind;

impl HeadKind for RequestKind {
    type Parsed<'h> = RequestHeadRef<'h>;
    type Owned = RequestHead;

    #[inline]
    fn parse<'h, 'b: 'h>(
        at: HeadAt<'b>,
        slots: &'h mut [Slot<'b>],
    ) -> Result<Option<RequestHeadRef<'h>>, HandshakeError> {
        let mut request = httparse::Request::new(&mut []);
        let Some(len) = complete_len(request.parse_with_uninit_headers(at.head, slots))? else {
            return Ok(None);
        };
        let headers: &'h mut [httparse::Header<'b>] = core::mem::take(&mut request.headers);
        let end = at.skipped + len;
        Ok(Some(RequestHead {
            storage: Borrowed {
                text: at.head.get(..len).unwrap_or_default(),
                method: request.method.unwrap_or_default(),
                path: request.path.unwrap_or_default(),
                headers,
                len: end,
            },
            version: HttpVersion {
                major: 1,
                minor: request.version.unwrap_or_default(),
            },
            leftover: at.input.get(end..).unwrap_or_default(),
        }))
    }

    fn len(head: &RequestHeadRef<'_>) -> usize {
        head.len()
    }

    fn to_owned(head: &RequestHeadRef<'_>, leftover: &[u8]) -> RequestHead {
        RequestHead::copy_of(head, leftover)
    }
}

/// Refuses a request that has a `Transfer-Encoding` field (`values` are its values):
/// bodies are framed by `Content-Length` only. `has_content_length`: the request also
/// has a `Content-Length` field.
fn check_no_transfer_encoding<'a>(
    version: HttpVersion,
    values: impl Iterator<Item = &'a [u8]>,
    has_content_length: bool,
) -> Result<(), HandshakeError> {
    let mut present = false;
    let mut last = None;
    for value in values {
        present = true;
        last = list_elements(value).last().or(last);
    }
    if !present {
        return Ok(());
    }
    // https://www.rfc-editor.org/rfc/rfc9112#section-6.1
    // "A server or client that receives an HTTP/1.0 message containing a
    // Transfer-Encoding header field MUST treat the message as if the framing is
    // faulty, even if a Content-Length is present, and close the connection after
    // processing the message."
    // https://www.rfc-editor.org/rfc/rfc9112#section-6.3
    // "If a message is received with both a Transfer-Encoding and a Content-Length
    // header field, the Transfer-Encoding overrides the Content-Length. Such a message
    // might indicate an attempt to perform request smuggling [...] and ought to be
    // handled as an error." and (§6.1) "Regardless, the server MUST close the
    // connection after responding to such a request".
    if version < HttpVersion::HTTP_1_1 || has_content_length {
        return Err(HandshakeError::AmbiguousBodyLength);
    }
    // https://www.rfc-editor.org/rfc/rfc9112#section-6.3
    // "If a Transfer-Encoding header field is present in a request and the chunked
    // transfer coding is not the final encoding, the message body length cannot be
    // determined reliably; the server MUST respond with the 400 (Bad Request) status
    // code and then close the connection."
    // The final coding is the last element of the last non-empty field value.
    let chunked_last = last.is_some_and(|coding| CHUNKED.matches(coding));
    if !chunked_last {
        return Err(HandshakeError::AmbiguousBodyLength);
    }
    // https://www.rfc-editor.org/rfc/rfc9112#section-6.1
    // "A server that receives a request message with a transfer coding it does not
    // understand SHOULD respond with 501 (Not Implemented)."
    Err(HandshakeError::UnsupportedTransferEncoding)
}

/// The `Content-Length` the values of every `Content-Length` field say: several equal
/// values are accepted, differing or non-decimal ones are an error (RFC 9112 §6.3).
pub(super) fn content_length_of<'a>(
    values: impl Iterator<Item = &'a [u8]>,
) -> Result<Option<u64>, HandshakeError> {
    let mut found = None;
    for value in values {
        for element in value.split(|&b| b == b',') {
            let element = trim_ows(element);
            if element.is_empty() || element.len() > 19 {
                return Err(HandshakeError::InvalidContentLength);
            }
            let mut n: u64 = 0;
            for &b in element {
                if !b.is_ascii_digit() {
                    return Err(HandshakeError::InvalidContentLength);
                }
                n = n * 10 + u64::from(b - b'0');
            }
            match found {
                Some(previous) if previous != n => {
                    return Err(HandshakeError::InvalidContentLength);
                }
                _ => found = Some(n),
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_forms() {
        let head = |v: &str| {
            RequestHead::from_parts("POST", HttpVersion::HTTP_1_1, "/", [("Content-Length", v)])
        };
        assert_eq!(head("0").content_length(), Ok(Some(0)));
        assert_eq!(head("7, 7").content_length(), Ok(Some(7)));
        assert!(head("-1").content_length().is_err());
        assert!(head("").content_length().is_err());
        assert!(head("99999999999999999999").content_length().is_err());
        let none = RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/", [("a", "b")]);
        assert_eq!(none.content_length(), Ok(None));
    }

    /// Every `Transfer-Encoding` form is refused, with the status RFC 9112 asks for.
    #[test]
    fn transfer_encoding_forms() {
        let check = |version, te: &[&str], content_length: bool| {
            check_no_transfer_encoding(version, te.iter().map(|v| v.as_bytes()), content_length)
        };
        let v11 = HttpVersion::HTTP_1_1;
        assert_eq!(check(v11, &[], false), Ok(()));
        assert_eq!(check(v11, &[], true), Ok(()));
        let unsupported = Err(HandshakeError::UnsupportedTransferEncoding);
        let ambiguous = Err(HandshakeError::AmbiguousBodyLength);
        assert_eq!(check(v11, &["chunked"], false), unsupported);
        assert_eq!(check(v11, &["gzip, Chunked "], false), unsupported);
        assert_eq!(check(v11, &["gzip", "chunked"], false), unsupported);
        assert_eq!(check(v11, &["chunked", ""], false), unsupported);
        assert_eq!(check(v11, &["chunked"], true), ambiguous);
        assert_eq!(check(HttpVersion::HTTP_1_0, &["chunked"], false), ambiguous);
        assert_eq!(check(v11, &["chunked, gzip"], false), ambiguous);
        assert_eq!(check(v11, &["chunked", "identity"], false), ambiguous);
        assert_eq!(check(v11, &[""], false), ambiguous);
        assert_eq!(check(v11, &["xchunked"], false), ambiguous);
    }
}
