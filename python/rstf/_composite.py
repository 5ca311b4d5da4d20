"""Helpers shared by the composite tensors (``rstf.sparse``, ``rstf.ragged``).

Their structure (sparse indices, ragged row splits) is worked out with numpy from its concrete
values; their values only ever pass through rstf's differentiable ops (``gather``, ``concat``,
the reductions), so gradients and traced functions come from those ops. A gather from the
values with one extra "fill" row appended stands in for a scatter: each output position names
the value it takes, or the fill row.

>>> import numpy as np
>>> import rstf as tf
>>> from rstf import _composite
>>> v = tf.constant([1.0, 2.0, 3.0])
>>> _composite.segment_reduce(v, np.array([0, 0, 2]), 3, "sum").numpy()
array([3., 0., 3.], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from . import _ops, _rstf
from ._rstf import Tensor


def concrete(t, what: str = "the structure") -> np.ndarray:
    """The numpy value of an index tensor (row splits, sparse indices): these must be known, as
    they are in eager code and for constants inside a traced function."""
    if _rstf.is_symbolic(t):
        from .errors import OperatorNotAllowedInGraphError

        raise OperatorNotAllowedInGraphError(
            f"{what} of a composite tensor must be known while tracing: build it from constants "
            "inside the function (its values may be traced tensors)")
    return np.asarray(t.numpy())


def int64(a) -> Tensor:
    return _rstf.constant(np.asarray(a, dtype=np.int64), None, None)


def fill_value(kind: str, dtype):
    """The identity of the reduction ``kind`` in ``dtype`` (TensorFlow's for an empty group:
    the dtype's lowest value for max, its highest for min)."""
    return {"sum": 0, "mean": 0, "prod": 1, "max": dtype.min, "min": dtype.max,
            "any": False, "all": True}[kind]


def gather_or_fill(values: Tensor, index: np.ndarray, fill) -> Tensor:
    """``values`` (rows along axis 0) gathered at ``index`` (any shape), where an index equal
    to ``len(values)`` takes ``fill`` (a scalar or a tensor of one row's shape)."""
    fill_t = _ops.convert_to_tensor(fill, dtype=values.dtype)
    row = list(values.shape[1:])
    fill_row = _rstf.reshape(_ops.broadcast_to(fill_t, row), [1] + row)
    table = _rstf.concat([values, fill_row], 0)
    return _rstf.gather(table, int64(index), 0)


def reduce(t: Tensor, kind: str, axis, keepdims=False) -> Tensor:
    fn = {"sum": _ops.reduce_sum, "prod": _ops.reduce_prod, "max": _ops.reduce_max,
          "min": _ops.reduce_min, "any": _ops.reduce_any, "all": _ops.reduce_all,
          "mean": _ops.reduce_mean}[kind]
    return fn(t, axis=axis, keepdims=keepdims)


def segment_reduce(values: Tensor, segments: np.ndarray, nseg: int, kind: str) -> Tensor:
    """Reduces the rows of ``values`` by segment (``segments[i]`` in ``[0, nseg)``): a gather
    into ``[nseg, longest segment, ...]`` padded with the reduction's identity, then reduced
    over axis 1. An empty segment gives the identity (``kind`` is not "mean")."""
    segments = np.asarray(segments, dtype=np.int64).reshape(-1)
    n = segments.shape[0]
    counts = np.bincount(segments, minlength=nseg) if n else np.zeros(nseg, np.int64)
    width = int(counts.max()) if nseg else 0
    index = np.full((nseg, width), n, dtype=np.int64)
    order = np.argsort(segments, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) if nseg else np.zeros(0, np.int64)
    ranks = np.arange(n) - starts[segments[order]] if n else np.zeros(0, np.int64)
    index[segments[order], ranks] = order
    padded = gather_or_fill(values, index, fill_value(kind, values.dtype))
    return reduce(padded, kind, 1)
