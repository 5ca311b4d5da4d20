//! DLPack, both ways, without copies on the host.
//!
//! Export: `Tensor.__dlpack__` hands out a capsule holding a `DLManagedTensorVersioned`
//! (`"dltensor_versioned"`, flagged read-only: tensors are immutable) when the consumer asks
//! with `max_version >= (1, 0)` (numpy 2, PyTorch), else the legacy `DLManagedTensor`
//! (`"dltensor"`, what JAX asks for). The managed tensor owns a clone of the storage's `Arc`,
//! so the memory outlives the tensor for as long as the consumer holds it; its deleter runs
//! exactly once: called by the consumer, or by the capsule's destructor when the capsule dies
//! unconsumed (its name still unchanged). Import: [`from_dlpack`] takes a capsule or any
//! object with `__dlpack__` (numpy, PyTorch, JAX), renames the capsule as used, and wraps the
//! producer's memory as shared storage whose owner calls the producer's deleter when the last
//! tensor using it goes. The C structures follow `dlpack.h` (version 1.1).

use std::ffi::{c_void, CStr};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;

use pyo3::exceptions::{PyBufferError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;

use super::tensor::PyTensor;
use crate::layout::Layout;
use crate::storage::{SharedBuffer, Storage};
use crate::{DType, Element, Tensor};

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDevice {
    device_type: i32,
    device_id: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDataType {
    code: u8,
    bits: u8,
    lanes: u16,
}

#[repr(C)]
struct DLTensor {
    data: *mut c_void,
    device: DLDevice,
    ndim: i32,
    dtype: DLDataType,
    shape: *mut i64,
    strides: *mut i64,
    byte_offset: u64,
}

#[repr(C)]
struct DLManagedTensor {
    dl_tensor: DLTensor,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
}

#[repr(C)]
struct DLPackVersion {
    major: u32,
    minor: u32,
}

#[repr(C)]
struct DLManagedTensorVersioned {
    version: DLPackVersion,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensorVersioned)>,
    flags: u64,
    dl_tensor: DLTensor,
}

const KDL_CPU: i32 = 1;
const KDL_CUDA_HOST: i32 = 3;
const FLAG_READ_ONLY: u64 = 1;
const FLAG_IS_COPIED: u64 = 2;
const LEGACY: &CStr = c"dltensor";
const VERSIONED: &CStr = c"dltensor_versioned";
const USED_LEGACY: &CStr = c"used_dltensor";
const USED_VERSIONED: &CStr = c"used_dltensor_versioned";

/// Managed tensors exported and not yet deleted (read by tests through `_dlpack_live`).
static LIVE: AtomicIsize = AtomicIsize::new(0);

fn dl_dtype(dt: DType) -> Option<DLDataType> {
    let (code, bits) = match dt {
        DType::F16 => (2, 16),
        DType::BF16 => (4, 16),
        DType::F32 => (2, 32),
        DType::F64 => (2, 64),
        DType::I8 => (0, 8),
        DType::I32 => (0, 32),
        DType::I64 => (0, 64),
        DType::U8 => (1, 8),
        DType::Bool => (6, 8),
        DType::String => return None,
    };
    Some(DLDataType {
        code,
        bits,
        lanes: 1,
    })
}

fn rstf_dtype(d: DLDataType) -> Option<DType> {
    if d.lanes != 1 {
        return None;
    }
    DType::ALL
        .into_iter()
        .find(|&dt| dl_dtype(dt).is_some_and(|x| x.code == d.code && x.bits == d.bits))
}

/// What an exported managed tensor owns: the storage and its shape and strides arrays.
struct Export {
    _storage: Arc<Storage>,
    shape: Vec<i64>,
    strides: Vec<i64>,
}

/// The two managed tensor structures, as far as deleting them goes.
trait Managed: Sized {
    fn ctx(&self) -> *mut c_void;
    fn deleter(&self) -> Option<unsafe extern "C" fn(*mut Self)>;
}

impl Managed for DLManagedTensor {
    fn ctx(&self) -> *mut c_void {
        self.manager_ctx
    }
    fn deleter(&self) -> Option<unsafe extern "C" fn(*mut Self)> {
        self.deleter
    }
}

impl Managed for DLManagedTensorVersioned {
    fn ctx(&self) -> *mut c_void {
        self.manager_ctx
    }
    fn deleter(&self) -> Option<unsafe extern "C" fn(*mut Self)> {
        self.deleter
    }
}

/// The deleter of the managed tensors `export` makes.
unsafe extern "C" fn delete_export<M: Managed>(m: *mut M) {
    if m.is_null() {
        return;
    }
    // SAFETY: `m` and its context were made by `Box::into_raw` in `export`, and DLPack's
    // contract calls the deleter once.
    unsafe {
        drop(Box::from_raw((*m).ctx() as *mut Export));
        drop(Box::from_raw(m));
    }
    LIVE.fetch_sub(1, Ordering::SeqCst);
}

/// Calls a managed tensor's own deleter, if it has one.
///
/// # Safety
/// `m` must be a live managed tensor that nothing uses afterwards.
unsafe fn call_deleter<M: Managed>(m: *mut M) {
    // SAFETY: the caller's contract.
    unsafe {
        if let Some(d) = (*m).deleter() {
            d(m);
        }
    }
}

/// The destructor of an exported capsule: deletes the managed tensor if no consumer took it
/// (a consumer renames the capsule to `used_*`).
unsafe extern "C" fn capsule_destructor(cap: *mut ffi::PyObject) {
    // SAFETY: `cap` is the capsule being destroyed; IsValid checks its name without raising,
    // and the pointer under that name is the managed tensor made by `export`.
    unsafe {
        if ffi::PyCapsule_IsValid(cap, VERSIONED.as_ptr()) == 1 {
            call_deleter(
                ffi::PyCapsule_GetPointer(cap, VERSIONED.as_ptr()) as *mut DLManagedTensorVersioned
            );
        } else if ffi::PyCapsule_IsValid(cap, LEGACY.as_ptr()) == 1 {
            call_deleter(ffi::PyCapsule_GetPointer(cap, LEGACY.as_ptr()) as *mut DLManagedTensor);
        }
    }
}

/// A DLPack capsule of a host tensor (see the module documentation).
pub fn export<'py>(
    py: Python<'py>,
    t: &Tensor,
    versioned: bool,
    copy: Option<bool>,
) -> PyResult<Bound<'py, PyAny>> {
    let dtype = dl_dtype(t.dtype()).ok_or_else(|| {
        PyBufferError::new_err(format!(
            "__dlpack__: a {} tensor of shape {:?} has no DLPack form",
            t.dtype(),
            t.shape()
        ))
    })?;
    // A GPU tensor is exported from a host copy.
    let mut copied = copy == Some(true) || t.device() != crate::Device::Cpu;
    let mut t = t.to_host()?;
    if t.layout().strides.iter().any(|&s| s < 0) || copy == Some(true) {
        // Negative strides are not taken by every consumer: export a dense copy.
        t = crate::with_dtype!(t.dtype(), T => Tensor::from_storage(T::into_storage(t.to_vec::<T>()?), t.shape()));
        copied = true;
    }
    if copied && copy == Some(false) {
        return Err(PyBufferError::new_err(format!(
            "__dlpack__: copy=False, but this {} tensor of shape {:?} must be copied to be exported",
            t.dtype(),
            t.shape()
        )));
    }
    let size = t.dtype().size();
    let layout = t.layout().clone();
    let storage = t.storage().clone();
    let base = storage.as_bytes().as_ptr();
    // SAFETY: the offset lies inside the storage (`Tensor::from_parts`); one past the end for
    // an empty tensor, which no consumer reads.
    let data = unsafe { base.add(layout.offset * size) } as *mut c_void;
    let mut ctx = Box::new(Export {
        _storage: storage,
        shape: layout.shape.iter().map(|&n| n as i64).collect(),
        strides: layout.strides.iter().map(|&s| s as i64).collect(),
    });
    let dl = DLTensor {
        data,
        device: DLDevice {
            device_type: KDL_CPU,
            device_id: 0,
        },
        ndim: layout.shape.len() as i32,
        dtype,
        shape: ctx.shape.as_mut_ptr(),
        strides: ctx.strides.as_mut_ptr(),
        byte_offset: 0,
    };
    let ctx = Box::into_raw(ctx) as *mut c_void;
    LIVE.fetch_add(1, Ordering::SeqCst);
    let (ptr, name) = if versioned {
        let m = Box::new(DLManagedTensorVersioned {
            version: DLPackVersion { major: 1, minor: 1 },
            manager_ctx: ctx,
            deleter: Some(delete_export::<DLManagedTensorVersioned>),
            flags: FLAG_READ_ONLY | if copied { FLAG_IS_COPIED } else { 0 },
            dl_tensor: dl,
        });
        (Box::into_raw(m) as *mut c_void, VERSIONED)
    } else {
        let m = Box::new(DLManagedTensor {
            dl_tensor: dl,
            manager_ctx: ctx,
            deleter: Some(delete_export::<DLManagedTensor>),
        });
        (Box::into_raw(m) as *mut c_void, LEGACY)
    };
    // SAFETY: a valid pointer and a static name; on failure the capsule does not exist, so
    // the managed tensor is deleted here.
    unsafe {
        let cap = ffi::PyCapsule_New(ptr, name.as_ptr(), Some(capsule_destructor));
        if cap.is_null() {
            if versioned {
                delete_export(ptr as *mut DLManagedTensorVersioned);
            } else {
                delete_export(ptr as *mut DLManagedTensor);
            }
            return Err(PyErr::fetch(py));
        }
        Ok(Bound::from_owned_ptr(py, cap))
    }
}

