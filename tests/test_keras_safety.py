"""Loading a Keras model from an untrusted file: no code named in the file runs (Keras 3 finds
only its own and registered classes), and a small zip cannot unpack to gigabytes."""

import json
import os
import sys
import time
import zipfile

import numpy as np
import pytest
from helpers import edit_saved_model

import rstf as tf

X = np.linspace(-1, 1, 8).astype("float32")[:, None]


def _model():
    model = tf.keras.Sequential([tf.keras.layers.Dense(3), tf.keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X, X, epochs=1, verbose=0)
    return model


def _rewrite_keras(path, edit, out=None, compression=zipfile.ZIP_STORED):
    """Copies the .keras zip at ``path`` with ``edit(model_doc)`` applied to its config."""
    with zipfile.ZipFile(path) as z:
        doc = json.loads(z.read("config.json"))
        weights = z.read("model.weights.safetensors")
    edit(doc["model"])
    out = out or path
    with zipfile.ZipFile(out, "w", compression) as z:
        z.writestr("config.json", json.dumps(doc))
        z.writestr("model.weights.safetensors", weights)
    return out


@pytest.fixture
def payloads(tmp_path, monkeypatch):
    """Configs naming code to run: ``subprocess.Popen`` (a command that creates a file) and a
    module on sys.path that creates a file when imported."""
    ran = tmp_path / "ran"
    imported = tmp_path / "imported"
    (tmp_path / "rstf_probe_module.py").write_text(
        f"open({str(imported)!r}, 'w').close()\nclass Anything:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "rstf_probe_module" not in sys.modules
    yield {
        "popen": {"class_name": "Popen", "module": "subprocess", "config": {"args": ["touch", str(ran)]}},
        "import": {"class_name": "Anything", "module": "rstf_probe_module", "config": {}},
    }
    time.sleep(0.05)  # a command started by mistake would have created its file by now
    assert not ran.exists(), "loading ran a command named in the file"
    assert not imported.exists() and "rstf_probe_module" not in sys.modules, "loading imported a module"


def _put(where, payload):
    def edit(meta):
        if where == "model":
            meta.update(payload)
        elif where == "nested layer":
            meta["config"]["layers"][1] = {"__layer__": payload}
        else:
            meta["compile"]["optimizer"] = payload
    return edit


@pytest.mark.parametrize("where", ["model", "nested layer", "compile.optimizer"])
@pytest.mark.parametrize("kind", ["popen", "import"])
def test_keras_file_naming_code_is_refused(tmp_path, payloads, where, kind):
    path = str(tmp_path / "m.keras")
    _model().save(path)
    _rewrite_keras(path, _put(where, payloads[kind]))
    with pytest.raises(ValueError, match="register_keras_serializable"):
        tf.keras.models.load_model(path)


def _edit_saved_dir(path, edit):
    """Edits a model directory's keras metadata, with a new checksum as an attacker would."""
    edit_saved_model(path, lambda doc: edit(doc["objects"][0]["extra"]["keras"]))


@pytest.mark.parametrize("where", ["model", "nested layer"])
@pytest.mark.parametrize("kind", ["popen", "import"])
def test_model_directory_with_an_unknown_class_is_revived_without_imports(tmp_path, payloads, where, kind):
    model = _model()
    path = str(tmp_path / "d")
    model.save(path)
    _edit_saved_dir(path, _put(where, payloads[kind]))
    loaded = tf.keras.models.load_model(path)
    assert not isinstance(loaded, tf.keras.Sequential)  # revived from the traced functions
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)


def test_model_directory_with_a_code_optimizer_is_refused(tmp_path, payloads):
    path = str(tmp_path / "d")
    _model().save(path)
    _edit_saved_dir(path, _put("compile.optimizer", payloads["popen"]))
    with pytest.raises(ValueError, match="Unknown class 'Popen'"):
        tf.keras.models.load_model(path)
    assert isinstance(tf.keras.models.load_model(path, compile=False), tf.keras.Model)


class Unregistered(tf.keras.Model):
    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.dense = tf.keras.layers.Dense(units)

    def call(self, x):
        return self.dense(x)


@tf.keras.saving.register_keras_serializable(package="SafetyTest")
class Registered(Unregistered):
    pass


def test_only_registered_or_given_classes_are_found(tmp_path):
    for cls in (Unregistered, Registered):
        cls(3)(X)
        cls(3).save(str(tmp_path / f"{cls.__name__}.keras"))
    # This module is imported, but a class is not looked up by its module (Keras 3).
    path = str(tmp_path / "Unregistered.keras")
    with pytest.raises(ValueError, match="Unknown class 'Unregistered'.*custom_objects"):
        tf.keras.models.load_model(path)
    loaded = tf.keras.models.load_model(path, custom_objects={"Unregistered": Unregistered})
    assert type(loaded) is Unregistered
    with tf.keras.utils.custom_object_scope({"Unregistered": Unregistered}):
        assert type(tf.keras.models.load_model(path)) is Unregistered
    # A registered class is saved under its registered name and found by it.
    with zipfile.ZipFile(str(tmp_path / "Registered.keras")) as z:
        meta = json.loads(z.read("config.json"))["model"]
    assert meta["registered_name"] == "SafetyTest>Registered"
    assert tf.keras.saving.get_registered_name(Registered) == "SafetyTest>Registered"
    assert tf.keras.utils.get_custom_objects()["SafetyTest>Registered"] is Registered
    loaded = tf.keras.models.load_model(str(tmp_path / "Registered.keras"))
    assert type(loaded) is Registered and loaded.dense.units == 3


def test_builtin_classes_by_keras_or_rstf_module_only_serializable_ones(tmp_path):
    path = str(tmp_path / "m.keras")
    _model().save(path)

    def keras_names(meta):
        meta["module"] = "keras.src.models.sequential"
        meta["config"]["layers"][0]["__layer__"]["module"] = "keras.layers"
    _rewrite_keras(path, keras_names)
    assert type(tf.keras.models.load_model(path)) is tf.keras.Sequential
    # Names an rstf module happens to hold that are not layers, models, optimizers or losses.
    for name in ("CapturesInit", "GradientTape", "__class__"):
        _rewrite_keras(path, _put("nested layer", {"class_name": name, "module": "rstf.keras.models",
                                                   "config": {}}))
        with pytest.raises(ValueError, match=f"Unknown class '{name}'"):
            tf.keras.models.load_model(path)


@pytest.mark.parametrize("safe_mode", [True, False])
def test_lambdas_are_refused_with_safe_mode(tmp_path, safe_mode):
    path = str(tmp_path / "m.keras")
    _model().save(path)
    code = {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None, "closure": None}}
    _rewrite_keras(path, _put("nested layer", code))
    with pytest.raises(ValueError, match="safe_mode"):
        tf.keras.models.load_model(path, safe_mode=safe_mode)

    def activation(meta):
        meta["config"]["layers"][0]["__layer__"]["config"]["activation"] = code
    _model().save(path)
    _rewrite_keras(path, activation)
    with pytest.raises(ValueError, match="safe_mode"):
        tf.keras.models.load_model(path, safe_mode=safe_mode)


