// Tiled matrix product for large operands: each workgroup of 16x16 threads computes a 128x128
// tile of C[b] = A[b] @ B[b], each thread an 8x8 block (rows ty*4+i and 64+ty*4+i, columns
// tx*4+j and 64+tx*4+j, so that the workgroup-memory reads are vec4 and conflict-free).
// k advances in slices of 16: the next slice is loaded from global memory into registers while
// the current one is multiplied out of workgroup memory. Operands are read through strides.
// info: [m, n, k, a_rs, a_cs, b_rs, b_cs, tiles_n, batch, a_off[batch], b_off[batch]]
@group(0) @binding(0) var<storage, read> info: array<i32>;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
// ta[kk * 33 + r / 4][r % 4] = A[row0 + r, k0 + kk] (rows padded by one vec4, so that the
// stores of 16 threads with the same r and consecutive kk fall in different banks);
// tb[kk * 32 + c / 4][c % 4] = B[k0 + kk, col0 + c].
var<workgroup> ta: array<vec4<f32>, 528>;
var<workgroup> tb: array<vec4<f32>, 512>;

@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let m = info[0];
    let n = info[1];
    let k = info[2];
    let a_rs = info[3];
    let a_cs = info[4];
    let b_rs = info[5];
    let b_cs = info[6];
    let tiles_n = info[7];
    let batch = info[8];
    let bi = i32(wid.y);
    let row0 = (i32(wid.x) / tiles_n) * 128;
    let col0 = (i32(wid.x) % tiles_n) * 128;
    let a_off = info[9 + bi];
    let b_off = info[9 + batch + bi];
    let tx = i32(lid.x);
    let ty = i32(lid.y);
    let t = ty * 16 + tx;
    var acc: array<vec4<f32>, 16>;
    for (var i = 0; i < 16; i++) {
        acc[i] = vec4<f32>(0.0);
    }
    // Slice loads: element e of thread t is A[row0 + idx / 16, k0 + idx % 16] and
    // B[k0 + idx / 128, col0 + idx % 128] with idx = t + 256 * e.
    var ra: array<f32, 8>;
    var rb: array<f32, 8>;
    for (var e = 0; e < 8; e++) {
        let idx = t + e * 256;
        let gr = row0 + idx / 16;
        let gk = idx % 16;
        ra[e] = select(0.0, a[a_off + gr * a_rs + gk * a_cs], gr < m && gk < k);
        let gkb = idx / 128;
        let gc = col0 + idx % 128;
        rb[e] = select(0.0, b[b_off + gkb * b_rs + gc * b_cs], gkb < k && gc < n);
    }
    for (var k0 = 0; k0 < k; k0 += 16) {
        for (var e = 0; e < 8; e++) {
            let idx = t + e * 256;
            let r = idx / 16;
            ta[(idx % 16) * 33 + r / 4][r % 4] = ra[e];
            let cc = idx % 128;
            tb[(idx / 128) * 32 + cc / 4][cc % 4] = rb[e];
        }
        workgroupBarrier();
        let k1 = k0 + 16;
        if (k1 < k) {
            for (var e = 0; e < 8; e++) {
                let idx = t + e * 256;
                let gr = row0 + idx / 16;
                let gk = k1 + idx % 16;
                ra[e] = select(0.0, a[a_off + gr * a_rs + gk * a_cs], gr < m && gk < k);
                let gkb = k1 + idx / 128;
                let gc = col0 + idx % 128;
                rb[e] = select(0.0, b[b_off + gkb * b_rs + gc * b_cs], gkb < k && gc < n);
            }
        }
        for (var kk = 0; kk < 16; kk++) {
            let a0 = ta[kk * 33 + ty];
            let a1 = ta[kk * 33 + 16 + ty];
            let b0 = tb[kk * 32 + tx];
            let b1 = tb[kk * 32 + 16 + tx];
            for (var i = 0; i < 4; i++) {
                acc[i * 2] = fma(vec4<f32>(a0[i]), b0, acc[i * 2]);
                acc[i * 2 + 1] = fma(vec4<f32>(a0[i]), b1, acc[i * 2 + 1]);
                acc[8 + i * 2] = fma(vec4<f32>(a1[i]), b0, acc[8 + i * 2]);
                acc[8 + i * 2 + 1] = fma(vec4<f32>(a1[i]), b1, acc[8 + i * 2 + 1]);
            }
        }
        workgroupBarrier();
    }
    let base = bi * m * n;
    for (var i = 0; i < 8; i++) {
        let r = row0 + (i / 4) * 64 + ty * 4 + i % 4;
        if (r < m) {
            for (var h = 0; h < 2; h++) {
                let c0 = col0 + h * 64 + tx * 4;
                let v = acc[i * 2 + h];
                for (var j = 0; j < 4; j++) {
                    if (c0 + j < n) {
                        c[base + r * n + c0 + j] = v[j];
                    }
                }
            }
        }
    }
}
