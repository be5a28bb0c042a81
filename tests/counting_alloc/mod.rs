//! A per-thread counting global allocator for the hostile-peer tests: heap
//! bytes live on the measuring thread, and their peak.
#![allow(unsafe_code, dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub(crate) struct Counting;

thread_local! {
    /// Only a measuring thread counts; other tests run on their own threads.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// Heap bytes held by this thread's allocations, and their peak.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    /// Allocation calls (`realloc` included) on this thread, and the bytes they asked for.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = LIVE.try_with(|live| {
            live.set(live.get() + delta);
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
        });
    }
}

/// Counts one allocation call of `bytes` bytes (a `realloc` asks for its new size).
fn count_allocation(bytes: usize) {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        let _ = ALLOCATED.try_with(|n| n.set(n.get().saturating_add(bytes)));
    }
}

fn size(layout: Layout) -> isize {
    isize::try_from(layout.size()).unwrap_or(isize::MAX)
}

// SAFETY: forwards to the system allocator and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_allocation(layout.size());
        track(size(layout));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_allocation(layout.size());
        track(size(layout));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        track(-size(layout));
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_allocation(new_size);
        track(isize::try_from(new_size).unwrap_or(isize::MAX) - size(layout));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap growth while `f` runs on this thread: (peak, still live at the end).
pub(crate) fn heap_growth<T>(f: impl FnOnce() -> T) -> (T, isize, isize) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(start));
    COUNTING.with(|c| c.set(true));
    let out = f();
    COUNTING.with(|c| c.set(false));
    let (live, peak) = (LIVE.with(Cell::get), PEAK.with(Cell::get));
    (out, peak - start, live - start)
}

/// Allocation traffic while `f` runs on this thread: (allocation calls, bytes
/// they asked for). Work that copied or regrew a buffer per input byte shows
/// here as a count or a byte total that grows faster than the input.
pub(crate) fn heap_traffic<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let (calls, bytes) = (ALLOCATIONS.with(Cell::get), ALLOCATED.with(Cell::get));
    let was_counting = COUNTING.with(|c| c.replace(true));
    let out = f();
    COUNTING.with(|c| c.set(was_counting));
    (
        out,
        ALLOCATIONS.with(Cell::get) - calls,
        ALLOCATED.with(Cell::get) - bytes,
    )
}
