"""Regularization layers: ``SpatialDropout1D``/``SpatialDropout2D`` (whole channels dropped),
``GaussianNoise`` (when training), ``ActivityRegularization`` (a penalty on the activations
added to ``losses``) and ``UnitNormalization``.

>>> import rstf as tf
>>> tf.keras.layers.UnitNormalization()(tf.constant([[3.0, 4.0]])).numpy()
array([[0.6, 0.8]], dtype=float32)
"""

from __future__ import annotations

from .. import _ops as _o
from .. import random as _random
from . import regularizers
from .base_layer import Layer

__all__ = ["SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "ActivityRegularization",
           "UnitNormalization"]


def _rate(rate):
    if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError("Invalid value received for argument `rate`. Expected a float value between 0 and "
                         "1. "
                         f"Received: rate={rate}")
    return float(rate)


class SpatialDropout1D(Layer):
    """Dropout of whole channels of ``(batch, steps, channels)`` inputs when training: one
    keep/drop draw per example and channel, the kept ones scaled by ``1 / (1 - rate)``.

    >>> import rstf as tf
    >>> y = tf.keras.layers.SpatialDropout1D(0.5)(tf.ones([2, 3, 4]), training=True).numpy()
    >>> bool((y == y[:, :1, :]).all())  # each channel is all kept or all dropped
    True
    """

    _rank = 3

    def __init__(self, rate, seed=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.rate, self.seed = _rate(rate), seed
        self.data_format = "channels_last"

    def _noise_shape(self, shape):
        if self.data_format == "channels_first":
            return [shape[0], shape[1]] + [1] * (len(shape) - 2)
        return [shape[0]] + [1] * (len(shape) - 2) + [shape[-1]]

    def call(self, inputs, training=False):
        x = _o.convert_to_tensor(inputs)
        if len(x.shape) != self._rank:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: expected "
                             f"ndim={self._rank}, found ndim={len(x.shape)}. Full shape received: "
                             f"{tuple(x.shape)}")
        if not training or self.rate == 0.0:
            return x
        noise = _random.uniform(self._noise_shape(list(x.shape)), dtype=x.dtype, seed=self.seed)
        keep = _o.cast(noise >= self.rate, x.dtype)
        return x * keep / (1.0 - self.rate)


class SpatialDropout2D(SpatialDropout1D):
    """Dropout of whole channels of ``(batch, height, width, channels)`` inputs when training.

    >>> import rstf as tf
    >>> tf.keras.layers.SpatialDropout2D(0.5)(tf.ones([1, 2, 2, 3])).shape
    TensorShape([1, 2, 2, 3])
    """

    _rank = 4

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError("The `data_format` argument must be one of "
                             "{'channels_first', 'channels_last'}. "
                             f"Received: data_format={data_format}")
        self.data_format = data_format or "channels_last"


class GaussianNoise(Layer):
    """Adds zero-mean normal noise of standard deviation ``stddev`` when training.

    >>> import rstf as tf
    >>> layer = tf.keras.layers.GaussianNoise(0.1)
    >>> layer(tf.ones([2, 2])).numpy()  # not training: unchanged
    array([[1., 1.],
           [1., 1.]], dtype=float32)
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= stddev <= 1:
            raise ValueError("Invalid value received for argument `stddev`. Expected a float value between "
                             "0 and 1. "
                             f"Received: stddev={stddev}")
        self.stddev, self.seed = stddev, seed

    def call(self, inputs, training=False):
        x = _o.convert_to_tensor(inputs)
        if not training or self.stddev <= 0:
            return x
        return x + _random.normal(list(x.shape), stddev=self.stddev, dtype=x.dtype, seed=self.seed)


class ActivityRegularization(Layer):
    """Returns its input, adding ``(l1 * sum(|x|) + l2 * sum(x ** 2)) / batch_size`` to
    ``losses`` (which ``fit`` adds to the training loss).

    >>> import rstf as tf
    >>> layer = tf.keras.layers.ActivityRegularization(l1=0.5)
    >>> _ = layer(tf.constant([[1.0, -3.0], [0.0, 2.0]]))
    >>> [float(x) for x in layer.losses]
    [1.5]
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = l1, l2

    def call(self, inputs):
        return inputs


class UnitNormalization(Layer):
    """Scales each example to unit L2 norm along ``axis`` (an int or a list of ints).

    >>> import rstf as tf
    >>> tf.keras.layers.UnitNormalization(axis=0)(tf.constant([[1.0], [0.0]])).numpy()
    array([[1.],
           [0.]], dtype=float32)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = list(axis)
        elif isinstance(axis, int):
            self.axis = axis
        else:
            raise TypeError(f"Invalid value for `axis` argument: expected an int or a list/tuple of ints. "
                            f"Received: axis={axis}")

    def call(self, inputs):
        x = _o.convert_to_tensor(inputs)
        rank = len(x.shape)
        for a in self.axis if isinstance(self.axis, list) else [self.axis]:
            if a >= rank or a < -rank:
                raise ValueError(f"Axis {self.axis} is out of bounds for input shape {tuple(x.shape)}.")
        inv = _o.rsqrt(_o.reduce_sum(_o.square(x), axis=self.axis, keepdims=True))
        return x * _o.minimum(inv, _o.constant(1e12, dtype=x.dtype))
