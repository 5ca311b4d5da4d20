//! The unary elementwise ops, each declared once in [`unary_table!`]: its TensorFlow name, its
//! Python name, its scalar definition on floats (from which both the eager CPU kernel and the
//! fused CPU executor are generated), its definition on integers where it has one, its WGSL
//! expressions, and its gradient. Adding a unary op is one entry here, a method of
//! [`Float`](crate::backend::cpu::num::Float) when the arithmetic is new, and its Python export.
//!
//! ```
//! use rstf::{ops::UnaryOp, Tensor};
//! let x = Tensor::from_vec(vec![0.0f32, 1.0], &[2]).unwrap();
//! let y = x.unary(UnaryOp::from_python_name("expm1").unwrap()).unwrap();
//! assert_eq!(y.to_vec::<f32>().unwrap()[1], 1f32.exp_m1());
//! ```

/// Calls `$m!` with the table of unary ops and the arguments given after it. Each entry is
///
/// ```text
/// Variant ("TfName", "python_name")
///     float: |x| <expression on a `T: Float`>,
///     int: [|x| <expression on a `T: Num`>] or [],
///     wgsl: ["<f32 expression of x0>", "<i32 expression of x0>"] (the second, or both, may be
///           left out: the GPU then runs the host kernel),
///     grad: |x, y, g, c| <d op(x)/dx times g, with y = op(x) and c(v) a scalar like x>;
/// ```
///
/// The expressions may name the element type `T` (the consumers' generic parameter).
macro_rules! unary_table {
    ($m:ident ! ($($args:tt)*)) => {
        $m! { ($($args)*)
            Neg ("Neg", "neg")
                float: |x| x.neg(), int: [|x| x.neg()],
                wgsl: ["-x0", "-x0"],
                grad: |_x, _y, g, _c| g.unary(UnaryOp::Neg)?;
            Abs ("Abs", "abs")
                float: |x| x.abs(), int: [|x| x.abs()],
                wgsl: ["abs(x0)", "abs(x0)"],
                grad: |x, _y, g, _c| g.mul(&x.unary(UnaryOp::Sign)?)?;
            // sign(NaN) is NaN (drivers' sign gives 0).
            Sign ("Sign", "sign")
                float: |x| x.sign(), int: [|x| x.sign()],
                wgsl: ["select(sign(x0), x0, rstf_isnan(x0))", "sign(x0)"],
                grad: |x, _y, _g, _c| Tensor::zeros(x.shape(), x.dtype())?;
            Square ("Square", "square")
                float: |x| x.mul(x), int: [|x| x.mul(x)],
                wgsl: ["x0 * x0", "x0 * x0"],
                grad: |x, _y, g, c| g.mul(&x.mul(&c(2.0)?)?)?;
            Exp ("Exp", "exp")
                float: |x| x.exp(), int: [],
                wgsl: ["rstf_exp(x0)"],
                grad: |_x, y, g, _c| g.mul(y)?;
            Expm1 ("Expm1", "expm1")
                float: |x| x.expm1(), int: [],
                wgsl: ["rstf_expm1(x0)"],
                grad: |_x, y, g, c| g.mul(&y.add(&c(1.0)?)?)?;
            Log ("Log", "log")
                float: |x| x.ln(), int: [],
                wgsl: ["rstf_log(x0)"],
                grad: |x, _y, g, _c| g.div(x)?;
            Log1p ("Log1p", "log1p")
                float: |x| x.ln1p(), int: [],
                wgsl: ["rstf_log1p(x0)"],
                grad: |x, _y, g, c| g.div(&x.add(&c(1.0)?)?)?;
            Sqrt ("Sqrt", "sqrt")
                float: |x| x.sqrt(), int: [],
                wgsl: ["sqrt(x0)"],
                grad: |_x, y, g, c| g.mul(&c(0.5)?)?.div(y)?;
            Rsqrt ("Rsqrt", "rsqrt")
                float: |x| T::one().div(x.sqrt()), int: [],
                wgsl: ["1.0 / sqrt(x0)"],
                grad: |_x, y, g, c| g.mul(&y.mul(y)?.mul(y)?)?.mul(&c(-0.5)?)?;
            Reciprocal ("Reciprocal", "reciprocal")
                float: |x| T::one().div(x), int: [],
                wgsl: ["1.0 / x0"],
                grad: |_x, y, g, _c| g.mul(&y.mul(y)?)?.unary(UnaryOp::Neg)?;
            Sin ("Sin", "sin")
                float: |x| x.sin(), int: [],
                wgsl: ["sin(x0)"],
                grad: |x, _y, g, _c| g.mul(&x.unary(UnaryOp::Cos)?)?;
            Cos ("Cos", "cos")
                float: |x| x.cos(), int: [],
                wgsl: ["cos(x0)"],
                grad: |x, _y, g, _c| g.mul(&x.unary(UnaryOp::Sin)?)?.unary(UnaryOp::Neg)?;
            Tan ("Tan", "tan")
                float: |x| x.tan(), int: [],
                wgsl: ["tan(x0)"],
                grad: |_x, y, g, c| g.mul(&c(1.0)?.add(&y.mul(y)?)?)?;
            Tanh ("Tanh", "tanh")
                float: |x| x.tanh(), int: [],
                wgsl: ["rstf_tanh(x0)"],
                grad: |_x, y, g, c| g.mul(&c(1.0)?.sub(&y.mul(y)?)?)?;
            Sigmoid ("Sigmoid", "sigmoid")
                float: |x| T::one().div(T::one().add(x.neg().exp())), int: [],
                wgsl: ["rstf_sigmoid(x0)"],
                grad: |_x, y, g, c| g.mul(&y.mul(&c(1.0)?.sub(y)?)?)?;
            Erf ("Erf", "erf")
                float: |x| x.erf(), int: [],
                wgsl: ["rstf_erf(x0)"],
                grad: |x, _y, g, c| {
                    let k = c(std::f64::consts::FRAC_2_SQRT_PI)?;
                    g.mul(&x.mul(x)?.unary(UnaryOp::Neg)?.unary(UnaryOp::Exp)?.mul(&k)?)?
                };
            // No WGSL kernel for asin, acos and atan: WGSL's builtins may be 4096 ulps off
            // (lavapipe's are), so the GPU runs the host kernel for them.
            Asin ("Asin", "asin")
                float: |x| x.asin(), int: [],
                wgsl: [],
                grad: |x, _y, g, c| g.div(&c(1.0)?.sub(&x.mul(x)?)?.unary(UnaryOp::Sqrt)?)?;
            Acos ("Acos", "acos")
                float: |x| x.acos(), int: [],
                wgsl: [],
                grad: |x, _y, g, c| {
                    g.div(&c(1.0)?.sub(&x.mul(x)?)?.unary(UnaryOp::Sqrt)?)?.unary(UnaryOp::Neg)?
                };
            Atan ("Atan", "atan")
                float: |x| x.atan(), int: [],
                wgsl: [],
                grad: |x, _y, g, c| g.div(&c(1.0)?.add(&x.mul(x)?)?)?;
            Sinh ("Sinh", "sinh")
                float: |x| x.sinh(), int: [],
                wgsl: ["sinh(x0)"],
                grad: |x, _y, g, _c| g.mul(&x.unary(UnaryOp::Cosh)?)?;
            Cosh ("Cosh", "cosh")
                float: |x| x.cosh(), int: [],
                wgsl: ["cosh(x0)"],
                grad: |x, _y, g, _c| g.mul(&x.unary(UnaryOp::Sinh)?)?;
            Acosh ("Acosh", "acosh")
                float: |x| x.acosh(), int: [],
                wgsl: ["acosh(x0)"],
                grad: |_x, y, g, _c| g.div(&y.unary(UnaryOp::Sinh)?)?;
            Atanh ("Atanh", "atanh")
                float: |x| x.atanh(), int: [],
                wgsl: ["atanh(x0)"],
                grad: |x, _y, g, c| g.div(&c(1.0)?.sub(&x.mul(x)?)?)?;
            // Past 1e18, x² overflows float32: asinh(x) = sign(x) (ln|x| + ln 2) there.
            Asinh ("Asinh", "asinh")
                float: |x| x.asinh(), int: [],
                wgsl: ["select(sign(x0) * rstf_log1p(abs(x0) + x0 * x0 / (1.0 + sqrt(1.0 + x0 * x0))), \
                        sign(x0) * (rstf_log(abs(x0)) + 0.6931472), abs(x0) > 1e18)"],
                grad: |x, _y, g, c| g.div(&x.mul(x)?.add(&c(1.0)?)?.unary(UnaryOp::Sqrt)?)?;
            Round ("Round", "round")
                float: |x| x.round(), int: [|x| x],
                wgsl: ["rstf_round(x0)", "x0"],
                grad: |_x, _y, _g, _c| return Ok(None);
            Floor ("Floor", "floor")
                float: |x| x.floor(), int: [|x| x],
                wgsl: ["floor(x0)", "x0"],
                grad: |_x, _y, _g, _c| return Ok(None);
            Ceil ("Ceil", "ceil")
                float: |x| x.ceil(), int: [|x| x],
                wgsl: ["ceil(x0)", "x0"],
                grad: |_x, _y, _g, _c| return Ok(None);
            // From the output, as TensorFlow does (y > 0 exactly where x > 0): the input is then
            // free once relu has read it, and a traced bias add fuses with the relu after it.
            // NaN is tested on the bits in WGSL: drivers may turn the select into a max that
            // drops NaN.
            Relu ("Relu", "relu")
                float: |x| if x < T::zero() { T::zero() } else { x },
                int: [|x| if x.is_negative() { T::zero() } else { x }],
                wgsl: ["select(select(x0, 0.0, x0 < 0.0), x0, rstf_isnan(x0))", "max(x0, 0)"],
                grad: |_x, y, g, _c| g.relu_grad(y)?;
        }
    };
}
pub(crate) use unary_table;

