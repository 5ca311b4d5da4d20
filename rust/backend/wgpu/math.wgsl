// Float32 math shared by the elementwise and random kernels (appended to their sources).

// NaN tests on the bits: shader compilers may assume that x != x is false.
fn rstf_isnan(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// exp and log to about one unit in the last place (drivers' own may be approximations with
// absolute errors near 2^-22, which a log near 1 or a power such as 0.999^t magnifies).
fn rstf_exp(x: f32) -> f32 {
    if (rstf_isnan(x)) { return x; }
    let y = clamp(x, -104.0, 89.0);
    let n = round(y * 1.4426950408889634);
    var r = fma(-n, 0.693145751953125, y);
    r = fma(-n, 1.428606765330187e-06, r);
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (0.16666667 + r * (0.041666668 + r * (0.008333334
        + r * (0.0013888889 + r * 0.0001984127))))));
    // Two steps, so that neither factor leaves the float range before the product does.
    let h = i32(n) / 2;
    return ldexp(ldexp(p, h), i32(n) - h);
}

fn rstf_log(x: f32) -> f32 {
    if (rstf_isnan(x) || x < 0.0) { return bitcast<f32>(0x7fc00000u); }
    if (x == 0.0) { return bitcast<f32>(0xff800000u); }
    if (x == bitcast<f32>(0x7f800000u)) { return x; }
    // x = m * 2^e with m in [sqrt(1/2), sqrt(2)); log(m) = 2 atanh(s), s = (m - 1) / (m + 1).
    let fe = frexp(x);
    var m = fe.fract * 2.0;
    var e = f32(fe.exp - 1);
    if (m > 1.4142135) {
        m = m * 0.5;
        e = e + 1.0;
    }
    let lm = rstf_atanh2((m - 1.0) / (m + 1.0));
    return fma(e, 0.693145751953125, fma(e, 1.428606765330187e-06, lm));
}

// 2 atanh(s) for |s| <= 3 - 2 sqrt(2) (about 0.1716).
fn rstf_atanh2(s: f32) -> f32 {
    let z = s * s;
    let t = z * (0.6666667 + z * (0.4 + z * (0.2857143 + z * (0.22222222 + z * 0.18181819))));
    return 2.0 * s + s * t;
}

fn rstf_erf(x: f32) -> f32 {
    if (abs(x) < 0.5) {
        // Taylor series (relative error near 1e-9): accurate near zero.
        let z = x * x;
        return 1.1283792 * x * (1.0 - z * (0.33333334 - z * (0.1 - z * (0.023809524 - z * (0.0046296297
            - z * (0.0007575758 - z * (0.00010683761 - z * 1.3227513e-05)))))));
    }
    // Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7).
    let t = 1.0 / (1.0 + 0.3275911 * abs(x));
    let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * rstf_exp(-x * x);
    return select(-y, y, x >= 0.0);
}

fn rstf_expm1(x: f32) -> f32 {
    let u = rstf_exp(x);
    if (u == 1.0) { return x; }
    let um = u - 1.0;
    if (um == -1.0) { return -1.0; }
    if (abs(x) > 0.5) { return um; }
    return um * x / rstf_log(u);
}

// log(1 + x) = 2 atanh(x / (2 + x)) while 1 + x is in [sqrt(1/2), sqrt(2)]: no cancellation
// (drivers may simplify (1 + x) - 1 to x, so the usual correction of log(1 + x) fails).
fn rstf_log1p(x: f32) -> f32 {
    if (x > -0.29289323 && x < 0.41421357) {
        return rstf_atanh2(x / (2.0 + x));
    }
    return rstf_log(1.0 + x);
}

// tanh |x| = -e / (2 + e) with e = expm1(-2 |x|): no cancellation near zero.
fn rstf_tanh(x: f32) -> f32 {
    if (x == 0.0) { return x; }
    let e = rstf_expm1(-2.0 * abs(x));
    let t = -e / (2.0 + e);
    return select(t, -t, x < 0.0);
}

fn rstf_sigmoid(x: f32) -> f32 {
    return 1.0 / (1.0 + rstf_exp(-x));
}

fn rstf_pow(a: f32, b: f32) -> f32 {
    if (b == 0.0) { return 1.0; }
    if (a == 0.0) { return select(bitcast<f32>(0x7f800000u), 0.0, b > 0.0); }
    if (a > 0.0) { return rstf_exp(b * rstf_log(a)); }
    if (b != floor(b)) { return bitcast<f32>(0x7fc00000u); }
    let r = rstf_exp(b * rstf_log(-a));
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
