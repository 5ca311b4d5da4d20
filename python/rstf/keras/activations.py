"""Activation functions by name (``rstf.keras.activations``)."""

from __future__ import annotations

from .. import _ops as _o
from .. import nn


def linear(x):
    return x


_BY_NAME = {
    "linear": linear,
    "relu": nn.relu,
    "relu6": nn.relu6,
    "sigmoid": nn.sigmoid,
    "tanh": nn.tanh,
    "softmax": nn.softmax,
    "softplus": nn.softplus,
    "elu": nn.elu,
    "gelu": nn.gelu,
    "leaky_relu": nn.leaky_relu,
    "exponential": _o.exp,
}


def get(identifier):
    """The activation for a name, a callable, or None (linear)."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    raise ValueError(f"Unknown activation function: {identifier!r}. Known: {sorted(_BY_NAME)}")


def serialize(fn) -> str:
    for k, v in _BY_NAME.items():
        if v is fn:
            return k
    return getattr(fn, "__name__", "custom")
