"""The type stubs of the extension module match what it defines."""

import ast
import inspect
import pathlib

import rstf
from rstf import _rstf

STUB = pathlib.Path(rstf.__file__).with_name("_rstf.pyi")


def _stub_defs():
    tree = ast.parse(STUB.read_text())
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    return funcs, classes


def test_stub_is_shipped():
    assert STUB.exists()
    assert STUB.with_name("py.typed").exists()


def test_every_function_is_stubbed_with_its_parameters():
    funcs, classes = _stub_defs()
    public = {n for n in dir(_rstf) if not n.startswith("__")}
    assert public == set(funcs) | set(classes)
    for name, node in funcs.items():
        runtime = list(inspect.signature(getattr(_rstf, name)).parameters)
        stubbed = [a.arg for a in node.args.args]
        assert runtime == stubbed, name


def test_tensor_methods_are_stubbed():
    _, classes = _stub_defs()
    stubbed = {n.name for n in classes["Tensor"].body if isinstance(n, ast.FunctionDef)}
    stubbed |= {n.target.id for n in classes["Tensor"].body if isinstance(n, ast.AnnAssign)}
    runtime = {n for n, v in vars(_rstf.Tensor).items()
               if not n.startswith("__") or n in stubbed or callable(v)}
    runtime -= {"__new__", "__doc__", "__module__", "__init__", "__setattr__", "__delattr__",
                "__getattribute__", "__reduce__", "__reduce_ex__", "__dir__", "__format__",
                "__init_subclass__", "__sizeof__", "__subclasshook__", "__class__", "__repr__",
                "__str__", "__weakref__", "__dict__"}
    assert runtime <= stubbed, sorted(runtime - stubbed)
