"""The elements of :mod:`rstf.data` datasets: structures (tuples, namedtuples and dicts, as
in TensorFlow; a list is one tensor) with numpy leaves, their ``TensorSpec``s, and the
conversions, checks and padding the datasets use."""

from __future__ import annotations

import collections

import numpy as np

from . import _ops as _o
from . import nest
from ._function import TensorSpec
from ._rstf import Tensor
from ._variable import Variable
from .dtypes import as_dtype, string
from .errors import DataLossError, InvalidArgumentError, OutOfRangeError

# -- elements: tuples, namedtuples and dicts are structures; anything else is one tensor ---------


def _leaf(x):
    """One component as numpy (Python numbers and lists converted with TensorFlow's dtypes;
    strings as object arrays of bytes, a scalar string as a 0-d one)."""
    if isinstance(x, (Tensor, Variable)):
        return _array(x.numpy())
    if isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind not in "SU":
        return x
    return _array(_o.convert_to_tensor(x).numpy())


def _array(a):
    """``a``, a scalar string (``bytes``, ``str``) as a 0-d object array of bytes."""
    if isinstance(a, str):
        a = a.encode()
    if isinstance(a, bytes):
        out = np.empty((), dtype=object)
        out[()] = a
        return out
    return a


def _dtype_of(a):
    """The DType of a leaf (numpy strings and object arrays are ``string``)."""
    if isinstance(a, (bytes, str)):
        return string
    d = np.asarray(a).dtype
    return string if d.kind in "SUO" else as_dtype(d.name)


def _normalize(s, lists_are_tuples=False):
    """A structure with numpy leaves; lists are tensors (or tuples, for a function's result)."""
    if isinstance(s, dict):
        out = {k: _normalize(v, lists_are_tuples) for k, v in s.items()}
        return collections.OrderedDict(out) if isinstance(s, collections.OrderedDict) else out
    if isinstance(s, tuple) or (lists_are_tuples and isinstance(s, list)):
        items = [_normalize(v, lists_are_tuples) for v in s]
        return type(s)(*items) if nest._is_namedtuple(s) else tuple(items)
    return _leaf(s)


def _to_tensors(element):
    return nest.map_structure(_o.constant, element)


def _numpy(element):
    return nest.map_structure(lambda a: a[()] if isinstance(a, np.ndarray) and a.ndim == 0 else a, element)


def _call(fn, element):
    """``fn`` on an element as tensors; a tuple (not a namedtuple) is passed as arguments."""
    t = _to_tensors(element)
    return fn(*t) if type(t) is tuple else fn(t)


def _spec_of(element):
    return nest.map_structure(lambda a: TensorSpec(np.shape(a), _dtype_of(a)), element)


def _skeleton(s):
    return nest.map_structure(lambda _: 0, s)


def _relax(a: TensorSpec, b: TensorSpec) -> TensorSpec:
    """The most specific spec both fit."""
    if a.shape is None or b.shape is None or len(a.shape) != len(b.shape):
        return TensorSpec(None, a.dtype)
    return TensorSpec([x if x == y else None for x, y in zip(tuple(a.shape), tuple(b.shape))], a.dtype)


def _merge_specs(a, b):
    """Specs of two datasets whose elements go in one (``concatenate``); TypeError unless the
    structures and dtypes agree."""
    pairs = list(zip(nest.flatten(a), nest.flatten(b)))
    if _skeleton(a) != _skeleton(b) or any(x.dtype != y.dtype for x, y in pairs):
        raise TypeError(f"Incompatible dataset elements:\n  {a} vs.   {b}")
    return nest.pack_sequence_as(a, [_relax(x, y) for x, y in pairs])


def _placeholder(spec, size, value):
    """An element of ``spec`` filled with ``value``, its unknown dimensions ``size`` (strings:
    empty for 0, else one with spaces and commas, so that splitting them differs)."""
    def fill(s):
        dims = [size if d is None else d for d in tuple(s.shape or ())]
        if s.dtype == string:
            return np.full(dims, b"1,1 1" if value else b"", object)
        return np.full(dims, value, s.dtype.as_numpy_dtype)
    return nest.map_structure(fill, spec)


def _check_predicate(value):
    t = _o.convert_to_tensor(value)
    if t.dtype.name != "bool" or len(t.shape) != 0:
        raise ValueError("Invalid `predicate`. `predicate` must return a `tf.bool` scalar tensor, but its "
                         f"return type is {TensorSpec.from_tensor(t)}.")
    return bool(t)



