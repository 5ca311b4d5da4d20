//! A packed float32 matrix multiply for x86-64 CPUs with AVX2 and FMA, in the loop structure
//! of BLIS: B is packed in `KC x NC` panels of 16-column strips, A in `MC x KC` blocks of 6-row
//! strips, and a 6x16 register-blocked kernel (12 accumulators) runs over strip pairs, so every
//! load feeds several FMAs from the L1 cache. The work is split over rayon threads as tiles of
//! C (row blocks, and column ranges when there are few row blocks). Any strides for A and B, so
//! transposed operands need no copy beyond the packing every product does.

use std::cell::RefCell;

const MR: usize = 6;
const NR: usize = 16;
const KC: usize = 384;
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
                    super::for_chunks_mut(&mut bpack, kc * NR, |q, dst| pack((q, dst)));
                } else {
                    bpack.chunks_mut(kc * NR).enumerate().for_each(pack);
                }
                let bpack = &bpack[..];
                // Tiles of C: row blocks of at most MC rows, the same number for every
                // thread and of equal sizes to within one MR strip (an uneven last block left
                // one thread idle at the end of every KC step), and column ranges of whole
                // strips when there are fewer row blocks than threads.
                let m_strips = m.div_ceil(MR);
                let row_blocks = if threads > 1 {
                    threads * m.div_ceil(threads * MC)
                } else {
                    m.div_ceil(MC)
                }
                .min(m_strips);
                let col_parts = if row_blocks >= threads {
                    1
                } else {
                    (2 * threads).div_ceil(row_blocks).clamp(1, strips)
                };
                let per = strips.div_ceil(col_parts);
                let tile = |t: usize| {
                    let (ib, cpart) = (t / col_parts, t % col_parts);
                    let ic = ib * m_strips / row_blocks * MR;
                    let rows = ((ib + 1) * m_strips / row_blocks * MR).min(m) - ic;
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
                    // The caller works from the start and pool threads join as they come,
                    // so phases follow each other without waiting for threads to wake.
                    super::par_blocks(tiles, tile);
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
    if brs == 1 && cols == NR {
        // SAFETY: as below; B's columns are contiguous here.
        unsafe { pack_b_columns(kc, b.offset(j0 as isize * bcs), bcs, dst) };
        return;
    }
    for p in 0..kc {
        let row = &mut dst[p * NR..(p + 1) * NR];
        // SAFETY: (p, j0 + j) for j < cols is inside the panel (caller's contract).
        unsafe {
            let src = b.offset(p as isize * brs + j0 as isize * bcs);
            if bcs == 1 && cols == NR {
                // A constant length: two vector moves rather than a call to memcpy.
                std::ptr::copy_nonoverlapping(src, row.as_mut_ptr(), NR);
            } else if bcs == 1 {
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
        // SAFETY (fast paths): the strip's MR rows and kc columns are inside A.
        if live == MR && acs == 1 {
            unsafe { pack_a_rows(kc, a.offset(r0 as isize * ars), ars, strip) };
            continue;
        }
        if live == MR && ars == 1 {
            for (p, col) in strip.chunks_exact_mut(MR).enumerate() {
                let src = unsafe { a.offset(r0 as isize + p as isize * acs) };
                // SAFETY: the column's MR values are contiguous.
                unsafe { std::ptr::copy_nonoverlapping(src, col.as_mut_ptr(), MR) };
            }
            continue;
        }
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

/// Packs a full strip of `MR` rows of an A whose rows are contiguous (`acs == 1`), eight
/// columns at a time through an 8x8 transpose in registers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_a_rows(kc: usize, a: *const f32, ars: isize, strip: &mut [f32]) {
    use std::arch::x86_64::*;
    let d = strip.as_mut_ptr();
    let full = kc / 8 * 8;
    // SAFETY: rows 0..MR and columns 0..kc are inside A (caller's contract); the strip holds
    // kc * MR values and every store below stays inside it.
    unsafe {
        let z = _mm256_setzero_ps();
        for p in (0..full).step_by(8) {
            let row = |r: isize| _mm256_loadu_ps(a.offset(r * ars).add(p));
            let cols = transpose8([row(0), row(1), row(2), row(3), row(4), row(5), z, z]);
            // Column j takes MR = 6 values: each 8-wide store spills two lanes into the next
            // column's slots, which the next store rewrites; the strip's last column goes
            // through a 6-value copy so nothing lands past the strip.
            for (j, v) in cols.iter().enumerate() {
                if p + j + 1 < kc {
                    _mm256_storeu_ps(d.add((p + j) * MR), *v);
                } else {
                    let mut t = [0f32; 8];
                    _mm256_storeu_ps(t.as_mut_ptr(), *v);
                    std::ptr::copy_nonoverlapping(t.as_ptr(), d.add((p + j) * MR), MR);
                }
            }
        }
        for p in full..kc {
            for r in 0..MR {
                *d.add(p * MR + r) = *a.offset(r as isize * ars + p as isize);
            }
        }
    }
}

/// Packs a full strip of `NR` columns of a B whose columns are contiguous (`brs == 1`, a
/// transposed operand): eight rows at a time, two 8x8 transposes per eight rows.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_b_columns(kc: usize, b: *const f32, bcs: isize, dst: &mut [f32]) {
    use std::arch::x86_64::*;
    let d = dst.as_mut_ptr();
    let full = kc / 8 * 8;
    // SAFETY: rows 0..kc and columns 0..NR are inside B (caller's contract); the strip holds
    // kc * NR values.
    unsafe {
        for p in (0..full).step_by(8) {
            for half in 0..2 {
                let col = |j: isize| _mm256_loadu_ps(b.offset((half * 8 + j) * bcs).add(p));
                let rows = transpose8([
                    col(0),
                    col(1),
                    col(2),
                    col(3),
                    col(4),
                    col(5),
                    col(6),
                    col(7),
                ]);
                for (i, v) in rows.iter().enumerate() {
                    _mm256_storeu_ps(d.add((p + i) * NR + half as usize * 8), *v);
                }
            }
        }
        for p in full..kc {
            for j in 0..NR {
                *d.add(p * NR + j) = *b.offset(j as isize * bcs + p as isize);
            }
        }
    }
}

/// The transpose of an 8x8 block given as eight row vectors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn transpose8(r: [std::arch::x86_64::__m256; 8]) -> [std::arch::x86_64::__m256; 8] {
    use std::arch::x86_64::*;
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(s0, s4),
        _mm256_permute2f128_ps::<0x20>(s1, s5),
        _mm256_permute2f128_ps::<0x20>(s2, s6),
        _mm256_permute2f128_ps::<0x20>(s3, s7),
        _mm256_permute2f128_ps::<0x31>(s0, s4),
        _mm256_permute2f128_ps::<0x31>(s1, s5),
        _mm256_permute2f128_ps::<0x31>(s2, s6),
        _mm256_permute2f128_ps::<0x31>(s3, s7),
    ]
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
    // One step of the product: a rank-1 update of the tile by column p of A and row p of B.
    // (A macro, not a closure, so that the code is compiled with this function's features.)
    macro_rules! step {
        ($p:expr) => {{
            let p = $p;
            // SAFETY: the strips hold kc * MR and kc * NR values and p < kc.
            unsafe {
                let b0 = _mm256_loadu_ps(bp.add(p * NR));
                let b1 = _mm256_loadu_ps(bp.add(p * NR + 8));
                for (r, row) in acc.iter_mut().enumerate() {
                    let av = _mm256_broadcast_ss(&*ap.add(p * MR + r));
                    row[0] = _mm256_fmadd_ps(av, b0, row[0]);
                    row[1] = _mm256_fmadd_ps(av, b1, row[1]);
                }
            }
        }};
    }
    // Four steps per iteration: the loop's own instructions cost less beside the FMAs
    // (about 3% on one core).
    let quads = kc / 4 * 4;
    for p in (0..quads).step_by(4) {
        step!(p);
        step!(p + 1);
        step!(p + 2);
        step!(p + 3);
    }
    for p in quads..kc {
        step!(p);
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
unsafe fn pack_a_rows(_: usize, _: *const f32, _: isize, _: &mut [f32]) {
    unreachable!("sgemm runs only where `available()` holds")
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn pack_b_columns(_: usize, _: *const f32, _: isize, _: &mut [f32]) {
    unreachable!("sgemm runs only where `available()` holds")
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
