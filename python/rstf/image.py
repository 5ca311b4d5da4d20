"""``rstf.image``: image operations over ``[height, width, channels]`` images and
``[batch, height, width, channels]`` batches, as TensorFlow's ``tf.image``. They are composed
of rstf's ops (reverse, transpose, slices, pads, gathers, reductions), so they differentiate
and trace as those do; ``adjust_contrast`` has no gradient, as in TensorFlow.

>>> import rstf as tf
>>> image = tf.reshape(tf.range(6.0), [2, 3, 1])
>>> tf.image.flip_left_right(image)[..., 0]
<rstf.Tensor: shape=(2, 3), dtype=float32, numpy=
array([[2., 1., 0.],
       [5., 4., 3.]], dtype=float32)>
>>> tf.image.resize(image, [4, 6], method="nearest")[..., 0].numpy()
array([[0., 0., 1., 1., 2., 2.],
       [0., 0., 1., 1., 2., 2.],
       [3., 3., 4., 4., 5., 5.],
       [3., 3., 4., 4., 5., 5.]], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from . import _ops as _o
from ._tape import custom_gradient
from .dtypes import as_dtype
from .errors import InvalidArgumentError, UnimplementedError

__all__ = ["ResizeMethod", "adjust_brightness", "adjust_contrast", "central_crop", "convert_image_dtype",
           "crop_to_bounding_box", "flip_left_right", "flip_up_down", "grayscale_to_rgb",
           "pad_to_bounding_box", "per_image_standardization", "resize", "rgb_to_grayscale", "rot90",
           "transpose"]


def _shape(x) -> tuple:
    return tuple(int(d) for d in x.shape)


def _image(image, least3=True, at_most4=True, space=" "):
    """``image`` as a tensor of rank 3 or 4, with TensorFlow's errors."""
    x = _o.convert_to_tensor(image)
    shape = _shape(x)
    if least3 and len(shape) < 3:
        raise ValueError(f"'image' (shape {shape}) must be at least three-dimensional.")
    if at_most4 and len(shape) not in (3, 4):
        raise ValueError(f"'image' (shape {shape}){space}must have either 3 or 4 dimensions.")
    return x


def _int(v, what) -> int:
    try:
        return int(v)
    except TypeError:
        raise TypeError(f"{what} must be an integer (a Python int or a tensor with a value), "
                        f"got {v!r}") from None


# -- geometry -----------------------------------------------------------------------------------

def flip_left_right(image):
    """Mirrors the image(s) horizontally (the width axis).

    >>> import rstf as tf
    >>> tf.image.flip_left_right(tf.constant([[[1], [2], [3]]]))[0, :, 0]
    <rstf.Tensor: shape=(3,), dtype=int32, numpy=array([3, 2, 1], dtype=int32)>
    """
    x = _image(image, space="")
    return _o.reverse(x, [len(x.shape) - 2])


def flip_up_down(image):
    """Mirrors the image(s) vertically (the height axis).

    >>> import rstf as tf
    >>> tf.image.flip_up_down(tf.constant([[[1]], [[2]]]))[:, 0, 0]
    <rstf.Tensor: shape=(2,), dtype=int32, numpy=array([2, 1], dtype=int32)>
    """
    x = _image(image, space="")
    return _o.reverse(x, [len(x.shape) - 3])


def transpose(image, name=None):
    """Swaps the height and width axes.

    >>> import rstf as tf
    >>> tf.image.transpose(tf.zeros([2, 5, 3])).shape
    TensorShape([5, 2, 3])
    """
    x = _image(image)
    return _o.transpose(x, [1, 0, 2] if len(x.shape) == 3 else [0, 2, 1, 3])


def rot90(image, k=1, name=None):
    """Rotates the image(s) counter-clockwise by ``k`` quarter turns.

    >>> import rstf as tf
    >>> tf.image.rot90(tf.reshape(tf.range(6), [2, 3, 1]))[..., 0]
    <rstf.Tensor: shape=(3, 2), dtype=int32, numpy=
    array([[2, 5],
           [1, 4],
           [0, 3]], dtype=int32)>
    """
    x = _image(image)
    k = _int(k, "rot90: k") % 4
    h, w = (0, 1) if len(x.shape) == 3 else (1, 2)
    perm = [1, 0, 2] if len(x.shape) == 3 else [0, 2, 1, 3]
    if k == 1:
        return _o.transpose(_o.reverse(x, [w]), perm)
    if k == 2:
        return _o.reverse(x, [h, w])
    if k == 3:
        return _o.reverse(_o.transpose(x, perm), [w])
    return x


