//! [`Op`]: the primitive op set as data (kind and attributes), so that tapes can name what
//! they recorded and graphs can store and replay it. [`Op::eval`] runs an op through the same
//! public tensor methods as eager code, so a replayed graph is recorded by active tapes.

use crate::dtype::DType;
use crate::ops::conv::Window;
use crate::ops::linalg::LinalgOp;
use crate::ops::movement::SliceItem;
use crate::ops::strings::StringOp;
use crate::ops::{BinaryOp, ReduceOp, UnaryOp};
use crate::{bail, Result, Tensor};

/// One primitive op with its attributes. Inputs are positional; see each variant.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[allow(missing_docs)]
pub enum Op {
    /// `[x]`
    Unary(UnaryOp),
    /// `[x, y]`
    Binary(BinaryOp),
    /// `[cond, x, y]`
    Select,
    /// `[x]`
    Cast(DType),
    /// `[x]`
    Reduce {
        op: ReduceOp,
        axes: Option<Vec<i64>>,
        keepdims: bool,
    },
    /// `[x]`
    ArgReduce { axis: i64, max: bool },
    /// Linear algebra on batches of matrices; see [`LinalgOp`] for inputs and outputs.
    Linalg(LinalgOp),
    /// The ops that read or make strings; see [`StringOp`] for inputs and outputs.
    Strings(StringOp),
    /// `[x]`: the cumulative sum (or product, `prod`) along `axis`
    Cumulative {
        axis: i64,
        prod: bool,
        exclusive: bool,
        reverse: bool,
    },
    /// `[x]`: the number of elements over `axes` (all when `None`), a scalar of `dtype`. Its
    /// own node, so that a mean follows the input's shape in a shape-polymorphic graph.
    Count {
        axes: Option<Vec<i64>>,
        dtype: DType,
    },
    /// `[a, b]`
    MatMul {
        transpose_a: bool,
        transpose_b: bool,
    },
    /// `[x]`
    Softmax { axis: i64, log: bool },
    /// `[x]`
    Softplus,
    /// `[patches]`: the maximum over axis 3 of `[N, OH, OW, taps, C]` pooling patches, whose
    /// gradient goes to the first tap holding it (TensorFlow's MaxPool)
    MaxPoolPatches,
    /// `[x]`: the same values as a new tensor; gradients pass through
    Identity,
    /// `[x]`: the same values as a new tensor; gradients stop
    StopGradient,
    /// `[g, x]`: `g` where `x > 0`, else 0
    ReluGrad,
    /// `[x]`
    Transpose(Vec<usize>),
    /// `[x]` (one entry may be -1)
    Reshape(Vec<i64>),
    /// `[x]`
    ExpandDims(i64),
    /// `[x]`
    Squeeze(Vec<i64>),
    /// `[x]`
    BroadcastTo(Vec<usize>),
    /// `[x]`
    Reverse(Vec<i64>),
    /// `[x]`
    Slice(Vec<SliceItem>),
    /// `[g]`
    SliceGrad {
        shape: Vec<usize>,
        items: Vec<SliceItem>,
    },
    /// `[x0, x1, ...]`
    Concat(i64),
    /// `[x]`, one output per slice
    Unstack(i64),
    /// `[x]`, one output per size
    Split { sizes: Vec<i64>, axis: i64 },
    /// `[x]`
    Tile(Vec<i64>),
    /// `[x, value]`
    Pad(Vec<(i64, i64)>),
    /// `[params, indices]`
    Gather(i64),
    /// `[indices, g]`
    GatherGrad { shape: Vec<usize>, axis: i64 },
    /// `[value]`
    Fill(Vec<usize>),
    /// `[indices, on, off]`
    OneHot(usize),
    /// `[image]`: the windows as patches
    Im2Col {
        window: Window,
        #[serde(with = "any_float")]
        pad_value: f64,
    },
    /// `[patches]`: added back into an image of `shape`
    Col2Im { window: Window, shape: Vec<usize> },
    /// `[]`: uniform in `[a, b)` or normal with mean `a` and deviation `b`; each run draws new
    /// numbers (the seed is mixed with a process-wide counter).
    Random {
        normal: bool,
        shape: Vec<usize>,
        #[serde(with = "any_float")]
        a: f64,
        #[serde(with = "any_float")]
        b: f64,
        dtype: DType,
        seed: u64,
    },
}

/// f64 attributes in JSON: finite values as numbers, the others as `"inf"`, `"-inf"`, `"nan"`.
mod any_float {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if v.is_nan() {
            s.serialize_str("nan")
        } else if *v > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Num(f64),
        Name(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Num(v) => Ok(v),
            Repr::Name(n) => match n.as_str() {
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                "nan" => Ok(f64::NAN),
                _ => Err(serde::de::Error::custom(format!("not a number: '{n}'"))),
            },
        }
    }
}

