"""``rstf.TensorArray``: a list of same-shaped tensors that is written and read by index.

Eagerly, and inside a traced function while every index is a Python (or constant) number, the
elements are kept as a Python list, and ``stack`` is ``tf.stack`` of them. Once an index is a
traced tensor (a ``for i in tf.range(n)`` loop inside ``rstf.function``), the array becomes one
dense tensor of shape ``[size, *element_shape]``: a write selects the new row with ``tf.where``
and a read gathers it. That tensor is what a graph loop carries, so such an array needs a known
``size`` (``dynamic_size=True`` arrays cannot be written inside graph loops). Gradients flow
through the ops that store and read the elements.

>>> import rstf as tf
>>> ta = tf.TensorArray(tf.float32, size=2)
>>> ta = ta.write(0, [1.0, 2.0]).write(1, [3.0, 4.0])
>>> ta.stack().numpy()
array([[1., 2.],
       [3., 4.]], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from . import _ops as _o
from . import _rstf
from ._rstf import Tensor
from ._shape import TensorShape
from .dtypes import as_dtype
from .errors import InvalidArgumentError, UnimplementedError


def _concrete_int(x):
    """``x`` as a Python int, or None when it is a traced tensor."""
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, Tensor) and _rstf.is_symbolic(x):
        return None
    return int(np.asarray(x))


class TensorArray:
    """A list of tensors of one dtype (and, by default, one shape) written and read by index.

    ``write`` returns the array to use afterwards (``ta = ta.write(i, x)``), as in TensorFlow.

    >>> import rstf as tf
    >>> @tf.function
    ... def squares(n):
    ...     ta = tf.TensorArray(tf.int32, size=4)
    ...     for i in tf.range(4):
    ...         ta = ta.write(i, i * i)
    ...     return ta.stack()
    >>> squares(4).numpy()
    array([0, 1, 4, 9], dtype=int32)
    """

    def __init__(self, dtype, size=None, dynamic_size=None, clear_after_read=None, tensor_array_name=None,
                 handle=None, flow=None, infer_shape=True, element_shape=None,
                 colocate_with_first_write_call=True, name=None):
        self._dtype = as_dtype(dtype)
        self._dynamic_size = bool(dynamic_size)
        self._infer_shape = infer_shape
        self._size = 0 if size is None else _concrete_int(size)
        if self._size is None:
            raise UnimplementedError("TensorArray: the size must be a known number in rstf (not a traced "
                                     "tensor)")
        # the element shape as a list of dims (None for unknown ones), or None while unknown
        self._es = None if element_shape is None else list(TensorShape(element_shape).as_list())
        self._elems: list | None = [None] * self._size  # list mode
        self._buffer: Tensor | None = None  # dense mode: [size, *element_shape]

    # ------------------------------------------------------------------ internals
    def _copy(self):
        c = object.__new__(TensorArray)
        c.__dict__.update(self.__dict__)
        if c._elems is not None:
            c._elems = list(c._elems)
        return c

    def _known_shape(self):
        s = self._es
        return None if s is None or any(d is None for d in s) else list(s)

    def _merge_shape(self, value: Tensor):
        shape = list(value.shape)
        known = self._es
        if known is not None and self._infer_shape:
            if len(known) != len(shape) or any(a is not None and a != b for a, b in zip(known, shape)):
                raise ValueError(f"Incompatible shape for value ({TensorShape(shape)}), expected "
                                 f"({TensorShape(known)})")
        if self._infer_shape or known is None:
            self._es = shape

    def _value(self, value) -> Tensor:
        return _o.convert_to_tensor(value, dtype=self._dtype)

    def _densify(self):
        """Switches to the dense ``[size, *element_shape]`` tensor (for traced indices)."""
        if self._buffer is not None:
            return
        if self._dynamic_size:
            raise UnimplementedError(
                "TensorArray: a dynamic_size=True array cannot be indexed by a traced tensor (in a graph "
                "loop) in rstf; give it a fixed size (for example size=n)")
        es = self._known_shape()
        if es is None:
            raise ValueError("TensorArray: the element shape must be known to index the array with a traced "
                             "tensor; pass element_shape= or write an element first")
        zero = _o.zeros(es, self._dtype)
        rows = [zero if e is None else e for e in self._elems]
        self._buffer = _o.stack(rows) if rows else _o.zeros([0] + es, self._dtype)
        self._elems = None

    def _with_buffer(self, buffer):
        c = self._copy()
        c._elems, c._buffer = None, buffer
        c._es = list(buffer.shape)[1:]
        return c

    def _loop_buffer(self):
        """The dense tensor a graph loop carries for this array."""
        self._densify()
        return self._buffer

    # ------------------------------------------------------------------ API
    @property
    def dtype(self):
        """The dtype of the elements."""
        return self._dtype

    @property
    def element_shape(self):
        """The shape of the elements (None while unknown: before a write, without element_shape=)."""
        return None if self._es is None else TensorShape(self._es)

    @property
    def dynamic_size(self) -> bool:
        return self._dynamic_size

    @property
    def handle(self):
        return self

    @property
    def flow(self):
        return self.stack() if self._size else _o.zeros([0], self._dtype)

    def size(self, name=None) -> Tensor:
        """The number of elements, as an int32 scalar tensor."""
        return _o.convert_to_tensor(self._size, dtype="int32")

    def write(self, index, value, name=None) -> TensorArray:
        """The array with element ``index`` set to ``value``."""
        value = self._value(value)
        # Eagerly the array is updated in place too, as TensorFlow's eager TensorArray is.
        out = self if not _rstf.is_tracing() and self._buffer is None else self._copy()
        out._merge_shape(value)
        i = _concrete_int(index)
        if i is not None and out._buffer is None:
            if i < 0:
                raise InvalidArgumentError(f"Tried to write to index {i} but it is negative")
            if i >= out._size:
                if not out._dynamic_size:
                    raise InvalidArgumentError(f"Tried to write to index {i} but array is not resizeable and "
                                               f"size is: {out._size}")
                out._elems += [None] * (i + 1 - out._size)
                out._size = i + 1
            out._elems[i] = value
            return out
        out._densify()
        idx = _o.convert_to_tensor(index, dtype="int32")
        mask = _o.reshape(_o.range(out._size, dtype="int32") == idx, [out._size] + [1] * len(value.shape))
        out._buffer = _o.where(mask, _o.expand_dims(value, 0), out._buffer)
        return out

    def read(self, index, name=None) -> Tensor:
        """Element ``index`` (zeros for one never written, when its shape is known)."""
        i = _concrete_int(index)
        if i is not None and self._buffer is None:
            if i < 0 or i >= self._size:
                raise InvalidArgumentError(f"Tried to read from index {i} but array size is: {self._size}")
            e = self._elems[i]
            if e is None:
                es = self._known_shape()
                if es is None:
                    raise InvalidArgumentError(f"Could not read from TensorArray index {i} because it has "
                                               "not yet been written to.")
                return _o.zeros(es, self._dtype)
            return e
        self._densify()
        return _o.gather(self._buffer, _o.convert_to_tensor(index, dtype="int32"))

    def stack(self, name=None) -> Tensor:
        """All elements stacked along a new first axis."""
        if self._buffer is not None:
            return self._buffer
        es = self._known_shape()
        if not self._elems:
            return _o.zeros([0] + (es or []), self._dtype)
        return _o.stack([self.read(i) for i in range(self._size)])

    def gather(self, indices, name=None) -> Tensor:
        """The elements at ``indices``, stacked."""
        return _o.gather(self.stack(), _o.convert_to_tensor(indices, dtype="int32"))

    def concat(self, name=None) -> Tensor:
        """All elements concatenated along their first axis."""
        if self._buffer is not None:
            s = list(self._buffer.shape)
            return _o.reshape(self._buffer, [s[0] * s[1]] + s[2:])
        return _o.concat([self.read(i) for i in range(self._size)], 0)

    def unstack(self, value, name=None) -> TensorArray:
        """The array whose elements are the rows of ``value``."""
        value = self._value(value)
        out = self._copy()
        n = int(value.shape[0])
        if n > out._size and not out._dynamic_size and out._size:
            raise InvalidArgumentError(f"Tried to write to index {n - 1} but array is not resizeable and "
                                       f"size is: {out._size}")
        out._merge_shape(value[0] if n else _o.zeros(list(value.shape)[1:], self._dtype))
        out._size = max(out._size, n)
        if _rstf.is_symbolic(value) or out._buffer is not None:
            if n == out._size:
                out._elems, out._buffer = None, value
                return out
        rows = _o.unstack(value)
        if out._buffer is not None:
            out._elems = [out.read(i) for i in range(out._size)]
            out._buffer = None
        out._elems = (out._elems + [None] * out._size)[:out._size]
        out._elems[:n] = rows
        return out

    def scatter(self, indices, value, name=None) -> TensorArray:
        """The array with elements ``indices[k]`` set to ``value[k]``."""
        value = self._value(value)
        idx = np.asarray(indices) if not isinstance(indices, Tensor) or not _rstf.is_symbolic(indices) \
            else None
        out = self
        if idx is not None:
            for k, i in enumerate(idx.reshape(-1).tolist()):
                out = out.write(int(i), value[k])
            return out
        for k in range(int(value.shape[0])):
            out = out.write(indices[k], value[k])
        return out

    def split(self, value, lengths, name=None) -> TensorArray:
        """The array whose elements are ``value`` split along its first axis into ``lengths``."""
        value = self._value(value)
        lens = [int(x) for x in np.asarray(lengths).reshape(-1)]
        out = self._copy()
        out._infer_shape = False
        out._elems, out._buffer = list(_o.split(value, lens, 0)), None
        out._size = len(lens)
        return out

    def identity(self) -> TensorArray:
        """The same array."""
        return self._copy()

    def close(self, name=None):
        """Does nothing (kept for TensorFlow compatibility)."""
        return None

    def __repr__(self) -> str:
        return f"<rstf.TensorArray dtype={self._dtype.name} size={self._size}>"


__all__ = ["TensorArray"]
