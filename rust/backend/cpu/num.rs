//! Per-type arithmetic for the CPU kernels: [`Num`] for every numeric dtype (integers wrap on
//! overflow, as TensorFlow's kernels do) and [`Float`] for the transcendental functions.

use crate::dtype::Element;

/// Arithmetic shared by integers and floats.
pub trait Num: Element {
    /// `a + b` (wrapping for integers).
    fn add(self, o: Self) -> Self;
    /// `a - b` (wrapping for integers).
    fn sub(self, o: Self) -> Self;
    /// `a * b` (wrapping for integers).
    fn mul(self, o: Self) -> Self;
    /// `a / b`; integer callers must rule out a zero divisor first.
    fn div(self, o: Self) -> Self;
    /// Division rounding toward negative infinity.
    fn floordiv(self, o: Self) -> Self;
    /// Remainder with the sign of the divisor (Python's `%`).
    fn floormod(self, o: Self) -> Self;
    /// `a ** b`; integer callers must rule out negative exponents first.
    fn pow(self, o: Self) -> Self;
    /// Larger of two values (NaN wins).
    fn maximum(self, o: Self) -> Self;
    /// Smaller of two values (NaN wins).
    fn minimum(self, o: Self) -> Self;
    /// `-a` (wrapping).
    fn neg(self) -> Self;
    /// `|a|` (wrapping).
    fn abs(self) -> Self;
    /// -1, 0 or 1 (NaN stays NaN).
    fn sign(self) -> Self;
    /// The lowest value (the identity of max).
    fn lowest() -> Self;
    /// The highest value (the identity of min).
    fn highest() -> Self;
    /// True for zero.
    fn is_zero(self) -> bool;
    /// True for values below zero.
    fn is_negative(self) -> bool;
}

macro_rules! impl_num_int {
    ($t:ty, $signed:expr) => {
        impl Num for $t {
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                self.wrapping_sub(o)
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
            #[inline(always)]
            fn div(self, o: Self) -> Self {
                if o == 0 {
                    0
                } else {
                    self.wrapping_div(o)
                }
            }
            #[inline(always)]
            fn floordiv(self, o: Self) -> Self {
                if o == 0 {
                    return 0;
                }
                let q = self.wrapping_div(o);
                if $signed
                    && self.wrapping_rem(o) != 0
                    && (Num::is_negative(self) != Num::is_negative(o))
                {
                    q.wrapping_sub(1)
                } else {
                    q
                }
            }
            #[inline(always)]
            fn floormod(self, o: Self) -> Self {
                if o == 0 {
                    return 0;
                }
                let r = self.wrapping_rem(o);
                if $signed && r != 0 && (Num::is_negative(r) != Num::is_negative(o)) {
                    r.wrapping_add(o)
                } else {
                    r
                }
            }
            #[inline(always)]
            fn pow(self, o: Self) -> Self {
                self.wrapping_pow((o as i64).clamp(0, u32::MAX as i64) as u32)
            }
            #[inline(always)]
            fn maximum(self, o: Self) -> Self {
                if self > o {
                    self
                } else {
                    o
                }
            }
            #[inline(always)]
            fn minimum(self, o: Self) -> Self {
                if self < o {
                    self
                } else {
                    o
                }
            }
            #[inline(always)]
            fn neg(self) -> Self {
                (0 as $t).wrapping_sub(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                #[allow(unused_comparisons)]
                if self < 0 {
                    self.neg()
                } else {
                    self
                }
            }
            #[inline(always)]
            fn sign(self) -> Self {
                #[allow(unused_comparisons)]
                if self > 0 {
                    1
                } else if self < 0 {
                    (0 as $t).wrapping_sub(1)
                } else {
                    0
                }
            }
            fn lowest() -> Self {
                <$t>::MIN
            }
            fn highest() -> Self {
                <$t>::MAX
            }
            #[inline(always)]
            fn is_zero(self) -> bool {
                self == 0
            }
            #[inline(always)]
            fn is_negative(self) -> bool {
                #[allow(unused_comparisons)]
                {
                    self < 0
                }
            }
        }
    };
}
impl_num_int!(i8, true);
impl_num_int!(i32, true);
impl_num_int!(i64, true);
impl_num_int!(u8, false);

macro_rules! impl_num_float {
    ($t:ty) => {
        impl Num for $t {
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                self + o
            }
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                self - o
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                self * o
            }
            #[inline(always)]
            fn div(self, o: Self) -> Self {
                self / o
            }
            #[inline(always)]
            fn floordiv(self, o: Self) -> Self {
                (self / o).floor()
            }
            #[inline(always)]
            fn floormod(self, o: Self) -> Self {
                let r = self % o;
                if r != 0.0 && ((r < 0.0) != (o < 0.0)) {
                    r + o
                } else {
                    r
                }
            }
            #[inline(always)]
            fn pow(self, o: Self) -> Self {
                self.powf(o)
            }
            #[inline(always)]
            fn maximum(self, o: Self) -> Self {
                if self > o || self.is_nan() {
                    self
                } else {
                    o
                }
            }
            #[inline(always)]
            fn minimum(self, o: Self) -> Self {
                if self < o || self.is_nan() {
                    self
                } else {
                    o
                }
            }
            #[inline(always)]
            fn neg(self) -> Self {
                -self
            }
            #[inline(always)]
            fn abs(self) -> Self {
                self.abs()
            }
            #[inline(always)]
            fn sign(self) -> Self {
                if self > 0.0 {
                    1.0
                } else if self < 0.0 {
                    -1.0
                } else {
                    self
                }
            }
            fn lowest() -> Self {
                <$t>::NEG_INFINITY
            }
            fn highest() -> Self {
                <$t>::INFINITY
            }
            #[inline(always)]
            fn is_zero(self) -> bool {
                self == 0.0
            }
            #[inline(always)]
            fn is_negative(self) -> bool {
                self < 0.0
            }
        }
    };
}
impl_num_float!(f32);
impl_num_float!(f64);

