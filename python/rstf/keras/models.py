"""Keras models: ``Model`` (subclassing) and ``Sequential``, with ``compile``/``fit``/
``evaluate``/``predict``/``summary``. ``fit`` runs one traced graph per training step.

>>> import numpy as np, rstf as tf
>>> model = tf.keras.Sequential([tf.keras.layers.Dense(1, kernel_initializer="zeros")])
>>> model.compile(optimizer=tf.optimizers.SGD(0.1), loss="mse")
>>> x = np.linspace(-1, 1, 64).astype("float32")[:, None]
>>> history = model.fit(x, 3 * x, epochs=40, batch_size=16, verbose=0)
>>> round(float(model.layers[0].kernel.numpy()[0, 0]), 2)
3.0
"""

from __future__ import annotations

import itertools
import sys
import time

import numpy as np

from .. import _ops as _o
from .. import data as _data
from .._function import function
from .._tape import GradientTape
from ..distribute import _strategy as _distribute
from ..nest import flatten as nest_flatten
from . import callbacks as _callbacks
from . import functional as _functional
from . import losses as _losses
from . import metrics as _metrics
from . import optimizers as _optimizers
from . import saving as _saving
from . import serialization as _serialization
from .layers import InputLayer, Layer


def _as_array(x, what):
    if x is None:
        return None
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "numpy"):
        return x.numpy()
    return np.asarray(x)


def _metric_fn(name, loss_fn):
    if isinstance(name, _metrics.Metric):
        return name.name, name._batch_value
    if callable(name):
        return getattr(name, "__name__", "metric"), name
    key = name.lower()
    if key in _metrics._BY_NAME:
        return key, _metrics.get(key)._batch_value
    if key in ("accuracy", "acc"):
        def accuracy(y_true, y_pred):
            y_pred = _o.convert_to_tensor(y_pred)
            sparse = loss_fn in (_losses.sparse_categorical_crossentropy,) or (
                len(y_true.shape) < len(y_pred.shape) or (len(y_true.shape) == len(y_pred.shape)
                                                          and y_true.shape[-1] == 1 and y_pred.shape[-1] > 1))
            if sparse:
                labels = _o.reshape(_o.cast(y_true, "int64"), [-1])
                hits = _o.equal(_o.argmax(y_pred, axis=-1), labels)
            elif y_pred.shape[-1] == 1:
                hits = _o.equal(_o.cast(y_pred > 0.5, y_pred.dtype), _o.cast(y_true, y_pred.dtype))
            else:
                hits = _o.equal(_o.argmax(y_pred, axis=-1), _o.argmax(y_true, axis=-1))
            return _o.reduce_mean(_o.cast(hits, "float32"))
        return "accuracy", accuracy
    if key in ("mse", "mean_squared_error"):
        return "mse", lambda a, b: _o.reduce_mean(_losses.mean_squared_error(a, b))
    if key in ("mae", "mean_absolute_error"):
        return "mae", lambda a, b: _o.reduce_mean(_losses.mean_absolute_error(a, b))
    raise ValueError(f"Unknown metric: {name!r}")


