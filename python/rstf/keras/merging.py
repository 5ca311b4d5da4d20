"""Merge layers (``rstf.keras.layers.Add``, ``Concatenate``, ``Dot``, ...): layers called on a
list of tensors, for skip connections and multi-input models in the functional API.

>>> import numpy as np, rstf as tf
>>> inputs = tf.keras.Input(shape=(4,))
>>> h = tf.keras.layers.Dense(4)(inputs)
>>> outputs = tf.keras.layers.Add()([inputs, h])
>>> model = tf.keras.Model(inputs, outputs)
>>> model(np.ones((2, 4), "float32")).shape
TensorShape([2, 4])
"""

from __future__ import annotations

import copy

from .. import _ops as _o
from .base_layer import Layer

__all__ = ["Merge", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
           "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"]


def _shape(x):
    return tuple(int(d) for d in x.shape)


def _elemwise_shape(shape1, shape2):
    """The broadcast shape of two shapes without the batch dimension (Keras' rule)."""
    if len(shape1) < len(shape2):
        return _elemwise_shape(shape2, shape1)
    if not shape2:
        return shape1
    out = list(shape1[: -len(shape2)])
    for i, j in zip(shape1[-len(shape2):], shape2):
        if i == 1:
            out.append(j)
        elif j == 1 or i == j:
            out.append(i)
        else:
            raise ValueError(f"Inputs have incompatible shapes. Received shapes {shape1} and {shape2}")
    return tuple(out)


class Merge(Layer):
    """The base of the elementwise merge layers: checks the list of inputs, brings inputs of
    lower rank up (new axes after the batch one), then merges with ``_merge_function``."""

    def _merge_function(self, inputs):
        raise NotImplementedError

    def _check(self, shapes):
        if len(shapes) < 1:
            raise ValueError("A merge layer should be called on a list of at least 1 input. "
                             f"Received {len(shapes)} inputs. Full input_shape received: {shapes}")
        if len({s[0] for s in shapes if s}) > 1:
            raise ValueError(f"Cannot merge tensors with different batch sizes. Received tensors with shapes "
                             f"{shapes}")
        out = shapes[0][1:]
        for s in shapes[1:]:
            out = _elemwise_shape(out, s[1:])

    def _as_list(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            shape = tuple(getattr(inputs, "shape", ()))
            raise ValueError("A merge layer should be called on a list of inputs. "
                             f"Received: input_shape={shape} (not a list of shapes)")
        return [_o.convert_to_tensor(x) for x in inputs]

    def call(self, inputs):
        xs = self._as_list(inputs)
        self._check([_shape(x) for x in xs])
        ranks = [len(x.shape) for x in xs]
        top = max(ranks)
        if len(set(ranks)) > 1:
            grown = []
            for x in xs:
                for _ in range(top - len(x.shape)):
                    x = _o.expand_dims(x, 1)
                grown.append(x)
            xs = grown
        return self._merge_function(xs)


class Add(Merge):
    """The elementwise sum of the inputs.

    >>> import rstf as tf
    >>> tf.keras.layers.Add()([tf.constant([[1.0, 2.0]]), tf.constant([[10.0, 20.0]])]).numpy()
    array([[11., 22.]], dtype=float32)
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Subtract(Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs).

    >>> import rstf as tf
    >>> tf.keras.layers.Subtract()([tf.constant([5.0]), tf.constant([2.0])]).numpy()
    array([3.], dtype=float32)
    """

    def _check(self, shapes):
        super()._check(shapes)
        if len(shapes) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. Received: "
                             f"input_shape={shapes}")

    def _merge_function(self, inputs):
        return inputs[0] - inputs[1]


class Multiply(Merge):
    """The elementwise product of the inputs.

    >>> import rstf as tf
    >>> tf.keras.layers.Multiply()([tf.constant([2.0, 3.0]), tf.constant([4.0, 5.0])]).numpy()
    array([ 8., 15.], dtype=float32)
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out


class Average(Merge):
    """The elementwise mean of the inputs.

    >>> import rstf as tf
    >>> tf.keras.layers.Average()([tf.constant([1.0]), tf.constant([4.0])]).numpy()
    array([2.5], dtype=float32)
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out / float(len(inputs))


class Maximum(Merge):
    """The elementwise maximum of the inputs.

    >>> import rstf as tf
    >>> tf.keras.layers.Maximum()([tf.constant([1.0, 5.0]), tf.constant([3.0, 2.0])]).numpy()
    array([3., 5.], dtype=float32)
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = _o.maximum(out, x)
        return out


class Minimum(Merge):
    """The elementwise minimum of the inputs.

    >>> import rstf as tf
    >>> tf.keras.layers.Minimum()([tf.constant([1.0, 5.0]), tf.constant([3.0, 2.0])]).numpy()
    array([1., 2.], dtype=float32)
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = _o.minimum(out, x)
        return out


