"""Shared hypothesis strategies, layouts and numpy references for the rstf tests.

Tensors are compared with numpy: a strategy draws a numpy array, and :func:`tensor_pairs` turns
it into an rstf tensor holding the same values, either dense or as a non-contiguous view
(transposed, strided with negative steps, broadcast, reversed), so that every kernel is also
run on strided inputs.
"""

from __future__ import annotations

import math

import hypothesis.strategies as st
import numpy as np
from hypothesis import settings
from hypothesis.extra import numpy as hnp

import rstf as tf

FAST = settings(max_examples=25, deadline=None)

TF_DTYPES = {
    "float16": tf.float16,
    "bfloat16": tf.bfloat16,
    "float32": tf.float32,
    "float64": tf.float64,
    "int8": tf.int8,
    "int32": tf.int32,
    "int64": tf.int64,
    "uint8": tf.uint8,
    "bool": tf.bool,
}

# numpy's type of `.numpy()` for each dtype (numpy has no bfloat16: float32 comes back).
NP_DTYPES = {
    "float16": np.float16,
    "bfloat16": np.float32,
    "float32": np.float32,
    "float64": np.float64,
    "int8": np.int8,
    "int32": np.int32,
    "int64": np.int64,
    "uint8": np.uint8,
    "bool": np.bool_,
}

FLOATS = ["float32", "float64", "float16", "bfloat16"]
FULL_FLOATS = ["float32", "float64"]
INTS = ["int32", "int64"]
NUMERIC = FULL_FLOATS + INTS

# (rtol, atol) for results of float computations, per dtype.
TOL = {
    "float16": (2e-3, 1e-4),
    "bfloat16": (1e-2, 1e-3),
    "float32": (1e-5, 1e-6),
    "float64": (1e-12, 1e-13),
}

LAYOUTS = ["dense", "transpose", "strided", "broadcast", "reverse"]


# ----------------------------------------------------------------------------- rounding

def bf16_round(a) -> np.ndarray:
    """Rounds to the nearest bfloat16 (ties to even), returned as float32 (normal range only)."""
    a = np.asarray(a, dtype=np.float64)
    m, e = np.frexp(a)
    r = np.ldexp(np.rint(m * 256.0) / 256.0, e)
    return r.astype(np.float32)


def round_to(a, dtype: str) -> np.ndarray:
    """The values of ``a`` as stored in a tensor of ``dtype`` (as ``.numpy()`` returns them)."""
    if dtype == "bfloat16":
        return bf16_round(a)
    return np.asarray(a).astype(NP_DTYPES[dtype])


# ----------------------------------------------------------------------------- strategies

