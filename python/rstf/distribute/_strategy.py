"""Strategies, replica contexts and the collectives on tensors.

One replica per process: ``MultiWorkerMirroredStrategy`` has one per MPI rank, the others one
in this process. A strategy's ``scope()`` pushes it on a per-thread stack; variables created
there get rank 0's initial value on every worker (one broadcast each, when they are created),
so the replicas start equal and stay equal because every update applies gradients all-reduced
across them. ``run`` calls the function in a :class:`ReplicaContext`; the collectives (the
context's ``all_reduce``/``all_gather``, the strategy's ``reduce``/``gather`` and the gradient
reduction of ``Optimizer.apply_gradients``) copy the tensors to numpy buffers, call the MPI
world (``_world``) and make tensors of the results; inside a traced function they become one
graph node each that calls back into Python at every run of the graph.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import os
import threading

import numpy as np

from .. import _device, _rstf, _variable, nest
from .. import _ops as _o
from ..errors import InvalidArgumentError, UnavailableError
from . import _world
from ._input import DatasetFromFunction, DistributedDataset, InputContext, shard_bounds
from .cluster_resolver import ClusterResolver, MPIClusterResolver, TFConfigClusterResolver

__all__ = ["ReduceOp", "Strategy", "MultiWorkerMirroredStrategy", "MirroredStrategy", "OneDeviceStrategy",
           "ReplicaContext", "CommunicationOptions", "CommunicationImplementation", "get_strategy",
           "has_strategy", "get_replica_context", "in_cross_replica_context", "experimental_set_strategy"]


class ReduceOp(enum.Enum):
    """How values of the replicas combine: ``SUM`` or ``MEAN``."""

    SUM = "SUM"
    MEAN = "MEAN"

    @staticmethod
    def from_variable_aggregation(aggregation):
        name = getattr(aggregation, "name", str(aggregation)).upper()
        if name in ("SUM", "MEAN"):
            return ReduceOp[name]
        raise ValueError(f"Could not convert from `tf.VariableAggregation` {aggregation} to "
                         "`tf.distribute.ReduceOp`")


def _op_name(reduce_op) -> str:
    if isinstance(reduce_op, ReduceOp):
        return reduce_op.value
    name = str(reduce_op).upper()
    if name not in ("SUM", "MEAN"):
        raise ValueError(f"reduce_op must be tf.distribute.ReduceOp.SUM or MEAN, got {reduce_op!r}")
    return name


class CommunicationImplementation(enum.Enum):
    """Which collective implementation to use; rstf always uses MPI."""

    AUTO = "AUTO"
    RING = "RING"
    NCCL = "NCCL"


class CommunicationOptions:
    """Options of the collectives: ``bytes_per_pack`` (the size of the buckets gradients are
    packed into, 25 MB when 0), ``timeout_seconds`` (the deadline of each collective; by
    default ``RSTF_DISTRIBUTE_TIMEOUT``, else 300 s) and ``implementation`` (accepted; MPI
    always carries them)."""

    def __init__(self, bytes_per_pack=0, timeout_seconds=None,
                 implementation=CommunicationImplementation.AUTO):
        if bytes_per_pack < 0:
            raise ValueError(f"bytes_per_pack must be non-negative, got {bytes_per_pack}")
        if timeout_seconds is not None and not timeout_seconds > 0:
            raise ValueError(f"timeout_seconds must be positive, got {timeout_seconds}")
        self.bytes_per_pack = int(bytes_per_pack)
        self.timeout_seconds = timeout_seconds
        self.implementation = implementation


# -- the per-thread stacks ----------------------------------------------------------------------

_state = threading.local()


def _stack() -> list:
    if not hasattr(_state, "strategies"):
        _state.strategies, _state.replicas = [], []
    return _state.strategies


def _replicas() -> list:
    _stack()
    return _state.replicas


def get_strategy():
    """The strategy whose scope is entered, else the default strategy (one replica, no
    communication).

    >>> import rstf as tf
    >>> tf.distribute.get_strategy().num_replicas_in_sync
    1
    """
    stack = _stack()
    return stack[-1] if stack else _default_strategy()


def has_strategy() -> bool:
    """Whether a strategy's scope is entered (the default strategy does not count)."""
    return bool(_stack())


