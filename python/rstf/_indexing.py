"""TensorFlow's slicing, gathering and scattering ops (its ``tensor_slicing`` guide), composed
from rstf's primitives: ``Slice``, ``Gather`` and ``GatherGrad`` (a scatter-add), so that they
have gradients and run inside traced functions.

Ops whose result's shape depends on the values (``boolean_mask``, ``where(cond)``, ``unique``,
the sorted ``segment_*`` ops, ``bincount``, ``confusion_matrix`` without ``num_classes``)
compute their indices on the host: inside a traced function that part is a graph node calling
back into Python on each run (such a function cannot be saved in a SavedModel). Segment
maxima, minima and products are computed on the host with TensorFlow's gradients.

>>> import rstf as tf
>>> tf.gather_nd(tf.constant([[1, 2], [3, 4]]), [[1, 0], [0, 1]]).numpy()
array([3, 2], dtype=int32)
>>> tf.scatter_nd([[1], [3]], [9.0, 7.0], [5]).numpy()
array([0., 9., 0., 7., 0.], dtype=float32)
"""

from __future__ import annotations

import collections

import numpy as np

from . import _args, _ops, _rstf
from ._rstf import Tensor
from .dtypes import as_dtype
from .errors import InvalidArgumentError

__all__ = ["slice", "strided_slice", "gather_nd", "scatter_nd", "tensor_scatter_nd_update",
           "tensor_scatter_nd_add", "tensor_scatter_nd_sub", "tensor_scatter_nd_max",
           "tensor_scatter_nd_min", "boolean_mask", "unique", "unique_with_counts"]


Unique = collections.namedtuple("Unique", ["y", "idx"])
UniqueWithCounts = collections.namedtuple("UniqueWithCounts", ["y", "idx", "count"])
_BF16_MAX = 3.3895313892515355e38


# ----------------------------------------------------------------------------- helpers

def _t(x, dtype=None) -> Tensor:
    return x if isinstance(x, Tensor) and dtype is None else _ops.convert_to_tensor(x, dtype=dtype)


def _concrete(*ts) -> bool:
    """True when the values are known now (not traced values of a function being traced)."""
    return not (_rstf.is_tracing() and any(_rstf.is_symbolic(t) for t in ts))


def _host(name: str, fn, inputs) -> list:
    """``fn(*numpy arrays) -> [numpy arrays]`` as tensors; inside a traced function a graph
    node that calls ``fn`` on every run."""
    inputs = [_t(x) for x in inputs]

    def run(*ts):
        return [_rstf.constant(np.ascontiguousarray(a), None, None) for a in fn(*[np.asarray(t) for t in ts])]

    if _concrete(*inputs):
        return run(*inputs)
    depth = _rstf.trace_suspend()
    try:
        outs = run(*inputs)
    finally:
        _rstf.trace_resume(depth)
    return _rstf.trace_callback(name, run, inputs, outs)


def _with_gradient(inputs, forward, backward) -> list:
    """``forward()``'s tensors, which tapes differentiate with ``backward(*dys)`` (one gradient
    or None per input), as ``tf.custom_gradient`` does."""
    tracing = _rstf.is_tracing()
    (_rstf.hide_tapes if tracing else _rstf.pause_recording)()
    try:
        outs = forward()
    finally:
        (_rstf.unhide_tapes if tracing else _rstf.resume_recording)()
    return _rstf.record_gradient(inputs, outs, backward)


def _indices(x, op, allowed="int16, int32, int64") -> Tensor:
    t = _t(x)
    if not t.dtype.is_integer or t.dtype.name == "uint8":
        raise _args.attr_error(op, "Tindices", t.dtype.name, allowed)
    return t


def _dims(shape) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def _prod(dims) -> int:
    return int(np.prod(dims, dtype=np.int64))


def _flat_index(idx: Tensor, dims) -> Tensor:
    """The row-major position of each index vector (``idx[..., :]``) in ``dims``, int64."""
    strides = [_prod(dims[i + 1:]) for i in range(len(dims))]
    if not dims:
        return _ops.zeros(list(idx.shape[:-1]), dtype="int64")
    i64 = _rstf.cast(idx, "int64")
    return _ops.reduce_sum(i64 * _rstf.constant(np.array(strides, np.int64), None, None), axis=-1)


def _check_nd(idx: Tensor, dims, what: str, op: str) -> None:
    """Every index vector lies inside ``dims`` (known values only, as TensorFlow's CPU kernels)."""
    if not _concrete(idx) or idx.shape[-1] == 0:
        return
    a = np.asarray(idx).reshape(-1, idx.shape[-1]).astype(np.int64)
    bad = np.nonzero(((a < 0) | (a >= np.array(dims, np.int64))).any(axis=1))[0]
    if bad.size:
        i = int(bad[0])
        vals = ", ".join(str(v) for v in a[i])
        pos = ",".join(str(p) for p in np.unravel_index(i, idx.shape[:-1])) if idx.ndim > 1 else str(i)
        raise InvalidArgumentError(f"{op}: indices[{pos}] = [{vals}] does not index into {what}")


