"""``tf.strings``: ops on string tensors (byte strings; text is UTF-8).

Each op is one Rust ``StringOp`` (declared in ``rust/ops/strings.rs``), so it runs inside
traced functions too. Ops that split strings give a ``RaggedTensor`` for inputs of rank 1 or
more, and a dense 1-D tensor for a scalar, as TensorFlow does.

>>> import rstf as tf
>>> words = tf.strings.split(tf.constant(["Gray wolf", "Quick brown fox"]))
>>> words.to_list()
[[b'Gray', b'wolf'], [b'Quick', b'brown', b'fox']]
>>> tf.strings.to_number(tf.strings.split("1 10 100")).numpy()
array([  1.,  10., 100.], dtype=float32)
>>> tf.strings.length(["abc", "🦆"], unit="UTF8_CHAR").numpy()
array([3, 1], dtype=int32)
"""

from __future__ import annotations

import builtins

from . import _ops
from ._ops import convert_to_tensor
from ._ragged_tensor import RaggedTensor
from .dtypes import as_dtype, float32, int32, int64, string
from .errors import InvalidArgumentError

__all__ = [
    "as_string",
    "bytes_split",
    "join",
    "length",
    "lower",
    "reduce_join",
    "regex_full_match",
    "regex_replace",
    "split",
    "strip",
    "substr",
    "to_number",
    "unicode_decode",
    "unicode_encode",
    "unicode_split",
    "upper",
]


def _strings(x, op: str):
    """``x`` as a string tensor (a RaggedTensor's flat values are taken by the caller)."""
    t = convert_to_tensor(x)
    if t.dtype != string:
        raise TypeError(f"{op}: expected a string tensor, got a {t.dtype.name} tensor of shape {t.shape}")
    return t


def _map_ragged(x, fn):
    """Applies ``fn`` to a RaggedTensor's flat values, or to ``x``."""
    if isinstance(x, RaggedTensor):
        return x.with_flat_values(fn(x.flat_values))
    return fn(x)


def _op(attrs, *inputs, outputs=1):
    out = _ops._apply("Strings", attrs, *inputs)
    return out[0] if outputs == 1 else out


def _ragged_result(x, values, splits):
    """The parts of each element of ``x`` (values and row splits over its elements) as
    TensorFlow shapes them: 1-D for a scalar, ragged with ``x``'s dims outside."""
    if x.shape.rank == 0:
        return values
    out = RaggedTensor.from_row_splits(values, splits, validate=False)
    dims = [int(d) for d in x.shape]
    # Outer dims of a rank-k input become uniform ragged levels (row length = the dim size).
    for d in reversed(dims[1:]):
        n = out.nrows_int()
        rows = n // d if d else 0
        out = RaggedTensor.from_row_splits(out, _ops.range(0, rows * d + 1, d if d else 1, dtype=int64)
                                           if d else _ops.zeros([1], int64), validate=False)
    return out


def _ragged_op(x, attrs, op):
    if isinstance(x, RaggedTensor):
        inner = _ragged_op(x.flat_values, attrs, op)
        return x.with_flat_values(inner)
    x = _strings(x, op)
    values, splits = _op(attrs, x, outputs=2)
    return _ragged_result(x, values, splits)


def _errors(errors: str, op: str) -> str:
    table = {"strict": "Strict", "replace": "Replace", "ignore": "Ignore"}
    if errors not in table:
        raise ValueError(f"{op}: errors must be 'strict', 'replace' or 'ignore', got {errors!r}")
    return table[errors]


def _utf8(encoding: str, op: str) -> None:
    if encoding.upper().replace("_", "-") not in ("UTF-8", "UTF8"):
        raise InvalidArgumentError(None, None, f"{op}: only UTF-8 is supported, got encoding {encoding!r}")


def split(input, sep=None, maxsplit=-1, name=None):
    """Splits each string at ``sep`` (runs of whitespace when None), as Python's
    ``bytes.split``.

    >>> import rstf as tf
    >>> tf.strings.split("a,b,,c", sep=",").numpy()
    array([b'a', b'b', b'', b'c'], dtype=object)
    """
    if sep is not None and not isinstance(sep, str):
        sep = convert_to_tensor(sep).numpy().item().decode()
    attrs = {"Split": {"sep": sep or None, "maxsplit": int(maxsplit)}}
    return _ragged_op(input, attrs, "StringSplitV2")


def bytes_split(input, name=None):
    """Splits each string into its bytes.

    >>> import rstf as tf
    >>> tf.strings.bytes_split("Duck").numpy()
    array([b'D', b'u', b'c', b'k'], dtype=object)
    """
    return _ragged_op(input, "BytesSplit", "StringBytesSplit")


