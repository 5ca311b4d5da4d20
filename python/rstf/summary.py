"""TensorBoard summaries (``tf.summary``): scalars, histograms, images and text written to
event files that TensorBoard reads.

A summary goes to the default writer (set by ``writer.as_default()`` or
``writer.set_as_default()``) at an integer step (the ``step`` argument, else the default step
of ``as_default(step=...)`` or ``tf.summary.experimental.set_step``). With no default writer a
summary writes nothing and returns ``False``; a written one returns ``True`` (both as bool
tensors, as TensorFlow returns them). Inside a ``tf.function`` a summary is a graph node that
writes on every call, with the values and the step of that call; the writer and the recording
condition are the ones in effect while the function is traced.

The event files are written with the ``tensorboard`` package (``pip install rstf[tensorboard]``),
imported when the first writer is created.

>>> import rstf as tf
>>> import tempfile
>>> writer = tf.summary.create_file_writer(tempfile.mkdtemp())
>>> with writer.as_default(step=0):
...     tf.summary.scalar("loss", 0.25)
<rstf.Tensor: shape=(), dtype=bool, numpy=True>
>>> tf.summary.scalar("loss", 0.25, step=1)  # no default writer here
<rstf.Tensor: shape=(), dtype=bool, numpy=False>
>>> step = tf.Variable(0, dtype=tf.int64)
>>> @tf.function
... def train_step(x):
...     step.assign_add(1)
...     with writer.as_default():
...         tf.summary.scalar("x", x, step=step)  # written at each call, with that call's step
...     return x * 2.0
>>> for i in range(3):
...     _ = train_step(tf.constant(float(i)))
>>> writer.close()
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import io
import os
import threading
import time
import types
import weakref

import numpy as np

from . import _ops, _rstf
from ._rstf import Tensor
from .errors import InvalidArgumentError

# ----------------------------------------------------------------------------- state


class _SummaryState(threading.local):
    """The default writer, step and recording condition, per thread."""

    def __init__(self):
        super().__init__()
        self.writer = None
        self.step = None
        self.is_recording = None


_state = _SummaryState()

_INSTALL = "pip install rstf[tensorboard]"


@functools.cache
def _tb():
    """The parts of the ``tensorboard`` package that writing needs, imported on first use."""
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.plugins.histogram import metadata as histogram_metadata
        from tensorboard.plugins.image import metadata as image_metadata
        from tensorboard.plugins.scalar import metadata as scalar_metadata
        from tensorboard.plugins.text import metadata as text_metadata
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
        from tensorboard.util import tensor_util
    except ImportError as e:
        raise ImportError("tf.summary writes TensorBoard event files with the `tensorboard` "
                          f"package, which is not installed: {_INSTALL}") from e
    return types.SimpleNamespace(
        event_pb2=event_pb2, summary_pb2=summary_pb2, EventFileWriter=EventFileWriter,
        make_tensor_proto=tensor_util.make_tensor_proto,
        metadata={"scalars": scalar_metadata, "histograms": histogram_metadata,
                  "images": image_metadata, "text": text_metadata})


def _png(image: np.ndarray) -> bytes:
    """One ``[h, w, c]`` uint8 image as PNG bytes."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError("tf.summary.image encodes PNG images with pillow (a dependency of "
                          f"tensorboard), which is not installed: {_INSTALL}") from e
    buf = io.BytesIO()
    Image.fromarray(image[:, :, 0] if image.shape[-1] == 1 else image).save(buf, format="PNG")
    return buf.getvalue()


# ----------------------------------------------------------------------------- writers


class _WriterContext:
    """What ``SummaryWriter.as_default`` returns: makes the writer (and the step, when given)
    the default on entry, restores the previous ones and flushes the writer on exit."""

    def __init__(self, writer, step=None):
        self._writer = writer
        self._step = step
        self._old_writer = None
        self._old_step = None

    def __enter__(self):
        self._old_writer = _state.writer
        _state.writer = self._writer
        if self._step is not None:
            self._old_step = _state.step
            _state.step = self._step
        return self._writer

    def __exit__(self, *exc):
        _state.writer.flush()
        _state.writer = self._old_writer
        if self._step is not None:
            _state.step = self._old_step
        return False


