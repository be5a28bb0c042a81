//! What one endpoint wants from permessage-deflate.

/// The permessage-deflate settings of one endpoint, used by both roles.
///
/// The four RFC 7692 parameters keep their meaning in both roles: they are about
/// the *server's* or the *client's* compressor, whichever side this config is for.
///
/// | field | as a client (offer) | as a server (response) |
/// |-------|---------------------|------------------------|
/// | `server_no_context_takeover` | ask the server to reset per message | reset our compressor per message |
/// | `client_no_context_takeover` | promise to reset per message | make the client reset per message |
/// | `server_max_window_bits` | ask the server to use at most this window | use at most this window |
/// | `client_max_window_bits` | use at most this window (sent as a hint) | make the client use at most this window, if it offered the parameter |
///
/// Window bits outside 8–15 are clamped into that range; a level above 9 is
/// treated as 9.
///
/// ```
/// use socketwire::deflate::DeflateConfig;
/// let config = DeflateConfig {
///     server_no_context_takeover: true,
///     client_max_window_bits: Some(10),
///     ..DeflateConfig::default()
/// };
/// assert_eq!(
///     config.client_offer().as_deref(),
///     Some("permessage-deflate; server_no_context_takeover; client_max_window_bits=10")
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeflateConfig {
    /// Offer (client) or accept (server) permessage-deflate at all.
    pub enabled: bool,
    /// `server_no_context_takeover` (RFC 7692 §7.1.1.1).
    pub server_no_context_takeover: bool,
    /// `client_no_context_takeover` (RFC 7692 §7.1.1.2).
    pub client_no_context_takeover: bool,
    /// `server_max_window_bits` (RFC 7692 §7.1.2.1), 8–15; `None` = no limit (15).
    pub server_max_window_bits: Option<u8>,
    /// `client_max_window_bits` (RFC 7692 §7.1.2.2), 8–15; `None` = no limit (15).
    pub client_max_window_bits: Option<u8>,
    /// Client only: include `client_max_window_bits` in the offer even when
    /// `client_max_window_bits` is `None` (valueless: "the server may limit my
    /// window"). When `false` and no value is set, a response that limits our
    /// window is rejected as not offered.
    pub offer_client_max_window_bits: bool,
    /// zlib compression level, 0 (store) to 9 (best).
    pub compression_level: u32,
    /// Messages shorter than this many bytes are sent uncompressed.
    pub compress_threshold: usize,
}

impl Default for DeflateConfig {
    /// Enabled, context takeover both ways, 15-bit windows, level 6, and
    /// messages under 32 bytes sent uncompressed.
    ///
    /// ```
    /// let c = socketwire::deflate::DeflateConfig::default();
    /// assert!(c.enabled && c.offer_client_max_window_bits);
    /// assert_eq!((c.compression_level, c.compress_threshold), (6, 32));
    /// ```
    fn default() -> Self {
        DeflateConfig {
            enabled: true,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: None,
            offer_client_max_window_bits: true,
            compression_level: 6,
            compress_threshold: 32,
        }
    }
}

impl DeflateConfig {
    /// A config with permessage-deflate switched off: no offer, every offer
    /// declined, any response naming permessage-deflate rejected.
    ///
    /// ```
    /// let c = socketwire::deflate::DeflateConfig::disabled();
    /// assert_eq!(c.client_offer(), None);
    /// ```
    pub fn disabled() -> Self {
        DeflateConfig {
            enabled: false,
            ..DeflateConfig::default()
        }
    }

    /// The compression level as a flate2 value (clamped to 0–9).
    pub(crate) fn level(&self) -> flate2::Compression {
        flate2::Compression::new(self.compression_level.min(9))
    }
}

/// Clamps window bits into RFC 7692's 8–15.
pub(crate) fn clamp_window_bits(bits: u8) -> u8 {
    bits.clamp(8, 15)
}
