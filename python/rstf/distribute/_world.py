"""The group of processes behind ``rstf.distribute``: the MPI world through mpi4py, or a world
of one process.

mpi4py is imported on first use, and only when the process was started by an MPI launcher
(``mpirun``, ``mpiexec``, ``srun``: their environment variables say so) or when
``RSTF_DISTRIBUTE_MPI=1`` asks for it; otherwise, or when mpi4py is missing, the world has one
rank and every collective is a copy.

Every collective is nonblocking (``Iallreduce``, ``Ibcast``, ``Iallgather``...) and waited on by
polling ``Test`` against a deadline (``RSTF_DISTRIBUTE_TIMEOUT`` seconds, 300 by default): a
worker that died or hangs makes the others raise :class:`~rstf.errors.DeadlineExceededError`
(or :class:`~rstf.errors.UnavailableError` when MPI reports the failure) instead of waiting
forever. Before its data, each collective exchanges a digest of what every worker passes
(kind, dtypes, shapes, root) in one small allgather, so workers that disagree raise
:class:`~rstf.errors.InvalidArgumentError` naming what each one passed.

Buffers: arrays under 1 MB of one dtype are copied into send buffers kept from call to call,
buckets of ``bucket_bytes`` (25 MB by default, Horovod's tensor fusion), so that each bucket
costs one ``Iallreduce``; larger arrays travel alone, straight from their memory
(``Tensor.numpy()`` is a view of the tensor's buffer) into a new array that the caller keeps
(``rstf.from_dlpack`` wraps it without a copy). Collectives are made from one thread at
a time.

>>> from rstf.distribute import _world
>>> import numpy as np
>>> w = _world.world()
>>> w.size, w.rank
(1, 0)
>>> w.allreduce([np.array([1.0, 2.0])], "SUM")[0]
array([1., 2.])
"""

from __future__ import annotations

import atexit
import hashlib
import os
import pickle
import signal
import socket
import sys
import threading
import time

import numpy as np

from ..errors import DeadlineExceededError, InvalidArgumentError, UnavailableError

__all__ = ["World", "world", "timeout_seconds", "DEFAULT_BUCKET_BYTES"]

DEFAULT_TIMEOUT = 300.0
DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024
# Arrays of this size or more are reduced on their own: packing them would only add a copy
# (fusion pays for small tensors, whose reductions are latency-bound).
FUSION_THRESHOLD = 1024 * 1024
_POOL_BYTES = 1 << 30
# Set by MPI launchers (Open MPI, PMIx, Hydra/MPICH, MVAPICH, Intel MPI, Slurm's PMI).
_LAUNCHER_VARS = ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK", "MPI_LOCALNRANKS",
                  "MV2_COMM_WORLD_SIZE", "I_MPI_HYDRA_HOST_FILE")
_KINDS = {"allreduce": 1, "broadcast": 2, "allgather": 3, "barrier": 4, "objects": 5}

_lock = threading.Lock()
_world = None


def timeout_seconds(value=None) -> float:
    """The deadline of one collective: ``value`` if given, else ``RSTF_DISTRIBUTE_TIMEOUT``,
    else 300 seconds."""
    if value is None:
        text = os.environ.get("RSTF_DISTRIBUTE_TIMEOUT", "")
        if not text.strip():
            return DEFAULT_TIMEOUT
        try:
            value = float(text)
        except ValueError:
            raise InvalidArgumentError(
                f"RSTF_DISTRIBUTE_TIMEOUT={text!r} is not a number of seconds") from None
    value = float(value)
    if not value > 0:
        raise InvalidArgumentError(f"the collective timeout must be positive, got {value}")
    return value


def _launched_by_mpi() -> bool:
    forced = os.environ.get("RSTF_DISTRIBUTE_MPI", "").strip().lower()
    if forced in ("0", "false", "no", "off"):
        return False
    if forced in ("1", "true", "yes", "on"):
        return True
    return any(os.environ.get(v) for v in _LAUNCHER_VARS)


def world() -> World:
    """The process's world, made on first use (importing mpi4py then, if launched by MPI)."""
    global _world
    if _world is None:
        with _lock:
            if _world is None:
                comm = mpi = None
                if _launched_by_mpi():
                    _tune_open_mpi()
                    try:
                        from mpi4py import MPI
                    except ImportError:
                        MPI = None
                    if MPI is not None and MPI.COMM_WORLD.Get_size() > 1:
                        comm, mpi = MPI.COMM_WORLD, MPI
                _world = World(comm, mpi)
    return _world


