// The index arithmetic shared by `gather.wgsl` and `scatter.wgsl` (appended to both by
// gather.rs; both declare `info` and `idx` alike): element i of the dense [outer, nidx, inner]
// side corresponds to element (o, idx[j], r) of the dense [outer, len, inner] table.

// The table position of element i, or -1 where its index lies outside [0, len).
fn table_index(i: i32) -> i32 {
    let inner = info[1];
    let len = info[3];
    let q = i / inner;
    let j = q % info[2];
    let o = q / info[2];
    let k = idx[info[5] + j];
    if (k < 0 || k >= len) { return -1; }
    return (o * len + k) * inner + i % inner;
}
