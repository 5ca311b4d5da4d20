//! Movement ops that only change the layout (no copy): transpose, reshape of dense data,
//! expand/squeeze, broadcast, reverse and numpy-style slicing.

use crate::autodiff::{op1, rule, unbroadcast};
use crate::graph::Op;
use crate::layout::{broadcast_shapes, checked_numel, contiguous_strides, Layout};
use crate::{bail, Result, Tensor};

/// One item of a numpy-style index (`x[1, ::2, None, ...]`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SliceItem {
    /// A single position (negative counts from the end); removes the dimension.
    Index(i64),
    /// `start:stop:step` with numpy's defaults and clamping.
    Range {
        /// First position (default: start or end, by the step's sign).
        start: Option<i64>,
        /// Position past the last (default: end or start, by the step's sign).
        stop: Option<i64>,
        /// Step, nonzero.
        step: i64,
    },
    /// A new axis of size 1.
    NewAxis,
    /// As many full ranges as needed.
    Ellipsis,
}

impl Tensor {
    /// Permutes the dimensions (a view).
    ///
    /// ```
    /// let x = rstf::Tensor::from_vec(vec![1i32, 2, 3, 4, 5, 6], &[2, 3]).unwrap();
    /// let t = x.transpose(&[1, 0]).unwrap();
    /// assert_eq!(t.shape(), &[3, 2]);
    /// assert_eq!(t.to_vec::<i32>().unwrap(), vec![1, 4, 2, 5, 3, 6]);
    /// ```
    fn transpose_raw(&self, perm: &[usize]) -> Result<Tensor> {
        let r = self.rank();
        let mut seen = vec![false; r];
        if perm.len() != r
            || perm
                .iter()
                .any(|&p| p >= r || std::mem::replace(&mut seen[p], true))
        {
            bail!(
                "Transpose: perm {perm:?} is not a permutation of the {r} dimensions of a tensor of shape {:?}",
                self.shape()
            );
        }
        let l = self.layout();
        Ok(self.with_layout(Layout {
            shape: perm.iter().map(|&p| l.shape[p]).collect(),
            strides: perm.iter().map(|&p| l.strides[p]).collect(),
            offset: l.offset,
        }))
    }

    /// Gives the elements a new shape (one entry may be -1); a view when the data is dense.
    fn reshape_raw(&self, shape: &[i64]) -> Result<Tensor> {
        let n = self.numel();
        let mut out = Vec::with_capacity(shape.len());
        let mut infer = None;
        let mut known: usize = 1;
        for (i, &d) in shape.iter().enumerate() {
            if d == -1 {
                if let Some(prev) = infer {
                    bail!("Reshape: only one input size may be -1, not both {prev} and {i}");
                }
                infer = Some(i);
                out.push(1);
            } else if d < 0 {
                bail!("Reshape: size {i} must be non-negative, not {d}");
            } else {
                out.push(d as usize);
                known = known.saturating_mul(d as usize);
            }
        }
        if let Some(i) = infer {
            if known == 0 || !n.is_multiple_of(known) {
                bail!(
                    "Reshape: input to reshape is a tensor with {n} values, but the requested shape {shape:?} cannot hold them"
                );
            }
            out[i] = n / known;
        } else if known != n {
            bail!(
                "Reshape: input to reshape is a tensor with {n} values, but the requested shape has {known} (input shape {:?}, requested {shape:?})",
                self.shape()
            );
        }
        self.reshape_to(&out)
    }

    /// Reshape to a known shape with the same number of elements.
    fn reshape_to_raw(&self, shape: &[usize]) -> Result<Tensor> {
        if checked_numel(shape, "Reshape")? != self.numel() {
            bail!(
                "Reshape: cannot reshape a tensor of shape {:?} to {shape:?}",
                self.shape()
            );
        }
        let base = if self.is_contiguous() {
            self.clone()
        } else {
            self.contiguous()?
        };
        let offset = base.layout().offset;
        Ok(base.with_layout(Layout {
            shape: shape.to_vec(),
            strides: contiguous_strides(shape),
            offset,
        }))
    }

