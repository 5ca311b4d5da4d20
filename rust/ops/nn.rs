//! Neural-network functions. Softmax and log-softmax have a fused, numerically stable kernel
//! (one pass per row, max subtracted first); the activations are composites of primitives.

use crate::backend::cpu::{self, simd, strided};
use crate::dtype::DType;
use crate::layout::Layout;
use crate::ops::{BinaryOp, ReduceOp, UnaryOp};
use crate::{bail, Result, Tensor};

fn scalar_like(t: &Tensor, v: f64) -> Result<Tensor> {
    Tensor::scalar(v).cast(t.dtype())
}

impl Tensor {
    /// Softmax along `axis` (`log` gives log-softmax), stable for large inputs.
    ///
    /// ```
    /// let x = rstf::Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap();
    /// let s = x.softmax(-1, false).unwrap().to_vec::<f32>().unwrap();
    /// assert!((s.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    /// ```
    pub fn softmax(&self, axis: i64, log: bool) -> Result<Tensor> {
        crate::autodiff::op1(
            || crate::graph::Op::Softmax { axis, log },
            &[self],
            || self.softmax_raw(axis, log),
            |y| {
                let y = y.clone();
                crate::autodiff::rule(move |g, _| {
                    let g = &g[0];
                    let ax = [axis];
                    Ok(vec![Some(if log {
                        // dx = g - softmax(x) * sum(g)
                        let s = g.reduce(ReduceOp::Sum, Some(&ax), true)?;
                        g.sub(&y.unary(UnaryOp::Exp)?.mul(&s)?)?
                    } else {
                        // dx = y * (g - sum(g * y))
                        let s = g.mul(&y)?.reduce(ReduceOp::Sum, Some(&ax), true)?;
                        y.mul(&g.sub(&s)?)?
                    })])
                })
            },
        )
    }

    fn softmax_raw(&self, axis: i64, log: bool) -> Result<Tensor> {
        let name = if log { "LogSoftmax" } else { "Softmax" };
        let dt = self.dtype();
        if !dt.is_float() {
            bail!(
                "{name}: expected a float tensor, got {dt} (shape {:?})",
                self.shape()
            );
        }
        if self.rank() == 0 {
            bail!("{name}: logits must have at least one dimension, got a scalar");
        }
        let ax = Layout::norm_axis(axis, self.rank(), name)?;
        let last = self.rank() - 1;
        if ax != last {
            let mut perm: Vec<usize> = (0..self.rank()).collect();
            perm.swap(ax, last);
            return self.transpose(&perm)?.softmax(-1, log)?.transpose(&perm);
        }
        if dt == DType::F32 || dt.is_half() {
            let x = self.cast(DType::F32)?.contiguous()?;
            let n = *self.shape().last().unwrap();
            if n == 0 || x.numel() == 0 {
                return Ok(self.clone());
            }
            let s = x.as_slice::<f32>().expect("dense");
            let rows = s.len() / n;
            let v = strided::build(s.len(), |out| {
                if s.len() >= strided::PAR_MIN && rows > 1 {
                    let per = cpu::chunk_len(rows, 1) * n;
                    cpu::for_chunks_mut(out, per, |i, o| {
                        simd::softmax_rows_f32(&s[i * per..i * per + o.len()], o, n, log)
                    });
                } else {
                    simd::softmax_rows_f32(s, out, n, log);
                }
            });
            return Tensor::from_vec(v?, self.shape())?.cast(dt);
        }
        self.softmax_along(-1, log)
    }

    /// Softmax over `axis` (checked by the caller) as a composite of primitives (float64, and
    /// GPU tensors).
    pub(crate) fn softmax_along(&self, axis: i64, log: bool) -> Result<Tensor> {
        let m = self.reduce(ReduceOp::Max, Some(&[axis]), true)?;
        let m = Tensor::select(&m.binary(&m, BinaryOp::Equal)?, &m, &scalar_like(&m, 0.0)?)?;
        let z = self.sub(&m)?;
        let e = z.unary(UnaryOp::Exp)?;
        let s = e.reduce(ReduceOp::Sum, Some(&[axis]), true)?;
        if log {
            z.sub(&s.unary(UnaryOp::Log)?)
        } else {
            e.div(&s)
        }
    }

    /// max(x, 0) capped at 6.
    pub fn relu6(&self) -> Result<Tensor> {
        self.binary(&scalar_like(self, 0.0)?, BinaryOp::Maximum)?
            .binary(&scalar_like(self, 6.0)?, BinaryOp::Minimum)
    }

    /// `x` where positive, else `alpha * x`.
    pub fn leaky_relu(&self, alpha: f64) -> Result<Tensor> {
        let pos = self.binary(&scalar_like(self, 0.0)?, BinaryOp::Greater)?;
        Tensor::select(&pos, self, &self.mul(&scalar_like(self, alpha)?)?)
    }

    /// `x` where positive, else `exp(x) - 1`.
    pub fn elu(&self) -> Result<Tensor> {
        let pos = self.binary(&scalar_like(self, 0.0)?, BinaryOp::Greater)?;
        Tensor::select(&pos, self, &self.unary(UnaryOp::Expm1)?)
    }

    /// `log(1 + exp(x))`, computed stably as `max(x, 0) + log1p(exp(-|x|))`; its gradient is
    /// `sigmoid(x)` (the composite's kinks at 0 cancel).
    pub fn softplus(&self) -> Result<Tensor> {
        crate::autodiff::op1(
            || crate::graph::Op::Softplus,
            &[self],
            || self.softplus_raw(),
            |_| {
                let x = self.clone();
                crate::autodiff::rule(move |g, _| {
                    Ok(vec![Some(g[0].mul(&x.unary(UnaryOp::Sigmoid)?)?)])
                })
            },
        )
    }

    fn softplus_raw(&self) -> Result<Tensor> {
        let zero = scalar_like(self, 0.0)?;
        let t = self
            .unary(UnaryOp::Abs)?
            .unary(UnaryOp::Neg)?
            .unary(UnaryOp::Exp)?
            .unary(UnaryOp::Log1p)?;
        self.binary(&zero, BinaryOp::Maximum)?.add(&t)
    }

    /// Gaussian error linear unit: exact (erf) or the tanh approximation.
    pub fn gelu(&self, approximate: bool) -> Result<Tensor> {
        let half = scalar_like(self, 0.5)?;
        let one = scalar_like(self, 1.0)?;
        let inner = if approximate {
            let c = scalar_like(self, (2.0 / std::f64::consts::PI).sqrt())?;
            let k = scalar_like(self, 0.044715)?;
            let x3 = self.mul(self)?.mul(self)?;
            self.add(&k.mul(&x3)?)?.mul(&c)?.unary(UnaryOp::Tanh)?
        } else {
            self.mul(&scalar_like(self, std::f64::consts::FRAC_1_SQRT_2)?)?
                .unary(UnaryOp::Erf)?
        };
        half.mul(self)?.mul(&one.add(&inner)?)
    }
}
