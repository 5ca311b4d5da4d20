"""Ragged tensors (``tf.ragged``): tensors whose rows have different lengths.

``tf.reduce_sum``/``mean``/``max``/``min``/``prod``/``any``/``all``, ``tf.concat`` and
``tf.stack`` take ragged tensors (through the hook of ``rstf._dispatch``); elementwise math
goes through the operators (``rt + 1``, ``rt * rt``) and :func:`map_flat_values`.

>>> import rstf as tf
>>> rt = tf.ragged.constant([[3, 1, 4, 1], [], [5, 9, 2], [6], []])
>>> print(rt)
<rstf.RaggedTensor [[3, 1, 4, 1], [], [5, 9, 2], [6], []]>
>>> print(rt.shape)
(5, None)
>>> tf.reduce_sum(rt, axis=1).numpy()
array([ 9,  0, 16,  6,  0], dtype=int32)
"""

from __future__ import annotations

import numpy as np

from . import _args, _composite, _dispatch, _ops, _rstf, nest
from ._ragged_tensor import RaggedTensor, _check_same_splits, _gather_rows
from ._rstf import Tensor
from .dtypes import as_dtype
from .dtypes import int64 as _int64
from .errors import InvalidArgumentError

__all__ = ["RaggedTensor", "boolean_mask", "constant", "map_flat_values", "range", "stack"]


# ----------------------------------------------------------------------------- constant

def _depths(pylist, depth: int, scalars: set, lists: list):
    if isinstance(pylist, np.ndarray):
        pylist = pylist.tolist()
    if isinstance(pylist, (list, tuple)):
        lists[0] = max(lists[0], depth + 1)
        for item in pylist:
            _depths(item, depth + 1, scalars, lists)
    else:
        scalars.add(depth)


def _rows(pylist, level: int):
    """The items ``level`` list levels down, as one list, and the row lengths at each level."""
    items = pylist.tolist() if isinstance(pylist, np.ndarray) else list(pylist)
    lengths = []
    for _ in np.arange(level):
        lengths.append([len(x) for x in items])
        items = [y for x in items for y in (x.tolist() if isinstance(x, np.ndarray) else x)]
    return items, lengths


def constant(pylist, dtype=None, ragged_rank=None, inner_shape=None, name=None, row_splits_dtype=_int64):
    """A ragged tensor from nested Python lists (a tensor when ``ragged_rank`` is 0). The
    ``ragged_rank`` defaults to the lists' depth minus one minus ``len(inner_shape)``; the
    dimensions below it must be uniform.

    >>> import rstf as tf
    >>> tf.ragged.constant([[[1, 2], [3]], [[4, 5, 6]]]).ragged_rank
    2
    >>> tf.ragged.constant([[[1, 2]], []], ragged_rank=1).shape
    TensorShape([2, None, 2])
    """
    scalars, lists = set(), [0]
    _depths(pylist, 0, scalars, lists)
    if len(scalars) > 1:
        raise ValueError("all scalar values must have the same nesting depth")
    has_scalars = bool(scalars)
    depth = scalars.pop() if scalars else lists[0]
    inner_rank = 0 if inner_shape is None else len(tuple(inner_shape))
    if ragged_rank is None:
        ragged_rank = max(0, depth - 1 - inner_rank)
    ragged_rank = int(ragged_rank)
    if ragged_rank < 0:
        raise ValueError(f"Invalid ragged_rank={ragged_rank}: must be nonnegative")
    if has_scalars and ragged_rank >= depth and depth > 0:
        raise ValueError(f"pylist has scalar values depth {depth}, but ragged_rank={ragged_rank} requires "
                         f"scalar value depth greater than {ragged_rank}")
    if ragged_rank == 0:
        return _ops.constant(pylist, dtype=dtype, shape=inner_shape)
    items, lengths = _rows(pylist, ragged_rank)
    if inner_shape is None and items:
        shapes = {np.shape(x) for x in items}
        if len(shapes) > 1:
            raise ValueError(f"inner values have inconsistent shapes {sorted(shapes)}: the dimensions below "
                             f"ragged_rank={ragged_rank} must be uniform")
    inner = list(inner_shape) if inner_shape is not None else (
        list(np.shape(items[0])) if items
        else [0] * max(0, depth - ragged_rank - 1 - (0 if has_scalars else 1)))
    if items:
        flat = _ops.constant(items, dtype=dtype)
        if inner_shape is not None and list(flat.shape[1:]) != inner:
            flat = _ops.constant(items, dtype=dtype, shape=[len(items)] + inner)
    else:
        flat = _ops.zeros([0] + inner, dtype or "float32")
    rt = flat
    for level in reversed(lengths):
        splits = np.concatenate([[0], np.cumsum(level)]).astype(np.int64)
        rt = RaggedTensor._from_np(rt, splits, as_dtype(row_splits_dtype))
    return rt


