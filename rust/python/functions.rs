//! Op functions of the extension module. The Python package wraps them with TensorFlow's
//! signatures; here each takes tensors (or values convertible to tensors) and plain options.

use super::convert::{parse_dtype, to_tensor};
use super::tensor::{run, PyTensor};
use crate::ops::{BinaryOp, ReduceOp, UnaryOp};
use crate::Tensor;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

fn t(x: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    to_tensor(x, None, false)
}

fn wrap(v: Vec<Tensor>) -> Vec<PyTensor> {
    v.into_iter().map(PyTensor::new).collect()
}

fn unary_op(name: &str) -> PyResult<UnaryOp> {
    UnaryOp::from_python_name(name)
        .ok_or_else(|| PyValueError::new_err(format!("unknown unary op {name}")))
}

fn binary_op(name: &str) -> PyResult<BinaryOp> {
    use BinaryOp::*;
    Ok(match name {
        "add" => Add,
        "sub" => Sub,
        "mul" => Mul,
        "div" => Div,
        "floordiv" => FloorDiv,
        "floormod" => FloorMod,
        "pow" => Pow,
        "maximum" => Maximum,
        "minimum" => Minimum,
        "equal" => Equal,
        "not_equal" => NotEqual,
        "less" => Less,
        "less_equal" => LessEqual,
        "greater" => Greater,
        "greater_equal" => GreaterEqual,
        "logical_and" => LogicalAnd,
        "logical_or" => LogicalOr,
        _ => return Err(PyValueError::new_err(format!("unknown binary op {name}"))),
    })
}

fn reduce_op(name: &str) -> PyResult<ReduceOp> {
    Ok(match name {
        "sum" => ReduceOp::Sum,
        "prod" => ReduceOp::Prod,
        "max" => ReduceOp::Max,
        "min" => ReduceOp::Min,
        "any" => ReduceOp::Any,
        "all" => ReduceOp::All,
        _ => return Err(PyValueError::new_err(format!("unknown reduction {name}"))),
    })
}

/// Converts a value to a tensor; `dtype` converts Python values to it and casts arrays.
#[pyfunction]
#[pyo3(signature = (value, dtype=None, shape=None))]
fn constant(
    value: &Bound<'_, PyAny>,
    dtype: Option<&str>,
    shape: Option<Vec<i64>>,
) -> PyResult<PyTensor> {
    let dt = dtype.map(parse_dtype).transpose()?;
    let mut x = to_tensor(value, dt, true)?;
    if let Some(s) = shape {
        let dims: Vec<usize> = s.iter().map(|&d| d.max(0) as usize).collect();
        crate::layout::checked_numel(&dims, "Const")?;
        if s.iter().any(|&d| d < 0) {
            return Err(crate::Error::InvalidArgument(format!(
                "constant: shape {s:?} has negative dimensions"
            ))
            .into());
        }
        x = if x.numel() == 1 {
            x.reshape_to(&[])?.broadcast_to(&dims)?.contiguous()?
        } else {
            // TypeError, as TensorFlow's eager constant raises it.
            x.reshape(&s).map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err(format!(
                    "constant: expected a value with {} elements to fill shape {s:?}, got {} elements (shape {:?})",
                    dims.iter().product::<usize>(),
                    x.numel(),
                    x.shape()
                ))
            })?
        };
    }
    Ok(PyTensor::new(x.placed()?))
}

/// Sets this thread's device scope ("CPU", "GPU" or None) and returns the previous one.
#[pyfunction]
#[pyo3(signature = (device=None))]
fn set_device(device: Option<&str>) -> PyResult<Option<&'static str>> {
    use crate::device::{set_scope, Device};
    let d = match device {
        None => None,
        Some("CPU") => Some(Device::Cpu),
        Some("GPU") => Some(Device::Gpu),
        Some(other) => {
            return Err(crate::Error::InvalidArgument(format!(
                "device: unknown device type '{other}'; expected 'CPU' or 'GPU'"
            ))
            .into())
        }
    };
    Ok(set_scope(d).map(|d| match d {
        Device::Cpu => "CPU",
        Device::Gpu => "GPU",
    }))
}

