"""Linear algebra (``rstf.linalg``): TensorFlow's ops that compose from rstf's differentiable
primitives (matmul, transpose, reshape, gather, reductions), so that gradients, tracing and the
GPU come with them. ``einsum`` and ``tensordot`` (in ``_einsum``) contract through transposes,
reshapes and one batched matmul per pair of operands; the diagonal ops gather through an index
map computed from the static shapes. Factorisations (``solve``, ``inv``, ``cholesky``, ``svd``,
...) run the Rust op ``Linalg`` and live in ``_factor``.

>>> import rstf as tf
>>> a = tf.constant([[1., 2.], [3., 4.]])
>>> tf.linalg.einsum("ij,jk->ik", a, a).numpy()
array([[ 7., 10.],
       [15., 22.]], dtype=float32)
>>> float(tf.linalg.trace(a))
5.0
"""

from __future__ import annotations

import builtins
import collections.abc
import numbers

import numpy as np

from . import _args, _rstf
from . import _ops as _o
from ._einsum import _dims, _errors, _same_dtype, _tensor, einsum, tensordot  # noqa: F401
from ._factor import (  # noqa: F401
    cholesky,
    cholesky_solve,
    det,
    eigh,
    eigvalsh,
    inv,
    logdet,
    lstsq,
    qr,
    slogdet,
    solve,
    svd,
    triangular_solve,
)
from ._ops import eye, matmul  # noqa: F401
from ._rstf import Tensor

__all__ = ["adjoint", "band_part", "cholesky", "cholesky_solve", "cross", "det", "diag", "diag_part",
           "eigh", "eigvalsh", "einsum", "eye", "global_norm", "inv", "logdet", "lstsq", "qr", "slogdet",
           "solve", "svd", "triangular_solve",
           "l2_normalize", "matmul", "matrix_transpose", "matvec", "norm", "normalize", "set_diag",
           "tensor_diag", "tensor_diag_part", "tensordot", "trace"]


def _float_only(x, op, allowed="half, bfloat16, float, double"):
    if not x.dtype.is_floating:
        raise _args.attr_error(op, "T", x.dtype.name, allowed)


def matvec(a, b, transpose_a=False, adjoint_a=False, a_is_sparse=False, b_is_sparse=False,
           name=None) -> Tensor:
    """Matrix-vector product ``a @ b`` over the last dimensions (batch dimensions broadcast).

    >>> import rstf as tf
    >>> tf.linalg.matvec([[1.0, 2.0], [3.0, 4.0]], [1.0, 1.0]).numpy()
    array([3., 7.], dtype=float32)
    """
    a = _tensor(a)
    b = _tensor(b, a)
    return _o.squeeze(_o.matmul(a, _o.expand_dims(b, -1), transpose_a=transpose_a, adjoint_a=adjoint_a), [-1])


# ----------------------------------------------------------------------------- matrices

def _matrix(x, op):
    x = _tensor(x)
    if x.ndim < 2:
        raise _errors().InvalidArgumentError(f"{op}: input must be at least 2-dim, received shape: "
                                             f"{_dims(x.shape)}")
    return x


def matrix_transpose(a, name="matrix_transpose", conjugate=False) -> Tensor:
    """Swaps the last two dimensions (a batch of transposes); a view.

    >>> import rstf as tf
    >>> tf.linalg.matrix_transpose(tf.ones([5, 2, 3])).shape
    TensorShape([5, 3, 2])
    """
    a = _tensor(a)
    if a.ndim < 2:
        raise ValueError("Argument `a` should be a (batch) matrix with rank >= 2.  Received `a` = "
                         f"{a} with shape: {a.shape}")
    return _rstf.transpose(a, list(builtins.range(a.ndim - 2)) + [a.ndim - 1, a.ndim - 2])


def adjoint(matrix, name=None) -> Tensor:
    """The conjugate transpose of the last two dimensions (the transpose: rstf has no complex
    dtypes).

    >>> import rstf as tf
    >>> tf.linalg.adjoint([[1.0, 2.0]]).numpy()
    array([[1.],
           [2.]], dtype=float32)
    """
    return matrix_transpose(matrix)