class Model(Layer):
    """A layer with a training loop: subclass it and implement ``call``, or give it the inputs
    and outputs of a graph of layer calls (``Model(inputs=..., outputs=...)``, the functional
    API, see ``rstf.keras.functional``)."""

    def __init__(self, *args, **kwargs):
        graph = None
        if args or "inputs" in kwargs or "outputs" in kwargs:
            names = ("inputs", "outputs")
            given = dict(zip(names, args), **{k: kwargs.pop(k) for k in names if k in kwargs})
            if set(given) != set(names):
                raise TypeError("Model: the functional API needs both inputs and outputs")
            graph = _functional.Graph(given["inputs"], given["outputs"])
        kwargs.pop("trainable", None)
        super().__init__(name=kwargs.pop("name", None))
        if graph is not None:
            self.__dict__["_fgraph"] = graph
            self._functional_layers = list(graph.layers)
            self.built = True
            first = graph.flat_inputs[0]
            if len(graph.flat_inputs) == 1 and first.shape.rank:
                dims = [1 if d is None else d for d in tuple(first.shape)]
                self.__dict__["_build_input"] = (first.dtype.name, tuple(dims))
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        if _distribute.has_strategy():  # made in a strategy's scope: compile and fit use it
            self.__dict__["_distribution_strategy"] = _distribute.get_strategy()
        self._compiled = False
        self._call_shapes = {}  # (dtype, shape) of the inputs seen, for saved serving functions

    @property
    def layers(self):
        graph = self.__dict__.get("_fgraph")
        if graph is not None:
            return [t._input_layer for t in graph.flat_inputs] + list(graph.layers)
        return [v for v in self.__dict__.values() if isinstance(v, Layer)]

    @property
    def inputs(self):
        graph = self.__dict__.get("_fgraph")
        return graph.flat_inputs if graph is not None else None

    @property
    def outputs(self):
        graph = self.__dict__.get("_fgraph")
        return nest_flatten(graph.outputs) if graph is not None else None

    def build(self, input_shape=None):
        """Creates the model's weights, as Keras does, by calling it on zeros of
        ``input_shape`` (a ``None`` size taken as 1). When the model is first called instead,
        the call itself builds it.

        >>> import rstf as tf
        >>> model = tf.keras.Sequential([tf.keras.layers.Dense(4), tf.keras.layers.Dense(1)])
        >>> model.build((None, 3))
        >>> [tuple(w.shape) for w in model.weights]
        [(3, 4), (4,), (4, 1), (1,)]
        """
        explicit = not self.built and not self.__dict__.get("_build_in_call")
        self.built = True
        if explicit and input_shape is not None:
            nested = len(input_shape) > 0 and all(
                isinstance(s, (list, tuple)) or hasattr(s, "as_list") for s in input_shape)
            shapes = list(input_shape) if nested else [input_shape]
            zeros = [_o.zeros([1 if d is None else int(d) for d in tuple(s)]) for s in shapes]
            seen = dict(self.__dict__.get("_call_shapes") or {})
            self(zeros if nested else zeros[0], training=False)
            self.__dict__["_call_shapes"] = seen

    def call(self, inputs, training=None):
        graph = self.__dict__.get("_fgraph")
        if graph is None:
            raise NotImplementedError(f"{type(self).__name__}: subclasses of Model implement call()")
        return graph.run(inputs, training=training)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if "functional" in config:
            inputs, outputs = _serialization.functional_from_config(config.pop("functional"), custom_objects)
            return cls(inputs=inputs, outputs=outputs, **config)
        return cls(**config)

    def __call__(self, inputs, *args, **kwargs):
        shapes = self.__dict__.get("_call_shapes")
        if shapes is not None and len(shapes) < 16 and hasattr(inputs, "shape") and hasattr(inputs, "dtype"):
            shapes.setdefault((inputs.dtype.name, tuple(inputs.shape)), None)
        return super().__call__(inputs, *args, **kwargs)

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, run_eagerly=False, **kwargs):
        """Chooses the optimizer, the loss and the metrics for ``fit``."""
        self.optimizer = _optimizers.get(optimizer)
        if loss is None:
            raise ValueError("compile: a loss is required")
        self.loss = loss
        self._loss_fn = _losses.get(loss)
        self._metric_names = [m for m in (metrics or []) if isinstance(m, str)]
        self._metrics = [_metric_fn(m, self._loss_fn) for m in (metrics or [])]
        self.run_eagerly = run_eagerly
        if _distribute.has_strategy():  # fit, evaluate and predict run in this strategy's scope
            made_in, current = self.__dict__.get("_distribution_strategy"), _distribute.get_strategy()
            if made_in is not None and made_in is not current:
                raise ValueError(f"Model {self.name!r} was created in the scope of {made_in!r} but is "
                                 f"compiled in that of {current!r}: compile it in the same scope")
            self.__dict__["_distribution_strategy"] = current
        self._train_fn = None
        self._eval_fn = None
        self._compiled = True

    def _loss_value(self, y, pred):
        value = self._loss_fn(y, pred)
        value = _o.reduce_mean(value) if len(value.shape) else value
        for extra in self.losses:  # add_loss and regularizer penalties, as Keras adds them
            value = value + _o.cast(_o.reduce_sum(extra), value.dtype)
        return value

    def _step_logs(self, y, pred, loss):
        logs = {"loss": loss}
        for name, fn in self._metrics:
            logs[name] = fn(y, pred)
        return logs

    def train_step(self, x, y):
        with GradientTape() as tape:
            pred = self(x, training=True)
            loss = self._loss_value(y, pred)
        variables = self.trainable_variables
        grads = tape.gradient(loss, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        return self._step_logs(y, pred, loss)

    def test_step(self, x, y):
        pred = self(x, training=False)
        return self._step_logs(y, pred, self._loss_value(y, pred))

    def _functions(self):
        if self._train_fn is None:
            self._train_fn = self.train_step if self.run_eagerly else function(self.train_step)
            self._eval_fn = self.test_step if self.run_eagerly else function(self.test_step)
        return self._train_fn, self._eval_fn

    def _check(self, x, y):
        if not self._compiled:
            raise RuntimeError("You must compile your model before training/testing. "
                               "Use `model.compile(optimizer, loss)`.")
        if y is not None and len(x) != len(y):
            raise ValueError(f"Data cardinality is ambiguous: x sizes: {len(x)}, y sizes: {len(y)}. "
                             "Make sure all arrays contain the same number of samples.")

    def _run_epoch(self, fn, batches, cbs=None):
        """Runs ``fn`` on each ``(x, y)`` batch; returns the logs averaged over examples (over
        all workers' examples under a strategy of several workers: each step's gradients are
        averaged over them too)."""
        totals: dict = {}
        seen = 0
        strategy = _distribute.get_strategy()
        try:
            for step, (xb, yb) in enumerate(batches):
                if cbs:
                    for c in cbs:
                        c.on_train_batch_begin(step)
                k = int(xb.shape[0]) if len(xb.shape) else 1
                strategy._step_examples = k
                logs = fn(xb, yb)
                values, k = strategy._reduce_logs({name: float(v) for name, v in logs.items()}, k)
                seen += k
                for name, v in values.items():
                    totals[name] = totals.get(name, 0.0) + v * k
                if cbs:
                    for c in cbs:
                        c.on_train_batch_end(step, {name: totals[name] / max(seen, 1) for name in totals})
                if self.stop_training:
                    break
        finally:
            strategy._step_examples = None
        return {name: t / max(seen, 1) for name, t in totals.items()}

    def _inputs(self, x, y, batch_size, what):
        """``(batches(shuffle), steps)`` for arrays, tensors or a Dataset of ``(x, y)``: under a
        strategy of several workers, each worker's rows of each global batch."""
        strategy = _distribute.get_strategy()
        if isinstance(x, _data.Dataset):
            if y is not None:
                raise ValueError(f"{what}: `y` argument is not supported when using a dataset as input")
            if strategy.num_replicas_in_sync > 1:
                x = strategy.experimental_distribute_dataset(x)
            n = int(x.cardinality())
            if n == _data.INFINITE_CARDINALITY:
                raise ValueError(f"{what}: the dataset is infinite; pass steps_per_epoch (not supported "
                                 "yet) or use a finite dataset")

            def batches(shuffle=False):
                for e in x:
                    if not isinstance(e, tuple) or len(e) != 2:
                        raise ValueError(f"{what}: a dataset must yield (inputs, targets) pairs")
                    xb, yb = e
                    if xb.dtype.name == "float64":
                        xb = _o.cast(xb, "float32")
                    yield xb, yb
            return batches, max(n, 0)
        x, y = _as_array(x, "x"), _as_array(y, "y")
        self._check(x, y)
        for name, a in (("x", x), ("y", y)):
            # Inputs may be text (a model that starts with TextVectorization or StringLookup).
            if a is not None and a.dtype.kind not in ("biufOSU" if name == "x" else "biuf"):
                raise ValueError(f"{what}: {name} has dtype {a.dtype}, which is not a number type")
        if x.dtype == np.float64:
            x = x.astype(np.float32)
        rng = np.random.default_rng(strategy._shared_seed())  # workers shuffle alike

        def batches(shuffle=False):
            order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
            for start in range(0, len(x), batch_size):
                idx = order[start:start + batch_size]
                first, stop = strategy._shard_rows(len(idx))
                idx = idx[first:stop]
                yield _o.constant(x[idx]), _o.constant(y[idx])
        return batches, (len(x) + batch_size - 1) // batch_size

    @_distribute.in_model_scope
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0, **kwargs):
        """Trains for ``epochs`` passes over ``(x, y)`` (arrays, tensors, or a Dataset of
        ``(x, y)`` batches); returns a ``History``. Under a ``tf.distribute`` strategy of
        several workers, ``batch_size`` is the global batch: each worker trains on its rows of
        it, the gradients and logs are averaged over all of them, callbacks run on every
        worker (with the same logs) and only the chief prints and writes files."""
        if not self._compiled:
            self._check(x, y)
        batch_size = batch_size or 32
        if validation_split and not isinstance(x, _data.Dataset):
            x, y = _as_array(x, "x"), _as_array(y, "y")
            self._check(x, y)
            cut = int(len(x) * (1.0 - validation_split))
            x, y, validation_data = x[:cut], y[:cut], (x[cut:], y[cut:])
        elif validation_split:
            raise ValueError("fit: validation_split is not supported with a dataset; pass validation_data")
        train_batches, steps = self._inputs(x, y, batch_size, "fit")
        val_batches = None
        if validation_data is not None:
            vd = validation_data
            val_batches = (self._inputs(vd, None, batch_size, "fit")[0] if isinstance(vd, _data.Dataset)
                           else self._inputs(vd[0], vd[1], batch_size, "fit")[0])
        if not self.built:
            first_x, _ = next(iter(train_batches()))
            self(first_x[:1])
        train_fn, eval_fn = self._functions()
        history = _callbacks.History()
        verbose = 1 if verbose == "auto" else verbose
        if not _distribute.should_write(self):
            verbose = 0  # only the chief prints
        cbs = [history, *(callbacks or [])]
        if verbose == 1:
            cbs.append(_callbacks.ProgbarLogger())
        for c in cbs:
            c.set_model(self)
            c.set_params({"epochs": epochs, "verbose": verbose, "steps": steps})
            c.on_train_begin()
        # BackupAndRestore resumes after the last epoch it backed up.
        initial_epoch = max(initial_epoch, self.__dict__.pop("_initial_epoch", initial_epoch))
        strategy = _distribute.get_strategy()
        self.stop_training = False
        for epoch in range(initial_epoch, epochs):
            for c in cbs:
                c.on_epoch_begin(epoch)
            t0 = time.perf_counter()
            logs = self._run_epoch(train_fn, train_batches(shuffle), cbs)
            if val_batches is not None:
                vlogs = self._run_epoch(eval_fn, val_batches())
                logs.update({f"val_{k}": v for k, v in vlogs.items()})
            dt = time.perf_counter() - t0
            if verbose == 2:
                values = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
                print(f"Epoch {epoch + 1}/{epochs} - {dt:.0f}s - {values}")
                sys.stdout.flush()
            for c in cbs:
                c.on_epoch_end(epoch, logs)
            if strategy.num_replicas_in_sync > 1:
                self.stop_training = strategy._agree_flag(self.stop_training)
            if self.stop_training:
                break
        for c in cbs:
            c.on_train_end()
        history.model = self
        return history

    @_distribute.in_model_scope
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 return_dict=False, **kwargs):
        """The loss (and metrics) over ``(x, y)`` or a Dataset of ``(x, y)`` batches (its
        first ``steps`` batches when ``steps`` is given)."""
        if not self._compiled:
            self._check(x, y)
        batches, _ = self._inputs(x, y, batch_size or 32, "evaluate")
        _, eval_fn = self._functions()
        logs = self._run_epoch(eval_fn, itertools.islice(batches(), steps))
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    @_distribute.in_model_scope
    def predict(self, x, batch_size=None, verbose="auto", steps=None, **kwargs):
        """The model's outputs for ``x`` (arrays, tensors, or a Dataset of inputs or of
        ``(x, y)`` pairs), as a numpy array: for its first ``steps`` batches when ``steps`` is
        given. Under a strategy of several workers, each computes all of them."""
        if isinstance(x, _data.Dataset):
            outs = []
            for e in itertools.islice(x, steps):
                xb = e[0] if isinstance(e, tuple) else e
                if xb.dtype.name == "float64":
                    xb = _o.cast(xb, "float32")
                outs.append(np.asarray(self(xb, training=False)))
            return np.concatenate(outs) if outs else np.zeros((0,), np.float32)
        x = _as_array(x, "x")
        if x.dtype == np.float64:
            x = x.astype(np.float32)
        batch_size = batch_size or 32
        starts = range(0, len(x), batch_size)[:steps]
        outs = [np.asarray(self(_o.constant(x[i:i + batch_size]), training=False)) for i in starts]
        return np.concatenate(outs) if outs else np.zeros((0,), np.float32)

    def summary(self, print_fn=print):
        """Prints the layers and their parameter counts."""
        rows = [(f"{layer.name} ({type(layer).__name__})",
                 str(layer.__dict__.get("_output_shape", "?")).replace(",)", ")"), layer.count_params())
                for layer in self.layers]
        width = max([len(r[0]) for r in rows] + [20]) + 2
        shape_w = max([len(r[1]) for r in rows] + [12]) + 4
        line = width + shape_w + 10
        print_fn(f'Model: "{self.name}"')
        print_fn("_" * line)
        print_fn(f"{'Layer (type)':<{width}}{'Output Shape':<{shape_w}}Param #")
        print_fn("=" * line)
        for name, shape, count in rows:
            print_fn(f"{name:<{width}}{shape:<{shape_w}}{count}")
        print_fn("=" * line)
        total = self.count_params()
        trainable = int(sum(np.prod(v.shape) for v in self.trainable_variables))
        print_fn(f"Total params: {total}")
        print_fn(f"Trainable params: {trainable}")
        print_fn(f"Non-trainable params: {total - trainable}")

    def save(self, filepath, overwrite=True, **kwargs):
        """Saves the model: to a SavedModel directory, or to one zip file if ``filepath``
        ends with ``.keras``. ``rstf.keras.models.load_model`` reads both. Under a strategy
        of several workers, only the chief writes."""
        if _distribute.should_write(self):
            _saving.save_model(self, filepath, overwrite)

    def save_weights(self, filepath, overwrite=True, **kwargs):
        """Writes the layers' weights (a safetensors file, keyed by object path); under a
        strategy of several workers, only the chief writes."""
        if _distribute.should_write(self):
            _saving.save_weights(self, filepath, overwrite)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Reads weights written by ``save_weights`` (into layers built later if need be)."""
        _saving.load_weights(self, filepath, skip_mismatch)

    def _saved_model_extra(self):
        return {"keras": _serialization.model_metadata(self)}


class _RevivedModel(Model):
    """A model loaded from a SavedModel directory whose class was not found: it calls the
    saved serving function (traced for the input shape the model was built with) and trains
    the loaded variables."""

    def __init__(self, restored):
        super().__init__(name=restored.__dict__.get("_saved_class", "model"))
        self._restored = restored
        sigs = getattr(restored, "signatures", None)
        self._serve = sigs.get("serving_default") if isinstance(sigs, dict) else None
        self.built = True

    def call(self, inputs, training=None):
        if self._serve is None:
            raise ValueError(f"{self.name}: the saved model has no serving function to call")
        return self._serve(inputs)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model written by ``Model.save`` (a directory or a ``.keras`` file)."""
    return _saving.load_model(filepath, custom_objects, compile, safe_mode)


class Sequential(Model):
    """A stack of layers applied in order."""

    def __init__(self, layers=None, name=None):
        super().__init__(name=name)
        self._layers = []
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        if isinstance(layer, _functional.KerasTensor) and layer._input_layer is not None:
            layer = layer._input_layer
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError("Sequential: an Input can only be the first layer")
            self.__dict__["_input"] = layer
            return
        declared = layer.__dict__.get("_input_shape_arg")
        if not self._layers and declared is not None and "_input" not in self.__dict__:
            # As Keras: a first layer given input_shape declares the model's input.
            self.__dict__["_input"] = InputLayer(shape=declared, dtype=layer.dtype)
        self._layers.append(layer)
        spec = self.__dict__.get("_input")
        if spec is not None:
            # With a declared input, each layer is built as it is added (summary shows them).
            self(_o.zeros([1, *spec.shape], spec.dtype), training=False)
            self.__dict__["_call_shapes"] = {}

    @property
    def layers(self):
        return list(self._layers)

    def call(self, inputs, training=None):
        x = inputs
        for layer in self._layers:
            if "training" in layer.call.__code__.co_varnames:
                x = layer(x, training=training)
            else:
                x = layer(x)
        return x