# ----------------------------------------------------------------------------- functions

def map_flat_values(op, *args, **kwargs):
    """``op`` applied to the flat values of the ragged arguments (which must share their row
    splits), other arguments passed as they are; the result has their row splits.

    >>> import rstf as tf
    >>> rt = tf.ragged.constant([[1, 2], [3]])
    >>> tf.ragged.map_flat_values(lambda x: x * 2 + 1, rt).to_list()
    [[3, 5], [7]]
    """
    found = [x for x in nest.flatten((args, kwargs)) if isinstance(x, RaggedTensor)]
    if not found:
        return op(*args, **kwargs)
    for other in found[1:]:
        _check_same_splits(found[0], other)

    def unwrap(x):
        return x.flat_values if isinstance(x, RaggedTensor) else x

    out = op(*nest.map_structure(unwrap, list(args)), **{k: unwrap(v) for k, v in kwargs.items()})
    return found[0].with_flat_values(out)


def range(starts, limits=None, deltas=1, dtype=None, name=None, row_splits_dtype=_int64):  # noqa: A001
    """Row ``i`` is ``range(starts[i], limits[i], deltas[i])`` (scalars broadcast).

    >>> import rstf as tf
    >>> tf.ragged.range([3, 0, 2]).to_list()
    [[0, 1, 2], [], [0, 1]]
    """
    if limits is None:
        starts, limits = 0, starts
    args = [x if isinstance(x, Tensor) else _ops.convert_to_tensor(x) for x in (starts, limits, deltas)]
    if dtype is None:
        floats = [a.dtype for a in args if a.dtype.is_floating]
        dtype = floats[0] if floats else args[0].dtype
    dtype = as_dtype(dtype)
    vals = [np.asarray(_composite.concrete(a, "range bounds"), dtype=np.float64) for a in args]
    for v in vals:
        if v.ndim > 1:
            raise InvalidArgumentError(f"RaggedRange: starts, limits and deltas must be scalars or vectors, "
                                       f"got shape {list(v.shape)}")
    s, lim, d = np.broadcast_arrays(*[np.atleast_1d(v) for v in vals]) if any(v.ndim for v in vals) \
        else [np.atleast_1d(v) for v in vals]
    if (d == 0).any():
        raise InvalidArgumentError("RaggedRange: Requires delta != 0")
    rows = [np.arange(a, b, c) for a, b, c in zip(s, lim, d)]
    values = np.concatenate(rows) if rows else np.zeros(0)
    flat = _ops.constant(values.astype(dtype.as_numpy_dtype), dtype=dtype)
    splits = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    return RaggedTensor._from_np(flat, splits, as_dtype(row_splits_dtype))


def _to_ragged(x, ragged_rank: int):
    if isinstance(x, RaggedTensor):
        return x
    t = x if isinstance(x, Tensor) else _ops.convert_to_tensor(x)
    return RaggedTensor.from_tensor(t, ragged_rank=ragged_rank)


