//! Abstract evaluation: [`Op::infer`] gives an op's output dtypes and shapes from its inputs'
//! dtypes and partially known shapes, without running a kernel. An unknown dimension (`None`)
//! stays unknown through every op unless the op's rule fixes it (a broadcast against a known
//! size, a concatenation's other sizes, ...). Ranks are always known.
//!
//! This is the per-op shape and dtype rule that symbolic tracing needs. While functions are
//! still traced on real values, setting `RSTF_CHECK_INFER=1` makes every traced op check that
//! its rule agrees with what its kernel produced (`make test` sets it), so the rules are tested
//! by the whole suite.
//!
//! ```
//! use rstf::graph::{Op, Spec};
//! use rstf::ops::BinaryOp;
//! use rstf::DType;
//! let x = Spec::new(DType::F32, &[None, Some(3)]);
//! let y = Spec::new(DType::F32, &[Some(1), Some(3)]);
//! let out = Op::Binary(BinaryOp::Less).infer(&[x, y]).unwrap();
//! assert_eq!(out, vec![Spec::new(DType::Bool, &[None, Some(3)])]);
//! ```

use super::Op;
use crate::dtype::DType;
use crate::layout::Layout;
use crate::ops::linalg::LinalgOp;
use crate::ops::movement::SliceItem;
use crate::ops::{BinaryOp, ReduceOp, UnaryOp};
use crate::{bail, Result};

/// A dimension: its size, or `None` when unknown.
pub type Dim = Option<usize>;

/// What is known of a value before it is computed: its dtype and its shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The element type.
    pub dtype: DType,
    /// The sizes, `None` where unknown.
    pub dims: Vec<Dim>,
}

impl Spec {
    /// A spec of `dtype` and `dims`.
    pub fn new(dtype: DType, dims: &[Dim]) -> Spec {
        Spec {
            dtype,
            dims: dims.to_vec(),
        }
    }

    /// The spec of a value whose shape is fully known.
    pub fn known(dtype: DType, shape: &[usize]) -> Spec {
        Spec {
            dtype,
            dims: shape.iter().map(|&d| Some(d)).collect(),
        }
    }

    fn rank(&self) -> usize {
        self.dims.len()
    }

    /// The number of elements, when every dimension is known.
    fn numel(&self) -> Option<usize> {
        self.dims
            .iter()
            .try_fold(1usize, |n, d| n.checked_mul((*d)?))
    }
}

/// TensorFlow's broadcast of two partially known shapes.
pub(crate) fn broadcast(op: &str, a: &[Dim], b: &[Dim]) -> Result<Vec<Dim>> {
    let r = a.len().max(b.len());
    let at = |s: &[Dim], i: usize| {
        if i + s.len() >= r {
            s[i + s.len() - r]
        } else {
            Some(1)
        }
    };
    (0..r)
        .map(|i| match (at(a, i), at(b, i)) {
            (Some(1), d) | (d, Some(1)) => Ok(d),
            (Some(x), Some(y)) if x != y => {
                bail!("{op}: incompatible shapes {} and {}", show(a), show(b))
            }
            (Some(x), _) | (_, Some(x)) => Ok(Some(x)),
            (None, None) => Ok(None),
        })
        .collect()
}

/// A shape as TensorFlow prints a partially known one: `(None, 3)`.
pub fn show(dims: &[Dim]) -> String {
    let parts: Vec<String> = dims
        .iter()
        .map(|d| d.map_or("None".to_string(), |n| n.to_string()))
        .collect();
    if parts.len() == 1 {
        format!("({},)", parts[0])
    } else {
        format!("({})", parts.join(", "))
    }
}

/// Two dimensions that must be equal: the known one of them.
fn merge(op: &str, a: Dim, b: Dim) -> Result<Dim> {
    match (a, b) {
        (Some(x), Some(y)) if x != y => bail!("{op}: dimensions {x} and {y} must be equal"),
        (Some(x), _) | (_, Some(x)) => Ok(Some(x)),
        (None, None) => Ok(None),
    }
}

fn axis(a: i64, rank: usize, op: &str) -> Result<usize> {
    Layout::norm_axis(a, rank, op)
}

