"""Element types: ``rstf.float32`` and friends, printed as TensorFlow prints them.

>>> import rstf
>>> print(rstf.float32)
<dtype: 'float32'>
>>> rstf.as_dtype("int64") is rstf.int64
True
"""

from __future__ import annotations

import builtins

import numpy as np

__all__ = [
    "DType",
    "as_dtype",
    "float16",
    "half",
    "bfloat16",
    "float32",
    "float64",
    "double",
    "int8",
    "int32",
    "int64",
    "uint8",
    "bool",
    "string",
]


class DType:
    """The type of the elements of a tensor."""

    __slots__ = ("_name", "_np")

    def __init__(self, name: str, np_type):
        self._name = name
        self._np = np_type

    @property
    def name(self) -> str:
        """TensorFlow's name of the dtype, e.g. ``'float32'``."""
        return self._name

    @property
    def as_numpy_dtype(self):
        """The numpy scalar type (float32 for bfloat16, which numpy lacks)."""
        return self._np

    @property
    def is_floating(self) -> bool:
        return self._name in ("float16", "bfloat16", "float32", "float64")

    @property
    def is_integer(self) -> bool:
        return self._name in ("int8", "int32", "int64", "uint8")

    @property
    def is_bool(self) -> bool:
        return self._name == "bool"

    @property
    def is_unsigned(self) -> bool:
        return self._name in ("uint8", "bool")

    @property
    def size(self) -> int:
        """Bytes per element."""
        return {"float16": 2, "bfloat16": 2, "float64": 8, "int64": 8, "int8": 1,
                "uint8": 1, "bool": 1, "string": 8}.get(self._name, 4)

    @property
    def base_dtype(self) -> DType:
        return self

    @property
    def min(self):
        if self.is_floating:
            return float(np.finfo(self._np).min)
        return int(np.iinfo(self._np).min) if self.is_integer else False

    @property
    def max(self):
        if self.is_floating:
            return float(np.finfo(self._np).max)
        return int(np.iinfo(self._np).max) if self.is_integer else True

    def __repr__(self) -> str:
        return f"rstf.{self._name}"

    def __str__(self) -> str:
        return f"<dtype: '{self._name}'>"

    def __eq__(self, other) -> bool:
        if other is None:
            return False
        try:
            return self is as_dtype(other)
        except TypeError:
            return False

    def __ne__(self, other) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self._name)

    def __reduce__(self):
        return (as_dtype, (self._name,))


float16 = DType("float16", np.float16)
half = float16
bfloat16 = DType("bfloat16", np.float32)
float32 = DType("float32", np.float32)
float64 = DType("float64", np.float64)
double = float64
int8 = DType("int8", np.int8)
int32 = DType("int32", np.int32)
int64 = DType("int64", np.int64)
uint8 = DType("uint8", np.uint8)
bool = DType("bool", np.bool_)  # noqa: A001 - TensorFlow's name
#: Byte strings (text as UTF-8); numpy holds them as ``bytes`` objects.
string = DType("string", np.object_)

# In the order of the Rust enum `DType`.
ALL = (float16, bfloat16, float32, float64, int8, int32, int64, uint8, bool, string)
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update({"half": float16, "float": float32, "double": float64})


def as_dtype(value) -> DType:
    """Converts a DType, a name, a numpy dtype or a Python type to a DType."""
    if isinstance(value, DType):
        return value
    if value is None:
        # numpy reads None as float64; TensorFlow refuses it.
        raise TypeError("Cannot convert value None to a rstf DType.")
    if isinstance(value, str):
        d = _BY_NAME.get(value)
        if d is None:
            raise TypeError(f"Cannot convert value {value!r} to a rstf DType.")
        return d
    if value is float:
        return float32
    if value is int:
        return int32
    if value is builtins.bool:
        return bool
    if value in (str, builtins.bytes, np.str_, np.bytes_, np.object_):
        return string
    try:
        if np.dtype(value).kind in "SUO":
            return string
    except TypeError:
        pass
    try:
        name = np.dtype(value).name
    except TypeError:
        raise TypeError(f"Cannot convert value {value!r} to a rstf DType.") from None
    d = _BY_NAME.get(name)
    if d is None:
        raise TypeError(f"Cannot convert value {value!r} to a rstf DType (unsupported type {name}).")
    return d


def _name(dtype) -> str | None:
    """The dtype's name for the extension module, or None."""
    return None if dtype is None else as_dtype(dtype).name
