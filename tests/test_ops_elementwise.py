"""Elementwise ops against numpy: unary and binary ops, Python operators, where, clip, cast.

Inputs are drawn by hypothesis (shapes with 0-sized dims, broadcasting pairs, and now and then
shapes above the CPU kernels' parallel threshold) and built dense or as non-contiguous views
(transpose, negative-step slices, broadcast_to, reverse). Float inputs include NaN, +-inf, -0.0
and subnormals wherever numpy's float64 reference gives IEEE 754's answer for them; results
whose zeros have a sign fixed by IEEE 754 are checked for it (``signed_zeros``).
"""

from __future__ import annotations

import math
import operator

import hypothesis.strategies as st
import numpy as np
import pytest
from helpers import (
    BIG_SHAPES,
    FAST,
    FLOATS,
    FULL_FLOATS,
    INTS,
    NP_DTYPES,
    NUMERIC,
    PAR_MIN,
    PAR_SUM_MIN,
    TF_DTYPES,
    broadcast_shapes,
    check_close,
    check_exact,
    check_zero_signs,
    draw_tensor,
    gpu_flushes_subnormals,
    ieee_specials,
    known_bug,
    make_tensor,
    on_gpu,
    round_to,
)
from hypothesis import given

import rstf as tf

# Every test here runs once per device (see conftest.py).
pytestmark = pytest.mark.usefixtures("on_device")

_erf = np.vectorize(math.erf, otypes=[np.float64])

# name: (rstf function, float64 numpy reference, (lo, hi) of the inputs, extra element options)
UNARY_FLOAT = {
    "negative": (tf.negative, np.negative, (-10, 10), {}),
    "abs": (tf.abs, np.abs, (-10, 10), {}),
    "sign": (tf.sign, np.sign, (-3, 3), {"halves": True}),
    "square": (tf.square, np.square, (-10, 10), {}),
    "exp": (tf.exp, np.exp, (-20, 10), {}),
    "expm1": (tf.math.expm1, np.expm1, (-10, 10), {}),
    "log": (tf.math.log, np.log, (1e-3, 100), {}),
    "log1p": (tf.math.log1p, np.log1p, (-0.99, 100), {}),
    "sqrt": (tf.sqrt, np.sqrt, (0, 100), {}),
    "rsqrt": (tf.math.rsqrt, lambda x: 1 / np.sqrt(x), (1e-3, 100), {}),
    "reciprocal": (tf.math.reciprocal, lambda x: 1 / x, (-100, 100), {"nonzero": True}),
    "sin": (tf.sin, np.sin, (-10, 10), {}),
    "cos": (tf.cos, np.cos, (-10, 10), {}),
    "tan": (tf.tan, np.tan, (-1.4, 1.4), {}),
    "tanh": (tf.tanh, np.tanh, (-10, 10), {}),
    "sigmoid": (tf.sigmoid, lambda x: 1 / (1 + np.exp(-x)), (-30, 30), {}),
    "erf": (tf.math.erf, _erf, (-4, 4), {}),
    "asinh": (tf.math.asinh, np.arcsinh, (-1e4, 1e4), {}),
    "asin": (tf.math.asin, np.arcsin, (-1, 1), {}),
    "acos": (tf.math.acos, np.arccos, (-1, 1), {}),
    "atan": (tf.math.atan, np.arctan, (-100, 100), {}),
    "sinh": (tf.math.sinh, np.sinh, (-10, 10), {}),
    "cosh": (tf.math.cosh, np.cosh, (-10, 10), {}),
    "acosh": (tf.math.acosh, np.arccosh, (1, 1e4), {}),
    "atanh": (tf.math.atanh, np.arctanh, (-0.99, 0.99), {}),
    "round": (tf.round, np.round, (-10, 10), {"halves": True}),
    "floor": (tf.floor, np.floor, (-10, 10), {"halves": True}),
    "ceil": (tf.math.ceil, np.ceil, (-10, 10), {"halves": True}),
    "relu": (tf.nn.relu, lambda x: np.maximum(x, 0), (-10, 10), {}),
}