class Concatenate(Merge):
    """The inputs joined along ``axis`` (their other dimensions must match).

    >>> import rstf as tf
    >>> tf.keras.layers.Concatenate()([tf.ones([2, 1]), tf.zeros([2, 2])]).numpy()
    array([[1., 0., 0.],
           [1., 0., 0.]], dtype=float32)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def _check(self, shapes):
        # Keras' check, quirks included.
        if len(shapes) < 1:
            raise ValueError(f"A `Concatenate` layer should be called on a list of at least 1 input. "
                             f"Received: input_shape={shapes}")
        reduced = [list(s) for s in shapes]
        snapshot = copy.copy(reduced)
        seen = set()
        for i in range(len(snapshot)):
            concat_axis = self.axis % len(snapshot[i])
            for axis, value in enumerate(snapshot, start=1):
                if axis != concat_axis and value == 1:
                    del reduced[i][axis]
            if len(reduced[i]) > self.axis:
                del reduced[i][self.axis]
            seen.add(tuple(reduced[i]))
        if len(seen) != 1:
            msg = ("A `Concatenate` layer requires inputs with matching shapes except for the concatenation "
                   f"axis. Received: input_shape={shapes}")
            ranks = {len(s) for s in seen}
            if len(ranks) != 1:
                raise ValueError(msg)
            for axis in range(ranks.pop()):
                if len({s[axis] for s in seen if s[axis] is not None}) > 1:
                    raise ValueError(msg)

    def call(self, inputs):
        xs = self._as_list(inputs)
        self._check([_shape(x) for x in xs])
        return _o.concat(xs, axis=self.axis)


def _normalize(x, axis):
    """``x / max(||x||, 1e-7)`` along ``axis`` (Keras' ``ops.normalize``)."""
    inv = _o.rsqrt(_o.reduce_sum(_o.square(x), axis=axis, keepdims=True))
    return x * _o.minimum(inv, 1e7)


def batch_dot(x, y, axes):
    """Keras' ``batch_dot``: per example, the dot product of ``x`` and ``y`` over
    ``axes = (axis of x, axis of y)``; a rank-2 input gives an output of one dimension less."""
    xs, ys = _shape(x), _shape(y)
    xn, yn = len(xs), len(ys)
    if xn < 2 or yn < 2:
        raise ValueError(f"Cannot do batch_dot on inputs with rank < 2. Received inputs with shapes {xs} "
                         f"and {ys}.")
    if xs[0] != ys[0]:
        raise ValueError(f"Cannot do batch_dot on inputs with different batch sizes. Received inputs with "
                         f"shapes {xs} and {ys}.")
    a0, a1 = list(axes)
    a0, a1 = a0 % xn, a1 % yn
    if 0 in (a0, a1):
        raise ValueError("Cannot perform batch_dot over axis 0. If your inputs are not batched, add a dummy "
                         "batch dimension to your inputs using keras.ops.expand_dims(x, 0)")
    if xs[a0] != ys[a1]:
        raise ValueError(f"Cannot do batch_dot on inputs with shapes {xs} and {ys} with axes={[a0, a1]}. "
                         f"x.shape[{a0}] != y.shape[{a1}] ({xs[a0]} != {ys[a1]}).")
    # x: (batch, rest of x..., k); y: (batch, k, rest of y...)
    xt = _o.transpose(x, [i for i in range(xn) if i != a0] + [a0])
    yt = _o.transpose(y, [0, a1] + [i for i in range(1, yn) if i != a1])
    x_mid = [xs[i] for i in range(1, xn) if i != a0]
    y_rest = [ys[i] for i in range(1, yn) if i != a1]
    k = xs[a0]
    x3 = _o.reshape(xt, [xs[0], -1, k])
    y3 = _o.reshape(yt, [ys[0], k, -1])
    out = _o.matmul(x3, y3)
    shape = [xs[0], *x_mid, *y_rest]
    if len(shape) == 1:
        shape.append(1)
    return _o.reshape(out, shape)


class Dot(Merge):
    """The dot product of two inputs per example, over ``axes`` (an int, or one axis for each
    input); with ``normalize=True`` the inputs are L2-normalised first (cosine similarity).

    >>> import numpy as np, rstf as tf
    >>> x = np.arange(10, dtype="float32").reshape(1, 5, 2)
    >>> y = np.arange(10, 20, dtype="float32").reshape(1, 2, 5)
    >>> tf.keras.layers.Dot(axes=(1, 2))([x, y]).numpy()
    array([[[260., 360.],
            [320., 445.]]], dtype=float32)
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(f"Invalid type for argument `axes`: it should be a list or an int. Received: "
                                f"axes={axes}")
            if len(axes) != 2:
                raise ValueError(f"Invalid format for argument `axes`: it should contain two elements. "
                                 f"Received: axes={axes}")
            if not isinstance(axes[0], int) or not isinstance(axes[1], int):
                raise ValueError(f"Invalid format for argument `axes`: list elements should be integers. "
                                 f"Received: axes={axes}")
        self.axes = axes
        self.normalize = normalize

    def call(self, inputs):
        xs = self._as_list(inputs)
        shapes = [_shape(x) for x in xs]
        if len(xs) != 2:
            raise ValueError("A `Dot` layer should be called on a list of 2 inputs. Received: "
                             f"input_shape={shapes}")
        x1, x2 = xs
        if isinstance(self.axes, int):
            axes = ([self.axes % len(x1.shape), self.axes % len(x2.shape)] if self.axes < 0
                    else [self.axes] * 2)
        else:
            axes = [a % len(x.shape) if a < 0 else a for a, x in zip(self.axes, xs)]
        if shapes[0][axes[0]] != shapes[1][axes[1]]:
            raise ValueError(f"Incompatible input shapes: axis values {shapes[0][axes[0]]} (at axis "
                             f"{axes[0]}) != "
                             f"{shapes[1][axes[1]]} (at axis {axes[1]}). Full input shapes: {shapes[0]}, "
                             f"{shapes[1]}")
        if self.normalize:
            x1, x2 = _normalize(x1, axes[0]), _normalize(x2, axes[1])
        return batch_dot(x1, x2, axes)


def add(inputs, **kwargs):
    """The functional form of :class:`Add`."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """The functional form of :class:`Subtract`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """The functional form of :class:`Multiply`."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """The functional form of :class:`Average`."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """The functional form of :class:`Maximum`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """The functional form of :class:`Minimum`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """The functional form of :class:`Concatenate`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """The functional form of :class:`Dot`."""
    return Dot(axes=axes, **kwargs)(inputs)
