"""``rstf.GradientTape`` and friends over the Rust tape.

>>> import rstf as tf
>>> x = tf.Variable(3.0)
>>> with tf.GradientTape() as tape:
...     y = x * x
>>> tape.gradient(y, x)
<rstf.Tensor: shape=(), dtype=float32, numpy=6.0>
"""

from __future__ import annotations

import contextlib
import enum
import functools
import inspect

from . import _ops as _o
from . import _rstf, nest
from ._rstf import Tensor
from ._variable import Variable, _lookup


class UnconnectedGradients(enum.Enum):
    """What ``gradient`` returns for a source that does not reach the target."""

    NONE = "none"
    ZERO = "zero"


def _fill_unconnected(grads, sources, unconnected):
    if UnconnectedGradients(unconnected) is UnconnectedGradients.ZERO:
        return [_o.zeros_like(s) if g is None else g for g, s in zip(grads, sources)]
    return grads


class GradientTape:
    """Records operations for automatic differentiation (TensorFlow's ``tf.GradientTape``)."""

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._tape = _rstf.Tape(persistent, watch_accessed_variables)
        self._persistent = persistent

    def __enter__(self):
        self._tape.push()
        return self

    def __exit__(self, *exc):
        self._tape.pop()
        return False

    def watch(self, tensor):
        """Makes the tape track ``tensor`` (a tensor, a variable, or a nest of them)."""
        for t in nest.flatten(tensor):
            self._tape.watch(t)

    def watched_variables(self):
        """The variables the tape has watched, in order."""
        return tuple(v for v in (_lookup(i) for i in self._tape.watched_variable_ids()) if v is not None)

    @contextlib.contextmanager
    def stop_recording(self):
        """A context in which the tape records nothing."""
        was = self._tape.set_recording(False)
        try:
            yield
        finally:
            self._tape.set_recording(was)

    def reset(self):
        """Forgets everything recorded."""
        self._tape.reset()

    def gradient(self, target, sources, output_gradients=None,
                 unconnected_gradients=UnconnectedGradients.NONE):
        """Gradients of ``target`` (its sum, for non-scalars) with respect to ``sources``."""
        flat_sources = nest.flatten(sources)
        flat_targets = nest.flatten(target)
        og = None
        if output_gradients is not None:
            og = nest.flatten(output_gradients)
            if len(og) != len(flat_targets):
                raise ValueError(
                    f"gradient: {len(og)} output_gradients for {len(flat_targets)} targets")
        grads = self._tape.gradient(flat_targets, flat_sources, og)
        grads = _fill_unconnected(grads, flat_sources, unconnected_gradients)
        return nest.pack_sequence_as(sources, grads)

    def jacobian(self, target, sources, unconnected_gradients=UnconnectedGradients.NONE,
                 parallel_iterations=None, experimental_use_pfor=True):
        """d target[i...] / d source[j...] for each source: shape ``target.shape + source.shape``."""
        flat_sources = nest.flatten(sources)
        js = self._tape.jacobian(target, flat_sources, False)
        if UnconnectedGradients(unconnected_gradients) is UnconnectedGradients.ZERO:
            t = _o.convert_to_tensor(target)
            js = [_o.zeros(list(t.shape) + list(s.shape), dtype=t.dtype) if j is None else j
                  for j, s in zip(js, flat_sources)]
        return nest.pack_sequence_as(sources, js)

    def batch_jacobian(self, target, source, unconnected_gradients=UnconnectedGradients.NONE,
                       parallel_iterations=None, experimental_use_pfor=True):
        """Per-example Jacobians: ``[batch] + target.shape[1:] + source.shape[1:]``."""
        (j,) = self._tape.jacobian(target, [source], True)
        if j is None and UnconnectedGradients(unconnected_gradients) is UnconnectedGradients.ZERO:
            t = _o.convert_to_tensor(target)
            j = _o.zeros(list(t.shape) + list(source.shape[1:]), dtype=t.dtype)
        return j


def stop_gradient(input, name=None):  # noqa: A002
    """The same values, seen by tapes as a constant."""
    return _rstf.stop_gradient(input)


def _takes_variables(fn) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "variables" or p.kind is p.VAR_KEYWORD for p in params)


def custom_gradient(f=None):
    """Decorates ``f(*x) -> (y, grad_fn)`` so tapes use ``grad_fn(*dy)`` for ``dx``.

    >>> import rstf as tf
    >>> @tf.custom_gradient
    ... def clip_grad(x):
    ...     return tf.identity(x), lambda dy: tf.clip_by_value(dy, -1.0, 1.0)
    >>> x = tf.constant(2.0)
    >>> with tf.GradientTape() as t:
    ...     t.watch(x)
    ...     y = clip_grad(x) * 10.0
    >>> t.gradient(y, x)
    <rstf.Tensor: shape=(), dtype=float32, numpy=1.0>
    """
    if f is None:
        return custom_gradient

    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        inputs = [_o.convert_to_tensor(a) if not isinstance(a, (Tensor, Variable)) else a
                  for a in nest.flatten(args)]
        # The forward pass is hidden from tapes; inside rstf.function the graph still records
        # it, and tapes inside the function use grad_fn (traced into the graph when they run).
        tracing = _rstf.is_tracing()
        _rstf.begin_variable_watch()
        (_rstf.hide_tapes if tracing else _rstf.pause_recording)()
        try:
            result, grad_fn = f(*args, **kwargs)
        finally:
            (_rstf.unhide_tapes if tracing else _rstf.resume_recording)()
            read = _rstf.end_variable_watch()
        # Trainable variables the forward pass read (other than arguments) get gradients from
        # grad_fn(*dy, variables=...), which then returns (input gradients, variable gradients).
        passed = {id(a) for a in nest.flatten((args, kwargs)) if isinstance(a, Variable)}
        variables = [v for v in map(_lookup, read) if v is not None and id(v) not in passed]
        if variables and not _takes_variables(grad_fn):
            raise TypeError(
                "custom_gradient: the function uses variables ("
                + ", ".join(v.name for v in variables)
                + "), so its gradient function must accept a keyword argument 'variables'")
        flat = [_o.convert_to_tensor(r) for r in nest.flatten(result)]
        n_in = len(inputs)

        def as_list(grads):
            return nest.flatten(grads) if n_in > 1 or nest.is_nested(grads) else [grads]

        def backward(*dys):
            if not variables:
                return as_list(grad_fn(*dys))
            grads, var_grads = grad_fn(*dys, variables=variables)
            var_grads = list(var_grads)
            if len(var_grads) != len(variables):
                raise ValueError(f"custom_gradient: the gradient function returned {len(var_grads)} "
                                 f"variable gradients for {len(variables)} variables")
            return (as_list(grads) if n_in else []) + var_grads

        outs = _rstf.record_gradient(inputs + [v.read_value() for v in variables], flat, backward)
        return nest.pack_sequence_as(result, outs)

    return wrapped
