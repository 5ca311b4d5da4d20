//! Control flow in graphs: [`While`], a loop whose condition and body are graphs of their
//! own. The loop node reads the loop variables and the values its condition and body capture
//! from the enclosing graph, and writes the final loop variables. Running it runs the two
//! graphs in turn, so a tape active around an eager call records every iteration.
//!
//! Inside a trace, a tape that tracks a loop's inputs records the loop as one op whose
//! gradient is a second loop node (`grad`): it runs the loop forward again keeping each
//! iteration's variables, then runs the body's vector-Jacobian product graph backwards over
//! them. Variables the body reads are then read once before the loop and passed in, so their
//! gradients flow too.
//!
//! ```
//! use rstf::{graph::{trace, While}, Tensor};
//! // i = 0; while i < n: i = i + 1   (n traced)
//! let n = Tensor::scalar(5i32);
//! trace::begin();
//! let nt = trace::input(&n);
//! let i0 = Tensor::scalar(0i32);
//! trace::begin_sub();
//! let i = trace::input(&i0);
//! let c = i.binary(&nt, rstf::ops::BinaryOp::Less).unwrap();
//! let (cond, cond_caps) = trace::finish_sub(&[c]).unwrap();
//! trace::begin_sub();
//! let i = trace::input(&i0);
//! let next = i.add(&Tensor::scalar(1i32)).unwrap();
//! let (body, body_caps) = trace::finish_sub(&[next]).unwrap();
//! let w = While::new(cond, body, 1, cond_caps.len(), None).unwrap();
//! let caps: Vec<Tensor> = cond_caps.into_iter().chain(body_caps).collect();
//! let out = trace::record_while(w, &[i0], &caps).unwrap();
//! let g = trace::finish(&out).unwrap();
//! let r = g.run(&[Tensor::scalar(7i32)]).unwrap();
//! assert_eq!(r[0].item_f64().unwrap(), 7.0);
//! ```

use super::{trace, Graph, NodeKind};
use crate::autodiff::{self, Tape};
use crate::{bail, DType, Result, Tensor, Variable};

/// A value's dtype and shape.
pub type Spec = (DType, Vec<usize>);

/// A loop: while `cond(vars, cond captures)` holds (and fewer than `max_iterations` have run),
/// `vars = body(vars, body captures)`.
#[derive(Clone, Debug)]
pub struct While {
    /// Inputs: the loop variables, then its captures; one output, a boolean scalar.
    pub cond: Graph,
    /// Inputs: the loop variables, then its captures; outputs: the next loop variables.
    pub body: Graph,
    /// Number of loop variables.
    pub n_vars: usize,
    /// Number of values the condition captures (the node's inputs are the loop variables,
    /// the condition's captures, then the body's).
    pub n_cond_captures: usize,
    /// Stop after this many iterations.
    pub max_iterations: Option<u64>,
    /// The gradient of the loop rather than the loop: the body's vector-Jacobian product
    /// (inputs: the body's inputs, then a gradient per loop variable; outputs: a gradient per
    /// body input). The node then reads the loop's inputs and the gradients of its results,
    /// and gives the gradients of the loop variables and of the body's captures.
    pub grad: Option<Box<Graph>>,
}

impl While {
    /// Checks that the two graphs fit together: the condition gives one boolean scalar and the
    /// body gives back loop variables of the dtypes and shapes it takes.
    pub fn new(
        cond: Graph,
        body: Graph,
        n_vars: usize,
        n_cond_captures: usize,
        max_iterations: Option<u64>,
    ) -> Result<While> {
        if cond.inputs.len() != n_vars + n_cond_captures || body.inputs.len() < n_vars {
            bail!(
                "while_loop: the condition takes {} values and the body {}, for {n_vars} loop variables",
                cond.inputs.len(),
                body.inputs.len()
            );
        }
        let (cdt, cshape) = match cond.outputs.as_slice() {
            [c] => cond.specs[*c].clone(),
            o => bail!(
                "while_loop: the condition must return one boolean scalar, got {} values",
                o.len()
            ),
        };
        if cdt != DType::Bool || !cshape.is_empty() {
            bail!("while_loop: the condition must return a boolean scalar, got dtype {cdt} and shape {cshape:?}");
        }
        if body.outputs.len() != n_vars {
            bail!(
                "while_loop: the body returns {} values for {n_vars} loop variables",
                body.outputs.len()
            );
        }
        for (k, (&i, &o)) in body.inputs.iter().zip(&body.outputs).enumerate() {
            let (idt, ishape) = &body.specs[i];
            let (odt, oshape) = &body.specs[o];
            if idt != odt || ishape != oshape {
                bail!(
                    "while_loop: loop variable {k} enters the loop with dtype {idt} and shape {ishape:?} but the body returns dtype {odt} and shape {oshape:?}; a loop variable keeps its dtype and shape"
                );
            }
        }
        Ok(While {
            cond,
            body,
            n_vars,
            n_cond_captures,
            max_iterations,
            grad: None,
        })
    }

