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

    @staticmethod
    def get_memory_info(device) -> dict:
        """Host memory of the process's tensors, in bytes, for ``'CPU:0'``: ``current`` (held
        now), ``peak`` (the most since start or ``reset_memory_stats``), and the host cache's
        ``cached`` bytes (freed blocks kept for reuse), ``cache_limit``, ``cache_hits`` and
        ``cache_misses`` (large requests served from the cache or from the system).

        >>> import rstf as tf
        >>> before = tf.config.experimental.get_memory_info('CPU:0')['current']
        >>> x = tf.zeros([1 << 20])
        >>> tf.config.experimental.get_memory_info('CPU:0')['current'] - before >= 4 << 20
        True
        """
        _host_device(device, "get_memory_info")
        return dict(_rstf._host_memory_info())

    @staticmethod
    def reset_memory_stats(device) -> None:
        """Restarts ``peak`` of ``get_memory_info(device)`` from the bytes held now."""
        _host_device(device, "reset_memory_stats")
        _rstf._reset_host_peak()

    @staticmethod
    def set_host_cache_limit(limit_bytes: int) -> None:
        """Caps the bytes of freed host blocks kept for reuse (a sixteenth of the machine's
        memory, at most 256 MiB, by default); blocks beyond it go back to the system now, and
        a block freed into a full cache displaces blocks of other sizes. 0 turns the cache
        off.

        >>> import rstf as tf
        >>> tf.config.experimental.set_host_cache_limit(64 << 20)
        >>> tf.config.experimental.get_memory_info('CPU:0')['cache_limit']
        67108864
        """
        if int(limit_bytes) < 0:
            raise ValueError(f"set_host_cache_limit: limit_bytes must be >= 0, got {limit_bytes}")
        _rstf._set_host_cache_limit(int(limit_bytes))

    @staticmethod
    def release_host_cache() -> int:
        """Gives every cached host block back to the system; returns the bytes released."""
        return int(_rstf._release_host_cache())


def _host_device(device, op) -> None:
    name = str(getattr(device, "name", device)).upper()
    name = name.replace("/DEVICE:", "").replace("/PHYSICAL_DEVICE:", "")
    if name not in ("CPU", "CPU:0"):
        raise ValueError(f"{op}: memory statistics are kept for the host ('CPU:0'), not for {device!r}")
