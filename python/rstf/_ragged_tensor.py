"""``RaggedTensor``: a tensor whose rows have different lengths (the class; ``rstf.ragged`` has
the functions).

A ragged tensor is ``values`` (a tensor, or another ragged tensor for more ragged dimensions)
cut into rows by ``row_splits``: row ``i`` is ``values[row_splits[i]:row_splits[i + 1]]``.
The row splits are worked out with numpy (they must be known: eager values, or constants
inside a traced function); the values pass only through rstf's differentiable ops (``gather``,
``concat``, the elementwise ops and reductions), so gradients reach the flat values.

>>> import rstf as tf
>>> rt = tf.RaggedTensor.from_row_splits([3, 1, 4, 1, 5, 9, 2], row_splits=[0, 4, 4, 6, 7])
>>> print(rt)
<rstf.RaggedTensor [[3, 1, 4, 1], [], [5, 9], [2]]>
>>> rt.shape
TensorShape([4, None])
"""

from __future__ import annotations

import numpy as np

from . import _composite, _ops, _rstf
from ._composite import concrete
from ._rstf import Tensor
from ._shape import TensorShape
from .dtypes import as_dtype
from .dtypes import int64 as _int64
from .errors import InvalidArgumentError


def _formatter(x):
    """TensorFlow's: numpy arrays' elements separated by commas."""
    if isinstance(x, np.ndarray):
        if x.size != 0:
            return np.array2string(x, separator=", ")
        return repr(x.tolist())
    return str(x)


def _as_values(values):
    if isinstance(values, (RaggedTensor, Tensor)):
        return values
    return _ops.convert_to_tensor(values)


def _int_array(x, what: str) -> np.ndarray:
    t = x if isinstance(x, Tensor) else _ops.convert_to_tensor(x, dtype_hint=_int64)
    if not t.dtype.is_integer:
        raise TypeError(f"{what} must be an integer tensor, got {t.dtype!r}")
    a = concrete(t, what).astype(np.int64)
    if a.ndim != 1:
        raise ValueError(f"Shape {TensorShape(a.shape)} must have rank 1")
    return a


def _nrows_of(values) -> int:
    return values.nrows_int() if isinstance(values, RaggedTensor) else int(values.shape[0])


def _invalid(op: str, what: str, x, y=None) -> InvalidArgumentError:
    if y is None:
        return InvalidArgumentError(f"Arguments to {op} do not form a valid RaggedTensor: {what}\n"
                                    f"Condition x >= 0 did not hold element-wise:\nx = {np.asarray(x)}")
    return InvalidArgumentError(f"Arguments to {op} do not form a valid RaggedTensor: {what}\n"
                                f"Condition x == y did not hold.\nx = {np.asarray(x)}\ny = {np.asarray(y)}")


def _gather_rows(x, rows: np.ndarray):
    """The rows ``rows`` of a tensor or ragged tensor (a differentiable gather of the values)."""
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    if isinstance(x, Tensor):
        return _rstf.gather(x, _composite.int64(rows), 0)
    s = x._splits
    lengths = s[rows + 1] - s[rows]
    splits = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    inner = np.repeat(s[rows] - splits[:-1], lengths) + np.arange(splits[-1], dtype=np.int64)
    return RaggedTensor._from_np(_gather_rows(x._values, inner), splits, x._splits_dtype)


