"""Weight initializers by name or as classes (``rstf.keras.initializers``)."""

from __future__ import annotations

import abc
import math

from .. import _ops as _o
from .. import random as _random


def _fans(shape):
    shape = list(shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer(abc.ABC):
    """Base class: subclasses return the initial value for ``shape``."""

    @abc.abstractmethod
    def __call__(self, shape, dtype=None, **kwargs):
        """The initial value, a tensor of ``shape`` and ``dtype``."""


class Zeros(Initializer):
    def __call__(self, shape, dtype="float32", **kwargs):
        return _o.zeros(shape, dtype or "float32")


class Ones(Initializer):
    def __call__(self, shape, dtype="float32", **kwargs):
        return _o.ones(shape, dtype or "float32")


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype="float32", **kwargs):
        return _o.fill(shape, _o.cast(self.value, dtype or "float32"))


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype="float32", **kwargs):
        return _random.normal(shape, self.mean, self.stddev, dtype or "float32", seed=self.seed)


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype="float32", **kwargs):
        return _random.uniform(shape, self.minval, self.maxval, dtype or "float32", seed=self.seed)


class GlorotUniform(Initializer):
    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype="float32", **kwargs):
        fan_in, fan_out = _fans(shape)
        limit = math.sqrt(6.0 / max(1, fan_in + fan_out))
        return _random.uniform(shape, -limit, limit, dtype or "float32", seed=self.seed)


class GlorotNormal(Initializer):
    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype="float32", **kwargs):
        fan_in, fan_out = _fans(shape)
        std = math.sqrt(2.0 / max(1, fan_in + fan_out))
        return _random.truncated_normal(shape, 0.0, std, dtype or "float32", seed=self.seed)


class HeNormal(Initializer):
    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype="float32", **kwargs):
        fan_in, _ = _fans(shape)
        return _random.truncated_normal(shape, 0.0, math.sqrt(2.0 / max(1, fan_in)), dtype or "float32",
                                        seed=self.seed)


class HeUniform(Initializer):
    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype="float32", **kwargs):
        fan_in, _ = _fans(shape)
        limit = math.sqrt(6.0 / max(1, fan_in))
        return _random.uniform(shape, -limit, limit, dtype or "float32", seed=self.seed)


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix, as Keras: the QR factor of a normal matrix, times ``gain``;
    shapes of rank above 2 are flattened to ``[prod(shape[:-1]), shape[-1]]``."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype="float32", **kwargs):
        import numpy as np

        shape = [int(d) for d in shape]
        if len(shape) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={tuple(shape)} of rank {len(shape)}.")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = _random.normal([max(rows, cols), min(rows, cols)], seed=self.seed).numpy().astype("float64")
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        value = _o.convert_to_tensor((self.gain * q).reshape(shape).astype("float32"))
        return _o.cast(value, dtype or "float32")


_BY_NAME = {
    "orthogonal": Orthogonal,
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
    "random_uniform": RandomUniform, "uniform": RandomUniform, "normal": RandomNormal,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_normal": HeNormal, "he_uniform": HeUniform,
}


def get(identifier):
    """An initializer for a name, an Initializer, or any callable ``f(shape, dtype=...)``."""
    if identifier is None:
        return Zeros()
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME:
            raise ValueError(f"Unknown initializer: {identifier!r}. Known: {sorted(_BY_NAME)}")
        return _BY_NAME[key]()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")
