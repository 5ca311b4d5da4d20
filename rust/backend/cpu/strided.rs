//! Strided iteration shared by every CPU kernel: a [`Plan`] coalesces the dimensions of up to
//! `K` input views over one dense output, and [`run`] walks the output row by row (the
//! innermost dimension is a "row"), in parallel above a size threshold.

use std::mem::MaybeUninit;
use std::ops::Range;

/// Outputs with at least this many elements are split across rayon's threads.
pub const PAR_MIN: usize = 1 << 17;

/// Iteration plan over a dense output of some shape and `K` strided inputs.
#[derive(Clone, Debug)]
pub struct Plan<const K: usize> {
    shape: Vec<usize>,
    strides: [Vec<isize>; K],
    offsets: [isize; K],
}

impl<const K: usize> Plan<K> {
    /// Builds the plan; `strides[k]` has one entry per output dimension (0 where broadcast).
    pub fn new(out_shape: &[usize], strides: [&[isize]; K], offsets: [usize; K]) -> Self {
        let mut shape: Vec<usize> = Vec::with_capacity(out_shape.len());
        let mut st: [Vec<isize>; K] = std::array::from_fn(|_| Vec::with_capacity(out_shape.len()));
        for (i, &d) in out_shape.iter().enumerate() {
            if d == 1 {
                continue;
            }
            // Merge with the previous dimension when every input is dense across the two.
            let merge = !shape.is_empty()
                && (0..K).all(|k| st[k][st[k].len() - 1] == strides[k][i] * d as isize);
            if merge {
                *shape.last_mut().unwrap() *= d;
                for k in 0..K {
                    *st[k].last_mut().unwrap() = strides[k][i];
                }
            } else {
                shape.push(d);
                for k in 0..K {
                    st[k].push(strides[k][i]);
                }
            }
        }
        if shape.is_empty() {
            shape.push(1);
            for s in st.iter_mut() {
                s.push(0);
            }
        }
        Plan {
            shape,
            strides: st,
            offsets: offsets.map(|o| o as isize),
        }
    }

    /// Length of a row (the innermost coalesced dimension).
    pub fn inner(&self) -> usize {
        *self.shape.last().unwrap()
    }

    /// Strides of each input along a row.
    pub fn inner_strides(&self) -> [isize; K] {
        std::array::from_fn(|k| *self.strides[k].last().unwrap())
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.shape[..self.shape.len() - 1].iter().product()
    }

    /// Calls `f(row, offsets)` for each row in `rows`, with the inputs' offsets at its start.
    pub fn for_rows(&self, rows: Range<usize>, mut f: impl FnMut(usize, [isize; K])) {
        let outer = self.shape.len() - 1;
        let mut idx = vec![0usize; outer];
        let mut rem = rows.start;
        for d in (0..outer).rev() {
            idx[d] = rem % self.shape[d];
            rem /= self.shape[d];
        }
        let mut offs = self.offsets;
        for (d, &i) in idx.iter().enumerate() {
            for (k, o) in offs.iter_mut().enumerate() {
                *o += i as isize * self.strides[k][d];
            }
        }
        for row in rows {
            f(row, offs);
            for d in (0..outer).rev() {
                idx[d] += 1;
                for (k, o) in offs.iter_mut().enumerate() {
                    *o += self.strides[k][d];
                }
                if idx[d] < self.shape[d] {
                    break;
                }
                for (k, o) in offs.iter_mut().enumerate() {
                    *o -= self.strides[k][d] * self.shape[d] as isize;
                }
                idx[d] = 0;
            }
        }
    }
}

/// Fills `out` (dense, as many elements as the plan) by calling
/// `kernel(out_run, offsets, inner_strides)` over runs of rows, in parallel when large.
pub fn run<const K: usize, O: Send>(
    out: &mut [MaybeUninit<O>],
    plan: &Plan<K>,
    kernel: impl Fn(&mut [MaybeUninit<O>], [isize; K], [isize; K]) + Sync,
) {
    let inner = plan.inner();
    let rows = plan.rows();
    let st = plan.inner_strides();
    if out.is_empty() {
        return;
    }
    if out.len() < PAR_MIN || rayon::current_num_threads() == 1 {
        plan.for_rows(0..rows, |row, offs| {
            kernel(&mut out[row * inner..(row + 1) * inner], offs, st)
        });
    } else if rows == 1 {
        let chunk = super::chunk_len(out.len(), 4096);
        let base = plan.offsets;
        super::for_chunks_mut(out, chunk, |i, o| {
            let start = (i * chunk) as isize;
            kernel(o, std::array::from_fn(|k| base[k] + start * st[k]), st)
        });
    } else {
        let rows_per = super::chunk_len(rows, 1);
        super::for_chunks_mut(out, rows_per * inner, |i, o| {
            let r0 = i * rows_per;
            let r1 = (r0 + rows_per).min(rows);
            plan.for_rows(r0..r1, |row, offs| {
                let s = (row - r0) * inner;
                kernel(&mut o[s..s + inner], offs, st)
            });
        });
    }
}

/// Allocates a vector of `n` elements and fills it with `fill(spare)`, which must write every
/// element of the spare capacity it is given. An allocation that cannot be made is a
/// `ResourceExhausted` error, never an abort.
pub fn build<O>(n: usize, fill: impl FnOnce(&mut [MaybeUninit<O>])) -> crate::Result<Vec<O>> {
    let mut v: Vec<O> = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        crate::Error::ResourceExhausted(format!(
            "OOM when allocating a tensor of {n} elements of {} bytes",
            std::mem::size_of::<O>()
        ))
    })?;
    crate::storage::advise_huge_pages(&v);
    fill(&mut v.spare_capacity_mut()[..n]);
    // SAFETY: `fill` wrote all `n` elements.
    unsafe { v.set_len(n) };
    Ok(v)
}

