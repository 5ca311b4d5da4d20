"""``keras.callbacks.TensorBoard``: training logs for TensorBoard, written with ``rstf.summary``."""

from __future__ import annotations

import os
import time
import warnings

import numpy as np

from .. import _ops as _o
from .. import summary as _summary
from .callbacks import Callback


class TensorBoard(Callback):
    """Writes TensorBoard logs during ``fit``: under ``log_dir/train`` the epoch's loss and
    metrics as ``epoch_<name>`` scalars (with ``epoch_learning_rate``), and under
    ``log_dir/validation`` the validation ones as ``epoch_<name>`` and
    ``evaluation_<name>_vs_iterations`` (at the optimizer's iteration count), as Keras does.

    - ``update_freq``: ``"epoch"``, or ``"batch"`` (= 1) or an integer ``N``: the running
      loss and metrics are also written every ``N`` batches as ``batch_<name>``, at the batch
      count of this ``fit``; summaries the model writes itself (``tf.summary`` calls in
      ``call``) go to the train log, at the optimizer's iteration count, every ``N`` steps.
    - ``histogram_freq``: every that many epochs, a histogram of each weight, named
      ``<layer name>/<weight name>/histogram``; with ``write_images``, the weights shown as
      images too (``/image``), as Keras shows them.
    - ``write_steps_per_second``: also ``epoch_steps_per_second`` (and per batch).
    - ``write_graph`` is accepted and writes nothing (rstf's graphs have no TensorBoard form
      yet); ``profile_batch`` and ``embeddings_freq`` other than 0 warn and do nothing
      (rstf has no profiler, and no embedding projector export).

    Writing needs the ``tensorboard`` package (``pip install rstf[tensorboard]``).

    >>> import os, tempfile, numpy as np, rstf as tf
    >>> logdir = tempfile.mkdtemp()
    >>> model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> _ = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=2, verbose=0, validation_split=0.25,
    ...               callbacks=[tf.keras.callbacks.TensorBoard(logdir, histogram_freq=1)])
    >>> sorted(os.listdir(logdir))
    ['train', 'validation']
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = int(histogram_freq or 0)
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (isinstance(update_freq, bool) or not isinstance(update_freq, int)
                                       or update_freq < 1):
            raise ValueError("TensorBoard: update_freq must be 'epoch', 'batch' or a positive integer, "
                             f"got {update_freq!r}")
        self.update_freq = update_freq
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        if self.histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be non-negative, got {histogram_freq}")
        if profile_batch not in (0, "0", (0, 0), [0, 0], "0,0", None):
            warnings.warn(f"TensorBoard: profile_batch={profile_batch!r} is ignored: rstf has no profiler",
                          stacklevel=2)
        if embeddings_freq:
            warnings.warn("TensorBoard: embeddings_freq is ignored: rstf does not export embeddings for "
                          "the projector", stacklevel=2)
        self._writers: dict = {}
        self._pushed: list = []
        self._global_train_batch = 0
        self._epoch_start = 0.0
        self._epoch_iterations = 0

    def set_model(self, model):
        self.model = model
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers = {}

    def _writer(self, which):
        """The train or validation writer, created on first use (no empty logs)."""
        if which not in self._writers:
            path = self._train_dir if which == "train" else self._val_dir
            self._writers[which] = _summary.create_file_writer(path)
        return self._writers[which]

    def _iterations(self):
        opt = getattr(self.model, "optimizer", None)
        return getattr(opt, "iterations", None)

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        if self.update_freq == "epoch":
            return
        # Summaries written by the model itself: to the train log, every update_freq steps.
        step = self._iterations()
        freq = self.update_freq
        if step is None:
            contexts = [self._writer("train").as_default(0), _summary.record_if(True)]
        else:
            contexts = [self._writer("train").as_default(step),
                        _summary.record_if(lambda: _o.equal(step % freq, 0))]
        for c in contexts:
            c.__enter__()
        self._pushed = contexts

    def on_train_end(self, logs=None):
        for c in reversed(self._pushed):
            c.__exit__(None, None, None)
        self._pushed = []
        for w in self._writers.values():
            w.close()
        self._writers = {}

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        it = self._iterations()
        self._epoch_iterations = int(it.numpy()) if it is not None else 0

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        self._batch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        values = dict(logs) if isinstance(logs, dict) else {}
        if self.write_steps_per_second:
            values["steps_per_second"] = 1.0 / max(time.perf_counter() - self._batch_start, 1e-9)
        with self._writer("train").as_default(), _summary.record_if(True):
            for name, value in values.items():
                _summary.scalar("batch_" + name, value, step=self._global_train_batch)

    def _learning_rate(self):
        opt = getattr(self.model, "optimizer", None)
        lr = getattr(opt, "learning_rate", None)
        if lr is None:
            return None
        if callable(lr):  # a schedule: its value at the current step
            lr = lr(self._iterations())
        return float(np.asarray(lr.numpy() if hasattr(lr, "numpy") else lr))

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        lr = self._learning_rate()
        if lr is not None:
            train["learning_rate"] = lr
        if self.write_steps_per_second:
            it = self._iterations()
            steps = (int(it.numpy()) if it is not None else 0) - self._epoch_iterations
            train["steps_per_second"] = steps / max(time.perf_counter() - self._epoch_start, 1e-9)
        with _summary.record_if(True):
            if train:
                with self._writer("train").as_default():
                    for name, value in train.items():
                        _summary.scalar("epoch_" + name, value, step=epoch)
            if val:
                it = self._iterations()
                with self._writer("validation").as_default():
                    for name, value in val.items():
                        _summary.scalar("epoch_" + name, value, step=epoch)
                    if it is not None:
                        for name, value in val.items():
                            _summary.scalar(f"evaluation_{name}_vs_iterations", value, step=it)
            if self.histogram_freq and epoch % self.histogram_freq == 0:
                self._log_weights(epoch)

    def _log_weights(self, epoch):
        with self._writer("train").as_default():
            for layer in self.model.layers:
                for weight in layer.weights:
                    name = f"{layer.name}/{weight.name.split(':')[0]}"
                    _summary.histogram(f"{name}/histogram", weight, step=epoch)
                    if self.write_images:
                        self._log_weight_as_image(weight, f"{name}/image", epoch)

    @staticmethod
    def _log_weight_as_image(weight, name, epoch):
        """Keras' picture of a weight: a bias as a row, a dense kernel as a matrix (wider
        than tall), a convolution kernel as one image per output channel."""
        w = np.squeeze(weight.numpy())
        if w.ndim == 1:
            w = w.reshape(1, w.shape[0], 1, 1)
        elif w.ndim == 2:
            if w.shape[0] > w.shape[1]:
                w = w.T
            w = w.reshape(1, w.shape[0], w.shape[1], 1)
        elif w.ndim == 3:
            w = np.transpose(w, (2, 0, 1))
            w = w.reshape(w.shape[0], w.shape[1], w.shape[2], 1)
        if w.ndim == 4 and w.shape[-1] in (1, 3, 4):
            _summary.image(name, w, step=epoch)
