//! Elementwise primitives: unary maps, binary maps with numpy broadcasting, `where` and
//! `cast`. Half-precision inputs are computed in f32 and rounded back.

use super::unary::{unary_float_match, unary_grad, unary_int_match, unary_table, UnaryOp};
use crate::autodiff::{op1, rule, scalar_like, unbroadcast};
use crate::backend::cpu::num::{Float, Num};
use crate::backend::cpu::{par_map_f32, simd, strided};
use crate::dtype::{DType, Element};
use crate::graph::Op;
use crate::layout::{broadcast_shapes, broadcast_strides};
use crate::{bail, Result, Tensor};

/// Binary elementwise ops (inputs of one dtype, broadcast as numpy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[allow(missing_docs)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    FloorMod,
    Pow,
    Maximum,
    Minimum,
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    LogicalAnd,
    LogicalOr,
}

impl BinaryOp {
    /// TensorFlow's op name.
    pub fn name(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Add => "AddV2",
            Sub => "Sub",
            Mul => "Mul",
            Div => "RealDiv",
            FloorDiv => "FloorDiv",
            FloorMod => "FloorMod",
            Pow => "Pow",
            Maximum => "Maximum",
            Minimum => "Minimum",
            Equal => "Equal",
            NotEqual => "NotEqual",
            Less => "Less",
            LessEqual => "LessEqual",
            Greater => "Greater",
            GreaterEqual => "GreaterEqual",
            LogicalAnd => "LogicalAnd",
            LogicalOr => "LogicalOr",
        }
    }

    /// True for the ops whose result is bool.
    pub fn is_comparison(self) -> bool {
        use BinaryOp::*;
        matches!(
            self,
            Equal | NotEqual | Less | LessEqual | Greater | GreaterEqual
        )
    }
}

fn dense<T: Element>(data: Vec<T>, shape: &[usize]) -> Tensor {
    Tensor::from_storage(T::into_storage(data), shape)
}

fn map1_t<A: Element, O: Element>(t: &Tensor, f: impl Fn(A) -> O + Sync) -> Result<Tensor> {
    let l = t.layout();
    let v = strided::map1(t.storage_slice::<A>()?, &l.shape, &l.strides, l.offset, f);
    Ok(dense(v?, &l.shape))
}

fn map2_t<A: Element, O: Element>(
    a: &Tensor,
    b: &Tensor,
    shape: &[usize],
    f: impl Fn(A, A) -> O + Sync,
) -> Result<Tensor> {
    // Dense operands of one shape: a plain zip, no iteration plan.
    if a.shape() == b.shape() && a.numel() < strided::PAR_MIN {
        if let (Some(x), Some(y)) = (a.as_slice::<A>(), b.as_slice::<A>()) {
            let v = strided::build(x.len(), |o| {
                for ((d, &p), &q) in o.iter_mut().zip(x).zip(y) {
                    d.write(f(p, q));
                }
            });
            return Ok(dense(v?, shape));
        }
    }
    let (la, lb) = (a.layout(), b.layout());
    let (sa, sb) = (broadcast_strides(la, shape), broadcast_strides(lb, shape));
    let v = strided::map2(
        a.storage_slice::<A>()?,
        &sa,
        la.offset,
        b.storage_slice::<A>()?,
        &sb,
        lb.offset,
        shape,
        f,
    );
    Ok(dense(v?, shape))
}

fn unary_float<T: Float>(t: &Tensor, op: UnaryOp) -> Result<Tensor> {
    use UnaryOp::*;
    if T::DTYPE == DType::F32 && matches!(op, Exp | Sigmoid) {
        if let Some(x) = t.as_slice::<f32>() {
            let k = if op == Exp {
                simd::exp_slice
            } else {
                simd::sigmoid_slice
            };
            return Ok(dense(par_map_f32(x, k)?, t.shape()));
        }
    }
    macro_rules! apply {
        ($f:expr) => {
            map1_t(t, $f)
        };
    }
    unary_table!(unary_float_match!(
        op,
        T,
        apply,
        unreachable!("handled by the caller")
    ))
}

fn unary_int<T: Num>(t: &Tensor, op: UnaryOp) -> Result<Tensor> {
    macro_rules! apply {
        ($f:expr) => {
            map1_t(t, $f)
        };
    }
    unary_table!(unary_int_match!(op, T, apply, |op: UnaryOp| bail!(
        "{}: not supported for dtype {}",
        op.name(),
        T::DTYPE
    )))
}