def crop_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    """The ``target_height x target_width`` window whose top-left corner is at
    ``(offset_height, offset_width)``.

    >>> import rstf as tf
    >>> tf.image.crop_to_bounding_box(tf.reshape(tf.range(16), [4, 4, 1]), 1, 2, 2, 2)[..., 0]
    <rstf.Tensor: shape=(2, 2), dtype=int32, numpy=
    array([[ 6,  7],
           [10, 11]], dtype=int32)>
    """
    x = _image(image, least3=False)
    oh, ow = _int(offset_height, "offset_height"), _int(offset_width, "offset_width")
    th, tw = _int(target_height, "target_height"), _int(target_width, "target_width")
    height, width = _shape(x)[-3:-1]
    for ok, message in ((ow >= 0, "offset_width must be >= 0."), (oh >= 0, "offset_height must be >= 0."),
                        (tw > 0, "target_width must be > 0."), (th > 0, "target_height must be > 0."),
                        (width >= tw + ow, "width must be >= target + offset."),
                        (height >= th + oh, "height must be >= target + offset.")):
        if not ok:
            raise ValueError(message)
    return x[..., oh:oh + th, ow:ow + tw, :]


def pad_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    """The image(s) placed at ``(offset_height, offset_width)`` in zeros of
    ``target_height x target_width``.

    >>> import rstf as tf
    >>> tf.image.pad_to_bounding_box(tf.ones([1, 2, 1]), 1, 0, 3, 3)[..., 0]
    <rstf.Tensor: shape=(3, 3), dtype=float32, numpy=
    array([[0., 0., 0.],
           [1., 1., 0.],
           [0., 0., 0.]], dtype=float32)>
    """
    x = _image(image, least3=False)
    oh, ow = _int(offset_height, "offset_height"), _int(offset_width, "offset_width")
    th, tw = _int(target_height, "target_height"), _int(target_width, "target_width")
    height, width = _shape(x)[-3:-1]
    after_h, after_w = th - oh - height, tw - ow - width
    for ok, message in ((oh >= 0, "offset_height must be >= 0"), (ow >= 0, "offset_width must be >= 0"),
                        (after_w >= 0, "width must be <= target - offset"),
                        (after_h >= 0, "height must be <= target - offset")):
        if not ok:
            raise ValueError(message)
    pads = [[oh, after_h], [ow, after_w], [0, 0]]
    return _o.pad(x, pads if len(x.shape) == 3 else [[0, 0], *pads])


def central_crop(image, central_fraction):
    """The central ``central_fraction`` (in ``(0, 1]``) of the height and width, with
    TensorFlow's rounding.

    >>> import rstf as tf
    >>> tf.image.central_crop(tf.zeros([7, 9, 1]), 0.5).shape
    TensorShape([5, 5, 1])
    """
    x = _o.convert_to_tensor(image)
    fraction = float(central_fraction)
    if fraction <= 0.0 or fraction > 1.0:
        raise ValueError("central_fraction must be within (0, 1]")
    if fraction == 1.0:
        return x
    shape = _shape(x)
    if len(shape) < 3:
        raise ValueError(f"'image' (shape {shape}) must be at least three-dimensional.")
    if len(shape) > 4:
        raise ValueError("`image` should either be a Tensor with rank = 3 or rank = 4. "
                         f"Had rank = {len(shape)}.")
    height, width = shape[-3:-1]
    top, left = int((height - height * fraction) / 2), int((width - width * fraction) / 2)
    return x[..., top:height - top, left:width - left, :]


# -- values -------------------------------------------------------------------------------------

