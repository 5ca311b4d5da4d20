"""Keras attention layers (rstf.keras.attention): MultiHeadAttention, Attention and
AdditiveAttention against float64 numpy formulas, numbers the reference Keras computed (stored
below with the snippet that made them), and finite differences for the gradients."""

import os

import numpy as np
import pytest

import rstf as tf

L = tf.keras.layers


def softmax_masked(scores, mask=None):
    """Keras' Softmax layer with a mask: -1e9 added to masked logits, masked entries zeroed."""
    if mask is not None:
        scores = scores + (1.0 - mask) * -1e9
    e = np.exp(scores - scores.max(-1, keepdims=True))
    p = e / e.sum(-1, keepdims=True)
    return p if mask is None else p * mask


def mha_ref(q, v, k, w, key_dim, mask=None, use_bias=True):
    if use_bias:
        wq, bq, wk, bk, wv, bv, wo, bo = w
    else:
        (wq, wk, wv, wo), bq = w, 0
        bk = bv = bo = 0
    qp = np.einsum("btd,dnh->btnh", q, wq) + bq
    kp = np.einsum("bsd,dnh->bsnh", k, wk) + bk
    vp = np.einsum("bsd,dnh->bsnh", v, wv) + bv
    scores = np.einsum("bsnh,btnh->bnts", kp, qp / np.sqrt(key_dim))
    probs = softmax_masked(scores, None if mask is None else mask[:, None].astype(float))
    out = np.einsum("bnts,bsnh->btnh", probs, vp)
    return np.einsum("btnh,nho->bto", out, wo) + bo, probs


def _weights(layer, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(v.shape) * 0.5 for v in layer.weights]


@pytest.mark.parametrize("masks", ["none", "attention", "causal", "both"])
def test_multi_head_attention_matches_numpy(masks):
    rng = np.random.default_rng(0)
    q, v, k = rng.standard_normal((2, 4, 6)), rng.standard_normal((2, 4, 5)), rng.standard_normal((2, 4, 3))
    layer = L.MultiHeadAttention(num_heads=3, key_dim=2, value_dim=4)
    f32 = [a.astype("float32") for a in (q, v, k)]
    layer(f32[0], f32[1], key=f32[2])
    assert [tuple(w.shape) for w in layer.weights] == [(6, 3, 2), (3, 2), (3, 3, 2), (3, 2), (5, 3, 4),
                                                       (3, 4), (3, 4, 6), (6,)]
    w = _weights(layer, 1)
    layer.set_weights(w)
    am = rng.random((2, 4, 4)) > 0.4
    am[:, :, 0] = True
    causal = np.tril(np.ones((4, 4), bool))[None]
    kwargs, mask = {}, None
    if masks in ("attention", "both"):
        kwargs["attention_mask"], mask = am, am
    if masks in ("causal", "both"):
        kwargs["use_causal_mask"] = True
        mask = causal if mask is None else mask & causal
    out, scores = layer(f32[0], f32[1], key=f32[2], return_attention_scores=True, **kwargs)
    want, want_scores = mha_ref(q, v, k, w, 2, mask)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores.numpy(), want_scores, rtol=1e-5, atol=1e-6)
    again = layer(f32[0], f32[1], key=f32[2], **kwargs)
    np.testing.assert_allclose(again.numpy(), want, rtol=1e-5, atol=1e-5)


def test_output_shape_and_no_bias():
    rng = np.random.default_rng(2)
    q, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    layer = L.MultiHeadAttention(2, 3, use_bias=False, output_shape=7)
    layer(q.astype("float32"), v.astype("float32"))
    assert [tuple(x.shape) for x in layer.weights] == [(4, 2, 3), (4, 2, 3), (4, 2, 3), (2, 3, 7)]
    w = _weights(layer, 3)
    layer.set_weights(w)
    want, _ = mha_ref(q, v, v, w, 3, use_bias=False)
    got = layer(q.astype("float32"), v.astype("float32"))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)
    assert layer.compute_output_shape((None, 3, 4)) == (None, 3, 7)


def _small(shape, a, b):
    return np.linspace(a, b, int(np.prod(shape)), dtype="float32").reshape(shape)


