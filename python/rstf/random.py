"""Random numbers with TensorFlow's seeding rules (``rstf.random``).

A global seed (:func:`set_seed`) makes the sequence of random ops reproducible; an op seed
alone also gives reproducible results; with neither, results differ between runs. Calling an
op twice with the same seeds gives different numbers, as in TensorFlow's eager mode.

>>> import rstf as tf
>>> tf.random.set_seed(1); a = tf.random.normal([3])
>>> tf.random.set_seed(1); b = tf.random.normal([3])
>>> bool(tf.reduce_all(a == b))
True
"""

from __future__ import annotations

import os

from . import _rstf
from ._ops import _shape_list
from .dtypes import as_dtype
from .dtypes import float32 as _float32

__all__ = ["set_seed", "normal", "uniform", "truncated_normal"]

_DEFAULT_GLOBAL_SEED = 87654321
_state = {"global": None, "op_counter": 0, "calls": {}}


def set_seed(seed) -> None:
    """Sets the global seed; resets the sequence of op seeds derived from it."""
    _state["global"] = None if seed is None else int(seed)
    _state["op_counter"] = 0
    _state["calls"] = {}


def _seed(op_seed) -> int:
    g = _state["global"]
    if g is None and op_seed is None:
        return int.from_bytes(os.urandom(8), "little")
    if op_seed is None:
        _state["op_counter"] += 1
        op_seed = _state["op_counter"]
    if g is None:
        g = _DEFAULT_GLOBAL_SEED
    key = (g, int(op_seed))
    n = _state["calls"].get(key, 0)
    _state["calls"][key] = n + 1
    h = (g * 0x9E3779B97F4A7C15 + int(op_seed) * 0xBF58476D1CE4E5B9 + n * 0x94D049BB133111EB)
    return h & 0xFFFFFFFFFFFFFFFF


def _float_dtype(dtype, mean):
    """A floating-point dtype; TensorFlow's normal distributions refuse others as a TypeError
    (the mean cannot be converted to them)."""
    dt = as_dtype(dtype)
    if not dt.is_floating:
        raise TypeError(f"Cannot convert {mean!r} to EagerTensor of dtype {dt.name}: the normal "
                        "distribution needs a floating-point dtype")
    return dt


def normal(shape, mean=0.0, stddev=1.0, dtype=_float32, seed=None, name=None):
    """Normal random numbers; callable as an initializer ``f(shape, dtype=...)``."""
    dt = _float_dtype(dtype, mean)
    return _rstf.random_normal(_shape_list(shape, "RandomStandardNormal", "T", strict=True),
                               float(mean), float(stddev), dt.name, _seed(seed))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=_float32, seed=None, name=None):
    """Normal random numbers redrawn until within two standard deviations of the mean."""
    import numpy as np

    dt = _float_dtype(dtype, mean)
    dims = _shape_list(shape, "TruncatedNormal", "T", strict=True)
    z = np.asarray(_rstf.random_normal(dims, 0.0, 1.0, "float64", _seed(seed)))
    bad = np.abs(z) > 2.0
    while bad.any():
        fresh = np.asarray(_rstf.random_normal([int(bad.sum())], 0.0, 1.0, "float64", _seed(None)))
        z[bad] = fresh
        bad = np.abs(z) > 2.0
    return _rstf.cast(_rstf.constant(z * float(stddev) + float(mean)), dt.name)


def uniform(shape, minval=0, maxval=None, dtype=_float32, seed=None, name=None):
    """Uniform random numbers in ``[minval, maxval)`` (``maxval`` defaults to 1 for floats)."""
    dt = as_dtype(dtype)
    if dt.name not in ("float16", "bfloat16", "float32", "float64", "int32", "int64"):
        raise ValueError(f"Argument `dtype` got invalid value {dt!r}. Accepted dtypes are (float16, "
                         "bfloat16, float32, float64, int32, int64).")
    if maxval is None:
        if not dt.is_floating:
            raise ValueError("uniform: maxval must be given for integer dtypes")
        maxval = 1.0
    dims = _shape_list(shape, "RandomUniform", "T", strict=True)
    return _rstf.random_uniform(dims, float(minval), float(maxval), dt.name, _seed(seed))
