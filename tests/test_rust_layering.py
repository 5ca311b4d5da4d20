"""The module structure of the Rust crate (``rust/``): each module refers (``use crate::...`` or
a ``crate::`` path) only to modules of its own layer or lower ones, in the order written in
ARCHITECTURE.md ("Rust module layers"). The references that still go up are listed there
("Upward references still to remove"); a new one fails this test, and so does a listed one
that is gone (so the list only shrinks).

The references are read from the source text: comments are dropped, ``use`` trees are
expanded, and a name a module re-exports (``pub use op::Op`` in ``graph/mod.rs``, or
``Tensor`` at the crate root) counts as the module that defines it.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CRATE = REPO / "rust"
ARCHITECTURE = REPO / "ARCHITECTURE.md"
LAYERS = "## Rust module layers"
UPWARD = "### Upward references still to remove"


def crate_modules() -> dict:
    """``{module: source text without comments}``: ``rust/a/b.rs`` is ``a/b``, ``rust/a/mod.rs``
    is ``a``, ``rust/lib.rs`` is ``lib``."""
    mods = {}
    for path in sorted(CRATE.rglob("*.rs")):
        rel = path.relative_to(CRATE).with_suffix("").as_posix()
        if rel.endswith("/mod"):
            rel = rel[: -len("/mod")]
        text = re.sub(r"//[^\n]*", "", path.read_text())
        mods[rel] = text
    return mods


def _use_paths(tree: str) -> list:
    """The paths of a ``use`` tree (``a::{b, c::d}`` -> ``a::b``, ``a::c::d``)."""
    tree = tree.strip()
    if "{" not in tree:
        return [tree.split(" as ")[0].strip()]
    head, _, rest = tree.partition("{")
    body = rest[: rest.rindex("}")]
    items, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    items.append(cur)
    out = []
    for item in items:
        if item.strip():
            out += [head + p for p in _use_paths(item)]
    return out


def _reexports(mods: dict) -> dict:
    """``{(module, name): defining module}`` from ``pub use`` lines and exported macros."""
    table = {}
    for mod, text in mods.items():
        here = "" if mod == "lib" else mod + "/"
        for m in re.finditer(r"pub use ([^;]+);", text):
            for p in _use_paths(m.group(1)):
                parts = [s for s in p.replace("crate::", "").replace("self::", "").split("::") if s]
                if len(parts) >= 2:
                    table[(mod, parts[-1])] = here + parts[0] if here + parts[0] in mods else parts[0]
        for m in re.finditer(r"#\[macro_export\]\s*macro_rules!\s*(\w+)", text):
            table[("lib", m.group(1))] = mod
    return table


def _resolve(path: str, mods: dict, reexports: dict) -> str | None:
    parts = [p for p in path.split("::") if p and p != "self"]
    best, k = None, 0
    for i in range(len(parts), 0, -1):
        cand = "/".join(parts[:i])
        if cand in mods:
            best, k = cand, i
            break
    if best is None:
        best, k = "lib", 0
    while k < len(parts):
        nxt = reexports.get((best, parts[k].rstrip("!")))
        if nxt is None or nxt == best or nxt not in mods:
            break
        best, k = nxt, k + 1
        while k < len(parts) and f"{best}/{parts[k]}" in mods:
            best, k = f"{best}/{parts[k]}", k + 1
    return None if best == "lib" else best


def references(mods: dict) -> set:
    """``{(module, referenced module)}`` over the crate."""
    reexports = _reexports(mods)
    refs = set()
    for mod, text in mods.items():
        paths = []
        for m in re.finditer(r"\buse crate::([^;]+);", text, re.S):
            paths += _use_paths(m.group(1))
        paths += re.findall(r"crate::((?:\w+::)*\w+!?)", text)
        for p in paths:
            target = _resolve(p, mods, reexports)
            if target and target != mod and not mod.startswith(target + "/"):
                refs.add((mod, target))
    return refs


def documented_layers() -> tuple:
    """``(patterns per layer, upward references listed)`` from ARCHITECTURE.md."""
    text = ARCHITECTURE.read_text()
    section = text.split(LAYERS, 1)[1].split("\n## ", 1)[0]
    listing, _, rest = section.partition(UPWARD)
    layers = [re.findall(r"`([^`]+)`", line) for line in listing.splitlines()
              if re.match(r"\d+\. ", line)]
    upward = set(re.findall(r"^- `([^`]+)` → `([^`]+)`", rest, re.M))
    return layers, upward


def layer_of(mod: str, layers: list) -> int | None:
    for i, patterns in enumerate(layers):
        for p in patterns:
            if p == mod or (p.endswith("/*") and (mod == p[:-2] or mod.startswith(p[:-1]))):
                return i
    return None


def test_every_module_has_a_layer():
    layers, _ = documented_layers()
    missing = [m for m in crate_modules() if layer_of(m, layers) is None]
    assert not missing, f"add these modules to ARCHITECTURE.md's '{LAYERS}': {missing}"


def test_references_go_down_except_the_listed_ones():
    layers, listed = documented_layers()
    mods = crate_modules()
    up = {(a, b) for a, b in references(mods)
          if (layer_of(b, layers) or 0) > (layer_of(a, layers) or 0)}
    new = sorted(up - listed)
    gone = sorted(listed - up)
    assert not new, ("references to a higher layer (ARCHITECTURE.md, '" + LAYERS + "'): "
                     + ", ".join(f"{a} → {b}" for a, b in new))
    assert not gone, ("listed as upward but no longer there: remove from ARCHITECTURE.md: "
                      + ", ".join(f"{a} → {b}" for a, b in gone))


def test_the_reader_sees_references():
    # The parser itself: a use tree, a re-exported name and a path in an expression.
    assert _use_paths("graph::{trace, Op as O, fuse::{Arg}}") == [
        "graph::trace", "graph::Op", "graph::fuse::Arg"]
    mods = {"lib": "pub use tensor::Tensor;", "tensor": "", "graph": "pub use op::Op;",
            "graph/op": "", "ops": "use crate::graph::Op; fn f() { crate::Tensor::new(); }"}
    assert references(mods) == {("ops", "graph/op"), ("ops", "tensor")}
