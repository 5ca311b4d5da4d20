//! Compute backends. Only the CPU backend exists so far; every op runs its kernels here.

pub mod cpu;