_ALIGNS = ("LEFT_RIGHT", "RIGHT_LEFT", "LEFT_LEFT", "RIGHT_RIGHT")


def _diag_args(k, align, op):
    if align not in _ALIGNS:
        raise _errors().InvalidArgumentError(
            f"Value for attr 'align' of \"{align}\" is not in the list of allowed values: "
            + ", ".join(f'"{a}"' for a in _ALIGNS))
    vals, dims = _args.int_input(k, op, "k", int32=True)
    if len(dims) > 1 or not 1 <= len(vals) <= 2:
        raise _errors().InvalidArgumentError(f"{op}: diag_index must be a scalar or a vector of one or two "
                                             f"elements, got {k!r}")
    return vals[0], vals[-1]


def _diag_len(d, rows, cols):
    return np.minimum(cols - np.maximum(d, 0), rows + np.minimum(d, 0))


def _diag_offset(d, max_len, rows, cols, align):
    """Where each diagonal starts in its row of the packed form (right-aligned ones are
    left-padded)."""
    left = np.where(d >= 0, align.startswith("LEFT"), align.endswith("LEFT"))
    return np.where(left, 0, max_len - _diag_len(d, rows, cols))


def _band_map(rows, cols, lo, hi, max_len, align):
    """For each element of a ``rows x cols`` matrix, its index in the packed diagonals
    ``[hi - lo + 1, max_len]`` (flattened), or -1 outside the band."""
    i, j = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    d = j - i
    n = i + np.minimum(d, 0) + _diag_offset(d, max_len, rows, cols, align)
    return np.where((d >= lo) & (d <= hi), (hi - d) * max_len + n, -1).astype(np.int64)


def _check_band(lo, hi, rows, cols, op):
    err = _errors().InvalidArgumentError
    if not (-rows < lo < cols or lo == 0):
        raise err(f"{op}: lower_diag_index is out of bound: {lo}. It must be between {-rows} and {cols}")
    if not (-rows < hi < cols or hi == 0):
        raise err(f"{op}: upper_diag_index is out of bound: {hi} It must be between {-rows} and {cols}")
    if lo > hi:
        raise err(f"{op}: lower_diag_index must not be larger than upper_diag_index: {lo} > {hi}")


def _gather_last(flat, index, shape):
    """``flat[..., index]`` (``index`` an int array) reshaped to ``batch + shape``."""
    batch = list(flat.shape[:-1])
    r = _rstf.gather(flat, _rstf.constant(index.reshape(-1), None, None), flat.ndim - 1)
    return _rstf.reshape(r, batch + list(shape))


