"""``TensorShape``: a tuple of dimensions that prints as ``(2, 3)``.

>>> from rstf._shape import TensorShape
>>> s = TensorShape([2, 3])
>>> print(s), s == (2, 3), s == [2, 3], s.as_list(), s.rank
(2, 3)
(None, True, True, [2, 3], 2)
"""

from __future__ import annotations

import functools
import operator


def _dim(d):
    """A dimension: None (unknown) or an int; a float or a string is a TypeError, as in TensorFlow."""
    if d is None:
        return None
    try:
        return operator.index(d)
    except TypeError:
        raise TypeError("Dimension value must be integer or None or have an __index__ method, "
                        f"got value {d!r} with type {type(d)!r}") from None


class TensorShape(tuple):
    """The shape of a tensor: compares equal to tuples and lists of the same dims."""

    __slots__ = ()

    def __new__(cls, dims=()):
        if dims is None:
            raise ValueError("TensorShape: unknown rank is not supported")
        if isinstance(dims, TensorShape):
            return dims
        try:
            it = iter(dims)
        except TypeError:
            it = iter([dims])  # a single dimension
        return super().__new__(cls, (_dim(d) for d in it))

    @property
    def rank(self) -> int:
        return len(self)

    @property
    def ndims(self) -> int:
        return len(self)

    @property
    def dims(self):
        return list(self)

    def as_list(self) -> list:
        return list(self)

    def num_elements(self):
        n = 1
        for d in self:
            if d is None:
                return None
            n *= d
        return n

    def is_fully_defined(self) -> bool:
        return all(d is not None for d in self)

    def is_compatible_with(self, other) -> bool:
        """Whether the shapes can describe the same tensor: the same rank, and each pair of
        dimensions equal or one of them unknown (None). ``None`` (an unknown shape) is compatible
        with every shape."""
        o = _as_shape(other)
        return o is None or (len(o) == len(self) and all(
            a is None or b is None or a == b for a, b in zip(self, o)))

    def assert_is_compatible_with(self, other) -> None:
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {self} and {other} are incompatible")

    def merge_with(self, other) -> TensorShape:
        """The shape that both shapes describe, with each unknown dimension taken from the other;
        a ValueError if they are not compatible.

        >>> TensorShape([None, 3]).merge_with([2, None])
        TensorShape([2, 3])
        """
        o = _as_shape(other)
        if o is None:
            return self
        if not self.is_compatible_with(o):
            raise ValueError(f"Shapes {self} and {o} are not compatible")
        return TensorShape([b if a is None else a for a, b in zip(self, o)])

    def most_specific_compatible_shape(self, other) -> TensorShape:
        """The most specific shape compatible with both: the dimensions they agree on, None for
        the others. Shapes of different ranks have no such shape of known rank, which this
        TensorShape cannot express: that is a ValueError (TensorFlow returns an unknown shape)."""
        o = _as_shape(other)
        if o is None or len(o) != len(self):
            raise ValueError(f"Shapes {self} and {other} have different ranks; an unknown rank is "
                             "not supported")
        return TensorShape([a if a == b else None for a, b in zip(self, o)])

    def assert_same_rank(self, other) -> None:
        o = _as_shape(other)
        if o is not None and len(o) != len(self):
            raise ValueError(f"Shapes {self} and {o} must have the same rank")

    def assert_has_rank(self, rank) -> None:
        if len(self) != rank:
            raise ValueError(f"Shape {self} must have rank {rank}")

    def with_rank(self, rank) -> TensorShape:
        self.assert_has_rank(rank)
        return self

    def concatenate(self, other) -> TensorShape:
        return TensorShape(list(self) + list(_as_shape(other) or ()))

    def __eq__(self, other) -> bool:
        if isinstance(other, (tuple, list)):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __ne__(self, other) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = tuple.__hash__

    def __getitem__(self, key):
        r = tuple.__getitem__(self, key)
        return TensorShape(r) if isinstance(key, slice) else r

    def __repr__(self) -> str:
        return f"TensorShape({list(self)})"

    def __str__(self) -> str:
        if len(self) == 1:
            return f"({self[0]},)"
        return "(" + ", ".join(str(d) for d in self) + ")"


def _as_shape(value):
    """A TensorShape, or None for an unknown shape (TensorFlow's ``as_shape``)."""
    if value is None or isinstance(value, TensorShape):
        return value
    if hasattr(value, "dtype") and hasattr(value, "numpy"):
        raise TypeError(f"Failed to convert {value!r} to a shape: pass tensor.shape, not a tensor")
    if isinstance(value, (str, bytes)):
        raise TypeError(f"Failed to convert {value!r} to a shape: {value!r} could not be converted to a "
                        "dimension")
    return TensorShape(value)


# A TensorShape of a tuple of ints, as the engine hands out shapes: no per-dimension conversion.
_from_dims = functools.partial(tuple.__new__, TensorShape)
