//! Reverse-mode automatic differentiation with TensorFlow's gradient tapes.
//!
//! Every differentiable op runs its forward kernel, then calls [`record`] with a gradient rule
//! (kept beside the forward definition in `ops/`). An op is recorded on each tape active on
//! this thread that tracks one of its inputs (a watched tensor or variable, or the output of an
//! op already recorded there). Gradient rules are written with the same recorded ops, so a tape
//! that is active while another computes gradients records the backward pass: nested tapes give
//! higher derivatives.
//!
//! ```
//! use rstf::{autodiff::Tape, Tensor};
//! let x = Tensor::scalar(3.0f64);
//! let tape = Tape::new(false, true);
//! let y = {
//!     let _active = tape.activate();
//!     tape.watch(&x);
//!     x.mul(&x).unwrap().mul(&x).unwrap() // x³
//! };
//! let g = tape.gradient(&[y], &[x.id()], None).unwrap();
//! assert_eq!(g[0].as_ref().unwrap().to_vec::<f64>().unwrap(), vec![27.0]); // 3x²
//! ```

mod tape;

pub use tape::{ActiveTape, Tape};

use crate::error::catch_panic;
use crate::graph::Op;
use crate::{Result, Tensor};
use std::cell::{Cell, RefCell};
use std::sync::Arc;

/// A gradient rule: from the gradients of an op's outputs and a mask of the inputs that need
/// one, the gradient of each input (`None` where it has none or is not needed).
pub type GradFn = Arc<dyn Fn(&[Tensor], &[bool]) -> Result<Vec<Option<Tensor>>> + Send + Sync>;

/// Wraps a closure as a [`GradFn`].
pub fn rule<F>(f: F) -> GradFn
where
    F: Fn(&[Tensor], &[bool]) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
{
    Arc::new(f)
}

thread_local! {
    /// The tapes active on this thread, innermost last.
    static ACTIVE: RefCell<Vec<Tape>> = const { RefCell::new(Vec::new()) };
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    static PAUSED: Cell<usize> = const { Cell::new(0) };
    /// Tapes set aside by [`hide_tapes`], innermost last.
    static HIDDEN: RefCell<Vec<Vec<Tape>>> = const { RefCell::new(Vec::new()) };
    /// Trainable variables read since each [`begin_variable_watch`], innermost last.
    static WATCHERS: RefCell<Vec<Vec<u64>>> = const { RefCell::new(Vec::new()) };
}

/// Starts collecting the trainable variables this thread reads, recording or not (the
/// variables a custom gradient's forward pass uses).
pub fn begin_variable_watch() {
    WATCHERS.with(|w| w.borrow_mut().push(Vec::new()));
}

/// Ends the innermost [`begin_variable_watch`]: the identities of the trainable variables
/// read since, in first-read order.
pub fn end_variable_watch() -> Vec<u64> {
    WATCHERS.with(|w| w.borrow_mut().pop()).unwrap_or_default()
}

/// Sets this thread's tapes aside until [`unhide_tapes`]: ops run meanwhile are not taped, but
/// a graph being traced still records them (the forward pass of a custom gradient).
pub fn hide_tapes() {
    let v = with_active(std::mem::take);
    HIDDEN.with(|h| h.borrow_mut().push(v));
}

/// Brings back the tapes of the matching [`hide_tapes`].
pub fn unhide_tapes() {
    let v = HIDDEN.with(|h| h.borrow_mut().pop()).unwrap_or_default();
    with_active(|a| {
        let newer = std::mem::replace(a, v);
        a.extend(newer);
    });
}

/// True when some tape on this thread may record (the fast check every op makes).
#[inline]
pub fn is_recording() -> bool {
    DEPTH.with(|d| d.get()) > 0 && PAUSED.with(|p| p.get()) == 0
}

/// True when a recording tape on this thread tracks one of the tensors `ids`.
pub fn taped(ids: &[u64]) -> bool {
    is_recording() && ACTIVE.with(|a| a.borrow().iter().any(|t| t.tracks_any(ids)))
}

/// Runs `f` with recording paused on this thread: the ops it runs are invisible to tapes.
/// Primitives run their forward bodies this way, so only the primitive itself is recorded.
pub fn paused<R>(f: impl FnOnce() -> R) -> R {
    let _g = PauseGuard::new();
    f()
}

/// Pauses recording on this thread until a matching [`resume`].
pub fn pause() {
    PAUSED.with(|p| p.set(p.get() + 1));
}

/// Undoes one [`pause`].
pub fn resume() {
    PAUSED.with(|p| p.set(p.get().saturating_sub(1)));
}

