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
import inspect
import warnings
import weakref

import numpy as np

from . import _autograph_ops, _graph_view, _rstf, _variable, config, errors, nest
from . import _ops as _o
from ._control_flow import cond, while_loop
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
        shape = "<unknown>" if self.shape is None else self.shape
        return f"TensorSpec(shape={shape}, dtype={self.dtype!r}, name={self.name!r})"


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
    tracing_type = getattr(type(leaf), "__tf_tracing_type__", None)
    if tracing_type is not None:
        # The object's own trace type (rstf.types.experimental.TraceType): equal types share a trace.
        return ("TT", leaf.__tf_tracing_type__(None))
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


_KINDS = {inspect.Parameter.POSITIONAL_ONLY: "POSITIONAL_ONLY",
          inspect.Parameter.POSITIONAL_OR_KEYWORD: "POSITIONAL_OR_KEYWORD",
          inspect.Parameter.KEYWORD_ONLY: "KEYWORD_ONLY"}


def _signature_of(fn):
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _parameters(signature, args, kwargs):
    """``[(name, kind, value)]`` of a call, as TensorFlow lists a function's parameters:
    defaults filled in, ``*args`` as ``args_0, args_1, ...`` and ``**kwargs`` by their keys.
    Raises TypeError when the call does not fit the signature."""
    if signature is None:
        return [(f"args_{i}", inspect.Parameter.POSITIONAL_ONLY, a) for i, a in enumerate(args)] + [
            (k, inspect.Parameter.KEYWORD_ONLY, v) for k, v in kwargs.items()]
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    has_varargs = any(p.kind == p.VAR_POSITIONAL for p in signature.parameters.values())
    out = []
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind == inspect.Parameter.VAR_POSITIONAL:
            out += [(f"{name}_{i}", inspect.Parameter.POSITIONAL_ONLY, v) for i, v in enumerate(value)]
        elif kind == inspect.Parameter.VAR_KEYWORD:
            out += [(k, inspect.Parameter.KEYWORD_ONLY, v) for k, v in value.items()]
        else:
            if has_varargs and kind == inspect.Parameter.POSITIONAL_OR_KEYWORD:
                kind = inspect.Parameter.POSITIONAL_ONLY
            out.append((name, kind, value))
    return out


def _type_text(v, unknown=False):
    """A value's type as TensorFlow prints it in a signature (``TensorSpec(...)`` for tensors,
    ``Literal[...]`` for Python values)."""
    if isinstance(v, TensorSpec):
        return repr(v)
    if isinstance(v, (Tensor, Variable)) and not isinstance(v, Variable):
        spec = TensorSpec(None if unknown else tuple(v.shape), v.dtype)
        return repr(spec)
    if isinstance(v, Variable):
        return f"VariableSpec(shape={TensorShape(tuple(v.shape))}, dtype={v.dtype!r}, " \
               f"trainable={v.trainable}, alias_id=0)"
    if isinstance(v, dict):
        return "Dict[" + ", ".join(f"[{k!r}, {_type_text(x, unknown)}]" for k, x in v.items()) + "]"
    if isinstance(v, (list, tuple)):
        kind = "List" if isinstance(v, list) else "Tuple"
        return f"{kind}[" + ", ".join(_type_text(x, unknown) for x in v) + "]"
    return f"Literal[{v!r}]"


def _call_atomic(concrete, *tensors):
    if len(tensors) != len(concrete._arg_positions):
        raise TypeError(f"{concrete.__name__}: expected {len(concrete._arg_positions)} tensors, "
                        f"got {len(tensors)}")
    return concrete._call_flat([_o.convert_to_tensor(t) for t in tensors])


