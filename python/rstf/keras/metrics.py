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
from . import losses as _losses

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
    """The mean squared error so far (labels of shape ``(n,)`` against predictions ``(n, 1)``
    compare row by row, as Keras' ``mean_squared_error``)."""

    def _values(self, y_true, y_pred):
        return _losses.mean_squared_error(y_true, y_pred)


class MeanAbsoluteError(Metric):
    """The mean absolute error so far."""

    def _values(self, y_true, y_pred):
        return _losses.mean_absolute_error(y_true, y_pred)


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


# -- more Keras metrics ---------------------------------------------------------------------------

_EPSILON = 1e-7  # keras.backend.epsilon()


def _div_no_nan(a, b):
    nonzero = _o.not_equal(b, 0.0)
    return _o.where(nonzero, a / _o.where(nonzero, b, _o.ones_like(b)), _o.zeros_like(a))


class RootMeanSquaredError(MeanSquaredError):
    """The square root of the mean squared error so far.

    >>> import rstf as tf
    >>> m = tf.keras.metrics.RootMeanSquaredError()
    >>> m.update_state([[0.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [0.0, 1.0]])
    >>> round(float(m.result()), 4)
    0.7071
    """

    def _batch_value(self, y_true, y_pred):
        return _o.sqrt(super()._batch_value(y_true, y_pred))

    def result(self):
        return _o.sqrt(super().result())


def _in_top_k(labels, y_pred, k):
    """Whether each label's prediction is among the ``k`` largest of its row (ties at the
    boundary count as in, as ``tf.math.in_top_k``)."""
    y_pred = _o.convert_to_tensor(y_pred)
    onehot = _o.one_hot(_o.cast(labels, "int64"), y_pred.shape[-1], dtype=y_pred.dtype)
    target = _o.reduce_sum(onehot * y_pred, axis=-1, keepdims=True)
    above = _o.reduce_sum(_o.cast(y_pred > target, "float32"), axis=-1)
    return _o.cast(above < float(k), "float32")


class TopKCategoricalAccuracy(Metric):
    """How often the one-hot label's class is among the ``k`` largest predictions.

    >>> import rstf as tf
    >>> m = tf.keras.metrics.TopKCategoricalAccuracy(k=1)
    >>> m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    >>> float(m.result())
    0.5
    """

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype or "float32")
        self.k = k

    def _values(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred)
        labels = _o.argmax(y_true, axis=-1)
        return _in_top_k(labels, y_pred, self.k)


class SparseTopKCategoricalAccuracy(Metric):
    """How often the integer label is among the ``k`` largest predictions.

    >>> import rstf as tf
    >>> m = tf.keras.metrics.SparseTopKCategoricalAccuracy(k=1)
    >>> m.update_state([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    >>> float(m.result())
    0.5
    """

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False):
        super().__init__(name=name, dtype=dtype or "float32")
        self.k, self.from_sorted_ids = k, from_sorted_ids

    def _values(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred)
        if self.from_sorted_ids:
            ids = _o.cast(y_pred[..., : self.k], "int64")
            labels = _o.expand_dims(_o.cast(_o.reshape(y_true, [-1]), "int64"), -1)
            return _o.cast(_o.reduce_any(_o.equal(ids, labels), axis=-1), "float32")
        labels = _o.cast(y_true, "int64")
        if len(labels.shape) == len(y_pred.shape):
            labels = _o.squeeze(labels, axis=-1)
        return _in_top_k(labels, y_pred, self.k)


