"""The functional API: ``Input`` gives symbolic tensors, calling layers on them records a graph
of layer calls, and ``Model(inputs, outputs)`` runs that graph (:mod:`rstf.keras.serialization`
writes it in a model's config).

>>> import numpy as np, rstf as tf
>>> inputs = tf.keras.Input(shape=(3,))
>>> h = tf.keras.layers.Dense(4, activation="relu")(inputs)
>>> outputs = tf.keras.layers.Dense(1)(h)
>>> model = tf.keras.Model(inputs=inputs, outputs=outputs)
>>> outputs.shape
TensorShape([None, 1])
>>> model(np.ones((2, 3), "float32")).shape
TensorShape([2, 1])
"""

from __future__ import annotations

import itertools

from .. import _ops as _o
from .. import nest
from .._shape import TensorShape
from ..dtypes import as_dtype

_COUNTER = itertools.count()


class KerasTensor:
    """A symbolic tensor: the shape (``None`` for the batch), the dtype, and the layer call that
    produces it (none for an ``Input``)."""

    def __init__(self, shape, dtype="float32", node=None, index=0, name=None):
        self.shape = TensorShape(tuple(shape))
        self.dtype = as_dtype(dtype)
        self._node = node
        self._index = index
        self.name = name
        self._input_layer = None

    def __repr__(self):
        return f"<KerasTensor shape={tuple(self.shape)}, dtype={self.dtype.name}, name={self.name}>"

    def _placeholder(self):
        """Zeros standing in for the tensor (unknown dimensions are 1)."""
        dims = [1 if d is None else d for d in tuple(self.shape)]
        return _o.zeros(dims, self.dtype.name)

    def __bool__(self):
        raise TypeError("A symbolic KerasTensor has no value; call the Model on data instead")


class _Node:
    """One layer call on symbolic tensors."""

    def __init__(self, layer, args, kwargs):
        self.id = next(_COUNTER)
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.outputs = []


def is_symbolic(inputs, args=(), kwargs=None) -> bool:
    """True when a layer call's arguments hold a KerasTensor."""
    if isinstance(inputs, KerasTensor):
        return True
    if not isinstance(inputs, (list, tuple, dict)) and not args and not kwargs:
        return False
    items = nest.flatten([inputs, list(args), dict(kwargs or {})])
    return any(isinstance(x, KerasTensor) for x in items)


def _replace(structure, fn):
    return nest.map_structure(lambda x: fn(x) if isinstance(x, KerasTensor) else x, structure)


def call_symbolic(layer, inputs, args, kwargs):
    """Records ``layer(inputs, *args, **kwargs)`` and returns its symbolic outputs. The layer runs
    once on placeholders, which builds it and gives the output shapes."""
    node = _Node(layer, (inputs, tuple(args)), dict(kwargs))
    real = _replace((inputs, tuple(args), dict(kwargs)), KerasTensor._placeholder)
    kw = dict(real[2])
    kw.setdefault("training", False)
    out = layer(real[0], *real[1], **kw)
    batch_unknown = any(
        len(t.shape) and tuple(t.shape)[0] is None
        for t in nest.flatten(inputs) if isinstance(t, KerasTensor))

    def symbolic(t):
        shape = list(t.shape)
        if batch_unknown and shape:
            shape[0] = None
        kt = KerasTensor(shape, t.dtype.name, node, len(node.outputs), name=layer.name)
        node.outputs.append(kt)
        return kt

    return nest.map_structure(symbolic, out)


def Input(shape=None, batch_size=None, dtype=None, name=None, **kwargs):  # noqa: N802 (Keras' name)
    """A symbolic input of ``shape`` (without the batch dimension), for ``Model(inputs, outputs)``;
    as the first entry of a ``Sequential`` it declares the model's input."""
    from .layers import InputLayer  # at call time: layers imports this module

    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name, **kwargs)
    kt = KerasTensor((batch_size, *layer.shape), dtype or "float32", name=layer.name)
    kt._input_layer = layer
    layer.__dict__["_output_shape"] = tuple(kt.shape)
    return kt


class Graph:
    """The layer calls between ``inputs`` and ``outputs``, in the order they were made."""

    def __init__(self, inputs, outputs):
        self.inputs = inputs
        self.outputs = outputs
        flat_in = [t for t in nest.flatten(inputs)]
        for t in flat_in + nest.flatten(outputs):
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model: inputs and outputs must be symbolic tensors from "
                                f"keras.Input and layer calls, got {type(t).__name__}")
        if any(t._node is not None for t in flat_in):
            raise ValueError("Model: inputs must come from keras.Input")
        self.flat_inputs = flat_in
        nodes, seen, stack = {}, set(), list(nest.flatten(outputs))
        while stack:
            t = stack.pop()
            if id(t) in seen:
                continue
            seen.add(id(t))
            if t._node is None:
                if not any(t is i for i in flat_in):
                    raise ValueError(f"Graph disconnected: the output depends on input {t.name!r}, "
                                     "which is not among the model's inputs")
                continue
            nodes[t._node.id] = t._node
            parents = nest.flatten([t._node.args, t._node.kwargs])
            stack.extend(x for x in parents if isinstance(x, KerasTensor))
        self.nodes = [nodes[k] for k in sorted(nodes)]
        self.layers = []
        for n in self.nodes:
            if not any(n.layer is m for m in self.layers):
                self.layers.append(n.layer)

    def run(self, inputs, training=None):
        """The outputs for concrete ``inputs`` (structured as the model's inputs)."""
        if isinstance(self.inputs, dict):
            inputs = [inputs[k] for k in self.inputs]
        flat = nest.flatten(inputs) if isinstance(inputs, (list, tuple, dict)) else [inputs]
        if len(flat) != len(self.flat_inputs):
            raise ValueError(f"Model: expected {len(self.flat_inputs)} inputs, got {len(flat)}")
        values = {id(k): _o.convert_to_tensor(v, dtype=k.dtype.name if not hasattr(v, "dtype") else None)
                  for k, v in zip(self.flat_inputs, flat)}
        for n in self.nodes:
            args, rest, kwargs = _replace((n.args[0], n.args[1], n.kwargs), lambda t: values[id(t)])
            if training is not None and "training" not in kwargs:
                kwargs = dict(kwargs, training=training)
            out = n.layer(args, *rest, **kwargs)
            for kt, v in zip(n.outputs, nest.flatten(out)):
                values[id(kt)] = v
        return _replace(self.outputs, lambda t: values[id(t)])
