"""Reductions, argmax/argmin, matmul, softmax and the nn activations against numpy.

Now and then the drawn shapes are above the CPU kernels' parallel thresholds (helpers.BIG_SHAPES),
and float inputs include NaN, +-inf, -0.0 and subnormals where numpy's reference gives IEEE
754's answer for them.
"""

from __future__ import annotations

import math

import hypothesis.strategies as st
import numpy as np
import pytest
from helpers import (
    FAST,
    INTS,
    NP_DTYPES,
    TF_DTYPES,
    TOL,
    big_shape,
    broadcast_shapes,
    check_close,
    check_exact,
    draw_tensor,
    on_gpu,
    round_to,
)
from hypothesis import assume, given

import rstf as tf

# Every test here runs once per device (see conftest.py).
pytestmark = pytest.mark.usefixtures("on_device")

_erf = np.vectorize(math.erf, otypes=[np.float64])


def draw_axes(draw, ndim):
    """An ``axis`` argument: None, an int, or a list of distinct axes (negative ones too)."""
    kind = draw(st.sampled_from(["none", "int", "list"] if ndim else ["none", "list"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim)) if ndim else []
    return [a - ndim if draw(st.booleans()) else a for a in axes]


def norm_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = [axis] if isinstance(axis, int) else axis
    return tuple(sorted(a % ndim for a in axes))


REDUCE = {
    "sum": tf.reduce_sum,
    "prod": tf.reduce_prod,
    "max": tf.reduce_max,
    "min": tf.reduce_min,
    "mean": tf.reduce_mean,
}


def reduce_ref(name, a, axes, keepdims, dtype):
    """numpy's reduction with TensorFlow's conventions (identities for empty max/min, int wrap)."""
    if name in ("max", "min"):
        if dtype in INTS:
            info = np.iinfo(a.dtype)
            init = info.min if name == "max" else info.max
        else:
            init = -np.inf if name == "max" else np.inf
        f = np.max if name == "max" else np.min
        return f(a, axis=axes, keepdims=keepdims, initial=init)
    if dtype in INTS:
        if name == "sum":
            return np.sum(a, axis=axes, keepdims=keepdims, dtype=a.dtype)
        if name == "prod":
            return np.prod(a, axis=axes, keepdims=keepdims, dtype=a.dtype)
        # Integer mean truncates toward zero.
        s = np.sum(a, axis=axes, keepdims=keepdims, dtype=np.int64)
        n = int(np.prod([a.shape[i] for i in axes]))
        return (np.sign(s) * (np.abs(s) // n)).astype(a.dtype)
    x = a.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if name == "sum":
            return np.sum(x, axis=axes, keepdims=keepdims)
        if name == "prod":
            return np.prod(x, axis=axes, keepdims=keepdims)
        n = int(np.prod([a.shape[i] for i in axes]))
        return np.sum(x, axis=axes, keepdims=keepdims) / np.float64(n)  # 0 / 0 is NaN


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "float16", "bfloat16"])
@pytest.mark.parametrize("name", sorted(REDUCE))
@FAST
@given(data=st.data())
def test_reductions(name, dtype, data):
    lo, hi = (-1.2, 1.2) if name == "prod" and dtype not in INTS else (-100, 100)
    # (No infinities in products: whether inf meets a partial product that underflowed to 0,
    # giving NaN, depends on the order and the precision of the multiplications.)
    t, a = draw_tensor(data.draw, dtype, lo=lo, hi=hi, big=True, ieee=name != "prod")
    axis = draw_axes(data.draw, a.ndim)
    keepdims = data.draw(st.booleans())
    axes = norm_axes(axis, a.ndim)
    n = int(np.prod([a.shape[i] for i in axes]))
    if name == "mean" and dtype in INTS:
        assume(n > 0)  # an integer mean over nothing divides by zero
    expected = reduce_ref(name, a, axes, keepdims, dtype)
    r = REDUCE[name](t, axis=axis, keepdims=keepdims)
    if dtype in INTS or name in ("max", "min"):
        check_exact(r, round_to(expected, dtype), dtype)
    else:
        rtol, atol = TOL[dtype]
        if name in ("sum", "mean"):
            # Allow for the rounding of partial sums: relative to the sum of magnitudes (of the
            # finite values: a sum with NaN or inf must equal numpy's exactly).
            finite = np.where(np.isfinite(a), np.abs(a.astype(np.float64)), 0.0)
            mag = np.sum(finite, axis=axes, keepdims=keepdims)
            atol = float(np.max(mag, initial=0.0)) * (rtol if dtype != "float64" else 1e-13)
            if name == "mean" and n:
                atol /= n
        if name == "prod":
            rtol = rtol * 10
        check_close(r, expected, dtype, rtol=rtol, atol=atol + TOL[dtype][1])


@pytest.mark.parametrize("name", ["any", "all"])
@FAST
@given(data=st.data())
def test_reduce_any_all(name, data):
    t, a = draw_tensor(data.draw, "bool", big=True)
    axis = draw_axes(data.draw, a.ndim)
    keepdims = data.draw(st.booleans())
    axes = norm_axes(axis, a.ndim)
    fn, ref = (tf.reduce_any, np.any) if name == "any" else (tf.reduce_all, np.all)
    check_exact(fn(t, axis=axis, keepdims=keepdims), ref(a, axis=axes, keepdims=keepdims), "bool")


def test_reduce_examples():
    x = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    check_exact(tf.reduce_sum(x), 21.0, "float32")
    check_exact(tf.reduce_sum(x, axis=0), [5.0, 7.0, 9.0], "float32")
    check_exact(tf.reduce_sum(x, axis=-1, keepdims=True), [[6.0], [15.0]], "float32")
    check_exact(tf.reduce_mean(x, axis=[0, 1]), 3.5, "float32")
    check_exact(tf.reduce_max(x, axis=[-1]), [3.0, 6.0], "float32")
    check_exact(tf.reduce_prod(x, axis=1), [6.0, 120.0], "float32")
    check_exact(tf.reduce_mean(tf.constant([1, 2, 2])), 1, "int32")
    check_exact(tf.reduce_mean(tf.constant([-1, -2, -2])), -1, "int32")
    check_exact(tf.reduce_sum(x, axis=[]), x.numpy(), "float32")
    check_exact(tf.reduce_any(tf.constant([[False, True], [False, False]]), axis=1), [True, False], "bool")
    check_exact(tf.reduce_all(tf.constant(np.zeros(0, dtype=bool))), True, "bool")
    check_exact(tf.reduce_any(tf.constant(np.zeros(0, dtype=bool))), False, "bool")
    check_exact(tf.reduce_max(tf.zeros([0, 2])), -np.inf, "float32")
    check_exact(tf.reduce_sum([1, 2, 3]), 6, "int32")
    check_exact(tf.math.reduce_sum(tf.constant([1, 2, 3]), axis=tf.constant(0)), 6, "int32")


@pytest.mark.parametrize("dtype", ["float32", "int32", "float16"])
def test_reduce_leading_axes_of_empty_tensor(dtype):
    x = tf.zeros([0, 3], dtype=TF_DTYPES[dtype])
    check_exact(tf.reduce_sum(x, axis=0), [0, 0, 0], dtype)
    check_exact(tf.reduce_prod(x, axis=[0]), [1, 1, 1], dtype)
    check_exact(tf.reduce_mean(tf.zeros([0, 2]), axis=0), [np.nan, np.nan], "float32")
    check_exact(tf.reduce_max(tf.zeros([0, 2, 1]), axis=[0, 1]), [-np.inf], "float32")
    check_exact(tf.reduce_all(tf.constant(np.zeros((0, 2), dtype=bool)), axis=0), [True, True], "bool")


def test_float16_mean_of_many_values():
    # The sum and the count pass float16's 65504: TensorFlow's half mean sums and divides in float.
    check_exact(tf.reduce_mean(tf.ones([65504], tf.float16)), 1.0, "float16")
    check_exact(tf.reduce_mean(tf.ones([70000], tf.float16)), 1.0, "float16")
    check_exact(tf.reduce_mean(tf.cast(tf.fill([2, 70000], 0.5), tf.float16), axis=1), [0.5, 0.5], "float16")


def test_integer_sums_wrap():
    x = tf.constant([2**31 - 1, 1], dtype=tf.int32)
    check_exact(tf.reduce_sum(x), -(2**31), "int32")
    check_exact(tf.reduce_sum(tf.constant([2**31 - 1, 1], dtype=tf.int64)), 2**31, "int64")


# ----------------------------------------------------------------------------- argmax / argmin


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "float16"])
@pytest.mark.parametrize("name", ["argmax", "argmin"])
@FAST
@given(data=st.data())
def test_argmax_argmin(name, dtype, data):
    shape = data.draw(st.lists(st.integers(0, 4), min_size=1, max_size=4))
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    assume(shape[0 if axis is None else axis] > 0)
    t, a = draw_tensor(data.draw, dtype, shape=shape, lo=-3, hi=3, halves=True)
    fn, ref = (tf.argmax, np.argmax) if name == "argmax" else (tf.argmin, np.argmin)
    r = fn(t) if axis is None else fn(t, axis=axis)
    check_exact(r, ref(a, axis=0 if axis is None else axis), "int64")


