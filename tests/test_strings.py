# ruff: noqa: UP031 - C's printf formats (``%f``, ``%e``, ``%g``) are the reference for as_string.
"""String tensors and ``tf.strings``: each op against Python's own bytes/str methods, ``re``,
``struct`` and printf formatting as references (hypothesis draws the strings)."""

from __future__ import annotations

import os
import re
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rstf as tf

TEXT = st.text(alphabet=st.sampled_from(list("ab ,\t\nxyZ-é🦆1")), max_size=12)
WORDS = st.lists(TEXT, min_size=1, max_size=6)
FAST = settings(max_examples=40, deadline=None)


def as_bytes(words):
    return [w.encode() for w in words]


def test_constants_print_as_tensorflow():
    s = tf.constant("Gray wolf")
    assert s.dtype == tf.string and s.shape == ()
    assert str(s).endswith("Tensor(b'Gray wolf', shape=(), dtype=string)")
    t = tf.constant(["Gray wolf", "Quick brown fox", "Lazy dog"])
    assert str(t).endswith("Tensor([b'Gray wolf' b'Quick brown fox' b'Lazy dog'], shape=(3,), dtype=string)")
    assert "numpy=b'\\xf0\\x9f\\xa5\\xb3\\xf0\\x9f\\x91\\x8d'" in repr(tf.constant("🥳👍"))
    assert t.numpy().dtype == object and t.numpy().tolist() == [b"Gray wolf", b"Quick brown fox", b"Lazy dog"]
    assert s.numpy() == b"Gray wolf"


def test_numpy_arrays_and_bytes_convert():
    for arr in (np.array(["a", "bc"]), np.array([b"a", b"bc"]), np.array(["a", b"bc"], dtype=object)):
        assert tf.constant(arr).numpy().tolist() == [b"a", b"bc"]
    assert tf.constant([[b"\x00\xff", "x"]]).shape == (1, 2)
    assert tf.as_dtype(np.str_) == tf.string


def test_bad_conversions_are_clear_errors():
    with pytest.raises(TypeError, match="string"):
        tf.constant("a", dtype=tf.float32)
    with pytest.raises(TypeError, match="string"):
        tf.constant(1, dtype=tf.string)
    with pytest.raises(ValueError, match="non-rectangular"):
        tf.constant([["a"], ["b", "c"]])
    with pytest.raises(TypeError):
        tf.constant(["a", 1])
    with pytest.raises(tf.errors.UnimplementedError, match="Cast string to float32"):
        tf.cast(tf.constant("1"), tf.float32)
    with pytest.raises(tf.errors.InvalidArgumentError, match="string"):
        tf.constant("a") - tf.constant("b")
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.constant("a") + tf.constant(1)
    with pytest.raises((tf.errors.InvalidArgumentError, TypeError)):
        tf.reduce_sum(tf.constant(["a"]))


@FAST
@given(WORDS, st.integers(0, 5))
def test_data_movement_keeps_strings(words, k):
    b = as_bytes(words)
    t = tf.constant(words)
    n = len(b)
    idx = [(k + i) % n for i in range(n)][::-1]
    assert tf.gather(t, idx).numpy().tolist() == [b[i] for i in idx]
    assert tf.reverse(t, [0]).numpy().tolist() == b[::-1]
    assert tf.concat([t, t[1:]], 0).numpy().tolist() == b + b[1:]
    m = tf.stack([t, t])
    assert tf.transpose(m).numpy().tolist() == [[w, w] for w in b]
    assert tf.reshape(tf.transpose(m), [-1]).numpy().tolist() == [w for w in b for _ in range(2)]
    mask = [i % 2 == 0 for i in range(n)]
    assert tf.where(mask, t, "-").numpy().tolist() == [w if c else b"-" for w, c in zip(b, mask)]
    assert tf.tile(t, [2]).numpy().tolist() == b * 2
    assert tf.pad(t, [[1, 0]], constant_values="p").numpy().tolist() == [b"p"] + b
    assert (t == words[0]).numpy().tolist() == [w == b[0] for w in b]
    assert (t != words[0]).numpy().tolist() == [w != b[0] for w in b]
    assert (t + "!").numpy().tolist() == [w + b"!" for w in b]
    assert tf.zeros_like(t).numpy().tolist() == [b""] * n
    assert tf.fill([2], "q").numpy().tolist() == [b"q", b"q"]


