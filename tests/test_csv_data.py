"""Text and CSV input: ``tf.io.decode_csv``, ``tf.data.experimental.CsvDataset`` and
``make_csv_dataset`` against Python's ``csv`` module, ``TextLineDataset`` against Python's own
line splitting, ``Dataset.list_files`` against ``glob``, and datasets of string tensors."""

from __future__ import annotations

import collections
import csv
import glob
import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rstf as tf

FAST = settings(max_examples=40, deadline=None)
FIELD = st.text(alphabet=st.sampled_from(list('ab ,"\n\r;é')), max_size=6)
ROWS = st.lists(st.lists(FIELD, min_size=3, max_size=3), min_size=1, max_size=6)


def csv_text(rows, delimiter=",", lineterminator="\n") -> str:
    """RFC 4180 text: fields holding the delimiter, a quote or a line break quoted (the csv
    module's writer leaves a ``\r`` unquoted unless the line terminator has one)."""
    def field(v):
        special = any(c in v for c in (delimiter, '"', "\r", "\n"))
        return '"' + v.replace('"', '""') + '"' if special else v
    return "".join(delimiter.join(field(v) for v in row) + lineterminator for row in rows)


# -- decode_csv -------------------------------------------------------------------------------------

@FAST
@given(ROWS)
def test_decode_csv_splits_as_the_csv_module_writes(rows):
    records = [csv_text([r], lineterminator="") for r in rows]
    cols = tf.io.decode_csv(records, record_defaults=[["<a>"], ["<b>"], ["<c>"]])
    for j, col in enumerate(cols):
        assert col.dtype == tf.string and col.shape == (len(rows),)
        assert col.numpy().tolist() == [(r[j] or f"<{'abc'[j]}>").encode() for r in rows]


def test_decode_csv_numbers_defaults_and_shapes():
    a, b, c, d = tf.io.decode_csv(tf.constant([["1, 2.5,x,7", " -3,,y,"], ["4,1e3,,9", "+5, nan,z,1"]]),
                                  [[0], [0.0], tf.constant(["?"]), tf.constant([0], tf.int64)])
    assert a.numpy().tolist() == [[1, -3], [4, 5]] and a.dtype == tf.int32
    assert b.dtype == tf.float32 and b.numpy()[0].tolist() == [2.5, 0.0] and b.numpy()[1, 0] == 1000
    assert np.isnan(b.numpy()[1, 1])
    assert c.numpy().tolist() == [[b"x", b"y"], [b"?", b"z"]]
    assert d.dtype == tf.int64 and d.numpy().tolist() == [[7, 0], [9, 1]]
    x, y = tf.io.decode_csv(["1;NA", "NA;2"], [[-1], [-2.0]], field_delim=";", na_value="NA")
    assert x.numpy().tolist() == [1, -1] and y.numpy().tolist() == [-2.0, 2.0]
    (q,) = tf.io.decode_csv(['a"b'], [[""]], use_quote_delim=False)
    assert q.numpy().tolist() == [b'a"b']
    s1, s3 = tf.io.decode_csv(["1,2,3,4"], [[0], [0]], select_cols=[1, 3])
    assert (int(s1[0]), int(s3[0])) == (2, 4)
    dbl, = tf.io.decode_csv(["0.1"], [tf.constant([0.0], tf.float64)])
    assert dbl.dtype == tf.float64 and dbl.numpy()[0] == 0.1


@pytest.mark.parametrize("record, defaults, message", [
    ("1,", [[0], tf.constant([], tf.int32)], "Field 1 is required"),
    ("x", [[0]], "not a valid int32: x"),
    ("3000000000", [[0]], "not a valid int32"),
    ("3000000000", [tf.constant([0], tf.int64)], None),
    ("1_0", [[0]], "not a valid int32"),
    ("abc", [[0.0]], "not a valid float"),
    ("1,2", [[0]], "Expect 1 fields but have 2 in record 0"),
    ('"a"b', [[""]], "Quote inside a string"),
    ('a"b', [[""]], "Unquoted fields cannot have quotes"),
    ('"ab', [[""]], "Quoted field has to end"),
])
def test_decode_csv_errors(record, defaults, message):
    if message is None:
        assert tf.io.decode_csv([record], defaults)[0].numpy().tolist() == [3000000000]
        return
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        tf.io.decode_csv([record], defaults)


