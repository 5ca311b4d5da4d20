"""Training callbacks (``rstf.keras.callbacks``)."""

from __future__ import annotations

import csv
import math
import os
import sys
import time

import numpy as np

from ..distribute import _strategy as _distribute


class Callback:
    """Base class: override the ``on_*`` hooks."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass


class ProgbarLogger(Callback):
    """Keras' progress bar for ``fit(verbose=1)``: ``Epoch i/n``, then a bar updated in place
    after each step on an interactive terminal, and one final line per epoch with the time per
    step and the epoch's logs (the only line written when the output is not a terminal).

    >>> import io
    >>> bar = ProgbarLogger(stream=io.StringIO())
    >>> bar.set_params({"epochs": 1, "steps": 4})
    >>> bar.on_epoch_begin(0)
    >>> bar.on_epoch_end(0, {"loss": 0.5})
    >>> print(bar.stream.getvalue().splitlines()[1][:36])
    4/4 [==============================]
    """

    WIDTH = 30

    def __init__(self, stream=None, interactive=None):
        super().__init__()
        self.stream = stream
        self.interactive = interactive

    def _out(self):
        return self.stream if self.stream is not None else sys.stdout

    def _live(self):
        if self.interactive is not None:
            return self.interactive
        out = self._out()
        return bool(getattr(out, "isatty", lambda: False)()) or "ipykernel" in sys.modules

    def _bar(self, done, steps):
        width = len(str(steps))
        if not steps:
            return f"{done}/Unknown"
        filled = int(self.WIDTH * done / steps)
        arrow = "=" * filled if done >= steps else "=" * max(filled - 1, 0) + ">"
        return f"{done:>{width}}/{steps} [{arrow}{'.' * (self.WIDTH - len(arrow))}]"

    @staticmethod
    def _values(logs):
        return " - ".join(f"{k}: {v:.4f}" for k, v in (logs or {}).items())

    def on_epoch_begin(self, epoch, logs=None):
        self._start = self._last = time.perf_counter()
        out = self._out()
        out.write(f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}\n")
        out.flush()

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        steps = self.params.get("steps") or 0
        if not self._live() or (now - self._last < 0.05 and 0 < batch < steps - 1):
            return
        self._last = now
        done = batch + 1
        eta = (now - self._start) / done * max(steps - done, 0)
        line = f"\r{self._bar(done, steps)} - ETA: {eta:.0f}s - {self._values(logs)}"
        out = self._out()
        out.write(line)
        out.flush()

    def on_epoch_end(self, epoch, logs=None):
        dt = time.perf_counter() - self._start
        steps = self.params.get("steps") or 0
        per_step = dt / max(steps, 1)
        unit = f"{per_step * 1e3:.0f}ms/step" if per_step < 1 else f"{per_step:.0f}s/step"
        line = f"{self._bar(steps, steps)} - {dt:.0f}s {unit} - {self._values(logs)}"
        out = self._out()
        out.write(("\r" + line + " " * 8 if self._live() else line) + "\n")
        out.flush()


class History(Callback):
    """Records the logs of each epoch in ``history``."""

    def __init__(self):
        super().__init__()
        self.history: dict = {}
        self.epoch: list = []

    def on_train_begin(self, logs=None):
        self.history, self.epoch = {}, []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


class EarlyStopping(Callback):
    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto",
                 restore_best_weights=False):
        super().__init__()
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        self.sign = -1.0 if (mode == "max" or (mode == "auto" and "acc" in monitor)) else 1.0
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.best_weights = math.inf, 0, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        score = self.sign * value
        if score < self.best - self.min_delta:
            self.best, self.wait = score, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait > self.patience:
                self.model.stop_training = True
                if self.best_weights is not None:
                    self.model.set_weights(self.best_weights)


class TerminateOnNaN(Callback):
    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and (math.isnan(loss) or math.isinf(loss)):
            self.model.stop_training = True


class LearningRateScheduler(Callback):
    def __init__(self, schedule):
        super().__init__()
        self.schedule = schedule

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        opt.learning_rate = float(self.schedule(epoch, float(opt.learning_rate)))


class ModelCheckpoint(Callback):
    """Saves the model (or its weights) after epochs: every epoch, or only when the monitored
    value improves (``save_best_only``). ``filepath`` may hold ``{epoch}`` and log keys, as
    ``'ckpt/{epoch:02d}-{val_loss:.2f}.keras'``.

    >>> import os, tempfile, numpy as np, rstf as tf
    >>> d = tempfile.mkdtemp()
    >>> model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> cb = tf.keras.callbacks.ModelCheckpoint(os.path.join(d, "w-{epoch}.weights.h5"),
    ...                                         save_weights_only=True)
    >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[cb])
    >>> sorted(os.listdir(d))
    ['w-1.weights.h5', 'w-2.weights.h5']
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__()
        if save_freq != "epoch":
            raise ValueError("ModelCheckpoint: only save_freq='epoch' is supported")
        self.filepath, self.monitor, self.verbose = str(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.sign = -1.0 if (mode == "max" or (mode == "auto" and "acc" in monitor)) else 1.0
        self.best = math.inf if initial_value_threshold is None else self.sign * initial_value_threshold

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None:
                import warnings

                warnings.warn(f"ModelCheckpoint: can save best model only with {self.monitor} "
                              "available, skipping.", stacklevel=2)
                return
            if self.sign * value >= self.best:
                return
            self.best = self.sign * value
        path = self.filepath.format(epoch=epoch + 1, **logs)
        d = os.path.dirname(path)
        if d:
            os.makedirs(d, exist_ok=True)
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class BackupAndRestore(Callback):
    """Backs up the training state (the model's weights, the optimizer's state, the epoch) in
    ``backup_dir`` at the end of every epoch, so that ``fit`` started again after an
    interruption (a worker that died, a preempted job) resumes after the last completed epoch.
    The backup is deleted when ``fit`` ends normally (``delete_checkpoint``). Under a strategy of
    several workers the chief writes it, every worker waits for the write (so the backup is
    complete whichever worker stops next) and every worker reads it back.

    >>> import tempfile, numpy as np, rstf as tf
    >>> d = tempfile.mkdtemp()
    >>> model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> class Interrupt(tf.keras.callbacks.Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         if epoch == 1:
    ...             raise RuntimeError("interrupted")
    >>> x, y = np.ones((4, 2)), np.ones((4, 1))
    >>> try:
    ...     model.fit(x, y, epochs=4, verbose=0,
    ...               callbacks=[tf.keras.callbacks.BackupAndRestore(d), Interrupt()])
    ... except RuntimeError:
    ...     pass
    >>> model.fit(x, y, epochs=4, verbose=0, callbacks=[tf.keras.callbacks.BackupAndRestore(d)]).epoch
    [2, 3]
    """

    _STATE = "backup_state.json"

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True, save_before_preemption=False):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch":
            raise ValueError(f"BackupAndRestore: only save_freq='epoch' is supported, got {save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq, self.delete_checkpoint = save_freq, delete_checkpoint
        self._ckpt = None

    def _state_path(self):
        return os.path.join(self.backup_dir, self._STATE)

    def on_train_begin(self, logs=None):
        import json

        from .. import train

        # Every worker makes the checkpoint object (its counter variable is mirrored).
        self._ckpt = train.Checkpoint(model=self.model, optimizer=self.model.optimizer)
        if not os.path.exists(self._state_path()):
            return
        with open(self._state_path(), encoding="utf-8") as f:
            state = json.load(f)
        self._ckpt.restore(os.path.join(self.backup_dir, state["checkpoint"])).expect_partial()
        self.model.__dict__["_initial_epoch"] = int(state["epoch"]) + 1

    def on_epoch_end(self, epoch, logs=None):
        import json

        strategy = _distribute.model_strategy(self.model)
        if strategy._is_chief():
            os.makedirs(self.backup_dir, exist_ok=True)
            name = f"ckpt-{epoch + 1}"
            self._ckpt.write(os.path.join(self.backup_dir, name))
            tmp = self._state_path() + f".tmp-{os.getpid()}"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"epoch": epoch, "checkpoint": name}, f)
            os.replace(tmp, self._state_path())  # the backup is the new one only once complete
            for old in os.listdir(self.backup_dir):
                if old.startswith("ckpt-") and old.split(".")[0] != name:
                    os.remove(os.path.join(self.backup_dir, old))
        if strategy.num_replicas_in_sync > 1:
            strategy._barrier("BackupAndRestore: the backup of the epoch")

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and _distribute.should_write(self.model):
            import shutil

            shutil.rmtree(self.backup_dir, ignore_errors=True)


