"""numpy views without copies, DLPack both ways (numpy, JAX, PyTorch when installed), and the
host memory cache. References are numpy arrays built independently of rstf."""

import gc
import importlib.util
import weakref

import numpy as np
import pytest

import rstf as tf
from rstf import _rstf

HAS_TORCH = importlib.util.find_spec("torch") is not None


def live():
    gc.collect()
    return _rstf._dlpack_live()


# ---- numpy views ---------------------------------------------------------------------------

def test_numpy_is_a_read_only_view_of_the_buffer():
    ref = np.arange(12, dtype=np.float64).reshape(3, 4)
    t = tf.constant(ref.astype(np.float32))
    a, b = t.numpy(), np.asarray(t)
    np.testing.assert_array_equal(a, ref)
    assert np.shares_memory(a, b), "two views of one tensor share its buffer"
    assert not a.flags.writeable and not b.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        a[0, 0] = 5
    with pytest.raises(ValueError):
        a.flags.writeable = True
    np.testing.assert_array_equal(t.numpy(), ref)


def test_array_copy_semantics():
    t = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    c = np.array(t)  # copy=True
    assert c.flags.writeable and not np.shares_memory(c, t.numpy())
    c[0, 0] = 9  # a copy is the caller's
    assert t.numpy()[0, 0] == 1.0
    assert np.shares_memory(t.__array__(copy=False), t.numpy())
    d = np.asarray(t, dtype=np.float64)
    assert d.dtype == np.float64 and d.tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match="avoid copy"):
        t.__array__(dtype=np.float64, copy=False)
    h = tf.cast(t, tf.bfloat16)
    with pytest.raises(ValueError, match="avoid copy"):
        h.__array__(copy=False)
    assert np.asarray(h).dtype == np.float32  # numpy has no bfloat16: a float32 copy


@pytest.mark.parametrize("view", ["transpose", "step", "reverse", "broadcast", "offset"])
def test_views_of_strided_tensors(view):
    ref = np.arange(24, dtype=np.int64).reshape(4, 6)
    t = tf.constant(ref)
    make = {
        "transpose": (lambda x: tf.transpose(x), lambda r: r.T),
        "step": (lambda x: x[:, ::2], lambda r: r[:, ::2]),
        "reverse": (lambda x: tf.reverse(x, [1]), lambda r: r[:, ::-1]),
        "broadcast": (lambda x: tf.broadcast_to(x[:1], [3, 4, 6]),
                      lambda r: np.broadcast_to(r[:1], (3, 4, 6))),
        "offset": (lambda x: x[2:, 1:], lambda r: r[2:, 1:]),
    }[view]
    got = make[0](t).numpy()
    np.testing.assert_array_equal(got, make[1](ref))
    np.testing.assert_array_equal(np.from_dlpack(make[0](t)), make[1](ref))


def test_view_outlives_the_tensor():
    ref = np.linspace(0, 1, 1 << 18)
    t = tf.constant(ref)
    a = t.numpy()
    del t
    gc.collect()
    junk = [tf.constant(np.full(1 << 18, 7.0)) + 1.0 for _ in range(4)]  # reuse freed memory
    np.testing.assert_array_equal(a, ref)
    del junk


def test_variable_view_keeps_the_values_it_was_taken_with():
    v = tf.Variable([1.0, 2.0, 3.0])
    a = v.numpy()
    v.assign([7.0, 8.0, 9.0])
    v.assign_add([1.0, 1.0, 1.0])
    assert a.tolist() == [1.0, 2.0, 3.0]
    assert v.numpy().tolist() == [8.0, 9.0, 10.0]


def test_constant_shares_only_memory_nothing_can_write():
    t = tf.constant(np.arange(6, dtype=np.float32))
    u = tf.constant(t.numpy())  # a view of a tensor: shared
    assert np.shares_memory(u.numpy(), t.numpy())
    a = np.arange(6, dtype=np.float32)
    w = tf.constant(a)  # writable: copied
    a[0] = 100
    assert w.numpy()[0] == 0
    a.flags.writeable = False  # read-only now, but its owner may make it writable again
    x = tf.constant(a)
    a.flags.writeable = True
    a[1] = 100
    assert x.numpy()[1] == 1
    b = np.frombuffer(np.arange(4, dtype=np.int32).tobytes(), dtype=np.int32)  # over bytes
    y = tf.constant(b)
    assert np.shares_memory(y.numpy(), b) and y.numpy().tolist() == [0, 1, 2, 3]
    # Ops on a shared tensor read it; a variable built from it owns its own copy.
    assert (y * 2).numpy().tolist() == [0, 2, 4, 6]
    v = tf.Variable(y)
    v.assign_add([1, 1, 1, 1])
    assert b.tolist() == [0, 1, 2, 3] and v.numpy().tolist() == [1, 2, 3, 4]


# ---- DLPack export -------------------------------------------------------------------------

def test_numpy_consumer_and_deleter_runs_once():
    base = live()
    ref = np.arange(20, dtype=np.float32).reshape(4, 5)
    t = tf.constant(ref)
    a = np.from_dlpack(t)
    assert live() == base + 1
    assert not a.flags.writeable
    np.testing.assert_array_equal(a, ref)
    del t
    gc.collect()
    np.testing.assert_array_equal(a, ref)  # the consumer outlives the tensor
    del a
    assert live() == base


