"""Fuzzing the file loaders: saved models, checkpoints and ``.keras`` files, damaged or crafted.

Three small valid originals are written once per session (a saved ``tf.Module`` whose traced
function runs a ``tf.while_loop`` and a matmul, a ``tf.train.Checkpoint`` file, a compiled
Keras ``Sequential`` saved as ``.keras``). Each mutant is one of them changed by:

- truncation, random bit flips (1-8 bits) or a random byte-range overwrite of a file (for the
  ``.keras`` zip: of the zip itself, or of one member with the zip rebuilt around it);
- structured edits of a JSON document: ``saved_model.json`` (then signed again as someone
  crafting a file would, see ``helpers.edit_saved_model``), the zip's ``config.json`` and the
  JSON headers of the safetensors files: numbers become huge, negative or zero, strings become
  paths or module names, lists empty, keys dropped, values swapped or of another type.

Every mutant is loaded in a child process (one child loads a batch of mutants, each under an
alarm and a parent watchdog, in a fresh working and temporary directory) and then used: the
saved model's function is called and its variables read, the checkpoint restored into fresh
variables, the Keras model predicts and trains one step (which reads the restored optimizer
state). Each mutant must end within ``MUTANT_SECONDS``, without raising the child's peak memory
by more than ``MEMORY_GROWTH_MB`` (the formats promise allocations bounded by the file's size),
in one of:

- ``same``: what loaded equals the original;
- ``error``: an ``rstf.errors`` class or a ``ValueError`` (never a panic, never a
  ``BaseException`` that is not an ``Exception``, never another Python error escaping);
- ``partial`` (checkpoints): a variable got no value (its name no longer matches; the restore
  status reports it, as TensorFlow's does) and every value restored is the saved one;
- ``different``: only for structured or re-signed edits, which no checksum can tell from a
  genuine file; a damaged file must never load with other values;

and no file may appear, change or go away: the child's working and temporary directories, a
sentinel directory beside them, ``$HOME``, the originals and the mutants are compared before and
after each mutant.

``RSTF_FUZZ_SECONDS`` (default 60) is the budget of the whole file, split between the formats;
``RSTF_FUZZ_SEED`` picks the mutants. Mutant ``i`` of a format depends only on the seed, the
format and ``i``; a failure prints how to replay it alone::

    cd tests && ../.venv/bin/python test_fuzz_loaders.py saved_model 17 --seed 20240611

``make fuzz`` runs this file for half an hour.
"""

from __future__ import annotations

import collections
import hashlib
import io
import json
import os
import queue
import random
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

import pytest

SEED = int(os.environ.get("RSTF_FUZZ_SEED", "20240611"))
VERBOSE = bool(os.environ.get("RSTF_FUZZ_VERBOSE"))  # print every mutant and its outcome (with -s)
BUDGET = float(os.environ.get("RSTF_FUZZ_SECONDS", "60"))
FORMATS = ("saved_model", "checkpoint", "keras")
BATCH = 20
MUTANT_SECONDS = 10.0  # per mutant, load and use
WATCHDOG_GRACE = 5.0  # the parent kills a child stuck this long past a mutant's limit
STARTUP_SECONDS = 120.0  # a child's import and load of the original
MEMORY_LIMIT = 6 << 30  # address space of a child: a file that asks for more fails, not the machine
# The formats promise allocations bounded by the file's size: a mutant (a few KiB) may not raise
# a child's peak memory by more than this. Loaded graphs run with values of at most
# LOAD_VALUE_BYTES (``tf.saved_model.set_load_limits``; the default allows 1 GiB).
MEMORY_GROWTH_MB = 256
LOAD_VALUE_BYTES = 64 << 20
ALLOWED = "an rstf.errors class or a ValueError"

# -- the code the children run ---------------------------------------------------------------------

