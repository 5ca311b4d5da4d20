"""Graph control flow: ``rstf.cond`` and ``rstf.while_loop`` (used by ``rstf.function`` and
by AutoGraph's operators).

>>> import rstf as tf
>>> tf.cond(tf.constant(True), lambda: 1, lambda: 2)
1
"""

from __future__ import annotations

from . import _ops as _o
from . import _rstf, errors, nest
from ._rstf import Tensor
from ._tensor_array import TensorArray
from ._variable import Variable


def cond(pred, true_fn=None, false_fn=None, name=None):
    """``true_fn()`` if ``pred`` else ``false_fn()``. On a traced predicate both branches are
    traced and the results selected elementwise, so branches that assign variables are
    refused (UnimplementedError) rather than run both."""
    p = _o.convert_to_tensor(pred)
    if not _rstf.is_symbolic(p):
        return true_fn() if bool(p) else false_fn()
    before = _rstf.trace_effects()
    t, f = true_fn(), false_fn()
    if _rstf.trace_effects() != before:
        raise errors.UnimplementedError(
            "cond: the branches of a cond on a traced predicate cannot assign variables yet (both "
            "branches would run); compute the new value with tf.where and assign it once")
    ft, ff = nest.flatten(t), nest.flatten(f)
    if len(ft) != len(ff):
        raise ValueError("cond: true_fn and false_fn must return the same structure")
    return nest.pack_sequence_as(t, [_o.where(p, a, b) for a, b in zip(ft, ff)])


def _trace_sub(fn, examples):
    """Traces ``fn(*examples)`` as a sub-graph; returns (graph, captures, flat results)."""
    _rstf.trace_begin_sub()
    try:
        ins = [_rstf.trace_input(e) for e in examples]
        out = fn(ins)
        flat = [o.value() if isinstance(o, Variable) else o for o in out]
    except BaseException:
        _rstf.trace_abort()
        raise
    graph, captures = _rstf.trace_finish_sub(flat)
    return graph, captures, flat


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10, back_prop=True,
               swap_memory=False, maximum_iterations=None, name=None):
    """Runs ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` holds.

    Eagerly, and inside ``rstf.function`` while the condition depends only on Python values, the
    loop runs in Python (a traced function unrolls it). Once the condition depends on a traced
    tensor the rest of the loop becomes one ``While`` node of the graph, whose condition and body
    are graphs traced once: loop variables keep their dtype and shape.

    >>> import rstf as tf
    >>> @tf.function
    ... def collatz_steps(n):
    ...     return tf.while_loop(lambda n, i: n > 1,
    ...                          lambda n, i: (tf.where(n % 2 == 0, n // 2, 3 * n + 1), i + 1),
    ...                          (n, 0))[1]
    >>> int(collatz_steps(tf.constant(27)))
    111
    """
    if shape_invariants is not None:
        from .errors import UnimplementedError

        raise UnimplementedError("while_loop: shape_invariants are not supported (loop variables "
                                 "keep their dtype and shape)")
    vars_ = nest.flatten(loop_vars)
    single = not isinstance(loop_vars, (list, tuple))

    def call(fn, flat):
        packed = nest.pack_sequence_as(loop_vars, list(flat))
        return fn(packed) if single else fn(*packed)

    i = 0
    while maximum_iterations is None or i < maximum_iterations:
        c = _o.convert_to_tensor(call(cond, vars_))
        if _rstf.is_symbolic(c):
            return nest.pack_sequence_as(loop_vars, _graph_loop(
                cond, body, vars_, call, None if maximum_iterations is None else maximum_iterations - i))
        if not bool(c):
            break
        vars_ = nest.flatten(call(body, vars_))
        i += 1
    return nest.pack_sequence_as(loop_vars, vars_)


def _array_loop(cond, body, flat, call, max_iterations):
    """A graph loop whose variables include TensorArrays: each is carried as its dense
    ``[size, *element_shape]`` tensor (an element shape first known from the body's writes is
    found by tracing the body once, in a trace thrown away)."""
    arrays = {k: v for k, v in enumerate(flat) if isinstance(v, TensorArray)}
    if any(a._buffer is None and a._known_shape() is None for a in arrays.values()):
        _rstf.trace_begin_sub()
        try:
            ins = [v if k in arrays else _rstf.trace_input(v.value() if isinstance(v, Variable)
                                                           else _o.convert_to_tensor(v))
                   for k, v in enumerate(flat)]
            out = nest.flatten(call(body, ins))
            shapes = {k: out[k]._es for k in arrays if k < len(out) and isinstance(out[k], TensorArray)}
        finally:
            _rstf.trace_abort()
        for k, shape in shapes.items():
            if arrays[k]._known_shape() is None and shape is not None:
                arrays[k] = arrays[k]._copy()
                arrays[k]._es = shape
    buffers = {k: a._copy()._loop_buffer() for k, a in arrays.items()}

    def wrap(ins):
        return [arrays[k]._with_buffer(x) if k in arrays else x for k, x in enumerate(ins)]

    def inner_call(fn, ins):
        out = call(fn, wrap(ins))
        if fn is cond:
            return out
        return [o._loop_buffer() if isinstance(o, TensorArray) else o for o in nest.flatten(out)]

    res = _graph_loop(cond, body, [buffers.get(k, v) for k, v in enumerate(flat)], inner_call, max_iterations)
    return wrap(res)


def _graph_loop(cond, body, flat, call, max_iterations):
    """The loop as a ``While`` node of the graph being traced."""
    if any(isinstance(v, TensorArray) for v in flat):
        return _array_loop(cond, body, flat, call, max_iterations)
    tensors = [v.value() if isinstance(v, Variable) else _o.convert_to_tensor(v) for v in flat]

    def cond_fn(ins):
        c = _o.convert_to_tensor(call(cond, ins))
        if c.dtype.name != "bool" or c.ndim != 0:
            raise TypeError(f"while_loop: the condition must return a boolean scalar, got {c!r}")
        return [c]

    def body_fn(ins):
        out = nest.flatten(call(body, ins))
        if len(out) != len(ins):
            raise ValueError(f"while_loop: the body returns {len(out)} values for {len(ins)} loop variables")
        res = []
        for k, (o, v) in enumerate(zip(out, tensors)):
            o = _o.convert_to_tensor(o.value() if isinstance(o, Variable) else o, dtype=None if isinstance(
                o, (Tensor, Variable)) else v.dtype)
            if o.dtype != v.dtype or tuple(o.shape) != tuple(v.shape):
                raise ValueError(
                    f"while_loop: loop variable {k} enters the loop with dtype {v.dtype.name} and shape "
                    f"{tuple(v.shape)} but the body returns dtype {o.dtype.name} and shape {tuple(o.shape)}; "
                    "a loop variable keeps its dtype and shape")
            res.append(o)
        return res

    cond_graph, cond_caps, _ = _trace_sub(cond_fn, tensors)
    body_graph, body_caps, _ = _trace_sub(body_fn, tensors)
    return _rstf.trace_while(cond_graph, body_graph, tensors, cond_caps, body_caps, max_iterations)


__all__ = ["cond", "while_loop"]
