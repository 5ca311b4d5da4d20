// Sliding windows over NHWC float32 image batches (filled in by window.rs, which makes the
// kernel it runs the entry point `main`). info: [n, h, w, c, oh, ow, kh, kw, sy, sx, dy, dx,
// pt, pl, src_offset, pad value (f32 bits, im2col only)], n being the output's element count.
//
// im2col: windows as patches, out[b, oy, ox, (ky * kw + kx) * c + ch] =
// src[b, oy * sy + ky * dy - pt, ox * sx + kx * dx - pl, ch], or the pad value outside the image.
// col2im: patches added back into an image (im2col's gradient), out[b, y, x, ch] = the sum of
// src[b, oy, ox, (ky * kw + kx) * c + ch] over the windows (oy, ox) and taps (ky, kx) reading
// (y, x).
@group(0) @binding(0) var<storage, read> info: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;

@compute @workgroup_size(256)
fn im2col(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = i32(gid.x + gid.y * nwg.x * 256u);
    if (i >= info[0]) { return; }
    let h = info[1];
    let w = info[2];
    let c = info[3];
    let oh = info[4];
    let ow = info[5];
    let kw = info[7];
    let row = info[6] * kw * c;
    let col = i % row;
    let pos = i / row;
    let ox = pos % ow;
    let oy = (pos / ow) % oh;
    let b = pos / (ow * oh);
    let ch = col % c;
    let t = col / c;
    let y = oy * info[8] + (t / kw) * info[10] - info[12];
    let xx = ox * info[9] + (t % kw) * info[11] - info[13];
    var v = bitcast<f32>(info[15]);
    if (y >= 0 && y < h && xx >= 0 && xx < w) {
        v = src[info[14] + ((b * h + y) * w + xx) * c + ch];
    }
    out[i] = v;
}

@compute @workgroup_size(256)
fn col2im(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
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
                    s += src[info[14] + ((b * oh + oy) * ow + ox) * row + (ky * kw + kx) * c + ch];
                }
            }
        }
    }
    out[i] = s;
}
