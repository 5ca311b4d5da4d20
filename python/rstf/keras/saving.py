"""Saving Keras models: ``model.save(dir)`` (a SavedModel directory), ``model.save('m.keras')``
(one zip file), ``load_model``, and ``save_weights``/``load_weights``. What a model's config
holds, and which classes a file may name, is :mod:`rstf.keras.serialization`'s (its public
names are also this module's).

A model is rebuilt from its class and constructor arguments (recorded when it was created),
compiled again, built on the input shape it first saw, and given back every variable (layer
weights, optimizer state) by object path. A subclassed model whose class cannot be found when
loading a SavedModel directory is revived from its traced functions instead.

>>> import os, tempfile, numpy as np, rstf as tf
>>> model = tf.keras.Sequential([tf.keras.layers.Dense(2, activation="relu")])
>>> model.compile(optimizer="sgd", loss="mse")
>>> x = np.ones((4, 3), "float32")
>>> _ = model.fit(x, np.zeros((4, 2), "float32"), epochs=1, verbose=0)
>>> path = os.path.join(tempfile.mkdtemp(), "model.keras")
>>> model.save(path)
>>> again = tf.keras.models.load_model(path)
>>> bool(np.array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0)))
True

A ``.keras`` file is a zip: before its weights are unpacked, their declared size is checked
against two settable limits, so that a small crafted file cannot cost gigabytes:

- ``rstf.keras.saving.MAX_WEIGHTS_BYTES`` (16 GiB): the largest unpacked weights file;
- ``rstf.keras.saving.MAX_COMPRESSION_RATIO`` (100): the largest unpacked/packed size ratio of
  an entry over ``RATIO_CHECK_ABOVE_BYTES`` (64 MiB) unpacked. rstf stores weights uncompressed;
  floats barely compress, so only a file packed by something else can come near the ratio.

Unpacking also stops at the declared size (a lying entry is a DataLossError).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

from .. import _ops as _o
from .. import _rstf, _trackable, saved_model
from .._function import TensorSpec, _marker_level, function
from ..errors import DataLossError, NotFoundError
from ..train import load_variables, restore_variables, save_variables
from .serialization import (  # noqa: F401 (the configs' public names, also this module's)
    CapturesInit,
    CustomObjectScope,
    _compile,
    _safe_mode_scope,
    custom_object_scope,
    deserialize,
    get_config,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    model_metadata,
    register_keras_serializable,
    serialize,
)

_WEIGHTS_FORMAT = "rstf.keras.weights"
_MAX_CONFIG = 64 << 20

MAX_WEIGHTS_BYTES = 16 << 30
"""The largest weights file a ``.keras`` file may unpack to (bytes)."""
MAX_COMPRESSION_RATIO = 100
"""The largest unpacked/packed size ratio of a ``.keras`` entry over ``RATIO_CHECK_ABOVE_BYTES``."""
RATIO_CHECK_ABOVE_BYTES = 64 << 20
"""Entries that unpack to at most this many bytes are not held to ``MAX_COMPRESSION_RATIO``."""
REBUILD_BYTES = 256 << 20
"""While a model is rebuilt from a ``.keras`` file's config, no value may take more than this
many bytes or four times the file's weights, whichever is more."""


def _rebuild(meta, custom_objects, compile, batch=None):
    """A model from its metadata, compiled and built (weights not yet restored); ``batch``
    replaces the batch dimension of the input it is built on."""
    model = deserialize({k: meta.get(k) for k in ("class_name", "module", "registered_name", "config")},
                        custom_objects)
    if compile:
        _compile(model, meta, custom_objects)
    build = meta.get("build_input")
    if build is not None:
        shape = list(build["shape"])
        if batch is not None and shape:
            shape[0] = batch
        model(_o.zeros(shape, build["dtype"]), training=False)
    return model


def _restore(model, values):
    model_vars = _trackable.variables_by_path(model)
    missing = [k for k in model_vars if k not in values and not _optimizer_only(k)]
    if missing:
        raise ValueError(f"load: the saved model has no values for {missing}")
    unused = [k for k in values if k not in model_vars and not _slot_of(model, k, model_vars)]
    if unused:
        raise ValueError(f"load: the saved model holds values for objects the model does not have: {unused}")
    _trackable.restore(model, values)


