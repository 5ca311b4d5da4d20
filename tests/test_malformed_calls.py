"""Malformed calls raise TensorFlow's exception class (checked against tensorflow-cpu 2.21);
the well-formed calls next to them keep working.

Where TensorFlow raises ValueError, rstf may raise its InvalidArgumentError (a ValueError too)
when the message is about an argument's value."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_exact

import rstf as tf

IAE = tf.errors.InvalidArgumentError

# (call, TensorFlow's exception class); each call is evaluated with `tf` and `np` in scope.
MALFORMED = [
    # shapes, multiples and dims are integer vectors
    ("tf.reshape(tf.ones([2,3]), 'a')", IAE),
    ("tf.reshape(tf.ones([2,3]), [2.0,3.0])", IAE),
    ("tf.reshape(tf.ones([2,3]), [2, 3.0])", IAE),
    ("tf.reshape(tf.ones([2,3]), [np.float32(2), 3])", IAE),
    ("tf.reshape(tf.ones([2,3]), tf.constant([2.0,3.0]))", IAE),
    ("tf.reshape(tf.ones([2,3]), [[2,3]])", IAE),
    ("tf.reshape(tf.ones([2,3]), ['a'])", IAE),
    ("tf.reshape(tf.ones([6]), 6.0)", TypeError),
    ("tf.reshape(tf.ones([2,3]), None)", ValueError),
    ("tf.reshape(tf.ones([2,3]), [None, 3])", ValueError),
    ("tf.reshape(tf.ones([2,3]), [True, 6])", ValueError),
    ("tf.ones([2.5])", TypeError),
    ("tf.ones([2.0])", TypeError),
    ("tf.ones(2.5)", TypeError),
    ("tf.ones('a')", TypeError),
    ("tf.ones(['a'])", TypeError),
    ("tf.ones(None)", ValueError),
    ("tf.ones([None])", ValueError),
    ("tf.ones([[2]])", IAE),
    ("tf.ones(tf.constant([2.0]))", IAE),
    ("tf.zeros([2.5])", TypeError),
    ("tf.zeros('a')", TypeError),
    ("tf.zeros(None)", ValueError),
    ("tf.fill([2.5], 1.0)", IAE),
    ("tf.fill('a', 1.0)", IAE),
    ("tf.fill(None, 1.0)", ValueError),
    ("tf.constant(1.0, shape=[2.5])", TypeError),
    ("tf.tile(tf.ones([2]), [1.5])", IAE),
    ("tf.tile(tf.ones([2]), 'a')", IAE),
    ("tf.tile(tf.ones([2]), 2.0)", TypeError),
    ("tf.tile(tf.ones([2]), None)", ValueError),
    ("tf.broadcast_to(tf.ones([1]), [2.0])", IAE),
    ("tf.broadcast_to(tf.ones([1]), None)", ValueError),
    ("tf.transpose(tf.ones([1,2]), [1.0, 0])", IAE),
    ("tf.split(tf.ones([4]), [2.0, 2])", IAE),
    ("tf.split(tf.ones([4]), 2.0)", ValueError),
    ("tf.pad(tf.ones([2]), [[1.5,1]])", IAE),
    ("tf.random.normal('a')", IAE),
    ("tf.random.normal([2.5])", IAE),
    ("tf.random.normal(2.0)", IAE),
    ("tf.random.normal(None)", ValueError),
    ("tf.random.uniform('a')", IAE),
    ("tf.random.uniform([2.5])", IAE),
    ("tf.random.truncated_normal('a')", IAE),
    # axes
    ("tf.expand_dims(tf.ones([2]), 1.5)", TypeError),
    ("tf.expand_dims(tf.ones([2]), 'a')", IAE),
    ("tf.expand_dims(tf.ones([2]), None)", ValueError),
    ("tf.expand_dims(tf.ones([2]), [1, 0])", IAE),
    ("tf.expand_dims(tf.ones([2]), tf.constant(1.0))", IAE),
    ("tf.reduce_sum(tf.ones([2]), axis=1.5)", TypeError),
    ("tf.reduce_sum(tf.ones([2]), axis=0.0)", TypeError),
    ("tf.reduce_sum(tf.ones([2]), axis=[0.0])", IAE),
    ("tf.reduce_sum(tf.ones([2]), axis=tf.constant(0.0))", IAE),
    ("tf.reduce_prod(tf.ones([2]), axis='a')", IAE),
    ("tf.reduce_max(tf.ones([2]), axis=1.5)", TypeError),
    ("tf.reduce_mean(tf.ones([2]), axis='a')", IAE),
    ("tf.reduce_all(tf.ones([2], tf.bool), axis='a')", IAE),
    ("tf.reverse(tf.ones([1]), [0.0])", IAE),
    ("tf.concat([tf.ones([2])], 0.0)", TypeError),
    ("tf.concat([tf.ones([2])], 'a')", TypeError),
    ("tf.stack([tf.ones([2])], 'a')", TypeError),
    ("tf.unstack(tf.ones([2]), axis=0.0)", TypeError),
    ("tf.squeeze(tf.ones([1]), 'a')", TypeError),
    ("tf.split(tf.ones([4]), 2, axis=0.0)", TypeError),
    ("tf.nn.softmax(tf.ones([3]), axis='a')", TypeError),
    ("tf.argmax(tf.ones([2]), axis=0.0)", TypeError),
    ("tf.argmax(tf.ones([2]), axis='a')", TypeError),
    ("tf.argmax(tf.ones([2]), axis=[0])", TypeError),
    ("tf.argmin(tf.ones([2]), output_type=tf.float32)", IAE),
    ("tf.argmin(tf.ones([2]), output_type=tf.uint8)", IAE),
    ("tf.argmax(tf.ones([2]), output_type=tf.bool)", IAE),
    # gather
    ("tf.gather(tf.ones([3,2]), [[0]], batch_dims=3)", IAE),
    ("tf.gather(tf.ones([3,2]), [[0]], batch_dims=2)", IAE),
    ("tf.gather(tf.ones([3,2]), [[0]], batch_dims=1)", IAE),
    ("tf.gather(tf.ones([3,2]), [[0]], batch_dims=-3)", IAE),
    ("tf.gather(tf.ones([3,2]), [0], batch_dims=1.5)", IAE),
    ("tf.gather(tf.ones([3,2]), [0], axis=1.5)", IAE),
    ("tf.gather(tf.ones([3]), [0], axis='a')", IAE),
    ("tf.gather(tf.reshape(tf.range(24), [2,3,4]), [[0,3],[1,1]], batch_dims=1)", IAE),
    ("tf.gather(tf.reshape(tf.range(24), [2,3,4]), [[0,-1],[1,1]], batch_dims=1)", IAE),
    ("tf.gather(tf.reshape(tf.range(24), [2,3,4]), [[0,2],[1,1]], batch_dims=1, axis=0)", IAE),
    ("tf.gather(tf.reshape(tf.range(24), [2,3,4]), [[0.0,2],[1,1]], batch_dims=1)", IAE),
    # one_hot
    ("tf.one_hot([1], 3, axis=5)", IAE),
    ("tf.one_hot([1], 3, axis=2)", IAE),
    ("tf.one_hot([1], 3, axis=-2)", IAE),
    ("tf.one_hot(1, 3, axis=1)", IAE),
    ("tf.one_hot([1], 3.0)", TypeError),
    ("tf.one_hot([1], 'a')", TypeError),
    ("tf.one_hot([1], None)", ValueError),
    ("tf.one_hot([1], tf.constant(3.0))", ValueError),
    # creation
    ("tf.eye(2.5)", TypeError),
    ("tf.eye(2.0)", TypeError),
    ("tf.eye(2, 2.5)", TypeError),
    ("tf.eye(np.float32(2))", TypeError),
    ("tf.eye('a')", TypeError),
    ("tf.eye(None)", TypeError),
    ("tf.eye(True)", TypeError),
    ("tf.eye(2, batch_shape=[2.5])", TypeError),
    ("tf.range(0, 10, 1, dtype=tf.bool)", TypeError),
    ("tf.range(5, dtype=tf.bool)", TypeError),
    ("tf.range(0, 3, 1, dtype=tf.uint8)", IAE),
    ("tf.linspace(0.0, 1.0, 2.5)", TypeError),
    ("tf.linspace(0.0, 1.0, 2.0)", TypeError),
    ("tf.linspace(0.0, 1.0, 'a')", TypeError),
    ("tf.linspace(0.0, 1.0, tf.constant(3.0))", TypeError),
    ("tf.linspace(0.0, 1.0, None)", ValueError),
    # pad
    ("tf.pad(tf.ones([2]), [[1,1]], mode='FOO')", ValueError),
    ("tf.pad(tf.ones([2]), [[3,3]], mode='REFLECT')", IAE),
    ("tf.pad(tf.constant([1,2,3]), [[3,0]], mode='REFLECT')", IAE),
    ("tf.pad(tf.constant([1,2,3]), [[4,3]], mode='SYMMETRIC')", IAE),
    ("tf.pad(tf.constant([1,2,3]), [[-1,0]], mode='REFLECT')", IAE),
    ("tf.pad(tf.ones([0]), [[0,0]], mode='REFLECT')", IAE),
    ("tf.pad(tf.reshape(tf.range(6), [2,3]), [[1,1]], mode='REFLECT')", IAE),
    # dtypes
    ("tf.divide(tf.ones([2], tf.int32), tf.ones([2], tf.float32))", TypeError),
    ("tf.math.divide(tf.ones([2], tf.int32), tf.ones([2], tf.float32))", TypeError),
    ("tf.math.truediv(tf.ones([2], tf.int32), tf.ones([2], tf.float32))", TypeError),
    ("tf.divide(tf.ones([2], tf.int32), tf.ones([2], tf.int64))", TypeError),
    ("tf.divide(tf.ones([2], tf.int32), 2.5)", TypeError),
    ("tf.divide(tf.ones([2], tf.int32), [1.5, 2])", TypeError),
    ("tf.divide(2.5, tf.ones([2], tf.int32))", TypeError),
    ("tf.divide(tf.ones([2]), tf.Variable([2.0, 1.0], dtype=tf.float64))", TypeError),
    ("tf.divide(tf.constant([True]), tf.constant([True]))", TypeError),
    ("tf.floor(tf.constant([1]))", IAE),
    ("tf.floor(tf.constant([1], tf.int64))", IAE),
    ("tf.floor(tf.constant([1], tf.uint8))", IAE),
    ("tf.floor([1])", IAE),
    ("tf.math.ceil(tf.constant([1]))", IAE),
    ("tf.math.ceil(1)", IAE),
    ("tf.random.normal([2], dtype=tf.int32)", TypeError),
    ("tf.random.normal([2], dtype=tf.bool)", TypeError),
    ("tf.random.truncated_normal([2], dtype=tf.int32)", TypeError),
    ("tf.random.uniform([2], dtype=tf.bool)", ValueError),
    ("tf.random.uniform([2], dtype=tf.uint8, maxval=3)", ValueError),
    # nn
    ("tf.nn.conv2d(tf.ones([1,4,4,1]), tf.ones([2,2,1,1]), 1, 'FOO')", IAE),
    ("tf.nn.conv2d(tf.ones([1,4,4,1]), tf.ones([2,2,1,1]), 1, None)", TypeError),
    ("tf.nn.conv2d(tf.ones([1,4,4,1]), tf.ones([2,2,1,1]), 1, 3)", TypeError),
    ("tf.nn.max_pool2d(tf.ones([1,4,4,1]), 2, 2, 'FOO')", IAE),
    ("tf.nn.max_pool2d(tf.ones([1,4,4,1]), 2, 2, None)", TypeError),
    ("tf.nn.avg_pool2d(tf.ones([1,4,4,1]), 2, 2, 'FOO')", IAE),
    ("tf.nn.max_pool(tf.ones([1,4,4,1]), 2, 2, 'FOO')", IAE),
    ("tf.nn.avg_pool2d(tf.ones([1,4,4,1], tf.int32), 2, 2, 'SAME')", IAE),
    ("tf.nn.avg_pool2d(tf.ones([1,4,4,1], tf.int64), 2, 2, 'SAME')", IAE),
    ("tf.nn.avg_pool(tf.ones([1,4,4,1], tf.int32), 2, 2, 'SAME')", IAE),
    # TensorShape
    ("tf.TensorShape([2]).merge_with(tf.TensorShape([3]))", ValueError),
    ("tf.TensorShape([2]).merge_with([2, 3])", ValueError),
    ("tf.TensorShape([2]).merge_with([2.5])", TypeError),
    ("tf.TensorShape([2]).merge_with('a')", TypeError),
    ("tf.TensorShape([2]).is_compatible_with(tf.ones([2]))", TypeError),
    ("tf.TensorShape([2]).assert_is_compatible_with([3])", ValueError),
    ("tf.TensorShape([2]).assert_same_rank([3, 4])", ValueError),
    ("tf.TensorShape([2]).assert_has_rank(2)", ValueError),
    ("tf.TensorShape([2]).with_rank(2)", ValueError),
    ("tf.TensorShape([2.5])", TypeError),
]


@pytest.mark.parametrize(("code", "cls"), MALFORMED, ids=[c for c, _ in MALFORMED])
def test_malformed_call_raises_tensorflows_class(code, cls):
    with pytest.raises(cls):
        eval(code, {"tf": tf, "np": np})


# Well-formed calls next to the malformed ones: (call, expected values, rstf dtype name).
WELL_FORMED = [
    ("tf.stack([])", np.zeros(0), "float32"),
    ("tf.stack(())", np.zeros(0), "float32"),
    ("tf.reshape(tf.ones([2,3]), np.array([3.0, 2.0]))", np.ones((3, 2)), "float32"),
    ("tf.reshape(tf.ones([2,3]), [np.int64(3), 2])", np.ones((3, 2)), "float32"),
    ("tf.reshape(tf.ones([2,3]), tf.constant([3, 2], tf.int64))", np.ones((3, 2)), "float32"),
    ("tf.reshape(tf.ones([2,3]), tf.TensorShape([3, 2]))", np.ones((3, 2)), "float32"),
    ("tf.reshape(tf.ones([1]), [])", np.ones(()), "float32"),
    ("tf.reshape(tf.ones([6]), 6)", np.ones(6), "float32"),
    ("tf.ones([2, True])", np.ones((2, 1)), "float32"),
    ("tf.ones(np.array([2.0]))", np.ones(2), "float32"),
    ("tf.ones(np.int64(2))", np.ones(2), "float32"),
    ("tf.ones(tf.constant([2]))", np.ones(2), "float32"),
    ("tf.fill(2, 1.0)", np.ones(2), "float32"),
    ("tf.reduce_sum(tf.ones([2]), axis=[[0]])", np.array(2.0), "float32"),
    ("tf.reduce_sum(tf.ones([2]), axis=np.array([0.0]))", np.array(2.0), "float32"),
    ("tf.reduce_sum(tf.ones([2]), axis=[])", np.ones(2), "float32"),
    ("tf.expand_dims(tf.ones([2]), [1])", np.ones((2, 1)), "float32"),
    ("tf.expand_dims(tf.ones([2]), tf.constant(1))", np.ones((2, 1)), "float32"),
    ("tf.stack([tf.ones([2])], 0.0)", np.ones((1, 2)), "float32"),
    ("tf.squeeze(tf.ones([1]), 0.0)", np.ones(()), "float32"),
    ("tf.nn.softmax(tf.ones([2]), axis=0.0)", np.full(2, 0.5), "float32"),
    ("tf.argmax(tf.ones([2]), axis=tf.constant(0))", np.array(0), "int64"),
    ("tf.argmax(tf.ones([2]), output_type=None)", np.array(0), "int64"),
    ("tf.argmin(tf.ones([2]), output_type=tf.int32)", np.array(0), "int32"),
    ("tf.one_hot([1], 3, axis=0)", [[0.0], [1.0], [0.0]], "float32"),
    ("tf.one_hot([1], 3, axis=1)", [[0.0, 1.0, 0.0]], "float32"),
    ("tf.one_hot(1, 3, axis=0)", [0.0, 1.0, 0.0], "float32"),
    ("tf.one_hot([[1]], 3, axis=2)", [[[0.0, 1.0, 0.0]]], "float32"),
    ("tf.one_hot([1], np.int64(3))", [[0.0, 1.0, 0.0]], "float32"),
    ("tf.eye(np.int64(2))", np.eye(2), "float32"),
    ("tf.eye(tf.constant(2))", np.eye(2), "float32"),
    ("tf.eye(2, 0)", np.zeros((2, 0)), "float32"),
    ("tf.range(0, 3, 1, dtype=tf.float16)", [0.0, 1.0, 2.0], "float16"),
    ("tf.linspace(0.0, 1.0, np.int64(3))", [0.0, 0.5, 1.0], "float32"),
    ("tf.linspace(0.0, 1.0, tf.constant(3))", [0.0, 0.5, 1.0], "float32"),
    ("tf.pad(tf.ones([2]), [[1,1]], mode='constant')", [0.0, 1.0, 1.0, 0.0], "float32"),
    ("tf.pad(tf.constant([1,2,3]), [[2,2]], mode='REFLECT')", [3, 2, 1, 2, 3, 2, 1], "int32"),
    ("tf.pad(tf.constant([1,2,3]), [[3,3]], mode='SYMMETRIC')", [3, 2, 1, 1, 2, 3, 3, 2, 1], "int32"),
    ("tf.pad(tf.ones([1]), [[0,0]], mode='REFLECT')", [1.0], "float32"),
    ("tf.pad(tf.constant([1.0, 2.0]), [[1,1]], mode='reflect', constant_values=5)", [2.0, 1.0, 2.0, 1.0],
     "float32"),
    ("tf.divide(tf.ones([2], tf.int32), 2)", [0.5, 0.5], "float64"),
    ("tf.divide(tf.ones([2], tf.int32), np.array([1.5, 2]))", [1.0, 0.5], "float64"),
    ("tf.divide(2, tf.ones([2]))", [2.0, 2.0], "float32"),
    ("tf.divide([1.0, 2.0], tf.ones([2], tf.float64))", [1.0, 2.0], "float64"),
    ("tf.divide(np.array([1.0, 2.0]), tf.ones([2]))", [1.0, 2.0], "float32"),
    ("tf.divide(tf.ones([2]), np.array([1.0, 2.0]))", [1.0, 0.5], "float32"),
    ("tf.divide(tf.Variable([2.0, 1.0], dtype=tf.float64), [1.0, 2.0])", [2.0, 0.5], "float64"),
    ("tf.divide(tf.ones([2], tf.uint8), tf.ones([2], tf.uint8))", [1.0, 1.0], "float32"),
    ("tf.divide(2, 4)", np.array(0.5), "float64"),
    ("tf.round(tf.constant([1]))", [1], "int32"),
    ("tf.floor(1.5)", np.array(1.0), "float32"),
    ("tf.nn.max_pool2d(tf.ones([1,4,4,1], tf.int32), 2, 2, 'SAME')", np.ones((1, 2, 2, 1)), "int32"),
    ("tf.nn.avg_pool2d(tf.ones([1,4,4,1], tf.float64), 2, 2, 'SAME')", np.ones((1, 2, 2, 1)), "float64"),
]


@pytest.mark.parametrize(("code", "expected", "dtype"), WELL_FORMED, ids=[c for c, _, _ in WELL_FORMED])
def test_well_formed_call(code, expected, dtype):
    check_exact(eval(code, {"tf": tf, "np": np}), np.asarray(expected).astype(dtype), dtype)


def test_tensor_shape_merge_and_compatibility():
    s = tf.TensorShape([None, 3])
    assert s.merge_with([2, None]) == (2, 3)
    assert isinstance(s.merge_with([2, None]), tf.TensorShape)
    assert tf.TensorShape([2]).merge_with(tf.TensorShape([None])) == (2,)
    assert tf.TensorShape([2]).merge_with(None) == (2,)
    assert tf.TensorShape([]).merge_with([]) == ()
    assert tf.TensorShape([2]).is_compatible_with([None])
    assert tf.TensorShape([None, 2]).is_compatible_with((5, 2))
    assert tf.TensorShape([2]).is_compatible_with(None)
    assert not tf.TensorShape([2]).is_compatible_with([3])
    assert not tf.TensorShape([2]).is_compatible_with([2, 3])
    assert tf.TensorShape([2, None]).most_specific_compatible_shape([3, None]) == (None, None)
    assert tf.TensorShape([2, 4]).most_specific_compatible_shape([2, 4]) == (2, 4)
    assert tf.TensorShape([2, 4]).most_specific_compatible_shape([2, None]) == (2, None)
    assert tf.TensorShape([2]).concatenate([3]) == (2, 3)
    assert tf.TensorShape([2]).with_rank(1) == (2,)
    assert tf.TensorShape(5) == (5,)
    assert tf.TensorShape([np.int64(2), tf.constant(3)]) == (2, 3)
    tf.TensorShape([2]).assert_is_compatible_with([None])
    tf.TensorShape([2]).assert_same_rank([7])


PARAMS = np.arange(2 * 3 * 4).reshape(2, 3, 4).astype(np.float32)


def _np_batched_gather(params, indices, axis, batch_dims):
    """TensorFlow's gather with batch dimensions, one batch at a time."""
    if batch_dims == 0:
        return np.take(params, indices, axis=axis)
    return np.stack([_np_batched_gather(p, i, axis - 1, batch_dims - 1) for p, i in zip(params, indices)])


