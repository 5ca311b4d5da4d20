"""rstf.image against numpy float64 references, TensorFlow's numbers (stored, with the snippet
that made them) and finite differences; 3-D images and 4-D batches."""

import re

import numpy as np
import pytest

import rstf as tf

RNG = np.random.default_rng(0)


def _img(*shape, dtype=np.float32):
    return RNG.uniform(0, 1, shape).astype(dtype)


@pytest.mark.parametrize("batched", [False, True])
def test_flips_transpose_rot90(batched):
    x = _img(2, 3, 4, 2) if batched else _img(3, 4, 2)
    h, w = (1, 2) if batched else (0, 1)
    np.testing.assert_array_equal(tf.image.flip_left_right(x).numpy(), np.flip(x, w))
    np.testing.assert_array_equal(tf.image.flip_up_down(x).numpy(), np.flip(x, h))
    np.testing.assert_array_equal(tf.image.transpose(x).numpy(), np.swapaxes(x, h, w))
    for k in range(-2, 6):
        np.testing.assert_array_equal(tf.image.rot90(x, k).numpy(), np.rot90(x, k, axes=(h, w)))


def test_rot90_matches_tensorflow():
    # tf.image.rot90(tf.reshape(tf.range(6), [2, 3, 1]), k=tf.constant(1))[..., 0]
    got = tf.image.rot90(tf.reshape(tf.range(6), [2, 3, 1]), k=tf.constant(1))[..., 0]
    assert got.numpy().tolist() == [[2, 5], [1, 4], [0, 3]]


@pytest.mark.parametrize("fn", [tf.image.flip_left_right, tf.image.flip_up_down, tf.image.rot90,
                                tf.image.transpose])
def test_rank_errors(fn):
    with pytest.raises(ValueError, match=r"\(shape \(2, 3\)\) must be at least three-dimensional"):
        fn(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="must have either 3 or 4 dimensions"):
        fn(np.zeros((1, 1, 2, 3, 1)))


@pytest.mark.parametrize("batched", [False, True])
def test_crop_pad_central_crop(batched):
    x = _img(2, 6, 7, 3) if batched else _img(6, 7, 3)
    got = tf.image.crop_to_bounding_box(x, 1, 2, 4, 3).numpy()
    np.testing.assert_array_equal(got, x[..., 1:5, 2:5, :])
    padded = tf.image.pad_to_bounding_box(x, 2, 1, 9, 10).numpy()
    want = np.zeros(x.shape[:-3] + (9, 10, 3), np.float32)
    want[..., 2:8, 1:8, :] = x
    np.testing.assert_array_equal(padded, want)
    # TensorFlow's rounding: start = int((size - size * fraction) / 2), computed in float64.
    cc = tf.image.central_crop(x, 0.33).numpy()
    top, left = int((6 - 6 * 0.33) / 2), int((7 - 7 * 0.33) / 2)
    np.testing.assert_array_equal(cc, x[..., top:6 - top, left:7 - left, :])
    assert tf.image.central_crop(x, 1.0).shape == x.shape


def test_crop_pad_errors_as_tensorflow():
    x = np.zeros((2, 4, 3), np.float32)
    # The messages TensorFlow 2.21 raises (ValueError) for the same calls.
    for args, message in [((1, 1, 2, 2), "height must be >= target + offset."),
                          ((1, 1, 1, 4), "width must be >= target + offset."),
                          ((-1, 0, 1, 1), "offset_height must be >= 0."),
                          ((0, 0, 0, 1), "target_height must be > 0.")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            tf.image.crop_to_bounding_box(x, *args)
    for args, message in [((1, 0, 2, 5), "height must be <= target - offset"),
                          ((-1, 0, 4, 5), "offset_height must be >= 0"),
                          ((0, 2, 4, 5), "width must be <= target - offset")]:
        with pytest.raises(ValueError, match=message):
            tf.image.pad_to_bounding_box(x, *args)
    with pytest.raises(ValueError, match=r"central_fraction must be within \(0, 1\]"):
        tf.image.central_crop(x, 0.0)
    with pytest.raises(ValueError, match="rank = 3 or rank = 4. Had rank = 5"):
        tf.image.central_crop(np.zeros((1, 1, 2, 3, 1)), 0.5)


def test_convert_image_dtype_matches_tensorflow():
    c = tf.image.convert_image_dtype
    # Each expected value printed by TensorFlow 2.21 for the same call.
    cases = [
        (np.array([0, 128, 255], np.uint8), "float32", False, [0.0, 0.5019608, 1.0]),
        (np.array([0., 0.5, 1.0, 1.2, -0.1], np.float32), "uint8", False, [0, 127, 255, 50, 231]),
        (np.array([0., 0.5, 1.0, 1.2, -0.1], np.float32), "uint8", True, [0, 127, 255, 255, 0]),
        (np.array([0, 1, 255], np.uint8), "int32", False, [0, 8388608, 2139095040]),
        (np.array([0, 2 ** 24, 2 ** 31 - 1], np.int32), "uint8", False, [0, 2, 255]),
        (np.array([0.5, 1.0], np.float32), "int32", False, [1073741824, -2147483648]),
        (np.array([-128, 127], np.int8), "float32", False, [-1.007874, 1.0]),
        (np.array([255, 128], np.uint8), "int8", False, [127, 64]),
        (np.array([2 ** 62], np.int64), "float64", False, [0.5]),
    ]
    for x, dtype, saturate, want in cases:
        got = c(x, dtype, saturate=saturate)
        assert got.dtype.name == dtype
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)
    with pytest.raises(AttributeError, match="image dtype must be either floating point or integer"):
        c(np.array([True]), "float32")


