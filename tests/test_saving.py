"""Persistence: SavedModel round trips (also in a fresh process without the classes),
checkpoints, Keras saving, and corrupted files."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from helpers import edit_saved_model
from hypothesis import given, settings
from hypothesis import strategies as st

import rstf as tf

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "data"))
import make_fixtures  # noqa: E402


def run_fresh(code):
    """Runs ``code`` in a new Python process; returns its stdout."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


MyModule = make_fixtures.MyModule  # the guide's module


# -- SavedModel ---------------------------------------------------------------------------------

def test_seed_module_round_trip_in_a_fresh_process(tmp_path):
    mod = MyModule(3)
    mod.multiply(tf.constant([1, 2, 3]))
    tf.saved_model.save(mod, str(tmp_path / "saved"))
    reloaded = tf.saved_model.load(str(tmp_path / "saved"))
    assert reloaded.multiply(tf.constant([1, 2, 3])).numpy().tolist() == [3, 6, 9]
    code = ("import rstf as tf\n"
            f"r = tf.saved_model.load({str(tmp_path / 'saved')!r})\n"
            "print(r.multiply(tf.constant([1, 2, 3])).numpy().tolist(), r.weight.numpy())")
    assert run_fresh(code) == "[3, 6, 9] 3"


def test_rust_fixture_is_what_python_writes_now(tmp_path):
    tf.saved_model.save(make_fixtures.seed_module(), str(tmp_path / "m"))
    for name in ("saved_model.json", "variables.safetensors", "constants.safetensors"):
        with open(tmp_path / "m" / name, "rb") as a:
            now = a.read()
        with open(os.path.join(HERE, "data", "seed_module", name), "rb") as b:
            assert now == b.read(), f"{name} changed: run python tests/data/make_fixtures.py"


def test_loaded_variables_train_and_functions_record_gradients(tmp_path):
    mod = MyModule(2.0)
    mod.multiply(tf.constant([1.0, 2.0]))
    tf.saved_model.save(mod, str(tmp_path))
    r = tf.saved_model.load(str(tmp_path))
    assert [v.trainable for v in r.trainable_variables] == [True]
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(r.multiply(tf.constant([1.0, 2.0])))
    (g,) = tape.gradient(y, r.trainable_variables)
    assert float(g) == 3.0
    r.weight.assign_sub(0.5 * g)
    assert r.multiply(tf.constant([1.0, 2.0])).numpy().tolist() == [0.5, 1.0]


def test_signatures_structures_and_python_values(tmp_path):
    class M(tf.Module):
        def __init__(self):
            self.v = tf.Variable([1.0, 2.0])
            self.layers = [tf.Variable(5.0), {"inner": tf.Variable(7.0)}]

        @tf.function(input_signature=[tf.TensorSpec([2], tf.float32)])
        def double(self, x):
            return {"out": x * 2.0 + self.v, "n": 3}

        @tf.function
        def scale(self, x, factor, pair):
            return x * factor, pair[0] + pair[1]

    m = M()
    m.scale(tf.constant([1.0]), 2.0, (tf.constant(1), tf.constant(2)))
    m.scale(tf.constant([1.0]), 3.0, (tf.constant(1), tf.constant(2)))
    tf.saved_model.save(m, str(tmp_path), signatures=m.double)
    r = tf.saved_model.load(str(tmp_path))
    out = r.double(tf.constant([1.0, 1.0]))
    assert out["n"] == 3 and out["out"].numpy().tolist() == [3.0, 4.0]
    a, b = r.scale(tf.constant([2.0]), 3.0, (tf.constant(1), tf.constant(5)))
    assert a.numpy().tolist() == [6.0] and int(b) == 6
    assert r.scale([2.0], 2.0, [1, 5])[0].numpy().tolist() == [4.0]
    assert float(r.layers[1]["inner"].numpy()) == 7.0
    assert r.signatures["serving_default"](tf.constant([0.0, 0.0]))["out"].numpy().tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="Could not find matching concrete function"):
        r.scale(tf.constant([2.0]), 4.0, (tf.constant(1), tf.constant(5)))
    with pytest.raises(ValueError, match="Could not find matching concrete function"):
        r.double(tf.constant([1, 2]))


