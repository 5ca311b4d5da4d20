//! The `Variable` and `Tape` classes and the autodiff functions (`stop_gradient`, custom
//! gradients). `rstf/_variable.py` and `rstf/_tape.py` add TensorFlow's Python surface.

use super::convert::{exact_tensor, parse_dtype, to_numpy, to_tensor};
use super::tensor::{dtype_object, shape_object, PyTensor};
use crate::autodiff::{self, Tape};
use crate::{Tensor, Variable};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

/// Mutable state of fixed shape and dtype.
#[pyclass(name = "Variable", module = "rstf", subclass, weakref, frozen)]
pub struct PyVariable {
    pub v: Variable,
}

/// The value to store into a variable of dtype `v`: tensors must match, Python values and
/// arrays are converted to the variable's dtype.
fn update_value(v: &Variable, value: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    match exact_tensor(value) {
        Some(t) => Ok(t),
        None => to_tensor(value, Some(v.dtype()), true),
    }
}

#[pymethods]
impl PyVariable {
    #[new]
    #[pyo3(signature = (initial_value=None, trainable=true, name=None, dtype=None, _alias=None, **_kwargs))]
    fn new(
        initial_value: Option<&Bound<'_, PyAny>>,
        trainable: bool,
        name: Option<&str>,
        dtype: Option<&str>,
        _alias: Option<PyRef<'_, PyVariable>>,
        _kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<Self> {
        if let Some(a) = _alias {
            return Ok(PyVariable { v: a.v.clone() });
        }
        let Some(init) = initial_value else {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "Variable: initial_value must be specified",
            ));
        };
        let init = if init.is_callable() && exact_tensor(init).is_none() {
            init.call0()?
        } else {
            init.clone()
        };
        let dt = dtype.map(parse_dtype).transpose()?;
        let t = to_tensor(&init, dt, true)?;
        let v = Variable::new(&t, name.unwrap_or("Variable"), trainable)?;
        Ok(PyVariable { v })
    }

    /// The identity tapes use for the variable.
    #[getter]
    fn _id(&self) -> u64 {
        self.v.id()
    }

    /// The name, with TensorFlow's `:0` suffix.
    #[getter]
    fn name(&self) -> String {
        format!("{}:0", self.v.name())
    }

    /// Whether tapes watch the variable automatically.
    #[getter]
    fn trainable(&self) -> bool {
        self.v.trainable()
    }

    /// The element type.
    #[getter]
    fn dtype(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dtype_object(py, self.v.dtype())
    }

    /// The shape, as a `TensorShape`.
    #[getter]
    fn shape(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        shape_object(py, &self.v.shape())
    }

    /// The device holding the variable.
    #[getter]
    fn device(&self) -> &'static str {
        self.v.peek().device().name()
    }

    /// The current value as a tensor (watched by active tapes).
    fn value(&self) -> PyTensor {
        PyTensor::new(self.v.read())
    }

    /// The current value as a tensor (watched by active tapes).
    fn read_value(&self) -> PyTensor {
        PyTensor::new(self.v.read())
    }

    /// The current value, unseen by tapes.
    fn _peek(&self) -> PyTensor {
        PyTensor::new(self.v.peek())
    }

    /// The values as numpy: a read-only view of the current value (assignments after it
    /// copy, so the view keeps the values it was taken with).
    fn numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let t = self.v.peek();
        if self.v.shape().is_empty() {
            return to_numpy(py, &t)?.get_item(());
        }
        super::host::host_array(py, &t)
    }

    fn _assign(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let t = update_value(&self.v, value)?;
        let v = self.v.clone();
        py.detach(move || v.assign(&t))
            .map_err(|e| super::errors::to_pyerr(py, e))
    }

    /// Replaces the value with a tensor of the same dtype and shape without copying it.
    fn _load_value(&self, py: Python<'_>, value: PyRef<'_, PyTensor>) -> PyResult<()> {
        self.v
            .load(value.tensor())
            .map_err(|e| super::errors::to_pyerr(py, e))
    }

    fn _assign_add(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let t = update_value(&self.v, value)?;
        let v = self.v.clone();
        py.detach(move || v.assign_add(&t))
            .map_err(|e| super::errors::to_pyerr(py, e))
    }

    fn _assign_sub(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let t = update_value(&self.v, value)?;
        let v = self.v.clone();
        py.detach(move || v.assign_sub(&t))
            .map_err(|e| super::errors::to_pyerr(py, e))
    }
}

