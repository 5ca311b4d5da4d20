//! Host buffers shared with numpy without copies, and host memory statistics.
//!
//! `t.numpy()` and `np.asarray(t)` of a host tensor are read-only numpy views of its storage:
//! the array's base object holds the storage (an `Arc`), so the memory lives as long as either
//! does, and tensors, being immutable, never change under the view (a variable's update copies
//! a storage that a view still holds). A numpy array whose memory nothing can write (such a
//! view, or an array over `bytes`) becomes a tensor the same way in reverse ([`share_numpy`]);
//! any other is copied, since the tensor would change whenever the array is written.

use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::Arc;

use half::f16;
use numpy::npyffi::{self, npy_intp, PY_ARRAY_API};
use numpy::{PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::storage::{SharedBuffer, Storage};
use crate::{DType, Tensor};

/// The base object of a numpy view: keeps the tensor's storage alive.
#[pyclass(frozen, name = "_HostBuffer", module = "rstf._rstf")]
pub struct HostBuffer {
    _storage: Arc<Storage>,
}

/// The numpy descriptor and element size of a dtype numpy can view, or `None` (bfloat16 and
/// strings have no numpy form of their own).
fn descr(py: Python<'_>, dt: DType) -> Option<(Bound<'_, numpy::PyArrayDescr>, usize)> {
    Some(match dt {
        DType::F16 => (numpy::dtype::<f16>(py), 2),
        DType::F32 => (numpy::dtype::<f32>(py), 4),
        DType::F64 => (numpy::dtype::<f64>(py), 8),
        DType::I8 => (numpy::dtype::<i8>(py), 1),
        DType::I32 => (numpy::dtype::<i32>(py), 4),
        DType::I64 => (numpy::dtype::<i64>(py), 8),
        DType::U8 => (numpy::dtype::<u8>(py), 1),
        DType::Bool => (numpy::dtype::<bool>(py), 1),
        _ => return None,
    })
}

/// A read-only numpy array viewing a host tensor's elements in place (any strides), or
/// `None` where numpy cannot view them (bfloat16, strings, GPU storage, no elements).
pub fn numpy_view<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Option<Bound<'py, PyAny>>> {
    if t.device() != crate::Device::Cpu || t.numel() == 0 {
        return Ok(None);
    }
    let Some((d, size)) = descr(py, t.dtype()) else {
        return Ok(None);
    };
    let base = t.storage().as_bytes();
    let layout = t.layout();
    if base.is_empty() {
        return Ok(None);
    }
    let mut dims: Vec<npy_intp> = layout.shape.iter().map(|&n| n as npy_intp).collect();
    let mut strides: Vec<npy_intp> = layout
        .strides
        .iter()
        .map(|&s| (s * size as isize) as npy_intp)
        .collect();
    let data = base[layout.offset * size..].as_ptr() as *mut c_void;
    let owner = Bound::new(
        py,
        HostBuffer {
            _storage: t.storage().clone(),
        },
    )?;
    // SAFETY: `data` points at the view's first element inside the storage, and `Layout`
    // keeps every element the shape and strides reach inside it (`Tensor::from_parts`).
    // numpy takes a reference to the descriptor; flags 0 makes the array read-only. On
    // success, SetBaseObject takes the owner's reference (given by `into_ptr`), which keeps
    // the storage, and so `data`, alive for the array's life.
    unsafe {
        let arr = PY_ARRAY_API.PyArray_NewFromDescr(
            py,
            npyffi::get_type_object(py, npyffi::NpyTypes::PyArray_Type),
            d.into_dtype_ptr(),
            dims.len() as i32,
            dims.as_mut_ptr(),
            strides.as_mut_ptr(),
            data,
            0,
            std::ptr::null_mut(),
        );
        let arr = Bound::from_owned_ptr_or_err(py, arr)?;
        let rc = PY_ARRAY_API.PyArray_SetBaseObject(
            py,
            arr.as_ptr() as *mut npyffi::PyArrayObject,
            owner.into_ptr(),
        );
        if rc != 0 {
            return Err(PyErr::fetch(py));
        }
        Ok(Some(arr))
    }
}

/// A host tensor's values as numpy: a read-only view where numpy can view them, else a new
/// array (bfloat16 as float32, strings as bytes objects, GPU tensors copied to the host).
pub fn host_array<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    let host = t.to_host()?;
    match numpy_view(py, &host)? {
        Some(a) => Ok(a),
        None => super::convert::to_numpy(py, &host),
    }
}

