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

import numpy as np

from . import _args, _rstf
from . import _ops as _o
from ._ops import _shape_list
from .dtypes import as_dtype
from .dtypes import float32 as _float32
from .errors import InvalidArgumentError

__all__ = ["set_seed", "normal", "uniform", "truncated_normal", "shuffle", "categorical", "stateless_uniform",
           "stateless_normal", "stateless_truncated_normal", "stateless_categorical", "gamma", "poisson"]
_MASK = 0xFFFFFFFFFFFFFFFF

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
    z = np.array(_rstf.random_normal(dims, 0.0, 1.0, "float64", _seed(seed)))
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


# ----------------------------------------------------------------------------- stateless ops

def _mix(words) -> int:
    """A 64-bit key from the seed's words (splitmix64 over each)."""
    h = 0x6A09E667F3BCC908
    for w in words:
        h = (h ^ (int(w) & _MASK)) * 0xBF58476D1CE4E5B9 & _MASK
        h ^= h >> 31
        h = h * 0x94D049BB133111EB & _MASK
        h ^= h >> 29
    return h


class _GeneratorState:
    """A ``tf.random.Generator``'s state (three words) passed where a seed pair goes."""

    def __init__(self, t):
        self.t = t


def _seed_pair(seed) -> _rstf.Tensor:
    if isinstance(seed, _GeneratorState):
        return seed.t
    s = _o.convert_to_tensor(seed)
    if not s.dtype.is_integer:
        raise _args.attr_error("StatelessRandomGetKeyCounter", "Tseed", s.dtype.name)
    if list(s.shape) != [2]:
        raise InvalidArgumentError("StatelessRandomGetKeyCounter: seed must have shape [2], not "
                                   f"[{','.join(str(d) for d in s.shape)}]")
    return s


def _stateless(name, seed, draw):
    """``draw(key)``, a tensor made from a 64-bit key that the seed determines; inside a
    traced function with a traced seed, a graph node that draws on each run."""
    s = _seed_pair(seed)

    def run(t):
        return [draw(_mix(np.asarray(t).reshape(-1)))]

    if not _rstf.is_tracing():
        return run(s)[0]
    depth = _rstf.trace_suspend()
    try:
        outs = run(s)
    finally:
        _rstf.trace_resume(depth)
    return _rstf.trace_callback(name, run, [s], outs)[0] if _rstf.is_symbolic(s) else outs[0]


def _stateful(name, seed, draw, inputs=()):
    """``draw(key, *inputs)`` with the key of the op seed rules; inside a traced function, a
    graph node that draws new numbers on each run."""
    base = _seed(seed)
    inputs = [_o.convert_to_tensor(x) for x in inputs]
    if not _rstf.is_tracing():
        return draw(base, *inputs)
    runs = [0]

    def run(*ts):
        runs[0] += 1
        return [draw(_mix([base, runs[0]]), *ts)]

    depth = _rstf.trace_suspend()
    try:
        outs = [draw(base, *inputs)]
    finally:
        _rstf.trace_resume(depth)
    return _rstf.trace_callback(name, run, inputs, outs)[0]


_UNIFORM_DTYPES = ("float16", "bfloat16", "float32", "float64", "int32", "int64")


def _uniform_draw(dims, minval, maxval, dt):
    if dt.name not in _UNIFORM_DTYPES:
        raise ValueError(f"Argument `dtype` got invalid value {dt!r}. Accepted dtypes are (tf.float16, "
                         "tf.bfloat16, tf.float32, tf.float64, tf.int32, tf.int64).")
    if dt.is_integer and (minval is None) != (maxval is None):
        raise ValueError(f"For integer `dtype` argument {dt!r}, argument `minval` and `maxval` must be both "
                         f"None or not None. Got `minval`={minval} and `maxval`={maxval}.")
    if dt.is_integer and maxval is None:
        return lambda key: _full_int(dims, dt, key)
    lo, hi = float(minval if minval is not None else 0), float(1.0 if maxval is None else maxval)
    if dt.is_integer and hi <= lo:
        raise InvalidArgumentError(f"StatelessRandomUniformInt: Need minval < maxval, got {lo} >= {hi}")
    return lambda key: _rstf.random_uniform(dims, lo, hi, dt.name, key)


