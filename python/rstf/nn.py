"""Neural-network functions (``rstf.nn``).

>>> import rstf as tf
>>> tf.nn.relu(tf.constant([-1.0, 2.0])).numpy()
array([0., 2.], dtype=float32)
"""

import numpy as np

from . import _ops as _o
from . import _rstf
from ._args import _tensor_like, attr_error, py_axis, tf_name
from ._ops import relu, sigmoid, tanh
from .errors import InvalidArgumentError
from .linalg import _l2_loss, clip_by_norm, l2_normalize  # noqa: F401

__all__ = ["relu", "relu6", "leaky_relu", "elu", "gelu", "softplus", "sigmoid", "tanh",
           "softmax", "log_softmax", "conv2d", "max_pool2d", "avg_pool2d", "max_pool", "avg_pool",
           "selu", "silu", "swish", "bias_add", "embedding_lookup", "l2_loss", "l2_normalize",
           "moments", "batch_normalization", "sigmoid_cross_entropy_with_logits",
           "weighted_cross_entropy_with_logits", "softmax_cross_entropy_with_logits",
           "sparse_softmax_cross_entropy_with_logits"]


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


# ----------------------------------------------------------------------------- composites
# The functions below compose rstf's differentiable ops (their gradients, tracing and GPU
# kernels come from those), in the numerically stable forms TensorFlow uses.

def selu(features, name=None):
    """Scaled exponential linear unit: ``scale * x`` where positive, else
    ``scale * alpha * (exp(x) - 1)``.

    >>> import rstf as tf
    >>> tf.nn.selu([-1.0, 0.0, 1.0]).numpy()
    array([-1.1113307,  0.       ,  1.050701 ], dtype=float32)
    """
    x = _float(features, "Selu")
    neg = _o.less(x, _o.zeros_like(x))
    # exp of the negative part only: the unselected branch must not overflow (its gradient
    # would be 0 * inf).
    small = _o.exp(_o.minimum(x, _o.zeros_like(x))) - _o.ones_like(x)
    return _o.where(neg, small * _SELU_SCALE_ALPHA, x * _SELU_SCALE)


_SELU_SCALE = 1.0507009873554804934193349852946
_SELU_SCALE_ALPHA = 1.7580993408473768599402175208123


def silu(features, beta=1.0, name=None):
    """``features * sigmoid(beta * features)`` (also called swish).

    >>> import rstf as tf
    >>> tf.nn.silu([-1.0, 0.0, 1.0]).numpy()
    array([-0.26894143,  0.        ,  0.7310586 ], dtype=float32)
    """
    x = _float(features, "Sigmoid", "bfloat16, half, float, double, complex64, complex128")
    b = _o.cast(beta, x.dtype)
    return x * _o.sigmoid(b * x)


swish = silu


def bias_add(value, bias, data_format=None, name=None):
    """Adds a 1-D ``bias`` along the channel dimension: the last (``N...C``, the default) or
    the second (``NC...``).

    >>> import rstf as tf
    >>> tf.nn.bias_add(tf.zeros([2, 3]), [1.0, 2.0, 3.0]).numpy()
    array([[1., 2., 3.],
           [1., 2., 3.]], dtype=float32)
    """
    channels_first = False
    if data_format is not None:
        if data_format.startswith("NC"):
            channels_first = True
        elif not (data_format.startswith("N") and data_format.endswith("C")):
            raise ValueError("`data_format` must be of the form `N...C` or `NC...`. Received: "
                             f"data_format={data_format}")
    v = _o.convert_to_tensor(value)
    b = bias if _tensor_like(bias) else _o.convert_to_tensor(bias, dtype=v.dtype)
    dims = "[" + ",".join(map(str, v.shape)) + "]"
    if v.ndim < 2:
        raise InvalidArgumentError(f"BiasAdd: Input tensor must be at least 2D: {dims}")
    if b.ndim != 1:
        raise InvalidArgumentError("BiasAdd: Biases must be 1D: [" + ",".join(map(str, b.shape)) + "]")
    axis = 1 if channels_first else v.ndim - 1
    if b.shape[0] != v.shape[axis]:
        where = "channel" if channels_first else "last"
        raise InvalidArgumentError(f"BiasAdd: Must provide as many biases as the {where} dimension of the "
                                   f"input tensor: [{b.shape[0]}] vs. {dims}")
    if axis != v.ndim - 1:
        b = _o.reshape(b, [-1] + [1] * (v.ndim - 2))
    return v + b


