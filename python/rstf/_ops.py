"""TensorFlow's op functions over the extension module: argument normalisation only; every
computation is one call into Rust."""

from __future__ import annotations

import builtins
import json
import numbers

import numpy as np

from . import _args, _dispatch, _rstf
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
    dims = _shape_list(shape, "Const", "shape", int32=True) if shape is not None else None
    return _rstf.constant(value, _name(dtype), dims)


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None) -> Tensor:
    """Converts a value to a tensor; ``dtype`` must match the value's when it is a tensor."""
    if dtype is None and dtype_hint is not None and not isinstance(value, (Tensor, np.ndarray)):
        try:
            return _rstf.convert_to_tensor(value, _name(dtype_hint))
        except (TypeError, ValueError):
            pass
    return _rstf.convert_to_tensor(value, _name(dtype))


def _shape_list(shape, op="Shape", attr="Tshape", **kw) -> list:
    return _args.shape_list(shape, op, attr, **kw)


def _axes(axis, op="Reduce"):
    return _args.axes(axis, op)


def _invalid(message):
    from .errors import InvalidArgumentError

    return InvalidArgumentError(message)


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


asin = _unary("asin")
acos = _unary("acos")
atan = _unary("atan")
sinh = _unary("sinh")
cosh = _unary("cosh")
acosh = _unary("acosh")
atanh = _unary("atanh")


def asinh(x, name=None):
    """Elementwise inverse hyperbolic sine, ``ln(x + sqrt(x² + 1))``, accurate near zero and
    for large ``|x|``.

    >>> import rstf as tf
    >>> tf.math.asinh(tf.constant([-2.0, 0.0, 3.0])).numpy().round(4)
    array([-1.4436,  0.    ,  1.8184], dtype=float32)
    """
    return _rstf.unary(x, "asinh")


def _float_unary(op, tf_op):
    """An op that TensorFlow defines for floating-point inputs only (Floor, Ceil)."""
    def f(x, name=None):
        if not _args._tensor_like(x):
            x = convert_to_tensor(x)
        if x.dtype.is_integer:
            raise _args.attr_error(tf_op, "T", x.dtype.name, "bfloat16, half, float, double")
        return _rstf.unary(x, op)

    f.__name__ = op
    f.__doc__ = f"Elementwise ``{op}`` of a floating-point tensor."
    return f


floor = _float_unary("floor", "Floor")
ceil = _float_unary("ceil", "Ceil")
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
    """``x / y``; integer inputs are divided as floats (int32/int64 give float64).

    As in TensorFlow, a value that is not a tensor takes the other argument's dtype, and two
    tensors of different dtypes are a TypeError."""
    if not _args._tensor_like(x):
        x = convert_to_tensor(x, dtype=y.dtype if _args._tensor_like(y) else None)
    if not _args._tensor_like(y):
        try:
            y = convert_to_tensor(y, dtype=x.dtype)
        except (TypeError, ValueError):
            y = convert_to_tensor(y)
    if x.dtype != y.dtype:
        raise TypeError(f"`x` and `y` must have the same dtype, got {x.dtype!r} != {y.dtype!r}.")
    if x.dtype.is_bool:
        raise TypeError("Invalid dtype bool in truediv: expected an integer or floating-point dtype.")
    return _rstf.truediv(x, y)


truediv = divide


def realdiv(x, y, name=None) -> Tensor:
    return _rstf.binary(x, y, "div")


def squared_difference(x, y, name=None) -> Tensor:
    d = _rstf.binary(x, y, "sub")
    return d * d


def where(condition, x=None, y=None, name=None) -> Tensor:
    """Picks from ``x`` where ``condition`` is true and from ``y`` elsewhere."""
    if x is None and y is None:  # the coordinates of the true elements, int64 [count, rank]
        from ._indexing import _where_indices

        return _where_indices(condition)
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
    tf_op = op.capitalize()

    def f(input_tensor, axis=None, keepdims=False, name=None):
        return _rstf.reduce(input_tensor, op, _axes(axis, tf_op), builtins.bool(keepdims))

    f.__name__ = f"reduce_{op}"
    f.__doc__ = f"Reduces with ``{op}`` over ``axis`` (all axes when None)."
    return f


