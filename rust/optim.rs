//! Optimizer updates: one call applies a rule (SGD, Adam, RMSprop, Adagrad) to every variable.
//!
//! Dense float32/float64 variables in host memory are updated in place by one fused loop per
//! variable (the variable and its slots read and written once); float32 variables on the GPU
//! by one kernel each (`backend::wgpu::optim`). Inside a trace, under a recording tape or for
//! other dtypes, the same arithmetic runs as tensor ops, so a traced step records the
//! updates as graph nodes and GPU variables stay on the GPU. The learning rate and the step
//! are scalar tensors (variable reads inside a trace, so later changes reach traced steps).
//!
//! ```
//! use rstf::optim::{apply, Rule};
//! use rstf::{Tensor, Variable};
//! let v = Variable::new(&Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap(), "v", true).unwrap();
//! let g = Tensor::from_vec(vec![1.0f32, 1.0], &[2]).unwrap();
//! let (lr, step) = (Tensor::scalar(0.5f32), Tensor::scalar(1i64));
//! apply(&Rule::Sgd { momentum: 0.0, nesterov: false }, &lr, &step, &[v.clone()], &[g], &[vec![]]).unwrap();
//! assert_eq!(v.peek().to_vec::<f32>().unwrap(), vec![0.5, 1.5]);
//! ```

use crate::backend::cpu::num::Float;
use crate::dtype::DType;
use crate::ops::UnaryOp;
use crate::{bail, Result, Tensor, Variable};

/// An update rule and its hyperparameters. Slots per variable, in order: SGD with momentum
/// `[momentum]`, Adam `[m, v]`, RMSprop `[rms]`, Adagrad `[accumulator]`.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// `v -= lr * g`, or with momentum `m = momentum * m - lr * g; v += m` (Nesterov:
    /// `v += momentum * m - lr * g`).
    Sgd { momentum: f64, nesterov: bool },
    /// Adam with optional decoupled weight decay (AdamW).
    Adam {
        beta_1: f64,
        beta_2: f64,
        epsilon: f64,
        weight_decay: f64,
    },
    /// `a = rho * a + (1 - rho) * g * g; v -= lr * g / (sqrt(a) + epsilon)`.
    RmsProp { rho: f64, epsilon: f64 },
    /// `a += g * g; v -= lr * g / (sqrt(a) + epsilon)`.
    Adagrad { epsilon: f64 },
}

impl Rule {
    /// Number of slot variables per variable.
    pub fn slots(&self) -> usize {
        match self {
            Rule::Sgd { momentum, .. } => usize::from(*momentum != 0.0),
            Rule::Adam { .. } => 2,
            Rule::RmsProp { .. } | Rule::Adagrad { .. } => 1,
        }
    }
}

/// Applies `rule` with learning rate `lr` at step `step` (scalar tensors; the step is 1 for
/// the first update) to each variable with its gradient and slots.
pub fn apply(
    rule: &Rule,
    lr: &Tensor,
    step: &Tensor,
    vars: &[Variable],
    grads: &[Tensor],
    slots: &[Vec<Variable>],
) -> Result<()> {
    if vars.len() != grads.len() || vars.len() != slots.len() {
        bail!(
            "ApplyGradients: {} variables, {} gradients and {} slot lists",
            vars.len(),
            grads.len(),
            slots.len()
        );
    }
    for ((v, g), s) in vars.iter().zip(grads).zip(slots) {
        if s.len() != rule.slots() {
            bail!(
                "ApplyGradients: variable '{}' has {} slots, the rule needs {}",
                v.name(),
                s.len(),
                rule.slots()
            );
        }
        let value = v.peek();
        if g.dtype() != value.dtype() || g.shape() != value.shape() {
            bail!(
                "ApplyGradients: gradient of dtype {} and shape {:?} for variable '{}' of dtype {} and shape {:?}",
                g.dtype(),
                g.shape(),
                v.name(),
                value.dtype(),
                value.shape()
            );
        }
        let fused = !crate::graph::trace::active()
            && !crate::autodiff::is_recording()
            && value.device() == crate::Device::Cpu
            && g.device() == crate::Device::Cpu
            && s.iter().all(|x| x.peek().device() == crate::Device::Cpu);
        #[cfg(feature = "gpu")]
        if value.device() == crate::Device::Gpu
            && !crate::graph::trace::active()
            && !crate::autodiff::is_recording()
        {
            if let Some(r) = crate::backend::wgpu::optim::update(rule, lr, step, v, g, s) {
                r?;
                continue;
            }
        }
        match value.dtype() {
            DType::F32 if fused => {
                fused_update::<f32>(rule, lr.item_f64()?, step.item_f64()?, v, g, s)?
            }
            DType::F64 if fused => {
                fused_update::<f64>(rule, lr.item_f64()?, step.item_f64()?, v, g, s)?
            }
            _ => op_update(rule, lr, step, v, g, s)?,
        }
    }
    Ok(())
}

