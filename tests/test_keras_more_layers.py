"""The Keras layers of merging.py, convolutional.py, reshaping.py, activation_layers.py,
regularization_layers.py and preprocessing.py, against numpy float64 references (and numbers
printed by the reference Keras 3 / TF 2.21, with the snippet that printed them), with finite
difference gradients for the differentiable ones."""

from __future__ import annotations

import doctest
import importlib
import math
import os
import tempfile

import numpy as np
import pytest

import rstf as tf
from rstf.keras import serialization

L = tf.keras.layers
RNG = np.random.default_rng(42)


def _np(x):
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def _fd_check(fn, x, eps=1e-6, tol=1e-6):
    """The gradient of ``sum(w * fn(x))`` from the tape against central differences (float64)."""
    x = np.asarray(x, np.float64)
    w = np.random.default_rng(0).standard_normal(_np(fn(tf.constant(x))).shape)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        s = tf.reduce_sum(fn(xt) * w)
    g = _np(tape.gradient(s, xt))
    flat = x.ravel()
    num = np.zeros_like(flat)
    for i in range(flat.size):
        up, dn = flat.copy(), flat.copy()
        up[i] += eps
        dn[i] -= eps
        num[i] = (np.sum(_np(fn(tf.constant(up.reshape(x.shape)))) * w)
                  - np.sum(_np(fn(tf.constant(dn.reshape(x.shape)))) * w)) / (2 * eps)
    np.testing.assert_allclose(g.ravel(), num, rtol=tol, atol=tol)


def _fd_check_variable(fn, var, eps=1e-6, tol=1e-6):
    """The gradient of ``sum(w * fn())`` with respect to a variable, against central differences."""
    w = np.random.default_rng(1).standard_normal(_np(fn()).shape)
    with tf.GradientTape() as tape:
        s = tf.reduce_sum(fn() * w)
    g = _np(tape.gradient(s, var)).ravel()
    value = _np(var).copy()
    flat = value.ravel()
    num = np.zeros_like(flat)
    for i in range(flat.size):
        total = []
        for step in (eps, -eps):
            moved = flat.copy()
            moved[i] += step
            var.assign(moved.reshape(value.shape))
            total.append(np.sum(_np(fn()) * w))
        num[i] = (total[0] - total[1]) / (2 * eps)
    var.assign(value)
    np.testing.assert_allclose(g, num, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["merging", "convolutional", "reshaping", "activation_layers",
                                  "regularization_layers", "preprocessing", "regularizers"])
