//! Python bindings (the `rstf._rstf` extension module), built with the `python` feature.
//! Bindings are split by domain: the Tensor class, value conversion, op functions, errors.

mod autodiff;
mod convert;
mod dlpack;
mod errors;
mod functions;
mod graph;
mod host;
mod saved;
mod tensor;

use pyo3::prelude::*;

/// Tensor buffers are reused through the host cache (see `crate::alloc`).
#[global_allocator]
static HOST: crate::alloc::HostCache = crate::alloc::HostCache;

/// The extension module.
#[pymodule]
fn _rstf(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<tensor::PyTensor>()?;
    m.add_function(wrap_pyfunction!(tensor::_set_helpers, m)?)?;
    functions::register(m)?;
    autodiff::register(m)?;
    graph::register(m)?;
    saved::register(m)?;
    host::register(m)?;
    dlpack::register(m)?;
    Ok(())
}
