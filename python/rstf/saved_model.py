"""``rstf.saved_model``: an object's traced functions, variables and attribute tree in a
directory that loads with no Python class or code, in Python or from Rust
(``rstf::saved::load``). See ``docs/FORMAT.md``.

>>> import tempfile
>>> import rstf as tf
>>> class MyModule(tf.Module):
...     def __init__(self, value):
...         self.weight = tf.Variable(value)
...     @tf.function
...     def multiply(self, x):
...         return x * self.weight
>>> mod = MyModule(3)
>>> _ = mod.multiply(tf.constant([1, 2, 3]))
>>> path = tempfile.mkdtemp()
>>> tf.saved_model.save(mod, path)
>>> reloaded = tf.saved_model.load(path)
>>> reloaded.multiply(tf.constant([1, 2, 3]))
<rstf.Tensor: shape=(3,), dtype=int32, numpy=array([3, 6, 9], dtype=int32)>
"""

from __future__ import annotations

import json
import os

import numpy as np

from . import _ops as _o
from . import _rstf, _trackable, nest
from ._function import ConcreteFunction, Function, TensorSpec
from ._rstf import Tensor
from ._variable import _LIVE, Variable
from .module import Module

__all__ = ["save", "load", "SaveOptions", "LoadOptions", "get_load_limits", "set_load_limits"]

_LIMITS = ("max_loop_iterations", "max_value_bytes", "value_bytes_per_input_byte")


def get_load_limits() -> dict:
    """The limits that functions read from files (``load``, ``keras.models.load_model`` of a
    directory) run under; functions traced in this process have none. A loop stops with
    ``ResourceExhaustedError`` after ``max_loop_iterations`` iterations, and no value may take
    more than ``max(max_value_bytes, value_bytes_per_input_byte * bytes of the arguments)``.
    See ``docs/SECURITY.md``.

    >>> import rstf as tf
    >>> tf.saved_model.get_load_limits()["max_loop_iterations"]
    1000000
    """
    return dict(zip(_LIMITS, _rstf.load_limits()))


def set_load_limits(**limits) -> dict:
    """Changes some of the limits of :func:`get_load_limits` for the calls that start from now
    on, in every thread; returns the limits in force before.

    >>> import rstf as tf
    >>> before = tf.saved_model.set_load_limits(max_loop_iterations=10)
    >>> tf.saved_model.get_load_limits()["max_loop_iterations"]
    10
    >>> _ = tf.saved_model.set_load_limits(**before)
    """
    before = get_load_limits()
    unknown = set(limits) - set(_LIMITS)
    if unknown:
        raise TypeError(f"set_load_limits: unknown limits {sorted(unknown)}; the limits are {list(_LIMITS)}")
    new = {**before, **{k: int(v) for k, v in limits.items()}}
    if any(v < 0 for v in new.values()):
        raise ValueError(f"set_load_limits: limits must not be negative, got {limits}")
    _rstf.set_load_limits(*(new[k] for k in _LIMITS))
    return before


class SaveOptions:
    def __init__(self, **kwargs):
        self.options = kwargs


class LoadOptions:
    def __init__(self, **kwargs):
        self.options = kwargs


# -- signatures: how Python arguments and results map to a graph's inputs and outputs --------

def _encode(value, leaf, what):
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, leaf, what) for v in value]}
    if isinstance(value, list):
        return {"list": [_encode(v, leaf, what) for v in value]}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError(f"saved_model.save: {what} is a dict with keys that are not strings")
        return {"dict": {k: _encode(v, leaf, what) for k, v in value.items()}}
    encoded = leaf(value)
    if encoded is not None:
        return encoded
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    raise ValueError(f"saved_model.save: {what} holds a {type(value).__name__}, which cannot be "
                     "saved (only tensors, numbers, strings, None, and lists, tuples and dicts)")


def _decode(doc, leaf):
    if not isinstance(doc, dict) or len(doc) != 1:
        raise ValueError(f"bad signature entry {doc!r}")
    (kind, body), = doc.items()
    if kind == "tuple":
        return tuple(_decode(d, leaf) for d in body)
    if kind == "list":
        return [_decode(d, leaf) for d in body]
    if kind == "dict":
        return {k: _decode(d, leaf) for k, d in body.items()}
    if kind == "value":
        return body
    return leaf(kind, body)


def _signature(cf: ConcreteFunction) -> str:
    counter = iter(range(1 << 62))

    def arg_leaf(v):
        if isinstance(v, TensorSpec):
            return {"tensor": {"dtype": v.dtype.name, "shape": list(v.shape), "input": next(counter)}}
        return None

    def out_leaf(v):
        return {"output": v.k} if isinstance(v, _Out) else None

    # Tensor results become output numbers; Python values in the results are saved as values.
    flat_out = [_Out(o) if isinstance(o, int) else o[1] for o in cf._flat_outputs]
    outputs = nest.pack_sequence_as(cf._structure, flat_out) if nest.is_nested(cf._structure) \
        else flat_out[0]
    return json.dumps({"inputs": _encode(cf._inputs, arg_leaf, f"an argument of {cf.__name__}"),
                       "outputs": _encode(outputs, out_leaf, f"a result of {cf.__name__}")})


