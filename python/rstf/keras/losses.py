"""Loss functions and classes (``rstf.keras.losses``), numerically stable.

>>> import rstf as tf
>>> float(tf.reduce_mean(tf.keras.losses.MSE(tf.constant([[1.0, 2.0]]), tf.constant([[1.0, 4.0]]))))
2.0
"""

from __future__ import annotations

import math

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


_EPSILON = 1e-7  # keras.backend.epsilon()


def _cast_pair(y_true, y_pred):
    y_pred = _o.convert_to_tensor(y_pred)
    return _o.cast(y_true, y_pred.dtype), y_pred


def _l2_normalize(x, axis):
    """``x / max(||x||, 1e-7)`` along ``axis`` (Keras' ``ops.normalize``)."""
    inv = _o.rsqrt(_o.reduce_sum(_o.square(x), axis=axis, keepdims=True))
    return x * _o.minimum(inv, _o.constant(1.0 / _EPSILON, dtype=x.dtype))


def kl_divergence(y_true, y_pred):
    """``sum(y_true * log(y_true / y_pred))`` over the last axis, both clipped to
    ``[1e-7, 1]``."""
    y_true, y_pred = _cast_pair(y_true, y_pred)
    y_true = _o.clip_by_value(y_true, _EPSILON, 1.0)
    y_pred = _o.clip_by_value(y_pred, _EPSILON, 1.0)
    return _o.reduce_sum(y_true * _o.log(y_true / y_pred), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Minus the cosine similarity along ``axis``: -1 for vectors pointing the same way."""
    y_true, y_pred = _pair(y_true, y_pred)
    return -_o.reduce_sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def poisson(y_true, y_pred):
    """``mean(y_pred - y_true * log(y_pred + 1e-7))`` over the last axis."""
    y_true, y_pred = _cast_pair(y_true, y_pred)
    return _o.reduce_mean(y_pred - y_true * _o.log(y_pred + _EPSILON), axis=-1)


def log_cosh(y_true, y_pred):
    """``mean(log(cosh(y_pred - y_true)))`` over the last axis, stable for large errors."""
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return _o.reduce_mean(x + nn.softplus(-2.0 * x) - _o.constant(math.log(2.0), dtype=x.dtype), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7))`` over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    diff = _o.abs((y_true - y_pred) / _o.maximum(_o.abs(y_true), _EPSILON))
    return 100.0 * _o.reduce_mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1)) ** 2)`` over the
    last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    first = _o.log(_o.maximum(y_pred, _EPSILON) + 1.0)
    second = _o.log(_o.maximum(y_true, _EPSILON) + 1.0)
    return _o.reduce_mean(_o.square(first - second), axis=-1)


def _hinge_labels(y_true):
    """Labels that are all 0 or 1 become -1 or 1 (others are kept), as Keras does."""
    binary = _o.reduce_all(_o.logical_or(_o.equal(y_true, 0.0), _o.equal(y_true, 1.0)))
    b = _o.cast(binary, y_true.dtype)
    return y_true + b * (y_true - 1.0)


def hinge(y_true, y_pred):
    """``mean(max(1 - y_true * y_pred, 0))`` over the last axis (0/1 labels read as -1/1)."""
    y_true, y_pred = _cast_pair(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return _o.reduce_mean(_o.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """``mean(max(1 - y_true * y_pred, 0) ** 2)`` over the last axis."""
    y_true, y_pred = _cast_pair(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return _o.reduce_mean(_o.square(_o.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """``max(neg - pos + 1, 0)`` with ``pos = sum(y_true * y_pred)`` and
    ``neg = max((1 - y_true) * y_pred)`` over the last axis."""
    y_true, y_pred = _cast_pair(y_true, y_pred)
    pos = _o.reduce_sum(y_true * y_pred, axis=-1)
    neg = _o.reduce_max((1.0 - y_true) * y_pred, axis=-1)
    return _o.maximum(neg - pos + 1.0, 0.0)


MSE = mse = mean_squared_error
MAE = mae = mean_absolute_error
MAPE = mape = mean_absolute_percentage_error
MSLE = msle = mean_squared_logarithmic_error
KLD = kld = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh


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
    """``0.5 * err ** 2`` where ``|err| <= delta``, else ``delta * (|err| - 0.5 * delta)``,
    averaged over the last axis.

    >>> import rstf as tf
    >>> float(tf.keras.losses.Huber()([[0.0, 1.0]], [[0.5, 3.0]]))
    0.8125
    """

    fn = staticmethod(huber)

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, delta=delta)


class _Wrapper(Loss):
    """A Keras ``LossFunctionWrapper``: labels and predictions are brought to the same rank
    (as :func:`_pair` does) before the function."""

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        super().__init__(reduction=reduction, name=name)

    def call(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred)
        return type(self).fn(y_true, y_pred, **self._kwargs)


class KLDivergence(_Wrapper):
    """Kullback-Leibler divergence (:func:`kl_divergence`).

    >>> import rstf as tf
    >>> round(float(tf.keras.losses.KLDivergence()([[0.5, 0.5]], [[0.25, 0.75]])), 4)
    0.1438
    """

    fn = staticmethod(kl_divergence)

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(reduction, name, dtype)


class CosineSimilarity(_Wrapper):
    """Minus the cosine similarity along ``axis`` (:func:`cosine_similarity`).

    >>> import rstf as tf
    >>> float(tf.keras.losses.CosineSimilarity()([[0.0, 2.0]], [[0.0, 5.0]]))
    -1.0
    """

    fn = staticmethod(cosine_similarity)

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None):
        super().__init__(reduction, name, dtype)
        self._kwargs = {"axis": axis}


class Poisson(_Wrapper):
    """Poisson loss (:func:`poisson`).

    >>> import rstf as tf
    >>> round(float(tf.keras.losses.Poisson()([[1.0]], [[2.0]])), 4)
    1.3069
    """

    fn = staticmethod(poisson)

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(reduction, name, dtype)


class LogCosh(_Wrapper):
    """``log(cosh(error))`` averaged over the last axis (:func:`log_cosh`).

    >>> import rstf as tf
    >>> round(float(tf.keras.losses.LogCosh()([[0.0]], [[1.0]])), 4)
    0.4338
    """

    fn = staticmethod(log_cosh)

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(reduction, name, dtype)


class MeanAbsolutePercentageError(_Wrapper):
    """:func:`mean_absolute_percentage_error`.

    >>> import rstf as tf
    >>> float(tf.keras.losses.MeanAbsolutePercentageError()([[2.0, 4.0]], [[1.0, 5.0]]))
    37.5
    """

    fn = staticmethod(mean_absolute_percentage_error)

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error", dtype=None):
        super().__init__(reduction, name, dtype)


class MeanSquaredLogarithmicError(_Wrapper):
    """:func:`mean_squared_logarithmic_error`.

    >>> import math, rstf as tf
    >>> value = float(tf.keras.losses.MeanSquaredLogarithmicError()([[0.0]], [[math.e - 1]]))
    >>> round(value, 5)
    1.0
    """

    fn = staticmethod(mean_squared_logarithmic_error)

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(reduction, name, dtype)


class Hinge(_Wrapper):
    """:func:`hinge` (0/1 labels are read as -1/1).

    >>> import rstf as tf
    >>> float(tf.keras.losses.Hinge()([[0.0, 1.0]], [[0.5, 0.5]]))
    1.0
    """

    fn = staticmethod(hinge)

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(reduction, name, dtype)


class SquaredHinge(_Wrapper):
    """:func:`squared_hinge`.

    >>> import rstf as tf
    >>> float(tf.keras.losses.SquaredHinge()([[0.0, 1.0]], [[0.5, 0.5]]))
    1.25
    """

    fn = staticmethod(squared_hinge)

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(reduction, name, dtype)


class CategoricalHinge(_Wrapper):
    """:func:`categorical_hinge`.

    >>> import rstf as tf
    >>> float(tf.keras.losses.CategoricalHinge()([[0.0, 1.0]], [[0.75, 0.5]]))
    1.25
    """

    fn = staticmethod(categorical_hinge)

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(reduction, name, dtype)


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
    "kl_divergence": kl_divergence, "kld": kl_divergence, "kullback_leibler_divergence": kl_divergence,
    "cosine_similarity": cosine_similarity, "poisson": poisson, "log_cosh": log_cosh, "logcosh": log_cosh,
    "mape": mean_absolute_percentage_error, "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error, "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
    "hinge": hinge, "squared_hinge": squared_hinge, "categorical_hinge": categorical_hinge,
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