def boolean_mask(data, mask, name=None):
    """The elements of ``data`` where ``mask`` is true: a vector mask picks rows; a mask with
    the shape of ``data``'s outer dimensions makes its last dimension ragged.

    >>> import rstf as tf
    >>> tf.ragged.boolean_mask([[1, 2, 3], [4, 5, 6]], [[True, False, True], [False, False, True]]).to_list()
    [[1, 3], [6]]
    """
    m = mask if isinstance(mask, (RaggedTensor, Tensor)) else _ops.convert_to_tensor(mask)
    if not m.dtype.is_bool:
        raise TypeError(f"mask must be a boolean tensor, got {m.dtype!r}")
    if isinstance(m, Tensor) and m.ndim == 1:
        keep = np.nonzero(_composite.concrete(m, "mask"))[0]
        d = data if isinstance(data, (RaggedTensor, Tensor)) else _ops.convert_to_tensor(data)
        n = d.nrows_int() if isinstance(d, RaggedTensor) else d.shape[0]
        if m.shape[0] != n:
            raise ValueError(f"The mask has {m.shape[0]} elements for {n} rows of data")
        return _gather_rows(d, keep)
    r = m.ragged_rank if isinstance(m, RaggedTensor) else m.ndim - 1
    d, m = _to_ragged(data, r), _to_ragged(m, r)
    outer = d._all_splits()[:r]
    if d.ragged_rank < r or not all(np.array_equal(x, y) for x, y in zip(outer, m._all_splits())):
        raise InvalidArgumentError("boolean_mask: the mask's shape must match the outer dimensions of data")
    if m.flat_values.ndim != 1:
        raise ValueError("boolean_mask: the mask's innermost dimension must be ragged")
    keep = _composite.concrete(m.flat_values, "mask").astype(bool)
    inner = d
    for _ in np.arange(r - 1):
        inner = inner.values
    s = inner._splits
    kept = np.concatenate([[0], np.cumsum(keep)]).astype(np.int64)
    counts = kept[s[1:]] - kept[s[:-1]]
    new = RaggedTensor._from_np(_gather_rows(inner.values, np.nonzero(keep)[0]),
                                np.concatenate([[0], np.cumsum(counts)]), inner._splits_dtype)
    return _replace_level(d, r, new)


def _replace_level(rt, r: int, new):
    if r == 1:
        return new
    return RaggedTensor._from_np(_replace_level(rt.values, r - 1, new), rt._splits, rt._splits_dtype)


# ----------------------------------------------------------------------------- reductions

def _reduce_axis(rt, kind: str, a: int):
    """``rt`` reduced over its axis ``a``: the flat values grouped by their positions without
    component ``a`` (a segment reduction), the row structure rebuilt from those groups."""
    r = rt.ragged_rank
    if a > r:
        return rt.with_flat_values(_composite.reduce(rt.flat_values, kind, a - r))
    levels, pos = rt._levels()
    bound = [max(1, b) for b in rt._bounding()[:r + 1]]
    drop_bound = tuple(b for k, b in enumerate(bound) if k != a)

    def keys(tuples):
        cols = [c for c in np.arange(tuples.shape[1]) if c != a]
        if not cols or not len(tuples):
            return np.zeros(len(tuples), np.int64)
        return np.ravel_multi_index(tuple(tuples[:, cols].T), drop_bound[:len(cols)])

    # The output's rows: its row count, then for each output level the rows' lengths, each
    # the longest of the input rows that land on it.
    nrows = rt.nrows_int() if a != 0 else (int(levels[0][1].max()) if len(levels[0][1]) else 0)
    out_tuples = np.arange(nrows, dtype=np.int64)[:, None]
    out_splits = []
    for level in np.arange(r - 1):
        src = level if level + 1 < a else level + 1
        tuples, lengths = levels[src]
        if level + 1 < a:
            lengths_out = lengths
        else:
            k_in = keys(tuples)
            k_out = np.ravel_multi_index(tuple(out_tuples.T), drop_bound[:out_tuples.shape[1]])
            order = np.argsort(k_out)
            where = order[np.searchsorted(k_out, k_in, sorter=order)] if len(k_in) else np.zeros(0, np.int64)
            lengths_out = np.zeros(len(out_tuples), np.int64)
            np.maximum.at(lengths_out, where, lengths)
        out_splits.append(np.concatenate([[0], np.cumsum(lengths_out)]).astype(np.int64))
        parents = np.repeat(out_tuples, lengths_out, axis=0)
        inner = (np.arange(int(lengths_out.sum()), dtype=np.int64)
                 - np.repeat(out_splits[-1][:-1], lengths_out))
        out_tuples = np.concatenate([parents, inner[:, None]], axis=1)
    k_in = keys(pos)
    k_out = (np.ravel_multi_index(tuple(out_tuples.T), drop_bound) if len(out_tuples)
             else np.zeros(0, np.int64))
    order = np.argsort(k_out)
    seg = order[np.searchsorted(k_out, k_in, sorter=order)] if len(k_in) else np.zeros(0, np.int64)
    flat = _composite.segment_reduce(rt.flat_values, seg, len(out_tuples), kind)
    return RaggedTensor.from_nested_row_splits(flat, out_splits, validate=False) if out_splits else flat


