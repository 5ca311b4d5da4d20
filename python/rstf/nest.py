"""Nested structures of lists, tuples, namedtuples and dicts (TensorFlow's ``tf.nest``).

>>> import rstf as tf
>>> tf.nest.flatten({"b": [1, 2], "a": 3})
[3, 1, 2]
>>> tf.nest.pack_sequence_as({"b": [0, 0], "a": 0}, [30, 10, 20])
{'b': [10, 20], 'a': 30}
"""

from __future__ import annotations

import collections
from typing import Any


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def is_nested(x) -> bool:
    """True for lists, tuples and dicts (the containers ``flatten`` walks into)."""
    return isinstance(x, (list, tuple, dict))


def flatten(structure, expand_composites=False) -> list:
    """The leaves of ``structure`` in order (dicts by sorted key)."""
    if isinstance(structure, dict):
        return [leaf for k in sorted(structure) for leaf in flatten(structure[k])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def _pack(structure, leaves, pos: int) -> tuple[Any, int]:
    if isinstance(structure, dict):
        out = {}
        for k in sorted(structure):
            out[k], pos = _pack(structure[k], leaves, pos)
        if isinstance(structure, collections.OrderedDict):
            return collections.OrderedDict((k, out[k]) for k in structure), pos
        return {k: out[k] for k in structure}, pos
    if isinstance(structure, (list, tuple)):
        items = []
        for item in structure:
            value, pos = _pack(item, leaves, pos)
            items.append(value)
        if _is_namedtuple(structure):
            return type(structure)(*items), pos
        return type(structure)(items), pos
    return leaves[pos], pos + 1


def pack_sequence_as(structure, flat_sequence, expand_composites=False):
    """``flat_sequence`` arranged in the shape of ``structure``."""
    flat = list(flat_sequence)
    n = len(flatten(structure))
    if n != len(flat):
        raise ValueError(
            f"pack_sequence_as: the structure has {n} leaves but {len(flat)} values were given"
        )
    return _pack(structure, flat, 0)[0]


def map_structure(func, *structures):
    """Applies ``func`` to the leaves of one or more structures of the same shape."""
    flats = [flatten(s) for s in structures]
    if any(len(f) != len(flats[0]) for f in flats):
        raise ValueError("map_structure: the structures do not have the same number of leaves")
    return pack_sequence_as(structures[0], [func(*xs) for xs in zip(*flats)])
