//! Files from Python: named tensors in safetensors files (checkpoints, Keras weights) and saved
//! models (`rstf.saved_model` builds the object tree in Python; this module writes and reads
//! it with the graphs and variables). I/O runs with the GIL released.

use super::autodiff::PyVariable;
use super::convert::to_tensor;
use super::graph::PyGraph;
use super::tensor::PyTensor;
use crate::saved::model::ObjectDef;
use crate::saved::{tensors, SavedFunction, SavedModel};
use crate::Tensor;
use pyo3::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn json_err(what: &str, e: serde_json::Error) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(format!("{what}: {e}"))
}

/// Writes named tensors (or variables, or arrays) and string metadata to a safetensors file.
#[pyfunction]
fn save_tensors(
    py: Python<'_>,
    path: PathBuf,
    items: Vec<(String, Bound<'_, PyAny>)>,
    metadata: BTreeMap<String, String>,
) -> PyResult<()> {
    let ts: Vec<(String, Tensor)> = items
        .iter()
        .map(|(k, v)| {
            let t = match v.cast::<PyVariable>() {
                Ok(var) => var.get().v.peek(),
                Err(_) => to_tensor(v, None, false)?,
            };
            Ok((k.clone(), t))
        })
        .collect::<PyResult<_>>()?;
    py.detach(|| tensors::write(&path, &ts, &metadata))
        .map_err(|e| super::errors::to_pyerr(py, e))
}

type TensorsRead = (Vec<(String, PyTensor)>, BTreeMap<String, String>);

/// Reads a safetensors file: `([(name, tensor)], metadata)`.
#[pyfunction]
fn load_tensors(py: Python<'_>, path: PathBuf) -> PyResult<TensorsRead> {
    let (ts, meta) = py
        .detach(|| tensors::read(&path))
        .map_err(|e| super::errors::to_pyerr(py, e))?;
    Ok((
        ts.into_iter().map(|(k, t)| (k, PyTensor::new(t))).collect(),
        meta,
    ))
}

#[pyfunction]
fn saved_model_write(
    py: Python<'_>,
    dir: PathBuf,
    objects: &str,
    functions: Vec<(PyRef<'_, PyGraph>, String, String)>,
    variables: Vec<(String, PyRef<'_, PyVariable>)>,
) -> PyResult<()> {
    let objects: Vec<ObjectDef> =
        serde_json::from_str(objects).map_err(|e| json_err("saved_model.save: objects", e))?;
    let functions = functions
        .iter()
        .map(|(g, name, sig)| {
            Ok(SavedFunction {
                name: name.clone(),
                signature: serde_json::from_str(sig)
                    .map_err(|e| json_err("saved_model.save: signature", e))?,
                graph: g.graph().clone(),
            })
        })
        .collect::<PyResult<_>>()?;
    let model = SavedModel {
        objects,
        variables: variables
            .iter()
            .map(|(k, v)| (k.clone(), v.v.clone()))
            .collect(),
        functions,
    };
    py.detach(|| model.save(&dir))
        .map_err(|e| super::errors::to_pyerr(py, e))
}

type Loaded = (
    String,
    Vec<(PyGraph, String, String)>,
    Vec<(String, PyVariable)>,
);

/// Reads a saved model: `(objects JSON, [(graph, name, signature JSON)], [(key, variable)])`.
#[pyfunction]
fn saved_model_read(py: Python<'_>, dir: PathBuf) -> PyResult<Loaded> {
    let m = py
        .detach(|| SavedModel::load(&dir))
        .map_err(|e| super::errors::to_pyerr(py, e))?;
    let objects = serde_json::to_string(&m.objects).map_err(|e| json_err("objects", e))?;
    Ok((
        objects,
        m.functions
            .into_iter()
            .map(|f| (PyGraph::new(f.graph), f.name, f.signature.to_string()))
            .collect(),
        m.variables
            .into_iter()
            .map(|(k, v)| (k, PyVariable { v }))
            .collect(),
    ))
}

/// The limits that graphs read from files run under (see `crate::limits`):
/// `(max_loop_iterations, max_value_bytes, value_bytes_per_input_byte)`.
#[pyfunction]
fn load_limits() -> (u64, u64, u64) {
    let l = crate::limits::get();
    (
        l.max_loop_iterations,
        l.max_value_bytes,
        l.value_bytes_per_input_byte,
    )
}

/// Replaces the limits in force on this thread (see `crate::limits::swap_active`).
#[pyfunction]
fn swap_thread_limits(limits: Option<(u64, u64)>) -> Option<(u64, u64)> {
    crate::limits::swap_active(limits)
}

/// Sets the limits that graphs read from files run under.
#[pyfunction]
fn set_load_limits(
    max_loop_iterations: u64,
    max_value_bytes: u64,
    value_bytes_per_input_byte: u64,
) {
    crate::limits::set(crate::limits::Limits {
        max_loop_iterations,
        max_value_bytes,
        value_bytes_per_input_byte,
    });
}

/// Adds the functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(load_limits, m)?)?;
    m.add_function(wrap_pyfunction!(set_load_limits, m)?)?;
    m.add_function(wrap_pyfunction!(swap_thread_limits, m)?)?;
    m.add_function(wrap_pyfunction!(save_tensors, m)?)?;
    m.add_function(wrap_pyfunction!(load_tensors, m)?)?;
    m.add_function(wrap_pyfunction!(saved_model_write, m)?)?;
    m.add_function(wrap_pyfunction!(saved_model_read, m)?)?;
    Ok(())
}
