"""The object graph that checkpoints and saved models store: Variables reachable from a root
through attributes of :class:`Trackable` objects (Modules, optimizers, checkpoints) and lists,
tuples and dicts of them, each named by its path of attribute names (``model/dense/kernel``).

Restoring a value whose variable does not exist yet (a Keras layer not built) is deferred: the
value waits on the deepest object of its path that exists, and is assigned when the variable
is set as an attribute there.

Paths are ``/``-separated names: none empty, none ``.`` or ``..``, no control characters
(:func:`bad_path`). Two children of one object may not share a name (``{1: a, "1": b}``).
"""

from __future__ import annotations

from collections import deque

from ._variable import Variable

_MAX_DEPTH = 64
# Bookkeeping attributes that are not part of an object's state.
_NOT_CHILDREN = frozenset({"_rstf_deferred", "_rstf_deferred_slots", "_rstf_restores", "_init_args"})
_SLOT = ".OPTIMIZER_SLOT"


def bad_path(path) -> str | None:
    """Why ``path`` is not an object path, or None if it is one."""
    if not isinstance(path, str) or not path:
        return "is empty"
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in path):
        return "holds a control character"
    parts = path.split("/")
    if "" in parts:
        return "has an empty name (a leading, trailing or doubled '/')"
    if "." in parts or ".." in parts:
        return "has a '.' or '..' name"
    if _SLOT in parts:
        i = parts.index(_SLOT)
        if i == 0 or len(parts) - i < 3 or parts.count(_SLOT) > 1:
            return f"is not '{{variable}}/{_SLOT}/{{optimizer}}/{{slot}}'"
    return None


class Trackable:
    """Base of the objects whose attributes the object graph follows: ``rstf.Module``, Keras
    optimizers and ``rstf.train.Checkpoint`` declare themselves by deriving from it, so this
    module needs none of them."""

    __slots__ = ()

    # True for optimizers: their slot variables (``_slots``: ``{(variable id, slot name):
    # Variable}``) are named after the path of the variable they belong to.
    _trackable_holds_slots = False


def _holds_slots(obj) -> bool:
    return isinstance(obj, Trackable) and obj._trackable_holds_slots


def trackable(value, depth=0) -> bool:
    """True for what the object graph holds: Variables, Trackables (Modules, optimizers,
    checkpoints), and containers of them."""
    if isinstance(value, (Variable, Trackable)):
        return True
    if depth < _MAX_DEPTH and isinstance(value, (list, tuple)):
        return any(trackable(v, depth + 1) for v in value)
    if depth < _MAX_DEPTH and isinstance(value, dict):
        return any(trackable(v, depth + 1) for v in value.values())
    return False


def children(obj) -> list:
    """``(name, child)`` pairs of an object, public names first."""
    if isinstance(obj, Variable):
        return []
    if isinstance(obj, (list, tuple)):
        items = [(str(i), v) for i, v in enumerate(obj)]
    elif isinstance(obj, dict):
        items = [(str(k), v) for k, v in obj.items()]
    elif hasattr(obj, "_trackable_children"):
        items = list(obj._trackable_children())
    elif hasattr(obj, "__dict__"):
        ignored = getattr(obj, "_TF_MODULE_IGNORED_PROPERTIES", ())
        items = [(k, v) for k, v in vars(obj).items() if not k.startswith("__") and k not in ignored
                 and k not in _NOT_CHILDREN]
    else:
        items = []
    items = [(k, v) for k, v in items if trackable(v)]
    items.sort(key=lambda kv: (kv[0].startswith("_"), kv[0]))
    for (a, _), (b, _) in zip(items, items[1:]):
        if a == b:
            raise ValueError(f"Two objects held by one {type(obj).__name__} are both named '{a}' "
                             "(dict keys are named by str(key)): their variables cannot be saved apart")
    return items


def walk(root):
    """Every object reachable from ``root`` once, breadth first: ``(path, object)``."""
    seen = {id(root)}
    out = [("", root)]
    queue = deque(out)
    while queue:
        path, obj = queue.popleft()
        for name, child in children(obj):
            if id(child) in seen:
                continue
            seen.add(id(child))
            item = (f"{path}/{name}" if path else name, child)
            out.append(item)
            queue.append(item)
    return out


