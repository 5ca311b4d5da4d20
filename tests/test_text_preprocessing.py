"""Keras' text and lookup preprocessing layers: StringLookup, IntegerLookup and
TextVectorization, against vocabularies counted by hand with ``collections.Counter``."""

import collections
import math
import os
import re

import numpy as np
import pytest

import rstf as tf
from rstf.keras.index_lookup import fingerprint64

L = tf.keras.layers

PUNCT = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'

TEXTS = [
    "The cat sat on the mat.",
    "The dog ate my homework!",
    "A cat, a dog; and THE bird?",
    "dog eat dog",
    "Sat, sat, sat: the end",
]


def keras_order(counter, max_learned=None):
    """Tokens by count (high first), ties by the token's bytes (high first), as Keras sorts."""
    key = (lambda kv: (kv[1], kv[0].encode())) if counter and isinstance(next(iter(counter)), str) \
        else (lambda kv: (kv[1], kv[0]))
    ranked = [t for t, _ in sorted(counter.items(), key=key, reverse=True)]
    return ranked if max_learned is None else ranked[:max_learned]


def standard_tokens(text):
    return re.sub(PUNCT, "", text.lower()).split()


# -- StringLookup -------------------------------------------------------------------------------


def test_string_lookup_adapt_matches_counter():
    data = [["b", "a", "c", "b"], ["d", "a", "b", "e"], ["e", "e", "f", "z"]]
    counts = collections.Counter(t for row in data for t in row)
    layer = L.StringLookup()
    layer.adapt(data)
    assert layer.get_vocabulary() == ["[UNK]"] + keras_order(counts)
    assert layer.get_vocabulary(include_special_tokens=False) == keras_order(counts)
    assert layer.vocabulary_size() == len(counts) + 1
    capped = L.StringLookup(max_tokens=4)
    capped.adapt(np.array(data))
    assert capped.get_vocabulary() == ["[UNK]"] + keras_order(counts, 3)


def test_string_lookup_adapt_drops_special_tokens_and_reads_datasets():
    words = ["x", "", "y", "[UNK]", "y", "x", "y", "", ""]
    layer = L.StringLookup(mask_token="")
    layer.adapt(tf.data.Dataset.from_tensor_slices(words).batch(4))
    assert layer.get_vocabulary() == ["", "[UNK]", "y", "x"]
    from_gen = L.StringLookup()
    from_gen.adapt(iter([np.array(["q", "r"]), np.array(["r"])]))
    assert from_gen.get_vocabulary() == ["[UNK]", "r", "q"]
    first_batch = L.StringLookup()
    first_batch.adapt(tf.data.Dataset.from_tensor_slices(["a", "b", "b", "c"]).batch(2), steps=1)
    assert first_batch.get_vocabulary() == ["[UNK]", "b", "a"]


def test_string_lookup_int_output_oov_and_mask():
    vocab = ["a", "b", "c", "d"]
    layer = L.StringLookup(vocabulary=vocab)
    out = layer([["a", "c", "d"], ["d", "z", "b"]])
    assert out.dtype == tf.int64
    np.testing.assert_array_equal(out.numpy(), [[1, 3, 4], [4, 0, 2]])
    assert int(layer("c")) == 3  # a scalar stays a scalar
    masked = L.StringLookup(vocabulary=vocab, mask_token="")
    assert masked.get_vocabulary() == ["", "[UNK]", "a", "b", "c", "d"]
    np.testing.assert_array_equal(masked([["a", "", "z"]]).numpy(), [[2, 0, 1]])
    # The vocabulary may start with the special tokens themselves.
    again = L.StringLookup(vocabulary=masked.get_vocabulary(), mask_token="")
    assert again.get_vocabulary() == masked.get_vocabulary()


