//! permessage-deflate negotiation tables (RFC 7692 §5, §7), both roles.
#![cfg(feature = "deflate")]

use bytes::BytesMut;
use socketwire::deflate::{DeflateConfig, DeflateParams, NegotiationError};
use socketwire::handshake::{ExtensionOffer, ExtensionParam};
use socketwire::ws::extension::PerMessageExtension;

/// Splits a header value the simple way (no quotes); enough for the values we build.
fn split_header(value: &str) -> Vec<ExtensionOffer<'_>> {
    value
        .split(',')
        .map(|element| {
            let mut parts = element.split(';').map(str::trim);
            let name = parts.next().unwrap();
            let params = parts
                .map(|p| match p.split_once('=') {
                    Some((n, v)) => ExtensionParam {
                        name: n.trim(),
                        value: Some(v.trim().into()),
                    },
                    None => ExtensionParam {
                        name: p,
                        value: None,
                    },
                })
                .collect();
            ExtensionOffer { name, params }
        })
        .collect()
}

fn pmd<'a>(params: &[(&'a str, Option<&'a str>)]) -> ExtensionOffer<'a> {
    ExtensionOffer {
        name: "permessage-deflate",
        params: params
            .iter()
            .map(|(n, v)| ExtensionParam {
                name: n,
                value: v.map(Into::into),
            })
            .collect(),
    }
}

fn unknown(name: &str) -> NegotiationError {
    NegotiationError::UnknownParameter(name.into())
}

// ---------------------------------------------------------------- server ---

#[test]
fn server_accepts_with_expected_response() {
    let default = DeflateConfig::default();
    let limiting = DeflateConfig {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        server_max_window_bits: Some(12),
        client_max_window_bits: Some(11),
        ..DeflateConfig::default()
    };
    let cases: &[(&DeflateConfig, &str, &str)] = &[
        (&default, "permessage-deflate", "permessage-deflate"),
        (
            &default,
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate",
        ),
        (
            &default,
            "permessage-deflate; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover",
        ),
        (
            &default,
            "permessage-deflate; client_no_context_takeover",
            "permessage-deflate; client_no_context_takeover",
        ),
        (
            &default,
            "permessage-deflate; server_max_window_bits=10",
            "permessage-deflate; server_max_window_bits=10",
        ),
        (
            &default,
            "permessage-deflate; client_max_window_bits=9",
            "permessage-deflate; client_max_window_bits=9",
        ),
        (
            &default,
            "permessage-deflate; server_max_window_bits=8",
            "permessage-deflate; server_max_window_bits=8",
        ),
        (
            &default,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=15",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=15",
        ),
        // Parameter order in the offer does not matter.
        (
            &default,
            "permessage-deflate; client_max_window_bits=10; server_max_window_bits=9; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10",
        ),
        // Our limits: the client window only if the client offered the parameter.
        (
            &limiting,
            "permessage-deflate",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12",
        ),
        (
            &limiting,
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=11",
        ),
        (
            &limiting,
            "permessage-deflate; server_max_window_bits=9; client_max_window_bits=10",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10",
        ),
        (
            &limiting,
            "permessage-deflate; server_max_window_bits=14; client_max_window_bits=14",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=11",
        ),
    ];
    for (config, offer, response) in cases {
        let accepted = config
            .accept_offers(&split_header(offer))
            .unwrap_or_else(|| panic!("{offer}"));
        assert_eq!(&accepted.response, response, "offer {offer}");
        assert_eq!(accepted.extension.params(), &accepted.params);
    }
}

