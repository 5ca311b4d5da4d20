"""Python inside traced functions: ``tf.print``, ``tf.py_function``, ``tf.numpy_function`` and
``tf.init_scope``.

In a traced function, ``tf.print`` and the two function wrappers become graph nodes that call
back into Python on every run, in program order (a function that holds one cannot be saved in
a SavedModel). ``py_function`` and ``numpy_function`` also run once while tracing, on the
values being traced, to learn their results' shapes.

>>> import rstf as tf
>>> import sys
>>> @tf.function
... def f(x):
...     tf.print("x is", x, output_stream=sys.stdout)
...     return x + 1
>>> _ = f(tf.constant([1, 2]))
x is [1 2]
>>> _ = f(tf.constant([3, 4]))
x is [3 4]
"""

from __future__ import annotations

import contextlib
import functools
import sys

import numpy as np

from . import _ops, _rstf, nest
from ._rstf import Tensor
from ._variable import Variable
from .dtypes import as_dtype

# ----------------------------------------------------------------------------- tf.print


def _float_text(v: float, wide: bool) -> str:
    """TensorFlow's float text: the short form (6 or 15 digits) when it reads back exactly,
    else 9 or 17 digits."""
    short, long_ = ("%.15g", "%.17g") if wide else ("%.6g", "%.9g")
    s = short % v
    back = float(s) if wide else float(np.float32(s))
    return s if back == v or v != v else long_ % v


def _element_text(a: np.ndarray):
    if a.dtype == np.bool_:
        return lambda v: "1" if v else "0"
    if a.dtype.kind == "f":
        wide = a.dtype == np.float64
        return lambda v: _float_text(float(v), wide)
    return lambda v: str(v)


def _tensor_text(t: Tensor, summarize: int) -> str:
    """A tensor as ``tf.print`` writes it: ``[1 2 3]``, rows on lines, ``...`` past
    ``summarize`` elements at each end of a dimension (-1: all)."""
    a = t.numpy()
    text = _element_text(a)
    if a.ndim == 0:
        return text(a.item())

    def part(x, depth):
        n = x.shape[0]
        idx = list(range(n))
        cut = summarize >= 0 and n > 2 * summarize
        if cut:
            idx = idx[:summarize] + [None] + idx[n - summarize:]
        if x.ndim == 1:
            return "[" + " ".join("..." if i is None else text(x[i].item()) for i in idx) + "]"
        sep = "\n" * (x.ndim - 1) + " " * (depth + 1)
        return "[" + sep.join("..." if i is None else part(x[i], depth + 1) for i in idx) + "]"

    return part(a, 0)


def _value_text(v, summarize: int, top: bool) -> str:
    if isinstance(v, Tensor):
        return _tensor_text(v, summarize)
    if isinstance(v, (list, tuple)):
        inner = ", ".join(_value_text(x, summarize, False) for x in v)
        return f"[{inner}]" if isinstance(v, list) else f"({inner}{',' if len(v) == 1 else ''})"
    if isinstance(v, dict):
        inner = ", ".join(f"{k!r}: {_value_text(x, summarize, False)}" for k, x in v.items())
        return "{" + inner + "}"
    return str(v) if top else repr(v)


def _write(stream, text: str) -> None:
    if stream is None:
        stream = sys.stderr
    if isinstance(stream, str) and stream.startswith("file://"):
        with open(stream[len("file://"):], "a") as f:
            f.write(text)
        return
    if callable(getattr(stream, "write", None)):
        stream.write(text)
        return
    if callable(stream):  # a logging function, as tf.compat.v1.logging.info
        stream(text.rstrip("\n"))
        return
    raise ValueError(f"print: unsupported output_stream {stream!r}; use sys.stdout, sys.stderr, "
                     "a file:// path or a logging function")


def print(*inputs, output_stream=None, summarize=3, sep=" ", end="\n", name=None):  # noqa: A001
    """Prints ``inputs`` (tensors, Python values and nested lists, tuples and dicts of them)
    as TensorFlow does: tensors as ``[1 2 3]``, at most ``summarize`` elements at each end of a
    dimension (-1 for all). Inside a traced function, it prints on every run, not when tracing.
    ``output_stream`` is ``sys.stderr`` (the default), ``sys.stdout``, a ``file://`` path or a
    logging function.

    >>> import rstf as tf
    >>> import sys
    >>> tf.print("loss:", tf.constant(0.25), tf.range(10), output_stream=sys.stdout)
    loss: 0.25 [0 1 2 ... 7 8 9]
    """
    if summarize is None:
        summarize = 3
    summarize = int(summarize)
    # Variables print their value at that point of the program.
    flat = [v.read_value() if isinstance(v, Variable) else v for v in nest.flatten(list(inputs))]
    slots = [i for i, v in enumerate(flat) if isinstance(v, Tensor)]

    def emit(*tensors):
        values = list(flat)
        for i, t in zip(slots, tensors):
            values[i] = t
        structure = nest.pack_sequence_as(list(inputs), values)
        _write(output_stream, sep.join(_value_text(v, summarize, True) for v in structure) + end)
        return []

    if _rstf.is_tracing():
        _rstf.trace_callback("PrintV2", emit, [flat[i] for i in slots], [])
        return None
    emit(*[flat[i] for i in slots])
    return None


