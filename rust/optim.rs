//! Optimizer updates: one call applies a rule (SGD, Adam, RMSprop, Adagrad) to every variable.
//!
//! Dense float32/float64 variables in host memory are updated in place by one fused loop per
//! variable (the variable and its slots read and written once, in parallel chunks when large);
//! float32 variables on the GPU by one kernel each (`backend::wgpu::optim`). Inside a trace
//! the update of a variable is one graph node (TensorFlow's `ResourceApply*` ops) that runs
//! the same update at each call of the graph. Under a recording tape or for other dtypes the
//! same arithmetic runs as tensor ops. The learning rate and the step are scalar tensors
//! (variable reads inside a trace, so later changes reach traced steps).
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
//!
//! Traced, the update is one node, applied when the graph runs:
//!
//! ```
//! use rstf::graph::trace;
//! use rstf::optim::{apply, Rule};
//! use rstf::{Tensor, Variable};
//! let v = Variable::new(&Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap(), "v", true).unwrap();
//! let g = Tensor::from_vec(vec![1.0f32, 1.0], &[2]).unwrap();
//! let (lr, step) = (Tensor::scalar(0.5f32), Tensor::scalar(1i64));
//! let sgd = Rule::Sgd { momentum: 0.0, nesterov: false };
//! trace::begin();
//! let gi = trace::input(&g);
//! apply(&sgd, &lr, &step, &[v.clone()], &[gi], &[vec![]]).unwrap();
//! let graph = trace::finish(&[]).unwrap();
//! assert!(graph.to_string().contains("ResourceApplyGradientDescent('v'"));
//! assert_eq!(v.peek().to_vec::<f32>().unwrap(), vec![1.0, 2.0]); // tracing left it as it was
//! graph.run(&[g]).unwrap();
//! assert_eq!(v.peek().to_vec::<f32>().unwrap(), vec![0.5, 1.5]);
//! ```

use crate::backend::cpu::num::Float;
use crate::dtype::DType;
use crate::ops::UnaryOp;
use crate::{bail, Result, Tensor, Variable};

/// An update rule and its hyperparameters. Slots per variable, in order: SGD with momentum
/// `[momentum]`, Adam `[m, v]`, RMSprop `[rms]`, Adagrad `[accumulator]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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

    /// TensorFlow's name of the update op (what a graph shows).
    pub fn op_name(&self) -> &'static str {
        match self {
            Rule::Sgd { momentum, .. } if *momentum == 0.0 => "ResourceApplyGradientDescent",
            Rule::Sgd { .. } => "ResourceApplyKerasMomentum",
            Rule::Adam { .. } => "ResourceApplyAdam",
            Rule::RmsProp { .. } => "ResourceApplyRMSProp",
            Rule::Adagrad { .. } => "ResourceApplyAdagradV2",
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
        apply_one(rule, lr, step, v, g, s)?;
    }
    Ok(())
}

