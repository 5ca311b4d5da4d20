//! The Python `Tensor` class: properties, Python protocols (numbers, indexing, iteration,
//! numpy), and operators, all in Rust so that `x + y` costs one call.

use super::convert::{exact_tensor, to_numpy, to_tensor};
use crate::dtype::DType;
use crate::ops::movement::SliceItem;
use crate::ops::{BinaryOp, UnaryOp};
use crate::{Error, Tensor};
use pyo3::basic::CompareOp;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyEllipsis, PyList, PySlice, PyTuple};

/// Python objects the bindings hand back: the dtype objects and TensorShape, and the
/// formatter for `repr`/`str`. Set once by `rstf/__init__.py`.
struct Helpers {
    dtypes: Vec<Py<PyAny>>,
    shape_cls: Py<PyAny>,
    fmt: Py<PyAny>,
}

static HELPERS: PyOnceLock<Helpers> = PyOnceLock::new();

/// Registers the Python helpers (called once at import).
#[pyfunction]
pub fn _set_helpers(
    py: Python<'_>,
    dtypes: Vec<Py<PyAny>>,
    shape_cls: Py<PyAny>,
    fmt: Py<PyAny>,
) -> PyResult<()> {
    if dtypes.len() != DType::ALL.len() {
        return Err(PyValueError::new_err(
            "_set_helpers: one dtype object per dtype expected",
        ));
    }
    let _ = HELPERS.set(
        py,
        Helpers {
            dtypes,
            shape_cls,
            fmt,
        },
    );
    Ok(())
}

fn helpers(py: Python<'_>) -> PyResult<&Helpers> {
    HELPERS
        .get(py)
        .ok_or_else(|| PyTypeError::new_err("rstf is not initialised: import rstf"))
}

/// The Python object for a dtype.
pub fn dtype_object(py: Python<'_>, dt: DType) -> PyResult<Py<PyAny>> {
    let i = DType::ALL.iter().position(|&d| d == dt).unwrap_or(0);
    Ok(helpers(py)?.dtypes[i].clone_ref(py))
}

/// A `TensorShape` for `dims`.
pub fn shape_object(py: Python<'_>, dims: &[usize]) -> PyResult<Py<PyAny>> {
    let dims = PyTuple::new(py, dims)?;
    Ok(helpers(py)?.shape_cls.bind(py).call1((dims,))?.unbind())
}

/// Elements above which kernels run with the GIL released.
pub(crate) const DETACH_MIN: usize = 1 << 15;

/// Runs `f` with the GIL released when `work` is large.
pub fn run<F>(py: Python<'_>, work: usize, f: F) -> PyResult<Tensor>
where
    F: FnOnce() -> crate::Result<Tensor> + Send,
{
    let r = if work >= DETACH_MIN {
        py.detach(f)
    } else {
        f()
    };
    r.map_err(|e| super::errors::to_pyerr(py, e))
}

/// An immutable multi-dimensional array with a dtype and a shape.
#[pyclass(name = "Tensor", module = "rstf", frozen, subclass)]
pub struct PyTensor {
    t: Tensor,
}

impl PyTensor {
    /// Wraps a tensor.
    pub fn new(t: Tensor) -> Self {
        PyTensor { t }
    }

    /// The wrapped tensor (a cheap clone).
    pub fn tensor(&self) -> Tensor {
        self.t.clone()
    }

    fn other(&self, other: &Bound<'_, PyAny>) -> PyResult<Tensor> {
        if let Some(t) = exact_tensor(other) {
            return Ok(t);
        }
        to_tensor(other, Some(self.t.dtype()), true)
    }

    fn bin(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        op: BinaryOp,
        reflected: bool,
    ) -> PyResult<PyTensor> {
        let converted;
        let o = match other.cast::<PyTensor>() {
            Ok(t) => &t.get().t,
            Err(_) => {
                converted = self.other(other)?;
                &converted
            }
        };
        let (a, b) = if reflected {
            (o, &self.t)
        } else {
            (&self.t, o)
        };
        let work = a.numel().max(b.numel());
        run(py, work, || a.binary(b, op)).map(PyTensor::new)
    }

    fn logical_xor(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        if self.t.dtype() != DType::Bool {
            return Err(Error::InvalidArgument(format!(
                "LogicalXor: `^` is defined for bool tensors, got {}",
                self.t.dtype()
            ))
            .into());
        }
        self.bin(py, o, BinaryOp::NotEqual, false)
    }

    fn truediv(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        reflected: bool,
    ) -> PyResult<PyTensor> {
        let o = self.other(other)?;
        let (a, b) = if reflected {
            (o, self.t.clone())
        } else {
            (self.t.clone(), o)
        };
        if a.dtype() != b.dtype() {
            // TypeError, as TensorFlow's `/` raises it before any op runs.
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "truediv: `x` and `y` must have the same dtype, got {} != {} (shapes {:?} and {:?})",
                a.dtype(),
                b.dtype(),
                a.shape(),
                b.shape()
            )));
        }
        let work = a.numel().max(b.numel());
        run(py, work, move || truediv(&a, &b)).map(PyTensor::new)
    }

    /// Refuses to read the values of a traced tensor: they are only an example.
    fn concrete(&self, what: &str) -> PyResult<()> {
        if crate::graph::trace::is_symbolic(&self.t) {
            return Err(super::errors::graph_error(format!(
                "Using a symbolic rstf.Tensor as {what} is not allowed inside rstf.function: the value is not known while tracing. Use rstf.cond or rstf.while_loop for control flow that depends on a tensor, and compute with tensor ops instead of Python values"
            )));
        }
        Ok(())
    }

    fn scalar_value(&self, what: &str) -> PyResult<Tensor> {
        self.concrete(what)?;
        if self.t.numel() != 1 {
            // TypeError, as numpy's and TensorFlow's float() and int() of an array.
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "{what}: only a tensor with one element can be converted, got shape {:?}",
                self.t.shape()
            )));
        }
        Ok(self.t.clone())
    }
}

