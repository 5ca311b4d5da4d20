//! String tensors (dtype `string`: byte strings, text as UTF-8) and TensorFlow's `tf.strings`
//! ops.
//!
//! Data movement (gather, concat, select, pad, strided copies) needs no string kernels: each
//! string input is replaced by the *positions* of its elements in its storage (an int64 tensor
//! with the same layout), the numeric kernel moves the positions, and the strings are read
//! back at the positions it returns ([`lift`]). The ops that look inside strings are
//! [`StringOp`]s, declared once here with their kernels in `text.rs`; none has a gradient.

use crate::autodiff::{op_n, rule};
use crate::dtype::DType;
use crate::graph::infer::{broadcast, reduce_dims, Spec};
use crate::graph::Op;
use crate::layout::checked_numel;
use crate::ops::BinaryOp;
use crate::storage::Storage;
use crate::{bail, Error, Result, Tensor};
use std::borrow::Cow;

/// One element of a string tensor.
pub type Bytes = Box<[u8]>;

/// One op that reads or makes strings (inputs and outputs as listed). Ragged results come
/// as flat values and int64 row splits over the input's elements in row-major order.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum StringOp {
    /// `[x1, x2, ...] -> [joined]`, elementwise with broadcasting.
    Join {
        /// Put between the parts.
        separator: String,
    },
    /// `[x] -> [joined]` over `axes` (all when `None`).
    ReduceJoin {
        /// The axes joined.
        axes: Option<Vec<i64>>,
        /// Keep the joined axes with size 1.
        keepdims: bool,
        /// Put between the parts.
        separator: String,
    },
    /// `[x] -> [int32 lengths]` in bytes or (`utf8`) in characters.
    Length {
        /// Count UTF-8 characters instead of bytes.
        utf8: bool,
    },
    /// `[x] -> [x]` with letters lowered (`upper`: raised); ASCII only unless `utf8`.
    Case {
        /// Raise instead of lower.
        upper: bool,
        /// Change every Unicode letter, not only ASCII.
        utf8: bool,
    },
    /// `[x] -> [x]` without leading and trailing whitespace.
    Strip,
    /// `[x, pos, len] -> [x]`: the substrings, counted in bytes or (`utf8`) characters.
    Substr {
        /// Count UTF-8 characters instead of bytes.
        utf8: bool,
    },
    /// `[x] -> [bool]`: whether the whole string matches `pattern` (RE2 syntax).
    RegexFullMatch {
        /// The regular expression.
        pattern: String,
    },
    /// `[x] -> [x]` with matches of `pattern` replaced by `rewrite` (`\1` names a group).
    RegexReplace {
        /// The regular expression.
        pattern: String,
        /// The replacement.
        rewrite: String,
        /// Replace every match (else the first).
        global: bool,
    },
    /// `[x] -> [numbers]` of `dtype` (a float or int32/int64).
    ToNumber {
        /// The output dtype.
        dtype: DType,
    },
    /// `[x] -> [text]`: numbers and bools as text.
    AsString {
        /// Digits after the point for floats (`-1`: shortest form).
        precision: i64,
        /// Use scientific notation for floats.
        scientific: bool,
        /// Use the shortest of fixed and scientific notation (C's `%g`).
        shortest: bool,
        /// Pad to at least this many characters (`-1`: no padding).
        width: i64,
        /// The padding character (`' '` or `'0'`); left padding.
        fill: String,
    },
    /// `[x] -> [values, row_splits]`: split at `sep` (runs of whitespace when `None`), at
    /// most `maxsplit` times (`-1`: no limit).
    Split {
        /// The separator.
        sep: Option<String>,
        /// The most splits per string.
        maxsplit: i64,
    },
    /// `[x] -> [values, row_splits]`: one string per byte.
    BytesSplit,
    /// `[x] -> [values, row_splits]`: one string per UTF-8 character.
    UnicodeSplit {
        /// How invalid UTF-8 is treated.
        errors: Utf8Errors,
    },
    /// `[x] -> [int32 code points, row_splits]`.
    UnicodeDecode {
        /// How invalid UTF-8 is treated.
        errors: Utf8Errors,
    },
    /// `[int32 code points, row_splits] -> [strings]`: one string per row.
    UnicodeEncode {
        /// How invalid code points are treated.
        errors: Utf8Errors,
    },
    /// `[x] -> [numbers]` of shape `x.shape + [n]`: the bytes of each string read as `n`
    /// numbers of `dtype`.
    DecodeRaw {
        /// The element type.
        dtype: DType,
        /// Read the bytes as little-endian (else big-endian).
        little_endian: bool,
    },
}

