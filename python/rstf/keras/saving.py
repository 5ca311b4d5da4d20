"""Saving Keras models: ``model.save(dir)`` (a SavedModel directory), ``model.save('m.keras')``
(one zip file), ``load_model``, and ``save_weights``/``load_weights``.

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
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import shutil
import sys
import tempfile
import zipfile

import numpy as np

from .. import _ops as _o
from .. import _trackable

_WEIGHTS_FORMAT = "rstf.keras.weights"
_MAX_CONFIG = 64 << 20


class CapturesInit:
    """Records the arguments an object was constructed with (its config)."""

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        obj.__dict__["_init_args"] = (args, kwargs)
        return obj


def _value(v, what):
    """A constructor argument as JSON."""
    from . import activations, functional, layers
    from . import losses as _losses

    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (np.integer, np.floating)):
        return v.item()
    if isinstance(v, (list, tuple)):
        return [_value(x, what) for x in v]
    if isinstance(v, dict) and all(isinstance(k, str) for k in v):
        return {k: _value(x, what) for k, x in v.items()}
    if isinstance(v, layers.Layer):
        return {"__layer__": serialize(v)}
    if isinstance(v, functional.KerasTensor) and v._input_layer is not None:
        return {"__layer__": serialize(v._input_layer)}
    if callable(v) and activations.serialize(v) in activations._BY_NAME:
        return {"__activation__": activations.serialize(v)}
    if callable(v) and any(f is v for f in _losses._BY_NAME.values()):
        return {"__loss__": next(k for k, f in _losses._BY_NAME.items() if f is v)}
    raise NotImplementedError(f"{what}: the argument {v!r} cannot be saved in a config")


def _unvalue(v, custom_objects):
    from . import activations
    from . import losses as _losses

    if isinstance(v, list):
        return [_unvalue(x, custom_objects) for x in v]
    if isinstance(v, dict):
        if set(v) == {"__layer__"}:
            return deserialize(v["__layer__"], custom_objects)
        if set(v) == {"__activation__"}:
            return activations.get(v["__activation__"])
        if set(v) == {"__loss__"}:
            return _losses.get(v["__loss__"])
        return {k: _unvalue(x, custom_objects) for k, x in v.items()}
    return v


def get_config(obj) -> dict:
    """The constructor arguments of ``obj`` by name, as JSON."""
    graph = obj.__dict__.get("_fgraph")
    if graph is not None:
        return {"name": obj.name, "functional": graph.config()}
    if hasattr(obj, "get_config") and type(obj).get_config is not _default_get_config:
        return obj.get_config()
    args, kwargs = obj.__dict__.get("_init_args", ((), {}))
    sig = inspect.signature(type(obj).__init__)
    bound = sig.bind(None, *args, **kwargs).arguments
    config = {}
    for name, value in list(bound.items())[1:]:
        kind = sig.parameters[name].kind
        if kind == inspect.Parameter.VAR_KEYWORD:
            config.update(value)
        elif kind == inspect.Parameter.VAR_POSITIONAL:
            if value:
                raise NotImplementedError(f"{type(obj).__name__}: *args cannot be saved in a config")
        else:
            config[name] = value
    return {k: _value(v, type(obj).__name__) for k, v in config.items()}


def _default_get_config(self):
    return get_config(self)


def serialize(obj) -> dict:
    cls = type(obj)
    return {"class_name": cls.__name__, "module": cls.__module__, "config": get_config(obj)}


def _find_class(doc, custom_objects):
    name, module = doc.get("class_name"), doc.get("module", "")
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module.startswith("rstf."):
        from . import layers, models, optimizers
        from . import losses as _losses

        for m in (layers, models, optimizers, _losses):
            if isinstance(getattr(m, name, None), type):
                return getattr(m, name)
    mod = sys.modules.get(module)
    if mod is None and module != "__main__":
        try:
            mod = importlib.import_module(module)
        except ImportError:
            mod = None
    cls = getattr(mod, name, None) if mod is not None else None
    if not isinstance(cls, type):
        raise ValueError(f"Unknown class '{name}' (module '{module}'): pass it in custom_objects, as "
                         f"load_model(path, custom_objects={{'{name}': {name}}})")
    return cls


def deserialize(doc, custom_objects=None):
    cls = _find_class(doc, custom_objects)
    config = _unvalue(doc.get("config", {}), custom_objects)
    if hasattr(cls, "from_config"):
        return cls.from_config(config)
    return cls(**config)


# -- what is saved with a model --------------------------------------------------------------

def model_metadata(model) -> dict:
    """The class, constructor config, compile arguments and build input of a model."""
    meta = {"class_name": type(model).__name__, "module": type(model).__module__}
    try:
        meta["config"] = get_config(model)
    except (NotImplementedError, TypeError) as e:
        meta["config_error"] = str(e)
    spec = model.__dict__.get("_build_input")
    if spec is not None:
        meta["build_input"] = {"dtype": spec[0], "shape": list(spec[1])}
    if model.__dict__.get("_compiled"):
        try:
            meta["compile"] = _compile_doc(model)
        except (NotImplementedError, TypeError):
            pass
    return meta


def _compile_doc(model):
    from . import losses as _losses

    loss = model.loss
    if isinstance(loss, str):
        loss_doc = loss
    elif isinstance(loss, _losses.Loss):
        loss_doc = serialize(loss)
    else:
        loss_doc = next((k for k, f in _losses._BY_NAME.items() if f is loss), None)
    return {"loss": loss_doc, "metrics": list(model._metric_names), "optimizer": serialize(model.optimizer)}


def _compile(model, meta, custom_objects):
    """Compiles ``model`` with the saved compile arguments, if there are any."""
    comp = meta.get("compile")
    if not comp or comp.get("loss") is None:
        return
    loss = comp["loss"]
    if isinstance(loss, dict):
        loss = deserialize(loss, custom_objects)
    model.compile(optimizer=deserialize(comp["optimizer"], custom_objects), loss=loss,
                  metrics=comp.get("metrics") or None)


def _rebuild(meta, custom_objects, compile):
    """A model from its metadata, compiled and built (weights not yet restored)."""
    model = deserialize({k: meta.get(k) for k in ("class_name", "module", "config")}, custom_objects)
    if compile:
        _compile(model, meta, custom_objects)
    build = meta.get("build_input")
    if build is not None:
        model(_o.zeros(build["shape"], build["dtype"]), training=False)
    return model


def _restore(model, values):
    model_vars = _trackable.variables_by_path(model)
    missing = [k for k in model_vars if k not in values and not _optimizer_only(k)]
    if missing:
        raise ValueError(f"load: the saved model has no values for {missing}")
    _trackable.restore(model, values)


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
    from .._function import TensorSpec, _marker_level, function

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
    from .. import saved_model

    serve = _serve_function(model)
    saved_model.save(model, path, signatures=None if serve is None else {"serving_default": serve})


def _save_keras_zip(model, path):
    meta = model_metadata(model)
    if "config" not in meta:
        raise NotImplementedError(
            f"save: {type(model).__name__} cannot be saved as a .keras file: {meta['config_error']}; "
            "save it to a directory instead (model.save('dir'))")
    from ..train import save_variables

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
    """Loads a model saved by ``model.save``."""
    from ..errors import DataLossError, NotFoundError
    from ..train import load_variables

    filepath = os.fspath(filepath)
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
            if doc.get("format") != "rstf.keras" or doc.get("version") != 1:
                raise DataLossError(f"{filepath}: not an rstf .keras file of version 1")
            with z.open("model.weights.safetensors") as src, \
                    open(os.path.join(tmp, "w.safetensors"), "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            values = load_variables(os.path.join(tmp, "w.safetensors"), _WEIGHTS_FORMAT)
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError, EOFError) as e:
        raise DataLossError(f"{filepath}: not a valid .keras file: {e}") from None
    model = _rebuild(doc["model"], custom_objects, compile)
    _restore(model, values)
    return model


def _load_dir(path, custom_objects, compile):
    from .. import saved_model

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
    from .models import _RevivedModel

    model = _RevivedModel(root)
    if compile and meta:
        _compile(model, meta, custom_objects)
    return model


def save_weights(model, filepath, overwrite=True):
    from ..train import save_variables

    weights = {k: v for k, v in _trackable.variables_by_path(model).items() if not _optimizer_only(k)}
    save_variables(os.fspath(filepath), weights, _WEIGHTS_FORMAT)


def load_weights(model, filepath, skip_mismatch=False):
    from ..train import restore_variables

    restore_variables(model, os.fspath(filepath), _WEIGHTS_FORMAT)
