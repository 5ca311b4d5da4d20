"""rstf.Module, Keras layers and models, optimizers and fit: the seed guide's sections
"Módulos, camadas e modelos" and "Loops de treinamento"."""

import numpy as np
import pytest

import rstf as tf


class MyModule(tf.Module):
    def __init__(self, value):
        self.weight = tf.Variable(value)

    @tf.function
    def multiply(self, x):
        return x * self.weight


def test_guide_module_multiply():
    mod = MyModule(3)
    assert repr(mod.multiply(tf.constant([1, 2, 3]))) == (
        "<rstf.Tensor: shape=(3,), dtype=int32, numpy=array([3, 6, 9], dtype=int32)>")
    assert mod.multiply.experimental_get_tracing_count() == 1
    assert [v.numpy() for v in mod.variables] == [3]


def test_module_tracks_nested_variables_and_submodules():
    class Inner(tf.Module):
        def __init__(self):
            super().__init__(name="inner")
            self.w = tf.Variable(1.0)
            self.frozen = tf.Variable(2.0, trainable=False)

    class Outer(tf.Module):
        def __init__(self):
            super().__init__()
            self.blocks = [Inner(), {"b": Inner()}]
            self.shared = self.blocks[0].w  # the same variable twice
            self.bias = tf.Variable([0.0, 0.0])

    m = Outer()
    assert m.name == "outer"
    assert len(m.variables) == 5
    assert len(m.trainable_variables) == 3
    assert [s.name for s in m.submodules] == ["inner", "inner"]


class Model(tf.keras.Model):
    def __init__(self, units):
        super().__init__()
        self.dense1 = tf.keras.layers.Dense(units=units, activation=tf.nn.relu,
                                            kernel_initializer=tf.random.normal,
                                            bias_initializer=tf.random.normal)
        self.dense2 = tf.keras.layers.Dense(1)

    def call(self, x, training=True):
        x = x[:, tf.newaxis]
        x = self.dense1(x)
        x = self.dense2(x)
        return tf.squeeze(x, axis=1)


def _data():
    tf.random.set_seed(7)
    x = tf.cast(tf.linspace(-2, 2, 201), tf.float32)
    y = x ** 2 + 2 * x - 5 + tf.random.normal(shape=[201])
    return x, y


def test_build_creates_the_weights_and_a_first_call_builds_once():
    model = tf.keras.Sequential([tf.keras.layers.Dense(4, activation="relu"), tf.keras.layers.Dense(1)])
    assert model.weights == []
    model.build((None, 3))
    assert [tuple(w.shape) for w in model.weights] == [(3, 4), (4,), (4, 1), (1,)]
    assert model(tf.ones([2, 3])).shape == (2, 1)

    class TwoInputs(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = tf.keras.layers.Dense(2)
            self.calls = 0

        def call(self, inputs):
            self.calls += 1
            return self.dense(tf.concat(inputs, axis=1))

    m = TwoInputs()
    m.build([(None, 1), (None, 2)])
    assert m.calls == 1 and tuple(m.dense.kernel.shape) == (3, 2)
    fresh = TwoInputs()
    fresh([tf.ones([5, 1]), tf.ones([5, 2])])
    assert fresh.calls == 1  # built by that call, not by a second run on zeros


def test_guide_training_loop():
    x, y = _data()
    model = Model(64)
    assert model(x).shape == (201,)
    variables = model.variables
    assert [tuple(v.shape) for v in variables] == [(1, 64), (64,), (64, 1), (1,)]
    optimizer = tf.optimizers.SGD(learning_rate=0.01)
    errors = []
    for step in range(1000):
        with tf.GradientTape() as tape:
            prediction = model(x)
            error = (y - prediction) ** 2
            mean_error = tf.reduce_mean(error)
        gradient = tape.gradient(mean_error, variables)
        optimizer.apply_gradients(zip(gradient, variables))
        if step % 100 == 0:
            errors.append(float(mean_error))
    assert errors[-1] < errors[0]
    assert errors[-1] < 1.5  # the noise has variance 1


def test_guide_compile_fit():
    x, y = _data()
    new_model = Model(64)
    new_model.compile(loss=tf.keras.losses.MSE, optimizer=tf.optimizers.SGD(learning_rate=0.01))
    history = new_model.fit(x, y, epochs=100, batch_size=32, verbose=0)
    loss = history.history["loss"]
    assert len(loss) == 100
    assert loss[-1] < loss[0] and loss[-1] < 1.5
    pred = new_model.predict(x)
    assert pred.shape == (201,)
    assert new_model.evaluate(x, y, verbose=0) == pytest.approx(
        float(tf.reduce_mean((y - new_model(x)) ** 2)), rel=1e-4)


def test_sequential_classifier_with_metrics_and_validation():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 4)).astype(np.float32)
    labels = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    model = tf.keras.Sequential([tf.keras.layers.Dense(16, activation="relu"), tf.keras.layers.Dense(2)])
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss=loss, metrics=["accuracy"])
    h = model.fit(x, labels, epochs=30, batch_size=32, validation_split=0.25, verbose=0)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert h.history["accuracy"][-1] > 0.9
    assert h.history["val_accuracy"][-1] > 0.85


