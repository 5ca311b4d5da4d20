"""rstf.data beyond the basics: TensorFlow's structure rule (a list is one tensor), element
specs, cardinality tensors, zip/concatenate/enumerate/unbatch/take_while/padded_batch/reduce,
from_generator with output_signature, and iterators. Expected values are what TensorFlow 2.21
prints for the same pipelines (the snippet is in each comment)."""

import collections

import numpy as np
import pytest

import rstf as tf

Spec = tf.TensorSpec


def _np(ds):
    return list(ds.as_numpy_iterator())


def test_a_list_is_one_tensor():
    # tf.data.Dataset.from_tensor_slices([1, 2, 3]): three int32 scalars
    ds = tf.data.Dataset.from_tensor_slices([1, 2, 3])
    assert ds.element_spec == Spec((), tf.int32)
    got = _np(ds)
    assert got == [1, 2, 3] and all(type(v) is np.int32 for v in got)
    nested = tf.data.Dataset.from_tensor_slices([[1., 2.], [3., 4.]])
    assert nested.element_spec == Spec((2,), tf.float32)
    assert [v.tolist() for v in _np(nested)] == [[1., 2.], [3., 4.]]
    # tuples and dicts are structures; their list leaves are tensors
    pair = tf.data.Dataset.from_tensor_slices(([1, 2], [[1., 2.], [3., 4.]]))
    assert pair.element_spec == (Spec((), tf.int32), Spec((2,), tf.float32))
    mapped = tf.data.Dataset.from_tensor_slices({"a": [1, 2], "b": np.arange(2)})
    assert mapped.element_spec == {"a": Spec((), tf.int32), "b": Spec((), tf.int64)}
    assert _np(mapped) == [{"a": 1, "b": 0}, {"a": 2, "b": 1}]
    assert tf.data.Dataset.from_tensors([1, 2]).element_spec == Spec((2,), tf.int32)
    assert tf.data.Dataset.from_tensor_slices([1.5, 2]).element_spec == Spec((), tf.float32)


def test_slices_errors():
    with pytest.raises(ValueError, match="non-rectangular"):
        tf.data.Dataset.from_tensor_slices([[1, 2], [3]])
    with pytest.raises(ValueError, match="rank >= 1"):
        tf.data.Dataset.from_tensor_slices(5)
    with pytest.raises(ValueError, match="Dimensions 1 and 2 are not compatible"):
        tf.data.Dataset.from_tensor_slices(([1, 2], [1]))


def test_namedtuples_are_passed_whole_to_map():
    Point = collections.namedtuple("Point", "x y")
    ds = tf.data.Dataset.from_tensor_slices(Point(np.arange(3), np.arange(3) * 10))
    assert [int(v) for v in ds.map(lambda p: p.x + p.y)] == [0, 11, 22]


def test_cardinality_is_an_int64_tensor():
    c = tf.data.Dataset.range(10).batch(4).cardinality()
    assert isinstance(c, tf.Tensor) and c.dtype == tf.int64 and int(c) == 3
    # TensorFlow: filter -2, skip 3, repeat(3) 6, empty.repeat() 0, take after repeat() 3
    assert int(tf.data.Dataset.range(5).filter(lambda x: x > 2).cardinality()) == -2
    assert int(tf.data.Dataset.range(5).skip(2).cardinality()) == 3
    assert int(tf.data.Dataset.range(2).repeat(3).cardinality()) == 6
    assert int(tf.data.Dataset.range(0).repeat().cardinality()) == 0
    assert int(tf.data.Dataset.range(5).repeat().take(3).cardinality()) == 3
    assert int(tf.data.Dataset.range(3).take(2).skip(1).repeat(2).cardinality()) == 2
    assert int(tf.data.experimental.cardinality(tf.data.Dataset.range(7))) == 7
    with pytest.raises(TypeError, match="infinite"):
        len(tf.data.Dataset.range(3).repeat())
    with pytest.raises(TypeError, match="unknown"):
        len(tf.data.Dataset.range(3).filter(lambda x: x > 0))


