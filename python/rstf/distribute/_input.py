"""Input for distributed training: :class:`InputContext` and the datasets that
``experimental_distribute_dataset`` and ``distribute_datasets_from_function`` return.

``experimental_distribute_dataset`` takes a dataset batched with the *global* batch size; each
worker reads the same pipeline and keeps its own rows of every batch (TensorFlow's ``DATA``
auto-shard policy followed by the split of each batch among the replicas). A batch of ``B``
rows gives worker ``r`` of ``n`` the rows ``[start, stop)`` of :func:`shard_bounds`: ``B // n``
rows each, the first ``B % n`` workers one more.

>>> from rstf.distribute._input import shard_bounds
>>> [shard_bounds(10, 3, r) for r in range(3)]
[(0, 4), (4, 7), (7, 10)]
"""

from __future__ import annotations

import numpy as np

from .. import data as _data
from .. import nest
from .._function import TensorSpec
from ..errors import InvalidArgumentError

__all__ = ["InputContext", "DistributedDataset", "shard_bounds"]


def shard_bounds(rows: int, size: int, rank: int):
    """``(start, stop)``: the rows of a batch of ``rows`` that worker ``rank`` of ``size`` reads."""
    base, extra = divmod(int(rows), int(size))
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


class InputContext:
    """What a ``dataset_fn`` given to ``distribute_datasets_from_function`` learns about the
    input pipeline it builds: how many there are, which one it is, and how many replicas
    train.

    >>> import rstf as tf
    >>> ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=1,
    ...                                  num_replicas_in_sync=2)
    >>> ctx.get_per_replica_batch_size(64)
    32
    """

    def __init__(self, num_input_pipelines=1, input_pipeline_id=0, num_replicas_in_sync=1):
        self._num_input_pipelines = int(num_input_pipelines)
        self._input_pipeline_id = int(input_pipeline_id)
        self._num_replicas_in_sync = int(num_replicas_in_sync)

    @property
    def num_input_pipelines(self) -> int:
        return self._num_input_pipelines

    @property
    def input_pipeline_id(self) -> int:
        return self._input_pipeline_id

    @property
    def num_replicas_in_sync(self) -> int:
        return self._num_replicas_in_sync

    def get_per_replica_batch_size(self, global_batch_size) -> int:
        """``global_batch_size`` divided among the replicas (it must divide evenly)."""
        if global_batch_size % self._num_replicas_in_sync:
            raise ValueError(f"The `global_batch_size` {global_batch_size} is not divisible by "
                             f"`num_replicas_in_sync` {self._num_replicas_in_sync}")
        return global_batch_size // self._num_replicas_in_sync

    def __repr__(self):
        return (f"tf.distribute.InputContext(input pipeline id {self._input_pipeline_id}, total: "
                f"{self._num_input_pipelines})")


class DistributedDataset(_data.Dataset):
    """A dataset of global batches, of which this worker reads its rows: iterating it gives
    this worker's part of each batch (a plain tensor, or structure of them: one replica per
    worker). ``Model.fit`` takes it as it is."""

    _kind = "DistributedDataset"

    def __init__(self, dataset, num_workers, worker_index):
        if not isinstance(dataset, _data.Dataset):
            raise TypeError(f"experimental_distribute_dataset expects an rstf.data.Dataset, got "
                            f"{type(dataset).__name__}")
        self._source, self._n, self._i = dataset, int(num_workers), int(worker_index)

    def _card(self):
        return self._source._card()

    def _spec(self):
        def unbatched(s):
            if s.shape is None or len(tuple(s.shape)) == 0:
                return s
            return TensorSpec((None, *tuple(s.shape)[1:]), s.dtype)
        return nest.map_structure(unbatched, self._source.element_spec)

    def _elements(self):
        for element in self._source._elements():
            leaves = nest.flatten(element)
            rows = {np.shape(a)[0] if np.ndim(a) else None for a in leaves}
            if None in rows:
                raise InvalidArgumentError(
                    "experimental_distribute_dataset: the dataset's elements must be batches (batch it "
                    "with the global batch size), got an element with a scalar component")
            if len(rows) != 1:
                raise InvalidArgumentError(
                    f"experimental_distribute_dataset: the components of a batch have different sizes "
                    f"{sorted(rows)}")
            start, stop = shard_bounds(rows.pop(), self._n, self._i)
            yield nest.pack_sequence_as(element, [np.asarray(a)[start:stop] for a in leaves])


class DatasetFromFunction(_data.Dataset):
    """The dataset a ``dataset_fn`` made for this worker, read as it is (the function shards
    and batches it per replica)."""

    _kind = "DistributedDatasetsFromFunction"

    def __init__(self, dataset):
        if not isinstance(dataset, _data.Dataset):
            raise TypeError("distribute_datasets_from_function: dataset_fn must return an rstf.data.Dataset, "
                            f"got {type(dataset).__name__}")
        self._source = dataset

    def _card(self):
        return self._source._card()

    def _spec(self):
        return self._source.element_spec

    def _elements(self):
        return self._source._elements()
