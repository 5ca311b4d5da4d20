"""Sparse tensors (``tf.sparse``): a ``SparseTensor`` holds the ``values`` of a tensor at
``indices`` (int64 ``[N, rank]``) in a tensor of ``dense_shape``, the other elements being zero.

The indices and the dense shape are worked out with numpy (they must be known: eager values,
or constants inside a traced function); the values pass only through rstf's differentiable
ops, so gradients reach them (and dense operands) through ``to_dense``, ``add``,
``sparse_dense_matmul``, ``reduce_sum``, ``map_values`` and the rest.

>>> import rstf as tf
>>> st = tf.sparse.SparseTensor(indices=[[0, 0], [1, 2]], values=[1, 2], dense_shape=[3, 4])
>>> print(tf.sparse.to_dense(st))
rstf.Tensor(
[[1 0 0 0]
 [0 0 2 0]
 [0 0 0 0]], shape=(3, 4), dtype=int32)
"""

from __future__ import annotations

import numpy as np

from . import _args, _composite, _ops, _rstf, nest
from ._composite import concrete, int64
from ._rstf import Tensor
from ._shape import TensorShape
from .dtypes import int64 as _int64
from .errors import InvalidArgumentError

__all__ = ["SparseTensor", "add", "concat", "expand_dims", "eye", "fill_empty_rows", "from_dense",
           "map_values", "maximum", "minimum", "reduce_max", "reduce_sum", "reorder", "reset_shape",
           "reshape", "retain", "slice", "sparse_dense_matmul", "split", "to_dense", "to_indicator",
           "transpose"]


def _fmt(dims) -> str:
    return "[" + ",".join(str(int(d)) for d in dims) + "]"


class SparseTensor:
    """A tensor of ``dense_shape`` that is zero except for ``values`` at ``indices``.

    >>> import rstf as tf
    >>> st = tf.sparse.SparseTensor(indices=[[0, 3], [2, 4]], values=[10., 20.], dense_shape=[3, 10])
    >>> st.shape
    TensorShape([3, 10])
    >>> st.values
    <rstf.Tensor: shape=(2,), dtype=float32, numpy=array([10., 20.], dtype=float32)>
    """

    def __init__(self, indices, values, dense_shape):
        if isinstance(indices, Tensor) and not indices.dtype.is_integer:
            raise TypeError(f"Cannot convert {indices!r} to EagerTensor of dtype int64")
        try:
            indices = _ops.convert_to_tensor(indices, dtype=_int64) if not isinstance(indices, Tensor) \
                else _ops.cast(indices, _int64)
        except (TypeError, ValueError) as e:
            raise TypeError(f"Cannot convert {indices!r} to EagerTensor of dtype int64") from e
        values = _ops.convert_to_tensor(values)
        dense_shape = dense_shape if isinstance(dense_shape, Tensor) else np.asarray(
            list(dense_shape) if isinstance(dense_shape, (tuple, TensorShape)) else dense_shape)
        dense_shape = _ops.cast(_ops.convert_to_tensor(dense_shape), _int64)
        for t, rank in ((indices, 2), (values, 1), (dense_shape, 1)):
            if t.ndim != rank:
                raise ValueError(f"Shape {TensorShape(tuple(t.shape))} must have rank {rank}")
        if indices.shape[0] != values.shape[0]:
            raise ValueError(f"Dimensions {indices.shape[0]} and {values.shape[0]} are not compatible")
        if indices.shape[1] != dense_shape.shape[0]:
            raise ValueError(f"Dimensions {indices.shape[1]} and {dense_shape.shape[0]} are not compatible")
        self._indices, self._values, self._dense_shape = indices, values, dense_shape
        self._shape = tuple(int(d) for d in concrete(dense_shape, "the dense shape"))

    @classmethod
    def from_value(cls, value):
        return value if isinstance(value, SparseTensor) else from_dense(value)

    @property
    def indices(self) -> Tensor:
        """The int64 ``[N, rank]`` positions of the values."""
        return self._indices

    @property
    def values(self) -> Tensor:
        """The ``[N]`` values at ``indices``."""
        return self._values

    @property
    def dense_shape(self) -> Tensor:
        """The int64 shape of the dense tensor."""
        return self._dense_shape

    @property
    def shape(self) -> TensorShape:
        return TensorShape(self._shape)

    def get_shape(self) -> TensorShape:
        return self.shape

    @property
    def dtype(self):
        return self._values.dtype

    def with_values(self, new_values) -> SparseTensor:
        """The same indices and shape with other values (of the same length)."""
        return SparseTensor(self._indices, new_values, self._dense_shape)

    def __repr__(self):
        return (f"SparseTensor(indices={self._indices!s}, values={self._values!s}, "
                f"dense_shape={self._dense_shape!s})")

    __str__ = __repr__

    def __array__(self, dtype=None, copy=None):
        raise ValueError(f"Attempt to convert a value ({self!r}) with an unsupported type (SparseTensor) "
                         "to a Tensor: use tf.sparse.to_dense")

    def _index_np(self) -> np.ndarray:
        return concrete(self._indices, "the indices").reshape(tuple(self._indices.shape))

    def _cwise(self, y, op: str, fn):
        y = y if isinstance(y, Tensor) else _ops.convert_to_tensor(y, dtype=self.dtype)
        if y.dtype != self.dtype:
            raise ValueError(f"y: Tensor conversion requested dtype {self.dtype.name} for Tensor with dtype "
                             f"{y.dtype.name}: {y!r}")
        ys, shape = list(y.shape), list(self._shape)
        if len(ys) > len(shape) or any(a not in (1, b) for a, b in zip(ys[::-1], shape[::-1])):
            raise InvalidArgumentError(f"{op}: SparseDenseBinaryOpShared broadcasts dense to sparse only; "
                                       f"got incompatible shapes: {_fmt(shape)} vs. {_fmt(ys)}")
        flat = _rstf.reshape(_ops.broadcast_to(y, shape), [-1])
        picked = _rstf.gather(flat, int64(_linear(self._index_np(), shape)), 0)
        return SparseTensor(self._indices, fn(self._values, picked), self._dense_shape)

    def __mul__(self, y):
        """``sparse * dense``: the dense operand (broadcast to the dense shape) at the indices."""
        return self._cwise(y, "SparseDenseCwiseMul", _ops.multiply)

    def __truediv__(self, y):
        return self._cwise(y, "SparseDenseCwiseDiv", _ops.divide)

    __div__ = __truediv__