class SummaryWriter:
    """A summary writer (``tf.summary.SummaryWriter``): the interface of what
    :func:`create_file_writer` and :func:`create_noop_writer` return."""

    def set_as_default(self, step=None):
        """Makes this writer the default for the current thread, and ``step`` (when not None)
        the default step: a number, or a ``tf.Variable`` read at each summary."""
        self.as_default(step).__enter__()

    def as_default(self, step=None):
        """A context manager that makes this writer (and ``step``, when not None) the default
        inside it, and flushes the writer on exit.

        >>> import rstf as tf
        >>> import tempfile
        >>> writer = tf.summary.create_file_writer(tempfile.mkdtemp())
        >>> with writer.as_default(step=3):
        ...     tf.summary.experimental.get_step()
        3
        >>> tf.summary.experimental.get_step() is None
        True
        """
        return _WriterContext(self, step)

    def init(self):
        """Initializes the writer (its event file exists from the start)."""
        raise NotImplementedError()

    def flush(self):
        """Writes what is buffered to the event file."""
        raise NotImplementedError()

    def close(self):
        """Flushes and closes the writer."""
        raise NotImplementedError()


_OPEN: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _flush_open_writers():
    for w in list(_OPEN):
        with contextlib.suppress(Exception):
            w.flush()


class _FileWriter(SummaryWriter):
    """A writer to one event file in ``logdir``."""

    def __init__(self, logdir, max_queue, flush_millis, filename_suffix):
        tb = _tb()
        self._tb = tb
        self._logdir = logdir
        self._events = tb.EventFileWriter(logdir, max_queue_size=max_queue,
                                          flush_secs=flush_millis / 1000.0, filename_suffix=filename_suffix)
        self._closed = False
        self._metadata: dict = {}
        _OPEN.add(self)

    def __repr__(self):
        return f"<rstf.summary.SummaryWriter logdir={self._logdir!r}>"

    def _check_open(self, traced=False):
        if self._closed:
            hint = (" (a tf.function traced while it was the default writer writes to it on every "
                    "call; trace the function again under an open writer)") if traced else ""
            raise RuntimeError(f"SummaryWriter is already closed{hint}")

    def set_as_default(self, step=None):
        self._check_open()
        super().set_as_default(step)

    def as_default(self, step=None):
        self._check_open()
        return super().as_default(step)

    def init(self):
        self._check_open()

    def flush(self):
        if _rstf.is_tracing():  # a node that flushes on every call
            _rstf.trace_callback("FlushSummaryWriter", lambda: self.flush() or [], [], [])
            return None
        if not self._closed:
            self._events.flush()
        return None

    def close(self):
        if _rstf.is_tracing():
            _rstf.trace_callback("CloseSummaryWriter", lambda: self.close() or [], [], [])
            return None
        if not self._closed:
            self._closed = True
            self._events.close()
            _OPEN.discard(self)
        return None

    def __del__(self):
        try:
            if not self._closed:
                self._events.close()
        except Exception:  # at interpreter exit the file may be gone already
            pass

    def _write(self, tag, tensor, meta, step, traced=False):
        """Writes one ``Summary.Value``: the ``TensorProto`` ``tensor`` with the metadata
        ``meta``: ``(plugin name, description)``, or a serialized ``SummaryMetadata``."""
        self._check_open(traced)
        tb = self._tb
        metadata = self._metadata.get(meta)
        if metadata is None:
            if isinstance(meta, bytes):
                metadata = tb.summary_pb2.SummaryMetadata.FromString(meta)
            else:
                plugin, description = meta
                metadata = tb.metadata[plugin].create_summary_metadata(display_name=None,
                                                                       description=description)
            self._metadata[meta] = metadata
        value = tb.summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=metadata)
        event = tb.event_pb2.Event(wall_time=time.time(), step=step,
                                   summary=tb.summary_pb2.Summary(value=[value]))
        self._events.add_event(event)


class _NoopSummaryWriter(SummaryWriter):
    """A writer that does nothing; ``as_default`` leaves the default writer as it is."""

    def set_as_default(self, step=None):
        pass

    @contextlib.contextmanager
    def as_default(self, step=None):
        yield

    def init(self):
        pass

    def flush(self):
        pass

    def close(self):
        pass


