"""Device configuration (``rstf.config``).

The CPU is always present. A GPU is listed when the wgpu backend finds a hardware adapter
(Vulkan, Metal or DX12); software adapters such as lavapipe are listed only when the
environment sets ``RSTF_ALLOW_SOFTWARE_GPU=1``.

>>> import rstf as tf
>>> tf.config.list_physical_devices('CPU')
[PhysicalDevice(name='/physical_device:CPU:0', device_type='CPU')]
"""

from __future__ import annotations

from typing import NamedTuple

from . import _rstf

__all__ = ["LogicalDevice", "PhysicalDevice", "functions_run_eagerly", "list_logical_devices",
           "list_physical_devices", "run_functions_eagerly"]

_RUN_EAGERLY = False


class PhysicalDevice(NamedTuple):
    """A device of the machine."""

    name: str
    device_type: str


class LogicalDevice(NamedTuple):
    """A device as ops see it."""

    name: str
    device_type: str


def _kinds():
    return ["CPU"] + (["GPU"] if _rstf.gpu_name() is not None else [])


def _select(devices, device_type):
    if device_type is None:
        return devices
    return [d for d in devices if d.device_type == str(device_type).upper()]


def list_physical_devices(device_type=None) -> list:
    """The devices of type ``device_type`` ('CPU' or 'GPU'), or all when None."""
    devices = [PhysicalDevice(f"/physical_device:{k}:0", k) for k in _kinds()]
    return _select(devices, device_type)


def list_logical_devices(device_type=None) -> list:
    """The logical devices of type ``device_type``, or all when None."""
    devices = [LogicalDevice(f"/device:{k}:0", k) for k in _kinds()]
    return _select(devices, device_type)


def run_functions_eagerly(run_eagerly: bool) -> None:
    """Makes every ``rstf.function`` call its Python function directly (no tracing, no graph),
    for debugging; ``False`` restores graphs.

    >>> import rstf as tf
    >>> tf.config.run_functions_eagerly(True)
    >>> tf.config.functions_run_eagerly()
    True
    >>> tf.config.run_functions_eagerly(False)
    """
    global _RUN_EAGERLY
    _RUN_EAGERLY = bool(run_eagerly)


def functions_run_eagerly() -> bool:
    """True when ``run_functions_eagerly(True)`` is in effect.

    >>> import rstf as tf
    >>> tf.config.functions_run_eagerly()
    False
    """
    return _RUN_EAGERLY


class experimental:
    """``tf.config.experimental``: device details."""

    @staticmethod
    def get_device_details(device) -> dict:
        """The adapter's name for a GPU (``{'device_name': ...}``), else an empty dict."""
        if getattr(device, "device_type", None) == "GPU":
            return {"device_name": _rstf.gpu_name()}
        return {}