def _linear(idx: np.ndarray, shape) -> np.ndarray:
    """Row-major positions of ``idx`` in ``shape`` (indices assumed in bounds)."""
    strides = np.ones(len(shape), dtype=np.int64)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * shape[i + 1]
    return (idx.astype(np.int64) * strides).sum(axis=1) if len(shape) else np.zeros(len(idx), np.int64)


def _check(sp, op="sp_input"):
    if not isinstance(sp, SparseTensor):
        raise TypeError(f"Input must be a SparseTensor, got {type(sp).__name__}: {sp!r}")
    return sp


def _bounds(sp: SparseTensor, op: str, idx=None) -> np.ndarray:
    idx = sp._index_np() if idx is None else idx
    shape = np.asarray(sp._shape, dtype=np.int64)
    bad = np.nonzero(((idx < 0) | (idx >= shape)).any(axis=1))[0]
    if bad.size:
        k = int(bad[0])
        raise InvalidArgumentError(f"{op}: indices[{k}] = {_fmt(idx[k])} is out of bounds: "
                                   f"need 0 <= index < {_fmt(shape)}")
    return idx


def _lex_order(idx: np.ndarray) -> np.ndarray:
    """The stable permutation that sorts index rows in row-major order."""
    if idx.shape[1] == 0:
        return np.arange(idx.shape[0])
    return np.lexsort(idx.T[::-1])


def _dense_sum(sp: SparseTensor, op: str) -> Tensor:
    """The dense tensor with duplicate indices summed (SparseTensorDenseAdd's semantics)."""
    idx = _bounds(sp, op)
    total = int(np.prod(sp._shape, dtype=np.int64))
    flat = _composite.segment_reduce(sp.values, _linear(idx, sp._shape), total, "sum") if len(idx) \
        else _ops.zeros([total], sp.dtype)
    return _rstf.reshape(flat, list(sp._shape))