    /// The gradient node of this loop (see [`While::grad`]).
    pub fn gradient(&self) -> Result<While> {
        let mut w = self.clone();
        w.grad = Some(Box::new(vjp(&self.body, self.n_vars)?));
        Ok(w)
    }

    /// Checks a gradient graph read from a file against the body.
    pub fn set_gradient(&mut self, vjp: Graph) -> Result<()> {
        let body_ins: Vec<_> = self
            .body
            .inputs
            .iter()
            .map(|&i| &self.body.specs[i])
            .collect();
        let want_ins = body_ins
            .iter()
            .copied()
            .chain(self.body.outputs.iter().map(|&o| &self.body.specs[o]));
        let ins_ok = vjp.inputs.len() == body_ins.len() + self.n_vars
            && vjp
                .inputs
                .iter()
                .zip(want_ins)
                .all(|(&i, s)| &vjp.specs[i] == s);
        let outs_ok = vjp.outputs.len() == body_ins.len()
            && vjp
                .outputs
                .iter()
                .zip(&body_ins)
                .all(|(&o, s)| &vjp.specs[o] == *s);
        if !ins_ok || !outs_ok {
            bail!("while_loop: the gradient graph does not fit the loop body");
        }
        self.grad = Some(Box::new(vjp));
        Ok(())
    }

    /// dtype and shape of the node's inputs and outputs.
    pub fn io_specs(&self) -> (Vec<Spec>, Vec<Spec>) {
        let spec = |g: &Graph, s: &[usize]| -> Vec<Spec> {
            s.iter().map(|&i| g.specs[i].clone()).collect()
        };
        let mut ins = spec(&self.cond, &self.cond.inputs);
        ins.extend(spec(&self.body, &self.body.inputs[self.n_vars..]));
        let results = spec(&self.body, &self.body.outputs);
        match self.grad {
            None => (ins, results),
            Some(_) => {
                ins.extend(results);
                (ins, spec(&self.body, &self.body.inputs))
            }
        }
    }

    /// True when running the loop may change variables (so it is never removed as dead).
    pub fn has_effects(&self) -> bool {
        [&self.cond, &self.body]
            .iter()
            .any(|g| g.nodes.iter().any(|n| n.kind.has_effects()))
    }

    /// Runs the loop on `ins` (loop variables, then the captures; for a gradient node, then
    /// the gradients of the results).
    pub fn run(&self, ins: &[Tensor]) -> Result<Vec<Tensor>> {
        let n_caps = self.cond.inputs.len() + self.body.inputs.len() - 2 * self.n_vars;
        let (vars, rest) = ins.split_at(self.n_vars.min(ins.len()));
        let (caps, grads) = rest.split_at(n_caps.min(rest.len()));
        let (cond_caps, body_caps) = caps.split_at(self.n_cond_captures.min(caps.len()));
        let mut vars = vars.to_vec();
        let mut states = Vec::new();
        let mut i = 0u64;
        while self.max_iterations.is_none_or(|m| i < m) {
            crate::limits::check_iteration(i)?;
            let mut args = vars.clone();
            args.extend_from_slice(cond_caps);
            let c = self.cond.run(&args)?;
            if c[0].item_f64()? == 0.0 {
                break;
            }
            vars.extend_from_slice(body_caps);
            if self.grad.is_some() {
                states.push(vars.clone());
            }
            vars = self.body.run(&vars)?;
            i += 1;
        }
        let Some(vjp) = &self.grad else {
            return Ok(vars);
        };
        // Backwards over the iterations: the gradients of each iteration's variables, and the
        // captures' gradients summed over iterations.
        let mut g = grads.to_vec();
        let mut cap_grads: Vec<Tensor> = body_caps
            .iter()
            .map(|c| Tensor::zeros(c.shape(), c.dtype()))
            .collect::<Result<_>>()?;
        for mut args in states.into_iter().rev() {
            args.extend(g);
            let mut out = vjp.run(&args)?;
            let rest = out.split_off(self.n_vars);
            g = out;
            for (acc, c) in cap_grads.iter_mut().zip(rest) {
                *acc = acc.add(&c)?;
            }
        }
        g.extend(cap_grads);
        Ok(g)
    }

