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

// The window geometry, read from `info` once by both kernels.
struct Geometry {
    h: i32, w: i32, c: i32, oh: i32, ow: i32, kh: i32, kw: i32,
    sy: i32, sx: i32, dy: i32, dx: i32, pt: i32, pl: i32, offset: i32, row: i32,
}

fn geometry() -> Geometry {
    return Geometry(info[1], info[2], info[3], info[4], info[5], info[6], info[7], info[8], info[9],
                    info[10], info[11], info[12], info[13], info[14], info[6] * info[7] * info[3]);
}

@compute @workgroup_size(256)
fn im2col(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = i32(gid.x + gid.y * nwg.x * 256u);
    if (i >= info[0]) { return; }
    let g = geometry();
    let col = i % g.row;
    let pos = i / g.row;
    let ox = pos % g.ow;
    let oy = (pos / g.ow) % g.oh;
    let b = pos / (g.ow * g.oh);
    let ch = col % g.c;
    let t = col / g.c;
    let y = oy * g.sy + (t / g.kw) * g.dy - g.pt;
    let xx = ox * g.sx + (t % g.kw) * g.dx - g.pl;
    var v = bitcast<f32>(info[15]);
    if (y >= 0 && y < g.h && xx >= 0 && xx < g.w) {
        v = src[g.offset + ((b * g.h + y) * g.w + xx) * g.c + ch];
    }
    out[i] = v;
}

@compute @workgroup_size(256)
fn col2im(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = i32(gid.x + gid.y * nwg.x * 256u);
    if (i >= info[0]) { return; }
    let g = geometry();
    let ch = i % g.c;
    let xx = (i / g.c) % g.w;
    let y = (i / (g.c * g.w)) % g.h;
    let b = i / (g.c * g.w * g.h);
    var s = 0.0;
    for (var ky = 0; ky < g.kh; ky++) {
        let ty = y + g.pt - ky * g.dy;
        if (ty >= 0 && ty % g.sy == 0 && ty / g.sy < g.oh) {
            let oy = ty / g.sy;
            for (var kx = 0; kx < g.kw; kx++) {
                let tx = xx + g.pl - kx * g.dx;
                if (tx >= 0 && tx % g.sx == 0 && tx / g.sx < g.ow) {
                    let ox = tx / g.sx;
                    s += src[g.offset + ((b * g.oh + oy) * g.ow + ox) * g.row + (ky * g.kw + kx) * g.c + ch];
                }
            }
        }
    }
    out[i] = s;
}