/// The length of numpy's `start:stop:step` over `n` elements.
fn range_len(n: usize, start: Option<i64>, stop: Option<i64>, step: i64) -> usize {
    let n = n as i64;
    let clamp = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
    let norm = |v: i64| if v < 0 { v + n } else { v };
    let (s, e) = if step > 0 {
        (
            start.map_or(0, |v| clamp(norm(v), 0, n)),
            stop.map_or(n, |v| clamp(norm(v), 0, n)),
        )
    } else {
        (
            start.map_or(n - 1, |v| clamp(norm(v), -1, n - 1)),
            stop.map_or(-1, |v| clamp(norm(v), -1, n - 1)),
        )
    };
    let len = if step > 0 {
        (e - s + step - 1) / step
    } else {
        (s - e + (-step) - 1) / (-step)
    };
    len.max(0) as usize
}

fn slice_dims(x: &Spec, items: &[SliceItem]) -> Result<Vec<Dim>> {
    let consumed = items
        .iter()
        .filter(|i| matches!(i, SliceItem::Index(_) | SliceItem::Range { .. }))
        .count();
    if consumed > x.rank() {
        bail!(
            "StridedSlice: too many indices ({consumed}) for a tensor of shape {}",
            show(&x.dims)
        );
    }
    let mut out = Vec::new();
    let mut d = 0;
    for item in items {
        match *item {
            SliceItem::Index(i) => {
                if let Some(n) = x.dims[d] {
                    let n = n as i64;
                    if i >= n || i < -n {
                        bail!(
                            "StridedSlice: index {i} is out of bounds for dimension {d} of size {n}"
                        );
                    }
                }
                d += 1;
            }
            SliceItem::Range { start, stop, step } => {
                if step == 0 {
                    bail!("StridedSlice: step must be nonzero");
                }
                out.push(x.dims[d].map(|n| range_len(n, start, stop, step)));
                d += 1;
            }
            SliceItem::NewAxis => out.push(Some(1)),
            SliceItem::Ellipsis => {
                let fill = x.rank() - consumed;
                out.extend_from_slice(&x.dims[d..d + fill]);
                d += fill;
            }
        }
    }
    out.extend_from_slice(&x.dims[d..]);
    Ok(out)
}

fn reshape_dims(x: &Spec, shape: &[i64]) -> Result<Vec<Dim>> {
    let unknown = shape.iter().filter(|&&s| s == -1).count();
    if unknown > 1 || shape.iter().any(|&s| s < -1) {
        bail!("Reshape: invalid target shape {shape:?}");
    }
    let known: usize = shape
        .iter()
        .filter(|&&s| s >= 0)
        .map(|&s| s as usize)
        .product();
    let total = x.numel();
    if unknown == 0 {
        if let Some(t) = total {
            if t != known {
                bail!(
                    "Reshape: cannot reshape a tensor with {t} elements to shape {shape:?} ({known} elements)"
                );
            }
        }
        return Ok(shape.iter().map(|&s| Some(s as usize)).collect());
    }
    if known == 0 {
        bail!("Reshape: cannot infer the -1 in {shape:?} when another size is 0");
    }
    let rest = match total {
        Some(t) => {
            if t % known != 0 {
                bail!(
                    "Reshape: cannot reshape a tensor with {t} elements to shape {shape:?}: {t} is not a multiple of {known}"
                );
            }
            Some(t / known)
        }
        _ => None,
    };
    Ok(shape
        .iter()
        .map(|&s| if s == -1 { rest } else { Some(s as usize) })
        .collect())
}

pub(crate) fn reduce_dims(
    x: &Spec,
    axes: Option<&[i64]>,
    keepdims: bool,
    op: &str,
) -> Result<Vec<Dim>> {
    let mut hit = vec![axes.is_none(); x.rank()];
    for &a in axes.unwrap_or(&[]) {
        let i = axis(a, x.rank(), op)?;
        if std::mem::replace(&mut hit[i], true) {
            bail!("{op}: axis {a} appears more than once");
        }
    }
    Ok(x.dims
        .iter()
        .zip(&hit)
        .filter_map(|(&d, &h)| match (h, keepdims) {
            (false, _) => Some(d),
            (true, true) => Some(Some(1)),
            (true, false) => None,
        })
        .collect())
}

