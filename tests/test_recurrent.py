"""Keras recurrent layers (rstf.keras.recurrent): SimpleRNN, LSTM, GRU and their cells, RNN over
a custom cell, Bidirectional and TimeDistributed. References are float64 numpy formulas of the
cell equations (Keras' gate order), numbers the reference Keras computed (stored below with the
snippet that made them), and finite differences for the gradients."""

import os

import numpy as np
import pytest

import rstf as tf

L = tf.keras.layers


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# -- float64 references of the cells (Keras' layout: kernel [in, gates * units]) -----------------

def simple_step(x, states, w):
    k, rk, b = w
    h = np.tanh(x @ k + states[0] @ rk + b)
    return h, [h]


def lstm_step(x, states, w):
    k, rk, b = w
    h, c = states
    zi, zf, zc, zo = np.split(x @ k + h @ rk + b, 4, axis=-1)
    c = sigmoid(zf) * c + sigmoid(zi) * np.tanh(zc)
    h = sigmoid(zo) * np.tanh(c)
    return h, [h, c]


def gru_step(x, states, w, reset_after=True):
    k, rk, b = w
    h = states[0]
    u = h.shape[-1]
    if reset_after:
        x_z, x_r, x_h = np.split(x @ k + b[0], 3, axis=-1)
        r_z, r_r, r_h = np.split(h @ rk + b[1], 3, axis=-1)
        z, r = sigmoid(x_z + r_z), sigmoid(x_r + r_r)
        hh = np.tanh(x_h + r * r_h)
    else:
        x_z, x_r, x_h = np.split(x @ k + b, 3, axis=-1)
        r_z, r_r = np.split(h @ rk[:, :2 * u], 2, axis=-1)
        z, r = sigmoid(x_z + r_z), sigmoid(x_r + r_r)
        hh = np.tanh(x_h + (r * h) @ rk[:, 2 * u:])
    out = z * h + (1 - z) * hh
    return out, [out]


def run_ref(step, x, w, n_states, units, mask=None, go_backwards=False):
    """Keras' time loop: masked steps keep the states and repeat the previous output."""
    batch, time = x.shape[:2]
    states = [np.zeros((batch, units)) for _ in range(n_states)]
    order = range(time - 1, -1, -1) if go_backwards else range(time)
    prev, outs = np.zeros((batch, units)), []
    for t in order:
        out, new = step(x[:, t], states, w)
        if mask is not None:
            m = mask[:, t:t + 1]
            out = np.where(m, out, prev)
            new = [np.where(m, a, s) for a, s in zip(new, states)]
        prev, states = out, new
        outs.append(out)
    return np.stack(outs, 1), states


CASES = [
    ("SimpleRNN", {}, simple_step, 1, lambda i, u: [(i, u), (u, u), (u,)]),
    ("LSTM", {}, lstm_step, 2, lambda i, u: [(i, 4 * u), (u, 4 * u), (4 * u,)]),
    ("GRU", {}, gru_step, 1, lambda i, u: [(i, 3 * u), (u, 3 * u), (2, 3 * u)]),
    ("GRU", {"reset_after": False}, lambda x, s, w: gru_step(x, s, w, False), 1,
     lambda i, u: [(i, 3 * u), (u, 3 * u), (3 * u,)]),
]


def _weights(shapes, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) * 0.5 for s in shapes]


@pytest.mark.parametrize("name,kw,step,n_states,shapes", CASES)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_layers_match_float64_references(name, kw, step, n_states, shapes, go_backwards, masked):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 4))
    mask = np.ones((3, 5), bool)
    mask[0, 3:] = False
    mask[1, :2] = False
    mask[2, 2] = False
    units = 3
    layer = getattr(L, name)(units, return_sequences=True, return_state=True, go_backwards=go_backwards, **kw)
    layer(x.astype("float32"))
    assert [tuple(v.shape) for v in layer.weights] == shapes(4, units)
    w = _weights(shapes(4, units), 1)
    layer.set_weights(w)
    got = layer(x.astype("float32"), mask=mask if masked else None)
    seq, states = run_ref(step, x, w, n_states, units, mask if masked else None, go_backwards)
    assert len(got) == 1 + n_states
    np.testing.assert_allclose(got[0].numpy(), seq, rtol=1e-5, atol=1e-5)
    for g, s in zip(got[1:], states):
        np.testing.assert_allclose(g.numpy(), s, rtol=1e-5, atol=1e-5)
    last = getattr(L, name)(units, go_backwards=go_backwards, **kw)
    last(x.astype("float32"))
    last.set_weights(w)
    np.testing.assert_allclose(last(x.astype("float32"), mask=mask if masked else None).numpy(), seq[:, -1],
                               rtol=1e-5, atol=1e-5)


