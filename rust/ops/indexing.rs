//! Ops that build a new tensor from pieces of others: concat, stack, unstack, split, tile,
//! pad, gather and one_hot.

use crate::autodiff::{op1, op_n, rule};
use crate::backend::cpu::strided;
use crate::dtype::{DType, Element};
use crate::graph::Op;
use crate::layout::{checked_numel, contiguous_strides, Layout};
use crate::ops::movement::SliceItem;
use crate::ops::ReduceOp;
use crate::storage::try_alloc;
use crate::{bail, Result, Tensor};

/// Copies `src` into the region of the dense buffer `dst` (of shape `dst_shape`) that starts
/// at the multi-index `at`.
fn paste<T: Element>(dst: &mut [T], dst_shape: &[usize], at: &[usize], src: &Tensor) -> Result<()> {
    let ds = contiguous_strides(dst_shape);
    let off: isize = at.iter().zip(&ds).map(|(&i, &s)| i as isize * s).sum();
    let l = src.layout();
    strided::copy_into(
        dst,
        &ds,
        off as usize,
        src.storage_slice::<T>()?,
        &l.strides,
        l.offset,
        &l.shape,
    );
    Ok(())
}

fn filled<T: Element>(n: usize, v: T, op: &str) -> Result<Vec<T>> {
    let mut out = try_alloc::<T>(n, op)?;
    out.resize(n, v);
    Ok(out)
}

impl Tensor {
    fn concat_raw(tensors: &[Tensor], axis: i64) -> Result<Tensor> {
        let Some(first) = tensors.first() else {
            bail!("ConcatV2: expected at least one tensor to concatenate");
        };
        let rank = first.rank();
        if rank == 0 {
            bail!("ConcatV2: can't concatenate scalars (use stack instead)");
        }
        let ax = Layout::norm_axis(axis, rank, "ConcatV2")?;
        let mut shape = first.shape().to_vec();
        shape[ax] = 0;
        for (i, t) in tensors.iter().enumerate() {
            if t.dtype() != first.dtype() {
                bail!(
                    "ConcatV2: all tensors must have the same dtype; tensor 0 is {} and tensor {i} is {}",
                    first.dtype(),
                    t.dtype()
                );
            }
            let ok =
                t.rank() == rank && (0..rank).all(|d| d == ax || t.shape()[d] == first.shape()[d]);
            if !ok {
                bail!(
                    "ConcatV2: dimensions of inputs should match: shape[0] = {:?} vs. shape[{i}] = {:?} (axis {axis})",
                    first.shape(),
                    t.shape()
                );
            }
            shape[ax] += t.shape()[ax];
        }
        let n = checked_numel(&shape, "ConcatV2")?;
        if first.dtype() == DType::String {
            let refs: Vec<&Tensor> = tensors.iter().collect();
            return super::strings::lift(&refs, |p| Tensor::concat_raw(p, axis));
        }
        crate::with_dtype!(first.dtype(), T => {
            let mut out = filled::<T>(n, T::zero(), "ConcatV2")?;
            let mut at = vec![0usize; rank];
            for t in tensors {
                paste(&mut out, &shape, &at, t)?;
                at[ax] += t.shape()[ax];
            }
            Tensor::from_vec(out, &shape)
        })
    }

    /// Joins tensors of one shape along a new axis.
    pub fn stack(tensors: &[Tensor], axis: i64) -> Result<Tensor> {
        let Some(first) = tensors.first() else {
            bail!("Pack: expected at least one tensor to stack");
        };
        for (i, t) in tensors.iter().enumerate() {
            if t.shape() != first.shape() {
                bail!(
                    "Pack: shapes of all inputs must match: values[0].shape = {:?} != values[{i}].shape = {:?}",
                    first.shape(),
                    t.shape()
                );
            }
        }
        let r = first.rank() as i64;
        if axis < -r - 1 || axis > r {
            bail!("Pack: axis {axis} is out of bounds for stacking tensors of rank {r}");
        }
        let parts: Vec<Tensor> = tensors
            .iter()
            .map(|t| t.expand_dims(axis))
            .collect::<Result<_>>()?;
        Tensor::concat(&parts, axis)
    }