/// A source of a gradient: a tensor or a variable, as (identity, shape).
fn source(x: &Bound<'_, PyAny>) -> PyResult<(u64, Vec<usize>)> {
    if let Ok(v) = x.cast::<PyVariable>() {
        let v = &v.get().v;
        return Ok((v.id(), v.shape()));
    }
    if let Ok(t) = x.cast::<PyTensor>() {
        let t = t.get().tensor();
        return Ok((t.id(), t.shape().to_vec()));
    }
    Err(PyTypeError::new_err(format!(
        "gradient: sources must be tensors or variables, got {}",
        x.get_type().name()?
    )))
}

fn target(x: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    if let Ok(v) = x.cast::<PyVariable>() {
        return Ok(v.get().v.peek());
    }
    to_tensor(x, None, false)
}

fn wrap_all(v: Vec<Option<Tensor>>) -> Vec<Option<PyTensor>> {
    v.into_iter().map(|g| g.map(PyTensor::new)).collect()
}

/// A gradient tape; `rstf.GradientTape` wraps it.
#[pyclass(name = "Tape", module = "rstf", frozen)]
pub struct PyTape {
    tape: Tape,
}

#[pymethods]
impl PyTape {
    #[new]
    #[pyo3(signature = (persistent=false, watch_accessed_variables=true))]
    fn new(persistent: bool, watch_accessed_variables: bool) -> Self {
        PyTape {
            tape: Tape::new(persistent, watch_accessed_variables),
        }
    }

    fn push(&self) {
        self.tape.push();
    }

    fn pop(&self) {
        self.tape.pop();
    }

    fn watch(&self, x: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Ok(v) = x.cast::<PyVariable>() {
            self.tape.watch_variable(&v.get().v);
            return Ok(());
        }
        if let Ok(t) = x.cast::<PyTensor>() {
            self.tape.watch(&t.get().tensor());
            return Ok(());
        }
        Err(PyTypeError::new_err(format!(
            "watch: expected a tensor or a variable, got {}",
            x.get_type().name()?
        )))
    }

    fn watched_variable_ids(&self) -> Vec<u64> {
        self.tape
            .watched_variables()
            .iter()
            .map(|v| v.id())
            .collect()
    }

    fn set_recording(&self, on: bool) -> bool {
        self.tape.set_recording(on)
    }

    fn reset(&self) {
        self.tape.reset();
    }

    fn __len__(&self) -> usize {
        self.tape.len()
    }

    #[pyo3(signature = (targets, sources, output_gradients=None))]
    fn gradient(
        &self,
        py: Python<'_>,
        targets: Vec<Bound<'_, PyAny>>,
        sources: Vec<Bound<'_, PyAny>>,
        output_gradients: Option<Vec<Option<Bound<'_, PyAny>>>>,
    ) -> PyResult<Vec<Option<PyTensor>>> {
        let ts: Vec<Tensor> = targets.iter().map(target).collect::<PyResult<_>>()?;
        let ids: Vec<u64> = sources
            .iter()
            .map(|s| source(s).map(|s| s.0))
            .collect::<PyResult<_>>()?;
        let og: Option<Vec<Option<Tensor>>> = output_gradients
            .map(|v| {
                v.iter()
                    .map(|g| g.as_ref().map(|g| to_tensor(g, None, false)).transpose())
                    .collect::<PyResult<_>>()
            })
            .transpose()?;
        let tape = self.tape.clone();
        let r = py.detach(move || tape.gradient(&ts, &ids, og.as_deref()));
        r.map(wrap_all).map_err(|e| super::errors::to_pyerr(py, e))
    }