# Shared by the builder, the children and the replay command: the inputs and the checkpoint's
# values, and how a loaded file is used and compared with the original.
_LIBRARY = r'''
import os
import time
import traceback

import numpy as np

import rstf as tf

X1 = (np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5) / 3
X2 = -np.ones((1, 3), np.float32)
XK = np.linspace(-1, 1, 12).astype(np.float32).reshape(4, 3)
YK = np.stack([XK.sum(1), XK[:, 0] * 2], 1)
CKPT_SAVED = {"w": np.arange(5, dtype=np.float32) / 2 + 0.25, "step": np.array(7, np.int64),
              "a": np.array([[1.5, -2.0]], np.float32), "mask": np.array([True, False, True]),
              "d": np.array([1e-3, 2.0 ** 40], np.float64)}
# Fresh variables start from values that differ from the saved ones everywhere.
CKPT_INIT = {"w": np.full(5, -7.5, np.float32), "step": np.array(-7, np.int64),
             "a": np.full((1, 2), -7.5, np.float32), "mask": np.array([False, True, False]),
             "d": np.full(2, -7.5, np.float64)}


class Different(Exception):
    """What loaded has another structure than the original (found by this harness)."""


class MutantTimeout(BaseException):
    pass


def flat(v):
    """A JSON-able image of ``v``: tensors and arrays by dtype, shape and bytes."""
    if isinstance(v, (tf.Tensor, tf.Variable)):
        v = v.numpy()
    if isinstance(v, (np.ndarray, np.generic)):
        a = np.asarray(v)
        return ["array", str(a.dtype), list(a.shape), a.tobytes().hex()]
    if isinstance(v, (list, tuple)):
        return [type(v).__name__, [flat(x) for x in v]]
    if isinstance(v, dict):
        return ["dict", [[repr(k), flat(x)] for k, x in sorted(v.items(), key=lambda kv: repr(kv[0]))]]
    return ["python", type(v).__name__, repr(v)[:200]]


def ckpt_objects(values):
    return {"w": tf.Variable(values["w"]), "step": tf.Variable(values["step"]),
            "nested": {"a": tf.Variable(values["a"])}, "mask": tf.Variable(values["mask"]),
            "d": tf.Variable(values["d"])}


def use_saved_model(path):
    r = tf.saved_model.load(path)
    f = getattr(r, "f", None)
    if not (callable(f) and hasattr(f, "concrete_functions")):
        raise Different(f"the attribute f is {f!r}")
    got = [f(tf.constant(X1), tf.constant(3)), f(tf.constant(X2), tf.constant(0))]
    for name in ("w", "b"):
        v = getattr(r, name, None)
        if not isinstance(v, tf.Variable):
            raise Different(f"the attribute {name} is {v!r}")
        got.append(v)
    return flat(got)


def use_checkpoint(prefix):
    objs = ckpt_objects(CKPT_INIT)
    tf.train.Checkpoint(**objs).restore(prefix).expect_partial()
    variables = {"w": objs["w"], "step": objs["step"], "a": objs["nested"]["a"],
                 "mask": objs["mask"], "d": objs["d"]}
    got = {}
    for k, v in variables.items():
        a = v.numpy()
        init = CKPT_INIT[k]
        unrestored = a.dtype == init.dtype and a.shape == init.shape and a.tobytes() == init.tobytes()
        got[k] = "unrestored" if unrestored else flat(a)
    return got


def use_keras(path):
    """Predicts, then trains one step (which reads the optimizer's restored state)."""
    m = tf.keras.models.load_model(path)
    got = [type(m).__name__, m.predict(XK, verbose=0), m.get_weights()]
    if getattr(m, "optimizer", None) is None:
        raise Different("the model is not compiled")
    m.fit(XK, YK, batch_size=len(XK), epochs=1, shuffle=False, verbose=0)
    opt_vars = m.optimizer.variables
    opt_vars = opt_vars() if callable(opt_vars) else opt_vars
    return flat(got + [m.get_weights(), list(opt_vars)])


USE = {"saved_model": use_saved_model, "checkpoint": use_checkpoint, "keras": use_keras}


def compare(fmt, got, ref):
    """(outcome, detail) of a mutant that loaded."""
    if fmt == "checkpoint":
        unrestored = [k for k in ref if got[k] == "unrestored"]
        changed = [k for k in ref if got[k] != "unrestored" and got[k] != ref[k]]
        if changed:
            return "different", f"restored other values for {changed}"
        if unrestored:
            return "partial", f"no value restored for {unrestored}"
        return "same", ""
    if got == ref:
        return "same", ""
    return "different", "the results or variables differ from the original's"


def where(e):
    tb = traceback.extract_tb(e.__traceback__)
    return [f"{os.path.basename(fr.filename)}:{fr.lineno} in {fr.name}" for fr in tb[-3:]]


def run_mutant(fmt, path, ref, limit, arm=None):
    """Loads and uses one mutant; returns its result as a dict."""
    t0 = time.monotonic()
    res = {}
    try:
        if arm:
            arm(limit)
        try:
            got = USE[fmt](path)
        finally:
            if arm:
                arm(0)
        res["outcome"], res["detail"] = compare(fmt, got, ref)
    except Different as e:
        res.update(outcome="different", detail=str(e)[:300])
    except MutantTimeout:
        res.update(outcome="timeout", detail=f"still running after {limit} s (alarm)")
    except BaseException as e:  # noqa: B036 - panics and exits are what this looks for
        res.update(outcome="error", cls=type(e).__name__, module=type(e).__module__,
                   exception=isinstance(e, Exception),
                   allowed=isinstance(e, ValueError) or type(e).__module__ == "rstf.errors",
                   message=str(e)[:400], where=where(e))
    res["secs"] = round(time.monotonic() - t0, 3)
    return res
'''

