//! Window bits 8: zlib-rs cannot compress with a 256-byte window, so an agreed
//! window of 8 compresses with 9 bits (see `socketwire::deflate`, "Window bits 8").
//! That is only sound if the stream never refers further back than 256 bytes.
//! This test inflates our output with an independent, minimal deflate decoder
//! that records the largest back-reference distance.
#![cfg(feature = "deflate")]
// The test decoder narrows values that the deflate format bounds (symbols < 288, lengths < 16).
#![allow(clippy::cast_possible_truncation)]

use bytes::BytesMut;
use socketwire::deflate::{DeflateConfig, DeflateParams, PerMessageDeflate};
use socketwire::handshake::{ExtensionOffer, ExtensionParam};
use socketwire::ws::Role;
use socketwire::ws::extension::PerMessageExtension;

/// Canonical Huffman code (counts per length, symbols in code order).
struct Huffman {
    count: [u16; 16],
    symbol: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Huffman {
        let mut count = [0u16; 16];
        for &l in lengths {
            count[usize::from(l)] += 1;
        }
        count[0] = 0;
        let mut offsets = [0u16; 16];
        for len in 1..15 {
            offsets[len + 1] = offsets[len] + count[len];
        }
        let mut symbol = vec![0u16; lengths.len()];
        for (s, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbol[usize::from(offsets[usize::from(l)])] = s as u16;
                offsets[usize::from(l)] += 1;
            }
        }
        Huffman { count, symbol }
    }
}

/// A minimal raw-deflate decoder that keeps the whole history.
struct Auditor<'a> {
    input: &'a [u8],
    bit_pos: usize,
    output: Vec<u8>,
    max_distance: usize,
}

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

impl<'a> Auditor<'a> {
    fn bits(&mut self, n: u8) -> u32 {
        let mut v = 0u32;
        for i in 0..n {
            let byte = self.input[self.bit_pos / 8];
            v |= u32::from((byte >> (self.bit_pos % 8)) & 1) << i;
            self.bit_pos += 1;
        }
        v
    }

    fn decode(&mut self, h: &Huffman) -> u16 {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= self.bits(1) as i32;
            let count = i32::from(h.count[len]);
            if code - count < first {
                return h.symbol[(index + (code - first)) as usize];
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        panic!("bad code");
    }

    fn codes(&mut self, lit: &Huffman, dist: &Huffman) {
        loop {
            let sym = usize::from(self.decode(lit));
            if sym < 256 {
                self.output.push(sym as u8);
            } else if sym == 256 {
                return;
            } else {
                let i = sym - 257;
                let len = usize::from(LENGTH_BASE[i]) + self.bits(LENGTH_EXTRA[i]) as usize;
                let d = usize::from(self.decode(dist));
                let distance = usize::from(DIST_BASE[d]) + self.bits(DIST_EXTRA[d]) as usize;
                self.max_distance = self.max_distance.max(distance);
                for _ in 0..len {
                    let b = self.output[self.output.len() - distance];
                    self.output.push(b);
                }
            }
        }
    }

    /// Inflates blocks until the input is used up (ends on a byte boundary).
    fn run(&mut self) {
        while self.bit_pos / 8 < self.input.len() {
            let _final = self.bits(1);
            match self.bits(2) {
                0 => {
                    self.bit_pos = self.bit_pos.div_ceil(8) * 8;
                    let len = self.bits(16) as usize;
                    let _nlen = self.bits(16);
                    let start = self.bit_pos / 8;
                    self.output
                        .extend_from_slice(&self.input[start..start + len]);
                    self.bit_pos += len * 8;
                }
                1 => {
                    let mut lengths = [0u8; 288];
                    lengths[..144].fill(8);
                    lengths[144..256].fill(9);
                    lengths[256..280].fill(7);
                    lengths[280..].fill(8);
                    let lit = Huffman::new(&lengths);
                    let dist = Huffman::new(&[5u8; 30]);
                    self.codes(&lit, &dist);
                }
                2 => {
                    let nlen = self.bits(5) as usize + 257;
                    let ndist = self.bits(5) as usize + 1;
                    let ncode = self.bits(4) as usize + 4;
                    const ORDER: [usize; 19] = [
                        16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
                    ];
                    let mut code_lengths = [0u8; 19];
                    for &i in &ORDER[..ncode] {
                        code_lengths[i] = self.bits(3) as u8;
                    }
                    let lencode = Huffman::new(&code_lengths);
                    let mut lengths = Vec::with_capacity(nlen + ndist);
                    while lengths.len() < nlen + ndist {
                        let sym = self.decode(&lencode);
                        match sym {
                            0..=15 => lengths.push(sym as u8),
                            16 => {
                                let prev = *lengths.last().unwrap();
                                let n = 3 + self.bits(2);
                                lengths.extend(std::iter::repeat_n(prev, n as usize));
                            }
                            17 => {
                                let n = 3 + self.bits(3);
                                lengths.extend(std::iter::repeat_n(0, n as usize));
                            }
                            _ => {
                                let n = 11 + self.bits(7);
                                lengths.extend(std::iter::repeat_n(0, n as usize));
                            }
                        }
                    }
                    let lit = Huffman::new(&lengths[..nlen]);
                    let dist = Huffman::new(&lengths[nlen..]);
                    self.codes(&lit, &dist);
                }
                _ => panic!("reserved block type"),
            }
        }
    }
}

fn texts() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    out.push(vec![0u8; 100_000]);
    out.push(b"abcdefghij".repeat(5000));
    let mut json = Vec::new();
    for i in 0..3000u32 {
        json.extend_from_slice(
            format!(
                "{{\"id\":{i},\"user\":\"name{}\",\"tags\":[\"a\",\"b\"]}},",
                i % 37
            )
            .as_bytes(),
        );
    }
    out.push(json);
    // Repeats at distances around the limit: 200, 256, 257, 300, 511, 512.
    let mut state = 7u32;
    for period in [200usize, 256, 257, 300, 511, 512] {
        let block: Vec<u8> = (0..period)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 24) as u8
            })
            .collect();
        out.push(block.repeat(40));
    }
    out
}

