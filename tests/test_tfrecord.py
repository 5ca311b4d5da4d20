"""TFRecord files, ``tf.train.Example`` and ``tf.io.parse_example``, ``serialize_tensor`` /
``parse_tensor``, each checked against an independent reference: a TFRecord writer and reader
written here from the format's definition (``struct`` and a bit-by-bit CRC-32C), Python's
``gzip``/``zlib``, the ``protobuf`` package (message classes built here from descriptors of
TensorFlow's ``feature.proto`` and ``example.proto``) and tensorboard's ``TensorProto``."""

from __future__ import annotations

import gzip
import pickle
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rstf as tf

FAST = settings(max_examples=40, deadline=None)

# -- an independent TFRecord writer and reader ----------------------------------------------------


def crc32c_bitwise(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def masked(data: bytes) -> int:
    crc = crc32c_bitwise(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) % (1 << 32)


def frame(record: bytes) -> bytes:
    length = struct.pack("<Q", len(record))
    return length + struct.pack("<I", masked(length)) + record + struct.pack("<I", masked(record))


def unframe(data: bytes) -> list:
    out, pos = [], 0
    while pos < len(data):
        (n,) = struct.unpack_from("<Q", data, pos)
        assert struct.unpack_from("<I", data, pos + 8)[0] == masked(data[pos:pos + 8])
        record = data[pos + 12:pos + 12 + n]
        assert struct.unpack_from("<I", data, pos + 12 + n)[0] == masked(record)
        out.append(record)
        pos += 16 + n
    return out


RECORDS = [b"", b"a", b"\x00\x01\x02\x00\x00", bytes(range(256)) * 80, "é🦆".encode()]


def read(path, **kw) -> list:
    return [r.numpy() for r in tf.data.TFRecordDataset(path, **kw)]


def test_crc32c_of_the_standard_check_string():
    from rstf import _tfrecord

    assert _tfrecord.crc32c(b"123456789") == 0xE3069283 == crc32c_bitwise(b"123456789")
    for n in (0, 1, 4095, 1 << 14, (1 << 14) + 7, 100_003):
        data = np.random.default_rng(n).bytes(n)
        assert _tfrecord.crc32c(data) == crc32c_bitwise(data)
        assert _tfrecord.masked_crc32c(data) == masked(data)


def test_reads_a_file_framed_independently(tmp_path):
    path = tmp_path / "ref.tfrecord"
    path.write_bytes(b"".join(frame(r) for r in RECORDS))
    assert read(str(path)) == RECORDS
    ds = tf.data.TFRecordDataset(str(path))
    assert ds.element_spec == tf.TensorSpec([], tf.string)
    assert [r.numpy() for r in ds.batch(2)][0].tolist() == RECORDS[:2]


def test_written_file_is_read_by_the_independent_reader(tmp_path):
    path = str(tmp_path / "ours.tfrecord")
    with tf.io.TFRecordWriter(path) as w:
        for r in RECORDS:
            w.write(r)
        w.write("text")
        w.write(tf.constant(b"tensor\x00"))
        w.flush()
    with open(path, "rb") as f:
        assert unframe(f.read()) == RECORDS + [b"text", b"tensor\x00"]


def test_tensorboard_record_writer_is_read(tmp_path):
    record_writer = pytest.importorskip("tensorboard.summary.writer.record_writer")
    path = tmp_path / "tb.tfrecord"
    with open(path, "wb") as f:
        w = record_writer.RecordWriter(f)
        for r in RECORDS:
            w.write(r)
        w.flush()
    assert read(str(path)) == RECORDS


@pytest.mark.parametrize("kind", ["GZIP", "ZLIB"])
def test_compressed_files_both_ways(tmp_path, kind):
    ours = str(tmp_path / "ours")
    with tf.io.TFRecordWriter(ours, tf.io.TFRecordOptions(compression_type=kind, compression_level=9)) as w:
        for r in RECORDS:
            w.write(r)
    raw = open(ours, "rb").read()
    assert unframe(gzip.decompress(raw) if kind == "GZIP" else zlib.decompress(raw)) == RECORDS
    theirs = tmp_path / "theirs"
    framed = b"".join(frame(r) for r in RECORDS)
    theirs.write_bytes(gzip.compress(framed) if kind == "GZIP" else zlib.compress(framed))
    assert read(str(theirs), compression_type=kind) == RECORDS
    from rstf import _tfrecord

    assert list(_tfrecord.tf_record_iterator(str(theirs), kind)) == RECORDS


def test_corrupted_or_truncated_files_raise_data_loss(tmp_path):
    data = b"".join(frame(r) for r in (b"first", b"second record"))
    second = 16 + len(b"first")

    def check(content, where):
        path = tmp_path / f"bad{len(content)}_{where}"
        path.write_bytes(content)
        with pytest.raises(tf.errors.DataLossError) as e:
            read(str(path))
        assert str(path) in str(e.value) and f"at {where}" in str(e.value)

    flipped = bytearray(data)
    flipped[second + 14] ^= 1  # a data byte of the second record
    check(bytes(flipped), second)
    flipped = bytearray(data)
    flipped[second] ^= 1  # its length
    check(bytes(flipped), second)
    check(data[:-1], second)  # its data checksum cut short
    check(data[:second + 5], second)  # inside its header
    forged = struct.pack("<Q", 1 << 62)
    check(data + forged + struct.pack("<I", masked(forged)) + b"tiny", len(data))
    # the records before the bad one are given first
    path = tmp_path / "partial"
    path.write_bytes(data[:-1])
    it = iter(tf.data.TFRecordDataset(str(path)))
    assert next(it).numpy() == b"first"
    with pytest.raises(tf.errors.DataLossError):
        next(it)


def test_corrupted_gzip_raises_data_loss(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(frame(b"x" * 1000))[:-30])
    with pytest.raises(tf.errors.DataLossError, match="bad.gz"):
        read(str(path), compression_type="GZIP")


def test_file_names_in_every_form_and_parallel_reads(tmp_path):
    paths = []
    for i in range(3):
        p = tmp_path / f"part-{i}.tfrecord"
        p.write_bytes(b"".join(frame(b"%d-%d" % (i, j)) for j in range(i + 1)))
        paths.append(str(p))
    expected = [b"0-0", b"1-0", b"1-1", b"2-0", b"2-1", b"2-2"]
    assert read(paths) == expected
    assert read(tf.constant(paths)) == expected
    assert read(tf.data.Dataset.from_tensor_slices(paths)) == expected
    assert read(tf.data.Dataset.list_files(str(tmp_path / "part-*"), shuffle=False)) == expected
    # two files at a time, one record from each in turn; a finished file's place goes to the next
    # file on its next turn (TensorFlow's interleave order)
    assert read(paths, num_parallel_reads=2) == [b"0-0", b"1-0", b"1-1", b"2-0", b"2-1", b"2-2"]
    files = tf.data.Dataset.from_tensor_slices(paths)
    assert [r.numpy() for r in files.interleave(tf.data.TFRecordDataset, cycle_length=3)] == \
        [b"0-0", b"1-0", b"2-0", b"1-1", b"2-1", b"2-2"]
    with pytest.raises(tf.errors.NotFoundError, match="missing"):
        read(str(tmp_path / "missing"))
    with pytest.raises(TypeError):
        tf.data.TFRecordDataset(tf.data.Dataset.range(3))


def test_writer_errors(tmp_path):
    w = tf.io.TFRecordWriter(str(tmp_path / "w"))
    with pytest.raises(TypeError):
        w.write(3)
    w.close()
    w.close()
    with pytest.raises(tf.errors.FailedPreconditionError):
        w.write(b"late")
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.TFRecordWriter(str(tmp_path / "x"), "BZIP2")


# -- tf.train.Example against protobuf's own classes ----------------------------------------------

def reference_classes():
    """TensorFlow's feature.proto/example.proto messages, built by the protobuf package."""
    pytest.importorskip("google.protobuf")
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto  # noqa: N806
    fdp = descriptor_pb2.FileDescriptorProto(name="rstf_test_example.proto", package="tensorflow",
                                             syntax="proto3")
    lists = (("BytesList", F.TYPE_BYTES), ("FloatList", F.TYPE_FLOAT), ("Int64List", F.TYPE_INT64))
    for name, ftype in lists:
        m = fdp.message_type.add(name=name)
        f = m.field.add(name="value", number=1, type=ftype, label=F.LABEL_REPEATED)
        if ftype != F.TYPE_BYTES:
            f.options.packed = True
    feature = fdp.message_type.add(name="Feature")
    feature.oneof_decl.add(name="kind")
    for number, name in enumerate(("bytes_list", "float_list", "int64_list"), 1):
        cls = {"bytes_list": "BytesList", "float_list": "FloatList", "int64_list": "Int64List"}[name]
        feature.field.add(name=name, number=number, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                          type_name=f".tensorflow.{cls}", oneof_index=0)
    features = fdp.message_type.add(name="Features")
    entry = features.nested_type.add(name="FeatureEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    entry.field.add(name="value", number=2, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                    type_name=".tensorflow.Feature")
    features.field.add(name="feature", number=1, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                       type_name=".tensorflow.Features.FeatureEntry")
    example = fdp.message_type.add(name="Example")
    example.field.add(name="features", number=1, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                      type_name=".tensorflow.Features")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return {n: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"tensorflow.{n}"))
            for n in ("Feature", "Features", "Example")}