def create_file_writer(logdir, max_queue=None, flush_millis=None, filename_suffix=None, name=None):
    """A writer of summaries to a new event file in the directory ``logdir`` (created if
    missing): at most ``max_queue`` (10) events wait in memory, written out at least every
    ``flush_millis`` (120,000) milliseconds; the file name ends in ``filename_suffix``
    (``.v2``).

    >>> import rstf as tf
    >>> import os, tempfile
    >>> logdir = tempfile.mkdtemp()
    >>> writer = tf.summary.create_file_writer(logdir)
    >>> [f.startswith("events.out.tfevents.") and f.endswith(".v2") for f in os.listdir(logdir)]
    [True]
    >>> writer.close()
    """
    if logdir is None:
        raise ValueError("logdir cannot be None")
    logdir = os.fspath(logdir)
    if isinstance(logdir, bytes):
        logdir = logdir.decode()
    max_queue = 10 if max_queue is None else int(max_queue)
    flush_millis = 2 * 60 * 1000 if flush_millis is None else int(flush_millis)
    filename_suffix = ".v2" if filename_suffix is None else str(filename_suffix)
    if max_queue < 0:
        raise ValueError(f"create_file_writer: max_queue must be non-negative, got {max_queue}")
    if flush_millis <= 0:
        raise ValueError(f"create_file_writer: flush_millis must be positive, got {flush_millis}")
    return _FileWriter(logdir, max_queue, flush_millis, filename_suffix)


def create_noop_writer():
    """A writer that does nothing, for code that expects a writer.

    >>> import rstf as tf
    >>> with tf.summary.create_noop_writer().as_default():
    ...     tf.summary.scalar("x", 1.0, step=0)
    <rstf.Tensor: shape=(), dtype=bool, numpy=False>
    """
    return _NoopSummaryWriter()


def flush(writer=None, name=None):
    """Writes out what ``writer`` (default: the default writer, if any) holds in memory.
    Inside a ``tf.function`` it flushes on every call."""
    if writer is None:
        writer = _state.writer
        if writer is None:
            return None
    if isinstance(writer, SummaryWriter):
        return writer.flush()
    raise ValueError(f"Invalid argument to flush(): {writer!r}")


# ----------------------------------------------------------------------------- steps and conditions


class experimental:  # noqa: N801 (TensorFlow's namespace name)
    """``tf.summary.experimental``: the default step of the current thread."""

    @staticmethod
    def get_step():
        """The default step set by ``set_step`` or ``as_default(step=...)``, else None.

        >>> import rstf as tf
        >>> tf.summary.experimental.set_step(5)
        >>> tf.summary.experimental.get_step()
        5
        >>> tf.summary.experimental.set_step(None)
        """
        return _state.step

    @staticmethod
    def set_step(step):
        """Sets the default step of the current thread (None to unset): an integer, or a
        ``tf.Variable`` (read when each summary is written, so a ``tf.function`` sees its
        changes; a number is fixed when the function is traced)."""
        _state.step = step

    @staticmethod
    @contextlib.contextmanager
    def summary_scope(name, default_name="summary", values=None):
        """Yields ``(tag, scope)`` for a custom summary named ``name`` (``default_name`` when
        empty); rstf has no name scopes, so both are that name."""
        name = name or default_name
        yield name, name


@contextlib.contextmanager
def record_if(condition):
    """Within it, summaries are written only when ``condition`` holds: a bool, a bool tensor,
    or a callable giving one, called at each summary (inside a ``tf.function``, while tracing;
    a tensor it gives that depends on variables is checked at each call).

    >>> import rstf as tf
    >>> import tempfile
    >>> writer = tf.summary.create_file_writer(tempfile.mkdtemp())
    >>> with writer.as_default(step=0):
    ...     with tf.summary.record_if(False):
    ...         print(bool(tf.summary.scalar("skipped", 1.0)))
    ...     print(bool(tf.summary.scalar("written", 1.0)))
    False
    True
    """
    old = _state.is_recording
    try:
        _state.is_recording = condition
        yield
    finally:
        _state.is_recording = old


