"""AutoGraph's source transformation: rewrites a function's ``ast`` so that ``if``, ``while`` and
``for`` statements (with ``break``, ``continue`` and ``return`` inside them), ``and``, ``or``,
``not`` and ``a if c else b`` call AutoGraph's operators (``_autograph_ops``, named ``ag__`` in
the converted code), which run them as Python or build graph control flow depending on the
values at run time.

A statement's state is the local names it assigns: the converted statement becomes nested
functions (its branches, its loop body) declaring those names ``nonlocal``, plus ``get_state``
and ``set_state`` functions that read and write them, which the operators use to run a
branch, restore the names, and set the merged values. ``return`` inside control flow becomes
``do_return = True; retval_ = value`` and the statements after it run under ``if not
do_return``; ``break`` and ``continue`` set flags the same way (the loop's condition tests the
break flag).

>>> import ast
>>> tree = ast.parse("def f(x):\\n    if x > 0:\\n        x = -x\\n    return x")
>>> "ag__.if_stmt" in ast.unparse(convert_function_ast(tree.body[0]))
True
"""

from __future__ import annotations

import ast
import copy

AG = "ag__"

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
# Calls left as they are: they read the caller's frame or are AutoGraph's own.
_DIRECT_CALLS = {"super", "locals", "globals", "vars", "eval", "exec", "dir", "print", "isinstance",
                 "len", "range", "int", "float", "bool", "str", "type", "getattr", "hasattr", "setattr",
                 "tuple", "list", "dict", "set", "zip", "enumerate", "iter", "next", "min", "max",
                 "abs", "sum", "sorted", "reversed", "repr", "id", "callable", "issubclass", "object"}


class ConversionError(Exception):
    """The function's source cannot be converted (a construct AutoGraph does not support)."""


# ----------------------------------------------------------------------------- name analysis

def _store_names(target, out):
    for node in ast.walk(target):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.id)


def assigned_names(nodes) -> set:
    """Names bound by these statements in their own scope (nested functions, classes, lambdas
    and comprehensions are not entered; a def or class binds its name)."""
    out: set = set()

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
            for d in node.decorator_list:
                visit(d)
            return
        if isinstance(node, ast.Lambda):
            return
        if isinstance(node, _COMPREHENSIONS):
            for sub in ast.walk(node):
                if isinstance(sub, ast.NamedExpr):
                    _store_names(sub.target, out)
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                out.add((a.asname or a.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            out.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            out.add(node.name)
        for child in ast.iter_child_nodes(node):
            visit(child)

    for n in nodes:
        visit(n)
    return out


def loaded_names(nodes) -> set:
    """Every name read anywhere in these nodes (nested scopes included)."""
    return {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)}


def _own_nodes(stmts, stop=_SCOPES):
    """The nodes of these statements in their own scope (not entering nested scopes)."""
    stack = list(reversed(stmts))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, stop):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _contains(stmts, kinds, stop=_SCOPES):
    return any(isinstance(n, kinds) for n in _own_nodes(stmts, stop))


def _declared(fn, kind):
    return {name for n in _own_nodes(fn.body) if isinstance(n, kind) for name in n.names}


# ----------------------------------------------------------------------------- small builders

def _name(id_, store=False):
    return ast.Name(id=id_, ctx=ast.Store() if store else ast.Load())


def _ag(attr):
    return ast.Attribute(value=_name(AG), attr=attr, ctx=ast.Load())


def _call(func, args=(), keywords=()):
    return ast.Call(func=func, args=list(args), keywords=list(keywords))


def _assign(name, value):
    return ast.Assign(targets=[_name(name, True)], value=value)


def _const(v):
    return ast.Constant(value=v)


def _not(expr):
    return _call(_ag("not_"), [expr])


