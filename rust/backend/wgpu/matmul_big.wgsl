// Tiled matrix product for large operands: each workgroup of 16x16 threads computes a 128x128
// tile of C[b] = A[b] @ B[b], each thread an 8x8 block (rows ty*4+i and 64+ty*4+i, columns
// tx*4+j and 64+tx*4+j, so that the workgroup-memory reads are vec4 and conflict-free).
// k advances in slices of 16: the next slice is loaded from global memory into registers while
// the current one is multiplied out of workgroup memory.
// Each operand has its slice loader, chosen by matmul.rs ($A, $B): `k` / `m` / `n` read vec4s
// along the axis the operand is contiguous in (that axis a multiple of 4 long, row strides and
// offsets multiples of 4); `strided` reads single values through any strides.
// info: [m, n, k, a_rs, a_cs, b_rs, b_cs, tiles_n, batch, a_off[batch], b_off[batch]]
@group(0) @binding(0) var<storage, read> info: array<i32>;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
// ta[kk * 33 + r / 4][r % 4] = A[row0 + r, k0 + kk], tb[kk * 33 + c / 4][c % 4] =
// B[k0 + kk, col0 + c] (each k row padded by one vec4, so that loaders' stores spread over
// the banks).
var<workgroup> ta: array<vec4<f32>, 528>;
var<workgroup> tb: array<vec4<f32>, 528>;

struct Params {
    m: i32, n: i32, k: i32, a_rs: i32, a_cs: i32, b_rs: i32, b_cs: i32,
    a_off: i32, b_off: i32, row0: i32, col0: i32, t: i32,
}
var<private> p: Params;
// The slice a thread loads: 8 values of A and 8 of B.
var<private> ra: array<vec4<f32>, 2>;
var<private> rb: array<vec4<f32>, 2>;

fn a_at(r: i32, kk: i32) -> f32 {
    let i = p.a_off + r * p.a_rs + kk * p.a_cs;
    return select(0.0, a[i >> 2u][i & 3], r < p.m && kk < p.k);
}

fn b_at(kk: i32, cc: i32) -> f32 {
    let i = p.b_off + kk * p.b_rs + cc * p.b_cs;
    return select(0.0, b[i >> 2u][i & 3], kk < p.k && cc < p.n);
}

// Value j of ra[q] is A[row0 + e / 16, k0 + e % 16] with e = t + 256 * (4 * q + j).
fn load_a_strided(k0: i32) {
    for (var e = 0; e < 8; e++) {
        let idx = p.t + e * 256;
        ra[e / 4][e % 4] = a_at(p.row0 + idx / 16, k0 + idx % 16);
    }
}

fn put_a_strided() {
    for (var e = 0; e < 8; e++) {
        let idx = p.t + e * 256;
        let r = idx / 16;
        ta[(idx % 16) * 33 + r / 4][r % 4] = ra[e / 4][e % 4];
    }
}

// ra[q] is A[row0 + e / 4, k0 + 4 * (e % 4) ..][..4] with e = t + 256 * q.
fn load_a_k(k0: i32) {
    for (var q = 0; q < 2; q++) {
        let e = p.t + q * 256;
        let r = p.row0 + e / 4;
        let kk = k0 + 4 * (e % 4);
        ra[q] = select(vec4<f32>(0.0), a[(p.a_off + r * p.a_rs + kk) / 4], r < p.m && kk < p.k);
    }
}

fn put_a_k() {
    for (var q = 0; q < 2; q++) {
        let e = p.t + q * 256;
        let r = e / 4;
        for (var j = 0; j < 4; j++) {
            ta[(4 * (e % 4) + j) * 33 + r / 4][r % 4] = ra[q][j];
        }
    }
}

// ra[q] is A[row0 + 4 * (e % 32) ..][..4, k0 + e / 32] with e = t + 256 * q.
fn load_a_m(k0: i32) {
    for (var q = 0; q < 2; q++) {
        let e = p.t + q * 256;
        let r = p.row0 + 4 * (e % 32);
        let kk = k0 + e / 32;
        ra[q] = select(vec4<f32>(0.0), a[(p.a_off + r + kk * p.a_cs) / 4], r < p.m && kk < p.k);
    }
}

fn put_a_m() {
    for (var q = 0; q < 2; q++) {
        let e = p.t + q * 256;
        ta[(e / 32) * 33 + e % 32] = ra[q];
    }
}

