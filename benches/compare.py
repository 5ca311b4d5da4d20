"""Times rstf beside numpy, and PyTorch / TensorFlow / JAX when installed, in one run, and
prints medians and ratios (rstf time / peer time, median over interleaved rounds; below 1 means
rstf is faster).

    python benches/compare.py            # every case
    python benches/compare.py add_tiny   # some cases
    python benches/compare.py --fresh    # as users run them: see `fresh` below
    python benches/compare.py --fresh --busy add_numpy softmax_user

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
# A `--worker` process (see `fresh` below) imports only the library it times.
_WORKER = sys.argv[1:2] == ["--worker"]
try:
    if _WORKER:
        raise ImportError
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    PEERS["torch"] = torch
except ImportError:
    pass
try:
    if _WORKER:
        raise ImportError
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tensorflow_

    PEERS["tensorflow"] = tensorflow_
except ImportError:
    pass
try:
    if _WORKER:
        raise ImportError
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


def case_asarray_4m():
    x = rstf.constant(np.random.rand(4 << 20).astype(np.float32))
    fns = {"rstf": lambda: np.asarray(x)}
    if "torch" in PEERS:
        fns["torch"] = lambda: torch.from_dlpack(x)  # a consumer of rstf's buffer, timed as rstf
    return "np.asarray(t) of a 4M float32 tensor (torch: torch.from_dlpack(t), the same tensor)", measure(fns)


def case_import():
    code = "import time; t = time.perf_counter(); import {m}; print(time.perf_counter() - t)"
    out = {}
    for mod in ["rstf", "numpy"] + (["torch"] if "torch" in PEERS else []):
        runs = [float(subprocess.run([sys.executable, "-c", code.format(m=mod)], capture_output=True,
                                     text=True, check=True).stdout) for _ in range(5)]
        out[mod] = statistics.median(runs)
    return "import time (fresh process)", (out, {k: out["rstf"] / v for k, v in out.items() if k != "rstf"})


# ---- fresh processes, results kept and read back ------------------------------------------
# The cases above reuse one process and drop every result, so large buffers are recycled at
# once. User code keeps results and reads them back in a new process: each `USER` case runs
# in a fresh process per library and round, keeps its last three results alive, and reads each
# back to numpy (the library's own array for numpy), with no environment tuning. `--busy` runs
# the same with one spinning process per core competing for the machine.

def _user_data(n, shape=None):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(n, dtype=np.float32)
    return a if shape is None else a.reshape(shape)


def _wrap(lib):
    """The library's constant and read-back functions."""
    if lib == "rstf":
        return rstf.constant, lambda r: r.numpy()
    if lib == "torch":
        import torch
        return torch.from_numpy, lambda r: r.numpy()
    if lib == "tensorflow":
        import tensorflow as tf_
        return tf_.constant, lambda r: r.numpy()
    if lib == "jax":
        import jax.numpy as jnp_
        return jnp_.asarray, np.asarray
    return (lambda a: a), (lambda r: r)


def user_add_numpy(lib):
    const, back = _wrap(lib)
    a, b = const(_user_data(1 << 22)), const(_user_data(1 << 22)[::-1].copy())
    return "(a + b) read back as numpy, 4M float32", lambda: back(a + b)


def user_softmax_user(lib):
    const, back = _wrap(lib)
    x = const(_user_data(1 << 22, (2048, 2048)))
    fn = {"rstf": lambda: rstf.nn.softmax(x, axis=-1),
          "numpy": lambda: (lambda z: z / z.sum(-1, keepdims=True))(np.exp(x - x.max(-1, keepdims=True)))}
    if lib == "torch":
        import torch
        fn["torch"] = lambda: torch.softmax(x, -1)
    if lib == "tensorflow":
        import tensorflow as tf_
        fn["tensorflow"] = lambda: tf_.nn.softmax(x, axis=-1)
    f = fn[lib]
    return "softmax over the last axis of 2048x2048 float32, read back", lambda: back(f())


def user_reduce_sum_user(lib):
    const, back = _wrap(lib)
    x = const(_user_data(1 << 22))
    f = {"rstf": lambda: rstf.reduce_sum(x), "numpy": lambda: x.sum()}.get(lib, lambda: x.sum())
    return "reduce_sum of 4M float32, read back", lambda: back(f())


def _user_matmul(lib, n):
    const, back = _wrap(lib)
    a, b = const(_user_data(n * n, (n, n))), const(_user_data(n * n, (n, n))[::-1].copy())
    title = f"matmul {n}x{n} float32, read back (GFLOP/s = {2.0 * n ** 3 / 1e9:.2f} / time)"
    return title, lambda: back(a @ b)


def user_matmul_user_1024(lib):
    return _user_matmul(lib, 1024)


def user_matmul_user_2048(lib):
    return _user_matmul(lib, 2048)


USER = {name[5:]: fn for name, fn in globals().items() if name.startswith("user_")}
USER_PEERS = {"add_numpy": ["numpy", "torch"], "softmax_user": ["torch", "numpy"],
              "reduce_sum_user": ["torch", "numpy"], "matmul_user_1024": ["numpy", "torch"],
              "matmul_user_2048": ["numpy", "torch"]}


def _worker(lib, case, seconds=1.5):
    """Runs one case in this (fresh) process; prints the median seconds per call as JSON."""
    import json
    _, fn = USER[case](lib)
    kept, times = [], []
    start = time.perf_counter()
    while len(times) < 5 or (time.perf_counter() - start < seconds and len(times) < 400):
        t0 = time.perf_counter()
        r = fn()
        times.append(time.perf_counter() - t0)
        kept = (kept + [r])[-3:]
        float(np.asarray(r).ravel()[-1])  # read the result
    print(json.dumps(statistics.median(times[1:])))


def _fresh(case, lib):
    out = subprocess.run([sys.executable, __file__, "--worker", lib, case], capture_output=True,
                         text=True, env={k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")})
    if out.returncode != 0:
        raise RuntimeError(f"{lib} {case}: {out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def fresh_main(names, busy, rounds=5):
    """Every USER case in fresh processes, libraries interleaved over `rounds`; with `busy`,
    one spinning process per core runs meanwhile."""
    spinners = []
    if busy:
        spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                    for _ in range(os.cpu_count() or 1)]
    try:
        print(f"fresh processes, results kept and read back{', busy machine' if busy else ''}")
        for name in names or list(USER):
            libs = ["rstf"] + [p for p in USER_PEERS[name] if p in PEERS]
            samples = {lib: [] for lib in libs}
            for _ in range(rounds):
                for lib in libs:
                    samples[lib].append(_fresh(name, lib))
            title = USER[name]("numpy")[0]
            print(f"\n{name}: {title}")
            for lib in libs:
                med = statistics.median(samples[lib])
                ratio = "" if lib == "rstf" else "  rstf/{} = {:.2f}".format(
                    lib, statistics.median(a / b for a, b in zip(samples["rstf"], samples[lib])))
                print(f"  {lib:<11} {med * 1e6:12.1f} us{ratio}")
    finally:
        for p in spinners:
            p.kill()


def installed_size_mb() -> float:
    root = os.path.dirname(rstf.__file__)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs)
    return total / 1e6


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main(argv):
    if argv[:1] == ["--worker"]:
        return _worker(argv[1], argv[2])
    if "--fresh" in argv:
        busy = "--busy" in argv
        return fresh_main([a for a in argv if not a.startswith("--")], busy)
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
