"""Neural-network functions (``rstf.nn``).

>>> import rstf as tf
>>> tf.nn.relu(tf.constant([-1.0, 2.0])).numpy()
array([0., 2.], dtype=float32)
"""

from . import _rstf
from ._args import _tensor_like, attr_error, py_axis
from ._ops import relu, sigmoid, tanh

__all__ = ["relu", "relu6", "leaky_relu", "elu", "gelu", "softplus", "sigmoid", "tanh",
           "softmax", "log_softmax", "conv2d", "max_pool2d", "avg_pool2d", "max_pool", "avg_pool"]


def relu6(features, name=None):
    """``min(max(features, 0), 6)``."""
    return _rstf.activation(features, "relu6")


def leaky_relu(features, alpha=0.2, name=None):
    """``features`` where positive, else ``alpha * features``."""
    return _rstf.activation(features, "leaky_relu", float(alpha))


def elu(features, name=None):
    """``features`` where positive, else ``exp(features) - 1``."""
    return _rstf.activation(features, "elu")


def gelu(features, approximate=False, name=None):
    """Gaussian error linear unit (exact, or the tanh approximation)."""
    return _rstf.activation(features, "gelu_tanh" if approximate else "gelu")


def softplus(features, name=None):
    """``log(1 + exp(features))``, stable for large inputs."""
    return _rstf.activation(features, "softplus")


def softmax(logits, axis=None, name=None):
    """Softmax along ``axis`` (last by default), stable for large logits."""
    return _rstf.softmax(logits, -1 if axis is None else py_axis(axis, "Softmax"), False)


def log_softmax(logits, axis=None, name=None):
    """Log-softmax along ``axis`` (last by default), stable for large logits."""
    return _rstf.softmax(logits, -1 if axis is None else py_axis(axis, "LogSoftmax"), True)


def _pair(value, what, n_dims=2):
    """TensorFlow's forms of a 2-D size: an int, 2 values, or 4 values with 1s for N and C."""
    if isinstance(value, int):
        return [value, value]
    v = [int(x) for x in value]
    if len(v) == 1:
        return v * 2
    if len(v) == 2:
        return v
    if len(v) == 4 and v[0] == 1 and v[3] == 1:
        return v[1:3]
    raise ValueError(f"{what}: expected an int, 2 values or [1, h, w, 1], got {value!r}")


def _same(padding, what):
    """True for SAME, False for VALID; anything else raises TensorFlow's exception class."""
    if isinstance(padding, (list, tuple)):
        from .errors import UnimplementedError

        raise UnimplementedError(f"{what}: explicit padding is not supported yet; use tf.pad and 'VALID'")
    if not isinstance(padding, str):
        raise TypeError(f"{what}: expected string for argument 'padding' not {padding!r}")
    if padding.upper() not in ("SAME", "VALID"):
        from .errors import InvalidArgumentError

        raise InvalidArgumentError(f"{what}: value for attr 'padding' of {padding!r} is not in the list of "
                                   "allowed values: 'SAME', 'VALID'")
    return padding.upper() == "SAME"


def _nhwc(data_format, what):
    if data_format not in (None, "NHWC", "channels_last"):
        from .errors import UnimplementedError

        raise UnimplementedError(f"{what}: only the NHWC data format is supported, got {data_format!r}")


def conv2d(input, filters, strides, padding, data_format="NHWC", dilations=None, name=None):  # noqa: A002
    """2-D convolution of an ``[N, H, W, C]`` batch with a ``[KH, KW, C, O]`` filter.

    >>> import rstf as tf
    >>> x = tf.reshape(tf.range(16, dtype=tf.float32), [1, 4, 4, 1])
    >>> tf.nn.conv2d(x, tf.ones([2, 2, 1, 1]), strides=2, padding="VALID")[0, :, :, 0].numpy()
    array([[10., 18.],
           [42., 50.]], dtype=float32)
    """
    _nhwc(data_format, "conv2d")
    return _rstf.conv2d(input, filters, _pair(strides, "conv2d"), _pair(dilations or 1, "conv2d"),
                        _same(padding, "conv2d"))


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """The maximum of each window of an ``[N, H, W, C]`` batch."""
    _nhwc(data_format, "max_pool2d")
    return _rstf.pool2d(input, _pair(ksize, "max_pool2d"), _pair(strides, "max_pool2d"),
                        _same(padding, "max_pool2d"), True)


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """The mean of each window of an ``[N, H, W, C]`` batch (taps in the padding not counted)."""
    _nhwc(data_format, "avg_pool2d")
    if not _tensor_like(input):
        input = _rstf.convert_to_tensor(input, None)  # noqa: A001
    if not input.dtype.is_floating:
        raise attr_error("AvgPool", "T", input.dtype.name, "half, bfloat16, float, double")
    return _rstf.pool2d(input, _pair(ksize, "avg_pool2d"), _pair(strides, "avg_pool2d"),
                        _same(padding, "avg_pool2d"), False)


max_pool = max_pool2d
avg_pool = avg_pool2d
