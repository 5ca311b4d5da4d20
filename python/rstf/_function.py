"""``rstf.function``: traces a Python function into a graph once per input signature and runs
the graph afterwards, without running the Python body.

>>> import rstf as tf
>>> @tf.function
... def my_func(x):
...     print('Tracing.')
...     return tf.reduce_sum(x)
>>> my_func(tf.constant([1, 2, 3]))
Tracing.
<rstf.Tensor: shape=(), dtype=int32, numpy=6>
>>> my_func(tf.constant([10, 9, 8]))
<rstf.Tensor: shape=(), dtype=int32, numpy=27>
>>> my_func.experimental_get_tracing_count()
1

A function keeps at most ``rstf._function.MAX_CACHED_TRACES`` (256) traced graphs: past that,
the least recently used one is dropped (and traced again if it is called again). Calls with many
different shapes are better served by an ``input_signature`` with ``None`` dimensions or by
``reduce_retracing=True``; a warning says so at the sixth trace.
"""

from __future__ import annotations

import collections
import functools
import warnings
import weakref

import numpy as np

from . import _ops as _o
from . import _rstf, errors, nest
from ._rstf import Tensor
from ._shape import TensorShape
from ._variable import Variable
from .dtypes import as_dtype


class TensorSpec:
    """The dtype and shape of a tensor argument (``None`` dims accept any size)."""

    def __init__(self, shape, dtype="float32", name=None):
        self.shape = TensorShape(tuple(shape)) if shape is not None else None
        self.dtype = as_dtype(dtype)
        self.name = name

    @classmethod
    def from_tensor(cls, tensor, name=None):
        return cls(tuple(tensor.shape), tensor.dtype, name)

    def is_compatible_with(self, t) -> bool:
        if as_dtype(t.dtype) != self.dtype:
            return False
        if self.shape is None:
            return True
        shape = tuple(t.shape)
        return len(shape) == len(self.shape) and all(s is None or s == d for s, d in zip(self.shape, shape))

    def __eq__(self, other):
        return isinstance(other, TensorSpec) and (self.shape, self.dtype) == (other.shape, other.dtype)

    def __hash__(self):
        return hash((self.shape, self.dtype))

    def __repr__(self):
        return f"TensorSpec(shape={self.shape}, dtype={self.dtype!r}, name={self.name!r})"


# Sizes that stand for ``None`` dimensions while tracing, by axis position: primes far enough
# apart that a size following one of them (``k * m + c`` for small ``k`` and ``c``, as ``x[1:]`` or
# a concatenation gives) names its marker alone, so sizes computed from them at trace time are
# recognised (a graph holding one it cannot follow stays concrete). The second row of each level
# gives the sizes of the check that replays the graph with other sizes. The first level whose
# examples stay under the budget is used.
_MARKERS = (
    ((1009, 1031, 1049, 1069, 1087, 1109, 1129, 1163), (1013, 1033, 1051, 1091, 1093, 1117, 1151, 1171)),
    ((251, 269, 347, 367, 389, 479, 563, 593), (257, 271, 349, 373, 397, 487, 569, 599)),
    ((61, 223, 263, 283, 383, 409, 587, 631), (67, 227, 269, 293, 389, 419, 593, 641)),
)
_EXAMPLE_BUDGET = 1 << 22

MAX_CACHED_TRACES = 256
"""How many traced graphs a function keeps (least recently used dropped first)."""


def _has_none(spec) -> bool:
    return isinstance(spec, TensorSpec) and spec.shape is not None and None in tuple(spec.shape)


def _marker_level(specs, strict=False):
    """The marker sizes (and the check's sizes) for these TensorSpecs: the first level whose
    examples fit the budget, else the last one (``None`` when ``strict``)."""
    for level in _MARKERS:
        first = level[0]
        if all(int(np.prod([first[a % len(first)] if d is None else d for a, d in enumerate(s.shape)]))
               <= _EXAMPLE_BUDGET for s in specs):
            return level
    return None if strict else _MARKERS[-1]


def _example(spec: TensorSpec, markers=None):
    """Zeros shaped as ``spec``, a ``None`` dimension at axis ``a`` sized ``markers[a]``."""
    dims = [(markers[a % len(markers)] if markers else 1) if d is None else d
            for a, d in enumerate(spec.shape or ())]
    return _o.zeros(dims, spec.dtype)