def in_cross_replica_context() -> bool:
    """Inside a strategy's scope and outside ``strategy.run``."""
    replicas = _replicas()
    return has_strategy() and (not replicas or replicas[-1] is None)


def get_replica_context():
    """The replica context inside ``strategy.run`` (and outside any strategy, the default
    one); ``None`` in a cross-replica context (a strategy's scope, outside ``run``).

    >>> import rstf as tf
    >>> ctx = tf.distribute.get_replica_context()
    >>> ctx.all_reduce(tf.distribute.ReduceOp.SUM, tf.constant(3.0))
    <rstf.Tensor: shape=(), dtype=float32, numpy=3.0>
    """
    replicas = _replicas()
    if replicas:
        return replicas[-1]
    if has_strategy():
        return None
    return _default_strategy()._default_replica


def get_cross_replica_context():
    """The strategy in a cross-replica context; ``None`` inside ``strategy.run``."""
    return get_strategy() if in_cross_replica_context() or not has_strategy() else None


def experimental_set_strategy(strategy):
    """Makes ``strategy`` current (``None``: back to the default) outside any ``with`` block."""
    stack = _stack()
    while stack:
        stack.pop()._leave()
    if strategy is not None:
        strategy._enter()
        stack.append(strategy)


# -- variables made in a scope ------------------------------------------------------------------

_hook_installed = False


def _install_variable_hook():
    global _hook_installed
    if not _hook_installed:
        _variable._CREATED_HOOKS.append(_on_variable_created)
        _hook_installed = True


def _on_variable_created(v):
    stack = _stack()
    if stack and stack[-1]._world.size > 1:
        stack[-1]._sync_variable(v)


# -- collectives on tensors ---------------------------------------------------------------------

def _collective(name, fn, tensors, same_shapes=True):
    """``fn`` (numpy arrays to numpy arrays) on ``tensors``; while tracing, a graph node that
    calls it at each run (its results take the inputs' shapes, or, with ``same_shapes``
    False, the shapes of a call made now: every worker traces the same program)."""
    tensors = [_o.convert_to_tensor(t) for t in tensors]

    def run(*ts):
        # Tensor.numpy() is a view of the tensor's buffer; a result that owns its memory is
        # wrapped as it is (nothing else holds it), a view of a reused buffer is copied.
        return [_result_tensor(a) for a in fn([np.asarray(t.numpy()) for t in ts])]

    if not _rstf.is_tracing():
        return run(*tensors)
    depth = _rstf.trace_suspend()
    try:
        if same_shapes:
            examples = [_o.zeros(list(t.shape), t.dtype) for t in tensors]
        else:
            examples = run(*tensors)
    finally:
        _rstf.trace_resume(depth)
    return list(_rstf.trace_callback(name, run, tensors, examples))


def _result_tensor(a):
    """A collective's result as a tensor: an array owning its memory is wrapped without a copy
    (the collective made it and nothing else holds it), others are copied."""
    if a.flags.owndata:
        try:
            return _rstf._from_dlpack(a)
        except (BufferError, TypeError):  # a dtype DLPack or rstf cannot share (bfloat16)
            pass
    return _o.convert_to_tensor(a)


def _check_axis(t, axis, what):
    rank = len(t.shape)
    if not -rank <= axis < rank:
        raise InvalidArgumentError(f"{what}: axis {axis} is out of range for a tensor of rank {rank}")
    return axis % rank


