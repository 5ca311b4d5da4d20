"""AutoGraph's operators (the ``ag__`` of converted code) and the conversion of functions.

Each operator runs its statement as Python when its condition or iterable is a Python value or
a tensor whose value is known, and builds graph control flow (``cond``'s select, a ``While``
node) when it is a traced tensor inside ``rstf.function``.

>>> import rstf as tf
>>> from rstf import _autograph_ops as ag
>>> ag.and_(lambda: True, lambda: 3)
3
>>> ag.not_(tf.constant([True, False]))
<rstf.Tensor: shape=(2,), dtype=bool, numpy=array([False,  True])>
"""

from __future__ import annotations

import ast
import inspect
import os
import sys
import sysconfig
import textwrap
import types
import warnings
import weakref

import numpy as np

from . import _control_flow as _cf
from . import _ops as _o
from . import _rstf, errors, nest
from ._autograph_transform import ConversionError, convert_function_ast
from ._rstf import Tensor
from ._tensor_array import TensorArray
from ._variable import Variable


class Undefined:
    """The value of a local name that has no value yet (``name`` is assigned only in some
    branches, or only inside a loop)."""

    __slots__ = ("symbol_name",)

    def __init__(self, symbol_name):
        self.symbol_name = symbol_name

    def __repr__(self):
        return f"<undefined {self.symbol_name}>"

    def __getattr__(self, name):
        raise AttributeError(f"'{self.symbol_name}' is used before it is assigned (it has no value on "
                             "every path through the converted control flow)")


class UndefinedReturnValue:
    """``retval_`` before a ``return`` ran."""

    def __repr__(self):
        return "<undefined return value>"


def retval(value):
    """The converted function's result (``None`` when no ``return`` ran)."""
    return None if isinstance(value, UndefinedReturnValue) else value


def _read(x):
    return x.value() if isinstance(x, Variable) else x


def _is_graph_tensor(x) -> bool:
    """True for a traced tensor (its value is not known while tracing)."""
    return isinstance(x, Tensor) and _rstf.is_symbolic(x)


# ----------------------------------------------------------------------------- expressions

def not_(x):
    """``not x``: ``logical_not`` on a tensor."""
    x = _read(x)
    if isinstance(x, Tensor):
        return _o.logical_not(_o.cast(x, "bool") if x.dtype.name != "bool" else x)
    return not x


def _bool_tensor(x):
    x = _read(x)
    return _o.cast(x, "bool") if x.dtype.name != "bool" else x


def and_(*operands):
    """``a and b and ...`` of zero-argument functions, lazily; tensors are combined with
    ``logical_and``."""
    value = operands[0]()
    for f in operands[1:]:
        if isinstance(_read(value), Tensor) and _is_graph_tensor(_read(value)):
            value = _o.logical_and(_bool_tensor(value), _bool_tensor(f()))
            continue
        if not value:
            return value
        value = f()
    return value


def or_(*operands):
    """``a or b or ...`` of zero-argument functions, lazily; tensors are combined with
    ``logical_or``."""
    value = operands[0]()
    for f in operands[1:]:
        if isinstance(_read(value), Tensor) and _is_graph_tensor(_read(value)):
            value = _o.logical_or(_bool_tensor(value), _bool_tensor(f()))
            continue
        if value:
            return value
        value = f()
    return value


def if_exp(cond, if_true, if_false):
    """``if_true() if cond else if_false()``; on a traced condition both run and the results are
    selected."""
    cond = _read(cond)
    if not _is_graph_tensor(cond):
        return if_true() if cond else if_false()
    return _cf.cond(_pred(cond), if_true, if_false)


# ----------------------------------------------------------------------------- if

def _pred(cond):
    if cond.ndim != 0:
        raise ValueError(f"the condition of an if statement on a tensor must be a scalar, got shape "
                         f"{tuple(cond.shape)}")
    return _bool_tensor(cond)


def _structure(x):
    if isinstance(x, dict):
        return (dict, tuple(sorted(x)), tuple(_structure(x[k]) for k in sorted(x)))
    if isinstance(x, (list, tuple)):
        return (type(x), tuple(_structure(v) for v in x))
    return None


def _as_tensor(x, like=None):
    x = _read(x)
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (bool, int, float, np.number, np.bool_, np.ndarray)):
        dtype = like.dtype if isinstance(like, Tensor) and not isinstance(x, np.ndarray) else None
        return _o.convert_to_tensor(x, dtype=dtype)
    return None