def variables_by_path(root) -> dict:
    """``{path: Variable}`` for every Variable reachable from ``root``, with optimizer slots
    named ``{variable path}/.OPTIMIZER_SLOT/{optimizer path}/{slot}``."""
    objects = walk(root)
    found = {p: o for p, o in objects if isinstance(o, Variable)}
    path_of = {v._id: p for p, v in found.items()}
    for p, o in objects:
        if _holds_slots(o):
            for (var_id, slot), sv in o._slots.items():
                if var_id in path_of:
                    found[f"{path_of[var_id]}/.OPTIMIZER_SLOT/{p}/{slot}"] = sv
    return found


def restore(root, values: dict, holders: list | None = None) -> set:
    """Assigns ``values`` (``{path: tensor}``) to the variables of ``root``; values whose
    variable does not exist yet wait on the deepest existing object of their path (appended to
    ``holders``). Returns the paths assigned now."""
    objects = dict(walk(root))
    current = variables_by_path(root)
    values = dict(values)
    # Slot values wait for their optimizer to create the slot; when the variable itself does
    # not exist yet, they travel with its deferred value.
    for path in [p for p in values if "/.OPTIMIZER_SLOT/" in p]:
        var_path, rest = path.split("/.OPTIMIZER_SLOT/", 1)
        opt_path, slot = rest.rsplit("/", 1)
        opt, var = objects.get(opt_path), objects.get(var_path)
        if not _holds_slots(opt):
            continue
        value = values.pop(path)
        if isinstance(var, Variable):
            opt.__dict__.setdefault("_rstf_deferred_slots", {})[(var._id, slot)] = value
            if holders is not None:
                holders.append(opt)
        elif var_path in values:
            own = values[var_path]
            if not isinstance(own, _Pending):
                own = values[var_path] = _Pending(own)
            own.slots.append((opt, slot, value))
    done = set()
    for path, value in values.items():
        var = current.get(path)
        if var is not None:
            _assign(var, value, path)
            done.add(path)
            continue
        parts = path.split("/")
        at, i = root, 0
        while i < len(parts) - 1 and f"{'/'.join(parts[:i + 1])}" in objects:
            at = objects["/".join(parts[:i + 1])]
            i += 1
        if hasattr(at, "__dict__") and not isinstance(at, Variable):
            at.__dict__.setdefault("_rstf_deferred", {})["/".join(parts[i:])] = value
            if holders is not None:
                holders.append(at)
    return done


class _Pending:
    """A deferred variable value with the optimizer slots that wait for the variable."""

    def __init__(self, value):
        self.value = value
        self.slots: list = []


def check_fits(var, value, path):
    """Raises ValueError unless ``value`` has the dtype and shape of ``var``."""
    if tuple(var.shape) != tuple(value.shape) or var.dtype != value.dtype:
        raise ValueError(
            f"Cannot restore '{path}': the checkpoint holds shape {tuple(value.shape)} and dtype "
            f"{value.dtype.name}, the variable has shape {tuple(var.shape)} and dtype {var.dtype.name}")


def _assign(var, value, path):
    if isinstance(value, _Pending):
        for opt, slot, v in value.slots:
            opt.__dict__.setdefault("_rstf_deferred_slots", {})[(var._id, slot)] = v
        value = value.value
    check_fits(var, value, path)
    var._load_value(value)


def hold(objects, record):
    """Keeps ``record`` (what a restore read) alive while values wait on ``objects``."""
    seen = set()
    for obj in objects:
        if id(obj) not in seen:
            seen.add(id(obj))
            held = obj.__dict__.setdefault("_rstf_restores", [])
            if not any(r is record for r in held):
                held.append(record)


def on_setattr(obj, name, value):
    """Called when ``obj.name = value``: consumes values waiting for this attribute."""
    pending = obj.__dict__.get("_rstf_deferred")
    if not pending:
        return
    records = obj.__dict__.get("_rstf_restores", [])
    if isinstance(value, Variable):
        if name in pending:
            _assign(value, pending.pop(name), name)
    else:
        prefix = name + "/"
        moved = {k[len(prefix):]: pending.pop(k) for k in [k for k in pending if k.startswith(prefix)]}
        if moved:
            holders: list = []
            restore(value, moved, holders)
            for record in records:
                hold(holders, record)
    if not pending:
        obj.__dict__.pop("_rstf_restores", None)
