// Tiled matrix product: each workgroup of 16x16 threads computes a 64x64 tile of
// C[b] = A[b] @ B[b], each thread a 4x4 block, stepping through k in slices of 16 held in
// workgroup memory. A and B are read through strides, so transposed operands cost nothing.
// info: [m, n, k, a_rs, a_cs, b_rs, b_cs, tiles_n, batch, a_off[batch], b_off[batch]]
@group(0) @binding(0) var<storage, read> info: array<i32>;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
var<workgroup> ta: array<array<f32, 65>, 16>;
var<workgroup> tb: array<array<f32, 65>, 16>;

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
    var acc: array<array<f32, 4>, 4>;
    for (var i = 0; i < 4; i++) {
        for (var j = 0; j < 4; j++) {
            acc[i][j] = 0.0;
        }
    }
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
            ta[kk][r] = va;
            let kb = idx / 64;
            let cc = idx % 64;
            let gc = col0 + cc;
            let gkb = k0 + kb;
            var vb = 0.0;
            if (gkb < k && gc < n) {
                vb = b[b_off + gkb * info[5] + gc * info[6]];
            }
            tb[kb][cc] = vb;
        }
        workgroupBarrier();
        for (var kk = 0; kk < 16; kk++) {
            var av: array<f32, 4>;
            var bv: array<f32, 4>;
            for (var i = 0; i < 4; i++) {
                av[i] = ta[kk][ty * 4 + i];
                bv[i] = tb[kk][tx * 4 + i];
            }
            for (var i = 0; i < 4; i++) {
                for (var j = 0; j < 4; j++) {
                    acc[i][j] = fma(av[i], bv[j], acc[i][j]);
                }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0; i < 4; i++) {
        let r = row0 + ty * 4 + i;
        for (var j = 0; j < 4; j++) {
            let cc = col0 + tx * 4 + j;
            if (r < m && cc < n) {
                c[bi * m * n + r * n + cc] = acc[i][j];
            }
        }
    }
}