def _small(shape, a, b):
    return np.linspace(a, b, int(np.prod(shape)), dtype="float32").reshape(shape)


# Computed by Keras 3.15 (TensorFlow 2.21):
#   x = np.linspace(-1, 1, 12, dtype="float32").reshape(1, 4, 3)
#   def w(shape, a, b): return np.linspace(a, b, int(np.prod(shape)), dtype="float32").reshape(shape)
#   lstm = keras.layers.LSTM(2, return_sequences=True); lstm.build((1, 4, 3))
#   lstm.set_weights([w((3, 8), -0.5, 0.5), w((2, 8), 0.4, -0.4), w((8,), -0.1, 0.2)])
#   gru = keras.layers.GRU(2, return_sequences=True); gru.build((1, 4, 3))
#   gru.set_weights([w((3, 6), -0.5, 0.5), w((2, 6), 0.4, -0.4), w((2, 6), -0.1, 0.2)])
#   rnn = keras.layers.SimpleRNN(2, go_backwards=True); rnn.build((1, 4, 3))
#   rnn.set_weights([w((3, 2), -0.5, 0.5), w((2, 2), 0.4, -0.4), w((2,), -0.1, 0.2)])
#   print(np.asarray(layer(x)).round(6).tolist())
KERAS_LSTM = [[0.043227, 0.022911], [0.078622, 0.06852], [0.102807, 0.122859], [0.115711, 0.175592]]
KERAS_GRU = [[0.007363, -0.035644], [0.078582, 0.052591], [0.184581, 0.203893], [0.302144, 0.37235]]
KERAS_RNN = [0.273552, 0.03861]


def test_outputs_match_numbers_computed_by_keras():
    x = np.linspace(-1, 1, 12, dtype="float32").reshape(1, 4, 3)
    lstm = L.LSTM(2, return_sequences=True)
    lstm.build((1, 4, 3))
    lstm.set_weights([_small((3, 8), -0.5, 0.5), _small((2, 8), 0.4, -0.4), _small((8,), -0.1, 0.2)])
    np.testing.assert_allclose(lstm(x).numpy()[0], KERAS_LSTM, atol=2e-6)
    gru = L.GRU(2, return_sequences=True)
    gru.build((1, 4, 3))
    gru.set_weights([_small((3, 6), -0.5, 0.5), _small((2, 6), 0.4, -0.4), _small((2, 6), -0.1, 0.2)])
    np.testing.assert_allclose(gru(x).numpy()[0], KERAS_GRU, atol=2e-6)
    rnn = L.SimpleRNN(2, go_backwards=True)
    rnn.build((1, 4, 3))
    rnn.set_weights([_small((3, 2), -0.5, 0.5), _small((2, 2), 0.4, -0.4), _small((2,), -0.1, 0.2)])
    np.testing.assert_allclose(rnn(x).numpy()[0], KERAS_RNN, atol=2e-6)


def _numeric_grad(f, value, eps=1e-6):
    g = np.zeros_like(value)
    for idx in np.ndindex(value.shape):
        plus, minus = value.copy(), value.copy()
        plus[idx] += eps
        minus[idx] -= eps
        g[idx] = (f(plus) - f(minus)) / (2 * eps)
    return g