class ReplicaContext:
    """The context of one replica inside ``strategy.run``: its id and the collectives among
    the replicas."""

    def __init__(self, strategy, replica_id_in_sync_group=0):
        self._strategy = strategy
        self._replica_id = replica_id_in_sync_group

    @property
    def strategy(self):
        return self._strategy

    @property
    def num_replicas_in_sync(self) -> int:
        return self._strategy.num_replicas_in_sync

    @property
    def replica_id_in_sync_group(self):
        return _o.constant(self._replica_id, "int32")

    @property
    def devices(self):
        return (self._strategy._device_name(),)

    def all_reduce(self, reduce_op, value, options=None):
        """``value`` (a tensor or a structure of them) reduced across the replicas: every
        replica gets the sum (or mean). The tensors travel in buckets."""
        flat = nest.flatten(value)
        return nest.pack_sequence_as(value, self._strategy._all_reduce(flat, _op_name(reduce_op), options))

    def all_gather(self, value, axis, options=None):
        """``value`` of every replica concatenated along ``axis``."""
        flat = nest.flatten(value)
        return nest.pack_sequence_as(value, [self._strategy._all_gather(t, axis) for t in flat])

    def merge_call(self, merge_fn, args=(), kwargs=None):
        """Calls ``merge_fn(strategy, *args, **kwargs)`` in the cross-replica context."""
        replicas = _replicas()
        replicas.append(None)  # None on top: a cross-replica context
        try:
            return merge_fn(self._strategy, *args, **(kwargs or {}))
        finally:
            replicas.pop()

    def __enter__(self):
        _replicas().append(self)
        return self

    def __exit__(self, *exc):
        _replicas().pop()
        return False


class ValueContext:
    """What ``experimental_distribute_values_from_function`` passes its function."""

    def __init__(self, replica_id_in_sync_group=0, num_replicas_in_sync=1):
        self.replica_id_in_sync_group = replica_id_in_sync_group
        self.num_replicas_in_sync = num_replicas_in_sync


class StrategyExtended:
    """``strategy.extended``: where this worker stands."""

    def __init__(self, strategy):
        self._strategy = strategy

    @property
    def should_checkpoint(self) -> bool:
        """Whether this worker writes checkpoints (the chief)."""
        return self._strategy._is_chief()

    should_save_summary = should_checkpoint

    @property
    def should_init(self) -> bool:
        return True

    @property
    def experimental_between_graph(self) -> bool:
        return self._strategy._world.size > 1

    @property
    def worker_devices(self):
        return (self._strategy._device_name(),)

    parameter_devices = worker_devices

    def _in_multi_worker_mode(self) -> bool:
        return self._strategy._world.size > 1