_CHILD = r'''
import gc
import hashlib
import json
import os
import resource
import signal
import stat
import sys
import tempfile

spec = json.load(open(sys.argv[1]))
_out = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)  # stray prints go to stderr; the protocol owns the old stdout


def emit(**kw):
    _out.write("@@FUZZ " + json.dumps(kw) + "\n")
    _out.flush()


resource.setrlimit(resource.RLIMIT_AS, (spec["memory"], spec["memory"]))
exec(compile(spec["library"], "fuzz_library", "exec"))


def snapshot(roots):
    state = {}
    for root in roots:
        for d, dirs, files in os.walk(root):
            for name in dirs + files:
                p = os.path.join(d, name)
                st = os.lstat(p)
                if stat.S_ISREG(st.st_mode):
                    with open(p, "rb") as f:
                        h = hashlib.sha1(f.read()).hexdigest()
                    state[p] = ("file", st.st_size, st.st_mtime_ns, st.st_mode, h)
                elif stat.S_ISLNK(st.st_mode):
                    state[p] = ("link", os.readlink(p))
                else:
                    state[p] = ("other", stat.S_IFMT(st.st_mode), st.st_mode)
    return state


def changes(before, after):
    return sorted([f"new {p}" for p in after.keys() - before.keys()]
                  + [f"removed {p}" for p in before.keys() - after.keys()]
                  + [f"changed {p}" for p in before.keys() & after.keys() if before[p] != after[p]])


def on_alarm(signum, frame):
    raise MutantTimeout()


def arm(seconds):
    signal.setitimer(signal.ITIMER_REAL, seconds)


signal.signal(signal.SIGALRM, on_alarm)
fmt = spec["format"]
try:
    ref = USE[fmt](spec["original"])
except BaseException as e:  # noqa: B036
    emit(event="fatal", message=f"the original does not load: {type(e).__name__}: {e}", where=where(e))
    sys.exit(2)
tf.saved_model.set_load_limits(max_value_bytes=spec["value_bytes"])
emit(event="ready")
for m in spec["mutants"]:
    os.chdir(m["cwd"])
    tempfile.tempdir = os.environ["TMPDIR"] = m["tmp"]
    before = snapshot(spec["watch"])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    emit(event="begin", i=m["i"])
    res = run_mutant(fmt, m["path"], ref, spec["limit"], arm)
    gc.collect()  # finalizers of what the mutant loaded run now, inside its directories
    res["touched"] = changes(before, snapshot(spec["watch"]))
    res["peak_rss_growth_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) // 1024
    emit(event="result", i=m["i"], **res)
    if res["outcome"] == "timeout" or (res["outcome"] == "error" and not res["exception"]):
        sys.exit(3)  # the process may be in a bad state: the parent starts another for the rest
emit(event="done")
'''

_BUILDER = r'''
import json
import sys

exec(compile(json.loads(sys.argv[1]), "fuzz_library", "exec"))
out = sys.argv[2]
tf.random.set_seed(1234)


class Counter(tf.Module):
    def __init__(self):
        self.w = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2) / 4 - 0.5)
        self.b = tf.Variable(np.array([0.5, -1.0], np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32), tf.TensorSpec([], tf.int32)])
    def f(self, x, n):
        i, acc = tf.while_loop(lambda i, a: i < n, lambda i, a: (i + 1, a + 1.5),
                               (tf.constant(0), tf.constant(0.25)))
        return tf.matmul(x, self.w) + self.b * acc, i


tf.saved_model.save(Counter(), os.path.join(out, "sm"))
tf.train.Checkpoint(**ckpt_objects(CKPT_SAVED)).write(os.path.join(out, "c"))
model = tf.keras.Sequential([tf.keras.layers.Dense(4, activation="relu"), tf.keras.layers.Dense(2)])
model.compile(optimizer="adam", loss="mse")
model.fit(XK, YK, epochs=1, batch_size=2, shuffle=False, verbose=0)
model.save(os.path.join(out, "raw.keras"))
'''

# -- the originals ---------------------------------------------------------------------------------


def _zip(members) -> bytes:
    """A zip of ``{name: bytes}`` stored as rstf stores it, with fixed dates (the same bytes on
    every run, so that a mutant replays exactly)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def _read(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _unzip(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def build_originals(out: str) -> dict:
    """Writes the originals under ``out`` (in a child process, so that this process's random
    seed and state stay untouched) and returns their paths."""
    os.makedirs(out, exist_ok=True)
    r = subprocess.run([sys.executable, "-I", "-c", _BUILDER, json.dumps(_LIBRARY), out],
                       capture_output=True, text=True, timeout=300, cwd=out)
    assert r.returncode == 0, f"building the originals failed:\n{r.stdout}\n{r.stderr}"
    raw = os.path.join(out, "raw.keras")
    with open(os.path.join(out, "m.keras"), "wb") as f:
        f.write(_zip(_unzip(_read(raw))))
    os.remove(raw)
    return {"saved_model": os.path.join(out, "sm"), "checkpoint": os.path.join(out, "c"),
            "keras": os.path.join(out, "m.keras")}


def _read_original(fmt, path) -> dict:
    """The original's files as ``{name: bytes}`` (a saved model's three files)."""
    if fmt == "saved_model":
        return {n: _read(os.path.join(path, n)) for n in sorted(os.listdir(path))}
    if fmt == "checkpoint":
        return {"c.safetensors": _read(path + ".safetensors")}
    return {"m.keras": _read(path)}


# -- mutations -------------------------------------------------------------------------------------

_NUMBERS = [0, -1, 1, 2, 3, 7, 255, 256, 1009, 65536, 2**26, 10**8, 2**31 - 1, 2**31, 2**32, 2**53 + 1, 2**62,
            2**63 - 1, 2**63, 2**64, -2**31, -2**63, 10**30, -10**30, 1e308, -1e308, 0.5, -0.0, 1e-310]
_STRINGS = ["", "../x", "../../sentinel/pwned", "{SENTINEL}/pwned", "/dev/zero", "subprocess",
            "subprocess.Popen", "os.system", "builtins", "__import__", "eval", "__lambda__", "Popen",
            "x" * 300, "\x00", "\u00e9", "float64", "int8", "bool", "uint8", "F16", "BF16", "BOOL", "I64",
            "nan", "inf", "-inf", "1e999", "None", "{}", "[]", "Sequential", "Dense", "Model",
            "rstf.keras.layers", "keras.src", "relu", "softmax", "mse", "Adam", "ReadVariable", "While",
            "Const", "00000000", "ffffffff", "rstf.checkpoint", "rstf.saved_model", "rstf.keras.weights"]
_TYPES = [None, True, False, 0, -1, "x", [], {}, [0], [[0]], {"a": 1}, [None], 1.5]


def _short(v, n=70) -> str:
    s = json.dumps(v) if not isinstance(v, str) else repr(v)
    return s if len(s) <= n else s[:n - 3] + "..."


def _paths(doc, prefix=()):
    """Every (path, value) below the root of a JSON document."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for k, v in items:
        yield prefix + (k,), v
        yield from _paths(v, prefix + (k,))