#[test]
fn server_declines_malformed_offers() {
    let config = DeflateConfig::default();
    let bits = |name: &str, value: &str| NegotiationError::InvalidWindowBits {
        name: name.into(),
        value: value.into(),
    };
    let cases: Vec<(ExtensionOffer<'_>, NegotiationError)> = vec![
        (pmd(&[("x-unknown", None)]), unknown("x-unknown")),
        (
            pmd(&[("server_max_window", Some("10"))]),
            unknown("server_max_window"),
        ),
        (
            pmd(&[("no_context_takeover", None)]),
            unknown("no_context_takeover"),
        ),
        (
            pmd(&[
                ("server_no_context_takeover", None),
                ("server_no_context_takeover", None),
            ]),
            NegotiationError::DuplicateParameter("server_no_context_takeover".into()),
        ),
        (
            pmd(&[
                ("client_no_context_takeover", None),
                ("client_no_context_takeover", None),
            ]),
            NegotiationError::DuplicateParameter("client_no_context_takeover".into()),
        ),
        (
            pmd(&[
                ("server_max_window_bits", Some("10")),
                ("server_max_window_bits", Some("10")),
            ]),
            NegotiationError::DuplicateParameter("server_max_window_bits".into()),
        ),
        (
            pmd(&[
                ("client_max_window_bits", None),
                ("client_max_window_bits", Some("10")),
            ]),
            NegotiationError::DuplicateParameter("client_max_window_bits".into()),
        ),
        (
            pmd(&[("server_no_context_takeover", Some("true"))]),
            NegotiationError::UnexpectedValue("server_no_context_takeover".into()),
        ),
        (
            pmd(&[("client_no_context_takeover", Some(""))]),
            NegotiationError::UnexpectedValue("client_no_context_takeover".into()),
        ),
        (
            pmd(&[("server_max_window_bits", None)]),
            NegotiationError::MissingValue("server_max_window_bits".into()),
        ),
    ];
    let mut cases = cases;
    for value in [
        "7",
        "16",
        "0",
        "08",
        "010",
        "+9",
        "-9",
        "9.0",
        "1e1",
        "",
        " 9",
        "abc",
        "255",
        "99999999999999999999",
    ] {
        cases.push((
            pmd(&[("server_max_window_bits", Some(value))]),
            bits("server_max_window_bits", value),
        ));
        cases.push((
            pmd(&[("client_max_window_bits", Some(value))]),
            bits("client_max_window_bits", value),
        ));
    }
    for (offer, expected) in cases {
        assert_eq!(
            config.accept_offer(&offer).err(),
            Some(expected.clone()),
            "{offer:?}"
        );
        assert!(config.accept_offers(&[offer]).is_none());
    }
}

#[test]
fn server_takes_the_first_acceptable_offer() {
    let config = DeflateConfig::default();
    let offers = split_header(
        "x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=7, \
         permessage-deflate; client_max_window_bits; x=1, \
         permessage-deflate; server_no_context_takeover, permessage-deflate",
    );
    let accepted = config.accept_offers(&offers).unwrap();
    assert_eq!(accepted.offer_index, 3);
    assert_eq!(
        accepted.response,
        "permessage-deflate; server_no_context_takeover"
    );
    assert_eq!(
        config.accept_offer(&offers[0]).err(),
        Some(NegotiationError::OtherExtension(
            "x-webkit-deflate-frame".into()
        ))
    );
    // Nothing acceptable, or nothing offered.
    assert!(config.accept_offers(&offers[..3]).is_none());
    assert!(config.accept_offers(&[]).is_none());
}

#[test]
fn server_disabled_declines_everything() {
    let config = DeflateConfig::disabled();
    assert!(config.accept_offers(&[pmd(&[])]).is_none());
    assert_eq!(
        config.accept_offer(&pmd(&[])).err(),
        Some(NegotiationError::NotOffered)
    );
}

#[test]
fn names_are_matched_case_insensitively() {
    let offer = ExtensionOffer {
        name: "PerMessage-Deflate",
        params: vec![ExtensionParam {
            name: "Server_Max_Window_Bits",
            value: Some("10".into()),
        }],
    };
    let accepted = DeflateConfig::default().accept_offers(&[offer]).unwrap();
    assert_eq!(
        accepted.response,
        "permessage-deflate; server_max_window_bits=10"
    );
}