def _select(pred, a, b, name, where):
    if a is b:
        return a
    if not isinstance(a, (Tensor, Variable)) and not isinstance(b, (Tensor, Variable)):
        try:
            if type(a) is type(b) and bool(a == b):
                return a
        except Exception:  # noqa: BLE001 - an == that is not a bool: compared as tensors below
            pass
    ta = _as_tensor(a, _read(b))
    tb = _as_tensor(b, ta)
    if ta is None or tb is None:
        raise TypeError(f"'{name}' must have the same value in the main and {where} branches when the "
                        f"condition is a tensor: got {a!r} and {b!r}, which cannot be selected by a tensor")
    if ta.dtype != tb.dtype:
        raise TypeError(f"'{name}' has dtype {ta.dtype.name} in the main branch, but dtype {tb.dtype.name} "
                        f"in the {where} branch")
    if tuple(ta.shape) != tuple(tb.shape):
        raise ValueError(f"'{name}' has shape {tuple(ta.shape)} in the main branch, but shape "
                         f"{tuple(tb.shape)} in the {where} branch")
    return _o.where(pred, ta, tb)


def _merge(pred, name, a, b, live, where="else"):
    if a is b:
        return a
    ua, ub = isinstance(a, Undefined), isinstance(b, Undefined)
    if ua or ub:
        if ua and ub:
            return a
        if name in live:
            raise ValueError(f"'{name}' must also be initialized in the {where if ub else 'if'} branch")
        return Undefined(name)
    if isinstance(a, UndefinedReturnValue):
        return b  # read only where the return ran (the flag guards it)
    if isinstance(b, UndefinedReturnValue):
        return a
    if _structure(a) != _structure(b):
        raise TypeError(f"'{name}' must have the same nested structure in the main and {where} branches: "
                        f"{a!r} and {b!r}")
    flat = [_select(pred, x, y, name, where) for x, y in zip(nest.flatten(a), nest.flatten(b))]
    return nest.pack_sequence_as(a, flat)


def if_stmt(cond, body, orelse, get_state, set_state, names, live):
    """An ``if`` statement: ``body()`` or ``orelse()``; on a traced condition both branches run
    (traced) and each name they assign takes the value of the taken one."""
    cond = _read(cond)
    if not _is_graph_tensor(cond):
        if cond:
            body()
        else:
            orelse()
        return
    pred = _pred(cond)
    init = get_state()
    before = _rstf.trace_effects()
    body()
    taken = get_state()
    set_state(init)
    orelse()
    other = get_state()
    if _rstf.trace_effects() != before:
        set_state(init)
        raise errors.UnimplementedError(
            "an if statement on a traced tensor cannot assign variables in its branches yet (both "
            "branches run); compute the new value with tf.where and assign it once")
    set_state(tuple(_merge(pred, n, a, b, live) for n, a, b in zip(names, taken, other)))


# ----------------------------------------------------------------------------- loops

def _loop_value(v):
    """``v`` with tensors for its leaves, or None when one cannot be a loop variable."""
    if isinstance(v, (Undefined, UndefinedReturnValue)):
        return None
    leaves = []
    for x in nest.flatten(v):
        t = x if isinstance(x, TensorArray) else _as_tensor(x)
        if t is None:
            return None
        leaves.append(t)
    return nest.pack_sequence_as(v, leaves)


def _probe(body, get_state, set_state, state, loop_ix):
    """The state after running ``body`` once on traced copies of the loop variables (in a
    trace that is thrown away): the dtypes and shapes of names first assigned in the loop."""
    _rstf.trace_begin_sub()
    try:
        st = list(state)
        for k in loop_ix:
            st[k] = nest.map_structure(
                lambda x: x if isinstance(x, TensorArray) else _rstf.trace_input(x), st[k])
        set_state(tuple(st))
        body()
        return get_state()
    finally:
        _rstf.trace_abort()
        set_state(tuple(state))


def _placeholder(v):
    v = _loop_value(v)
    return None if v is None else nest.map_structure(lambda t: _o.zeros(tuple(t.shape), t.dtype), v)


