"""rstf.onnx.export: every exported model passes onnx's full check and gives, in onnxruntime,
rstf's results within float32 tolerance, for batch sizes other than those the export traced."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rstf as tf

L = tf.keras.layers
S = tf.TensorSpec
DOC = Path(__file__).resolve().parents[1] / "docs" / "ONNX.md"


@pytest.fixture(scope="module")
def onnx_modules():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    return onnx, ort


def export_and_run(onnx_modules, tmp_path, obj, feeds, **kwargs):
    """Exports ``obj`` to a file, checks it, and runs it on ``feeds`` (arrays, in input order):
    ``(model, outputs)``."""
    onnx, ort = onnx_modules
    path = tmp_path / "model.onnx"
    model = tf.onnx.export(obj, path, **kwargs)
    assert isinstance(model, onnx.ModelProto)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    assert names == [i.name for i in model.graph.input]
    return model, session.run(None, dict(zip(names, feeds)))


def assert_close(outputs, expected):
    expected = expected if isinstance(expected, (list, tuple)) else [expected]
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected):
        want = np.asarray(want)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def ops(model):
    return [n.op_type for n in model.graph.node]


rng = np.random.default_rng(7)


def rand(*shape):
    return rng.standard_normal(shape).astype(np.float32)


# -- the guides' models -----------------------------------------------------------------------

class GuideModel(tf.keras.Model):
    """The basics guide's model (examples/basics.py)."""

    def __init__(self, units):
        super().__init__()
        self.dense1 = L.Dense(units=units, activation=tf.nn.relu, kernel_initializer=tf.random.normal,
                              bias_initializer=tf.random.normal)
        self.dense2 = L.Dense(1)

    def call(self, x, training=True):
        x = x[:, tf.newaxis]
        x = self.dense1(x)
        x = self.dense2(x)
        return tf.squeeze(x, axis=1)


def test_seed_guide_model(onnx_modules, tmp_path):
    model = GuideModel(64)
    x = tf.cast(tf.linspace(-2, 2, 201), tf.float32)
    model(x)
    for n in (1, 5, 201):
        feed = rand(n)
        onnx_model, out = export_and_run(onnx_modules, tmp_path, model, [feed])
        assert_close(out, model(feed))
    assert dims(onnx_model.graph.input[0]) == ["batch"]
    names = {i.name for i in onnx_model.graph.initializer}
    d1, d2 = model.dense1.name, model.dense2.name  # names count up across a process
    assert {f"{d1}/kernel", f"{d1}/bias", f"{d2}/kernel", f"{d2}/bias"} <= names


def test_digits_mlp(onnx_modules, tmp_path):
    model = tf.keras.Sequential([tf.keras.Input(shape=(64,)), L.Dense(64, activation="relu"), L.Dense(10)])
    x = rand(13, 64)
    onnx_model, out = export_and_run(onnx_modules, tmp_path, model, [x])
    assert_close(out, model(x))
    assert dims(onnx_model.graph.input[0]) == ["batch", 64]
    assert dims(onnx_model.graph.output[0]) == ["batch", 10]
    assert onnx_model.graph.output[0].name == model.layers[-1].name
    assert sorted(ops(onnx_model)) == ["Add", "Add", "MatMul", "MatMul", "Relu"]


def test_digits_cnn(onnx_modules, tmp_path):
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(8, 8, 1)),
        L.Conv2D(16, 3, padding="same", activation="relu"),
        L.MaxPooling2D(),
        L.Conv2D(32, 3, padding="same", activation="relu"),
        L.MaxPooling2D(),
        L.Flatten(),
        L.Dense(10),
    ])
    x = rand(6, 8, 8, 1)
    onnx_model, out = export_and_run(onnx_modules, tmp_path, model, [x])
    assert_close(out, model(x))
    assert ops(onnx_model).count("Conv") == 2 and ops(onnx_model).count("MaxPool") == 2
    kernels = {i.name: list(i.dims) for i in onnx_model.graph.initializer if i.name.endswith("kernel")}
    c1, c2 = model.layers[0].name, model.layers[2].name
    assert kernels[f"{c1}/kernel"] == [16, 1, 3, 3] and kernels[f"{c2}/kernel"] == [32, 16, 3, 3]


