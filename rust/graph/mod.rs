//! Graphs of traced functions: an IR of primitive ops over numbered values, optimisation passes
//! (dead-code removal, common-subexpression elimination; constants are folded while tracing),
//! and an executor that runs a graph with no Python between ops.
//!
//! ```
//! use rstf::{graph::trace, Tensor};
//! let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap();
//! trace::begin();
//! let xi = trace::input(&x);
//! let y = xi.mul(&xi).unwrap().add(&xi).unwrap();
//! let g = trace::finish(&[y]).unwrap();
//! let out = g.run(&[Tensor::from_vec(vec![2.0f32, 3.0, 4.0], &[3]).unwrap()]).unwrap();
//! assert_eq!(out[0].to_vec::<f32>().unwrap(), vec![6.0, 12.0, 20.0]);
//! ```

mod control;
pub(crate) mod fuse;
pub(crate) mod infer;
mod op;
pub(crate) mod poly;
pub mod trace;

pub use control::While;
pub use fuse::{Arg, Fused};
pub use infer::{show as show_dims, Dim, Spec};
pub use op::Op;
pub use trace::AssignMode;

use crate::dtype::DType;
use crate::{bail, Result, Tensor, Variable};
use std::collections::HashMap;

/// What a node does.
#[derive(Clone, Debug)]
pub enum NodeKind {
    /// A primitive op.
    Op(Op),
    /// The graph's constant number `i`.
    Const(usize),
    /// Reads the graph's variable number `i` (by reference: the current value).
    ReadVariable(usize),
    /// Updates the graph's variable number `i` with the node's one input.
    Assign(usize, AssignMode),
    /// An optimizer update of the graph's variables `vars` (the variable, then its slots),
    /// reading `[learning rate, step, gradient]`.
    Update(crate::optim::Rule, Vec<usize>),
    /// A chain of elementwise ops run in one pass.
    Fused(Fused),
    /// A loop over sub-graphs.
    While(Box<While>),
    /// A host function called at run time, in program order; never merged or dropped.
    Callback(Callback),
}

/// The function of a [`NodeKind::Callback`]: a Python function that a traced function calls
/// (`tf.print`, `tf.py_function`). It receives the node's inputs and returns its outputs.
#[derive(Clone)]
pub struct Callback {
    /// The op name it shows as (`PrintV2`, `EagerPyFunc`).
    pub name: String,
    /// The function.
    pub f: CallbackFn,
}

/// The function type of a [`Callback`].
pub type CallbackFn = std::sync::Arc<dyn Fn(&[Tensor]) -> Result<Vec<Tensor>> + Send + Sync>;

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Callback({})", self.name)
    }
}

impl NodeKind {
    /// TensorFlow's name for the node's op (`ReadVariableOp`, `Const`, `AddV2`, ...).
    pub fn type_name(&self) -> &str {
        match self {
            NodeKind::Op(op) => op.name(),
            NodeKind::Const(_) => "Const",
            NodeKind::ReadVariable(_) => "ReadVariableOp",
            NodeKind::Assign(_, AssignMode::Set) => "AssignVariableOp",
            NodeKind::Assign(_, AssignMode::Add) => "AssignAddVariableOp",
            NodeKind::Assign(_, AssignMode::Sub) => "AssignSubVariableOp",
            NodeKind::Update(rule, _) => rule.op_name(),
            NodeKind::Fused(_) => "Fused",
            NodeKind::While(_) => "While",
            NodeKind::Callback(c) => &c.name,
        }
    }

    /// True for nodes that change state or the outside world (kept even when unused).
    pub fn has_effects(&self) -> bool {
        match self {
            NodeKind::Assign(..) | NodeKind::Update(..) | NodeKind::Callback(_) => true,
            NodeKind::While(w) => w.has_effects(),
            _ => false,
        }
    }
}

/// One node: its kind and the value slots it reads and writes.
#[derive(Clone, Debug)]
pub struct Node {
    /// What the node does.
    pub kind: NodeKind,
    /// Slots read.
    pub inputs: Vec<usize>,
    /// Slots written.
    pub outputs: Vec<usize>,
}