F32 = st.floats(width=32, allow_nan=False)
FEATURE = st.one_of(
    st.tuples(st.just("bytes_list"), st.lists(st.binary(max_size=8), max_size=4)),
    st.tuples(st.just("float_list"), st.lists(F32, max_size=4)),
    st.tuples(st.just("int64_list"), st.lists(st.integers(-(1 << 63), (1 << 63) - 1), max_size=20)))
FEATURES = st.dictionaries(st.text(max_size=5), FEATURE, max_size=4)


def as_dict(example) -> dict:
    """{key: (kind, values)} of an Example of either implementation."""
    out = {}
    for key in example.features.feature:
        f = example.features.feature[key]
        kind = f.WhichOneof("kind")
        out[key] = (kind, list(getattr(f, kind).value) if kind else None)
    return out


@FAST
@given(FEATURES)
def test_example_bytes_are_protobufs_both_ways(features):
    ref = reference_classes()
    theirs = ref["Example"]()
    for key, (kind, values) in features.items():
        getattr(theirs.features.feature[key], kind).value.extend(values)
        getattr(theirs.features.feature[key], kind).SetInParent()
    ours = tf.train.Example()
    for key, (kind, values) in features.items():
        getattr(ours.features.feature[key], kind).value.extend(values)
        getattr(ours.features.feature[key], kind).MergeFromString(b"")
    expected = {k: (kind, values) for k, (kind, values) in features.items()}
    assert as_dict(tf.train.Example.FromString(theirs.SerializeToString())) == expected
    assert as_dict(ref["Example"].FromString(ours.SerializeToString())) == expected
    # the text format (one feature: upb writes map entries in its hash order, and drops some
    # non-ASCII keys)
    if len(features) == 1 and all(key.isascii() for key in features):
        assert str(ours) == str(ref["Example"].FromString(ours.SerializeToString()))
    # deterministic: map entries sorted by key, as protobuf's C++ writes them
    keys = list(tf.train.Example.FromString(ours.SerializeToString(deterministic=True)).features.feature)
    assert keys == sorted(features)