def test_capsule_unconsumed_or_consumed_twice():
    base = live()
    t = tf.constant([1, 2, 3])
    cap = t.__dlpack__()
    assert live() == base + 1
    del cap  # never consumed: its destructor deletes it
    assert live() == base
    cap = tf.experimental.dlpack.to_dlpack(t)
    u = tf.experimental.dlpack.from_dlpack(cap)
    assert u.numpy().tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="consumed once"):
        tf.experimental.dlpack.from_dlpack(cap)
    del cap, u
    assert live() == base


def test_capsule_versions():
    t = tf.constant([1.0, 2.0])
    assert "dltensor_versioned" in repr(t.__dlpack__(max_version=(1, 0)))
    assert '"dltensor"' in repr(t.__dlpack__())
    assert t.__dlpack_device__() == (1, 0)


def test_export_refusals():
    t = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(BufferError, match="copy=False"):
        tf.reverse(t, [0]).__dlpack__(max_version=(1, 0), copy=False)
    with pytest.raises(BufferError, match="device type 2"):
        t.__dlpack__(max_version=(1, 0), dl_device=(2, 0))
    with pytest.raises(BufferError, match="string"):
        tf.constant(["a"]).__dlpack__()
    c = np.from_dlpack(t, copy=True)
    assert not np.shares_memory(c, t.numpy()) and c.tolist() == [[1, 2], [3, 4]]


DTYPES = ["float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_through_numpy(dtype):
    ref = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    t = tf.from_dlpack(ref)
    assert t.dtype.name == dtype and t.shape == (3, 4)
    np.testing.assert_array_equal(t.numpy(), ref)
    np.testing.assert_array_equal(np.from_dlpack(t), ref)


# ---- DLPack import -------------------------------------------------------------------------

def test_from_dlpack_shares_and_releases_the_producer():
    a = np.arange(1 << 16, dtype=np.float32)
    r = weakref.ref(a)
    t = tf.from_dlpack(a)
    assert np.shares_memory(t.numpy(), a)
    s = tf.reduce_sum(t).numpy()
    assert s == np.float32(a.astype(np.float64).sum())
    del a
    gc.collect()
    assert r() is not None  # the tensor keeps the producer's memory
    del t
    gc.collect()
    assert r() is None


def test_from_dlpack_strided_and_misaligned_producers():
    ref = np.arange(60, dtype=np.int32).reshape(6, 10)
    np.testing.assert_array_equal(tf.from_dlpack(ref[::2, ::-3]).numpy(), ref[::2, ::-3])
    raw = np.zeros(41, dtype=np.uint8)[1:].view(np.float32)  # 4-byte elements at an odd address
    raw[:] = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(tf.from_dlpack(raw).numpy(), np.arange(10, dtype=np.float32))
    with pytest.raises(TypeError, match="from_dlpack"):
        tf.from_dlpack([1, 2])


def test_large_buffers_are_64_byte_aligned():
    for n in (1 << 16, (1 << 20) + 3):
        assert (tf.ones([n]) * 2.0).numpy().ctypes.data % 64 == 0


def test_jax_consumer_and_producer():
    jax = pytest.importorskip("jax")
    base = live()
    ref = np.arange(1 << 18, dtype=np.float32).reshape(512, 512)
    t = tf.constant(ref)
    j = jax.dlpack.from_dlpack(t)
    np.testing.assert_array_equal(np.asarray(j), ref)
    del t
    gc.collect()
    np.testing.assert_array_equal(np.asarray(j), ref)
    del j
    gc.collect()
    assert live() == base
    back = tf.from_dlpack(jax.numpy.arange(10.0, dtype="float32") * 2)
    np.testing.assert_array_equal(back.numpy(), np.arange(10, dtype=np.float32) * 2)


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed (see docs/INTEROP.md)")
def test_torch_consumer_and_producer():
    import torch

    base = live()
    ref = np.arange(30, dtype=np.float32).reshape(5, 6)
    t = tf.constant(ref)
    x = torch.from_dlpack(t)
    assert x.data_ptr() == t.numpy().ctypes.data  # no copy
    np.testing.assert_array_equal(x.numpy(), ref)
    strided = torch.from_dlpack(tf.transpose(t)[::2])
    np.testing.assert_array_equal(strided.numpy(), ref.T[::2])
    del t, x, strided
    gc.collect()
    assert live() == base
    src = torch.arange(12, dtype=torch.int64).reshape(3, 4)
    y = tf.from_dlpack(src)
    assert y.dtype == tf.int64 and y.numpy().ctypes.data == src.data_ptr()
    np.testing.assert_array_equal(y.numpy(), np.arange(12).reshape(3, 4))


# ---- host memory ---------------------------------------------------------------------------

def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def test_host_cache_reuses_and_gives_back_memory():
    info = tf.config.experimental.get_memory_info
    old = info("CPU:0")["cache_limit"]
    try:
        tf.config.experimental.set_host_cache_limit(512 << 20)
        x = tf.ones([1 << 22])
        y = x + 1.0
        del y
        before = info("CPU:0")
        assert before["cached"] >= 16 << 20  # the freed 16 MB result is kept
        z = x + 2.0  # the same size again: served from the cache
        after = info("CPU:0")
        assert after["cache_hits"] == before["cache_hits"] + 1
        assert z.numpy()[0] == 3.0
        del z
        # Beyond the limit memory goes back to the system.
        tf.config.experimental.set_host_cache_limit(0)
        assert info("CPU:0")["cached"] == 0
        big = tf.ones([1 << 26]) * 3.0  # 256 MB, written
        assert big.numpy()[-1] == 3.0
        rss = _rss()
        del big
        gc.collect()
        assert rss - _rss() >= 200 << 20
        with pytest.raises(ValueError, match="host"):
            info("GPU:0")
    finally:
        tf.config.experimental.set_host_cache_limit(old)