def test_argmax_ties_and_output_type():
    x = tf.constant([[1, 5, 5], [7, 7, 0]])
    check_exact(tf.argmax(x, axis=1), [1, 0], "int64")
    check_exact(tf.argmin(x, axis=1), [0, 2], "int64")
    check_exact(tf.argmin(x), [0, 0, 1], "int64")
    check_exact(tf.argmax(x), [1, 1, 0], "int64")
    check_exact(tf.argmax(x, axis=-1, output_type=tf.int32), [1, 0], "int32")
    check_exact(tf.math.argmin(tf.constant([3.0, -1.0, 2.0])), 1, "int64")


# ----------------------------------------------------------------------------- summation accuracy


def _rel(got, ref):
    return abs(float(got) - float(ref)) / abs(float(ref))


def test_reduce_sum_accuracy_million_float32():
    rng = np.random.default_rng(1)
    a = rng.random(1_000_003, dtype=np.float32)
    ref = np.sum(a, dtype=np.float64)
    assert _rel(tf.reduce_sum(tf.constant(a)), ref) < 1e-6
    assert _rel(tf.reduce_mean(tf.constant(a)), ref / a.size) < 1e-6
    # 0.1 is not exact in binary: naive float32 accumulation drifts by about 1%.
    b = np.full(2_000_000, 0.1, dtype=np.float32)
    assert _rel(tf.reduce_sum(tf.constant(b)), np.sum(b, dtype=np.float64)) < 1e-6


