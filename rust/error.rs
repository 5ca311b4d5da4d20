//! The one error type of the crate. Every fallible operation returns [`Result`]; the Python
//! bindings map each variant to the TensorFlow exception of the same name (see
//! `python/errors.rs`), so messages should name the op, the shapes and the dtypes.

/// Errors raised by tensor operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Bad shapes, dtypes, axes or values given to an op (TF's `InvalidArgumentError`).
    #[error("{0}")]
    InvalidArgument(String),
    /// An allocation that cannot be made (TF's `ResourceExhaustedError`).
    #[error("{0}")]
    ResourceExhausted(String),
    /// An index past the end of a dimension (TF's `OutOfRangeError`).
    #[error("{0}")]
    OutOfRange(String),
    /// An op that has no kernel for the given dtype or device (TF's `UnimplementedError`).
    #[error("{0}")]
    Unimplemented(String),
    /// A call made in the wrong state, such as a second gradient from a non-persistent tape
    /// (Python's `RuntimeError`, as in TensorFlow).
    #[error("{0}")]
    Runtime(String),
    /// A file or entry that does not exist (TF's `NotFoundError`).
    #[error("{0}")]
    NotFound(String),
    /// A file that is truncated, corrupted or not in the expected format (TF's
    /// `DataLossError`).
    #[error("{0}")]
    DataLoss(String),
    /// An operating-system error of another kind, such as a failed write (TF's
    /// `UnknownError`).
    #[error("{0}")]
    Unknown(String),
    /// Something that should not happen; always a bug (TF's `InternalError`).
    #[error("{0}")]
    Internal(String),
    /// A tensor or kernel too large for the device it was meant for (one storage binding of
    /// the GPU): the op runs on the host instead. Reaches Python as `ResourceExhaustedError`.
    #[error("{0}")]
    TooLarge(String),
    /// An error raised by a caller's callback (a Python exception inside a custom gradient),
    /// carried unchanged through the engine to be raised again where the call came from.
    #[error("{message}")]
    Callback {
        /// The callback's error, for the caller to take back (see [`Payload`]).
        payload: Payload,
        /// Its text.
        message: String,
    },
}

/// A value carried inside an [`Error`] without the core knowing its type: the bindings put a
/// Python exception here and take it back out. Two payloads are equal when they are the same
/// value.
#[derive(Clone)]
pub struct Payload(pub std::sync::Arc<dyn std::any::Any + Send + Sync>);

impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Payload {}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Payload(..)")
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Builds an [`Error::InvalidArgument`] from a format string.
#[macro_export]
macro_rules! invalid {
    ($($arg:tt)*) => { $crate::Error::InvalidArgument(format!($($arg)*)) };
}

/// Returns early with an [`Error::InvalidArgument`] built from a format string.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => { return Err($crate::invalid!($($arg)*)) };
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound(e.to_string()),
            _ => Error::Unknown(e.to_string()),
        }
    }
}

/// Runs `f`, turning a panic inside it into [`Error::Internal`] naming `op` (a bug in a
/// kernel must reach the caller as an error it can catch, never abort a Python program or a
/// loaded model's runner). Costs nothing when nothing panics.
///
/// ```
/// use rstf::{error::catch_panic, Error};
/// let v: Vec<i32> = Vec::new();
/// let r = catch_panic(|| "Gather".into(), || Ok(v[3]));
/// assert!(matches!(r, Err(Error::Internal(m)) if m.starts_with("Gather: internal error")));
/// assert_eq!(catch_panic(|| "Add".into(), || Ok(1)), Ok(1));
/// ```
pub fn catch_panic<T>(op: impl FnOnce() -> String, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(panic_error(&op(), payload)),
    }
}

/// The [`Error::Internal`] for a caught panic's payload.
pub fn panic_error(op: &str, payload: Box<dyn std::any::Any + Send>) -> Error {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    Error::Internal(format!(
        "{op}: internal error ({msg}); this is a bug in rstf, please report it"
    ))
}
