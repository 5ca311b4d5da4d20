//! Hand-vectorisable f32 kernels for dense data, compiled twice: for the baseline target and
//! for AVX2+FMA, picked at run time. The bodies are plain loops written so that LLVM turns them
//! into vector code (independent accumulators, branch-free math).

use std::mem::MaybeUninit;

/// Defines `pub fn $name` that runs an AVX2+FMA build of `$body` when the CPU has it.
macro_rules! multiversion {
    ($(#[$m:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty $body:block) => {
        $(#[$m])*
        pub fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    #[target_feature(enable = "avx2,fma")]
                    unsafe fn fast($($arg: $ty),*) -> $ret $body
                    // SAFETY: the CPU supports the features enabled for `fast`.
                    return unsafe { fast($($arg),*) };
                }
            }
            #[inline(always)]
            fn plain($($arg: $ty),*) -> $ret $body
            plain($($arg),*)
        }
    };
}

/// e^x for f32, branch-free (Cephes' polynomial), within 2 ulp; handles ±inf, NaN and
/// underflow to subnormals and zero.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const C1: f32 = 0.693_359_4;
    const C2: f32 = -2.121_944_4e-4;
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    let xc = x.clamp(-104.0, 88.722_84);
    let n = (xc * LOG2E + MAGIC) - MAGIC;
    let r = xc - n * C1 - n * C2;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // 2^n as two factors so that results down to 2^-149 stay representable.
    let ni = n as i32;
    let h = ni >> 1;
    let s1 = f32::from_bits(((h + 127) as u32) << 23);
    let s2 = f32::from_bits(((ni - h + 127) as u32) << 23);
    let v = y * s1 * s2;
    let v = if x > 88.722_84 { f32::INFINITY } else { v };
    let v = if x < -104.0 { 0.0 } else { v };
    if x.is_nan() {
        x
    } else {
        v
    }
}

multiversion! {
    /// `out[i] = exp(x[i])`.
    fn exp_slice(x: &[f32], out: &mut [MaybeUninit<f32>]) -> () {
        for (o, &v) in out.iter_mut().zip(x) {
            o.write(exp_f32(v));
        }
    }
}

multiversion! {
    /// `out[i] = 1 / (1 + exp(-x[i]))`.
    fn sigmoid_slice(x: &[f32], out: &mut [MaybeUninit<f32>]) -> () {
        for (o, &v) in out.iter_mut().zip(x) {
            o.write(1.0 / (1.0 + exp_f32(-v)));
        }
    }
}

multiversion! {
    /// Sum of a block of at most a few thousand values with 32 independent lanes.
    fn sum_block_f32(x: &[f32]) -> f32 {
        if x.len() < 32 {
            // Short rows add left to right, as TensorFlow and numpy do.
            return x.iter().sum();
        }
        let mut acc = [0f32; 32];
        let chunks = x.chunks_exact(32);
        let rest = chunks.remainder();
        for c in chunks {
            for i in 0..32 {
                acc[i] += c[i];
            }
        }
        for (i, &v) in rest.iter().enumerate() {
            acc[i] += v;
        }
        let mut w = 16;
        while w > 0 {
            for i in 0..w {
                acc[i] += acc[i + w];
            }
            w /= 2;
        }
        acc[0]
    }
}

multiversion! {
    /// Maximum of a non-empty slice; NaN if any element is NaN.
    fn max_f32(x: &[f32]) -> f32 {
        let mut acc = [f32::NEG_INFINITY; 16];
        let mut nan = false;
        let chunks = x.chunks_exact(16);
        let rest = chunks.remainder();
        for c in chunks {
            for i in 0..16 {
                acc[i] = if c[i] > acc[i] { c[i] } else { acc[i] };
                nan |= c[i].is_nan();
            }
        }
        let mut m = f32::NEG_INFINITY;
        for &v in acc.iter().chain(rest) {
            m = if v > m { v } else { m };
            nan |= v.is_nan();
        }
        if nan { f32::NAN } else { m }
    }
}

multiversion! {
    /// Softmax (or log-softmax) of each contiguous row of length `n`. The exponentials are
    /// f32; their sum and the normalisation are f64, so results are within an ulp or two.
    fn softmax_rows_f32(x: &[f32], out: &mut [MaybeUninit<f32>], n: usize, log: bool) -> () {
        for (xr, or) in x.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
            let m = max_f32(xr);
            if m.is_nan() {
                or.iter_mut().for_each(|o| {
                    o.write(f32::NAN);
                });
                continue;
            }
            let m = if m == f32::NEG_INFINITY { 0.0 } else { m };
            for (o, &v) in or.iter_mut().zip(xr) {
                o.write(exp_f32(v - m));
            }
            // SAFETY: every element of the row was written just above.
            let row: &mut [f32] = unsafe { &mut *(or as *mut [MaybeUninit<f32>] as *mut [f32]) };
            let mut acc = [0f64; 8];
            let chunks = row.chunks_exact(8);
            let rest: f64 = chunks.remainder().iter().map(|&v| v as f64).sum();
            for c in chunks {
                for i in 0..8 {
                    acc[i] += c[i] as f64;
                }
            }
            let s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + rest;
            if log {
                let ls = m as f64 + s.ln();
                for (o, &v) in row.iter_mut().zip(xr) {
                    *o = (v as f64 - ls) as f32;
                }
            } else {
                let inv = 1.0 / s;
                for v in row.iter_mut() {
                    *v = (*v as f64 * inv) as f32;
                }
            }
        }
    }
}

/// Accurate sum of f32 values: 32-lane blocks combined pairwise (error grows as log n).
pub fn sum_f32(x: &[f32]) -> f32 {
    const BLOCK: usize = 4096;
    if x.len() <= BLOCK {
        return sum_block_f32(x);
    }
    let half = (x.len() / 2).div_ceil(BLOCK) * BLOCK;
    let (a, b) = x.split_at(half);
    if x.len() >= 1 << 18 {
        let (sa, sb) = rayon::join(|| sum_f32(a), || sum_f32(b));
        sa + sb
    } else {
        sum_f32(a) + sum_f32(b)
    }
}