    fn jacobian(
        &self,
        py: Python<'_>,
        target: &Bound<'_, PyAny>,
        sources: Vec<Bound<'_, PyAny>>,
        batch: bool,
    ) -> PyResult<Vec<Option<PyTensor>>> {
        let t = self::target(target)?;
        let ss: Vec<(u64, Vec<usize>)> = sources.iter().map(source).collect::<PyResult<_>>()?;
        let tape = self.tape.clone();
        let r = py.detach(move || {
            if batch {
                tape.batch_jacobian(&t, &ss)
            } else {
                tape.jacobian(&t, &ss)
            }
        });
        r.map(wrap_all).map_err(|e| super::errors::to_pyerr(py, e))
    }
}

/// Applies an optimizer rule to every variable in one call (see `rstf::optim`). `hyper` holds
/// the rule's hyperparameters by name; `slots` one list of slot variables per variable.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn apply_gradients(
    py: Python<'_>,
    rule: &str,
    hyper: std::collections::HashMap<String, f64>,
    lr: &Bound<'_, PyAny>,
    step: &Bound<'_, PyAny>,
    vars: Vec<PyRef<'_, PyVariable>>,
    grads: Vec<Bound<'_, PyAny>>,
    slots: Vec<Vec<PyRef<'_, PyVariable>>>,
) -> PyResult<()> {
    use crate::optim::{apply, Rule};
    let h = |k: &str| {
        hyper.get(k).copied().ok_or_else(|| {
            crate::Error::InvalidArgument(format!("apply_gradients: rule '{rule}' needs '{k}'"))
        })
    };
    let rule = match rule {
        "sgd" => Rule::Sgd {
            momentum: h("momentum")?,
            nesterov: h("nesterov")? != 0.0,
        },
        "adam" => Rule::Adam {
            beta_1: h("beta_1")?,
            beta_2: h("beta_2")?,
            epsilon: h("epsilon")?,
            weight_decay: h("weight_decay")?,
        },
        "rmsprop" => Rule::RmsProp {
            rho: h("rho")?,
            epsilon: h("epsilon")?,
        },
        "adagrad" => Rule::Adagrad {
            epsilon: h("epsilon")?,
        },
        other => {
            return Err(crate::Error::InvalidArgument(format!(
                "apply_gradients: unknown rule '{other}'"
            ))
            .into())
        }
    };
    let (lr, step) = (to_tensor(lr, None, false)?, to_tensor(step, None, false)?);
    let vs: Vec<Variable> = vars.iter().map(|v| v.v.clone()).collect();
    let gs: Vec<Tensor> = grads
        .iter()
        .map(|g| to_tensor(g, None, false))
        .collect::<PyResult<_>>()?;
    let ss: Vec<Vec<Variable>> = slots
        .iter()
        .map(|s| s.iter().map(|v| v.v.clone()).collect())
        .collect();
    let work: usize = gs.iter().map(|g| g.numel()).sum();
    super::tensor::run(py, work, move || {
        apply(&rule, &lr, &step, &vs, &gs, &ss).map(|_| Tensor::scalar(0i32))
    })?;
    Ok(())
}

/// The same values as a new tensor that tapes see as a constant.
#[pyfunction]
fn stop_gradient(x: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    Ok(PyTensor::new(to_tensor(x, None, false)?.stop_gradient()))
}

/// The same values as a new tensor that gradients pass through (`tf.identity`).
#[pyfunction]
fn identity(py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    let t = to_tensor(x, None, false)?;
    t.identity()
        .map(PyTensor::new)
        .map_err(|e| super::errors::to_pyerr(py, e))
}

/// Stops every tape on this thread from recording until `resume_recording`.
#[pyfunction]
fn pause_recording() {
    autodiff::pause();
}

