"""Shared by the scripts that tests/test_distribute.py runs under ``mpirun``: the data and the
model, the same in every process whatever its rank."""

import numpy as np

import rstf as tf

ROWS, FEATURES, GLOBAL_BATCH = 48, 6, 12


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, FEATURES)).astype(np.float32)
    w = rng.normal(size=(FEATURES, 1)).astype(np.float32)
    y = (x @ w + 0.1 * rng.normal(size=(ROWS, 1))).astype(np.float32)
    return x, y


def model(rank):
    """A small MLP whose initial weights differ between ranks until the strategy's scope
    makes them rank 0's (build it in the scope)."""
    tf.random.set_seed(100 + rank)
    m = tf.keras.Sequential([tf.keras.layers.Dense(8, activation="tanh"), tf.keras.layers.Dense(1)])
    m.build((None, FEATURES))
    return m


def flat_weights(m):
    return np.concatenate([np.asarray(w).reshape(-1) for w in m.weights])
