"""The Tensor class as Python sees it: construction and dtype inference, shape and dtype objects,
numpy conversion, the number and sequence protocols, and str/repr in TensorFlow's layout."""

from __future__ import annotations

import operator

import hypothesis.strategies as st
import numpy as np
import pytest
from helpers import FAST, NP_DTYPES, TF_DTYPES, check_exact, draw_tensor
from hypothesis import given

import rstf as tf

# ----------------------------------------------------------------------------- construction


@pytest.mark.parametrize(("value", "dtype", "shape"), [
    (1.5, "float32", ()),
    (1, "int32", ()),
    (True, "bool", ()),
    (-(2**31), "int32", ()),
    (2**31, "int64", ()),
    (2**40, "int64", ()),
    ([1, 2, 3], "int32", (3,)),
    ([1.0, 2, 3], "float32", (3,)),
    ([[1, 2], [3, 4.5]], "float32", (2, 2)),
    ([1, 2**40], "int64", (2,)),
    ([[True, False]], "bool", (1, 2)),
    ((1, 2), "int32", (2,)),
    ([(1, 2), [3, 4]], "int32", (2, 2)),
    ([], "float32", (0,)),
    ([[], []], "float32", (2, 0)),
    ([[[1]], [[2]]], "int32", (2, 1, 1)),
])
def test_constant_infers_tensorflow_dtypes(value, dtype, shape):
    t = tf.constant(value)
    assert t.dtype == TF_DTYPES[dtype]
    assert t.shape == shape
    check_exact(t, np.array(value, dtype=NP_DTYPES[dtype]).reshape(shape), dtype)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "int32", "int64", "uint8",
                                   "bool"])
def test_constant_keeps_numpy_dtype(dtype):
    a = (np.arange(12).reshape(3, 4) % 5).astype(NP_DTYPES[dtype])
    check_exact(tf.constant(a), a, dtype)
    check_exact(tf.constant(a[::2, ::-1]), a[::2, ::-1], dtype)  # a non-contiguous array
    check_exact(tf.constant(np.asfortranarray(a)), a, dtype)
    check_exact(tf.convert_to_tensor(a), a, dtype)
    check_exact(tf.constant(np.array(a[1, 1])), a[1, 1], dtype)  # a 0-d array


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64",
                                   "int8", "int32", "int64", "uint8", "bool"])
def test_constant_keeps_numpy_scalar_dtype(dtype):
    v = NP_DTYPES[dtype](1)
    check_exact(tf.constant(v), v, dtype)
    check_exact(tf.convert_to_tensor(v), v, dtype)


@FAST
@given(data=st.data())
def test_constant_round_trips_drawn_arrays(data):
    dtype = data.draw(st.sampled_from(["float32", "float64", "int32", "int64", "bool", "float16"]))
    t, a = draw_tensor(data.draw, dtype, layouts=["dense"])
    check_exact(tf.constant(a), a, dtype)
    if 0 not in a.shape[:-1]:  # tolist() loses the shape of such arrays
        check_exact(tf.constant(a.tolist(), dtype=TF_DTYPES[dtype]), a, dtype)
    check_exact(tf.constant(t), a, dtype)


def test_constant_from_tensors_and_lists_of_tensors():
    x = tf.constant([1.0, 2.0])
    check_exact(tf.constant(x), [1.0, 2.0], "float32")
    check_exact(tf.constant([x, x * 2]), [[1.0, 2.0], [2.0, 4.0]], "float32")
    check_exact(tf.constant([tf.constant(1), tf.constant(2)]), [1, 2], "int32")
    check_exact(tf.constant([np.array([1.0, 2.0]), np.array([3.0, 4.0])]), [[1, 2], [3, 4]], "float64")


