"""Eager tensors that a traced function closes over are captured, as TensorFlow captures them:
each run reads the tensor, and a tape outside the call differentiates through it."""
from __future__ import annotations

import numpy as np

import rstf as tf


def test_a_tape_differentiates_through_a_captured_tensor_on_every_call():
    x = tf.constant(3.0)

    @tf.function
    def f():
        return x * x

    for _ in range(3):  # the call that traces, then calls that run the graph
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = f()
        assert float(y) == 9.0
        assert float(tape.gradient(y, x)) == 6.0
    assert f.experimental_get_tracing_count() == 1
    # The product is an op of the graph, not a constant computed while tracing.
    assert "Mul" in str(f.get_concrete_function().graph)


def test_gradients_reach_both_an_argument_and_a_captured_tensor():
    c = tf.constant([1.0, 2.0])

    @tf.function
    def f(a):
        return tf.reduce_sum(a * c + c * c)

    for a0 in ([3.0, 4.0], [5.0, 6.0]):
        a = tf.constant(a0)
        with tf.GradientTape() as tape:
            tape.watch([a, c])
            y = f(a)
        ga, gc = tape.gradient(y, [a, c])
        np.testing.assert_array_equal(ga.numpy(), [1.0, 2.0])
        np.testing.assert_array_equal(gc.numpy(), np.array(a0) + 2 * np.array([1.0, 2.0]))
    assert f.experimental_get_tracing_count() == 1


def test_a_captured_scalar_stays_apart_from_an_equal_constant():
    c = tf.constant(2.0)

    @tf.function
    def f(a):
        return a * c + a * 2.0

    for _ in range(2):
        a = tf.constant(5.0)
        with tf.GradientTape() as tape:
            tape.watch(c)
            y = f(a)
        assert float(y) == 20.0
        assert float(tape.gradient(y, c)) == 5.0


def test_a_captured_tensor_keeps_its_values_while_tracing():
    # Only ops that use it are traced: the tensor itself stays an eager value.
    n = tf.constant(3)
    seen = []

    @tf.function
    def f(a):
        seen.append(int(n))
        return a * tf.cast(n, tf.float32)

    assert float(f(tf.constant(2.0))) == 6.0
    assert seen == [3]


def test_python_floats_trace_by_their_exact_value():
    @tf.function
    def f(x, s):
        return x / s

    one = tf.constant(1.0)
    assert float(f(one, 0.0)) == np.inf
    assert float(f(one, -0.0)) == -np.inf
    assert np.isnan(float(f(one, float("nan"))))
    assert np.isnan(float(f(one, float("nan"))))
    assert f.experimental_get_tracing_count() == 3
