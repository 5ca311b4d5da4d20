"""``tf.io``: reading and writing files as string tensors, and raw bytes as numbers; TFRecord
files (``TFRecordWriter``), ``tf.train.Example`` records (``parse_example``), CSV records
(``decode_csv``) and serialized tensors (``serialize_tensor``, ``parse_tensor``).

>>> import os, tempfile
>>> import rstf as tf
>>> path = os.path.join(tempfile.mkdtemp(), "hello.txt")
>>> tf.io.write_file(path, "hello")
>>> tf.io.read_file(path).numpy()
b'hello'
>>> tf.io.gfile.exists(path)
True
"""

from __future__ import annotations

import glob as _glob
import os

from ._csv import decode_csv
from ._ops import constant, convert_to_tensor
from ._parsing import (
    FixedLenFeature,
    FixedLenSequenceFeature,
    RaggedFeature,
    VarLenFeature,
    parse_example,
    parse_single_example,
    parse_tensor,
    serialize_tensor,
)
from ._tfrecord import TFRecordOptions, TFRecordWriter
from .dtypes import string
from .errors import NotFoundError
from .strings import decode_raw

__all__ = ["FixedLenFeature", "FixedLenSequenceFeature", "RaggedFeature", "TFRecordOptions", "TFRecordWriter",
           "VarLenFeature", "decode_csv", "decode_raw", "gfile", "parse_example", "parse_single_example",
           "parse_tensor", "read_file", "serialize_tensor", "write_file"]


def _path(filename) -> str:
    if isinstance(filename, (str, bytes, os.PathLike)):
        return os.fsdecode(filename)
    t = convert_to_tensor(filename)
    if t.dtype != string or t.shape.rank != 0:
        raise TypeError("filename must be a str or a scalar string tensor")
    return os.fsdecode(t.numpy())


def read_file(filename, name=None):
    """The contents of ``filename`` as a scalar string tensor."""
    path = _path(filename)
    try:
        with open(path, "rb") as f:
            return constant(f.read())
    except FileNotFoundError:
        raise NotFoundError(f"ReadFile: {path}; No such file or directory") from None


def write_file(filename, contents, name=None):
    """Writes the scalar string tensor (or ``str``/``bytes``) ``contents`` to ``filename``,
    creating or replacing it."""
    t = convert_to_tensor(contents)
    if t.dtype != string or t.shape.rank != 0:
        raise TypeError(f"WriteFile: contents must be a scalar string, got {t.dtype.name} of shape {t.shape}")
    path = _path(filename)
    with open(path, "wb") as f:
        f.write(t.numpy())


class _GFile:
    """``tf.io.gfile``: file-system helpers over the local file system."""

    @staticmethod
    def exists(path) -> bool:
        return os.path.exists(_path(path))

    @staticmethod
    def glob(pattern) -> list:
        return sorted(_glob.glob(_path(pattern)))

    @staticmethod
    def makedirs(path) -> None:
        os.makedirs(_path(path), exist_ok=True)

    @staticmethod
    def mkdir(path) -> None:
        os.mkdir(_path(path))

    @staticmethod
    def isdir(path) -> bool:
        return os.path.isdir(_path(path))

    @staticmethod
    def listdir(path) -> list:
        return sorted(os.listdir(_path(path)))

    @staticmethod
    def remove(path) -> None:
        os.remove(_path(path))

    @staticmethod
    def rename(src, dst, overwrite=False) -> None:
        if not overwrite and os.path.exists(_path(dst)):
            raise FileExistsError(f"rename: {dst} exists")
        os.replace(_path(src), _path(dst))

    @staticmethod
    def GFile(name, mode="r"):  # noqa: N802 - TensorFlow's name
        return open(_path(name), mode)

    Open = GFile


gfile = _GFile()