def _mutate_json(doc, rng, sentinel) -> list:
    """Applies 1-3 structured edits to ``doc`` in place; returns their descriptions."""
    done = []
    for _ in range(1 if rng.random() < 0.7 else rng.randint(2, 3)):
        paths = list(_paths(doc))
        if not paths:
            break
        path, value = rng.choice(paths)
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        key = path[-1]
        r = rng.random()
        if r < 0.08:
            del parent[key]
            done.append(f"drop {list(path)}")
            continue
        if r < 0.30:
            # Mostly a value of the same type found elsewhere in the document (another index, op
            # or shape), which passes the parser and reaches the validators.
            others = [v for p, v in paths if p[:len(path)] != path and path[:len(p)] != p]
            alike = [v for v in others if type(v) is type(value)]
            pool = alike if alike and rng.random() < 0.75 else others
            new = rng.choice(pool) if pool else None
            how = "swap in another value"
        elif r < 0.36:
            new, how = rng.choice(_TYPES), "change the type"
        elif isinstance(value, bool):
            new, how = rng.choice([not value, 0, 1, "true"]), "change the bool"
        elif isinstance(value, (int, float)):
            if isinstance(value, int) and rng.random() < 0.5:
                # Small changes keep indices and sizes plausible: they reach the deeper checks.
                new = rng.choice([value + 1, value - 1, value * 2, -value, value + 2**32, rng.randrange(16)])
            else:
                new = rng.choice(_NUMBERS)
            how = "change the number"
        elif isinstance(value, str):
            candidates = [s.replace("{SENTINEL}", sentinel) for s in _STRINGS]
            candidates += [value + value, value[:-1], value.upper(), value + "/../x"]
            new, how = rng.choice(candidates), "change the string"
        elif isinstance(value, list):
            choice = rng.randrange(5)
            if choice == 0 or not value:
                new, how = [], "empty the list"
            elif choice == 1:
                new = list(value)
                del new[rng.randrange(len(new))]
                how = "drop an element"
            elif choice == 2:
                new = list(value)
                new.insert(rng.randrange(len(new) + 1), rng.choice(value))
                how = "duplicate an element"
            elif choice == 3:
                new, how = value[::-1], "reverse the list"
            else:
                new, how = value + [rng.choice(_TYPES)], "append an element"
        elif isinstance(value, dict):
            if value and rng.random() < 0.6:
                new = dict(value)
                del new[rng.choice(sorted(new))]
                how = "drop a key"
            else:
                new = dict(value, zz_unknown=rng.choice(_TYPES))
                how = "add a key"
        else:
            new, how = rng.choice(_TYPES), "replace null"
        parent[key] = new
        done.append(f"{how} at {list(path)}: {_short(value)} -> {_short(new)}")
    return done


_UNARY = ["Neg", "Abs", "Sign", "Square", "Exp", "Log", "Sqrt", "Rsqrt", "Reciprocal", "Tanh", "Sigmoid",
          "Erf", "Round", "Floor", "Relu", "LogicalNot"]
_BINARY = ["Add", "Sub", "Mul", "Div", "FloorDiv", "FloorMod", "Pow", "Maximum", "Minimum", "Equal", "Less",
           "LogicalAnd"]
_DTYPES = ["float16", "bfloat16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool"]