def to_dense(sp_input, default_value=None, validate_indices=True, name=None) -> Tensor:
    """The dense tensor, ``default_value`` (zero by default) where no value is given. With
    ``validate_indices`` the indices must be in bounds, sorted in row-major order and unique.

    >>> import rstf as tf
    >>> st = tf.sparse.SparseTensor([[1, 0], [0, 1]], [1.0, 2.0], [2, 2])
    >>> tf.sparse.to_dense(tf.sparse.reorder(st)).numpy()
    array([[0., 2.],
           [1., 0.]], dtype=float32)
    """
    sp = _check(sp_input)
    idx = sp._index_np()
    shape = np.asarray(sp._shape, dtype=np.int64)
    op = "SparseToDense"
    lin = None
    if validate_indices:
        for k in range(len(idx)):
            if ((idx[k] < 0) | (idx[k] >= shape)).any():
                raise InvalidArgumentError(f"{op}: indices[{k}] = {_fmt(idx[k])} is out of bounds: "
                                           f"need 0 <= index < {_fmt(shape)}")
            if k and tuple(idx[k]) <= tuple(idx[k - 1]):
                what = "is repeated" if tuple(idx[k]) == tuple(idx[k - 1]) else (
                    "is out of order. Many sparse ops require sorted indices.\n"
                    "    Use `tf.sparse.reorder` to create a correctly ordered copy.\n\n")
                raise InvalidArgumentError(f"{op}: indices[{k}] = {_fmt(idx[k])} {what}")
    else:
        _bounds(sp, op, idx)
    total = int(np.prod(shape))
    lin = _linear(idx, sp._shape)
    where = np.full(total, len(idx), dtype=np.int64)
    where[lin] = np.arange(len(idx))  # the last of repeated indices wins, as TensorFlow's
    default = 0 if default_value is None else default_value
    return _rstf.reshape(_composite.gather_or_fill(sp.values, where, default), list(sp._shape))


def from_dense(tensor, name=None) -> SparseTensor:
    """The non-zero elements of a dense tensor, in row-major order.

    >>> import rstf as tf
    >>> tf.sparse.from_dense([[1, 0], [0, 3]]).indices.numpy()
    array([[0, 0],
           [1, 1]])
    """
    t = _ops.convert_to_tensor(tensor)
    if t.ndim == 0:
        raise InvalidArgumentError("Where: WhereOp : Unhandled input dimensions: 0")
    a = concrete(t, "the dense tensor")
    idx = np.argwhere(a != 0).astype(np.int64).reshape(-1, t.ndim)
    values = _rstf.gather(_rstf.reshape(t, [-1]), int64(_linear(idx, t.shape)), 0)
    return SparseTensor(int64(idx), values, list(t.shape))


def reorder(sp_input, name=None) -> SparseTensor:
    """The same sparse tensor with its indices in row-major order (a stable sort).

    >>> import rstf as tf
    >>> st = tf.sparse.reorder(tf.sparse.SparseTensor([[1, 0], [0, 1]], [1, 2], [2, 2]))
    >>> st.values.numpy()
    array([2, 1], dtype=int32)
    """
    sp = _check(sp_input)
    idx = sp._index_np()
    order = _lex_order(idx)
    return SparseTensor(int64(idx[order]), _rstf.gather(sp.values, int64(order), 0), sp.dense_shape)


def reshape(sp_input, shape, name=None) -> SparseTensor:
    """The same elements in a tensor of another shape (one dimension may be -1).

    >>> import rstf as tf
    >>> st = tf.sparse.SparseTensor([[0, 1], [1, 2]], [1, 2], [2, 3])
    >>> tf.sparse.reshape(st, [3, -1]).indices.numpy()
    array([[0, 1],
           [2, 1]])
    """
    sp = _check(sp_input)
    new = list(_ops._shape_list(shape, "SparseReshape", "shape"))
    total = int(np.prod(sp._shape, dtype=np.int64))
    if new.count(-1) > 1:
        raise InvalidArgumentError(f"SparseReshape: only one output dimension may be -1, not both "
                                   f"{new.index(-1)} and {len(new) - 1 - new[::-1].index(-1)}. "
                                   f"Shape: {_fmt(new)}")
    if -1 in new:
        known = int(np.prod([d for d in new if d != -1], dtype=np.int64))
        if known == 0 or total % known:
            raise InvalidArgumentError(
                f"SparseReshape: Input to reshape is a tensor with {total} dense values, but the requested "
                f"shape requires a multiple of {known}. input_shape={_fmt(sp._shape)} "
                f"output_shape={_fmt(new)}")
        new[new.index(-1)] = total // known
    if int(np.prod(new, dtype=np.int64)) != total:
        raise InvalidArgumentError(
            f"SparseReshape: Input to reshape is a tensor with {total} dense values, but the requested shape "
            f"has {int(np.prod(new, dtype=np.int64))}. input_shape={_fmt(sp._shape)} "
            f"output_shape={_fmt(new)}")
    lin = _linear(sp._index_np(), sp._shape)
    idx = np.stack(np.unravel_index(lin, new), axis=1) if new else np.zeros((len(lin), 0), np.int64)
    return SparseTensor(int64(idx), sp.values, new)


