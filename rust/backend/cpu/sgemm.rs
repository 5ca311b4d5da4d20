//! A packed float32 matrix multiply for x86-64 CPUs with AVX2 and FMA, in the loop structure
//! of BLIS: B is packed in `KC x NC` panels of 16-column strips, A in `MC x KC` blocks of 6-row
//! strips, and a 6x16 register-blocked kernel (12 accumulators) runs over strip pairs, so every
//! load feeds several FMAs from the L1 cache. The work is split over rayon threads as tiles of
//! C (row blocks, and column ranges when there are few row blocks). Any strides for A and B, so
//! transposed operands need no copy beyond the packing every product does.

use rayon::prelude::*;
use std::cell::RefCell;

const MR: usize = 6;
const NR: usize = 16;
const KC: usize = 256;
const MC: usize = 72;
const NC: usize = 4080;

/// True when this CPU can run [`sgemm`].
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[derive(Clone, Copy)]
struct Ptr<T>(T);
// SAFETY: the pointers are only used for disjoint writes (C tiles) or reads, coordinated below.
unsafe impl<T> Send for Ptr<T> {}
unsafe impl<T> Sync for Ptr<T> {}

impl<T: Copy> Ptr<T> {
    /// The pointer (a method, so closures capture the wrapper rather than its field).
    fn get(self) -> T {
        self.0
    }
}

thread_local! {
    static APACK: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static BPACK: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `c = a · b` for an `m x k` matrix `a` (element `(i, p)` at `a + i*ars + p*acs`) and a
/// `k x n` matrix `b` (element `(p, j)` at `b + p*brs + j*bcs`); `c` is `m x n`, row-major and
/// dense. `par` spreads the work over rayon's threads.
///
/// # Safety
/// Every element address formed from `a`, `b` and their strides for the given sizes must be in
/// bounds, `c` must hold `m * n` values, and [`available`] must be true.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    c: &mut [f32],
    a: *const f32,
    ars: isize,
    acs: isize,
    b: *const f32,
    brs: isize,
    bcs: isize,
    par: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c.fill(0.0);
        return;
    }
    let threads = if par { rayon::current_num_threads() } else { 1 };
    let cp = Ptr(c.as_mut_ptr());
    let (a, b) = (Ptr(a), Ptr(b));
    BPACK.with(|bp| {
        let mut bpack = bp.borrow_mut();
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            let strips = nc.div_ceil(NR);
            for pc in (0..k).step_by(KC) {
                let kc = KC.min(k - pc);
                bpack.resize(strips * kc * NR, 0.0);
                // SAFETY: offsets stay inside B per the caller's contract.
                let bsrc = Ptr(unsafe { b.get().offset(pc as isize * brs + jc as isize * bcs) });
                let pack = |(q, dst): (usize, &mut [f32])| {
                    // SAFETY: as above; strip `q` covers columns `q*NR..` of this panel.
                    unsafe { pack_b(kc, (nc - q * NR).min(NR), bsrc, q * NR, brs, bcs, dst) }
                };
                if threads > 1 && kc * nc >= 1 << 15 {
                    bpack.par_chunks_mut(kc * NR).enumerate().for_each(pack);
                } else {
                    bpack.chunks_mut(kc * NR).enumerate().for_each(pack);
                }
                let bpack = &bpack[..];
                // Tiles of C: row blocks of at most MC rows, as many per thread, and column
                // ranges of whole strips when there are fewer row blocks than threads.
                let mc = if threads > 1 {
                    let per_thread = m.div_ceil(threads * MC);
                    m.div_ceil(threads * per_thread)
                        .next_multiple_of(MR)
                        .min(MC)
                } else {
                    MC
                };
                let row_blocks = m.div_ceil(mc);
                let col_parts = if row_blocks >= threads {
                    1
                } else {
                    (2 * threads).div_ceil(row_blocks).clamp(1, strips)
                };
                let per = strips.div_ceil(col_parts);
                let tile = |t: usize| {
                    let (ib, cpart) = (t / col_parts, t % col_parts);
                    let ic = ib * mc;
                    let rows = mc.min(m - ic);
                    let (s0, s1) = (cpart * per, ((cpart + 1) * per).min(strips));
                    if s0 >= s1 {
                        return;
                    }
                    APACK.with(|ap| {
                        let mut apack = ap.borrow_mut();
                        apack.resize(rows.div_ceil(MR) * MR * kc, 0.0);
                        // SAFETY: rows `ic..ic+rows`, columns `pc..pc+kc` are inside A.
                        unsafe {
                            let asrc = a.get().offset(ic as isize * ars + pc as isize * acs);
                            pack_a(rows, kc, asrc, ars, acs, &mut apack);
                        }
                        for q in s0..s1 {
                            let jr = q * NR;
                            let cols = NR.min(nc - jr);
                            let bstrip = &bpack[q * kc * NR..(q + 1) * kc * NR];
                            for ir in (0..rows).step_by(MR) {
                                let astrip = &apack[ir * kc..(ir + MR) * kc];
                                // SAFETY: the tile is inside C and no other task writes it;
                                // the CPU has AVX2 and FMA (caller's contract).
                                unsafe {
                                    let ct = cp.get().add((ic + ir) * n + jc + jr);
                                    kernel(
                                        kc,
                                        astrip,
                                        bstrip,
                                        ct,
                                        n,
                                        MR.min(rows - ir),
                                        cols,
                                        pc == 0,
                                    );
                                }
                            }
                        }
                    });
                };
                let tiles = row_blocks * col_parts;
                if threads > 1 && tiles > 1 {
                    (0..tiles).into_par_iter().for_each(tile);
                } else {
                    (0..tiles).for_each(tile);
                }
            }
        }
    });
}