def _condition():
    """The recording condition: True or False when known now, else a bool tensor being traced."""
    c = _state.is_recording
    if callable(c):
        c = c()
    if c is None:
        return True
    if isinstance(c, _rstf.Variable):
        c = c.read_value()
    if isinstance(c, Tensor):
        if _rstf.is_symbolic(c):
            return c if c.dtype.name == "bool" else _ops.cast(c, "bool")
        c = c.numpy()
    a = np.asarray(c)
    if a.size != 1:
        raise InvalidArgumentError(f"record_if: the condition must be a scalar, got shape {a.shape}")
    return bool(a.reshape(-1)[0])


def should_record_summaries():
    """Whether summaries are written here: False without a default writer, else the
    ``record_if`` condition (True when none is set), as a bool tensor."""
    if _state.writer is None:
        return _ops.constant(False)
    c = _condition()
    return c if isinstance(c, Tensor) else _ops.constant(c)


def _step_int(value) -> int:
    a = np.asarray(value)
    if a.shape != ():
        raise ValueError(f"summary step must be a scalar, got shape {a.shape}")
    if a.dtype.kind in "biu":
        return int(a)
    if a.dtype.kind == "f" and float(a).is_integer():
        return int(a)
    raise TypeError(f"summary step must be int64-castable, got {value!r}")


def _is_tensor(x) -> bool:
    return isinstance(x, (Tensor, _rstf.Variable))


def _numpy(x):
    if _is_tensor(x):
        return x.numpy()
    return np.asarray(x)


def _traced(x):
    """``x`` as a tensor input of a callback node (a variable is read at that point)."""
    if isinstance(x, _rstf.Variable):
        return x.read_value()
    return x if isinstance(x, Tensor) else _ops.convert_to_tensor(x)


# ----------------------------------------------------------------------------- writing


def _write(tag, meta, step, inputs, encode, check=None):
    """Writes one summary to the default writer: ``encode(*arrays)`` turns the numpy values
    of ``inputs`` (a list, or a callable giving it, called only when the summary is recorded)
    into the ``TensorProto``, written with the metadata ``meta`` (see ``_FileWriter._write``);
    ``check(*inputs)`` validates them first (also only when recording, as TensorFlow defers
    it). Inside a traced function, the tensors among ``inputs`` and the step are inputs of a
    graph node that writes on every call; other values are fixed when tracing."""
    writer = _state.writer
    if writer is None:
        return _ops.constant(False)
    cond = _condition()
    if cond is False:
        return _ops.constant(False)
    if step is None:
        step = _state.step
    if step is None:
        raise ValueError("No step set. Please specify one either through the `step` argument or "
                         "through tf.summary.experimental.set_step()")
    if not isinstance(writer, _FileWriter):  # a custom SummaryWriter without a file
        return _ops.constant(False)
    if callable(inputs):
        inputs = inputs()
    if check is not None:
        check(*inputs)
    if not _rstf.is_tracing():
        tensor = encode(*[_numpy(x) for x in inputs])
        writer._write(tag, tensor, meta, _step_int(_numpy(step)))
        return _ops.constant(True)

    dynamic = cond is not True
    fixed_step = None if _is_tensor(step) else _step_int(step)
    slots = [i for i, x in enumerate(inputs) if _is_tensor(x)]
    fixed = [None if _is_tensor(x) else np.asarray(x) for x in inputs]
    args = [_traced(inputs[i]) for i in slots]
    if fixed_step is None:
        args.append(_traced(step))
    if dynamic:
        args.append(cond)

    def run(*tensors):
        if _rstf.is_tracing():  # the graph runs while another function is traced: a node there
            return _rstf.trace_callback("WriteSummary", run, list(tensors), outs_example())
        tensors = list(tensors)
        if dynamic and not bool(tensors.pop().numpy()):
            return [_ops.constant(False)]
        step_value = fixed_step if fixed_step is not None else _step_int(tensors.pop().numpy())
        values = list(fixed)
        for i, t in zip(slots, tensors):
            values[i] = t.numpy()
        writer._write(tag, encode(*values), meta, step_value, traced=True)
        return [_ops.constant(True)] if dynamic else []

    def outs_example():
        return [_ops.constant(True)] if dynamic else []

    outs = _rstf.trace_callback("WriteSummary", run, args, outs_example())
    return outs[0] if dynamic else _ops.constant(True)


