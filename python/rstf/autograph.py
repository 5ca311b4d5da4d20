"""AutoGraph (``rstf.autograph``): ``rstf.function`` converts the Python function it traces so
that ``if``, ``while`` and ``for`` on tensors become graph control flow, as TensorFlow does.

The conversion rewrites the function's source (``inspect.getsource``) with ``ast``: a statement
on a Python value (or on a tensor whose value is known while tracing) still runs as Python; on a
traced tensor, ``if`` traces both branches and selects the values of the names they assign, and
``while`` or ``for`` over a traced tensor (or over ``rstf.range`` of traced bounds) becomes one
``While`` node whose loop variables are the names the body assigns (``break``, ``continue`` and
``return`` become flags). Functions that the converted one calls are
converted too when they are user code (not rstf's, a library's or the standard library's).
A function whose source is not available runs as it is, with a warning.

>>> import rstf as tf
>>> @tf.function
... def collatz_steps(n):
...     steps = 0
...     while n > 1:
...         if n % 2 == 0:
...             n = n // 2
...         else:
...             n = 3 * n + 1
...         steps += 1
...     return steps
>>> collatz_steps(tf.constant(27))
<rstf.Tensor: shape=(), dtype=int32, numpy=111>

Limits: loop variables keep their dtype and shape from one iteration to the next
(``set_loop_options(shape_invariants=...)`` is accepted but cannot relax shapes); the
branches of an ``if`` on a traced tensor cannot assign ``rstf.Variable``s (both run while
tracing); lambdas are not converted, nor a Keras layer's ``call`` reached through the layer's
``__call__`` (decorate ``call`` with ``rstf.function`` instead); a Python list appended to in a
graph loop does not collect the iterations' values (use tensors as loop variables).
"""

from __future__ import annotations

import functools

from . import _autograph_ops

__all__ = ["experimental", "set_verbosity", "to_code", "to_graph", "trace"]


def to_code(entity, recursive=True, experimental_optional_features=None) -> str:
    """The source of ``entity`` (a Python function or an ``rstf.function``) as AutoGraph
    converts it: valid Python calling the operators of ``ag__``.

    >>> import rstf as tf
    >>> def relu(x):
    ...     if x > 0:
    ...         return x
    ...     return 0
    >>> code = tf.autograph.to_code(relu)
    >>> "ag__.if_stmt" in code and code.startswith("def relu(x):")
    True
    """
    return _autograph_ops.source_of(entity)


def to_graph(entity, recursive=True, experimental_optional_features=None):
    """``entity`` converted by AutoGraph (a function that builds graph control flow when it runs
    inside ``rstf.function``, and runs as Python otherwise).

    >>> import rstf as tf
    >>> def absolute(x):
    ...     if x < 0:
    ...         x = -x
    ...     return x
    >>> tf.function(tf.autograph.to_graph(absolute), autograph=False)(tf.constant(-3))
    <rstf.Tensor: shape=(), dtype=int32, numpy=3>
    """
    return _autograph_ops.convert_strict(entity)


def set_verbosity(level, alsologtostdout=False):
    """Accepted for compatibility (rstf's AutoGraph does not log).

    >>> import rstf as tf
    >>> tf.autograph.set_verbosity(0)
    """


def trace(*args):
    """Prints ``args`` while the function is traced (``tf.autograph.trace``).

    >>> import rstf as tf
    >>> tf.autograph.trace("tracing", 1)
    tracing 1
    """
    print(*args)


def do_not_convert(func=None):
    """Marks ``func`` to run as it is: AutoGraph does not convert it nor the functions it calls.

    >>> import rstf as tf
    >>> @tf.autograph.experimental.do_not_convert
    ... def f(x):
    ...     return x + 1
    >>> f(1)
    2
    """
    if func is None:
        return do_not_convert

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)

    wrapper.__ag_do_not_convert__ = True
    return wrapper


def set_loop_options(parallel_iterations=None, swap_memory=None, maximum_iterations=None,
                     shape_invariants=None):
    """Options of the loop whose body begins with this call (read when the loop is converted;
    a call elsewhere does nothing). ``maximum_iterations`` bounds the loop; the others are
    accepted for compatibility: loop variables always keep their dtype and shape, so
    ``shape_invariants`` cannot relax them.

    >>> import rstf as tf
    >>> @tf.function
    ... def count(n):
    ...     i = 0
    ...     while i < n:
    ...         tf.autograph.experimental.set_loop_options(maximum_iterations=3)
    ...         i += 1
    ...     return i
    >>> count(tf.constant(10))
    <rstf.Tensor: shape=(), dtype=int32, numpy=3>
    """


class Feature:
    """Optional AutoGraph features (accepted, not used)."""

    ALL = "ALL"
    AUTO_CONTROL_DEPS = "AUTO_CONTROL_DEPS"
    ASSERT_STATEMENTS = "ASSERT_STATEMENTS"
    BUILTIN_FUNCTIONS = "BUILTIN_FUNCTIONS"
    EQUALITY_OPERATORS = "EQUALITY_OPERATORS"
    LISTS = "LISTS"
    NAME_SCOPES = "NAME_SCOPES"


class experimental:
    """``tf.autograph.experimental``."""

    do_not_convert = staticmethod(do_not_convert)
    set_loop_options = staticmethod(set_loop_options)
    Feature = Feature
