//! The HTTP side of the server: what a request carries in, what goes back out.

use bytes::{BufMut, Bytes, BytesMut};

use super::Error;
use super::payload::write_json_string;

/// The HTTP method of a request.
///
/// ```
/// use socketwire::engineio::Method;
/// assert_eq!(Method::from_name("POST"), Method::Post);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`: handshake or long poll.
    Get,
    /// `POST`: packets from the client.
    Post,
    /// Anything else.
    Other,
}

impl Method {
    /// Maps a method name (case-sensitive, as HTTP/1.1 defines it).
    ///
    /// ```
    /// use socketwire::engineio::Method;
    /// assert_eq!(Method::from_name("PUT"), Method::Other);
    /// ```
    pub fn from_name(name: &str) -> Method {
        match name {
            "GET" => Method::Get,
            "POST" => Method::Post,
            _ => Method::Other,
        }
    }
}

/// What the server needs from one HTTP request. The glue reads the whole body
/// (refusing to read more than [`ServerConfig::max_payload`](super::ServerConfig)).
///
/// ```
/// use socketwire::engineio::{Method, RequestInfo};
/// let body = bytes::Bytes::new();
/// let req = RequestInfo { method: Method::Get, query: "EIO=4&transport=polling", content_type: None, body: &body };
/// assert_eq!(req.query_param("EIO"), Some("4"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// The method.
    pub method: Method,
    /// The raw query string (without `?`).
    pub query: &'a str,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The complete body.
    pub body: &'a Bytes,
}

impl<'a> RequestInfo<'a> {
    /// A request with no `Content-Type` (set the field for binary polling bodies).
    ///
    /// ```
    /// use socketwire::engineio::{Method, RequestInfo};
    /// let body = bytes::Bytes::from_static(b"4hello");
    /// let req = RequestInfo::new(Method::Post, "EIO=4&transport=polling", &body);
    /// assert_eq!((req.method, req.content_type, &req.body[..]), (Method::Post, None, &b"4hello"[..]));
    /// ```
    pub fn new(method: Method, query: &'a str, body: &'a Bytes) -> RequestInfo<'a> {
        RequestInfo {
            method,
            query,
            content_type: None,
            body,
        }
    }

    /// The raw value of a query parameter (first occurrence, not percent-decoded).
    ///
    /// ```
    /// use socketwire::engineio::{Method, RequestInfo};
    /// let body = bytes::Bytes::new();
    /// let req = RequestInfo { method: Method::Get, query: "b64&sid=x", content_type: None, body: &body };
    /// assert_eq!(req.query_param("b64"), Some(""));
    /// assert_eq!(req.query_param("j"), None);
    /// ```
    pub fn query_param(&self, name: &str) -> Option<&str> {
        query_param(self.query, name)
    }
}

/// The raw value of a query parameter (first occurrence, not percent-decoded).
pub(crate) fn query_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| match pair.split_once('=') {
            Some((key, value)) if key == name => Some(value),
            None if pair == name => Some(""),
            _ => None,
        })
}

/// An HTTP response to write back.
///
/// ```
/// use socketwire::engineio::{Error, Response};
/// let r = Response::error(&Error::UnknownSid);
/// assert_eq!(r.status, 400);
/// assert_eq!(&r.body[..], br#"{"code":1,"message":"Session ID unknown"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The `Content-Type` header value (empty for no body).
    pub content_type: &'static str,
    /// The body.
    pub body: Bytes,
}

impl Response {
    /// The reply for an error: `{"code":N,"message":…}` (`application/json`) for
    /// handshake errors, an empty body with [`Error::status`] otherwise.
    ///
    /// ```
    /// use socketwire::engineio::{Error, Response};
    /// assert_eq!(Response::error(&Error::PayloadTooLarge { len: 9, max: 1 }).status, 413);
    /// ```
    pub fn error(error: &Error) -> Response {
        match (error.handshake_code(), error.handshake_message()) {
            (Some(code), Some(message)) => {
                let mut body = BytesMut::with_capacity(48);
                body.put_slice(b"{\"code\":");
                body.put_u8(b'0' + code);
                body.put_slice(b",\"message\":");
                write_json_string(message, &mut body);
                body.put_u8(b'}');
                Response {
                    status: error.status(),
                    content_type: "application/json",
                    body: body.freeze(),
                }
            }
            _ => Response::bare(error.status()),
        }
    }

    /// The reply that refuses a WebSocket upgrade request, as the reference
    /// server writes it on the raw socket (server.ts `abortUpgrade`): always
    /// `400 Bad Request`, the error's message as a `text/html` body (not the
    /// JSON of [`Response::error`]); send it with `Connection: close`.
    ///
    /// ```
    /// use socketwire::engineio::{Error, Response};
    /// let r = Response::upgrade_error(&Error::UnknownSid);
    /// assert_eq!((r.status, r.content_type, &r.body[..]), (400, "text/html", &b"Session ID unknown"[..]));
    /// assert_eq!(Response::upgrade_error(&Error::Forbidden).status, 400);
    /// ```
    pub fn upgrade_error(error: &Error) -> Response {
        Response {
            status: 400,
            content_type: "text/html",
            body: Bytes::from(alloc::string::ToString::to_string(error)),
        }
    }

    /// `200 ok`, the answer to a POST (`text/html`, as the reference server).
    pub(crate) fn ok() -> Response {
        Response {
            status: 200,
            content_type: "text/html",
            body: Bytes::from_static(b"ok"),
        }
    }

    pub(crate) fn bare(status: u16) -> Response {
        Response {
            status,
            content_type: "",
            body: Bytes::new(),
        }
    }
}

/// What to do with an HTTP request.
///
/// ```
/// use socketwire::engineio::Reply;
/// assert!(matches!(Reply::Wait, Reply::Wait));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "the request must be answered now or parked"]
pub enum Reply {
    /// Answer now.
    Respond(Response),
    /// A long-poll GET with nothing to send: keep the request open until the
    /// session's `poll_long_poll` returns its response.
    Wait,
}