    /// Inserts a dimension of size 1 at `axis` (negative counts from the end; a view).
    fn expand_dims_raw(&self, axis: i64) -> Result<Tensor> {
        let r = self.rank() as i64;
        if axis < -r - 1 || axis > r {
            bail!(
                "ExpandDims: axis {axis} is out of bounds for a tensor of rank {r}; expected -{} <= axis <= {r}",
                r + 1
            );
        }
        let a = if axis < 0 {
            (axis + r + 1) as usize
        } else {
            axis as usize
        };
        let mut l = self.layout().clone();
        let stride = if a < l.strides.len() {
            l.strides[a] * l.shape[a] as isize
        } else {
            1
        };
        l.shape.insert(a, 1);
        l.strides.insert(a, stride);
        Ok(self.with_layout(l))
    }

    /// Removes the given dimensions of size 1 (all of them when `axes` is empty; a view).
    fn squeeze_raw(&self, axes: &[i64]) -> Result<Tensor> {
        let r = self.rank();
        let mut drop = vec![false; r];
        if axes.is_empty() {
            for (i, &d) in self.shape().iter().enumerate() {
                drop[i] = d == 1;
            }
        } else {
            for &a in axes {
                let i = Layout::norm_axis(a, r, "Squeeze")?;
                if self.shape()[i] != 1 {
                    bail!(
                        "Squeeze: can not squeeze dim[{i}], expected a dimension of 1, got {} (shape {:?})",
                        self.shape()[i],
                        self.shape()
                    );
                }
                drop[i] = true;
            }
        }
        let l = self.layout();
        let keep = (0..r).filter(|&i| !drop[i]);
        Ok(self.with_layout(Layout {
            shape: keep.clone().map(|i| l.shape[i]).collect(),
            strides: keep.map(|i| l.strides[i]).collect(),
            offset: l.offset,
        }))
    }

    /// Broadcasts to `shape` (numpy rules; a view with zero strides).
    fn broadcast_to_raw(&self, shape: &[usize]) -> Result<Tensor> {
        let b = broadcast_shapes(self.shape(), shape, "BroadcastTo");
        if b.as_deref() != Ok(shape) {
            bail!(
                "BroadcastTo: cannot broadcast a tensor of shape {:?} to {shape:?}",
                self.shape()
            );
        }
        checked_numel(shape, "BroadcastTo")?;
        let strides = crate::layout::broadcast_strides(self.layout(), shape);
        Ok(self.with_layout(Layout {
            shape: shape.to_vec(),
            strides,
            offset: self.layout().offset,
        }))
    }

    /// Reverses the order of elements along `axes` (a view with negative strides).
    fn reverse_raw(&self, axes: &[i64]) -> Result<Tensor> {
        if self.rank() == 0 {
            // TensorFlow's ReverseV2 returns a scalar as it is, whatever the axes.
            return Ok(self.clone());
        }
        let mut l = self.layout().clone();
        let mut seen = vec![false; l.rank()];
        for &a in axes {
            let i = Layout::norm_axis(a, l.rank(), "ReverseV2")?;
            if std::mem::replace(&mut seen[i], true) {
                bail!("ReverseV2: axis {a} specified more than once");
            }
            if l.shape[i] > 0 {
                l.offset = (l.offset as isize + (l.shape[i] as isize - 1) * l.strides[i]) as usize;
            }
            l.strides[i] = -l.strides[i];
        }
        Ok(self.with_layout(l))
    }

