//! Which device runs an op, and how: the GPU kernel for the op and its dtypes when there is
//! one, else the host kernel on host copies of the inputs (the results then move to the GPU
//! when the op was placed there). View ops only change layouts and run where their input is.
//!
//! GPU kernels: elementwise unary/binary/select/cast/relu-grad/fill (`elementwise.rs`),
//! reductions and arg-max/min (`reduce.rs`), float32 matmul (`matmul.rs`), concat, pad and
//! slicing gradients as copies into regions of the output, softmax, softplus and tile as
//! sequences of those, gather, its gradient and one-hot with int32 indices (`gather.rs`),
//! convolution patches and their gradient (`window.rs`); float random numbers (`random.rs`)
//! are drawn by the creation ops, and optimizer updates (`optim.rs`) run from `crate::optim`.
//! float16 tensors (where the GPU has them) go through the elementwise kernels and copies as
//! they are; the other kernels run in float32 between casts, as the host kernels do. Everything else (integer random numbers, ...) runs on the host.

use super::{buffer_of, elementwise, gather, gpu_tensor, matmul, reduce, window, GpuBuffer};
use crate::device::{gpu_dtype, op_device, with_device, Device};
use crate::dtype::DType;
use crate::graph::fuse::Arg;
use crate::graph::Op;
use crate::layout::{broadcast_shapes, contiguous_strides, Layout};
use crate::ops::reduce::norm_axes;
use crate::ops::{BinaryOp, ReduceOp, UnaryOp};
use crate::tensor::Tensor;
use crate::{Error, Result};

/// The WGSL expression of a unary op on `dtype` over `x0` (declared with the op, see
/// `ops::unary`).
fn unary_expr(op: UnaryOp, dtype: DType) -> Option<&'static str> {
    match dtype {
        DType::F32 => op.wgsl(false),
        DType::I32 => op.wgsl(true),
        DType::Bool if op == UnaryOp::LogicalNot => Some("!x0"),
        _ => None,
    }
}

/// The WGSL expression of a binary op on `dtype` over `x0`, `x1`.
fn binary_expr(op: BinaryOp, dtype: DType) -> Option<&'static str> {
    use BinaryOp::*;
    let cmp = match op {
        Equal => Some("x0 == x1"),
        // NaN differs from everything; drivers may compile `!=` as an ordered comparison.
        NotEqual if dtype == DType::F32 => Some("x0 != x1 || rstf_isnan(x0) || rstf_isnan(x1)"),
        NotEqual => Some("x0 != x1"),
        Less => Some("x0 < x1"),
        LessEqual => Some("x0 <= x1"),
        Greater => Some("x0 > x1"),
        GreaterEqual => Some("x0 >= x1"),
        _ => None,
    };
    Some(match dtype {
        DType::F32 => match op {
            Add => "x0 + x1",
            Sub => "x0 - x1",
            Mul => "x0 * x1",
            Div => "x0 / x1",
            Pow => "rstf_pow(x0, x1)",
            Maximum => "rstf_max(x0, x1)",
            Minimum => "rstf_min(x0, x1)",
            _ => cmp?,
        },
        DType::I32 => match op {
            Add => "x0 + x1",
            Sub => "x0 - x1",
            Mul => "x0 * x1",
            Maximum => "max(x0, x1)",
            Minimum => "min(x0, x1)",
            _ => cmp?,
        },
        DType::Bool => match op {
            LogicalAnd | Minimum => "x0 && x1",
            LogicalOr | Maximum => "x0 || x1",
            Equal | NotEqual => cmp?,
            _ => return None,
        },
        _ => return None,
    })
}

/// The WGSL expression casting `x0` from `from` to `to`.
fn cast_expr(from: DType, to: DType) -> Option<&'static str> {
    Some(match (from, to) {
        _ if from == to => "x0",
        (DType::F32, DType::I32) => "select(i32(x0), 0, rstf_isnan(x0))",
        (DType::I32, DType::F32) => "f32(x0)",
        (DType::Bool, DType::F32) => "select(0.0, 1.0, x0)",
        (DType::Bool, DType::I32) => "select(0, 1, x0)",
        (DType::F32, DType::Bool) => "(bitcast<u32>(x0) & 0x7fffffffu) != 0u",
        (DType::I32, DType::Bool) => "x0 != 0",
        _ => return None,
    })
}

