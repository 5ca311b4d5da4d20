//! Reductions over any set of axes (sum, prod, max, min, any, all), mean, and
//! argmax/argmin. Float sums are blocked and pairwise, so their error grows as log n.

use crate::backend::cpu::num::Num;
use crate::backend::cpu::simd;
use crate::dtype::{DType, Element};
use crate::layout::Layout;
use crate::{bail, Result, Tensor};
use rayon::prelude::*;

/// Reduction ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[allow(missing_docs)]
pub enum ReduceOp {
    Sum,
    Prod,
    Max,
    Min,
    Any,
    All,
}

impl ReduceOp {
    /// TensorFlow's op name.
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "Sum",
            ReduceOp::Prod => "Prod",
            ReduceOp::Max => "Max",
            ReduceOp::Min => "Min",
            ReduceOp::Any => "Any",
            ReduceOp::All => "All",
        }
    }
}

/// Sorted, unique, non-negative axes; `None` means every axis.
pub fn norm_axes(axes: Option<&[i64]>, rank: usize, op: &str) -> Result<Vec<usize>> {
    let mut out: Vec<usize> = match axes {
        None => (0..rank).collect(),
        Some(a) => a
            .iter()
            .map(|&x| Layout::norm_axis(x, rank, op))
            .collect::<Result<_>>()?,
    };
    out.sort_unstable();
    if let Some(w) = out.windows(2).find(|w| w[0] == w[1]) {
        bail!(
            "{op}: axis {} specified more than once (axes {:?}, rank {rank})",
            w[0],
            axes.unwrap_or_default()
        );
    }
    Ok(out)
}

/// Reduces one dense row.
fn reduce_row<T: Num>(x: &[T], op: ReduceOp) -> T {
    match op {
        ReduceOp::Sum => {
            if let Some(xf) = as_f32(x) {
                return T::of_f64(simd::sum_f32(xf) as f64);
            }
            pairwise(x, T::zero(), |a, b| a.add(b))
        }
        ReduceOp::Prod => x.iter().fold(T::one(), |a, &b| a.mul(b)),
        ReduceOp::Max => {
            if let Some(xf) = as_f32(x) {
                if !xf.is_empty() {
                    return T::of_f64(simd::max_f32(xf) as f64);
                }
            }
            x.iter().fold(T::lowest(), |a, &b| b.maximum(a))
        }
        ReduceOp::Min => x.iter().fold(T::highest(), |a, &b| b.minimum(a)),
        ReduceOp::Any | ReduceOp::All => unreachable!("bool reductions are handled apart"),
    }
}

fn as_f32<T: Element>(x: &[T]) -> Option<&[f32]> {
    if T::DTYPE == DType::F32 {
        // SAFETY: T is f32 (checked through its dtype).
        Some(unsafe { std::slice::from_raw_parts(x.as_ptr() as *const f32, x.len()) })
    } else {
        None
    }
}

/// Pairwise combination with 8 lanes at the leaves.
fn pairwise<T: Copy>(x: &[T], zero: T, f: impl Fn(T, T) -> T + Copy) -> T {
    if x.len() <= 1024 {
        let mut acc = [zero; 8];
        let chunks = x.chunks_exact(8);
        let rest = chunks.remainder();
        for c in chunks {
            for i in 0..8 {
                acc[i] = f(acc[i], c[i]);
            }
        }
        for (i, &v) in rest.iter().enumerate() {
            acc[i] = f(acc[i], v);
        }
        let a = f(f(acc[0], acc[1]), f(acc[2], acc[3]));
        let b = f(f(acc[4], acc[5]), f(acc[6], acc[7]));
        return f(a, b);
    }
    let (a, b) = x.split_at(x.len() / 2);
    f(pairwise(a, zero, f), pairwise(b, zero, f))
}