def unicode_split(input, input_encoding, errors="replace", replacement_char=65533, name=None):
    """Splits each string into its UTF-8 characters (each a string)."""
    _utf8(input_encoding, "UnicodeSplit")
    return _ragged_op(input, {"UnicodeSplit": {"errors": _errors(errors, "UnicodeSplit")}}, "UnicodeSplit")


def unicode_decode(input, input_encoding, errors="replace", replacement_char=65533,
                   replace_control_characters=False, name=None):
    """The Unicode code points of each string (int32).

    >>> import rstf as tf
    >>> tf.strings.unicode_decode("añ", "UTF-8").numpy()
    array([ 97, 241], dtype=int32)
    """
    _utf8(input_encoding, "UnicodeDecode")
    return _ragged_op(input, {"UnicodeDecode": {"errors": _errors(errors, "UnicodeDecode")}},
                      "UnicodeDecode")


def unicode_encode(input, output_encoding, errors="replace", replacement_char=65533, name=None):
    """Encodes code points as UTF-8 strings: one string per row of ``input`` (a RaggedTensor
    or a dense tensor whose last axis holds the code points).

    >>> import rstf as tf
    >>> tf.strings.unicode_encode([97, 241], "UTF-8").numpy()
    b'a\\xc3\\xb1'
    """
    _utf8(output_encoding, "UnicodeEncode")
    attrs = {"UnicodeEncode": {"errors": _errors(errors, "UnicodeEncode")}}
    if isinstance(input, RaggedTensor):
        if input.ragged_rank > 1:
            return input.with_values(unicode_encode(input.values, output_encoding, errors))
        values = _ops.cast(input.values, int32)
        return _op(attrs, values, input.row_splits)
    t = convert_to_tensor(input)
    if t.shape.rank == 0:
        raise ValueError("UnicodeEncode: input must have rank at least 1")
    dims = [int(d) for d in t.shape]
    n = dims[-1]
    rows = 1
    for d in dims[:-1]:
        rows *= d
    flat = _ops.reshape(_ops.cast(t, int32), [-1])
    splits = _ops.range(0, rows * n + 1, n if n else 1, dtype=int64) if n else _ops.zeros([rows + 1], int64)
    return _ops.reshape(_op(attrs, flat, splits), dims[:-1])


def join(inputs, separator="", name=None):
    """Joins the strings of ``inputs`` (a list of tensors, broadcast) elementwise.

    >>> import rstf as tf
    >>> tf.strings.join(["a", ["b", "c"]], separator="-").numpy()
    array([b'a-b', b'a-c'], dtype=object)
    """
    ts = [_strings(x, "StringJoin") for x in inputs]
    return _op({"Join": {"separator": separator}}, *ts)


def reduce_join(inputs, axis=None, keepdims=False, separator="", name=None):
    """Joins the strings along ``axis`` (all axes when None).

    >>> import rstf as tf
    >>> tf.strings.reduce_join([["a", "b"], ["c", "d"]], axis=1, separator=" ").numpy()
    array([b'a b', b'c d'], dtype=object)
    """
    x = _strings(inputs, "ReduceJoin")
    axes = None if axis is None else [int(a) for a in (axis if isinstance(axis, (list, tuple)) else [axis])]
    return _op({"ReduceJoin": {"axes": axes, "keepdims": builtins.bool(keepdims), "separator": separator}}, x)


def length(input, unit="BYTE", name=None):
    """The length of each string in bytes (``unit="BYTE"``) or characters (``"UTF8_CHAR"``)."""
    if unit not in ("BYTE", "UTF8_CHAR"):
        raise ValueError(f"StringLength: unit must be 'BYTE' or 'UTF8_CHAR', got {unit!r}")
    attrs = {"Length": {"utf8": unit == "UTF8_CHAR"}}
    return _map_ragged(input, lambda x: _op(attrs, _strings(x, "StringLength")))


def _case(input, encoding, upper):
    if encoding not in ("", "utf-8", "UTF-8", "utf8"):
        raise ValueError(f"encoding must be '' or 'utf-8', got {encoding!r}")
    attrs = {"Case": {"upper": upper, "utf8": encoding != ""}}
    return _map_ragged(input, lambda x: _op(attrs, _strings(x, "StringUpper" if upper else "StringLower")))


def lower(input, encoding="", name=None):
    """Lower-cases ASCII letters (all Unicode letters with ``encoding="utf-8"``).

    >>> import rstf as tf
    >>> tf.strings.lower("CamelCase").numpy()
    b'camelcase'
    """
    return _case(input, encoding, False)