def diag(diagonal, name="diag", k=0, num_rows=-1, num_cols=-1, padding_value=0, align="RIGHT_LEFT") -> Tensor:
    """A batch of matrices with the given diagonals (``k``: one offset or a ``(lower, upper)``
    range, whose diagonals are the rows of ``diagonal``'s last two dimensions, upper first)
    and ``padding_value`` elsewhere.

    >>> import rstf as tf
    >>> tf.linalg.diag([1, 2]).numpy()
    array([[1, 0],
           [0, 2]], dtype=int32)
    >>> tf.linalg.diag([1, 2], k=1).numpy()
    array([[0, 1, 0],
           [0, 0, 2],
           [0, 0, 0]], dtype=int32)
    """
    err = _errors().InvalidArgumentError
    x = _tensor(diagonal)
    lo, hi = _diag_args(k, align, "MatrixDiagV3")
    if x.ndim < 1:
        raise err(f"MatrixDiagV3: diagonal must be at least 1-dim, received shape: {_dims(x.shape)}")
    if lo > hi:
        raise err(f"MatrixDiagV3: lower_diag_index must not be larger than upper_diag_index: {lo} > {hi}")
    num_diags = hi - lo + 1
    if lo != hi and (x.ndim < 2 or x.shape[-2] != num_diags):
        raise err("MatrixDiagV3: The number of diagonals provided in the input does not match the "
                  "lower_diag_index and upper_diag_index range.")
    max_len = x.shape[-1]
    rows, cols = int(num_rows), int(num_cols)
    min_rows, min_cols = max_len - builtins.min(hi, 0), max_len + builtins.max(lo, 0)
    if rows != -1 and rows < min_rows:
        raise err("MatrixDiagV3: The number of rows is too small.")
    if cols != -1 and cols < min_cols:
        raise err("MatrixDiagV3: The number of columns is too small.")
    if rows == -1 and cols == -1:
        rows = cols = builtins.max(min_rows, min_cols)
    elif rows == -1:
        rows = min_rows
    elif cols == -1:
        cols = min_cols
    if rows != min_rows and cols != min_cols:
        raise err("MatrixDiagV3: The number of rows or columns is not consistent with the specified d_lower, "
                  "d_upper, and diagonal.")
    batch = list(x.shape[:-1] if lo == hi else x.shape[:-2])
    flat = _rstf.reshape(x, batch + [num_diags * max_len])
    pad = _rstf.broadcast_to(_tensor(padding_value, x), batch + [1])
    index = _band_map(rows, cols, lo, hi, max_len, align)
    index = np.where(index < 0, num_diags * max_len, index)
    return _gather_last(_rstf.concat([flat, pad], -1), index, [rows, cols])


def diag_part(input, name="diag_part", k=0, padding_value=0, align="RIGHT_LEFT") -> Tensor:  # noqa: A002
    """The diagonals of a batch of matrices: ``k`` is one offset (the result drops the last
    two dimensions for one), or a ``(lower, upper)`` range (one row per diagonal, upper first,
    shorter ones padded with ``padding_value`` as ``align`` says).

    >>> import rstf as tf
    >>> m = tf.reshape(tf.range(6), [2, 3])
    >>> tf.linalg.diag_part(m).numpy()
    array([0, 4], dtype=int32)
    >>> tf.linalg.diag_part(m, k=(0, 1)).numpy()
    array([[1, 5],
           [0, 4]], dtype=int32)
    """
    x = _matrix(input, "MatrixDiagPartV3")
    lo, hi = _diag_args(k, align, "MatrixDiagPartV3")
    rows, cols = x.shape[-2], x.shape[-1]
    _check_band(lo, hi, rows, cols, "MatrixDiagPartV3")
    max_len = builtins.max(0, builtins.min(rows + builtins.min(hi, 0), cols - builtins.max(lo, 0)))
    d = hi - np.arange(hi - lo + 1)[:, None]
    n = np.arange(max_len)[None, :]
    m = n - _diag_offset(d, max_len, rows, cols, align)
    index = np.where((m >= 0) & (m < _diag_len(d, rows, cols)),
                     (m - np.minimum(d, 0)) * cols + m + np.maximum(d, 0), rows * cols)
    batch = list(x.shape[:-2])
    flat = _rstf.reshape(x, batch + [rows * cols])
    pad = _rstf.broadcast_to(_tensor(padding_value, x), batch + [1])
    shape = [max_len] if lo == hi else [hi - lo + 1, max_len]
    return _gather_last(_rstf.concat([flat, pad], -1), index, shape)