def test_normalization_and_dropout_in_inference(onnx_modules, tmp_path):
    model = tf.keras.Sequential([tf.keras.Input(shape=(6,)), L.Dense(8), L.BatchNormalization(),
                                 L.Dropout(0.5), L.LayerNormalization(), L.Dense(3)])
    bn = model.layers[1]
    bn.moving_mean.assign(rand(8))
    bn.moving_variance.assign(np.abs(rand(8)) + 0.5)
    bn.gamma.assign(rand(8))
    x = rand(9, 6)
    onnx_model, out = export_and_run(onnx_modules, tmp_path, model, [x])
    assert_close(out, model(x, training=False))
    assert not any("Random" in op or op == "Dropout" for op in ops(onnx_model))
    assert f"{bn.name}/moving_mean" in {i.name for i in onnx_model.graph.initializer}


def test_convolutions_and_pooling(onnx_modules, tmp_path):
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(9, 3)),
        L.Conv1D(4, 3, padding="causal"),
        L.Conv1D(4, 2, groups=2, padding="same"),
        L.AveragePooling1D(2, padding="same"),
        L.GlobalMaxPooling1D(),
    ])
    x = rand(4, 9, 3)
    _, out = export_and_run(onnx_modules, tmp_path, model, [x])
    assert_close(out, model(x))

    k = rand(3, 3, 2, 4)

    @tf.function(input_signature=[S([None, 7, 7, 2])])
    def windows(x):
        return [tf.nn.conv2d(x, k, 2, "SAME"), tf.nn.conv2d(x, k, 1, "VALID", dilations=2),
                tf.nn.avg_pool2d(x, 3, 2, "SAME"), tf.nn.max_pool2d(x, 3, 2, "SAME"),
                tf.reduce_mean(x, [1, 2])]

    x = rand(3, 7, 7, 2)
    onnx_model, out = export_and_run(onnx_modules, tmp_path, windows, [x])
    assert_close(out, windows(x))
    assert {"Conv", "AveragePool", "MaxPool"} <= set(ops(onnx_model))


def test_fully_convolutional_any_image_size(onnx_modules, tmp_path):
    model = tf.keras.Sequential([L.Conv2D(4, 3, padding="same", activation="relu"),
                                 L.MaxPooling2D(padding="same"), L.Conv2D(5, 3, strides=2),
                                 L.AveragePooling2D(padding="same"), L.GlobalAveragePooling2D(), L.Dense(2)])
    model(tf.zeros([1, 12, 12, 3]))
    onnx, ort = onnx_modules
    onnx_model = tf.onnx.export(model, tmp_path / "m.onnx", input_signature=[S([None, None, None, 3])])
    onnx.checker.check_model(onnx_model, full_check=True)
    assert dims(onnx_model.graph.input[0]) == ["batch", "dim_1", "dim_2", 3]
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    for shape in [(2, 12, 12, 3), (3, 15, 9, 3)]:
        x = rand(*shape)
        assert_close(session.run(None, {"input": x}), model(x))


# -- modules, functions, subclassed models ---------------------------------------------------

class Multiplier(tf.Module):
    def __init__(self, value):
        self.weight = tf.Variable(value)

    @tf.function(input_signature=[S([None], tf.float32)])
    def multiply(self, x):
        return x * self.weight


def test_module_with_a_function_method(onnx_modules, tmp_path):
    mod = Multiplier(3.0)
    x = np.arange(7, dtype=np.float32)
    for obj in (mod, mod.multiply, mod.multiply.get_concrete_function()):
        onnx_model, out = export_and_run(onnx_modules, tmp_path, obj, [x])
        assert_close(out, mod.multiply(x))
    assert [i.name for i in onnx_model.graph.initializer] == ["weight"]
    assert onnx_model.graph.input[0].name == "x"


