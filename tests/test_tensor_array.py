"""rstf.TensorArray (eager, traced, in graph loops, gradients) and tf.function's variable rules."""

import numpy as np
import pytest

import rstf as tf


def test_eager_write_read_stack():
    ta = tf.TensorArray(tf.float32, size=3)
    ta = ta.write(0, [1.0, 2.0]).write(2, [5.0, 6.0])
    np.testing.assert_array_equal(ta.read(2).numpy(), [5.0, 6.0])
    np.testing.assert_array_equal(ta.stack().numpy(), [[1, 2], [0, 0], [5, 6]])
    assert int(ta.size()) == 3
    assert ta.dtype == tf.float32
    assert ta.element_shape.as_list() == [2]


def test_dynamic_size_grows_and_fixed_size_refuses():
    ta = tf.TensorArray(tf.int32, size=0, dynamic_size=True)
    for i in range(4):
        ta = ta.write(i, i * 10)
    np.testing.assert_array_equal(ta.stack().numpy(), [0, 10, 20, 30])
    fixed = tf.TensorArray(tf.int32, size=1)
    with pytest.raises(tf.errors.InvalidArgumentError):
        fixed.write(1, 3)


def test_unstack_gather_scatter_concat_split():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    ta = tf.TensorArray(tf.float32, size=4).unstack(x)
    np.testing.assert_array_equal(ta.gather([3, 1]).numpy(), x[[3, 1]])
    np.testing.assert_array_equal(ta.concat().numpy(), x.reshape(-1))
    sc = tf.TensorArray(tf.float32, size=4).scatter([2, 0], x[:2])
    np.testing.assert_array_equal(sc.stack().numpy(), [x[1], np.zeros(3), x[0], np.zeros(3)])
    sp = tf.TensorArray(tf.float32, size=2).split(np.arange(5, dtype=np.float32), [2, 3])
    np.testing.assert_array_equal(sp.read(1).numpy(), [2, 3, 4])
    np.testing.assert_array_equal(sp.concat().numpy(), np.arange(5))


def test_incompatible_shape_is_refused():
    ta = tf.TensorArray(tf.float32, size=2).write(0, [1.0, 2.0])
    with pytest.raises(ValueError, match="Incompatible shape"):
        ta.write(1, [1.0, 2.0, 3.0])


def test_autograph_loop_matches_numpy_cumsum():
    @tf.function
    def running(x):
        ta = tf.TensorArray(tf.float32, size=x.shape[0])
        s = tf.zeros([x.shape[1]])
        for i in tf.range(x.shape[0]):
            s = s + x[i]
            ta = ta.write(i, s)
        return ta.stack()

    x = np.random.RandomState(0).rand(5, 3).astype(np.float32)
    np.testing.assert_allclose(running(tf.constant(x)).numpy(), np.cumsum(x, axis=0), rtol=1e-6)


def test_loop_read_of_unstacked_array():
    @tf.function
    def rev(x):
        src = tf.TensorArray(tf.int32, size=4).unstack(x)
        dst = tf.TensorArray(tf.int32, size=4, element_shape=[])
        for i in tf.range(4):
            dst = dst.write(3 - i, src.read(i) * 2)
        return dst.stack()

    np.testing.assert_array_equal(rev(tf.constant([1, 2, 3, 4])).numpy(), [8, 6, 4, 2])


def test_gradient_through_write_and_stack():
    x = tf.constant([1.0, 2.0, 3.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        ta = tf.TensorArray(tf.float32, size=2)
        ta = ta.write(0, x * x).write(1, 3.0 * x)
        loss = tf.reduce_sum(ta.stack())
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), 2 * np.array([1.0, 2.0, 3.0]) + 3)


def test_gradient_through_traced_loop():
    @tf.function
    def grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            ta = tf.TensorArray(tf.float32, size=3)
            for i in tf.range(3):
                ta = ta.write(i, x * tf.cast(i + 1, tf.float32))
            loss = tf.reduce_sum(ta.stack() ** 2)
        return tape.gradient(loss, x)

    # loss = sum_k (k x)^2 for k = 1..3 -> d/dx = 2 x * 14
    np.testing.assert_allclose(grad(tf.constant([1.0, -2.0])).numpy(), [28.0, -56.0], rtol=1e-6)


def test_dynamic_size_in_graph_loop_is_a_clear_error():
    @tf.function
    def f(n):
        ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        for i in tf.range(n):
            ta = ta.write(i, 1.0)
        return ta.stack()

    with pytest.raises(tf.errors.UnimplementedError, match="dynamic_size"):
        f(tf.constant(3))


# ---------------------------------------------------------------- tf.function and variables

def test_variable_created_on_every_trace_is_refused():
    @tf.function
    def f(x):
        return tf.Variable(1.0) + x

    with pytest.raises(ValueError, match="singleton tf.Variables created on the first call"):
        f(1.0)


def test_variable_created_once_is_allowed():
    class Count(tf.Module):
        def __init__(self):
            self.count = None

        @tf.function
        def __call__(self):
            if self.count is None:
                self.count = tf.Variable(0)
            return self.count.assign_add(1)

    c = Count()
    assert int(c()) == 1
    assert int(c()) == 2


def test_variable_created_on_a_later_trace_is_refused():
    calls = []

    @tf.function
    def g(x):
        calls.append(1)
        if len(calls) == 2:
            tf.Variable(1.0)
        return x

    g(1.0)
    with pytest.raises(ValueError, match="non-first call"):
        g(tf.constant([1.0, 2.0]))


def test_second_optimizer_in_a_new_trace_is_refused():
    opt1 = tf.keras.optimizers.Adam(learning_rate=1e-2)
    opt2 = tf.keras.optimizers.Adam(learning_rate=1e-3)

    @tf.function
    def step(w, opt):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(w * 2.0 - 1.0))
        opt.apply_gradients(zip(tape.gradient(loss, [w]), [w]))

    w = tf.Variable(2.0)
    step(w, opt1)
    assert float(w) != 2.0
    with pytest.raises(ValueError, match="singleton"):
        step(w, opt2)