def test_decode_csv_rejects_bad_defaults():
    with pytest.raises(tf.errors.InvalidArgumentError, match="only be 1 default"):
        tf.io.decode_csv(["1"], [[1, 2]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="not supported"):
        tf.io.decode_csv(["1"], [[True]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="1 char"):
        tf.io.decode_csv(["1"], [[0]], field_delim="::")


# -- CsvDataset -------------------------------------------------------------------------------------

@FAST
@given(ROWS, st.sampled_from(["\n", "\r\n"]))
def test_csv_dataset_reads_what_the_csv_module_writes(tmp_path_factory, rows, terminator):
    path = tmp_path_factory.mktemp("csv") / "rows.csv"
    path.write_bytes(csv_text([["h1", "h2", "h3"]] + rows, lineterminator=terminator).encode())
    ds = tf.data.experimental.CsvDataset(str(path), [["-"], ["-"], ["-"]], header=True)
    assert ds.element_spec == (tf.TensorSpec([], tf.string),) * 3
    got = [tuple(v.numpy() for v in row) for row in ds]
    with open(path, newline="", encoding="utf-8") as f:
        expected = [tuple((v or "-").encode() for v in r) for r in list(csv.reader(f))[1:]]
    assert got == expected


def test_csv_dataset_types_selection_and_compression(tmp_path):
    rows = [["1", "2.5", "x", "10"], ["2", "", "y", "20"], ["3", "7", "", "30"]]
    text = csv_text(rows, lineterminator="\r\n")
    plain = tmp_path / "a.csv"
    plain.write_text(text)
    zipped = tmp_path / "a.csv.gz"
    zipped.write_bytes(gzip.compress(text.encode()))
    for path, kind in ((plain, None), (zipped, "GZIP")):
        ds = tf.data.experimental.CsvDataset(str(path), [tf.int32, [-1.0], ["?"], tf.int64],
                                             compression_type=kind)
        assert ds.element_spec == (tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32),
                                   tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.int64))
        got = [tuple(v.numpy() if v.dtype == tf.string else v.numpy().item() for v in row) for row in ds]
        assert got == [(1, 2.5, b"x", 10), (2, -1.0, b"y", 20), (3, 7.0, b"?", 30)]
    picked = tf.data.experimental.CsvDataset(str(plain), [[0], [0]], select_cols=[0, 3])
    assert [(int(a), int(b)) for a, b in picked] == [(1, 10), (2, 20), (3, 30)]
    dropped = tf.data.experimental.CsvDataset(str(plain), [[0], [""]], exclude_cols=[1, 3])
    assert [(int(a), b.numpy()) for a, b in dropped] == [(1, b"x"), (2, b"y"), (3, b"")]
    two = tf.data.experimental.CsvDataset([str(plain), str(plain)], [[0], [0.0], [""], [0]])
    assert len(list(two)) == 6
    batches = list(tf.data.experimental.CsvDataset(str(plain), [[0], [0.0], [""], [0]]).batch(2))
    assert batches[0][2].numpy().tolist() == [b"x", b"y"] and batches[1][0].numpy().tolist() == [3]


