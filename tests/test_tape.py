"""Variables and GradientTape, with TensorFlow 2's semantics.

Variables: construction, properties, reprs (the guide's, with the package's own name), operators,
assignment (in place, read values keep the old contents), errors. The tape: which variables and
tensors it watches, nested sources and targets, persistence, stop_recording, stop_gradient,
custom_gradient, jacobians, and that finished tapes release what they held.
"""

from __future__ import annotations

import gc
import math
import os
import re
import resource
import weakref

import numpy as np
import pytest
from helpers import check_exact

import rstf as tf

# ----------------------------------------------------------------------------- the guide


def test_guide_variable_reprs():
    var = tf.Variable([0.0, 0.0, 0.0])
    assert repr(var) == (
        "<rstf.Variable 'Variable:0' shape=(3,) dtype=float32, numpy=array([0., 0., 0.], dtype=float32)>")
    assert repr(var.assign([1, 2, 3])) == (
        "<rstf.Variable 'UnreadVariable' shape=(3,) dtype=float32, numpy=array([1., 2., 3.], dtype=float32)>")
    assert repr(var.assign_add([1, 1, 1])) == (
        "<rstf.Variable 'UnreadVariable' shape=(3,) dtype=float32, numpy=array([2., 3., 4.], dtype=float32)>")
    assert repr(var).startswith("<rstf.Variable 'Variable:0' shape=(3,) dtype=float32, numpy=")
    assert repr(var) == (
        "<rstf.Variable 'Variable:0' shape=(3,) dtype=float32, numpy=array([2., 3., 4.], dtype=float32)>")


def test_variable_reprs_scalar_and_matrix():
    assert repr(tf.Variable(1.0, name="w")) == "<rstf.Variable 'w:0' shape=() dtype=float32, numpy=1.0>"
    assert repr(tf.Variable([[1.0, 2.0], [3.0, 4.0]])) == (
        "<rstf.Variable 'Variable:0' shape=(2, 2) dtype=float32, numpy=\n"
        "array([[1., 2.],\n"
        "       [3., 4.]], dtype=float32)>")


def test_guide_gradient_example():
    x = tf.Variable(1.0)

    def f(x):
        y = x**2 + 2 * x - 5
        return y

    assert repr(f(x)) == "<rstf.Tensor: shape=(), dtype=float32, numpy=-2.0>"
    with tf.GradientTape() as tape:
        y = f(x)
    g_x = tape.gradient(y, x)  # g(x) = dy/dx
    assert repr(g_x) == "<rstf.Tensor: shape=(), dtype=float32, numpy=4.0>"


# ----------------------------------------------------------------------------- variables

def test_variable_properties():
    v = tf.Variable([1.0, 2.0, 3.0])
    assert isinstance(v, tf.Variable)
    assert v.shape == (3,)
    assert v.dtype == tf.float32
    assert v.name == "Variable:0"
    assert v.trainable is True
    assert tf.Variable(1.0, name="w").name == "w:0"
    assert tf.Variable(1.0, trainable=False).trainable is False
    a = v.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    np.testing.assert_array_equal(a, [1.0, 2.0, 3.0])
    b = np.asarray(v)
    assert b.dtype == np.float32
    np.testing.assert_array_equal(b, [1.0, 2.0, 3.0])
    for t in (v.read_value(), v.value(), tf.convert_to_tensor(v), tf.identity(v)):
        assert isinstance(t, tf.Tensor)
        assert not isinstance(t, tf.Variable)
        check_exact(t, [1.0, 2.0, 3.0], "float32")


@pytest.mark.parametrize(("value", "kwargs", "dtype", "expected"), [
    ([1, 2], {"dtype": tf.float64}, "float64", [1.0, 2.0]),
    ([1, 2], {}, "int32", [1, 2]),
    ([1.5, 2], {}, "float32", [1.5, 2.0]),
    (np.array([1.5, -2.0]), {}, "float64", [1.5, -2.0]),
    (np.array([[1, 2]], dtype=np.int64), {}, "int64", [[1, 2]]),
    (3.0, {"dtype": tf.float64}, "float64", 3.0),
    ([[1.0, 2.0], [3.0, 4.0]], {}, "float32", [[1.0, 2.0], [3.0, 4.0]]),
])
def test_variable_dtypes(value, kwargs, dtype, expected):
    v = tf.Variable(value, **kwargs)
    assert v.dtype == tf.as_dtype(dtype)
    assert v.shape == np.shape(expected)
    check_exact(v.read_value(), expected, dtype)