# A traced graph can read and write other variables of the same dtypes and shapes than those it
# was traced with: variables passed as arguments are then inputs (a trace per dtype and shape),
# as in TensorFlow, rather than a trace per variable.
_REBIND = hasattr(_rstf.Graph, "rebind_variables")
_MAX_REBOUND = 8  # graphs rebound to other variables kept per traced graph


def _key_of(leaf):
    """The part of the cache key for one leaf of the arguments."""
    if isinstance(leaf, Tensor):
        return ("T", leaf.dtype.name, tuple(leaf.shape))
    if isinstance(leaf, Variable):
        return ("V", leaf.dtype.name, tuple(leaf.shape)) if _REBIND else ("V", leaf._id)
    if isinstance(leaf, TensorSpec):
        shape = None if leaf.shape is None else tuple(leaf.shape)
        return ("S" if shape is None or None in shape else "T", leaf.dtype.name, shape)
    if isinstance(leaf, np.ndarray):
        return ("T", str(leaf.dtype), leaf.shape)
    if isinstance(leaf, float):
        # By repr: -0.0 and 0.0 are equal but trace apart (1 / x), and every NaN is one key.
        return ("P", type(leaf).__name__, repr(leaf))
    try:
        hash(leaf)
    except TypeError:
        return ("id", id(leaf))
    return ("P", type(leaf).__name__, leaf)


def _structure_key(args, kwargs):
    flat = nest.flatten((args, kwargs))
    shape = nest.map_structure(lambda _: None, (args, kwargs))
    keys, first = [], {}
    for i, x in enumerate(flat):
        key = _key_of(x)
        if isinstance(x, Variable) and _REBIND:
            # Which arguments are the same variable is part of the key: f(a, a) and f(a, b)
            # trace apart.
            key = key + (first.setdefault(x._id, i),)
        keys.append(key)
    return repr(shape), tuple(keys)


class ConcreteFunction:
    """One traced graph of a :class:`Function`, callable with matching tensors."""

    def __init__(self, graph, structure, flat_outputs, arg_positions, name, inputs=None, owner=None,
                 variables=()):
        self._graph = graph
        # (flat position, variable traced) of the variable arguments, and the graph rebound to
        # other variables passed there, by their ids (least recently used first).
        self._variables = list(variables)
        self._rebound = collections.OrderedDict()
        # The Function that traced it: a graph traced for None dimensions that could not be made
        # polymorphic sends calls with other sizes back to it (a trace per concrete shape).
        self._owner = owner
        self._inputs = inputs  # (args, kwargs) with TensorSpecs for the traced tensors
        self._structure = structure
        self._flat_outputs = flat_outputs  # per output leaf: slot index, or ("py", value)
        self._arg_positions = arg_positions  # flat argument leaf positions that are tensors
        self.__name__ = name
        # A function returning one tensor skips the nest machinery on each call.
        self._single = not nest.is_nested(structure) and flat_outputs == [0]

    @property
    def graph(self):
        """The graph: ``print(f.graph)`` lists its ops."""
        return self._graph

    def _graph_for(self, flat):
        """The graph, rebound to the variables that ``flat`` passes where the trace had others."""
        if not self._variables or flat is None:
            return self._graph
        pairs = [(v, flat[i]) for i, v in self._variables if flat[i]._id != v._id]
        if not pairs:
            return self._graph
        key = tuple(flat[i]._id for i, _ in self._variables)
        graph = self._rebound.get(key)
        if graph is None:
            graph = self._rebound[key] = self._graph.rebind_variables(pairs)
            if len(self._rebound) > _MAX_REBOUND:
                self._rebound.popitem(last=False)
        else:
            self._rebound.move_to_end(key)
        return graph

    def _call_flat(self, tensors, flat=None):
        results = self._graph_for(flat).run(tensors)
        if self._single:
            return results[0]
        flat = [results[o] if isinstance(o, int) else o[1] for o in self._flat_outputs]
        return nest.pack_sequence_as(self._structure, flat)

    def __call__(self, *args, **kwargs):
        flat = nest.flatten((args, kwargs))
        tensors = [_o.convert_to_tensor(flat[i]) for i in self._arg_positions]
        if self._owner is not None and not self._graph.polymorphic and not self._graph.accepts(tensors):
            return self._owner(*args, **kwargs)
        return self._call_flat(tensors, flat)

    def __repr__(self):
        return f"<ConcreteFunction {self.__name__}: {self._graph.op_count()} ops>"