def test_unpacked_numbers_and_unknown_fields_are_read():
    from rstf import _protowire as w

    floats = w.tag(1, w.I32) + struct.pack("<f", 1.5) + w.tag(1, w.I32) + struct.pack("<f", -2.0)
    ints = w.tag(1, w.VARINT) + w.varint(7) + w.tag(1, w.VARINT) + w.varint(-3)
    unknown = w.tag(9, w.VARINT) + w.varint(5) + w.length_delimited(10, b"skip")
    assert tf.train.FloatList.FromString(floats + unknown).value == [1.5, -2.0]
    assert tf.train.Int64List.FromString(ints + unknown).value == [7, -3]
    # packed and unpacked pieces of one field are concatenated
    mixed = w.length_delimited(1, w.pack_int64s([1, 2])) + ints
    assert tf.train.Int64List.FromString(mixed).value == [1, 2, 7, -3]


@pytest.mark.parametrize("data", [
    b"\x0a\x05abc",  # a length past the end
    b"\x0a",  # no length
    b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # a varint of 11 bytes
    b"\x0f",  # wire type 7
    b"\x00\x01",  # field number 0
    b"\x0a\x04\x0a\x02\x12\x05",  # a truncated message inside
    # a truncated packed int64 varint in feature "x" (Example > Features > entry > Feature > Int64List)
    b"\x0a\x0d\x0a\x0b\x0a\x01x\x12\x06\x1a\x04\x0a\x02\x80\x80",
])
def test_malformed_examples_raise_data_loss(data):
    with pytest.raises(tf.errors.DataLossError):
        tf.train.Example.FromString(data)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Could not parse example input"):
        tf.io.parse_single_example(data, {"x": tf.io.VarLenFeature(tf.int64)})


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40))
def test_random_bytes_parse_or_raise_data_loss(data):
    try:
        tf.train.Example.FromString(data)
    except tf.errors.DataLossError:
        pass


