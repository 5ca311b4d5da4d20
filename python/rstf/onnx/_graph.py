"""The traced graphs an export reads, and the builder that writes the ONNX graph.

A graph is read as its saved-model form (``rstf.saved_model`` writes it as JSON with every op's
attributes, see docs/FORMAT.md): the function is traced twice, with two different sizes standing
for each ``None`` dimension, and the two traces are read side by side. A dimension that differs
between them is symbolic (:class:`Sym`, holding both sizes), and so is every shape attribute
that differs: converters turn those into sizes read at run time from the graph's inputs
(:meth:`Builder.dim`).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from typing import NamedTuple

import numpy as np

from .. import _rstf, errors
from . import _ops
from ._ops import Call, Spec, Sym, UnsupportedOpError


class Symbol(NamedTuple):
    """A ``None`` dimension of an input: its ONNX name, its sizes in the two traces and where
    to read it (input name, axis)."""

    name: str
    a: int
    b: int
    source: str
    axis: int


# -- reading the traced graphs ----------------------------------------------------------------

_BINARY = {"Add": "AddV2", "Div": "RealDiv"}
_SIMPLE = {"Select": "SelectV2", "Softplus": "Softplus", "ReluGrad": "ReluGrad", "Identity": "Identity",
           "StopGradient": "StopGradient", "MaxPoolPatches": "MaxPool"}
_LINALG = {"Solve": "MatrixSolve", "TriangularSolve": "MatrixTriangularSolve", "Inverse": "MatrixInverse",
           "Det": "MatrixDeterminant", "SlogDet": "LogMatrixDeterminant", "Cholesky": "Cholesky",
           "Eigh": "SelfAdjointEigV2", "Svd": "Svd", "Qr": "Qr"}
_NAMED = {"Count": "Size", "Reverse": "ReverseV2", "Slice": "StridedSlice", "SliceGrad": "StridedSliceGrad",
          "Concat": "ConcatV2", "Unstack": "Unpack", "Split": "SplitV", "Pad": "PadV2", "Gather": "GatherV2"}


def op_name(op) -> tuple:
    """TensorFlow's name of a serialised primitive op (as ``graph.get_operations()`` shows it)
    and its attributes."""
    if isinstance(op, str):
        return _SIMPLE.get(op, op), None
    (variant, attr), = op.items()
    if variant == "Unary":
        return attr, attr
    if variant == "Binary":
        return _BINARY.get(attr, attr), attr
    if variant == "Reduce":
        return attr["op"], attr
    if variant == "ArgReduce":
        return ("ArgMax" if attr["max"] else "ArgMin"), attr
    if variant == "Cumulative":
        return ("Cumprod" if attr["prod"] else "Cumsum"), attr
    if variant == "Softmax":
        return ("LogSoftmax" if attr["log"] else "Softmax"), attr
    if variant == "Random":
        return ("RandomStandardNormal" if attr["normal"] else "RandomUniform"), attr
    if variant in ("Linalg", "Strings"):
        kind = attr if isinstance(attr, str) else next(iter(attr))
        return _LINALG.get(kind, kind), attr
    return _NAMED.get(variant, variant), attr


class Node:
    """One node of a traced graph: ``kind`` (``Op``, ``Const``, ``ReadVariable``, ``Assign``,
    ``Update``, ``While``), the op's TensorFlow name, its attributes in both traces, and its
    input and output slots."""

    def __init__(self, kind, op, attr, attr_b, inputs, outputs):
        self.kind, self.op, self.attr, self.attr_b = kind, op, attr, attr_b
        self.inputs, self.outputs = list(inputs), list(outputs)


class Graph:
    """A traced graph read from both traces: ``specs`` per slot, ``nodes`` in order, and the
    tensors its constants and variables name (``values``: key -> array, ``names``: variable
    key -> ONNX name)."""

    def __init__(self, a, b, values, names, where="the function"):
        if b is None:
            b = a
        self.values, self.names, self.where = values, names, where
        self.inputs, self.outputs = list(a["inputs"]), list(a["outputs"])
        if (a["inputs"], a["outputs"], len(a["specs"]), len(a["nodes"])) != \
                (b["inputs"], b["outputs"], len(b["specs"]), len(b["nodes"])):
            raise _structure_error(where)
        self.specs = []
        for sa, sb in zip(a["specs"], b["specs"]):
            if sa["dtype"] != sb["dtype"] or len(sa["shape"]) != len(sb["shape"]):
                raise _structure_error(where)
            self.specs.append(Spec(sa["dtype"], [x if x == y else Sym(x, y)
                                                 for x, y in zip(sa["shape"], sb["shape"])]))
        self.constants, self.variables = a["constants"], a["variables"]
        self.constants_b = b["constants"]
        self.nodes = []
        for k, (na, nb) in enumerate(zip(a["nodes"], b["nodes"])):
            if (na["inputs"], na["outputs"]) != (nb["inputs"], nb["outputs"]):
                raise _structure_error(where)
            self.nodes.append(self._node(k, na["op"], nb["op"], na, where))

    def _node(self, k, op, op_b, n, where):
        (kind, attr), = op.items() if isinstance(op, dict) else ((op, None),)
        (kind_b, attr_b), = op_b.items() if isinstance(op_b, dict) else ((op_b, None),)
        if kind != kind_b:
            raise _structure_error(where)
        if kind == "Op":
            name, a = op_name(attr)
            name_b, b = op_name(attr_b)
            if name != name_b:
                raise _structure_error(where)
            return Node(kind, name, a, b, n["inputs"], n["outputs"])
        if kind == "Const":
            # A constant that differs between the traces was computed from a None dimension's
            # size: only a converter that knows how to compute it (an average pool's window
            # counts) can take it; any other use raises (see `convert`).
            va = self.values[self.constants[attr]]
            vb = self.values[self.constants_b[attr_b]]
            varying = va.shape != vb.shape or va.tobytes() != vb.tobytes()
            return Node(kind, "Const", attr, attr_b if varying else None, n["inputs"], n["outputs"])
        if kind == "While":
            body = {key: Graph(attr[key], attr_b[key], self.values, self.names, f"a loop of {where}")
                    for key in ("cond", "body")}
            if attr.get("grad"):
                raise UnsupportedOpError("export: the gradient of a while loop has no ONNX form")
            info = {key: attr[key] for key in ("n_vars", "n_cond_captures", "max_iterations")}
            return Node(kind, "While", dict(info, **body), None, n["inputs"], n["outputs"])
        names = {"ReadVariable": "ReadVariableOp", "Assign": "AssignVariableOp", "Update": "ApplyUpdate"}
        return Node(kind, names.get(kind, kind), attr, attr_b, n["inputs"], n["outputs"])

    def const_value(self, slot, second=False):
        """The array a ``Const`` node writes to ``slot`` (in the second trace when ``second``),
        else None."""
        for n in self.nodes:
            if n.kind == "Const" and n.outputs[0] == slot:
                if second and n.attr_b is not None:
                    return self.values[self.constants_b[n.attr_b]]
                return self.values[self.constants[n.attr]]
        return None


def _structure_error(where):
    return UnsupportedOpError(
        f"export: tracing {where} with other sizes for its None dimensions gives a different graph "
        "(a Python loop over a None dimension, such as a recurrent layer over a sequence of unknown "
        "length, unrolls to as many steps as it has): give those dimensions fixed sizes in the "
        "input signature")


def _dump(graph, variables, directory, where):
    """The saved-model document of ``graph`` and the arrays of its constants and variables."""
    path = os.path.join(directory, "graph")
    try:
        _rstf.saved_model_write(path, json.dumps([{"kind": "module"}]), [(graph, "export", "{}")],
                                list(variables))
    except errors.UnimplementedError as e:
        found = re.search(r"\((\w+):", str(e))
        op = found.group(1) if found else "a Python function"
        raise UnsupportedOpError(
            f"export: {op}: {where} calls a Python function (tf.print, tf.py_function or "
            "tf.numpy_function), which an ONNX graph cannot hold") from None
    with open(os.path.join(path, "saved_model.json"), encoding="utf-8") as f:
        doc = json.load(f)
    values = {}
    for name in ("variables.safetensors", "constants.safetensors"):
        tensors, _ = _rstf.load_tensors(os.path.join(path, name))
        values.update((k, _array(t)) for k, t in tensors)
    return doc, values


def _array(t):
    a = np.asarray(t.numpy())
    return a.astype(np.float32) if t.dtype.name == "bfloat16" else a


def read(graph_a, graph_b, variables, where) -> Graph:
    """The traced graph (``graph_b``: the second trace, or None when no dimension is ``None``).
    ``variables``: ``[(ONNX name, Variable)]`` of the variables to name."""
    with tempfile.TemporaryDirectory() as d:
        doc_a, values = _dump(graph_a, variables, os.path.join(d, "a") if graph_b else d, where)
        doc_b = None
        if graph_b is not None:
            doc_b, values_b = _dump(graph_b, variables, os.path.join(d, "b"), where)
            # Constants are numbered per file: the second trace's get their own keys.
            doc_b["functions"][0]["graph"] = _rekey(doc_b["functions"][0]["graph"], "b:")
            values.update((f"b:{k}", v) for k, v in values_b.items())
    # Variables the export did not name (captured by a function) keep their own names.
    names = {v["key"]: v["name"].split(":")[0] if v["key"].startswith("_captured/") else v["key"]
             for v in doc_a["variables"]}
    return Graph(doc_a["functions"][0]["graph"], doc_b and doc_b["functions"][0]["graph"], values,
                 names, where)


def _rekey(g, prefix):
    g = dict(g, constants=[prefix + k for k in g["constants"]])
    nodes = []
    for n in g["nodes"]:
        op = n["op"]
        if isinstance(op, dict) and "While" in op:
            w = dict(op["While"])
            for key in ("cond", "body", "grad"):
                if w.get(key):
                    w[key] = _rekey(w[key], prefix)
            n = dict(n, op={"While": w})
        nodes.append(n)
    return dict(g, nodes=nodes)


# -- windows: convolution and pooling as ONNX ops -----------------------------------------------

def _consumers(g):
    uses = {}
    for k, n in enumerate(g.nodes):
        for s in n.inputs:
            uses.setdefault(s, []).append(k)
    for s in g.outputs:
        uses.setdefault(s, []).append(-1)
    return uses


def fuse_windows(g) -> list:
    """``g``'s nodes with each convolution (``Im2Col``, ``Reshape``, ``MatMul`` with the filter,
    ``Reshape``) and pooling (``Im2Col``, ``Reshape``, then ``MaxPool`` or a sum divided by the
    window counts) as one node: ``Conv2D``, ``MaxPool2D`` or ``AvgPool2D``, whose converters
    write ONNX's ``Conv``, ``MaxPool`` and ``AveragePool``."""
    uses = _consumers(g)
    nodes = list(g.nodes)
    producer = {s: k for k, n in enumerate(nodes) for s in n.outputs}

    def only(slot, op):
        """The node index that alone reads ``slot``, when it is an ``op``."""
        ks = uses.get(slot, [])
        if len(ks) == 1 and ks[0] >= 0 and nodes[ks[0]].kind == "Op" and nodes[ks[0]].op == op:
            return ks[0]
        return None

    # Each chain from an Im2Col (whose patches several may share) ends in a node that the
    # fused one replaces; the rest of the chain, and the Im2Col once every reader is fused,
    # are then dead.
    replace = {}
    for n in nodes:
        if n.kind != "Op" or n.op != "Im2Col":
            continue
        pad = float(n.attr["pad_value"])
        for r in uses.get(n.outputs[0], []):
            if r < 0 or nodes[r].kind != "Op" or nodes[r].op != "Reshape":
                continue
            rank = len(g.specs[nodes[r].outputs[0]].dims)
            found = None
            if rank == 2 and pad == 0.0:
                found = _match_conv(g, nodes, n, r, only, producer)
            elif rank == 5 and pad == float("-inf"):
                m = only(nodes[r].outputs[0], "MaxPool")
                if m is not None:
                    found = ("MaxPool2D", [n.inputs[0]], m)
            elif rank == 5 and pad == 0.0:
                found = _match_avg_pool(g, nodes, n, r, only)
            if found:
                op, inputs, last = found
                replace[last] = Node("Op", op, n.attr, n.attr_b, inputs, nodes[last].outputs)
    return _live([replace.get(k, n) for k, n in enumerate(nodes)], g.outputs)