class Function:
    """A Python function compiled to graphs (``rstf.function``)."""

    def __init__(self, python_function, input_signature=None, reduce_retracing=False, jit_compile=None,
                 autograph=True, name=None):
        self._python_function = python_function
        self._input_signature = None if input_signature is None else list(input_signature)
        self._reduce_retracing = reduce_retracing
        self._cache = collections.OrderedDict()  # key -> ConcreteFunction, least recently used first
        self._unfit = set()  # keys of generic arguments whose trace failed at the marker sizes
        self._fast = {}  # signature_key of all-tensor positional calls -> (ConcreteFunction, key)
        self._tracing_count = 0
        self._instances = weakref.WeakKeyDictionary()
        self.__name__ = name or getattr(python_function, "__name__", "function")
        functools.update_wrapper(self, python_function)

    @property
    def python_function(self):
        return self._python_function

    @property
    def input_signature(self):
        return self._input_signature

    def __get__(self, instance, owner):
        if instance is None:
            return self
        bound = self._instances.get(instance)
        if bound is None:
            bound = Function(self._python_function.__get__(instance, owner), self._input_signature,
                             self._reduce_retracing, name=self.__name__)
            self._instances[instance] = bound
        return bound

    def experimental_get_tracing_count(self) -> int:
        """How many times the Python function has been traced."""
        return self._tracing_count

    def _check_signature(self, args, kwargs):
        if self._input_signature is None:
            return
        if kwargs:
            raise TypeError(f"{self.__name__}: keyword arguments are not accepted with an input_signature")
        flat_sig = nest.flatten(self._input_signature)
        flat = nest.flatten(list(args))
        if len(flat) != len(flat_sig) or any(
                not isinstance(s, TensorSpec) or not s.is_compatible_with(_o.convert_to_tensor(a))
                for s, a in zip(flat_sig, flat)):
            got = [TensorSpec.from_tensor(_o.convert_to_tensor(a)) for a in flat]
            raise TypeError(
                f"{self.__name__}: the arguments do not match the input_signature: expected "
                f"{self._input_signature}, got {got}")

    def _normalize(self, args, kwargs):
        """Arguments as the traced function sees them: Python lists of numbers stay Python,
        numpy arrays become tensors."""
        conv = nest.map_structure(lambda a: _o.convert_to_tensor(a) if isinstance(a, np.ndarray) else a,
                                  (list(args), kwargs))
        return tuple(conv[0]), conv[1]

    def get_concrete_function(self, *args, **kwargs) -> ConcreteFunction:
        """The graph for these arguments (tensors or ``TensorSpec``s), tracing it if needed."""
        if not args and not kwargs and self._input_signature is not None:
            args = tuple(self._input_signature)
        return self._concrete(*self._normalize(args, kwargs))

    def _concrete(self, args, kwargs) -> ConcreteFunction:
        key = _structure_key(args, kwargs)
        cf = self._cache.get(key)
        if cf is None:
            cf = self._trace(args, kwargs)
            self._cache[key] = cf
            while len(self._cache) > max(1, MAX_CACHED_TRACES):
                _, old = self._cache.popitem(last=False)
                for fast in [f for f, (c, _) in self._fast.items() if c is old]:
                    del self._fast[fast]
        else:
            self._cache.move_to_end(key)
        return cf

    def _list_all_concrete_functions(self):
        """The traced graphs kept, least recently used first."""
        return list(self._cache.values())

    def _for_call(self, args, kwargs) -> ConcreteFunction:
        """The graph that runs a call with these arguments: a graph traced for them, else a
        polymorphic one traced for the input_signature (or, with ``reduce_retracing``, for
        shapes relaxed to ``None`` where calls differed), else a new trace for them."""
        key = _structure_key(args, kwargs)
        cf = self._cache.get(key)
        if cf is not None:
            self._cache.move_to_end(key)
            return cf
        flat = nest.flatten((args, kwargs))
        for generic in self._generic_arguments(args, kwargs, key):
            gkey = _structure_key(*generic)
            if gkey in self._unfit:
                continue
            try:
                g = self._concrete(*generic)
            except errors.InvalidArgumentError:
                # The sizes standing for None did not fit the function (``tf.reshape(x, [-1,
                # 2])`` with an odd one): a trace for this call's shapes instead.
                self._unfit.add(gkey)
                continue
            if g._graph.polymorphic and g._graph.accepts([flat[i] for i in g._arg_positions]):
                return g
        return self._concrete(args, kwargs)

    def _generic_arguments(self, args, kwargs, key):
        """Arguments with ``TensorSpec``s that cover this call (see ``_for_call``)."""
        if self._input_signature is not None:
            if any(_has_none(s) for s in nest.flatten(self._input_signature)):
                yield tuple(self._input_signature), {}
            return
        if not self._reduce_retracing:
            return
        flat = nest.flatten((args, kwargs))
        for other in list(self._cache):
            if other[0] != key[0] or len(other[1]) != len(key[1]):
                continue
            leaves = []
            for a, mine, theirs in zip(flat, key[1], other[1]):
                if mine[0] in "TS" and theirs[0] in "TS" and mine[1] == theirs[1] \
                        and mine[2] is not None and theirs[2] is not None and len(mine[2]) == len(theirs[2]):
                    dims = [d if d == e else None for d, e in zip(mine[2], theirs[2])]
                    leaves.append(TensorSpec(dims, a.dtype))
                elif mine == theirs:
                    leaves.append(a)
                else:
                    break
            else:
                if any(_has_none(x) for x in leaves):
                    yield nest.pack_sequence_as((args, kwargs), leaves)

    def __call__(self, *args, **kwargs):
        fast = None if kwargs else _rstf.signature_key(args)
        if fast is not None:
            hit = self._fast.get(fast)
            if hit is not None:
                self._cache.move_to_end(hit[1])
                return hit[0]._call_flat(args)
        self._check_signature(args, kwargs)
        args, kwargs = self._normalize(args, kwargs)
        cf = self._for_call(args, kwargs)
        if fast is not None:
            key = next((k for k, c in reversed(self._cache.items()) if c is cf), None)
            if key is not None:
                self._fast[fast] = (cf, key)
        flat = nest.flatten((args, kwargs))
        return cf._call_flat([flat[i] for i in cf._arg_positions], flat)

    def _trace(self, args, kwargs) -> ConcreteFunction:
        self._tracing_count += 1
        if self._tracing_count == 6:
            warnings.warn(
                f"{self.__name__} has been traced 6 times: calls with new shapes, dtypes or Python "
                "values each trace a new graph, which is expensive. Pass tensors rather than Python "
                "numbers, or give an input_signature.", stacklevel=3)
        flat = nest.flatten((args, kwargs))
        positions = [i for i, a in enumerate(flat) if isinstance(a, (Tensor, TensorSpec))]
        generic = [a for a in flat if _has_none(a)]
        markers = ()
        if not generic:
            graph, result, layout = self._trace_with(args, kwargs, (), ())
        else:
            markers, alternates = _marker_level(generic)
            try:
                graph, result, layout = self._trace_with(args, kwargs, markers, alternates)
            except errors.InvalidArgumentError:
                # Sizes differing by axis did not fit together (``x @ y`` with both ``[None,
                # None]``): one size for every None dimension, as a graph that binds them all.
                markers, alternates = (markers[0],) * len(markers), (alternates[0],) * len(markers)
                graph, result, layout = self._trace_with(args, kwargs, markers, alternates)
            if graph.polymorphic:
                graph = self._confirm(graph, args, kwargs, markers, alternates)
        specs = list(flat)
        for i in positions:
            a = flat[i]
            if isinstance(a, TensorSpec):
                specs[i] = TensorSpec(a.shape, a.dtype) if graph.polymorphic \
                    else TensorSpec.from_tensor(_example(a, markers))
            else:
                specs[i] = TensorSpec.from_tensor(a)
        inputs = nest.pack_sequence_as((args, kwargs), specs)
        variables = [(i, a) for i, a in enumerate(flat) if isinstance(a, Variable)] if _REBIND else ()
        return ConcreteFunction(graph, result, layout, positions, self.__name__, inputs,
                                owner=self if generic else None, variables=variables)

    def _confirm(self, graph, args, kwargs, markers, alternates):
        """``graph``, polymorphic only if tracing the function again with the alternate sizes
        gives the same graph: a number computed from a traced size (``tf.shape(x)[0] - 10``)
        would be frozen into the graph, and then calls with other sizes trace again."""
        try:
            other, _, _ = self._trace_with(args, kwargs, alternates, None, graph.captured_before)
        except Exception:  # noqa: BLE001 - any failure at other sizes: stay concrete
            other = None
        axes = sorted({ax for a in nest.flatten((args, kwargs)) if _has_none(a)
                       for ax, d in enumerate(a.shape) if d is None})
        used = list(dict.fromkeys(markers[a % len(markers)] for a in axes))
        alt = [alternates[markers.index(m)] for m in used]
        if other is None:
            return _rstf.trace_confirm(graph, graph, [])
        return _rstf.trace_confirm(graph, other, alt)

    def _trace_with(self, args, kwargs, markers, alternates, captured_before=None):
        """Runs the Python function on traced inputs (a ``None`` dimension at axis ``a`` sized
        ``markers[a]``); returns the graph, the Python result and the output layout."""
        flat = nest.flatten((args, kwargs))
        axes = sorted({ax for a in flat if _has_none(a) for ax, d in enumerate(a.shape) if d is None})
        used = list(dict.fromkeys(markers[a % len(markers)] for a in axes))
        _rstf.trace_begin(used, captured_before)
        try:
            traced = [_rstf.trace_input(_example(a, markers) if isinstance(a, TensorSpec) else a)
                      if isinstance(a, (Tensor, TensorSpec)) else a for a in flat]
            targs, tkwargs = nest.pack_sequence_as((args, kwargs), traced)
            result = self._python_function(*targs, **tkwargs)
            tensors, layout = [], []
            for o in nest.flatten(result):
                if isinstance(o, (Tensor, Variable)):
                    layout.append(len(tensors))
                    tensors.append(o.value() if isinstance(o, Variable) else o)
                else:
                    layout.append(("py", o))
        except BaseException:
            _rstf.trace_abort()
            raise
        alt = [] if alternates is None else [alternates[markers.index(m)] for m in used]
        graph = _rstf.trace_finish(tensors, used if alt else [], alt)
        return graph, result, layout


