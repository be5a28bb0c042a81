//! A caller-owned pool of compressors and decompressors, lent per message to
//! connections that reset them after every message anyway.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use flate2::{Compress, Compression, Decompress};

/// Output produced per inflate step, into a scratch buffer that travels with
/// its decompressor. Output is checked against the message limit after every
/// step (and the step is cut to the remaining budget + 1), so the message
/// buffer never grows past the limit.
pub(crate) const INFLATE_STEP: usize = 32 * 1024;

/// zlib-rs (like zlib) cannot run a raw deflate stream with an 8-bit window;
/// see the module docs ("Window bits 8") for why 9 is safe in both directions.
pub(crate) fn zlib_window_bits(bits: u8) -> u8 {
    bits.clamp(9, 15)
}

/// A decompressor with the scratch buffer its output lands in first.
#[derive(Debug)]
pub(crate) struct Inflater {
    pub(crate) state: Decompress,
    pub(crate) scratch: Box<[u8]>,
}

impl Inflater {
    /// A raw-deflate inflater. zlib-rs keeps a 32 KiB window whatever the
    /// bits, and a larger inflate window accepts every stream a smaller one
    /// does, so pooled inflaters are all built with 15 bits.
    pub(crate) fn new(window_bits: u8) -> Inflater {
        Inflater {
            state: Decompress::new_with_window_bits(false, zlib_window_bits(window_bits)),
            scratch: vec![0u8; INFLATE_STEP].into_boxed_slice(),
        }
    }
}

/// What a pooled compressor was built with: a reset compressor is
/// interchangeable only with one of the same level and window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CompressorKind {
    pub(crate) level: u32,
    pub(crate) window_bits: u8,
}

impl CompressorKind {
    pub(crate) fn build(self) -> Compress {
        Compress::new_with_window_bits(Compression::new(self.level), false, self.window_bits)
    }
}

#[derive(Debug)]
struct Shelves {
    compressors: Vec<(CompressorKind, Compress)>,
    inflaters: Vec<Inflater>,
}

#[derive(Debug)]
struct Inner {
    max_idle: usize,
    shelves: Mutex<Shelves>,
    built: AtomicUsize,
}

/// Compressors and decompressors shared by many connections, each lent for one
/// message at a time.
///
/// With `*_no_context_takeover` (RFC 7692 §7.1.1) a side's LZ77 window starts
/// empty for every message, so its state carries nothing from one message to
/// the next: a connection built with [`PerMessageDeflate::with_pool`] takes a
/// compressor (about 270 KiB at 15 bits, level 6) or a decompressor (about
/// 80 KiB with its scratch) from the pool at the first frame of a message and
/// gives it back, reset, after the last. An idle connection then holds no
/// compression state at all. Directions with context takeover keep their own
/// state, as they must.
///
/// The pool is a handle (`Clone` shares it) guarded by a mutex held only to
/// take or return one state. It keeps at most `max_idle` idle states of each
/// kind (compressors, decompressors); one returned past that is freed, so the
/// pool never holds more than the peak of messages in flight at once up to
/// that cap.
///
/// [`PerMessageDeflate::with_pool`]: super::PerMessageDeflate::with_pool
///
/// ```
/// use bytes::BytesMut;
/// use socketwire::deflate::{DeflateConfig, DeflateParams, DeflatePool, PerMessageDeflate};
/// use socketwire::ws::{Role, extension::PerMessageExtension};
///
/// let pool = DeflatePool::new(16);
/// let params = DeflateParams {
///     server_no_context_takeover: true,
///     client_no_context_takeover: true,
///     ..Default::default()
/// };
/// let config = DeflateConfig::default();
/// let mut server = PerMessageDeflate::new(Role::Server, params, &config).with_pool(&pool);
/// let mut client = PerMessageDeflate::new(Role::Client, params, &config).with_pool(&pool);
/// let mut wire = BytesMut::new();
/// server.encode(b"Hello, Hello, Hello", true, &mut wire);
/// let mut message = BytesMut::new();
/// client.decode(&wire, true, &mut message, 1 << 20).unwrap();
/// assert_eq!(&message[..], b"Hello, Hello, Hello");
/// // Both states went back to the pool when the message ended.
/// assert_eq!(pool.idle(), (1, 1));
/// ```
#[derive(Debug, Clone)]
pub struct DeflatePool {
    inner: Arc<Inner>,
}

impl DeflatePool {
    /// A pool that keeps at most `max_idle` idle compressors and as many idle
    /// decompressors.
    ///
    /// ```
    /// let pool = socketwire::deflate::DeflatePool::new(64);
    /// assert_eq!(pool.idle(), (0, 0));
    /// ```
    pub fn new(max_idle: usize) -> DeflatePool {
        DeflatePool {
            inner: Arc::new(Inner {
                max_idle,
                shelves: Mutex::new(Shelves {
                    compressors: Vec::new(),
                    inflaters: Vec::new(),
                }),
                built: AtomicUsize::new(0),
            }),
        }
    }

    /// Idle states held now: (compressors, decompressors).
    ///
    /// ```
    /// assert_eq!(socketwire::deflate::DeflatePool::new(1).idle(), (0, 0));
    /// ```
    pub fn idle(&self) -> (usize, usize) {
        let shelves = self.shelves();
        (shelves.compressors.len(), shelves.inflaters.len())
    }

    /// How many states (compressors and decompressors) the pool has built
    /// since it was created: with messages never in flight on more than N
    /// connections at once, this stays at most 2N however many messages pass.
    ///
    /// ```
    /// assert_eq!(socketwire::deflate::DeflatePool::new(1).built(), 0);
    /// ```
    pub fn built(&self) -> usize {
        self.inner.built.load(Ordering::Relaxed)
    }

    fn shelves(&self) -> MutexGuard<'_, Shelves> {
        // The shelves are consistent between any two statements, so a panic
        // elsewhere while the lock was held leaves nothing to repair.
        self.inner
            .shelves
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn take_compressor(&self, kind: CompressorKind) -> Compress {
        let found = {
            let mut shelves = self.shelves();
            let at = shelves.compressors.iter().rposition(|(k, _)| *k == kind);
            at.map(|i| shelves.compressors.swap_remove(i).1)
        };
        found.unwrap_or_else(|| {
            self.inner.built.fetch_add(1, Ordering::Relaxed);
            kind.build()
        })
    }

    /// Takes back a compressor that has just been reset.
    pub(crate) fn put_compressor(&self, kind: CompressorKind, compressor: Compress) {
        let mut shelves = self.shelves();
        if shelves.compressors.len() < self.inner.max_idle {
            shelves.compressors.push((kind, compressor));
        }
    }

    pub(crate) fn take_inflater(&self) -> Inflater {
        let found = self.shelves().inflaters.pop();
        found.unwrap_or_else(|| {
            self.inner.built.fetch_add(1, Ordering::Relaxed);
            Inflater::new(15)
        })
    }

    /// Takes back an inflater that has just been reset.
    pub(crate) fn put_inflater(&self, inflater: Inflater) {
        let mut shelves = self.shelves();
        if shelves.inflaters.len() < self.inner.max_idle {
            shelves.inflaters.push(inflater);
        }
    }
}