def set_diag(input, diagonal, name="set_diag", k=0, align="RIGHT_LEFT") -> Tensor:  # noqa: A002
    """A batch of matrices with the diagonals ``k`` (as in :func:`diag_part`) replaced.

    >>> import rstf as tf
    >>> tf.linalg.set_diag(tf.zeros([2, 3]), [1.0, 2.0]).numpy()
    array([[1., 0., 0.],
           [0., 2., 0.]], dtype=float32)
    """
    x = _matrix(input, "MatrixSetDiagV3")
    v = _tensor(diagonal, x)
    _same_dtype("MatrixSetDiagV3", [x, v])
    lo, hi = _diag_args(k, align, "MatrixSetDiagV3")
    rows, cols = x.shape[-2], x.shape[-1]
    _check_band(lo, hi, rows, cols, "MatrixSetDiagV3")
    max_len = builtins.max(0, builtins.min(rows + builtins.min(hi, 0), cols - builtins.max(lo, 0)))
    batch = list(x.shape[:-2])
    expected = batch + ([] if lo == hi else [hi - lo + 1]) + [max_len]
    if list(v.shape) != expected:
        raise _errors().InvalidArgumentError(
            "MatrixSetDiagV3: Either first dimensions of diagonal don't match input.shape[:-2], or "
            "diagonal.shape[:-1] is not equal to the longests diagonal in range [lower_diag_index:"
            f"upper_diag_index].\nInput shape: {_dims(x.shape)}\nDiagonal shape: {_dims(v.shape)}\n"
            f"Expected diagonal shape: {_dims(expected)}")
    index = _band_map(rows, cols, lo, hi, max_len, align)
    index = np.where(index < 0, np.arange(rows * cols).reshape(rows, cols), index + rows * cols)
    flat = _rstf.concat([_rstf.reshape(x, batch + [rows * cols]),
                         _rstf.reshape(v, batch + [(hi - lo + 1) * max_len])], -1)
    return _gather_last(flat, index, [rows, cols])


def band_part(input, num_lower, num_upper, name=None) -> Tensor:  # noqa: A002
    """Keeps ``num_lower`` diagonals below the main one and ``num_upper`` above it (all of
    them where negative) and zeroes the rest.

    >>> import rstf as tf
    >>> tf.linalg.band_part(tf.ones([3, 3]), 0, -1).numpy()
    array([[1., 1., 1.],
           [0., 1., 1.],
           [0., 0., 1.]], dtype=float32)
    """
    x = _matrix(input, "MatrixBandPart")
    lo_hi = []
    for v in (num_lower, num_upper):
        if isinstance(v, (float, str, bytes)) or (_args._tensor_like(v) and not v.dtype.is_integer):
            raise TypeError(f"Cannot convert {v!r} to EagerTensor of dtype int64")
        lo_hi.append(int(v))
    lower, upper = lo_hi
    rows, cols = x.shape[-2], x.shape[-1]
    if lower > rows:
        raise _errors().InvalidArgumentError(
            f"MatrixBandPart: num_lower must be negative or less or equal to number of rows ({rows}) got: "
            f"{lower}")
    if upper > cols:
        raise _errors().InvalidArgumentError(
            f"MatrixBandPart: num_upper must be negative or less or equal to number of columns ({cols}) got: "
            f"{upper}")
    i, j = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    keep = ((lower < 0) | (i - j <= lower)) & ((upper < 0) | (j - i <= upper))
    if keep.all():
        return _rstf.identity(x)
    return _rstf.select(_rstf.constant(keep, None, None), x, _o.zeros_like(x))


def trace(x, name=None) -> Tensor:
    """The sum of the main diagonal of each matrix of a batch.

    >>> import rstf as tf
    >>> tf.linalg.trace([[1, 2], [3, 4]]).numpy()
    np.int32(5)
    """
    return _o.reduce_sum(diag_part(x), axis=-1)


def tensor_diag(diagonal, name=None) -> Tensor:
    """A tensor of shape ``d + d`` with ``diagonal`` (shape ``d``) on its diagonal.

    >>> import rstf as tf
    >>> tf.linalg.tensor_diag([1, 2]).numpy()
    array([[1, 0],
           [0, 2]], dtype=int32)
    """
    x = _tensor(diagonal)
    n = int(np.prod(x.shape, dtype=np.int64))
    index = np.full(n * n, n, dtype=np.int64)
    index[np.arange(n) * (n + 1)] = np.arange(n)
    flat = _rstf.concat([_rstf.reshape(x, [n]), _o.zeros([1], x.dtype)], 0)
    return _rstf.reshape(_rstf.gather(flat, _rstf.constant(index, None, None), 0), list(x.shape) * 2)