@FAST
@given(WORDS, st.sampled_from([None, " ", ",", "ab"]), st.integers(-1, 3))
def test_split_is_python_bytes_split(words, sep, maxsplit):
    r = tf.strings.split(tf.constant(words), sep=sep, maxsplit=maxsplit)
    want = [w.split(None if sep is None else sep.encode(), maxsplit) for w in as_bytes(words)]
    assert r.to_list() == want
    scalar = tf.strings.split(tf.constant(words[0]), sep=sep, maxsplit=maxsplit)
    assert scalar.numpy().tolist() == want[0]


def test_split_of_a_matrix_is_ragged_inside():
    r = tf.strings.split(tf.constant([["a b", "c"], ["", "d e f"]]))
    assert r.to_list() == [[[b"a", b"b"], [b"c"]], [[], [b"d", b"e", b"f"]]]


@FAST
@given(WORDS)
def test_lengths_case_strip(words):
    b = as_bytes(words)
    t = tf.constant(words)
    assert tf.strings.length(t).numpy().tolist() == [len(w) for w in b]
    assert tf.strings.length(t, unit="UTF8_CHAR").numpy().tolist() == [len(w) for w in words]
    assert tf.strings.lower(t).numpy().tolist() == [w.lower() for w in b]  # bytes.lower: ASCII only
    assert tf.strings.upper(t).numpy().tolist() == [w.upper() for w in b]
    assert tf.strings.upper(t, encoding="utf-8").numpy().tolist() == [w.upper().encode() for w in words]
    assert tf.strings.strip(t).numpy().tolist() == [w.strip(b" \t\n\r\x0b\x0c") for w in b]


@FAST
@given(WORDS, st.integers(-3, 3), st.integers(0, 4))
def test_substr(words, pos, length):
    t = tf.constant(words)
    b = as_bytes(words)
    if all(-len(w) <= pos <= len(w) for w in b):
        got = tf.strings.substr(t, pos, length).numpy().tolist()
        want = [w[pos % len(w) if (pos < 0 and w) else pos:][:length] for w in b]
        assert got == want
    else:
        with pytest.raises(tf.errors.InvalidArgumentError, match="out of range"):
            tf.strings.substr(t, pos, length)
    if all(-len(w) <= pos <= len(w) for w in words):
        got = tf.strings.substr(t, pos, length, unit="UTF8_CHAR").numpy().tolist()
        want = [w[pos % len(w) if (pos < 0 and w) else pos:][:length].encode() for w in words]
        assert got == want


@FAST
@given(WORDS, st.sampled_from([r"[a-z]+", r"\d", r"(a)(b)?", r".*é.*", r"\s+"]))
def test_regex_against_python_re(words, pattern):
    t = tf.constant(words)
    assert tf.strings.regex_full_match(t, pattern).numpy().tolist() == [
        re.fullmatch(pattern, w) is not None for w in words]
    got = tf.strings.regex_replace(t, pattern, r"<\1>" if "(" in pattern else "#").numpy().tolist()
    want = [re.sub(pattern, r"<\1>" if "(" in pattern else "#", w).encode() for w in words]
    assert got == want
    first = tf.strings.regex_replace(t, pattern, "#", replace_global=False).numpy().tolist()
    assert first == [re.sub(pattern, "#", w, count=1).encode() for w in words]


def test_bad_pattern_is_invalid_argument():
    with pytest.raises(tf.errors.InvalidArgumentError, match="pattern"):
        tf.strings.regex_full_match(["a"], "(")


@FAST
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=5), st.integers(0, 4))
def test_to_number_and_as_string(values, precision):
    x = tf.constant(values, dtype=tf.float64)
    assert tf.strings.as_string(x).numpy().tolist() == [("%f" % v).encode() for v in values]
    assert tf.strings.as_string(x, precision=precision).numpy().tolist() == [
        ("%.*f" % (precision, v)).encode() for v in values]
    assert tf.strings.as_string(x, scientific=True).numpy().tolist() == [("%e" % v).encode() for v in values]
    assert tf.strings.as_string(x, shortest=True).numpy().tolist() == [("%g" % v).encode() for v in values]
    text = [repr(v) for v in values]
    np.testing.assert_array_equal(tf.strings.to_number(text, tf.float64).numpy(), np.array(values))
    ints = [int(v) for v in values]
    np.testing.assert_array_equal(tf.strings.to_number([str(i) for i in ints], tf.int64).numpy(), ints)
    assert tf.strings.as_string(tf.constant(ints, tf.int64), width=9, fill="0").numpy().tolist() == [
        ("%09d" % i).encode() for i in ints]


