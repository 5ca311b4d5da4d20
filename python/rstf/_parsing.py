"""Parsing serialized protos into tensors: ``tf.io.parse_example`` and
``parse_single_example`` (``tf.train.Example`` records, described by ``FixedLenFeature``,
``FixedLenSequenceFeature``, ``VarLenFeature`` and ``RaggedFeature``), and
``tf.io.serialize_tensor`` / ``parse_tensor`` (TensorFlow's ``TensorProto``).

Only the requested features of each record are decoded. Feature dtypes are ``tf.string``
(``bytes_list``), ``tf.int64`` (``int64_list``) and ``tf.float32`` (``float_list``); errors are
TensorFlow's (a missing required feature, a type or size that does not match, a record that
is not an ``Example``: ``InvalidArgumentError``).

>>> import rstf as tf
>>> ex = tf.train.Example(features=tf.train.Features(feature={
...     "x": tf.train.Feature(float_list=tf.train.FloatList(value=[1.0, 2.0])),
...     "tags": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"a", b"b", b"c"]))}))
>>> out = tf.io.parse_single_example(ex.SerializeToString(), {
...     "x": tf.io.FixedLenFeature([2], tf.float32),
...     "y": tf.io.FixedLenFeature([], tf.int64, default_value=-1),
...     "tags": tf.io.VarLenFeature(tf.string)})
>>> out["x"].numpy(), int(out["y"])
(array([1., 2.], dtype=float32), -1)
>>> out["tags"].values.numpy()
array([b'a', b'b', b'c'], dtype=object)
>>> t = tf.constant([[1, 2], [3, 4]])
>>> tf.io.parse_tensor(tf.io.serialize_tensor(t), tf.int32).numpy()
array([[1, 2],
       [3, 4]], dtype=int32)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import _ops
from . import _protowire as w
from ._ragged_tensor import RaggedTensor
from ._rstf import Tensor
from .dtypes import as_dtype, float32, int32, int64, string
from .errors import InvalidArgumentError, ResourceExhaustedError
from .sparse import SparseTensor

__all__ = ["FixedLenFeature", "FixedLenSequenceFeature", "RaggedFeature", "VarLenFeature", "parse_example",
           "parse_single_example", "parse_tensor", "serialize_tensor"]

# TensorFlow's names of dtypes in messages (DataTypeString).
_TF_NAME = {"float32": "float", "float64": "double", "float16": "half"}
_KIND = {"bytes_list": "string", "float_list": "float32", "int64_list": "int64"}


def _tf_name(dtype) -> str:
    return _TF_NAME.get(dtype.name, dtype.name)


class FixedLenFeature(NamedTuple):
    """A feature of a fixed ``shape``: ``prod(shape)`` values of ``dtype`` per example, or
    ``default_value`` where an example lacks it (required when ``default_value`` is None)."""

    shape: tuple
    dtype: object
    default_value: object = None


class FixedLenSequenceFeature(NamedTuple):
    """A sequence of values of ``shape`` (the feature holds a multiple of ``prod(shape)``
    values), padded with ``default_value`` (zero or ``b""``) to the longest in the batch."""

    shape: tuple
    dtype: object
    allow_missing: bool = False
    default_value: object = None


class VarLenFeature(NamedTuple):
    """Any number of values per example, parsed into a ``tf.sparse.SparseTensor``."""

    dtype: object


class RaggedFeature(NamedTuple):
    """Any number of values per example, parsed into a ``tf.RaggedTensor`` (rows of the batch;
    one example gives a 1-D tensor). Only features without ``partitions`` are supported."""

    dtype: object
    value_key: str | None = None
    partitions: tuple = ()
    row_splits_dtype: object = int32
    validate: bool = False


# -- reading the features of one Example ------------------------------------------------------------

def _feature_values(data: bytes, wanted) -> dict:
    """``{key: (kind or None, values)}`` for the features of the serialized Example ``data``
    whose keys are in ``wanted`` (the last entry of a key wins, as in protobuf's maps)."""
    found = {}
    what = 'message of type "tensorflow.Example"'
    for number, wire, features in w.fields(data, what):
        if number != 1 or wire != w.LEN:
            continue
        for n, wt, entry in w.fields(features, what):
            if n != 1 or wt != w.LEN:
                continue
            key, value = b"", b""
            for en, ewt, v in w.fields(entry, what):
                if en == 1 and ewt == w.LEN:
                    key = v
                elif en == 2 and ewt == w.LEN:
                    value = v
            try:
                name = key.decode()
            except UnicodeDecodeError:
                raise w.DecodeError("a feature name is not valid UTF-8") from None
            if name in wanted:
                found[name] = _decode_feature(value, what)
    return found


def _decode_feature(data: bytes, what: str):
    kind, values = None, []
    for number, wire, payload in w.fields(data, what):
        if wire != w.LEN or number not in (1, 2, 3):
            continue
        new = ("bytes_list", "float_list", "int64_list")[number - 1]
        if new != kind:
            kind, values = new, []
        for n, wt, v in w.fields(payload, what):
            if n != 1:
                continue
            if kind == "bytes_list" and wt == w.LEN:
                values.append(v)
            elif kind == "float_list" and wt == w.LEN:
                values.extend(w.unpack_fixed(v, "<f4", what).tolist())
            elif kind == "float_list" and wt == w.I32:
                values.append(float(np.frombuffer(v.to_bytes(4, "little"), "<f4")[0]))
            elif kind == "int64_list" and wt == w.LEN:
                values.extend(w.unpack_int64s(v, what))
            elif kind == "int64_list" and wt == w.VARINT:
                values.append(w.signed64(v))
    return kind, values


# -- parse_example ----------------------------------------------------------------------------------

def _records(serialized, op: str, rank: int) -> np.ndarray:
    t = serialized if isinstance(serialized, Tensor) else _ops.convert_to_tensor(serialized, string)
    if t.dtype != string:
        raise TypeError(f"{op}: `serialized` must be a string tensor, got {t.dtype.name}")
    if t.shape.rank != rank:
        raise InvalidArgumentError(f"{op}: `serialized` must be a {('scalar', 'vector')[rank]}, got shape "
                                   f"{t.shape}")
    return np.asarray(t.numpy(), dtype=object).reshape(-1)


def _config(features, op: str) -> dict:
    if not isinstance(features, dict) or not features:
        raise ValueError(f"{op}: `features` must be a non-empty dict of feature configurations")
    out = {}
    for key, f in features.items():
        if not isinstance(f, (FixedLenFeature, FixedLenSequenceFeature, VarLenFeature, RaggedFeature)):
            raise ValueError(f"{op}: unsupported feature configuration {f!r} for key {key!r}")
        dtype = as_dtype(f.dtype)
        if dtype not in (string, int64, float32):
            raise ValueError(f"{op}: feature {key!r} has dtype {dtype.name}; features must be tf.string, "
                             "tf.int64 or tf.float32")
        if isinstance(f, RaggedFeature) and f.partitions:
            raise NotImplementedError(f"{op}: RaggedFeature partitions are not supported (feature {key!r})")
        if isinstance(f, FixedLenSequenceFeature) and not f.allow_missing:
            raise ValueError(f"{op}: FixedLenSequenceFeature requires allow_missing=True (feature {key!r})")
        if isinstance(f, (FixedLenFeature, FixedLenSequenceFeature)):
            shape = _shape(f.shape, key, op)
            out[key] = (f, dtype, shape, _default(f.default_value, dtype, shape, key, f, op))
        else:
            out[key] = (f, dtype, None, None)
    return out


def _shape(shape, key, op) -> tuple:
    if isinstance(shape, (int, np.integer)):
        shape = [shape]
    dims = tuple(shape.as_list() if hasattr(shape, "as_list") else shape)
    if any(d is None or int(d) < 0 for d in dims):
        raise ValueError(f"{op}: feature {key!r} has an unknown dimension in shape {list(dims)}; use "
                         "FixedLenSequenceFeature or VarLenFeature")
    return tuple(int(d) for d in dims)


def _np_dtype(dtype):
    return object if dtype == string else dtype.as_numpy_dtype


def _default(value, dtype, shape, key, f, op):
    if value is None:
        return None
    v = _np_values(value.numpy() if isinstance(value, Tensor) else value, dtype)
    if isinstance(f, FixedLenSequenceFeature):
        if v.size != 1:
            raise ValueError(f"{op}: the default_value of feature {key!r} must be a scalar")
        return v.reshape(())
    size = math.prod(shape)
    if v.size == size:
        return v.reshape(shape)
    if v.size == 1:
        return np.full(shape, v.reshape(()), dtype=v.dtype)
    raise ValueError(f"{op}: the default_value of feature {key!r} has {v.size} values; shape {list(shape)} "
                     f"needs {size}")


def _np_values(values, dtype) -> np.ndarray:
    if dtype == string:
        a = np.asarray(values, dtype=object)
        return np.vectorize(lambda s: s.encode() if isinstance(s, str) else bytes(s), otypes=[object])(a) \
            if a.size else a
    return np.asarray(values, dtype=_np_dtype(dtype))


def _tensor(a: np.ndarray, dtype) -> Tensor:
    return _ops.constant(a, dtype)


def _values_of(batch, key, i, dtype, f, names):
    """The values of feature ``key`` in example ``i`` (None when absent), type-checked."""
    kind, values = batch[i].get(key, (None, None))
    if kind is None:
        return None
    if _KIND[kind] != dtype.name:
        raise InvalidArgumentError(
            f"Name: {names[i]}, Key: {key}, Index: {i}.  Data types don't match. Data type: "
            f"{_tf_name(as_dtype(_KIND[kind]))} but expected type: {_tf_name(dtype)}")
    return values


def _dense(batch, key, f, dtype, shape, default, names):
    size = math.prod(shape)
    out = np.empty((len(batch), *shape), dtype=_np_dtype(dtype))
    rows = out.reshape(len(batch), size)
    for i in range(len(batch)):
        values = _values_of(batch, key, i, dtype, f, names)
        if values is None:
            if default is None:
                raise InvalidArgumentError(f"Feature: {key} (data type: {_tf_name(dtype)}) is required but "
                                           "could not be found.")
            rows[i, :] = default.reshape(-1)
            continue
        if len(values) != size:
            raise InvalidArgumentError(
                f"Name: {names[i]}, Key: {key}, Index: {i}.  Number of {_tf_name(dtype)} values != "
                f"expected.  Values size: {len(values)} but output shape: [{','.join(map(str, shape))}]")
        rows[i, :] = values
    return _tensor(out, dtype)


def _sequence(batch, key, f, dtype, shape, default, names):
    size = math.prod(shape)
    rows = []
    for i in range(len(batch)):
        values = _values_of(batch, key, i, dtype, f, names) or []
        if size == 0 and values or size and len(values) % size:
            raise InvalidArgumentError(
                f"Name: {names[i]}, Key: {key}, Index: {i}.  Number of {_tf_name(dtype)} values is not a "
                f"multiple of {size} for shape [{','.join(map(str, shape))}]; values size: {len(values)}")
        rows.append(np.asarray(values, dtype=_np_dtype(dtype)).reshape((-1, *shape)) if size else
                    np.zeros((0, *shape), _np_dtype(dtype)))
    longest = max((len(r) for r in rows), default=0)
    fill = default if default is not None else (b"" if dtype == string else 0)
    out = np.full((len(batch), longest, *shape), fill, dtype=_np_dtype(dtype))
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return _tensor(out, dtype)


def _var_len(batch, key, f, dtype, names):
    lists = [_values_of(batch, key, i, dtype, f, names) or [] for i in range(len(batch))]
    lengths = np.array([len(v) for v in lists], dtype=np.int64)
    values = np.array([x for v in lists for x in v], dtype=_np_dtype(dtype)).reshape(-1)
    return lists, lengths, values


def _sparse(batch, key, f, dtype, names):
    _, lengths, values = _var_len(batch, key, f, dtype, names)
    rows = np.repeat(np.arange(len(batch), dtype=np.int64), lengths)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])) if len(lengths) else np.zeros(0, np.int64)
    cols = np.arange(len(values), dtype=np.int64) - np.repeat(starts, lengths)
    indices = np.stack([rows, cols], axis=1) if len(values) else np.zeros((0, 2), np.int64)
    return SparseTensor(indices, _tensor(values, dtype),
                        [len(batch), int(lengths.max()) if len(lengths) else 0])