def _live(nodes, outputs):
    """The nodes that the outputs need, and the assignments (which raise)."""
    needed, kept = set(outputs), []
    for n in reversed(nodes):
        if n.kind in ("Assign", "Update") or needed.intersection(n.outputs):
            kept.append(n)
            needed.update(n.inputs)
    return kept[::-1]


def _match_conv(g, nodes, n, r, only, producer):
    m = only(nodes[r].outputs[0], "MatMul")
    if m is None or nodes[m].inputs[0] != nodes[r].outputs[0] or any(nodes[m].attr.values()):
        return None
    out = only(nodes[m].outputs[0], "Reshape")
    if out is None or len(g.specs[nodes[out].outputs[0]].dims) != 4:
        return None
    # The filter: [KH * KW * C, O], or the [KH, KW, C, O] value it was reshaped from.
    w = nodes[m].inputs[1]
    k = producer.get(w)
    if k is not None and nodes[k].kind == "Op" and nodes[k].op == "Reshape":
        source = nodes[k].inputs[0]
        dims, x_dims = g.specs[source].dims, g.specs[n.inputs[0]].dims
        if len(dims) == 4 and list(dims[:2]) == list(n.attr["window"]["size"]) and dims[2] == x_dims[3]:
            w = source
    return "Conv2D", [n.inputs[0], w], out