class RaggedTensor:
    """Rows of different lengths: ``values`` cut by ``row_splits``. Build one with
    ``tf.ragged.constant`` or the ``from_*`` class methods.

    >>> import rstf as tf
    >>> rt = tf.ragged.constant([[1, 2], [3]])
    >>> rt.row_lengths().numpy()
    array([2, 1])
    """

    def __init__(self, values, row_splits, internal=False):
        if not internal:
            raise ValueError("RaggedTensor constructor is private; please use one of the factory methods "
                             "instead (e.g., RaggedTensor.from_row_lengths())")
        splits = _int_array(row_splits, "row_splits")
        self._values = _as_values(values)
        self._splits = splits
        self._splits_dtype = row_splits.dtype if isinstance(row_splits, Tensor) else _int64

    @classmethod
    def _from_np(cls, values, splits: np.ndarray, splits_dtype=_int64) -> RaggedTensor:
        rt = cls.__new__(cls)
        rt._values, rt._splits, rt._splits_dtype = values, np.asarray(splits, np.int64), splits_dtype
        return rt

    # ------------------------------------------------------------------------- factories

    @classmethod
    def from_row_splits(cls, values, row_splits, name=None, validate=True) -> RaggedTensor:
        """Row ``i`` is ``values[row_splits[i]:row_splits[i + 1]]``."""
        values = _as_values(values)
        s = _int_array(row_splits, "row_splits")
        dtype = row_splits.dtype if isinstance(row_splits, Tensor) else _int64
        if validate:
            if len(s) == 0:
                raise ValueError("row_splits must have at least one element (the first must be 0)")
            if s[0] != 0:
                raise _invalid("from_row_splits", "zero", s[:1], [0])
            if (np.diff(s) < 0).any():
                raise _invalid("from_row_splits", "monotonic", np.diff(s))
            n = _nrows_of(values)
            if s[-1] != n:
                raise _invalid("_from_row_partition", "the last row split must be the number of values",
                               s[-1:], [n])
        return cls._from_np(values, s, dtype)

    @classmethod
    def from_row_lengths(cls, values, row_lengths, name=None, validate=True) -> RaggedTensor:
        """Row ``i`` holds the next ``row_lengths[i]`` values."""
        lengths = _int_array(row_lengths, "row_lengths")
        if validate and (lengths < 0).any():
            raise _invalid("from_row_lengths", "row lengths must not be negative", lengths)
        return cls.from_row_splits(values, np.concatenate([[0], np.cumsum(lengths)]), validate=validate)

    @classmethod
    def from_value_rowids(cls, values, value_rowids, nrows=None, name=None, validate=True) -> RaggedTensor:
        """Value ``k`` goes to row ``value_rowids[k]`` (sorted); ``nrows`` defaults to the last
        row id plus one."""
        ids = _int_array(value_rowids, "value_rowids")
        if validate and len(ids) and ((ids < 0).any() or (np.diff(ids) < 0).any()):
            raise _invalid("from_value_rowids", "value_rowids must be non-negative and sorted",
                           np.concatenate([ids[:1], np.diff(ids)]))
        n = int(nrows) if nrows is not None else (int(ids[-1]) + 1 if len(ids) else 0)
        if validate and len(ids) and ids[-1] >= n:
            raise InvalidArgumentError(f"Arguments to from_value_rowids do not form a valid RaggedTensor: "
                                       f"value_rowids {int(ids[-1])} is not less than nrows {n}")
        counts = np.bincount(ids, minlength=n)[:n] if len(ids) else np.zeros(n, np.int64)
        return cls.from_row_splits(values, np.concatenate([[0], np.cumsum(counts)]), validate=validate)

    @classmethod
    def from_row_starts(cls, values, row_starts, name=None, validate=True) -> RaggedTensor:
        """Row ``i`` starts at ``row_starts[i]``; the last row ends with the values."""
        starts = _int_array(row_starts, "row_starts")
        return cls.from_row_splits(values, np.concatenate([starts, [_nrows_of(_as_values(values))]]),
                                   validate=validate)

    @classmethod
    def from_row_limits(cls, values, row_limits, name=None, validate=True) -> RaggedTensor:
        """Row ``i`` ends at ``row_limits[i]``."""
        return cls.from_row_splits(values, np.concatenate([[0], _int_array(row_limits, "row_limits")]),
                                   validate=validate)

    @classmethod
    def from_nested_row_splits(cls, flat_values, nested_row_splits, name=None, validate=True):
        """One ``from_row_splits`` per ragged dimension, outermost first."""
        rt = _as_values(flat_values)
        for s in reversed(list(nested_row_splits)):
            rt = cls.from_row_splits(rt, s, validate=validate)
        return rt

    @classmethod
    def from_nested_row_lengths(cls, flat_values, nested_row_lengths, name=None, validate=True):
        """One ``from_row_lengths`` per ragged dimension, outermost first."""
        rt = _as_values(flat_values)
        for lengths in reversed(list(nested_row_lengths)):
            rt = cls.from_row_lengths(rt, lengths, validate=validate)
        return rt

    @classmethod
    def from_nested_value_rowids(cls, flat_values, nested_value_rowids, nested_nrows=None, name=None,
                                 validate=True):
        """One ``from_value_rowids`` per ragged dimension, outermost first."""
        ids = list(nested_value_rowids)
        nrows = [None] * len(ids) if nested_nrows is None else list(nested_nrows)
        rt = _as_values(flat_values)
        for i, n in reversed(list(zip(ids, nrows))):
            rt = cls.from_value_rowids(rt, i, n, validate=validate)
        return rt

    @classmethod
    def from_tensor(cls, tensor, lengths=None, padding=None, ragged_rank=1, name=None,
                    row_splits_dtype=_int64) -> RaggedTensor:
        """The rows of a dense tensor (its first ``ragged_rank + 1`` dimensions become ragged),
        cut to ``lengths`` or with the trailing ``padding`` elements dropped.

        >>> import rstf as tf
        >>> print(tf.RaggedTensor.from_tensor([[1, 2, 0], [3, 0, 0]], padding=0))
        <rstf.RaggedTensor [[1, 2], [3]]>
        """
        t = _ops.convert_to_tensor(tensor)
        if lengths is not None and padding is not None:
            raise ValueError("Specify argument `lengths` or `padding`, but not both.")
        k = int(ragged_rank)
        if not 0 < k < max(t.ndim, 1):
            raise ValueError(f"ragged_rank must be greater than 0 and less than the rank of the tensor "
                             f"({t.ndim}); got {ragged_rank}")
        dims = list(t.shape)
        n, m = int(np.prod(dims[:k], dtype=np.int64)), dims[k]
        rows = _rstf.reshape(t, [n * m] + dims[k + 1:])
        if lengths is not None:
            lens = _int_array(lengths, "lengths") if k == 1 else np.asarray(
                concrete(_ops.convert_to_tensor(lengths), "lengths"), np.int64).reshape(-1)
            if len(lens) != n:
                raise InvalidArgumentError(f"from_tensor: lengths has {len(lens)} entries for {n} rows")
            lens = np.clip(lens, 0, m)
        elif padding is not None:
            a = concrete(t, "the tensor (with padding)").reshape([n, m] + dims[k + 1:])
            pad = np.asarray(concrete(_ops.convert_to_tensor(padding, dtype=t.dtype), "padding"))
            is_pad = (a == pad).reshape(n, m, -1).all(axis=2) if a.size else np.ones((n, m), bool)
            keep = ~is_pad
            lens = np.where(keep.any(axis=1), m - np.argmax(keep[:, ::-1], axis=1), 0)
        else:
            lens = np.full(n, m, np.int64)
        lens = lens.astype(np.int64)
        index = (np.repeat(np.arange(n, dtype=np.int64) * m, lens)
                 + np.arange(lens.sum(), dtype=np.int64) - np.repeat(np.cumsum(lens) - lens, lens))
        values = _rstf.gather(rows, _composite.int64(index), 0)
        rt = cls._from_np(values, np.concatenate([[0], np.cumsum(lens)]), as_dtype(row_splits_dtype))
        for d in reversed(dims[1:k]):  # the outer dimensions of a ragged_rank > 1: uniform rows
            count = _nrows_of(rt) // d
            rt = cls._from_np(rt, np.arange(count + 1, dtype=np.int64) * d, as_dtype(row_splits_dtype))
        return rt

    @classmethod
    def from_sparse(cls, st_input, name=None, row_splits_dtype=_int64) -> RaggedTensor:
        """The rows of a 2-D sparse tensor whose indices are ragged-right (each row's
        columns are ``0, 1, ...``)."""
        idx = st_input._index_np()
        if len(st_input._shape) != 2:
            raise ValueError(f"rank(st_input) must be 2, got {len(st_input._shape)}")
        rows, cols = idx[:, 0], idx[:, 1]
        starts = np.concatenate([[True], rows[1:] != rows[:-1]]) if len(idx) else np.zeros(0, bool)
        expected = np.where(starts, 0, np.concatenate([[0], cols[:-1] + 1]))
        if (cols != expected).any() or (len(rows) > 1 and (np.diff(rows) < 0).any()):
            raise InvalidArgumentError("SparseTensor is not right-ragged")
        return cls.from_value_rowids(st_input.values, rows, nrows=st_input._shape[0])

    # ------------------------------------------------------------------------- structure

    @property
    def values(self):
        """The values of the rows, concatenated (a tensor or a ragged tensor)."""
        return self._values

    @property
    def row_splits(self) -> Tensor:
        """Where each row starts in ``values``, and where the last one ends."""
        return _ops.cast(_composite.int64(self._splits), self._splits_dtype)

    @property
    def row_splits_dtype(self):
        return self._splits_dtype

    @property
    def flat_values(self) -> Tensor:
        """The innermost values: a tensor."""
        v = self._values
        while isinstance(v, RaggedTensor):
            v = v._values
        return v

    @property
    def nested_row_splits(self) -> tuple:
        out, rt = [], self
        while isinstance(rt, RaggedTensor):
            out.append(rt.row_splits)
            rt = rt._values
        return tuple(out)

    def _all_splits(self) -> list:
        out, rt = [], self
        while isinstance(rt, RaggedTensor):
            out.append(rt._splits)
            rt = rt._values
        return out

    @property
    def ragged_rank(self) -> int:
        """The number of ragged dimensions (partitions of the flat values)."""
        return 1 + (self._values.ragged_rank if isinstance(self._values, RaggedTensor) else 0)

    @property
    def dtype(self):
        return self.flat_values.dtype

    @property
    def shape(self) -> TensorShape:
        """``[nrows, None, ..., inner dimensions]``: the ragged dimensions are None."""
        inner = list(self.flat_values.shape[1:])
        return TensorShape(tuple([self.nrows_int()] + [None] * self.ragged_rank + inner))

    def get_shape(self) -> TensorShape:
        return self.shape

    @property
    def uniform_row_length(self):
        return None

    def nrows_int(self) -> int:
        return len(self._splits) - 1

    def nrows(self, out_type=None, name=None) -> Tensor:
        """The number of rows."""
        return _ops.constant(self.nrows_int(), dtype=out_type or self._splits_dtype)

    def row_lengths(self, axis=1, name=None):
        """The length of each row (``axis`` 2 and more: of the rows of the values)."""
        if axis == 1:
            return _ops.cast(_composite.int64(np.diff(self._splits)), self._splits_dtype)
        if axis < 1 or not isinstance(self._values, RaggedTensor):
            raise ValueError(f"axis={axis} is not a ragged dimension of this RaggedTensor")
        return self.with_values(self._values.row_lengths(axis - 1))

    def value_rowids(self, name=None) -> Tensor:
        """The row of each value."""
        ids = np.repeat(np.arange(self.nrows_int(), dtype=np.int64), np.diff(self._splits))
        return _ops.cast(_composite.int64(ids), self._splits_dtype)

    def row_starts(self, name=None) -> Tensor:
        return _ops.cast(_composite.int64(self._splits[:-1]), self._splits_dtype)

    def row_limits(self, name=None) -> Tensor:
        return _ops.cast(_composite.int64(self._splits[1:]), self._splits_dtype)

    def nested_row_lengths(self, name=None) -> tuple:
        out, rt = [], self
        while isinstance(rt, RaggedTensor):
            out.append(rt.row_lengths())
            rt = rt._values
        return tuple(out)

    def nested_value_rowids(self, name=None) -> tuple:
        out, rt = [], self
        while isinstance(rt, RaggedTensor):
            out.append(rt.value_rowids())
            rt = rt._values
        return tuple(out)

    def _bounding(self) -> list:
        dims = [self.nrows_int()]
        for s in self._all_splits():
            d = np.diff(s)
            dims.append(int(d.max()) if len(d) else 0)
        return dims + list(self.flat_values.shape[1:])

    def bounding_shape(self, axis=None, name=None, out_type=None) -> Tensor:
        """The smallest dense shape that holds every row."""
        b = np.asarray(self._bounding(), np.int64)
        return _ops.cast(_composite.int64(b if axis is None else b[axis]), out_type or self._splits_dtype)

    def _levels(self):
        """``(rows, flat)``: for each ragged level its rows' positions ``[n, level + 1]`` and
        lengths, and the positions ``[N, ragged_rank + 1]`` of the flat values."""
        tuples = np.arange(self.nrows_int(), dtype=np.int64)[:, None]
        levels = []
        for s in self._all_splits():
            lengths = np.diff(s)
            levels.append((tuples, lengths))
            parents = np.repeat(tuples, lengths, axis=0)
            pos = np.arange(s[-1], dtype=np.int64) - np.repeat(s[:-1], lengths)
            tuples = np.concatenate([parents, pos[:, None]], axis=1)
        return levels, tuples

    # ------------------------------------------------------------------------- new values

    def with_values(self, new_values) -> RaggedTensor:
        """The same row splits over other values (as many rows)."""
        new_values = _as_values(new_values)
        if _nrows_of(new_values) != self._splits[-1]:
            raise ValueError(f"Shapes ({self._splits[-1]},) and ({_nrows_of(new_values)},) are incompatible")
        return RaggedTensor._from_np(new_values, self._splits, self._splits_dtype)

    def with_flat_values(self, new_values) -> RaggedTensor:
        """The same nested row splits over other flat values."""
        if isinstance(self._values, RaggedTensor):
            return self.with_values(self._values.with_flat_values(new_values))
        return self.with_values(new_values)

    def with_row_splits_dtype(self, dtype) -> RaggedTensor:
        v = self._values
        v = v.with_row_splits_dtype(dtype) if isinstance(v, RaggedTensor) else v
        return RaggedTensor._from_np(v, self._splits, as_dtype(dtype))

    def merge_dims(self, outer_axis, inner_axis) -> RaggedTensor | Tensor:
        """Merges dimensions ``outer_axis`` to ``inner_axis`` into one.

        >>> import rstf as tf
        >>> tf.ragged.constant([[[1, 2], [3]], [[4]]]).merge_dims(0, 1).to_list()
        [[1, 2], [3], [4]]
        """
        rank = self.shape.rank
        o, i = int(outer_axis), int(inner_axis)
        o, i = o + rank if o < 0 else o, i + rank if i < 0 else i
        if not 0 <= o <= i < rank:
            raise ValueError(f"Expected outer_axis ({outer_axis}) to be less than or equal to inner_axis "
                             f"({inner_axis}) and both in [{-rank}, {rank})")
        return _merge(self, o, i)

    # ------------------------------------------------------------------------- conversion

    def to_tensor(self, default_value=None, name=None, shape=None) -> Tensor:
        """The dense tensor, rows padded with ``default_value`` (zero by default) to the
        bounding shape, or cut or padded to ``shape`` (None dimensions: the bounding one's).

        >>> import rstf as tf
        >>> tf.ragged.constant([[1, 2], [3]]).to_tensor(-1).numpy()
        array([[ 1,  2],
               [ 3, -1]], dtype=int32)
        """
        bound = self._bounding()
        r = self.ragged_rank
        if shape is None:
            target = bound
        else:
            given = list(shape) if not isinstance(shape, Tensor) else concrete(shape, "shape").tolist()
            if len(given) != len(bound):
                raise ValueError(f"rt_input.shape and shape={given} have different ranks")
            target = [b if g is None or g == -1 else int(g) for g, b in zip(given, bound)]
        flat = self.flat_values
        inner, inner_target = list(flat.shape[1:]), target[r + 1:]
        for d, (have, want) in enumerate(zip(inner, inner_target)):
            if have != want:
                raise InvalidArgumentError(
                    f"RaggedTensorToTensor: rt_input.shape and shape={_shape_text(target)} are incompatible: "
                    f"rt_input.shape[{r + 1 + d}] = {have} but shape[{r + 1 + d}] = {want}")
        _, pos = self._levels()
        outer = np.asarray(target[:r + 1], np.int64)
        keep = np.nonzero((pos < outer).all(axis=1))[0]
        total = int(np.prod(outer))
        where = np.full(total, len(pos), dtype=np.int64)
        if len(keep):
            where[np.ravel_multi_index(tuple(pos[keep].T), tuple(outer))] = keep
        default = 0 if default_value is None else default_value
        dense = _composite.gather_or_fill(flat, where, default)
        return _rstf.reshape(dense, target)

    def to_sparse(self, name=None):
        """The sparse tensor of the same elements (shape: the bounding shape)."""
        from .sparse import SparseTensor

        _, pos = self._levels()
        flat = self.flat_values
        inner = list(flat.shape[1:])
        values = _rstf.reshape(flat, [-1])
        if inner:
            sub = np.indices(inner).reshape(len(inner), -1).T
            pos = np.concatenate([np.repeat(pos, len(sub), axis=0), np.tile(sub, (len(pos), 1))], axis=1)
        bound = self._bounding()
        return SparseTensor(_composite.int64(pos.reshape(-1, len(bound))), values, bound)

    def to_list(self) -> list:
        """The rows as nested Python lists."""
        flat = concrete(self.flat_values, "the values").tolist()
        for s in reversed(self._all_splits()):
            flat = [flat[s[i]:s[i + 1]] for i in range(len(s) - 1)]
        return flat

    def numpy(self) -> np.ndarray:
        """A numpy array: rows of different lengths make an object array of row arrays."""
        values = self._values.numpy() if isinstance(self._values, RaggedTensor) else concrete(self._values)
        s = self._splits
        rows = [values[s[i]:s[i + 1]] for i in range(len(s) - 1)]
        if not rows:
            return np.zeros((0, 0) + values.shape[1:], dtype=values.dtype)
        ragged = any(len(row) != len(rows[0]) for row in rows)
        return np.array(rows, dtype=np.object_ if ragged else None)

    def __repr__(self):
        if _rstf.is_symbolic(self.flat_values):
            return f"rstf.RaggedTensor(values={self._values}, row_splits={self.row_splits})"
        with np.printoptions(formatter={"all": _formatter}):
            text = _formatter(self.numpy())
        return f"<rstf.RaggedTensor {text}>"

    __str__ = __repr__

    def __iter__(self):
        for i in range(self.nrows_int()):
            yield self[i]

    def __bool__(self):
        raise TypeError("The truth value of a RaggedTensor is ambiguous")

    def __array__(self, dtype=None, copy=None):
        # Dense ops get here when given a ragged tensor: only the reductions, concat and stack
        # take one (rstf._dispatch).
        raise ValueError(f"Attempt to convert a value ({self!r}) with an unsupported type (RaggedTensor) "
                         "to a Tensor: use .to_tensor(), or for elementwise math the operators (rt + 1) or "
                         "tf.ragged.map_flat_values")

    def __getitem__(self, key):
        """Rows (``rt[i]``, ``rt[a:b]``), elements (``rt[i, j]``) and slices of the ragged
        dimension (``rt[:, :2]``); an integer cannot index a ragged dimension after a slice."""
        return _getitem(self, list(key) if isinstance(key, tuple) else [key])

    # ------------------------------------------------------------------------- operators

    def _binary(self, other, fn, reverse=False):
        return _binary(self, other, fn, reverse)

    def __add__(self, o):
        return self._binary(o, _ops.add)

    def __radd__(self, o):
        return self._binary(o, _ops.add, True)

    def __sub__(self, o):
        return self._binary(o, _ops.subtract)

    def __rsub__(self, o):
        return self._binary(o, _ops.subtract, True)

    def __mul__(self, o):
        return self._binary(o, _ops.multiply)

    def __rmul__(self, o):
        return self._binary(o, _ops.multiply, True)

    def __truediv__(self, o):
        return self._binary(o, _ops.divide)

    def __rtruediv__(self, o):
        return self._binary(o, _ops.divide, True)

    def __floordiv__(self, o):
        return self._binary(o, _ops.floordiv)

    def __rfloordiv__(self, o):
        return self._binary(o, _ops.floordiv, True)

    def __mod__(self, o):
        return self._binary(o, _ops.floormod)

    def __rmod__(self, o):
        return self._binary(o, _ops.floormod, True)

    def __pow__(self, o):
        return self._binary(o, _ops.pow)

    def __rpow__(self, o):
        return self._binary(o, _ops.pow, True)

    def __lt__(self, o):
        return self._binary(o, _ops.less)

    def __le__(self, o):
        return self._binary(o, _ops.less_equal)

    def __gt__(self, o):
        return self._binary(o, _ops.greater)

    def __ge__(self, o):
        return self._binary(o, _ops.greater_equal)

    def __eq__(self, o):
        return self._binary(o, _ops.equal)

    def __ne__(self, o):
        return self._binary(o, _ops.not_equal)

    __hash__ = object.__hash__

    def __and__(self, o):
        return self._binary(o, _ops.logical_and)

    def __rand__(self, o):
        return self._binary(o, _ops.logical_and, True)

    def __or__(self, o):
        return self._binary(o, _ops.logical_or)

    def __ror__(self, o):
        return self._binary(o, _ops.logical_or, True)

    def __xor__(self, o):
        return self._binary(o, _ops.logical_xor)

    def __neg__(self):
        return self.with_flat_values(_ops.negative(self.flat_values))

    def __abs__(self):
        return self.with_flat_values(_ops.abs(self.flat_values))

    def __invert__(self):
        return self.with_flat_values(_ops.logical_not(self.flat_values))