def write(tag, tensor, step=None, metadata=None, name=None):
    """Writes ``tensor`` (a tensor, array, string or bytes, or a callable giving one, called
    only when the summary is recorded) under ``tag``, with ``metadata`` (a
    ``SummaryMetadata`` proto or its bytes). Returns as :func:`scalar` does."""
    if metadata is not None and not isinstance(metadata, (bytes, bytearray)):
        metadata = metadata.SerializeToString()
    meta = bytes(metadata or b"")

    def encode(value):
        value = np.asarray(value)
        if value.dtype.kind in "USO":
            return _tb().make_tensor_proto(_strings(value, tag), dtype=np.object_)
        return _tb().make_tensor_proto(value)

    return _write(tag, meta, step, lambda: [tensor() if callable(tensor) else tensor], encode)


def scalar(name, data, step=None, description=None):
    """Writes the scalar ``data`` (as float32) under ``name``, at ``step`` (default: the default
    step). Returns True when written, False when there is no default writer or ``record_if``
    says no; raises ValueError when writing with no step set.

    >>> import rstf as tf
    >>> import tempfile
    >>> writer = tf.summary.create_file_writer(tempfile.mkdtemp())
    >>> with writer.as_default():
    ...     ok = tf.summary.scalar("accuracy", tf.constant(0.9), step=7)
    >>> bool(ok)
    True
    """
    shape = tuple(data.shape) if _is_tensor(data) else np.shape(data)
    if shape != ():
        raise ValueError(f"Expected scalar shape for {name}, saw shape: {shape}.")

    def encode(value):
        return _tb().make_tensor_proto(np.asarray(value, dtype=np.float32))

    return _write(name, ("scalars", description), step, [data], encode)


DEFAULT_BUCKET_COUNT = 30


def _histogram_buckets(data: np.ndarray, bucket_count: int) -> np.ndarray:
    """TensorBoard's ``[k, 3]`` float64 buckets ``[left edge, right edge, count]`` of the
    elements of ``data``: ``k`` equal-width buckets from the minimum to the maximum, the last one
    closed; all zeros for no data, all edges at the value when there is only one."""
    k = max(int(bucket_count), 0)
    data = np.asarray(data, dtype=np.float64).reshape(-1)
    if data.size == 0 or k == 0:
        return np.zeros((k, 3), dtype=np.float64)
    lo, hi = data.min(), data.max()
    if hi - lo == 0:
        counts = np.zeros(k, dtype=np.float64)
        counts[-1] = data.size
        edges = np.full(k, hi, dtype=np.float64)
        return np.stack([edges, edges, counts], axis=1)
    width = (hi - lo) / k
    index = np.minimum(np.floor((data - lo) / width).astype(np.int64), k - 1)
    counts = np.bincount(index, minlength=k).astype(np.float64)
    edges = np.linspace(lo, hi, k + 1)
    edges[-1] = hi
    return np.stack([edges[:-1], edges[1:], counts], axis=1)


def histogram(name, data, step=None, buckets=None, description=None):
    """Writes a histogram of the elements of ``data`` (any shape) under ``name``: ``buckets``
    (30) equal-width buckets from its minimum to its maximum, stored as TensorBoard's
    ``[buckets, 3]`` tensor of ``[left edge, right edge, count]`` rows. Returns as
    :func:`scalar` does.

    >>> import rstf as tf
    >>> import tempfile
    >>> writer = tf.summary.create_file_writer(tempfile.mkdtemp())
    >>> with writer.as_default():
    ...     ok = tf.summary.histogram("weights", tf.random.normal([1000]), step=0, buckets=20)
    >>> bool(ok)
    True
    """
    if buckets is None:
        buckets = DEFAULT_BUCKET_COUNT
    if _is_tensor(buckets):
        buckets = buckets.numpy()
    if isinstance(buckets, (bool, np.bool_)) or not isinstance(buckets, (int, np.integer)):
        raise TypeError(f"histogram: buckets must be an int, got {buckets!r}")
    buckets = int(buckets)

    def encode(value):
        return _tb().make_tensor_proto(_histogram_buckets(value, buckets), dtype=np.float64)

    return _write(name, ("histograms", description), step, [data], encode)


