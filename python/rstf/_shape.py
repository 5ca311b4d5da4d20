"""``TensorShape``: a tuple of dimensions that prints as ``(2, 3)``.

>>> from rstf._shape import TensorShape
>>> s = TensorShape([2, 3])
>>> print(s), s == (2, 3), s == [2, 3], s.as_list(), s.rank
(2, 3)
(None, True, True, [2, 3], 2)
"""

from __future__ import annotations

import functools


class TensorShape(tuple):
    """The shape of a tensor: compares equal to tuples and lists of the same dims."""

    __slots__ = ()

    def __new__(cls, dims=()):
        if dims is None:
            raise ValueError("TensorShape: unknown rank is not supported")
        return super().__new__(cls, (None if d is None else int(d) for d in dims))

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


# A TensorShape of a tuple of ints, as the engine hands out shapes: no per-dimension conversion.
_from_dims = functools.partial(tuple.__new__, TensorShape)
