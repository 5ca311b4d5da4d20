"""Regression check on TensorFlow's own guides: the cells that rstf passes must keep passing.

The guides live outside the repository, in ``../shared/tf_guides`` (``code/*.py``, run by its
``run_guide.py``; see its README.md). Every guide runs in its own subprocess of this interpreter
(``run_guide.py GUIDE --lib rstf --json OUT``), two at a time. The cells known to pass are listed
in ``tests/tf_guides_passing.txt``: a listed cell that fails fails the guide's test; a cell that
passes but is not listed is only reported (a warning: "now passing: add it to the list").
Without ``../shared/tf_guides`` the tests are skipped.

Refreshing the list: ``RSTF_GUIDES_UPDATE=1`` adds this run's newly passing cells to
tests/tf_guides_passing.txt (it never removes a cell); with ``RSTF_GUIDES_PRUNE=1`` as well, the
list is rewritten to exactly the cells that passed in this run. Run it twice and keep only cells
that passed both times (a cell that passes only sometimes must not be listed)::

    cd tests && RSTF_GUIDES_UPDATE=1 ../.venv/bin/python -m pytest -p no:cacheprovider test_tf_guides.py
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GUIDES_DIR = REPO.parent / "shared" / "tf_guides"
LIST_FILE = Path(__file__).resolve().parent / "tf_guides_passing.txt"
CELL_TIMEOUT_S = 60  # run_guide.py's per-cell limit
GUIDE_TIMEOUT_S = 600  # the whole guide, in case a cell hangs where the per-cell alarm can't fire
PARALLEL = 2

LIST_HEADER = """\
# Cells of TensorFlow's guides (../shared/tf_guides/code/<guide>.py, cell numbers as in its
# "# %% [code cell N]" markers) that rstf passes. tests/test_tf_guides.py fails if one of them
# stops passing. One line per guide: "guide: cell cell ...". Only cells that pass reliably
# belong here. To add newly passing cells: RSTF_GUIDES_UPDATE=1 (see the test's docstring).
"""


class GuideCellNowPassing(UserWarning):
    """A guide cell passes that tests/tf_guides_passing.txt does not list yet."""


def read_list(path: Path = LIST_FILE) -> dict[str, set[int]]:
    """{guide: {cell, ...}} from the list file (missing file: empty)."""
    out: dict[str, set[int]] = {}
    if not path.exists():
        return out
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([\w.-]+)\s*:?\s*([\d\s]*)", line)
        if not m:
            raise ValueError(f"{path.name}:{n}: expected 'guide: 1 2 3', got {line!r}")
        out.setdefault(m.group(1), set()).update(int(c) for c in m.group(2).split())
    return out


def write_list(cells: dict[str, set[int]], path: Path = LIST_FILE) -> None:
    lines = [f"{g}: {' '.join(map(str, sorted(c)))}" for g, c in sorted(cells.items()) if c]
    path.write_text(LIST_HEADER + "\n".join(lines) + "\n")


def guide_names() -> list[str]:
    found = sorted(p.stem for p in (GUIDES_DIR / "code").glob("*.py")) if GUIDES_DIR.is_dir() else []
    return sorted(set(found) | set(read_list()))


def run_one(guide: str, base: Path) -> dict:
    """Runs one guide; returns {"results": {cell: result dict}} or {"error": why}."""
    src = GUIDES_DIR / "code" / f"{guide}.py"
    if not src.exists():
        return {"error": f"{src} does not exist"}
    workdir, out = base / guide, base / f"{guide}.json"
    workdir.mkdir()
    env = dict(os.environ, MPLBACKEND="Agg")
    cmd = [sys.executable, str(GUIDES_DIR / "run_guide.py"), str(src), "--lib", "rstf", "--quiet",
           "--timeout", str(CELL_TIMEOUT_S), "--json", str(out), "--workdir", str(workdir)]
    try:
        proc = subprocess.run(cmd, cwd=base, env=env, capture_output=True, text=True,
                              timeout=GUIDE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"error": f"run_guide.py did not finish in {GUIDE_TIMEOUT_S}s"}
    if proc.returncode != 0 or not out.exists():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-8:])
        return {"error": f"run_guide.py exited with {proc.returncode}:\n{tail}"}
    data = json.loads(out.read_text())
    return {"results": {r["idx"]: r for r in data["results"]}}


@pytest.fixture(scope="module")
def guide_runs(tmp_path_factory) -> dict[str, dict]:
    """Runs every guide (PARALLEL at a time); applies RSTF_GUIDES_UPDATE to the list file."""
    base = tmp_path_factory.mktemp("tf_guides")
    guides = guide_names()
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        runs = dict(zip(guides, pool.map(lambda g: run_one(g, base), guides)))
    if os.environ.get("RSTF_GUIDES_UPDATE") == "1":
        passed = {g: {i for i, r in run.get("results", {}).items() if r["status"] == "PASS"}
                  for g, run in runs.items()}
        if os.environ.get("RSTF_GUIDES_PRUNE") == "1":
            new = passed
        else:
            new = read_list()
            for g, cells in passed.items():
                new.setdefault(g, set()).update(cells)
        write_list(new)
    return runs


def describe_failure(guide: str, cell: int, r: dict | None) -> str:
    if r is None:
        return f"{guide} cell {cell}: did not run (no such cell in the guide's results)"
    head = f"{guide} cell {cell}: {r['exc_type']}: {r['exc_msg']}"
    if r.get("cascade"):
        head += f"  [{r['cascade']}]"
    # the traceback's last lines, less run_guide.py's own frame and the ^^^ markers
    tb = [ln for ln in (r.get("traceback") or "").rstrip().splitlines()
          if ln.strip() and not set(ln.strip()) <= set("^~") and "exec(compile(body" not in ln
          and "run_guide.py" not in ln]
    return "\n".join([head] + ["    " + ln for ln in tb[-4:]])


pytestmark = pytest.mark.skipif(
    not GUIDES_DIR.is_dir(),
    reason="../shared/tf_guides not present: the guide regression check needs TensorFlow's "
    "guides beside the repo",
)


@pytest.mark.parametrize("guide", guide_names() or ["(none)"])
def test_guide_cells_keep_passing(guide, guide_runs):
    listed = read_list().get(guide, set())
    run = guide_runs.get(guide, {"error": "no guide found"})
    if "error" in run:
        if listed:
            pytest.fail(f"guide {guide}: {run['error']}\n"
                        f"listed cells not checked: {' '.join(map(str, sorted(listed)))}")
        pytest.skip(f"guide {guide}: {run['error']}")
    results = run["results"]
    regressed = [c for c in sorted(listed) if results.get(c, {}).get("status") != "PASS"]
    new = sorted(i for i, r in results.items() if r["status"] == "PASS" and i not in listed)
    if new:
        msg = (f"tf_guides: now passing: add it to the list: {guide} cell(s) "
               f"{' '.join(map(str, new))} (tests/tf_guides_passing.txt; RSTF_GUIDES_UPDATE=1 adds them)")
        print(msg)
        warnings.warn(GuideCellNowPassing(msg), stacklevel=1)
    if regressed:
        lines = [describe_failure(guide, c, results.get(c)) for c in regressed]
        pytest.fail(f"{len(regressed)} guide cell(s) listed in tests/tf_guides_passing.txt "
                    "no longer pass:\n" + "\n".join(lines), pytrace=False)