def _match_avg_pool(g, nodes, n, r, only):
    s = only(nodes[r].outputs[0], "Sum")
    if s is None or nodes[s].attr["axes"] != [3] or nodes[s].attr["keepdims"]:
        return None
    d = only(nodes[s].outputs[0], "RealDiv")
    if d is None or nodes[d].inputs[0] != nodes[s].outputs[0]:
        return None
    dims = g.specs[n.inputs[0]].dims
    w = n.attr["window"]
    if w["dilations"] != [1, 1]:
        return None
    for second in (False, True):
        counts = g.const_value(nodes[d].inputs[1], second)
        hw = [(x.b if second else x.a) if isinstance(x, Sym) else x for x in dims[1:3]]
        want = _ops.window_counts(hw, w)
        if counts is None or counts.shape != (1, *want.shape, 1) or \
                not np.array_equal(counts.reshape(want.shape), want):
            return None
    return "AvgPool2D", [n.inputs[0]], d


# -- the builder ------------------------------------------------------------------------------

_DTYPES = {"float16": "FLOAT16", "bfloat16": "BFLOAT16", "float32": "FLOAT", "float64": "DOUBLE",
           "int8": "INT8", "int32": "INT32", "int64": "INT64", "uint8": "UINT8", "bool": "BOOL"}


