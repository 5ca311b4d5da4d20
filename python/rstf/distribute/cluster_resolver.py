"""Cluster resolvers (``rstf.distribute.cluster_resolver``): who the workers are.

:class:`MPIClusterResolver` describes the MPI world (one worker per rank, on the hosts the
ranks run on); :class:`TFConfigClusterResolver` reads TensorFlow's ``TF_CONFIG`` environment
variable (``{"cluster": {"chief": [...], "worker": [...]}, "task": {"type": ..., "index": ...}}``).
Either way the workers talk through MPI: ``TF_CONFIG`` names the tasks, and the strategy
checks that its chief and workers, in that order, are the MPI ranks.

>>> from rstf.distribute.cluster_resolver import TFConfigClusterResolver
>>> config = {"cluster": {"worker": ["a:2222", "b:2222"]}, "task": {"type": "worker", "index": 1}}
>>> r = TFConfigClusterResolver(tf_config=config)
>>> r.task_type, r.task_id, r.cluster_spec().num_tasks("worker")
('worker', 1, 2)
"""

from __future__ import annotations

import json
import os

from ..errors import InvalidArgumentError
from . import _world

__all__ = ["ClusterSpec", "ClusterResolver", "TFConfigClusterResolver", "MPIClusterResolver",
           "SimpleClusterResolver"]

# The jobs whose tasks train (and so take part in the collectives), in rank order.
TRAINING_JOBS = ("chief", "worker")


class ClusterSpec:
    """The jobs of a cluster and the addresses of their tasks.

    >>> from rstf.distribute.cluster_resolver import ClusterSpec
    >>> spec = ClusterSpec({"worker": ["h0:1", "h1:1"]})
    >>> spec.jobs, spec.task_address("worker", 1)
    (['worker'], 'h1:1')
    """

    def __init__(self, cluster):
        if isinstance(cluster, ClusterSpec):
            cluster = cluster.as_dict()
        self._jobs = {}
        for job, tasks in dict(cluster or {}).items():
            if isinstance(tasks, dict):
                self._jobs[str(job)] = {int(i): str(a) for i, a in tasks.items()}
            elif isinstance(tasks, (list, tuple)):
                self._jobs[str(job)] = {i: str(a) for i, a in enumerate(tasks)}
            else:
                raise TypeError(f"ClusterSpec: the tasks of job {job!r} must be a list or a dict, "
                                f"got {type(tasks).__name__}")

    def __bool__(self):
        return bool(self._jobs)

    def __eq__(self, other):
        return isinstance(other, ClusterSpec) and self.as_dict() == other.as_dict()

    def __repr__(self):
        return f"ClusterSpec({self.as_dict()})"

    @property
    def jobs(self) -> list:
        return list(self._jobs)

    def as_dict(self) -> dict:
        """``{job: [addresses]}`` (or ``{job: {index: address}}`` where indices have gaps)."""
        out = {}
        for job, tasks in self._jobs.items():
            idx = sorted(tasks)
            out[job] = [tasks[i] for i in idx] if idx == list(range(len(idx))) else dict(tasks)
        return out

    def num_tasks(self, job_name) -> int:
        return len(self._job(job_name))

    def task_indices(self, job_name) -> list:
        return sorted(self._job(job_name))

    def task_address(self, job_name, task_index) -> str:
        tasks = self._job(job_name)
        if task_index not in tasks:
            raise ValueError(f"No task with index {task_index} in job {job_name!r}")
        return tasks[task_index]

    def job_tasks(self, job_name) -> list:
        tasks = self._job(job_name)
        return [tasks.get(i) for i in range(max(tasks) + 1)] if tasks else []

    def _job(self, job_name):
        if job_name not in self._jobs:
            raise ValueError(f"No such job in cluster: {job_name!r}")
        return self._jobs[job_name]