fn binary_num<T: Num>(a: &Tensor, b: &Tensor, shape: &[usize], op: BinaryOp) -> Result<Tensor> {
    use BinaryOp::*;
    match op {
        Add => map2_t(a, b, shape, |x: T, y: T| x.add(y)),
        Sub => map2_t(a, b, shape, |x: T, y: T| x.sub(y)),
        Mul => map2_t(a, b, shape, |x: T, y: T| x.mul(y)),
        Div => map2_t(a, b, shape, |x: T, y: T| x.div(y)),
        FloorDiv => map2_t(a, b, shape, |x: T, y: T| x.floordiv(y)),
        FloorMod => map2_t(a, b, shape, |x: T, y: T| x.floormod(y)),
        Pow => map2_t(a, b, shape, |x: T, y: T| x.pow(y)),
        Maximum => map2_t(a, b, shape, |x: T, y: T| x.maximum(y)),
        Minimum => map2_t(a, b, shape, |x: T, y: T| x.minimum(y)),
        _ => compare::<T>(a, b, shape, op),
    }
}

fn compare<T: Element>(a: &Tensor, b: &Tensor, shape: &[usize], op: BinaryOp) -> Result<Tensor> {
    use BinaryOp::*;
    match op {
        Equal => map2_t(a, b, shape, |x: T, y: T| x == y),
        NotEqual => map2_t(a, b, shape, |x: T, y: T| x != y),
        Less => map2_t(a, b, shape, |x: T, y: T| x < y),
        LessEqual => map2_t(a, b, shape, |x: T, y: T| x <= y),
        Greater => map2_t(a, b, shape, |x: T, y: T| x > y),
        GreaterEqual => map2_t(a, b, shape, |x: T, y: T| x >= y),
        _ => bail!("{}: not supported for dtype {}", op.name(), T::DTYPE),
    }
}

/// Integer binary op: rules out zero divisors and negative exponents, then computes.
fn binary_int<T: Num>(a: &Tensor, b: &Tensor, shape: &[usize], op: BinaryOp) -> Result<Tensor> {
    check_int_operand::<T>(b, op)?;
    binary_num::<T>(a, b, shape, op)
}

/// Checks that an integer divisor or exponent tensor has no forbidden value.
fn check_int_operand<T: Num>(b: &Tensor, op: BinaryOp) -> Result<()> {
    let bad_zero = matches!(op, BinaryOp::Div | BinaryOp::FloorDiv | BinaryOp::FloorMod);
    let bad_neg = op == BinaryOp::Pow;
    if !(bad_zero || bad_neg) {
        return Ok(());
    }
    let l = b.layout();
    let flags = strided::map1(
        b.storage_slice::<T>()?,
        &l.shape,
        &l.strides,
        l.offset,
        |y: T| (bad_zero && y.is_zero()) || (bad_neg && y.is_negative()),
    );
    let found = flags?.iter().any(|&f| f);
    if found && bad_zero {
        bail!("{}: Integer division by zero", op.name());
    }
    if found {
        bail!(
            "{}: Integers to negative integer powers are not allowed",
            op.name()
        );
    }
    Ok(())
}

impl Tensor {
    /// Applies a unary elementwise op.
    ///
    /// ```
    /// use rstf::{ops::UnaryOp, Tensor};
    /// let x = Tensor::from_vec(vec![-1.0f32, 4.0], &[2]).unwrap();
    /// assert_eq!(x.unary(UnaryOp::Abs).unwrap().to_vec::<f32>().unwrap(), vec![1.0, 4.0]);
    /// ```
    pub fn unary(&self, op: UnaryOp) -> Result<Tensor> {
        op1(
            || Op::Unary(op),
            &[self],
            || self.unary_raw(op),
            |y| {
                let (x, y) = (self.clone(), y.clone());
                rule(move |g, _| Ok(vec![unary_grad(op, &x, &y, &g[0])?]))
            },
        )
    }

