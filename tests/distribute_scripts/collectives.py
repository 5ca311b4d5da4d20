"""The collectives' results on 2 workers, errors for workers that disagree, and the deadline:
prints one line per check; at the end rank 1 hangs and rank 0 must raise DeadlineExceededError
after the 2 s timeout given to that collective."""

import time

import numpy as np

import rstf as tf

strategy = tf.distribute.MultiWorkerMirroredStrategy()
rank, n = strategy.cluster_resolver.task_id, strategy.num_replicas_in_sync
assert n == 2, n
SUM, MEAN = tf.distribute.ReduceOp.SUM, tf.distribute.ReduceOp.MEAN


def check(name, got, want):
    got = np.asarray(got)
    assert got.shape == np.shape(want) and np.allclose(got, want), (name, got, want)
    print("ok", name, rank, flush=True)


check("reduce sum", strategy.reduce(SUM, tf.constant([1.0 + rank, 2.0]), axis=None), [3.0, 4.0])
check("reduce mean", strategy.reduce(MEAN, tf.constant([1.0 + rank, 2.0]), axis=None), [1.5, 2.0])
rows = tf.ones([1 + 2 * rank, 2]) * (rank + 1.0)  # 1 row of 1s, 3 rows of 2s
check("reduce mean axis", strategy.reduce(MEAN, rows, axis=0), [1.75, 1.75])
check("reduce sum axis", strategy.reduce(SUM, rows, axis=0), [7.0, 7.0])
check("reduce int", strategy.reduce(SUM, tf.constant([rank + 1, 5]), axis=None), [3, 10])
# Arrays of 1 MB and more travel from their own memory into a new one the result wraps.
big = np.arange(1 << 19, dtype=np.float64).reshape(512, 1024)  # 4 MB
check("reduce sum large", strategy.reduce(SUM, tf.constant(big * (rank + 1)), axis=None), big * 3)
check("reduce mean large", strategy.reduce(MEAN, tf.constant(big * (rank + 1)), axis=None), big * 1.5)
big_int = np.arange(1 << 19, dtype=np.int64)
check("reduce int large", strategy.reduce(SUM, tf.constant(big_int + rank), axis=None), 2 * big_int + 1)
check("gather", strategy.gather(tf.fill([rank + 1, 2], float(rank)), axis=0), [[0, 0], [1, 1], [1, 1]])
check("gather axis 1", strategy.gather(tf.fill([2, rank + 1], float(rank)), axis=1), [[0, 1, 1], [0, 1, 1]])


@tf.function
def all_reduce(v):
    return strategy.run(ctx_sum, args=(v,))


def ctx_sum(v):
    ctx = tf.distribute.get_replica_context()
    assert ctx.num_replicas_in_sync == 2
    return ctx.all_reduce(SUM, {"a": v, "b": v * 10.0})


for k in range(2):  # the traced collective runs at every call of the graph
    got = all_reduce(tf.constant(float(rank + k)))
    check(f"traced all_reduce {k}", [got["a"], got["b"]], [1.0 + 2 * k, 10.0 + 20 * k])

with strategy.scope():
    tf.random.set_seed(rank)
    v = tf.Variable(tf.random.normal([4]))
check("mirrored variable", strategy.gather(v.read_value()[None], axis=0)[1] - v.read_value(), np.zeros(4))

for name, value in (("shape", tf.zeros([2 + rank])),
                    ("dtype", tf.zeros([2], "float32" if rank else "int32"))):
    try:
        strategy.reduce(SUM, value, axis=None)
    except tf.errors.InvalidArgumentError as e:
        assert "worker 0" in str(e) and "worker 1" in str(e), str(e)
        print("mismatch", name, rank, flush=True)
check("usable after a mismatch", strategy.reduce(SUM, tf.constant(1.0), axis=None), 2.0)

impatient = tf.distribute.MultiWorkerMirroredStrategy(
    communication_options=tf.distribute.experimental.CommunicationOptions(timeout_seconds=2))
if rank == 1:
    time.sleep(60)  # hangs: rank 0's next collective must give up at the deadline
start = time.monotonic()
try:
    impatient.reduce(SUM, tf.constant(1.0), axis=None)
except tf.errors.DeadlineExceededError as e:
    print(f"deadline after {time.monotonic() - start:.1f} s: {e}", flush=True)