def _image_uint8(a: np.ndarray) -> np.ndarray:
    """``tf.image.convert_image_dtype(a, tf.uint8, saturate=True)``."""
    if a.dtype == np.uint8:
        return a
    if a.dtype.kind == "f":
        scaled = np.nan_to_num(a * a.dtype.type(255.5), nan=0.0)
        return np.clip(scaled, 0, 255).astype(np.uint8)
    if a.dtype.kind in "iu":
        top = int(np.iinfo(a.dtype).max)
        if top > 255:
            return np.clip(a // ((top + 1) // 256), 0, 255).astype(np.uint8)
        return a.astype(np.uint8) * np.uint8(256 // (top + 1))
    raise AttributeError(f"image dtype must be either floating point or integer, got {a.dtype}")


def image(name, data, step=None, max_outputs=3, description=None):
    """Writes the first ``max_outputs`` images of ``data`` (``[k, height, width, channels]``,
    1 to 4 channels; floats in [0, 1] or integers, converted to uint8 as
    ``tf.image.convert_image_dtype`` does) as PNG images under ``name``. Returns as
    :func:`scalar` does.

    >>> import rstf as tf
    >>> import tempfile
    >>> writer = tf.summary.create_file_writer(tempfile.mkdtemp())
    >>> with writer.as_default():
    ...     ok = tf.summary.image("samples", tf.random.uniform([2, 8, 8, 3]), step=0)
    >>> bool(ok)
    True
    """
    if _is_tensor(max_outputs):
        max_outputs = max_outputs.numpy()
    max_outputs = int(max_outputs)

    def check(x):
        shape = tuple(x.shape) if _is_tensor(x) else np.shape(x)
        if len(shape) != 4:
            raise ValueError(f"image: '{name}' must have rank 4 ([k, height, width, channels]), "
                             f"got shape {shape}")
        if shape[-1] not in (1, 2, 3, 4):
            raise InvalidArgumentError(f"image: '{name}' must have 1, 2, 3 or 4 channels, got {shape[-1]}")
        if max_outputs < 0:
            raise InvalidArgumentError(f"image: max_outputs must be non-negative, got {max_outputs}")

    def encode(value):
        images = _image_uint8(np.asarray(value))
        height, width = images.shape[1], images.shape[2]
        items = [str(width).encode(), str(height).encode()]
        items += [_png(np.ascontiguousarray(im)) for im in images[:max_outputs]]
        return _tb().make_tensor_proto(np.array(items, dtype=object))

    return _write(name, ("images", description), step, [data], encode, check)


def _strings(data, name):
    """``data`` (strings or bytes, nested) as a numpy object array of bytes."""
    values = np.asarray(data, dtype=object)
    flat = []
    for v in values.reshape(-1):
        if not isinstance(v, (str, bytes)):
            raise TypeError(f"text: '{name}' must hold strings, got {type(v).__name__}")
        flat.append(v.encode() if isinstance(v, str) else v)
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(values.shape)


def text(name, data, step=None, description=None):
    """Writes ``data`` (a string, bytes, a nested list or numpy array of them, or a string
    tensor) as text (Markdown) under ``name``. Returns as :func:`scalar` does.

    >>> import rstf as tf
    >>> import tempfile
    >>> writer = tf.summary.create_file_writer(tempfile.mkdtemp())
    >>> with writer.as_default():
    ...     ok = tf.summary.text("notes", "**learning rate** 0.01", step=0)
    >>> bool(ok)
    True
    """
    def encode(value):
        return _tb().make_tensor_proto(_strings(value, name), dtype=np.object_)

    if _is_tensor(data):
        if data.dtype.name != "string":
            raise TypeError(f"text: '{name}' must be a string tensor, got dtype {data.dtype.name}")
    else:
        data = _strings(data, name)
    return _write(name, ("text", description), step, [data], encode)