    /// Splits along `axis` into its slices (views).
    fn unstack_raw(&self, axis: i64) -> Result<Vec<Tensor>> {
        if self.rank() == 0 {
            bail!("Unpack: can't unstack a scalar");
        }
        let ax = Layout::norm_axis(axis, self.rank(), "Unpack")?;
        (0..self.shape()[ax])
            .map(|i| {
                let mut l = self.layout().clone();
                l.offset = (l.offset as isize + i as isize * l.strides[ax]) as usize;
                l.shape.remove(ax);
                l.strides.remove(ax);
                Ok(self.with_layout(l))
            })
            .collect()
    }

    /// Splits along `axis` into pieces of the given sizes (one may be -1; views).
    fn split_raw(&self, sizes: &[i64], axis: i64) -> Result<Vec<Tensor>> {
        let ax = Layout::norm_axis(axis, self.rank(), "SplitV")?;
        let n = self.shape()[ax] as i64;
        let known: i64 = sizes.iter().filter(|&&s| s >= 0).sum();
        let unknown = sizes.iter().filter(|&&s| s == -1).count();
        if sizes.iter().any(|&s| s < -1) || unknown > 1 || (unknown == 0 && known != n) || known > n
        {
            bail!(
                "SplitV: determined shape must either match input shape along split_dim exactly if fully specified, or be less than the size of the input along split_dim if not fully specified; got sizes {sizes:?} for dimension {ax} of size {n}"
            );
        }
        let mut start = 0usize;
        sizes
            .iter()
            .map(|&s| {
                let len = if s == -1 {
                    (n - known) as usize
                } else {
                    s as usize
                };
                let mut l = self.layout().clone();
                if len > 0 {
                    l.offset = (l.offset as isize + start as isize * l.strides[ax]) as usize;
                }
                l.shape[ax] = len;
                start += len;
                Ok(self.with_layout(l))
            })
            .collect()
    }

    /// Repeats the tensor `multiples[i]` times along each dimension.
    fn tile_raw(&self, multiples: &[i64]) -> Result<Tensor> {
        if multiples.len() != self.rank() {
            bail!(
                "Tile: expected multiples argument to be a vector of length {} but got length {} (input shape {:?})",
                self.rank(),
                multiples.len(),
                self.shape()
            );
        }
        if let Some(m) = multiples.iter().find(|&&m| m < 0) {
            bail!("Tile: expected multiples to be non-negative, got {m}");
        }
        // (a, b) tiled (m, n) is (1, a, 1, b) broadcast to (m, a, n, b), made dense.
        let mut l = self.layout().clone();
        let mut wide = Vec::with_capacity(2 * l.rank());
        let mut strides = Vec::with_capacity(2 * l.rank());
        let mut shape = Vec::with_capacity(l.rank());
        for (i, &m) in multiples.iter().enumerate() {
            wide.push(m as usize);
            strides.push(0);
            wide.push(l.shape[i]);
            strides.push(l.strides[i]);
            shape.push(m as usize * l.shape[i]);
        }
        checked_numel(&shape, "Tile")?;
        l.shape = wide;
        l.strides = strides;
        self.with_layout(l).contiguous()?.reshape_to(&shape)
    }