def test_message_api():
    f = tf.train.Feature()
    assert f.WhichOneof("kind") is None and f.int64_list.value == []
    assert f.WhichOneof("kind") is None  # reading does not set it
    f.int64_list.value.append(3)
    assert f.WhichOneof("kind") == "int64_list" and f.HasField("int64_list")
    f.float_list.value.extend([1.0])  # the oneof switches
    assert f.WhichOneof("kind") == "float_list" and not f.HasField("int64_list")
    with pytest.raises(TypeError):
        f.float_list.value.append("x")
    with pytest.raises(TypeError):
        tf.train.Int64List(value=[1.5])
    with pytest.raises(ValueError):
        tf.train.Int64List(value=[1 << 63])
    assert tf.train.FloatList(value=[0.1]).value == [float(np.float32(0.1))]
    with pytest.raises(AttributeError):
        tf.train.Int64List().value = [1]

    ex = tf.train.Example()
    assert not ex.HasField("features") and ex.SerializeToString() == b""
    ex.features.feature["a"].bytes_list.value.append(b"x")
    assert ex.HasField("features") and list(ex.features.feature) == ["a"]
    ex.features.feature["b"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[1, 2]))
    copy = tf.train.Example()
    copy.CopyFrom(ex)
    assert copy == ex and copy is not ex
    assert pickle.loads(pickle.dumps(ex)) == ex
    other = tf.train.Example()
    other.ParseFromString(ex.SerializeToString())
    assert other == ex
    other.features.feature["b"].int64_list.value.append(3)
    assert other != ex and ex.features.feature["b"].int64_list.value == [1, 2]
    assert tf.train.Example(features=tf.train.Features()).SerializeToString() == b"\n\x00"
    assert tf.train.Feature(int64_list=tf.train.Int64List()).WhichOneof("kind") == "int64_list"
    from_dicts = tf.train.Example(features={"feature": {"a": {"bytes_list": {"value": [b"x"]}},
                                                        "b": {"int64_list": {"value": [1, 2]}}}})
    assert from_dicts == ex
    assert str(tf.train.Feature(bytes_list=tf.train.BytesList(value=[b'q"\x00\n']))) == \
        'bytes_list {\n  value: "q\\"\\000\\n"\n}\n'


# -- parse_example ------------------------------------------------------------------------------------

