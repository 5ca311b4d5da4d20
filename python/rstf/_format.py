"""``str`` and ``repr`` of tensors, in TensorFlow's layout with numpy's formatting."""

from __future__ import annotations

import numpy as np


def _numpy_text(value: np.ndarray, is_repr: bool) -> str:
    if value.ndim == 0:
        with np.printoptions(legacy="1.25"):
            text = repr(value[()]) if is_repr else str(value[()])
    else:
        text = repr(value) if is_repr else str(value)
    if "\n" in text:
        text = "\n" + text
    return text


def tensor_text(t, is_repr: bool) -> str:
    """The text of a tensor: ``tf.Tensor(...)`` for str, ``<rstf.Tensor: ...>`` for repr."""
    from . import _rstf

    if _rstf.is_symbolic(t):
        return f"<rstf.Tensor (traced) shape={t.shape} dtype={t.dtype.name}>"
    value = np.asarray(t)
    shape = str(t.shape)
    if is_repr:
        return f"<rstf.Tensor: shape={shape}, dtype={t.dtype.name}, numpy={_numpy_text(value, True)}>"
    return f"rstf.Tensor({_numpy_text(value, False)}, shape={shape}, dtype={t.dtype.name})"


def tensor_format(t, format_spec: str) -> str:
    """``format(t, spec)``: as TensorFlow's eager tensors, the numpy value's ``__format__``
    (``'{:.2f}'.format(scalar)`` works; ``'{}'`` gives ``str(t.numpy())``)."""
    from . import _rstf

    if _rstf.is_symbolic(t):
        return object.__format__(t, format_spec)
    return np.asarray(t).__format__(format_spec)