class ConcreteFunction:
    """One traced graph of a :class:`Function`, callable with matching tensors.

    >>> import rstf as tf
    >>> @tf.function
    ... def scale(x, k=2):
    ...     return x * k
    >>> print(scale.get_concrete_function(tf.TensorSpec([None], tf.float32)))
    ConcreteFunction Input Parameters:
      x (POSITIONAL_OR_KEYWORD): TensorSpec(shape=(None,), dtype=rstf.float32, name=None)
      k (POSITIONAL_OR_KEYWORD): Literal[2]
    Output Type:
      TensorSpec(shape=(None,), dtype=rstf.float32, name=None)
    Captures:
      None
    """

    def __init__(self, graph, structure, flat_outputs, arg_positions, name, inputs=None, owner=None,
                 variables=(), signature=None, shown_inputs=None, markers=()):
        self._graph = graph
        self._signature = signature  # the Python function's (inspect.Signature), if known
        self._shown_inputs = shown_inputs if shown_inputs is not None else inputs  # as given
        self._markers = set(markers)  # sizes that stood for None dimensions
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
        """The graph: ``print(f.graph)`` lists its ops; ``get_operations()`` and
        ``as_graph_def()`` show it as TensorFlow does."""
        names = [n for n in self._signature.parameters if n != "self"] if self._signature else []
        return _graph_view.FuncGraph(self._graph, names)

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

    @property
    def inference_fn(self):
        """The graph as a function of the traced tensors alone, in order (TensorFlow's
        ``AtomicFunction``): ``f.get_concrete_function(x).inference_fn(x)``."""
        return functools.partial(_call_atomic, self)

    def _call_flat(self, tensors, flat=None):
        results = self._graph_for(flat).run(tensors)
        if self._single:
            return results[0]
        flat = [results[o] if isinstance(o, int) else o[1] for o in self._flat_outputs]
        return nest.pack_sequence_as(self._structure, flat)

    def __call__(self, *args, **kwargs):
        args, kwargs = self._arrange(args, kwargs)
        flat = nest.flatten((args, kwargs))
        tensors = [_o.convert_to_tensor(flat[i]) for i in self._arg_positions]
        if self._owner is not None and not self._graph.polymorphic and not self._graph.accepts(tensors):
            return self._owner(*args, **kwargs)
        return self._call_flat(tensors, flat)

    def _arrange(self, args, kwargs):
        """The call's arguments laid out as the traced ones were: a call may name the function's
        parameters differently (by position or keyword), or pass the tensors alone, in order
        (TensorFlow's flat signature). Python values must equal the traced ones (TypeError)."""
        if self._inputs is None:
            return args, kwargs
        t_args, t_kwargs = self._inputs
        if len(args) != len(t_args) or set(kwargs) != set(t_kwargs):
            moved = self._by_parameter(args, kwargs)
            if moved is None:
                return self._flat_call(args, kwargs)
            args, kwargs = moved
        flat_c, flat_t = nest.flatten((list(args), kwargs)), nest.flatten((list(t_args), t_kwargs))
        if len(flat_c) != len(flat_t):
            raise TypeError(f"{self.__name__}: the arguments do not match the traced signature "
                            f"{self._signature_text()}")
        for c, t in zip(flat_c, flat_t):
            if not isinstance(t, (TensorSpec, Tensor, Variable)) and c is not t and _key_of(c) != _key_of(t):
                raise TypeError(f"{self.__name__}: got {c!r} where the function was traced with the Python "
                                f"value {t!r}; the traced signature is {self._signature_text()}")
        return args, kwargs

    def _by_parameter(self, args, kwargs):
        """The call rearranged to the traced layout through the function's parameters."""
        sig = self._signature
        if not sig:
            return None
        t_args, t_kwargs = self._inputs
        try:
            bound = sig.bind_partial(*args, **kwargs)
            traced = sig.bind(*t_args, **t_kwargs)
        except TypeError:
            return None
        # A parameter traced with a Python value may be left out (it keeps that value).
        for name, value in traced.arguments.items():
            if name not in bound.arguments and not any(
                    isinstance(x, (TensorSpec, Tensor, Variable)) for x in nest.flatten(value)):
                bound.arguments[name] = value
        bound.apply_defaults()
        values = bound.arguments
        params = list(sig.parameters.values())
        positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        var_pos = next((p.name for p in params if p.kind == p.VAR_POSITIONAL), None)
        var_kw = next((p.name for p in params if p.kind == p.VAR_KEYWORD), None)
        out_args = []
        for i in range(len(t_args)):
            if i < len(positional):
                if positional[i] not in values:
                    return None
                out_args.append(values[positional[i]])
            else:
                extra = values.get(var_pos, ()) if var_pos else ()
                if i - len(positional) >= len(extra):
                    return None
                out_args.append(extra[i - len(positional)])
        out_kwargs = {}
        for k in t_kwargs:
            if k in values and k != var_kw and k != var_pos:
                out_kwargs[k] = values[k]
            elif var_kw and k in values.get(var_kw, {}):
                out_kwargs[k] = values[var_kw][k]
            else:
                return None
        return tuple(out_args), out_kwargs

    def _flat_call(self, args, kwargs):
        """A call with the traced tensors alone, in order."""
        t_args, t_kwargs = self._inputs
        if kwargs or len(args) != len(self._arg_positions) or not all(
                isinstance(a, (Tensor, Variable, np.ndarray, int, float, bool)) for a in args):
            raise TypeError(f"{self.__name__}: the arguments do not match the traced signature "
                            f"{self._signature_text()}")
        flat = nest.flatten((list(t_args), t_kwargs))
        for i, a in zip(self._arg_positions, args):
            flat[i] = a
        packed = nest.pack_sequence_as((list(t_args), t_kwargs), flat)
        return tuple(packed[0]), packed[1]

    # --------------------------------------------------------------------- signature text

    def _unknown_rank(self):
        return any(isinstance(s, TensorSpec) and s.shape is None
                   for s in nest.flatten(self._shown_inputs or ()))

    def _output_spec(self, o):
        if isinstance(o, Variable):
            o = o.value()
        if isinstance(o, Tensor):
            if self._unknown_rank():
                return TensorSpec(None, o.dtype)
            dims = [None if self._graph.polymorphic and d in self._markers else d for d in o.shape]
            return TensorSpec(dims, o.dtype)
        return o

    def _parameter_list(self):
        args, kwargs = self._shown_inputs if self._shown_inputs is not None else ((), {})
        try:
            return _parameters(self._signature, args, kwargs)
        except TypeError:
            return _parameters(None, args, kwargs)

    def _output_text(self):
        return _type_text(nest.map_structure(self._output_spec, self._structure))

    def _signature_text(self):
        params, parts, star = self._parameter_list(), [], False
        kinds = [k for _, k, _ in params]
        for i, (name, kind, value) in enumerate(params):
            if kind == inspect.Parameter.KEYWORD_ONLY and not star:
                if i and kinds[i - 1] == inspect.Parameter.POSITIONAL_ONLY:
                    parts.append("/")
                parts.append("*")
                star = True
            parts.append(f"{name}: {_type_text(value)}")
            if kind == inspect.Parameter.POSITIONAL_ONLY and i + 1 == len(params):
                parts.append("/")
        return f"({', '.join(parts)}) -> {self._output_text()}"

    def pretty_printed_signature(self, verbose=True) -> str:
        """The inputs, output type and captures, as TensorFlow prints them (``verbose=False``:
        one line, ``(x: ...) -> ...``)."""
        if not verbose:
            return self._signature_text()
        lines = ["Input Parameters:"]
        lines += [f"  {name} ({_KINDS[kind]}): {_type_text(value)}"
                  for name, kind, value in self._parameter_list()]
        lines += ["Output Type:", f"  {self._output_text()}", "Captures:", "  None"]
        return "\n".join(lines)

    @property
    def function_type(self):
        """The signature: ``(x: TensorSpec(...)) -> TensorSpec(...)`` when printed."""
        return _FunctionType(self._signature_text())

    @property
    def structured_input_signature(self):
        """The (args, kwargs) the function was traced for, with TensorSpecs for tensors."""
        return self._inputs

    @property
    def structured_outputs(self):
        """The outputs' structure, with TensorSpecs for tensors."""
        return nest.map_structure(self._output_spec, self._structure)

    def __str__(self):
        return "ConcreteFunction " + self.pretty_printed_signature()

    def __repr__(self):
        return f"<ConcreteFunction {self.__name__}{self._signature_text()}: {self._graph.op_count()} ops>"