    /// Numpy-style basic indexing (a view).
    ///
    /// ```
    /// use rstf::ops::movement::SliceItem;
    /// let x = rstf::Tensor::from_vec((0..6).collect::<Vec<i32>>(), &[2, 3]).unwrap();
    /// let y = x.slice(&[SliceItem::Index(-1), SliceItem::Range { start: None, stop: None, step: -1 }]).unwrap();
    /// assert_eq!(y.to_vec::<i32>().unwrap(), vec![5, 4, 3]);
    /// ```
    fn slice_raw(&self, items: &[SliceItem]) -> Result<Tensor> {
        let src = self.layout();
        let consumed = items
            .iter()
            .filter(|i| matches!(i, SliceItem::Index(_) | SliceItem::Range { .. }))
            .count();
        if items.iter().filter(|i| **i == SliceItem::Ellipsis).count() > 1 {
            bail!("StridedSlice: an index can only have a single ellipsis ('...')");
        }
        if consumed > src.rank() {
            bail!(
                "StridedSlice: too many indices ({consumed}) for a tensor of shape {:?}",
                src.shape
            );
        }
        let mut out = Layout {
            shape: vec![],
            strides: vec![],
            offset: src.offset,
        };
        let mut d = 0usize;
        let mut off = src.offset as isize;
        let full = SliceItem::Range {
            start: None,
            stop: None,
            step: 1,
        };
        let mut expanded: Vec<&SliceItem> = Vec::with_capacity(items.len() + src.rank());
        for it in items {
            if *it == SliceItem::Ellipsis {
                for _ in 0..src.rank() - consumed {
                    expanded.push(&full);
                }
            } else {
                expanded.push(it);
            }
        }
        let have = expanded
            .iter()
            .filter(|i| matches!(i, SliceItem::Index(_) | SliceItem::Range { .. }))
            .count();
        for _ in have..src.rank() {
            expanded.push(&full);
        }
        for it in expanded {
            match *it {
                SliceItem::NewAxis => {
                    out.shape.push(1);
                    out.strides.push(0);
                }
                SliceItem::Index(i) => {
                    let n = src.shape[d] as i64;
                    let j = if i < 0 { i + n } else { i };
                    if j < 0 || j >= n {
                        bail!(
                            "StridedSlice: index {i} is out of bounds for dimension {d} with size {n} (shape {:?})",
                            src.shape
                        );
                    }
                    off += j as isize * src.strides[d];
                    d += 1;
                }
                SliceItem::Range { start, stop, step } => {
                    if step == 0 {
                        bail!("StridedSlice: slice step cannot be zero");
                    }
                    let n = src.shape[d] as i64;
                    let norm = |v: i64, lo: i64, hi: i64| {
                        let v = if v < 0 { v + n } else { v };
                        v.clamp(lo, hi)
                    };
                    let (b, e) = if step > 0 {
                        (
                            start.map_or(0, |s| norm(s, 0, n)),
                            stop.map_or(n, |s| norm(s, 0, n)),
                        )
                    } else {
                        (
                            start.map_or(n - 1, |s| norm(s, -1, n - 1)),
                            stop.map_or(-1, |s| norm(s, -1, n - 1)),
                        )
                    };
                    let (bb, ee, st) = (b as i128, e as i128, step as i128);
                    let len = if st > 0 {
                        if ee > bb {
                            (ee - bb + st - 1) / st
                        } else {
                            0
                        }
                    } else if bb > ee {
                        (bb - ee - st - 1) / (-st)
                    } else {
                        0
                    };
                    if len > 0 {
                        off += b as isize * src.strides[d];
                    }
                    out.shape.push(len as usize);
                    // With at most one element the stride is never used.
                    out.strides.push(if len > 1 {
                        src.strides[d] * step as isize
                    } else {
                        src.strides[d]
                    });
                    d += 1;
                }
                SliceItem::Ellipsis => unreachable!("expanded above"),
            }
        }
        out.offset = off as usize;
        Ok(self.with_layout(out))
    }
}

impl Tensor {
    fn view_op(
        &self,
        op: impl FnOnce() -> Op,
        forward: impl FnOnce() -> Result<Tensor>,
        back: impl Fn(&Tensor, &[usize]) -> Result<Tensor> + Send + Sync + 'static,
    ) -> Result<Tensor> {
        op1(op, &[self], forward, |_| {
            let shape = self.shape().to_vec();
            rule(move |g, _| Ok(vec![Some(back(&g[0], &shape)?)]))
        })
    }

