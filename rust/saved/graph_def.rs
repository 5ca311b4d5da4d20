//! [`GraphDef`]: a traced [`Graph`] as plain data (serialised as JSON inside a saved model), and
//! its validation on the way back. Only primitive nodes are stored (the graph before fusion);
//! a loaded graph is optimised again. Constants and variables are referred to by the keys of the
//! tensors that hold them in the saved model's safetensors files.
//!
//! ```
//! use rstf::{graph::trace, saved::graph_def::GraphDef, Tensor};
//! use std::collections::HashMap;
//! let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
//! trace::begin();
//! let xi = trace::input(&x);
//! let y = xi.mul(&Tensor::scalar(3.0f32)).unwrap();
//! let g = trace::finish(&[y]).unwrap();
//! let (def, consts) = GraphDef::from_graph(&g, "f0/", &mut |_| unreachable!());
//! let text = serde_json::to_string(&def).unwrap();
//! let back: GraphDef = serde_json::from_str(&text).unwrap();
//! let g2 = back.build("f", &consts.into_iter().collect(), &HashMap::new()).unwrap();
//! assert_eq!(g2.run(&[x]).unwrap()[0].to_vec::<f32>().unwrap(), vec![3.0, 6.0]);
//! ```

use crate::graph::{AssignMode, Graph, Node, NodeKind, Op, While};
use crate::optim::Rule;
use crate::{DType, Error, Result, Tensor, Variable};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Largest value a graph may declare, in bytes (a corrupted file must not ask for more).
const MAX_VALUE_BYTES: u128 = 1 << 36;

/// The dtype and shape of one value.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SpecDef {
    /// TensorFlow's name of the dtype.
    pub dtype: DType,
    /// The dimensions.
    pub shape: Vec<usize>,
}

/// What a node does.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum NodeOp {
    /// A primitive op with its attributes.
    Op(Op),
    /// Constant number `i` of the graph.
    Const(usize),
    /// Reads variable number `i`.
    ReadVariable(usize),
    /// Updates variable number `i` with the node's input.
    Assign(usize, AssignMode),
    /// An optimizer update of variables `variables` (the variable, then its slots), reading
    /// `[learning rate, step, gradient]`.
    Update {
        /// The rule and its hyperparameters.
        rule: Rule,
        /// The variable and its slots.
        variables: Vec<usize>,
    },
    /// A loop (see [`crate::graph::While`]); the sub-graphs name their own constants and
    /// variables.
    While {
        /// The condition.
        cond: Box<GraphDef>,
        /// The body.
        body: Box<GraphDef>,
        /// Number of loop variables.
        n_vars: usize,
        /// Number of inputs after the loop variables that go to the condition.
        n_cond_captures: usize,
        /// Iteration limit.
        max_iterations: Option<u64>,
        /// The body's vector-Jacobian product, for the gradient node of a loop.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grad: Option<Box<GraphDef>>,
    },
}

/// One node.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeDef {
    /// What the node does.
    pub op: NodeOp,
    /// Value numbers read.
    pub inputs: Vec<usize>,
    /// Value numbers written.
    pub outputs: Vec<usize>,
}

/// A graph as data.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphDef {
    /// Values that receive the arguments.
    pub inputs: Vec<usize>,
    /// Values returned.
    pub outputs: Vec<usize>,
    /// dtype and shape of every value.
    pub specs: Vec<SpecDef>,
    /// The nodes, in execution order.
    pub nodes: Vec<NodeDef>,
    /// Keys of the constants' tensors.
    pub constants: Vec<String>,
    /// Keys of the variables.
    pub variables: Vec<String>,
    /// Sizes standing for `None` dimensions in a shape-polymorphic graph.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symbols: Vec<usize>,
}

impl GraphDef {
    /// The definition of `g`. Constants are named `{prefix}{i}` and returned with their
    /// tensors; `var_key` names each captured variable.
    pub fn from_graph(
        g: &Graph,
        prefix: &str,
        var_key: &mut dyn FnMut(&Variable) -> String,
    ) -> (GraphDef, Vec<(String, Tensor)>) {
        let mut consts: Vec<(String, Tensor)> = Vec::new();
        let def = Self::encode(g, prefix, &mut consts, var_key);
        (def, consts)
    }

