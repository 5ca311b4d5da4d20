"""1-D convolution and pooling layers (``Conv1D``, ``MaxPooling1D``, ``AveragePooling1D``,
``GlobalAveragePooling1D``, ``GlobalMaxPooling1D``) over ``(batch, steps, channels)`` inputs,
run as their 2-D counterparts on a height of 1.

>>> import rstf as tf
>>> x = tf.reshape(tf.range(6, dtype=tf.float32), [1, 6, 1])
>>> tf.keras.layers.MaxPooling1D(pool_size=2)(x)[0, :, 0].numpy()
array([1., 3., 5.], dtype=float32)
"""

from __future__ import annotations

from .. import _ops as _o
from .. import nn
from . import activations
from .base_layer import Layer

__all__ = ["Conv1D", "MaxPooling1D", "AveragePooling1D", "GlobalAveragePooling1D", "GlobalMaxPooling1D",
           "Convolution1D", "MaxPool1D", "AvgPool1D", "GlobalAvgPool1D", "GlobalMaxPool1D"]


def _int1(value, what, name):
    """An int, or a tuple/list of one int (Keras' 1-D sizes)."""
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ValueError(f"The `{name}` argument must be a tuple of 1 integers. Received {name}={value}")
        value = value[0]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"The `{name}` argument must be a tuple of 1 integers. Received {name}={value}")
    if value <= 0 and name != "dilation_rate":
        raise ValueError(f"{what}: `{name}` must be positive, received {name}={value}")
    return value


def _channels_last(data_format, what):
    if data_format not in (None, "channels_last"):
        from ..errors import UnimplementedError

        raise UnimplementedError(f"{what}: only data_format='channels_last' is supported, got "
                                 f"{data_format!r}")


