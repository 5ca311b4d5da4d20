"""``rstf.data``: input pipelines. A :class:`Dataset` is a re-iterable sequence of elements
(tensors, or tuples and dicts of them) built from arrays and transformed lazily.

>>> import numpy as np, rstf as tf
>>> ds = tf.data.Dataset.from_tensor_slices((np.arange(5), np.arange(5) * 10))
>>> for x, y in ds.map(lambda x, y: (x + 1, y)).batch(2):
...     print(x.numpy(), y.numpy())
[1 2] [ 0 10]
[3 4] [20 30]
[5] [40]
>>> sorted(int(v) for v in tf.data.Dataset.range(6).shuffle(6, seed=1))
[0, 1, 2, 3, 4, 5]

As in TensorFlow, tuples, namedtuples and dicts are structures and a Python list is one
tensor (``from_tensor_slices([1, 2, 3])`` has three scalar elements, converted with
TensorFlow's dtypes: int32, float32); a list returned by a ``map`` function becomes a tuple.

>>> ds = tf.data.Dataset.from_tensor_slices([1, 2, 3])
>>> ds.element_spec
TensorSpec(shape=(), dtype=rstf.int32, name=None)
>>> list(ds.as_numpy_iterator())
[np.int32(1), np.int32(2), np.int32(3)]

Batches of ``from_tensor_slices`` (shuffled or not) are cut from the arrays in one indexing
operation per batch, not assembled element by element. Functions given to ``map``, ``filter``
and the like run eagerly, once per element (TensorFlow traces them once into a graph); an
``element_spec`` that depends on a ``map`` function is found by running it on zeros.
"""

from __future__ import annotations

import abc
import os

import numpy as np

from . import _csv, _tfrecord, nest
from . import _ops as _o
from ._data_elements import (
    OwnedIterator,
    _array,
    _as_shape,
    _call,
    _check_predicate,
    _dtype_of,
    _fit,
    _flatten_as,
    _interleave,
    _leaf,
    _map_spec,
    _merge_specs,
    _normalize,
    _normalize_tensors,
    _numpy,
    _pad,
    _skeleton,
    _spec_of,
    _stack,
    _to_tensors,
    _types_and_shapes,
)
from ._function import TensorSpec
from .dtypes import as_dtype, string
from .errors import InvalidArgumentError

__all__ = ["Dataset", "AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "TFRecordDataset",
           "TextLineDataset", "experimental"]

AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2

# -- datasets -----------------------------------------------------------------------------------

