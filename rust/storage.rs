//! Tensor storage: one flat buffer per tensor, shared between views through an `Arc`.

use crate::dtype::{DType, Element};
use half::{bf16, f16};

/// A flat buffer of elements of one dtype, in host memory.
#[derive(Clone, Debug, PartialEq)]
pub enum Storage {
    /// float16 elements.
    F16(Vec<f16>),
    /// bfloat16 elements.
    BF16(Vec<bf16>),
    /// float32 elements.
    F32(Vec<f32>),
    /// float64 elements.
    F64(Vec<f64>),
    /// int8 elements.
    I8(Vec<i8>),
    /// int32 elements.
    I32(Vec<i32>),
    /// int64 elements.
    I64(Vec<i64>),
    /// uint8 elements.
    U8(Vec<u8>),
    /// bool elements.
    Bool(Vec<bool>),
    /// Byte strings.
    Str(Vec<Box<[u8]>>),
    /// Elements in memory owned elsewhere (a numpy array, a DLPack producer), read-only here.
    Shared(SharedBuffer),
    /// Elements on the GPU (float32, int32 or bool).
    #[cfg(feature = "gpu")]
    Gpu(crate::backend::wgpu::GpuBuffer),
}

impl Storage {
    /// The dtype of the elements.
    pub fn dtype(&self) -> DType {
        match self {
            Storage::F16(_) => DType::F16,
            Storage::BF16(_) => DType::BF16,
            Storage::F32(_) => DType::F32,
            Storage::F64(_) => DType::F64,
            Storage::I8(_) => DType::I8,
            Storage::I32(_) => DType::I32,
            Storage::I64(_) => DType::I64,
            Storage::U8(_) => DType::U8,
            Storage::Bool(_) => DType::Bool,
            Storage::Str(_) => DType::String,
            Storage::Shared(b) => b.dtype,
            #[cfg(feature = "gpu")]
            Storage::Gpu(b) => b.dtype(),
        }
    }

    /// Number of elements held.
    pub fn len(&self) -> usize {
        #[cfg(feature = "gpu")]
        if let Storage::Gpu(b) = self {
            return b.len();
        }
        if let Storage::Str(v) = self {
            return v.len();
        }
        (|| -> crate::Result<usize> {
            Ok(crate::with_dtype!(self.dtype(), T => T::slice(self).map_or(0, |s| s.len())))
        })()
        .unwrap_or(0)
    }

    /// True when no element is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A buffer of `n` zeros of `dtype` (empty strings for strings).
    pub fn zeros(dtype: DType, n: usize) -> Storage {
        if dtype == DType::String {
            return Storage::Str(vec![Box::default(); n]);
        }
        (|| -> crate::Result<Storage> {
            Ok(crate::with_dtype!(dtype, T => T::into_storage(vec![T::zero(); n])))
        })()
        .unwrap_or(Storage::Str(Vec::new()))
    }

    /// The byte strings, if the storage holds strings.
    pub fn strings(&self) -> Option<&[Box<[u8]>]> {
        match self {
            Storage::Str(v) => Some(v),
            _ => None,
        }
    }

    /// The raw little-endian bytes of a host buffer (a GPU buffer has none here: copy it to
    /// the host first with [`crate::Tensor::to_host`]).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Storage::F16(v) => bytemuck::cast_slice(v),
            Storage::BF16(v) => bytemuck::cast_slice(v),
            Storage::F32(v) => bytemuck::cast_slice(v),
            Storage::F64(v) => bytemuck::cast_slice(v),
            Storage::I8(v) => bytemuck::cast_slice(v),
            Storage::I32(v) => bytemuck::cast_slice(v),
            Storage::I64(v) => bytemuck::cast_slice(v),
            Storage::U8(v) => v,
            // bool is one byte, 0 or 1, like TensorFlow's and numpy's.
            Storage::Bool(v) => {
                // SAFETY: bool has size 1 and its values are the bytes 0 and 1.
                unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, v.len()) }
            }
            // Strings have no flat byte form: their bytes are written element by element.
            Storage::Str(_) => &[],
            Storage::Shared(b) => b.bytes(),
            #[cfg(feature = "gpu")]
            Storage::Gpu(_) => &[],
        }
    }
}