def test_string_lookup_several_oov_indices_hash_as_tensorflow():
    # tf.strings.to_hash_bucket_fast(["Hello", "TensorFlow", "2.x"], 3) is [0, 2, 2].
    assert [fingerprint64(s) % 3 for s in (b"Hello", b"TensorFlow", b"2.x")] == [0, 2, 2]
    layer = L.StringLookup(vocabulary=["a", "b", "c", "d"], num_oov_indices=2)
    np.testing.assert_array_equal(layer([["a", "c", "d"], ["m", "z", "b"]]).numpy(), [[2, 4, 5], [0, 1, 3]])
    oov = ["Hello", "TensorFlow", "2.x", "x" * 100]
    want = [fingerprint64(s.encode()) % 2 for s in oov]
    np.testing.assert_array_equal(layer(oov).numpy(), want)


@pytest.mark.parametrize("text, want", [
    ("", 0x9AE16A3B2F90404F), ("a", 0xB3454265B6DF75E3), ("abcdefgh", 0xFEE9D22990C82909),
    ("0123456789'01234", 0x4283D4EF43627F64), ("0123456789=012345", 0x46A7416ED4861E3B),
    ("I wouldn't marry him with a ten foot pole.", 0xA9961670CE2A46D9),
    ("For every action there is an equal and opposite government program.", 0x55182F8859ECA4CE),
])
def test_fingerprint64_reference_values(text, want):
    assert fingerprint64(text.encode()) == want


