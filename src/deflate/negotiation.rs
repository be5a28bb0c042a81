//! permessage-deflate negotiation (RFC 7692 §5, §7.1) for both roles, over the
//! parsed `Sec-WebSocket-Extensions` list.

use alloc::string::{String, ToString};
use core::fmt::Write;

use super::config::{DeflateConfig, clamp_window_bits};
use super::error::NegotiationError;
use super::per_message::PerMessageDeflate;
use crate::handshake::{ExtensionOffer, ExtensionParam};
use crate::ws::Role;

/// The extension token, `permessage-deflate` (RFC 7692 §7).
///
/// ```
/// assert_eq!(socketwire::deflate::EXTENSION_NAME, "permessage-deflate");
/// ```
pub const EXTENSION_NAME: &str = "permessage-deflate";

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// The agreed parameters of a permessage-deflate session (RFC 7692 §7.1): what
/// the server's response says, plus (on the client) the limits the client
/// promised in its own offer.
///
/// A window of `None` means no limit (15 bits).
///
/// ```
/// use socketwire::deflate::DeflateParams;
/// let p = DeflateParams { server_no_context_takeover: true, client_max_window_bits: Some(10), ..Default::default() };
/// assert_eq!(p.to_header_value(), "permessage-deflate; server_no_context_takeover; client_max_window_bits=10");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeflateParams {
    /// The server resets its compressor after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after each message.
    pub client_no_context_takeover: bool,
    /// The server's compressor window limit (8–15).
    pub server_max_window_bits: Option<u8>,
    /// The client's compressor window limit (8–15).
    pub client_max_window_bits: Option<u8>,
}

impl DeflateParams {
    /// The `Sec-WebSocket-Extensions` element for these parameters, as a server
    /// sends it in its response.
    ///
    /// ```
    /// use socketwire::deflate::DeflateParams;
    /// assert_eq!(DeflateParams::default().to_header_value(), "permessage-deflate");
    /// ```
    pub fn to_header_value(&self) -> String {
        write_element(self, false)
    }

    /// The window bits `role`'s compressor may use (15 when unlimited).
    ///
    /// ```
    /// use socketwire::{deflate::DeflateParams, ws::Role};
    /// let p = DeflateParams { server_max_window_bits: Some(9), ..Default::default() };
    /// assert_eq!(p.window_bits_of(Role::Server), 9);
    /// assert_eq!(p.window_bits_of(Role::Client), 15);
    /// ```
    pub fn window_bits_of(&self, role: Role) -> u8 {
        let limit = match role {
            Role::Server => self.server_max_window_bits,
            Role::Client => self.client_max_window_bits,
        };
        clamp_window_bits(limit.unwrap_or(15))
    }

    /// Whether `role` resets its compressor after each message.
    ///
    /// ```
    /// use socketwire::{deflate::DeflateParams, ws::Role};
    /// let p = DeflateParams { client_no_context_takeover: true, ..Default::default() };
    /// assert!(p.no_context_takeover_of(Role::Client));
    /// assert!(!p.no_context_takeover_of(Role::Server));
    /// ```
    pub fn no_context_takeover_of(&self, role: Role) -> bool {
        match role {
            Role::Server => self.server_no_context_takeover,
            Role::Client => self.client_no_context_takeover,
        }
    }
}

/// A permessage-deflate offer the server accepted.
///
/// ```
/// use socketwire::deflate::DeflateConfig;
/// use socketwire::handshake::ExtensionOffer;
/// let offer = ExtensionOffer { name: "permessage-deflate", params: vec![] };
/// let accepted = DeflateConfig::default().accept_offers(&[offer]).unwrap();
/// assert_eq!(accepted.response, "permessage-deflate");
/// assert_eq!(accepted.offer_index, 0);
/// ```
#[derive(Debug)]
pub struct AcceptedOffer {
    /// The element to put in the response's `Sec-WebSocket-Extensions`.
    pub response: String,
    /// The agreed parameters (the same as `response`).
    pub params: DeflateParams,
    /// Which offer of the list was accepted.
    pub offer_index: usize,
    /// The server-role extension to hand to the connection.
    pub extension: PerMessageDeflate,
}

/// Who sent the parameters: the rules differ for `client_max_window_bits`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sender {
    Client,
    Server,
}

/// The parameters of one received offer or response, checked for syntax.
#[derive(Default)]
struct ReceivedParams {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value (only valid in an offer).
    client_max_window_bits: Option<Option<u8>>,
}

