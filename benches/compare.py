"""Times rstf beside numpy, and PyTorch / TensorFlow / JAX when installed, in one run, and
prints medians and ratios (rstf time / peer time, median over interleaved rounds; below 1 means
rstf is faster).

    python benches/compare.py            # every case
    python benches/compare.py add_tiny   # some cases

Run it with a Python that has rstf and the peers installed (see BENCHMARKS.md).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

import rstf

PEERS: dict = {"numpy": np}
try:
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    PEERS["torch"] = torch
except ImportError:
    pass
try:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tensorflow_

    PEERS["tensorflow"] = tensorflow_
except ImportError:
    pass
try:
    import jax
    import jax.numpy as jnp

    PEERS["jax"] = jax
except ImportError:
    pass


def _calibrate(fn, min_time, repeats) -> int:
    """Calls per batch so that a batch lasts about `min_time / repeats`."""
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t0 > min_time / repeats or n > 1 << 22:
            return n
        n *= 4


def timeit(fn, min_time=0.3, repeats=7) -> float:
    """Median seconds per call of one function over `repeats` batches that each last about
    `min_time / repeats` (used by training.py and function.py)."""
    n = _calibrate(fn, min_time, repeats)
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n)
    return statistics.median(samples)


def measure(fns: dict, min_time=0.3, repeats=9):
    """Times every library's function in interleaved rounds (one batch of each per round), so
    that the machine's drift hits all of them alike. Returns the median seconds per call of
    each, and the median over rounds of rstf's time / each peer's time."""
    counts = {lib: _calibrate(fn, min_time, repeats) for lib, fn in fns.items()}
    samples: dict = {lib: [] for lib in fns}
    for _ in range(repeats):
        for lib, fn in fns.items():
            n = counts[lib]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            samples[lib].append((time.perf_counter() - t0) / n)
    times = {lib: statistics.median(s) for lib, s in samples.items()}
    ratios = {lib: statistics.median(a / b for a, b in zip(samples["rstf"], s))
              for lib, s in samples.items() if lib != "rstf"}
    return times, ratios


def case_add_tiny():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    x = rstf.constant(a)
    fns = {"rstf": lambda: x + x, "numpy": lambda: a + a}
    if "torch" in PEERS:
        t = torch.from_numpy(a)
        fns["torch"] = lambda: t + t
    if "tensorflow" in PEERS:
        tt = tensorflow_.constant(a)
        fns["tensorflow"] = lambda: tt + tt
    if "jax" in PEERS:
        j = jnp.asarray(a)
        fns["jax"] = lambda: (j + j).block_until_ready()
    return "x + x, 2x3 float32", measure(fns)


def case_reduce_sum_tiny():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    x = rstf.constant(a)
    fns = {"rstf": lambda: rstf.reduce_sum(x), "numpy": lambda: a.sum()}
    if "torch" in PEERS:
        t = torch.from_numpy(a)
        fns["torch"] = lambda: t.sum()
    return "reduce_sum of 2x3 float32 (the call's own cost)", measure(fns)


def case_add_4m():
    a = np.random.rand(4 << 20).astype(np.float32)
    b = np.random.rand(4 << 20).astype(np.float32)
    x, y = rstf.constant(a), rstf.constant(b)
    fns = {"rstf": lambda: x + y, "numpy": lambda: a + b}
    if "torch" in PEERS:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        fns["torch"] = lambda: ta + tb
    return "add of two 4M float32", measure(fns)


def _matmul(n):
    a = np.random.rand(n, n).astype(np.float32)
    b = np.random.rand(n, n).astype(np.float32)
    x, y = rstf.constant(a), rstf.constant(b)
    fns = {"rstf": lambda: x @ y, "numpy": lambda: a @ b}
    if "torch" in PEERS:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        fns["torch"] = lambda: ta @ tb
    flops = 2.0 * n ** 3
    return (f"matmul {n}x{n} float32 (GFLOP/s = {flops / 1e9:.2f} / time)",
            measure(fns, min_time=2.0, repeats=7))


def case_matmul_1024():
    return _matmul(1024)


def case_matmul_2048():
    return _matmul(2048)


def case_softmax():
    a = np.random.randn(2048, 2048).astype(np.float32)
    x = rstf.constant(a)
    fns = {"rstf": lambda: rstf.nn.softmax(x, axis=-1),
           "numpy": lambda: (lambda z: z / z.sum(-1, keepdims=True))(np.exp(a - a.max(-1, keepdims=True)))}
    if "torch" in PEERS:
        t = torch.from_numpy(a)
        fns["torch"] = lambda: torch.softmax(t, -1)
    if "tensorflow" in PEERS:
        tt = tensorflow_.constant(a)
        fns["tensorflow"] = lambda: tensorflow_.nn.softmax(tt, axis=-1)
    return "softmax, last axis of 2048x2048 float32", measure(fns)


def case_reduce_sum():
    a = np.random.rand(4 << 20).astype(np.float32)
    x = rstf.constant(a)
    fns = {"rstf": lambda: rstf.reduce_sum(x), "numpy": lambda: a.sum()}
    if "torch" in PEERS:
        t = torch.from_numpy(a)
        fns["torch"] = lambda: t.sum()
    if "tensorflow" in PEERS:
        tt = tensorflow_.constant(a)
        fns["tensorflow"] = lambda: tensorflow_.reduce_sum(tt)
    return "reduce_sum of 4M float32", measure(fns)


def case_strings_split_to_number():
    # 1M short strings of three numbers each, already tensors (as read from a file).
    rng = np.random.default_rng(0)
    lines = np.array([" ".join(map(str, r)) for r in rng.integers(0, 1000, (1 << 20, 3))], dtype=object)
    x = rstf.constant(lines)
    fns = {"rstf": lambda: rstf.strings.to_number(rstf.strings.split(x).flat_values)}
    if "tensorflow" in PEERS:
        tf = PEERS["tensorflow"]
        y = tf.constant(lines)
        fns["tensorflow"] = lambda: tf.strings.to_number(tf.strings.split(y).flat_values)
    return "tf.strings.split + to_number of 1M strings of 3 numbers", measure(fns, min_time=0.5, repeats=5)


def case_import():
    code = "import time; t = time.perf_counter(); import {m}; print(time.perf_counter() - t)"
    out = {}
    for mod in ["rstf", "numpy"] + (["torch"] if "torch" in PEERS else []):
        runs = [float(subprocess.run([sys.executable, "-c", code.format(m=mod)], capture_output=True,
                                     text=True, check=True).stdout) for _ in range(5)]
        out[mod] = statistics.median(runs)
    return "import time (fresh process)", (out, {k: out["rstf"] / v for k, v in out.items() if k != "rstf"})


def installed_size_mb() -> float:
    root = os.path.dirname(rstf.__file__)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs)
    return total / 1e6


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main(argv):
    names = argv or list(CASES)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, python {platform.python_version()}")
    print("peers: " + ", ".join(f"{k} {getattr(v, '__version__', '')}" for k, v in PEERS.items()))
    for name in names:
        title, (times, ratios) = CASES[name]()
        print(f"\n{name}: {title}")
        for lib, t in times.items():
            ratio = "" if lib == "rstf" else f"  rstf/{lib} = {ratios[lib]:.2f}"
            print(f"  {lib:<11} {t * 1e6:12.2f} us{ratio}")
    print(f"\ninstalled rstf package: {installed_size_mb():.1f} MB")


if __name__ == "__main__":
    main(sys.argv[1:])