/// The name of the GPU in use, or None when there is none.
#[pyfunction]
fn gpu_name(py: Python<'_>) -> Option<String> {
    #[cfg(feature = "gpu")]
    {
        // The first call loads the Vulkan drivers: let other Python threads run meanwhile.
        py.detach(crate::backend::wgpu::device_name)
    }
    #[cfg(not(feature = "gpu"))]
    {
        let _ = py;
        None
    }
}

/// True once the GPU has been looked for (its drivers are loaded then, if any).
#[pyfunction]
fn gpu_probed() -> bool {
    #[cfg(feature = "gpu")]
    {
        crate::backend::wgpu::probed()
    }
    #[cfg(not(feature = "gpu"))]
    {
        true
    }
}

/// The GPU backend's count `name` (0 without the GPU backend).
macro_rules! gpu_count {
    ($name:ident) => {{
        #[cfg(feature = "gpu")]
        {
            crate::backend::wgpu::$name()
        }
        #[cfg(not(feature = "gpu"))]
        {
            0
        }
    }};
}

/// GPU kernels dispatched so far (a count for tests of fusion).
#[pyfunction]
fn gpu_dispatches() -> u64 {
    gpu_count!(dispatches)
}

/// GPU bind groups created so far (a count for tests that repeated kernels reuse theirs).
#[pyfunction]
fn gpu_bind_groups() -> u64 {
    gpu_count!(bind_groups)
}

/// GPU buffers created so far (a count for tests that repeated ops reuse pooled buffers).
#[pyfunction]
fn gpu_buffers_created() -> u64 {
    gpu_count!(buffers_created)
}

/// Bytes read back from the GPU so far (a count for tests of what crosses to the host).
#[pyfunction]
fn gpu_bytes_read() -> u64 {
    gpu_count!(bytes_read)
}

/// Keeps the GPU off for this process (before its first use).
#[pyfunction]
fn disable_gpu() {
    #[cfg(feature = "gpu")]
    crate::backend::wgpu::disable();
}

/// A copy of `x` on `device` ("CPU" or "GPU"; a GPU that does not exist means the CPU).
#[pyfunction]
fn to_device(x: &Bound<'_, PyAny>, device: &str) -> PyResult<PyTensor> {
    let d = match device {
        "GPU" if crate::device::gpu_available() => crate::Device::Gpu,
        _ => crate::Device::Cpu,
    };
    Ok(PyTensor::new(t(x)?.to_device(d)?))
}

/// Converts a value to a tensor, requiring `dtype` when given (no silent cast of tensors).
#[pyfunction]
#[pyo3(signature = (value, dtype=None))]
fn convert_to_tensor(value: &Bound<'_, PyAny>, dtype: Option<&str>) -> PyResult<PyTensor> {
    let dt = dtype.map(parse_dtype).transpose()?;
    Ok(PyTensor::new(to_tensor(value, dt, false)?))
}

#[pyfunction]
fn unary(py: Python<'_>, x: &Bound<'_, PyAny>, op: &str) -> PyResult<PyTensor> {
    let (x, op) = (t(x)?, unary_op(op)?);
    run(py, x.numel(), move || x.unary(op)).map(PyTensor::new)
}

#[pyfunction]
fn binary(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    op: &str,
) -> PyResult<PyTensor> {
    let op = binary_op(op)?;
    let (a, b) = match (x.cast::<PyTensor>(), y.cast::<PyTensor>()) {
        (Ok(a), Ok(b)) => (a.get().tensor(), b.get().tensor()),
        (Ok(a), Err(_)) => {
            let a = a.get().tensor();
            let b = to_tensor(y, Some(a.dtype()), false)?;
            (a, b)
        }
        (Err(_), Ok(b)) => {
            let b = b.get().tensor();
            (to_tensor(x, Some(b.dtype()), false)?, b)
        }
        _ => {
            let a = t(x)?;
            let b = to_tensor(y, Some(a.dtype()), false)?;
            (a, b)
        }
    };
    let work = a.numel().max(b.numel());
    run(py, work, move || a.binary(&b, op)).map(PyTensor::new)
}

#[pyfunction]
fn truediv(py: Python<'_>, x: &Bound<'_, PyAny>, y: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    let a = t(x)?;
    let b = to_tensor(y, Some(a.dtype()), false)?;
    let work = a.numel().max(b.numel());
    run(py, work, move || super::tensor::truediv(&a, &b)).map(PyTensor::new)
}