def test_docstring_examples(name):
    module = importlib.import_module(f"rstf.keras.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# -- merging ------------------------------------------------------------------------------------

def test_elementwise_merges_match_numpy():
    a, b, c = (RNG.standard_normal((2, 3)) for _ in range(3))
    args = [tf.constant(v) for v in (a, b, c)]
    np.testing.assert_allclose(_np(L.Add()(args)), a + b + c)
    np.testing.assert_allclose(_np(L.Subtract()(args[:2])), a - b)
    np.testing.assert_allclose(_np(L.Multiply()(args)), a * b * c)
    np.testing.assert_allclose(_np(L.Average()(args)), (a + b + c) / 3)
    np.testing.assert_allclose(_np(L.Maximum()(args)), np.maximum(np.maximum(a, b), c))
    np.testing.assert_allclose(_np(L.Minimum()(args)), np.minimum(np.minimum(a, b), c))
    np.testing.assert_allclose(_np(tf.keras.layers.add(args)), a + b + c)


def test_merges_broadcast_and_grow_ranks_as_keras():
    # keras.layers.Add()([np.ones((2,3,1)), np.ones((2,5))]).shape == (2, 3, 5): the lower
    # rank input gains axes after the batch one.
    a, b = RNG.standard_normal((2, 3, 1)), RNG.standard_normal((2, 5))
    np.testing.assert_allclose(_np(L.Add()([a, b])), a + b[:, None, :])
    c = RNG.standard_normal((2, 1))
    np.testing.assert_allclose(_np(L.Maximum()([a[:, :, 0], c])), np.maximum(a[:, :, 0], c))


@pytest.mark.parametrize("layer, inputs, message", [
    (L.Add(), np.ones((2, 3)), "A merge layer should be called on a list of inputs. Received: "
                               "input_shape=(2, 3) (not a list of shapes)"),
    (L.Add(), [np.ones((2, 3)), np.ones((2, 4))], "Inputs have incompatible shapes. Received shapes (3,) "
                                                  "and (4,)"),
    (L.Add(), [np.ones((2, 3)), np.ones((3, 3))], "Cannot merge tensors with different batch sizes. "
                                                  "Received tensors with shapes [(2, 3), (3, 3)]"),
    (L.Subtract(), [np.ones((2, 3))] * 3, "A `Subtract` layer should be called on exactly 2 inputs. "
                                          "Received: input_shape=[(2, 3), (2, 3), (2, 3)]"),
    (L.Concatenate(), [np.ones((2, 3)), np.ones((2, 3, 1))],
     "A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis. "
     "Received: input_shape=[(2, 3), (2, 3, 1)]"),
    (L.Concatenate(axis=0), [np.ones((2, 3)), np.ones((2, 4))],
     "A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis."),
    (L.Dot(axes=1), [np.ones((2, 3)), np.ones((2, 4))],
     "Incompatible input shapes: axis values 3 (at axis 1) != 4 (at axis 1). Full input shapes: (2, 3), (2, "
     "4)"),
])
def test_merge_errors_are_keras_messages(layer, inputs, message):
    # The messages printed by keras.layers.<Layer>()(inputs) in Keras 3.
    if isinstance(inputs, list):
        inputs = [np.asarray(v, "float32") for v in inputs]
    else:
        inputs = inputs.astype("float32")
    with pytest.raises(ValueError) as e:
        layer(inputs)
    assert message in str(e.value)


def test_dot_axes_and_normalize_match_numpy():
    x, y = RNG.standard_normal((2, 5, 3)), RNG.standard_normal((2, 4, 3))
    np.testing.assert_allclose(_np(L.Dot(axes=2)([x, y])), np.einsum("bik,bjk->bij", x, y))
    np.testing.assert_allclose(_np(L.Dot(axes=(1, 1))([x, x[..., :2]])),
                               np.einsum("bki,bkj->bij", x, x[..., :2]))
    xn = x / np.linalg.norm(x, axis=2, keepdims=True)
    yn = y / np.linalg.norm(y, axis=2, keepdims=True)
    np.testing.assert_allclose(_np(L.Dot(axes=-1, normalize=True)([x, y])), np.einsum("bik,bjk->bij", xn, yn),
                               rtol=1e-12)
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    out = _np(L.Dot(axes=1)([a, b]))  # keras: shape (3, 1)
    np.testing.assert_allclose(out, np.sum(a * b, axis=1, keepdims=True))
    with pytest.raises(TypeError, match="Invalid type for argument `axes`"):
        L.Dot(axes="x")


def test_dot_gradient():
    y = tf.constant(RNG.standard_normal((2, 4, 3)))
    _fd_check(lambda x: L.Dot(axes=2, normalize=True)([x, y]), RNG.standard_normal((2, 5, 3)))


def test_concatenate_axis_and_gradient():
    a, b = RNG.standard_normal((2, 2, 3)), RNG.standard_normal((2, 1, 3))
    np.testing.assert_allclose(_np(L.Concatenate(axis=1)([a, b])), np.concatenate([a, b], axis=1))
    _fd_check(lambda x: L.Concatenate()([x, x * x]), RNG.standard_normal((2, 3)))


def test_functional_skip_connections_train_and_save():
    inputs = tf.keras.Input(shape=(8, 3))
    a = L.Conv1D(4, 3, padding="causal")(inputs)
    b = L.Conv1D(4, 1)(inputs)
    merged = L.Add()([a, b])
    merged = L.Concatenate()([merged, inputs])
    pooled = L.GlobalMaxPooling1D()(merged)
    other = L.GlobalAveragePooling1D()(merged)
    both = L.Average()([pooled, other])
    outputs = L.Dense(1)(L.Multiply()([both, both]))
    model = tf.keras.Model(inputs, outputs)
    assert tuple(outputs.shape) == (None, 1)
    assert [type(x).__name__ for x in model.layers].count("Conv1D") == 2
    x = RNG.standard_normal((16, 8, 3)).astype("float32")
    y = x[:, :, :1].mean(axis=1)
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss="mse")
    hist = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    path = os.path.join(tempfile.mkdtemp(), "m.keras")
    model.save(path)
    again = tf.keras.models.load_model(path)
    np.testing.assert_allclose(_np(again(x)), _np(model(x)), rtol=1e-6)