def _ragged(batch, key, f, dtype, names):
    _, lengths, values = _var_len(batch, key, f, dtype, names)
    splits = np.concatenate(([0], np.cumsum(lengths)))
    return RaggedTensor.from_row_splits(_tensor(values, dtype),
                                        _ops.constant(splits, as_dtype(f.row_splits_dtype)), validate=False)


def _parse(records: np.ndarray, features, names, op: str) -> dict:
    config = _config(features, op)
    wanted = {key if not isinstance(f, RaggedFeature) or f.value_key is None else f.value_key
              for key, (f, *_) in config.items()}
    batch = []
    for i, data in enumerate(records):
        try:
            batch.append(_feature_values(data, wanted))
        except w.DecodeError as e:
            shown = data[:64]
            raise InvalidArgumentError(f"{op}: Could not parse example input, value: {shown!r}"
                                       f"{'...' if len(data) > 64 else ''} (record {i}: {e})") from None
    out = {}
    for key, (f, dtype, shape, default) in config.items():
        if isinstance(f, FixedLenFeature):
            out[key] = _dense(batch, key, f, dtype, shape, default, names)
        elif isinstance(f, FixedLenSequenceFeature):
            out[key] = _sequence(batch, key, f, dtype, shape, default, names)
        elif isinstance(f, VarLenFeature):
            out[key] = _sparse(batch, key, f, dtype, names)
        else:
            out[key] = _ragged(batch, f.value_key or key, f, dtype, names)
    return out


