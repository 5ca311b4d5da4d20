"""Keras layers (``rstf.keras.layers``): built on first call from the input's shape.

>>> import rstf as tf
>>> layer = tf.keras.layers.Dense(2, kernel_initializer="ones")
>>> layer(tf.constant([[1.0, 2.0, 3.0]]))
<rstf.Tensor: shape=(1, 2), dtype=float32, numpy=array([[6., 6.]], dtype=float32)>
>>> [tuple(w.shape) for w in layer.weights]
[(3, 2), (2,)]
"""

from __future__ import annotations

import inspect

from .. import _ops as _o
from .. import random as _random
from .._tape import stop_gradient as _stop_gradient
from . import activations, functional
from .activation_layers import ELU, Identity, LeakyReLU, PReLU, ReLU  # noqa: F401
from .attention import AdditiveAttention, Attention, MultiHeadAttention  # noqa: F401
from .base_layer import Layer
from .convolutional import (  # noqa: F401
    AveragePooling1D,
    AvgPool1D,
    Conv1D,
    Convolution1D,
    GlobalAveragePooling1D,
    GlobalAvgPool1D,
    GlobalMaxPool1D,
    GlobalMaxPooling1D,
    MaxPool1D,
    MaxPooling1D,
)
from .index_lookup import IntegerLookup, StringLookup  # noqa: F401
from .merging import (  # noqa: F401
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from .preprocessing import CategoryEncoding, Normalization, Rescaling  # noqa: F401
from .recurrent import (  # noqa: F401
    GRU,
    LSTM,
    RNN,
    Bidirectional,
    GRUCell,
    LSTMCell,
    SimpleRNN,
    SimpleRNNCell,
    TimeDistributed,
)
from .regularization_layers import (  # noqa: F401
    ActivityRegularization,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    UnitNormalization,
)
from .reshaping import Cropping2D, Permute, RepeatVector, UpSampling2D, ZeroPadding2D  # noqa: F401
from .text_preprocessing import TextVectorization  # noqa: F401


class Dense(Layer):
    """``activation(inputs @ kernel + bias)``."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        if int(units) <= 0:
            raise ValueError(f"Dense: units must be positive, got {units}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    def build(self, input_shape):
        if input_shape is None or len(input_shape) < 1 or input_shape[-1] is None:
            raise ValueError(f"Dense: the last dimension of the inputs must be known, got {input_shape}")
        self.kernel = self.add_weight("kernel", [input_shape[-1], self.units],
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.bias = (self.add_weight("bias", [self.units], initializer=self.bias_initializer,
                                     regularizer=self.bias_regularizer) if self.use_bias else None)
        self.built = True

    def call(self, inputs):
        x = _o.convert_to_tensor(inputs)
        shape, kernel = x.shape, self.kernel
        rows = kernel.shape[0]
        if len(shape) < 2 or shape[-1] != rows:
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected axis -1 of "
                f"input shape to have value {rows}, but received input with shape {shape}")
        if len(shape) == 2:
            y = _o.matmul(x, kernel)
        else:
            flat = _o.matmul(_o.reshape(x, [-1, shape[-1]]), kernel)
            y = _o.reshape(flat, [*shape[:-1], self.units])
        if self.use_bias:
            y = y + self.bias
        return self.activation(y)


class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)


class Flatten(Layer):
    def call(self, inputs):
        x = _o.convert_to_tensor(inputs)
        return _o.reshape(x, [x.shape[0], -1]) if len(x.shape) > 1 else _o.expand_dims(x, 1)


class Reshape(Layer):
    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def call(self, inputs):
        x = _o.convert_to_tensor(inputs)
        return _o.reshape(x, [x.shape[0], *self.target_shape])


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of the inputs (scaling the rest) when training."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.seed = float(rate), seed

    def call(self, inputs, training=None):
        x = _o.convert_to_tensor(inputs)
        if not training or self.rate == 0.0:
            return x
        keep = _random.uniform(list(x.shape), dtype=x.dtype, seed=self.seed) >= self.rate
        return _o.where(keep, x / (1.0 - self.rate), _o.zeros_like(x))


class InputLayer(Layer):
    """The input of a ``Sequential`` model: declares the shape (without the batch dimension), so
    that the model is built at once."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, input_shape=None, **kwargs):
        super().__init__(name=name, dtype=dtype)
        shape = shape if shape is not None else input_shape
        if shape is None:
            raise ValueError("Input: a shape is required")
        self.shape = tuple(shape)
        self.batch_size = batch_size

    def call(self, inputs):
        return inputs


Input = functional.Input


class Embedding(Layer):
    """Rows of a ``(input_dim, output_dim)`` table looked up by integer indices."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", mask_zero=False,
                 input_length=None, **kwargs):
        super().__init__(**kwargs)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = embeddings_initializer
        self.mask_zero = mask_zero

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", [self.input_dim, self.output_dim],
                                          initializer=self.embeddings_initializer)
        self.built = True

    def call(self, inputs):
        x = _o.convert_to_tensor(inputs)
        if x.dtype.is_floating:
            x = _o.cast(x, "int32")
        return _o.gather(self.embeddings, x)


def _norm_axes(axis, rank):
    axes = [axis] if isinstance(axis, int) else list(axis)
    return sorted(a % rank for a in axes)


class LayerNormalization(Layer):
    """Normalises each example over ``axis`` (the last by default) to zero mean and unit
    variance, then scales by ``gamma`` and shifts by ``beta``."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        self.axis, self.epsilon, self.center, self.scale = axis, float(epsilon), center, scale
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer

    def build(self, input_shape):
        rank = len(input_shape)
        self._axes = _norm_axes(self.axis, rank)
        shape = [input_shape[a] for a in self._axes]
        self.gamma = (self.add_weight("gamma", shape, initializer=self.gamma_initializer)
                      if self.scale else None)
        self.beta = (self.add_weight("beta", shape, initializer=self.beta_initializer)
                     if self.center else None)
        self.built = True

    def _param(self, p, rank):
        # Parameters over the normalised axes, broadcast against the inputs.
        shape = [p.shape[self._axes.index(i)] if i in self._axes else 1 for i in range(rank)]
        return _o.reshape(p, shape)

    def call(self, inputs):
        x = _o.convert_to_tensor(inputs)
        rank = len(x.shape)
        mean = _o.reduce_mean(x, axis=self._axes, keepdims=True)
        var = _o.reduce_mean(_o.square(x - mean), axis=self._axes, keepdims=True)
        y = (x - mean) * _o.rsqrt(var + self.epsilon)
        if self.scale:
            y = y * self._param(self.gamma, rank)
        if self.center:
            y = y + self._param(self.beta, rank)
        return y


class BatchNormalization(Layer):
    """Normalises with the batch's statistics when training (updating moving averages of them)
    and with the moving averages otherwise."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self.center, self.scale = center, scale
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer

    def build(self, input_shape):
        rank = len(input_shape)
        self._axis = self.axis % rank
        self._reduce = [i for i in range(rank) if i != self._axis]
        n = [input_shape[self._axis]]
        self.gamma = self.add_weight("gamma", n, initializer=self.gamma_initializer) if self.scale else None
        self.beta = self.add_weight("beta", n, initializer=self.beta_initializer) if self.center else None
        self.moving_mean = self.add_weight("moving_mean", n, initializer=self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", n,
                                               initializer=self.moving_variance_initializer, trainable=False)
        self.built = True

    def call(self, inputs, training=None):
        x = _o.convert_to_tensor(inputs)
        shape = [x.shape[i] if i == self._axis else 1 for i in range(len(x.shape))]
        if training:
            mean = _o.reduce_mean(x, axis=self._reduce)
            var = _o.reduce_mean(_o.square(x - _o.reshape(mean, shape)), axis=self._reduce)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * m + _stop_gradient(mean) * (1.0 - m),
                                    read_value=False)
            self.moving_variance.assign(self.moving_variance * m + _stop_gradient(var) * (1.0 - m),
                                        read_value=False)
        else:
            mean, var = self.moving_mean, self.moving_variance
        y = (x - _o.reshape(mean, shape)) * _o.reshape(_o.rsqrt(var + self.epsilon), shape)
        if self.scale:
            y = y * _o.reshape(self.gamma, shape)
        if self.center:
            y = y + _o.reshape(self.beta, shape)
        return y


class GlobalAveragePooling2D(Layer):
    """The mean over the two spatial dimensions (channels last)."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError("GlobalAveragePooling2D: only data_format='channels_last' is supported")
        self.keepdims = keepdims

    def call(self, inputs):
        return _o.reduce_mean(_o.convert_to_tensor(inputs), axis=[1, 2], keepdims=self.keepdims)


class GlobalMaxPooling2D(GlobalAveragePooling2D):
    """The maximum over the two spatial dimensions (channels last)."""

    def call(self, inputs):
        return _o.reduce_max(_o.convert_to_tensor(inputs), axis=[1, 2], keepdims=self.keepdims)


class Conv2D(Layer):
    """2-D convolution over ``[N, H, W, C]`` inputs (channels last)."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        from .. import nn

        self.filters = int(filters)
        self.kernel_size = nn._pair(kernel_size, "Conv2D")
        self.strides = nn._pair(strides, "Conv2D")
        self.dilation_rate = nn._pair(dilation_rate, "Conv2D")
        self.padding = padding
        nn._same(padding, "Conv2D")
        nn._nhwc(data_format, "Conv2D")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def build(self, input_shape):
        if input_shape is None or len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(
                f"Conv2D: expected inputs of rank 4 (NHWC) with known channels, got {input_shape}")
        self.kernel = self.add_weight("kernel", [*self.kernel_size, input_shape[-1], self.filters],
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.bias = (self.add_weight("bias", [self.filters], initializer=self.bias_initializer,
                                     regularizer=self.bias_regularizer) if self.use_bias else None)
        self.built = True

    def call(self, inputs):
        from .. import nn

        x = _o.convert_to_tensor(inputs)
        if len(x.shape) != 4 or x.shape[-1] != self.kernel.shape[2]:
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected shape "
                f"(None, H, W, {self.kernel.shape[2]}), got {x.shape}")
        y = nn.conv2d(x, self.kernel, self.strides, self.padding, dilations=self.dilation_rate)
        if self.use_bias:
            y = y + self.bias
        return self.activation(y)


class MaxPooling2D(Layer):
    """The maximum of each ``pool_size`` window (``strides`` defaults to ``pool_size``)."""

    _max = True

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        from .. import nn

        self.pool_size = nn._pair(pool_size, type(self).__name__)
        self.strides = nn._pair(strides if strides is not None else self.pool_size, type(self).__name__)
        self.padding = padding
        nn._same(padding, type(self).__name__)
        nn._nhwc(data_format, type(self).__name__)

    def call(self, inputs):
        from .. import nn

        pool = nn.max_pool2d if self._max else nn.avg_pool2d
        return pool(inputs, self.pool_size, self.strides, self.padding)


class AveragePooling2D(MaxPooling2D):
    """The mean of each ``pool_size`` window (taps in the padding not counted)."""

    _max = False


class Softmax(Layer):
    """Softmax over ``axis`` (an int or a tuple of ints). With a boolean ``mask`` the masked
    entries get zero, as in Keras (they are pushed to a large negative logit first).

    >>> import rstf as tf
    >>> tf.keras.layers.Softmax()(tf.constant([[1.0, 1.0]]), mask=tf.constant([[True, False]]))
    <rstf.Tensor: shape=(1, 2), dtype=float32, numpy=array([[1., 0.]], dtype=float32)>
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis

    def call(self, inputs, mask=None):
        from .. import nn

        x = _o.convert_to_tensor(inputs)
        if mask is not None:
            keep = _o.cast(mask, x.dtype)
            x = x + (1.0 - keep) * (-3e4 if x.dtype.name == "float16" else -1e9)
        axis = self.axis
        if isinstance(axis, tuple) and len(axis) == 1:
            axis = axis[0]
        if isinstance(axis, tuple):
            y = _o.exp(x - _o.reduce_logsumexp(x, axis=list(axis), keepdims=True))
        else:
            y = nn.softmax(x, axis=axis)
        return y if mask is None else y * keep


def _accepts(fn, name) -> bool:
    """Whether ``fn`` takes a keyword argument ``name`` (or ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind == p.VAR_KEYWORD for p in params)


class Lambda(Layer):
    """Wraps a function of the inputs as a layer: ``function(inputs, **arguments)`` (also given
    ``mask`` and ``training`` when it takes them). ``output_shape`` (without the batch
    dimension, or a function of the input shape) is only used by ``compute_output_shape``.

    Saving records the function by name: a function registered with
    ``rstf.keras.saving.register_keras_serializable`` (or an activation) loads again; a Python
    ``lambda`` is saved as a marker without its code, and loading a file whose Lambda holds a
    lambda (or any Python code) raises ValueError, as Keras 3 does in ``safe_mode``: rstf never
    runs code read from a file.

    >>> import rstf as tf
    >>> layer = tf.keras.layers.Lambda(lambda x, k: x * k, arguments={"k": 3.0})
    >>> layer(tf.constant([1.0, 2.0]))
    <rstf.Tensor: shape=(2,), dtype=float32, numpy=array([3., 6.], dtype=float32)>
    >>> layer.compute_output_shape((None, 4))
    (None, 4)
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: the function must be callable, got {function!r}")
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"Lambda: arguments must be a dict, got {type(arguments).__name__}")
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self._output_shape_arg = output_shape
        self._takes_mask = _accepts(function, "mask")
        self._takes_training = _accepts(function, "training")

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._takes_mask and mask is not None:
            kwargs["mask"] = mask
        if self._takes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape`` (with its batch dimension): from ``output_shape``
        when given, else by running the function on zeros of that shape."""
        out = self._output_shape_arg
        if callable(out):
            return out(input_shape)
        input_shape = tuple(input_shape)
        if out is not None:
            return (input_shape[0], *tuple(out)) if input_shape else tuple(out)
        dims = [1 if d is None else int(d) for d in input_shape]
        y = self.call(_o.zeros(dims, self._dtype))
        shape = tuple(y.shape)
        if input_shape and input_shape[0] is None and shape:
            shape = (None, *shape[1:])
        return shape


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
Convolution2D = Conv2D