def test_two_input_model_with_merge():
    i1, i2 = tf.keras.Input((4,)), tf.keras.Input((4,))
    out = L.Subtract()([L.Dense(2, kernel_initializer="ones")(i1), L.Dense(2, kernel_initializer="ones")(i2)])
    model = tf.keras.Model([i1, i2], out)
    a, b = np.ones((3, 4), "float32"), np.full((3, 4), 2.0, "float32")
    np.testing.assert_allclose(_np(model([a, b])), np.full((3, 2), -4.0))


# -- convolution and pooling ---------------------------------------------------------------------

def _conv1d_ref(x, k, b, stride, padding, dilation, groups=1):
    n, steps, cin = x.shape
    ksize, cg, cout = k.shape
    span = (ksize - 1) * dilation + 1
    if padding == "causal":
        x = np.pad(x, [(0, 0), (span - 1, 0), (0, 0)])
    elif padding == "same":
        out = math.ceil(steps / stride)
        total = max((out - 1) * stride + span - steps, 0)
        x = np.pad(x, [(0, 0), (total // 2, total - total // 2), (0, 0)])
    outs = (x.shape[1] - span) // stride + 1
    y = np.zeros((n, outs, cout))
    per = cout // groups
    for t in range(outs):
        for j in range(ksize):
            xs = x[:, t * stride + j * dilation, :]
            for g in range(groups):
                y[:, t, g * per:(g + 1) * per] += xs[:, g * cg:(g + 1) * cg] @ k[j, :, g * per:(g + 1) * per]
    return y + b


@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
@pytest.mark.parametrize("stride, dilation, groups", [(1, 1, 1), (2, 1, 1), (1, 2, 1), (1, 1, 2)])
def test_conv1d_matches_numpy(padding, stride, dilation, groups):
    x = RNG.standard_normal((2, 9, 4))
    conv = L.Conv1D(4, 3, strides=stride, padding=padding, dilation_rate=dilation, groups=groups,
                    bias_initializer="ones", dtype="float64")
    y = _np(conv(x))
    assert tuple(conv.kernel.shape) == (3, 4 // groups, 4)
    ref = _conv1d_ref(x, _np(conv.kernel), _np(conv.bias), stride, padding, dilation, groups)
    np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-12)


def test_conv1d_gradients_and_errors():
    conv = L.Conv1D(2, 3, padding="causal", dilation_rate=2, dtype="float64", activation="tanh")
    _fd_check(conv, RNG.standard_normal((2, 7, 3)))
    x = tf.constant(RNG.standard_normal((2, 7, 3)))
    _fd_check_variable(lambda: conv(x), conv.kernel)
    _fd_check_variable(lambda: conv(x), conv.bias)
    with pytest.raises(ValueError, match="The `padding` argument must be a string"):
        L.Conv1D(2, 3, padding="full")
    with pytest.raises(ValueError, match="evenly divisible by the number of groups"):
        L.Conv1D(3, 3, groups=2)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pooling1d_matches_numpy(padding):
    x = RNG.standard_normal((2, 9, 3))
    steps = x.shape[1]
    pool, stride = 3, 2
    if padding == "same":
        out = math.ceil(steps / stride)
        total = max((out - 1) * stride + pool - steps, 0)
        lo = total // 2
    else:
        out, lo = (steps - pool) // stride + 1, 0
    mx, av = np.zeros((2, out, 3)), np.zeros((2, out, 3))
    for t in range(out):
        s = t * stride - lo
        window = x[:, max(s, 0):min(s + pool, steps)]  # taps in the padding not counted
        mx[:, t], av[:, t] = window.max(axis=1), window.mean(axis=1)
    np.testing.assert_allclose(_np(L.MaxPooling1D(pool, strides=stride, padding=padding)(x)), mx)
    np.testing.assert_allclose(_np(L.AveragePooling1D(pool, strides=stride, padding=padding)(x)), av)
    np.testing.assert_allclose(_np(L.MaxPooling1D()(x)), x[:, :8].reshape(2, 4, 2, 3).max(axis=2))


def test_global_pooling1d():
    x = RNG.standard_normal((2, 5, 3))
    np.testing.assert_allclose(_np(L.GlobalAveragePooling1D()(x)), x.mean(axis=1))
    np.testing.assert_allclose(_np(L.GlobalMaxPooling1D(keepdims=True)(x)), x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(_np(L.GlobalAveragePooling1D(data_format="channels_first")(x)), x.mean(axis=2))
    _fd_check(L.GlobalAveragePooling1D(), x)


# -- reshaping -----------------------------------------------------------------------------------

def test_reshaping_layers_match_numpy():
    x = RNG.standard_normal((2, 3, 4, 2))
    up = np.repeat(np.repeat(x, 2, axis=1), 3, axis=2)
    np.testing.assert_allclose(_np(L.UpSampling2D((2, 3))(x)), up)
    np.testing.assert_allclose(_np(L.UpSampling2D(2, data_format="channels_first")(x)),
                               np.repeat(np.repeat(x, 2, axis=2), 2, axis=3))
    np.testing.assert_allclose(_np(L.ZeroPadding2D(((1, 2), (0, 3)))(x)),
                               np.pad(x, [(0, 0), (1, 2), (0, 3), (0, 0)]))
    np.testing.assert_allclose(_np(L.ZeroPadding2D()(x)), np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)]))
    np.testing.assert_allclose(_np(L.Cropping2D(((1, 0), (1, 2)))(x)), x[:, 1:, 1:2])
    np.testing.assert_allclose(_np(L.Cropping2D(((1, 2), (0, 1)), data_format="channels_first")(x)),
                               x[:, :, 1:2, 0:1])
    v = RNG.standard_normal((2, 5))
    np.testing.assert_allclose(_np(L.RepeatVector(3)(v)), np.repeat(v[:, None], 3, axis=1))
    np.testing.assert_allclose(_np(L.Permute((3, 1, 2))(x)), x.transpose(0, 3, 1, 2))
    with pytest.raises(ValueError, match="Values in `cropping` argument should be smaller"):
        L.Cropping2D(((2, 1), (0, 0)))(x)
    with pytest.raises(ValueError, match="Invalid permutation argument `dims` for Permute Layer"):
        L.Permute((2, 3))
    with pytest.raises(ValueError, match="Argument `n` should be a positive integer"):
        L.RepeatVector(0)


@pytest.mark.parametrize("layer", [L.UpSampling2D((2, 1)), L.ZeroPadding2D(1), L.Cropping2D(((1, 0), (0, 1))),
                                   L.Permute((2, 1, 3))])
def test_reshaping_gradients(layer):
    _fd_check(layer, RNG.standard_normal((1, 3, 2, 2)))


def test_repeat_vector_gradient():
    _fd_check(L.RepeatVector(2), RNG.standard_normal((2, 3)))


# -- activations ---------------------------------------------------------------------------------

def test_activation_layers_match_numpy():
    x = RNG.standard_normal((3, 4)) * 3
    relu = np.where(x >= 0.5, np.minimum(x, 1.0), 0.0) - 0.1 * np.maximum(0.5 - x, 0)
    np.testing.assert_allclose(_np(L.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.5)(x)),
                               np.where(x > 0.5, np.minimum(x, 1.0), 0.1 * (x - 0.5)))
    np.testing.assert_allclose(relu, np.where(x > 0.5, np.minimum(x, 1.0), 0.1 * (x - 0.5)))
    np.testing.assert_allclose(_np(L.ReLU()(x)), np.maximum(x, 0))
    np.testing.assert_allclose(_np(L.LeakyReLU()(x)), np.where(x >= 0, x, 0.3 * x))
    np.testing.assert_allclose(_np(L.ELU(alpha=0.7)(x)), np.where(x > 0, x, 0.7 * np.expm1(x)), rtol=1e-12)
    np.testing.assert_allclose(_np(L.Identity()(x)), x)
    with pytest.raises(ValueError, match="max_value of a ReLU layer cannot be a negative value"):
        L.ReLU(max_value=-1.0)
    with pytest.warns(UserWarning, match="Argument `alpha` is deprecated"):
        assert L.LeakyReLU(alpha=0.1).negative_slope == 0.1