def _names(example_names, n: int) -> list:
    if example_names is None:
        return ["<unknown>"] * n
    if isinstance(example_names, Tensor):
        example_names = example_names.numpy()
    names = [x.decode() if isinstance(x, bytes) else str(x)
             for x in np.asarray(example_names, dtype=object).reshape(-1)]
    if len(names) != n:
        raise InvalidArgumentError(f"Expected len(example_names) == len(serialized), got {len(names)} and "
                                   f"{n}")
    return names


def parse_example(serialized, features, example_names=None, name=None) -> dict:
    """Parses a batch (a 1-D string tensor) of serialized ``tf.train.Example`` records into a
    dict of tensors, one per key of ``features``: ``FixedLenFeature`` gives a dense tensor of
    shape ``[batch, *shape]``, ``FixedLenSequenceFeature`` ``[batch, longest, *shape]``,
    ``VarLenFeature`` a SparseTensor of dense shape ``[batch, longest]`` and ``RaggedFeature``
    a RaggedTensor of ``batch`` rows.

    >>> import rstf as tf
    >>> def ex(*v):
    ...     f = tf.train.Feature(int64_list=tf.train.Int64List(value=v))
    ...     return tf.train.Example(features=tf.train.Features(feature={"v": f})).SerializeToString()
    >>> out = tf.io.parse_example([ex(1, 2), ex(3)], {"v": tf.io.VarLenFeature(tf.int64)})
    >>> tf.sparse.to_dense(out["v"]).numpy()
    array([[1, 2],
           [3, 0]])
    """
    records = _records(serialized, "ParseExample", 1)
    return _parse(records, features, _names(example_names, len(records)), "ParseExample")


