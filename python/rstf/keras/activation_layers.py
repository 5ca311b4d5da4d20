"""Activation layers: ``ReLU`` (with ``max_value``, ``negative_slope`` and ``threshold``),
``LeakyReLU``, ``PReLU`` (a learned slope), ``ELU`` and ``Identity``.

>>> import rstf as tf
>>> tf.keras.layers.ReLU(max_value=1.0)(tf.constant([-1.0, 0.5, 3.0])).numpy()
array([0. , 0.5, 1. ], dtype=float32)
"""

from __future__ import annotations

import warnings

from .. import _ops as _o
from .base_layer import Layer

__all__ = ["ReLU", "LeakyReLU", "PReLU", "ELU", "Identity"]


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras' ``activations.relu``: ``x`` above ``threshold`` (clipped at ``max_value``),
    else ``negative_slope * (x - threshold)``."""
    x = _o.convert_to_tensor(x)
    if negative_slope != 0.0:
        neg = _o.relu(threshold - x) if threshold != 0 else _o.relu(-x)
    if threshold != 0:
        y = _o.where(x > _o.constant(threshold, dtype=x.dtype), x, _o.zeros_like(x))
    else:
        y = _o.relu(x)
    if max_value is not None:
        y = _o.clip_by_value(y, _o.constant(0.0, dtype=x.dtype), _o.constant(max_value, dtype=x.dtype))
    if negative_slope != 0.0:
        y = y - _o.constant(negative_slope, dtype=x.dtype) * neg
    return y


class ReLU(Layer):
    """``f(x) = max_value`` for ``x >= max_value``, ``x`` for ``threshold <= x < max_value``,
    else ``negative_slope * (x - threshold)``.

    >>> import rstf as tf
    >>> tf.keras.layers.ReLU(negative_slope=0.5, threshold=1.0)(tf.constant([-1.0, 2.0])).numpy()
    array([-1.,  2.], dtype=float32)
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0.0:
            raise ValueError("max_value of a ReLU layer cannot be a negative value. Received: "
                             f"max_value={max_value}")
        if negative_slope is None or negative_slope < 0.0:
            raise ValueError("negative_slope of a ReLU layer cannot be None or a negative value. Received: "
                             f"negative_slope={negative_slope}")
        if threshold is None or threshold < 0.0:
            raise ValueError(f"threshold of a ReLU layer cannot be None or a negative value. Received: "
                             f"threshold={threshold}")
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def call(self, inputs):
        return relu(inputs, self.negative_slope, self.max_value, self.threshold)


class LeakyReLU(Layer):
    """``x`` where positive, else ``negative_slope * x`` (0.3 by default, as Keras 3).

    >>> import rstf as tf
    >>> tf.keras.layers.LeakyReLU()(tf.constant([-10.0, 2.0])).numpy()
    array([-3.,  2.], dtype=float32)
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` is deprecated. Use `negative_slope` instead.", stacklevel=2)
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError("The negative_slope value of a Leaky ReLU layer cannot be None or negative "
                             "value. "
                             f"Expected a float. Received: negative_slope={negative_slope}")
        self.negative_slope = negative_slope

    def call(self, inputs):
        x = _o.convert_to_tensor(inputs)
        return _o.where(x >= 0, x, x * _o.constant(self.negative_slope, dtype=x.dtype))


class PReLU(Layer):
    """``x`` where positive, else ``alpha * x`` with a learned ``alpha`` of the input's shape
    (without the batch dimension; size 1 along ``shared_axes``).

    >>> import rstf as tf
    >>> layer = tf.keras.layers.PReLU(alpha_initializer=tf.keras.initializers.Constant(0.25))
    >>> layer(tf.constant([[-4.0, 4.0]])).numpy()
    array([[-1.,  4.]], dtype=float32)
    >>> layer.alpha.shape
    TensorShape([2])
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        if alpha_constraint is not None:
            raise NotImplementedError("PReLU: alpha_constraint is not supported in rstf")
        self.alpha_initializer = alpha_initializer
        self.alpha_regularizer = alpha_regularizer
        if shared_axes is None:
            self.shared_axes = None
        elif not isinstance(shared_axes, (list, tuple)):
            self.shared_axes = [shared_axes]
        else:
            self.shared_axes = list(shared_axes)

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for i in self.shared_axes or []:
            shape[i - 1] = 1
        self.alpha = self.add_weight("alpha", shape, initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer)
        self.built = True

    def call(self, inputs):
        x = _o.convert_to_tensor(inputs)
        return _o.relu(x) - self.alpha * _o.relu(-x)


class ELU(Layer):
    """``x`` where positive, else ``alpha * (exp(x) - 1)``.

    >>> import rstf as tf
    >>> tf.keras.layers.ELU(alpha=2.0)(tf.constant([0.0, 3.0])).numpy()
    array([0., 3.], dtype=float32)
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs):
        x = _o.convert_to_tensor(inputs)
        neg = _o.expm1(_o.minimum(x, _o.zeros_like(x))) * _o.constant(self.alpha, dtype=x.dtype)
        return _o.where(x > 0, x, neg)


class Identity(Layer):
    """Returns its input unchanged.

    >>> import rstf as tf
    >>> tf.keras.layers.Identity()(tf.constant([1.0, 2.0])).numpy()
    array([1., 2.], dtype=float32)
    """

    def call(self, inputs):
        return inputs