/// TensorFlow's `errors` argument of the Unicode ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Utf8Errors {
    /// Raise InvalidArgument.
    Strict,
    /// Put U+FFFD (the replacement character) in place of each invalid sequence.
    Replace,
    /// Leave invalid sequences out.
    Ignore,
}

impl StringOp {
    /// TensorFlow's op name.
    pub fn name(&self) -> &'static str {
        match self {
            StringOp::Join { .. } => "StringJoin",
            StringOp::ReduceJoin { .. } => "ReduceJoin",
            StringOp::Length { .. } => "StringLength",
            StringOp::Case { upper: false, .. } => "StringLower",
            StringOp::Case { upper: true, .. } => "StringUpper",
            StringOp::Strip => "StringStrip",
            StringOp::Substr { .. } => "Substr",
            StringOp::RegexFullMatch { .. } => "StaticRegexFullMatch",
            StringOp::RegexReplace { .. } => "StaticRegexReplace",
            StringOp::ToNumber { .. } => "StringToNumber",
            StringOp::AsString { .. } => "AsString",
            StringOp::Split { .. } => "StringSplitV2",
            StringOp::BytesSplit => "StringBytesSplit",
            StringOp::UnicodeSplit { .. } => "UnicodeSplit",
            StringOp::UnicodeDecode { .. } => "UnicodeDecode",
            StringOp::UnicodeEncode { .. } => "UnicodeEncode",
            StringOp::DecodeRaw { .. } => "DecodeRaw",
        }
    }

    /// The number of inputs (`n` given: `Join` takes any number).
    pub fn arity(&self, n: usize) -> usize {
        match self {
            StringOp::Join { .. } => n.max(1),
            StringOp::Substr { .. } => 3,
            StringOp::UnicodeEncode { .. } => 2,
            _ => 1,
        }
    }

    /// The number of outputs.
    pub fn outputs(&self) -> usize {
        match self {
            StringOp::Split { .. }
            | StringOp::BytesSplit
            | StringOp::UnicodeSplit { .. }
            | StringOp::UnicodeDecode { .. } => 2,
            _ => 1,
        }
    }
}

impl Tensor {
    /// A dense string tensor of `shape` holding `data` in row-major order.
    ///
    /// ```
    /// let t = rstf::Tensor::from_strings(vec![b"ab".to_vec().into(), b"c".to_vec().into()], &[2]).unwrap();
    /// assert_eq!(t.dtype(), rstf::DType::String);
    /// assert_eq!(&*t.to_strings().unwrap()[1], b"c");
    /// ```
    pub fn from_strings(data: Vec<Bytes>, shape: &[usize]) -> Result<Tensor> {
        let n = checked_numel(shape, "constant")?;
        if n != data.len() {
            bail!(
                "constant: {} strings given for shape {shape:?}, which has {n} elements",
                data.len()
            );
        }
        Ok(Tensor::from_storage(Storage::Str(data), shape))
    }

    /// The strings in row-major order (the dtype must be string).
    pub fn to_strings(&self) -> Result<Vec<Bytes>> {
        Ok(self.string_view()?.into_owned())
    }