def test_brightness_and_contrast():
    x = _img(2, 3, 4, 2)
    np.testing.assert_allclose(tf.image.adjust_brightness(x, 0.25).numpy(), x + np.float32(0.25))
    mean = x.astype(np.float64).mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(tf.image.adjust_contrast(x, 1.7).numpy(), (x - mean) * 1.7 + mean, rtol=1e-5,
                               atol=1e-6)
    # tf.image.adjust_brightness(np.array([[[10, 250, 128]]], np.uint8), 0.1) in TensorFlow 2.21
    got = tf.image.adjust_brightness(np.array([[[10, 250, 128]]], np.uint8), 0.1)
    assert got.dtype == tf.uint8 and got.numpy().ravel().tolist() == [35, 255, 153]
    # tf.image.adjust_contrast(np.array([[[10], [250]], [[0], [100]]], np.uint8), 2.0)
    got = tf.image.adjust_contrast(np.array([[[10], [250]], [[0], [100]]], np.uint8), 2.0)
    assert got.dtype == tf.uint8 and got.numpy().ravel().tolist() == [0, 255, 0, 110]
    # float64 goes through float32: TensorFlow gives 0.40000004 here
    got = tf.image.adjust_contrast(np.array([[[0.1], [0.3]]]), 2.0)
    assert got.dtype == tf.float64
    np.testing.assert_array_equal(got.numpy().ravel(), [0.0, np.float64(np.float32(0.40000004))])
    with pytest.raises(tf.errors.InvalidArgumentError, match="at least 3-D"):
        tf.image.adjust_contrast(np.zeros((2, 2), np.float32), 2.0)


def test_adjust_contrast_has_no_gradient_as_in_tensorflow():
    image = tf.Variable([[[0.5, 0.0, 0.0]]])
    delta = tf.Variable(0.1)
    with tf.GradientTape() as tape:
        out = tf.image.adjust_contrast(image, delta)
    with pytest.raises(LookupError, match="AdjustContrastv2"):
        tape.gradient(out, [image, delta])
    with tf.GradientTape() as tape:
        out = tf.image.adjust_brightness(image, delta)
    g = tape.gradient(out, [image, delta])
    assert g[0].numpy().tolist() == [[[1.0, 1.0, 1.0]]] and float(g[1]) == 3.0


@pytest.mark.parametrize("batched", [False, True])
def test_per_image_standardization(batched):
    x = _img(2, 3, 4, 2) if batched else _img(3, 4, 2)
    got = tf.image.per_image_standardization(x)
    axes = (-1, -2, -3)
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=axes, keepdims=True)
    std = np.maximum(x64.std(axis=axes, keepdims=True), 1 / np.sqrt(24))
    assert got.dtype == tf.float32
    np.testing.assert_allclose(got.numpy(), (x64 - mean) / std, rtol=1e-5, atol=1e-6)
    # tf.image.per_image_standardization(np.array([[[1, 2], [3, 5]]], np.uint8))
    got = tf.image.per_image_standardization(np.array([[[1, 2], [3, 5]]], np.uint8))
    want = [-1.1832159, -0.50709254, 0.16903085, 1.5212775]
    np.testing.assert_allclose(got.numpy().ravel(), want, rtol=1e-6)
    constant = tf.image.per_image_standardization(np.ones((2, 2, 1), np.float32))
    np.testing.assert_array_equal(constant.numpy(), 0)