class _Out:
    def __init__(self, k):
        self.k = k


# -- save ---------------------------------------------------------------------------------------

def _concrete_functions(fn: Function):
    if not fn._cache and fn.input_signature is not None:
        fn.get_concrete_function()
    return list(fn._cache.values())


class _Saver:
    def __init__(self):
        self.objects: list = []
        self.memo: dict = {}
        self.keep: list = []
        self.variables: list = []
        self.functions: list = []
        self.fn_memo: dict = {}
        self.keys: dict = {}  # variable id -> object path (breadth first, as checkpoints)

    def add(self, obj, path: str) -> int:
        if id(obj) in self.memo:
            return self.memo[id(obj)]
        i = len(self.objects)
        self.memo[id(obj)] = i
        self.keep.append(obj)
        entry: dict = {}
        self.objects.append(entry)
        if isinstance(obj, Variable):
            entry.update(kind="variable", variable=len(self.variables))
            self.variables.append((self.keys.get(obj._id, path or "root"), obj))
        elif isinstance(obj, (Function, ConcreteFunction)):
            cfs = _concrete_functions(obj) if isinstance(obj, Function) else [obj]
            entry.update(kind="function", functions=[self.add_concrete(cf) for cf in cfs])
        else:
            kind = ("tuple" if isinstance(obj, tuple) else "list" if isinstance(obj, list)
                    else "dict" if isinstance(obj, dict) else "module")
            entry["kind"] = kind
            if kind == "module":
                entry["class"] = type(obj).__name__
                extra = getattr(obj, "_saved_model_extra", None)
                if extra is not None:
                    entry["extra"] = extra()
            kids = {}
            for name, child in _savable_children(obj):
                kids[name] = self.add(child, f"{path}/{name}" if path else name)
            if kids:
                entry["children"] = kids
        return i

    def add_concrete(self, cf: ConcreteFunction) -> int:
        if id(cf) not in self.fn_memo:
            self.fn_memo[id(cf)] = len(self.functions)
            self.keep.append(cf)
            self.functions.append((cf._graph, cf.__name__, _signature(cf)))
        return self.fn_memo[id(cf)]


def _savable_children(obj):
    items = dict(_trackable.children(obj))
    if isinstance(obj, (list, tuple, dict)):
        # Functions inside containers.
        pairs = obj.items() if isinstance(obj, dict) else enumerate(obj)
        for k, v in pairs:
            if isinstance(v, (Function, ConcreteFunction)):
                items[str(k)] = v
    elif hasattr(obj, "__dict__"):
        for k, v in vars(obj).items():
            if isinstance(v, (Function, ConcreteFunction)) and not k.startswith("__"):
                items[k] = v
        for k in dir(type(obj)):
            # A traced __call__ is saved too: the loaded object is then callable.
            if (not k.startswith("__") or k == "__call__") \
                    and isinstance(getattr(type(obj), k, None), Function):
                bound = getattr(obj, k)
                if bound._cache or bound.input_signature is not None:
                    items[k] = bound
    return sorted(items.items(), key=lambda kv: (kv[0].startswith("_"), kv[0]))


def save(obj, export_dir, signatures=None, options=None):
    """Writes ``obj``'s tree to ``export_dir``: its Variables, and every traced signature of its
    ``rstf.function`` attributes (a function with an ``input_signature`` that was never called is
    traced now)."""
    saver = _Saver()
    paths = _trackable.variables_by_path(obj)
    saver.keys = {v._id: k for k, v in paths.items()}
    root = saver.add(obj, "")
    # Variables outside the tree (optimizer slots) are saved by object path too.
    saved = {v._id for _, v in saver.variables}
    for key, v in paths.items():
        if v._id not in saved:
            saver.variables.append((key, v))
            saved.add(v._id)
    if signatures is not None:
        sigs = signatures if isinstance(signatures, dict) else {"serving_default": signatures}
        kids = {k: saver.add(v, f"signatures/{k}") for k, v in sigs.items()}
        saver.objects.append({"kind": "dict", "children": kids})
        saver.objects[root].setdefault("children", {})["signatures"] = len(saver.objects) - 1
    _rstf.saved_model_write(os.fspath(export_dir), json.dumps(saver.objects), saver.functions,
                            saver.variables)


# -- load ---------------------------------------------------------------------------------------

def _result(results, k):
    """Result ``k`` of a graph run, as a signature read from a file names it."""
    from .errors import DataLossError

    if type(k) is not int or not 0 <= k < len(results):
        raise DataLossError(f"saved model: a signature names result {k!r} of a function with "
                            f"{len(results)} results")
    return results[k]


