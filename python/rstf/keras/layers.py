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

import numpy as np

from .. import _ops as _o
from .. import random as _random
from .._shape import TensorShape
from .._variable import Variable
from ..module import Module
from . import activations, initializers
from .saving import CapturesInit

_TAKES_TRAINING: dict = {}


def _takes_training(cls) -> bool:
    """Whether ``cls.call`` accepts a ``training`` argument (Keras passes it only then)."""
    if cls not in _TAKES_TRAINING:
        params = inspect.signature(cls.call).parameters.values()
        _TAKES_TRAINING[cls] = any(p.name == "training" or p.kind == p.VAR_KEYWORD for p in params)
    return _TAKES_TRAINING[cls]


class Layer(CapturesInit, Module):
    """A callable module with weights created in ``build`` on the first call."""

    def __init__(self, trainable=True, name=None, dtype=None, **kwargs):
        super().__init__(name=name)
        self.trainable = trainable
        self.built = False
        self._dtype = dtype or "float32"
        self.input_spec = None

    @property
    def dtype(self):
        return self._dtype

    def build(self, input_shape):
        self.built = True

    def call(self, inputs, *args, **kwargs):
        return inputs

    def add_weight(self, name=None, shape=None, dtype=None, initializer=None, trainable=True, **kwargs):
        """Creates a Variable owned by the layer."""
        init = initializers.get(initializer if initializer is not None else "glorot_uniform")
        value = init(list(shape or ()), dtype=dtype or self._dtype)
        v = Variable(value, trainable=trainable and self.trainable, name=name or "weight")
        self.__dict__.setdefault("_weights_list", []).append(v)
        return v

    def __call__(self, inputs, *args, **kwargs):
        if not self.built:
            x0 = _o.convert_to_tensor(inputs) if not isinstance(inputs, (list, tuple, dict)) else inputs
            shape = TensorShape(tuple(x0.shape)) if hasattr(x0, "shape") else None
            if shape is not None and hasattr(x0, "dtype"):
                self.__dict__["_build_input"] = (x0.dtype.name, tuple(x0.shape))
            self.build(shape)
            self.built = True
        if "training" in kwargs and not _takes_training(type(self)):
            del kwargs["training"]
        return self.call(inputs, *args, **kwargs)

    @property
    def weights(self):
        return list(self.variables)

    @property
    def trainable_weights(self):
        return list(self.trainable_variables) if self.trainable else []

    @property
    def non_trainable_weights(self):
        return [v for v in self.variables if not v.trainable or not self.trainable]

    def get_weights(self):
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        ws = self.weights
        if len(weights) != len(ws):
            raise ValueError(f"set_weights: expected {len(ws)} arrays, got {len(weights)}")
        for v, w in zip(ws, weights):
            v.assign(np.asarray(w).astype(np.asarray(v).dtype))

    def count_params(self):
        return int(sum(np.prod(v.shape) for v in self.weights))


class Dense(Layer):
    """``activation(inputs @ kernel + bias)``."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
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
                                      initializer=self.kernel_initializer)
        self.bias = (self.add_weight("bias", [self.units], initializer=self.bias_initializer)
                     if self.use_bias else None)
        self.built = True

    def call(self, inputs):
        x = _o.convert_to_tensor(inputs)
        if x.shape[-1] != self.kernel.shape[0]:
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected axis -1 of "
                f"input shape to have value {self.kernel.shape[0]}, but received input with shape {x.shape}")
        if len(x.shape) == 2:
            y = _o.matmul(x, self.kernel)
        else:
            flat = _o.matmul(_o.reshape(x, [-1, x.shape[-1]]), self.kernel)
            y = _o.reshape(flat, [*x.shape[:-1], self.units])
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
