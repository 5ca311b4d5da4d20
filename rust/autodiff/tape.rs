//! The [`Tape`]: what it tracks, the ops it recorded, and the backward pass over them.

use super::{with_active, GradFn};
use crate::dtype::DType;
use crate::{Error, Result, Tensor, Variable};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// One recorded op: the identities of its inputs and outputs and its gradient rule.
pub(crate) struct Entry {
    pub name: &'static str,
    pub inputs: Vec<u64>,
    pub outputs: Vec<(u64, Vec<usize>, DType)>,
    pub rule: GradFn,
}

struct Inner {
    tracked: HashSet<u64>,
    variables: Vec<Variable>,
    entries: Vec<Arc<Entry>>,
    persistent: bool,
    watch_accessed: bool,
    recording: bool,
    used: bool,
}

/// A gradient tape (TensorFlow's `GradientTape`). Cloning gives another handle on the same
/// tape. A tape records only while active on a thread ([`Tape::activate`]).
#[derive(Clone)]
pub struct Tape(Arc<Mutex<Inner>>);

/// Keeps a tape active on this thread until dropped.
pub struct ActiveTape(Tape);

impl Drop for ActiveTape {
    fn drop(&mut self) {
        self.0.pop();
    }
}

const USED: &str =
    "A non-persistent GradientTape can only be used to compute one set of gradients (or jacobians)";

