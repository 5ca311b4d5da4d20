//! The kernels of the [`StringOp`]s: each reads its string inputs in row-major order and
//! writes a new tensor. Ragged results are flat values plus int64 row splits.

use super::strings::{broadcast_strings, Bytes, StringOp, Utf8Errors};
use crate::dtype::DType;
use crate::layout::broadcast_shapes;
use crate::{bail, Error, Result, Tensor};

/// Runs `op` on `inputs` (already counted).
pub(crate) fn forward(op: &StringOp, inputs: &[&Tensor]) -> Result<Vec<Tensor>> {
    let name = op.name();
    let x = inputs[0];
    let one = |t: Result<Tensor>| t.map(|t| vec![t]);
    if !matches!(
        op,
        StringOp::AsString { .. } | StringOp::UnicodeEncode { .. }
    ) {
        for t in inputs.iter().take(if matches!(op, StringOp::Join { .. }) {
            inputs.len()
        } else {
            1
        }) {
            t.strings_pool(name)?;
        }
    }
    match op {
        StringOp::Join { separator } => one(join(inputs, separator.as_bytes())),
        StringOp::ReduceJoin {
            axes,
            keepdims,
            separator,
        } => one(reduce_join(
            x,
            axes.as_deref(),
            *keepdims,
            separator.as_bytes(),
        )),
        StringOp::Length { utf8 } => {
            let v = x.string_view()?;
            let n = v.iter().map(|s| {
                if *utf8 {
                    s.iter().filter(|&&b| b & 0xC0 != 0x80).count() as i32
                } else {
                    s.len() as i32
                }
            });
            one(Tensor::from_vec(n.collect(), x.shape()))
        }
        StringOp::Case { upper, utf8 } => one(map(x, |s| {
            if !*utf8 {
                return Ok(if *upper {
                    s.to_ascii_uppercase()
                } else {
                    s.to_ascii_lowercase()
                }
                .into());
            }
            let t = std::str::from_utf8(s).map_err(|_| {
                Error::InvalidArgument(format!("{name}: invalid UTF-8 in {}", show(s)))
            })?;
            let t = if *upper {
                t.to_uppercase()
            } else {
                t.to_lowercase()
            };
            Ok(t.into_bytes().into())
        })),
        StringOp::Strip => one(map(x, |s| {
            let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r');
            let a = s.iter().position(|b| !ws(b)).unwrap_or(s.len());
            let b = s.iter().rposition(|b| !ws(b)).map_or(a, |i| i + 1);
            Ok(s[a..b.max(a)].into())
        })),
        StringOp::Substr { utf8 } => one(substr(x, inputs[1], inputs[2], *utf8)),
        StringOp::RegexFullMatch { pattern } => {
            let re = regex(&format!("^(?:{pattern})$"), name)?;
            let v = x.string_view()?.iter().map(|s| re.is_match(s)).collect();
            one(Tensor::from_vec(v, x.shape()))
        }
        StringOp::RegexReplace {
            pattern,
            rewrite,
            global,
        } => {
            let re = regex(pattern, name)?;
            let rw = rewrite_template(rewrite);
            one(map(x, |s| {
                let limit = if *global { 0 } else { 1 };
                Ok(re.replacen(s, limit, rw.as_bytes()).into_owned().into())
            }))
        }
        StringOp::ToNumber { dtype } => one(to_number(x, *dtype)),
        StringOp::AsString {
            precision,
            scientific,
            shortest,
            width,
            fill,
        } => one(as_string(
            x,
            *precision,
            *scientific,
            *shortest,
            *width,
            fill,
        )),
        StringOp::Split { sep, maxsplit } => ragged(x, |s, out| {
            split(s, sep.as_deref().map(str::as_bytes), *maxsplit, out);
            Ok(())
        }),
        StringOp::BytesSplit => ragged(x, |s, out| {
            out.extend(s.iter().map(|&b| Bytes::from(vec![b])));
            Ok(())
        }),
        StringOp::UnicodeSplit { errors } => ragged(x, |s, out| {
            for c in decode(s, *errors, name)? {
                let mut buf = [0u8; 4];
                let ch = char::from_u32(c as u32).unwrap_or(char::REPLACEMENT_CHARACTER);
                out.push(ch.encode_utf8(&mut buf).as_bytes().into());
            }
            Ok(())
        }),
        StringOp::UnicodeDecode { errors } => {
            let v = x.string_view()?;
            let mut splits = Vec::with_capacity(v.len() + 1);
            splits.push(0i64);
            let mut points = Vec::new();
            for s in v.iter() {
                points.extend(decode(s, *errors, name)?);
                splits.push(points.len() as i64);
            }
            let n = points.len();
            Ok(vec![
                Tensor::from_vec(points, &[n])?,
                Tensor::from_vec(splits, &[v.len() + 1])?,
            ])
        }
        StringOp::UnicodeEncode { errors } => one(encode(x, inputs[1], *errors)),
        StringOp::DecodeRaw {
            dtype,
            little_endian,
        } => one(decode_raw(x, *dtype, *little_endian)),
    }
}