/// Reduces `x` (dense, viewed as `[outer, inner]`) over `inner`, or over `outer` when
/// `leading` (then the result has `inner` elements).
fn reduce_dense<T: Num>(
    x: &[T],
    outer: usize,
    inner: usize,
    leading: bool,
    op: ReduceOp,
) -> Vec<T> {
    if leading && op == ReduceOp::Sum && outer > 64 {
        // Pairwise over rows, so the error grows as log(outer).
        let half = outer / 2;
        let (top, bottom) = x.split_at(half * inner);
        let mut a = reduce_dense(top, half, inner, true, op);
        let b = reduce_dense(bottom, outer - half, inner, true, op);
        a.iter_mut().zip(&b).for_each(|(p, &q)| *p = p.add(q));
        return a;
    }
    if leading {
        // Fold whole rows into an accumulator row: vectorises along `inner`.
        let init = match op {
            ReduceOp::Sum => T::zero(),
            ReduceOp::Prod => T::one(),
            ReduceOp::Max => T::lowest(),
            _ => T::highest(),
        };
        let mut acc = vec![init; inner];
        for row in x.chunks_exact(inner.max(1)).take(outer) {
            match op {
                ReduceOp::Sum => acc.iter_mut().zip(row).for_each(|(a, &b)| *a = a.add(b)),
                ReduceOp::Prod => acc.iter_mut().zip(row).for_each(|(a, &b)| *a = a.mul(b)),
                ReduceOp::Max => acc
                    .iter_mut()
                    .zip(row)
                    .for_each(|(a, &b)| *a = b.maximum(*a)),
                _ => acc
                    .iter_mut()
                    .zip(row)
                    .for_each(|(a, &b)| *a = b.minimum(*a)),
            }
        }
        return acc;
    }
    if inner == 0 {
        return (0..outer).map(|_| reduce_row::<T>(&[], op)).collect();
    }
    if outer * inner >= 1 << 16 && outer > 1 {
        x.par_chunks(inner).map(|r| reduce_row(r, op)).collect()
    } else {
        x.chunks(inner).map(|r| reduce_row(r, op)).collect()
    }
}

impl Tensor {
    /// Reduces over `axes` (all when `None`), keeping reduced dims as size 1 if `keepdims`.
    ///
    /// ```
    /// use rstf::{ops::ReduceOp, Tensor};
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// assert_eq!(x.reduce(ReduceOp::Sum, None, false).unwrap().to_vec::<f32>().unwrap(), vec![21.0]);
    /// assert_eq!(x.reduce(ReduceOp::Max, Some(&[0]), false).unwrap().to_vec::<f32>().unwrap(), vec![4.0, 5.0, 6.0]);
    /// ```
    pub fn reduce(&self, op: ReduceOp, axes: Option<&[i64]>, keepdims: bool) -> Result<Tensor> {
        let fwd = || self.reduce_raw(op, axes, keepdims);
        let desc = || crate::graph::Op::Reduce {
            op,
            axes: axes.map(|a| a.to_vec()),
            keepdims,
        };
        crate::autodiff::op1(desc, &[self], fwd, |y| {
            let (x, y, axes) = (self.clone(), y.clone(), axes.map(|a| a.to_vec()));
            crate::autodiff::rule(move |g, _| {
                Ok(vec![Some(reduce_grad(op, &x, &y, &g[0], axes.as_deref())?)])
            })
        })
    }