def embedding_lookup(params, ids, max_norm=None, name=None):
    """The rows of ``params`` at ``ids`` (a list of tensors is one table split into
    consecutive parts); with ``max_norm``, each looked-up embedding is clipped to that L2 norm.

    >>> import rstf as tf
    >>> table = tf.constant([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    >>> tf.nn.embedding_lookup(table, [[2, 0]]).numpy()
    array([[[4., 5.],
            [0., 1.]]], dtype=float32)
    """
    if isinstance(params, (list, tuple)):
        if not params:
            raise ValueError("Length of params is currently 0. Need at least one param.")
        table = params[0] if len(params) == 1 else _o.concat(list(params), 0)
    else:
        table = params
    ids = _o.convert_to_tensor(ids)
    r = _o.gather(table, ids)
    if max_norm is not None:
        r = clip_by_norm(r, max_norm, axes=list(range(ids.ndim, r.ndim)))
    return r


def l2_loss(t, name=None):
    """``sum(t ** 2) / 2``.

    >>> import rstf as tf
    >>> float(tf.nn.l2_loss([1.0, 2.0]))
    2.5
    """
    return _l2_loss(t)


def moments(x, axes, shift=None, keepdims=False, name=None):
    """``(mean, variance)`` over ``axes`` (float16 is computed in float32); the mean is held
    constant in the variance's gradient, as TensorFlow's.

    >>> import rstf as tf
    >>> mean, variance = tf.nn.moments(tf.constant([[1.0, 2.0], [3.0, 5.0]]), axes=[0])
    >>> mean.numpy(), variance.numpy()
    (array([2. , 3.5], dtype=float32), array([1.  , 2.25], dtype=float32))
    """
    x = _o.convert_to_tensor(x)
    y = _o.cast(x, "float32") if x.dtype.name == "float16" else x
    mean = _o.reduce_mean(y, axes, keepdims=True)
    variance = _o.reduce_mean(_o.squared_difference(y, _rstf.stop_gradient(mean)), axes, keepdims=True)
    if not keepdims:
        mean = _o.squeeze(mean, axes)
        variance = _o.squeeze(variance, axes)
    if x.dtype.name == "float16":
        return _o.cast(mean, "float16"), _o.cast(variance, "float16")
    return mean, variance


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """``(x - mean) * scale / sqrt(variance + variance_epsilon) + offset`` (no offset or scale
    where None).

    >>> import rstf as tf
    >>> tf.nn.batch_normalization(tf.constant([1.0, 3.0]), 1.0, 4.0, None, None, 0.0).numpy()
    array([0., 1.], dtype=float32)
    """
    x = _o.convert_to_tensor(x)
    inv = _o.rsqrt(variance + variance_epsilon)
    if scale is not None:
        inv = inv * scale
    shift = offset - mean * inv if offset is not None else -mean * inv
    return x * _o.cast(inv, x.dtype) + _o.cast(shift, x.dtype)


def _float(x, op, allowed="half, bfloat16, float, double"):
    if not _tensor_like(x):
        x = _rstf.convert_to_tensor(x, None)
    if not x.dtype.is_floating:
        raise attr_error(op, "T", x.dtype.name, allowed)
    return x


def _labels_like(labels, logits, what="labels"):
    """Labels with the logits' dtype and shape, as the sigmoid losses require them."""
    y = labels if _tensor_like(labels) else _o.convert_to_tensor(labels, dtype=logits.dtype)
    if list(y.shape) != list(logits.shape):
        raise ValueError("`logits` and `labels` must have the same shape, received "
                         f"({logits.shape} vs {y.shape}).")
    if y.dtype != logits.dtype:
        raise InvalidArgumentError("cannot compute Mul as input #1(zero-based) was expected to be a "
                                   f"{tf_name(logits.dtype)} tensor but is a {tf_name(y.dtype)} tensor")
    return y


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """The binary cross-entropy of ``sigmoid(logits)`` against ``labels`` (same shape),
    ``max(x, 0) - x * z + log(1 + exp(-|x|))``, which never overflows.

    >>> import rstf as tf
    >>> tf.nn.sigmoid_cross_entropy_with_logits(labels=[1.0, 0.0], logits=[0.0, -2.0]).numpy()
    array([0.6931472, 0.126928 ], dtype=float32)
    """
    if labels is None or logits is None:
        raise ValueError("Both `labels` and `logits` must be provided for sigmoid_cross_entropy_with_logits"
                         f"Received: labels={labels} and logits={logits}")
    x = _o.convert_to_tensor(logits)
    z = _labels_like(labels, x)
    zeros = _o.zeros_like(x)
    cond = _o.greater_equal(x, zeros)
    relu_logits = _o.where(cond, x, zeros)
    neg_abs_logits = _o.where(cond, -x, x)
    return relu_logits - x * z + _o.log1p(_o.exp(neg_abs_logits))