/// The string as TensorFlow shows it in messages (`b'...'`).
fn show(s: &[u8]) -> String {
    let mut out = String::from("b'");
    for &b in s.iter().take(64) {
        match b {
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('\'');
    out
}

/// Applies `f` to each string of `x`, keeping the shape.
fn map(x: &Tensor, f: impl Fn(&[u8]) -> Result<Bytes>) -> Result<Tensor> {
    let v = x
        .to_strings()?
        .iter()
        .map(|s| f(s))
        .collect::<Result<_>>()?;
    Tensor::from_strings(v, x.shape())
}

/// A ragged result: `f` appends the parts of each string of `x`.
fn ragged(x: &Tensor, f: impl Fn(&[u8], &mut Vec<Bytes>) -> Result<()>) -> Result<Vec<Tensor>> {
    let v = x.string_view()?;
    let mut values = Vec::new();
    let mut splits = Vec::with_capacity(v.len() + 1);
    splits.push(0i64);
    for s in v.iter() {
        f(s, &mut values)?;
        splits.push(values.len() as i64);
    }
    let n = values.len();
    Ok(vec![
        Tensor::from_strings(values, &[n])?,
        Tensor::from_vec(splits, &[v.len() + 1])?,
    ])
}

fn join(inputs: &[&Tensor], sep: &[u8]) -> Result<Tensor> {
    let mut shape: Vec<usize> = inputs[0].shape().to_vec();
    for t in &inputs[1..] {
        shape = broadcast_shapes(&shape, t.shape(), "StringJoin")?;
    }
    let parts: Vec<std::borrow::Cow<'_, [Bytes]>> = inputs
        .iter()
        .map(|t| broadcast_strings(t, &shape))
        .collect::<Result<_>>()?;
    let n = shape.iter().product();
    let v = (0..n)
        .map(|i| {
            parts
                .iter()
                .map(|p| &p[i][..])
                .collect::<Vec<_>>()
                .join(sep)
                .into()
        })
        .collect();
    Tensor::from_strings(v, &shape)
}

fn reduce_join(x: &Tensor, axes: Option<&[i64]>, keepdims: bool, sep: &[u8]) -> Result<Tensor> {
    let rank = x.rank();
    let red = crate::ops::reduce::norm_axes(axes, rank, "ReduceJoin")?;
    let kept: Vec<usize> = (0..rank).filter(|d| !red.contains(d)).collect();
    let perm: Vec<usize> = kept.iter().chain(&red).copied().collect();
    let v = x.transpose(&perm)?.to_strings()?;
    let group: usize = red.iter().map(|&d| x.shape()[d]).product();
    let outer: usize = kept.iter().map(|&d| x.shape()[d]).product();
    let out = (0..outer)
        .map(|o| {
            let parts: Vec<&[u8]> = v[o * group..(o + 1) * group]
                .iter()
                .map(|s| &s[..])
                .collect();
            parts.join(sep).into()
        })
        .collect();
    let shape: Vec<usize> = if keepdims {
        (0..rank)
            .map(|d| if red.contains(&d) { 1 } else { x.shape()[d] })
            .collect()
    } else {
        kept.iter().map(|&d| x.shape()[d]).collect()
    };
    Tensor::from_strings(out, &shape)
}

/// The values of an integer tensor broadcast to `shape`, as i64.
fn ints_to(t: &Tensor, shape: &[usize], op: &str) -> Result<Vec<i64>> {
    if !matches!(t.dtype(), DType::I32 | DType::I64) {
        bail!(
            "{op}: pos and len must be int32 or int64, got {}",
            t.dtype()
        );
    }
    t.cast(DType::I64)?.broadcast_to(shape)?.to_vec::<i64>()
}

fn substr(x: &Tensor, pos: &Tensor, len: &Tensor, utf8: bool) -> Result<Tensor> {
    let shape = x.shape().to_vec();
    let (p, l) = (
        ints_to(pos, &shape, "Substr")?,
        ints_to(len, &shape, "Substr")?,
    );
    let v = x.string_view()?;
    let out = v
        .iter()
        .enumerate()
        .map(|(i, s)| {
            // Character boundaries (every byte when counting bytes).
            let bounds: Vec<usize> = if utf8 {
                (0..=s.len())
                    .filter(|&k| k == s.len() || s[k] & 0xC0 != 0x80)
                    .collect()
            } else {
                (0..=s.len()).collect()
            };
            let n = bounds.len() as i64 - 1;
            let start = if p[i] < 0 { p[i] + n } else { p[i] };
            if start < 0 || start > n {
                bail!(
                    "Substr: pos {} out of range for string {} at index {i}",
                    p[i],
                    show(s)
                );
            }
            let end = if l[i] < 0 { n } else { (start + l[i]).min(n) };
            Ok(s[bounds[start as usize]..bounds[end as usize]].into())
        })
        .collect::<Result<_>>()?;
    Tensor::from_strings(out, &shape)
}

fn regex(pattern: &str, op: &str) -> Result<regex::bytes::Regex> {
    regex::bytes::Regex::new(pattern)
        .map_err(|e| Error::InvalidArgument(format!("{op}: invalid pattern {pattern:?}: {e}")))
}

/// RE2's rewrite (`\1`, `\\`) as the regex crate's template (`${1}`, `$$`).
fn rewrite_template(rw: &str) -> String {
    let mut out = String::new();
    let mut chars = rw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.next() {
                Some(d) if d.is_ascii_digit() => out.push_str(&format!("${{{d}}}")),
                Some(o) => out.push(o),
                None => out.push('\\'),
            },
            _ => out.push(c),
        }
    }
    out
}

