"""tf.sparse against dense numpy float64 references: SparseTensor, to_dense/from_dense, add,
sparse_dense_matmul, reduce_sum, reorder, reshape, transpose, concat, slice, retain,
expand_dims, split, to_indicator, map_values and ``sparse * dense``; TensorFlow's printed form
and errors; gradients (finite differences) through the values and the dense operands; inside
traced functions."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
from helpers import FAST
from hypothesis import given

import rstf as tf


def fd_grad(fn, x: np.ndarray, eps=1e-6) -> np.ndarray:
    """Central finite differences of the scalar ``fn`` (numpy float64 in, float out)."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (fn(xp) - fn(xm)) / (2 * eps)
    return g


def check_grad(fn, x: np.ndarray):
    """The tape's gradient of ``fn`` (float64 tensor -> scalar tensor) against finite differences."""
    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        y = fn(t)
    got = tape.gradient(y, t)
    num = fd_grad(lambda a: float(fn(tf.constant(a))), x)
    np.testing.assert_allclose(np.asarray(got), num, rtol=1e-6, atol=1e-8)


@st.composite
def sparse_arrays(draw, max_rank=3, min_rank=1):
    """``(dense numpy float64 array, sorted unique indices [N, rank], values [N])``."""
    rank = draw(st.integers(min_rank, max_rank))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank)))
    total = int(np.prod(shape))
    flat = sorted(draw(st.sets(st.integers(0, total - 1), max_size=min(total, 8))))
    idx = np.array(np.unravel_index(np.array(flat, dtype=np.int64), shape), dtype=np.int64)
    idx = idx.T.reshape(-1, rank)
    values = np.array(draw(st.lists(st.floats(-9, 9).filter(lambda v: v != 0), min_size=len(flat),
                                    max_size=len(flat))), dtype=np.float64)
    dense = np.zeros(shape)
    dense[tuple(idx.T)] = values
    return dense, idx, values


def make(idx, values, shape, dtype=tf.float64):
    return tf.sparse.SparseTensor(idx.reshape(-1, len(shape)), tf.constant(values, dtype=dtype), list(shape))


# ----------------------------------------------------------------------------- SparseTensor


def test_attributes_and_printing():
    st_ = tf.sparse.SparseTensor(indices=[[0, 0], [1, 2]], values=[1, 2], dense_shape=[3, 4])
    assert tf.SparseTensor is tf.sparse.SparseTensor
    assert st_.shape == tf.TensorShape([3, 4]) and st_.get_shape() == (3, 4)
    assert st_.dtype == tf.int32 and st_.indices.dtype == tf.int64 and st_.dense_shape.dtype == tf.int64
    # print(tf.sparse.SparseTensor(indices=[[0, 0], [1, 2]], values=[1, 2], dense_shape=[3, 4])) in
    # TensorFlow 2.21, with its "tf." prefixes as rstf's:
    assert str(st_) == (
        "SparseTensor(indices=rstf.Tensor(\n[[0 0]\n [1 2]], shape=(2, 2), dtype=int64), "
        "values=rstf.Tensor([1 2], shape=(2,), dtype=int32), "
        "dense_shape=rstf.Tensor([3 4], shape=(2,), dtype=int64))")
    assert repr(st_) == str(st_)


def test_construction_errors():
    with pytest.raises(ValueError, match="must have rank 2"):
        tf.sparse.SparseTensor([0, 1], [1.0, 2.0], [3])
    with pytest.raises(ValueError, match="Dimensions 2 and 3 are not compatible"):
        tf.sparse.SparseTensor([[0], [1]], [1.0, 2.0, 3.0], [3])
    with pytest.raises(ValueError, match="Dimensions 1 and 2 are not compatible"):
        tf.sparse.SparseTensor([[0], [1]], [1.0, 2.0], [3, 4])
    with pytest.raises(TypeError, match="int64"):
        tf.sparse.SparseTensor([[0.5], [1]], [1.0, 2.0], [3])
    with pytest.raises(ValueError, match="unsupported type"):
        tf.constant(tf.sparse.SparseTensor([[0]], [1.0], [3]))


