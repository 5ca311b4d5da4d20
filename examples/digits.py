"""Real data: scikit-learn's bundled digits (1797 8x8 images, no download) trained with an MLP
and with a small CNN through compile/fit, and the same code run with TensorFlow/Keras for a
time comparison when it is installed.

    pip install scikit-learn        # for load_digits
    python examples/digits.py       # rstf only
    python examples/digits.py --compare   # also TensorFlow, same code, same data
"""

import sys
import time

import numpy as np
from sklearn.datasets import load_digits

import rstf


def data():
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    cut = int(0.8 * len(x))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def mlp(tf):
    return tf.keras.Sequential([
        tf.keras.Input(shape=(64,)),
        tf.keras.layers.Dense(64, activation="relu"),
        tf.keras.layers.Dense(10),
    ])


def cnn(tf):
    return tf.keras.Sequential([
        tf.keras.Input(shape=(8, 8, 1)),
        tf.keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
        tf.keras.layers.MaxPooling2D(),
        tf.keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        tf.keras.layers.MaxPooling2D(),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(10),
    ])


def train(tf, build, x, y, x_test, y_test, epochs):
    """Builds, compiles and fits a model; returns (fit seconds, test accuracy)."""
    tf.random.set_seed(0)
    model = build(tf)
    model.compile(optimizer=tf.keras.optimizers.Adam(0.003),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    t0 = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    seconds = time.perf_counter() - t0
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    return seconds, accuracy


def main():
    (x, y), (x_test, y_test) = data()
    libraries = [("rstf", rstf)]
    if "--compare" in sys.argv:
        try:
            import tensorflow
            libraries.append(("tensorflow", tensorflow))
        except ImportError:
            print("tensorflow is not installed: rstf only")
    runs = {}
    for lib, tf in libraries:
        for name, build, shape, epochs in (("MLP", mlp, (-1, 64), 30), ("CNN", cnn, (-1, 8, 8, 1), 10)):
            seconds, acc = train(tf, build, x.reshape(shape), y, x_test.reshape(shape), y_test, epochs)
            runs[(lib, name)] = seconds
            print(f"{lib:<10} {name}: {epochs} epochs in {seconds:.2f} s, test accuracy {acc:.3f}")
    for name in ("MLP", "CNN"):
        if ("tensorflow", name) in runs:
            ratio = runs[("rstf", name)] / runs[("tensorflow", name)]
            print(f"{name} fit time, rstf / tensorflow: {ratio:.2f}")


if __name__ == "__main__":
    main()
