//! rstf: a TensorFlow-2-style machine-learning engine.
//!
//! The crate holds all the numeric work: strided [`Tensor`]s over shared storage, CPU kernels
//! (SIMD on dense data, rayon above a size threshold, matmul through `gemm`), and the op set
//! that the Python package `rstf` exposes with TensorFlow's names. It is usable from Rust with
//! no Python:
//!
//! ```
//! use rstf::{DType, Tensor};
//! let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
//! let y = x.matmul(&x.transpose(&[1, 0]).unwrap(), false, false).unwrap();
//! assert_eq!(y.to_vec::<f32>().unwrap(), vec![14.0, 32.0, 32.0, 77.0]);
//! assert_eq!(y.dtype(), DType::F32);
//! ```

pub mod alloc;
pub mod autodiff;
pub mod backend;
pub mod device;
pub mod dtype;
pub mod error;
pub mod graph;
pub mod layout;
pub mod limits;
pub mod ops;
pub mod optim;
pub mod saved;
pub mod storage;
pub mod tensor;
pub mod variable;

#[cfg(feature = "python")]
mod python;

pub use device::Device;
pub use dtype::{DType, Element};
pub use error::{Error, Result};
pub use layout::Layout;
pub use storage::Storage;
pub use tensor::Tensor;
pub use variable::Variable;

/// TensorFlow's name for [`saved`]: `rstf::saved_model::load(path)?`.
pub use saved as saved_model;