    /// Permutes the dimensions (a view).
    pub fn transpose(&self, perm: &[usize]) -> Result<Tensor> {
        let mut inv = vec![0; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            if p < inv.len() {
                inv[p] = i;
            }
        }
        self.view_op(
            || Op::Transpose(perm.to_vec()),
            || self.transpose_raw(perm),
            move |g, _| g.transpose(&inv),
        )
    }

    /// Reshapes (a view when the data is dense); one dimension may be -1.
    pub fn reshape(&self, shape: &[i64]) -> Result<Tensor> {
        self.view_op(
            || Op::Reshape(shape.to_vec()),
            || self.reshape_raw(shape),
            |g, s| g.reshape_to(s),
        )
    }

    /// Reshapes to a shape with the same number of elements.
    pub fn reshape_to(&self, shape: &[usize]) -> Result<Tensor> {
        self.view_op(
            || Op::Reshape(shape.iter().map(|&d| d as i64).collect()),
            || self.reshape_to_raw(shape),
            |g, s| g.reshape_to(s),
        )
    }

    /// Inserts a dimension of size 1 at `axis`.
    pub fn expand_dims(&self, axis: i64) -> Result<Tensor> {
        self.view_op(
            || Op::ExpandDims(axis),
            || self.expand_dims_raw(axis),
            |g, s| g.reshape_to(s),
        )
    }

    /// Removes the given dimensions of size 1 (all of them when `axes` is empty).
    pub fn squeeze(&self, axes: &[i64]) -> Result<Tensor> {
        self.view_op(
            || Op::Squeeze(axes.to_vec()),
            || self.squeeze_raw(axes),
            |g, s| g.reshape_to(s),
        )
    }

    /// A view repeating size-1 dimensions up to `shape` (numpy broadcasting).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        self.view_op(
            || Op::BroadcastTo(shape.to_vec()),
            || self.broadcast_to_raw(shape),
            unbroadcast,
        )
    }

    /// Reverses the order of elements along `axes` (a view).
    pub fn reverse(&self, axes: &[i64]) -> Result<Tensor> {
        let ax = axes.to_vec();
        self.view_op(
            || Op::Reverse(axes.to_vec()),
            || self.reverse_raw(axes),
            move |g, _| g.reverse(&ax),
        )
    }

    /// Numpy-style basic indexing (a view).
    pub fn slice(&self, items: &[SliceItem]) -> Result<Tensor> {
        let it = items.to_vec();
        self.view_op(
            || Op::Slice(items.to_vec()),
            || self.slice_raw(items),
            move |g, s| Tensor::slice_grad(s, &it, g),
        )
    }

    /// The gradient of [`Tensor::slice`]: zeros of `shape` with `g` written where the slice
    /// `items` of such a tensor would read.
    pub fn slice_grad(shape: &[usize], items: &[SliceItem], g: &Tensor) -> Result<Tensor> {
        let it = items.to_vec();
        let fwd = || {
            let z = Tensor::zeros(shape, g.dtype())?;
            let view = z.slice_raw(items)?;
            if view.shape() != g.shape() {
                bail!(
                    "StridedSliceGrad: gradient of shape {:?} for a slice of shape {:?}",
                    g.shape(),
                    view.shape()
                );
            }
            let (vl, gl) = (view.layout().clone(), g.layout().clone());
            drop(view);
            let mut z = z;
            crate::with_dtype!(g.dtype(), T => {
                let src = g.storage_slice::<T>()?;
                let dst = z.make_mut::<T>()?;
                crate::backend::cpu::strided::copy_into(
                    dst, &vl.strides, vl.offset, src, &gl.strides, gl.offset, &gl.shape,
                );
            });
            Ok(z)
        };
        let op = || Op::SliceGrad {
            shape: shape.to_vec(),
            items: items.to_vec(),
        };
        op1(op, &[g], fwd, |_| {
            rule(move |gg, _| Ok(vec![Some(gg[0].slice(&it)?)]))
        })
    }
}