class ClusterResolver:
    """The base class: a cluster spec, and this process's task in it."""

    task_type = None
    task_id = None
    rpc_layer = None

    def cluster_spec(self) -> ClusterSpec:
        raise NotImplementedError

    def master(self, task_type=None, task_id=None, rpc_layer=None) -> str:
        task_type = self.task_type if task_type is None else task_type
        task_id = self.task_id if task_id is None else task_id
        spec = self.cluster_spec()
        if task_type is None or task_id is None or not spec or task_type not in spec.jobs:
            return ""
        address = spec.task_address(task_type, task_id)
        layer = rpc_layer or self.rpc_layer
        return f"{layer}://{address}" if layer else address

    def num_accelerators(self, task_type=None, task_id=None, config_proto=None) -> dict:
        from .. import config

        return {"GPU": len(config.list_physical_devices("GPU"))}

    @property
    def environment(self) -> str:
        return ""

    def training_tasks(self) -> list:
        """``[(task_type, task_id)]`` of the tasks that train, chief first: rank order."""
        spec = self.cluster_spec()
        jobs = [job for job in TRAINING_JOBS if spec and job in spec.jobs]
        return [(job, i) for job in jobs for i in spec.task_indices(job)]

    def is_chief(self) -> bool:
        """The chief task, or worker 0 when the cluster has no chief."""
        spec = self.cluster_spec()
        if self.task_type == "chief":
            return True
        has_chief = bool(spec) and "chief" in spec.jobs
        return not has_chief and self.task_type in (None, "worker") and (self.task_id or 0) == 0


class SimpleClusterResolver(ClusterResolver):
    """A cluster given explicitly."""

    def __init__(self, cluster_spec, master="", task_type=None, task_id=None, environment="",
                 num_accelerators=None, rpc_layer=None):
        self._spec = ClusterSpec(cluster_spec)
        self._master, self.task_type, self.task_id = master, task_type, task_id
        self._environment, self._accelerators, self.rpc_layer = environment, num_accelerators, rpc_layer

    def cluster_spec(self):
        return self._spec

    def master(self, task_type=None, task_id=None, rpc_layer=None):
        return self._master or super().master(task_type, task_id, rpc_layer)

    def num_accelerators(self, task_type=None, task_id=None, config_proto=None):
        return dict(self._accelerators) if self._accelerators is not None else super().num_accelerators()

    @property
    def environment(self):
        return self._environment


class TFConfigClusterResolver(ClusterResolver):
    """The cluster of the ``TF_CONFIG`` environment variable; ``task_type``/``task_id``
    override its ``task``. ``tf_config`` (rstf's addition: a dict or its JSON text) stands for
    the variable when given."""

    def __init__(self, task_type=None, task_id=None, rpc_layer=None, environment=None, tf_config=None):
        text = os.environ.get("TF_CONFIG", "") if tf_config is None else tf_config
        try:
            config = text if isinstance(text, dict) else json.loads(text) if text and text.strip() else {}
        except json.JSONDecodeError as e:
            raise InvalidArgumentError(f"TF_CONFIG is not valid JSON: {e}") from None
        if not isinstance(config, dict):
            raise InvalidArgumentError(f"TF_CONFIG must be a JSON object, got {type(config).__name__}")
        self._config = config
        task = config.get("task") or {}
        self.task_type = task_type if task_type is not None else task.get("type")
        self.task_id = task_id if task_id is not None else (int(task["index"]) if "index" in task else None)
        self.rpc_layer = rpc_layer if rpc_layer is not None else config.get("rpc_layer")
        self._environment = environment if environment is not None else config.get("environment", "")

    def cluster_spec(self):
        return ClusterSpec(self._config.get("cluster") or {})

    @property
    def environment(self):
        return self._environment


class MPIClusterResolver(ClusterResolver):
    """The MPI world as a cluster: one ``worker`` task per rank, ``task_id`` this process's
    rank, the addresses the ranks' host names (``host:rank``)."""

    def __init__(self):
        w = _world.world()
        self.rank, self.size, self.hostnames = w.rank, w.size, list(w.hostnames)
        self.task_type, self.task_id = "worker", w.rank

    def cluster_spec(self):
        return ClusterSpec({"worker": [f"{h}:{r}" for r, h in enumerate(self.hostnames)]})

    @property
    def environment(self):
        return "mpi"