def _full_int(dims, dt, key):
    hi = np.asarray(_rstf.random_uniform(dims, -2.0**31, 2.0**31, "int64", key))
    if dt.name == "int32":
        return _rstf.constant(hi.astype(np.int32), None, None)
    lo = np.asarray(_rstf.random_uniform(dims, 0.0, 2.0**32, "int64", _mix([key, 1])))
    return _rstf.constant((hi << 32) | lo, None, None)


def stateless_uniform(shape, seed, minval=0, maxval=None, dtype=_float32, name=None, alg="auto_select"):
    """Uniform numbers in ``[minval, maxval)`` that depend only on ``seed`` (two integers);
    integer dtypes need both bounds, or neither for the full range.

    >>> import rstf as tf
    >>> a = tf.random.stateless_uniform([3], seed=[1, 2])
    >>> bool(tf.reduce_all(a == tf.random.stateless_uniform([3], seed=[1, 2])))
    True
    """
    dt = as_dtype(dtype)
    draw = _uniform_draw(_shape_list(shape, "StatelessRandomUniform", "T", strict=True), minval, maxval, dt)
    return _stateless("StatelessRandomUniformV2", seed, draw)


def stateless_normal(shape, seed, mean=0.0, stddev=1.0, dtype=_float32, name=None, alg="auto_select"):
    """Normal numbers that depend only on ``seed`` (two integers).

    >>> import rstf as tf
    >>> tf.random.stateless_normal([2, 3], seed=[7, 0]).shape
    TensorShape([2, 3])
    """
    dt = _float_dtype(dtype, mean)
    dims = _shape_list(shape, "StatelessRandomNormal", "T", strict=True)
    m, s = float(mean), float(stddev)
    return _stateless("StatelessRandomNormalV2", seed,
                      lambda key: _rstf.random_normal(dims, m, s, dt.name, key))


def _truncated(dims, key):
    z = np.array(_rstf.random_normal(dims, 0.0, 1.0, "float64", key))
    bad, i = np.abs(z) > 2.0, 0
    while bad.any():
        i += 1
        z[bad] = np.asarray(_rstf.random_normal([int(bad.sum())], 0.0, 1.0, "float64", _mix([key, i])))
        bad = np.abs(z) > 2.0
    return z


def stateless_truncated_normal(shape, seed, mean=0.0, stddev=1.0, dtype=_float32, name=None,
                               alg="auto_select"):
    """Normal numbers within two standard deviations of the mean, depending only on ``seed``.

    >>> import rstf as tf
    >>> bool(tf.reduce_all(tf.abs(tf.random.stateless_truncated_normal([100], seed=[1, 1])) <= 2.0))
    True
    """
    dt = _float_dtype(dtype, mean)
    dims = _shape_list(shape, "StatelessTruncatedNormal", "T", strict=True)
    m, s = float(mean), float(stddev)
    return _stateless("StatelessTruncatedNormalV2", seed,
                      lambda key: _rstf.cast(_rstf.constant(_truncated(dims, key) * s + m), dt.name))


# ----------------------------------------------------------------------------- sampling

def _categorical(logits, num_samples, dtype, uniform):
    lg = _o.convert_to_tensor(logits)
    dt = as_dtype("int64" if dtype is None else dtype)
    if dt.name not in ("int32", "int64"):
        raise ValueError(f"Argument `dtype` got invalid value {dt!r}. Accepted dtypes are (tf.int32, "
                         "tf.int64).")
    if not lg.dtype.is_floating:
        raise _args.attr_error("Multinomial", "T", lg.dtype.name, "half, bfloat16, float, double")
    if lg.ndim != 2:
        raise InvalidArgumentError(f"Multinomial: logits should be a matrix, got shape "
                                   f"[{','.join(str(d) for d in lg.shape)}]")
    n = _args.count(num_samples, "Multinomial", "num_samples")
    b, c = lg.shape
    if c == 0 and b * n:
        raise InvalidArgumentError("Multinomial: num_classes should be positive, got 0")
    # The Gumbel-max trick: argmax(logits + Gumbel noise) is distributed as softmax(logits).
    u = uniform([b, n, c])
    x = _o.cast(lg, "float64")
    gumbel = -_o.log(-_o.log(u))
    return _o.cast(_o.argmax(_rstf.expand_dims(x, 1) + gumbel, axis=-1), dt)


