//! Control flow in graphs: [`While`], a loop whose condition and body are graphs of their
//! own. The loop node reads the loop variables and the values its condition and body capture
//! from the enclosing graph, and writes the final loop variables. Running it runs the two
//! graphs in turn, so a tape active around an eager call records every iteration.
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

use super::{Graph, NodeKind};
use crate::{bail, DType, Result, Tensor};

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
        })
    }

    /// True when running the loop may change variables (so it is never removed as dead).
    pub fn has_effects(&self) -> bool {
        [&self.cond, &self.body].iter().any(|g| {
            g.nodes.iter().any(|n| match &n.kind {
                NodeKind::Assign(..) => true,
                NodeKind::While(w) => w.has_effects(),
                _ => false,
            })
        })
    }

    /// Runs the loop on `ins` (loop variables, then the captures).
    pub fn run(&self, ins: &[Tensor]) -> Result<Vec<Tensor>> {
        let (vars, caps) = ins.split_at(self.n_vars.min(ins.len()));
        let (cond_caps, body_caps) = caps.split_at(self.n_cond_captures.min(caps.len()));
        let mut vars = vars.to_vec();
        let mut i = 0u64;
        while self.max_iterations.is_none_or(|m| i < m) {
            let mut args = vars.clone();
            args.extend_from_slice(cond_caps);
            let c = self.cond.run(&args)?;
            if c[0].item_f64()? == 0.0 {
                break;
            }
            vars.extend_from_slice(body_caps);
            vars = self.body.run(&vars)?;
            i += 1;
        }
        Ok(vars)
    }

    /// Number of ops in the two graphs.
    pub fn op_count(&self) -> usize {
        self.cond.op_count() + self.body.op_count()
    }
}
