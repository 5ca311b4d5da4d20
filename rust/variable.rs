//! [`Variable`]: mutable storage of fixed shape and dtype (TensorFlow's `tf.Variable`).
//! Reads are cheap snapshots (the storage is shared); an update writes in place when no
//! snapshot is alive and copies first otherwise, so a tensor read earlier never changes.

use crate::device::Device;
use crate::dtype::DType;
use crate::ops::BinaryOp;
use crate::{bail, Result, Tensor};
use rayon::prelude::*;
use std::sync::{Arc, RwLock};

struct Inner {
    value: RwLock<Tensor>,
    id: u64,
    name: String,
    trainable: bool,
}

/// A mutable tensor. Cloning gives another handle on the same variable.
///
/// ```
/// use rstf::{Tensor, Variable};
/// let v = Variable::new(&Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap(), "v", true).unwrap();
/// v.assign_add(&Tensor::from_vec(vec![10.0f32, 10.0], &[2]).unwrap()).unwrap();
/// assert_eq!(v.read().to_vec::<f32>().unwrap(), vec![11.0, 12.0]);
/// ```
#[derive(Clone)]
pub struct Variable(Arc<Inner>);

impl std::fmt::Debug for Variable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Variable({:?}, shape={:?}, dtype={})",
            self.0.name,
            self.shape(),
            self.dtype()
        )
    }
}

impl Variable {
    /// A variable holding a copy of `initial`'s values.
    pub fn new(initial: &Tensor, name: &str, trainable: bool) -> Result<Variable> {
        let mut t = if crate::device::op_device(&[initial]) == Device::Gpu {
            // GPU buffers are never written in place, so the value may share one.
            initial.to_device(Device::Gpu)?.contiguous()?
        } else {
            let initial = initial.to_host()?;
            let t = initial.contiguous()?;
            if t.dtype() == DType::String {
                Tensor::from_strings(t.to_strings()?, t.shape())?
            } else if t.shares_storage(&initial) {
                // Own the storage so that updates never need a first copy.
                crate::with_dtype!(t.dtype(), T => Tensor::from_vec(t.to_vec::<T>()?, t.shape())?)
            } else {
                t
            }
        };
        t.renew_id();
        Ok(Variable(Arc::new(Inner {
            id: t.id(),
            value: RwLock::new(t),
            name: name.to_string(),
            trainable,
        })))
    }

    /// The identity that tapes use for this variable (every read carries it).
    pub fn id(&self) -> u64 {
        self.0.id
    }

    /// The name given at creation.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Whether tapes watch the variable automatically.
    pub fn trainable(&self) -> bool {
        self.0.trainable
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.peek().dtype()
    }

    /// The shape.
    pub fn shape(&self) -> Vec<usize> {
        self.peek().shape().to_vec()
    }

