"""Device configuration (``rstf.config``).

The CPU is always present. GPUs are listed once the GPU backend is built in; until then
``list_physical_devices('GPU')`` is empty.

>>> import rstf as tf
>>> tf.config.list_physical_devices('CPU')
[PhysicalDevice(name='/physical_device:CPU:0', device_type='CPU')]
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["PhysicalDevice", "list_physical_devices"]


class PhysicalDevice(NamedTuple):
    """A device of the machine."""

    name: str
    device_type: str


def list_physical_devices(device_type=None) -> list:
    """The devices of type ``device_type`` ('CPU' or 'GPU'), or all when None."""
    devices = [PhysicalDevice("/physical_device:CPU:0", "CPU")]
    if device_type is None:
        return devices
    return [d for d in devices if d.device_type == str(device_type).upper()]