def test_zip_concatenate_enumerate():
    z = tf.data.Dataset.zip(tf.data.Dataset.range(3), tf.data.Dataset.range(5, 10))
    assert z.element_spec == (Spec((), tf.int64), Spec((), tf.int64)) and int(z.cardinality()) == 3
    assert _np(z) == [(0, 5), (1, 6), (2, 7)]
    assert _np(tf.data.Dataset.zip((tf.data.Dataset.range(3), tf.data.Dataset.range(5, 10)))) == _np(z)
    d = tf.data.Dataset.zip({"a": tf.data.Dataset.range(2), "b": tf.data.Dataset.range(3)})
    assert _np(d) == [{"a": 0, "b": 0}, {"a": 1, "b": 1}] and int(d.cardinality()) == 2
    with pytest.raises(TypeError, match="Invalid input to `zip`"):
        tf.data.Dataset.zip(tf.data.Dataset.range(2), 3)
    c = tf.data.Dataset.range(3).concatenate(tf.data.Dataset.range(5, 7))
    assert _np(c) == [0, 1, 2, 5, 6] and int(c.cardinality()) == 5
    with pytest.raises(TypeError, match="Incompatible dataset elements"):
        tf.data.Dataset.range(3).concatenate(tf.data.Dataset.from_tensor_slices([1., 2.]))
    # shapes that differ become None
    slices = tf.data.Dataset.from_tensor_slices
    c2 = slices([[1, 2]]).concatenate(slices([[1, 2, 3]]))
    assert c2.element_spec == Spec((None,), tf.int32)
    e = tf.data.Dataset.from_tensor_slices([7, 8]).enumerate(start=5)
    assert e.element_spec == (Spec((), tf.int64), Spec((), tf.int32)) and _np(e) == [(5, 7), (6, 8)]


def test_unbatch_take_while_skip_filter():
    u = tf.data.Dataset.from_tensor_slices([[1, 2], [3, 4]]).unbatch()
    assert u.element_spec == Spec((), tf.int32) and _np(u) == [1, 2, 3, 4] and int(u.cardinality()) == 4
    rebatched = tf.data.Dataset.range(7).batch(2).unbatch()
    assert _np(rebatched) == list(range(7)) and int(rebatched.cardinality()) == -2
    with pytest.raises(ValueError, match="rank >= 1"):
        tf.data.Dataset.range(3).unbatch()
    tw = tf.data.Dataset.range(10).take_while(lambda x: x < 4)
    assert _np(tw) == [0, 1, 2, 3] and int(tw.cardinality()) == -2
    assert _np(tf.data.Dataset.range(5).skip(-1)) == []
    with pytest.raises(ValueError, match="must return a `tf.bool` scalar tensor"):
        list(tf.data.Dataset.range(3).filter(lambda x: x))


def test_batch_specs_and_errors():
    assert tf.data.Dataset.range(10).batch(3).element_spec == Spec((None,), tf.int64)
    assert tf.data.Dataset.range(10).batch(3, drop_remainder=True).element_spec == Spec((3,), tf.int64)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Batch size must be greater than zero"):
        tf.data.Dataset.range(2).batch(0)


def test_map_specs():
    ds = tf.data.Dataset.range(5).map(lambda x: (x, tf.cast(x, tf.float32) * [1., 2.]))
    assert ds.element_spec == (Spec((), tf.int64), Spec((2,), tf.float32))
    # a list returned by a map function is a tuple (TensorFlow: [(0, 0), (1, 1)])
    listed = tf.data.Dataset.range(2).map(lambda x: [x, x])
    assert listed.element_spec == (Spec((), tf.int64), Spec((), tf.int64))
    assert _np(listed) == [(0, 0), (1, 1)]
    # a shape that depends on the values is unknown
    filled = tf.data.Dataset.range(1, 5).map(lambda x: tf.fill([x], x))
    assert filled.element_spec == Spec((None,), tf.int64)
    nested = tf.data.Dataset.range(2).map(lambda x: {"a": x, "b": (x, x)})
    assert nested.element_spec == {"a": Spec((), tf.int64), "b": (Spec((), tf.int64), Spec((), tf.int64))}


def test_padded_batch():
    ds = tf.data.Dataset.range(1, 5).map(lambda x: tf.fill([x], x))
    pb = ds.padded_batch(2)
    assert pb.element_spec == Spec((None, None), tf.int64)
    # TensorFlow: [[[1, 0], [2, 2]], [[3, 3, 3, 0], [4, 4, 4, 4]]]
    assert [b.tolist() for b in _np(pb)] == [[[1, 0], [2, 2]], [[3, 3, 3, 0], [4, 4, 4, 4]]]
    pb2 = ds.padded_batch(2, padded_shapes=5, padding_values=tf.constant(-1, tf.int64))
    assert [b.tolist() for b in _np(pb2)] == [[[1, -1, -1, -1, -1], [2, 2, -1, -1, -1]],
                                              [[3, 3, 3, -1, -1], [4, 4, 4, 4, -1]]]
    with pytest.raises(tf.errors.DataLossError, match="pad to a smaller size"):
        list(ds.padded_batch(2, padded_shapes=[2]))
    with pytest.raises(ValueError, match=r"The padded shape \(2,\) is not compatible with the shape \(\)"):
        tf.data.Dataset.range(3).padded_batch(2, padded_shapes=[2])
    with pytest.raises(ValueError, match=r"The padded shape \(2,\) is not compatible with the shape \(3,\)"):
        tf.data.Dataset.from_tensor_slices([[1, 2, 3]]).padded_batch(2, padded_shapes=[2])
    pairs = tf.data.Dataset.from_tensor_slices(([1, 2, 3], [[1., 2.], [3., 4.], [5., 6.]]))
    pb3 = pairs.padded_batch(2, padded_shapes=([], [3]), padding_values=(0, 9.))
    assert pb3.element_spec == (Spec((None,), tf.int32), Spec((None, 3), tf.float32))
    first, second = _np(pb3)
    assert first[0].tolist() == [1, 2] and first[1].tolist() == [[1., 2., 9.], [3., 4., 9.]]
    assert second[1].tolist() == [[5., 6., 9.]]
    assert int(pb3.cardinality()) == 2


