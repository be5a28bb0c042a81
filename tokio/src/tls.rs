//! `wss://` for [`connect_async`](crate::connect_async): TLS through rustls
//! (feature `rustls`, with the `ring` provider and the Mozilla roots of
//! `webpki-roots` unless the caller brings a `ClientConfig` of their own).
//!
//! Servers need nothing from this module: accept the TLS connection with
//! `tokio_rustls::TlsAcceptor` and hand the stream to
//! [`accept_async`](crate::accept_async), which takes any transport.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A client transport that is plain TCP (`ws://`) or TLS over it (`wss://`).
///
/// ```no_run
/// use socketwire_tokio::MaybeTlsStream;
/// # async fn run() -> Result<(), socketwire_tokio::Error> {
/// let (ws, _) = socketwire_tokio::connect_async("ws://127.0.0.1:9002/").await?;
/// assert!(matches!(ws.get_ref(), MaybeTlsStream::Plain(_)));
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream<S> {
    /// No TLS.
    Plain(S),
    /// TLS through rustls.
    #[cfg(feature = "rustls")]
    Rustls(Box<tokio_rustls::client::TlsStream<S>>),
}

/// How [`connect_async_tls_with_config`](crate::connect_async_tls_with_config)
/// secures a `wss://` connection.
///
/// ```
/// use socketwire_tokio::Connector;
/// let connector = Connector::Plain; // only ws:// URLs, then
/// # let _ = connector;
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum Connector {
    /// No TLS: a `wss://` URL is refused.
    Plain,
    /// rustls with this configuration (your roots, client certificates, ALPN).
    #[cfg(feature = "rustls")]
    Rustls(std::sync::Arc<rustls::ClientConfig>),
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Connector::Plain => f.write_str("Connector::Plain"),
            #[cfg(feature = "rustls")]
            Connector::Rustls(_) => f.write_str("Connector::Rustls(..)"),
        }
    }
}

impl Connector {
    /// The connector `connect_async` uses for `wss://`: rustls with the
    /// `webpki-roots` Mozilla roots when the `rustls` feature is on, otherwise
    /// [`Connector::Plain`].
    ///
    /// ```
    /// let _ = socketwire_tokio::Connector::default_for_wss();
    /// ```
    pub fn default_for_wss() -> Connector {
        #[cfg(feature = "rustls")]
        {
            static DEFAULT: std::sync::OnceLock<std::sync::Arc<rustls::ClientConfig>> =
                std::sync::OnceLock::new();
            let config = DEFAULT.get_or_init(|| {
                let roots = rustls::RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                };
                let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .expect("ring supports the default protocol versions")
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                std::sync::Arc::new(config)
            });
            Connector::Rustls(config.clone())
        }
        #[cfg(not(feature = "rustls"))]
        Connector::Plain
    }

    /// The connector for a connection (`None`: [`Connector::default_for_wss`]),
    /// refused up front with [`Error::TlsNotSupported`](crate::Error::TlsNotSupported)
    /// when `tls` is asked of a plain one: the one check every client entry point
    /// makes before it connects.
    pub(crate) fn resolve(
        connector: Option<Connector>,
        tls: bool,
    ) -> Result<Connector, crate::Error> {
        let connector = connector.unwrap_or_else(Connector::default_for_wss);
        if tls && matches!(connector, Connector::Plain) {
            return Err(crate::Error::TlsNotSupported);
        }
        Ok(connector)
    }

    /// Whether a WebSocket URL asks for TLS: `ws://` no, `wss://` yes, any
    /// other scheme is an [`Error::InvalidUrl`](crate::Error::InvalidUrl).
    pub(crate) fn websocket_tls(uri: &http::Uri) -> Result<bool, crate::Error> {
        match uri.scheme_str() {
            Some("ws") => Ok(false),
            Some("wss") => Ok(true),
            _ => Err(crate::Error::InvalidUrl(
                "the scheme must be ws:// or wss://",
            )),
        }
    }

    /// Wraps `tcp` for `host`: TLS when `tls`, plain otherwise.
    pub(crate) async fn wrap<S>(
        &self,
        tcp: S,
        host: &str,
        tls: bool,
    ) -> Result<MaybeTlsStream<S>, crate::Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        if !tls {
            return Ok(MaybeTlsStream::Plain(tcp));
        }
        match self {
            Connector::Plain => {
                let _ = host;
                Err(crate::Error::TlsNotSupported)
            }
            #[cfg(feature = "rustls")]
            Connector::Rustls(config) => {
                let name = rustls::pki_types::ServerName::try_from(host.to_owned())
                    .map_err(|_| crate::Error::InvalidUrl("not a valid TLS server name"))?;
                let stream = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(name, tcp)
                    .await?;
                Ok(MaybeTlsStream::Rustls(Box::new(stream)))
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTlsStream::Plain(s) => s.is_write_vectored(),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