def test_a_module_with_a_traced_call_loads_callable(tmp_path):
    class Doubler(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 4])])
        def __call__(self, x):
            return x * 2.0

    tf.saved_model.save(Doubler(), str(tmp_path / "call"))
    r = tf.saved_model.load(str(tmp_path / "call"))
    np.testing.assert_array_equal(r(tf.ones([3, 4])).numpy(), np.full((3, 4), 2.0))
    tf.saved_model.save(tf.Module(), str(tmp_path / "plain"))
    with pytest.raises(TypeError, match="not callable"):
        tf.saved_model.load(str(tmp_path / "plain"))(tf.ones([1]))


def test_a_failed_save_keeps_the_previous_model(tmp_path):
    mod = MyModule(3)
    mod.multiply(tf.constant([1, 2, 3]))
    path = str(tmp_path / "m")
    tf.saved_model.save(mod, path)

    class Bad(tf.Module):
        @tf.function
        def f(self, x, opt):
            return x

    bad = Bad()
    bad.f(tf.constant(1), object())
    with pytest.raises(ValueError, match="cannot be saved"):
        tf.saved_model.save(bad, path)
    assert tf.saved_model.load(path).multiply(tf.constant([1, 2, 3])).numpy().tolist() == [3, 6, 9]
    assert sorted(os.listdir(tmp_path)) == ["m"]


def _copy_model(src, dst):
    os.makedirs(dst)
    for name in os.listdir(src):
        with open(os.path.join(src, name), "rb") as a, open(os.path.join(dst, name), "wb") as b:
            b.write(a.read())


def test_corrupted_saved_models_raise_clear_errors(tmp_path):
    src = os.path.join(HERE, "data", "seed_module")
    with pytest.raises(tf.errors.NotFoundError):
        tf.saved_model.load(str(tmp_path / "missing"))
    for name in ("saved_model.json", "variables.safetensors", "constants.safetensors"):
        d = str(tmp_path / f"trunc-{name}")
        _copy_model(src, d)
        with open(os.path.join(d, name), "r+b") as f:
            f.truncate(os.path.getsize(os.path.join(d, name)) // 2)
        with pytest.raises(tf.errors.DataLossError):
            tf.saved_model.load(d)
    d = str(tmp_path / "version")
    _copy_model(src, d)
    edit_saved_model(d, lambda doc: doc.update(version=99))
    with pytest.raises(tf.errors.DataLossError, match="version 99"):
        tf.saved_model.load(d)
    d = str(tmp_path / "op")
    _copy_model(src, d)
    edit_saved_model(d, lambda doc: doc["functions"][0]["graph"]["nodes"][1].update(
        op={"Op": {"Binary": "Frobnicate"}}))
    with pytest.raises(tf.errors.DataLossError, match="Frobnicate"):
        tf.saved_model.load(d)
    d = str(tmp_path / "index")
    _copy_model(src, d)
    edit_saved_model(d, lambda doc: doc["functions"][0]["graph"]["nodes"][1].update(inputs=[0, 7]))
    with pytest.raises(tf.errors.DataLossError, match="before it is written"):
        tf.saved_model.load(d)
    d = str(tmp_path / "shape")
    _copy_model(src, d)
    edit_saved_model(d, lambda doc: doc["functions"][0]["graph"]["specs"][2].update(shape=[4]))
    r = tf.saved_model.load(d)
    with pytest.raises(tf.errors.InvalidArgumentError, match="declares"):
        r.multiply(tf.constant([1, 2, 3]))
    # An edit without a new checksum is corruption.
    d = str(tmp_path / "edited")
    _copy_model(src, d)
    doc = json.load(open(os.path.join(d, "saved_model.json")))
    doc["variables"][0]["trainable"] = False
    json.dump(doc, open(os.path.join(d, "saved_model.json"), "w"))
    with pytest.raises(tf.errors.DataLossError, match="checksum"):
        tf.saved_model.load(d)


@settings(max_examples=60, deadline=None)
@given(which=st.sampled_from(["saved_model.json", "variables.safetensors", "constants.safetensors"]),
       flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                      min_size=1, max_size=6))