    fn unary_raw(&self, op: UnaryOp) -> Result<Tensor> {
        let dt = self.dtype();
        if op == UnaryOp::LogicalNot {
            if dt != DType::Bool {
                bail!(
                    "LogicalNot: expected a bool tensor, got {dt} with shape {:?}",
                    self.shape()
                );
            }
            return map1_t(self, |x: bool| !x);
        }
        if op.float_only() && !dt.is_float() {
            bail!(
                "{}: not supported for dtype {dt} (tensor of shape {:?}); cast to a float dtype first",
                op.name(),
                self.shape()
            );
        }
        match dt {
            DType::F16 | DType::BF16 => self.cast(DType::F32)?.unary(op)?.cast(dt),
            DType::F32 => unary_float::<f32>(self, op),
            DType::F64 => unary_float::<f64>(self, op),
            DType::I8 => unary_int::<i8>(self, op),
            DType::I32 => unary_int::<i32>(self, op),
            DType::I64 => unary_int::<i64>(self, op),
            DType::U8 => unary_int::<u8>(self, op),
            DType::Bool | DType::String => {
                bail!("{}: not supported for dtype {dt}", op.name())
            }
        }
    }

    /// Applies a binary elementwise op with broadcasting; both inputs must share a dtype.
    ///
    /// ```
    /// use rstf::{ops::BinaryOp, Tensor};
    /// let x = Tensor::from_vec(vec![1i32, 2, 3], &[3]).unwrap();
    /// let y = Tensor::scalar(10i32);
    /// let z = x.binary(&y, BinaryOp::Mul).unwrap();
    /// assert_eq!(z.to_vec::<i32>().unwrap(), vec![10, 20, 30]);
    /// ```
    pub fn binary(&self, other: &Tensor, op: BinaryOp) -> Result<Tensor> {
        op1(
            || Op::Binary(op),
            &[self, other],
            || self.binary_raw(other, op),
            |z| {
                let (x, y, z) = (self.clone(), other.clone(), z.clone());
                rule(move |g, needs| binary_grad(op, &x, &y, &z, &g[0], needs))
            },
        )
    }

    fn binary_raw(&self, other: &Tensor, op: BinaryOp) -> Result<Tensor> {
        let (da, db) = (self.dtype(), other.dtype());
        if da != db {
            bail!(
                "{0}: cannot compute {0} as input #1(zero-based) was expected to be a {da} tensor but is a {db} tensor (shapes {1:?} and {2:?})",
                op.name(),
                self.shape(),
                other.shape()
            );
        }
        let shape = broadcast_shapes(self.shape(), other.shape(), op.name())?;
        crate::layout::checked_numel(&shape, op.name())?;
        if matches!(op, BinaryOp::LogicalAnd | BinaryOp::LogicalOr) {
            if da != DType::Bool {
                bail!("{}: expected bool tensors, got {da}", op.name());
            }
            return if op == BinaryOp::LogicalAnd {
                map2_t(self, other, &shape, |x: bool, y: bool| x & y)
            } else {
                map2_t(self, other, &shape, |x: bool, y: bool| x | y)
            };
        }
        match da {
            DType::F16 | DType::BF16 => {
                let r = self
                    .cast(DType::F32)?
                    .binary(&other.cast(DType::F32)?, op)?;
                if op.is_comparison() {
                    Ok(r)
                } else {
                    r.cast(da)
                }
            }
            DType::F32 => binary_num::<f32>(self, other, &shape, op),
            DType::F64 => binary_num::<f64>(self, other, &shape, op),
            DType::I8 => binary_int::<i8>(self, other, &shape, op),
            DType::I32 => binary_int::<i32>(self, other, &shape, op),
            DType::I64 => binary_int::<i64>(self, other, &shape, op),
            DType::U8 => binary_int::<u8>(self, other, &shape, op),
            DType::Bool => match op {
                BinaryOp::Maximum => map2_t(self, other, &shape, |x: bool, y: bool| x | y),
                BinaryOp::Minimum => map2_t(self, other, &shape, |x: bool, y: bool| x & y),
                _ => compare::<bool>(self, other, &shape, op),
            },
            DType::String => super::strings::binary(self, other, &shape, op),
        }
    }

    /// `self + other` with broadcasting.
    pub fn add(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(other, BinaryOp::Add)
    }

    /// `self - other` with broadcasting.
    pub fn sub(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(other, BinaryOp::Sub)
    }

    /// `self * other` with broadcasting.
    pub fn mul(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(other, BinaryOp::Mul)
    }