def transpose(sp_input, perm=None, name=None) -> SparseTensor:
    """Permutes the dimensions (reverses them by default); the result is in row-major order.

    >>> import rstf as tf
    >>> st = tf.sparse.SparseTensor([[0, 1]], [5], [2, 3])
    >>> tf.sparse.transpose(st).dense_shape.numpy()
    array([3, 2])
    """
    sp = _check(sp_input)
    rank = len(sp._shape)
    p = list(range(rank))[::-1] if perm is None else list(_ops._shape_list(perm, "SparseTranspose", "perm"))
    if sorted(p) != list(range(rank)):
        raise InvalidArgumentError(f"SparseTranspose: perm {_fmt(p)} is not a permutation of [0, {rank})")
    idx = sp._index_np()[:, p]
    return reorder(SparseTensor(int64(idx), sp.values, [sp._shape[i] for i in p]))


def _same_dtype(a: Tensor, b: Tensor, op: str, position: int):
    if a.dtype != b.dtype:
        raise InvalidArgumentError(
            f"cannot compute {op} as input #{position}(zero-based) was expected to be a "
            f"{_args.tf_name(a.dtype)} tensor but is a {_args.tf_name(b.dtype)} tensor")


def add(a, b, threshold=0, name=None):
    """``a + b``: two sparse tensors give a sparse tensor (the union of their indices, sums
    whose magnitude is below ``threshold`` left out); a sparse and a dense tensor of the same
    shape give a dense tensor.

    >>> import rstf as tf
    >>> a = tf.sparse.SparseTensor([[0, 1]], [1.0], [2, 2])
    >>> b = tf.sparse.SparseTensor([[0, 1], [1, 0]], [2.0, 5.0], [2, 2])
    >>> tf.sparse.add(a, b).values.numpy()
    array([3., 5.], dtype=float32)
    >>> tf.sparse.add(a, tf.ones([2, 2])).numpy()
    array([[1., 2.],
           [1., 1.]], dtype=float32)
    """
    if not isinstance(a, SparseTensor):
        a, b = b, a
    if not isinstance(a, SparseTensor):
        raise TypeError("tf.sparse.add: at least one of `a` and `b` must be a SparseTensor")
    if not isinstance(b, SparseTensor):
        b = _ops.convert_to_tensor(b, dtype=a.dtype) if not isinstance(b, Tensor) else b
        op = "SparseTensorDenseAdd"
        _same_dtype(a.values, b, op, 3)
        if b.ndim != len(a._shape):
            raise InvalidArgumentError(f"{op}: Two operands have different ranks; received: "
                                       f"{len(a._shape)} and {b.ndim}")
        for i, (x, y) in enumerate(zip(a._shape, b.shape)):
            if x != y:
                raise InvalidArgumentError(f"{op}: Dimension {i} does not equal (no broadcasting is "
                                           f"supported): sparse side {x} vs dense side {y}")
        return _dense_sum(a, op) + b
    op = "SparseAdd"
    _same_dtype(a.values, b.values, op, 4)
    if len(a._shape) != len(b._shape):
        raise InvalidArgumentError(f"{op}: Operands do not have the same ranks; got {len(a._shape)} "
                                   f"and {len(b._shape)}")
    for i, (x, y) in enumerate(zip(a._shape, b._shape)):
        if x != y:
            raise InvalidArgumentError(f"{op}: Operands' shapes do not match: got {x} and {y} for "
                                       f"dimension {i}")
    idx = np.concatenate([a._index_np(), b._index_np()])
    if len(idx):
        uniq, inverse = np.unique(idx, axis=0, return_inverse=True)
    else:
        uniq, inverse = idx, np.zeros(0, np.int64)
    values = _rstf.concat([a.values, b.values], 0)
    sums = _composite.segment_reduce(values, inverse.reshape(-1), len(uniq), "sum") if len(uniq) else values
    thresh = float(threshold)
    if thresh > 0 and len(uniq):
        magnitudes = np.abs(concrete(sums, "the sums (with a threshold)").astype(np.float64))
        keep = np.nonzero(magnitudes >= thresh)[0]
        uniq, sums = uniq[keep], _rstf.gather(sums, int64(keep), 0)
    return SparseTensor(int64(uniq.reshape(len(uniq), len(a._shape))), sums, a.dense_shape)