class _RestoredFunction:
    """A saved function: calls run the saved graph whose signature matches the arguments."""

    def __init__(self, name, entries):
        self.__name__ = name
        self._entries = entries  # (graph, inputs structure, outputs structure)

    @property
    def concrete_functions(self):
        return list(self._entries)

    def _match(self, inputs, args):
        """The tensors to pass for ``args`` if they fit the traced ``inputs``, else None."""
        tensors: list = []
        return tensors if _bind(inputs, args, tensors) else None

    def __call__(self, *args, **kwargs):
        for graph, inputs, outputs in self._entries:
            tensors = self._match(inputs, (args, kwargs))
            if tensors is not None:
                results = graph.run(tensors)
                return _decode(outputs, lambda kind, k, results=results: _result(results, k))
        got = nest.map_structure(
            lambda a: TensorSpec.from_tensor(_o.convert_to_tensor(a))
            if isinstance(a, (Tensor, Variable, np.ndarray, list)) else a, (args, kwargs))
        expected = "\n".join(f"  Option {i + 1}: {inp}" for i, (_, inp, _) in enumerate(self._entries))
        raise ValueError(
            f"Could not find matching concrete function to call loaded from the SavedModel. "
            f"Got: {got}\nExpected one of:\n{expected}")

    def __repr__(self):
        return f"<restored function {self.__name__}: {len(self._entries)} signature(s)>"


def _bind(spec, value, out) -> bool:
    if isinstance(spec, TensorSpec):
        if isinstance(value, Variable):
            value = value.value()
        if not isinstance(value, Tensor):
            try:
                value = _o.convert_to_tensor(value, dtype=spec.dtype)
            except (TypeError, ValueError):
                return False
        if value.dtype != spec.dtype or not spec.is_compatible_with(value):
            return False
        out.append(value)
        return True
    if isinstance(spec, (list, tuple)):
        return (isinstance(value, (list, tuple)) and len(value) == len(spec)
                and all(_bind(s, v, out) for s, v in zip(spec, value)))
    if isinstance(spec, dict):
        return (isinstance(value, dict) and set(value) == set(spec)
                and all(_bind(spec[k], value[k], out) for k in sorted(spec)))
    if isinstance(value, (Tensor, Variable, np.ndarray)):
        return False
    return type(value) is type(spec) and value == spec


class _Restored(Module):
    """An object of a loaded saved model: its attributes are the saved attributes."""

    def __call__(self, *args, **kwargs):
        fn = self.__dict__.get("__call__")
        if fn is None:
            raise TypeError(f"the restored {self.__dict__.get('_saved_class', 'object')} is not "
                            "callable: its __call__ was not a traced rstf.function when saved")
        return fn(*args, **kwargs)

    def __repr__(self):
        return f"<rstf restored {self.__dict__.get('_saved_class', 'object')}>"


def _tensor_spec(kind, body):
    if kind != "tensor":
        raise ValueError(f"bad signature leaf {kind!r}")
    return TensorSpec(body["shape"], body["dtype"])


def load(export_dir, tags=None, options=None):
    """Loads a saved model: an object with the saved attributes, callable functions (dispatching
    on the traced signatures) and variables that can be trained further."""
    return _load(export_dir)[0]


def _load(export_dir):
    """The loaded root object and ``{key: Variable}`` of every saved variable."""
    from .errors import DataLossError

    objects_json, functions, variables = _rstf.saved_model_read(os.fspath(export_dir))
    vars_ = []
    for _, raw in variables:
        v = Variable(_alias=raw)
        _LIVE[v._id] = v
        vars_.append(v)
    try:
        objects = json.loads(objects_json)
        entries = []
        for graph, _, sig in functions:
            s = json.loads(sig)
            entries.append((graph, _decode(s["inputs"], _tensor_spec), s["outputs"]))
        built: dict = {}

        def build(i, depth=0):
            if i in built:
                return built[i]
            if depth > 256:
                raise ValueError("the object tree is too deep")
            o = objects[i]
            kind = o["kind"]
            kids = o.get("children", {})
            if kind == "variable":
                obj = vars_[o["variable"]]
            elif kind == "function":
                obj = _RestoredFunction(f"function_{i}", [entries[f] for f in o.get("functions", [])])
            elif kind in ("list", "tuple"):
                obj = [None] * len(kids)
                built[i] = obj
                for k, c in kids.items():
                    obj[int(k)] = build(c, depth + 1)
                obj = tuple(obj) if kind == "tuple" else obj
            elif kind == "dict":
                obj = {}
                built[i] = obj
                for k, c in kids.items():
                    obj[k] = build(c, depth + 1)
            else:
                obj = _Restored()
                obj._saved_class = o.get("class", "object")
                obj._saved_extra = o.get("extra")
                built[i] = obj
                for k, c in kids.items():
                    setattr(obj, k, build(c, depth + 1))
            built[i] = obj
            return obj

        return build(0), {k: v for (k, _), v in zip(variables, vars_)}
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise DataLossError(
            f"{os.fspath(export_dir)}: the saved model's object tree is invalid: {e!r}") from None
