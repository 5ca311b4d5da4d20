//! Element types: the [`DType`] enum, the [`Element`] trait that ties a Rust type to its dtype,
//! and the per-type arithmetic used by the CPU kernels.

use crate::storage::Storage;
use half::{bf16, f16};
use std::fmt;

/// The element type of a tensor.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub enum DType {
    /// IEEE half precision.
    F16,
    /// Brain floating point.
    BF16,
    /// IEEE single precision.
    F32,
    /// IEEE double precision.
    F64,
    /// Signed 8-bit integer.
    I8,
    /// Signed 32-bit integer.
    I32,
    /// Signed 64-bit integer.
    I64,
    /// Unsigned 8-bit integer.
    U8,
    /// Boolean.
    Bool,
    /// Byte strings (text is UTF-8), one variable-length value per element.
    String,
}

impl DType {
    /// Every dtype, in a fixed order.
    pub const ALL: [DType; 10] = [
        DType::F16,
        DType::BF16,
        DType::F32,
        DType::F64,
        DType::I8,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::Bool,
        DType::String,
    ];

    /// TensorFlow's name of the dtype (`"float32"`, `"int64"`, ...).
    ///
    /// ```
    /// assert_eq!(rstf::DType::F32.name(), "float32");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::I8 => "int8",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::Bool => "bool",
            DType::String => "string",
        }
    }

    /// Parses TensorFlow's name of a dtype (also accepts `"half"`, `"float"`, `"double"`).
    pub fn from_name(name: &str) -> Option<DType> {
        Some(match name {
            "float16" | "half" => DType::F16,
            "bfloat16" => DType::BF16,
            "float32" | "float" => DType::F32,
            "float64" | "double" => DType::F64,
            "int8" => DType::I8,
            "int32" => DType::I32,
            "int64" => DType::I64,
            "uint8" => DType::U8,
            "bool" => DType::Bool,
            "string" => DType::String,
            _ => return None,
        })
    }

    /// Size of one element in bytes (for strings, the size of the handle each element has:
    /// the bytes themselves live on the heap).
    pub fn size(self) -> usize {
        match self {
            DType::String => std::mem::size_of::<Box<[u8]>>(),
            DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 => 4,
            DType::F64 | DType::I64 => 8,
            DType::I8 | DType::U8 | DType::Bool => 1,
        }
    }

    /// True for the floating-point dtypes.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::BF16 | DType::F32 | DType::F64)
    }

    /// True for the 16-bit floats, which the CPU kernels compute in `f32`.
    pub fn is_half(self) -> bool {
        matches!(self, DType::F16 | DType::BF16)
    }

    /// True for the integer dtypes (not bool).
    pub fn is_int(self) -> bool {
        matches!(self, DType::I8 | DType::I32 | DType::I64 | DType::U8)
    }

    /// True for the signed integer dtypes.
    pub fn is_signed_int(self) -> bool {
        matches!(self, DType::I8 | DType::I32 | DType::I64)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A Rust type that can be stored in a tensor.
pub trait Element: Copy + Send + Sync + PartialOrd + fmt::Debug + Default + 'static {
    /// The dtype of this element type.
    const DTYPE: DType;
    /// Converts to `f64` (booleans give 0 or 1).
    fn as_f64(self) -> f64;
    /// Converts from `f64` as a C cast would (truncation toward zero, saturating for integers).
    fn of_f64(v: f64) -> Self;
    /// Converts to `i64` exactly for integers, truncating floats.
    fn as_i64(self) -> i64;
    /// Converts from `i64`, wrapping integers.
    fn of_i64(v: i64) -> Self;
    /// Zero of the type (false for bool).
    fn zero() -> Self;
    /// One of the type (true for bool).
    fn one() -> Self;
    /// The elements of `s` if it holds this type.
    fn slice(s: &Storage) -> Option<&[Self]>;
    /// The elements of `s`, mutably, if it holds this type.
    fn slice_mut(s: &mut Storage) -> Option<&mut [Self]>;
    /// Wraps a vector of this type as storage.
    fn into_storage(v: Vec<Self>) -> Storage;
}

macro_rules! impl_stored {
    ($v:ident) => {
        #[inline(always)]
        fn slice(s: &Storage) -> Option<&[Self]> {
            match s {
                Storage::$v(v) => Some(v),
                Storage::Shared(b) => b.slice(),
                _ => None,
            }
        }
        #[inline(always)]
        fn slice_mut(s: &mut Storage) -> Option<&mut [Self]> {
            match s {
                Storage::$v(v) => Some(v),
                _ => None,
            }
        }
        #[inline(always)]
        fn into_storage(v: Vec<Self>) -> Storage {
            Storage::$v(v)
        }
    };
}