#[pyfunction]
fn cast(py: Python<'_>, x: &Bound<'_, PyAny>, dtype: &str) -> PyResult<PyTensor> {
    let (x, dt) = (t(x)?, parse_dtype(dtype)?);
    run(py, x.numel(), move || x.cast(dt)).map(PyTensor::new)
}

#[pyfunction]
fn select(c: &Bound<'_, PyAny>, x: &Bound<'_, PyAny>, y: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    let x = t(x)?;
    let y = to_tensor(y, Some(x.dtype()), false)?;
    Ok(PyTensor::new(Tensor::select(&t(c)?, &x, &y)?))
}

#[pyfunction]
#[pyo3(signature = (x, op, axes, keepdims))]
fn reduce(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    op: &str,
    axes: Option<Vec<i64>>,
    keepdims: bool,
) -> PyResult<PyTensor> {
    let (x, op) = (t(x)?, reduce_op(op)?);
    run(py, x.numel(), move || {
        x.reduce(op, axes.as_deref(), keepdims)
    })
    .map(PyTensor::new)
}

#[pyfunction]
#[pyo3(signature = (x, axes, keepdims))]
fn mean(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    axes: Option<Vec<i64>>,
    keepdims: bool,
) -> PyResult<PyTensor> {
    let x = t(x)?;
    run(py, x.numel(), move || x.mean(axes.as_deref(), keepdims)).map(PyTensor::new)
}

/// Runs the primitive op described by `op`, in the JSON form graphs store it in
/// (`{"Cumulative": {"axis": 0, "prod": false, "exclusive": false, "reverse": false}}`), on
/// `inputs`. Ops reach Python through this, with no binding of their own.
#[pyfunction]
fn apply(py: Python<'_>, op: &str, inputs: Vec<Bound<'_, PyAny>>) -> PyResult<Vec<PyTensor>> {
    let op: crate::graph::Op = serde_json::from_str(op)
        .map_err(|e| PyValueError::new_err(format!("not an op description: {op}: {e}")))?;
    let ts: Vec<Tensor> = inputs.iter().map(t).collect::<PyResult<_>>()?;
    let work = ts.iter().map(Tensor::numel).max().unwrap_or(0);
    let r = if work >= super::tensor::DETACH_MIN {
        py.detach(|| op.eval(&ts))
    } else {
        op.eval(&ts)
    };
    Ok(wrap(r.map_err(|e| super::errors::to_pyerr(py, e))?))
}

#[pyfunction]
fn arg_reduce(x: &Bound<'_, PyAny>, axis: i64, max: bool) -> PyResult<PyTensor> {
    Ok(PyTensor::new(t(x)?.arg_reduce(axis, max)?))
}

#[pyfunction]
fn matmul(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    transpose_a: bool,
    transpose_b: bool,
) -> PyResult<PyTensor> {
    let (a, b) = (t(a)?, t(b)?);
    let work = a.numel().max(b.numel());
    run(py, work, move || a.matmul(&b, transpose_a, transpose_b)).map(PyTensor::new)
}

#[pyfunction]
fn softmax(py: Python<'_>, x: &Bound<'_, PyAny>, axis: i64, log: bool) -> PyResult<PyTensor> {
    let x = t(x)?;
    run(py, x.numel(), move || x.softmax(axis, log)).map(PyTensor::new)
}

#[pyfunction]
#[pyo3(signature = (x, op, alpha=0.2))]
fn activation(py: Python<'_>, x: &Bound<'_, PyAny>, op: &str, alpha: f64) -> PyResult<PyTensor> {
    let x = t(x)?;
    let op = op.to_string();
    run(py, x.numel(), move || match op.as_str() {
        "relu6" => x.relu6(),
        "leaky_relu" => x.leaky_relu(alpha),
        "elu" => x.elu(),
        "softplus" => x.softplus(),
        "gelu" => x.gelu(false),
        "gelu_tanh" => x.gelu(true),
        other => Err(crate::Error::InvalidArgument(format!(
            "unknown activation {other}"
        ))),
    })
    .map(PyTensor::new)
}

