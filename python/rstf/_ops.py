"""TensorFlow's op functions over the extension module: argument normalisation only; every
computation is one call into Rust."""

from __future__ import annotations

import builtins
import numbers

import numpy as np

from . import _rstf
from ._rstf import Tensor
from .dtypes import _name, as_dtype
from .dtypes import float32 as _float32
from .dtypes import int32 as _int32
from .dtypes import int64 as _int64

newaxis = None


# ----------------------------------------------------------------------------- conversion

def constant(value, dtype=None, shape=None, name=None) -> Tensor:
    """Creates a tensor from a Python value, a numpy array or a tensor.

    >>> import rstf as tf
    >>> tf.constant([[1, 2], [3, 4]]).dtype
    rstf.int32
    >>> tf.constant(0.5, shape=[2]).numpy()
    array([0.5, 0.5], dtype=float32)
    """
    return _rstf.constant(value, _name(dtype), _shape_list(shape) if shape is not None else None)


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None) -> Tensor:
    """Converts a value to a tensor; ``dtype`` must match the value's when it is a tensor."""
    if dtype is None and dtype_hint is not None and not isinstance(value, (Tensor, np.ndarray)):
        try:
            return _rstf.convert_to_tensor(value, _name(dtype_hint))
        except (TypeError, ValueError):
            pass
    return _rstf.convert_to_tensor(value, _name(dtype))


def _shape_list(shape) -> list:
    if isinstance(shape, Tensor):
        return [int(d) for d in shape.numpy().reshape(-1)]
    if isinstance(shape, numbers.Integral):
        return [int(shape)]
    return [int(d) for d in shape]


def _axes(axis):
    if axis is None:
        return None
    if isinstance(axis, Tensor):
        return [int(a) for a in axis.numpy().reshape(-1)]
    if isinstance(axis, (list, tuple, np.ndarray)):
        return [int(a) for a in axis]
    return [int(axis)]


def _axis(axis) -> int:
    a = _axes(axis)
    if a is None or len(a) != 1:
        raise TypeError(f"axis must be a single integer, got {axis!r}")
    return a[0]


# ----------------------------------------------------------------------------- elementwise

def _unary(op):
    def f(x, name=None):
        return _rstf.unary(x, op)

    f.__name__ = op
    f.__doc__ = f"Elementwise ``{op}``."
    return f


negative = _unary("neg")
abs = _unary("abs")  # noqa: A001
sign = _unary("sign")
square = _unary("square")
exp = _unary("exp")
expm1 = _unary("expm1")
log = _unary("log")
log1p = _unary("log1p")
sqrt = _unary("sqrt")
rsqrt = _unary("rsqrt")
reciprocal = _unary("reciprocal")
sin = _unary("sin")
cos = _unary("cos")
tan = _unary("tan")
tanh = _unary("tanh")
sigmoid = _unary("sigmoid")
erf = _unary("erf")
round = _unary("round")  # noqa: A001
floor = _unary("floor")
ceil = _unary("ceil")
relu = _unary("relu")
logical_not = _unary("logical_not")


def _binary(op):
    def f(x, y, name=None):
        return _rstf.binary(x, y, op)

    f.__name__ = op
    f.__doc__ = f"Elementwise ``{op}`` with broadcasting."
    return f


add = _binary("add")
subtract = _binary("sub")
multiply = _binary("mul")
floordiv = _binary("floordiv")
floormod = _binary("floormod")
mod = floormod
pow = _binary("pow")  # noqa: A001
maximum = _binary("maximum")
minimum = _binary("minimum")
equal = _binary("equal")
not_equal = _binary("not_equal")
less = _binary("less")
less_equal = _binary("less_equal")
greater = _binary("greater")
greater_equal = _binary("greater_equal")
logical_and = _binary("logical_and")
logical_or = _binary("logical_or")


def logical_xor(x, y, name=None) -> Tensor:
    """Elementwise exclusive or of two bool tensors."""
    return _rstf.binary(x, y, "not_equal")


def divide(x, y, name=None) -> Tensor:
    """``x / y``; integer inputs are divided as floats (int32/int64 give float64)."""
    return _rstf.truediv(x, y)


truediv = divide


def realdiv(x, y, name=None) -> Tensor:
    return _rstf.binary(x, y, "div")


def squared_difference(x, y, name=None) -> Tensor:
    d = _rstf.binary(x, y, "sub")
    return d * d


def where(condition, x=None, y=None, name=None) -> Tensor:
    """Picks from ``x`` where ``condition`` is true and from ``y`` elsewhere."""
    if x is None and y is None:
        c = np.asarray(convert_to_tensor(condition))
        return constant(np.argwhere(c).astype(np.int64))
    if x is None or y is None:
        raise ValueError("where: x and y must both be given, or neither")
    return _rstf.select(condition, x, y)


def clip_by_value(t, clip_value_min, clip_value_max, name=None) -> Tensor:
    """Clips values to ``[clip_value_min, clip_value_max]``."""
    t = convert_to_tensor(t)
    return _rstf.binary(_rstf.binary(t, clip_value_min, "maximum"), clip_value_max, "minimum")