    /// Pads with `value` (a scalar of the same dtype): `paddings[i] = (before, after)`.
    fn pad_raw(&self, paddings: &[(i64, i64)], value: &Tensor) -> Result<Tensor> {
        if paddings.len() != self.rank() {
            bail!(
                "Pad: the first dimension of paddings must be the rank of inputs {}, got {} (input shape {:?})",
                self.rank(),
                paddings.len(),
                self.shape()
            );
        }
        if value.dtype() != self.dtype() || value.numel() != 1 {
            bail!(
                "Pad: constant_values must be a scalar of dtype {}",
                self.dtype()
            );
        }
        if let Some(p) = paddings.iter().find(|p| p.0 < 0 || p.1 < 0) {
            bail!("Pad: paddings must be non-negative, got {p:?}");
        }
        let shape: Vec<usize> = self
            .shape()
            .iter()
            .zip(paddings)
            .map(|(&d, p)| {
                d.checked_add(p.0 as usize)
                    .and_then(|v| v.checked_add(p.1 as usize))
            })
            .collect::<Option<_>>()
            .ok_or_else(|| {
                crate::Error::ResourceExhausted(format!(
                    "Pad: padding {paddings:?} of a tensor of shape {:?} is too large",
                    self.shape()
                ))
            })?;
        let n = checked_numel(&shape, "Pad")?;
        let at: Vec<usize> = paddings.iter().map(|p| p.0 as usize).collect();
        if self.dtype() == DType::String {
            return super::strings::lift(&[self, value], |p| p[0].pad_raw(paddings, &p[1]));
        }
        crate::with_dtype!(self.dtype(), T => {
            let v = value.storage_slice::<T>()?[value.layout().offset];
            let mut out = filled::<T>(n, v, "Pad")?;
            paste(&mut out, &shape, &at, self)?;
            Tensor::from_vec(out, &shape)
        })
    }

    /// The indices of a gather from `self` (host values) and the axis, after checking that
    /// each index is within the axis, as the host kernel and TensorFlow's CPU kernel do.
    pub(crate) fn gather_check(&self, indices: &Tensor, axis: i64) -> Result<(Vec<i64>, usize)> {
        let idx = indices_i64(indices, "GatherV2")?;
        let ax = Layout::norm_axis(axis, self.rank().max(1), "GatherV2")?;
        if self.rank() == 0 {
            bail!("GatherV2: params must be at least 1 dimensional");
        }
        let n = self.shape()[ax];
        if let Some((i, &v)) = idx
            .iter()
            .enumerate()
            .find(|(_, &v)| v < 0 || v as usize >= n)
        {
            bail!("GatherV2: indices[{i}] = {v} is not in [0, {n})");
        }
        Ok((idx, ax))
    }

    /// Gathers slices of `self` along `axis` at `indices` (int32 or int64).
    ///
    /// ```
    /// let x = rstf::Tensor::from_vec(vec![10i32, 20, 30], &[3]).unwrap();
    /// let i = rstf::Tensor::from_vec(vec![2i64, 0], &[2]).unwrap();
    /// assert_eq!(x.gather(&i, 0).unwrap().to_vec::<i32>().unwrap(), vec![30, 10]);
    /// ```
    fn gather_raw(&self, indices: &Tensor, axis: i64) -> Result<Tensor> {
        let (idx, ax) = self.gather_check(indices, axis)?;
        let n = self.shape()[ax];
        let mut shape = self.shape()[..ax].to_vec();
        shape.extend_from_slice(indices.shape());
        shape.extend_from_slice(&self.shape()[ax + 1..]);
        let total = checked_numel(&shape, "GatherV2")?;
        let outer: usize = self.shape()[..ax].iter().product();
        let inner: usize = self.shape()[ax + 1..].iter().product();
        if self.dtype() == DType::String {
            return super::strings::lift(&[self], |p| p[0].gather_raw(indices, axis));
        }
        let src = self.contiguous()?;
        crate::with_dtype!(self.dtype(), T => {
            let s = src.as_slice::<T>().expect("dense");
            let mut out = try_alloc::<T>(total, "GatherV2")?;
            for o in 0..outer {
                for &k in &idx {
                    let b = (o * n + k as usize) * inner;
                    out.extend_from_slice(&s[b..b + inner]);
                }
            }
            Tensor::from_vec(out, &shape)
        })
    }

    /// One-hot encoding of integer `indices` along a new last axis of size `depth`.
    pub fn one_hot(indices: &Tensor, depth: usize, on: &Tensor, off: &Tensor) -> Result<Tensor> {
        let fwd = || Tensor::one_hot_raw(indices, depth, on, off);
        op1(
            || Op::OneHot(depth),
            &[indices, on, off],
            fwd,
            |_| rule(|_, _| Ok(vec![None, None, None])),
        )
    }