/// While alive, no tape on this thread records.
pub struct PauseGuard(());

impl PauseGuard {
    /// Pauses recording until the guard is dropped.
    pub fn new() -> PauseGuard {
        pause();
        PauseGuard(())
    }
}

impl Default for PauseGuard {
    fn default() -> Self {
        PauseGuard::new()
    }
}

impl Drop for PauseGuard {
    fn drop(&mut self) {
        resume();
    }
}

fn with_active<R>(f: impl FnOnce(&mut Vec<Tape>) -> R) -> R {
    ACTIVE.with(|a| {
        let mut v = a.borrow_mut();
        let r = f(&mut v);
        DEPTH.with(|d| d.set(v.len()));
        r
    })
}

/// True when an op must be recorded somewhere: on a tape or in a graph being traced.
#[inline]
pub(crate) fn must_record() -> bool {
    (DEPTH.with(|d| d.get()) > 0 || crate::graph::trace::active()) && PAUSED.with(|p| p.get()) == 0
}

/// Runs a one-output op: `forward` with recording paused, then records the op (`op` describes
/// it) with its gradient rule `make(output)` on the tapes that track an input, and in the graph
/// being traced.
#[inline]
pub fn op1(
    op: impl FnOnce() -> Op,
    inputs: &[&Tensor],
    forward: impl FnOnce() -> Result<Tensor>,
    make: impl FnOnce(&Tensor) -> GradFn,
) -> Result<Tensor> {
    #[cfg(feature = "gpu")]
    if crate::device::gpu_involved(inputs) {
        let o = op();
        let fwd = || {
            catch_panic(
                || o.name().to_string(),
                || {
                    let mut v =
                        crate::backend::wgpu::run_op(&o, inputs, || forward().map(|t| vec![t]))?;
                    v.pop()
                        .ok_or_else(|| crate::Error::Internal(format!("{}: no output", o.name())))
                },
            )
        };
        if !must_record() {
            return fwd();
        }
        let mut out = [paused(fwd)?];
        record(|| o, inputs, &mut out, |o| make(&o[0]));
        let [y] = out;
        return Ok(y);
    }
    if !must_record() {
        return catch_panic(|| op().name().to_string(), forward);
    }
    let y = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| paused(forward))) {
        Ok(y) => y?,
        Err(p) => return Err(crate::error::panic_error(op().name(), p)),
    };
    let mut out = [y];
    record(op, inputs, &mut out, |o| make(&o[0]));
    let [y] = out;
    Ok(y)
}

/// Runs a many-output op as [`op1`].
pub fn op_n(
    op: impl FnOnce() -> Op,
    inputs: &[&Tensor],
    forward: impl FnOnce() -> Result<Vec<Tensor>>,
    make: impl FnOnce(&[Tensor]) -> GradFn,
) -> Result<Vec<Tensor>> {
    #[cfg(feature = "gpu")]
    if crate::device::gpu_involved(inputs) {
        let o = op();
        let fwd = || {
            catch_panic(
                || o.name().to_string(),
                || crate::backend::wgpu::run_op(&o, inputs, forward),
            )
        };
        if !must_record() {
            return fwd();
        }
        let mut out = paused(fwd)?;
        record(|| o, inputs, &mut out, make);
        return Ok(out);
    }
    if !must_record() {
        return catch_panic(|| op().name().to_string(), forward);
    }
    let mut out = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| paused(forward))) {
        Ok(out) => out?,
        Err(p) => return Err(crate::error::panic_error(op().name(), p)),
    };
    record(op, inputs, &mut out, make);
    Ok(out)
}

/// Records an op whose outputs are already computed. Outputs get new identities when recorded
/// (an op may return a clone of an input). Tapes skip ops with no float output: integer and
/// bool paths have no gradient. `op` is built only when something records.
pub fn record(
    op: impl FnOnce() -> Op,
    inputs: &[&Tensor],
    outputs: &mut [Tensor],
    make: impl FnOnce(&[Tensor]) -> GradFn,
) {
    if !must_record() {
        return;
    }
    let ids: Vec<u64> = inputs.iter().map(|t| t.id()).collect();
    let traced = crate::graph::trace::tracks_any(&ids)
        || crate::graph::trace::captures_any(&ids)
        || crate::graph::trace::shape_marked(outputs);
    let tapes: Vec<Tape> = if outputs.iter().any(|o| o.dtype().is_float()) {
        ACTIVE.with(|a| {
            a.borrow()
                .iter()
                .filter(|t| t.tracks_any(&ids))
                .cloned()
                .collect()
        })
    } else {
        Vec::new()
    };
    if tapes.is_empty() && !traced {
        return;
    }
    for o in outputs.iter_mut() {
        o.renew_id();
    }
    let op = op();
    if traced {
        crate::graph::trace::record(&op, inputs, outputs);
    }
    push_entry(&tapes, op.name(), ids, outputs, make);
}