def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """``num_samples`` class indices per row of ``logits`` (unnormalised log-probabilities,
    ``[batch, classes]``), int64 unless ``dtype`` is int32.

    >>> import rstf as tf
    >>> tf.random.categorical(tf.math.log([[0.0, 1.0]]), 4, seed=1).numpy()
    array([[1, 1, 1, 1]])
    """
    return _categorical(logits, num_samples, dtype,
                        lambda dims: _rstf.random_uniform(dims, 0.0, 1.0, "float64", _seed(seed)))


def stateless_categorical(logits, num_samples, seed, dtype="int64", name=None):
    """:func:`categorical` with numbers that depend only on ``seed`` (two integers).

    >>> import rstf as tf
    >>> tf.random.stateless_categorical([[0.0, 0.0]], 3, seed=[1, 2]).shape
    TensorShape([1, 3])
    """
    return _categorical(logits, num_samples, dtype, lambda dims: _stateless(
        "StatelessRandomUniformV2", seed, lambda key: _rstf.random_uniform(dims, 0.0, 1.0, "float64", key)))


def shuffle(value, seed=None, name=None):
    """``value`` with its first dimension randomly permuted (op seeds as :func:`normal`).

    >>> import rstf as tf
    >>> sorted(tf.random.shuffle([1, 2, 3, 4]).numpy().tolist())
    [1, 2, 3, 4]
    """
    v = _o.convert_to_tensor(value)
    if v.ndim == 0:
        return v

    def perm(key, t):
        u = np.asarray(_rstf.random_uniform([t.shape[0]], 0.0, 1.0, "float64", key))
        return _rstf.constant(np.argsort(u, kind="stable").astype(np.int64), None, None)

    return _rstf.gather(v, _stateful("RandomShuffle", seed, perm, [v]), 0)


def gamma(shape, alpha, beta=None, dtype=_float32, seed=None, name=None):
    """Gamma-distributed numbers of shape ``shape + broadcast(alpha, beta).shape`` (``beta``
    is the rate, default 1). Drawn on the host; no gradient.

    >>> import rstf as tf
    >>> tf.random.gamma([10], [0.5, 1.5], seed=1).shape
    TensorShape([10, 2])
    """
    dt = as_dtype(dtype)
    if not dt.is_floating:
        raise ValueError(f"data type {dt!r} not inexact: gamma needs a floating-point dtype")
    dims = _shape_list(shape, "RandomGamma", "T", strict=True)
    b = 1.0 if beta is None else beta

    def draw(key, a, r):
        a, r = np.asarray(a, np.float64), np.asarray(r, np.float64)
        a, r = np.broadcast_arrays(a, r)
        g = np.random.default_rng(key).standard_gamma(a, size=tuple(dims) + a.shape) / r
        return _rstf.cast(_rstf.constant(g), dt.name)

    return _stateful("RandomGamma", seed, draw, [_o.convert_to_tensor(alpha), _o.convert_to_tensor(b)])


def poisson(shape, lam, dtype=_float32, seed=None, name=None):
    """Poisson-distributed counts of shape ``shape + lam.shape``, as ``dtype``. Drawn on the
    host.

    >>> import rstf as tf
    >>> tf.random.poisson([3], [1.0, 5.0], dtype=tf.int32, seed=1).shape
    TensorShape([3, 2])
    """
    dt = as_dtype(dtype)
    if dt.name not in ("float16", "float32", "float64", "int32", "int64"):
        raise ValueError(f"poisson: dtype {dt!r} is not one of float16, float32, float64, int32, int64")
    dims = _shape_list(shape, "RandomPoissonV2", "T", strict=True)

    def draw(key, lam_t):
        lv = np.asarray(lam_t, np.float64)
        return _rstf.cast(_rstf.constant(np.random.default_rng(key).poisson(lv, size=tuple(dims) + lv.shape)),
                          dt.name)

    return _stateful("RandomPoissonV2", seed, draw, [_o.convert_to_tensor(lam)])