def _saturate_cast(x, dtype):
    """``x`` cast to ``dtype``, first clamped to its range (as ``tf.dtypes.saturate_cast``)."""
    dtype = as_dtype(dtype)
    if dtype.is_integer and x.dtype != dtype:
        lo, hi = dtype.min, dtype.max
        if x.dtype.is_floating:
            # The largest value of x's type that the cast keeps in range.
            np_t = np.dtype(x.dtype.as_numpy_dtype)
            hi_f, lo_f = np_t.type(hi), np_t.type(lo)
            hi = hi_f if hi_f <= hi else np.nextafter(hi_f, np_t.type(0))
            lo = lo_f if lo_f >= lo else np.nextafter(lo_f, np_t.type(0))
            x = _o.clip_by_value(x, float(lo), float(hi))
        elif x.dtype.min < lo or x.dtype.max > hi:
            x = _o.clip_by_value(x, max(lo, x.dtype.min), min(hi, x.dtype.max))
    return _o.cast(x, dtype)


def convert_image_dtype(image, dtype, saturate=False, name=None):
    """Converts between image dtypes, rescaling: floats span ``[0, 1]``, integers ``[0, max]``
    (as TensorFlow: float to integer multiplies by ``max + 0.5`` and truncates; with
    ``saturate`` out-of-range values are clamped instead of wrapped).

    >>> import rstf as tf
    >>> tf.image.convert_image_dtype(tf.constant([0, 128, 255], tf.uint8), tf.float32)
    <rstf.Tensor: shape=(3,), dtype=float32, numpy=array([0.       , 0.5019608, 1.       ], dtype=float32)>
    """
    x = _o.convert_to_tensor(image)
    dtype = as_dtype(dtype)
    if not (dtype.is_floating or dtype.is_integer):
        raise AttributeError("dtype must be either floating point or integer")
    if not (x.dtype.is_floating or x.dtype.is_integer):
        raise AttributeError("image dtype must be either floating point or integer")
    if dtype == x.dtype:
        return _o.identity(x)
    if x.dtype.is_integer and dtype.is_integer:
        scale_in, scale_out = x.dtype.max, dtype.max
        if scale_in > scale_out:
            scaled = _o.floordiv(x, (scale_in + 1) // (scale_out + 1))
            return _saturate_cast(scaled, dtype) if saturate else _o.cast(scaled, dtype)
        cast = _saturate_cast(x, dtype) if saturate else _o.cast(x, dtype)
        return cast * ((scale_out + 1) // (scale_in + 1))
    if x.dtype.is_floating and dtype.is_floating:
        return _o.cast(x, dtype)
    if x.dtype.is_integer:
        return _o.cast(x, dtype) * (1.0 / x.dtype.max)
    scaled = x * (dtype.max + 0.5)
    return _saturate_cast(scaled, dtype) if saturate else _o.cast(scaled, dtype)


def adjust_brightness(image, delta):
    """Adds ``delta`` to every value (integer images through float32 and back, saturating).

    >>> import rstf as tf
    >>> tf.image.adjust_brightness(tf.constant([[[0.25]]]), 0.5)
    <rstf.Tensor: shape=(1, 1, 1), dtype=float32, numpy=array([[[0.75]]], dtype=float32)>
    """
    x = _o.convert_to_tensor(image)
    orig = x.dtype
    flt = x if orig.is_floating else convert_image_dtype(x, "float32")
    adjusted = flt + _o.cast(delta, flt.dtype)
    return convert_image_dtype(adjusted, orig, saturate=True)


@custom_gradient
def _adjust_contrast_v2(x, factor):
    mean = _o.reduce_mean(x, axis=[-3, -2], keepdims=True)

    def grad(dy):
        raise LookupError("gradient registry has no entry for: AdjustContrastv2")
    return (x - mean) * factor + mean, grad


def adjust_contrast(images, contrast_factor):
    """``(x - mean) * contrast_factor + mean`` per image and channel, the mean over height and
    width (computed in float32; integer images saturate). As in TensorFlow it has no gradient:
    differentiating through it raises LookupError.

    >>> import rstf as tf
    >>> tf.image.adjust_contrast(tf.constant([[[1.0], [3.0]]]), 2.0)[..., 0]
    <rstf.Tensor: shape=(1, 2), dtype=float32, numpy=array([[0., 4.]], dtype=float32)>
    """
    x = _o.convert_to_tensor(images)
    if len(x.shape) < 3:
        raise InvalidArgumentError(f"input must be at least 3-D, got shape{list(_shape(x))}")
    orig = x.dtype
    flt = x if orig.name == "float32" else convert_image_dtype(x, "float32")
    adjusted = _adjust_contrast_v2(flt, _o.cast(contrast_factor, "float32"))
    return convert_image_dtype(adjusted, orig, saturate=True)


def per_image_standardization(image):
    """Each image scaled to zero mean and unit variance: ``(x - mean) / max(stddev,
    1 / sqrt(pixels))`` over its last three axes, as float32.

    >>> import rstf as tf
    >>> tf.image.per_image_standardization(tf.constant([[[1.0], [3.0]]]))[..., 0]
    <rstf.Tensor: shape=(1, 2), dtype=float32, numpy=array([[-1.,  1.]], dtype=float32)>
    """
    x = _image(image, at_most4=False)
    x = _o.cast(x, "float32")
    pixels = int(np.prod(_shape(x)[-3:]))
    axes = [-1, -2, -3]
    mean = _o.reduce_mean(x, axis=axes, keepdims=True)
    stddev = _o.sqrt(_o.reduce_mean(_o.square(x - mean), axis=axes, keepdims=True))
    adjusted = _o.maximum(stddev, _o.rsqrt(_o.constant(float(pixels), "float32")))
    return (x - mean) / adjusted


def rgb_to_grayscale(images, name=None):
    """RGB images (last axis of 3) to one channel, weighted ``[0.2989, 0.5870, 0.1140]``.

    >>> import rstf as tf
    >>> tf.image.rgb_to_grayscale(tf.constant([[[255, 0, 0]]], tf.uint8))
    <rstf.Tensor: shape=(1, 1, 1), dtype=uint8, numpy=array([[[76]]], dtype=uint8)>
    """
    x = _o.convert_to_tensor(images)
    shape = _shape(x)
    if not shape or shape[-1] != 3:
        raise InvalidArgumentError(f"rgb_to_grayscale: the last dimension must hold 3 channels (RGB), "
                                   f"got shape {shape}")
    flt = convert_image_dtype(x, "float32")
    weights = _o.constant([0.2989, 0.5870, 0.1140], "float32")
    gray = _o.reduce_sum(flt * weights, axis=-1, keepdims=True)
    return convert_image_dtype(gray, x.dtype)


def grayscale_to_rgb(images, name=None):
    """One-channel images (last axis of 1) repeated into 3 channels.

    >>> import rstf as tf
    >>> tf.image.grayscale_to_rgb(tf.zeros([2, 2, 1])).shape
    TensorShape([2, 2, 3])
    """
    x = _o.convert_to_tensor(images)
    shape = _shape(x)
    if len(shape) < 2:
        raise ValueError(f"A grayscale image (shape {shape}) must be at least two-dimensional.")
    if shape[-1] != 1:
        raise ValueError("Last dimension of a grayscale image should be size 1.")
    return _o.tile(x, [1] * (len(shape) - 1) + [3])


# -- resizing -----------------------------------------------------------------------------------

class ResizeMethod:
    """The names of the resize methods (rstf computes ``BILINEAR`` and ``NEAREST_NEIGHBOR``)."""

    BILINEAR = "bilinear"
    NEAREST_NEIGHBOR = "nearest"
    BICUBIC = "bicubic"
    AREA = "area"
    LANCZOS3 = "lanczos3"
    LANCZOS5 = "lanczos5"
    GAUSSIAN = "gaussian"
    MITCHELLCUBIC = "mitchellcubic"


_METHODS = {v for k, v in vars(ResizeMethod).items() if k.isupper()}


def _bilinear_table(n_in, n_out):
    """TensorFlow's half-pixel source rows of each output row: lower, upper and the weight of
    the upper, computed in float32 as its kernel does."""
    f = np.float32
    scale = f(n_in) / f(n_out)
    src = (np.arange(n_out, dtype=f) + f(0.5)) * scale - f(0.5)
    floor = np.floor(src)
    lower = np.maximum(floor, 0).astype(np.int64)
    upper = np.minimum(np.ceil(src), n_in - 1).astype(np.int64)
    return lower, upper, (src - floor).astype(f)


def _nearest_table(n_in, n_out):
    f = np.float32
    scale = f(n_in) / f(n_out)
    src = np.floor((np.arange(n_out, dtype=f) + f(0.5)) * scale).astype(np.int64)
    return np.clip(src, 0, n_in - 1)


def _size(size):
    values = np.asarray(size.numpy() if hasattr(size, "numpy") else size)
    if values.shape != (2,):
        raise ValueError("'size' must be a 1-D Tensor of 2 elements: new_height, new_width")
    if values.dtype.kind not in "iu":
        raise ValueError("'size' must be a 1-D int32 Tensor")
    return int(values[0]), int(values[1])


def resize(images, size, method=ResizeMethod.BILINEAR, preserve_aspect_ratio=False, antialias=False,
           name=None):
    """Resizes ``[height, width, channels]`` images or ``[batch, height, width, channels]``
    batches to ``size = [new_height, new_width]`` as TensorFlow 2's ``tf.image.resize`` (half-pixel
    centers): ``'bilinear'`` gives float32, ``'nearest'`` keeps the dtype. With
    ``preserve_aspect_ratio`` the image is scaled to fit inside ``size``.

    >>> import rstf as tf
    >>> tf.image.resize(tf.reshape(tf.range(4.0), [2, 2, 1]), [3, 3])[..., 0]
    <rstf.Tensor: shape=(3, 3), dtype=float32, numpy=
    array([[0. , 0.5, 1. ],
           [1. , 1.5, 2. ],
           [2. , 2.5, 3. ]], dtype=float32)>
    """
    x = _o.convert_to_tensor(images)
    rank = len(x.shape)
    if rank not in (3, 4):
        raise ValueError("'images' must have either 3 or 4 dimensions.")
    method = str(method).lower()
    if method not in _METHODS:
        raise ValueError(f"Resize method is not implemented: {method}")
    if method not in (ResizeMethod.BILINEAR, ResizeMethod.NEAREST_NEIGHBOR):
        raise UnimplementedError(f"resize: method {method!r} is not implemented in rstf; use 'bilinear' "
                                 "or 'nearest'")
    if antialias:
        raise UnimplementedError("resize: antialias=True is not implemented in rstf")
    out_h, out_w = _size(size)
    batch = x if rank == 4 else _o.expand_dims(x, 0)
    in_h, in_w = _shape(batch)[1:3]
    if preserve_aspect_ratio:
        f = np.float32
        factor = min(f(out_h) / f(in_h), f(out_w) / f(in_w))
        out_h, out_w = int(np.round(factor * f(in_h))), int(np.round(factor * f(in_w)))
    if out_h <= 0 or out_w <= 0:
        raise InvalidArgumentError("output dimensions must be positive")
    if method == ResizeMethod.NEAREST_NEIGHBOR:
        rows = _o.gather(batch, _nearest_table(in_h, out_h), axis=1)
        out = _o.gather(rows, _nearest_table(in_w, out_w), axis=2)
    else:
        batch = _o.cast(batch, "float32")
        y_lo, y_hi, y_lerp = _bilinear_table(in_h, out_h)
        x_lo, x_hi, x_lerp = _bilinear_table(in_w, out_w)
        y_lerp = _o.constant(y_lerp.reshape(1, -1, 1, 1))
        x_lerp = _o.constant(x_lerp.reshape(1, 1, -1, 1))
        rows_lo, rows_hi = _o.gather(batch, y_lo, axis=1), _o.gather(batch, y_hi, axis=1)
        top_left, top_right = _o.gather(rows_lo, x_lo, axis=2), _o.gather(rows_lo, x_hi, axis=2)
        bottom_left, bottom_right = _o.gather(rows_hi, x_lo, axis=2), _o.gather(rows_hi, x_hi, axis=2)
        top = top_left + (top_right - top_left) * x_lerp
        bottom = bottom_left + (bottom_right - bottom_left) * x_lerp
        out = top + (bottom - top) * y_lerp
    return out if rank == 4 else out[0]
