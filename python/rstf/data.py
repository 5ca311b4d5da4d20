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

Batches of ``from_tensor_slices`` (shuffled or not) are cut from the arrays in one indexing
operation per batch, not assembled element by element.
"""

from __future__ import annotations

import abc

import numpy as np

from . import _ops as _o
from . import nest
from ._rstf import Tensor
from ._variable import Variable

__all__ = ["Dataset", "AUTOTUNE", "experimental"]

AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2


def _to_numpy(x):
    if isinstance(x, (Tensor, Variable)):
        return x.numpy()
    return np.asarray(x)


def _to_tensors(element):
    return nest.map_structure(lambda a: _o.constant(a) if isinstance(a, np.ndarray) or np.isscalar(a)
                              else a, element)


class Dataset(abc.ABC):
    """A sequence of elements; iterating yields tensors."""

    @abc.abstractmethod
    def _elements(self):
        """Yields elements as numpy structures."""

    def cardinality(self) -> int:
        """The number of elements (-1 infinite, -2 unknown)."""
        return UNKNOWN_CARDINALITY

    def __len__(self):
        n = self.cardinality()
        if n < 0:
            raise TypeError("The dataset length is infinite or unknown.")
        return n

    def __iter__(self):
        for e in self._elements():
            yield _to_tensors(e)

    def as_numpy_iterator(self):
        """Iterates over the elements as numpy values."""
        return iter(self._elements())

    # -- sources ------------------------------------------------------------------------------

    @staticmethod
    def from_tensor_slices(tensors, name=None) -> Dataset:
        """One element per row of ``tensors`` (arrays, or tuples and dicts of them)."""
        return _Slices(nest.map_structure(_to_numpy, tensors))

    @staticmethod
    def from_tensors(tensors, name=None) -> Dataset:
        """A dataset of one element."""
        return _Elements(lambda: iter([nest.map_structure(_to_numpy, tensors)]), 1)

    @staticmethod
    def range(*args, dtype="int64", name=None) -> Dataset:
        r = range(*args)
        return _Slices(np.arange(r.start, r.stop, r.step, dtype=str(dtype) if isinstance(dtype, str)
                                 else dtype.name))

    @staticmethod
    def from_generator(generator, output_types=None, output_shapes=None, args=None, output_signature=None,
                       name=None) -> Dataset:
        """Elements produced by calling ``generator()`` afresh on each iteration."""
        return _Elements(lambda: (nest.map_structure(_to_numpy, e) for e in generator(*(args or ()))),
                         UNKNOWN_CARDINALITY)

    # -- transformations ----------------------------------------------------------------------

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None) -> Dataset:
        """Applies ``map_func`` to each element (a tuple element is passed as arguments)."""
        def run():
            for e in self._elements():
                t = _to_tensors(e)
                out = map_func(*t) if isinstance(t, tuple) else map_func(t)
                yield nest.map_structure(_to_numpy, out)
        return _Elements(run, self.cardinality())

    def filter(self, predicate, name=None) -> Dataset:
        def run():
            for e in self._elements():
                t = _to_tensors(e)
                if bool(predicate(*t) if isinstance(t, tuple) else predicate(t)):
                    yield e
        return _Elements(run, UNKNOWN_CARDINALITY)

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None, deterministic=None,
              name=None) -> Dataset:
        """Stacks consecutive elements into batches of ``batch_size``."""
        if int(batch_size) <= 0:
            raise ValueError(f"batch: batch_size must be positive, got {batch_size}")
        return _Batches(self, int(batch_size), drop_remainder)

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
        n = self.cardinality()
        card = INFINITE_CARDINALITY if forever and n != 0 else (n * count if n >= 0 else n)
        return _Elements(run, card)

    def take(self, count, name=None) -> Dataset:
        def run():
            if count == 0:
                return
            for i, e in enumerate(self._elements()):
                yield e
                if count >= 0 and i + 1 >= count:
                    return
        n = self.cardinality()
        card = n if count < 0 else (count if n == INFINITE_CARDINALITY else
                                    (min(n, count) if n >= 0 else UNKNOWN_CARDINALITY))
        return _Elements(run, card)

    def skip(self, count, name=None) -> Dataset:
        def run():
            for i, e in enumerate(self._elements()):
                if i >= count:
                    yield e
        n = self.cardinality()
        return _Elements(run, max(n - count, 0) if n >= 0 else n)

    def prefetch(self, buffer_size, name=None) -> Dataset:
        """Returns the dataset unchanged: elements are produced on demand, in the same thread."""
        return self

    def cache(self, filename="", name=None) -> Dataset:
        """Keeps the elements in memory after the first full iteration."""
        return _Cached(self)

    def enumerate(self, start=0, name=None) -> Dataset:
        def run():
            for i, e in enumerate(self._elements(), start):
                yield (np.int64(i), e)
        return _Elements(run, self.cardinality())

    def unbatch(self, name=None) -> Dataset:
        def run():
            for e in self._elements():
                leaves = nest.flatten(e)
                for i in range(len(leaves[0]) if leaves else 0):
                    yield nest.pack_sequence_as(e, [leaf[i] for leaf in leaves])
        return _Elements(run, UNKNOWN_CARDINALITY)


class _Elements(Dataset):
    def __init__(self, make, cardinality):
        self._make, self._card = make, cardinality

    def _elements(self):
        return self._make()

    def cardinality(self):
        return self._card


class _Slices(Dataset):
    def __init__(self, arrays):
        leaves = nest.flatten(arrays)
        if not leaves:
            raise ValueError("from_tensor_slices: no tensors given")
        sizes = {np.shape(a)[0] if np.ndim(a) else None for a in leaves}
        if None in sizes:
            raise ValueError("from_tensor_slices: every tensor needs at least one dimension")
        if len(sizes) != 1:
            raise ValueError(
                f"from_tensor_slices: the tensors have different first dimensions {sorted(sizes)}")
        self._arrays, self._n = arrays, sizes.pop()

    def cardinality(self):
        return self._n

    def _rows(self, idx):
        return nest.map_structure(lambda a: a[idx], self._arrays)

    def _elements(self):
        for i in range(self._n):
            yield self._rows(i)

    def _order(self):
        return np.arange(self._n)


class _Shuffled(Dataset):
    def __init__(self, source, buffer_size, seed, reshuffle):
        self._source, self._buffer = source, buffer_size
        self._rng = np.random.default_rng(seed)
        self._seed, self._reshuffle = seed, reshuffle
        self._fixed = None

    def cardinality(self):
        return self._source.cardinality()

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
    def __init__(self, source, size, drop_remainder):
        self._source, self._size, self._drop = source, size, drop_remainder

    def cardinality(self):
        n = self._source.cardinality()
        if n < 0:
            return n
        return n // self._size if self._drop else -(-n // self._size)

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


def _stack(elements):
    first = elements[0]
    leaves = [nest.flatten(e) for e in elements]
    stacked = []
    for i in range(len(leaves[0])):
        parts = [np.asarray(leaf[i]) for leaf in leaves]
        shapes = {p.shape for p in parts}
        if len(shapes) != 1:
            from .errors import InvalidArgumentError

            raise InvalidArgumentError(
                f"batch: cannot batch elements of different shapes {sorted(shapes)}; "
                "use padded_batch or map them to one shape")
        stacked.append(np.stack(parts))
    return nest.pack_sequence_as(first, stacked)


class _Cached(Dataset):
    def __init__(self, source):
        self._source, self._cache = source, None

    def cardinality(self):
        return self._source.cardinality()

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

    @staticmethod
    def cardinality(dataset):
        return _o.constant(dataset.cardinality(), "int64")