class Dataset(abc.ABC):
    """A sequence of elements; iterating yields tensors."""

    @abc.abstractmethod
    def _elements(self):
        """Yields elements as numpy structures."""

    def _card(self) -> int:
        return UNKNOWN_CARDINALITY

    def _spec(self):
        """The element spec (a structure of TensorSpecs), by default that of the first element."""
        for e in self._elements():
            return _spec_of(e)
        raise ValueError("element_spec: the dataset is empty and its element spec is unknown")

    @property
    def element_spec(self):
        """The structure of :class:`rstf.TensorSpec` of one element (``None`` for a dimension
        that differs between elements)."""
        if "_spec_cache" not in self.__dict__:
            self.__dict__["_spec_cache"] = self._spec()
        return self.__dict__["_spec_cache"]

    def cardinality(self):
        """The number of elements as an int64 tensor (-1 infinite, -2 unknown).

        >>> import rstf as tf
        >>> tf.data.Dataset.range(10).batch(4).cardinality()
        <rstf.Tensor: shape=(), dtype=int64, numpy=3>
        """
        return _o.constant(self._card(), "int64")

    def __len__(self):
        n = self._card()
        if n == INFINITE_CARDINALITY:
            raise TypeError("The dataset is infinite.")
        if n < 0:
            raise TypeError("The dataset length is unknown.")
        return n

    def __bool__(self):
        return True

    def __iter__(self):
        return OwnedIterator(self)

    def __repr__(self):
        return f"<{getattr(self, '_kind', type(self).__name__)} element_spec={self.element_spec}>"

    def as_numpy_iterator(self):
        """Iterates over the elements as numpy values (numpy scalars for scalars).

        >>> import rstf as tf
        >>> list(tf.data.Dataset.range(3).as_numpy_iterator())
        [np.int64(0), np.int64(1), np.int64(2)]
        """
        return (_numpy(e) for e in self._elements())

    # -- sources ------------------------------------------------------------------------------

    @staticmethod
    def from_tensor_slices(tensors, name=None) -> Dataset:
        """One element per row of ``tensors`` (a tensor, or tuples and dicts of them; a list is
        one tensor)."""
        return _Slices(_normalize(tensors))

    @staticmethod
    def from_tensors(tensors, name=None) -> Dataset:
        """A dataset of one element."""
        element = _normalize(tensors)
        return _Elements(lambda: iter([element]), 1, lambda: _spec_of(element), "_TensorDataset")

    @staticmethod
    def range(*args, output_type="int64", name=None, dtype=None) -> Dataset:
        """``start, stop, step`` as Python's ``range``, as int64 (or ``output_type``) scalars."""
        r = range(*args)
        dtype = as_dtype(dtype if dtype is not None else output_type)
        ds = _Slices(np.arange(r.start, r.stop, r.step).astype(dtype.as_numpy_dtype))
        ds._kind = "_RangeDataset"
        return ds

    @staticmethod
    def from_generator(generator, output_types=None, output_shapes=None, args=None, output_signature=None,
                       name=None) -> Dataset:
        """Elements produced by calling ``generator(*args)`` afresh on each iteration, converted
        to ``output_signature`` (a structure of :class:`rstf.TensorSpec`; or the older
        ``output_types`` and ``output_shapes``). An element that does not fit raises
        InvalidArgumentError when it is produced.

        >>> import rstf as tf
        >>> ds = tf.data.Dataset.from_generator(lambda: iter([[1, 2], [3]]),
        ...                                     output_signature=tf.TensorSpec([None], tf.int64))
        >>> [x.numpy().tolist() for x in ds]
        [[1, 2], [3]]
        """
        if output_signature is None:
            if output_types is None:
                raise TypeError("To specify the output signature you need to provide either the "
                                "`output_signature` argument or the `output_types` argument.")
            output_signature = _types_and_shapes(output_types, output_shapes)
        specs = output_signature
        if not all(isinstance(s, TensorSpec) for s in nest.flatten(specs)):
            raise TypeError("from_generator: output_signature must be a structure of tf.TensorSpec")
        gen_args = tuple(_leaf(a) for a in (args or ()))

        def run():
            for value in generator(*gen_args):
                yield _fit(value, specs)
        return _Elements(run, UNKNOWN_CARDINALITY, lambda: specs, "_FlatMapDataset")

    @staticmethod
    def list_files(file_pattern, shuffle=None, seed=None, name=None) -> Dataset:
        """The names (string scalars) of the files matching ``file_pattern`` (a glob pattern or
        a list of them), sorted, then shuffled unless ``shuffle=False``. A pattern that matches
        nothing raises InvalidArgumentError."""
        ds = _Slices(np.array([os.fsencode(f) for f in _csv.list_files(file_pattern)], dtype=object))
        return ds if shuffle is False else ds.shuffle(ds._n, seed)

    @staticmethod
    def zip(*args, datasets=None, name=None) -> Dataset:
        """Elements of several datasets side by side, as a tuple (or the structure given), as
        long as the shortest.

        >>> import rstf as tf
        >>> z = tf.data.Dataset.zip(tf.data.Dataset.range(3), tf.data.Dataset.range(5, 10))
        >>> [(int(a), int(b)) for a, b in z]
        [(0, 5), (1, 6), (2, 7)]
        """
        if datasets is None:
            datasets = args[0] if len(args) == 1 else tuple(args)
        elif args:
            raise TypeError("zip: give the datasets either as arguments or as `datasets`, not both")
        if isinstance(datasets, list):
            datasets = tuple(datasets)
        for d in nest.flatten(datasets):
            if not isinstance(d, Dataset):
                raise TypeError("Invalid input to `zip`. Inputs are expected to be (nested) structures of "
                                f"`tf.data.Dataset` objects but encountered object of type {type(d)}.")
        return _Zip(datasets)

    # -- transformations ----------------------------------------------------------------------

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None) -> Dataset:
        """Applies ``map_func`` to each element (a tuple element is passed as arguments)."""
        def run():
            for e in self._elements():
                yield _normalize(_call(map_func, e), True)
        return _Elements(run, self._card(), lambda: _map_spec(self, map_func, run), "_MapDataset")

    def flat_map(self, map_func, name=None) -> Dataset:
        """The elements of the datasets that ``map_func`` makes of each element, in order.

        >>> import rstf as tf
        >>> ds = tf.data.Dataset.range(1, 4).flat_map(lambda x: tf.data.Dataset.range(x))
        >>> [int(x) for x in ds]
        [0, 0, 1, 0, 1, 2]
        """
        return self.interleave(map_func, cycle_length=1)

    def interleave(self, map_func, cycle_length=None, block_length=None, num_parallel_calls=None,
                   deterministic=None, name=None) -> Dataset:
        """The elements of the datasets that ``map_func`` makes of each element, taken
        ``block_length`` at a time from ``cycle_length`` of them in turn (TensorFlow's order;
        ``cycle_length`` defaults to the number of CPU cores).

        >>> import rstf as tf
        >>> ds = tf.data.Dataset.range(1, 4).interleave(
        ...     lambda x: tf.data.Dataset.from_tensors(x).repeat(3), cycle_length=2, block_length=2)
        >>> [int(x) for x in ds]
        [1, 1, 2, 2, 1, 2, 3, 3, 3]
        """
        cycle = (os.cpu_count() or 1) if cycle_length in (None, AUTOTUNE) else int(cycle_length)
        block = 1 if block_length in (None, AUTOTUNE) else int(block_length)
        if cycle <= 0 or block <= 0:
            raise InvalidArgumentError("interleave: cycle_length and block_length must be positive")

        def open_dataset(e):
            ds = _call(map_func, e)
            if not isinstance(ds, Dataset):
                raise TypeError(f"`map_func` must return a `Dataset` object. Got {type(ds)}.")
            return ds._elements()
        return _Elements(lambda: _interleave(self._elements(), open_dataset, cycle, block),
                         UNKNOWN_CARDINALITY, None, "_InterleaveDataset")

    def filter(self, predicate, name=None) -> Dataset:
        """The elements for which ``predicate`` gives True (a boolean scalar)."""
        def run():
            for e in self._elements():
                if _check_predicate(_call(predicate, e)):
                    yield e
        return _Elements(run, UNKNOWN_CARDINALITY, lambda: self.element_spec, "_FilterDataset")

    def take_while(self, predicate, name=None) -> Dataset:
        """The elements up to the first for which ``predicate`` gives False.

        >>> import rstf as tf
        >>> [int(x) for x in tf.data.Dataset.range(10).take_while(lambda x: x < 3)]
        [0, 1, 2]
        """
        def run():
            for e in self._elements():
                if not _check_predicate(_call(predicate, e)):
                    return
                yield e
        return _Elements(run, UNKNOWN_CARDINALITY, lambda: self.element_spec, "_TakeWhileDataset")

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None, deterministic=None,
              name=None) -> Dataset:
        """Stacks consecutive elements into batches of ``batch_size``."""
        if int(batch_size) <= 0:
            raise InvalidArgumentError("Batch size must be greater than zero.")
        return _Batches(self, int(batch_size), drop_remainder)

    def padded_batch(self, batch_size, padded_shapes=None, padding_values=None, drop_remainder=False,
                     name=None) -> Dataset:
        """Batches of ``batch_size`` elements, each component padded (with ``padding_values``,
        zeros by default) to ``padded_shapes`` (``None`` dimensions: the longest in the batch).

        >>> import rstf as tf
        >>> ds = tf.data.Dataset.range(1, 4).map(lambda x: tf.fill([x], x)).padded_batch(2)
        >>> [b.numpy().tolist() for b in ds]
        [[[1, 0], [2, 2]], [[3, 3, 3]]]
        """
        if int(batch_size) <= 0:
            raise InvalidArgumentError("Batch size must be greater than zero.")
        return _PaddedBatches(self, int(batch_size), padded_shapes, padding_values, drop_remainder)

    def unbatch(self, name=None) -> Dataset:
        """Splits each element into its rows (the inverse of ``batch``)."""
        spec = self.element_spec
        firsts = set()
        for s in nest.flatten(spec):
            if s.shape is not None and len(s.shape) == 0:
                raise ValueError("Unbatching a tensor is only supported for rank >= 1")
            firsts.add(None if s.shape is None else tuple(s.shape)[0])

        def run():
            for e in self._elements():
                leaves = nest.flatten(e)
                rows = {np.shape(a)[0] for a in leaves}
                if len(rows) != 1:
                    raise InvalidArgumentError(f"Input element must have the same batch size in each "
                                               f"component; got sizes {sorted(rows)}")
                for i in range(rows.pop()):
                    yield nest.pack_sequence_as(e, [a[i] for a in leaves])
        n = self._card()
        card = n * firsts.pop() if n >= 0 and len(firsts) == 1 and None not in firsts else (
            n if n == INFINITE_CARDINALITY else UNKNOWN_CARDINALITY)
        if n == 0:
            card = 0
        def rows():
            return nest.map_structure(
                lambda s: TensorSpec(None if s.shape is None else tuple(s.shape)[1:], s.dtype), spec)
        return _Elements(run, card, rows, "_UnbatchDataset")

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True, name=None) -> Dataset:
        """Shuffles with a buffer of ``buffer_size`` elements (a new order on each iteration
        unless ``reshuffle_each_iteration=False``)."""
        if int(buffer_size) <= 0:
            raise ValueError(f"shuffle: buffer_size must be positive, got {buffer_size}")
        return _Shuffled(self, int(buffer_size), seed, reshuffle_each_iteration)

    def repeat(self, count=None, name=None) -> Dataset:
        """Repeats the dataset ``count`` times (forever when None or -1)."""
        forever = count is None or count < 0

        def run():
            i = 0
            while forever or i < count:
                empty = True
                for e in self._elements():
                    empty = False
                    yield e
                if empty:
                    return
                i += 1
        n = self._card()
        if n == 0 or count == 0:
            card = 0
        elif forever:
            card = INFINITE_CARDINALITY if n != UNKNOWN_CARDINALITY else UNKNOWN_CARDINALITY
        else:
            card = n * count if n >= 0 else n
        return _Elements(run, card, lambda: self.element_spec, "_RepeatDataset")

    def take(self, count, name=None) -> Dataset:
        """The first ``count`` elements (all of them for -1)."""
        count = int(count)

        def run():
            if count == 0:
                return
            for i, e in enumerate(self._elements()):
                yield e
                if count >= 0 and i + 1 >= count:
                    return
        n = self._card()
        card = n if count < 0 else (count if n == INFINITE_CARDINALITY else
                                    (min(n, count) if n >= 0 else UNKNOWN_CARDINALITY))
        return _Elements(run, card, lambda: self.element_spec, "_TakeDataset")

    def skip(self, count, name=None) -> Dataset:
        """All but the first ``count`` elements (none for -1)."""
        count = int(count)

        def run():
            if count < 0:
                return
            for i, e in enumerate(self._elements()):
                if i >= count:
                    yield e
        n = self._card()
        card = 0 if count < 0 else (max(n - count, 0) if n >= 0 else n)
        return _Elements(run, card, lambda: self.element_spec, "_SkipDataset")

    def concatenate(self, dataset, name=None) -> Dataset:
        """The elements of this dataset, then those of ``dataset`` (same structure and dtypes).

        >>> import rstf as tf
        >>> [int(x) for x in tf.data.Dataset.range(2).concatenate(tf.data.Dataset.range(5, 7))]
        [0, 1, 5, 6]
        """
        spec = _merge_specs(self.element_spec, dataset.element_spec)

        def run():
            yield from self._elements()
            yield from dataset._elements()
        a, b = self._card(), dataset._card()
        card = (INFINITE_CARDINALITY if INFINITE_CARDINALITY in (a, b) else
                UNKNOWN_CARDINALITY if UNKNOWN_CARDINALITY in (a, b) else a + b)
        return _Elements(run, card, lambda: spec, "_ConcatenateDataset")

    def enumerate(self, start=0, name=None) -> Dataset:
        """``(index, element)`` pairs, the index an int64 counting from ``start``."""
        def run():
            for i, e in enumerate(self._elements(), start):
                yield (np.int64(i), e)
        return _Elements(run, self._card(), lambda: (TensorSpec((), "int64"), self.element_spec),
                         "_EnumerateDataset")

    def prefetch(self, buffer_size, name=None) -> Dataset:
        """Returns the dataset unchanged: elements are produced on demand, in the same thread."""
        return self

    def cache(self, filename="", name=None) -> Dataset:
        """Keeps the elements in memory after the first full iteration."""
        return _Cached(self)

    def apply(self, transformation_func) -> Dataset:
        """``transformation_func(self)``."""
        return transformation_func(self)

    def reduce(self, initial_state, reduce_func, name=None):
        """Folds the elements into a state: ``state = reduce_func(state, element)`` from
        ``initial_state``; returns the last state as tensors. The new state must keep the
        structure and dtypes of the initial one.

        >>> import rstf as tf
        >>> tf.data.Dataset.range(5).reduce(tf.constant(0, tf.int64), lambda s, x: s + x)
        <rstf.Tensor: shape=(), dtype=int64, numpy=10>
        """
        state = nest.map_structure(_o.constant, _normalize(initial_state))
        dtypes = [t.dtype for t in nest.flatten(state)]
        for e in self._elements():
            new = _normalize_tensors(reduce_func(state, _to_tensors(e)))
            new = nest.map_structure(_o.convert_to_tensor, new)
            if _skeleton(new) != _skeleton(state):
                raise TypeError("The element classes for the new state must match the initial state. "
                                f"Expected {_skeleton(state)}; got {_skeleton(new)}.")
            got = [t.dtype for t in nest.flatten(new)]
            if got != dtypes:
                raise TypeError("The element types for the new state must match the initial state. Expected "
                                f"{tuple(dtypes)}; got {tuple(got)}.")
            state = new
        return state