    /// The strings in row-major order, borrowed from the storage when the tensor is dense.
    pub fn string_view(&self) -> Result<Cow<'_, [Bytes]>> {
        let pool = self.strings_pool("to_strings")?;
        if self.is_contiguous() {
            let o = self.layout().offset;
            return Ok(Cow::Borrowed(&pool[o..o + self.numel()]));
        }
        let pos = self.string_positions(0)?.to_vec::<i64>()?;
        Ok(Cow::Owned(
            pos.iter().map(|&p| pool[p as usize].clone()).collect(),
        ))
    }

    /// The storage's strings, or InvalidArgument naming `op` when the dtype is not string.
    pub(crate) fn strings_pool(&self, op: &str) -> Result<&[Bytes]> {
        self.storage().strings().ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{op}: expected a string tensor, got a {} tensor of shape {:?}",
                self.dtype(),
                self.shape()
            ))
        })
    }

    /// An int64 tensor with this tensor's layout whose elements are the positions (plus
    /// `base`) of this tensor's elements in its storage.
    fn string_positions(&self, base: i64) -> Result<Tensor> {
        let n = self.storage().len();
        let v: Vec<i64> = (0..n as i64).map(|i| i + base).collect();
        let s = Tensor::from_vec(v, &[n])?;
        Tensor::from_parts(s.storage().clone(), self.layout().clone())
    }
}

/// Runs the data-movement kernel `f` for string inputs: the inputs for which `is_string`
/// holds are given to `f` as int64 positions into one shared pool, and the int64 tensor `f`
/// returns is read back as strings from that pool.
pub(crate) fn lift(
    inputs: &[&Tensor],
    f: impl FnOnce(&[Tensor]) -> Result<Tensor>,
) -> Result<Tensor> {
    let mut pools: Vec<&[Bytes]> = Vec::new();
    let mut moved = Vec::with_capacity(inputs.len());
    let mut base = 0i64;
    for t in inputs {
        if let Some(p) = t.storage().strings() {
            moved.push(t.string_positions(base)?);
            base += p.len() as i64;
            pools.push(p);
        } else {
            moved.push((*t).clone());
        }
    }
    let pos = f(&moved)?;
    let flat: Vec<&Bytes> = pools.iter().flat_map(|p| p.iter()).collect();
    let out = pos
        .to_vec::<i64>()?
        .iter()
        .map(|&p| {
            flat.get(p as usize)
                .map(|b| (*b).clone())
                .ok_or_else(|| Error::Internal(format!("string position {p} out of range")))
        })
        .collect::<Result<Vec<_>>>()?;
    Tensor::from_strings(out, pos.shape())
}

/// `x op y` for string tensors: `Add` concatenates, the (in)equalities compare bytes.
pub(crate) fn binary(x: &Tensor, y: &Tensor, shape: &[usize], op: BinaryOp) -> Result<Tensor> {
    let (a, b) = (broadcast_strings(x, shape)?, broadcast_strings(y, shape)?);
    match op {
        BinaryOp::Add => {
            let v = a
                .iter()
                .zip(b.iter())
                .map(|(p, q)| [&p[..], &q[..]].concat().into());
            Tensor::from_strings(v.collect(), shape)
        }
        BinaryOp::Equal | BinaryOp::NotEqual => {
            let eq = op == BinaryOp::Equal;
            Tensor::from_vec(
                a.iter()
                    .zip(b.iter())
                    .map(|(p, q)| (p == q) == eq)
                    .collect(),
                shape,
            )
        }
        _ => bail!(
            "{}: not supported for dtype string (shapes {:?} and {:?})",
            op.name(),
            x.shape(),
            y.shape()
        ),
    }
}

/// The strings of `t` broadcast to `shape`, in row-major order.
pub(crate) fn broadcast_strings<'a>(t: &'a Tensor, shape: &[usize]) -> Result<Cow<'a, [Bytes]>> {
    if t.shape() == shape {
        return t.string_view();
    }
    Ok(Cow::Owned(
        lift(&[t], |p| p[0].broadcast_to(shape)?.contiguous())?.to_strings()?,
    ))
}

