"""Neural-network functions (``rstf.nn``).

>>> import rstf as tf
>>> tf.nn.relu(tf.constant([-1.0, 2.0])).numpy()
array([0., 2.], dtype=float32)
"""

from . import _rstf
from ._ops import relu, sigmoid, tanh

__all__ = ["relu", "relu6", "leaky_relu", "elu", "gelu", "softplus", "sigmoid", "tanh",
           "softmax", "log_softmax"]


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
    return _rstf.softmax(logits, -1 if axis is None else int(axis), False)


def log_softmax(logits, axis=None, name=None):
    """Log-softmax along ``axis`` (last by default), stable for large logits."""
    return _rstf.softmax(logits, -1 if axis is None else int(axis), True)
