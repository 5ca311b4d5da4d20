"""tf.random beyond normal/uniform (python/rstf/random.py, python/rstf/_generator.py): stateless
ops (determinism per seed, bounds, moments), shuffle, categorical, gamma, poisson and
tf.random.Generator (state variable, checkpoints, traced functions). Statistical checks use
large samples and bounds of about six standard errors, so that they cannot flake."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import check_exact

import rstf as tf

N = 200_000


def moments(t):
    a = np.asarray(t, np.float64).reshape(-1)
    return a.mean(), a.var()


def assert_mean_var(t, mean, var, n=N):
    m, v = moments(t)
    assert abs(m - mean) < 6 * math.sqrt(var / n), (m, mean)
    assert abs(v - var) < 0.05 * var, (v, var)


# ----------------------------------------------------------------------------- stateless

@pytest.mark.parametrize("op", ["uniform", "normal", "truncated_normal"])
def test_stateless_ops_depend_only_on_the_seed(op):
    f = getattr(tf.random, f"stateless_{op}")
    a, b, c = f([4, 5], seed=[1, 2]), f([4, 5], seed=[1, 2]), f([4, 5], seed=[2, 1])
    check_exact(a, b.numpy(), "float32")
    assert not np.array_equal(a.numpy(), c.numpy())
    tf.random.set_seed(5)  # the global seed plays no part
    check_exact(f([4, 5], seed=[1, 2]), a.numpy(), "float32")
    assert f([3], seed=[1, 2], dtype=tf.float64).dtype == tf.float64


def test_stateless_moments_and_bounds():
    u = tf.random.stateless_uniform([N], seed=[3, 4], minval=-2.0, maxval=6.0)
    assert float(tf.reduce_min(u)) >= -2.0 and float(tf.reduce_max(u)) < 6.0
    assert_mean_var(u, 2.0, 64 / 12)
    assert_mean_var(tf.random.stateless_normal([N], seed=[3, 4], mean=1.0, stddev=3.0), 1.0, 9.0)
    t = tf.random.stateless_truncated_normal([N], seed=[3, 4], dtype=tf.float64)
    assert float(tf.reduce_max(tf.abs(t))) <= 2.0
    # the variance of a standard normal cut at +-2: 1 - 4 phi(2) / (2 Phi(2) - 1)
    phi2 = math.exp(-2) / math.sqrt(2 * math.pi)
    assert_mean_var(t, 0.0, 1 - 4 * phi2 / math.erf(2 / math.sqrt(2)))


def test_stateless_integers():
    x = tf.random.stateless_uniform([N], seed=[1, 2], minval=-3, maxval=7, dtype=tf.int32)
    assert x.dtype == tf.int32
    counts = np.bincount(x.numpy() + 3, minlength=10)
    assert counts.size == 10 and np.all(np.abs(counts - N / 10) < 6 * math.sqrt(N / 10))
    full = tf.random.stateless_uniform([N], seed=[1, 2], minval=None, maxval=None, dtype=tf.int64).numpy()
    assert full.dtype == np.int64 and full.min() < -2**62 and full.max() > 2**62
    full32 = tf.random.stateless_uniform([1000], seed=[1, 2], minval=None, maxval=None, dtype=tf.int32)
    assert full32.dtype == tf.int32 and full32.numpy().min() < -2**30


def test_stateless_errors_as_tensorflow():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"seed must have shape \[2\], not \[3\]"):
        tf.random.stateless_uniform([2], seed=[1, 2, 3])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"seed must have shape \[2\], not \[\]"):
        tf.random.stateless_uniform([2], seed=1)
    with pytest.raises(ValueError, match="must be both None or not None"):
        tf.random.stateless_uniform([2], seed=[1, 2], dtype=tf.int32)
    with pytest.raises(ValueError, match="Argument `dtype` got invalid value"):
        tf.random.stateless_uniform([2], seed=[1, 2], dtype=tf.uint8, maxval=3)
    with pytest.raises(TypeError, match="Cannot convert 0.0 to EagerTensor of dtype int32"):
        tf.random.stateless_normal([2], seed=[1, 2], dtype=tf.int32)


def test_stateless_ops_in_a_traced_function_follow_the_seed():
    @tf.function
    def f(seed):
        return tf.random.stateless_normal([3], seed)

    a, b = f(tf.constant([1, 2])), f(tf.constant([1, 2]))
    check_exact(a, b.numpy(), "float32")
    check_exact(a, tf.random.stateless_normal([3], [1, 2]).numpy(), "float32")
    assert not np.array_equal(f(tf.constant([1, 3])).numpy(), a.numpy())


# ----------------------------------------------------------------------------- shuffle, categorical

def test_shuffle_permutes_the_first_dimension():
    x = tf.reshape(tf.range(20), [10, 2])
    y = tf.random.shuffle(x, seed=3).numpy()
    assert sorted(y[:, 0].tolist()) == list(range(0, 20, 2))
    np.testing.assert_array_equal(y[:, 1], y[:, 0] + 1)  # rows stay whole
    check_exact(tf.random.shuffle(tf.constant(3)), 3, "int32")


def test_shuffle_seeding_and_uniformity():
    tf.random.set_seed(7)
    a = [tf.random.shuffle(tf.range(6), seed=1).numpy() for _ in range(2)]
    tf.random.set_seed(7)
    b = [tf.random.shuffle(tf.range(6), seed=1).numpy() for _ in range(2)]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[0], a[1])  # a second call draws anew
    # where element 0 lands is uniform over the 4 positions
    lands = np.bincount([int(np.argmax(tf.random.shuffle(tf.range(4)).numpy() == 0)) for _ in range(4000)],
                        minlength=4)
    assert np.all(np.abs(lands - 1000) < 6 * math.sqrt(1000))


def test_shuffle_in_a_traced_function_draws_each_run():
    @tf.function
    def f(x):
        return tf.random.shuffle(x)

    runs = {tuple(f(tf.range(8)).numpy().tolist()) for _ in range(5)}
    assert len(runs) > 1 and all(sorted(r) == list(range(8)) for r in runs)


def test_categorical_frequencies_follow_softmax():
    logits = tf.math.log([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]])
    s = tf.random.categorical(logits, 30000, seed=2)
    assert s.dtype == tf.int64 and s.shape == (2, 30000)
    for row, p in zip(s.numpy(), ([0.1, 0.2, 0.7], [0.5, 0.5, 0.0])):
        freq = np.bincount(row, minlength=3) / 30000
        assert np.all(np.abs(freq - p) < 6 * np.sqrt(np.array(p) * (1 - np.array(p)) / 30000) + 1e-9), freq
    s32 = tf.random.stateless_categorical(logits, 10, seed=[1, 1], dtype=tf.int32)
    assert s32.dtype == tf.int32
    again = tf.random.stateless_categorical(logits, 10, seed=[1, 1], dtype=tf.int32)
    check_exact(s32, again.numpy(), "int32")


def test_categorical_errors_as_tensorflow():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"logits should be a matrix, got shape \[2\]"):
        tf.random.categorical([0.0, 0.0], 3)
    with pytest.raises(ValueError, match=r"Accepted dtypes are \(tf.int32, tf.int64\)"):
        tf.random.categorical([[0.0, 0.0]], 3, dtype=tf.float32)


def test_gamma_and_poisson_moments():
    g = tf.random.gamma([N], [0.5, 3.0], beta=[1.0, 2.0], seed=4, dtype=tf.float64)
    assert g.shape == (N, 2) and g.dtype == tf.float64
    assert_mean_var(g[:, 0], 0.5, 0.5)
    assert_mean_var(g[:, 1], 1.5, 0.75)
    p = tf.random.poisson([N], [4.0], dtype=tf.int32, seed=4)
    assert p.shape == (N, 1) and p.dtype == tf.int32
    assert_mean_var(p, 4.0, 4.0)
    with pytest.raises(ValueError, match="not inexact"):
        tf.random.gamma([2], 1, dtype=tf.int32)


# ----------------------------------------------------------------------------- Generator

def test_generator_state_is_a_variable_and_streams_repeat():
    g = tf.random.Generator.from_seed(1234)
    assert isinstance(g.state, tf.Variable) and not g.state.trainable
    # tf.random.Generator.from_seed(1234).state -> [1234, 0, 0] int64
    check_exact(g.state.value(), [1234, 0, 0], "int64")
    a, b = g.normal([5]), g.normal([5])
    assert not np.array_equal(a.numpy(), b.numpy())
    g.reset_from_seed(1234)
    check_exact(g.normal([5]), a.numpy(), "float32")
    h = tf.random.Generator.from_seed(1235)
    assert not np.array_equal(h.normal([5]).numpy(), a.numpy())


def test_generator_draws():
    g = tf.random.Generator.from_seed(9)
    x = g.uniform([N], minval=2, maxval=5, dtype=tf.int64)
    assert x.dtype == tf.int64 and set(np.unique(x.numpy()).tolist()) == {2, 3, 4}
    assert_mean_var(g.uniform([N]), 0.5, 1 / 12)
    assert_mean_var(g.normal([N], mean=-1.0, stddev=2.0, dtype=tf.float64), -1.0, 4.0)
    assert float(tf.reduce_max(tf.abs(g.truncated_normal([1000])))) <= 2.0
    assert g.uniform_full_int([3], dtype=tf.int32).dtype == tf.int32
    assert g.make_seeds(4).shape == (2, 4)
    with pytest.raises(ValueError, match="minval and maxval must be both"):
        g.uniform([2], dtype=tf.int32)


def test_generator_split_and_global():
    g = tf.random.Generator.from_seed(1)
    a, b = g.split(2)
    assert not np.array_equal(a.normal([4]).numpy(), b.normal([4]).numpy())
    g.reset_from_seed(1)
    a2, _ = g.split(2)
    a.reset(a2.state.numpy())  # same state, same numbers
    check_exact(a.normal([4]), a2.normal([4]).numpy(), "float32")
    old = tf.random.get_global_generator()
    assert isinstance(old, tf.random.Generator)
    tf.random.set_global_generator(tf.random.Generator.from_seed(5))
    try:
        check_exact(tf.random.get_global_generator().normal([2]),
                    tf.random.Generator.from_seed(5).normal([2]).numpy(), "float32")
    finally:
        tf.random.set_global_generator(old)
    assert tf.random.Generator.from_non_deterministic_state().state.shape == (3,)


def test_generator_in_a_traced_function_and_checkpoint(tmp_path):
    g = tf.random.Generator.from_seed(3)

    @tf.function
    def f():
        return g.normal([3])

    a, b = f(), f()
    assert not np.array_equal(a.numpy(), b.numpy())
    check_exact(g.state.value(), [5, 0, 0], "int64")
    ck = tf.train.Checkpoint(gen=g)
    path = ck.write(str(tmp_path / "ckpt"))
    c = g.normal([3])
    g.normal([3])
    ck.read(path)
    check_exact(g.normal([3]), c.numpy(), "float32")
    fresh = tf.random.Generator.from_seed(3)
    check_exact(fresh.normal([3]), a.numpy(), "float32")  # traced draws are the eager ones