def test_variable_copies_its_initial_value():
    a = np.array([1.0, 2.0])
    v = tf.Variable(a)
    a[0] = 9.0
    check_exact(v.read_value(), [1.0, 2.0], "float64")
    v.assign([3.0, 4.0])
    np.testing.assert_array_equal(a, [9.0, 2.0])


def test_variable_from_a_tensor():
    t = tf.constant([[1, 2], [3, 4]])
    v = tf.Variable(t)
    assert v.dtype == tf.int32 and v.shape == (2, 2)
    v.assign([[5, 6], [7, 8]])
    check_exact(t, [[1, 2], [3, 4]], "int32")  # the tensor it came from is unchanged
    check_exact(v.read_value(), [[5, 6], [7, 8]], "int32")


def test_variable_operators_and_ops():
    v = tf.Variable([1.0, 2.0, 3.0])
    m = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
    c = tf.constant([[0.5], [1.0]])
    for r, expected in [
        (v + 1, [2.0, 3.0, 4.0]),
        (1 + v, [2.0, 3.0, 4.0]),
        (2 * v, [2.0, 4.0, 6.0]),
        (v * v, [1.0, 4.0, 9.0]),
        (v - 1, [0.0, 1.0, 2.0]),
        (v / 2, [0.5, 1.0, 1.5]),
        (v ** 2, [1.0, 4.0, 9.0]),
        (-v, [-1.0, -2.0, -3.0]),
        (v[0], 1.0),
        (v[1:], [2.0, 3.0]),
        (m @ c, [[2.5], [5.5]]),
        (m @ m, [[7.0, 10.0], [15.0, 22.0]]),
        (tf.matmul(m, c), [[2.5], [5.5]]),
        (tf.reduce_sum(v), 6.0),
        (tf.exp(tf.zeros_like(v)), [1.0, 1.0, 1.0]),
        (tf.concat([v, v], axis=0), [1.0, 2.0, 3.0, 1.0, 2.0, 3.0]),
    ]:
        assert isinstance(r, tf.Tensor) and not isinstance(r, tf.Variable)
        check_exact(r, expected, "float32")
    check_exact(v > 1.5, [False, True, True], "bool")
    check_exact(v <= 2, [True, True, False], "bool")
    assert float(v[2]) == 3.0


def test_assign_is_in_place_and_reads_keep_old_values():
    v = tf.Variable([1.0, 2.0, 3.0, 4.0])
    same = v
    r = v.read_value()
    val = v.value()
    conv = tf.convert_to_tensor(v)
    sl = v[::2]
    s = v + 0
    a = v.numpy()
    out = v.assign([5.0, 6.0, 7.0, 8.0])
    assert same is v
    np.testing.assert_array_equal(v.numpy(), [5.0, 6.0, 7.0, 8.0])
    np.testing.assert_array_equal(out.numpy(), [5.0, 6.0, 7.0, 8.0])
    for t in (r, val, conv, s):
        check_exact(t, [1.0, 2.0, 3.0, 4.0], "float32")
    check_exact(sl, [1.0, 3.0], "float32")
    np.testing.assert_array_equal(a, [1.0, 2.0, 3.0, 4.0])
    r2 = v.read_value()
    v.assign_add([1.0, 1.0, 1.0, 1.0])
    check_exact(r2, [5.0, 6.0, 7.0, 8.0], "float32")
    check_exact(v.read_value(), [6.0, 7.0, 8.0, 9.0], "float32")
    v.assign_sub(tf.constant([0.5, 0.5, 0.5, 0.5]))
    check_exact(v.read_value(), [5.5, 6.5, 7.5, 8.5], "float32")
    check_exact(r2, [5.0, 6.0, 7.0, 8.0], "float32")
    check_exact(tf.reduce_sum(v), 28.0, "float32")