def _graph_op(rng):
    """A node kind of a saved graph (``docs/FORMAT.md``) with drawn attributes."""
    def n():  # a size or an axis: mostly small, sometimes huge or negative
        return rng.choice([0, 1, 2, 3, -1, -2, rng.randrange(8), 1009, 2**20, 2**31, 2**40, 2**62, -2**62])

    def ns():
        return [n() for _ in range(rng.randrange(4))]

    def window():
        return {"size": [n(), n()], "strides": [n(), n()], "dilations": [n(), n()],
                "same": rng.random() < 0.5}

    def items():
        return [rng.choice([{"Index": n()}, "NewAxis", "Ellipsis",
                            {"Range": {"start": rng.choice([None, n()]), "stop": rng.choice([None, n()]),
                                       "step": n()}}]) for _ in range(rng.randrange(4))]

    op = rng.choice([
        lambda: "Select", lambda: "Softplus", lambda: "ReluGrad", lambda: "Identity", lambda: "StopGradient",
        lambda: "MaxPoolPatches", lambda: {"Unary": rng.choice(_UNARY)},
        lambda: {"Binary": rng.choice(_BINARY)},
        lambda: {"Cast": rng.choice(_DTYPES)},
        lambda: {"Reduce": {"op": rng.choice(["Sum", "Prod", "Max", "Min", "Any", "All"]),
                            "axes": rng.choice([None, ns()]), "keepdims": rng.random() < 0.5}},
        lambda: {"ArgReduce": {"axis": n(), "max": True}},
        lambda: {"Count": {"axes": rng.choice([None, ns()]), "dtype": rng.choice(_DTYPES)}},
        lambda: {"MatMul": {"transpose_a": rng.random() < 0.5, "transpose_b": rng.random() < 0.5}},
        lambda: {"Softmax": {"axis": n(), "log": rng.random() < 0.5}}, lambda: {"Transpose": ns()},
        lambda: {"Reshape": ns()}, lambda: {"ExpandDims": n()}, lambda: {"Squeeze": ns()},
        lambda: {"BroadcastTo": ns()}, lambda: {"Reverse": ns()}, lambda: {"Slice": items()},
        lambda: {"SliceGrad": {"shape": ns(), "items": items()}}, lambda: {"Concat": n()},
        lambda: {"Unstack": n()}, lambda: {"Split": {"sizes": ns(), "axis": n()}}, lambda: {"Tile": ns()},
        lambda: {"Pad": [[n(), n()] for _ in range(rng.randrange(3))]}, lambda: {"Gather": n()},
        lambda: {"GatherGrad": {"shape": ns(), "axis": n()}}, lambda: {"Fill": ns()},
        lambda: {"OneHot": n()}, lambda: {"Im2Col": {"window": window(), "pad_value": 0.0}},
        lambda: {"Col2Im": {"window": window(), "shape": ns()}},
        lambda: {"Random": {"normal": rng.random() < 0.5, "shape": ns(), "a": 0.0, "b": 1.0,
                            "dtype": rng.choice(_DTYPES), "seed": 7}},
    ])()
    return rng.choice([{"Op": op}] * 6 + [{"Const": n()}, {"ReadVariable": n()},
                                          {"Assign": [n(), rng.choice(["Set", "Add", "Sub"])]}])


def _mutate_op(doc, rng) -> str:
    """Replaces the op of a node (of a function's graph or of a loop's) by another one."""
    nodes = [(p, v) for p, v in _paths(doc) if isinstance(v, dict) and "op" in v and "inputs" in v]
    path, node = rng.choice(nodes)
    old, node["op"] = node["op"], _graph_op(rng)
    return f"replace the op at {list(path)}: {_short(old)} -> {_short(node['op'], 200)}"


def _mutate_bytes(data: bytes, rng, kind=None):
    """Truncation, 1-8 bit flips or a byte-range overwrite; returns (bytes, description)."""
    n = len(data)
    kind = kind or rng.choice(["truncate", "flip", "flip", "overwrite"])
    if kind == "truncate" or n == 0:
        r = rng.random()
        size = rng.randrange(min(n, 64)) if r < 0.3 else n - 1 - rng.randrange(min(n, 16)) if r < 0.5 \
            else rng.randrange(max(n, 1))
        size = max(0, min(size, n - 1))
        return data[:size], f"truncate to {size} of {n} bytes"
    out = bytearray(data)
    if kind == "flip":
        flips = sorted((rng.randrange(n), rng.randrange(8)) for _ in range(rng.randint(1, 8)))
        for pos, bit in flips:
            out[pos] ^= 1 << bit
        return bytes(out), "flip bits " + ", ".join(f"{p}:{b}" for p, b in flips) + f" of {n} bytes"
    start = rng.randrange(n)
    length = rng.randint(1, min(64, n - start))
    fill = rng.choice(["random", "zeros", "ones", "digits", "spaces"])
    new = {"random": bytes(rng.randrange(256) for _ in range(length)), "zeros": b"\0" * length,
           "ones": b"\xff" * length, "digits": b"9" * length, "spaces": b" " * length}[fill]
    out[start:start + length] = new
    return bytes(out), f"overwrite bytes {start}..{start + length} of {n} with {fill} ({new[:16].hex()}...)"


def _st_split(data: bytes):
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + n]), data[8 + n:]


def _st_join(header, rest: bytes) -> bytes:
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + rest


def _mutate_header(data: bytes, rng, sentinel):
    """A structured edit of a safetensors file's JSON header (the header length kept right)."""
    header, rest = _st_split(data)
    edits = _mutate_json(header, rng, sentinel)
    return _st_join(header, rest), "header: " + "; ".join(edits)