def test_reduce_sum_of_ones_past_float32_integer_range():
    # A sequential float32 sum stops growing at 2**24.
    n = 2**24 + 1000
    assert float(tf.reduce_sum(tf.ones([n]))) == n


def test_reduce_sum_accuracy_along_last_axis():
    rng = np.random.default_rng(2)
    a = rng.random((3, 1_000_001), dtype=np.float32)
    got = tf.reduce_sum(tf.constant(a), axis=1).numpy()
    ref = np.sum(a, axis=1, dtype=np.float64)
    assert np.max(np.abs(got - ref) / ref) < 1e-6


def test_reduce_sum_accuracy_along_first_axis():
    rng = np.random.default_rng(3)
    a = rng.random((1_000_001, 3), dtype=np.float32)
    got = tf.reduce_sum(tf.constant(a), axis=0).numpy()
    ref = np.sum(a, axis=0, dtype=np.float64)
    assert np.max(np.abs(got - ref) / ref) < 1e-6


def test_reduce_sum_accuracy_of_strided_view():
    rng = np.random.default_rng(4)
    a = rng.random((1001, 2001), dtype=np.float32)
    t = tf.transpose(tf.constant(a))[::-1]
    ref = np.sum(a, dtype=np.float64)
    assert _rel(tf.reduce_sum(t), ref) < 1e-6
    got = tf.reduce_sum(t, axis=1).numpy()
    assert np.max(np.abs(got - a.sum(axis=0, dtype=np.float64)[::-1]) / got) < 1e-6


