"""Shape-polymorphic graphs: ``None`` dimensions in an ``input_signature`` (or relaxed by
``reduce_retracing``) give one trace that runs for any size; sizes computed from a traced shape in
Python fall back to a trace per concrete shape, never to a wrong result."""

import numpy as np
import pytest

import rstf as tf


def _counting(fn, **kw):
    calls = []

    def wrapped(*a):
        calls.append(1)
        return fn(*a)

    return tf.function(wrapped, **kw), calls


def test_none_batch_traces_once_for_every_size():
    f, calls = _counting(lambda x: (tf.reduce_mean(x * 2.0, axis=0), tf.reduce_sum(x, axis=1)),
                         input_signature=[tf.TensorSpec([None, 2], tf.float32)])
    for n in (3, 5, 1, 0, 7, 3):
        a = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
        m, s = f(a)
        want = (a * 2).sum(0) / n if n else np.full(2, np.nan, np.float32)
        np.testing.assert_allclose(m.numpy(), want, rtol=1e-6)
        np.testing.assert_allclose(s.numpy(), a.sum(1))
        assert s.shape == (n,)
    # One trace; its Python body runs twice, at two sizes, to confirm that the graph does not
    # depend on the size.
    assert len(calls) == 2 and f.experimental_get_tracing_count() == 1
    cf = f.get_concrete_function()
    assert cf.graph.polymorphic
    assert "float32[None, 2]" in str(cf.graph)


def test_train_step_with_none_batch_matches_eager():
    rng = np.random.default_rng(0)
    w = tf.Variable(rng.normal(size=(3, 1)).astype(np.float32))
    b = tf.Variable(np.zeros([1], np.float32))

    def loss_of(x, y, w, b):
        return tf.reduce_mean(tf.square(tf.nn.relu(x @ w + b) - y))

    @tf.function(input_signature=[tf.TensorSpec([None, 3]), tf.TensorSpec([None, 1])])
    def step(x, y):
        with tf.GradientTape() as t:
            loss = loss_of(x, y, w, b)
        gw, gb = t.gradient(loss, [w, b])
        w.assign_sub(0.1 * gw)
        b.assign_sub(0.1 * gb)
        return loss

    for n in (4, 9, 1, 4, 17):
        x = rng.random((n, 3), np.float32)
        y = rng.random((n, 1), np.float32)
        w0, b0 = tf.Variable(w.numpy()), tf.Variable(b.numpy())
        with tf.GradientTape() as t:
            want = loss_of(tf.constant(x), tf.constant(y), w0, b0)
        gw, gb = t.gradient(want, [w0, b0])
        np.testing.assert_allclose(step(x, y).numpy(), want.numpy(), rtol=1e-5)
        np.testing.assert_allclose(w.numpy(), w0.numpy() - 0.1 * gw.numpy(), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(b.numpy(), b0.numpy() - 0.1 * gb.numpy(), rtol=1e-5, atol=1e-7)
    assert step.experimental_get_tracing_count() == 1


def test_shape_attributes_follow_the_size():
    def body(x):
        with tf.GradientTape() as t:
            t.watch(x)
            y = tf.concat([x, tf.ones_like(x)], 0)
            z = tf.reshape(y[1:, ::-1], [-1])
            g = tf.gather(x, [0, 0], axis=0)
            b = tf.broadcast_to(tf.reduce_sum(x, axis=0, keepdims=True), x.shape) + tf.zeros_like(x)
            total = tf.reduce_sum(z) + tf.reduce_sum(g * g) + tf.reduce_sum(b * x)
        return z, b, t.gradient(total, x)

    f = tf.function(body, input_signature=[tf.TensorSpec([None, 3], tf.float32)])
    for n in (2, 5, 1):
        x = tf.constant(np.random.default_rng(n).normal(size=(n, 3)).astype(np.float32))
        got, want = f(x), body(x)
        for a, e in zip(got, want):
            assert a.shape == e.shape
            np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=1e-5, atol=1e-6)
    assert f.experimental_get_tracing_count() == 1
    assert f.get_concrete_function().graph.polymorphic