/// Packs columns `j0..j0+cols` (rows `0..kc`) of a B panel into one strip: `NR` values per
/// row, zero-padded.
unsafe fn pack_b(
    kc: usize,
    cols: usize,
    b: Ptr<*const f32>,
    j0: usize,
    brs: isize,
    bcs: isize,
    dst: &mut [f32],
) {
    let b = b.get();
    for p in 0..kc {
        let row = &mut dst[p * NR..(p + 1) * NR];
        // SAFETY: (p, j0 + j) for j < cols is inside the panel (caller's contract).
        unsafe {
            let src = b.offset(p as isize * brs + j0 as isize * bcs);
            if bcs == 1 {
                std::ptr::copy_nonoverlapping(src, row.as_mut_ptr(), cols);
            } else {
                for (j, r) in row.iter_mut().enumerate().take(cols) {
                    *r = *src.offset(j as isize * bcs);
                }
            }
        }
        row[cols..].fill(0.0);
    }
}

/// Packs `rows x kc` of A into strips of `MR` rows: for each strip, `MR` values per column
/// `p`, zero-padded.
unsafe fn pack_a(rows: usize, kc: usize, a: *const f32, ars: isize, acs: isize, dst: &mut [f32]) {
    for (s, strip) in dst.chunks_mut(MR * kc).enumerate() {
        let r0 = s * MR;
        let live = MR.min(rows - r0);
        for p in 0..kc {
            let col = &mut strip[p * MR..(p + 1) * MR];
            for (r, v) in col.iter_mut().enumerate() {
                *v = if r < live {
                    // SAFETY: row r0 + r < rows and column p < kc are inside A.
                    unsafe { *a.offset((r0 + r) as isize * ars + p as isize * acs) }
                } else {
                    0.0
                };
            }
        }
    }
}