class _Elements(Dataset):
    def __init__(self, make, cardinality, spec=None, kind="_Dataset"):
        self._make, self._n, self._spec_fn, self._kind = make, cardinality, spec, kind

    def _elements(self):
        return self._make()

    def _card(self):
        return self._n

    def _spec(self):
        return self._spec_fn() if self._spec_fn is not None else super()._spec()


class _Slices(Dataset):
    _kind = "_TensorSliceDataset"

    def __init__(self, arrays):
        leaves = nest.flatten(arrays)
        if not leaves:
            raise ValueError("from_tensor_slices: no tensors given")
        if any(np.ndim(a) == 0 for a in leaves):
            raise ValueError("Unbatching a tensor is only supported for rank >= 1")
        sizes = sorted({np.shape(a)[0] for a in leaves})
        if len(sizes) != 1:
            raise ValueError(f"Dimensions {sizes[0]} and {sizes[1]} are not compatible: from_tensor_slices "
                             f"needs tensors of one first dimension, got different first dimensions {sizes}")
        self._arrays, self._n = arrays, sizes[0]

    def _card(self):
        return self._n

    def _spec(self):
        return nest.map_structure(lambda a: TensorSpec(np.shape(a)[1:], _dtype_of(a)), self._arrays)

    def _rows(self, idx):
        return nest.map_structure(lambda a: a[idx], self._arrays)

    def _elements(self):
        for i in range(self._n):
            yield self._rows(i)

    def _order(self):
        return np.arange(self._n)


