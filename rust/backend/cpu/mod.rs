//! The CPU backend: strided iteration ([`strided`]), per-type arithmetic ([`num`]) and
//! vectorised f32 kernels ([`simd`]), the packed f32 matrix multiply ([`sgemm`]). Ops in `crate::ops` call into these.

pub mod num;
pub mod sgemm;
pub mod simd;
pub mod strided;

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `f(i)` for every `i < blocks`, on the calling thread and on pool threads that take
/// indices from a shared counter as they come. The caller starts at once instead of waiting
/// for a pool thread to wake up (tens of microseconds on a VM), a late thread takes fewer
/// blocks or none, and the caller waits only for blocks already started (each is short: it
/// spins briefly, then sleeps, so a busy machine's other processes keep the core), never for
/// a thread that has not woken yet. So a kernel with several phases pays no wake-up per
/// phase. Which thread runs which block varies: `f` must not depend on it.
pub fn par_blocks(blocks: usize, f: impl Fn(usize) + Sync) {
    let helpers = rayon::current_num_threads().min(blocks).saturating_sub(1);
    if helpers == 0 {
        (0..blocks).for_each(f);
        return;
    }
    let f: &(dyn Fn(usize) + Sync) = &f;
    // SAFETY: the lifetime is erased so that helpers need not be waited for when they start
    // late. A helper calls `f` only after claiming a block, which succeeds only before the
    // caller's own claims run out, and the caller then waits until no helper is active (see
    // `Blocks::run`), so `f` outlives every call made through this pointer.
    let f: &'static (dyn Fn(usize) + Sync) = unsafe { std::mem::transmute(f) };
    let shared = std::sync::Arc::new(Blocks {
        next: AtomicUsize::new(0),
        active: AtomicUsize::new(0),
        blocks,
        f,
        panic: std::sync::Mutex::new(None),
        idle: std::sync::Mutex::new(()),
        wake: std::sync::Condvar::new(),
    });
    for _ in 0..helpers {
        let s = shared.clone();
        rayon::spawn(move || s.run());
    }
    shared.run();
    // Blocks still running on helpers are short: spin a little, then sleep until the last
    // one finishes, so a busy machine's other processes get the core.
    for _ in 0..1 << 10 {
        if shared.active.load(Ordering::SeqCst) == 0 {
            break;
        }
        std::hint::spin_loop();
    }
    if shared.active.load(Ordering::SeqCst) != 0 {
        let mut g = shared.idle.lock().unwrap_or_else(|p| p.into_inner());
        while shared.active.load(Ordering::SeqCst) != 0 {
            g = shared.wake.wait(g).unwrap_or_else(|p| p.into_inner());
        }
    }
    let panic = shared.panic.lock().map(|mut p| p.take()).unwrap_or(None);
    if let Some(payload) = panic {
        std::panic::resume_unwind(payload);
    }
}

/// The state [`par_blocks`] shares with its helper jobs.
struct Blocks {
    next: AtomicUsize,
    /// Threads between announcing themselves and finishing their claimed block.
    active: AtomicUsize,
    blocks: usize,
    f: &'static (dyn Fn(usize) + Sync),
    panic: std::sync::Mutex<Option<Box<dyn std::any::Any + Send>>>,
    /// The caller sleeps on `wake` (holding `idle` to check `active`) until `active` is zero.
    idle: std::sync::Mutex<()>,
    wake: std::sync::Condvar,
}

impl Blocks {
    /// Claims and runs blocks until none is left. `active` is raised before each claim and
    /// lowered after the block (or the failed claim): once the caller has seen every block
    /// claimed and `active` at zero, a late helper's claim can only fail, so it never calls
    /// `f`. A panicking block is kept for the caller to resume.
    fn run(&self) {
        loop {
            self.active.fetch_add(1, Ordering::SeqCst);
            let i = self.next.fetch_add(1, Ordering::SeqCst);
            if i >= self.blocks {
                self.leave();
                return;
            }
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.f)(i)));
            if let Err(payload) = r {
                // The remaining blocks are skipped: the caller resumes the panic.
                self.next.store(self.blocks, Ordering::SeqCst);
                if let Ok(mut p) = self.panic.lock() {
                    p.get_or_insert(payload);
                }
            }
            self.leave();
        }
    }

    /// Lowers `active`, waking the caller when it reaches zero (under the lock, so a caller
    /// that saw it non-zero is already waiting).
    fn leave(&self) {
        if self.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            let _g = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            self.wake.notify_all();
        }
    }
}

