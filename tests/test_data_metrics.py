"""rstf.data pipelines, Keras metrics, and the ModelCheckpoint/CSVLogger callbacks."""

import csv
import os

import numpy as np
import pytest

import rstf as tf

# -- rstf.data ----------------------------------------------------------------------------------


def test_slices_of_tuples_and_dicts():
    x, y = np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5)
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    items = list(ds)
    assert len(items) == len(ds) == 5
    assert isinstance(items[0][0], tf.Tensor) and items[0][0].numpy().tolist() == [0.0, 1.0]
    assert int(items[4][1]) == 4
    d = tf.data.Dataset.from_tensor_slices({"a": x, "b": y}).batch(2)
    first = next(iter(d))
    assert set(first) == {"a", "b"} and first["a"].shape == (2, 2)
    with pytest.raises(ValueError, match="different first dimensions"):
        tf.data.Dataset.from_tensor_slices((x, np.arange(3)))


@pytest.mark.parametrize("drop", [False, True])
def test_batch_sizes(drop):
    sizes = [int(b.shape[0]) for b in tf.data.Dataset.range(10).batch(4, drop_remainder=drop)]
    assert sizes == ([4, 4] if drop else [4, 4, 2])
    assert tf.data.Dataset.range(10).batch(4, drop_remainder=drop).cardinality() == len(sizes)
    # The element-by-element path (after map) batches the same way.
    mapped = tf.data.Dataset.range(10).map(lambda v: v * 2).batch(4, drop_remainder=drop)
    assert [b.numpy().tolist() for b in mapped][0] == [0, 2, 4, 6]


def test_shuffle_is_a_permutation_and_reshuffles():
    ds = tf.data.Dataset.range(50).shuffle(50, seed=7)
    a, b = [int(v) for v in ds], [int(v) for v in ds]
    assert sorted(a) == list(range(50)) and a != b
    fixed = tf.data.Dataset.range(50).shuffle(50, seed=7, reshuffle_each_iteration=False)
    assert [int(v) for v in fixed] == [int(v) for v in fixed]
    small = tf.data.Dataset.range(50).shuffle(5, seed=1)  # a buffer smaller than the data
    assert sorted(int(v) for v in small) == list(range(50))
    batched = tf.data.Dataset.range(20).shuffle(100, seed=3).batch(6)
    assert sorted(int(v) for b in batched for v in b.numpy()) == list(range(20))


def test_map_filter_repeat_take_skip_cache():
    ds = tf.data.Dataset.range(6).filter(lambda v: v % 2 == 1).map(lambda v: v * 10)
    assert [int(v) for v in ds] == [10, 30, 50]
    assert [int(v) for v in tf.data.Dataset.range(3).repeat(2)] == [0, 1, 2, 0, 1, 2]
    assert [int(v) for v in tf.data.Dataset.range(3).repeat().take(7)] == [0, 1, 2, 0, 1, 2, 0]
    assert tf.data.Dataset.range(3).repeat().cardinality() == tf.data.INFINITE_CARDINALITY
    assert [int(v) for v in tf.data.Dataset.range(5).skip(3)] == [3, 4]
    pairs = tf.data.Dataset.from_tensor_slices((np.arange(3), np.arange(3) * 2)).map(lambda a, b: a + b)
    assert [int(v) for v in pairs] == [0, 3, 6]
    calls = []
    cached = tf.data.Dataset.range(3).map(lambda v: calls.append(1) or v).cache()
    list(cached), list(cached)
    assert len(calls) == 3
    assert tf.data.Dataset.range(4).prefetch(tf.data.AUTOTUNE).cardinality() == 4
    with pytest.raises(TypeError):
        len(tf.data.Dataset.range(3).repeat())


