"""Times training steps written with Variables and a gradient tape, beside PyTorch eager and
TensorFlow eager when installed, and prints medians and ratios (rstf / peer; below 1 means
rstf is faster).

    python benches/training.py               # every case
    python benches/training.py seed_loop     # some cases

Cases:
- mlp_step: one step of an MLP 784-256-256-10 on a batch of 128 (forward, softmax
  cross-entropy, tape gradient, SGD update of the six variables).
- seed_loop: the basics guide's loop with raw variables (1 -> 64 relu -> 1 on 201 points,
  mean squared error, SGD 0.01), 1000 steps.
- seed_fit: the guide's Keras model trained with compile/fit, 100 epochs of batch 32.
- adam_update: Adam's update of the MLP's six variables (266K parameters) from given
  gradients (rstf: one call into the engine; torch.optim.Adam; Keras' Adam).
"""

from __future__ import annotations

import functools
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from compare import PEERS, timeit

import rstf as tf


def _mlp_data():
    rng = np.random.default_rng(0)
    shapes = [(784, 256), (256,), (256, 256), (256,), (256, 10), (10,)]
    params = [(rng.standard_normal(s) * 0.05).astype(np.float32) for s in shapes]
    x = rng.standard_normal((128, 784)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 128)]
    return params, x, y


def mlp_loss(tfm, vs, x, y):
    """The MLP's softmax cross-entropy, written against TensorFlow's API (rstf or tensorflow)."""
    w1, b1, w2, b2, w3, b3 = vs
    h = tfm.nn.relu(x @ w1 + b1)
    h = tfm.nn.relu(h @ w2 + b2)
    return -tfm.reduce_mean(tfm.reduce_sum(y * tfm.nn.log_softmax(h @ w3 + b3), axis=1))


def mlp_tf_like(tfm, params, x, y):
    """The step written once against TensorFlow's API: ``tfm`` is rstf or tensorflow."""
    vs = [tfm.Variable(p) for p in params]
    x, y = tfm.constant(x), tfm.constant(y)

    def step():
        with tfm.GradientTape() as tape:
            loss = mlp_loss(tfm, vs, x, y)
        grads = tape.gradient(loss, vs)
        for v, g in zip(vs, grads):
            v.assign_sub(0.01 * g)
        return loss

    return step


def mlp_torch(params, x, y):
    import torch

    ps = [torch.tensor(p, requires_grad=True) for p in params]
    w1, b1, w2, b2, w3, b3 = ps
    x, y = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        h = torch.relu(x @ w1 + b1)
        h = torch.relu(h @ w2 + b2)
        logits = h @ w3 + b3
        loss = -(y * torch.log_softmax(logits, 1)).sum(1).mean()
        grads = torch.autograd.grad(loss, ps)
        with torch.no_grad():
            for p, g in zip(ps, grads):
                p.sub_(0.01 * g)
        return loss

    return step


def case_mlp_step():
    params, x, y = _mlp_data()
    out = {"rstf": timeit(mlp_tf_like(tf, params, x, y), min_time=1.0)}
    if "torch" in PEERS:
        out["torch"] = timeit(mlp_torch(params, x, y), min_time=1.0)
    if "tensorflow" in PEERS:
        import tensorflow

        out["tensorflow"] = timeit(mlp_tf_like(tensorflow, params, x, y), min_time=1.0)
    return "MLP 784-256-256-10, batch 128: one training step", out


def _seed_data():
    rng = np.random.default_rng(1)
    x = np.linspace(-2, 2, 201).astype(np.float32)
    y = (x ** 2 + 2 * x - 5 + rng.standard_normal(201)).astype(np.float32)
    params = [rng.standard_normal((1, 64)).astype(np.float32), rng.standard_normal(64).astype(np.float32),
              (rng.standard_normal((64, 1)) * 0.1).astype(np.float32), np.zeros(1, np.float32)]
    return params, x, y


def seed_tf_like(tfm, params, x, y, steps):
    """The guide's loop written once against TensorFlow's API: ``tfm`` is rstf or tensorflow."""
    vs = [tfm.Variable(p) for p in params]
    w1, b1, w2, b2 = vs
    x, y = tfm.constant(x), tfm.constant(y)
    for _ in range(steps):
        with tfm.GradientTape() as tape:
            h = tfm.nn.relu(x[:, tfm.newaxis] @ w1 + b1)
            prediction = tfm.squeeze(h @ w2 + b2, axis=1)
            mean_error = tfm.reduce_mean((y - prediction) ** 2)
        grads = tape.gradient(mean_error, vs)
        for v, g in zip(vs, grads):
            v.assign_sub(0.01 * g)
    return float(mean_error)


def seed_torch(params, x, y, steps):
    import torch

    ps = [torch.tensor(p, requires_grad=True) for p in params]
    w1, b1, w2, b2 = ps
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(steps):
        h = torch.relu(x[:, None] @ w1 + b1)
        prediction = torch.squeeze(h @ w2 + b2, 1)
        mean_error = torch.mean((y - prediction) ** 2)
        grads = torch.autograd.grad(mean_error, ps)
        with torch.no_grad():
            for p, g in zip(ps, grads):
                p.sub_(0.01 * g)
    return float(mean_error)