/// Transcendental and rounding functions of the float dtypes computed natively.
pub trait Float: Num {
    /// e^x.
    fn exp(self) -> Self;
    /// e^x - 1.
    fn expm1(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// ln(1 + x).
    fn ln1p(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Sine.
    fn sin(self) -> Self;
    /// Cosine.
    fn cos(self) -> Self;
    /// Tangent.
    fn tan(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Error function.
    fn erf(self) -> Self;
    /// Inverse sine.
    fn asin(self) -> Self;
    /// Inverse cosine.
    fn acos(self) -> Self;
    /// Inverse tangent.
    fn atan(self) -> Self;
    /// Hyperbolic sine.
    fn sinh(self) -> Self;
    /// Hyperbolic cosine.
    fn cosh(self) -> Self;
    /// Inverse hyperbolic sine.
    fn asinh(self) -> Self;
    /// Inverse hyperbolic cosine.
    fn acosh(self) -> Self;
    /// Inverse hyperbolic tangent.
    fn atanh(self) -> Self;
    /// Round half to even.
    fn round(self) -> Self;
    /// Round down.
    fn floor(self) -> Self;
    /// Round up.
    fn ceil(self) -> Self;
    /// True for NaN.
    fn is_nan(self) -> bool;
}

macro_rules! impl_float {
    ($t:ty, $erf:path) => {
        impl Float for $t {
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn expm1(self) -> Self {
                self.exp_m1()
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn ln1p(self) -> Self {
                self.ln_1p()
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn sin(self) -> Self {
                <$t>::sin(self)
            }
            #[inline(always)]
            fn cos(self) -> Self {
                <$t>::cos(self)
            }
            #[inline(always)]
            fn tan(self) -> Self {
                <$t>::tan(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            #[inline(always)]
            fn erf(self) -> Self {
                $erf(self)
            }
            #[inline(always)]
            fn asin(self) -> Self {
                <$t>::asin(self)
            }
            #[inline(always)]
            fn acos(self) -> Self {
                <$t>::acos(self)
            }
            #[inline(always)]
            fn atan(self) -> Self {
                <$t>::atan(self)
            }
            #[inline(always)]
            fn sinh(self) -> Self {
                <$t>::sinh(self)
            }
            #[inline(always)]
            fn cosh(self) -> Self {
                <$t>::cosh(self)
            }
            #[inline(always)]
            fn asinh(self) -> Self {
                <$t>::asinh(self)
            }
            #[inline(always)]
            fn acosh(self) -> Self {
                <$t>::acosh(self)
            }
            #[inline(always)]
            fn atanh(self) -> Self {
                <$t>::atanh(self)
            }
            #[inline(always)]
            fn round(self) -> Self {
                self.round_ties_even()
            }
            #[inline(always)]
            fn floor(self) -> Self {
                <$t>::floor(self)
            }
            #[inline(always)]
            fn ceil(self) -> Self {
                <$t>::ceil(self)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
        }
    };
}
impl_float!(f32, libm::erff);
impl_float!(f64, libm::erf);