static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Op {
    /// TensorFlow's name for the op.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Unary(u) => u.name(),
            Op::Binary(b) => b.name(),
            Op::Select => "SelectV2",
            Op::Cast(_) => "Cast",
            Op::Reduce { op, .. } => op.name(),
            Op::ArgReduce { max: true, .. } => "ArgMax",
            Op::ArgReduce { max: false, .. } => "ArgMin",
            Op::Linalg(l) => l.name(),
            Op::Strings(s) => s.name(),
            Op::Cumulative { prod: false, .. } => "Cumsum",
            Op::Cumulative { prod: true, .. } => "Cumprod",
            Op::Count { .. } => "Size",
            Op::MatMul { .. } => "MatMul",
            Op::Softmax { log: false, .. } => "Softmax",
            Op::Softmax { log: true, .. } => "LogSoftmax",
            Op::Softplus => "Softplus",
            Op::Identity => "Identity",
            Op::StopGradient => "StopGradient",
            Op::MaxPoolPatches => "MaxPool",
            Op::ReluGrad => "ReluGrad",
            Op::Transpose(_) => "Transpose",
            Op::Reshape(_) => "Reshape",
            Op::ExpandDims(_) => "ExpandDims",
            Op::Squeeze(_) => "Squeeze",
            Op::BroadcastTo(_) => "BroadcastTo",
            Op::Reverse(_) => "ReverseV2",
            Op::Slice(_) => "StridedSlice",
            Op::SliceGrad { .. } => "StridedSliceGrad",
            Op::Concat(_) => "ConcatV2",
            Op::Unstack(_) => "Unpack",
            Op::Split { .. } => "SplitV",
            Op::Tile(_) => "Tile",
            Op::Pad(_) => "PadV2",
            Op::Gather(_) => "GatherV2",
            Op::GatherGrad { .. } => "GatherGrad",
            Op::Fill(_) => "Fill",
            Op::OneHot(_) => "OneHot",
            Op::Im2Col { .. } => "Im2Col",
            Op::Col2Im { .. } => "Col2Im",
            Op::Random { normal: true, .. } => "RandomStandardNormal",
            Op::Random { normal: false, .. } => "RandomUniform",
        }
    }

    /// True for ops computed element by element (candidates for fusion).
    pub fn is_elementwise(&self) -> bool {
        matches!(
            self,
            Op::Unary(_) | Op::Binary(_) | Op::Select | Op::Cast(_)
        )
    }

    /// The number of inputs the op takes when given `given` (only `Concat` takes any number).
    pub fn arity(&self, given: usize) -> usize {
        match self {
            Op::Binary(_)
            | Op::ReluGrad
            | Op::MatMul { .. }
            | Op::Pad(_)
            | Op::Gather(_)
            | Op::GatherGrad { .. } => 2,
            Op::Select | Op::OneHot(_) => 3,
            Op::Linalg(l) => l.arity(),
            Op::Strings(s) => s.arity(given),
            Op::Concat(_) => given.max(1),
            Op::Random { .. } => 0,
            _ => 1,
        }
    }

    /// Runs the op on `inputs`.
    pub fn eval(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
        let want = self.arity(inputs.len());
        if inputs.len() != want {
            bail!(
                "{}: expected {want} inputs, got {}",
                self.name(),
                inputs.len()
            );
        }
        if let Op::Random {
            normal,
            shape,
            a,
            b,
            dtype,
            seed,
        } = self
        {
            let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let s = seed ^ run.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            return Ok(vec![if *normal {
                Tensor::random_normal(shape, *a, *b, *dtype, s)?
            } else {
                Tensor::random_uniform(shape, *a, *b, *dtype, s)?
            }]);
        }
        let x = &inputs[0];
        let one = |t: Result<Tensor>| t.map(|t| vec![t]);
        match self {
            Op::Unary(u) => one(x.unary(*u)),
            Op::Binary(b) => one(x.binary(&inputs[1], *b)),
            Op::Select => one(Tensor::select(x, &inputs[1], &inputs[2])),
            Op::Cast(d) => one(x.cast(*d)),
            Op::Reduce { op, axes, keepdims } => one(x.reduce(*op, axes.as_deref(), *keepdims)),
            Op::ArgReduce { axis, max } => one(x.arg_reduce(*axis, *max)),
            Op::Cumulative {
                axis,
                prod,
                exclusive,
                reverse,
            } => one(x.cumulative(*axis, *prod, *exclusive, *reverse)),
            Op::Linalg(l) => {
                let rest: Vec<&Tensor> = inputs[1..].iter().collect();
                x.linalg(*l, &rest)
            }
            Op::Strings(s) => {
                let rest: Vec<&Tensor> = inputs[1..].iter().collect();
                x.strings(s, &rest)
            }
            Op::Count { axes, dtype } => one(x.count(axes.as_deref(), *dtype)),
            Op::MatMul {
                transpose_a,
                transpose_b,
            } => one(x.matmul(&inputs[1], *transpose_a, *transpose_b)),
            Op::Softmax { axis, log } => one(x.softmax(*axis, *log)),
            Op::Softplus => one(x.softplus()),
            Op::Identity => one(x.identity()),
            Op::StopGradient => Ok(vec![x.stop_gradient()]),
            Op::MaxPoolPatches => one(x.max_pool_patches()),
            Op::ReluGrad => one(x.relu_grad(&inputs[1])),
            Op::Transpose(p) => one(x.transpose(p)),
            Op::Reshape(s) => one(x.reshape(s)),
            Op::ExpandDims(a) => one(x.expand_dims(*a)),
            Op::Squeeze(a) => one(x.squeeze(a)),
            Op::BroadcastTo(s) => one(x.broadcast_to(s)),
            Op::Reverse(a) => one(x.reverse(a)),
            Op::Slice(items) => one(x.slice(items)),
            Op::SliceGrad { shape, items } => one(Tensor::slice_grad(shape, items, x)),
            Op::Concat(axis) => one(Tensor::concat(inputs, *axis)),
            Op::Unstack(axis) => x.unstack(*axis),
            Op::Split { sizes, axis } => x.split(sizes, *axis),
            Op::Tile(m) => one(x.tile(m)),
            Op::Pad(p) => one(x.pad(p, &inputs[1])),
            Op::Gather(axis) => one(x.gather(&inputs[1], *axis)),
            Op::GatherGrad { shape, axis } => one(Tensor::gather_grad(shape, x, *axis, &inputs[1])),
            Op::Fill(shape) => one(Tensor::fill(shape, x)),
            Op::OneHot(depth) => one(Tensor::one_hot(x, *depth, &inputs[1], &inputs[2])),
            Op::Im2Col { window, pad_value } => one(x.im2col(window, *pad_value)),
            Op::Col2Im { window, shape } => one(Tensor::col2im(x, shape, window)),
            Op::Random { .. } => unreachable!("handled above"),
        }
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let attrs = match self {
            Op::Unary(_)
            | Op::Binary(_)
            | Op::Select
            | Op::Softplus
            | Op::ReluGrad
            | Op::Identity
            | Op::MaxPoolPatches
            | Op::StopGradient => String::new(),
            Op::Cast(d) => format!("to={d}"),
            Op::Reduce { axes, keepdims, .. } => format!("axes={axes:?}, keepdims={keepdims}"),
            Op::ArgReduce { axis, .. } => format!("axis={axis}"),
            Op::Cumulative {
                axis,
                exclusive,
                reverse,
                ..
            } => format!("axis={axis}, exclusive={exclusive}, reverse={reverse}"),
            Op::Linalg(l) => format!("{l:?}"),
            Op::Strings(s) => format!("{s:?}"),
            Op::Count { axes, dtype } => format!("axes={axes:?}, out_type={dtype}"),
            Op::MatMul {
                transpose_a,
                transpose_b,
            } => format!("transpose_a={transpose_a}, transpose_b={transpose_b}"),
            Op::Softmax { axis, .. } => format!("axis={axis}"),
            Op::Transpose(p) => format!("perm={p:?}"),
            Op::Reshape(s) => format!("shape={s:?}"),
            Op::ExpandDims(a) => format!("axis={a}"),
            Op::Squeeze(a) => format!("axes={a:?}"),
            Op::BroadcastTo(s) => format!("shape={s:?}"),
            Op::Reverse(a) => format!("axes={a:?}"),
            Op::Slice(i) => format!("items={i:?}"),
            Op::SliceGrad { shape, items } => format!("shape={shape:?}, items={items:?}"),
            Op::Concat(a) | Op::Unstack(a) | Op::Gather(a) => format!("axis={a}"),
            Op::Split { sizes, axis } => format!("sizes={sizes:?}, axis={axis}"),
            Op::Tile(m) => format!("multiples={m:?}"),
            Op::Pad(p) => format!("paddings={p:?}"),
            Op::GatherGrad { shape, axis } => format!("shape={shape:?}, axis={axis}"),
            Op::Fill(s) => format!("shape={s:?}"),
            Op::OneHot(d) => format!("depth={d}"),
            Op::Im2Col { window, pad_value } => format!("window={window:?}, pad_value={pad_value}"),
            Op::Col2Im { window, shape } => format!("window={window:?}, shape={shape:?}"),
            Op::Random {
                shape, a, b, seed, ..
            } => format!("shape={shape:?}, a={a}, b={b}, seed={seed}"),
        };
        if attrs.is_empty() {
            write!(f, "{}", self.name())
        } else {
            write!(f, "{}[{attrs}]", self.name())
        }
    }
}
