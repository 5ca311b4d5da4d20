"""tf.train.list_variables and tf.train.load_variable: TensorFlow's names and formats, and
missing, damaged or hostile checkpoint files raising TensorFlow's error classes."""

import json
import os

import numpy as np
import pytest

import rstf as tf
from rstf import _rstf


class Flexible(tf.Module):
    def __init__(self, out_features, name=None):
        super().__init__(name=name)
        self.out_features = out_features
        self.built = False

    def __call__(self, x):
        if not self.built:
            self.w = tf.Variable(tf.random.normal([x.shape[-1], self.out_features]), name="w")
            self.b = tf.Variable(tf.zeros([self.out_features]), name="b")
            self.built = True
        return tf.nn.relu(tf.matmul(x, self.w) + self.b)


class Model(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.dense_1 = Flexible(3)
        self.dense_2 = Flexible(2)

    def __call__(self, x):
        return self.dense_2(self.dense_1(x))


def test_names_and_shapes_as_tensorflow_lists_them(tmp_path):
    model = Model(name="the_model")
    model(tf.constant([[2.0, 2.0, 2.0]]))
    path = tf.train.Checkpoint(model=model).write(str(tmp_path / "my_checkpoint"))
    # What TensorFlow 2.21 lists for the intro_to_modules guide's checkpoint (cell 12); rstf's
    # checkpoints also hold save_counter, which TensorFlow's write() leaves out.
    want = [('_CHECKPOINTABLE_OBJECT_GRAPH', []), ('model/dense_1/b/.ATTRIBUTES/VARIABLE_VALUE', [3]),
            ('model/dense_1/w/.ATTRIBUTES/VARIABLE_VALUE', [3, 3]),
            ('model/dense_2/b/.ATTRIBUTES/VARIABLE_VALUE', [2]),
            ('model/dense_2/w/.ATTRIBUTES/VARIABLE_VALUE', [3, 2])]
    got = tf.train.list_variables(path)
    assert got == sorted(want + [("save_counter/.ATTRIBUTES/VARIABLE_VALUE", [])])
    np.testing.assert_array_equal(tf.train.load_variable(path, "model/dense_1/w/.ATTRIBUTES/VARIABLE_VALUE"),
                                  model.dense_1.w.numpy())
    b = tf.train.load_variable(path, "model/dense_2/b/.ATTRIBUTES/VARIABLE_VALUE:0")
    assert isinstance(b, np.ndarray) and b.dtype == np.float32 and b.tolist() == [0.0, 0.0]


def test_scalars_dtypes_and_directories(tmp_path):
    ckpt = tf.train.Checkpoint(step=tf.Variable(3), v=tf.Variable([1, 2], dtype=tf.int64),
                               h=tf.Variable(1.0, dtype=tf.float16))
    path = ckpt.save(str(tmp_path / "c" / "ckpt"))
    # TensorFlow: load_variable(..., "step/...") is np.int32(3), "h/..." np.float16(1.0)
    step = tf.train.load_variable(path, "step/.ATTRIBUTES/VARIABLE_VALUE")
    assert type(step) is np.int32 and step == 3
    half = tf.train.load_variable(path, "h/.ATTRIBUTES/VARIABLE_VALUE")
    assert type(half) is np.float16 and half == 1.0
    assert tf.train.load_variable(path, "save_counter/.ATTRIBUTES/VARIABLE_VALUE") == 1
    # A directory means its latest checkpoint.
    _ = ckpt.step.assign(7)
    ckpt.save(str(tmp_path / "c" / "ckpt"))
    assert tf.train.load_variable(str(tmp_path / "c"), "step/.ATTRIBUTES/VARIABLE_VALUE") == 7
    assert tf.train.list_variables(str(tmp_path / "c")) == tf.train.list_variables(path)
    graph = tf.train.load_variable(path, "_CHECKPOINTABLE_OBJECT_GRAPH")
    assert isinstance(graph, bytes) and json.loads(graph)["objects"]["v"] == {"dtype": "int64", "shape": [2]}


def test_optimizer_slots_are_named_as_tensorflow_names_them(tmp_path):
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 2), "float32"), verbose=0)
    path = tf.train.Checkpoint(model=model, optimizer=model.optimizer).write(str(tmp_path / "k"))
    names = dict(tf.train.list_variables(path))
    slot = [n for n in names if "/.OPTIMIZER_SLOT/optimizer/" in n]
    values = [n for n in names if n != "_CHECKPOINTABLE_OBJECT_GRAPH"]
    assert slot and all(n.endswith("/.ATTRIBUTES/VARIABLE_VALUE") for n in values)
    kernel = next(n for n in names if n.endswith("kernel/.ATTRIBUTES/VARIABLE_VALUE") and "SLOT" not in n)
    assert names[kernel] == [3, 2]


def test_missing_checkpoints_and_keys(tmp_path):
    path = tf.train.Checkpoint(v=tf.Variable(1.0)).write(str(tmp_path / "c"))
    # TensorFlow: NotFoundError "Key nope not found in checkpoint"
    with pytest.raises(tf.errors.NotFoundError, match="Key nope not found in checkpoint"):
        tf.train.load_variable(path, "nope")
    with pytest.raises(tf.errors.NotFoundError, match="Key v not found"):
        tf.train.load_variable(path, "v")  # the object path alone is not TensorFlow's name
    for missing in (str(tmp_path / "nonexistent"), str(tmp_path / "dir" / "x")):
        with pytest.raises(tf.errors.NotFoundError, match="Failed to find any matching files for"):
            tf.train.list_variables(missing)
        with pytest.raises(tf.errors.NotFoundError, match="Failed to find any matching files for"):
            tf.train.load_variable(missing, "v/.ATTRIBUTES/VARIABLE_VALUE")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="Couldn't find 'checkpoint' file or checkpoints in given directory"):
        tf.train.list_variables(str(empty))


@pytest.mark.parametrize("damage", ["garbage", "truncated", "bit flip", "other format"])
def test_damaged_files_are_data_loss(tmp_path, damage):
    path = tf.train.Checkpoint(v=tf.Variable(np.arange(64, dtype=np.float32))).write(str(tmp_path / "c"))
    file = path + ".safetensors"
    data = bytearray(open(file, "rb").read())
    if damage == "garbage":
        data = bytearray(b"garbage" * 10)
    elif damage == "truncated":
        data = data[:len(data) // 2]
    elif damage == "bit flip":
        data[-10] ^= 0x40
    else:
        _rstf.save_tensors(file, [("v", np.float32(1.0))], {"format": "rstf.keras.weights", "version": "1"})
        data = bytearray(open(file, "rb").read())
    open(file, "wb").write(bytes(data))
    with pytest.raises(tf.errors.DataLossError):
        tf.train.list_variables(path)
    with pytest.raises(tf.errors.DataLossError):
        tf.train.load_variable(path, "v/.ATTRIBUTES/VARIABLE_VALUE")


@pytest.mark.parametrize("key", ["../../v", "/etc/v", "v\x00", "a//v"])
def test_hostile_tensor_names_are_data_loss(tmp_path, key):
    file = str(tmp_path / "c.safetensors")
    _rstf.save_tensors(file, [(key, np.float32(7.0))], {"format": "rstf.checkpoint", "version": "1"})
    with pytest.raises(tf.errors.DataLossError, match="not an object path"):
        tf.train.list_variables(str(tmp_path / "c"))


def test_a_named_pipe_is_refused(tmp_path):
    os.mkfifo(tmp_path / "p.safetensors")
    with pytest.raises(tf.errors.DataLossError, match="not a regular file"):
        tf.train.list_variables(str(tmp_path / "p"))