/// A pointer that may cross threads (for disjoint writes coordinated by the caller).
struct SendPtr<T>(*mut T);
impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SendPtr<T> {}
// SAFETY: used only by `for_chunks_mut`, whose chunks are disjoint.
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// The pointer (a method, so closures capture the wrapper rather than its field).
    fn get(self) -> *mut T {
        self.0
    }
}

/// Cuts `out` into chunks of `chunk` elements (the last may be shorter) and runs
/// `f(i, chunk_i)` for each through [`par_blocks`].
pub fn for_chunks_mut<T: Send>(out: &mut [T], chunk: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    let (len, chunk) = (out.len(), chunk.max(1));
    let ptr = SendPtr(out.as_mut_ptr());
    par_blocks(len.div_ceil(chunk), |i| {
        let start = i * chunk;
        let end = (start + chunk).min(len);
        // SAFETY: chunk i covers start..end, inside `out`, and par_blocks runs each i once,
        // so no two calls see overlapping elements.
        let c = unsafe { std::slice::from_raw_parts_mut(ptr.get().add(start), end - start) };
        f(i, c)
    });
}

/// A chunk length that cuts `len` elements into several pieces per thread (for load
/// balance), but no fewer than `min` elements each.
pub fn chunk_len(len: usize, min: usize) -> usize {
    len.div_ceil(rayon::current_num_threads() * 8).max(min)
}

/// Runs a dense f32 slice kernel over `x`, in parallel chunks when large.
pub fn par_map_f32(
    x: &[f32],
    kernel: fn(&[f32], &mut [MaybeUninit<f32>]),
) -> crate::Result<Vec<f32>> {
    strided::build(x.len(), |out| {
        if x.len() < strided::PAR_MIN {
            kernel(x, out);
        } else {
            let chunk = chunk_len(x.len(), 4096);
            for_chunks_mut(out, chunk, |i, o| {
                kernel(&x[i * chunk..i * chunk + o.len()], o)
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;
    use std::sync::atomic::AtomicU8;

    /// Every block runs exactly once, from a plain thread and from inside pool threads (where
    /// the caller waits by running queued jobs instead of spinning).
    #[test]
    fn par_blocks_runs_each_block_once() {
        for blocks in [0, 1, 2, 3, 64, 1000] {
            let seen: Vec<AtomicU8> = (0..blocks).map(|_| AtomicU8::new(0)).collect();
            par_blocks(blocks, |i| {
                seen[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(
                seen.iter().all(|s| s.load(Ordering::Relaxed) == 1),
                "{blocks}"
            );
        }
        let totals: Vec<usize> = (0..8)
            .into_par_iter()
            .map(|_| {
                let count = AtomicUsize::new(0);
                par_blocks(100, |i| {
                    count.fetch_add(i, Ordering::Relaxed);
                });
                count.into_inner()
            })
            .collect();
        assert!(totals.iter().all(|&t| t == 4950));
    }

    /// A block that panics reaches the caller as a panic (not an abort), wherever it ran.
    #[test]
    fn par_blocks_passes_panics_to_the_caller() {
        for bad in [0, 7, 63] {
            let r = std::panic::catch_unwind(|| {
                par_blocks(64, |i| {
                    std::thread::sleep(std::time::Duration::from_micros(50));
                    assert!(i != bad, "block {i}");
                })
            });
            assert!(r.is_err(), "{bad}");
        }
        // The pool still works afterwards.
        let count = AtomicUsize::new(0);
        par_blocks(10, |_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(count.into_inner(), 10);
    }
}
