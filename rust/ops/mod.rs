//! The op set. Primitives (elementwise, reductions, matmul, movement) are defined here with
//! their CPU kernels; composites (softmax, mean, ...) are built from primitives.

pub mod conv;
pub mod creation;
pub mod elementwise;
pub mod indexing;
pub mod linalg;
pub mod matmul;
pub mod movement;
pub mod nn;
pub mod reduce;
pub mod scan;
pub mod strings;
mod text;
pub mod unary;

pub use elementwise::BinaryOp;
pub use reduce::ReduceOp;
pub use unary::UnaryOp;