/// True for ops that only build a new layout.
fn is_view(op: &Op) -> bool {
    matches!(
        op,
        Op::Transpose(_)
            | Op::Reshape(_)
            | Op::ExpandDims(_)
            | Op::Squeeze(_)
            | Op::BroadcastTo(_)
            | Op::Reverse(_)
            | Op::Slice(_)
            | Op::Unstack(_)
            | Op::Split { .. }
    )
}

/// Runs `op` on `inputs` on the device chosen by [`op_device`]. `forward` is the op's own
/// forward body, used for view ops and for ops that are sequences of other ops.
pub(crate) fn run_op(
    op: &Op,
    inputs: &[&Tensor],
    forward: impl FnOnce() -> Result<Vec<Tensor>>,
) -> Result<Vec<Tensor>> {
    // A cast to the tensor's own dtype is the tensor itself (no copy), as on the host.
    let same_cast = matches!(op, Op::Cast(to) if inputs.first().is_some_and(|t| t.dtype() == *to));
    if is_view(op) || same_cast || matches!(op, Op::Count { .. }) {
        return forward();
    }
    let dev = op_device(inputs);
    // int64 indices in host memory (int64 does not live on the GPU) go as int32, so that a
    // gather from a GPU table (an embedding) or a one-hot stays on the GPU.
    let narrowed = match dev {
        Device::Gpu => int32_indices(op, inputs).map_err(|e| named(e, op.name()))?,
        Device::Cpu => None,
    };
    let narrowed_refs: Vec<&Tensor>;
    let inputs = match &narrowed {
        Some(v) => {
            narrowed_refs = v.iter().collect();
            &narrowed_refs[..]
        }
        None => inputs,
    };
    if dev == Device::Gpu && inputs.iter().all(|t| gpu_dtype(t.dtype())) {
        // Indices still in host memory are checked as the host kernel checks them; the GPU
        // kernel gives zeros for those out of range (TensorFlow's GPU behaviour).
        if let (Op::Gather(axis), Some(idx)) = (op, inputs.get(1)) {
            if idx.device() == Device::Cpu {
                inputs[0].gather_check(idx, *axis)?;
            }
        }
        let on: Vec<Tensor> = inputs
            .iter()
            .map(|t| t.to_device(Device::Gpu))
            .collect::<Result<_>>()
            .map_err(|e| named(e, op.name()))?;
        let on: Vec<&Tensor> = on.iter().collect();
        // An input too large for the GPU stayed in host memory: the op runs on the CPU, as
        // does one whose result or kernel would be too large.
        if on.iter().all(|t| t.device() == Device::Gpu) {
            match gpu(op, &on) {
                Some(Err(e)) if super::too_large(&e) => {}
                Some(r) => return r.map(|t| vec![t]).map_err(|e| named(e, op.name())),
                // Sequences of ops (and views plus copies) that run on the GPU as they are.
                None if matches!(op, Op::Softplus) && inputs[0].dtype() == DType::F32
                    || matches!(op, Op::Tile(_)) =>
                {
                    return forward();
                }
                None => {}
            }
        }
    }
    let host: Vec<Tensor> = inputs
        .iter()
        .map(|t| t.to_host())
        .collect::<Result<_>>()
        .map_err(|e| named(e, op.name()))?;
    let outs = with_device(Some(Device::Cpu), || op.eval(&host))?;
    if dev == Device::Gpu {
        outs.iter().map(|t| t.to_device(Device::Gpu)).collect()
    } else {
        Ok(outs)
    }
}

/// The inputs of a gather (or its gradient) or one-hot with their int64 host indices as int32
/// ones, when the other inputs can live on the GPU: gather indices are checked first (all then
/// fit), others outside the axis become -1 (they select the off value, or add nothing).
fn int32_indices(op: &Op, inputs: &[&Tensor]) -> Result<Option<Vec<Tensor>>> {
    let at = match op {
        Op::Gather(_) => 1,
        Op::OneHot(_) | Op::GatherGrad { .. } => 0,
        _ => return Ok(None),
    };
    let idx = match inputs.get(at) {
        Some(t) if t.dtype() == DType::I64 && t.device() == Device::Cpu => *t,
        _ => return Ok(None),
    };
    let others_fit = inputs
        .iter()
        .enumerate()
        .all(|(i, t)| i == at || gpu_dtype(t.dtype()));
    if !others_fit {
        return Ok(None);
    }
    let v = idx.to_vec::<i64>()?;
    let narrow: Vec<i32> = match op {
        Op::Gather(axis) => {
            inputs[0].gather_check(idx, *axis)?;
            v.iter().map(|&i| i as i32).collect()
        }
        Op::OneHot(depth) => in_range(&v, *depth),
        Op::GatherGrad { shape, axis } => {
            let ax = Layout::norm_axis(*axis, shape.len(), "GatherGrad")?;
            in_range(&v, shape[ax])
        }
        _ => return Ok(None),
    };
    let mut out: Vec<Tensor> = inputs.iter().map(|&t| t.clone()).collect();
    out[at] = Tensor::from_vec(narrow, idx.shape())?;
    Ok(Some(out))
}

