"""Keras configs: an object's constructor arguments as JSON (:func:`get_config`,
:func:`serialize`), and the objects rebuilt from them (:func:`deserialize`), with the registry
of the classes a config may name. Files are :mod:`rstf.keras.saving`'s.

Loading never runs code named in a file: a config's classes are looked up only among rstf's own
layers, models, optimizers and losses, the classes registered with
:func:`register_keras_serializable` (or in :func:`get_custom_objects`), those of an active
:class:`custom_object_scope`, and ``custom_objects``; no module named in a file is imported. A
subclassed model is found again once its class is registered:

>>> import rstf as tf
>>> @tf.keras.saving.register_keras_serializable(package="Docs")
... class Twice(tf.keras.Model):
...     def call(self, x):
...         return 2.0 * x
>>> tf.keras.saving.get_registered_name(Twice)
'Docs>Twice'
"""

from __future__ import annotations

import contextlib
import inspect
import threading

import numpy as np

from .. import nest
from . import activations, functional, layers, optimizers, regularizers
from . import losses as _losses
from ._captures import CapturesInit


def _value(v, what):
    """A constructor argument as JSON."""
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
    if isinstance(v, regularizers.Regularizer) and type(v) in regularizers._BY_NAME.values():
        return regularizers.serialize(v)
    if isinstance(v, functional.KerasTensor) and v._input_layer is not None:
        return {"__layer__": serialize(v._input_layer)}
    if callable(v) and any(f is v for f in activations._BY_NAME.values()):
        return {"__activation__": activations.serialize(v)}
    if callable(v) and any(f is v for f in _losses._BY_NAME.values()):
        return {"__loss__": next(k for k, f in _losses._BY_NAME.items() if f is v)}
    named = getattr(v, "__name__", None) != "<lambda>" or v in _GLOBAL_CUSTOM_NAMES
    if (inspect.isfunction(v) or inspect.isbuiltin(v)) and named:
        return _function_doc(v)
    raise NotImplementedError(f"{what}: the argument {v!r} cannot be saved in a config")


# The arguments of a Lambda layer that hold functions: a Python lambda there is saved as a
# marker (Keras 3 saves its bytecode), which loading refuses.
_LAMBDA_FIELDS = ("function", "output_shape", "mask")


def _function_doc(fn) -> dict:
    """A function as Keras 3 writes it: by its registered name (else its ``__name__``), found
    again only among registered functions and ``custom_objects``. A ``lambda`` is written as
    Keras' ``__lambda__`` marker without its code (rstf never loads code from a file)."""
    module = getattr(fn, "__module__", None) or "builtins"
    if fn.__name__ == "<lambda>" and fn not in _GLOBAL_CUSTOM_NAMES:
        return {"class_name": "__lambda__", "config": {"module": module, "code": None}}
    return {"module": module, "class_name": "function", "config": get_registered_name(fn),
            "registered_name": "function"}


def _is_lambda_doc(v) -> bool:
    return isinstance(v, dict) and (v.get("class_name") == "__lambda__" or v.get("function_type") == "lambda")


class _FunctionNotFound(TypeError, ValueError):
    """Keras raises TypeError for a function it cannot find; rstf's loaders take unknown names
    as ValueError: this is both."""


def _find_function(v, custom_objects):
    """The function a ``{"class_name": "function", ...}`` config names: looked up only among
    the registered functions, the custom object scope and ``custom_objects``."""
    name, registered = v.get("config"), v.get("registered_name")
    keys = [k for k in (registered, name) if isinstance(k, str) and k != "function"]
    for key in dict.fromkeys(keys):
        obj = get_registered_object(key, custom_objects)
        if obj is not None:
            return obj
    raise _FunctionNotFound(
        f"Could not locate function {name!r}. Make sure custom classes and functions are decorated with "
        "`@keras.saving.register_keras_serializable()` (rstf.keras.saving.register_keras_serializable) "
        "or passed in custom_objects; loading imports no module named in a file. "
        f"Full object config: {v!r}")


