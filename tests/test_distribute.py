"""``rstf.distribute``: the API in one process (a world of one rank), then 2 workers under
``mpirun`` running the scripts of ``distribute_scripts/``: collectives, a custom training loop
and ``Model.fit`` ending with the weights one process gets on the same global batches, a job
whose worker dies resumed by ``BackupAndRestore``, workers that disagree, and one that hangs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import rstf as tf
from rstf.distribute import _input, _world

SCRIPTS = Path(__file__).resolve().parent / "distribute_scripts"
SUM, MEAN = tf.distribute.ReduceOp.SUM, tf.distribute.ReduceOp.MEAN


# -- one process ----------------------------------------------------------------------------------

def test_import_does_not_load_mpi4py():
    code = "import sys, rstf; rstf.distribute.get_strategy(); assert 'mpi4py' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, env=_env())


def test_without_mpi4py_the_world_has_one_rank():
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "import rstf as tf\n"
            "s = tf.distribute.MultiWorkerMirroredStrategy()\n"
            "assert s.num_replicas_in_sync == 1 and s.cluster_resolver.task_id == 0\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, env=_env(RSTF_DISTRIBUTE_MPI="1"))


def test_default_strategy_and_contexts():
    assert not tf.distribute.has_strategy()
    default = tf.distribute.get_strategy()
    assert default.num_replicas_in_sync == 1
    ctx = tf.distribute.get_replica_context()
    assert ctx is not None and ctx.num_replicas_in_sync == 1
    assert not tf.distribute.in_cross_replica_context()
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        assert tf.distribute.has_strategy() and tf.distribute.get_strategy() is strategy
        assert tf.distribute.get_replica_context() is None  # cross-replica context
        assert tf.distribute.in_cross_replica_context()
        with strategy.scope():  # the same strategy nests
            pass
        with pytest.raises(ValueError, match="Mixing different"):
            with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
                pass

        def replica_fn():
            ctx = tf.distribute.get_replica_context()
            assert ctx.strategy is strategy and int(ctx.replica_id_in_sync_group) == 0
            assert not tf.distribute.in_cross_replica_context()
            return ctx.merge_call(lambda s: s is strategy and tf.distribute.in_cross_replica_context())

        assert strategy.run(replica_fn) is True
    assert tf.distribute.get_strategy() is default
    assert strategy.extended.should_checkpoint
    assert strategy.experimental_local_results(3) == (3,)


def test_reduce_gather_and_all_reduce_with_one_replica():
    s = tf.distribute.MultiWorkerMirroredStrategy()
    x = tf.constant([[1.0, 2.0], [3.0, 6.0]])
    np.testing.assert_allclose(s.reduce(SUM, x, axis=None), x.numpy())
    np.testing.assert_allclose(s.reduce("sum", x, axis=0), [4.0, 8.0])
    np.testing.assert_allclose(s.reduce(MEAN, x, axis=1), [1.5, 4.5])
    np.testing.assert_allclose(s.gather(x, axis=1), x.numpy())
    got = s.reduce(SUM, {"a": x, "b": (tf.constant(1),)}, axis=None)
    assert set(got) == {"a", "b"} and int(got["b"][0]) == 1
    with pytest.raises(ValueError, match="ReduceOp"):
        s.reduce("max", x, axis=None)
    with pytest.raises(tf.errors.InvalidArgumentError, match="axis 2"):
        s.reduce(SUM, x, axis=2)

    @tf.function
    def traced(v):
        return s.run(lambda v: tf.distribute.get_replica_context().all_reduce(SUM, [v, v * 2]), args=(v,))

    a, b = traced(tf.constant([1.0, 2.0]))
    np.testing.assert_allclose(b, [2.0, 4.0])


def test_one_device_and_mirrored_strategies():
    s = tf.distribute.OneDeviceStrategy("/cpu:0")
    with s.scope():
        v = tf.Variable([1.0, 2.0])
        assert v.device.endswith("CPU:0")
    np.testing.assert_allclose(s.run(lambda: v * 2), [2.0, 4.0])
    assert tf.distribute.MirroredStrategy().num_replicas_in_sync == 1
    assert tf.distribute.MirroredStrategy(["/cpu:0"]).num_replicas_in_sync == 1
    with pytest.raises(tf.errors.InvalidArgumentError, match="one replica per process"):
        tf.distribute.MirroredStrategy(["/gpu:0", "/gpu:1"])
    with pytest.raises(ValueError):
        tf.distribute.OneDeviceStrategy("/tpu:0")


def test_input_context_and_distributed_datasets():
    ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=1, num_replicas_in_sync=4)
    assert (ctx.num_input_pipelines, ctx.input_pipeline_id, ctx.num_replicas_in_sync) == (2, 1, 4)
    assert ctx.get_per_replica_batch_size(16) == 4
    with pytest.raises(ValueError, match="not divisible"):
        ctx.get_per_replica_batch_size(10)
    assert [_input.shard_bounds(5, 2, r) for r in range(2)] == [(0, 3), (3, 5)]
    assert [_input.shard_bounds(1, 3, r) for r in range(3)] == [(0, 1), (1, 1), (1, 1)]

    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    # The second of 3 workers: row 2 of the batches of 4 rows (2 + 1 + 1), row 1 of the last one
    # of 2 (1 + 1 + 0).
    part = _input.DistributedDataset(ds, 3, 1)
    got = [(a.numpy().tolist(), b.numpy().tolist()) for a, b in part]
    assert got == [([[4, 5]], [2]), ([[12, 13]], [6]), ([[18, 19]], [9])]
    assert int(part.cardinality()) == 3 and part.element_spec[0].shape.as_list() == [None, 2]
    with pytest.raises(tf.errors.InvalidArgumentError, match="must be batches"):
        list(_input.DistributedDataset(tf.data.Dataset.range(3), 2, 0))

    s = tf.distribute.MultiWorkerMirroredStrategy()
    whole = [b.numpy().tolist() for _, b in s.experimental_distribute_dataset(ds)]
    assert whole == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    seen = []

    def dataset_fn(input_context):
        seen.append(input_context)
        return tf.data.Dataset.range(6).batch(input_context.get_per_replica_batch_size(2))

    ds2 = s.distribute_datasets_from_function(dataset_fn)
    assert [v.numpy().tolist() for v in ds2] == [[0, 1], [2, 3], [4, 5]]
    assert (seen[0].num_input_pipelines, seen[0].input_pipeline_id, seen[0].num_replicas_in_sync) == (1, 0, 1)


def test_cluster_resolvers(monkeypatch):
    config = {"cluster": {"chief": ["c:1"], "worker": ["w0:1", "w1:1"]},
              "task": {"type": "worker", "index": 1}}
    r = tf.distribute.cluster_resolver.TFConfigClusterResolver(tf_config=json.dumps(config))
    assert (r.task_type, r.task_id) == ("worker", 1)
    assert r.training_tasks() == [("chief", 0), ("worker", 0), ("worker", 1)]
    assert not r.is_chief() and r.master() == "w1:1"
    assert r.cluster_spec().as_dict() == config["cluster"]
    assert tf.distribute.cluster_resolver.TFConfigClusterResolver(tf_config="").cluster_spec().jobs == []
    with pytest.raises(tf.errors.InvalidArgumentError, match="not valid JSON"):
        tf.distribute.cluster_resolver.TFConfigClusterResolver(tf_config="{")
    # TF_CONFIG names 3 workers, but this process is alone: a clear error, not a lonely training.
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    with pytest.raises(tf.errors.UnavailableError, match="mpirun -n 3"):
        tf.distribute.MultiWorkerMirroredStrategy()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["w0:1"]},
                                                "task": {"type": "worker", "index": 0}}))
    s = tf.distribute.MultiWorkerMirroredStrategy()
    assert isinstance(s.cluster_resolver, tf.distribute.cluster_resolver.TFConfigClusterResolver)
    assert s.cluster_resolver.task_type == "worker" and s.num_replicas_in_sync == 1
    monkeypatch.delenv("TF_CONFIG")
    mpi = tf.distribute.MultiWorkerMirroredStrategy().cluster_resolver
    assert (mpi.task_type, mpi.task_id, mpi.size) == ("worker", 0, 1)
    assert mpi.cluster_spec().num_tasks("worker") == 1


def test_timeout_setting_and_buckets(monkeypatch):
    monkeypatch.setenv("RSTF_DISTRIBUTE_TIMEOUT", "2.5")
    assert _world.timeout_seconds() == 2.5 and _world.timeout_seconds(7) == 7.0
    monkeypatch.setenv("RSTF_DISTRIBUTE_TIMEOUT", "soon")
    with pytest.raises(tf.errors.InvalidArgumentError, match="RSTF_DISTRIBUTE_TIMEOUT"):
        _world.timeout_seconds()
    monkeypatch.delenv("RSTF_DISTRIBUTE_TIMEOUT")
    assert _world.timeout_seconds() == 300.0
    with pytest.raises(ValueError):
        tf.distribute.experimental.CommunicationOptions(timeout_seconds=0)
    # Buckets of at most 64 bytes per dtype; an array of 64 bytes or more travels alone.
    arrays = [np.ones(4, np.float32), np.ones(2, np.float64), np.ones(20, np.float32), np.ones(8, np.float32),
              np.ones(3, np.int64)]
    plan = [(dtype.name, indices) for dtype, indices in _world._buckets(arrays, 64)]
    assert plan == [("float32", [2]), ("float32", [0, 3]), ("float64", [1]), ("int64", [4])]
    # Half floats and booleans travel as float32 and int32.
    plan = _world._buckets([np.ones(2, np.float16), np.ones(2, np.float32), np.ones(1, bool)], 1 << 20)
    assert [(dtype.name, indices) for dtype, indices in plan] == [("float32", [0, 1]), ("int32", [2])]


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 3)).astype(np.float32)
    return x, x @ np.array([[1.0], [-2.0], [0.5]], np.float32)


def _model():
    tf.random.set_seed(7)
    model = tf.keras.Sequential([tf.keras.layers.Dense(4, activation="tanh"), tf.keras.layers.Dense(1)])
    model.build((None, 3))
    return model


def test_keras_fit_under_a_strategy_of_one_worker_matches_plain_fit(tmp_path):
    x, y = _data()
    plain = _model()
    plain.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    plain.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = _model()
        model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)  # in the scope again
    assert history.epoch == [0, 1]
    for a, b in zip(plain.weights, model.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    loss, mae = model.evaluate(x, y, batch_size=8, verbose=0)
    assert loss == pytest.approx(plain.evaluate(x, y, batch_size=8, verbose=0)[0], rel=1e-6)
    assert model.predict(x[:5], verbose=0).shape == (5, 1)
    model.save_weights(str(tmp_path / "w.weights.h5"))  # the chief (the only worker) writes
    assert (tmp_path / "w.weights.h5").exists()


def test_backup_and_restore_in_one_process(tmp_path):
    x, y = _data()

    class Interrupt(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("interrupted")

    def run(callbacks):
        model = _model()
        model.compile(optimizer=tf.keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
        history = model.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0, callbacks=callbacks)
        return model, history

    reference, _ = run([])
    backup = tmp_path / "backup"
    with pytest.raises(RuntimeError, match="interrupted"):
        run([tf.keras.callbacks.BackupAndRestore(backup), Interrupt()])
    assert json.loads((backup / "backup_state.json").read_text())["epoch"] == 1
    model, history = run([tf.keras.callbacks.BackupAndRestore(backup)])
    assert history.epoch == [2, 3]
    for a, b in zip(reference.weights, model.weights):  # momentum restored too
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    assert not backup.exists()  # deleted once training ended


# -- 2 workers under mpirun -----------------------------------------------------------------------

def _mpirun():
    """``mpirun -n 2`` (the one beside this Python first), or None without it or mpi4py."""
    exe = shutil.which("mpirun", path=str(Path(sys.executable).parent)) or shutil.which("mpirun")
    if exe is None:
        return None
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout
    flags = ["--allow-run-as-root", "--oversubscribe"] if "Open MPI" in version else []
    return [exe, *flags, "-n", "2"]


MPIRUN = _mpirun()
needs_mpirun = pytest.mark.skipif(MPIRUN is None, reason="mpirun or mpi4py is not installed")


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.setdefault("RSTF_DISTRIBUTE_TIMEOUT", "60")
    env.update(extra)
    return env


def _run(script, *args, workers=2, timeout=90, check=True, **env):
    """Runs a script of distribute_scripts/ alone (``workers=1``, no mpirun) or on 2 workers."""
    cmd = ([sys.executable] if workers == 1 else [*MPIRUN, sys.executable]) + [str(SCRIPTS / script), *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env(**env), cwd=SCRIPTS)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited with {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


@pytest.fixture(scope="module")
def fit_reference(tmp_path_factory):
    """What one process gets from fit.py: the same global batches, one worker."""
    out = tmp_path_factory.mktemp("fit") / "one.npz"
    _run("fit.py", str(out), workers=1)
    return dict(np.load(out))


@needs_mpirun
def test_two_workers_collectives_mismatches_and_deadline():
    start = time.monotonic()
    p = _run("collectives.py", check=False, timeout=60)
    out = p.stdout
    for rank in (0, 1):
        for name in ("reduce sum", "reduce mean axis", "reduce sum large", "reduce mean large",
                     "reduce int large", "gather", "gather axis 1", "traced all_reduce 1",
                     "mirrored variable", "usable after a mismatch"):
            assert f"ok {name} {rank}" in out, out + p.stderr
        assert f"mismatch shape {rank}" in out and f"mismatch dtype {rank}" in out, out
    # Rank 1 hangs: rank 0 raises at the 2 s deadline, and the job ends then, not after 60 s.
    assert "deadline after 2." in out and "RSTF_DISTRIBUTE_TIMEOUT" in out, out + p.stderr
    assert time.monotonic() - start < 40


@needs_mpirun
def test_two_workers_custom_loop_matches_one_process(tmp_path):
    _run("custom_loop.py", str(tmp_path / "one.npy"), workers=1)
    _run("custom_loop.py", str(tmp_path / "two.npy"))
    one, two = np.load(tmp_path / "one.npy"), np.load(tmp_path / "two.npy")
    np.testing.assert_allclose(two, one, rtol=1e-4, atol=1e-5)


@needs_mpirun
def test_two_workers_fit_matches_one_process(tmp_path, fit_reference):
    _run("fit.py", str(tmp_path / "two.npz"))
    two = np.load(tmp_path / "two.npz")
    assert two["epochs"].tolist() == [0, 1, 2, 3]
    for key in ("weights", "loss", "evaluation"):
        np.testing.assert_allclose(two[key], fit_reference[key], rtol=1e-4, atol=1e-5, err_msg=key)


@needs_mpirun
def test_backup_and_restore_after_a_worker_dies(tmp_path, fit_reference):
    out, backup = str(tmp_path / "two.npz"), str(tmp_path / "backup")
    start = time.monotonic()
    p = _run("fit.py", out, "--backup", backup, "--die-after", "1", check=False)
    assert p.returncode != 0 and not os.path.exists(out)
    assert time.monotonic() - start < 60
    # Rank 0 got a clear error when rank 1 died (mpirun stops the job: SIGTERM in a collective).
    assert open(out + ".error").read().startswith("UnavailableError"), p.stdout + p.stderr
    assert json.loads(open(os.path.join(backup, "backup_state.json")).read())["epoch"] == 1
    # Started again (reading a Dataset of global batches this time), it resumes at epoch 2.
    _run("fit.py", out, "--backup", backup, "--dataset")
    two = np.load(out)
    assert two["epochs"].tolist() == [2, 3]
    np.testing.assert_allclose(two["weights"], fit_reference["weights"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(two["evaluation"], fit_reference["evaluation"], rtol=1e-4, atol=1e-5)
    assert not os.path.exists(backup)