/// Positions in `[0, len)` as int32, the others as -1 (they select or add nothing).
fn in_range(v: &[i64], len: usize) -> Vec<i32> {
    v.iter()
        .map(|&i| {
            if (0..len as i64).contains(&i) {
                i as i32
            } else {
                -1
            }
        })
        .collect()
}

/// A GPU kernel's error with the op's name in front, as the host kernels give it.
fn named(e: Error, name: &str) -> Error {
    let tag = |m: String| {
        if m.starts_with(name) {
            m
        } else {
            format!("{name}: {m}")
        }
    };
    match e {
        Error::InvalidArgument(m) => Error::InvalidArgument(tag(m)),
        Error::ResourceExhausted(m) => Error::ResourceExhausted(tag(m)),
        Error::Internal(m) => Error::Internal(tag(m)),
        Error::TooLarge(m) => Error::TooLarge(tag(m)),
        e => e,
    }
}

/// The dtype whose WGSL expressions compute `d`: float16 values are computed in float32.
fn computed_as(d: DType) -> DType {
    if d == DType::F16 {
        DType::F32
    } else {
        d
    }
}

/// True for ops whose GPU kernels take float16 tensors as they are: elementwise kernels widen
/// each value to float32 and round the result once, copies move values unchanged.
fn native_f16(op: &Op) -> bool {
    matches!(
        op,
        Op::Unary(_)
            | Op::Binary(_)
            | Op::Select
            | Op::Cast(_)
            | Op::ReluGrad
            | Op::Fill(_)
            | Op::Concat(_)
            | Op::Gather(_)
            | Op::Pad(_)
            | Op::SliceGrad { .. }
    )
}

/// `op` on float16 GPU inputs as the host runs it: in float32 between casts of its float16
/// inputs and of its float32 result. float16 beside float32 inputs is the host's to report.
fn via_f32(op: &Op, x: &[&Tensor]) -> Option<Result<Tensor>> {
    if x.iter().any(|t| t.dtype() == DType::F32) {
        return None;
    }
    let cast = |t: &Tensor, to: DType| elementwise::map(&[t], t.shape(), to, "x0");
    let wide: Result<Vec<Tensor>> = x
        .iter()
        .map(|&t| match t.dtype() {
            DType::F16 => cast(t, DType::F32),
            _ => Ok(t.clone()),
        })
        .collect();
    let wide = match wide {
        Ok(w) => w,
        Err(e) => return Some(Err(e)),
    };
    let refs: Vec<&Tensor> = wide.iter().collect();
    let r = gpu(op, &refs)?;
    Some(r.and_then(|t| match t.dtype() {
        DType::F32 => cast(&t, DType::F16),
        _ => Ok(t),
    }))
}

