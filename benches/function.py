"""Times traced functions: rstf.function beside jax.jit and tf.function (when installed), and
traced against eager rstf. Prints medians and ratios (rstf / peer; below 1 means rstf is
faster).

    python benches/function.py               # every case
    python benches/function.py seed_step     # some cases

Cases:
- seed_step: the basics guide's training step (1 -> 64 relu -> 1 on 201 points, tape + SGD
  0.01 on four variables) compiled once, 1000 steps.
- seed_step_none: the same step with ``input_signature=[TensorSpec([None])] * 2`` (one
  shape-polymorphic graph), beside the step traced for the concrete shape and tf.function with
  the same signature.
- chain8: a chain of 8 elementwise ops on 4M float32, traced against eager.
- mlp_adam_step: a training step of the MLP 784-256-256-10 on a batch of 128 (softmax
  cross-entropy) with Adam, traced; jax's step writes Adam's update out by hand.
"""

from __future__ import annotations

import sys

import numpy as np
from compare import PEERS, timeit
from training import _median_run, _mlp_data, _seed_data, mlp_loss, run_cases

import rstf as tf


def _median(fn, repeats=5):
    fn()  # traces
    return _median_run(fn, repeats)[0]


def seed_tf_like(tfm, params, x, y, signature=None):
    """The traced step written once against TensorFlow's API: ``tfm`` is rstf or tensorflow."""
    vs = [tfm.Variable(p) for p in params]
    w1, b1, w2, b2 = vs
    x, y = tfm.constant(x), tfm.constant(y)

    @tfm.function(input_signature=signature)
    def step(x, y):
        with tfm.GradientTape() as tape:
            h = tfm.nn.relu(x[:, tfm.newaxis] @ w1 + b1)
            prediction = tfm.squeeze(h @ w2 + b2, axis=1)
            loss = tfm.reduce_mean((y - prediction) ** 2)
        grads = tape.gradient(loss, vs)
        for v, g in zip(vs, grads):
            v.assign_sub(0.01 * g)
        return loss

    def run():
        for _ in range(1000):
            loss = step(x, y)
        return loss

    return run


def seed_jax(params, x, y):
    import jax
    import jax.numpy as jnp

    ps = [jnp.asarray(p) for p in params]
    x, y = jnp.asarray(x), jnp.asarray(y)

    def loss_fn(ps, x, y):
        w1, b1, w2, b2 = ps
        h = jax.nn.relu(x[:, None] @ w1 + b1)
        prediction = jnp.squeeze(h @ w2 + b2, axis=1)
        return jnp.mean((y - prediction) ** 2)

    @jax.jit
    def step(ps, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(ps, x, y)
        return [p - 0.01 * g for p, g in zip(ps, grads)], loss

    def run():
        nonlocal ps
        for _ in range(1000):
            ps, loss = step(ps, x, y)
        return loss.block_until_ready()

    return run


def case_seed_step():
    params, x, y = _seed_data()
    out = {"rstf": _median(seed_tf_like(tf, params, x, y))}
    if "jax" in PEERS:
        out["jax"] = _median(seed_jax(params, x, y))
    if "tensorflow" in PEERS:
        import tensorflow

        out["tensorflow"] = _median(seed_tf_like(tensorflow, params, x, y), 3)
    return "the guide's training step traced, 1000 steps", out


def case_seed_step_none():
    params, x, y = _seed_data()
    none = [tf.TensorSpec([None], tf.float32)] * 2
    out = {"rstf": _median(seed_tf_like(tf, params, x, y, none)),
           "rstf concrete": _median(seed_tf_like(tf, params, x, y))}
    if "tensorflow" in PEERS:
        import tensorflow

        sig = [tensorflow.TensorSpec([None], tensorflow.float32)] * 2
        out["tensorflow"] = _median(seed_tf_like(tensorflow, params, x, y, sig), 3)
    return "the guide's step with None batch dims in the input_signature, 1000 steps", out


def _chain(x):
    y = x * 1.5 + 0.5
    y = tf.abs(y) - 1.0
    y = tf.maximum(y, 0.1) * y
    return tf.sqrt(y) / 2.0


def case_chain8():
    x = tf.constant(np.random.default_rng(0).standard_normal(1 << 22).astype(np.float32))
    traced = tf.function(_chain)
    out = {"rstf": timeit(lambda: traced(x)), "rstf eager": timeit(lambda: _chain(x))}
    return "8 elementwise ops on 4M float32: traced vs eager", out


def mlp_adam_tf_like(tfm, params, x, y):
    """The MLP's step with Keras' Adam, traced: ``tfm`` is rstf or tensorflow."""
    vs = [tfm.Variable(p) for p in params]
    x, y = tfm.constant(x), tfm.constant(y)
    opt = tfm.keras.optimizers.Adam(1e-3)

    @tfm.function
    def step():
        with tfm.GradientTape() as tape:
            loss = mlp_loss(tfm, vs, x, y)
        opt.apply_gradients(zip(tape.gradient(loss, vs), vs))
        return loss

    return lambda: float(step())


def mlp_adam_jax(params, x, y):
    import jax
    import jax.numpy as jnp

    x, y = jnp.asarray(x), jnp.asarray(y)

    def loss_fn(ps):
        w1, b1, w2, b2, w3, b3 = ps
        h = jax.nn.relu(x @ w1 + b1)
        h = jax.nn.relu(h @ w2 + b2)
        return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(h @ w3 + b3), axis=1))

    @jax.jit
    def step(ps, ms, vs, t):
        loss, grads = jax.value_and_grad(loss_fn)(ps)
        t = t + 1.0
        ms = [0.9 * m + 0.1 * g for m, g in zip(ms, grads)]
        vs = [0.999 * v + 0.001 * g * g for v, g in zip(vs, grads)]
        size = 1e-3 * jnp.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        ps = [p - size * m / (jnp.sqrt(v) + 1e-7) for p, m, v in zip(ps, ms, vs)]
        return ps, ms, vs, t, loss

    ps = [jnp.asarray(p) for p in params]
    state = [ps, [jnp.zeros_like(p) for p in ps], [jnp.zeros_like(p) for p in ps], jnp.float32(0)]

    def run():
        *new, loss = step(*state)
        state[:] = new
        return float(loss)

    return run


def case_mlp_adam_step():
    params, x, y = _mlp_data()
    out = {"rstf": timeit(mlp_adam_tf_like(tf, params, x, y), min_time=1.0)}
    if "jax" in PEERS:
        out["jax"] = timeit(mlp_adam_jax(params, x, y), min_time=1.0)
    if "tensorflow" in PEERS:
        import tensorflow

        out["tensorflow"] = timeit(mlp_adam_tf_like(tensorflow, params, x, y), min_time=1.0)
    return "MLP 784-256-256-10, batch 128: a traced training step with Adam", out


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


if __name__ == "__main__":
    run_cases(CASES, sys.argv[1:])
