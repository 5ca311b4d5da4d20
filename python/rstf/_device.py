"""Device placement: ``rstf.device(name)`` as a context manager.

Inside ``with rstf.device('/GPU:0'):`` new tensors and the ops run there are placed on the
GPU; ``'/CPU:0'`` places them in host memory. A GPU that does not exist falls back to the CPU
(TensorFlow's soft placement). Scopes nest and are per thread.

>>> import rstf as tf
>>> with tf.device('/CPU:0'):
...     x = tf.constant([1.0, 2.0])
>>> x.device
'/job:localhost/replica:0/task:0/device:CPU:0'
"""

from __future__ import annotations

import re

from . import _rstf

__all__ = ["device"]

_NAME = re.compile(
    r"^(?:/job:[^/]+)?(?:/replica:\d+)?(?:/task:\d+)?/?(?:device:)?([A-Za-z_]+)(?::(\d+))?$"
)


def _parse(name):
    """The device type ('CPU' or 'GPU', or None for no scope) of a TensorFlow device name."""
    if name is None or name == "":
        return None
    if not isinstance(name, str):
        raise TypeError(f"device: expected a device name string, got {type(name).__name__}")
    m = _NAME.match(name.strip())
    if not m or m.group(1).upper() not in ("CPU", "GPU"):
        raise ValueError(
            f"device: cannot parse device name '{name}'; expected a name such as '/GPU:0' or '/CPU:0'"
        )
    kind = m.group(1).upper()
    index = int(m.group(2) or 0)
    if kind == "GPU" and (index != 0 or _rstf.gpu_name() is None):
        return "CPU"
    return kind


class device:
    """Places new tensors and ops on the named device within a ``with`` block.

    >>> import rstf as tf
    >>> with tf.device('/device:CPU:0'):
    ...     y = tf.constant(3.0) * 2
    >>> float(y)
    6.0
    """

    def __init__(self, device_name):
        self._kind = _parse(device_name)
        self._previous = []

    def __enter__(self):
        self._previous.append(_rstf.set_device(self._kind))
        return self

    def __exit__(self, *exc):
        _rstf.set_device(self._previous.pop())
        return False