class Strategy:
    """The base of the strategies: one replica in this process."""

    def __init__(self, world=None, device=None, cluster_resolver=None, communication_options=None):
        self._world = world if world is not None else _world.World()
        self._device = device
        self._device_scopes = []
        self._cluster_resolver = cluster_resolver
        self._options = communication_options or CommunicationOptions()
        self._step_examples = None  # set by Model.fit: the examples of this worker's batch
        self._default_replica = ReplicaContext(self, 0)
        self.extended = StrategyExtended(self)

    def __repr__(self):
        return f"<{type(self).__name__} replicas={self.num_replicas_in_sync}>"

    @property
    def num_replicas_in_sync(self) -> int:
        """The number of replicas (one per worker)."""
        return self._world.size

    @property
    def cluster_resolver(self):
        return self._cluster_resolver

    def _is_chief(self) -> bool:
        return self._world.rank == 0

    def _device_name(self) -> str:
        kind = _device._parse(self._device) or "CPU"
        task = self._world.rank
        return f"/job:worker/replica:0/task:{task}/device:{kind}:0"

    def _timeout(self):
        return _world.timeout_seconds(self._options.timeout_seconds)

    # -- scope ----------------------------------------------------------------------------

    def _enter(self):
        _install_variable_hook()
        scope = _device.device(self._device) if self._device is not None else None
        if scope is not None:
            scope.__enter__()
        self._device_scopes.append(scope)

    def _leave(self):
        scope = self._device_scopes.pop()
        if scope is not None:
            scope.__exit__(None, None, None)

    @contextlib.contextmanager
    def scope(self):
        """Makes this the current strategy: variables created inside are mirrored (rank 0's
        initial value broadcast to every worker), and Keras models compiled inside train with
        it."""
        stack = _stack()
        if stack and stack[-1] is not self:
            raise ValueError("Mixing different tf.distribute.Strategy objects: already in the scope of "
                             f"{stack[-1]!r}, entering that of {self!r}")
        self._enter()
        stack.append(self)
        try:
            yield self
        finally:
            stack.pop()
            self._leave()

    # -- running ----------------------------------------------------------------------------

    def run(self, fn, args=(), kwargs=None, options=None):
        """Calls ``fn(*args, **kwargs)`` as this worker's replica (in this strategy's scope, in
        a replica context); returns what it returns (the local result: reduce it with
        :meth:`reduce`)."""
        with self.scope(), ReplicaContext(self, self._world.rank):
            return fn(*args, **(kwargs or {}))

    def reduce(self, reduce_op, value, axis=None):
        """The replicas' ``value`` reduced across them (and along ``axis`` first when given:
        a MEAN then averages over all the rows of all the replicas).

        >>> import rstf as tf
        >>> s = tf.distribute.get_strategy()
        >>> s.reduce(tf.distribute.ReduceOp.MEAN, tf.constant([1.0, 2.0, 6.0]), axis=0)
        <rstf.Tensor: shape=(), dtype=float32, numpy=3.0>
        """
        op = _op_name(reduce_op)
        flat = [_o.convert_to_tensor(t) for t in nest.flatten(value)]
        if axis is None:
            return nest.pack_sequence_as(value, self._all_reduce(flat, op))
        out = []
        for t in flat:
            a = _check_axis(t, axis, "reduce")
            if op == "SUM":
                out.extend(self._all_reduce([_o.reduce_sum(t, axis=a)], "SUM"))
            else:
                rows = int(t.shape[a])
                local = _o.reduce_mean(t, axis=a)
                if self._world.size == 1:
                    out.append(local)
                    continue
                out.extend(self._mean_over_rows(local, rows))
        return nest.pack_sequence_as(value, out)

    def gather(self, value, axis):
        """The replicas' ``value`` concatenated along ``axis`` (their sizes along it may
        differ)."""
        flat = nest.flatten(value)
        return nest.pack_sequence_as(value, [self._all_gather(t, axis) for t in flat])

    def experimental_local_results(self, value):
        """The values of this worker's replicas: a tuple of one."""
        return (value,)

    def experimental_distribute_values_from_function(self, value_fn):
        return value_fn(ValueContext(self._world.rank, self.num_replicas_in_sync))

    # -- input ------------------------------------------------------------------------------

    def experimental_distribute_dataset(self, dataset, options=None):
        """``dataset`` (batched with the global batch size) as this worker reads it: its rows
        of each batch (see ``rstf.distribute._input``)."""
        if isinstance(dataset, (DistributedDataset, DatasetFromFunction)):
            return dataset
        return DistributedDataset(dataset, self._world.size, self._world.rank)

    def distribute_datasets_from_function(self, dataset_fn, options=None):
        """The dataset ``dataset_fn(InputContext)`` makes for this worker (one input pipeline
        per worker; the function shards and batches it per replica)."""
        ctx = InputContext(self._world.size, self._world.rank, self.num_replicas_in_sync)
        return DatasetFromFunction(dataset_fn(ctx))

    experimental_distribute_datasets_from_function = distribute_datasets_from_function

    # -- collectives ------------------------------------------------------------------------

    def _all_reduce(self, tensors, op, options=None):
        tensors = [_o.convert_to_tensor(t) for t in tensors]
        if self._world.size == 1 or not tensors:
            return [_o.identity(t) for t in tensors]
        world, timeout, pack = self._world, self._timeout(), self._bucket_bytes(options)
        return _collective("CollectiveReduceV2", lambda arrays: world.allreduce(
            arrays, op, timeout, pack, what=f"all_reduce({op})"), tensors)

    def _mean_over_rows(self, local, rows):
        """The mean over all workers' rows of the per-worker means ``local`` of ``rows`` rows."""
        world, timeout = self._world, self._timeout()
        return _collective("CollectiveReduceV2", lambda arrays: world.allreduce(
            arrays, "SUM", timeout, what="reduce(MEAN, axis)", count=rows, weight_by_count=True), [local])

    def _all_gather(self, t, axis):
        t = _o.convert_to_tensor(t)
        a = _check_axis(t, axis, "gather")
        if self._world.size == 1:
            return _o.identity(t)
        world, timeout = self._world, self._timeout()

        def fn(arrays):
            moved = np.moveaxis(arrays[0], a, 0)
            return [np.moveaxis(world.allgather(np.ascontiguousarray(moved), timeout, what="gather"), 0, a)]
        return _collective("CollectiveGatherV2", fn, [t], same_shapes=False)[0]

    def _bucket_bytes(self, options=None):
        pack = getattr(options, "bytes_per_pack", 0) or self._options.bytes_per_pack
        return pack or _world.DEFAULT_BUCKET_BYTES

    def _reduce_gradients(self, grads):
        """The gradients summed across the replicas (TensorFlow's rule: scale the loss by the
        global batch size), or, inside ``Model.fit``, averaged over the examples of all
        workers' batches."""
        world, timeout, pack = self._world, self._timeout(), self._bucket_bytes()

        def fn(arrays):
            count = self._step_examples
            return world.allreduce(arrays, "SUM", timeout, pack, what="gradient all-reduce",
                                   count=count, weight_by_count=count is not None)
        return _collective("CollectiveReduceV2", fn, grads)

    def _sync_variable(self, v):
        """Gives the new variable ``v`` rank 0's value (outside any trace and tape)."""
        depth = _rstf.trace_suspend()
        _rstf.pause_recording()
        try:
            value = np.asarray(v._peek())
            synced = self._world.broadcast(value, 0, self._timeout(),
                                           what=f"the initial value of variable '{v.name}'")
            if self._world.rank != 0:
                v._assign(synced)
        finally:
            _rstf.resume_recording()
            _rstf.trace_resume(depth)

    # -- support for Keras --------------------------------------------------------------------

    def _shared_seed(self):
        """A seed drawn by rank 0 and used by all (None in a world of one: fresh entropy)."""
        if self._world.size == 1:
            return None
        seed = int(np.random.SeedSequence().entropy % (1 << 63)) if self._world.rank == 0 else None
        return self._world.broadcast_object(seed, 0, self._timeout(), what="the shuffling seed")

    def _shard_rows(self, rows):
        """This worker's ``(start, stop)`` in a global batch of ``rows``."""
        return shard_bounds(rows, self._world.size, self._world.rank)

    def _reduce_logs(self, values: dict, examples: int):
        """The step's logs (means over this worker's ``examples``) as means over all workers'
        examples, and the number of those; the sums run in rank order, so every worker gets
        the same numbers."""
        if self._world.size == 1:
            return values, examples
        row = np.array([[examples, *((v * examples) if examples else 0.0 for v in values.values())]],
                       dtype=np.float64)
        table = self._world.allgather(row, self._timeout(), what=f"the metrics {list(values)}")
        total = float(table[:, 0].sum())
        sums = table[:, 1:].sum(axis=0)
        return {k: (float(s) / total if total else 0.0) for k, s in zip(values, sums)}, int(total)

    def _agree_flag(self, flag: bool) -> bool:
        """The chief's ``flag`` on every worker."""
        if self._world.size == 1:
            return bool(flag)
        return bool(self._world.broadcast_object(bool(flag), 0, self._timeout(), what="stop_training"))

    def _barrier(self, what="barrier"):
        self._world.barrier(self._timeout(), what=what)


