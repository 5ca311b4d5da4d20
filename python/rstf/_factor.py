"""Matrix factorisations and solves of ``rstf.linalg`` (the Rust op ``Linalg``: LU, Cholesky,
symmetric eigendecomposition, SVD and QR through ``faer``), on matrices or batches of them
(``[..., M, N]``), float32 or float64, with TensorFlow's gradients (and its limits: none for
``qr`` of wide matrices or ``svd`` with ``full_matrices`` of non-square ones).

>>> import rstf as tf
>>> a = tf.constant([[4., 2.], [2., 3.]])
>>> tf.linalg.solve(a, [[2.], [1.]]).numpy()
array([[0.5],
       [0. ]], dtype=float32)
>>> round(float(tf.linalg.det(a)), 4)
8.0
"""

from __future__ import annotations

import collections

from . import _ops as _o
from ._rstf import Tensor

Qr = collections.namedtuple("Qr", ["q", "r"])
Slogdet = collections.namedtuple("Slogdet", ["sign", "log_abs_determinant"])


def _run(op, *inputs) -> list:
    """Runs the ``Linalg`` op ``op`` (a name, or a dict of one name and its attributes)."""
    first = _o.convert_to_tensor(inputs[0])
    rest = [_o.convert_to_tensor(x, dtype=first.dtype) for x in inputs[1:]]
    return _o._apply("Linalg", op, first, *rest)


def solve(matrix, rhs, adjoint=False, name=None) -> Tensor:
    """``x`` with ``matrix @ x = rhs`` (``adjoint``: ``matrixᵀ @ x = rhs``); raises
    InvalidArgumentError when a matrix is singular.

    >>> import rstf as tf
    >>> tf.linalg.solve([[2., 0.], [0., 4.]], [[2.], [8.]]).numpy()
    array([[1.],
           [2.]], dtype=float32)
    """
    return _run({"Solve": {"adjoint": bool(adjoint)}}, matrix, rhs)[0]


def triangular_solve(matrix, rhs, lower=True, adjoint=False, name=None) -> Tensor:
    """``x`` with ``matrix @ x = rhs``, reading only the lower (``lower``) or upper triangle.

    >>> import rstf as tf
    >>> tf.linalg.triangular_solve([[2., 0.], [1., 1.]], [[2.], [3.]]).numpy()
    array([[1.],
           [2.]], dtype=float32)
    """
    return _run({"TriangularSolve": {"lower": bool(lower), "adjoint": bool(adjoint)}}, matrix, rhs)[0]


def inv(input, adjoint=False, name=None) -> Tensor:  # noqa: A002
    """The inverse of each matrix (of its transpose with ``adjoint``).

    >>> import rstf as tf
    >>> tf.linalg.inv([[2., 0.], [0., 4.]]).numpy()
    array([[0.5 , 0.  ],
           [0.  , 0.25]], dtype=float32)
    """
    x = _o.convert_to_tensor(input)
    if adjoint:
        x = _o.transpose(x, list(range(x.ndim - 2)) + [x.ndim - 1, x.ndim - 2]) if x.ndim >= 2 else x
    return _run("Inverse", x)[0]


def det(input, name=None) -> Tensor:  # noqa: A002
    """The determinant of each matrix.

    >>> import rstf as tf
    >>> float(tf.linalg.det([[1., 2.], [3., 4.]]))
    -2.0
    """
    return _run("Det", input)[0]


def slogdet(input, name=None) -> Slogdet:  # noqa: A002
    """``(sign, log |det|)`` of each matrix, without overflow for large determinants.

    >>> import rstf as tf
    >>> s = tf.linalg.slogdet([[1., 2.], [3., 4.]])
    >>> float(s.sign), round(float(s.log_abs_determinant), 4)
    (-1.0, 0.6931)
    """
    sign, log = _run("SlogDet", input)
    return Slogdet(sign, log)


def logdet(matrix, name=None) -> Tensor:
    """``log(det(matrix))`` of symmetric positive definite matrices, through Cholesky.

    >>> import rstf as tf
    >>> round(float(tf.linalg.logdet([[4., 0.], [0., 9.]])), 4)
    3.5835
    """
    chol = cholesky(matrix)
    diag = _o.reduce_sum(_o.log(_o.reduce_sum(chol * _o.eye(chol.shape[-1], dtype=chol.dtype), -1)), -1)
    return 2.0 * diag


