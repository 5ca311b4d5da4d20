"""The nn composites (cross-entropy losses, l2_loss/l2_normalize, moments, batch_normalization,
selu, silu/swish, log_sigmoid, bias_add, embedding_lookup) against numpy float64 references
over drawn shapes and dtypes, with finite-difference gradients and TensorFlow's errors.

The losses are checked at logits far beyond exp's range too, where only the stable forms
TensorFlow uses stay finite.
"""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
from helpers import FAST, TF_DTYPES, TOL, check_close, draw_array, shapes
from hypothesis import given, settings
from test_gradients import check_grad

import rstf as tf

FLOATS = ["float32", "float64"]
FLOAT = st.sampled_from(FLOATS)
GRAD = settings(FAST, max_examples=10)

device = pytest.mark.usefixtures("on_device")


def close(t, expected, dtype, rtol=None, atol=None):
    r, a = TOL[dtype]
    check_close(t, expected, dtype, rtol=rtol or r * 10, atol=atol or a * 10)


def logsumexp(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(x - m), axis=axis))


def log_softmax(x, axis=-1):
    return x - np.expand_dims(logsumexp(x, axis), axis)


def logits_array(data, dtype, shape, wide=False):
    """Logits, sometimes far outside exp's range (``wide``) for the stability checks."""
    hi = 200.0 if wide and data.draw(st.booleans()) else 8.0
    return draw_array(data.draw, dtype, shape, lo=-hi, hi=hi)


# ----------------------------------------------------------------------------- softmax losses

@device
@given(st.data())
@settings(FAST, max_examples=40)
def test_sparse_softmax_cross_entropy(data):
    dtype = data.draw(st.sampled_from(FLOATS + ["float16"]))
    batch = data.draw(shapes(max_dims=2, max_side=4))
    classes = data.draw(st.integers(1, 5))
    x = logits_array(data, dtype, batch + (classes,), wide=dtype != "float16")
    labels = np.random.default_rng(data.draw(st.integers(0, 2**31))).integers(0, classes, size=batch)
    label_dtype = data.draw(st.sampled_from([tf.int32, tf.int64]))
    got = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.constant(labels, dtype=label_dtype),
                                                         tf.constant(x, dtype=TF_DTYPES[dtype]))
    xf = x.astype(np.float64)
    ref = logsumexp(xf, -1) - np.take_along_axis(xf, labels[..., None], -1)[..., 0]
    if dtype == "float16":
        close(got, ref, dtype, rtol=2e-3, atol=2e-3)
    else:
        close(got, ref, dtype)


@device
@given(st.data())
@settings(FAST, max_examples=40)
def test_softmax_cross_entropy(data):
    dtype = data.draw(FLOAT)
    shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = logits_array(data, dtype, shape, wide=True)
    # Labels: distributions along the axis, for the whole shape or broadcast (leading dims dropped).
    drop = data.draw(st.integers(0, axis % len(shape)))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    z = rng.uniform(0.0, 1.0, size=shape[drop:])
    z = z / np.sum(z, axis=axis % len(shape) - drop, keepdims=True)
    got = tf.nn.softmax_cross_entropy_with_logits(z, tf.constant(x, dtype=TF_DTYPES[dtype]), axis=axis)
    ref = -np.sum(z * log_softmax(x.astype(np.float64), axis), axis=axis)
    close(got, ref, dtype, atol=1e-4 if dtype == "float32" else None)


def test_softmax_losses_infinite_logits_as_tensorflow():
    lg = tf.constant([[1.0, 2.0, 3.0], [1.0, -np.inf, 0.0]])
    got = tf.nn.sparse_softmax_cross_entropy_with_logits([2, 1], lg).numpy()
    np.testing.assert_allclose(got, [0.40760595, np.inf], rtol=1e-6)
    got = tf.nn.softmax_cross_entropy_with_logits([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], lg).numpy()
    assert np.isclose(got[0], 0.40760595) and np.isnan(got[1])  # 0 * -inf, as TensorFlow
    assert tf.nn.sparse_softmax_cross_entropy_with_logits(
        [1], tf.constant([[1.0, 2.0]], tf.float16)).dtype == tf.float16


@given(st.data())
@settings(GRAD)
def test_softmax_losses_gradients(data):
    batch = data.draw(shapes(max_dims=2, min_side=1, max_side=3))
    classes = data.draw(st.integers(1, 4))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    x = rng.uniform(-4, 4, size=batch + (classes,))
    labels = rng.integers(0, classes, size=batch)
    check_grad(lambda t: tf.nn.sparse_softmax_cross_entropy_with_logits(labels, t), x)
    z = rng.uniform(0, 1, size=x.shape)
    check_grad(lambda a, b: tf.nn.softmax_cross_entropy_with_logits(a, b, axis=0), z, x)


