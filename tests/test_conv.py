"""Convolution and pooling (im2col in Rust, gradients through col2im), checked against direct
numpy loops and finite differences; Keras Conv2D and pooling layers."""

import numpy as np
import pytest
from helpers import numeric_grad

import rstf as tf


def conv_ref(x, f, stride, padding, dilation=1):
    n, h, w, c = x.shape
    kh, kw, _, o = f.shape
    span_h, span_w = (kh - 1) * dilation + 1, (kw - 1) * dilation + 1
    if padding == "SAME":
        oh, ow = -(-h // stride), -(-w // stride)
        ph = max((oh - 1) * stride + span_h - h, 0)
        pw = max((ow - 1) * stride + span_w - w, 0)
        x = np.pad(x, [(0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)])
    else:
        oh, ow = (h - span_h) // stride + 1, (w - span_w) // stride + 1
    out = np.zeros((n, oh, ow, o), np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride:i * stride + span_h:dilation, j * stride:j * stride + span_w:dilation, :]
            out[:, i, j, :] = np.tensordot(patch, f, axes=([1, 2, 3], [0, 1, 2]))
    return out


def pool_ref(x, k, stride, padding, op):
    n, h, w, c = x.shape
    if padding == "SAME":
        oh, ow = -(-h // stride), -(-w // stride)
        ph, pw = max((oh - 1) * stride + k - h, 0), max((ow - 1) * stride + k - w, 0)
        x = np.pad(x.astype(np.float64), [(0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)],
                   constant_values=np.nan)
    else:
        oh, ow = (h - k) // stride + 1, (w - k) // stride + 1
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            win = x[:, i * stride:i * stride + k, j * stride:j * stride + k, :]
            out[:, i, j, :] = (np.nanmax if op == "max" else np.nanmean)(win, axis=(1, 2))
    return out


@pytest.mark.parametrize("stride, padding, dilation, shape", [
    (1, "VALID", 1, (2, 5, 6, 3)), (2, "SAME", 1, (2, 5, 6, 3)), (1, "SAME", 2, (1, 7, 7, 2)),
    (3, "VALID", 1, (1, 9, 8, 1)),
])
def test_conv2d_matches_reference(stride, padding, dilation, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    f = rng.standard_normal((3, 2, shape[3], 4)).astype(np.float32)
    got = tf.nn.conv2d(x, f, strides=stride, padding=padding, dilations=dilation).numpy()
    np.testing.assert_allclose(got, conv_ref(x, f, stride, padding, dilation), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("op", ["max", "avg"])
@pytest.mark.parametrize("padding", ["VALID", "SAME"])
def test_pooling_matches_reference(op, padding):
    x = np.random.default_rng(1).standard_normal((2, 5, 7, 3)).astype(np.float32)
    fn = tf.nn.max_pool2d if op == "max" else tf.nn.avg_pool2d
    got = fn(x, ksize=3, strides=2, padding=padding).numpy()
    np.testing.assert_allclose(got, pool_ref(x, 3, 2, padding, op), rtol=1e-5, atol=1e-6)



@pytest.mark.parametrize("padding, stride", [("SAME", 1), ("VALID", 2)])
def test_conv2d_gradients(padding, stride):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 5, 2))
    f = rng.standard_normal((3, 3, 2, 3))
    w = rng.standard_normal(conv_ref(x, f, stride, padding).shape)
    xt, ft = tf.Variable(x), tf.Variable(f)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.nn.conv2d(xt, ft, stride, padding) * w)
    gx, gf = tape.gradient(loss, [xt, ft])
    want_x = numeric_grad(lambda v: (conv_ref(v, f, stride, padding) * w).sum(), x, eps=1e-3)
    want_f = numeric_grad(lambda v: (conv_ref(x, v, stride, padding) * w).sum(), f, eps=1e-3)
    np.testing.assert_allclose(gx.numpy(), want_x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gf.numpy(), want_f, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", ["max", "avg"])
def test_pooling_gradients(op):
    x = np.random.default_rng(3).permutation(2 * 4 * 5 * 2).reshape(2, 4, 5, 2).astype(np.float64)
    w = np.random.default_rng(4).standard_normal(pool_ref(x, 2, 2, "SAME", op).shape)
    xt = tf.Variable(x)
    fn = tf.nn.max_pool2d if op == "max" else tf.nn.avg_pool2d
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(fn(xt, 2, 2, "SAME") * w)
    (gx,) = tape.gradient(loss, [xt])
    want = numeric_grad(lambda v: (pool_ref(v, 2, 2, "SAME", op) * w).sum(), x, eps=1e-3)
    np.testing.assert_allclose(gx.numpy(), want, rtol=1e-5, atol=1e-6)


def test_max_pool_gives_a_tied_window_gradient_to_its_first_maximum():
    # As TensorFlow's MaxPool: the first tap in row-major window order (reduce_max splits).
    x = tf.constant(np.array([[0.0, 3.0, 1.0, 1.0], [3.0, 2.0, 1.0, 1.0]]).reshape(1, 2, 4, 1))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.max_pool2d(x, 2, 2, "VALID")
    g = tape.gradient(y, x).numpy().reshape(2, 4)
    np.testing.assert_array_equal(g, [[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])

    @tf.function
    def traced(v):
        with tf.GradientTape() as t:
            t.watch(v)
            out = tf.reduce_sum(tf.nn.max_pool2d(v, 2, 2, "VALID") * 2.0)
        return t.gradient(out, v)

    np.testing.assert_array_equal(traced(x).numpy().reshape(2, 4), 2 * g)


def test_bad_convolution_arguments():
    x = tf.zeros([1, 4, 4, 3])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Conv2D"):
        tf.nn.conv2d(x, tf.zeros([2, 2, 2, 1]), 1, "VALID")  # channels differ
    with pytest.raises(tf.errors.InvalidArgumentError, match="NHWC"):
        tf.nn.conv2d(tf.zeros([4, 4, 3]), tf.zeros([2, 2, 3, 1]), 1, "VALID")
    # A window larger than the image with VALID padding gives an empty output, as in TensorFlow.
    assert tf.nn.conv2d(x, tf.zeros([5, 5, 3, 1]), 1, "VALID").shape == (1, 0, 0, 1)
    assert tf.nn.max_pool2d(x, 5, 1, "VALID").shape == (1, 0, 0, 3)
    assert tf.nn.avg_pool2d(x, 5, 1, "VALID").shape == (1, 0, 0, 3)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(tf.nn.conv2d(x, tf.ones([5, 5, 3, 1]), 1, "VALID"))
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), np.zeros([1, 4, 4, 3]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="positive"):
        tf.nn.max_pool2d(x, 2, 0, "VALID")
    with pytest.raises(ValueError, match="padding"):
        tf.nn.conv2d(x, tf.zeros([2, 2, 3, 1]), 1, "FULL")


def test_keras_cnn_trains_traced_and_saves(tmp_path):
    tf.random.set_seed(5)  # the initial weights too, so the run is the same every time
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 8, 8, 1)).astype(np.float32)
    y = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype(np.int64)
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(8, 8, 1)),
        tf.keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
        tf.keras.layers.MaxPooling2D(),
        tf.keras.layers.Conv2D(8, 3, activation="relu"),
        tf.keras.layers.AveragePooling2D(pool_size=2, padding="same"),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(2),
    ])
    model.compile(optimizer=tf.optimizers.Adam(0.01),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(str(tmp_path / "cnn.keras"))
    loaded = tf.keras.models.load_model(str(tmp_path / "cnn.keras"))
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    model.save(str(tmp_path / "cnn_dir"))
    served = tf.saved_model.load(str(tmp_path / "cnn_dir"))
    np.testing.assert_allclose(served.signatures["serving_default"](x[:16]).numpy(),
                               model.predict(x[:16], verbose=0), rtol=1e-6)


def test_max_pool_tie_gradients_through_a_graph_and_in_half_precision():
    # A tape outside a traced function differentiates the graph's MaxPool node with the same
    # rule; tap indices stay exact where float16 counts are not (a 46x46 window has 2116).
    x = tf.constant(np.array([[0.0, 3.0, 1.0, 1.0], [3.0, 2.0, 1.0, 1.0]]).reshape(1, 2, 4, 1))
    pool = tf.function(lambda v: tf.nn.max_pool2d(v, 2, 2, "VALID"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = pool(x)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy().reshape(2, 4),
                                  [[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    h = tf.constant(np.ones((1, 46, 46, 1), np.float16))
    with tf.GradientTape() as tape:
        tape.watch(h)
        y = tf.nn.max_pool2d(h, 46, 1, "VALID")
    g = tape.gradient(y, h).numpy()
    assert g.sum() == 1.0 and g[0, 0, 0, 0] == 1.0
