"""rstf.linalg and the math composites (einsum, tensordot, norms and clipping, the diagonal
ops, cross, meshgrid, reduce_std/variance/euclidean_norm, is_nan/inf/finite, xlogy) against
numpy float64 references over drawn shapes and dtypes, with finite-difference gradients.

The diagonal references follow TensorFlow's documented definitions of MatrixDiagV3,
MatrixDiagPartV3 and MatrixSetDiagV3 (alignment included) element by element.
"""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
from helpers import FAST, TF_DTYPES, TOL, check_close, check_exact, draw_array, shapes
from hypothesis import given, settings
from test_gradients import check_grad

import rstf as tf
from rstf import _einsum

FLOATS = ["float32", "float64"]
FLOAT = st.sampled_from(FLOATS)
GRAD = settings(FAST, max_examples=12)
ALIGN_NAMES = ["RIGHT_LEFT", "LEFT_RIGHT", "LEFT_LEFT", "RIGHT_RIGHT"]

device = pytest.mark.usefixtures("on_device")


def close(t, expected, dtype, scale=None, rtol=None):
    """``check_close`` with an absolute tolerance scaled by ``scale`` (the size of the terms
    summed), for results that are sums of many rounded products."""
    r, a = TOL[dtype]
    if scale is not None:
        a = max(a, r * 10 * float(np.max(np.abs(scale), initial=1.0)))
    check_close(t, expected, dtype, rtol=rtol or r * 10, atol=a)


# ----------------------------------------------------------------------------- einsum

LABELS = "abcde"


@st.composite
def einsum_cases(draw, max_ops=3, max_side=3, ellipsis=True):
    """``(equation, shapes)``: 1-3 operands with repeated labels (diagonals), labels summed
    away, broadcast ellipses, explicit or implicit outputs."""
    sizes = {c: draw(st.integers(0 if draw(st.integers(0, 5)) == 0 else 1, max_side)) for c in LABELS}
    use_ell = ellipsis and draw(st.booleans())
    ell = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)) if use_ell else 0)]
    terms, shape_list, any_ell = [], [], False
    for _ in range(draw(st.integers(1, max_ops))):
        labels = draw(st.lists(st.sampled_from(LABELS), max_size=3))
        shape = [sizes[c] for c in labels]
        term = "".join(labels)
        if use_ell and draw(st.booleans()):
            k = draw(st.integers(0, len(ell)))
            dims = [1 if draw(st.booleans()) else d for d in ell[len(ell) - k:]]
            pos = draw(st.integers(0, len(labels)))
            term = term[:pos] + "..." + term[pos:]
            shape = shape[:pos] + dims + shape[pos:]
            any_ell = True
        terms.append(term)
        shape_list.append(tuple(shape))
    used = sorted(set("".join(terms).replace(".", "")))
    if not any_ell and draw(st.booleans()):
        return ",".join(terms), shape_list
    out = draw(st.permutations(used)) if used else []
    out = "".join(out[:draw(st.integers(0, len(out)))])
    if any_ell:
        pos = draw(st.integers(0, len(out)))
        out = out[:pos] + "..." + out[pos:]
    return ",".join(terms) + "->" + out, shape_list


@device
@given(st.data())
@settings(FAST, max_examples=60)
def test_einsum_matches_numpy(data):
    eq, shape_list = data.draw(einsum_cases())
    dtype = data.draw(FLOAT)
    arrays = [draw_array(data.draw, dtype, s, lo=-3, hi=3) for s in shape_list]
    got = tf.einsum(eq, *[tf.constant(a, dtype=TF_DTYPES[dtype]) for a in arrays])
    ref = np.einsum(eq, *[a.astype(np.float64) for a in arrays])
    scale = np.einsum(eq, *[np.abs(a.astype(np.float64)) for a in arrays])
    close(got, ref, dtype, scale)


@given(st.data())
@settings(GRAD)
def test_einsum_gradient(data):
    eq, shape_list = data.draw(einsum_cases(max_ops=2))
    arrays = [draw_array(data.draw, "float64", s, lo=-2, hi=2) for s in shape_list]
    check_grad(lambda *xs: tf.einsum(eq, *xs), *arrays)


@pytest.mark.parametrize("eq,shapes_,expected", [
    ("ij,jk", [(2, 3), (3, 4)], (2, 4)),
    ("ba,ab", [(2, 3), (3, 2)], ()),
    ("Ab,ba", [(2, 3), (3, 2)], (2, 2)),
    ("...ij,jk", [(5, 2, 3), (3, 4)], (5, 2, 4)),
    ("ii", [(3, 3)], ()),
    ("ij,k", [(2, 3), (4,)], (2, 3, 4)),
])
def test_einsum_implicit_output(eq, shapes_, expected):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes_]
    got = tf.einsum(eq, *arrays)
    assert tuple(got.shape) == expected
    np.testing.assert_allclose(got.numpy(), np.einsum(eq, *arrays), rtol=1e-12, atol=1e-12)


