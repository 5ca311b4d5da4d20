"""Dispatch of rstf's op functions to composite tensors (TensorFlow's ``tf.experimental.dispatch``
for the few types rstf has: ``RaggedTensor``).

This is the one hook by which an op of ``_ops`` (``tf.reduce_sum``, ``tf.concat``, ``tf.stack``,
...) accepts a composite tensor: ``_ops`` wraps the ops listed at its end (the reductions,
``concat`` and ``stack``) with :func:`dispatchable`. A wrapped op looks at the type of its first
positional argument (for ``concat``/``stack``, of the items of that list) and of its keyword
arguments; when one is a type registered with :func:`register`, the handler registered for the
op runs in place of the op (with the same arguments), else the op runs as before. The check is
a set lookup per argument (about 0.3 us a call). Elementwise ops are not wrapped, to keep
their calls as cheap as they were: composite tensors have operators (``rt + 1``) and
``tf.ragged.map_flat_values`` for them.

>>> from rstf import _dispatch
>>> "reduce_sum" in _dispatch.HANDLERS
True
"""

from __future__ import annotations

import functools

TYPES: set = set()
"""The composite classes that handle ops themselves."""

HANDLERS: dict = {}
"""``{op name: handler}``: what a wrapped op calls when given a composite tensor."""


def register(cls, handlers: dict) -> None:
    """Makes ``cls`` a composite type and registers its ``{op name: handler}``."""
    TYPES.add(cls)
    HANDLERS.update(handlers)


def _composite_in(value) -> bool:
    """``value`` is a composite tensor, or a list or tuple holding one."""
    if type(value) in TYPES:
        return True
    if isinstance(value, (list, tuple)):
        for v in value:
            if type(v) in TYPES:
                return True
    return False


def dispatchable(fn, name: str, sequence: bool = False):
    """``fn`` (the op ``name``) wrapped so that a composite argument runs the op's registered
    handler instead; ``sequence``: the first argument is a list of tensors (concat, stack)."""
    if sequence:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if (args and _composite_in(args[0])) or (kwargs and any(map(_composite_in, kwargs.values()))):
                return HANDLERS[name](*args, **kwargs)
            return fn(*args, **kwargs)
    else:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if (args and type(args[0]) in TYPES) or (
                    kwargs and any(type(v) in TYPES for v in kwargs.values())):
                return HANDLERS[name](*args, **kwargs)
            return fn(*args, **kwargs)

    return wrapper
