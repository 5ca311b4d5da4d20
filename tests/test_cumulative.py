"""tf.math.cumsum and tf.math.cumprod against numpy float64, with exclusive/reverse, strided
inputs, gradients (finite differences, and TensorFlow's numbers where x has zeros), inside
traced functions, in saved models and on the GPU."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
from conftest import needs_gpu
from helpers import TOL, check_close, check_exact, draw_tensor, numeric_grad, round_to
from hypothesis import given

import rstf as tf

DTYPES = ["float32", "float64", "float16", "int32", "int64"]


def reference(a: np.ndarray, axis: int, exclusive: bool, reverse: bool, prod: bool) -> np.ndarray:
    """The scan in float64 (or int64 for integers, which wrap as TensorFlow's do)."""
    work = a.astype(np.int64 if a.dtype.kind in "iu" else np.float64)
    if a.shape[axis] == 0:
        return work
    if reverse:
        work = np.flip(work, axis)
    out = (np.cumprod if prod else np.cumsum)(work, axis=axis)
    if exclusive:
        first = np.ones_like if prod else np.zeros_like
        lead = first(np.take(out, [0], axis=axis))
        out = np.concatenate([lead, np.delete(out, -1, axis=axis)], axis=axis)
    if reverse:
        out = np.flip(out, axis)
    return out


@pytest.mark.parametrize("prod", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_matches_numpy(prod, dtype, data):
    lo, hi = (-1.5, 1.5) if prod else (-100, 100)
    if prod and dtype in ("int32", "int64"):
        lo, hi = -3, 3
    t, a = draw_tensor(data.draw, dtype, lo=lo, hi=hi, ieee=not prod)
    if a.ndim == 0:
        return
    axis = data.draw(st.integers(-a.ndim, a.ndim - 1))
    exclusive, reverse = data.draw(st.booleans()), data.draw(st.booleans())
    fn = tf.math.cumprod if prod else tf.math.cumsum
    got = fn(t, axis=axis, exclusive=exclusive, reverse=reverse)
    expected = reference(a, axis % a.ndim, exclusive, reverse, prod)
    if dtype in ("int32", "int64"):
        wrapped = expected.astype(np.dtype(dtype))
        check_exact(got, wrapped, dtype)
        return
    rtol, atol = TOL[dtype]
    if dtype == "float16":
        # Computed in float32 and rounded once per element.
        check_close(got, round_to(expected, dtype), dtype, rtol=2e-3, atol=1e-2 * (hi if not prod else 1))
        return
    # Partial sums round as they go: allow for the sum of magnitudes along the axis.
    mag = reference(np.abs(np.where(np.isfinite(a), a, 0)), axis % a.ndim, exclusive, reverse, prod)
    check_close(got, expected, dtype, rtol=rtol * 4, atol=float(np.max(mag, initial=0.0)) * rtol * 4)


def test_examples_and_errors():
    x = tf.constant([[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(tf.cumsum(x, axis=1).numpy(), [[1, 3, 6], [4, 9, 15]])
    np.testing.assert_array_equal(
        tf.math.cumsum(x, axis=0, exclusive=True, reverse=True).numpy(), [[4, 5, 6], [0, 0, 0]])
    np.testing.assert_array_equal(
        tf.math.cumprod(x, axis=-1, exclusive=True).numpy(), [[1, 1, 2], [1, 4, 20]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Cumsum.*bool"):
        tf.math.cumsum(tf.constant([True, False]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Cumprod.*axis 2"):
        tf.math.cumprod(x, axis=2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Cumsum"):
        tf.math.cumsum(tf.constant(3.0))



@pytest.mark.parametrize("prod", [False, True])
@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_gradient_matches_finite_differences(prod, exclusive, reverse):
    rng = np.random.default_rng(3)
    x0 = rng.uniform(0.5, 2.0, size=(3, 4)) * rng.choice([-1, 1], size=(3, 4))
    w = rng.normal(size=(3, 4))  # a weighted sum, so every output's gradient counts

    def loss_np(x):
        return float(np.sum(w * reference(x, 1, exclusive, reverse, prod)))

    x = tf.constant(x0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        fn = tf.math.cumprod if prod else tf.math.cumsum
        loss = tf.reduce_sum(w * fn(x, axis=1, exclusive=exclusive, reverse=reverse))
    want = numeric_grad(loss_np, x0)
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), want, rtol=1e-6, atol=1e-8)


def test_cumprod_gradient_at_zero_is_tensorflows():
    # TensorFlow 2.21:
    #   x = tf.constant([2., 0., 3.])
    #   with tf.GradientTape() as t: t.watch(x); y = tf.math.cumprod(x)
    #   t.gradient(y, x) -> [1., 0., 0.]
    #   ... y = tf.math.cumprod(x, exclusive=True, reverse=True) -> [0., 0., 1.]
    x = tf.constant([2.0, 0.0, 3.0])
    for kw, want in [({}, [1.0, 0.0, 0.0]), ({"exclusive": True, "reverse": True}, [0.0, 0.0, 1.0])]:
        with tf.GradientTape() as t:
            t.watch(x)
            y = tf.math.cumprod(x, **kw)
        np.testing.assert_array_equal(t.gradient(y, x).numpy(), want)


def test_second_derivative():
    # d2/dx2 sum(cumsum(x**3)) = 6 x * (number of outputs each x reaches).
    x = tf.constant([1.0, 2.0, 3.0])
    with tf.GradientTape() as t2:
        t2.watch(x)
        with tf.GradientTape() as t1:
            t1.watch(x)
            y = tf.reduce_sum(tf.math.cumsum(x ** 3))
        g = t1.gradient(y, x)
    np.testing.assert_allclose(t2.gradient(g, x).numpy(), 6 * np.array([1.0, 2, 3]) * [3, 2, 1])


def test_traced_and_saved(tmp_path):
    class M(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
        def f(self, x):
            return tf.math.cumsum(x, axis=1, reverse=True) + tf.math.cumprod(x, axis=0)

    a = np.arange(1.0, 7.0, dtype=np.float32).reshape(2, 3)
    want = reference(a, 1, False, True, False) + reference(a, 0, False, False, True)
    m = M()
    np.testing.assert_allclose(m.f(tf.constant(a)).numpy(), want)
    tf.saved_model.save(m, str(tmp_path / "m"))
    loaded = tf.saved_model.load(str(tmp_path / "m"))
    np.testing.assert_allclose(loaded.f(tf.constant(a)).numpy(), want)
    a3 = np.arange(9.0, dtype=np.float32).reshape(3, 3)
    want3 = reference(a3, 1, False, True, False) + reference(a3, 0, False, False, True)
    np.testing.assert_allclose(loaded.f(tf.constant(a3)).numpy(), want3)


@needs_gpu
def test_on_gpu_matches_numpy():
    a = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    with tf.device("/GPU:0"):
        x = tf.constant(a)
        got = tf.math.cumsum(x, axis=0, exclusive=True)
    assert got.device.endswith("GPU:0")
    np.testing.assert_allclose(got.numpy(), reference(a, 0, True, False, False), rtol=1e-5, atol=1e-5)
