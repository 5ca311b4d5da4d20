"""Keras metrics (``rstf.keras.metrics``): stateful averages with ``update_state``,
``result`` and ``reset_state``; also accepted by ``Model.compile(metrics=[...])``.

>>> import rstf as tf
>>> m = tf.keras.metrics.SparseCategoricalAccuracy()
>>> m.update_state([1, 2], [[0.1, 0.9, 0.0], [0.8, 0.1, 0.1]])
>>> float(m.result())
0.5
>>> m.update_state([0], [[0.9, 0.05, 0.05]])
>>> round(float(m.result()), 4)
0.6667
>>> m.reset_state(); float(m.result())
0.0
"""

from __future__ import annotations

import abc

from .. import _ops as _o
from .._variable import Variable
from ..module import Module

__all__ = ["Metric", "Mean", "MeanSquaredError", "MeanAbsoluteError", "Accuracy", "BinaryAccuracy",
           "CategoricalAccuracy", "SparseCategoricalAccuracy", "get"]


class Metric(Module, abc.ABC):
    """A weighted mean of per-example values, kept in two variables (``total``, ``count``)."""

    def __init__(self, name=None, dtype="float32"):
        super().__init__(name=name)
        self.dtype = dtype
        self.total = Variable(0.0, trainable=False, name="total", dtype=dtype)
        self.count = Variable(0.0, trainable=False, name="count", dtype=dtype)

    @abc.abstractmethod
    def _values(self, y_true, y_pred):
        """Per-example values (each metric's own)."""

    def _batch_value(self, y_true, y_pred):
        return _o.reduce_mean(_o.cast(self._values(y_true, y_pred), self.dtype))

    def update_state(self, y_true, y_pred=None, sample_weight=None):
        """Adds a batch of examples."""
        values = _o.cast(self._values(y_true, y_pred), self.dtype)
        if sample_weight is None:
            self.total.assign_add(_o.reduce_sum(values), read_value=False)
            self.count.assign_add(_o.cast(_o.size(values), self.dtype), read_value=False)
        else:
            w = _o.broadcast_to(_o.cast(_o.convert_to_tensor(sample_weight), self.dtype), list(values.shape))
            self.total.assign_add(_o.reduce_sum(values * w), read_value=False)
            self.count.assign_add(_o.reduce_sum(w), read_value=False)

    def result(self):
        """The mean so far (0 before any example)."""
        total, count = self.total.value(), self.count.value()
        return _o.where(count > 0, total / count, _o.zeros_like(total))

    def reset_state(self):
        self.total.assign(0.0, read_value=False)
        self.count.assign(0.0, read_value=False)

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()


class Mean(Metric):
    """The (weighted) mean of the values given."""

    def update_state(self, values, sample_weight=None):
        super().update_state(values, None, sample_weight)

    def _values(self, values, _):
        return _o.convert_to_tensor(values)


def _pair(y_true, y_pred):
    y_pred = _o.convert_to_tensor(y_pred)
    y_true = _o.convert_to_tensor(y_true)
    return y_true, y_pred


class MeanSquaredError(Metric):
    def _values(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred)
        return _o.reduce_mean(_o.square(_o.cast(y_true, y_pred.dtype) - y_pred), axis=-1)


class MeanAbsoluteError(Metric):
    def _values(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred)
        return _o.reduce_mean(_o.abs(_o.cast(y_true, y_pred.dtype) - y_pred), axis=-1)


class Accuracy(Metric):
    """How often predictions equal labels exactly."""

    def _values(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred)
        return _o.cast(_o.equal(_o.cast(y_true, y_pred.dtype), y_pred), "float32")


class BinaryAccuracy(Metric):
    """How often ``y_pred > threshold`` matches the 0/1 labels."""

    def __init__(self, name=None, dtype="float32", threshold=0.5):
        super().__init__(name=name, dtype=dtype)
        self.threshold = threshold

    def _values(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred)
        hits = _o.equal(_o.cast(y_pred > self.threshold, "float32"), _o.cast(y_true, "float32"))
        return _o.reduce_mean(_o.cast(hits, "float32"), axis=-1)


class CategoricalAccuracy(Metric):
    """How often the largest prediction is at the one-hot label's position."""

    def _values(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred)
        return _o.cast(_o.equal(_o.argmax(y_pred, axis=-1), _o.argmax(y_true, axis=-1)), "float32")


class SparseCategoricalAccuracy(Metric):
    """How often the largest prediction is at the integer label."""

    def _values(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred)
        labels = _o.cast(y_true, "int64")
        if len(labels.shape) == len(y_pred.shape):
            labels = _o.squeeze(labels, axis=-1)
        return _o.cast(_o.equal(_o.argmax(y_pred, axis=-1), labels), "float32")


_BY_NAME = {
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
}


def get(identifier):
    """A metric for a name or a Metric."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier](name=identifier)
    raise ValueError(f"Unknown metric: {identifier!r}. Known: {sorted(_BY_NAME)}")
