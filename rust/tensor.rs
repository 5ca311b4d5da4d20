//! The [`Tensor`]: an `Arc`-shared [`Storage`] seen through a [`Layout`]. Cloning a tensor or
//! taking a view never copies elements.

use crate::backend::cpu::strided;
use crate::dtype::{DType, Element};
use crate::layout::{checked_numel, Layout};
use crate::storage::Storage;
use crate::{bail, Error, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A new tensor identity (never reused in a process).
pub(crate) fn fresh_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// The identity the next tensor will get: tensors made before this call have smaller ones.
pub(crate) fn next_id() -> u64 {
    NEXT_ID.load(Ordering::Relaxed)
}

/// An immutable n-dimensional array.
///
/// ```
/// use rstf::Tensor;
/// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
/// let y = x.add(&x).unwrap();
/// assert_eq!(y.to_vec::<f32>().unwrap(), vec![2.0, 4.0, 6.0, 8.0, 10.0, 12.0]);
/// assert_eq!(y.shape(), &[2, 3]);
/// ```
#[derive(Clone, Debug)]
pub struct Tensor {
    storage: Arc<Storage>,
    layout: Layout,
    /// Identity for gradient tapes: a clone keeps it, every new tensor (views included) gets
    /// a fresh one.
    id: u64,
}

impl Tensor {
    /// Wraps a storage and a layout; the layout must stay inside the storage.
    pub fn from_parts(storage: Arc<Storage>, layout: Layout) -> Result<Tensor> {
        let (lo, hi) = layout.span();
        if layout.numel() > 0 && (hi > storage.len() || lo > hi) {
            return Err(Error::Internal(format!(
                "layout {layout:?} is out of the storage's {} elements",
                storage.len()
            )));
        }
        Ok(Tensor {
            storage,
            layout,
            id: fresh_id(),
        })
    }

    /// A dense tensor of `shape` holding `data` in row-major order.
    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Tensor> {
        let n = checked_numel(shape, "constant")?;
        if n != data.len() {
            bail!(
                "constant: {} values given for shape {shape:?}, which has {n} elements",
                data.len()
            );
        }
        Ok(Tensor::from_storage(T::into_storage(data), shape))
    }

    /// A dense tensor over a whole storage (whose length must match `shape`).
    pub(crate) fn from_storage(storage: Storage, shape: &[usize]) -> Tensor {
        debug_assert_eq!(storage.len(), shape.iter().product::<usize>());
        Tensor {
            storage: Arc::new(storage),
            layout: Layout::contiguous(shape),
            id: fresh_id(),
        }
    }

    /// A scalar (rank-0) tensor.
    pub fn scalar<T: Element>(v: T) -> Tensor {
        Tensor::from_storage(T::into_storage(vec![v]), &[])
    }

    /// A tensor of `shape` filled with zeros.
    pub fn zeros(shape: &[usize], dtype: DType) -> Result<Tensor> {
        let n = checked_numel(shape, "zeros")?;
        if dtype == DType::String {
            crate::limits::check_value(n as u128 * dtype.size() as u128, "zeros")?;
            return Ok(Tensor::from_storage(Storage::zeros(dtype, n), shape));
        }
        crate::with_dtype!(dtype, T => {
            let mut v = crate::storage::try_alloc::<T>(n, "zeros")?;
            v.resize(n, T::zero());
            Ok(Tensor::from_storage(T::into_storage(v), shape))
        })
    }

    /// The tensor's identity, used by gradient tapes (clones share it).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The same values under a new identity: a tape sees no link to `self`
    /// (this is `stop_gradient`).
    pub fn detach(&self) -> Tensor {
        Tensor {
            storage: self.storage.clone(),
            layout: self.layout.clone(),
            id: fresh_id(),
        }
    }

    /// The same values as a new tensor (TensorFlow's `identity`): gradients pass through, and
    /// a trace records it as a node.
    pub fn identity(&self) -> Result<Tensor> {
        let mut out = [self.detach()];
        crate::autodiff::record(
            || crate::graph::Op::Identity,
            &[self],
            &mut out,
            |_| crate::autodiff::rule(|g, _| Ok(vec![Some(g[0].clone())])),
        );
        let [y] = out;
        Ok(y)
    }

    /// The same values as a new tensor that tapes see as a constant (TensorFlow's
    /// `stop_gradient`); a trace records it as a node, so each call of the graph reads the
    /// input of that call.
    pub fn stop_gradient(&self) -> Tensor {
        let mut out = [self.detach()];
        crate::autodiff::record(
            || crate::graph::Op::StopGradient,
            &[self],
            &mut out,
            |_| crate::autodiff::rule(|_, _| Ok(vec![None])),
        );
        let [y] = out;
        y
    }

    pub(crate) fn renew_id(&mut self) {
        self.id = fresh_id();
    }

    /// Gives the tensor a variable's identity (a variable's value carries its id).
    pub(crate) fn set_id(&mut self, id: u64) {
        self.id = id;
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.storage.dtype()
    }

    /// Size of each dimension.
    pub fn shape(&self) -> &[usize] {
        &self.layout.shape
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.layout.rank()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.layout.numel()
    }

    /// The view's layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The shared storage.
    pub fn storage(&self) -> &Arc<Storage> {
        &self.storage
    }

    /// True when both tensors view the same storage.
    pub fn shares_storage(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.storage, &other.storage)
    }

    /// A tensor over the same storage with another layout (which must stay inside it).
    pub(crate) fn with_layout(&self, layout: Layout) -> Tensor {
        Tensor {
            storage: self.storage.clone(),
            layout,
            id: fresh_id(),
        }
    }

    /// The storage's elements as `T`, or an error when the dtype differs.
    pub fn storage_slice<T: Element>(&self) -> Result<&[T]> {
        T::slice(&self.storage).ok_or_else(|| {
            if self.device() != crate::Device::Cpu {
                Error::Internal("a host kernel was given a GPU tensor".into())
            } else {
                invalid_dtype("storage_slice", T::DTYPE, self.dtype())
            }
        })
    }

    /// The elements as a slice when the tensor is dense and row-major.
    pub fn as_slice<T: Element>(&self) -> Option<&[T]> {
        if !self.layout.is_contiguous() {
            return None;
        }
        let s = T::slice(&self.storage)?;
        if self.numel() == 0 {
            return Some(&[]);
        }
        Some(&s[self.layout.offset..self.layout.offset + self.numel()])
    }

    /// The elements in row-major order as a vector of `T` (the dtype must match).
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        if self.device() != crate::Device::Cpu {
            return self.to_host()?.to_vec();
        }
        if let Some(s) = self.as_slice::<T>() {
            return Ok(s.to_vec());
        }
        let src = self.storage_slice::<T>()?;
        strided::map1(
            src,
            &self.layout.shape,
            &self.layout.strides,
            self.layout.offset,
            |x| x,
        )
    }

    /// The first element as `f64` (for scalars).
    pub fn item_f64(&self) -> Result<f64> {
        if self.numel() == 0 {
            bail!(
                "item: the tensor of shape {:?} has no elements",
                self.shape()
            );
        }
        if self.device() != crate::Device::Cpu {
            return self.to_host()?.item_f64();
        }
        crate::with_dtype!(self.dtype(), T => {
            Ok(self.storage_slice::<T>()?[self.layout.offset].as_f64())
        })
    }

    /// True when the view is dense and row-major.
    pub fn is_contiguous(&self) -> bool {
        self.layout.is_contiguous()
    }

    /// This tensor if dense, else a dense copy.
    pub fn contiguous(&self) -> Result<Tensor> {
        if self.is_contiguous() && self.layout.offset == 0 && self.storage.len() == self.numel() {
            return Ok(self.clone());
        }
        #[cfg(feature = "gpu")]
        if self.device() == crate::Device::Gpu {
            return crate::backend::wgpu::elementwise::copy(self);
        }
        if self.dtype() == DType::String {
            return Tensor::from_strings(self.to_strings()?, self.shape());
        }
        crate::with_dtype!(self.dtype(), T => {
            let v = self.to_vec::<T>()?;
            Ok(Tensor::from_storage(T::into_storage(v), self.shape()))
        })
    }

    /// The elements, writable in place, when this tensor is the only owner of dense host
    /// storage holding exactly its elements; `None` otherwise (nothing is copied).
    pub(crate) fn unique_dense_mut<T: Element>(&mut self) -> Option<&mut [T]> {
        if self.device() != crate::Device::Cpu
            || !self.is_contiguous()
            || self.layout.offset != 0
            || self.storage.len() != self.numel()
        {
            return None;
        }
        T::slice_mut(Arc::get_mut(&mut self.storage)?)
    }

    /// Mutable access to the elements of a dense tensor, copying the storage first when it is
    /// shared (copy-on-write), so other tensors never see the change.
    pub fn make_mut<T: Element>(&mut self) -> Result<&mut [T]> {
        if self.device() != crate::Device::Cpu {
            let id = self.id;
            *self = self.to_host()?;
            self.id = id;
        }
        if !(self.is_contiguous() && self.layout.offset == 0 && self.storage.len() == self.numel())
        {
            let id = self.id;
            *self = self.contiguous()?;
            self.id = id;
        }
        let dt = self.dtype();
        if let crate::storage::Storage::Shared(b) = &*self.storage {
            // Memory owned elsewhere is never written: take a copy of our own.
            let own = b
                .slice::<T>()
                .ok_or_else(|| invalid_dtype("make_mut", T::DTYPE, dt))?;
            let mut v = crate::storage::try_alloc::<T>(own.len(), "make_mut")?;
            v.extend_from_slice(own);
            self.storage = Arc::new(T::into_storage(v));
        }
        T::slice_mut(Arc::make_mut(&mut self.storage))
            .ok_or_else(|| invalid_dtype("make_mut", T::DTYPE, dt))
    }
}

/// The error for a tensor of dtype `got` where `want` was required.
pub(crate) fn invalid_dtype(op: &str, want: DType, got: DType) -> Error {
    Error::InvalidArgument(format!(
        "{op}: expected a tensor of dtype {want}, got {got}"
    ))
}