reduce_sum = _reduction("sum")
reduce_prod = _reduction("prod")
reduce_max = _reduction("max")
reduce_min = _reduction("min")
reduce_any = _reduction("any")
reduce_all = _reduction("all")


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    """``log(sum(exp(x)))`` over ``axis``, computed as TensorFlow does without overflow: the
    maximum is taken out first (and held constant for the gradient, which is then softmax).

    >>> import rstf as tf
    >>> float(tf.reduce_logsumexp(tf.constant([1000.0, 1000.0])))
    1000.6931762695312
    """
    x = convert_to_tensor(input_tensor)
    m = reduce_max(x, axis=axis, keepdims=True)
    finite = equal(m - m, zeros_like(m))  # False for inf and NaN
    m = _rstf.stop_gradient(where(finite, m, zeros_like(m)))
    r = log(reduce_sum(exp(x - m), axis=axis, keepdims=keepdims))
    return r + reduce_max(m, axis=axis, keepdims=keepdims)


def reduce_mean(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    """Mean over ``axis`` (all axes when None); integer means truncate."""
    return _rstf.mean(input_tensor, _axes(axis, "Mean"), builtins.bool(keepdims))


def _arg_reduce(input, axis, output_type, largest):  # noqa: A002
    op = "ArgMax" if largest else "ArgMin"
    out = _int64 if output_type is None else as_dtype(output_type)
    if out not in (_int32, _int64):
        raise _args.attr_error(op, "output_type", out.name)
    if axis is None:
        axis = 0
    elif not _args.is_int(axis) and not (
            _args._tensor_like(axis) and axis.dtype.is_integer and len(axis.shape) == 0):
        raise TypeError(f"{op}: axis must be int or Tensor with integer datatype, got {axis!r}")
    r = _rstf.arg_reduce(input, int(axis), largest)
    return r if out is _int64 else cast(r, out)


def argmax(input, axis=None, output_type=_int64, name=None) -> Tensor:  # noqa: A002
    """Index of the largest value along ``axis`` (default 0)."""
    return _arg_reduce(input, axis, output_type, True)


def argmin(input, axis=None, output_type=_int64, name=None) -> Tensor:  # noqa: A002
    """Index of the smallest value along ``axis`` (default 0)."""
    return _arg_reduce(input, axis, output_type, False)


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
    p = list(builtins.range(a.ndim))[::-1] if perm is None else _shape_list(perm, "Transpose", "Tperm")
    return _rstf.transpose(a, p)


def reshape(tensor, shape, name=None) -> Tensor:
    """Gives the elements a new shape; one dimension may be -1."""
    return _rstf.reshape(tensor, _shape_list(shape, "Reshape", "Tshape"))


def expand_dims(input, axis, name=None) -> Tensor:  # noqa: A002
    return _rstf.expand_dims(input, _args.single_int(axis, "ExpandDims", "Tdim", what="dim"))


def squeeze(input, axis=None, name=None) -> Tensor:  # noqa: A002
    axes = [] if axis is None else list(axis) if isinstance(axis, (list, tuple)) else [axis]
    for a in axes:
        if isinstance(a, (str, bytes)) or a is None:
            raise TypeError(f"Squeeze: expected int for argument 'axis' not {a!r}")
    return _rstf.squeeze(input, [int(a) for a in axes])


def broadcast_to(input, shape, name=None) -> Tensor:  # noqa: A002
    return _rstf.broadcast_to(input, _shape_list(shape, "BroadcastTo", "Tidx"))


def reverse(tensor, axis, name=None) -> Tensor:
    return _rstf.reverse(tensor, _axes(axis, "ReverseV2"))


def concat(values, axis, name=None) -> Tensor:
    """Joins tensors along an existing axis."""
    return _rstf.concat(list(values), _args.single_int(axis, "ConcatV2", "Tidx", int32=True))


def stack(values, axis=0, name=None) -> Tensor:
    """Joins tensors of one shape along a new axis; nothing stacked is an empty float32 vector."""
    values = list(values)
    ax = _args.py_axis(axis, "Pack")
    if not values and ax == 0:
        return _rstf.constant(np.zeros(0, np.float32), None, None)
    return _rstf.stack(values, ax)


def unstack(value, num=None, axis=0, name=None) -> list:
    r = _rstf.unstack(value, _args.single_int(axis, "Unpack", "axis", int32=True))
    if num is not None and num != len(r):
        from .errors import InvalidArgumentError

        raise InvalidArgumentError(f"Unpack: num={num} does not match the dimension size {len(r)}")
    return r


def split(value, num_or_size_splits, axis=0, num=None, name=None) -> list:
    """Splits into equal pieces (an int) or pieces of the given sizes (a list)."""
    value = convert_to_tensor(value)
    ax = _args.single_int(axis, "Split", "axis", int32=True)
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
    elif isinstance(num_or_size_splits, (float, np.floating)):
        raise ValueError("Split: rank-0 tensors are not supported as the num_or_size_splits argument "
                         f"unless they are integers; got {num_or_size_splits!r}")
    else:
        sizes = _shape_list(num_or_size_splits, "SplitV", "Tlen")
    return _rstf.split(value, sizes, ax)


def tile(input, multiples, name=None) -> Tensor:  # noqa: A002
    return _rstf.tile(input, _shape_list(multiples, "Tile", "Tmultiples"))


def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None) -> Tensor:
    """Pads with a constant (``'CONSTANT'``) or a mirror image of the edges (``'REFLECT'``
    leaves the edge out, ``'SYMMETRIC'`` repeats it); the mode's case does not matter."""
    m = mode.upper() if isinstance(mode, str) else mode
    if m not in ("CONSTANT", "REFLECT", "SYMMETRIC"):
        raise ValueError('Value of argument `mode` expected to be one of "CONSTANT", "REFLECT", or '
                         f'"SYMMETRIC". Received `mode` = {mode}')
    op = "Pad" if m == "CONSTANT" else "MirrorPad"
    flat, dims = _args.int_input(paddings, op, "Tpaddings")
    if len(dims) != 2 or dims[1] != 2:
        raise _invalid(f"{op}: paddings must be a matrix with 2 columns, got shape {list(dims)}")
    pads = list(zip(flat[0::2], flat[1::2]))
    if m == "CONSTANT":
        return _rstf.pad(tensor, pads, constant_values)
    return _mirror_pad(convert_to_tensor(tensor), pads, m == "SYMMETRIC")