def test_sparse_softmax_cross_entropy_gradient_is_softmax_minus_onehot():
    x = tf.constant([[1.0, 2.0, 3.0], [0.5, 0.5, -1.0]], tf.float64)
    with tf.GradientTape() as t:
        t.watch(x)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits([2, 0], x)
    sm = np.exp(log_softmax(x.numpy()))
    np.testing.assert_allclose(t.gradient(loss, x).numpy(), sm - np.eye(3)[[2, 0]], rtol=1e-12, atol=1e-15)


def test_sparse_softmax_cross_entropy_errors():
    lg = tf.constant([[1.0, 2.0, 3.0], [1.0, 2.0, 0.0]])
    f = tf.nn.sparse_softmax_cross_entropy_with_logits
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"Received a label value of 3 which is outside the valid range of \[0, 3\)"):
        f([3, 0], lg)
    with pytest.raises(tf.errors.InvalidArgumentError, match="label value of -1"):
        f([-1, 0], lg)
    with pytest.raises(ValueError, match="`labels.shape.rank` must equal `logits.shape.rank - 1`"):
        f([[2, 0]], lg)
    with pytest.raises(ValueError, match="`labels.shape` must equal `logits.shape` except for the last"):
        f([2, 0, 1], lg)
    with pytest.raises(ValueError, match="`logits` cannot be a scalar"):
        f(1, 2.0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="attr 'Tlabels' of float"):
        f([2.0, 0.0], lg)
    with pytest.raises(tf.errors.InvalidArgumentError, match="attr 'T' of int32"):
        f([2, 0], [[1, 2, 3], [1, 2, 3]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Must have at least one class"):
        f(tf.zeros([2], tf.int32), tf.zeros([2, 0]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="logits and labels must be broadcastable"):
        tf.nn.softmax_cross_entropy_with_logits([0.0, 1.0], lg)


def test_sparse_softmax_cross_entropy_in_a_function():
    f = tf.function(lambda y, x: tf.nn.sparse_softmax_cross_entropy_with_logits(y, x))
    x = np.array([[1.0, 2.0, 3.0], [3.0, 0.0, 1.0]], np.float32)
    for y in ([2, 0], [1, 1]):
        ref = logsumexp(x.astype(np.float64), -1) - x[np.arange(2), y]
        np.testing.assert_allclose(f(tf.constant(y), tf.constant(x)).numpy(), ref, rtol=1e-6)


# ----------------------------------------------------------------------------- sigmoid losses

def sigmoid_ce_ref(z, x):
    return np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))


def weighted_ce_ref(z, x, q):
    return (1 - z) * x + (1 + (q - 1) * z) * (np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0))


@device
@given(st.data())
@settings(FAST, max_examples=40)
def test_sigmoid_and_weighted_cross_entropy(data):
    dtype = data.draw(FLOAT)
    shape = data.draw(shapes(max_dims=3))
    x = logits_array(data, dtype, shape, wide=True)
    z = draw_array(data.draw, dtype, shape, lo=0, hi=1)
    q = data.draw(st.sampled_from([0.5, 1.0, 3.0]))
    xf, zf = x.astype(np.float64), z.astype(np.float64)
    got = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.constant(z), logits=tf.constant(x))
    close(got, sigmoid_ce_ref(zf, xf), dtype)
    got = tf.nn.weighted_cross_entropy_with_logits(tf.constant(z), tf.constant(x), q)
    close(got, weighted_ce_ref(zf, xf, q), dtype)