class _Zip(Dataset):
    _kind = "_ZipDataset"

    def __init__(self, datasets):
        self._datasets = datasets

    def _elements(self):
        flat = nest.flatten(self._datasets)
        for items in zip(*(d._elements() for d in flat)):
            yield nest.pack_sequence_as(self._datasets, list(items))

    def _card(self):
        cards = [d._card() for d in nest.flatten(self._datasets)]
        finite = [c for c in cards if c >= 0]
        if finite:
            known = UNKNOWN_CARDINALITY not in cards or min(finite) == 0
            return min(finite) if known else UNKNOWN_CARDINALITY
        return UNKNOWN_CARDINALITY if UNKNOWN_CARDINALITY in cards else INFINITE_CARDINALITY

    def _spec(self):
        return nest.map_structure(lambda d: d.element_spec, self._datasets)


class _Shuffled(Dataset):
    _kind = "_ShuffleDataset"

    def __init__(self, source, buffer_size, seed, reshuffle):
        self._source, self._buffer = source, buffer_size
        self._rng = np.random.default_rng(seed)
        self._seed, self._reshuffle = seed, reshuffle
        self._fixed = None

    def _card(self):
        return self._source._card()

    def _spec(self):
        return self._source.element_spec

    def _generator(self):
        if self._reshuffle:
            return self._rng
        if self._fixed is None:
            self._fixed = int(self._rng.integers(1 << 62))
        return np.random.default_rng(self._fixed)

    def _full(self):
        """True when the buffer holds the whole dataset: a uniform permutation."""
        return isinstance(self._source, _Slices) and self._buffer >= self._source._n

    def _order(self):
        return self._generator().permutation(self._source._n)

    def _elements(self):
        rng = self._generator()
        if self._full():
            for i in rng.permutation(self._source._n):
                yield self._source._rows(i)
            return
        buf = []
        for e in self._source._elements():
            if len(buf) < self._buffer:
                buf.append(e)
                continue
            j = int(rng.integers(len(buf)))
            yield buf[j]
            buf[j] = e
        while buf:
            yield buf.pop(int(rng.integers(len(buf))))


