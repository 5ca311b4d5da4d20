//! Host memory: a global allocator that keeps freed large blocks for reuse.
//!
//! Every eager op allocates its result. A large block fresh from the system is mapped by the
//! kernel and faulted in page by page on its first write, which for a 16 MB float32 result
//! costs more than the arithmetic that fills it. [`HostCache`] keeps freed blocks of
//! [`MIN_CACHED`] bytes and more in size classes (eight per power of two, so a block serves
//! requests up to 12.5% smaller), up to a byte limit per process ([`set_limit`]; a sixteenth of the machine's
//! memory, at most 256 MiB, by default), and hands them out again already resident. A block
//! freed when the cache is full displaces blocks of other sizes (loops free and ask for the
//! same sizes again, so the newest frees are the likeliest to be reused); a block larger than
//! the limit goes back to the system, as does every cached block on [`release`]. Cached blocks are aligned to 64 bytes (what DLPack consumers
//! such as XLA expect of a buffer they share). Small blocks go straight to the system
//! allocator. The Python extension installs it as its global allocator; a Rust program may do
//! the same:
//!
//! ```
//! #[global_allocator]
//! static HOST: rstf::alloc::HostCache = rstf::alloc::HostCache;
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The smallest block kept for reuse (below it the system allocator already reuses memory).
pub const MIN_CACHED: usize = 256 << 10;
/// The alignment of cached blocks.
pub const ALIGN: usize = 64;
/// Size classes per power of two.
const STEPS: usize = 8;
/// Classes up to 2^48 bytes.
const CLASSES: usize = 48 * STEPS;

/// The global allocator (see the module documentation).
pub struct HostCache;

/// Freed blocks by size class, as intrusive singly linked lists (each free block's first
/// word holds the next one), so caching never allocates.
struct Bins {
    heads: [usize; CLASSES],
    bytes: usize,
}

static BINS: Mutex<Bins> = Mutex::new(Bins {
    heads: [0; CLASSES],
    bytes: 0,
});
/// The cache's byte limit; `usize::MAX` until first read (then the default).
static LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static HITS: AtomicUsize = AtomicUsize::new(0);
static MISSES: AtomicUsize = AtomicUsize::new(0);

/// The class index and rounded size of a large request.
fn class_of(size: usize) -> (usize, usize) {
    let p = usize::BITS as usize - 1 - size.leading_zeros() as usize; // 2^p <= size
    let step = (1usize << p) / STEPS;
    let rounded = size.div_ceil(step) * step;
    let k = (rounded - (1usize << p)) / step; // 0..=STEPS
    let idx = (p * STEPS + k).min(CLASSES - 1);
    (idx, rounded)
}

/// The block layout behind a large request, or `None` for a small one.
fn block_layout(layout: Layout) -> Option<(usize, Layout)> {
    if layout.size() < MIN_CACHED || layout.align() > ALIGN {
        return None;
    }
    let (idx, rounded) = class_of(layout.size());
    Layout::from_size_align(rounded, ALIGN)
        .ok()
        .map(|l| (idx, l))
}

/// A sixteenth of the machine's memory, at most 256 MiB (read without allocating, so that the
/// allocator itself may ask).
fn default_limit() -> usize {
    #[cfg(target_os = "linux")]
    let total = {
        const SC_PAGESIZE: i32 = 30;
        const SC_PHYS_PAGES: i32 = 85;
        unsafe extern "C" {
            fn sysconf(name: i32) -> i64;
        }
        // SAFETY: sysconf reads system constants and has no other effect.
        let (page, pages) = unsafe { (sysconf(SC_PAGESIZE), sysconf(SC_PHYS_PAGES)) };
        if page > 0 && pages > 0 {
            (page as usize).saturating_mul(pages as usize)
        } else {
            8 << 30
        }
    };
    #[cfg(not(target_os = "linux"))]
    let total: usize = 8 << 30;
    (total / 16).min(256 << 20)
}

/// The cache's byte limit.
pub fn limit() -> usize {
    match LIMIT.load(Ordering::Relaxed) {
        usize::MAX => {
            let d = default_limit();
            let _ = LIMIT.compare_exchange(usize::MAX, d, Ordering::Relaxed, Ordering::Relaxed);
            LIMIT.load(Ordering::Relaxed)
        }
        l => l,
    }
}

/// Sets the cache's byte limit, releasing cached blocks beyond it.
pub fn set_limit(bytes: usize) {
    LIMIT.store(bytes.min(usize::MAX - 1), Ordering::Relaxed);
    trim(bytes);
}

/// Gives every cached block back to the system; returns the bytes released.
pub fn release() -> usize {
    trim(0)
}

/// Frees cached blocks until at most `keep` bytes stay cached; returns the bytes freed.
fn trim(keep: usize) -> usize {
    let mut total = 0;
    // One block at a time: the lock is never held across a call into the system allocator.
    loop {
        let taken = BINS.lock().ok().and_then(|mut bins| {
            if bins.bytes <= keep {
                return None;
            }
            let idx = (0..CLASSES).rev().find(|&i| bins.heads[i] != 0)?;
            let p = bins.heads[idx] as *mut usize;
            // SAFETY: a cached block's first word holds the next block of its list, written
            // by `dealloc`; the block is ours until handed out again.
            bins.heads[idx] = unsafe { p.read() };
            bins.bytes -= class_size(idx);
            Some((p as *mut u8, class_size(idx)))
        });
        let Some((p, size)) = taken else { return total };
        total += size;
        if let Ok(l) = Layout::from_size_align(size, ALIGN) {
            // SAFETY: the block came from `System.alloc` with this layout (see `alloc`).
            unsafe { System.dealloc(p, l) };
        }
    }
}