/// Elements of a non-string dtype in memory that another owner keeps alive (numpy, a DLPack
/// producer): `owner` is dropped, releasing the memory, when the last tensor using it goes.
/// Tensors never write through it: mutable access copies first ([`crate::Tensor::make_mut`]).
#[derive(Clone)]
pub struct SharedBuffer {
    dtype: DType,
    ptr: std::ptr::NonNull<u8>,
    len: usize,
    _owner: std::sync::Arc<dyn Send + Sync>,
}

// SAFETY: the buffer is only read through shared slices, and its owner is Send + Sync.
unsafe impl Send for SharedBuffer {}
// SAFETY: as above.
unsafe impl Sync for SharedBuffer {}

impl SharedBuffer {
    /// Wraps `len` elements of `dtype` at `ptr`, kept alive by `owner`.
    ///
    /// # Safety
    /// `ptr` must be aligned for `dtype`'s element type and valid for reads of `len` elements
    /// for as long as `owner` lives, and the elements must be valid values of the type (bool
    /// bytes 0 or 1). Writes by others while tensors read the buffer are the caller's promise
    /// not to make (DLPack's contract: a shared buffer is not mutated while shared).
    pub unsafe fn new(
        dtype: DType,
        ptr: std::ptr::NonNull<u8>,
        len: usize,
        owner: std::sync::Arc<dyn Send + Sync>,
    ) -> SharedBuffer {
        SharedBuffer {
            dtype,
            ptr,
            len,
            _owner: owner,
        }
    }

    /// The elements, if they are of type `T`.
    pub fn slice<T: Element>(&self) -> Option<&[T]> {
        // SAFETY: the constructor's contract: aligned, valid for `len` reads while `self`
        // (which holds the owner) lives; the dtype check makes `T` the element type.
        (self.dtype == T::DTYPE)
            .then(|| unsafe { std::slice::from_raw_parts(self.ptr.as_ptr() as *const T, self.len) })
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &[u8] {
        let n = self.len * self.dtype.size();
        // SAFETY: as in `slice`, read as bytes.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), n) }
    }
}

impl std::fmt::Debug for SharedBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedBuffer({} x {})", self.len, self.dtype)
    }
}

impl PartialEq for SharedBuffer {
    fn eq(&self, other: &SharedBuffer) -> bool {
        self.dtype == other.dtype && self.bytes() == other.bytes()
    }
}

/// Allocates a vector of `n` elements, reporting failure instead of aborting.
pub fn try_alloc<T: Element>(n: usize, op: &str) -> crate::Result<Vec<T>> {
    crate::limits::check_value(n as u128 * std::mem::size_of::<T>() as u128, op)?;
    let mut v: Vec<T> = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        crate::Error::ResourceExhausted(format!(
            "{op}: OOM when allocating tensor of {n} elements of type {}",
            T::DTYPE
        ))
    })?;
    advise_huge_pages(&v);
    Ok(v)
}

/// Asks the OS to back a large, not yet written buffer with transparent huge pages (numpy
/// does the same for its arrays): kernels that stream through megabytes then miss the TLB
/// far less often. Only advice: nothing changes where the OS declines or elsewhere than
/// Linux.
pub fn advise_huge_pages<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const MIN_BYTES: usize = 4 << 20;
        const PAGE: usize = 4096;
        const MADV_HUGEPAGE: i32 = 14;
        unsafe extern "C" {
            fn madvise(addr: *mut std::ffi::c_void, len: usize, advice: i32) -> i32;
        }
        let bytes = v.capacity() * std::mem::size_of::<T>();
        if bytes < MIN_BYTES {
            return;
        }
        let start = (v.as_ptr() as usize).next_multiple_of(PAGE);
        let end = (v.as_ptr() as usize + bytes) & !(PAGE - 1);
        // SAFETY: the range lies inside the vector's allocation (page-aligned inward), and
        // MADV_HUGEPAGE changes no contents; its result is advisory and ignored.
        unsafe {
            madvise(start as *mut std::ffi::c_void, end - start, MADV_HUGEPAGE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}