#[pyfunction]
fn transpose(x: &Bound<'_, PyAny>, perm: Vec<i64>) -> PyResult<PyTensor> {
    let x = t(x)?;
    let r = x.rank() as i64;
    let p: Vec<usize> = perm
        .iter()
        .map(|&a| {
            if a < 0 {
                (a + r).max(0) as usize
            } else {
                a as usize
            }
        })
        .collect();
    if perm.iter().any(|&a| a < -r) {
        return Err(crate::Error::InvalidArgument(format!(
            "Transpose: perm {perm:?} is not a permutation of 0..{r}"
        ))
        .into());
    }
    Ok(PyTensor::new(x.transpose(&p)?))
}

#[pyfunction]
fn reshape(x: &Bound<'_, PyAny>, shape: Vec<i64>) -> PyResult<PyTensor> {
    Ok(PyTensor::new(t(x)?.reshape(&shape)?))
}

#[pyfunction]
fn expand_dims(x: &Bound<'_, PyAny>, axis: i64) -> PyResult<PyTensor> {
    Ok(PyTensor::new(t(x)?.expand_dims(axis)?))
}

#[pyfunction]
fn squeeze(x: &Bound<'_, PyAny>, axes: Vec<i64>) -> PyResult<PyTensor> {
    Ok(PyTensor::new(t(x)?.squeeze(&axes)?))
}

#[pyfunction]
fn broadcast_to(x: &Bound<'_, PyAny>, shape: Vec<i64>) -> PyResult<PyTensor> {
    if shape.iter().any(|&d| d < 0) {
        return Err(crate::Error::InvalidArgument(format!(
            "BroadcastTo: shape {shape:?} has negative dimensions"
        ))
        .into());
    }
    let s: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
    Ok(PyTensor::new(t(x)?.broadcast_to(&s)?))
}

#[pyfunction]
fn reverse(x: &Bound<'_, PyAny>, axes: Vec<i64>) -> PyResult<PyTensor> {
    Ok(PyTensor::new(t(x)?.reverse(&axes)?))
}

#[pyfunction]
fn concat(values: Vec<Bound<'_, PyAny>>, axis: i64) -> PyResult<PyTensor> {
    let ts: Vec<Tensor> = values.iter().map(t).collect::<PyResult<_>>()?;
    Ok(PyTensor::new(Tensor::concat(&ts, axis)?))
}

#[pyfunction]
fn stack(values: Vec<Bound<'_, PyAny>>, axis: i64) -> PyResult<PyTensor> {
    let ts: Vec<Tensor> = values.iter().map(t).collect::<PyResult<_>>()?;
    Ok(PyTensor::new(Tensor::stack(&ts, axis)?))
}

#[pyfunction]
fn unstack(x: &Bound<'_, PyAny>, axis: i64) -> PyResult<Vec<PyTensor>> {
    Ok(wrap(t(x)?.unstack(axis)?))
}

#[pyfunction]
fn split(x: &Bound<'_, PyAny>, sizes: Vec<i64>, axis: i64) -> PyResult<Vec<PyTensor>> {
    Ok(wrap(t(x)?.split(&sizes, axis)?))
}

#[pyfunction]
fn tile(x: &Bound<'_, PyAny>, multiples: Vec<i64>) -> PyResult<PyTensor> {
    Ok(PyTensor::new(t(x)?.tile(&multiples)?))
}

fn window(
    size: [usize; 2],
    strides: [usize; 2],
    dilations: [usize; 2],
    same: bool,
) -> PyResult<crate::ops::conv::Window> {
    Ok(crate::ops::conv::Window::new(
        size, strides, dilations, same,
    )?)
}

/// Windows of an NHWC batch as patches (`Tensor::im2col`).
#[pyfunction]
fn im2col(
    x: &Bound<'_, PyAny>,
    size: [usize; 2],
    strides: [usize; 2],
    dilations: [usize; 2],
    same: bool,
    pad_value: f64,
) -> PyResult<PyTensor> {
    let w = window(size, strides, dilations, same)?;
    Ok(PyTensor::new(t(x)?.im2col(&w, pad_value)?))
}

