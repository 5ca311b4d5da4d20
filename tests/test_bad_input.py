"""Bad input raises TensorFlow's exception classes with messages naming the op, shape or dtype;
huge shapes fail fast without aborting; no input makes the Rust core panic; float arithmetic
follows IEEE 754 (inf and NaN, no exceptions)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import check_close, check_exact

import rstf as tf

IAE = tf.errors.InvalidArgumentError
REE = tf.errors.ResourceExhaustedError

x23 = tf.ones([2, 3])
i3 = tf.constant([1, 2, 3])


def test_error_classes():
    assert issubclass(IAE, ValueError) and issubclass(IAE, tf.errors.OpError)
    assert issubclass(REE, tf.errors.OpError)
    with pytest.raises(tf.errors.OpError):
        tf.add(x23, tf.ones([4]))


# (id, thunk, exception class(es), regex the message must match)
CASES = [
    # mismatched shapes
    ("add-shapes", lambda: tf.add(x23, tf.ones([4])), IAE, r"AddV2.*Incompatible shapes.*\[2, 3\].*\[4\]"),
    ("add-op-shapes", lambda: x23 + tf.ones([3, 3]), IAE, r"AddV2.*Incompatible shapes.*\[2, 3\].*\[3, 3\]"),
    ("mul-shapes", lambda: tf.multiply(tf.ones([2, 1, 3]), tf.ones([4, 2])), IAE,
     r"Mul.*Incompatible shapes"),
    ("less-shapes", lambda: x23 < tf.ones([4]), IAE, r"Less.*Incompatible shapes"),
    ("where-shapes", lambda: tf.where(tf.constant([True, False]), tf.ones([3]), tf.ones([3])), IAE,
     r"SelectV2.*Incompatible shapes.*\[2\].*\[3\]"),
    ("broadcast_to-shape", lambda: tf.broadcast_to(x23, [3, 3]), IAE, r"BroadcastTo.*\[2, 3\].*\[3, 3\]"),
    ("concat-shapes", lambda: tf.concat([x23, tf.ones([2, 2])], 0), IAE, r"ConcatV2.*\[2, 3\].*\[2, 2\]"),
    ("stack-shapes", lambda: tf.stack([x23, tf.ones([3, 2])]), IAE, r"Pack.*\[2, 3\].*\[3, 2\]"),
    # incompatible dtypes
    ("add-dtypes", lambda: tf.constant([1.0]) + tf.constant([1]), IAE, r"AddV2.*float32.*int32"),
    ("add-fn-dtypes", lambda: tf.add(tf.constant([1]), tf.constant([1.0])), IAE, r"AddV2.*int32.*float32"),
    ("sub-dtypes", lambda: tf.subtract(tf.constant([1.0]), tf.constant([1.0], dtype=tf.float64)), IAE,
     r"Sub.*float32.*float64"),
    ("equal-dtypes", lambda: tf.equal(tf.constant([1.0]), tf.constant([1])), IAE, r"Equal.*float32.*int32"),
    ("matmul-dtypes", lambda: tf.matmul(tf.ones([2, 2]), tf.ones([2, 2], dtype=tf.int32)), IAE,
     r"MatMul.*float32.*int32"),
    ("concat-dtypes", lambda: tf.concat([x23, tf.ones([2, 3], dtype=tf.int32)], 0), IAE,
     r"ConcatV2.*float32.*int32"),
    ("int-plus-float-scalar", lambda: i3 + 1.5, (TypeError, ValueError), r"1\.5.*int32"),
    ("sqrt-int", lambda: tf.sqrt(i3), IAE, r"Sqrt.*int32"),
    ("softmax-int", lambda: tf.nn.softmax(i3), IAE, r"Softmax.*int32"),
    ("logical_not-float", lambda: tf.logical_not(x23), IAE, r"LogicalNot.*float32"),
    ("logical_and-int", lambda: tf.logical_and(i3, i3), IAE, r"LogicalAnd.*int32"),
    ("add-bool", lambda: tf.constant([True]) + tf.constant([True]), IAE, r"AddV2.*bool"),
    ("reduce_sum-bool", lambda: tf.reduce_sum(tf.constant([True])), IAE, r"Sum.*bool"),
    ("reduce_any-float", lambda: tf.reduce_any(x23), IAE, r"Any.*float32"),
    ("argmax-bool", lambda: tf.argmax(tf.constant([True])), IAE, r"ArgMax.*bool"),
    ("gather-float-indices", lambda: tf.gather(i3, [1.0]), IAE, r"GatherV2.*int32 or int64.*float32"),
    ("one_hot-float-indices", lambda: tf.one_hot([1.0], 2), IAE, r"OneHot.*float32"),
    ("where-cond-int", lambda: tf.where(tf.constant([1, 0]), tf.ones([2]), tf.ones([2])), IAE,
     r"SelectV2.*bool.*int32"),
    ("random-normal-int", lambda: tf.random.normal([2], dtype=tf.int32), TypeError, r"int32"),
    ("cast-to-string", lambda: tf.cast(x23, "string"), tf.errors.UnimplementedError,
     r"Cast float32 to string is not supported"),
    ("cast-unknown-dtype", lambda: tf.cast(x23, "complex32"), TypeError, r"complex32"),
    # axis out of range
    ("reduce_sum-axis", lambda: tf.reduce_sum(x23, axis=2), IAE, r"Sum.*axis 2.*rank 2"),
    ("reduce_sum-neg-axis", lambda: tf.reduce_sum(x23, axis=-3), IAE, r"Sum.*-3.*rank 2"),
    ("reduce_sum-axis-list", lambda: tf.reduce_sum(x23, axis=[0, 5]), IAE, r"Sum.*5"),
    ("reduce_max-axis", lambda: tf.reduce_max(x23, axis=2), IAE, r"Max.*2"),
    ("reduce_mean-axis", lambda: tf.reduce_mean(x23, axis=7), IAE, r"Mean.*7"),
    ("concat-axis", lambda: tf.concat([x23, x23], axis=2), IAE, r"ConcatV2.*axis 2.*rank 2"),
    ("concat-neg-axis", lambda: tf.concat([x23, x23], axis=-3), IAE, r"ConcatV2.*-3"),
    ("softmax-axis", lambda: tf.nn.softmax(x23, axis=2), IAE, r"Softmax.*axis 2.*rank 2"),
    ("log_softmax-axis", lambda: tf.nn.log_softmax(x23, axis=-3), IAE, r"LogSoftmax.*-3"),
    ("argmax-axis", lambda: tf.argmax(x23, axis=2), IAE, r"ArgMax.*2"),
    ("expand_dims-axis", lambda: tf.expand_dims(x23, 4), IAE, r"ExpandDims.*4"),
    ("squeeze-not-one", lambda: tf.squeeze(x23, 0), IAE, r"Squeeze.*dim\[0\].*2"),
    ("stack-axis", lambda: tf.stack([x23, x23], axis=4), IAE, r"Pack.*4"),
    ("unstack-axis", lambda: tf.unstack(x23, axis=2), IAE, r"Unpack.*2"),
    ("gather-axis", lambda: tf.gather(x23, [0], axis=2), IAE, r"GatherV2.*2"),
    ("reverse-axis", lambda: tf.reverse(x23, [2]), IAE, r"ReverseV2.*2"),
    ("reverse-dup-axis", lambda: tf.reverse(x23, [0, -2]), IAE, r"ReverseV2"),
    ("split-axis", lambda: tf.split(x23, 1, axis=5), IAE, r"Split.*5"),
    # bad perm
    ("transpose-dup", lambda: tf.transpose(x23, [0, 0]), IAE, r"Transpose.*perm.*\[0, 0\]"),
    ("transpose-long", lambda: tf.transpose(x23, [0, 1, 2]), IAE, r"Transpose.*perm"),
    ("transpose-short", lambda: tf.transpose(x23, [1]), IAE, r"Transpose.*perm"),
    ("transpose-range", lambda: tf.transpose(x23, [0, 2]), IAE, r"Transpose.*perm"),
    ("transpose-neg", lambda: tf.transpose(x23, [-3, 0]), IAE, r"Transpose.*perm"),
    # reshape to a wrong size
    ("reshape-size", lambda: tf.reshape(x23, [4]), IAE, r"Reshape.*6.*4"),
    ("reshape-infer", lambda: tf.reshape(x23, [-1, 4]), IAE, r"Reshape.*6"),
    ("reshape-two-infer", lambda: tf.reshape(x23, [-1, -1]), IAE, r"Reshape.*-1"),
    ("reshape-negative", lambda: tf.reshape(x23, [-2, -3]), IAE, r"Reshape.*-2"),
    ("reshape-huge", lambda: tf.reshape(x23, [2**40, 2**40]), IAE, r"Reshape.*6"),
    # ragged nested lists
    ("ragged-rows", lambda: tf.constant([[1, 2], [3]]), ValueError, r"non-rectangular"),
    ("ragged-depth", lambda: tf.constant([[1], 2]), ValueError, r"non-rectangular"),
    ("ragged-depth2", lambda: tf.constant([1, [2]]), ValueError, r"non-rectangular"),
    ("ragged-empty-row", lambda: tf.constant([[1, 2], []]), ValueError, r"non-rectangular"),
    # non-numeric values
    ("string-as-float", lambda: tf.constant("abc", dtype=tf.float32), TypeError, r"abc.*float32"),
    ("int-as-string", lambda: tf.constant([1], dtype=tf.string), TypeError, r"string"),
    ("mixed-list", lambda: tf.constant([1, "a"]), (TypeError, ValueError), r"str"),
    ("none", lambda: tf.constant(None), (TypeError, ValueError), r"None"),
    ("dict", lambda: tf.constant({"a": 1}), (TypeError, ValueError), r"dict"),
    ("object", lambda: tf.constant(object()), (TypeError, ValueError), r"object"),
    ("numpy-strings-as-int", lambda: tf.constant(np.array(["x"]), dtype=tf.int32),
     (TypeError, tf.errors.UnimplementedError), r"string to int32"),
    ("complex", lambda: tf.constant(1 + 2j), (TypeError, ValueError), r"complex"),
    ("add-string", lambda: x23 + "a", (TypeError, ValueError), r"str"),
    ("fill-string-dims", lambda: tf.fill(["a"], 1), (TypeError, IAE), r"string.*int32, int64"),
    ("int32-out-of-range", lambda: tf.constant(2**40, dtype=tf.int32), (TypeError, ValueError), r"int32"),
    ("uint8-negative", lambda: tf.constant(-1, dtype=tf.uint8), (TypeError, ValueError), r"uint8"),
    ("float-to-int", lambda: tf.constant([1.5], dtype=tf.int32), (TypeError, ValueError), r"1\.5.*int32"),
    # indices out of range
    ("index", lambda: x23[5], IAE, r"StridedSlice.*5.*size 2"),
    ("index-neg", lambda: x23[-3], IAE, r"StridedSlice.*-3"),
    ("index-dim1", lambda: x23[0, 3], IAE, r"StridedSlice.*3.*dimension 1"),
    ("index-too-many", lambda: x23[0, 0, 0], IAE, r"StridedSlice.*too many"),
    ("index-scalar", lambda: tf.constant(1.0)[0], IAE, r"StridedSlice"),
    ("index-huge", lambda: x23[2**63 - 1], IAE, r"StridedSlice"),
    ("index-tensor", lambda: x23[tf.constant(2**40)], IAE, r"StridedSlice"),
    ("index-step-zero", lambda: x23[::0], ValueError, r"step"),
    ("index-two-ellipses", lambda: x23[..., ...], ValueError, r"ellipsis"),
    ("index-float", lambda: x23[1.5], TypeError, r"1\.5"),
    ("index-list", lambda: x23[[0, 1]], TypeError, r"\[0, 1\]"),
    ("index-string", lambda: x23["a"], TypeError, r"'a'"),
    ("index-float-tensor", lambda: x23[tf.constant(1.0)], TypeError, r"float32"),
    ("gather-index", lambda: tf.gather(i3, [0, 3]), IAE, r"GatherV2.*indices\[1\] = 3 is not in \[0, 3\)"),
    ("gather-negative", lambda: tf.gather(i3, [-1]), IAE, r"GatherV2.*-1"),
    ("gather-axis1", lambda: tf.gather(x23, [[3]], axis=1), IAE, r"GatherV2.*3"),
    ("gather-scalar-params", lambda: tf.gather(tf.constant(1.0), [0]), IAE, r"GatherV2"),
    # matmul
    ("matmul-size", lambda: tf.matmul(x23, x23), IAE, r"MatMul.*size-incompatible.*\[2, 3\].*\[2, 3\]"),
    ("matmul-op-size", lambda: x23 @ tf.ones([2, 2]), IAE, r"MatMul.*size-incompatible"),
    ("matmul-transpose-size", lambda: tf.matmul(x23, x23, transpose_a=True, transpose_b=True), IAE,
     r"MatMul.*size-incompatible"),
    ("matmul-rank1", lambda: tf.matmul(tf.ones([3]), tf.ones([3])), IAE, r"MatMul.*rank"),
    ("matmul-batch", lambda: tf.matmul(tf.ones([2, 2, 3]), tf.ones([3, 3, 4])), IAE, r"MatMul.*\[2\].*\[3\]"),
    # integer division by zero and negative powers
    ("floordiv-zero", lambda: tf.math.floordiv(i3, tf.constant([1, 0, 1])), IAE,
     r"FloorDiv.*division by zero"),
    ("floordiv-op-zero", lambda: i3 // 0, IAE, r"FloorDiv.*division by zero"),
    ("floormod-zero", lambda: tf.math.floormod(i3, 0), IAE, r"FloorMod.*division by zero"),
    ("mod-op-int64-zero", lambda: tf.constant([5], dtype=tf.int64) % 0, IAE, r"FloorMod.*division by zero"),
    ("realdiv-zero", lambda: tf.math.realdiv(i3, 0), IAE, r"division by zero"),
    ("pow-negative", lambda: tf.pow(i3, -1), IAE, r"Pow.*negative"),
    # negative and absurd dimensions
    ("zeros-negative", lambda: tf.zeros([-1, 2]), IAE, r"-1"),
    ("ones-negative", lambda: tf.ones([2, -3]), IAE, r"-3"),
    ("fill-negative", lambda: tf.fill([-2], 1.0), IAE, r"Fill.*-2"),
    ("constant-shape-negative", lambda: tf.constant(1.0, shape=[-1]), IAE, r"-1"),
    ("normal-negative", lambda: tf.random.normal([-1]), IAE, r"-1"),
    ("uniform-negative", lambda: tf.random.uniform([2, -1]), IAE, r"-1"),
    ("broadcast_to-negative", lambda: tf.broadcast_to(x23, [-1, 3]), IAE, r"BroadcastTo.*-1"),
    ("tile-negative", lambda: tf.tile(x23, [-1, 1]), IAE, r"Tile.*-1"),
    ("tile-wrong-length", lambda: tf.tile(x23, [1]), IAE, r"Tile.*length"),
    ("pad-negative", lambda: tf.pad(x23, [[-1, 0], [0, 0]]), IAE, r"Pad.*-1"),
    ("pad-wrong-rank", lambda: tf.pad(x23, [[1, 0]]), IAE, r"Pad.*rank"),
    ("split-uneven", lambda: tf.split(x23, 2, axis=1), IAE, r"Split.*3.*2"),
    ("split-sizes", lambda: tf.split(x23, [1, 1], axis=1), IAE, r"Split.*\[1, 1\]"),
    ("unstack-num", lambda: tf.unstack(x23, num=3), IAE, r"Unpack.*3"),
    ("range-zero-delta", lambda: tf.range(0, 10, 0), IAE, r"Range.*delta"),
    ("range-direction", lambda: tf.range(10, 0, 1), IAE, r"Range"),
    ("linspace-negative", lambda: tf.linspace(0.0, 1.0, -1), IAE, r"LinSpace.*-1"),
    ("eye-negative", lambda: tf.eye(-1), ValueError, r"-1|negative"),
    ("one_hot-negative-depth", lambda: tf.one_hot([1], -1), ValueError, r"-1|negative"),
    ("zeros-huge", lambda: tf.zeros([2**40, 2**40]), (REE, IAE), r"Fill"),
    ("fill-huge", lambda: tf.fill([2**46], 1.0), (REE, IAE), r"Fill"),
    ("ones-huge", lambda: tf.ones([2**62]), (REE, IAE), r"Fill"),
    ("eye-huge", lambda: tf.eye(2**32, 2**32), (REE, IAE), r"Eye"),
    ("normal-huge", lambda: tf.random.normal([2**40, 2**40]), (REE, IAE), r"RandomStandardNormal"),
    ("uniform-huge", lambda: tf.random.uniform([2**46]), (REE, IAE), r"RandomUniform"),
    ("range-huge", lambda: tf.range(0, 1e300), (REE, IAE), r"Range"),
    ("linspace-huge", lambda: tf.linspace(0.0, 1.0, 2**62), (REE, IAE), r"LinSpace"),
    ("tile-huge", lambda: tf.tile(x23, [2**40, 2**40]), (REE, IAE), r"Tile"),
    ("one_hot-huge", lambda: tf.one_hot([1, 2], 2**62), (REE, IAE), r"OneHot"),
    ("pad-huge", lambda: tf.pad(tf.ones([2]), [[2**62, 2**62]]), (REE, IAE), r"Pad"),
    ("add-huge-broadcast", lambda: tf.broadcast_to(1.0, [2**40, 2**40]) + 1.0, (REE, IAE), r"BroadcastTo"),
    ("concat-huge", lambda: tf.concat([tf.broadcast_to(1.0, [2**46]), tf.ones([1])], 0), (REE, IAE),
     r"ConcatV2"),
    # misc
    ("pad-reflect-too-wide", lambda: tf.pad(x23, [[2, 0], [0, 0]], mode="REFLECT"), IAE,
     r"MirrorPad.*less than"),
    ("concat-nothing", lambda: tf.concat([], 0), IAE, r"ConcatV2"),
    ("concat-scalars", lambda: tf.concat([tf.constant(1.0)], 0), IAE, r"ConcatV2.*scalar"),
    ("argmax-empty-axis", lambda: tf.argmax(tf.zeros([0, 3])), IAE, r"ArgMax.*empty"),
    ("argmax-scalar", lambda: tf.argmax(tf.constant(1.0)), IAE, r"ArgMax"),
    ("fill-non-scalar", lambda: tf.fill([2], tf.constant([1.0, 2.0])), IAE, r"Fill.*scalar"),
    ("uniform-int-range", lambda: tf.random.uniform([2], 5, 5, dtype=tf.int32), IAE, r"minval"),
    ("bool-of-vector", lambda: bool(x23), ValueError, r"ambiguous"),
    ("int-of-inf", lambda: int(tf.constant(float("inf"))), ValueError, r"inf"),
]


_IDS = [c[0] for c in CASES]


def _params():
    for c in CASES:
        yield pytest.param(*c[1:], id=c[0])


@pytest.mark.parametrize(("thunk", "exc", "match"), list(_params()))
def test_bad_input_raises(thunk, exc, match):
    t0 = time.monotonic()
    with pytest.raises(exc, match=match):
        thunk()
    assert time.monotonic() - t0 < 5.0, "bad input must fail fast"


# Inputs whose exact error class TensorFlow leaves open, but which must raise an ordinary
# exception (not a panic, not an abort, not a wrong result) quickly.
MORE_BAD = [
    ("zeros-2**63", lambda: tf.zeros([2**63])),
    ("reduce-axis-2**63", lambda: tf.reduce_sum(x23, axis=2**63)),
    ("constant-too-large-int", lambda: tf.constant(2**70)),
    ("constant-too-large-int-list", lambda: tf.constant([1, 2**70])),
    ("constant-shape-huge", lambda: tf.constant(1.0, shape=[2**40, 2**40])),
    ("constant-shape-oom", lambda: tf.constant(1.0, shape=[2**46])),
    ("broadcast_to-overflow", lambda: tf.broadcast_to(1.0, [2**62, 2**62])),
    ("pad-overflow", lambda: tf.pad(tf.ones([2]), [[2**63 - 1, 2**63 - 1]])),
    ("divide-dtypes", lambda: tf.divide(tf.constant([1.0, 2.0]), tf.constant([2, 4]))),
    ("where-dtypes", lambda: tf.where(tf.constant([True, False]), tf.constant([1.0, 2.0]),
                                      tf.constant([3, 4]))),
]


_SUBPROCESS_ONLY = {"constant-shape-oom"}


def _run_isolated(name):
    """Runs one MORE_BAD case in a subprocess (an abort there must not kill the test run)."""
    code = (
        "import sys, os; sys.path.insert(0, os.environ['TESTS_DIR'])\n"
        "import test_bad_input as m\n"
        f"thunk = dict(m.MORE_BAD)[{name!r}]\n"
        "try:\n"
        "    thunk()\n"
        "except Exception as e:\n"
        "    print('raised', type(e).__name__)\n"
        "else:\n"
        "    print('no error')\n"
    )
    env = dict(os.environ, TESTS_DIR=os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    return p


def _more_params():
    for name, thunk in MORE_BAD:
        yield pytest.param(name, thunk, id=name)


@pytest.mark.parametrize(("name", "thunk"), list(_more_params()))
def test_bad_input_raises_some_exception(name, thunk):
    if name in _SUBPROCESS_ONLY:
        p = _run_isolated(name)
        assert p.returncode == 0, f"the process died ({p.returncode}): {p.stderr[-500:]}"
        assert p.stdout.startswith("raised") and "PanicException" not in p.stdout, p.stdout
        return
    t0 = time.monotonic()
    with pytest.raises(Exception) as info:  # noqa: B017 - any ordinary exception will do
        thunk()
    assert type(info.value).__name__ != "PanicException"
    assert time.monotonic() - t0 < 5.0


def test_no_bad_input_panics():
    """No bad input may surface as pyo3's PanicException (a BaseException, not an Exception)."""
    panics = []
    more = [(n, t) for n, t in MORE_BAD if n not in _SUBPROCESS_ONLY]
    for name, thunk, *_ in CASES + more:
        try:
            thunk()
        except BaseException as e:  # noqa: BLE001 - PanicException derives from BaseException
            if type(e).__name__ == "PanicException" or not isinstance(e, Exception):
                panics.append(f"{name}: {type(e).__name__}: {e}")
    assert not panics, panics