def sparse_dense_matmul(sp_a, b, adjoint_a=False, adjoint_b=False, name=None) -> Tensor:
    """The matrix product of a sparse and a dense matrix (either may be the sparse one).

    >>> import rstf as tf
    >>> st = tf.sparse.SparseTensor([[0, 1], [1, 0], [1, 1]], [13, 15, 17], [2, 2])
    >>> tf.sparse.sparse_dense_matmul(st, tf.constant([[4], [6]])).numpy()
    array([[ 78],
           [162]], dtype=int32)
    """
    op = "SparseTensorDenseMatMul"
    sparse_first = isinstance(sp_a, SparseTensor)
    sp, dense = (sp_a, b) if sparse_first else (b, sp_a)
    if not isinstance(sp, SparseTensor):
        raise TypeError(f"{op}: one of the operands must be a SparseTensor")
    dense = dense if isinstance(dense, Tensor) else _ops.convert_to_tensor(dense, dtype=sp.dtype)
    _same_dtype(sp.values, dense, op, 3)
    if len(sp._shape) != 2 or dense.ndim != 2:
        raise InvalidArgumentError(f"{op}: Tensor 'a' and 'b' must be matrices, got shapes "
                                   f"{_fmt(sp._shape)} and {_fmt(dense.shape)}")
    s = _dense_sum(sp, op)
    x, y, tx, ty = (s, dense, adjoint_a, adjoint_b) if sparse_first else (dense, s, adjoint_a, adjoint_b)
    xs = x.shape[::-1] if tx else x.shape
    ys = y.shape[::-1] if ty else y.shape
    if xs[1] != ys[0]:
        raise InvalidArgumentError(
            f"{op}: Cannot multiply A and B because inner dimension does not match: {xs[1]} vs. {ys[0]}.  "
            f"Did you forget a transpose?  Dimensions of A: [{xs[0]}, {xs[1]}).  Dimensions of B: "
            f"{_fmt(ys)}")
    return _ops.matmul(x, y, transpose_a=bool(tx), transpose_b=bool(ty))


def _axes(axis, rank: int, op: str) -> list:
    axes = list(range(rank)) if axis is None else (
        [int(a) for a in axis] if isinstance(axis, (list, tuple)) else [int(axis)])
    for a in axes:
        if not -rank <= a < rank:
            raise InvalidArgumentError(f"{op}: Invalid reduction dimension {a}, for input with {rank} "
                                       "dimensions.")
    return sorted({a % rank for a in axes})


def _reduce(sp_input, axis, keepdims, output_is_sparse, kind: str, op: str):
    """Reduces the explicit values by group (their indices without the reduced axes); a
    group without values gives 0."""
    sp = _check(sp_input)
    rank = len(sp._shape)
    axes = _axes(axis, rank, op)
    idx = _bounds(sp, op)
    out = idx.copy()
    out[:, axes] = 0
    out = out if keepdims else out[:, [i for i in range(rank) if i not in axes]]
    shape = [1 if (i in axes) else d for i, d in enumerate(sp._shape)] if keepdims else [
        d for i, d in enumerate(sp._shape) if i not in axes]
    groups, segment = (np.unique(out, axis=0, return_inverse=True) if len(out)
                       else (out, np.zeros(0, np.int64)))
    groups = groups.reshape(len(groups), len(shape))
    values = _composite.segment_reduce(sp.values, segment.reshape(-1), len(groups), kind)
    if output_is_sparse:
        return SparseTensor(int64(groups), values, shape)
    where = np.full(int(np.prod(shape, dtype=np.int64)), len(groups), dtype=np.int64)
    where[_linear(groups, shape)] = np.arange(len(groups))
    return _rstf.reshape(_composite.gather_or_fill(values, where, 0), shape)


def reduce_sum(sp_input, axis=None, keepdims=None, output_is_sparse=False, name=None):
    """The sum over ``axis`` (all axes when None): a dense tensor, or with
    ``output_is_sparse`` a sparse one holding the groups that had values.

    >>> import rstf as tf
    >>> st = tf.sparse.SparseTensor([[0, 0], [1, 2]], [1.0, 3.0], [2, 3])
    >>> tf.sparse.reduce_sum(st, axis=1).numpy()
    array([1., 3.], dtype=float32)
    """
    return _reduce(sp_input, axis, keepdims, output_is_sparse, "sum", "SparseReduceSum")