/// A consumed managed tensor: dropping it calls the producer's deleter, once.
struct Imported {
    ptr: *mut c_void,
    versioned: bool,
}

// SAFETY: DLPack deleters may be called from any thread (producers that need the GIL, like
// numpy, take it themselves); the pointer is used by nothing else.
unsafe impl Send for Imported {}
// SAFETY: as above; shared references never touch the pointer.
unsafe impl Sync for Imported {}

impl Drop for Imported {
    fn drop(&mut self) {
        // SAFETY: the managed tensor is ours since we renamed its capsule, and this runs once.
        unsafe {
            if self.versioned {
                call_deleter(self.ptr as *mut DLManagedTensorVersioned);
            } else {
                call_deleter(self.ptr as *mut DLManagedTensor);
            }
        }
    }
}

/// Wraps the consumed managed tensor's memory as a tensor (the owner keeps it alive).
///
/// # Safety
/// `dl` must be the `DLTensor` of the managed tensor `owner` owns.
unsafe fn wrap(dl: &DLTensor, owner: Imported) -> PyResult<Tensor> {
    let err = |why: String| PyBufferError::new_err(format!("from_dlpack: {why}"));
    if dl.device.device_type != KDL_CPU && dl.device.device_type != KDL_CUDA_HOST {
        return Err(err(format!(
            "the tensor is on DLPack device type {} (only host memory is read)",
            dl.device.device_type
        )));
    }
    let dt = rstf_dtype(dl.dtype).ok_or_else(|| {
        PyTypeError::new_err(format!(
            "from_dlpack: DLPack dtype (code {}, bits {}, lanes {}) has no rstf dtype",
            dl.dtype.code, dl.dtype.bits, dl.dtype.lanes
        ))
    })?;
    if dl.ndim < 0 || dl.ndim > 64 {
        return Err(err(format!("ndim {} is out of range", dl.ndim)));
    }
    let nd = dl.ndim as usize;
    // SAFETY: DLPack's contract: `shape` (and `strides` unless null) hold `ndim` entries.
    let (shape, strides) = unsafe {
        let shape = if nd == 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(dl.shape, nd)
        };
        let strides =
            (!dl.strides.is_null() && nd > 0).then(|| std::slice::from_raw_parts(dl.strides, nd));
        (shape, strides)
    };
    if shape.iter().any(|&n| n < 0) {
        return Err(err(format!("negative dimension in shape {shape:?}")));
    }
    let shape: Vec<usize> = shape.iter().map(|&n| n as usize).collect();
    let numel = crate::layout::checked_numel(&shape, "from_dlpack")?;
    let strides: Vec<isize> = match strides {
        Some(s) => s.iter().map(|&x| x as isize).collect(),
        None => crate::layout::contiguous_strides(&shape),
    };
    if numel == 0 {
        return Ok(Tensor::from_storage(Storage::zeros(dt, 0), &shape));
    }
    // The span of element offsets the view reaches, relative to its first element.
    let (mut lo, mut hi) = (0isize, 0isize);
    for (&n, &s) in shape.iter().zip(&strides) {
        let reach = (n as isize - 1)
            .checked_mul(s)
            .ok_or_else(|| err("strides overflow".into()))?;
        if reach < 0 {
            lo += reach;
        } else {
            hi += reach;
        }
    }
    let size = dt.size() as isize;
    let first = (dl.data as *mut u8).wrapping_add(dl.byte_offset as usize);
    let start = first.wrapping_offset(lo * size);
    let len = (hi - lo + 1) as usize;
    let layout = Layout {
        shape,
        strides,
        offset: (-lo) as usize,
    };
    let Some(ptr) = NonNull::new(start) else {
        return Err(err("null data pointer".into()));
    };
    // SAFETY: the producer's memory holds every element the view reaches, `len` elements from
    // `start`, alive until `owner` (moved into the storage) is dropped.
    let bytes =
        unsafe { std::slice::from_raw_parts(ptr.as_ptr() as *const u8, len * size as usize) };
    let aligned = (ptr.as_ptr() as usize).is_multiple_of(size as usize);
    let bools_valid = dt != DType::Bool || bytes.iter().all(|&b| b <= 1);
    let storage = if aligned && bools_valid {
        let owner: Arc<dyn Send + Sync> = Arc::new(owner);
        // SAFETY: aligned, valid for `len` reads while the owner lives, bools checked.
        Storage::Shared(unsafe { SharedBuffer::new(dt, ptr, len, owner) })
    } else {
        // A misaligned buffer (or bools not 0/1) is copied into storage of our own.
        let v: Vec<u8> = bytes
            .iter()
            .map(|&b| if dt == DType::Bool { (b != 0) as u8 } else { b })
            .collect();
        drop(owner);
        owned_copy(dt, &v)?
    };
    Ok(Tensor::from_parts(Arc::new(storage), layout)?)
}