class _Confusion(Metric):
    """Weighted confusion-matrix counts at thresholds (``y_pred > threshold`` is a positive),
    kept in variables named as Keras names them."""

    _counts_kept = ("true_positives", "false_positives")

    def __init__(self, thresholds, name=None, dtype=None):
        Module.__init__(self, name=name)
        self.dtype = dtype or "float32"
        self._thresholds = [float(t) for t in thresholds]
        n = len(self._thresholds)
        for key in self._counts_kept:
            setattr(self, key, Variable([0.0] * n, trainable=False, name=key, dtype=self.dtype))

    def _values(self, y_true, y_pred):
        raise NotImplementedError

    def _prepare(self, y_true, y_pred):
        return y_true, y_pred

    def _counts(self, y_true, y_pred, sample_weight=None):
        y_pred = _o.cast(_o.convert_to_tensor(y_pred), self.dtype)
        y_true = _o.convert_to_tensor(y_true)
        y_true, y_pred = self._prepare(y_true, y_pred)
        label = _o.cast(_o.not_equal(_o.cast(y_true, self.dtype), 0.0), self.dtype)
        label = _o.broadcast_to(label, list(y_pred.shape)) if label.shape != y_pred.shape else label
        if sample_weight is None:
            w = _o.ones_like(y_pred)
        else:
            w = _o.cast(_o.convert_to_tensor(sample_weight), self.dtype)
            while len(w.shape) < len(y_pred.shape):
                w = _o.expand_dims(w, -1)
            w = _o.broadcast_to(w, list(y_pred.shape))
        pred, label, w = (_o.reshape(t, [1, -1]) for t in (y_pred, label, w))
        thr = _o.reshape(_o.constant(self._thresholds, dtype=self.dtype), [-1, 1])
        pos = _o.cast(pred > thr, self.dtype)
        neg = 1.0 - pos
        counts = {"true_positives": pos * label, "false_positives": pos * (1.0 - label),
                  "false_negatives": neg * label, "true_negatives": neg * (1.0 - label)}
        return {k: _o.reduce_sum(counts[k] * w, axis=1) for k in self._counts_kept}

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds a batch of examples."""
        for key, value in self._counts(y_true, y_pred, sample_weight).items():
            getattr(self, key).assign_add(value, read_value=False)

    def _result(self, counts):
        raise NotImplementedError

    def result(self):
        return self._result({k: getattr(self, k).value() for k in self._counts_kept})

    def _batch_value(self, y_true, y_pred):
        return self._result(self._counts(y_true, y_pred))

    def reset_state(self):
        for key in self._counts_kept:
            getattr(self, key).assign([0.0] * len(self._thresholds), read_value=False)


class Precision(_Confusion):
    """``true_positives / (true_positives + false_positives)``, a prediction being positive
    above ``thresholds`` (0.5 by default; a list gives one value per threshold); with
    ``top_k`` only the ``k`` largest predictions of a row can be positive, with ``class_id``
    only that class is counted.

    >>> import rstf as tf
    >>> m = tf.keras.metrics.Precision()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    >>> round(float(m.result()), 4)
    0.6667
    """

    _what = "true_positives", "false_positives"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        default = 0.5 if top_k is None else -1e10
        self.thresholds = thresholds
        ts = [default] if thresholds is None else (list(thresholds) if isinstance(thresholds, (list, tuple))
                                                   else [thresholds])
        for t in ts:
            if not 0.0 <= t <= 1.0 and not (thresholds is None and top_k is not None):
                raise ValueError(f"Threshold values must be in [0, 1]. Received: {thresholds}")
        self._single = not isinstance(thresholds, (list, tuple))
        self.__dict__["_counts_kept"] = self._what
        super().__init__(ts, name=name, dtype=dtype)
        self.top_k, self.class_id = top_k, class_id

    def _prepare(self, y_true, y_pred):
        if self.top_k is not None:
            k = self.top_k
            # the k largest of each row stay (those with fewer than k larger), the others -inf
            larger = _o.cast(_o.expand_dims(y_pred, -2) > _o.expand_dims(y_pred, -1), "float32")
            keep = _o.reduce_sum(larger, axis=-1) < float(k)
            y_pred = _o.where(keep, y_pred, _o.fill(list(y_pred.shape), -1e10))
        if self.class_id is not None:
            y_true = y_true[..., self.class_id]
            y_pred = y_pred[..., self.class_id]
        return y_true, y_pred

    def _result(self, counts):
        tp, other = counts[self._what[0]], counts[self._what[1]]
        value = _div_no_nan(tp, tp + other)
        return value[0] if self._single else value


class Recall(Precision):
    """``true_positives / (true_positives + false_negatives)``; arguments as :class:`Precision`.

    >>> import rstf as tf
    >>> m = tf.keras.metrics.Recall()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    >>> round(float(m.result()), 4)
    0.6667
    """

    _what = "true_positives", "false_negatives"


class AUC(_Confusion):
    """Area under the ROC (or PR) curve, from confusion counts at ``num_thresholds`` evenly
    spaced thresholds (``0 - 1e-7``, ``1 / (n - 1)``, ..., ``1 + 1e-7``), summed with Keras'
    interpolation (or ``'minoring'``/``'majoring'`` Riemann sums).

    >>> import rstf as tf
    >>> m = tf.keras.metrics.AUC(num_thresholds=3)
    >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    >>> round(float(m.result()), 4)
    0.75
    """

    _counts_kept = ("true_positives", "false_positives", "true_negatives", "false_negatives")

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None,
                 dtype=None, thresholds=None, multi_label=False, num_labels=None, label_weights=None,
                 from_logits=False):
        curve = str(curve).upper()
        if curve not in ("ROC", "PR"):
            raise ValueError(f'Invalid `curve` argument value "{curve}". Expected one of: ["ROC", "PR"]')
        summation_method = str(summation_method).lower()
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f'Invalid `summation_method` argument value "{summation_method}". Expected one '
                             'of: '
                             '["interpolation", "minoring", "majoring"]')
        if multi_label:
            raise NotImplementedError("AUC: multi_label=True is not supported in rstf")
        if thresholds is not None:
            ts = sorted(float(t) for t in thresholds)
            ts = [0.0 - _EPSILON, *ts, 1.0 + _EPSILON]
            num_thresholds = len(ts)
        else:
            if num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. Received: "
                                 f"num_thresholds={num_thresholds}")
            ts = [0.0 - _EPSILON] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            ts.append(1.0 + _EPSILON)
        super().__init__(ts, name=name, dtype=dtype)
        self.num_thresholds, self.curve, self.summation_method = num_thresholds, curve, summation_method
        self.from_logits = from_logits

    @property
    def thresholds(self):
        return list(self._thresholds)

    def _prepare(self, y_true, y_pred):
        if self.from_logits:
            y_pred = _o.sigmoid(y_pred)
        return y_true, y_pred

    def _result(self, c):
        n = self.num_thresholds
        tp, fp, tn, fn = c["true_positives"], c["false_positives"], c["true_negatives"], c["false_negatives"]
        if self.curve == "PR" and self.summation_method == "interpolation":
            dtp = tp[: n - 1] - tp[1:]
            p = tp + fp
            dp = p[: n - 1] - p[1:]
            slope = _div_no_nan(dtp, _o.maximum(dp, 0.0))
            intercept = tp[1:] - slope * p[1:]
            both = _o.logical_and(p[: n - 1] > 0, p[1:] > 0)
            ratio = _o.where(both, _div_no_nan(p[: n - 1], _o.maximum(p[1:], 0.0)), _o.ones_like(p[1:]))
            inc = _div_no_nan(slope * (dtp + intercept * _o.log(ratio)), _o.maximum(tp[1:] + fn[1:], 0.0))
            return _o.reduce_sum(inc)
        recall = _div_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _div_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _div_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[: n - 1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = _o.minimum(y[: n - 1], y[1:])
        else:
            heights = _o.maximum(y[: n - 1], y[1:])
        return _o.reduce_sum((x[: n - 1] - x[1:]) * heights)


class F1Score(Metric):
    """The F1 score (harmonic mean of precision and recall) per class of one-hot labels:
    ``average`` None (one value per class), ``'micro'``, ``'macro'`` or ``'weighted'``; a
    prediction is positive above ``threshold``, or where it is its row's largest when
    ``threshold`` is None.

    >>> import numpy as np, rstf as tf
    >>> m = tf.keras.metrics.F1Score(threshold=0.5)
    >>> m.update_state(np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], np.int32),
    ...                np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]], np.float32))
    >>> np.round(m.result().numpy(), 4)
    array([0.5   , 0.8   , 0.6667], dtype=float32)
    """

    _beta = 1.0

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        Module.__init__(self, name=name)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', "
                             f"'weighted'}}. Received: average={average}")
        if threshold is not None and (not isinstance(threshold, float) or not 0.0 < threshold <= 1.0):
            raise ValueError("Invalid `threshold` argument value. It should be a Python float in the range "
                             f"]0, 1]. Received: threshold={threshold}")
        self.dtype = dtype or "float32"
        self.average, self.threshold = average, threshold
        self._axis = None if average == "micro" else 0
        self._built = False

    def _values(self, y_true, y_pred):
        raise NotImplementedError

    def _build(self, num_classes):
        shape = [] if self.average == "micro" else [num_classes]
        for key in ("true_positives", "false_positives", "false_negatives", "intermediate_weights"):
            setattr(self, key, Variable(_o.zeros(shape, self.dtype), trainable=False, name=key))
        self._built = True

    def _counts(self, y_true, y_pred, sample_weight=None):
        y_pred = _o.cast(_o.convert_to_tensor(y_pred), self.dtype)
        y_true = _o.cast(_o.convert_to_tensor(y_true), self.dtype)
        if len(y_pred.shape) != 2 or len(y_true.shape) != 2:
            raise ValueError(f"F1Score expects 2D inputs with shape (batch_size, output_dim). Received input "
                             f"shapes: y_pred.shape={tuple(y_pred.shape)} and "
                             f"y_true.shape={tuple(y_true.shape)}.")
        if self.threshold is None:
            top = _o.reduce_max(y_pred, axis=-1, keepdims=True)
            y_pred = _o.cast(_o.equal(y_pred, top), self.dtype)
        else:
            y_pred = _o.cast(y_pred > self.threshold, self.dtype)

        def wsum(v):
            if sample_weight is not None:
                v = v * _o.expand_dims(_o.cast(_o.convert_to_tensor(sample_weight), self.dtype), 1)
            return _o.reduce_sum(v, axis=self._axis)

        return {"true_positives": wsum(y_pred * y_true), "false_positives": wsum(y_pred * (1.0 - y_true)),
                "false_negatives": wsum((1.0 - y_pred) * y_true), "intermediate_weights": wsum(y_true)}

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds a batch of examples."""
        counts = self._counts(y_true, y_pred, sample_weight)
        if not self._built:
            self._build(int(_o.convert_to_tensor(y_pred).shape[-1]))
        for key, value in counts.items():
            getattr(self, key).assign_add(value, read_value=False)

    def _result(self, c):
        tp, fp, fn, iw = (c[k] for k in ("true_positives", "false_positives", "false_negatives",
                                         "intermediate_weights"))
        precision = tp / (tp + fp + _EPSILON)
        recall = tp / (tp + fn + _EPSILON)
        b2 = self._beta ** 2
        f1 = _div_no_nan(precision * recall, b2 * precision + recall) * (1.0 + b2)
        if self.average == "weighted":
            return _o.reduce_sum(f1 * _div_no_nan(iw, _o.reduce_sum(iw)))
        if self.average is not None:
            return _o.reduce_mean(f1)
        return f1

    def result(self):
        if not self._built:
            return _o.zeros([], self.dtype)
        keys = ("true_positives", "false_positives", "false_negatives", "intermediate_weights")
        return self._result({k: getattr(self, k).value() for k in keys})

    def _batch_value(self, y_true, y_pred):
        return self._result(self._counts(y_true, y_pred))

    def reset_state(self):
        if self._built:
            for key in ("true_positives", "false_positives", "false_negatives", "intermediate_weights"):
                v = getattr(self, key)
                v.assign(_o.zeros(list(v.shape), self.dtype), read_value=False)


_BY_NAME.update({
    "precision": Precision, "recall": Recall, "auc": AUC,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "root_mean_squared_error": RootMeanSquaredError, "f1_score": F1Score,
})
__all__ += ["RootMeanSquaredError", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "Precision",
            "Recall", "AUC", "F1Score"]
