//! Linear algebra on batches of matrices (`[..., M, N]`), as TensorFlow's `tf.linalg`: solve,
//! triangular solve, inverse, determinant, log-determinant, Cholesky, the symmetric
//! eigendecomposition, SVD and QR. The factorisations are `faer`'s; each batch matrix is
//! factorised in float64 and the results rounded to the input's dtype (float32 or float64).
//! Gradients are TensorFlow's formulas, written with the public ops, below the forwards
//! (QR's and SVD's with TensorFlow's limits: not for wide QR or full non-square SVD).

use crate::autodiff::{op_n, rule};
use crate::dtype::DType;
use crate::graph::Op;
use crate::{bail, Error, Result, Tensor};
use faer::linalg::solvers::{DenseSolveCore, Solve};
use faer::{Mat, MatRef, Side};

/// One linear-algebra op (inputs and outputs as listed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum LinalgOp {
    /// `[a, b] -> [x]` with `a x = b` (`adjoint`: `aᵀ x = b`).
    Solve {
        /// Solve with the transpose of `a`.
        adjoint: bool,
    },
    /// `[a, b] -> [x]`, reading only the lower (or upper) triangle of `a`.
    TriangularSolve {
        /// `a` is lower triangular (else upper).
        lower: bool,
        /// Solve with the transpose of `a`.
        adjoint: bool,
    },
    /// `[a] -> [a⁻¹]`
    Inverse,
    /// `[a] -> [det a]`
    Det,
    /// `[a] -> [sign, log |det a|]`
    SlogDet,
    /// `[a] -> [l]` with `l lᵀ = a`, reading the lower triangle of `a`.
    Cholesky,
    /// `[a] -> [e, v]`: eigenvalues ascending and eigenvectors (columns), reading the lower
    /// triangle of `a`.
    Eigh,
    /// `[a] -> [s, u, v]` with `a = u diag(s) vᵀ`, `s` descending.
    Svd {
        /// `u` and `v` square (else `min(M, N)` columns).
        full: bool,
    },
    /// `[a] -> [q, r]` with `a = q r`.
    Qr {
        /// `q` square (else `min(M, N)` columns).
        full: bool,
    },
}

impl LinalgOp {
    /// TensorFlow's op name.
    pub fn name(self) -> &'static str {
        match self {
            LinalgOp::Solve { .. } => "MatrixSolve",
            LinalgOp::TriangularSolve { .. } => "MatrixTriangularSolve",
            LinalgOp::Inverse => "MatrixInverse",
            LinalgOp::Det => "MatrixDeterminant",
            LinalgOp::SlogDet => "LogMatrixDeterminant",
            LinalgOp::Cholesky => "Cholesky",
            LinalgOp::Eigh => "SelfAdjointEigV2",
            LinalgOp::Svd { .. } => "Svd",
            LinalgOp::Qr { .. } => "Qr",
        }
    }

    /// The number of inputs.
    pub fn arity(self) -> usize {
        match self {
            LinalgOp::Solve { .. } | LinalgOp::TriangularSolve { .. } => 2,
            _ => 1,
        }
    }

    /// True for the ops that need square matrices.
    pub fn square(self) -> bool {
        !matches!(self, LinalgOp::Svd { .. } | LinalgOp::Qr { .. })
    }
}

/// A batch of matrices in float64: `(batch dims, rows, cols, values)`.
type Batch = (Vec<usize>, usize, usize, Vec<f64>);

fn batch(op: LinalgOp, x: &Tensor, what: &str) -> Result<Batch> {
    let name = op.name();
    if !matches!(x.dtype(), DType::F32 | DType::F64) {
        bail!(
            "{name}: {what} must be float32 or float64, got {} with shape {:?}",
            x.dtype(),
            x.shape()
        );
    }
    let s = x.shape();
    if s.len() < 2 {
        bail!("{name}: {what} must have rank >= 2, got shape {s:?}");
    }
    let (m, n) = (s[s.len() - 2], s[s.len() - 1]);
    if op.square() && what == "input" && m != n {
        bail!("{name}: input must be a square matrix (or a batch of them), got shape {s:?}");
    }
    let v = x.cast(DType::F64)?.to_vec::<f64>()?;
    Ok((s[..s.len() - 2].to_vec(), m, n, v))
}