def cholesky(input, name=None) -> Tensor:  # noqa: A002
    """The lower-triangular ``L`` with ``L Lᵀ = input``, reading its lower triangle; raises
    InvalidArgumentError for a matrix that is not positive definite.

    >>> import rstf as tf
    >>> tf.linalg.cholesky([[4., 2.], [2., 3.]]).numpy().round(4)
    array([[2.    , 0.    ],
           [1.    , 1.4142]], dtype=float32)
    """
    return _run("Cholesky", input)[0]


def cholesky_solve(chol, rhs, name=None) -> Tensor:
    """``x`` with ``A x = rhs``, given ``chol = cholesky(A)``.

    >>> import rstf as tf
    >>> l = tf.linalg.cholesky([[4., 2.], [2., 3.]])
    >>> tf.linalg.cholesky_solve(l, [[2.], [1.]]).numpy().round(4)
    array([[0.5],
           [0. ]], dtype=float32)
    """
    y = triangular_solve(chol, rhs, lower=True)
    return triangular_solve(chol, y, lower=True, adjoint=True)


def eigh(tensor, name=None):
    """``(e, v)``: the eigenvalues (ascending) and eigenvectors (columns of ``v``) of
    symmetric matrices, reading their lower triangles.

    >>> import rstf as tf
    >>> e, v = tf.linalg.eigh([[2., 0.], [0., 1.]])
    >>> e.numpy()
    array([1., 2.], dtype=float32)
    """
    e, v = _run("Eigh", tensor)
    return e, v


def eigvalsh(tensor, name=None) -> Tensor:
    """The eigenvalues of symmetric matrices, ascending.

    >>> import rstf as tf
    >>> tf.linalg.eigvalsh([[2., 1.], [1., 2.]]).numpy()
    array([1., 3.], dtype=float32)
    """
    return eigh(tensor)[0]


def svd(tensor, full_matrices=False, compute_uv=True, name=None):
    """``s`` (descending), or ``(s, u, v)`` with ``tensor = u @ diag(s) @ vᵀ`` when
    ``compute_uv``.

    >>> import rstf as tf
    >>> tf.linalg.svd([[3., 0.], [0., -4.]], compute_uv=False).numpy()
    array([4., 3.], dtype=float32)
    """
    s, u, v = _run({"Svd": {"full": bool(full_matrices)}}, tensor)
    return (s, u, v) if compute_uv else s


def qr(input, full_matrices=False, name=None) -> Qr:  # noqa: A002
    """``(q, r)`` with ``input = q @ r``, ``q`` orthonormal and ``r`` upper triangular.

    >>> import rstf as tf
    >>> q, r = tf.linalg.qr([[1., 2.], [3., 4.]])
    >>> (q @ r).numpy().round(4)
    array([[1., 2.],
           [3., 4.]], dtype=float32)
    """
    q, r = _run({"Qr": {"full": bool(full_matrices)}}, input)
    return Qr(q, r)


def lstsq(matrix, rhs, l2_regularizer=0.0, fast=True, name=None) -> Tensor:
    """The least-squares solution of ``matrix @ x = rhs`` (with ``l2_regularizer``), through
    the normal equations and Cholesky as TensorFlow's ``fast`` path.

    >>> import rstf as tf
    >>> tf.linalg.lstsq([[1., 0.], [0., 1.], [1., 1.]], [[1.], [1.], [2.]]).numpy().round(4)
    array([[1.],
           [1.]], dtype=float32)
    """
    a = _o.convert_to_tensor(matrix)
    b = _o.convert_to_tensor(rhs, dtype=a.dtype)
    m, n = a.shape[-2], a.shape[-1]
    if m >= n:
        gram = _o.matmul(a, a, transpose_a=True)
        gram = gram + l2_regularizer * _o.eye(n, dtype=a.dtype)
        return cholesky_solve(cholesky(gram), _o.matmul(a, b, transpose_a=True))
    gram = _o.matmul(a, a, transpose_b=True) + l2_regularizer * _o.eye(m, dtype=a.dtype)
    return _o.matmul(a, cholesky_solve(cholesky(gram), b), transpose_a=True)