    fn encode(
        g: &Graph,
        prefix: &str,
        consts: &mut Vec<(String, Tensor)>,
        var_key: &mut dyn FnMut(&Variable) -> String,
    ) -> GraphDef {
        let mut keys: Vec<String> = Vec::new();
        let mut const_of: HashMap<usize, usize> = HashMap::new();
        let mut vars: Vec<String> = Vec::new();
        let mut var_of: HashMap<usize, usize> = HashMap::new();
        // The number of graph variable `v` in the definition's list.
        let mut var_index = |v: usize, key: &mut dyn FnMut(&Variable) -> String| {
            *var_of.entry(v).or_insert_with(|| {
                vars.push(key(&g.variables[v]));
                vars.len() - 1
            })
        };
        let mut nodes = Vec::with_capacity(g.primitive_nodes.len());
        for n in &g.primitive_nodes {
            let op = match &n.kind {
                NodeKind::Op(op) => NodeOp::Op(op.clone()),
                NodeKind::Const(c) => NodeOp::Const(*const_of.entry(*c).or_insert_with(|| {
                    let key = format!("{prefix}{}", consts.len());
                    consts.push((key.clone(), g.consts[*c].clone()));
                    keys.push(key);
                    keys.len() - 1
                })),
                NodeKind::ReadVariable(v) => NodeOp::ReadVariable(var_index(*v, var_key)),
                NodeKind::Assign(v, mode) => NodeOp::Assign(var_index(*v, var_key), *mode),
                NodeKind::Update(rule, vs) => NodeOp::Update {
                    rule: rule.clone(),
                    variables: vs.iter().map(|&v| var_index(v, var_key)).collect(),
                },
                NodeKind::While(w) => NodeOp::While {
                    cond: Box::new(Self::encode(&w.cond, prefix, consts, var_key)),
                    body: Box::new(Self::encode(&w.body, prefix, consts, var_key)),
                    n_vars: w.n_vars,
                    n_cond_captures: w.n_cond_captures,
                    max_iterations: w.max_iterations,
                    grad: w
                        .grad
                        .as_ref()
                        .map(|g| Box::new(Self::encode(g, prefix, consts, var_key))),
                },
                NodeKind::Fused(_) => unreachable!("primitive nodes are never fused"),
                NodeKind::Callback(_) => unreachable!("refused by SavedModel::save"),
            };
            nodes.push(NodeDef {
                op,
                inputs: n.inputs.clone(),
                outputs: n.outputs.clone(),
            });
        }
        GraphDef {
            inputs: g.inputs.clone(),
            outputs: g.outputs.clone(),
            specs: g
                .specs
                .iter()
                .map(|(dtype, shape)| SpecDef {
                    dtype: *dtype,
                    shape: shape.clone(),
                })
                .collect(),
            nodes,
            constants: keys,
            variables: vars,
            symbols: g.symbols.clone(),
        }
    }