# ----------------------------------------------------------------------------- IEEE 754


def _f(*v, dtype=tf.float32):
    return tf.constant(list(v), dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_ieee_division_and_logs(dtype):
    d = getattr(tf, dtype)
    inf, nan = math.inf, math.nan
    check_exact(_f(1.0, -1.0, 0.0, dtype=d) / _f(0.0, 0.0, 0.0, dtype=d), [inf, -inf, nan], dtype)
    check_exact(_f(1.0, dtype=d) / _f(-0.0, dtype=d), [-inf], dtype)
    check_exact(tf.math.log(_f(0.0, -1.0, inf, dtype=d)), [-inf, nan, inf], dtype)
    # The signs of zero results are IEEE 754's too: sqrt(-0.0) is -0.0, exp(-inf) is +0.0.
    check_exact(tf.sqrt(_f(-1.0, inf, -0.0, dtype=d)), [nan, inf, -0.0], dtype, signed_zeros=True)
    check_exact(tf.exp(_f(inf, -inf, nan, dtype=d)), [inf, 0.0, nan], dtype, signed_zeros=True)
    check_exact(tf.math.log1p(_f(-1.0, -2.0, dtype=d)), [-inf, nan], dtype)
    check_exact(tf.math.expm1(_f(-inf, inf, dtype=d)), [-1.0, inf], dtype)
    check_exact(tf.math.rsqrt(_f(0.0, inf, dtype=d)), [inf, 0.0], dtype, signed_zeros=True)
    check_exact(tf.math.reciprocal(_f(0.0, -0.0, inf, -inf, dtype=d)), [inf, -inf, 0.0, -0.0], dtype,
                signed_zeros=True)
    check_exact(_f(inf, inf, dtype=d) - _f(inf, -inf, dtype=d), [nan, inf], dtype)
    check_exact(_f(inf, 0.0, dtype=d) * _f(0.0, nan, dtype=d), [nan, nan], dtype)
    check_exact(tf.math.floordiv(_f(1.0, -1.0, dtype=d), _f(0.0, 0.0, dtype=d)), [inf, -inf], dtype)
    check_exact(tf.math.floormod(_f(1.0, inf, dtype=d), _f(0.0, 2.0, dtype=d)), [nan, nan], dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_ieee_special_values_in_functions(dtype):
    d = getattr(tf, dtype)
    inf, nan = math.inf, math.nan
    v = _f(-inf, inf, nan, dtype=d)
    check_exact(tf.sigmoid(v), [0.0, 1.0, nan], dtype)
    check_exact(tf.tanh(v), [-1.0, 1.0, nan], dtype)
    check_exact(tf.math.erf(v), [-1.0, 1.0, nan], dtype)
    check_exact(tf.nn.relu(v), [0.0, inf, nan], dtype)
    check_exact(tf.sign(v), [-1.0, 1.0, nan], dtype)
    check_exact(tf.abs(v), [inf, inf, nan], dtype)
    check_exact(tf.round(v), [-inf, inf, nan], dtype)
    check_exact(tf.floor(v), [-inf, inf, nan], dtype)
    check_exact(tf.square(v), [inf, inf, nan], dtype)
    check_exact(tf.sin(_f(inf, nan, dtype=d)), [nan, nan], dtype)
    check_exact(tf.nn.softplus(v), [0.0, inf, nan], dtype)
    check_exact(tf.nn.elu(_f(-inf, nan, dtype=d)), [-1.0, nan], dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ieee_comparisons_and_minmax(dtype):
    d = getattr(tf, dtype)
    nan = math.nan
    a, b = _f(nan, nan, 1.0, dtype=d), _f(nan, 1.0, nan, dtype=d)
    check_exact(a == b, [False, False, False], "bool")
    check_exact(a != b, [True, True, True], "bool")
    check_exact(a < b, [False, False, False], "bool")
    check_exact(a >= b, [False, False, False], "bool")
    check_exact(tf.maximum(a, b), [nan, nan, nan], dtype)  # TensorFlow propagates NaN
    check_exact(tf.minimum(a, b), [nan, nan, nan], dtype)
    check_exact(_f(0.0, dtype=d) == _f(-0.0, dtype=d), [True], "bool")
    check_exact(tf.reduce_sum(_f(1.0, nan, 2.0, dtype=d)), nan, dtype)
    check_exact(tf.reduce_max(_f(1.0, nan, 2.0, dtype=d)), nan, dtype)
    check_exact(tf.reduce_min(_f(1.0, nan, 2.0, dtype=d)), nan, dtype)
    check_exact(tf.reduce_max(tf.constant([1.0] * 100 + [nan] + [3.0] * 100, dtype=d)), nan, dtype)
    check_exact(tf.reduce_sum(_f(math.inf, -math.inf, dtype=d)), nan, dtype)
    check_exact(tf.nn.softmax(_f(1.0, nan, dtype=d)), [nan, nan], dtype)


def test_ieee_overflow_and_integer_truediv():
    check_exact(tf.constant([60000.0], dtype=tf.float16) * 2, [math.inf], "float16")
    check_exact(tf.cast(tf.constant([1e6, -1e6]), tf.float16), [math.inf, -math.inf], "float16")
    check_exact(tf.constant([3e38]) * 10, [math.inf], "float32")
    check_exact(tf.cast(tf.constant([1e300], dtype=tf.float64), tf.float32), [math.inf], "float32")
    check_exact(tf.exp(tf.constant([100.0])), [math.inf], "float32")
    # Integers are divided as float64: division by zero gives inf, not an error.
    check_close(tf.constant([1, -1, 0]) / tf.constant([0, 0, 0]), [math.inf, -math.inf, math.nan], "float64")
    check_exact(tf.constant([1.0]) / 0, [math.inf], "float32")