fn same_dtype(op: &str, a: &Spec, b: &Spec) -> Result<()> {
    if a.dtype != b.dtype {
        bail!(
            "{op}: inputs must have one dtype, got {} with shape {} and {} with shape {}",
            a.dtype,
            show(&a.dims),
            b.dtype,
            show(&b.dims)
        );
    }
    Ok(())
}

fn unary_dtype(u: UnaryOp, x: &Spec) -> Result<()> {
    let ok = match u {
        UnaryOp::LogicalNot => x.dtype == DType::Bool,
        _ if x.dtype == DType::Bool => false,
        _ => x.dtype.is_float() || !u.float_only(),
    };
    if !ok {
        bail!(
            "{}: not supported for dtype {} (shape {})",
            u.name(),
            x.dtype,
            show(&x.dims)
        );
    }
    Ok(())
}

fn binary(b: BinaryOp, x: &Spec, y: &Spec) -> Result<Spec> {
    let name = b.name();
    same_dtype(name, x, y)?;
    let ok = match b {
        _ if x.dtype == DType::String => {
            matches!(b, BinaryOp::Add | BinaryOp::Equal | BinaryOp::NotEqual)
        }
        BinaryOp::LogicalAnd | BinaryOp::LogicalOr => x.dtype == DType::Bool,
        BinaryOp::Maximum | BinaryOp::Minimum => true,
        _ => x.dtype != DType::Bool || b.is_comparison(),
    };
    if !ok {
        bail!("{name}: not supported for dtype {}", x.dtype);
    }
    let dims = broadcast(name, &x.dims, &y.dims)?;
    let dtype = if b.is_comparison() {
        DType::Bool
    } else {
        x.dtype
    };
    Ok(Spec { dtype, dims })
}

fn matmul(a: &Spec, b: &Spec, ta: bool, tb: bool) -> Result<Spec> {
    same_dtype("MatMul", a, b)?;
    if a.dtype == DType::Bool {
        bail!("MatMul: not supported for dtype bool");
    }
    let (ra, rb) = (a.rank(), b.rank());
    if ra < 2 || rb < 2 {
        bail!(
            "MatMul: In[0] and In[1] must have rank >= 2, got shapes {} and {}",
            show(&a.dims),
            show(&b.dims)
        );
    }
    let (m, ka) = if ta {
        (a.dims[ra - 1], a.dims[ra - 2])
    } else {
        (a.dims[ra - 2], a.dims[ra - 1])
    };
    let (kb, n) = if tb {
        (b.dims[rb - 1], b.dims[rb - 2])
    } else {
        (b.dims[rb - 2], b.dims[rb - 1])
    };
    merge("MatMul", ka, kb)?;
    let mut dims = broadcast("MatMul", &a.dims[..ra - 2], &b.dims[..rb - 2])?;
    dims.extend([m, n]);
    Ok(Spec {
        dtype: a.dtype,
        dims,
    })
}