def test_module_call_and_ints(onnx_modules, tmp_path):
    class Scale(tf.Module):
        def __init__(self):
            self.k = tf.Variable([1, 2, 3])

        @tf.function(input_signature=[S([None, 3], tf.int32)])
        def __call__(self, x):
            return {"scaled": x * self.k, "total": tf.reduce_sum(x, axis=1)}

    mod = Scale()
    x = rng.integers(-9, 9, (4, 3)).astype(np.int32)
    onnx_model, out = export_and_run(onnx_modules, tmp_path, mod, [x])
    result = mod(x)
    assert [o.name for o in onnx_model.graph.output] == ["scaled", "total"]
    assert_close(out, [result["scaled"], result["total"]])


def test_plain_function(onnx_modules, tmp_path):
    @tf.function(input_signature=[S([None, 4]), S([4])])
    def f(x, b):
        y = tf.nn.softmax(x + b)
        return y, tf.reduce_mean(x, axis=0), tf.argmax(y, axis=1)

    x, b = rand(5, 4), rand(4)
    onnx_model, out = export_and_run(onnx_modules, tmp_path, f, [x, b])
    assert_close(out, f(x, b))
    assert [i.name for i in onnx_model.graph.input] == ["x", "b"]
    # A Python function with a signature.
    _, out = export_and_run(onnx_modules, tmp_path, lambda x, y: x * y + 1.0, [x, x],
                            input_signature=[S([None, 4]), S([None, 4])])
    assert_close(out, x * x + 1.0)