def _slot_of(model, key, model_vars):
    """True for the key of an optimizer slot of one of the model's variables (the optimizer
    creates its slots later), or of an optimizer the model was not compiled with."""
    if not _optimizer_only(key):
        return False
    optimizer = model.__dict__.get("optimizer")
    if optimizer is None:
        return True
    if "/.OPTIMIZER_SLOT/" not in key:
        return key.startswith("optimizer/")
    var, rest = key.split("/.OPTIMIZER_SLOT/", 1)
    return var in model_vars and rest.startswith("optimizer/")


def _optimizer_only(key):
    return key.startswith("optimizer/") or "/.OPTIMIZER_SLOT/" in key


# -- the two file formats ---------------------------------------------------------------------

def save_model(model, filepath, overwrite=True):
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} already exists")
    if filepath.endswith(".h5"):
        raise ValueError("save: the HDF5 format is not supported; use a '.keras' file or a directory")
    if filepath.endswith(".keras"):
        _save_keras_zip(model, filepath)
    else:
        _save_dir(model, filepath)


def _serve_function(model):
    """``model(inputs, training=False)`` traced for any batch size of every input shape the model
    has seen (for each shape itself where the graph cannot take any batch size, or where tracing
    for any batch size would need too large an example)."""
    shapes = list(model.__dict__.get("_call_shapes", {}))
    if not shapes:
        return None
    fn = function(lambda inputs: model(inputs, training=False))
    fn.__name__ = "serving_default"
    for dtype, shape in shapes:
        shape = tuple(shape)
        spec = TensorSpec((None,) + shape[1:], dtype) if shape else None
        batched = spec and _marker_level([spec], strict=True) and fn.get_concrete_function(spec)
        if not batched or not batched.graph.polymorphic:
            fn.get_concrete_function(TensorSpec(shape, dtype))
    return fn


def _save_dir(model, path):
    serve = _serve_function(model)
    saved_model.save(model, path, signatures=None if serve is None else {"serving_default": serve})


