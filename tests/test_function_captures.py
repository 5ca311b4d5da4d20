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


def test_values_computed_from_captured_tensors_are_readable_while_tracing():
    # They are the same on every run (a captured tensor never changes), so Python may use them
    # as indices, sizes and conditions, as it may outside the function.
    k = tf.constant(2)
    shape = tf.constant([2, 3])
    cases = [
        lambda x: x[:k + 1],
        lambda x: tf.range(k * 2),
        lambda x: tf.one_hot([0, 1], k + 1),
        lambda x: tf.reshape(x, shape[::-1]),
        lambda x: x * 2.0 if tf.reduce_sum(k) > 0 else x,
    ]
    for fn in cases:
        traced = tf.function(fn)
        for x in (tf.ones([6]), tf.range(6.0)):
            np.testing.assert_array_equal(traced(x).numpy(), fn(x).numpy())


def test_a_tensor_made_on_the_first_trace_keeps_the_function_polymorphic():
    # A layer's build() keeps a plain tensor: made by the first trace, it is a constant of
    # the second one too (which confirms the graph at other sizes).
    class Table(tf.keras.layers.Layer):
        def build(self, shape):
            self.table = tf.sin(tf.range(float(shape[-1])))

        def call(self, x):
            return x + self.table * 2.0

    layer = Table()
    f = tf.function(layer, input_signature=[tf.TensorSpec([None, 4])])
    for n in (2, 3, 5):
        np.testing.assert_allclose(f(tf.ones([n, 4])).numpy(),
                                   1.0 + 2.0 * np.sin(np.tile(np.arange(4.0), (n, 1))), rtol=1e-6)
    assert f.experimental_get_tracing_count() == 1
    assert f.get_concrete_function().graph.polymorphic


def test_a_tensor_captured_in_a_loop_body_gets_gradients_on_every_call():
    c = tf.constant([1.0, 2.0, 3.0])

    @tf.function
    def f(n):
        body = lambda i, acc: (i + 1, acc + c * c)  # noqa: E731
        return tf.reduce_sum(tf.while_loop(lambda i, a: i < n, body, (0, tf.zeros([3])))[1])

    for _ in range(3):
        with tf.GradientTape() as tape:
            tape.watch(c)
            y = f(tf.constant(2))
        assert float(y) == 28.0
        np.testing.assert_array_equal(tape.gradient(y, c).numpy(), [4.0, 8.0, 12.0])
    assert f.experimental_get_tracing_count() == 1


def test_variables_passed_as_arguments_trace_once_per_dtype_and_shape():
    # TensorFlow: a variable argument is an input (keyed by dtype and shape), not a constant.
    traces = []

    @tf.function
    def step(v, x):
        traces.append(1)
        v.assign_add(x)
        return v * 2.0

    vs = [tf.Variable([1.0, 2.0]), tf.Variable([10.0, 20.0]), tf.Variable([100.0, 200.0])]
    for v in vs:
        np.testing.assert_array_equal(step(v, tf.constant([1.0, 1.0])).numpy(), v.numpy() * 2.0)
    assert len(traces) == 1
    assert [v.numpy().tolist() for v in vs] == [[2.0, 3.0], [11.0, 21.0], [101.0, 201.0]]
    step(vs[0], tf.constant([1.0, 1.0]))  # back to the first: still the same trace
    assert len(traces) == 1 and vs[0].numpy().tolist() == [3.0, 4.0]
    step(tf.Variable([1.0, 2.0, 3.0]), tf.constant([1.0, 1.0, 1.0]))  # another shape: a trace
    assert len(traces) == 2

    @tf.function
    def dot(a, b):
        traces.append(1)
        return tf.reduce_sum(a * b)

    del traces[:]
    for a, b in [(vs[0], vs[0]), (vs[1], vs[1]), (vs[1], vs[2]), (vs[2], vs[0])]:
        with tf.GradientTape() as tape:
            y = dot(a, b)
        assert float(y) == float(np.sum(a.numpy() * b.numpy()))
        grads = tape.gradient(y, [a, b])
        if a is b:  # the same variable twice: d(sum(a * a))/da = 2a
            np.testing.assert_array_equal(grads[0].numpy(), 2.0 * a.numpy())
        else:
            np.testing.assert_array_equal(grads[0].numpy(), b.numpy())
            np.testing.assert_array_equal(grads[1].numpy(), a.numpy())
    assert len(traces) == 2  # one for dot(v, v), one for dot(v, w)
