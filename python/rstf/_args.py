"""Integer arguments (shapes, axes, multiples, counts) converted as TensorFlow converts them,
with TensorFlow's exception classes for malformed values.

TensorFlow passes these arguments to its ops as int32/int64 tensors, so a float or a string is
refused even where its value would do (``tf.reshape(x, [2.0, 3.0])``). Two conversions exist:

* an op input whose dtype is an attribute (Reshape's ``Tshape``, Tile's ``Tmultiples``): a list
  holding a float or a string is an ``InvalidArgumentError`` (the dtype is not in the list of
  allowed values); a lone Python float is a ``TypeError`` (it is converted to the default int32);
* a value converted to int32 before the op (``tf.ones``' shape, ``tf.concat``'s axis): any float
  or string is a ``TypeError``.

``None`` is a ``ValueError`` in both, as TensorFlow's tensor conversion makes it. numpy arrays
are converted as numpy converts them (TensorFlow accepts ``np.array([2.0, 3.0])`` as a shape).
"""

from __future__ import annotations

import numbers

import numpy as np

from ._rstf import Tensor

_TF_DTYPE_NAME = {"float32": "float", "float64": "double", "float16": "half"}
NONE_MESSAGE = "Attempt to convert a value (None) with an unsupported type (<class 'NoneType'>) to a Tensor."


def tf_name(dtype) -> str:
    """The dtype's name as TensorFlow's op registry spells it (float32 is ``float``)."""
    name = getattr(dtype, "name", str(dtype))
    return _TF_DTYPE_NAME.get(name, name)


def attr_error(op: str, attr: str, dtype_name: str, allowed: str = "int32, int64"):
    from .errors import InvalidArgumentError

    name = _TF_DTYPE_NAME.get(dtype_name, dtype_name)
    return InvalidArgumentError(f"{op}: value for attr '{attr}' of {name} is not in the list of "
                                f"allowed values: {allowed}")


def _tensor_like(x) -> bool:
    """A tensor or a variable (anything with a DType and a value)."""
    from .dtypes import DType

    return isinstance(x, Tensor) or (isinstance(getattr(x, "dtype", None), DType) and hasattr(x, "numpy"))


def int_input(value, op: str, attr: str, *, int32: bool = False, strict: bool = False):
    """``(flat list of ints, shape)`` of an integer argument; see the module's docstring.

    ``int32``: the value is converted to int32 before the op (any float or string is a TypeError).
    ``strict``: a lone Python float is refused like a list of floats (InvalidArgumentError), as
    the random ops and ``tf.gather``'s axis do."""
    if value is None:
        raise ValueError(NONE_MESSAGE)
    if _tensor_like(value):
        if not value.dtype.is_integer:
            raise attr_error(op, attr, value.dtype.name)
        a = np.asarray(value.numpy())
        return [int(v) for v in a.reshape(-1)], a.shape
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype != object:
        a = np.asarray(value)
        return [int(v) for v in a.reshape(-1)], a.shape
    if isinstance(value, (str, bytes)) or (isinstance(value, float) and (int32 or not strict)):
        if int32 or isinstance(value, float):
            raise TypeError(f"{op}: cannot convert {value!r} to a tensor of dtype int32")
        raise attr_error(op, attr, "string")
    if isinstance(value, numbers.Integral):
        return [int(value)], ()
    flat: list = []
    kinds: set = set()
    shape = _walk(value, flat, kinds, op)
    if "none" in kinds:
        raise ValueError(NONE_MESSAGE)
    bad = "string" if "string" in kinds else "float" if "float" in kinds else None
    if bad is not None:
        if int32:
            raise TypeError(f"{op}: cannot convert {value!r} to a tensor of dtype int32")
        raise attr_error(op, attr, bad)
    if "bool" in kinds and "int" in kinds and not int32:
        raise ValueError("Can't convert Python sequence with mixed types to Tensor.")
    return [int(v) for v in flat], shape


def is_int(v) -> bool:
    """A Python or numpy integer (not a bool)."""
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _walk(value, flat: list, kinds: set, op: str) -> tuple:
    """Appends the leaves of a nested sequence to ``flat``; returns its shape."""
    if isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.dtype == object):
        shapes = {_walk(v, flat, kinds, op) for v in value}
        if len(shapes) > 1:
            raise ValueError("Can't convert non-rectangular Python sequence to Tensor.")
        return (len(value),) + (shapes.pop() if shapes else ())
    if value is None:
        kinds.add("none")
    elif isinstance(value, (str, bytes)):
        kinds.add("string")
    elif isinstance(value, (bool, np.bool_)):
        kinds.add("bool")
    elif isinstance(value, numbers.Integral):
        kinds.add("int")
    elif isinstance(value, (float, np.floating)):
        kinds.add("float")
    elif _tensor_like(value) and value.dtype.is_integer and len(value.shape) == 0:
        kinds.add("int")
    elif _tensor_like(value) and len(value.shape) == 0:
        kinds.add("string" if value.dtype.is_bool else "float")
    else:
        raise TypeError(f"{op}: cannot convert {value!r} to an integer")
    flat.append(value)
    return ()


def shape_list(shape, op: str = "Shape", attr: str = "Tshape", *, int32: bool = False,
               strict: bool = False) -> list:
    """A shape (or multiples, sizes, a permutation): a vector of ints; a single int is one dim."""
    vals, dims = int_input(shape, op, attr, int32=int32, strict=strict)
    rank = len(dims)
    if rank > 1:
        from .errors import InvalidArgumentError

        raise InvalidArgumentError(f"{op}: the shape argument must be a vector, got a tensor of rank {rank}")
    return vals


def axes(axis, op: str, attr: str = "Tidx"):
    """Reduction axes (None for all): an int or a list of ints, of any nesting."""
    if axis is None:
        return None
    return int_input(axis, op, attr)[0]


def py_axis(axis, op: str) -> int:
    """An axis that TensorFlow handles in Python (tf.stack's, tf.nn.softmax's): strings and
    None are refused, floats are truncated as Python's ``int`` does."""
    if isinstance(axis, (str, bytes)) or axis is None:
        raise TypeError(f"{op}: axis must be an integer, got {axis!r}")
    if isinstance(axis, (list, tuple)) or (_tensor_like(axis) and len(axis.shape) != 0):
        raise TypeError(f"{op}: axis must be a single integer, got {axis!r}")
    return int(axis)


def single_int(value, op: str, attr: str, *, int32: bool = False, strict: bool = False,
               what: str = "axis") -> int:
    """A single integer given as an op input (tf.expand_dims' axis, tf.gather's axis)."""
    vals, _ = int_input(value, op, attr, int32=int32, strict=strict)
    if len(vals) != 1:
        from .errors import InvalidArgumentError

        raise InvalidArgumentError(f"{op}: '{what}' must be a tensor with a single value, got {value!r}")
    return vals[0]


def count(value, op: str, what: str, float_tensor=TypeError) -> int:
    """A count (tf.linspace's num, tf.one_hot's depth): a Python or numpy integer or an integer
    tensor; a float is a TypeError (a float tensor raises ``float_tensor``), None a ValueError."""
    if value is None:
        raise ValueError(NONE_MESSAGE)
    if _tensor_like(value):
        if not value.dtype.is_integer:
            raise float_tensor(f"{op}: argument `{what}` must be of type integer, got a tensor of dtype "
                               f"{value.dtype.name}")
        return int(value)
    if is_int(value):
        return int(value)
    raise TypeError(f"{op}: argument `{what}` must be of type integer, got {value!r}")
