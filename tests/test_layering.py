"""The import structure of ``python/rstf``: the imports made at the top of its modules form no
cycle and follow the layer order written in ARCHITECTURE.md ("Python package layers"); an
import made inside a function may go up a layer only where that section lists it.

The imports are read from the source with ``ast`` (no module is imported). An import at module
level (in an ``if``, ``try`` or class body too) runs when the module is imported; one inside a
function runs when it is called. ``if TYPE_CHECKING:`` blocks are skipped.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "python" / "rstf"
ARCHITECTURE = REPO / "ARCHITECTURE.md"
SECTION = "## Python package layers"


class Import(NamedTuple):
    source: str  # the importing module
    target: str  # the imported module of the package
    path: Path
    shown: str  # the path in messages: from the repository's root, else from the package's parent
    line: int
    lazy: bool  # inside a function

    def where(self) -> str:
        text = self.path.read_text().splitlines()[self.line - 1].strip()
        return f"{self.shown}:{self.line}: `{text}`"


def package_modules(root: Path) -> dict:
    """``{module name: file}`` for the package at ``root``: its ``.py`` files, and extension
    modules (a ``.pyi`` stub or a compiled ``.so``/``.pyd``) as files without source."""
    modules = {}
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        parts = list(path.relative_to(root.parent).parts)
        stem = parts[-1].split(".")[0]
        if path.suffix == ".py":
            parts = parts[:-1] if stem == "__init__" else parts[:-1] + [stem]
            modules[".".join(parts)] = path
        elif path.suffix in (".pyi", ".so", ".pyd"):
            modules.setdefault(".".join(parts[:-1] + [stem]), None)
    return modules


def _resolve(modules: dict, name: str) -> str | None:
    """The package module ``name`` names, or the nearest package module above it."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _targets(modules: dict, root: str, module: str, is_package: bool, node) -> list:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[:len(base) - node.level + 1]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        # `from . import x` names a submodule when one exists, else a name of the package.
        names = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in modules else prefix for a in node.names]
    found = []
    for name in names:
        if name == root or name.startswith(root + "."):
            target = _resolve(modules, name)
            if target is not None and target != module and target not in found:
                found.append(target)
    return found


def _is_type_checking(node) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def package_imports(root: Path) -> list:
    """Every import of a module of the package by another, as :class:`Import`."""
    modules = package_modules(root)
    imports = []
    for module, path in modules.items():
        if path is None:
            continue
        is_package = path.name == "__init__.py"
        shown = str(path.relative_to(REPO if path.is_relative_to(REPO) else root.parent))
        found = []
        todo = [(node, False) for node in ast.parse(path.read_text(), str(path)).body]
        while todo:
            node, lazy = todo.pop()
            if _is_type_checking(node):
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(modules, root.name, module, is_package, node):
                    found.append(Import(module, target, path, shown, node.lineno, lazy))
            inner = lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            todo.extend((child, inner) for child in ast.iter_child_nodes(node))
        imports += sorted(found, key=lambda imp: (imp.line, imp.target))
    return imports


def find_cycles(imports: list) -> list:
    """The cycles among ``imports``: one list of :class:`Import` edges per strongly connected
    component of more than one module (a shortest cycle through its first module)."""
    graph: dict = {}
    for imp in imports:
        graph.setdefault(imp.source, {}).setdefault(imp.target, imp)
        graph.setdefault(imp.target, {})
    index: dict = {}
    low: dict = {}
    stack: list = []
    on_stack: set = set()
    components = []
    counter = iter(range(len(graph) + 1))

    def connect(v):  # Tarjan's algorithm; the graph is a few dozen modules deep at most
        index[v] = low[v] = next(counter)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    cycles = []
    for component in components:
        start = min(component)
        paths = {start: []}
        queue = [start]
        while queue:  # breadth first inside the component, back to start
            v = queue.pop(0)
            for w, imp in sorted(graph[v].items()):
                if w == start:
                    cycles.append(paths[v] + [imp])
                    queue = []
                    break
                if w in component and w not in paths:
                    paths[w] = paths[v] + [imp]
                    queue.append(w)
    return cycles


class Layers(NamedTuple):
    rank: dict  # module name -> layer number (1 is the lowest)
    exceptions: set  # (source, target) of the call-time imports allowed to go up


def read_layers(text: str, root: str = "rstf") -> Layers:
    """The layers and the listed call-time exceptions of ARCHITECTURE.md's section."""
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start:end if end >= 0 else len(text)]

    def full(name):
        return root if name == root else f"{root}.{name}"

    rank = {}
    for line in section.splitlines():
        m = re.match(r"(\d+)\. (.*)", line)
        if m:
            for name in re.findall(r"`([\w.]+)`", m.group(2)):
                assert full(name) not in rank, f"{name} is listed twice in {SECTION!r}"
                rank[full(name)] = int(m.group(1))
    exceptions = {(full(a), full(b)) for a, b in re.findall(r"^- `([\w.]+)` → `([\w.]+)`", section, re.M)}
    return Layers(rank, exceptions)