def _def(name, args, body):
    return ast.FunctionDef(name=name, args=ast.arguments(
        posonlyargs=[], args=[ast.arg(arg=a) for a in args], vararg=None, kwonlyargs=[],
        kw_defaults=[], kwarg=None, defaults=[]), body=body or [ast.Pass()], decorator_list=[],
        returns=None, type_params=[])


def _tuple(names, store=False):
    return ast.Tuple(elts=[_name(n, store) for n in names], ctx=ast.Store() if store else ast.Load())


def _strs(names):
    return ast.Tuple(elts=[_const(n) for n in names], ctx=ast.Load())


# ----------------------------------------------------------------------------- expressions

class _Expressions(ast.NodeTransformer):
    """``and``/``or``/``not``/``a if c else b`` to operators, calls through ``converted_call``
    and ``super()`` with explicit arguments (the body moves into nested functions)."""

    def __init__(self, self_arg, class_cell, mangle):
        self.self_arg = self_arg
        self.class_cell = class_cell
        self.mangle = mangle

    @staticmethod
    def _lazy_ok(node):
        return not any(isinstance(n, (ast.NamedExpr, ast.Yield, ast.YieldFrom, ast.Await))
                       for n in ast.walk(node))

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        if not self._lazy_ok(node):
            return node
        op = "and_" if isinstance(node.op, ast.And) else "or_"
        lambdas = [ast.Lambda(args=_def("_", [], []).args, body=v) for v in node.values]
        return ast.copy_location(_call(_ag(op), lambdas), node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return ast.copy_location(_call(_ag("not_"), [node.operand]), node)
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        if not self._lazy_ok(node):
            return node
        no_args = _def("_", [], []).args
        return ast.copy_location(_call(_ag("if_exp"), [
            node.test, ast.Lambda(args=no_args, body=node.body),
            ast.Lambda(args=copy.deepcopy(no_args), body=node.orelse)]), node)

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if isinstance(f, ast.Name) and f.id == "super" and not node.args and self.class_cell \
                and self.self_arg:
            node.args = [_name("__class__"), _name(self.self_arg)]
            return node
        if isinstance(f, ast.Name) and f.id in _DIRECT_CALLS:
            return node
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == AG:
            return node
        return ast.copy_location(_call(_ag("converted_call"), [f] + node.args, node.keywords), node)

    def _mangled(self, name):
        if self.mangle and name.startswith("__") and not name.endswith("__"):
            return f"_{self.mangle}{name}"
        return name

    def visit_Attribute(self, node):
        self.generic_visit(node)
        node.attr = self._mangled(node.attr)
        return node

    def visit_Name(self, node):
        node.id = self._mangled(node.id)
        return node

    def visit_arg(self, node):
        self.generic_visit(node)
        node.arg = self._mangled(node.arg)
        return node


# ----------------------------------------------------------------------------- return, break, continue

class _Flags:
    """Unique names for the flags and helper functions of one converted function."""

    def __init__(self, taken):
        self.taken = set(taken)
        self.counts: dict = {}

    def new(self, base, numbered=True):
        n = self.counts.get(base, 0)
        while True:
            n += 1
            name = f"{base}_{n}" if numbered or n > 1 else base
            if name not in self.taken:
                break
        self.counts[base] = n
        self.taken.add(name)
        return name


def _rewrite(stmts, kind, stop, replace, flag, loops, on_stmt=None):
    """``stmts`` with each jump of ``kind`` replaced by ``replace(jump)`` and the statements after
    one that may jump run under ``if not flag:`` (unreachable statements after a jump are
    dropped). Nested loops are entered when ``loops``."""
    out = []
    for k, s in enumerate(stmts):
        if isinstance(s, kind):
            out.extend(replace(s))
            return out
        jumps = _contains([s], kind, stop)
        if jumps:
            if on_stmt is not None:
                on_stmt(s)
            _recurse_blocks(s, lambda b: _rewrite(b, kind, stop, replace, flag, loops, on_stmt), loops)
        out.append(s)
        if jumps and k + 1 < len(stmts):
            rest = _rewrite(stmts[k + 1:], kind, stop, replace, flag, loops, on_stmt)
            if rest:
                out.append(ast.If(test=_not(_name(flag)), body=rest, orelse=[]))
            return out
    return out


def _recurse_blocks(stmt, fn, loops):
    """Applies ``fn`` to the statement lists inside ``stmt`` (entering loops when ``loops``)."""
    if isinstance(stmt, ast.If) or (loops and isinstance(stmt, (ast.For, ast.While))):
        stmt.body = fn(stmt.body)
        stmt.orelse = fn(stmt.orelse)
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        stmt.body = fn(stmt.body)
    elif isinstance(stmt, (ast.Try, getattr(ast, "TryStar", ast.Try))):
        stmt.body = fn(stmt.body)
        stmt.orelse = fn(stmt.orelse)
        stmt.finalbody = fn(stmt.finalbody)
        for h in stmt.handlers:
            h.body = fn(h.body)
    elif isinstance(stmt, ast.Match):
        for c in stmt.cases:
            c.body = fn(c.body)


def _return_in_control_flow(node, inside=False) -> bool:
    """True when a return of this scope is inside an ``if``, ``for`` or ``while``."""
    inside = inside or isinstance(node, (ast.If, ast.For, ast.While))
    for child in ast.iter_child_nodes(node):
        if isinstance(child, _SCOPES):
            continue
        if (isinstance(child, ast.Return) and inside) or _return_in_control_flow(child, inside):
            return True
    return False


def _convert_returns(fn, flags):
    """Rewrites the returns of ``fn`` when some are inside control flow."""
    if not any(_return_in_control_flow(s) for s in fn.body):
        return
    do_return, retval = flags.new("do_return", False), flags.new("retval_", False)

    def replace(s):
        return [_assign(do_return, _const(True)),
                _assign(retval, s.value if s.value is not None else _const(None))]

    def mark_loop(s):
        if isinstance(s, (ast.For, ast.While)) and _contains(s.body, ast.Return):
            s._ag_extra = getattr(s, "_ag_extra", []) + [do_return]

    body = _rewrite(fn.body, ast.Return, _SCOPES, replace, do_return, True, mark_loop)
    fn._ag_returns = (do_return, retval)
    fn.body = [_assign(do_return, _const(False)),
               _assign(retval, _call(_ag("UndefinedReturnValue")))] + body + [
        ast.Return(value=_call(_ag("retval"), [_name(retval)]))]


def _convert_jumps(fn, flags):
    """Rewrites ``break`` and ``continue`` of every loop of ``fn`` (its own scope)."""
    stop = _SCOPES + (ast.For, ast.While, ast.AsyncFor)

    def rewrite_loop(loop):
        pre = []
        if _contains(loop.body, ast.Continue, stop):
            flag = flags.new("continue")
            loop.body = [_assign(flag, _const(False))] + _rewrite(
                loop.body, ast.Continue, stop, lambda s, f=flag: [_assign(f, _const(True))], flag, False)
        if _contains(loop.body, ast.Break, stop):
            flag = flags.new("break")
            loop.body = _rewrite(loop.body, ast.Break, stop, lambda s, f=flag: [_assign(f, _const(True))],
                                 flag, False)
            loop._ag_extra = getattr(loop, "_ag_extra", []) + [flag]
            pre.append(_assign(flag, _const(False)))
            if loop.orelse:
                loop.orelse = [ast.If(test=_not(_name(flag)), body=loop.orelse, orelse=[])]
        return pre

    def block(stmts):
        out = []
        for s in stmts:
            if isinstance(s, (ast.For, ast.While)):
                s.body = block(s.body)
                s.orelse = block(s.orelse)
                out.extend(rewrite_loop(s))
            else:
                _recurse_blocks(s, block, loops=False)
            out.append(s)
        return out

    fn.body = block(fn.body)


# ----------------------------------------------------------------------------- control flow

class _ControlFlow:
    """Turns ``if``/``while``/``for`` of one function scope into operator calls."""

    def __init__(self, fn, flags):
        self.flags = flags
        self.globals = _declared(fn, ast.Global)
        self.params = {a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs}
        self.params |= {a.arg for a in (fn.args.vararg, fn.args.kwarg) if a is not None}
        self.nonlocals: set = set()  # names the nested functions declare nonlocal

    def _state(self, stmts, extra=()):
        names = sorted((assigned_names(stmts) | set(extra)) - self.globals)
        gl = sorted(assigned_names(stmts) & self.globals)
        self.nonlocals.update(names)
        decl = ([ast.Nonlocal(names=names)] if names else []) + ([ast.Global(names=gl)] if gl else [])
        return names, decl

    def _state_fns(self, names, decl, tag):
        get_, set_ = self.flags.new("get_state" + tag), self.flags.new("set_state" + tag)
        getter = _def(get_, [], [ast.Return(value=_tuple(names))])
        arg = self.flags.new("vars_", False)
        setter = _def(set_, [arg], decl[:1] + ([ast.Assign(targets=[_tuple(names, True)],
                                                           value=_name(arg))] if names else []))
        return get_, set_, [getter, setter]

    def block(self, stmts, live_out):
        out = []
        for k, s in enumerate(stmts):
            live = live_out | loaded_names(stmts[k + 1:])
            if isinstance(s, ast.If):
                out.extend(self.if_(s, live))
            elif isinstance(s, ast.While):
                out.extend(self.while_(s, live))
            elif isinstance(s, ast.For):
                out.extend(self.for_(s, live))
            else:
                if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                    pass  # nested scopes are converted on their own (see convert_function_ast)
                else:
                    _recurse_blocks(s, lambda b, live=live: self.block(b, live), loops=False)
                out.append(s)
        return out

    def if_(self, s, live):
        names, decl = self._state(s.body + s.orelse)
        body = self.block(s.body, live)
        orelse = self.block(s.orelse, live)
        if_body, else_body = self.flags.new("if_body"), self.flags.new("else_body")
        get_, set_, state_fns = self._state_fns(names, decl, "")
        call = _call(_ag("if_stmt"), [s.test, _name(if_body), _name(else_body), _name(get_), _name(set_),
                                      _strs(names), _strs(sorted(set(names) & live))])
        return [_def(if_body, [], decl + body), _def(else_body, [], decl + orelse), *state_fns,
                ast.copy_location(ast.Expr(value=call), s)]

    @staticmethod
    def _options(body):
        """The keywords of a ``set_loop_options(...)`` call of the loop's body (removed)."""
        for k, s in enumerate(body):
            if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)):
                continue
            call = s.value
            target, args = call.func, call.args
            if isinstance(target, ast.Attribute) and target.attr == "converted_call" and isinstance(
                    target.value, ast.Name) and target.value.id == AG and args:
                target, args = args[0], args[1:]
            fname = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
            if fname == "set_loop_options":
                if args:
                    raise ConversionError("set_loop_options takes keyword arguments only")
                return body[:k] + body[k + 1:], ast.Dict(keys=[_const(kw.arg) for kw in call.keywords],
                                                         values=[kw.value for kw in call.keywords])
        return body, _const(None)

    def _extra_test(self, loop):
        flags = getattr(loop, "_ag_extra", [])
        if not flags:
            return None
        test = _not(_name(flags[0]))
        for f in flags[1:]:
            test = _call(_ag("and_"), [ast.Lambda(args=_def("_", [], []).args, body=test),
                                       ast.Lambda(args=_def("_", [], []).args, body=_not(_name(f)))])
        return test

    def while_(self, s, live):
        body_stmts, opts = self._options(s.body)
        names, decl = self._state(body_stmts)
        inner_live = live | loaded_names([s])
        body = self.block(body_stmts, inner_live)
        test = s.test
        extra = self._extra_test(s)
        if extra is not None:
            no_args = _def("_", [], []).args
            test = _call(_ag("and_"), [ast.Lambda(args=no_args, body=extra),
                                       ast.Lambda(args=copy.deepcopy(no_args), body=test)])
        loop_test, loop_body = self.flags.new("loop_test"), self.flags.new("loop_body")
        get_, set_, state_fns = self._state_fns(names, decl, "")
        call = _call(_ag("while_stmt"), [_name(loop_test), _name(loop_body), _name(get_), _name(set_),
                                         _strs(names), _strs(sorted(set(names) & live)), opts])
        out = [_def(loop_test, [], [ast.Return(value=test)]), _def(loop_body, [], decl + body), *state_fns,
               ast.copy_location(ast.Expr(value=call), s)]
        return out + self.block(s.orelse, live)

    def for_(self, s, live):
        body_stmts, opts = self._options(s.body)
        itr = self.flags.new("itr", False)
        target_assign = ast.Assign(targets=[s.target], value=_name(itr))
        names, decl = self._state([target_assign] + body_stmts)
        inner_live = live | loaded_names([s])
        body = self.block(body_stmts, inner_live)
        extra = self._extra_test(s)
        it = s.iter
        if isinstance(it, ast.Call) and not (isinstance(it.func, ast.Attribute) and isinstance(
                it.func.value, ast.Name) and it.func.value.id == AG):
            it = _call(_ag("for_iterable"), [it.func] + it.args, it.keywords)
        elif isinstance(it, ast.Call) and it.func.attr == "converted_call":  # type: ignore[union-attr]
            it = _call(_ag("for_iterable"), it.args, it.keywords)
        loop_body = self.flags.new("loop_body")
        get_, set_, state_fns = self._state_fns(names, decl, "")
        pre = []
        extra_name = None
        if extra is not None:
            extra_name = self.flags.new("extra_test")
            pre.append(_def(extra_name, [], [ast.Return(value=extra)]))
        call = _call(_ag("for_stmt"), [it, _name(extra_name) if extra_name else _const(None),
                                       _name(loop_body), _name(get_), _name(set_), _strs(names),
                                       _strs(sorted(set(names) & live)), opts])
        out = pre + [_def(loop_body, [itr], decl + [target_assign] + body), *state_fns,
                     ast.copy_location(ast.Expr(value=call), s)]
        return out + self.block(s.orelse, live)


