//! Conversion between Python values and tensors: Python scalars and nested sequences (with
//! TensorFlow's dtype inference), numpy arrays (keeping their dtype), and back to numpy.

use super::tensor::PyTensor;
use crate::dtype::{DType, Element};
use crate::{Error, Tensor};
use half::f16;
use numpy::{
    PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PySequence, PyTuple};

/// A scalar read from Python.
#[derive(Clone, Copy)]
enum Scalar {
    B(bool),
    I(i64),
    F(f64),
}

/// Parses a dtype name given by the Python layer.
pub fn parse_dtype(name: &str) -> PyResult<DType> {
    DType::from_name(name).ok_or_else(|| PyTypeError::new_err(format!("unsupported dtype: {name}")))
}

/// A Python bool, int or float (not their numpy subclasses, which keep their own dtype).
fn scalar_of(obj: &Bound<'_, PyAny>) -> PyResult<Option<Scalar>> {
    if obj.is_exact_instance_of::<PyBool>() {
        Ok(Some(Scalar::B(obj.is_truthy()?)))
    } else if obj.is_exact_instance_of::<PyInt>() {
        match obj.extract::<i64>() {
            Ok(v) => Ok(Some(Scalar::I(v))),
            Err(_) => Err(Error::InvalidArgument(format!(
                "Can't convert Python int {} to a Tensor: it does not fit in int64",
                obj.repr()?
            ))
            .into()),
        }
    } else if obj.is_exact_instance_of::<PyFloat>() {
        Ok(Some(Scalar::F(obj.extract::<f64>()?)))
    } else {
        Ok(None)
    }
}

fn ragged() -> PyErr {
    Error::InvalidArgument("Can't convert non-rectangular Python sequence to Tensor.".into()).into()
}