fn fused_update<T>(
    rule: &Rule,
    lr: f64,
    step: f64,
    var: &Variable,
    grad: &Tensor,
    slots: &[Variable],
) -> Result<()>
where
    T: Float
        + std::ops::Add<Output = T>
        + std::ops::Sub<Output = T>
        + std::ops::Mul<Output = T>
        + std::ops::Div<Output = T>
        + std::ops::AddAssign
        + std::ops::SubAssign,
{
    let owned;
    let g: &[T] = match grad.as_slice::<T>() {
        Some(s) => s,
        None => {
            owned = grad.to_vec::<T>()?;
            &owned
        }
    };
    let c = |x: f64| T::of_f64(x);
    let lr = c(lr);
    match *rule {
        Rule::Sgd { momentum: 0.0, .. } => var.write_with(|t| {
            for (w, &g) in t.make_mut::<T>()?.iter_mut().zip(g) {
                *w -= lr * g;
            }
            Ok(())
        }),
        Rule::Sgd { momentum, nesterov } => slots[0].write_with(|mt| {
            let m = mt.make_mut::<T>()?;
            let mu = c(momentum);
            var.write_with(|t| {
                for ((w, m), &g) in t.make_mut::<T>()?.iter_mut().zip(m.iter_mut()).zip(g) {
                    *m = mu * *m - lr * g;
                    *w += if nesterov { mu * *m - lr * g } else { *m };
                }
                Ok(())
            })
        }),
        Rule::Adam {
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
        } => {
            let (b1, b2, eps, wd) = (c(beta_1), c(beta_2), c(epsilon), c(weight_decay));
            let (c1, c2) = (c(1.0 - beta_1), c(1.0 - beta_2));
            // The bias-corrected step size.
            let t = c(step);
            let size = lr * (T::one() - b2.pow(t)).sqrt() / (T::one() - b1.pow(t));
            slots[0].write_with(|mt| {
                let m = mt.make_mut::<T>()?;
                slots[1].write_with(|vt| {
                    let v = vt.make_mut::<T>()?;
                    var.write_with(|t| {
                        let w = t.make_mut::<T>()?;
                        for i in 0..w.len() {
                            m[i] = b1 * m[i] + c1 * g[i];
                            v[i] = b2 * v[i] + c2 * g[i] * g[i];
                            if weight_decay != 0.0 {
                                w[i] -= lr * wd * w[i];
                            }
                            w[i] -= size * m[i] / (v[i].sqrt() + eps);
                        }
                        Ok(())
                    })
                })
            })
        }
        Rule::RmsProp { rho, epsilon } => slots[0].write_with(|at| {
            let a = at.make_mut::<T>()?;
            let (r, cr, eps) = (c(rho), c(1.0 - rho), c(epsilon));
            var.write_with(|t| {
                for ((w, a), &g) in t.make_mut::<T>()?.iter_mut().zip(a.iter_mut()).zip(g) {
                    *a = r * *a + cr * g * g;
                    *w -= lr * g / (a.sqrt() + eps);
                }
                Ok(())
            })
        }),
        Rule::Adagrad { epsilon } => slots[0].write_with(|at| {
            let a = at.make_mut::<T>()?;
            let eps = c(epsilon);
            var.write_with(|t| {
                for ((w, a), &g) in t.make_mut::<T>()?.iter_mut().zip(a.iter_mut()).zip(g) {
                    *a += g * g;
                    *w -= lr * g / (a.sqrt() + eps);
                }
                Ok(())
            })
        }),
    }
}

/// The update as tensor ops and assignments (recorded inside a trace, run on the GPU there).
fn op_update(
    rule: &Rule,
    lr: &Tensor,
    step: &Tensor,
    var: &Variable,
    g: &Tensor,
    slots: &[Variable],
) -> Result<()> {
    let dt = g.dtype();
    let k = |x: f64| Tensor::scalar(x).cast(dt);
    let lr_t = lr.cast(dt)?;
    match *rule {
        Rule::Sgd { momentum: 0.0, .. } => var.assign_sub(&lr_t.mul(g)?),
        Rule::Sgd { momentum, nesterov } => {
            let mu = k(momentum)?;
            let step_g = lr_t.mul(g)?;
            slots[0].assign(&mu.mul(&slots[0].read())?.sub(&step_g)?)?;
            if nesterov {
                var.assign_add(&mu.mul(&slots[0].read())?.sub(&step_g)?)
            } else {
                var.assign_add(&slots[0].read())
            }
        }
        Rule::Adam {
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
        } => {
            let (m, v) = (&slots[0], &slots[1]);
            m.assign(&k(beta_1)?.mul(&m.read())?.add(&k(1.0 - beta_1)?.mul(g)?)?)?;
            let g2 = k(1.0 - beta_2)?.mul(g)?.mul(g)?;
            v.assign(&k(beta_2)?.mul(&v.read())?.add(&g2)?)?;
            let t = step.cast(dt)?;
            let one = k(1.0)?;
            let pow = |b: f64| k(b)?.binary(&t, crate::ops::BinaryOp::Pow);
            let size = lr_t
                .mul(&one.sub(&pow(beta_2)?)?.unary(UnaryOp::Sqrt)?)?
                .div(&one.sub(&pow(beta_1)?)?)?;
            if weight_decay != 0.0 {
                let wd = lr_t.mul(&k(weight_decay)?)?;
                var.assign_sub(&wd.mul(&var.read())?)?;
            }
            let denom = v.read().unary(UnaryOp::Sqrt)?.add(&k(epsilon)?)?;
            var.assign_sub(&size.mul(&m.read())?.div(&denom)?)
        }
        Rule::RmsProp { rho, epsilon } => {
            let a = &slots[0];
            let g2 = k(1.0 - rho)?.mul(g)?.mul(g)?;
            a.assign(&k(rho)?.mul(&a.read())?.add(&g2)?)?;
            let denom = a.read().unary(UnaryOp::Sqrt)?.add(&k(epsilon)?)?;
            var.assign_sub(&lr_t.mul(g)?.div(&denom)?)
        }
        Rule::Adagrad { epsilon } => {
            let a = &slots[0];
            a.assign_add(&g.mul(g)?)?;
            let denom = a.read().unary(UnaryOp::Sqrt)?.add(&k(epsilon)?)?;
            var.assign_sub(&lr_t.mul(g)?.div(&denom)?)
        }
    }
}