class _Shared:
    """What the graph and its sub-graphs share: names in use, initializers, their arrays."""

    def __init__(self):
        self.used = set()
        self.counts = {}
        self.initializers = {}  # name -> TensorProto
        self.arrays = {}  # name -> array (the initializers' values)
        self.by_content = {}  # (dtype, shape, bytes) -> name, for small constants
        self.origin = {}  # initializer computed from another -> that one's name
        self.variables = {}  # variable key -> initializer name


class Builder:
    """Writes ONNX nodes for converters (see ``_ops``): ``op`` adds a node, ``const`` an
    initializer; ``dim`` and ``shape`` give int64 tensors of sizes, reading symbolic ones from
    the inputs' shapes at run time."""

    def __init__(self, onnx, opset, symbols, shared=None):
        self.onnx, self.helper, self.opset = onnx, onnx.helper, opset
        self.symbols = symbols
        self.shared = shared or _Shared()
        self.nodes = []
        self._dims = {}
        self._transposes = {}  # output -> (input, perm) of the Transpose nodes written

    # names and constants

    def fresh(self, base) -> str:
        base = base or "value"
        n = self.shared.counts.get(base, 0)
        name = base if n == 0 and base not in self.shared.used else None
        while name is None or name in self.shared.used:
            n += 1
            name = f"{base}_{n}"
        self.shared.counts[base] = n
        self.shared.used.add(name)
        return name

    def onnx_type(self, dtype: str) -> int:
        if dtype not in _DTYPES:
            raise UnsupportedOpError(f"export: dtype {dtype} has no ONNX form here")
        return getattr(self.onnx.TensorProto, _DTYPES[dtype])

    def const(self, value, dtype=None, name=None) -> str:
        """An initializer holding ``value`` (of rstf dtype ``dtype``, else the array's)."""
        a = np.asarray(value)
        dtype = dtype or ("bool" if a.dtype == np.bool_ else str(a.dtype))
        if dtype != "bfloat16":
            a = a.astype(np.dtype(dtype))
        key = None
        if name is None and a.size <= 64:
            key = (dtype, a.shape, a.tobytes())
            if key in self.shared.by_content:
                return self.shared.by_content[key]
        out = self.fresh(name or ("const" if a.size > 1 or a.ndim else "scalar"))
        if dtype == "bfloat16":
            t = self.helper.make_tensor(out, self.onnx.TensorProto.BFLOAT16, a.shape,
                                        a.astype(np.float32).ravel().tolist())
        else:
            t = self.onnx.numpy_helper.from_array(a, out)
        self.shared.initializers[out] = t
        self.shared.arrays[out] = a
        if key is not None:
            self.shared.by_content[key] = out
        return out

    def i64(self, values) -> str:
        """A 1-D int64 constant."""
        return self.const(np.asarray(list(values), dtype=np.int64).reshape(-1))

    def scalar(self, value, dtype) -> str:
        return self.const(np.asarray(value, dtype=np.float32 if dtype == "bfloat16" else dtype), dtype)

    def value(self, name):
        """The array of an initializer, or None for a value computed at run time."""
        return self.shared.arrays.get(name)

    # nodes

    def op(self, op_type, inputs, n_out=1, **attrs):
        """Adds a node; returns its output's name (a list when ``n_out != 1``). Nodes that only
        move the data of constants are computed now (their result is a new initializer)."""
        folded = self._fold(op_type, inputs, attrs) if n_out == 1 else None
        if folded is not None:
            return folded
        if op_type == "Transpose" and inputs[0] in self._transposes:
            # Two transposes in a row are one (none when they undo each other, as the NCHW
            # round trips between two convolutions do).
            source, first = self._transposes[inputs[0]]
            perm = [first[p] for p in attrs["perm"]]
            if perm == sorted(perm):
                return source
            inputs, attrs = [source], dict(attrs, perm=perm)
        name = self.fresh(op_type)
        outs = [name] if n_out == 1 else [self.fresh(f"{name}:{k}") for k in range(n_out)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs, name=name, **attrs))
        if op_type == "Transpose":
            self._transposes[name] = (inputs[0], list(attrs["perm"]))
        return outs[0] if n_out == 1 else outs

    def _fold(self, op_type, inputs, attrs):
        if op_type not in ("Reshape", "Unsqueeze", "Squeeze", "Transpose", "Slice") or \
                not inputs or any(i and self.value(i) is None for i in inputs):
            return None
        x = self.value(inputs[0])
        init = self.shared.initializers[inputs[0]]
        if x.dtype.kind not in "biuf" or x.size > 1 << 24 or init.data_type == self.onnx.TensorProto.BFLOAT16:
            return None
        if op_type == "Reshape":
            shape = [x.shape[i] if d == 0 and not attrs.get("allowzero") else d
                     for i, d in enumerate(self.value(inputs[1]))]
            y = x.reshape(shape)
        elif op_type == "Unsqueeze":
            axes = self.value(inputs[1])
            y = x
            for a in sorted(int(a) % (x.ndim + len(axes)) for a in axes):
                y = np.expand_dims(y, a)
        elif op_type == "Squeeze":
            axes = self.value(inputs[1]) if len(inputs) > 1 else None
            y = np.squeeze(x, None if axes is None else tuple(int(a) for a in axes))
        elif op_type == "Transpose":
            y = np.transpose(x, attrs.get("perm"))
        elif op_type == "Slice":
            starts, ends, axes, steps = (self.value(i) for i in inputs[1:5])
            index = [slice(None)] * x.ndim
            for a, b, e, st in zip(axes, starts, ends, steps):
                index[int(a)] = slice(int(b), int(e), int(st))
            y = x[tuple(index)]
        origin = self.shared.origin.get(inputs[0], inputs[0])
        out = self.const(np.ascontiguousarray(y), name=origin)
        self.shared.origin[out] = origin
        return out

    # sizes

    def dim(self, d, source=None, source_dims=()) -> str:
        """A 1-element int64 tensor holding the size ``d`` (an int or a :class:`Sym`), read from
        ``source`` (a value whose dimensions are ``source_dims``) where it has that size, else
        from the graph's inputs."""
        if not isinstance(d, Sym):
            return self.i64([d])
        if d in source_dims:
            i = list(source_dims).index(d)
            return self.op("Shape", [source], start=i, end=i + 1)
        if d in self._dims:
            return self._dims[d]
        expr = solve(d, self.symbols)
        if expr is None:
            raise UnsupportedOpError(
                f"export: a size computed from None dimensions ({d.a} in the trace) has no form "
                "this exporter can write; give those dimensions fixed sizes in the input signature")
        scale, offset, syms = expr
        out = None
        for s in syms:
            read = self.op("Shape", [s.source], start=s.axis, end=s.axis + 1)
            out = read if out is None else self.op("Mul", [out, read])
        if scale != 1:
            out = self.op("Mul", [out, self.i64([scale])])
        if offset:
            out = self.op("Add", [out, self.i64([offset])])
        self._dims[d] = out
        return out

    def shape(self, dims, source=None, source_dims=()) -> str:
        """A 1-D int64 tensor of the sizes ``dims`` (ints and :class:`Sym`; see :meth:`dim`)."""
        if not any(isinstance(d, Sym) for d in dims):
            return self.i64(dims)
        parts, static = [], []
        for d in dims:
            if isinstance(d, Sym):
                if static:
                    parts.append(self.i64(static))
                    static = []
                parts.append(self.dim(d, source, source_dims))
            else:
                static.append(d)
        if static:
            parts.append(self.i64(static))
        return parts[0] if len(parts) == 1 else self.op("Concat", parts, axis=0)

    def sub(self) -> Builder:
        """A builder for a sub-graph (a loop's body): its own nodes, shared names and constants."""
        return Builder(self.onnx, self.opset, self.symbols, self.shared)


