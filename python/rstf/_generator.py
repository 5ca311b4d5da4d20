"""``tf.random.Generator``: random numbers from a state held in a ``tf.Variable`` (so that
checkpoints save it), and the global generator. Each draw is a stateless draw keyed by the
state, after which the state's counter moves on; in a traced function the draw reads the
variable when the graph runs. Registered into :mod:`rstf.random` on import (this module sits
above ``random`` in the layers because a Generator is a ``Trackable``).

>>> import rstf as tf
>>> g = tf.random.Generator.from_seed(1)
>>> a = g.normal([3])
>>> g.reset_from_seed(1)
>>> bool(tf.reduce_all(a == g.normal([3])))
True
>>> g.state.numpy()
array([2, 0, 0])
"""

from __future__ import annotations

import os

import numpy as np

from . import _trackable, random
from ._variable import Variable
from .dtypes import as_dtype
from .dtypes import float32 as _float32

PHILOX = 1
_MASK = 0xFFFFFFFFFFFFFFFF


def _signed(w: int) -> int:
    w &= _MASK
    return w - (1 << 64) if w >= 1 << 63 else w


def _seed_state(seed) -> list:
    s = int(seed)
    if s < 0:
        s &= (1 << 128) - 1
    return [_signed(s), _signed(s >> 64), 0]


class Generator(_trackable.Trackable):
    """A random number generator whose state (``[counter, counter_hi, key]``, int64) is a
    non-trainable ``tf.Variable``."""

    def __init__(self, copy_from=None, state=None, alg=None):
        if copy_from is not None:
            state = copy_from.state.numpy()
        if state is None:
            raise ValueError("Generator: give copy_from or state, or use Generator.from_seed")
        value = np.asarray(state, dtype=np.int64).reshape(-1)
        if value.shape != (3,):
            raise ValueError(f"Generator: the state of the Philox algorithm has 3 int64 words; got "
                             f"shape {list(value.shape)}")
        self._state_var = Variable(value, trainable=False, name="StateVar", dtype="int64")

    @classmethod
    def from_seed(cls, seed, alg=None) -> Generator:
        """A generator whose state comes from the integer ``seed``."""
        return cls(state=_seed_state(seed), alg=alg)

    @classmethod
    def from_state(cls, state, alg=None) -> Generator:
        return cls(state=state, alg=alg)

    @classmethod
    def from_non_deterministic_state(cls, alg=None) -> Generator:
        """A generator seeded from the operating system's entropy."""
        return cls(state=_seed_state(int.from_bytes(os.urandom(16), "little")), alg=alg)

    @classmethod
    def from_key_counter(cls, key, counter, alg=None) -> Generator:
        c = list(np.asarray(counter, np.int64).reshape(-1))
        return cls(state=c + [int(np.asarray(key).reshape(-1)[0])], alg=alg)

    @property
    def state(self) -> Variable:
        """The state variable (int64, shape [3])."""
        return self._state_var

    @property
    def algorithm(self) -> int:
        return PHILOX

    @property
    def key(self):
        return self._state_var.value()[-1]

    def reset(self, state) -> None:
        self._state_var.assign(np.asarray(state, np.int64), read_value=False)

    def reset_from_seed(self, seed) -> None:
        """Sets the state as :meth:`from_seed` does."""
        self.reset(_seed_state(seed))

    def reset_from_key_counter(self, key, counter) -> None:
        self.reset(list(np.asarray(counter, np.int64).reshape(-1)) + [int(key)])

    def skip(self, delta) -> None:
        """Moves the counter on by ``delta``."""
        self._state_var.assign_add(np.array([int(delta), 0, 0], np.int64), read_value=False)

    def _next(self):
        """The state to draw from, after which the counter moves on."""
        s = self._state_var.read_value()
        self._state_var.assign_add(np.array([1, 0, 0], np.int64), read_value=False)
        return random._GeneratorState(s)

    def normal(self, shape, mean=0.0, stddev=1.0, dtype=_float32, name=None):
        """Normal numbers; the state moves on."""
        return random.stateless_normal(shape, self._next(), mean, stddev, dtype)

    def truncated_normal(self, shape, mean=0.0, stddev=1.0, dtype=_float32, name=None):
        """Normal numbers within two standard deviations of the mean."""
        return random.stateless_truncated_normal(shape, self._next(), mean, stddev, dtype)

    def uniform(self, shape, minval=0, maxval=None, dtype=_float32, name=None):
        """Uniform numbers in ``[minval, maxval)``; integer dtypes need both bounds or neither
        (full range).

        >>> import rstf as tf
        >>> g = tf.random.Generator.from_seed(3)
        >>> x = g.uniform([1000], minval=2, maxval=5, dtype=tf.int32)
        >>> sorted(set(x.numpy().tolist()))
        [2, 3, 4]
        """
        dt = as_dtype(dtype)
        if dt.is_integer and (minval is None) != (maxval is None):
            raise ValueError(f"For integer dtype {dt!r}, minval and maxval must be both `None` or both "
                             f"non-`None`; got minval={minval} and maxval={maxval}")
        return random.stateless_uniform(shape, self._next(), minval, maxval, dt)

    def uniform_full_int(self, shape, dtype="int64", name=None):
        """Integers over the whole range of ``dtype``."""
        return random.stateless_uniform(shape, self._next(), None, None, dtype)

    def make_seeds(self, count=1):
        """``count`` seed pairs for stateless ops, int64 ``[2, count]``."""
        return self.uniform_full_int([2, int(count)], "int64")

    def split(self, count=1) -> list:
        """``count`` new generators with states drawn from this one (which moves on)."""
        seeds = np.asarray(self.make_seeds(count))
        return [Generator(state=[int(seeds[0, i]), int(seeds[1, i]), 1]) for i in range(int(count))]


_GLOBAL: list = []


def get_global_generator() -> Generator:
    """The global generator, made from a non-deterministic state on first use."""
    if not _GLOBAL:
        _GLOBAL.append(Generator.from_non_deterministic_state())
    return _GLOBAL[0]


def set_global_generator(generator) -> None:
    """Replaces the global generator."""
    if not isinstance(generator, Generator):
        raise TypeError("set_global_generator: expected a tf.random.Generator, got "
                        f"{type(generator).__name__}")
    _GLOBAL[:] = [generator]


for _f in (Generator, get_global_generator, set_global_generator):
    setattr(random, _f.__name__, _f)
    random.__all__.append(_f.__name__)
del _f