def _sign(d: str, text: bytes) -> None:
    """Writes ``saved_model.json`` with ``text`` and records its checksum, as someone crafting a
    file would (imported here: children of this file do not load the test helpers)."""
    from helpers import sign_saved_model

    sign_saved_model(d, text)


def make_mutant(fmt, files, seed, i, dest, sentinel):
    """Writes mutant ``i`` of ``fmt`` under ``dest``; returns (artifact path, description,
    whether it may load with other values than the original)."""
    from helpers import edit_saved_model

    rng = random.Random(f"{seed}:{fmt}:{i}")
    files = dict(files)
    r = rng.random()
    if fmt == "saved_model":
        art = os.path.join(dest, "sm")
        os.makedirs(art)
        names = sorted(files)
        if r < 0.40:
            name = rng.choice(names)
            files[name], what = _mutate_bytes(files[name], rng)
            desc, may_differ = f"{name}: {what}", False
        elif r < 0.50:
            name = rng.choice(["variables.safetensors", "constants.safetensors"])
            files[name], what = _mutate_header(files[name], rng, sentinel)
            desc, may_differ = f"{name} {what}", True
        for name, data in files.items():
            with open(os.path.join(art, name), "wb") as f:
                f.write(data)
        if r >= 0.92:
            text, what = _mutate_bytes(files["saved_model.json"], rng)
            _sign(art, text)
            desc, may_differ = f"saved_model.json re-signed: {what}", True
        elif r >= 0.75:
            edits = []
            edit_saved_model(art, lambda doc: edits.append(_mutate_op(doc, rng)))
            desc, may_differ = "saved_model.json re-signed: " + edits[0], True
        elif r >= 0.50:
            edits = []
            edit_saved_model(art, lambda doc: edits.extend(_mutate_json(doc, rng, sentinel)))
            desc, may_differ = "saved_model.json re-signed: " + "; ".join(edits), True
        return art, desc, may_differ
    if fmt == "checkpoint":
        data = files["c.safetensors"]
        if r < 0.7:
            data, what = _mutate_bytes(data, rng)
            desc, may_differ = f"c.safetensors: {what}", False
        else:
            data, what = _mutate_header(data, rng, sentinel)
            desc, may_differ = f"c.safetensors {what}", True
        with open(os.path.join(dest, "c.safetensors"), "wb") as f:
            f.write(data)
        return os.path.join(dest, "c"), desc, may_differ
    data = files["m.keras"]
    if r < 0.25:
        data, what = _mutate_bytes(data, rng)
        desc, may_differ = f"m.keras (the zip): {what}", False
    else:
        members = _unzip(data)
        if r < 0.40:
            members["config.json"], what = _mutate_bytes(members["config.json"], rng)
            desc, may_differ = f"m.keras member config.json (zip rebuilt): {what}", True
        elif r < 0.60:
            name = "model.weights.safetensors"
            members[name], what = _mutate_bytes(members[name], rng)
            desc, may_differ = f"m.keras member {name} (zip rebuilt): {what}", False
        elif r < 0.90:
            doc = json.loads(members["config.json"])
            edits = _mutate_json(doc, rng, sentinel)
            members["config.json"] = json.dumps(doc).encode()
            desc, may_differ = "m.keras member config.json (zip rebuilt): " + "; ".join(edits), True
        else:
            name = "model.weights.safetensors"
            members[name], what = _mutate_header(members[name], rng, sentinel)
            desc, may_differ = f"m.keras member {name} (zip rebuilt) {what}", True
        data = _zip(members)
    path = os.path.join(dest, "m.keras")
    with open(path, "wb") as f:
        f.write(data)
    return path, desc, may_differ


# -- running a batch of mutants in a child ---------------------------------------------------------

def _snapshot(roots) -> dict:
    state = {}
    for root in roots:
        for d, dirs, names in os.walk(root):
            for name in dirs + names:
                p = os.path.join(d, name)
                st = os.lstat(p)
                digest = None
                if stat.S_ISREG(st.st_mode):
                    with open(p, "rb") as f:
                        digest = hashlib.sha1(f.read()).hexdigest()
                state[p] = (stat.S_IFMT(st.st_mode), st.st_size, digest)
    return state


def _reader(stream, q):
    for line in stream:
        if line.startswith("@@FUZZ "):
            q.put(json.loads(line[len("@@FUZZ "):]))
    q.put(None)


def _tail(f, n=3000) -> str:
    f.seek(0)
    return f.read().decode(errors="replace")[-n:]