# ----------------------------------------------------------------------------- dense conversion


@FAST
@given(data=sparse_arrays(), default=st.sampled_from([None, 0.0, -2.5]))
def test_to_dense_and_from_dense(data, default):
    dense, idx, values = data
    sp = make(idx, values, dense.shape)
    expected = dense.copy()
    if default is not None:
        mask = np.ones(dense.shape, bool)
        mask[tuple(idx.T)] = False
        expected[mask] = default
    np.testing.assert_array_equal(tf.sparse.to_dense(sp, default_value=default).numpy(), expected)
    back = tf.sparse.from_dense(tf.constant(dense))
    np.testing.assert_array_equal(back.indices.numpy(), np.argwhere(dense != 0))
    np.testing.assert_array_equal(back.values.numpy(), dense[dense != 0])
    assert back.shape == dense.shape


def test_to_dense_validation():
    bad = tf.sparse.SparseTensor([[2, 4], [0, 3]], [10.0, 20.0], [3, 10])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices\[1\] = \[0,3\] is out of order"):
        tf.sparse.to_dense(bad)
    expected = np.zeros((3, 10), np.float32)
    expected[2, 4], expected[0, 3] = 10, 20
    np.testing.assert_array_equal(tf.sparse.to_dense(bad, validate_indices=False).numpy(), expected)
    rep = tf.sparse.SparseTensor([[0, 3], [0, 3]], [1.0, 2.0], [3, 10])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices\[1\] = \[0,3\] is repeated"):
        tf.sparse.to_dense(rep)
    # The last repeated value wins, as TensorFlow's ([[0, 0, 0, 2., ...]] there).
    assert tf.sparse.to_dense(rep, validate_indices=False).numpy()[0, 3] == 2.0
    oob = tf.sparse.SparseTensor([[0, 3], [5, 3]], [1.0, 2.0], [3, 10])
    msg = r"indices\[1\] = \[5,3\] is out of bounds: need 0 <= index < \[3,10\]"
    for validate in (True, False):
        with pytest.raises(tf.errors.InvalidArgumentError, match=msg):
            tf.sparse.to_dense(oob, validate_indices=validate)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.sparse.from_dense(tf.constant(3.0))


@FAST
@given(data=sparse_arrays(), seed=st.integers(0, 2**31))
def test_reorder(data, seed):
    dense, idx, values = data
    perm = np.random.default_rng(seed).permutation(len(idx))
    sp = tf.sparse.reorder(make(idx[perm], values[perm], dense.shape))
    np.testing.assert_array_equal(sp.indices.numpy(), idx.reshape(-1, dense.ndim))
    np.testing.assert_array_equal(sp.values.numpy(), values)
    np.testing.assert_array_equal(tf.sparse.to_dense(sp).numpy(), dense)


# ----------------------------------------------------------------------------- arithmetic


@FAST
@given(a=sparse_arrays(max_rank=2, min_rank=2), seed=st.integers(0, 2**31))
def test_add(a, seed):
    dense_a, idx_a, val_a = a
    rng = np.random.default_rng(seed)
    mask = rng.random(dense_a.shape) < 0.4
    dense_b = np.where(mask, rng.integers(-3, 4, dense_a.shape).astype(np.float64), 0.0)
    idx_b = np.argwhere(mask)
    sa, sb = make(idx_a, val_a, dense_a.shape), make(idx_b, dense_b[mask], dense_a.shape)
    out = tf.sparse.add(sa, sb)
    union = np.argwhere(dense_a.astype(bool) | mask)
    np.testing.assert_array_equal(out.indices.numpy().reshape(-1, 2), union)
    np.testing.assert_array_equal(tf.sparse.to_dense(out).numpy(), dense_a + dense_b)
    kept = tf.sparse.add(sa, sb, threshold=1.0)
    total = dense_a + dense_b
    keep = (dense_a.astype(bool) | mask) & (np.abs(total) >= 1.0)
    np.testing.assert_array_equal(kept.indices.numpy().reshape(-1, 2), np.argwhere(keep))
    np.testing.assert_array_equal(tf.sparse.add(sa, tf.constant(dense_b)).numpy(), dense_a + dense_b)
    np.testing.assert_array_equal(tf.sparse.add(tf.constant(dense_b), sa).numpy(), dense_a + dense_b)