/// True when nothing can write the array's memory: the array and every array it views are
/// read-only, and the memory belongs to a tensor (`_HostBuffer`) or a `bytes` object. An
/// array owning its memory is not enough: numpy lets its owner make it writable again.
fn immutable(arr: &Bound<'_, PyAny>) -> PyResult<bool> {
    let mut cur = arr.clone();
    loop {
        if cur.cast::<PyUntypedArray>().is_err() {
            return Ok(cur.cast::<HostBuffer>().is_ok()
                || cur.is_exact_instance_of::<pyo3::types::PyBytes>());
        }
        if cur
            .getattr("flags")?
            .getattr("writeable")?
            .extract::<bool>()?
        {
            return Ok(false);
        }
        cur = cur.getattr("base")?;
        if cur.is_none() {
            return Ok(false);
        }
    }
}

/// Keeps a numpy array alive for a tensor sharing its memory.
struct NumpyOwner(#[allow(dead_code)] Py<PyAny>);

/// A tensor sharing an aligned numpy array's memory where nothing can write it (see
/// [`immutable`]), or `None` where it must copy: a writable array could change under the
/// tensor.
pub fn share_numpy(arr: &Bound<'_, PyUntypedArray>) -> PyResult<Option<Tensor>> {
    let d = arr.dtype();
    let dt = match (d.kind(), d.itemsize()) {
        (b'f', 2) => DType::F16,
        (b'f', 4) => DType::F32,
        (b'f', 8) => DType::F64,
        (b'i', 1) => DType::I8,
        (b'i', 4) => DType::I32,
        (b'i', 8) => DType::I64,
        (b'u', 1) => DType::U8,
        (b'b', 1) => DType::Bool,
        _ => return Ok(None),
    };
    let flags = arr.getattr("flags")?;
    let native = d.is_native_byteorder().unwrap_or(false);
    if !native
        || !flags.getattr("c_contiguous")?.extract::<bool>()?
        || !flags.getattr("aligned")?.extract::<bool>()?
        || arr.len() == 0
        || !immutable(arr.as_any())?
    {
        return Ok(None);
    }
    // SAFETY: reading the data pointer of a live array.
    let ptr = unsafe { (*(arr.as_ptr() as *mut npyffi::PyArrayObject)).fields.data } as *mut u8;
    let Some(ptr) = NonNull::new(ptr) else {
        return Ok(None);
    };
    if !(ptr.as_ptr() as usize).is_multiple_of(dt.size()) {
        return Ok(None);
    }
    let shape = arr.shape().to_vec();
    let n: usize = shape.iter().product();
    let owner: Arc<dyn Send + Sync> = Arc::new(NumpyOwner(arr.clone().into_any().unbind()));
    // SAFETY: a C-contiguous, aligned array of `n` elements of `dt` at `ptr`, kept alive by
    // the owner; nothing writes it (`immutable`), and numpy bool arrays hold bytes 0 and 1.
    let b = unsafe { SharedBuffer::new(dt, ptr, n, owner) };
    Ok(Some(Tensor::from_storage(Storage::Shared(b), &shape)))
}

/// Host memory statistics of the process's tensors (see `rstf::alloc`).
#[pyfunction]
fn _host_memory_info(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let s = crate::alloc::stats();
    let d = PyDict::new(py);
    d.set_item("current", s.current)?;
    d.set_item("peak", s.peak)?;
    d.set_item("cached", s.cached)?;
    d.set_item("cache_limit", s.limit)?;
    d.set_item("cache_hits", s.hits)?;
    d.set_item("cache_misses", s.misses)?;
    Ok(d)
}

/// Sets the host cache's byte limit (releasing blocks beyond it).
#[pyfunction]
fn _set_host_cache_limit(bytes: usize) {
    crate::alloc::set_limit(bytes)
}

/// Gives cached host blocks back to the system; returns the bytes released.
#[pyfunction]
fn _release_host_cache() -> usize {
    crate::alloc::release()
}

/// Restarts the peak statistic from the current bytes.
#[pyfunction]
fn _reset_host_peak() {
    crate::alloc::reset_peak()
}

/// Adds the host memory functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<HostBuffer>()?;
    m.add_function(wrap_pyfunction!(_host_memory_info, m)?)?;
    m.add_function(wrap_pyfunction!(_set_host_cache_limit, m)?)?;
    m.add_function(wrap_pyfunction!(_release_host_cache, m)?)?;
    m.add_function(wrap_pyfunction!(_reset_host_peak, m)?)?;
    Ok(())
}