/// The block size of class `idx` (the inverse of [`class_of`]).
fn class_size(idx: usize) -> usize {
    let (p, k) = (idx / STEPS, idx % STEPS);
    (1usize << p) + k * ((1usize << p) / STEPS)
}

/// Host memory statistics: live bytes (`current`, `peak`, what Rust code of this library has
/// allocated and not freed, cached blocks excluded), cached bytes, the limit, and how many
/// large requests the cache served (`hits`) or passed to the system (`misses`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Bytes allocated and not yet freed.
    pub current: usize,
    /// The most `current` has been since the last [`reset_peak`].
    pub peak: usize,
    /// Bytes held in the cache for reuse.
    pub cached: usize,
    /// The cache's byte limit.
    pub limit: usize,
    /// Large requests served from the cache.
    pub hits: usize,
    /// Large requests passed to the system.
    pub misses: usize,
}

/// The statistics now (meaningful where [`HostCache`] is the global allocator).
pub fn stats() -> Stats {
    let cached = BINS.lock().map(|b| b.bytes).unwrap_or(0);
    Stats {
        current: CURRENT.load(Ordering::Relaxed),
        peak: PEAK.load(Ordering::Relaxed),
        cached,
        limit: limit(),
        hits: HITS.load(Ordering::Relaxed),
        misses: MISSES.load(Ordering::Relaxed),
    }
}

/// Restarts `peak` from `current`.
pub fn reset_peak() {
    PEAK.store(CURRENT.load(Ordering::Relaxed), Ordering::Relaxed);
}

fn count_alloc(size: usize) {
    let now = CURRENT.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every block handed out is either the system's block for the same layout (small
// requests) or a block of at least the requested size and alignment that no one else holds
// (large requests: fresh from the system or taken off a free list under the lock), and each
// is returned to where it came from with the layout it was obtained with.
unsafe impl GlobalAlloc for HostCache {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_alloc(layout.size());
        let Some((idx, block)) = block_layout(layout) else {
            // SAFETY: forwarded with the caller's guarantees.
            return unsafe { System.alloc(layout) };
        };
        if let Ok(mut bins) = BINS.lock() {
            let head = bins.heads[idx];
            if head != 0 {
                // SAFETY: see `trim`.
                bins.heads[idx] = unsafe { (head as *const usize).read() };
                bins.bytes -= block.size();
                HITS.fetch_add(1, Ordering::Relaxed);
                return head as *mut u8;
            }
        }
        MISSES.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `block` has a non-zero size (at least MIN_CACHED).
        unsafe { System.alloc(block) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        let Some((idx, block)) = block_layout(layout) else {
            // SAFETY: a small block came from `System.alloc` with this layout.
            return unsafe { System.dealloc(ptr, layout) };
        };
        let limit = limit();
        if let Ok(mut bins) = BINS.lock() {
            // The block just freed is the likeliest to be asked for again (loops repeat their
            // sizes): make room for it by giving back blocks of other sizes, largest first.
            let mut victim = CLASSES;
            while bins.bytes + block.size() > limit && block.size() <= limit {
                victim = match (0..victim).rev().find(|&i| i != idx && bins.heads[i] != 0) {
                    Some(i) => i,
                    None => break,
                };
                let p = bins.heads[victim] as *mut u8;
                // SAFETY: see `trim`; the system allocator never calls back into this one,
                // so freeing under the lock cannot deadlock.
                unsafe {
                    bins.heads[victim] = (p as *const usize).read();
                    bins.bytes -= class_size(victim);
                    System.dealloc(
                        p,
                        Layout::from_size_align_unchecked(class_size(victim), ALIGN),
                    );
                }
                victim += 1;
            }
            if bins.bytes + block.size() <= limit {
                // SAFETY: the block is at least MIN_CACHED bytes and 64-byte aligned, and
                // the caller gives it up: its first word may hold the list link.
                unsafe { (ptr as *mut usize).write(bins.heads[idx]) };
                bins.heads[idx] = ptr as usize;
                bins.bytes += block.size();
                return;
            }
        }
        // SAFETY: a large block came from `System.alloc(block)` (here or before caching).
        unsafe { System.dealloc(ptr, block) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        if block_layout(layout).is_none() && block_layout(new_layout).is_none() {
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
            count_alloc(new_size);
            // SAFETY: both are small blocks of the system allocator.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: allocated and freed through this allocator with matching layouts; the copy
        // covers the bytes both blocks hold.
        unsafe {
            let new = self.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_round_up_by_at_most_an_eighth() {
        for size in [MIN_CACHED, MIN_CACHED + 1, 3 << 20, (16 << 20) + 5, 1 << 30] {
            let (idx, rounded) = class_of(size);
            assert!(
                rounded >= size && (rounded - size) * 8 <= size,
                "{size} -> {rounded}"
            );
            assert_eq!(class_size(idx), rounded, "{size}");
            assert_eq!(rounded % ALIGN, 0);
        }
    }

    #[test]
    fn small_and_overaligned_requests_are_not_cached() {
        assert!(block_layout(Layout::from_size_align(1024, 8).unwrap()).is_none());
        assert!(block_layout(Layout::from_size_align(1 << 20, 4096).unwrap()).is_none());
        assert!(block_layout(Layout::from_size_align(1 << 20, 4).unwrap()).is_some());
    }
}
