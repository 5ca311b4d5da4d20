"""The wgpu backend: device listing and placement, kernels against numpy and the CPU,
gradients, traced functions, variables and Keras training on the GPU.

Runs on lavapipe in CI (``RSTF_ALLOW_SOFTWARE_GPU=1``); skipped where no Vulkan device exists.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import HAS_GPU

import rstf as tf

pytestmark = pytest.mark.skipif(not HAS_GPU, reason="no Vulkan device on this machine")

GPU = "/job:localhost/replica:0/task:0/device:GPU:0"
CPU = "/job:localhost/replica:0/task:0/device:CPU:0"


def test_gpu_is_listed_with_its_name():
    gpus = tf.config.list_physical_devices("GPU")
    assert gpus == [tf.config.PhysicalDevice("/physical_device:GPU:0", "GPU")]
    assert tf.config.list_logical_devices("GPU")[0].name == "/device:GPU:0"
    assert tf.config.experimental.get_device_details(gpus[0])["device_name"]


def test_software_adapter_is_hidden_without_the_variable():
    env = {k: v for k, v in os.environ.items() if k != "RSTF_ALLOW_SOFTWARE_GPU"}
    code = "import rstf as tf; print(tf.config.list_physical_devices('GPU'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    name = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
    if "llvmpipe" in name["device_name"].lower() or "lavapipe" in name["device_name"].lower():
        assert out.stdout.strip() == "[]"


def test_software_gpu_is_not_the_default_device():
    assert tf.constant([1.0]).device == CPU


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
    loss_c, grads_c, _ = _mlp_grads()
    with tf.device("/GPU:0"):
        loss_g, grads_g, w1 = _mlp_grads()
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
    cpu = f(tf.constant(x), tf.constant(y))
    with tf.device("/GPU:0"):
        xg, yg = tf.constant(x), tf.constant(y)
    gpu = f(xg, yg)
    assert gpu.device == GPU
    np.testing.assert_allclose(gpu.numpy(), cpu.numpy(), rtol=1e-5, atol=1e-6)


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

    _, cpu = train()
    with tf.device("/GPU:0"):
        model, gpu = train()
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
