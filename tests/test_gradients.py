"""Gradients of every differentiable op against central finite differences, in float64.

:func:`check_grad` differentiates ``sum(fn(*xs) * w)`` for a fixed random weight ``w`` with a
``GradientTape`` and compares with the numeric gradient of the same function, computed by calling
``fn`` on perturbed copies of the inputs. Inputs are drawn by hypothesis (0-sized dims,
broadcasting pairs) and reach the op under test dense or as non-contiguous views (transpose,
negative-step slices, reverse, broadcast_to), so that the gradient of every view is checked too.
Second and third derivatives come from nested tapes.
"""

from __future__ import annotations

import math

import hypothesis.strategies as st
import numpy as np
import pytest
from helpers import FAST, broadcast_shapes, draw_array, shapes
from hypothesis import given, settings

import rstf as tf

EPS = 1e-6
GRAD = settings(FAST, max_examples=20)
SMALL = settings(FAST, max_examples=15)

SHAPES = shapes(max_dims=3, max_side=3)
NONEMPTY = shapes(max_dims=3, min_side=1, max_side=3)
SEEDS = st.integers(0, 2**32 - 1)
VIEWS = ["dense", "transpose", "strided", "reverse", "broadcast"]
VIEW = st.sampled_from(VIEWS)
VIEW_DISTINCT = st.sampled_from(VIEWS[:-1])  # a broadcast repeats values: not for max/min


# ----------------------------------------------------------------------------- the check