fn mat(v: &[f64], m: usize, n: usize) -> Mat<f64> {
    Mat::from_fn(m, n, |i, j| v[i * n + j])
}

fn push(out: &mut Vec<f64>, a: MatRef<'_, f64>) {
    for i in 0..a.nrows() {
        for j in 0..a.ncols() {
            out.push(a[(i, j)]);
        }
    }
}

fn tensor(v: Vec<f64>, batch: &[usize], tail: &[usize], dtype: DType) -> Result<Tensor> {
    let shape: Vec<usize> = batch.iter().chain(tail).copied().collect();
    Tensor::from_vec(v, &shape)?.cast(dtype)
}

fn not_invertible(op: LinalgOp) -> Error {
    Error::InvalidArgument(format!("{}: Input matrix is not invertible.", op.name()))
}

/// The LU factors of `a`, or an error when `a` is singular.
fn lu(op: LinalgOp, a: &Mat<f64>) -> Result<faer::linalg::solvers::PartialPivLu<f64>> {
    let lu = a.partial_piv_lu();
    let u = lu.U();
    if (0..u.nrows()).any(|i| u[(i, i)] == 0.0 || !u[(i, i)].is_finite()) {
        return Err(not_invertible(op));
    }
    Ok(lu)
}

/// The parity of a permutation given as the image of each index: +1 or -1.
fn parity(perm: &[usize]) -> f64 {
    let mut seen = vec![false; perm.len()];
    let mut sign = 1.0;
    for start in 0..perm.len() {
        let mut len = 0;
        let mut i = start;
        while !seen[i] {
            seen[i] = true;
            i = perm[i];
            len += 1;
        }
        if len > 0 && len % 2 == 0 {
            sign = -sign;
        }
    }
    sign
}

