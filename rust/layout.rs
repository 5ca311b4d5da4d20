//! Shapes, strides and broadcasting. A tensor is a [`Layout`] over a flat storage: view ops
//! (transpose, slicing, broadcasting, expand/squeeze, reshape of contiguous data) only change
//! the layout.

use crate::{bail, Result};

/// Largest number of elements a tensor may have (`isize::MAX` bytes of float64 at most).
pub const MAX_ELEMENTS: usize = (isize::MAX as usize) / 16;

/// Shape, strides (in elements, possibly zero or negative) and offset of a tensor's view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Size of each dimension.
    pub shape: Vec<usize>,
    /// Step in elements between neighbours along each dimension.
    pub strides: Vec<isize>,
    /// Index of the first element in the storage.
    pub offset: usize,
}

/// Row-major strides of a dense tensor of `shape`.
pub fn contiguous_strides(shape: &[usize]) -> Vec<isize> {
    let mut strides = vec![0isize; shape.len()];
    let mut acc = 1isize;
    for i in (0..shape.len()).rev() {
        strides[i] = acc;
        acc = acc.wrapping_mul(shape[i].max(1) as isize);
    }
    strides
}

/// Number of elements of `shape`, or an error naming `op` when it overflows.
pub fn checked_numel(shape: &[usize], op: &str) -> Result<usize> {
    let mut n: usize = 1;
    for &d in shape {
        n = match n.checked_mul(d) {
            Some(v) if v <= MAX_ELEMENTS => v,
            _ => {
                return Err(crate::Error::ResourceExhausted(format!(
                    "{op}: a tensor of shape {shape:?} has too many elements"
                )))
            }
        };
    }
    Ok(n)
}

impl Layout {
    /// The dense row-major layout of `shape`.
    pub fn contiguous(shape: &[usize]) -> Layout {
        Layout {
            shape: shape.to_vec(),
            strides: contiguous_strides(shape),
            offset: 0,
        }
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the view is dense and row-major (size-1 dims may have any stride).
    pub fn is_contiguous(&self) -> bool {
        let mut acc = 1isize;
        for i in (0..self.shape.len()).rev() {
            if self.shape[i] == 1 {
                continue;
            }
            if self.shape[i] == 0 {
                return true;
            }
            if self.strides[i] != acc {
                return false;
            }
            acc *= self.shape[i] as isize;
        }
        true
    }

    /// Range of storage indices `[lo, hi)` touched by the view (empty for 0 elements).
    pub fn span(&self) -> (usize, usize) {
        if self.numel() == 0 {
            return (self.offset, self.offset);
        }
        let (mut lo, mut hi) = (self.offset as isize, self.offset as isize);
        for (&d, &s) in self.shape.iter().zip(&self.strides) {
            let ext = (d as isize - 1) * s;
            if ext < 0 {
                lo += ext;
            } else {
                hi += ext;
            }
        }
        (lo as usize, hi as usize + 1)
    }

    /// Normalises a possibly negative `axis` against `rank`, naming `op` on error. A scalar
    /// has no axis at all (TensorFlow refuses axis 0 and -1 there too).
    pub fn norm_axis(axis: i64, rank: usize, op: &str) -> Result<usize> {
        let r = rank as i64;
        if axis < -r || axis >= r {
            if rank == 0 {
                bail!("{op}: axis {axis} is out of bounds for a scalar (a tensor of rank 0 has no axes)");
            }
            bail!("{op}: axis {axis} is out of bounds for a tensor of rank {rank}; expected -{rank} <= axis < {rank}");
        }
        Ok(if axis < 0 {
            (axis + r) as usize
        } else {
            axis as usize
        })
    }
}

/// The broadcast of two shapes (numpy rules), or an error naming `op`.
pub fn broadcast_shapes(a: &[usize], b: &[usize], op: &str) -> Result<Vec<usize>> {
    if a == b {
        return Ok(a.to_vec());
    }
    let n = a.len().max(b.len());
    let mut out = vec![0usize; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            bail!("{op}: Incompatible shapes: {a:?} vs. {b:?}");
        };
    }
    Ok(out)
}

/// Strides of `layout` seen through the broadcast to `out_shape` (0 along broadcast dims).
/// The caller guarantees that `layout.shape` broadcasts to `out_shape`.
pub fn broadcast_strides(layout: &Layout, out_shape: &[usize]) -> Vec<isize> {
    let n = out_shape.len();
    let r = layout.shape.len();
    let mut strides = vec![0isize; n];
    for i in 0..r {
        let o = n - r + i;
        strides[o] = if layout.shape[i] == 1 && out_shape[o] != 1 {
            0
        } else {
            layout.strides[i]
        };
    }
    strides
}
