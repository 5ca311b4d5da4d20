"""Weight regularizers (``rstf.keras.regularizers``): penalties on a weight that a layer adds to
its ``losses`` (``kernel_regularizer=``, ``bias_regularizer=``, ``activity_regularizer=``), and
``Model.fit`` adds to the training loss, as Keras does.

>>> import rstf as tf
>>> reg = tf.keras.regularizers.L1L2(l1=0.5, l2=0.25)
>>> float(reg(tf.constant([1.0, -2.0])))
2.75
>>> layer = tf.keras.layers.Dense(1, kernel_initializer="ones", kernel_regularizer="l2")
>>> _ = layer(tf.ones([1, 3]))
>>> [round(float(x), 4) for x in layer.losses]
[0.03]
"""

from __future__ import annotations

import math

from .. import _ops as _o
from ._captures import CapturesInit

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize", "deserialize"]


def _factor(value, name):
    if (not isinstance(value, (float, int)) or isinstance(value, bool) or math.isinf(value)
            or math.isnan(value) or value < 0):
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float."
                         f"Received: {name}={value}")
    return float(value)


class Regularizer(CapturesInit):
    """Base class: ``regularizer(weight)`` is a scalar penalty."""

    def __call__(self, x):
        return _o.constant(0.0)

    def get_config(self):
        args, kwargs = self.__dict__.get("_init_args", ((), {}))
        if args:
            raise NotImplementedError(f"{type(self).__name__}: override get_config")
        return dict(kwargs)

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x ** 2)``.

    >>> import rstf as tf
    >>> tf.keras.regularizers.L1L2(l2=0.5).get_config()
    {'l1': 0.0, 'l2': 0.5}
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(l1, "l1")
        self.l2 = _factor(l2, "l2")

    def __call__(self, x):
        x = _o.convert_to_tensor(x)
        out = _o.zeros([], x.dtype)
        if self.l1:
            out = out + _o.constant(self.l1, dtype=x.dtype) * _o.reduce_sum(_o.abs(x))
        if self.l2:
            out = out + _o.constant(self.l2, dtype=x.dtype) * _o.reduce_sum(_o.square(x))
        return out

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """``l1 * sum(|x|)``.

    >>> import rstf as tf
    >>> float(tf.keras.regularizers.L1(0.5)(tf.constant([1.0, -3.0])))
    2.0
    """

    def __init__(self, l1=0.01):
        self.l1 = _factor(l1, "l1")

    def __call__(self, x):
        x = _o.convert_to_tensor(x)
        return _o.constant(self.l1, dtype=x.dtype) * _o.reduce_sum(_o.abs(x))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x ** 2)``.

    >>> import rstf as tf
    >>> float(tf.keras.regularizers.L2(0.5)(tf.constant([1.0, -3.0])))
    5.0
    """

    def __init__(self, l2=0.01):
        self.l2 = _factor(l2, "l2")

    def __call__(self, x):
        x = _o.convert_to_tensor(x)
        return _o.constant(self.l2, dtype=x.dtype) * _o.reduce_sum(_o.square(x))

    def get_config(self):
        return {"l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2

_BY_NAME = {"Regularizer": Regularizer, "L1": L1, "L2": L2, "L1L2": L1L2, "regularizer": Regularizer,
            "l1": L1, "l2": L2, "l1l2": L1L2}


def serialize(regularizer):
    """A regularizer as Keras writes it in a config (None stays None)."""
    if regularizer is None:
        return None
    return {"module": "keras.regularizers", "class_name": type(regularizer).__name__,
            "config": regularizer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """The regularizer a :func:`serialize` dict (or a class name) names."""
    if isinstance(config, str):
        return get(config)
    name = config.get("class_name")
    cls = (custom_objects or {}).get(name) or _BY_NAME.get(name)
    if cls is None:
        raise ValueError(f"Could not interpret regularizer identifier: {config}")
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier):
    """A regularizer for a name (``'l1'``, ``'l2'``, ``'l1l2'``), a config dict, an object or
    a function of the weight; None for None."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    obj = _BY_NAME.get(identifier) if isinstance(identifier, str) else identifier
    if callable(obj):
        return obj() if isinstance(obj, type) else obj
    raise ValueError(f"Could not interpret regularizer identifier: {identifier}")
