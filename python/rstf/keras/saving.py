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

Loading never runs code named in a file: a config's classes are looked up only among rstf's own
layers, models, optimizers and losses, the classes registered with
:func:`register_keras_serializable` (or in :func:`get_custom_objects`), those of an active
:class:`custom_object_scope`, and ``custom_objects``; no module named in a file is imported. A
subclassed model is found again once its class is registered:

>>> @tf.keras.saving.register_keras_serializable(package="Docs")
... class Twice(tf.keras.Model):
...     def call(self, x):
...         return 2.0 * x
>>> tf.keras.saving.get_registered_name(Twice)
'Docs>Twice'

A ``.keras`` file is a zip: before its weights are unpacked, their declared size is checked
against two settable limits, so that a small crafted file cannot cost gigabytes:

- ``rstf.keras.saving.MAX_WEIGHTS_BYTES`` (16 GiB): the largest unpacked weights file;
- ``rstf.keras.saving.MAX_COMPRESSION_RATIO`` (100): the largest unpacked/packed size ratio of
  an entry over ``RATIO_CHECK_ABOVE_BYTES`` (64 MiB) unpacked. rstf stores weights uncompressed;
  floats barely compress, so only a file packed by something else can come near the ratio.

Unpacking also stops at the declared size (a lying entry is a DataLossError).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import tempfile
import threading
import zipfile

import numpy as np

from .. import _ops as _o
from .. import _trackable

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
        if v.get("class_name") == "__lambda__" or v.get("function_type") == "lambda":
            _refuse_code("a `lambda` object")
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
    doc = {"class_name": cls.__name__, "module": cls.__module__, "config": get_config(obj)}
    if cls in _GLOBAL_CUSTOM_NAMES:
        doc["registered_name"] = _GLOBAL_CUSTOM_NAMES[cls]
    return doc


# -- which classes a file may name --------------------------------------------------------------

_GLOBAL_CUSTOM_OBJECTS: dict = {}
_GLOBAL_CUSTOM_NAMES: dict = {}
_state = threading.local()  # .scope: the custom_object_scope dict; .safe_mode


def register_keras_serializable(package="Custom", name=None):
    """A decorator that lets ``load_model`` find a class (or function) by the key
    ``'package>name'`` (``name`` defaults to its ``__name__``), saved as its
    ``registered_name``."""

    def decorator(arg):
        key = f"{package}>{name if name is not None else arg.__name__}"
        if inspect.isclass(arg) and not (hasattr(arg, "get_config") or issubclass(arg, CapturesInit)):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        _GLOBAL_CUSTOM_OBJECTS[key] = arg
        _GLOBAL_CUSTOM_NAMES[arg] = key
        return arg

    return decorator


def get_custom_objects() -> dict:
    """The live global dictionary of registered objects, by key."""
    return _GLOBAL_CUSTOM_OBJECTS