def parse_single_example(serialized, features, example_names=None, name=None) -> dict:
    """Parses one serialized ``tf.train.Example`` (a scalar string) as :func:`parse_example`
    does, without the batch dimension (a ``RaggedFeature`` gives a 1-D tensor)."""
    records = _records(serialized, "ParseSingleExample", 0)
    names = _names(None if example_names is None else [example_names], 1)
    out = _parse(records, features, names, "ParseSingleExample")
    for key, value in out.items():
        if isinstance(value, SparseTensor):
            idx = value.indices.numpy()[:, 1:]
            out[key] = SparseTensor(idx, value.values, value.dense_shape.numpy()[1:])
        elif isinstance(value, RaggedTensor):
            out[key] = value.flat_values
        else:
            out[key] = value[0]
    return out


# -- TensorProto ------------------------------------------------------------------------------------

# types.proto's DataType numbers for rstf's dtypes.
_DT = {"float32": 1, "float64": 2, "int32": 3, "uint8": 4, "int8": 6, "string": 7, "int64": 9, "bool": 10,
       "bfloat16": 14, "float16": 19}
_DT_NAME = {1: "float", 2: "double", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 7: "string",
            8: "complex64", 9: "int64", 10: "bool", 14: "bfloat16", 17: "uint16", 18: "complex128",
            19: "half", 20: "resource", 21: "variant", 22: "uint32", 23: "uint64"}
