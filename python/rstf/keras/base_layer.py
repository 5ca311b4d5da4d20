"""The base class of Keras layers (``rstf.keras.layers.Layer``); the layer families import it,
and ``layers`` gathers them into one namespace.

>>> import rstf as tf
>>> class Double(tf.keras.layers.Layer):
...     def call(self, x):
...         return x * 2
>>> Double()(tf.constant([1.0, 2.0])).numpy()
array([2., 4.], dtype=float32)
"""

from __future__ import annotations

import inspect
import threading
import weakref

import numpy as np

from .. import _ops as _o
from .._shape import TensorShape
from .._variable import Variable
from ..module import Module, _snake
from . import functional, initializers, regularizers
from ._captures import CapturesInit

_TAKES_TRAINING: dict = {}
_NAME_COUNTS: dict = {}
_CALLS = threading.local()  # .depth: nested layer calls (the outermost clears added losses)
_HOLDING: weakref.WeakSet = weakref.WeakSet()  # layers holding losses from add_loss


def _takes_training(cls) -> bool:
    """Whether ``cls.call`` accepts a ``training`` argument (Keras passes it only then)."""
    if cls not in _TAKES_TRAINING:
        params = inspect.signature(cls.call).parameters.values()
        _TAKES_TRAINING[cls] = any(p.name == "training" or p.kind == p.VAR_KEYWORD for p in params)
    return _TAKES_TRAINING[cls]


class Layer(CapturesInit, Module):
    """A callable module with weights created in ``build`` on the first call."""

    def __init__(self, trainable=True, name=None, dtype=None, **kwargs):
        if name is None:
            # Keras' automatic names: dense, dense_1, dense_2, ...
            base = _snake(type(self).__name__)
            n = _NAME_COUNTS.get(base, 0)
            _NAME_COUNTS[base] = n + 1
            name = base if n == 0 else f"{base}_{n}"
        super().__init__(name=name)
        self.trainable = trainable
        self.built = False
        self._dtype = dtype or "float32"
        self.input_spec = None
        # Keras' input_shape / input_dim / batch_input_shape: the first layer of a Sequential
        # declares the model's input with them.
        shape = kwargs.get("input_shape")
        if kwargs.get("input_dim") is not None:
            shape = (kwargs["input_dim"],)
        elif kwargs.get("batch_input_shape") is not None:
            shape = tuple(kwargs["batch_input_shape"])[1:]
        self.__dict__["_input_shape_arg"] = None if shape is None else tuple(shape)
        self.activity_regularizer = regularizers.get(kwargs.get("activity_regularizer"))

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
        if kwargs.get("regularizer") is not None:
            v.regularizer = regularizers.get(kwargs["regularizer"])
        self.__dict__.setdefault("_weights_list", []).append(v)
        return v

    def __call__(self, inputs, *args, **kwargs):
        if functional.is_symbolic(inputs, args, kwargs):
            return functional.call_symbolic(self, inputs, args, kwargs)
        if not self.built:
            x0 = _o.convert_to_tensor(inputs) if not isinstance(inputs, (list, tuple, dict)) else inputs
            shape = TensorShape(tuple(x0.shape)) if hasattr(x0, "shape") else None
            if shape is not None and hasattr(x0, "dtype"):
                self.__dict__["_build_input"] = (x0.dtype.name, tuple(x0.shape))
            # (a Model told it is built by its first call builds nothing more: see Model.build)
            self.__dict__["_build_in_call"] = True
            try:
                self.build(shape)
            finally:
                self.__dict__.pop("_build_in_call", None)
            self.built = True
        if "training" in kwargs and not _takes_training(type(self)):
            del kwargs["training"]
        depth = getattr(_CALLS, "depth", 0)
        if depth == 0 and len(_HOLDING):
            self._clear_losses()
        _CALLS.depth = depth + 1
        try:
            out = self.call(inputs, *args, **kwargs)
        finally:
            _CALLS.depth = depth
        if self.__dict__.get("activity_regularizer") is not None:
            self._activity_loss(out)
        shape = getattr(out, "shape", None)
        if shape is not None:
            self.__dict__["_output_shape"] = (None, *tuple(shape)[1:]) if len(shape) else ()
        return out

    def add_loss(self, loss):
        """Adds a scalar loss (from ``call``) to ``losses``: the outermost layer call clears
        them, and ``Model.fit`` adds them to the training loss."""
        self.__dict__.setdefault("_losses", []).extend(loss if isinstance(loss, (list, tuple)) else [loss])
        _HOLDING.add(self)

    def _activity_loss(self, out):
        reg = self.activity_regularizer
        for y in out if isinstance(out, (list, tuple)) else [out]:
            if hasattr(y, "shape") and hasattr(y, "dtype"):
                loss = reg(y)
                if len(y.shape):
                    loss = loss / _o.cast(_o.shape(y)[0], loss.dtype)
                self.add_loss(loss)

    def _sublayers(self):
        return [self] + [m for m in self.submodules if isinstance(m, Layer)]

    def _clear_losses(self):
        for layer in self._sublayers():
            layer.__dict__.pop("_losses", None)
            _HOLDING.discard(layer)

    @property
    def losses(self):
        """The losses added by ``add_loss`` (the activity regularizers' too) in the last call of
        this layer and its sublayers, then the penalties of the weights' regularizers."""
        out = [x for layer in self._sublayers() for x in layer.__dict__.get("_losses", [])]
        for v in self.trainable_weights:
            reg = getattr(v, "regularizer", None)
            if reg is not None:
                out.append(reg(v))
        return out

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
