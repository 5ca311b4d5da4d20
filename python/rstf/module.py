"""``rstf.Module``: a container that finds the Variables and sub-Modules assigned to its
attributes (also inside lists, tuples and dicts).

>>> import rstf as tf
>>> class MyModule(tf.Module):
...     def __init__(self, value):
...         self.weight = tf.Variable(value)
...     @tf.function
...     def multiply(self, x):
...         return x * self.weight
>>> mod = MyModule(3)
>>> mod.multiply(tf.constant([1, 2, 3]))
<rstf.Tensor: shape=(3,), dtype=int32, numpy=array([3, 6, 9], dtype=int32)>
>>> [v.numpy() for v in mod.variables]
[np.int32(3)]
"""

from __future__ import annotations

import contextlib
import re

from . import _trackable
from ._variable import Variable


def _snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


# Types of values that hold no Variables or Modules: skipped without a call.
_LEAVES = frozenset((str, int, float, bool, bytes, type(None)))


def _walk(value, seen_modules, found, want):
    """Collects Variables (want='variables', into the dict `found` keyed by id, in the order
    first met) or Modules (want='modules', into the list `found`) reachable from value."""
    if isinstance(value, Variable):
        if want == "variables":
            found.setdefault(id(value), value)
    elif isinstance(value, Module):
        if id(value) in seen_modules:
            return
        seen_modules.add(id(value))
        if want == "modules":
            found.append(value)
        value._collect(seen_modules, found, want)
    elif isinstance(value, dict):
        for k in sorted(value, key=str):
            v = value[k]
            if type(v) not in _LEAVES:
                _walk(v, seen_modules, found, want)
    elif isinstance(value, (list, tuple)):
        for v in value:
            if type(v) not in _LEAVES:
                _walk(v, seen_modules, found, want)


class Module(_trackable.Trackable):
    """Base class for objects that own Variables (``rstf.Module``)."""

    _TF_MODULE_IGNORED_PROPERTIES: frozenset = frozenset()

    def __init__(self, name=None):
        self._name = name

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        if "_rstf_deferred" in self.__dict__:
            _trackable.on_setattr(self, name, value)

    @property
    def name(self) -> str:
        n = self.__dict__.get("_name")
        return n if n else _snake(type(self).__name__)

    @property
    def name_scope(self):
        return contextlib.nullcontext(self.name)

    def _attributes(self):
        return [(k, v) for k, v in sorted(vars(self).items())
                if k not in self._TF_MODULE_IGNORED_PROPERTIES and not k.startswith("__")]

    def _collect(self, seen_modules, found, want):
        for _, v in self._attributes():
            if type(v) not in _LEAVES:
                _walk(v, seen_modules, found, want)

    @property
    def variables(self):
        """Every Variable of this module and its sub-modules, each once."""
        found: dict = {}
        self._collect({id(self)}, found, "variables")
        return tuple(found.values())

    @property
    def trainable_variables(self):
        """The trainable Variables."""
        return tuple(v for v in self.variables if v.trainable)

    @property
    def non_trainable_variables(self):
        return tuple(v for v in self.variables if not v.trainable)

    @property
    def submodules(self):
        """Every Module reachable from this one (itself excluded)."""
        found: list = []
        self._collect({id(self)}, found, "modules")
        return tuple(found)

    @classmethod
    def with_name_scope(cls, method):
        return method