def tensor_diag_part(input, name=None) -> Tensor:  # noqa: A002
    """The diagonal of a tensor of shape ``d + d`` (the inverse of :func:`tensor_diag`).

    >>> import rstf as tf
    >>> tf.linalg.tensor_diag_part([[1, 2], [3, 4]]).numpy()
    array([1, 4], dtype=int32)
    """
    x = _tensor(input)
    half = x.ndim // 2
    if x.ndim % 2 or list(x.shape[:half]) != list(x.shape[half:]):
        raise _errors().InvalidArgumentError(
            f"DiagPart: the input must have an even rank and shape d + d, got shape {_dims(x.shape)}")
    n = int(np.prod(x.shape[:half], dtype=np.int64))
    idx = _rstf.constant(np.arange(n, dtype=np.int64) * (n + 1), None, None)
    return _rstf.reshape(_rstf.gather(_rstf.reshape(x, [n * n]), idx, 0), list(x.shape[:half]))


def cross(a, b, name=None) -> Tensor:
    """The cross product of 3-vectors along the last dimension (same shapes, no broadcasting).

    >>> import rstf as tf
    >>> tf.linalg.cross([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]).numpy()
    array([0., 0., 1.], dtype=float32)
    """
    a = _tensor(a, b if _args._tensor_like(b) else None)
    b = _tensor(b, a)
    _same_dtype("Cross", [a, b])
    errors = _errors()
    if a.ndim < 1:
        raise errors.InvalidArgumentError(f"Cross: Input must be at least 1D{_dims(a.shape)}")
    if list(a.shape) != list(b.shape):
        raise errors.InvalidArgumentError(
            f"Cross: Both inputs must be of same shape: {_dims(a.shape)} vs. {_dims(b.shape)}")
    if a.shape[-1] != 3:
        raise errors.FailedPreconditionError("Cross: Cross-products are only defined for 3-element vectors.")
    ax = a.ndim - 1
    i120 = _rstf.constant(np.array([1, 2, 0], np.int64), None, None)
    i201 = _rstf.constant(np.array([2, 0, 1], np.int64), None, None)
    return (_rstf.gather(a, i120, ax) * _rstf.gather(b, i201, ax)
            - _rstf.gather(a, i201, ax) * _rstf.gather(b, i120, ax))


# ----------------------------------------------------------------------------- norms