def function(func=None, input_signature=None, autograph=True, jit_compile=None, reduce_retracing=False,
             experimental_implements=None, experimental_autograph_options=None,
             experimental_attributes=None, experimental_relax_shapes=None,
             experimental_compile=None, experimental_follow_type_hints=None):
    """Compiles ``func`` into graphs (usable as ``@rstf.function`` or ``@rstf.function(...)``)."""
    if func is None:
        return functools.partial(function, input_signature=input_signature, autograph=autograph,
                                 jit_compile=jit_compile, reduce_retracing=reduce_retracing)
    return Function(func, input_signature=input_signature, reduce_retracing=reduce_retracing,
                    jit_compile=jit_compile, autograph=autograph)


def cond(pred, true_fn=None, false_fn=None, name=None):
    """``true_fn()`` if ``pred`` else ``false_fn()``. On a traced predicate both branches are
    traced and the results selected elementwise, so branches that assign variables are
    refused (UnimplementedError) rather than run both."""
    p = _o.convert_to_tensor(pred)
    if not _rstf.is_symbolic(p):
        return true_fn() if bool(p) else false_fn()
    before = _rstf.trace_effects()
    t, f = true_fn(), false_fn()
    if _rstf.trace_effects() != before:
        raise errors.UnimplementedError(
            "cond: the branches of a cond on a traced predicate cannot assign variables yet (both "
            "branches would run); compute the new value with tf.where and assign it once")
    ft, ff = nest.flatten(t), nest.flatten(f)
    if len(ft) != len(ff):
        raise ValueError("cond: true_fn and false_fn must return the same structure")
    return nest.pack_sequence_as(t, [_o.where(p, a, b) for a, b in zip(ft, ff)])


