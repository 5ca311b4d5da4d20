//! Shape-polymorphic graphs. A function traced for `None` dimensions is traced once with
//! *marker* sizes standing in for them (distinct primes; the caller picks them). The graph
//! keeps the markers as its symbols; called with other sizes, it is replayed op by op with
//! every marker in its shape attributes replaced by the actual size, which gives a graph
//! specialised to those sizes (cached). Python is not run again.
//!
//! A graph only becomes polymorphic when that is safe ([`Graph::make_polymorphic`]): no
//! attribute, constant or variable holds a number derived from a marker (a size computed from
//! a traced shape at trace time would be frozen), and a replay with other markers gives the
//! shapes the substitution predicts. Otherwise the caller traces per concrete shape.
//!
//! ```
//! use rstf::{graph::trace, Tensor, DType};
//! // f(x) = reduce_mean(x * 2, axis=0), traced with 1009 rows standing for "any".
//! trace::begin();
//! let x = trace::input(&Tensor::zeros(&[1009, 2], DType::F32).unwrap());
//! let y = x.add(&x).unwrap().mean(Some(&[0]), false).unwrap();
//! let mut g = trace::finish(&[y]).unwrap();
//! assert!(g.make_polymorphic(&[1009], &[1051]));
//! let x3 = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).unwrap();
//! assert_eq!(g.run(&[x3]).unwrap()[0].to_vec::<f32>().unwrap(), vec![6.0, 8.0]);
//! ```

use super::{Graph, NodeKind, Op, While};
use crate::graph::trace;
use crate::{bail, Result, Tensor};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Specialised graphs of a polymorphic graph, by the sizes bound to its symbols.
pub type Specialised = Arc<Mutex<HashMap<Vec<usize>, Arc<Graph>>>>;

/// At most this many specialisations are kept per graph (the cache is cleared when full).
const MAX_SPECIALISED: usize = 64;

/// True when `v` looks computed from the marker `m`: a multiple, a near neighbour, a small
/// fraction, or the reciprocal of one of these.
fn related(v: f64, m: usize) -> bool {
    let int_related = |r: f64| {
        let m = m as f64;
        r % m == 0.0
            || (r - m).abs() <= 8.0
            || (2..=8).any(|k| (r - (m / k as f64).floor()).abs() <= 1.0)
    };
    let a = v.abs();
    if !a.is_finite() || a == 0.0 {
        return false;
    }
    let r = a.round();
    if r >= 2.0 && (a - r).abs() <= 1e-6 * a && int_related(r) {
        return true;
    }
    let inv = 1.0 / a;
    let ri = inv.round();
    ri >= 2.0 && (inv - ri).abs() <= 1e-4 * inv && int_related(ri)
}

fn any_related(v: f64, markers: &[usize]) -> bool {
    markers.iter().any(|&m| related(v, m))
}

/// `(k, c)` when `d == k * m + c` for a marker `m`, `1 <= k <= 8`, `|c| <= 8`: a size that
/// follows the marker (`x[1:]` has `m - 1` rows, a concatenation of two has `2 * m`).
fn affine(d: usize, m: usize) -> Option<(i64, i64)> {
    let (d, m) = (d as i64, m as i64);
    let k = (d + m / 2) / m;
    let c = d - k * m;
    ((1..=8).contains(&k) && c.abs() <= 8).then_some((k, c))
}