/// Python's `/`: integers are cast to a float type first (int8/uint8 to float32, wider to
/// float64), as TensorFlow's `truediv`.
pub fn truediv(a: &Tensor, b: &Tensor) -> crate::Result<Tensor> {
    let dt = a.dtype();
    if dt == DType::Bool {
        return Err(Error::InvalidArgument(
            "truediv: not supported for dtype bool".into(),
        ));
    }
    if dt.is_int() && b.dtype() == dt {
        let f = if matches!(dt, DType::I8 | DType::U8) {
            DType::F32
        } else {
            DType::F64
        };
        return a.cast(f)?.div(&b.cast(f)?);
    }
    a.div(b)
}

fn opt_i64(v: &Bound<'_, PyAny>) -> PyResult<Option<i64>> {
    if v.is_none() {
        Ok(None)
    } else {
        Ok(Some(v.extract::<i64>()?))
    }
}

/// Parses one element of an index expression.
fn slice_item(k: &Bound<'_, PyAny>) -> PyResult<SliceItem> {
    if k.is_none() {
        return Ok(SliceItem::NewAxis);
    }
    if k.is_instance_of::<PyEllipsis>() {
        return Ok(SliceItem::Ellipsis);
    }
    if let Ok(s) = k.cast::<PySlice>() {
        let step = opt_i64(&s.getattr("step")?)?.unwrap_or(1);
        return Ok(SliceItem::Range {
            start: opt_i64(&s.getattr("start")?)?,
            stop: opt_i64(&s.getattr("stop")?)?,
            step,
        });
    }
    if let Ok(t) = k.cast::<PyTensor>() {
        let t = &t.get().t;
        if t.rank() == 0 && t.dtype().is_int() {
            return Ok(SliceItem::Index(t.item_f64()? as i64));
        }
        return Err(PyTypeError::new_err(format!(
            "Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and scalar int32/int64 tensors are valid indices, got a tensor of shape {:?} and dtype {}",
            t.shape(),
            t.dtype()
        )));
    }
    match k.extract::<i64>() {
        Ok(i) if !k.is_instance_of::<pyo3::types::PyBool>() => Ok(SliceItem::Index(i)),
        _ => Err(PyTypeError::new_err(format!(
            "Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and scalar int32/int64 tensors are valid indices, got {}",
            k.repr()?
        ))),
    }
}

#[pymethods]
impl PyTensor {
    #[classattr]
    #[allow(non_upper_case_globals)]
    const __array_priority__: i32 = 100;

    /// The shape, as a `TensorShape`.
    #[getter]
    fn shape(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        shape_object(py, self.t.shape())
    }

    /// The element type.
    #[getter]
    fn dtype(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dtype_object(py, self.t.dtype())
    }

    /// Number of dimensions.
    #[getter]
    fn ndim(&self) -> usize {
        self.t.rank()
    }