/// 2-D convolution, NHWC input and HWIO filter.
#[pyfunction]
fn conv2d(
    x: &Bound<'_, PyAny>,
    filter: &Bound<'_, PyAny>,
    strides: [usize; 2],
    dilations: [usize; 2],
    same: bool,
) -> PyResult<PyTensor> {
    let f = t(filter)?;
    let x = to_tensor(x, Some(f.dtype()), false)?;
    if f.rank() != 4 {
        return Err(crate::invalid!(
            "Conv2D: the filter must have rank 4 (HWIO), got shape {:?}",
            f.shape()
        )
        .into());
    }
    let w = window([f.shape()[0], f.shape()[1]], strides, dilations, same)?;
    Ok(PyTensor::new(x.conv2d(&f, &w)?))
}

/// Max (`max=True`) or average pooling of an NHWC batch.
#[pyfunction]
fn pool2d(
    x: &Bound<'_, PyAny>,
    size: [usize; 2],
    strides: [usize; 2],
    same: bool,
    max: bool,
) -> PyResult<PyTensor> {
    let w = window(size, strides, [1, 1], same)?;
    Ok(PyTensor::new(t(x)?.pool2d(&w, max)?))
}

#[pyfunction]
fn pad(
    x: &Bound<'_, PyAny>,
    paddings: Vec<(i64, i64)>,
    value: &Bound<'_, PyAny>,
) -> PyResult<PyTensor> {
    let x = t(x)?;
    let v = to_tensor(value, Some(x.dtype()), true)?;
    Ok(PyTensor::new(x.pad(&paddings, &v)?))
}

#[pyfunction]
fn gather(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    indices: &Bound<'_, PyAny>,
    axis: i64,
) -> PyResult<PyTensor> {
    let (x, i) = (t(x)?, t(indices)?);
    run(py, x.numel(), move || x.gather(&i, axis)).map(PyTensor::new)
}

#[pyfunction]
fn one_hot(
    indices: &Bound<'_, PyAny>,
    depth: i64,
    on: &Bound<'_, PyAny>,
    off: &Bound<'_, PyAny>,
) -> PyResult<PyTensor> {
    let depth = dims(&[depth], "OneHot")?[0];
    Ok(PyTensor::new(Tensor::one_hot(
        &t(indices)?,
        depth,
        &t(on)?,
        &t(off)?,
    )?))
}

fn dims(shape: &[i64], op: &str) -> PyResult<Vec<usize>> {
    if let Some(d) = shape.iter().find(|&&d| d < 0) {
        return Err(crate::Error::InvalidArgument(format!(
            "{op}: dimension {d} in shape {shape:?} is negative"
        ))
        .into());
    }
    Ok(shape.iter().map(|&d| d as usize).collect())
}

#[pyfunction]
fn fill(py: Python<'_>, shape: Vec<i64>, value: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    let (s, v) = (dims(&shape, "Fill")?, t(value)?);
    run(py, 1 << 20, move || Tensor::fill(&s, &v)).map(PyTensor::new)
}

#[pyfunction]
fn eye(rows: i64, cols: i64, batch: Vec<i64>, dtype: &str) -> PyResult<PyTensor> {
    let rc = dims(&[rows, cols], "Eye")?;
    let b = dims(&batch, "Eye")?;
    Ok(PyTensor::new(
        Tensor::eye(rc[0], rc[1], &b, parse_dtype(dtype)?)?.placed()?,
    ))
}

#[pyfunction]
fn range(start: f64, limit: f64, delta: f64, dtype: &str) -> PyResult<PyTensor> {
    Ok(PyTensor::new(
        Tensor::range(start, limit, delta, parse_dtype(dtype)?)?.placed()?,
    ))
}

#[pyfunction]
fn linspace(start: f64, stop: f64, num: i64, dtype: &str) -> PyResult<PyTensor> {
    if num < 0 {
        return Err(crate::Error::InvalidArgument(format!(
            "LinSpace: num must be non-negative, got {num}"
        ))
        .into());
    }
    Ok(PyTensor::new(
        Tensor::linspace(start, stop, num as usize, parse_dtype(dtype)?)?.placed()?,
    ))
}

#[pyfunction]
fn random_uniform(
    py: Python<'_>,
    shape: Vec<i64>,
    low: f64,
    high: f64,
    dtype: &str,
    seed: u64,
) -> PyResult<PyTensor> {
    let (s, dt) = (dims(&shape, "RandomUniform")?, parse_dtype(dtype)?);
    run(py, 1 << 20, move || {
        Tensor::random_uniform(&s, low, high, dt, seed)?.placed()
    })
    .map(PyTensor::new)
}