def run_children(fmt, original, batch_dir, mutants, watch) -> dict:
    """Loads ``mutants`` (dicts with ``i``, ``path``, ``cwd``, ``tmp``) in child processes;
    returns ``{i: result}``. A child that hangs or dies is replaced by a new one for the mutants
    left, the mutant it was on recorded as ``hang`` or ``crash``."""
    results: dict = {}
    spec_path = os.path.join(os.path.dirname(batch_dir), os.path.basename(batch_dir) + ".json")
    env = dict(os.environ, HOME=os.path.join(batch_dir, "home"), TMPDIR=os.path.join(batch_dir, "tmp"))
    while True:
        pending = [m for m in mutants if m["i"] not in results]
        if not pending:
            return results
        with open(spec_path, "w") as f:
            json.dump({"format": fmt, "original": original, "mutants": pending, "watch": watch,
                       "limit": MUTANT_SECONDS, "memory": MEMORY_LIMIT, "value_bytes": LOAD_VALUE_BYTES,
                       "library": _LIBRARY}, f)
        stderr = tempfile.TemporaryFile()
        proc = subprocess.Popen([sys.executable, "-I", "-c", _CHILD, spec_path], cwd=batch_dir, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, text=True)
        q: queue.Queue = queue.Queue()
        threading.Thread(target=_reader, args=(proc.stdout, q), daemon=True).start()
        current, deadline, progress = None, time.monotonic() + STARTUP_SECONDS, False
        while True:
            try:
                msg = q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                proc.kill()
                proc.wait()
                if current is None:
                    raise AssertionError(f"{fmt}: a child did not start in {STARTUP_SECONDS} s:\n"
                                         f"{_tail(stderr)}") from None
                results[current] = {"outcome": "hang", "detail": f"killed after {MUTANT_SECONDS} s "
                                    f"+ {WATCHDOG_GRACE} s (the alarm did not stop it)",
                                    "secs": MUTANT_SECONDS + WATCHDOG_GRACE, "touched": []}
                progress = True
                break
            if msg is None:  # the child's output ended
                rc = proc.wait()
                if current is not None:
                    results[current] = {"outcome": "crash", "detail": f"exit status {rc}:\n{_tail(stderr)}",
                                        "secs": None, "touched": []}
                    progress = True
                elif rc not in (0, 3):
                    raise AssertionError(f"{fmt}: a child exited with {rc}:\n{_tail(stderr)}")
                break
            if msg["event"] == "fatal":
                proc.wait()
                raise AssertionError(f"{fmt}: {msg['message']} at {msg['where']}\n{_tail(stderr)}")
            if msg["event"] == "begin":
                current, deadline = msg["i"], time.monotonic() + MUTANT_SECONDS + WATCHDOG_GRACE
            elif msg["event"] == "result":
                results[msg["i"]] = msg
                current, deadline, progress = None, time.monotonic() + STARTUP_SECONDS, True
        stderr.close()
        assert progress, f"{fmt}: a child ended without loading any mutant"


# -- judging ---------------------------------------------------------------------------------------

def problems(res, may_differ) -> list:
    """What is wrong with one mutant's result (nothing for a good one)."""
    out = []
    outcome = res["outcome"]
    if outcome in ("hang", "crash", "timeout"):
        out.append(f"{outcome}: {res['detail']}")
    elif outcome == "error":
        if not res["exception"]:
            out.append(f"raised {res['module']}.{res['cls']}, a BaseException that is not an Exception")
        elif not res["allowed"]:
            out.append(f"raised {res['module']}.{res['cls']}, not {ALLOWED}")
    elif outcome == "different" and not may_differ:
        out.append(f"a damaged file loaded with other values ({res['detail']})")
    if res.get("secs") is not None and res["secs"] > MUTANT_SECONDS:
        out.append(f"took {res['secs']} s, more than {MUTANT_SECONDS} s")
    if res.get("peak_rss_growth_mb", 0) > MEMORY_GROWTH_MB:
        out.append(f"raised the peak memory by {res['peak_rss_growth_mb']} MB (more than {MEMORY_GROWTH_MB})")
    if res.get("touched"):
        out.append(f"touched files outside its temporary directories: {res['touched'][:5]}")
    return out


def _signature(fmt, res, why) -> str:
    """Groups failures by their first problem and, for errors, the line that raised them."""
    if res["outcome"] == "error":
        return f"{fmt}: {why[0]} at {(res.get('where') or ['?'])[-1]}"
    return f"{fmt}: {why[0][:60]}"


def replay_command(fmt, i) -> str:
    return f"cd tests && ../.venv/bin/python test_fuzz_loaders.py {fmt} {i} --seed {SEED}"


# -- the tests -------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def originals(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("fuzz-originals"))
    paths = build_originals(out)
    return out, paths