    /// `self / other` with broadcasting (truncating for integers).
    pub fn div(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(other, BinaryOp::Div)
    }

    /// Picks `x` where `cond` is true and `y` elsewhere, broadcasting all three.
    pub fn select(cond: &Tensor, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        op1(
            || Op::Select,
            &[cond, x, y],
            || Self::select_raw(cond, x, y),
            |_| {
                let (c, xs, ys) = (cond.clone(), x.shape().to_vec(), y.shape().to_vec());
                rule(move |g, needs| {
                    let zero = scalar_like(&g[0], 0.0)?;
                    let gx = needs[1]
                        .then(|| unbroadcast(&Tensor::select(&c, &g[0], &zero)?, &xs))
                        .transpose()?;
                    let gy = needs[2]
                        .then(|| unbroadcast(&Tensor::select(&c, &zero, &g[0])?, &ys))
                        .transpose()?;
                    Ok(vec![None, gx, gy])
                })
            },
        )
    }

    fn select_raw(cond: &Tensor, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        if cond.dtype() != DType::Bool {
            bail!("SelectV2: condition must be bool, got {}", cond.dtype());
        }
        if x.dtype() != y.dtype() {
            bail!(
                "SelectV2: x and y must have the same dtype, got {} and {}",
                x.dtype(),
                y.dtype()
            );
        }
        let s = broadcast_shapes(x.shape(), y.shape(), "SelectV2")?;
        let shape = broadcast_shapes(cond.shape(), &s, "SelectV2")?;
        if x.dtype() == DType::String {
            return super::strings::lift(&[cond, x, y], |p| {
                Tensor::select_raw(&p[0], &p[1], &p[2])
            });
        }
        let (lc, lx, ly) = (cond.layout(), x.layout(), y.layout());
        let (sc, sx, sy) = (
            broadcast_strides(lc, &shape),
            broadcast_strides(lx, &shape),
            broadcast_strides(ly, &shape),
        );
        crate::with_dtype!(x.dtype(), T => {
            let v = strided::map3(
                (cond.storage_slice::<bool>()?, x.storage_slice::<T>()?, y.storage_slice::<T>()?),
                [&sc, &sx, &sy],
                [lc.offset, lx.offset, ly.offset],
                &shape,
                |c: bool, a: T, b: T| if c { a } else { b },
            );
            Ok(dense(v?, &shape))
        })
    }

    /// The gradient of `relu(x)` given `self`, the gradient of its output: `self` where
    /// `x > 0`, else 0 (TensorFlow's `ReluGrad`).
    pub fn relu_grad(&self, x: &Tensor) -> Result<Tensor> {
        op1(
            || Op::ReluGrad,
            &[self, x],
            || self.relu_grad_raw(x),
            |_| {
                let x = x.clone();
                rule(move |gg, needs| {
                    let d = needs[0].then(|| gg[0].relu_grad(&x)).transpose()?;
                    Ok(vec![d, None])
                })
            },
        )
    }

    fn relu_grad_raw(&self, x: &Tensor) -> Result<Tensor> {
        let dt = self.dtype();
        if x.dtype() != dt || !dt.is_float() {
            bail!(
                "ReluGrad: expected float gradients and features of one dtype, got {dt} and {}",
                x.dtype()
            );
        }
        let shape = broadcast_shapes(self.shape(), x.shape(), "ReluGrad")?;
        match dt {
            DType::F32 => map2_t(
                self,
                x,
                &shape,
                |g: f32, x: f32| if x > 0.0 { g } else { 0.0 },
            ),
            DType::F64 => map2_t(
                self,
                x,
                &shape,
                |g: f64, x: f64| if x > 0.0 { g } else { 0.0 },
            ),
            _ => self
                .cast(DType::F32)?
                .relu_grad(&x.cast(DType::F32)?)?
                .cast(dt),
        }
    }

    /// Converts the elements to `dtype` (floats to integers truncate toward zero and
    /// saturate; integers wrap; nonzero becomes true).
    pub fn cast(&self, dtype: DType) -> Result<Tensor> {
        let src = self.dtype();
        op1(
            || Op::Cast(dtype),
            &[self],
            || self.cast_raw(dtype),
            |_| {
                rule(move |g, _| {
                    Ok(vec![if src.is_float() {
                        Some(g[0].cast(src)?)
                    } else {
                        None
                    }])
                })
            },
        )
    }

