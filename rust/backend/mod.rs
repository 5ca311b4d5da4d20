//! Compute backends: the CPU backend runs every op; the wgpu backend (cargo feature `gpu`)
//! runs the ops it has kernels for on the GPU (see `crate::device` for placement).

pub mod cpu;
#[cfg(feature = "gpu")]
pub mod wgpu;
