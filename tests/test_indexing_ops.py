"""Slicing, gathering, scattering and segment ops (python/rstf/_indexing.py) against numpy
references (index loops, ``np.add.at``, fancy indexing), values TensorFlow 2.21 printed (with
the snippet in a comment), TensorFlow's error messages, and central finite differences."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
from helpers import FAST, check_exact, draw_array, draw_tensor
from hypothesis import given

import rstf as tf

SMALL_SHAPES = st.lists(st.integers(0, 4), min_size=1, max_size=3)


def numeric_grad(f, x, eps=1e-6, w=None):
    """Central differences of ``sum(f(x) * w)`` (float64)."""
    x = np.array(x, np.float64)
    y0 = np.asarray(f(tf.constant(x)))
    w = np.random.default_rng(3).uniform(0.5, 1.5, y0.shape) if w is None else w
    g = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        p, m = x.copy(), x.copy()
        p[i] += eps
        m[i] -= eps
        g[i] = np.sum((np.asarray(f(tf.constant(p))) - np.asarray(f(tf.constant(m)))) * w) / (2 * eps)
    return g, w


def check_grad(f, x, atol=1e-6):
    expected, w = numeric_grad(f, x)
    xt = tf.constant(np.array(x, np.float64))
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = f(xt)
        target = tf.reduce_sum(y * tf.constant(w))
    g = tape.gradient(target, xt)
    assert g is not None and g.dtype == tf.float64
    np.testing.assert_allclose(np.asarray(tf.convert_to_tensor(g)), expected, atol=atol, rtol=1e-5)


# ----------------------------------------------------------------------------- slicing

@FAST
@given(st.data())
def test_slice_matches_numpy(data):
    shape = data.draw(SMALL_SHAPES)
    t, a = draw_tensor(data.draw, "float32", shape)
    begin = [data.draw(st.integers(0, d)) for d in shape]
    size = [data.draw(st.sampled_from([-1, data.draw(st.integers(0, d - b))])) for b, d in zip(begin, shape)]
    ref = a[tuple(slice(b, None if s == -1 else b + s) for b, s in zip(begin, size))]
    check_exact(tf.slice(t, begin, size), ref, "float32")


def test_slice_errors_name_the_bad_argument():
    t = tf.constant([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Expected size\[0\] in \[0, 2\], but got 3"):
        tf.slice(t, [0, 1], [3, 1])
    with pytest.raises(tf.errors.InvalidArgumentError, match="1-D tensors of size 2, but got shapes"):
        tf.slice(t, [0], [1])


@FAST
@given(st.data())
def test_strided_slice_with_masks_matches_numpy(data):
    shape = data.draw(SMALL_SHAPES)
    t, a = draw_tensor(data.draw, "int32", shape)
    n = len(shape)
    begin, end, strides, key = [], [], [], []
    masks = {"begin_mask": 0, "end_mask": 0, "shrink_axis_mask": 0}
    for i, d in enumerate(shape):
        b, e = data.draw(st.integers(-d - 2, d + 2)), data.draw(st.integers(-d - 2, d + 2))
        s = data.draw(st.sampled_from([1, 2, -1, -3]))
        kind = data.draw(st.sampled_from(["range", "begin", "end", "shrink"] if d else ["range", "begin"]))
        if kind == "shrink":
            b = data.draw(st.integers(-d, d - 1))
            masks["shrink_axis_mask"] |= 1 << i
            key.append(b)
        else:
            if kind == "begin":
                masks["begin_mask"] |= 1 << i
            if kind == "end":
                masks["end_mask"] |= 1 << i
            key.append(slice(None if kind == "begin" else b, None if kind == "end" else e, s))
        begin.append(b)
        end.append(e)
        strides.append(s)
    assert len(begin) == n
    check_exact(tf.strided_slice(t, begin, end, strides, **masks), a[tuple(key)], "int32")


def test_strided_slice_ellipsis_and_new_axis():
    a = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    t = tf.constant(a)
    # ellipsis in the middle, then the last dimension reversed
    check_exact(tf.strided_slice(t, [0, 0, 3], [1, 0, 0], [1, 1, -1], ellipsis_mask=2, end_mask=4),
                a[0:1, ..., ::-1], "int32")
    check_exact(tf.strided_slice(t, [0, 1], [0, 2], new_axis_mask=1), a[None, 1:2], "int32")
    check_exact(tf.strided_slice(t, [0, 1], [0, 2], ellipsis_mask=1, shrink_axis_mask=2), a[..., 1], "int32")
    with pytest.raises(tf.errors.InvalidArgumentError, match="slice index 5 of dimension 0 out of bounds"):
        tf.strided_slice(t, [5], [6], shrink_axis_mask=1)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"strides\[0\] must be non-zero"):
        tf.strided_slice(t, [0], [2], [0])


def test_slice_gradients():
    x = np.arange(12.0).reshape(3, 4) / 7
    check_grad(lambda t: tf.slice(t, [1, 1], [2, -1]), x)
    check_grad(lambda t: tf.strided_slice(t, [2, 3], [0, 0], [-1, -2], end_mask=1), x)


# ----------------------------------------------------------------------------- gather_nd / scatter_nd

def gather_nd_ref(p, idx, b=0):
    if b:
        return np.stack([gather_nd_ref(p[i], idx[i], b - 1) for i in range(p.shape[0])])
    out = np.empty(idx.shape[:-1] + p.shape[idx.shape[-1]:], p.dtype)
    for pos in np.ndindex(*idx.shape[:-1]):
        out[pos] = p[tuple(idx[pos])]
    return out


@FAST
@given(st.data())
def test_gather_nd_matches_an_index_loop(data):
    shape = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    b = data.draw(st.integers(0, len(shape) - 1))
    k = data.draw(st.integers(0, len(shape) - b))
    t, a = draw_tensor(data.draw, "float64", shape)
    outer = data.draw(st.lists(st.integers(0, 3), max_size=2))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    cols = [rng.integers(0, d, size=shape[:b] + outer) for d in shape[b:b + k]]
    idx = np.stack(cols, -1) if cols else np.zeros(shape[:b] + outer + [0], np.int64)
    dt = data.draw(st.sampled_from([np.int32, np.int64]))
    check_exact(tf.gather_nd(t, idx.astype(dt), batch_dims=b), gather_nd_ref(a, idx, b), "float64")


def test_gather_nd_values_and_errors_as_tensorflow():
    t = tf.constant([[1, 2, 3], [4, 5, 6]])
    check_exact(tf.gather_nd(t, [[1, 2], [0, 0]]), [6, 1], "int32")
    # tf.gather_nd(tf.reshape(tf.range(12), [2, 3, 2]), [[1], [2]], batch_dims=1)
    check_exact(tf.gather_nd(tf.reshape(tf.range(12), [2, 3, 2]), [[1], [2]], batch_dims=1),
                [[2, 3], [10, 11]], "int32")
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"indices\[0\] = \[1, 5\] does not index into param shape \[2,3\]"):
        tf.gather_nd(t, [[1, 5]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="'Tindices' of float"):
        tf.gather_nd(t, [[1.0, 2.0]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="saw: 3 vs. 2"):
        tf.gather_nd(t, [[1, 2, 0]])


@FAST
@given(st.data())
def test_scatter_nd_adds_like_numpy(data):
    shape = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    k = data.draw(st.integers(1, len(shape)))
    m = data.draw(st.integers(0, 6))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    idx = np.stack([rng.integers(0, d, size=m) for d in shape[:k]], -1)
    dtype = data.draw(st.sampled_from(["float32", "float64", "int32", "int64", "bool"]))
    u = draw_array(data.draw, dtype, [m] + shape[k:])
    ref = np.zeros(shape, np.float64)
    np.add.at(ref, tuple(idx.T), u.astype(np.float64))
    ref = ref != 0 if dtype == "bool" else ref
    got = tf.scatter_nd(idx, tf.constant(u), shape)
    if dtype.startswith("float"):
        np.testing.assert_allclose(got.numpy(), ref, rtol=1e-5, atol=1e-5)
        assert got.dtype.name == dtype
    else:
        check_exact(got, ref, dtype)
    # tensor_scatter_nd_add/sub are the same sums added to a tensor
    if dtype != "bool":
        base = draw_array(data.draw, dtype, shape)
        got = tf.tensor_scatter_nd_sub(tf.constant(base), idx, tf.constant(u))
        np.testing.assert_allclose(got.numpy().astype(np.float64), base - ref, rtol=1e-5, atol=1e-4)


def test_scatter_nd_values_and_errors_as_tensorflow():
    # tf.scatter_nd([[1], [1], [3]], [1., 2., 3.], [5]) -> [0., 3., 0., 3., 0.]
    check_exact(tf.scatter_nd([[1], [1], [3]], [1.0, 2.0, 3.0], [5]), [0, 3, 0, 3, 0], "float32")
    check_exact(tf.scatter_nd([[1]], [True], [3]), [False, True, False], "bool")
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"indices\[0\] = \[7\] does not index into shape \[5\]"):
        tf.scatter_nd([[7]], [1.0], [5])
    with pytest.raises(tf.errors.InvalidArgumentError, match="updates"):
        tf.scatter_nd([[1]], [1.0, 2.0], [5])


@FAST
@given(st.data())
def test_tensor_scatter_update_max_min_match_sequential_numpy(data):
    shape = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=2))
    m = data.draw(st.integers(0, 6))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    idx = np.stack([rng.integers(0, d, size=m) for d in shape], -1)
    dtype = data.draw(st.sampled_from(["float32", "int32"]))
    base, u = draw_array(data.draw, dtype, shape), draw_array(data.draw, dtype, [m])
    for op, fn in ((tf.tensor_scatter_nd_update, lambda old, new: new),
                   (tf.tensor_scatter_nd_max, np.maximum), (tf.tensor_scatter_nd_min, np.minimum)):
        ref = base.copy()
        for i in range(m):  # in order: of repeated indices the last update stays
            ref[tuple(idx[i])] = fn(ref[tuple(idx[i])], u[i])
        check_exact(op(tf.constant(base), idx, tf.constant(u)), ref, dtype)


def test_gather_and_scatter_gradients():
    x = np.arange(12.0).reshape(3, 4) / 5 - 1
    check_grad(lambda t: tf.gather_nd(t, [[1, 2], [0, 0], [1, 2]]), x)
    check_grad(lambda t: tf.gather_nd(t, [[2], [0]]), x)
    u = np.array([0.5, -1.0, 2.0])
    check_grad(lambda t: tf.scatter_nd([[1, 1], [0, 2], [1, 1]], t, [2, 3]), u)
    two = tf.constant([5.0, -9.0], tf.float64)
    check_grad(lambda t: tf.tensor_scatter_nd_add(t, [[1, 1], [0, 2]], two), x)
    check_grad(lambda t: tf.tensor_scatter_nd_update(t, [[1], [0]], tf.ones([2, 4], tf.float64)), x)
    check_grad(lambda t: tf.tensor_scatter_nd_update(tf.zeros([4], tf.float64), [[1], [3]], t), u[:2])
    # max: the tensor keeps its value where an update is smaller, updates win where larger
    check_grad(lambda t: tf.tensor_scatter_nd_max(t, [[0, 0], [2, 3]], two), x)
    check_grad(lambda t: tf.tensor_scatter_nd_min(tf.constant([0.0, 1.0, 2.0], tf.float64), [[0], [2]], t),
               np.array([-1.0, 3.0]))


# ----------------------------------------------------------------------------- masks and where

@FAST
@given(st.data())
def test_boolean_mask_and_where_match_numpy(data):
    shape = data.draw(st.lists(st.integers(0, 4), min_size=1, max_size=3))
    axis = data.draw(st.integers(0, len(shape) - 1))
    k = data.draw(st.integers(1, len(shape) - axis))
    t, a = draw_tensor(data.draw, "float32", shape)
    mask = draw_array(data.draw, "bool", shape[axis:axis + k])
    ref = a.reshape(a.shape[:axis] + (mask.size,) + a.shape[axis + k:])
    ref = np.compress(mask.reshape(-1), ref, axis=axis)
    check_exact(tf.boolean_mask(t, mask, axis=axis), ref, "float32")
    check_exact(tf.where(mask), np.argwhere(mask), "int64")


def test_boolean_mask_errors_and_where_of_numbers():
    t = tf.constant([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match=r"Shapes \(2,\) and \(3,\) are incompatible"):
        tf.boolean_mask(t, [True, False, True])
    with pytest.raises(ValueError, match="mask cannot be scalar"):
        tf.boolean_mask(t, True)
    # tf.where([0, 3, 0, 1]) -> [[1], [3]] int64
    check_exact(tf.where([0, 3, 0, 1]), [[1], [3]], "int64")


def test_data_dependent_shapes_inside_a_traced_function():
    @tf.function
    def f(m, x):
        return tf.boolean_mask(x, m) * 2.0, tf.where(m), tf.unique(tf.cast(m, tf.int32)).y

    x = tf.constant([1.0, 2.0, 3.0])
    for m in ([True, False, True], [False, False, True], [True, True, True]):
        y, w, u = f(tf.constant(m), x)
        check_exact(y, 2 * np.array([1.0, 2.0, 3.0], np.float32)[m], "float32")
        check_exact(w, np.argwhere(m), "int64")
        check_exact(u, list(dict.fromkeys(int(v) for v in m)), "int32")


def test_boolean_mask_gradient():
    check_grad(lambda t: tf.boolean_mask(t, [[True, False], [False, True], [True, True]]),
               np.arange(6.0).reshape(3, 2))


# ----------------------------------------------------------------------------- segments

def segment_ref(kind, data, ids, n, empty):
    out = np.full((n,) + data.shape[ids.ndim:], empty, np.float64)
    rows = data.reshape((-1,) + data.shape[ids.ndim:]).astype(np.float64)
    for j in range(n):
        sel = rows[ids.reshape(-1) == j]
        if len(sel):
            out[j] = getattr(np, kind)(sel, 0)
    return out


@FAST
@given(st.data())
def test_unsorted_segment_ops_match_a_loop(data):
    shape = data.draw(st.lists(st.integers(0, 4), min_size=1, max_size=3))
    k = data.draw(st.integers(1, len(shape)))
    n = data.draw(st.integers(0, 4))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    ids = rng.integers(-1, n, size=shape[:k]) if n else -np.ones(shape[:k], np.int64)
    dtype = data.draw(st.sampled_from(["float32", "float64", "int32"]))
    d = draw_array(data.draw, dtype, shape, lo=-3, hi=3)
    dt = tf.as_dtype(dtype)
    for kind, empty in (("sum", 0), ("max", dt.min), ("min", dt.max), ("prod", 1), ("mean", 0)):
        got = getattr(tf.math, f"unsorted_segment_{kind}")(tf.constant(d), ids, n)
        assert got.dtype == (tf.float64 if kind == "mean" and dtype == "int32" else dt)
        np.testing.assert_allclose(got.numpy().astype(np.float64), segment_ref(kind, d, ids, n, empty),
                                   rtol=1e-5, atol=1e-5)


@FAST
@given(st.data())
def test_sorted_segment_ops_match_a_loop(data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    m = data.draw(st.integers(0, 6))
    ids = np.sort(rng.integers(0, 4, size=m))
    dtype = data.draw(st.sampled_from(["float32", "int64"]))
    d = draw_array(data.draw, dtype, [m, 2], lo=-3, hi=3)
    n = int(ids[-1]) + 1 if m else 0
    for kind in ("sum", "max", "min", "prod", "mean"):
        got = getattr(tf.math, f"segment_{kind}")(tf.constant(d), ids)
        ref = segment_ref(kind, d, ids, n, 1 if kind == "prod" else 0)
        if kind == "mean" and dtype == "int64":
            ref = np.trunc(ref)
        assert got.dtype.name == dtype
        np.testing.assert_allclose(got.numpy().astype(np.float64), ref, rtol=1e-5, atol=1e-5)


def test_segment_values_and_errors_as_tensorflow():
    # tf.math.unsorted_segment_max([1., 2., 3., 4.], [0, 2, 0, 0], 4)
    got = tf.math.unsorted_segment_max([1.0, 2.0, 3.0, 4.0], [0, 2, 0, 0], 4)
    check_exact(got, np.array([4.0, -3.4028235e38, 2.0, -3.4028235e38], np.float32), "float32")
    # tf.math.unsorted_segment_mean([1, 2, 3, 4], [0, 2, 0, 0], 4) -> float64
    check_exact(tf.math.unsorted_segment_mean([1, 2, 3, 4], [0, 2, 0, 0], 4), [8 / 3, 0, 2, 0], "float64")
    check_exact(tf.math.unsorted_segment_sum([1, 2, 3, 4], [0, 2, -1, 0], 3), [5, 0, 2], "int32")
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"segment_ids\[1\] = 5 is out of range \[0, 3\)"):
        tf.math.unsorted_segment_sum([1, 2, 3, 4], [0, 5, 0, 0], 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"data.shape = \[4\] does not start with"):
        tf.math.unsorted_segment_sum([1, 2, 3, 4], [0, 2], 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="segment ids are not increasing"):
        tf.math.segment_sum([1, 2, 3, 4], [0, 2, 0, 2])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Segment id -1 out of range"):
        tf.math.segment_sum([1, 2, 3, 4], [-1, 0, 0, 2])


def test_segment_gradients():
    x = np.array([[1.0, -2.0], [3.0, 0.5], [1.0, 4.0], [-1.0, 2.0]])
    ids = [0, 2, 0, -1]
    for kind in ("sum", "mean", "max", "min", "prod"):
        check_grad(lambda t, k=kind: getattr(tf.math, f"unsorted_segment_{k}")(t, ids, 3), x)
        check_grad(lambda t, k=kind: getattr(tf.math, f"segment_{k}")(t, [0, 0, 2, 2]), x)
    # products with zeros: TensorFlow's gradient is the product of the others (one zero), else 0
    check_grad(lambda t: tf.math.unsorted_segment_prod(t, [0, 0, 0, 1, 1], 2),
               np.array([0.0, 2.0, 3.0, 0.0, 0.0]))


def test_segment_max_shares_the_gradient_between_ties():
    x = tf.constant([2.0, 2.0, 1.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.math.unsorted_segment_max(x, [0, 0, 0], 1)
    check_exact(tape.gradient(y, x), [0.5, 0.5, 0.0], "float32")


def test_big_segment_sum_is_linear_time():
    n = 2_000_000
    ids = np.arange(n) % 1000
    got = tf.math.unsorted_segment_sum(tf.ones([n]), ids, 1000)
    check_exact(got, np.full(1000, 2000.0), "float32")


# ----------------------------------------------------------------------------- counting

def test_bincount_as_tensorflow():
    # values TensorFlow 2.21 printed for each call
    check_exact(tf.math.bincount([1, 1, 3]), [0, 2, 0, 1], "int32")
    check_exact(tf.math.bincount([1, 1, 3], weights=[0.5, 0.5, 2.0]), [0, 1, 0, 2], "float32")
    check_exact(tf.math.bincount([1, 1, 3, 7], minlength=5, maxlength=6), [0, 2, 0, 1, 0, 0], "int32")
    check_exact(tf.math.bincount([1, 1, 3], binary_output=True), [0, 1, 0, 1], "int32")
    check_exact(tf.math.bincount([[1, 1, 3], [0, 0, 0]], axis=-1), [[0, 2, 0, 1], [3, 0, 0, 0]], "int32")
    check_exact(tf.math.bincount([1, 1, 3], dtype=tf.float32), [0, 2, 0, 1], "float32")
    check_exact(tf.math.bincount(tf.constant([], tf.int32)), np.zeros(0), "int32")
    with pytest.raises(tf.errors.InvalidArgumentError, match="Input arr must be non-negative!"):
        tf.math.bincount([1, -1, 3])


@FAST
@given(st.data())
def test_bincount_and_confusion_matrix_match_numpy(data):
    a = draw_array(data.draw, "int32", [data.draw(st.integers(0, 20))], lo=0, hi=6)
    check_exact(tf.math.bincount(a), np.bincount(a), "int32")
    p = draw_array(data.draw, "int32", a.shape, lo=0, hi=6)
    ref = np.zeros((7, 7), np.int32)
    np.add.at(ref, (a, p), 1)
    check_exact(tf.math.confusion_matrix(a, p, num_classes=7), ref, "int32")


def test_confusion_matrix_as_tensorflow():
    # tf.math.confusion_matrix([1, 2, 4], [2, 2, 4]): 5x5 with ones at (1,2), (2,2), (4,4)
    ref = np.zeros((5, 5), np.int32)
    ref[1, 2] = ref[2, 2] = ref[4, 4] = 1
    check_exact(tf.math.confusion_matrix([1, 2, 4], [2, 2, 4]), ref, "int32")
    got = tf.math.confusion_matrix([1, 2, 4], [2, 2, 4], num_classes=6, weights=[1.0, 2.0, 3.0],
                                   dtype=tf.float32)
    ref = np.zeros((6, 6), np.float32)
    ref[1, 2], ref[2, 2], ref[4, 4] = 1, 2, 3
    check_exact(got, ref, "float32")
    with pytest.raises(tf.errors.InvalidArgumentError, match="`labels` out of bound"):
        tf.math.confusion_matrix([1, 2, 4], [2, 2, 4], num_classes=3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="`labels` contains negative values"):
        tf.math.confusion_matrix([1, -2, 4], [2, 2, 4])


def test_in_top_k_as_tensorflow():
    # tf.math.in_top_k([1, 0], [[0.1, 0.9, 0.0], [0.5, 0.5, 0.2]], 1) -> [True, True] (ties count)
    check_exact(tf.math.in_top_k([1, 0], [[0.1, 0.9, 0.0], [0.5, 0.5, 0.2]], 1), [True, True], "bool")
    check_exact(tf.math.in_top_k([1, 0], [[0.1, np.nan, 0.0], [0.5, 0.5, 0.2]], 2), [False, True], "bool")
    check_exact(tf.math.in_top_k([3, 0], [[0.1, 0.2, 0.0], [0.5, 0.5, 0.2]], 2), [False, True], "bool")
    check_exact(tf.math.in_top_k([2, 2], [[0.1, 0.2, 0.0], [0.5, 0.5, 0.2]], 2), [False, False], "bool")


@FAST
@given(st.data())
def test_unique_matches_first_occurrence_order(data):
    a = draw_array(data.draw, "int32", [data.draw(st.integers(0, 12))], lo=-3, hi=3)
    out_idx = data.draw(st.sampled_from(["int32", "int64"]))
    y, idx, count = tf.unique_with_counts(a, out_idx=out_idx)
    ref_y = list(dict.fromkeys(a.tolist()))
    check_exact(y, np.array(ref_y, np.int32), "int32")
    check_exact(idx, [ref_y.index(v) for v in a.tolist()], out_idx)
    check_exact(count, [a.tolist().count(v) for v in ref_y], out_idx)
    y2, idx2 = tf.unique(a)
    check_exact(y2, np.array(ref_y, np.int32), "int32")


def test_unique_as_tensorflow():
    # tf.unique([3., 1., 3.], out_idx=tf.int64) -> y=[3., 1.], idx=[0, 1, 0]
    y, idx = tf.unique([3.0, 1.0, 3.0], out_idx=tf.int64)
    check_exact(y, [3.0, 1.0], "float32")
    check_exact(idx, [0, 1, 0], "int64")
    with pytest.raises(tf.errors.InvalidArgumentError, match="unique expects a 1D vector"):
        tf.unique([[1, 2]])


# ----------------------------------------------------------------------------- variables

def test_variable_scatter_methods():
    v = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
    v.scatter_nd_update([[0, 1]], [9.0])
    v.scatter_nd_add([[1, 0], [1, 0]], [1.0, 2.0])
    v.scatter_nd_sub([[1]], [[1.0, 1.0]])
    check_exact(v.value(), [[1.0, 9.0], [5.0, 3.0]], "float32")

    class Slices:
        indices = [0]
        values = [[7.0, 7.0]]

    v.scatter_update(Slices())
    check_exact(v.value(), [[7.0, 7.0], [5.0, 3.0]], "float32")
    with pytest.raises(TypeError, match="not IndexedSlices"):
        v.scatter_update([1.0])