def _normalize_tensors(s):
    """A function's result with lists taken as tuples (leaves left as they are)."""
    if isinstance(s, dict):
        return {k: _normalize_tensors(v) for k, v in s.items()}
    if isinstance(s, (list, tuple)):
        items = [_normalize_tensors(v) for v in s]
        return type(s)(*items) if nest._is_namedtuple(s) else tuple(items)
    return s



def _types_and_shapes(types, shapes):
    """TensorSpecs from ``from_generator``'s older ``output_types`` and ``output_shapes``."""
    if isinstance(types, dict):
        return {k: _types_and_shapes(t, None if shapes is None else shapes[k]) for k, t in types.items()}
    if isinstance(types, (tuple, list)):
        if shapes is not None and len(shapes) != len(types):
            raise ValueError("from_generator: output_shapes must have the structure of output_types")
        return tuple(_types_and_shapes(t, None if shapes is None else shapes[i]) for i, t in enumerate(types))
    return TensorSpec(_as_shape(shapes), types)


def _fit(value, specs):
    """A generator's element converted to ``specs`` (InvalidArgumentError if it does not fit)."""
    if isinstance(specs, TensorSpec):
        try:
            if specs.dtype == string:
                a = _leaf(value)
                if _dtype_of(a) != string:
                    raise TypeError("not a string")
            else:
                a = np.asarray(_leaf(value) if isinstance(value, (Tensor, Variable)) else value,
                               dtype=specs.dtype.as_numpy_dtype)
        except (TypeError, ValueError):
            raise InvalidArgumentError(
                "TypeError: `generator` yielded an element that could not be converted to the expected type. "
                f"The expected type was {specs.dtype.name}, but the yielded element was {value!r}.") from None
        if specs.shape is not None and not specs.is_compatible_with(_o.constant(a)):
            raise InvalidArgumentError(f"TypeError: `generator` yielded an element of shape {a.shape} where "
                                       f"an element of shape {tuple(specs.shape)} was expected.")
        return a
    if isinstance(specs, dict) and isinstance(value, dict) and set(specs) == set(value):
        return {k: _fit(value[k], s) for k, s in specs.items()}
    if isinstance(specs, tuple) and isinstance(value, (tuple, list)) and len(value) == len(specs):
        items = [_fit(v, s) for v, s in zip(value, specs)]
        return type(specs)(*items) if nest._is_namedtuple(specs) else tuple(items)
    raise InvalidArgumentError(
        "TypeError: `generator` yielded an element that did not match the expected structure. The "
        f"expected structure was {nest.map_structure(lambda s: s.dtype, specs)}, but the yielded element "
        f"was {value!r}.")



def _stack(elements):
    first = elements[0]
    leaves = [nest.flatten(e) for e in elements]
    stacked = []
    for i in range(len(leaves[0])):
        parts = [np.asarray(_array(leaf[i])) for leaf in leaves]
        shapes = {p.shape for p in parts}
        if len(shapes) != 1:
            raise InvalidArgumentError(
                f"batch: cannot batch elements of different shapes {sorted(shapes)}; "
                "use padded_batch or map them to one shape")
        stacked.append(np.stack(parts))
    return nest.pack_sequence_as(first, stacked)


def _as_shape(s):
    if s is None:
        return None
    if isinstance(s, (int, np.integer)):
        return (int(s),)
    if isinstance(s, (Tensor, np.ndarray)):
        return tuple(int(d) for d in np.asarray(s).reshape(-1))
    return tuple(None if d is None or (isinstance(d, (int, np.integer)) and d < 0) else int(d) for d in s)



def _flatten_as(spec, values, what):
    """``values`` (a structure like ``spec`` whose leaves may be shapes) flattened as ``spec``."""
    if isinstance(spec, TensorSpec):
        return [values[0]]
    if isinstance(spec, dict):
        if not isinstance(values, dict) or set(values) != set(spec):
            raise ValueError(f"padded_batch: {what} must have the structure of the elements, {spec}")
        return [x for k in sorted(spec) for x in _flatten_as(spec[k], _one(values[k], spec[k]), what)]
    if not isinstance(values, (tuple, list)) or len(values) != len(spec):
        raise ValueError(f"padded_batch: {what} must have the structure of the elements, {spec}")
    return [x for s, v in zip(spec, values) for x in _flatten_as(s, _one(v, s), what)]


def _one(value, spec):
    return (value,) if isinstance(spec, TensorSpec) else value