class OneDeviceStrategy(Strategy):
    """One replica on ``device`` (``'/CPU:0'``, ``'/GPU:0'``): its scope places ops there.

    >>> import rstf as tf
    >>> s = tf.distribute.OneDeviceStrategy("/cpu:0")
    >>> with s.scope():
    ...     v = tf.Variable(1.0)
    >>> s.run(lambda: v * 2)
    <rstf.Tensor: shape=(), dtype=float32, numpy=2.0>
    """

    def __init__(self, device):
        _device._parse(device)
        super().__init__(device=device)


class MirroredStrategy(Strategy):
    """Synchronous training on the devices of this machine. rstf runs one replica per process,
    on this process's device: ``devices`` may name one device (or be None); for several
    replicas, run one process per device with ``MultiWorkerMirroredStrategy`` under
    ``mpirun``."""

    def __init__(self, devices=None, cross_device_ops=None):
        names = [devices] if isinstance(devices, str) else list(devices or [])
        for d in names:
            _device._parse(d)
        if len({d.lower() for d in names}) > 1:
            raise InvalidArgumentError(
                f"MirroredStrategy: rstf runs one replica per process, got the devices {names}; run one "
                "process per device with MultiWorkerMirroredStrategy under mpirun")
        super().__init__(device=names[0] if names else None)