def test_csv_dataset_records_and_errors(tmp_path):
    path = tmp_path / "odd.csv"
    # a quoted field across lines, a lone \r ending a record, a file without a final newline
    path.write_bytes(b'1,"multi\nline"\r2,"say ""hi"""\n3,')
    ds = tf.data.experimental.CsvDataset(str(path), [[0], ["<none>"]])
    assert [(int(a), b.numpy()) for a, b in ds] == [(1, b"multi\nline"), (2, b'say "hi"'), (3, b"<none>")]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"1,2\nx,3\n")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"bad.csv, record 1: Field 0 is not a valid "):
        list(tf.data.experimental.CsvDataset(str(bad), [[0], [0]]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Expect 3 fields but have 2"):
        list(tf.data.experimental.CsvDataset(str(bad), [[0], [0], [0]]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Field 1 is required"):
        list(tf.data.experimental.CsvDataset(str(path), [[0], tf.string]))
    unclosed = tmp_path / "unclosed.csv"
    unclosed.write_bytes(b'1,"open\n')
    with pytest.raises(tf.errors.InvalidArgumentError, match="without closing quoted field"):
        list(tf.data.experimental.CsvDataset(str(unclosed), [[0], [""]]))
    with pytest.raises(tf.errors.NotFoundError):
        list(tf.data.experimental.CsvDataset(str(tmp_path / "none.csv"), [[0]]))


# -- make_csv_dataset -------------------------------------------------------------------------------

def write_csv(path, header, rows):
    path.write_text(csv_text([header] + rows))
    return str(path)


def test_make_csv_dataset_infers_types_and_splits_the_label(tmp_path):
    rows = [["1", "3000000000", "0.5", "1e300", "a", "7"], ["2", "4", "", "2", "b", "8"],
            ["3", "5", "2", "3", "", "9"]]
    path = write_csv(tmp_path / "t.csv", ["i32", "i64", "f32", "f64", "s", "label"], rows)
    ds = tf.data.experimental.make_csv_dataset(path, batch_size=3, label_name="label", num_epochs=1,
                                               shuffle=False)
    features, label = next(iter(ds))
    assert type(features) is collections.OrderedDict
    assert list(features) == ["i32", "i64", "f32", "f64", "s"]
    assert [features[k].dtype for k in features] == [tf.int32, tf.int64, tf.float32, tf.float64, tf.string]
    assert features["i64"].numpy().tolist() == [3000000000, 4, 5]
    assert features["f32"].numpy().tolist() == [0.5, 0.0, 2.0]
    assert features["s"].numpy().tolist() == [b"a", b"b", b""]
    assert label.dtype == tf.int32 and label.numpy().tolist() == [7, 8, 9]
    spec = ds.element_spec
    assert spec[1] == tf.TensorSpec([None], tf.int32) and spec[0]["s"] == tf.TensorSpec([None], tf.string)


def test_make_csv_dataset_against_the_csv_module(tmp_path):
    rng = np.random.default_rng(0)
    header = ["x", "name", "y"]
    rows = [[str(int(rng.integers(-50, 50))), f"n,{i}", f"{rng.normal():.4f}"] for i in range(23)]
    paths = [write_csv(tmp_path / "p1.csv", header, rows[:10]),
             write_csv(tmp_path / "p2.csv", header, rows[10:])]
    with open(paths[0], newline="") as f:
        assert list(csv.reader(f))[1] == rows[0]
    ds = tf.data.experimental.make_csv_dataset(str(tmp_path / "p*.csv"), batch_size=5, num_epochs=1,
                                               shuffle=False, select_columns=["y", "x"])
    batches = list(ds)
    assert [len(b["x"]) for b in batches] == [5, 5, 5, 5, 3] and list(batches[0]) == ["x", "y"]
    xs = np.concatenate([b["x"].numpy() for b in batches])
    ys = np.concatenate([b["y"].numpy() for b in batches])
    assert xs.tolist() == [int(r[0]) for r in rows]
    np.testing.assert_allclose(ys, [float(r[2]) for r in rows], rtol=1e-6)
    # shuffled: the same rows in another order; repeated forever in full batches by default
    shuffled = tf.data.experimental.make_csv_dataset(paths, batch_size=23, num_epochs=1, shuffle_seed=3)
    names = next(iter(shuffled))["name"].numpy().tolist()
    assert sorted(names) == sorted(r[1].encode() for r in rows) and names != [r[1].encode() for r in rows]
    forever = tf.data.experimental.make_csv_dataset(paths, batch_size=4, shuffle=False)
    assert forever.element_spec["x"].shape == (4,)
    it = iter(forever)
    firsts = [next(it)["x"].numpy().tolist() for _ in range(7)]
    assert sum(firsts, [])[23:28] == [int(r[0]) for r in rows[:5]]


def test_make_csv_dataset_names_defaults_and_errors(tmp_path):
    path = tmp_path / "noheader.csv"
    path.write_text("1,a\n2,b\n")
    ds = tf.data.experimental.make_csv_dataset(str(path), 2, column_names=["n", "s"], header=False,
                                               column_defaults=[tf.int64, [""]], num_epochs=1, shuffle=False)
    batch = next(iter(ds))
    assert batch["n"].dtype == tf.int64 and batch["s"].numpy().tolist() == [b"a", b"b"]
    with pytest.raises(ValueError, match="without a header"):
        tf.data.experimental.make_csv_dataset(str(path), 2, header=False)
    with pytest.raises(ValueError, match="label_name"):
        tf.data.experimental.make_csv_dataset(str(path), 2, column_names=["n", "s"], header=False,
                                              label_name="z")
    with pytest.raises(ValueError, match="No files matched"):
        tf.data.experimental.make_csv_dataset(str(tmp_path / "nothing*.csv"), 2)
    messy = write_csv(tmp_path / "messy.csv", ["a"], [["1"], ["x"], ["3"]])
    kept = tf.data.experimental.make_csv_dataset(messy, 5, column_defaults=[[0]], num_epochs=1, shuffle=False,
                                                 ignore_errors=True)
    assert next(iter(kept))["a"].numpy().tolist() == [1, 3]


# -- TextLineDataset and list_files ---------------------------------------------------------------

@FAST
@given(st.lists(st.binary(max_size=8).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"")), max_size=6),
       st.sampled_from([b"\n", b"\r\n"]), st.booleans())
def test_text_lines_as_python_splits_them(tmp_path_factory, lines, newline, final):
    data = newline.join(lines) + (newline if final and lines else b"")
    path = tmp_path_factory.mktemp("lines") / "t.txt"
    path.write_bytes(data)
    expected = lines if final or not lines or lines[-1] else lines[:-1]
    assert [x.numpy() for x in tf.data.TextLineDataset(str(path))] == expected
    with open(path, "rb") as f:  # Python's own reading, lines without their line breaks
        assert [line.rstrip(b"\n").removesuffix(b"\r") for line in f] == expected


def test_text_line_dataset_files_and_compression(tmp_path):
    (tmp_path / "a.txt").write_text("one\ntwo\n")
    (tmp_path / "b.txt.gz").write_bytes(gzip.compress(b"three\nfour"))
    ds = tf.data.TextLineDataset(str(tmp_path / "a.txt"))
    assert ds.element_spec == tf.TensorSpec([], tf.string)
    assert [x.numpy() for x in tf.data.TextLineDataset(str(tmp_path / "b.txt.gz"), compression_type="GZIP")] \
        == [b"three", b"four"]
    both = tf.data.TextLineDataset([str(tmp_path / "a.txt")] * 2)
    assert [x.numpy() for x in both.batch(3)][0].tolist() == [b"one", b"two", b"one"]
    words = ds.map(lambda line: tf.strings.split(line, "o"))
    assert [w.numpy().tolist() for w in words] == [[b"", b"ne"], [b"tw", b""]]


def test_list_files(tmp_path):
    for name in ("b.txt", "a.txt", "c.csv", "d.txt"):
        (tmp_path / name).write_text(name)
    pattern = str(tmp_path / "*.txt")
    expected = sorted(glob.glob(pattern))
    ds = tf.data.Dataset.list_files(pattern, shuffle=False)
    assert ds.element_spec == tf.TensorSpec([], tf.string)
    assert [x.numpy().decode() for x in ds] == expected
    shuffled = [x.numpy().decode() for x in tf.data.Dataset.list_files(pattern, seed=4)]
    assert sorted(shuffled) == expected
    both = [x.numpy().decode() for x in tf.data.Dataset.list_files([pattern, str(tmp_path / "*.csv")],
                                                                   shuffle=False)]
    assert both == expected + [str(tmp_path / "c.csv")]
    with pytest.raises(tf.errors.InvalidArgumentError, match="No files matched pattern"):
        tf.data.Dataset.list_files(str(tmp_path / "*.none"))
    files = tf.data.Dataset.list_files(pattern, shuffle=False)
    lines = files.interleave(tf.data.TextLineDataset, cycle_length=2)
    assert [x.numpy() for x in lines] == [b"a.txt", b"b.txt", b"d.txt"]


# -- datasets of strings ----------------------------------------------------------------------------

def test_string_datasets_batch_shuffle_and_map():
    words = [b"a", b"bb\x00", b"", b"dddd", b"e"]
    ds = tf.data.Dataset.from_tensor_slices(words)
    assert ds.element_spec == tf.TensorSpec([], tf.string)
    assert list(ds.as_numpy_iterator()) == words  # trailing NULs kept
    batches = [b.numpy().tolist() for b in ds.batch(2)]
    assert batches == [words[:2], words[2:4], words[4:]]
    assert sorted(x.numpy() for x in ds.shuffle(5, seed=1)) == sorted(words)
    lengths = ds.map(tf.strings.length).batch(5)
    assert next(iter(lengths)).numpy().tolist() == [len(w) for w in words]
    chars = ds.map(lambda w: tf.strings.bytes_split(w))
    assert chars.element_spec == tf.TensorSpec([None], tf.string)
    padded = next(iter(chars.padded_batch(5))).numpy()
    assert padded.shape == (5, 4) and padded[1].tolist() == [b"b", b"b", b"\x00", b""]
    assert [x.numpy() for x in ds.batch(2).unbatch()] == words
    joined = ds.map(lambda w: w + "!").batch(5).map(lambda b: tf.strings.reduce_join(b, separator="|"))
    assert next(iter(joined)).numpy() == b"a!|bb\x00!|!|dddd!|e!"
    pairs = tf.data.Dataset.from_tensor_slices({"w": words, "n": np.arange(5)}).batch(5)
    assert next(iter(pairs))["w"].numpy().tolist() == words
    gen = tf.data.Dataset.from_generator(lambda: iter(["x", b"y"]),
                                         output_signature=tf.TensorSpec([], tf.string))
    assert list(gen.as_numpy_iterator()) == [b"x", b"y"]
    with pytest.raises(tf.errors.InvalidArgumentError):
        list(tf.data.Dataset.from_generator(lambda: iter([1]), output_signature=tf.TensorSpec([], tf.string)))
    assert tf.data.Dataset.from_tensors("abc").element_spec == tf.TensorSpec([], tf.string)