def _shape_text(dims) -> str:
    return "[" + ",".join(str(d) for d in dims) + "]"


def _merge_dense(t: Tensor, o: int, i: int) -> Tensor:
    dims = list(t.shape)
    return _rstf.reshape(t, dims[:o] + [int(np.prod(dims[o:i + 1], dtype=np.int64))] + dims[i + 1:])


def _merge(x, o: int, i: int):
    """Dimensions ``o`` to ``i`` of ``x`` merged."""
    if o == i:
        return x
    if isinstance(x, Tensor):
        return _merge_dense(x, o, i)
    if o == 0:  # the rows' values are the first two dimensions merged
        return _merge(x._values, 0, i - 1)
    if o > 1:
        return x.with_values(_merge(x._values, o - 1, i - 1))
    v = x._values  # o == 1: each row takes in all the elements below it
    if isinstance(v, RaggedTensor):
        merged = RaggedTensor._from_np(v._values, v._splits[x._splits], x._splits_dtype)
    else:
        per = int(np.prod(v.shape[1:2], dtype=np.int64))
        merged = RaggedTensor._from_np(_merge_dense(v, 0, 1), x._splits * per, x._splits_dtype)
    return _merge(merged, 1, i - 1)


# ----------------------------------------------------------------------------- indexing

def _is_index(k) -> bool:
    return isinstance(k, (int, np.integer)) and not isinstance(k, bool) or (
        isinstance(k, Tensor) and k.ndim == 0 and k.dtype.is_integer)