# The *_val field of each dtype, and how its numbers are stored there.
_VAL_FIELD = {"float32": (5, "f4"), "float64": (6, "f8"), "int32": (7, "int"), "uint8": (7, "int"),
              "int8": (7, "int"), "int64": (10, "int"), "bool": (11, "int"), "float16": (13, "half"),
              "bfloat16": (13, "half")}


def _bf16_bits(a: np.ndarray) -> np.ndarray:
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return np.where(np.isnan(a), (bits >> 16) | 0x40, rounded).astype(np.uint16)


def serialize_tensor(tensor, name=None) -> Tensor:
    """The tensor as a serialized ``TensorProto`` (a scalar string tensor): its dtype, its
    shape and its values (``tensor_content``, little-endian; ``string_val`` for strings).

    >>> import rstf as tf
    >>> tf.io.serialize_tensor(tf.constant([1.0, 2.0])).numpy()
    b'\\x08\\x01\\x12\\x04\\x12\\x02\\x08\\x02"\\x08\\x00\\x00\\x80?\\x00\\x00\\x00@'
    """
    t = _ops.convert_to_tensor(tensor)
    if t.dtype.name not in _DT:
        raise InvalidArgumentError(f"SerializeTensor: dtype {t.dtype.name} cannot be serialized")
    a = t.numpy()
    shape = b"".join(w.length_delimited(2, (w.tag(1, w.VARINT) + w.varint(d)) if d else b"") for d in t.shape)
    out = w.tag(1, w.VARINT) + w.varint(_DT[t.dtype.name]) + w.length_delimited(2, shape)
    if t.dtype == string:
        out += b"".join(w.length_delimited(8, bytes(s)) for s in np.asarray(a, dtype=object).reshape(-1))
    else:
        a = np.asarray(a)
        content = (_bf16_bits(a).astype("<u2") if t.dtype.name == "bfloat16"
                   else a.astype(a.dtype.newbyteorder("<"))).tobytes()
        if content:
            out += w.length_delimited(4, content)
    return _ops.constant(np.array(out, dtype=object), string)


def _proto_fields(data: bytes, what: str):
    dtype, dims, content, vals = 0, [], None, {}
    for number, wire, value in w.fields(data, what):
        if number == 1 and wire == w.VARINT:
            dtype = w.signed32(value)
        elif number == 2 and wire == w.LEN:
            dims = []
            for n, wt, v in w.fields(value, what):
                if n == 2 and wt == w.LEN:
                    size = 0
                    for dn, dwt, dv in w.fields(v, what):
                        if dn == 1 and dwt == w.VARINT:
                            size = w.signed64(dv)
                    dims.append(size)
                elif n == 3 and wt == w.VARINT and v:
                    raise InvalidArgumentError(f"ParseTensor: {what}: the shape has an unknown rank")
        elif number == 4 and wire == w.LEN:
            content = value
        else:
            vals.setdefault(number, []).append((wire, value))
    return dtype, dims, content, vals