def _tf_config_set() -> bool:
    return bool(os.environ.get("TF_CONFIG", "").strip())


class MultiWorkerMirroredStrategy(Strategy):
    """Synchronous training on several workers, one replica each: the ranks of the MPI job
    (``mpirun -n N python train.py``). Without an MPI launcher it is one worker.

    ``cluster_resolver`` defaults to :class:`TFConfigClusterResolver` when ``TF_CONFIG`` is set
    (its chief and workers, in that order, must be the MPI ranks), else to
    :class:`MPIClusterResolver`. ``communication_options`` sets the bucket size and the
    collectives' timeout.

    >>> import rstf as tf
    >>> strategy = tf.distribute.MultiWorkerMirroredStrategy()
    >>> strategy.num_replicas_in_sync, strategy.cluster_resolver.task_type
    (1, 'worker')
    """

    def __init__(self, cluster_resolver=None, communication_options=None):
        world = _world.world()
        if cluster_resolver is None:
            cluster_resolver = TFConfigClusterResolver() if _tf_config_set() else MPIClusterResolver()
        if not isinstance(cluster_resolver, ClusterResolver):
            raise TypeError("cluster_resolver must be a ClusterResolver, got "
                            f"{type(cluster_resolver).__name__}")
        if not isinstance(cluster_resolver, MPIClusterResolver):
            _check_cluster(cluster_resolver, world)
        super().__init__(world, cluster_resolver=cluster_resolver,
                         communication_options=communication_options)


def _check_cluster(resolver, world):
    """The tasks of the resolver that train must be the MPI ranks, chief first."""
    tasks = resolver.training_tasks()
    if not tasks:
        return
    if len(tasks) != world.size:
        raise UnavailableError(
            f"the cluster lists {len(tasks)} training tasks ({tasks}) but the MPI world has {world.size} "
            f"process(es): launch the workers with `mpirun -n {len(tasks)} ...`")
    me = (resolver.task_type, resolver.task_id)
    if resolver.task_type is not None and me not in tasks:
        raise InvalidArgumentError(f"this task {me} does not train (MultiWorkerMirroredStrategy runs on the "
                                   f"chief and workers {tasks})")
    if resolver.task_type is not None and tasks.index(me) != world.rank:
        raise InvalidArgumentError(
            f"this task {me} is number {tasks.index(me)} of the cluster (chief first, then workers) but MPI "
            f"rank {world.rank}: give each rank the TF_CONFIG of its task")


_DEFAULT = None


def _default_strategy():
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Strategy()
    return _DEFAULT


# -- Keras support ------------------------------------------------------------------------------

def model_strategy(model):
    """The strategy ``model`` was compiled under, else the current one."""
    strategy = model.__dict__.get("_distribution_strategy") if model is not None else None
    return strategy if strategy is not None else get_strategy()


def in_model_scope(method):
    """Runs a ``Model`` method in the scope of the strategy the model was compiled under."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        strategy = self.__dict__.get("_distribution_strategy")
        if strategy is None or (has_strategy() and get_strategy() is strategy):
            return method(self, *args, **kwargs)
        with strategy.scope():
            return method(self, *args, **kwargs)
    return wrapper


def should_write(model=None) -> bool:
    """Whether this worker writes files for ``model`` (the chief, or any process alone)."""
    return model_strategy(model)._is_chief()


def aggregate_gradients(grads):
    """What ``Optimizer.apply_gradients`` applies: ``grads`` reduced across the replicas of
    the current strategy (unchanged with one replica)."""
    strategy = get_strategy()
    if strategy._world.size == 1 or not grads:
        return grads
    return strategy._reduce_gradients(grads)
