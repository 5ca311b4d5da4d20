"""``rstf.train``: checkpoints of every Variable reachable from some objects.

A checkpoint is one safetensors file whose tensor names are object paths
(``model/dense/kernel``); a ``checkpoint`` file in the directory names the latest ones.

>>> import os, tempfile
>>> import rstf as tf
>>> v = tf.Variable(1.0)
>>> ckpt = tf.train.Checkpoint(v=v)
>>> d = tempfile.mkdtemp()
>>> path = ckpt.save(os.path.join(d, "ckpt"))
>>> os.path.basename(path)
'ckpt-1'
>>> _ = v.assign(5.0)
>>> _ = ckpt.restore(path)
>>> float(v.numpy())
1.0
>>> tf.train.latest_checkpoint(d) == path
True
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat

from . import _rstf, _trackable
from ._example import BytesList, Example, Feature, Features, FloatList, Int64List
from ._variable import Variable
from .errors import DataLossError, NotFoundError

__all__ = ["BytesList", "Checkpoint", "CheckpointManager", "Example", "Feature", "Features", "FloatList",
           "Int64List", "latest_checkpoint", "list_variables", "load_variable"]

_FORMAT = "rstf.checkpoint"
_SUFFIX = ".safetensors"
_STATE = "checkpoint"
_STATE_LIMIT = 1 << 20
_log = logging.getLogger("rstf")


def _file(path) -> str:
    path = os.fspath(path)
    return path if path.endswith(_SUFFIX) else path + _SUFFIX


def _write_state(directory, latest, all_paths):
    lines = [f'model_checkpoint_path: "{os.path.relpath(latest, directory)}"']
    lines += [f'all_model_checkpoint_paths: "{os.path.relpath(p, directory)}"' for p in all_paths]
    tmp = os.path.join(directory, f".{_STATE}.tmp-{os.getpid()}")
    try:
        os.unlink(tmp)  # a stale one (or something else planted under that name)
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, os.path.join(directory, _STATE))


def _check_regular(path):
    """Raises unless ``path`` is a regular file (a named pipe would block the reader)."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return  # the reader says it is missing
    if not stat.S_ISREG(mode):
        raise DataLossError(f"{path}: not a regular file")