def test_assign_from_numpy_and_tensors():
    v = tf.Variable(np.zeros((2, 2)))
    v.assign(np.array([[1.0, 2.0], [3.0, 4.0]]))
    check_exact(v.read_value(), [[1.0, 2.0], [3.0, 4.0]], "float64")
    v.assign(tf.transpose(tf.constant([[1.0, 2.0], [3.0, 4.0]], dtype=tf.float64)))  # a view
    check_exact(v.read_value(), [[1.0, 3.0], [2.0, 4.0]], "float64")
    v.assign_sub(v)
    check_exact(v.read_value(), np.zeros((2, 2)), "float64")


def _shape_pattern(shape):
    if shape == ():
        return r"\(\)|\[\]"
    parts = [str(d) for d in shape]
    tup = "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    return re.escape(tup) + "|" + re.escape("[" + ",".join(parts) + "]") + "|" + re.escape(
        "[" + ", ".join(parts) + "]")


@pytest.mark.parametrize(("value", "shape"), [
    ([1.0, 2.0], (2,)),
    ([[1.0, 2.0, 3.0]], (1, 3)),
    (5.0, ()),
    ([1.0, 2.0, 3.0, 4.0], (4,)),
])
def test_assign_wrong_shape(value, shape):
    v = tf.Variable([1.0, 2.0, 3.0])
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        v.assign(value)
    assert isinstance(info.value, ValueError)
    msg = str(info.value)
    assert re.search(_shape_pattern((3,)), msg), msg
    assert re.search(_shape_pattern(shape), msg), msg
    check_exact(v.read_value(), [1.0, 2.0, 3.0], "float32")  # unchanged


@pytest.mark.parametrize("method", ["assign_add", "assign_sub"])
def test_assign_add_sub_wrong_shape(method):
    v = tf.Variable([1.0, 2.0, 3.0])
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        getattr(v, method)([1.0, 2.0])
    assert isinstance(info.value, ValueError)
    assert re.search(_shape_pattern((2,)), str(info.value)), str(info.value)
    check_exact(v.read_value(), [1.0, 2.0, 3.0], "float32")


@pytest.mark.parametrize(("value", "name"), [
    (tf.constant([1.0, 2.0, 3.0], dtype=tf.float64), "float64"),
    (tf.constant([1, 2, 3]), "int32"),
    (tf.constant([True, False, True]), "bool"),
])
def test_assign_wrong_dtype(value, name):
    v = tf.Variable([1.0, 2.0, 3.0])
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        v.assign(value)
    assert isinstance(info.value, ValueError)
    msg = str(info.value)
    assert "float32" in msg and name in msg, msg
    check_exact(v.read_value(), [1.0, 2.0, 3.0], "float32")


def test_ragged_variable_is_an_error():
    with pytest.raises(ValueError):
        tf.Variable([[1.0, 2.0], [3.0]])


# ----------------------------------------------------------------------------- watching

def test_trainable_variables_are_watched():
    w = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
    b = tf.Variable([0.5, -0.5])
    x = tf.constant([[1.0, -1.0]])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.matmul(x, w) + b)
    gw, gb = tape.gradient(y, [w, b])
    for g in (gw, gb):
        assert isinstance(g, tf.Tensor) and not isinstance(g, tf.Variable)
    check_exact(gw, [[1.0, 1.0], [-1.0, -1.0]], "float32")
    check_exact(gb, [1.0, 1.0], "float32")


def test_non_trainable_variables_are_not_watched():
    v = tf.Variable(2.0, trainable=False)
    w = tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as tape:
        y = v * w
    assert tape.gradient(y, v) is None
    check_exact(tape.gradient(y, w), 2.0, "float32")
    assert [id(x) for x in tape.watched_variables()] == [id(w)]
    del tape
    with tf.GradientTape() as tape:
        tape.watch(v)
        y = v * w
    check_exact(tape.gradient(y, v), 3.0, "float32")


def test_watch_accessed_variables_false():
    a = tf.Variable(2.0)
    b = tf.Variable(5.0)
    with tf.GradientTape(watch_accessed_variables=False, persistent=True) as tape:
        y = a * b
    assert tape.watched_variables() == ()
    assert tape.gradient(y, [a, b]) == [None, None]
    del tape
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(a)
        y = a * b
    watched = tape.watched_variables()
    assert isinstance(watched, tuple) and len(watched) == 1 and watched[0] is a
    ga, gb = tape.gradient(y, [a, b])
    check_exact(ga, 5.0, "float32")
    assert gb is None


