"""Shared fixtures: ``on_device`` runs a test body once on the CPU and once on the GPU.

The GPU run needs a Vulkan device; the test command sets ``RSTF_ALLOW_SOFTWARE_GPU=1`` so
that lavapipe (a software Vulkan device) counts. Where no Vulkan device exists at all, the GPU
runs are skipped.
"""

from __future__ import annotations

import pytest

import rstf as tf

HAS_GPU = bool(tf.config.list_physical_devices("GPU"))
needs_gpu = pytest.mark.skipif(not HAS_GPU, reason="no Vulkan device on this machine")


@pytest.fixture(params=["CPU", pytest.param("GPU", marks=needs_gpu)])
def on_device(request):
    """Runs the test inside ``tf.device('/<param>:0')``; yields the device type."""
    with tf.device(f"/{request.param}:0"):
        yield request.param