def test_subclassed_model_with_signature(onnx_modules, tmp_path):
    class TwoHeads(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.body = L.Dense(8, activation="gelu")
            self.norm = L.LayerNormalization()
            self.head = L.Dense(3)

        def call(self, x):
            h = self.norm(self.body(x))
            return tf.nn.log_softmax(self.head(h))

    model = TwoHeads()
    x = rand(6, 5)
    _, out = export_and_run(onnx_modules, tmp_path, model, [x], input_signature=[S([None, 5])])
    assert_close(out, model(x))


def test_functional_model_names(onnx_modules, tmp_path):
    a, b = tf.keras.Input(shape=(3,), name="left"), tf.keras.Input(shape=(2,), name="right")
    h = L.Concatenate()([L.Dense(4, name="fa")(a), b])
    heads = [L.Dense(1, name="score")(h), L.Dense(2, activation="softmax", name="probs")(h)]
    model = tf.keras.Model([a, b], heads)
    xa, xb = rand(5, 3), rand(5, 2)
    onnx_model, out = export_and_run(onnx_modules, tmp_path, model, [xa, xb])
    assert_close(out, model([xa, xb]))
    assert [i.name for i in onnx_model.graph.input] == ["left", "right"]
    assert [o.name for o in onnx_model.graph.output] == ["score", "probs"]
    assert {"fa/kernel", "score/bias", "probs/kernel"} <= {i.name for i in onnx_model.graph.initializer}


# -- recurrent and attention layers ----------------------------------------------------------

@pytest.mark.parametrize("layer", [L.SimpleRNN, L.LSTM, L.GRU])
def test_recurrent_layers_with_fixed_steps(onnx_modules, tmp_path, layer):
    model = tf.keras.Sequential([tf.keras.Input(shape=(5, 2)), layer(3, return_sequences=True), layer(4)])
    x = rand(7, 5, 2)
    _, out = export_and_run(onnx_modules, tmp_path, model, [x])
    assert_close(out, model(x))


def test_recurrent_layer_over_unknown_steps_raises(onnx_modules):
    model = tf.keras.Sequential([L.LSTM(3)])
    model(tf.zeros([1, 4, 2]))
    with pytest.raises(tf.onnx.UnsupportedOpError, match="fixed sizes"):
        tf.onnx.export(model, None, input_signature=[S([None, None, 2])])


def test_multi_head_attention(onnx_modules, tmp_path):
    class SelfAttention(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.mha = L.MultiHeadAttention(num_heads=2, key_dim=3)

        def call(self, x):
            return self.mha(x, x)

    model = SelfAttention()
    model(tf.zeros([1, 4, 5]))
    x = rand(3, 4, 5)
    onnx_model, out = export_and_run(onnx_modules, tmp_path, model, [x])
    assert_close(out, model(x))
    assert "Softmax" in ops(onnx_model)


# -- ops ----------------------------------------------------------------------------------------

def test_elementwise_reduction_and_movement_ops(onnx_modules, tmp_path):
    @tf.function(input_signature=[S([None, 6])])
    def f(x):
        return [tf.nn.gelu(x), tf.nn.elu(x), tf.nn.leaky_relu(x), tf.nn.relu6(x), tf.nn.softplus(x * 40),
                tf.nn.selu(x), tf.nn.silu(x), tf.math.expm1(x), tf.math.log1p(tf.abs(x)),
                tf.math.rsqrt(tf.abs(x) + 1), tf.round(x), tf.math.floordiv(x, 1.7),
                tf.math.floormod(x, -1.7),
                tf.pow(tf.abs(x), 1.5), tf.where(x > 0, x, x * 2), tf.cast(x > 0.5, tf.int32),
                tf.reduce_any(x > 1, axis=1), tf.reduce_prod(x, 1, keepdims=True), tf.reduce_logsumexp(x, 1),
                tf.math.cumsum(x, 1, reverse=True), tf.transpose(x), tf.reshape(x, [-1, 3, 2]), x[1:, ::2],
                x[:, None, ::-1], x[..., 2], tf.reverse(x, [1]), tf.concat([x, x], 0), tf.stack([x, x], 1),
                tf.tile(x, [2, 1]), tf.pad(x, [[1, 0], [0, 2]], constant_values=3.0),
                tf.split(x, [2, 4], axis=1)[1], tf.unstack(x, axis=1)[3],
                tf.broadcast_to(x[:, :1], tf.shape(x)),
                tf.gather(x, [0, 2, 2], axis=1), tf.ones_like(x), tf.linalg.matmul(x, x, transpose_a=True),
                x @ tf.transpose(x)]

    x = rand(5, 6) * 3
    _, out = export_and_run(onnx_modules, tmp_path, f, [x])
    assert_close(out, f(x))


def test_integer_ops(onnx_modules, tmp_path):
    @tf.function(input_signature=[S([None, 6], tf.int32)])
    def f(x):
        return [tf.math.floordiv(x, 3), tf.math.floormod(x, -4), tf.nn.relu(x), tf.abs(x), tf.one_hot(x, 5),
                tf.argmin(x, 1, output_type=tf.int32), tf.reduce_max(x, 0), tf.cast(x, tf.float32) / 2.0]

    x = rng.integers(-20, 20, (5, 6)).astype(np.int32)
    _, out = export_and_run(onnx_modules, tmp_path, f, [x])
    assert_close(out, f(x))


def test_embedding(onnx_modules, tmp_path):
    model = tf.keras.Sequential([tf.keras.Input(shape=(4,), dtype="int32"), L.Embedding(10, 3), L.Flatten(),
                                 L.Dense(2, activation="softmax")])
    x = rng.integers(0, 10, (6, 4)).astype(np.int32)
    onnx_model, out = export_and_run(onnx_modules, tmp_path, model, [x])
    assert_close(out, model(x))
    assert "Gather" in ops(onnx_model)


def test_while_loop_is_an_onnx_loop(onnx_modules, tmp_path):
    @tf.function(input_signature=[S([None, 3]), S([], tf.int32)])
    def f(x, n):
        acc = tf.zeros_like(x)
        for i in tf.range(n):
            acc = acc + x * tf.cast(i, tf.float32)
        return acc

    @tf.function(input_signature=[S([None, 3])])
    def g(x):
        return tf.while_loop(lambda v: tf.reduce_sum(v) < 100.0, lambda v: (v * 2.0 + 0.1,), [x],
                             maximum_iterations=5)[0]

    x = rand(4, 3)
    onnx_model, out = export_and_run(onnx_modules, tmp_path, f, [x, np.array(4, np.int32)])
    assert_close(out, f(x, 4))
    assert "Loop" in ops(onnx_model)
    for start in (np.ones((2, 3), np.float32), np.full((2, 3), 1e-3, np.float32)):
        _, out = export_and_run(onnx_modules, tmp_path, g, [start])
        assert_close(out, g(start))


@pytest.mark.parametrize("opset", [17, 18])
def test_opsets(onnx_modules, tmp_path, opset):
    @tf.function(input_signature=[S([None, 5, 5, 2])])
    def f(x):
        return [tf.nn.max_pool2d(x, 2, 2, "SAME"), tf.reduce_max(x, [1, 2]), tf.reduce_all(x > -1.0, 3)]

    x = rand(3, 5, 5, 2)
    onnx_model, out = export_and_run(onnx_modules, tmp_path, f, [x], opset=opset)
    assert_close(out, f(x))
    assert [o.version for o in onnx_model.opset_import] == [opset]
    with pytest.raises(ValueError, match="opset"):
        tf.onnx.export(f, None, opset=16)


# -- errors -----------------------------------------------------------------------------------

def test_an_op_without_conversion_raises_naming_it(onnx_modules):
    f = tf.function(lambda x: tf.math.cumprod(x, axis=1), input_signature=[S([None, 3])])
    with pytest.raises(tf.onnx.UnsupportedOpError, match="Cumprod") as info:
        tf.onnx.export(f, None)
    assert isinstance(info.value, NotImplementedError)
    assert isinstance(info.value, tf.errors.UnimplementedError)


def test_state_and_python_callbacks_raise(onnx_modules):
    v = tf.Variable(1.0)

    @tf.function(input_signature=[S([None])])
    def counts(x):
        v.assign_add(1.0)
        return x * v

    with pytest.raises(NotImplementedError, match="AssignVariableOp"):
        tf.onnx.export(counts, None)
    calls_python = tf.function(lambda x: tf.py_function(lambda a: a * 2, [x], tf.float32),
                               input_signature=[S([None])])
    with pytest.raises(NotImplementedError, match="Python function"):
        tf.onnx.export(calls_python, None)


def test_python_sizes_of_none_dimensions_raise(onnx_modules):
    f = tf.function(lambda x: x * float(x.shape[0]), input_signature=[S([None, 3])])
    with pytest.raises(NotImplementedError, match="tf.shape"):
        tf.onnx.export(f, None)


def test_unbuilt_model_needs_a_signature(onnx_modules):
    with pytest.raises(ValueError, match="input_signature"):
        tf.onnx.export(tf.keras.Sequential([L.Dense(2)]), None)


def test_missing_onnx_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=re.escape("pip install rstf[onnx]")):
        tf.onnx.export(tf.function(lambda x: x), None, input_signature=[S([2])])


def test_import_rstf_does_not_import_onnx():
    code = "import sys, rstf; rstf.onnx; print('onnx' in sys.modules, 'onnxruntime' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_docs_table_lists_the_converters():
    text = DOC.read_text()
    supported = text[text.index("| rstf op | ONNX |"):text.index("These raise")]
    documented = set()
    for row in supported.splitlines()[2:]:
        first = row.split("|")[1] if row.startswith("|") else ""
        documented |= set(re.findall(r"`(\w+)`", first))
    assert documented == set(tf.onnx.CONVERTERS)
