//! Harnesses for the permessage-deflate fuzz targets.

use alloc::vec::Vec;

use bytes::BytesMut;

use crate::deflate::{DeflateConfig, DeflateParams, PerMessageDeflate};
use crate::handshake::{ExtensionOffer, ExtensionParam, parse_extensions};
use crate::ws::error::ProtocolError;
use crate::ws::extension::PerMessageExtension;
use crate::ws::{Config, Connection, Role};

/// A few server/client configs that exercise every branch of negotiation.
fn configs() -> [DeflateConfig; 4] {
    [
        DeflateConfig::default(),
        DeflateConfig {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: Some(10),
            client_max_window_bits: Some(9),
            ..DeflateConfig::default()
        },
        DeflateConfig {
            server_max_window_bits: Some(8),
            offer_client_max_window_bits: false,
            ..DeflateConfig::default()
        },
        DeflateConfig::disabled(),
    ]
}

/// Splits an extension header on `,` `;` `=` without any validation, so the
/// negotiation sees arbitrary names and values even where the real parser
/// would refuse the header.
fn split_loosely(text: &str) -> Vec<ExtensionOffer<'_>> {
    text.split(',')
        .map(|element| {
            let mut parts = element.split(';');
            let name = parts.next().unwrap_or("").trim();
            let params = parts
                .map(|part| match part.split_once('=') {
                    Some((name, value)) => ExtensionParam {
                        name: name.trim(),
                        value: Some(value.trim().trim_matches('"').into()),
                    },
                    None => ExtensionParam {
                        name: part.trim(),
                        value: None,
                    },
                })
                .collect();
            ExtensionOffer { name, params }
        })
        .collect()
}

fn assert_window_in_range(params: &DeflateParams) {
    for bits in [params.server_max_window_bits, params.client_max_window_bits]
        .into_iter()
        .flatten()
    {
        assert!((8..=15).contains(&bits), "window bits {bits}");
    }
}

/// `deflate_extension_header`: parse the header, run server negotiation and
/// client response validation on the result. Invariants: no panic, agreed
/// window bits within 8–15, the server's answer is itself a valid response.
pub fn extension_header(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let mut lists = Vec::new();
    if let Ok(list) = parse_extensions(text) {
        lists.push(list);
    }
    lists.push(split_loosely(text));
    for list in &lists {
        for config in configs() {
            // Server role.
            for offer in list {
                if let Ok(params) = config.accept_offer(offer) {
                    assert_window_in_range(&params);
                    // A response we would send is one we would accept as a
                    // client that asks for nothing.
                    let answer = params.to_header_value();
                    let response = split_loosely(&answer);
                    let client = DeflateConfig::default();
                    let agreed = client.response_params(&response);
                    assert!(matches!(agreed, Ok(Some(_))), "{agreed:?}");
                }
            }
            // Client role.
            if let Ok(Some(params)) = config.response_params(list) {
                assert_window_in_range(&params);
            }
        }
        // Build the extension once per list (it allocates the zlib state).
        if let Some(accepted) = DeflateConfig::default().accept_offers(list) {
            assert!(accepted.offer_index < list.len());
            assert_window_in_range(&accepted.params);
        }
    }
}

/// `deflate_inflate`: feed fuzzed frames to `decode` with a small `max_out`.
///
/// Input layout: byte 0 = flags (bit 0/1 server/client no_context_takeover,
/// bits 2-4 = peer window bits - 8, bit 5 = role, bit 6 = also round trip), bytes 1-2 = max_out (LE,
/// below 4096), then frames as `[len | fin << 7] payload`. Invariants: no
/// panic, the message buffer never passes max_out, and the remaining bytes
/// round trip through encode/decode.
pub fn inflate(data: &[u8]) {
    let [flags, low, high, rest @ ..] = data else {
        return;
    };
    let window = 8 + ((flags >> 2) & 7);
    let params = DeflateParams {
        server_no_context_takeover: flags & 1 != 0,
        client_no_context_takeover: flags & 2 != 0,
        server_max_window_bits: Some(window),
        client_max_window_bits: Some(window),
    };
    let role = if flags & 0x20 != 0 {
        Role::Server
    } else {
        Role::Client
    };
    let max_out = u64::from(u16::from_le_bytes([*low, *high]) % 4096);
    let config = DeflateConfig::default();
    let mut receiver = PerMessageDeflate::new(role, params, &config);

    let mut input = rest;
    let mut message = BytesMut::new();
    while let [header, tail @ ..] = input {
        let len = usize::from(header & 0x7f).min(tail.len());
        let fin = header & 0x80 != 0;
        let (payload, next) = tail.split_at(len);
        input = next;
        match receiver.decode(payload, fin, &mut message, max_out) {
            Ok(()) => {}
            Err(ProtocolError::MessageTooBig { len, max }) => {
                assert_eq!(max, max_out);
                assert!(len > max_out);
                break;
            }
            Err(ProtocolError::InvalidCompressedData) => break,
            Err(other) => panic!("unexpected error {other:?}"),
        }
        assert!(message.len() as u64 <= max_out);
        if fin {
            message.clear();
        }
    }

    // Round trip of the raw bytes as a message, split into two frames (only
    // when flag bit 6 is set: building two more states is the costly part).
    if flags & 0x40 == 0 {
        return;
    }
    let peer_role = match role {
        Role::Server => Role::Client,
        Role::Client => Role::Server,
    };
    let mut sender = PerMessageDeflate::new(peer_role, params, &config);
    let mut receiver = PerMessageDeflate::new(role, params, &config);
    let (first, second) = rest.split_at(rest.len() / 2);
    let mut wire = BytesMut::new();
    sender.encode(first, false, &mut wire);
    sender.encode(second, true, &mut wire);
    let mut out = BytesMut::new();
    let limit = rest.len() as u64;
    receiver
        .decode(&wire, true, &mut out, limit)
        .expect("our own stream inflates");
    assert_eq!(&out[..], rest);
}

/// `connection_deflate`: a server connection with permessage-deflate under
/// fuzzed input, driven like the other connection targets (plain and
/// zero-copy paths must agree). Byte 0 picks the mode: bit 0 streaming, bit 1
/// the client's `no_context_takeover`. Invariant besides those of every
/// connection target: no message inflates past `max_message_size`, streamed
/// or not (a streamed message counts all its fragments).
pub fn connection(data: &[u8]) {
    let [mode, rest @ ..] = data else {
        return;
    };
    let config = Config {
        streaming: mode & 1 != 0,
        ..crate::fuzzing::ws::small_config()
    };
    let params = DeflateParams {
        client_no_context_takeover: mode & 2 != 0,
        ..DeflateParams::default()
    };
    let make = |config| {
        let deflate = PerMessageDeflate::new(Role::Server, params, &DeflateConfig::default());
        Connection::server(config).with_extension(deflate)
    };
    crate::fuzzing::ws::drive(&config, make, rest);
}
