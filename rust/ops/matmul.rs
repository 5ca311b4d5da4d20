//! Matrix multiplication: 2-D and batched (batch dims broadcast), with transposes folded into
//! strides. float32 goes through the packed AVX2 kernel of `backend::cpu::sgemm` when the CPU has
//! it, float64 (and float32 elsewhere) through the `gemm` crate; half floats are computed in f32;
//! integers use a blocked loop.

use crate::backend::cpu::num::Num;
use crate::backend::cpu::sgemm;
use crate::dtype::{DType, Element};
use crate::layout::{broadcast_shapes, broadcast_strides, checked_numel, Layout};
use crate::storage::try_alloc;
use crate::{bail, Result, Tensor};
use gemm::Parallelism;
use rayon::prelude::*;

/// Views of one operand: strides of its two matrix dims after the optional transpose.
struct Operand<'a, T> {
    data: &'a [T],
    batch_strides: Vec<isize>,
    offset: usize,
    rs: isize,
    cs: isize,
}

/// Row stride, column stride and batch strides (broadcast to `batch`) of a matmul operand.
pub(crate) fn operand_strides(
    t: &Tensor,
    transpose: bool,
    batch: &[usize],
) -> (isize, isize, Vec<isize>) {
    let l = t.layout();
    let r = l.rank();
    let (rs, cs) = if transpose {
        (l.strides[r - 1], l.strides[r - 2])
    } else {
        (l.strides[r - 2], l.strides[r - 1])
    };
    let bl = Layout {
        shape: l.shape[..r - 2].to_vec(),
        strides: l.strides[..r - 2].to_vec(),
        offset: l.offset,
    };
    (rs, cs, broadcast_strides(&bl, batch))
}

fn operand<'a, T: Element>(
    t: &'a Tensor,
    transpose: bool,
    batch: &[usize],
) -> Result<Operand<'a, T>> {
    let (rs, cs, batch_strides) = operand_strides(t, transpose, batch);
    Ok(Operand {
        data: t.storage_slice::<T>()?,
        batch_strides,
        offset: t.layout().offset,
        rs,
        cs,
    })
}

