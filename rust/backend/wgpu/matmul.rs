//! GPU matrix product: float32, batched with broadcast batch dims, operands read through their
//! strides (transposes are free). `matmul.wgsl` computes 64x64 tiles (4x4 per thread) for small
//! products; `matmul_big.wgsl` 128x128 tiles (8x8 per thread, the next k slice loaded while the
//! current one is used) once both sides of the result reach [`BIG`] and, on a hardware GPU, the
//! product has [`BIG_GROUPS`] such tiles (fewer leave most of a large GPU's cores idle: a
//! 1024² product is 64 tiles of 128², 256 of 64²), reading each operand in vec4s along the
//! axis it is contiguous in where the shapes allow (see [`loader`]).

use super::{buffer_of, context, gpu_tensor, GpuBuffer};
use crate::dtype::DType;
use crate::ops::matmul::{batch_offsets, operand_strides};
use crate::tensor::Tensor;
use crate::{Error, Result};

const SHADER: &str = include_str!("matmul.wgsl");
const SHADER_BIG: &str = include_str!("matmul_big.wgsl");
/// Rows and columns of the result from which the 128x128 tiles are used.
const BIG: usize = 256;
/// 128x128 tiles a product needs on a hardware GPU to use them.
const BIG_GROUPS: usize = 256;
/// Workgroup memory of `matmul_big.wgsl` in bytes.
const BIG_SHARED: u32 = (528 + 528) * 16;

/// Row stride, column stride and per-batch offsets of one operand.
fn operand(t: &Tensor, transpose: bool, batch: &[usize]) -> (i32, i32, Vec<usize>) {
    let (rs, cs, strides) = operand_strides(t, transpose, batch);
    (
        rs as i32,
        cs as i32,
        batch_offsets(batch, &strides, t.layout().offset),
    )
}

/// The slice loader of `matmul_big.wgsl` for an operand with row stride `rs`, column stride
/// `cs`, `rows` x `cols` values and batch offsets `off`: `row` when its rows are contiguous
/// (vec4s along a row), `col` when its columns are, else `strided`. Vec4 reads need the
/// contiguous axis a multiple of 4 long and the other stride and every offset multiples of 4.
fn loader(
    rs: i32,
    cs: i32,
    rows: usize,
    cols: usize,
    off: &[usize],
    [row, col]: [&'static str; 2],
) -> &'static str {
    let aligned = off.iter().all(|o| o % 4 == 0);
    if aligned && cs == 1 && rs % 4 == 0 && cols.is_multiple_of(4) {
        row
    } else if aligned && rs == 1 && cs % 4 == 0 && rows.is_multiple_of(4) {
        col
    } else {
        "strided"
    }
}

/// `op(a) @ op(b)` for float32 GPU tensors already checked by the caller.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    a: &Tensor,
    b: &Tensor,
    ta: bool,
    tb: bool,
    batch: &[usize],
    m: usize,
    n: usize,
    k: usize,
) -> Result<Tensor> {
    let c = context()?;
    let mut shape = batch.to_vec();
    shape.extend([m, n]);
    let nb: usize = batch.iter().product();
    let big = m >= BIG
        && n >= BIG
        && (c.software || m.div_ceil(128) * n.div_ceil(128) * nb >= BIG_GROUPS)
        && c.device.limits().max_compute_workgroup_storage_size >= BIG_SHARED;
    let tile = if big { 128 } else { 64 };
    let tiles_n = n.div_ceil(tile);
    let tiles = m.div_ceil(tile) * tiles_n;
    if tiles > 65535 || nb > 65535 {
        return Err(Error::ResourceExhausted(format!(
            "MatMul: shapes {:?} and {:?} need more GPU workgroups than one dispatch allows",
            a.shape(),
            b.shape()
        )));
    }
    // The kernels index the result and the operands' buffers with 32-bit integers.
    super::elementwise::elements(&shape)?;
    for t in [a, b] {
        if buffer_of(t).is_some_and(|b| b.len() > i32::MAX as usize) {
            return Err(Error::TooLarge(format!(
                "MatMul: an operand of shape {:?} lies in a buffer of more than 2^31 elements, {}",
                t.shape(),
                super::TOO_LARGE
            )));
        }
    }
    let dst = GpuBuffer::new(DType::F32, nb * m * n, "MatMul")?;
    if m * n * nb > 0 {
        let (a_rs, a_cs, a_off) = operand(a, ta, batch);
        let (b_rs, b_cs, b_off) = operand(b, tb, batch);
        let mut info = vec![
            m as i32,
            n as i32,
            k as i32,
            a_rs,
            a_cs,
            b_rs,
            b_cs,
            tiles_n as i32,
            nb as i32,
        ];
        info.extend(a_off.iter().map(|&o| o as i32));
        info.extend(b_off.iter().map(|&o| o as i32));
        let pipeline = if big {
            let la = loader(a_rs, a_cs, m, k, &a_off, ["k", "m"]);
            let lb = loader(b_rs, b_cs, k, n, &b_off, ["n", "k"]);
            c.pipeline_in_bounds(&format!("matmul_big|{la}|{lb}"), || {
                SHADER_BIG.replace("$A", la).replace("$B", lb)
            })?
        } else {
            c.pipeline_in_bounds("matmul", || SHADER.to_string())?
        };
        let (ba, bb) = (buffer_of(a), buffer_of(b));
        let (ba, bb) = ba
            .zip(bb)
            .ok_or_else(|| Error::Internal("MatMul: GPU kernel given a host tensor".into()))?;
        c.dispatch_grid(
            &pipeline,
            &info,
            &[dst.raw(), ba.raw(), bb.raw()],
            tiles as u32,
            nb as u32,
        )?;
    }
    Ok(gpu_tensor(dst, &shape))
}
