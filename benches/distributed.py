"""The gradient all-reduce of ``rstf.distribute`` beside a raw mpi4py ``Allreduce`` of the same
bytes, in one run: the gradients of a 784-2048-2048-10 MLP (5.8 M float32, 23 MB), summed
across the workers as ``optimizer.apply_gradients`` does under a strategy. Prints medians and
the ratio (rstf time / raw time), then the link's latency and bandwidth (ping-pong between
ranks 0 and 1) and the ring all-reduce cost model of docs/DISTRIBUTED.md filled in with them.

    python benches/distributed.py            # starts itself under mpirun -n 2
    mpirun -n 4 python benches/distributed.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np


def _relaunch():
    """Without an MPI launcher, runs this file again under ``mpirun -n 2``."""
    exe = shutil.which("mpirun", path=os.path.dirname(sys.executable)) or shutil.which("mpirun")
    if exe is None:
        sys.exit("benches/distributed.py needs mpirun (Open MPI or MPICH) and mpi4py")
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    flags = ["--allow-run-as-root", "--oversubscribe"] if "Open MPI" in version else []
    sys.exit(subprocess.call([exe, *flags, "-n", "2", sys.executable, *sys.argv]))


def _median_time(fn, comm, repeats):
    times = []
    for _ in range(repeats):
        comm.Barrier()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    # Every rank reports the slowest rank's time of each round.
    from mpi4py import MPI

    slowest = np.array(times)
    comm.Allreduce(MPI.IN_PLACE, slowest, op=MPI.MAX)
    return statistics.median(slowest)


def main():
    import rstf as tf
    from rstf.distribute import _strategy, _world

    world = _world.world()
    if world.size == 1:
        _relaunch()
    from mpi4py import MPI

    comm, rank, p = MPI.COMM_WORLD, world.rank, world.size
    shapes = [(784, 2048), (2048,), (2048, 2048), (2048,), (2048, 10), (10,)]
    rng = np.random.default_rng(rank)
    grads = [tf.constant(rng.normal(size=s).astype(np.float32)) for s in shapes]
    arrays = [g.numpy() for g in grads]
    total = sum(a.size for a in arrays)
    nbytes = total * 4
    raw = np.concatenate([a.reshape(-1) for a in arrays])
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    repeats = int(os.environ.get("BENCH_REPEATS", "15"))

    def rstf_grads():
        with strategy.scope():
            _strategy.aggregate_gradients(grads)

    def rstf_arrays():  # the collective alone, on numpy buffers (no tensor copies)
        world.allreduce([a.copy() for a in arrays], "SUM")

    def mpi_raw():
        comm.Allreduce(MPI.IN_PLACE, raw, op=MPI.SUM)

    def mpi_nonblocking():
        MPI.Request.Wait(comm.Iallreduce(MPI.IN_PLACE, raw, op=MPI.SUM))

    def tensor_copies():  # what rstf adds around MPI today: tensor -> numpy -> tensor
        [tf.constant(g.numpy()) for g in grads]

    cases = (("rstf apply_gradients all-reduce", rstf_grads), ("rstf collective on numpy", rstf_arrays),
             ("mpi4py Allreduce (blocking)", mpi_raw), ("mpi4py Iallreduce + Wait", mpi_nonblocking),
             ("tensor.numpy() + tf.constant", tensor_copies))

    # Same result as the raw reduction (sums of the same numbers)?
    with strategy.scope():
        summed = _strategy.aggregate_gradients(grads)
    want = comm.allreduce(arrays[1], op=MPI.SUM)
    assert np.allclose(summed[1].numpy(), want, rtol=1e-5), "all-reduce results differ"

    for fn in (rstf_grads, mpi_raw):  # warm-up
        fn()
    results = {}
    for _round in range(3):  # interleaved
        for name, fn in cases:
            results.setdefault(name, []).append(_median_time(fn, comm, repeats))
    med = {k: min(v) for k, v in results.items()}

    # The link: half a ping-pong round trip between ranks 0 and 1.
    def pingpong(size, rounds):
        buf = np.zeros(size, np.uint8)
        comm.Barrier()
        t0 = time.perf_counter()
        for _ in range(rounds):
            if rank == 0:
                comm.Send(buf, dest=1)
                comm.Recv(buf, source=1)
            elif rank == 1:
                comm.Recv(buf, source=0)
                comm.Send(buf, dest=0)
        return (time.perf_counter() - t0) / rounds / 2

    pingpong(8, 100)
    latency = comm.bcast(min(pingpong(8, 2000) for _ in range(3)), root=0)
    one_way = comm.bcast(min(pingpong(nbytes, 10) for _ in range(3)), root=0)
    bandwidth = nbytes / max(one_way - latency, 1e-9)

    if rank == 0:
        print(f"{p} workers on {MPI.Get_processor_name()} ({MPI.Get_library_version().split(',')[0]}), "
              f"gradients of a 784-2048-2048-10 MLP: {total:,} float32 = {nbytes / 1e6:.1f} MB, "
              f"{len(shapes)} tensors, best of 3 interleaved medians of {repeats}")
        raw_t = med["mpi4py Allreduce (blocking)"]
        for name, t in med.items():
            print(f"  {name:<34} {t * 1e3:8.2f} ms  {nbytes / t / 1e9:6.2f} GB/s  ratio {t / raw_t:5.2f}")
        print(f"ratio rstf/raw mpi4py: {med['rstf apply_gradients all-reduce'] / raw_t:.2f}")
        print(f"link (ping-pong, ranks 0-1): latency {latency * 1e6:.2f} us, "
              f"bandwidth {bandwidth / 1e9:.2f} GB/s")
        print("ring all-reduce model, 2(p-1)/p * bytes/bandwidth + 2(p-1) * latency, for these bytes:")
        for workers in (2, 8, 64, 512):
            t = 2 * (workers - 1) / workers * nbytes / bandwidth + 2 * (workers - 1) * latency
            lat = 2 * (workers - 1) * latency
            print(f"  p={workers:<4} {t * 1e3:8.2f} ms  (latency term {lat * 1e3:.3f} ms)")


if __name__ == "__main__":
    main()