# ----------------------------------------------------------------------------- matmul


def draw_matmul_operands(data, dtype, batch=True):
    m, k, n = (data.draw(st.integers(0, 6)) for _ in range(3))
    ta, tb = data.draw(st.booleans()), data.draw(st.booleans())
    ba, bb = broadcast_shapes(data.draw, 2, max_dims=2, max_side=3) if batch else ((), ())
    sa = tuple(ba) + ((k, m) if ta else (m, k))
    sb = tuple(bb) + ((n, k) if tb else (k, n))
    lo, hi = (-10, 10) if dtype in INTS else (-1, 1)
    x, a = draw_tensor(data.draw, dtype, shape=sa, lo=lo, hi=hi)
    y, b = draw_tensor(data.draw, dtype, shape=sb, lo=lo, hi=hi)
    return x, a, y, b, ta, tb, k


def matmul_ref(a, b, ta, tb):
    a = np.swapaxes(a, -1, -2) if ta else a
    b = np.swapaxes(b, -1, -2) if tb else b
    if a.dtype.kind in "iu":
        return np.matmul(a.astype(np.int64), b.astype(np.int64)).astype(a.dtype)
    return np.matmul(a.astype(np.float64), b.astype(np.float64))


def _check_matmul(r, expected, dtype, k):
    if dtype in INTS:
        check_exact(r, expected, dtype)
    else:
        rtol, atol = TOL[dtype]
        check_close(r, expected, dtype, rtol=rtol, atol=atol * (k + 1))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "float16"])
@FAST
@given(data=st.data())
def test_matmul_2d(dtype, data):
    x, a, y, b, ta, tb, k = draw_matmul_operands(data, dtype, batch=False)
    _check_matmul(tf.matmul(x, y, transpose_a=ta, transpose_b=tb), matmul_ref(a, b, ta, tb), dtype, k)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "float16"])
@FAST
@given(data=st.data())
def test_matmul_batched_broadcast(dtype, data):
    x, a, y, b, ta, tb, k = draw_matmul_operands(data, dtype, batch=True)
    _check_matmul(tf.matmul(x, y, transpose_a=ta, transpose_b=tb), matmul_ref(a, b, ta, tb), dtype, k)
    if not ta and not tb:
        _check_matmul(x @ y, matmul_ref(a, b, False, False), dtype, k)


def test_matmul_examples():
    x = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    check_exact(x @ tf.transpose(x), [[14.0, 32.0], [32.0, 77.0]], "float32")
    check_exact(tf.matmul(x, x, transpose_b=True), [[14.0, 32.0], [32.0, 77.0]], "float32")
    check_exact(tf.matmul(x, x, transpose_a=True)[0], [17.0, 22.0, 27.0], "float32")
    check_exact(tf.matmul(x, x, adjoint_b=True), [[14.0, 32.0], [32.0, 77.0]], "float32")
    i = tf.constant([[1, 2], [3, 4]])
    check_exact(i @ i, [[7, 10], [15, 22]], "int32")
    check_exact(tf.matmul(tf.zeros([2, 0]), tf.zeros([0, 3])), np.zeros((2, 3)), "float32")
    check_exact(tf.matmul(tf.ones([5, 2, 3]), tf.ones([3, 4])), np.full((5, 2, 4), 3.0), "float32")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_large(dtype):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((130, 257)).astype(NP_DTYPES[dtype])
    b = rng.standard_normal((257, 71)).astype(NP_DTYPES[dtype])
    ref = a.astype(np.float64) @ b.astype(np.float64)
    tol = 1e-4 if dtype == "float32" else 1e-10
    check_close(tf.matmul(tf.constant(a), tf.constant(b)), ref, dtype, rtol=tol, atol=tol)
    # Transposed operands given as views and as flags give the same product.
    at = tf.constant(np.ascontiguousarray(a.T))
    check_close(tf.matmul(at, tf.constant(b), transpose_a=True), ref, dtype, rtol=tol, atol=tol)
    check_close(tf.transpose(at) @ tf.constant(b), ref, dtype, rtol=tol, atol=tol)
    bb = rng.standard_normal((4, 3, 257, 9)).astype(NP_DTYPES[dtype])
    check_close(tf.matmul(tf.constant(a), tf.constant(bb)), a.astype(np.float64) @ bb, dtype, rtol=tol,
                atol=tol)


