"""``rstf.function``: tracing Python functions into graphs.

A traced function must behave as the Python function run eagerly: the same values (to the bit),
the same structure of outputs, the same effect on variables and the same gradients, while the
Python body runs only when a call has a new signature (dtype and shape of each tensor, value of
each Python argument, structure of the arguments). Reading the value of a traced tensor from
Python raises ``OperatorNotAllowedInGraphError``; ``rstf.cond`` and ``rstf.while_loop`` are the
ways to branch and loop. The graphs themselves are checked through their text: op names, dead
code removed, common subexpressions merged, constant subexpressions folded.
"""

from __future__ import annotations

import re

import hypothesis.strategies as st
import numpy as np
import pytest
from helpers import FAST, FULL_FLOATS, draw_array, make_tensor
from hypothesis import given, settings

import rstf as tf

PROP = settings(FAST, max_examples=20)


def _traced_ops(cf, name):
    """How many times the concrete function's graph runs the op ``name`` (inside fused chains
    too: ``Fused[Mul -> AddV2](...)``)."""
    return len(re.findall(rf"(= |\[| -> ){name}(\[|\(| -> |\]\()", str(cf.graph)))


def _same_bits(got, expected):
    """``got`` and ``expected`` are tensors with the same dtype, shape and bytes."""
    assert isinstance(got, tf.Tensor), type(got)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert tuple(got.shape) == tuple(expected.shape), (got.shape, expected.shape)
    g, e = np.ascontiguousarray(got.numpy()), np.ascontiguousarray(expected.numpy())
    assert g.tobytes() == e.tobytes(), (g, e)


# ----------------------------------------------------------------------------- the guide's cell

def test_guide_cell(capsys):
    @tf.function
    def my_func(x):
        print('Tracing.\n')
        return tf.reduce_sum(x)

    r = my_func(tf.constant([1, 2, 3]))
    assert capsys.readouterr().out == "Tracing.\n\n"
    assert repr(r) == "<rstf.Tensor: shape=(), dtype=int32, numpy=6>"

    r = my_func(tf.constant([10, 9, 8]))
    assert capsys.readouterr().out == ""
    assert repr(r) == "<rstf.Tensor: shape=(), dtype=int32, numpy=27>"

    r = my_func(tf.constant([10.0, 9.1, 8.2], dtype=tf.float32))
    assert capsys.readouterr().out == "Tracing.\n\n"
    assert repr(r) == "<rstf.Tensor: shape=(), dtype=float32, numpy=27.3>"
    assert my_func.experimental_get_tracing_count() == 2


# ----------------------------------------------------------------------------- retracing

def _counting(fn):
    """``(function, calls)``: ``calls`` lists the arguments of each run of the Python body."""
    calls = []

    def body(*args, **kwargs):
        calls.append((args, kwargs))
        return fn(*args, **kwargs)

    return tf.function(body), calls


def test_same_dtype_and_shape_does_not_retrace():
    f, calls = _counting(lambda x: x * 2.0 + 1.0)
    for vals in ([1.0, 2.0], [3.0, -4.0], [0.5, 0.25]):
        np.testing.assert_array_equal(f(tf.constant(vals)).numpy(), np.float32(vals) * 2 + 1)
    assert len(calls) == 1
    assert f.experimental_get_tracing_count() == 1


def test_new_shape_or_dtype_retraces():
    f, calls = _counting(lambda x: tf.reduce_sum(x * x))
    assert f(tf.constant([1.0, 2.0])).numpy() == 5.0
    assert f(tf.constant([1.0, 2.0, 3.0])).numpy() == 14.0           # new shape
    assert f(tf.constant([[1.0, 2.0]])).numpy() == 5.0               # new rank
    r = f(tf.constant([1.0, 2.0], dtype=tf.float64))                 # new dtype
    assert r.dtype == tf.float64 and r.numpy() == 5.0
    r = f(tf.constant([1, 2]))
    assert r.dtype == tf.int32 and r.numpy() == 5
    assert len(calls) == 5
    # Every signature seen is cached: none of them traces again.
    assert f(tf.constant([3.0, 4.0])).numpy() == 25.0
    assert f(tf.constant([3.0, 4.0], dtype=tf.float64)).numpy() == 25.0
    assert f(tf.constant([[3.0, 4.0]])).numpy() == 25.0
    assert len(calls) == 5
    assert f.experimental_get_tracing_count() == 5