    /// The device holding the tensor.
    #[getter]
    fn device(&self) -> &'static str {
        self.t.device().name()
    }

    /// The values as numpy: a read-only view of the buffer (no copy) where numpy can view the
    /// dtype, a numpy scalar for a scalar tensor.
    fn numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.concrete("a numpy value")?;
        if self.t.rank() == 0 {
            // A numpy scalar, as TensorFlow's `.numpy()` of a scalar.
            return to_numpy(py, &self.t)?.get_item(());
        }
        super::host::host_array(py, &self.t)
    }

    /// Tensors are immutable: a copy is the tensor itself.
    fn __copy__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __deepcopy__<'py>(slf: Bound<'py, Self>, _memo: Bound<'py, PyAny>) -> Bound<'py, Self> {
        slf
    }

    /// Pickles as `rstf.constant(numpy value)`.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        self.concrete("a pickled value")?;
        let constant = py.import("rstf")?.getattr("constant")?;
        let value = to_numpy(py, &self.t)?;
        PyTuple::new(py, [constant, PyTuple::new(py, [value])?.into_any()])
    }

    /// A DLPack capsule sharing the buffer (read-only): versioned when the consumer asks
    /// with `max_version` 1 or later, the legacy capsule otherwise.
    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__<'py>(
        &self,
        py: Python<'py>,
        stream: Option<Bound<'py, PyAny>>,
        max_version: Option<(u32, u32)>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.concrete("a DLPack capsule")?;
        super::dlpack::dunder_dlpack(py, &self.t, stream, max_version, dl_device, copy)
    }

    /// DLPack's device of the exported buffer: always host memory (kDLCPU, 0).
    fn __dlpack_device__(&self) -> (i32, i32) {
        (1, 0)
    }

    #[pyo3(signature = (dtype=None, copy=None))]
    fn __array__<'py>(
        &self,
        py: Python<'py>,
        dtype: Option<Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.concrete("a numpy array")?;
        let dtype = dtype.filter(|d| !d.is_none());
        if copy == Some(true) {
            let a = to_numpy(py, &self.t.to_host()?)?;
            return match dtype {
                Some(d) => a.call_method1("astype", (d,)),
                None => Ok(a),
            };
        }
        let host = self.t.to_host()?;
        let view = super::host::numpy_view(py, &host)?;
        let a = match (view, copy) {
            (Some(a), _) => a,
            (None, None) => to_numpy(py, &host)?,
            (None, Some(_)) => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "Unable to avoid copy while creating an array as requested: a {} tensor on {} has no numpy view",
                    self.t.dtype(),
                    self.t.device().name()
                )))
            }
        };
        match dtype {
            None => Ok(a),
            Some(d) => {
                let kw = pyo3::types::PyDict::new(py);
                kw.set_item("copy", false)?;
                let out = a.call_method("astype", (d,), Some(&kw))?;
                if copy == Some(false) && !out.is(&a) {
                    return Err(pyo3::exceptions::PyValueError::new_err(format!(
                        "Unable to avoid copy while creating an array as requested: the tensor is {}",
                        self.t.dtype()
                    )));
                }
                Ok(out)
            }
        }
    }

    fn __len__(&self) -> PyResult<usize> {
        match self.t.shape().first() {
            Some(&n) => Ok(n),
            None => Err(PyTypeError::new_err(
                "len is not well defined for a rank-0 tensor",
            )),
        }
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if self.t.rank() == 0 {
            return Err(PyTypeError::new_err("Cannot iterate over a scalar tensor."));
        }
        let parts: Vec<PyTensor> = self.t.unstack(0)?.into_iter().map(PyTensor::new).collect();
        Ok(PyList::new(py, parts)?.try_iter()?.into_any())
    }

    fn __bool__(&self) -> PyResult<bool> {
        self.concrete("a Python bool")?;
        if self.t.numel() != 1 {
            return Err(PyValueError::new_err(format!(
                "The truth value of a tensor with {} elements (shape {:?}) is ambiguous. Use rstf.reduce_any or rstf.reduce_all",
                self.t.numel(),
                self.t.shape()
            )));
        }
        Ok(self.t.item_f64()? != 0.0)
    }

    fn __float__(&self) -> PyResult<f64> {
        Ok(self.scalar_value("float()")?.item_f64()?)
    }

    fn __int__(&self) -> PyResult<i64> {
        let t = self.scalar_value("int()")?;
        if t.dtype() == DType::I64 {
            return Ok(t.to_vec::<i64>()?[0]);
        }
        let v = t.item_f64()?;
        if !v.is_finite() {
            return Err(PyValueError::new_err(format!(
                "cannot convert {v} to integer"
            )));
        }
        Ok(v.trunc() as i64)
    }

    fn __index__(&self) -> PyResult<i64> {
        self.concrete("a Python index")?;
        if !(self.t.dtype().is_int()) || self.t.rank() != 0 {
            return Err(PyTypeError::new_err(format!(
                "Only scalar integer tensors can be used as an index, got shape {:?} and dtype {}",
                self.t.shape(),
                self.t.dtype()
            )));
        }
        self.__int__()
    }

    fn __getitem__(&self, key: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        let items: Vec<SliceItem> = if let Ok(t) = key.cast::<PyTuple>() {
            t.iter().map(|k| slice_item(&k)).collect::<PyResult<_>>()?
        } else {
            vec![slice_item(key)?]
        };
        Ok(PyTensor::new(self.t.slice(&items)?))
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let py = slf.py();
        helpers(py)?.fmt.bind(py).call1((slf, true))?.extract()
    }

    fn __str__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let py = slf.py();
        helpers(py)?.fmt.bind(py).call1((slf, false))?.extract()
    }

    fn __hash__(&self) -> PyResult<isize> {
        Err(PyTypeError::new_err(
            "Tensor is unhashable. Instead, use tensor.ref() as the key.",
        ))
    }

    fn __add__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.bin(py, o, BinaryOp::Add, false)
    }
    fn __radd__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.bin(py, o, BinaryOp::Add, true)
    }
    fn __sub__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.bin(py, o, BinaryOp::Sub, false)
    }
    fn __rsub__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.bin(py, o, BinaryOp::Sub, true)
    }
    fn __mul__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.bin(py, o, BinaryOp::Mul, false)
    }
    fn __rmul__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.bin(py, o, BinaryOp::Mul, true)
    }
    fn __truediv__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.truediv(py, o, false)
    }
    fn __rtruediv__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.truediv(py, o, true)
    }
    fn __floordiv__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.bin(py, o, BinaryOp::FloorDiv, false)
    }
    fn __rfloordiv__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.bin(py, o, BinaryOp::FloorDiv, true)
    }
    fn __mod__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.bin(py, o, BinaryOp::FloorMod, false)
    }
    fn __rmod__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.bin(py, o, BinaryOp::FloorMod, true)
    }
    fn __pow__(
        &self,
        py: Python<'_>,
        o: &Bound<'_, PyAny>,
        modulo: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        let _ = modulo;
        self.bin(py, o, BinaryOp::Pow, false)
    }
    fn __rpow__(
        &self,
        py: Python<'_>,
        o: &Bound<'_, PyAny>,
        modulo: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        let _ = modulo;
        self.bin(py, o, BinaryOp::Pow, true)
    }
    fn __and__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.bin(py, o, BinaryOp::LogicalAnd, false)
    }
    fn __rand__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.bin(py, o, BinaryOp::LogicalAnd, true)
    }
    fn __or__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.bin(py, o, BinaryOp::LogicalOr, false)
    }
    fn __ror__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.bin(py, o, BinaryOp::LogicalOr, true)
    }
    fn __xor__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.logical_xor(py, o)
    }
    fn __rxor__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.logical_xor(py, o)
    }
    fn __matmul__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        let (a, b) = (self.t.clone(), self.other(o)?);
        let work = a.numel().max(b.numel());
        run(py, work, move || a.matmul(&b, false, false)).map(PyTensor::new)
    }
    fn __rmatmul__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        let (a, b) = (self.other(o)?, self.t.clone());
        let work = a.numel().max(b.numel());
        run(py, work, move || a.matmul(&b, false, false)).map(PyTensor::new)
    }
    fn __neg__(&self, py: Python<'_>) -> PyResult<PyTensor> {
        let a = self.t.clone();
        run(py, a.numel(), move || a.unary(UnaryOp::Neg)).map(PyTensor::new)
    }
    fn __pos__(&self) -> PyTensor {
        PyTensor::new(self.t.clone())
    }
    fn __abs__(&self, py: Python<'_>) -> PyResult<PyTensor> {
        let a = self.t.clone();
        run(py, a.numel(), move || a.unary(UnaryOp::Abs)).map(PyTensor::new)
    }
    fn __invert__(&self) -> PyResult<PyTensor> {
        Ok(PyTensor::new(self.t.unary(UnaryOp::LogicalNot)?))
    }

    fn __richcmp__(
        &self,
        py: Python<'_>,
        o: &Bound<'_, PyAny>,
        op: CompareOp,
    ) -> PyResult<Py<PyAny>> {
        let bop = match op {
            CompareOp::Lt => BinaryOp::Less,
            CompareOp::Le => BinaryOp::LessEqual,
            CompareOp::Gt => BinaryOp::Greater,
            CompareOp::Ge => BinaryOp::GreaterEqual,
            CompareOp::Eq => BinaryOp::Equal,
            CompareOp::Ne => BinaryOp::NotEqual,
        };
        let eq = matches!(op, CompareOp::Eq | CompareOp::Ne);
        let r = self.bin(py, o, bop, false);
        match r {
            Ok(t) => Ok(Py::new(py, t)?.into_any()),
            // `x == None` and other incomparable values: plain Python booleans, as TF.
            Err(_) if eq => Ok(pyo3::types::PyBool::new(py, matches!(op, CompareOp::Ne))
                .to_owned()
                .into_any()
                .unbind()),
            Err(e) => Err(e),
        }
    }
}