fn forward(op: LinalgOp, inputs: &[&Tensor]) -> Result<Vec<Tensor>> {
    let name = op.name();
    let dt = inputs[0].dtype();
    let (bs, m, n, a) = batch(op, inputs[0], "input")?;
    let count: usize = bs.iter().product();
    let each = |k: usize| mat(&a[k * m * n..(k + 1) * m * n], m, n);
    match op {
        LinalgOp::Solve { adjoint } | LinalgOp::TriangularSolve { adjoint, .. } => {
            let (bb, rm, rk, b) = batch(op, inputs[1], "rhs")?;
            if inputs[1].dtype() != dt || bb != bs || rm != m {
                bail!(
                    "{name}: matrix of shape {:?} ({dt}) and rhs of shape {:?} ({}) do not match: the batch dimensions and the rows must agree",
                    inputs[0].shape(),
                    inputs[1].shape(),
                    inputs[1].dtype()
                );
            }
            let mut out = Vec::with_capacity(b.len());
            for k in 0..count {
                let a = each(k);
                let a = if adjoint { a.transpose().to_owned() } else { a };
                let mut x = mat(&b[k * m * rk..(k + 1) * m * rk], m, rk);
                match op {
                    LinalgOp::Solve { .. } => x = lu(op, &a)?.solve(&x),
                    LinalgOp::TriangularSolve { lower, .. } => {
                        if (0..m).any(|i| a[(i, i)] == 0.0) {
                            return Err(not_invertible(op));
                        }
                        if lower != adjoint {
                            a.as_ref().solve_lower_triangular_in_place(x.as_mut());
                        } else {
                            a.as_ref().solve_upper_triangular_in_place(x.as_mut());
                        }
                    }
                    _ => unreachable!("a solve"),
                }
                push(&mut out, x.as_ref());
            }
            Ok(vec![tensor(out, &bs, &[m, rk], dt)?])
        }
        LinalgOp::Inverse => {
            let mut out = Vec::with_capacity(a.len());
            for k in 0..count {
                push(&mut out, lu(op, &each(k))?.inverse().as_ref());
            }
            Ok(vec![tensor(out, &bs, &[m, m], dt)?])
        }
        LinalgOp::Det => {
            let out = (0..count).map(|k| each(k).determinant()).collect();
            Ok(vec![tensor(out, &bs, &[], dt)?])
        }
        LinalgOp::SlogDet => {
            let (mut signs, mut logs) = (Vec::new(), Vec::new());
            for k in 0..count {
                let f = each(k).partial_piv_lu();
                let u = f.U();
                let (fwd, _) = f.P().arrays();
                let mut sign = parity(fwd);
                let mut log = 0.0;
                for i in 0..m {
                    sign *= u[(i, i)].signum() * f64::from(u[(i, i)] != 0.0);
                    log += u[(i, i)].abs().ln();
                }
                signs.push(sign);
                logs.push(log);
            }
            Ok(vec![
                tensor(signs, &bs, &[], dt)?,
                tensor(logs, &bs, &[], dt)?,
            ])
        }
        LinalgOp::Cholesky => {
            let mut out = Vec::with_capacity(a.len());
            for k in 0..count {
                let f = each(k).llt(Side::Lower).map_err(|_| {
                    Error::InvalidArgument(format!(
                        "{name}: Cholesky decomposition was not successful. The input might not be valid."
                    ))
                })?;
                let l = f.L();
                for i in 0..m {
                    for j in 0..m {
                        out.push(if j <= i { l[(i, j)] } else { 0.0 });
                    }
                }
            }
            Ok(vec![tensor(out, &bs, &[m, m], dt)?])
        }
        LinalgOp::Eigh => {
            let (mut es, mut vs) = (Vec::new(), Vec::new());
            for k in 0..count {
                let f = each(k)
                    .self_adjoint_eigen(Side::Lower)
                    .map_err(|e| Error::InvalidArgument(format!("{name}: {e:?}")))?;
                es.extend(f.S().column_vector().iter().copied());
                push(&mut vs, f.U());
            }
            Ok(vec![
                tensor(es, &bs, &[m], dt)?,
                tensor(vs, &bs, &[m, m], dt)?,
            ])
        }
        LinalgOp::Svd { full } => {
            let p = m.min(n);
            let (mut ss, mut us, mut vs) = (Vec::new(), Vec::new(), Vec::new());
            for k in 0..count {
                let a = each(k);
                let f = if full { a.svd() } else { a.thin_svd() }
                    .map_err(|e| Error::InvalidArgument(format!("{name}: {e:?}")))?;
                ss.extend(f.S().column_vector().iter().copied());
                push(&mut us, f.U());
                push(&mut vs, f.V());
            }
            let (uc, vc) = if full { (m, n) } else { (p, p) };
            Ok(vec![
                tensor(ss, &bs, &[p], dt)?,
                tensor(us, &bs, &[m, uc], dt)?,
                tensor(vs, &bs, &[n, vc], dt)?,
            ])
        }
        LinalgOp::Qr { full } => {
            let p = m.min(n);
            let (mut qs, mut rs) = (Vec::new(), Vec::new());
            for k in 0..count {
                let f = each(k).qr();
                if full {
                    push(&mut qs, f.compute_Q().as_ref());
                    // R is m x n: faer's has min(m, n) rows, the rest are zeros.
                    push(&mut rs, f.thin_R());
                    rs.extend(std::iter::repeat_n(0.0, (m - p) * n));
                } else {
                    push(&mut qs, f.compute_thin_Q().as_ref());
                    push(&mut rs, f.thin_R());
                }
            }
            let rows = if full { m } else { p };
            Ok(vec![
                tensor(qs, &bs, &[m, rows], dt)?,
                tensor(rs, &bs, &[rows, n], dt)?,
            ])
        }
    }
}

fn first(v: Result<Vec<Tensor>>) -> Result<Tensor> {
    v?.into_iter()
        .next()
        .ok_or_else(|| Error::Internal("linalg: no output".into()))
}