def test_python_scalars_retrace_per_value():
    f, calls = _counting(lambda x, k, flag: x * k if flag else x - k)
    x = tf.constant([1.0, 2.0])
    np.testing.assert_array_equal(f(x, 2, True).numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(f(tf.constant([3.0, 4.0]), 2, True).numpy(), [6.0, 8.0])
    assert len(calls) == 1
    np.testing.assert_array_equal(f(x, 3, True).numpy(), [3.0, 6.0])
    np.testing.assert_array_equal(f(x, 3, False).numpy(), [-2.0, -1.0])
    np.testing.assert_array_equal(f(x, 2.5, True).numpy(), [2.5, 5.0])
    assert len(calls) == 4
    np.testing.assert_array_equal(f(x, 3, True).numpy(), [3.0, 6.0])
    assert len(calls) == 4


def test_keyword_arguments():
    f, calls = _counting(lambda x, scale=1.0: x * scale)
    np.testing.assert_array_equal(f(tf.constant([1.0]), scale=3.0).numpy(), [3.0])
    np.testing.assert_array_equal(f(x=tf.constant([2.0]), scale=3.0).numpy(), [6.0])
    np.testing.assert_array_equal(f(tf.constant([2.0]), scale=4.0).numpy(), [8.0])
    np.testing.assert_array_equal(f(tf.constant([2.0])).numpy(), [2.0])
    assert len(calls) >= 3


def test_nested_arguments_and_outputs_round_trip():
    def body(d, pair, lst):
        a, b = pair
        return {"sum": d["x"] + a, "parts": (a * b, [lst[0] - lst[1], lst[1]]), "tag": "out", "n": 3}

    f, calls = _counting(body)
    for k in range(3):
        x = tf.constant([1.0, 2.0]) + k
        a, b = tf.constant(2.0) * k, tf.constant([3.0, 4.0])
        l0, l1 = tf.constant([[5.0]]) + k, tf.constant([[1.0]])
        got = f({"x": x}, (a, b), [l0, l1])
        expected = body({"x": x}, (a, b), [l0, l1])
        assert set(got) == {"sum", "parts", "tag", "n"}
        assert isinstance(got["parts"], tuple) and isinstance(got["parts"][1], list)
        assert got["tag"] == "out" and got["n"] == 3
        _same_bits(got["sum"], expected["sum"])
        _same_bits(got["parts"][0], expected["parts"][0])
        _same_bits(got["parts"][1][0], expected["parts"][1][0])
        _same_bits(got["parts"][1][1], expected["parts"][1][1])
    assert len(calls) == 1
    # Another structure (one more list element) is another signature.
    f({"x": x}, (a, b), [l0, l1, l1])
    assert f.experimental_get_tracing_count() == 2


def test_tracing_count_and_warning_after_many_traces():
    f = tf.function(lambda x: x + 1)
    assert f.experimental_get_tracing_count() == 0
    for n in range(1, 6):
        f(tf.zeros([n]))
        assert f.experimental_get_tracing_count() == n
    with pytest.warns(UserWarning, match="traced 6 times"):
        f(tf.zeros([6]))
    assert f.experimental_get_tracing_count() == 6


def test_methods_of_two_instances_do_not_share_variables():
    class Scale:
        def __init__(self, k):
            self.k = tf.Variable(k)
            self.traces = 0

        @tf.function
        def __call__(self, x):
            self.traces += 1
            return x * self.k

    a, b = Scale(2.0), Scale(3.0)
    x = tf.constant([1.0, 2.0])
    for _ in range(2):
        np.testing.assert_array_equal(a(x).numpy(), [2.0, 4.0])
        np.testing.assert_array_equal(b(x).numpy(), [3.0, 6.0])
    assert (a.traces, b.traces) == (1, 1)
    b.k.assign(10.0)
    np.testing.assert_array_equal(a(x).numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(b(x).numpy(), [10.0, 20.0])
    assert a.__call__ is a.__call__
    assert a.__call__ is not b.__call__


def test_module_like_class_with_variables():
    class Dense:
        def __init__(self, w, b):
            self.w = tf.Variable(w)
            self.b = tf.Variable(b)

        @tf.function
        def __call__(self, x):
            return tf.nn.relu(x @ self.w + self.b)

        def eager(self, x):
            return tf.nn.relu(x @ self.w + self.b)

    rng = np.random.default_rng(3)
    layer = Dense(rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(4).astype(np.float32))
    for _ in range(3):
        x = tf.constant(rng.standard_normal((5, 3)).astype(np.float32))
        _same_bits(layer(x), layer.eager(x))
    layer.w.assign(tf.ones([3, 4]))
    x = tf.constant(rng.standard_normal((5, 3)).astype(np.float32))
    _same_bits(layer(x), layer.eager(x))
    assert type(layer).__call__.__get__(layer, Dense).experimental_get_tracing_count() == 1


def test_variable_arguments_trace_per_dtype_and_shape_and_read_by_reference():
    # TensorFlow traces once per variable dtype and shape, not once per variable.
    f, calls = _counting(lambda v, x: v * x)
    a, b = tf.Variable(2.0), tf.Variable(3.0)
    assert f(a, tf.constant(1.0)).numpy() == 2.0
    assert f(b, tf.constant(1.0)).numpy() == 3.0
    assert f(a, tf.constant(5.0)).numpy() == 10.0
    assert len(calls) == 1
    a.assign(-1.0)
    assert f(a, tf.constant(5.0)).numpy() == -5.0
    assert f(b, tf.constant(5.0)).numpy() == 15.0
    assert len(calls) == 1


def test_input_signature_accepts_matching_calls_and_rejects_others():
    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32)])
    def f(x):
        return tf.reduce_sum(x, axis=1)

    assert f.input_signature == [tf.TensorSpec([None, 2], tf.float32)]
    np.testing.assert_array_equal(f(tf.constant([[1.0, 2.0], [3.0, 4.0]])).numpy(), [3.0, 7.0])
    np.testing.assert_array_equal(f(tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])).numpy(),
                                  [3.0, 7.0, 11.0])
    np.testing.assert_array_equal(f(tf.constant([[5.0, 6.0], [7.0, 8.0]])).numpy(), [11.0, 15.0])
    for bad in (tf.constant([[1.0, 2.0, 3.0]]),                    # wrong size of a fixed dim
                tf.constant([[1.0, 2.0]], dtype=tf.float64),       # wrong dtype
                tf.constant([1.0, 2.0]),                           # wrong rank
                tf.constant([[1, 2]])):                            # int
        with pytest.raises(TypeError, match="input_signature"):
            f(bad)
    with pytest.raises(TypeError):
        f(tf.constant([[1.0, 2.0]]), tf.constant([[1.0, 2.0]]))     # too many arguments


def test_get_concrete_function_from_input_signature():
    @tf.function(input_signature=[tf.TensorSpec([2, 2], tf.float32)])
    def f(x):
        return x @ x

    cf = f.get_concrete_function()
    assert "MatMul" in str(cf.graph)
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    _same_bits(cf(x), x @ x)
    _same_bits(f(x), x @ x)
    assert f.experimental_get_tracing_count() == 1


def test_get_concrete_function_with_tensor_spec_and_with_tensors():
    f, calls = _counting(lambda x, y: tf.tanh(x) * y)
    cf = f.get_concrete_function(tf.TensorSpec([3], tf.float32), tf.TensorSpec([3], tf.float32))
    assert len(calls) == 1
    assert cf.graph.op_count() == 2
    x, y = tf.constant([0.5, -1.0, 2.0]), tf.constant([1.0, 2.0, 3.0])
    _same_bits(cf(x, y), tf.tanh(x) * y)
    # A call with tensors of that signature uses the same graph.
    _same_bits(f(x, y), tf.tanh(x) * y)
    assert f.get_concrete_function(x, y) is cf
    assert len(calls) == 1
    # From tensors: a new signature traces once, and the concrete function runs new values.
    x2, y2 = tf.constant([[1.0], [2.0]], dtype=tf.float64), tf.constant([[3.0], [4.0]], dtype=tf.float64)
    cf2 = f.get_concrete_function(x2, y2)
    assert len(calls) == 2 and cf2 is not cf
    x3, y3 = tf.constant([[-1.0], [0.25]], dtype=tf.float64), tf.constant([[7.0], [8.0]], dtype=tf.float64)
    _same_bits(cf2(x3, y3), tf.tanh(x3) * y3)
    assert len(calls) == 2
    # A concrete function is specialised: other shapes are refused.
    with pytest.raises(tf.errors.InvalidArgumentError):
        cf(tf.constant([1.0, 2.0]), tf.constant([1.0, 2.0]))