impl Tensor {
    /// Applies the string op `op` to this tensor and `rest`.
    ///
    /// ```
    /// use rstf::ops::strings::StringOp;
    /// let x = rstf::Tensor::from_strings(vec![b"a b".to_vec().into()], &[1]).unwrap();
    /// let out = x.strings(&StringOp::Split { sep: None, maxsplit: -1 }, &[]).unwrap();
    /// assert_eq!(out[0].to_strings().unwrap().len(), 2);
    /// assert_eq!(out[1].to_vec::<i64>().unwrap(), vec![0, 2]);
    /// ```
    pub fn strings(&self, op: &StringOp, rest: &[&Tensor]) -> Result<Vec<Tensor>> {
        let inputs: Vec<&Tensor> = std::iter::once(self).chain(rest.iter().copied()).collect();
        if inputs.len() != op.arity(inputs.len()) {
            bail!(
                "{}: expected {} inputs, got {}",
                op.name(),
                op.arity(inputs.len()),
                inputs.len()
            );
        }
        let n = inputs.len();
        op_n(
            || Op::Strings(op.clone()),
            &inputs,
            || super::text::forward(op, &inputs),
            move |_| rule(move |_, _| Ok(vec![None; n])),
        )
    }
}

/// The dtypes and shapes of `op`'s outputs for inputs of `inputs`' specs (see
/// [`crate::graph::infer`]).
pub(crate) fn infer(op: &StringOp, inputs: &[Spec]) -> Result<Vec<Spec>> {
    let name = op.name();
    let x = &inputs[0];
    let strings = |s: &Spec| -> Result<()> {
        if s.dtype != DType::String {
            bail!("{name}: expected a string tensor, got {}", s.dtype);
        }
        Ok(())
    };
    let same = |dtype: DType| Ok(vec![Spec::new(dtype, &x.dims)]);
    let count: Option<usize> = x.dims.iter().try_fold(1usize, |a, d| d.map(|d| a * d));
    let ragged = |dtype: DType| {
        Ok(vec![
            Spec::new(dtype, &[None]),
            Spec::new(DType::I64, &[count.map(|n| n + 1)]),
        ])
    };
    if !matches!(
        op,
        StringOp::AsString { .. } | StringOp::UnicodeEncode { .. }
    ) {
        strings(x)?;
    }
    match op {
        StringOp::Join { .. } => {
            let mut dims = x.dims.clone();
            for s in &inputs[1..] {
                strings(s)?;
                dims = broadcast(name, &dims, &s.dims)?;
            }
            Ok(vec![Spec::new(DType::String, &dims)])
        }
        StringOp::ReduceJoin { axes, keepdims, .. } => Ok(vec![Spec::new(
            DType::String,
            &reduce_dims(x, axes.as_deref(), *keepdims, name)?,
        )]),
        StringOp::Length { .. } => same(DType::I32),
        StringOp::RegexFullMatch { .. } => same(DType::Bool),
        StringOp::ToNumber { dtype } => same(*dtype),
        StringOp::AsString { .. } => {
            if x.dtype == DType::String {
                bail!("{name}: the input is already a string tensor");
            }
            same(DType::String)
        }
        StringOp::Case { .. }
        | StringOp::Strip
        | StringOp::Substr { .. }
        | StringOp::RegexReplace { .. } => same(DType::String),
        StringOp::Split { .. } | StringOp::BytesSplit | StringOp::UnicodeSplit { .. } => {
            ragged(DType::String)
        }
        StringOp::UnicodeDecode { .. } => ragged(DType::I32),
        StringOp::UnicodeEncode { .. } => {
            let rows = inputs[1].dims.first().copied().flatten();
            Ok(vec![Spec::new(
                DType::String,
                &[rows.map(|r| r.saturating_sub(1))],
            )])
        }
        StringOp::DecodeRaw { dtype, .. } => {
            let mut dims = x.dims.clone();
            dims.push(None);
            Ok(vec![Spec::new(*dtype, &dims)])
        }
    }
}