#[pyfunction]
fn random_normal(
    py: Python<'_>,
    shape: Vec<i64>,
    mean: f64,
    stddev: f64,
    dtype: &str,
    seed: u64,
) -> PyResult<PyTensor> {
    let (s, dt) = (dims(&shape, "RandomStandardNormal")?, parse_dtype(dtype)?);
    run(py, 1 << 20, move || {
        Tensor::random_normal(&s, mean, stddev, dt, seed)?.placed()
    })
    .map(PyTensor::new)
}

#[pyfunction]
fn is_view_of(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(t(a)?.shares_storage(&t(b)?))
}

#[pyfunction]
fn is_contiguous(a: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(t(a)?.is_contiguous())
}

/// Adds the functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(constant, m)?)?;
    m.add_function(wrap_pyfunction!(set_device, m)?)?;
    m.add_function(wrap_pyfunction!(gpu_name, m)?)?;
    m.add_function(wrap_pyfunction!(gpu_probed, m)?)?;
    m.add_function(wrap_pyfunction!(gpu_bytes_read, m)?)?;
    m.add_function(wrap_pyfunction!(gpu_dispatches, m)?)?;
    m.add_function(wrap_pyfunction!(gpu_bind_groups, m)?)?;
    m.add_function(wrap_pyfunction!(gpu_buffers_created, m)?)?;
    m.add_function(wrap_pyfunction!(disable_gpu, m)?)?;
    m.add_function(wrap_pyfunction!(to_device, m)?)?;
    m.add_function(wrap_pyfunction!(im2col, m)?)?;
    m.add_function(wrap_pyfunction!(conv2d, m)?)?;
    m.add_function(wrap_pyfunction!(pool2d, m)?)?;
    m.add_function(wrap_pyfunction!(convert_to_tensor, m)?)?;
    m.add_function(wrap_pyfunction!(unary, m)?)?;
    m.add_function(wrap_pyfunction!(binary, m)?)?;
    m.add_function(wrap_pyfunction!(truediv, m)?)?;
    m.add_function(wrap_pyfunction!(cast, m)?)?;
    m.add_function(wrap_pyfunction!(select, m)?)?;
    m.add_function(wrap_pyfunction!(reduce, m)?)?;
    m.add_function(wrap_pyfunction!(mean, m)?)?;
    m.add_function(wrap_pyfunction!(arg_reduce, m)?)?;
    m.add_function(wrap_pyfunction!(apply, m)?)?;
    m.add_function(wrap_pyfunction!(matmul, m)?)?;
    m.add_function(wrap_pyfunction!(softmax, m)?)?;
    m.add_function(wrap_pyfunction!(activation, m)?)?;
    m.add_function(wrap_pyfunction!(transpose, m)?)?;
    m.add_function(wrap_pyfunction!(reshape, m)?)?;
    m.add_function(wrap_pyfunction!(expand_dims, m)?)?;
    m.add_function(wrap_pyfunction!(squeeze, m)?)?;
    m.add_function(wrap_pyfunction!(broadcast_to, m)?)?;
    m.add_function(wrap_pyfunction!(reverse, m)?)?;
    m.add_function(wrap_pyfunction!(concat, m)?)?;
    m.add_function(wrap_pyfunction!(stack, m)?)?;
    m.add_function(wrap_pyfunction!(unstack, m)?)?;
    m.add_function(wrap_pyfunction!(split, m)?)?;
    m.add_function(wrap_pyfunction!(tile, m)?)?;
    m.add_function(wrap_pyfunction!(pad, m)?)?;
    m.add_function(wrap_pyfunction!(gather, m)?)?;
    m.add_function(wrap_pyfunction!(one_hot, m)?)?;
    m.add_function(wrap_pyfunction!(fill, m)?)?;
    m.add_function(wrap_pyfunction!(eye, m)?)?;
    m.add_function(wrap_pyfunction!(range, m)?)?;
    m.add_function(wrap_pyfunction!(linspace, m)?)?;
    m.add_function(wrap_pyfunction!(random_uniform, m)?)?;
    m.add_function(wrap_pyfunction!(random_normal, m)?)?;
    m.add_function(wrap_pyfunction!(is_view_of, m)?)?;
    m.add_function(wrap_pyfunction!(is_contiguous, m)?)?;
    Ok(())
}
