//! Limits on running graphs read from files. A saved model is untrusted input: a small file
//! must not be able to loop forever or allocate gigabytes. While a graph loaded from a file
//! runs, this thread enforces [`Limits`]: loops stop with an error after
//! `max_loop_iterations` iterations, and no value may take more than
//! `max(max_value_bytes, value_bytes_per_input_byte * bytes of the call's arguments)`.
//! Graphs traced in this process run without limits.
//!
//! ```
//! use rstf::limits::{self, Limits};
//! let before = limits::get();
//! limits::set(Limits { max_loop_iterations: 10, ..before });
//! assert_eq!(limits::get().max_loop_iterations, 10);
//! limits::set(before);
//! ```

use crate::{Error, Result};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a graph read from a file may do in one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Iterations of one loop.
    pub max_loop_iterations: u64,
    /// Bytes of one value, whatever the arguments.
    pub max_value_bytes: u64,
    /// Bytes of one value per byte of the call's arguments (larger inputs, larger values).
    pub value_bytes_per_input_byte: u64,
}

/// The defaults: a million loop iterations, 1 GiB per value or 64 times the arguments.
pub const DEFAULT: Limits = Limits {
    max_loop_iterations: 1_000_000,
    max_value_bytes: 1 << 30,
    value_bytes_per_input_byte: 64,
};

static LOOPS: AtomicU64 = AtomicU64::new(DEFAULT.max_loop_iterations);
static VALUE_BYTES: AtomicU64 = AtomicU64::new(DEFAULT.max_value_bytes);
static PER_INPUT_BYTE: AtomicU64 = AtomicU64::new(DEFAULT.value_bytes_per_input_byte);

thread_local! {
    /// `(loop iterations, value bytes)` in force on this thread, while a loaded graph runs.
    static ACTIVE: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
}

/// The limits that graphs read from files run under (process-wide).
pub fn get() -> Limits {
    Limits {
        max_loop_iterations: LOOPS.load(Ordering::Relaxed),
        max_value_bytes: VALUE_BYTES.load(Ordering::Relaxed),
        value_bytes_per_input_byte: PER_INPUT_BYTE.load(Ordering::Relaxed),
    }
}

/// Sets the limits for the graph calls that start from now on.
pub fn set(l: Limits) {
    LOOPS.store(l.max_loop_iterations, Ordering::Relaxed);
    VALUE_BYTES.store(l.max_value_bytes, Ordering::Relaxed);
    PER_INPUT_BYTE.store(l.value_bytes_per_input_byte, Ordering::Relaxed);
}

/// Puts the limits in force on this thread until the guard drops, for a call whose arguments
/// take `input_bytes`; nothing changes where limits are already in force (a nested call).
pub(crate) fn enter(input_bytes: u64) -> Option<Guard> {
    if ACTIVE.with(|a| a.get()).is_some() {
        return None;
    }
    let l = get();
    let bytes = l
        .max_value_bytes
        .max(l.value_bytes_per_input_byte.saturating_mul(input_bytes));
    ACTIVE.with(|a| a.set(Some((l.max_loop_iterations, bytes))));
    Some(Guard(()))
}

/// Replaces the limits in force on this thread, `(loop iterations, value bytes)` or none, and
/// returns the previous ones: for code that builds objects from an untrusted description (a
/// Keras config read from a file) and must not allocate more than the file justifies.
pub fn swap_active(limits: Option<(u64, u64)>) -> Option<(u64, u64)> {
    ACTIVE.with(|a| a.replace(limits))
}

/// Ends the limits that [`enter`] set.
pub(crate) struct Guard(());

impl Drop for Guard {
    fn drop(&mut self) {
        ACTIVE.with(|a| a.set(None));
    }
}

/// Fails when a loop of a loaded graph is about to run iteration `i` (from 0) past the limit.
pub(crate) fn check_iteration(i: u64) -> Result<()> {
    match ACTIVE.with(|a| a.get()) {
        Some((max, _)) if i >= max => Err(Error::ResourceExhausted(format!(
            "While: a loop of a graph read from a file ran {max} iterations, its limit; raise it with rstf.saved_model.set_load_limits(max_loop_iterations=...)"
        ))),
        _ => Ok(()),
    }
}

/// Fails when a value of `bytes` exceeds the limit in force (nothing without one).
pub fn check_value(bytes: u128, op: &str) -> Result<()> {
    match ACTIVE.with(|a| a.get()) {
        Some((_, max)) if bytes > max as u128 => Err(Error::ResourceExhausted(format!(
            "{op}: a value of {bytes} bytes in a graph read from a file is over its limit of {max} bytes; raise it with rstf.saved_model.set_load_limits(max_value_bytes=...)"
        ))),
        _ => Ok(()),
    }
}