/// Storage of our own holding the elements whose bytes are `bytes` (valid values of `dt`).
fn owned_copy(dt: DType, bytes: &[u8]) -> crate::Result<Storage> {
    crate::with_dtype!(dt, T => {
        let n = bytes.len() / std::mem::size_of::<T>();
        let mut v = vec![T::zero(); n];
        // SAFETY: `v` holds exactly `bytes.len()` bytes (n whole elements), the byte copy needs
        // no alignment of the source, and the bytes are valid values of `T` (bools checked).
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), v.as_mut_ptr().cast::<u8>(), n * std::mem::size_of::<T>()) };
        Ok(T::into_storage(v))
    })
}

/// Consumes a DLPack capsule or an object with `__dlpack__` into a tensor sharing its memory.
pub fn from_dlpack(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let cap = if obj.is_instance_of::<pyo3::types::PyCapsule>() {
        obj.clone()
    } else if obj.hasattr("__dlpack__")? {
        if obj.hasattr("__dlpack_device__")? {
            let (kind, _id): (i32, i32) = obj.call_method0("__dlpack_device__")?.extract()?;
            if kind != KDL_CPU && kind != KDL_CUDA_HOST {
                return Err(PyBufferError::new_err(format!(
                    "from_dlpack: the tensor is on DLPack device type {kind} (only host memory is read)"
                )));
            }
        }
        let kw = pyo3::types::PyDict::new(py);
        kw.set_item("max_version", (1, 1))?;
        match obj.call_method("__dlpack__", (), Some(&kw)) {
            Ok(c) => c,
            Err(e) if e.is_instance_of::<PyTypeError>(py) => obj.call_method0("__dlpack__")?,
            Err(e) => return Err(e),
        }
    } else {
        return Err(PyTypeError::new_err(format!(
            "from_dlpack: expected a DLPack capsule or an object with __dlpack__, got {}",
            obj.get_type().name()?
        )));
    };
    let raw = cap.as_ptr();
    // SAFETY: `raw` is a live object; the capsule calls check its type and name first, and a
    // pointer obtained under a DLPack name is a managed tensor of that kind (the producer's
    // contract). Renaming the capsule makes the managed tensor ours (`Imported`).
    unsafe {
        if ffi::PyCapsule_IsValid(raw, VERSIONED.as_ptr()) == 1 {
            let m =
                ffi::PyCapsule_GetPointer(raw, VERSIONED.as_ptr()) as *mut DLManagedTensorVersioned;
            if (*m).version.major > 1 {
                return Err(PyBufferError::new_err(format!(
                    "from_dlpack: DLPack version {}.{} is newer than 1.x",
                    (*m).version.major,
                    (*m).version.minor
                )));
            }
            if ffi::PyCapsule_SetName(raw, USED_VERSIONED.as_ptr()) != 0 {
                return Err(PyErr::fetch(py));
            }
            wrap(
                &(*m).dl_tensor,
                Imported {
                    ptr: m as *mut c_void,
                    versioned: true,
                },
            )
        } else if ffi::PyCapsule_IsValid(raw, LEGACY.as_ptr()) == 1 {
            let m = ffi::PyCapsule_GetPointer(raw, LEGACY.as_ptr()) as *mut DLManagedTensor;
            if ffi::PyCapsule_SetName(raw, USED_LEGACY.as_ptr()) != 0 {
                return Err(PyErr::fetch(py));
            }
            wrap(
                &(*m).dl_tensor,
                Imported {
                    ptr: m as *mut c_void,
                    versioned: false,
                },
            )
        } else {
            Err(PyValueError::new_err(
                "from_dlpack: the capsule is not an unconsumed DLPack tensor (a capsule can be consumed once)",
            ))
        }
    }
}