def cast(x, dtype, name=None) -> Tensor:
    """Converts the elements to ``dtype``."""
    return _rstf.cast(x, as_dtype(dtype).name)


# ----------------------------------------------------------------------------- reductions

def _reduction(op):
    def f(input_tensor, axis=None, keepdims=False, name=None):
        return _rstf.reduce(input_tensor, op, _axes(axis), builtins.bool(keepdims))

    f.__name__ = f"reduce_{op}"
    f.__doc__ = f"Reduces with ``{op}`` over ``axis`` (all axes when None)."
    return f


reduce_sum = _reduction("sum")
reduce_prod = _reduction("prod")
reduce_max = _reduction("max")
reduce_min = _reduction("min")
reduce_any = _reduction("any")
reduce_all = _reduction("all")


def reduce_mean(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    """Mean over ``axis`` (all axes when None); integer means truncate."""
    return _rstf.mean(input_tensor, _axes(axis), builtins.bool(keepdims))


def argmax(input, axis=None, output_type=_int64, name=None) -> Tensor:  # noqa: A002
    """Index of the largest value along ``axis`` (default 0)."""
    r = _rstf.arg_reduce(input, 0 if axis is None else _axis(axis), True)
    return r if as_dtype(output_type) is _int64 else cast(r, output_type)


def argmin(input, axis=None, output_type=_int64, name=None) -> Tensor:  # noqa: A002
    """Index of the smallest value along ``axis`` (default 0)."""
    r = _rstf.arg_reduce(input, 0 if axis is None else _axis(axis), False)
    return r if as_dtype(output_type) is _int64 else cast(r, output_type)


# ----------------------------------------------------------------------------- linear algebra

def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, output_type=None, name=None) -> Tensor:
    """Matrix product of the last two dimensions, batch dimensions broadcast."""
    r = _rstf.matmul(a, b, builtins.bool(transpose_a or adjoint_a),
                     builtins.bool(transpose_b or adjoint_b))
    return r if output_type is None else cast(r, output_type)


# ----------------------------------------------------------------------------- shapes

def transpose(a, perm=None, conjugate=False, name=None) -> Tensor:
    """Permutes the dimensions (reverses them when ``perm`` is None); a view."""
    a = convert_to_tensor(a)
    p = list(range(a.ndim))[::-1] if perm is None else _shape_list(perm)
    return _rstf.transpose(a, p)


def reshape(tensor, shape, name=None) -> Tensor:
    """Gives the elements a new shape; one dimension may be -1."""
    return _rstf.reshape(tensor, _shape_list(shape))


def expand_dims(input, axis, name=None) -> Tensor:  # noqa: A002
    return _rstf.expand_dims(input, _axis(axis))


def squeeze(input, axis=None, name=None) -> Tensor:  # noqa: A002
    return _rstf.squeeze(input, _axes(axis) or [])


def broadcast_to(input, shape, name=None) -> Tensor:  # noqa: A002
    return _rstf.broadcast_to(input, _shape_list(shape))


def reverse(tensor, axis, name=None) -> Tensor:
    return _rstf.reverse(tensor, _axes(axis))


def concat(values, axis, name=None) -> Tensor:
    """Joins tensors along an existing axis."""
    return _rstf.concat(list(values), _axis(axis))


def stack(values, axis=0, name=None) -> Tensor:
    """Joins tensors of one shape along a new axis."""
    return _rstf.stack(list(values), _axis(axis))


def unstack(value, num=None, axis=0, name=None) -> list:
    r = _rstf.unstack(value, _axis(axis))
    if num is not None and num != len(r):
        from .errors import InvalidArgumentError

        raise InvalidArgumentError(f"Unpack: num={num} does not match the dimension size {len(r)}")
    return r


def split(value, num_or_size_splits, axis=0, num=None, name=None) -> list:
    """Splits into equal pieces (an int) or pieces of the given sizes (a list)."""
    value = convert_to_tensor(value)
    ax = _axis(axis)
    if isinstance(num_or_size_splits, numbers.Integral) or (
        isinstance(num_or_size_splits, Tensor) and num_or_size_splits.ndim == 0
    ):
        k = int(num_or_size_splits)
        n = value.shape[ax] if -value.ndim <= ax < value.ndim else 0
        if k <= 0 or n % k != 0:
            from .errors import InvalidArgumentError

            raise InvalidArgumentError(
                f"Split: number of ways to split should evenly divide the split dimension, "
                f"but got split_dim {ax} (size = {n}) and num_split {k}")
        sizes = [n // k] * k
    else:
        sizes = _shape_list(num_or_size_splits)
    return _rstf.split(value, sizes, ax)


def tile(input, multiples, name=None) -> Tensor:  # noqa: A002
    return _rstf.tile(input, _shape_list(multiples))


def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None) -> Tensor:
    """Pads with a constant (mode ``'CONSTANT'``; REFLECT and SYMMETRIC are not supported)."""
    if str(mode).upper() != "CONSTANT":
        from .errors import UnimplementedError

        raise UnimplementedError(f"Pad: mode {mode!r} is not supported yet; only 'CONSTANT'")
    p = np.asarray(paddings.numpy() if isinstance(paddings, Tensor) else paddings, dtype=np.int64)
    if p.ndim != 2 or p.shape[1] != 2:
        from .errors import InvalidArgumentError

        raise InvalidArgumentError(f"Pad: paddings must be a matrix with 2 columns, got shape {p.shape}")
    return _rstf.pad(tensor, [(int(a), int(b)) for a, b in p], constant_values)