@pytest.mark.parametrize(("indices", "axis", "batch_dims"), [
    ([[0, 2], [1, 1]], None, 1),
    ([[0, 2], [1, 1]], 2, 1),
    ([[0, 2], [1, 1]], -1, 1),
    ([[0, 2], [1, 1]], 2, -1),
    ([[[0], [2]], [[1], [1]]], 2, 1),
    ([[0, 1, 2], [2, 0, 1]], 2, 2),
    ([[[0, 3], [1, 1], [2, 2]], [[3, 3], [0, 0], [1, 2]]], None, 2),
    ([[2], [0]], 1, 1),
])
def test_gather_batch_dims_matches_per_batch_gather(indices, axis, batch_dims):
    r = tf.gather(tf.constant(PARAMS), indices, axis=axis, batch_dims=batch_dims)
    idx = np.asarray(indices)
    b = batch_dims if batch_dims >= 0 else batch_dims + idx.ndim
    ax = b if axis is None else axis % PARAMS.ndim
    check_exact(r, _np_batched_gather(PARAMS, idx, ax, b), "float32")


def test_gather_batch_dims_empty_batch_and_gradient():
    r = tf.gather(tf.ones([0, 3]), tf.zeros([0, 2], tf.int32), batch_dims=1)
    assert r.shape == (0, 2)
    v = tf.Variable(PARAMS)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.gather(v, [[0, 0], [3, 1]], axis=2, batch_dims=1))
    expected = np.zeros_like(PARAMS)
    expected[0, :, 0] = 2
    expected[1, :, 3] = 1
    expected[1, :, 1] = 1
    check_exact(tape.gradient(y, v), expected, "float32")


@pytest.mark.parametrize("mode", ["REFLECT", "SYMMETRIC"])
def test_mirror_pad_matches_numpy_and_has_a_gradient(mode):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    pads = [[1, 2], [3, 0]] if mode == "REFLECT" else [[3, 1], [0, 4]]
    np_mode = "reflect" if mode == "REFLECT" else "symmetric"
    check_exact(tf.pad(tf.constant(x), pads, mode=mode), np.pad(x, pads, mode=np_mode), "float32")
    v = tf.Variable(x)
    w = np.random.default_rng(0).standard_normal(np.pad(x, pads).shape).astype(np.float32)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.pad(v, pads, mode=mode) * w)
    # The gradient of a gather sums the weights of every copy of an element.
    expected = np.zeros_like(x)
    src = np.pad(np.arange(x.size).reshape(x.shape), pads, mode=np_mode)
    np.add.at(expected.reshape(-1), src.reshape(-1), w.reshape(-1))
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), expected, rtol=1e-6, atol=1e-6)
