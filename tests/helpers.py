"""Shared hypothesis strategies, layouts and numpy references for the rstf tests.

Tensors are compared with numpy: :func:`draw_tensor` draws a numpy array and turns it into an
rstf tensor holding the same values, either dense or as a non-contiguous view (transposed,
strided with negative steps, broadcast, reversed), so that every kernel also runs on strided
inputs. Tests draw through ``st.data()`` because their strategies depend on parameters.
"""

from __future__ import annotations

import math
import os

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.extra import numpy as hnp

import rstf as tf

# Derandomized, so that a run is reproducible and CI cannot flake; RSTF_HYPOTHESIS_RANDOM=1 explores
# new examples on every run instead.
# The device fixture is function-scoped on purpose: it only sets the device scope, which holds
# for every example.
FAST = settings(
    max_examples=25,
    deadline=None,
    derandomize=not os.environ.get("RSTF_HYPOTHESIS_RANDOM"),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

TF_DTYPES = {
    "float16": tf.float16,
    "bfloat16": tf.bfloat16,
    "float32": tf.float32,
    "float64": tf.float64,
    "int8": tf.int8,
    "int32": tf.int32,
    "int64": tf.int64,
    "uint8": tf.uint8,
    "bool": tf.bool,
}

# numpy's type of `.numpy()` for each dtype (numpy has no bfloat16: float32 comes back).
NP_DTYPES = {
    "float16": np.float16,
    "bfloat16": np.float32,
    "float32": np.float32,
    "float64": np.float64,
    "int8": np.int8,
    "int32": np.int32,
    "int64": np.int64,
    "uint8": np.uint8,
    "bool": np.bool_,
}

FLOATS = ["float32", "float64", "float16", "bfloat16"]
FULL_FLOATS = ["float32", "float64"]
INTS = ["int32", "int64"]
NUMERIC = FULL_FLOATS + INTS

# (rtol, atol) for results of float computations, per dtype.
TOL = {
    "float16": (2e-3, 1e-4),
    "bfloat16": (1e-2, 1e-3),
    "float32": (1e-5, 1e-6),
    "float64": (1e-12, 1e-13),
}

LAYOUTS = ["dense", "transpose", "strided", "broadcast", "reverse"]



# ----------------------------------------------------------------------------- rounding

def bf16_round(a) -> np.ndarray:
    """Rounds to the nearest bfloat16 (ties to even), returned as float32."""
    a = np.asarray(a, dtype=np.float64)
    m, e = np.frexp(a)
    r = np.ldexp(np.rint(m * 256.0) / 256.0, e)
    # Below 2**-126 bfloat16 (as float32) is subnormal: multiples of 2**-133.
    with np.errstate(over="ignore", invalid="ignore"):
        r = np.where(np.abs(a) < 2.0**-126, np.rint(a / 2.0**-133) * 2.0**-133, r)
        return r.astype(np.float32)


def round_to(a, dtype: str) -> np.ndarray:
    """The values of ``a`` as stored in a tensor of ``dtype`` (as ``.numpy()`` returns them)."""
    if dtype == "bfloat16":
        return bf16_round(a)
    return np.asarray(a).astype(NP_DTYPES[dtype])


# ----------------------------------------------------------------------------- strategies

def shapes(min_dims=0, max_dims=4, min_side=0, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


# Strategies built once: hypothesis validates each new strategy object, which costs more than
# the draws themselves when done per example.
SHAPES = shapes()
_SEEDS = st.integers(0, 2**32 - 1)
_BOOL_P = st.sampled_from([0.5, 0.0, 1.0])
_MASKS = st.integers(0, 15)
_LAYOUT = {tuple(LAYOUTS): st.sampled_from(LAYOUTS)}
_BCAST = {}


# The CPU kernels split their work into blocks run on several threads from PAR_MIN elements
# (rust/backend/cpu/strided.rs: strided and elementwise kernels, fused graphs, softmax rows,
# optimizer updates); float32 sums from PAR_SUM_MIN values in a row (simd.rs `sum_f32`).
PAR_MIN = 1 << 17
PAR_SUM_MIN = 1 << 18
# Shapes above those thresholds: one long row with a ragged tail, a row long enough for the
# parallel sum, square-ish and many-short-row matrices (the strided kernels cut rows), 3-D.
BIG_SHAPES = [(PAR_MIN + 3,), (PAR_SUM_MIN + 5,), (513, 257), (65537, 2), (2, 260, 257), (3, 87382)]
# A test that opts in (``big=True``) draws one of them when a draw from range(BIG_EVERY) is the
# last value: about one example in 20 (hypothesis does not draw uniformly), so one or two of a
# test's 25, which keeps the suite's time about the same.
BIG_EVERY = 16
_BIG_FLAG = st.integers(0, BIG_EVERY - 1)
_BIG_SHAPE = st.sampled_from(BIG_SHAPES)
_DROP = st.integers(0, 3)
_WHICH = {}


def _big(draw, big: bool) -> bool:
    # The last value, not 0: hypothesis tries small values first and shrinks towards 0, so a
    # failure found on a big shape is retried on ordinary ones. Not on the GPU: the thresholds
    # are the CPU kernels', and on lavapipe a reduction over 65537 rows of 2 alone takes 3 s
    # (one workgroup per row).
    return big and draw(_BIG_FLAG) == BIG_EVERY - 1 and not on_gpu()


def big_shape(draw):
    """Rarely (about one draw in ``BIG_EVERY``) one of ``BIG_SHAPES``, else None: for tests
    that draw their shapes themselves (``big_shape(draw) or draw(my_shapes)``)."""
    return draw(_BIG_SHAPE) if _big(draw, True) else None


def draw_shape(draw, big=False):
    """A shape from ``SHAPES``, or (with ``big``, rarely) one of ``BIG_SHAPES``."""
    return (big and big_shape(draw)) or draw(SHAPES)


def broadcast_shapes(draw, n=2, max_dims=4, max_side=4, big=False):
    """``n`` mutually broadcastable shapes (0-sized dims included).

    With ``big``, rarely: one operand has one of ``BIG_SHAPES`` and the others broadcast against
    it (sides set to 1, leading dimensions dropped), so that the result is big too.
    """
    if _big(draw, big):
        base = draw(_BIG_SHAPE)
        if n not in _WHICH:
            _WHICH[n] = st.integers(0, n - 1)
        full = draw(_WHICH[n])
        out = []
        for i in range(n):
            if i == full:
                out.append(base)
                continue
            bits, drop = draw(_MASKS), min(draw(_DROP), len(base))
            out.append(tuple(1 if bits >> k & 1 else d for k, d in enumerate(base))[drop:])
        return out
    key = (n, max_dims, max_side)
    if key not in _BCAST:
        _BCAST[key] = hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=max_dims,
                                                        max_side=max_side)
    return draw(_BCAST[key]).input_shapes


def _fix_nonzero(v: np.ndarray, lo, hi, tiny) -> np.ndarray:
    bad = np.abs(v) < tiny
    repl = 1 if hi >= 1 else (-1 if lo <= -1 else (hi if abs(hi) >= abs(lo) else lo))
    v[bad] = repl
    return v


# Subnormal values each float dtype holds exactly: multiples of its smallest subnormal, up to
# (but not including) its smallest normal number.
_SUBNORMAL = {"float16": (2.0**-24, 2**10), "bfloat16": (2.0**-133, 2**7),
              "float32": (2.0**-149, 2**23), "float64": (2.0**-1074, 2**52)}


def ieee_specials(rng, dtype: str, size: int, flushes=False) -> np.ndarray:
    """``size`` values (float64) drawn from NaN, +-inf, -0.0 and ``dtype``'s subnormals
    (smallest, largest, random; none when ``flushes``), all exact in ``dtype``."""
    tiny, count = _SUBNORMAL[dtype]
    fixed = [np.nan, np.inf, -np.inf, -0.0]
    if not flushes:
        fixed += [tiny, -tiny, (count - 1) * tiny, -(count - 1) * tiny]
    v = rng.choice(np.array(fixed), size=size)
    if not flushes:
        k = rng.integers(1, count, size=size).astype(np.float64)
        v = np.where(rng.random(size) < 0.25, np.where(rng.random(size) < 0.5, -k, k) * tiny, v)
    return v


def gpu_flushes_subnormals(dtype: str) -> bool:
    """True when the current device scope is a GPU that flushes ``dtype`` subnormals to zero
    (Vulkan allows it; lavapipe keeps them): tests then draw none."""
    if dtype not in ("float32", "float16") or not on_gpu():
        return False
    if dtype not in _FLUSH:
        tiny = _SUBNORMAL[dtype][0]
        x = tf.constant(np.array([3 * tiny, -3 * tiny]), dtype=TF_DTYPES[dtype])
        _FLUSH[dtype] = bool(x.device.endswith("GPU:0") and np.any((x * 1.0).numpy() == 0))
    return _FLUSH[dtype]


_FLUSH = {}


def draw_array(draw, dtype: str, shape=None, lo=-10.0, hi=10.0, nonzero=False, halves=False, big=False,
               ieee=False, subnormals=True):
    """A numpy array of values that a tensor of ``dtype`` holds exactly, in ``[lo, hi]``.

    The values come from numpy's generator seeded by hypothesis (drawing hundreds of elements
    one by one is too slow): a mix of uniform values, integers (or multiples of 1/2 when
    ``halves``, for ties) and the special values ``lo``, ``hi`` and 0.

    ``ieee`` (float dtypes; for ops whose reference gives IEEE 754's answers): also NaN, +-inf,
    -0.0 and subnormals (unless not ``subnormals``), outside ``[lo, hi]`` (and zero-like even
    with ``nonzero``), in none, a few or a third of the elements. ``big``: the shape, when
    drawn, is rarely one of ``BIG_SHAPES`` (above the CPU kernels' parallel threshold).
    """
    if shape is None:
        shape = draw_shape(draw, big)
    shape = tuple(shape)
    rng = np.random.default_rng(draw(_SEEDS))
    if dtype == "bool":
        return rng.random(shape) < draw(_BOOL_P)
    kind = rng.integers(0, 5, size=shape)  # 0-2 uniform, 3 integer-like, 4 special
    if dtype in INTS or dtype in ("int8", "uint8"):
        ilo, ihi = int(math.ceil(lo)), int(math.floor(hi))
        v = rng.integers(ilo, ihi, size=shape, endpoint=True)
        special = np.array([ilo, ihi] + ([0] if ilo <= 0 <= ihi else []), dtype=np.int64)
        v = np.where(kind == 4, rng.choice(special, size=shape), v)
        if nonzero:
            v = _fix_nonzero(v, ilo, ihi, 1)
        return v.astype(NP_DTYPES[dtype])
    v = rng.uniform(lo, hi, size=shape)
    if halves:
        steps = rng.integers(int(math.ceil(2 * lo)), int(math.floor(2 * hi)), size=shape, endpoint=True) / 2.0
    else:
        steps = np.clip(np.round(v), lo, hi)
    special = np.array([lo, hi] + ([0.0] if lo <= 0 <= hi else []), dtype=np.float64)
    v = np.where(kind == 3, steps, v)
    v = np.where(kind == 4, rng.choice(special, size=shape), v)
    if nonzero:
        v = _fix_nonzero(v, lo, hi, 1e-2)
    r = round_to(v, dtype)
    if nonzero:
        # Rounding to a narrow type must not create zeros either.
        r = np.where(r == 0, np.asarray(1, dtype=r.dtype), r)
    if ieee:
        # From the drawn seed, not another draw (each costs hypothesis a quarter millisecond).
        p = rng.choice([0.0, 0.05, 0.3])
        if p and r.size:
            flushes = not subnormals or gpu_flushes_subnormals(dtype)
            special = ieee_specials(rng, dtype, r.size, flushes).reshape(r.shape)
            r = np.where(rng.random(r.shape) < p, special.astype(r.dtype), r)
    return r


def _strided_slices(ndim: int):
    """Slices taking every other element, alternately forwards and backwards."""
    return tuple(slice(1, None, 2) if i % 2 == 0 else slice(None, 0, -2) for i in range(ndim))


def make_tensor(a: np.ndarray, dtype: str, layout: str = "dense", mask=None):
    """A tensor of ``dtype`` with the values of ``a``, built with ``layout``.

    Returns ``(tensor, values)``: for ``"broadcast"`` the values are replaced by a broadcast
    of a part of ``a`` (along the axes where ``mask`` is true), the others keep ``a``.
    """
    d = TF_DTYPES[dtype]
    if a.ndim == 0 or layout == "dense":
        return tf.constant(a, dtype=d), a
    if layout == "transpose":
        t = tf.transpose(tf.constant(np.ascontiguousarray(np.transpose(a)), dtype=d))
        return t, a
    if layout == "strided":
        sl = _strided_slices(a.ndim)
        big = np.full([2 * n + 1 for n in a.shape], 99, dtype=a.dtype)
        big[sl] = a
        return tf.constant(big, dtype=d)[sl], a
    if layout == "reverse":
        axes = list(range(a.ndim))
        return tf.reverse(tf.constant(np.ascontiguousarray(np.flip(a)), dtype=d), axes), a
    if layout == "broadcast":
        if mask is None:
            mask = [True] * a.ndim
        small = a
        for ax, m in enumerate(mask):
            if m and a.shape[ax] > 0:
                small = np.take(small, [0], axis=ax)
        if mask[0] and small.shape[0] == 1:
            small = small[0]
        values = np.broadcast_to(small, a.shape)
        return tf.broadcast_to(tf.constant(np.ascontiguousarray(small), dtype=d), list(a.shape)), values
    raise ValueError(layout)


def draw_tensor(draw, dtype: str, shape=None, layouts=LAYOUTS, **kw):
    """``(tensor, numpy values)`` with drawn values and a drawn layout; ``draw`` is ``data.draw``."""
    a = draw_array(draw, dtype, shape, **kw)
    key = tuple(layouts)
    if key not in _LAYOUT:
        _LAYOUT[key] = st.sampled_from(layouts)
    layout = draw(_LAYOUT[key])
    bits = draw(_MASKS) if layout == "broadcast" else 0
    mask = [bool(bits >> (i % 4) & 1) for i in range(a.ndim)]
    return make_tensor(a, dtype, layout, mask)


# ----------------------------------------------------------------------------- Vulkan

# Lists the Vulkan physical devices through the Vulkan loader itself (ctypes, no wgpu, no rstf):
# the independent reference for what rstf's device listing must show. Run in a child process so
# that the driver's state never mixes with the test process's.
_VULKAN_PROBE = r"""
import ctypes, ctypes.util, json, struct, sys

try:
    vk = ctypes.CDLL(ctypes.util.find_library("vulkan") or "libvulkan.so.1")
except OSError:
    print("null")
    sys.exit()


class AppInfo(ctypes.Structure):
    _fields_ = [("sType", ctypes.c_int), ("pNext", ctypes.c_void_p), ("pApplicationName", ctypes.c_char_p),
                ("applicationVersion", ctypes.c_uint32), ("pEngineName", ctypes.c_char_p),
                ("engineVersion", ctypes.c_uint32), ("apiVersion", ctypes.c_uint32)]


class InstanceInfo(ctypes.Structure):
    _fields_ = [("sType", ctypes.c_int), ("pNext", ctypes.c_void_p), ("flags", ctypes.c_uint32),
                ("pApplicationInfo", ctypes.POINTER(AppInfo)), ("enabledLayerCount", ctypes.c_uint32),
                ("ppEnabledLayerNames", ctypes.c_void_p), ("enabledExtensionCount", ctypes.c_uint32),
                ("ppEnabledExtensionNames", ctypes.c_void_p)]


# VK_STRUCTURE_TYPE_APPLICATION_INFO = 0, VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO = 1, Vulkan 1.0.
app = AppInfo(0, None, b"rstf-tests", 0, None, 0, 1 << 22)
info = InstanceInfo(1, None, 0, ctypes.pointer(app), 0, None, 0, None)
inst = ctypes.c_void_p()
if vk.vkCreateInstance(ctypes.byref(info), None, ctypes.byref(inst)) != 0:
    print("[]")
    sys.exit()
count = ctypes.c_uint32()
vk.vkEnumeratePhysicalDevices(inst, ctypes.byref(count), None)
handles = (ctypes.c_void_p * count.value)()
vk.vkEnumeratePhysicalDevices(inst, ctypes.byref(count), handles)
found = []
for h in handles[:count.value]:
    # VkPhysicalDeviceProperties: four uint32, deviceType (uint32), deviceName[256], ...
    props = ctypes.create_string_buffer(4096)
    vk.vkGetPhysicalDeviceProperties(ctypes.c_void_p(h), props)
    kind = struct.unpack_from("I", props, 16)[0]
    found.append([props.raw[20:276].split(b"\0")[0].decode(errors="replace"), kind])
vk.vkDestroyInstance(inst, None)
print(json.dumps(found))
"""

VK_PHYSICAL_DEVICE_TYPE_CPU = 4


def vulkan_devices():
    """``[(name, VkPhysicalDeviceType), ...]`` as the Vulkan loader lists them, or ``None``
    where there is no Vulkan loader (then wgpu uses another API, or none)."""
    import json
    import subprocess
    import sys

    env = dict(os.environ, NODEVICE_SELECT="1")  # as rstf: no Mesa device-selection layer
    out = subprocess.run([sys.executable, "-c", _VULKAN_PROBE], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout.strip().splitlines()[-1])
    return None if found is None else [(n, k) for n, k in found]


def expected_gpu(allow_software: bool):
    """The Vulkan device names rstf may choose as its GPU (those of the best kind, ranked as
    rstf ranks them: discrete, integrated, virtual, other, then software only when allowed);
    ``[]`` where it must list none; ``None`` without a Vulkan loader."""
    devices = vulkan_devices()
    if devices is None:
        return None
    # VkPhysicalDeviceType: 0 other, 1 integrated, 2 discrete, 3 virtual, 4 cpu.
    rank = {2: 0, 1: 1, 3: 2, 0: 3, VK_PHYSICAL_DEVICE_TYPE_CPU: 4}
    usable = [(rank.get(k, 3), n) for n, k in devices if k != VK_PHYSICAL_DEVICE_TYPE_CPU or allow_software]
    if not usable:
        return []
    best = min(r for r, _ in usable)
    return [n for r, n in usable if r == best]


# ----------------------------------------------------------------------------- checks

def check_exact(t, expected, dtype=None, signed_zeros=False):
    """``t`` is a tensor equal to ``expected`` in shape, values and (numpy) dtype (NaN equal
    to NaN). With ``signed_zeros``, each zero also has the sign of ``expected``'s (write
    ``-0.0``, not ``-0``): ``assert_array_equal`` alone takes -0.0 for 0.0."""
    assert isinstance(t, tf.Tensor), type(t)
    expected = np.asarray(expected)
    if dtype is not None:
        assert t.dtype == TF_DTYPES[dtype], (t.dtype, dtype)
        expected = expected.astype(NP_DTYPES[dtype])
    got = t.numpy()
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    np.testing.assert_array_equal(got, expected)
    if signed_zeros:
        check_zero_signs(got, expected)


def check_zero_signs(got, expected):
    """Where ``expected`` is a (float) zero, ``got`` is a zero of the same sign."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert expected.dtype.kind == "f", expected.dtype
    bad = (expected == 0) & (np.signbit(got) != np.signbit(expected))
    where = np.argwhere(bad)[:5].tolist()
    assert not bad.any(), f"sign of zero differs at {where}: got {got[bad][:5]}, expected {expected[bad][:5]}"


def known_bug(request, reason: str, gpu_only=False):
    """Marks the calling test (``request``: its fixture) as a strict xfail: it shows a bug in
    rstf, and must fail until the bug is fixed (then strict makes it fail: remove the call)."""
    if not gpu_only or on_gpu():
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason, raises=AssertionError))


def on_gpu() -> bool:
    """True inside a GPU device scope (new float32 tensors are placed on the GPU)."""
    return tf.constant(0.0).device.endswith("GPU:0")


def check_close(t, expected, dtype: str, rtol=None, atol=None):
    """``t`` has ``dtype`` and the shape of ``expected``, and values within the dtype's tolerance."""
    assert isinstance(t, tf.Tensor), type(t)
    assert t.dtype == TF_DTYPES[dtype], (t.dtype, dtype)
    r, a = TOL[dtype]
    rtol = r if rtol is None else rtol
    atol = a if atol is None else atol
    got = t.numpy()
    expected = np.asarray(expected).astype(np.float64)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == NP_DTYPES[dtype], got.dtype
    # A finite exact result beyond the dtype's range rounds to +-inf (as float32 1 / 1e-45 does).
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = round_to(expected, dtype).astype(np.float64)
    expected = np.where(np.isinf(rounded) & np.isfinite(expected), rounded, expected)
    np.testing.assert_allclose(got.astype(np.float64), expected, rtol=rtol, atol=atol, equal_nan=True)


def edit_saved_model(d, edit):
    """Edits a saved model's ``saved_model.json`` with ``edit(doc)`` and records the new
    checksum, as someone crafting a file would."""
    import json

    with open(os.path.join(d, "saved_model.json")) as f:
        doc = json.load(f)
    edit(doc)
    sign_saved_model(d, json.dumps(doc).encode())


def sign_saved_model(d, text: bytes):
    """Writes ``text`` (which need not be JSON) as a saved model's ``saved_model.json`` and
    records its checksum in ``variables.safetensors``."""
    import zlib

    with open(os.path.join(d, "saved_model.json"), "wb") as f:
        f.write(text)
    vpath = os.path.join(d, "variables.safetensors")
    items, meta = tf._rstf.load_tensors(vpath)
    meta["saved_model.json.crc32"] = f"{zlib.crc32(text):08x}"
    meta.pop("crc32", None)
    tf._rstf.save_tensors(vpath, items, meta)


def numeric_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """The gradient of the scalar function ``f`` at ``x`` by central differences (the
    independent reference of the gradient tests)."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g