def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None) -> Tensor:  # noqa: A002
    """The vector norm over ``axis`` (all elements when None; ``ord`` ``'euclidean'``, ``1``,
    ``2``, ``np.inf`` or any positive real) or, with two axes, the matrix norm (``'fro'``/
    ``'euclidean'``, ``1``, ``np.inf``, and the spectral ``2``: the largest singular value).

    >>> import rstf as tf
    >>> float(tf.norm([3.0, 4.0]))
    5.0
    >>> tf.norm([[1.0, -2.0], [3.0, 4.0]], ord=1, axis=1).numpy()
    array([3., 7.], dtype=float32)
    """
    keepdims = False if keepdims is None else keepdims
    is_matrix = isinstance(axis, (tuple, list)) and len(axis) == 2
    if is_matrix:
        axis = tuple(axis)
        if not isinstance(axis[0], int) or not isinstance(axis[1], int) or axis[0] == axis[1]:
            raise ValueError(f"'axis' must be None, an integer, or a tuple of 2 unique integers, got {axis}")
        supported = ["euclidean", "fro", 1, 2, np.inf]
        if ord not in supported:
            raise ValueError(f"'ord' must be a supported matrix norm in {supported}, got {ord}")
    else:
        if not (isinstance(axis, int) or axis is None):
            raise ValueError(f"'axis' must be None, an integer, or a tuple of 2 unique integers, got {axis}")
        if (not isinstance(ord, numbers.Real) or ord <= 0) and ord not in ["euclidean", 1, 2, np.inf]:
            raise ValueError(f"'ord' must be a supported vector norm, got {ord}")
        if axis is not None:
            axis = (axis,)
    x = _tensor(tensor)
    if ord in ("fro", "euclidean", 2, 2.0):
        if is_matrix and ord in (2, 2.0):
            r = x.ndim
            a0, a1 = axis[0] % r, axis[1] % r
            rest = [i for i in range(r) if i not in (a0, a1)]
            top = _o.gather(svd(_o.transpose(x, rest + [a0, a1]), compute_uv=False), 0, axis=-1)
            for a in sorted((a0, a1)) if keepdims else ():
                top = _o.expand_dims(top, a)
            return top
        result = _o.sqrt(_o.reduce_sum(x * x, axis, keepdims=True))
    else:
        result = _o.abs(x)
        if ord == 1:
            result = _o.reduce_sum(result, None if axis is None else axis[0], keepdims=True)
            if is_matrix:
                result = _o.reduce_max(result, axis[-1], keepdims=True)
        elif ord == np.inf:
            if is_matrix:
                result = _o.reduce_sum(result, axis[1], keepdims=True)
            result = _o.reduce_max(result, None if axis is None else axis[0], keepdims=True)
        else:
            result = _o.pow(_o.reduce_sum(_o.pow(result, ord), axis, keepdims=True), 1.0 / ord)
    if not keepdims:
        result = _o.squeeze(result, None if axis is None else list(axis))
    return result


def normalize(tensor, ord="euclidean", axis=None, name=None):  # noqa: A002
    """``(tensor / norm, norm)`` with the norm of :func:`norm` (kept dimensions).

    >>> import rstf as tf
    >>> v, n = tf.linalg.normalize([3.0, 4.0])
    >>> v.numpy(), n.numpy()
    (array([0.6, 0.8], dtype=float32), array([5.], dtype=float32))
    """
    x = _tensor(tensor)
    n = _o.cast(norm(x, ord=ord, axis=axis, keepdims=True), x.dtype)
    return x / n, n


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None) -> Tensor:
    """``x / sqrt(max(sum(x**2, axis), epsilon))``.

    >>> import rstf as tf
    >>> tf.math.l2_normalize([3.0, 4.0]).numpy()
    array([0.6, 0.8], dtype=float32)
    """
    if dim is not None:
        if axis is not None:
            raise ValueError("Cannot specify both 'axis' and 'dim'")
        axis = dim
    x = _tensor(x)
    if not x.dtype.is_floating:
        raise TypeError(f"Cannot convert {epsilon!r} to EagerTensor of dtype {x.dtype.name}")
    square_sum = _o.reduce_sum(_o.square(x), axis, keepdims=True)
    return x * _o.rsqrt(_o.maximum(square_sum, epsilon))


def _l2_loss(t, op="L2Loss") -> Tensor:
    t = _tensor(t)
    _float_only(t, op)
    return _o.reduce_sum(t * t) / _o.constant(2, dtype=t.dtype)


def _tensor_list(t_list):
    if not isinstance(t_list, collections.abc.Sequence) or isinstance(t_list, str):
        raise TypeError(f"`t_list` should be a sequence of tensors. Received {type(t_list)}.")
    return list(t_list)


def global_norm(t_list, name=None) -> Tensor:
    """``sqrt(sum(||t||² for t in t_list))``; None entries are skipped.

    >>> import rstf as tf
    >>> float(tf.linalg.global_norm([tf.constant([3.0]), None, tf.constant([4.0])]))
    5.0
    """
    values = [_tensor(t) for t in _tensor_list(t_list) if t is not None]
    half = _o.reduce_sum(_o.stack([_l2_loss(v) for v in values]))
    return _o.sqrt(half * _o.constant(2.0, dtype=half.dtype))


