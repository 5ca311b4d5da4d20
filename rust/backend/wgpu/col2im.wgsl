// Patches added back into an NHWC image batch (filled in by window.rs), the gradient of
// im2col: out[b, y, x, ch] = sum of p[b, oy, ox, (ky * kw + kx) * c + ch] over the windows
// (oy, ox) and taps (ky, kx) that read (y, x).
// info: [n, h, w, c, oh, ow, kh, kw, sy, sx, dy, dx, pt, pl, p_offset]
@group(0) @binding(0) var<storage, read> info: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> p: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = i32(gid.x + gid.y * nwg.x * 256u);
    if (i >= info[0]) { return; }
    let h = info[1];
    let w = info[2];
    let c = info[3];
    let oh = info[4];
    let ow = info[5];
    let kh = info[6];
    let kw = info[7];
    let row = kh * kw * c;
    let ch = i % c;
    let xx = (i / c) % w;
    let y = (i / (c * w)) % h;
    let b = i / (c * w * h);
    var s = 0.0;
    for (var ky = 0; ky < kh; ky++) {
        let ty = y + info[12] - ky * info[10];
        if (ty >= 0 && ty % info[8] == 0 && ty / info[8] < oh) {
            let oy = ty / info[8];
            for (var kx = 0; kx < kw; kx++) {
                let tx = xx + info[13] - kx * info[11];
                if (tx >= 0 && tx % info[9] == 0 && tx / info[9] < ow) {
                    let ox = tx / info[9];
                    s += p[info[14] + ((b * oh + oy) * ow + ox) * row + (ky * kw + kx) * c + ch];
                }
            }
        }
    }
    out[i] = s;
}
