"""``tf.train.Example`` and its parts (``Features``, ``Feature``, ``BytesList``, ``FloatList``,
``Int64List``): TensorFlow's ``example.proto`` and ``feature.proto`` messages, encoded and decoded
by hand in protobuf's wire format (no ``protobuf`` package needed), so that the bytes are
exchanged freely with TensorFlow's.

The classes follow the protobuf Python API for these messages: keyword constructors,
``SerializeToString``, ``FromString``, ``ParseFromString``, ``CopyFrom``, ``HasField``,
``WhichOneof``, a ``feature`` map whose missing keys are created on access, repeated ``value``
fields that take ``append`` and ``extend``, and the text format as ``str``. Numbers are packed
when written; packed and unpacked numbers are both read. Decoding malformed bytes raises
``DataLossError`` (``rstf._protowire.DecodeError``).

>>> import rstf as tf
>>> ex = tf.train.Example(features=tf.train.Features(feature={
...     "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[7])),
...     "name": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"cat"]))}))
>>> data = ex.SerializeToString()
>>> tf.train.Example.FromString(data) == ex
True
>>> ex.features.feature["label"].int64_list.value
[7]
>>> print(tf.train.Feature(float_list=tf.train.FloatList(value=[0.5, 2.0])))
float_list {
  value: 0.5
  value: 2
}
<BLANKLINE>
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _protowire as w

__all__ = ["BytesList", "Example", "Feature", "Features", "FloatList", "Int64List"]


class _Repeated(list):
    """A repeated scalar field: a list that checks what is put in it and tells its message."""

    __slots__ = ("_check", "_owner")

    def __init__(self, check, owner, values=()):
        super().__init__(check(v) for v in values)
        self._check, self._owner = check, owner

    def _put(self, values):
        return [self._check(v) for v in values]

    def append(self, value):
        super().append(self._check(value))
        self._owner._touch()

    def extend(self, values):
        super().extend(self._put(values))
        self._owner._touch()

    def insert(self, index, value):
        super().insert(index, self._check(value))
        self._owner._touch()

    def __setitem__(self, index, value):
        super().__setitem__(index, self._put(value) if isinstance(index, slice) else self._check(value))
        self._owner._touch()

    def __iadd__(self, values):
        self.extend(values)
        return self

    def __reduce__(self):
        return (list, (list(self),))

    def __repr__(self):
        return repr(list(self))


def _bytes(v) -> bytes:
    if isinstance(v, (bytes, np.bytes_)):
        return bytes(v)
    if isinstance(v, str):
        return v.encode()
    raise TypeError(f"{v!r} has type {type(v).__name__}, but expected one of: bytes")


def _float(v) -> float:
    if isinstance(v, numbers.Real) or isinstance(v, np.floating):
        return w.float32(float(v))
    raise TypeError(f"{v!r} has type {type(v).__name__}, but expected one of: int, float")


def _int64(v) -> int:
    if isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_)):
        v = int(v)
        if -(1 << 63) <= v < (1 << 63):
            return v
        raise ValueError(f"Value out of range: {v}")
    raise TypeError(f"{v!r} has type {type(v).__name__}, but expected one of: int")


class _Message:
    """What the messages share: serialization, parsing, copying, equality and text."""

    _hook = None  # called when the message is first modified (sets it in its parent)

    def _touch(self):
        hook = self._hook
        if hook is not None:
            self._hook = None
            hook()

    def SerializeToString(self, deterministic=False) -> bytes:  # noqa: N802 - protobuf's names
        return self._encode(deterministic)

    def SerializePartialToString(self, deterministic=False) -> bytes:  # noqa: N802
        return self._encode(deterministic)

    @classmethod
    def FromString(cls, data):  # noqa: N802
        msg = cls()
        msg.MergeFromString(data)
        return msg

    def ParseFromString(self, data) -> int:  # noqa: N802
        self.Clear()
        return self.MergeFromString(data)

    def MergeFromString(self, data) -> int:  # noqa: N802
        if isinstance(data, str) or not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"{type(self).__name__}.ParseFromString: expected bytes, got "
                            f"{type(data).__name__}")
        self._decode(bytes(data))
        self._touch()
        return len(data)

    def CopyFrom(self, other):  # noqa: N802
        if not isinstance(other, type(self)):
            raise TypeError(f"Parameter to CopyFrom() must be instance of same class: expected "
                            f"{type(self).__name__} got {type(other).__name__}.")
        if other is not self:
            self.ParseFromString(other.SerializeToString())
        self._touch()

    def MergeFrom(self, other):  # noqa: N802
        if not isinstance(other, type(self)):
            raise TypeError(f"Parameter to MergeFrom() must be instance of same class: expected "
                            f"{type(self).__name__} got {type(other).__name__}.")
        self.MergeFromString(other.SerializeToString())

    def ByteSize(self) -> int:  # noqa: N802
        return len(self._encode(False))

    def IsInitialized(self) -> bool:  # noqa: N802
        return True

    def __eq__(self, other):
        if not isinstance(other, type(self)):
            return NotImplemented
        return self._encode(True) == other._encode(True)

    __hash__ = None

    def __str__(self):
        return "".join(line + "\n" for line in self._text())

    __repr__ = __str__

    def __reduce__(self):
        return (type(self).FromString, (self.SerializeToString(),))

    def _decode(self, data):
        for number, wire, value in w.fields(data, self._what()):
            self._field(number, wire, value)

    @classmethod
    def _what(cls) -> str:
        return f"message of type \"tensorflow.{cls.__name__}\""


def _coerce(cls, value):
    """A message given as a dict of its fields (as protobuf's constructors take it)."""
    return cls(**value) if isinstance(value, dict) else value


def _block(name: str, inner: list) -> list:
    return [f"{name} {{"] + ["  " + line for line in inner] + ["}"]


class _ValueList(_Message):
    """A message of one repeated field ``value`` (number 1)."""

    _check = None

    def __init__(self, value=None):
        self._value = _Repeated(type(self)._check, self, () if value is None else value)

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, _):
        raise AttributeError("Assignment not allowed to repeated field \"value\" in protocol message object.")

    def Clear(self):  # noqa: N802
        list.clear(self._value)

    def ClearField(self, name):  # noqa: N802
        if name != "value":
            raise ValueError(f"Protocol message has no \"{name}\" field.")
        self.Clear()

    def ListFields(self):  # noqa: N802
        return [("value", self._value)] if self._value else []


