// Gather along one axis (filled in by gather.rs): out[o, j, r] = params[o, idx[j], r] for dense
// params of shape [outer, len, inner]; an index outside [0, len) gives zero, as TensorFlow's
// GPU kernel.
// info: [n, inner, nidx, len, params_offset, idx_offset]
@group(0) @binding(0) var<storage, read> info: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<$T>;
@group(0) @binding(2) var<storage, read> params: array<$T>;
@group(0) @binding(3) var<storage, read> idx: array<i32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = i32(gid.x + gid.y * nwg.x * 256u);
    if (i >= info[0]) { return; }
    let t = table_index(i);
    var v: $T;
    if (t >= 0) {
        v = params[info[4] + t];
    }
    out[i] = v;
}