def test_prelu_shared_axes_and_gradients():
    x = RNG.standard_normal((2, 3, 4))
    layer = L.PReLU(shared_axes=[1], dtype="float64")
    layer(x)
    assert tuple(layer.alpha.shape) == (1, 4)
    alpha = np.linspace(-1, 1, 4).reshape(1, 4)
    layer.set_weights([alpha])
    np.testing.assert_allclose(_np(layer(x)), np.where(x > 0, x, alpha * x))
    _fd_check(layer, x)
    xt = tf.constant(x)
    _fd_check_variable(lambda: layer(xt), layer.alpha)
    _fd_check(L.ELU(), x)
    _fd_check(L.ReLU(max_value=1.0, negative_slope=0.2, threshold=0.1), x + 0.013)


# -- regularization layers -----------------------------------------------------------------------

def test_spatial_dropout_drops_whole_channels():
    x = np.ones((4, 6, 8), "float32")
    y = _np(L.SpatialDropout1D(0.5, seed=1)(x, training=True))
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert (y == y[:, :1, :]).all()
    assert 0 < (y == 0).mean() < 1
    np.testing.assert_array_equal(_np(L.SpatialDropout1D(0.5)(x)), x)
    x4 = np.ones((3, 4, 5, 6), "float32")
    y4 = _np(L.SpatialDropout2D(0.5)(x4, training=True))
    assert (y4 == y4[:, :1, :1, :]).all()
    y4 = _np(L.SpatialDropout2D(0.5, data_format="channels_first")(x4, training=True))
    assert (y4 == y4[:, :, :1, :1]).all()
    with pytest.raises(ValueError, match="Invalid value received for argument `rate`"):
        L.SpatialDropout1D(1.5)


