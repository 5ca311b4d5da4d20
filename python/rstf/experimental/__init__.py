"""``rstf.experimental``: DLPack interchange (``rstf.experimental.dlpack``)."""

from . import dlpack

__all__ = ["dlpack"]
