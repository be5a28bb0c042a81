//! Unpredictable numbers for the example clients' handshake nonces, mask keys and backoff
//! jitter: SipHash keyed by the standard library's per-process random keys, over a counter.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// The example clients' random source.
pub(crate) struct Random {
    state: RandomState,
    counter: u64,
}

impl Random {
    pub(crate) fn new() -> Random {
        Random {
            state: RandomState::new(),
            counter: 0,
        }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.counter += 1;
        let mut h = self.state.build_hasher();
        h.write_u64(self.counter);
        h.finish()
    }
}