def _scatter_rows(flat: Tensor, data: Tensor, n: int, rest) -> Tensor:
    """Zeros of ``[n] + rest`` with each row of ``data`` (shape ``flat.shape + rest``) added at
    its position in ``flat`` (in range); gradients flow to ``data``."""
    dt = data.dtype
    if dt.is_floating:
        return _ops._apply("GatherGrad", {"shape": [n] + list(rest), "axis": 0}, flat, data)[0]
    if not dt.is_bool and _concrete(flat, data):  # exact integer sums (wrapping as TensorFlow's)
        out = np.zeros([n] + list(rest), np.asarray(data).dtype)
        np.add.at(out, np.asarray(flat).reshape(-1), np.asarray(data).reshape([-1] + list(rest)))
        return _rstf.constant(out, dt.name, None)
    r = _scatter_rows(flat, _rstf.cast(data, "float64"), n, rest)
    return _ops.greater(r, 0.0) if dt.is_bool else _rstf.cast(r, dt.name)


# ----------------------------------------------------------------------------- slicing

def slice(input_, begin, size, name=None) -> Tensor:  # noqa: A001
    """The part of ``input_`` of ``size`` starting at ``begin`` (a size of -1 takes the rest of
    that dimension).

    >>> import rstf as tf
    >>> tf.slice(tf.constant([[1, 2, 3], [4, 5, 6]]), [0, 1], [2, -1]).numpy()
    array([[2, 3],
           [5, 6]], dtype=int32)
    """
    x = _t(input_)
    b = _ops._shape_list(begin, "Slice", "Index")
    s = _ops._shape_list(size, "Slice", "Index")
    if len(b) != x.ndim or len(s) != x.ndim:
        raise InvalidArgumentError(f"Slice: Expected begin and size arguments to be 1-D tensors of size "
                                   f"{x.ndim}, but got shapes [{len(b)}] and [{len(s)}] instead.")
    items = []
    for i, (bi, si, d) in enumerate(zip(b, s, x.shape)):
        if not 0 <= bi <= d:
            raise InvalidArgumentError(f"Slice: Expected begin[{i}] in [0, {d}], but got {bi}")
        if si == -1:
            si = d - bi
        if not 0 <= si <= d - bi:
            raise InvalidArgumentError(f"Slice: Expected size[{i}] in [0, {d - bi}], but got {si}")
        items.append({"Range": {"start": bi, "stop": bi + si, "step": 1}})
    return _ops._apply("Slice", items, x)[0]


def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0, ellipsis_mask=0,
                  new_axis_mask=0, shrink_axis_mask=0, var=None, name=None) -> Tensor:
    """``input_[begin:end:strides]`` per dimension, with TensorFlow's masks: bit ``i`` of
    ``begin_mask``/``end_mask`` ignores ``begin[i]``/``end[i]``, of ``ellipsis_mask`` makes
    entry ``i`` an ellipsis, of ``new_axis_mask`` a new axis, of ``shrink_axis_mask`` a single
    index (removing the dimension).

    >>> import rstf as tf
    >>> t = tf.reshape(tf.range(12), [3, 4])
    >>> tf.strided_slice(t, [0, 3], [3, 0], [2, -1], end_mask=1).numpy()
    array([[ 3,  2,  1],
           [11, 10,  9]], dtype=int32)
    >>> tf.strided_slice(t, [1], [2], shrink_axis_mask=1).numpy()
    array([4, 5, 6, 7], dtype=int32)
    """
    x = _t(input_)
    b = _ops._shape_list(begin, "StridedSlice", "Index")
    e = _ops._shape_list(end, "StridedSlice", "Index")
    s = [1] * len(b) if strides is None else _ops._shape_list(strides, "StridedSlice", "Index")
    if not len(b) == len(e) == len(s):
        raise InvalidArgumentError(
            f"StridedSlice: Expected begin, end, and strides to be 1D equal size tensors, but got shapes "
            f"[{len(b)}], [{len(e)}], and [{len(s)}] instead.")
    if bin(int(ellipsis_mask)).count("1") > 1:
        raise InvalidArgumentError("StridedSlice: Multiple ellipses in slice spec not allowed")
    n = len(b)
    bit = [lambda m, i=i: bool(int(m) >> i & 1) for i in range(n)]
    consuming = [not bit[i](ellipsis_mask) and not bit[i](new_axis_mask) for i in range(n)]
    items, dim = [], 0
    for i in range(n):
        if s[i] == 0:
            raise InvalidArgumentError(f"StridedSlice: strides[{i}] must be non-zero")
        if bit[i](ellipsis_mask):
            items.append("Ellipsis")
            dim = x.ndim - sum(consuming[i + 1:])
        elif bit[i](new_axis_mask):
            items.append("NewAxis")
        elif bit[i](shrink_axis_mask):
            d = x.shape[dim] if dim < x.ndim else 0
            if not -d <= b[i] < d:
                raise InvalidArgumentError(
                    f"StridedSlice: slice index {b[i]} of dimension {dim} out of bounds.")
            items.append({"Index": b[i]})
            dim += 1
        else:
            items.append({"Range": {"start": None if bit[i](begin_mask) else b[i],
                                    "stop": None if bit[i](end_mask) else e[i], "step": s[i]}})
            dim += 1
    return _ops._apply("Slice", items, x)[0]