# ----------------------------------------------------------------------------- py_function


def _as_list(tout):
    return (list(tout), True) if isinstance(tout, (list, tuple)) else ([tout], False)


def _results(out, touts, many: bool, op: str, numpy: bool):
    """``out`` (what the function returned) as tensors of the declared dtypes."""
    if not touts or touts == [None]:
        return []
    values = list(out) if many else [out]
    if len(values) != len(touts):
        from .errors import InvalidArgumentError

        raise InvalidArgumentError(
            f"{op}: the function returned {len(values)} values, but Tout declares {len(touts)}")
    res = []
    for v, dt in zip(values, touts):
        dt = as_dtype(dt)
        if numpy:
            v = np.asarray(v)
            if v.dtype != np.dtype(dt.as_numpy_dtype):
                from .errors import InvalidArgumentError

                raise InvalidArgumentError(
                    f"{op}: the function returned a {v.dtype} array where Tout declares {dt.name}")
        t = _ops.convert_to_tensor(v, dtype=dt)
        res.append(t)
    return res


def _call(func, inp, tout, op: str, numpy: bool):
    touts, many = _as_list(tout)
    inputs = [_ops.convert_to_tensor(x) for x in (inp or [])]

    def run(*tensors):
        args = [t.numpy() for t in tensors] if numpy else list(tensors)
        return _results(func(*args), touts, many, op, numpy)

    if _rstf.is_tracing():
        depth = _rstf.trace_suspend()
        try:
            outs = run(*inputs)
        finally:
            _rstf.trace_resume(depth)
        outs = _rstf.trace_callback(op, run, inputs, outs)
    else:
        outs = run(*inputs)
    if not touts or touts == [None]:
        return None
    return outs if many else outs[0]


def _wrapper(func, inp, Tout, op, numpy):
    if func is None:  # used as a decorator: @tf.py_function(Tout=...)
        return lambda f: _wrapper(f, inp, Tout, op, numpy)
    if inp is None:
        @functools.wraps(func)
        def decorated(*args):
            return _call(func, args, Tout, op, numpy)

        return decorated
    return _call(func, inp, Tout, op, numpy)


def py_function(func=None, inp=None, Tout=None, name=None):  # noqa: N803
    """Calls the Python function ``func`` on the tensors ``inp`` and returns its results as
    tensors of the dtypes ``Tout`` (one dtype: one tensor; a list: a list). Inside a traced
    function it runs on every call of the graph; ``func`` gets eager tensors, so it may use
    ``.numpy()``. With ``inp`` left out it is a decorator (``@tf.py_function(Tout=...)``).
    Gradients flow through the ops ``func`` runs while a tape records them.

    >>> import rstf as tf
    >>> def add(x, y):
    ...     return x.numpy() + y.numpy()
    >>> tf.py_function(add, [tf.constant(1.0), tf.constant(2.0)], Tout=tf.float32)
    <rstf.Tensor: shape=(), dtype=float32, numpy=3.0>
    """
    return _wrapper(func, inp, Tout, "EagerPyFunc", False)


def numpy_function(func=None, inp=None, Tout=None, stateful=True, name=None):  # noqa: N803
    """Like :func:`py_function`, but ``func`` gets numpy arrays and returns arrays of the
    dtypes ``Tout`` exactly; no gradient.

    >>> import rstf as tf
    >>> import numpy as np
    >>> tf.numpy_function(np.cumsum, [tf.constant([1, 2, 3])], Tout=tf.int64)
    <rstf.Tensor: shape=(3,), dtype=int64, numpy=array([1, 3, 6])>
    """
    def no_gradient(*arrays):
        return func(*arrays)

    if func is None:
        return lambda f: numpy_function(f, inp, Tout, stateful, name)
    return _wrapper(no_gradient, inp, Tout, "PyFunc", True)


@contextlib.contextmanager
def init_scope():
    """Code inside runs eagerly even while a function is being traced, once, at trace time
    (creating or initialising state), and no tape records it.

    >>> import rstf as tf
    >>> v = tf.Variable(0)
    >>> @tf.function
    ... def f():
    ...     with tf.init_scope():
    ...         v.assign_add(1)
    ...     return v.read_value()
    >>> [int(f()) for _ in range(3)]
    [1, 1, 1]
    """
    depth = _rstf.trace_suspend()
    _rstf.pause_recording()
    try:
        yield
    finally:
        _rstf.resume_recording()
        _rstf.trace_resume(depth)
