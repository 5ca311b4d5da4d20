"""Keras recurrent layers (``rstf.keras.layers``): the cells ``SimpleRNNCell``, ``LSTMCell`` and
``GRUCell`` (one time step each, the per-step math in their ``call``), ``RNN`` which runs a cell
over the time axis, the layers ``SimpleRNN``, ``LSTM`` and ``GRU`` built on it, and the wrappers
``Bidirectional`` and ``TimeDistributed``.

Weights have Keras' layout and gate order (an ``LSTM`` kernel is ``[input_dim, 4 * units]`` in
the order i, f, c, o; a ``GRU`` kernel z, r, h, with a ``[2, 3 * units]`` bias when
``reset_after``), so ``set_weights`` with a Keras layer's weights gives Keras' outputs. The
time loop is a Python loop over the (static) time steps, composed of differentiable ops.

>>> import numpy as np, rstf as tf
>>> layer = tf.keras.layers.LSTM(3, return_sequences=True)
>>> layer(np.ones((2, 5, 4), "float32")).shape
TensorShape([2, 5, 3])
>>> [tuple(w.shape) for w in layer.weights]
[(4, 12), (3, 12), (12,)]
"""

from __future__ import annotations

import inspect

from .. import _ops as _o
from .. import random as _random
from .._variable import Variable
from . import activations, initializers
from .base_layer import Layer, _takes_training

_UNSUPPORTED = ("kernel_constraint", "recurrent_constraint", "bias_constraint")
_REGULARIZERS = ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer")


def _check_unsupported(name, kwargs):
    """Keras' constraint arguments: only ``None`` is supported."""
    for key in _UNSUPPORTED:
        if kwargs.pop(key, None) is not None:
            raise NotImplementedError(f"{name}: `{key}` is not supported by rstf yet")


def _positive_units(units):
    if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
        raise ValueError("Received an invalid value for argument `units`, expected a positive "
                         f"integer, got {units}.")
    return units


def _rate(value):
    return min(1.0, max(0.0, float(value)))  # Keras clips the dropout rates


def _dropout_mask(like, rate, seed):
    """Keras' per-sequence dropout mask: kept entries ``1 / (1 - rate)``, dropped ones 0."""
    keep = _random.uniform(list(like.shape), dtype=like.dtype, seed=seed) >= rate
    return _o.cast(keep, like.dtype) / (1.0 - rate)


def _as_list(states):
    return list(states) if isinstance(states, (list, tuple)) else [states]


class _Cell(Layer):
    """What the three cells share: arguments, weights, and the dropout masks (made once per
    sequence by ``RNN``, as Keras' ``DropoutRNNCell``)."""

    _gates = 1  # the kernel is [input_dim, gates * units]

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        _check_unsupported(type(self).__name__, kwargs)
        regs = {k: kwargs.pop(k, None) for k in _REGULARIZERS}
        super().__init__(**kwargs)
        self.kernel_regularizer = regs["kernel_regularizer"]
        self.recurrent_regularizer = regs["recurrent_regularizer"]
        self.bias_regularizer = regs["bias_regularizer"]
        self.units = _positive_units(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.dropout = _rate(dropout)
        self.recurrent_dropout = _rate(recurrent_dropout)
        self.seed = seed
        self.__dict__["_masks"] = None

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def _bias_shape(self):
        return [self._gates * self.units]

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
        if input_shape is None or input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__}: the last dimension of the inputs must be known, "
                             f"got {input_shape}")
        n = self._gates * self.units
        dim = int(input_shape[-1])
        self.kernel = self.add_weight("kernel", [dim, n], initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", [self.units, n],
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer)
        self.bias = (self.add_weight("bias", self._bias_shape(), initializer=self._bias_initializer(),
                                     regularizer=self.bias_regularizer) if self.use_bias else None)
        self.built = True

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [_o.zeros([batch_size, s], self.dtype) for s in sizes]

    def _begin_sequence(self, inputs, state, training):
        """Draws the dropout masks used by every step of one sequence."""
        on = bool(training)
        dp = _dropout_mask(inputs, self.dropout, self.seed) if on and 0 < self.dropout < 1 else None
        rdp = (_dropout_mask(state, self.recurrent_dropout, self.seed)
               if on and 0 < self.recurrent_dropout < 1 else None)
        self.__dict__["_masks"] = (dp, rdp)

    def _end_sequence(self):
        self.__dict__["_masks"] = None

    def _dropped(self, x, h, training):
        """The step's input and previous output with the dropout masks applied (training only)."""
        if not training:
            return x, h
        masks = self.__dict__.get("_masks")
        if masks is None:  # a cell called on its own: fresh masks for this call
            self._begin_sequence(x, h, training)
            masks = self.__dict__["_masks"]
            self._end_sequence()
        dp, rdp = masks
        return (x if dp is None else x * dp), (h if rdp is None else h * rdp)