def layering_errors(imports: list, layers: Layers, modules) -> list:
    """What breaks the layers: unlisted modules, top-level imports from a higher layer, and
    call-time imports from a higher layer that the section does not list (or lists but that
    no longer exist)."""
    errors = [f"{m} is in no layer of ARCHITECTURE.md's {SECTION!r}: add it to the layer it belongs to"
              for m in sorted(modules) if m not in layers.rank]
    errors += [f"{m} is listed in ARCHITECTURE.md's {SECTION!r} but does not exist"
               for m in sorted(layers.rank) if m not in modules]
    used = set()
    for imp in imports:
        src, dst = layers.rank.get(imp.source), layers.rank.get(imp.target)
        if src is None or dst is None or dst <= src:
            continue
        if not imp.lazy:
            errors.append(f"{imp.where()}: {imp.source} (layer {src}) imports {imp.target} from higher "
                          f"layer {dst}")
        elif (imp.source, imp.target) in layers.exceptions:
            used.add((imp.source, imp.target))
        else:
            errors.append(f"{imp.where()}: {imp.source} (layer {src}) imports {imp.target} from higher "
                          f"layer {dst} at call time; restructure, or list it in {SECTION!r} with why")
    errors += [f"ARCHITECTURE.md's {SECTION!r} lists the call-time import {a} → {b}, which no longer "
               "goes up a layer: remove it" for a, b in sorted(layers.exceptions - used)]
    return errors


def _cycle_text(cycle: list) -> str:
    return " -> ".join(imp.source for imp in cycle) + f" -> {cycle[0].source}\n" + \
        "\n".join(f"  {imp.where()}" for imp in cycle)


# -- the package ----------------------------------------------------------------------------------

def test_no_cycle_among_top_level_imports():
    cycles = find_cycles([imp for imp in package_imports(PACKAGE) if not imp.lazy])
    assert not cycles, "import cycles among the modules' top-level imports:\n" + \
        "\n".join(_cycle_text(c) for c in cycles)


def test_imports_follow_the_layers_of_architecture_md():
    layers = read_layers(ARCHITECTURE.read_text())
    errors = layering_errors(package_imports(PACKAGE), layers, package_modules(PACKAGE))
    assert not errors, "\n".join(errors)


def test_the_core_never_imports_keras():
    """Below the ``rstf`` package itself, no module imports Keras, even at call time."""
    layers = read_layers(ARCHITECTURE.read_text())
    wrong = [imp.where() for imp in package_imports(PACKAGE)
             if imp.target.startswith("rstf.keras") and not imp.source.startswith("rstf.keras")
             and imp.source != "rstf"]
    assert not wrong, "\n".join(wrong)
    assert max(r for m, r in layers.rank.items() if not m.startswith("rstf.keras")) \
        < min(r for m, r in layers.rank.items() if m.startswith("rstf.keras"))


# -- the checker itself, on a made-up package -----------------------------------------------------

def _write(root: Path, files: dict) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_checker_reads_relative_absolute_and_lazy_imports(tmp_path):
    pkg = _write(tmp_path, {
        "__init__.py": "from . import a, _ext\n",
        "_ext.pyi": "",
        "a.py": "from . import _ext\nfrom .sub.c import f\n",
        "sub/__init__.py": "",
        "sub/c.py": "import pkg.a as a\n\ndef g():\n    from .. import a\n",
        "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n",
    })
    got = {(i.source, i.target, i.line, i.lazy) for i in package_imports(pkg)}
    assert got == {("pkg", "pkg.a", 1, False), ("pkg", "pkg._ext", 1, False),
                   ("pkg.a", "pkg._ext", 1, False), ("pkg.a", "pkg.sub.c", 2, False),
                   ("pkg.sub.c", "pkg.a", 1, False), ("pkg.sub.c", "pkg.a", 4, True)}


def test_checker_names_the_imports_of_a_cycle(tmp_path):
    pkg = _write(tmp_path, {
        "__init__.py": "",
        "a.py": "import os\nfrom . import b\n",
        "b.py": "from .c import x\n",
        "c.py": "\n\nfrom .a import y\n",
        "d.py": "def f():\n    from . import a\n",
    })
    imports = package_imports(pkg)
    cycles = find_cycles([i for i in imports if not i.lazy])
    assert len(cycles) == 1
    text = _cycle_text(cycles[0])
    assert "pkg.a -> pkg.b -> pkg.c -> pkg.a" in text
    assert "pkg/a.py:2: `from . import b`" in text and "pkg/c.py:3: `from .a import y`" in text
    assert not find_cycles([i for i in imports if i.source != "pkg.c"])


def test_checker_reports_imports_from_a_higher_layer(tmp_path):
    pkg = _write(tmp_path, {
        "__init__.py": "",
        "low.py": "from . import high\n\ndef f():\n    from . import mid\n",
        "mid.py": "def g():\n    from . import high\n",
        "high.py": "from . import low, mid\n",
    })
    doc = (f"{SECTION}\n\n1. `low`\n2. `mid`\n3. `high`, `pkg`\n\n- `mid` → `high`: why\n"
           "- `low` → `high`: stale\n\n## Next\n\n1. `other`\n")
    layers = read_layers(doc, "pkg")
    assert layers.rank == {"pkg.low": 1, "pkg.mid": 2, "pkg.high": 3, "pkg": 3}
    errors = layering_errors(package_imports(pkg), layers, package_modules(pkg))
    assert len(errors) == 3, errors
    assert errors[0].startswith("pkg/low.py:1: `from . import high`: pkg.low (layer 1) imports pkg.high")
    assert errors[1].startswith("pkg/low.py:4: `from . import mid`") and "at call time" in errors[1]
    assert "pkg.low → pkg.high" in errors[2]
    layers.rank.pop("pkg.mid")
    assert "pkg.mid is in no layer" in layering_errors([], layers, package_modules(pkg))[0]