class _Batches(Dataset):
    _kind = "_BatchDataset"

    def __init__(self, source, size, drop_remainder):
        self._source, self._size, self._drop = source, size, drop_remainder

    def _card(self):
        n = self._source._card()
        if n < 0:
            return n
        return n // self._size if self._drop else -(-n // self._size)

    def _spec(self):
        first = self._size if self._drop else None
        return nest.map_structure(lambda s: TensorSpec(None if s.shape is None else (first, *tuple(s.shape)),
                                                       s.dtype), self._source.element_spec)

    def _elements(self):
        src = self._source
        if isinstance(src, _Slices) or (isinstance(src, _Shuffled) and src._full()):
            rows = src if isinstance(src, _Slices) else src._source
            order = src._order()
            for start in range(0, len(order), self._size):
                idx = order[start:start + self._size]
                if len(idx) < self._size and self._drop:
                    return
                yield rows._rows(idx)
            return
        batch = []
        for e in src._elements():
            batch.append(e)
            if len(batch) == self._size:
                yield _stack(batch)
                batch = []
        if batch and not self._drop:
            yield _stack(batch)


class _PaddedBatches(Dataset):
    _kind = "_PaddedBatchDataset"

    def __init__(self, source, size, padded_shapes, padding_values, drop_remainder):
        self._source, self._size, self._drop = source, size, drop_remainder
        spec = source.element_spec
        flat = nest.flatten(spec)
        if padded_shapes is None:
            shapes = [None if s.shape is None else tuple(s.shape) for s in flat]
        else:
            if isinstance(spec, TensorSpec):
                padded_shapes = (padded_shapes,)
            elif isinstance(spec, tuple) and isinstance(padded_shapes, list):
                padded_shapes = tuple(padded_shapes)
            shapes = [_as_shape(p) for p in _flatten_as(spec, padded_shapes, "padded_shapes")]
        for s, p in zip(flat, shapes):
            if s.shape is None or p is None:
                continue
            have = tuple(s.shape)
            if len(p) != len(have) or any(h is not None and q is not None and q < h for h, q in zip(have, p)):
                raise ValueError(f"The padded shape {p} is not compatible with the shape {have} of the "
                                 "corresponding input component.")
        if padding_values is None:
            values = [False if s.dtype.name == "bool" else b"" if s.dtype == string else 0 for s in flat]
        else:
            if isinstance(spec, TensorSpec):
                padding_values = (padding_values,)
            values = [_leaf(v) for v in _flatten_as(spec, padding_values, "padding_values")]
        self._spec_flat, self._shapes, self._values = flat, shapes, values

    def _card(self):
        return _Batches._card(self)

    def _spec(self):
        first = self._size if self._drop else None
        specs = [TensorSpec(None if p is None else (first, *p), s.dtype)
                 for s, p in zip(self._spec_flat, self._shapes)]
        return nest.pack_sequence_as(self._source.element_spec, specs)

    def _elements(self):
        def emit(batch):
            leaves = [nest.flatten(e) for e in batch]
            out = [_pad([np.asarray(_array(leaf[i])) for leaf in leaves], self._shapes[i], self._values[i],
                             np.asarray(leaves[0][i]).dtype) for i in range(len(self._shapes))]
            return nest.pack_sequence_as(batch[0], out)
        batch = []
        for e in self._source._elements():
            batch.append(e)
            if len(batch) == self._size:
                yield emit(batch)
                batch = []
        if batch and not self._drop:
            yield emit(batch)


