//! Tensors made from nothing: fill, eye, range, linspace, and seeded random numbers
//! (a counter-based generator, so results depend only on the seed and the shape).

use crate::dtype::{DType, Element};
use crate::layout::checked_numel;
use crate::storage::try_alloc;
use crate::{bail, Result, Tensor};

impl Tensor {
    /// A tensor of `shape` with every element equal to the scalar `value`.
    pub fn fill(shape: &[usize], value: &Tensor) -> Result<Tensor> {
        let fwd = || Tensor::fill_raw(shape, value);
        let op = || crate::graph::Op::Fill(shape.to_vec());
        crate::autodiff::op1(op, &[value], fwd, |_| {
            let vshape = value.shape().to_vec();
            crate::autodiff::rule(move |g, _| {
                let s = g[0].reduce(crate::ops::ReduceOp::Sum, None, false)?;
                Ok(vec![Some(s.reshape_to(&vshape)?)])
            })
        })
    }

    fn fill_raw(shape: &[usize], value: &Tensor) -> Result<Tensor> {
        if value.numel() != 1 {
            bail!(
                "Fill: value must be a scalar, got shape {:?}",
                value.shape()
            );
        }
        let n = checked_numel(shape, "Fill")?;
        if value.dtype() == DType::String {
            return super::strings::lift(&[value], |p| Tensor::fill_raw(shape, &p[0]));
        }
        crate::with_dtype!(value.dtype(), T => {
            let v = value.storage_slice::<T>()?[value.layout().offset];
            let mut out = try_alloc::<T>(n, "Fill")?;
            out.resize(n, v);
            Tensor::from_vec(out, shape)
        })
    }

    /// Identity matrices: `rows` x `cols`, repeated over `batch`.
    pub fn eye(rows: usize, cols: usize, batch: &[usize], dtype: DType) -> Result<Tensor> {
        let mut shape = batch.to_vec();
        shape.extend([rows, cols]);
        let n = checked_numel(&shape, "Eye")?;
        crate::with_dtype!(dtype, T => {
            let mut out = try_alloc::<T>(n, "Eye")?;
            out.resize(n, T::zero());
            let mm = rows * cols;
            if let Some(batches) = n.checked_div(mm) {
                for b in 0..batches {
                    for i in 0..rows.min(cols) {
                        out[b * mm + i * cols + i] = T::one();
                    }
                }
            }
            Tensor::from_vec(out, &shape)
        })
    }

    /// `start, start + delta, ...` up to but excluding `limit`.
    pub fn range(start: f64, limit: f64, delta: f64, dtype: DType) -> Result<Tensor> {
        if delta == 0.0 {
            bail!("Range: requires delta != 0");
        }
        if (delta > 0.0 && start > limit) || (delta < 0.0 && start < limit) {
            bail!("Range: requires start <= limit when delta > 0 (or start >= limit when delta < 0): {start}/{limit}/{delta}");
        }
        let n = if dtype.is_float() {
            ((limit - start) / delta).ceil()
        } else {
            ((limit - start).abs() / delta.abs()).ceil()
        };
        if !n.is_finite() || n > crate::layout::MAX_ELEMENTS as f64 {
            return Err(crate::Error::ResourceExhausted(format!(
                "Range: {n} elements are too many"
            )));
        }
        let n = n as usize;
        crate::with_dtype!(dtype, T => {
            let mut out = try_alloc::<T>(n, "Range")?;
            if dtype.is_float() {
                out.extend((0..n).map(|i| T::of_f64(start + i as f64 * delta)));
            } else {
                out.extend((0..n).map(|i| T::of_i64(start as i64 + i as i64 * delta as i64)));
            }
            Tensor::from_vec(out, &[n])
        })
    }

    /// `num` evenly spaced values from `start` to `stop` inclusive.
    pub fn linspace(start: f64, stop: f64, num: usize, dtype: DType) -> Result<Tensor> {
        if !dtype.is_float() {
            bail!("LinSpace: dtype must be a float type, got {dtype}");
        }
        checked_numel(&[num], "LinSpace")?;
        let step = if num > 1 {
            (stop - start) / (num - 1) as f64
        } else {
            0.0
        };
        crate::with_dtype!(dtype, T => {
            let mut out = try_alloc::<T>(num, "LinSpace")?;
            out.extend((0..num).map(|i| {
                if i + 1 == num && num > 1 { T::of_f64(stop) } else { T::of_f64(start + i as f64 * step) }
            }));
            Tensor::from_vec(out, &[num])
        })
    }

    /// Uniform random numbers in `[low, high)` for float dtypes (integers: `[low, high)` too).
    pub fn random_uniform(
        shape: &[usize],
        low: f64,
        high: f64,
        dtype: DType,
        seed: u64,
    ) -> Result<Tensor> {
        let mut out = match gpu_draw(shape, false, low, high, dtype, seed) {
            Some(r) => r?,
            None => Tensor::random_uniform_raw(shape, low, high, dtype, seed)?,
        };
        if crate::graph::trace::active() {
            // On the device where the graph will draw it, so that no copy hides the node.
            out = out.placed()?;
            let op = crate::graph::Op::Random {
                normal: false,
                shape: shape.to_vec(),
                a: low,
                b: high,
                dtype,
                seed,
            };
            crate::graph::trace::record_source(op, &mut out);
        }
        Ok(out)
    }