def clip_by_norm(t, clip_norm, axes=None, name=None) -> Tensor:
    """``t * clip_norm / max(||t||, clip_norm)`` with the L2 norm over ``axes`` (all when
    None): rescaled only where the norm is above ``clip_norm`` (a negative one counts as 0); a
    zero ``t`` stays zero (and has finite gradients).

    >>> import rstf as tf
    >>> tf.clip_by_norm([3.0, 4.0], 1.0).numpy()
    array([0.6, 0.8], dtype=float32)
    """
    values = _tensor(t)
    if np.isscalar(clip_norm):
        clip_norm = builtins.max(clip_norm, 0)
    else:
        clip_norm = _o.cast(_o.maximum(clip_norm, 0), values.dtype)
    l2sum = _o.reduce_sum(values * values, axes, keepdims=True)
    pred = l2sum > 0
    l2sum_safe = _o.where(pred, l2sum, _o.ones_like(l2sum))
    l2norm = _o.where(pred, _o.sqrt(l2sum_safe), l2sum)
    intermediate = values * clip_norm
    if list(intermediate.shape) != list(values.shape):
        raise ValueError(f"Shapes {values.shape} and {intermediate.shape} are incompatible")
    return _rstf.identity(intermediate / _o.maximum(l2norm, clip_norm))


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """``([t * clip_norm / max(global_norm, clip_norm) for t in t_list], global_norm)``; None
    entries stay None, and a non-finite norm makes every value NaN.

    >>> import rstf as tf
    >>> clipped, n = tf.clip_by_global_norm([tf.constant([3.0]), tf.constant([4.0])], 1.0)
    >>> [c.numpy() for c in clipped], float(n)
    ([array([0.6], dtype=float32), array([0.8], dtype=float32)], 5.0)
    """
    t_list = _tensor_list(t_list)
    use_norm = global_norm(t_list) if use_norm is None else _tensor(use_norm)
    one = _o.constant(1.0, dtype=use_norm.dtype)
    scale_for_finite = clip_norm * _o.minimum(1.0 / use_norm, one / clip_norm)
    scale = scale_for_finite + (use_norm - use_norm)
    out = []
    for t in t_list:
        if t is None:
            out.append(None)
            continue
        v = _tensor(t)
        out.append(_rstf.identity(v * _o.cast(scale, v.dtype)))
    return out, use_norm


def meshgrid(*args, **kwargs) -> list:
    """Coordinate grids from 1-D coordinates (each argument is flattened): ``indexing='xy'``
    (Cartesian: the first two dimensions swapped) or ``'ij'`` (matrix).

    >>> import rstf as tf
    >>> x, y = tf.meshgrid([1, 2, 3], [4, 5])
    >>> x.numpy()
    array([[1, 2, 3],
           [1, 2, 3]], dtype=int32)
    >>> y.numpy()
    array([[4, 4, 4],
           [5, 5, 5]], dtype=int32)
    """
    indexing = kwargs.pop("indexing", "xy")
    kwargs.pop("name", None)
    if kwargs:
        raise TypeError(f"'{list(kwargs)[0]}' is an invalid keyword argument for this function")
    if indexing not in ("xy", "ij"):
        raise ValueError(f"Argument `indexing` parameter must be either 'xy' or 'ij', got '{indexing}'")
    if not args:
        return []
    ts = [_rstf.reshape(_tensor(x), [-1]) for x in args]
    for t in ts[1:]:
        if t.dtype != ts[0].dtype:
            raise _errors().InvalidArgumentError(
                "cannot compute Mul as input #1(zero-based) was expected to be a "
                f"{_args.tf_name(ts[0].dtype)} tensor but is a {_args.tf_name(t.dtype)} tensor")
    n = len(ts)
    sizes = [t.shape[0] for t in ts]
    pos = list(builtins.range(n))
    if indexing == "xy" and n > 1:
        pos[0], pos[1] = 1, 0
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for t, p in zip(ts, pos):
        shape = [1] * n
        shape[p] = -1
        out.append(_rstf.broadcast_to(_rstf.reshape(t, shape), sizes))
    return out