def _tune_open_mpi():
    """Below 4 processes Open MPI's nonblocking all-reduce (libnbc) reduces along a binomial
    tree whatever the size, which moves twice the bytes of a reduce-scatter + allgather and
    takes twice as long as the blocking all-reduce on large buffers; for 2 or 3 workers (and
    unless the user chose) use reduce-scatter + allgather, the choice it makes from 4."""
    size = os.environ.get("OMPI_COMM_WORLD_SIZE", "")
    if size.isdigit() and 2 <= int(size) < 4:
        os.environ.setdefault("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "3")


def _digest(signature) -> int:
    h = hashlib.blake2b(repr(signature).encode(), digest_size=8).digest()
    return int.from_bytes(h, "little") & ((1 << 62) - 1)


def _describe(signature) -> str:
    return " ".join(str(p) for p in signature)


def _spec(a) -> str:
    """``float32[2, 3]``: an array's dtype and shape as the error messages show them."""
    return f"{a.dtype.name}{list(a.shape)}"


# Reduction dtypes: what MPI reduces natively; other dtypes travel as one of these.
_NATIVE = {np.dtype(t) for t in ("float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                                 "uint16", "uint32", "uint64", "complex64", "complex128")}


def _wire_dtype(dtype: np.dtype) -> np.dtype:
    if dtype in _NATIVE:
        return dtype
    if dtype.kind == "b":
        return np.dtype("int32")
    if dtype.kind == "f" or dtype.kind == "V":  # float16, and bfloat16 from ml_dtypes
        return np.dtype("float32")
    raise InvalidArgumentError(f"collectives do not support the dtype {dtype}")


class World:
    """The ranks of the job. With ``comm=None`` it is a world of one process."""

    def __init__(self, comm=None, mpi=None):
        self.comm, self.MPI = comm, mpi
        self.rank = 0 if comm is None else comm.Get_rank()
        self.size = 1 if comm is None else comm.Get_size()
        self.failed = None  # the error of a collective that failed: the world is unusable after it
        # The buffers of collectives given up on: MPI may still write into them, so they live on.
        self._abandoned: list = []
        self._pool: dict = {}  # the all-reduce's buffers, kept from call to call
        self._pool_bytes = 0
        # Open MPI's nonblocking all-reduce takes a binomial tree for any in-place reduction
        # unless an algorithm is chosen (see _tune_open_mpi); then reduce out of place.
        self._in_place = mpi is None or not mpi.Get_library_version().startswith("Open MPI") or \
            os.environ.get("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "0").strip() not in ("", "0")
        self._aborting = False
        host = socket.gethostname()
        if comm is None:
            self.hostnames = [host]
        else:
            self.hostnames = [str(h) for h in self._gather_objects(host, timeout_seconds(), "hostnames",
                                                                   check=False)]
            _abort_on_uncaught_exception(comm)

    def __repr__(self):
        return f"<World rank={self.rank} size={self.size}{'' if self.comm else ' (no MPI)'}>"

    @property
    def is_chief(self) -> bool:
        return self.rank == 0

    # -- waiting ----------------------------------------------------------------------------

    def _fail(self, error):
        self.failed = error
        if not self._aborting and self.comm is not None:
            # MPI_Finalize would wait for the worker that failed; end the whole job instead.
            self._aborting = True
            atexit.register(self._abort_at_exit)
        raise error

    def _abort_at_exit(self):
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            self.comm.Abort(1)
        except Exception:  # noqa: BLE001 (nothing more can be done at exit)
            pass

    def _check_usable(self, what):
        if self.failed is not None:
            raise UnavailableError(f"{what}: an earlier collective failed ({self.failed}); the workers are "
                                   "out of step and the job must be restarted")

    def _wait(self, requests, deadline, timeout, what, buffers):
        """Polls ``requests`` until all complete, raising at the deadline. The first 200 us
        spin (a small collective between local ranks takes microseconds), then each poll
        yields the CPU (MPI progresses a nonblocking collective only inside the calls that test
        it, so polls must stay frequent while data flows); after a second, a worker is late:
        0.1 ms between polls, 1 ms after ten seconds."""
        MPI = self.MPI
        start = time.monotonic()
        previous = _install_sigterm()
        done = False
        try:
            while True:
                try:
                    if MPI.Request.Testall(requests):
                        done = True
                        return
                except MPI.Exception as e:
                    self._fail(UnavailableError(f"{what}: MPI reported a failure: {e}"))
                now = time.monotonic()
                if now > deadline:
                    self._fail(DeadlineExceededError(
                        f"{what}: not all {self.size} workers joined within {timeout:g} s "
                        "(RSTF_DISTRIBUTE_TIMEOUT): a worker died or hangs, or the workers called "
                        "different collectives"))
                waited = now - start
                if waited < 0.0002:
                    continue
                time.sleep(0 if waited < 1.0 else 0.0001 if waited < 10.0 else 0.001)
        except _Terminated:
            self._fail(UnavailableError(
                f"{what}: the job is being stopped (SIGTERM from the launcher): another worker died"))
        finally:
            _restore_sigterm(previous)
            if not done:
                self._abandoned.append((requests, buffers))

    # -- metadata ---------------------------------------------------------------------------

    def _agree(self, signature, count, deadline, timeout, what):
        """Allgathers ``(digest of signature, count)``; raises when the signatures differ.
        Returns every rank's ``count``."""
        local = np.array([_digest(signature), count], dtype=np.int64)
        table = np.empty((self.size, 2), dtype=np.int64)
        MPI = self.MPI
        self._wait([self.comm.Iallgather([local, MPI.INT64_T], [table, MPI.INT64_T])], deadline, timeout,
                   what, (local, table))
        if np.any(table[:, 0] != table[0, 0]):
            signatures = self._gather_objects(signature, timeout, what, check=False)
            lines = "\n".join(f"  worker {r}: {_describe(s)}" for r, s in enumerate(signatures))
            raise InvalidArgumentError(f"{what}: the workers passed different values (every worker must "
                                       f"pass the same dtypes and shapes):\n{lines}")
        return table[:, 1]

    # -- collectives on numpy arrays ---------------------------------------------------------

    def allreduce(self, arrays, op="SUM", timeout=None, bucket_bytes=None, what="all_reduce",
                  count=None, weight_by_count=False):
        """Reduces each array across the workers (``op``: SUM, MEAN, MAX, MIN). A result that
        owns its memory (``flags.owndata``: a large array, reduced straight from the given
        memory into a new array) is the caller's; the others are views of buffers that the
        next ``allreduce`` reuses: copy them to keep them. With
        ``weight_by_count``, each worker's arrays are multiplied by its ``count`` before a SUM
        and the result divided by the total count: the mean over examples when workers saw
        different numbers of them."""
        arrays = [np.asarray(a) for a in arrays]
        if self.comm is None:
            return [a.copy() for a in arrays]
        self._check_usable(what)
        timeout = timeout_seconds(timeout)
        deadline = time.monotonic() + timeout
        op = op.upper()
        signature = ("allreduce", op, *[_spec(a) for a in arrays])
        counts = self._agree(signature, -1 if count is None else int(count), deadline, timeout, what)
        total = int(counts.sum())
        MPI = self.MPI
        mpi_op = {"SUM": MPI.SUM, "MEAN": MPI.SUM, "MAX": MPI.MAX, "MIN": MPI.MIN}[op]
        plan = _buckets(arrays, bucket_bytes or DEFAULT_BUCKET_BYTES)
        # Each bucket is copied into a buffer kept from call to call (MPI moves data between
        # buffers it has seen before twice as fast as between new ones here) and reduced in
        # place, or out of place into another kept buffer (see __init__).
        weighted = weight_by_count and count != 1
        sends, recvs, places = self._pooled(plan, arrays, weighted), [], [None] * len(arrays)
        for (dtype, indices), send in zip(plan, sends):
            a = arrays[indices[0]]
            if send is None:  # a large array travels from its own memory into a new one
                recv = np.empty(a.shape, dtype)
                if self._in_place:
                    recv[...] = a
                    send = recv
                else:
                    send = a.reshape(-1)
                sends[len(recvs)] = send
                places[indices[0]] = (len(recvs), None)
                recvs.append(recv)
                continue
            offset = 0
            for i in indices:
                part = send[offset:offset + arrays[i].size]
                if weight_by_count and count == 0:
                    part.fill(0)  # an empty shard's mean is NaN: it contributes nothing
                elif weight_by_count and count != 1:
                    np.multiply(arrays[i].reshape(-1), count, out=part, casting="unsafe")
                else:
                    part[...] = arrays[i].reshape(-1)
                places[i] = (len(recvs), offset)
                offset += arrays[i].size
            recvs.append(send if self._in_place else self._pool_buffer(("recv", len(recvs)), dtype, offset))
        requests = [self.comm.Iallreduce(MPI.IN_PLACE if send is recv else send, recv.reshape(-1),
                                         op=mpi_op) for send, recv in zip(sends, recvs)]
        self._wait(requests, deadline, timeout, what, (sends, recvs))
        out = []
        for a, (b, offset) in zip(arrays, places):
            r = recvs[b] if offset is None else recvs[b][offset:offset + a.size].reshape(a.shape)
            if op == "MEAN" or weight_by_count:
                div = total if weight_by_count else self.size
                if div == 0:
                    r.fill(0)
                elif r.dtype.kind in "iu":
                    np.floor_divide(r, div, out=r)
                else:
                    np.divide(r, div, out=r)
            out.append(r.astype(a.dtype, copy=False))
        return out

    def _pooled(self, plan, arrays, weighted=False):
        """The kept send buffer of each bucket, or None for an array that travels from its own
        memory (one alone in its bucket, C-contiguous, of its wire dtype, unweighted)."""
        def direct(indices, dtype):
            a = arrays[indices[0]]
            return (len(indices) == 1 and not weighted and a.dtype == dtype and a.flags.c_contiguous
                    and a.nbytes >= FUSION_THRESHOLD)
        return [None if direct(indices, dtype) else
                self._pool_buffer(("send", b), dtype, sum(arrays[i].size for i in indices))
                for b, (dtype, indices) in enumerate(plan)]

    def _pool_buffer(self, key, dtype, size):
        """A buffer of ``size`` elements of ``dtype`` kept for the next call with the same key
        (at most ``_POOL_BYTES`` in all)."""
        key = (*key, dtype.str, size)
        buf = self._pool.get(key)
        if buf is None:
            if self._pool_bytes + size * dtype.itemsize > _POOL_BYTES:
                self._pool.clear()
                self._pool_bytes = 0
            buf = self._pool[key] = np.empty(size, dtype)
            self._pool_bytes += buf.nbytes
        return buf

    def broadcast(self, array, root=0, timeout=None, what="broadcast"):
        """``array`` of rank ``root`` on every rank (shapes and dtypes must match)."""
        array = np.array(array, copy=True, order="C")
        if self.comm is None:
            return array
        self._check_usable(what)
        timeout = timeout_seconds(timeout)
        deadline = time.monotonic() + timeout
        self._agree(("broadcast from", int(root), _spec(array)), -1, deadline, timeout, what)
        buf = array.reshape(-1).view(np.uint8) if array.size else np.empty(0, np.uint8)
        self._wait([self.comm.Ibcast(buf, root=root)], deadline, timeout, what, buf)
        return array

    def allgather(self, array, timeout=None, what="gather"):
        """The arrays of all ranks concatenated along axis 0 (their first dimensions may
        differ; the rest of the shape and the dtype must match)."""
        array = np.ascontiguousarray(array)
        if array.ndim == 0:
            array = array.reshape(1)
        if self.comm is None:
            return array.copy()
        self._check_usable(what)
        timeout = timeout_seconds(timeout)
        deadline = time.monotonic() + timeout
        rows_spec = f"{array.dtype.name}[*, {str(list(array.shape[1:]))[1:]}"
        rows = self._agree(("allgather", rows_spec), array.shape[0], deadline, timeout, what)
        row_bytes = int(np.prod(array.shape[1:], dtype=np.int64)) * array.itemsize
        out = np.empty((int(rows.sum()), *array.shape[1:]), dtype=array.dtype)
        counts = [int(r) * row_bytes for r in rows]
        displs = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64).tolist()
        send = array.reshape(-1).view(np.uint8) if array.size else np.empty(0, np.uint8)
        recv = out.reshape(-1).view(np.uint8) if out.size else np.empty(0, np.uint8)
        MPI = self.MPI
        self._wait([self.comm.Iallgatherv([send, MPI.BYTE], [recv, counts, displs, MPI.BYTE])], deadline,
                   timeout, what, (send, recv))
        return out

    def gather_objects(self, obj, timeout=None, what="gather_objects"):
        """Every rank's picklable ``obj``, as a list indexed by rank."""
        if self.comm is None:
            return [obj]
        self._check_usable(what)
        return self._gather_objects(obj, timeout_seconds(timeout), what)

    def _gather_objects(self, obj, timeout, what, check=True):
        deadline = time.monotonic() + timeout
        data = np.frombuffer(pickle.dumps(obj), dtype=np.uint8)
        if check:
            sizes = self._agree(("objects",), len(data), deadline, timeout, what)
        else:
            sizes = np.empty(self.size, dtype=np.int64)
            mine = np.array([len(data)], np.int64)
            MPI = self.MPI
            self._wait([self.comm.Iallgather([mine, MPI.INT64_T], [sizes, MPI.INT64_T])], deadline, timeout,
                       what, (mine, sizes))
        parts = self._gatherv_bytes(data, [int(s) for s in sizes], deadline, timeout, what)
        return [pickle.loads(p.tobytes()) for p in parts]

    def _gatherv_bytes(self, data, sizes, deadline, timeout, what):
        MPI = self.MPI
        out = np.empty(sum(sizes), dtype=np.uint8)
        displs = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64).tolist()
        self._wait([self.comm.Iallgatherv([data, MPI.BYTE], [out, sizes, displs, MPI.BYTE])], deadline,
                   timeout, what, (data, out))
        return [out[d:d + s] for d, s in zip(displs, sizes)]

    def broadcast_object(self, obj, root=0, timeout=None, what="broadcast_object"):
        """Rank ``root``'s picklable ``obj`` on every rank."""
        if self.comm is None:
            return obj
        return self.gather_objects(obj if self.rank == root else None, timeout, what)[root]

    def barrier(self, timeout=None, what="barrier"):
        """Returns once every rank has called it."""
        if self.comm is None:
            return
        self._check_usable(what)
        timeout = timeout_seconds(timeout)
        deadline = time.monotonic() + timeout
        self._agree(("barrier",), -1, deadline, timeout, what)


def _buckets(arrays, bucket_bytes):
    """How the arrays travel: ``[(wire dtype, [indices of the arrays])]``, one entry per
    ``Iallreduce``. Arrays under ``FUSION_THRESHOLD`` bytes (and ``bucket_bytes``) share
    buckets of one dtype of at most ``bucket_bytes``; larger ones travel alone."""
    plan, open_ = [], {}
    for i, a in enumerate(arrays):
        wire = _wire_dtype(a.dtype)
        nbytes = a.size * wire.itemsize
        if nbytes >= min(bucket_bytes, FUSION_THRESHOLD):
            plan.append((wire, [i]))
            continue
        indices, filled = open_.get(wire, ([], 0))
        if indices and filled + nbytes > bucket_bytes:
            plan.append((wire, indices))
            indices, filled = [], 0
        indices.append(i)
        open_[wire] = (indices, filled + nbytes)
    plan.extend((wire, indices) for wire, (indices, _) in open_.items())
    return plan


def _abort_on_uncaught_exception(comm):
    """An exception that ends one worker ends the job (``MPI_Abort``, as ``python -m mpi4py``
    does) instead of leaving the others waiting for it until their deadline."""
    previous = sys.excepthook

    def hook(kind, value, traceback):
        previous(kind, value, traceback)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            comm.Abort(1)

    sys.excepthook = hook


class _Terminated(BaseException):
    pass


def _on_sigterm(signum, frame):
    raise _Terminated()


def _install_sigterm():
    """While a collective waits, SIGTERM (what ``mpirun`` sends the other workers when one
    dies) raises a clear error instead of killing the process silently."""
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return None
        return signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):
        return None


def _restore_sigterm(previous):
    if previous is not None:
        try:
            signal.signal(signal.SIGTERM, previous)
        except (ValueError, OSError):
            pass