def _unvalue(v, custom_objects):
    if isinstance(v, list):
        return [_unvalue(x, custom_objects) for x in v]
    if isinstance(v, dict):
        if _is_lambda_doc(v):
            _refuse_code("a `lambda` object")
        if v.get("class_name") == "function" and isinstance(v.get("config"), str):
            return _find_function(v, custom_objects)
        if set(v) == {"__layer__"}:
            return deserialize(v["__layer__"], custom_objects)
        if v.get("module") == "keras.regularizers" and v.get("class_name") in regularizers._BY_NAME:
            return regularizers.deserialize(v)
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
        return {"name": obj.name, "functional": functional_config(graph)}
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
    lam = isinstance(obj, layers.Lambda)
    return {k: _function_doc(v) if lam and k in _LAMBDA_FIELDS and inspect.isfunction(v)
            and not any(f is v for f in activations._BY_NAME.values()) else _value(v, type(obj).__name__)
            for k, v in config.items()}


def _default_get_config(self):
    return get_config(self)


def serialize(obj) -> dict:
    cls = type(obj)
    doc = {"class_name": cls.__name__, "module": cls.__module__, "config": get_config(obj)}
    if cls in _GLOBAL_CUSTOM_NAMES:
        doc["registered_name"] = _GLOBAL_CUSTOM_NAMES[cls]
    return doc


# -- functional models -------------------------------------------------------------------------

def functional_config(graph) -> dict:
    """A functional model's graph (:class:`rstf.keras.functional.Graph`) as JSON: layers, input
    specs, calls and outputs by reference."""
    nodes = {n.id: i for i, n in enumerate(graph.nodes)}

    def ref(t):
        if t._node is None:
            return {"__input__": next(i for i, x in enumerate(graph.flat_inputs) if x is t)}
        return {"__node__": [nodes[t._node.id], t._index]}

    def enc(structure):
        return _value(functional._replace(structure, ref), "Model")

    return {
        "layers": [serialize(layer) for layer in graph.layers],
        "inputs": [{"shape": list(t.shape), "dtype": t.dtype.name, "name": t.name}
                   for t in graph.flat_inputs],
        "input_structure": enc(graph.inputs),
        "nodes": [{"layer": next(i for i, m in enumerate(graph.layers) if m is n.layer),
                   "args": enc(list(n.args[0:1]) + list(n.args[1])), "kwargs": enc(n.kwargs)}
                  for n in graph.nodes],
        "outputs": enc(graph.outputs),
    }


def functional_from_config(cfg, custom_objects=None):
    """The inputs and outputs of a functional model rebuilt from :func:`functional_config`
    (layers deserialized and called)."""
    graph_layers = [deserialize(doc, custom_objects) for doc in cfg["layers"]]
    inputs = [functional.Input(shape=s["shape"][1:], batch_size=s["shape"][0], dtype=s["dtype"],
                               name=s["name"]) for s in cfg["inputs"]]
    made = []

    def dec(v):
        if isinstance(v, dict) and set(v) == {"__input__"}:
            return inputs[v["__input__"]]
        if isinstance(v, dict) and set(v) == {"__node__"}:
            node, index = v["__node__"]
            return nest.flatten(made[node])[index]
        if isinstance(v, list):
            return [dec(x) for x in v]
        if isinstance(v, dict):
            return {k: dec(x) for k, x in v.items()}
        return v

    for n in cfg["nodes"]:
        args = dec(n["args"])
        made.append(graph_layers[n["layer"]](args[0], *args[1:], **dec(n["kwargs"])))
    structure = dec(cfg["input_structure"])
    return structure, dec(cfg["outputs"])


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
    from . import models  # at call time: models imports this module

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
    raw = doc.get("config", {})
    if isinstance(cls, type) and issubclass(cls, layers.Lambda) and isinstance(raw, dict):
        for field in _LAMBDA_FIELDS:
            if _is_lambda_doc(raw.get(field)):
                _refuse_code(f"a `Lambda` layer whose `{field}` is a Python lambda")
    config = _unvalue(raw, custom_objects)
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