/// The one marker `d` follows (see [`affine`]) as `(index, k, c)`; `None` when it follows
/// none or several.
fn follow(d: usize, markers: &[usize]) -> Option<(usize, i64, i64)> {
    if let Some(i) = markers.iter().position(|&m| m == d) {
        return Some((i, 1, 0));
    }
    let mut found = markers
        .iter()
        .enumerate()
        .filter_map(|(i, &m)| affine(d, m).map(|(k, c)| (i, k, c)));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// True when `d` is a marker or a size following one.
pub(crate) fn follows(d: usize, markers: &[usize]) -> bool {
    markers.iter().any(|&m| affine(d, m).is_some())
}

/// `d` with markers taking the sizes in `bind`, following [`follow`] (`None`: it would be
/// negative).
fn subst_dim(d: usize, bind: &[(usize, usize)]) -> Option<usize> {
    let markers: Vec<usize> = bind.iter().map(|b| b.0).collect();
    match follow(d, &markers) {
        Some((i, k, c)) => usize::try_from(k * bind[i].1 as i64 + c).ok(),
        None => Some(d),
    }
}

/// Applies `f` to every dimension held in `op`'s shape attributes.
fn map_dims(op: &Op, f: &mut dyn FnMut(usize) -> Result<usize>) -> Result<Op> {
    let mut dims = |s: &[usize]| s.iter().map(|&d| f(d)).collect::<Result<Vec<usize>>>();
    let mut op = op.clone();
    match &mut op {
        Op::Reshape(s) => {
            for d in s.iter_mut().filter(|d| **d >= 0) {
                *d = f(*d as usize)? as i64;
            }
        }
        Op::BroadcastTo(s) | Op::Fill(s) => *s = dims(s)?,
        Op::Split { sizes, .. } => {
            for d in sizes.iter_mut().filter(|d| **d >= 0) {
                *d = f(*d as usize)? as i64;
            }
        }
        Op::SliceGrad { shape, .. }
        | Op::GatherGrad { shape, .. }
        | Op::Col2Im { shape, .. }
        | Op::Random { shape, .. } => *shape = dims(shape)?,
        _ => {}
    }
    Ok(op)
}

/// Every number in `v` (a JSON value).
fn numbers(v: &serde_json::Value, out: &mut Vec<f64>) {
    match v {
        serde_json::Value::Number(n) => out.extend(n.as_f64()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| numbers(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| numbers(x, out)),
        _ => {}
    }
}

/// Replaces markers (exactly) by their bound sizes: the shapes of inputs.
fn subst(shape: &[usize], bind: &[(usize, usize)]) -> Vec<usize> {
    shape
        .iter()
        .map(|&d| bind.iter().find(|(m, _)| *m == d).map_or(d, |b| b.1))
        .collect()
}

/// The shape a value traced as `shape` is expected to have once markers take the sizes in
/// `bind` (sizes following a marker follow it).
fn predicted(shape: &[usize], bind: &[(usize, usize)]) -> Option<Vec<usize>> {
    shape.iter().map(|&d| subst_dim(d, bind)).collect()
}

/// True when two graphs hold the same nodes in the same order, reading and writing matching
/// slots (numbered apart: each trace numbers its own) of the same specs. Constants are
/// matched by value wherever they are read (each trace orders them by first use).
fn same_structure(a: &Graph, b: &Graph) -> bool {
    let consts = |g: &Graph| -> HashMap<usize, usize> {
        g.nodes
            .iter()
            .filter_map(|n| match n.kind {
                NodeKind::Const(c) => Some((n.outputs[0], c)),
                _ => None,
            })
            .collect()
    };
    let (ca, cb) = (consts(a), consts(b));
    let mut map: HashMap<usize, usize> = HashMap::new();
    let bind = |x: usize, y: usize, map: &mut HashMap<usize, usize>| {
        a.specs.get(x) == b.specs.get(y) && *map.entry(x).or_insert(y) == y
    };
    let same_slot = |x: usize, y: usize, map: &HashMap<usize, usize>| match (ca.get(&x), cb.get(&y))
    {
        (Some(&i), Some(&j)) => same_values(&a.consts[i], &b.consts[j]),
        (None, None) => map.get(&x) == Some(&y),
        _ => false,
    };
    let same_slots = |xs: &[usize], ys: &[usize], map: &HashMap<usize, usize>| {
        xs.len() == ys.len() && xs.iter().zip(ys).all(|(&x, &y)| same_slot(x, y, map))
    };
    fn ops(g: &Graph) -> Vec<&super::Node> {
        g.nodes
            .iter()
            .filter(|n| !matches!(n.kind, NodeKind::Const(_)))
            .collect()
    }
    let (na, nb) = (ops(a), ops(b));
    if a.inputs.len() != b.inputs.len()
        || !a
            .inputs
            .iter()
            .zip(&b.inputs)
            .all(|(&x, &y)| bind(x, y, &mut map))
        || a.variables.len() != b.variables.len()
        || !a.variables.iter().zip(&b.variables).all(|(x, y)| x.same(y))
        || na.len() != nb.len()
    {
        return false;
    }
    for (x, y) in na.into_iter().zip(nb) {
        let kind = match (&x.kind, &y.kind) {
            (NodeKind::Op(p), NodeKind::Op(q)) => unseeded(p) == unseeded(q),
            (NodeKind::Fused(p), NodeKind::Fused(q)) => p == q,
            (NodeKind::Callback(p), NodeKind::Callback(q)) => std::sync::Arc::ptr_eq(&p.f, &q.f),
            (NodeKind::While(p), NodeKind::While(q)) => {
                p.n_vars == q.n_vars
                    && p.n_cond_captures == q.n_cond_captures
                    && p.max_iterations == q.max_iterations
                    && same_structure(&p.cond, &q.cond)
                    && same_structure(&p.body, &q.body)
                    && match (&p.grad, &q.grad) {
                        (Some(g), Some(h)) => same_structure(g, h),
                        (None, None) => true,
                        _ => false,
                    }
            }
            (p, q) => format!("{p:?}") == format!("{q:?}"),
        };
        if !kind
            || !same_slots(&x.inputs, &y.inputs, &map)
            || x.outputs.len() != y.outputs.len()
            || !x
                .outputs
                .iter()
                .zip(&y.outputs)
                .all(|(&o, &p)| bind(o, p, &mut map))
        {
            return false;
        }
    }
    same_slots(&a.outputs, &b.outputs, &map)
}

/// `op` with a random op's seed left out (each trace draws its own).
fn unseeded(op: &Op) -> Op {
    match op {
        Op::Random { .. } => {
            let mut o = op.clone();
            if let Op::Random { seed, .. } = &mut o {
                *seed = 0;
            }
            o
        }
        _ => op.clone(),
    }
}

/// True when two tensors have the same dtype, shape and bits.
fn same_values(a: &Tensor, b: &Tensor) -> bool {
    fn bits(t: &Tensor) -> Option<Vec<u8>> {
        let h = t.to_host().ok()?.contiguous().ok()?;
        Some(crate::saved::tensors::bytes_of(&h).into_owned())
    }
    a.dtype() == b.dtype()
        && a.shape() == b.shape()
        && matches!((bits(a), bits(b)), (Some(x), Some(y)) if x == y)
}

impl Graph {
    /// True when nothing in the graph (its sub-graphs too) holds a number derived from the
    /// markers other than the markers themselves in shape attributes.
    fn safe_for(&self, markers: &[usize]) -> bool {
        let shape_ok = |s: &[usize]| !s.iter().any(|&d| any_related(d as f64, markers));
        let follows = |d: usize| follow(d, markers).is_some();
        for n in &self.primitive_nodes {
            let ok = match &n.kind {
                NodeKind::Op(op) => {
                    // Shape attributes may hold sizes that follow markers (they are
                    // substituted), nothing else may hold a number related to one.
                    let mut derived = false;
                    let blanked = map_dims(op, &mut |d| {
                        if follows(d) {
                            return Ok(0);
                        }
                        derived |= any_related(d as f64, markers);
                        Ok(d)
                    });
                    let Ok(mut blanked) = blanked else {
                        return false;
                    };
                    if let Op::Random { seed, .. } = &mut blanked {
                        *seed = 0;
                    }
                    let mut nums = Vec::new();
                    if let Ok(v) = serde_json::to_value(&blanked) {
                        numbers(&v, &mut nums);
                    }
                    !derived && !nums.iter().any(|&v| any_related(v, markers))
                }
                NodeKind::Const(c) => {
                    let t = &self.consts[*c];
                    shape_ok(t.shape())
                        && (t.numel() > 256
                            || t.cast(crate::DType::F64)
                                .and_then(|t| t.to_vec::<f64>())
                                .is_ok_and(|v| !v.iter().any(|&x| any_related(x, markers))))
                }
                // Replaying the graph for other sizes would call the function again.
                NodeKind::Callback(_) => false,
                NodeKind::While(w) => {
                    w.cond.safe_for(markers)
                        && w.body.safe_for(markers)
                        && w.grad.as_ref().is_none_or(|g| g.safe_for(markers))
                }
                _ => true,
            };
            if !ok {
                return false;
            }
        }
        // Fixed sizes of the inputs must not look like sizes that follow a marker.
        let inputs_ok = self.inputs.iter().all(|&s| {
            self.specs[s]
                .1
                .iter()
                .all(|d| markers.contains(d) || !any_related(*d as f64, markers))
        });
        inputs_ok && self.variables.iter().all(|v| shape_ok(v.peek().shape()))
    }

    /// Makes the graph polymorphic in `markers` (the sizes its `None` dimensions were traced
    /// with) when that is safe: see the module documentation. `alternates` (other sizes, one
    /// per marker) are used for the check. Returns whether the graph is now polymorphic.
    pub fn make_polymorphic(&mut self, markers: &[usize], alternates: &[usize]) -> bool {
        if markers.is_empty() || markers.len() != alternates.len() || !self.safe_for(markers) {
            return false;
        }
        let bind: Vec<(usize, usize)> = markers.iter().copied().zip(alternates.to_vec()).collect();
        let Ok(alt) = self.replay(&bind, None) else {
            return false;
        };
        let same = |mine: &[usize], theirs: &[usize]| {
            mine.len() == theirs.len()
                && mine.iter().zip(theirs).all(|(&a, &b)| {
                    self.specs[a].0 == alt.specs[b].0
                        && predicted(&self.specs[a].1, &bind).as_ref() == Some(&alt.specs[b].1)
                })
        };
        if !same(&self.inputs, &alt.inputs) || !same(&self.outputs, &alt.outputs) {
            return false;
        }
        self.symbols = markers.to_vec();
        true
    }

    /// Keeps the graph polymorphic only when `other`, the same function traced again with
    /// `alternates` standing for the symbols, is this graph replayed at those sizes: node for
    /// node, with equal constants. A number the trace computed from a `None` dimension's size
    /// (`tf.shape(x)[0] - 10`, the square root of a size) then differs between the two traces,
    /// and the graph stays concrete. Returns whether it is still polymorphic.
    pub fn confirm_polymorphic(&mut self, other: &Graph, alternates: &[usize]) -> bool {
        if self.symbols.is_empty() {
            return false;
        }
        let bind: Vec<(usize, usize)> = self
            .symbols
            .iter()
            .copied()
            .zip(alternates.iter().copied())
            .collect();
        let same = alternates.len() == self.symbols.len()
            && self
                .replay(&bind, None)
                .is_ok_and(|alt| same_structure(&alt, other));
        if !same {
            self.symbols.clear();
        }
        same
    }

    /// The sizes `args` give the graph's symbols (`None`: the traced sizes themselves, or a
    /// graph that is not polymorphic). Errors when an argument does not fit the traced specs.
    pub(crate) fn bind(&self, args: &[Tensor]) -> Result<Option<Vec<usize>>> {
        if self.symbols.is_empty() {
            return Ok(None);
        }
        let mut sizes: Vec<Option<usize>> = vec![None; self.symbols.len()];
        for (i, (&slot, a)) in self.inputs.iter().zip(args).enumerate() {
            let (dt, shape) = &self.specs[slot];
            let fits = a.dtype() == *dt
                && a.rank() == shape.len()
                && shape.iter().zip(a.shape()).all(|(&d, &n)| {
                    match self.symbols.iter().position(|&m| m == d) {
                        Some(k) => *sizes[k].get_or_insert(n) == n,
                        None => d == n,
                    }
                });
            if !fits {
                bail!(
                    "graph: argument {i} has dtype {} and shape {:?}, but the graph was traced for dtype {dt} and shape [{}] (a None dimension takes one size in all arguments at that position)",
                    a.dtype(),
                    a.shape(),
                    self.dims_text(shape)
                );
            }
        }
        let sizes: Vec<usize> = sizes
            .iter()
            .zip(&self.symbols)
            .map(|(s, &m)| s.unwrap_or(m))
            .collect();
        Ok((sizes != self.symbols).then_some(sizes))
    }

    /// True when `args` fit the graph (dtypes, ranks, sizes; a polymorphic graph's symbols
    /// taking one size each).
    pub fn accepts(&self, args: &[Tensor]) -> bool {
        if args.len() != self.inputs.len() {
            return false;
        }
        if !self.symbols.is_empty() {
            return self.bind(args).is_ok();
        }
        self.inputs.iter().zip(args).all(|(&s, a)| {
            let (dt, shape) = &self.specs[s];
            a.dtype() == *dt && a.shape() == shape.as_slice()
        })
    }

    /// The graph specialised to `sizes` (one per symbol), from the cache or replayed with
    /// `args` as the example values.
    pub(crate) fn specialised(&self, sizes: Vec<usize>, args: &[Tensor]) -> Result<Arc<Graph>> {
        if let Some(g) = self
            .specialised
            .lock()
            .ok()
            .and_then(|c| c.get(&sizes).cloned())
        {
            return Ok(g);
        }
        let bind: Vec<(usize, usize)> = self.symbols.iter().copied().zip(sizes.clone()).collect();
        let g = Arc::new(self.replay(&bind, Some(args))?);
        if let Ok(mut c) = self.specialised.lock() {
            if c.len() >= MAX_SPECIALISED {
                c.clear();
            }
            c.insert(sizes, g.clone());
        }
        Ok(g)
    }

    /// Traces the graph's primitive nodes again with markers replaced as `bind` says, into a
    /// new (concrete) graph. `args` are example values for the inputs (zeros when `None`).
    /// Tapes are set aside meanwhile: the replay is not part of any gradient.
    fn replay(&self, bind: &[(usize, usize)], args: Option<&[Tensor]>) -> Result<Graph> {
        crate::autodiff::hide_tapes();
        trace::begin_capturing_before(self.captured_before);
        if args.is_none() {
            // Sizes that stand for None, as when the function was traced: ops making a result
            // of such a size stay ops (a replay with real arguments folds them).
            let markers: Vec<usize> = bind.iter().map(|&(_, to)| to).collect();
            trace::set_markers(&markers);
        }
        let res = self.replay_nodes(bind, args);
        let out = match res {
            Ok(outs) => trace::finish(&outs),
            Err(e) => {
                trace::abort();
                Err(e)
            }
        };
        crate::autodiff::unhide_tapes();
        out
    }

    fn replay_nodes(
        &self,
        bind: &[(usize, usize)],
        args: Option<&[Tensor]>,
    ) -> Result<Vec<Tensor>> {
        let mut vals: Vec<Option<Tensor>> = vec![None; self.specs.len()];
        for (i, &s) in self.inputs.iter().enumerate() {
            let example = match args {
                Some(a) => a[i].clone(),
                None => {
                    let (dt, shape) = &self.specs[s];
                    Tensor::zeros(&subst(shape, bind), *dt)?
                }
            };
            vals[s] = Some(trace::input(&example));
        }
        if self.custom_gradient {
            trace::mark_custom_gradient();
        }
        let mut f = |d: usize| {
            subst_dim(d, bind).ok_or_else(|| {
                crate::invalid!("graph: a size that follows a None dimension would be negative")
            })
        };
        for (k, node) in self.primitive_nodes.iter().enumerate() {
            let ins = node
                .inputs
                .iter()
                .map(|&s| {
                    vals[s].clone().ok_or_else(|| {
                        crate::Error::Internal(format!("graph: slot %{s} is empty at node {k}"))
                    })
                })
                .collect::<Result<Vec<Tensor>>>()?;
            let outs = match &node.kind {
                NodeKind::Op(op) => map_dims(op, &mut f)?.eval(&ins)?,
                NodeKind::Const(c) => vec![self.consts[*c].clone()],
                NodeKind::ReadVariable(v) => vec![self.variables[*v].read()],
                NodeKind::Assign(..) | NodeKind::Update(..) => {
                    self.effect(&node.kind, &ins)?;
                    vec![]
                }
                NodeKind::While(w) => {
                    let mut w2 = While::new(
                        w.cond.replay(bind, None)?,
                        w.body.replay(bind, None)?,
                        w.n_vars,
                        w.n_cond_captures,
                        w.max_iterations,
                    )?;
                    if let Some(g) = &w.grad {
                        w2.set_gradient(g.replay(bind, None)?)?;
                    }
                    trace::record_while(w2, &ins[..w.n_vars], &ins[w.n_vars..])?
                }
                NodeKind::Fused(_) | NodeKind::Callback(_) => {
                    return Err(crate::Error::Internal(
                        "graph: a fused node or a callback among the replayed nodes".into(),
                    ))
                }
            };
            for (&s, t) in node.outputs.iter().zip(outs) {
                vals[s] = Some(t);
            }
        }
        self.results(&vals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_their_marker() {
        let bind = [(1009, 5), (1031, 7)];
        assert_eq!(subst_dim(1009, &bind), Some(5));
        assert_eq!(subst_dim(1008, &bind), Some(4)); // x[1:]
        assert_eq!(subst_dim(2018, &bind), Some(10)); // concat of two
        assert_eq!(subst_dim(3 * 1030, &bind), Some(3 * 6)); // 3 * (m - 1)
        assert_eq!(subst_dim(1031, &bind), Some(7));
        assert_eq!(subst_dim(64, &bind), Some(64));
        assert_eq!(subst_dim(1003, &[(1009, 2)]), None); // would be negative
                                                         // A size near two markers follows neither.
        assert_eq!(follow(1015, &[1009, 1021]), None);
        assert!(related(1.0 / 1009.0, 1009) && related(504.0, 1009) && !related(784.0, 1009));
    }

    #[test]
    fn sizes_computed_at_trace_time_keep_a_graph_concrete() {
        use crate::DType;
        // x[: n // 2] with n the traced size: the slice bound is frozen at trace time.
        trace::begin();
        let x = trace::input(&Tensor::zeros(&[1009], DType::F32).unwrap());
        let item = crate::ops::movement::SliceItem::Range {
            start: None,
            stop: Some(504),
            step: 1,
        };
        let y = x.slice(&[item]).unwrap();
        let mut g = trace::finish(&[y]).unwrap();
        assert!(!g.make_polymorphic(&[1009], &[1013]));
        assert!(!g.accepts(&[Tensor::zeros(&[4], DType::F32).unwrap()]));
    }

    #[test]
    fn a_second_trace_confirms_or_refuses_polymorphism() {
        use crate::DType;
        // f(x) = x * k, with k = 2 (fixed) or k = sqrt(n) computed from the traced size n.
        let traced = |n: usize, from_size: bool| {
            trace::begin();
            trace::set_markers(&[n]);
            let x = trace::input(&Tensor::zeros(&[n], DType::F32).unwrap());
            let k = if from_size { (n as f32).sqrt() } else { 2.0 };
            let y = x.mul(&Tensor::scalar(k)).unwrap();
            trace::finish(&[y]).unwrap()
        };
        for (from_size, kept) in [(false, true), (true, false)] {
            let mut g = traced(1009, from_size);
            // The constant sqrt(1009) looks unrelated to 1009: the replay alone accepts it.
            assert!(g.make_polymorphic(&[1009], &[1013]));
            assert_eq!(
                g.confirm_polymorphic(&traced(1013, from_size), &[1013]),
                kept
            );
            assert_eq!(!g.symbols.is_empty(), kept);
        }
    }
}