class _Cached(Dataset):
    _kind = "_CacheDataset"

    def __init__(self, source):
        self._source, self._cache = source, None

    def _card(self):
        return self._source._card()

    def _spec(self):
        return self._source.element_spec

    def _elements(self):
        if self._cache is not None:
            yield from self._cache
            return
        seen = []
        for e in self._source._elements():
            seen.append(e)
            yield e
        self._cache = seen


class experimental:  # noqa: N801 (TensorFlow's namespace)
    AUTOTUNE = AUTOTUNE
    INFINITE_CARDINALITY = INFINITE_CARDINALITY
    UNKNOWN_CARDINALITY = UNKNOWN_CARDINALITY

    cardinality = staticmethod(Dataset.cardinality)

    @staticmethod
    def make_csv_dataset(file_pattern, batch_size, column_names=None, column_defaults=None, label_name=None,
                         select_columns=None, field_delim=",", use_quote_delim=True, na_value="", header=True,
                         num_epochs=None, shuffle=True, shuffle_buffer_size=10000, shuffle_seed=None,
                         prefetch_buffer_size=None, num_parallel_reads=None, sloppy=False,
                         num_rows_for_inference=100, compression_type=None, ignore_errors=False,
                         encoding="utf-8"):
        """Batches of the rows of CSV files as ``(features, label)`` (an OrderedDict of columns
        by name, and the ``label_name`` column) or just features. Column names come from the
        header line unless given; column types (int32, int64, float32, float64 or string) are
        inferred from the first ``num_rows_for_inference`` rows unless ``column_defaults`` gives
        them. Repeats forever (full batches only) unless ``num_epochs`` is given.

        >>> import os, tempfile
        >>> import rstf as tf
        >>> path = os.path.join(tempfile.mkdtemp(), "data.csv")
        >>> with open(path, "w") as f:
        ...     _ = f.write("age,name,score\\n30,ann,1.5\\n40,bob,2.5\\n")
        >>> ds = tf.data.experimental.make_csv_dataset(path, batch_size=2, label_name="score",
        ...                                            num_epochs=1, shuffle=False)
        >>> features, label = next(iter(ds))
        >>> list(features), features["age"].numpy(), label.numpy()
        (['age', 'name'], array([30, 40], dtype=int32), array([1.5, 2.5], dtype=float32))
        """
        return _csv.make_csv_dataset(
            Dataset, CsvDataset, file_pattern, batch_size, column_names, column_defaults, label_name,
            select_columns, field_delim, use_quote_delim, na_value, header, num_epochs, shuffle,
            shuffle_buffer_size, shuffle_seed, num_rows_for_inference, compression_type, ignore_errors,
            encoding)