# ----------------------------------------------------------------------------- entry point

def convert_function_ast(fn, self_arg=None, class_cell=False, mangle=None, _top=True):
    """Converts a ``FunctionDef`` in place (and the functions defined inside it); returns it."""
    if isinstance(fn, ast.AsyncFunctionDef) or _contains(fn.body, (ast.Yield, ast.YieldFrom)):
        if _top:
            raise ConversionError("generators and coroutines are not converted")
        return fn
    if _top:
        fn.decorator_list = []
        _Expressions(self_arg, class_cell, mangle).visit(fn)
    taken = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)} | {
        n.name for n in ast.walk(fn) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    flags = _Flags(taken)
    # Nested functions first, each its own scope.
    for node in list(_own_nodes(fn.body)):
        if isinstance(node, ast.FunctionDef) and node is not fn:
            convert_function_ast(node, _top=False)
    _convert_returns(fn, flags)
    _convert_jumps(fn, flags)
    cf = _ControlFlow(fn, flags)
    fn.body = cf.block(fn.body, set())
    declared_elsewhere = cf.params | cf.globals | _declared(fn, ast.Nonlocal)
    undefined = sorted(cf.nonlocals - declared_elsewhere - set(getattr(fn, "_ag_returns", ())))
    if undefined:
        fn.body = [_assign(n, _call(_ag("Undefined"), [_const(n)])) for n in undefined] + fn.body
    ast.fix_missing_locations(fn)
    return fn


__all__ = ["convert_function_ast", "ConversionError"]