# ----------------------------------------------------------------------------- softmax


def softmax_ref(a, axis, log):
    x = a.astype(np.float64)
    if x.size == 0:
        return x
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    z = x - m
    s = np.sum(np.exp(z), axis=axis, keepdims=True)
    return z - np.log(s) if log else np.exp(z) / s


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@FAST
@given(data=st.data())
def test_softmax_every_axis(log, dtype, data):
    shape = big_shape(data.draw) or data.draw(st.lists(st.integers(0, 5), min_size=1, max_size=4))
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    t, a = draw_tensor(data.draw, dtype, shape=shape, lo=-20, hi=20)
    fn = tf.nn.log_softmax if log else tf.nn.softmax
    r = fn(t) if axis is None else fn(t, axis=axis)
    expected = softmax_ref(a, -1 if axis is None else axis, log)
    rtol, atol = TOL[dtype]
    check_close(r, expected, dtype, rtol=rtol, atol=atol * (25 if log else 1))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_huge_logits(dtype):
    d = TF_DTYPES[dtype]
    check_close(tf.nn.softmax(tf.constant([1000.0, 1000.0, 1000.0], dtype=d)), [1 / 3] * 3, dtype)
    check_close(tf.nn.softmax(tf.constant([[1000.0, 0.0], [-1000.0, 0.0]], dtype=d)), [[1, 0], [0, 1]], dtype)
    check_close(tf.nn.log_softmax(tf.constant([1000.0, 0.0], dtype=d)), [0.0, -1000.0], dtype)
    check_close(tf.nn.log_softmax(tf.constant([[1000.0], [1001.0]], dtype=d), axis=0),
                [[-1 - math.log1p(math.exp(-1))], [-math.log1p(math.exp(-1))]], dtype)
    check_close(tf.nn.softmax(tf.constant([-1e30, 1e30], dtype=d)), [0.0, 1.0], dtype)
    check_close(tf.nn.softmax(tf.constant([-np.inf, 0.0, 0.0], dtype=d)), [0.0, 0.5, 0.5], dtype)
    check_close(tf.nn.log_softmax(tf.constant([-np.inf, 0.0], dtype=d)), [-np.inf, 0.0], dtype)