def shapes(min_dims=0, max_dims=4, min_side=0, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def elements(dtype: str, lo=-10.0, hi=10.0, nonzero=False, halves=False):
    """Scalars of ``dtype`` in ``[lo, hi]`` (as Python numbers)."""
    if dtype == "bool":
        return st.booleans()
    if dtype in INTS or dtype in ("int8", "uint8"):
        s = st.integers(int(math.ceil(lo)), int(math.floor(hi)))
        return s.filter(lambda v: v != 0) if nonzero else s
    s = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    if halves:
        # Ties (x.5), integers and repeated values: interesting for round, comparisons, argmax.
        s = st.one_of(s, st.integers(int(2 * lo), int(2 * hi)).map(lambda i: i / 2.0))
    if nonzero:
        s = s.filter(lambda v: abs(v) >= 1e-2)
    return s


@st.composite
def arrays(draw, dtype: str, shape=None, lo=-10.0, hi=10.0, nonzero=False, halves=False):
    """A numpy array of the values a tensor of ``dtype`` can hold exactly."""
    if shape is None:
        shape = draw(shapes())
    if dtype == "bool":
        a = draw(hnp.arrays(np.bool_, shape, elements=st.booleans()))
        return a
    if dtype in INTS or dtype in ("int8", "uint8"):
        a = draw(hnp.arrays(np.int64, shape, elements=elements(dtype, lo, hi, nonzero)))
        return a.astype(NP_DTYPES[dtype])
    a = draw(hnp.arrays(np.float64, shape, elements=elements(dtype, lo, hi, nonzero, halves)))
    r = round_to(a, dtype)
    if nonzero:
        # Rounding to a narrow type must not create zeros either.
        r = np.where(r == 0, np.asarray(1, dtype=r.dtype), r)
    return r


def _strided_slices(ndim: int):
    """Slices taking every other element, alternately forwards and backwards."""
    return tuple(slice(1, None, 2) if i % 2 == 0 else slice(None, 0, -2) for i in range(ndim))


def make_tensor(a: np.ndarray, dtype: str, layout: str = "dense", mask=None):
    """A tensor of ``dtype`` with the values of ``a``, built with ``layout``.

    Returns ``(tensor, values)``: for ``"broadcast"`` the values are replaced by a broadcast
    of a part of ``a`` (along the axes where ``mask`` is true), the others keep ``a``.
    """
    d = TF_DTYPES[dtype]
    if a.ndim == 0 or layout == "dense":
        return tf.constant(a, dtype=d), a
    if layout == "transpose":
        t = tf.transpose(tf.constant(np.ascontiguousarray(np.transpose(a)), dtype=d))
        return t, a
    if layout == "strided":
        sl = _strided_slices(a.ndim)
        big = np.full([2 * n + 1 for n in a.shape], 99, dtype=a.dtype)
        big[sl] = a
        return tf.constant(big, dtype=d)[sl], a
    if layout == "reverse":
        axes = list(range(a.ndim))
        return tf.reverse(tf.constant(np.ascontiguousarray(np.flip(a)), dtype=d), axes), a
    if layout == "broadcast":
        if mask is None:
            mask = [True] * a.ndim
        small = a
        for ax, m in enumerate(mask):
            if m and a.shape[ax] > 0:
                small = np.take(small, [0], axis=ax)
        if mask[0] and small.shape[0] == 1:
            small = small[0]
        values = np.broadcast_to(small, a.shape)
        return tf.broadcast_to(tf.constant(np.ascontiguousarray(small), dtype=d), list(a.shape)), values
    raise ValueError(layout)


@st.composite
def tensor_pairs(draw, dtype: str, shape=None, layouts=LAYOUTS, **kw):
    """``(tensor, numpy values)`` with a drawn layout."""
    a = draw(arrays(dtype, shape, **kw))
    layout = draw(st.sampled_from(layouts))
    mask = draw(st.lists(st.booleans(), min_size=a.ndim, max_size=a.ndim)) if a.ndim else None
    return make_tensor(a, dtype, layout, mask)


# ----------------------------------------------------------------------------- checks

def check_exact(t, expected, dtype=None):
    """``t`` is a tensor equal to ``expected`` in shape, values and (numpy) dtype."""
    assert isinstance(t, tf.Tensor), type(t)
    expected = np.asarray(expected)
    if dtype is not None:
        assert t.dtype == TF_DTYPES[dtype], (t.dtype, dtype)
        expected = expected.astype(NP_DTYPES[dtype])
    got = t.numpy()
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    np.testing.assert_array_equal(got, expected)


def check_close(t, expected, dtype: str, rtol=None, atol=None):
    """``t`` has ``dtype`` and the shape of ``expected``, and values within the dtype's tolerance."""
    assert isinstance(t, tf.Tensor), type(t)
    assert t.dtype == TF_DTYPES[dtype], (t.dtype, dtype)
    r, a = TOL[dtype]
    rtol = r if rtol is None else rtol
    atol = a if atol is None else atol
    got = t.numpy()
    expected = np.asarray(expected)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == NP_DTYPES[dtype], got.dtype
    np.testing.assert_allclose(got.astype(np.float64), expected.astype(np.float64), rtol=rtol, atol=atol,
                               equal_nan=True)
