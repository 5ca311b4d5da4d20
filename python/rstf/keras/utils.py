"""``rstf.keras.utils``: the registration helpers of :mod:`rstf.keras.serialization` (also
names of :mod:`rstf.keras.saving`) under their other Keras names, and ``to_categorical``,
``normalize`` and ``set_random_seed``.

>>> import rstf as tf
>>> tf.keras.utils.to_categorical([0, 2, 1], num_classes=3)
array([[1., 0., 0.],
       [0., 0., 1.],
       [0., 1., 0.]])
"""

import random as _py_random

import numpy as np

from .. import _ops as _o
from .. import random as _random
from .serialization import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)

__all__ = ["CustomObjectScope", "custom_object_scope", "get_custom_objects", "get_registered_name",
           "get_registered_object", "register_keras_serializable", "to_categorical", "normalize",
           "set_random_seed"]


def to_categorical(x, num_classes=None):
    """Integer class labels as one-hot rows (a trailing dimension of 1 is dropped): a float64
    numpy array for array-like input, a float32 tensor for a tensor.

    >>> import rstf as tf
    >>> tf.keras.utils.to_categorical([[1], [0]]).shape
    (2, 2)
    """
    if _o.is_tensor(x):
        if len(x.shape) > 1 and x.shape[-1] == 1:
            x = _o.reshape(x, list(x.shape[:-1]))
        if num_classes is None:
            num_classes = int(_o.reduce_max(x)) + 1
        return _o.one_hot(_o.cast(x, "int64"), int(num_classes))
    x = np.array(x, dtype="int64")
    shape = x.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = tuple(shape[:-1])
    x = x.reshape(-1)
    if not num_classes:
        num_classes = np.max(x) + 1
    out = np.zeros((x.shape[0], num_classes))
    out[np.arange(x.shape[0]), x] = 1
    return np.reshape(out, shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """``x`` divided by its ``order``-norm along ``axis``: numpy in, numpy out (a zero norm
    leaves zeros); a tensor is scaled by ``1 / max(norm, 1e-7)``.

    >>> import numpy as np, rstf as tf
    >>> tf.keras.utils.normalize(np.array([[3.0, 4.0]]))
    array([[0.6, 0.8]])
    """
    if isinstance(x, np.ndarray):
        norm = np.atleast_1d(np.linalg.norm(x, order, axis))
        norm[norm == 0] = 1
        axis = axis or -1
        return x / np.expand_dims(norm, axis)
    if not isinstance(order, int) or not order >= 1:
        raise ValueError(f"Argument `order` must be an int >= 1. Received: order={order}")
    x = _o.convert_to_tensor(x)
    if len(x.shape) == 0:
        x = _o.expand_dims(x, 0)
    if order == 2:
        inv = _o.rsqrt(_o.reduce_sum(_o.square(x), axis=axis, keepdims=True))
        return x * _o.minimum(inv, _o.constant(1e7, dtype=x.dtype))
    norm = _o.reduce_sum(_o.abs(x) ** order, axis=axis, keepdims=True) ** (1.0 / order)
    return x / _o.maximum(norm, _o.constant(1e-7, dtype=x.dtype))


def set_random_seed(seed):
    """Seeds Python's ``random``, numpy's global generator and rstf's global seed at once.

    >>> import rstf as tf
    >>> tf.keras.utils.set_random_seed(1); a = tf.random.uniform([2]).numpy()
    >>> tf.keras.utils.set_random_seed(1); b = tf.random.uniform([2]).numpy()
    >>> bool((a == b).all())
    True
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed} (of type "
                         f"{type(seed)})")
    _py_random.seed(seed)
    np.random.seed(seed)
    _random.set_seed(seed)