def test_softmax_rows_sum_to_one_large():
    rng = np.random.default_rng(6)
    a = (rng.standard_normal((300, 1000)) * 30).astype(np.float32)
    for axis in (0, 1, -1):
        s = tf.nn.softmax(tf.constant(a), axis=axis)
        np.testing.assert_allclose(np.sum(s.numpy(), axis=axis, dtype=np.float64), 1.0, rtol=1e-5)
        check_close(s, softmax_ref(a, axis, False), "float32", rtol=1e-5, atol=1e-7)
        check_close(tf.nn.log_softmax(tf.constant(a), axis=axis), softmax_ref(a, axis, True), "float32",
                    rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- activations

SQRT_2_OVER_PI = math.sqrt(2 / math.pi)

ACTIVATIONS = {
    "relu": (tf.nn.relu, lambda x: np.maximum(x, 0)),
    "relu6": (tf.nn.relu6, lambda x: np.clip(x, 0, 6)),
    "leaky_relu": (tf.nn.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x)),
    "leaky_relu_0.01": (lambda t: tf.nn.leaky_relu(t, alpha=0.01), lambda x: np.where(x > 0, x, 0.01 * x)),
    "elu": (tf.nn.elu, lambda x: np.where(x > 0, x, np.expm1(x))),
    "gelu": (tf.nn.gelu, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
    "gelu_tanh": (lambda t: tf.nn.gelu(t, approximate=True),
                  lambda x: 0.5 * x * (1 + np.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x**3)))),
    "softplus": (tf.nn.softplus, lambda x: np.logaddexp(0.0, x)),
    "sigmoid": (tf.nn.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    "tanh": (tf.nn.tanh, np.tanh),
}


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@FAST
@given(data=st.data())
def test_activations(name, dtype, data):
    fn, ref = ACTIVATIONS[name]
    # (gelu of -inf: 0.5 * x * (1 + erf(x / sqrt 2)) is -inf * 0, NaN; a kernel may say 0.)
    ieee = not name.startswith("gelu")
    t, a = draw_tensor(data.draw, dtype, lo=-12, hi=12, halves=True, big=True, ieee=ieee)
    with np.errstate(all="ignore"):
        expected = ref(a.astype(np.float64))
    # The composites round each step to float16 (as TensorFlow's do): 1 + erf(x) cancels.
    check_close(fn(t), expected, dtype, atol=2e-3 if dtype == "float16" else None)


def test_activation_extremes():
    x = tf.constant([-1000.0, -100.0, 0.0, 100.0, 1000.0])
    # GPUs flush subnormal float32 results to zero.
    tiny = 1.2e-38 if on_gpu() else 1e-45
    check_close(tf.nn.softplus(x), [0.0, 3.7200760e-44, math.log(2), 100.0, 1000.0], "float32", atol=tiny)
    check_exact(tf.nn.relu6(x), [0, 0, 0, 6, 6], "float32")
    check_exact(tf.nn.elu(x), [-1, -1, 0, 100, 1000], "float32")
    # 0.5 * x * (1 + erf(x / sqrt 2)) for x = -1000 is -500 * 0.0: -0.0.
    check_exact(tf.nn.gelu(x), [-0.0, -0.0, 0.0, 100, 1000], "float32", signed_zeros=True)
    check_exact(tf.nn.sigmoid(x), [0, 0, 0.5, 1, 1], "float32")
    check_exact(tf.nn.relu6(tf.constant([-3, 3, 9])), [0, 3, 6], "int32")
    check_exact(tf.nn.leaky_relu(tf.constant([-2.0, 0.0, 2.0]), alpha=0.5), [-1.0, 0.0, 2.0], "float32")



def _logsumexp64(a, axis=None, keepdims=False):
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    r = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return r if keepdims else np.squeeze(r, axis=axis) if axis is not None else r.reshape(())


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), (-1, False), ((0, 1), True)])
def test_reduce_logsumexp_against_float64(axis, keepdims):
    a = np.random.default_rng(3).normal(size=(4, 5)) * 30
    a[0, :] += 1000  # would overflow a plain exp
    a[1, 2] = -np.inf
    got = tf.reduce_logsumexp(tf.constant(a), axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(got.numpy(), _logsumexp64(a, axis, keepdims), rtol=1e-12)
    assert float(tf.reduce_logsumexp(tf.constant([-np.inf, -np.inf]))) == -np.inf


def test_reduce_logsumexp_gradient_is_softmax():
    a = np.array([[1.0, 2.0, 3.0], [500.0, 501.0, 499.0]])
    v = tf.Variable(a)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.reduce_logsumexp(v, axis=1))
    e = np.exp(a - a.max(axis=1, keepdims=True))
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), e / e.sum(axis=1, keepdims=True), rtol=1e-12)
