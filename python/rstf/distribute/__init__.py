"""``rstf.distribute``: synchronous data-parallel training, TensorFlow's ``tf.distribute`` over
MPI.

Launch one process per worker with ``mpirun -n N python train.py``; in each,
``MultiWorkerMirroredStrategy`` makes every MPI rank one replica. Variables created in the
strategy's scope start equal on all workers (rank 0's initial values are broadcast),
``optimizer.apply_gradients`` all-reduces the gradients before the update, and Keras'
``fit`` reads each worker's share of every global batch. Without ``mpirun`` the world has one
process and the same program trains alone. See ``docs/DISTRIBUTED.md``.

>>> import numpy as np, rstf as tf
>>> strategy = tf.distribute.MultiWorkerMirroredStrategy()
>>> with strategy.scope():
...     model = tf.keras.Sequential([tf.keras.layers.Dense(1, kernel_initializer="zeros")])
...     model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse")
>>> x = np.ones((8, 2), np.float32)
>>> _ = model.fit(x, 2 * x[:, :1], batch_size=4, epochs=3, verbose=0)
>>> strategy.reduce(tf.distribute.ReduceOp.SUM, tf.constant(1.0), axis=None)
<rstf.Tensor: shape=(), dtype=float32, numpy=1.0>
"""

from . import cluster_resolver
from ._input import DistributedDataset, InputContext
from ._strategy import (
    CommunicationImplementation,
    CommunicationOptions,
    MirroredStrategy,
    MultiWorkerMirroredStrategy,
    OneDeviceStrategy,
    ReduceOp,
    ReplicaContext,
    Strategy,
    ValueContext,
    experimental_set_strategy,
    get_cross_replica_context,
    get_replica_context,
    get_strategy,
    has_strategy,
    in_cross_replica_context,
)

__all__ = ["MultiWorkerMirroredStrategy", "MirroredStrategy", "OneDeviceStrategy", "Strategy", "ReduceOp",
           "ReplicaContext", "InputContext", "DistributedDataset", "get_strategy", "has_strategy",
           "get_replica_context", "get_cross_replica_context", "in_cross_replica_context",
           "experimental_set_strategy", "cluster_resolver", "experimental"]


class experimental:  # noqa: N801 (TensorFlow's namespace)
    """``tf.distribute.experimental``."""

    CommunicationOptions = CommunicationOptions
    CommunicationImplementation = CommunicationImplementation
    CollectiveCommunication = CommunicationImplementation
    MultiWorkerMirroredStrategy = MultiWorkerMirroredStrategy
    ValueContext = ValueContext