fn linalg(l: LinalgOp, inputs: &[Spec]) -> Result<Vec<Spec>> {
    let name = l.name();
    let a = &inputs[0];
    for x in inputs {
        if !matches!(x.dtype, DType::F32 | DType::F64) || x.rank() < 2 {
            bail!(
                "{name}: expected float32 or float64 matrices of rank >= 2, got {} with shape {}",
                x.dtype,
                show(&x.dims)
            );
        }
    }
    let r = a.rank();
    let (bs, m, n) = (&a.dims[..r - 2], a.dims[r - 2], a.dims[r - 1]);
    if l.square() {
        merge(name, m, n)?;
    }
    let with = |tail: &[Dim]| Spec {
        dtype: a.dtype,
        dims: bs.iter().chain(tail).copied().collect(),
    };
    let p = match (m, n) {
        (Some(m), Some(n)) => Some(m.min(n)),
        _ => None,
    };
    Ok(match l {
        LinalgOp::Solve { .. } | LinalgOp::TriangularSolve { .. } => {
            let b = &inputs[1];
            same_dtype(name, a, b)?;
            if b.rank() != r {
                bail!(
                    "{name}: matrix {} and rhs {} differ in rank",
                    show(&a.dims),
                    show(&b.dims)
                );
            }
            for (&x, &y) in bs.iter().zip(&b.dims[..r - 2]) {
                merge(name, x, y)?;
            }
            merge(name, m, b.dims[r - 2])?;
            vec![with(&[m, b.dims[r - 1]])]
        }
        LinalgOp::Inverse | LinalgOp::Cholesky => vec![with(&[m, n])],
        LinalgOp::Det => vec![with(&[])],
        LinalgOp::SlogDet => vec![with(&[]), with(&[])],
        LinalgOp::Eigh => vec![with(&[m]), with(&[m, m])],
        LinalgOp::Svd { full } => {
            let (uc, vc) = if full { (m, n) } else { (p, p) };
            vec![with(&[p]), with(&[m, uc]), with(&[n, vc])]
        }
        LinalgOp::Qr { full } => {
            let rows = if full { m } else { p };
            vec![with(&[m, rows]), with(&[rows, n])]
        }
    })
}