def upper(input, encoding="", name=None):
    """Upper-cases ASCII letters (all Unicode letters with ``encoding="utf-8"``)."""
    return _case(input, encoding, True)


def strip(input, name=None):
    """Removes leading and trailing whitespace.

    >>> import rstf as tf
    >>> tf.strings.strip(["  hi\\n", "x"]).numpy()
    array([b'hi', b'x'], dtype=object)
    """
    return _map_ragged(input, lambda x: _op("Strip", _strings(x, "StringStrip")))


def substr(input, pos, len, unit="BYTE", name=None):
    """The substrings of ``len`` units from ``pos`` (negative: from the end).

    >>> import rstf as tf
    >>> tf.strings.substr(["hello", "world"], 1, 3).numpy()
    array([b'ell', b'orl'], dtype=object)
    """
    if unit not in ("BYTE", "UTF8_CHAR"):
        raise ValueError(f"Substr: unit must be 'BYTE' or 'UTF8_CHAR', got {unit!r}")
    x = _strings(input, "Substr")
    return _op({"Substr": {"utf8": unit == "UTF8_CHAR"}}, x, convert_to_tensor(pos), convert_to_tensor(len))


def _pattern(p, op):
    if isinstance(p, str):
        return p
    if isinstance(p, bytes):
        return p.decode()
    t = convert_to_tensor(p)
    if t.dtype != string or t.shape.rank != 0:
        raise TypeError(f"{op}: pattern must be a Python str or a scalar string tensor")
    return t.numpy().decode()


def regex_full_match(input, pattern, name=None):
    """Whether each string matches ``pattern`` (RE2 syntax) as a whole.

    >>> import rstf as tf
    >>> tf.strings.regex_full_match(["abc", "ab1"], "[a-z]+").numpy()
    array([ True, False])
    """
    attrs = {"RegexFullMatch": {"pattern": _pattern(pattern, "RegexFullMatch")}}
    return _map_ragged(input, lambda x: _op(attrs, _strings(x, "RegexFullMatch")))


def regex_replace(input, pattern, rewrite, replace_global=True, name=None):
    """Replaces the matches of ``pattern`` with ``rewrite`` (``\\1`` names a group).

    >>> import rstf as tf
    >>> tf.strings.regex_replace("a1b22", "[0-9]+", "#").numpy()
    b'a#b#'
    """
    attrs = {"RegexReplace": {"pattern": _pattern(pattern, "RegexReplace"),
                              "rewrite": _pattern(rewrite, "RegexReplace"),
                              "global": builtins.bool(replace_global)}}
    return _map_ragged(input, lambda x: _op(attrs, _strings(x, "RegexReplace")))


def to_number(input, out_type=float32, name=None):
    """Parses each string as a number of ``out_type`` (float32, float64, int32, int64)."""
    attrs = {"ToNumber": {"dtype": as_dtype(out_type).name}}
    return _map_ragged(input, lambda x: _op(attrs, _strings(x, "StringToNumber")))


def as_string(input, precision=-1, scientific=False, shortest=False, width=-1, fill="", name=None):
    """Formats numbers and bools as strings, as C's printf (floats: ``%f`` by default).

    >>> import rstf as tf
    >>> tf.strings.as_string([1.5, 2.0], precision=2).numpy()
    array([b'1.50', b'2.00'], dtype=object)
    """
    if builtins.len(fill) > 1:
        raise InvalidArgumentError(None, None, f"AsString: fill must be at most one character, got {fill!r}")
    attrs = {"AsString": {"precision": int(precision), "scientific": builtins.bool(scientific),
                          "shortest": builtins.bool(shortest), "width": int(width), "fill": fill}}
    return _map_ragged(input, lambda x: _op(attrs, convert_to_tensor(x)))


def decode_raw(input_bytes, out_type, little_endian=True, fixed_length=None, name=None):
    """Reads the bytes of each string as numbers of ``out_type`` (``tf.io.decode_raw``).

    >>> import rstf as tf
    >>> tf.io.decode_raw(tf.constant("Duck"), tf.uint8).numpy()
    array([ 68, 117,  99, 107], dtype=uint8)
    """
    if fixed_length is not None:
        raise NotImplementedError("decode_raw: fixed_length is not supported")
    x = _strings(input_bytes, "DecodeRaw")
    attrs = {"DecodeRaw": {"dtype": as_dtype(out_type).name, "little_endian": builtins.bool(little_endian)}}
    return _op(attrs, x)