def get_registered_name(obj) -> str:
    """The key ``obj`` is registered under, else its ``__name__``."""
    return _GLOBAL_CUSTOM_NAMES.get(obj, obj.__name__)


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object registered (or in scope, or in ``custom_objects``) under ``name``, or None."""
    for objects in (getattr(_state, "scope", None), _GLOBAL_CUSTOM_OBJECTS, custom_objects, module_objects):
        if objects and name in objects:
            return objects[name]
    return None


class CustomObjectScope:
    """``with custom_object_scope({'MyLayer': MyLayer}):`` lets loading find those objects."""

    def __init__(self, custom_objects=None):
        self.custom_objects = dict(custom_objects or {})
        self._backup = None

    def __enter__(self):
        self._backup = getattr(_state, "scope", None)
        _state.scope = {**(self._backup or {}), **self.custom_objects}
        return self

    def __exit__(self, *exc):
        _state.scope = self._backup


custom_object_scope = CustomObjectScope


@contextlib.contextmanager
def _safe_mode_scope(safe_mode):
    before = getattr(_state, "safe_mode", True)
    _state.safe_mode = bool(safe_mode)
    try:
        yield
    finally:
        _state.safe_mode = before


def _refuse_code(what):
    """A config asks for Python code (a lambda's bytecode): never loaded."""
    if getattr(_state, "safe_mode", True):
        raise ValueError(f"Requested the deserialization of {what}. This carries a potential risk of "
                         "arbitrary code execution and thus it is disallowed (safe_mode=True).")
    raise ValueError(f"Requested the deserialization of {what}: rstf never loads Python code from a "
                     "file, even with safe_mode=False; register the function or pass it in custom_objects")


def _builtin_class(name, module):
    """An rstf layer, model, optimizer or loss class named ``name``, for a module path of rstf
    or Keras (the kind the path names first: ``keras.losses.MeanSquaredError`` is the loss)."""
    from . import layers, models, optimizers
    from . import losses as _losses

    kinds = {"layers": layers, "models": models, "optimizers": optimizers, "losses": _losses}
    parts = module.split(".")
    order = sorted(kinds, key=lambda k: k not in parts)
    bases = (layers.Layer, optimizers.Optimizer, _losses.Loss)
    for kind in order:
        cls = vars(kinds[kind]).get(name)
        if isinstance(cls, type) and not name.startswith("_") and issubclass(cls, bases) \
                and cls.__module__.startswith("rstf."):
            return cls
    return None


def _find_class(doc, custom_objects):
    name, module = doc.get("class_name"), doc.get("module") or ""
    registered = doc.get("registered_name") or name
    if not all(isinstance(s, str) for s in (name, module, registered)):
        raise ValueError(f"load: a config's class_name, module and registered_name must be strings: {doc!r}")
    for key in dict.fromkeys((registered, name)):
        obj = get_registered_object(key, custom_objects)
        if obj is not None:
            return obj
    if module in ("keras", "rstf") or module.startswith(("keras.", "rstf.")):
        cls = _builtin_class(name, module)
        if cls is not None:
            return cls
    raise ValueError(f"Unknown class '{name}' (module '{module}'): loading imports no module named in a "
                     "file; register the class with rstf.keras.saving.register_keras_serializable() or "
                     f"pass it in custom_objects, as load_model(path, custom_objects={{'{name}': {name}}})")


def deserialize(doc, custom_objects=None):
    if not isinstance(doc, dict):
        raise ValueError(f"load: a saved object must be a dict with a class_name, got {doc!r}")
    if doc.get("class_name") == "__lambda__":
        _refuse_code("a `lambda` object")
    cls = _find_class(doc, custom_objects)
    config = _unvalue(doc.get("config", {}), custom_objects)
    if not isinstance(config, dict):
        raise ValueError(f"load: the config of {doc.get('class_name')!r} must be a dict")
    if hasattr(cls, "from_config"):
        return cls.from_config(config)
    return cls(**config)


# -- what is saved with a model --------------------------------------------------------------

def model_metadata(model) -> dict:
    """The class, constructor config, compile arguments and build input of a model."""
    meta = {"class_name": type(model).__name__, "module": type(model).__module__}
    if type(model) in _GLOBAL_CUSTOM_NAMES:
        meta["registered_name"] = _GLOBAL_CUSTOM_NAMES[type(model)]
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
    """Loads a model saved by ``model.save``. Classes are found as the module docstring says;
    ``safe_mode`` refuses configs that ask for Python code (lambdas), as in Keras."""
    filepath = os.fspath(filepath)
    with custom_object_scope(custom_objects), _safe_mode_scope(safe_mode):
        return _load_model(filepath, custom_objects, compile)


def _check_entry(filepath, info):
    """Refuses an entry that would unpack to more than the limits allow (see the module doc)."""
    from ..errors import DataLossError

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
    from ..errors import DataLossError

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
    from ..errors import DataLossError, NotFoundError
    from ..train import load_variables

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
    from .. import _rstf

    saved = sum(int(np.prod(v.shape)) * v.dtype.size for v in values.values())
    before = _rstf.swap_thread_limits((1 << 62, max(REBUILD_BYTES, 4 * saved)))
    try:
        return _rebuild(meta, custom_objects, compile, batch=1)
    except (TypeError, KeyError, AttributeError, IndexError, OverflowError, NotImplementedError) as e:
        raise ValueError(f"{filepath}: the model's config cannot be rebuilt ({type(e).__name__}: {e})") from e
    finally:
        _rstf.swap_thread_limits(before)


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
