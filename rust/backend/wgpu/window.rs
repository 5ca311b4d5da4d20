//! GPU kernels for sliding windows over NHWC float32 images (`window.wgsl`): im2col gathers
//! every window into a row of patches (convolution is that and one matmul, pooling a reduction
//! over the patches) and col2im adds patches back into an image, im2col's gradient. One
//! thread per output element; col2im reads the windows covering its pixel, so no two threads
//! write one element.

use super::{buffer_of, context, elementwise, gpu_tensor, GpuBuffer};
use crate::dtype::DType;
use crate::ops::conv::Window;
use crate::tensor::Tensor;
use crate::{Error, Result};

const SHADER: &str = include_str!("window.wgsl");

/// The kernels' shared info: sizes and the window's geometry for an `[n, h, w, c]` image.
fn geometry(w: &Window, [_, h, wd, c]: [usize; 4], total: usize) -> Option<Vec<i32>> {
    let (oh, ow, pt, pl) = w.output(h, wd);
    let v = [
        total,
        h,
        wd,
        c,
        oh,
        ow,
        w.size[0],
        w.size[1],
        w.strides[0],
        w.strides[1],
        w.dilations[0],
        w.dilations[1],
        pt,
        pl,
    ];
    // Every index the kernels form stays below the element count of the image or of the
    // patches, both checked to fit in an i32 by the callers.
    v.iter().map(|&x| i32::try_from(x).ok()).collect()
}

/// A dense float32 GPU tensor's buffer, after a copy when its layout is not contiguous.
fn dense(t: &Tensor) -> Result<Tensor> {
    if t.layout().is_contiguous() {
        Ok(t.clone())
    } else {
        elementwise::copy(t)
    }
}

/// Runs kernel `key` ("im2col" or "col2im") of `window.wgsl` on `x` into a new tensor.
fn run(
    op: &str,
    key: &str,
    x: &Tensor,
    mut info: Vec<i32>,
    shape: &[usize],
    pad: Option<f32>,
) -> Result<Tensor> {
    let n = elementwise::elements(shape)?;
    let dst = GpuBuffer::new(DType::F32, n, op)?;
    if n > 0 {
        let x = dense(x)?;
        info.push(x.layout().offset as i32);
        if let Some(p) = pad {
            info.push(p.to_bits() as i32);
        }
        let c = context()?;
        let pipeline = c.pipeline(key, || SHADER.replace(&format!("fn {key}("), "fn main("))?;
        let bx = buffer_of(&x)
            .ok_or_else(|| Error::Internal(format!("{op}: GPU kernel given a host tensor")))?;
        c.dispatch(
            &pipeline,
            &info,
            &[dst.raw(), bx.raw()],
            (n as u32).div_ceil(256),
        )?;
    }
    Ok(gpu_tensor(dst, shape))
}

/// `Tensor::im2col` of a float32 GPU image, or `None` for the host kernel to run (or to
/// report bad arguments).
pub(crate) fn im2col(x: &Tensor, w: &Window, pad_value: f64) -> Option<Result<Tensor>> {
    if x.dtype() != DType::F32 {
        return None;
    }
    let dims = w.check("Im2Col", x.shape()).ok()?;
    let (oh, ow, _, _) = w.output(dims[1], dims[2]);
    let shape = [dims[0], oh, ow, w.size[0] * w.size[1] * dims[3]];
    let total = elementwise::elements(&shape).ok()?;
    elementwise::elements(x.shape()).ok()?;
    let info = geometry(w, dims, total)?;
    Some(run(
        "Im2Col",
        "im2col",
        x,
        info,
        &shape,
        Some(pad_value as f32),
    ))
}

/// `Tensor::col2im` of float32 GPU patches into an image of `shape`, or `None` for the host
/// kernel to run (or to report bad arguments).
pub(crate) fn col2im(p: &Tensor, shape: &[usize], w: &Window) -> Option<Result<Tensor>> {
    if p.dtype() != DType::F32 {
        return None;
    }
    let dims = w.check("Col2Im", shape).ok()?;
    let (oh, ow, _, _) = w.output(dims[1], dims[2]);
    if p.shape() != [dims[0], oh, ow, w.size[0] * w.size[1] * dims[3]] {
        return None;
    }
    elementwise::elements(p.shape()).ok()?;
    let total = elementwise::elements(shape).ok()?;
    let info = geometry(w, dims, total)?;
    Some(run("Col2Im", "col2im", p, info, shape, None))
}