@pytest.mark.parametrize("kwargs", [{"input_shape": (4,)}, {"input_dim": 4},
                                    {"batch_input_shape": (None, 4)}])
def test_sequential_whose_first_layer_declares_its_input_is_built_at_once(kwargs):
    model = tf.keras.Sequential([tf.keras.layers.Dense(3, **kwargs)])
    assert len(model.weights) == 2 and model.count_params() == 4 * 3 + 3  # Keras: 15
    lines = []
    model.summary(print_fn=lines.append)
    assert "Total params: 15" in lines
    assert model(np.ones((2, 4), np.float32)).shape == (2, 3)


def test_predict_and_evaluate_take_steps():
    x = np.arange(1000, dtype=np.float32)[:, None]
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, kernel_initializer="ones")])
    model.compile(optimizer="sgd", loss="mae")
    ds = tf.data.Dataset.from_tensor_slices(x).batch(32)
    # Keras: steps batches, 10 * 32 rows of the 1000.
    np.testing.assert_array_equal(model.predict(ds, steps=10, verbose=0), x[:320])
    np.testing.assert_array_equal(model.predict(x, batch_size=32, steps=10, verbose=0), x[:320])
    assert model.predict(ds, verbose=0).shape == (1000, 1)
    pairs = tf.data.Dataset.from_tensor_slices((x, np.zeros_like(x))).batch(32)
    assert model.evaluate(pairs, steps=2, verbose=0) == pytest.approx(float(np.mean(x[:64])))
    assert model.evaluate(x, np.zeros_like(x), batch_size=32, steps=2, verbose=0) == pytest.approx(
        float(np.mean(x[:64])))


def test_fit_bad_input():
    model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.zeros((4, 2), np.float32), np.zeros(4, np.float32), verbose=0)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="cardinality"):
        model.fit(np.zeros((4, 2), np.float32), np.zeros(3, np.float32), verbose=0)
    with pytest.raises(ValueError, match="Unknown loss"):
        model.compile(optimizer="sgd", loss="nope")
    with pytest.raises(ValueError, match="Unknown optimizer"):
        model.compile(optimizer="nope", loss="mse")
    model(np.zeros((1, 2), np.float32))
    with pytest.raises(ValueError, match="incompatible"):
        model(np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match="incompatible"):
        model(np.zeros(2, np.float32))  # rank 1 for a layer built on rank 2
    kernel = model.layers[0].kernel.numpy()
    with pytest.raises(ValueError, match="not a number type"):
        model.fit(np.zeros((2, 2), np.float32), np.array(["a", "b"]), verbose=0)
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), kernel)  # no step ran


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "adagrad", "adamw"])
def test_optimizers_minimize_a_quadratic(name):
    v = tf.Variable([3.0, -2.0])
    opt = tf.keras.optimizers.get(name)
    opt.learning_rate = 1.0 if name == "adagrad" else 0.1  # Adagrad's steps shrink as it goes
    for _ in range(300):
        opt.minimize(lambda: tf.reduce_sum(v * v), [v])
    assert np.abs(v.numpy()).max() < 0.3