# -- files ----------------------------------------------------------------------------------------

class _FileDataset(Dataset):
    """The elements read from files (a name, a list or string tensor of names, or a dataset
    of names), ``num_parallel_reads`` files at a time in turn (one element each);
    ``compression_type`` is ``""``, ``"ZLIB"`` or ``"GZIP"``. A subclass names its ``_reader``,
    ``(path, compression) -> the file's elements as bytes``."""

    def __init__(self, filenames, compression_type=None, buffer_size=None, num_parallel_reads=None,
                 name=None):
        self._files = _tfrecord.filenames(filenames, type(self).__name__)
        self._compression = _tfrecord.compression(compression_type)
        n = num_parallel_reads
        self._parallel = (os.cpu_count() or 1) if n == AUTOTUNE else int(n or 1)

    def _read(self, path):
        return (_array(r) for r in type(self)._reader(path, self._compression))

    def _elements(self):
        return _interleave(self._files(), self._read, self._parallel, 1)

    def _spec(self):
        return TensorSpec((), string)


class TextLineDataset(_FileDataset):
    """The lines of text files (without their ``\\n`` or ``\\r\\n``) as string scalars.

    >>> import os, tempfile
    >>> import rstf as tf
    >>> path = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> tf.io.write_file(path, "first line\\nsecond\\n")
    >>> [line.numpy() for line in tf.data.TextLineDataset(path)]
    [b'first line', b'second']
    """

    _kind = "_TextLineDataset"
    _reader = staticmethod(_tfrecord.lines)


