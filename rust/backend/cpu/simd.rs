//! Hand-vectorisable f32 kernels for dense data, compiled twice: for the baseline target and
//! for AVX2+FMA, picked at run time. The bodies are plain loops written so that LLVM turns them
//! into vector code (independent accumulators, branch-free math).

use std::mem::MaybeUninit;

/// Defines `pub fn $name` that runs an AVX2+FMA build of `$body` when the CPU has it. The body
/// sees `FMA`, true in that build (kernels pass it to [`exp_f32`] to use fused multiply-adds).
macro_rules! multiversion {
    ($(#[$m:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty $body:block) => {
        $(#[$m])*
        pub fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    #[target_feature(enable = "avx2,fma")]
                    unsafe fn fast($($arg: $ty),*) -> $ret {
                        #[allow(dead_code)]
                        const FMA: bool = true;
                        $body
                    }
                    // SAFETY: the CPU supports the features enabled for `fast`.
                    return unsafe { fast($($arg),*) };
                }
            }
            #[inline(always)]
            fn plain($($arg: $ty),*) -> $ret {
                #[allow(dead_code)]
                const FMA: bool = false;
                $body
            }
            plain($($arg),*)
        }
    };
}

/// e^x for f32, branch-free (Cephes' polynomial), within 2 ulp; handles ±inf, NaN and
/// underflow to subnormals and zero.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    exp_f32_with::<false>(x)
}

/// [`exp_f32`], with fused multiply-adds when `FMA` (only for callers compiled with the FMA
/// feature: elsewhere `mul_add` is a slow library call). Results may differ from the plain
/// version in the last bit.
#[inline(always)]
pub fn exp_f32_with<const FMA: bool>(x: f32) -> f32 {
    let madd = |a: f32, b: f32, c: f32| if FMA { a.mul_add(b, c) } else { a * b + c };
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const C1: f32 = 0.693_359_4;
    const C2: f32 = -2.121_944_4e-4;
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    let xc = x.clamp(-104.0, 88.722_84);
    let t = madd(xc, LOG2E, MAGIC);
    let n = t - MAGIC;
    let r = madd(-n, C2, madd(-n, C1, xc));
    let mut p = 1.987_569_1e-4f32;
    p = madd(p, r, 1.398_199_9e-3);
    p = madd(p, r, 8.333_452e-3);
    p = madd(p, r, 4.166_579_6e-2);
    p = madd(p, r, 1.666_666_5e-1);
    p = madd(p, r, 0.5);
    let y = madd(p * r, r, r) + 1.0;
    // 2^n as two factors so that results down to 2^-149 stay representable.
    // n as an integer, read from t's mantissa (t = 1.5 * 2^23 + n with an ulp of 1): unlike
    // `n as i32`, this vectorises.
    let ni = t.to_bits() as i32 - MAGIC.to_bits() as i32;
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
            o.write(exp_f32_with::<FMA>(v));
        }
    }
}

multiversion! {
    /// `out[i] = 1 / (1 + exp(-x[i]))`.
    fn sigmoid_slice(x: &[f32], out: &mut [MaybeUninit<f32>]) -> () {
        for (o, &v) in out.iter_mut().zip(x) {
            o.write(1.0 / (1.0 + exp_f32_with::<FMA>(-v)));
        }
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
    /// Softmax (or log-softmax) of each contiguous row of length `n`, in one pass for the
    /// maximum and one that writes the exponentials while summing them in 32 lanes.
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
            let mut acc = [0f32; 32];
            let mut xc = xr.chunks_exact(32);
            let mut oc = or.chunks_exact_mut(32);
            for (c, o) in (&mut xc).zip(&mut oc) {
                for i in 0..32 {
                    let e = exp_f32_with::<FMA>(c[i] - m);
                    o[i].write(e);
                    acc[i] += e;
                }
            }
            for (i, (&v, o)) in xc.remainder().iter().zip(oc.into_remainder()).enumerate() {
                let e = exp_f32_with::<FMA>(v - m);
                o.write(e);
                acc[i] += e;
            }
            // SAFETY: every element of the row was written just above.
            let row: &mut [f32] = unsafe { &mut *(or as *mut [MaybeUninit<f32>] as *mut [f32]) };
            let s = if n < 32 {
                // Short rows add left to right and divide, as TensorFlow does (the guide's
                // printed digits depend on it).
                row.iter().sum()
            } else {
                let mut w = 16;
                while w > 0 {
                    for i in 0..w {
                        acc[i] += acc[i + w];
                    }
                    w /= 2;
                }
                acc[0]
            };
            if log {
                let ls = s.ln();
                for (o, &v) in row.iter_mut().zip(xr) {
                    *o = (v - m) - ls;
                }
            } else if n < 32 {
                for v in row.iter_mut() {
                    *v /= s;
                }
            } else {
                let inv = 1.0 / s;
                for v in row.iter_mut() {
                    *v *= inv;
                }
            }
        }
    }
}