def test_string_lookup_without_oov_indices_rejects_unknown_tokens():
    layer = L.StringLookup(vocabulary=["a", "b"], num_oov_indices=0)
    np.testing.assert_array_equal(layer(["b", "a"]).numpy(), [1, 0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_oov_indices=0"):
        layer(["a", "zz"])


def test_string_lookup_encodings():
    vocab = ["a", "b", "c", "d"]
    data = [["a", "c", "d", "d"], ["d", "z", "b", "z"]]
    index = {t: i + 1 for i, t in enumerate(vocab)}
    ids = np.array([[index.get(t, 0) for t in row] for row in data])
    counts = np.stack([np.bincount(r, minlength=5) for r in ids]).astype("float32")
    layer = L.StringLookup(vocabulary=vocab, output_mode="count")
    out = layer(data)
    assert out.dtype == tf.float32
    np.testing.assert_array_equal(out.numpy(), counts)
    np.testing.assert_array_equal(L.StringLookup(vocabulary=vocab, output_mode="multi_hot")(data).numpy(),
                                  (counts > 0).astype("float32"))
    one_hot = L.StringLookup(vocabulary=vocab, output_mode="one_hot")(["a", "b", "c", "d", "z"])
    np.testing.assert_array_equal(one_hot.numpy(), np.eye(5, dtype="float32")[[1, 2, 3, 4, 0]])
    column = L.StringLookup(vocabulary=vocab, output_mode="one_hot")([["b"], ["z"]])
    np.testing.assert_array_equal(column.numpy(), np.eye(5, dtype="float32")[[2, 0]])
    padded = L.StringLookup(vocabulary=vocab, output_mode="multi_hot", max_tokens=8, pad_to_max_tokens=True)
    assert padded(data).shape == (2, 8)
    # In modes other than 'int' the mask token is dropped (and takes no index).
    masked = L.StringLookup(vocabulary=vocab, mask_token="", output_mode="count")
    np.testing.assert_array_equal(masked([["a", "", "", "z"]]).numpy(), [[1, 1, 0, 0, 0]])


def test_string_lookup_tf_idf_given_and_adapted():
    vocab = ["a", "b", "c", "d"]
    data = [["a", "c", "d", "d"], ["d", "z", "b", "z"]]
    layer = L.StringLookup(output_mode="tf_idf")
    layer.set_vocabulary(vocab, idf_weights=[0.25, 0.75, 0.6, 0.4])  # OOV weight: the mean, 0.5
    np.testing.assert_allclose(layer(data).numpy(), [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]],
                               rtol=1e-6)
    with_oov = L.StringLookup(output_mode="tf_idf", vocabulary=["[UNK]"] + vocab,
                              idf_weights=[0.9, 0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(with_oov(data).numpy()[1], [1.8, 0, 0.75, 0, 0.4], rtol=1e-6)
    docs = [["x", "y", "x"], ["y", "w"], ["x"]]
    adapted = L.StringLookup(output_mode="tf_idf")
    adapted.adapt(tf.ragged.constant(docs))
    tokens = keras_order(collections.Counter(t for d in docs for t in d))
    assert adapted.get_vocabulary() == ["[UNK]"] + tokens
    df = collections.Counter(t for d in docs for t in set(d))
    idf = [math.log(1 + len(docs) / (1 + df[t])) for t in tokens]
    weights = [np.mean(idf)] + idf
    np.testing.assert_allclose(adapted([["x", "x", "q"]]).numpy()[0],
                               [weights[0], 2 * weights[1], 0, 0], rtol=1e-6)


def test_string_lookup_invert():
    vocab = ["a", "b", "c", "d"]
    forward = L.StringLookup(vocabulary=vocab)
    inverse = L.StringLookup(vocabulary=vocab, invert=True)
    back = inverse(forward([["a", "c", "d"], ["d", "z", "b"]]))
    assert back.dtype == tf.string
    assert back.numpy().tolist() == [[b"a", b"c", b"d"], [b"d", b"[UNK]", b"b"]]
    assert inverse([7, -1]).numpy().tolist() == [b"[UNK]", b"[UNK]"]
    masked = L.StringLookup(vocabulary=vocab, mask_token="", invert=True)
    assert masked([0, 1, 2]).numpy().tolist() == [b"", b"[UNK]", b"a"]


def test_string_lookup_ragged_input():
    layer = L.StringLookup(vocabulary=["a", "b"])
    out = layer(tf.ragged.constant([["a", "b", "q"], ["b"]]))
    assert out.to_list() == [[1, 2, 0], [2]]
    hot_layer = L.StringLookup(vocabulary=["a", "b"], output_mode="multi_hot")
    hot = hot_layer(tf.ragged.constant([["a"], ["b", "q"]]))
    np.testing.assert_array_equal(hot.numpy(), [[0, 1, 0], [1, 0, 1]])


def test_string_lookup_vocabulary_errors():
    with pytest.raises(ValueError, match="repeated"):
        L.StringLookup(vocabulary=["a", "b", "a"])
    with pytest.raises(ValueError, match="reserved mask token"):
        L.StringLookup(vocabulary=["a", ""], mask_token="")
    with pytest.raises(ValueError, match="larger than the maximum"):
        L.StringLookup(vocabulary=["a", "b", "c"], max_tokens=3)
    with pytest.raises(ValueError, match="idf_weights"):
        L.StringLookup(vocabulary=["a"], output_mode="tf_idf")
    with pytest.raises(ValueError, match="output_mode"):
        L.StringLookup(output_mode="dense")
    with pytest.raises(ValueError, match="invert"):
        L.StringLookup(invert=True, output_mode="count")
    with pytest.raises(ValueError, match="after setting a static vocabulary"):
        L.StringLookup(vocabulary=["a"]).adapt(["a", "b"])
    with pytest.raises(RuntimeError, match="must set the layer's vocabulary"):
        L.StringLookup(output_mode="multi_hot")(["a"])
    with pytest.raises(TypeError, match="string"):
        L.StringLookup(vocabulary=["a"])([1, 2])


def test_string_lookup_vocabulary_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("ant\nbee\ncat\n")
    layer = L.StringLookup(vocabulary=str(path))
    assert layer.get_vocabulary() == ["[UNK]", "ant", "bee", "cat"]
    config = layer.get_config()
    assert config["vocabulary"] == ["ant", "bee", "cat"]  # the config holds the terms, not the path
    with pytest.raises(ValueError, match="vocabulary file"):
        L.StringLookup.from_config(dict(config, vocabulary=str(path)))


# -- IntegerLookup ------------------------------------------------------------------------------


def test_integer_lookup():
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    layer = L.IntegerLookup(vocabulary=[12, 36, 1138, 42])
    np.testing.assert_array_equal(layer(data).numpy(), [[1, 3, 4], [4, 0, 2]])
    inverse = L.IntegerLookup(vocabulary=layer.get_vocabulary(), invert=True)
    np.testing.assert_array_equal(inverse(layer(data)).numpy(), [[12, 1138, 42], [42, -1, 36]])
    two = L.IntegerLookup(vocabulary=[12, 36, 1138, 42], num_oov_indices=2)
    np.testing.assert_array_equal(two(np.array([[12, 1138, 42], [37, 1000, 36]])).numpy(),
                                  [[2, 4, 5], [1, 0, 3]])  # OOV: token % 2
    counts = collections.Counter([3, 1, 3, 2, 1, 3, 7, 2, 9, 0, 0])
    adapted = L.IntegerLookup(mask_token=0)
    adapted.adapt(np.array([3, 1, 3, 2, 1, 3, 7, 2, 9, 0, 0], "int32"))
    counts.pop(0)
    assert adapted.get_vocabulary() == [0, -1] + keras_order(counts)
    np.testing.assert_array_equal(adapted(tf.constant([0, 3, 5])).numpy(), [0, 2, 1])
    hot = L.IntegerLookup(vocabulary=[12, 36, 1138, 42], output_mode="multi_hot")
    np.testing.assert_array_equal(hot(np.array([[12, 1138, 42, 42], [42, 7, 36, 7]])).numpy(),
                                  [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]])


# -- TextVectorization ---------------------------------------------------------------------------


def test_text_vectorization_vocabulary_matches_counter():
    counts = collections.Counter(t for text in TEXTS for t in standard_tokens(text))
    layer = L.TextVectorization()
    layer.adapt(TEXTS)
    assert layer.get_vocabulary() == ["", "[UNK]"] + keras_order(counts)
    capped = L.TextVectorization(max_tokens=6)
    capped.adapt(tf.data.Dataset.from_tensor_slices(TEXTS).batch(2))
    assert capped.get_vocabulary() == ["", "[UNK]"] + keras_order(counts, 4)
    lower = L.TextVectorization(standardize="lower")
    lower.adapt(np.array(TEXTS))
    counts_lower = collections.Counter(t for text in TEXTS for t in text.lower().split())
    assert lower.get_vocabulary(include_special_tokens=False) == keras_order(counts_lower)


def test_text_vectorization_int_output():
    layer = L.TextVectorization(max_tokens=5000, output_sequence_length=4)
    layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    assert layer.get_vocabulary() == ["", "[UNK]", "baz", "bar", "foo", "boom", "bada"]
    out = layer([["foo qux bar"], ["qux baz"]])
    assert out.dtype == tf.int64
    np.testing.assert_array_equal(out.numpy(), [[4, 1, 3, 0], [1, 2, 0, 0]])
    np.testing.assert_array_equal(layer(["baz baz baz bar bar foo"]).numpy(), [[2, 2, 2, 3]])  # cut
    np.testing.assert_array_equal(layer("foo").numpy(), [4, 0, 0, 0])
    free = L.TextVectorization(vocabulary=["earth", "wind", "and", "fire"])
    assert free.get_vocabulary() == ["", "[UNK]", "earth", "wind", "and", "fire"]
    np.testing.assert_array_equal(free(["Wind, and FIRE!", "earth"]).numpy(), [[3, 4, 5], [2, 0, 0]])
    ragged = L.TextVectorization(vocabulary=["earth", "wind", "and", "fire"], ragged=True)
    assert ragged(["Wind, and FIRE!", "earth"]).to_list() == [[3, 4, 5], [2]]


def test_text_vectorization_encodings():
    texts = ["the cat sat", "the cat ran", "a dog ran"]
    counts = collections.Counter(t for s in texts for t in s.split())
    for mode in ("multi_hot", "count", "tf_idf"):
        layer = L.TextVectorization(output_mode=mode, max_tokens=4)
        layer.adapt(texts)
        vocab = layer.get_vocabulary()
        assert vocab == ["[UNK]"] + keras_order(counts, 3)
        out = layer(["The cat, the dog."]).numpy()[0]
        index = {t: i for i, t in enumerate(vocab)}
        tally = np.bincount([index.get(t, 0) for t in ["the", "cat", "the", "dog"]], minlength=4)
        if mode == "multi_hot":
            np.testing.assert_array_equal(out, tally > 0)
        elif mode == "count":
            np.testing.assert_array_equal(out, tally)
        else:
            df = collections.Counter(t for s in texts for t in set(s.split()))
            idf = [math.log(1 + 3 / (1 + df[t])) for t in vocab[1:]]
            np.testing.assert_allclose(out, tally * np.array([np.mean(idf)] + idf), rtol=1e-6)


def test_text_vectorization_split_ngrams_and_callables():
    chars = L.TextVectorization(split="character", standardize=None, output_sequence_length=5)
    chars.adapt(["abc", "aab"])
    assert chars.get_vocabulary() == ["", "[UNK]", "a", "b", "c"]
    np.testing.assert_array_equal(chars(["cabz"]).numpy(), [[4, 2, 3, 1, 0]])
    grams = L.TextVectorization(ngrams=2, output_mode="count")
    grams.adapt(["a b c", "a b"])
    rows = [["a", "b", "c", "a b", "b c"], ["a", "b", "a b"]]
    assert grams.get_vocabulary() == ["[UNK]"] + keras_order(collections.Counter(t for r in rows for t in r))
    only_pairs = L.TextVectorization(ngrams=(2,), ragged=True, vocabulary=["a b", "b c"])
    assert only_pairs(["a b c d"]).to_list() == [[2, 3, 1]]

    def no_digits(x):
        return tf.strings.regex_replace(tf.strings.lower(x), "[0-9]", "")

    def on_commas(x):
        return tf.strings.split(x, sep=",")

    custom = L.TextVectorization(standardize=no_digits, split=on_commas)
    custom.adapt(["A1,b2,b", "c,A"])
    assert custom.get_vocabulary() == ["", "[UNK]", "b", "a", "c"]
    np.testing.assert_array_equal(custom(["b9,C"]).numpy(), [[2, 4]])
    with pytest.raises(ValueError, match="last shape dimension must be 1"):
        custom([["a", "b"]])


def test_layers_inside_tf_function():
    vec = L.TextVectorization(output_sequence_length=3)
    vec.adapt(TEXTS)
    hot = L.TextVectorization(output_mode="multi_hot")
    hot.adapt(TEXTS)
    lookup = L.StringLookup(vocabulary=["cat", "dog"], output_mode="count")
    inverse = L.StringLookup(vocabulary=["cat", "dog"], invert=True)

    @tf.function
    def f(x):
        return vec(x), hot(x), lookup(tf.expand_dims(x, -1)), inverse(tf.constant([1, 2]))

    for batch in (["the dog", "a cat ate the end"], ["dog dog dog cat", "bird"]):
        x = tf.constant(batch)
        got = f(x)
        want = (vec(x), hot(x), lookup(tf.expand_dims(x, -1)), inverse(tf.constant([1, 2])))
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w.numpy())

    forward = L.StringLookup(vocabulary=["cat", "dog"])
    ints = L.IntegerLookup(vocabulary=[5, 7], num_oov_indices=2)
    back = tf.function(lambda t, n: (inverse(forward(t)), ints(n)))
    words, numbers = back(tf.constant(["dog", "emu", "cat"]), tf.constant([7, 5, 4, 3]))
    assert words.numpy().tolist() == [b"dog", b"[UNK]", b"cat"]
    np.testing.assert_array_equal(numbers.numpy(), [3, 2, 0, 1])

    unbounded = L.TextVectorization(vocabulary=["a"])
    with pytest.raises(ValueError, match="output_sequence_length"):
        tf.function(lambda x: unbounded(x))(tf.constant(["a a"]))


# -- training ------------------------------------------------------------------------------------

GOOD = ["good great fine", "great good nice", "fine nice good great", "nice good"]
BAD = ["bad awful terrible", "awful bad", "terrible bad awful", "bad awful"]


def _sentiment_data():
    texts = np.array((GOOD + BAD) * 4)
    labels = np.array(([1.0] * len(GOOD) + [0.0] * len(BAD)) * 4, "float32")
    return texts, labels


def _classifier_with_vectorization(texts):
    """Embedding + GlobalAveragePooling1D + Dense behind a TextVectorization adapted to ``texts``."""
    vec = L.TextVectorization(max_tokens=20, output_sequence_length=5)
    vec.adapt(texts)
    model = tf.keras.Sequential([vec, L.Embedding(20, 8), L.GlobalAveragePooling1D(),
                                 L.Dense(1, activation="sigmoid")])
    model.compile(optimizer=tf.keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    return model


def test_text_classification_model_with_vectorization_inside():
    texts, labels = _sentiment_data()
    model = _classifier_with_vectorization(texts)
    ds = tf.data.Dataset.from_tensor_slices((texts, labels)).shuffle(32, seed=1).batch(8)
    history = model.fit(ds, epochs=15, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    pred = model.predict(np.array(["good nice", "awful terrible"]), verbose=0)[:, 0]
    assert pred[0] > 0.5 > pred[1]


def test_fit_takes_numpy_arrays_of_text():
    texts, labels = _sentiment_data()
    model = _classifier_with_vectorization(texts)
    assert texts.dtype.kind == "U"
    history = model.fit(texts, labels, batch_size=8, shuffle=True, epochs=15, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_text_classification_model_with_vectorization_in_dataset_map(tmp_path):
    texts, labels = _sentiment_data()
    vec = L.TextVectorization(max_tokens=20, output_sequence_length=5)
    vec.adapt(tf.data.Dataset.from_tensor_slices(texts).batch(8))
    ds = tf.data.Dataset.from_tensor_slices((texts, labels)).batch(8)
    ds = ds.map(lambda x, y: (vec(tf.expand_dims(x, -1)), y))
    model = tf.keras.Sequential([tf.keras.Input(shape=(5,), dtype="int64"), L.Embedding(20, 8),
                                 L.GlobalAveragePooling1D(), L.Dense(1, activation="sigmoid")])
    model.compile(optimizer=tf.keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    history = model.fit(ds, epochs=15, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    # An end-to-end model on raw strings (the trained layers after the vectorization), saved as
    # a .keras file and loaded again.
    inputs = tf.keras.Input(shape=(1,), dtype="string")
    x = vec(inputs)
    for layer in model.layers:
        x = layer(x)
    end_to_end = tf.keras.Model(inputs, x)
    raw = np.array([["good nice"], ["awful terrible"]])
    pred = end_to_end.predict(raw, verbose=0)
    assert pred[0, 0] > 0.5 > pred[1, 0]
    path = os.path.join(tmp_path, "sentiment.keras")
    end_to_end.save(path)
    again = tf.keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(raw, verbose=0), pred, rtol=1e-6)


# -- configs -------------------------------------------------------------------------------------


def test_get_config_round_trips():
    lookup = L.StringLookup(num_oov_indices=2, mask_token="")
    lookup.adapt([["x", "y", "y"]])
    again = L.StringLookup.from_config(lookup.get_config())
    assert again.get_vocabulary() == lookup.get_vocabulary()
    np.testing.assert_array_equal(again([["y", "", "zz"]]).numpy(), lookup([["y", "", "zz"]]).numpy())

    ints = L.IntegerLookup(output_mode="count")
    ints.adapt([[5, 5, 9]])
    again = L.IntegerLookup.from_config(ints.get_config())
    np.testing.assert_array_equal(again([[5, 9, 4]]).numpy(), ints([[5, 9, 4]]).numpy())

    for kwargs in ({"output_sequence_length": 6, "ngrams": (1, 2)},
                   {"output_mode": "tf_idf", "max_tokens": 6}):
        vec = L.TextVectorization(**kwargs)
        vec.adapt(TEXTS)
        config = vec.get_config()
        assert config["vocabulary"] is not None
        again = L.TextVectorization.from_config(config)
        assert again.get_vocabulary() == vec.get_vocabulary()
        np.testing.assert_allclose(again(TEXTS).numpy(), vec(TEXTS).numpy())
        doc = tf.keras.saving.serialize(vec)
        rebuilt = tf.keras.saving.deserialize(doc)
        assert isinstance(rebuilt, L.TextVectorization)
        np.testing.assert_allclose(rebuilt(TEXTS).numpy(), vec(TEXTS).numpy())
    with pytest.raises(ValueError, match="vocabulary file"):
        L.TextVectorization.from_config(dict(config, vocabulary="/etc/passwd"))
