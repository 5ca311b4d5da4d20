// Tiled matrix product: each workgroup of 16x16 threads computes a 64x64 tile of
// C[b] = A[b] @ B[b], each thread a 4x4 block, stepping through k in slices of 16 held in
// workgroup memory. A and B are read through strides, so transposed operands cost nothing.
// Reads of a and b happen only inside the operands, and workgroup-memory indices stay inside
// their arrays (ta: at most 15 * 17 + 15, tb: 15 * 16 + 15), so this kernel is compiled
// without runtime bounds checks.
// The 16 sums are named vec4 variables, so that no driver needs to unroll a loop to keep them
// in registers.
// info: [m, n, k, a_rs, a_cs, b_rs, b_cs, tiles_n, batch, a_off[batch], b_off[batch]]
@group(0) @binding(0) var<storage, read> info: array<i32>;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
// ta[kk * 17 + r / 4][r % 4] = A[row0 + r, k0 + kk] (k rows padded by one vec4),
// tb[kk * 16 + c / 4][c % 4] = B[k0 + kk, col0 + c].
var<workgroup> ta: array<vec4<f32>, 272>;
var<workgroup> tb: array<vec4<f32>, 256>;

// Stores C[r, c0 .. c0 + 4] = v where inside the m x n result at `base`.
fn store4(base: i32, m: i32, n: i32, r: i32, c0: i32, v: vec4<f32>) {
    if (r < m) {
        let i = base + r * n + c0;
        if (c0 < n) { c[i] = v.x; }
        if (c0 + 1 < n) { c[i + 1] = v.y; }
        if (c0 + 2 < n) { c[i + 2] = v.z; }
        if (c0 + 3 < n) { c[i + 3] = v.w; }
    }
}

@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let m = info[0];
    let n = info[1];
    let k = info[2];
    let tiles_n = info[7];
    let batch = info[8];
    let bi = i32(wid.y);
    let row0 = (i32(wid.x) / tiles_n) * 64;
    let col0 = (i32(wid.x) % tiles_n) * 64;
    let a_off = info[9 + bi];
    let b_off = info[9 + batch + bi];
    let tx = i32(lid.x);
    let ty = i32(lid.y);
    let t = ty * 16 + tx;
    // Row ty * 4 + i of the thread's block is c_i (named, so that they stay in registers).
    var c0 = vec4<f32>(0.0);
    var c1 = vec4<f32>(0.0);
    var c2 = vec4<f32>(0.0);
    var c3 = vec4<f32>(0.0);
    for (var k0 = 0; k0 < k; k0 += 16) {
        // 64x16 of A and 16x64 of B, four elements per thread each.
        for (var e = 0; e < 4; e++) {
            let idx = t + e * 256;
            let r = idx / 16;
            let kk = idx % 16;
            let gr = row0 + r;
            let gk = k0 + kk;
            var va = 0.0;
            if (gr < m && gk < k) {
                va = a[a_off + gr * info[3] + gk * info[4]];
            }
            ta[kk * 17 + r / 4][r % 4] = va;
            let kb = idx / 64;
            let cc = idx % 64;
            let gc = col0 + cc;
            let gkb = k0 + kb;
            var vb = 0.0;
            if (gkb < k && gc < n) {
                vb = b[b_off + gkb * info[5] + gc * info[6]];
            }
            tb[kb * 16 + cc / 4][cc % 4] = vb;
        }
        workgroupBarrier();
        for (var kk = 0; kk < 16; kk++) {
            let av = ta[kk * 17 + ty];
            let bv = tb[kk * 16 + tx];
            c0 = fma(vec4<f32>(av.x), bv, c0);
            c1 = fma(vec4<f32>(av.y), bv, c1);
            c2 = fma(vec4<f32>(av.z), bv, c2);
            c3 = fma(vec4<f32>(av.w), bv, c3);
        }
        workgroupBarrier();
    }
    let base = bi * m * n;
    store4(base, m, n, row0 + ty * 4, col0 + tx * 4, c0);
    store4(base, m, n, row0 + ty * 4 + 1, col0 + tx * 4, c1);
    store4(base, m, n, row0 + ty * 4 + 2, col0 + tx * 4, c2);
    store4(base, m, n, row0 + ty * 4 + 3, col0 + tx * 4, c3);
}