def _mirror_pad(t, pads, symmetric) -> Tensor:
    """MirrorPad as one gather per padded axis (so gradients come from gather's)."""
    if len(pads) != t.ndim:
        raise _invalid(f"MirrorPad: the first dimension of paddings must be the rank of inputs {t.ndim}, "
                       f"got {len(pads)}")
    off = 0 if symmetric else 1
    for ax, ((a, b), n) in enumerate(zip(pads, t.shape)):
        if a < 0 or b < 0:
            raise _invalid(f"MirrorPad: paddings must be non-negative: {a} {b}")
        if a > n - off or b > n - off:
            how = "no greater than" if symmetric else "less than"
            raise _invalid(f"MirrorPad: paddings must be {how} the dimension size: {a}, {b} not {how} {n}")
        if a or b:
            idx = np.concatenate([np.arange(a - 1 + off, off - 1, -1), np.arange(n),
                                  np.arange(n - 1 - off, n - 1 - off - b, -1)])
            t = _rstf.gather(t, _rstf.constant(idx.astype(np.int64), None, None), ax)
    return t


def gather(params, indices, validate_indices=None, axis=None, batch_dims=0, name=None) -> Tensor:
    """Gathers slices along ``axis`` at ``indices``; the first ``batch_dims`` dimensions of
    ``params`` and ``indices`` are batch dimensions (``axis`` defaults to ``batch_dims``)."""
    b = _args.single_int(batch_dims, "GatherV2", "Taxis", strict=True, what="batch_dims")
    ax = b if axis is None else _args.single_int(axis, "GatherV2", "Taxis", strict=True)
    if b == 0:
        return _rstf.gather(params, indices, ax)
    return _gather_batched(convert_to_tensor(params), indices, ax, b)