# Computed by Keras 3.15 (TensorFlow 2.21):
#   q = np.linspace(-1, 1, 8, dtype="float32").reshape(1, 2, 4)
#   v = np.linspace(1, -1, 12, dtype="float32").reshape(1, 3, 4)
#   def w(shape, a, b): return np.linspace(a, b, int(np.prod(shape)), dtype="float32").reshape(shape)
#   mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=2); mha(q, v)
#   mha.set_weights([w(x.shape, -0.3 + 0.1 * i, 0.3 - 0.05 * i) for i, x in enumerate(mha.get_weights())])
#   out, scores = mha(q, v, return_attention_scores=True)
#   print(np.asarray(out).round(6).tolist(), np.asarray(scores).round(6).tolist())
KERAS_OUT = [[0.516077, 0.355175, 0.194274, 0.033372], [0.516353, 0.355163, 0.193972, 0.032782]]
KERAS_SCORES = [[[0.341792, 0.333262, 0.324946], [0.335491, 0.333329, 0.331181]],
                [[0.364117, 0.332413, 0.30347], [0.383531, 0.330928, 0.28554]]]


def test_multi_head_attention_matches_numbers_computed_by_keras():
    q = np.linspace(-1, 1, 8, dtype="float32").reshape(1, 2, 4)
    v = np.linspace(1, -1, 12, dtype="float32").reshape(1, 3, 4)
    mha = L.MultiHeadAttention(num_heads=2, key_dim=2)
    mha(q, v)
    mha.set_weights([_small(x.shape, -0.3 + 0.1 * i, 0.3 - 0.05 * i)
                     for i, x in enumerate(mha.get_weights())])
    out, scores = mha(q, v, return_attention_scores=True)
    np.testing.assert_allclose(out.numpy()[0], KERAS_OUT, atol=2e-6)
    np.testing.assert_allclose(scores.numpy()[0], KERAS_SCORES, atol=2e-6)


def _numeric_grad(f, value, eps=1e-6):
    g = np.zeros_like(value)
    for idx in np.ndindex(value.shape):
        plus, minus = value.copy(), value.copy()
        plus[idx] += eps
        minus[idx] -= eps
        g[idx] = (f(plus) - f(minus)) / (2 * eps)
    return g


def test_multi_head_attention_gradients_match_finite_differences():
    rng = np.random.default_rng(4)
    q, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 2, 4))
    layer = L.MultiHeadAttention(2, 2)
    layer(q.astype("float32"), v.astype("float32"))
    w = _weights(layer, 5)
    layer.set_weights(w)
    proj = rng.standard_normal((2, 3, 4))
    mask = np.array([[[1, 1], [1, 0], [0, 1]]] * 2, bool)

    def loss_ref(ws, qs, vs):
        return float(np.sum(mha_ref(qs, vs, vs, ws, 2, mask)[0] * proj))

    qt, vt = tf.constant(q.astype("float32")), tf.constant(v.astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch([qt, vt])
        loss = tf.reduce_sum(layer(qt, vt, attention_mask=mask) * proj.astype("float32"))
    grads = tape.gradient(loss, [qt, vt, *layer.weights])
    np.testing.assert_allclose(float(loss), loss_ref(w, q, v), rtol=1e-5)
    tol = {"rtol": 2e-4, "atol": 2e-5}
    np.testing.assert_allclose(grads[0].numpy(), _numeric_grad(lambda x: loss_ref(w, x, v), q), **tol)
    np.testing.assert_allclose(grads[1].numpy(), _numeric_grad(lambda x: loss_ref(w, q, x), v), **tol)
    for i, g in enumerate(grads[2:]):
        want = _numeric_grad(lambda x, i=i: loss_ref([x if j == i else w[j] for j in range(8)], q, v), w[i])
        np.testing.assert_allclose(g.numpy(), want, rtol=2e-4, atol=2e-5)


def test_dropout_only_when_training():
    layer = L.MultiHeadAttention(2, 3, dropout=0.5, seed=3)
    x = np.random.default_rng(6).standard_normal((2, 5, 4)).astype("float32")
    a = layer(x, x).numpy()
    np.testing.assert_array_equal(layer(x, x, training=False).numpy(), a)
    assert not np.allclose(layer(x, x, training=True).numpy(), a)


def dot_attention_ref(q, v, k, q_mask=None, v_mask=None, causal=False, scale=1.0, concat=None):
    if concat is None:
        scores = scale * q @ np.swapaxes(k, -1, -2)
    else:
        scores = concat(q[..., :, None, :] + k[..., None, :, :])
    keep = np.ones(scores.shape, bool)
    if v_mask is not None:
        keep = keep & v_mask[:, None, :]
    if causal:
        keep = keep & np.tril(np.ones(scores.shape[-2:], bool))
    scores = np.where(keep, scores, scores - 1e9)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    probs = e / e.sum(-1, keepdims=True)
    out = probs @ v
    if q_mask is not None:
        out = np.where(q_mask[..., None], out, 0.0)
    return out, probs


@pytest.mark.parametrize("kind", ["dot", "dot_scale", "concat", "additive", "additive_noscale"])
def test_attention_layers_match_numpy(kind):
    rng = np.random.default_rng(7)
    q, v, k = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5, 2)), rng.standard_normal((2, 5, 3))
    qm = np.array([[1, 1, 0, 1], [1, 1, 1, 1]], bool)
    vm = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], bool)
    layer = {"dot": lambda: L.Attention(), "dot_scale": lambda: L.Attention(use_scale=True),
             "concat": lambda: L.Attention(use_scale=True, score_mode="concat"),
             "additive": lambda: L.AdditiveAttention(),
             "additive_noscale": lambda: L.AdditiveAttention(use_scale=False)}[kind]()
    f32 = [a.astype("float32") for a in (q, v, k)]
    layer(f32)
    w = [np.asarray(rng.standard_normal(x.shape) * 0.5 + 1.0) for x in layer.weights]
    layer.set_weights(w)
    scale = w[0] if w and kind == "dot_scale" else 1.0
    concat = None
    if kind == "concat":
        def concat(s):
            return w[1] * np.tanh(w[0] * s).sum(-1)
    elif kind.startswith("additive"):
        def concat(s):
            return (np.tanh(s) * (w[0] if w else 1.0)).sum(-1)
    out, scores = layer(f32, mask=[qm, vm], return_attention_scores=True)
    want, want_scores = dot_attention_ref(q, v, k, qm, vm, scale=scale, concat=concat)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores.numpy(), want_scores, rtol=1e-5, atol=1e-6)
    causal, _ = dot_attention_ref(q, v, k, causal=True, scale=scale, concat=concat)
    np.testing.assert_allclose(layer(f32, use_causal_mask=True).numpy(), causal, rtol=1e-5, atol=1e-5)
    shapes = {"dot": [], "dot_scale": [()], "concat": [(), ()], "additive": [(3,)], "additive_noscale": []}
    assert [tuple(x.shape) for x in layer.weights] == shapes[kind]


