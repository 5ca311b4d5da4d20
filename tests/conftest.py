"""Shared fixtures: ``on_device`` runs a test body once on the CPU and once on the GPU.

The GPU run needs a Vulkan device; the test command sets ``RSTF_ALLOW_SOFTWARE_GPU=1`` so
that lavapipe (a software Vulkan device) counts. Where no Vulkan device exists at all, the GPU
runs are skipped, unless ``RSTF_REQUIRE_GPU=1`` says that one was installed: then they fail
(a missing driver must not turn the GPU tests into silent skips).
"""

from __future__ import annotations

import os

import pytest

import rstf as tf

HAS_GPU = bool(tf.config.list_physical_devices("GPU"))
REQUIRE_GPU = os.environ.get("RSTF_REQUIRE_GPU") == "1"
NO_GPU = ("no usable Vulkan device (a hardware GPU, or lavapipe with RSTF_ALLOW_SOFTWARE_GPU=1; "
          f"RSTF_ALLOW_SOFTWARE_GPU={os.environ.get('RSTF_ALLOW_SOFTWARE_GPU')!r}, "
          f"RSTF_DISABLE_GPU={os.environ.get('RSTF_DISABLE_GPU')!r})")


def require_gpu():
    """Skips the calling test where no GPU exists; fails it under ``RSTF_REQUIRE_GPU=1``."""
    if HAS_GPU:
        return
    if REQUIRE_GPU:
        pytest.fail(f"RSTF_REQUIRE_GPU=1 but {NO_GPU}", pytrace=False)
    pytest.skip(NO_GPU)


@pytest.fixture
def gpu_required():
    """:func:`require_gpu` as a fixture (``needs_gpu`` marks tests with it)."""
    require_gpu()


# Marks tests (or modules, as ``pytestmark``) that need a GPU.
needs_gpu = pytest.mark.usefixtures("gpu_required")


def pytest_report_header(config):
    if HAS_GPU:
        gpu = tf.config.list_physical_devices("GPU")[0]
        return f"rstf GPU: {tf.config.experimental.get_device_details(gpu)['device_name']}"
    return f"rstf GPU: none, GPU tests {'FAIL' if REQUIRE_GPU else 'skipped'}: {NO_GPU}"


@pytest.fixture(params=["CPU", "GPU"])
def on_device(request):
    """Runs the test inside ``tf.device('/<param>:0')``; yields the device type."""
    if request.param == "GPU":
        require_gpu()
    with tf.device(f"/{request.param}:0"):
        yield request.param