def test_loader_survives_random_corruption(tmp_path_factory, which, flips):
    d = str(tmp_path_factory.mktemp("fuzz") / "m")
    _copy_model(os.path.join(HERE, "data", "seed_module"), d)
    path = os.path.join(d, which)
    data = bytearray(open(path, "rb").read())
    for pos, byte in flips:
        data[int(pos * len(data))] = byte
    open(path, "wb").write(bytes(data))
    try:
        r = tf.saved_model.load(d)
        r.multiply(tf.constant([1, 2, 3]))
    except (tf.errors.OpError, ValueError):
        pass


# -- checkpoints --------------------------------------------------------------------------------

def test_checkpoint_save_restore_and_manager(tmp_path):
    v = tf.Variable([1.0, 2.0])
    mod = MyModule(4.0)
    ckpt = tf.train.Checkpoint(v=v, mod=mod)
    p1 = ckpt.save(str(tmp_path / "ckpt"))
    v.assign([9.0, 9.0])
    p2 = ckpt.save(str(tmp_path / "ckpt"))
    assert os.path.basename(p1) == "ckpt-1" and os.path.basename(p2) == "ckpt-2"
    assert tf.train.latest_checkpoint(str(tmp_path)) == p2
    ckpt.restore(p1).assert_consumed()
    assert v.numpy().tolist() == [1.0, 2.0]
    mod.weight.assign(0.0)
    ckpt.read(p2)
    assert float(mod.weight.numpy()) == 4.0 and v.numpy().tolist() == [9.0, 9.0]
    path = ckpt.write(str(tmp_path / "plain"))
    assert os.path.exists(path + ".safetensors")

    manager = tf.train.CheckpointManager(ckpt, str(tmp_path / "managed"), max_to_keep=2)
    paths = [manager.save() for _ in range(4)]
    assert manager.checkpoints == paths[-2:]
    assert manager.latest_checkpoint == paths[-1] == tf.train.latest_checkpoint(str(tmp_path / "managed"))
    assert sorted(os.listdir(tmp_path / "managed")) == sorted(
        ["checkpoint"] + [os.path.basename(p) + ".safetensors" for p in paths[-2:]])
    again = tf.train.CheckpointManager(ckpt, str(tmp_path / "managed"), max_to_keep=2)
    assert again.checkpoints == paths[-2:]


def test_checkpoint_deferred_restoration_and_optimizer_slots(tmp_path):
    x = tf.constant([[1.0, 2.0, 3.0]])
    model = tf.keras.Sequential([tf.keras.layers.Dense(4), tf.keras.layers.Dense(1)])
    opt = tf.optimizers.Adam(0.1)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x))
    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    path = tf.train.Checkpoint(model=model, optimizer=opt).save(str(tmp_path / "c"))

    fresh = tf.keras.Sequential([tf.keras.layers.Dense(4), tf.keras.layers.Dense(1)])
    opt2 = tf.optimizers.Adam(0.1)
    status = tf.train.Checkpoint(model=fresh, optimizer=opt2).restore(path)
    with pytest.raises(AssertionError):
        status.assert_consumed()  # the layers are not built yet
    assert fresh(x).numpy().tolist() == model(x).numpy().tolist()  # built now: values restored
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(fresh(x))
    assert all(g is not None for g in tape.gradient(loss, fresh.trainable_variables))
    assert int(opt2.iterations.numpy()) == 1
    with pytest.raises(AssertionError):
        status.assert_consumed()  # the slots are not created yet
    m_saved = opt._slots[(model.layers[0].kernel._id, "m")].numpy()
    for v in fresh.trainable_variables:
        opt2._slot(v, "m"), opt2._slot(v, "v")
    assert np.array_equal(opt2._slot(fresh.layers[0].kernel, "m").numpy(), m_saved)
    status.assert_consumed()

    # Slots of variables that exist are restored when the optimizer creates them.
    model2 = tf.keras.Sequential([tf.keras.layers.Dense(4), tf.keras.layers.Dense(1)])
    model2(x)
    opt3 = tf.optimizers.Adam(0.1)
    tf.train.Checkpoint(model=model2, optimizer=opt3).restore(path)
    k = model2.layers[0].kernel
    assert np.array_equal(opt3._slot(k, "m").numpy(), m_saved)