def test_watched_variables():
    a = tf.Variable(1.0)
    b = tf.Variable([2.0, 3.0])
    c = tf.Variable(3.0, trainable=False)
    d = tf.Variable(4.0)  # never read
    assert d.numpy() == 4.0
    with tf.GradientTape() as tape:
        y = a * tf.reduce_sum(b) + c
        y = y + a
    watched = tape.watched_variables()
    assert isinstance(watched, tuple)
    assert len(watched) == 2
    assert sorted(id(v) for v in watched) == sorted([id(a), id(b)])
    assert all(isinstance(v, tf.Variable) for v in watched)
    ga, gb = tape.gradient(y, [a, b])
    check_exact(ga, 6.0, "float32")
    check_exact(gb, [1.0, 1.0], "float32")


def test_watch_constants():
    x = tf.constant([1.0, 2.0, 3.0])
    u = tf.constant(4.0)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = tf.reduce_sum(x * x) * u
    check_exact(tape.gradient(y, x), [8.0, 16.0, 24.0], "float32")
    assert tape.gradient(y, u) is None  # not watched
    del tape
    with tf.GradientTape() as tape:
        tape.watch([x, u])  # a list
        y = tf.reduce_sum(x * x) * u
    gx, gu = tape.gradient(y, [x, u])
    check_exact(gx, [8.0, 16.0, 24.0], "float32")
    check_exact(gu, 14.0, "float32")


def test_reads_outside_the_tape_are_not_recorded():
    v = tf.Variable(3.0)
    before = v * 2.0
    x = tf.constant(2.0)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = before * x
        z = x * x
    outside = z * 3.0
    assert tape.gradient(y, v) is None
    check_exact(tape.gradient(y, x), 6.0, "float32")
    assert tape.gradient(outside, x) is None
    del tape


def test_gradient_uses_the_values_at_recording():
    v = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = v * v
    v.assign(10.0)
    check_exact(tape.gradient(y, v), 4.0, "float32")
    v.assign(2.0)
    with tf.GradientTape() as tape:
        y = v * v  # d/dv = 2 * 2
        v.assign(10.0)
        z = y + v  # this read contributes 1
    check_exact(tape.gradient(z, v), 5.0, "float32")


def test_gradient_dtype_and_shape_follow_the_source():
    v = tf.Variable(np.array([[1.0, 2.0, 3.0]]))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.square(v))
    g = tape.gradient(y, v)
    assert g.dtype == tf.float64 and g.shape == (1, 3)
    check_exact(g, [[2.0, 4.0, 6.0]], "float64")


def test_target_is_the_source():
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
    check_exact(tape.gradient(x, x), [1.0, 1.0], "float32")


