"""Optimizers (``rstf.keras.optimizers``, also ``rstf.optimizers``).

>>> import rstf as tf
>>> v = tf.Variable([1.0, 2.0])
>>> opt = tf.optimizers.SGD(learning_rate=0.1)
>>> _ = opt.apply_gradients([(tf.constant([1.0, 1.0]), v)])
>>> v.numpy()
array([0.9, 1.9], dtype=float32)
"""

from __future__ import annotations

import abc
import math
import warnings

from .. import _ops as _o
from .._variable import Variable
from .saving import CapturesInit


class LearningRateSchedule(abc.ABC):
    """A learning rate that depends on the step."""

    @abc.abstractmethod
    def __call__(self, step):
        """The rate at ``step``."""


class ExponentialDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps, self.decay_rate, self.staircase = decay_steps, decay_rate, staircase

    def __call__(self, step):
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p


class CosineDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0):
        self.initial_learning_rate, self.decay_steps, self.alpha = initial_learning_rate, decay_steps, alpha

    def __call__(self, step):
        s = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1 + math.cos(math.pi * s))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)


class Optimizer(CapturesInit, abc.ABC):
    """Base class: ``apply_gradients(zip(grads, vars))`` updates each variable."""

    def __init__(self, learning_rate=0.01, name=None, **kwargs):
        self._lr_var = None
        self.learning_rate = learning_rate
        self.name = name or type(self).__name__
        self.iterations = Variable(0, trainable=False, dtype="int64", name="iteration")
        self._slots: dict = {}

    @property
    def learning_rate(self):
        """The rate: a schedule, or a float kept in a variable (traced steps see changes)."""
        return self._schedule if self._lr_var is None else float(self._lr_var.numpy())

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, LearningRateSchedule):
            self._schedule, self._lr_var = value, None
        elif self._lr_var is None:
            self._schedule = None
            self._lr_var = Variable(float(value), trainable=False, name="learning_rate")
        else:
            self._lr_var.assign(float(value), read_value=False)

    def _lr(self, dtype):
        if self._lr_var is None:
            step = _o.cast(self.iterations.value(), "float32")
            return _o.cast(self._schedule(step), dtype)
        return _o.cast(self._lr_var.value(), dtype)

    def _slot(self, var, name):
        key = (var._id, name)
        if key not in self._slots:
            deferred = self.__dict__.get("_rstf_deferred_slots", {}).pop(key, None)
            init = _o.zeros(list(var.shape), var.dtype) if deferred is None else deferred
            self._slots[key] = Variable(init, trainable=False, name=f"{var.name.split(':')[0]}/{name}")
        return self._slots[key]

    def _trackable_children(self):
        items = [("iterations", self.iterations)]
        if self._lr_var is not None:
            items.append(("learning_rate", self._lr_var))
        return items

    def variables(self):
        return [self.iterations, *self._slots.values()]

    def apply_gradients(self, grads_and_vars, name=None, **kwargs):
        """Applies one update per (gradient, variable) pair; None gradients are skipped."""
        pairs = list(grads_and_vars)
        missing = [v.name for g, v in pairs if g is None]
        if missing:
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the loss.",
                          stacklevel=2)
        for g, v in pairs:
            if g is not None:
                self._update(v, _o.convert_to_tensor(g))
        self.iterations.assign_add(1, read_value=False)
        return self.iterations

    def minimize(self, loss, var_list, tape=None):
        from .._tape import GradientTape

        if callable(loss):
            with GradientTape() as tape:
                value = loss()
        else:
            value = loss
            if tape is None:
                raise ValueError("minimize: a tape is required when loss is a tensor")
        var_list = list(var_list() if callable(var_list) else var_list)
        grads = tape.gradient(value, var_list)
        return self.apply_gradients(zip(grads, var_list))

    @abc.abstractmethod
    def _update(self, var, grad):
        """Applies one gradient to one variable (with the optimizer's slots)."""


class SGD(Optimizer):
    """Gradient descent, with optional (Nesterov) momentum."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name=None, **kwargs):
        super().__init__(learning_rate, name)
        self.momentum, self.nesterov = momentum, nesterov

    def _update(self, var, grad):
        lr = self._lr(grad.dtype)
        if not self.momentum:
            var.assign_sub(lr * grad, read_value=False)
            return
        m = self._slot(var, "momentum")
        m.assign(self.momentum * m.value() - lr * grad, read_value=False)
        if self.nesterov:
            var.assign_add(self.momentum * m.value() - lr * grad, read_value=False)
        else:
            var.assign_add(m.value(), read_value=False)


class Adam(Optimizer):
    """Adam (and AdamW with ``weight_decay``)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, name=None, **kwargs):
        super().__init__(learning_rate, name)
        self.beta_1, self.beta_2, self.epsilon, self.weight_decay = beta_1, beta_2, epsilon, weight_decay

    def _update(self, var, grad):
        lr = self._lr(grad.dtype)
        m, v = self._slot(var, "m"), self._slot(var, "v")
        t = _o.cast(self.iterations.value() + 1, grad.dtype)
        m.assign(self.beta_1 * m.value() + (1 - self.beta_1) * grad, read_value=False)
        v.assign(self.beta_2 * v.value() + (1 - self.beta_2) * grad * grad, read_value=False)
        step = lr * _o.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        if self.weight_decay:
            var.assign_sub(lr * self.weight_decay * var.value(), read_value=False)
        var.assign_sub(step * m.value() / (_o.sqrt(v.value()) + self.epsilon), read_value=False)


class AdamW(Adam):
    def __init__(self, learning_rate=0.001, weight_decay=0.004, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, **kwargs)


class RMSprop(Optimizer):
    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, name=None, **kwargs):
        super().__init__(learning_rate, name)
        self.rho, self.epsilon = rho, epsilon

    def _update(self, var, grad):
        lr = self._lr(grad.dtype)
        a = self._slot(var, "rms")
        a.assign(self.rho * a.value() + (1 - self.rho) * grad * grad, read_value=False)
        var.assign_sub(lr * grad / (_o.sqrt(a.value()) + self.epsilon), read_value=False)


class Adagrad(Optimizer):
    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, name=None, **kwargs):
        super().__init__(learning_rate, name)
        self.initial, self.epsilon = initial_accumulator_value, epsilon

    def _update(self, var, grad):
        lr = self._lr(grad.dtype)
        key = (var._id, "accumulator")
        if key not in self._slots:
            self._slots[key] = Variable(_o.fill(list(var.shape), _o.cast(self.initial, var.dtype)),
                                        trainable=False)
        a = self._slots[key]
        a.assign_add(grad * grad, read_value=False)
        var.assign_sub(lr * grad / (_o.sqrt(a.value()) + self.epsilon), read_value=False)


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}


def get(identifier):
    """An optimizer for a name or an Optimizer."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"Unknown optimizer: {identifier!r}. Known: {sorted(_BY_NAME)}")


schedules = type("schedules", (), {"ExponentialDecay": ExponentialDecay, "CosineDecay": CosineDecay,
                                   "LearningRateSchedule": LearningRateSchedule})