def test_constant_dtype_argument():
    check_exact(tf.constant([1, 2], dtype=tf.float32), [1.0, 2.0], "float32")
    check_exact(tf.constant(1, dtype=tf.float64), 1.0, "float64")
    check_exact(tf.constant([1, 2], dtype="int64"), [1, 2], "int64")
    check_exact(tf.constant([1, 2], dtype=np.float16), [1, 2], "float16")
    check_exact(tf.constant([0.5, 1.5], dtype=tf.bfloat16), [0.5, 1.5], "bfloat16")
    check_exact(tf.constant([True, False], dtype=tf.bool), [True, False], "bool")
    check_exact(tf.constant(np.array([1, 2], dtype=np.int64), dtype=tf.float32), [1.0, 2.0], "float32")
    with pytest.raises(TypeError):
        tf.constant([1.5], dtype=tf.int32)


def test_constant_shape_argument():
    check_exact(tf.constant(0.5, shape=[2, 3]), np.full((2, 3), 0.5), "float32")
    check_exact(tf.constant(7, shape=(2,)), [7, 7], "int32")
    check_exact(tf.constant([1, 2, 3, 4, 5, 6], shape=[2, 3]), [[1, 2, 3], [4, 5, 6]], "int32")
    check_exact(tf.constant([[1.0, 2.0]], shape=[2]), [1.0, 2.0], "float32")
    check_exact(tf.constant([3], shape=[2, 2]), [[3, 3], [3, 3]], "int32")
    with pytest.raises((TypeError, ValueError)):
        tf.constant([1, 2, 3, 4], shape=[3])


def test_bfloat16_numpy_is_float32():
    t = tf.constant([1.0, 2.5, 3.0078125], dtype=tf.bfloat16)
    a = t.numpy()
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, [1.0, 2.5, 3.0])  # 3.0078125 needs 9 bits: rounds to even
    assert t.dtype == tf.bfloat16


def test_convert_to_tensor():
    x = tf.constant([1.0, 2.0])
    y = tf.convert_to_tensor(x)
    assert isinstance(y, tf.Tensor)
    check_exact(y, [1.0, 2.0], "float32")
    check_exact(tf.convert_to_tensor([1, 2]), [1, 2], "int32")
    check_exact(tf.convert_to_tensor([1, 2], dtype=tf.float64), [1.0, 2.0], "float64")
    check_exact(tf.convert_to_tensor(x, dtype=tf.float32), [1.0, 2.0], "float32")
    check_exact(tf.convert_to_tensor(1, dtype_hint=tf.float32), 1.0, "float32")
    check_exact(tf.convert_to_tensor(tf.constant(1), dtype_hint=tf.float32), 1, "int32")
    check_exact(tf.convert_to_tensor(2.5, dtype_hint=tf.int32), 2.5, "float32")  # a hint is not forced
    with pytest.raises(ValueError, match="int32"):
        tf.convert_to_tensor(x, dtype=tf.int32)
    assert tf.is_tensor(y) and not tf.is_tensor([1.0])
    check_exact(tf.identity(x), [1.0, 2.0], "float32")


# ----------------------------------------------------------------------------- shape and dtype


def test_shape_object():
    x = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert str(x.shape) == "(2, 3)"
    assert repr(x.shape) == "TensorShape([2, 3])"
    assert x.shape == (2, 3)
    assert x.shape == [2, 3]
    assert x.shape != (3, 2)
    assert x.shape != [2, 3, 1]
    assert not (x.shape == (2,))
    assert x.shape[0] == 2 and x.shape[-1] == 3
    assert x.shape[1:] == (3,)
    assert x.shape.as_list() == [2, 3]
    assert x.shape.rank == 2
    assert tuple(x.shape) == (2, 3)
    assert str(tf.constant(1.0).shape) == "()"
    assert str(tf.constant([1.0]).shape) == "(1,)"
    assert str(tf.zeros([0, 4]).shape) == "(0, 4)"
    assert tf.zeros([0, 4]).shape.num_elements() == 0