/// `x` with its last two axes swapped.
fn mt(x: &Tensor) -> Result<Tensor> {
    let r = x.rank();
    let mut perm: Vec<usize> = (0..r).collect();
    perm.swap(r - 2, r - 1);
    x.transpose(&perm)
}

/// An `[n, n]` mask of `x`'s dtype: 1 below the diagonal (above it unless `lower`), `diag` on
/// it, 0 elsewhere.
fn triangle(n: usize, lower: bool, diag: f64, like: &Tensor) -> Result<Tensor> {
    let v: Vec<f64> = (0..n * n)
        .map(|k| {
            let (i, j) = (k / n, k % n);
            if i == j {
                diag
            } else if (i > j) == lower {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    Tensor::from_vec(v, &[n, n])?.cast(like.dtype())
}

/// The gradients of `op` with inputs `x` and outputs `y`, for the output gradients `g`.
fn gradient(op: LinalgOp, x: &[Tensor], y: &[Tensor], g: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
    let a = &x[0];
    let n = *a.shape().last().unwrap_or(&0);
    let scalar = |v: f64| Tensor::scalar(v).cast(a.dtype());
    let last2 = |t: Tensor| t.expand_dims(-1)?.expand_dims(-1);
    match op {
        LinalgOp::Solve { adjoint } => {
            let gb = first(a.linalg(LinalgOp::Solve { adjoint: !adjoint }, &[&g[0]]))?;
            let ga = if adjoint {
                y[0].matmul(&gb, false, true)?
            } else {
                gb.matmul(&y[0], false, true)?
            };
            Ok(vec![Some(ga.unary(crate::ops::UnaryOp::Neg)?), Some(gb)])
        }
        LinalgOp::TriangularSolve { lower, adjoint } => {
            let gb = first(a.linalg(
                LinalgOp::TriangularSolve {
                    lower,
                    adjoint: !adjoint,
                },
                &[&g[0]],
            ))?;
            let ga = if adjoint {
                y[0].matmul(&gb, false, true)?
            } else {
                gb.matmul(&y[0], false, true)?
            };
            let ga = ga
                .unary(crate::ops::UnaryOp::Neg)?
                .mul(&triangle(n, lower, 1.0, a)?)?;
            Ok(vec![Some(ga), Some(gb)])
        }
        LinalgOp::Inverse => {
            let t = y[0]
                .matmul(&g[0], true, false)?
                .matmul(&y[0], false, true)?;
            Ok(vec![Some(t.unary(crate::ops::UnaryOp::Neg)?)])
        }
        LinalgOp::Det => {
            let inv_t = mt(&a.linalg(LinalgOp::Inverse, &[])?[0])?;
            Ok(vec![Some(last2(g[0].mul(&y[0])?)?.mul(&inv_t)?)])
        }
        LinalgOp::SlogDet => {
            let inv_t = mt(&a.linalg(LinalgOp::Inverse, &[])?[0])?;
            Ok(vec![Some(last2(g[1].clone())?.mul(&inv_t)?)])
        }
        LinalgOp::Cholesky => {
            // TensorFlow's _CholeskyGrad.
            let l = &y[0];
            let eye = Tensor::eye(n, n, &[], a.dtype())?;
            let batch = &l.shape()[..l.rank() - 2];
            let eye = eye.broadcast_to(&[batch, &[n, n]].concat())?;
            let l_inv = first(l.linalg(
                LinalgOp::TriangularSolve {
                    lower: true,
                    adjoint: false,
                },
                &[&eye],
            ))?;
            let middle = l
                .matmul(&g[0], true, false)?
                .mul(&triangle(n, true, 0.5, a)?)?;
            let ga = l_inv
                .matmul(&middle, true, false)?
                .matmul(&l_inv, false, false)?;
            Ok(vec![Some(ga.add(&mt(&ga)?)?.mul(&scalar(0.5)?)?)])
        }
        LinalgOp::Eigh => {
            // TensorFlow's _SelfAdjointEigV2Grad.
            let (e, v) = (&y[0], &y[1]);
            let diff = e.expand_dims(-2)?.sub(&e.expand_dims(-1)?)?;
            let eye = Tensor::eye(n, n, &[], a.dtype())?;
            let off = eye.binary(&scalar(0.0)?, crate::ops::BinaryOp::Equal)?;
            let safe = Tensor::select(&off, &diff, &scalar(1.0)?)?;
            let f = Tensor::select(&off, &scalar(1.0)?.div(&safe)?, &scalar(0.0)?)?;
            let inner = eye
                .mul(&g[0].expand_dims(-2)?)?
                .add(&f.mul(&v.matmul(&g[1], true, false)?)?)?;
            let ga = v.matmul(&inner.matmul(v, false, true)?, false, false)?;
            let ga = ga.add(&mt(&ga)?)?.mul(&triangle(n, true, 0.5, a)?)?;
            Ok(vec![Some(ga)])
        }
        LinalgOp::Qr { full } => {
            qr_grad(a, &y[0], &y[1], &g[0], &g[1], full).map(|t| vec![Some(t)])
        }
        LinalgOp::Svd { full } => {
            svd_grad(a, [&y[0], &y[1], &y[2]], [&g[0], &g[1], &g[2]], full).map(|t| vec![Some(t)])
        }
    }
}

/// `x @ inv(r)ᵀ` for upper-triangular `r` (TensorFlow's `_TriangularSolve`), as
/// `(inv(r) @ xᵀ)ᵀ`.
fn right_solve_upper(x: &Tensor, r: &Tensor) -> Result<Tensor> {
    let op = LinalgOp::TriangularSolve {
        lower: false,
        adjoint: false,
    };
    mt(&first(r.linalg(op, &[&mt(x)?]))?)
}

/// TensorFlow's `_QrGrad` (for `M >= N`, or square, with thin factors).
fn qr_grad(
    a: &Tensor,
    q: &Tensor,
    r: &Tensor,
    dq: &Tensor,
    dr: &Tensor,
    full: bool,
) -> Result<Tensor> {
    let s = a.shape();
    let (m, n) = (s[s.len() - 2], s[s.len() - 1]);
    if m < n || (full && m != n) {
        return Err(Error::Unimplemented(format!(
            "Qr: the gradient is implemented for matrices with at least as many rows as columns (and full_matrices=False unless square), as in TensorFlow; got shape {s:?}"
        )));
    }
    let qdq = q.matmul(dq, true, false)?;
    let qdq_ = qdq.sub(&mt(&qdq)?)?;
    let rdr = r.matmul(dr, false, true)?;
    let rdr_ = rdr.sub(&mt(&rdr)?)?;
    let tril = qdq_.add(&rdr_)?.mul(&triangle(n, true, 1.0, a)?)?;
    let grad_a = q.matmul(&dr.add(&right_solve_upper(&tril, r)?)?, false, false)?;
    let grad_b = right_solve_upper(&dq.sub(&q.matmul(&qdq, false, false)?)?, r)?;
    grad_a.add(&grad_b)
}

/// `v` as a diagonal matrix (`[..., k] -> [..., k, k]`).
fn diag(v: &Tensor) -> Result<Tensor> {
    let k = *v.shape().last().unwrap_or(&0);
    Tensor::eye(k, k, &[], v.dtype())?.mul(&v.expand_dims(-2)?)
}

/// The first `k` columns of `x`.
fn columns(x: &Tensor, k: usize) -> Result<Tensor> {
    use crate::ops::movement::SliceItem;
    let all = SliceItem::Range {
        start: None,
        stop: None,
        step: 1,
    };
    let head = SliceItem::Range {
        start: None,
        stop: Some(k as i64),
        step: 1,
    };
    x.slice(&[SliceItem::Ellipsis, all, head])
}

/// TensorFlow's `_SvdGrad`.
fn svd_grad(a: &Tensor, y: [&Tensor; 3], g: [&Tensor; 3], full: bool) -> Result<Tensor> {
    let sh = a.shape();
    let (mut m, mut n) = (sh[sh.len() - 2], sh[sh.len() - 1]);
    let [s, mut u, mut v] = y.map(Tensor::clone);
    let [gs, mut gu, mut gv] = g.map(Tensor::clone);
    let p = m.min(n);
    if full && m != n {
        return Err(Error::Unimplemented(format!(
            "Svd: the gradient is not implemented for full_matrices=True on non-square input (shape {sh:?}), as in TensorFlow"
        )));
    }
    let gs_mat = diag(&gs)?;
    let use_adjoint = m > n;
    if use_adjoint {
        std::mem::swap(&mut u, &mut v);
        std::mem::swap(&mut gu, &mut gv);
        std::mem::swap(&mut m, &mut n);
    }
    let s_mat = diag(&s)?;
    let s2 = s.mul(&s)?;
    let eye = Tensor::eye(p, p, &[], a.dtype())?;
    let off = eye.binary(
        &Tensor::scalar(0.0).cast(a.dtype())?,
        crate::ops::BinaryOp::Equal,
    )?;
    let one = Tensor::scalar(1.0).cast(a.dtype())?;
    let diff = s2.expand_dims(-2)?.sub(&s2.expand_dims(-1)?)?;
    let f = Tensor::select(
        &off,
        &one.div(&Tensor::select(&off, &diff, &one)?)?,
        &one.sub(&one)?,
    )?;
    let v1 = columns(&v, m)?;
    let gv1 = columns(&gv, m)?;
    let f_u = f.mul(&u.matmul(&gu, true, false)?)?;
    let f_v = f.mul(&v1.matmul(&gv1, true, false)?)?;
    let term1_nouv = gs_mat
        .add(&f_u.add(&mt(&f_u)?)?.matmul(&s_mat, false, false)?)?
        .add(&s_mat.matmul(&f_v.add(&mt(&f_v)?)?, false, false)?)?;
    let mut grad = u.matmul(&term1_nouv.matmul(&v1, false, true)?, false, false)?;
    if m != n {
        let gv1t = mt(&gv1)?;
        let term2_nous = gv1t.sub(&gv1t.matmul(&v1, false, false)?.matmul(&v1, false, true)?)?;
        let s_inv = diag(&one.div(&s)?)?;
        grad = grad.add(
            &u.matmul(&s_inv, false, false)?
                .matmul(&term2_nous, false, false)?,
        )?;
    }
    if use_adjoint {
        grad = mt(&grad)?;
    }
    Ok(grad)
}

impl Tensor {
    /// Applies the linear-algebra op `op` to this matrix (or batch of them) and `rest` (the
    /// right-hand side of a solve).
    ///
    /// ```
    /// use rstf::ops::linalg::LinalgOp;
    /// let a = rstf::Tensor::from_vec(vec![2.0f64, 0.0, 0.0, 4.0], &[2, 2]).unwrap();
    /// let b = rstf::Tensor::from_vec(vec![2.0f64, 8.0], &[2, 1]).unwrap();
    /// let x = a.linalg(LinalgOp::Solve { adjoint: false }, &[&b]).unwrap();
    /// assert_eq!(x[0].to_vec::<f64>().unwrap(), vec![1.0, 2.0]);
    /// ```
    pub fn linalg(&self, op: LinalgOp, rest: &[&Tensor]) -> Result<Vec<Tensor>> {
        let inputs: Vec<&Tensor> = std::iter::once(self).chain(rest.iter().copied()).collect();
        if inputs.len() != op.arity() {
            bail!(
                "{}: expected {} inputs, got {}",
                op.name(),
                op.arity(),
                inputs.len()
            );
        }
        let xs: Vec<Tensor> = inputs.iter().map(|t| (*t).clone()).collect();
        op_n(
            || Op::Linalg(op),
            &inputs,
            || forward(op, &inputs),
            |ys| {
                let ys = ys.to_vec();
                rule(move |g, _| gradient(op, &xs, &ys, g))
            },
        )
    }
}