    /// Number of ops in the graphs.
    pub fn op_count(&self) -> usize {
        self.cond.op_count() + self.body.op_count() + self.grad.as_ref().map_or(0, |g| g.op_count())
    }

    /// The loop with the variables its body reads (and never assigns) as extra captures, read
    /// once before the loop: what a tape needs to give those variables gradients. Returns the
    /// loop and the variables, in the order of the new captures.
    pub(crate) fn lift_variable_reads(&self) -> Result<(While, Vec<Variable>)> {
        let body = &self.body;
        let mut assigned = Vec::new();
        assigned_variables(body, &mut assigned);
        let mut inputs = body.inputs.clone();
        let mut lifted = Vec::new();
        let mut nodes = Vec::new();
        for n in &body.primitive_nodes {
            match n.kind {
                NodeKind::ReadVariable(v)
                    if !assigned.iter().any(|a| a.same(&body.variables[v])) =>
                {
                    inputs.push(n.outputs[0]);
                    lifted.push(body.variables[v].clone());
                }
                _ => nodes.push(n.clone()),
            }
        }
        if lifted.is_empty() {
            return Ok((self.clone(), lifted));
        }
        let mut b = body.clone();
        b.inputs = inputs;
        b.nodes = nodes;
        b.specialised = Default::default();
        b.optimize();
        let w = While::new(
            self.cond.clone(),
            b,
            self.n_vars,
            self.n_cond_captures,
            self.max_iterations,
        )?;
        Ok((w, lifted))
    }
}

/// The vector-Jacobian product of `body` (see [`While::grad`]), traced from the body's ops
/// under a tape. Tapes of the caller are set aside meanwhile.
fn vjp(body: &Graph, n_vars: usize) -> Result<Graph> {
    autodiff::hide_tapes();
    trace::begin();
    let res = vjp_outputs(body, n_vars);
    let g = match res {
        Ok(outs) => trace::finish(&outs),
        Err(e) => {
            trace::abort();
            Err(e)
        }
    };
    autodiff::unhide_tapes();
    g
}

fn vjp_outputs(body: &Graph, n_vars: usize) -> Result<Vec<Tensor>> {
    let example = |s: usize| {
        let (dt, shape) = &body.specs[s];
        Tensor::zeros(shape, *dt).map(|t| trace::input(&t))
    };
    let xs: Vec<Tensor> = body
        .inputs
        .iter()
        .map(|&s| example(s))
        .collect::<Result<_>>()?;
    let gs: Vec<Option<Tensor>> = body.outputs[..n_vars]
        .iter()
        .map(|&s| example(s).map(Some))
        .collect::<Result<_>>()?;
    let tape = Tape::new(false, false);
    let outs = {
        let _active = tape.activate();
        for x in xs.iter().filter(|x| x.dtype().is_float()) {
            tape.watch(x);
        }
        body.run(&xs)?
    };
    let ids: Vec<u64> = xs.iter().map(Tensor::id).collect();
    let grads = tape.gradient(&outs, &ids, Some(&gs))?;
    grads
        .into_iter()
        .zip(&xs)
        .map(|(g, x)| g.map_or_else(|| Tensor::zeros(x.shape(), x.dtype()), Ok))
        .collect()
}

/// Pushes onto `out` the variables that `g` or a loop inside it assigns or updates (loops'
/// graphs number their variables on their own, so they are compared as variables).
fn assigned_variables(g: &Graph, out: &mut Vec<Variable>) {
    for n in &g.primitive_nodes {
        match &n.kind {
            NodeKind::Assign(v, _) => out.push(g.variables[*v].clone()),
            NodeKind::Update(_, vars) => out.extend(vars.iter().map(|&v| g.variables[v].clone())),
            NodeKind::While(w) => {
                assigned_variables(&w.cond, out);
                assigned_variables(&w.body, out);
            }
            _ => {}
        }
    }
}
