"""Writes the saved models that the Rust tests load (run from the repository root:
``python tests/data/make_fixtures.py``); ``tests/test_saving.py`` checks they are current."""

import os
import sys

import rstf as tf


class MyModule(tf.Module):
    def __init__(self, value):
        self.weight = tf.Variable(value)

    @tf.function
    def multiply(self, x):
        return x * self.weight


def seed_module():
    mod = MyModule(3)
    mod.multiply(tf.constant([1, 2, 3]))
    return mod


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "seed_module")
    tf.saved_model.save(seed_module(), out)
