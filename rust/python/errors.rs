//! The one place where Rust errors become Python exceptions. Each [`Error`] variant maps to
//! the class of the same TensorFlow name defined in `rstf/errors.py` (all subclasses of
//! `rstf.errors.OpError`; `InvalidArgumentError` is also a `ValueError`).

use crate::Error;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn class_name(e: &Error) -> &'static str {
    match e {
        Error::InvalidArgument(_) => "InvalidArgumentError",
        Error::ResourceExhausted(_) => "ResourceExhaustedError",
        Error::OutOfRange(_) => "OutOfRangeError",
        Error::Unimplemented(_) => "UnimplementedError",
        Error::Internal(_) => "InternalError",
        Error::NotFound(_) => "NotFoundError",
        Error::DataLoss(_) => "DataLossError",
        Error::Unknown(_) => "UnknownError",
        Error::Runtime(_) | Error::Callback { .. } => "RuntimeError",
        Error::TooLarge(_) => "ResourceExhaustedError",
    }
}

/// The Rust error that carries `e`, a Python exception raised inside a callback that Rust
/// called (a custom gradient), up the stack to be raised again unchanged.
pub fn stash(e: PyErr) -> Error {
    let message = e.to_string();
    Error::Callback {
        payload: crate::error::Payload(std::sync::Arc::new(e)),
        message,
    }
}

/// `rstf.errors.OperatorNotAllowedInGraphError` (a `TypeError`) with `msg`.
pub fn graph_error(msg: String) -> PyErr {
    Python::attach(|py| {
        let cls = py
            .import("rstf.errors")
            .and_then(|m| m.getattr("OperatorNotAllowedInGraphError"))
            .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
        match cls {
            Ok(cls) => PyErr::from_type(cls, msg),
            Err(_) => pyo3::exceptions::PyTypeError::new_err(msg),
        }
    })
}

/// Builds the Python exception for `e`.
pub fn to_pyerr(py: Python<'_>, e: Error) -> PyErr {
    if let Error::Callback { payload, message } = &e {
        return match payload.0.downcast_ref::<PyErr>() {
            Some(err) => err.clone_ref(py),
            None => PyRuntimeError::new_err(message.clone()),
        };
    }
    if let Error::Runtime(m) = e {
        return PyRuntimeError::new_err(m);
    }
    let module = ERRORS.get_or_try_init(py, || py.import("rstf.errors").map(|m| m.unbind()));
    let cls = module
        .and_then(|m| m.bind(py).getattr(class_name(&e)))
        .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
    match cls {
        Ok(cls) => PyErr::from_type(cls, e.to_string()),
        Err(_) => PyRuntimeError::new_err(e.to_string()),
    }
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        Python::attach(|py| to_pyerr(py, e))
    }
}
