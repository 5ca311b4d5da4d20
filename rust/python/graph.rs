//! Tracing and graphs from Python: `rstf.function` (in `rstf/_function.py`) starts a trace,
//! runs the Python function on traced inputs, and keeps the resulting `Graph`.

use super::autodiff::PyVariable;
use super::convert::to_tensor;
use super::tensor::PyTensor;
use crate::graph::{trace, Graph};
use crate::Tensor;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// A traced function's graph.
#[pyclass(name = "Graph", module = "rstf", frozen)]
pub struct PyGraph {
    g: Graph,
}

impl PyGraph {
    /// Wraps a graph.
    pub fn new(g: Graph) -> Self {
        PyGraph { g }
    }

    /// The graph.
    pub fn graph(&self) -> &Graph {
        &self.g
    }
}

#[pymethods]
impl PyGraph {
    /// This graph with each variable `from` replaced by `to`, for the pairs `(from, to)`.
    fn rebind_variables(
        &self,
        pairs: Vec<(PyRef<'_, PyVariable>, PyRef<'_, PyVariable>)>,
    ) -> PyResult<PyGraph> {
        let pairs: Vec<_> = pairs
            .iter()
            .map(|(a, b)| (a.v.clone(), b.v.clone()))
            .collect();
        Ok(PyGraph::new(self.g.rebind_variables(&pairs)?))
    }

    /// Runs the graph on tensors with the traced dtypes and shapes (GIL released).
    fn run(&self, py: Python<'_>, args: Vec<Bound<'_, PyAny>>) -> PyResult<Vec<PyTensor>> {
        let ts: Vec<Tensor> = args
            .iter()
            .map(|a| to_tensor(a, None, false))
            .collect::<PyResult<_>>()?;
        let g = &self.g;
        let r = if trace::active() {
            // Inside another trace the ops must be recorded on this thread's tracer.
            g.run(&ts)
        } else {
            py.detach(|| g.run(&ts))
        };
        r.map(|v| v.into_iter().map(PyTensor::new).collect())
            .map_err(|e| super::errors::to_pyerr(py, e))
    }

    /// True when the arguments fit the graph (dtypes and shapes; any size where the graph is
    /// polymorphic).
    fn accepts(&self, args: Vec<Bound<'_, PyAny>>) -> PyResult<bool> {
        let ts: Vec<Tensor> = args
            .iter()
            .map(|a| to_tensor(a, None, false))
            .collect::<PyResult<_>>()?;
        Ok(self.g.accepts(&ts))
    }

    /// Tensors with identities below this were captured by the trace.
    #[getter]
    fn captured_before(&self) -> u64 {
        self.g.captured_before
    }

    /// True when the graph runs for any size of its `None` dimensions.
    #[getter]
    fn polymorphic(&self) -> bool {
        !self.g.symbols.is_empty()
    }

    /// The primitive nodes in order, as `(TensorFlow op name, input slots, output slots)`, and
    /// the graph's input and output slots.
    #[allow(clippy::type_complexity)]
    fn nodes(
        &self,
    ) -> (
        Vec<(String, Vec<usize>, Vec<usize>)>,
        Vec<usize>,
        Vec<usize>,
    ) {
        let nodes = self
            .g
            .primitive_nodes
            .iter()
            .map(|n| {
                (
                    n.kind.type_name().to_string(),
                    n.inputs.clone(),
                    n.outputs.clone(),
                )
            })
            .collect();
        (nodes, self.g.inputs.clone(), self.g.outputs.clone())
    }

    /// Number of op nodes.
    fn op_count(&self) -> usize {
        self.g.op_count()
    }

    /// Number of nodes of every kind.
    fn __len__(&self) -> usize {
        self.g.nodes.len()
    }

    fn __str__(&self) -> String {
        self.g.to_string()
    }
}

/// Starts a trace on this thread; `markers` are the sizes standing for `None` dimensions and
/// tensors with identities below `captured_before` (by default: made before this call) are
/// captured.
#[pyfunction]
#[pyo3(signature = (markers=Vec::new(), captured_before=None))]
fn trace_begin(markers: Vec<usize>, captured_before: Option<u64>) {
    // A second trace of a function takes the first one's captures: tensors the first one made
    // (a layer's weights built on first call) stay constants.
    match captured_before {
        Some(id) => trace::begin_capturing_before(id),
        None => trace::begin_function(),
    }
    trace::set_markers(&markers);
}

/// Abandons the innermost trace.
#[pyfunction]
fn trace_abort() {
    trace::abort();
}