def _pad(parts, shape, value, dtype):
    rank = parts[0].ndim
    if any(p.ndim != rank for p in parts):
        raise InvalidArgumentError("padded_batch: the elements of a component differ in rank")
    target = [max(p.shape[a] for p in parts) if shape is None or shape[a] is None else shape[a]
              for a in range(rank)]
    out = np.full([len(parts), *target], value, dtype=dtype)
    for i, p in enumerate(parts):
        if any(d > t for d, t in zip(p.shape, target)):
            raise DataLossError("Attempted to pad to a smaller size than the input element.")
        out[(i, *(slice(0, d) for d in p.shape))] = p
    return out


_END = object()


def _interleave(sources, open_source, cycle_length: int, block_length: int):
    """TensorFlow's interleave order: up to ``cycle_length`` iterators (``open_source`` of
    the next source) open at once, ``block_length`` elements taken from each in turn, an
    exhausted one replaced by the next source in its place."""
    sources = iter(sources)
    slots = [None] * cycle_length
    open_, ended, i, block = 0, False, 0, 0
    while not ended or open_:
        it = slots[i]
        if it is not None:
            e = next(it, _END)
            if e is not _END:
                block += 1
                if block == block_length:
                    block, i = 0, (i + 1) % cycle_length
                yield e
                continue
            slots[i] = None
            open_ -= 1
            block, i = 0, (i + 1) % cycle_length
        elif not ended:
            source = next(sources, _END)
            if source is _END:
                ended = True
            else:
                slots[i] = iter(open_source(source))
                open_ += 1
        else:
            block, i = 0, (i + 1) % cycle_length


def _map_spec(source, fn, run):
    """The spec of ``source.map(fn)``: ``fn`` run on zeros, then ones, of the source's spec,
    its unknown dimensions sized 2, then 3 (a dimension of the results that differs is
    unknown); if that fails, the spec of the first element (its dimensions unknown where the
    source has strings, whose contents may decide them)."""
    spec = source.element_spec
    sizes = (2, 3)
    try:
        if any(s.shape is None for s in nest.flatten(spec)):
            raise ValueError("unknown rank")
        outs = [_spec_of(_normalize(_call(fn, _placeholder(spec, n, v)), True))
                for n, v in zip(sizes, (0, 1))]
    except Exception:  # noqa: BLE001 - the function may not accept zeros: use a real element
        for e in run():
            if any(s.dtype == string for s in nest.flatten(spec)):  # sizes may depend on the text
                return nest.map_structure(lambda t: TensorSpec([None] * len(t.shape), t.dtype), _spec_of(e))
            return _spec_of(e)
        raise
    out = outs[0]
    for other in outs[1:]:
        out = _merge_specs(out, other)
    return out


class OwnedIterator:
    """What ``iter(dataset)`` gives: ``next()`` and ``get_next()`` (which raises
    OutOfRangeError at the end, as TensorFlow's). Its tracing type
    (``__tf_tracing_type__``) is its position, so a ``tf.function`` that keys its traces by
    tracing types traces again for each element the iterator gives (TensorFlow reads the next
    element inside the graph; rstf's graphs cannot call back into Python)."""

    def __init__(self, dataset):
        self._dataset = dataset
        self._it = dataset._elements()
        self._position = 0

    def __iter__(self):
        return self

    def __next__(self):
        e = next(self._it)
        self._position += 1
        return _to_tensors(e)

    def get_next(self, name=None):
        try:
            return next(self)
        except StopIteration:
            raise OutOfRangeError("End of sequence") from None

    @property
    def element_spec(self):
        return self._dataset.element_spec

    def __tf_tracing_type__(self, context=None):
        return _IteratorPosition(self, self._position)

    def __repr__(self):
        return f"<OwnedIterator element_spec={self.element_spec}>"


class _IteratorPosition:
    """The tracing type of an :class:`OwnedIterator`: the iterator and how many elements it
    had given; equal only for the same iterator at the same position."""

    def __init__(self, iterator, position):
        self._id, self._position, self._iterator = id(iterator), position, iterator

    def is_subtype_of(self, other) -> bool:
        return self == other

    def most_specific_common_supertype(self, others):
        return self if all(self == o for o in others) else None

    def placeholder_value(self, placeholder_context=None):
        return self._iterator

    def __eq__(self, other):
        return isinstance(other, _IteratorPosition) and self._key() == other._key()

    def _key(self):
        return self._id, self._position

    def __hash__(self):
        return hash(self._key())