# ----------------------------------------------------------------------------- gather / scatter

def gather_nd(params, indices, batch_dims=0, name=None) -> Tensor:
    """Slices of ``params`` at the index vectors in the last dimension of ``indices``: the
    result has shape ``indices.shape[:-1] + params.shape[indices.shape[-1]:]`` (the first
    ``batch_dims`` dimensions are shared batch dimensions). Its gradient scatters back.

    >>> import rstf as tf
    >>> p = tf.reshape(tf.range(12), [2, 3, 2])
    >>> tf.gather_nd(p, [[1], [2]], batch_dims=1).numpy()
    array([[ 2,  3],
           [10, 11]], dtype=int32)
    """
    p, idx = _t(params), _indices(indices, "GatherNd")
    b = _args.single_int(batch_dims, "GatherNd", "batch_dims", strict=True, what="batch_dims")
    if idx.ndim == 0:
        raise InvalidArgumentError("GatherNd: indices must be at least a vector; got shape []")
    if b < 0 or b >= idx.ndim or b > p.ndim:
        raise InvalidArgumentError(f"GatherNd: batch_dims = {b} must be in [0, {min(idx.ndim - 1, p.ndim)}]")
    k = idx.shape[-1]
    if b + k > p.ndim:
        raise InvalidArgumentError(f"GatherNd: index innermost dimension length must be <= params rank; "
                                   f"saw: {b + k} vs. {p.ndim}")
    batch = list(p.shape[:b])
    if list(idx.shape[:b]) != batch:
        raise InvalidArgumentError(f"GatherNd: batch dimensions of params {_dims(p.shape)} and indices "
                                   f"{_dims(idx.shape)} differ")
    dims, rest = list(p.shape[b:b + k]), list(p.shape[b + k:])
    _check_nd(idx, dims, f"param shape {_dims(p.shape)}, node name: GatherNd", "GatherNd")
    flat = _flat_index(idx, dims)
    cells = _prod(dims)
    if b:
        nb = _prod(batch)
        offsets = (np.arange(nb, dtype=np.int64) * cells).reshape(batch + [1] * (idx.ndim - 1 - b))
        flat = flat + _rstf.constant(offsets, None, None)
    return _rstf.gather(_rstf.reshape(p, [_prod(batch) * cells] + rest), flat, 0)


def _check_updates(idx: Tensor, u: Tensor, shape, op: str) -> tuple:
    k = idx.shape[-1] if idx.ndim else 0
    if idx.ndim == 0 or k > len(shape):
        raise InvalidArgumentError(f"{op}: indices {_dims(idx.shape)} must be at least a vector whose last "
                                   f"dimension is at most the rank of shape {_dims(shape)}")
    outer = list(idx.shape[:-1])
    want = outer + list(shape[k:])
    if list(u.shape) != want:
        raise InvalidArgumentError(
            f"{op}: updates must have shape indices.shape[:-1] + shape[{k}:] = {_dims(want)}; got "
            f"indices[shape={_dims(idx.shape)}], updates[shape={_dims(u.shape)}], shape {_dims(shape)}")
    _check_nd(idx, list(shape[:k]), f"shape {_dims(shape)}", op)
    return k, list(shape[:k]), list(shape[k:])


def scatter_nd(indices, updates, shape, name=None) -> Tensor:
    """Zeros of ``shape`` with ``updates`` added at ``indices`` (repeated indices add up).

    >>> import rstf as tf
    >>> tf.scatter_nd([[0, 1], [1, 0], [0, 1]], [1, 2, 3], [2, 2]).numpy()
    array([[0, 4],
           [2, 0]], dtype=int32)
    """
    idx, u = _indices(indices, "ScatterNd"), _t(updates)
    dims = _ops._shape_list(shape, "ScatterNd", "Tindices")
    _, head, rest = _check_updates(idx, u, dims, "ScatterNd")
    return _rstf.reshape(_scatter_rows(_flat_index(idx, head), u, _prod(head), rest), dims)


def _scatter_args(tensor, indices, updates, op):
    t = _t(tensor)
    idx = _indices(indices, op)
    u = _t(updates, None if isinstance(updates, Tensor) else t.dtype)
    if u.dtype != t.dtype:
        raise InvalidArgumentError(f"{op}: updates must have the dtype of tensor, {t.dtype.name}; got "
                                   f"{u.dtype.name}")
    _, head, rest = _check_updates(idx, u, list(t.shape), op)
    return t, idx, u, head, rest


def _scattered(tensor, indices, updates, op):
    t, idx, u, head, rest = _scatter_args(tensor, indices, updates, op)
    return t, _rstf.reshape(_scatter_rows(_flat_index(idx, head), u, _prod(head), rest), list(t.shape))


def tensor_scatter_nd_add(tensor, indices, updates, name=None) -> Tensor:
    """``tensor`` with ``updates`` added at ``indices``.

    >>> import rstf as tf
    >>> tf.tensor_scatter_nd_add([1, 2, 3, 4], [[1], [1]], [10, 20]).numpy()
    array([ 1, 32,  3,  4], dtype=int32)
    """
    t, s = _scattered(tensor, indices, updates, "TensorScatterAdd")
    return t + s


