"""Keras layers beyond Dense: Input, Embedding, LayerNormalization, BatchNormalization and
global pooling."""

import numpy as np
import pytest

import rstf as tf


def test_embedding_looks_up_rows_and_trains():
    layer = tf.keras.layers.Embedding(5, 3)
    idx = tf.constant([[0, 4], [4, 1]])
    out = layer(idx)
    table = layer.embeddings.numpy()
    np.testing.assert_array_equal(out.numpy(), table[[[0, 4], [4, 1]]])
    assert np.abs(table).max() <= 0.05
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(idx))
    (g,) = tape.gradient(loss, [layer.embeddings])
    np.testing.assert_array_equal(g.numpy()[:, 0], [1.0, 1.0, 0.0, 0.0, 2.0])


def test_layer_normalization_matches_numpy():
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32) * 3 + 1
    layer = tf.keras.layers.LayerNormalization(epsilon=1e-3)
    out = layer(tf.constant(x)).numpy()
    want = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)
    assert [tuple(w.shape) for w in layer.weights] == [(6,), (6,)]


def test_batch_normalization_training_and_inference():
    x = np.random.default_rng(1).standard_normal((32, 3)).astype(np.float32) * 2 + 5
    layer = tf.keras.layers.BatchNormalization(momentum=0.5, epsilon=1e-3)
    out = layer(tf.constant(x), training=True).numpy()
    np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.5 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.5 + 0.5 * x.var(0), rtol=1e-4)
    inference = layer(tf.constant(x), training=False).numpy()
    want = (x - layer.moving_mean.numpy()) / np.sqrt(layer.moving_variance.numpy() + 1e-3)
    np.testing.assert_allclose(inference, want, rtol=1e-4, atol=1e-5)
    assert len(layer.trainable_variables) == 2 and len(layer.non_trainable_variables) == 2


def test_batch_normalization_in_a_traced_fit_updates_moving_statistics():
    model = tf.keras.Sequential([tf.keras.Input(shape=(3,)), tf.keras.layers.BatchNormalization(),
                                 tf.keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(2).standard_normal((64, 3)).astype(np.float32) + 10
    model.fit(x, np.ones((64, 1), np.float32), epochs=3, batch_size=16, verbose=0)
    assert np.all(model.layers[0].moving_mean.numpy() > 1.0)


def test_input_builds_sequential_and_summary(capsys):
    model = tf.keras.Sequential([tf.keras.Input(shape=(4,)), tf.keras.layers.Dense(2)])
    assert model.layers[0].built and model.count_params() == 10
    model.summary()
    out = capsys.readouterr().out
    assert "Total params: 10" in out and "(None, 2)" in out and "Output Shape" in out
    a, b = tf.keras.layers.Conv2D(1, 1), tf.keras.layers.Conv2D(1, 1)
    assert a.name.startswith("conv2d") and a.name != b.name
    with pytest.raises(ValueError, match="first layer"):
        model.add(tf.keras.Input(shape=(2,)))
    with pytest.raises(TypeError, match="symbolic tensors"):
        tf.keras.Model(inputs=None, outputs=None)


def test_global_pooling():
    x = tf.reshape(tf.range(2 * 2 * 3 * 4, dtype=tf.float32), [2, 2, 3, 4])
    np.testing.assert_allclose(tf.keras.layers.GlobalAveragePooling2D()(x).numpy(),
                               x.numpy().mean(axis=(1, 2)))
    np.testing.assert_allclose(tf.keras.layers.GlobalMaxPooling2D(keepdims=True)(x).numpy(),
                               x.numpy().max(axis=(1, 2), keepdims=True))
