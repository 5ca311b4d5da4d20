"""tf.summary and keras.callbacks.TensorBoard: event files written eagerly and from traced
functions, read back with TensorBoard's own reader, and compared with references computed
here independently (numpy histograms, PNGs decoded with PIL)."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pytest

import rstf as tf

pytest.importorskip("tensorboard")
from PIL import Image  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.util import tensor_util  # noqa: E402


def read(logdir):
    """``(accumulator, {tag: [(step, numpy value), ...]})`` of the event files in ``logdir``."""
    ea = EventAccumulator(str(logdir), size_guidance={"tensors": 0, "scalars": 0, "histograms": 0,
                                                      "images": 0})
    ea.Reload()
    values = {tag: [(e.step, tensor_util.make_ndarray(e.tensor_proto)) for e in ea.Tensors(tag)]
              for tag in ea.Tags()["tensors"]}
    return ea, values


def plugin(ea, tag):
    return ea.SummaryMetadata(tag).plugin_data.plugin_name


@pytest.fixture(autouse=True)
def _clean_state():
    yield
    tf.summary.experimental.set_step(None)


# ----------------------------------------------------------------------------- eager


def test_scalar_eager(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path))
    with w.as_default():
        for step, v in enumerate([0.5, 0.25, 0.125]):
            assert bool(tf.summary.scalar("loss", v, step=step))
        tf.summary.scalar("acc", tf.constant(3, tf.int32), step=7, description="accuracy")
        tf.summary.scalar("var", tf.Variable(1.5), step=np.int64(8))
    w.close()
    files = os.listdir(tmp_path)
    assert len(files) == 1 and files[0].startswith("events.out.tfevents.") and files[0].endswith(".v2")
    ea, got = read(tmp_path)
    assert [(s, float(v)) for s, v in got["loss"]] == [(0, 0.5), (1, 0.25), (2, 0.125)]
    assert all(v.dtype == np.float32 and v.shape == () for _, v in got["loss"])
    assert [(s, float(v)) for s, v in got["acc"]] == [(7, 3.0)]
    assert [(s, float(v)) for s, v in got["var"]] == [(8, 1.5)]
    assert plugin(ea, "loss") == "scalars"
    assert ea.SummaryMetadata("acc").summary_description == "accuracy"


def test_no_default_writer_returns_false(tmp_path):
    r = tf.summary.scalar("x", 1.0, step=0)
    assert isinstance(r, tf.Tensor) and r.dtype == tf.bool and not bool(r)
    assert not bool(tf.summary.histogram("h", [1.0, 2.0], step=0))
    assert not bool(tf.summary.should_record_summaries())
    # A missing step is only an error when something would be written.
    assert not bool(tf.summary.scalar("x", 1.0))


def test_missing_step_raises(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path))
    with w.as_default():
        with pytest.raises(ValueError, match="No step set"):
            tf.summary.scalar("x", 1.0)
        with tf.summary.record_if(False):
            assert not bool(tf.summary.scalar("x", 1.0))
    w.close()


def test_scalar_rejects_non_scalar(tmp_path):
    with pytest.raises(ValueError, match="scalar"):
        tf.summary.scalar("x", [1.0, 2.0], step=0)


def test_default_steps_and_nesting(tmp_path):
    a = tf.summary.create_file_writer(str(tmp_path / "a"))
    b = tf.summary.create_file_writer(str(tmp_path / "b"))
    tf.summary.experimental.set_step(3)
    assert tf.summary.experimental.get_step() == 3
    with a.as_default(step=10):
        assert tf.summary.experimental.get_step() == 10
        tf.summary.scalar("v", 1.0)
        with b.as_default(step=20):
            tf.summary.scalar("v", 2.0)
        tf.summary.scalar("v", 3.0)
        tf.summary.scalar("v", 4.0, step=11)
    assert tf.summary.experimental.get_step() == 3
    with a.as_default():  # no step given: the thread's default step
        tf.summary.scalar("v", 5.0)
    a.close()
    b.close()
    _, ga = read(tmp_path / "a")
    _, gb = read(tmp_path / "b")
    assert [(s, float(v)) for s, v in ga["v"]] == [(10, 1.0), (10, 3.0), (11, 4.0), (3, 5.0)]
    assert [(s, float(v)) for s, v in gb["v"]] == [(20, 2.0)]


def test_set_as_default_and_flush(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path), flush_millis=10 ** 7)
    try:
        w.set_as_default(step=4)
        tf.summary.scalar("x", 2.0)
        tf.summary.flush()
        _, got = read(tmp_path)
        assert [(s, float(v)) for s, v in got["x"]] == [(4, 2.0)]
    finally:
        from rstf import summary as summary_module

        summary_module._state.writer = None  # set_as_default has no undo
        w.close()


def test_record_if(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path))
    with w.as_default():
        assert bool(tf.summary.should_record_summaries())
        with tf.summary.record_if(False):
            assert not bool(tf.summary.should_record_summaries())
            assert not bool(tf.summary.scalar("off", 1.0, step=0))
            assert not bool(tf.summary.image("off_image", np.zeros((1, 2, 2, 1)), step=0))
        for step in range(6):
            with tf.summary.record_if(lambda step=step: step % 3 == 0):
                tf.summary.scalar("every3", float(step), step=step)
        with tf.summary.record_if(tf.constant(True)):
            tf.summary.scalar("tensor_cond", 1.0, step=0)
    w.close()
    _, got = read(tmp_path)
    assert "off" not in got and "off_image" not in got
    assert [s for s, _ in got["every3"]] == [0, 3]
    assert [s for s, _ in got["tensor_cond"]] == [0]


def test_noop_writer_and_closed_writer(tmp_path):
    noop = tf.summary.create_noop_writer()
    with noop.as_default():
        assert not bool(tf.summary.scalar("x", 1.0, step=0))
    noop.flush()
    noop.close()
    w = tf.summary.create_file_writer(str(tmp_path))
    w.init()
    w.close()
    w.close()  # twice is fine
    w.flush()
    with pytest.raises(RuntimeError, match="already closed"):
        w.as_default()
    with pytest.raises(RuntimeError, match="already closed"):
        w.init()
    with pytest.raises(ValueError, match="logdir"):
        tf.summary.create_file_writer(None)
    with pytest.raises(ValueError, match="Invalid argument to flush"):
        tf.summary.flush(writer="not a writer")


# ----------------------------------------------------------------------------- histograms


def reference_buckets(data, k):
    """TensorBoard's bucket rule, computed with np.histogram: k equal-width buckets from the
    minimum to the maximum (the last closed)."""
    data = np.asarray(data, np.float64).ravel()
    if data.size == 0:
        return np.zeros((k, 3))
    lo, hi = data.min(), data.max()
    if lo == hi:
        return np.array([[hi, hi, 0.0]] * (k - 1) + [[hi, hi, float(data.size)]])
    counts, edges = np.histogram(data, bins=k, range=(lo, hi))
    return np.stack([edges[:-1], edges[1:], counts.astype(np.float64)], axis=1)


@pytest.mark.parametrize("data,buckets", [
    (np.random.default_rng(0).normal(size=1000).astype(np.float32), None),
    (np.random.default_rng(1).uniform(-3, 5, size=(20, 30)), 7),
    (np.arange(10, dtype=np.int32), 3),
    (np.full(5, 2.5), None),
    (np.zeros(0, np.float32), 4),
])
def test_histogram_matches_reference(tmp_path, data, buckets):
    from tensorboard.plugins.histogram.summary_v2 import histogram_pb

    w = tf.summary.create_file_writer(str(tmp_path))
    with w.as_default():
        assert bool(tf.summary.histogram("h", tf.constant(data), step=1, buckets=buckets))
    w.close()
    ea, got = read(tmp_path)
    assert plugin(ea, "h") == "histograms"
    (step, value), = got["h"]
    k = 30 if buckets is None else buckets
    assert step == 1 and value.dtype == np.float64 and value.shape == (k, 3)
    np.testing.assert_allclose(value, reference_buckets(data, k), rtol=1e-12, atol=1e-12)
    # tensorboard's own numpy version of the same rule
    theirs = tensor_util.make_ndarray(histogram_pb("h", data, buckets=buckets).value[0].tensor)
    np.testing.assert_allclose(value, theirs, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- images and text


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def test_image_float_and_uint8(tmp_path):
    rng = np.random.default_rng(2)
    levels = rng.integers(0, 256, size=(4, 5, 6, 3))
    floats = (levels / 255.0).astype(np.float32)  # k/255 maps back to k exactly
    gray = rng.integers(0, 256, size=(2, 3, 4, 1)).astype(np.uint8)
    w = tf.summary.create_file_writer(str(tmp_path))
    with w.as_default():
        assert bool(tf.summary.image("rgb", tf.constant(floats), step=0, max_outputs=2))
        assert bool(tf.summary.image("gray", gray, step=5, description="d"))
        assert bool(tf.summary.image("clipped", np.array([[[[-1.0], [2.0]]]], np.float32), step=0))
        assert bool(tf.summary.image("none", floats, step=0, max_outputs=0))
    w.close()
    ea, got = read(tmp_path)
    assert plugin(ea, "rgb") == "images"
    (_, rgb), = got["rgb"]
    assert rgb.shape == (4,) and rgb[0] == b"6" and rgb[1] == b"5"  # width, height
    for i in range(2):
        np.testing.assert_array_equal(decode(rgb[2 + i]), levels[i].astype(np.uint8))
    (step, g), = got["gray"]
    assert step == 5 and len(g) == 4
    for i in range(2):
        np.testing.assert_array_equal(decode(g[2 + i]), gray[i, :, :, 0])
    (_, c), = got["clipped"]
    np.testing.assert_array_equal(decode(c[2]), [[0, 255]])
    (_, none), = got["none"]
    assert list(none) == [b"6", b"5"]


def test_image_checks(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path))
    with w.as_default():
        with pytest.raises(ValueError, match="rank 4"):
            tf.summary.image("bad", np.zeros((3, 3, 3)), step=0)
        with pytest.raises(tf.errors.InvalidArgumentError, match="channels"):
            tf.summary.image("bad", np.zeros((1, 3, 3, 5)), step=0)
    w.close()


def test_text(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path))
    with w.as_default():
        assert bool(tf.summary.text("note", "hello *world*", step=2))
        assert bool(tf.summary.text("table", [["a", "b"], ["c", "d"]], step=3))
        with pytest.raises(TypeError, match="string"):
            tf.summary.text("bad", tf.constant([1, 2]), step=0)
    w.close()
    ea, got = read(tmp_path)
    assert plugin(ea, "note") == "text"
    (step, v), = got["note"]
    assert step == 2 and v.item() == b"hello *world*"
    (_, t), = got["table"]
    assert t.shape == (2, 2) and t[1, 0] == b"c"


@pytest.mark.skipif(not hasattr(tf, "string"), reason="no string tensors")
def test_text_of_string_tensors(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path))

    @tf.function
    def f(s):
        with w.as_default():
            tf.summary.text("s", s, step=1)

    with w.as_default():
        tf.summary.text("t", tf.constant(["a", "bc"]), step=0)
    f(tf.constant("hello"))
    w.close()
    _, got = read(tmp_path)
    assert list(got["t"][0][1]) == [b"a", b"bc"]
    assert got["s"][0][1].item() == b"hello"


# ----------------------------------------------------------------------------- traced functions


def test_scalar_in_function_writes_per_call(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path))
    step = tf.Variable(0, dtype=tf.int64)

    @tf.function
    def f(x):
        step.assign_add(1)
        with w.as_default():
            tf.summary.scalar("x", x * 2.0, step=step)
            tf.summary.histogram("hx", tf.fill([4], x), step=step, buckets=2)
            tf.summary.image("ix", tf.fill([1, 2, 3, 1], x / 255.0), step=step)
        return x + 1.0

    for v in [1.0, 2.0, 3.0]:
        f(tf.constant(v))
    w.close()
    _, got = read(tmp_path)
    assert [(s, float(v)) for s, v in got["x"]] == [(1, 2.0), (2, 4.0), (3, 6.0)]
    assert [s for s, _ in got["hx"]] == [1, 2, 3]
    np.testing.assert_array_equal(got["hx"][2][1], [[3.0, 3.0, 0.0], [3.0, 3.0, 4.0]])
    for i, (s, im) in enumerate(got["ix"]):
        assert s == i + 1 and list(im[:2]) == [b"3", b"2"]
        np.testing.assert_array_equal(decode(im[2]), np.full((2, 3), i + 1))


def test_function_default_step_variable_and_dynamic_condition(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path))
    opt = tf.keras.optimizers.SGD(0.1)
    v = tf.Variable(1.0)

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            loss = v * v
        opt.apply_gradients([(tape.gradient(loss, v), v)])
        tf.summary.scalar("loss", loss)
        with tf.summary.record_if(lambda: tf.equal(opt.iterations % 2, 0)):
            r = tf.summary.scalar("even", loss)
        return r

    with w.as_default(step=opt.iterations):
        flags = [bool(train_step()) for _ in range(4)]
    w.close()
    assert flags == [False, True, False, True]
    _, got = read(tmp_path)
    expected = [1.0, 0.64, 0.4096, 0.262144]
    assert [s for s, _ in got["loss"]] == [1, 2, 3, 4]
    np.testing.assert_allclose([float(x) for _, x in got["loss"]], expected, rtol=1e-6)
    assert [s for s, _ in got["even"]] == [2, 4]


def test_nested_functions_and_loops(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path))
    step = tf.Variable(0, dtype=tf.int64)

    @tf.function
    def inner(x):
        tf.summary.scalar("inner", x, step=step)
        return x * 2.0

    @tf.function
    def outer(x):
        step.assign_add(1)
        return inner(x) + 1.0

    @tf.function
    def loop(n):
        for i in tf.range(n):
            step.assign_add(1)
            tf.summary.scalar("loop", tf.cast(i, tf.float32), step=step)
        return n

    with w.as_default():
        inner(tf.constant(5.0))  # traced alone first, then called from outer's trace
        for v in [1.0, 2.0, 3.0]:
            outer(tf.constant(v))
        loop(tf.constant(3))
    w.close()
    _, got = read(tmp_path)
    assert [(s, float(v)) for s, v in got["inner"]] == [(0, 5.0), (1, 1.0), (2, 2.0), (3, 3.0)]
    assert [(s, float(v)) for s, v in got["loop"]] == [(4, 0.0), (5, 1.0), (6, 2.0)]


def test_function_without_writer_and_record_if_false(tmp_path):
    @tf.function
    def f(x):
        return tf.summary.scalar("x", x, step=0)

    assert not bool(f(tf.constant(1.0)))
    w = tf.summary.create_file_writer(str(tmp_path))

    @tf.function
    def g(x):
        with w.as_default(), tf.summary.record_if(False):
            return tf.summary.scalar("x", x, step=0)

    for _ in range(3):
        assert not bool(g(tf.constant(1.0)))
    w.close()
    _, got = read(tmp_path)
    assert got == {}


# ----------------------------------------------------------------------------- keras


def _fit(tmp_path, **kwargs):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)
    model = tf.keras.Sequential([tf.keras.layers.Dense(4, activation="relu"), tf.keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    cb = tf.keras.callbacks.TensorBoard(log_dir=str(tmp_path), **kwargs)
    history = model.fit(x, y, epochs=3, batch_size=10, verbose=0, validation_split=0.25, callbacks=[cb])
    return model, history


def test_keras_tensorboard_epoch_logs(tmp_path):
    model, history = _fit(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["train", "validation"]
    ea, train = read(tmp_path / "train")
    _, val = read(tmp_path / "validation")
    assert set(train) == {"epoch_loss", "epoch_mae", "epoch_learning_rate"}
    assert plugin(ea, "epoch_loss") == "scalars"
    for name in ("loss", "mae"):
        assert [s for s, _ in train[f"epoch_{name}"]] == [0, 1, 2]
        np.testing.assert_allclose([float(v) for _, v in train[f"epoch_{name}"]], history.history[name],
                                   rtol=1e-6)
        np.testing.assert_allclose([float(v) for _, v in val[f"epoch_{name}"]],
                                   history.history[f"val_{name}"], rtol=1e-6)
    np.testing.assert_allclose([float(v) for _, v in train["epoch_learning_rate"]], [0.01] * 3, rtol=1e-6)
    # 30 training examples in batches of 10: 3 steps per epoch
    assert [s for s, _ in val["evaluation_loss_vs_iterations"]] == [3, 6, 9]


def test_keras_tensorboard_batches_and_histograms(tmp_path):
    model, history = _fit(tmp_path, update_freq=2, histogram_freq=2, write_images=True)
    ea, train = read(tmp_path / "train")
    assert [s for s, _ in train["batch_loss"]] == [2, 4, 6, 8]
    assert [s for s, _ in train["batch_mae"]] == [2, 4, 6, 8]
    names = [f"{layer.name}/{w.name.split(':')[0]}/histogram"
             for layer in model.layers for w in layer.weights]
    assert len(names) == 4 and all(n in train for n in names)
    for layer in model.layers:
        for weight in layer.weights:
            tag = f"{layer.name}/{weight.name.split(':')[0]}/histogram"
            assert plugin(ea, tag) == "histograms"
            assert [s for s, _ in train[tag]] == [0, 2]
            np.testing.assert_allclose(train[tag][-1][1], reference_buckets(weight.numpy(), 30),
                                       rtol=1e-9, atol=1e-12)
    kernel_tag = f"{model.layers[0].name}/kernel/image"
    (_, img), _ = train[kernel_tag]
    assert plugin(ea, kernel_tag) == "images" and decode(img[2]).shape == (3, 4)


def test_keras_tensorboard_arguments():
    with pytest.raises(ValueError, match="update_freq"):
        tf.keras.callbacks.TensorBoard(update_freq="sometimes")
    with pytest.warns(UserWarning, match="profiler"):
        tf.keras.callbacks.TensorBoard(profile_batch=2)


# ----------------------------------------------------------------------------- packaging


def test_import_is_lazy_and_missing_tensorboard_is_explained(tmp_path):
    code = (
        "import sys\n"
        "import rstf as tf\n"
        "assert 'tensorboard' not in sys.modules, 'import rstf loaded tensorboard'\n"
        "assert not bool(tf.summary.scalar('x', 1.0, step=0))\n"
        "sys.modules['tensorboard'] = None\n"
        "try:\n"
        f"    tf.summary.create_file_writer({str(tmp_path)!r})\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install rstf[tensorboard]" in out.stdout