def tensor_scatter_nd_sub(tensor, indices, updates, name=None) -> Tensor:
    """``tensor`` with ``updates`` subtracted at ``indices``.

    >>> import rstf as tf
    >>> tf.tensor_scatter_nd_sub([1, 2, 3, 4], [[3]], [4]).numpy()
    array([1, 2, 3, 0], dtype=int32)
    """
    t, s = _scattered(tensor, indices, updates, "TensorScatterSub")
    return t - s


def _last_of_each(flat):
    """Positions of the last occurrence of each value of ``flat``, in order."""
    f = flat.reshape(-1)
    _, first_rev = np.unique(f[::-1], return_index=True)
    return [np.sort(f.size - 1 - first_rev).astype(np.int64)]


def tensor_scatter_nd_update(tensor, indices, updates, name=None) -> Tensor:
    """``tensor`` with the slices at ``indices`` replaced by ``updates`` (of repeated
    indices, the last update is kept, as TensorFlow's CPU kernel does).

    >>> import rstf as tf
    >>> tf.tensor_scatter_nd_update([[1, 2], [3, 4]], [[1]], [[7, 8]]).numpy()
    array([[1, 2],
           [7, 8]], dtype=int32)
    """
    t, idx, u, head, rest = _scatter_args(tensor, indices, updates, "TensorScatterUpdate")
    n = _prod(head)
    flat = _rstf.reshape(_flat_index(idx, head), [-1])
    rows = _rstf.reshape(u, [-1] + rest)
    (keep,) = _host("TensorScatterUpdate", _last_of_each, [flat])
    if keep.shape[0] != flat.shape[0]:
        flat, rows = _rstf.gather(flat, keep, 0), _rstf.gather(rows, keep, 0)
    hit = _scatter_rows(flat, _ops.ones(list(flat.shape), "float32"), n, [])
    mask = _rstf.reshape(_ops.greater(hit, 0.0), [n] + [1] * len(rest))
    new = _scatter_rows(flat, rows, n, rest)
    return _rstf.reshape(_rstf.select(mask, new, _rstf.reshape(t, [n] + rest)), list(t.shape))


def _scatter_extreme(tensor, indices, updates, largest):
    op = "TensorScatterMax" if largest else "TensorScatterMin"
    t, idx, u, head, rest = _scatter_args(tensor, indices, updates, op)
    n = _prod(head)
    flat = _rstf.reshape(_flat_index(idx, head), [-1])
    pick = np.maximum if largest else np.minimum

    def fwd(tv, fv, uv):
        out = tv.reshape([n] + rest).copy()
        pick.at(out, fv, uv.reshape([-1] + rest))
        return [out.reshape(tv.shape)]

    def forward():
        (r,) = _host(op, fwd, [t, flat, u])
        return [_rstf.cast(r, t.dtype.name)]

    if not t.dtype.is_floating:
        return forward()[0]

    def backward(dy):  # TensorFlow's: shared equally by the inputs equal to the result
        o = _rstf.reshape(result, [n] + rest)
        x_ind = _rstf.cast(_ops.equal(_rstf.reshape(t, [n] + rest), o), t.dtype.name)
        ur = _rstf.reshape(u, [-1] + rest)
        y_ind = _rstf.cast(_ops.equal(ur, _rstf.gather(o, flat, 0)), t.dtype.name)
        ind = x_ind + _scatter_rows(flat, y_ind, n, rest)
        g = _rstf.reshape(dy, [n] + rest) / ind
        return [_rstf.reshape(g * x_ind, list(t.shape)), None,
                _rstf.reshape(_rstf.gather(g, flat, 0) * y_ind, list(u.shape))]

    (result,) = _with_gradient([t, flat, u], forward, backward)
    return result


def tensor_scatter_nd_max(tensor, indices, updates, name=None) -> Tensor:
    """``tensor`` with each slice at ``indices`` replaced by its maximum with ``updates``.

    >>> import rstf as tf
    >>> tf.tensor_scatter_nd_max([1, 2, 3, 4], [[1], [1], [2]], [9, 8, 0]).numpy()
    array([1, 9, 3, 4], dtype=int32)
    """
    return _scatter_extreme(tensor, indices, updates, True)


def tensor_scatter_nd_min(tensor, indices, updates, name=None) -> Tensor:
    """``tensor`` with each slice at ``indices`` replaced by its minimum with ``updates``.

    >>> import rstf as tf
    >>> tf.tensor_scatter_nd_min([1, 2, 3, 4], [[1], [1], [2]], [9, 8, 0]).numpy()
    array([1, 2, 0, 4], dtype=int32)
    """
    return _scatter_extreme(tensor, indices, updates, False)


# ----------------------------------------------------------------------------- masks and where

