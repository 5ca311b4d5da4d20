//! Devices and placement: where a tensor's elements live ([`Device`]), the per-thread device
//! scope (`rstf.device(...)` in Python), and the rule that picks the device an op runs on.
//!
//! An op runs on the scope's device when a scope is set; otherwise on the GPU when any input
//! is there; otherwise on the default device, which is the GPU only when a hardware adapter
//! exists (software adapters are never the default, see [`crate::backend::wgpu`]). Inputs on
//! another device are copied to the op's device, as TensorFlow does. Only float32, int32 and
//! bool tensors live on the GPU; tensors of other dtypes stay in host memory, and so do
//! tensors larger than one GPU storage binding (the ops that read or make them run on the CPU,
//! as soft placement does for ops without a GPU kernel).
//!
//! ```
//! use rstf::{device::Device, Tensor};
//! let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
//! assert_eq!(x.device(), Device::Cpu);
//! let y = rstf::device::with_device(Some(Device::Cpu), || x.add(&x)).unwrap();
//! assert_eq!(y.device(), Device::Cpu);
//! ```

use crate::dtype::DType;
#[cfg(feature = "gpu")]
use crate::storage::Storage;
use crate::tensor::Tensor;
use crate::Result;
use std::cell::Cell;

/// Where a tensor's elements live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Device {
    /// Host memory.
    Cpu,
    /// The GPU of the wgpu backend.
    Gpu,
}

impl Device {
    /// TensorFlow's full device name.
    pub fn name(self) -> &'static str {
        match self {
            Device::Cpu => "/job:localhost/replica:0/task:0/device:CPU:0",
            Device::Gpu => "/job:localhost/replica:0/task:0/device:GPU:0",
        }
    }
}

thread_local! {
    static SCOPE: Cell<Option<Device>> = const { Cell::new(None) };
}

/// The device scope of this thread (`None`: no scope).
pub fn scope() -> Option<Device> {
    SCOPE.with(|s| s.get())
}

/// Sets this thread's device scope and returns the previous one.
pub fn set_scope(d: Option<Device>) -> Option<Device> {
    SCOPE.with(|s| s.replace(d))
}

/// Runs `f` with `d` as this thread's device scope.
pub fn with_device<R>(d: Option<Device>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Device>);
    impl Drop for Restore {
        fn drop(&mut self) {
            set_scope(self.0);
        }
    }
    let _restore = Restore(set_scope(d));
    f()
}

/// True when a usable GPU exists (hardware, or software with `RSTF_ALLOW_SOFTWARE_GPU=1`).
pub fn gpu_available() -> bool {
    #[cfg(feature = "gpu")]
    {
        crate::backend::wgpu::available()
    }
    #[cfg(not(feature = "gpu"))]
    {
        false
    }
}

/// The device of ops with no scope and no GPU input: the GPU when a hardware adapter exists.
pub fn default_device() -> Device {
    #[cfg(feature = "gpu")]
    {
        if crate::backend::wgpu::hardware_available() {
            return Device::Gpu;
        }
    }
    Device::Cpu
}

/// True when tensors of `dtype` can live on the GPU: float32, int32 and bool, and float16
/// where the adapter has 16-bit floats in shaders.
pub fn gpu_dtype(dtype: DType) -> bool {
    match dtype {
        DType::F32 | DType::I32 | DType::Bool => true,
        #[cfg(feature = "gpu")]
        DType::F16 => crate::backend::wgpu::has_f16(),
        _ => false,
    }
}

/// The device an op on `inputs` runs on (see the module text). A GPU that does not exist
/// means the CPU (TensorFlow's soft placement).
pub fn op_device(inputs: &[&Tensor]) -> Device {
    let d = match scope() {
        Some(d) => d,
        None if inputs.iter().any(|t| t.device() == Device::Gpu) => Device::Gpu,
        None => default_device(),
    };
    if d == Device::Gpu && !gpu_available() {
        Device::Cpu
    } else {
        d
    }
}

/// True when an op on `inputs` may involve the GPU (cheap test on the hot path).
#[cfg(feature = "gpu")]
pub(crate) fn gpu_involved(inputs: &[&Tensor]) -> bool {
    match scope() {
        Some(Device::Cpu) => inputs.iter().any(|t| t.device() == Device::Gpu),
        Some(Device::Gpu) => true,
        None => inputs.iter().any(|t| t.device() == Device::Gpu) || default_device() == Device::Gpu,
    }
}

impl Tensor {
    /// The device holding the elements.
    pub fn device(&self) -> Device {
        #[cfg(feature = "gpu")]
        if let Storage::Gpu(_) = **self.storage() {
            return Device::Gpu;
        }
        Device::Cpu
    }

    /// This tensor on `device`: itself when already there, else a dense copy. A dtype that
    /// cannot live on the GPU, or a tensor larger than one GPU storage binding, stays in host
    /// memory.
    pub fn to_device(&self, device: Device) -> Result<Tensor> {
        if self.device() == device {
            return Ok(self.clone());
        }
        match device {
            Device::Cpu => self.to_host(),
            Device::Gpu => {
                #[cfg(feature = "gpu")]
                {
                    let bytes =
                        self.numel() as u64 * crate::backend::wgpu::elem_bytes(self.dtype());
                    if gpu_dtype(self.dtype())
                        && gpu_available()
                        && crate::backend::wgpu::fits(bytes)
                    {
                        return crate::backend::wgpu::upload(self);
                    }
                }
                Ok(self.clone())
            }
        }
    }

    /// This tensor in host memory (itself when already there).
    pub fn to_host(&self) -> Result<Tensor> {
        #[cfg(feature = "gpu")]
        {
            if let Storage::Gpu(b) = &**self.storage() {
                return crate::backend::wgpu::download(b, self.layout());
            }
        }
        Ok(self.clone())
    }

    /// This tensor on the device of the current scope (new tensors from Python are placed so).
    pub fn placed(self) -> Result<Tensor> {
        match scope() {
            Some(d) => self.to_device(d),
            None if default_device() == Device::Gpu => self.to_device(Device::Gpu),
            None => Ok(self),
        }
    }
}