def test_einsum_dtypes_and_guide_diagonal():
    j = np.arange(2 * 3 * 2 * 4, dtype=np.float32).reshape(2, 3, 2, 4)
    got = tf.einsum("bxby->bxy", j)
    check_exact(got, np.einsum("bxby->bxy", j), "float32")
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    check_exact(tf.einsum("ij,kj->ik", a, a), a @ a.T, "int32")
    check_exact(tf.einsum("ij->", tf.constant(a, dtype=tf.int64)), a.sum(), "int64")
    assert tf.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((3, 1))).dtype == tf.float64


@pytest.mark.parametrize("eq,shapes_,exc,text", [
    ("ij,jk->i k1", [(2, 3), (3, 4)], ValueError, "Subscripts have incorrect format: ij,jk->ik1"),
    ("ij,jk->ik", [(2, 3)], ValueError, 'Got 1 inputs for equation "ij,jk->ik", expecting 2'),
    ("ij,jk->ik", [(2, 3), (2, 4)], tf.errors.InvalidArgumentError,
     "Expected dimension 3 at axis 0 of the input shaped [2,4] but got dimension 2"),
    ("ijk,jk->ik", [(2, 3), (3, 4)], tf.errors.InvalidArgumentError,
     "Expected input 0 to have rank 3 but got: 2"),
    ("ij,jk->iz", [(2, 3), (3, 4)], ValueError, "Output subscripts contain the label z not present"),
    ("ij,jk->ii", [(2, 3), (3, 4)], ValueError, "Output subscripts contain a label appearing more than once"),
    ("ij,jk->ik", [(2, 1), (3, 4)], tf.errors.InvalidArgumentError, "Expected dimension 1 at axis 0"),
    ("ii->i", [(2, 3)], tf.errors.InvalidArgumentError,
     "Expected dimension 2 at axis 1 of the input shaped [2,3]"),
    ("...ij,...jk->ik", [(5, 2, 3), (5, 3, 4)], tf.errors.InvalidArgumentError,
     "Output contains 1 broadcasting dimension(s) but no ellipsis"),
    ("...ij,...jk", [(5, 2, 3), (5, 3, 4)], tf.errors.InvalidArgumentError, "no ellipsis"),
    ("...i,...i->...", [(2, 3), (4, 3)], tf.errors.InvalidArgumentError, "Invalid broadcasting dimensions"),
    ("ij...->ij", [(2,)], tf.errors.InvalidArgumentError,
     "Expected input 0 to have rank at least 2 but got: 1"),
    (".i,i", [(2, 3), (3,)], ValueError, "Subscripts have incorrect format"),
])
def test_einsum_errors(eq, shapes_, exc, text):
    with pytest.raises(exc) as e:
        tf.einsum(eq, *[np.ones(s, np.float32) for s in shapes_])
    assert text in str(e.value)


def test_einsum_refuses_mixed_dtypes_bool_and_unknown_keywords():
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a double tensor but is a float"):
        tf.einsum("ij,jk->ik", tf.ones([2, 3], tf.float64), tf.ones([3, 4]))
    with pytest.raises(tf.errors.NotFoundError):
        tf.einsum("i,i->", tf.constant([True]), tf.constant([True]))
    with pytest.raises(TypeError, match="Invalid keyword arguments for einsum: foo"):
        tf.einsum("ij->ji", tf.ones([2, 2]), foo=1)


