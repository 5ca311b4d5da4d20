// Elementwise kernel template (filled in by elementwise.rs): out[i] = an expression, where the
// inputs x0, x1, ... are read through their own strided layouts broadcast to the output.
// info: [n, rank, shape[rank], then for each input: offset, strides[rank], then the same for
// the output when it is written through a strided view]. In the vec4 form (see
// elementwise.rs) each thread computes four consecutive values: n, offsets and the out and
// dense input arrays count vec4s.
@group(0) @binding(0) var<storage, read> info: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<$OUT>;
$BINDINGS

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
$BODY
}