def _repeated(entries, kind: str, what: str) -> np.ndarray:
    """The values of a repeated numeric field, packed or not."""
    parts = []
    for wire, value in entries:
        if kind in ("f4", "f8"):
            size = 4 if kind == "f4" else 8
            parts.append(w.unpack_fixed(value, "<" + kind, what) if wire == w.LEN else
                         np.frombuffer(value.to_bytes(size, "little"), "<" + kind))
        else:
            raw = w.unpack_varints(value, what) if wire == w.LEN else np.array([value], np.uint64)
            parts.append(raw.view(np.int64))
    return np.concatenate(parts) if parts else np.zeros(0)


def parse_tensor(serialized, out_type, name=None) -> Tensor:
    """The tensor of a serialized ``TensorProto`` (what :func:`serialize_tensor` gives, or
    TensorFlow's), whose dtype must be ``out_type``. Values given as ``tensor_content`` or as
    the repeated ``*_val`` fields (fewer values than elements repeat the last) are both read."""
    out_type = as_dtype(out_type)
    t = serialized if isinstance(serialized, Tensor) else _ops.convert_to_tensor(serialized, string)
    if t.dtype != string or t.shape.rank != 0:
        raise InvalidArgumentError(f"ParseTensor: `serialized` must be a scalar string, got "
                                   f"{t.dtype.name} of shape {t.shape}")
    data = t.numpy()
    what = "TensorProto"
    try:
        dtype, dims, content, vals = _proto_fields(data, what)
    except w.DecodeError as e:
        raise InvalidArgumentError(f"ParseTensor: Could not parse `serialized` as TensorProto: {data[:64]!r} "
                                   f"({e})") from None
    want = _DT.get(out_type.name)
    if dtype != want:
        raise InvalidArgumentError(f"Type mismatch between parsed tensor ({_DT_NAME.get(dtype, dtype)}) and "
                                   f"dtype ({_tf_name(out_type)})")
    if any(d < 0 for d in dims):
        raise InvalidArgumentError(f"ParseTensor: the shape {dims} has an unknown or negative dimension")
    n = math.prod(dims)
    itemsize = out_type.size if out_type != string else 8
    if out_type == string:
        items = [v for wire, v in vals.get(8, []) if wire == w.LEN]
        a = np.empty(len(items), dtype=object)
        a[:] = items
    elif content is not None:
        np_dtype = (np.dtype("<u2") if out_type.name == "bfloat16"
                    else np.dtype(out_type.as_numpy_dtype).newbyteorder("<"))
        if len(content) != n * np_dtype.itemsize:
            raise InvalidArgumentError(f"ParseTensor: tensor_content holds {len(content)} bytes; shape "
                                       f"{dims} of {out_type.name} needs {n * np_dtype.itemsize}")
        a = np.frombuffer(content, np_dtype)
        if out_type.name == "bfloat16":
            a = (a.astype(np.uint32) << 16).view(np.float32)
        return _ops.constant(a.astype(_np_dtype(out_type)).reshape(dims), out_type)
    else:
        number, kind = _VAL_FIELD[out_type.name]
        a = _repeated(vals.get(number, []), kind, what)
        if kind == "half":
            bits = a.astype(np.uint16)
            a = (bits.view(np.float16) if out_type.name == "float16"
                 else (bits.astype(np.uint32) << 16).view(np.float32))
    if len(a) > n:
        raise InvalidArgumentError(f"ParseTensor: {len(a)} values for shape {dims} ({n} elements)")
    if len(a) < n:
        if n * itemsize > 1 << 30:
            raise ResourceExhaustedError(f"ParseTensor: shape {dims} of {out_type.name} is too large to fill "
                                         f"from {len(a)} values")
        fill = a[-1] if len(a) else (b"" if out_type == string else 0)
        a = np.concatenate([a, np.full(n - len(a), fill, dtype=a.dtype if len(a) else _np_dtype(out_type))])
    return _ops.constant(np.asarray(a).astype(_np_dtype(out_type)).reshape(dims), out_type)