def boolean_mask(tensor, mask, axis=None, name=None) -> Tensor:
    """The slices of ``tensor`` (from dimension ``axis``, default 0) where ``mask`` is true;
    the dimensions ``mask`` covers become one.

    >>> import rstf as tf
    >>> tf.boolean_mask(tf.constant([[1, 2, 3], [4, 5, 6]]), [True, False, True], axis=1).numpy()
    array([[1, 3],
           [4, 6]], dtype=int32)
    """
    t, m = _t(tensor), _t(mask)
    if m.ndim == 0:
        raise ValueError("mask cannot be scalar.")
    ax = 0 if axis is None else _args.py_axis(axis, "boolean_mask")
    if ax < 0:
        ax += t.ndim
    k = m.ndim
    got = tuple(t.shape[ax:ax + k])
    if ax < 0 or got != tuple(m.shape):
        raise ValueError(f"Shapes {got} and {tuple(m.shape)} are incompatible")
    (pos,) = _host("Where", lambda a: [np.flatnonzero(a).astype(np.int64)], [m])
    flat = _rstf.reshape(t, list(t.shape[:ax]) + [_prod(m.shape)] + list(t.shape[ax + k:]))
    return _rstf.gather(flat, pos, ax)


def _where_indices(condition) -> Tensor:
    """``tf.where(condition)``: the coordinates of the true (nonzero) elements, int64."""
    return _host("Where", lambda a: [np.argwhere(a).astype(np.int64)], [_t(condition)])[0]


# ----------------------------------------------------------------------------- segments

def _segment_args(data, segment_ids, op, sorted_):
    d, ids = _t(data), _indices(segment_ids, op, "int32, int64")
    if sorted_ and ids.ndim != 1:
        raise InvalidArgumentError(f"{op}: segment_ids should be a vector; got shape {_dims(ids.shape)}")
    if list(d.shape[:ids.ndim]) != list(ids.shape):
        raise InvalidArgumentError(f"{op}: data.shape = {_dims(d.shape)} does not start with "
                                   f"segment_ids.shape = {_dims(ids.shape)}")
    return d, ids


def _check_ids(ids: Tensor, n: int, op: str) -> bool:
    """Raises for ids past ``n``; True when some ids are negative (dropped)."""
    if not _concrete(ids):
        return True
    a = np.asarray(ids).reshape(-1)
    bad = np.nonzero(a >= n)[0]
    if bad.size:
        raise InvalidArgumentError(f"{op}: segment_ids[{int(bad[0])}] = {a[bad[0]]} is out of range [0, {n})")
    return bool((a < 0).any())


def unsorted_segment_sum(data, segment_ids, num_segments, name=None) -> Tensor:
    """Sums of the slices of ``data`` with each segment id (negative ids are dropped).

    >>> import rstf as tf
    >>> tf.math.unsorted_segment_sum([1, 2, 3, 4], [0, 2, -1, 0], 3).numpy()
    array([5, 0, 2], dtype=int32)
    """
    d, ids = _segment_args(data, segment_ids, "UnsortedSegmentSum", False)
    n = _args.count(num_segments, "UnsortedSegmentSum", "num_segments")
    rest = list(d.shape[ids.ndim:])
    flat = _rstf.cast(ids, "int64")
    if not _check_ids(ids, n, "UnsortedSegmentSum"):
        return _scatter_rows(flat, d, n, rest)
    flat = _rstf.select(_ops.less(flat, 0), _rstf.constant(n, "int64", None), flat)
    return _scatter_rows(flat, d, n + 1, rest)[:n]


def unsorted_segment_mean(data, segment_ids, num_segments, name=None) -> Tensor:
    """Means of the slices with each segment id (0 for empty segments; integers give float64).

    >>> import rstf as tf
    >>> tf.math.unsorted_segment_mean([1.0, 2.0, 3.0, 4.0], [0, 2, 0, 0], 3).numpy()
    array([2.6666667, 0.       , 2.       ], dtype=float32)
    """
    d, ids = _segment_args(data, segment_ids, "UnsortedSegmentSum", False)
    total = unsorted_segment_sum(d, ids, num_segments)
    ones = _ops.ones(list(ids.shape), d.dtype)
    count = _ops.maximum(unsorted_segment_sum(ones, ids, num_segments), _rstf.cast(1, d.dtype.name))
    return _ops.divide(total, _rstf.reshape(count, [-1] + [1] * (d.ndim - ids.ndim)))


def _check_sorted(iv, op):
    if iv.size and iv[0] < 0:
        raise InvalidArgumentError(f"{op}: Segment id {iv[0]} out of range [0, {iv[-1] + 1}), "
                                   "possibly because 'segment_ids' input is not sorted.")
    if (np.diff(iv) < 0).any():
        raise InvalidArgumentError(f"{op}: segment ids are not increasing")
    return int(iv[-1]) + 1 if iv.size else 0