/// Defines [`UnaryOp`] and its tables from [`unary_table!`].
macro_rules! define_unary_op {
    (() $( $(#[$doc:meta])* $op:ident ($tf:literal, $py:literal)
        float: |$x:ident| $f:expr, int: [$(|$ix:ident| $if:expr)?],
        wgsl: [$($w:literal $(, $wi:literal)?)?],
        grad: |$gx:ident, $gy:ident, $gg:ident, $gc:ident| $grad:expr; )*) => {
        /// Unary elementwise ops (see [`unary_table!`] for each one's definition), and
        /// `LogicalNot` on bools.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[allow(missing_docs)]
        pub enum UnaryOp {
            $( $op, )*
            LogicalNot,
        }

        impl UnaryOp {
            /// TensorFlow's op name.
            pub fn name(self) -> &'static str {
                match self {
                    $( UnaryOp::$op => $tf, )*
                    UnaryOp::LogicalNot => "LogicalNot",
                }
            }

            /// The op of a Python name (`"expm1"`), as the bindings call it.
            pub fn from_python_name(name: &str) -> Option<UnaryOp> {
                match name {
                    $( $py => Some(UnaryOp::$op), )*
                    "logical_not" => Some(UnaryOp::LogicalNot),
                    _ => None,
                }
            }

            /// True for the ops that only have float kernels.
            pub fn float_only(self) -> bool {
                match self {
                    $( UnaryOp::$op => <[&str]>::is_empty(&[$(stringify!($ix))?]), )*
                    UnaryOp::LogicalNot => false,
                }
            }

            /// The WGSL expression of the op over `x0` on float32, or on int32 (`int`).
            pub fn wgsl(self, int: bool) -> Option<&'static str> {
                match (self, int) {
                    $( $( (UnaryOp::$op, false) => Some($w), )? )*
                    $( $( $( (UnaryOp::$op, true) => Some($wi), )? )? )*
                    (UnaryOp::LogicalNot, _) => None,
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }
        }

        /// d(op(x))/dx times `g`, with `y = op(x)`; None where the op has no gradient.
        pub(crate) fn unary_grad(
            op: UnaryOp,
            x: &Tensor,
            y: &Tensor,
            g: &Tensor,
        ) -> Result<Option<Tensor>> {
            let c = |v: f64| scalar_like(x, v);
            Ok(Some(match op {
                $( UnaryOp::$op => {
                    let ($gx, $gy, $gg, $gc) = (x, y, g, &c);
                    $grad
                } )*
                UnaryOp::LogicalNot => return Ok(None),
            }))
        }
    };
}

