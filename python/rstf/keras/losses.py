"""Loss functions and classes (``rstf.keras.losses``), numerically stable.

>>> import rstf as tf
>>> float(tf.reduce_mean(tf.keras.losses.MSE(tf.constant([[1.0, 2.0]]), tf.constant([[1.0, 4.0]]))))
2.0
"""

from __future__ import annotations

from .. import _ops as _o
from .. import nn
from ._captures import CapturesInit


def _pair(y_true, y_pred):
    """Both as tensors of ``y_pred``'s dtype and of the same rank, as Keras' losses see them:
    when the ranks differ by one and the longer has a last dimension of 1, a rank-1 tensor
    gains that dimension and otherwise the longer loses it (labels ``(n,)`` with predictions
    ``(n, 1)`` compare row by row instead of broadcasting to ``(n, n)``)."""
    y_pred = _o.convert_to_tensor(y_pred)
    y_true = _o.cast(y_true, y_pred.dtype)
    rt, rp = len(y_true.shape), len(y_pred.shape)
    if rp == rt + 1 and y_pred.shape[-1] == 1:
        if rt == 1:
            y_true = _o.expand_dims(y_true, -1)
        else:
            y_pred = _o.squeeze(y_pred, axis=-1)
    elif rt == rp + 1 and y_true.shape[-1] == 1:
        if rp == 1:
            y_pred = _o.expand_dims(y_pred, -1)
        else:
            y_true = _o.squeeze(y_true, axis=-1)
    return y_true, y_pred


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return _o.reduce_mean(_o.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return _o.reduce_mean(_o.abs(y_pred - y_true), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    y_true, y_pred = _pair(y_true, y_pred)
    err = _o.abs(y_pred - y_true)
    quad = _o.minimum(err, delta)
    return _o.reduce_mean(0.5 * quad * quad + delta * (err - quad), axis=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    y_true, y_pred = _pair(y_true, y_pred)
    if from_logits:
        # max(x, 0) - x z + log(1 + exp(-|x|))
        loss = _o.maximum(y_pred, 0.0) - y_pred * y_true + nn.softplus(-_o.abs(y_pred))
    else:
        p = _o.clip_by_value(y_pred, 1e-7, 1.0 - 1e-7)
        loss = -(y_true * _o.log(p) + (1.0 - y_true) * _o.log(1.0 - p))
    return _o.reduce_mean(loss, axis=-1)


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    y_true, y_pred = _pair(y_true, y_pred)
    if from_logits:
        return -_o.reduce_sum(y_true * nn.log_softmax(y_pred, axis=-1), axis=-1)
    p = y_pred / _o.reduce_sum(y_pred, axis=-1, keepdims=True)
    p = _o.clip_by_value(p, 1e-7, 1.0 - 1e-7)
    return -_o.reduce_sum(y_true * _o.log(p), axis=-1)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    y_pred = _o.convert_to_tensor(y_pred)
    labels = _o.cast(y_true, "int64")
    if len(labels.shape) == len(y_pred.shape):
        labels = _o.squeeze(labels, axis=-1)
    onehot = _o.one_hot(labels, y_pred.shape[-1], dtype=y_pred.dtype)
    return categorical_crossentropy(onehot, y_pred, from_logits=from_logits)


MSE = mse = mean_squared_error
MAE = mae = mean_absolute_error


class Loss(CapturesInit):
    """A loss object: ``loss(y_true, y_pred)`` is the mean of the per-example losses."""

    fn = staticmethod(mean_squared_error)

    def __init__(self, reduction="sum_over_batch_size", name=None, **kwargs):
        self.reduction = reduction
        self.name = name or type(self).__name__
        self._kwargs = kwargs

    def call(self, y_true, y_pred):
        return type(self).fn(y_true, y_pred, **self._kwargs)

    def __call__(self, y_true, y_pred, sample_weight=None):
        per_example = self.call(y_true, y_pred)
        if sample_weight is not None:
            per_example = per_example * _o.cast(sample_weight, per_example.dtype)
        if self.reduction == "none":
            return per_example
        if self.reduction == "sum":
            return _o.reduce_sum(per_example)
        return _o.reduce_mean(per_example)


class MeanSquaredError(Loss):
    fn = staticmethod(mean_squared_error)


class MeanAbsoluteError(Loss):
    fn = staticmethod(mean_absolute_error)


class Huber(Loss):
    fn = staticmethod(huber)

    def __init__(self, delta=1.0, **kwargs):
        super().__init__(delta=delta, **kwargs)


class BinaryCrossentropy(Loss):
    fn = staticmethod(binary_crossentropy)

    def __init__(self, from_logits=False, **kwargs):
        super().__init__(from_logits=from_logits, **kwargs)


class CategoricalCrossentropy(Loss):
    fn = staticmethod(categorical_crossentropy)

    def __init__(self, from_logits=False, **kwargs):
        super().__init__(from_logits=from_logits, **kwargs)


class SparseCategoricalCrossentropy(Loss):
    fn = staticmethod(sparse_categorical_crossentropy)

    def __init__(self, from_logits=False, **kwargs):
        super().__init__(from_logits=from_logits, **kwargs)


_BY_NAME = {
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
    "huber": huber, "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}


def get(identifier):
    """A loss for a name, a Loss object or a function ``f(y_true, y_pred)``."""
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"Unknown loss function: {identifier!r}. Known: {sorted(_BY_NAME)}")
        return _BY_NAME[identifier]
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")