def _gather_batched(p, indices, ax, b) -> Tensor:
    """Gather with batch dimensions, as one gather from ``params`` with the batch dimensions
    flattened into the gathered one and the indices offset per batch."""
    it = indices if _args._tensor_like(indices) else convert_to_tensor(indices)
    if not it.dtype.is_integer:
        raise _args.attr_error("GatherV2", "Tindices", it.dtype.name, "int16, int32, int64")
    idx = np.asarray(it.numpy()).astype(np.int64)
    ir, pr = idx.ndim, p.ndim
    if b < 0:
        if b < -ir:
            raise _invalid(f"GatherV2: expected batch_dims in the range [{-ir}, {ir}], but got {b}")
        b += ir
    if pr < b + 1:
        raise _invalid(f"GatherV2: shape must be at least rank {b + 1} but is rank {pr} (params)")
    if b > ir:
        raise _invalid(f"GatherV2: expected batch_dims in the range [{-ir}, {ir}], but got {b}")
    if ax < 0:
        ax += pr
    if not b <= ax < pr:
        raise _invalid(f"GatherV2: axis {ax} must be in [batch_dims, rank(params)) = [{b}, {pr})")
    for i in builtins.range(b):
        if p.shape[i] != idx.shape[i]:
            raise _invalid(f"GatherV2: params.shape[{i}]: {p.shape[i]} should be equal to "
                           f"indices.shape[{i}]: {idx.shape[i]}")
    n = p.shape[ax]
    bad = np.argwhere((idx < 0) | (idx >= n))
    if bad.size:
        pos = tuple(int(i) for i in bad[0])
        raise _invalid(f"GatherV2: indices[{','.join(map(str, pos))}] = {idx[pos]} is not in [0, {n})")
    if b == 0:
        return _rstf.gather(p, it, ax)
    batch = list(p.shape[:b])
    nb = int(np.prod(batch, dtype=np.int64))
    if ax != b:
        p = _rstf.transpose(p, list(builtins.range(b)) + [ax] + [i for i in builtins.range(b, pr) if i != ax])
    rest = list(p.shape[b + 1:])
    ishape = list(idx.shape[b:])
    offsets = (np.arange(nb, dtype=np.int64) * n).reshape([nb] + [1] * len(ishape))
    flat_idx = _rstf.constant(idx.reshape([nb] + ishape) + offsets, None, None)
    r = _rstf.reshape(_rstf.gather(_rstf.reshape(p, [nb * n] + rest), flat_idx, 0), batch + ishape + rest)
    if ax != b:
        k, m = len(ishape), ax - b
        r = _rstf.transpose(r, list(builtins.range(b)) + list(builtins.range(b + k, b + k + m))
                            + list(builtins.range(b, b + k)) + list(builtins.range(b + k + m, r.ndim)))
    return r


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None) -> Tensor:
    """One-hot encoding along a new axis (last by default)."""
    depth = _args.count(depth, "OneHot", "depth", float_tensor=ValueError)
    ax = -1 if axis is None else _args.py_axis(axis, "OneHot")
    dt = as_dtype(dtype) if dtype is not None else None
    if dt is None:
        given = [v for v in (on_value, off_value) if v is not None]
        dt = convert_to_tensor(given[0]).dtype if given else _float32
    on = constant(1 if on_value is None else on_value, dtype=dt)
    off = constant(0 if off_value is None else off_value, dtype=dt)
    r = _rstf.one_hot(indices, depth, on, off)
    nd = r.ndim
    if ax != -1 and not 0 <= ax < nd:
        raise _invalid(f"OneHot: expected axis to be -1 or between [0, {nd}). But received: {axis}")
    if ax not in (-1, nd - 1):
        perm = list(builtins.range(nd - 1))
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
    """A tensor of ``shape`` filled with zeros (False for bool, empty strings for string)."""
    if as_dtype(dtype).name == "string":
        return _rstf.fill(_shape_list(shape, "Fill", int32=True), constant(b""))
    return _rstf.fill(_shape_list(shape, "Fill", int32=True), _rstf.cast(0, as_dtype(dtype).name))


def ones(shape, dtype=_float32, name=None) -> Tensor:
    """A tensor of ``shape`` filled with ones (True for bool)."""
    return _rstf.fill(_shape_list(shape, "Fill", int32=True), _rstf.cast(1, as_dtype(dtype).name))


def fill(dims, value, name=None) -> Tensor:
    return _rstf.fill(_shape_list(dims, "Fill", "index_type"), value)


def zeros_like(input, dtype=None, name=None) -> Tensor:  # noqa: A002
    t = convert_to_tensor(input)
    return zeros(list(t.shape), dtype or t.dtype)


def ones_like(input, dtype=None, name=None) -> Tensor:  # noqa: A002
    t = convert_to_tensor(input)
    return ones(list(t.shape), dtype or t.dtype)


