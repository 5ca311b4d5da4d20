// Tiled matrix product for large operands: each workgroup of 16x16 threads computes a 128x128
// tile of C[b] = A[b] @ B[b], each thread an 8x8 block (rows ty*4+i and 64+ty*4+i, columns
// tx*4+j and 64+tx*4+j, so that the workgroup-memory reads are vec4 and conflict-free).
// k advances in slices of 16: the next slice is loaded from global memory into registers while
// the current one is multiplied out of workgroup memory. The 64 sums are named variables and
// every index into a vector a constant, so that no driver needs to unroll a loop to keep them
// in registers.
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
// The operands' strides, offsets and this thread's place (set once by main).
var<private> p: Params;

// Every read of a or b below is of an index inside the operand (0 where the value is outside
// the product, then replaced by 0.0), and every workgroup-memory index stays inside its array
// (see each loader), so this kernel is compiled without runtime bounds checks.
fn a_at(r: i32, kk: i32) -> f32 {
    let ok = r < p.m && kk < p.k;
    let i = select(0, p.a_off + r * p.a_rs + kk * p.a_cs, ok);
    return select(0.0, a[i >> 2u][i & 3], ok);
}

fn b_at(kk: i32, cc: i32) -> f32 {
    let ok = kk < p.k && cc < p.n;
    let i = select(0, p.b_off + kk * p.b_rs + cc * p.b_cs, ok);
    return select(0.0, b[i >> 2u][i & 3], ok);
}

// The vec4 of a (or b) at vec4 index `i` where `ok`, else zeros (reading index 0).
fn a4(i: i32, ok: bool) -> vec4<f32> {
    return select(vec4<f32>(0.0), a[select(0, i, ok)], ok);
}

fn b4(i: i32, ok: bool) -> vec4<f32> {
    return select(vec4<f32>(0.0), b[select(0, i, ok)], ok);
}

// Writes v's four values to column j of ta[at], ta[at + step], ta[at + 2 * step], ...
fn put4_a(at: i32, step: i32, j: i32, v: vec4<f32>) {
    ta[at][j] = v.x;
    ta[at + step][j] = v.y;
    ta[at + 2 * step][j] = v.z;
    ta[at + 3 * step][j] = v.w;
}

// The same for tb.
fn put4_b(at: i32, step: i32, j: i32, v: vec4<f32>) {
    tb[at][j] = v.x;
    tb[at + step][j] = v.y;
    tb[at + 2 * step][j] = v.z;
    tb[at + 3 * step][j] = v.w;
}

// A thread loads two vec4s of each operand per slice (q = 0, 1).
// Strided: value j of A's vec4 q is A[row0 + r, k0 + kk] with r = t / 16 + 64 * q + 16 * j,
// kk = t % 16.
fn load_a_strided(k0: i32, q: i32) -> vec4<f32> {
    let r = p.row0 + p.t / 16 + 64 * q;
    let kk = k0 + p.t % 16;
    return vec4<f32>(a_at(r, kk), a_at(r + 16, kk), a_at(r + 32, kk), a_at(r + 48, kk));
}

fn put_a_strided(q: i32, v: vec4<f32>) {
    let r = p.t / 16 + 64 * q;
    put4_a((p.t % 16) * 33 + r / 4, 4, r % 4, v);
}

// Along k: A's vec4 q is A[row0 + e / 4, k0 + 4 * (e % 4) ..][..4] with e = t + 256 * q.
fn load_a_k(k0: i32, q: i32) -> vec4<f32> {
    let e = p.t + q * 256;
    let r = p.row0 + e / 4;
    let kk = k0 + 4 * (e % 4);
    return a4((p.a_off + r * p.a_rs + kk) / 4, r < p.m && kk < p.k);
}

fn put_a_k(q: i32, v: vec4<f32>) {
    let e = p.t + q * 256;
    let r = e / 4;
    put4_a(4 * (e % 4) * 33 + r / 4, 33, r % 4, v);
}

// Along m: A's vec4 q is A[row0 + 4 * (e % 32) ..][..4, k0 + e / 32] with e = t + 256 * q.
fn load_a_m(k0: i32, q: i32) -> vec4<f32> {
    let e = p.t + q * 256;
    let r = p.row0 + 4 * (e % 32);
    let kk = k0 + e / 32;
    return a4((p.a_off + r + kk * p.a_cs) / 4, r < p.m && kk < p.k);
}

fn put_a_m(q: i32, v: vec4<f32>) {
    let e = p.t + q * 256;
    ta[(e / 32) * 33 + e % 32] = v;
}

// Strided: value j of B's vec4 q is B[k0 + kk, col0 + cc] with kk = t / 128 + 8 * q + 2 * j,
// cc = t % 128.
fn load_b_strided(k0: i32, q: i32) -> vec4<f32> {
    let kk = k0 + p.t / 128 + 8 * q;
    let cc = p.col0 + p.t % 128;
    return vec4<f32>(b_at(kk, cc), b_at(kk + 2, cc), b_at(kk + 4, cc), b_at(kk + 6, cc));
}

fn put_b_strided(q: i32, v: vec4<f32>) {
    let cc = p.t % 128;
    put4_b((p.t / 128 + 8 * q) * 33 + cc / 4, 66, cc % 4, v);
}

// Along n: B's vec4 q is B[k0 + e / 32, col0 + 4 * (e % 32) ..][..4] with e = t + 256 * q.
fn load_b_n(k0: i32, q: i32) -> vec4<f32> {
    let e = p.t + q * 256;
    let kk = k0 + e / 32;
    let cc = p.col0 + 4 * (e % 32);
    return b4((p.b_off + kk * p.b_rs + cc) / 4, kk < p.k && cc < p.n);
}

