"""Preprocessing layers: ``Normalization`` (statistics from ``adapt`` or given), ``Rescaling``
and ``CategoryEncoding``.

>>> import numpy as np, rstf as tf
>>> layer = tf.keras.layers.Normalization()
>>> layer.adapt(np.array([[0.0, 10.0], [2.0, 30.0]], "float32"))
>>> layer(np.array([[1.0, 20.0]], "float32")).numpy()
array([[0., 0.]], dtype=float32)
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .. import _ops as _o
from .. import data as _data
from .base_layer import Layer

__all__ = ["Normalization", "Rescaling", "CategoryEncoding"]

_EPSILON = 1e-7  # keras.backend.epsilon()


def _first(batch):
    return batch[0] if isinstance(batch, tuple) else batch


class Normalization(Layer):
    """``(x - mean) / sqrt(variance)`` per position along ``axis`` (the features: the last
    axis by default; ``None`` for one mean and variance over everything), with the
    statistics given as ``mean`` and ``variance`` or computed by ``adapt``; ``invert=True``
    maps normalised values back.

    >>> import rstf as tf
    >>> layer = tf.keras.layers.Normalization(mean=3.0, variance=4.0)
    >>> layer(tf.constant([[1.0], [5.0]])).numpy()
    array([[-1.],
           [ 1.]], dtype=float32)
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int):
            axis = (axis,)
        else:
            axis = tuple(axis)
        self.axis = axis
        self.input_mean, self.input_variance = mean, variance
        self.invert = invert
        self.mean = self.variance = None
        if (mean is not None) != (variance is not None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be set. "
                             f"Received: mean={mean} and variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError("When setting values directly, `mean` and `variance` must have the same "
                                 "shape. "
                                 f"Received: mean shape {np.shape(mean)} and variance shape "
                                 f"{np.shape(variance)}")
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(f"The rank of `mean` must be less than or equal to the number of axes "
                                 f"({len(self.axis)}). Received: mean shape {np.shape(mean)} for axis "
                                 f"{self.axis}")

    def build(self, input_shape):
        if input_shape is None:
            return
        input_shape = tuple(None if d is None else int(d) for d in input_shape)
        ndim = len(input_shape)
        self.__dict__["_build_shape"] = input_shape
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError("All `axis` values must be in the range [-ndim, ndim). Received inputs with "
                             f"ndim={ndim}, while axis={self.axis}")
        self._keep_axis = tuple(sorted(d % ndim for d in self.axis))
        for d in self._keep_axis:
            if input_shape[d] is None:
                raise ValueError("All `axis` values to be kept must have a known shape. Received "
                                 f"axis={self.axis}, "
                                 f"inputs.shape={input_shape}, with unknown axis at index {d}")
        self._reduce_axis = tuple(d for d in range(ndim) if d not in self._keep_axis)
        self._broadcast_shape = [input_shape[d] if d in self._keep_axis else 1 for d in range(ndim)]
        self._stat_shape = [input_shape[d] for d in self._keep_axis]
        if self.input_mean is None:
            self.adapt_mean = self.add_weight("mean", self._stat_shape, initializer="zeros", trainable=False)
            self.adapt_variance = self.add_weight("variance", self._stat_shape, initializer="ones",
                                                  trainable=False)
            self.count = self.add_weight("count", [], dtype="int64", initializer="zeros", trainable=False)
            self.built = True
            self.finalize_state()
        else:
            mean = np.asarray(self.input_mean, "float64")
            variance = np.asarray(self.input_variance, "float64")
            if mean.ndim:
                expanded = [1] * ndim
                for i in range(1, mean.ndim + 1):
                    expanded[self._keep_axis[-i]] = mean.shape[-i]
                mean, variance = mean.reshape(expanded), variance.reshape(expanded)
            shape = [1 if d is None else d for d in self._broadcast_shape]
            self.mean = _o.constant(np.broadcast_to(mean, shape).astype(self._dtype))
            self.variance = _o.constant(np.broadcast_to(variance, shape).astype(self._dtype))
            self.built = True

    def finalize_state(self):
        """Reads the adapted statistics into the layer (``adapt`` calls it)."""
        if self.input_mean is not None or not self.built:
            return
        self.mean = _o.reshape(self.adapt_mean, self._broadcast_shape)
        self.variance = _o.reshape(self.adapt_variance, self._broadcast_shape)

    def adapt(self, data):
        """Computes the mean and variance of ``data`` (an array, a tensor, a Dataset of batches
        (of ``(x, y)`` pairs too: ``x`` is used) or an iterable of batches) per position along
        ``axis``, merged across batches as Keras does."""
        if isinstance(data, _data.Dataset):
            spec = _first(data.element_spec)
            if len(spec.shape) == 1:
                data = data.batch(128)
                spec = _first(data.element_spec)
            input_shape, batches = tuple(spec.shape), data
        elif isinstance(data, np.ndarray) or hasattr(data, "numpy"):
            input_shape, batches = tuple(data.shape), None
        elif hasattr(data, "__iter__"):
            it = iter(data)
            first = next(it, None)
            if first is None:
                raise ValueError("adapt() received an empty iterable (no batches). Expected at least one "
                                 "batch. "
                                 "Pass a non-empty iterable of arrays or tensors, e.g. layer.adapt([x]) or "
                                 "layer.adapt(list_of_batches).")
            first = _first(first)
            input_shape, batches = tuple(np.shape(first)), itertools.chain([first], it)
        else:
            raise TypeError(f"Unsupported data type: {type(data)}. `adapt` supports `np.ndarray`, backend "
                            "tensors, "
                            "`tf.data.Dataset`, `keras.utils.PyDataset`, and iterables of batches (e.g. "
                            "list, "
                            "generator).")
        if not self.built:
            self.build(input_shape)
        else:
            for d in self._keep_axis:
                if input_shape[d] != self._build_shape[d]:
                    raise ValueError(f"The layer was built with input_shape={self._build_shape}, but "
                                     "adapt() is being "
                                     f"called with data with an incompatible shape, data.shape={input_shape}")
        if self.input_mean is not None:
            return
        if batches is None:
            x = np.asarray(data, "float64")
            mean, var = x.mean(axis=self._reduce_axis), x.var(axis=self._reduce_axis)
        else:
            mean = np.zeros(self._stat_shape)
            var = np.zeros(self._stat_shape)
            total = 0
            for batch in batches:
                b = np.asarray(_first(batch), "float64")
                bm, bv = b.mean(axis=self._reduce_axis), b.var(axis=self._reduce_axis)
                n = math.prod(b.shape[d] for d in self._reduce_axis) if self._reduce_axis else 1
                total += n
                w = n / total
                new_mean = mean * (1 - w) + bm * w
                var = (var + (mean - new_mean) ** 2) * (1 - w) + (bv + (bm - new_mean) ** 2) * w
                mean = new_mean
        self.adapt_mean.assign(np.asarray(mean, self._dtype).reshape(self._stat_shape))
        self.adapt_variance.assign(np.asarray(var, self._dtype).reshape(self._stat_shape))
        self.finalize_state()

    def call(self, inputs):
        x = _o.cast(_o.convert_to_tensor(inputs), self._dtype)
        if self.mean is None:
            raise ValueError("You must call `.build(input_shape)` on the layer before using it.")
        std = _o.maximum(_o.sqrt(self.variance), _EPSILON)
        if self.invert:
            return self.mean + x * std
        return (x - self.mean) / std