def test_dtype_object():
    x = tf.constant([1.0])
    assert str(x.dtype) == "<dtype: 'float32'>"
    assert repr(x.dtype) == "rstf.float32"
    assert x.dtype == tf.float32
    assert x.dtype != tf.float64
    assert x.dtype == "float32"
    assert x.dtype.name == "float32"
    assert x.dtype.is_floating and not x.dtype.is_integer
    assert str(tf.constant(1).dtype) == "<dtype: 'int32'>"
    assert str(tf.constant(True).dtype) == "<dtype: 'bool'>"
    assert str(tf.constant(1, dtype=tf.bfloat16).dtype) == "<dtype: 'bfloat16'>"
    assert tf.as_dtype(np.float64) is tf.float64
    assert tf.float64 is tf.double and tf.float16 is tf.half


@FAST
@given(data=st.data())
def test_ndim_numpy_and_asarray(data):
    dtype = data.draw(st.sampled_from(["float32", "float64", "int32", "int64", "bool", "float16",
                                       "bfloat16"]))
    t, a = draw_tensor(data.draw, dtype)
    assert t.ndim == a.ndim
    n = t.numpy()
    # As TensorFlow: an array, or a numpy scalar for a rank-0 tensor.
    assert isinstance(n, np.ndarray) if a.ndim else isinstance(n, np.generic)
    assert n.dtype == NP_DTYPES[dtype] and n.shape == a.shape
    np.testing.assert_array_equal(n, a)
    b = np.asarray(t)
    assert b.dtype == NP_DTYPES[dtype]
    np.testing.assert_array_equal(b, a)
    np.testing.assert_array_equal(np.asarray(t, dtype=np.float64), a.astype(np.float64))
    np.testing.assert_array_equal(np.array(t), a)


def test_numpy_is_a_read_only_view():
    t = tf.constant([1.0, 2.0])
    a = t.numpy()
    with pytest.raises(ValueError, match="read-only"):
        a[0] = 100.0
    b = np.array(t)  # a copy, the caller's to change
    b[0] = 100.0
    check_exact(t, [1.0, 2.0], "float32")


def test_len_and_iteration():
    x = tf.constant([[1, 2], [3, 4], [5, 6]])
    assert len(x) == 3
    rows = list(x)
    assert len(rows) == 3
    assert all(isinstance(r, tf.Tensor) for r in rows)
    check_exact(rows[2], [5, 6], "int32")
    assert [int(v) for v in tf.constant([7, 8, 9])] == [7, 8, 9]
    assert list(tf.zeros([0, 3])) == []
    assert len(tf.zeros([0, 3])) == 0
    a, b = tf.constant([1.0, 2.0])
    assert float(a) == 1.0 and float(b) == 2.0
    with pytest.raises(TypeError):
        len(tf.constant(1.0))
    with pytest.raises(TypeError):
        iter(tf.constant(1.0))


def test_python_number_conversions():
    assert float(tf.constant(2.5)) == 2.5
    assert isinstance(float(tf.constant(2.5)), float)
    assert float(tf.constant([[3.0]])) == 3.0
    assert float(tf.constant(3)) == 3.0
    assert int(tf.constant(7)) == 7
    assert int(tf.constant(2.7)) == 2
    assert int(tf.constant(-2.7)) == -2
    assert int(tf.constant(2**62 + 1, dtype=tf.int64)) == 2**62 + 1
    assert isinstance(int(tf.constant(7)), int)
    assert bool(tf.constant(True)) is True
    assert bool(tf.constant(0.0)) is False
    assert bool(tf.constant([5])) is True
    assert operator.index(tf.constant(3)) == 3
    assert operator.index(tf.constant(3, dtype=tf.int64)) == 3
    assert [10, 20, 30][tf.constant(1)] == 20
    assert list(range(tf.constant(3))) == [0, 1, 2]
    with pytest.raises(TypeError):
        operator.index(tf.constant(3.0))
    with pytest.raises(TypeError):
        operator.index(tf.constant([3]))
    with pytest.raises((TypeError, ValueError)):
        float(tf.constant([1.0, 2.0]))
    with pytest.raises((TypeError, ValueError)):
        int(tf.constant([1, 2]))
    with pytest.raises(ValueError):
        bool(tf.constant([True, False]))
    with pytest.raises(ValueError):
        int(tf.constant(float("nan")))