    fn random_uniform_raw(
        shape: &[usize],
        low: f64,
        high: f64,
        dtype: DType,
        seed: u64,
    ) -> Result<Tensor> {
        let n = checked_numel(shape, "RandomUniform")?;
        if dtype.is_int() && high <= low {
            bail!("RandomUniformInt: need minval < maxval, got minval={low}, maxval={high}");
        }
        if dtype == DType::Bool {
            bail!("RandomUniform: dtype bool is not supported");
        }
        let float = dtype.is_float();
        // Integers: low + floor(range * m / 2^53) for the 53-bit draw m, computed exactly
        // (below range), so that the GPU's integer arithmetic gives the same numbers.
        let range = (high - low) as u128;
        crate::with_dtype!(dtype, T => {
            let out: Vec<T> = draw(n, "RandomUniform", |start, dst: &mut [T]| {
                for (i, d) in (start..).zip(dst.iter_mut()) {
                    *d = T::of_f64(if float {
                        low + (high - low) * uniform01(seed, i as u64)
                    } else {
                        let m = (mix(seed, i as u64) >> 11) as u128;
                        low + ((range * m) >> 53) as f64
                    });
                }
            })?;
            Tensor::from_vec(out, shape)
        })
    }

    /// Normal random numbers with the given mean and standard deviation (float dtypes).
    pub fn random_normal(
        shape: &[usize],
        mean: f64,
        stddev: f64,
        dtype: DType,
        seed: u64,
    ) -> Result<Tensor> {
        let mut out = match gpu_draw(shape, true, mean, stddev, dtype, seed) {
            Some(r) => r?,
            None => Tensor::random_normal_raw(shape, mean, stddev, dtype, seed)?,
        };
        if crate::graph::trace::active() {
            // On the device where the graph will draw it, so that no copy hides the node.
            out = out.placed()?;
            let op = crate::graph::Op::Random {
                normal: true,
                shape: shape.to_vec(),
                a: mean,
                b: stddev,
                dtype,
                seed,
            };
            crate::graph::trace::record_source(op, &mut out);
        }
        Ok(out)
    }

    fn random_normal_raw(
        shape: &[usize],
        mean: f64,
        stddev: f64,
        dtype: DType,
        seed: u64,
    ) -> Result<Tensor> {
        if !dtype.is_float() {
            bail!("RandomStandardNormal: dtype must be a float type, got {dtype}");
        }
        let n = checked_numel(shape, "RandomStandardNormal")?;
        crate::with_dtype!(dtype, T => {
            // Box-Muller on pairs of counter-based uniforms: elements 2p and 2p + 1 are the
            // cosine and sine values of pair p (chunks start at even indices).
            let out: Vec<T> = draw(n, "RandomStandardNormal", |start, dst: &mut [T]| {
                for (k, d) in dst.chunks_mut(2).enumerate() {
                    let pair = (start / 2 + k) as u64;
                    let u1 = 1.0 - uniform01(seed, 2 * pair);
                    let u2 = uniform01(seed, 2 * pair + 1);
                    let r = (-2.0 * u1.ln()).sqrt();
                    let (sin, cos) = (2.0 * std::f64::consts::PI * u2).sin_cos();
                    d[0] = T::of_f64(mean + stddev * (r * cos));
                    if let Some(x) = d.get_mut(1) {
                        *x = T::of_f64(mean + stddev * (r * sin));
                    }
                }
            })?;
            Tensor::from_vec(out, shape)
        })
    }
}

/// The draw on the GPU, when the op is placed there and the GPU has a kernel for `dtype`.
#[allow(unused_variables)]
fn gpu_draw(
    shape: &[usize],
    normal: bool,
    a: f64,
    b: f64,
    dtype: DType,
    seed: u64,
) -> Option<Result<Tensor>> {
    #[cfg(feature = "gpu")]
    {
        crate::backend::wgpu::random::draw(shape, normal, a, b, dtype, seed)
    }
    #[cfg(not(feature = "gpu"))]
    {
        None
    }
}

/// `n` values made by `fill(start, chunk)`, which writes the values of indices `start..` into
/// `chunk` (`start` is even). Large tensors are drawn on all threads: each value depends only
/// on its index, so the result does not depend on the split.
fn draw<T: Element>(n: usize, op: &str, fill: impl Fn(usize, &mut [T]) + Sync) -> Result<Vec<T>> {
    use rayon::prelude::*;
    const CHUNK: usize = 1 << 14;
    let mut out = try_alloc::<T>(n, op)?;
    out.resize(n, T::zero());
    let fill = |(c, dst): (usize, &mut [T])| fill(c * CHUNK, dst);
    if n >= 2 * CHUNK {
        out.par_chunks_mut(CHUNK).enumerate().for_each(fill);
    } else {
        out.chunks_mut(CHUNK).enumerate().for_each(fill);
    }
    Ok(out)
}

/// SplitMix64 finaliser: a strong 64-bit mix of the seed and the counter.
fn mix(seed: u64, i: u64) -> u64 {
    let mut z = seed.wrapping_add(i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in `[0, 1)` with 53 random bits.
fn uniform01(seed: u64, i: u64) -> f64 {
    (mix(seed, i) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}
