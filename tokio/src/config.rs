//! [`Config`]: the core's limits and timers, permessage-deflate, the write
//! buffer bound and the handshake's caps.

use std::time::Duration;

use socketwire::deflate::{DeflateConfig, DeflatePool, PerMessageDeflate};
use socketwire::handshake::HeaderLimits;
use socketwire::ws::{self, Limits, Role};

/// Whether to negotiate permessage-deflate (RFC 7692).
///
/// ```
/// use socketwire_tokio::Deflate;
/// use socketwire::deflate::{DeflateConfig, DeflatePool, PerMessageDeflate};
/// let on = Deflate::Enabled(DeflateConfig { server_no_context_takeover: true, ..DeflateConfig::default() });
/// assert!(matches!(Deflate::default(), Deflate::RoleDefault));
/// # let _ = on;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Deflate {
    /// As Node's `ws` does: clients offer it (with the default settings),
    /// servers decline every offer.
    #[default]
    RoleDefault,
    /// Offer (client) or accept (server) it with these settings.
    Enabled(DeflateConfig),
    /// Never offer or accept it.
    Disabled,
}

impl Deflate {
    /// The settings to negotiate with in `role`, or `None` for no compression.
    pub(crate) fn for_role(&self, role: Role) -> Option<DeflateConfig> {
        match (self, role) {
            (Deflate::RoleDefault, Role::Client) => Some(DeflateConfig::default()),
            (Deflate::Enabled(config), _) if config.enabled => Some(config.clone()),
            _ => None,
        }
    }
}

/// How a [`WebSocketStream`](crate::WebSocketStream) and its handshake behave.
///
/// Every queue has a cap and every wait a deadline:
///
/// | field | bounds | when it is hit |
/// |-------|--------|----------------|
/// | `limits` | incoming frames and messages | close 1009 (or 1002), the stream yields [`Error::Protocol`](crate::Error::Protocol) |
/// | `max_write_buffer` | bytes waiting to be written | `poll_ready` waits; `start_send` fails with [`Error::WriteBufferFull`](crate::Error::WriteBufferFull) |
/// | `idle_timeout` | time without input | close 1001, the stream yields [`Error::Aborted`](crate::Error::Aborted) |
/// | `close_timeout` | wait for the peer's close after ours | the transport is shut down |
/// | `handshake_timeout` | the opening handshake | [`Error::HandshakeTimeout`](crate::Error::HandshakeTimeout) |
/// | `header_limits` | the handshake's head | 431 (server), [`Error::Handshake`](crate::Error::Handshake) |
///
/// ```
/// use std::time::Duration;
/// use socketwire_tokio::{Config, Deflate};
/// let config = Config {
///     deflate: Deflate::Enabled(Default::default()),
///     keepalive_interval: Some(Duration::from_secs(20)),
///     idle_timeout: Some(Duration::from_secs(60)),
///     ..Config::default()
/// };
/// assert_eq!(config.max_write_buffer, 1 << 20);
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// Caps on incoming frames and messages (the core's defaults: 16 MiB frames,
    /// 64 MiB messages, 100 000 fragments).
    pub limits: Limits,
    /// permessage-deflate: on for clients, off for servers unless enabled.
    pub deflate: Deflate,
    /// Send a ping after this long without input (default: never).
    pub keepalive_interval: Option<Duration>,
    /// Give up on a peer that sent nothing for this long (default: never).
    pub idle_timeout: Option<Duration>,
    /// After our close, wait this long for the peer's (default 10 s).
    pub close_timeout: Option<Duration>,
    /// Most bytes of output waiting to be written before `poll_ready` waits
    /// (default 1 MiB). The buffer never holds more than this plus one message.
    pub max_write_buffer: usize,
    /// The opening handshake must finish within this (default 10 s).
    pub handshake_timeout: Option<Duration>,
    /// Caps on the handshake's request or response head (default 16 KiB, 64
    /// fields).
    pub header_limits: HeaderLimits,
    /// Where a permessage-deflate direction without context takeover borrows
    /// its compressor or decompressor for one message at a time, instead of
    /// owning one for the connection's life (default: none, each connection
    /// owns its own). Share one pool among the connections of a server: an idle
    /// connection then holds no compression state.
    ///
    /// ```
    /// use socketwire::deflate::{DeflateConfig, DeflatePool};
    /// use socketwire_tokio::{Config, Deflate};
    /// let config = Config {
    ///     deflate: Deflate::Enabled(DeflateConfig {
    ///         server_no_context_takeover: true,
    ///         client_no_context_takeover: true,
    ///         ..DeflateConfig::default()
    ///     }),
    ///     deflate_pool: Some(DeflatePool::new(64)),
    ///     ..Config::default()
    /// };
    /// # let _ = config;
    /// ```
    pub deflate_pool: Option<DeflatePool>,
}

impl Default for Config {
    fn default() -> Self {
        let core = ws::Config::default();
        Config {
            limits: core.limits,
            deflate: Deflate::RoleDefault,
            keepalive_interval: core.keepalive_interval,
            idle_timeout: core.idle_timeout,
            close_timeout: core.close_timeout,
            max_write_buffer: 1 << 20,
            handshake_timeout: Some(Duration::from_secs(10)),
            header_limits: HeaderLimits::DEFAULT,
            deflate_pool: None,
        }
    }
}

impl Config {
    /// The core connection's configuration.
    pub(crate) fn connection_config(&self) -> ws::Config {
        ws::Config {
            limits: self.limits,
            keepalive_interval: self.keepalive_interval,
            idle_timeout: self.idle_timeout,
            close_timeout: self.close_timeout,
            ..ws::Config::default()
        }
    }

    /// A negotiated permessage-deflate, borrowing from [`Config::deflate_pool`]
    /// when there is one.
    pub(crate) fn extension(&self, extension: PerMessageDeflate) -> PerMessageDeflate {
        match &self.deflate_pool {
            Some(pool) => extension.with_pool(pool),
            None => extension,
        }
    }
}