def solve(d: Sym, symbols):
    """``(scale, offset, [Symbol...])`` with ``d == scale * product(symbols) + offset`` in both
    traces (one symbol, or a product of two or three), else None."""
    bound = 64
    for s in symbols:
        if s.a != s.b and (d.a - d.b) % (s.a - s.b) == 0:
            scale = (d.a - d.b) // (s.a - s.b)
            offset = d.a - scale * s.a
            if scale >= 1 and abs(offset) <= bound:
                return scale, offset, [s]
    n = len(symbols)
    for size in (2, 3):
        for combo in _combinations(n, size):
            pa = int(np.prod([symbols[i].a for i in combo]))
            pb = int(np.prod([symbols[i].b for i in combo]))
            if d.a % pa == 0 and d.b % pb == 0 and d.a // pa == d.b // pb:
                return d.a // pa, 0, [symbols[i] for i in combo]
    return None


def _combinations(n, k):
    if k == 0:
        yield ()
        return
    for i in range(n):
        for rest in _combinations(n - i - 1, k - 1):
            yield (i, *(i + 1 + r for r in rest))


# -- converting a graph -----------------------------------------------------------------------

def convert(ctx: Builder, g: Graph, env: dict) -> None:
    """Writes ``g``'s nodes with ``ctx``; ``env`` maps slots to ONNX names (the inputs' on entry,
    every value's on return)."""
    for n in fuse_windows(g):
        if n.kind == "Const":
            if n.attr_b is not None:
                raise UnsupportedOpError(
                    f"export: {g.where} holds a constant computed from the size of a None dimension "
                    f"(a value of shape {list(g.values[g.constants[n.attr]].shape)}): compute it with "
                    "tf.shape() inside the function, or give that dimension a fixed size in the input "
                    "signature")
            key = g.constants[n.attr]
            env[n.outputs[0]] = ctx.const(g.values[key], g.specs[n.outputs[0]].dtype)
        elif n.kind == "ReadVariable":
            key = g.variables[n.attr]
            known = ctx.shared.variables.get(key)
            if known is None:
                known = ctx.shared.variables[key] = ctx.const(
                    g.values[key], g.specs[n.outputs[0]].dtype, name=g.names.get(key, key))
            env[n.outputs[0]] = known
        elif n.kind in ("Assign", "Update"):
            raise UnsupportedOpError(
                f"export: {n.op}: the function assigns to a variable; an ONNX graph holds no state "
                "(export a function that only reads its variables, as a model's inference call does)")
        elif n.kind == "While":
            outs = _while(ctx, g, n, env)
            env.update(zip(n.outputs, outs))
        else:
            conv = _ops.CONVERTERS.get(n.op)
            if conv is None:
                raise UnsupportedOpError(f"export: the op {n.op} has no ONNX conversion (see docs/ONNX.md)")
            call = Call(n.op, n.attr, n.attr_b, [env[s] for s in n.inputs],
                        [g.specs[s] for s in n.inputs], [g.specs[s] for s in n.outputs])
            outs = conv(ctx, call)
            outs = [outs] if isinstance(outs, str) else list(outs)
            if len(outs) != len(n.outputs):
                raise errors.InternalError(f"export: the converter of {n.op} gave {len(outs)} results "
                                           f"for {len(n.outputs)}")
            env.update(zip(n.outputs, outs))