def reduce_max(sp_input, axis=None, keepdims=None, output_is_sparse=False, name=None):
    """The largest explicit value over ``axis`` (implicit zeros are not values; a group
    without values gives 0), dense or (``output_is_sparse``) sparse.

    >>> import rstf as tf
    >>> st = tf.sparse.SparseTensor([[0, 0], [0, 2], [1, 1]], [-1.0, -2.0, -3.0], [3, 3])
    >>> tf.sparse.reduce_max(st, axis=1).numpy()
    array([-1., -3.,  0.], dtype=float32)
    """
    return _reduce(sp_input, axis, keepdims, output_is_sparse, "max", "SparseReduceMax")


def _union(a, b, op: str):
    """The union of two sparse tensors' indices, and each one's values there (0 elsewhere)."""
    _same_dtype(a.values, b.values, op, 4)
    if a._shape != b._shape:
        raise InvalidArgumentError(f"{op}: Operands' shapes do not match: {_fmt(a._shape)} and "
                                   f"{_fmt(b._shape)}")
    ia, ib = a._index_np(), b._index_np()
    both = np.concatenate([ia, ib])
    union = np.unique(both, axis=0) if len(both) else both
    lin = _linear(union, a._shape)

    def at_union(sp, idx):
        where = np.full(len(union), len(idx), dtype=np.int64)
        where[np.searchsorted(lin, _linear(idx, a._shape))] = np.arange(len(idx))
        return _composite.gather_or_fill(sp.values, where, 0)

    return union.reshape(len(union), len(a._shape)), at_union(a, ia), at_union(b, ib)


def minimum(sp_a, sp_b, name=None) -> SparseTensor:
    """The elementwise minimum of two sparse tensors of one shape (missing values are 0).

    >>> import rstf as tf
    >>> a = tf.sparse.SparseTensor([[0, 0]], [-1.0], [2, 2])
    >>> tf.sparse.minimum(a, tf.sparse.SparseTensor([[1, 1]], [2.0], [2, 2])).values.numpy()
    array([-1.,  0.], dtype=float32)
    """
    idx, x, y = _union(_check(sp_a), _check(sp_b), "SparseSparseMinimum")
    return SparseTensor(int64(idx), _ops.minimum(x, y), sp_a.dense_shape)


def maximum(sp_a, sp_b, name=None) -> SparseTensor:
    """The elementwise maximum of two sparse tensors of one shape (missing values are 0)."""
    idx, x, y = _union(_check(sp_a), _check(sp_b), "SparseSparseMaximum")
    return SparseTensor(int64(idx), _ops.maximum(x, y), sp_a.dense_shape)


def eye(num_rows, num_columns=None, dtype="float32", name=None) -> SparseTensor:
    """A sparse identity matrix.

    >>> import rstf as tf
    >>> tf.sparse.eye(2).indices.numpy()
    array([[0, 0],
           [1, 1]])
    """
    n, m = int(num_rows), int(num_rows if num_columns is None else num_columns)
    k = np.arange(min(n, m), dtype=np.int64)
    return SparseTensor(int64(np.stack([k, k], axis=1)), _ops.ones([len(k)], dtype), [n, m])


def reset_shape(sp_input, new_shape=None) -> SparseTensor:
    """The same values in a dense shape at least as large (the tightest one by default)."""
    sp = _check(sp_input)
    idx = sp._index_np()
    if new_shape is None:
        shape = (idx.max(axis=0) + 1).tolist() if len(idx) else [0] * len(sp._shape)
    else:
        shape = list(_ops._shape_list(new_shape, "SparseResetShape", "new_shape"))
        if len(shape) != len(sp._shape) or any(a < b for a, b in zip(shape, sp._shape)):
            raise ValueError(f"Requested new_shape should have dimension sizes >= sp_input.shape.  Found "
                             f"new_shape ({np.asarray(sp._shape)}), sp_input.shape ({np.asarray(shape)}).")
    return SparseTensor(sp.indices, sp.values, shape)


def fill_empty_rows(sp_input, default_value, name=None):
    """``(sparse tensor, empty_row_indicator)``: each row without values gets ``default_value``
    at column 0; the indicator says which rows were empty."""
    sp = _check(sp_input)
    idx = sp._index_np()
    n = sp._shape[0]
    empty = np.ones(n, dtype=bool)
    empty[idx[:, 0]] = False
    rows = np.nonzero(empty)[0]
    extra = np.zeros((len(rows), len(sp._shape)), np.int64)
    extra[:, 0] = rows
    default = _rstf.reshape(_ops.convert_to_tensor(default_value, dtype=sp.dtype), [1])
    values = _rstf.concat([sp.values, _ops.tile(default, [len(rows)])], 0)
    both = np.concatenate([idx, extra])
    order = _lex_order(both)
    out = SparseTensor(int64(both[order]), _rstf.gather(values, int64(order), 0), sp.dense_shape)
    return out, _ops.constant(empty)