/// `Tensor.__dlpack__` (see the module documentation).
pub fn dunder_dlpack<'py>(
    py: Python<'py>,
    t: &Tensor,
    stream: Option<Bound<'py, PyAny>>,
    max_version: Option<(u32, u32)>,
    dl_device: Option<(i32, i32)>,
    copy: Option<bool>,
) -> PyResult<Bound<'py, PyAny>> {
    if stream.as_ref().is_some_and(|s| !s.is_none()) {
        return Err(PyValueError::new_err(
            "__dlpack__: stream must be None for a host tensor",
        ));
    }
    if let Some((kind, _)) = dl_device {
        if kind != KDL_CPU {
            return Err(PyBufferError::new_err(format!(
                "__dlpack__: cannot export to DLPack device type {kind} (rstf exports host memory)"
            )));
        }
    }
    export(
        py,
        t,
        max_version.is_some_and(|(major, _)| major >= 1),
        copy,
    )
}

/// Consumes a DLPack capsule or producer.
#[pyfunction]
fn _from_dlpack(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    Ok(PyTensor::new(from_dlpack(py, obj)?))
}

/// Managed tensors exported and not yet deleted.
#[pyfunction]
fn _dlpack_live() -> isize {
    LIVE.load(Ordering::SeqCst)
}

/// Adds the DLPack functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_from_dlpack, m)?)?;
    m.add_function(wrap_pyfunction!(_dlpack_live, m)?)?;
    Ok(())
}
