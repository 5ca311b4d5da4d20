//! Tracing: while a [`Builder`] is active on a thread, every op whose inputs derive from the
//! traced inputs (or from variables read meanwhile) is appended to it as a graph node. Ops on
//! other tensors run normally and their results enter the graph as constants, so constant
//! subexpressions are folded as a matter of course. Tracing runs the ops on real values, which
//! gives every node its dtype and shape.

use super::{Graph, Node, NodeKind, Op, While};
use crate::{Result, Tensor, Variable};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// How an `Assign` node updates its variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AssignMode {
    /// `assign`
    Set,
    /// `assign_add`
    Add,
    /// `assign_sub`
    Sub,
}

/// A graph under construction.
#[derive(Default)]
pub struct Builder {
    slots: HashMap<u64, usize>,
    /// Per slot: true for captured constants (not traced values).
    constant: Vec<bool>,
    /// Per slot: a traced value computed from constants alone (ops on a captured tensor): its
    /// value is the same on every run, so Python may read it while tracing.
    known: Vec<bool>,
    specs: Vec<(crate::DType, Vec<usize>)>,
    nodes: Vec<Node>,
    consts: Vec<Tensor>,
    variables: Vec<Variable>,
    var_index: HashMap<u64, usize>,
    inputs: Vec<usize>,
    /// Values of variables assigned while tracing, as they were before: tracing runs the
    /// assignments on real values, and they are undone when the trace ends (the graph run
    /// that follows applies them once).
    saved: Vec<(Variable, Tensor)>,
    /// A sub-graph (a loop's condition or body): values traced by the enclosing traces are
    /// read through extra inputs rather than captured as constants.
    sub: bool,
    /// The enclosing values behind those extra inputs, in order.
    captures: Vec<Tensor>,
    /// Some op traced here has a custom gradient that the graph cannot hold.
    custom_gradient: bool,
    /// Sizes standing for `None` dimensions (see `graph::poly`): an op whose result has one
    /// is traced even when its inputs are constants (`ones_like` of a traced value).
    markers: Vec<usize>,
    /// Tensors with smaller identities were made before the trace began (0 in sub-graphs and
    /// graphs rstf traces itself; see [`begin_function`]):
    /// the function captures them, as TensorFlow captures eager tensors, so ops on them are
    /// traced (a run reads them again and a tape outside sees the ops) rather than computed
    /// once into constants.
    start_id: u64,
}

