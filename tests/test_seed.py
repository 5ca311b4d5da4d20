"""The "Tensors" section of the TensorFlow basics guide prints what the guide prints, with
the package's own name in place of ``tf``."""

import os
import re
import sys

import numpy as np
from helpers import expected_gpu

import rstf as tf

x = tf.constant([[1., 2., 3.],
                 [4., 5., 6.]])


def test_print_tensor_shape_dtype(capsys):
    print(x)
    print(x.shape)
    print(x.dtype)
    assert capsys.readouterr().out == (
        "rstf.Tensor(\n[[1. 2. 3.]\n [4. 5. 6.]], shape=(2, 3), dtype=float32)\n"
        "(2, 3)\n"
        "<dtype: 'float32'>\n"
    )


def test_add_repr():
    assert repr(x + x) == (
        "<rstf.Tensor: shape=(2, 3), dtype=float32, numpy=\n"
        "array([[ 2.,  4.,  6.],\n"
        "       [ 8., 10., 12.]], dtype=float32)>"
    )


def test_scalar_times_tensor_repr():
    assert repr(5 * x) == (
        "<rstf.Tensor: shape=(2, 3), dtype=float32, numpy=\n"
        "array([[ 5., 10., 15.],\n"
        "       [20., 25., 30.]], dtype=float32)>"
    )


def test_matmul_repr():
    assert repr(x @ tf.transpose(x)) == (
        "<rstf.Tensor: shape=(2, 2), dtype=float32, numpy=\n"
        "array([[14., 32.],\n"
        "       [32., 77.]], dtype=float32)>"
    )


def test_concat_repr():
    assert repr(tf.concat([x, x, x], axis=0)) == (
        "<rstf.Tensor: shape=(6, 3), dtype=float32, numpy=\n"
        "array([[1., 2., 3.],\n"
        "       [4., 5., 6.],\n"
        "       [1., 2., 3.],\n"
        "       [4., 5., 6.],\n"
        "       [1., 2., 3.],\n"
        "       [4., 5., 6.]], dtype=float32)>"
    )


def test_softmax_repr():
    # The guide's last digits come from TensorFlow's own exp; rstf rounds the exact result
    # once, so values agree to one unit in the last place and the layout exactly.
    text = repr(tf.nn.softmax(x, axis=-1))
    guide = np.array([[0.09003057, 0.24472848, 0.6652409],
                      [0.09003057, 0.24472848, 0.6652409]], dtype=np.float32)
    head = "<rstf.Tensor: shape=(2, 3), dtype=float32, numpy=\narray([[0.09003057, 0.24472848, "
    assert text.startswith(head)
    values = np.array([float(v) for v in re.findall(r"\d\.\d+", text)], dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_max_ulp(values, guide, maxulp=1)


def test_reduce_sum_repr():
    assert repr(tf.reduce_sum(x)) == "<rstf.Tensor: shape=(), dtype=float32, numpy=21.0>"


def test_gpu_listing_runs(capsys):
    if tf.config.list_physical_devices('GPU'):
        print("TensorFlow **IS** using the GPU")
    else:
        print("TensorFlow **IS NOT** using the GPU")
    # The reference: the Vulkan loader's own device list (software devices count only with
    # RSTF_ALLOW_SOFTWARE_GPU=1, and no device with RSTF_DISABLE_GPU=1).
    expected = expected_gpu(allow_software=os.environ.get("RSTF_ALLOW_SOFTWARE_GPU") == "1")
    if os.environ.get("RSTF_DISABLE_GPU") == "1":
        expected = []
    out = capsys.readouterr().out
    if expected is None:  # no Vulkan loader: wgpu has no device on Linux, none to compare elsewhere
        assert out in ("TensorFlow **IS** using the GPU\n", "TensorFlow **IS NOT** using the GPU\n")
        if sys.platform.startswith("linux"):
            assert out == "TensorFlow **IS NOT** using the GPU\n"
    else:
        assert out == f"TensorFlow **{'IS' if expected else 'IS NOT'}** using the GPU\n", expected


def test_basics_example_runs_the_guide_end_to_end(tmp_path):
    """`make demo`'s script, in a scratch directory (it writes ./saved and ./my_model)."""
    import os
    import subprocess
    import sys

    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "basics.py")
    out = subprocess.run([sys.executable, script], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    multiply = "<rstf.Tensor: shape=(3,), dtype=int32, numpy=array([3, 6, 9], dtype=int32)>"
    assert lines.count(multiply) == 2  # the module, then the module reloaded from ./saved
    assert lines[-1] == "model.save('./my_model'): reloaded predictions identical: True"
    assert sorted(os.listdir(tmp_path / "saved")) == [
        "constants.safetensors", "saved_model.json", "variables.safetensors"]
    for plot in ("data", "before_training", "after_training", "training_progress"):
        with open(tmp_path / f"{plot}.png", "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