def concat(axis, sp_inputs, expand_nonconcat_dims=False, name=None) -> SparseTensor:
    """Joins sparse tensors along ``axis``; with ``expand_nonconcat_dims`` the other
    dimensions grow to the largest input's. The result is in row-major order.

    >>> import rstf as tf
    >>> a = tf.sparse.SparseTensor([[0, 0]], [1], [2, 2])
    >>> b = tf.sparse.SparseTensor([[1, 0]], [2], [2, 1])
    >>> tf.sparse.to_dense(tf.sparse.concat(1, [a, b])).numpy()
    array([[1, 0, 0],
           [0, 0, 2]], dtype=int32)
    """
    sps = [_check(s) for s in sp_inputs]
    if not sps:
        raise ValueError("tf.sparse.concat: sp_inputs must not be empty")
    rank = len(sps[0]._shape)
    ax = _args.single_int(axis, "SparseConcat", "concat_dim")
    if not -rank <= ax < rank:
        raise InvalidArgumentError(f"SparseConcat: Concat dimension must be in range [{-rank}, {rank}), "
                                   f"got {ax}")
    ax %= rank
    shape = list(sps[0]._shape)
    for pos, s in enumerate(sps[1:], 1):
        _same_dtype(sps[0].values, s.values, "SparseConcat", len(sps) + pos)
        if len(s._shape) != rank:
            raise InvalidArgumentError(f"SparseConcat: Ranks of all input tensors must match: expected "
                                       f"{rank} but got {len(s._shape)} at position {pos}")
        for d in range(rank):
            if d == ax:
                continue
            if expand_nonconcat_dims:
                shape[d] = max(shape[d], s._shape[d])
            elif s._shape[d] != shape[d]:
                raise InvalidArgumentError(f"SparseConcat: Input shapes must match: expected {shape[d]} for "
                                           f"dimension {d} but got {s._shape[d]} at position {pos}")
    parts, offset = [], 0
    for s in sps:
        idx = s._index_np().copy()
        idx[:, ax] += offset
        offset += s._shape[ax]
        parts.append(idx)
    shape[ax] = offset
    idx = np.concatenate(parts)
    order = _lex_order(idx)
    values = _rstf.gather(_rstf.concat([s.values for s in sps], 0), int64(order), 0)
    return SparseTensor(int64(idx[order]), values, shape)


def slice(sp_input, start, size, name=None) -> SparseTensor:  # noqa: A001
    """The part of the sparse tensor from ``start`` with ``size`` (clipped to the shape).

    >>> import rstf as tf
    >>> st = tf.sparse.SparseTensor([[0, 1], [2, 4]], [1, 2], [3, 5])
    >>> tf.sparse.slice(st, [1, 2], [5, 5]).indices.numpy()
    array([[1, 2]])
    """
    sp = _check(sp_input)
    rank = len(sp._shape)
    st_ = list(_ops._shape_list(start, "SparseSlice", "start"))
    sz = list(_ops._shape_list(size, "SparseSlice", "size"))
    if len(st_) != rank or len(sz) != rank:
        raise InvalidArgumentError(f"SparseSlice: Expected start and size to have {rank} elements, got "
                                   f"{len(st_)} and {len(sz)}")
    lo = np.asarray(st_, dtype=np.int64)
    shape = np.maximum(0, np.minimum(np.asarray(sz, dtype=np.int64), np.asarray(sp._shape) - lo))
    idx = sp._index_np()
    keep = np.nonzero(((idx >= lo) & (idx < lo + shape)).all(axis=1))[0]
    values = _rstf.gather(sp.values, int64(keep), 0)
    return SparseTensor(int64((idx[keep] - lo).reshape(len(keep), rank)), values, [int(d) for d in shape])


def split(sp_input=None, num_split=None, axis=None, name=None) -> list:
    """Splits along ``axis`` into ``num_split`` parts (the first ones one larger when the size
    does not divide evenly)."""
    sp = _check(sp_input)
    rank = len(sp._shape)
    ax = _args.single_int(axis, "SparseSplit", "axis") % rank
    n = sp._shape[ax]
    k = int(num_split)
    if k <= 0 or k > n:
        raise InvalidArgumentError(f"SparseSplit: num_split must be in the interval (0, {n}], got {k}")
    sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    out, lo = [], 0
    for s in sizes:
        start = [0] * rank
        size = list(sp._shape)
        start[ax], size[ax] = lo, s
        out.append(slice(sp, start, size))
        lo += s
    return out