def _expand0(x):
    if isinstance(x, Tensor):
        return _rstf.expand_dims(x, 0)
    return RaggedTensor._from_np(x, np.asarray([0, x.nrows_int()]), x._splits_dtype)


def _getitem(x, key: list):
    if isinstance(x, Tensor):
        return x[tuple(key)] if key else x
    if not key:
        return x
    if any(k is Ellipsis for k in key):
        at = next(n for n, k in enumerate(key) if k is Ellipsis)
        used = sum(1 for k in key if k is not None and k is not Ellipsis)
        key = key[:at] + [slice(None)] * max(0, x.shape.rank - used) + key[at + 1:]
        if any(k is Ellipsis for k in key):
            raise ValueError("An index can only have a single ellipsis ('...')")
        return _getitem(x, key)
    k, rest = key[0], key[1:]
    if k is None:
        return _expand0(_getitem(x, rest))
    n = x.nrows_int()
    if _is_index(k):
        i = int(k)
        if i >= n:
            raise IndexError(f"Row key {i} out of bounds")
        if i < -n:
            raise InvalidArgumentError(f"StridedSlice: slice index {i} of dimension 0 out of bounds.")
        i %= n
        row = _gather_rows(x._values, np.arange(x._splits[i], x._splits[i + 1]))
        return _getitem(row, rest)
    if not isinstance(k, slice):
        raise TypeError(f"Ragged tensors can be indexed with integers, slices, newaxis and Ellipsis, "
                        f"got {k!r}")
    sub = _gather_rows(x, np.arange(n)[k])
    if not rest:
        return sub
    k2, inner = rest[0], rest[1:]
    if k2 is None:
        raise ValueError("tf.newaxis is not supported after a slice of a RaggedTensor's rows")
    if not isinstance(k2, slice):
        raise ValueError("Cannot index into an inner ragged dimension.")
    s = sub._splits
    picked = [np.arange(s[r], s[r + 1])[k2] for r in range(len(s) - 1)]
    lengths = np.asarray([len(p) for p in picked], np.int64)
    index = np.concatenate(picked).astype(np.int64) if picked else np.zeros(0, np.int64)
    values = _gather_rows(sub._values, index)
    values = _getitem(values, [slice(None)] + inner) if inner else values
    return RaggedTensor._from_np(values, np.concatenate([[0], np.cumsum(lengths)]), sub._splits_dtype)