def _save_keras_zip(model, path):
    meta = model_metadata(model)
    if "config" not in meta:
        raise NotImplementedError(
            f"save: {type(model).__name__} cannot be saved as a .keras file: {meta['config_error']}; "
            "save it to a directory instead (model.save('dir'))")
    d = os.path.dirname(path) or "."
    with tempfile.TemporaryDirectory(dir=d) as tmp:
        wpath = os.path.join(tmp, "model.weights.safetensors")
        save_variables(wpath, _trackable.variables_by_path(model), _WEIGHTS_FORMAT)
        zpath = os.path.join(tmp, "model.keras")
        with zipfile.ZipFile(zpath, "w") as z:
            z.writestr("config.json", json.dumps({"format": "rstf.keras", "version": 1, "model": meta}))
            z.write(wpath, "model.weights.safetensors")
        os.replace(zpath, path)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved by ``model.save``. Classes are found as the module docstring says;
    ``safe_mode`` refuses configs that ask for Python code (lambdas), as in Keras."""
    filepath = os.fspath(filepath)
    with custom_object_scope(custom_objects), _safe_mode_scope(safe_mode):
        return _load_model(filepath, custom_objects, compile)


def _check_entry(filepath, info):
    """Refuses an entry that would unpack to more than the limits allow (see the module doc)."""
    size = info.file_size
    if size > MAX_WEIGHTS_BYTES:
        raise DataLossError(f"{filepath}: {info.filename} unpacks to {size} bytes, more than "
                            f"rstf.keras.saving.MAX_WEIGHTS_BYTES ({MAX_WEIGHTS_BYTES}); raise that limit "
                            "to load a larger model from a trusted file")
    packed = max(1, min(info.compress_size, os.path.getsize(filepath)))
    if size > RATIO_CHECK_ABOVE_BYTES and size > MAX_COMPRESSION_RATIO * packed:
        raise DataLossError(f"{filepath}: {info.filename} unpacks {packed} bytes to {size} bytes, a ratio "
                            f"over rstf.keras.saving.MAX_COMPRESSION_RATIO ({MAX_COMPRESSION_RATIO}); "
                            "raise that limit to load a trusted file")


def _extract(filepath, z, info, dst_path):
    """Copies an entry out, stopping at its declared size (declared sizes can lie)."""
    left = info.file_size
    with z.open(info) as src, open(dst_path, "wb") as dst:
        while True:
            chunk = src.read(min(1 << 20, left + 1))
            if not chunk:
                return
            left -= len(chunk)
            if left < 0:
                raise DataLossError(f"{filepath}: {info.filename} is larger than its declared size")
            dst.write(chunk)


def _load_model(filepath, custom_objects, compile):
    if not os.path.exists(filepath):
        raise NotFoundError(f"load_model: {filepath} does not exist")
    if os.path.isdir(filepath):
        return _load_dir(filepath, custom_objects, compile)
    try:
        with zipfile.ZipFile(filepath) as z, tempfile.TemporaryDirectory() as tmp:
            info = z.getinfo("config.json")
            if info.file_size > _MAX_CONFIG:
                raise DataLossError(f"{filepath}: config.json is too large")
            doc = json.loads(z.read("config.json"))
            if not isinstance(doc, dict) or doc.get("format") != "rstf.keras" or doc.get("version") != 1 \
                    or not isinstance(doc.get("model"), dict):
                raise DataLossError(f"{filepath}: not an rstf .keras file of version 1")
            info = z.getinfo("model.weights.safetensors")
            _check_entry(filepath, info)
            wpath = os.path.join(tmp, "w.safetensors")
            _extract(filepath, z, info, wpath)
            values = load_variables(wpath, _WEIGHTS_FORMAT)
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError, EOFError, OSError) as e:
        raise DataLossError(f"{filepath}: not a valid .keras file: {e}") from None
    model = _rebuild_untrusted(filepath, doc["model"], custom_objects, compile, values)
    _restore(model, values)
    return model


def _rebuild_untrusted(filepath, meta, custom_objects, compile, values):
    """:func:`_rebuild` for a config read from a file: a config the classes refuse is a
    ValueError naming the file, and building may allocate no value larger than
    ``max(REBUILD_BYTES, 4 x the bytes of the saved weights)`` (a small file must not make the
    model allocate gigabytes), with the build input's batch dimension taken as 1."""
    saved = sum(int(np.prod(v.shape)) * v.dtype.size for v in values.values())
    before = _rstf.swap_thread_limits((1 << 62, max(REBUILD_BYTES, 4 * saved)))
    try:
        return _rebuild(meta, custom_objects, compile, batch=1)
    except (TypeError, KeyError, AttributeError, IndexError, OverflowError, NotImplementedError) as e:
        raise ValueError(f"{filepath}: the model's config cannot be rebuilt ({type(e).__name__}: {e})") from e
    finally:
        _rstf.swap_thread_limits(before)


def _load_dir(path, custom_objects, compile):
    root, by_key = saved_model._load(path)
    meta = (root.__dict__.get("_saved_extra") or {}).get("keras")
    values = {k: v.value() for k, v in by_key.items() if not k.startswith("_captured/")}
    if meta is not None and "config" in meta:
        try:
            model = _rebuild(meta, custom_objects, compile)
        except ValueError:
            model = None
        if model is not None:
            _restore(model, values)
            return model
    from .models import _RevivedModel  # at call time: models imports this module

    model = _RevivedModel(root)
    if compile and meta:
        _compile(model, meta, custom_objects)
    return model


def save_weights(model, filepath, overwrite=True):
    weights = {k: v for k, v in _trackable.variables_by_path(model).items() if not _optimizer_only(k)}
    save_variables(os.fspath(filepath), weights, _WEIGHTS_FORMAT)


def load_weights(model, filepath, skip_mismatch=False):
    restore_variables(model, os.fspath(filepath), _WEIGHTS_FORMAT)