impl Op {
    /// The dtypes and shapes of the op's outputs for inputs of these specs, or the error the
    /// op would raise whatever the unknown sizes turn out to be. No kernel runs.
    pub fn infer(&self, inputs: &[Spec]) -> Result<Vec<Spec>> {
        let want = self.arity(inputs.len());
        if inputs.len() != want {
            bail!(
                "{}: expected {want} inputs, got {}",
                self.name(),
                inputs.len()
            );
        }
        let name = self.name();
        let one = |s: Spec| Ok(vec![s]);
        let x = match inputs.first() {
            Some(x) => x,
            None => {
                let Op::Random { shape, dtype, .. } = self else {
                    unreachable!("only Random takes no inputs")
                };
                return one(Spec::known(*dtype, shape));
            }
        };
        let like = |dims: Vec<Dim>| {
            Ok(vec![Spec {
                dtype: x.dtype,
                dims,
            }])
        };
        match self {
            Op::Unary(u) => {
                unary_dtype(*u, x)?;
                one(x.clone())
            }
            Op::Binary(b) => one(binary(*b, x, &inputs[1])?),
            Op::Select => {
                let (a, b) = (&inputs[1], &inputs[2]);
                same_dtype(name, a, b)?;
                if x.dtype != DType::Bool {
                    bail!("SelectV2: the condition must be bool, got {}", x.dtype);
                }
                let d = broadcast(name, &x.dims, &a.dims)?;
                one(Spec {
                    dtype: a.dtype,
                    dims: broadcast(name, &d, &b.dims)?,
                })
            }
            Op::Cast(d) => one(Spec {
                dtype: *d,
                dims: x.dims.clone(),
            }),
            Op::Reduce { op, axes, keepdims } => {
                let logical = matches!(op, ReduceOp::Any | ReduceOp::All);
                if logical != (x.dtype == DType::Bool) {
                    bail!("{name}: not supported for dtype {}", x.dtype);
                }
                like(reduce_dims(x, axes.as_deref(), *keepdims, name)?)
            }
            Op::ArgReduce { axis: a, .. } => {
                if x.dtype == DType::Bool {
                    bail!("{name}: not supported for dtype bool");
                }
                let mut dims = x.dims.clone();
                let i = axis(*a, x.rank(), name)?;
                if dims.remove(i) == Some(0) {
                    bail!(
                        "{name}: reduction axis {i} is empty in shape {}",
                        show(&x.dims)
                    );
                }
                one(Spec {
                    dtype: DType::I64,
                    dims,
                })
            }
            Op::Linalg(l) => linalg(*l, inputs),
            Op::Strings(s) => crate::ops::strings::infer(s, inputs),
            Op::Cumulative { axis: a, .. } => {
                if x.dtype == DType::Bool {
                    bail!("{name}: not supported for dtype bool");
                }
                axis(*a, x.rank(), name)?;
                one(x.clone())
            }
            Op::Count { axes, dtype } => {
                reduce_dims(x, axes.as_deref(), false, name)?;
                one(Spec::new(*dtype, &[]))
            }
            Op::MatMul {
                transpose_a,
                transpose_b,
            } => one(matmul(x, &inputs[1], *transpose_a, *transpose_b)?),
            Op::Softmax { axis: a, .. } => {
                if !x.dtype.is_float() {
                    bail!("{name}: not supported for dtype {}", x.dtype);
                }
                axis(*a, x.rank(), name)?;
                one(x.clone())
            }
            Op::Softplus => one(x.clone()),
            Op::Identity | Op::StopGradient | Op::Reverse(_) => {
                if let Op::Reverse(axes) = self {
                    if x.rank() > 0 {
                        reduce_dims(x, Some(axes), true, name)?;
                    }
                }
                one(x.clone())
            }
            Op::ReluGrad => {
                same_dtype(name, x, &inputs[1])?;
                like(broadcast(name, &x.dims, &inputs[1].dims)?)
            }
            Op::MaxPoolPatches => {
                if x.rank() != 5 {
                    bail!(
                        "MaxPool: expected patches of rank 5 [N, OH, OW, taps, C], got shape {}",
                        show(&x.dims)
                    );
                }
                like(vec![x.dims[0], x.dims[1], x.dims[2], x.dims[4]])
            }
            Op::Transpose(p) => {
                let mut sorted = p.clone();
                sorted.sort_unstable();
                if !sorted.iter().copied().eq(0..x.rank()) {
                    bail!(
                        "Transpose: {p:?} is not a permutation of the axes of shape {}",
                        show(&x.dims)
                    );
                }
                like(p.iter().map(|&i| x.dims[i]).collect())
            }
            Op::Reshape(s) => like(reshape_dims(x, s)?),
            Op::ExpandDims(a) => {
                let mut dims = x.dims.clone();
                dims.insert(axis(*a, x.rank() + 1, name)?, Some(1));
                like(dims)
            }
            Op::Squeeze(axes) => {
                if axes.is_empty() {
                    if x.dims.contains(&None) {
                        bail!(
                            "Squeeze: which dimensions of shape {} to remove is only known at run time; name the axes",
                            show(&x.dims)
                        );
                    }
                    return like(x.dims.iter().copied().filter(|&d| d != Some(1)).collect());
                }
                let mut hit = vec![false; x.rank()];
                for &a in axes {
                    hit[axis(a, x.rank(), name)?] = true;
                }
                let mut dims = Vec::new();
                for (&d, &h) in x.dims.iter().zip(&hit) {
                    if !h {
                        dims.push(d);
                    } else if d.is_some_and(|n| n != 1) {
                        bail!(
                            "Squeeze: cannot squeeze a dimension of size {} in shape {}",
                            d.unwrap_or(0),
                            show(&x.dims)
                        );
                    }
                }
                like(dims)
            }
            Op::BroadcastTo(s) => {
                let target: Vec<Dim> = s.iter().map(|&d| Some(d)).collect();
                if x.rank() > s.len() || broadcast(name, &x.dims, &target)? != target {
                    bail!(
                        "BroadcastTo: cannot broadcast shape {} to {s:?}",
                        show(&x.dims)
                    );
                }
                like(target)
            }
            Op::Slice(items) => like(slice_dims(x, items)?),
            Op::SliceGrad { shape, .. }
            | Op::GatherGrad { shape, .. }
            | Op::Col2Im { shape, .. } => {
                let g = if matches!(self, Op::GatherGrad { .. }) {
                    &inputs[1]
                } else {
                    x
                };
                one(Spec::known(g.dtype, shape))
            }
            Op::Concat(a) => {
                let i = axis(*a, x.rank(), name)?;
                let mut dims = x.dims.clone();
                for t in &inputs[1..] {
                    same_dtype(name, x, t)?;
                    if t.rank() != x.rank() {
                        bail!(
                            "ConcatV2: ranks differ: {} and {}",
                            show(&x.dims),
                            show(&t.dims)
                        );
                    }
                    for (k, d) in dims.iter_mut().enumerate() {
                        *d = if k == i {
                            d.zip(t.dims[k]).map(|(a, b)| a + b)
                        } else {
                            merge(name, *d, t.dims[k])?
                        };
                    }
                }
                like(dims)
            }
            Op::Unstack(a) => {
                let i = axis(*a, x.rank(), name)?;
                let Some(n) = x.dims[i] else {
                    bail!(
                        "Unpack: cannot infer the number of outputs from shape {}",
                        show(&x.dims)
                    );
                };
                let mut dims = x.dims.clone();
                dims.remove(i);
                Ok(vec![
                    Spec {
                        dtype: x.dtype,
                        dims
                    };
                    n
                ])
            }
            Op::Split { sizes, axis: a } => {
                let i = axis(*a, x.rank(), name)?;
                let known: i64 = sizes.iter().filter(|&&s| s >= 0).sum();
                let rest = x.dims[i].map(|n| n as i64 - known);
                let free = sizes.iter().filter(|&&s| s == -1).count();
                if sizes.iter().any(|&s| s < -1)
                    || free > 1
                    || rest.is_some_and(|r| r < 0 || (r > 0 && free == 0))
                {
                    bail!(
                        "SplitV: sizes {sizes:?} do not add up to dimension {i} of shape {}",
                        show(&x.dims)
                    );
                }
                Ok(sizes
                    .iter()
                    .map(|&s| {
                        let mut dims = x.dims.clone();
                        dims[i] = if s == -1 {
                            rest.map(|r| r as usize)
                        } else {
                            Some(s as usize)
                        };
                        Spec {
                            dtype: x.dtype,
                            dims,
                        }
                    })
                    .collect())
            }
            Op::Tile(m) => {
                if m.len() != x.rank() || m.iter().any(|&k| k < 0) {
                    bail!("Tile: multiples {m:?} do not match shape {}", show(&x.dims));
                }
                like(
                    x.dims
                        .iter()
                        .zip(m)
                        .map(|(d, &k)| d.map(|n| n * k as usize))
                        .collect(),
                )
            }
            Op::Pad(p) => {
                same_dtype(name, x, &inputs[1])?;
                if p.len() != x.rank() {
                    bail!("PadV2: paddings {p:?} do not match shape {}", show(&x.dims));
                }
                let dims = x
                    .dims
                    .iter()
                    .zip(p)
                    .map(|(d, &(a, b))| d.map(|n| n as i64 + a + b).map(|n| n.max(0) as usize));
                like(dims.collect())
            }
            Op::Gather(a) => {
                let idx = &inputs[1];
                if !matches!(idx.dtype, DType::I32 | DType::I64) {
                    bail!(
                        "GatherV2: indices must be int32 or int64, got {}",
                        idx.dtype
                    );
                }
                let i = axis(*a, x.rank(), name)?;
                let mut dims = x.dims[..i].to_vec();
                dims.extend_from_slice(&idx.dims);
                dims.extend_from_slice(&x.dims[i + 1..]);
                like(dims)
            }
            Op::Fill(s) => one(Spec::known(x.dtype, s)),
            Op::OneHot(depth) => {
                same_dtype(name, &inputs[1], &inputs[2])?;
                let mut dims = x.dims.clone();
                dims.push(Some(*depth));
                one(Spec {
                    dtype: inputs[1].dtype,
                    dims,
                })
            }
            Op::Im2Col { window, .. } => {
                if x.rank() != 4 {
                    bail!(
                        "Im2Col: expected an image batch of rank 4 (NHWC), got shape {}",
                        show(&x.dims)
                    );
                }
                let out = |h: Dim, w: Dim| {
                    let (oh, ow, _, _) = window.output(h.unwrap_or(1), w.unwrap_or(1));
                    (h.map(|_| oh), w.map(|_| ow))
                };
                let (oh, ow) = out(x.dims[1], x.dims[2]);
                let taps = window.size[0] * window.size[1];
                like(vec![x.dims[0], oh, ow, x.dims[3].map(|c| c * taps)])
            }
            Op::Random { .. } => unreachable!("handled above"),
        }
    }
}