class BytesList(_ValueList):
    """A list of byte strings (``repeated bytes value = 1``)."""

    _check = staticmethod(_bytes)

    def _encode(self, deterministic):
        return b"".join(w.length_delimited(1, v) for v in self._value)

    def _field(self, number, wire, value):
        if number == 1 and wire == w.LEN:
            list.append(self._value, value)

    def _text(self):
        return [f'value: "{w.escape_bytes(v)}"' for v in self._value]


class FloatList(_ValueList):
    """A list of float32 numbers (``repeated float value = 1 [packed = true]``)."""

    _check = staticmethod(_float)

    def _encode(self, deterministic):
        return w.length_delimited(1, w.pack_floats(self._value)) if self._value else b""

    def _field(self, number, wire, value):
        if number == 1 and wire == w.LEN:
            list.extend(self._value, w.unpack_fixed(value, "<f4", self._what()).tolist())
        elif number == 1 and wire == w.I32:
            list.append(self._value, float(np.frombuffer(value.to_bytes(4, "little"), "<f4")[0]))

    def _text(self):
        return [f"value: {w.format_float(v)}" for v in self._value]


class Int64List(_ValueList):
    """A list of int64 numbers (``repeated int64 value = 1 [packed = true]``)."""

    _check = staticmethod(_int64)

    def _encode(self, deterministic):
        return w.length_delimited(1, w.pack_int64s(self._value)) if self._value else b""

    def _field(self, number, wire, value):
        if number == 1 and wire == w.LEN:
            list.extend(self._value, w.unpack_int64s(value, self._what()))
        elif number == 1 and wire == w.VARINT:
            list.append(self._value, w.signed64(value))

    def _text(self):
        return [f"value: {v}" for v in self._value]


_KINDS = {"bytes_list": (1, BytesList), "float_list": (2, FloatList), "int64_list": (3, Int64List)}
_KIND_OF_NUMBER = {number: (name, cls) for name, (number, cls) in _KINDS.items()}


class Feature(_Message):
    """One feature: exactly one of ``bytes_list``, ``float_list`` and ``int64_list`` (the
    ``kind`` oneof); reading an unset one gives an empty list that, once modified, is set."""

    def __init__(self, bytes_list=None, float_list=None, int64_list=None):
        self._kind, self._value = None, None
        given = {"bytes_list": bytes_list, "float_list": float_list, "int64_list": int64_list}
        for name, value in given.items():
            if value is not None:
                self._sub(name).CopyFrom(_coerce(_KINDS[name][1], value))

    def _sub(self, name):
        if self._kind == name:
            return self._value
        sub = _KINDS[name][1]()
        sub._hook = lambda: self._select(name, sub)
        return sub

    def _select(self, name, sub):
        if self._value is not None and self._value is not sub:
            self._value._hook = None
        self._kind, self._value = name, sub
        self._touch()

    bytes_list = property(lambda self: self._sub("bytes_list"), doc="The BytesList of the feature.")
    float_list = property(lambda self: self._sub("float_list"), doc="The FloatList of the feature.")
    int64_list = property(lambda self: self._sub("int64_list"), doc="The Int64List of the feature.")

    def WhichOneof(self, oneof_group):  # noqa: N802
        if oneof_group != "kind":
            raise ValueError(f'Protocol message has no oneof "{oneof_group}" field.')
        return self._kind

    def HasField(self, name):  # noqa: N802
        if name not in _KINDS and name != "kind":
            raise ValueError(f'Protocol message Feature has no "{name}" field.')
        return self._kind is not None and name in (self._kind, "kind")

    def ClearField(self, name):  # noqa: N802
        if self.HasField(name):
            self.Clear()

    def Clear(self):  # noqa: N802
        if self._value is not None:
            self._value._hook = None
        self._kind, self._value = None, None

    def ListFields(self):  # noqa: N802
        return [] if self._kind is None else [(self._kind, self._value)]

    def _encode(self, deterministic):
        if self._kind is None:
            return b""
        return w.length_delimited(_KINDS[self._kind][0], self._value._encode(deterministic))

    def _field(self, number, wire, value):
        if number in _KIND_OF_NUMBER and wire == w.LEN:
            name, cls = _KIND_OF_NUMBER[number]
            sub = self._value if self._kind == name else cls()
            sub._decode(value)
            self._select(name, sub)

    def _text(self):
        return [] if self._kind is None else _block(self._kind, self._value._text())