/// Registers an argument of the traced function; returns the tensor to pass to it.
#[pyfunction]
fn trace_input(x: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    Ok(PyTensor::new(trace::input(&to_tensor(x, None, false)?)))
}

/// A trace's results as tensors; a result that is not one abandons the trace.
fn results_or_abort(outputs: &[Bound<'_, PyAny>]) -> PyResult<Vec<Tensor>> {
    let ts: PyResult<Vec<Tensor>> = outputs.iter().map(|a| to_tensor(a, None, false)).collect();
    if ts.is_err() {
        trace::abort();
    }
    ts
}

/// Ends the innermost trace with these results. `markers` are the sizes that stood for
/// `None` dimensions (`alternates`: other sizes for the check); the graph is made polymorphic
/// in them when that is safe (see its `polymorphic`).
#[pyfunction]
#[pyo3(signature = (outputs, markers=Vec::new(), alternates=Vec::new()))]
fn trace_finish(
    outputs: Vec<Bound<'_, PyAny>>,
    markers: Vec<usize>,
    alternates: Vec<usize>,
) -> PyResult<PyGraph> {
    let ts = results_or_abort(&outputs)?;
    let mut g = trace::finish(&ts)?;
    if !markers.is_empty() {
        g.make_polymorphic(&markers, &alternates);
    }
    Ok(PyGraph { g })
}

/// `graph`, polymorphic only where `other` (the same function traced again with `alternates`
/// standing for its symbols) is its replay at those sizes (see `Graph::confirm_polymorphic`).
#[pyfunction]
fn trace_confirm(graph: &PyGraph, other: &PyGraph, alternates: Vec<usize>) -> PyGraph {
    let mut g = graph.g.clone();
    g.confirm_polymorphic(&other.g, &alternates);
    PyGraph { g }
}

/// Starts tracing a loop's condition or body inside the current trace.
#[pyfunction]
fn trace_begin_sub() {
    trace::begin_sub();
}

/// Ends a sub-graph trace: the graph and the enclosing values it reads (its extra inputs).
#[pyfunction]
fn trace_finish_sub(outputs: Vec<Bound<'_, PyAny>>) -> PyResult<(PyGraph, Vec<PyTensor>)> {
    let ts = results_or_abort(&outputs)?;
    let (g, caps) = trace::finish_sub(&ts)?;
    Ok((PyGraph { g }, caps.into_iter().map(PyTensor::new).collect()))
}

/// Adds a loop node to the current trace (or runs the loop when nothing in it is traced).
#[pyfunction]
#[pyo3(signature = (cond, body, loop_vars, cond_captures, body_captures, max_iterations=None))]
fn trace_while(
    py: Python<'_>,
    cond: &Bound<'_, PyGraph>,
    body: &Bound<'_, PyGraph>,
    loop_vars: Vec<Bound<'_, PyAny>>,
    cond_captures: Vec<Bound<'_, PyAny>>,
    body_captures: Vec<Bound<'_, PyAny>>,
    max_iterations: Option<u64>,
) -> PyResult<Vec<PyTensor>> {
    let conv = |v: &[Bound<'_, PyAny>]| -> PyResult<Vec<Tensor>> {
        v.iter().map(|a| to_tensor(a, None, false)).collect()
    };
    let vars = conv(&loop_vars)?;
    let n_cond = cond_captures.len();
    let mut caps = conv(&cond_captures)?;
    caps.extend(conv(&body_captures)?);
    let w = crate::graph::While::new(
        cond.get().g.clone(),
        body.get().g.clone(),
        vars.len(),
        n_cond,
        max_iterations,
    )
    .map_err(|e| super::errors::to_pyerr(py, e))?;
    trace::record_while(w, &vars, &caps)
        .map(|v| v.into_iter().map(PyTensor::new).collect())
        .map_err(|e| super::errors::to_pyerr(py, e))
}

/// Records, in the active trace, a call of the Python function `f` on `inputs` that gave
/// `outputs` while tracing: each run of the graph calls `f(*inputs)` again (a list of
/// tensors back, of the traced dtypes), in program order. Returns the outputs as traced
/// values; outside a trace, returns them as they are.
#[pyfunction]
fn trace_callback(
    name: String,
    f: Py<PyAny>,
    inputs: Vec<Bound<'_, PyAny>>,
    outputs: Vec<Bound<'_, PyAny>>,
) -> PyResult<Vec<PyTensor>> {
    let conv = |v: &[Bound<'_, PyAny>]| -> PyResult<Vec<Tensor>> {
        v.iter().map(|x| to_tensor(x, None, false)).collect()
    };
    let (ins, mut outs) = (conv(&inputs)?, conv(&outputs)?);
    let label = name.clone();
    let call = move |args: &[Tensor]| -> crate::Result<Vec<Tensor>> {
        Python::attach(|py| {
            let args: Vec<PyTensor> = args.iter().cloned().map(PyTensor::new).collect();
            let tuple = pyo3::types::PyTuple::new(py, args).map_err(super::errors::stash)?;
            let r = f.bind(py).call1(tuple).map_err(super::errors::stash)?;
            let items: Vec<Bound<'_, PyAny>> = r
                .try_iter()
                .map_err(super::errors::stash)?
                .collect::<PyResult<_>>()
                .map_err(super::errors::stash)?;
            items
                .iter()
                .map(|x| to_tensor(x, None, false).map_err(super::errors::stash))
                .collect::<crate::Result<Vec<Tensor>>>()
                .map_err(|e| match e {
                    crate::Error::Callback { .. } => e,
                    e => crate::Error::InvalidArgument(format!("{label}: {e}")),
                })
        })
    };
    let cb = crate::graph::Callback {
        name,
        f: std::sync::Arc::new(call),
    };
    let refs: Vec<&Tensor> = ins.iter().collect();
    trace::record_callback(cb, &refs, &mut outs);
    Ok(outs.into_iter().map(PyTensor::new).collect())
}

/// Turns tracing off on this thread until `trace_resume` is given what this returns.
#[pyfunction]
fn trace_suspend() -> usize {
    trace::suspend()
}

/// Ends a `trace_suspend`.
#[pyfunction]
fn trace_resume(depth: usize) {
    trace::resume(depth)
}

/// True while a trace is active on this thread.
#[pyfunction]
fn is_tracing() -> bool {
    trace::active()
}

/// The number of assignments recorded so far by the innermost trace.
#[pyfunction]
fn trace_effects() -> usize {
    trace::effects()
}

/// True for a traced value (its data is only an example).
#[pyfunction]
fn is_symbolic(x: &Bound<'_, PyAny>) -> bool {
    match x.cast::<PyTensor>() {
        Ok(t) => trace::is_symbolic(&t.get().tensor()),
        Err(_) => false,
    }
}

/// A hashable key for positional arguments that are all tensors: one `(dtype, *dims)` tuple
/// per argument; `None` when some argument is not a tensor.
#[pyfunction]
fn signature_key<'py>(
    py: Python<'py>,
    args: &Bound<'py, PyTuple>,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    let mut items = Vec::with_capacity(args.len());
    for a in args.iter() {
        let Ok(t) = a.cast::<PyTensor>() else {
            return Ok(None);
        };
        let t = t.get().tensor();
        let code = crate::DType::ALL
            .iter()
            .position(|&d| d == t.dtype())
            .unwrap_or(0);
        let mut v: Vec<i64> = Vec::with_capacity(t.rank() + 1);
        v.push(code as i64);
        v.extend(t.shape().iter().map(|&d| d as i64));
        items.push(PyTuple::new(py, v)?);
    }
    Ok(Some(PyTuple::new(py, items)?))
}

/// Adds the class and functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyGraph>()?;
    m.add_function(wrap_pyfunction!(trace_begin, m)?)?;
    m.add_function(wrap_pyfunction!(trace_callback, m)?)?;
    m.add_function(wrap_pyfunction!(trace_suspend, m)?)?;
    m.add_function(wrap_pyfunction!(trace_resume, m)?)?;
    m.add_function(wrap_pyfunction!(trace_abort, m)?)?;
    m.add_function(wrap_pyfunction!(trace_input, m)?)?;
    m.add_function(wrap_pyfunction!(trace_finish, m)?)?;
    m.add_function(wrap_pyfunction!(trace_begin_sub, m)?)?;
    m.add_function(wrap_pyfunction!(trace_confirm, m)?)?;
    m.add_function(wrap_pyfunction!(trace_finish_sub, m)?)?;
    m.add_function(wrap_pyfunction!(trace_while, m)?)?;
    m.add_function(wrap_pyfunction!(is_tracing, m)?)?;
    m.add_function(wrap_pyfunction!(is_symbolic, m)?)?;
    m.add_function(wrap_pyfunction!(trace_effects, m)?)?;
    m.add_function(wrap_pyfunction!(signature_key, m)?)?;
    Ok(())
}