class SimpleRNNCell(_Cell):
    """One step of a fully connected RNN: ``h = activation(x @ kernel + h_prev @ recurrent_kernel
    + bias)``; returns ``(h, [h])``.

    >>> import rstf as tf
    >>> cell = tf.keras.layers.SimpleRNNCell(2, kernel_initializer="ones", recurrent_initializer="zeros")
    >>> h, states = cell(tf.constant([[1.0, -1.0]]), [tf.zeros([1, 2])])
    >>> h.numpy()
    array([[0., 0.]], dtype=float32)
    """

    def call(self, inputs, states, training=None):
        h_prev = _as_list(states)[0]
        x, h = self._dropped(_o.convert_to_tensor(inputs), h_prev, training)
        z = _o.matmul(x, self.kernel) + _o.matmul(h, self.recurrent_kernel)
        if self.use_bias:
            z = z + self.bias
        out = self.activation(z)
        return out, ([out] if isinstance(states, (list, tuple)) else out)


class LSTMCell(_Cell):
    """One step of a long short-term memory cell (Keras' gate order i, f, c, o):
    ``i, f, o = recurrent_activation(...)``, ``c = f * c_prev + i * activation(...)``,
    ``h = o * activation(c)``; returns ``(h, [h, c])``. ``unit_forget_bias`` starts the forget
    gate's bias at one.

    >>> import rstf as tf
    >>> cell = tf.keras.layers.LSTMCell(2)
    >>> h, (h2, c) = cell(tf.ones([3, 4]), [tf.zeros([3, 2]), tf.zeros([3, 2])])
    >>> h.shape, c.shape, cell.bias.numpy().tolist()
    (TensorShape([3, 2]), TensorShape([3, 2]), [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    """

    _gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, dropout=0.0, recurrent_dropout=0.0,
                 seed=None, **kwargs):
        kwargs.pop("implementation", None)
        super().__init__(units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        init, units = initializers.get(self.bias_initializer), self.units

        def forget_bias_one(shape, dtype="float32", **kwargs):
            return _o.concat([init([units], dtype=dtype), _o.ones([units], dtype),
                              init([2 * units], dtype=dtype)], 0)
        return forget_bias_one

    def call(self, inputs, states, training=None):
        h_prev, c_prev = _as_list(states)[:2]
        x, h = self._dropped(_o.convert_to_tensor(inputs), h_prev, training)
        z = _o.matmul(x, self.kernel) + _o.matmul(h, self.recurrent_kernel)
        if self.use_bias:
            z = z + self.bias
        zi, zf, zc, zo = _o.split(z, 4, axis=-1)
        i, f, o = self.recurrent_activation(zi), self.recurrent_activation(zf), self.recurrent_activation(zo)
        c = f * c_prev + i * self.activation(zc)
        h = o * self.activation(c)
        return h, [h, c]


class GRUCell(_Cell):
    """One step of a gated recurrent unit (Keras' gate order z, r, h):
    ``h = z * h_prev + (1 - z) * activation(x_h + r * (h_prev @ recurrent_kernel_h))`` with
    ``reset_after=True`` (the default, a ``[2, 3 * units]`` bias: input and recurrent), else
    ``activation(x_h + (r * h_prev) @ recurrent_kernel_h)``; returns ``(h, [h])``.

    >>> import rstf as tf
    >>> cell = tf.keras.layers.GRUCell(2)
    >>> h, _ = cell(tf.ones([3, 4]), [tf.zeros([3, 2])])
    >>> h.shape, tuple(cell.bias.shape)
    (TensorShape([3, 2]), (2, 6))
    """

    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", dropout=0.0, recurrent_dropout=0.0, reset_after=True,
                 seed=None, **kwargs):
        kwargs.pop("implementation", None)
        super().__init__(units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return [2, 3 * self.units] if self.reset_after else [3 * self.units]

    def call(self, inputs, states, training=None):
        h_prev = _as_list(states)[0]
        x, h = self._dropped(_o.convert_to_tensor(inputs), h_prev, training)
        u = self.units
        xz = _o.matmul(x, self.kernel)
        b_in = b_rec = None
        if self.use_bias:
            b_in, b_rec = (self.bias[0], self.bias[1]) if self.reset_after else (self.bias, None)
            xz = xz + b_in
        x_z, x_r, x_h = _o.split(xz, 3, axis=-1)
        rk = self.recurrent_kernel
        if self.reset_after:
            inner = _o.matmul(h, rk)
            if b_rec is not None:
                inner = inner + b_rec
            r_z, r_r, r_h = _o.split(inner, 3, axis=-1)
            z = self.recurrent_activation(x_z + r_z)
            r = self.recurrent_activation(x_r + r_r)
            hh = self.activation(x_h + r * r_h)
        else:
            inner = _o.matmul(h, rk[:, :2 * u])
            r_z, r_r = _o.split(inner, 2, axis=-1)
            z = self.recurrent_activation(x_z + r_z)
            r = self.recurrent_activation(x_r + r_r)
            hh = self.activation(x_h + _o.matmul(r * h, rk[:, 2 * u:]))
        out = z * h_prev + (1.0 - z) * hh
        return out, ([out] if isinstance(states, (list, tuple)) else out)


class RNN(Layer):
    """Runs a cell over the time axis of ``[batch, time, ...]`` inputs. A cell is a layer with a
    ``state_size`` (an int or a list of ints) whose ``call(inputs, states)`` returns
    ``(output, new_states)``.

    ``call(sequences, initial_state=None, mask=None, training=None)``: a boolean ``mask``
    ``[batch, time]`` skips the masked steps (the states carry over, the output repeats the
    previous one, or is zero with ``zero_output_for_mask``). ``return_state`` adds the final
    states after the output; ``go_backwards`` runs the sequence from its end (the sequence
    output is then in that order, as Keras'); ``stateful`` starts each call from the last call's
    final states (``reset_state()`` zeroes them).

    >>> import rstf as tf
    >>> class Accumulate(tf.keras.layers.Layer):
    ...     state_size = 1
    ...     def call(self, inputs, states):
    ...         total = states[0] + tf.reduce_sum(inputs, axis=-1, keepdims=True)
    ...         return total, [total]
    >>> tf.keras.layers.RNN(Accumulate(), return_sequences=True)(tf.ones([1, 3, 2])).numpy()[0, :, 0]
    array([2., 4., 6.], dtype=float32)
    """

    # The states of a stateful layer are not weights (as in Keras): not collected or saved.
    _TF_MODULE_IGNORED_PROPERTIES = frozenset({"_state_vars"})

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            raise NotImplementedError("RNN: a list of cells (StackedRNNCells) is not supported by rstf yet")
        if not callable(getattr(cell, "call", None)):
            raise ValueError(f"Argument `cell` should have a `call` method. Received: cell={cell}")
        if getattr(cell, "state_size", None) is None:
            raise ValueError("The RNN cell should have a `state_size` attribute (single integer or list of "
                             f"integers, one integer per RNN state). Received: cell={cell}")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = unroll
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self._state_vars = None

    @property
    def state_size(self):
        size = self.cell.state_size
        return list(size) if isinstance(size, (list, tuple)) else [size]

    @property
    def states(self):
        return self._state_vars

    def build(self, input_shape):
        if input_shape is None or len(input_shape) < 3:
            got = None if input_shape is None else len(input_shape)
            raise ValueError(f"Input 0 with name 'None' of layer '{self.name}' is incompatible with the "
                             f"layer: expected ndim=3, found ndim={got}. Full shape received: "
                             f"{None if input_shape is None else tuple(input_shape)}")
        step_shape = (input_shape[0], *tuple(input_shape)[2:])
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build(step_shape)
            self.cell.built = True
        self.built = True

    def get_initial_state(self, batch_size):
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is not None:
            return _as_list(fn(batch_size=batch_size))
        return [_o.zeros([batch_size, s], self.dtype) for s in self.state_size]

    def reset_state(self):
        """Zeroes the states of a stateful layer."""
        for v in self._state_vars or []:
            v.assign(_o.zeros_like(v))

    reset_states = reset_state

    def _initial_states(self, x, initial_state):
        batch = x.shape[0]
        if self.stateful:
            if self._state_vars is None:
                self._state_vars = [Variable(s, trainable=False, name="rnn_state")
                                    for s in self.get_initial_state(batch)]
            expected = self._state_vars[0].shape[0]
            if expected != batch:
                raise ValueError("If an RNN is stateful, the batch size of the input sequences must be the "
                                 f"same as the batch size of the initial state. \n- Expected batch size: "
                                 f"{expected}\n- Received batch size: {batch}")
        if initial_state is None:
            if self.stateful:
                return [_o.convert_to_tensor(v) for v in self._state_vars]
            return self.get_initial_state(batch)
        states = [_o.cast(_o.convert_to_tensor(s), x.dtype) for s in _as_list(initial_state)]
        if len(states) != len(self.state_size):
            raise ValueError(f"Layer {self.name} expects {len(self.state_size)} state(s), but it received "
                             f"{len(states)} initial state(s).")
        return states

    def call(self, sequences, initial_state=None, mask=None, training=None):
        x = _o.convert_to_tensor(sequences)
        if len(x.shape) < 3:
            self.build(x.shape)  # raises Keras' error
        states = self._initial_states(x, initial_state)
        if not x.shape[1]:
            raise ValueError(f"Layer '{self.name}': the input sequences must have at least one time step, "
                             f"got shape {x.shape}")
        steps = _o.unstack(x, axis=1)
        keep = None
        if mask is not None:
            keep = _o.unstack(_o.expand_dims(_o.cast(mask, "bool"), -1), axis=1)
        if self.go_backwards:
            steps = steps[::-1]
            keep = None if keep is None else keep[::-1]
        cell_kwargs = {"training": training} if _takes_training(type(self.cell)) else {}
        begin = getattr(self.cell, "_begin_sequence", None)
        if begin is not None:
            begin(steps[0], states[0], training)
        try:
            outputs, prev = [], None
            for t, step in enumerate(steps):
                out, new = self.cell.call(step, states, **cell_kwargs)
                new = _as_list(new)
                if keep is not None:
                    if prev is None:
                        prev = _o.zeros_like(out)
                    out = _o.where(keep[t], out, _o.zeros_like(out) if self.zero_output_for_mask else prev)
                    new = [_o.where(keep[t], n, s) for n, s in zip(new, states)]
                    prev = out
                states = new
                outputs.append(out)
        finally:
            end = getattr(self.cell, "_end_sequence", None)
            if end is not None:
                end()
        if self.stateful:
            for v, s in zip(self._state_vars, states):
                v.assign(s, read_value=False)
        output = _o.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        if keep is not None and not self.return_sequences and self.zero_output_for_mask:
            output = _o.where(keep[-1], output, _o.zeros_like(output))
        if self.return_state:
            return [output, *states]
        return output

    def compute_output_shape(self, input_shape):
        batch, time = tuple(input_shape)[:2]
        units = getattr(self.cell, "output_size", None) or self.state_size[0]
        out = (batch, time, units) if self.return_sequences else (batch, units)
        if self.return_state:
            return [out, *[(batch, s) for s in self.state_size]]
        return out


class _CellLayer(RNN):
    """``SimpleRNN``, ``LSTM`` and ``GRU``: an ``RNN`` over their own cell; the cell's arguments
    are read back as the layer's attributes."""

    _cell_class, _cell_name = _Cell, "cell"
    _rnn_args = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll",
                 "zero_output_for_mask")

    def __init__(self, units, **kwargs):
        rnn = {k: kwargs.pop(k) for k in self._rnn_args if k in kwargs}
        own = ("name", "trainable", "dtype", "input_shape", "input_dim", "batch_input_shape",
               "activity_regularizer")
        layer_kwargs = {k: kwargs.pop(k) for k in own if k in kwargs}
        kwargs.pop("use_cudnn", None)
        cell = self._cell_class(units, name=self._cell_name, dtype=layer_kwargs.get("dtype"), **kwargs)
        super().__init__(cell, **rnn, **layer_kwargs)

    def __getattr__(self, name):
        # units, activation, kernel, ... are the cell's (only called when normal lookup fails)
        cell = self.__dict__.get("cell")
        if cell is not None and not name.startswith("__"):
            return getattr(cell, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")


class SimpleRNN(_CellLayer):
    """A fully connected RNN (``SimpleRNNCell`` over time).

    >>> import rstf as tf
    >>> layer = tf.keras.layers.SimpleRNN(4, return_state=True)
    >>> out, h = layer(tf.ones([2, 3, 5]))
    >>> out.shape, bool(tf.reduce_all(out == h))
    (TensorShape([2, 4]), True)
    """

    _cell_class, _cell_name = SimpleRNNCell, "simple_rnn_cell"

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, seed=None, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                         return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)