def test_gaussian_noise_only_when_training():
    x = np.zeros((200, 50), "float32")
    np.testing.assert_array_equal(_np(L.GaussianNoise(0.5)(x)), x)
    y = _np(L.GaussianNoise(0.5)(x, training=True))
    assert abs(y.std() - 0.5) < 0.02 and abs(y.mean()) < 0.02


def test_activity_regularization_and_unit_normalization():
    x = RNG.standard_normal((4, 3))
    layer = L.ActivityRegularization(l1=0.1, l2=0.2)
    np.testing.assert_allclose(_np(layer(x)), x)
    (loss,) = layer.losses
    np.testing.assert_allclose(float(loss), (0.1 * np.abs(x).sum() + 0.2 * (x ** 2).sum()) / 4, rtol=1e-6)
    assert serialization.get_config(layer) == {"l1": 0.1, "l2": 0.2}
    x3 = RNG.standard_normal((2, 3, 4))
    np.testing.assert_allclose(_np(L.UnitNormalization(axis=[1, 2])(x3)),
                               x3 / np.sqrt((x3 ** 2).sum(axis=(1, 2), keepdims=True)), rtol=1e-12)
    _fd_check(L.UnitNormalization(), x3)


# -- preprocessing -------------------------------------------------------------------------------

def test_normalization_adapt_array_dataset_and_batches():
    x = RNG.standard_normal((40, 3)) * [1.0, 5.0, 0.1] + [2.0, -1.0, 0.0]
    mean, std = x.mean(axis=0), x.std(axis=0)
    for data in (x.astype("float32"), tf.data.Dataset.from_tensor_slices(x).batch(7),
                 tf.data.Dataset.from_tensor_slices(x), [x[:13], x[13:]]):
        layer = L.Normalization()
        layer.adapt(data)
        np.testing.assert_allclose(_np(layer.adapt_mean), mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(_np(layer(x)), (x - mean) / std, rtol=1e-4, atol=1e-5)
    assert [w.shape for w in layer.get_weights()] == [(3,), (3,), ()]
    whole = L.Normalization(axis=None)
    whole.adapt(x)
    np.testing.assert_allclose(_np(whole(x)), (x - x.mean()) / x.std(), rtol=1e-4, atol=1e-5)


def test_normalization_given_stats_invert_and_errors():
    x = RNG.standard_normal((5, 4))
    m, v = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 4.0, 9.0, 16.0])
    np.testing.assert_allclose(_np(L.Normalization(mean=m, variance=v)(x)), (x - m) / np.sqrt(v), rtol=1e-6)
    np.testing.assert_allclose(_np(L.Normalization(mean=m, variance=v, invert=True)(x)), m + x * np.sqrt(v),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="both `mean` and `variance` must be set"):
        L.Normalization(mean=1.0)
    _fd_check(L.Normalization(mean=m, variance=v, dtype="float64"), x)