    fn one_hot_raw(indices: &Tensor, depth: usize, on: &Tensor, off: &Tensor) -> Result<Tensor> {
        let idx = indices_i64(indices, "OneHot")?;
        if on.dtype() != off.dtype() {
            bail!(
                "OneHot: on_value and off_value must have one dtype, got {} and {}",
                on.dtype(),
                off.dtype()
            );
        }
        let mut shape = indices.shape().to_vec();
        shape.push(depth);
        let n = checked_numel(&shape, "OneHot")?;
        crate::with_dtype!(on.dtype(), T => {
            let onv = on.storage_slice::<T>()?[on.layout().offset];
            let offv = off.storage_slice::<T>()?[off.layout().offset];
            let mut out = filled::<T>(n, offv, "OneHot")?;
            for (i, &k) in idx.iter().enumerate() {
                if k >= 0 && (k as usize) < depth {
                    out[i * depth + k as usize] = onv;
                }
            }
            Tensor::from_vec(out, &shape)
        })
    }
}

/// The elements of an int32/int64 index tensor as i64.
pub fn indices_i64(indices: &Tensor, op: &str) -> Result<Vec<i64>> {
    match indices.dtype() {
        DType::I32 => Ok(indices
            .to_vec::<i32>()?
            .into_iter()
            .map(i64::from)
            .collect()),
        DType::I64 => indices.to_vec::<i64>(),
        d => bail!(
            "{op}: indices must be int32 or int64, got {d} (shape {:?})",
            indices.shape()
        ),
    }
}

/// The differentiable entry points, each with its gradient rule.
impl Tensor {
    /// Joins tensors along an existing axis.
    ///
    /// ```
    /// let x = rstf::Tensor::from_vec(vec![1i32, 2], &[1, 2]).unwrap();
    /// let y = rstf::Tensor::concat(&[x.clone(), x], 0).unwrap();
    /// assert_eq!(y.shape(), &[2, 2]);
    /// ```
    pub fn concat(tensors: &[Tensor], axis: i64) -> Result<Tensor> {
        let refs: Vec<&Tensor> = tensors.iter().collect();
        op1(
            || Op::Concat(axis),
            &refs,
            || Tensor::concat_raw(tensors, axis),
            |_| {
                let rank = tensors[0].rank();
                let ax = if axis < 0 { axis + rank as i64 } else { axis } as usize;
                let sizes: Vec<i64> = tensors.iter().map(|t| t.shape()[ax] as i64).collect();
                rule(move |g, _| {
                    Ok(g[0]
                        .split(&sizes, ax as i64)?
                        .into_iter()
                        .map(Some)
                        .collect())
                })
            },
        )
    }

    /// Splits along `axis` into its slices (views), removing the axis.
    pub fn unstack(&self, axis: i64) -> Result<Vec<Tensor>> {
        op_n(
            || Op::Unstack(axis),
            &[self],
            || self.unstack_raw(axis),
            |_| rule(move |g, _| Ok(vec![Some(Tensor::stack(g, axis)?)])),
        )
    }

    /// Splits along `axis` into pieces of the given sizes (views); one size may be -1.
    pub fn split(&self, sizes: &[i64], axis: i64) -> Result<Vec<Tensor>> {
        op_n(
            || Op::Split {
                sizes: sizes.to_vec(),
                axis,
            },
            &[self],
            || self.split_raw(sizes, axis),
            |_| rule(move |g, _| Ok(vec![Some(Tensor::concat(g, axis)?)])),
        )
    }

    /// Repeats the tensor `multiples[i]` times along each dimension `i`.
    pub fn tile(&self, multiples: &[i64]) -> Result<Tensor> {
        op1(
            || Op::Tile(multiples.to_vec()),
            &[self],
            || self.tile_raw(multiples),
            |_| {
                let (shape, m) = (self.shape().to_vec(), multiples.to_vec());
                rule(move |g, _| {
                    // Output index k*d + j comes from input j: view as [m0, d0, m1, d1, ...] and
                    // sum the copies.
                    let wide: Vec<usize> = m
                        .iter()
                        .zip(&shape)
                        .flat_map(|(&m, &d)| [m as usize, d])
                        .collect();
                    let axes: Vec<i64> = (0..shape.len()).map(|i| 2 * i as i64).collect();
                    let s = g[0]
                        .reshape_to(&wide)?
                        .reduce(ReduceOp::Sum, Some(&axes), false)?;
                    Ok(vec![Some(s.reshape_to(&shape)?)])
                })
            },
        )
    }