/// A traced function: nodes in execution order over value slots.
#[derive(Clone, Debug)]
pub struct Graph {
    /// Slots that receive the arguments.
    pub inputs: Vec<usize>,
    /// Slots returned.
    pub outputs: Vec<usize>,
    /// The nodes, in order.
    pub nodes: Vec<Node>,
    /// Captured constants.
    pub consts: Vec<Tensor>,
    /// Captured variables.
    pub variables: Vec<Variable>,
    /// dtype and shape of each slot as traced.
    pub specs: Vec<(DType, Vec<usize>)>,
    /// Index of the node that reads each slot last (`usize::MAX`: never, or an output).
    pub last_use: Vec<usize>,
    /// The nodes before fusion: primitive ops only (what a saved model stores).
    pub primitive_nodes: Vec<Node>,
    /// Check each op's result against the traced dtype and shape (on for graphs read from
    /// files, whose specs are not trusted).
    pub check_specs: bool,
    /// The graph runs the forward pass of a custom gradient: tapes outside it would
    /// differentiate the forward ops instead of the custom rule, so running it under a
    /// recording tape is refused.
    pub custom_gradient: bool,
    /// Constants with identities below this are tensors the function captured (see
    /// `trace::Builder`): each stays its own node, so that a run reads that very tensor.
    pub captured_before: u64,
    /// The marker sizes standing for `None` dimensions in a shape-polymorphic graph (empty
    /// otherwise); see [`Graph::make_polymorphic`].
    pub symbols: Vec<usize>,
    /// Specialisations of a polymorphic graph to the sizes it was called with.
    pub specialised: poly::Specialised,
}

impl Graph {
    /// Runs the graph. Ops go through the public tensor methods, so an active tape records
    /// them (gradients flow through a graph call). A panic inside (a bug) is an
    /// [`Error::Internal`](crate::Error::Internal), never an abort.
    pub fn run(&self, args: &[Tensor]) -> Result<Vec<Tensor>> {
        crate::error::catch_panic(|| "graph".into(), || self.run_unguarded(args))
    }

    /// The graph reading and writing `to` wherever it read or wrote `from`, for each pair
    /// `(from, to)` at once (so two pairs may swap variables), loop sub-graphs included: a
    /// traced function called with other variables of the same dtypes and shapes.
    pub fn rebind_variables(&self, pairs: &[(Variable, Variable)]) -> Result<Graph> {
        for (from, to) in pairs {
            if from.dtype() != to.dtype() || from.shape() != to.shape() {
                bail!(
                    "graph: variable '{}' ({} {:?}) cannot stand for '{}' ({} {:?}): a traced graph takes variables of the dtype and shape it was traced with",
                    to.name(),
                    to.dtype(),
                    to.shape(),
                    from.name(),
                    from.dtype(),
                    from.shape()
                );
            }
        }
        let mut g = self.clone();
        g.rebind(pairs);
        Ok(g)
    }

    fn rebind(&mut self, pairs: &[(Variable, Variable)]) {
        for v in self.variables.iter_mut() {
            if let Some((_, to)) = pairs.iter().find(|(from, _)| from.same(v)) {
                *v = to.clone();
            }
        }
        for n in self.nodes.iter_mut().chain(self.primitive_nodes.iter_mut()) {
            if let NodeKind::While(w) = &mut n.kind {
                w.cond.rebind(pairs);
                w.body.rebind(pairs);
                if let Some(g) = &mut w.grad {
                    g.rebind(pairs);
                }
            }
        }
        // Specialisations are shared between clones and hold the old variables.
        self.specialised = Default::default();
    }