class _FeatureMap(dict):
    """``map<string, Feature>``: a missing key read with ``[]`` is inserted as an empty Feature."""

    def __init__(self, owner):
        super().__init__()
        self._owner = owner

    def __missing__(self, key):
        feature = Feature()
        super().__setitem__(_key(key), feature)
        self._owner._touch()
        return feature

    def __getitem__(self, key):
        return super().__getitem__(_key(key))

    def __setitem__(self, key, feature):
        feature = _coerce(Feature, feature)
        if not isinstance(feature, Feature):
            raise TypeError(f"Features.feature values must be tf.train.Feature, got {type(feature).__name__}")
        copy = Feature()
        copy.CopyFrom(feature)
        super().__setitem__(_key(key), copy)
        self._owner._touch()

    def __delitem__(self, key):
        super().__delitem__(_key(key))

    def get_or_create(self, key):
        return self[key]

    def update(self, other=(), **kw):
        for k, v in dict(other, **kw).items():
            self[k] = v

    def __reduce__(self):
        return (dict, (dict(self),))


def _key(key) -> str:
    if isinstance(key, bytes):
        key = key.decode()
    if not isinstance(key, str):
        raise TypeError(f"Features.feature keys must be strings, got {type(key).__name__}")
    return key


class Features(_Message):
    """A map from feature names to :class:`Feature` (``map<string, Feature> feature = 1``)."""

    def __init__(self, feature=None):
        self._map = _FeatureMap(self)
        if feature is not None:
            for key, value in dict(feature).items():
                self._map[key] = value

    @property
    def feature(self):
        return self._map

    @feature.setter
    def feature(self, _):
        raise AttributeError("Assignment not allowed to map field \"feature\" in protocol message object.")

    def Clear(self):  # noqa: N802
        dict.clear(self._map)

    def ClearField(self, name):  # noqa: N802
        if name != "feature":
            raise ValueError(f"Protocol message has no \"{name}\" field.")
        self.Clear()

    def ListFields(self):  # noqa: N802
        return [("feature", self._map)] if self._map else []

    def _encode(self, deterministic):
        keys = sorted(self._map) if deterministic else list(self._map)
        return b"".join(
            w.length_delimited(1, w.length_delimited(1, k.encode()) +
                               w.length_delimited(2, dict.__getitem__(self._map, k)._encode(deterministic)))
            for k in keys)

    def _field(self, number, wire, value):
        if number != 1 or wire != w.LEN:
            return
        key, feature = "", Feature()
        for n, wt, v in w.fields(value, "map entry of Features.feature"):
            if n == 1 and wt == w.LEN:
                try:
                    key = v.decode()
                except UnicodeDecodeError:
                    raise w.DecodeError("Error parsing Features: a feature name is not valid UTF-8") from None
            elif n == 2 and wt == w.LEN:
                feature._decode(v)
        dict.__setitem__(self._map, key, feature)

    def _text(self):
        lines = []
        for key in self._map:
            entry = [f'key: "{w.escape_bytes(key.encode())}"'] + _block("value", self._map[key]._text())
            lines += _block("feature", entry)
        return lines


class Example(_Message):
    """One example: ``Features features = 1``."""

    def __init__(self, features=None):
        self._features, self._has = None, False
        if features is not None:
            self.features.CopyFrom(_coerce(Features, features))

    @property
    def features(self) -> Features:
        if self._features is None:
            self._features = Features()
            self._features._hook = self._set
        return self._features

    def _set(self):
        self._has = True
        self._touch()

    def HasField(self, name):  # noqa: N802
        if name != "features":
            raise ValueError(f'Protocol message Example has no "{name}" field.')
        return self._has

    def ClearField(self, name):  # noqa: N802
        if name != "features":
            raise ValueError(f'Protocol message Example has no "{name}" field.')
        self.Clear()

    def Clear(self):  # noqa: N802
        if self._features is not None:
            self._features._hook = None
        self._features, self._has = None, False

    def ListFields(self):  # noqa: N802
        return [("features", self._features)] if self._has else []

    def _encode(self, deterministic):
        return w.length_delimited(1, self._features._encode(deterministic)) if self._has else b""

    def _field(self, number, wire, value):
        if number == 1 and wire == w.LEN:
            self.features._decode(value)
            self._set()

    def _text(self):
        return _block("features", self._features._text()) if self._has else []
