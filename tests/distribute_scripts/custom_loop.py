"""A custom training loop under MultiWorkerMirroredStrategy: a traced step that runs the
replica function with ``strategy.run``, the loss scaled by the global batch size, gradients
summed by ``apply_gradients``. Rank 0 writes the final weights to ``argv[1]`` (``.npy``)."""

import sys

import numpy as np
from common import GLOBAL_BATCH, data, flat_weights, model

import rstf as tf

strategy = tf.distribute.MultiWorkerMirroredStrategy()
rank = strategy.cluster_resolver.task_id
x, y = data()
with strategy.scope():
    net = model(rank)
    opt = tf.keras.optimizers.SGD(0.1, momentum=0.9)
dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)  # global batches
dist = strategy.experimental_distribute_dataset(dataset)  # this worker's rows of each


@tf.function
def step(xb, yb):
    def replica_fn(xb, yb):
        with tf.GradientTape() as tape:
            per_example = tf.reduce_sum(tf.square(net(xb, training=True) - yb), axis=1)
            loss = tf.reduce_sum(per_example) / GLOBAL_BATCH
        grads = tape.gradient(loss, net.trainable_variables)
        opt.apply_gradients(zip(grads, net.trainable_variables))
        return loss

    per_replica = strategy.run(replica_fn, args=(xb, yb))
    return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)


losses = []
for _epoch in range(3):
    losses.append(sum(float(step(xb, yb)) for xb, yb in dist))
w = flat_weights(net)
every = strategy.gather(tf.constant(w[None]), axis=0).numpy()
assert every.shape == (strategy.num_replicas_in_sync, w.size), every.shape
assert (every == every[0]).all(), "the replicas' weights differ"
if rank == 0:
    np.save(sys.argv[1], np.concatenate([w, losses]))
print("custom loop done", rank, flush=True)
