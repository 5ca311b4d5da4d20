// Optimizer updates (launched by optim.rs, one entry point per rule renamed to `main`): each
// thread updates one value of a float32 variable and its slots, reading the old values and
// writing new buffers (the variable and slots then take them), as optim.rs does on the host.
// info: [n, lr offset, then the rule's float32 constants as bits]; w, g and the slots are
// dense from the start of their buffers.
@group(0) @binding(0) var<storage, read> info: array<i32>;
@group(0) @binding(1) var<storage, read> lr_buf: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> w_out: array<f32>;
@group(0) @binding(5) var<storage, read> s0: array<f32>;
@group(0) @binding(6) var<storage, read_write> s0_out: array<f32>;
@group(0) @binding(7) var<storage, read> s1: array<f32>;
@group(0) @binding(8) var<storage, read_write> s1_out: array<f32>;
// Adam's bias correction of this step: [sqrt(1 - beta_2^t), 1 - beta_1^t].
@group(0) @binding(9) var<storage, read> bias: array<f32>;

// Constant k of the rule.
fn h(k: i32) -> f32 {
    return bitcast<f32>(info[2 + k]);
}

fn lr() -> f32 {
    return lr_buf[info[1]];
}

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> i32 {
    return i32(gid.x + gid.y * nwg.x * 256u);
}

// w -= lr * g
@compute @workgroup_size(256)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= info[0]) { return; }
    w_out[i] = w[i] - lr() * g[i];
}

// m = momentum * m - lr * g; w += m, or with Nesterov (h(1) = 1) w += momentum * m - lr * g.
@compute @workgroup_size(256)
fn momentum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= info[0]) { return; }
    let mu = h(0);
    let step = lr() * g[i];
    let m = mu * s0[i] - step;
    s0_out[i] = m;
    w_out[i] = w[i] + select(m, mu * m - step, h(1) != 0.0);
}

// Adam: h = [beta_1, beta_2, epsilon, weight decay, 1 - beta_1, 1 - beta_2]; m = s0, v = s1.
@compute @workgroup_size(256)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= info[0]) { return; }
    let gi = g[i];
    let m = h(0) * s0[i] + h(4) * gi;
    let v = h(1) * s1[i] + h(5) * gi * gi;
    s0_out[i] = m;
    s1_out[i] = v;
    let rate = lr();
    var wi = w[i];
    if (h(3) != 0.0) {
        wi -= rate * h(3) * wi;
    }
    w_out[i] = wi - rate * bias[0] / bias[1] * m / (sqrt(v) + h(2));
}

// RMSprop: h = [rho, epsilon, 1 - rho]; a = rho * a + (1 - rho) * g^2; w -= lr * g / (sqrt(a) + eps).
@compute @workgroup_size(256)
fn rmsprop(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= info[0]) { return; }
    let gi = g[i];
    let a = h(0) * s0[i] + h(2) * gi * gi;
    s0_out[i] = a;
    w_out[i] = w[i] - lr() * gi / (sqrt(a) + h(1));
}

// Adagrad: h = [epsilon]; a += g^2; w -= lr * g / (sqrt(a) + eps).
@compute @workgroup_size(256)
fn adagrad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= info[0]) { return; }
    let gi = g[i];
    let a = s0[i] + gi * gi;
    s0_out[i] = a;
    w_out[i] = w[i] - lr() * gi / (sqrt(a) + h(0));
}