# Ops whose result is exactly representable: compared without tolerance.
EXACT_UNARY = {"negative", "abs", "sign", "round", "floor", "ceil", "relu"}
# Those whose zeros have the sign IEEE 754 gives them (sign and relu of -0.0 are conventions:
# numpy's sign gives 0.0, TensorFlow's -0.0 or 0.0 depending on the kernel).
SIGNED_UNARY = {"negative", "abs", "round", "floor", "ceil"}

# Known GPU bugs, each shown by a strict xfail test below; the property tests leave those
# inputs out on the GPU, so that they keep checking everything else there.
GPU_ROUND_LOSES_SIGN = {"float32", "float16"}  # test_round_keeps_the_sign_of_zero
GPU_SUBNORMAL_LOG = {("log", "float32")}  # test_log_and_pow_of_subnormals

UNARY_INT = {
    "negative": (tf.negative, np.negative),
    "abs": (tf.abs, np.abs),
    "sign": (tf.sign, np.sign),
    "square": (tf.square, np.square),
    "relu": (tf.nn.relu, lambda x: np.maximum(x, 0)),
    "round": (tf.round, lambda x: x),
    # floor and ceil refuse integers, as TensorFlow's Floor and Ceil do (test_malformed_calls.py).
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(UNARY_FLOAT))
@FAST
@given(data=st.data())
def test_unary_float(name, dtype, data):
    fn, ref, (lo, hi), opts = UNARY_FLOAT[name]
    gpu = on_gpu()
    subnormals = not (gpu and (name, dtype) in GPU_SUBNORMAL_LOG)
    t, a = draw_tensor(data.draw, dtype, lo=lo, hi=hi, big=True, ieee=True, subnormals=subnormals, **opts)
    with np.errstate(all="ignore"):
        expected = ref(a.astype(np.float64))
    r = fn(t)
    if name in EXACT_UNARY:
        signed = name in SIGNED_UNARY and not (gpu and name == "round" and dtype in GPU_ROUND_LOSES_SIGN)
        check_exact(r, round_to(expected, dtype), dtype, signed_zeros=signed)
    else:
        check_close(r, expected, dtype)


@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("name", sorted(UNARY_INT))
@FAST
@given(data=st.data())
def test_unary_int(name, dtype, data):
    fn, ref = UNARY_INT[name]
    t, a = draw_tensor(data.draw, dtype, lo=-1000, hi=1000, big=True)
    check_exact(fn(t), ref(a), dtype)


@FAST
@given(data=st.data())
def test_logical_not(data):
    t, a = draw_tensor(data.draw, "bool")
    check_exact(tf.logical_not(t), np.logical_not(a), "bool")
    check_exact(~t, np.logical_not(a), "bool")


def test_round_half_to_even():
    x = tf.constant([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49999997, -0.51], dtype=tf.float32)
    # (The sign of round(-0.5) on the GPU: test_round_keeps_the_sign_of_zero.)
    check_exact(tf.round(x), [-2, -2, -0.0, 0, 2, 2, 4, 0, -1], "float32", signed_zeros=not on_gpu())
    x64 = tf.constant([2.5, 4.5, -3.5, 1e300], dtype=tf.float64)
    check_exact(tf.round(x64), [2, 4, -4, 1e300], "float64")


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64", "bfloat16"])
def test_round_keeps_the_sign_of_zero(request, dtype):
    # IEEE 754's roundTiesToEven (numpy's round, TensorFlow's Round): a negative number rounded
    # to zero is -0.0; floor and ceil likewise.
    if dtype in GPU_ROUND_LOSES_SIGN:
        known_bug(request, "the GPU's round gives 0.0, not -0.0, for -0.5 <= x < 0", gpu_only=True)
    a = np.array([-0.5, -0.4, -1e-45, -0.0, 0.0, 0.3, -2.5], np.float32).astype(NP_DTYPES[dtype])
    x = tf.constant(a, dtype=TF_DTYPES[dtype])
    expected = np.round(round_to(a, dtype).astype(np.float64))
    assert np.signbit(expected).tolist() == [True, True, True, True, False, False, True]
    check_exact(tf.round(x), round_to(expected, dtype), dtype, signed_zeros=True)
    check_exact(tf.math.ceil(x), round_to(np.ceil(round_to(a, dtype)), dtype), dtype, signed_zeros=True)


