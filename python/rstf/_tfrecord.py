"""Record files: TensorFlow's TFRecord format and text lines, optionally GZIP or ZLIB compressed.

A TFRecord file is a sequence of records, each::

    uint64 length            (little-endian)
    uint32 masked CRC-32C of the 8 length bytes
    byte   data[length]
    uint32 masked CRC-32C of the data

where ``masked(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8`` modulo 2**32. Reading checks
both checksums: a corrupted or truncated file raises ``DataLossError`` naming the file and the
offset of the bad record. Lengths are never trusted for allocation: data is read in bounded
pieces, so a forged length ends in a "truncated record" error, not a huge allocation.

The CRC-32C (Castagnoli) is computed here in Python (no CRC-32C package is a dependency of
rstf): eight bytes per step with slicing-by-8 tables (about 10 MB/s), and records of 16 KiB
and more split into lanes computed together with numpy (about 100 MB/s). Fine for records of
examples; slower than TensorFlow's native code for files of many large records.

>>> import os, tempfile
>>> import rstf as tf
>>> path = os.path.join(tempfile.mkdtemp(), "data.tfrecord")
>>> with tf.io.TFRecordWriter(path) as w:
...     w.write(b"first")
...     w.write("second")
>>> [r.numpy() for r in tf.data.TFRecordDataset(path)]
[b'first', b'second']
>>> hex(crc32c(b"123456789"))
'0xe3069283'
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import sys
import zlib

import numpy as np

from . import _ops
from ._rstf import Tensor
from .dtypes import string
from .errors import DataLossError, FailedPreconditionError, InvalidArgumentError, NotFoundError

__all__ = ["TFRecordOptions", "TFRecordWriter", "crc32c", "masked_crc32c", "tf_record_iterator"]

# -- CRC-32C ----------------------------------------------------------------------------------


def _tables() -> list:
    """Slicing-by-8 tables: ``tables[k][b]`` is the register contribution of byte ``b``
    followed by ``k`` more bytes."""
    first = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        first.append(c)
    tables = [first]
    for _ in range(7):
        prev = tables[-1]
        tables.append([(p >> 8) ^ first[p & 0xFF] for p in prev])
    return tables


_TABLES = _tables()
_CRC_TABLE = _TABLES[0]
_MASK_DELTA = 0xA282EAD8


def crc32c(data, crc: int = 0) -> int:
    """The CRC-32C (Castagnoli) of ``data``, continuing from ``crc``."""
    view = memoryview(data).cast("B")
    c = crc ^ 0xFFFFFFFF
    if len(view) >= 1 << 14:
        c, view = _crc_lanes(view, c)
    t0, t1, t2, t3, t4, t5, t6, t7 = _TABLES
    whole = len(view) & ~7 if sys.byteorder == "little" else 0
    for w in view[:whole].cast("Q"):  # eight bytes at a time (little-endian words)
        c ^= w & 0xFFFFFFFF
        h = w >> 32
        c = (t7[c & 255] ^ t6[(c >> 8) & 255] ^ t5[(c >> 16) & 255] ^ t4[c >> 24]
             ^ t3[h & 255] ^ t2[(h >> 8) & 255] ^ t1[(h >> 16) & 255] ^ t0[h >> 24])
    for b in view[whole:]:
        c = t0[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


_NP_TABLE = np.array(_CRC_TABLE, dtype=np.uint32)
_BITS = ((np.arange(256)[:, None] >> np.arange(8)) & 1).astype(bool)


def _crc_lanes(view, c: int):
    """The CRC register after the longest prefix of ``view`` that splits into ``lanes`` lanes
    of ``length`` bytes, and the rest of ``view``. The register update is linear in the
    register and the byte, so each lane's register is computed from zero, all lanes at once
    (numpy, one step per byte of a lane), and the lanes are chained after: the register
    entering a lane, advanced over ``length`` zero bytes (a linear map, computed alongside
    as the images of the 32 basis registers), XOR the lane's own register."""
    a = np.frombuffer(view, np.uint8)
    lanes = 1 << ((a.size.bit_length() - 1) // 2)
    length = a.size // lanes
    rows = np.ascontiguousarray(a[:lanes * length].reshape(lanes, length).T)
    reg = np.zeros(lanes + 32, np.uint32)
    reg[lanes:] = np.uint32(1) << np.arange(32, dtype=np.uint32)
    x = np.zeros(lanes + 32, np.uint32)
    for row in rows:
        x[:lanes] = row
        reg = _NP_TABLE[(reg ^ x) & 0xFF] ^ (reg >> 8)
    images = reg[lanes:]
    t0, t1, t2, t3 = (np.bitwise_xor.reduce(np.where(_BITS, images[8 * k:8 * k + 8], 0), axis=1).tolist()
                      for k in range(4))
    for lane in reg[:lanes].tolist():
        c = t0[c & 255] ^ t1[(c >> 8) & 255] ^ t2[(c >> 16) & 255] ^ t3[c >> 24] ^ lane
    return c, view[lanes * length:]


def masked_crc32c(data) -> int:
    """TFRecord's masked CRC-32C of ``data``."""
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + _MASK_DELTA) & 0xFFFFFFFF