/// Records, on the tapes that track one of `inputs`, an op whose outputs the caller has
/// already placed (a loop node the tracer added).
pub(crate) fn record_on_tapes(
    name: &'static str,
    inputs: &[&Tensor],
    outputs: &[Tensor],
    make: impl FnOnce(&[Tensor]) -> GradFn,
) {
    if !is_recording() || !outputs.iter().any(|o| o.dtype().is_float()) {
        return;
    }
    let ids: Vec<u64> = inputs.iter().map(|t| t.id()).collect();
    let tapes = tapes_tracking(&ids);
    push_entry(&tapes, name, ids, outputs, make);
}

/// The active tapes that track one of `ids`.
fn tapes_tracking(ids: &[u64]) -> Vec<Tape> {
    ACTIVE.with(|a| {
        a.borrow()
            .iter()
            .filter(|t| t.tracks_any(ids))
            .cloned()
            .collect()
    })
}

/// Adds one recorded op to each of `tapes` (nothing when there are none).
fn push_entry(
    tapes: &[Tape],
    name: &'static str,
    ids: Vec<u64>,
    outputs: &[Tensor],
    make: impl FnOnce(&[Tensor]) -> GradFn,
) {
    if tapes.is_empty() {
        return;
    }
    let entry = Arc::new(tape::Entry {
        name,
        inputs: ids,
        outputs: outputs
            .iter()
            .map(|o| (o.id(), o.shape().to_vec(), o.dtype()))
            .collect(),
        rule: make(outputs),
    });
    for t in tapes {
        t.push_entry(entry.clone());
    }
}

/// Records an op that only a Python callback can differentiate (a custom gradient); graphs
/// cannot hold it.
pub fn record_opaque(
    name: &'static str,
    inputs: &[&Tensor],
    outputs: &mut [Tensor],
    make: impl FnOnce(&[Tensor]) -> GradFn,
) -> Result<()> {
    if crate::graph::trace::active() {
        // The graph keeps the forward ops (traced already); tapes inside the trace use the
        // custom rule, and the graph is marked so that no tape outside it differentiates
        // its primitives instead.
        crate::graph::trace::mark_custom_gradient();
        for o in outputs.iter_mut() {
            let old = o.id();
            o.renew_id();
            crate::graph::trace::alias(old, o);
        }
    }
    if !is_recording() {
        return Ok(());
    }
    let ids: Vec<u64> = inputs.iter().map(|t| t.id()).collect();
    let tapes = tapes_tracking(&ids);
    if tapes.is_empty() {
        return Ok(());
    }
    if !crate::graph::trace::active() {
        for o in outputs.iter_mut() {
            o.renew_id();
        }
    }
    push_entry(&tapes, name, ids, outputs, make);
    Ok(())
}

/// Called when a variable is read: active tapes that watch accessed variables start watching
/// it (trainable variables only).
pub fn variable_read(v: &crate::Variable) {
    if !v.trainable() {
        return;
    }
    WATCHERS.with(|w| {
        for seen in w.borrow_mut().iter_mut() {
            if !seen.contains(&v.id()) {
                seen.push(v.id());
            }
        }
    });
    if !is_recording() {
        return;
    }
    let tapes: Vec<Tape> = ACTIVE.with(|a| a.borrow().clone());
    for t in tapes {
        t.auto_watch(v);
    }
}

/// The gradient of a broadcasting op's input: `g` summed over the broadcast dims back to
/// `shape`.
pub fn unbroadcast(g: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if g.shape() == shape {
        return Ok(g.clone());
    }
    let lead = g.rank().saturating_sub(shape.len());
    let axes: Vec<i64> = (0..g.rank())
        .filter(|&a| a < lead || (shape[a - lead] == 1 && g.shape()[a] != 1))
        .map(|a| a as i64)
        .collect();
    let s = if axes.is_empty() {
        g.clone()
    } else {
        g.reduce(crate::ops::ReduceOp::Sum, Some(&axes), true)?
    };
    s.reshape_to(shape)
}

/// A scalar of `t`'s dtype.
pub fn scalar_like(t: &Tensor, v: f64) -> Result<Tensor> {
    Tensor::scalar(v).cast(t.dtype())
}