macro_rules! impl_element_int {
    ($t:ty, $d:expr, $v:ident) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            impl_stored!($v);
            #[inline(always)]
            fn as_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn of_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn as_i64(self) -> i64 {
                self as i64
            }
            #[inline(always)]
            fn of_i64(v: i64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn zero() -> Self {
                0
            }
            #[inline(always)]
            fn one() -> Self {
                1
            }
        }
    };
}
impl_element_int!(i8, DType::I8, I8);
impl_element_int!(i32, DType::I32, I32);
impl_element_int!(i64, DType::I64, I64);
impl_element_int!(u8, DType::U8, U8);

macro_rules! impl_element_float {
    ($t:ty, $d:expr, $v:ident) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            impl_stored!($v);
            #[inline(always)]
            fn as_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn of_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn as_i64(self) -> i64 {
                self as i64
            }
            #[inline(always)]
            fn of_i64(v: i64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn zero() -> Self {
                0.0
            }
            #[inline(always)]
            fn one() -> Self {
                1.0
            }
        }
    };
}
impl_element_float!(f32, DType::F32, F32);
impl_element_float!(f64, DType::F64, F64);

macro_rules! impl_element_half {
    ($t:ty, $d:expr, $v:ident, $from32:path) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            impl_stored!($v);
            #[inline(always)]
            fn as_f64(self) -> f64 {
                self.to_f64()
            }
            #[inline(always)]
            fn of_f64(v: f64) -> Self {
                $from32(v as f32)
            }
            #[inline(always)]
            fn as_i64(self) -> i64 {
                self.to_f64() as i64
            }
            #[inline(always)]
            fn of_i64(v: i64) -> Self {
                $from32(v as f32)
            }
            #[inline(always)]
            fn zero() -> Self {
                <$t>::ZERO
            }
            #[inline(always)]
            fn one() -> Self {
                <$t>::ONE
            }
        }
    };
}
impl_element_half!(f16, DType::F16, F16, f16::from_f32);
impl_element_half!(bf16, DType::BF16, BF16, bf16_from_f32);

/// f32 to bfloat16, rounding to nearest even (NaN stays NaN).
#[inline(always)]
pub fn bf16_from_f32(x: f32) -> bf16 {
    let bits = x.to_bits();
    if x.is_nan() {
        return bf16::from_bits(((bits >> 16) as u16) | 0x40);
    }
    let round = 0x7FFF + ((bits >> 16) & 1);
    bf16::from_bits((bits.wrapping_add(round) >> 16) as u16)
}

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    impl_stored!(Bool);
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self as u8 as f64
    }
    #[inline(always)]
    fn of_f64(v: f64) -> Self {
        v != 0.0
    }
    #[inline(always)]
    fn as_i64(self) -> i64 {
        self as i64
    }
    #[inline(always)]
    fn of_i64(v: i64) -> Self {
        v != 0
    }
    #[inline(always)]
    fn zero() -> Self {
        false
    }
    #[inline(always)]
    fn one() -> Self {
        true
    }
}

/// The error of a numeric kernel given string elements.
pub fn no_string_kernel(op: &str) -> crate::Error {
    crate::Error::InvalidArgument(format!(
        "{op}: not supported for dtype string (only data movement, comparison and \
         tf.strings ops take strings)"
    ))
}

/// Runs `$body` with the type alias `$T` bound to the Rust type of `$dtype`.
///
/// Strings have no [`Element`] type: for them the enclosing function returns
/// [`no_string_kernel`]'s error (callers that take strings handle them before).
#[macro_export]
macro_rules! with_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::String => {
                return Err($crate::dtype::no_string_kernel(module_path!()).into());
            }
            $crate::DType::F16 => {
                type $T = half::f16;
                $body
            }
            $crate::DType::BF16 => {
                type $T = half::bf16;
                $body
            }
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
            $crate::DType::I8 => {
                type $T = i8;
                $body
            }
            $crate::DType::I32 => {
                type $T = i32;
                $body
            }
            $crate::DType::I64 => {
                type $T = i64;
                $body
            }
            $crate::DType::U8 => {
                type $T = u8;
                $body
            }
            $crate::DType::Bool => {
                type $T = bool;
                $body
            }
        }
    };
}

impl From<DType> for String {
    fn from(d: DType) -> String {
        d.name().to_string()
    }
}

impl TryFrom<String> for DType {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<DType, String> {
        DType::from_name(&s).ok_or_else(|| format!("unknown dtype '{s}'"))
    }
}
