// Random numbers (filled in by random.rs, which makes `uniform` or `normal` the entry point
// `main`): the host's counter-based stream, value i being SplitMix64's finaliser of
// seed + (i + 1) * golden, computed in 32-bit halves (x low, y high); its top 53 bits make a
// uniform number u in [0, 1). Results are float32 computed to within a few units in the last
// place of the host's float64 arithmetic, and stored as $T.
// info: [n, seed low, seed high, a (f32 bits), b (f32 bits)]; uniform: out = a + b * u
// (a = low, b = high - low); normal: elements 2p, 2p + 1 are a + b * r * cos, a + b * r * sin
// of pair p (Box-Muller, r = sqrt(-2 ln(1 - u(2p))), angle 2 pi u(2p + 1); a = mean, b = stddev).
@group(0) @binding(0) var<storage, read> info: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<$T>;

// The full 64-bit product of two 32-bit numbers, from 16-bit halves.
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
    let p00 = (a & 0xffffu) * (b & 0xffffu);
    let p01 = (a & 0xffffu) * (b >> 16u);
    let p10 = (a >> 16u) * (b & 0xffffu);
    let p11 = (a >> 16u) * (b >> 16u);
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    return vec2<u32>((p00 & 0xffffu) | (mid << 16u), p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}

// The low 64 bits of a 64-bit product.
fn mul64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let p = mul_wide(a.x, b.x);
    return vec2<u32>(p.x, p.y + a.x * b.y + a.y * b.x);
}

fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

// z ^ (z >> s) for 0 < s < 32.
fn xorshr(z: vec2<u32>, s: u32) -> vec2<u32> {
    return vec2<u32>(z.x ^ ((z.x >> s) | (z.y << (32u - s))), z.y ^ (z.y >> s));
}

// The top 53 bits of value i of the stream, as an integer below 2^53.
fn bits53(i: u32) -> vec2<u32> {
    var z = add64(vec2<u32>(info[1], info[2]), mul64(vec2<u32>(i + 1u, 0u), vec2<u32>(0x7f4a7c15u, 0x9e3779b9u)));
    z = mul64(xorshr(z, 30u), vec2<u32>(0x1ce4e5b9u, 0xbf58476du));
    z = mul64(xorshr(z, 27u), vec2<u32>(0x133111ebu, 0x94d049bbu));
    z = xorshr(z, 31u);
    return vec2<u32>((z.x >> 11u) | (z.y << 21u), z.y >> 11u);
}

// m * 2^-53 for m below 2^53, to within two units in the last place.
fn scaled(m: vec2<u32>) -> f32 {
    return (f32(m.y) * 4294967296.0 + f32(m.x)) * 1.1102230246251565e-16;
}

// sin and cos of 2 pi t for t in [-0.5, 0.5]: quarter turns taken off exactly, then series
// on [-pi/4, pi/4] (the drivers' own sin and cos may have absolute errors near 2^-11).
fn sincos_turns(t: f32) -> vec2<f32> {
    let k = round(4.0 * t);
    let y = 6.2831855 * (t - 0.25 * k);
    let z = y * y;
    let s = y + y * z * (-0.16666667 + z * (0.008333334 + z * (-0.0001984127 + z * 2.7557319e-06)));
    let c = 1.0 + z * (-0.5 + z * (0.041666668 + z * (-0.0013888889 + z * 2.4801587e-05)));
    let q = i32(k) & 3;
    if (q == 0) { return vec2<f32>(s, c); }
    if (q == 1) { return vec2<f32>(c, -s); }
    if (q == 2) { return vec2<f32>(-s, -c); }
    return vec2<f32>(-c, s);
}

fn thread_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 256u;
}

@compute @workgroup_size(256)
fn uniform(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = thread_index(gid, nwg);
    if (i >= info[0]) { return; }
    out[i] = $T(fma(bitcast<f32>(info[4]), scaled(bits53(i)), bitcast<f32>(info[3])));
}

// int32 uniform draws (info[3]: low as int32 bits, info[4]: high - low): low + the top 32
// bits of range * m / 2^53 for the 53-bit draw m, the host's exact integer formula.
@compute @workgroup_size(256)
fn uniform_int(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = thread_index(gid, nwg);
    if (i >= info[0]) { return; }
    let m = bits53(i);
    // range * m = p0 + p1 * 2^32, as words w0 (dropped), w1, w2.
    let p0 = mul_wide(info[4], m.x);
    let p1 = mul_wide(info[4], m.y);
    let w1 = p0.y + p1.x;
    let w2 = p1.y + select(0u, 1u, w1 < p0.y);
    out[i] = $T(bitcast<i32>(info[3] + ((w1 >> 21u) | (w2 << 11u))));
}

@compute @workgroup_size(256)
fn normal(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = 2u * thread_index(gid, nwg);
    if (i >= info[0]) { return; }
    // ln(1 - u): log1p(-u) while u < 1/4, else the log of the exact complement 2^53 - m.
    let m = bits53(i);
    var l: f32;
    if (m.y < 0x80000u) {
        l = rstf_log1p(-scaled(m));
    } else {
        l = rstf_log(scaled(vec2<u32>(0u - m.x, 0x200000u - m.y - select(0u, 1u, m.x != 0u))));
    }
    let r = sqrt(-2.0 * l);
    // The angle 2 pi u2 is 2 pi (u2 - 1/2) + pi: both sine and cosine change sign.
    let sc = sincos_turns(scaled(bits53(i + 1u)) - 0.5);
    let a = bitcast<f32>(info[3]);
    let b = bitcast<f32>(info[4]);
    out[i] = $T(a + b * (r * -sc.y));
    if (i + 1u < info[0]) {
        out[i + 1u] = $T(a + b * (r * -sc.x));
    }
}