def eye(num_rows, num_columns=None, batch_shape=None, dtype=_float32, name=None) -> Tensor:
    """An identity matrix (a batch of them with ``batch_shape``)."""
    cols = num_rows if num_columns is None else num_columns
    for v in (num_rows, cols):
        if not (_args._tensor_like(v) or _args.is_int(v)):
            raise TypeError("Arguments `num_rows` and `num_columns` must be positive integer values. "
                            f"Received: num_rows={num_rows}, num_columns={cols}")
    batch = _shape_list(batch_shape, "Eye", int32=True) if batch_shape is not None else []
    return _rstf.eye(int(num_rows), int(cols), batch, as_dtype(dtype).name)


def range(start, limit=None, delta=1, dtype=None, name="range") -> Tensor:  # noqa: A001
    """``start, start + delta, ...`` up to ``limit`` (exclusive), like Python's range."""
    if limit is None:
        start, limit = 0, start
    vals = [float(v) if isinstance(v, Tensor) and v.dtype.is_floating else v for v in (start, limit, delta)]
    if dtype is None:
        is_float = any(isinstance(v, float) or (isinstance(v, Tensor) and v.dtype.is_floating)
                       for v in (start, limit, delta))
        dtype = _float32 if is_float else _int32
    dtype = as_dtype(dtype)
    if dtype.is_bool:
        raise TypeError(f"Range: cannot convert {start!r} to EagerTensor of dtype bool")
    if dtype.name == "uint8":
        raise _args.attr_error("Range", "Tidx", "uint8", "bfloat16, half, float, double, int8, int16, int32, "
                               "int64, uint16, uint32, uint64")
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
    return _rstf.linspace(float(start), float(stop), _args.count(num, "LinSpace", "num"), dt)


def identity(input, name=None) -> Tensor:  # noqa: A002
    """The same values as a new tensor; gradients pass through."""
    return _rstf.identity(convert_to_tensor(input))


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def _apply(op: str, attrs: dict, *inputs) -> list:
    """Runs the primitive ``op`` (its name in the Rust op set) with ``attrs`` on ``inputs``."""
    return _rstf.apply(json.dumps({op: attrs}), [convert_to_tensor(x) for x in inputs])


def _cumulative(x, axis, exclusive, reverse, prod):
    op = "Cumprod" if prod else "Cumsum"
    attrs = {"axis": _args.single_int(axis, op, "Tidx"), "prod": prod,
             "exclusive": builtins.bool(exclusive), "reverse": builtins.bool(reverse)}
    return _apply("Cumulative", attrs, x)[0]


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None) -> Tensor:
    """The cumulative sum of ``x`` along ``axis``; ``exclusive`` leaves each element out of
    its own position, ``reverse`` sums from the end.

    >>> import rstf as tf
    >>> tf.math.cumsum([1, 2, 3, 4]).numpy()
    array([ 1,  3,  6, 10], dtype=int32)
    >>> tf.math.cumsum([1, 2, 3, 4], exclusive=True, reverse=True).numpy()
    array([9, 7, 4, 0], dtype=int32)
    """
    return _cumulative(x, axis, exclusive, reverse, False)


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None) -> Tensor:
    """The cumulative product of ``x`` along ``axis`` (``exclusive`` and ``reverse`` as in
    :func:`cumsum`). Its gradient is TensorFlow's, which divides by ``x`` and gives 0 where
    ``x`` is 0.

    >>> import rstf as tf
    >>> tf.math.cumprod([[1., 2.], [3., 4.]], axis=1).numpy()
    array([[ 1.,  2.],
           [ 3., 12.]], dtype=float32)
    """
    return _cumulative(x, axis, exclusive, reverse, True)


# Ops that a composite tensor (rstf.ragged.RaggedTensor) given as an argument takes over: the
# one dispatch hook, described in _dispatch.
_DISPATCHED = ("reduce_sum", "reduce_prod", "reduce_max", "reduce_min", "reduce_any", "reduce_all",
               "reduce_mean", "concat", "stack")
for _n in _DISPATCHED:
    globals()[_n] = _dispatch.dispatchable(globals()[_n], _n, sequence=_n in ("concat", "stack"))


__all__ = [n for n in dir() if not n.startswith("_") and n not in (
    "annotations", "builtins", "json", "numbers", "np", "DType", "cumprod")]