class LSTM(_CellLayer):
    """Long short-term memory (``LSTMCell`` over time); with ``return_state`` it returns
    ``[output, h, c]``.

    >>> import rstf as tf
    >>> out, h, c = tf.keras.layers.LSTM(4, return_state=True)(tf.ones([2, 3, 5]))
    >>> out.shape, c.shape
    (TensorShape([2, 4]), TensorShape([2, 4]))
    """

    _cell_class, _cell_name = LSTMCell, "lstm_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, dropout=0.0, recurrent_dropout=0.0,
                 seed=None, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         unit_forget_bias=unit_forget_bias, dropout=dropout,
                         recurrent_dropout=recurrent_dropout,
                         seed=seed, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)


class GRU(_CellLayer):
    """Gated recurrent unit (``GRUCell`` over time), ``reset_after=True`` by default as in
    Keras 3.

    >>> import rstf as tf
    >>> layer = tf.keras.layers.GRU(4, return_sequences=True)
    >>> layer(tf.ones([2, 3, 5])).shape, [tuple(w.shape) for w in layer.weights]
    (TensorShape([2, 3, 4]), [(5, 12), (4, 12), (2, 12)])
    """

    _cell_class, _cell_name = GRUCell, "gru_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", dropout=0.0, recurrent_dropout=0.0, seed=None,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 reset_after=True, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                         reset_after=reset_after, return_sequences=return_sequences,
                         return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)