def test_sigmoid_losses_gradients_and_errors():
    rng = np.random.default_rng(1)
    x = rng.uniform(-5, 5, size=(2, 3))
    z = rng.uniform(0, 1, size=(2, 3))
    check_grad(lambda a, b: tf.nn.sigmoid_cross_entropy_with_logits(labels=a, logits=b), z, x)
    check_grad(lambda a, b: tf.nn.weighted_cross_entropy_with_logits(a, b, 2.5), z, x)
    big = tf.constant([-1e4, 1e4, 0.0], tf.float64)
    with tf.GradientTape() as t:
        t.watch(big)
        loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.constant([1.0, 0.0, 0.5], tf.float64),
                                                       logits=big)
    np.testing.assert_allclose(loss.numpy(), [1e4, 1e4, np.log(2.0)])
    np.testing.assert_allclose(t.gradient(loss, big).numpy(), [-1.0, 1.0, 0.0])
    with pytest.raises(ValueError,
                       match=r"must have the same shape, received \(\(3,\) vs \(2,\)\)"):
        tf.nn.sigmoid_cross_entropy_with_logits(labels=[1.0, 0.0], logits=[2.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="Both `labels` and `logits` must be provided"):
        tf.nn.sigmoid_cross_entropy_with_logits(logits=[1.0])
    with pytest.raises(ValueError, match="must have the same shape"):
        tf.nn.weighted_cross_entropy_with_logits([1.0], [1.0, 2.0], 2.0)


# ----------------------------------------------------------------------------- l2, moments, batch norm

@device
@given(st.data())
@settings(FAST)
def test_l2_loss_l2_normalize_moments(data):
    dtype = data.draw(FLOAT)
    shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    x = draw_array(data.draw, dtype, shape, lo=-4, hi=4)
    xf = x.astype(np.float64)
    close(tf.nn.l2_loss(tf.constant(x)), np.sum(xf * xf) / 2, dtype, atol=1e-4)
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    ref = xf / np.sqrt(np.maximum(np.sum(xf * xf, axis=axis, keepdims=True), 1e-12))
    close(tf.nn.l2_normalize(tf.constant(x), axis=axis), ref, dtype)
    axes = data.draw(st.lists(st.integers(0, x.ndim - 1), unique=True, min_size=1))
    keep = data.draw(st.booleans())
    mean, var = tf.nn.moments(tf.constant(x), axes=axes, keepdims=keep)
    close(mean, np.mean(xf, axis=tuple(axes), keepdims=keep), dtype)
    close(var, np.var(xf, axis=tuple(axes), keepdims=keep), dtype, atol=1e-4)


def test_moments_dtypes_and_batch_normalization():
    x16 = tf.constant([[1.0, 2.0], [3.0, 5.0]], tf.float16)
    mean, var = tf.nn.moments(x16, axes=0)
    assert mean.dtype == var.dtype == tf.float16
    np.testing.assert_array_equal(var.numpy(), np.float16([1.0, 2.25]))
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3))
    m, v, off, sc = x.mean(0), x.var(0), rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    got = tf.nn.batch_normalization(x, m, v, off, sc, 1e-3)
    np.testing.assert_allclose(got.numpy(), (x - m) * sc / np.sqrt(v + 1e-3) + off, rtol=1e-12)
    got = tf.nn.batch_normalization(x, m, v, None, None, 1e-3)
    np.testing.assert_allclose(got.numpy(), (x - m) / np.sqrt(v + 1e-3), rtol=1e-12)
    check_grad(lambda a, b, c, d, e: tf.nn.batch_normalization(a, b, c, d, e, 1e-3), x, m, v + 0.5, off, sc)
    check_grad(lambda a: tf.nn.moments(a, axes=[0]), x)
    check_grad(lambda a: tf.nn.l2_normalize(a, axis=1), x)
    check_grad(tf.nn.l2_loss, x)
    with pytest.raises(tf.errors.InvalidArgumentError, match="L2Loss: value for attr 'T' of int32"):
        tf.nn.l2_loss([1, 2])


# ----------------------------------------------------------------------------- activations

SELU_SCALE, SELU_ALPHA = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717


@device
@given(st.data())
@settings(FAST)
def test_selu_silu_log_sigmoid(data):
    dtype = data.draw(FLOAT)
    x = draw_array(data.draw, dtype, data.draw(shapes(max_dims=3)), lo=-60, hi=60)
    xf = x.astype(np.float64)
    ref = np.where(xf > 0, SELU_SCALE * xf, SELU_SCALE * SELU_ALPHA * np.expm1(xf))
    close(tf.nn.selu(tf.constant(x)), ref, dtype)
    beta = data.draw(st.sampled_from([1.0, 0.5, 2.0]))
    with np.errstate(over="ignore"):
        sig = 1 / (1 + np.exp(-beta * xf))
    close(tf.nn.silu(tf.constant(x), beta=beta), xf * sig, dtype)
    close(tf.nn.swish(tf.constant(x)), xf / (1 + np.exp(-xf)), dtype)
    close(tf.math.log_sigmoid(tf.constant(x)), -(np.maximum(-xf, 0) + np.log1p(np.exp(-np.abs(xf)))), dtype)


def test_activation_gradients_and_dtypes():
    rng = np.random.default_rng(3)
    x = rng.uniform(0.1, 4, size=(2, 3)) * rng.choice([-1, 1], size=(2, 3))
    for f in (tf.nn.selu, tf.nn.silu, tf.math.log_sigmoid, lambda t: tf.nn.swish(t, beta=1.7)):
        check_grad(f, x)
    big = tf.constant([-800.0, 800.0], tf.float64)
    for f in (tf.nn.selu, tf.math.log_sigmoid, tf.nn.silu):
        with tf.GradientTape() as t:
            t.watch(big)
            y = f(big)
        assert np.all(np.isfinite(t.gradient(y, big).numpy())), f
    assert tf.nn.swish is tf.nn.silu
    for f, op in ((tf.nn.selu, "Selu"), (tf.math.log_sigmoid, "Softplus"), (tf.nn.silu, "Sigmoid")):
        with pytest.raises(tf.errors.InvalidArgumentError, match=f"{op}: value for attr 'T' of int32"):
            f(tf.constant([1]))