def _graph_loop(test, body, get_state, set_state, names, live, max_iterations):
    """The loop as a ``While`` node: its variables are the names the body assigns that have a
    tensor value (Python numbers become tensors)."""
    init = tuple(get_state())
    state = list(init)
    loop_ix, probe_ix = [], []
    for k, (n, v) in enumerate(zip(names, init)):
        if isinstance(v, UndefinedReturnValue) or (isinstance(v, Undefined) and n in live):
            probe_ix.append(k)
            continue
        lv = _loop_value(v)
        if lv is not None:
            state[k] = lv
            loop_ix.append(k)
    try:
        if probe_ix:
            after = _probe(body, get_state, set_state, state, loop_ix)
            for k in probe_ix:
                ph = _placeholder(after[k])
                if ph is None:
                    if isinstance(init[k], UndefinedReturnValue):
                        raise NotImplementedError(
                            "a return statement cannot be placed inside this TensorFlow loop; this may "
                            "happen if a return statement depends on a static Python condition such as "
                            "a hyperparameter")
                    raise ValueError(f"'{names[k]}' must be defined before the loop")
                state[k] = ph
                loop_ix.append(k)
            loop_ix.sort()

        def with_vars(vals):
            st = list(state)
            for k, v in zip(loop_ix, vals):
                st[k] = v
            return tuple(st)

        def cond_fn(*vals):
            set_state(with_vars(vals))
            return test()

        def body_fn(*vals):
            set_state(with_vars(vals))
            body()
            st = get_state()
            return [st[k] for k in loop_ix]

        loop_vars = [state[k] for k in loop_ix]

        def call(fn, flat):
            return fn(*nest.pack_sequence_as(loop_vars, list(flat)))

        flat = _cf._graph_loop(cond_fn, body_fn, nest.flatten(loop_vars), call, max_iterations)
    except Exception:
        set_state(init)
        raise
    final = with_vars(nest.pack_sequence_as(loop_vars, flat))
    set_state(tuple(v if k in loop_ix else
                    (Undefined(names[k]) if isinstance(init[k], Undefined) else init[k])
                    for k, v in enumerate(final)))


def _options(opts):
    opts = dict(opts or {})
    unknown = set(opts) - {"maximum_iterations", "shape_invariants", "parallel_iterations", "swap_memory"}
    if unknown:
        raise TypeError(f"set_loop_options: unknown options {sorted(unknown)}")
    return opts.get("maximum_iterations")


def while_stmt(test, body, get_state, set_state, names, live, opts=None):
    """A ``while`` statement; on a tensor condition inside ``rstf.function``, a graph loop."""
    max_iterations = _options(opts)
    i = 0
    while max_iterations is None or i < max_iterations:
        c = _read(test())
        if _is_graph_tensor(c):
            left = None if max_iterations is None else max_iterations - i
            _graph_loop(test, body, get_state, set_state, names, live, left)
            return
        if not c:
            return
        body()
        i += 1


class _Range:
    """``rstf.range(...)`` as the iterable of a ``for`` statement: a graph loop counts instead of
    making the tensor (whose size may not be known while tracing)."""

    def __init__(self, args, kwargs):
        self.args, self.kwargs = args, kwargs

    def tensor(self):
        return _o.range(*self.args, **self.kwargs)

    def bounds(self):
        """(start, limit, delta) as tensors of the range's dtype (as ``rstf.range`` picks it)."""
        names = ("start", "limit", "delta", "dtype")
        given = dict(zip(names, self.args))
        given.update(self.kwargs)
        start, limit, delta = given.get("start"), given.get("limit"), given.get("delta", 1)
        if limit is None:
            start, limit = 0, start
        vals = [_read(v) for v in (start, limit, delta)]
        dtype = given.get("dtype")
        if dtype is None:
            is_float = any(isinstance(v, float) or (isinstance(v, Tensor) and v.dtype.is_floating)
                           for v in vals)
            dtype = "float32" if is_float else "int32"
        return [_o.cast(_o.convert_to_tensor(v), dtype) for v in vals]


def for_iterable(f, *args, **kwargs):
    """The iterable of a ``for`` statement, ``f(*args, **kwargs)`` (``rstf.range`` lazily)."""
    if f is _o.range:
        return _Range(args, kwargs)
    return converted_call(f, *args, **kwargs)


def for_stmt(iterable, extra_test, body, get_state, set_state, names, live, opts=None):
    """A ``for`` statement. Over a tensor (or ``rstf.range``) inside ``rstf.function`` it is a
    graph loop over the first dimension; over a Python iterable it runs as Python (a body after
    a ``break`` on a traced condition then runs under that condition)."""
    max_iterations = _options(opts)
    iterable = _read(iterable)
    if isinstance(iterable, _Range):
        bounds = iterable.bounds() if _rstf.is_tracing() else ()
        if any(_rstf.is_symbolic(t) for t in bounds):
            start, limit, delta = bounds
            _counted_loop(start, limit, delta, None, extra_test, body, get_state, set_state, names, live,
                          max_iterations)
            return
        iterable = iterable.tensor()
    if _is_graph_tensor(iterable):
        if iterable.ndim == 0:
            raise TypeError("a for loop cannot iterate over a scalar tensor")
        _counted_loop(_o.constant(0), _o.shape(iterable)[0], _o.constant(1), iterable, extra_test, body,
                      get_state, set_state, names, live, max_iterations)
        return
    for i, x in enumerate(iterable):
        if max_iterations is not None and i >= max_iterations:
            break
        if extra_test is not None:
            t = _read(extra_test())
            if _is_graph_tensor(t):
                if_stmt(t, lambda x=x: body(x), lambda: None, get_state, set_state, names, live)
                continue
            if not t:
                break
        body(x)