/// Every valid offer shape against several server configs: the response
/// follows RFC 7692 §7.1 (checked against an independent restatement here).
#[test]
fn server_every_parameter_combination() {
    let configs = [
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
            ..DeflateConfig::default()
        },
    ];
    let windows: Vec<Option<u8>> = std::iter::once(None).chain((8..=15).map(Some)).collect();
    let mut checked = 0;
    for config in &configs {
        for snct in [false, true] {
            for cnct in [false, true] {
                for &smwb in &windows {
                    // None: absent; Some(None): valueless; Some(Some(n)).
                    let mut cmwb_options: Vec<Option<Option<u8>>> = vec![None, Some(None)];
                    cmwb_options.extend((8..=15).map(|n| Some(Some(n))));
                    for cmwb in cmwb_options {
                        let mut params = Vec::new();
                        if snct {
                            params.push(ExtensionParam {
                                name: "server_no_context_takeover",
                                value: None,
                            });
                        }
                        if cnct {
                            params.push(ExtensionParam {
                                name: "client_no_context_takeover",
                                value: None,
                            });
                        }
                        if let Some(n) = smwb {
                            params.push(ExtensionParam {
                                name: "server_max_window_bits",
                                value: Some(n.to_string().into()),
                            });
                        }
                        if let Some(v) = cmwb {
                            params.push(ExtensionParam {
                                name: "client_max_window_bits",
                                value: v.map(|n| n.to_string().into()),
                            });
                        }
                        let offer = ExtensionOffer {
                            name: "permessage-deflate",
                            params,
                        };
                        let got = config.accept_offer(&offer).unwrap();
                        // §7.1.1.1: offered server_no_context_takeover must be echoed.
                        assert!(
                            got.server_no_context_takeover
                                == (snct || config.server_no_context_takeover)
                        );
                        assert!(
                            got.client_no_context_takeover
                                == (cnct || config.client_no_context_takeover)
                        );
                        // §7.1.2.1: same or smaller than offered, within our own limit.
                        match smwb {
                            Some(n) => assert!(got.server_max_window_bits.unwrap() <= n),
                            None => assert_eq!(
                                got.server_max_window_bits,
                                config.server_max_window_bits
                            ),
                        }
                        if let Some(limit) = config.server_max_window_bits {
                            assert!(got.server_max_window_bits.unwrap() <= limit);
                        }
                        // §7.1.2.2: never without the client's parameter; never above its value.
                        match cmwb {
                            None => assert_eq!(got.client_max_window_bits, None),
                            Some(Some(n)) => assert!(got.client_max_window_bits.unwrap() <= n),
                            Some(None) => assert_eq!(
                                got.client_max_window_bits,
                                config.client_max_window_bits
                            ),
                        }
                        // The response is something a client that sent this offer accepts.
                        let client = DeflateConfig {
                            server_no_context_takeover: snct,
                            client_no_context_takeover: cnct,
                            server_max_window_bits: smwb,
                            client_max_window_bits: cmwb.flatten(),
                            offer_client_max_window_bits: cmwb.is_some(),
                            ..DeflateConfig::default()
                        };
                        let answer = got.to_header_value();
                        let response = split_header(&answer);
                        let agreed = client.response_params(&response).unwrap().unwrap();
                        assert_eq!(
                            agreed.server_no_context_takeover,
                            got.server_no_context_takeover
                        );
                        assert_eq!(agreed.server_max_window_bits, got.server_max_window_bits);
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 3 * 2 * 2 * 9 * 10);
}

// ---------------------------------------------------------------- client ---

#[test]
fn client_offer_strings() {
    let cases: &[(DeflateConfig, Option<&str>)] = &[
        (
            DeflateConfig::default(),
            Some("permessage-deflate; client_max_window_bits"),
        ),
        (DeflateConfig::disabled(), None),
        (
            DeflateConfig {
                offer_client_max_window_bits: false,
                ..DeflateConfig::default()
            },
            Some("permessage-deflate"),
        ),
        (
            DeflateConfig {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: Some(9),
                client_max_window_bits: Some(8),
                ..DeflateConfig::default()
            },
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8",
            ),
        ),
        // Out-of-range config values are clamped.
        (
            DeflateConfig {
                server_max_window_bits: Some(3),
                client_max_window_bits: Some(30),
                ..DeflateConfig::default()
            },
            Some("permessage-deflate; server_max_window_bits=8; client_max_window_bits=15"),
        ),
    ];
    for (config, expected) in cases {
        assert_eq!(config.client_offer().as_deref(), *expected);
    }
}

#[test]
fn client_accepts_valid_responses() {
    let default = DeflateConfig::default();
    let asking = DeflateConfig {
        server_no_context_takeover: true,
        server_max_window_bits: Some(10),
        client_max_window_bits: Some(12),
        ..DeflateConfig::default()
    };
    let cases: &[(&DeflateConfig, &str, DeflateParams)] = &[
        (&default, "permessage-deflate", DeflateParams::default()),
        (
            &default,
            "permessage-deflate; server_no_context_takeover",
            DeflateParams {
                server_no_context_takeover: true,
                ..Default::default()
            },
        ),
        (
            &default,
            "permessage-deflate; client_no_context_takeover",
            DeflateParams {
                client_no_context_takeover: true,
                ..Default::default()
            },
        ),
        (
            &default,
            "permessage-deflate; server_max_window_bits=9",
            DeflateParams {
                server_max_window_bits: Some(9),
                ..Default::default()
            },
        ),
        (
            &default,
            "permessage-deflate; client_max_window_bits=8",
            DeflateParams {
                client_max_window_bits: Some(8),
                ..Default::default()
            },
        ),
        (
            &asking,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10",
            DeflateParams {
                server_no_context_takeover: true,
                server_max_window_bits: Some(10),
                client_max_window_bits: Some(12),
                ..Default::default()
            },
        ),
        (
            &asking,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=8; client_max_window_bits=9",
            DeflateParams {
                server_no_context_takeover: true,
                server_max_window_bits: Some(8),
                client_max_window_bits: Some(9),
                ..Default::default()
            },
        ),
        // Other extensions in the response are not ours to judge.
        (
            &default,
            "x-other; a=1, permessage-deflate",
            DeflateParams::default(),
        ),
    ];
    for (config, response, expected) in cases {
        let ext = config
            .accept_response(&split_header(response))
            .unwrap()
            .unwrap();
        assert_eq!(ext.params(), expected, "{response}");
    }
    assert!(default.accept_response(&[]).unwrap().is_none());
    assert!(
        default
            .accept_response(&split_header("x-other"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn client_rejects_bad_responses() {
    let default = DeflateConfig::default();
    let no_window = DeflateConfig {
        offer_client_max_window_bits: false,
        ..DeflateConfig::default()
    };
    let asking = DeflateConfig {
        server_no_context_takeover: true,
        server_max_window_bits: Some(10),
        client_max_window_bits: Some(12),
        ..DeflateConfig::default()
    };
    let not_offered = |p: &str| NegotiationError::ParameterNotOffered(p.into());
    let not_accepted = |p: &str| NegotiationError::ParameterNotAccepted(p.into());
    let bits = |name: &str, value: &str| NegotiationError::InvalidWindowBits {
        name: name.into(),
        value: value.into(),
    };
    let cases: &[(&DeflateConfig, &str, NegotiationError)] = &[
        (&default, "permessage-deflate; x-foo", unknown("x-foo")),
        (
            &default,
            "permessage-deflate; client_max_window_bits",
            NegotiationError::MissingValue("client_max_window_bits".into()),
        ),
        (
            &default,
            "permessage-deflate; server_max_window_bits",
            NegotiationError::MissingValue("server_max_window_bits".into()),
        ),
        (
            &default,
            "permessage-deflate; server_max_window_bits=7",
            bits("server_max_window_bits", "7"),
        ),
        (
            &default,
            "permessage-deflate; server_max_window_bits=16",
            bits("server_max_window_bits", "16"),
        ),
        (
            &default,
            "permessage-deflate; client_max_window_bits=7",
            bits("client_max_window_bits", "7"),
        ),
        (
            &default,
            "permessage-deflate; client_max_window_bits=16",
            bits("client_max_window_bits", "16"),
        ),
        (
            &default,
            "permessage-deflate; client_max_window_bits=010",
            bits("client_max_window_bits", "010"),
        ),
        (
            &default,
            "permessage-deflate; server_no_context_takeover=1",
            NegotiationError::UnexpectedValue("server_no_context_takeover".into()),
        ),
        (
            &default,
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            NegotiationError::DuplicateParameter("server_no_context_takeover".into()),
        ),
        (
            &default,
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            NegotiationError::DuplicateParameter("client_no_context_takeover".into()),
        ),
        (
            &default,
            "permessage-deflate; server_max_window_bits=9; server_max_window_bits=9",
            NegotiationError::DuplicateParameter("server_max_window_bits".into()),
        ),
        (
            &default,
            "permessage-deflate; client_max_window_bits=9; client_max_window_bits=9",
            NegotiationError::DuplicateParameter("client_max_window_bits".into()),
        ),
        (
            &default,
            "permessage-deflate, permessage-deflate",
            NegotiationError::MultipleResponses,
        ),
        (
            &DeflateConfig::disabled(),
            "permessage-deflate",
            NegotiationError::NotOffered,
        ),
        (
            &no_window,
            "permessage-deflate; client_max_window_bits=10",
            not_offered("client_max_window_bits"),
        ),
        (
            &asking,
            "permessage-deflate; server_max_window_bits=10",
            not_accepted("server_no_context_takeover"),
        ),
        (
            &asking,
            "permessage-deflate; server_no_context_takeover",
            not_accepted("server_max_window_bits"),
        ),
        (
            &asking,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
            not_offered("server_max_window_bits"),
        ),
        (
            &asking,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=13",
            not_offered("client_max_window_bits"),
        ),
    ];
    for (config, response, expected) in cases {
        assert_eq!(
            config.accept_response(&split_header(response)).err(),
            Some(expected.clone()),
            "{response}"
        );
    }
}

/// Every client config against every server config: both ends agree on the
/// parameters and messages round trip both ways.
#[test]
fn every_client_config_against_every_server_config() {
    let mut configs = Vec::new();
    for snct in [false, true] {
        for cnct in [false, true] {
            for smwb in [None, Some(8), Some(12)] {
                for cmwb in [None, Some(9), Some(15)] {
                    for offer_cmwb in [false, true] {
                        configs.push(DeflateConfig {
                            server_no_context_takeover: snct,
                            client_no_context_takeover: cnct,
                            server_max_window_bits: smwb,
                            client_max_window_bits: cmwb,
                            offer_client_max_window_bits: offer_cmwb,
                            compress_threshold: 0,
                            ..DeflateConfig::default()
                        });
                    }
                }
            }
        }
    }
    let message = b"{\"event\":\"tick\",\"payload\":{\"n\":1,\"n2\":1,\"n3\":1}}".repeat(20);
    let mut pairs = 0;
    for client_config in &configs {
        let offer = client_config.client_offer().unwrap();
        for server_config in configs.iter().step_by(7) {
            let accepted = server_config.accept_offers(&split_header(&offer)).unwrap();
            let mut client = client_config
                .accept_response(&split_header(&accepted.response))
                .unwrap_or_else(|e| panic!("{offer} -> {}: {e}", accepted.response))
                .unwrap();
            let mut server = accepted.extension;
            let (c, s) = (*client.params(), *server.params());
            assert_eq!(c.server_no_context_takeover, s.server_no_context_takeover);
            assert_eq!(c.server_max_window_bits, s.server_max_window_bits);
            // The client may be stricter with itself than the server asked.
            assert!(c.client_no_context_takeover >= s.client_no_context_takeover);
            assert!(
                c.window_bits_of(socketwire::ws::Role::Client)
                    <= s.window_bits_of(socketwire::ws::Role::Client)
            );
            for _ in 0..2 {
                let mut wire = BytesMut::new();
                client.encode(&message, true, &mut wire);
                let mut out = BytesMut::new();
                server.decode(&wire, true, &mut out, 1 << 20).unwrap();
                assert!(out[..] == message[..]);
                let mut wire = BytesMut::new();
                server.encode(&message, true, &mut wire);
                let mut out = BytesMut::new();
                client.decode(&wire, true, &mut out, 1 << 20).unwrap();
                assert!(out[..] == message[..]);
            }
            pairs += 1;
        }
    }
    assert!(pairs > 500);
}