def _trace_sub(fn, examples):
    """Traces ``fn(*examples)`` as a sub-graph; returns (graph, captures, flat results)."""
    _rstf.trace_begin_sub()
    try:
        ins = [_rstf.trace_input(e) for e in examples]
        out = fn(ins)
        flat = [o.value() if isinstance(o, Variable) else o for o in out]
    except BaseException:
        _rstf.trace_abort()
        raise
    graph, captures = _rstf.trace_finish_sub(flat)
    return graph, captures, flat


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10, back_prop=True,
               swap_memory=False, maximum_iterations=None, name=None):
    """Runs ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` holds.

    Eagerly, and inside ``rstf.function`` while the condition depends only on Python values, the
    loop runs in Python (a traced function unrolls it). Once the condition depends on a traced
    tensor the rest of the loop becomes one ``While`` node of the graph, whose condition and body
    are graphs traced once: loop variables keep their dtype and shape.

    >>> import rstf as tf
    >>> @tf.function
    ... def collatz_steps(n):
    ...     return tf.while_loop(lambda n, i: n > 1,
    ...                          lambda n, i: (tf.where(n % 2 == 0, n // 2, 3 * n + 1), i + 1),
    ...                          (n, 0))[1]
    >>> int(collatz_steps(tf.constant(27)))
    111
    """
    if shape_invariants is not None:
        from .errors import UnimplementedError

        raise UnimplementedError("while_loop: shape_invariants are not supported (loop variables "
                                 "keep their dtype and shape)")
    vars_ = nest.flatten(loop_vars)
    single = not isinstance(loop_vars, (list, tuple))

    def call(fn, flat):
        packed = nest.pack_sequence_as(loop_vars, list(flat))
        return fn(packed) if single else fn(*packed)

    i = 0
    while maximum_iterations is None or i < maximum_iterations:
        c = _o.convert_to_tensor(call(cond, vars_))
        if _rstf.is_symbolic(c):
            return nest.pack_sequence_as(loop_vars, _graph_loop(
                cond, body, vars_, call, None if maximum_iterations is None else maximum_iterations - i))
        if not bool(c):
            break
        vars_ = nest.flatten(call(body, vars_))
        i += 1
    return nest.pack_sequence_as(loop_vars, vars_)