def retain(sp_input, to_retain) -> SparseTensor:
    """The values where the boolean vector ``to_retain`` is true.

    >>> import rstf as tf
    >>> st = tf.sparse.SparseTensor([[0, 0], [1, 1]], [1, 2], [2, 2])
    >>> tf.sparse.retain(st, [False, True]).values.numpy()
    array([2], dtype=int32)
    """
    sp = _check(sp_input)
    mask = concrete(_ops.convert_to_tensor(to_retain), "to_retain").astype(bool)
    if mask.ndim != 1:
        raise ValueError(f"Shape {TensorShape(mask.shape)} must have rank 1")
    if mask.shape[0] != sp.values.shape[0]:
        raise ValueError(f"Dimensions {sp.values.shape[0]} and {mask.shape[0]} are not compatible")
    keep = np.nonzero(mask)[0]
    return SparseTensor(int64(sp._index_np()[keep]), _rstf.gather(sp.values, int64(keep), 0), sp.dense_shape)


def expand_dims(sp_input, axis=None, name=None) -> SparseTensor:
    """A dimension of size 1 inserted at ``axis`` (``-1``: last).

    >>> import rstf as tf
    >>> tf.sparse.expand_dims(tf.sparse.SparseTensor([[1]], [5], [3]), 0).shape
    TensorShape([1, 3])
    """
    sp = _check(sp_input)
    rank = len(sp._shape)
    ax = _args.single_int(-1 if axis is None else axis, "ExpandDims", "Tdim")
    if not -rank - 1 <= ax <= rank:
        raise InvalidArgumentError(f"ExpandDims: Tried to expand dim index {ax} for tensor with {rank} "
                                   "dimensions.")
    ax = ax % (rank + 1)
    idx = np.insert(sp._index_np(), ax, 0, axis=1)
    shape = list(sp._shape)
    shape.insert(ax, 1)
    return SparseTensor(int64(idx), sp.values, shape)


def to_indicator(sp_input, vocab_size, name=None) -> Tensor:
    """A bool tensor with a last dimension of ``vocab_size``: true at ``[..., v]`` where the
    row holds the id ``v`` (ids outside ``[0, vocab_size)`` are left out).

    >>> import rstf as tf
    >>> st = tf.sparse.SparseTensor([[0, 0], [0, 1], [1, 0]], [0, 3, 2], [2, 2])
    >>> tf.sparse.to_indicator(st, 4).numpy()
    array([[ True, False, False,  True],
           [False, False,  True, False]])
    """
    sp = _check(sp_input)
    if not sp.dtype.is_integer:
        raise TypeError(f"to_indicator: the values must be integers, got {sp.dtype!r}")
    ids = concrete(sp.values, "the ids").astype(np.int64)
    idx = sp._index_np()
    out = np.zeros(list(sp._shape[:-1]) + [int(vocab_size)], dtype=bool)
    ok = (ids >= 0) & (ids < int(vocab_size))
    out[tuple(idx[ok, :-1].T) + (ids[ok],)] = True
    return _ops.constant(out)


def map_values(op, *args, **kwargs) -> SparseTensor:
    """``op`` applied to the values of the sparse arguments (which must share their indices
    and shape), other arguments passed as they are.

    >>> import rstf as tf
    >>> st = tf.sparse.SparseTensor([[0, 1], [1, 0]], [1, 2], [2, 2])
    >>> tf.sparse.map_values(tf.add, st, 5).values.numpy()
    array([6, 7], dtype=int32)
    """
    found = [x for x in nest.flatten((args, kwargs)) if isinstance(x, SparseTensor)]
    if not found:
        raise ValueError("No SparseTensor in argument list of map_values")
    first = found[0]
    for other in found[1:]:
        a, b = first._index_np(), other._index_np()
        if a.shape != b.shape or not (a == b).all() or first._shape != other._shape:
            raise InvalidArgumentError(f"Mismatched indices!\nCondition x == y did not hold.\n"
                                       f"x (indices) = {a.tolist()}\ny (indices) = {b.tolist()}")

    def unwrap(x):
        return x.values if isinstance(x, SparseTensor) else x

    new_args = nest.map_structure(unwrap, list(args))
    new_kwargs = {k: unwrap(v) for k, v in kwargs.items()}
    return SparseTensor(first.indices, op(*new_args, **new_kwargs), first.dense_shape)