def test_log_and_pow_of_subnormals(request):
    known_bug(request, "the GPU's float32 log (and pow through it) takes a subnormal x for about "
                       "2**-127: log(1e-45) = -88.03 instead of -103.28", gpu_only=True)
    a = np.array([2**-149, 3e-45, 1e-40, 5e-39, 1.1e-38, 2**-126, 1.0], np.float32)
    if gpu_flushes_subnormals("float32"):
        pytest.skip("this GPU flushes subnormals to zero (Vulkan allows it)")
    a64 = a.astype(np.float64)
    check_close(tf.math.log(tf.constant(a)), np.log(a64), "float32", rtol=1e-6, atol=0)
    check_close(tf.pow(tf.constant(a), 0.5), np.sqrt(a64), "float32", rtol=1e-6, atol=0)


def test_unary_on_python_values():
    check_close(tf.exp([0.0, 1.0]), np.exp([0.0, 1.0]), "float32")
    check_exact(tf.abs([-3, 4]), [3, 4], "int32")
    check_close(tf.sqrt(np.array([4.0, 9.0])), [2.0, 3.0], "float64")


def test_exp_and_sigmoid_large_dense_float32():
    # Large dense float32 inputs take a vectorised path: check it against numpy too.
    a = np.linspace(-80, 80, 100_003).astype(np.float32)
    expected = np.exp(a.astype(np.float64))
    check_close(tf.exp(tf.constant(a)), expected, "float32", rtol=1e-5, atol=1e-30)
    check_close(tf.sigmoid(tf.constant(a)), 1 / (1 + np.exp(-a.astype(np.float64))), "float32",
                rtol=1e-5, atol=1e-30)


# ----------------------------------------------------------------------------- binary ops


def draw_operands(data, dtype, kws=({}, {}), dtypes=None, ieee=False):
    """Tensors of mutually broadcastable shapes (0-sized dims too, rarely big ones) with drawn
    layouts; float operands with IEEE special values too when ``ieee``."""
    shapes = broadcast_shapes(data.draw, len(kws), big=True)
    dtypes = dtypes or [dtype] * len(kws)
    return [draw_tensor(data.draw, d, shape=s, ieee=ieee, **kw) for d, s, kw in zip(dtypes, shapes, kws)]


ARITH = {
    "add": (tf.add, np.add),
    "subtract": (tf.subtract, np.subtract),
    "multiply": (tf.multiply, np.multiply),
    "maximum": (tf.maximum, np.maximum),
    "minimum": (tf.minimum, np.minimum),
}


@pytest.mark.parametrize("dtype", NUMERIC + ["float16", "bfloat16"])
@pytest.mark.parametrize("name", sorted(ARITH))
@FAST
@given(data=st.data())
def test_binary_arith(name, dtype, data):
    fn, ref = ARITH[name]
    (x, a), (y, b) = draw_operands(data, dtype, ({"lo": -100, "hi": 100}, {"lo": -100, "hi": 100}), ieee=True)
    if dtype in INTS:
        check_exact(fn(x, y), ref(a, b), dtype)
    else:
        with np.errstate(all="ignore"):
            expected = ref(a.astype(np.float64), b.astype(np.float64))
        r = fn(x, y)
        check_close(r, expected, dtype)
        if name in ("add", "subtract", "multiply"):  # max and min of 0.0 and -0.0: either
            check_zero_signs(r.numpy(), expected)


@pytest.mark.parametrize("dtype", FLOATS)
@FAST
@given(data=st.data())
def test_divide_float(dtype, data):
    (x, a), (y, b) = draw_operands(data, dtype, ({"lo": -100, "hi": 100},
                                                 {"lo": -100, "hi": 100, "nonzero": True}), ieee=True)
    with np.errstate(all="ignore"):
        expected = a.astype(np.float64) / b.astype(np.float64)
    for r in (tf.divide(x, y), tf.math.truediv(x, y), x / y):
        check_close(r, expected, dtype)
        check_zero_signs(r.numpy(), expected)


@pytest.mark.parametrize("dtype", INTS)
@FAST
@given(data=st.data())
def test_divide_int_gives_float64(dtype, data):
    (x, a), (y, b) = draw_operands(data, dtype, ({"lo": -1000, "hi": 1000},
                                                 {"lo": -1000, "hi": 1000, "nonzero": True}))
    expected = a.astype(np.float64) / b.astype(np.float64)
    check_close(tf.divide(x, y), expected, "float64")
    check_close(x / y, expected, "float64")


