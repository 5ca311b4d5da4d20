// Row reduction (filled in by reduce.rs): rows of length k, each cut into chunks of
// chunk_len; one workgroup per (row, chunk) sums its part with a pairwise tree in workgroup memory.
// info: [rows, k, chunks, chunk_len, offset]
@group(0) @binding(0) var<storage, read> info: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<$T>;
@group(0) @binding(2) var<storage, read> src: array<$T>;
var<workgroup> part: array<$T, 256>;

// NaN tests on the bits: shader compilers may assume that x != x is false.
fn isnan(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

fn combine(a: $T, b: $T) -> $T {
    return $COMBINE;
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let g = i32(wid.x + wid.y * nwg.x);
    let k = info[1];
    let chunks = info[2];
    let valid = g < info[0] * chunks;
    let row = g / chunks;
    let start = (g % chunks) * info[3];
    let end = min(start + info[3], k);
    var acc: $T = $IDENTITY;
    if (valid) {
        for (var j = start + i32(lid.x); j < end; j += 256) {
            acc = combine(acc, src[info[4] + row * k + j]);
        }
    }
    part[lid.x] = acc;
    workgroupBarrier();
    // Neighbours first ((0 + 1) + (2 + 3)) ...: a short row is summed in its own order.
    for (var s = 1u; s < 256u; s = s << 1u) {
        if ((lid.x & (2u * s - 1u)) == 0u) {
            part[lid.x] = combine(part[lid.x], part[lid.x + s]);
        }
        workgroupBarrier();
    }
    if (lid.x == 0u && valid) {
        out[g] = part[0];
    }
}
