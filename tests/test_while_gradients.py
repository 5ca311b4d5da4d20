"""Gradients through a ``while_loop`` traced as one graph node (a tape inside
``rstf.function``): they equal the eager loop's, for loop variables, captured tensors and the
variables the body reads."""

import numpy as np
import pytest

import rstf as tf


def _loss(x, n, w):
    _, y = tf.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, tf.sin(y) * w + x), (0, x))
    return tf.reduce_sum(y * y)


def test_gradients_equal_the_eager_loop():
    w = tf.Variable(1.5)

    @tf.function
    def traced(x, n):
        with tf.GradientTape() as t:
            t.watch(x)
            loss = _loss(x, n, w)
        return loss, t.gradient(loss, [x, w])

    x = tf.constant([0.3, -0.2, 0.7])
    for n in (3, 5, 1, 0):
        loss, (gx, gw) = traced(x, tf.constant(n))
        with tf.GradientTape() as t:
            t.watch(x)
            want = _loss(x, n, w)
        wx, ww = t.gradient(want, [x, w])
        np.testing.assert_allclose(loss.numpy(), want.numpy(), rtol=1e-6)
        np.testing.assert_allclose(gx.numpy(), wx.numpy(), rtol=1e-5)
        np.testing.assert_allclose(float(gw), 0.0 if ww is None else float(ww), rtol=1e-5)
    assert traced.experimental_get_tracing_count() == 1
    assert "WhileGrad" in str(traced.get_concrete_function(x, tf.constant(1)).graph)


def _rnn_loss(xs, h0, W, U):
    def body(i, h):
        return i + 1, tf.tanh(h @ W + tf.gather(xs, i) @ U)

    _, h = tf.while_loop(lambda i, h: i < tf.shape(xs)[0], body, (0, h0))
    return tf.reduce_mean(tf.square(h))


def test_recurrent_train_step_matches_eager():
    rng = np.random.default_rng(0)
    W = tf.Variable(rng.normal(size=(4, 4)).astype(np.float32) * 0.5)
    U = tf.Variable(rng.normal(size=(3, 4)).astype(np.float32) * 0.5)
    xs = tf.constant(rng.normal(size=(6, 2, 3)).astype(np.float32))
    h0 = tf.zeros([2, 4])

    @tf.function
    def step(xs):
        with tf.GradientTape() as t:
            loss = _rnn_loss(xs, h0, W, U)
        gW, gU = t.gradient(loss, [W, U])
        W.assign_sub(0.1 * gW)
        U.assign_sub(0.1 * gU)
        return loss

    for _ in range(3):
        W0, U0 = tf.Variable(W.numpy()), tf.Variable(U.numpy())
        with tf.GradientTape() as t:
            want = _rnn_loss(xs, h0, W0, U0)
        gW, gU = t.gradient(want, [W0, U0])
        np.testing.assert_allclose(step(xs).numpy(), want.numpy(), rtol=1e-5)
        np.testing.assert_allclose(W.numpy(), W0.numpy() - 0.1 * gW.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(U.numpy(), U0.numpy() - 0.1 * gU.numpy(), rtol=1e-5, atol=1e-6)


def test_nested_loops_and_captured_tensors():
    def loss_of(x, c, n):
        def outer(i, y):
            _, z = tf.while_loop(lambda j, z: j < 2, lambda j, z: (j + 1, z * c + 0.1), (0, y))
            return i + 1, z

        return tf.reduce_sum(tf.while_loop(lambda i, y: i < n, outer, (0, x))[1])

    @tf.function
    def traced(x, c, n):
        with tf.GradientTape() as t:
            t.watch([x, c])
            loss = loss_of(x, c, n)
        return t.gradient(loss, [x, c])

    x, c = tf.constant([1.0, 2.0]), tf.constant([0.5, -1.5])
    gx, gc = traced(x, c, tf.constant(3))
    with tf.GradientTape() as t:
        t.watch([x, c])
        loss = loss_of(x, c, 3)
    wx, wc = t.gradient(loss, [x, c])
    np.testing.assert_allclose(gx.numpy(), wx.numpy(), rtol=1e-5)
    np.testing.assert_allclose(gc.numpy(), wc.numpy(), rtol=1e-5)


def test_polymorphic_function_with_a_loop_gradient():
    @tf.function(input_signature=[tf.TensorSpec([None]), tf.TensorSpec([], tf.int32)])
    def grad(x, n):
        with tf.GradientTape() as t:
            t.watch(x)
            y = tf.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, y * y * 0.5 + x), (0, x))[1]
            total = tf.reduce_sum(y)
        return t.gradient(total, x)

    for size in (2, 5):
        x = tf.constant(np.linspace(-0.5, 0.5, size).astype(np.float32))
        with tf.GradientTape() as t:
            t.watch(x)
            y = x
            for _ in range(3):
                y = y * y * 0.5 + x
            total = tf.reduce_sum(y)
        np.testing.assert_allclose(grad(x, tf.constant(3)).numpy(), t.gradient(total, x).numpy(),
                                   rtol=1e-5)
    assert grad.experimental_get_tracing_count() == 1


def test_saved_train_step_with_a_loop(tmp_path):
    class M(tf.Module):
        def __init__(self):
            self.w = tf.Variable(0.8)

        @tf.function(input_signature=[tf.TensorSpec([3]), tf.TensorSpec([], tf.int32)])
        def train(self, x, n):
            with tf.GradientTape() as t:
                y = tf.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, y * self.w + x), (0, x))[1]
                loss = tf.reduce_sum(y)
            self.w.assign_sub(0.01 * t.gradient(loss, self.w))
            return loss

    m = M()
    tf.saved_model.save(m, str(tmp_path / "m"))
    loaded = tf.saved_model.load(str(tmp_path / "m"))
    x = tf.constant([1.0, 2.0, 3.0])
    for _ in range(2):
        got, want = loaded.train(x, tf.constant(4)), m.train(x, tf.constant(4))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
        np.testing.assert_allclose(loaded.w.numpy(), m.w.numpy(), rtol=1e-6)


def test_second_derivatives_through_a_traced_loop_are_refused():
    @tf.function
    def f(x, n):
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = tf.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, y * x), (0, x))[1]
            g = inner.gradient(y, x)
        return outer.gradient(g, x)

    with pytest.raises(tf.errors.UnimplementedError, match="higher-order"):
        f(tf.constant(2.0), tf.constant(3))