def example(**features) -> bytes:
    feats = {}
    for key, values in features.items():
        if isinstance(values, tf.train.Feature):
            feats[key] = values
        elif values and isinstance(values[0], bytes):
            feats[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
        elif values and isinstance(values[0], float):
            feats[key] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
        else:
            feats[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
    return tf.train.Example(features=tf.train.Features(feature=feats)).SerializeToString()


def test_parse_example_against_hand_built_expectations():
    batch = [example(img=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], label=[3], name=[b"a"], tags=[b"x", b"y"],
                     seq=[1, 2, 3, 4]),
             example(img=[0.5] * 6, tags=[b"z"], seq=[5, 6]),
             example(img=[0.0] * 6, name=[b"c"], seq=[])]
    spec = {"img": tf.io.FixedLenFeature([2, 3], tf.float32),
            "label": tf.io.FixedLenFeature([], tf.int64, default_value=-1),
            "name": tf.io.FixedLenFeature([1], tf.string, default_value=[b"?"]),
            "tags": tf.io.VarLenFeature(tf.string),
            "seq": tf.io.FixedLenSequenceFeature([2], tf.int64, allow_missing=True),
            "rag": tf.io.RaggedFeature(tf.int64, value_key="seq")}
    out = tf.io.parse_example(tf.constant(batch), spec)
    assert list(out) == list(spec)
    np.testing.assert_array_equal(out["img"].numpy(), [np.arange(1, 7).reshape(2, 3), np.full((2, 3), 0.5),
                                                       np.zeros((2, 3))])
    assert out["img"].dtype == tf.float32
    assert out["label"].numpy().tolist() == [3, -1, -1] and out["label"].dtype == tf.int64
    assert out["name"].numpy().tolist() == [[b"a"], [b"?"], [b"c"]]
    tags = out["tags"]
    assert tags.indices.numpy().tolist() == [[0, 0], [0, 1], [1, 0]]
    assert tags.values.numpy().tolist() == [b"x", b"y", b"z"] and tags.dense_shape.numpy().tolist() == [3, 2]
    assert out["seq"].numpy().tolist() == [[[1, 2], [3, 4]], [[5, 6], [0, 0]], [[0, 0], [0, 0]]]
    assert out["rag"].to_list() == [[1, 2, 3, 4], [5, 6], []]
    assert out["rag"].row_splits.dtype == tf.int32

    one = tf.io.parse_single_example(batch[1], spec)
    assert one["img"].shape == (2, 3) and int(one["label"]) == -1
    assert one["tags"].indices.numpy().tolist() == [[0]] and one["tags"].dense_shape.numpy().tolist() == [1]
    assert one["seq"].numpy().tolist() == [[5, 6]] and one["rag"].numpy().tolist() == [5, 6]

    no_records = tf.constant(np.zeros(0, object), tf.string)
    empty = tf.io.parse_example(no_records, {"t": tf.io.VarLenFeature(tf.int64)})
    assert empty["t"].dense_shape.numpy().tolist() == [0, 0]


def test_parse_example_errors_name_the_key():
    data = [example(a=[1, 2])]
    with pytest.raises(tf.errors.InvalidArgumentError, match="Feature: b .*is required"):
        tf.io.parse_example(data, {"b": tf.io.FixedLenFeature([], tf.int64)})
    with pytest.raises(tf.errors.InvalidArgumentError, match="Key: a, Index: 0.*Data types don't match"):
        tf.io.parse_example(data, {"a": tf.io.FixedLenFeature([2], tf.float32)})
    with pytest.raises(tf.errors.InvalidArgumentError, match="Name: ex0, Key: a.*Values size: 2"):
        tf.io.parse_example(data, {"a": tf.io.FixedLenFeature([3], tf.int64)}, example_names=["ex0"])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Key: a"):
        tf.io.parse_example(data, {"a": tf.io.FixedLenSequenceFeature([3], tf.int64, allow_missing=True)})
    with pytest.raises(ValueError, match="allow_missing"):
        tf.io.parse_example(data, {"a": tf.io.FixedLenSequenceFeature([], tf.int64)})
    with pytest.raises(ValueError, match="int32"):
        tf.io.parse_example(data, {"a": tf.io.FixedLenFeature([2], tf.int32)})
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.parse_single_example(data, {"a": tf.io.VarLenFeature(tf.int64)})  # not a scalar
    # a feature whose kind is unset counts as missing
    unset = example(a=tf.train.Feature())
    assert int(tf.io.parse_single_example(unset, {"a": tf.io.FixedLenFeature([], tf.int64, 9)})["a"]) == 9


def test_tfrecord_pipeline_of_examples(tmp_path):
    path = str(tmp_path / "examples.tfrecord")
    with tf.io.TFRecordWriter(path, "GZIP") as w:
        for i in range(5):
            w.write(example(x=[float(i), float(i) * 2], y=[i], word=[b"w%d" % i]))
    spec = {"x": tf.io.FixedLenFeature([2], tf.float32), "y": tf.io.FixedLenFeature([], tf.int64),
            "word": tf.io.FixedLenFeature([], tf.string)}
    ds = tf.data.TFRecordDataset(path, compression_type="GZIP").map(
        lambda r: tf.io.parse_single_example(r, spec)).batch(2)
    batches = list(ds)
    assert [b["y"].numpy().tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert batches[1]["x"].numpy().tolist() == [[2, 4], [3, 6]]
    assert batches[2]["word"].numpy().tolist() == [b"w4"]
    batched = tf.data.TFRecordDataset(path, compression_type="GZIP").batch(5).map(
        lambda r: tf.io.parse_example(r, spec))
    assert next(iter(batched))["y"].numpy().tolist() == [0, 1, 2, 3, 4]
    # a variable-length feature made dense: its length is unknown in the element spec
    ragged = [example(v=list(range(n))) for n in (1, 3, 2)]
    var_len = {"v": tf.io.VarLenFeature(tf.int64)}
    dense = tf.data.Dataset.from_tensor_slices(ragged).map(
        lambda r: tf.sparse.to_dense(tf.io.parse_single_example(r, var_len)["v"]))
    assert dense.element_spec == tf.TensorSpec([None], tf.int64)
    assert next(iter(dense.padded_batch(3))).numpy().tolist() == [[0, 0, 0], [0, 1, 2], [0, 1, 0]]


# -- serialize_tensor / parse_tensor ------------------------------------------------------------------

TENSORS = [np.float32(3.5), np.arange(6, dtype=np.int32).reshape(2, 3), np.array([1.5, -2], np.float64),
           np.array([[True, False]]), np.arange(4, dtype=np.int64) - 2, np.array([1, 255], np.uint8),
           np.array([-1, 5], np.int8), np.array([0.5, -1], np.float16), np.zeros((2, 0), np.float32),
           np.array([b"a", b"", b"\x00z"], dtype=object)]


def spec_bytes(dtype_enum: int, shape, content=b"", strings=()) -> bytes:
    """A TensorProto's bytes written from tensor.proto's field numbers by hand."""
    from rstf import _protowire as w

    dims = b"".join(w.length_delimited(2, (w.tag(1, 0) + w.varint(d)) if d else b"") for d in shape)
    out = w.tag(1, 0) + w.varint(dtype_enum) + w.length_delimited(2, dims)
    if content:
        out += w.length_delimited(4, content)
    return out + b"".join(w.length_delimited(8, s) for s in strings)


@pytest.mark.parametrize("value", TENSORS, ids=lambda v: str(v.dtype))
def test_serialize_tensor_bytes_follow_tensor_proto(value):
    t = tf.constant(value)
    enum = {"float32": 1, "float64": 2, "int32": 3, "uint8": 4, "int8": 6, "string": 7, "int64": 9,
            "bool": 10, "float16": 19}[t.dtype.name]
    if t.dtype == tf.string:
        expected = spec_bytes(enum, value.shape, strings=list(value.reshape(-1)))
    else:
        expected = spec_bytes(enum, value.shape, value.astype(value.dtype.newbyteorder("<")).tobytes())
    s = tf.io.serialize_tensor(t)
    assert s.dtype == tf.string and s.shape == () and s.numpy() == expected
    back = tf.io.parse_tensor(s, t.dtype)
    assert back.dtype == t.dtype and back.shape == t.shape
    np.testing.assert_array_equal(back.numpy(), t.numpy())


def test_tensor_proto_against_tensorboard():
    pytest.importorskip("tensorboard")
    from tensorboard.compat.proto import tensor_pb2, tensor_shape_pb2, types_pb2

    for name, enum in (("float32", "DT_FLOAT"), ("float64", "DT_DOUBLE"), ("int32", "DT_INT32"),
                       ("uint8", "DT_UINT8"), ("int8", "DT_INT8"), ("string", "DT_STRING"),
                       ("int64", "DT_INT64"), ("bool", "DT_BOOL"), ("bfloat16", "DT_BFLOAT16"),
                       ("float16", "DT_HALF")):
        value = tf.cast(tf.constant([1, 0]), name) if name != "string" else tf.constant(["1", "0"])
        proto = tensor_pb2.TensorProto.FromString(tf.io.serialize_tensor(value).numpy())
        assert proto.dtype == getattr(types_pb2, enum)
        assert [d.size for d in proto.tensor_shape.dim] == [2]

    def shape(*dims):
        dim = tensor_shape_pb2.TensorShapeProto.Dim
        return tensor_shape_pb2.TensorShapeProto(dim=[dim(size=d) for d in dims])

    cases = [
        (tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=shape(2, 2), float_val=[1.5, 2.5]),
         tf.float32, [[1.5, 2.5], [2.5, 2.5]]),  # fewer values: the last repeats
        (tensor_pb2.TensorProto(dtype=types_pb2.DT_INT32, tensor_shape=shape(3), int_val=[-1, 2, 3]),
         tf.int32, [-1, 2, 3]),
        (tensor_pb2.TensorProto(dtype=types_pb2.DT_INT64, tensor_shape=shape(2), int64_val=[1 << 40, -5]),
         tf.int64, [1 << 40, -5]),
        (tensor_pb2.TensorProto(dtype=types_pb2.DT_DOUBLE, tensor_shape=shape(), double_val=[0.25]),
         tf.float64, 0.25),
        (tensor_pb2.TensorProto(dtype=types_pb2.DT_BOOL, tensor_shape=shape(2), bool_val=[True, False]),
         tf.bool, [True, False]),
        (tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, tensor_shape=shape(2), string_val=[b"p", b"q"]),
         tf.string, [b"p", b"q"]),
        (tensor_pb2.TensorProto(dtype=types_pb2.DT_HALF, tensor_shape=shape(2),
                                half_val=np.array([1.5, -2], np.float16).view(np.uint16).tolist()),
         tf.float16, [1.5, -2]),
        (tensor_pb2.TensorProto(dtype=types_pb2.DT_BFLOAT16, tensor_shape=shape(1), half_val=[0x3FC0]),
         tf.bfloat16, [1.5]),
        (tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=shape(2)), tf.float32, [0, 0]),
        (tensor_pb2.TensorProto(dtype=types_pb2.DT_INT32, tensor_shape=shape(2),
                                tensor_content=np.array([7, -7], "<i4").tobytes()), tf.int32, [7, -7]),
    ]
    for proto, dtype, expected in cases:
        got = tf.io.parse_tensor(proto.SerializeToString(), dtype)
        assert got.dtype == dtype
        assert got.numpy().tolist() == expected
    # and ours, read by tensorboard
    t = tf.constant(np.arange(6, dtype=np.float32).reshape(3, 2))
    proto = tensor_pb2.TensorProto.FromString(tf.io.serialize_tensor(t).numpy())
    assert np.frombuffer(proto.tensor_content, "<f4").reshape(3, 2).tolist() == t.numpy().tolist()
    assert proto.SerializeToString() == tf.io.serialize_tensor(t).numpy()


def test_parse_tensor_errors():
    s = tf.io.serialize_tensor(tf.constant([1.0, 2.0]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Type mismatch between parsed tensor \(float\) "
                                                             r"and dtype \(int32\)"):
        tf.io.parse_tensor(s, tf.int32)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.parse_tensor(b"\x08\x01\x12\x04\x12\x02\x08\x03\x22\x04abcd", tf.float32)  # 3 floats, 4 bytes
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.parse_tensor(b"\x08\x01\x12\xff", tf.float32)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.parse_tensor(spec_bytes(1, [2]) + b"\x2a\x0c" + b"\x00" * 12, tf.float32)  # 3 values for 2
    with pytest.raises(tf.errors.ResourceExhaustedError):
        tf.io.parse_tensor(spec_bytes(1, [1 << 40]) + b"\x2a\x04\x00\x00\x80\x3f", tf.float32)
