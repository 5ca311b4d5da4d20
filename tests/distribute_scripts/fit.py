"""``Model.fit``/``evaluate`` under MultiWorkerMirroredStrategy. Rank 0 writes the final
weights, the epochs run, the losses and the evaluation to ``argv[1]`` (``.npz``).

Options: ``--dataset`` (fit a Dataset of global batches instead of arrays), ``--backup DIR``
(with ``BackupAndRestore``), ``--die-after EPOCH`` (rank 1 exits without a word at the end of
that epoch, as a worker that dies; rank 0 writes the error it gets to ``argv[1] + '.error'``)."""

import os
import sys

import numpy as np
from common import GLOBAL_BATCH, data, flat_weights, model

import rstf as tf

out, args = sys.argv[1], sys.argv[2:]
backup = args[args.index("--backup") + 1] if "--backup" in args else None
die_after = int(args[args.index("--die-after") + 1]) if "--die-after" in args else None

strategy = tf.distribute.MultiWorkerMirroredStrategy()
rank = strategy.cluster_resolver.task_id
x, y = data()
with strategy.scope():
    net = model(rank)
    net.compile(optimizer=tf.keras.optimizers.SGD(0.1, momentum=0.9), loss="mse", metrics=["mae"])

callbacks = []
if backup:
    callbacks.append(tf.keras.callbacks.BackupAndRestore(backup))
if die_after is not None and rank == 1:
    callbacks.append(tf.keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: os._exit(3) if epoch == die_after else None))
if "--dataset" in args:
    inputs = dict(x=tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH))
else:
    inputs = dict(x=x, y=y, batch_size=GLOBAL_BATCH, shuffle=False)
try:
    history = net.fit(epochs=4, verbose=0, callbacks=callbacks, **inputs)
except tf.errors.OpError as e:
    with open(out + ".error", "w") as f:
        f.write(f"{type(e).__name__}: {e}")
    raise
evaluation = net.evaluate(x, y, batch_size=GLOBAL_BATCH, verbose=0)
if rank == 0:
    np.savez(out, weights=flat_weights(net), epochs=np.array(history.epoch),
             loss=np.array(history.history["loss"]), evaluation=np.array(evaluation))
print("fit done", rank, flush=True)