def test_checkpoint_errors(tmp_path):
    v = tf.Variable([1.0, 2.0])
    path = tf.train.Checkpoint(v=v).save(str(tmp_path / "c"))
    with pytest.raises(ValueError, match="shape"):
        tf.train.Checkpoint(v=tf.Variable([1.0, 2.0, 3.0])).restore(path)
    with pytest.raises(tf.errors.NotFoundError):
        tf.train.Checkpoint(v=v).restore(str(tmp_path / "nothing-1"))
    with open(path + ".safetensors", "r+b") as f:
        f.truncate(20)
    with pytest.raises(tf.errors.DataLossError):
        tf.train.Checkpoint(v=v).restore(path)
    with pytest.raises(ValueError, match="holds no Variables"):
        tf.train.Checkpoint(x=3)


@settings(max_examples=60, deadline=None)
@given(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                      min_size=1, max_size=4),
       random_file=st.booleans())
def test_checkpoint_corruption_is_detected(tmp_path_factory, flips, random_file):
    d = tmp_path_factory.mktemp("ckpt")
    saved = np.arange(12, dtype=np.float32)
    path = tf.train.Checkpoint(v=tf.Variable(saved), w=tf.Variable(3)).write(str(d / "c"))
    data = bytearray(open(path + ".safetensors", "rb").read())
    if random_file:
        data = bytearray(np.random.default_rng(int(flips[0][1])).integers(0, 256, len(data), np.uint8))
    for pos, byte in flips:
        data[int(pos * len(data))] = byte
    open(path + ".safetensors", "wb").write(bytes(data))
    v, w = tf.Variable(np.zeros(12, np.float32)), tf.Variable(0)
    try:
        status = tf.train.Checkpoint(v=v, w=w).restore(path)
    except (tf.errors.DataLossError, ValueError):
        return
    # Whatever loads without an error is what was saved.
    if "v" in status._done:
        np.testing.assert_array_equal(v.numpy(), saved)
    if "w" in status._done:
        assert int(w.numpy()) == 3


# -- Keras --------------------------------------------------------------------------------------

X = np.linspace(-2, 2, 64).astype("float32")[:, None]
Y = X ** 2 + 0.5


