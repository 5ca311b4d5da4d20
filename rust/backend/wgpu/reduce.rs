//! GPU reductions over any axes (`reduce.wgsl`): the reduced axes are moved last (a copy
//! when that view is not dense), then each row is reduced by workgroup trees, in two or more
//! passes when rows are long. Arg-max/min (`argreduce.wgsl`) reduce each row in one workgroup.

use super::{buffer_of, context, elementwise, gpu_tensor, GpuBuffer};
use crate::dtype::DType;
use crate::layout::Layout;
use crate::ops::ReduceOp;
use crate::tensor::Tensor;
use crate::{Error, Result};

const TEMPLATE: &str = include_str!("reduce.wgsl");
/// Elements one workgroup reduces per pass.
const CHUNK: usize = 4096;

/// The combine expression and identity of `op` on `dtype`, if the GPU has it.
fn parts(op: ReduceOp, dtype: DType) -> Option<(&'static str, &'static str)> {
    Some(match (op, dtype) {
        (ReduceOp::Sum, DType::F32) => ("a + b", "0.0"),
        (ReduceOp::Prod, DType::F32) => ("a * b", "1.0"),
        (ReduceOp::Max, DType::F32) => (
            "select(max(a, b), a + b, isnan(a) || isnan(b))",
            "bitcast<f32>(0xff800000u)",
        ),
        (ReduceOp::Min, DType::F32) => (
            "select(min(a, b), a + b, isnan(a) || isnan(b))",
            "bitcast<f32>(0x7f800000u)",
        ),
        (ReduceOp::Sum, DType::I32) => ("a + b", "0"),
        (ReduceOp::Prod, DType::I32) => ("a * b", "1"),
        (ReduceOp::Max, DType::I32) => ("max(a, b)", "i32(-2147483647 - 1)"),
        (ReduceOp::Min, DType::I32) => ("min(a, b)", "2147483647"),
        (ReduceOp::Any, DType::Bool) => ("max(a, b)", "0u"),
        (ReduceOp::All, DType::Bool) => ("min(a, b)", "1u"),
        _ => return None,
    })
}

/// True when the GPU reduces `op` over `dtype`.
pub(crate) fn supported(op: ReduceOp, dtype: DType) -> bool {
    parts(op, dtype).is_some()
}

/// Reduces GPU tensor `x` over the sorted, distinct `axes` into `out_shape`.
pub(crate) fn reduce(
    x: &Tensor,
    op: ReduceOp,
    axes: &[usize],
    out_shape: &[usize],
) -> Result<Tensor> {
    let dt = x.dtype();
    let (combine, identity) =
        parts(op, dt).ok_or_else(|| Error::Internal(format!("{}: no GPU kernel", op.name())))?;
    let l = x.layout();
    let r = x.rank();
    let perm: Vec<usize> = (0..r)
        .filter(|a| !axes.contains(a))
        .chain(axes.iter().copied())
        .collect();
    let view = Layout {
        shape: perm.iter().map(|&p| l.shape[p]).collect(),
        strides: perm.iter().map(|&p| l.strides[p]).collect(),
        offset: l.offset,
    };
    let k: usize = axes.iter().map(|&a| l.shape[a]).product();
    let rows: usize = out_shape.iter().product();
    let mut src = Tensor::from_parts(x.storage().clone(), view)?;
    if !src.is_contiguous() {
        src = elementwise::copy(&src)?;
    }
    let c = context()?;
    let ty = super::elementwise::wgsl_type(dt);
    let pipeline = c.pipeline(&format!("reduce|{}|{dt}", op.name()), || {
        TEMPLATE
            .replace("$T", ty)
            .replace("$COMBINE", combine)
            .replace("$IDENTITY", identity)
    })?;
    let (mut cur, mut off, mut len) = (
        buffer_of(&src).expect("on the GPU").clone(),
        src.layout().offset,
        k,
    );
    loop {
        let chunks = len.div_ceil(CHUNK).max(1);
        let dst = GpuBuffer::new(dt, rows * chunks, op.name())?;
        if rows > 0 {
            let info = [
                rows as i32,
                len as i32,
                chunks as i32,
                CHUNK as i32,
                off as i32,
            ];
            c.dispatch(
                &pipeline,
                &info,
                &[dst.raw(), cur.raw()],
                (rows * chunks) as u32,
            )?;
        }
        if chunks == 1 {
            return Ok(gpu_tensor(dst, out_shape));
        }
        (cur, off, len) = (dst, 0, chunks);
    }
}

const ARG_TEMPLATE: &str = include_str!("argreduce.wgsl");

/// `tf.argmax` / `tf.argmin` of a float32 or int32 GPU tensor along `axis`, or `None` for the
/// host kernel to run (other dtypes) or to report bad arguments. The positions are found on
/// the GPU and read back as int64 host values (int64 does not live on the GPU): only the
/// result crosses to the host.
pub(crate) fn arg_reduce(x: &Tensor, axis: i64, max: bool) -> Option<Result<Tensor>> {
    let dt = x.dtype();
    let isnan = match dt {
        DType::F32 => "(bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u",
        DType::I32 => "false",
        _ => return None,
    };
    if x.rank() == 0 {
        return None;
    }
    let ax = Layout::norm_axis(axis, x.rank(), "").ok()?;
    let k = x.shape()[ax];
    elementwise::elements(x.shape()).ok()?;
    if k == 0 {
        return None;
    }
    let l = x.layout();
    let perm: Vec<usize> = (0..x.rank()).filter(|&a| a != ax).chain([ax]).collect();
    let out_shape: Vec<usize> = perm[..perm.len() - 1].iter().map(|&a| l.shape[a]).collect();
    let rows: usize = out_shape.iter().product();
    let run = || {
        let view = Layout {
            shape: perm.iter().map(|&p| l.shape[p]).collect(),
            strides: perm.iter().map(|&p| l.strides[p]).collect(),
            offset: l.offset,
        };
        let mut src = Tensor::from_parts(x.storage().clone(), view)?;
        if !src.is_contiguous() {
            src = elementwise::copy(&src)?;
        }
        let c = context()?;
        let ty = elementwise::wgsl_type(dt);
        let cmp = if max { ">" } else { "<" };
        let pipeline = c.pipeline(&format!("argreduce|{cmp}|{ty}"), || {
            ARG_TEMPLATE
                .replace("$T", ty)
                .replace("$ISNAN", isnan)
                .replace("$CMP", cmp)
        })?;
        let dst = GpuBuffer::new(DType::I32, rows, if max { "ArgMax" } else { "ArgMin" })?;
        if rows > 0 {
            let info = [rows as i32, k as i32, src.layout().offset as i32];
            let b = buffer_of(&src).expect("on the GPU");
            c.dispatch(&pipeline, &info, &[dst.raw(), b.raw()], rows as u32)?;
        }
        let pos = gpu_tensor(dst, &out_shape).to_host()?.to_vec::<i32>()?;
        Tensor::from_vec(pos.iter().map(|&p| p as i64).collect(), &out_shape)
    };
    Some(run())
}
