"""Math functions (``rstf.math``); the same functions are also at the top level.

>>> import rstf as tf
>>> tf.math.reduce_sum(tf.constant([1, 2, 3])).numpy()
np.int32(6)
"""

from . import _args, _rstf
from . import _ops as _o
from ._indexing import (  # noqa: F401
    bincount,
    confusion_matrix,
    in_top_k,
    segment_max,
    segment_mean,
    segment_min,
    segment_prod,
    segment_sum,
    unsorted_segment_max,
    unsorted_segment_mean,
    unsorted_segment_min,
    unsorted_segment_prod,
    unsorted_segment_sum,
)
from ._ops import (  # noqa: F401
    abs,
    acos,
    acosh,
    add,
    argmax,
    argmin,
    asin,
    asinh,
    atan,
    atanh,
    ceil,
    cos,
    cosh,
    cumprod,
    cumsum,
    divide,
    equal,
    erf,
    exp,
    expm1,
    floor,
    floordiv,
    floormod,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    mod,
    multiply,
    negative,
    not_equal,
    pow,
    realdiv,
    reciprocal,
    reduce_all,
    reduce_any,
    reduce_logsumexp,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_sum,
    round,
    rsqrt,
    sigmoid,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    squared_difference,
    subtract,
    tan,
    tanh,
    truediv,
)
from .linalg import l2_normalize  # noqa: F401
from .nn import softplus  # noqa: F401

_FLOATS = "bfloat16, half, float, double"


def _float_tensor(x, op, allowed=_FLOATS, like=None):
    """``x`` as a tensor (a value takes ``like``'s dtype), refused unless floating point."""
    if not _args._tensor_like(x):
        x = _o.convert_to_tensor(x, dtype=like.dtype) if like is not None else _o.convert_to_tensor(x)
    if not x.dtype.is_floating:
        raise _args.attr_error(op, "T", x.dtype.name, allowed)
    return x


def _pair(x, y, op, allowed="half, bfloat16, float, double"):
    """Two operands of one floating dtype (a value that is not a tensor takes the other's)."""
    if not _args._tensor_like(x) and _args._tensor_like(y):
        x = _o.convert_to_tensor(x, dtype=y.dtype)
    x = _float_tensor(x, op, allowed)
    y = _float_tensor(y, op, allowed, like=x)
    if x.dtype != y.dtype:
        from .errors import InvalidArgumentError

        raise InvalidArgumentError(
            f"cannot compute {op} as input #1(zero-based) was expected to be a {_args.tf_name(x.dtype)} "
            f"tensor but is a {_args.tf_name(y.dtype)} tensor")
    return x, y


def is_nan(x, name=None):
    """True where ``x`` is NaN.

    >>> import rstf as tf
    >>> tf.math.is_nan([1.0, float("nan"), float("inf")]).numpy()
    array([False,  True, False])
    """
    x = _float_tensor(x, "IsNan")
    return _o.not_equal(x, x)


def is_inf(x, name=None):
    """True where ``x`` is +inf or -inf.

    >>> import rstf as tf
    >>> tf.math.is_inf([1.0, float("nan"), -float("inf")]).numpy()
    array([False, False,  True])
    """
    x = _float_tensor(x, "IsInf")
    return _o.equal(_o.abs(x), float("inf"))


def is_finite(x, name=None):
    """True where ``x`` is neither NaN nor infinite.

    >>> import rstf as tf
    >>> tf.math.is_finite([1.0, float("nan"), float("inf")]).numpy()
    array([ True, False, False])
    """
    x = _float_tensor(x, "IsFinite")
    return _o.equal(x - x, _o.zeros_like(x))  # inf - inf and NaN - NaN are NaN