def _reduce(rt, kind: str, axis, keepdims=False):
    rank = rt.shape.rank
    if axis is None:
        return _composite.reduce(rt.flat_values, kind, None)
    axes = [int(v) for v in (axis if isinstance(axis, (list, tuple)) else
                             np.asarray(_composite.concrete(_ops.convert_to_tensor(axis))).reshape(-1))]
    for v in axes:
        if not -rank <= v < rank:
            raise InvalidArgumentError(f"axis={v} out of bounds: expected {-rank}<=axis<{rank}")
    out = rt
    for v in sorted({v % rank for v in axes}, reverse=True):
        out = _reduce_axis(out, kind, v) if isinstance(out, RaggedTensor) else _composite.reduce(out, kind, v)
    if keepdims:
        if not isinstance(out, Tensor):
            raise ValueError("keepdims=True is only supported when the result is a dense tensor")
        for v in sorted({v % rank for v in axes}):
            out = _rstf.expand_dims(out, v)
    return out


def _reduce_handler(kind: str):
    def handler(input_tensor, axis=None, keepdims=False, name=None):
        if kind != "mean":
            return _reduce(input_tensor, kind, axis, keepdims)
        total = _reduce(input_tensor, "sum", axis, keepdims)
        ones = input_tensor.with_flat_values(_ops.ones_like(input_tensor.flat_values))
        count = _reduce(ones, "sum", axis, keepdims)
        if isinstance(total, RaggedTensor):
            return total.with_flat_values(_ops.divide(total.flat_values, count.flat_values))
        return _ops.divide(total, count)

    return handler


# ----------------------------------------------------------------------------- concat, stack

def _as_ragged_list(values):
    values = list(values)
    first = next(v for v in values if isinstance(v, RaggedTensor))
    out = [_to_ragged(v, first.ragged_rank) for v in values]
    for i, v in enumerate(out):
        if v.ragged_rank != first.ragged_rank:
            raise ValueError(f"RaggedTensors to concatenate must have the same ragged_rank: "
                             f"{first.ragged_rank} and {v.ragged_rank} (at position {i})")
        if v.dtype != first.dtype:
            raise InvalidArgumentError(
                f"cannot compute ConcatV2 as input #{i}(zero-based) was expected to be a "
                f"{_args.tf_name(first.dtype)} tensor but is a {_args.tf_name(v.dtype)} tensor")
    return out


def _concat0(parts):
    if isinstance(parts[0], Tensor):
        return _rstf.concat(parts, 0)
    splits, offset = [np.zeros(1, np.int64)], 0
    for p in parts:
        splits.append(p._splits[1:] + offset)
        offset += p._splits[-1]
    values = _concat0([p._values for p in parts])
    return RaggedTensor._from_np(values, np.concatenate(splits), parts[0]._splits_dtype)