@pytest.mark.parametrize("fmt", FORMATS)
def test_fuzz_loader(fmt, originals, tmp_path):
    print(f"\nRSTF_FUZZ_SEED={SEED} RSTF_FUZZ_SECONDS={BUDGET} format={fmt}")
    orig_dir, paths = originals
    files = _read_original(fmt, paths[fmt])
    budget = BUDGET / len(FORMATS)
    start = time.monotonic()
    failures: dict = collections.defaultdict(list)
    outcomes: collections.Counter = collections.Counter()
    errors: collections.Counter = collections.Counter()
    slowest = (0.0, None)
    biggest = (0, None)
    n, batch_no, last = 0, 0, 0.0
    while n == 0 or time.monotonic() - start + last < budget:
        t0 = time.monotonic()
        batch_dir = str(tmp_path / f"batch{batch_no}")
        sentinel = os.path.join(batch_dir, "sentinel")
        for d in ("sentinel", "home", "tmp"):
            os.makedirs(os.path.join(batch_dir, d))
        with open(os.path.join(sentinel, "keep.txt"), "w") as f:
            f.write("this file must stay as it is\n")
        mutants, info = [], {}
        for i in range(n, n + BATCH):
            dest = os.path.join(batch_dir, f"m{i}")
            os.makedirs(os.path.join(dest, "cwd"))
            os.makedirs(os.path.join(dest, "tmp"))
            path, desc, may_differ = make_mutant(fmt, files, SEED, i, dest, sentinel)
            mutants.append({"i": i, "path": path, "cwd": os.path.join(dest, "cwd"),
                            "tmp": os.path.join(dest, "tmp")})
            info[i] = (desc, may_differ)
        watch = [batch_dir, orig_dir]
        before = _snapshot(watch)
        results = run_children(fmt, paths[fmt], batch_dir, mutants, watch)
        after = _snapshot(watch)
        stray = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
        bad_batch = False
        for i in sorted(results):
            res = results[i]
            desc, may_differ = info[i]
            outcomes[res["outcome"]] += 1
            if res["outcome"] == "error":
                errors[f"{res['module']}.{res['cls']}"] += 1
            if res.get("secs") and res["secs"] > slowest[0]:
                slowest = (res["secs"], i)
            if res.get("peak_rss_growth_mb", 0) > biggest[0]:
                biggest = (res["peak_rss_growth_mb"], i)
            why = problems(res, may_differ)
            if VERBOSE:
                print(f"#{i} {desc}\n    {res['outcome']} {res.get('cls', '')} "
                      f"{(res.get('message') or res.get('detail') or '')[:150]!r}")
            if why:
                bad_batch = True
                failures[_signature(fmt, res, why)].append((i, desc, why, res))
        if stray and not any(res.get("touched") for res in results.values()):
            bad_batch = True
            failures[f"{fmt}: files changed outside the mutants' windows"].append(
                (mutants[0]["i"], f"batch {batch_no} (mutants {n}..{n + BATCH - 1})",
                 [f"changed outside any mutant: {stray[:5]}"], {}))
        if not bad_batch:
            shutil.rmtree(batch_dir)
        n += BATCH
        batch_no += 1
        last = time.monotonic() - t0
    took = time.monotonic() - start
    print(f"{fmt}: {n} mutants in {took:.1f} s; outcomes {dict(outcomes)}; errors {dict(errors)}; "
          f"slowest #{slowest[1]} {slowest[0]} s; largest peak-RSS growth #{biggest[1]} {biggest[0]} MB")
    if failures:
        lines = [f"{sum(len(v) for v in failures.values())} of {n} {fmt} mutants failed, in "
                 f"{len(failures)} groups (RSTF_FUZZ_SEED={SEED}); mutants kept under {tmp_path}"]
        for sig, items in sorted(failures.items(), key=lambda kv: -len(kv[1])):
            lines.append(f"\n== {len(items)} x {sig}")
            for i, desc, why, res in items[:3]:
                lines.append(f"  #{i}: {desc}")
                lines.append(f"    -> {'; '.join(why)}")
                if res.get("outcome") == "error":
                    lines.append(f"    {res['module']}.{res['cls']}: {res['message'][:300]}")
                    lines.append(f"    at {res['where']}")
                lines.append(f"    replay: {replay_command(fmt, i)}")
        pytest.fail("\n".join(lines), pytrace=False)


# -- replaying one mutant --------------------------------------------------------------------------

def _replay(argv) -> int:
    import argparse

    p = argparse.ArgumentParser(description="Loads one mutant in this process and shows what happens.")
    p.add_argument("format", choices=FORMATS)
    p.add_argument("index", type=int)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--keep", help="a directory to keep the originals and the mutant in (else removed)")
    args = p.parse_args(argv)
    if args.keep:
        return _replay_in(args, args.keep)
    with tempfile.TemporaryDirectory(prefix="rstf-fuzz-replay-") as base:
        return _replay_in(args, base)


def _replay_in(args, base) -> int:
    import traceback

    paths = build_originals(os.path.join(base, "original"))
    dest = os.path.join(base, f"mutant-{args.format}-{args.index}")
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    sentinel = os.path.join(base, "sentinel")
    os.makedirs(sentinel, exist_ok=True)
    path, desc, may_differ = make_mutant(args.format, _read_original(args.format, paths[args.format]),
                                         args.seed, args.index, dest, sentinel)
    print(f"seed {args.seed}, {args.format} mutant #{args.index}: {desc}\nat {path}")
    ns: dict = {}
    exec(compile(_LIBRARY, "fuzz_library", "exec"), ns)
    ns["tf"].saved_model.set_load_limits(max_value_bytes=LOAD_VALUE_BYTES)
    ref = ns["USE"][args.format](paths[args.format])
    try:
        got = ns["USE"][args.format](path)
    except ns["Different"] as e:
        print(("different", str(e)), "(may differ)" if may_differ else "")
        return 0
    except BaseException:  # noqa: B036
        traceback.print_exc()
        return 1
    print(ns["compare"](args.format, got, ref), "(may differ)" if may_differ else "")
    return 0


if __name__ == "__main__":
    sys.exit(_replay(sys.argv[1:]))