def test_grayscale_conversions():
    x = _img(2, 3, 3)
    want = x.astype(np.float64) @ np.array([0.2989, 0.5870, 0.1140])
    np.testing.assert_allclose(tf.image.rgb_to_grayscale(x).numpy()[..., 0], want, rtol=1e-6)
    # tf.image.rgb_to_grayscale(np.array([[[255, 0, 0], [10, 200, 30]]], np.uint8)) -> [[76], [124]]
    got = tf.image.rgb_to_grayscale(np.array([[[255, 0, 0], [10, 200, 30]]], np.uint8))
    assert got.dtype == tf.uint8 and got.numpy().ravel().tolist() == [76, 124]
    # TensorFlow: 0.62090003 for [[[1., 0.5, 0.25]]] as float64 (computed in float32)
    got = tf.image.rgb_to_grayscale(np.array([[[1., 0.5, 0.25]]]))
    assert got.dtype == tf.float64 and abs(float(got.numpy().ravel()[0]) - 0.62090003) < 1e-7
    rgb = tf.image.grayscale_to_rgb(x[..., :1])
    np.testing.assert_array_equal(rgb.numpy(), np.repeat(x[..., :1], 3, axis=-1))
    with pytest.raises(ValueError, match="Last dimension of a grayscale image should be size 1"):
        tf.image.grayscale_to_rgb(x)
    with pytest.raises(ValueError, match="must be at least two-dimensional"):
        tf.image.grayscale_to_rgb(np.ones((1,), np.float32))
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.image.rgb_to_grayscale(np.zeros((2, 2, 2), np.float32))


def _bilinear_ref(x, out_h, out_w):
    """Half-pixel-center bilinear resize in float64 loops (batched NHWC)."""
    n, h, w, c = x.shape
    out = np.zeros((n, out_h, out_w, c))
    for i in range(out_h):
        sy = (i + 0.5) * h / out_h - 0.5
        y0 = int(np.floor(sy))
        fy = sy - y0
        ya, yb = min(max(y0, 0), h - 1), min(max(y0 + 1, 0), h - 1)
        for j in range(out_w):
            sx = (j + 0.5) * w / out_w - 0.5
            x0 = int(np.floor(sx))
            fx = sx - x0
            xa, xb = min(max(x0, 0), w - 1), min(max(x0 + 1, 0), w - 1)
            top = x[:, ya, xa] * (1 - fx) + x[:, ya, xb] * fx
            bottom = x[:, yb, xa] * (1 - fx) + x[:, yb, xb] * fx
            out[:, i, j] = top * (1 - fy) + bottom * fy
    return out


def _nearest_ref(x, out_h, out_w):
    n, h, w, c = x.shape
    rows = [min(int(np.floor((i + 0.5) * h / out_h)), h - 1) for i in range(out_h)]
    cols = [min(int(np.floor((j + 0.5) * w / out_w)), w - 1) for j in range(out_w)]
    return x[:, rows][:, :, cols]


@pytest.mark.parametrize("size", [(5, 3), (7, 9), (2, 2), (1, 1), (4, 6)])
def test_resize_against_float64_reference(size):
    x = _img(2, 4, 6, 3)
    got = tf.image.resize(x, size)
    assert got.dtype == tf.float32 and got.shape == (2, *size, 3)
    np.testing.assert_allclose(got.numpy(), _bilinear_ref(x.astype(np.float64), *size), rtol=1e-5, atol=1e-6)
    near = tf.image.resize(x, size, method="nearest")
    np.testing.assert_array_equal(near.numpy(), _nearest_ref(x, *size))
    # 3-D images resize as a batch of one
    np.testing.assert_array_equal(tf.image.resize(x[0], size).numpy(), got.numpy()[0])


def test_resize_matches_tensorflow():
    img = np.arange(2 * 3 * 4 * 2, dtype=np.float32).reshape(2, 3, 4, 2)
    # tf.image.resize(img, [5, 3]).numpy()[0, :2] in TensorFlow 2.21
    want = [[[0.3333333730697632, 1.3333333730697632], [3.0, 4.0], [5.6666669845581055, 6.6666669845581055]],
            [[3.5333333015441895, 4.5333333015441895], [6.200000286102295, 7.200000286102295],
             [8.866666793823242, 9.866666793823242]]]
    np.testing.assert_allclose(tf.image.resize(img, [5, 3]).numpy()[0, :2], want, rtol=1e-6)
    # tf.image.resize(img, [5, 3], method="nearest").numpy()[0, :, :, 0]
    near = tf.image.resize(img, [5, 3], method="nearest").numpy()[0, :, :, 0]
    assert near.tolist() == [[0, 4, 6], [0, 4, 6], [8, 12, 14], [16, 20, 22], [16, 20, 22]]
    # downsampling [0..4] to 2 columns: TensorFlow gives [0.75, 3.25]; nearest to 3 gives [0, 2, 4]
    row = np.arange(5., dtype=np.float32).reshape(1, 5, 1)
    np.testing.assert_allclose(tf.image.resize(row, [1, 2]).numpy().ravel(), [0.75, 3.25])
    assert tf.image.resize(row, [1, 3], method="nearest").numpy().ravel().tolist() == [0, 2, 4]
    assert tf.image.resize(img.astype(np.uint8), [5, 3], method="nearest").dtype == tf.uint8
    assert tf.image.resize(img.astype(np.float64), [5, 3]).dtype == tf.float32
    assert tf.image.resize(img, [10, 5], preserve_aspect_ratio=True).shape == (2, 4, 5, 2)