def test_same_source_twice():
    x = tf.constant(3.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    g1, g2 = tape.gradient(y, [x, x])
    check_exact(g1, 6.0, "float32")
    check_exact(g2, 6.0, "float32")


# ----------------------------------------------------------------------------- nests, targets

def test_sources_in_nests():
    a = tf.Variable(1.0)
    b = tf.Variable([1.0, 2.0])
    c = tf.constant(3.0)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(c)
        y = a * 2.0 + tf.reduce_sum(b * b) + c * c * c
    g = tape.gradient(y, [a, b])
    assert isinstance(g, list) and len(g) == 2
    g = tape.gradient(y, (a, b))
    assert isinstance(g, tuple) and len(g) == 2
    check_exact(g[0], 2.0, "float32")
    check_exact(g[1], [2.0, 4.0], "float32")
    g = tape.gradient(y, {"a": a, "b": b})
    assert isinstance(g, dict) and set(g) == {"a", "b"}
    check_exact(g["a"], 2.0, "float32")
    check_exact(g["b"], [2.0, 4.0], "float32")
    g = tape.gradient(y, {"x": a, "rest": [b, (c,)]})
    assert set(g) == {"x", "rest"}
    assert isinstance(g["rest"], list) and isinstance(g["rest"][1], tuple)
    check_exact(g["x"], 2.0, "float32")
    check_exact(g["rest"][0], [2.0, 4.0], "float32")
    check_exact(g["rest"][1][0], 27.0, "float32")
    del tape


def test_non_scalar_target_differentiates_its_sum():
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    check_exact(tape.gradient(y, x), [[2.0, 4.0], [6.0, 8.0]], "float32")


def test_multiple_targets_are_summed():
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y1 = x * x
        y2 = tf.reduce_sum(3.0 * x)
    check_exact(tape.gradient([y1, y2], x), [5.0, 7.0], "float32")
    check_exact(tape.gradient({"p": y1, "q": [y2]}, x), [5.0, 7.0], "float32")
    check_exact(tape.gradient((y1, y1), x), [4.0, 8.0], "float32")
    del tape


def test_output_gradients():
    x = tf.constant([1.0, 2.0, 3.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = tf.reduce_sum(x)
    check_exact(tape.gradient(y, x, output_gradients=tf.constant([1.0, 0.5, -2.0])), [2.0, 2.0, -12.0],
                "float32")
    check_exact(tape.gradient([y, z], x, output_gradients=[tf.constant([1.0, 0.0, 1.0]), tf.constant(2.0)]),
                [4.0, 2.0, 8.0], "float32")
    del tape


# ----------------------------------------------------------------------------- persistence

def test_non_persistent_tape_gives_one_gradient():
    x = tf.constant(2.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    check_exact(tape.gradient(y, x), 4.0, "float32")
    with pytest.raises(RuntimeError):
        tape.gradient(y, x)


def test_persistent_tape_gives_several():
    x = tf.constant(3.0)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = y * y
    check_exact(tape.gradient(z, x), 108.0, "float32")
    check_exact(tape.gradient(y, x), 6.0, "float32")
    check_exact(tape.gradient(z, x), 108.0, "float32")
    check_exact(tape.gradient(z, y), 18.0, "float32")  # an intermediate as the source
    del tape


def test_persistent_tape_records_a_gradient_taken_inside_its_context():
    x = tf.constant(3.0)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x * x
        dy = tape.gradient(y, x)  # recorded: the tape differentiates it again
        with tape.stop_recording():
            dy_quiet = tape.gradient(y, x)
    check_exact(dy, 27.0, "float32")
    check_exact(tape.gradient(dy, x), 18.0, "float32")
    assert tape.gradient(dy_quiet, x) is None
    check_exact(tape.gradient(y, x), 27.0, "float32")  # the first-order result is unchanged
    del tape


# ----------------------------------------------------------------------------- stopping

def test_stop_recording():
    x = tf.constant(3.0)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        with tape.stop_recording():
            z = x * 4.0
        total = y + z
    assert tape.gradient(z, x) is None
    check_exact(tape.gradient(total, x), 6.0, "float32")
    del tape


def test_stop_gradient():
    x = tf.constant(3.0)
    v = tf.Variable(2.0)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = tf.stop_gradient(x * x) + 2.0 * x
        s = tf.stop_gradient(x)
        z = tf.stop_gradient(v) * v
    check_exact(y, 15.0, "float32")
    check_exact(tape.gradient(y, x), 2.0, "float32")
    assert tape.gradient(s, x) is None
    check_exact(tape.gradient(z, v), 2.0, "float32")
    del tape


# ----------------------------------------------------------------------------- custom gradients

def _log1pexp():
    """The guide's log(1 + exp(x)) with a gradient that stays finite for large x."""
    @tf.custom_gradient
    def log1pexp(x):
        e = tf.exp(x)

        def grad(upstream):
            return upstream * (1 - 1 / (1 + e))

        return tf.math.log(1 + e), grad

    return log1pexp


def test_custom_gradient_stable_log1pexp():
    log1pexp = _log1pexp()
    x = tf.constant([0.0, 100.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(log1pexp(x))
    g = tape.gradient(y, x)
    check_exact(g, [0.5, 1.0], "float32")
    # Without the custom gradient, 0 * inf gives NaN at 100 (the guide's point).
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(tf.math.log(1 + tf.exp(x)))
    g = tape.gradient(y, x).numpy()
    assert g[0] == 0.5 and math.isnan(g[1])


def test_custom_gradient_composes_with_the_chain_rule():
    log1pexp = _log1pexp()
    x = tf.constant([0.0, 1.0, -2.0], dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(3.0 * log1pexp(x * x))
    xv = np.array([0.0, 1.0, -2.0])
    sig = 1 / (1 + np.exp(-xv * xv))
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), 3.0 * sig * 2 * xv, rtol=1e-14)


def test_custom_gradient_value_is_used():
    @tf.custom_gradient
    def clip_gradient(x):
        def grad(upstream):
            return tf.clip_by_value(upstream, -1.0, 1.0)

        return x * 1.0, grad

    x = tf.constant([1.0, 2.0, 3.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = clip_gradient(x)
        check_exact(y, [1.0, 2.0, 3.0], "float32")
        loss = tf.reduce_sum(y * tf.constant([5.0, 0.5, -3.0]))
    check_exact(tape.gradient(loss, x), [1.0, 0.5, -1.0], "float32")


def test_custom_gradient_with_two_inputs():
    @tf.custom_gradient
    def fake_product(x, y):
        def grad(upstream):
            return upstream * 2.0, upstream * 3.0

        return x * y, grad

    a = tf.constant([1.0, 4.0])
    b = tf.constant([5.0, 6.0])
    with tf.GradientTape() as tape:
        tape.watch([a, b])
        y = tf.reduce_sum(fake_product(a, b))
    check_exact(y, 29.0, "float32")
    ga, gb = tape.gradient(y, [a, b])
    check_exact(ga, [2.0, 2.0], "float32")
    check_exact(gb, [3.0, 3.0], "float32")


def test_custom_gradient_gives_gradients_to_the_variables_it_reads():
    w = tf.Variable([2.0, 3.0])

    @tf.custom_gradient
    def scaled(x):
        def grad(dy, variables=None):
            assert [v.name for v in variables] == [w.name]
            return dy * w * 10.0, [dy * x * 100.0]

        return x * w, grad

    x = tf.constant([1.0, 4.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(scaled(x))
    check_exact(y, 14.0, "float32")
    gx, gw = tape.gradient(y, [x, w])
    check_exact(gx, [20.0, 30.0], "float32")
    check_exact(gw, [100.0, 400.0], "float32")


def test_custom_gradient_that_reads_variables_needs_a_variables_argument():
    w = tf.Variable(2.0)

    @tf.custom_gradient
    def f(x):
        return x * w, lambda dy: dy

    with pytest.raises(TypeError, match="keyword argument 'variables'"):
        f(tf.constant(1.0))

    # A variable passed as an argument, by position or keyword, is an input, not a capture.
    @tf.custom_gradient
    def g(x, v=None):
        return x * v, lambda dy: dy * v

    x = tf.constant(3.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = g(x, v=w)
    check_exact(tape.gradient(y, x), 2.0, "float32")


# ----------------------------------------------------------------------------- jacobians

def test_jacobian_vector():
    xv = np.array([0.5, -1.2])
    x = tf.constant(xv)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.stack([x[0] * x[1], tf.sin(x[0]), x[1] ** 2])
    j = tape.jacobian(y, x)
    assert isinstance(j, tf.Tensor) and j.shape == (3, 2) and j.dtype == tf.float64
    expected = [[xv[1], xv[0]], [np.cos(xv[0]), 0.0], [0.0, 2 * xv[1]]]
    np.testing.assert_allclose(j.numpy(), expected, rtol=1e-15)
    with pytest.raises(RuntimeError):  # one jacobian per non-persistent tape
        tape.jacobian(y, x)


def test_jacobian_of_a_matrix_with_respect_to_a_variable():
    rng = np.random.default_rng(3)
    wv = rng.normal(size=(3, 4))
    x = tf.Variable(rng.normal(size=(2, 3)))
    w = tf.constant(wv)
    with tf.GradientTape(persistent=True) as tape:
        y = x @ w
        s = tf.reduce_sum(y)
    j = tape.jacobian(y, x)
    assert j.shape == (2, 4, 2, 3)
    expected = np.einsum("ik,lj->ijkl", np.eye(2), wv)
    np.testing.assert_allclose(j.numpy(), expected, rtol=1e-15)
    # Persistent: again, and a gradient too.
    np.testing.assert_allclose(tape.jacobian(y, x).numpy(), expected, rtol=1e-15)
    js = tape.jacobian(s, x)
    assert js.shape == (2, 3)
    np.testing.assert_allclose(js.numpy(), np.broadcast_to(wv.sum(axis=1), (2, 3)), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(tape.gradient(s, x).numpy(), js.numpy(), rtol=1e-14, atol=1e-14)
    del tape


def test_batch_jacobian():
    rng = np.random.default_rng(4)
    xv = rng.normal(size=(5, 2))
    wv = rng.normal(size=(2, 3))
    x = tf.constant(xv)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.tanh(x @ tf.constant(wv))
    j = tape.batch_jacobian(y, x)
    assert j.shape == (5, 3, 2) and j.dtype == tf.float64
    d = 1 - np.tanh(xv @ wv) ** 2  # (5, 3)
    expected = d[:, :, None] * wv.T[None, :, :]
    np.testing.assert_allclose(j.numpy(), expected, rtol=1e-12, atol=1e-14)


def test_jacobian_after_gradient_on_a_non_persistent_tape():
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    check_exact(tape.gradient(y, x), [2.0, 4.0], "float32")
    with pytest.raises(RuntimeError):
        tape.jacobian(y, x)


# ----------------------------------------------------------------------------- nested tapes

def test_second_derivative_of_a_variable():
    v = tf.Variable(3.0)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = v ** 3
        d1 = inner.gradient(y, v)
    d2 = outer.gradient(d1, v)
    assert d1.dtype == tf.float32 and d2.dtype == tf.float32
    np.testing.assert_allclose(d1.numpy(), 27.0, rtol=1e-6)
    np.testing.assert_allclose(d2.numpy(), 18.0, rtol=1e-6)


# ----------------------------------------------------------------------------- errors

@pytest.mark.parametrize("source", ["x", object()], ids=["str", "object"])
def test_gradient_with_a_bad_source(source):
    x = tf.constant(1.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    with pytest.raises((TypeError, ValueError)):
        tape.gradient(y, source)


# ----------------------------------------------------------------------------- memory

def _rss() -> int:
    """Resident memory in bytes (peak resident memory where /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


MiB = 2**20


def test_training_loop_memory_is_flat_and_converges():
    rng = np.random.default_rng(0)
    xv = rng.normal(size=(256, 8)).astype(np.float32)
    true_w = rng.normal(size=(8, 1)).astype(np.float32)
    x = tf.constant(xv)
    y = tf.constant(xv @ true_w + np.float32(0.25))
    w = tf.Variable(tf.zeros([8, 1]))
    b = tf.Variable(tf.zeros([1]))
    losses = []
    rss200 = None
    for step in range(2000):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))
        grads = tape.gradient(loss, [w, b])
        w.assign_sub(0.1 * grads[0])
        b.assign_sub(0.1 * grads[1])
        losses.append(float(loss))
        if step == 199:
            gc.collect()
            rss200 = _rss()
    gc.collect()
    rss2000 = _rss()
    assert rss2000 - rss200 < 3 * MiB, (rss200, rss2000)
    assert losses[0] > 1.0
    assert losses[-1] < 1e-8
    np.testing.assert_allclose(w.numpy(), true_w, atol=1e-4)
    np.testing.assert_allclose(b.numpy(), [0.25], atol=1e-4)


@pytest.mark.parametrize("persistent", [False, True])
def test_finished_tapes_release_their_tensors(persistent):
    xv = np.linspace(-1.0, 1.0, 1_000_000, dtype=np.float32)  # 4 MB per intermediate
    x = tf.constant(xv)
    v = tf.Variable(1.0)
    kept = []

    def step():
        with tf.GradientTape(persistent=persistent) as tape:
            h = tf.exp(x * v)
            loss = tf.reduce_sum(h * h)
        g = tape.gradient(loss, v)
        if persistent:
            g = tape.gradient(loss, v)
        kept.append((loss, g))  # results stay alive; the step's intermediates must not
        return weakref.ref(tape)

    step()
    ref = step()
    gc.collect()
    assert ref() is None
    expected = np.sum(2.0 * xv.astype(np.float64) * np.exp(2.0 * xv.astype(np.float64)))
    np.testing.assert_allclose(float(kept[0][1]), expected, rtol=1e-3)
    base = _rss()
    for _ in range(20):
        ref = step()
        gc.collect()
        assert ref() is None
    grown = _rss() - base
    assert grown < 24 * MiB, grown / MiB


def test_deleted_tape_is_collected():
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
    g = tape.gradient(y, x)
    ref = weakref.ref(tape)
    del tape
    gc.collect()
    assert ref() is None
    check_exact(g, [2.0, 4.0], "float32")
    check_exact(y, [1.0, 4.0], "float32")