def _counted_loop(start, limit, delta, tensor, extra_test, body, get_state, set_state, names, live,
                  max_iterations):
    """A graph loop of ``i`` from ``start`` by ``delta`` while before ``limit``, running
    ``body(tensor[i])`` (``body(i)`` without a tensor)."""
    box = [start]

    def get():
        return (box[0],) + tuple(get_state())

    def set_(vals):
        box[0] = vals[0]
        set_state(tuple(vals[1:]))

    def test():
        i = box[0]
        if isinstance(delta, Tensor) and not _rstf.is_symbolic(delta):
            c = i < limit if float(delta) > 0 else i > limit
        else:
            c = _o.where(delta > 0, i < limit, i > limit)
        if extra_test is not None:
            c = and_(lambda: c, extra_test)
        return c

    def step():
        i = box[0]
        body(i if tensor is None else _o.gather(tensor, i))
        box[0] = i + delta

    _graph_loop(test, step, get, set_, ("<index>",) + tuple(names), live, max_iterations)


# ----------------------------------------------------------------------------- calls and conversion

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # function -> converted, error or _AS_IS
_AS_IS = object()
_SKIP_MODULES = {"numpy", "tensorflow", "keras", "builtins", "functools", "typing", "abc",
                 "collections", "inspect", "contextlib", "copy", "itertools", "operator", "math"}
_LIB_PATHS = tuple({p for k in ("stdlib", "platstdlib", "purelib", "platlib")
                    if (p := sysconfig.get_paths().get(k))} | {sys.prefix, sys.base_prefix}
                   | {os.path.dirname(os.path.abspath(__file__)) + os.sep})  # rstf's own code


def _do_not_convert(f) -> bool:
    return bool(getattr(f, "__ag_do_not_convert__", False))


def _is_user_code(fn) -> bool:
    """True for a Python function of the program (not of rstf, a library or the standard
    library), which ``converted_call`` converts."""
    if not isinstance(fn, types.FunctionType) or fn.__name__ == "<lambda>" or _do_not_convert(fn):
        return False
    if hasattr(fn, "__wrapped__") or (fn.__code__.co_flags & (inspect.CO_GENERATOR | inspect.CO_COROUTINE)):
        return False
    module = (getattr(fn, "__module__", None) or "").partition(".")[0]
    if module in _SKIP_MODULES:
        return False
    filename = fn.__code__.co_filename
    return not os.path.abspath(filename).startswith(_LIB_PATHS) if not filename.startswith("<") else True


def _source_tree(fn):
    source = inspect.getsource(fn)
    first = fn.__code__.co_firstlineno  # the source's first line (a decorator's, or the def's)
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        # A multi-line string breaks dedent: parse the indented source inside a block.
        tree = ast.parse("if True:\n" + source).body[0]
        first -= 1
    node = tree.body[0]
    if not isinstance(node, ast.FunctionDef) or node.name != fn.__code__.co_name:
        raise ConversionError("the source found is not the function's definition")
    ast.increment_lineno(node, first - 1)
    return node


def _class_name(fn):
    parts = fn.__qualname__.split(".")
    if len(parts) >= 2 and parts[-2] != "<locals>":
        return parts[-2].lstrip("_") or None
    return None