def _median_run(fn, repeats):
    times, losses = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        losses.append(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times), losses[-1]


def case_seed_loop():
    params, x, y = _seed_data()
    out, losses = {}, {}
    runners = {"rstf": functools.partial(seed_tf_like, tf), "torch": seed_torch}
    if "tensorflow" in PEERS:
        import tensorflow

        runners["tensorflow"] = functools.partial(seed_tf_like, tensorflow)
    for lib, fn in runners.items():
        if lib != "rstf" and lib not in PEERS:
            continue
        repeats = 3 if lib == "tensorflow" else 7
        out[lib], losses[lib] = _median_run(lambda fn=fn: fn(params, x, y, 1000), repeats)
    print("  final losses: " + ", ".join(f"{k} {v:.4f}" for k, v in losses.items()))
    return "the guide's loop with raw variables, 1000 steps", out


def seed_fit_tf_like(tfm, x, y):
    """The guide's ``compile``/``fit`` (a Keras Model subclass, SGD, MSE, 100 epochs of batch
    32), written once against TensorFlow's API."""

    class Model(tfm.keras.Model):
        def __init__(self, units):
            super().__init__()
            self.dense1 = tfm.keras.layers.Dense(units=units, activation=tfm.nn.relu,
                                                 kernel_initializer=tfm.random.normal,
                                                 bias_initializer=tfm.random.normal)
            self.dense2 = tfm.keras.layers.Dense(1)

        def call(self, x, training=True):
            x = x[:, tfm.newaxis]
            return tfm.squeeze(self.dense2(self.dense1(x)), axis=1)

    model = Model(64)
    model.compile(loss=tfm.keras.losses.MSE, optimizer=tfm.optimizers.SGD(learning_rate=0.01))
    history = model.fit(x, y, epochs=100, batch_size=32, verbose=0)
    return history.history["loss"][-1]


def case_seed_fit():
    _, x, y = _seed_data()
    out, losses = {}, {}
    runners = {"rstf": functools.partial(seed_fit_tf_like, tf)}
    if "tensorflow" in PEERS:
        import tensorflow

        runners["tensorflow"] = functools.partial(seed_fit_tf_like, tensorflow)
    for lib, fn in runners.items():
        out[lib], losses[lib] = _median_run(lambda fn=fn: fn(x, y), 3)
    print("  final losses: " + ", ".join(f"{k} {v:.4f}" for k, v in losses.items()))
    return "the guide's compile/fit, 100 epochs of batch 32 (model built and traced each run)", out


def case_adam_update():
    params, _, _ = _mlp_data()
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal(p.shape).astype(np.float32) for p in params]

    def keras_like(tfm):
        vs = [tfm.Variable(p) for p in params]
        gs = [tfm.constant(g) for g in grads]
        opt = tfm.keras.optimizers.Adam(1e-3)
        return lambda: opt.apply_gradients(zip(gs, vs))

    out = {"rstf": timeit(keras_like(tf), min_time=1.0)}
    if "torch" in PEERS:
        # torch.optim imports its compiler stack, whose LLVM aborts next to TensorFlow's: time
        # it in a process of its own.
        code = (
            "import statistics, time, numpy as np, torch\n"
            "rng = np.random.default_rng(0)\n"
            "shapes = [(784, 256), (256,), (256, 256), (256,), (256, 10), (10,)]\n"
            "ps = [torch.nn.Parameter(torch.randn(*s)) for s in shapes]\n"
            "for p in ps: p.grad = torch.randn(*p.shape)\n"
            "opt = torch.optim.Adam(ps, lr=1e-3); opt.step()\n"
            "ts = []\n"
            "for _ in range(7):\n"
            "    t = time.perf_counter()\n"
            "    for _ in range(50): opt.step()\n"
            "    ts.append((time.perf_counter() - t) / 50)\n"
            "print(statistics.median(ts))\n"
        )
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if res.returncode == 0:
            out["torch"] = float(res.stdout.strip().splitlines()[-1])
    if "tensorflow" in PEERS:
        import tensorflow

        out["tensorflow"] = timeit(keras_like(tensorflow), min_time=1.0)
    return "Adam update of six variables (266K parameters)", out


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def run_cases(cases, argv):
    """Runs the named cases (all when none) and prints times in ms and ratios to rstf."""
    print(f"{os.cpu_count()} cpus; peers: " + ", ".join(k for k in PEERS if k != "numpy"))
    for name in argv or list(cases):
        title, times = cases[name]()
        base = times["rstf"]
        print(f"\n{name}: {title}")
        for lib, t in times.items():
            ratio = "" if lib == "rstf" else f"  rstf/{lib} = {base / t:.2f}"
            print(f"  {lib:<11} {t * 1e3:10.3f} ms{ratio}")


if __name__ == "__main__":
    run_cases(CASES, sys.argv[1:])
