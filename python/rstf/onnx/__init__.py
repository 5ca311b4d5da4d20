"""Export to ONNX: ``rstf.onnx.export(obj, path)`` writes a Keras model (Sequential, functional
or subclassed), a ``tf.Module`` or a ``tf.function`` as an ONNX model and returns its
``ModelProto``, as ``tf2onnx`` and ``torch.onnx.export`` do::

    import rstf as tf
    model = tf.keras.Sequential([tf.keras.Input(shape=(64,)), tf.keras.layers.Dense(10)])
    proto = tf.onnx.export(model, "model.onnx")  # input "input_layer": [batch, 64]

The object is traced into rstf's graph (in inference mode: Keras models are called with
``training=False``) and each node is written as ONNX ops (see ``docs/ONNX.md`` for the table of
ops). ``None`` dimensions of the input signature stay symbolic (``batch`` for the first axis),
the variables become initializers named after the layers that hold them (``dense/kernel``), the
inputs after the input signature, the Keras inputs or the function's parameters. An op with no
ONNX form raises :class:`UnsupportedOpError` (both ``NotImplementedError`` and
``rstf.errors.UnimplementedError``) naming it.

It needs the ``onnx`` package (``pip install rstf[onnx]``); ``import rstf`` does not.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import re

from .. import _trackable, errors, nest
from .._function import ConcreteFunction, Function, TensorSpec, _has_none, _marker_level
from .._variable import Variable
from . import _graph
from ._ops import CONVERTERS, UnsupportedOpError, converter

__all__ = ["export", "UnsupportedOpError", "CONVERTERS", "converter", "DEFAULT_OPSET", "MIN_OPSET"]

DEFAULT_OPSET = 18
"""The opset written when none is asked for (onnxruntime runs it from version 1.14)."""
MIN_OPSET = 17
"""The oldest opset the converters can write."""


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("rstf.onnx.export needs the onnx package: pip install rstf[onnx]") from None
    return onnx


def export(obj, path=None, input_signature=None, opset=None):
    """Writes ``obj`` to ``path`` as an ONNX model (unless ``path`` is None) and returns the
    ``onnx.ModelProto``.

    ``obj`` is a Keras model or layer, a ``tf.function`` (or one of its concrete functions), a
    ``tf.Module`` whose ``__call__`` or single traced method is a ``tf.function``, or a Python
    function given with an ``input_signature``. ``input_signature`` is a list of
    ``tf.TensorSpec`` (default: the function's own, the Keras model's inputs, or the shapes it
    was built or called with, the batch dimension made ``None``). ``opset`` is the ONNX opset
    (default :data:`DEFAULT_OPSET`, at least :data:`MIN_OPSET`).
    """
    onnx = _require_onnx()
    opset = DEFAULT_OPSET if opset is None else int(opset)
    if not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise ValueError(f"export: opset {opset} is not supported: use {MIN_OPSET} to "
                         f"{onnx.defs.onnx_opset_version()} (the installed onnx package's newest)")
    target = _target(obj, input_signature)
    with target.keep_state():
        traced = _trace(target)
    model = _build(onnx, opset, target, *traced)
    if path is not None:
        _save(onnx, model, os.fspath(path))
    return model


# -- what to trace ----------------------------------------------------------------------------

def _is_layer(obj) -> bool:
    """True for a Keras layer or model (told apart without importing Keras)."""
    return callable(obj) and hasattr(obj, "call") and hasattr(obj, "built") and hasattr(obj, "weights")


class _Target:
    """A function to trace with its arguments (TensorSpecs for the tensors), and the names
    of its inputs and outputs and the object whose variables it reads."""

    def __init__(self, fn, args, kwargs, root, input_names=None, output_names=None, where="the function"):
        self.fn, self.args, self.kwargs, self.root = fn, tuple(args), dict(kwargs), root
        self.input_names, self.output_names, self.where = input_names, output_names, where

    @contextlib.contextmanager
    def keep_state(self):
        """Restores what tracing a Keras model changes in it (the shapes it was called with,
        which its saved serving signatures follow)."""
        state = self.root.__dict__ if _is_layer(self.root) else {}
        shapes = state.get("_call_shapes")
        saved = dict(shapes) if shapes is not None else None
        try:
            yield
        finally:
            if saved is not None:
                state["_call_shapes"] = saved


def _specs(signature, what):
    specs = list(signature)
    for s in nest.flatten(specs):
        if not isinstance(s, TensorSpec):
            raise TypeError(f"export: the input signature of {what} must hold tf.TensorSpec objects, "
                            f"got {s!r}")
    return specs


def _target(obj, input_signature) -> _Target:
    if isinstance(obj, ConcreteFunction):
        inputs = obj._shown_inputs if obj._shown_inputs is not None else obj._inputs
        if obj._owner is None:
            if input_signature is not None:
                raise ValueError("export: a concrete function has its own signature: export its tf.function "
                                 "to give another")
            return _Target(obj, *inputs, None, where=f"'{obj.__name__}'")
        return _function_target(obj._owner, input_signature, inputs=None if input_signature else inputs)
    if isinstance(obj, Function):
        return _function_target(obj, input_signature)
    if _is_layer(obj):
        return _layer_target(obj, input_signature)
    if isinstance(obj, _trackable.Trackable):
        fn = _module_function(obj)
        return _function_target(fn, input_signature, root=obj)
    if callable(obj):
        if input_signature is None:
            raise ValueError("export: a Python function needs an input_signature (a list of tf.TensorSpec)")
        return _function_target(Function(obj, input_signature=_specs(input_signature, "the function")), None)
    raise TypeError(f"export: cannot export {type(obj).__name__!r}: expected a Keras model, a tf.Module, "
                    "a tf.function or a Python function")


def _function_target(fn: Function, input_signature, root=None, inputs=None) -> _Target:
    if inputs is not None:
        args, kwargs = inputs
    elif input_signature is not None:
        args, kwargs = tuple(_specs(input_signature, fn.__name__)), {}
    elif fn.input_signature is not None:
        args, kwargs = tuple(fn.input_signature), {}
    else:
        traced = fn._list_all_concrete_functions()
        if len(traced) != 1:
            raise ValueError(f"export: give the input_signature of '{fn.__name__}' (it has "
                             f"{'no' if not traced else len(traced)} traced signatures)")
        cf = traced[0]
        args, kwargs = cf._shown_inputs if cf._shown_inputs is not None else cf._inputs
    python = fn.python_function
    if root is None:
        root = getattr(python, "__self__", None)
    names = None
    try:
        params = [p for p in inspect.signature(python).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(params) >= len(args) and not kwargs:
            names = [p.name for p, a in zip(params, args) for _ in nest.flatten(a)]
    except (TypeError, ValueError):
        pass
    return _Target(fn, args, kwargs, root, input_names=names, where=f"'{fn.__name__}'")


def _module_function(module) -> Function:
    """The tf.function a Module exports: its ``__call__``, else its only traced (or signed) one."""
    if isinstance(inspect.getattr_static(type(module), "__call__", None), Function):
        return module.__call__
    found = []
    for name in dir(type(module)):
        if name.startswith("__"):
            continue
        if isinstance(inspect.getattr_static(type(module), name, None), Function):
            fn = getattr(module, name)
            if fn.input_signature is not None or fn._list_all_concrete_functions():
                found.append((name, fn))
    if len(found) != 1:
        names = ", ".join(n for n, _ in found) or "none"
        raise ValueError(f"export: {type(module).__name__} has {len(found)} tf.function methods with an "
                         f"input signature or a trace ({names}): export one of them "
                         "(rstf.onnx.export(module.method, ...))")
    return found[0][1]


def _layer_target(layer, input_signature) -> _Target:
    names, outputs = None, None
    inputs = getattr(layer, "inputs", None)
    if input_signature is not None:
        specs = _specs(input_signature, layer.name)
    elif inputs:
        specs = [TensorSpec(tuple(t.shape), t.dtype, t.name or t._input_layer.name) for t in inputs]
    elif "_input" in layer.__dict__:
        spec = layer.__dict__["_input"]
        specs = [TensorSpec((None, *spec.shape), spec.dtype, spec.name)]
    else:
        called = layer.__dict__.get("_call_shapes") or {}
        build = layer.__dict__.get("_build_input") or next(iter(called), None)
        if build is None:
            raise ValueError(f"export: {layer.name} has not been built or called: give its input_signature")
        dtype, shape = build
        specs = [TensorSpec((None, *tuple(shape)[1:]) if shape else (), dtype)]
    if inputs and input_signature is None:
        outputs = [t._node.layer.name if t._node is not None else None for t in layer.outputs]
    elif hasattr(layer, "layers") and layer.layers and type(layer).__name__ == "Sequential":
        outputs = [layer.layers[-1].name]
    names = [s.name or ("input" if len(specs) == 1 else f"input_{i}") for i, s in enumerate(specs)]
    several = len(specs) > 1

    def serve(*xs):
        return layer(list(xs) if several else xs[0], training=False)

    fn = Function(serve, name=layer.name)
    return _Target(fn, specs, {}, layer, input_names=names, output_names=outputs, where=f"'{layer.name}'")


# -- tracing ----------------------------------------------------------------------------------

def _trace(t: _Target):
    """The two traces (the second None when no dimension is None), the output structure's
    names, and the symbols: ``(graph_a, graph_b, tensor outputs' names, symbols)``."""
    flat = nest.flatten((t.args, t.kwargs))
    specs = [a for a in flat if isinstance(a, TensorSpec)]
    if isinstance(t.fn, ConcreteFunction):
        cf = t.fn
        return cf._graph, None, _output_names(t, cf._structure, cf._flat_outputs), []
    t.fn.get_concrete_function(*t.args, **t.kwargs)  # creates variables, as the first trace does
    generic = [a for a in flat if _has_none(a)]
    if not generic:
        g, result, layout = t.fn._trace_with(t.args, t.kwargs, (), None)
        return g, None, _output_names(t, result, layout), []
    markers = _marker_level(generic)[0]
    # The second trace's sizes are half as large again (not tf.function's near neighbours), so
    # that sizes divided down by strides and pooling still differ between the two traces.
    alternates = tuple(m * 3 // 2 | 1 for m in markers)
    try:
        g_a, result, layout = t.fn._trace_with(t.args, t.kwargs, markers, None)
    except errors.InvalidArgumentError:
        # As tf.function: one size for every None dimension where sizes differing by axis do not fit.
        markers, alternates = (markers[0],) * len(markers), (alternates[0],) * len(markers)
        g_a, result, layout = t.fn._trace_with(t.args, t.kwargs, markers, None)
    g_b, _, _ = t.fn._trace_with(t.args, t.kwargs, alternates, None, g_a.captured_before)
    symbols, names = [], _input_names(t, specs)
    for spec, name in zip(specs, names):
        for axis, d in enumerate(tuple(spec.shape or ())):
            if d is None:
                a, b = markers[axis % len(markers)], alternates[axis % len(alternates)]
                known = next((s for s in symbols if (s.a, s.b) == (a, b)), None)
                label = known.name if known else ("batch" if axis == 0 else f"dim_{axis}")
                symbols.append(_graph.Symbol(label, a, b, name, axis))
    return g_a, g_b, _output_names(t, result, layout), symbols


_NAME = re.compile(r"[^A-Za-z0-9_./:-]")


def _clean(name, fallback):
    name = _NAME.sub("_", str(name)) if name else ""
    return name or fallback


def _input_names(t: _Target, specs) -> list:
    given = t.input_names or []
    names, seen = [], set()
    for i, spec in enumerate(specs):
        name = _clean(spec.name or (given[i] if i < len(given) else None), f"input_{i}")
        while name in seen:
            name += "_"
        seen.add(name)
        names.append(name)
    return names


def _output_names(t: _Target, structure, layout) -> list:
    """A name per tensor output: the Keras output layers', a dict's keys, else ``output_i``."""
    keys = []
    if isinstance(structure, dict):
        keys = [str(k) for k in sorted(structure, key=str)]
    leaves = [i for i, o in enumerate(layout) if isinstance(o, int)]
    given = t.output_names or []
    names, seen = [], set()
    for k, i in enumerate(leaves):
        name = given[i] if i < len(given) and given[i] else (keys[i] if i < len(keys) else None)
        name = _clean(name, f"output_{k}")
        while name in seen:
            name += "_"
        seen.add(name)
        names.append(name)
    return names


def _variable_names(root) -> list:
    """``[(name, Variable)]`` for the variables reachable from ``root``: the path of layer names
    (or attribute names outside Keras) that holds each, as ``dense/kernel``."""
    if root is None:
        return []
    objects = dict(_trackable.walk(root))
    out, seen, ids = [], set(), set()
    for path, obj in objects.items():
        if not isinstance(obj, Variable) or id(obj) in ids:
            continue
        parts = path.split("/")
        words = []
        for j in range(1, len(parts)):
            holder = objects.get("/".join(parts[:j]))
            if _is_layer(holder) and isinstance(getattr(holder, "name", None), str):
                words.append(holder.name)
            elif not parts[j - 1].startswith("_") and not parts[j - 1].isdigit():
                words.append(parts[j - 1])
        leaf = parts[-1]
        if leaf.isdigit() or leaf.startswith("_"):
            leaf = str(obj.name).split(":")[0] or "variable"
        name = _clean("/".join(words + [leaf]), "variable")
        base, k = name, 0
        while name in seen:
            k += 1
            name = f"{base}_{k}"
        seen.add(name)
        ids.add(id(obj))
        out.append((name, obj))
    return out


# -- the ONNX model ---------------------------------------------------------------------------

def _build(onnx, opset, t: _Target, g_a, g_b, output_names, symbols):
    variables = _variable_names(t.root)
    g = _graph.read(g_a, g_b, variables, t.where)
    flat = nest.flatten((t.args, t.kwargs))
    specs = [a for a in flat if isinstance(a, TensorSpec)]
    input_names = _input_names(t, specs)
    if len(input_names) != len(g.inputs):
        input_names = [f"input_{i}" for i in range(len(g.inputs))]
    if len(output_names) != len(g.outputs):
        output_names = [f"output_{i}" for i in range(len(g.outputs))]
    ctx = _graph.Builder(onnx, opset, symbols)
    ctx.shared.used.update(input_names + output_names)
    env = dict(zip(g.inputs, input_names))
    _graph.convert(ctx, g, env)
    nodes = ctx.nodes
    initializers = ctx.shared.initializers
    # Each output is named by renaming the value where a node makes it, else by an Identity
    # (an input, a constant, a value returned twice).
    taken, renamed = set(input_names) | set(initializers), {}
    for slot, name in zip(g.outputs, output_names):
        src = renamed.get(env[slot], env[slot])
        if src not in taken and any(src in n.output for n in nodes):
            _rename(nodes, src, name)
            renamed[src] = name
        else:
            nodes.append(onnx.helper.make_node("Identity", [src], [name], name=ctx.fresh("Identity")))
        taken.add(name)
    nodes, used = _prune(nodes, output_names)
    inits = {k: v for k, v in initializers.items() if k in used}
    # An initializer computed from a variable (a filter in ONNX's layout) takes the variable's
    # name when it alone remains of it.
    derived = {}
    for new, old in ctx.shared.origin.items():
        if new in inits:
            derived.setdefault(old, []).append(new)
    for old, news in derived.items():
        new = news[0]
        if len(news) == 1 and old not in inits and old not in used:
            _rename(nodes, new, old)
            inits[old] = inits.pop(new)
            inits[old].name = old
    h = onnx.helper
    by_sym = {(s.a, s.b): s.name for s in symbols}

    def info(name, spec):
        dims = [by_sym.get((d.a, d.b)) if isinstance(d, _graph.Sym) else d for d in spec.dims]
        return h.make_tensor_value_info(name, ctx.onnx_type(spec.dtype), dims)

    graph = h.make_graph(nodes, _clean(t.where.strip("'"), "graph"),
                         [info(n, g.specs[s]) for n, s in zip(input_names, g.inputs)],
                         [info(n, g.specs[s]) for n, s in zip(output_names, g.outputs)],
                         initializer=list(inits.values()))
    opsets = [h.make_opsetid("", opset)]
    model = h.make_model(graph, opset_imports=opsets, producer_name="rstf",
                         ir_version=max(8, h.find_min_ir_version_for(opsets)))
    model.producer_version = _version()
    if model.ByteSize() < _PROTO_LIMIT:
        onnx.checker.check_model(model)
    return model


def _version():
    try:
        from importlib.metadata import version

        return version("rstf")
    except Exception:  # noqa: BLE001 - not installed as a distribution (a source tree)
        return ""


def _subgraphs(node):
    for a in node.attribute:
        if a.HasField("g"):
            yield a.g
        yield from a.graphs


def _rename(nodes, old, new):
    """Renames the value ``old`` to ``new`` in ``nodes`` and their sub-graphs."""
    for n in nodes:
        for i, x in enumerate(n.input):
            if x == old:
                n.input[i] = new
        for i, x in enumerate(n.output):
            if x == old:
                n.output[i] = new
        for sub in _subgraphs(n):
            _rename(sub.node, old, new)
            for o in sub.output:
                if o.name == old:
                    o.name = new


def _uses(node) -> set:
    """The names ``node`` reads, its sub-graphs' reads from the enclosing graph included."""
    names = set(node.input)
    for sub in _subgraphs(node):
        inner = {i.name for i in sub.input} | {i.name for i in sub.initializer}
        reads = set()
        for n in sub.node:
            reads |= _uses(n)
            inner |= set(n.output)
        reads |= {o.name for o in sub.output}
        names |= reads - inner
    names.discard("")
    return names


def _prune(nodes, outputs):
    """The nodes the outputs need (in order), and every name they read."""
    needed = set(outputs)
    kept = []
    for n in reversed(nodes):
        if needed & set(n.output):
            kept.append(n)
            needed |= _uses(n)
    return kept[::-1], needed


_PROTO_LIMIT = (1 << 31) - (1 << 26)  # a protocol buffer holds at most 2 GiB


def _save(onnx, model, path):
    """Writes the model; weights past the 2 GiB a protocol buffer holds go to ``PATH.data``."""
    if model.ByteSize() >= _PROTO_LIMIT:
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(path) + ".data")
    else:
        onnx.save_model(model, path)