    fn cast_raw(&self, dtype: DType) -> Result<Tensor> {
        let src = self.dtype();
        if src == dtype {
            return Ok(self.clone());
        }
        if src == DType::String || dtype == DType::String {
            return Err(crate::Error::Unimplemented(format!(
                "Cast: Cast {src} to {dtype} is not supported (tensor of shape {:?})",
                self.shape()
            )));
        }
        crate::with_dtype!(src, S => crate::with_dtype!(dtype, D => {
            if src.is_float() && !dtype.is_float() && dtype != DType::Bool {
                let wide = dtype == DType::I64;
                map1_t(self, |x: S| D::of_i64(float_to_int(x.as_f64(), wide)))
            } else if src.is_float() || dtype.is_float() || dtype == DType::Bool {
                map1_t(self, |x: S| D::of_f64(x.as_f64()))
            } else {
                map1_t(self, |x: S| D::of_i64(x.as_i64()))
            }
        }))
    }
}

/// A float cast to an integer as TensorFlow's CPU kernels give it: truncated toward zero into
/// a 64-bit (`wide`) or 32-bit integer, with NaN and values out of that range giving the
/// integer's minimum (the processor's "integer indefinite"); narrower types then keep the low
/// bits. So `cast(300.0, uint8)` is 44 and `cast(nan, int32)` is -2147483648.
fn float_to_int(x: f64, wide: bool) -> i64 {
    let (lo, hi, min) = if wide {
        (-(2f64.powi(63)), 2f64.powi(63), i64::MIN)
    } else {
        (-2_147_483_648.0, 2_147_483_648.0, i32::MIN as i64)
    };
    if x >= lo && x < hi {
        x as i64
    } else {
        min
    }
}

/// Gradients of `z = op(x, y)` (broadcast), summed back to the input shapes.
fn binary_grad(
    op: BinaryOp,
    x: &Tensor,
    y: &Tensor,
    z: &Tensor,
    g: &Tensor,
    needs: &[bool],
) -> Result<Vec<Option<Tensor>>> {
    use BinaryOp::*;
    let zero = || scalar_like(g, 0.0);
    let lazy = |need: bool, f: &dyn Fn() -> Result<Tensor>| need.then(f).transpose();
    let (gx, gy) = match op {
        Add => (Some(g.clone()), Some(g.clone())),
        Sub => (Some(g.clone()), lazy(needs[1], &|| g.unary(UnaryOp::Neg))?),
        Mul => (lazy(needs[0], &|| g.mul(y))?, lazy(needs[1], &|| g.mul(x))?),
        Div => (
            lazy(needs[0], &|| g.div(y))?,
            lazy(needs[1], &|| g.mul(z)?.div(y)?.unary(UnaryOp::Neg))?,
        ),
        FloorMod => (
            Some(g.clone()),
            lazy(needs[1], &|| {
                g.mul(&x.binary(y, FloorDiv)?)?.unary(UnaryOp::Neg)
            })?,
        ),
        Pow => (
            lazy(needs[0], &|| {
                g.mul(y)?
                    .mul(&x.binary(&y.sub(&scalar_like(y, 1.0)?)?, Pow)?)
            })?,
            lazy(needs[1], &|| {
                let pos = x.binary(&zero()?, Greater)?;
                let safe = Tensor::select(&pos, x, &scalar_like(x, 1.0)?)?;
                let log = Tensor::select(&pos, &safe.unary(UnaryOp::Log)?, &zero()?)?;
                g.mul(z)?.mul(&log)
            })?,
        ),
        Maximum | Minimum => {
            let mask = x.binary(
                y,
                if op == Maximum {
                    GreaterEqual
                } else {
                    LessEqual
                },
            )?;
            (
                lazy(needs[0], &|| Tensor::select(&mask, g, &zero()?))?,
                lazy(needs[1], &|| Tensor::select(&mask, &zero()?, g))?,
            )
        }
        _ => (None, None),
    };
    Ok(vec![
        gx.filter(|_| needs[0])
            .map(|t| unbroadcast(&t, x.shape()))
            .transpose()?,
        gy.filter(|_| needs[1])
            .map(|t| unbroadcast(&t, y.shape()))
            .transpose()?,
    ])
}