    /// True when both handles are the same variable.
    pub fn same(&self, other: &Variable) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The current value without telling tapes (for printing and saving).
    pub fn peek(&self) -> Tensor {
        self.0
            .value
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The current value; active tapes start watching the variable if it is trainable.
    ///
    /// Each read is a value of its own (a new identity, which recording tapes see as an
    /// identity of the variable, and a `ReadVariable` node inside a trace): a read taken
    /// before an assignment keeps standing for the value before it, and a read taken before
    /// a tape starts is a constant to it, as in TensorFlow.
    pub fn read(&self) -> Tensor {
        crate::autodiff::variable_read(self);
        let value = self.peek();
        let mut t = value.clone();
        t.renew_id();
        crate::graph::trace::variable_read(self, &t);
        crate::autodiff::record_on_tapes("ReadVariableOp", &[&value], &[t.clone()], |_| {
            crate::autodiff::rule(|g, _| Ok(vec![Some(g[0].clone())]))
        });
        t
    }

    fn check(&self, op: &str, t: &Tensor) -> Result<()> {
        let cur = self.peek();
        if t.dtype() != cur.dtype() {
            bail!(
                "{op}: cannot assign a tensor of dtype {} to variable '{}' of dtype {}",
                t.dtype(),
                self.0.name,
                cur.dtype()
            );
        }
        if t.shape() != cur.shape() {
            bail!(
                "{op}: cannot assign a tensor of shape {:?} to variable '{}' of shape {:?}",
                t.shape(),
                self.0.name,
                cur.shape()
            );
        }
        Ok(())
    }

    /// Runs `f` on the stored value under the write lock (not traced; for file reads).
    pub(crate) fn write_with<R>(&self, f: impl FnOnce(&mut Tensor) -> Result<R>) -> Result<R> {
        let mut g = self.0.value.write().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    /// Puts back a value taken with [`Variable::peek`] (no checks, not traced).
    pub(crate) fn restore(&self, t: Tensor) {
        *self.0.value.write().unwrap_or_else(|e| e.into_inner()) = t;
    }

    /// Replaces the value with `t` (same shape and dtype), taking its buffer rather than
    /// copying it (restoring a checkpoint). Inside a trace this is an ordinary assignment.
    pub fn load(&self, t: Tensor) -> Result<()> {
        if crate::graph::trace::active() {
            return self.assign(&t);
        }
        self.check("AssignVariableOp", &t)?;
        let mut t = t.to_device(self.peek().device())?.contiguous()?;
        t.set_id(self.0.id);
        self.restore(t);
        Ok(())
    }

    /// Replaces the values (same shape and dtype).
    pub fn assign(&self, t: &Tensor) -> Result<()> {
        self.check("AssignVariableOp", t)?;
        crate::graph::trace::assign(self, crate::graph::AssignMode::Set, t);
        let mut g = self.0.value.write().unwrap_or_else(|e| e.into_inner());
        if g.device() == Device::Gpu {
            let mut new = t.to_device(Device::Gpu)?.contiguous()?;
            new.set_id(self.0.id);
            *g = new;
            return Ok(());
        }
        if t.dtype() == DType::String {
            // Strings are replaced, not written over: earlier reads keep their values.
            let mut new = Tensor::from_strings(t.to_strings()?, t.shape())?;
            new.set_id(self.0.id);
            *g = new;
            return Ok(());
        }
        crate::with_dtype!(t.dtype(), T => {
            let dst = g.make_mut::<T>()?;
            match t.as_slice::<T>() {
                Some(s) => dst.copy_from_slice(s),
                None => dst.copy_from_slice(&t.to_vec::<T>()?),
            }
        });
        Ok(())
    }

    /// Adds `t` in place.
    pub fn assign_add(&self, t: &Tensor) -> Result<()> {
        self.update("AssignAddVariableOp", t, BinaryOp::Add)
    }

    /// Subtracts `t` in place.
    pub fn assign_sub(&self, t: &Tensor) -> Result<()> {
        self.update("AssignSubVariableOp", t, BinaryOp::Sub)
    }

    fn update(&self, op: &str, t: &Tensor, bop: BinaryOp) -> Result<()> {
        self.check(op, t)?;
        let mode = if bop == BinaryOp::Sub {
            crate::graph::AssignMode::Sub
        } else {
            crate::graph::AssignMode::Add
        };
        crate::graph::trace::assign(self, mode, t);
        let mut g = self.0.value.write().unwrap_or_else(|e| e.into_inner());
        if g.device() == Device::Gpu {
            let cur = g.clone();
            let gpu = Some(Device::Gpu);
            let mut new =
                crate::autodiff::paused(|| crate::device::with_device(gpu, || cur.binary(t, bop)))?;
            new.set_id(self.0.id);
            *g = new;
            return Ok(());
        }
        let sub = bop == BinaryOp::Sub;
        macro_rules! float {
            ($T:ty) => {{
                let owned;
                let src: &[$T] = match t.as_slice::<$T>() {
                    Some(s) => s,
                    None => {
                        owned = t.to_vec::<$T>()?;
                        &owned
                    }
                };
                let dst = g.make_mut::<$T>()?;
                let f = |(d, s): (&mut $T, &$T)| {
                    if sub {
                        *d -= *s
                    } else {
                        *d += *s
                    }
                };
                if dst.len() >= crate::backend::cpu::strided::PAR_MIN {
                    dst.par_iter_mut().zip(src.par_iter()).for_each(f);
                } else {
                    dst.iter_mut().zip(src.iter()).for_each(f);
                }
            }};
        }
        match t.dtype() {
            DType::F32 => float!(f32),
            DType::F64 => float!(f64),
            _ => {
                let cur = g.clone();
                let new = crate::autodiff::paused(|| cur.binary(t, bop))?;
                drop(cur);
                crate::with_dtype!(t.dtype(), T => {
                    let v = new.to_vec::<T>()?;
                    g.make_mut::<T>()?.copy_from_slice(&v);
                });
            }
        }
        Ok(())
    }
}
