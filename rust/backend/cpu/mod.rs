//! The CPU backend: strided iteration ([`strided`]), per-type arithmetic ([`num`]) and
//! vectorised f32 kernels ([`simd`]), the packed f32 matrix multiply ([`sgemm`]). Ops in `crate::ops` call into these.

pub mod num;
pub mod sgemm;
pub mod simd;
pub mod strided;

use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Runs a dense f32 slice kernel over `x`, in parallel chunks when large.
pub fn par_map_f32(
    x: &[f32],
    kernel: fn(&[f32], &mut [MaybeUninit<f32>]),
) -> crate::Result<Vec<f32>> {
    strided::build(x.len(), |out| {
        if x.len() < strided::PAR_MIN {
            kernel(x, out);
        } else {
            let chunk = x.len().div_ceil(rayon::current_num_threads() * 4).max(4096);
            out.par_chunks_mut(chunk)
                .zip(x.par_chunks(chunk))
                .for_each(|(o, i)| kernel(i, o));
        }
    })
}