def _sequential():
    model = tf.keras.Sequential([tf.keras.layers.Dense(8, activation="relu"), tf.keras.layers.Dense(1)])
    model.compile(optimizer=tf.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    model.fit(X, Y, epochs=2, batch_size=16, verbose=0)
    return model


@pytest.mark.parametrize("name", ["model.keras", "model_dir"])
def test_keras_save_and_load_model(tmp_path, name):
    model = _sequential()
    path = str(tmp_path / name)
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    assert type(loaded) is tf.keras.Sequential
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    assert int(loaded.optimizer.iterations.numpy()) == 8
    # Training continues from the same state as the original.
    h1 = model.fit(X, Y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    h2 = loaded.fit(X, Y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-6)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)


def test_save_weights_and_load_into_an_unbuilt_model(tmp_path):
    model = _sequential()
    model.save_weights(str(tmp_path / "w.weights.h5"))
    other = tf.keras.Sequential([tf.keras.layers.Dense(8, activation="relu"), tf.keras.layers.Dense(1)])
    other.load_weights(str(tmp_path / "w.weights.h5"))
    np.testing.assert_array_equal(other.predict(X, verbose=0), model.predict(X, verbose=0))


SUBCLASSED = """
import numpy as np, rstf as tf
class MyModel(tf.keras.Model):
    def __init__(self, units):
        super().__init__()
        self.dense1 = tf.keras.layers.Dense(units, activation=tf.nn.relu,
                                            kernel_initializer=tf.random.normal)
        self.dense2 = tf.keras.layers.Dense(1)
    def call(self, x, training=True):
        return self.dense2(self.dense1(x))
x = np.linspace(-2, 2, 32).astype("float32")[:, None]
"""


def test_subclassed_model_saved_to_a_directory(tmp_path):
    path = str(tmp_path / "my_model")
    run_fresh(SUBCLASSED + f"""
model = MyModel(16)
model.compile(optimizer="sgd", loss=tf.keras.losses.MSE)
model.fit(x, x ** 2, epochs=2, batch_size=32, verbose=0)
model.save({path!r})
np.save({path + '.npy'!r}, model.predict(x, batch_size=32, verbose=0))
# A class passed in custom_objects (or registered) is rebuilt by class, as in Keras 3.
again = tf.keras.models.load_model({path!r}, custom_objects={{"MyModel": MyModel}})
assert type(again).__name__ == "MyModel"
assert np.array_equal(again.predict(x, batch_size=32, verbose=0), np.load({path + '.npy'!r}))
# Without it, a class is not looked up in the module the file names: the model is revived.
assert type(tf.keras.models.load_model({path!r})).__name__ != "MyModel"
""")
    # Here MyModel does not exist: the model is revived from its traced serving function.
    loaded = tf.keras.models.load_model(path)
    x = np.linspace(-2, 2, 32).astype("float32")[:, None]
    np.testing.assert_array_equal(loaded.predict(x, batch_size=32, verbose=0), np.load(path + ".npy"))
    before = loaded.evaluate(x, x ** 2, batch_size=32, verbose=0)
    loaded.fit(x, x ** 2, epochs=5, batch_size=32, verbose=0)
    assert loaded.evaluate(x, x ** 2, batch_size=32, verbose=0) < before
    # A .keras file of a class this process does not have: a clear error.
    run_fresh(SUBCLASSED + f"""
model = MyModel(4)
model(x)
model.save({str(tmp_path / 'm.keras')!r})
""")
    with pytest.raises(ValueError, match="custom_objects"):
        tf.keras.models.load_model(str(tmp_path / "m.keras"))


class Wrapped(tf.keras.Model):
    def __init__(self, init):
        super().__init__()
        self.dense = tf.keras.layers.Dense(2, kernel_initializer=init)

    def call(self, x):
        return self.dense(x)


def test_keras_file_needs_a_savable_config(tmp_path):
    model = Wrapped(tf.random.normal)
    model(tf.ones([1, 3]))
    # As Keras 3: a function in the config is saved by name and found again only if registered
    # (or given in custom_objects); no module named in the file is imported.
    model.save(str(tmp_path / "w.keras"))
    with pytest.raises(ValueError, match="Could not locate function 'normal'"):
        tf.keras.models.load_model(str(tmp_path / "w.keras"), custom_objects={"Wrapped": Wrapped})
    again = tf.keras.models.load_model(str(tmp_path / "w.keras"),
                                       custom_objects={"Wrapped": Wrapped, "normal": tf.random.normal})
    np.testing.assert_array_equal(again(tf.ones([1, 3])).numpy(), model(tf.ones([1, 3])).numpy())
    with pytest.raises(NotImplementedError, match="directory"):
        Wrapped(lambda shape, dtype=None: tf.ones(shape)).save(str(tmp_path / "l.keras"))
    model.save(str(tmp_path / "w_dir"))
    loaded = tf.keras.models.load_model(str(tmp_path / "w_dir"))
    np.testing.assert_array_equal(loaded(tf.ones([1, 3])).numpy(), model(tf.ones([1, 3])).numpy())


def test_bad_keras_files(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(os.urandom(200))
    with pytest.raises(tf.errors.DataLossError):
        tf.keras.models.load_model(str(bad))
    with pytest.raises(tf.errors.NotFoundError):
        tf.keras.models.load_model(str(tmp_path / "none.keras"))


# -- fusion of one-element operands of different ranks (found by the optimizer's slots) ---------

def test_fused_chain_keeps_the_broadcast_shape():
    @tf.function
    def f(a, b):
        return (a * 2.0 + b) * 3.0 - b

    out = f(tf.constant([[1.0]]), tf.constant(1.0))
    assert out.shape == (1, 1) and out.numpy().tolist() == [[8.0]]
    out = f(tf.constant([[1.0, 2.0, 3.0]]), tf.constant([1.0, 1.0, 1.0]))
    assert out.shape == (1, 3)
    out = f(tf.constant([[1.0], [2.0]]), tf.constant([[1.0, 2.0]]))
    assert out.shape == (2, 2)


@pytest.mark.skipif(shutil.which("cargo") is None, reason="building the Rust example needs cargo")
def test_rust_example_serves_a_model_saved_by_python(tmp_path):
    """`cargo run --example run_saved_model` (built by `cargo test` in `make test`)."""
    root = os.path.dirname(HERE)
    build = subprocess.run(["cargo", "build", "-q", "--example", "run_saved_model"], cwd=root,
                           capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stderr
    exe = os.path.join(root, "target", "debug", "examples", "run_saved_model")
    tf.saved_model.save(make_fixtures.seed_module(), str(tmp_path / "saved"))
    out = subprocess.run([exe, str(tmp_path / "saved"), "multiply", "[1, 2, 3]"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[3,6,9]"
    bad = subprocess.run([exe, str(tmp_path / "saved"), "multiply", "[1, 2]"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 1 and "no signature accepts the input" in bad.stderr


def test_function_with_a_graph_loop_saves_and_loads(tmp_path):
    class Loop(tf.Module):
        def __init__(self):
            self.count = tf.Variable(0)

        @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
        def halvings(self, x):
            def body(i, a):
                self.count.assign_add(1)
                return i + 1, a / 2.0

            return tf.while_loop(lambda i, a: a > 1.0, body, (0, x))[0]

    m = Loop()
    assert int(m.halvings(tf.constant(10.0))) == 4
    tf.saved_model.save(m, str(tmp_path))
    r = tf.saved_model.load(str(tmp_path))
    assert int(r.halvings(tf.constant(1000.0))) == 10
    assert int(r.halvings(tf.constant(0.5))) == 0
    assert int(r.count.numpy()) == 14


def test_a_traced_training_step_saves_and_trains_after_loading(tmp_path):
    # The optimizer's update is one node per variable in the saved graph; the loaded function
    # trains the loaded variables exactly as the original does its own.
    class Trainer(tf.Module):
        def __init__(self):
            self.w = tf.Variable(np.array([[0.5], [-0.25]], np.float32))
            self.opt = tf.keras.optimizers.Adam(0.1)

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32),
                                      tf.TensorSpec([None, 1], tf.float32)])
        def train(self, x, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(tf.matmul(x, self.w) - y))
            self.opt.apply_gradients(zip(tape.gradient(loss, [self.w]), [self.w]))
            return loss

    t = Trainer()
    x = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    y = tf.constant([[1.0], [2.0], [3.0]])
    t.train(x, y)
    tf.saved_model.save(t, str(tmp_path / "m"))
    r = tf.saved_model.load(str(tmp_path / "m"))
    for _ in range(3):
        assert float(t.train(x, y)) == float(r.train(x, y))
    np.testing.assert_array_equal(r.w.numpy(), t.w.numpy())
    assert int(r.opt.iterations.numpy()) == int(t.opt.iterations.numpy()) == 4

    def update_nodes(doc):
        return [n["op"]["Update"] for n in doc["functions"][0]["graph"]["nodes"] if "Update" in n["op"]]

    def drop_a_slot(doc):
        update_nodes(doc)[0]["variables"].pop()

    def repeat_a_slot(doc):
        vs = update_nodes(doc)[0]["variables"]
        vs[2] = vs[1]

    def counter_as_a_slot(doc):  # the int64 step counter
        graph = doc["functions"][0]["graph"]
        counter = next(n["op"]["Assign"][0] for n in graph["nodes"] if "Assign" in n["op"])
        update_nodes(doc)[0]["variables"][1] = counter

    def rate_as_the_gradient(doc):
        node = next(n for n in doc["functions"][0]["graph"]["nodes"] if "Update" in n["op"])
        node["inputs"][2] = node["inputs"][0]

    def other_rule(doc):
        update_nodes(doc)[0]["rule"] = {"Sgd": {"momentum": 0.0, "nesterov": False}}

    for edit, error in [(drop_a_slot, "ResourceApplyAdam.*names 2 variables, but its rule"),
                        (repeat_a_slot, "ResourceApplyAdam.*names variable .* twice"),
                        (counter_as_a_slot, "slot .* has dtype int64 and shape \\[\\]"),
                        (rate_as_the_gradient, "reads a gradient of float32 \\[\\] for variable"),
                        (other_rule, "ResourceApplyGradientDescent.*names 3 variables")]:
        d = str(tmp_path / edit.__name__)
        _copy_model(str(tmp_path / "m"), d)
        edit_saved_model(d, edit)
        with pytest.raises(tf.errors.DataLossError, match=error):
            tf.saved_model.load(d)