thread_local! {
    static STACK: RefCell<Vec<Builder>> = const { RefCell::new(Vec::new()) };
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// True while a graph is being traced on this thread.
#[inline]
pub fn active() -> bool {
    DEPTH.with(|d| d.get()) > 0
}

fn with_top<R>(f: impl FnOnce(&mut Builder) -> R) -> Option<R> {
    with_top_outer(|b, _| f(b))
}

/// Runs `f` on the innermost builder and the ones enclosing it.
fn with_top_outer<R>(f: impl FnOnce(&mut Builder, &[Builder]) -> R) -> Option<R> {
    STACK.with(|s| {
        let mut st = s.borrow_mut();
        let (top, outer) = st.split_last_mut()?;
        Some(f(top, outer))
    })
}

/// True when `id` is traced by an enclosing trace that `top` may read from (through a chain of
/// sub-graphs), or captured by the function that encloses them.
fn outer_traced(top: &Builder, outer: &[Builder], id: &u64) -> bool {
    outer_value(top, outer, id).is_some()
}

/// For a value that `top`, a sub-graph, reads from its enclosing traces (see [`outer_traced`]):
/// whether it is known (the same on every run: a captured tensor, or one computed from
/// constants alone).
fn outer_value(top: &Builder, outer: &[Builder], id: &u64) -> Option<bool> {
    if !top.sub {
        return None;
    }
    for b in outer.iter().rev() {
        if b.traced(id) {
            return Some(b.known_value(id));
        }
        if !b.sub {
            return (*id < b.start_id).then_some(true);
        }
    }
    None
}

impl Builder {
    fn value(&mut self, t: &Tensor) -> usize {
        let n = self.specs.len();
        self.specs.push((t.dtype(), t.shape().to_vec()));
        self.constant.push(false);
        self.known.push(false);
        self.slots.insert(t.id(), n);
        n
    }

    fn traced(&self, id: &u64) -> bool {
        self.slots.get(id).is_some_and(|&s| !self.constant[s])
    }

    fn known_value(&self, id: &u64) -> bool {
        self.slots.get(id).is_some_and(|&s| self.known[s])
    }

    /// The slot holding `t`: a traced value, a value of an enclosing trace (a sub-graph
    /// input), or a new constant.
    fn slot_of(&mut self, t: &Tensor, outer: &[Builder]) -> usize {
        if let Some(&s) = self.slots.get(&t.id()) {
            return s;
        }
        if let Some(known) = outer_value(self, outer, &t.id()) {
            let s = self.value(t);
            self.known[s] = known;
            self.inputs.push(s);
            self.captures.push(t.clone());
            return s;
        }
        let c = self.consts.len();
        self.consts.push(t.clone());
        let out = self.value(t);
        self.constant[out] = true;
        self.nodes.push(Node {
            kind: NodeKind::Const(c),
            inputs: vec![],
            outputs: vec![out],
        });
        out
    }

    fn variable(&mut self, v: &Variable) -> usize {
        let n = self.variables.len();
        *self.var_index.entry(v.id()).or_insert_with(|| {
            self.variables.push(v.clone());
            n
        })
    }
}

/// Starts tracing on this thread (traces nest: the innermost one records).
pub fn begin() {
    begin_capturing_before(0);
}

/// Starts tracing a function written by a user: tensors made before this call that it uses
/// are captured (see `Builder::start_id`), as TensorFlow captures eager tensors.
pub fn begin_function() {
    begin_capturing_before(crate::tensor::next_id());
}

/// Starts tracing with the tensors whose identities are below `id` captured (a replay of a
/// graph keeps the captures of the trace it replays).
pub fn begin_capturing_before(id: u64) {
    let b = Builder {
        start_id: id,
        ..Builder::default()
    };
    STACK.with(|s| s.borrow_mut().push(b));
    DEPTH.with(|d| d.set(d.get() + 1));
}

/// Starts tracing a sub-graph (a loop's condition or body): values traced by the enclosing
/// traces become its inputs ([`finish_sub`] returns them).
pub fn begin_sub() {
    STACK.with(|s| {
        let mut st = s.borrow_mut();
        let markers = st.last().map(|b| b.markers.clone()).unwrap_or_default();
        st.push(Builder {
            sub: true,
            markers,
            ..Builder::default()
        })
    });
    DEPTH.with(|d| d.set(d.get() + 1));
}

/// Sets the sizes that stand for `None` dimensions in the innermost trace.
pub fn set_markers(markers: &[usize]) {
    with_top(|b| b.markers = markers.to_vec());
}

/// True when a trace with markers is active and one of `outputs` has a marker in its shape.
pub(crate) fn shape_marked(outputs: &[Tensor]) -> bool {
    active()
        && with_top(|b| {
            !b.markers.is_empty()
                && outputs.iter().any(|o| {
                    o.shape()
                        .iter()
                        .any(|&d| super::poly::follows(d, &b.markers))
                })
        })
        .unwrap_or(false)
}

/// Abandons the innermost trace.
pub fn abort() {
    let b = STACK.with(|s| s.borrow_mut().pop());
    DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    if let Some(b) = b {
        restore(&b.saved);
    }
}

fn restore(saved: &[(Variable, Tensor)]) {
    for (v, t) in saved.iter().rev() {
        v.restore(t.clone());
    }
}

/// Marks the graph being traced as holding the forward pass of a custom gradient (see
/// [`Graph::custom_gradient`]).
pub(crate) fn mark_custom_gradient() {
    with_top(|b| b.custom_gradient = true);
}

/// Makes `t` (a new identity of the value `old`) name the same traced value.
pub(crate) fn alias(old: u64, t: &Tensor) {
    with_top(|b| {
        if let Some(&s) = b.slots.get(&old) {
            b.slots.insert(t.id(), s);
        }
    });
}

/// Registers a traced input; returns the tensor to hand to the traced code (same values, a
/// new identity, so two arguments never alias).
pub fn input(t: &Tensor) -> Tensor {
    let x = t.detach();
    with_top(|b| {
        let s = b.value(&x);
        b.inputs.push(s);
    });
    x
}

/// True when some input is a traced value.
pub fn tracks_any(ids: &[u64]) -> bool {
    active()
        && with_top_outer(|b, outer| ids.iter().any(|i| b.traced(i) || outer_traced(b, outer, i)))
            .unwrap_or(false)
}

/// True when the innermost trace captures one of `ids`: a tensor made before a function's
/// trace began (see `Builder::start_id`).
pub fn captures_any(ids: &[u64]) -> bool {
    active() && with_top(|b| ids.iter().any(|&i| i < b.start_id)).unwrap_or(false)
}

/// True when `t` is a traced (symbolic) value: its data is only an example (a value computed
/// from constants and captured tensors alone is not: it is the same on every run).
pub fn is_symbolic(t: &Tensor) -> bool {
    let id = t.id();
    active()
        && with_top_outer(|b, outer| {
            for b in std::iter::once(&*b).chain(outer.iter().rev()) {
                if b.traced(&id) {
                    return !b.known_value(&id);
                }
                if !b.sub {
                    return false;
                }
            }
            false
        })
        .unwrap_or(false)
}

/// With `RSTF_CHECK_INFER=1`: panics when [`Op::infer`] disagrees with the dtypes and shapes
/// the op's kernel gave (a bug in the op's shape rule), so that tests catch it.
fn check_infer(op: &Op, inputs: &[&Tensor], outputs: &[Tensor]) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if !*ON.get_or_init(|| std::env::var("RSTF_CHECK_INFER").is_ok_and(|v| v == "1")) {
        return;
    }
    let spec = |t: &Tensor| super::Spec::known(t.dtype(), t.shape());
    let ins: Vec<_> = inputs.iter().map(|t| spec(t)).collect();
    let want: Vec<_> = outputs.iter().map(spec).collect();
    // An unknown dimension is right for any size (the sizes of a split's parts depend on
    // the values).
    let fits = |g: &super::Spec, w: &super::Spec| {
        g.dtype == w.dtype
            && g.dims.len() == w.dims.len()
            && g.dims
                .iter()
                .zip(&w.dims)
                .all(|(a, b)| a.is_none() || a == b)
    };
    match op.infer(&ins) {
        Ok(got) if got.len() == want.len() && got.iter().zip(&want).all(|(g, w)| fits(g, w)) => {}
        got => panic!("{op}: inferred {got:?} for inputs {ins:?}, but the kernel gave {want:?}"),
    }
}

