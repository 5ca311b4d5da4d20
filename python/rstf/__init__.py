"""rstf: a TensorFlow-2-style machine-learning engine with a Rust core.

>>> import rstf as tf
>>> x = tf.constant([[1., 2., 3.], [4., 5., 6.]])
>>> print(x)
rstf.Tensor(
[[1. 2. 3.]
 [4. 5. 6.]], shape=(2, 3), dtype=float32)
>>> tf.reduce_sum(x)
<rstf.Tensor: shape=(), dtype=float32, numpy=21.0>
"""

from . import _rstf
from ._format import tensor_format as _tensor_format
from ._format import tensor_text as _tensor_text
from ._rstf import Tensor
from ._shape import TensorShape, _from_dims
from .dtypes import (
    ALL as _ALL_DTYPES,
)
from .dtypes import (
    DType,
    as_dtype,
    bfloat16,
    bool,
    double,
    float16,
    float32,
    float64,
    half,
    int8,
    int32,
    int64,
    string,
    uint8,
)

_rstf._set_helpers(list(_ALL_DTYPES), _from_dims, _tensor_text)
Tensor.__format__ = _tensor_format  # type: ignore[method-assign]


from . import (  # noqa: E402
    _generator,  # registers tf.random.Generator
    autograph,
    config,
    data,
    distribute,
    errors,
    experimental,
    image,
    io,
    linalg,
    math,
    nest,
    nn,
    ragged,
    random,
    saved_model,
    sparse,
    strings,
    summary,
    train,
    types,
)
from ._callbacks import init_scope, numpy_function, print, py_function  # noqa: E402,F401,A004
from ._device import device  # noqa: E402
from ._function import TensorSpec, cond, function, while_loop  # noqa: E402
from ._indexing import *  # noqa: E402,F403
from ._ops import *  # noqa: E402,F403
from ._ops import newaxis  # noqa: E402,F401
from ._tape import GradientTape, UnconnectedGradients, custom_gradient, stop_gradient  # noqa: E402
from ._tensor_array import TensorArray  # noqa: E402
from ._variable import Variable  # noqa: E402
from .experimental.dlpack import from_dlpack  # noqa: E402
from .linalg import clip_by_global_norm, clip_by_norm, einsum, meshgrid, norm, tensordot  # noqa: E402,F401
from .module import Module  # noqa: E402
from .ragged import RaggedTensor  # noqa: E402
from .sparse import SparseTensor  # noqa: E402

__version__ = "0.1.0"

# Keras loads on first use (as in TensorFlow), which keeps `import rstf` quick.
_LAZY = {"keras": ".keras", "optimizers": ".keras.optimizers", "onnx": ".onnx"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name], __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'rstf' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def _probe_gpu():
    """The GPU is looked for on first use (the first op or device query), as TensorFlow does,
    so that the import does not pay for loading the Vulkan drivers. Mesa's Vulkan drivers load
    their own LLVM, which cannot share a process with the LLVM that TensorFlow bundles once
    TensorFlow is loaded: with TensorFlow imported first, the GPU stays off (import rstf first
    to use both), and an import of TensorFlow after rstf's looks for the GPU first."""
    import sys
    import warnings

    if "tensorflow" in sys.modules:
        _rstf.disable_gpu()
        warnings.warn("rstf: the GPU backend is off in this process because TensorFlow was imported "
                      "first (its LLVM conflicts with the Vulkan drivers'); import rstf first to use both",
                      RuntimeWarning, stacklevel=3)
        return

    class _ProbeBeforeTensorFlow:
        """Import hook: loads the GPU drivers before TensorFlow is imported."""

        @staticmethod
        def find_spec(name, path=None, target=None):
            if name.partition(".")[0] == "tensorflow":
                _rstf.gpu_name()
            if _rstf.gpu_probed():
                try:
                    sys.meta_path.remove(_ProbeBeforeTensorFlow)
                except ValueError:
                    pass
            return None

    sys.meta_path.insert(0, _ProbeBeforeTensorFlow)


_probe_gpu()
