"""tf.linalg's factorisations and solves (solve, triangular_solve, inv, det, slogdet, logdet,
cholesky, cholesky_solve, eigh, eigvalsh, svd, qr, lstsq, norm(ord=2)) against numpy float64,
on batches, in float32 and float64, with gradients checked by finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import needs_gpu
from helpers import numeric_grad

import rstf as tf

RNG = np.random.default_rng(7)


def batch(*shape, dtype=np.float64):
    return RNG.normal(size=shape).astype(dtype)


def spd(*dims):
    """Symmetric positive definite matrices: ``dims`` are the batch dimensions, then ``n``."""
    a = batch(*dims, dims[-1])
    return a @ np.swapaxes(a, -1, -2) + dims[-1] * np.eye(dims[-1])


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 2e-4)])
def test_values_match_numpy(dtype, tol):
    a = batch(2, 3, 4, 4, dtype=dtype)
    b = batch(2, 3, 4, 2, dtype=dtype)
    s = spd(2, 4).astype(dtype)

    def close(got, want):
        assert got.dtype == tf.as_dtype(dtype)
        np.testing.assert_allclose(got.numpy(), want, rtol=tol, atol=tol)

    close(tf.linalg.solve(a, b), np.linalg.solve(a, b))
    close(tf.linalg.solve(a, b, adjoint=True), np.linalg.solve(np.swapaxes(a, -1, -2), b))
    close(tf.linalg.inv(a), np.linalg.inv(a))
    close(tf.linalg.det(a), np.linalg.det(a))
    sign, logabs = np.linalg.slogdet(a)
    got = tf.linalg.slogdet(a)
    close(got.sign, sign)
    close(got.log_abs_determinant, logabs)
    close(tf.linalg.logdet(s), np.linalg.slogdet(s)[1])
    close(tf.linalg.cholesky(s), np.linalg.cholesky(s))
    close(tf.linalg.cholesky_solve(tf.linalg.cholesky(s), b[0, :2]), np.linalg.solve(s, b[0, :2]))
    low = np.tril(a) + 4 * np.eye(4, dtype=dtype)
    close(tf.linalg.triangular_solve(low + np.triu(a, 1) * 100, b), np.linalg.solve(low, b))
    close(tf.linalg.triangular_solve(np.swapaxes(low, -1, -2), b, lower=False),
          np.linalg.solve(np.swapaxes(low, -1, -2), b))
    close(tf.linalg.triangular_solve(low, b, adjoint=True), np.linalg.solve(np.swapaxes(low, -1, -2), b))
    e, v = tf.linalg.eigh(s + np.triu(batch(4, 4, dtype=dtype), 1) * 50)  # reads the lower triangle
    close(e, np.linalg.eigvalsh(s))
    np.testing.assert_allclose((v @ tf.linalg.diag(e) @ tf.linalg.adjoint(v)).numpy(), s,
                               rtol=tol * 10, atol=tol * 10)
    close(tf.linalg.eigvalsh(s), np.linalg.eigvalsh(s))


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 4)])
@pytest.mark.parametrize("full", [False, True])
def test_svd_and_qr_reconstruct(shape, full):
    a = batch(*shape)
    s, u, v = tf.linalg.svd(a, full_matrices=full)
    np.testing.assert_allclose(s.numpy(), np.linalg.svd(a, compute_uv=False), atol=1e-12)
    k = min(shape[-2:])
    us, vs = u.numpy()[..., :k], v.numpy()[..., :k]
    np.testing.assert_allclose(us * s.numpy()[..., None, :] @ np.swapaxes(vs, -1, -2), a, atol=1e-12)
    assert u.shape[-1] == (shape[-2] if full else k) and v.shape[-1] == (shape[-1] if full else k)
    q, r = tf.linalg.qr(a, full_matrices=full)
    np.testing.assert_allclose((q @ r).numpy(), a, atol=1e-12)
    qn = q.numpy()
    eye = np.broadcast_to(np.eye(qn.shape[-1]), qn.shape[:-2] + (qn.shape[-1],) * 2)
    np.testing.assert_allclose(np.swapaxes(qn, -1, -2) @ qn, eye, atol=1e-12)
    np.testing.assert_array_equal(np.tril(r.numpy(), -1), 0)


def test_lstsq_and_spectral_norm():
    a, b = batch(6, 3), batch(6, 2)
    want = np.linalg.lstsq(a, b, rcond=None)[0]
    np.testing.assert_allclose(tf.linalg.lstsq(a, b).numpy(), want, atol=1e-10)
    x = batch(2, 3, 5)
    np.testing.assert_allclose(tf.norm(x, ord=2, axis=[-2, -1]).numpy(), np.linalg.norm(x, 2, axis=(-2, -1)))
    got = tf.norm(x, ord=2, axis=[0, 2], keepdims=True)
    np.testing.assert_allclose(got.numpy(), np.linalg.norm(x, 2, axis=(0, 2), keepdims=True))


def test_errors_name_the_op():
    with pytest.raises(tf.errors.InvalidArgumentError, match="MatrixInverse: Input matrix is not invertible"):
        tf.linalg.inv(tf.zeros([2, 2]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="MatrixSolve.*not invertible"):
        tf.linalg.solve([[1.0, 2.0], [2.0, 4.0]], [[1.0], [1.0]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Cholesky decomposition was not successful"):
        tf.linalg.cholesky(-tf.eye(3))
    with pytest.raises(tf.errors.InvalidArgumentError, match="square"):
        tf.linalg.det(tf.zeros([2, 3]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="float32 or float64"):
        tf.linalg.inv(tf.eye(2, dtype=tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="MatrixSolve"):
        tf.linalg.solve(tf.eye(3), tf.ones([2, 1]))



def sym(m):
    return (m + np.swapaxes(m, -1, -2)) / 2


# (rstf function of a, numpy function of a, input maker). Functions of symmetric input go
# through sym() on both sides, so the gradient conventions for symmetric matrices agree.
GRADS = {
    "solve": (lambda a, w: tf.linalg.solve(a, w[..., :2]), lambda a, w: np.linalg.solve(a, w[..., :2]),
              lambda: batch(2, 3, 3) + 3 * np.eye(3)),
    "solve_adjoint": (lambda a, w: tf.linalg.solve(a, w[..., :2], adjoint=True),
                      lambda a, w: np.linalg.solve(np.swapaxes(a, -1, -2), w[..., :2]),
                      lambda: batch(2, 3, 3) + 3 * np.eye(3)),
    "triangular": (lambda a, w: tf.linalg.triangular_solve(a, w[..., :2]),
                   lambda a, w: np.linalg.solve(np.tril(a), w[..., :2]),
                   lambda: np.tril(batch(2, 3, 3)) + 3 * np.eye(3)),
    "triangular_upper_adjoint": (
        lambda a, w: tf.linalg.triangular_solve(a, w[..., :2], lower=False, adjoint=True),
        lambda a, w: np.linalg.solve(np.swapaxes(np.triu(a), -1, -2), w[..., :2]),
        lambda: np.triu(batch(2, 3, 3)) + 3 * np.eye(3)),
    "inv": (lambda a, w: tf.linalg.inv(a), lambda a, w: np.linalg.inv(a),
            lambda: batch(2, 3, 3) + 3 * np.eye(3)),
    "det": (lambda a, w: tf.linalg.det(a), lambda a, w: np.linalg.det(a), lambda: batch(2, 3, 3)),
    "slogdet": (lambda a, w: tf.linalg.slogdet(a).log_abs_determinant, lambda a, w: np.linalg.slogdet(a)[1],
                lambda: batch(2, 3, 3)),
    "cholesky": (lambda a, w: tf.linalg.cholesky((a + tf.linalg.adjoint(a)) / 2),
                 lambda a, w: np.linalg.cholesky(sym(a)), lambda: spd(2, 3)),
}


@pytest.mark.parametrize("name", list(GRADS))
def test_gradients_match_finite_differences(name):
    f_tf, f_np, make = GRADS[name]
    a0 = make()
    out = f_np(a0, np.zeros((2, 3, 3)))
    w = RNG.normal(size=out.shape)

    x = tf.constant(a0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(f_tf(x, np.zeros((2, 3, 3))) * w)
    got = tape.gradient(loss, x).numpy()
    want = numeric_grad(lambda a: float(np.sum(f_np(a, np.zeros((2, 3, 3))) * w)), a0)
    if name.startswith("triangular"):
        # The op reads one triangle: the gradient of the other is zero.
        keep = np.tril if name == "triangular" else np.triu
        want = keep(want)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_solve_gradient_wrt_rhs():
    a0, b0 = batch(3, 3) + 3 * np.eye(3), batch(3, 2)
    w = RNG.normal(size=(3, 2))
    a, b = tf.constant(a0), tf.constant(b0)
    with tf.GradientTape() as tape:
        tape.watch(b)
        loss = tf.reduce_sum(tf.linalg.solve(a, b) * w)
    want = numeric_grad(lambda v: float(np.sum(np.linalg.solve(a0, v) * w)), b0)
    np.testing.assert_allclose(tape.gradient(loss, b).numpy(), want, rtol=1e-6, atol=1e-8)


def test_eigh_gradient_matches_finite_differences():
    a0 = spd(3)
    we, wv = RNG.normal(size=3), RNG.normal(size=(3, 3))

    def loss_np(a):
        e, v = np.linalg.eigh(sym(a))
        v = v * np.sign(v[:1, :])  # eigenvectors up to sign: fix it
        return float(np.sum(e * we) + np.sum(v * wv))

    x = tf.constant(a0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        e, v = tf.linalg.eigh((x + tf.transpose(x)) / 2)
        v = v * tf.stop_gradient(tf.sign(v[:1, :]))
        loss = tf.reduce_sum(e * we) + tf.reduce_sum(v * wv)
    want = numeric_grad(loss_np, a0)
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), want, rtol=1e-5, atol=1e-7)


def signs(v):
    """Per column, the sign that makes its first nonzero-ish entry positive (SVD and QR
    factors are unique only up to such signs)."""
    return np.sign(v[..., :1, :])


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4)])
def test_svd_gradient_matches_finite_differences(shape):
    a0 = batch(*shape)
    k = min(shape)
    ws, wu, wv = RNG.normal(size=k), RNG.normal(size=(shape[0], k)), RNG.normal(size=(shape[1], k))

    def loss_np(a):
        u, s, vt = np.linalg.svd(a, full_matrices=False)
        v = vt.T
        sg = signs(u)
        return float(np.sum(s * ws) + np.sum(u * sg * wu) + np.sum(v * sg * wv))

    x = tf.constant(a0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        s, u, v = tf.linalg.svd(x)
        sg = tf.stop_gradient(tf.sign(u[:1, :]))
        loss = tf.reduce_sum(s * ws) + tf.reduce_sum(u * sg * wu) + tf.reduce_sum(v * sg * wv)
    want = numeric_grad(loss_np, a0)
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(3, 3), (5, 3)])
def test_qr_gradient_matches_finite_differences(shape):
    a0 = batch(*shape)
    wq, wr = RNG.normal(size=shape), RNG.normal(size=(shape[1], shape[1]))

    def loss_np(a):
        q, r = np.linalg.qr(a)
        d = np.sign(np.diag(r))  # numpy's R may have negative diagonal entries: make them positive
        return float(np.sum(q * d * wq) + np.sum(r * d[:, None] * wr))

    x = tf.constant(a0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        q, r = tf.linalg.qr(x)
        d = tf.stop_gradient(tf.sign(tf.linalg.diag_part(r)))
        loss = tf.reduce_sum(q * d * wq) + tf.reduce_sum(r * d[:, None] * wr)
    want = numeric_grad(loss_np, a0)
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), want, rtol=1e-5, atol=1e-6)


def test_gradients_tensorflow_lacks_are_refused_not_wrong():
    x = tf.constant(batch(2, 4))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        total_q = tf.reduce_sum(tf.linalg.qr(x).r)
        total_s = tf.reduce_sum(tf.linalg.svd(tf.transpose(x), full_matrices=True)[1])
    with pytest.raises(tf.errors.UnimplementedError, match="Qr"):
        tape.gradient(total_q, x)
    with pytest.raises(tf.errors.UnimplementedError, match="Svd"):
        tape.gradient(total_s, x)


def test_traced_with_unknown_batch():
    specs = [tf.TensorSpec([None, 3, 3], tf.float64), tf.TensorSpec([None, 3, 1], tf.float64)]

    @tf.function(input_signature=specs)
    def f(a, b):
        return tf.linalg.solve(a, b), tf.linalg.det(a)

    for n in (1, 4):
        a, b = batch(n, 3, 3) + 3 * np.eye(3), batch(n, 3, 1)
        x, d = f(a, b)
        np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b), atol=1e-12)
        np.testing.assert_allclose(d.numpy(), np.linalg.det(a), atol=1e-12)


@needs_gpu
def test_on_gpu_inputs_runs_on_the_host_and_returns_to_the_gpu():
    a = spd(3).astype(np.float32)
    with tf.device("/GPU:0"):
        x = tf.constant(a)
        chol = tf.linalg.cholesky(x)
    np.testing.assert_allclose(chol.numpy(), np.linalg.cholesky(a), rtol=1e-5, atol=1e-5)