def test_to_number_errors_name_the_string():
    with pytest.raises(tf.errors.InvalidArgumentError, match="could not correctly convert string: abc"):
        tf.strings.to_number(["1", "abc"])
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.strings.to_number(["99999999999"], tf.int32)


@FAST
@given(WORDS)
def test_unicode_round_trip(words):
    t = tf.constant(words)
    cps = tf.strings.unicode_decode(t, "UTF-8")
    assert cps.to_list() == [[ord(c) for c in w] for w in words]
    assert tf.strings.unicode_split(t, "UTF-8").to_list() == [[c.encode() for c in w] for w in words]
    assert tf.strings.unicode_encode(cps, "UTF-8").numpy().tolist() == as_bytes(words)
    assert tf.strings.bytes_split(t).to_list() == [[bytes([c]) for c in w] for w in as_bytes(words)]


def test_invalid_utf8_replace_ignore_strict():
    bad = tf.constant(b"a\xffb")
    assert tf.strings.unicode_decode(bad, "UTF-8").numpy().tolist() == [97, 0xFFFD, 98]
    assert tf.strings.unicode_decode(bad, "UTF-8", errors="ignore").numpy().tolist() == [97, 98]
    with pytest.raises(tf.errors.InvalidArgumentError, match="UTF-8"):
        tf.strings.unicode_decode(bad, "UTF-8", errors="strict")


@FAST
@given(WORDS, st.sampled_from(["", " ", "--"]))
def test_join_and_reduce_join(words, sep):
    b = as_bytes(words)
    t = tf.constant(words)
    joined = tf.strings.join([t, "x"], separator=sep).numpy().tolist()
    assert joined == [sep.encode().join([w, b"x"]) for w in b]
    assert tf.strings.reduce_join(t, separator=sep).numpy() == sep.encode().join(b)
    m = tf.stack([t, tf.reverse(t, [0])])
    got = tf.strings.reduce_join(m, axis=0, separator=sep).numpy().tolist()
    assert got == [sep.encode().join([p, q]) for p, q in zip(b, b[::-1])]
    assert tf.strings.reduce_join(m, axis=1, keepdims=True).shape == (2, 1)


def test_decode_raw_is_struct_unpack():
    data = struct.pack("<3i", 1, -2, 70000)
    np.testing.assert_array_equal(tf.io.decode_raw(tf.constant(data), tf.int32).numpy(), [1, -2, 70000])
    big = struct.pack(">2f", 1.5, -3.0)
    np.testing.assert_array_equal(
        tf.io.decode_raw(tf.constant([big, big]), tf.float32, little_endian=False).numpy(),
        [[1.5, -3.0], [1.5, -3.0]])
    assert tf.io.decode_raw(tf.constant("Duck"), tf.uint8).numpy().tolist() == list(b"Duck")
    with pytest.raises(tf.errors.InvalidArgumentError, match="not a multiple of 4"):
        tf.io.decode_raw(tf.constant("abcde"), tf.int32)


def test_strings_in_traced_functions():
    traces = []

    @tf.function
    def f(a):
        traces.append(1)
        words = tf.strings.split(a)
        return tf.strings.reduce_join(tf.strings.upper(words), separator="_") + a

    assert f(tf.constant("x y")).numpy() == b"X_Yx y"
    assert f(tf.constant("p q r")).numpy() == b"P_Q_Rp q r"
    assert len(traces) == 1
    c = f.get_concrete_function(tf.TensorSpec([], tf.string))
    assert c(tf.constant("a")).numpy() == b"Aa"
    with pytest.raises((tf.errors.InvalidArgumentError, TypeError)):
        c(tf.constant(1))


def test_string_variables_and_checkpoints(tmp_path):
    v = tf.Variable(["a", "bc"])
    assert v.dtype == tf.string
    v.assign(["é", ""])
    ckpt = tf.train.Checkpoint(v=v)
    path = ckpt.write(os.fspath(tmp_path / "ck"))
    v.assign(["zz", "y"])
    ckpt.read(path)
    assert v.numpy().tolist() == ["é".encode(), b""]


def test_read_and_write_file(tmp_path):
    p = os.fspath(tmp_path / "f.bin")
    tf.io.write_file(p, tf.constant(b"\x00abc"))
    assert tf.io.read_file(p).numpy() == b"\x00abc"
    with pytest.raises(tf.errors.NotFoundError):
        tf.io.read_file(os.fspath(tmp_path / "missing"))
