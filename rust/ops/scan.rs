//! Cumulative ops along one axis: TensorFlow's `Cumsum` and `Cumprod`, with `exclusive` (each
//! position leaves out its own element) and `reverse` (accumulates from the end), and their
//! gradients. On a GPU they run on the host.

use crate::autodiff::{op1, rule};
use crate::backend::cpu::num::Num;
use crate::dtype::DType;
use crate::graph::Op;
use crate::layout::Layout;
use crate::ops::BinaryOp;
use crate::{bail, Result, Tensor};

/// One scan over a contiguous `[outer, n, inner]` buffer.
fn scan<T: Num>(
    x: &[T],
    [outer, n, inner]: [usize; 3],
    prod: bool,
    exclusive: bool,
    reverse: bool,
) -> Vec<T> {
    let mut out = vec![T::zero(); x.len()];
    let start = if prod { T::one() } else { T::zero() };
    for o in 0..outer {
        let base = o * n * inner;
        for i in 0..inner {
            let mut acc = start;
            for k in 0..n {
                let k = if reverse { n - 1 - k } else { k };
                let at = base + k * inner + i;
                let v = x[at];
                if exclusive {
                    out[at] = acc;
                }
                acc = if prod { acc.mul(v) } else { acc.add(v) };
                if !exclusive {
                    out[at] = acc;
                }
            }
        }
    }
    out
}

impl Tensor {
    /// The cumulative sum (or product, `prod`) along `axis`; `exclusive` leaves each element
    /// out of its own position, `reverse` accumulates from the end (TensorFlow's `Cumsum`
    /// and `Cumprod`).
    ///
    /// The gradient of a product is TensorFlow's: it divides by `x` and gives 0 where `x`
    /// is 0.
    ///
    /// ```
    /// let x = rstf::Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap();
    /// let s = x.cumulative(0, false, false, false).unwrap();
    /// assert_eq!(s.to_vec::<f32>().unwrap(), vec![1.0, 3.0, 6.0]);
    /// let p = x.cumulative(0, true, true, true).unwrap();
    /// assert_eq!(p.to_vec::<f32>().unwrap(), vec![6.0, 3.0, 1.0]);
    /// ```
    pub fn cumulative(
        &self,
        axis: i64,
        prod: bool,
        exclusive: bool,
        reverse: bool,
    ) -> Result<Tensor> {
        let desc = || Op::Cumulative {
            axis,
            prod,
            exclusive,
            reverse,
        };
        let fwd = || self.cumulative_raw(axis, prod, exclusive, reverse);
        op1(desc, &[self], fwd, |y| {
            let (x, y) = (self.clone(), y.clone());
            rule(move |g, _| {
                let g = &g[0];
                if !prod {
                    return Ok(vec![Some(g.cumulative(axis, false, exclusive, !reverse)?)]);
                }
                let out = g.mul(&y)?.cumulative(axis, false, exclusive, !reverse)?;
                let c = |v: f64| Tensor::scalar(v).cast(x.dtype());
                let (zero, one) = (c(0.0)?, c(1.0)?);
                let is0 = x.binary(&zero, BinaryOp::Equal)?;
                let q = out.div(&Tensor::select(&is0, &one, &x)?)?;
                Ok(vec![Some(Tensor::select(&is0, &zero, &q)?)])
            })
        })
    }

    fn cumulative_raw(
        &self,
        axis: i64,
        prod: bool,
        exclusive: bool,
        reverse: bool,
    ) -> Result<Tensor> {
        let name = if prod { "Cumprod" } else { "Cumsum" };
        let dt = self.dtype();
        if dt == DType::Bool || dt == DType::String {
            bail!(
                "{name}: not supported for dtype {dt} (tensor of shape {:?})",
                self.shape()
            );
        }
        let ax = Layout::norm_axis(axis, self.rank(), name)?;
        if dt.is_half() {
            let f = self.cast(DType::F32)?;
            return f.cumulative_raw(axis, prod, exclusive, reverse)?.cast(dt);
        }
        let shape = self.shape();
        let dims = [
            shape[..ax].iter().product(),
            shape[ax],
            shape[ax + 1..].iter().product(),
        ];
        let x = self.contiguous()?;
        macro_rules! go {
            ($T:ty) => {{
                let v = scan(x.storage_slice::<$T>()?, dims, prod, exclusive, reverse);
                Tensor::from_vec(v, shape)
            }};
        }
        match dt {
            DType::F32 => go!(f32),
            DType::F64 => go!(f64),
            DType::I8 => go!(i8),
            DType::I32 => go!(i32),
            DType::I64 => go!(i64),
            DType::U8 => go!(u8),
            DType::F16 | DType::BF16 | DType::Bool | DType::String => {
                bail!("{name}: not supported for dtype {dt}")
            }
        }
    }
}