def test_rescaling_and_category_encoding():
    img = np.array([[0, 128, 255]], "uint8")
    out = L.Rescaling(1.0 / 127.5, offset=-1.0)(img)
    assert out.dtype == tf.float32
    np.testing.assert_allclose(_np(out), img / 127.5 - 1.0, rtol=1e-6, atol=1e-7)
    # keras.layers.CategoryEncoding(num_tokens=4, output_mode=mode)(x) in Keras 3:
    x = np.array([[0, 1], [0, 0], [1, 2], [3, 1]])
    assert _np(L.CategoryEncoding(4, "multi_hot")(x)).tolist() == [
        [1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]]
    assert _np(L.CategoryEncoding(4, "count")(x)).tolist() == [
        [1.0, 1.0, 0.0, 0.0], [2.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]]
    assert _np(L.CategoryEncoding(4, "one_hot")(np.array([[1], [3]]))).tolist() == [
        [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
    assert _np(L.CategoryEncoding(4, "multi_hot")(np.array([3, 2, 0, 1]))).tolist() == [1.0, 1.0, 1.0, 1.0]
    assert _np(L.CategoryEncoding(4, "one_hot")(np.array([5, 1]))).tolist() == [
        [0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]
    counts = L.CategoryEncoding(3, "count")(np.array([[0, 0, 2]]), count_weights=np.array([[0.5, 1.0, 2.0]]))
    np.testing.assert_allclose(_np(counts), [[1.5, 0.0, 2.0]])
    with pytest.raises(ValueError, match="num_tokens must be set"):
        L.CategoryEncoding()


# -- configs -------------------------------------------------------------------------------------

@pytest.mark.parametrize("layer, config", [
    (L.Concatenate(axis=1), {"axis": 1}),
    (L.Dot(axes=(1, 2), normalize=True), {"axes": [1, 2], "normalize": True}),
    (L.Conv1D(3, 5, padding="causal", kernel_regularizer=tf.keras.regularizers.L2(0.5)),
     {"filters": 3, "kernel_size": 5, "padding": "causal",
      "kernel_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.5},
                             "registered_name": None}}),
    (L.UpSampling2D(size=3), {"size": 3}),
    (L.LeakyReLU(negative_slope=0.2), {"negative_slope": 0.2}),
    (L.Normalization(mean=[1.0], variance=[2.0]), {"mean": [1.0], "variance": [2.0]}),
    (L.CategoryEncoding(num_tokens=3, output_mode="count"), {"num_tokens": 3, "output_mode": "count"}),
])
def test_configs_round_trip(layer, config):
    assert serialization.get_config(layer) == config
    again = serialization.deserialize(serialization.serialize(layer))
    assert type(again) is type(layer)
    assert serialization.get_config(again) == config
