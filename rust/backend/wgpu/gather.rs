//! GPU gather (`gather.wgsl`), its gradient (`scatter.wgsl`, atomic adds) and one-hot (an
//! elementwise select against the depth's positions). Indices are int32 on the GPU; an index
//! out of range gives zeros (gather), the off value (one-hot) or nothing (the gradient), as
//! TensorFlow's GPU kernels — the caller checks indices that are still in host memory, so
//! those raise as on the CPU.

use super::{buffer_of, context, elementwise, gpu_tensor, GpuBuffer};
use crate::device::Device;
use crate::dtype::DType;
use crate::layout::Layout;
use crate::tensor::Tensor;
use crate::Result;

const SHADER: &str = include_str!("gather.wgsl");
/// The index arithmetic both shaders of this file share.
const INDEX: &str = include_str!("gather_index.wgsl");

/// GPU tensor `t` with a contiguous layout (itself when it has one; its offset is kept).
fn dense(t: &Tensor) -> Result<Tensor> {
    if t.layout().is_contiguous() {
        Ok(t.clone())
    } else {
        elementwise::copy(t)
    }
}

/// `tf.gather(params, indices, axis)` for GPU tensors with int32 indices, or `None` when the
/// arguments are for the host kernel to check and report.
pub(crate) fn gather(params: &Tensor, indices: &Tensor, axis: i64) -> Option<Result<Tensor>> {
    if indices.dtype() != DType::I32 || params.rank() == 0 {
        return None;
    }
    let ax = Layout::norm_axis(axis, params.rank(), "").ok()?;
    let mut shape = params.shape()[..ax].to_vec();
    shape.extend_from_slice(indices.shape());
    shape.extend_from_slice(&params.shape()[ax + 1..]);
    let n = elementwise::elements(&shape).ok()?;
    let run = || {
        let dst = GpuBuffer::new(params.dtype(), n, "GatherV2")?;
        if n > 0 {
            let (p, i) = (dense(params)?, dense(indices)?);
            let inner: usize = params.shape()[ax + 1..].iter().product();
            let info = [
                n as i32,
                inner as i32,
                indices.numel() as i32,
                params.shape()[ax] as i32,
                p.layout().offset as i32,
                i.layout().offset as i32,
            ];
            let ty = elementwise::wgsl_type(params.dtype());
            let c = context()?;
            let pipeline =
                c.pipeline(&format!("gather|{ty}"), || SHADER.replace("$T", ty) + INDEX)?;
            let (bp, bi) = (buffer_of(&p), buffer_of(&i));
            let (bp, bi) = bp.zip(bi).ok_or_else(|| {
                crate::Error::Internal("GatherV2: GPU kernel given a host tensor".into())
            })?;
            c.dispatch(
                &pipeline,
                &info,
                &[dst.raw(), bp.raw(), bi.raw()],
                (n as u32).div_ceil(256),
            )?;
        }
        Ok(gpu_tensor(dst, &shape))
    };
    Some(run())
}

/// `tf.one_hot(indices, depth, on, off)` for int32 GPU indices and scalar on/off values.
pub(crate) fn one_hot(
    indices: &Tensor,
    depth: usize,
    on: &Tensor,
    off: &Tensor,
) -> Option<Result<Tensor>> {
    if indices.dtype() != DType::I32
        || on.dtype() != off.dtype()
        || on.numel() != 1
        || off.numel() != 1
        || depth > i32::MAX as usize
    {
        return None;
    }
    let mut shape = indices.shape().to_vec();
    shape.push(depth);
    let run = || {
        let mut column = indices.shape().to_vec();
        column.push(1);
        let idx = indices.reshape_to(&column)?;
        let positions: Vec<i32> = (0..depth as i32).collect();
        let positions = Tensor::from_vec(positions, &[depth])?.to_device(Device::Gpu)?;
        let (on, off) = (on.reshape_to(&[])?, off.reshape_to(&[])?);
        elementwise::map(
            &[&idx, &positions, &on, &off],
            &shape,
            on.dtype(),
            "select(x3, x2, x0 == x1)",
        )
    };
    Some(run())
}

const SCATTER: &str = include_str!("scatter.wgsl");

/// The gather's gradient: float32 GPU `g` (the gradient of `gather(params, indices, axis)`)
/// added into zeros of `shape` at int32 GPU `indices` (`scatter.wgsl`), or `None` for the host
/// kernel to run or to report bad arguments.
pub(crate) fn gather_grad(
    g: &Tensor,
    indices: &Tensor,
    shape: &[usize],
    axis: i64,
) -> Option<Result<Tensor>> {
    if g.dtype() != DType::F32 || indices.dtype() != DType::I32 || shape.is_empty() {
        return None;
    }
    let ax = Layout::norm_axis(axis, shape.len(), "").ok()?;
    let outer: usize = shape[..ax].iter().product();
    let inner: usize = shape[ax + 1..].iter().product();
    if g.numel() != outer * indices.numel() * inner {
        return None;
    }
    let n = elementwise::elements(g.shape()).ok()?;
    elementwise::elements(shape).ok()?;
    let run = || {
        let zero = Tensor::scalar(0.0f32).to_device(Device::Gpu)?;
        let out = elementwise::map(&[&zero], shape, DType::F32, "x0")?;
        if n > 0 {
            let (gd, i) = (dense(g)?, dense(indices)?);
            let info = [
                n as i32,
                inner as i32,
                indices.numel() as i32,
                shape[ax] as i32,
                gd.layout().offset as i32,
                i.layout().offset as i32,
            ];
            let c = context()?;
            let pipeline = c.pipeline("scatter_add", || SCATTER.to_string() + INDEX)?;
            let (bo, bg, bi) = (buffer_of(&out), buffer_of(&gd), buffer_of(&i));
            let (bo, bg, bi) = match (bo, bg, bi) {
                (Some(o), Some(g), Some(i)) => (o, g, i),
                _ => {
                    return Err(crate::Error::Internal(
                        "GatherGrad: GPU kernel given a host tensor".into(),
                    ))
                }
            };
            c.dispatch(
                &pipeline,
                &info,
                &[bo.raw(), bg.raw(), bi.raw()],
                (n as u32).div_ceil(256),
            )?;
        }
        Ok(out)
    };
    Some(run())
}