def test_none_dims_at_several_axes_and_arguments():
    f = tf.function(lambda x, y: tf.matmul(x, y) + 1.0,
                    input_signature=[tf.TensorSpec([None, None]), tf.TensorSpec([None, None])])
    for m, k, n in ((2, 3, 4), (5, 1, 2), (3, 3, 3)):
        # x is (m, k) and y is (k, n): axis 0 of y has the size of axis 1 of x, which is a
        # different None; the graph cannot bind both, so calls retrace per shape when they
        # disagree and always give the right answer.
        x = np.ones((m, k), np.float32)
        y = np.ones((k, n), np.float32)
        np.testing.assert_allclose(f(x, y).numpy(), x @ y + 1)

    g = tf.function(lambda x, y: tf.reduce_sum(x, axis=1) + tf.reduce_sum(y, axis=1),
                    input_signature=[tf.TensorSpec([None, None]), tf.TensorSpec([None, None])])
    for n, a, b in ((2, 3, 3), (4, 5, 5), (6, 1, 1)):
        x, y = np.ones((n, a), np.float32), np.ones((n, b), np.float32)
        np.testing.assert_allclose(g(x, y).numpy(), x.sum(1) + y.sum(1))
    assert g.experimental_get_tracing_count() == 1


def test_sizes_computed_from_a_traced_shape_retrace_per_shape():
    half = tf.function(lambda x: x[: x.shape[0] // 2], input_signature=[tf.TensorSpec([None])])
    for n in (10, 6, 3):
        np.testing.assert_array_equal(half(tf.range(float(n))).numpy(), np.arange(n // 2))
    assert not half.get_concrete_function().graph.polymorphic

    zeros = tf.function(lambda x: x + tf.constant(np.arange(x.shape[0], dtype=np.float32)),
                        input_signature=[tf.TensorSpec([None])])
    for n in (4, 2):
        np.testing.assert_array_equal(zeros(tf.ones([n])).numpy(), np.arange(n) + 1)

    scale = tf.function(lambda x: x / float(x.shape[0]), input_signature=[tf.TensorSpec([None])])
    for n in (4, 8):
        np.testing.assert_allclose(scale(tf.ones([n])).numpy(), np.full(n, 1 / n))


def test_numbers_computed_from_a_traced_size_are_never_frozen():
    spec = tf.TensorSpec
    attn = tf.function(
        lambda q, k: tf.matmul(q, k, transpose_b=True) / tf.sqrt(tf.cast(tf.shape(k)[-1], tf.float32)),
        input_signature=[spec([None, None]), spec([None, None])])
    for d in (16, 4):
        q = tf.ones([2, d])
        np.testing.assert_allclose(attn(q, q).numpy(), np.full((2, 2), np.sqrt(d)), rtol=1e-6)
    drop = tf.function(lambda x: x[: tf.shape(x)[0] - 10], input_signature=[spec([None])])
    for n in (13, 20):
        np.testing.assert_array_equal(drop(tf.range(float(n))).numpy(), np.arange(n - 10))
    # Sizes near the ones that stand for None while tracing are the user's own.
    fixed = tf.function(lambda x: tf.reduce_sum(x) + tf.reduce_sum(tf.ones([1005])),
                        input_signature=[spec([None])])
    assert float(fixed(tf.ones([30]))) == 1035.0
    wide = tf.function(lambda x: tf.zeros([tf.shape(x)[0], 64]) + tf.reduce_sum(x, 1, keepdims=True),
                       input_signature=[spec([None, 20000])])
    assert wide(tf.ones([2, 20000])).shape == (2, 64)


def test_random_with_the_input_shape():
    f = tf.function(lambda x: x + tf.random.uniform(x.shape, 0.0, 1.0),
                    input_signature=[tf.TensorSpec([None, 2])])
    for n in (3, 6):
        y = f(tf.zeros([n, 2])).numpy()
        assert y.shape == (n, 2) and np.all((y >= 0) & (y < 1))
    assert f.experimental_get_tracing_count() == 1


def test_while_loop_in_a_polymorphic_function():
    @tf.function(input_signature=[tf.TensorSpec([None]), tf.TensorSpec([], tf.int32)])
    def f(x, n):
        return tf.while_loop(lambda i, v: i < n, lambda i, v: (i + 1, v * 2.0 + tf.reduce_sum(x)), (0, x))[1]

    for size, n in ((3, 2), (5, 3), (1, 0)):
        x = np.arange(size, dtype=np.float32)
        want = x.copy()
        for _ in range(n):
            want = want * 2 + x.sum()
        np.testing.assert_allclose(f(x, tf.constant(n)).numpy(), want)
    assert f.experimental_get_tracing_count() == 1


def test_reduce_retracing_relaxes_shapes():
    f, calls = _counting(lambda x: tf.reduce_sum(x * x), reduce_retracing=True)
    for n in (2, 3, 4, 5, 3):
        assert float(f(tf.ones([n]))) == n
    assert len(calls) == 3      # [2], then [None] (its Python run at two sizes)
    f(tf.ones([2, 2]))          # another rank: traced anew
    f(tf.ones([3, 3]))          # relaxed to [None, None]
    f(tf.ones([4, 1]))
    assert len(calls) == 6
    plain, plain_calls = _counting(lambda x: tf.reduce_sum(x))
    for n in (2, 3, 4):
        plain(tf.ones([n]))
    assert len(plain_calls) == 3


def test_concrete_function_from_a_none_spec():
    f = tf.function(lambda x: x * 3.0)
    cf = f.get_concrete_function(tf.TensorSpec([None, 2]))
    np.testing.assert_array_equal(cf(tf.ones([4, 2])).numpy(), np.full((4, 2), 3.0))
    np.testing.assert_array_equal(cf(tf.ones([1, 2])).numpy(), np.full((1, 2), 3.0))
    with pytest.raises(tf.errors.InvalidArgumentError, match="None, 2"):
        cf(tf.ones([2, 3]))
    # A cf that cannot be polymorphic still answers any size (a trace per shape).
    g = tf.function(lambda x: x + tf.constant(np.zeros(x.shape, np.float32)))
    gcf = g.get_concrete_function(tf.TensorSpec([None]))
    assert not gcf.graph.polymorphic
    np.testing.assert_array_equal(gcf(tf.ones([3])).numpy(), np.ones(3))


def test_saved_model_with_none_batch_runs_any_batch(tmp_path):
    class M(tf.Module):
        def __init__(self):
            self.w = tf.Variable([[1.0], [2.0]])

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32)])
        def predict(self, x):
            return tf.nn.relu(x @ self.w)

    m = M()
    tf.saved_model.save(m, str(tmp_path / "m"))
    loaded = tf.saved_model.load(str(tmp_path / "m"))
    for n in (1, 3, 6):
        x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
        np.testing.assert_allclose(loaded.predict(x).numpy(), m.predict(x).numpy())


def test_keras_saved_model_takes_any_batch(tmp_path):
    model = tf.keras.Sequential([tf.keras.layers.Dense(4, activation="relu"), tf.keras.layers.Dense(1)])
    x = np.random.default_rng(1).random((8, 3)).astype(np.float32)
    model(x)
    model.save(str(tmp_path / "k"))
    loaded = tf.saved_model.load(str(tmp_path / "k"))
    serve = loaded.signatures["serving_default"] if hasattr(loaded, "signatures") else loaded.serving_default
    for n in (8, 2, 5):
        out = serve(x[:n])
        out = next(iter(out.values())) if isinstance(out, dict) else out
        np.testing.assert_allclose(out.numpy(), model(x[:n]).numpy(), rtol=1e-5, atol=1e-6)


def test_functions_that_do_not_fit_the_stand_in_sizes_trace_per_shape():
    # The sizes that stand for None while tracing are odd primes: a reshape into pairs, an
    # even split or a broadcast against a fixed size fails there, and the call gets a trace
    # of its own shapes, as eager code would run.
    spec = tf.TensorSpec
    pairs = tf.function(lambda x: tf.reshape(x, [-1, 2]), input_signature=[spec([None])])
    np.testing.assert_array_equal(pairs(tf.range(4.0)).numpy(), [[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_array_equal(pairs(tf.range(6.0)).numpy()[-1], [4.0, 5.0])
    halves = tf.function(lambda x: tf.split(x, 2), input_signature=[spec([None, 2])])
    assert [h.shape for h in halves(tf.ones([4, 2]))] == [(2, 2), (2, 2)]
    plus = tf.function(lambda x: x + tf.ones([5]), input_signature=[spec([None])])
    np.testing.assert_array_equal(plus(tf.ones([5])).numpy(), np.full(5, 2.0))


def test_kept_traces_are_bounded_least_recently_used_first(monkeypatch):
    import rstf._function as function_module

    monkeypatch.setattr(function_module, "MAX_CACHED_TRACES", 8)
    f, calls = _counting(lambda x: tf.reduce_sum(x) + 1.0)
    hot = tf.ones([1])  # a tensor: its calls take the fast path
    with pytest.warns(UserWarning, match="traced 6 times"):
        for n in range(2, 40):
            assert float(f(np.ones((n,), np.float32))) == n + 1.0
            assert float(f(hot)) == 2.0  # used between every new shape: never dropped
    assert len(f._list_all_concrete_functions()) == 8
    assert len(calls) == 39  # the 38 shapes and the hot one, traced once
    f(np.ones((39,), np.float32))  # among the 8 kept
    f(np.ones((2,), np.float32))  # dropped long ago: traced again
    assert len(calls) == 40 and len(f._list_all_concrete_functions()) == 8