def _graph_loop(cond, body, flat, call, max_iterations):
    """The loop as a ``While`` node of the graph being traced."""
    tensors = [v.value() if isinstance(v, Variable) else _o.convert_to_tensor(v) for v in flat]

    def cond_fn(ins):
        c = _o.convert_to_tensor(call(cond, ins))
        if c.dtype.name != "bool" or c.ndim != 0:
            raise TypeError(f"while_loop: the condition must return a boolean scalar, got {c!r}")
        return [c]

    def body_fn(ins):
        out = nest.flatten(call(body, ins))
        if len(out) != len(ins):
            raise ValueError(f"while_loop: the body returns {len(out)} values for {len(ins)} loop variables")
        res = []
        for k, (o, v) in enumerate(zip(out, tensors)):
            o = _o.convert_to_tensor(o.value() if isinstance(o, Variable) else o, dtype=None if isinstance(
                o, (Tensor, Variable)) else v.dtype)
            if o.dtype != v.dtype or tuple(o.shape) != tuple(v.shape):
                raise ValueError(
                    f"while_loop: loop variable {k} enters the loop with dtype {v.dtype.name} and shape "
                    f"{tuple(v.shape)} but the body returns dtype {o.dtype.name} and shape {tuple(o.shape)}; "
                    "a loop variable keeps its dtype and shape")
            res.append(o)
        return res

    cond_graph, cond_caps, _ = _trace_sub(cond_fn, tensors)
    body_graph, body_caps, _ = _trace_sub(body_fn, tensors)
    return _rstf.trace_while(cond_graph, body_graph, tensors, cond_caps, body_caps, max_iterations)


__all__ = ["function", "TensorSpec", "cond", "while_loop"]