def gather(params, indices, validate_indices=None, axis=None, batch_dims=0, name=None) -> Tensor:
    """Gathers slices along ``axis`` (default 0) at ``indices``."""
    if batch_dims:
        from .errors import UnimplementedError

        raise UnimplementedError("GatherV2: batch_dims other than 0 is not supported yet")
    return _rstf.gather(params, indices, 0 if axis is None else _axis(axis))


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None) -> Tensor:
    """One-hot encoding along a new axis (last by default)."""
    dt = as_dtype(dtype) if dtype is not None else None
    if dt is None:
        given = [v for v in (on_value, off_value) if v is not None]
        dt = convert_to_tensor(given[0]).dtype if given else _float32
    on = constant(1 if on_value is None else on_value, dtype=dt)
    off = constant(0 if off_value is None else off_value, dtype=dt)
    r = _rstf.one_hot(indices, int(depth), on, off)
    if axis is not None and axis != -1:
        nd = r.ndim
        ax = axis if axis >= 0 else axis + nd
        perm = list(range(nd - 1))
        perm.insert(ax, nd - 1)
        r = _rstf.transpose(r, perm)
    return r


def shape(input, out_type=_int32, name=None) -> Tensor:  # noqa: A002
    return constant(list(convert_to_tensor(input).shape), dtype=out_type)


def size(input, out_type=_int32, name=None) -> Tensor:  # noqa: A002
    t = convert_to_tensor(input)
    return constant(int(np.prod(t.shape, dtype=np.int64)), dtype=out_type)


def rank(input, name=None) -> Tensor:  # noqa: A002
    return constant(convert_to_tensor(input).ndim, dtype=_int32)


# ----------------------------------------------------------------------------- creation

def zeros(shape, dtype=_float32, name=None) -> Tensor:
    """A tensor of ``shape`` filled with zeros (False for bool)."""
    return _rstf.fill(_shape_list(shape), _rstf.cast(0, as_dtype(dtype).name))


def ones(shape, dtype=_float32, name=None) -> Tensor:
    """A tensor of ``shape`` filled with ones (True for bool)."""
    return _rstf.fill(_shape_list(shape), _rstf.cast(1, as_dtype(dtype).name))


def fill(dims, value, name=None) -> Tensor:
    return _rstf.fill(_shape_list(dims), value)


def zeros_like(input, dtype=None, name=None) -> Tensor:  # noqa: A002
    t = convert_to_tensor(input)
    return zeros(list(t.shape), dtype or t.dtype)


def ones_like(input, dtype=None, name=None) -> Tensor:  # noqa: A002
    t = convert_to_tensor(input)
    return ones(list(t.shape), dtype or t.dtype)


def eye(num_rows, num_columns=None, batch_shape=None, dtype=_float32, name=None) -> Tensor:
    cols = num_rows if num_columns is None else num_columns
    return _rstf.eye(int(num_rows), int(cols), _shape_list(batch_shape or []), as_dtype(dtype).name)


def range(start, limit=None, delta=1, dtype=None, name="range") -> Tensor:  # noqa: A001
    """``start, start + delta, ...`` up to ``limit`` (exclusive), like Python's range."""
    if limit is None:
        start, limit = 0, start
    vals = [float(v) if isinstance(v, Tensor) and v.dtype.is_floating else v for v in (start, limit, delta)]
    if dtype is None:
        is_float = any(isinstance(v, float) or (isinstance(v, Tensor) and v.dtype.is_floating)
                       for v in (start, limit, delta))
        dtype = _float32 if is_float else _int32
    return _rstf.range(float(vals[0]), float(vals[1]), float(vals[2]), as_dtype(dtype).name)


def linspace(start, stop, num, name=None, axis=0) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop``; integer bounds give float64."""
    dt = "float32"
    for v in (start, stop):
        if isinstance(v, Tensor):
            dt = v.dtype.name if v.dtype.is_floating else "float64"
            break
        if isinstance(v, np.floating):
            dt = np.dtype(type(v)).name
            break
        if isinstance(v, numbers.Integral):
            dt = "float64"
    return _rstf.linspace(float(start), float(stop), int(num), dt)


def identity(input, name=None) -> Tensor:  # noqa: A002
    """The same values as a new tensor; gradients pass through."""
    return _rstf.identity(convert_to_tensor(input))


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


__all__ = [n for n in dir() if not n.startswith("_") and n not in (
    "annotations", "builtins", "numbers", "np", "DType")]