fn to_number(x: &Tensor, dtype: DType) -> Result<Tensor> {
    let v = x.string_view()?;
    let bad = |s: &[u8]| {
        Error::InvalidArgument(format!(
            "StringToNumberOp could not correctly convert string: {}",
            String::from_utf8_lossy(s)
        ))
    };
    let text = |s: &[u8]| -> Result<String> {
        let t = std::str::from_utf8(s).map_err(|_| bad(s))?.trim();
        Ok(t.to_string())
    };
    macro_rules! parse {
        ($T:ty) => {{
            let n: Vec<$T> = v
                .iter()
                .map(|s| text(s)?.parse::<$T>().map_err(|_| bad(s)))
                .collect::<Result<_>>()?;
            Tensor::from_vec(n, x.shape())
        }};
    }
    match dtype {
        DType::F32 => parse!(f32),
        DType::F64 => parse!(f64),
        DType::I32 => parse!(i32),
        DType::I64 => parse!(i64),
        _ => {
            bail!("StringToNumber: out_type must be float32, float64, int32 or int64, got {dtype}")
        }
    }
}

/// C's `%e` exponent form (`1.5e+00`) from Rust's (`1.5e0`).
fn c_exponent(s: String) -> String {
    match s.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
            format!("{m}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

/// A float as C's printf formats it with `%.{p}f`, `%.{p}e` or `%.{p}g`.
fn c_float(x: f64, precision: i64, scientific: bool, shortest: bool) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "nan".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let p = if precision < 0 { 6 } else { precision as usize };
    if scientific {
        return c_exponent(format!("{x:.p$e}"));
    }
    if !shortest {
        return format!("{x:.p$}");
    }
    let p = p.max(1);
    let e = format!("{x:.*e}", p - 1);
    let exp: i64 = e
        .split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    let s = if exp < -4 || exp >= p as i64 {
        c_exponent(e)
    } else {
        format!("{x:.*}", (p as i64 - 1 - exp) as usize)
    };
    // %g drops trailing zeros (and a trailing point).
    match s.split_once('e') {
        Some((m, e)) if m.contains('.') => {
            format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'))
        }
        None if s.contains('.') => s.trim_end_matches('0').trim_end_matches('.').to_string(),
        _ => s,
    }
}

fn as_string(
    x: &Tensor,
    precision: i64,
    scientific: bool,
    shortest: bool,
    width: i64,
    fill: &str,
) -> Result<Tensor> {
    let dt = x.dtype();
    if dt == DType::String {
        bail!(
            "AsString: the input is already a string tensor (shape {:?})",
            x.shape()
        );
    }
    let pad = |s: String| -> Bytes {
        let w = width.max(0) as usize;
        if s.len() >= w {
            return s.into_bytes().into();
        }
        let fill = fill.chars().next().unwrap_or(' ');
        let n = w - s.len();
        if fill == '0' && s.starts_with('-') {
            format!("-{}{}", "0".repeat(n), &s[1..]).into_bytes().into()
        } else {
            format!("{}{s}", fill.to_string().repeat(n))
                .into_bytes()
                .into()
        }
    };
    let v: Vec<Bytes> = if dt == DType::Bool {
        x.to_vec::<bool>()?
            .iter()
            .map(|&b| pad(if b { "true" } else { "false" }.into()))
            .collect()
    } else if dt.is_float() {
        x.cast(DType::F64)?
            .to_vec::<f64>()?
            .iter()
            .map(|&f| pad(c_float(f, precision, scientific, shortest)))
            .collect()
    } else {
        if precision >= 0 || scientific || shortest {
            bail!("AsString: precision and scientific apply to floats only, got {dt}");
        }
        x.cast(DType::I64)?
            .to_vec::<i64>()?
            .iter()
            .map(|i| pad(i.to_string()))
            .collect()
    };
    Tensor::from_strings(v, x.shape())
}

/// Python's `bytes.split(sep, maxsplit)`.
fn split(s: &[u8], sep: Option<&[u8]>, maxsplit: i64, out: &mut Vec<Bytes>) {
    let mut left = if maxsplit < 0 {
        usize::MAX
    } else {
        maxsplit as usize
    };
    match sep {
        Some(sep) if !sep.is_empty() => {
            let mut rest = s;
            while left > 0 {
                let Some(i) = rest.windows(sep.len()).position(|w| w == sep) else {
                    break;
                };
                out.push(rest[..i].into());
                rest = &rest[i + sep.len()..];
                left -= 1;
            }
            out.push(rest.into());
        }
        _ => {
            let ws = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r');
            let mut i = 0;
            while i < s.len() {
                while i < s.len() && ws(s[i]) {
                    i += 1;
                }
                if i == s.len() {
                    break;
                }
                if left == 0 {
                    // As Python: the rest keeps its trailing whitespace.
                    out.push(s[i..].into());
                    break;
                }
                let start = i;
                while i < s.len() && !ws(s[i]) {
                    i += 1;
                }
                out.push(s[start..i].into());
                left = left.saturating_sub(1);
            }
        }
    }
}

/// The code points of `s`; invalid UTF-8 is an error, U+FFFD, or left out.
fn decode(s: &[u8], errors: Utf8Errors, op: &str) -> Result<Vec<i32>> {
    let mut out = Vec::with_capacity(s.len());
    for chunk in s.utf8_chunks() {
        out.extend(chunk.valid().chars().map(|c| c as i32));
        if !chunk.invalid().is_empty() {
            match errors {
                Utf8Errors::Strict => bail!("{op}: invalid UTF-8 in {}", show(s)),
                Utf8Errors::Replace => out.push(0xFFFD),
                Utf8Errors::Ignore => {}
            }
        }
    }
    Ok(out)
}

fn encode(points: &Tensor, splits: &Tensor, errors: Utf8Errors) -> Result<Tensor> {
    if points.dtype() != DType::I32 || points.rank() != 1 {
        bail!(
            "UnicodeEncode: input_values must be a 1-D int32 tensor, got {} of shape {:?}",
            points.dtype(),
            points.shape()
        );
    }
    let cp = points.to_vec::<i32>()?;
    let sp = crate::ops::indexing::indices_i64(splits, "UnicodeEncode")?;
    let ok = sp.first() == Some(&0)
        && sp.last() == Some(&(cp.len() as i64))
        && sp.windows(2).all(|w| w[0] <= w[1]);
    if !ok {
        bail!(
            "UnicodeEncode: row splits {:?} do not partition {} code points",
            &sp[..sp.len().min(8)],
            cp.len()
        );
    }
    let out = sp
        .windows(2)
        .map(|w| {
            let mut s = String::new();
            for &c in &cp[w[0] as usize..w[1] as usize] {
                match char::from_u32(c as u32) {
                    Some(ch) => s.push(ch),
                    None => match errors {
                        Utf8Errors::Strict => {
                            bail!("UnicodeEncode: invalid code point {c}")
                        }
                        Utf8Errors::Replace => s.push(char::REPLACEMENT_CHARACTER),
                        Utf8Errors::Ignore => {}
                    },
                }
            }
            Ok(s.into_bytes().into())
        })
        .collect::<Result<_>>()?;
    Tensor::from_strings(out, &[sp.len() - 1])
}

fn decode_raw(x: &Tensor, dtype: DType, le: bool) -> Result<Tensor> {
    let v = x.string_view()?;
    let size = dtype.size();
    if dtype == DType::String {
        bail!("DecodeRaw: out_type must be a numeric dtype, got string");
    }
    let len = v.first().map_or(0, |s| s.len());
    if let Some(s) = v.iter().find(|s| s.len() != len) {
        bail!(
            "DecodeRaw: all strings must have the same length; got {len} and {} bytes",
            s.len()
        );
    }
    if len % size != 0 {
        bail!("DecodeRaw: input to DecodeRaw has length {len} that is not a multiple of {size}, the size of {dtype}");
    }
    let mut bytes: Vec<u8> = Vec::with_capacity(len * v.len());
    for s in v.iter() {
        for c in s.chunks(size) {
            if le {
                bytes.extend_from_slice(c);
            } else {
                bytes.extend(c.iter().rev());
            }
        }
    }
    let mut shape = x.shape().to_vec();
    shape.push(len / size);
    crate::with_dtype!(dtype, T => {
        let vals: Vec<T> = bytes
            .chunks(size)
            .map(read_le::<T>)
            .collect::<Result<_>>()?;
        Tensor::from_vec(vals, &shape)
    })
}

/// One element of `T` from its little-endian bytes (bool: any non-zero byte is true).
fn read_le<T: crate::Element>(c: &[u8]) -> Result<T> {
    let mut b = [0u8; 8];
    b[..c.len()].copy_from_slice(c);
    let bits = u64::from_le_bytes(b);
    Ok(match T::DTYPE {
        DType::F32 => T::of_f64(f32::from_bits(bits as u32) as f64),
        DType::F64 => T::of_f64(f64::from_bits(bits)),
        DType::F16 => T::of_f64(half::f16::from_bits(bits as u16).to_f64()),
        DType::BF16 => T::of_f64(half::bf16::from_bits(bits as u16).to_f64()),
        DType::I8 => T::of_i64(bits as u8 as i8 as i64),
        DType::I32 => T::of_i64(bits as u32 as i32 as i64),
        DType::I64 => T::of_i64(bits as i64),
        DType::U8 => T::of_i64(bits as u8 as i64),
        DType::Bool => T::of_i64((bits != 0) as i64),
        DType::String => bail!("DecodeRaw: out_type must be a numeric dtype, got string"),
    })
}
