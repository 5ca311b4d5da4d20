// Windows of an NHWC image batch as patches (filled in by window.rs):
// out[b, oy, ox, (ky * kw + kx) * c + ch] = x[b, oy * sy + ky * dy - pt, ox * sx + kx * dx - pl, ch],
// or the pad value for taps outside the image.
// info: [n, h, w, c, oh, ow, kh, kw, sy, sx, dy, dx, pt, pl, x_offset, pad value (f32 bits)]
@group(0) @binding(0) var<storage, read> info: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
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
        v = x[info[14] + ((b * h + y) * w + xx) * c + ch];
    }
    out[i] = v;
}
