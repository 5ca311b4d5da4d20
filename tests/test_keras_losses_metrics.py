"""Keras losses, metrics, regularizers, callbacks and utils added for tutorials: losses against
numpy float64 formulas, metrics and training with regularizers against numbers printed by the
reference Keras 3 / TF 2.21 (each with the snippet that printed it)."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

import rstf as tf
from rstf.keras import callbacks as callbacks_module
from rstf.keras import losses as losses_module
from rstf.keras import metrics as metrics_module
from rstf.keras import regularizers as regularizers_module
from rstf.keras import serialization
from rstf.keras import utils as utils_module

K = tf.keras
RNG = np.random.default_rng(7)


@pytest.mark.parametrize("module", [losses_module, metrics_module, callbacks_module, utils_module,
                                    regularizers_module])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# -- losses --------------------------------------------------------------------------------------

YT = RNG.random((4, 5))
YP = RNG.random((4, 5)) + 0.05
EPS = 1e-7


def _hinge_labels(y):
    return 2 * y - 1 if np.isin(y, [0, 1]).all() else y


def _unit(v):
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), EPS)


REFERENCES = {
    "kl_divergence": lambda t, p: np.sum(np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1)),
                                         -1),
    "cosine_similarity": lambda t, p: -np.sum(_unit(t) * _unit(p), -1),
    "poisson": lambda t, p: np.mean(p - t * np.log(p + EPS), -1),
    "log_cosh": lambda t, p: np.mean(np.log(np.cosh(p - t)), -1),
    "mean_absolute_percentage_error": lambda t, p: 100 * np.mean(np.abs((t - p) / np.maximum(np.abs(t), EPS)),
                                                                 -1),
    "mean_squared_logarithmic_error": lambda t, p: np.mean((np.log(np.maximum(p, EPS) + 1)
                                                            - np.log(np.maximum(t, EPS) + 1)) ** 2, -1),
    "hinge": lambda t, p: np.mean(np.maximum(1 - _hinge_labels(t) * p, 0), -1),
    "squared_hinge": lambda t, p: np.mean(np.maximum(1 - _hinge_labels(t) * p, 0) ** 2, -1),
    "categorical_hinge": lambda t, p: np.maximum(np.max((1 - t) * p, -1) - np.sum(t * p, -1) + 1, 0),
    "huber": lambda t, p: np.mean(np.where(np.abs(p - t) <= 1, 0.5 * (p - t) ** 2, np.abs(p - t) - 0.5), -1),
}
CLASSES = {
    "kl_divergence": ("KLDivergence", "kl_divergence"),
    "cosine_similarity": ("CosineSimilarity", "cosine_similarity"),
    "poisson": ("Poisson", "poisson"), "log_cosh": ("LogCosh", "log_cosh"),
    "mean_absolute_percentage_error": ("MeanAbsolutePercentageError", "mean_absolute_percentage_error"),
    "mean_squared_logarithmic_error": ("MeanSquaredLogarithmicError", "mean_squared_logarithmic_error"),
    "hinge": ("Hinge", "hinge"), "squared_hinge": ("SquaredHinge", "squared_hinge"),
    "categorical_hinge": ("CategoricalHinge", "categorical_hinge"), "huber": ("Huber", "huber_loss"),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
@pytest.mark.parametrize("labels", ["real", "binary", "onehot"])
def test_loss_functions_and_classes_match_numpy(name, labels):
    t = {"real": YT, "binary": (YT > 0.5).astype(float), "onehot": np.eye(5)[[0, 3, 1, 4]]}[labels]
    p = (YP - 0.5) * 3 if "hinge" in name else YP
    ref = REFERENCES[name](t, p)
    fn = getattr(K.losses, name)
    np.testing.assert_allclose(np.asarray(fn(tf.constant(t), tf.constant(p))), ref, rtol=1e-10, atol=1e-12)
    cls_name, keras_name = CLASSES[name]
    loss = getattr(K.losses, cls_name)()
    assert loss.name == keras_name
    np.testing.assert_allclose(float(loss(t, p)), ref.mean(), rtol=1e-6)
    w = np.array([1.0, 0.0, 2.0, 0.5])
    np.testing.assert_allclose(float(loss(t, p, sample_weight=w)), (ref * w).sum() / 4, rtol=1e-6)
    cls = getattr(K.losses, cls_name)
    np.testing.assert_allclose(np.asarray(cls(reduction="none")(t, p)), ref, rtol=1e-6)
    np.testing.assert_allclose(float(cls(reduction="sum")(t, p)), ref.sum(), rtol=1e-6)


def test_loss_gradients_by_finite_differences():
    t = tf.constant(YT)
    for name in ("log_cosh", "kl_divergence", "cosine_similarity", "poisson", "squared_hinge",
                 "mean_squared_logarithmic_error"):
        fn = getattr(K.losses, name)
        p = tf.constant(YP)
        with tf.GradientTape() as tape:
            tape.watch(p)
            total = tf.reduce_sum(fn(t, p))
        g = np.asarray(tape.gradient(total, p))
        num = np.zeros_like(YP)
        for idx in np.ndindex(YP.shape):
            up, dn = YP.copy(), YP.copy()
            up[idx] += 1e-6
            dn[idx] -= 1e-6
            hi, lo = (float(tf.reduce_sum(fn(t, tf.constant(v)))) for v in (up, dn))
            num[idx] = (hi - lo) / 2e-6
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-7, err_msg=name)


def test_loss_classes_config_and_compile_names():
    loss = K.losses.CosineSimilarity(axis=0)
    np.testing.assert_allclose(np.asarray(loss.call(tf.constant(YT), tf.constant(YP))),
                               -np.sum(_unit(YT.T) * _unit(YP.T), -1), rtol=1e-10)
    assert serialization.get_config(loss) == {"axis": 0}
    again = serialization.deserialize(serialization.serialize(K.losses.Huber(delta=2.0)))
    assert isinstance(again, K.losses.Huber) and again._kwargs == {"delta": 2.0}
    for key in ("kld", "logcosh", "mape", "msle", "hinge", "poisson", "categorical_hinge"):
        assert callable(K.losses.get(key))
    x = RNG.standard_normal((32, 3)).astype("float32")
    model = K.Sequential([K.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="log_cosh")
    assert np.isfinite(model.evaluate(x, x[:, :1], verbose=0))


# -- metrics -------------------------------------------------------------------------------------
# The Keras numbers below come from (keras 3.15, TF 2.21):
#   rng = np.random.default_rng(0)
#   y_true = (rng.random(20) > 0.5).astype("float32"); y_pred = np.round(rng.random(20), 3).astype("float32")
#   m = keras.metrics.<Metric>(...); m.update_state(y_true, y_pred[, sample_weight=np.linspace(0.1, 2, 20)])
#   np.round(np.asarray(m.result(), "float64"), 6)

Y_TRUE = [1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0]
Y_PRED = [0.028, 0.124, 0.671, 0.647, 0.615, 0.384, 0.997, 0.981, 0.686, 0.65, 0.688, 0.389, 0.135, 0.721,
          0.525, 0.31, 0.486, 0.889, 0.934, 0.358]


@pytest.mark.parametrize("make, weighted, logits, expected", [
    (lambda: K.metrics.AUC(), False, False, 0.583333),
    (lambda: K.metrics.AUC(), True, False, 0.593704),
    (lambda: K.metrics.AUC(num_thresholds=10), False, False, 0.572917),
    (lambda: K.metrics.AUC(curve="PR"), False, False, 0.706762),
    (lambda: K.metrics.AUC(summation_method="minoring"), False, False, 0.583333),
    (lambda: K.metrics.AUC(from_logits=True), False, True, 0.583333),
    (lambda: K.metrics.Precision(), False, False, 0.666667),
    (lambda: K.metrics.Precision(thresholds=[0.3, 0.5, 0.8]), False, False, [0.588235, 0.666667, 0.75]),
    (lambda: K.metrics.Recall(), False, False, 0.666667),
    (lambda: K.metrics.Recall(), True, False, 0.691667),
])
def test_confusion_metrics_match_keras(make, weighted, logits, expected):
    y_true = np.array(Y_TRUE, "float32")
    y_pred = np.array(Y_PRED, "float32")
    if logits:  # keras: m.update_state(y_true, (y_pred - 0.5) * 4)
        y_pred = (y_pred - 0.5) * 4
    weight = np.linspace(0.1, 2, 20) if weighted else None
    m = make()
    m.update_state(y_true[:7], y_pred[:7], sample_weight=None if weight is None else weight[:7])
    m.update_state(y_true[7:], y_pred[7:], sample_weight=None if weight is None else weight[7:])
    np.testing.assert_allclose(np.asarray(m.result()), expected, atol=2e-6)
    m.reset_state()
    np.testing.assert_allclose(np.asarray(m.result()), np.zeros_like(expected))


# yt2 = np.array([[0, 0, 1, 1], [1, 0, 0, 1], [0, 1, 1, 0]], "float32")
# yp2 = np.array([[0.2, 0.9, 0.6, 0.1], [0.8, 0.1, 0.7, 0.4], [0.3, 0.5, 0.2, 0.9]], "float32")
# yp3 = np.array([[0.1, 0.5, 0.2, 0.2], [0.3, 0.3, 0.3, 0.1], [0.6, 0.1, 0.2, 0.1]], "float32")
# lab = np.array([3, 2, 1])
YT2 = np.array([[0, 0, 1, 1], [1, 0, 0, 1], [0, 1, 1, 0]], "float32")
YP2 = np.array([[0.2, 0.9, 0.6, 0.1], [0.8, 0.1, 0.7, 0.4], [0.3, 0.5, 0.2, 0.9]], "float32")
YP3 = np.array([[0.1, 0.5, 0.2, 0.2], [0.3, 0.3, 0.3, 0.1], [0.6, 0.1, 0.2, 0.1]], "float32")
LAB = np.array([3, 2, 1])


@pytest.mark.parametrize("make, args, kwargs, expected", [
    (lambda: K.metrics.Precision(top_k=2), (YT2, YP2), {}, 0.5),
    (lambda: K.metrics.Recall(top_k=2), (YT2, YP2), {}, 0.5),
    (lambda: K.metrics.Precision(class_id=2), (YT2, YP2), {}, 0.5),
    (lambda: K.metrics.F1Score(), (YT2, YP2), {}, [1.0, 0.0, 0.0, 0.0]),
    (lambda: K.metrics.F1Score(average="macro", threshold=0.5), (YT2, YP2), {}, 0.375),
    (lambda: K.metrics.F1Score(average="micro", threshold=0.5), (YT2, YP2), {}, 0.363636),
    (lambda: K.metrics.F1Score(average="weighted", threshold=0.5), (YT2, YP2), {}, 0.333333),
    (lambda: K.metrics.TopKCategoricalAccuracy(k=2), (np.eye(4)[LAB], YP3), {}, 0.666667),
    (lambda: K.metrics.SparseTopKCategoricalAccuracy(k=2), (LAB, YP3), {}, 0.666667),
    (lambda: K.metrics.SparseTopKCategoricalAccuracy(k=1), (LAB[:, None], YP3), {}, 0.333333),
    (lambda: K.metrics.RootMeanSquaredError(), (YT2, YP2), {}, 0.613052),
    (lambda: K.metrics.RootMeanSquaredError(), (YT2, YP2), {"sample_weight": np.array([1.0, 2.0, 0.5])},
     0.567891),
    (lambda: K.metrics.MeanSquaredError(), (np.array([1.0, 2.0]), np.array([[1.5], [1.0]])), {}, 0.625),
    (lambda: K.metrics.MeanAbsoluteError(), (YT2, YP2), {}, 0.541667),
])
def test_more_metrics_match_keras(make, args, kwargs, expected):
    m = make()
    m.update_state(*args, **kwargs)
    np.testing.assert_allclose(np.asarray(m.result()), expected, atol=2e-6)


def test_metric_names_and_compile_strings():
    assert [K.metrics.AUC().name, K.metrics.Precision().name, K.metrics.Recall().name,
            K.metrics.RootMeanSquaredError().name, K.metrics.TopKCategoricalAccuracy().name,
            K.metrics.F1Score().name] == ["auc", "precision", "recall", "root_mean_squared_error",
                                          "top_k_categorical_accuracy", "f1_score"]
    assert len(K.metrics.AUC().thresholds) == 200
    x = np.linspace(-1, 1, 64).astype("float32")[:, None]
    y = (x > 0).astype("float32")
    model = K.Sequential([K.layers.Dense(1, activation="sigmoid", kernel_initializer="ones")])
    model.compile(optimizer="sgd", loss="binary_crossentropy",
                  metrics=["auc", K.metrics.Precision(), "recall"])
    logs = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    assert logs["auc"] == pytest.approx(1.0) and logs["precision"] == pytest.approx(1.0)
    assert logs["recall"] == pytest.approx(1.0)


# -- regularizers --------------------------------------------------------------------------------

def test_regularizers_values_get_and_errors():
    x = RNG.standard_normal((3, 4))
    np.testing.assert_allclose(float(K.regularizers.L1(0.3)(x)), 0.3 * np.abs(x).sum(), rtol=1e-12)
    np.testing.assert_allclose(float(K.regularizers.L2(0.3)(x)), 0.3 * (x ** 2).sum(), rtol=1e-12)
    np.testing.assert_allclose(float(K.regularizers.L1L2(0.1, 0.2)(x)),
                               0.1 * np.abs(x).sum() + 0.2 * (x ** 2).sum(), rtol=1e-12)
    assert K.regularizers.get("l2").get_config() == {"l2": 0.01}
    assert K.regularizers.get("l1l2").get_config() == {"l1": 0.0, "l2": 0.0}
    assert K.regularizers.get(None) is None
    with pytest.raises(ValueError, match="Invalid value for argument l2: expected a non-negative float"):
        K.regularizers.L2(-1)
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier: l1_l2"):
        K.regularizers.get("l1_l2")


def test_layer_losses_follow_keras():
    dense = K.layers.Dense(2, kernel_initializer="ones", bias_initializer="ones", kernel_regularizer="l2",
                           bias_regularizer=K.regularizers.L1(0.5),
                           activity_regularizer=K.regularizers.L2(0.25))
    x = np.ones((4, 3), "float32")
    dense(x)
    act, kernel, bias = (float(v) for v in dense.losses)
    assert act == pytest.approx(0.25 * 16 * 8 / 4)
    assert kernel == pytest.approx(0.01 * 6) and bias == pytest.approx(1.0)
    dense(x[:2])  # the next outermost call replaces the activity loss
    assert len(dense.losses) == 3 and float(dense.losses[0]) == pytest.approx(0.25 * 16 * 4 / 2)
    dense.trainable = False
    assert len(dense.losses) == 1  # weight penalties only of trainable weights, as Keras
    config = serialization.get_config(dense)
    again = serialization.deserialize(serialization.serialize(dense))
    assert isinstance(again.bias_regularizer, K.regularizers.L1) and config["kernel_regularizer"] == "l2"


# Keras 3 / TF 2.21, the same script (keras = tf.keras in rstf) printed:
#   eval 2.25347 / hist [2.25347, 1.18574, 0.83803] / losses [0.06034, 0.6244, 0.01339, 0.03661]
#   w[:6] [1.06224, -1.29516, 0.20366, -0.25031, -0.13111, -0.18336]
def test_fit_adds_regularization_losses_as_keras():
    L = K.layers
    x = np.linspace(-1, 1, 24).reshape(8, 3).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.3).astype("float32")
    inp = K.Input((3,))
    h = L.Dense(4, kernel_regularizer=K.regularizers.L2(0.1), bias_regularizer=K.regularizers.L1(0.01),
                activity_regularizer=K.regularizers.L1(0.05), activation="tanh")(inp)
    h2 = L.Dense(4, activation="relu")(h)
    c = L.Concatenate()([L.Add()([h, h2]), inp])
    model = K.Model(inp, L.Dense(1, kernel_regularizer="l1")(c))
    rng = np.random.default_rng(3)
    model.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.5 for w in model.get_weights()])
    model.compile(optimizer=K.optimizers.SGD(0.1), loss="mse")
    assert model.evaluate(x, y, verbose=0, batch_size=8) == pytest.approx(2.25347, abs=2e-5)
    hist = model.fit(x, y, epochs=3, batch_size=8, verbose=0, shuffle=False)
    np.testing.assert_allclose(hist.history["loss"], [2.25347, 1.18574, 0.83803], atol=2e-5)
    np.testing.assert_allclose(model.get_weights()[0].ravel()[:6],
                               [1.06224, -1.29516, 0.20366, -0.25031, -0.13111, -0.18336], atol=2e-5)
    model(x)
    np.testing.assert_allclose([float(v) for v in model.losses], [0.06034, 0.6244, 0.01339, 0.03661],
                               atol=2e-5)


# -- callbacks -----------------------------------------------------------------------------------

def test_reduce_lr_on_plateau_follows_keras():
    # keras: cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, cooldown=1, min_lr=0.1) on a
    # model whose optimizer has learning_rate 1.0; cb.on_train_begin(); cb.on_epoch_end(e, {"loss": v})
    # for v in [5, 4, 4, 4, 4, 4, 4, 4, 3, 3, 3, 3] gave these learning rates.
    model = K.Sequential([K.layers.Dense(1)])
    model.compile(optimizer=K.optimizers.SGD(1.0), loss="mse")
    cb = K.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, cooldown=1, min_lr=0.1)
    cb.set_model(model)
    cb.on_train_begin()
    lrs = []
    for e, loss in enumerate([5, 4, 4, 4, 4, 4, 4, 4, 3, 3, 3, 3]):
        logs = {"loss": float(loss)}
        cb.on_epoch_end(e, logs)
        lrs.append(round(float(model.optimizer.learning_rate), 6))
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.125, 0.1, 0.1]
    assert logs["learning_rate"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="does not support a factor >= 1.0"):
        K.callbacks.ReduceLROnPlateau(factor=1.0)
    with pytest.raises(ValueError, match="isn't able to automatically determine"):
        K.callbacks.ReduceLROnPlateau(monitor="foo").on_epoch_end(0, {"foo": 1.0})


def test_lambda_callback_hooks():
    events = []
    cb = K.callbacks.LambdaCallback(
        on_train_begin=lambda logs: events.append("begin"),
        on_epoch_end=lambda epoch, logs: events.append((epoch, sorted(logs))),
        on_train_batch_end=lambda batch, logs: events.append(batch),
        on_train_end=lambda logs: events.append("end"))
    model = K.Sequential([K.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 2)), np.ones((8, 1)), batch_size=4, epochs=2, verbose=0, callbacks=[cb])
    assert events == ["begin", 0, 1, (0, ["loss"]), 0, 1, (1, ["loss"]), "end"]


# -- utils ---------------------------------------------------------------------------------------

def test_to_categorical_normalize_and_seed():
    out = K.utils.to_categorical(np.array([[1], [0], [2]]))
    assert out.dtype == np.float64 and out.tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 1]]
    assert K.utils.to_categorical([1, 3], num_classes=5).shape == (2, 5)
    t = K.utils.to_categorical(tf.constant([2, 0]), num_classes=3)
    assert np.asarray(t).tolist() == [[0, 0, 1], [1, 0, 0]]
    x = RNG.standard_normal((3, 4))
    np.testing.assert_allclose(K.utils.normalize(x), x / np.linalg.norm(x, axis=-1, keepdims=True))
    np.testing.assert_allclose(K.utils.normalize(x, axis=1, order=1),
                               x / np.abs(x).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(np.asarray(K.utils.normalize(tf.constant(x), axis=0)),
                               x / np.linalg.norm(x, axis=0, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(K.utils.normalize(tf.constant(x))),
                               x / np.linalg.norm(x, axis=-1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(K.utils.normalize(tf.constant(x), order=1)),
                               x / np.abs(x).sum(axis=-1, keepdims=True), rtol=1e-12)
    K.utils.set_random_seed(3)
    a = (np.random.random(), tf.random.normal([3]).numpy(), __import__("random").random())
    K.utils.set_random_seed(3)
    b = (np.random.random(), tf.random.normal([3]).numpy(), __import__("random").random())
    assert a[0] == b[0] and a[2] == b[2] and (a[1] == b[1]).all()
    with pytest.raises(ValueError, match="Expected `seed` argument to be an integer"):
        K.utils.set_random_seed(1.5)
    assert math.isclose(float(np.sum(K.utils.to_categorical([0, 1, 1]))), 3.0)