class Conv1D(Layer):
    """1-D convolution over ``(batch, steps, channels)``: ``padding`` is ``'valid'``,
    ``'same'`` or ``'causal'`` (zeros on the left only, so an output never sees later
    steps). The kernel has shape ``(kernel_size, channels // groups, filters)``, as in Keras.

    >>> import rstf as tf
    >>> conv = tf.keras.layers.Conv1D(1, 2, kernel_initializer="ones", padding="causal")
    >>> conv(tf.reshape(tf.constant([1.0, 2.0, 3.0]), [1, 3, 1]))[0, :, 0].numpy()
    array([1., 3., 5.], dtype=float32)
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if int(filters) <= 0:
            raise ValueError(f"Invalid value for argument `filters`. Expected a strictly positive value. "
                             f"Received filters={filters}.")
        self.filters = int(filters)
        self.kernel_size = _int1(kernel_size, "Conv1D", "kernel_size")
        self.strides = _int1(strides, "Conv1D", "strides")
        self.dilation_rate = _int1(dilation_rate, "Conv1D", "dilation_rate")
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same", "causal"):
            raise ValueError("The `padding` argument must be a string in the set ('valid', 'same', "
                             "'causal'). "
                             f"Received: padding={padding}")
        _channels_last(data_format, "Conv1D")
        if int(groups) <= 0 or self.filters % int(groups):
            raise ValueError(f"The number of filters must be evenly divisible by the number of groups. "
                             f"Received: groups={groups}, filters={filters}.")
        self.groups = int(groups)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer

    def build(self, input_shape):
        if input_shape is None or len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError("Conv1D: expected inputs of rank 3 (batch, steps, channels) with known "
                             "channels, "
                             f"got {input_shape}")
        channels = int(input_shape[-1])
        if channels % self.groups:
            raise ValueError("The number of input channels must be evenly divisible by the number of "
                             "groups. "
                             f"Received groups={self.groups}, but the input has {channels} channels "
                             f"(full input shape is {tuple(input_shape)}).")
        self.kernel = self.add_weight("kernel", [self.kernel_size, channels // self.groups, self.filters],
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.bias = (self.add_weight("bias", [self.filters], initializer=self.bias_initializer,
                                     regularizer=self.bias_regularizer) if self.use_bias else None)
        self.built = True

    def call(self, inputs):
        x = _o.convert_to_tensor(inputs)
        cin = self.kernel.shape[1] * self.groups
        if len(x.shape) != 3 or x.shape[-1] != cin:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: expected shape "
                             f"(None, steps, {cin}), got {x.shape}")
        padding = "VALID" if self.padding == "valid" else "SAME"
        if self.padding == "causal":
            x = _o.pad(x, [[0, 0], [self.dilation_rate * (self.kernel_size - 1), 0], [0, 0]])
            padding = "VALID"
        x4 = _o.expand_dims(x, 1)
        k4 = _o.expand_dims(self.kernel, 0)
        if self.groups == 1:
            y = nn.conv2d(x4, k4, [1, self.strides], padding, dilations=[1, self.dilation_rate])
        else:
            xs = _o.split(x4, self.groups, axis=3)
            ks = _o.split(k4, self.groups, axis=3)
            y = _o.concat([nn.conv2d(a, b, [1, self.strides], padding, dilations=[1, self.dilation_rate])
                           for a, b in zip(xs, ks)], axis=3)
        y = _o.squeeze(y, axis=1)
        if self.use_bias:
            y = y + self.bias
        return self.activation(y)


class MaxPooling1D(Layer):
    """The maximum of each ``pool_size`` window of steps (``strides`` defaults to
    ``pool_size``).

    >>> import rstf as tf
    >>> x = tf.reshape(tf.constant([1.0, 5.0, 2.0, 4.0, 3.0]), [1, 5, 1])
    >>> tf.keras.layers.MaxPooling1D(2, strides=1)(x)[0, :, 0].numpy()
    array([5., 5., 4., 4.], dtype=float32)
    """

    _max = True

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        what = type(self).__name__
        self.pool_size = _int1(pool_size, what, "pool_size")
        self.strides = _int1(strides if strides is not None else self.pool_size, what, "strides")
        self.padding = str(padding).lower()
        nn._same(self.padding, what)
        _channels_last(data_format, what)

    def call(self, inputs):
        x = _o.expand_dims(_o.convert_to_tensor(inputs), 1)
        pool = nn.max_pool2d if self._max else nn.avg_pool2d
        return _o.squeeze(pool(x, [1, self.pool_size], [1, self.strides], self.padding), axis=1)


class AveragePooling1D(MaxPooling1D):
    """The mean of each ``pool_size`` window of steps (taps in the padding not counted).

    >>> import rstf as tf
    >>> x = tf.reshape(tf.constant([1.0, 5.0, 2.0, 4.0]), [1, 4, 1])
    >>> tf.keras.layers.AveragePooling1D(2)(x)[0, :, 0].numpy()
    array([3., 3.], dtype=float32)
    """

    _max = False

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class GlobalAveragePooling1D(Layer):
    """The mean over the steps: ``(batch, steps, channels)`` to ``(batch, channels)``
    (``(batch, 1, channels)`` with ``keepdims``; the steps are the last axis with
    ``data_format='channels_first'``).

    >>> import rstf as tf
    >>> tf.keras.layers.GlobalAveragePooling1D()(tf.constant([[[1.0, 2.0], [3.0, 6.0]]])).numpy()
    array([[2., 4.]], dtype=float32)
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError("The `data_format` argument must be one of "
                             "{'channels_first', 'channels_last'}. "
                             f"Received: data_format={data_format}")
        self.data_format = data_format or "channels_last"
        self.keepdims = keepdims

    def _axis(self):
        return 1 if self.data_format == "channels_last" else 2

    def call(self, inputs, mask=None):
        x = _o.convert_to_tensor(inputs)
        if mask is None:
            return _o.reduce_mean(x, axis=self._axis(), keepdims=self.keepdims)
        m = _o.cast(mask, x.dtype)
        m = _o.expand_dims(m, 2 if self.data_format == "channels_last" else 1)
        total = _o.reduce_sum(x * m, axis=self._axis(), keepdims=self.keepdims)
        return total / _o.reduce_sum(m, axis=self._axis(), keepdims=self.keepdims)


class GlobalMaxPooling1D(GlobalAveragePooling1D):
    """The maximum over the steps.

    >>> import rstf as tf
    >>> tf.keras.layers.GlobalMaxPooling1D()(tf.constant([[[1.0, 2.0], [3.0, -6.0]]])).numpy()
    array([[3., 2.]], dtype=float32)
    """

    def call(self, inputs):
        return _o.reduce_max(_o.convert_to_tensor(inputs), axis=self._axis(), keepdims=self.keepdims)


Convolution1D = Conv1D
MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