def test_add_examples_and_errors():
    # tf.sparse.add of these two in TensorFlow: indices [[0 2] [3 0] [3 4]], values [87 38 2].
    st_a = tf.sparse.SparseTensor(indices=[[0, 2], [3, 4]], values=[31, 2], dense_shape=[4, 10])
    st_b = tf.sparse.SparseTensor(indices=[[0, 2], [3, 0]], values=[56, 38], dense_shape=[4, 10])
    out = tf.sparse.add(st_a, st_b)
    assert out.indices.numpy().tolist() == [[0, 2], [3, 0], [3, 4]]
    assert out.values.numpy().tolist() == [87, 38, 2]
    st_ = tf.sparse.SparseTensor([[0, 1], [1, 0]], [1.0, 2.0], [2, 3])
    with pytest.raises(tf.errors.InvalidArgumentError, match="do not match: got 3 and 4 for dimension 1"):
        tf.sparse.add(st_, tf.sparse.SparseTensor([[0, 0]], [5.0], [2, 4]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="no broadcasting is supported"):
        tf.sparse.add(st_, tf.ones([2, 4]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="different ranks"):
        tf.sparse.add(st_, tf.ones([3]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="float tensor but is a int32 tensor"):
        tf.sparse.add(st_, tf.sparse.SparseTensor([[0, 0]], [5], [2, 3]))


@FAST
@given(a=sparse_arrays(max_rank=2, min_rank=2), seed=st.integers(0, 2**31),
       adj=st.tuples(st.booleans(), st.booleans()), sparse_first=st.booleans())
def test_sparse_dense_matmul(a, seed, adj, sparse_first):
    dense_a, idx, values = a
    rng = np.random.default_rng(seed)
    sp = make(idx, values, dense_a.shape)
    ta, tb = adj
    left = dense_a.T if ta else dense_a
    if sparse_first:
        other = rng.normal(size=(left.shape[1], 3))
        b = other.T if tb else other
        got = tf.sparse.sparse_dense_matmul(sp, tf.constant(b), adjoint_a=ta, adjoint_b=tb)
        expected = left @ other
    else:
        sp_mat = dense_a.T if tb else dense_a
        other = rng.normal(size=(2, sp_mat.shape[0]))
        b = other.T if ta else other
        got = tf.sparse.sparse_dense_matmul(tf.constant(b), sp, adjoint_a=ta, adjoint_b=tb)
        expected = other @ sp_mat
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_sparse_dense_matmul_example_and_errors():
    # The guide's example: [[78] [162]] in TensorFlow.
    st_c = tf.sparse.SparseTensor(indices=([0, 1], [1, 0], [1, 1]), values=[13, 15, 17], dense_shape=(2, 2))
    assert tf.sparse.sparse_dense_matmul(st_c, tf.constant([[4], [6]])).numpy().tolist() == [[78], [162]]
    st_ = tf.sparse.SparseTensor([[0, 1], [1, 0]], [1.0, 2.0], [2, 3])
    with pytest.raises(tf.errors.InvalidArgumentError, match="inner dimension does not match: 3 vs. 2"):
        tf.sparse.sparse_dense_matmul(st_, tf.ones([2, 2]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="float tensor but is a double tensor"):
        tf.sparse.sparse_dense_matmul(st_, tf.ones([3, 2], tf.float64))


@FAST
@given(data=sparse_arrays(), seed=st.integers(0, 2**31))
def test_mul_div_by_dense(data, seed):
    dense, idx, values = data
    rng = np.random.default_rng(seed)
    bshape = tuple(1 if rng.random() < 0.4 else d for d in dense.shape)[int(rng.integers(0, dense.ndim + 1)):]
    y = rng.uniform(1, 3, bshape)
    sp = make(idx, values, dense.shape)
    full = np.broadcast_to(y, dense.shape)[tuple(idx.T)]
    np.testing.assert_allclose((sp * tf.constant(y)).values.numpy(), values * full, rtol=1e-12)
    np.testing.assert_allclose((sp / tf.constant(y)).values.numpy(), values / full, rtol=1e-12)
    np.testing.assert_array_equal((sp * 2.0).values.numpy(), values * 2)


def test_mul_errors():
    st_ = tf.sparse.SparseTensor([[0, 1], [1, 0]], [1.0, 2.0], [2, 3])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"incompatible shapes: \[2,3\] vs. \[1,2\]"):
        st_ * tf.constant([[1.0, 2.0]])
    with pytest.raises(ValueError, match="requested dtype float32"):
        st_ * tf.constant(2)
    with pytest.raises(TypeError):
        st_ + 1


# ----------------------------------------------------------------------------- reductions, shapes


@FAST
@given(data=sparse_arrays(), keepdims=st.booleans(), axis_seed=st.integers(0, 2**31))
def test_reduce_sum(data, keepdims, axis_seed):
    dense, idx, values = data
    sp = make(idx, values, dense.shape)
    rng = np.random.default_rng(axis_seed)
    axes = sorted({int(a) % dense.ndim: int(a) for a in
                   rng.integers(-dense.ndim, dense.ndim, rng.integers(1, dense.ndim + 1))}.values())
    expected = dense.sum(axis=tuple(axes), keepdims=keepdims)
    np.testing.assert_allclose(tf.sparse.reduce_sum(sp, axis=axes, keepdims=keepdims).numpy(), expected)
    np.testing.assert_allclose(tf.sparse.reduce_sum(sp).numpy(), dense.sum())
    out = tf.sparse.reduce_sum(sp, axis=axes, keepdims=keepdims, output_is_sparse=True)
    np.testing.assert_allclose(tf.sparse.to_dense(out).numpy(), expected)
    # The output holds the groups that had values (not the non-zero sums).
    present = (dense != 0).any(axis=tuple(a % dense.ndim for a in axes), keepdims=keepdims)
    np.testing.assert_array_equal(out.indices.numpy(), np.argwhere(present))


@FAST
@given(data=sparse_arrays(), axis_seed=st.integers(0, 2**31), keepdims=st.booleans())
def test_reduce_max(data, axis_seed, keepdims):
    dense, idx, values = data
    sp = make(idx, values, dense.shape)
    rng = np.random.default_rng(axis_seed)
    ax = int(rng.integers(-dense.ndim, dense.ndim))
    # Only explicit values count; a group without values gives 0 (TensorFlow's semantics).
    explicit = np.where(dense != 0, dense, -np.inf)
    expected = np.asarray(explicit.max(axis=ax, keepdims=keepdims))
    expected = np.where(np.isneginf(expected), 0.0, expected)
    np.testing.assert_array_equal(tf.sparse.reduce_max(sp, axis=ax, keepdims=keepdims).numpy(), expected)
    out = tf.sparse.reduce_max(sp, axis=ax, keepdims=keepdims, output_is_sparse=True)
    present = (dense != 0).any(axis=ax, keepdims=keepdims)
    np.testing.assert_array_equal(out.indices.numpy(), np.argwhere(present))


def test_minimum_maximum_eye_reset_fill():
    a = tf.sparse.SparseTensor([[0, 0], [0, 2], [1, 1]], [-1.0, -2.0, -3.0], [3, 3])
    b = tf.sparse.SparseTensor([[0, 0], [2, 2]], [-5.0, 1.0], [3, 3])
    da, db = tf.sparse.to_dense(a).numpy(), tf.sparse.to_dense(b).numpy()
    union = np.argwhere((da != 0) | (db != 0))
    for fn, ref in ((tf.sparse.minimum, np.minimum), (tf.sparse.maximum, np.maximum)):
        out = fn(a, b)
        np.testing.assert_array_equal(out.indices.numpy(), union)
        np.testing.assert_array_equal(out.values.numpy(), ref(da, db)[tuple(union.T)])
    np.testing.assert_array_equal(tf.sparse.to_dense(tf.sparse.eye(2, 3)).numpy(), np.eye(2, 3))
    assert tf.sparse.reset_shape(a).shape == (2, 3) and tf.sparse.reset_shape(a, [4, 5]).shape == (4, 5)
    with pytest.raises(ValueError, match="new_shape should have dimension sizes >= sp_input.shape"):
        tf.sparse.reset_shape(a, [2, 5])
    filled, empty = tf.sparse.fill_empty_rows(a, 9.0)
    assert empty.numpy().tolist() == [False, False, True]
    expected = da.copy()
    expected[2, 0] = 9.0
    np.testing.assert_array_equal(tf.sparse.to_dense(filled).numpy(), expected)


def test_reduce_sum_axis_error():
    with pytest.raises(tf.errors.InvalidArgumentError, match="Invalid reduction dimension 2, for input"):
        tf.sparse.reduce_sum(tf.sparse.SparseTensor([[0, 1]], [1.0], [2, 3]), axis=2)


@FAST
@given(data=sparse_arrays(), seed=st.integers(0, 2**31))
def test_reshape_transpose_expand_dims(data, seed):
    dense, idx, values = data
    sp = make(idx, values, dense.shape)
    rng = np.random.default_rng(seed)
    new = [dense.size] if rng.random() < 0.5 else [-1, int(dense.shape[-1])]
    np.testing.assert_array_equal(tf.sparse.to_dense(tf.sparse.reshape(sp, new)).numpy(), dense.reshape(new))
    perm = rng.permutation(dense.ndim).tolist()
    tr = tf.sparse.transpose(sp, perm)
    np.testing.assert_array_equal(tf.sparse.to_dense(tr).numpy(), dense.transpose(perm))  # sorted: validates
    ax = int(rng.integers(-dense.ndim - 1, dense.ndim + 1))
    np.testing.assert_array_equal(tf.sparse.to_dense(tf.sparse.expand_dims(sp, ax)).numpy(),
                                  np.expand_dims(dense, ax))


def test_reshape_error():
    st_ = tf.sparse.SparseTensor([[0, 1]], [1.0], [2, 3])
    with pytest.raises(tf.errors.InvalidArgumentError, match="6 dense values, but the requested shape has 8"):
        tf.sparse.reshape(st_, [4, 2])


@FAST
@given(parts=st.lists(sparse_arrays(max_rank=2, min_rank=2), min_size=1, max_size=3),
       axis=st.sampled_from([0, 1, -1]))
def test_concat(parts, axis):
    ax = axis % 2
    rows = max(p[0].shape[1 - ax] for p in parts)
    padded = []
    for dense, _, _ in parts:
        pad = [(0, 0), (0, 0)]
        pad[1 - ax] = (0, rows - dense.shape[1 - ax])
        padded.append(np.pad(dense, pad))
    sps = [make(i, v, d.shape) for d, i, v in parts]
    out = tf.sparse.concat(axis, sps, expand_nonconcat_dims=True)
    np.testing.assert_array_equal(tf.sparse.to_dense(out).numpy(), np.concatenate(padded, axis=ax))
    if all(p[0].shape[1 - ax] == rows for p in parts):
        out = tf.sparse.concat(axis, sps)
        np.testing.assert_array_equal(tf.sparse.to_dense(out).numpy(), np.concatenate(padded, axis=ax))


def test_concat_error():
    a = tf.sparse.SparseTensor([[0, 1]], [1.0], [2, 3])
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected 3 for dimension 1 but got 4 at"):
        tf.sparse.concat(0, [a, tf.sparse.SparseTensor([[0, 0]], [5.0], [1, 4])])


@FAST
@given(data=sparse_arrays(), seed=st.integers(0, 2**31))
def test_slice_retain_split(data, seed):
    dense, idx, values = data
    sp = make(idx, values, dense.shape)
    rng = np.random.default_rng(seed)
    start = [int(rng.integers(0, d + 1)) for d in dense.shape]
    size = [int(rng.integers(0, d + 2)) for d in dense.shape]
    window = dense[tuple(slice(a, a + b) for a, b in zip(start, size))]
    out = tf.sparse.slice(sp, start, size)
    assert out.shape == window.shape
    np.testing.assert_array_equal(tf.sparse.to_dense(out).numpy(), window)
    keep = rng.random(len(values)) < 0.5
    kept = tf.sparse.retain(sp, keep)
    np.testing.assert_array_equal(kept.values.numpy(), values[keep])
    np.testing.assert_array_equal(kept.indices.numpy().reshape(-1, dense.ndim), idx[keep])
    n = dense.shape[0]
    k = int(rng.integers(1, n + 1))
    pieces = tf.sparse.split(sp_input=sp, num_split=k, axis=0)
    np.testing.assert_array_equal(np.concatenate([tf.sparse.to_dense(p).numpy() for p in pieces]), dense)
    assert [p.shape[0] for p in pieces] == [len(a) for a in np.array_split(np.arange(n), k)]


def test_guide_concat_and_slice():
    # From the sparse tensor guide; TensorFlow prints 1s at these positions of the (8, 17) result.
    a = tf.sparse.SparseTensor(indices=[[2, 4], [3, 3], [3, 4], [4, 3], [4, 4], [5, 4]], values=[1] * 6,
                               dense_shape=[8, 5])
    b = tf.sparse.SparseTensor(indices=[[0, 2], [1, 1], [1, 3], [2, 0], [2, 4], [2, 5], [3, 5], [4, 5],
                                        [5, 0], [5, 4], [5, 5], [6, 1], [6, 3], [7, 2]],
                               values=[1] * 14, dense_shape=[8, 6])
    out = tf.sparse.to_dense(tf.sparse.concat(axis=1, sp_inputs=[a, b]))
    assert out.shape == (8, 11)
    expected = np.zeros((8, 11), np.int32)
    expected[tuple(np.array([[2, 4], [3, 3], [3, 4], [4, 3], [4, 4], [5, 4]]).T)] = 1
    expected[tuple((np.array(b.indices.numpy()) + [0, 5]).T)] = 1
    np.testing.assert_array_equal(out.numpy(), expected)
    # tf.sparse.slice(b, start=[0, 5], size=[8, 6]): indices [[2 0] [3 0] [4 0] [5 0]], shape [8 1].
    sl = tf.sparse.slice(b, start=[0, 5], size=[8, 6])
    assert sl.indices.numpy().tolist() == [[2, 0], [3, 0], [4, 0], [5, 0]]
    assert sl.dense_shape.numpy().tolist() == [8, 1]


def test_to_indicator_and_map_values():
    st_ = tf.sparse.SparseTensor([[0, 0], [0, 1], [1, 0]], [0, 3, 2], [2, 2])
    expected = np.zeros((2, 4), bool)
    expected[0, [0, 3]] = True
    expected[1, 2] = True
    np.testing.assert_array_equal(tf.sparse.to_indicator(st_, 4).numpy(), expected)
    plus = tf.sparse.map_values(tf.add, st_, 5)
    assert plus.values.numpy().tolist() == [5, 8, 7]
    assert plus.indices.numpy().tolist() == st_.indices.numpy().tolist()
    both = tf.sparse.map_values(tf.multiply, st_, st_)
    assert both.values.numpy().tolist() == [0, 9, 4]
    with pytest.raises(ValueError, match="No SparseTensor in argument list of map_values"):
        tf.sparse.map_values(tf.add, 1.0, 2.0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Mismatched indices"):
        tf.sparse.map_values(tf.add, st_, tf.sparse.SparseTensor([[0, 0]], [5], [2, 2]))


# ----------------------------------------------------------------------------- gradients, traced


def _pattern():
    idx = np.array([[0, 1], [1, 0], [1, 2], [2, 2]])
    return idx, [3, 3]


def test_gradients_through_values():
    idx, shape = _pattern()
    w = np.random.default_rng(0).normal(size=(3, 3))
    b = np.random.default_rng(1).normal(size=(3, 2))

    def to_dense(v):
        d = tf.sparse.to_dense(tf.sparse.SparseTensor(idx, v, shape))
        return tf.reduce_sum(d * tf.constant(w) * d)

    def matmul(v):
        out = tf.sparse.sparse_dense_matmul(tf.sparse.SparseTensor(idx, v, shape), tf.constant(b))
        return tf.reduce_sum(out * out)

    def reduce(v):
        out = tf.sparse.reduce_sum(tf.sparse.SparseTensor(idx, v, shape), axis=1)
        return tf.reduce_sum(out * out * out)

    def reduce_max(v):
        out = tf.sparse.reduce_max(tf.sparse.SparseTensor(idx, v, shape), axis=0)
        return tf.reduce_sum(out * tf.constant([1.0, 2.0, 3.0], tf.float64))

    def add(v):
        sp = tf.sparse.SparseTensor(idx, v, shape)
        out = tf.sparse.add(sp, tf.sparse.SparseTensor(idx[:2], v[:2] * v[:2], shape))
        return tf.reduce_sum(tf.sparse.to_dense(out) * tf.constant(w))

    def mul(v):
        out = tf.sparse.SparseTensor(idx, v, shape) * tf.constant(w)
        return tf.reduce_sum(tf.sparse.to_dense(tf.sparse.transpose(out)) ** 2)

    values = np.array([0.5, -1.25, 2.0, 0.75])
    for fn in (to_dense, matmul, reduce, reduce_max, add, mul):
        check_grad(fn, values)


def test_gradient_of_dense_operand():
    idx, shape = _pattern()
    sp = tf.sparse.SparseTensor(idx, tf.constant([0.5, -1.25, 2.0, 0.75], tf.float64), shape)
    b = np.random.default_rng(2).normal(size=(3, 2))
    check_grad(lambda t: tf.reduce_sum(tf.sparse.sparse_dense_matmul(sp, t) ** 2), b)
    check_grad(lambda t: tf.reduce_sum(tf.sparse.add(sp, t) ** 2), b[:, :1] @ np.ones((1, 3)))
    check_grad(lambda t: tf.reduce_sum((sp * t).values ** 3), np.array([1.5, 2.0, -0.5]))


def test_inside_traced_function():
    idx, shape = _pattern()

    @tf.function
    def f(v, b):
        sp = tf.sparse.SparseTensor(idx, v, shape)
        return tf.sparse.sparse_dense_matmul(sp, b) + tf.sparse.reduce_sum(sp, axis=1, keepdims=True)

    dense = np.zeros(shape)
    for values in ([1.0, 2.0, 3.0, 4.0], [-1.0, 0.5, 2.5, 1.0]):
        dense[tuple(idx.T)] = values
        b = np.arange(6.0).reshape(3, 2)
        got = f(tf.constant(values, tf.float64), tf.constant(b))
        np.testing.assert_allclose(got.numpy(), dense @ b + dense.sum(axis=1, keepdims=True))
    assert f.experimental_get_tracing_count() == 1