class TFRecordDataset(_FileDataset):
    """The records of TFRecord files as string scalars (checksums verified: a corrupted file
    raises DataLossError)."""

    _kind = "_TFRecordDataset"
    _reader = staticmethod(_tfrecord.records)


class CsvDataset(Dataset):
    """The records of CSV files as tuples of scalars, one per column (or per column of
    ``select_cols``), of the dtypes of ``record_defaults`` (per column a dtype for a required
    column, or a one-value list or tensor giving its default).

    >>> import os, tempfile
    >>> import rstf as tf
    >>> path = os.path.join(tempfile.mkdtemp(), "a.csv")
    >>> tf.io.write_file(path, 'x,y\\n1,"a,b"\\n2,\\n')
    >>> ds = tf.data.experimental.CsvDataset(path, [tf.int32, ["?"]], header=True)
    >>> [(int(x), y.numpy()) for x, y in ds]
    [(1, b'a,b'), (2, b'?')]
    """

    _kind = "_CSVDataset"

    def __init__(self, filenames, record_defaults, compression_type=None, buffer_size=None, header=False,
                 field_delim=",", use_quote_delim=True, na_value="", select_cols=None, exclude_cols=None,
                 name=None):
        self._reader = _csv.CsvReader(filenames, record_defaults, compression_type, header, field_delim,
                                      use_quote_delim, na_value, select_cols, exclude_cols)

    def _elements(self):
        return self._reader.rows()

    def _spec(self):
        return tuple(TensorSpec((), d) for d in self._reader.columns.dtypes)


experimental.CsvDataset = CsvDataset
