"""GPU benchmarks: rstf's wgpu backend beside PyTorch on CUDA, in one run.

    python benches/gpu.py                 # the issue's sizes (a real GPU)
    python benches/gpu.py --small         # small sizes (a software device such as lavapipe)
    python benches/gpu.py matmul          # only the cases whose name holds a given word

Cases: float32 matmul n x n (PyTorch with TF32 off; also with the second operand transposed,
as in the gradients of a dense layer), elementwise add of n float32 values
(reported as bandwidth, three 4-byte accesses per element), tiny eager ops with a Python number
(the host cost of an op), and the seed guide's training loop
(Dense 64 relu, Dense 1, SGD and then Adam, 1000 points x 20 epochs of full-batch steps). Prints medians and
ratios (rstf speed / peer speed; above 1 means rstf is faster), and for the tiny ops and the
training loop the calling thread's CPU time per op or step (the host's cost, which bounds
them on a fast GPU). GPU work is timed up to a
read-back of one value, so queued work is counted. Set RSTF_ALLOW_SOFTWARE_GPU=1 to run on a
software device.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

import rstf as tf

try:
    import torch

    CUDA = torch.cuda.is_available()
except ImportError:
    torch, CUDA = None, False

SMALL = "--small" in sys.argv


def medians(fn, repeats=5) -> tuple[float, float]:
    """Median wall time of `fn`, and median CPU time of the calling thread (the host's cost)."""
    fn()
    times, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.thread_time()
        fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    return statistics.median(times), statistics.median(cpu)


def median_time(fn, repeats=5) -> float:
    return medians(fn, repeats)[0]


def rstf_sync(t):
    # A read-back waits for everything queued before it.
    return float(tf.reduce_sum(tf.reshape(t, [-1])[:1]))


def bench_matmul(n, reps, transpose_b=False):
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    with tf.device("/GPU:0"):
        x = tf.constant(a)

        def run():
            y = x
            for _ in range(reps):
                y = tf.matmul(x, x, transpose_b=transpose_b)
            rstf_sync(y)

    flops = 2 * n**3 * reps
    out = {"rstf": flops / median_time(run) / 1e9}
    if CUDA:
        torch.backends.cuda.matmul.allow_tf32 = False
        xt = torch.from_numpy(a).cuda()

        xb = xt.T if transpose_b else xt

        def trun():
            for _ in range(reps):
                y = xt @ xb
            torch.cuda.synchronize()
            return y

        out["torch"] = flops / median_time(trun) / 1e9
    return f"matmul float32 {n}x{n}{' @ B^T' if transpose_b else ''} (GFLOP/s)", out


def bench_add(n, reps):
    a = np.ones(n, np.float32)
    with tf.device("/GPU:0"):
        x = tf.constant(a)
        y = tf.constant(a)

        def run():
            z = x
            for _ in range(reps):
                z = x + y
            rstf_sync(z)

    gbytes = 3 * 4 * n * reps / 1e9
    out = {"rstf": gbytes / median_time(run)}
    if CUDA:
        xt = torch.from_numpy(a).cuda()
        yt = torch.from_numpy(a).cuda()

        def trun():
            for _ in range(reps):
                z = xt + yt
            torch.cuda.synchronize()
            return z

        out["torch"] = gbytes / median_time(trun)
    return f"add float32 {n:,} elements (GB/s)", out


def bench_dispatch(reps):
    # Eager tiny ops with a Python number: the host cost of one op (and of its scalar operand).
    with tf.device("/GPU:0"):
        x = tf.constant(np.ones((2, 3), np.float32))

        def run():
            y = x
            for _ in range(reps):
                y = y * 0.5 + 1.0
            rstf_sync(y)

    wall, cpu = medians(run)
    out = {"rstf": 2 * reps / wall / 1000, "host": {"rstf": cpu / (2 * reps) * 1e6}}
    if CUDA:
        xt = torch.ones((2, 3), device="cuda")

        def trun():
            y = xt
            for _ in range(reps):
                y = y * 0.5 + 1.0
            torch.cuda.synchronize()

        wall, cpu = medians(trun)
        out["torch"] = 2 * reps / wall / 1000
        out["host"]["torch"] = cpu / (2 * reps) * 1e6
    return "tiny eager ops with a Python number (ops/ms)", out


def bench_seed_loop(points, epochs, adam=False):
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, (points, 1)).astype(np.float32)
    y = (x**2 + x + 0.1 * rng.standard_normal((points, 1))).astype(np.float32)
    with tf.device("/GPU:0"):
        model = tf.keras.Sequential([tf.keras.layers.Dense(64, activation="relu"), tf.keras.layers.Dense(1)])
        model.build((None, 1))
        opt = tf.keras.optimizers.Adam(0.01) if adam else tf.keras.optimizers.SGD(0.01)
        xs, ys = tf.constant(x), tf.constant(y)

        @tf.function
        def step(a, b):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(a) - b))
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        def run():
            for _ in range(epochs):
                loss = step(xs, ys)
            rstf_sync(loss)

    wall, cpu = medians(run, repeats=3)
    out = {"rstf": epochs / wall, "host": {"rstf": cpu / epochs * 1e6}}
    if CUDA:
        net = torch.nn.Sequential(torch.nn.Linear(1, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1)).cuda()
        topt = (torch.optim.Adam if adam else torch.optim.SGD)(net.parameters(), lr=0.01)
        xt, yt = torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda()

        def trun():
            for _ in range(epochs):
                topt.zero_grad()
                loss = ((net(xt) - yt) ** 2).mean()
                loss.backward()
                topt.step()
            torch.cuda.synchronize()

        wall, cpu = medians(trun, repeats=3)
        out["torch"] = epochs / wall
        out["host"]["torch"] = cpu / epochs * 1e6
    return f"seed training loop{', Adam' if adam else ''}, {points} points (steps/s)", out


def main():
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        print("no GPU: set RSTF_ALLOW_SOFTWARE_GPU=1 to use a software device")
        return
    print("rstf GPU:", tf.config.experimental.get_device_details(gpus[0])["device_name"])
    if CUDA:
        print("torch GPU:", torch.cuda.get_device_name(0))
    cases = (
        [(bench_matmul, (256, 4)), (bench_add, (1 << 20, 4)), (bench_dispatch, (500,)),
         (bench_seed_loop, (1000, 20)), (bench_seed_loop, (1000, 20, True))]
        if SMALL
        else [
            (bench_matmul, (1024, 20)),
            (bench_matmul, (4096, 10)),
            (bench_matmul, (4096, 10, True)),
            (bench_add, (1 << 20, 50)),
            (bench_add, (256 << 20, 10)),
            (bench_dispatch, (2000,)),
            (bench_seed_loop, (1000, 50)),
            (bench_seed_loop, (1000, 50, True)),
        ]
    )
    words = [a for a in sys.argv[1:] if not a.startswith("-")]
    for case, args in cases:
        if words and not any(w in case.__name__ for w in words):
            continue
        try:
            name, out = case(*args)
        except Exception as e:  # one failing case must not hide the others
            print(f"{case.__name__}{args}: {type(e).__name__}: {e}")
            continue
        line = f"{name:48s} rstf {out['rstf']:10.2f}"
        if "torch" in out:
            line += f"   torch {out['torch']:10.2f}   ratio {out['rstf'] / out['torch']:.2f}x"
        print(line, flush=True)
        if "host" in out:
            host = "   ".join(f"{k} {v:8.1f}" for k, v in out["host"].items())
            print(f"{'  main-thread CPU per unit (us)':48s} {host}", flush=True)


if __name__ == "__main__":
    main()