pub(crate) fn record(op: &Op, inputs: &[&Tensor], outputs: &[Tensor]) {
    check_infer(op, inputs, outputs);
    with_top_outer(|b, outer| {
        let ins: Vec<usize> = inputs.iter().map(|t| b.slot_of(t, outer)).collect();
        let known = !ins.is_empty()
            && ins.iter().all(|&s| b.constant[s] || b.known[s])
            && !outputs.iter().any(|o| {
                o.shape()
                    .iter()
                    .any(|&d| super::poly::follows(d, &b.markers))
            });
        let outs: Vec<usize> = outputs.iter().map(|t| b.value(t)).collect();
        for &o in &outs {
            b.known[o] = known;
        }
        b.nodes.push(Node {
            kind: NodeKind::Op(op.clone()),
            inputs: ins,
            outputs: outs,
        });
    });
}

/// Records an op with no inputs whose result must be recomputed on every run (random
/// numbers); `out` gets a new identity and becomes a traced value.
pub(crate) fn record_source(op: Op, out: &mut Tensor) {
    if !active() {
        return;
    }
    out.renew_id();
    with_top(|b| {
        let o = b.value(out);
        b.nodes.push(Node {
            kind: NodeKind::Op(op),
            inputs: vec![],
            outputs: vec![o],
        });
    });
}

/// Records a call of `cb` on `inputs` giving `outputs` (computed now, while tracing, by the
/// caller), which get new identities and become traced values. Nothing happens outside a
/// trace.
pub fn record_callback(cb: super::Callback, inputs: &[&Tensor], outputs: &mut [Tensor]) {
    if !active() {
        return;
    }
    for o in outputs.iter_mut() {
        o.renew_id();
    }
    with_top_outer(|b, outer| {
        let ins: Vec<usize> = inputs.iter().map(|t| b.slot_of(t, outer)).collect();
        let outs: Vec<usize> = outputs.iter().map(|t| b.value(t)).collect();
        b.nodes.push(Node {
            kind: NodeKind::Callback(cb),
            inputs: ins,
            outputs: outs,
        });
    });
}

