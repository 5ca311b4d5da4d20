"""tf.ragged against references computed from nested Python lists (float64): construction
(tf.ragged.constant and the RaggedTensor.from_* factories), structure, to_tensor/to_list/numpy,
TensorFlow's printed form, indexing, operators (scalars, dense broadcasting, same splits),
reductions along every axis (tf.reduce_* dispatch), tf.concat/tf.stack, merge_dims,
tf.ragged.range/boolean_mask/map_flat_values; gradients (finite differences) through the flat
values; inside traced functions."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
from helpers import FAST
from hypothesis import given

import rstf as tf

DIGITS = [[3, 1, 4, 1], [], [5, 9, 2], [6], []]


def fd_grad(fn, x: np.ndarray, eps=1e-6) -> np.ndarray:
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
    num = fd_grad(lambda a: float(fn(tf.constant(a))), x)
    np.testing.assert_allclose(np.asarray(tape.gradient(y, t)), num, rtol=1e-6, atol=1e-8)


@st.composite
def ragged_lists(draw, depth=2, max_rows=4, max_len=4):
    """Nested lists of floats with ``depth`` list levels, the inner ones of any length."""
    if depth == 1:
        n = draw(st.integers(0, max_len))
        return [float(draw(st.integers(-20, 20))) / 4 for _ in range(n)]
    n = draw(st.integers(1 if depth > 2 else 0, max_rows))
    return [draw(ragged_lists(depth - 1, max_len, max_len)) for _ in range(n)]


def lengths(rows):
    return [len(r) for r in rows]


def flat(rows):
    return [v for r in rows for v in (flat(r) if isinstance(r, list) else [r])]


# ----------------------------------------------------------------------------- construction


def test_guide_constant_and_printing():
    rt = tf.ragged.constant(DIGITS)
    # print(tf.ragged.constant(DIGITS)) in TensorFlow 2.21 (tf. there):
    assert str(rt) == "<rstf.RaggedTensor [[3, 1, 4, 1], [], [5, 9, 2], [6], []]>"
    assert repr(rt) == str(rt)
    assert rt.shape == tf.TensorShape([5, None]) and str(rt.shape) == "(5, None)"
    assert rt.dtype == tf.int32 and rt.ragged_rank == 1
    assert rt.row_splits.numpy().tolist() == [0, 4, 4, 7, 8, 8] and rt.row_splits.dtype == tf.int64
    assert rt.values.numpy().tolist() == flat(DIGITS)
    assert rt.row_lengths().numpy().tolist() == lengths(DIGITS)
    assert rt.value_rowids().numpy().tolist() == [0, 0, 0, 0, 2, 2, 2, 3]
    assert int(rt.nrows()) == 5 and rt.to_list() == DIGITS
    # repr(rt.numpy()) in TensorFlow: an object array of the rows.
    assert repr(rt.numpy()) == (
        "array([array([3, 1, 4, 1], dtype=int32), array([], dtype=int32),\n"
        "       array([5, 9, 2], dtype=int32), array([6], dtype=int32),\n"
        "       array([], dtype=int32)], dtype=object)")
    # Uniform inner dimensions print as numpy rows, as TensorFlow's:
    rt2 = tf.ragged.constant([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0]]], ragged_rank=1)
    assert str(rt2) == "<rstf.RaggedTensor [[[1.0, 2.0],\n  [3.0, 4.0]], [[5.0, 6.0]]]>"
    assert rt2.shape == (2, None, 2)


@FAST
@given(rows=ragged_lists(depth=2))
def test_constant_matches_lists(rows):
    rt = tf.ragged.constant(rows, dtype=tf.float64, ragged_rank=1)
    assert rt.to_list() == rows
    assert rt.shape == tf.TensorShape([len(rows), None])
    np.testing.assert_array_equal(rt.row_lengths().numpy(), lengths(rows))
    np.testing.assert_array_equal(rt.flat_values.numpy(), np.array(flat(rows), dtype=np.float64))


@FAST
@given(rows=ragged_lists(depth=3))
def test_constant_ragged_rank_2(rows):
    rt = tf.ragged.constant(rows, dtype=tf.float64, ragged_rank=2)
    assert rt.ragged_rank == 2 and rt.shape == (len(rows), None, None)
    assert rt.to_list() == rows
    inner = [r for row in rows for r in row]
    assert [s.numpy().tolist() for s in rt.nested_row_lengths()] == [lengths(rows), lengths(inner)]


def test_constant_options_and_errors():
    assert tf.ragged.constant([[[1, 2], [3]], [[4, 5, 6]]]).ragged_rank == 2
    rt = tf.ragged.constant([[[1.0, 2.0]], []], ragged_rank=1, inner_shape=(2,))
    assert rt.shape == (2, None, 2) and rt.to_list() == [[[1.0, 2.0]], []]
    empty = tf.ragged.constant([[], []])
    assert empty.dtype == tf.float32 and empty.to_list() == [[], []]
    assert isinstance(tf.ragged.constant([1, 2]), tf.Tensor)  # ragged_rank 0: a dense tensor
    assert tf.ragged.constant([[1, 2], [3.5]]).dtype == tf.float32
    assert tf.ragged.constant([[1, 2], [3]], dtype=tf.float64).dtype == tf.float64
    assert tf.ragged.constant([[1, 2], [3]], row_splits_dtype=tf.int32).row_splits.dtype == tf.int32
    with pytest.raises(ValueError, match="all scalar values must have the same nesting depth"):
        tf.ragged.constant([[[1, 2], [3]], [4, 5]])
    with pytest.raises(ValueError, match="requires scalar value depth greater than 2"):
        tf.ragged.constant([[1, 2]], ragged_rank=2)


def test_factories():
    values = [3, 1, 4, 1, 5, 9, 2]
    expected = [[3, 1, 4, 1], [], [5, 9], [2]]
    R = tf.RaggedTensor
    assert R.from_row_splits(values, row_splits=[0, 4, 4, 6, 7]).to_list() == expected
    assert R.from_row_lengths(values, row_lengths=[4, 0, 2, 1]).to_list() == expected
    assert R.from_value_rowids(values, value_rowids=[0, 0, 0, 0, 2, 2, 3]).to_list() == expected
    assert R.from_value_rowids(values, [0, 0, 0, 0, 2, 2, 3], nrows=6).to_list() == expected + [[], []]
    assert R.from_row_starts(values, row_starts=[0, 4, 4, 6]).to_list() == expected
    assert R.from_row_limits(values, row_limits=[4, 4, 6, 7]).to_list() == expected
    flat10 = list(range(10, 20))
    nested = [[[10, 11, 12], []], [], [[13, 14], [15, 16, 17, 18], [19]]]
    assert R.from_nested_row_lengths(flat10, ([2, 0, 3], [3, 0, 2, 4, 1])).to_list() == nested
    assert R.from_nested_row_splits(flat10, ([0, 2, 2, 5], [0, 3, 3, 5, 9, 10])).to_list() == nested
    assert R.from_tensor([[1, 2, 0], [3, 0, 0]], padding=0).to_list() == [[1, 2], [3]]
    assert R.from_tensor([[1, 2, 0], [3, 0, 0]], lengths=[1, 2]).to_list() == [[1], [3, 0]]
    pairs = [[[1, 0], [0, 0]], [[3, 4], [0, 0]]]
    assert R.from_tensor(pairs, padding=[0, 0]).to_list() == [[[1, 0]], [[3, 4]]]
    assert R.from_tensor([[[1, 2, 0], [3, 0, 0]]], ragged_rank=2).to_list() == [[[1, 2, 0], [3, 0, 0]]]
    sp = tf.sparse.SparseTensor([[0, 0], [0, 1], [2, 0]], [1, 2, 3], [3, 4])
    assert R.from_sparse(sp).to_list() == [[1, 2], [], [3]]
    rt = tf.ragged.constant([[1, 2], [3, 4, 5], [6], [], [7]])
    st_ = rt.to_sparse()
    assert st_.indices.numpy().tolist() == [[0, 0], [0, 1], [1, 0], [1, 1], [1, 2], [2, 0], [4, 0]]
    assert st_.dense_shape.numpy().tolist() == [5, 3]


def test_factory_errors():
    R = tf.RaggedTensor
    err = tf.errors.InvalidArgumentError
    with pytest.raises(err, match="do not form a valid RaggedTensor"):
        R.from_row_splits([1, 2, 3], [0, 2])
    with pytest.raises(err, match="zero"):
        R.from_row_splits([1, 2, 3], [1, 3])
    with pytest.raises(err, match="monotonic"):
        R.from_row_splits([1, 2, 3], [0, 3, 2, 3])
    with pytest.raises(err):
        R.from_row_lengths([1, 2, 3], [4, -1])
    with pytest.raises(err):
        R.from_value_rowids([1, 2, 3], [0, 2, 1])
    with pytest.raises(ValueError, match="constructor is private"):
        R([1, 2], [0, 2])
    with pytest.raises(ValueError, match="unsupported type"):
        tf.constant(tf.ragged.constant([[1], [2, 3]]))


# ----------------------------------------------------------------------------- conversion


def padded(rows, default=0.0, shape=None):
    """The dense numpy version of a ragged 2-D list (cut or padded to ``shape``)."""
    n = len(rows) if shape is None or shape[0] is None else shape[0]
    m = max(lengths(rows), default=0) if shape is None or shape[1] is None else shape[1]
    out = np.full((n, m), default, dtype=np.float64)
    for i, r in enumerate(rows[:n]):
        out[i, :min(m, len(r))] = r[:m]
    return out


@FAST
@given(rows=ragged_lists(depth=2), default=st.sampled_from([None, -1.5]),
       shape=st.sampled_from([None, [None, None], [2, 3], [None, 1], [5, None]]))
def test_to_tensor(rows, default, shape):
    rt = tf.ragged.constant(rows, dtype=tf.float64, ragged_rank=1)
    got = rt.to_tensor(default_value=default, shape=shape)
    np.testing.assert_array_equal(got.numpy(), padded(rows, 0.0 if default is None else default, shape))
    n, m = got.shape
    cut = [rows[i][:m] if i < len(rows) else [] for i in range(n)]
    assert tf.RaggedTensor.from_tensor(got, lengths=[len(r) for r in cut]).to_list() == cut


def test_to_tensor_ragged_rank_2_and_bounding_shape():
    rt = tf.ragged.constant([[[1, 2], [3]], [[5, 6, 7]], []])
    assert rt.bounding_shape().numpy().tolist() == [3, 2, 3]
    expected = [[[1, 2, 0], [3, 0, 0]], [[5, 6, 7], [0, 0, 0]], [[0, 0, 0], [0, 0, 0]]]
    assert rt.to_tensor().numpy().tolist() == expected


# ----------------------------------------------------------------------------- indexing


@FAST
@given(rows=ragged_lists(depth=2), data=st.data())
def test_indexing(rows, data):
    rt = tf.ragged.constant(rows, dtype=tf.float64, ragged_rank=1)
    n = len(rows)
    if n:
        i = data.draw(st.integers(-n, n - 1))
        assert rt[i].numpy().tolist() == rows[i]
        if rows[i]:
            j = data.draw(st.integers(-len(rows[i]), len(rows[i]) - 1))
            assert float(rt[i, j]) == rows[i][j]
    bounds = st.one_of(st.none(), st.integers(-5, 5))
    a, b = data.draw(bounds), data.draw(bounds)
    step = data.draw(st.sampled_from([None, 1, 2, -1]))
    assert rt[a:b:step].to_list() == rows[a:b:step]
    c, d = data.draw(bounds), data.draw(bounds)
    assert rt[a:b, c:d:step].to_list() == [r[c:d:step] for r in rows[a:b]]


def test_indexing_examples_and_errors():
    rt = tf.ragged.constant(DIGITS)
    assert rt[:, :2].to_list() == [[3, 1], [], [5, 9], [6], []]
    assert rt[:, -2:].to_list() == [[4, 1], [], [9, 2], [6], []]
    rt3 = tf.RaggedTensor.from_nested_row_lengths(list(range(10, 20)), ([2, 0, 3], [3, 0, 2, 4, 1]))
    assert rt3[2, 1].numpy().tolist() == [15, 16, 17, 18] and int(rt3[2, 1, 3]) == 18
    uniform = tf.ragged.constant([[[1, 3], [0, 0], [1, 3]], [[5, 3]], [[3, 3], [1, 2]]], ragged_rank=1)
    assert uniform[:, :, 1].to_list() == [[3, 0, 3], [3], [3, 2]]
    assert rt[tf.newaxis].to_list() == [DIGITS]
    with pytest.raises(ValueError, match="Cannot index into an inner ragged dimension"):
        rt[:, 1]
    with pytest.raises(IndexError, match="Row key 5 out of bounds"):
        rt[5]
    assert [r.numpy().tolist() for r in rt] == DIGITS


# ----------------------------------------------------------------------------- elementwise


@FAST
@given(rows=ragged_lists(depth=2), k=st.sampled_from([2.0, -0.5]))
def test_operators(rows, k):
    rt = tf.ragged.constant(rows, dtype=tf.float64, ragged_rank=1)
    assert (rt + k).to_list() == [[v + k for v in r] for r in rows]
    assert (k - rt).to_list() == [[k - v for v in r] for r in rows]
    assert (rt * rt).to_list() == [[v * v for v in r] for r in rows]
    assert (rt / k).to_list() == [[v / k for v in r] for r in rows]
    assert (-rt).to_list() == [[-v for v in r] for r in rows]
    assert (rt > 0.0).to_list() == [[v > 0 for v in r] for r in rows]
    col = np.arange(1.0, len(rows) + 1)[:, None]  # broadcasts over the rows
    assert (rt + tf.constant(col)).to_list() == [[v + col[i, 0] for v in r] for i, r in enumerate(rows)]
    mapped = tf.ragged.map_flat_values(lambda x: x * 2 + 1, rt)
    assert mapped.to_list() == [[v * 2 + 1 for v in r] for r in rows]


def test_broadcasting_examples_and_errors():
    # The ragged tensor guide's broadcasting examples, with TensorFlow's results.
    x = tf.ragged.constant([[10, 87, 12], [19, 53], [12, 32]])
    assert (x + [[1000], [2000], [3000]]).to_list() == [[1010, 1087, 1012], [2019, 2053], [3012, 3032]]
    x = tf.ragged.constant([[[1, 2], [3, 4], [5, 6]], [[7, 8]]], ragged_rank=1)
    assert (x + tf.constant([[10]])).to_list() == [[[11, 12], [13, 14], [15, 16]], [[17, 18]]]
    x = tf.ragged.constant([[[[1], [2]], [], [[3]], [[4]]], [[[5], [6]], [[7]]]], ragged_rank=2)
    assert (x + tf.constant([10, 20, 30])).to_list() == [
        [[[11, 21, 31], [12, 22, 32]], [], [[13, 23, 33]], [[14, 24, 34]]],
        [[[15, 25, 35], [16, 26, 36]], [[17, 27, 37]]]]
    uniform = tf.ragged.constant([[1, 2], [3, 4]]) + tf.constant([[1, 2], [3, 4]])
    assert uniform.to_list() == [[2, 4], [6, 8]]
    err = tf.errors.InvalidArgumentError
    with pytest.raises(err):
        tf.ragged.constant([[1, 2], [3, 4, 5, 6], [7]]) + tf.ragged.constant([[1, 2, 3], [4], [5, 6]])
    with pytest.raises(err):
        tf.ragged.constant([[1, 2], [3]]) + tf.constant([[1, 2], [3, 4]])
    with pytest.raises(err):
        tf.ragged.constant([[1, 2], [3]]) + tf.constant([[1], [2], [3]])


# ----------------------------------------------------------------------------- reductions


REDUCERS = {
    "sum": (tf.reduce_sum, sum),
    "max": (tf.math.reduce_max, max),
    "min": (tf.reduce_min, min),
    "mean": (tf.reduce_mean, lambda v: sum(v) / len(v)),
    "prod": (tf.reduce_prod, lambda v: float(np.prod(v))),
}
EMPTY = {"sum": 0.0, "max": -np.finfo(np.float64).max, "min": np.finfo(np.float64).max, "mean": np.nan,
         "prod": 1.0}


def reduce_list(rows, axis, kind):
    """Python reference: ``rows`` (nested lists, depth 2 or 3) reduced over ``axis``."""
    f = REDUCERS[kind][1]

    def red(vals):
        return f(vals) if vals else EMPTY[kind]

    if axis == 0:  # element-wise across the rows, aligned by position
        width = max((len(r) for r in rows), default=0)
        if rows and isinstance(rows[0], list) and rows[0] and isinstance(rows[0][0], list) or (
                rows and any(r and isinstance(r[0], list) for r in rows)):
            return [reduce_list([r[j] for r in rows if j < len(r)], 0, kind) for j in range(width)]
        return [red([r[j] for r in rows if j < len(r)]) for j in range(width)]
    if axis == 1:
        return [reduce_list(r, 0, kind) if r and isinstance(r[0], list) else red(r) for r in rows]
    return [reduce_list(r, axis - 1, kind) for r in rows]


def assert_nested_close(got, expected):
    if isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_nested_close(g, e)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-12)


@FAST
@given(rows=ragged_lists(depth=2), kind=st.sampled_from(sorted(REDUCERS)), axis=st.sampled_from([0, 1, -1]))
def test_reduce_ragged_rank_1(rows, kind, axis):
    rt = tf.ragged.constant(rows, dtype=tf.float64, ragged_rank=1)
    got = REDUCERS[kind][0](rt, axis=axis)
    assert isinstance(got, tf.Tensor)
    assert_nested_close(got.numpy().tolist(), reduce_list(rows, axis % 2, kind))
    values = flat(rows)
    if values:
        np.testing.assert_allclose(REDUCERS[kind][0](rt).numpy(), REDUCERS[kind][1](values), rtol=1e-12)


@FAST
@given(rows=ragged_lists(depth=3), kind=st.sampled_from(["sum", "max", "mean"]),
       axis=st.sampled_from([0, 1, 2]))
def test_reduce_ragged_rank_2(rows, kind, axis):
    rt = tf.ragged.constant(rows, dtype=tf.float64, ragged_rank=2)
    got = REDUCERS[kind][0](rt, axis=axis)
    out = got.to_list() if isinstance(got, tf.RaggedTensor) else got.numpy().tolist()
    assert_nested_close(out, reduce_list(rows, axis, kind))


def test_reduce_examples():
    rt = tf.ragged.constant(DIGITS)
    # tf.reduce_mean(digits, axis=1) in TensorFlow: float64 [2.25 nan 5.33333333 6. nan]
    mean = tf.reduce_mean(rt, axis=1)
    assert mean.dtype == tf.float64
    np.testing.assert_allclose(mean.numpy(), [2.25, np.nan, 16 / 3, 6.0, np.nan])
    # tf.reduce_max(digits, axis=1): the dtype's lowest value for an empty row.
    assert tf.reduce_max(rt, axis=1).numpy().tolist() == [4, -2**31, 9, 6, -2**31]
    assert tf.reduce_sum(rt, axis=1, keepdims=True).numpy().tolist() == [[9], [0], [16], [6], [0]]
    assert int(tf.reduce_sum(rt, axis=[0, 1])) == 31
    uniform = tf.ragged.constant([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0]]], ragged_rank=1)
    assert tf.reduce_sum(uniform, axis=2).to_list() == [[3.0, 7.0], [11.0]]
    assert tf.reduce_sum(uniform, axis=1).numpy().tolist() == [[4.0, 6.0], [5.0, 6.0]]
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.reduce_sum(rt, axis=2)


# ----------------------------------------------------------------------------- concat, stack


@FAST
@given(a=ragged_lists(depth=2), data=st.data())
def test_concat_stack(a, data):
    b = data.draw(ragged_lists(depth=2))
    ra = tf.ragged.constant(a, dtype=tf.float64, ragged_rank=1)
    rb = tf.ragged.constant(b, dtype=tf.float64, ragged_rank=1)
    assert tf.concat([ra, rb], axis=0).to_list() == a + b
    assert tf.stack([ra, rb], axis=0).to_list() == [a, b]
    if len(a) == len(b):
        assert tf.concat([ra, rb], axis=1).to_list() == [x + y for x, y in zip(a, b)]
        assert tf.stack([ra, rb], axis=1).to_list() == [[x, y] for x, y in zip(a, b)]
    else:
        with pytest.raises(tf.errors.InvalidArgumentError, match="incompatible shapes"):
            tf.concat([ra, rb], axis=1)


def test_concat_stack_examples():
    digits = tf.ragged.constant(DIGITS)
    assert tf.concat([digits, [[5, 3]]], axis=0).to_list() == DIGITS + [[5, 3]]
    assert tf.concat([digits, digits], axis=-1).to_list() == [r + r for r in DIGITS]
    rt3 = tf.ragged.constant([[[1, 2], [3]], [[5, 6, 7]], []])
    assert tf.concat([rt3, rt3], axis=2).to_list() == [[[1, 2, 1, 2], [3, 3]], [[5, 6, 7, 5, 6, 7]], []]
    assert tf.stack([digits, digits], axis=2).to_list() == [[[v, v] for v in r] for r in DIGITS]
    assert tf.ragged.stack([tf.ragged.constant([[1]]), tf.ragged.constant([[2, 3], []])]).to_list() == [
        [[1]], [[2, 3], []]]
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a int32 tensor but is a float"):
        tf.concat([digits, tf.ragged.constant([[1.0]])], axis=0)


# ----------------------------------------------------------------------------- other functions


def test_merge_dims_and_with_values():
    rt3 = tf.ragged.constant([[[1, 2], [3]], [[5, 6, 7]], []])
    assert rt3.merge_dims(1, 2).to_list() == [[1, 2, 3], [5, 6, 7], []]
    assert rt3.merge_dims(0, 1).to_list() == [[1, 2], [3], [5, 6, 7]]
    assert rt3.merge_dims(0, -1).numpy().tolist() == [1, 2, 3, 5, 6, 7]
    uniform = tf.ragged.constant([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0]]], ragged_rank=1)
    assert uniform.merge_dims(1, 2).to_list() == [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0]]
    rt = tf.ragged.constant([[1, 2], [3, 4, 5], [6], [], [7]])
    assert rt.with_values(rt.values * 2).to_list() == [[2, 4], [6, 8, 10], [12], [], [14]]
    assert rt.with_flat_values(tf.cast(rt.flat_values, tf.float32)).dtype == tf.float32
    with pytest.raises(ValueError):
        rt.with_values([1, 2])


@FAST
@given(starts=st.lists(st.integers(-3, 3), min_size=1, max_size=4), data=st.data())
def test_range(starts, data):
    limits = [data.draw(st.integers(-3, 6)) for _ in starts]
    deltas = [data.draw(st.sampled_from([1, 2, -1])) for _ in starts]
    got = tf.ragged.range(starts, limits, deltas)
    assert got.dtype == tf.int32
    assert got.to_list() == [list(range(s, lim, d)) for s, lim, d in zip(starts, limits, deltas)]
    assert tf.ragged.range([3, 0, 2]).to_list() == [[0, 1, 2], [], [0, 1]]
    halves = tf.ragged.range([0.0, 1.0], 3.0, 0.5)
    assert halves.to_list() == [[0.0, 0.5, 1.0, 1.5, 2.0, 2.5], [1.0, 1.5, 2.0, 2.5]]


@FAST
@given(rows=ragged_lists(depth=2), seed=st.integers(0, 2**31))
def test_boolean_mask(rows, seed):
    rng = np.random.default_rng(seed)
    mask = [[bool(rng.random() < 0.5) for _ in r] for r in rows]
    rt = tf.ragged.constant(rows, dtype=tf.float64, ragged_rank=1)
    got = tf.ragged.boolean_mask(rt, tf.ragged.constant(mask, dtype=tf.bool, ragged_rank=1))
    assert got.to_list() == [[v for v, m in zip(r, mr) if m] for r, mr in zip(rows, mask)]
    keep = [bool(rng.random() < 0.5) for _ in rows]
    rows_kept = tf.ragged.boolean_mask(rt, tf.constant(keep, dtype=tf.bool))
    assert rows_kept.to_list() == [r for r, k in zip(rows, keep) if k]
    dense = tf.ragged.boolean_mask([[1, 2, 3], [4, 5, 6]], [[True, False, True], [False, False, True]])
    assert dense.to_list() == [[1, 3], [6]]


# ----------------------------------------------------------------------------- gradients, traced


def test_gradients_through_flat_values():
    splits = [0, 2, 2, 5, 6]
    x = np.array([0.3, -1.2, 2.5, 0.7, -0.4, 1.9])
    w = np.random.default_rng(3).normal(size=(4, 3))

    def rt(v):
        return tf.RaggedTensor.from_row_splits(v, splits)

    fns = [
        lambda v: tf.reduce_sum(rt(v).to_tensor(default_value=0.0) * tf.constant(w)),
        lambda v: tf.reduce_sum(tf.reduce_max(rt(v), axis=1)[::2] ** 2),
        lambda v: tf.reduce_sum(tf.reduce_mean(rt(v), axis=1)[::2] * tf.constant([1.0, 3.0], tf.float64)),
        lambda v: tf.reduce_sum(tf.reduce_sum(rt(v) * rt(v), axis=0) ** 2),
        lambda v: tf.reduce_sum((rt(v) * tf.constant(w[:, :1])).flat_values ** 2),
        lambda v: tf.reduce_sum(tf.concat([rt(v), rt(v * 2.0)], axis=1)[1:, 1:].flat_values ** 3),
        lambda v: tf.reduce_sum(tf.stack([rt(v), rt(v)], axis=1).merge_dims(0, 1).to_tensor() ** 2),
        lambda v: tf.reduce_sum(tf.ragged.map_flat_values(tf.sin, rt(v))[2] * rt(v)[2]),
    ]
    for fn in fns:
        check_grad(fn, x)


def test_gradient_of_dense_operand():
    rt = tf.ragged.constant([[1.0, 2.0], [], [3.0, 4.0, 5.0]], dtype=tf.float64)
    check_grad(lambda y: tf.reduce_sum(tf.reduce_sum(rt * y, axis=1) ** 2), np.array([[0.5], [1.5], [-2.0]]))


def test_inside_traced_function():
    @tf.function
    def f(x):
        rt = tf.RaggedTensor.from_row_lengths(x, [2, 0, 1])
        return tf.reduce_sum(rt, axis=1), (rt * 2.0).to_tensor()

    for x in ([1.0, 2.0, 3.0], [4.0, -5.0, 6.5]):
        total, dense = f(tf.constant(x))
        assert total.numpy().tolist() == [x[0] + x[1], 0.0, x[2]]
        assert dense.numpy().tolist() == [[2 * x[0], 2 * x[1]], [0.0, 0.0], [2 * x[2], 0.0]]
    assert f.experimental_get_tracing_count() == 1
