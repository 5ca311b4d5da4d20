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
/// blocks, and the caller spins for the last block rather than sleeping on a latch.
/// Which thread runs which block varies: `f` must not depend on it.
pub fn par_blocks(blocks: usize, f: impl Fn(usize) + Sync) {
    let helpers = rayon::current_num_threads().min(blocks).saturating_sub(1);
    if helpers == 0 {
        (0..blocks).for_each(f);
        return;
    }
    let next = AtomicUsize::new(0);
    let running = AtomicUsize::new(helpers);
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= blocks {
            break;
        }
        f(i);
    };
    rayon::in_place_scope(|s| {
        for _ in 0..helpers {
            s.spawn(|_| {
                work();
                running.fetch_sub(1, Ordering::Release);
            });
        }
        work();
        // Every block is taken and the helpers finish theirs within about one block's time:
        // spin for it a while. A pool thread does not spin (the scope's own wait runs queued
        // jobs, possibly its own helper), and the spin is bounded in case the helpers have
        // not started yet (a busy pool).
        if rayon::current_thread_index().is_none() {
            for _ in 0..1 << 16 {
                if running.load(Ordering::Acquire) == 0 {
                    break;
                }
                std::hint::spin_loop();
            }
        }
    });
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
}