def weighted_cross_entropy_with_logits(labels, logits, pos_weight, name=None):
    """:func:`sigmoid_cross_entropy_with_logits` with the positive term weighted by
    ``pos_weight``: ``(1 - z) * x + (1 + (pos_weight - 1) * z) * (log(1 + exp(-|x|)) + max(-x, 0))``.

    >>> import rstf as tf
    >>> tf.nn.weighted_cross_entropy_with_logits([1.0, 0.0], [0.0, 0.0], 3.0).numpy()
    array([2.0794415, 0.6931472], dtype=float32)
    """
    x = _o.convert_to_tensor(logits)
    z = _labels_like(labels, x)
    log_weight = 1 + (pos_weight - 1) * z
    return (1 - z) * x + log_weight * (_o.log1p(_o.exp(-_o.abs(x))) + _o.relu(-x))


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    """The cross-entropy of ``softmax(logits)`` against the distributions ``labels`` along
    ``axis`` (labels broadcast against logits and are cast to their dtype; both get
    gradients).

    >>> import rstf as tf
    >>> tf.nn.softmax_cross_entropy_with_logits([[0.0, 1.0]], [[1.0, 2.0]]).numpy()
    array([0.31326166], dtype=float32)
    """
    x = _float(logits, "SoftmaxCrossEntropyWithLogits")
    if x.ndim == 0:
        raise InvalidArgumentError("SoftmaxCrossEntropyWithLogits: logits must have at least one dimension, "
                                   "got a scalar")
    precise = _o.cast(x, "float32") if x.dtype.name in ("float16", "bfloat16") else x
    z = _o.cast(labels if _tensor_like(labels) else _o.convert_to_tensor(labels), precise.dtype)
    try:
        np.broadcast_shapes(tuple(x.shape), tuple(z.shape))
    except ValueError:
        raise InvalidArgumentError(
            "SoftmaxCrossEntropyWithLogits: logits and labels must be broadcastable: logits_size="
            f"[{','.join(map(str, x.shape))}] labels_size=[{','.join(map(str, z.shape))}]") from None
    ax = py_axis(axis, "SoftmaxCrossEntropyWithLogits")
    if not -x.ndim <= ax < x.ndim:
        raise InvalidArgumentError(f"SoftmaxCrossEntropyWithLogits: axis {axis} is out of range for logits "
                                   f"of rank {x.ndim}")
    loss = -_o.reduce_sum(z * log_softmax(precise, axis=ax), axis=ax)
    return _o.cast(loss, x.dtype) if precise is not x else loss


def sparse_softmax_cross_entropy_with_logits(labels, logits, name=None):
    """The cross-entropy of ``softmax(logits)`` against integer class ``labels`` (one per row
    of the last dimension): ``logsumexp(logits) - logits[label]``. Labels outside
    ``[0, classes)`` are an error (checked where the labels are known, as on TensorFlow's CPU).

    >>> import rstf as tf
    >>> tf.nn.sparse_softmax_cross_entropy_with_logits([1], [[1.0, 2.0]]).numpy()
    array([0.31326166], dtype=float32)
    """
    x = _o.convert_to_tensor(logits)
    y = _o.convert_to_tensor(labels)
    if x.ndim == 0:
        raise ValueError(f"`logits` cannot be a scalar. Received logits={x}`")
    if y.ndim != x.ndim - 1:
        raise ValueError("`labels.shape.rank` must equal `logits.shape.rank - 1`. Received: "
                         f"labels.shape={y.shape} of rank {y.ndim} and logits.shape={x.shape} of rank "
                         f"{x.ndim}")
    if list(y.shape) != list(x.shape[:-1]):
        raise ValueError("`labels.shape` must equal `logits.shape` except for the last dimension. Received: "
                         f"labels.shape={y.shape} and logits.shape={x.shape}")
    op = "SparseSoftmaxCrossEntropyWithLogits"
    if y.dtype.name not in ("int32", "int64"):
        raise attr_error(op, "Tlabels", y.dtype.name, "int32, int64")
    _float(x, op)
    classes = x.shape[-1]
    if classes == 0:
        raise InvalidArgumentError(f"{op}: Must have at least one class, but got logits shape "
                                   f"[{','.join(map(str, x.shape))}]")
    if not _rstf.is_symbolic(y):
        values = np.asarray(y.numpy()).reshape(-1)
        bad = values[(values < 0) | (values >= classes)]
        if bad.size:
            raise InvalidArgumentError(
                f"{op}: Received a label value of {bad[0]} which is outside the valid range of "
                f"[0, {classes}).  Label values: {' '.join(map(str, values))}")
    precise = _o.cast(x, "float32") if x.dtype.name in ("float16", "bfloat16") else x
    lsm = log_softmax(precise)
    hit = _o.equal(_o.expand_dims(y, -1), _o.range(classes, dtype=y.dtype))
    loss = -_o.reduce_sum(_o.where(hit, lsm, _o.zeros_like(lsm)), axis=-1)
    return _o.cast(loss, x.dtype) if precise is not x else loss