// Value j of rb[q] is B[k0 + e / 128, col0 + e % 128] with e = t + 256 * (4 * q + j).
fn load_b_strided(k0: i32) {
    for (var e = 0; e < 8; e++) {
        let idx = p.t + e * 256;
        rb[e / 4][e % 4] = b_at(k0 + idx / 128, p.col0 + idx % 128);
    }
}

fn put_b_strided() {
    for (var e = 0; e < 8; e++) {
        let idx = p.t + e * 256;
        let cc = idx % 128;
        tb[(idx / 128) * 33 + cc / 4][cc % 4] = rb[e / 4][e % 4];
    }
}

// rb[q] is B[k0 + e / 32, col0 + 4 * (e % 32) ..][..4] with e = t + 256 * q.
fn load_b_n(k0: i32) {
    for (var q = 0; q < 2; q++) {
        let e = p.t + q * 256;
        let kk = k0 + e / 32;
        let cc = p.col0 + 4 * (e % 32);
        rb[q] = select(vec4<f32>(0.0), b[(p.b_off + kk * p.b_rs + cc) / 4], kk < p.k && cc < p.n);
    }
}

fn put_b_n() {
    for (var q = 0; q < 2; q++) {
        let e = p.t + q * 256;
        tb[(e / 32) * 33 + e % 32] = rb[q];
    }
}

// rb[q] is B[k0 + 4 * (e % 4) ..][..4, col0 + e / 4] with e = t + 256 * q.
fn load_b_k(k0: i32) {
    for (var q = 0; q < 2; q++) {
        let e = p.t + q * 256;
        let kk = k0 + 4 * (e % 4);
        let cc = p.col0 + e / 4;
        rb[q] = select(vec4<f32>(0.0), b[(p.b_off + kk + cc * p.b_cs) / 4], kk < p.k && cc < p.n);
    }
}

fn put_b_k() {
    for (var q = 0; q < 2; q++) {
        let e = p.t + q * 256;
        let cc = e / 4;
        for (var j = 0; j < 4; j++) {
            tb[(4 * (e % 4) + j) * 33 + cc / 4][cc % 4] = rb[q][j];
        }
    }
}

@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let tiles_n = info[7];
    let batch = info[8];
    let bi = i32(wid.y);
    let tx = i32(lid.x);
    let ty = i32(lid.y);
    p = Params(info[0], info[1], info[2], info[3], info[4], info[5], info[6], info[9 + bi],
        info[9 + batch + bi], (i32(wid.x) / tiles_n) * 128, (i32(wid.x) % tiles_n) * 128,
        ty * 16 + tx);
    let k = p.k;
    var acc: array<vec4<f32>, 16>;
    for (var i = 0; i < 16; i++) {
        acc[i] = vec4<f32>(0.0);
    }
    load_a_$A(0);
    load_b_$B(0);
    for (var k0 = 0; k0 < k; k0 += 16) {
        put_a_$A();
        put_b_$B();
        workgroupBarrier();
        let k1 = k0 + 16;
        if (k1 < k) {
            load_a_$A(k1);
            load_b_$B(k1);
        }
        for (var kk = 0; kk < 16; kk++) {
            let a0 = ta[kk * 33 + ty];
            let a1 = ta[kk * 33 + 16 + ty];
            let b0 = tb[kk * 33 + tx];
            let b1 = tb[kk * 33 + 16 + tx];
            for (var i = 0; i < 4; i++) {
                acc[i * 2] = fma(vec4<f32>(a0[i]), b0, acc[i * 2]);
                acc[i * 2 + 1] = fma(vec4<f32>(a0[i]), b1, acc[i * 2 + 1]);
                acc[8 + i * 2] = fma(vec4<f32>(a1[i]), b0, acc[8 + i * 2]);
                acc[8 + i * 2 + 1] = fma(vec4<f32>(a1[i]), b1, acc[8 + i * 2 + 1]);
            }
        }
        workgroupBarrier();
    }
    let m = p.m;
    let n = p.n;
    let base = bi * m * n;
    for (var i = 0; i < 8; i++) {
        let r = p.row0 + (i / 4) * 64 + ty * 4 + i % 4;
        if (r < m) {
            for (var h = 0; h < 2; h++) {
                let c0 = p.col0 + h * 64 + tx * 4;
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