/// Records a read of `v` whose value is `t` (see [`Variable::read`]).
pub(crate) fn variable_read(v: &Variable, t: &Tensor) {
    if !active() {
        return;
    }
    with_top(|b| {
        let i = b.variable(v);
        let out = b.value(t);
        b.nodes.push(Node {
            kind: NodeKind::ReadVariable(i),
            inputs: vec![],
            outputs: vec![out],
        });
    });
}

pub(crate) fn assign(v: &Variable, mode: AssignMode, value: &Tensor) {
    if !active() {
        return;
    }
    with_top_outer(|b, outer| {
        if !b.saved.iter().any(|(w, _)| w.same(v)) {
            b.saved.push((v.clone(), v.peek()));
        }
        let i = b.variable(v);
        let s = b.slot_of(value, outer);
        b.nodes.push(Node {
            kind: NodeKind::Assign(i, mode),
            inputs: vec![s],
            outputs: vec![],
        });
    });
}

/// The number of assignments and updates the innermost trace has recorded so far (loops'
/// included), or 0 outside a trace.
pub fn effects() -> usize {
    with_top(|b| b.nodes.iter().filter(|n| n.kind.has_effects()).count()).unwrap_or(0)
}

/// Records an optimizer update of `var` and its slots by `rule` as one node reading
/// `[lr, step, grad]` (see [`crate::optim::apply_one`]), and applies it now to the values
/// being traced; like assignments, it is undone when the trace ends and the graph's runs
/// apply it.
pub(crate) fn update(
    rule: &crate::optim::Rule,
    lr: &Tensor,
    step: &Tensor,
    var: &Variable,
    grad: &Tensor,
    slots: &[Variable],
) -> Result<()> {
    with_top_outer(|b, outer| {
        let mut vars = Vec::with_capacity(1 + slots.len());
        for v in std::iter::once(var).chain(slots) {
            if !b.saved.iter().any(|(w, _)| w.same(v)) {
                b.saved.push((v.clone(), v.peek()));
            }
            vars.push(b.variable(v));
        }
        let inputs = [lr, step, grad].map(|t| b.slot_of(t, outer)).to_vec();
        b.nodes.push(Node {
            kind: NodeKind::Update(rule.clone(), vars),
            inputs,
            outputs: vec![],
        });
    });
    suspended(|| crate::optim::apply_one(rule, lr, step, var, grad, slots))
}

/// Turns tracing off on this thread (the traces stay) until [`resume`] is given the depth
/// this returns: `tf.init_scope`, and a Python callback's run while tracing.
pub fn suspend() -> usize {
    DEPTH.with(|d| d.replace(0))
}

/// Ends a [`suspend`].
pub fn resume(depth: usize) {
    DEPTH.with(|d| d.set(depth));
}

/// Runs `f` with tracing off on this thread (the traces stay, and resume after it).
fn suspended<R>(f: impl FnOnce() -> R) -> R {
    struct Resume(usize);
    impl Drop for Resume {
        fn drop(&mut self) {
            DEPTH.with(|d| d.set(self.0));
        }
    }
    let _resume = Resume(DEPTH.with(|d| d.replace(0)));
    f()
}

/// Ends the innermost trace: `outputs` become the graph's results (constants if untraced).
pub fn finish(outputs: &[Tensor]) -> Result<Graph> {
    finish_sub(outputs).map(|(g, _)| g)
}

/// Ends the innermost trace; also returns the enclosing values a sub-graph reads (its inputs
/// after the ones registered with [`input`]).
pub fn finish_sub(outputs: &[Tensor]) -> Result<(Graph, Vec<Tensor>)> {
    let outs = with_top_outer(|b, outer| {
        outputs
            .iter()
            .map(|t| b.slot_of(t, outer))
            .collect::<Vec<usize>>()
    });
    let b = STACK.with(|s| s.borrow_mut().pop());
    DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    let (Some(b), Some(outs)) = (b, outs) else {
        return Err(crate::Error::Internal("finish: no trace is active".into()));
    };
    restore(&b.saved);
    let mut g = Graph {
        inputs: b.inputs,
        outputs: outs,
        nodes: b.nodes,
        consts: b.consts,
        variables: b.variables,
        specs: b.specs,
        last_use: Vec::new(),
        primitive_nodes: Vec::new(),
        check_specs: false,
        custom_gradient: b.custom_gradient,
        captured_before: b.start_id,
        symbols: Vec::new(),
        specialised: Default::default(),
    };
    g.optimize();
    Ok((g, b.captures))
}