impl Tape {
    /// A new tape. `persistent` allows several gradient calls; `watch_accessed_variables`
    /// watches every trainable variable read while the tape is active.
    pub fn new(persistent: bool, watch_accessed_variables: bool) -> Tape {
        Tape(Arc::new(Mutex::new(Inner {
            tracked: HashSet::new(),
            variables: Vec::new(),
            entries: Vec::new(),
            persistent,
            watch_accessed: watch_accessed_variables,
            recording: true,
            used: false,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts recording on this thread (the tape becomes the innermost active one).
    pub fn push(&self) {
        with_active(|a| a.push(self.clone()));
    }

    /// Stops recording on this thread.
    pub fn pop(&self) {
        with_active(|a| {
            if let Some(i) = a.iter().rposition(|t| Arc::ptr_eq(&t.0, &self.0)) {
                a.remove(i);
            }
        });
    }

    /// Activates the tape until the returned guard is dropped.
    pub fn activate(&self) -> ActiveTape {
        self.push();
        ActiveTape(self.clone())
    }

    /// True when the tape is active on this thread.
    pub fn is_active(&self) -> bool {
        super::ACTIVE.with(|a| a.borrow().iter().any(|t| Arc::ptr_eq(&t.0, &self.0)))
    }

    /// Tracks `t`: ops that use it are recorded.
    pub fn watch(&self, t: &Tensor) {
        if t.dtype().is_float() {
            self.lock().tracked.insert(t.id());
        }
    }

    /// Tracks a variable: ops that read it are recorded.
    pub fn watch_variable(&self, v: &Variable) {
        let mut g = self.lock();
        if g.tracked.insert(v.id()) {
            g.variables.push(v.clone());
        }
    }

    pub(crate) fn auto_watch(&self, v: &Variable) {
        let mut g = self.lock();
        if g.watch_accessed && g.recording && g.tracked.insert(v.id()) {
            g.variables.push(v.clone());
        }
    }

    /// The variables watched so far, in the order they were first watched.
    pub fn watched_variables(&self) -> Vec<Variable> {
        self.lock().variables.clone()
    }

    /// Turns recording on or off (TensorFlow's `stop_recording`); returns the previous state.
    pub fn set_recording(&self, on: bool) -> bool {
        std::mem::replace(&mut self.lock().recording, on)
    }

    /// Forgets everything recorded and watched.
    pub fn reset(&self) {
        let mut g = self.lock();
        g.tracked.clear();
        g.variables.clear();
        g.entries.clear();
        g.used = false;
    }

    /// Number of ops recorded.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn tracks_any(&self, ids: &[u64]) -> bool {
        let g = self.lock();
        g.recording && ids.iter().any(|i| g.tracked.contains(i))
    }

    pub(crate) fn push_entry(&self, e: Arc<Entry>) {
        let mut g = self.lock();
        g.tracked.extend(e.outputs.iter().map(|o| o.0));
        g.entries.push(e);
    }

    /// Gradients of the sum of `targets` with respect to each source identity
    /// ([`Tensor::id`] or [`Variable::id`]); `None` where a source does not reach a target.
    /// `output_gradients` weight the targets (default: ones). A non-persistent tape frees what
    /// it recorded and refuses a second call.
    pub fn gradient(
        &self,
        targets: &[Tensor],
        sources: &[u64],
        output_gradients: Option<&[Option<Tensor>]>,
    ) -> Result<Vec<Option<Tensor>>> {
        let (entries, mut live, was) = self.begin(sources)?;
        // A source that is itself a target gets its output gradient (ones), watched or not,
        // as in TensorFlow (`tape.gradient(v, [v, w])` is `[1, None]`).
        live.extend(sources.iter().filter(|s| {
            targets
                .iter()
                .any(|t| t.id() == **s && t.dtype().is_float())
        }));
        let r = backprop(&entries, targets, sources, &live, output_gradients);
        drop(entries);
        self.end(was);
        r
    }

    /// The Jacobian of `target` with respect to each source: shape `target.shape + source
    /// shape`, `None` where unconnected.
    pub fn jacobian(
        &self,
        target: &Tensor,
        sources: &[(u64, Vec<usize>)],
    ) -> Result<Vec<Option<Tensor>>> {
        self.jacobian_impl(target, sources, false)
    }

    /// Per-example Jacobians: `target` is `[B, ...]`, each source `[B, ...]`, and each result
    /// `[B, target dims..., source dims...]`, assuming example `b` of the target depends only on
    /// example `b` of the sources.
    pub fn batch_jacobian(
        &self,
        target: &Tensor,
        sources: &[(u64, Vec<usize>)],
    ) -> Result<Vec<Option<Tensor>>> {
        self.jacobian_impl(target, sources, true)
    }

    fn jacobian_impl(
        &self,
        target: &Tensor,
        sources: &[(u64, Vec<usize>)],
        batch: bool,
    ) -> Result<Vec<Option<Tensor>>> {
        let ids: Vec<u64> = sources.iter().map(|s| s.0).collect();
        let (entries, live, was) = self.begin(&ids)?;
        let r = jacobian_rows(&entries, target, sources, &live, batch);
        drop(entries);
        self.end(was);
        r
    }

    /// Takes the recorded ops for a backward pass (all of them from a non-persistent tape, which
    /// stops recording meanwhile); returns them and the recording state.
    /// Also returns which sources the tape tracks: the others get no gradient.
    fn begin(&self, sources: &[u64]) -> Result<(Vec<Arc<Entry>>, HashSet<u64>, bool)> {
        let mut g = self.lock();
        if g.used && !g.persistent {
            return Err(Error::Runtime(USED.into()));
        }
        let live: HashSet<u64> = sources
            .iter()
            .copied()
            .filter(|s| g.tracked.contains(s))
            .collect();
        let entries = if !g.persistent {
            g.used = true;
            g.tracked.clear();
            std::mem::take(&mut g.entries)
        } else {
            g.entries.clone()
        };
        // A persistent tape called inside its context records the backward pass on itself, as
        // TensorFlow's does (a gradient of a gradient); the pass reads a copy of the entries.
        let was = if g.persistent {
            g.recording
        } else {
            std::mem::replace(&mut g.recording, false)
        };
        Ok((entries, live, was))
    }

    fn end(&self, was: bool) {
        self.lock().recording = was;
    }
}

fn accumulate(grads: &mut HashMap<u64, Tensor>, id: u64, g: Tensor) -> Result<()> {
    match grads.remove(&id) {
        Some(prev) => {
            let s = prev.add(&g)?;
            grads.insert(id, s);
        }
        None => {
            grads.insert(id, g);
        }
    }
    Ok(())
}

fn ones_like(t: &Tensor) -> Result<Tensor> {
    Tensor::fill(t.shape(), &Tensor::scalar(1.0f64).cast(t.dtype())?)
}

/// The reverse sweep: only ops on a path from a source are differentiated.
fn backprop(
    entries: &[Arc<Entry>],
    targets: &[Tensor],
    sources: &[u64],
    live: &HashSet<u64>,
    output_gradients: Option<&[Option<Tensor>]>,
) -> Result<Vec<Option<Tensor>>> {
    let keep = live;
    let mut reach = keep.clone();
    let mut useful = vec![false; entries.len()];
    for (k, e) in entries.iter().enumerate() {
        if e.inputs.iter().any(|i| reach.contains(i)) {
            useful[k] = true;
            reach.extend(e.outputs.iter().map(|o| o.0));
        }
    }
    let mut grads: HashMap<u64, Tensor> = HashMap::new();
    for (i, t) in targets.iter().enumerate() {
        if !t.dtype().is_float() || !reach.contains(&t.id()) {
            continue;
        }
        let g = match output_gradients.and_then(|o| o.get(i).cloned().flatten()) {
            Some(g) => {
                if g.shape() != t.shape() || g.dtype() != t.dtype() {
                    crate::bail!(
                        "gradient: output_gradients[{i}] has shape {:?} and dtype {}, but the target has shape {:?} and dtype {}",
                        g.shape(),
                        g.dtype(),
                        t.shape(),
                        t.dtype()
                    );
                }
                g
            }
            None => ones_like(t)?,
        };
        accumulate(&mut grads, t.id(), g)?;
    }
    for (k, e) in entries.iter().enumerate().rev() {
        if !useful[k] || !e.outputs.iter().any(|o| grads.contains_key(&o.0)) {
            continue;
        }
        let gs = e
            .outputs
            .iter()
            .map(|(id, shape, dt)| {
                let g = if keep.contains(id) {
                    grads.get(id).cloned()
                } else {
                    grads.remove(id)
                };
                match g {
                    Some(g) => Ok(g),
                    None => Tensor::zeros(shape, *dt),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let needs: Vec<bool> = e.inputs.iter().map(|i| reach.contains(i)).collect();
        let ins = (e.rule)(&gs, &needs).map_err(|err| match err {
            Error::InvalidArgument(m) => {
                Error::InvalidArgument(format!("gradient of {}: {m}", e.name))
            }
            other => other,
        })?;
        for ((id, g), need) in e.inputs.iter().zip(ins).zip(&needs) {
            if let (true, Some(g)) = (*need, g) {
                accumulate(&mut grads, *id, g)?;
            }
        }
    }
    Ok(sources
        .iter()
        .map(|s| {
            if live.contains(s) {
                grads.get(s).cloned()
            } else {
                None
            }
        })
        .collect())
}

/// One backward pass per element of the target (per column when `batch`), stacked.
fn jacobian_rows(
    entries: &[Arc<Entry>],
    target: &Tensor,
    sources: &[(u64, Vec<usize>)],
    live: &HashSet<u64>,
    batch: bool,
) -> Result<Vec<Option<Tensor>>> {
    let ids: Vec<u64> = sources.iter().map(|s| s.0).collect();
    let dt = target.dtype();
    let shape = target.shape().to_vec();
    if batch && shape.is_empty() {
        crate::bail!("batch_jacobian: the target must have a batch dimension, got a scalar");
    }
    let (b, rows) = if batch {
        (shape[0], shape[1..].iter().product::<usize>())
    } else {
        (1, shape.iter().product::<usize>())
    };
    let mut per_source: Vec<Vec<Option<Tensor>>> = vec![Vec::with_capacity(rows); ids.len()];
    for r in 0..rows {
        let mut v = vec![0.0f64; b * rows];
        for bb in 0..b {
            v[bb * rows + r] = 1.0;
        }
        let og = Tensor::from_vec(v, &shape)?.cast(dt)?;
        let gs = backprop(
            entries,
            std::slice::from_ref(target),
            &ids,
            live,
            Some(&[Some(og)]),
        )?;
        for (acc, g) in per_source.iter_mut().zip(gs) {
            acc.push(g);
        }
    }
    per_source
        .into_iter()
        .zip(sources)
        .map(|(gs, (_, sshape))| {
            if gs.iter().all(|g| g.is_none()) && rows > 0 {
                return Ok(None);
            }
            let parts = gs
                .into_iter()
                .map(|g| match g {
                    Some(g) => Ok(g),
                    None => Tensor::zeros(sshape, dt),
                })
                .collect::<Result<Vec<_>>>()?;
            let mut out_shape: Vec<usize>;
            let stacked = if batch {
                out_shape = shape.clone();
                out_shape.extend(&sshape[1.min(sshape.len())..]);
                if parts.is_empty() {
                    return Tensor::zeros(&out_shape, dt).map(Some);
                }
                Tensor::stack(&parts, 1)?
            } else {
                out_shape = shape.clone();
                out_shape.extend(sshape);
                if parts.is_empty() {
                    return Tensor::zeros(&out_shape, dt).map(Some);
                }
                Tensor::stack(&parts, 0)?
            };
            stacked.reshape_to(&out_shape).map(Some)
        })
        .collect()
}
