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

from .. import _device, _rstf, _trackable
from .. import _ops as _o
from .._variable import Variable
from ..distribute import _strategy as _distribute
from ._captures import CapturesInit


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


class Optimizer(CapturesInit, _trackable.Trackable, abc.ABC):
    """Base class: ``apply_gradients(zip(grads, vars))`` updates each variable."""

    _trackable_holds_slots = True

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

    def _lr_tensor(self):
        """The rate as a float32 tensor (a variable read, so traced steps see changes)."""
        if self._lr_var is None:
            step = _o.cast(self.iterations.value(), "float32")
            return _o.cast(self._schedule(step), "float32")
        return self._lr_var.value()

    def _slot(self, var, name, initial=0.0):
        key = (var._id, name)
        if key not in self._slots:
            deferred = self.__dict__.get("_rstf_deferred_slots", {}).pop(key, None)
            # Slots live on their variable's device, as in TensorFlow.
            with _device.device(var.device):
                if deferred is not None:
                    init = deferred
                elif initial:
                    init = _o.fill(list(var.shape), _o.cast(initial, var.dtype))
                else:
                    init = _o.zeros(list(var.shape), var.dtype)
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
        """Applies the rule to every (gradient, variable) pair in one call into the engine (a
        fused update per variable); None gradients are skipped with a warning. Under a
        ``tf.distribute`` strategy of several replicas the gradients are first summed across
        them (averaged over all workers' examples inside ``Model.fit``), unless
        ``skip_gradients_aggregation=True``."""
        pairs = list(grads_and_vars)
        missing = [v.name for g, v in pairs if g is None]
        if missing:
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the loss.",
                          stacklevel=2)
        pairs = [(_o.convert_to_tensor(g), v) for g, v in pairs if g is not None]
        aggregate = kwargs.get("experimental_aggregate_gradients", True)
        if aggregate and not kwargs.get("skip_gradients_aggregation"):
            grads = _distribute.aggregate_gradients([g for g, _ in pairs])
            pairs = [(g, v) for g, (_, v) in zip(grads, pairs)]
        if pairs:
            rule, hyper, slot_names = self._rule()
            slots = [[self._slot(v, n, init) for n, init in slot_names] for _, v in pairs]
            _rstf.apply_gradients(rule, hyper, self._lr_tensor(), self.iterations.value() + 1,
                                  [v for _, v in pairs], [g for g, _ in pairs], slots)
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
    def _rule(self):
        """``(rule, hyperparameters, [(slot name, initial value), ...])`` of the engine's update
        (see ``rstf::optim``)."""


class SGD(Optimizer):
    """Gradient descent, with optional (Nesterov) momentum."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name=None, **kwargs):
        super().__init__(learning_rate, name)
        self.momentum, self.nesterov = momentum, nesterov

    def _rule(self):
        slots = [("momentum", 0.0)] if self.momentum else []
        return "sgd", {"momentum": float(self.momentum), "nesterov": float(bool(self.nesterov))}, slots


class Adam(Optimizer):
    """Adam (and AdamW with ``weight_decay``)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, name=None, **kwargs):
        super().__init__(learning_rate, name)
        self.beta_1, self.beta_2, self.epsilon, self.weight_decay = beta_1, beta_2, epsilon, weight_decay

    def _rule(self):
        hyper = {"beta_1": float(self.beta_1), "beta_2": float(self.beta_2), "epsilon": float(self.epsilon),
                 "weight_decay": float(self.weight_decay or 0.0)}
        return "adam", hyper, [("m", 0.0), ("v", 0.0)]


class AdamW(Adam):
    def __init__(self, learning_rate=0.001, weight_decay=0.004, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, **kwargs)


class RMSprop(Optimizer):
    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, name=None, **kwargs):
        super().__init__(learning_rate, name)
        self.rho, self.epsilon = rho, epsilon

    def _rule(self):
        return "rmsprop", {"rho": float(self.rho), "epsilon": float(self.epsilon)}, [("rms", 0.0)]


class Adagrad(Optimizer):
    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, name=None, **kwargs):
        super().__init__(learning_rate, name)
        self.initial, self.epsilon = initial_accumulator_value, epsilon

    def _rule(self):
        return "adagrad", {"epsilon": float(self.epsilon)}, [("accumulator", float(self.initial))]


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