def test_resize_errors():
    img = np.zeros((3, 4, 2), np.float32)
    with pytest.raises(ValueError, match="Resize method is not implemented: foo"):
        tf.image.resize(img, [5, 3], method="foo")
    with pytest.raises(tf.errors.UnimplementedError, match="bicubic"):
        tf.image.resize(img, [5, 3], method="bicubic")
    with pytest.raises(ValueError, match="'images' must have either 3 or 4 dimensions"):
        tf.image.resize(img[..., 0], [5, 3])
    with pytest.raises(ValueError, match="'size' must be a 1-D Tensor of 2 elements"):
        tf.image.resize(img, [5])
    with pytest.raises(ValueError, match="'size' must be a 1-D int32 Tensor"):
        tf.image.resize(img, (3.0, 3))
    with pytest.raises(tf.errors.InvalidArgumentError, match="output dimensions must be positive"):
        tf.image.resize(img, [0, 3])


def test_resize_gradients_match_tensorflow():
    x = tf.Variable(np.arange(6., dtype=np.float32).reshape(1, 2, 3, 1))
    weights = tf.reshape(tf.range(12.), [1, 3, 4, 1])
    # The gradients TensorFlow 2.21 gives for the same sums (ResizeBilinearGrad and
    # ResizeNearestNeighborGrad).
    for method, want in [("bilinear", [3.3125, 5.3125, 8.375, 14.3125, 15.3125, 19.375]),
                         ("nearest", [0., 3., 3., 12., 30., 18.])]:
        with tf.GradientTape() as t:
            loss = tf.reduce_sum(tf.image.resize(x, [3, 4], method=method) * weights)
        np.testing.assert_allclose(t.gradient(loss, x).numpy().ravel(), want, rtol=1e-5)


def _finite_difference(fn, x, eps=1e-3):
    x = x.astype(np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (fn(up) - fn(down)) / (2 * eps)
    return grad


@pytest.mark.parametrize("name", ["resize", "per_image_standardization", "rgb_to_grayscale", "rot90",
                                  "crop_to_bounding_box", "pad_to_bounding_box", "adjust_brightness",
                                  "central_crop", "grayscale_to_rgb", "flip_left_right"])
def test_gradients_by_finite_differences(name):
    x0 = _img(1, 3, 4, 3)
    fns = {
        "resize": lambda x: tf.image.resize(x, [5, 3]),
        "per_image_standardization": tf.image.per_image_standardization,
        "rgb_to_grayscale": tf.image.rgb_to_grayscale,
        "rot90": lambda x: tf.image.rot90(x, 1),
        "crop_to_bounding_box": lambda x: tf.image.crop_to_bounding_box(x, 1, 1, 2, 2),
        "pad_to_bounding_box": lambda x: tf.image.pad_to_bounding_box(x, 1, 1, 5, 6),
        "adjust_brightness": lambda x: tf.image.adjust_brightness(x, 0.3),
        "central_crop": lambda x: tf.image.central_crop(x, 0.5),
        "grayscale_to_rgb": lambda x: tf.image.grayscale_to_rgb(x[..., :1]),
        "flip_left_right": tf.image.flip_left_right,
    }
    fn = fns[name]
    probe = RNG.normal(size=fn(tf.constant(x0)).shape)

    def scalar(x):
        return float(np.sum(fn(tf.constant(x)).numpy().astype(np.float64) * probe))

    var = tf.Variable(x0.astype(np.float64))
    with tf.GradientTape() as t:
        loss = tf.reduce_sum(tf.cast(fn(var), tf.float64) * probe)
    got = t.gradient(loss, var).numpy()
    np.testing.assert_allclose(got, _finite_difference(scalar, x0), rtol=2e-2, atol=2e-3)


def test_image_ops_trace_in_a_function():
    x = _img(2, 4, 6, 3)

    @tf.function
    def pipeline(images):
        y = tf.image.resize(tf.image.flip_left_right(images), [3, 3])
        return tf.image.per_image_standardization(tf.image.adjust_brightness(y, 0.1))

    eager = tf.image.per_image_standardization(
        tf.image.adjust_brightness(tf.image.resize(tf.image.flip_left_right(x), [3, 3]), 0.1))
    np.testing.assert_allclose(pipeline(tf.constant(x)).numpy(), eager.numpy(), rtol=1e-6, atol=1e-6)