def _segment_reduce(kind, data, segment_ids, num_segments, op):
    """A reduction over segments on the host, with TensorFlow's gradients (for float data).
    Sorted segment ops (``num_segments`` None) take the count from the ids, at run time, and
    give 0 for empty max/min."""
    sorted_ = num_segments is None
    d, ids = _segment_args(data, segment_ids, op, sorted_)
    dt = d.dtype
    rest = list(d.shape[ids.ndim:])
    n = None
    if not sorted_:
        n = _args.count(num_segments, op, "num_segments")
        _check_ids(ids, n, op)
    ufunc = {"max": np.maximum, "min": np.minimum, "prod": np.multiply}.get(kind, np.add)
    # (bfloat16's own limits: float32's would round to infinity)
    lo, hi = (-_BF16_MAX, _BF16_MAX) if dt.name == "bfloat16" else (dt.min, dt.max)
    init = {"max": lo, "min": hi, "prod": 1}.get(kind, 0)

    def fwd(dv, iv):
        iv = iv.reshape(-1).astype(np.int64)
        rows = dv.reshape([-1] + rest)
        m = _check_sorted(iv, op) if sorted_ else n
        keep = iv >= 0
        out = np.full([m] + rest, init, dtype=dv.dtype)
        ufunc.at(out, iv[keep], rows[keep])
        count = np.bincount(iv[keep], minlength=m).reshape([m] + [1] * len(rest))
        if sorted_ and kind in ("max", "min"):
            out = np.where(count == 0, np.zeros_like(out), out)
        if kind == "mean":
            c = np.maximum(count, 1)
            out = (out / c if dv.dtype.kind == "f" else np.sign(out) * (np.abs(out) // c)).astype(dv.dtype)
        return [out]

    def forward():
        (r,) = _host(f"Segment{kind.capitalize()}", fwd, [d, ids])
        return [r if r.dtype == dt else _rstf.cast(r, dt.name)]

    if not dt.is_floating:
        return forward()[0]

    def grad(dyv, dv, iv, ov):
        iv = iv.reshape(-1).astype(np.int64)
        rows, dyv, ov = dv.reshape([-1] + rest), dyv.astype(np.float64), ov.astype(np.float64)
        ok = iv >= 0
        keep = ok.reshape([-1] + [1] * len(rest))
        at = np.maximum(iv, 0)
        count = np.zeros_like(ov)
        if kind in ("sum", "mean"):
            np.add.at(count, at[ok], 1.0)
            g = dyv[at] / np.maximum(count[at], 1) if kind == "mean" else dyv[at]
        elif kind == "prod":  # TensorFlow's: divides by the element, zeros handled apart
            zero = rows == 0
            np.add.at(count, at[ok], zero[ok])
            others = np.ones_like(ov)
            np.multiply.at(others, at[ok], np.where(zero, 1, rows)[ok].astype(np.float64))
            with np.errstate(divide="ignore", invalid="ignore"):
                part = np.where(zero, others[at], ov[at] / np.where(zero, 1, rows))
            g = np.where(count[at] > 1, 0, dyv[at] * part)
        else:  # shared equally by the elements equal to the result
            sel = rows == ov[at]
            np.add.at(count, at[ok], sel[ok])
            with np.errstate(divide="ignore", invalid="ignore"):
                g = np.where(sel, dyv[at] / count[at], 0)
        return [np.where(keep, g, 0).reshape(dv.shape).astype(dv.dtype)]

    def backward(dy):
        (g,) = _host(f"Segment{kind.capitalize()}Grad", grad, [dy, d, ids, result])
        return [g if g.dtype == dt else _rstf.cast(g, dt.name), None]

    (result,) = _with_gradient([d, ids], forward, backward)
    return result


def unsorted_segment_max(data, segment_ids, num_segments, name=None) -> Tensor:
    """Maxima of the slices with each segment id (the dtype's lowest value for empty ones).

    >>> import rstf as tf
    >>> tf.math.unsorted_segment_max([1, 2, 3, 4], [0, 2, 0, 0], 3).numpy()
    array([          4, -2147483648,           2], dtype=int32)
    """
    return _segment_reduce("max", data, segment_ids, num_segments, "UnsortedSegmentMax")


def unsorted_segment_min(data, segment_ids, num_segments, name=None) -> Tensor:
    """Minima of the slices with each segment id (the dtype's highest value for empty ones).

    >>> import rstf as tf
    >>> tf.math.unsorted_segment_min([1, 2, 3, 4], [0, 2, 0, 0], 3).numpy()
    array([         1, 2147483647,          2], dtype=int32)
    """
    return _segment_reduce("min", data, segment_ids, num_segments, "UnsortedSegmentMin")


def unsorted_segment_prod(data, segment_ids, num_segments, name=None) -> Tensor:
    """Products of the slices with each segment id (1 for empty ones).

    >>> import rstf as tf
    >>> tf.math.unsorted_segment_prod([1.0, 2.0, 3.0, 4.0], [0, 2, 0, 0], 3).numpy()
    array([12.,  1.,  2.], dtype=float32)
    """
    return _segment_reduce("prod", data, segment_ids, num_segments, "UnsortedSegmentProd")


def segment_sum(data, segment_ids, name=None) -> Tensor:
    """Sums over sorted segment ids (0 for ids that do not occur).

    >>> import rstf as tf
    >>> tf.math.segment_sum([1, 2, 3, 4], [0, 0, 2, 2]).numpy()
    array([3, 0, 7], dtype=int32)
    """
    d, ids = _segment_args(data, segment_ids, "SegmentSum", True)
    if not d.dtype.is_floating or not _concrete(ids):
        return _segment_reduce("sum", d, ids, None, "SegmentSum")
    n = _check_sorted(np.asarray(ids).astype(np.int64), "SegmentSum")
    return _scatter_rows(_rstf.cast(ids, "int64"), d, n, list(d.shape[1:]))


def segment_mean(data, segment_ids, name=None) -> Tensor:
    """Means over sorted segment ids (0 for ids that do not occur; integer means truncate).

    >>> import rstf as tf
    >>> tf.math.segment_mean([1.0, 2.0, 3.0, 4.0], [0, 0, 2, 2]).numpy()
    array([1.5, 0. , 3.5], dtype=float32)
    """
    d, ids = _segment_args(data, segment_ids, "SegmentMean", True)
    if not d.dtype.is_floating or not _concrete(ids):
        return _segment_reduce("mean", d, ids, None, "SegmentMean")
    return unsorted_segment_mean(d, ids, _check_sorted(np.asarray(ids).astype(np.int64), "SegmentMean"))


def segment_max(data, segment_ids, name=None) -> Tensor:
    """Maxima over sorted segment ids (0 for ids that do not occur).

    >>> import rstf as tf
    >>> tf.math.segment_max([1.0, 2.0, 3.0, 4.0], [0, 0, 2, 2]).numpy()
    array([2., 0., 4.], dtype=float32)
    """
    return _segment_reduce("max", data, segment_ids, None, "SegmentMax")


def segment_min(data, segment_ids, name=None) -> Tensor:
    """Minima over sorted segment ids (0 for ids that do not occur).

    >>> import rstf as tf
    >>> tf.math.segment_min([1, 2, 3, 4], [0, 0, 2, 2]).numpy()
    array([1, 0, 3], dtype=int32)
    """
    return _segment_reduce("min", data, segment_ids, None, "SegmentMin")


def segment_prod(data, segment_ids, name=None) -> Tensor:
    """Products over sorted segment ids (1 for ids that do not occur).

    >>> import rstf as tf
    >>> tf.math.segment_prod([1.0, 2.0, 3.0, 4.0], [0, 0, 2, 2]).numpy()
    array([ 2.,  1., 12.], dtype=float32)
    """
    return _segment_reduce("prod", data, segment_ids, None, "SegmentProd")


# ----------------------------------------------------------------------------- counting

def bincount(arr, weights=None, minlength=None, maxlength=None, dtype="int32", name=None, axis=None,
             binary_output=False) -> Tensor:
    """How often each value ``0, 1, ...`` occurs in ``arr`` (summing ``weights`` instead of
    counting when given; 1 for present values with ``binary_output``): ``max(arr) + 1`` bins,
    at least ``minlength``, at most ``maxlength``. ``axis=-1`` counts each row of a matrix.

    >>> import rstf as tf
    >>> tf.math.bincount([1, 1, 3]).numpy()
    array([0, 2, 0, 1], dtype=int32)
    >>> tf.math.bincount([1, 1, 3], weights=[0.5, 0.5, 2.0]).numpy()
    array([0., 1., 0., 2.], dtype=float32)
    """
    a = _t(arr)
    if not a.dtype.is_integer:
        a = _rstf.cast(a, "int32")
    w = None if weights is None else _t(weights)
    out_dt = w.dtype if w is not None and not binary_output else as_dtype(dtype)
    if w is not None and list(w.shape) != list(a.shape):
        raise InvalidArgumentError(f"DenseBincount: weights {_dims(w.shape)} must have the shape of arr "
                                   f"{_dims(a.shape)}")
    if axis not in (None, 0, -1) or (axis == -1 and a.ndim != 2) or (axis == 0 and a.ndim > 1):
        raise InvalidArgumentError(f"bincount: axis must be None, 0 or -1 for a matrix; got {axis} for "
                                   f"shape {_dims(a.shape)}")
    per_row = axis == -1
    lo, hi = int(minlength or 0), None if maxlength is None else int(maxlength)

    def run(av, *wv):
        if (av < 0).any():
            raise InvalidArgumentError("DenseBincount: Input arr must be non-negative!")
        n = max(int(av.max()) + 1 if av.size else 0, lo)
        n = n if hi is None else min(n, hi)
        rows = av.reshape(av.shape[0] if per_row else 1, -1).astype(np.int64)
        vals = wv[0].reshape(rows.shape) if wv else np.ones(rows.shape)
        out = np.zeros((rows.shape[0], n), np.float64)
        r, c = np.nonzero(rows < n)
        np.add.at(out, (r, rows[r, c]), vals[r, c])
        if binary_output:
            out = (out != 0).astype(np.float64)
        out = out.astype(np.dtype(out_dt.as_numpy_dtype)) if out_dt.name != "bfloat16" else out
        return [out if per_row else out[0]]

    (r,) = _host("DenseBincount", run, [a] + ([w] if w is not None else []))
    return r if r.dtype == out_dt else _rstf.cast(r, out_dt.name)


def confusion_matrix(labels, predictions, num_classes=None, weights=None, dtype="int32", name=None) -> Tensor:
    """``m[i, j]``: how many times (or the sum of ``weights`` where) the label ``i`` was
    predicted as ``j``; ``num_classes`` defaults to the largest label or prediction plus one.

    >>> import rstf as tf
    >>> tf.math.confusion_matrix([1, 2, 0], [2, 2, 0]).numpy()
    array([[1, 0, 0],
           [0, 0, 1],
           [0, 0, 1]], dtype=int32)
    """
    lab, pred = _t(labels), _t(predictions)
    dt = as_dtype(dtype)
    if list(lab.shape) != list(pred.shape):
        raise ValueError(f"Shapes {tuple(lab.shape)} and {tuple(pred.shape)} are incompatible")
    inputs = [lab, pred] + ([_t(weights)] if weights is not None else [])
    nc = None if num_classes is None else int(num_classes)

    def run(lv, pv, *wv):
        lv, pv = lv.reshape(-1).astype(np.int64), pv.reshape(-1).astype(np.int64)
        for what, v in (("labels", lv), ("predictions", pv)):
            if (v < 0).any():
                raise InvalidArgumentError(f"`{what}` contains negative values.")
            if nc is not None and (v >= nc).any():
                raise InvalidArgumentError(f"`{what}` out of bound: condition x < y did not hold for "
                                           f"x = {v.tolist()[:3]}, y = {nc}")
        n = nc if nc is not None else int(max(lv.max(initial=-1), pv.max(initial=-1))) + 1
        out = np.zeros((n, n), np.float64)
        np.add.at(out, (lv, pv), wv[0].reshape(-1) if wv else 1.0)
        return [out.astype(np.dtype(dt.as_numpy_dtype)) if dt.name != "bfloat16" else out]

    (r,) = _host("ConfusionMatrix", run, inputs)
    return r if r.dtype == dt else _rstf.cast(r, dt.name)


def in_top_k(targets, predictions, k, name=None) -> Tensor:
    """Whether each target's prediction is among the ``k`` largest of its row (ties at the
    boundary count as in; a non-finite prediction or a target out of range does not).

    >>> import rstf as tf
    >>> tf.math.in_top_k([1, 0], [[0.1, 0.9, 0.0], [0.4, 0.5, 0.2]], 1).numpy()
    array([ True, False])
    """
    t = _indices(targets, "InTopKV2", "int32, int64")
    p = _t(predictions)
    if p.ndim != 2 or t.ndim != 1 or t.shape[0] != p.shape[0]:
        raise InvalidArgumentError(f"InTopKV2: predictions must be a matrix and targets a vector of its "
                                   f"rows; got {_dims(p.shape)} and {_dims(t.shape)}")
    b, c = p.shape
    k = _args.single_int(k, "InTopKV2", "T")
    ti = _rstf.cast(t, "int64")
    valid = _ops.logical_and(_ops.greater_equal(ti, 0), _ops.less(ti, c))
    if c == 0:
        return _ops.zeros([b], "bool")
    pos = _rstf.constant(np.arange(b, dtype=np.int64) * c, None, None) + _ops.clip_by_value(ti, 0, c - 1)
    tp = _rstf.gather(_rstf.reshape(p, [-1]), pos, 0)
    finite = _ops.equal(tp - tp, _rstf.cast(0, p.dtype.name))
    above = _ops.reduce_sum(_rstf.cast(_ops.greater(p, _rstf.expand_dims(tp, 1)), "int32"), axis=1)
    return _ops.logical_and(_ops.logical_and(valid, finite), _ops.less(above, k))


def _unique(x, out_idx, op):
    v = _t(x)
    if v.ndim != 1:
        raise InvalidArgumentError(f"{op}: unique expects a 1D vector.")
    it = as_dtype(out_idx)
    if it.name not in ("int32", "int64"):
        raise _args.attr_error(op, "out_idx", it.name)

    def run(a):
        _, first, inv, counts = np.unique(a, return_index=True, return_inverse=True, return_counts=True,
                                          equal_nan=False)
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        nt = np.dtype(it.as_numpy_dtype)
        return [first[order].astype(np.int64), rank[inv.reshape(-1)].astype(nt), counts[order].astype(nt)]

    first, idx, counts = _host(op, run, [v])
    return _rstf.gather(v, first, 0), idx, counts


def unique(x, out_idx="int32", name=None) -> Unique:
    """The distinct values of the vector ``x`` in order of first occurrence, and for each
    element of ``x`` the position of its value among them. Its result's size depends on the
    values: inside a traced function it is computed on the host on each run.

    >>> import rstf as tf
    >>> y, idx = tf.unique([1, 1, 2, 4, 4, 4, 7, 8, 8])
    >>> y.numpy(), idx.numpy()
    (array([1, 2, 4, 7, 8], dtype=int32), array([0, 0, 1, 2, 2, 2, 3, 4, 4], dtype=int32))
    """
    y, idx, _ = _unique(x, out_idx, "Unique")
    return Unique(y, idx)


def unique_with_counts(x, out_idx="int32", name=None) -> UniqueWithCounts:
    """:func:`unique` with how many times each distinct value occurs.

    >>> import rstf as tf
    >>> tf.unique_with_counts([3, 1, 3]).count.numpy()
    array([2, 1], dtype=int32)
    """
    return UniqueWithCounts(*_unique(x, out_idx, "UniqueWithCounts"))