    /// Pads with `value` (a scalar of the same dtype): `paddings[i] = (before, after)`.
    pub fn pad(&self, paddings: &[(i64, i64)], value: &Tensor) -> Result<Tensor> {
        op1(
            || Op::Pad(paddings.to_vec()),
            &[self, value],
            || self.pad_raw(paddings, value),
            |_| {
                let vshape = value.shape().to_vec();
                let items: Vec<SliceItem> = paddings
                    .iter()
                    .zip(self.shape())
                    .map(|(p, &d)| SliceItem::Range {
                        start: Some(p.0),
                        stop: Some(p.0 + d as i64),
                        step: 1,
                    })
                    .collect();
                rule(move |g, needs| {
                    let gv = if needs[1] {
                        // Padded cells: the total minus the part that came from the input.
                        let inner = g[0].slice(&items)?.reduce(ReduceOp::Sum, None, false)?;
                        Some(
                            g[0].reduce(ReduceOp::Sum, None, false)?
                                .sub(&inner)?
                                .reshape_to(&vshape)?,
                        )
                    } else {
                        None
                    };
                    Ok(vec![Some(g[0].slice(&items)?), gv])
                })
            },
        )
    }

    /// Picks slices along `axis` at `indices` (int32 or int64).
    pub fn gather(&self, indices: &Tensor, axis: i64) -> Result<Tensor> {
        op1(
            || Op::Gather(axis),
            &[self, indices],
            || self.gather_raw(indices, axis),
            |_| {
                let (shape, idx) = (self.shape().to_vec(), indices.clone());
                rule(move |g, _| {
                    Ok(vec![
                        Some(Tensor::gather_grad(&shape, &idx, axis, &g[0])?),
                        None,
                    ])
                })
            },
        )
    }

    /// The gradient of [`Tensor::gather`]: zeros of `shape` with each slice of `g` added at
    /// its index (repeated indices accumulate).
    pub fn gather_grad(shape: &[usize], indices: &Tensor, axis: i64, g: &Tensor) -> Result<Tensor> {
        let fwd = || {
            let idx = indices_i64(indices, "GatherGrad")?;
            let ax = Layout::norm_axis(axis, shape.len(), "GatherGrad")?;
            let n = shape[ax];
            let outer: usize = shape[..ax].iter().product();
            let inner: usize = shape[ax + 1..].iter().product();
            if g.numel() != outer * idx.len() * inner {
                bail!(
                    "GatherGrad: gradient of shape {:?} does not match {} indices into shape {shape:?}",
                    g.shape(),
                    idx.len()
                );
            }
            if g.dtype().is_half() {
                let g32 = g.cast(DType::F32)?;
                return Tensor::gather_grad(shape, indices, axis, &g32)?.cast(g.dtype());
            }
            let gc = g.contiguous()?;
            let mut out = Tensor::zeros(shape, g.dtype())?;
            macro_rules! go {
                ($T:ty) => {{
                    let s = gc.as_slice::<$T>().expect("dense");
                    let d = out.make_mut::<$T>()?;
                    let mut pos = 0;
                    for o in 0..outer {
                        for &k in &idx {
                            let b = (o * n + k as usize) * inner;
                            for (x, y) in d[b..b + inner].iter_mut().zip(&s[pos..pos + inner]) {
                                *x += *y;
                            }
                            pos += inner;
                        }
                    }
                }};
            }
            match g.dtype() {
                DType::F32 => go!(f32),
                DType::F64 => go!(f64),
                d => bail!("GatherGrad: expected a float32 or float64 gradient, got {d}"),
            }
            Ok(out)
        };
        let op = || Op::GatherGrad {
            shape: shape.to_vec(),
            axis,
        };
        op1(op, &[indices, g], fwd, |_| {
            let idx = indices.clone();
            rule(move |gg, _| Ok(vec![None, Some(gg[0].gather(&idx, axis)?)]))
        })
    }
}