/// The GPU kernel run of `op` on GPU tensors `x`, or `None` when the GPU has no kernel for it
/// (or the inputs are invalid: the host path then reports the error).
fn gpu(op: &Op, x: &[&Tensor]) -> Option<Result<Tensor>> {
    if x.iter().any(|t| t.dtype() == DType::F16) && !native_f16(op) {
        return via_f32(op, x);
    }
    let dt = x.first().map(|t| t.dtype());
    let et = dt.map(computed_as);
    match op {
        Op::Unary(u) => {
            let e = unary_expr(*u, et?)?;
            Some(elementwise::map(x, x[0].shape(), dt?, e))
        }
        Op::Binary(b) => {
            if x[1].dtype() != dt? {
                return None;
            }
            let e = binary_expr(*b, et?)?;
            let shape = broadcast_shapes(x[0].shape(), x[1].shape(), "").ok()?;
            let out = if b.is_comparison() { DType::Bool } else { dt? };
            Some(elementwise::map(x, &shape, out, e))
        }
        Op::Select => {
            if dt? != DType::Bool || x[1].dtype() != x[2].dtype() {
                return None;
            }
            let s = broadcast_shapes(x[1].shape(), x[2].shape(), "").ok()?;
            let shape = broadcast_shapes(x[0].shape(), &s, "").ok()?;
            Some(elementwise::map(
                x,
                &shape,
                x[1].dtype(),
                "select(x2, x1, x0)",
            ))
        }
        Op::Cast(to) => {
            if !gpu_dtype(*to) {
                return None;
            }
            let e = cast_expr(et?, computed_as(*to))?;
            Some(elementwise::map(x, x[0].shape(), *to, e))
        }
        Op::ReluGrad => {
            if et? != DType::F32 || x[1].dtype() != dt? {
                return None;
            }
            let shape = broadcast_shapes(x[0].shape(), x[1].shape(), "").ok()?;
            Some(elementwise::map(
                x,
                &shape,
                dt?,
                "select(0.0, x0, x1 > 0.0)",
            ))
        }
        Op::Fill(shape) => {
            if x[0].numel() != 1 || x[0].rank() != 0 {
                return None;
            }
            Some(elementwise::map(x, shape, dt?, "x0"))
        }
        Op::MaxPoolPatches => {
            let t = x[0];
            if t.rank() != 5 || !reduce::supported(ReduceOp::Max, dt?) {
                return None;
            }
            let s = t.shape();
            Some(reduce::reduce(
                t,
                ReduceOp::Max,
                &[3],
                &[s[0], s[1], s[2], s[4]],
            ))
        }
        Op::Reduce { op, axes, keepdims } => {
            if !reduce::supported(*op, dt?) {
                return None;
            }
            let t = x[0];
            let axes = norm_axes(axes.as_deref(), t.rank(), op.name()).ok()?;
            let shape: Vec<usize> = (0..t.rank())
                .filter_map(|a| match (axes.contains(&a), keepdims) {
                    (true, true) => Some(1),
                    (true, false) => None,
                    _ => Some(t.shape()[a]),
                })
                .collect();
            Some(reduce::reduce(t, *op, &axes, &shape))
        }
        Op::MatMul {
            transpose_a,
            transpose_b,
        } => {
            if dt? != DType::F32 {
                return None;
            }
            let (batch, m, n, k) =
                Tensor::matmul_dims(x[0], x[1], *transpose_a, *transpose_b).ok()?;
            Some(matmul::matmul(
                x[0],
                x[1],
                *transpose_a,
                *transpose_b,
                &batch,
                m,
                n,
                k,
            ))
        }
        Op::ArgReduce { axis, max } => reduce::arg_reduce(x[0], *axis, *max),
        Op::Concat(axis) => concat(x, *axis),
        Op::Gather(axis) => gather::gather(x[0], x[1], *axis),
        // Inputs: the indices, then the gradient of the gather's result.
        Op::GatherGrad { shape, axis } => gather::gather_grad(x[1], x[0], shape, *axis),
        Op::OneHot(depth) => gather::one_hot(x[0], *depth, x[1], x[2]),
        Op::Im2Col { window, pad_value } => window::im2col(x[0], window, *pad_value),
        Op::Col2Im { window, shape } => window::col2im(x[0], shape, window),
        Op::Pad(p) => pad(x[0], x[1], p),
        Op::SliceGrad { shape, items } => {
            let z = elementwise::map(&[&zero(dt?)?], shape, dt?, "x0");
            let z = match z {
                Ok(z) => z,
                Err(e) => return Some(Err(e)),
            };
            let view = z.slice(items).ok()?;
            if view.shape() != x[0].shape() {
                return None;
            }
            let b = buffer_of(&z)?;
            Some(elementwise::copy_into(b, view.layout(), x[0]).map(|_| z.clone()))
        }
        Op::Softmax { axis, log } => {
            let t = x[0];
            // Invalid axes are the host kernel's to report.
            if dt? != DType::F32 || t.rank() == 0 || Layout::norm_axis(*axis, t.rank(), "").is_err()
            {
                return None;
            }
            Some(t.softmax_along(*axis, *log))
        }
        _ => None,
    }
}