def _convert(fn):
    """The converted function of ``fn`` (a ``types.FunctionType``); raises on failure."""
    try:
        node = _source_tree(fn)
    except (OSError, TypeError) as e:
        raise ConversionError(f"could not get source code ({e})") from None
    code = fn.__code__
    free = code.co_freevars
    first = (code.co_varnames[:1] if code.co_argcount + code.co_posonlyargcount else (None,))[0]
    convert_function_ast(node, self_arg=first, class_cell="__class__" in free, mangle=_class_name(fn))
    source = ast.unparse(node)
    factory = ast.FunctionDef(
        name="ag__factory", args=ast.arguments(posonlyargs=[],
                                               args=[ast.arg(arg=a) for a in ("ag__",) + free],
                                               vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                                               defaults=[]),
        # The def must not make the function's own name a local of the factory: inside, the name
        # stays what it was (a global, or a free variable whose cell is passed below).
        body=([] if node.name in free else [ast.Global(names=[node.name])]) + [
            node, ast.Return(value=ast.Name(id=node.name, ctx=ast.Load()))], decorator_list=[], returns=None,
        type_params=[])
    module = ast.Module(body=[factory], type_ignores=[])
    ast.fix_missing_locations(module)
    compiled = compile(module, code.co_filename, "exec", dont_inherit=True)
    factory_code = next(c for c in compiled.co_consts if isinstance(c, types.CodeType))
    fn_code = next(c for c in factory_code.co_consts
                   if isinstance(c, types.CodeType) and c.co_name == node.name)
    cells = dict(zip(free, fn.__closure__ or ()))
    cells["ag__"] = types.CellType(sys.modules[__name__])
    missing = [n for n in fn_code.co_freevars if n not in cells]
    if missing:
        raise ConversionError(f"the converted code reads free names {missing} the function does not have")
    new = types.FunctionType(fn_code, fn.__globals__, fn.__name__, fn.__defaults__,
                             tuple(cells[n] for n in fn_code.co_freevars))
    new.__kwdefaults__ = fn.__kwdefaults__
    for attr in ("__qualname__", "__module__", "__doc__", "__annotations__"):
        setattr(new, attr, getattr(fn, attr, None))
    new.__dict__.update(fn.__dict__)
    new.__ag_source__ = source
    new.__ag_original__ = fn
    return new


def convert(fn, warn=True):
    """``fn`` converted (a function, a bound method, a ``functools.partial`` or a callable object
    of user code); ``fn`` itself when it is not user code or its conversion fails (with a
    warning, as TensorFlow gives, when ``warn``)."""
    import functools

    if isinstance(fn, functools.partial):
        conv = convert(fn.func, warn)
        return fn if conv is fn.func else functools.partial(conv, *fn.args, **fn.keywords)
    if isinstance(fn, types.MethodType):
        conv = convert(fn.__func__, warn)
        return fn if conv is fn.__func__ else types.MethodType(conv, fn.__self__)
    if not isinstance(fn, types.FunctionType):
        call = getattr(type(fn), "__call__", None)  # noqa: B004 - the method, to convert
        if isinstance(call, types.FunctionType) and _is_user_code(call) and not _do_not_convert(fn):
            conv = convert(call, warn)
            return fn if conv is call else types.MethodType(conv, fn)
        return fn
    try:
        done = _CACHE.get(fn, False)
    except TypeError:
        return fn
    if done is False:
        if not _is_user_code(fn):
            _CACHE[fn] = _AS_IS
            return fn
        _CACHE[fn] = _AS_IS  # a recursive call while converting runs unconverted
        try:
            done = _convert(fn)
        except Exception as e:  # noqa: BLE001 - any failure: the function runs as it is
            done = ConversionError(str(e) if isinstance(e, ConversionError) else f"{type(e).__name__}: {e}")
        _CACHE[fn] = done
    if isinstance(done, Exception):
        if warn:
            warnings.warn(f"AutoGraph could not transform {fn!r} and will run it as-is.\nCause: {done}\n"
                          "To silence this warning, decorate the function with "
                          "@tf.autograph.experimental.do_not_convert", stacklevel=3)
        return fn
    return fn if done is _AS_IS else done


def converted_call(f, /, *args, **kwargs):
    """``f(*args, **kwargs)``, with ``f`` converted first when it is user code."""
    return convert(f, warn=False)(*args, **kwargs)


def convert_strict(fn):
    """``fn`` (a function or bound method, or an ``rstf.function``'s) converted; raises
    ``ConversionError`` saying why when it cannot be."""
    fn = getattr(fn, "python_function", fn)
    target = getattr(fn, "__func__", fn)
    if not isinstance(target, types.FunctionType):
        raise ConversionError(f"expected a Python function, got {fn!r}")
    done = _CACHE.get(target)
    if not callable(done) or done is _AS_IS:
        done = _CACHE[target] = _convert(target)
    return types.MethodType(done, fn.__self__) if target is not fn else done


def source_of(fn) -> str:
    """The converted source of ``fn`` (``tf.autograph.to_code``)."""
    return getattr(convert_strict(fn), "__func__", convert_strict(fn)).__ag_source__ + "\n"


__all__ = ["Undefined", "UndefinedReturnValue", "and_", "convert", "convert_strict", "converted_call",
           "for_stmt", "if_exp", "if_stmt", "not_", "or_", "retval", "source_of", "while_stmt"]
