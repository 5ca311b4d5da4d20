"""``rstf.types``: the types of TensorFlow's type annotations (``tf.types.experimental``).

>>> import rstf as tf
>>> isinstance(tf.constant(1.0), tf.types.experimental.Tensor)
True
>>> def scale(x: tf.types.experimental.TensorLike, k: float = 2.0):
...     return tf.convert_to_tensor(x) * k
>>> scale([1.0, 2.0])
<rstf.Tensor: shape=(2,), dtype=float32, numpy=array([2., 4.], dtype=float32)>
"""

from __future__ import annotations

import abc
from typing import Union

import numpy as np

from ._rstf import Tensor
from ._variable import Variable

__all__ = ["experimental"]


class TraceType(abc.ABC):
    """The type of an argument as ``rstf.function`` keys its traces by: an object whose class
    defines ``__tf_tracing_type__(context)`` returning one is keyed by it (equal types share a
    trace), instead of by the object itself."""

    @abc.abstractmethod
    def is_subtype_of(self, other) -> bool:
        """True when a trace for ``other`` accepts this type."""

    @abc.abstractmethod
    def most_specific_common_supertype(self, others):
        """The most specific type of which this one and ``others`` are subtypes, or None."""

    def placeholder_value(self, placeholder_context=None):
        """The value the function is traced with."""
        raise NotImplementedError

    @abc.abstractmethod
    def __eq__(self, other) -> bool: ...

    @abc.abstractmethod
    def __hash__(self) -> int: ...


class experimental:
    """``tf.types.experimental``."""

    TensorLike = Union[Tensor, Variable, int, float, bool, str, bytes, complex, tuple, list, np.ndarray,
                       np.generic]
    Tensor = Tensor
    TraceType = TraceType