/// Sets this thread's tapes aside (a traced graph still records) until `unhide_tapes`.
#[pyfunction]
fn hide_tapes() {
    autodiff::hide_tapes();
}

/// Brings back the tapes set aside by the matching `hide_tapes`.
#[pyfunction]
fn unhide_tapes() {
    autodiff::unhide_tapes();
}

/// Undoes one `pause_recording`.
#[pyfunction]
fn resume_recording() {
    autodiff::resume();
}

/// Starts collecting the trainable variables read on this thread (see `end_variable_watch`).
#[pyfunction]
fn begin_variable_watch() {
    autodiff::begin_variable_watch();
}

/// The identities of the trainable variables read since the matching `begin_variable_watch`.
#[pyfunction]
fn end_variable_watch() -> Vec<u64> {
    autodiff::end_variable_watch()
}

/// Records an op computed in Python: `outputs` from `inputs`, with `grad_fn(*output_grads)`
/// returning one gradient (or None) per input. Returns the outputs as recorded.
#[pyfunction]
fn record_gradient(
    inputs: Vec<Bound<'_, PyAny>>,
    outputs: Vec<Bound<'_, PyAny>>,
    grad_fn: Py<PyAny>,
) -> PyResult<Vec<PyTensor>> {
    let ins: Vec<Tensor> = inputs
        .iter()
        .map(|x| to_tensor(x, None, false))
        .collect::<PyResult<_>>()?;
    let mut outs: Vec<Tensor> = outputs
        .iter()
        .map(|x| to_tensor(x, None, false))
        .collect::<PyResult<_>>()?;
    let refs: Vec<&Tensor> = ins.iter().collect();
    let n = ins.len();
    autodiff::record_opaque("CustomGradient", &refs, &mut outs, move |_| {
        autodiff::rule(move |g, _| {
            Python::attach(|py| {
                let args: Vec<PyTensor> = g.iter().cloned().map(PyTensor::new).collect();
                let r = grad_fn
                    .bind(py)
                    .call1(pyo3::types::PyTuple::new(py, args).map_err(super::errors::stash)?)
                    .map_err(super::errors::stash)?;
                let items: Vec<Bound<'_, PyAny>> = if n == 1
                    && r.cast::<pyo3::types::PyList>().is_err()
                    && r.cast::<pyo3::types::PyTuple>().is_err()
                {
                    vec![r]
                } else {
                    r.try_iter()
                        .map_err(super::errors::stash)?
                        .collect::<PyResult<_>>()
                        .map_err(super::errors::stash)?
                };
                if items.len() != n {
                    return Err(crate::Error::InvalidArgument(format!(
                        "custom_gradient: the gradient function returned {} values for {n} inputs",
                        items.len()
                    )));
                }
                items
                    .iter()
                    .map(|x| {
                        if x.is_none() {
                            Ok(None)
                        } else {
                            to_tensor(x, None, false)
                                .map(Some)
                                .map_err(super::errors::stash)
                        }
                    })
                    .collect()
            })
        })
    })?;
    Ok(outs.into_iter().map(PyTensor::new).collect())
}

/// Adds the classes and functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyVariable>()?;
    m.add_class::<PyTape>()?;
    m.add_function(wrap_pyfunction!(stop_gradient, m)?)?;
    m.add_function(wrap_pyfunction!(identity, m)?)?;
    m.add_function(wrap_pyfunction!(apply_gradients, m)?)?;
    m.add_function(wrap_pyfunction!(pause_recording, m)?)?;
    m.add_function(wrap_pyfunction!(resume_recording, m)?)?;
    m.add_function(wrap_pyfunction!(hide_tapes, m)?)?;
    m.add_function(wrap_pyfunction!(unhide_tapes, m)?)?;
    m.add_function(wrap_pyfunction!(record_gradient, m)?)?;
    m.add_function(wrap_pyfunction!(begin_variable_watch, m)?)?;
    m.add_function(wrap_pyfunction!(end_variable_watch, m)?)?;
    Ok(())
}