# ----------------------------------------------------------------------------- bias_add, embeddings

@device
@given(st.data())
@settings(FAST)
def test_bias_add(data):
    dtype = data.draw(st.sampled_from(FLOATS + ["int32"]))
    shape = data.draw(shapes(min_dims=2, max_dims=4, max_side=3))
    x = draw_array(data.draw, dtype, shape)
    fmt = data.draw(st.sampled_from([None, "NHWC", "N...C", "NCHW", "NC..."]))
    channels_first = fmt is not None and fmt.startswith("NC")
    c = shape[1] if channels_first else shape[-1]
    b = draw_array(data.draw, dtype, (c,))
    got = tf.nn.bias_add(tf.constant(x, dtype=TF_DTYPES[dtype]), tf.constant(b, dtype=TF_DTYPES[dtype]),
                         data_format=fmt)
    ref = x + (b.reshape((c,) + (1,) * (x.ndim - 2)) if channels_first else b)
    np.testing.assert_array_equal(got.numpy(), ref)


def test_bias_add_gradient_and_errors():
    rng = np.random.default_rng(4)
    check_grad(lambda v, b: tf.nn.bias_add(v, b, data_format="NCHW"), rng.standard_normal((2, 3, 2)),
               rng.standard_normal(3))
    err = tf.errors.InvalidArgumentError
    with pytest.raises(err, match=r"Must provide as many biases as the last dimension of the input tensor: "
                                  r"\[2\] vs. \[2,3\]"):
        tf.nn.bias_add(tf.ones([2, 3]), [1.0, 2.0])
    with pytest.raises(err, match=r"Input tensor must be at least 2D: \[3\]"):
        tf.nn.bias_add(tf.ones([3]), [1.0, 2.0, 3.0])
    with pytest.raises(err, match=r"Biases must be 1D: \[1,3\]"):
        tf.nn.bias_add(tf.ones([2, 3]), [[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="`data_format` must be of the form `N...C` or `NC...`"):
        tf.nn.bias_add(tf.ones([2, 3]), [1.0, 2.0, 3.0], data_format="XYZ")


@device
@given(st.data())
@settings(FAST)
def test_embedding_lookup(data):
    dtype = data.draw(FLOAT)
    rows = data.draw(st.integers(1, 6))
    inner = data.draw(shapes(min_dims=1, max_dims=2, max_side=3))
    table = draw_array(data.draw, dtype, (rows,) + inner, lo=-3, hi=3)
    ids = np.random.default_rng(data.draw(st.integers(0, 2**31))).integers(
        0, rows, size=data.draw(shapes(max_dims=2, max_side=3)))
    got = tf.nn.embedding_lookup(tf.constant(table), ids)
    np.testing.assert_array_equal(got.numpy(), table[ids])
    cut = data.draw(st.integers(1, rows))  # a table split in consecutive parts ("div")
    parts = [tf.constant(table[:cut])] + ([tf.constant(table[cut:])] if cut < rows else [])
    np.testing.assert_array_equal(tf.nn.embedding_lookup(parts, ids).numpy(), table[ids])
    max_norm = data.draw(st.sampled_from([0.5, 2.0]))
    rows_ = table[ids].astype(np.float64)
    axes = tuple(range(ids.ndim, rows_.ndim))
    norms = np.sqrt(np.sum(rows_ * rows_, axis=axes, keepdims=True))
    with np.errstate(invalid="ignore"):
        ref = rows_ * max_norm / np.maximum(norms, max_norm)
    close(tf.nn.embedding_lookup(tf.constant(table), ids, max_norm=max_norm), ref, dtype)


def test_embedding_lookup_gradient_variables_and_errors():
    rng = np.random.default_rng(5)
    ids = np.array([[2, 0], [2, 2]])
    check_grad(lambda p: tf.nn.embedding_lookup(p, ids), rng.standard_normal((3, 2)))
    check_grad(lambda p: tf.nn.embedding_lookup(p, ids, max_norm=0.5), rng.standard_normal((3, 2)))
    v = tf.Variable(rng.standard_normal((3, 2)))
    with tf.GradientTape() as t:
        y = tf.reduce_sum(tf.nn.embedding_lookup(v, ids))
    np.testing.assert_allclose(tf.convert_to_tensor(t.gradient(y, v)).numpy(), [[1, 1], [0, 0], [3, 3]])
    with pytest.raises(ValueError, match="Length of params is currently 0"):
        tf.nn.embedding_lookup([], [0])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices\[0\] = 3 is not in \[0, 3\)"):
        tf.nn.embedding_lookup(tf.ones([3, 2]), [3])