multiversion! {
    /// Sum of at least 32 values: each block of 4096 is summed in 32 lanes (the inner loop is
    /// four vector adds), folded to 8 lanes, and the blocks' lane vectors are combined pairwise
    /// (a binary counter of partial sums), so the error grows as log n without a scalar
    /// reduction per block.
    fn sum_cascade_f32(x: &[f32]) -> f32 {
        const BLOCK: usize = 4096;
        let mut stack = [[0f32; 8]; 64];
        let mut depth = 0;
        for (b, blk) in x.chunks(BLOCK).enumerate() {
            let mut acc = [[0f32; 8]; 4];
            let chunks = blk.chunks_exact(32);
            let rest = chunks.remainder();
            for c in chunks {
                for j in 0..4 {
                    for l in 0..8 {
                        acc[j][l] += c[j * 8 + l];
                    }
                }
            }
            let mut v = [0f32; 8];
            for l in 0..8 {
                v[l] = (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]);
            }
            for (i, &r) in rest.iter().enumerate() {
                v[i % 8] += r;
            }
            // Block b+1 completes a pair at every trailing zero bit of b+1.
            let mut n = b + 1;
            while n & 1 == 0 {
                depth -= 1;
                for l in 0..8 {
                    v[l] += stack[depth][l];
                }
                n >>= 1;
            }
            stack[depth] = v;
            depth += 1;
        }
        let mut v = [0f32; 8];
        for d in (0..depth).rev() {
            for l in 0..8 {
                v[l] += stack[d][l];
            }
        }
        ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]))
    }
}

/// Accurate sum of f32 values (error grows as log n); large inputs are split over the
/// threads. Rows shorter than 32 add left to right, as TensorFlow and numpy do.
pub fn sum_f32(x: &[f32]) -> f32 {
    if x.len() < 32 {
        return x.iter().sum();
    }
    let threads = rayon::current_num_threads();
    if x.len() < 1 << 18 || threads == 1 {
        return sum_cascade_f32(x);
    }
    // Blocks of 64K values summed wherever a thread is free; their sums are combined
    // pairwise in block order, so the result does not depend on the threads.
    const BLOCK: usize = 1 << 16;
    use std::sync::atomic::{AtomicU32, Ordering};
    let sums: Vec<AtomicU32> = (0..x.len().div_ceil(BLOCK))
        .map(|_| AtomicU32::new(0))
        .collect();
    super::par_blocks(sums.len(), |i| {
        let s = sum_cascade_f32(&x[i * BLOCK..((i + 1) * BLOCK).min(x.len())]);
        sums[i].store(s.to_bits(), Ordering::Relaxed);
    });
    let sums: Vec<f32> = sums
        .iter()
        .map(|s| f32::from_bits(s.load(Ordering::Relaxed)))
        .collect();
    pairwise_f32(&sums)
}

/// Sum of a few values, halved recursively.
fn pairwise_f32(v: &[f32]) -> f32 {
    match v.len() {
        0 => 0.0,
        1 => v[0],
        n => pairwise_f32(&v[..n / 2]) + pairwise_f32(&v[n / 2..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between two finite positive f32 values.
    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    /// A sum split over threads is accurate and the same on every call, whichever thread
    /// takes which block.
    #[test]
    fn large_sums_are_accurate_and_repeatable() {
        let x: Vec<f32> = (0..3_000_017usize)
            .map(|i| ((i * 7919) % 1000) as f32 * 0.001 + 0.1)
            .collect();
        let want: f64 = x.iter().map(|&v| v as f64).sum();
        let got = sum_f32(&x);
        assert!(((got as f64 - want) / want).abs() < 1e-6, "{got} vs {want}");
        for _ in 0..20 {
            assert_eq!(sum_f32(&x).to_bits(), got.to_bits());
        }
    }

    #[test]
    fn exp_is_within_two_ulp_in_both_builds() {
        let xs: Vec<f32> = (0..200_000).map(|i| -87.0 + i as f32 * 0.000_88).collect();
        let mut out = vec![MaybeUninit::<f32>::uninit(); xs.len()];
        exp_slice(&xs, &mut out); // the FMA build where the CPU has it
        for (&x, o) in xs.iter().zip(&out) {
            // SAFETY: exp_slice wrote every element.
            let got = unsafe { o.assume_init() };
            let want = (x as f64).exp() as f32;
            assert!(ulps(got, want) <= 2, "exp({x}) = {got}, want {want}");
            assert!(ulps(exp_f32(x), want) <= 2, "plain exp({x})");
        }
        let special = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            100.0,
            -120.0,
            -100.0,
        ];
        let mut out = vec![MaybeUninit::<f32>::uninit(); special.len()];
        exp_slice(&special, &mut out);
        // SAFETY: as above.
        let got: Vec<f32> = out.iter().map(|o| unsafe { o.assume_init() }).collect();
        assert!(got[0].is_nan());
        assert_eq!(&got[1..5], &[f32::INFINITY, 0.0, f32::INFINITY, 0.0]);
        assert!(got[5] > 0.0 && ulps(got[5], (-100f64).exp() as f32) <= 2);
    }
}