def _weights(shape, seed):
    """Fixed weights of magnitude 0.5..1.5 and both signs."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def _as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def _dense(g):
    """A gradient as a tensor (TensorFlow gives IndexedSlices for gather: those are accepted)."""
    if isinstance(g, tf.Tensor):
        return g
    slices = getattr(tf, "IndexedSlices", None)
    assert slices is not None and isinstance(g, slices), f"a gradient must be a tensor, got {type(g)}"
    return tf.convert_to_tensor(g)


def _outputs(fn, arrays):
    return [np.asarray(y.numpy(), dtype=np.float64) for y in _as_list(fn(*[tf.constant(a) for a in arrays]))]


def _diff(p, m):
    """``p - m``, with 0 where both are the same (the same infinity or both NaN included)."""
    same = (p == m) | (np.isnan(p) & np.isnan(m))
    return np.where(same, 0.0, p - m)


def numeric_grads(fn, arrays, ws, eps=EPS):
    """Central differences of ``sum(fn(*arrays) * ws)``.

    The outputs are subtracted before weighting and summing, so that elements the perturbation
    does not reach cancel exactly and the rounding error scales with the elements it does reach.
    """
    grads = []
    for i, a in enumerate(arrays):
        g = np.zeros(a.shape)
        for idx in np.ndindex(*a.shape):
            plus = [b.copy() for b in arrays]
            minus = [b.copy() for b in arrays]
            plus[i][idx] = a[idx] + eps
            minus[i][idx] = a[idx] - eps
            h = plus[i][idx] - minus[i][idx]
            yp, ym = _outputs(fn, plus), _outputs(fn, minus)
            assert len(yp) == len(ws)
            g[idx] = sum(float(np.sum(_diff(p, m) * w)) for p, m, w in zip(yp, ym, ws)) / h
        grads.append(g)
    return grads


def check_grad(fn, *arrays, atol=1e-6, rtol=1e-5, eps=EPS):
    """``tape.gradient`` of ``sum(fn(*xs) * w)`` equals its central differences.

    ``fn`` takes float64 tensors and returns a float64 tensor or a list of them (each weighted
    by its own ``w``). Returns the tape's gradients.
    """
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    xs = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as tape:
        tape.watch(xs)
        ys = _as_list(fn(*xs))
        ws = [_weights(tuple(y.shape), 7 + k) for k, y in enumerate(ys)]
        for y in ys:
            assert y.dtype == tf.float64, y.dtype
        target = tf.reduce_sum(ys[0] * tf.constant(ws[0]))
        for y, w in zip(ys[1:], ws[1:]):
            target = target + tf.reduce_sum(y * tf.constant(w))
    grads = tape.gradient(target, xs)
    assert isinstance(grads, list), type(grads)
    assert len(grads) == len(xs)
    expected = numeric_grads(fn, arrays, ws, eps)
    out = []
    for i, (g, a, e) in enumerate(zip(grads, arrays, expected)):
        assert g is not None, f"no gradient for input {i}"
        g = _dense(g)
        assert g.dtype == tf.float64, (i, g.dtype)
        assert g.shape == a.shape, (i, g.shape, a.shape)
        np.testing.assert_allclose(g.numpy(), e, rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")
        out.append(g)
    return out


# ----------------------------------------------------------------------------- inputs

def _strided_slices(ndim):
    return tuple(slice(1, None, 2) if i % 2 == 0 else slice(None, 0, -2) for i in range(ndim))


def as_view(a, layout, mask_bits=0b0101):
    """``(source array, view)``: ``view(tf.constant(source))`` is a tensor built from the source
    by ``layout`` (a non-contiguous view for all but "dense") with the values ``a`` (for
    "broadcast": a broadcast of a part of ``a``)."""
    if a.ndim == 0 or layout == "dense":
        return a, lambda t: t
    if layout == "transpose":
        return np.ascontiguousarray(a.T), lambda t: tf.transpose(t)
    if layout == "reverse":
        axes = list(range(a.ndim))
        return np.ascontiguousarray(np.flip(a)), lambda t: tf.reverse(t, axes)
    if layout == "strided":
        sl = _strided_slices(a.ndim)
        big = np.full([2 * n + 1 for n in a.shape], 0.5)
        big[sl] = a
        return big, lambda t: t[sl]
    if layout == "broadcast":
        small = a
        for ax in range(a.ndim):
            if mask_bits >> (ax % 4) & 1 and a.shape[ax] > 0:
                small = np.take(small, [0], axis=ax)
        if small.shape[0] == 1:
            small = small[0]
        shape = list(a.shape)
        return np.ascontiguousarray(small), lambda t: tf.broadcast_to(t, shape)
    raise ValueError(layout)


def check_views(data, fn, arrays, views=VIEW, **tol):
    """:func:`check_grad` of ``fn`` with each input reaching it through a drawn layout."""
    srcs, makers = [], []
    for a in arrays:
        layout = data.draw(views)
        src, make = as_view(np.asarray(a, dtype=np.float64), layout, data.draw(st.integers(0, 15)))
        srcs.append(src)
        makers.append(make)
    return check_grad(lambda *ts: fn(*[m(t) for m, t in zip(makers, ts)]), *srcs, **tol)


def rng_of(data):
    return np.random.default_rng(data.draw(SEEDS))


def avoid(a, points, gap=1e-3, shift=0.5):
    """Moves values within ``gap`` of a kink (``points``) away from it."""
    a = np.array(a, dtype=np.float64)
    for p in points:
        a = np.where(np.abs(a - p) < gap, p + shift, a)
    return a


def values(data, shape, lo=-3.0, hi=3.0, kinks=()):
    return avoid(draw_array(data.draw, "float64", shape, lo=lo, hi=hi), kinks)


def signed(data, shape, lo, hi):
    """Values with ``lo <= |v| <= hi`` of both signs."""
    rng = rng_of(data)
    return rng.uniform(lo, hi, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def distinct(data, *shape_list):
    """Arrays of the given shapes whose values are all different (by at least 0.3) together."""
    rng = rng_of(data)
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shape_list]
    total = sum(sizes)
    vals = (rng.permutation(total) - total / 2) * 0.3 + rng.uniform(0.01, 0.1)
    out, start = [], 0
    for s, n in zip(shape_list, sizes):
        out.append(vals[start:start + n].reshape(s))
        start += n
    return out


# ----------------------------------------------------------------------------- unary

# name: (function, (lo, hi) of the inputs, kinks to stay away from)
UNARY = {
    "negative": (tf.negative, (-5, 5), ()),
    "neg_operator": (lambda x: -x, (-5, 5), ()),
    "abs": (tf.abs, (-5, 5), (0,)),
    "square": (tf.square, (-5, 5), ()),
    "exp": (tf.exp, (-10, 10), ()),
    "expm1": (tf.math.expm1, (-5, 5), ()),
    "log": (tf.math.log, (0.1, 20), ()),
    "log1p": (tf.math.log1p, (-0.9, 20), ()),
    "sqrt": (tf.sqrt, (0.1, 20), ()),
    "rsqrt": (tf.math.rsqrt, (0.1, 20), ()),
    "reciprocal": (tf.math.reciprocal, (0.1, 20), ()),
    "sin": (tf.sin, (-6, 6), ()),
    "cos": (tf.cos, (-6, 6), ()),
    "tan": (tf.tan, (-1.2, 1.2), ()),
    "tanh": (tf.tanh, (-5, 5), ()),
    "sigmoid": (tf.sigmoid, (-20, 20), ()),
    "erf": (tf.math.erf, (-3, 3), ()),
    "asinh": (tf.math.asinh, (-5, 5), ()),
    "asin": (tf.math.asin, (-0.9, 0.9), ()),
    "acos": (tf.math.acos, (-0.9, 0.9), ()),
    "atan": (tf.math.atan, (-5, 5), ()),
    "sinh": (tf.math.sinh, (-3, 3), ()),
    "cosh": (tf.math.cosh, (-3, 3), ()),
    "acosh": (tf.math.acosh, (1.1, 5), ()),
    "atanh": (tf.math.atanh, (-0.9, 0.9), ()),
    "relu": (tf.nn.relu, (-5, 5), (0,)),
    "relu6": (tf.nn.relu6, (-3, 9), (0, 6)),
    "leaky_relu": (tf.nn.leaky_relu, (-5, 5), (0,)),
    "leaky_relu_0.01": (lambda x: tf.nn.leaky_relu(x, alpha=0.01), (-5, 5), (0,)),
    "elu": (tf.nn.elu, (-5, 5), (0,)),
    "softplus": (tf.nn.softplus, (-20, 20), ()),
    "math.softplus": (tf.math.softplus, (-5, 5), ()),
    "gelu": (tf.nn.gelu, (-5, 5), ()),
    "gelu_tanh": (lambda x: tf.nn.gelu(x, approximate=True), (-5, 5), ()),
    "nn.sigmoid": (tf.nn.sigmoid, (-5, 5), ()),
    "nn.tanh": (tf.nn.tanh, (-5, 5), ()),
    "cube_operator": (lambda x: x ** 3, (-3, 3), ()),
    "pow_scalar": (lambda x: tf.pow(x, 2.5), (0.1, 5), ()),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@GRAD
@given(data=st.data())
def test_unary(name, data):
    fn, (lo, hi), kinks = UNARY[name]
    a = values(data, data.draw(SHAPES), lo, hi, kinks)
    check_views(data, fn, [a])


def test_unary_at_known_points():
    x = np.array([-2.0, -0.5, 0.5, 3.0])
    g = check_grad(tf.abs, x)[0]
    w = _weights((4,), 7)
    np.testing.assert_array_equal(g.numpy(), np.sign(x) * w)
    g = check_grad(tf.nn.relu, x)[0]
    np.testing.assert_array_equal(g.numpy(), (x > 0) * w)
    g = check_grad(tf.nn.relu6, np.array([-1.0, 2.0, 7.0]))[0]
    np.testing.assert_array_equal(g.numpy(), np.array([0.0, 1.0, 0.0]) * _weights((3,), 7))
    g = check_grad(lambda t: t ** 3, x)[0]
    np.testing.assert_allclose(g.numpy(), 3 * x**2 * w, rtol=1e-14)


# ----------------------------------------------------------------------------- binary

# name: (function, draws the two input arrays for two shapes)
def _any(data, s1, s2):
    return values(data, s1), values(data, s2)


def _nonzero_rhs(data, s1, s2):
    return values(data, s1), signed(data, s2, 0.5, 3.0)


def _pow_args(data, s1, s2):
    return draw_array(data.draw, "float64", s1, lo=0.5, hi=3.0), values(data, s2, -2.0, 2.0)


def _distinct(data, s1, s2):
    return tuple(distinct(data, s1, s2))


BINARY = {
    "add": (tf.add, _any),
    "add_operator": (lambda x, y: x + y, _any),
    "subtract": (tf.subtract, _any),
    "sub_operator": (lambda x, y: x - y, _any),
    "multiply": (tf.multiply, _any),
    "mul_operator": (lambda x, y: x * y, _any),
    "divide": (tf.divide, _nonzero_rhs),
    "truediv_operator": (lambda x, y: x / y, _nonzero_rhs),
    "realdiv": (tf.math.realdiv, _nonzero_rhs),
    "pow": (tf.pow, _pow_args),
    "pow_operator": (lambda x, y: x ** y, _pow_args),
    "maximum": (tf.maximum, _distinct),
    "minimum": (tf.minimum, _distinct),
    "squared_difference": (tf.math.squared_difference, _any),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@GRAD
@given(data=st.data())
def test_binary_broadcasting(name, data):
    fn, draw_args = BINARY[name]
    s1, s2 = broadcast_shapes(data.draw, 2, max_dims=3, max_side=3)
    a, b = draw_args(data, s1, s2)
    views = VIEW_DISTINCT if draw_args is _distinct else VIEW
    check_views(data, fn, [a, b], views=views)


def test_binary_with_python_scalars():
    x = np.array([[0.5, -1.5, 2.0], [3.0, -0.25, 1.0]])
    check_grad(lambda t: 2.0 * t - 1.0, x)
    check_grad(lambda t: 1.0 / (t + 5.0), x)
    check_grad(lambda t: 3.0 ** t, x)
    check_grad(lambda t: tf.maximum(t, 0.75), x)
    check_grad(lambda t: tf.minimum(-0.1, t), x)


def test_same_tensor_on_both_sides():
    x = np.array([0.5, -1.5, 2.0])
    g = check_grad(lambda t: t * t, x)[0]
    np.testing.assert_allclose(g.numpy(), 2 * x * _weights((3,), 7), rtol=1e-15)
    check_grad(lambda t: t / (t * t + 1.0), x)
    check_grad(lambda t: t - tf.exp(t) * t, x)


def test_pow_at_zero_base_with_integer_exponent():
    # d/dx x**3 = 3x**2 is 0 at x = 0, and finite for negative bases.
    x = np.array([0.0, -2.0, 1.5])
    g = check_grad(lambda t: tf.pow(t, tf.constant(3.0, dtype=tf.float64)), x)[0]
    np.testing.assert_allclose(g.numpy(), 3 * x**2 * _weights((3,), 7), rtol=1e-14)


@GRAD
@given(data=st.data())
def test_where(data):
    sc, sx, sy = broadcast_shapes(data.draw, 3, max_dims=3, max_side=3)
    cond = tf.constant(rng_of(data).random(sc) < 0.5)
    check_views(data, lambda x, y: tf.where(cond, x, y), [values(data, sx), values(data, sy)])


def test_where_condition_from_the_input():
    x = np.array([-2.0, -0.5, 0.5, 3.0])
    g = check_grad(lambda t: tf.where(t > 0, tf.square(t), tf.sin(t)), x)[0]
    expected = np.where(x > 0, 2 * x, np.cos(x)) * _weights((4,), 7)
    np.testing.assert_allclose(g.numpy(), expected, rtol=1e-14)


@GRAD
@given(data=st.data())
def test_clip_by_value(data):
    a = values(data, data.draw(SHAPES), -4, 4, kinks=(-1.5, 2.0))
    check_views(data, lambda t: tf.clip_by_value(t, -1.5, 2.0), [a])
    # Tensor bounds receive the gradient of the clipped elements.
    check_grad(lambda t, lo, hi: tf.clip_by_value(t, lo, hi), a, np.array(-1.5), np.array(2.0))


def test_cast_float_round_trip_passes_the_gradient():
    x = np.array([[0.1, -1.3], [2.7, 1e-3]])
    w = _weights((2, 2), 3)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        x32 = tf.cast(xt, tf.float32)
        assert x32.dtype == tf.float32
        y = tf.reduce_sum(tf.square(tf.cast(x32, tf.float64)) * w)
    g = tape.gradient(y, xt)
    assert g.dtype == tf.float64
    assert g.shape == (2, 2)
    np.testing.assert_allclose(g.numpy(), 2 * x * w, rtol=1e-6)


def test_float32_gradients_are_float32():
    x = tf.constant([0.5, 1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(tf.exp(x) * x)
    g = tape.gradient(y, x)
    assert g.dtype == tf.float32
    xv = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(g.numpy(), np.exp(xv) * (1 + xv), rtol=1e-6)


# ----------------------------------------------------------------------------- reductions

def draw_axes(data, ndim):
    """None, an int, or a list of distinct axes (negative ones too, possibly empty)."""
    kind = data.draw(st.sampled_from(["none", "int", "list"] if ndim else ["none", "list"]))
    if kind == "none":
        return None
    if kind == "int":
        return data.draw(st.integers(-ndim, ndim - 1))
    axes = data.draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim)) if ndim else []
    return [a - ndim if data.draw(st.booleans()) else a for a in axes]


REDUCTIONS = {
    "reduce_sum": tf.reduce_sum,
    "reduce_mean": tf.reduce_mean,
    "reduce_prod": tf.reduce_prod,
    "reduce_max": tf.reduce_max,
    "reduce_min": tf.reduce_min,
    "math.reduce_sum": tf.math.reduce_sum,
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@GRAD
@given(data=st.data())
def test_reduction(name, data):
    fn = REDUCTIONS[name]
    shape = data.draw(SHAPES)
    axis = draw_axes(data, len(shape))
    keepdims = data.draw(st.booleans())
    if name in ("reduce_max", "reduce_min"):
        (a,) = distinct(data, shape)
        views = VIEW_DISTINCT
    elif name == "reduce_prod":
        a = values(data, shape, -1.5, 1.5)
        views = VIEW
    else:
        a = values(data, shape)
        views = VIEW
    check_views(data, lambda t: fn(t, axis=axis, keepdims=keepdims), [a], views=views)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduce_prod_with_zeros(axis, keepdims):
    # Rows with no, one and two zeros; columns with no and one zero.
    a = np.array([[0.5, -2.0, 1.5, 3.0], [1.25, 0.0, -0.75, 2.0], [0.0, 1.5, 0.0, -1.0]])
    g = check_grad(lambda t: tf.reduce_prod(t, axis=axis, keepdims=keepdims), a)[0].numpy()
    if axis is None:
        np.testing.assert_array_equal(g, np.zeros_like(a))  # three zeros
    elif axis in (1, -1):
        np.testing.assert_array_equal(g[2], np.zeros(4))  # two zeros in the row


def test_reduce_prod_gradient_at_a_single_zero_is_the_product_of_the_others():
    row = np.array([1.25, 0.0, -0.75, 2.0])
    g = check_grad(lambda t: tf.reduce_prod(t), row)[0]
    w = _weights((), 7)
    np.testing.assert_allclose(g.numpy(), np.array([0.0, 1.25 * -0.75 * 2.0, 0.0, 0.0]) * w, rtol=1e-15)
    g = check_grad(lambda t: tf.reduce_prod(t, axis=0), np.array([[2.0, 0.0], [0.0, 3.0], [0.5, 4.0]]))[0]
    w = _weights((2,), 7)
    np.testing.assert_allclose(g.numpy(), [[0, 12 * w[1]], [w[0], 0], [0, 0]], rtol=1e-15)


def test_reduce_max_picks_the_largest():
    a = np.array([[1.0, 5.0, 2.0], [7.0, -1.0, 3.0]])
    g = check_grad(lambda t: tf.reduce_max(t, axis=1), a)[0]
    w = _weights((2,), 7)
    np.testing.assert_array_equal(g.numpy(), [[0, w[0], 0], [w[1], 0, 0]])
    g = check_grad(lambda t: tf.reduce_min(t), a)[0]
    np.testing.assert_array_equal(g.numpy(), [[0, 0, 0], [0, _weights((), 7), 0]])


def test_reduce_mean_divides_by_the_count():
    x = tf.constant(np.arange(6.0).reshape(2, 3))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_mean(x, axis=0)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), np.full((2, 3), 0.5))


# ----------------------------------------------------------------------------- matmul

@GRAD
@given(data=st.data())
def test_matmul_2d(data):
    m, k, n = (data.draw(st.integers(0, 3)) for _ in range(3))
    ta, tb = data.draw(st.booleans()), data.draw(st.booleans())
    a = values(data, (k, m) if ta else (m, k))
    b = values(data, (n, k) if tb else (k, n))
    check_views(data, lambda x, y: tf.matmul(x, y, transpose_a=ta, transpose_b=tb), [a, b])


@GRAD
@given(data=st.data())
def test_matmul_batched_broadcast(data):
    ba, bb = broadcast_shapes(data.draw, 2, max_dims=2, max_side=3)
    m, k, n = (data.draw(st.integers(1, 3)) for _ in range(3))
    ta, tb = data.draw(st.booleans()), data.draw(st.booleans())
    a = values(data, tuple(ba) + ((k, m) if ta else (m, k)))
    b = values(data, tuple(bb) + ((n, k) if tb else (k, n)))
    check_views(data, lambda x, y: tf.matmul(x, y, transpose_a=ta, transpose_b=tb), [a, b])


def test_matmul_operator_and_known_value():
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    b = np.array([[0.5, -1.0, 2.0, 0.0], [1.5, 0.25, -2.0, 1.0]])
    ga, gb = check_grad(lambda x, y: x @ y, a, b)
    w = _weights((3, 4), 7)
    np.testing.assert_allclose(ga.numpy(), w @ b.T, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(gb.numpy(), a.T @ w, rtol=1e-14, atol=1e-14)
    # A batched matrix times a single matrix: the single one's gradient sums over the batch.
    a3 = np.stack([a, 2 * a])
    check_grad(lambda x, y: tf.matmul(x, y), a3, b)


# ----------------------------------------------------------------------------- softmax

@pytest.mark.parametrize("fn", [tf.nn.softmax, tf.nn.log_softmax], ids=["softmax", "log_softmax"])
@GRAD
@given(data=st.data())
def test_softmax(fn, data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, max_side=3))
    axis = data.draw(st.sampled_from([None, *range(-len(shape), len(shape))]))
    a = values(data, shape, -5, 5)
    check_views(data, lambda t: fn(t) if axis is None else fn(t, axis=axis), [a])


def test_log_softmax_with_large_logits():
    a = np.array([[1000.0, 1001.0, 999.0], [-1000.0, 0.0, 1000.0]])
    g = check_grad(lambda t: tf.nn.log_softmax(t, axis=-1), a)[0]
    assert np.all(np.isfinite(g.numpy()))
    check_grad(lambda t: tf.nn.softmax(t, axis=0), a)


# ----------------------------------------------------------------------------- movement

@GRAD
@given(data=st.data())
def test_transpose(data):
    shape = data.draw(SHAPES)
    perm = data.draw(st.permutations(range(len(shape))))
    a = values(data, shape)
    check_views(data, lambda t: tf.transpose(t, perm=perm), [a])
    check_views(data, lambda t: tf.transpose(t), [a])


@GRAD
@given(data=st.data())
def test_reshape(data):
    shape = data.draw(SHAPES)
    a = values(data, shape)
    check_views(data, lambda t: tf.reshape(t, list(reversed(shape))), [a])
    if a.size:
        check_views(data, lambda t: tf.reshape(t, [-1]), [a])
        check_views(data, lambda t: tf.reshape(t, [1, -1, 1]), [a])


@GRAD
@given(data=st.data())
def test_expand_dims_and_squeeze(data):
    shape = data.draw(SHAPES)
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    a = values(data, shape)
    check_views(data, lambda t: tf.expand_dims(t, axis), [a])
    ones_at = data.draw(st.lists(st.integers(0, len(shape)), max_size=2))
    padded = list(shape)
    for i in sorted(ones_at, reverse=True):
        padded.insert(i, 1)
    b = values(data, tuple(padded))
    check_views(data, lambda t: tf.squeeze(t), [b])
    if padded and 1 in padded:
        ax = padded.index(1)
        check_views(data, lambda t: tf.squeeze(t, axis=ax), [b])


@GRAD
@given(data=st.data())
def test_broadcast_to(data):
    big = data.draw(SHAPES)
    rng = rng_of(data)
    small = [1 if rng.random() < 0.5 else d for d in big]
    small = small[data.draw(st.integers(0, len(small))):]
    a = values(data, tuple(small))
    check_views(data, lambda t: tf.broadcast_to(t, list(big)), [a])


@GRAD
@given(data=st.data())
def test_reverse(data):
    shape = data.draw(SHAPES)
    axes = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True)) if shape else []
    a = values(data, shape)
    check_views(data, lambda t: tf.reverse(t, axes), [a])


@GRAD
@given(data=st.data())
def test_slicing(data):
    shape = data.draw(shapes(min_dims=2, max_dims=3, max_side=3))
    a = values(data, shape)
    check_views(data, lambda t: t[1:, ::-1], [a])
    check_views(data, lambda t: t[..., tf.newaxis], [a])
    check_views(data, lambda t: t[::2], [a])
    check_views(data, lambda t: t[:, -2:0:-1], [a])
    check_views(data, lambda t: t[tf.newaxis, :, 1:3], [a])
    if shape[0] > 0:
        check_views(data, lambda t: t[0], [a])
        check_views(data, lambda t: t[-1, ..., ::2], [a])
    if shape[1] > 1:
        check_views(data, lambda t: t[:, 1], [a])


def test_slice_gradient_scatters_into_zeros():
    a = np.arange(12.0).reshape(3, 4)
    g = check_grad(lambda t: t[1:, ::-2], a)[0]
    w = _weights((2, 2), 7)
    expected = np.zeros((3, 4))
    expected[1:, ::-2] = w
    np.testing.assert_array_equal(g.numpy(), expected)


@GRAD
@given(data=st.data())
def test_concat(data):
    rest = data.draw(shapes(min_dims=0, max_dims=2, max_side=3))
    axis = data.draw(st.integers(-len(rest) - 1, len(rest)))
    ax = axis % (len(rest) + 1)
    count = data.draw(st.integers(1, 3))
    arrays = []
    for _ in range(count):
        s = list(rest)
        s.insert(ax, data.draw(st.integers(0, 3)))
        arrays.append(values(data, tuple(s)))
    check_views(data, lambda *ts: tf.concat(list(ts), axis=axis), arrays)


@GRAD
@given(data=st.data())
def test_split(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, max_side=4))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[axis]
    rng = rng_of(data)
    cuts = sorted(rng.integers(0, n, size=2, endpoint=True))
    sizes = [int(cuts[0]), int(cuts[1] - cuts[0]), int(n - cuts[1])]
    a = values(data, shape)
    check_views(data, lambda t: tf.split(t, sizes, axis=axis), [a])
    # Only one piece used: the others get zeros.
    check_views(data, lambda t: tf.split(t, sizes, axis=axis)[1], [a])
    g = check_grad(lambda t: tf.split(t, sizes, axis=axis)[1], a)[0].numpy()
    outside = np.ones(shape, dtype=bool)
    idx = [slice(None)] * len(shape)
    idx[axis] = slice(int(cuts[0]), int(cuts[1]))
    outside[tuple(idx)] = False
    assert not np.any(g[outside])
    if n and n % 2 == 0:
        check_views(data, lambda t: tf.split(t, 2, axis=axis), [a])


@GRAD
@given(data=st.data())
def test_stack_and_unstack(data):
    shape = data.draw(SHAPES)
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    count = data.draw(st.integers(1, 3))
    arrays = [values(data, shape) for _ in range(count)]
    check_views(data, lambda *ts: tf.stack(list(ts), axis=axis), arrays)
    big = values(data, (data.draw(st.integers(1, 3)),) + tuple(shape))
    uaxis = data.draw(st.sampled_from([i for i in range(-big.ndim, big.ndim) if big.shape[i] > 0]))
    check_views(data, lambda t: tf.unstack(t, axis=uaxis), [big])
    check_views(data, lambda t: tf.unstack(t, axis=uaxis)[-1], [big])


def test_unstack_one_piece_used():
    a = np.arange(6.0).reshape(3, 2)
    g = check_grad(lambda t: tf.unstack(t)[1], a)[0]
    np.testing.assert_array_equal(g.numpy(), [[0, 0], _weights((2,), 7), [0, 0]])


@GRAD
@given(data=st.data())
def test_gather(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    axis = data.draw(st.sampled_from([0, 1, -1] if len(shape) > 1 else [0, -1]))
    n = shape[axis]
    rng = rng_of(data)
    ishape = data.draw(shapes(min_dims=0, max_dims=2, max_side=4))
    idx = tf.constant(rng.integers(0, n, size=ishape).astype(np.int32))
    a = values(data, shape)
    check_views(data, lambda t: tf.gather(t, idx, axis=axis), [a])


def test_gather_repeated_indices_accumulate():
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    g = check_grad(lambda t: tf.gather(t, [2, 0, 2, 2]), a)[0]
    w = _weights((4, 2), 7)
    np.testing.assert_allclose(g.numpy(), [w[1], [0, 0], w[0] + w[2] + w[3]], rtol=1e-15, atol=1e-15)
    g = check_grad(lambda t: tf.gather(t, [[1, 1], [0, 1]], axis=1), a)[0]
    w = _weights((3, 2, 2), 7)
    np.testing.assert_allclose(g.numpy()[:, 0], w[:, 1, 0], rtol=1e-15)
    np.testing.assert_allclose(g.numpy()[:, 1], w[:, 0, 0] + w[:, 0, 1] + w[:, 1, 1], rtol=1e-15, atol=1e-15)


def test_gather_at_argmax():
    a = np.array([0.5, 3.0, -1.0, 2.0])
    g = check_grad(lambda t: tf.gather(t, tf.argmax(t)), a)[0]
    np.testing.assert_array_equal(g.numpy(), [0, _weights((), 7), 0, 0])


@GRAD
@given(data=st.data())
def test_pad(data):
    shape = data.draw(SHAPES)
    paddings = np.array([[data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))] for _ in shape],
                        dtype=np.int64).reshape(len(shape), 2)
    value = data.draw(st.sampled_from([0, 1.5]))
    a = values(data, shape)
    check_views(data, lambda t: tf.pad(t, paddings, constant_values=value), [a])


@GRAD
@given(data=st.data())
def test_tile(data):
    shape = data.draw(SHAPES)
    multiples = [data.draw(st.integers(0, 2)) for _ in shape]
    a = values(data, shape)
    check_views(data, lambda t: tf.tile(t, multiples), [a])


def test_tile_gradient_sums_the_copies():
    a = np.array([[1.0, 2.0, 3.0]])
    g = check_grad(lambda t: tf.tile(t, [2, 2]), a)[0]
    w = _weights((2, 6), 7)
    np.testing.assert_allclose(g.numpy(), (w[0, :3] + w[0, 3:] + w[1, :3] + w[1, 3:])[None], rtol=1e-15,
                               atol=1e-15)


def test_composite_network():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 3))
    w1 = rng.normal(size=(3, 5))
    b1 = rng.normal(size=(5,))
    w2 = rng.normal(size=(5, 2))

    def net(x, w1, b1, w2):
        h = tf.nn.relu(tf.matmul(x, w1) + b1)
        logits = h @ w2
        labels = tf.constant([[1.0, 0.0]], dtype=tf.float64)
        return tf.reduce_mean(tf.nn.log_softmax(logits, axis=-1) * labels)

    check_grad(net, x, w1, b1, w2)


# ----------------------------------------------------------------------------- no gradient

def _grad(fn, x, **kw):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return tape.gradient(y, x, **kw)


@pytest.mark.parametrize("fn", [
    lambda t: tf.cast(tf.cast(t, tf.int32), tf.float64),
    lambda t: tf.cast(t > 0, tf.float64),
    lambda t: tf.cast(tf.argmax(t), tf.float64),
    lambda t: tf.cast(tf.equal(t, t), tf.float32) * 2.0,
    lambda t: tf.cast(tf.cast(t, tf.int64) * 3, tf.float64),
    lambda t: tf.cast(tf.cast(t, tf.bool), tf.float64),
], ids=["int32", "greater", "argmax", "equal", "int64", "bool"])
def test_integer_and_bool_paths_have_no_gradient(fn):
    assert _grad(fn, np.array([0.5, -1.5, 2.0])) is None


def test_mixed_paths_keep_the_float_part():
    x = np.array([0.5, -1.5, 2.0])
    g = _grad(lambda t: tf.reduce_sum(tf.cast(t > 0, tf.float64) * t
                                      + tf.cast(tf.cast(t, tf.int32), tf.float64)), x)
    np.testing.assert_array_equal(g.numpy(), [1.0, 0.0, 1.0])


def test_integer_source_has_no_gradient():
    x = tf.constant([1, 2, 3])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(tf.cast(x, tf.float32) * 2.0)
    assert tape.gradient(y, x) is None


def test_unconnected_sources():
    x = tf.constant([1.0, 2.0], dtype=tf.float64)
    z = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=tf.float64)
    s = tf.constant(3.0, dtype=tf.float64)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, z, s])
        y = tf.reduce_sum(x * x)
    gx, gz, gs = tape.gradient(y, [x, z, s])
    np.testing.assert_array_equal(gx.numpy(), [2.0, 4.0])
    assert gz is None and gs is None
    assert tape.gradient(y, z, unconnected_gradients=tf.UnconnectedGradients.NONE) is None
    for how in (tf.UnconnectedGradients.ZERO, "zero"):
        gz, gs = tape.gradient(y, [z, s], unconnected_gradients=how)
        assert gz.dtype == tf.float64 and gz.shape == (2, 3)
        np.testing.assert_array_equal(gz.numpy(), np.zeros((2, 3)))
        assert gs.dtype == tf.float64 and gs.shape == ()
        assert gs.numpy() == 0.0
    # A connected source is unaffected by the option.
    np.testing.assert_array_equal(
        tape.gradient(y, x, unconnected_gradients=tf.UnconnectedGradients.ZERO).numpy(), [2.0, 4.0])
    del tape


# ----------------------------------------------------------------------------- higher order

def first_grad(fn, seed=11):
    """``x -> d/dx sum(fn(x) * w)`` through an inner tape (itself recorded by outer tapes)."""
    def g(x):
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = fn(x)
            target = tf.reduce_sum(y * tf.constant(_weights(tuple(y.shape), seed)))
        return inner.gradient(target, x)

    return g


def first_grads(fn, seed=11):
    """``(x, y, ...) -> [d/dx, d/dy, ...] sum(fn(x, y, ...) * w)`` through an inner tape."""
    def g(*xs):
        xs = list(xs)
        with tf.GradientTape() as inner:
            inner.watch(xs)
            y = fn(*xs)
            target = tf.reduce_sum(y * tf.constant(_weights(tuple(y.shape), seed)))
        return inner.gradient(target, xs)

    return g


SECOND_ORDER_UNARY = ["square", "exp", "expm1", "log", "log1p", "sqrt", "rsqrt", "reciprocal", "sin",
                      "cos", "tan", "tanh", "sigmoid", "erf", "elu", "softplus", "gelu", "gelu_tanh",
                      "cube_operator", "pow_scalar"]


@pytest.mark.parametrize("name", SECOND_ORDER_UNARY)
@SMALL
@given(data=st.data())
def test_second_order_unary(name, data):
    fn, (lo, hi), kinks = UNARY[name]
    a = values(data, data.draw(shapes(max_dims=2, max_side=3)), lo, hi, kinks)
    check_views(data, first_grad(fn), [a], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["multiply", "divide", "pow", "squared_difference"])
@SMALL
@given(data=st.data())
def test_second_order_binary(name, data):
    fn, draw_args = BINARY[name]
    s1, s2 = broadcast_shapes(data.draw, 2, max_dims=2, max_side=3)
    a, b = draw_args(data, s1, s2)
    check_views(data, first_grads(fn), [a, b], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("fn", [
    lambda t: tf.nn.softmax(t, axis=-1),
    lambda t: tf.nn.log_softmax(t, axis=0),
    lambda t: tf.reduce_prod(t, axis=1),
    lambda t: tf.reduce_sum(tf.square(t), axis=0),
    lambda t: tf.transpose(tf.sin(t)) * 2.0,
], ids=["softmax", "log_softmax", "reduce_prod", "reduce_sum_square", "transpose_sin"])
def test_second_order_other(fn):
    a = np.array([[0.5, -1.0, 1.5], [2.0, 0.25, -0.75]])
    check_grad(first_grad(fn), a, atol=1e-5, rtol=1e-5)


def test_second_order_matmul():
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    check_grad(first_grads(tf.matmul), a, b, atol=1e-5, rtol=1e-5)


def _nested_second(fn, x):
    x = tf.constant(x)
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = fn(x)
        dy = inner.gradient(y, x)
    return dy, outer.gradient(dy, x)


def test_second_derivative_of_cube():
    x = np.array([-2.0, -0.5, 0.0, 0.75, 3.0])
    dy, d2 = _nested_second(lambda t: t ** 3, x)
    np.testing.assert_allclose(dy.numpy(), 3 * x**2, rtol=1e-14)
    np.testing.assert_allclose(d2.numpy(), 6 * x, rtol=1e-14)
    for v in (-1.5, 0.5, 2.0):  # scalars
        dy, d2 = _nested_second(lambda t: t ** 3, np.float64(v))
        assert dy.shape == () and d2.shape == ()
        assert float(dy) == pytest.approx(3 * v * v, rel=1e-14)
        assert float(d2) == pytest.approx(6 * v, rel=1e-14)


def test_second_derivative_of_tanh():
    x = np.array([-3.0, -0.5, 0.0, 0.3, 1.7])
    dy, d2 = _nested_second(tf.tanh, x)
    t = np.tanh(x)
    np.testing.assert_allclose(dy.numpy(), 1 - t * t, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(d2.numpy(), -2 * t * (1 - t * t), rtol=1e-13, atol=1e-15)


def test_second_order_matmul_chain():
    rng = np.random.default_rng(1)
    x0, w0, v0 = rng.normal(size=(3, 4)), rng.normal(size=(4, 5)) * 0.5, rng.normal(size=(5, 2))

    def grads(x, w, v):
        with tf.GradientTape() as inner:
            inner.watch([x, w])
            f = tf.reduce_sum(tf.tanh(x @ w) @ v)
        return inner.gradient(f, [x, w])

    # The first gradient itself, against its closed form.
    gx, gw = grads(tf.constant(x0), tf.constant(w0), tf.constant(v0))
    d = (1 - np.tanh(x0 @ w0) ** 2) * v0.sum(axis=1)
    np.testing.assert_allclose(gx.numpy(), d @ w0.T, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(gw.numpy(), x0.T @ d, rtol=1e-12, atol=1e-13)
    # Its derivatives (with respect to x, W and V) against finite differences.
    check_grad(grads, x0, w0, v0, atol=1e-5, rtol=1e-5)


def test_third_derivative_of_x4():
    xs = np.array([-1.5, 0.0, 0.5, 2.0])
    x = tf.constant(xs)
    with tf.GradientTape() as t3:
        t3.watch(x)
        with tf.GradientTape() as t2:
            t2.watch(x)
            with tf.GradientTape() as t1:
                t1.watch(x)
                y = x ** 4
            d1 = t1.gradient(y, x)
        d2 = t2.gradient(d1, x)
    d3 = t3.gradient(d2, x)
    np.testing.assert_allclose(d1.numpy(), 4 * xs**3, rtol=1e-14)
    np.testing.assert_allclose(d2.numpy(), 12 * xs**2, rtol=1e-14)
    np.testing.assert_allclose(d3.numpy(), 24 * xs, rtol=1e-14)


def test_second_derivative_of_exp_sum_is_exact():
    x = np.array([0.0, 1.0, -2.0])
    _, d2 = _nested_second(lambda t: tf.reduce_sum(tf.exp(t)), x)
    np.testing.assert_allclose(d2.numpy(), np.exp(x), rtol=1e-15)
    assert math.isclose(float(d2[0]), 1.0)