class _Recorder:
    """Stands in for ``rstf._rstf`` in ``rstf._einsum``, recording the ops einsum runs."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def __getattr__(self, name):
        f = getattr(self.real, name)
        if not callable(f) or isinstance(f, type):
            return f

        def wrapped(*args, **kwargs):
            r = f(*args, **kwargs)
            self.calls.append((name, int(np.prod(r.shape)) if hasattr(r, "shape") else 0))
            return r

        return wrapped


@pytest.mark.parametrize("eq,shapes_", [
    ("ij,jk->ik", [(40, 50), (50, 60)]),
    ("bij,bjk->bik", [(3, 20, 30), (3, 30, 10)]),
    ("ijk,kl->il", [(20, 30, 40), (40, 10)]),
    ("ij,jk,kl->il", [(30, 40), (40, 50), (50, 20)]),
    ("...ij,...jk->...ik", [(4, 1, 20, 30), (5, 30, 10)]),
])
def test_einsum_contracts_with_matmul_not_broadcast_products(monkeypatch, eq, shapes_):
    """No intermediate is larger than the largest operand or the result: the sums are done
    by matmul (a broadcast product would hold every term, i*j*k elements)."""
    rec = _Recorder(_einsum._rstf)
    monkeypatch.setattr(_einsum, "_rstf", rec)
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes_]
    got = tf.einsum(eq, *arrays)
    monkeypatch.undo()
    np.testing.assert_allclose(got.numpy(), np.einsum(eq, *arrays), rtol=1e-4, atol=1e-4)
    assert any(name == "matmul" for name, _ in rec.calls)
    limit = max([a.size for a in arrays] + [int(np.prod(got.shape))])
    assert max(size for _, size in rec.calls) <= limit, rec.calls


def test_einsum_inside_function_and_with_variables():
    w = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2))
    f = tf.function(lambda x: tf.einsum("ij,jk->ik", x, w))
    x = np.ones((4, 3), np.float32)
    np.testing.assert_allclose(f(tf.constant(x)).numpy(), x @ w.numpy())


# ----------------------------------------------------------------------------- tensordot, matvec

@device
@given(st.data())
@settings(FAST)
def test_tensordot_matches_numpy(data):
    dtype = data.draw(FLOAT)
    n = data.draw(st.integers(0, 2))
    common = data.draw(shapes(min_dims=n, max_dims=n, max_side=3))
    fa = data.draw(shapes(max_dims=2, max_side=3))
    fb = data.draw(shapes(max_dims=2, max_side=3))
    a = draw_array(data.draw, dtype, fa + common, lo=-3, hi=3)
    if data.draw(st.booleans()):
        b = draw_array(data.draw, dtype, common + fb, lo=-3, hi=3)
        axes, np_axes = n, n
    else:  # name the axes, in a shuffled order, negative ones too
        perm = data.draw(st.permutations(range(n)))
        b = draw_array(data.draw, dtype, tuple(common[p] for p in perm) + fb, lo=-3, hi=3)
        a_axes = [len(fa) + p - (a.ndim if data.draw(st.booleans()) else 0) for p in perm]
        axes = np_axes = [a_axes, list(range(n))]
    got = tf.tensordot(tf.constant(a), tf.constant(b), axes)
    ref = np.tensordot(a.astype(np.float64), b.astype(np.float64), np_axes)
    close(got, ref, dtype, np.tensordot(np.abs(a), np.abs(b), np_axes))


def test_tensordot_gradient_and_errors():
    rng = np.random.default_rng(2)
    check_grad(lambda a, b: tf.tensordot(a, b, [[0, 2], [1, 0]]), rng.standard_normal((2, 3, 4)),
               rng.standard_normal((4, 2, 2)))
    with pytest.raises(ValueError, match="`axes` must be at least 0"):
        tf.tensordot(tf.ones([2, 3]), tf.ones([3, 4]), -1)
    with pytest.raises(ValueError, match="must be an integer or have length 2"):
        tf.tensordot(tf.ones([2, 3]), tf.ones([3, 4]), [1, 1, 1])
    with pytest.raises(ValueError, match="Different number of contraction axes"):
        tf.tensordot(tf.ones([2, 3]), tf.ones([3, 4]), [[1], [0, 1]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Matrix size-incompatible"):
        tf.tensordot(tf.ones([2, 3]), tf.ones([4, 3]), [[1], [0]])


def test_matvec_matrix_transpose_adjoint():
    rng = np.random.default_rng(3)
    a, v = rng.standard_normal((2, 3, 4)), rng.standard_normal(4)
    np.testing.assert_allclose(tf.linalg.matvec(a, v).numpy(), a @ v)
    np.testing.assert_allclose(tf.linalg.matvec(a, v[:3], transpose_a=True).numpy(),
                               np.swapaxes(a, 1, 2) @ v[:3])
    check_exact(tf.linalg.matrix_transpose(a), np.swapaxes(a, -1, -2), "float64")
    check_exact(tf.linalg.adjoint(a), np.swapaxes(a, -1, -2), "float64")
    with pytest.raises(ValueError, match="should be a \\(batch\\) matrix with rank >= 2"):
        tf.linalg.matrix_transpose(tf.ones([3]))
    assert tf.linalg.matmul is tf.matmul and tf.linalg.eye is tf.eye


# ----------------------------------------------------------------------------- norms

def norm_ref(x, ord, axis, keepdims):  # noqa: A002
    x = np.abs(x.astype(np.float64))
    if isinstance(axis, list):
        r, c = axis
        if ord in ("fro", "euclidean"):
            out = np.sqrt(np.sum(x * x, axis=(r, c), keepdims=True))
        elif ord == 1:
            out = np.max(np.sum(x, axis=r, keepdims=True), axis=c, keepdims=True)
        else:
            out = np.max(np.sum(x, axis=c, keepdims=True), axis=r, keepdims=True)
        return out if keepdims else np.squeeze(out, axis=(r, c))
    ax = None if axis is None else (axis,)
    if ord in ("euclidean", 2):
        out = np.sqrt(np.sum(x * x, axis=ax, keepdims=True))
    elif ord == np.inf:
        out = np.max(x, axis=ax, keepdims=True)
    else:
        out = np.sum(x ** ord, axis=ax, keepdims=True) ** (1.0 / ord)
    return out if keepdims else np.squeeze(out, axis=ax)


NORM_CASES = [("vector", o) for o in ("euclidean", 1, 2, np.inf, 3, 0.5)] + \
    [("matrix", o) for o in ("fro", "euclidean", 1, np.inf)] + [("all", o) for o in ("euclidean", 1, np.inf)]


@device
@pytest.mark.parametrize("kind,ord_", NORM_CASES)
@given(data=st.data())
@settings(FAST, max_examples=10)
def test_norm_matches_numpy(data, kind, ord_):
    dtype = data.draw(FLOAT)
    shape = data.draw(shapes(min_dims=2 if kind == "matrix" else 1, max_dims=3, min_side=1, max_side=4))
    x = draw_array(data.draw, dtype, shape, lo=-5, hi=5)
    keepdims = data.draw(st.booleans())
    if kind == "matrix":
        r, c = data.draw(st.permutations(range(x.ndim)))[:2]
        axis = [r - x.ndim if data.draw(st.booleans()) else r, c]
    else:
        axis = None if kind == "all" else data.draw(st.integers(-x.ndim, x.ndim - 1))
    got = tf.norm(tf.constant(x), ord=ord_, axis=axis, keepdims=keepdims)
    ref = norm_ref(x, ord_, None if axis is None else ([a % x.ndim for a in axis] if kind == "matrix"
                                                        else axis % x.ndim), keepdims)
    close(got, ref, dtype, ref, rtol=1e-4 if dtype == "float32" else None)


@given(st.data())
@settings(GRAD)
def test_norm_gradient(data):
    shape = data.draw(shapes(min_dims=2, max_dims=2, min_side=1, max_side=3))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    # Magnitudes apart from each other and from 0: no kink of abs or max within eps.
    x = (rng.permutation(int(np.prod(shape))).reshape(shape) + 1.0) * 0.37 * rng.choice([-1, 1], size=shape)
    ord_, axis = data.draw(st.sampled_from([("euclidean", None), ("euclidean", 1), (1, 0), (np.inf, None),
                                             (3, -1), (1, [0, 1]), (np.inf, [1, 0]), ("fro", [0, 1])]))
    check_grad(lambda t: tf.norm(t, ord=ord_, axis=axis), x)


def test_norm_errors_and_dtypes():
    m = tf.constant([[1.0, -2.0], [3.0, 4.0]])
    for ord_ in ("fro", 0, -1, "nuc", "inf"):
        with pytest.raises(ValueError, match="'ord' must be a supported vector norm"):
            tf.norm(m, ord_)
    with pytest.raises(ValueError,
                       match=r"'ord' must be a supported matrix norm in \['euclidean', 'fro', 1, 2, inf\]"):
        tf.norm(m, 3, axis=[0, 1])
    for axis in ((0,), [0, 0], [0, 1, 1], np.int64(0)):
        with pytest.raises(ValueError, match="'axis' must be None, an integer, or a tuple of 2 unique"):
            tf.norm(m, axis=axis)
    # The spectral norm is the largest singular value (tests/test_linalg_factor.py has more).
    np.testing.assert_allclose(float(tf.norm(m, 2, axis=[0, 1])), np.linalg.norm(m.numpy(), 2), rtol=1e-6)
    check_exact(tf.norm(tf.constant([3, -4]), 1), 7, "int32")
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.norm(tf.constant([3, 4]))
    assert tf.norm is tf.linalg.norm


def test_normalize_and_l2_normalize():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    v, n = tf.linalg.normalize(x, axis=1)
    np.testing.assert_allclose(n.numpy(), [[5.0], [0.0]])
    np.testing.assert_allclose(v.numpy()[0], [0.6, 0.8])
    np.testing.assert_allclose(tf.math.l2_normalize(x, axis=1).numpy(), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(tf.linalg.l2_normalize(x, dim=0).numpy(), [[1.0, 1.0], [0.0, 0.0]])
    with pytest.raises(TypeError, match="Cannot convert 1e-12 to EagerTensor of dtype int32"):
        tf.math.l2_normalize([3, 4])


@device
@given(st.data())
@settings(FAST)
def test_clip_by_norm_matches_numpy(data):
    dtype = data.draw(FLOAT)
    shape = data.draw(shapes(max_dims=3, max_side=3))
    x = draw_array(data.draw, dtype, shape, lo=-4, hi=4)
    axes = None if not x.ndim or data.draw(st.booleans()) else \
        data.draw(st.lists(st.integers(0, x.ndim - 1), unique=True, min_size=1))
    clip = data.draw(st.sampled_from([0.5, 2.0, 100.0, -1.0]))
    got = tf.clip_by_norm(tf.constant(x), clip, axes=axes)
    xf = x.astype(np.float64)
    l2 = np.sqrt(np.sum(xf * xf, axis=None if axes is None else tuple(axes), keepdims=True))
    c = max(clip, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = xf * c / np.maximum(l2, c)
    close(got, ref, dtype)


def test_clip_by_norm_gradient_finite_at_zero():
    rng = np.random.default_rng(4)
    check_grad(lambda t: tf.clip_by_norm(t, 1.0, axes=[1]), rng.standard_normal((3, 4)) * 2)
    x = tf.zeros([3])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(tf.clip_by_norm(x, 1.0))
    assert np.all(np.isfinite(tape.gradient(y, x).numpy()))


def test_global_norm_and_clip_by_global_norm():
    a, b = np.array([3.0, 0.0], np.float32), np.array([[4.0]], np.float32)
    n = tf.linalg.global_norm([a, None, b])
    assert n.dtype == tf.float32 and float(n) == 5.0
    clipped, n2 = tf.clip_by_global_norm([a, None, b], 1.0)
    assert clipped[1] is None and float(n2) == 5.0
    np.testing.assert_allclose(clipped[0].numpy(), a / 5)
    np.testing.assert_allclose(clipped[2].numpy(), b / 5)
    same, _ = tf.clip_by_global_norm([a], 100.0)
    np.testing.assert_allclose(same[0].numpy(), a)
    nan, _ = tf.clip_by_global_norm([np.array([np.inf, 1.0], np.float32)], 1.0)
    assert np.all(np.isnan(nan[0].numpy()))
    used, _ = tf.clip_by_global_norm([a], 1.0, use_norm=tf.constant(4.0))
    np.testing.assert_allclose(used[0].numpy(), a / 4)
    assert float(tf.linalg.global_norm([])) == 0.0
    for bad in (tf.ones([2]), "ab"):
        with pytest.raises(TypeError, match="`t_list` should be a sequence of tensors"):
            tf.linalg.global_norm(bad)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.linalg.global_norm([tf.ones([2], tf.int32)])
    rng = np.random.default_rng(5)
    check_grad(lambda x, y: tf.clip_by_global_norm([x, y], 1.5)[0], rng.standard_normal(3),
               rng.standard_normal(2))


# ----------------------------------------------------------------------------- math reductions

@device
@given(st.data())
@settings(FAST)
def test_reduce_std_variance_euclidean_norm(data):
    dtype = data.draw(FLOAT)
    x = draw_array(data.draw, dtype, data.draw(shapes(max_dims=3, max_side=4, min_side=1)), lo=-5, hi=5)
    axis = None if not x.ndim or data.draw(st.booleans()) else data.draw(st.integers(-x.ndim, x.ndim - 1))
    keep = data.draw(st.booleans())
    xf = x.astype(np.float64)
    close(tf.math.reduce_variance(x, axis=axis, keepdims=keep), np.var(xf, axis=axis, keepdims=keep), dtype,
          25)
    close(tf.math.reduce_std(x, axis=axis, keepdims=keep), np.std(xf, axis=axis, keepdims=keep), dtype, 5,
          rtol=1e-4 if dtype == "float32" else None)
    close(tf.math.reduce_euclidean_norm(x, axis=axis, keepdims=keep),
          np.sqrt(np.sum(xf * xf, axis=axis, keepdims=keep)), dtype)


def test_reduce_moments_integers_and_gradients():
    check_exact(tf.math.reduce_euclidean_norm([[3, 4], [5, 12], [1, 1]], axis=1), [5, 13, 1], "int32")
    with pytest.raises(TypeError, match="Input must be either real or complex"):
        tf.math.reduce_variance(tf.constant([1, 2]))
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 4))
    check_grad(lambda t: tf.math.reduce_std(t, axis=0), x)
    check_grad(lambda t: tf.math.reduce_variance(t, axis=[0, 1], keepdims=True), x)
    check_grad(lambda t: tf.math.reduce_euclidean_norm(t, axis=1), x)


@device
@given(st.data())
@settings(FAST)
def test_is_nan_inf_finite(data):
    dtype = data.draw(st.sampled_from(["float32", "float64", "float16"]))
    x = draw_array(data.draw, dtype, data.draw(shapes(max_dims=2)), ieee=True)
    t = tf.constant(x, dtype=TF_DTYPES[dtype])
    check_exact(tf.math.is_nan(t), np.isnan(x))
    check_exact(tf.math.is_inf(t), np.isinf(x))
    check_exact(tf.math.is_finite(t), np.isfinite(x))


def test_is_nan_refuses_integers():
    for f, op in ((tf.math.is_nan, "IsNan"), (tf.math.is_inf, "IsInf"), (tf.math.is_finite, "IsFinite")):
        with pytest.raises(tf.errors.InvalidArgumentError, match=f"{op}: value for attr 'T' of int32"):
            f(tf.constant([1]))


def _xlogy_ref(x, y):
    with np.errstate(all="ignore"):
        return np.where(x == 0, 0.0, x * np.log(y))


@device
@given(st.data())
@settings(FAST)
def test_xlogy_xdivy_divide_no_nan(data):
    dtype = data.draw(FLOAT)
    sa, sb = data.draw(st.sampled_from([((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 4)), ((), (2,))]))
    x = draw_array(data.draw, dtype, sa, lo=-3, hi=3)
    y = draw_array(data.draw, dtype, sb, lo=0, hi=4)
    xf, yf = x.astype(np.float64), y.astype(np.float64)
    close(tf.math.xlogy(x, y), _xlogy_ref(xf, yf), dtype)
    with np.errstate(all="ignore"):
        close(tf.math.xdivy(x, y), np.where(xf == 0, 0.0, xf / yf), dtype)
        close(tf.math.divide_no_nan(x, y), np.where(yf == 0, 0.0, xf / yf), dtype)


def test_xlogy_values_and_gradients_as_tensorflow():
    x, y = tf.constant([0.0, 1.0, 2.0, 0.0]), tf.constant([0.0, 0.0, 3.0, np.nan])
    np.testing.assert_array_equal(tf.math.xlogy(x, y).numpy(), np.float32([0, -np.inf, 2 * np.log(3.0), 0]))
    with tf.GradientTape(persistent=True) as t:
        t.watch([x, y])
        z = tf.math.xlogy(x, y)
    np.testing.assert_allclose(t.gradient(z, x).numpy(), [0.0, -np.inf, np.log(3.0), 0.0])
    np.testing.assert_allclose(t.gradient(z, y).numpy(), [0.0, np.inf, 2.0 / 3.0, 0.0])
    rng = np.random.default_rng(7)
    check_grad(tf.math.xlogy, rng.standard_normal((2, 3)), rng.uniform(0.5, 2.0, (3,)))
    check_grad(tf.math.divide_no_nan, rng.standard_normal((2, 3)), rng.uniform(0.5, 2.0, (2, 1)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Xlogy: value for attr 'T' of int32"):
        tf.math.xlogy(tf.constant([1]), tf.constant([1]))


@pytest.mark.parametrize("indexing", ["xy", "ij"])
@pytest.mark.parametrize("sizes", [[3], [3, 2], [3, 2, 4], [0, 2]])
def test_meshgrid_matches_numpy(indexing, sizes):
    args = [np.arange(n, dtype=np.float32) + 10 * i for i, n in enumerate(sizes)]
    got = tf.meshgrid(*args, indexing=indexing)
    ref = np.meshgrid(*args, indexing=indexing)
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        check_exact(g, r, "float32")


def test_meshgrid_arguments():
    assert tf.meshgrid() == []
    x, y = tf.meshgrid([[1, 2], [3, 4]], [4, 5])
    assert x.shape == [2, 4] and x.dtype == tf.int32
    with pytest.raises(ValueError, match="must be either 'xy' or 'ij', got 'zz'"):
        tf.meshgrid([1], [2], indexing="zz")
    with pytest.raises(TypeError, match="'foo' is an invalid keyword argument"):
        tf.meshgrid([1], foo=1)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.meshgrid([1, 2], [2.0, 3.0])
    check_grad(lambda a, b: tf.meshgrid(a, b), np.arange(3.0), np.arange(2.0))


# ----------------------------------------------------------------------------- diagonals

def _diag_len(d, rows, cols):
    return max(0, min(cols - max(d, 0), rows + min(d, 0)))


def _offset(d, max_len, rows, cols, align):
    left = align.split("_")[0 if d >= 0 else 1] == "LEFT"
    return 0 if left else max_len - _diag_len(d, rows, cols)


def _cells(d, rows, cols):
    """The (row, column) of each element of diagonal ``d``, in order."""
    return [(m - min(d, 0), m + max(d, 0)) for m in range(_diag_len(d, rows, cols))]


def diag_part_ref(x, lo, hi, pad, align):
    rows, cols = x.shape[-2:]
    max_len = max(0, min(rows + min(hi, 0), cols - max(lo, 0)))
    out = np.full(x.shape[:-2] + (hi - lo + 1, max_len), pad, dtype=x.dtype)
    for r, d in enumerate(range(hi, lo - 1, -1)):
        off = _offset(d, max_len, rows, cols, align)
        for m, (i, j) in enumerate(_cells(d, rows, cols)):
            out[..., r, off + m] = x[..., i, j]
    return out[..., 0, :] if lo == hi else out


def set_diag_ref(x, diag, lo, hi, align):
    rows, cols = x.shape[-2:]
    out = x.copy()
    diag = diag[..., None, :] if lo == hi else diag
    max_len = diag.shape[-1]
    for r, d in enumerate(range(hi, lo - 1, -1)):
        off = _offset(d, max_len, rows, cols, align)
        for m, (i, j) in enumerate(_cells(d, rows, cols)):
            out[..., i, j] = diag[..., r, off + m]
    return out


@st.composite
def bands(draw, rows, cols):
    """A valid ``k`` (an int or a pair) for a rows x cols matrix."""
    lo_k = -rows + 1 if rows else 0
    hi_k = cols - 1 if cols else 0
    lo = draw(st.integers(min(lo_k, 0), max(hi_k, 0)))
    if draw(st.integers(0, 2)) == 0:
        return lo, lo, lo
    hi = min(lo + draw(st.integers(1, 3)), max(hi_k, lo))
    return (lo, hi), lo, hi


@device
@pytest.mark.parametrize("align", ALIGN_NAMES)
@given(data=st.data())
@settings(FAST, max_examples=20)
def test_diag_part_and_set_diag(data, align):
    dtype = data.draw(st.sampled_from(FLOATS + ["int32"]))
    batch = data.draw(shapes(max_dims=2, max_side=2))
    rows, cols = (data.draw(st.integers(0 if data.draw(st.integers(0, 7)) == 0 else 1, 4)) for _ in "rc")
    k, lo, hi = data.draw(bands(rows, cols))
    x = draw_array(data.draw, dtype, batch + (rows, cols))
    pad = data.draw(st.sampled_from([0, -1, 7]))
    got = tf.linalg.diag_part(tf.constant(x, dtype=TF_DTYPES[dtype]), k=k, padding_value=pad, align=align)
    check_exact(got, diag_part_ref(x, lo, hi, pad, align), dtype)
    new = draw_array(data.draw, dtype, tuple(got.shape))
    got = tf.linalg.set_diag(tf.constant(x, dtype=TF_DTYPES[dtype]), new, k=k, align=align)
    check_exact(got, set_diag_ref(x, new, lo, hi, align), dtype)


@device
@pytest.mark.parametrize("align", ALIGN_NAMES)
@given(data=st.data())
@settings(FAST, max_examples=15)
def test_diag_builds_matrices(data, align):
    dtype = data.draw(st.sampled_from(FLOATS + ["int32"]))
    batch = data.draw(shapes(max_dims=2, max_side=2))
    max_len = data.draw(st.integers(1, 4))
    lo = data.draw(st.integers(-3, 3))
    hi = lo if data.draw(st.booleans()) else data.draw(st.integers(lo, 3))
    shape = batch + ((max_len,) if lo == hi else (hi - lo + 1, max_len))
    v = draw_array(data.draw, dtype, shape)
    min_rows, min_cols = max_len - min(hi, 0), max_len + max(lo, 0)
    which = data.draw(st.sampled_from(["square", "rows", "cols"]))
    extra = data.draw(st.integers(0, 2))
    rows, cols = {"square": (-1, -1), "rows": (min_rows + extra, -1), "cols": (-1, min_cols + extra)}[which]
    got = tf.linalg.diag(tf.constant(v, dtype=TF_DTYPES[dtype]), k=(lo, hi), num_rows=rows, num_cols=cols,
                         padding_value=9, align=align)
    if which == "square":
        rows = cols = max(min_rows, min_cols)
    elif which == "rows":
        cols = min_cols
    else:
        rows = min_rows
    # Only the diagonals that fit the matrix are used; the rest of the packed rows is padding.
    ref = set_diag_ref(np.full(batch + (rows, cols), 9, dtype=v.dtype), v, lo, hi, align)
    check_exact(got, ref, dtype)


def test_band_part_and_trace():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 4))
    for lower, upper in ((0, 0), (1, 0), (-1, 0), (0, -1), (2, 1), (-1, -1), (3, 4)):
        ref = x.copy()
        i, j = np.meshgrid(np.arange(3), np.arange(4), indexing="ij")
        keep = ((lower < 0) | (i - j <= lower)) & ((upper < 0) | (j - i <= upper))
        check_exact(tf.linalg.band_part(x, lower, upper), np.where(keep, ref, 0.0), "float64")
    inf = np.full((2, 2), np.inf)
    check_exact(tf.linalg.band_part(inf, 0, 0), np.diag([np.inf, np.inf]), "float64")
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_lower must be negative or less or equal"):
        tf.linalg.band_part(x, 4, 0)
    with pytest.raises(TypeError):
        tf.linalg.band_part(x, 1.0, 0)
    check_exact(tf.linalg.trace(x), np.trace(x, axis1=-2, axis2=-1), "float64")
    check_exact(tf.linalg.trace([[1, 2], [3, 4]]), 5, "int32")
    check_grad(lambda t: tf.linalg.band_part(t, 1, 0), x)
    check_grad(tf.linalg.trace, x)


def test_diag_gradients():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3, 4))
    check_grad(lambda t: tf.linalg.diag_part(t, k=(-1, 2), align="LEFT_RIGHT"), x)
    check_grad(lambda t, d: tf.linalg.set_diag(t, d, k=1), x, rng.standard_normal((2, 3)))
    check_grad(lambda d: tf.linalg.diag(d, k=(0, 1), num_rows=4), rng.standard_normal((2, 2, 3)))
    check_grad(tf.linalg.tensor_diag, rng.standard_normal((2, 2)))


def test_diag_errors():
    err = tf.errors.InvalidArgumentError
    with pytest.raises(err, match="diagonal must be at least 1-dim"):
        tf.linalg.diag(3.0)
    with pytest.raises(err, match="Value for attr 'align' of \"FOO\""):
        tf.linalg.diag([1.0], align="FOO")
    with pytest.raises(err, match="lower_diag_index must not be larger than upper_diag_index: 1 > 0"):
        tf.linalg.diag([1.0, 2.0], k=(1, 0))
    with pytest.raises(err, match="number of diagonals provided in the input does not match"):
        tf.linalg.diag([1, 2, 3], k=(0, 1))
    with pytest.raises(err, match="The number of columns is too small"):
        tf.linalg.diag([1, 2, 3], num_cols=2)
    with pytest.raises(err, match="lower_diag_index is out of bound: 4. It must be between -3 and 4"):
        tf.linalg.diag_part(tf.ones([3, 4]), k=4)
    with pytest.raises(err, match="input must be at least 2-dim"):
        tf.linalg.diag_part([1.0, 2.0])
    with pytest.raises(err, match="Expected diagonal shape: \\[3\\]"):
        tf.linalg.set_diag(tf.ones([3, 4]), [9.0, 9.0])


def test_tensor_diag_and_part():
    d = np.arange(6.0).reshape(2, 3)
    full = tf.linalg.tensor_diag(d)
    assert full.shape == [2, 3, 2, 3]
    ref = np.zeros((6, 6))
    ref[np.arange(6), np.arange(6)] = d.reshape(-1)
    check_exact(full, ref.reshape(2, 3, 2, 3), "float64")
    check_exact(tf.linalg.tensor_diag_part(full), d, "float64")


@device
@given(st.data())
@settings(FAST)
def test_cross_matches_numpy(data):
    dtype = data.draw(st.sampled_from(FLOATS + ["int32"]))
    shape = data.draw(shapes(max_dims=2, max_side=3)) + (3,)
    a, b = draw_array(data.draw, dtype, shape), draw_array(data.draw, dtype, shape)
    got = tf.linalg.cross(tf.constant(a, dtype=TF_DTYPES[dtype]), tf.constant(b, dtype=TF_DTYPES[dtype]))
    ref = np.cross(a.astype(np.float64), b.astype(np.float64))
    if dtype == "int32":
        check_exact(got, ref, dtype)
    else:
        close(got, ref, dtype, 200)


def test_cross_gradient_and_errors():
    rng = np.random.default_rng(10)
    check_grad(tf.linalg.cross, rng.standard_normal((2, 3)), rng.standard_normal((2, 3)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Both inputs must be of same shape"):
        tf.linalg.cross(tf.ones([2, 3]), [0.0, 1.0, 0.0])
    with pytest.raises(tf.errors.FailedPreconditionError, match="only defined for 3-element vectors"):
        tf.linalg.cross([1.0, 0.0], [0.0, 1.0])


def test_composites_run_in_functions_with_polymorphic_batch():
    @tf.function(input_signature=[tf.TensorSpec([None, 3])])
    def f(x):
        gram = tf.matmul(x, x, transpose_a=True)
        return tf.norm(x, axis=1), tf.einsum("ij,kj->ik", x, x), tf.linalg.diag_part(gram)

    for n in (2, 5):
        x = np.arange(3 * n, dtype=np.float32).reshape(n, 3)
        got = f(tf.constant(x))
        np.testing.assert_allclose(got[0].numpy(), np.linalg.norm(x, axis=1), rtol=1e-6)
        np.testing.assert_allclose(got[1].numpy(), x @ x.T, rtol=1e-6)
        np.testing.assert_allclose(got[2].numpy(), np.diag(x.T @ x), rtol=1e-6)