/// Walks a nested list/tuple, recording its shape and its scalars in row-major order.
fn walk(
    obj: &Bound<'_, PyAny>,
    depth: usize,
    shape: &mut Vec<usize>,
    leaf_depth: &mut Option<usize>,
    out: &mut Vec<Scalar>,
) -> PyResult<bool> {
    if let Some(s) = scalar_of(obj)? {
        match *leaf_depth {
            None => *leaf_depth = Some(depth),
            Some(d) if d != depth => return Err(ragged()),
            _ => {}
        }
        out.push(s);
        return Ok(true);
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let seq = obj.cast::<PySequence>()?;
        let n = seq.len()?;
        if depth == shape.len() {
            if leaf_depth.is_some_and(|d| d <= depth) {
                return Err(ragged());
            }
            shape.push(n);
        } else if shape[depth] != n {
            return Err(ragged());
        }
        if n == 0 && leaf_depth.is_none() {
            *leaf_depth = Some(depth + 1);
        } else if n == 0 && *leaf_depth != Some(depth + 1) {
            return Err(ragged());
        }
        for item in seq.try_iter()? {
            if !walk(&item?, depth + 1, shape, leaf_depth, out)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    // Something else (a tensor, a numpy value): the caller converts element-wise instead.
    Ok(false)
}

fn build<T: Element>(
    vals: &[Scalar],
    shape: &[usize],
    conv: impl Fn(Scalar) -> PyResult<T>,
) -> PyResult<Tensor> {
    let v: Vec<T> = vals.iter().map(|&s| conv(s)).collect::<PyResult<_>>()?;
    Ok(Tensor::from_vec(v, shape)?)
}

fn scalars_to_tensor(vals: &[Scalar], shape: &[usize], dtype: Option<DType>) -> PyResult<Tensor> {
    let inferred = || {
        let mut dt = DType::Bool;
        for s in vals {
            match s {
                Scalar::F(_) => return DType::F32,
                Scalar::I(v) if *v > i32::MAX as i64 || *v < i32::MIN as i64 => dt = DType::I64,
                Scalar::I(_) if dt == DType::Bool => dt = DType::I32,
                _ => {}
            }
        }
        if vals.is_empty() {
            DType::F32
        } else {
            dt
        }
    };
    let dt = dtype.unwrap_or_else(inferred);
    if dt == DType::String {
        if vals.is_empty() {
            return Ok(Tensor::from_strings(Vec::new(), shape)?);
        }
        return Err(PyTypeError::new_err(
            "Cannot convert numbers or bools to EagerTensor of dtype string",
        ));
    }
    crate::with_dtype!(dt, T => build::<T>(vals, shape, |s| match s {
        Scalar::B(b) => Ok(T::of_f64(b as u8 as f64)),
        Scalar::I(i) => {
            if dt == DType::Bool {
                return Err(PyTypeError::new_err(format!("Cannot convert {i} to EagerTensor of dtype bool")));
            }
            let v = T::of_i64(i);
            if !dt.is_float() && v.as_i64() != i {
                return Err(PyTypeError::new_err(format!("Cannot convert {i} to EagerTensor of dtype {dt}: out of range")));
            }
            Ok(v)
        }
        Scalar::F(f) => {
            if !dt.is_float() && (dt == DType::Bool || f.fract() != 0.0 || !f.is_finite()) {
                return Err(PyTypeError::new_err(format!("Cannot convert {f} to EagerTensor of dtype {dt}")));
            }
            Ok(T::of_f64(f))
        }
    }))
}

macro_rules! np_read {
    ($obj:expr, $T:ty) => {{
        let a = $obj.cast::<PyArrayDyn<$T>>()?.readonly();
        let view = a.as_array();
        let shape = view.shape().to_vec();
        let mut v: Vec<$T> = crate::storage::try_alloc(view.len(), "constant")?;
        match view.as_slice() {
            Some(s) => v.extend_from_slice(s),
            None => v.extend(view.iter().copied()),
        }
        Tensor::from_vec(v, &shape)?
    }};
}

/// Converts a numpy array, keeping its dtype (16-bit and unsigned wide integers widen).
fn from_numpy(obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let arr = obj.cast::<PyUntypedArray>()?;
    let d = arr.dtype();
    let (kind, size) = (d.kind(), d.itemsize());
    let native = d.is_native_byteorder().unwrap_or(true);
    if let Some(t) = super::host::share_numpy(arr)? {
        return Ok(t);
    }
    let t = match (kind, size) {
        _ if !native => {
            let fixed = obj.call_method1("astype", (d.call_method1("newbyteorder", ("=",))?,))?;
            return from_numpy(&fixed);
        }
        (b'f', 2) => np_read!(obj, f16),
        (b'f', 4) => np_read!(obj, f32),
        (b'f', 8) => np_read!(obj, f64),
        (b'i', 1) => np_read!(obj, i8),
        (b'i', 4) => np_read!(obj, i32),
        (b'i', 8) => np_read!(obj, i64),
        (b'u', 1) => np_read!(obj, u8),
        (b'b', 1) => np_read!(obj, bool),
        (b'i', 2) | (b'u', 2) => return from_numpy(&obj.call_method1("astype", ("int32",))?),
        (b'u', 4) | (b'u', 8) => return from_numpy(&obj.call_method1("astype", ("int64",))?),
        (b'S', _) | (b'U', _) | (b'O', _) => {
            let shape: Vec<usize> = arr.shape().to_vec();
            let t = strings_to_tensor(&obj.call_method0("tolist")?)?;
            return Ok(t.reshape_to(&shape)?);
        }
        _ => {
            return Err(PyTypeError::new_err(format!(
            "Failed to convert a NumPy array of dtype {} to a Tensor (unsupported element type)",
            d.str()?
        )))
        }
    };
    Ok(t)
}

/// Converts any supported Python value to a tensor. `dtype` forces the dtype (Python values
/// are converted to it directly, tensors and arrays must already match unless `cast`).
pub fn to_tensor(obj: &Bound<'_, PyAny>, dtype: Option<DType>, cast: bool) -> PyResult<Tensor> {
    if let Some(t) = exact_tensor(obj) {
        return finish(t, dtype, cast);
    }
    if let Some(s) = scalar_of(obj)? {
        if dtype == Some(DType::String) {
            return Err(PyTypeError::new_err(format!(
                "Cannot convert {} to EagerTensor of dtype string",
                obj.repr()?
            )));
        }
        return scalars_to_tensor(&[s], &[], dtype);
    }
    if starts_with_string(obj)? {
        if let Some(d) = dtype.filter(|&d| d != DType::String) {
            return Err(PyTypeError::new_err(format!(
                "Cannot convert {} (strings) to EagerTensor of dtype {d}",
                obj.repr()?
            )));
        }
        return strings_to_tensor(obj);
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut shape = Vec::new();
        let mut leaf = None;
        let mut vals = Vec::new();
        if walk(obj, 0, &mut shape, &mut leaf, &mut vals)? {
            return scalars_to_tensor(&vals, &shape, dtype);
        }
        // A sequence holding tensors or arrays: convert each element, then stack.
        let items: Vec<Bound<'_, PyAny>> = obj.try_iter()?.collect::<PyResult<_>>()?;
        let first_dtype = items
            .iter()
            .find_map(|i| i.cast::<PyTensor>().ok().map(|t| t.get().tensor().dtype()));
        let want = dtype.or(first_dtype);
        let parts: Vec<Tensor> = items
            .iter()
            .map(|i| to_tensor(i, want, cast))
            .collect::<PyResult<_>>()?;
        let strings = parts.iter().filter(|t| t.dtype() == DType::String).count();
        if strings > 0 && strings < parts.len() {
            return Err(PyTypeError::new_err(format!(
                "Failed to convert elements of {} to Tensor: it mixes strings and numbers",
                obj.repr()?
            )));
        }
        let t = Tensor::stack(&parts, 0).map_err(|_| ragged())?;
        return finish(t, dtype, cast);
    }
    if obj.cast::<PyUntypedArray>().is_ok() {
        return finish(from_numpy(obj)?, dtype, true);
    }
    // numpy scalars and anything with __array__.
    let py = obj.py();
    let np = py.import("numpy")?;
    if obj.hasattr("__array__")? || obj.hasattr("dtype")? {
        let arr = np.call_method1("asarray", (obj,))?;
        if arr.cast::<PyUntypedArray>().is_ok() {
            return finish(from_numpy(&arr)?, dtype, true);
        }
    }
    if let (Some(d), true) = (dtype, obj.is_instance_of::<pyo3::types::PyString>()) {
        // TensorFlow: a string asked to become a number is a TypeError.
        return Err(PyTypeError::new_err(format!(
            "Cannot convert {} (a str) to EagerTensor of dtype {d}",
            obj.repr()?
        )));
    }
    // ValueError, as TensorFlow's convert_to_tensor raises it.
    Err(pyo3::exceptions::PyValueError::new_err(format!(
        "Attempt to convert a value ({}) with an unsupported type ({}) to a Tensor.",
        obj.repr()?,
        obj.get_type().name()?
    )))
}

fn finish(t: Tensor, dtype: Option<DType>, cast: bool) -> PyResult<Tensor> {
    match dtype {
        Some(d) if d != t.dtype() => {
            if cast {
                Ok(t.cast(d)?)
            } else {
                Err(Error::InvalidArgument(format!(
                    "Tensor conversion requested dtype {d} for Tensor with dtype {}: shape {:?}",
                    t.dtype(),
                    t.shape()
                ))
                .into())
            }
        }
        _ => Ok(t),
    }
}

/// The tensor of a `Tensor`, or the value of a `Variable` (a read, seen by tapes).
pub fn exact_tensor(obj: &Bound<'_, PyAny>) -> Option<Tensor> {
    if let Ok(t) = obj.cast::<PyTensor>() {
        return Some(t.get().tensor());
    }
    if let Ok(v) = obj.cast::<super::autodiff::PyVariable>() {
        return Some(v.get().v.read());
    }
    None
}

/// Copies a tensor into a new numpy array (bfloat16 becomes float32, numpy has no bfloat16).
pub fn to_numpy<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    let shape = t.shape().to_vec();
    macro_rules! go {
        ($T:ty, $t:expr) => {{
            let v = $t.to_vec::<$T>()?;
            Ok(numpy::PyArray1::from_vec(py, v).reshape(shape)?.into_any())
        }};
    }
    match t.dtype() {
        DType::F16 => go!(f16, t),
        DType::BF16 => go!(f32, t.cast(DType::F32)?),
        DType::F32 => go!(f32, t),
        DType::F64 => go!(f64, t),
        DType::I8 => go!(i8, t),
        DType::I32 => go!(i32, t),
        DType::I64 => go!(i64, t),
        DType::U8 => go!(u8, t),
        DType::Bool => go!(bool, t),
        DType::String => {
            let v: Vec<Py<PyAny>> = t
                .to_strings()?
                .iter()
                .map(|s| pyo3::types::PyBytes::new(py, s).into_any().unbind())
                .collect();
            Ok(numpy::PyArray1::from_vec(py, v).reshape(shape)?.into_any())
        }
    }
}

/// The bytes of a Python `str` (as UTF-8) or `bytes` (numpy's `str_` and `bytes_` too).
fn string_of(obj: &Bound<'_, PyAny>) -> PyResult<Option<Box<[u8]>>> {
    if let Ok(s) = obj.cast::<pyo3::types::PyString>() {
        return Ok(Some(s.to_str()?.as_bytes().into()));
    }
    if let Ok(b) = obj.cast::<pyo3::types::PyBytes>() {
        return Ok(Some(b.as_bytes().into()));
    }
    Ok(None)
}

/// True when the first scalar of a nested list/tuple is a `str` or `bytes`.
fn starts_with_string(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    let mut cur = obj.clone();
    loop {
        if string_of(&cur)?.is_some() {
            return Ok(true);
        }
        if !(cur.is_instance_of::<PyList>() || cur.is_instance_of::<PyTuple>()) || cur.len()? == 0 {
            return Ok(false);
        }
        cur = cur.get_item(0)?;
    }
}

/// A string tensor from a `str`/`bytes` or a rectangular nested list/tuple of them.
fn strings_to_tensor(obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    fn walk_s(
        obj: &Bound<'_, PyAny>,
        depth: usize,
        shape: &mut Vec<usize>,
        leaf: &mut Option<usize>,
        out: &mut Vec<Box<[u8]>>,
    ) -> PyResult<()> {
        if let Some(s) = string_of(obj)? {
            if leaf.get_or_insert(depth) != &depth {
                return Err(ragged());
            }
            out.push(s);
            return Ok(());
        }
        if !(obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>()) {
            return Err(PyTypeError::new_err(format!(
                "Failed to convert elements of {} to Tensor: a string tensor holds only str or bytes, got {}",
                obj.repr()?,
                obj.get_type().name()?
            )));
        }
        let n = obj.len()?;
        if depth == shape.len() {
            if leaf.is_some_and(|d| d <= depth) {
                return Err(ragged());
            }
            shape.push(n);
        } else if shape[depth] != n {
            return Err(ragged());
        }
        for item in obj.try_iter()? {
            walk_s(&item?, depth + 1, shape, leaf, out)?;
        }
        Ok(())
    }
    let (mut shape, mut leaf, mut out) = (Vec::new(), None, Vec::new());
    walk_s(obj, 0, &mut shape, &mut leaf, &mut out)?;
    Ok(Tensor::from_strings(out, &shape)?)
}