    pub(crate) fn reduce_raw(
        &self,
        op: ReduceOp,
        axes: Option<&[i64]>,
        keepdims: bool,
    ) -> Result<Tensor> {
        let dt = self.dtype();
        let name = op.name();
        let axes = norm_axes(axes, self.rank(), name)?;
        match (op, dt) {
            (ReduceOp::Any | ReduceOp::All, DType::Bool) => {}
            (ReduceOp::Any | ReduceOp::All, _) => {
                bail!(
                    "{name}: expected a bool tensor, got {dt} (shape {:?})",
                    self.shape()
                )
            }
            (_, DType::Bool | DType::String) => bail!("{name}: not supported for dtype {dt}"),
            _ => {}
        }
        let r = self.rank();
        let keep: Vec<usize> = (0..r).filter(|a| !axes.contains(a)).collect();
        let out_shape: Vec<usize> = if keepdims {
            (0..r)
                .map(|a| {
                    if axes.contains(&a) {
                        1
                    } else {
                        self.shape()[a]
                    }
                })
                .collect()
        } else {
            keep.iter().map(|&a| self.shape()[a]).collect()
        };
        if dt.is_half() {
            return self
                .cast(DType::F32)?
                .reduce(
                    op,
                    Some(&axes.iter().map(|&a| a as i64).collect::<Vec<_>>()),
                    keepdims,
                )?
                .cast(dt);
        }
        // Reduced axes a prefix of a dense tensor: fold rows; else move them last and reduce rows.
        let leading = self.is_contiguous()
            && axes.iter().enumerate().all(|(i, &a)| a == i)
            && !keep.is_empty()
            && !axes.is_empty();
        let (src, outer, inner) = if leading {
            let red: usize = axes.iter().map(|&a| self.shape()[a]).product();
            let kept: usize = keep.iter().map(|&a| self.shape()[a]).product();
            (self.clone(), red, kept)
        } else {
            let mut perm = keep.clone();
            perm.extend(&axes);
            let t = self.transpose(&perm)?.contiguous()?;
            let inner: usize = axes.iter().map(|&a| self.shape()[a]).product();
            let outer: usize = keep.iter().map(|&a| self.shape()[a]).product();
            (t, outer, inner)
        };
        let out_n: usize = out_shape.iter().product();
        if leading && out_n != inner {
            return Err(crate::Error::Internal(format!(
                "{name}: bad reduction plan"
            )));
        }
        if dt == DType::Bool {
            let s = src.as_slice::<bool>().expect("dense");
            let all = op == ReduceOp::All;
            let v: Vec<bool> = if leading {
                let mut acc = vec![all; inner];
                for row in s.chunks_exact(inner.max(1)).take(outer) {
                    acc.iter_mut()
                        .zip(row)
                        .for_each(|(a, &b)| *a = if all { *a & b } else { *a | b });
                }
                acc
            } else {
                (0..outer)
                    .map(|o| {
                        let row = &s[o * inner..(o + 1) * inner];
                        if all {
                            row.iter().all(|&b| b)
                        } else {
                            row.iter().any(|&b| b)
                        }
                    })
                    .collect()
            };
            return Tensor::from_vec(v, &out_shape);
        }
        macro_rules! go {
            ($T:ty) => {{
                let s = src.as_slice::<$T>().expect("dense");
                Tensor::from_vec(reduce_dense::<$T>(s, outer, inner, leading, op), &out_shape)
            }};
        }
        match dt {
            DType::F32 => go!(f32),
            DType::F64 => go!(f64),
            DType::I8 => go!(i8),
            DType::I32 => go!(i32),
            DType::I64 => go!(i64),
            DType::U8 => go!(u8),
            _ => bail!("{name}: not supported for dtype {dt}"),
        }
    }

    /// Mean over `axes` (integer means truncate, as TensorFlow's). Half floats are summed and
    /// divided in float32, as TensorFlow does: their sum, or the count, may pass 65504.
    pub fn mean(&self, axes: Option<&[i64]>, keepdims: bool) -> Result<Tensor> {
        if self.dtype() == DType::Bool {
            bail!("Mean: not supported for dtype bool");
        }
        if self.dtype().is_half() {
            return self
                .cast(DType::F32)?
                .mean(axes, keepdims)?
                .cast(self.dtype());
        }
        let ax = norm_axes(axes, self.rank(), "Mean")?;
        let count: usize = ax.iter().map(|&a| self.shape()[a]).product();
        let s = self.reduce(ReduceOp::Sum, axes, keepdims)?;
        if self.dtype().is_int() && count == 0 {
            return Ok(s);
        }
        s.div(&self.count(axes, self.dtype())?)
    }

    /// The number of elements over `axes` (all when `None`) as a scalar of `dtype`. Traced, it
    /// is a node reading the input's shape (so it follows a shape-polymorphic input); it has
    /// no gradient.
    ///
    /// ```
    /// let x = rstf::Tensor::zeros(&[4, 3], rstf::DType::F32).unwrap();
    /// let n = x.count(Some(&[0]), rstf::DType::F32).unwrap();
    /// assert_eq!(n.to_vec::<f32>().unwrap(), vec![4.0]);
    /// ```
    pub fn count(&self, axes: Option<&[i64]>, dtype: DType) -> Result<Tensor> {
        let desc = || crate::graph::Op::Count {
            axes: axes.map(<[i64]>::to_vec),
            dtype,
        };
        let fwd = || {
            let ax = norm_axes(axes, self.rank(), "Size")?;
            let n: usize = ax.iter().map(|&a| self.shape()[a]).product();
            Tensor::scalar(n as f64).cast(dtype)
        };
        crate::autodiff::op1(desc, &[self], fwd, |_| {
            crate::autodiff::rule(|_, _| Ok(vec![None]))
        })
    }

