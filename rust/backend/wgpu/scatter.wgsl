// The gather's gradient (filled in by gather.rs): out[o, idx[j], r] += g[o, j, r] for dense g of
// shape [outer, nidx, inner] into a zeroed out of shape [outer, len, inner], one thread per
// element of g. Repeated indices add into one element, so the sums are atomic: a
// compare-and-swap on the float's bits, retried until no other thread wrote in between (the
// order of the additions, and so the last bits of a sum, may differ from run to run, as in
// TensorFlow's GPU kernel). An index outside [0, len) adds nothing.
// info: [n, inner, nidx, len, g_offset, idx_offset]
@group(0) @binding(0) var<storage, read> info: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> idx: array<i32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = i32(gid.x + gid.y * nwg.x * 256u);
    if (i >= info[0]) { return; }
    let dst = table_index(i);
    if (dst < 0) { return; }
    let v = g[info[4] + i];
    var old = atomicLoad(&out[dst]);
    loop {
        let r = atomicCompareExchangeWeak(&out[dst], old, bitcast<u32>(bitcast<f32>(old) + v));
        if (r.exchanged) { break; }
        old = r.old_value;
    }
}