# -- compression --------------------------------------------------------------------------------

_COMPRESSIONS = {None: "", "": "", "NONE": "", "GZIP": "GZIP", "ZLIB": "ZLIB", 0: "", 1: "ZLIB", 2: "GZIP"}


class TFRecordOptions:
    """Options of a TFRecord writer: the compression (``""``, ``"ZLIB"`` or ``"GZIP"``) and
    its level (``compression_level``, 0 to 9); the buffer and zlib tuning options are accepted
    and ignored."""

    def __init__(self, compression_type=None, flush_mode=None, input_buffer_size=None,
                 output_buffer_size=None, window_bits=None, compression_level=None,
                 compression_method=None, mem_level=None, compression_strategy=None):
        self.compression_type = compression(compression_type)
        self.flush_mode, self.input_buffer_size = flush_mode, input_buffer_size
        self.output_buffer_size, self.window_bits = output_buffer_size, window_bits
        self.compression_level, self.compression_method = compression_level, compression_method
        self.mem_level, self.compression_strategy = mem_level, compression_strategy

    @classmethod
    def get_compression_type_string(cls, options) -> str:
        """The compression of ``options`` (a TFRecordOptions, a string or None) as a string."""
        if isinstance(options, TFRecordOptions):
            return options.compression_type
        return compression(options)

    def __repr__(self):
        return f"TFRecordOptions(compression_type={self.compression_type!r})"


def compression(value) -> str:
    """``""``, ``"ZLIB"`` or ``"GZIP"`` from a compression argument (a name, a scalar string
    tensor, TensorFlow's enum values 0-2, or TFRecordOptions)."""
    if isinstance(value, TFRecordOptions):
        return value.compression_type
    if isinstance(value, Tensor):
        value = value.numpy()
    if isinstance(value, bytes):
        value = value.decode()
    key = value.upper() if isinstance(value, str) else value
    try:
        return _COMPRESSIONS[key]
    except (KeyError, TypeError):
        raise InvalidArgumentError(f"Unsupported compression_type: {value!r}; expected '', 'ZLIB' or "
                                   "'GZIP'") from None


class _ZlibReader(io.RawIOBase):
    """A zlib stream (ZLIB compression) decompressed as it is read."""

    def __init__(self, raw, path):
        self._raw, self._path, self._z = raw, path, zlib.decompressobj()
        self._pending, self._at = b"", 0

    def readable(self):
        return True

    def readinto(self, buffer):
        while self._at == len(self._pending):
            if self._z.eof:
                return 0
            data = self._z.unconsumed_tail or self._raw.read(1 << 16)
            if not data:
                raise DataLossError(f"{self._path}: truncated ZLIB data")
            try:
                self._pending, self._at = self._z.decompress(data, 1 << 20), 0
            except zlib.error as e:
                raise DataLossError(f"{self._path}: corrupted ZLIB data ({e})") from None
        n = min(len(buffer), len(self._pending) - self._at)
        buffer[:n] = self._pending[self._at:self._at + n]
        self._at += n
        return n

    def close(self):
        self._raw.close()
        super().close()


class _ZlibWriter(io.RawIOBase):
    def __init__(self, raw, level):
        self._raw, self._z = raw, zlib.compressobj(level)

    def writable(self):
        return True

    def write(self, data):
        self._raw.write(self._z.compress(data))
        return len(data)

    def flush(self):
        if not self.closed:
            self._raw.flush()

    def close(self):
        if not self.closed:
            super().close()
            self._raw.write(self._z.flush())
            self._raw.close()


def _open(path: str, kind: str, op: str):
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise NotFoundError(f"{op}: {path}; No such file or directory") from None
    except IsADirectoryError:
        raise FailedPreconditionError(f"{op}: {path}; Is a directory") from None
    if kind == "GZIP":
        return gzip.GzipFile(fileobj=f, mode="rb"), f
    if kind == "ZLIB":
        return io.BufferedReader(_ZlibReader(f, path)), f
    return f, f


def _read(f, n: int, path: str) -> bytes:
    """Up to ``n`` bytes (fewer at the end of the file), read in bounded pieces."""
    parts, left = [], n
    while left > 0:
        try:
            piece = f.read(min(left, 1 << 24))
        except (OSError, EOFError, zlib.error) as e:
            raise DataLossError(f"{path}: corrupted compressed data ({e})") from None
        if not piece:
            break
        parts.append(piece)
        left -= len(piece)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def records(path: str, compression_type: str = "", op: str = "TFRecordDataset"):
    """The records of the TFRecord file ``path`` (bytes), their checksums verified."""
    f, raw = _open(path, compression_type, op)
    with raw, f:
        offset = 0
        while True:
            header = _read(f, 12, path)
            if not header:
                return
            if len(header) < 12:
                raise DataLossError(f"{op}: truncated record at {offset} in {path}: the file ends inside "
                                    "a record header")
            length, length_crc = struct.unpack("<QI", header)
            if masked_crc32c(header[:8]) != length_crc:
                raise DataLossError(f"{op}: corrupted record at {offset} in {path}: the checksum of its "
                                    "length does not match")
            body = _read(f, length + 4, path)
            if len(body) < length + 4:
                raise DataLossError(f"{op}: truncated record at {offset} in {path}: {length} bytes of data "
                                    "announced, the file ends first")
            data = body[:length]
            if masked_crc32c(data) != struct.unpack("<I", body[length:])[0]:
                raise DataLossError(f"{op}: corrupted record at {offset} in {path}: the checksum of its "
                                    "data does not match")
            yield data
            offset += length + 16


