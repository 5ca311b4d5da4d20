"""Runs the examples in the package's docstrings."""

import builtins
import doctest
import importlib
import pkgutil

import pytest

import rstf

# Every module of the package, subpackages (rstf.keras.*) included.
MODULES = ["rstf"] + [m.name for m in pkgutil.walk_packages(rstf.__path__, "rstf.")
                      if m.name != "rstf._rstf"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    # Examples call Python's print even in modules that define their own (``rstf.print``).
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"print": builtins.print})
    assert result.failed == 0