/// A fused chain of float32 unary/binary instructions as one generated GPU kernel, or `None`
/// when an instruction has no GPU expression or the inputs do not broadcast.
pub(crate) fn fused(code: &[(Op, Vec<Arg>)], inputs: &[&Tensor]) -> Option<Result<Tensor>> {
    let mut shape: Vec<usize> = Vec::new();
    for t in inputs {
        shape = broadcast_shapes(&shape, t.shape(), "").ok()?;
    }
    let name = |a: &Arg| match a {
        Arg::In(i) => format!("x{i}"),
        Arg::Tmp(j) => format!("t{j}"),
    };
    let mut body = String::new();
    for (k, (op, args)) in code.iter().enumerate() {
        let e = match op {
            Op::Unary(u) => unary_expr(*u, DType::F32)?.replace("x0", "@A"),
            Op::Binary(b) if !b.is_comparison() => binary_expr(*b, DType::F32)?
                .replace("x1", "@B")
                .replace("x0", "@A"),
            _ => return None,
        };
        let e = e.replace("@A", &name(&args[0]));
        let e = match args.get(1) {
            Some(b) => e.replace("@B", &name(b)),
            None => e,
        };
        // Each value is rounded as the separate kernel rounds it: the select on a run-time
        // condition keeps the driver from contracting a product and a sum into one fma.
        body.push_str(&format!("    let t{k} = select({e}, 0.0, info[0] < 0);\n"));
    }
    let on: Result<Vec<Tensor>> = inputs.iter().map(|t| t.to_device(Device::Gpu)).collect();
    let on = match on {
        Ok(v) => v,
        Err(e) => return Some(Err(e)),
    };
    // Inputs or a result too large for the GPU: the chain runs on the CPU (`None`).
    if on.iter().any(|t| t.device() != Device::Gpu) {
        return None;
    }
    let refs: Vec<&Tensor> = on.iter().collect();
    let last = format!("t{}", code.len().checked_sub(1)?);
    match elementwise::map_body(&refs, &shape, DType::F32, &body, &last) {
        Err(e) if super::too_large(&e) => None,
        r => Some(r),
    }
}

/// A GPU scalar zero of `dtype`.
fn zero(dtype: DType) -> Option<Tensor> {
    let t = match dtype {
        DType::F32 => Tensor::scalar(0.0f32),
        DType::I32 => Tensor::scalar(0i32),
        DType::F16 => Tensor::scalar(half::f16::ZERO),
        _ => Tensor::scalar(false),
    };
    t.to_device(Device::Gpu).ok()
}

/// The dense layout of `shape` seen from `at` (a region of a larger dense tensor `outer`).
fn region(outer: &[usize], shape: &[usize], at: &[usize]) -> Layout {
    let strides = contiguous_strides(outer);
    let offset = at.iter().zip(&strides).map(|(&a, &s)| a * s as usize).sum();
    Layout {
        shape: shape.to_vec(),
        strides,
        offset,
    }
}

/// Concatenation: each input copied into its region of the output.
fn concat(x: &[&Tensor], axis: i64) -> Option<Result<Tensor>> {
    let first = x.first()?;
    let rank = first.rank();
    let ax = Layout::norm_axis(axis, rank.max(1), "").ok()?;
    if rank == 0 {
        return None;
    }
    let mut shape = first.shape().to_vec();
    shape[ax] = 0;
    for t in x {
        let ok = t.dtype() == first.dtype()
            && t.rank() == rank
            && (0..rank).all(|d| d == ax || t.shape()[d] == first.shape()[d]);
        if !ok {
            return None;
        }
        shape[ax] += t.shape()[ax];
    }
    let n: usize = shape.iter().product();
    let run = || {
        let dst = GpuBuffer::new(first.dtype(), n, "ConcatV2")?;
        let mut at = vec![0usize; rank];
        for t in x {
            elementwise::copy_into(&dst, &region(&shape, t.shape(), &at), t)?;
            at[ax] += t.shape()[ax];
        }
        Ok(gpu_tensor(dst, &shape))
    };
    Some(run())
}

/// Constant padding: the output filled with the value, the input copied into its middle.
fn pad(x: &Tensor, value: &Tensor, paddings: &[(i64, i64)]) -> Option<Result<Tensor>> {
    let ok = paddings.len() == x.rank()
        && value.dtype() == x.dtype()
        && value.numel() == 1
        && paddings.iter().all(|p| p.0 >= 0 && p.1 >= 0);
    if !ok {
        return None;
    }
    // Sizes that overflow are left to the host kernel, which reports them.
    let shape: Vec<usize> = x
        .shape()
        .iter()
        .zip(paddings)
        .map(|(&d, p)| d.checked_add(p.0 as usize)?.checked_add(p.1 as usize))
        .collect::<Option<_>>()?;
    let at: Vec<usize> = paddings.iter().map(|p| p.0 as usize).collect();
    let scalar = value.reshape_to(&[]).ok()?;
    let run = || {
        let out = elementwise::map(&[&scalar], &shape, x.dtype(), "x0")?;
        let b = buffer_of(&out).expect("on the GPU");
        elementwise::copy_into(b, &region(&shape, x.shape(), &at), x)?;
        Ok(out)
    };
    Some(run())
}