/// Applies `f` elementwise over one strided input.
pub fn map1<A: Copy + Sync, O: Send>(
    a: &[A],
    shape: &[usize],
    strides: &[isize],
    offset: usize,
    f: impl Fn(A) -> O + Sync,
) -> crate::Result<Vec<O>> {
    let n: usize = shape.iter().product();
    let plan = Plan::new(shape, [strides], [offset]);
    build(n, |out| {
        run(out, &plan, |o, [oa], [sa]| {
            let oa = oa as usize;
            if sa == 1 {
                let n = o.len();
                for (d, &x) in o.iter_mut().zip(&a[oa..oa + n]) {
                    d.write(f(x));
                }
            } else {
                for (i, d) in o.iter_mut().enumerate() {
                    d.write(f(a[(oa as isize + i as isize * sa) as usize]));
                }
            }
        })
    })
}

/// Applies `f` elementwise over two strided inputs broadcast to `shape`.
#[allow(clippy::too_many_arguments)]
pub fn map2<A: Copy + Sync, B: Copy + Sync, O: Send>(
    a: &[A],
    sa: &[isize],
    oa: usize,
    b: &[B],
    sb: &[isize],
    ob: usize,
    shape: &[usize],
    f: impl Fn(A, B) -> O + Sync,
) -> crate::Result<Vec<O>> {
    let n: usize = shape.iter().product();
    let plan = Plan::new(shape, [sa, sb], [oa, ob]);
    build(n, |out| {
        run(out, &plan, |o, [pa, pb], [ia, ib]| {
            let (pa, pb, n) = (pa as usize, pb as usize, o.len());
            match (ia, ib) {
                (1, 1) => {
                    let (a, b) = (&a[pa..pa + n], &b[pb..pb + n]);
                    for i in 0..n {
                        o[i].write(f(a[i], b[i]));
                    }
                }
                (1, 0) => {
                    let (a, y) = (&a[pa..pa + n], b[pb]);
                    for i in 0..n {
                        o[i].write(f(a[i], y));
                    }
                }
                (0, 1) => {
                    let (x, b) = (a[pa], &b[pb..pb + n]);
                    for i in 0..n {
                        o[i].write(f(x, b[i]));
                    }
                }
                _ => {
                    for (i, d) in o.iter_mut().enumerate() {
                        let x = a[(pa as isize + i as isize * ia) as usize];
                        let y = b[(pb as isize + i as isize * ib) as usize];
                        d.write(f(x, y));
                    }
                }
            }
        })
    })
}

/// Applies `f` elementwise over three strided inputs broadcast to `shape`.
pub fn map3<A: Copy + Sync, B: Copy + Sync, C: Copy + Sync, O: Send>(
    inputs: (&[A], &[B], &[C]),
    strides: [&[isize]; 3],
    offsets: [usize; 3],
    shape: &[usize],
    f: impl Fn(A, B, C) -> O + Sync,
) -> crate::Result<Vec<O>> {
    let (a, b, c) = inputs;
    let n: usize = shape.iter().product();
    let plan = Plan::new(shape, strides, offsets);
    build(n, |out| {
        run(out, &plan, |o, [pa, pb, pc], [ia, ib, ic]| {
            let n = o.len();
            let (ua, ub, uc) = (pa as usize, pb as usize, pc as usize);
            match (ia, ib, ic) {
                (1, 1, 1) => {
                    let (a, b, c) = (&a[ua..ua + n], &b[ub..ub + n], &c[uc..uc + n]);
                    for i in 0..n {
                        o[i].write(f(a[i], b[i], c[i]));
                    }
                }
                (1, 1, 0) => {
                    let (a, b, z) = (&a[ua..ua + n], &b[ub..ub + n], c[uc]);
                    for i in 0..n {
                        o[i].write(f(a[i], b[i], z));
                    }
                }
                (1, 0, 1) => {
                    let (a, y, c) = (&a[ua..ua + n], b[ub], &c[uc..uc + n]);
                    for i in 0..n {
                        o[i].write(f(a[i], y, c[i]));
                    }
                }
                _ => {
                    for (i, d) in o.iter_mut().enumerate() {
                        let i = i as isize;
                        d.write(f(
                            a[(pa + i * ia) as usize],
                            b[(pb + i * ib) as usize],
                            c[(pc + i * ic) as usize],
                        ));
                    }
                }
            }
        })
    })
}

/// Copies the strided view `(src, src_strides, src_offset)` into the strided view
/// `(dst, dst_strides, dst_offset)` of the same `shape`.
pub fn copy_into<T: Copy>(
    dst: &mut [T],
    dst_strides: &[isize],
    dst_offset: usize,
    src: &[T],
    src_strides: &[isize],
    src_offset: usize,
    shape: &[usize],
) {
    if shape.contains(&0) {
        return;
    }
    let plan = Plan::new(shape, [dst_strides, src_strides], [dst_offset, src_offset]);
    let inner = plan.inner();
    let [id, is] = plan.inner_strides();
    plan.for_rows(0..plan.rows(), |_, [od, os]| {
        if id == 1 && is == 1 {
            let (od, os) = (od as usize, os as usize);
            dst[od..od + inner].copy_from_slice(&src[os..os + inner]);
        } else {
            for i in 0..inner as isize {
                dst[(od + i * id) as usize] = src[(os + i * is) as usize];
            }
        }
    });
}