    /// Index of the largest (`max == true`) or smallest value along `axis`, as int64.
    pub fn arg_reduce(&self, axis: i64, max: bool) -> Result<Tensor> {
        let desc = || crate::graph::Op::ArgReduce { axis, max };
        let fwd = || self.arg_reduce_raw(axis, max);
        crate::autodiff::op1(desc, &[self], fwd, |_| {
            crate::autodiff::rule(|_, _| Ok(vec![None]))
        })
    }

    #[allow(clippy::bool_comparison)]
    fn arg_reduce_raw(&self, axis: i64, max: bool) -> Result<Tensor> {
        let name = if max { "ArgMax" } else { "ArgMin" };
        let dt = self.dtype();
        if dt == DType::Bool {
            bail!("{name}: not supported for dtype bool");
        }
        if self.rank() == 0 {
            bail!("{name}: expected a tensor of rank at least 1, got a scalar");
        }
        let ax = Layout::norm_axis(axis, self.rank(), name)?;
        let n = self.shape()[ax];
        if n == 0 {
            bail!(
                "{name}: reduction axis {ax} is empty in shape {:?}",
                self.shape()
            );
        }
        let mut perm: Vec<usize> = (0..self.rank()).filter(|&a| a != ax).collect();
        let out_shape: Vec<usize> = perm.iter().map(|&a| self.shape()[a]).collect();
        perm.push(ax);
        let t = self.transpose(&perm)?.contiguous()?;
        crate::with_dtype!(dt, T => {
            let s = t.as_slice::<T>().expect("dense");
            let v: Vec<i64> = s
                .chunks(n)
                .map(|row| {
                    let mut best = 0usize;
                    for (i, &x) in row.iter().enumerate().skip(1) {
                        let b = row[best];
                        let nan_x = x.partial_cmp(&x).is_none();
                        let nan_b = b.partial_cmp(&b).is_none();
                        let better = if max { x > b } else { x < b };
                        if !nan_b && (nan_x || better) {
                            best = i;
                        }
                    }
                    best as i64
                })
                .collect();
            Tensor::from_vec(v, &out_shape)
        })
    }
}

/// The gradient of a reduction `y` of `x`, with `g` the gradient of `y`.
fn reduce_grad(
    op: ReduceOp,
    x: &Tensor,
    y: &Tensor,
    g: &Tensor,
    axes: Option<&[i64]>,
) -> Result<Tensor> {
    use crate::autodiff::scalar_like;
    use crate::ops::BinaryOp;
    let ax = norm_axes(axes, x.rank(), op.name())?;
    let kshape: Vec<usize> = (0..x.rank())
        .map(|a| if ax.contains(&a) { 1 } else { x.shape()[a] })
        .collect();
    let all: Vec<i64> = ax.iter().map(|&a| a as i64).collect();
    let gk = g.reshape_to(&kshape)?;
    let yk = y.reshape_to(&kshape)?;
    let dt = x.dtype();
    match op {
        ReduceOp::Sum => gk.broadcast_to(x.shape()),
        ReduceOp::Max | ReduceOp::Min => {
            // Ties share the gradient equally, as TensorFlow's.
            let ind = x.binary(&yk, BinaryOp::Equal)?.cast(dt)?;
            let count = ind.reduce(ReduceOp::Sum, Some(&all), true)?;
            ind.div(&count)?.mul(&gk)
        }
        ReduceOp::Prod => {
            // Product of the other elements, exact when some elements are zero.
            let is_zero = x.binary(&scalar_like(x, 0.0)?, BinaryOp::Equal)?;
            let nonzero = Tensor::select(&is_zero, &scalar_like(x, 1.0)?, x)?;
            let p = nonzero.reduce(ReduceOp::Prod, Some(&all), true)?;
            let zeros = is_zero.cast(dt)?.reduce(ReduceOp::Sum, Some(&all), true)?;
            let none = zeros.binary(&scalar_like(x, 0.0)?, BinaryOp::Equal)?;
            let one = zeros.binary(&scalar_like(x, 1.0)?, BinaryOp::Equal)?;
            let zero = scalar_like(x, 0.0)?;
            let at_zero = Tensor::select(&one, &p, &zero)?;
            let elsewhere = Tensor::select(&none, &p.div(&nonzero)?, &zero)?;
            Tensor::select(&is_zero, &at_zero, &elsewhere)?.mul(&gk)
        }
        ReduceOp::Any | ReduceOp::All => Err(crate::Error::Internal(format!(
            "{}: bool reductions have no gradient",
            op.name()
        ))),
    }
}