def test_tensor_is_unhashable():
    with pytest.raises(TypeError):
        hash(tf.constant(1.0))


# ----------------------------------------------------------------------------- str / repr


def test_str_layout():
    x = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert str(x) == "rstf.Tensor(\n[[1. 2. 3.]\n [4. 5. 6.]], shape=(2, 3), dtype=float32)"
    assert str(tf.constant([1, 2, 3])) == "rstf.Tensor([1 2 3], shape=(3,), dtype=int32)"
    assert str(tf.constant(21.0)) == "rstf.Tensor(21.0, shape=(), dtype=float32)"
    assert str(tf.constant(True)) == "rstf.Tensor(True, shape=(), dtype=bool)"


def test_repr_layout():
    x = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert repr(tf.reduce_sum(x)) == "<rstf.Tensor: shape=(), dtype=float32, numpy=21.0>"
    assert repr(x + x) == ("<rstf.Tensor: shape=(2, 3), dtype=float32, numpy=\n"
                           "array([[ 2.,  4.,  6.],\n"
                           "       [ 8., 10., 12.]], dtype=float32)>")
    assert repr(tf.constant(6)) == "<rstf.Tensor: shape=(), dtype=int32, numpy=6>"
    assert repr(tf.constant([1.0, 2.0])) == \
        "<rstf.Tensor: shape=(2,), dtype=float32, numpy=array([1., 2.], dtype=float32)>"
    assert repr(tf.constant([1, 2], dtype=tf.int64)) == \
        "<rstf.Tensor: shape=(2,), dtype=int64, numpy=array([1, 2])>"
    assert repr(tf.zeros([0])) == "<rstf.Tensor: shape=(0,), dtype=float32, numpy=array([], dtype=float32)>"
    assert repr(tf.constant(1.5, dtype=tf.float64)) == "<rstf.Tensor: shape=(), dtype=float64, numpy=1.5>"
    assert repr(tf.constant(False)) == "<rstf.Tensor: shape=(), dtype=bool, numpy=False>"


def test_format_is_the_numpy_values_format():
    # TensorFlow's EagerTensor.__format__ is ``self._numpy().__format__(format_spec)``.
    assert f"{tf.constant([1, 2, 3])}" == format(tf.constant([1, 2, 3])) == "[1 2 3]"
    assert f"{tf.constant(21.0)}" == "21.0"
    assert f"{tf.constant(3.14159):.2f}" == format(tf.constant(3.14159), ".2f") == "3.14"
    assert f"{tf.constant(7):>4}|{tf.constant(255):x}" == "   7|ff"
    with pytest.raises(TypeError):
        format(tf.constant([1.0, 2.0]), ".2f")
    seen = []

    @tf.function
    def f(x):
        seen.append((format(x), str(x)))  # a traced tensor formats as its str
        return x

    f(tf.constant(1.0))
    assert seen[0][0] == seen[0][1] and "traced" in seen[0][0]


def test_repr_of_views_and_bfloat16():
    x = tf.constant([[1, 2, 3], [4, 5, 6]])
    assert repr(tf.transpose(x)[::-1]) == ("<rstf.Tensor: shape=(3, 2), dtype=int32, numpy=\n"
                                           "array([[3, 6],\n"
                                           "       [2, 5],\n"
                                           "       [1, 4]], dtype=int32)>")
    assert repr(tf.constant(1.5, dtype=tf.bfloat16)) == "<rstf.Tensor: shape=(), dtype=bfloat16, numpy=1.5>"


def test_copy_deepcopy_and_pickle():
    import copy
    import pickle

    t = tf.constant([[1.5, 2.0]])
    assert copy.copy(t) is t and copy.deepcopy(t) is t
    back = pickle.loads(pickle.dumps(t))
    assert back.dtype == t.dtype and back.numpy().tolist() == [[1.5, 2.0]]