@pytest.mark.parametrize("name,kw,step,n_states,shapes", CASES)
def test_gradients_match_finite_differences(name, kw, step, n_states, shapes):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 3))
    units = 2
    w = _weights(shapes(3, units), 3)
    proj = rng.standard_normal((2, 4, units))

    def loss_ref(ws, xs):
        return float(np.sum(run_ref(step, xs, ws, n_states, units)[0] * proj))

    layer = getattr(L, name)(units, return_sequences=True, **kw)
    layer.build((2, 4, 3))
    layer.set_weights(w)
    xt = tf.constant(x.astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(layer(xt) * proj.astype("float32"))
    grads = tape.gradient(loss, [xt, *layer.weights])
    np.testing.assert_allclose(float(loss), loss_ref(w, x), rtol=1e-5)
    want_x = _numeric_grad(lambda v: loss_ref(w, v), x)
    np.testing.assert_allclose(grads[0].numpy(), want_x, rtol=2e-4, atol=2e-5)
    for i, g in enumerate(grads[1:]):
        want = _numeric_grad(lambda v, i=i: loss_ref([v if j == i else w[j] for j in range(3)], x), w[i])
        np.testing.assert_allclose(g.numpy(), want, rtol=2e-4, atol=2e-5)


def test_cells_step_once_and_lstm_bias_starts_forget_gate_at_one():
    cell = L.LSTMCell(3)
    h, (h2, c) = cell(tf.ones([2, 4]), [tf.zeros([2, 3]), tf.zeros([2, 3])])
    np.testing.assert_array_equal(cell.bias.numpy(), [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    w = [v.numpy().astype("float64") for v in cell.weights]
    want_h, (_, want_c) = lstm_step(np.ones((2, 4)), [np.zeros((2, 3))] * 2, w)
    np.testing.assert_allclose(h.numpy(), want_h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c.numpy(), want_c, rtol=1e-5, atol=1e-6)
    assert L.LSTMCell(3, unit_forget_bias=False).state_size == [3, 3]
    no_forget = L.LSTMCell(2, unit_forget_bias=False)
    no_forget(tf.ones([1, 2]), [tf.zeros([1, 2]), tf.zeros([1, 2])])
    np.testing.assert_array_equal(no_forget.bias.numpy(), np.zeros(8))
    rk = L.GRUCell(4)
    rk(tf.ones([1, 3]), [tf.zeros([1, 4])])
    q = rk.recurrent_kernel.numpy()  # orthogonal rows: [4, 12] has q @ q.T == I
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-5)


def test_rnn_runs_a_custom_cell_with_initial_state():
    class MinimalRNNCell(L.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight("kernel", [input_shape[-1], self.units], initializer="ones")

        def call(self, inputs, states):
            out = tf.matmul(inputs, self.kernel) + states[0]
            return out, [out]

    layer = L.RNN(MinimalRNNCell(2), return_sequences=True, return_state=True)
    x = np.arange(12, dtype="float32").reshape(2, 3, 2)
    seq, state = layer(x, initial_state=[tf.fill([2, 2], 10.0)])
    want = 10 + np.cumsum(x.sum(-1), axis=1)
    np.testing.assert_allclose(seq.numpy()[..., 0], want)
    np.testing.assert_allclose(state.numpy()[:, 1], want[:, -1])
    assert [tuple(w.shape) for w in layer.weights] == [(2, 2)]


def test_dropout_applies_only_when_training_with_one_mask_per_sequence():
    layer = L.SimpleRNN(6, activation=None, dropout=0.5, return_sequences=True, seed=1)
    x = np.ones((4, 5, 6), "float32")
    layer(x)
    layer.set_weights([np.eye(6), np.zeros((6, 6)), np.zeros(6)])  # output = dropped input
    np.testing.assert_allclose(layer(x).numpy(), np.ones((4, 5, 6)))
    np.testing.assert_allclose(layer(x, training=False).numpy(), np.ones((4, 5, 6)))
    y = layer(x, training=True).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and (y == 0).any() and (y == 2).any()
    np.testing.assert_array_equal(y, np.repeat(y[:, :1], 5, axis=1))  # the same mask at every step
    rec = L.LSTM(3, recurrent_dropout=0.9, return_sequences=True)
    a = rec(np.ones((2, 4, 2), "float32"))
    assert not np.allclose(rec(np.ones((2, 4, 2), "float32"), training=True).numpy(), a.numpy())


def test_stateful_layer_carries_states_between_calls():
    x = np.random.default_rng(4).standard_normal((2, 6, 3)).astype("float32")
    whole = L.GRU(4, return_sequences=True)
    whole(x)
    parts = L.GRU(4, return_sequences=True, stateful=True)
    parts(x[:, :3])
    parts.set_weights(whole.get_weights())
    parts.reset_state()
    first, second = parts(x[:, :3]), parts(x[:, 3:])
    joined = np.concatenate([first.numpy(), second.numpy()], 1)
    np.testing.assert_allclose(joined, whole(x).numpy(), atol=1e-6)
    assert len(parts.weights) == 3  # the states are not weights
    parts.reset_states()
    np.testing.assert_allclose(parts(x[:, :3]).numpy(), first.numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="batch size"):
        parts(x[:1])


@pytest.mark.parametrize("mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_merges_forward_and_reversed_backward(mode):
    x = np.random.default_rng(5).standard_normal((2, 4, 3))
    layer = L.Bidirectional(L.LSTM(2, return_sequences=True), merge_mode=mode)
    layer(x.astype("float32"))
    w = _weights([(3, 8), (2, 8), (8,)] * 2, 6)
    layer.set_weights(w)
    fwd, _ = run_ref(lstm_step, x, w[:3], 2, 2)
    bwd, _ = run_ref(lstm_step, x, w[3:], 2, 2, go_backwards=True)
    bwd = bwd[:, ::-1]
    want = {"concat": np.concatenate([fwd, bwd], -1), "sum": fwd + bwd, "mul": fwd * bwd,
            "ave": (fwd + bwd) / 2, None: [fwd, bwd]}[mode]
    got = layer(x.astype("float32"))
    if mode is None:
        for g, wv in zip(got, want):
            np.testing.assert_allclose(g.numpy(), wv, rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)
    assert layer.forward_layer.name.startswith("forward_") and layer.backward_layer.go_backwards


def test_bidirectional_return_state_and_errors():
    out = L.Bidirectional(L.LSTM(2, return_state=True))(tf.ones([3, 4, 5]))
    assert [tuple(t.shape) for t in out] == [(3, 4)] + [(3, 2)] * 4
    built = L.GRU(2)
    built(tf.ones([1, 2, 5]))
    wrapper = L.Bidirectional(built)
    wrapper(tf.ones([1, 2, 5]))
    assert len(wrapper.weights) == 6  # the template layer's weights are not the wrapper's
    with pytest.raises(ValueError, match="Invalid merge mode"):
        L.Bidirectional(L.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="go_backwards"):
        L.Bidirectional(L.LSTM(2), backward_layer=L.LSTM(2))
    with pytest.raises(ValueError, match="return_sequences"):
        L.Bidirectional(L.LSTM(2), backward_layer=L.LSTM(2, go_backwards=True, return_sequences=True))


def test_time_distributed_applies_the_layer_to_each_step():
    x = np.random.default_rng(7).standard_normal((2, 3, 4)).astype("float32")
    layer = L.TimeDistributed(L.Dense(5))
    y = layer(x).numpy()
    k, b = layer.layer.get_weights()
    np.testing.assert_allclose(y, x @ k + b, rtol=1e-5, atol=1e-6)
    assert [tuple(w.shape) for w in layer.weights] == [(4, 5), (5,)]
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        layer(tf.ones([2, 4]))


def test_errors_are_kerass():
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        L.LSTM(2)(tf.ones([2, 3]))
    with pytest.raises(ValueError, match="invalid value for argument `units`"):
        L.GRU(0)
    with pytest.raises(ValueError, match="expects 2 state"):
        L.LSTM(2)(tf.ones([2, 3, 4]), initial_state=[tf.zeros([2, 2])])
    with pytest.raises(ValueError, match="should have a `call` method"):
        L.RNN(object())
    with pytest.raises(ValueError, match="at least one time step"):
        L.SimpleRNN(2)(tf.ones([2, 0, 3]))
    with pytest.raises(NotImplementedError, match="kernel_constraint"):
        L.LSTM(2, kernel_constraint="non_neg")


def test_fit_learns_and_model_saves_and_loads(tmp_path):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((32, 5, 2)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None].astype("float32")
    model = tf.keras.Sequential([tf.keras.Input(shape=(5, 2)),
                                 L.Bidirectional(L.GRU(4, return_sequences=True)), L.LSTM(4), L.Dense(1)])
    model.compile(optimizer=tf.keras.optimizers.Adam(0.02), loss="mse")
    hist = model.fit(x, y, epochs=15, batch_size=8, verbose=0).history["loss"]
    assert hist[-1] < 0.5 * hist[0]
    path = os.path.join(tmp_path, "rnn.keras")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    assert [type(layer).__name__ for layer in loaded.layers] == ["Bidirectional", "LSTM", "Dense"]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_configs_round_trip():
    saving = tf.keras.saving
    layer = L.Bidirectional(L.GRU(3, reset_after=False, dropout=0.2, return_sequences=True), merge_mode="ave")
    config = saving.serialize(layer)
    assert config["config"]["merge_mode"] == "ave"
    back = saving.deserialize(config)
    assert back.merge_mode == "ave" and back.forward_layer.cell.reset_after is False
    assert back.backward_layer.go_backwards and back.forward_layer.cell.dropout == 0.2
    cell = L.LSTMCell(5, unit_forget_bias=False)
    rnn = saving.deserialize(saving.serialize(L.RNN(cell, go_backwards=True)))
    assert rnn.go_backwards and rnn.cell.units == 5 and rnn.cell.unit_forget_bias is False
    td = saving.deserialize(saving.serialize(L.TimeDistributed(L.Dense(7))))
    assert td.layer.units == 7


def test_functional_model_with_initial_state_and_return_state():
    inp = tf.keras.Input(shape=(4, 3))
    h0 = tf.keras.Input(shape=(2,))
    c0 = tf.keras.Input(shape=(2,))
    seq, h, c = L.LSTM(2, return_sequences=True, return_state=True)(inp, initial_state=[h0, c0])
    model = tf.keras.Model([inp, h0, c0], [seq, h, c])
    x = np.ones((5, 4, 3), "float32")
    s = np.full((5, 2), 0.5, "float32")
    out = model([x, s, s])
    assert [tuple(t.shape) for t in out] == [(5, 4, 2), (5, 2), (5, 2)]
    np.testing.assert_allclose(out[0].numpy()[:, -1], out[1].numpy())
    zero = model([x, 0 * s, 0 * s])
    assert not np.allclose(zero[1].numpy(), out[1].numpy())


def test_padding_mask_gives_the_output_of_the_unpadded_sequence():
    # Embedding(mask_zero=True) does not propagate its mask in rstf yet: the mask is passed.
    ids = np.array([[3, 1, 4, 0, 0], [2, 7, 1, 8, 2]])
    emb = L.Embedding(10, 3, mask_zero=True)
    layer = L.LSTM(4)
    padded = layer(emb(ids), mask=tf.not_equal(ids, 0)).numpy()
    np.testing.assert_allclose(padded[0], layer(emb(ids[:1, :3])).numpy()[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(padded[1], layer(emb(ids[1:])).numpy()[0], rtol=1e-6, atol=1e-6)


def test_regularizers_add_losses():
    layer = L.GRU(2, kernel_regularizer="l2", recurrent_regularizer=tf.keras.regularizers.L1(0.1),
                  activity_regularizer="l2")
    y = layer(tf.ones([3, 4, 5])).numpy()
    k, rk, _ = layer.get_weights()
    want = [0.01 * (y ** 2).sum() / 3, 0.01 * (k ** 2).sum(), 0.1 * np.abs(rk).sum()]
    np.testing.assert_allclose(sorted(float(x) for x in layer.losses), sorted(want), rtol=1e-5)