# -- zip bombs ------------------------------------------------------------------------------------

def test_a_small_zip_unpacking_to_a_lot_is_refused_before_unpacking(tmp_path):
    path = str(tmp_path / "bomb.keras")
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("config.json", json.dumps({"format": "rstf.keras", "version": 1, "model": {
            "class_name": "Sequential", "module": "rstf.keras.models", "config": {"layers": []}}}))
        with z.open("model.weights.safetensors", "w", force_zip64=True) as f:
            for _ in range(160):  # 160 MiB of zeros, about 160 KiB packed
                f.write(zeros)
    assert os.path.getsize(path) < 1 << 20
    start = time.perf_counter()
    with pytest.raises(tf.errors.DataLossError, match="MAX_COMPRESSION_RATIO"):
        tf.keras.models.load_model(path)
    assert time.perf_counter() - start < 2.0


def test_unpacking_limits_are_settable_and_real_models_load(tmp_path, monkeypatch):
    model = _model()
    path = str(tmp_path / "m.keras")
    model.save(path)
    # Zeros-heavy weights packed by another tool: small ones load whatever their ratio.
    packed = _rewrite_keras(path, lambda meta: None, str(tmp_path / "packed.keras"), zipfile.ZIP_DEFLATED)
    np.testing.assert_array_equal(tf.keras.models.load_model(packed).predict(X, verbose=0),
                                  model.predict(X, verbose=0))
    monkeypatch.setattr(tf.keras.saving, "MAX_WEIGHTS_BYTES", 100)
    with pytest.raises(tf.errors.DataLossError, match="MAX_WEIGHTS_BYTES"):
        tf.keras.models.load_model(path)
    monkeypatch.setattr(tf.keras.saving, "MAX_WEIGHTS_BYTES", 1 << 30)
    monkeypatch.setattr(tf.keras.saving, "RATIO_CHECK_ABOVE_BYTES", 0)
    monkeypatch.setattr(tf.keras.saving, "MAX_COMPRESSION_RATIO", 1)
    with pytest.raises(tf.errors.DataLossError, match="MAX_COMPRESSION_RATIO"):
        tf.keras.models.load_model(packed)
    tf.keras.models.load_model(path)  # stored, not packed: ratio 1