def test_fit_evaluate_predict_with_a_dataset():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], np.float32))[:, None]
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(64, seed=0).batch(16)
    model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
    model.compile(optimizer=tf.optimizers.SGD(0.1), loss="mse")
    history = model.fit(ds, epochs=20, verbose=0, validation_data=ds)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]
    assert "val_loss" in history.history
    assert model.evaluate(ds, verbose=0) == pytest.approx(history.history["val_loss"][-1], rel=1e-5)
    assert model.predict(ds).shape == (64, 1)
    with pytest.raises(ValueError, match="not supported when using a dataset"):
        model.fit(ds, y, epochs=1, verbose=0)


# -- metrics ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls, y_true, y_pred, expected", [
    (tf.keras.metrics.Accuracy, [1, 2, 3], [1, 2, 4], 2 / 3),
    (tf.keras.metrics.BinaryAccuracy, [[1], [0], [1]], [[0.9], [0.2], [0.4]], 2 / 3),
    (tf.keras.metrics.CategoricalAccuracy, [[0, 1], [1, 0]], [[0.2, 0.8], [0.3, 0.7]], 0.5),
    (tf.keras.metrics.SparseCategoricalAccuracy, [[1], [0]], [[0.2, 0.8], [0.3, 0.7]], 0.5),
    (tf.keras.metrics.MeanSquaredError, [[0.0, 1.0]], [[1.0, 1.0]], 0.5),
    (tf.keras.metrics.MeanAbsoluteError, [[0.0, 1.0]], [[2.0, 1.0]], 1.0),
])
def test_metric_values(cls, y_true, y_pred, expected):
    m = cls()
    m.update_state(y_true, y_pred)
    assert float(m.result()) == pytest.approx(expected)
    m.reset_state()
    assert float(m.result()) == 0.0


def test_mean_with_weights_accumulates():
    m = tf.keras.metrics.Mean()
    m.update_state([1.0, 2.0, 3.0])
    m.update_state([4.0], sample_weight=[3.0])
    assert float(m.result()) == 3.0
    assert len(m.variables) == 2


def test_metrics_in_compile():
    model = tf.keras.Sequential([tf.keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy",
                           tf.keras.metrics.SparseCategoricalAccuracy(name="acc")])
    x = np.random.default_rng(1).random((12, 4)).astype(np.float32)
    h = model.fit(x, np.arange(12) % 3, epochs=1, verbose=0)
    assert h.history["acc"] == h.history["sparse_categorical_accuracy"]
    with pytest.raises(ValueError, match="Unknown metric"):
        tf.keras.metrics.get("nope")


# -- callbacks ----------------------------------------------------------------------------------


def _model():
    model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
    model.compile(optimizer=tf.optimizers.SGD(0.05), loss="mse")
    return model


def test_model_checkpoint_best_only(tmp_path):
    x = np.linspace(-1, 1, 32, dtype=np.float32)[:, None]
    model = _model()
    cb = tf.keras.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), monitor="loss", save_best_only=True)
    model.fit(x, 2 * x, epochs=5, verbose=0, callbacks=[cb])
    loaded = tf.keras.models.load_model(str(tmp_path / "best.keras"))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    every = tf.keras.callbacks.ModelCheckpoint(str(tmp_path / "e{epoch:02d}-{loss:.3f}.weights.h5"),
                                               save_weights_only=True)
    model.fit(x, 2 * x, epochs=2, verbose=0, callbacks=[every])
    names = sorted(n for n in os.listdir(tmp_path) if n.startswith("e"))
    assert [n[:3] for n in names] == ["e01", "e02"]


def test_csv_logger(tmp_path):
    x = np.linspace(-1, 1, 32, dtype=np.float32)[:, None]
    path = str(tmp_path / "log.csv")
    model = _model()
    model.fit(x, x, epochs=3, verbose=0, validation_data=(x, x),
              callbacks=[tf.keras.callbacks.CSVLogger(path)])
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "loss", "val_loss"] and [r[0] for r in rows[1:]] == ["0", "1", "2"]
    model.fit(x, x, epochs=1, verbose=0, callbacks=[tf.keras.callbacks.CSVLogger(path, append=True)])
    rows = list(csv.reader(open(path)))
    assert len(rows) == 5 and rows[4][0] == "0"
