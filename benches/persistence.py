"""Times saving and loading model parameters beside numpy.save/numpy.load of the same arrays,
and prints medians and ratios (rstf / numpy; below 1 means rstf is faster).

    python benches/persistence.py            # 100M float32 parameters in 100 variables
    python benches/persistence.py 10         # 10M

rstf: a ``tf.train.Checkpoint`` of the variables (``write`` and ``restore``: one safetensors
file, written under a temporary name and renamed). numpy: one ``.npy`` file per array
(``numpy.save``, ``numpy.load``; written in place). Saves are timed to new files (as numbered
checkpoints are) and over the previous ones; both write to the same directory (``BENCH_DIR``,
default the system's temporary directory), alternately; the page cache is warm for loads.
Loaded arrays are kept until the next load replaces them, as the variables keep restored
values (dropping them at once lets the allocator hand the same pages back on the next load,
which hides the cost of fresh memory). rstf restores into the variables' own buffers.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

import rstf as tf


def _medians(ours, peer, repeat=7, cleanup=None):
    """Median times of two functions run alternately (so that disk write-back hits both)."""
    times: tuple[list, list] = ([], [])
    for _ in range(repeat):
        for fn, out in ((ours, times[0]), (peer, times[1])):
            if cleanup:
                for name in os.listdir(cleanup):
                    if name[0] in "cn" and name[1:2].isdigit():
                        p = os.path.join(cleanup, name)
                        shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return statistics.median(times[0]), statistics.median(times[1])


def main():
    millions = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    arrays = [np.random.default_rng(i).standard_normal(1_000_000 * millions // 100).astype(np.float32)
              for i in range(100)]
    variables = [tf.Variable(a) for a in arrays]
    ckpt = tf.train.Checkpoint(vs=variables)
    d = tempfile.mkdtemp(dir=os.environ.get("BENCH_DIR"))
    try:
        prefix = os.path.join(d, "ckpt")
        counter = [0]

        def np_save(sub="same"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
            for i, a in enumerate(arrays):
                np.save(os.path.join(d, sub, f"a{i}.npy"), a)

        def fresh(fn, kind):
            # Each save to new files; the previous ones are removed outside the timed part.
            def run():
                counter[0] += 1
                fn(f"{kind}{counter[0]}")
            return run

        def ckpt_new(name):
            ckpt.write(os.path.join(d, name))

        held = []

        def np_load():
            # Kept until the next load replaces them, as restored variables are.
            held[:] = [np.load(os.path.join(d, "same", f"a{i}.npy")) for i in range(len(arrays))]

        rows = [
            ("save, new files", *_medians(fresh(ckpt_new, "c"), fresh(np_save, "n"), cleanup=d)),
            ("save, replacing", *_medians(lambda: ckpt.write(prefix), np_save)),
            ("load", *_medians(lambda: ckpt.restore(prefix), np_load)),
        ]
        assert np.array_equal(variables[7].numpy(), arrays[7])
    finally:
        shutil.rmtree(d)
    print(f"{millions}M float32 parameters in 100 variables ({millions * 4} MB)")
    print(f"{'case':<18}{'rstf s':>10}{'numpy s':>10}{'ratio':>8}")
    for name, ours, peer in rows:
        print(f"{name:<18}{ours:>10.3f}{peer:>10.3f}{ours / peer:>8.2f}")


if __name__ == "__main__":
    main()
