//! Elementwise GPU kernels: one WGSL template (`elementwise.wgsl`) specialised per
//! expression, dtypes and input access (dense, broadcast scalar or strided), compiled once per
//! specialisation. Unary, binary, select, cast, copies and fused chains all use it. float16
//! values are computed in float32 (read widened, the result rounded once), as on the host.

use super::{buffer_of, context, gpu_tensor, GpuBuffer};
use crate::dtype::DType;
use crate::layout::{broadcast_strides, Layout};
use crate::tensor::Tensor;
use crate::{Error, Result};

const TEMPLATE: &str = include_str!("elementwise.wgsl");
/// The float32 math functions (`rstf_exp`, ...) the expressions call.
pub(crate) const MATH: &str = include_str!("math.wgsl");

/// WGSL storage type of a GPU dtype.
pub(crate) fn wgsl_type(d: DType) -> &'static str {
    match d {
        DType::F32 => "f32",
        DType::F16 => "f16",
        DType::I32 => "i32",
        _ => "u32",
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Access {
    Dense,
    Scalar,
    Strided,
}

/// Runs `expr` (over `x0`, `x1`, ...; bool inputs are WGSL `bool`s, float16 ones `f32`s) on
/// GPU `inputs`, each broadcast to `shape`, into a new dense tensor of `out` dtype (a bool
/// result is an expression of type `bool`, a float16 one of type `f32`).
pub(crate) fn map(inputs: &[&Tensor], shape: &[usize], out: DType, expr: &str) -> Result<Tensor> {
    map_body(inputs, shape, out, "", expr)
}

/// [`map`] with WGSL statements `body` run before `expr` (fused chains bind temporaries).
pub(crate) fn map_body(
    inputs: &[&Tensor],
    shape: &[usize],
    out: DType,
    body: &str,
    expr: &str,
) -> Result<Tensor> {
    let n = elements(shape)?;
    let dst = GpuBuffer::new(out, n, "elementwise")?;
    launch(inputs, shape, out, body, expr, &dst, None)?;
    Ok(gpu_tensor(dst, shape))
}

/// Copies GPU tensor `src` into the view `region` of `dst` (same shape as `src`).
pub(crate) fn copy_into(dst: &GpuBuffer, region: &Layout, src: &Tensor) -> Result<()> {
    launch(
        &[src],
        &region.shape,
        src.dtype(),
        "",
        "x0",
        dst,
        Some(region),
    )
}

/// The number of elements of `shape`, which GPU kernels address with 32-bit integers.
pub(crate) fn elements(shape: &[usize]) -> Result<usize> {
    match shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) {
        Some(n) if n <= i32::MAX as usize => Ok(n),
        _ => Err(Error::ResourceExhausted(format!(
            "shape {shape:?} has more than 2^31 elements, {}",
            super::TOO_LARGE
        ))),
    }
}

fn launch(
    inputs: &[&Tensor],
    shape: &[usize],
    out: DType,
    body: &str,
    expr: &str,
    dst: &GpuBuffer,
    region: Option<&Layout>,
) -> Result<()> {
    let c = context()?;
    let n = elements(shape)?;
    let rank = shape.len();
    let mut info: Vec<i32> = vec![n as i32, rank as i32];
    info.extend(shape.iter().map(|&d| d as i32));
    let mut bindings = String::new();
    let mut loads = String::new();
    let mut buffers: Vec<GpuBuffer> = Vec::with_capacity(inputs.len());
    for (k, t) in inputs.iter().enumerate() {
        let b =
            buffer_of(t).ok_or_else(|| Error::Internal("GPU kernel given a host tensor".into()))?;
        let l = t.layout();
        let strides = broadcast_strides(l, shape);
        let access = if t.numel() == 1 {
            Access::Scalar
        } else if l.shape == shape && l.is_contiguous() {
            Access::Dense
        } else {
            Access::Strided
        };
        let p = info.len();
        info.push(l.offset as i32);
        info.extend(strides.iter().map(|&s| s as i32));
        let ty = wgsl_type(t.dtype());
        bindings.push_str(&format!(
            "@group(0) @binding({}) var<storage, read> in{k}: array<{ty}>;\n",
            k + 2
        ));
        let idx = match access {
            Access::Dense => format!("info[{p}] + i"),
            Access::Scalar => format!("info[{p}]"),
            Access::Strided => format!("strided({p}, i)"),
        };
        if t.dtype() == DType::Bool {
            loads.push_str(&format!("    let x{k} = in{k}[{idx}] != 0u;\n"));
        } else if t.dtype() == DType::F16 {
            loads.push_str(&format!("    let x{k} = f32(in{k}[{idx}]);\n"));
        } else {
            loads.push_str(&format!("    let x{k} = in{k}[{idx}];\n"));
        }
        buffers.push(b.clone());
    }
    let out_index = match region {
        Some(r) if !r.is_contiguous() => {
            let p = info.len();
            info.push(r.offset as i32);
            info.extend(r.strides.iter().map(|&s| s as i32));
            format!("strided({p}, i)")
        }
        Some(r) => {
            info.push(r.offset as i32);
            format!("info[{}] + i", info.len() - 1)
        }
        None => "i".to_string(),
    };
    let store = if out == DType::Bool {
        format!("select(0u, 1u, {expr})")
    } else if out == DType::F16 {
        format!("f16({expr})")
    } else {
        expr.to_string()
    };
    if n > 0 {
        // The source follows from these parts; it is only built for a new kernel.
        let key = format!("ew|{out}|{bindings}|{loads}|{body}|{store}|{out_index}");
        let pipeline = c.pipeline(&key, || {
            TEMPLATE
                .replace("$OUTIDX", &out_index)
                .replace("$OUT", wgsl_type(out))
                .replace("$BINDINGS", &bindings)
                .replace("$LOADS", &(loads.clone() + body))
                .replace("$STORE", &store)
                + MATH
        })?;
        let mut raw: Vec<&wgpu::Buffer> = vec![dst.raw()];
        raw.extend(buffers.iter().map(|b| b.raw()));
        c.dispatch(&pipeline, &info, &raw, (n as u32).div_ceil(256))?;
    }
    Ok(())
}

/// A dense copy of a GPU tensor.
pub(crate) fn copy(t: &Tensor) -> Result<Tensor> {
    map(&[t], t.shape(), t.dtype(), "x0")
}