def test_numpy_array_arguments_are_tensors():
    f, calls = _counting(lambda x: x * 2.0)
    np.testing.assert_array_equal(f(np.array([1.0, 2.0], np.float32)).numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(f(np.array([3.0, 4.0], np.float32)).numpy(), [6.0, 8.0])
    np.testing.assert_array_equal(f(tf.constant([5.0, 6.0])).numpy(), [10.0, 12.0])
    assert len(calls) == 1


# ----------------------------------------------------------------------------- traced == eager

def _split(x):
    parts = tf.split(tf.concat([x, x * 2.0], axis=0), 2, axis=0)
    return parts[1] - parts[0]


def _unstack(x):
    rows = tf.unstack(x, axis=0)
    return tf.stack(rows[::-1], axis=1)


def _gather(x):
    n = x.shape[0]
    return tf.gather(x, [n - 1, 0, n // 2, 0]) * 3.0


# name -> fn of one (a, b)-shaped float tensor, a, b >= 1.
OPS = {
    "exp_log": lambda x: tf.math.log(tf.exp(x * 0.1) + 1.0),
    "sqrt_abs": lambda x: tf.sqrt(tf.abs(x)) - tf.square(x),
    "tanh_sigmoid": lambda x: tf.tanh(x) * tf.sigmoid(x),
    "sin_cos": lambda x: tf.sin(x) + tf.cos(x * 2.0),
    "relu_neg": lambda x: tf.nn.relu(-x) + tf.negative(x),
    "log_nan": lambda x: tf.math.log(x),  # NaN and -inf for x <= 0
    "broadcast_row": lambda x: x * x[0] - x[-1:],
    "broadcast_col": lambda x: (x + x[:, :1]) / (tf.abs(x) + 1.0),
    "max_min_pow": lambda x: tf.maximum(x, 0.5) ** 2 - tf.minimum(x, -0.5),
    "reduce_sum_mean": lambda x: tf.reduce_sum(x, axis=0) + tf.reduce_mean(x),
    "reduce_max_keepdims": lambda x: x - tf.reduce_max(x, axis=1, keepdims=True),
    "reduce_prod_min": lambda x: tf.reduce_prod(x * 0.1, axis=1) * tf.reduce_min(x),
    "matmul": lambda x: x @ tf.transpose(x),
    "matmul_transposed": lambda x: tf.matmul(x, x * 0.5, transpose_a=True),
    "softmax": lambda x: tf.nn.softmax(x, axis=-1),
    "log_softmax": lambda x: tf.nn.log_softmax(x, axis=0),
    "transpose_reshape": lambda x: tf.reshape(tf.transpose(x), [-1]) * 2.0,
    "slicing": lambda x: x[::-1, 1:] + x[:, ::2][::-1, :-1][:, :1],
    "concat_split": _split,
    "stack_unstack": _unstack,
    "gather": _gather,
    "pad_tile": lambda x: tf.tile(tf.pad(x, [[1, 0], [0, 2]], constant_values=1.5), [2, 1]),
    "where_compare": lambda x: tf.where(x > 0.5, x, x * -3.0),
    "comparisons": lambda x: tf.logical_or(tf.equal(x, tf.round(x)), x <= -1.0),
    "cast": lambda x: tf.cast(x * 3.0, tf.int32) + tf.cast(x < 0, tf.int32),
    "argmax": lambda x: tf.argmax(x, axis=1) + tf.argmin(x, axis=0)[0],
    "expand_squeeze_broadcast": lambda x: tf.squeeze(tf.expand_dims(x, 0) + tf.broadcast_to(x[:1], x.shape),
                                                     0),
    "reverse_clip": lambda x: tf.clip_by_value(tf.reverse(x, [0, 1]), -2.0, 3.0),
    "composite_mlp": lambda x: tf.reduce_mean(tf.nn.relu(x @ tf.transpose(x) + 1.0)
                                              * tf.exp(-tf.abs(x[:, :1]))),
    "one_hot": lambda x: tf.one_hot(tf.math.floormod(tf.cast(x[:, 0] * 2.0, tf.int32), 4), 4, dtype=x.dtype)
                                   * x[:, :1],
    "fill_activations": lambda x: tf.fill([2], x[0, 0]) + tf.reduce_sum(tf.nn.elu(x) + tf.nn.softplus(x)),
}

_OP_SHAPE = st.tuples(st.integers(1, 4), st.integers(1, 4))
_OP_DTYPE = st.sampled_from(FULL_FLOATS)
_OP_LAYOUT = st.sampled_from(["dense", "transpose", "strided", "reverse"])


@pytest.mark.parametrize("name", sorted(OPS))
@PROP
@given(data=st.data())
def test_traced_equals_eager(name, data):
    fn = OPS[name]
    dtype = data.draw(_OP_DTYPE)
    shape = data.draw(_OP_SHAPE)
    layout = data.draw(_OP_LAYOUT)
    f = tf.function(fn)
    for _ in range(2):  # the call that traces, then a call that runs the graph on new values
        x, _ = make_tensor(draw_array(data.draw, dtype, shape, halves=True), dtype, layout)
        _same_bits(f(x), fn(x))
    assert f.experimental_get_tracing_count() == 1


# ----------------------------------------------------------------------------- variables

def test_variables_are_captured_by_reference():
    v = tf.Variable([1.0, 2.0])

    @tf.function
    def f(x):
        return x * v + 1.0

    x = tf.constant([3.0, 4.0])
    np.testing.assert_array_equal(f(x).numpy(), [4.0, 9.0])
    v.assign([10.0, 20.0])
    np.testing.assert_array_equal(f(x).numpy(), [31.0, 81.0])
    v.assign_sub([10.0, 10.0])
    np.testing.assert_array_equal(f(x).numpy(), [1.0, 41.0])
    assert f.experimental_get_tracing_count() == 1
    assert "ReadVariableOp" in str(f.get_concrete_function(x).graph)


def test_assign_add_inside_function_runs_once_per_call():
    v = tf.Variable(0.0)

    @tf.function
    def step(x):
        v.assign_add(x)
        return v.read_value()

    seen = [float(step(tf.constant(1.0))) for _ in range(3)]
    assert seen == [1.0, 2.0, 3.0]
    assert float(v) == 3.0
    assert step.experimental_get_tracing_count() == 1


def test_assign_sub_inside_function_on_a_captured_and_an_argument_variable():
    v = tf.Variable([10.0, 10.0])

    @tf.function
    def step(var, x):
        var.assign_sub(x)
        return tf.reduce_sum(var)

    totals = [float(step(v, tf.constant([1.0, 2.0]))) for _ in range(3)]
    assert totals == [17.0, 14.0, 11.0]
    np.testing.assert_array_equal(v.numpy(), [7.0, 4.0])


def test_read_after_assign_in_the_same_function_sees_the_new_value():
    v = tf.Variable([1.0, 1.0])

    @tf.function
    def f(x):
        before = v * 1.0
        v.assign(x * 2.0)
        after = v * 1.0
        return before, after

    b, a = f(tf.constant([3.0, 4.0]))
    np.testing.assert_array_equal(b.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(a.numpy(), [6.0, 8.0])
    b, a = f(tf.constant([5.0, 6.0]))
    np.testing.assert_array_equal(b.numpy(), [6.0, 8.0])
    np.testing.assert_array_equal(a.numpy(), [10.0, 12.0])
    np.testing.assert_array_equal(v.numpy(), [10.0, 12.0])
    text = str(f.get_concrete_function(tf.constant([0.0, 0.0])).graph)
    assert "AssignVariableOp" in text and text.count("ReadVariableOp") == 2


def test_a_read_taken_before_an_assignment_keeps_the_old_value():
    # Each traced read is a value of its own, however reads and assignments interleave.
    v = tf.Variable([1.0, 2.0])

    @tf.function
    def f(g):
        before = v.read_value()
        v.assign_sub(g)
        after = v.read_value()
        return before + 0.0, after + 0.0

    for start in ([1.0, 2.0], [0.5, 1.5]):
        b, a = f(tf.constant([0.5, 0.5]))
        np.testing.assert_array_equal(b.numpy(), start)
        np.testing.assert_array_equal(a.numpy(), np.array(start) - 0.5)


def test_two_training_steps_in_one_function_match_two_eager_steps():
    def make():
        return tf.Variable([[0.5], [-0.25]]), tf.keras.optimizers.Adam(0.1)

    x, y = tf.constant([[1.0, 2.0], [3.0, 4.0]]), tf.constant([[1.0], [2.0]])

    def one(w, opt):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
        opt.apply_gradients(zip(tape.gradient(loss, [w]), [w]))
        return loss

    w1, o1 = make()
    eager = [one(w1, o1) for _ in range(4)]
    w2, o2 = make()
    two = tf.function(lambda: (one(w2, o2), one(w2, o2)))
    traced = [*two(), *two()]
    np.testing.assert_array_equal([float(t) for t in traced], [float(t) for t in eager])
    np.testing.assert_array_equal(w2.numpy(), w1.numpy())


def test_stop_gradient_in_a_traced_function_reads_each_calls_input():
    f = tf.function(lambda x: x * tf.stop_gradient(x))
    for value in (3.0, 5.0):
        x = tf.constant(value)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = f(x)
        assert float(y) == value * value and float(tape.gradient(y, x)) == value
    assert "StopGradient" in str(f.get_concrete_function(tf.constant(1.0)).graph)


def test_reads_and_identities_taken_before_a_tape_are_constants_to_it():
    w = tf.Variable([1.0, 2.0])
    anchor = tf.identity(w)
    snap = w.read_value()
    w.assign_add([0.5, 0.5])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum((w - anchor) ** 2) + tf.reduce_sum(snap * 10.0)
    np.testing.assert_array_equal(tape.gradient(loss, w).numpy(), [1.0, 1.0])
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.identity(x)
        tape.watch(y)
        z = x * y
    np.testing.assert_array_equal(tape.gradient(z, y).numpy(), [1.0, 2.0])


def test_int64_constants_past_2_to_the_53_stay_apart():
    f = lambda x: (x + tf.constant(2**53, tf.int64), x + tf.constant(2**53 + 1, tf.int64))  # noqa: E731
    x = tf.constant([0], tf.int64)
    assert [t.numpy().tolist() for t in tf.function(f)(x)] == [[2**53], [2**53 + 1]]


def _nested_loop_assigning(u):
    def f(x, k):
        with tf.GradientTape() as tape:
            tape.watch(x)

            def body(i, y):
                def inner(j):
                    u.assign_add(1.0)
                    return (j + 1,)

                tf.while_loop(lambda j: j < k, inner, [tf.constant(0)])  # assigns u
                return i + 1, y * u  # reads u

            _, y = tf.while_loop(lambda i, y: i < k + 2, body, (tf.constant(0), x))
        return y

    return f


def test_a_variable_assigned_in_a_nested_loop_is_read_at_each_iteration():
    u = tf.Variable(1.0)
    f = _nested_loop_assigning(u)
    x, k = tf.constant([1.0, 2.0]), tf.constant(1)
    eager = f(x, k).numpy()
    u.assign(1.0)
    np.testing.assert_array_equal(tf.function(f)(x, k).numpy(), eager)
    np.testing.assert_array_equal(eager, [24.0, 48.0])


def test_a_tape_through_a_traced_loop_that_assigns_is_refused():
    u = tf.Variable(1.0)

    @tf.function
    def f(x, k):
        with tf.GradientTape() as tape:
            tape.watch(x)

            def body(i, y):
                u.assign_add(1.0)
                return i + 1, y * u

            _, y = tf.while_loop(lambda i, y: i < k, body, (tf.constant(0), x))
            loss = tf.reduce_sum(y)
        return tape.gradient(loss, x)

    with pytest.raises(tf.errors.UnimplementedError, match="loop whose body assigns variables"):
        f(tf.constant([1.0, 2.0]), tf.constant(3))


def test_cond_on_a_traced_predicate_refuses_branches_that_assign():
    v = tf.Variable(0.0)

    @tf.function
    def f(x):
        def then():
            v.assign_add(1.0)
            return x + 1.0

        return tf.cond(x > 0, then, lambda: x - 1.0)

    with pytest.raises(tf.errors.UnimplementedError, match="cannot assign variables"):
        f(tf.constant(2.0))
    assert float(v) == 0.0  # the aborted trace left the variable as it was
    g = tf.function(lambda x: tf.cond(x > 0, lambda: x + 1.0, lambda: x - 1.0))
    assert float(g(tf.constant(2.0))) == 3.0 and float(g(tf.constant(-2.0))) == -3.0


def test_get_concrete_function_does_not_run_assignments():
    v = tf.Variable(5.0)

    @tf.function
    def f(x):
        v.assign(x)
        return v + 1.0

    cf = f.get_concrete_function(tf.TensorSpec([], tf.float32))
    assert float(v) == 5.0  # tracing alone must not change the variable
    assert float(cf(tf.constant(7.0))) == 8.0
    assert float(v) == 7.0


def test_returned_variables_and_reads_are_snapshots():
    v = tf.Variable([1.0, 2.0])
    read = tf.function(lambda: v.read_value())
    whole = tf.function(lambda: v)
    r1, w1 = read(), whole()
    r2 = read()
    v.assign([5.0, 6.0])
    for r in (r1, w1, r2):
        assert isinstance(r, tf.Tensor)
        np.testing.assert_array_equal(r.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(read().numpy(), [5.0, 6.0])
    np.testing.assert_array_equal(whole().numpy(), [5.0, 6.0])
    assert read.experimental_get_tracing_count() == 1


def test_function_without_arguments_reads_variables_each_call():
    v = tf.Variable(3.0)
    f = tf.function(lambda: v * 2.0 + tf.constant(1.0))
    assert float(f()) == 7.0
    v.assign(-1.0)
    assert float(f()) == -1.0
    assert f.experimental_get_tracing_count() == 1


def test_same_tensor_twice_and_repeated_outputs():
    f = tf.function(lambda x, y: (x - y, x * 2.0, x * 2.0, x))
    x = tf.constant([1.0, 2.0])
    d, a, b, same = f(x, x)
    np.testing.assert_array_equal(d.numpy(), [0.0, 0.0])
    d, a, b, same = f(tf.constant([5.0, 7.0]), x)  # the two arguments are not aliased in the graph
    np.testing.assert_array_equal(d.numpy(), [4.0, 5.0])
    np.testing.assert_array_equal(a.numpy(), [10.0, 14.0])
    np.testing.assert_array_equal(b.numpy(), [10.0, 14.0])
    np.testing.assert_array_equal(same.numpy(), [5.0, 7.0])
    assert f.experimental_get_tracing_count() == 1


def test_random_ops_draw_new_numbers_on_each_call():
    # As in TensorFlow: a random op inside a function is part of the graph, not a constant.
    f = tf.function(lambda x: x + tf.random.uniform([64]))
    a, b = f(tf.zeros([64])), f(tf.zeros([64]))
    assert f.experimental_get_tracing_count() == 1
    assert not np.array_equal(a.numpy(), b.numpy())


# ----------------------------------------------------------------------------- gradients

def _seed_model():
    rng = np.random.default_rng(1)
    x = np.linspace(-2, 2, 9).astype(np.float32)
    y = (x ** 2 + 2 * x - 5 + rng.standard_normal(9)).astype(np.float32)
    params = [rng.standard_normal((1, 64)).astype(np.float32), rng.standard_normal(64).astype(np.float32),
              (rng.standard_normal((64, 1)) * 0.1).astype(np.float32), np.zeros(1, np.float32)]
    return tf.constant(x), tf.constant(y), params


def _train_step(vs):
    w1, b1, w2, b2 = vs

    def step(x, y):
        with tf.GradientTape() as tape:
            h = tf.nn.relu(x[:, tf.newaxis] @ w1 + b1)
            prediction = tf.squeeze(h @ w2 + b2, axis=1)
            loss = tf.reduce_mean((y - prediction) ** 2)
        grads = tape.gradient(loss, vs)
        for v, g in zip(vs, grads):
            v.assign_sub(0.01 * g)
        return loss

    return step


def test_train_step_in_function_matches_eager():
    x, y, params = _seed_model()
    eager_vars = [tf.Variable(p) for p in params]
    graph_vars = [tf.Variable(p) for p in params]
    eager_step = _train_step(eager_vars)
    graph_step = tf.function(_train_step(graph_vars))
    for _ in range(5):
        le, lg = eager_step(x, y), graph_step(x, y)
        np.testing.assert_allclose(lg.numpy(), le.numpy(), rtol=1e-6, atol=1e-6)
    for e, g in zip(eager_vars, graph_vars):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-6, atol=1e-6)
    assert graph_step.experimental_get_tracing_count() == 1


def test_tape_inside_function_matmul_gradients_follow_the_inputs():
    def grads(a, b):
        with tf.GradientTape() as tape:
            tape.watch([a, b])
            loss = tf.reduce_sum(tf.tanh(a @ b))
        return tape.gradient(loss, [a, b])

    f = tf.function(grads)
    rng = np.random.default_rng(5)
    for _ in range(3):
        a = tf.constant(rng.standard_normal((3, 4)))
        b = tf.constant(rng.standard_normal((4, 2)))
        for g, e in zip(f(a, b), grads(a, b)):
            np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-12, atol=1e-12)
    assert f.experimental_get_tracing_count() == 1


def test_tape_inside_function_elementwise_gradients_follow_the_inputs():
    v = tf.Variable([0.5, -1.0, 2.0], dtype=tf.float64)

    def grads(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.sin(x) * v + tf.exp(x * v))
        return tape.gradient(loss, [x, v])

    f = tf.function(grads)
    rng = np.random.default_rng(6)
    for _ in range(3):
        x = tf.constant(rng.standard_normal(3))
        for g, e in zip(f(x), grads(x)):
            np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-12, atol=1e-12)


def test_gradient_through_function_under_outer_tape():
    def fn(x, w):
        return tf.reduce_sum(tf.tanh(x @ w) * x[:, :1] + tf.nn.softmax(x, axis=1))

    f = tf.function(fn)
    rng = np.random.default_rng(7)
    w = tf.Variable(rng.standard_normal((2, 2)))
    for _ in range(3):
        x = tf.constant(rng.standard_normal((3, 2)))
        results = []
        for g in (fn, f):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = g(x, w)
            results.append([y] + tape.gradient(y, [x, w]))
        for a, e in zip(results[1], results[0]):
            np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=1e-12, atol=1e-12)
    assert f.experimental_get_tracing_count() == 1


def test_second_order_gradient_through_function():
    def cube(x):
        return tf.reduce_sum(x * x * x + tf.sin(x))

    f = tf.function(cube)
    x = tf.constant([0.5, -1.0, 2.0], dtype=tf.float64)
    results = []
    for g in (cube, f, f):
        with tf.GradientTape() as t2:
            t2.watch(x)
            with tf.GradientTape() as t1:
                t1.watch(x)
                y = g(x)
            d = t1.gradient(y, x)
        results.append((d.numpy(), t2.gradient(d, x).numpy()))
    xs = x.numpy()
    np.testing.assert_allclose(results[0][0], 3 * xs ** 2 + np.cos(xs), rtol=1e-12)
    np.testing.assert_allclose(results[0][1], 6 * xs - np.sin(xs), rtol=1e-12)
    for d, d2 in results[1:]:
        np.testing.assert_allclose(d, results[0][0], rtol=1e-12)
        np.testing.assert_allclose(d2, results[0][1], rtol=1e-12)


def test_second_order_gradient_inside_function():
    @tf.function
    def hessian_diag(x):
        with tf.GradientTape() as t2:
            t2.watch(x)
            with tf.GradientTape() as t1:
                t1.watch(x)
                y = tf.reduce_sum(tf.sin(x))
            d = t1.gradient(y, x)
        return t2.gradient(d, x)

    for vals in ([0.5, 1.0], [-2.0, 3.0]):
        x = tf.constant(vals, dtype=tf.float64)
        np.testing.assert_allclose(hessian_diag(x).numpy(), -np.sin(vals), rtol=1e-12)
    assert hessian_diag.experimental_get_tracing_count() == 1


def test_custom_gradient_inside_function():
    @tf.custom_gradient
    def clip_grad(x):
        # The value is x * x; the gradient deliberately differs from 2x (clipped to [-1, 1]).
        return x * x, lambda dy: tf.clip_by_value(dy * 2.0 * x, -1.0, 1.0)

    w = tf.Variable([3.0, 0.25])

    def eager_step():
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(clip_grad(w) * 2.0)
        g = tape.gradient(y, w)
        w.assign_sub(0.1 * g)
        return y, g

    step = tf.function(eager_step)

    for _ in range(2):
        y, g = step()
    # The custom rule ran: 2 * 2 * w clipped to 1 = [1.0, 0.6] on the second step (w[1] = 0.15).
    np.testing.assert_allclose(g.numpy(), [1.0, 0.6], rtol=1e-6)
    traced_w = w.numpy().copy()
    w.assign([3.0, 0.25])
    for _ in range(2):
        y_e, g_e = eager_step()
    _same_bits(y, y_e)
    _same_bits(g, g_e)
    np.testing.assert_array_equal(traced_w, w.numpy())
    assert step.experimental_get_tracing_count() == 1

    # Without a tape the function just computes the value.
    f = tf.function(lambda x: clip_grad(x))
    assert float(f(tf.constant(3.0))) == 9.0
    # A tape outside the function would see the forward ops, not the custom rule: refused.
    x = tf.constant(3.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        with pytest.raises(tf.errors.UnimplementedError, match="custom_gradient"):
            f(x)
    assert float(clip_grad(tf.constant(3.0))) == 9.0  # eager use still works afterwards


# ----------------------------------------------------------------------------- control flow and errors

def test_python_if_on_traced_tensor_raises():
    # Without AutoGraph (which turns the `if` into a cond, see test_autograph.py).
    @tf.function(autograph=False)
    def f(x):
        if x > 0:
            return x
        return -x

    with pytest.raises(tf.errors.OperatorNotAllowedInGraphError, match="cond"):
        f(tf.constant(1.0))
    assert issubclass(tf.errors.OperatorNotAllowedInGraphError, TypeError)


@pytest.mark.parametrize("read", [
    lambda x: x.numpy(),
    lambda x: float(x),
    lambda x: int(x),
    lambda x: bool(x),
    lambda x: np.asarray(x),
    lambda x: [1, 2, 3][x],
], ids=["numpy", "float", "int", "bool", "asarray", "index"])
def test_reading_a_traced_value_raises(read):
    f = tf.function(lambda x: read(x))
    with pytest.raises(tf.errors.OperatorNotAllowedInGraphError, match=r"cond.*while_loop|while_loop.*cond"):
        f(tf.constant(1))
    # An untraced tensor inside the function can still be read.
    g = tf.function(lambda x: x * float(tf.constant(2.0)))
    assert float(g(tf.constant(3.0))) == 6.0


def test_printing_a_traced_tensor_works(capsys):
    @tf.function
    def f(x):
        print(x)
        return x + 1.0

    f(tf.constant([1.0, 2.0]))
    out = capsys.readouterr().out
    assert "(2,)" in out and "float32" in out


def test_cond_on_traced_predicate_matches_eager():
    def fn(x):
        return tf.cond(tf.reduce_sum(x) > 0, lambda: (x * 2.0, x + 1.0), lambda: (-x, x - 1.0))

    f = tf.function(fn)
    for vals in ([1.0, 2.0], [-1.0, -2.0], [3.0, -1.0], [0.0, 0.0]):
        x = tf.constant(vals)
        got, expected = f(x), fn(x)
        assert isinstance(got, tuple) and len(got) == 2
        for a, e in zip(got, expected):
            _same_bits(a, e)
    assert f.experimental_get_tracing_count() == 1
    assert "SelectV2" in str(f.get_concrete_function(x).graph)


def test_cond_on_python_predicate_inside_function():
    f = tf.function(lambda x, flag: tf.cond(flag, lambda: x * 2.0, lambda: x * 3.0))
    x = tf.constant([1.0, 2.0])
    np.testing.assert_array_equal(f(x, True).numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(f(x, False).numpy(), [3.0, 6.0])


def test_while_loop_with_python_trip_count():
    def fn(x, n):
        return tf.while_loop(lambda i, acc: i < n, lambda i, acc: (i + 1, acc * 2.0 + x), (0, x))

    f = tf.function(fn)
    for vals in ([1.0, 2.0], [0.5, -3.0]):
        x = tf.constant(vals)
        i, acc = f(x, 3)
        i_e, acc_e = fn(x, 3)
        assert int(i) == int(i_e) == 3
        _same_bits(acc, acc_e)
        np.testing.assert_array_equal(acc.numpy(), np.float32(vals) * 15)
    assert f.experimental_get_tracing_count() == 1


def test_while_loop_on_traced_condition_is_one_graph_node():
    calls = []

    def fn(x):
        def body(a):
            calls.append(1)
            return [a * 2.0]

        return tf.while_loop(lambda a: tf.reduce_sum(a) < 100.0, body, [x])

    f = tf.function(fn)
    cf = f.get_concrete_function(tf.constant([1.0]))
    assert "While(" in str(cf.graph) and _traced_ops(cf, "Mul") == 1
    calls.clear()
    cases = (([1.0], [128.0]), ([3.0], [192.0]), ([200.0], [200.0]))
    outs = [f(tf.constant(start))[0].numpy() for start, _ in cases]
    # The graph calls did not run the Python body.
    assert calls == [] and f.experimental_get_tracing_count() == 1
    for (start, want), out in zip(cases, outs):
        np.testing.assert_array_equal(out, want)
        np.testing.assert_array_equal(out, fn(tf.constant(start))[0].numpy())


def test_while_loop_reads_enclosing_values_variables_and_nests():
    v = tf.Variable(0.0)

    @tf.function
    def f(x, limit):
        step = x * 0.5  # an enclosing traced value, read by the body every iteration

        def body(i, acc):
            v.assign_add(1.0)
            inner = tf.while_loop(lambda j, s: j < i, lambda j, s: (j + 1, s + step),
                                  (0, tf.zeros_like(x)))[1]
            return i + 1, acc + inner

        return tf.while_loop(lambda i, acc: i < limit, body, (0, tf.zeros_like(x)))

    for limit in (0, 1, 4):
        i, acc = f(tf.constant([2.0, 4.0]), tf.constant(limit))
        assert int(i) == limit
        # sum over i < limit of i * step
        np.testing.assert_allclose(acc.numpy(), np.float32([1.0, 2.0]) * sum(range(limit)))
    assert float(v.numpy()) == 5.0
    assert f.experimental_get_tracing_count() == 1


def test_while_loop_maximum_iterations_and_python_start():
    @tf.function
    def f(n):
        # Starts as a Python loop (i is a Python number), turns into a graph loop once the
        # condition reads the traced n.
        return tf.while_loop(lambda i: i < n, lambda i: i + 2, 0, maximum_iterations=5)

    assert int(f(tf.constant(7))) == 8
    assert int(f(tf.constant(100))) == 10
    assert int(f(tf.constant(-3))) == 0


def test_while_loop_errors():
    @tf.function
    def changes_shape(x):
        return tf.while_loop(lambda a: tf.reduce_sum(a) < 10.0, lambda a: tf.concat([a, a], 0), x)

    with pytest.raises(ValueError, match=r"loop variable 0 .*shape \(1,\).*shape \(2,\)"):
        changes_shape(tf.constant([1.0]))

    @tf.function
    def not_bool(x):
        return tf.while_loop(lambda a: tf.reduce_sum(a), lambda a: a, x)

    with pytest.raises(TypeError, match="boolean scalar"):
        not_bool(tf.constant([1.0]))

    x = tf.Variable([1.0])

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            y = tf.while_loop(lambda a: tf.reduce_sum(a) < 10.0, lambda a: a * 2.0, x * 1.0)
        return tape.gradient(y, x)

    assert float(step()[0]) == 16.0  # 1 -> 2 -> 4 -> 8 -> 16: y = 16 x


def test_while_loop_graph_called_under_an_outer_tape_records_each_iteration():
    @tf.function
    def f(x, n):
        return tf.while_loop(lambda i, a: i < n, lambda i, a: (i + 1, a * x), (0, tf.ones_like(x)))[1]

    x = tf.constant(1.5)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = f(x, tf.constant(3))
    assert float(y) == 1.5**3
    np.testing.assert_allclose(float(tape.gradient(y, x)), 3 * 1.5**2, rtol=1e-6)


def test_exception_in_body_propagates_and_later_calls_work():
    raised = ValueError("boom")
    calls = []

    @tf.function
    def f(x, fail):
        calls.append(fail)
        y = tf.exp(x) * 2.0
        if fail:
            raise raised
        return y + 1.0

    with pytest.raises(ValueError) as info:
        f(tf.constant([1.0]), True)
    assert info.value is raised
    # No trace is left open: eager ops run and are not recorded anywhere.
    assert not tf._rstf.is_tracing()
    z = tf.exp(tf.constant([0.0]))
    np.testing.assert_array_equal(z.numpy(), [1.0])
    # The failed signature is not cached: it traces again (and fails again).
    with pytest.raises(ValueError):
        f(tf.constant([1.0]), True)
    x = tf.constant([0.0, 1.0])
    _same_bits(f(x, False), tf.exp(x) * 2.0 + 1.0)
    _same_bits(f(tf.constant([2.0, 3.0]), False), tf.exp(tf.constant([2.0, 3.0])) * 2.0 + 1.0)
    assert calls == [True, True, False]
    # The graph of the good call holds only its own ops.
    cf = f.get_concrete_function(x, False)
    assert cf.graph.op_count() == 3


def test_exception_from_an_op_propagates_and_later_calls_work():
    @tf.function
    def f(x, y):
        return x @ y

    with pytest.raises(tf.errors.InvalidArgumentError):
        f(tf.ones([2, 3]), tf.ones([2, 3]))
    assert not tf._rstf.is_tracing()
    _same_bits(f(tf.ones([2, 3]), tf.ones([3, 2])), tf.ones([2, 3]) @ tf.ones([3, 2]))


def test_nested_functions_inline():
    @tf.function
    def inner(x):
        return tf.exp(x) * 2.0

    @tf.function
    def outer(x):
        return inner(x) + 1.0

    for vals in ([1.0, 2.0], [0.0, -1.0]):
        x = tf.constant(vals)
        _same_bits(outer(x), tf.exp(x) * 2.0 + 1.0)
    assert outer.experimental_get_tracing_count() == 1
    cf = outer.get_concrete_function(x)
    assert [_traced_ops(cf, op) for op in ("Exp", "Mul", "AddV2")] == [1, 1, 1]


def test_cached_inner_function_runs_inside_an_outer_trace():
    v = tf.Variable(3.0)

    @tf.function
    def inner(x):
        return tf.exp(x) * v

    x = tf.constant([0.0, 1.0])
    inner(x)  # traced and cached eagerly, then replayed while the outer function traces

    @tf.function
    def outer(x):
        return inner(x) + 1.0

    _same_bits(outer(x), tf.exp(x) * 3.0 + 1.0)
    v.assign(4.0)
    _same_bits(outer(tf.constant([2.0, -1.0])), tf.exp(tf.constant([2.0, -1.0])) * 4.0 + 1.0)
    assert inner.experimental_get_tracing_count() == 1
    assert outer.experimental_get_tracing_count() == 1
    text = str(outer.get_concrete_function(x).graph)
    assert "Exp" in text and "ReadVariableOp" in text


def test_cached_inner_function_with_a_fused_chain_is_recorded_by_the_outer_trace():
    inner = tf.function(lambda x: tf.sqrt(tf.abs(x * 2.0 + 1.0)) - 3.0)
    x = tf.constant([1.0, 4.0])
    assert "Fused[" in str(inner.get_concrete_function(x).graph)
    inner(x)  # cached: the outer trace replays its graph, fused node included
    outer = tf.function(lambda x: inner(x) * 1.5)
    for vals in ([1.0, 4.0], [9.0, 16.0]):
        y = tf.constant(vals)
        _same_bits(outer(y), (tf.sqrt(tf.abs(y * 2.0 + 1.0)) - 3.0) * 1.5)
    assert outer.experimental_get_tracing_count() == 1


def test_fused_chain_over_a_dead_intermediate_matches_eager_and_leaves_arguments_alone():
    def fn(x, w):
        e = tf.exp(x)  # not fused: its buffer is dead after the chain, which may reuse it
        h = x @ w  # the same for a matmul result
        return tf.sqrt(e * 2.0 + 1.0) - 0.5, tf.maximum(h * 0.5, 0.0) + h, e * x

    f = tf.function(fn)
    rng = np.random.default_rng(3)
    for _ in range(2):
        xv = rng.standard_normal((64, 64)).astype(np.float32)
        x, w = tf.constant(xv), tf.constant(np.eye(64, dtype=np.float32))
        for got, want in zip(f(x, w), fn(x, w)):
            _same_bits(got, want)
        np.testing.assert_array_equal(x.numpy(), xv)


def test_graph_text_names_the_ops():
    w = tf.Variable(np.ones((3, 2), np.float32))

    @tf.function
    def f(x):
        return tf.reduce_sum(tf.nn.relu(x @ w), axis=1)

    cf = f.get_concrete_function(tf.TensorSpec([4, 3], tf.float32))
    text = str(cf.graph)
    for name in ("MatMul", "Relu", "Sum", "ReadVariableOp"):
        assert name in text, text
    matmul = r"%\d+: float32\[4, 2\] = MatMul\[transpose_a=false, transpose_b=false\]\(%0, %\d+\)"
    assert re.search(matmul, text), text
    assert cf.graph.op_count() == 3
    assert "3 ops" in repr(cf)


def test_dead_code_is_removed():
    @tf.function
    def f(x):
        unused = tf.sin(x) * 3.0  # noqa: F841
        tf.reduce_sum(tf.cos(x))
        return tf.exp(x)

    cf = f.get_concrete_function(tf.constant([1.0, 2.0]))
    assert cf.graph.op_count() == 1
    text = str(cf.graph)
    assert "Sin" not in text and "Cos" not in text and "Mul" not in text, text
    _same_bits(cf(tf.constant([3.0, 4.0])), tf.exp(tf.constant([3.0, 4.0])))


def test_repeated_subexpression_is_computed_once():
    @tf.function
    def f(x):
        return tf.exp(x) + tf.exp(x)

    cf = f.get_concrete_function(tf.constant([1.0, 2.0]))
    assert _traced_ops(cf, "Exp") == 1, str(cf.graph)
    assert cf.graph.op_count() == 2
    x = tf.constant([0.5, -0.5])
    _same_bits(f(x), tf.exp(x) + tf.exp(x))


def test_constant_subexpressions_are_folded():
    @tf.function
    def f(x):
        c = tf.exp(tf.constant(2.0)) * tf.reduce_sum(tf.ones([4]))
        return x * c

    cf = f.get_concrete_function(tf.constant([1.0]))
    assert cf.graph.op_count() == 1, str(cf.graph)
    assert "Const" in str(cf.graph)
    _same_bits(f(tf.constant([3.0])), tf.constant([3.0]) * (tf.exp(tf.constant(2.0)) * 4.0))


def test_variable_updates_fuse_with_the_chain_that_computes_them():
    # `v.assign_sub(0.1 * g)` becomes one fused `v - 0.1 * g` and a plain assignment.
    def make_step(var):
        def step(g):
            var.assign_sub(0.1 * g)
            var.assign_add(g * g)
            return var.read_value() * 2.0

        return step

    init = np.linspace(-1, 1, 5).astype(np.float32)
    traced_var, eager_var = tf.Variable(init), tf.Variable(init)
    traced, eager = tf.function(make_step(traced_var)), make_step(eager_var)
    g = tf.constant(np.linspace(0, 2, 5).astype(np.float32))
    text = str(traced.get_concrete_function(g).graph)
    assert "Fused[Mul -> Sub]" in text and "Fused[Mul -> AddV2]" in text, text
    assert "AssignSubVariableOp" not in text and "AssignAddVariableOp" not in text, text
    for _ in range(2):
        _same_bits(traced(g), eager(g))
        _same_bits(traced_var.read_value(), eager_var.read_value())


def test_a_relu_layer_fuses_its_bias_add_in_a_traced_training_step():
    # relu's gradient reads its output (as TensorFlow's ReluGrad does), so the bias add before
    # it is used once and fuses with it.
    layer = tf.keras.layers.Dense(4, activation="relu")
    x = tf.constant(np.linspace(-2, 2, 12).reshape(3, 4).astype(np.float32))
    layer(x)

    def grads(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(layer(x)))
        return tape.gradient(loss, layer.trainable_variables)

    traced = tf.function(grads)
    assert "Fused[AddV2 -> Relu]" in str(traced.get_concrete_function(x).graph)
    for got, want in zip(traced(x), grads(x)):
        _same_bits(got, want)