/// Runs a loop, or, when its inputs are traced, adds it to the innermost trace as one node.
/// `vars` are the initial loop variables and `captures` the values its condition and body
/// read (as [`finish_sub`] returned them; for a gradient node, then the gradients of the
/// loop's results). A traced loop's results are examples shaped as its outputs. A recording
/// tape that tracks the inputs records the loop as one op whose gradient is the loop's
/// gradient node (see [`While::grad`]); the variables the body reads are then read once before
/// the loop and passed in, so that they get gradients too.
pub fn record_while(w: While, vars: &[Tensor], captures: &[Tensor]) -> Result<Vec<Tensor>> {
    let all: Vec<&Tensor> = vars.iter().chain(captures).collect();
    let ids: Vec<u64> = all.iter().map(|t| t.id()).collect();
    if !tracks_any(&ids) && !captures_any(&ids) {
        let ins: Vec<Tensor> = all.into_iter().cloned().collect();
        return w.run(&ins);
    }
    if w.grad.is_some() {
        if crate::autodiff::taped(&ids) {
            return Err(crate::Error::Unimplemented(
                "while_loop: higher-order gradients through a loop whose condition depends on a traced tensor are not supported inside rstf.function".into(),
            ));
        }
        return Ok(add_while(w, vars, captures));
    }
    if !crate::autodiff::is_recording() {
        return Ok(add_while(w, vars, captures));
    }
    let (w, lifted) = w.lift_variable_reads()?;
    let mut inputs: Vec<Tensor> = vars.iter().chain(captures).cloned().collect();
    inputs.extend(lifted.iter().map(Variable::read));
    let n = w.n_vars;
    let outs = add_while(w.clone(), &inputs[..n], &inputs[n..]);
    let refs: Vec<&Tensor> = inputs.iter().collect();
    let rule_inputs = inputs.clone();
    crate::autodiff::record_on_tapes("While", &refs, &outs, move |_| {
        crate::autodiff::rule(move |g, _| {
            if w.has_effects() {
                // The gradient node would run the body again, and its assignments with it.
                return Err(crate::Error::Unimplemented(
                    "while_loop: a tape cannot yet differentiate, inside rstf.function, a loop whose body assigns variables; move the assignments out of the loop or the tape".into(),
                ));
            }
            let mut rest = rule_inputs[n..].to_vec();
            rest.extend(g.iter().cloned());
            let res = record_while(w.gradient()?, &rule_inputs[..n], &rest)?;
            let mut out: Vec<Option<Tensor>> = res[..n].iter().cloned().map(Some).collect();
            out.extend(std::iter::repeat_n(None, w.n_cond_captures));
            out.extend(res[n..].iter().cloned().map(Some));
            Ok(out)
        })
    });
    Ok(outs)
}

/// Adds a loop node reading `vars` and `captures` to the innermost trace; returns examples of
/// its results.
fn add_while(w: While, vars: &[Tensor], captures: &[Tensor]) -> Vec<Tensor> {
    let outs: Vec<Tensor> = if w.grad.is_none() {
        vars.iter().map(|v| v.detach()).collect()
    } else {
        w.io_specs()
            .1
            .iter()
            .map(|(dt, shape)| Tensor::zeros(shape, *dt).unwrap_or_else(|_| vars[0].detach()))
            .collect()
    };
    let all: Vec<&Tensor> = vars.iter().chain(captures).collect();
    with_top_outer(|b, outer| {
        let ins: Vec<usize> = all.iter().map(|t| b.slot_of(t, outer)).collect();
        let os: Vec<usize> = outs.iter().map(|t| b.value(t)).collect();
        b.nodes.push(Node {
            kind: NodeKind::While(Box::new(w)),
            inputs: ins,
            outputs: os,
        });
    });
    outs
}