def _while(ctx, g, n, env):
    """A loop as ONNX's ``Loop``: the condition is computed once before it and again at the end
    of each iteration; the captures are read from the enclosing graph."""
    cond, body = n.attr["cond"], n.attr["body"]
    n_vars, n_cond = n.attr["n_vars"], n.attr["n_cond_captures"]
    names = [env[s] for s in n.inputs]
    init, cond_caps, body_caps = names[:n_vars], names[n_vars:n_vars + n_cond], names[n_vars + n_cond:]

    def run_cond(c, values):
        e = dict(zip(cond.inputs, list(values) + cond_caps))
        convert(c, cond, e)
        out = e[cond.outputs[0]]
        if cond.specs[cond.outputs[0]].dtype == "bool":
            return out
        return c.op("Cast", [out], to=ctx.onnx.TensorProto.BOOL)

    first = run_cond(ctx, init)
    inner = ctx.sub()
    it, cond_in = inner.fresh("iteration"), inner.fresh("condition")
    carried = [inner.fresh(f"{v}_in") for v in init]
    e = dict(zip(body.inputs, carried + body_caps))
    convert(inner, body, e)
    new = [e[s] for s in body.outputs]
    keep = run_cond(inner, new)
    outputs = [keep] + new
    seen = set(carried) | set(names)
    for i, o in enumerate(outputs):
        if o in seen or o in ctx.shared.initializers or outputs.index(o) != i:
            outputs[i] = inner.op("Identity", [o])
        seen.add(outputs[i])
    h, T = ctx.helper, ctx.onnx.TensorProto
    specs = [g.specs[s] for s in n.inputs[:n_vars]]
    graph = h.make_graph(
        inner.nodes, ctx.fresh("loop_body"),
        [h.make_tensor_value_info(it, T.INT64, []), h.make_tensor_value_info(cond_in, T.BOOL, [])]
        + [h.make_tensor_value_info(c, ctx.onnx_type(s.dtype), None) for c, s in zip(carried, specs)],
        [h.make_tensor_value_info(outputs[0], T.BOOL, [])]
        + [h.make_tensor_value_info(o, ctx.onnx_type(s.dtype), None) for o, s in zip(outputs[1:], specs)])
    limit = n.attr["max_iterations"]
    trip = ctx.i64([limit]) if limit is not None else ""
    if trip:
        trip = ctx.op("Squeeze", [trip])
    outs = ctx.op("Loop", [trip, first, *init], n_out=n_vars, body=graph)
    return [outs] if n_vars == 1 else outs