/// `match op` applying each float op's scalar definition through `$apply!(closure)`, where
/// the closure takes and returns a `$T`; `$other` for LogicalNot.
macro_rules! unary_float_match {
    (($op_e:expr, $T:ty, $apply:ident, $other:expr) $( $(#[$doc:meta])* $op:ident ($tf:literal, $py:literal)
        float: |$x:ident| $f:expr, int: [$(|$ix:ident| $if:expr)?],
        wgsl: [$($w:literal $(, $wi:literal)?)?],
        grad: |$gx:ident, $gy:ident, $gg:ident, $gc:ident| $grad:expr; )*) => {
        match $op_e {
            $( UnaryOp::$op => $apply!(|$x: $T| $f), )*
            UnaryOp::LogicalNot => $other,
        }
    };
}
pub(crate) use unary_float_match;

/// `match op` applying each integer op's definition through `$apply!(closure)`; `$other(op)`
/// for the ops without one.
macro_rules! unary_int_match {
    (($op_e:expr, $T:ty, $apply:ident, $other:expr) $( $(#[$doc:meta])* $op:ident ($tf:literal, $py:literal)
        float: |$x:ident| $f:expr, int: [$(|$ix:ident| $if:expr)?],
        wgsl: [$($w:literal $(, $wi:literal)?)?],
        grad: |$gx:ident, $gy:ident, $gg:ident, $gc:ident| $grad:expr; )*) => {
        match $op_e {
            $( $( UnaryOp::$op => $apply!(|$ix: $T| $if), )? )*
            #[allow(unreachable_patterns)]
            op => $other(op),
        }
    };
}
pub(crate) use unary_int_match;

use crate::autodiff::scalar_like;
use crate::{Result, Tensor};

unary_table!(define_unary_op!());
