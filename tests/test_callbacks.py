"""tf.print, tf.py_function, tf.numpy_function and tf.init_scope, eagerly and inside traced
functions (where they run on every call, in program order)."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

import rstf as tf

# What TensorFlow 2.21 printed for the same calls (each with output_stream=sys.stdout):
#   tf.print("Executing with num_steps = ", 10)
#   tf.print(tf.constant([1.5, 2.0, 3.25]))
#   tf.print(tf.constant([[1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7]]))
#   tf.print(tf.range(10), summarize=-1)
#   tf.print(tf.constant(3.0), tf.constant(True), "x", [1, tf.constant(2)], {"a": tf.constant(1.)},
#            sep="|", end="!\n")
#   tf.print(tf.constant([1e-7, 123456789.0, 0.1]))
#   tf.print(tf.zeros([2, 2, 2]))
#   tf.print(tf.constant(2, dtype=tf.int64), tf.constant([True, False]))
#   tf.print(tf.constant(1.0 / 3, dtype=tf.float64), tf.constant([float("nan"), float("inf")]))
#   tf.print(tf.zeros([0, 3]))
#   tf.print(tf.constant([0.5, -1.25], dtype=tf.float16))
#   tf.print(tf.constant(1e10), tf.constant(123456.7))
TF_PRINTED = [
    ("Executing with num_steps =  10\n", lambda: (("Executing with num_steps = ", 10), {})),
    ("[1.5 2 3.25]\n", lambda: ((tf.constant([1.5, 2.0, 3.25]),), {})),
    ("[[1 2 3 ... 5 6 7]\n [1 2 3 ... 5 6 7]]\n",
     lambda: ((tf.constant([[1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7]]),), {})),
    ("[0 1 2 3 4 5 6 7 8 9]\n", lambda: ((tf.range(10),), {"summarize": -1})),
    ("3|1|x|[1, 2]|{'a': 1}!\n",
     lambda: ((tf.constant(3.0), tf.constant(True), "x", [1, tf.constant(2)], {"a": tf.constant(1.0)}),
              {"sep": "|", "end": "!\n"})),
    ("[1e-07 123456792 0.1]\n", lambda: ((tf.constant([1e-7, 123456789.0, 0.1]),), {})),
    ("[[[0 0]\n  [0 0]]\n\n [[0 0]\n  [0 0]]]\n", lambda: ((tf.zeros([2, 2, 2]),), {})),
    ("2 [1 0]\n", lambda: ((tf.constant(2, dtype=tf.int64), tf.constant([True, False])), {})),
    ("0.33333333333333331 [nan inf]\n",
     lambda: ((tf.constant(1.0 / 3, dtype=tf.float64), tf.constant([float("nan"), float("inf")])), {})),
    ("[]\n", lambda: ((tf.zeros([0, 3]),), {})),
    ("[0.5 -1.25]\n", lambda: ((tf.constant([0.5, -1.25], dtype=tf.float16),), {})),
    ("1e+10 123456.703\n", lambda: ((tf.constant(1e10), tf.constant(123456.7)), {})),
]


@pytest.mark.parametrize("case", range(len(TF_PRINTED)))
def test_print_writes_what_tensorflow_writes(case, capsys):
    want, make = TF_PRINTED[case]
    args, kw = make()
    tf.print(*args, output_stream=sys.stdout, **kw)
    assert capsys.readouterr().out == want


def test_print_defaults_to_stderr_and_takes_files_and_streams(tmp_path, capsys):
    tf.print("to", tf.constant(1))
    assert capsys.readouterr().err == "to 1\n"
    buf = io.StringIO()
    tf.print("a", output_stream=buf)
    assert buf.getvalue() == "a\n"
    path = tmp_path / "log.txt"
    tf.print("b", tf.constant([1, 2]), output_stream=f"file://{path}")
    tf.print("c", output_stream=f"file://{path}")
    assert path.read_text() == "b [1 2]\nc\n"
    with pytest.raises(ValueError, match="output_stream"):
        tf.print("x", output_stream=42)


def test_print_in_a_function_runs_on_every_call_in_program_order(capsys):
    v = tf.Variable(0)

    @tf.function
    def step(x):
        tf.print("before", v, output_stream=sys.stdout)
        v.assign_add(x)
        tf.print("after", v, "x =", x, output_stream=sys.stdout)
        return x * 2

    for i in (1, 2, 3):
        np.testing.assert_array_equal(step(tf.constant(i)).numpy(), 2 * i)
    assert step.experimental_get_tracing_count() == 1
    assert capsys.readouterr().out == (
        "before 0\nafter 1 x = 1\nbefore 1\nafter 3 x = 2\nbefore 3\nafter 6 x = 3\n")


def test_print_inside_a_graph_loop_prints_each_iteration(capsys):
    @tf.function
    def count(n):
        i = tf.constant(0)
        while i < n:
            tf.print("i", i, output_stream=sys.stdout)
            i += 1
        return i

    assert int(count(tf.constant(3))) == 3
    assert capsys.readouterr().out == "i 0\ni 1\ni 2\n"


def test_function_with_print_cannot_be_saved(tmp_path):
    class M(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
        def f(self, x):
            tf.print(x)
            return x + 1

    with pytest.raises(tf.errors.UnimplementedError, match="PrintV2"):
        tf.saved_model.save(M(), str(tmp_path / "m"))
    assert not (tmp_path / "m").exists()


def test_py_function_eager_traced_and_as_decorator(capsys):
    calls = []

    @tf.py_function(Tout=tf.float32)
    def py_plus(x, y):
        calls.append((float(x.numpy()), float(y.numpy())))
        return x + y

    @tf.function
    def wrapper(x, y):
        return py_plus(x, y) * 10

    assert float(wrapper(tf.constant(1.0), tf.constant(2.0))) == 30.0
    assert float(wrapper(tf.constant(4.0), tf.constant(5.0))) == 90.0
    # Once while tracing (on the traced values), then once per call.
    assert calls[1:] == [(1.0, 2.0), (4.0, 5.0)]
    out = tf.py_function(lambda a: [a * 2, a.numpy() + 1], [tf.constant([1, 2])], Tout=[tf.int32, tf.int32])
    np.testing.assert_array_equal(out[0].numpy(), [2, 4])
    np.testing.assert_array_equal(out[1].numpy(), [2, 3])


def test_py_function_errors_reach_the_caller_unchanged():
    class Boom(Exception):
        pass

    def bad(x):
        if float(x.numpy()) > 1:
            raise Boom("too big")
        return x

    @tf.function
    def f(x):
        return tf.py_function(bad, [x], Tout=tf.float32)

    assert float(f(tf.constant(1.0))) == 1.0
    with pytest.raises(Boom, match="too big"):
        f(tf.constant(2.0))


def test_py_function_result_of_another_dtype_is_refused_at_run_time():
    def flip(x):
        return x if float(x.numpy()) < 1 else np.array(1, dtype=np.int64)

    @tf.function
    def f(x):
        return tf.py_function(flip, [x], Tout=tf.float32)

    assert float(f(tf.constant(0.5))) == 0.5
    np.testing.assert_array_equal(f(tf.constant(3.0)).numpy(), 1.0)  # converted to Tout


def test_py_function_gradient_eagerly():
    x = tf.constant(3.0)
    with tf.GradientTape() as t:
        t.watch(x)
        y = tf.py_function(lambda a: a * a, [x], Tout=tf.float32)
    assert float(t.gradient(y, x)) == 6.0


def test_numpy_function_passes_arrays_and_checks_dtypes():
    seen = []

    def f(a):
        seen.append(type(a))
        return np.cumsum(a)

    @tf.function
    def g(x):
        return tf.numpy_function(f, [x], Tout=tf.int64) + 1

    np.testing.assert_array_equal(g(tf.constant([1, 2, 3], dtype=tf.int64)).numpy(), [2, 4, 7])
    assert seen and all(t is np.ndarray for t in seen)
    with pytest.raises(tf.errors.InvalidArgumentError, match="float32"):
        tf.numpy_function(lambda a: a.astype(np.float64), [tf.constant([1.0])], Tout=tf.float32)


def test_init_scope_runs_once_while_tracing():
    class Model(tf.Module):
        def __init__(self):
            self.v = tf.Variable(0)
            self.counter = 0

        @tf.function
        def __call__(self):
            if self.counter == 0:
                with tf.init_scope():
                    self.counter += 1
                    self.v.assign_add(1)
            return self.v.read_value()

    m = Model()
    assert [int(m()) for _ in range(3)] == [1, 1, 1]
    assert int(m.v.numpy()) == 1
