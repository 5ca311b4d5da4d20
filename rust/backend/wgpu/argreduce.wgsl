// Arg-max / arg-min along rows (filled in by reduce.rs): one workgroup per dense row of length
// k (the reduced axis moved last). As on the host, the first extreme wins and NaN is above
// every number (the first NaN wins). info: [rows, k, offset]
@group(0) @binding(0) var<storage, read> info: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<i32>;
@group(0) @binding(2) var<storage, read> src: array<$T>;
var<workgroup> part_v: array<$T, 256>;
var<workgroup> part_i: array<i32, 256>;

fn nan(x: $T) -> bool {
    return $ISNAN;
}

// True when value v beats value b.
fn beats(v: $T, b: $T) -> bool {
    return !nan(b) && (nan(v) || v $CMP b);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = i32(wid.x + wid.y * nwg.x);
    let k = info[1];
    let valid = row < info[0];
    var bv: $T;
    var bi = -1;
    if (valid) {
        // Increasing positions: a later equal value never replaces an earlier one.
        for (var j = i32(lid.x); j < k; j += 256) {
            let v = src[info[2] + row * k + j];
            if (bi < 0 || beats(v, bv)) {
                bv = v;
                bi = j;
            }
        }
    }
    part_v[lid.x] = bv;
    part_i[lid.x] = bi;
    workgroupBarrier();
    for (var s = 1u; s < 256u; s = s << 1u) {
        if ((lid.x & (2u * s - 1u)) == 0u) {
            let ov = part_v[lid.x + s];
            let oi = part_i[lid.x + s];
            let mv = part_v[lid.x];
            let mi = part_i[lid.x];
            // Threads hold interleaved positions: on a tie the smaller position wins.
            if (oi >= 0 && (mi < 0 || beats(ov, mv) || (!beats(mv, ov) && oi < mi))) {
                part_v[lid.x] = ov;
                part_i[lid.x] = oi;
            }
        }
        workgroupBarrier();
    }
    if (lid.x == 0u && valid) {
        out[row] = part_i[0];
    }
}