def test_sgd_momentum_matches_the_formula():
    v = tf.Variable(1.0)
    opt = tf.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    opt.apply_gradients([(tf.constant(1.0), v)])
    opt.apply_gradients([(tf.constant(1.0), v)])
    # m1 = -0.1, v = 0.9; m2 = 0.9 * -0.1 - 0.1 = -0.19, v = 0.71
    assert float(v) == pytest.approx(0.71)
    assert int(opt.iterations) == 2


def test_fit_verbose_prints_a_keras_progress_bar(capsys):
    model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x = np.ones((64, 2), "float32")
    model.fit(x, x[:, :1], epochs=2, batch_size=16, validation_split=0.25, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert lines[1].startswith("3/3 [==============================] - ")
    assert "ms/step - loss: " in lines[1] and " - val_mae: " in lines[1]
    model.fit(x, x[:, :1], epochs=1, verbose=2)
    assert capsys.readouterr().out.startswith("Epoch 1/1 - ")


def test_progress_bar_updates_in_place_on_a_terminal():
    import io

    bar = tf.keras.callbacks.ProgbarLogger(stream=io.StringIO(), interactive=True)
    model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((40, 2), "float32")
    model.fit(x, x[:, :1], epochs=1, batch_size=8, verbose=0, callbacks=[bar])
    text = bar.stream.getvalue()
    assert text.startswith("Epoch 1/1\n\r1/5 [=====>") and "ETA: " in text
    final = text.rsplit("\r", 1)[1]
    assert final.startswith("5/5 [==============================] - ") and final.endswith("\n")


def _reference_updates(name, w, grads, lr=0.1):
    """Keras' update formulas in float64 numpy."""
    w = w.astype(np.float64).copy()
    m, v = np.zeros_like(w), np.zeros_like(w)
    acc = np.full_like(w, 0.1)
    for t, g in enumerate(grads, start=1):
        g = g.astype(np.float64)
        if name == "sgd":
            w -= lr * g
        elif name == "momentum":
            m = 0.9 * m - lr * g
            w += m
        elif name == "nesterov":
            m = 0.9 * m - lr * g
            w += 0.9 * m - lr * g
        elif name in ("adam", "adamw"):
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            if name == "adamw":
                w -= lr * 0.004 * w
            w -= lr * np.sqrt(1 - 0.999**t) / (1 - 0.9**t) * m / (np.sqrt(v) + 1e-7)
        elif name == "rmsprop":
            v = 0.9 * v + 0.1 * g * g
            w -= lr * g / (np.sqrt(v) + 1e-7)
        elif name == "adagrad":
            acc += g * g
            w -= lr * g / (np.sqrt(acc) + 1e-7)
    return w


def _make_optimizer(name):
    o = tf.keras.optimizers
    return {"sgd": lambda: o.SGD(0.1), "momentum": lambda: o.SGD(0.1, momentum=0.9),
            "nesterov": lambda: o.SGD(0.1, momentum=0.9, nesterov=True), "adam": lambda: o.Adam(0.1),
            "adamw": lambda: o.AdamW(0.1), "rmsprop": lambda: o.RMSprop(0.1),
            "adagrad": lambda: o.Adagrad(0.1)}[name]()


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad"])
def test_fused_updates_match_the_formulas_eagerly_and_traced(name):
    rng = np.random.default_rng(5)
    w0 = rng.standard_normal((3, 4)).astype(np.float32)
    grads = [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(4)]
    expected = _reference_updates(name, w0, grads)

    eager_v, eager_opt = tf.Variable(w0), _make_optimizer(name)
    for g in grads:
        eager_opt.apply_gradients([(tf.constant(g), eager_v)])
    np.testing.assert_allclose(eager_v.numpy(), expected, rtol=2e-5, atol=2e-6)

    # Traced, the update is one graph node per variable that runs the eager update: the same
    # bits.
    traced_v, traced_opt = tf.Variable(w0), _make_optimizer(name)
    step = tf.function(lambda g: traced_opt.apply_gradients([(g, traced_v)]))
    for g in grads:
        step(tf.constant(g))
    np.testing.assert_array_equal(traced_v.numpy(), eager_v.numpy())
    for a, b in zip(traced_opt.variables(), eager_opt.variables()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(traced_opt.iterations) == 4
    text = str(step.get_concrete_function(tf.constant(grads[0])).graph)
    op = {"sgd": "ResourceApplyGradientDescent", "adam": "ResourceApplyAdam", "adamw": "ResourceApplyAdam",
          "rmsprop": "ResourceApplyRMSProp", "adagrad": "ResourceApplyAdagradV2"}
    op = op.get(name, "ResourceApplyKerasMomentum")
    assert text.count(op) == 1, text
    assert text.count("Assign") == 1, text  # the step counter's, and none for the variable or slots


@pytest.mark.parametrize("name", ["momentum", "adam", "adamw"])
def test_updates_of_large_variables_run_in_parallel_chunks_and_match_the_formulas(name):
    rng = np.random.default_rng(6)
    w0 = rng.standard_normal((401, 403)).astype(np.float32)  # over the parallel threshold, odd size
    grads = [rng.standard_normal(w0.shape).astype(np.float32) for _ in range(2)]
    v, opt = tf.Variable(w0), _make_optimizer(name)
    for g in grads:
        opt.apply_gradients([(tf.constant(g), v)])
    np.testing.assert_allclose(v.numpy(), _reference_updates(name, w0, grads), rtol=2e-5, atol=2e-6)


def test_traced_updates_under_a_recording_tape_run_as_ops():
    # Inside a tape's recording the update stays a chain of ops (what the tape can see).
    v = tf.Variable([1.0, 2.0])
    opt = tf.keras.optimizers.Adam(0.1)

    @tf.function
    def step():
        with tf.GradientTape():
            opt.apply_gradients([(tf.constant([1.0, -1.0]), v)])

    step()
    np.testing.assert_allclose(v.numpy(), [0.9, 2.1], rtol=1e-5)
    assert "ResourceApplyAdam" not in str(step.get_concrete_function().graph)


def test_learning_rate_changes_reach_traced_steps():
    v = tf.Variable([1.0])
    opt = tf.keras.optimizers.SGD(0.5)
    step = tf.function(lambda: opt.apply_gradients([(tf.constant([1.0]), v)]))
    step()
    opt.learning_rate = 0.25
    step()
    assert v.numpy().tolist() == [0.25]


def test_update_of_a_float64_variable_and_bad_gradients():
    v = tf.Variable(np.ones(2))
    tf.keras.optimizers.Adam(0.1).apply_gradients([(tf.constant([1.0, -1.0], tf.float64), v)])
    np.testing.assert_allclose(v.numpy(), [0.9, 1.1], rtol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match="gradient of dtype float32 and shape"):
        tf.keras.optimizers.SGD().apply_gradients([(tf.ones([3]), tf.Variable(np.ones(2, np.float32)))])
    # A slot that does not match its variable (a checkpoint of another model) is refused.
    w = tf.Variable(np.ones(2, np.float32))
    opt = tf.keras.optimizers.Adam(0.1)
    opt.apply_gradients([(tf.ones([2]), w)])
    opt._slots[(w._id, "m")].assign(np.zeros(2, np.float32))
    opt._slots[(w._id, "v")] = tf.Variable(np.zeros(3, np.float32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="slot .* shape \\[3\\] for variable"):
        opt.apply_gradients([(tf.ones([2]), w)])
    # A variable given as its own slot, or one slot twice, is refused (not a deadlock).
    lr, step, g = tf.constant(0.1), tf.constant(1, tf.int64), tf.ones([2])
    momentum = {"momentum": 0.9, "nesterov": 0.0}
    with pytest.raises(tf.errors.InvalidArgumentError, match="as a slot twice, or as its own slot"):
        tf._rstf.apply_gradients("sgd", momentum, lr, step, [w], [g], [[w]])
    m = tf.Variable(np.zeros(2, np.float32))
    adam = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "weight_decay": 0.0}
    with pytest.raises(tf.errors.InvalidArgumentError, match="as a slot twice"):
        tf._rstf.apply_gradients("adam", adam, lr, step, [w], [g], [[m, m]])