def xlogy(x, y, name=None):
    """``x * log(y)``, and 0 where ``x`` is 0 (whatever ``y``); gradients as TensorFlow's
    (``log(y)`` and ``x / y`` where ``x`` is not 0, else 0).

    >>> import rstf as tf
    >>> tf.math.xlogy([0.0, 2.0], [0.0, 1.0]).numpy()
    array([0., 0.], dtype=float32)
    """
    x, y = _pair(x, y, "Xlogy")
    zero = _o.equal(x, _o.zeros_like(x))
    safe_y = _o.where(zero, _o.ones_like(x), y)
    r = x * _o.log(safe_y)
    return _o.where(zero, _o.zeros_like(r), r)


def xdivy(x, y, name=None):
    """``x / y``, and 0 where ``x`` is 0 (whatever ``y``).

    >>> import rstf as tf
    >>> tf.math.xdivy([0.0, 2.0], [0.0, 4.0]).numpy()
    array([0. , 0.5], dtype=float32)
    """
    x, y = _pair(x, y, "Xdivy")
    zero = _o.equal(x, _o.zeros_like(x))
    safe_y = _o.where(zero, _o.ones_like(x), y)
    r = x / safe_y
    return _o.where(zero, _o.zeros_like(r), r)


def divide_no_nan(x, y, name=None):
    """``x / y``, and 0 where ``y`` is 0 (whatever ``x``).

    >>> import rstf as tf
    >>> tf.math.divide_no_nan([1.0, 2.0], [0.0, 4.0]).numpy()
    array([0. , 0.5], dtype=float32)
    """
    x, y = _pair(x, y, "DivNoNan")
    zero = _o.equal(y, _o.zeros_like(y))
    safe_y = _o.where(zero, _o.ones_like(y), y)
    r = x / safe_y
    return _o.where(zero, _o.zeros_like(r), r)


def log_sigmoid(x, name=None):
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large ``|x|``.

    >>> import rstf as tf
    >>> tf.math.log_sigmoid([-100.0, 0.0]).numpy()
    array([-100.       ,   -0.6931472], dtype=float32)
    """
    x = _float_tensor(x, "Softplus", "half, bfloat16, float, double")
    return -softplus(-x)


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    """The variance (mean squared deviation from the mean) over ``axis`` (all when None).

    >>> import rstf as tf
    >>> tf.math.reduce_variance([[1.0, 2.0], [3.0, 4.0]], axis=0).numpy()
    array([1., 1.], dtype=float32)
    """
    x = _o.convert_to_tensor(input_tensor)
    means = _o.reduce_mean(x, axis=axis, keepdims=True)
    if means.dtype.is_integer or means.dtype.is_bool:
        raise TypeError(f"Input must be either real or complex. Received integer type {means.dtype!r}.")
    return _o.reduce_mean(_o.square(x - means), axis=axis, keepdims=keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    """The standard deviation over ``axis`` (all when None).

    >>> import rstf as tf
    >>> float(tf.math.reduce_std([1.0, 3.0]))
    1.0
    """
    return _o.sqrt(reduce_variance(input_tensor, axis=axis, keepdims=keepdims))


def reduce_euclidean_norm(input_tensor, axis=None, keepdims=False, name=None):
    """``sqrt(sum(x**2))`` over ``axis`` (all when None); integer inputs give the truncated
    integer root, as TensorFlow's.

    >>> import rstf as tf
    >>> tf.math.reduce_euclidean_norm([[3, 4], [5, 12]], axis=1).numpy()
    array([ 5, 13], dtype=int32)
    """
    x = _o.convert_to_tensor(input_tensor)
    if x.dtype.is_bool:
        raise _args.attr_error("EuclideanNorm", "T", "bool", "float, double, int32, uint8, int16, int8, "
                               "int64, bfloat16, uint16, half, uint32, uint64")
    if x.dtype.is_integer:
        f = _rstf.cast(x, "float64")
        return _o.cast(_o.sqrt(_o.reduce_sum(f * f, axis, keepdims=keepdims)), x.dtype)
    return _o.sqrt(_o.reduce_sum(x * x, axis, keepdims=keepdims))