def test_from_generator():
    def gen():
        for i in range(3):
            yield i, [1.0] * i
    sig = (Spec((), tf.int32), Spec((None,), tf.float32))
    g = tf.data.Dataset.from_generator(gen, output_signature=sig)
    assert g.element_spec == sig and int(g.cardinality()) == -2
    got = _np(g)
    assert [a for a, _ in got] == [0, 1, 2] and [b.tolist() for _, b in got] == [[], [1.], [1., 1.]]
    assert got[1][1].dtype == np.float32 and type(got[1][0]) is np.int32
    assert len(_np(g)) == 3  # re-iterable: the generator is called afresh
    bad_shape = tf.data.Dataset.from_generator(lambda: iter([[1, 2], [3]]),
                                               output_signature=Spec((2,), tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\(1,\) where an element of shape \(2,\)"):
        list(bad_shape)
    # TensorFlow converts 1.5 to the int32 1
    assert [int(v) for v in tf.data.Dataset.from_generator(lambda: iter([1.5]),
                                                           output_signature=Spec((), tf.int32))] == [1]
    older = tf.data.Dataset.from_generator(lambda: iter([1, 2]), output_types=tf.int64, output_shapes=())
    assert older.element_spec == Spec((), tf.int64) and _np(older) == [1, 2]
    pairs = tf.data.Dataset.from_generator(lambda: [(1, 1)] * 3, (tf.int32, tf.int32))
    assert _np(pairs) == [(1, 1)] * 3
    with pytest.raises(TypeError, match="output_signature"):
        tf.data.Dataset.from_generator(lambda: iter([1]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="did not match the expected structure"):
        list(tf.data.Dataset.from_generator(lambda: iter([(1, 2)]),
                                            output_signature=(Spec((), tf.int32),) * 3))


def test_reduce():
    total = tf.data.Dataset.range(5).reduce(np.int64(0), lambda s, x: s + x)
    assert total.dtype == tf.int64 and int(total) == 10
    # TensorFlow: (10, 32.0) with the float state float32
    a, b = tf.data.Dataset.range(5).reduce((np.int64(0), 1.), lambda s, x: (s[0] + x, s[1] * 2))
    assert int(a) == 10 and b.dtype == tf.float32 and float(b) == 32.0
    assert int(tf.data.Dataset.range(3).reduce(0, lambda s, x: s + 1)) == 3
    with pytest.raises(TypeError, match="must match the initial state"):
        tf.data.Dataset.range(3).reduce(0, lambda s, x: tf.cast(s, tf.float32))


def test_iterators():
    it = iter(tf.data.Dataset.range(2))
    assert it.element_spec == Spec((), tf.int64)
    assert int(next(it)) == 0 and int(it.get_next()) == 1
    with pytest.raises(StopIteration):
        next(it)
    with pytest.raises(tf.errors.OutOfRangeError, match="End of sequence"):
        it.get_next()
    # the tracing type follows the position
    it = iter(tf.data.Dataset.range(3))
    first = it.__tf_tracing_type__(None)
    assert first == it.__tf_tracing_type__(None)
    next(it)
    assert first != it.__tf_tracing_type__(None)


def test_repr_and_apply():
    assert repr(tf.data.Dataset.range(3).batch(2)) == \
        "<_BatchDataset element_spec=TensorSpec(shape=(None,), dtype=rstf.int64, name=None)>"
    assert _np(tf.data.Dataset.range(3).apply(lambda d: d.skip(1))) == [1, 2]


def test_a_function_taking_an_iterator_reads_the_next_element_on_each_call():
    # The function guide's good_consume_next: TensorFlow gives 1, 2, 3 (a Python iterator
    # would give the element read while tracing on every call).
    @tf.function
    def consume_next(iterator):
        return next(iterator) * 2

    iterator = iter(tf.data.Dataset.from_tensor_slices([1, 2, 3]))
    assert [int(consume_next(iterator)) for _ in range(3)] == [2, 4, 6]
