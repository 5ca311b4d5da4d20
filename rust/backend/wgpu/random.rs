//! GPU random numbers (`random.wgsl`): float32 (and float16) uniform and normal draws of the
//! host's stream (`ops/creation.rs`): the same seed gives the same values on both devices, to
//! within float32 rounding (the host computes in float64); int32 uniform draws are exactly
//! the host's.

use super::{context, elementwise, gpu_tensor, GpuBuffer};
use crate::device::{gpu_dtype, op_device, Device};
use crate::dtype::DType;
use crate::tensor::Tensor;
use crate::Result;

const SHADER: &str = include_str!("random.wgsl");

/// `n` draws of `shape` on the GPU when the op is placed there and `dtype` is a float type
/// the GPU holds, else `None` (the host draws). `normal` selects normal numbers with mean `a`
/// and standard deviation `b`, else uniform ones in `[a, b)`.
pub(crate) fn draw(
    shape: &[usize],
    normal: bool,
    a: f64,
    b: f64,
    dtype: DType,
    seed: u64,
) -> Option<Result<Tensor>> {
    // int32 uniform draws of a valid int32 range (else the host draws or reports the error).
    let int = dtype == DType::I32 && !normal;
    let int_range = a < b
        && a >= i32::MIN as f64
        && b <= i32::MAX as f64 + 1.0
        && a.fract() == 0.0
        && b.fract() == 0.0;
    if !(matches!(dtype, DType::F32 | DType::F16) || int && int_range)
        || !gpu_dtype(dtype)
        || op_device(&[]) != Device::Gpu
    {
        return None;
    }
    let n = elementwise::elements(shape).ok()?;
    if !super::fits(n as u64 * super::elem_bytes(dtype)) {
        return None;
    }
    let (op, entry) = if normal {
        ("RandomStandardNormal", "normal")
    } else if int {
        ("RandomUniformInt", "uniform_int")
    } else {
        ("RandomUniform", "uniform")
    };
    let scale = if normal { b } else { b - a };
    let run = || {
        let dst = GpuBuffer::new(dtype, n, op)?;
        if n > 0 {
            let c = context()?;
            let ty = elementwise::wgsl_type(dtype);
            let pipeline = c.pipeline(&format!("random|{entry}|{ty}"), || {
                SHADER
                    .replace(&format!("fn {entry}("), "fn main(")
                    .replace("$T", ty)
                    + elementwise::MATH
            })?;
            let (lo, width) = if int {
                // low as int32 bits and the range, below 2^32 for int32 bounds.
                (a as i32, (b - a) as u32 as i32)
            } else {
                ((a as f32).to_bits() as i32, (scale as f32).to_bits() as i32)
            };
            let info = [
                n as i32,
                seed as u32 as i32,
                (seed >> 32) as u32 as i32,
                lo,
                width,
            ];
            let threads = if normal { n.div_ceil(2) } else { n };
            c.dispatch(&pipeline, &info, &[dst.raw()], threads.div_ceil(256) as u32)?;
        }
        Ok(gpu_tensor(dst, shape))
    };
    Some(run())
}