def test_attention_gradient_matches_finite_differences():
    rng = np.random.default_rng(8)
    q, v = rng.standard_normal((1, 3, 2)), rng.standard_normal((1, 4, 2))
    layer = L.AdditiveAttention()
    layer([q.astype("float32"), v.astype("float32")])
    scale = layer.scale.numpy().astype("float64")

    def loss_ref(qs, s):
        out, _ = dot_attention_ref(qs, v, v, concat=lambda t: (np.tanh(t) * s).sum(-1))
        return float(np.sum(out * np.arange(1, 3)))

    qt = tf.constant(q.astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(qt)
        loss = tf.reduce_sum(layer([qt, tf.constant(v.astype("float32"))]) * tf.constant([1.0, 2.0]))
    gq, gs = tape.gradient(loss, [qt, layer.scale])
    tol = {"rtol": 2e-4, "atol": 2e-5}
    np.testing.assert_allclose(gq.numpy(), _numeric_grad(lambda x: loss_ref(x, scale), q), **tol)
    np.testing.assert_allclose(gs.numpy(), _numeric_grad(lambda s: loss_ref(q, s), scale), **tol)


def test_errors_are_kerass():
    with pytest.raises(ValueError, match="must be called on a list of inputs"):
        L.Attention()(tf.ones([2, 3, 4]))
    with pytest.raises(ValueError, match="length 2 or 3"):
        L.Attention()([tf.ones([2, 3, 4])])
    with pytest.raises(ValueError, match="score_mode"):
        L.Attention(score_mode="general")
    with pytest.raises(ValueError, match="num_heads"):
        L.MultiHeadAttention(0, 2)
    with pytest.raises(ValueError, match="key_dim"):
        L.MultiHeadAttention(2, -1)


def test_transformer_block_trains_saves_and_loads(tmp_path):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((16, 6, 4)).astype("float32")
    y = x.mean(axis=1)
    inp = tf.keras.Input(shape=(6, 4))
    h = L.MultiHeadAttention(2, 4, name="mha")(inp, inp, use_causal_mask=True)
    h = L.Attention(use_scale=True)([h, inp])
    out = L.Dense(4)(L.Flatten()(h))
    model = tf.keras.Model(inp, out)
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss="mse")
    hist = model.fit(x, y, epochs=10, batch_size=8, verbose=0).history["loss"]
    assert hist[-1] < hist[0]
    path = os.path.join(tmp_path, "attn.keras")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    mha = L.MultiHeadAttention(3, 2, value_dim=5, output_shape=(4,), dropout=0.1)
    config = tf.keras.saving.serialize(mha)
    back = tf.keras.saving.deserialize(config)
    assert (back.num_heads, back.key_dim, back.value_dim, back.dropout) == (3, 2, 5, 0.1)
    assert back.compute_output_shape((None, 2, 9)) == (None, 2, 4)