/// The 6x16 kernel: `c[0..mr, 0..nr] (=|+=) a_strip · b_strip` over `kc` steps.
#[allow(clippy::too_many_arguments)]
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel(
    kc: usize,
    a: &[f32],
    b: &[f32],
    c: *mut f32,
    ldc: usize,
    mr: usize,
    nr: usize,
    first: bool,
) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm256_setzero_ps(); 2]; MR];
    let (ap, bp) = (a.as_ptr(), b.as_ptr());
    // The C tile is touched only at the end: fetch its lines while the products run.
    for r in 0..mr {
        // SAFETY: prefetches never fault; the rows are inside C anyway.
        unsafe {
            let cr = c.add(r * ldc) as *const i8;
            _mm_prefetch::<_MM_HINT_T0>(cr);
            _mm_prefetch::<_MM_HINT_T0>(cr.add(60));
        }
    }
    for p in 0..kc {
        // SAFETY: the strips hold kc * MR and kc * NR values.
        unsafe {
            let b0 = _mm256_loadu_ps(bp.add(p * NR));
            let b1 = _mm256_loadu_ps(bp.add(p * NR + 8));
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm256_broadcast_ss(&*ap.add(p * MR + r));
                row[0] = _mm256_fmadd_ps(av, b0, row[0]);
                row[1] = _mm256_fmadd_ps(av, b1, row[1]);
            }
        }
    }
    // SAFETY: rows < mr and columns < nr of the tile are inside C (caller's contract).
    unsafe {
        if mr == MR && nr == NR {
            for (r, row) in acc.iter().enumerate() {
                let cr = c.add(r * ldc);
                if first {
                    _mm256_storeu_ps(cr, row[0]);
                    _mm256_storeu_ps(cr.add(8), row[1]);
                } else {
                    _mm256_storeu_ps(cr, _mm256_add_ps(_mm256_loadu_ps(cr), row[0]));
                    _mm256_storeu_ps(cr.add(8), _mm256_add_ps(_mm256_loadu_ps(cr.add(8)), row[1]));
                }
            }
        } else {
            let mut tmp = [0f32; MR * NR];
            for (r, row) in acc.iter().enumerate() {
                _mm256_storeu_ps(tmp.as_mut_ptr().add(r * NR), row[0]);
                _mm256_storeu_ps(tmp.as_mut_ptr().add(r * NR + 8), row[1]);
            }
            for r in 0..mr {
                for j in 0..nr {
                    let d = c.add(r * ldc + j);
                    *d = if first {
                        tmp[r * NR + j]
                    } else {
                        *d + tmp[r * NR + j]
                    };
                }
            }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel(
    _: usize,
    _: &[f32],
    _: &[f32],
    _: *mut f32,
    _: usize,
    _: usize,
    _: usize,
    _: bool,
) {
    unreachable!("sgemm runs only where `available()` holds")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a float64 reference, over edge sizes (partial strips and tiles, several KC
    /// blocks) and all four transpose combinations, on one thread and on several.
    #[test]
    fn matches_reference() {
        if !available() {
            return;
        }
        for &(m, k, n) in &[
            (1, 1, 1),
            (7, 300, 33),
            (13, 513, 17),
            (6, 16, 16),
            (75, 40, 4100),
        ] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 7919) % 13) as f32 - 6.0).collect();
            let b: Vec<f32> = (0..k * n)
                .map(|i| ((i * 104_729) % 11) as f32 - 5.0)
                .collect();
            let want: Vec<f64> = (0..m * n)
                .map(|ij| {
                    let (i, j) = (ij / n, ij % n);
                    (0..k)
                        .map(|p| a[i * k + p] as f64 * b[p * n + j] as f64)
                        .sum()
                })
                .collect();
            // The same matrices stored transposed: element (i, p) of A at p * m + i.
            let at: Vec<f32> = (0..k * m).map(|q| a[(q % m) * k + q / m]).collect();
            let bt: Vec<f32> = (0..n * k).map(|q| b[(q % k) * n + q / k]).collect();
            for par in [false, true] {
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    let (ap, ars, acs) = if ta {
                        (&at, 1, m as isize)
                    } else {
                        (&a, k as isize, 1)
                    };
                    let (bp, brs, bcs) = if tb {
                        (&bt, 1, k as isize)
                    } else {
                        (&b, n as isize, 1)
                    };
                    let mut c = vec![f32::NAN; m * n];
                    // SAFETY: the strides describe the vectors above; AVX2 is available.
                    unsafe {
                        sgemm(
                            m,
                            n,
                            k,
                            &mut c,
                            ap.as_ptr(),
                            ars,
                            acs,
                            bp.as_ptr(),
                            brs,
                            bcs,
                            par,
                        )
                    };
                    for (x, w) in c.iter().zip(&want) {
                        assert_eq!(*x as f64, *w, "{m}x{k}x{n} ta={ta} tb={tb} par={par}");
                    }
                }
            }
        }
    }
}