class _FunctionType(str):
    """A ConcreteFunction's ``function_type`` (prints as its signature)."""


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
        self._autograph = autograph
        self._signature = False  # the Python function's inspect.Signature, read on the first trace
        self._converted = None  # the function AutoGraph converted, made on the first trace
        self._instances = weakref.WeakKeyDictionary()
        self._created_variables = None  # whether the first trace created variables (None: not traced)
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
                             self._reduce_retracing, autograph=self._autograph, name=self.__name__)
            self._instances[instance] = bound
        return bound

    def experimental_get_tracing_count(self) -> int:
        """How many times the Python function has been traced."""
        return self._tracing_count

    def pretty_printed_concrete_signatures(self, verbose=True) -> str:
        """The signatures of the traced graphs kept, oldest trace first, as TensorFlow prints them.

        >>> import rstf as tf
        >>> @tf.function
        ... def double(a):
        ...     return a + a
        >>> _ = double(tf.constant(1))
        >>> print(double.pretty_printed_concrete_signatures())
        Input Parameters:
          a (POSITIONAL_OR_KEYWORD): TensorSpec(shape=(), dtype=rstf.int32, name=None)
        Output Type:
          TensorSpec(shape=(), dtype=rstf.int32, name=None)
        Captures:
          None
        """
        cfs = sorted(self._cache.values(), key=lambda c: getattr(c, "_order", 0))
        return "\n\n".join(c.pretty_printed_signature(verbose) for c in cfs)

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

    def _traced_function(self):
        """The function that tracing runs: converted by AutoGraph unless ``autograph=False``."""
        if not self._autograph:
            return self._python_function
        if self._converted is None:
            self._converted = _autograph_ops.convert(self._python_function)
        return self._converted

    def __call__(self, *args, **kwargs):
        if config.functions_run_eagerly():
            return self._python_function(*args, **kwargs)
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
        """A new trace. As in TensorFlow, only the first trace may create variables; when it
        did, the function is traced again (where creating one is an error) and that graph runs."""
        if self._created_variables is None:
            created = []
            cf = self._guarded_trace(args, kwargs, lambda: created.append(True))
            self._created_variables = bool(created)
            if not created:
                return cf
        return self._guarded_trace(args, kwargs, _singleton_variables if self._created_variables
                                   else _variables_on_later_call)

    def _guarded_trace(self, args, kwargs, check) -> ConcreteFunction:
        _variable._CREATION_CHECKS.append(check)
        try:
            return self._trace_once(args, kwargs)
        finally:
            _variable._CREATION_CHECKS.remove(check)

    def _trace_once(self, args, kwargs) -> ConcreteFunction:
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
        shown = nest.pack_sequence_as((args, kwargs), [
            a if isinstance(a, TensorSpec) and (a.shape is None or graph.polymorphic) else specs[i]
            for i, a in enumerate(flat)])
        variables = [(i, a) for i, a in enumerate(flat) if isinstance(a, Variable)] if _REBIND else ()
        if self._signature is False:
            self._signature = _signature_of(self._python_function)
        cf = ConcreteFunction(graph, result, layout, positions, self.__name__, inputs,
                              owner=self if generic else None, variables=variables, signature=self._signature,
                              shown_inputs=shown, markers=markers)
        cf._order = self._tracing_count
        return cf

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
            result = self._traced_function()(*targs, **tkwargs)
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


def _singleton_variables():
    raise ValueError(
        "tf.function only supports singleton tf.Variables created on the first call. Make sure the "
        "tf.Variable is only created once or created outside tf.function. See "
        "https://www.tensorflow.org/guide/function#creating_tfvariables for more information.")


def _variables_on_later_call():
    raise ValueError("Creating variables on a non-first call to a function decorated with tf.function.")


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


__all__ = ["function", "TensorSpec", "cond", "while_loop"]
