"""The wgpu backend: device listing and placement, kernels against numpy and the CPU,
gradients, traced functions, variables and Keras training on the GPU.

Runs on lavapipe in CI (``RSTF_ALLOW_SOFTWARE_GPU=1``); skipped where no Vulkan device exists,
failed instead under ``RSTF_REQUIRE_GPU=1`` (see conftest.py).

References are numpy (float64 where rounding matters) or rstf computed under
``tf.device('/CPU:0')``: without a scope, ops run on a hardware GPU by default, and such a
"CPU" reference would compare the GPU with itself.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import needs_gpu
from helpers import expected_gpu

import rstf as tf
from rstf import _rstf

pytestmark = needs_gpu

GPU = "/job:localhost/replica:0/task:0/device:GPU:0"
CPU = "/job:localhost/replica:0/task:0/device:CPU:0"


def test_gpu_is_listed_with_its_name():
    gpus = tf.config.list_physical_devices("GPU")
    assert gpus == [tf.config.PhysicalDevice("/physical_device:GPU:0", "GPU")]
    assert tf.config.list_logical_devices("GPU")[0].name == "/device:GPU:0"
    assert tf.config.experimental.get_device_details(gpus[0])["device_name"]


def _gpu_name():
    return tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])["device_name"]


def _listed_gpus(env):
    """The names of the GPUs that a fresh process with ``env`` lists."""
    code = ("import json, rstf as tf\n"
            "gpus = tf.config.list_physical_devices('GPU')\n"
            "print(json.dumps([tf.config.experimental.get_device_details(g)['device_name'] for g in gpus]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("allow", [False, True], ids=["software-hidden", "software-allowed"])
def test_software_adapters_are_listed_only_with_the_variable(allow):
    # The reference is the Vulkan loader's own device list (helpers.vulkan_devices): a software
    # device (VK_PHYSICAL_DEVICE_TYPE_CPU, lavapipe) counts only with RSTF_ALLOW_SOFTWARE_GPU=1,
    # a hardware one always, and the best kind is chosen.
    expected = expected_gpu(allow_software=allow)
    if expected is None:
        pytest.skip("no Vulkan loader to compare rstf's adapters with")
    env = {k: v for k, v in os.environ.items() if k not in ("RSTF_ALLOW_SOFTWARE_GPU", "RSTF_DISABLE_GPU")}
    if allow:
        env["RSTF_ALLOW_SOFTWARE_GPU"] = "1"
    listed = _listed_gpus(env)
    if expected:
        assert len(listed) == 1 and listed[0] in expected, (listed, expected)
    else:
        assert listed == [], listed
    # This process (RSTF_ALLOW_SOFTWARE_GPU as the test command set it) chose from the same list.
    here = expected_gpu(allow_software=os.environ.get("RSTF_ALLOW_SOFTWARE_GPU") == "1")
    assert _gpu_name() in here, (_gpu_name(), here)


def test_only_a_hardware_gpu_is_the_default_device():
    hardware = expected_gpu(allow_software=False)
    if hardware is None:  # no Vulkan loader: judge by the adapter's name
        name = _gpu_name()
        software = any(w in name.lower() for w in ("llvmpipe", "lavapipe", "swiftshader", "warp"))
        hardware = [] if software else [name]
    assert tf.constant([1.0]).device == (GPU if hardware else CPU)


def test_placement_follows_the_scope_and_the_inputs():
    with tf.device("/GPU:0"):
        x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
        assert x.device == GPU
    y = x * 2.0 + 1.0
    assert y.device == GPU
    np.testing.assert_allclose(y.numpy(), [[3.0, 5.0], [7.0, 9.0]])
    with tf.device("/CPU:0"):
        z = x + 1.0
    assert z.device == CPU
    np.testing.assert_allclose(z.numpy(), [[2.0, 3.0], [4.0, 5.0]])
    mixed = z + y
    assert mixed.device == GPU
    assert "GPU" in repr(tf.config.list_logical_devices("GPU"))
    with tf.device("/job:localhost/replica:0/task:0/device:GPU:0"):
        assert tf.random.uniform([3]).device == GPU
        assert tf.zeros([2, 2]).device == GPU


def test_unsupported_dtypes_stay_in_host_memory():
    with tf.device("/GPU:0"):
        x = tf.constant([1.0, 2.0], dtype=tf.float64)
        assert x.device == CPU
        y = tf.constant([1, 2], dtype=tf.int64) * 3
        assert y.numpy().tolist() == [3, 6]
        i = tf.constant([1, 2], dtype=tf.int32)
        assert i.device == GPU
        h = tf.constant([1.0, 2.0], dtype=tf.bfloat16) * 2.0
        assert h.device == CPU and h.numpy().tolist() == [2.0, 4.0]


def test_soft_placement_of_missing_gpus():
    with tf.device("/GPU:7"):
        assert tf.constant(1.0).device == CPU
    with pytest.raises(ValueError, match="cannot parse device name"):
        tf.device("/TPU:0")


def test_printing_and_python_values_read_back():
    with tf.device("/GPU:0"):
        x = tf.constant([1.5, -2.0])
        assert "1.5" in str(x) and "-2." in repr(x)
        assert float(tf.reduce_sum(x)) == -0.5
        assert bool(tf.reduce_all(x > -3.0))


@pytest.mark.parametrize("shape_a,shape_b,ta,tb", [
    ((130, 70), (70, 90), False, False),
    ((70, 130), (70, 90), True, False),
    ((3, 33, 17), (17, 65), False, False),
    ((2, 1, 9, 8), (3, 10, 8), False, True),
    ((0, 4), (4, 5), False, False),
    # From 256 rows and columns on, the 128x128-tile kernel (on a software device; a hardware GPU
    # uses it from 256 such tiles): partial tiles, k not a multiple of 16.
    ((300, 200), (200, 260), False, False),
    ((37, 300), (260, 37), True, True),
    ((2, 257, 33), (33, 384), False, False),
    ((256, 1), (300, 1), False, True),
    # Each operand's slice loader: along k, m or n in vec4s (axes multiples of 4), or strided.
    ((36, 260), (36, 264), True, False),
    ((260, 36), (264, 36), False, True),
    ((36, 260), (264, 36), True, True),
    ((2, 260, 12), (12, 256), False, False),
])
def test_matmul_matches_numpy(shape_a, shape_b, ta, tb):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape_a).astype(np.float32)
    b = rng.standard_normal(shape_b).astype(np.float32)
    with tf.device("/GPU:0"):
        c = tf.matmul(a, b, transpose_a=ta, transpose_b=tb)
    assert c.device == GPU
    ra = np.swapaxes(a, -1, -2) if ta else a
    rb = np.swapaxes(b, -1, -2) if tb else b
    np.testing.assert_allclose(c.numpy(), ra @ rb, rtol=1e-4, atol=1e-4)


def test_kernel_arguments_larger_than_the_shared_argument_buffer():
    # A batched matmul's per-batch offsets (here 72 KB of them) get a buffer of their own;
    # the small kernels around it keep sharing one per submission.
    rng = np.random.default_rng(9)
    a = rng.standard_normal((9000, 2, 3)).astype(np.float32)
    b = rng.standard_normal((9000, 3, 2)).astype(np.float32)
    with tf.device("/GPU:0"):
        x, y = tf.constant(a), tf.constant(b)
        c = tf.matmul(x * 1.0, y) + 1.0
    np.testing.assert_allclose(c.numpy(), a @ b + 1.0, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("a_start,b_start", [(0, 0), (1, 0), (0, 4), (4, 1)])
def test_matmul_of_views_with_offsets(a_start, b_start):
    # Operands that start inside their buffers: vec4 loads only from offsets that are multiples
    # of 4, single values otherwise.
    rng = np.random.default_rng(5)
    a = rng.standard_normal((264, 44)).astype(np.float32)
    b = rng.standard_normal((40, 268)).astype(np.float32)
    with tf.device("/GPU:0"):
        x, y = tf.constant(a)[:, a_start:a_start + 40], tf.constant(b)[:, b_start:b_start + 264]
        c = tf.matmul(x, y)
    want = a[:, a_start:a_start + 40] @ b[:, b_start:b_start + 264]
    np.testing.assert_allclose(c.numpy(), want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n", [4, 12, 1024, 1030])
def test_elementwise_kernels_four_values_per_thread(n):
    # Dense 32-bit operands of a multiple of 4 values run four values per thread; the rest
    # (n = 1030, or a view starting at an odd offset) one value per thread.
    rng = np.random.default_rng(6)
    x = rng.standard_normal(n + 5).astype(np.float32)
    y = rng.standard_normal(n + 5).astype(np.float32)
    k = rng.integers(-9, 9, n + 5).astype(np.int32)

    @tf.function
    def chain(u, v):
        return tf.exp(u * v - 1.0) + tf.abs(v)

    with tf.device("/GPU:0"):
        xg, yg, kg = tf.constant(x), tf.constant(y), tf.constant(k)
        for start in (0, 1, 4):
            a, b, i = xg[start:start + n], yg[start:start + n], kg[start:start + n]
            xs, ys, ks = x[start:start + n], y[start:start + n], k[start:start + n]
            np.testing.assert_array_equal((a + b).numpy(), xs + ys)
            np.testing.assert_array_equal((a * 2.0).numpy(), xs * np.float32(2.0))
            np.testing.assert_array_equal((i * 3 - i).numpy(), ks * 3 - ks)
            np.testing.assert_array_equal(tf.cast(i, tf.float32).numpy(), ks.astype(np.float32))
            np.testing.assert_array_equal((a > b).numpy(), xs > ys)
            want = np.where(xs > ys, xs, np.float32(0.5))
            np.testing.assert_array_equal(tf.where(a > b, a, 0.5).numpy(), want)
            np.testing.assert_array_equal(tf.logical_not(a > b).numpy(), xs <= ys)
            got = chain(a, b)
            assert got.device == GPU
            want = np.exp(xs.astype(np.float64) * ys - 1.0) + np.abs(ys)
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_along_any_axis_stays_on_the_gpu(axis, log):
    x = np.random.default_rng(7).uniform(-30, 30, (5, 7, 6)).astype(np.float32)
    fn = tf.nn.log_softmax if log else tf.nn.softmax
    x64 = x.astype(np.float64)
    shifted = x64 - x64.max(axis=axis, keepdims=True)
    total = np.exp(shifted).sum(axis=axis, keepdims=True)
    want = shifted - np.log(total) if log else np.exp(shifted) / total
    with tf.device("/GPU:0"):
        t = tf.constant(x)
        before = _rstf.gpu_bytes_read()
        got = fn(t, axis=axis)
        assert got.device == GPU and _rstf.gpu_bytes_read() == before
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)


def test_a_cast_to_the_same_dtype_is_the_tensor_itself():
    with tf.device("/GPU:0"):
        x = tf.constant([1.5, -2.0])
        before = _rstf.gpu_dispatches()
        y = tf.cast(x, tf.float32)
        assert _rstf.gpu_dispatches() == before and _rstf.is_view_of(y, x)
        assert tf.cast(x, tf.int32).numpy().tolist() == [1, -2]


def test_long_reductions_take_several_passes():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 50_000)).astype(np.float32)
    with tf.device("/GPU:0"):
        t = tf.constant(x)
        s = tf.reduce_sum(t, axis=1)
        m = tf.reduce_max(t)
        a = tf.reduce_mean(t, axis=0)
    np.testing.assert_allclose(s.numpy(), x.astype(np.float64).sum(1), rtol=1e-4, atol=1e-2)
    assert m.numpy() == x.max()
    np.testing.assert_allclose(a.numpy(), x.mean(0), rtol=1e-5, atol=1e-6)


def _mlp_grads():
    rng = np.random.default_rng(2)
    x = tf.constant(rng.standard_normal((16, 5)).astype(np.float32))
    y = tf.constant(rng.standard_normal((16, 1)).astype(np.float32))
    w1 = tf.Variable(rng.standard_normal((5, 8)).astype(np.float32))
    b1 = tf.Variable(np.zeros(8, np.float32))
    w2 = tf.Variable(rng.standard_normal((8, 1)).astype(np.float32))
    with tf.GradientTape() as tape:
        h = tf.nn.relu(x @ w1 + b1)
        p = tf.nn.softmax(h, axis=-1) * tf.tanh(h)
        loss = tf.reduce_mean(tf.square(p @ w2 - y))
    grads = tape.gradient(loss, [w1, b1, w2])
    return loss, grads, w1


def test_gradients_on_the_gpu_equal_the_cpu():
    with tf.device("/CPU:0"):
        loss_c, grads_c, w1_c = _mlp_grads()
    with tf.device("/GPU:0"):
        loss_g, grads_g, w1 = _mlp_grads()
    assert w1_c.device == CPU and loss_c.device == CPU and all(c.device == CPU for c in grads_c)
    assert w1.device == GPU and loss_g.device == GPU
    np.testing.assert_allclose(loss_g.numpy(), loss_c.numpy(), rtol=1e-5)
    for g, c in zip(grads_g, grads_c):
        assert g.device == GPU
        np.testing.assert_allclose(g.numpy(), c.numpy(), rtol=1e-4, atol=1e-6)


def test_traced_functions_fuse_on_the_gpu_and_equal_the_cpu():
    @tf.function
    def f(x, y):
        return tf.nn.sigmoid(x * y + 1.0) * tf.exp(-tf.abs(x)) - tf.sqrt(tf.square(y) + 1.0)

    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 33)).astype(np.float32)
    y = rng.standard_normal((33,)).astype(np.float32)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    want = 1 / (1 + np.exp(-(x64 * y64 + 1.0))) * np.exp(-np.abs(x64)) - np.sqrt(np.square(y64) + 1.0)
    with tf.device("/GPU:0"):
        xg, yg = tf.constant(x), tf.constant(y)
    gpu = f(xg, yg)
    assert gpu.device == GPU
    np.testing.assert_allclose(gpu.numpy(), want, rtol=1e-5, atol=1e-6)
    # Two kernels: the chain over y's shape (33,), then the rest over (64, 33), its branches
    # and exp and sigmoid included.
    before = _rstf.gpu_dispatches()
    again = f(xg, yg)
    assert _rstf.gpu_dispatches() - before == 2
    np.testing.assert_array_equal(again.numpy(), gpu.numpy())


def test_variables_update_on_the_gpu():
    with tf.device("/GPU:0"):
        v = tf.Variable([1.0, 2.0, 3.0])
    assert v.device == GPU
    v.assign_add(tf.constant([1.0, 1.0, 1.0]))
    v.assign_sub([0.5, 0.5, 0.5])
    assert v.device == GPU
    np.testing.assert_allclose(v.numpy(), [1.5, 2.5, 3.5])
    v.assign([0.0, 0.0, 1.0])
    assert v.device == GPU and v.numpy().tolist() == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("make", [
    lambda: tf.keras.optimizers.SGD(0.1),
    lambda: tf.keras.optimizers.SGD(0.1, momentum=0.9),
    lambda: tf.keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    lambda: tf.keras.optimizers.Adam(0.01),
    lambda: tf.keras.optimizers.AdamW(0.01, weight_decay=0.1),
    lambda: tf.keras.optimizers.RMSprop(0.01),
    lambda: tf.keras.optimizers.Adagrad(0.1),
], ids=["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad"])
def test_optimizer_updates_are_one_gpu_kernel_per_variable(make):
    rng = np.random.default_rng(8)
    init = [rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)]
    grads = [[rng.standard_normal(w.shape).astype(np.float32) for w in init] for _ in range(3)]
    with tf.device("/CPU:0"):
        cpu_vars = [tf.Variable(w) for w in init]
        cpu_opt = make()
        for gs in grads:
            cpu_opt.apply_gradients(zip([tf.constant(g) for g in gs], cpu_vars))
    with tf.device("/GPU:0"):
        gpu_vars = [tf.Variable(w) for w in init]
        gpu_grads = [[tf.constant(g) for g in gs] for gs in grads]
    gpu_opt = make()  # created outside the scope: its slots still live beside the variables
    for step, gs in enumerate(gpu_grads):
        before = _rstf.gpu_dispatches()
        gpu_opt.apply_gradients(zip(gs, gpu_vars))
        if step:  # (the first step also fills the new slots)
            assert _rstf.gpu_dispatches() - before == len(gpu_vars)
    for c, g in zip(cpu_opt.variables() + cpu_vars, gpu_opt.variables() + gpu_vars):
        assert c.device == CPU
        if g.dtype == tf.float32:
            assert g.device == GPU
        np.testing.assert_allclose(g.numpy(), c.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["momentum", "adam", "adagrad"])
def test_traced_optimizer_updates_are_one_gpu_kernel_per_variable(name):
    make = {"momentum": lambda: tf.keras.optimizers.SGD(0.1, momentum=0.9),
            "adam": lambda: tf.keras.optimizers.Adam(0.01),
            "adagrad": lambda: tf.keras.optimizers.Adagrad(0.1)}[name]
    rng = np.random.default_rng(9)
    init = [rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)]
    grads = [[rng.standard_normal(w.shape).astype(np.float32) for w in init] for _ in range(4)]
    with tf.device("/CPU:0"):
        cpu_vars, cpu_opt = [tf.Variable(w) for w in init], make()
        for gs in grads:
            cpu_opt.apply_gradients(zip([tf.constant(g) for g in gs], cpu_vars))
    with tf.device("/GPU:0"):
        gpu_vars = [tf.Variable(w) for w in init]
        gpu_grads = [[tf.constant(g) for g in gs] for gs in grads]
        gpu_opt = make()
        step = tf.function(lambda g0, g1: gpu_opt.apply_gradients(zip([g0, g1], gpu_vars)))
        for k, gs in enumerate(gpu_grads):
            before = _rstf.gpu_dispatches()
            step(*gs)
            if k >= 2:  # (the first call traces, the second fills nothing new)
                assert _rstf.gpu_dispatches() - before == len(gpu_vars)
    for c, g in zip(cpu_opt.variables() + cpu_vars, gpu_opt.variables() + gpu_vars):
        assert c.device == CPU
        if g.dtype == tf.float32:
            assert g.device == GPU
        np.testing.assert_allclose(g.numpy(), c.numpy(), rtol=1e-5, atol=1e-6)


def test_equal_gpu_constants_are_distinct_tensors_to_tapes():
    # Scalars uploaded again share a buffer, never an identity: a tape must not mix them up.
    with tf.device("/GPU:0"):
        a, b, c = tf.constant(3.0), tf.constant(3.0), tf.constant(3.0)  # b and c: kept copies
        assert b.device == GPU
        with tf.GradientTape() as tape:
            tape.watch(b)
            z = b * c + 5.0 * b + a
        assert float(tape.gradient(z, b)) == 8.0


def test_checkpoints_of_gpu_variables(tmp_path):
    with tf.device("/GPU:0"):
        v = tf.Variable([[1.0, 2.0]])
    ckpt = tf.train.Checkpoint(v=v)
    path = ckpt.write(str(tmp_path / "ck"))
    v.assign([[5.0, 6.0]])
    ckpt.read(path)
    assert v.numpy().tolist() == [[1.0, 2.0]]
    assert v.device == GPU


def test_keras_training_on_the_gpu_matches_the_cpu():
    rng = np.random.default_rng(4)
    x = rng.uniform(-2, 2, (64, 1)).astype(np.float32)
    y = (x**2 + 0.1 * rng.standard_normal((64, 1))).astype(np.float32)

    def train():
        tf.random.set_seed(7)
        model = tf.keras.Sequential([
            tf.keras.layers.Dense(16, activation="relu"),
            tf.keras.layers.Dense(1),
        ])
        model.compile(optimizer=tf.keras.optimizers.SGD(0.05), loss="mse")
        hist = model.fit(x, y, epochs=5, batch_size=16, verbose=0, shuffle=False)
        return model, hist.history["loss"]

    with tf.device("/CPU:0"):
        cpu_model, cpu = train()
    with tf.device("/GPU:0"):
        model, gpu = train()
    assert cpu_model.trainable_variables[0].device == CPU
    assert model.trainable_variables[0].device == GPU
    assert gpu[-1] < gpu[0]
    np.testing.assert_allclose(gpu, cpu, rtol=1e-3)


def test_bad_input_on_the_gpu_raises_tensorflow_errors():
    with tf.device("/GPU:0"):
        a = tf.ones([2, 3])
        with pytest.raises(tf.errors.InvalidArgumentError, match="Matrix size-incompatible"):
            tf.matmul(a, a)
        with pytest.raises(tf.errors.InvalidArgumentError, match="Incompatible shapes"):
            a + tf.ones([4])


def test_the_gpu_can_be_turned_off():
    env = dict(os.environ, RSTF_DISABLE_GPU="1")
    code = "import rstf as tf; print(tf.config.list_physical_devices('GPU'), tf.constant(1.0).device)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[] " + CPU
    code = ("import sys, types; sys.modules['tensorflow'] = types.ModuleType('tensorflow'); "
            "import warnings; warnings.simplefilter('error')\n"
            "try:\n    import rstf\nexcept RuntimeWarning as w:\n    print('warned', 'TensorFlow' in str(w))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "warned True", out.stderr


def test_the_guide_runs_on_the_gpu(tmp_path):
    # examples/basics.py (the guide's code, as `make demo` runs it) with the GPU as the placing
    # device, as a hardware GPU is by default: tensors, training loops, fit and saving.
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "basics.py")
    code = ("import runpy, rstf\n"
            "with rstf.device('/GPU:0'):\n"
            f"    runpy.run_path({script!r}, run_name='__main__')\n"
            "print('kernels', rstf._rstf.gpu_dispatches())\n")
    env = dict(os.environ, MPLBACKEND="Agg")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "TensorFlow **IS** using the GPU" in lines
    assert lines[-2] == "model.save('./my_model'): reloaded predictions identical: True"
    assert int(lines[-1].split()[1]) > 10_000


def test_the_gpu_is_looked_for_on_first_use_or_before_tensorflow_is_imported(tmp_path):
    # The import does not load the drivers; the first op does. An import of TensorFlow after
    # rstf's loads them first (their LLVM and TensorFlow's conflict otherwise).
    code = ("import rstf; a = rstf._rstf.gpu_probed(); rstf.constant(1.0) + 1; "
            "print(a, rstf._rstf.gpu_probed())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"], out.stdout
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text("import rstf\nPROBED = rstf._rstf.gpu_probed()\n")
    code = ("import sys, rstf, tensorflow; "
            "print(tensorflow.PROBED, len(rstf.config.list_physical_devices('GPU')), "
            "any(getattr(f, '__name__', '') == '_ProbeBeforeTensorFlow' for f in sys.meta_path))")
    # Where rstf itself comes from a PYTHONPATH, it stays on it.
    path = [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "1", "False"], out.stdout


def test_llvm_loaded_after_the_gpu_does_not_capture_the_software_driver(tmp_path):
    # TensorFlow puts its own LLVM in the global symbol scope; lavapipe's LLVM calls must stay
    # bound to Mesa's LLVM. A stand-in library exports an LLVM function that aborts.
    name = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])["device_name"]
    if "llvmpipe" not in name.lower() and "lavapipe" not in name.lower():
        pytest.skip("only Mesa's LLVM-based software driver binds LLVM")
    src = tmp_path / "fake_llvm.c"
    src.write_text("#include <stdlib.h>\nvoid *LLVMModuleCreateWithNameInContext(void) { abort(); }\n")
    lib = tmp_path / "libfake_llvm.so"
    try:
        subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"no C compiler to build the stand-in library: {e}")
    code = ("import ctypes, rstf\n"
            "rstf.config.list_physical_devices('GPU')\n"
            f"ctypes.CDLL({str(lib)!r}, mode=ctypes.RTLD_GLOBAL)\n"
            "with rstf.device('/GPU:0'):\n"
            "    y = rstf.nn.softplus(rstf.constant([1.0, 2.0]) * 3.5)\n"
            "print([round(float(v), 3) for v in y.numpy()])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[3.53, 7.001]"


def _ulps(got, want):
    want32 = want.astype(np.float32)
    return np.max(np.abs(got.astype(np.float64) - want) / np.spacing(np.abs(want32)).astype(np.float64))


def test_exp_log_and_pow_are_accurate_to_a_few_ulps():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-80, 80, 5000), rng.uniform(-1, 1, 5000)]).astype(np.float32)
    p = np.concatenate([np.abs(x) + 1e-3, [0.999, 1.001, 1.0, 3e38, 1e-30]]).astype(np.float32)
    with tf.device("/GPU:0"):
        assert _ulps(tf.exp(x).numpy(), np.exp(x.astype(np.float64))) <= 2
        assert _ulps(tf.math.log(p).numpy(), np.log(p.astype(np.float64))) <= 3
        # Near zero too, where log(1 + x) loses the digits of x.
        q = np.concatenate([x[5000:], x[5000:] * 1e-5, [-0.5, 0.42, -0.3, 3.0, 1e30]]).astype(np.float32)
        assert _ulps(tf.math.log1p(q).numpy(), np.log1p(q.astype(np.float64))) <= 3
        # 4.5 ulps on an NVIDIA driver (its expm1 and division each round a little further).
        assert _ulps(tf.tanh(q).numpy(), np.tanh(q.astype(np.float64))) <= 6
        erf = np.array([math.erf(v) for v in q.astype(np.float64)])
        # erf: a series below 1/2, Abramowitz and Stegun 7.1.26 above (1.5e-7 absolute).
        assert _ulps(tf.math.erf(q).numpy(), erf) <= 6
        # Adam's bias correction: 1 - 0.999^t, where an approximate log near 1 loses digits.
        t = np.arange(1, 20, dtype=np.float32)
        got = (1.0 - tf.pow(tf.constant(np.float32(0.999)), t)).numpy()
        want = 1.0 - np.float64(np.float32(0.999)) ** t
        np.testing.assert_allclose(got, want, rtol=1e-5)
        special = tf.exp(tf.constant([np.inf, -np.inf, np.nan, 100.0, -200.0])).numpy()
        np.testing.assert_array_equal(special, [np.inf, 0.0, np.nan, np.inf, 0.0])
        logs = tf.math.log(tf.constant([0.0, -1.0, np.inf, np.nan])).numpy()
        np.testing.assert_array_equal(logs, [-np.inf, np.nan, np.inf, np.nan])


def test_nan_survives_relu_and_differs_from_itself():
    with tf.device("/GPU:0"):
        x = tf.constant([np.nan, -1.0, 2.0])
        np.testing.assert_array_equal(tf.nn.relu(x).numpy(), [np.nan, 0.0, 2.0])
        assert (x != x).numpy().tolist() == [True, False, False]


def test_short_sums_add_in_order_and_print_as_the_guide():
    with tf.device("/GPU:0"):
        r = tf.reduce_sum(tf.constant([10.0, 9.1, 8.2]))
    assert repr(r) == "<rstf.Tensor: shape=(), dtype=float32, numpy=27.3>"


def test_traced_random_ops_draw_on_the_gpu_each_call():
    with tf.device("/GPU:0"):
        f = tf.function(lambda x: x + tf.random.uniform([64]))
        a, b = f(tf.zeros([64])), f(tf.zeros([64]))
        g = tf.function(lambda x: x + tf.random.uniform(x.shape), input_signature=[tf.TensorSpec([None])])
        shapes = [g(tf.zeros([n])).shape for n in (3, 5)]
    assert a.device == GPU and not np.array_equal(a.numpy(), b.numpy())
    assert f.experimental_get_tracing_count() == 1
    assert shapes == [(3,), (5,)] and g.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("make,name", [
    (lambda: tf.zeros([2**40, 2**40]), "Fill"),
    (lambda: tf.ones([2**62]), "Fill"),
    (lambda: tf.pad(tf.ones([2]), [[2**62, 2**62]]), "Pad"),
    (lambda: tf.pad(tf.ones([2]), [[2**63 - 1, 2**63 - 1]]), "Pad"),
    (lambda: tf.concat([tf.broadcast_to(1.0, [2**46]), tf.ones([1])], 0), "ConcatV2"),
])
def test_huge_gpu_results_raise_naming_the_op(make, name):
    errors = (tf.errors.ResourceExhaustedError, tf.errors.InvalidArgumentError)
    with tf.device("/GPU:0"), pytest.raises(errors, match=name):
        make()


def test_tensors_larger_than_a_storage_binding_stay_in_host_memory_and_work():
    name = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])["device_name"]
    if "llvmpipe" not in name.lower() and "lavapipe" not in name.lower():
        pytest.skip("the size below is over lavapipe's 128 MiB storage binding, not this adapter's")
    rows = (128 << 20) // (4 * 1024) + 8  # rows of 1024 float32: just over 128 MiB
    with tf.device("/GPU:0"):
        big = tf.ones([rows, 1024])
        assert big.device == CPU
        two = tf.constant([2.0])
        assert two.device == GPU
        y = big * two
        assert y.device == CPU and float(tf.reduce_max(tf.abs(y - 2.0))) == 0.0
        total = tf.reduce_sum(y, axis=1)  # small enough for the GPU again
        assert total.device == GPU
        np.testing.assert_array_equal(total.numpy(), np.full(rows, 2048.0, np.float32))
        # Small GPU inputs whose broadcast result is too large, eagerly and in a fused chain.
        col = tf.reshape(tf.range(rows, dtype=tf.float32), [rows, 1])
        row = tf.ones([1, 1024]) * 0.5
        assert col.device == GPU and row.device == GPU
        z = col + row
        assert z.device == CPU
        np.testing.assert_array_equal(z[-1].numpy(), np.full(1024, rows - 0.5, np.float32))
        f = tf.function(lambda a, b: (a * b + 1.0) * 2.0)
        w = f(col, row)
        assert w.device == CPU
        np.testing.assert_array_equal(w[3].numpy(), np.full(1024, 5.0, np.float32))


@pytest.mark.parametrize("stride,padding,dilation", [
    (1, "VALID", 1), (2, "SAME", 1), (1, "SAME", 2), ([2, 1], "VALID", 1), (3, "SAME", 1),
])
def test_convolution_and_pooling_on_the_gpu_equal_the_cpu(stride, padding, dilation):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 9, 8, 3)).astype(np.float32)
    f = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)

    def run():
        xt, ft = tf.constant(x), tf.constant(f)
        with tf.GradientTape() as tape:
            tape.watch([xt, ft])
            y = tf.nn.conv2d(xt, ft, stride, padding, dilations=dilation)
            m = tf.nn.max_pool2d(y, 2, 2, "SAME")
            a = tf.nn.avg_pool2d(y, 3, 1, padding)
            loss = tf.reduce_sum(m * m) + tf.reduce_sum(a * y[:, :a.shape[1], :a.shape[2]])
        return [y, m, a, *tape.gradient(loss, [xt, ft])]

    with tf.device("/GPU:0"):
        gpu = run()
    with tf.device("/CPU:0"):
        cpu = run()
    for g, c in zip(gpu, cpu):
        assert g.device == GPU and c.device == CPU
        np.testing.assert_allclose(g.numpy(), c.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape,indices,axis", [
    ((5, 3), [4, 0, 0, 2], 0),
    ((2, 6, 3), [[5, 1], [0, 0]], 1),
    ((4, 7), [6, 3], -1),
    ((3, 4), np.zeros((0,), np.int32), 0),
])
def test_gather_runs_on_the_gpu_and_matches_numpy(shape, indices, axis):
    p = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    i = np.asarray(indices, np.int32)
    with tf.device("/GPU:0"):
        got = tf.gather(tf.constant(p), tf.constant(i), axis=axis)
        # Transposed (strided) params and int32 params go through the same kernel.
        got_t = tf.gather(tf.transpose(tf.constant(p.T)), tf.constant(i), axis=axis)
        got_i = tf.gather(tf.constant(p.astype(np.int32)), tf.constant(i), axis=axis)
    assert got.device == GPU
    want = np.take(p, i, axis=axis)
    np.testing.assert_array_equal(got.numpy(), want)
    np.testing.assert_array_equal(got_t.numpy(), want)
    np.testing.assert_array_equal(got_i.numpy(), want.astype(np.int32))


def test_gather_out_of_range_gives_zeros_on_the_gpu_and_raises_for_host_indices():
    with tf.device("/GPU:0"):
        p = tf.constant([1.0, 2.0, 3.0])
        # Indices already on the GPU: zeros, as TensorFlow's GPU kernel (no read-back).
        assert tf.gather(p, tf.constant([2, 3, -1])).numpy().tolist() == [3.0, 0.0, 0.0]
    message = r"GatherV2: indices\[1\] = 3 is not in \[0, 3\)"
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        with tf.device("/CPU:0"):
            i = tf.constant([0, 3])
        with tf.device("/GPU:0"):
            tf.gather(p, i)


def test_gather_gradient_with_gpu_indices():
    with tf.device("/GPU:0"):
        p = tf.Variable([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(tf.gather(p, tf.constant([2, 0, 2])) * 2.0)
        g = tape.gradient(y, p)
    np.testing.assert_array_equal(tf.convert_to_tensor(g).numpy(), [[2.0, 2.0], [0.0, 0.0], [4.0, 4.0]])


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_one_hot_runs_on_the_gpu(dtype):
    idx = np.array([[0, 3], [2, -1]], np.int32)
    on, off = {"float32": (5.0, -1.0), "int32": (7, 1), "bool": (True, False)}[dtype]
    with tf.device("/GPU:0"):
        got = tf.one_hot(tf.constant(idx), 3, on_value=on, off_value=off, dtype=getattr(tf, dtype))
    assert got.device == GPU and got.dtype == getattr(tf, dtype)
    want = np.where(np.arange(3) == idx[..., None], on, off).astype(got.dtype.as_numpy_dtype)
    np.testing.assert_array_equal(got.numpy(), want)


def _gpu_f16():
    """float16 lives on the GPU where the adapter has 16-bit floats (lavapipe has them)."""
    with tf.device("/GPU:0"):
        on_gpu = tf.constant([1.0], dtype=tf.float16).device == GPU
    name = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
    if "llvmpipe" in name["device_name"].lower():
        assert on_gpu
    if not on_gpu:
        pytest.skip("the GPU adapter has no 16-bit floats in shaders")


def test_float16_ops_on_the_gpu_equal_the_cpu():
    _gpu_f16()
    rng = np.random.default_rng(7)
    a = rng.standard_normal((6, 5)).astype(np.float16)
    b = rng.standard_normal((5, 3)).astype(np.float16)

    def run():
        x, y = tf.constant(a), tf.constant(b)
        with tf.GradientTape() as tape:
            tape.watch([x, y])
            h = tf.nn.relu(x * 3.0 - 0.5) + tf.exp(x) / 4.0
            p = tf.nn.softmax(h @ y)
            loss = tf.reduce_sum(p * tf.range(3.0, dtype=tf.float16)) + tf.reduce_max(h)
        grads = tape.gradient(loss, [x, y])
        s = tf.concat([x[:, 1:], tf.gather(x, [4, 0], axis=1)], axis=1)
        return [h, p, loss, *grads, s, tf.cast(x, tf.int32), x > 0.25, tf.reduce_mean(x, axis=0)]

    with tf.device("/GPU:0"):
        gpu = run()
    with tf.device("/CPU:0"):
        cpu = run()
    for g, c in zip(gpu, cpu):
        assert g.device == GPU and c.device == CPU and g.dtype == c.dtype
        if g.dtype == tf.float16:
            np.testing.assert_allclose(g.numpy().astype(np.float32), c.numpy().astype(np.float32),
                                       rtol=2e-3, atol=2e-3)
        else:
            np.testing.assert_array_equal(g.numpy(), c.numpy())
    # Each product and sum is rounded once from float32, as numpy's float16: equal bits.
    with tf.device("/GPU:0"):
        exact = (tf.constant(a) * tf.constant(a) + 1.0).numpy()
    assert exact.tobytes() == (a * a + np.float16(1.0)).tobytes()


def test_float16_on_the_gpu_keeps_ieee_values_and_reads_back_any_view():
    _gpu_f16()
    vals = np.array([1.5, -2.25, 65504.0, np.nan, np.inf, 6e-8, -0.0], np.float16)
    with tf.device("/GPU:0"):
        x = tf.constant(vals)
        big = x * 2.0
        views = [x[1:], x[3:4], x[1::2], x[::-1], tf.reshape(x[1:], [2, 3])]
    assert x.device == GPU and big.device == GPU
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(big.numpy(), vals * np.float16(2))
    assert np.isinf(big.numpy()[2])
    for v, want in zip(views, [vals[1:], vals[3:4], vals[1::2], vals[::-1], vals[1:].reshape(2, 3)]):
        assert v.numpy().tobytes() == want.tobytes()
    assert str(x[:2]) == "rstf.Tensor([ 1.5  -2.25], shape=(2,), dtype=float16)"
    with tf.device("/GPU:0"):
        h, f = tf.ones([2, 2], dtype=tf.float16), tf.ones([2, 2])
        for op in (lambda: tf.matmul(h, f), lambda: tf.matmul(f, h), lambda: h + f):
            with pytest.raises(tf.errors.InvalidArgumentError, match="float16"):
                op()


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_random_numbers_are_drawn_on_the_gpu_as_on_the_cpu(dtype):
    if dtype == "float16":
        _gpu_f16()
    dt = getattr(tf, dtype)

    def draw():
        tf.random.set_seed(11)
        return [tf.random.uniform([3, 1001], -3.0, 5.0, dtype=dt, seed=4),
                tf.random.normal([100_001], 1.0, 2.0, dtype=dt, seed=5),
                tf.random.normal([7], dtype=dt)]

    with tf.device("/GPU:0"):
        gpu = draw()
    with tf.device("/CPU:0"):
        cpu = draw()
    tol = 2e-6 if dtype == "float32" else 2e-3
    for g, c in zip(gpu, cpu):
        assert g.device == GPU and c.device == CPU and g.dtype == dt
        np.testing.assert_allclose(g.numpy().astype(np.float64), c.numpy().astype(np.float64),
                                   rtol=tol, atol=tol)
    u, n = gpu[0].numpy(), gpu[1].numpy().astype(np.float64)
    assert u.min() >= -3.0 and u.max() < 5.0
    assert abs(n.mean() - 1.0) < 0.03 and abs(n.std() - 2.0) < 0.03


def test_int32_random_numbers_are_drawn_on_the_gpu_exactly_as_on_the_cpu():
    def draw():
        tf.random.set_seed(5)
        return [tf.random.uniform([100_003], -7, 12, dtype=tf.int32, seed=3),
                tf.random.uniform([4099], -2**31, 2**31 - 1, dtype=tf.int32, seed=9),
                tf.random.uniform([5], maxval=3, dtype=tf.int32)]

    with tf.device("/GPU:0"):
        gpu = draw()
        with pytest.raises(tf.errors.InvalidArgumentError, match="minval"):
            tf.random.uniform([2], 5, 5, dtype=tf.int32)
    with tf.device("/CPU:0"):
        cpu = draw()
    for g, c in zip(gpu, cpu):
        assert g.device == GPU and c.device == CPU and g.dtype == tf.int32
        np.testing.assert_array_equal(g.numpy(), c.numpy())
    u = gpu[0].numpy()
    counts = np.bincount(u + 7)
    assert len(counts) == 19 and abs(counts / len(u) - 1 / 19).max() < 0.005
    wide = gpu[1].numpy().astype(np.int64)
    assert wide.min() < -2**30 and wide.max() > 2**30


def test_python_numbers_on_the_gpu_are_copied_once_and_never_overwritten():
    with tf.device("/GPU:0"):
        x = tf.constant([1.0, 2.0])
        # More distinct numbers than the GPU keeps copies of, then the first ones again.
        ys = [x * float(i) + 0.5 for i in range(1500)] + [x * 3.0 + 0.5, x * 0.0 + 0.5]
        k = tf.constant(7, dtype=tf.int32) + 1
    assert ys[0].device == GPU
    for i in (0, 1, 3, 1024, 1499):
        assert ys[i].numpy().tolist() == [i + 0.5, 2 * i + 0.5]
    assert ys[-2].numpy().tolist() == [3.5, 6.5] and ys[-1].numpy().tolist() == [0.5, 0.5]
    assert int(k) == 8


def test_repeated_kernels_reuse_their_bind_groups():
    with tf.device("/GPU:0"):
        y = tf.constant(np.ones((2, 3), np.float32))
        for _ in range(10):
            y = y * 0.5 + 1.0
        before, kernels = _rstf.gpu_bind_groups(), _rstf.gpu_dispatches()
        for _ in range(100):
            y = y * 0.5 + 1.0
    assert _rstf.gpu_dispatches() - kernels == 200
    assert _rstf.gpu_bind_groups() - before == 0
    np.testing.assert_allclose(y.numpy(), np.full((2, 3), 2.0), rtol=1e-6)


def test_a_full_buffer_pool_makes_room_for_the_sizes_in_use():
    # 18 dropped results of 120 MiB fill the 2 GiB pool; a repeated op of another size then
    # reuses its result's buffer (the pool lets go of the oldest) instead of creating one per op.
    with tf.device("/GPU:0"):
        x = tf.zeros([30 << 20])
        big = [x + 1.0 for _ in range(18)]
        del big
        y = tf.constant(np.ones((256, 1024), np.float32))
        for _ in range(2):  # the result and the one before it
            z = y + y
        before = _rstf.gpu_buffers_created()
        for _ in range(5):
            z = y + y
        assert _rstf.gpu_buffers_created() == before
    np.testing.assert_array_equal(z.numpy(), np.full((256, 1024), 2.0, np.float32))


def test_matmul_gradients_follow_the_device_scope():
    # Both products of the gradient run at once on two threads: each under the caller's scope.
    x = tf.constant(np.ones((3, 4), np.float32))
    w0 = np.arange(8, dtype=np.float32).reshape(4, 2)
    with tf.device("/GPU:0"):
        w = tf.constant(w0)
    with tf.device("/CPU:0"):
        with tf.GradientTape() as tape:
            tape.watch([x, w])
            y = x @ w
        gx, gw = tape.gradient(y, [x, w])
    assert gx.device == gw.device == "/job:localhost/replica:0/task:0/device:CPU:0"
    np.testing.assert_array_equal(gx.numpy(), np.tile(w0.sum(axis=1), (3, 1)))
    np.testing.assert_array_equal(gw.numpy(), np.full((4, 2), 3.0))


def test_a_repeated_training_step_stops_creating_bind_groups():
    rng = np.random.default_rng(2)
    x = rng.uniform(-2, 2, (100, 1)).astype(np.float32)
    with tf.device("/GPU:0"):
        model = tf.keras.Sequential([tf.keras.layers.Dense(16, activation="relu"), tf.keras.layers.Dense(1)])
        model.build((None, 1))
        opt = tf.keras.optimizers.SGD(0.01)
        xs, ys = tf.constant(x), tf.constant(x**2)

        @tf.function
        def step(a, b):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(a) - b))
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        # The pool hands a repeated step the same buffers once the step's place among the
        # submissions (every 64 kernels) comes round again: 16 steps of 20 kernels.
        for _ in range(48):
            loss = step(xs, ys)
        before = _rstf.gpu_bind_groups()
        for _ in range(16):
            loss = step(xs, ys)
        assert _rstf.gpu_bind_groups() == before
    assert np.isfinite(float(loss))


def test_uploads_never_overwrite_a_buffer_that_queued_kernels_still_read():
    # Each uploaded tensor is dropped as soon as a kernel that reads it is queued: its buffer
    # must not take the next upload before that kernel has run.
    outs = []
    with tf.device("/GPU:0"):
        for i in range(300):
            a = tf.constant(np.full(64, i, np.float32))
            outs.append(a * 2.0)
            del a
    got = np.stack([o.numpy() for o in outs])
    np.testing.assert_array_equal(got, np.repeat(2.0 * np.arange(300, dtype=np.float32)[:, None], 64, 1))


def test_many_distinct_kernel_arguments_stay_correct():
    # Slices at 5,000 offsets: more distinct kernel arguments and bind groups than are kept.
    with tf.device("/GPU:0"):
        big = tf.constant(np.arange(6000, dtype=np.float32))
        before = _rstf.gpu_bind_groups()
        ys = [big[i:i + 8] + 1.0 for i in range(5000)]
        assert _rstf.gpu_bind_groups() - before == 5000
        got = tf.stack(ys).numpy()
    want = np.arange(6000, dtype=np.float32)[np.arange(5000)[:, None] + np.arange(8)] + 1
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["float32", "int32", "float16"])
def test_argmax_and_argmin_run_on_the_gpu_as_on_the_cpu(dtype):
    if dtype == "float16":
        _gpu_f16()
    rng = np.random.default_rng(9)
    # Few distinct values: ties everywhere, also between the threads of a long row.
    x = rng.integers(-3, 4, (5, 700, 3)).astype(dtype)
    if dtype != "int32":
        x[1, 650, 0] = x[2, 3, 2] = x[2, 500, 2] = np.nan
        x[3, :, 1] = np.nan
    cases = [(x, 1), (x, -1), (x, 0), (x[:, ::-3], 1), (x[0, :5, 0], 0)]
    for arr, axis in cases:
        want_max, want_min = _host_arg(arr, axis, True), _host_arg(arr, axis, False)
        with tf.device("/GPU:0"):
            t = tf.constant(arr)
            before = _rstf.gpu_bytes_read()
            got_max, got_min = tf.argmax(t, axis=axis), tf.argmin(t, axis=axis)
        # Only the int32 positions came back, not the input.
        assert _rstf.gpu_bytes_read() - before <= 2 * 4 * max(1, want_max.size) + 8
        assert got_max.dtype == tf.int64
        np.testing.assert_array_equal(got_max.numpy(), want_max)
        np.testing.assert_array_equal(got_min.numpy(), want_min)
    with tf.device("/GPU:0"):
        with pytest.raises(tf.errors.InvalidArgumentError, match="ArgMax"):
            tf.argmax(tf.zeros([2, 0]), axis=1)


def _host_arg(arr, axis, largest):
    with tf.device("/CPU:0"):
        t = tf.constant(arr)
        return (tf.argmax(t, axis=axis) if largest else tf.argmin(t, axis=axis)).numpy()


def test_int64_indices_in_host_memory_keep_gather_and_one_hot_on_the_gpu():
    table = np.arange(12, dtype=np.float32).reshape(6, 2)
    ids = np.array([[5, 0], [2, 2]], np.int64)
    with tf.device("/GPU:0"):
        t = tf.constant(table)
        labels = tf.constant(np.array([1, 3, -1, 2**40], np.int64))
        before = _rstf.gpu_bytes_read()
        got = tf.gather(t, tf.constant(ids))
        hot = tf.one_hot(labels, 3, on_value=2.0, off_value=-1.0)
        # Nothing came back from the GPU: the table stayed there.
        assert _rstf.gpu_bytes_read() == before
        message = r"GatherV2: indices\[1\] = 6 is not in \[0, 6\)"
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            tf.gather(t, tf.constant(np.array([[1, 6]], np.int64)))
        with pytest.raises(tf.errors.InvalidArgumentError, match="GatherV2"):
            tf.gather(t, tf.constant(np.array([2**33], np.int64)))
    assert got.device == GPU and hot.device == GPU
    np.testing.assert_array_equal(got.numpy(), table[ids])
    np.testing.assert_array_equal(hot.numpy(), [[-1, 2, -1], [-1, -1, -1], [-1, -1, -1], [-1, -1, -1]])


def test_training_steps_on_the_gpu_read_nothing_back():
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, (100, 1)).astype(np.float32)
    with tf.device("/GPU:0"):
        model = tf.keras.Sequential([tf.keras.layers.Dense(16, activation="relu"),
                                     tf.keras.layers.Dropout(0.1), tf.keras.layers.Dense(1)])
        model.build((None, 1))
        opt = tf.keras.optimizers.Adam(0.01)
        xs, ys = tf.constant(x), tf.constant(x**2)

        def eager(a, b):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(a, training=True) - b))
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        for step in (eager, tf.function(eager)):
            step(xs, ys)
            before = _rstf.gpu_bytes_read()
            for _ in range(3):
                loss = step(xs, ys)
            # Values cross to the host only when it asks for them.
            assert _rstf.gpu_bytes_read() == before
            assert np.isfinite(float(loss)) and _rstf.gpu_bytes_read() == before + 4


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_gather_gradient_runs_on_the_gpu(index_dtype):
    rng = np.random.default_rng(4)
    table = rng.standard_normal((50, 3, 4)).astype(np.float32)
    # Repeated indices: their gradients add into one row.
    ids = rng.integers(0, 3, (64, 5)).astype(index_dtype)
    weights = rng.standard_normal((50, 1, 5, 4)).astype(np.float32)

    def grads():
        t = tf.Variable(table)
        i, w = tf.constant(ids), tf.constant(weights)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.gather(t, i, axis=1) * w)
        return tape.gradient(loss, t)

    with tf.device("/GPU:0"):
        before = _rstf.gpu_bytes_read()
        g = tf.convert_to_tensor(grads())
        assert _rstf.gpu_bytes_read() == before
    with tf.device("/CPU:0"):
        c = tf.convert_to_tensor(grads())
    assert g.device == GPU
    np.testing.assert_allclose(g.numpy(), c.numpy(), rtol=1e-5, atol=1e-5)