    fn run_unguarded(&self, args: &[Tensor]) -> Result<Vec<Tensor>> {
        // A graph read from a file runs under the limits of `crate::limits`.
        let _limits = if self.check_specs {
            let bytes = args
                .iter()
                .map(|a| a.numel() as u64 * a.dtype().size() as u64);
            crate::limits::enter(bytes.sum())
        } else {
            None
        };
        if args.len() != self.inputs.len() {
            bail!(
                "graph: expected {} arguments, got {}",
                self.inputs.len(),
                args.len()
            );
        }
        if let Some(sizes) = self.bind(args)? {
            return self.specialised(sizes, args)?.run(args);
        }
        if self.custom_gradient {
            if crate::autodiff::is_recording() {
                return Err(crate::Error::Unimplemented(
                    "rstf.function: this function uses custom_gradient, which tapes outside it cannot differentiate yet; put the GradientTape inside the function".into(),
                ));
            }
            trace::mark_custom_gradient();
        }
        let mut vals: Vec<Option<Tensor>> = vec![None; self.specs.len()];
        for (i, (&slot, a)) in self.inputs.iter().zip(args).enumerate() {
            let (dt, shape) = &self.specs[slot];
            if a.dtype() != *dt || a.shape() != shape.as_slice() {
                bail!(
                    "graph: argument {i} has dtype {} and shape {:?}, but the graph was traced for dtype {dt} and shape {shape:?}",
                    a.dtype(),
                    a.shape()
                );
            }
            vals[slot] = Some(a.clone());
        }
        let last = &self.last_use;
        let mut ins: Vec<Tensor> = Vec::with_capacity(4);
        for (k, node) in self.nodes.iter().enumerate() {
            ins.clear();
            for (j, &s) in node.inputs.iter().enumerate() {
                // A value read for the last time moves into the node (when the node reads it
                // once), so a node may reuse its buffer when nothing else holds it.
                let last_read = last[s] == k && !node.inputs[j + 1..].contains(&s);
                let v = if last_read {
                    vals[s].take()
                } else {
                    vals[s].clone()
                };
                match v {
                    Some(t) => ins.push(t),
                    None => {
                        return Err(crate::Error::Internal(format!(
                            "graph: slot %{s} is empty at node {k}"
                        )))
                    }
                }
            }
            match &node.kind {
                NodeKind::Op(op) => {
                    if self.check_specs {
                        for &s in &node.outputs {
                            let (dt, shape) = &self.specs[s];
                            let bytes = shape.iter().map(|&d| d as u128).product::<u128>()
                                * dt.size() as u128;
                            crate::limits::check_value(bytes, op.name())?;
                        }
                    }
                    let res = op.eval(&ins)?;
                    if self.check_specs {
                        self.check(k, op, &node.outputs, &res)?;
                    }
                    for (&s, t) in node.outputs.iter().zip(res) {
                        vals[s] = Some(t);
                    }
                }
                NodeKind::Fused(f) => {
                    vals[node.outputs[0]] = Some(f.eval_owned(std::mem::take(&mut ins))?)
                }
                NodeKind::While(w) => {
                    let n = w.n_vars;
                    let res = trace::record_while((**w).clone(), &ins[..n], &ins[n..])?;
                    for (&s, t) in node.outputs.iter().zip(res) {
                        vals[s] = Some(t);
                    }
                }
                NodeKind::Const(c) => vals[node.outputs[0]] = Some(self.consts[*c].clone()),
                NodeKind::ReadVariable(v) => {
                    let t = self.variables[*v].read();
                    let (dt, shape) = &self.specs[node.outputs[0]];
                    if self.check_specs && (t.dtype() != *dt || t.shape() != shape.as_slice()) {
                        bail!(
                            "graph: variable '{}' has dtype {} and shape {:?}, but the graph reads it as dtype {dt} and shape {shape:?}",
                            self.variables[*v].name(),
                            t.dtype(),
                            t.shape()
                        );
                    }
                    vals[node.outputs[0]] = Some(t)
                }
                NodeKind::Assign(..) | NodeKind::Update(..) => self.effect(&node.kind, &ins)?,
                NodeKind::Callback(c) => {
                    let res = (c.f)(&ins)?;
                    if res.len() != node.outputs.len() {
                        bail!(
                            "{}: the function returned {} values, but {} were traced",
                            c.name,
                            res.len(),
                            node.outputs.len()
                        );
                    }
                    for (&s, t) in node.outputs.iter().zip(res) {
                        let dt = self.specs[s].0;
                        if t.dtype() != dt {
                            bail!(
                                "{}: the function returned a {} tensor where {dt} was declared",
                                c.name,
                                t.dtype()
                            );
                        }
                        vals[s] = Some(t);
                    }
                }
            }
            // Free values after their last use, so their buffers can be reused.
            for &s in &node.inputs {
                if last[s] == k {
                    vals[s] = None;
                }
            }
        }
        self.results(&vals)
    }

    /// Runs an assignment or an optimizer update on its inputs `ins`.
    fn effect(&self, kind: &NodeKind, ins: &[Tensor]) -> Result<()> {
        match kind {
            NodeKind::Assign(v, mode) => {
                let var = &self.variables[*v];
                match mode {
                    AssignMode::Set => var.assign(&ins[0]),
                    AssignMode::Add => var.assign_add(&ins[0]),
                    AssignMode::Sub => var.assign_sub(&ins[0]),
                }
            }
            NodeKind::Update(rule, vars) => {
                let slots: Vec<Variable> = vars[1..]
                    .iter()
                    .map(|&i| self.variables[i].clone())
                    .collect();
                let var = &self.variables[vars[0]];
                crate::optim::apply_one(rule, &ins[0], &ins[1], var, &ins[2], &slots)
            }
            _ => Err(crate::Error::Internal("graph: not an assignment".into())),
        }
    }

