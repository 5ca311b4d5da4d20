"""Reshaping layers: ``UpSampling2D`` (nearest), ``ZeroPadding2D``, ``Cropping2D``,
``RepeatVector`` and ``Permute``.

>>> import rstf as tf
>>> x = tf.reshape(tf.range(4, dtype=tf.float32), [1, 2, 2, 1])
>>> tf.keras.layers.UpSampling2D()(x)[0, :, :, 0].numpy()
array([[0., 0., 1., 1.],
       [0., 0., 1., 1.],
       [2., 2., 3., 3.],
       [2., 2., 3., 3.]], dtype=float32)
"""

from __future__ import annotations

from .. import _ops as _o
from .base_layer import Layer

__all__ = ["UpSampling2D", "ZeroPadding2D", "Cropping2D", "RepeatVector", "Permute"]


def _data_format(value):
    if value not in (None, "channels_last", "channels_first"):
        raise ValueError(f"The `data_format` argument must be one of {{'channels_first', 'channels_last'}}. "
                         f"Received: data_format={value}")
    return value or "channels_last"


def _tuple(value, n, name):
    """Keras' ``standardize_tuple``: an int, or ``n`` non-negative ints."""
    if isinstance(value, int):
        return (value,) * n
    try:
        out = tuple(value)
    except TypeError:
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                         f"Received {name}={value}") from None
    if len(out) != n or not all(isinstance(v, int) for v in out):
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. Received {name}={value}")
    if any(v < 0 for v in out):
        raise ValueError(f"The `{name}` argument must be a tuple of {n} non-negative integers. "
                         f"Received {name}={value} including values "
                         f"{{{', '.join(str(v) for v in out if v < 0)}}} "
                         "that do not satisfy `value >= 0`")
    return out


def _pairs(value, what):
    """An int, 2 ints (symmetric) or 2 pairs of ints: ``((top, bottom), (left, right))``."""
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"`{what}` cannot be negative. Received: {what}={value}.")
        return ((value, value), (value, value))
    if hasattr(value, "__len__"):
        if len(value) != 2:
            raise ValueError(f"`{what}` should have two elements. Received: {what}={value}.")
        h = _tuple(value[0], 2, f"1st entry of {what}")
        w = _tuple(value[1], 2, f"2nd entry of {what}")
        return (h, w)
    raise ValueError(f"`{what}` should be either an int, a tuple of 2 ints (symmetric_height_crop, "
                     "symmetric_width_crop), or a tuple of 2 tuples of 2 ints ((top_crop, bottom_crop), "
                     f"(left_crop, right_crop)). Received: {what}={value}.")


def _repeat(x, axis, n):
    """Each entry of ``x`` along ``axis`` repeated ``n`` times in place."""
    if n == 1:
        return x
    shape = list(x.shape)
    y = _o.expand_dims(x, axis + 1)
    mult = [1] * len(y.shape)
    mult[axis + 1] = n
    y = _o.tile(y, mult)
    shape[axis] = shape[axis] * n
    return _o.reshape(y, shape)


