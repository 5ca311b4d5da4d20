"""AutoGraph: ``rstf.function`` converts Python control flow on tensors to graph control flow,
and the rest of the tf.function API (signatures, run_functions_eagerly). Results are checked
against plain Python / numpy computations of the same functions."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import rstf as tf

# ----------------------------------------------------------------------------- if


def test_if_on_a_tensor_becomes_a_cond_and_one_trace_serves_both_branches():
    @tf.function
    def relu(x):
        if x > 0:
            return x
        else:
            return 0

    for v in (3, -2, 0, 7, -9):
        assert int(relu(tf.constant(v))) == max(v, 0)
    assert relu.experimental_get_tracing_count() == 1


def test_elif_chain_and_assignments_in_branches():
    @tf.function
    def piecewise(x):
        if x < -1.0:
            y = -1.0
            z = x * 0.0
        elif x < 1.0:
            y = x
            z = x * 2.0
        else:
            y = 1.0
            z = x * 3.0
        return y + z

    def reference(x):
        if x < -1.0:
            return -1.0
        if x < 1.0:
            return x + 2 * x
        return 1.0 + 3 * x

    for v in (-3.0, -1.0, -0.5, 0.25, 1.0, 4.0):
        assert float(piecewise(tf.constant(v))) == pytest.approx(reference(v))
    assert piecewise.experimental_get_tracing_count() == 1


def test_python_condition_runs_only_the_taken_branch():
    @tf.function
    def f(x, mode):
        if mode == "double":
            return x * 2
        raise ValueError("unknown mode")

    assert int(f(tf.constant(4), "double")) == 8
    with pytest.raises(ValueError, match="unknown mode"):
        f(tf.constant(4), "other")


def test_name_defined_in_one_branch_only():
    @tf.function
    def used_after(x):
        if x > 0:
            y = x
        return y

    with pytest.raises(ValueError, match="'y' must also be initialized in the else branch"):
        used_after(tf.constant(1))

    @tf.function
    def unused_after(x):
        if x > 0:
            y = x + 1  # noqa: F841
        else:
            z = x - 1  # noqa: F841
        return x * 10

    assert int(unused_after(tf.constant(2))) == 20


def test_return_in_an_if_then_fall_through():
    @tf.function
    def f(x):
        if x > 0:
            return x
        x = x * 3
        return x - 1

    assert int(f(tf.constant(5))) == 5
    assert int(f(tf.constant(-2))) == -7


def test_boolean_operators_and_conditional_expressions_on_tensors():
    @tf.function
    def f(x, y):
        if (x > 0 and y > 0) or not x < 100:
            r = 1
        else:
            r = 2
        return r, (x if x > y else y)

    for a, b in [(1, 2), (-1, 2), (3, -4), (200, -1), (5, 4)]:
        r, m = f(tf.constant(a), tf.constant(b))
        expected = 1 if (a > 0 and b > 0) or not a < 100 else 2
        assert (int(r), int(m)) == (expected, max(a, b))


def test_branches_assigning_variables_are_refused_on_a_traced_condition():
    v = tf.Variable(0.0)

    @tf.function
    def f(x):
        if x > 0:
            v.assign(x)
        return x

    with pytest.raises(tf.errors.UnimplementedError, match="assign"):
        f(tf.constant(1.0))


# ----------------------------------------------------------------------------- loops


def _collatz(n):
    steps = 0
    while n > 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def test_while_on_a_tensor_is_one_graph_loop():
    @tf.function
    def collatz(n):
        steps = 0
        while n > 1:
            if n % 2 == 0:
                n = n // 2
            else:
                n = 3 * n + 1
            steps += 1
        return steps

    for n in (1, 6, 27, 97):
        assert int(collatz(tf.constant(n))) == _collatz(n)
    assert collatz.experimental_get_tracing_count() == 1


def test_while_with_python_condition_stays_python():
    @tf.function
    def f(x, n):
        i = 0
        while i < n:  # Python ints: unrolled while tracing
            x = x * 2.0
            i += 1
        return x, i

    x, i = f(tf.constant(1.5), 3)
    assert float(x) == 12.0 and i == 3


def test_for_over_range_with_break_and_continue():
    @tf.function
    def f(n):
        s = 0
        for i in tf.range(n):
            if i % 3 == 0:
                continue
            if i > 10:
                break
            s += i
        return s

    def reference(n):
        s = 0
        for i in range(n):
            if i % 3 == 0:
                continue
            if i > 10:
                break
            s += i
        return s

    for n in (0, 1, 5, 11, 20):
        assert int(f(tf.constant(n))) == reference(n)
    assert f.experimental_get_tracing_count() == 1


def test_for_over_range_with_start_and_negative_delta():
    @tf.function
    def f(a, b):
        total = 0
        for i in tf.range(a, b, -2):
            total += i * i
        return total

    assert int(f(tf.constant(9), tf.constant(0))) == sum(i * i for i in range(9, 0, -2))


def test_for_over_a_tensor_iterates_its_rows():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)

    @tf.function
    def f(t):
        acc = tf.zeros([3])
        biggest = tf.constant(-1.0)
        for row in t:
            acc += row
            if tf.reduce_sum(row) > biggest:
                biggest = tf.reduce_sum(row)
        return acc, biggest

    acc, biggest = f(tf.constant(x))
    np.testing.assert_allclose(acc.numpy(), x.sum(0))
    assert float(biggest) == x.sum(1).max()


def test_return_inside_a_tensor_loop():
    @tf.function
    def first_above(x, limit):
        total = tf.constant(0.0)
        for i in tf.range(tf.shape(x)[0]):
            total += tf.gather(x, i)  # (x[i] with a traced i is not yet graph-indexed)
            if total > limit:
                return i
        return -1

    data = np.array([0.5, 1.0, 2.0, 4.0], np.float32)
    for limit in (0.1, 1.2, 3.4, 100.0):
        over = np.nonzero(np.cumsum(data) > limit)[0]
        expected = int(over[0]) if over.size else -1
        assert int(first_above(tf.constant(data), tf.constant(limit))) == expected


def test_python_loop_with_break_on_a_traced_condition():
    @tf.function
    def f(limit):
        acc = tf.constant(0.0)
        for v in [1.0, 2.0, 3.0, 4.0]:
            if acc > limit:
                break
            acc += v
        return acc

    def reference(limit):
        acc = 0.0
        for v in [1.0, 2.0, 3.0, 4.0]:
            if acc > limit:
                break
            acc += v
        return acc

    for limit in (-1.0, 0.5, 2.5, 7.0):
        assert float(f(tf.constant(limit))) == reference(limit)


def test_name_first_assigned_inside_a_loop_is_available_after_it():
    @tf.function
    def f(n):
        for i in tf.range(n):
            last = i * 10
        return last

    assert int(f(tf.constant(4))) == 30


def test_loop_variable_must_keep_its_dtype_and_shape():
    @tf.function
    def f(n):
        x = tf.constant([1.0])
        i = 0
        while i < n:
            x = tf.concat([x, x], 0)
            i += 1
        return x

    with pytest.raises(ValueError, match="keeps its dtype and shape"):
        f(tf.constant(3))


def test_set_loop_options_maximum_iterations():
    @tf.function
    def f(n):
        i = 0
        while i < n:
            tf.autograph.experimental.set_loop_options(maximum_iterations=4)
            i += 1
        return i

    assert int(f(tf.constant(10))) == 4
    assert int(f(tf.constant(2))) == 2


def test_gradients_through_converted_control_flow():
    @tf.function
    def f(x):
        if x > 0:
            y = x * x
        else:
            y = -3.0 * x
        i = 0
        while i < 3:
            y = y * 2.0
            i += 1
        return y

    for v, slope in ((1.5, 2 * 1.5 * 8), (-2.0, -3.0 * 8)):
        x = tf.constant(v)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = f(x)
        assert float(tape.gradient(y, x)) == pytest.approx(slope)


# ----------------------------------------------------------------------------- what is converted


def _halvings(x):
    n = 0
    while x > 1:
        x = x // 2
        n += 1
    return n


def test_called_user_functions_are_converted():
    @tf.function
    def f(x):
        return _halvings(x) * 10

    assert int(f(tf.constant(64))) == 60
    assert int(f(tf.constant(1000))) == 10 * int(math.floor(math.log2(1000)))


def test_nested_functions_and_closures_are_converted():
    k = 1

    def f(x):
        def flip(y):
            if y < 0:
                return -y
            return y

        if x > k:
            return flip(x - k)
        return flip(x + k) * 100

    k = 5  # the converted function reads the closure's current value
    g = tf.function(f)
    assert int(g(tf.constant(7))) == 2
    assert int(g(tf.constant(-9))) == 400


def test_methods_with_super_and_private_names():
    class Base(tf.Module):
        def scale(self, x):
            return x * 2.0

    class Model(Base):
        def __init__(self):
            super().__init__()
            self.__k = 3.0

        def scale(self, x):
            return super().scale(x) + 1.0

        @tf.function
        def __call__(self, x):
            if tf.reduce_sum(x) > 0:
                y = self.scale(x) * self.__k
            else:
                y = -x
            return y

    m = Model()
    np.testing.assert_allclose(m(tf.constant([1.0, 2.0])).numpy(), (np.array([1.0, 2.0]) * 2 + 1) * 3)
    np.testing.assert_allclose(m(tf.constant([-1.0, -2.0])).numpy(), [1.0, 2.0])


def test_keras_layer_call_as_a_function():
    class Clip(tf.keras.layers.Layer):
        @tf.function
        def call(self, x):
            if tf.reduce_max(x) > 10.0:
                x = x / tf.reduce_max(x)
            return x

    layer = Clip()
    np.testing.assert_allclose(layer(tf.constant([2.0, 4.0])).numpy(), [2.0, 4.0])
    np.testing.assert_allclose(layer(tf.constant([20.0, 40.0])).numpy(), [0.5, 1.0])


def test_autograph_false_and_do_not_convert_leave_python_control_flow():
    def relu(x):
        if x > 0:
            return x
        return 0

    with pytest.raises(tf.errors.OperatorNotAllowedInGraphError):
        tf.function(relu, autograph=False)(tf.constant(1))

    @tf.autograph.experimental.do_not_convert
    def helper(x):
        if x > 0:
            return x
        return 0

    with pytest.raises(tf.errors.OperatorNotAllowedInGraphError):
        tf.function(lambda x: helper(x))(tf.constant(1))
    assert int(tf.function(relu)(tf.constant(-4))) == 0


def test_function_without_source_runs_as_is_with_a_warning():
    ns: dict = {}
    exec(compile("def f(x):\n    return x + 1\n", "<no source>", "exec"), ns)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert int(tf.function(ns["f"])(tf.constant(1))) == 2
    assert any("AutoGraph could not transform" in str(w.message) for w in caught)


def test_to_code_is_valid_python_showing_the_conversion():
    def f(x):
        while x > 1:
            x = x - 1
        for i in tf.range(3):
            if i == 1:
                break
        return x

    code = tf.autograph.to_code(f)
    compile(code, "<to_code>", "exec")
    assert code.startswith("def f(x):")
    for op in ("ag__.while_stmt", "ag__.for_stmt", "ag__.if_stmt"):
        assert op in code
    assert tf.autograph.to_code(tf.function(f)) == code


# ----------------------------------------------------------------------------- function API


def test_run_functions_eagerly(capsys):
    @tf.function
    def f(x):
        print("running python")
        return x + 1

    f(tf.constant(1))
    f(tf.constant(2))
    assert capsys.readouterr().out.count("running python") == 1
    assert tf.config.functions_run_eagerly() is False
    tf.config.run_functions_eagerly(True)
    try:
        assert tf.config.functions_run_eagerly() is True
        assert int(f(tf.constant(3))) == 4
        f(tf.constant(3))
        assert capsys.readouterr().out.count("running python") == 2
    finally:
        tf.config.run_functions_eagerly(False)
    f(tf.constant(5))
    assert capsys.readouterr().out == ""


def test_pretty_printed_signatures():
    @tf.function
    def my_relu(x):
        return tf.maximum(0.0, x)

    my_relu(tf.constant(5.5))
    my_relu([1, -1])
    assert my_relu.pretty_printed_concrete_signatures() == (
        "Input Parameters:\n"
        "  x (POSITIONAL_OR_KEYWORD): TensorSpec(shape=(), dtype=rstf.float32, name=None)\n"
        "Output Type:\n"
        "  TensorSpec(shape=(), dtype=rstf.float32, name=None)\n"
        "Captures:\n"
        "  None\n"
        "\n"
        "Input Parameters:\n"
        "  x (POSITIONAL_OR_KEYWORD): List[Literal[1], Literal[-1]]\n"
        "Output Type:\n"
        "  TensorSpec(shape=(2,), dtype=rstf.float32, name=None)\n"
        "Captures:\n"
        "  None")

    @tf.function
    def f(x, *args, k=3, **kw):
        return x, {"y": x}

    cf = f.get_concrete_function(tf.TensorSpec([None, 2], tf.int32), "s", z=None)
    assert str(cf) == (
        "ConcreteFunction Input Parameters:\n"
        "  x (POSITIONAL_ONLY): TensorSpec(shape=(None, 2), dtype=rstf.int32, name=None)\n"
        "  args_0 (POSITIONAL_ONLY): Literal['s']\n"
        "  k (KEYWORD_ONLY): Literal[3]\n"
        "  z (KEYWORD_ONLY): Literal[None]\n"
        "Output Type:\n"
        "  Tuple[TensorSpec(shape=(None, 2), dtype=rstf.int32, name=None), "
        "Dict[['y', TensorSpec(shape=(None, 2), dtype=rstf.int32, name=None)]]]\n"
        "Captures:\n"
        "  None")
    assert str(cf.function_type) == cf.pretty_printed_signature(verbose=False)
    assert str(cf.function_type).startswith(
        "(x: TensorSpec(shape=(None, 2), dtype=rstf.int32, name=None), "
        "args_0: Literal['s'], /, *, k: Literal[3], z: Literal[None]) -> ")


def test_concrete_function_checks_python_arguments_and_accepts_flat_calls():
    @tf.function
    def power(a, b):
        return a ** b

    square = power.get_concrete_function(a=tf.TensorSpec(None, tf.float32), b=2)
    assert "shape=<unknown>" in str(square)
    assert float(square(tf.constant(10.0))) == 100.0
    assert float(square(a=tf.constant(3.0), b=2)) == 9.0
    with pytest.raises(TypeError):
        square(tf.constant(10.0), b=3)

    class Model:
        weight, bias = 2.0, 1.0

    def evaluate(model, x):
        return model.weight * x + model.bias

    cf = tf.function(evaluate).get_concrete_function(Model(), tf.constant(10.0))
    assert float(cf(tf.constant(10.0))) == 21.0  # the tensors alone, in order


def test_trace_types_and_tensor_like():
    class Kind(tf.types.experimental.TraceType):
        def __init__(self, cls):
            self.cls = cls

        def is_subtype_of(self, other):
            return self == other

        def most_specific_common_supertype(self, others):
            return self if all(self == o for o in others) else None

        def __eq__(self, other):
            return isinstance(other, Kind) and other.cls is self.cls

        def __hash__(self):
            return hash(self.cls)

    class Fruit:
        def __tf_tracing_type__(self, context):
            return Kind(type(self))

    class Apple(Fruit):
        flavor = tf.constant([1, 2])

    @tf.function
    def flavor(fruit):
        return fruit.flavor * 2

    np.testing.assert_array_equal(flavor(Apple()).numpy(), [2, 4])
    np.testing.assert_array_equal(flavor(Apple()).numpy(), [2, 4])
    assert flavor.experimental_get_tracing_count() == 1
    assert tf.Tensor in tf.types.experimental.TensorLike.__args__