# ----------------------------------------------------------------------------- elementwise

def _same_splits(a: RaggedTensor, b: RaggedTensor) -> bool:
    sa, sb = a._all_splits(), b._all_splits()
    return len(sa) == len(sb) and all(x.shape == y.shape and (x == y).all() for x, y in zip(sa, sb))


def _check_same_splits(a: RaggedTensor, b: RaggedTensor):
    if not _same_splits(a, b):
        sa, sb = a._all_splits(), b._all_splits()
        raise InvalidArgumentError(
            "Input tensors at index 0 (=x) and 1 (=y) have incompatible shapes.\n"
            f"Condition x == y did not hold.\nrow splits of x: {[v.tolist() for v in sa]}\n"
            f"row splits of y: {[v.tolist() for v in sb]}")


def broadcast_dense(rt: RaggedTensor, y: Tensor):
    """``y`` broadcast against ``rt``, as rows aligned with ``rt.flat_values`` (or ``y``
    itself when it only broadcasts against the flat values' inner dimensions)."""
    flat = rt.flat_values
    r = rt.ragged_rank
    rank = r + flat.ndim
    if y.ndim <= flat.ndim - 1:
        return y
    if y.ndim > rank:
        raise InvalidArgumentError(f"Unable to broadcast: the dense operand has rank {y.ndim}, more than "
                                   f"the ragged tensor's {rank}")
    dims = [1] * (rank - y.ndim) + list(y.shape)
    outer = dims[:r + 1]
    levels, pos = rt._levels()
    choose = []
    for k, d in enumerate(outer):
        if d == 1:
            choose.append(np.zeros(len(pos), np.int64))
            continue
        sizes = [rt.nrows_int()] if k == 0 else levels[k - 1][1]
        if any(int(v) != d for v in np.atleast_1d(sizes)):
            raise InvalidArgumentError(
                f"Unable to broadcast: dimension {k} of the dense operand has size {d}, but the ragged "
                f"tensor's sizes there are {np.atleast_1d(sizes).tolist()}\nCondition x == y did not hold.")
        choose.append(pos[:, k])
    index = np.ravel_multi_index(tuple(choose), tuple(outer)) if len(pos) else np.zeros(0, np.int64)
    table = _rstf.reshape(y, [int(np.prod(outer))] + dims[r + 1:])
    return _rstf.gather(table, _composite.int64(index), 0)


def _binary(rt: RaggedTensor, other, fn, reverse: bool):
    if isinstance(other, RaggedTensor):
        _check_same_splits(rt, other) if not reverse else _check_same_splits(other, rt)
        y = other.flat_values
    elif isinstance(other, (bool, int, float, np.number)):
        y = other
    else:
        if not isinstance(other, Tensor):
            try:
                other = _ops.convert_to_tensor(other, dtype=rt.dtype)
            except (TypeError, ValueError):
                other = _ops.convert_to_tensor(other)
        y = broadcast_dense(rt, other)
    x = rt.flat_values
    return rt.with_flat_values(fn(y, x) if reverse else fn(x, y))
