//! Fuzz harnesses, one function per target; the `fuzz/` targets call these.
//! Each asserts the invariants of its layer (no panic, consumed ≤ input, round trips).
#![allow(missing_docs)]

#[cfg(feature = "adapter")]
pub mod adapter;
#[cfg(feature = "deflate")]
pub mod deflate;
#[cfg(feature = "engineio")]
pub mod engineio;
#[cfg(feature = "handshake")]
pub mod handshake;
#[cfg(feature = "socketio")]
pub mod socketio;
pub mod ws;

/// A fuzz target's name under `fuzz/fuzz_targets/` and the harness it calls.
#[cfg(test)]
type Target = (&'static str, fn(&[u8]));

/// Every fuzz target, grouped by the feature its layer needs.
#[cfg(test)]
const TARGETS: &[&[Target]] = &[
    &[
        ("frame_header", ws::frame_header),
        ("connection_client", ws::connection_client),
        ("connection_server", ws::connection_server),
    ],
    #[cfg(feature = "deflate")]
    &[
        ("deflate_extension_header", deflate::extension_header),
        ("deflate_inflate", deflate::inflate),
        ("connection_deflate", deflate::connection),
    ],
    #[cfg(feature = "handshake")]
    &[
        ("handshake_request", handshake::request),
        ("handshake_response", handshake::response),
    ],
    #[cfg(feature = "http")]
    &[("handshake_extended_connect", handshake::extended_connect)],
    #[cfg(feature = "engineio")]
    &[
        ("engineio_packet", engineio::packet),
        ("engineio_payload", engineio::payload),
        ("engineio_server_session", engineio::server_session),
    ],
    #[cfg(feature = "socketio")]
    &[
        ("socketio_packet", socketio::packet),
        ("socketio_reassembler", socketio::reassembler),
        ("socketio_server_session", socketio::server_session),
    ],
    #[cfg(feature = "msgpack")]
    &[("socketio_msgpack", socketio::msgpack_packet)],
    #[cfg(feature = "adapter")]
    &[
        ("adapter_message", adapter::message),
        ("adapter_node", adapter::node),
    ],
];

#[cfg(all(test, feature = "std"))]
mod tests {
    use std::path::Path;

    /// Every committed seed passes its target's harness (which asserts the layer's
    /// invariants), so `cargo test` catches a broken invariant before a fuzz run does.
    #[test]
    fn every_seed_corpus_passes_its_harness() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        for &(target, harness) in super::TARGETS.iter().copied().flatten() {
            let dir = root.join("corpus").join(target);
            let mut seeds = 0;
            for entry in
                std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            {
                let data = std::fs::read(entry.unwrap().path()).unwrap();
                harness(&data);
                seeds += 1;
            }
            assert!(
                seeds >= 3,
                "{target}: only {seeds} seeds in {}",
                dir.display()
            );
        }
    }

    /// The table above names every target in `fuzz/fuzz_targets/` (with all features).
    #[test]
    #[cfg(all(
        feature = "deflate",
        feature = "engineio",
        feature = "socketio",
        feature = "msgpack",
        feature = "adapter"
    ))]
    fn every_fuzz_target_is_in_the_table() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
        let mut targets: std::vec::Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| {
                entry
                    .unwrap()
                    .path()
                    .file_stem()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        targets.sort();
        let mut known: std::vec::Vec<_> = super::TARGETS
            .iter()
            .copied()
            .flatten()
            .map(|(name, _)| std::string::String::from(*name))
            .collect();
        known.sort();
        assert_eq!(targets, known);
    }
}
