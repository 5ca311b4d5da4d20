"""The Keras functional API: Input, layer calls on symbolic tensors, Model(inputs, outputs)."""

from __future__ import annotations

import numpy as np
import pytest

import rstf as tf


def _mlp():
    inputs = tf.keras.Input(shape=(3,), name="features")
    h = tf.keras.layers.Dense(8, activation="relu")(inputs)
    outputs = tf.keras.layers.Dense(1)(h)
    return tf.keras.Model(inputs=inputs, outputs=outputs, name="mlp"), inputs, outputs


def test_symbolic_tensors_carry_shapes_and_dtypes():
    model, inputs, outputs = _mlp()
    assert tuple(inputs.shape) == (None, 3) and inputs.dtype == tf.float32
    assert tuple(outputs.shape) == (None, 1)
    assert model.inputs == [inputs] and model.outputs == [outputs]
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense", "Dense"]
    with pytest.raises(TypeError, match="no value"):
        bool(outputs)


def test_functional_model_matches_its_layers_applied_by_hand():
    model, _, _ = _mlp()
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    d1, d2 = model.layers[1], model.layers[2]
    np.testing.assert_allclose(model(x).numpy(), d2(d1(x)).numpy(), rtol=1e-6)
    assert len(model.trainable_variables) == 4
    assert model.count_params() == 3 * 8 + 8 + 8 + 1


def test_functional_model_trains_and_summarises(capsys):
    model, _, _ = _mlp()
    model.compile(optimizer=tf.keras.optimizers.Adam(0.05), loss="mse")
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (128, 3)).astype(np.float32)
    y = x.sum(1, keepdims=True)
    hist = model.fit(x, y, epochs=20, batch_size=32, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0] / 2
    model.summary()
    out = capsys.readouterr().out
    assert "features (InputLayer)" in out and "(None, 8)" in out and "Total params: 41" in out


def test_multiple_inputs_and_outputs_and_shared_layers():
    a = tf.keras.Input(shape=(4,), name="a")
    b = tf.keras.Input(shape=(4,), name="b")
    shared = tf.keras.layers.Dense(2, use_bias=False)
    ya, yb = shared(a), shared(b)
    model = tf.keras.Model(inputs=[a, b], outputs=[ya, yb])
    assert sum(layer is shared for layer in model.layers) == 1
    xa, xb = np.ones((3, 4), np.float32), 2 * np.ones((3, 4), np.float32)
    ra, rb = model([xa, xb])
    np.testing.assert_allclose(rb.numpy(), 2 * ra.numpy(), rtol=1e-6)
    named = tf.keras.Model(inputs={"a": a, "b": b}, outputs=ya)
    np.testing.assert_allclose(named({"a": xa, "b": xb}).numpy(), ra.numpy())


def test_models_nest_inside_functional_models():
    inner, _, _ = _mlp()
    x = tf.keras.Input(shape=(3,))
    y = tf.keras.layers.Activation("sigmoid")(inner(x))
    outer = tf.keras.Model(x, y)
    data = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(outer(data).numpy(), tf.sigmoid(inner(data)).numpy(), rtol=1e-6)


def test_disconnected_and_malformed_graphs_are_refused():
    a, b = tf.keras.Input(shape=(2,)), tf.keras.Input(shape=(2,))
    y = tf.keras.layers.Dense(1)(a)
    with pytest.raises(ValueError, match="Graph disconnected"):
        tf.keras.Model(inputs=b, outputs=y)
    with pytest.raises(TypeError, match="symbolic tensors"):
        tf.keras.Model(inputs=a, outputs=np.ones(2))
    with pytest.raises(TypeError, match="both inputs and outputs"):
        tf.keras.Model(inputs=a)
    model = tf.keras.Model(a, y)
    with pytest.raises(ValueError, match="expected 1 inputs, got 2"):
        model([np.ones((1, 2)), np.ones((1, 2))])


@pytest.mark.parametrize("suffix", [".keras", ""])
def test_functional_models_save_and_load(tmp_path, suffix):
    model, _, _ = _mlp()
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(2).standard_normal((8, 3)).astype(np.float32)
    model.fit(x, np.zeros((8, 1), np.float32), epochs=1, verbose=0)
    path = str(tmp_path / f"model{suffix}")
    model.save(path)
    again = tf.keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert [type(layer).__name__ for layer in again.layers] == ["InputLayer", "Dense", "Dense"]
    again.fit(x, np.zeros((8, 1), np.float32), epochs=1, verbose=0)


def test_sequential_still_takes_an_input_first():
    model = tf.keras.Sequential([tf.keras.Input(shape=(3,)), tf.keras.layers.Dense(2)])
    assert len(model.weights) == 2
    assert model(np.ones((4, 3), np.float32)).shape == (4, 2)