    /// The output values out of the slots.
    fn results(&self, vals: &[Option<Tensor>]) -> Result<Vec<Tensor>> {
        self.outputs
            .iter()
            .map(|&s| {
                vals[s].clone().ok_or_else(|| {
                    crate::Error::Internal(format!("graph: output %{s} was not computed"))
                })
            })
            .collect()
    }

    /// A traced shape as text, `None` for a polymorphic dimension.
    fn dims_text(&self, shape: &[usize]) -> String {
        let dims: Vec<String> = shape
            .iter()
            .map(|d| match self.symbols.contains(d) {
                true => "None".to_string(),
                false => d.to_string(),
            })
            .collect();
        dims.join(", ")
    }

    fn check(&self, k: usize, op: &Op, outs: &[usize], res: &[Tensor]) -> Result<()> {
        if outs.len() != res.len() {
            bail!(
                "graph: node {k} ({}) gives {} results, but the graph expects {}",
                op.name(),
                res.len(),
                outs.len()
            );
        }
        for (&s, t) in outs.iter().zip(res) {
            let (dt, shape) = &self.specs[s];
            if t.dtype() != *dt || t.shape() != shape.as_slice() {
                bail!(
                    "graph: node {k} ({}) gives dtype {} and shape {:?}, but the graph declares dtype {dt} and shape {shape:?}",
                    op.name(),
                    t.dtype(),
                    t.shape()
                );
            }
        }
        Ok(())
    }

    fn set_last_uses(&mut self) {
        let mut last = vec![usize::MAX; self.specs.len()];
        for (k, n) in self.nodes.iter().enumerate() {
            for &s in &n.inputs {
                last[s] = k;
            }
        }
        for &s in &self.outputs {
            last[s] = usize::MAX;
        }
        self.last_use = last;
    }

    /// The name of a Python callback the graph (or a loop inside it) calls, if any.
    pub fn callback_name(&self) -> Option<&str> {
        self.nodes.iter().find_map(|n| match &n.kind {
            NodeKind::Callback(c) => Some(c.name.as_str()),
            NodeKind::While(w) => [&w.cond, &w.body]
                .into_iter()
                .chain(w.grad.as_deref())
                .find_map(|g| g.callback_name()),
            _ => None,
        })
    }

    /// Number of ops run (ops inside fused nodes counted; constants and variable reads not).
    pub fn op_count(&self) -> usize {
        self.nodes
            .iter()
            .map(|n| match &n.kind {
                NodeKind::Op(_) | NodeKind::Update(..) | NodeKind::Callback(_) => 1,
                NodeKind::Fused(f) => f.code.len(),
                NodeKind::While(w) => w.op_count(),
                _ => 0,
            })
            .sum()
    }

    /// Runs the passes: common subexpressions merged, dead nodes removed, elementwise chains
    /// fused.
    pub fn optimize(&mut self) {
        self.cse();
        self.dce();
        self.primitive_nodes = self.nodes.clone();
        self.fuse();
        self.set_last_uses();
    }

    /// Merges nodes that apply the same op to the same inputs (variable reads are kept: an
    /// assignment may sit between two of them).
    fn cse(&mut self) {
        let mut seen: HashMap<String, Vec<usize>> = HashMap::new();
        let mut rename: Vec<usize> = (0..self.specs.len()).collect();
        let mut kept = Vec::with_capacity(self.nodes.len());
        for mut n in std::mem::take(&mut self.nodes) {
            for s in n.inputs.iter_mut() {
                *s = rename[*s];
            }
            let key = match &n.kind {
                NodeKind::Op(op) => Some(format!("{op}{:?}", n.inputs)),
                NodeKind::Const(c) => {
                    let t = &self.consts[*c];
                    Some(
                        if t.numel() == 1 && t.rank() == 0 && t.id() >= self.captured_before {
                            // Scalars by value: each `0.01 * g` captures its own 0.01 (int64
                            // ones exactly: past 2^53 a float64 would merge neighbours).
                            let value = match t.dtype() {
                                DType::I64 => t.to_vec::<i64>().map(|v| v[0] as u64),
                                _ => t.item_f64().map(f64::to_bits),
                            };
                            format!("const {} {:?}", t.dtype(), value)
                        } else {
                            format!("const #{}", t.id())
                        },
                    )
                }
                _ => None,
            };
            if let Some(key) = key {
                if let Some(prev) = seen.get(&key) {
                    for (&o, &p) in n.outputs.iter().zip(prev) {
                        rename[o] = p;
                    }
                    continue;
                }
                seen.insert(key, n.outputs.clone());
            }
            kept.push(n);
        }
        self.nodes = kept;
        for s in self.outputs.iter_mut() {
            *s = rename[*s];
        }
    }