fn is_extension(offer: &ExtensionOffer<'_>) -> bool {
    offer.name.eq_ignore_ascii_case(EXTENSION_NAME)
}

/// Parses a window bits value.
fn parse_window_bits(name: &str, value: &str) -> Result<u8, NegotiationError> {
    // RFC 7692 §7.1.2.1: a "decimal integer value without leading zeroes between 8 to 15, inclusive".
    // https://www.rfc-editor.org/rfc/rfc7692#section-7.1.2.1
    let bits = match value {
        "8" => 8,
        "9" => 9,
        "10" => 10,
        "11" => 11,
        "12" => 12,
        "13" => 13,
        "14" => 14,
        "15" => 15,
        _ => {
            return Err(NegotiationError::InvalidWindowBits {
                name: name.to_string(),
                value: value.to_string(),
            });
        }
    };
    Ok(bits)
}

/// Checks a parameter list for unknown names, duplicates and bad values.
fn parse_params(
    params: &[ExtensionParam<'_>],
    sender: Sender,
) -> Result<ReceivedParams, NegotiationError> {
    let mut received = ReceivedParams::default();
    let mut seen = [false; 4];
    for param in params {
        let name = param.name;
        let index = if name.eq_ignore_ascii_case(SERVER_NO_CONTEXT_TAKEOVER) {
            0
        } else if name.eq_ignore_ascii_case(CLIENT_NO_CONTEXT_TAKEOVER) {
            1
        } else if name.eq_ignore_ascii_case(SERVER_MAX_WINDOW_BITS) {
            2
        } else if name.eq_ignore_ascii_case(CLIENT_MAX_WINDOW_BITS) {
            3
        } else {
            // RFC 7692 §7: decline/fail if it "contains an extension parameter not defined for use in an offer".
            // https://www.rfc-editor.org/rfc/rfc7692#section-7
            return Err(NegotiationError::UnknownParameter(name.to_string()));
        };
        // RFC 7692 §7: decline/fail if it "contains multiple extension parameters with the same name".
        // https://www.rfc-editor.org/rfc/rfc7692#section-7
        if seen[index] {
            return Err(NegotiationError::DuplicateParameter(name.to_string()));
        }
        seen[index] = true;
        let value = param.value.as_deref();
        match index {
            0 | 1 => {
                // RFC 7692 §7.1.1: "This extension parameter has no value."
                // https://www.rfc-editor.org/rfc/rfc7692#section-7.1.1
                if value.is_some() {
                    return Err(NegotiationError::UnexpectedValue(name.to_string()));
                }
                if index == 0 {
                    received.server_no_context_takeover = true;
                } else {
                    received.client_no_context_takeover = true;
                }
            }
            2 => {
                // RFC 7692 §7.1.2.1: server_max_window_bits "has a value" (decimal 8-15).
                // https://www.rfc-editor.org/rfc/rfc7692#section-7.1.2.1
                let Some(value) = value else {
                    return Err(NegotiationError::MissingValue(name.to_string()));
                };
                received.server_max_window_bits = Some(parse_window_bits(name, value)?);
            }
            _ => match (value, sender) {
                (Some(value), _) => {
                    received.client_max_window_bits = Some(Some(parse_window_bits(name, value)?));
                }
                // RFC 7692 §7.1.2.2: "This parameter may have no value" (in an offer only).
                // https://www.rfc-editor.org/rfc/rfc7692#section-7.1.2.2
                (None, Sender::Client) => received.client_max_window_bits = Some(None),
                // RFC 7692 §7.1.2.2: a response's client_max_window_bits "MUST have a value".
                // https://www.rfc-editor.org/rfc/rfc7692#section-7.1.2.2
                (None, Sender::Server) => {
                    return Err(NegotiationError::MissingValue(name.to_string()));
                }
            },
        }
    }
    Ok(received)
}

/// The one writer of a `permessage-deflate` element (RFC 7692 §7): the name, then each
/// parameter that is set, `; `-separated. `bare_client_window` adds a valueless
/// `client_max_window_bits` (only a client's offer has one).
fn write_element(params: &DeflateParams, bare_client_window: bool) -> String {
    let mut value = String::from(EXTENSION_NAME);
    for (set, name) in [
        (
            params.server_no_context_takeover,
            SERVER_NO_CONTEXT_TAKEOVER,
        ),
        (
            params.client_no_context_takeover,
            CLIENT_NO_CONTEXT_TAKEOVER,
        ),
    ] {
        if set {
            value.push_str("; ");
            value.push_str(name);
        }
    }
    for (bits, name) in [
        (params.server_max_window_bits, SERVER_MAX_WINDOW_BITS),
        (params.client_max_window_bits, CLIENT_MAX_WINDOW_BITS),
    ] {
        if let Some(bits) = bits {
            // Writing to a String cannot fail.
            let _ = write!(value, "; {name}={bits}");
        }
    }
    if bare_client_window {
        value.push_str("; ");
        value.push_str(CLIENT_MAX_WINDOW_BITS);
    }
    value
}

fn min_limit(a: Option<u8>, b: Option<u8>) -> Option<u8> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

impl DeflateConfig {
    /// (Client) The `Sec-WebSocket-Extensions` value to offer, or `None` when
    /// disabled.
    ///
    /// ```
    /// use socketwire::deflate::DeflateConfig;
    /// let c = DeflateConfig { server_max_window_bits: Some(10), client_no_context_takeover: true, ..DeflateConfig::default() };
    /// assert_eq!(
    ///     c.client_offer().as_deref(),
    ///     Some("permessage-deflate; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits")
    /// );
    /// ```
    pub fn client_offer(&self) -> Option<String> {
        if !self.enabled {
            return None;
        }
        let params = DeflateParams {
            server_no_context_takeover: self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: self.server_max_window_bits.map(clamp_window_bits),
            client_max_window_bits: self.client_max_window_bits.map(clamp_window_bits),
        };
        // RFC 7692 §7.1.2.2: a client "MAY include the client_max_window_bits extension
        // parameter in an extension negotiation offer" with no value, to say it can take one.
        // https://www.rfc-editor.org/rfc/rfc7692#section-7.1.2.2
        let bare_client_window =
            params.client_max_window_bits.is_none() && self.offer_client_max_window_bits;
        Some(write_element(&params, bare_client_window))
    }

    /// (Server) Judges one offer: the parameters to answer with, or why the offer
    /// is declined.
    ///
    /// Every well-formed offer is acceptable (all four parameters are supported);
    /// our own limits are added to the answer. A `client_max_window_bits` limit
    /// of ours is only applied when the client offered that parameter (RFC 7692
    /// §7.1.2.2); otherwise the client keeps a 15-bit window. A value the
    /// client put on its own `client_max_window_bits` is echoed (capped by our
    /// limit), so the decompressor can use the smaller window.
    ///
    /// ```
    /// use socketwire::deflate::{DeflateConfig, NegotiationError};
    /// use socketwire::handshake::{ExtensionOffer, ExtensionParam};
    /// let offer = ExtensionOffer {
    ///     name: "permessage-deflate",
    ///     params: vec![ExtensionParam { name: "server_max_window_bits", value: Some("16".into()) }],
    /// };
    /// assert!(matches!(
    ///     DeflateConfig::default().accept_offer(&offer),
    ///     Err(NegotiationError::InvalidWindowBits { .. })
    /// ));
    /// ```
    pub fn accept_offer(
        &self,
        offer: &ExtensionOffer<'_>,
    ) -> Result<DeflateParams, NegotiationError> {
        if !is_extension(offer) {
            return Err(NegotiationError::OtherExtension(offer.name.to_string()));
        }
        if !self.enabled {
            return Err(NegotiationError::NotOffered);
        }
        let received = parse_params(&offer.params, Sender::Client)?;
        // RFC 7692 §7.1.1.1: the server accepts server_no_context_takeover "by including" it in the response.
        // https://www.rfc-editor.org/rfc/rfc7692#section-7.1.1.1
        let server_no_context_takeover =
            received.server_no_context_takeover || self.server_no_context_takeover;
        // The client's own client_no_context_takeover is a hint; echo it so both sides agree.
        let client_no_context_takeover =
            received.client_no_context_takeover || self.client_no_context_takeover;
        // RFC 7692 §7.1.2.1: accept "by including server_max_window_bits ... with the same or smaller value".
        // https://www.rfc-editor.org/rfc/rfc7692#section-7.1.2.1
        let server_max_window_bits = min_limit(
            received.server_max_window_bits,
            self.server_max_window_bits.map(clamp_window_bits),
        );
        let client_max_window_bits = match received.client_max_window_bits {
            // RFC 7692 §7.1.2.2: without it in the offer, the response "MUST NOT include" client_max_window_bits.
            // https://www.rfc-editor.org/rfc/rfc7692#section-7.1.2.2
            None => None,
            Some(offered) => min_limit(offered, self.client_max_window_bits.map(clamp_window_bits)),
        };
        Ok(DeflateParams {
            server_no_context_takeover,
            client_no_context_takeover,
            server_max_window_bits,
            client_max_window_bits,
        })
    }

    /// (Server) Accepts the first acceptable permessage-deflate offer of the
    /// client's `Sec-WebSocket-Extensions` list (other extensions are skipped),
    /// or `None` when there is none or we are disabled.
    ///
    /// ```
    /// use socketwire::deflate::DeflateConfig;
    /// use socketwire::handshake::{ExtensionOffer, ExtensionParam};
    /// let bad = ExtensionOffer {
    ///     name: "permessage-deflate",
    ///     params: vec![ExtensionParam { name: "x-unknown", value: None }],
    /// };
    /// let good = ExtensionOffer {
    ///     name: "permessage-deflate",
    ///     params: vec![ExtensionParam { name: "server_no_context_takeover", value: None }],
    /// };
    /// let accepted = DeflateConfig::default().accept_offers(&[bad, good]).unwrap();
    /// assert_eq!(accepted.offer_index, 1);
    /// assert_eq!(accepted.response, "permessage-deflate; server_no_context_takeover");
    /// ```
    pub fn accept_offers(&self, offers: &[ExtensionOffer<'_>]) -> Option<AcceptedOffer> {
        offers.iter().enumerate().find_map(|(offer_index, offer)| {
            let params = self.accept_offer(offer).ok()?;
            Some(AcceptedOffer {
                response: params.to_header_value(),
                params,
                offer_index,
                extension: PerMessageDeflate::new(Role::Server, params, self),
            })
        })
    }

    /// (Client) Checks the server's response against what [`client_offer`]
    /// offered and returns the agreed parameters: `Ok(None)` when the server did
    /// not accept permessage-deflate.
    ///
    /// [`client_offer`]: DeflateConfig::client_offer
    ///
    /// ```
    /// use socketwire::deflate::{DeflateConfig, NegotiationError};
    /// use socketwire::handshake::{ExtensionOffer, ExtensionParam};
    /// let config = DeflateConfig { offer_client_max_window_bits: false, ..DeflateConfig::default() };
    /// let response = [ExtensionOffer {
    ///     name: "permessage-deflate",
    ///     params: vec![ExtensionParam { name: "client_max_window_bits", value: Some("10".into()) }],
    /// }];
    /// assert_eq!(
    ///     config.response_params(&response),
    ///     Err(NegotiationError::ParameterNotOffered("client_max_window_bits".into()))
    /// );
    /// ```
    pub fn response_params(
        &self,
        response: &[ExtensionOffer<'_>],
    ) -> Result<Option<DeflateParams>, NegotiationError> {
        let mut ours = response.iter().filter(|element| is_extension(element));
        let Some(element) = ours.next() else {
            return Ok(None);
        };
        // RFC 6455 §9.1: the server's response may only hold extensions the client offered.
        // https://www.rfc-editor.org/rfc/rfc6455#section-9.1
        if !self.enabled {
            return Err(NegotiationError::NotOffered);
        }
        // RFC 7692 §7: fail if "the client does not support the configuration that the response represents".
        // https://www.rfc-editor.org/rfc/rfc7692#section-7
        if ours.next().is_some() {
            return Err(NegotiationError::MultipleResponses);
        }
        let received = parse_params(&element.params, Sender::Server)?;

        // RFC 7692 §7.1.1.1: the server accepts server_no_context_takeover "by including" it.
        // https://www.rfc-editor.org/rfc/rfc7692#section-7.1.1.1
        if self.server_no_context_takeover && !received.server_no_context_takeover {
            return Err(NegotiationError::ParameterNotAccepted(
                SERVER_NO_CONTEXT_TAKEOVER.to_string(),
            ));
        }
        if let Some(requested) = self.server_max_window_bits.map(clamp_window_bits) {
            // RFC 7692 §7.1.2.1: accept "by including server_max_window_bits ... with the same or smaller value".
            // https://www.rfc-editor.org/rfc/rfc7692#section-7.1.2.1
            match received.server_max_window_bits {
                None => {
                    return Err(NegotiationError::ParameterNotAccepted(
                        SERVER_MAX_WINDOW_BITS.to_string(),
                    ));
                }
                Some(bits) if bits > requested => {
                    return Err(NegotiationError::ParameterNotOffered(
                        SERVER_MAX_WINDOW_BITS.to_string(),
                    ));
                }
                Some(_) => {}
            }
        }
        let offered_client_window =
            self.client_max_window_bits.is_some() || self.offer_client_max_window_bits;
        // `parse_params` made sure a response's client_max_window_bits has a value.
        let response_client_window = received.client_max_window_bits.flatten();
        if let Some(bits) = response_client_window {
            // RFC 7692 §7.1.2.2: without it in the offer, the response "MUST NOT include" client_max_window_bits.
            // https://www.rfc-editor.org/rfc/rfc7692#section-7.1.2.2
            if !offered_client_window {
                return Err(NegotiationError::ParameterNotOffered(
                    CLIENT_MAX_WINDOW_BITS.to_string(),
                ));
            }
            // RFC 7692 §7.1.2.2: the server answers "with a value equal to or smaller than the received value".
            // https://www.rfc-editor.org/rfc/rfc7692#section-7.1.2.2
            if let Some(offered) = self.client_max_window_bits.map(clamp_window_bits)
                && bits > offered
            {
                return Err(NegotiationError::ParameterNotOffered(
                    CLIENT_MAX_WINDOW_BITS.to_string(),
                ));
            }
        }
        Ok(Some(DeflateParams {
            server_no_context_takeover: received.server_no_context_takeover,
            // Our offer's client_no_context_takeover is a promise we keep.
            client_no_context_takeover: received.client_no_context_takeover
                || self.client_no_context_takeover,
            server_max_window_bits: received.server_max_window_bits,
            client_max_window_bits: min_limit(
                response_client_window,
                self.client_max_window_bits.map(clamp_window_bits),
            ),
        }))
    }

    /// (Client) Like [`response_params`](DeflateConfig::response_params), and
    /// builds the client-role extension for the connection.
    ///
    /// ```
    /// use socketwire::deflate::DeflateConfig;
    /// use socketwire::handshake::{ExtensionOffer, ExtensionParam};
    /// let response = [ExtensionOffer {
    ///     name: "permessage-deflate",
    ///     params: vec![ExtensionParam { name: "client_no_context_takeover", value: None }],
    /// }];
    /// let ext = DeflateConfig::default().accept_response(&response).unwrap().unwrap();
    /// assert!(ext.params().client_no_context_takeover);
    /// assert!(DeflateConfig::default().accept_response(&[]).unwrap().is_none());
    /// ```
    pub fn accept_response(
        &self,
        response: &[ExtensionOffer<'_>],
    ) -> Result<Option<PerMessageDeflate>, NegotiationError> {
        Ok(self
            .response_params(response)?
            .map(|params| PerMessageDeflate::new(Role::Client, params, self)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn params<'a>(list: &[(&'a str, Option<&'a str>)]) -> Vec<ExtensionParam<'a>> {
        list.iter()
            .map(|&(name, value)| ExtensionParam {
                name,
                value: value.map(Into::into),
            })
            .collect()
    }

    #[test]
    fn window_bits_values() {
        for (value, ok) in [
            ("8", true),
            ("15", true),
            ("7", false),
            ("16", false),
            ("08", false),
            ("+9", false),
            ("", false),
            (" 9", false),
            ("9.0", false),
        ] {
            assert_eq!(parse_window_bits("x", value).is_ok(), ok, "{value:?}");
        }
    }

    #[test]
    fn client_window_valueless_only_from_client() {
        let list = params(&[("client_max_window_bits", None)]);
        assert!(parse_params(&list, Sender::Client).is_ok());
        assert_eq!(
            parse_params(&list, Sender::Server).err(),
            Some(NegotiationError::MissingValue(
                "client_max_window_bits".into()
            ))
        );
    }

    #[test]
    fn names_are_case_insensitive() {
        let list = params(&[("Server_No_Context_Takeover", None)]);
        assert!(
            parse_params(&list, Sender::Client)
                .unwrap()
                .server_no_context_takeover
        );
        let dup = params(&[
            ("server_no_context_takeover", None),
            ("SERVER_NO_CONTEXT_TAKEOVER", None),
        ]);
        assert!(matches!(
            parse_params(&dup, Sender::Client),
            Err(NegotiationError::DuplicateParameter(_))
        ));
    }
}