def _clone(layer, **overrides):
    """A new layer built from ``layer``'s constructor arguments (its config), with
    ``overrides``; layers among the arguments (an ``RNN``'s cell) are cloned too."""
    args, kwargs = layer.__dict__.get("_init_args", ((), {}))
    sig = inspect.signature(type(layer).__init__)
    bound = sig.bind(None, *args, **kwargs).arguments
    params = list(bound.items())[1:]
    config = {}
    for name, value in params:
        if sig.parameters[name].kind == inspect.Parameter.VAR_KEYWORD:
            config.update(value)
        elif sig.parameters[name].kind != inspect.Parameter.VAR_POSITIONAL:
            config[name] = value
    config = {k: _clone(v) if isinstance(v, Layer) else v for k, v in config.items()}
    config.update(overrides)
    return type(layer)(**config)


_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards and merges the two outputs
    (``merge_mode``: ``'concat'``, ``'sum'``, ``'mul'``, ``'ave'``, or ``None`` for the pair).
    The weights are the forward layer's, then the backward layer's, as in Keras.

    >>> import rstf as tf
    >>> layer = tf.keras.layers.Bidirectional(tf.keras.layers.LSTM(3, return_sequences=True, name="enc"))
    >>> layer(tf.ones([2, 4, 5])).shape
    TensorShape([2, 4, 6])
    >>> layer.forward_layer.name, layer.backward_layer.name
    ('forward_enc', 'backward_enc')
    """

    # The wrapped layer is only a template (its config is cloned): its weights are not these.
    _TF_MODULE_IGNORED_PROPERTIES = frozenset({"_init_args"})

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `Bidirectional` layer with a `keras.layers.Layer` instance. "
                             f"Received: {layer}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError("`backward_layer` need to be a `keras.layers.Layer` instance. "
                             f"Received: {backward_layer}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should be one of "
                             '{"sum", "mul", "ave", "concat", None}')
        if not hasattr(layer, "go_backwards"):
            raise ValueError("Bidirectional: the wrapped layer must be a recurrent layer (with "
                             f"`go_backwards`), got {type(layer).__name__}")
        super().__init__(**kwargs)
        base = layer.name[len("forward_"):] if layer.name.startswith("forward_") else layer.name
        self.forward_layer = _clone(layer, name=f"forward_{base}")
        if backward_layer is None:
            base = layer.name[len("backward_"):] if layer.name.startswith("backward_") else layer.name
            backward_layer = _clone(layer, go_backwards=not layer.go_backwards, name=f"backward_{base}")
        self.backward_layer = backward_layer
        fwd, bwd = self.forward_layer, self.backward_layer
        if fwd.go_backwards == bwd.go_backwards:
            raise ValueError("Forward layer and backward layer should have different `go_backwards` value. "
                             f"Received: forward_layer.go_backwards {fwd.go_backwards}, "
                             f"backward_layer.go_backwards={bwd.go_backwards}")
        for a in ("stateful", "return_sequences", "return_state"):
            if getattr(fwd, a) != getattr(bwd, a):
                raise ValueError(f'Forward layer and backward layer are expected to have the same value for '
                                 f'attribute "{a}", got "{getattr(fwd, a)}" for forward layer and '
                                 f'"{getattr(bwd, a)}" for backward layer')
        for sub in (fwd, bwd):
            if hasattr(sub, "zero_output_for_mask"):
                sub.zero_output_for_mask = sub.return_sequences
        # Sorted first among the attributes, so the weights list forward before backward.
        self._pair = [fwd, bwd]
        self.merge_mode = merge_mode
        self.return_sequences, self.return_state = fwd.return_sequences, fwd.return_state
        self.stateful = fwd.stateful
        if weights:
            self.__dict__["_initial_weights"] = list(weights)

    def build(self, input_shape):
        self.built = True

    def call(self, sequences, initial_state=None, mask=None, training=None):
        fwd_state = bwd_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            fwd_state, bwd_state = list(initial_state[:half]), list(initial_state[half:])
        y = self.forward_layer(sequences, initial_state=fwd_state, mask=mask, training=training)
        y_rev = self.backward_layer(sequences, initial_state=bwd_state, mask=mask, training=training)
        initial = self.__dict__.pop("_initial_weights", None)
        if initial is not None:  # Keras' `weights` argument: set once the layers are built
            self.set_weights(initial)
            return self.call(sequences, initial_state, mask, training)
        states = []
        if self.return_state:
            states = [*y[1:], *y_rev[1:]]
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = _o.reverse(y_rev, [1])
        mode = self.merge_mode
        if mode == "concat":
            output = _o.concat([y, y_rev], axis=-1)
        elif mode == "sum":
            output = y + y_rev
        elif mode == "ave":
            output = (y + y_rev) / 2.0
        elif mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        if self.return_state:
            return [*output, *states] if mode is None else [output, *states]
        return output

    def reset_state(self):
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    reset_states = reset_state


class TimeDistributed(Layer):
    """Applies a layer to every time step (axis 1) of its input, with the same weights.

    >>> import rstf as tf
    >>> layer = tf.keras.layers.TimeDistributed(tf.keras.layers.Dense(2, kernel_initializer="ones"))
    >>> layer(tf.ones([1, 3, 4])).numpy()[0]
    array([[4., 4.],
           [4., 4.],
           [4., 4.]], dtype=float32)
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `TimeDistributed` layer with a `keras.layers.Layer` "
                             f"instance. Received: {layer}")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape):
        if input_shape is None or len(input_shape) < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an `input_shape` with at least 3 "
                             f"dimensions, received: {None if input_shape is None else tuple(input_shape)}")
        self.built = True

    def call(self, inputs, training=None, mask=None):
        x = _o.convert_to_tensor(inputs)
        shape = tuple(x.shape)
        if len(shape) < 3:
            self.build(shape)
        kwargs = {"training": training} if _takes_training(type(self.layer)) else {}
        y = self.layer(_o.reshape(x, [shape[0] * shape[1], *shape[2:]]), **kwargs)
        return _o.reshape(y, [shape[0], shape[1], *tuple(y.shape)[1:]])