/// Storage offsets of each batch entry.
pub(crate) fn batch_offsets(batch: &[usize], strides: &[isize], base: usize) -> Vec<usize> {
    let n: usize = batch.iter().product();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; batch.len()];
    for _ in 0..n {
        let off: isize = idx.iter().zip(strides).map(|(&i, &s)| i as isize * s).sum();
        out.push((base as isize + off) as usize);
        for d in (0..batch.len()).rev() {
            idx[d] += 1;
            if idx[d] < batch[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

trait Gemm: Element + Num {
    #[allow(clippy::too_many_arguments)]
    fn mm(
        m: usize,
        n: usize,
        k: usize,
        dst: &mut [Self],
        a: &[Self],
        ao: usize,
        ars: isize,
        acs: isize,
        b: &[Self],
        bo: usize,
        brs: isize,
        bcs: isize,
        par: bool,
    );
}

macro_rules! impl_gemm_float {
    ($t:ty) => {
        impl Gemm for $t {
            fn mm(
                m: usize,
                n: usize,
                k: usize,
                dst: &mut [Self],
                a: &[Self],
                ao: usize,
                ars: isize,
                acs: isize,
                b: &[Self],
                bo: usize,
                brs: isize,
                bcs: isize,
                par: bool,
            ) {
                if k == 0 {
                    dst.iter_mut().for_each(|d| *d = 0.0);
                    return;
                }
                if <$t as Element>::DTYPE == DType::F32
                    && m * n * k >= 1 << 15
                    && sgemm::available()
                {
                    // SAFETY: the type is f32 (checked above); offsets and strides come from
                    // validated layouts; the CPU has AVX2 and FMA.
                    unsafe {
                        let d32 =
                            std::slice::from_raw_parts_mut(dst.as_mut_ptr() as *mut f32, dst.len());
                        sgemm::sgemm(
                            m,
                            n,
                            k,
                            d32,
                            a.as_ptr().add(ao) as *const f32,
                            ars,
                            acs,
                            b.as_ptr().add(bo) as *const f32,
                            brs,
                            bcs,
                            par,
                        );
                    }
                    return;
                }
                let p = if par {
                    Parallelism::Rayon(rayon::current_num_threads())
                } else {
                    Parallelism::None
                };
                // SAFETY: the offsets and strides come from validated layouts of `a` and `b`,
                // so every index the kernel forms stays inside the slices; `dst` is m*n dense.
                unsafe {
                    gemm::gemm(
                        m,
                        n,
                        k,
                        dst.as_mut_ptr(),
                        1,
                        n as isize,
                        false,
                        a.as_ptr().add(ao),
                        acs,
                        ars,
                        b.as_ptr().add(bo),
                        bcs,
                        brs,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        p,
                    );
                }
            }
        }
    };
}
impl_gemm_float!(f32);
impl_gemm_float!(f64);

macro_rules! impl_gemm_int {
    ($t:ty) => {
        impl Gemm for $t {
            fn mm(
                m: usize,
                n: usize,
                k: usize,
                dst: &mut [Self],
                a: &[Self],
                ao: usize,
                ars: isize,
                acs: isize,
                b: &[Self],
                bo: usize,
                brs: isize,
                bcs: isize,
                _par: bool,
            ) {
                dst.iter_mut().for_each(|d| *d = 0);
                // Dense copy of b so the inner loop runs along contiguous rows.
                let mut bd = vec![0 as $t; k * n];
                for p in 0..k {
                    for j in 0..n {
                        bd[p * n + j] =
                            b[(bo as isize + p as isize * brs + j as isize * bcs) as usize];
                    }
                }
                for i in 0..m {
                    let row = &mut dst[i * n..(i + 1) * n];
                    for p in 0..k {
                        let x = a[(ao as isize + i as isize * ars + p as isize * acs) as usize];
                        for (d, &y) in row.iter_mut().zip(&bd[p * n..(p + 1) * n]) {
                            *d = d.add(x.mul(y));
                        }
                    }
                }
            }
        }
    };
}
impl_gemm_int!(i32);
impl_gemm_int!(i64);
impl_gemm_int!(i8);
impl_gemm_int!(u8);

#[allow(clippy::too_many_arguments)]
fn matmul_typed<T: Gemm>(
    a: &Tensor,
    b: &Tensor,
    ta: bool,
    tb: bool,
    batch: &[usize],
    m: usize,
    n: usize,
    k: usize,
) -> Result<Tensor> {
    let oa = operand::<T>(a, ta, batch)?;
    let ob = operand::<T>(b, tb, batch)?;
    let mut shape = batch.to_vec();
    shape.extend([m, n]);
    let total = checked_numel(&shape, "MatMul")?;
    let mut out = try_alloc::<T>(total, "MatMul")?;
    out.resize(total, T::zero());
    let offs_a = batch_offsets(batch, &oa.batch_strides, oa.offset);
    let offs_b = batch_offsets(batch, &ob.batch_strides, ob.offset);
    let mn = (m * n).max(1);
    let big = m * n * k >= 1 << 21;
    let nb = offs_a.len();
    let run = |(i, d): (usize, &mut [T]), par: bool| {
        T::mm(
            m, n, k, d, oa.data, offs_a[i], oa.rs, oa.cs, ob.data, offs_b[i], ob.rs, ob.cs, par,
        )
    };
    if m * n == 0 {
    } else if nb > 1 && (m * n * k * nb) >= 1 << 18 && !big {
        out.par_chunks_mut(mn)
            .enumerate()
            .for_each(|x| run(x, false));
    } else {
        out.chunks_mut(mn).enumerate().for_each(|x| run(x, big));
    }
    Tensor::from_vec(out, &shape)
}

impl Tensor {
    /// Matrix product of the last two dims, batch dims broadcast; `transpose_a`/`transpose_b`
    /// transpose the operands first.
    ///
    /// ```
    /// let a = rstf::Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// let c = a.matmul(&a, true, false).unwrap();
    /// assert_eq!(c.to_vec::<f64>().unwrap(), vec![10.0, 14.0, 14.0, 20.0]);
    /// ```
    pub fn matmul(&self, other: &Tensor, transpose_a: bool, transpose_b: bool) -> Result<Tensor> {
        let fwd = || self.matmul_raw(other, transpose_a, transpose_b);
        let op = || crate::graph::Op::MatMul {
            transpose_a,
            transpose_b,
        };
        crate::autodiff::op1(op, &[self, other], fwd, |_| {
            let (a, b) = (self.clone(), other.clone());
            crate::autodiff::rule(move |g, needs| {
                matmul_grad(&a, &b, transpose_a, transpose_b, &g[0], needs)
            })
        })
    }

    /// Checks the operands of a matmul; returns its batch shape, `m`, `n` and `k`.
    pub(crate) fn matmul_dims(
        a: &Tensor,
        b: &Tensor,
        transpose_a: bool,
        transpose_b: bool,
    ) -> Result<(Vec<usize>, usize, usize, usize)> {
        if a.dtype() != b.dtype() {
            bail!(
                "MatMul: cannot compute MatMul as input #1(zero-based) was expected to be a {} tensor but is a {} tensor",
                a.dtype(),
                b.dtype()
            );
        }
        if a.rank() < 2 || b.rank() < 2 {
            bail!(
                "MatMul: In[0] and In[1] must have rank >= 2, got shapes {:?} and {:?}",
                a.shape(),
                b.shape()
            );
        }
        let (ra, rb) = (a.rank(), b.rank());
        let (m, ka) = if transpose_a {
            (a.shape()[ra - 1], a.shape()[ra - 2])
        } else {
            (a.shape()[ra - 2], a.shape()[ra - 1])
        };
        let (kb, n) = if transpose_b {
            (b.shape()[rb - 1], b.shape()[rb - 2])
        } else {
            (b.shape()[rb - 2], b.shape()[rb - 1])
        };
        if ka != kb {
            bail!(
                "MatMul: Matrix size-incompatible: In[0]: {:?}, In[1]: {:?} (transpose_a={transpose_a}, transpose_b={transpose_b})",
                a.shape(),
                b.shape()
            );
        }
        let batch = broadcast_shapes(&a.shape()[..ra - 2], &b.shape()[..rb - 2], "MatMul")?;
        Ok((batch, m, n, ka))
    }

    fn matmul_raw(&self, other: &Tensor, transpose_a: bool, transpose_b: bool) -> Result<Tensor> {
        let (a, b) = (self, other);
        let (batch, m, n, ka) = Tensor::matmul_dims(a, b, transpose_a, transpose_b)?;
        match a.dtype() {
            DType::F32 => matmul_typed::<f32>(a, b, transpose_a, transpose_b, &batch, m, n, ka),
            DType::F64 => matmul_typed::<f64>(a, b, transpose_a, transpose_b, &batch, m, n, ka),
            DType::F16 | DType::BF16 => a
                .cast(DType::F32)?
                .matmul(&b.cast(DType::F32)?, transpose_a, transpose_b)?
                .cast(a.dtype()),
            DType::I32 => matmul_typed::<i32>(a, b, transpose_a, transpose_b, &batch, m, n, ka),
            DType::I64 => matmul_typed::<i64>(a, b, transpose_a, transpose_b, &batch, m, n, ka),
            DType::I8 => matmul_typed::<i8>(a, b, transpose_a, transpose_b, &batch, m, n, ka),
            DType::U8 => matmul_typed::<u8>(a, b, transpose_a, transpose_b, &batch, m, n, ka),
            DType::Bool | DType::String => {
                bail!("MatMul: not supported for dtype {}", a.dtype())
            }
        }
    }
}

/// Gradients of `c = op(a) @ op(b)`: each a product of `g` with the other operand, batch dims
/// summed back where they were broadcast.
fn matmul_grad(
    a: &Tensor,
    b: &Tensor,
    ta: bool,
    tb: bool,
    g: &Tensor,
    needs: &[bool],
) -> Result<Vec<Option<Tensor>>> {
    use crate::autodiff::unbroadcast;
    let da = || -> Result<Option<Tensor>> {
        if !needs[0] {
            return Ok(None);
        }
        let d = match (ta, tb) {
            (false, false) => g.matmul(b, false, true)?,
            (false, true) => g.matmul(b, false, false)?,
            (true, false) => b.matmul(g, false, true)?,
            (true, true) => b.matmul(g, true, true)?,
        };
        Ok(Some(unbroadcast(&d, a.shape())?))
    };
    let db = || -> Result<Option<Tensor>> {
        if !needs[1] {
            return Ok(None);
        }
        let d = match (ta, tb) {
            (false, false) => a.matmul(g, true, false)?,
            (false, true) => g.matmul(a, true, false)?,
            (true, false) => a.matmul(g, false, false)?,
            (true, true) => g.matmul(a, true, true)?,
        };
        Ok(Some(unbroadcast(&d, b.shape())?))
    };
    // Both products at once (each on its own thread) when nothing records them (recording is
    // per thread): two independent gemms keep the cores busier than one split gemm after the
    // other. Each thread runs under this one's device scope.
    let (ga, gb) = if needs[0] && needs[1] && !crate::autodiff::must_record() {
        let scope = crate::device::scope();
        rayon::join(
            || crate::device::with_device(scope, da),
            || crate::device::with_device(scope, db),
        )
    } else {
        (da(), db())
    };
    let (ga, gb) = (ga?, gb?);
    Ok(vec![ga, gb])
}