/// Applies `rule` to one variable. Inside a trace (with no tape recording) the update is one
/// graph node (see [`crate::graph::trace::update`]), which runs this again at each call of the
/// graph: the fused loop on the host, one kernel on the GPU.
pub(crate) fn apply_one(
    rule: &Rule,
    lr: &Tensor,
    step: &Tensor,
    v: &Variable,
    g: &Tensor,
    s: &[Variable],
) -> Result<()> {
    if s.len() != rule.slots() {
        bail!(
            "ApplyGradients: variable '{}' has {} slots, the rule needs {}",
            v.name(),
            s.len(),
            rule.slots()
        );
    }
    let value = v.peek();
    // The gradient and every slot must be like the variable.
    let like = |what: &str, t: &Tensor| -> Result<()> {
        if t.dtype() != value.dtype() || t.shape() != value.shape() {
            bail!(
                "ApplyGradients: {what} of dtype {} and shape {:?} for variable '{}' of dtype {} and shape {:?}",
                t.dtype(),
                t.shape(),
                v.name(),
                value.dtype(),
                value.shape()
            );
        }
        Ok(())
    };
    like("gradient", g)?;
    for (i, x) in s.iter().enumerate() {
        if x.same(v) || s[..i].iter().any(|y| y.same(x)) {
            bail!(
                "ApplyGradients: variable '{}' is given '{}' as a slot twice, or as its own slot",
                v.name(),
                x.name()
            );
        }
        like(&format!("slot '{}'", x.name()), &x.peek())?;
    }
    if lr.numel() != 1 || step.numel() != 1 {
        bail!(
            "ApplyGradients: the learning rate and the step must be scalars, got shapes {:?} and {:?}",
            lr.shape(),
            step.shape()
        );
    }
    let recording = crate::autodiff::is_recording();
    if crate::graph::trace::active() && !recording {
        return crate::graph::trace::update(rule, lr, step, v, g, s);
    }
    let eager = !crate::graph::trace::active() && !recording;
    let fused = eager
        && value.device() == crate::Device::Cpu
        && g.device() == crate::Device::Cpu
        && s.iter().all(|x| x.peek().device() == crate::Device::Cpu);
    #[cfg(feature = "gpu")]
    if value.device() == crate::Device::Gpu && eager {
        if let Some(r) = crate::backend::wgpu::optim::update(rule, lr, step, v, g, s) {
            return r;
        }
    }
    match value.dtype() {
        DType::F32 if fused => fused_update::<f32>(rule, lr.item_f64()?, step.item_f64()?, v, g, s),
        DType::F64 if fused => fused_update::<f64>(rule, lr.item_f64()?, step.item_f64()?, v, g, s),
        _ => op_update(rule, lr, step, v, g, s),
    }
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
        + Send
        + Sync
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
    // Each rule is a loop over matching chunks of the variable, its slots and the gradient,
    // written with zipped iterators so that it compiles to vector code.
    match *rule {
        Rule::Sgd { momentum: 0.0, .. } => with_slices(var, slots, g, |w, _, _, g| {
            for (w, &g) in w.iter_mut().zip(g) {
                *w -= lr * g;
            }
        }),
        Rule::Sgd { momentum, nesterov } => {
            let mu = c(momentum);
            with_slices(var, slots, g, |w, m, _, g| {
                for ((w, m), &g) in w.iter_mut().zip(m.iter_mut()).zip(g) {
                    *m = mu * *m - lr * g;
                    *w += if nesterov { mu * *m - lr * g } else { *m };
                }
            })
        }
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
            with_slices(var, slots, g, |w, m, v, g| {
                // Decoupled weight decay (AdamW) first: it reads only the variable.
                if weight_decay != 0.0 {
                    for w in w.iter_mut() {
                        *w -= lr * wd * *w;
                    }
                }
                for (((w, m), v), &g) in w.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
                    *m = b1 * *m + c1 * g;
                    *v = b2 * *v + c2 * g * g;
                    *w -= size * *m / (v.sqrt() + eps);
                }
            })
        }
        Rule::RmsProp { rho, epsilon } => {
            let (r, cr, eps) = (c(rho), c(1.0 - rho), c(epsilon));
            with_slices(var, slots, g, |w, a, _, g| {
                for ((w, a), &g) in w.iter_mut().zip(a.iter_mut()).zip(g) {
                    *a = r * *a + cr * g * g;
                    *w -= lr * g / (a.sqrt() + eps);
                }
            })
        }
        Rule::Adagrad { epsilon } => {
            let eps = c(epsilon);
            with_slices(var, slots, g, |w, a, _, g| {
                for ((w, a), &g) in w.iter_mut().zip(a.iter_mut()).zip(g) {
                    *a += g * g;
                    *w -= lr * g / (a.sqrt() + eps);
                }
            })
        }
    }
}

/// A chunk of the variable, its first two slots (empty where the rule has fewer) and the
/// gradient.
type Chunk<'a, T> = (&'a mut [T], &'a mut [T], &'a mut [T], &'a [T]);

/// Runs `f` on the variable's values, its slots' and the gradient `g`, written in place: in
/// parallel chunks for large variables (each element depends only on its own values, so the
/// results are the same).
fn with_slices<T: crate::dtype::Element + Send + Sync>(
    var: &Variable,
    slots: &[Variable],
    g: &[T],
    f: impl Fn(&mut [T], &mut [T], &mut [T], &[T]) + Sync,
) -> Result<()> {
    use crate::backend::cpu::{chunk_len, par_blocks};
    let run = |w: &mut [T], s0: &mut [T], s1: &mut [T]| {
        let n = w.len();
        if n < crate::backend::cpu::strided::PAR_MIN {
            return f(w, s0, s1, g);
        }
        let chunk = chunk_len(n, 1 << 14);
        fn parts<T>(s: &mut [T], chunk: usize, n: usize) -> Vec<&mut [T]> {
            if s.is_empty() {
                (0..n.div_ceil(chunk)).map(|_| &mut [][..]).collect()
            } else {
                s.chunks_mut(chunk).collect()
            }
        }
        let chunks: Vec<std::sync::Mutex<Chunk<T>>> = w
            .chunks_mut(chunk)
            .zip(parts(s0, chunk, n))
            .zip(parts(s1, chunk, n))
            .zip(g.chunks(chunk))
            .map(|(((w, a), b), g)| std::sync::Mutex::new((w, a, b, g)))
            .collect();
        par_blocks(chunks.len(), |i| {
            let mut c = chunks[i].lock().unwrap_or_else(|p| p.into_inner());
            let (w, a, b, g) = &mut *c;
            f(w, a, b, g)
        });
    };
    let mut_slot = |k: usize, inner: &mut dyn FnMut(&mut [T]) -> Result<()>| match slots.get(k) {
        Some(s) => s.write_with(|t| inner(t.make_mut::<T>()?)),
        None => inner(&mut []),
    };
    mut_slot(0, &mut |s0| {
        mut_slot(1, &mut |s1| {
            var.write_with(|t| {
                run(t.make_mut::<T>()?, s0, s1);
                Ok(())
            })
        })
    })
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