class UpSampling2D(Layer):
    """Repeats rows and columns ``size`` times (nearest-neighbour upsampling).

    >>> import rstf as tf
    >>> tf.keras.layers.UpSampling2D(size=(1, 2))(tf.ones([1, 2, 3, 4])).shape
    TensorShape([1, 2, 6, 4])
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = _tuple(size, 2, "size")
        self.data_format = _data_format(data_format)
        if interpolation != "nearest":
            raise NotImplementedError(f"UpSampling2D: only interpolation='nearest' is supported in rstf, got "
                                      f"{interpolation!r}")
        self.interpolation = interpolation

    def call(self, inputs):
        x = _o.convert_to_tensor(inputs)
        if len(x.shape) != 4:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: expected "
                             "ndim=4, "
                             f"found ndim={len(x.shape)}. Full shape received: {tuple(x.shape)}")
        h = 1 if self.data_format == "channels_last" else 2
        return _repeat(_repeat(x, h, self.size[0]), h + 1, self.size[1])


class ZeroPadding2D(Layer):
    """Adds rows and columns of zeros around each image: ``padding`` is an int, 2 ints
    (symmetric) or ``((top, bottom), (left, right))``.

    >>> import rstf as tf
    >>> tf.keras.layers.ZeroPadding2D(((1, 0), (0, 2)))(tf.ones([1, 1, 1, 1]))[0, :, :, 0].numpy()
    array([[0., 0., 0.],
           [1., 0., 0.]], dtype=float32)
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pairs(padding, "padding")
        self.data_format = _data_format(data_format)

    def call(self, inputs):
        x = _o.convert_to_tensor(inputs)
        (t, b), (left, r) = self.padding
        if self.data_format == "channels_last":
            pads = [[0, 0], [t, b], [left, r], [0, 0]]
        else:
            pads = [[0, 0], [0, 0], [t, b], [left, r]]
        return _o.pad(x, pads)


class Cropping2D(Layer):
    """Removes rows and columns at the borders: ``cropping`` is an int, 2 ints (symmetric)
    or ``((top, bottom), (left, right))``.

    >>> import rstf as tf
    >>> x = tf.reshape(tf.range(9, dtype=tf.float32), [1, 3, 3, 1])
    >>> tf.keras.layers.Cropping2D(((1, 0), (0, 1)))(x)[0, :, :, 0].numpy()
    array([[3., 4.],
           [6., 7.]], dtype=float32)
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pairs(cropping, "cropping")
        self.data_format = _data_format(data_format)

    def call(self, inputs):
        x = _o.convert_to_tensor(inputs)
        h = 1 if self.data_format == "channels_last" else 2
        shape = tuple(x.shape)
        (t, b), (left, r) = self.cropping
        if t + b >= shape[h] or left + r >= shape[h + 1]:
            raise ValueError("Values in `cropping` argument should be smaller than the corresponding spatial "
                             f"dimension of the input. Received: input_shape={shape}, "
                             f"cropping={self.cropping}")
        index = [slice(None)] * 4
        index[h] = slice(t, shape[h] - b)
        index[h + 1] = slice(left, shape[h + 1] - r)
        return x[tuple(index)]


class RepeatVector(Layer):
    """Repeats a ``(batch, features)`` input ``n`` times: ``(batch, n, features)``.

    >>> import rstf as tf
    >>> tf.keras.layers.RepeatVector(3)(tf.constant([[1.0, 2.0]])).numpy()
    array([[[1., 2.],
            [1., 2.],
            [1., 2.]]], dtype=float32)
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, int):
            raise TypeError(f"Expected an integer value for `n`, got {type(n)}.")
        if n <= 0:
            raise ValueError(f"Argument `n` should be a positive integer. Received: n={n}")
        self.n = n

    def call(self, inputs):
        x = _o.convert_to_tensor(inputs)
        if len(x.shape) != 2:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: expected "
                             "ndim=2, "
                             f"found ndim={len(x.shape)}. Full shape received: {tuple(x.shape)}")
        return _o.tile(_o.expand_dims(x, 1), [1, self.n, 1])


class Permute(Layer):
    """Permutes the dimensions after the batch one: ``dims`` is a permutation of
    ``1..rank-1``.

    >>> import rstf as tf
    >>> tf.keras.layers.Permute((2, 1))(tf.ones([4, 10, 64])).shape
    TensorShape([4, 64, 10])
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set of indices in "
                             "`dims` "
                             f"must be consecutive and start from 1. Received dims={dims}")

    def call(self, inputs):
        x = _o.convert_to_tensor(inputs)
        if len(x.shape) != len(self.dims) + 1:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: expected "
                             f"ndim={len(self.dims) + 1}, found ndim={len(x.shape)}. Full shape received: "
                             f"{tuple(x.shape)}")
        return _o.transpose(x, [0, *self.dims])
