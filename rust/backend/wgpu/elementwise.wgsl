// Elementwise kernel template (filled in by elementwise.rs): out[i] = $STORE, where the
// inputs x0, x1, ... are read through their own strided layouts broadcast to the output.
// info: [n, rank, shape[rank], then for each input: offset, strides[rank], then the same for
// the output when it is written through a strided view ($OUTIDX)]
@group(0) @binding(0) var<storage, read> info: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<$OUT>;
$BINDINGS

// NaN tests on the bits: shader compilers may assume that x != x is false.
fn rstf_isnan(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

fn rstf_erf(x: f32) -> f32 {
    // Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7).
    let t = 1.0 / (1.0 + 0.3275911 * abs(x));
    let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-x * x);
    return select(-y, y, x >= 0.0);
}

fn rstf_expm1(x: f32) -> f32 {
    let u = exp(x);
    if (u == 1.0) { return x; }
    let um = u - 1.0;
    if (um == -1.0) { return -1.0; }
    if (abs(x) > 0.5) { return um; }
    return um * x / log(u);
}

fn rstf_log1p(x: f32) -> f32 {
    let u = 1.0 + x;
    if (u == 1.0) { return x; }
    return log(u) * x / (u - 1.0);
}

fn rstf_tanh(x: f32) -> f32 {
    let t = exp(-2.0 * abs(x));
    return sign(x) * (1.0 - t) / (1.0 + t);
}

fn rstf_sigmoid(x: f32) -> f32 {
    return 1.0 / (1.0 + exp(-x));
}

fn rstf_pow(a: f32, b: f32) -> f32 {
    if (b == 0.0) { return 1.0; }
    if (a == 0.0) { return select(bitcast<f32>(0x7f800000u), 0.0, b > 0.0); }
    if (a > 0.0) { return exp2(b * log2(a)); }
    if (b != floor(b)) { return bitcast<f32>(0x7fc00000u); }
    let r = exp2(b * log2(-a));
    return select(r, -r, b - 2.0 * floor(b / 2.0) == 1.0);
}

fn rstf_max(a: f32, b: f32) -> f32 {
    return select(max(a, b), a + b, rstf_isnan(a) || rstf_isnan(b));
}

fn rstf_min(a: f32, b: f32) -> f32 {
    return select(min(a, b), a + b, rstf_isnan(a) || rstf_isnan(b));
}

fn rstf_round(x: f32) -> f32 {
    // Half to even, as TensorFlow.
    let f = floor(x);
    let d = x - f;
    if (d > 0.5) { return f + 1.0; }
    if (d < 0.5) { return f; }
    return select(f + 1.0, f, f - 2.0 * floor(f / 2.0) == 0.0);
}

fn strided(p: i32, i: i32) -> i32 {
    var o = info[p];
    var r = i;
    for (var d = info[1] - 1; d >= 0; d--) {
        let s = info[2 + d];
        o += (r % s) * info[p + 1 + d];
        r = r / s;
    }
    return o;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = i32(gid.x + gid.y * nwg.x * 256u);
    if (i >= info[0]) { return; }
$LOADS
    out[$OUTIDX] = $STORE;
}