def _read_state(directory):
    """``(latest, [all])`` from the directory's state file, as full paths (None if absent).
    Relative entries are joined to the directory and absolute ones kept, as TensorFlow does.
    A state file that is not regular UTF-8 text raises DataLossError."""
    path = os.path.join(directory, _STATE)
    try:
        # Non-blocking, so that a named pipe planted as the state file cannot hang the open.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except (FileNotFoundError, NotADirectoryError):
        return None, []
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise DataLossError(f"{path}: not a regular file")
        data = f.read(_STATE_LIMIT + 1)
    if len(data) > _STATE_LIMIT:
        raise DataLossError(f"{path}: a checkpoint state file of more than {_STATE_LIMIT} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataLossError(f"{path}: the checkpoint state file is not UTF-8 text ({e})") from None
    latest, paths = None, []
    for key, value in re.findall(r'^(\w+):\s*"(.*)"\s*$', text, re.M):
        full = value if os.path.isabs(value) else os.path.join(directory, value)
        if key == "model_checkpoint_path":
            latest = full
        elif key == "all_model_checkpoint_paths":
            paths.append(full)
    return latest, paths


def _inside(directory, path) -> bool:
    """True if the directory entry ``path`` lies inside ``directory`` once symbolic links of
    both are resolved (the entry itself may be a link: removing it removes only the link)."""
    top = os.path.realpath(directory)
    parent = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    return parent == top or parent.startswith(top.rstrip(os.sep) + os.sep)


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The path of the newest checkpoint saved in ``checkpoint_dir``, or None. As in
    TensorFlow, an absolute path in the directory's ``checkpoint`` file is taken as it is and a
    relative one is joined to the directory; a state file that is not regular UTF-8 text raises
    DataLossError."""
    latest, _ = _read_state(os.fspath(checkpoint_dir))
    if latest is not None and os.path.exists(_file(latest)):
        return latest
    return None


# TensorFlow's names of a checkpoint's values: the object path, then the attribute.
_VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


def _reader_file(ckpt_dir_or_file) -> str:
    """The checkpoint file for a prefix, or the latest one of a directory (TensorFlow's
    ``_get_checkpoint_filename``)."""
    path = os.fspath(ckpt_dir_or_file)
    if os.path.isdir(path):
        latest = latest_checkpoint(path)
        if latest is None:
            raise ValueError(f"Couldn't find 'checkpoint' file or checkpoints in given directory {path}")
        path = latest
    file = _file(path)
    if not os.path.lexists(file):
        raise NotFoundError("Unsuccessful TensorSliceReader constructor: Failed to find any matching "
                            f"files for {path}")
    return file


def _named_values(ckpt_dir_or_file) -> dict:
    """``{TensorFlow's name: tensor}`` of a checkpoint, read and checked whole (checksums,
    names, regular file) as a restore reads it."""
    values = load_variables(_reader_file(ckpt_dir_or_file))
    return {key + _VALUE_SUFFIX: value for key, value in values.items()}


def list_variables(ckpt_dir_or_file) -> list:
    """``(name, shape)`` of every value in a checkpoint (a prefix, or a directory for its
    latest checkpoint), sorted by name, with TensorFlow's names: an object path followed by
    ``/.ATTRIBUTES/VARIABLE_VALUE``, and the object graph's entry ``_CHECKPOINTABLE_OBJECT_GRAPH``.
    A missing checkpoint raises NotFoundError; a damaged one DataLossError.

    >>> import os, tempfile, rstf as tf
    >>> ckpt = tf.train.Checkpoint(model=tf.Module())
    >>> ckpt.model.w = tf.Variable([[1.0, 2.0]])
    >>> path = ckpt.write(os.path.join(tempfile.mkdtemp(), "c"))
    >>> tf.train.list_variables(path)  # doctest: +NORMALIZE_WHITESPACE
    [('_CHECKPOINTABLE_OBJECT_GRAPH', []), ('model/w/.ATTRIBUTES/VARIABLE_VALUE', [1, 2]),
     ('save_counter/.ATTRIBUTES/VARIABLE_VALUE', [])]
    """
    values = _named_values(ckpt_dir_or_file)
    return [(_GRAPH_KEY, [])] + sorted((k, [int(d) for d in v.shape]) for k, v in values.items())


def load_variable(ckpt_dir_or_file, name):
    """The value saved under ``name`` (as :func:`list_variables` gives it; a trailing ``:0`` is
    ignored) as a numpy array, or a numpy scalar for a scalar, as TensorFlow returns it.
    A name the checkpoint lacks raises NotFoundError. ``_CHECKPOINTABLE_OBJECT_GRAPH`` is
    ``bytes``: in rstf, a JSON document of the saved object paths, dtypes and shapes (TensorFlow
    stores a protocol buffer there).

    >>> import os, tempfile, rstf as tf
    >>> path = tf.train.Checkpoint(step=tf.Variable(3)).write(os.path.join(tempfile.mkdtemp(), "c"))
    >>> tf.train.load_variable(path, "step/.ATTRIBUTES/VARIABLE_VALUE")
    np.int32(3)
    """
    if not isinstance(name, str):
        raise TypeError(f"load_variable: the name must be a string, got {type(name).__name__}")
    if name.endswith(":0"):
        name = name[:-2]
    values = _named_values(ckpt_dir_or_file)
    if name == _GRAPH_KEY:
        graph = {k[:-len(_VALUE_SUFFIX)]: {"dtype": v.dtype.name, "shape": [int(d) for d in v.shape]}
                 for k, v in sorted(values.items())}
        return json.dumps({"format": _FORMAT, "objects": graph}).encode("utf-8")
    if name not in values:
        raise NotFoundError(f"Key {name} not found in checkpoint")
    array = values[name].numpy()
    return array[()] if array.ndim == 0 else array


def _check_keys(path, keys):
    for key in keys:
        why = _trackable.bad_path(key)
        if why is not None:
            raise DataLossError(f"{path}: the tensor name {key!r} is not an object path: it {why}")


def save_variables(path, variables: dict, fmt=_FORMAT):
    """Writes ``{key: Variable}`` to a safetensors file (through a temporary name)."""
    for key in variables:
        why = _trackable.bad_path(key)
        if why is not None:
            raise ValueError(f"Cannot save the variable at {key!r}: the object path {why}")
    _rstf.save_tensors(os.fspath(path), list(variables.items()), {"format": fmt, "version": "1"})


def load_variables(path, fmt=_FORMAT) -> dict:
    """``{key: tensor}`` from a file written by :func:`save_variables`. A file that is not
    regular, or whose tensor names are not object paths, raises DataLossError."""
    path = os.fspath(path)
    _check_regular(path)
    items, meta = _rstf.load_tensors(path)
    if meta.get("format") != fmt:
        raise DataLossError(f"{path}: not a {fmt} file (format {meta.get('format')!r})")
    values = dict(items)
    _check_keys(path, values)
    return values


def restore_variables(root, path, fmt=_FORMAT, holders=None):
    """Restores the variables reachable from ``root`` from a file written by
    :func:`save_variables`: existing variables get their values, the other values wait for
    their variables (on objects appended to ``holders``; see ``_trackable.restore``). The whole
    file is read and checked (checksum, names, dtypes and shapes) before any variable changes,
    so a restore that fails leaves every variable as it was. Returns ``(values, paths
    restored)``, the restored values replaced by None."""
    path = os.fspath(path)
    values = load_variables(path, fmt)
    current = _trackable.variables_by_path(root)
    for key, var in current.items():
        if key in values:
            _trackable.check_fits(var, values[key], key)
    done = _trackable.restore(root, values, holders)
    return {k: None if k in done else v for k, v in values.items()}, done


class _RestoreRecord:
    """What one restore read (TensorFlow's restore coordinator). It lives as long as its
    status object or any object that holds values of it waiting for their variables; when it
    goes, the checkpointed values that never found a variable are logged as warnings on the
    ``rstf`` logger, as TensorFlow logs them on its own, unless ``expect_partial()`` was called."""

    def __init__(self, root, path, keys, done):
        self.root, self.path, self.keys, self.done = root, path, list(keys), set(done)
        self.expect_partial = False

    def unused(self) -> list:
        current = _trackable.variables_by_path(self.root)
        return [k for k in self.keys if k not in self.done and k not in current]

    def __del__(self):
        if self.expect_partial:
            return
        try:
            unused = self.unused()
            for key in unused:
                _log.warning("Unresolved object in checkpoint %s: %s", self.path, key)
            if unused:
                _log.warning(
                    "A checkpoint was restored but not all checkpointed values were used. See "
                    "above for specific issues. Use expect_partial() on the load status object, "
                    "e.g. tf.train.Checkpoint.restore(...).expect_partial(), to silence these "
                    "warnings, or use assert_consumed() to make the check explicit.")
        except Exception:  # noqa: BLE001 - at interpreter exit the modules may be gone
            pass


class CheckpointLoadStatus:
    """What a restore matched: ``assert_consumed`` checks that everything did, and
    ``assert_existing_objects_matched`` that every variable that exists got a value.

    As in TensorFlow, a restore that leaves checkpointed values unused logs warnings on the
    ``rstf`` logger ("Unresolved object in checkpoint ...") once the status and the objects
    whose values wait for variables are gone; ``expect_partial()`` silences them."""

    def __init__(self, root, values, done, record=None):
        self._root, self._values, self._done = root, values, done
        self._record = record

    def assert_consumed(self):
        """Raises AssertionError unless every saved value found its variable and every
        variable of the objects was in the checkpoint."""
        current = _trackable.variables_by_path(self._root)
        unused = [k for k in self._values if k not in self._done and k not in current]
        missing = [k for k in current if k not in self._values]
        if unused or missing:
            raise AssertionError(
                f"Unresolved object in checkpoint: {unused}" if unused else
                f"Some objects had no checkpointed value: {missing}")
        return self

    def assert_existing_objects_matched(self):
        """Raises AssertionError if a variable that exists now had no saved value."""
        missing = [k for k in _trackable.variables_by_path(self._root) if k not in self._values]
        if missing:
            raise AssertionError(f"Some objects had no checkpointed value: {missing}")
        return self

    def expect_partial(self):
        """Accepts a partial restore silently: no warning about unused values."""
        if self._record is not None:
            self._record.expect_partial = True
        return self

    def assert_nontrivial_match(self):
        if not self._done:
            raise AssertionError("Nothing was restored from the checkpoint")
        return self


class Checkpoint(_trackable.Trackable):
    """Saves and restores the Variables reachable from the objects given as keywords and
    from those assigned to its attributes later (``ckpt.layers = [...]``), lists, tuples and
    dicts of them included.

    >>> import os, tempfile
    >>> import rstf as tf
    >>> ckpt = tf.train.Checkpoint(step=tf.Variable(1))
    >>> ckpt.listed = [tf.Variable(1.0)]
    >>> ckpt.mapped = {"a": tf.Variable(2.0)}
    >>> path = ckpt.write(os.path.join(tempfile.mkdtemp(), "c"))
    >>> _ = ckpt.mapped["a"].assign(0.0)
    >>> _ = ckpt.restore(path).assert_consumed()
    >>> float(ckpt.mapped["a"].numpy())
    2.0
    """

    _OWN = frozenset({"_objects", "save_counter"})

    def __init__(self, root=None, **kwargs):
        for k, v in kwargs.items():
            if not _trackable.trackable(v):
                raise ValueError(f"Checkpoint: '{k}' is a {type(v).__name__}, which holds no Variables")
        self._objects = dict(kwargs)
        if root is not None:
            self._objects["root"] = root
        self.save_counter = Variable(0, trainable=False, dtype="int64", name="save_counter")

    def __getattr__(self, name):
        objects = self.__dict__.get("_objects", {})
        if name in objects:
            return objects[name]
        raise AttributeError(f"'Checkpoint' object has no attribute '{name}'")

    def __setattr__(self, name, value):
        objects = self.__dict__.get("_objects")
        if objects is not None and name in objects:
            objects[name] = value
        else:
            object.__setattr__(self, name, value)
        if "_rstf_deferred" in self.__dict__:
            _trackable.on_setattr(self, name, value)

    def __delattr__(self, name):
        objects = self.__dict__.get("_objects")
        if objects is not None and name in objects:
            del objects[name]
        else:
            object.__delattr__(self, name)

    def _trackable_children(self):
        items = dict(self._objects)
        for k, v in vars(self).items():
            if k not in self._OWN and not k.startswith("__") and k not in _trackable._NOT_CHILDREN:
                items.setdefault(k, v)
        return [*items.items(), ("save_counter", self.save_counter)]

    def write(self, file_prefix, options=None) -> str:
        """Writes the checkpoint to ``file_prefix`` (no numbering); returns the path."""
        path = os.fspath(file_prefix)
        d = os.path.dirname(path)
        if d:
            os.makedirs(d, exist_ok=True)
        save_variables(_file(path), _trackable.variables_by_path(self))
        return path

    def save(self, file_prefix, options=None) -> str:
        """Writes ``{file_prefix}-{n}`` for the next save number and records it as the
        directory's latest checkpoint; returns the path."""
        self.save_counter.assign_add(1, read_value=False)
        path = self.write(f"{os.fspath(file_prefix)}-{int(self.save_counter.numpy())}")
        d = os.path.dirname(path) or "."
        _, paths = _read_state(d)
        _write_state(d, path, [p for p in paths if p != path] + [path])
        return path

    def read(self, save_path, options=None) -> CheckpointLoadStatus:
        """Restores the values saved at ``save_path`` (see :meth:`restore`)."""
        return self.restore(save_path)

    def restore(self, save_path, options=None) -> CheckpointLoadStatus:
        """Assigns the saved values to the objects' variables. Values of variables not created
        yet are assigned when they are (a Keras layer built later)."""
        if save_path is None:
            return CheckpointLoadStatus(self, {}, set())
        path, holders = _file(save_path), []
        values, done = restore_variables(self, path, holders=holders)
        record = _RestoreRecord(self, path, values, done)
        _trackable.hold(holders, record)
        return CheckpointLoadStatus(self, values, done, record)


class CheckpointManager:
    """Numbered checkpoints in a directory, keeping the newest ``max_to_keep``.

    It only ever deletes files inside its directory: entries of the directory's state file
    that lie elsewhere (``../x``, an absolute path, a path through a symbolic link that leaves
    the directory) are left out of :attr:`checkpoints` with a warning, and never removed."""

    def __init__(self, checkpoint, directory, max_to_keep, keep_checkpoint_every_n_hours=None,
                 checkpoint_name="ckpt", step_counter=None, checkpoint_interval=None, init_fn=None):
        self._checkpoint = checkpoint
        self.directory = os.fspath(directory)
        self.max_to_keep = max_to_keep
        self._prefix = os.path.join(self.directory, checkpoint_name)
        _, paths = _read_state(self.directory)
        outside = [p for p in paths if not _inside(self.directory, _file(p))]
        if outside:
            _log.warning("%s: ignoring the checkpoints listed outside the directory: %s",
                         os.path.join(self.directory, _STATE), outside)
        self._checkpoints = [p for p in paths if p not in outside and os.path.exists(_file(p))]

    @property
    def checkpoints(self) -> list:
        """Paths of the kept checkpoints, oldest first."""
        return list(self._checkpoints)

    @property
    def latest_checkpoint(self):
        return self._checkpoints[-1] if self._checkpoints else None

    @property
    def checkpoint(self):
        return self._checkpoint

    def save(self, checkpoint_number=None, check_interval=True, options=None) -> str:
        os.makedirs(self.directory, exist_ok=True)
        if checkpoint_number is None:
            self._checkpoint.save_counter.assign_add(1, read_value=False)
            number = int(self._checkpoint.save_counter.numpy())
        else:
            number = int(checkpoint_number)
        path = self._checkpoint.write(f"{self._prefix}-{number}")
        self._checkpoints = [p for p in self._checkpoints if p != path] + [path]
        if self.max_to_keep is not None:
            while len(self._checkpoints) > self.max_to_keep:
                old = _file(self._checkpoints.pop(0))
                if not _inside(self.directory, old):
                    continue  # never deletes outside its directory
                try:
                    os.remove(old)
                except FileNotFoundError:
                    pass
        _write_state(self.directory, path, self._checkpoints)
        return path

    def restore_or_initialize(self):
        if self.latest_checkpoint:
            self._checkpoint.restore(self.latest_checkpoint)
            return self.latest_checkpoint
        return None