    /// Validates the definition against the constants and variables it names and builds the
    /// (optimised) graph. `name` is used in error messages.
    pub fn build(
        &self,
        name: &str,
        consts_by_key: &HashMap<String, Tensor>,
        variables: &HashMap<String, Variable>,
    ) -> Result<Graph> {
        let consts = consts_by_key;
        let bad = |why: String| Error::DataLoss(format!("function '{name}': {why}"));
        let n_slots = self.specs.len();
        for (i, s) in self.specs.iter().enumerate() {
            let bytes = s
                .shape
                .iter()
                .try_fold(s.dtype.size() as u128, |a, &d| a.checked_mul(d as u128));
            if !matches!(bytes, Some(b) if b <= MAX_VALUE_BYTES) {
                return Err(bad(format!(
                    "value %{i} declares shape {:?}, too large",
                    s.shape
                )));
            }
        }
        let consts: Vec<Tensor> = self
            .constants
            .iter()
            .map(|k| {
                consts
                    .get(k)
                    .cloned()
                    .ok_or_else(|| bad(format!("constant '{k}' is missing")))
            })
            .collect::<Result<_>>()?;
        let vars: Vec<Variable> = self
            .variables
            .iter()
            .map(|k| {
                variables
                    .get(k)
                    .cloned()
                    .ok_or_else(|| bad(format!("variable '{k}' is missing")))
            })
            .collect::<Result<_>>()?;
        let mut defined = vec![false; n_slots];
        let define = |s: usize, defined: &mut Vec<bool>| -> Result<()> {
            match defined.get_mut(s) {
                None => Err(bad(format!(
                    "value %{s} is out of range ({n_slots} values)"
                ))),
                Some(true) => Err(bad(format!("value %{s} is written twice"))),
                Some(d) => {
                    *d = true;
                    Ok(())
                }
            }
        };
        for &s in &self.inputs {
            define(s, &mut defined)?;
        }
        let spec_is = |s: usize, dtype: DType, shape: &[usize]| {
            let sp = &self.specs[s];
            sp.dtype == dtype && sp.shape == shape
        };
        let mut nodes = Vec::with_capacity(self.nodes.len());
        for (k, n) in self.nodes.iter().enumerate() {
            for &s in &n.inputs {
                if !defined.get(s).copied().unwrap_or(false) {
                    return Err(bad(format!(
                        "node {k} reads value %{s} before it is written"
                    )));
                }
            }
            let (n_in, n_out) = match &n.op {
                NodeOp::Op(op) => (op.arity(n.inputs.len()), op_outputs(op, n, &self.specs)),
                NodeOp::Const(_) | NodeOp::ReadVariable(_) => (0, 1),
                NodeOp::Assign(..) => (1, 0),
                NodeOp::Update { .. } => (3, 0),
                NodeOp::While {
                    cond,
                    body,
                    n_vars,
                    grad,
                    ..
                } => {
                    let ins = (cond.inputs.len() + body.inputs.len()).saturating_sub(*n_vars);
                    match grad {
                        // The gradient node also reads the results' gradients and gives one
                        // per body input.
                        Some(_) => (ins + n_vars, body.inputs.len()),
                        None => (ins, *n_vars),
                    }
                }
            };
            if n.inputs.len() != n_in || n.outputs.len() != n_out {
                return Err(bad(format!(
                    "node {k} has {} inputs and {} outputs, but its op takes {n_in} and gives {n_out}",
                    n.inputs.len(),
                    n.outputs.len()
                )));
            }
            for &s in &n.outputs {
                define(s, &mut defined)?;
            }
            let kind = match &n.op {
                NodeOp::Op(op) => {
                    if let Some(shape) = attr_shape(op) {
                        if self.specs[n.outputs[0]].shape != shape {
                            return Err(bad(format!(
                                "node {k} ({}) makes shape {shape:?} but declares {:?}",
                                op.name(),
                                self.specs[n.outputs[0]].shape
                            )));
                        }
                    }
                    NodeKind::Op(op.clone())
                }
                NodeOp::Const(c) => {
                    let t = consts
                        .get(*c)
                        .ok_or_else(|| bad(format!("node {k} names constant {c}, out of range")))?;
                    if !spec_is(n.outputs[0], t.dtype(), t.shape()) {
                        return Err(bad(format!(
                            "constant {c} has dtype {} and shape {:?}, unlike its value's spec",
                            t.dtype(),
                            t.shape()
                        )));
                    }
                    NodeKind::Const(*c)
                }
                NodeOp::ReadVariable(v) | NodeOp::Assign(v, _) => {
                    let var = vars
                        .get(*v)
                        .ok_or_else(|| bad(format!("node {k} names variable {v}, out of range")))?;
                    let s = n.outputs.first().or(n.inputs.first()).copied().unwrap_or(0);
                    if self.specs[s].dtype != var.dtype() {
                        return Err(bad(format!(
                            "variable '{}' has dtype {}, but node {k} uses it as {}",
                            var.name(),
                            var.dtype(),
                            self.specs[s].dtype
                        )));
                    }
                    match &n.op {
                        NodeOp::Assign(_, mode) => NodeKind::Assign(*v, *mode),
                        _ => NodeKind::ReadVariable(*v),
                    }
                }
                NodeOp::Update { rule, variables } => {
                    if variables.len() != 1 + rule.slots() {
                        return Err(bad(format!(
                            "node {k} ({}) names {} variables, but its rule takes {}",
                            rule.op_name(),
                            variables.len(),
                            1 + rule.slots()
                        )));
                    }
                    if let Some(v) = variables.iter().find(|&&v| v >= vars.len()) {
                        return Err(bad(format!("node {k} names variable {v}, out of range")));
                    }
                    // The variable and its slots: distinct, alike, and alike to the gradient
                    // (inputs: learning rate, step, gradient); the rates are scalars.
                    let var = &vars[variables[0]];
                    let (dtype, shape) = (var.dtype(), var.shape());
                    for (i, &s) in variables.iter().enumerate() {
                        let x = &vars[s];
                        if variables[..i].iter().any(|&o| vars[o].same(x)) {
                            return Err(bad(format!(
                                "node {k} ({}) names variable '{}' twice",
                                rule.op_name(),
                                x.name()
                            )));
                        }
                        if x.dtype() != dtype || x.shape() != shape {
                            return Err(bad(format!(
                                "node {k} ({}): slot '{}' has dtype {} and shape {:?}, unlike variable '{}' ({dtype}, {shape:?})",
                                rule.op_name(),
                                x.name(),
                                x.dtype(),
                                x.shape(),
                                var.name()
                            )));
                        }
                    }
                    let [lr, step, grad] = [0, 1, 2].map(|j| &self.specs[n.inputs[j]]);
                    let scalar = |sp: &SpecDef| sp.shape.iter().product::<usize>() == 1;
                    if !spec_is(n.inputs[2], dtype, &shape) || !scalar(lr) || !scalar(step) {
                        return Err(bad(format!(
                            "node {k} ({}) reads a gradient of {} {:?} for variable '{}' ({dtype}, {shape:?}) and rates of shapes {:?} and {:?}",
                            rule.op_name(),
                            grad.dtype,
                            grad.shape,
                            var.name(),
                            lr.shape,
                            step.shape
                        )));
                    }
                    NodeKind::Update(rule.clone(), variables.clone())
                }
                NodeOp::While {
                    cond,
                    body,
                    n_vars,
                    n_cond_captures,
                    max_iterations,
                    grad,
                } => {
                    let cond = cond.build(name, consts_by_key, variables)?;
                    let body = body.build(name, consts_by_key, variables)?;
                    let mut w = While::new(cond, body, *n_vars, *n_cond_captures, *max_iterations)
                        .map_err(|e| bad(format!("node {k}: {e}")))?;
                    if let Some(g) = grad {
                        let g = g.build(name, consts_by_key, variables)?;
                        w.set_gradient(g)
                            .map_err(|e| bad(format!("node {k}: {e}")))?;
                    }
                    // The node's values must be what the sub-graphs take and give.
                    let (ins, outs) = w.io_specs();
                    let ok = n.inputs.len() == ins.len()
                        && n.outputs.len() == outs.len()
                        && n.inputs
                            .iter()
                            .zip(&ins)
                            .all(|(&s, sp)| spec_is(s, sp.0, &sp.1))
                        && n.outputs
                            .iter()
                            .zip(&outs)
                            .all(|(&s, sp)| spec_is(s, sp.0, &sp.1));
                    if !ok {
                        return Err(bad(format!(
                            "node {k} (While): its values do not match its sub-graphs"
                        )));
                    }
                    NodeKind::While(Box::new(w))
                }
            };
            nodes.push(Node {
                kind,
                inputs: n.inputs.clone(),
                outputs: n.outputs.clone(),
            });
        }
        for &s in &self.outputs {
            if !defined.get(s).copied().unwrap_or(false) {
                return Err(bad(format!("output %{s} is never written")));
            }
        }
        let mut g = Graph {
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
            nodes,
            consts,
            variables: vars,
            specs: self
                .specs
                .iter()
                .map(|s| (s.dtype, s.shape.clone()))
                .collect(),
            last_use: Vec::new(),
            primitive_nodes: Vec::new(),
            check_specs: true,
            custom_gradient: false,
            captured_before: 0,
            symbols: self.symbols.clone(),
            specialised: Default::default(),
        };
        g.optimize();
        Ok(g)
    }
}

/// Number of results of `op` in node `n` (ops with several results split their input).
fn op_outputs(op: &Op, n: &NodeDef, specs: &[SpecDef]) -> usize {
    match op {
        Op::Split { sizes, .. } => sizes.len(),
        Op::Unstack(axis) => {
            let shape = n
                .inputs
                .first()
                .and_then(|&s| specs.get(s))
                .map(|s| &s.shape);
            match shape {
                Some(sh) if !sh.is_empty() => {
                    let a = axis.rem_euclid(sh.len() as i64) as usize;
                    sh[a]
                }
                _ => usize::MAX,
            }
        }
        _ => 1,
    }
}

/// The output shape an op takes from its attributes, when it has one.
fn attr_shape(op: &Op) -> Option<&[usize]> {
    match op {
        Op::Fill(s) | Op::BroadcastTo(s) => Some(s),
        Op::Random { shape, .. }
        | Op::SliceGrad { shape, .. }
        | Op::GatherGrad { shape, .. }
        | Op::Col2Im { shape, .. } => Some(shape),
        _ => None,
    }
}
