"""Data-parallel training with ``tf.distribute.MultiWorkerMirroredStrategy`` over MPI: the same
script runs alone or as one of N workers.

    python examples/distributed.py                     # one worker
    mpirun -n 2 python -m mpi4py examples/distributed.py   # two (as root: mpirun --allow-run-as-root)

(``python -m mpi4py`` makes an exception on one worker end the whole job.) It trains a small
classifier twice on synthetic data: with Keras' ``compile``/``fit`` (each worker reads its share
of every global batch, the gradients are averaged across workers, ``BackupAndRestore`` lets a
restarted job resume after its last completed epoch), then with a custom loop over
``strategy.experimental_distribute_dataset`` and ``strategy.run``. Only the chief prints.
"""

import os
import tempfile

import numpy as np

import rstf as tf

GLOBAL_BATCH = 64
EPOCHS = 3

strategy = tf.distribute.MultiWorkerMirroredStrategy()
resolver = strategy.cluster_resolver
chief = strategy.extended.should_checkpoint


def say(*args):
    if chief:
        print(*args, flush=True)


say(f"{strategy.num_replicas_in_sync} worker(s): {resolver.cluster_spec().as_dict()}")

# Data: every worker makes the same arrays; fit and the distributed dataset pick each worker's rows.
rng = np.random.default_rng(0)
x = rng.normal(size=(2048, 20)).astype(np.float32)
y = (x[:, :10].sum(axis=1) > x[:, 10:].sum(axis=1)).astype(np.int64)


def make_model():
    return tf.keras.Sequential([tf.keras.layers.Dense(64, activation="relu"),
                                tf.keras.layers.Dense(2)])


# -- compile/fit -------------------------------------------------------------------------------
with strategy.scope():  # variables made here start equal on every worker
    model = make_model()
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-2),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
backup = os.path.join(tempfile.gettempdir(), "rstf-distributed-example-backup")
history = model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=EPOCHS, verbose=2 if chief else 0,
                    callbacks=[tf.keras.callbacks.BackupAndRestore(backup)])
loss, accuracy = model.evaluate(x, y, batch_size=GLOBAL_BATCH, verbose=0)
say(f"fit: loss {loss:.4f}, accuracy {accuracy:.3f} (metrics averaged over all workers)")

# -- a custom loop -----------------------------------------------------------------------------
with strategy.scope():
    net = make_model()
    optimizer = tf.keras.optimizers.SGD(0.1)
dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)
distributed = strategy.experimental_distribute_dataset(dataset)
loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")


@tf.function
def train_step(xb, yb):
    def replica_step(xb, yb):
        with tf.GradientTape() as tape:
            per_example = loss_fn(yb, net(xb, training=True))
            # Scaled by the global batch: apply_gradients sums the workers' gradients.
            loss = tf.reduce_sum(per_example) / GLOBAL_BATCH
        grads = tape.gradient(loss, net.trainable_variables)
        optimizer.apply_gradients(zip(grads, net.trainable_variables))
        return loss

    per_replica = strategy.run(replica_step, args=(xb, yb))
    return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)


for epoch in range(EPOCHS):
    total = sum(float(train_step(xb, yb)) for xb, yb in distributed)
    say(f"custom loop epoch {epoch + 1}: loss {total / len(dataset):.4f}")

# Every replica holds the same weights.
flat = tf.concat([tf.reshape(w, [-1]) for w in net.trainable_variables], axis=0)
every = strategy.gather(flat[None], axis=0).numpy()
say(f"replicas agree: {bool((every == every[0]).all())}")