class Rescaling(Layer):
    """``inputs * scale + offset``, in the layer's dtype (float32: images of ``uint8`` too).

    >>> import numpy as np, rstf as tf
    >>> tf.keras.layers.Rescaling(1.0 / 255)(np.array([[0, 255]], "uint8")).numpy()
    array([[0., 1.]], dtype=float32)
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def call(self, inputs):
        x = _o.cast(_o.convert_to_tensor(inputs), self._dtype)
        scale = _o.cast(_o.convert_to_tensor(self.scale), self._dtype)
        offset = _o.cast(_o.convert_to_tensor(self.offset), self._dtype)
        return x * scale + offset


class CategoryEncoding(Layer):
    """Integer categories in ``[0, num_tokens)`` as vectors: ``'one_hot'`` (one vector per
    value), ``'multi_hot'`` (one vector per sample, 1 where a value occurs) or ``'count'``
    (how often each value occurs, optionally weighted by ``count_weights``). Values outside
    the range are ignored.

    >>> import rstf as tf
    >>> layer = tf.keras.layers.CategoryEncoding(num_tokens=4, output_mode="count")
    >>> layer([[0, 1], [0, 0], [1, 2], [3, 1]]).numpy()
    array([[1., 1., 0., 0.],
           [2., 0., 0., 0.],
           [0., 1., 1., 0.],
           [0., 1., 0., 1.]], dtype=float32)
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in ("count", "one_hot", "multi_hot"):
            raise ValueError(f"Unknown arg for output_mode: {output_mode}")
        if num_tokens is None:
            raise ValueError("num_tokens must be set to use this layer. If the number of tokens is not known "
                             "beforehand, use the IntegerLookup layer instead.")
        if num_tokens < 1:
            raise ValueError(f"`num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        if sparse:
            raise NotImplementedError("CategoryEncoding: sparse outputs are not supported in rstf")
        self.num_tokens, self.output_mode, self.sparse = num_tokens, output_mode, sparse

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError("`count_weights` is not used when `output_mode` is not `'count'`. Received "
                             f"`count_weights={count_weights}`.")
        x = _o.convert_to_tensor(inputs)
        if not x.dtype.is_integer:
            x = _o.cast(x, "int64")
        if len(x.shape) == 0:
            x = _o.expand_dims(x, -1)
        if self.output_mode == "one_hot":
            if len(x.shape) > 1 and x.shape[-1] == 1:
                x = _o.squeeze(x, axis=-1)
            return _o.one_hot(x, self.num_tokens, dtype=self._dtype)
        axis = 1 if len(x.shape) > 1 else 0
        hot = _o.one_hot(x, self.num_tokens, dtype=self._dtype)
        if self.output_mode == "multi_hot":
            return _o.reduce_max(hot, axis=axis)
        if count_weights is not None:
            w = _o.cast(_o.convert_to_tensor(count_weights), self._dtype)
            hot = hot * _o.expand_dims(w, -1)
        return _o.reduce_sum(hot, axis=axis)
