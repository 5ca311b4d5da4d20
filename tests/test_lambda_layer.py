"""keras.layers.Lambda and Softmax: calls, shapes, and saving without ever loading code (a
Lambda's Python lambda is refused on load as Keras 3 refuses it in safe mode); losses
comparing labels (n,) with predictions (n, 1) row by row, as Keras does."""

import json
import zipfile

import numpy as np
import pytest

import rstf as tf

X = np.linspace(-1, 1, 8).astype("float32")[:, None]


@tf.keras.saving.register_keras_serializable(package="LambdaTest")
def scaled(x, factor=1.0):
    return x * factor


def unregistered(x):
    return x + 1.0


def _softmax_ref(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_lambda_calls_the_function_with_arguments_mask_and_training():
    layer = tf.keras.layers.Lambda(lambda x, k: x * k, arguments={"k": 3.0})
    np.testing.assert_allclose(layer(tf.constant([1.0, 2.0])).numpy(), [3.0, 6.0])
    seen = {}

    def f(x, mask=None, training=None):
        seen.update(mask=mask, training=training)
        return x
    tf.keras.layers.Lambda(f)(tf.constant([1.0]), mask=tf.constant([True]), training=True)
    assert seen["training"] is True and seen["mask"].numpy().tolist() == [True]
    with pytest.raises(TypeError):
        tf.keras.layers.Lambda(3)


def test_lambda_output_shape():
    layer = tf.keras.layers.Lambda(lambda x: tf.concat([x, x], axis=-1))
    assert layer.compute_output_shape((None, 4)) == (None, 8)
    assert tf.keras.layers.Lambda(lambda x: x, output_shape=(5,)).compute_output_shape((2, 3)) == (2, 5)
    by_function = tf.keras.layers.Lambda(lambda x: x, output_shape=lambda s: s[:1])
    assert by_function.compute_output_shape((2, 3)) == (2,)


def test_lambda_in_sequential_and_functional_models():
    model = tf.keras.Sequential([tf.keras.layers.Lambda(lambda x: tf.concat([x, x ** 2], axis=1)),
                                 tf.keras.layers.Dense(1, kernel_initializer="ones")])
    np.testing.assert_allclose(model(X).numpy(), X + X ** 2, rtol=1e-6)
    inputs = tf.keras.Input((1,))
    out = tf.keras.layers.Lambda(lambda x: x * 2.0)(inputs)
    assert tuple(out.shape) == (None, 1)
    np.testing.assert_allclose(tf.keras.Model(inputs, out)(X).numpy(), 2 * X)


def test_lambda_model_trains_on_rank1_labels():
    # The basics guide's model: labels of shape (n,), predictions (n, 1).
    x = np.linspace(-2, 2, 201).astype("float32")
    y = x ** 2 + 2 * x - 5
    model = tf.keras.Sequential([tf.keras.layers.Lambda(lambda x: tf.stack([x, x ** 2], axis=1)),
                                 tf.keras.layers.Dense(units=1, kernel_initializer=tf.random.normal)])
    model.compile(loss=tf.keras.losses.MSE, optimizer=tf.keras.optimizers.SGD(learning_rate=0.01))
    history = model.fit(x, y, epochs=100, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.05  # broadcasting (n,) against (n, 1) would stay near 6


def test_losses_match_ranks_as_keras():
    # keras.losses.MSE(np.zeros(3), np.arange(3.)[:, None]) is [0, 1, 4] in Keras 3
    np.testing.assert_allclose(tf.keras.losses.MSE(np.zeros(3), np.arange(3.)[:, None]).numpy(), [0, 1, 4])
    np.testing.assert_allclose(tf.keras.losses.MSE(np.zeros((3, 1)), np.arange(3.)).numpy(), [0, 1, 4])
    np.testing.assert_allclose(tf.keras.losses.MAE(np.zeros((3, 2)), np.ones((3, 2, 1))).numpy(), [1, 1, 1])
    mean = tf.keras.losses.MeanSquaredError()(np.zeros(3), np.arange(3.)[:, None])
    assert float(mean) == pytest.approx(5 / 3)


def _config(path):
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("config.json"))


def _lambda_model(fn, **kwargs):
    model = tf.keras.Sequential([tf.keras.Input((1,)), tf.keras.layers.Lambda(fn, **kwargs),
                                 tf.keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model(X)
    return model


def test_registered_function_round_trips(tmp_path):
    model = _lambda_model(scaled, arguments={"factor": 3.0})
    path = str(tmp_path / "m.keras")
    model.save(path)
    layer_doc = _config(path)["model"]["config"]["layers"][1]["__layer__"]
    assert layer_doc["config"]["function"] == {"module": __name__, "class_name": "function",
                                               "config": "LambdaTest>scaled", "registered_name": "function"}
    loaded = tf.keras.models.load_model(path)
    assert loaded.layers[0].function is scaled and loaded.layers[0].arguments == {"factor": 3.0}
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)


def test_unregistered_function_needs_custom_objects(tmp_path):
    model = _lambda_model(unregistered)
    path = str(tmp_path / "m.keras")
    model.save(path)
    with pytest.raises(ValueError, match="Could not locate function 'unregistered'"):
        tf.keras.models.load_model(path)
    loaded = tf.keras.models.load_model(path, custom_objects={"unregistered": unregistered})
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)


def test_activation_function_round_trips(tmp_path):
    model = _lambda_model(tf.nn.relu)
    path = str(tmp_path / "m.keras")
    model.save(path)
    assert tf.keras.models.load_model(path).layers[0].function is tf.nn.relu


@pytest.mark.parametrize("safe_mode", [True, False])
def test_python_lambda_is_saved_without_code_and_refused_on_load(tmp_path, safe_mode):
    model = _lambda_model(lambda x: x * 2.0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    function = _config(path)["model"]["config"]["layers"][1]["__layer__"]["config"]["function"]
    assert function["class_name"] == "__lambda__" and function["config"].get("code") is None
    with pytest.raises(ValueError, match="`Lambda` layer whose `function` is a Python lambda.*safe_mode"):
        tf.keras.models.load_model(path, safe_mode=safe_mode)


@pytest.mark.parametrize("field", ["function", "output_shape", "mask"])
def test_a_file_with_lambda_bytecode_is_refused_without_running_it(tmp_path, field):
    marker = tmp_path / "ran"
    # What Keras 3 writes for `lambda x: open(marker, "w")`: marshalled bytecode, base64.
    import base64
    import marshal

    code = compile(f"lambda x: open({str(marker)!r}, 'w') and x", "<payload>", "eval").co_consts[0]
    payload = {"class_name": "__lambda__",
               "config": {"code": base64.b64encode(marshal.dumps(code)).decode(), "defaults": None,
                          "closure": None}}
    model = _lambda_model(scaled)
    path = str(tmp_path / "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as z:
        doc, weights = json.loads(z.read("config.json")), z.read("model.weights.safetensors")
    doc["model"]["config"]["layers"][1]["__layer__"]["config"][field] = payload
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(doc))
        z.writestr("model.weights.safetensors", weights)
    for safe_mode in (True, False):
        with pytest.raises(ValueError, match=f"whose `{field}` is a Python lambda.*safe_mode"):
            tf.keras.models.load_model(path, safe_mode=safe_mode)
    assert not marker.exists()


def test_a_function_named_by_module_is_never_imported(tmp_path):
    model = _lambda_model(scaled)
    path = str(tmp_path / "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as z:
        doc, weights = json.loads(z.read("config.json")), z.read("model.weights.safetensors")
    doc["model"]["config"]["layers"][1]["__layer__"]["config"]["function"] = {
        "module": "os", "class_name": "function", "config": "system", "registered_name": "function"}
    doc["model"]["config"]["layers"][1]["__layer__"]["config"]["arguments"] = {}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(doc))
        z.writestr("model.weights.safetensors", weights)
    with pytest.raises(ValueError, match="Could not locate function 'system'"):
        tf.keras.models.load_model(path)


def test_directory_save_of_a_lambda_model_revives_from_the_graph(tmp_path):
    model = _lambda_model(lambda x: x * 2.0)
    path = str(tmp_path / "d")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    np.testing.assert_allclose(loaded(X).numpy(), model(X).numpy(), rtol=1e-6)


@pytest.mark.parametrize("axis", [-1, 0, (0, 1)])
def test_softmax(axis):
    x = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")
    got = tf.keras.layers.Softmax(axis=axis)(x).numpy()
    np.testing.assert_allclose(got, _softmax_ref(x.astype(np.float64), axis), rtol=1e-5, atol=1e-7)


def test_softmax_mask_and_config(tmp_path):
    # keras.layers.Softmax()(tf.constant([[1., 2., 3.]]), mask=tf.constant([[True, False, True]]))
    got = tf.keras.layers.Softmax()(tf.constant([[1., 2., 3.]]), mask=tf.constant([[True, False, True]]))
    np.testing.assert_allclose(got.numpy(), [[0.11920291, 0.0, 0.880797]], rtol=1e-6)
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Softmax(axis=0)])
    model.compile(optimizer="sgd", loss="mse")
    path = str(tmp_path / "s.keras")
    model.save(path)
    assert tf.keras.models.load_model(path).layers[0].axis == 0
