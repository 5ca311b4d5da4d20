"""Runs the examples in the package's docstrings."""

import doctest
import importlib
import pkgutil

import pytest

import rstf

MODULES = ["rstf"] + [f"rstf.{m.name}" for m in pkgutil.iter_modules(rstf.__path__)
                      if m.name != "_rstf"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