    /// Drops nodes whose results are never used (assignments always stay).
    fn dce(&mut self) {
        let mut live = vec![false; self.specs.len()];
        for &s in &self.outputs {
            live[s] = true;
        }
        let mut keep = vec![false; self.nodes.len()];
        for (k, n) in self.nodes.iter().enumerate().rev() {
            if n.kind.has_effects() || n.outputs.iter().any(|&o| live[o]) {
                keep[k] = true;
                for &s in &n.inputs {
                    live[s] = true;
                }
            }
        }
        let mut k = 0;
        self.nodes.retain(|_| {
            k += 1;
            keep[k - 1]
        });
    }
}

impl std::fmt::Display for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let spec = |s: usize| {
            let (dt, shape) = &self.specs[s];
            format!("%{s}: {dt}[{}]", self.dims_text(shape))
        };
        let ins: Vec<String> = self.inputs.iter().map(|&s| spec(s)).collect();
        writeln!(f, "graph({}) {{", ins.join(", "))?;
        for n in &self.nodes {
            let args: Vec<String> = n.inputs.iter().map(|s| format!("%{s}")).collect();
            let outs: Vec<String> = n.outputs.iter().map(|&s| spec(s)).collect();
            let what = match &n.kind {
                NodeKind::Op(op) => format!("{op}({})", args.join(", ")),
                NodeKind::Callback(c) => format!("{}({})", c.name, args.join(", ")),
                NodeKind::Fused(f) => {
                    let ops: Vec<String> = f.code.iter().map(|(op, _)| op.to_string()).collect();
                    format!("Fused[{}]({})", ops.join(" -> "), args.join(", "))
                }
                NodeKind::Const(c) => {
                    let t = &self.consts[*c];
                    if t.numel() == 1 {
                        format!("Const({})", t.item_f64().unwrap_or(f64::NAN))
                    } else {
                        format!("Const(<{} values>)", t.numel())
                    }
                }
                NodeKind::ReadVariable(v) => {
                    format!("ReadVariableOp('{}')", self.variables[*v].name())
                }
                NodeKind::While(w) => {
                    let indent = |g: &Graph| g.to_string().replace('\n', "\n    ");
                    let grad = w
                        .grad
                        .as_ref()
                        .map_or(String::new(), |g| format!("\n    gradient: {}", indent(g)));
                    format!(
                        "{}({}) {{\n    cond: {}\n    body: {}{grad}\n  }}",
                        if w.grad.is_some() {
                            "WhileGrad"
                        } else {
                            "While"
                        },
                        args.join(", "),
                        indent(&w.cond),
                        indent(&w.body)
                    )
                }
                NodeKind::Assign(v, mode) => format!(
                    "{}('{}', {})",
                    match mode {
                        AssignMode::Set => "AssignVariableOp",
                        AssignMode::Add => "AssignAddVariableOp",
                        AssignMode::Sub => "AssignSubVariableOp",
                    },
                    self.variables[*v].name(),
                    args.join(", ")
                ),
                NodeKind::Update(rule, vars) => {
                    let names: Vec<String> = vars
                        .iter()
                        .map(|&v| format!("'{}'", self.variables[v].name()))
                        .collect();
                    format!(
                        "{}({}, {})",
                        rule.op_name(),
                        names.join(", "),
                        args.join(", ")
                    )
                }
            };
            if outs.is_empty() {
                writeln!(f, "  {what}")?;
            } else {
                writeln!(f, "  {} = {what}", outs.join(", "))?;
            }
        }
        let outs: Vec<String> = self.outputs.iter().map(|s| format!("%{s}")).collect();
        writeln!(f, "  return {}", outs.join(", "))?;
        write!(f, "}}")
    }
}