#[test]
fn window_8_output_never_refers_past_256_bytes() {
    for level in [1, 6, 9] {
        for takeover_off in [false, true] {
            let config = DeflateConfig {
                compression_level: level,
                ..DeflateConfig::default()
            };
            let params = DeflateParams {
                server_max_window_bits: Some(8),
                server_no_context_takeover: takeover_off,
                ..Default::default()
            };
            let mut server = PerMessageDeflate::new(Role::Server, params, &config);
            let mut client = PerMessageDeflate::new(Role::Client, params, &config);
            let mut stream = Vec::new();
            let mut expected = Vec::new();
            for text in texts() {
                let mut wire = BytesMut::new();
                server.encode(&text, true, &mut wire);
                // Our own decoder agrees.
                let mut message = BytesMut::new();
                client.decode(&wire, true, &mut message, 1 << 24).unwrap();
                assert!(message[..] == text[..]);
                if takeover_off {
                    // Each message is its own stream.
                    let mut one = wire.to_vec();
                    one.extend_from_slice(&[0, 0, 0xff, 0xff]);
                    let mut auditor = Auditor {
                        input: &one,
                        bit_pos: 0,
                        output: Vec::new(),
                        max_distance: 0,
                    };
                    auditor.run();
                    assert!(auditor.output == text);
                    assert!(
                        auditor.max_distance <= 256,
                        "distance {}",
                        auditor.max_distance
                    );
                } else {
                    stream.extend_from_slice(&wire);
                    stream.extend_from_slice(&[0, 0, 0xff, 0xff]);
                    expected.extend_from_slice(&text);
                }
            }
            if !takeover_off {
                let mut auditor = Auditor {
                    input: &stream,
                    bit_pos: 0,
                    output: Vec::new(),
                    max_distance: 0,
                };
                auditor.run();
                assert!(auditor.output == expected);
                assert!(
                    auditor.max_distance <= 256,
                    "level {level}: distance {}",
                    auditor.max_distance
                );
                assert!(
                    auditor.max_distance >= 200,
                    "level {level}: max distance {} should reach near the limit",
                    auditor.max_distance
                );
            }
        }
    }
}

#[test]
fn the_auditor_sees_long_distances_with_window_15() {
    // Guard against a vacuous auditor: with 15 bits, distances go past 256.
    let mut server = PerMessageDeflate::new(
        Role::Server,
        DeflateParams::default(),
        &DeflateConfig::default(),
    );
    let text = texts().pop().unwrap(); // period 512
    let mut wire = BytesMut::new();
    server.encode(&text, true, &mut wire);
    let mut one = wire.to_vec();
    one.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut auditor = Auditor {
        input: &one,
        bit_pos: 0,
        output: Vec::new(),
        max_distance: 0,
    };
    auditor.run();
    assert!(auditor.output == text);
    assert!(auditor.max_distance >= 512);
}

fn offer<'a>(params: &[(&'a str, Option<&'a str>)]) -> ExtensionOffer<'a> {
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

#[test]
fn autobahn_style_8_bit_negotiation_interoperates() {
    // Autobahn 13.3/13.5 offer server_max_window_bits=8 (and 13.x client_max_window_bits=8).
    let server_config = DeflateConfig::default();
    let offers = [offer(&[
        ("client_no_context_takeover", None),
        ("server_max_window_bits", Some("8")),
        ("client_max_window_bits", Some("8")),
    ])];
    let accepted = server_config.accept_offers(&offers).unwrap();
    assert_eq!(
        accepted.response,
        "permessage-deflate; client_no_context_takeover; server_max_window_bits=8; client_max_window_bits=8"
    );
    // Our client, offering the same, accepts that answer.
    let client_config = DeflateConfig {
        client_no_context_takeover: true,
        server_max_window_bits: Some(8),
        client_max_window_bits: Some(8),
        ..DeflateConfig::default()
    };
    let response = [offer(&[
        ("client_no_context_takeover", None),
        ("server_max_window_bits", Some("8")),
        ("client_max_window_bits", Some("8")),
    ])];
    let mut client = client_config.accept_response(&response).unwrap().unwrap();
    let mut server = accepted.extension;
    for text in texts() {
        let mut wire = BytesMut::new();
        client.encode(&text, true, &mut wire);
        let mut message = BytesMut::new();
        server.decode(&wire, true, &mut message, 1 << 24).unwrap();
        assert!(message[..] == text[..]);
        let mut wire = BytesMut::new();
        server.encode(&text, true, &mut wire);
        let mut message = BytesMut::new();
        client.decode(&wire, true, &mut message, 1 << 24).unwrap();
        assert!(message[..] == text[..]);
    }
}
