"""``rstf.Variable``: mutable state with TensorFlow's Python surface over the Rust class.

>>> import rstf as tf
>>> v = tf.Variable([1.0, 2.0])
>>> v.assign_add([1.0, 1.0])
<rstf.Variable 'UnreadVariable' shape=(2,) dtype=float32, numpy=array([2., 3.], dtype=float32)>
>>> (v * 2).numpy()
array([4., 6.], dtype=float32)
"""

from __future__ import annotations

import weakref

import numpy as np

from . import _rstf
from ._format import _numpy_text
from .dtypes import as_dtype

_LIVE: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
# Checks run before a Variable is made: ``rstf.function`` pushes one while it traces (variables
# may be created on the first trace only); a check raises to refuse the creation.
_CREATION_CHECKS: list = []
# Called with each new Variable once it exists (``rstf.distribute`` gives a variable created in a
# strategy's scope the chief's initial value).
_CREATED_HOOKS: list = []


def _lookup(var_id: int):
    return _LIVE.get(var_id)


class Variable(_rstf.Variable):
    """Mutable storage of fixed shape and dtype, usable wherever a tensor is."""

    __array_priority__ = 100

    def __new__(cls, initial_value=None, trainable=True, validate_shape=True, caching_device=None,
                name=None, variable_def=None, dtype=None, import_scope=None, constraint=None,
                synchronization=None, aggregation=None, shape=None, experimental_enable_variable_lifting=True,
                _alias=None):
        if _alias is None:
            for check in _CREATION_CHECKS:
                check()
        if trainable is None:
            trainable = True
        dt = None if dtype is None else as_dtype(dtype).name
        return super().__new__(cls, initial_value, bool(trainable), name, dt, _alias)

    def __init__(self, initial_value=None, trainable=True, *args, _alias=None, **kwargs):
        if _alias is None:
            _LIVE[self._id] = self
            for hook in _CREATED_HOOKS:
                hook(self)

    def assign(self, value, use_locking=False, name=None, read_value=True):
        """Replaces the value (same shape and dtype); returns the variable."""
        self._assign(value)
        return _UnreadVariable(_alias=self) if read_value else None

    def assign_add(self, delta, use_locking=False, name=None, read_value=True):
        """Adds ``delta`` in place; returns the variable."""
        self._assign_add(delta)
        return _UnreadVariable(_alias=self) if read_value else None

    def assign_sub(self, delta, use_locking=False, name=None, read_value=True):
        """Subtracts ``delta`` in place; returns the variable."""
        self._assign_sub(delta)
        return _UnreadVariable(_alias=self) if read_value else None

    def _scatter(self, op, indices, updates, read_value):
        from . import _indexing

        self._assign(getattr(_indexing, op)(self.value(), indices, updates))
        return _UnreadVariable(_alias=self) if read_value else None

    def scatter_nd_update(self, indices, updates, name=None):
        """Replaces the slices at ``indices`` by ``updates`` (``tf.tensor_scatter_nd_update``).

        >>> import rstf as tf
        >>> v = tf.Variable([1, 2, 3, 4])
        >>> v.scatter_nd_update([[0], [2]], [9, 8]).numpy()
        array([9, 2, 8, 4], dtype=int32)
        """
        return self._scatter("tensor_scatter_nd_update", indices, updates, True)

    def scatter_nd_add(self, indices, updates, name=None):
        """Adds ``updates`` at ``indices`` in place."""
        return self._scatter("tensor_scatter_nd_add", indices, updates, True)

    def scatter_nd_sub(self, indices, updates, name=None):
        """Subtracts ``updates`` at ``indices`` in place."""
        return self._scatter("tensor_scatter_nd_sub", indices, updates, True)

    def scatter_update(self, sparse_delta, use_locking=False, name=None):
        """Replaces the rows ``sparse_delta.indices`` by ``sparse_delta.values`` (an
        ``IndexedSlices``: anything with ``indices`` and ``values``)."""
        if not (hasattr(sparse_delta, "indices") and hasattr(sparse_delta, "values")):
            raise TypeError(f"sparse_delta is not IndexedSlices: {sparse_delta}")
        idx = np.asarray(sparse_delta.indices)[..., None]
        return self._scatter("tensor_scatter_nd_update", idx, sparse_delta.values, True)

    def __array__(self, dtype=None, copy=None):
        return self._peek().__array__(dtype=dtype, copy=copy)

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        return self._peek().__dlpack__(stream=stream, max_version=max_version, dl_device=dl_device,
                                       copy=copy)

    def __dlpack_device__(self):
        return (1, 0)

    def _text_name(self) -> str:
        return self.name

    def __repr__(self) -> str:
        value = np.asarray(self._peek())
        return (f"<rstf.Variable '{self._text_name()}' shape={self.shape} dtype={self.dtype.name}, "
                f"numpy={_numpy_text(value, True)}>")

    def __str__(self) -> str:
        return repr(self)

    def __hash__(self):
        raise TypeError("Variable is unhashable. Instead, use variable.ref() as the key.")

    def ref(self):
        """A hashable reference to the variable."""
        return _Ref(self)

    def get_shape(self):
        return self.shape

    def __reduce__(self):
        raise TypeError("rstf.Variable cannot be pickled; save it with a checkpoint")


class _UnreadVariable(Variable):
    """What ``assign`` returns: the same variable, named as TensorFlow prints it."""

    def _text_name(self) -> str:
        return "UnreadVariable"


class _Ref:
    __slots__ = ("_v",)

    def __init__(self, v):
        self._v = v

    def deref(self):
        return self._v

    def __hash__(self):
        return hash(self._v._id)

    def __eq__(self, other):
        return isinstance(other, _Ref) and other._v._id == self._v._id


def _forward(name):
    def method(self, *args):
        return getattr(self.value(), name)(*args)

    method.__name__ = name
    return method


for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
              "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__",
              "__rpow__", "__matmul__", "__rmatmul__", "__and__", "__rand__", "__or__", "__ror__",
              "__xor__", "__rxor__", "__neg__", "__pos__", "__abs__", "__invert__", "__lt__", "__le__",
              "__gt__", "__ge__", "__eq__", "__ne__", "__getitem__", "__iter__", "__len__", "__bool__",
              "__float__", "__int__", "__index__"):
    setattr(Variable, _name, _forward(_name))
