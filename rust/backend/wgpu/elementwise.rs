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
        _ => Err(Error::TooLarge(format!(
            "shape {shape:?} has more than 2^31 elements, {}",
            super::TOO_LARGE
        ))),
    }
}

/// True when `launch` may use the vec4 form: a new dense result of a multiple of 4 32-bit
/// values, every input a broadcast scalar or dense from an offset that is a multiple of 4.
fn vec4_form(inputs: &[&Tensor], shape: &[usize], n: usize, out: DType) -> bool {
    n.is_multiple_of(4)
        && out != DType::F16
        && inputs.iter().all(|t| {
            let l = t.layout();
            t.dtype() != DType::F16
                && (t.numel() == 1 || (l.shape == shape && l.is_contiguous() && l.offset % 4 == 0))
        })
}

/// One input of a kernel: its dtype, how it is read, and where its offset is in `info`.
struct Input {
    dtype: DType,
    access: Access,
    at: usize,
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
    let vec = region.is_none() && vec4_form(inputs, shape, n, out);
    let rank = shape.len();
    let threads = if vec { n / 4 } else { n };
    let mut info: Vec<i32> = Vec::with_capacity(3 + (inputs.len() + 2) * (rank + 1));
    info.extend([threads as i32, rank as i32]);
    info.extend(shape.iter().map(|&d| d as i32));
    // The kernel's source follows from `key`; it is only built for a new kernel.
    let mut key = String::with_capacity(16 + body.len() + expr.len());
    key.push_str(&format!("ew|{out}|{rank}|{vec}|"));
    let mut specs = Vec::with_capacity(inputs.len());
    let mut raw: Vec<&wgpu::Buffer> = Vec::with_capacity(inputs.len() + 1);
    raw.push(dst.raw());
    for t in inputs {
        let b =
            buffer_of(t).ok_or_else(|| Error::Internal("GPU kernel given a host tensor".into()))?;
        let l = t.layout();
        let access = if t.numel() == 1 {
            Access::Scalar
        } else if l.shape == shape && l.is_contiguous() {
            Access::Dense
        } else {
            Access::Strided
        };
        let at = info.len();
        let vec_in = vec && access == Access::Dense;
        info.push(if vec_in { l.offset / 4 } else { l.offset } as i32);
        info.extend(broadcast_strides(l, shape).iter().map(|&s| s as i32));
        key.push_str(t.dtype().name());
        key.push(match access {
            Access::Dense => 'd',
            Access::Scalar => 's',
            Access::Strided => 'x',
        });
        specs.push(Input {
            dtype: t.dtype(),
            access,
            at,
        });
        raw.push(b.raw());
    }
    let out_index = match region {
        Some(r) if !r.is_contiguous() => {
            key.push_str("|x");
            let p = info.len();
            info.push(r.offset as i32);
            info.extend(r.strides.iter().map(|&s| s as i32));
            format!("strided({p}, i)")
        }
        Some(r) => {
            key.push_str("|d");
            info.push(r.offset as i32);
            format!("info[{}] + i", info.len() - 1)
        }
        None => "i".to_string(),
    };
    key.push('|');
    key.push_str(body);
    key.push('|');
    key.push_str(expr);
    if n > 0 {
        let pipeline = c.pipeline(&key, || source(&specs, out, vec, body, expr, &out_index))?;
        c.dispatch(&pipeline, &info, &raw, (threads as u32).div_ceil(256))?;
    }
    Ok(())
}

/// The WGSL source of an elementwise kernel (see [`launch`]).
fn source(
    inputs: &[Input],
    out: DType,
    vec: bool,
    body: &str,
    expr: &str,
    out_index: &str,
) -> String {
    let mut bindings = String::new();
    // Loads of every thread, and (vec4 form) of each of its four values.
    let mut loads = String::new();
    let mut lane = String::new();
    for (k, t) in inputs.iter().enumerate() {
        let p = t.at;
        let vec_in = vec && t.access == Access::Dense;
        let ty = wgsl_type(t.dtype);
        let elem = if vec_in {
            format!("vec4<{ty}>")
        } else {
            ty.to_string()
        };
        bindings.push_str(&format!(
            "@group(0) @binding({}) var<storage, read> in{k}: array<{elem}>;\n",
            k + 2
        ));
        let idx = match t.access {
            Access::Dense => format!("info[{p}] + i"),
            Access::Scalar => format!("info[{p}]"),
            Access::Strided => format!("strided({p}, i)"),
        };
        let value = if vec_in {
            loads.push_str(&format!("    let v{k} = in{k}[{idx}];\n"));
            format!("v{k}[j]")
        } else {
            format!("in{k}[{idx}]")
        };
        let value = match t.dtype {
            DType::Bool => format!("{value} != 0u"),
            DType::F16 => format!("f32({value})"),
            _ => value,
        };
        if vec_in {
            lane.push_str(&format!("        let x{k} = {value};\n"));
        } else {
            loads.push_str(&format!("    let x{k} = {value};\n"));
        }
    }
    let store = if out == DType::Bool {
        format!("select(0u, 1u, {expr})")
    } else if out == DType::F16 {
        format!("f16({expr})")
    } else {
        expr.to_string()
    };
    let out_ty = wgsl_type(out);
    let code = if vec {
        // Four copies of the expression, one per value (`j` a constant in each).
        let mut code = format!("{loads}    var r: vec4<{out_ty}>;\n");
        for j in 0..4 {
            code.push_str(&format!(
                "    {{\n        let j = {j};\n{lane}{body}        r[j] = {store};\n    }}\n"
            ));
        }
        code + "    out[i] = r;"
    } else {
        format!("{loads}{body}    out[{out_index}] = {store};")
    };
    let out_ty = if vec {
        format!("vec4<{out_ty}>")
    } else {
        out_ty.into()
    };
    TEMPLATE
        .replace("$OUT", &out_ty)
        .replace("$BINDINGS", &bindings)
        .replace("$BODY", &code)
        + MATH
}

/// A dense copy of a GPU tensor.
pub(crate) fn copy(t: &Tensor) -> Result<Tensor> {
    map(&[t], t.shape(), t.dtype(), "x0")
}