@pytest.mark.parametrize("dtype", FLOATS)
@FAST
@given(data=st.data())
def test_floordiv_floormod_float(dtype, data):
    (x, a), (y, b) = draw_operands(data, dtype, ({"lo": -100, "hi": 100, "halves": True},
                                                 {"lo": -10, "hi": 10, "nonzero": True, "halves": True}))
    # TensorFlow's FloorDiv of floats is floor(x / y), computed in the dtype (halves in float32).
    work = np.float64 if dtype == "float64" else np.float32
    aw, bw = a.astype(work), b.astype(work)
    check_exact(tf.math.floordiv(x, y), round_to(np.floor(aw / bw), dtype), dtype)
    check_exact(x // y, round_to(np.floor(aw / bw), dtype), dtype)
    # FloorMod: the remainder has the sign of the divisor (as Python's %).
    check_close(tf.math.floormod(x, y), round_to(np.mod(aw, bw), dtype), dtype)
    check_close(x % y, round_to(np.mod(aw, bw), dtype), dtype)


@pytest.mark.parametrize("dtype", INTS)
@FAST
@given(data=st.data())
def test_floordiv_floormod_int(dtype, data):
    (x, a), (y, b) = draw_operands(data, dtype, ({"lo": -1000, "hi": 1000},
                                                 {"lo": -30, "hi": 30, "nonzero": True}))
    check_exact(tf.math.floordiv(x, y), np.floor_divide(a, b), dtype)
    check_exact(tf.math.floormod(x, y), np.mod(a, b), dtype)
    check_exact(x // y, np.floor_divide(a, b), dtype)
    check_exact(x % y, np.mod(a, b), dtype)


def test_floordiv_floormod_signs():
    x = tf.constant([7, -7, 7, -7])
    y = tf.constant([2, 2, -2, -2])
    check_exact(x // y, [3, -4, -4, 3], "int32")
    check_exact(x % y, [1, 1, -1, -1], "int32")
    xf = tf.constant([7.5, -7.5, 7.5, -7.5])
    yf = tf.constant([2.0, 2.0, -2.0, -2.0])
    check_exact(xf // yf, [3, -4, -4, 3], "float32")
    check_exact(xf % yf, [1.5, 0.5, -0.5, -1.5], "float32")


@pytest.mark.parametrize("dtype", FLOATS)
@FAST
@given(data=st.data())
def test_pow_float(dtype, data):
    (x, a), (y, b) = draw_operands(data, dtype, ({"lo": 0.1, "hi": 10}, {"lo": -3, "hi": 3}))
    expected = np.power(a.astype(np.float64), b.astype(np.float64))
    check_close(tf.pow(x, y), expected, dtype)
    check_close(x ** y, expected, dtype)


@pytest.mark.parametrize("dtype", ["int32", "int64"])
@FAST
@given(data=st.data())
def test_pow_int(dtype, data):
    (x, a), (y, b) = draw_operands(data, dtype, ({"lo": -10, "hi": 10}, {"lo": 0, "hi": 6}))
    check_exact(tf.pow(x, y), np.power(a, b), dtype)
    check_exact(x ** y, np.power(a, b), dtype)


COMPARISONS = {
    "equal": (tf.equal, np.equal, operator.eq),
    "not_equal": (tf.not_equal, np.not_equal, operator.ne),
    "less": (tf.less, np.less, operator.lt),
    "less_equal": (tf.less_equal, np.less_equal, operator.le),
    "greater": (tf.greater, np.greater, operator.gt),
    "greater_equal": (tf.greater_equal, np.greater_equal, operator.ge),
}


@pytest.mark.parametrize("dtype", NUMERIC + ["float16", "bfloat16"])
@pytest.mark.parametrize("name", sorted(COMPARISONS))
@FAST
@given(data=st.data())
def test_comparisons(name, dtype, data):
    fn, ref, op = COMPARISONS[name]
    # Few distinct values, so that ties are common.
    (x, a), (y, b) = draw_operands(data, dtype, ({"lo": -2, "hi": 2, "halves": True},
                                                 {"lo": -2, "hi": 2, "halves": True}), ieee=True)
    expected = ref(a, b)
    check_exact(fn(x, y), expected, "bool")
    check_exact(op(x, y), expected, "bool")


LOGICAL = {
    "logical_and": (tf.logical_and, np.logical_and, operator.and_),
    "logical_or": (tf.logical_or, np.logical_or, operator.or_),
    "logical_xor": (tf.math.logical_xor, np.logical_xor, None),
}


@pytest.mark.parametrize("name", sorted(LOGICAL))
@FAST
@given(data=st.data())
def test_logical_binary(name, data):
    fn, ref, op = LOGICAL[name]
    (x, a), (y, b) = draw_operands(data, "bool")
    check_exact(fn(x, y), ref(a, b), "bool")
    if op is not None:
        check_exact(op(x, y), ref(a, b), "bool")


def test_bool_xor_operator():
    # TensorFlow defines `^` on bool tensors as logical_xor.
    x = tf.constant([True, True, False, False])
    y = tf.constant([True, False, True, False])
    check_exact(x ^ y, [False, True, True, False], "bool")


def test_bool_operators_with_python_bools():
    x = tf.constant([True, False])
    check_exact(x & True, [True, False], "bool")
    check_exact(False | x, [True, False], "bool")
    check_exact(True & x, [True, False], "bool")
    check_exact(~x, [False, True], "bool")


# ----------------------------------------------------------------------------- Python operators

PY_OPS = {
    "+": (operator.add, np.add),
    "-": (operator.sub, np.subtract),
    "*": (operator.mul, np.multiply),
    "/": (operator.truediv, np.true_divide),
    "//": (operator.floordiv, lambda a, b: np.floor(a / b)),
    "%": (operator.mod, np.mod),
    "**": (operator.pow, np.power),
}


@pytest.mark.parametrize("sym", sorted(PY_OPS))
@FAST
@given(data=st.data())
def test_python_operators_float32(sym, data):
    op, ref = PY_OPS[sym]
    pos = sym in ("/", "//", "%", "**")
    (x, a), (y, b) = draw_operands(data, "float32", ({"lo": 0.5 if pos else -10, "hi": 10},
                                                     {"lo": 0.5 if pos else -10, "hi": 3}))
    r = op(x, y)
    expected = ref(a, b)  # float32 numpy, the same rounding as a float32 kernel
    check_close(r, expected, "float32", rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("sym", sorted(PY_OPS))
@pytest.mark.parametrize("side", ["left", "right"])
def test_python_scalar_takes_tensor_dtype_float(sym, side):
    op, ref = PY_OPS[sym]
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=np.float32)
    x = tf.constant(a)
    r = op(x, 2) if side == "left" else op(2, x)
    expected = ref(a, np.float32(2)) if side == "left" else ref(np.float32(2), a)
    check_close(r, expected, "float32")


@pytest.mark.parametrize("sym", sorted(PY_OPS))
@pytest.mark.parametrize("side", ["left", "right"])
def test_python_scalar_takes_tensor_dtype_int(sym, side):
    op, _ = PY_OPS[sym]
    a = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int32)
    x = tf.constant(a)
    r = op(x, 2) if side == "left" else op(2, x)
    if sym == "/":
        check_close(r, a / 2 if side == "left" else 2 / a, "float64")
    else:
        # Python's int operators on the same values, as int32.
        expected = [[op(int(v), 2) if side == "left" else op(2, int(v)) for v in row] for row in a]
        check_exact(r, expected, "int32")


def test_scalar_dtype_rules():
    x = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    check_exact(5 * x, [[5, 10, 15], [20, 25, 30]], "float32")
    check_exact(x * 0.5, [[0.5, 1, 1.5], [2, 2.5, 3]], "float32")
    check_exact(x + 1.5, [[2.5, 3.5, 4.5], [5.5, 6.5, 7.5]], "float32")
    check_exact(tf.constant([1.0], dtype=tf.float64) * 3, [3.0], "float64")
    check_exact(tf.constant([1.5], dtype=tf.float16) * 2, [3.0], "float16")
    check_exact(tf.constant([1.5], dtype=tf.bfloat16) + 1, [2.5], "bfloat16")
    check_exact(tf.constant([2**40]) + 1, [2**40 + 1], "int64")
    check_exact(tf.constant([7], dtype=tf.int64) * 3, [21], "int64")
    check_exact(10 - tf.constant([3]), [7], "int32")
    check_exact(tf.constant([1.0, 2.0]) + np.float64(0.25), [1.25, 2.25], "float32")
    check_exact(2 ** tf.constant([1.0, 3.0]), [2.0, 8.0], "float32")
    check_exact(tf.add(1.0, tf.constant([1.0], dtype=tf.float64)), [2.0], "float64")


def test_truediv_dtypes():
    check_close(tf.constant([1, 2]) / tf.constant([2, 4]), [0.5, 0.5], "float64")
    check_close(tf.constant([1], dtype=tf.int64) / tf.constant([3], dtype=tf.int64), [1 / 3], "float64")
    check_close(tf.constant([3]) / 2, [1.5], "float64")
    check_close(3 / tf.constant([2]), [1.5], "float64")
    # TensorFlow divides 8-bit integers as float32.
    check_close(tf.constant([1], dtype=tf.int8) / tf.constant([4], dtype=tf.int8), [0.25], "float32")
    check_close(tf.constant([1], dtype=tf.uint8) / tf.constant([4], dtype=tf.uint8), [0.25], "float32")


def test_unary_operators():
    a = np.array([[1.5, -2.0], [0.0, 3.25]], dtype=np.float32)
    x = tf.constant(a)
    check_exact(-x, -a, "float32")
    check_exact(abs(x), np.abs(a), "float32")
    check_exact(+x, a, "float32")
    check_exact(-tf.constant([1, -2]), [-1, 2], "int32")


@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_comparison_operators_with_scalars(name):
    _, ref, op = COMPARISONS[name]
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=np.float32)
    x = tf.constant(a)
    check_exact(op(x, 3), ref(a, 3), "bool")
    check_exact(op(3.0, x), ref(3.0, a), "bool")
    check_exact(op(tf.constant([1, 5, 9]), 5), ref(np.array([1, 5, 9]), 5), "bool")


def test_equality_with_none_and_strings_is_python_bool():
    x = tf.constant([1.0, 2.0])
    assert (x == None) is False  # noqa: E711
    assert (x != None) is True  # noqa: E711
    assert (x == "abc") is False


def test_numpy_array_on_the_left_gives_tensor():
    a = np.array([1.0, 2.0], dtype=np.float32)
    x = tf.constant([10.0, 20.0])
    r = a + x
    assert isinstance(r, tf.Tensor)
    check_exact(r, [11.0, 22.0], "float32")
    check_exact(a * x, [10.0, 40.0], "float32")


def test_matmul_operator_basic():
    x = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    check_exact(x @ tf.transpose(x), [[14.0, 32.0], [32.0, 77.0]], "float32")
    check_exact([[1.0, 1.0]] @ x, [[5.0, 7.0, 9.0]], "float32")


# ----------------------------------------------------------------------------- where, clip, cast


@pytest.mark.parametrize("dtype", NUMERIC + ["float16", "bool"])
@FAST
@given(data=st.data())
def test_where(dtype, data):
    (c, cv), (x, a), (y, b) = draw_operands(data, dtype, ({}, {}, {}), dtypes=["bool", dtype, dtype],
                                            ieee=True)
    check_exact(tf.where(c, x, y), np.where(cv, a, b), dtype, signed_zeros=dtype.startswith("float"))


def test_where_with_scalars_and_lists():
    c = tf.constant([True, False, True])
    check_exact(tf.where(c, tf.constant([1.0, 2.0, 3.0]), 0.0), [1.0, 0.0, 3.0], "float32")
    check_exact(tf.where([False, True], tf.constant([1, 2]), tf.constant([-1, -2])), [-1, 2], "int32")


@FAST
@given(data=st.data())
def test_where_single_argument_gives_coordinates(data):
    c, cv = draw_tensor(data.draw, "bool")
    r = tf.where(c)
    check_exact(r, np.argwhere(cv), "int64")


@pytest.mark.parametrize("dtype", NUMERIC)
@FAST
@given(data=st.data())
def test_clip_by_value(dtype, data):
    t, a = draw_tensor(data.draw, dtype, lo=-100, hi=100, big=True, ieee=True)
    lo = data.draw(st.integers(-50, 0))
    hi = data.draw(st.integers(0, 50))
    check_exact(tf.clip_by_value(t, lo, hi), np.clip(a, lo, hi).astype(a.dtype), dtype)


def test_clip_by_value_with_tensor_bounds():
    x = tf.constant([[-5.0, 0.5, 5.0], [1.0, 2.0, 3.0]])
    lo = tf.constant([0.0, 1.0, 2.0])
    check_exact(tf.clip_by_value(x, lo, 2.5), [[0.0, 1.0, 2.5], [1.0, 2.0, 2.5]], "float32")


CASTS = [
    ("float32", "int32"), ("float64", "int64"), ("float32", "float64"), ("float64", "float32"),
    ("float64", "float16"), ("float32", "bfloat16"), ("float64", "bfloat16"), ("float16", "float32"),
    ("int32", "float32"), ("int64", "float64"), ("int32", "int64"), ("int64", "int32"),
    ("float32", "bool"), ("int32", "bool"), ("bool", "float32"), ("bool", "int32"),
    ("int32", "uint8"), ("float32", "int8"),
]


def _cast_ref(a, src, dst):
    if dst == "bool":
        return a != 0
    if dst in ("int8", "uint8", "int32", "int64") and src in FLOATS:
        return np.trunc(a.astype(np.float64)).astype(NP_DTYPES[dst])
    if dst in ("float16", "bfloat16") and src == "float64":
        # As TensorFlow (Eigen's half types are built from float): float64 -> float32 -> half.
        return round_to(a.astype(np.float32), dst)
    if dst in FLOATS:
        return round_to(a.astype(np.float64), dst)
    return a.astype(NP_DTYPES[dst])  # integer to integer wraps, as C casts do


@pytest.mark.parametrize(("src", "dst"), CASTS)
@FAST
@given(data=st.data())
def test_cast(src, dst, data):
    if dst == "int8":
        lo, hi = -120, 120
    elif dst == "uint8" and src in FLOATS:
        lo, hi = 0, 250
    elif src == "int64" and dst == "int32":
        lo, hi = -(2**40), 2**40
    else:
        lo, hi = -1000, 1000
    # NaN, inf, -0.0 and subnormals between float types and to bool (to integers they are
    # undefined in C and differ between TensorFlow's kernels).
    special = src in FLOATS and (dst in FLOATS or dst == "bool")
    t, a = draw_tensor(data.draw, src, lo=lo, hi=hi, big=True, ieee=special)
    check_exact(tf.cast(t, TF_DTYPES[dst]), _cast_ref(a, src, dst), dst, signed_zeros=dst in FLOATS)


def test_cast_to_bfloat16_rounds_to_nearest():
    lows = np.arange(0x7FF0, 0x8020, dtype=np.uint32)
    bits = np.concatenate([(np.uint32(up) << 16) | lows for up in (0x42E6, 0x42E7, 0xBF80, 0x3F81)])
    a = bits.view(np.float32)
    check_exact(tf.cast(tf.constant(a), tf.bfloat16), round_to(a, "bfloat16"), "bfloat16")
    check_exact(tf.constant(a, dtype=tf.bfloat16), round_to(a, "bfloat16"), "bfloat16")


def test_cast_to_half_rounds_to_nearest_even():
    lows = np.arange(0x0FF0, 0x1020, dtype=np.uint32)  # float32 -> float16 drops 13 bits
    bits = np.concatenate([(np.uint32(up) << 13) | lows for up in (0x21000, 0x21001, 0x5F800)])
    a = bits.view(np.float32)
    check_exact(tf.cast(tf.constant(a), tf.float16), a.astype(np.float16), "float16")
    check_exact(tf.constant(a, dtype=tf.float16), a.astype(np.float16), "float16")


def test_cast_by_name_and_numpy_type():
    x = tf.constant([1.7, -1.7])
    check_exact(tf.cast(x, "int32"), [1, -1], "int32")
    check_exact(tf.cast(x, np.int64), [1, -1], "int64")
    check_exact(tf.cast(tf.constant([0.0, float("nan"), -0.0, 2.0]), tf.bool), [False, True, False, True],
                "bool")


# ----------------------------------------------------------------------------- misc


def test_squared_difference():
    check_exact(tf.math.squared_difference(tf.constant([1.0, 5.0]), tf.constant([4.0, 2.0])), [9.0, 9.0],
                "float32")


@pytest.mark.parametrize("dtype", FULL_FLOATS)
def test_elementwise_on_large_strided_views(dtype):
    # Large enough to run multi-threaded kernels on a non-contiguous input.
    rng = np.random.default_rng(0)
    a = rng.standard_normal((300, 257)).astype(NP_DTYPES[dtype])
    t = tf.transpose(tf.constant(a))[::-1, ::3]
    ref = a.T[::-1, ::3].astype(np.float64)
    check_close(tf.tanh(t), np.tanh(ref), dtype)
    check_close(t * t + 1.0, ref * ref + 1.0, dtype)
    b = rng.standard_normal((257,)).astype(NP_DTYPES[dtype])
    check_close(tf.constant(a) - tf.constant(b), a.astype(np.float64) - b, dtype)


def test_ieee_and_big_helpers_sanity():
    # Guards the helpers: the IEEE specials are all drawn, exact in their dtype; the big shapes
    # are above the CPU kernels' thresholds; a zero of the wrong sign fails the check.
    rng = np.random.default_rng(0)
    # (dtype, smallest subnormal, smallest normal)
    for dtype, tiny, normal in [("float16", 2.0**-24, 2.0**-14), ("bfloat16", 2.0**-133, 2.0**-126),
                                ("float32", 2.0**-149, 2.0**-126), ("float64", 2.0**-1074, 2.0**-1022)]:
        v = ieee_specials(rng, dtype, 4000)
        assert np.isnan(v).any() and (v == np.inf).any() and (v == -np.inf).any()
        assert ((v == 0) & np.signbit(v)).any()
        sub = v[np.isfinite(v) & (v != 0)]
        assert (sub > 0).any() and (sub < 0).any() and np.all(np.abs(sub) < normal)
        assert (np.abs(sub) == tiny).any() and (np.abs(sub) == normal - tiny).any()
        assert np.all(np.abs(sub) / tiny == np.round(np.abs(sub) / tiny))
        np.testing.assert_array_equal(round_to(v, dtype).astype(np.float64), v)
        flushed = ieee_specials(rng, dtype, 1000, flushes=True)
        assert np.all(~np.isfinite(flushed) | (flushed == 0))
    assert all(math.prod(s) >= PAR_MIN for s in BIG_SHAPES)
    assert any(s[-1] >= PAR_SUM_MIN for s in BIG_SHAPES)
    assert any(math.prod(s) >= PAR_SUM_MIN and s[-1] < PAR_SUM_MIN for s in BIG_SHAPES)
    with pytest.raises(AssertionError, match="sign of zero"):
        check_exact(tf.constant([1.0, 0.0]), [1.0, -0.0], "float32", signed_zeros=True)
    with pytest.raises(AssertionError, match="sign of zero"):
        check_zero_signs(np.array([-0.0]), np.array([0.0]))
    check_exact(tf.constant([1.0, -0.0]), [1.0, -0.0], "float32", signed_zeros=True)


def test_arrays_helper_sanity():
    # Guards the helpers: a strided view holds exactly the drawn values.
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    for layout in ("dense", "transpose", "strided", "reverse"):
        t, v = make_tensor(a, "float32", layout)
        check_exact(t, a, "float32")
    t, v = make_tensor(a, "float32", "broadcast", [True, False, True])
    check_exact(t, v, "float32")
    assert v.shape == a.shape
    assert not np.array_equal(v, a)


def test_asinh_fused_in_a_traced_function_matches_eager():
    # One scalar definition makes the eager kernel and the fused loop: bit-identical results.
    x = tf.constant(np.linspace(-50, 50, 1001, dtype=np.float32))
    f = tf.function(lambda t: tf.math.asinh(t * 2.0) + 1.0)
    np.testing.assert_array_equal(f(x).numpy(), (tf.math.asinh(x * 2.0) + 1.0).numpy())
    np.testing.assert_allclose(f(x).numpy(), np.arcsinh(x.numpy().astype(np.float64) * 2) + 1,
                               rtol=1e-6, atol=1e-6)