def _same_nrows(parts):
    for i, p in enumerate(parts[1:], 1):
        if p.nrows_int() != parts[0].nrows_int():
            raise InvalidArgumentError(f"Input tensors at index 0 (=x) and {i} (=y) have incompatible "
                                       "shapes.\n"
                                       f"Condition x == y did not hold.\nnrows of x: {parts[0].nrows_int()}\n"
                                       f"nrows of y: {p.nrows_int()}")


def _interleave(parts):
    """Rows ``[parts[0][i], parts[1][i], ...]`` for each ``i``, one after another."""
    _same_nrows(parts)
    n, k = parts[0].nrows_int(), len(parts)
    order = (np.arange(k)[None, :] * n + np.arange(n)[:, None]).reshape(-1)
    return _gather_rows(_concat0(parts), order), n, k


def _aligned(parts, every_level: bool):
    """Checks that the parts have the same rows (and, with ``every_level``, the same nested
    row splits): joining along an inner axis pairs their rows up."""
    for p in parts[1:]:
        if every_level:
            _check_same_splits(parts[0], p)
        elif not np.array_equal(p._splits, parts[0]._splits):
            _check_same_splits(parts[0], p)


def _concat_handler(values, axis, name=None):
    parts = _as_ragged_list(values)
    rank = parts[0].shape.rank
    ax = int(axis)
    if not -rank <= ax < rank:
        raise InvalidArgumentError(f"ConcatV2: axis {ax} is out of bounds for rank {rank}")
    ax %= rank
    if ax == 0:
        return _concat0(parts)
    if ax == 1:
        rows, n, k = _interleave(parts)
        return RaggedTensor._from_np(rows._values, rows._splits[::k], parts[0]._splits_dtype)
    _aligned(parts, ax > parts[0].ragged_rank)
    if ax > parts[0].ragged_rank:
        r = parts[0].ragged_rank
        return parts[0].with_flat_values(_ops.concat([p.flat_values for p in parts], ax - r))
    return parts[0].with_values(_concat_handler([p.values for p in parts], ax - 1))


def stack(values, axis=0, name=None):
    """Stacks ragged (or dense) tensors along a new ``axis``; ``tf.stack`` does the same when
    one of them is ragged.

    >>> import rstf as tf
    >>> tf.ragged.stack([tf.ragged.constant([[1], [2, 3]]), tf.ragged.constant([[4, 5]])]).to_list()
    [[[1], [2, 3]], [[4, 5]]]
    """
    values = list(values)
    if not any(isinstance(v, RaggedTensor) for v in values):
        if not values:
            return _ops.stack(values)
        return RaggedTensor.from_tensor(_ops.stack(values, axis), ragged_rank=1)
    parts = _as_ragged_list(values)
    rank = parts[0].shape.rank + 1
    ax = int(axis)
    if not -rank <= ax < rank:
        raise InvalidArgumentError(f"Pack: axis {ax} is out of bounds for rank {rank}")
    ax %= rank
    if ax == 0:
        counts = [p.nrows_int() for p in parts]
        return RaggedTensor._from_np(_concat0(parts), np.concatenate([[0], np.cumsum(counts)]),
                                     parts[0]._splits_dtype)
    if ax == 1:
        rows, n, k = _interleave(parts)
        return RaggedTensor._from_np(rows, np.arange(n + 1, dtype=np.int64) * k, parts[0]._splits_dtype)
    r = parts[0].ragged_rank
    _aligned(parts, ax > r)
    if ax > r:
        return parts[0].with_flat_values(_ops.stack([p.flat_values for p in parts], ax - r))
    return parts[0].with_values(stack([p.values for p in parts], ax - 1))


def _stack_handler(values, axis=0, name=None):
    return stack(values, axis)


_dispatch.register(RaggedTensor, {
    "reduce_sum": _reduce_handler("sum"), "reduce_prod": _reduce_handler("prod"),
    "reduce_max": _reduce_handler("max"), "reduce_min": _reduce_handler("min"),
    "reduce_any": _reduce_handler("any"), "reduce_all": _reduce_handler("all"),
    "reduce_mean": _reduce_handler("mean"), "concat": _concat_handler, "stack": _stack_handler,
})