fn put_b_n(q: i32, v: vec4<f32>) {
    let e = p.t + q * 256;
    tb[(e / 32) * 33 + e % 32] = v;
}

// Along k: B's vec4 q is B[k0 + 4 * (e % 4) ..][..4, col0 + e / 4] with e = t + 256 * q.
fn load_b_k(k0: i32, q: i32) -> vec4<f32> {
    let e = p.t + q * 256;
    let kk = k0 + 4 * (e % 4);
    let cc = p.col0 + e / 4;
    return b4((p.b_off + kk + cc * p.b_cs) / 4, kk < p.k && cc < p.n);
}

fn put_b_k(q: i32, v: vec4<f32>) {
    let e = p.t + q * 256;
    let cc = e / 4;
    put4_b(4 * (e % 4) * 33 + cc / 4, 33, cc % 4, v);
}

// Stores C[r, c0 .. c0 + 4] = v where inside the result.
fn store4(base: i32, r: i32, c0: i32, v: vec4<f32>) {
    let i = base + r * p.n + c0;
    if (c0 < p.n) { c[i] = v.x; }
    if (c0 + 1 < p.n) { c[i + 1] = v.y; }
    if (c0 + 2 < p.n) { c[i + 2] = v.z; }
    if (c0 + 3 < p.n) { c[i + 3] = v.w; }
}

// Stores this thread's two vec4s of row r (columns tx * 4 and 64 + tx * 4 of the tile).
fn store_row(base: i32, r: i32, v0: vec4<f32>, v1: vec4<f32>) {
    if (r < p.m) {
        let c0 = p.col0 + (p.t % 16) * 4;
        store4(base, r, c0, v0);
        store4(base, r, c0 + 64, v1);
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
    // c{i}{h}: row i of the thread's 8 (ty * 4 + i, then 64 + ty * 4 + i - 4), columns
    // tx * 4 .. + 4 (h = 0) and 64 + tx * 4 .. + 4 (h = 1).
    var c00 = vec4<f32>(0.0);
    var c01 = vec4<f32>(0.0);
    var c10 = vec4<f32>(0.0);
    var c11 = vec4<f32>(0.0);
    var c20 = vec4<f32>(0.0);
    var c21 = vec4<f32>(0.0);
    var c30 = vec4<f32>(0.0);
    var c31 = vec4<f32>(0.0);
    var c40 = vec4<f32>(0.0);
    var c41 = vec4<f32>(0.0);
    var c50 = vec4<f32>(0.0);
    var c51 = vec4<f32>(0.0);
    var c60 = vec4<f32>(0.0);
    var c61 = vec4<f32>(0.0);
    var c70 = vec4<f32>(0.0);
    var c71 = vec4<f32>(0.0);
    var ra0 = load_a_$A(0, 0);
    var ra1 = load_a_$A(0, 1);
    var rb0 = load_b_$B(0, 0);
    var rb1 = load_b_$B(0, 1);
    for (var k0 = 0; k0 < k; k0 += 16) {
        put_a_$A(0, ra0);
        put_a_$A(1, ra1);
        put_b_$B(0, rb0);
        put_b_$B(1, rb1);
        workgroupBarrier();
        let k1 = k0 + 16;
        if (k1 < k) {
            ra0 = load_a_$A(k1, 0);
            ra1 = load_a_$A(k1, 1);
            rb0 = load_b_$B(k1, 0);
            rb1 = load_b_$B(k1, 1);
        }
        for (var kk = 0; kk < 16; kk++) {
            let a0 = ta[kk * 33 + ty];
            let a1 = ta[kk * 33 + 16 + ty];
            let b0 = tb[kk * 33 + tx];
            let b1 = tb[kk * 33 + 16 + tx];
            c00 = fma(vec4<f32>(a0.x), b0, c00);
            c01 = fma(vec4<f32>(a0.x), b1, c01);
            c10 = fma(vec4<f32>(a0.y), b0, c10);
            c11 = fma(vec4<f32>(a0.y), b1, c11);
            c20 = fma(vec4<f32>(a0.z), b0, c20);
            c21 = fma(vec4<f32>(a0.z), b1, c21);
            c30 = fma(vec4<f32>(a0.w), b0, c30);
            c31 = fma(vec4<f32>(a0.w), b1, c31);
            c40 = fma(vec4<f32>(a1.x), b0, c40);
            c41 = fma(vec4<f32>(a1.x), b1, c41);
            c50 = fma(vec4<f32>(a1.y), b0, c50);
            c51 = fma(vec4<f32>(a1.y), b1, c51);
            c60 = fma(vec4<f32>(a1.z), b0, c60);
            c61 = fma(vec4<f32>(a1.z), b1, c61);
            c70 = fma(vec4<f32>(a1.w), b0, c70);
            c71 = fma(vec4<f32>(a1.w), b1, c71);
        }
        workgroupBarrier();
    }
    let base = bi * p.m * p.n;
    store_row(base, p.row0 + 0 + ty * 4 + 0, c00, c01);
    store_row(base, p.row0 + 0 + ty * 4 + 1, c10, c11);
    store_row(base, p.row0 + 0 + ty * 4 + 2, c20, c21);
    store_row(base, p.row0 + 0 + ty * 4 + 3, c30, c31);
    store_row(base, p.row0 + 64 + ty * 4 + 0, c40, c41);
    store_row(base, p.row0 + 64 + ty * 4 + 1, c50, c51);
    store_row(base, p.row0 + 64 + ty * 4 + 2, c60, c61);
    store_row(base, p.row0 + 64 + ty * 4 + 3, c70, c71);
}