def tf_record_iterator(path, options=None):
    """The records of the TFRecord file ``path`` as bytes (``tf.compat.v1.io.tf_record_iterator``)."""
    return records(_path(path), compression(options), "tf_record_iterator")


def lines(path: str, compression_type: str = "", op: str = "TextLineDataset"):
    """The lines of a text file (bytes, without the ``\\n`` or ``\\r\\n`` that ends them)."""
    f, raw = _open(path, compression_type, op)
    with raw, f:
        try:
            for line in f:
                if line.endswith(b"\n"):
                    line = line[:-1]
                if line.endswith(b"\r"):
                    line = line[:-1]
                yield line
        except (OSError, EOFError, zlib.error) as e:
            raise DataLossError(f"{op}: {path}: corrupted compressed data ({e})") from None


def _path(p) -> str:
    if isinstance(p, Tensor):
        if p.dtype != string or p.shape.rank != 0:
            raise TypeError(f"expected a file name, got a {p.dtype.name} tensor of shape {p.shape}")
        p = p.numpy()
    if isinstance(p, np.ndarray) and p.ndim == 0:
        p = p[()]
    if isinstance(p, (str, bytes, os.PathLike, np.str_, np.bytes_)):
        return os.fsdecode(p)
    raise TypeError(f"expected a file name (str, bytes or a scalar string tensor), got {p!r}")


def filenames(value, op: str):
    """A function giving the file names of ``value``: a name, a list or string tensor of names,
    or a dataset of scalar string names (read when the function is called)."""
    if hasattr(value, "_elements") and hasattr(value, "element_spec"):
        spec = value.element_spec
        if getattr(spec, "dtype", None) != string or spec.shape is None or tuple(spec.shape) != ():
            raise TypeError(f"{op}: `filenames` must be a `tf.data.Dataset` of scalar `tf.string` elements.")
        return lambda: [_path(e) for e in value._elements()]
    if isinstance(value, (list, tuple)):
        names = [_path(v) for v in value]
    elif isinstance(value, (Tensor, np.ndarray)):
        t = _ops.convert_to_tensor(value)
        if t.dtype != string or t.shape.rank > 1:
            raise TypeError(f"{op}: `filenames` must be a string scalar or vector, got {t.dtype.name} of "
                            f"shape {t.shape}")
        names = [os.fsdecode(v) for v in np.asarray(t.numpy()).reshape(-1)]
    else:
        names = [_path(value)]
    return lambda: names


class TFRecordWriter:
    """Writes records to a TFRecord file (``tf.io.TFRecordWriter``); a context manager.

    ``options`` is a :class:`TFRecordOptions` or a compression name (``"GZIP"``, ``"ZLIB"``).
    """

    def __init__(self, path, options=None):
        self._path = _path(path)
        kind = compression(options)
        level = getattr(options, "compression_level", None)
        level = 6 if level is None or level < 0 else int(level)
        try:
            raw = open(self._path, "wb")
        except FileNotFoundError:
            raise NotFoundError(f"TFRecordWriter: {self._path}; No such file or directory") from None
        if kind == "GZIP":
            self._f = gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=level, mtime=0)
            self._raw = raw
        elif kind == "ZLIB":
            self._f = self._raw = _ZlibWriter(raw, level)
        else:
            self._f = self._raw = raw

    def write(self, record):
        """Appends one record (bytes, str or a scalar string tensor)."""
        if self._f is None:
            raise FailedPreconditionError(f"TFRecordWriter: {self._path}: the writer is closed")
        data = _record_bytes(record)
        header = struct.pack("<Q", len(data))
        self._f.write(header + struct.pack("<I", masked_crc32c(header)) + data
                      + struct.pack("<I", masked_crc32c(data)))

    def flush(self):
        """Writes what is buffered to the file."""
        if self._f is None:
            raise FailedPreconditionError(f"TFRecordWriter: {self._path}: the writer is closed")
        self._f.flush()
        self._raw.flush()

    def close(self):
        """Flushes and closes the file (closing twice does nothing)."""
        if self._f is not None:
            f, raw, self._f = self._f, self._raw, None
            f.close()
            if raw is not f:
                raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001, S110 - nothing to report to at interpreter exit
            pass


def _record_bytes(record) -> bytes:
    if isinstance(record, str):
        return record.encode()
    if isinstance(record, (bytes, bytearray, memoryview)):
        return bytes(record)
    if isinstance(record, Tensor) and record.dtype == string and record.shape.rank == 0:
        return record.numpy()
    raise TypeError(f"TFRecordWriter.write: expected bytes, str or a scalar string tensor, got {record!r}")