class CSVLogger(Callback):
    """Writes one CSV row of logs per epoch (``epoch`` then the log keys, sorted).

    >>> import os, tempfile, numpy as np, rstf as tf
    >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
    >>> model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0,
    ...               callbacks=[tf.keras.callbacks.CSVLogger(path)])
    >>> open(path).read().splitlines()[0]
    'epoch,loss'
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.separator, self.append = str(filename), separator, append
        self._file = None
        self._keys = None

    def on_train_begin(self, logs=None):
        if not _distribute.should_write(self.model):
            return  # under a strategy of several workers, the chief writes
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._keys = None
        self._header_written = exists

    def on_epoch_end(self, epoch, logs=None):
        if self._file is None:
            return
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
        writer = csv.writer(self._file, delimiter=self.separator)
        if not self._header_written:
            writer.writerow(["epoch", *self._keys])
            self._header_written = True
        writer.writerow([epoch, *(_csv_value(logs.get(k, "NA")) for k in self._keys)])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


def _csv_value(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


_UP = ("acc", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2")
_DOWN = ("loss", "error", "mse", "mae", "mape", "msle", "hinge", "crossentropy", "divergence", "poisson",
         "cosh", "kld")


def _improves(monitor, mode, what):
    """``(better, sign)``: whether higher is better for ``monitor`` under ``mode``."""
    if mode == "max":
        return True
    if mode == "min":
        return False
    name = monitor.removeprefix("val_")
    if name == "loss" or any(k in name for k in _DOWN):
        return False
    if any(k in name for k in _UP):
        return True
    raise ValueError(f"{what} callback received monitor={monitor}, but Keras isn't able to automatically "
                     "determine whether that metric should be maximized or minimized. Pass `mode='max'` in "
                     "order to monitor based on the highest metric value, or pass `mode='min'` in order to "
                     "use the lowest value.")


class ReduceLROnPlateau(Callback):
    """Multiplies the optimizer's learning rate by ``factor`` when ``monitor`` has not improved
    by more than ``min_delta`` for ``patience`` epochs (then waits ``cooldown`` epochs), not
    going below ``min_lr``; it adds ``learning_rate`` to the epoch's logs.

    >>> import numpy as np, rstf as tf
    >>> model = tf.keras.Sequential([tf.keras.layers.Dense(1, kernel_initializer="zeros")])
    >>> model.compile(optimizer=tf.keras.optimizers.SGD(0.5), loss="mse")
    >>> cb = tf.keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0,
    ...                                           min_delta=10.0)
    >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=3, verbose=0, callbacks=[cb])
    >>> model.optimizer.learning_rate
    0.125
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        if mode not in ("auto", "min", "max"):
            import warnings

            warnings.warn(f"ReduceLROnPlateau mode '{mode}' is unknown, fallback to auto mode.", stacklevel=2)
            mode = "auto"
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(min_delta)
        self.factor, self.min_lr, self.patience, self.verbose = factor, min_lr, patience, verbose
        self.cooldown = cooldown
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0
        self._higher = None

    def on_train_begin(self, logs=None):
        self.best, self.cooldown_counter, self.wait = None, 0, 0

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def _is_improvement(self, current):
        if self.best is None:
            return True
        if self._higher:
            return current - self.min_delta > self.best
        return current + self.min_delta < self.best

    def on_epoch_end(self, epoch, logs=None):
        if self._higher is None:
            self._higher = _improves(self.monitor, self.mode, "ReduceLROnPlateau")
        logs = logs if logs is not None else {}
        opt = self.model.optimizer
        logs["learning_rate"] = float(opt.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            import warnings

            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(list(logs.keys()))}.", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old = float(opt.learning_rate)
                if old > float(np.float32(self.min_lr)):
                    new = max(old * self.factor, self.min_lr)
                    opt.learning_rate = new
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class LambdaCallback(Callback):
    """A callback from functions: ``on_epoch_begin(epoch, logs)``, ``on_epoch_end(epoch, logs)``,
    ``on_train_begin(logs)``, ``on_train_end(logs)``, ``on_train_batch_begin(batch, logs)``,
    ``on_train_batch_end(batch, logs)``.

    >>> import numpy as np, rstf as tf
    >>> seen = []
    >>> cb = tf.keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    >>> model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=3, verbose=0, callbacks=[cb])
    >>> seen
    [0, 1, 2]
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        # (fit may call a hook without logs: Keras always passes them, so they are passed here)
        for name, fn in (("on_epoch_begin", on_epoch_begin), ("on_epoch_end", on_epoch_end),
                         ("on_train_batch_begin", on_train_batch_begin),
                         ("on_train_batch_end", on_train_batch_end)):
            if fn is not None:
                setattr(self, name, lambda step, logs=None, fn=fn: fn(step, logs if logs is not None else {}))
        for name, fn in (("on_train_begin", on_train_begin), ("on_train_end", on_train_end)):
            if fn is not None:
                setattr(self, name, lambda logs=None, fn=fn: fn(logs if logs is not None else {}))


def __getattr__(name):
    # TensorBoard lives in a module of its own (it derives from Callback, defined here).
    if name == "TensorBoard":
        from ._tensorboard_callback import TensorBoard

        return TensorBoard
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
