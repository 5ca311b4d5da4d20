"""DLPack: tensors shared with numpy, PyTorch, JAX and other libraries without copies.

``to_dlpack(t)`` gives a legacy DLPack capsule of a tensor's buffer (TensorFlow's function);
tensors also have ``__dlpack__``/``__dlpack_device__``, so ``torch.from_dlpack(t)``,
``np.from_dlpack(t)`` and ``jax.dlpack.from_dlpack(t)`` take them directly. ``from_dlpack``
takes a capsule or any object with ``__dlpack__`` and returns a tensor sharing its memory (host
memory only); the producer's memory is released when the last tensor using it goes.

>>> import numpy as np
>>> import rstf as tf
>>> t = tf.constant([[1., 2.], [3., 4.]])
>>> a = np.from_dlpack(t)
>>> a.flags.writeable
False
>>> tf.experimental.dlpack.from_dlpack(tf.experimental.dlpack.to_dlpack(t))
<rstf.Tensor: shape=(2, 2), dtype=float32, numpy=
array([[1., 2.],
       [3., 4.]], dtype=float32)>
"""

from __future__ import annotations

from .. import _rstf

__all__ = ["from_dlpack", "to_dlpack"]


def to_dlpack(tf_tensor):
    """A legacy DLPack capsule (``"dltensor"``) of ``tf_tensor``'s buffer, consumable once."""
    value = tf_tensor._peek() if hasattr(tf_tensor, "_peek") else tf_tensor
    if not isinstance(value, _rstf.Tensor):
        raise TypeError(f"to_dlpack: expected a Tensor or Variable, got {type(tf_tensor).__name__}")
    return value.__dlpack__()


def from_dlpack(dlcapsule):
    """A tensor sharing the memory of a DLPack capsule or of an object with ``__dlpack__``
    (numpy arrays, PyTorch tensors, JAX arrays on the CPU)."""
    return _rstf._from_dlpack(dlcapsule)
