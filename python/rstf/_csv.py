"""CSV: ``tf.io.decode_csv`` (records already in string tensors) and the reading behind
``tf.data.experimental.CsvDataset`` and ``make_csv_dataset`` (files, RFC 4180).

Fields are split as TensorFlow splits them: a field that starts with ``"`` is quoted (``""``
inside is one quote, and the closing quote must be followed by the delimiter or the end of the
record), a quote inside an unquoted field is an error, and an empty field (or one equal to
``na_value``) takes the column's default, an error where the column has none. Numbers may carry
spaces around them. In files, a record ends at ``\\n``, ``\\r\\n`` or ``\\r`` outside quotes.

>>> import rstf as tf
>>> a, b, c = tf.io.decode_csv(["1,x,2.5", '2,"y, z",'], record_defaults=[[0], [""], [0.0]])
>>> a.numpy(), b.numpy(), c.numpy()
(array([1, 2], dtype=int32), array([b'x', b'y, z'], dtype=object), array([2.5, 0. ], dtype=float32))
"""

from __future__ import annotations

import collections
import csv
import glob
import io
import re
import warnings

import numpy as np

from . import _ops, _tfrecord
from ._rstf import Tensor
from .dtypes import DType, as_dtype, float32, float64, int32, int64, string
from .errors import InvalidArgumentError

__all__ = ["decode_csv"]

_TYPES = (float32, float64, int32, int64, string)
_INT = re.compile(rb"\s*[+-]?\d+\s*")
_FLOAT = re.compile(rb"\s*[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf|infinity|nan)\s*", re.IGNORECASE)
_LIMITS = {"int32": (-(1 << 31), (1 << 31) - 1), "int64": (-(1 << 63), (1 << 63) - 1)}
_TF_NAME = {"float32": "float", "float64": "double"}


class Columns:
    """The columns' dtypes and defaults (None: required) from ``record_defaults``: per column a
    dtype (required) or a tensor/list of zero (required) or one default value."""

    def __init__(self, record_defaults, op: str, na_value=""):
        self.dtypes, self.defaults = [], []
        for i, d in enumerate(record_defaults):
            if isinstance(d, DType) or (isinstance(d, str) and d in [t.name for t in _TYPES]):
                dtype, value = as_dtype(d), None
            else:
                t = d if isinstance(d, Tensor) else _ops.convert_to_tensor(d)
                dtype = t.dtype
                a = np.asarray(t.numpy(), dtype=object if dtype == string else None).reshape(-1)
                if a.size > 1:
                    raise InvalidArgumentError(f"{op}: There should only be 1 default per field but field "
                                               f"{i} has {a.size}")
                value = a[0] if a.size else None
            if dtype not in _TYPES:
                raise InvalidArgumentError(f"{op}: csv: data type {dtype.name} not supported in field {i}; "
                                           "use float32, float64, int32, int64 or string")
            self.dtypes.append(dtype)
            self.defaults.append(value)
        self.na_value = _bytes(na_value)

    def convert(self, fields, where: str):
        """The fields of one record as numpy scalars (0-d object arrays for strings)."""
        return [self.value(f, i, where) for i, f in enumerate(fields)]

    def value(self, field: bytes, i: int, where: str):
        dtype = self.dtypes[i]
        if not field or field == self.na_value:
            if self.defaults[i] is None:
                raise InvalidArgumentError(f"{where}: Field {i} is required but missing")
            v = self.defaults[i]
        elif dtype == string:
            v = field
        elif dtype in (int32, int64):
            low, high = _LIMITS[dtype.name]
            if not _INT.fullmatch(field) or not low <= int(field) <= high:
                raise InvalidArgumentError(f"{where}: Field {i} is not a valid {dtype.name}: {_text(field)}")
            v = int(field)
        else:
            if not _FLOAT.fullmatch(field):
                raise InvalidArgumentError(f"{where}: Field {i} is not a valid {_TF_NAME[dtype.name]}: "
                                           f"{_text(field)}")
            v = float(field)
        if dtype == string:
            a = np.empty((), dtype=object)
            a[()] = bytes(v)
            return a
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # float32 overflow gives inf
            return dtype.as_numpy_dtype(v)


def _text(field: bytes) -> str:
    return field.decode("utf-8", "replace")


def _bytes(s) -> bytes:
    if isinstance(s, Tensor):
        s = s.numpy()
    return s.encode() if isinstance(s, str) else bytes(s)


def _delim(field_delim, op: str) -> int:
    d = _bytes(field_delim)
    if len(d) != 1:
        raise InvalidArgumentError(f"{op}: field_delim should be only 1 char, got {d!r}")
    return d[0]


# -- decode_csv: one record per string ----------------------------------------------------------

def split_record(record: bytes, delim: int, quote: bool, index: int) -> list:
    """The fields of one record as ``DecodeCSV`` splits them."""
    n = len(record)
    if n == 0:
        return []
    if not (quote and b'"' in record) and b"\n" not in record and b"\r" not in record:
        return record.split(bytes([delim]))
    fields, pos = [], 0
    where = f"DecodeCSV: record {index}"
    while pos < n:
        if record[pos] in b"\r\n":
            pos += 1
            continue
        if quote and record[pos] == 34:
            pos += 1
            field = bytearray()
            while pos < n - 1 and not (record[pos] == 34 and record[pos + 1] == delim):
                if record[pos] != 34:
                    field.append(record[pos])
                    pos += 1
                else:
                    if record[pos + 1] != 34:
                        raise InvalidArgumentError(f"{where}: Quote inside a string has to be escaped by "
                                                   "another quote")
                    field.append(34)
                    pos += 2
            if not (pos < n and record[pos] == 34 and (pos == n - 1 or record[pos + 1] == delim)):
                raise InvalidArgumentError(f"{where}: Quoted field has to end with quote followed by delim "
                                           "or end")
            pos += 2
            fields.append(bytes(field))
        else:
            end = record.find(bytes([delim]), pos)
            end = n if end < 0 else end
            field = record[pos:end]
            if (quote and b'"' in field) or b"\n" in field or b"\r" in field:
                raise InvalidArgumentError(f"{where}: Unquoted fields cannot have quotes/CRLFs inside")
            fields.append(field)
            pos = end + 1
    if record[-1] == delim:
        fields.append(b"")
    return fields


def decode_csv(records, record_defaults, field_delim=",", use_quote_delim=True, name=None, na_value="",
               select_cols=None):
    """Converts CSV records (a string tensor of any shape) to one tensor per column, each of
    the records' shape. ``record_defaults`` gives each column's dtype and default: a one-value
    tensor or list (``[0]``, ``[0.0]``, ``[""]``), or an empty one (``[]``, a dtype) for a
    required column. ``select_cols`` (increasing indices) keeps only those columns."""
    t = records if isinstance(records, Tensor) else _ops.convert_to_tensor(records, string)
    if t.dtype != string:
        raise TypeError(f"DecodeCSV: `records` must be a string tensor, got {t.dtype.name}")
    columns = Columns(record_defaults, "DecodeCSV", na_value)
    delim = _delim(field_delim, "DecodeCSV")
    select = _select(select_cols, len(columns.dtypes), "DecodeCSV")
    flat = np.asarray(t.numpy(), dtype=object).reshape(-1)
    out = [np.empty(len(flat), dtype=object if d == string else d.as_numpy_dtype) for d in columns.dtypes]
    for i, record in enumerate(flat):
        fields = split_record(record, delim, bool(use_quote_delim), i)
        if select is not None:
            if len(fields) <= select[-1]:
                raise InvalidArgumentError(f"DecodeCSV: Expect {len(select)} fields but have "
                                           f"{sum(c < len(fields) for c in select)} in record {i}")
            fields = [fields[c] for c in select]
        if len(fields) != len(out):
            raise InvalidArgumentError(f"DecodeCSV: Expect {len(out)} fields but have {len(fields)} in "
                                       f"record {i}")
        for j, v in enumerate(columns.convert(fields, f"DecodeCSV: record {i}")):
            out[j][i] = v[()] if isinstance(v, np.ndarray) else v
    return [_ops.constant(a.reshape(tuple(t.shape)), d) for a, d in zip(out, columns.dtypes)]


def _select(select_cols, n: int, op: str):
    if select_cols is None:
        return None
    cols = [int(c) for c in (select_cols.numpy() if isinstance(select_cols, Tensor) else select_cols)]
    if any(c < 0 for c in cols) or any(b <= a for a, b in zip(cols, cols[1:])):
        raise InvalidArgumentError(f"{op}: select_cols is not strictly increasing and non-negative: {cols}")
    if len(cols) != n:
        raise InvalidArgumentError(f"{op}: Expected len(record_defaults) == len(select_cols); got {n} and "
                                   f"{len(cols)}")
    return cols


# -- files: CsvDataset ----------------------------------------------------------------------------

def file_records(path: str, compression_type: str, delim: int, quote: bool):
    """The records of a CSV file as lists of fields (bytes), as ``CsvDataset`` reads them; a
    record that cannot be split is given as its InvalidArgumentError."""
    lines = _raw_lines(path, compression_type)
    d = bytes([delim])
    index = 0
    for line in lines:
        body = line[:-1] if line.endswith(b"\n") else line
        if body.endswith(b"\r"):
            body = body[:-1]
        if not (quote and b'"' in body) and b"\r" not in body:
            yield body.split(d)
            index += 1
            continue
        buf, pos = line, 0
        while pos < len(buf):
            try:
                where = f"CsvDataset: {path}, record {index}"
                fields, buf, pos = _slow_record(buf, pos, lines, d, quote, where)
            except InvalidArgumentError as e:
                fields, pos = e, len(buf)  # the rest of the line is skipped
            yield fields
            index += 1


def _raw_lines(path, compression_type):
    f, raw = _tfrecord._open(path, compression_type, "CsvDataset")
    with raw, f:
        yield from f


def _slow_record(buf: bytes, pos: int, lines, d: bytes, quote: bool, where: str):
    """One record from ``buf[pos:]`` (taking more lines from ``lines`` while a quoted field
    is open): ``(fields, buffer, position after the record)``."""
    stops = re.compile(b"[" + re.escape(d) + rb"\r\n]")
    fields = []
    while True:
        if pos >= len(buf):  # the file ends right after a delimiter
            fields.append(b"")
            return fields, buf, pos
        if quote and buf[pos] == 34:
            pos += 1
            field = bytearray()
            while True:
                j = buf.find(b'"', pos)
                if j < 0:
                    field += buf[pos:]
                    buf, pos = next(lines, None), 0
                    if buf is None:
                        raise InvalidArgumentError(f"{where}: Reached end of file without closing quoted "
                                                   "field")
                    continue
                field += buf[pos:j]
                pos = j + 1
                if pos >= len(buf):
                    nxt = next(lines, None)
                    if nxt is None:
                        fields.append(bytes(field))
                        return fields, buf, pos
                    buf, pos = nxt, 0
                c = buf[pos]
                pos += 1
                if c == 34:
                    field.append(34)
                    continue
                fields.append(bytes(field))
                if c == d[0]:
                    break
                if c in b"\r\n":
                    if c == 13 and buf[pos:pos + 1] == b"\n":
                        pos += 1
                    return fields, buf, pos
                raise InvalidArgumentError(f"{where}: Quote inside a string has to be escaped by another "
                                           "quote")
        else:
            m = stops.search(buf, pos)
            end = m.start() if m else len(buf)
            field = buf[pos:end]
            if quote and b'"' in field:
                raise InvalidArgumentError(f"{where}: Unquoted fields cannot have quotes inside")
            fields.append(field)
            if m is None:
                return fields, buf, end
            pos = end + 1
            if buf[end] != d[0]:
                if buf[end] == 13 and buf[pos:pos + 1] == b"\n":
                    pos += 1
                return fields, buf, pos


class CsvReader:
    """What a ``CsvDataset`` reads: its files and how to convert their records."""

    def __init__(self, filenames, record_defaults, compression_type=None, header=False, field_delim=",",
                 use_quote_delim=True, na_value="", select_cols=None, exclude_cols=None):
        self.files = _tfrecord.filenames(filenames, "CsvDataset")
        self.columns = Columns(record_defaults, "CsvDataset", na_value)
        self.compression = _tfrecord.compression(compression_type)
        self.header, self.quote = bool(header), bool(use_quote_delim)
        self.delim = _delim(field_delim, "CsvDataset")
        if select_cols is not None and exclude_cols is not None:
            raise InvalidArgumentError("CsvDataset: Either select_cols or exclude_cols should be empty")
        self.select = _select(select_cols, len(self.columns.dtypes), "CsvDataset")
        self.exclude = None if exclude_cols is None else sorted(int(c) for c in exclude_cols)
        self.ignore_errors = False

    def rows(self):
        n = len(self.columns.dtypes)
        for path in self.files():
            records = file_records(path, self.compression, self.delim, self.quote)
            if self.header and next(records, None) is None:
                continue
            for i, fields in enumerate(records):
                where = f"CsvDataset: {path}, record {i + self.header}"
                if isinstance(fields, InvalidArgumentError):
                    if self.ignore_errors:
                        continue
                    raise fields
                if self.select is not None:
                    fields = [fields[c] for c in self.select if c < len(fields)]
                elif self.exclude is not None:
                    excluded = set(self.exclude)
                    fields = [f for c, f in enumerate(fields) if c not in excluded]
                try:
                    if len(fields) != n:
                        raise InvalidArgumentError(f"{where}: Expect {n} fields but have {len(fields)} in "
                                                   "record")
                    row = tuple(self.columns.convert(fields, where))
                except InvalidArgumentError:
                    if self.ignore_errors:
                        continue
                    raise
                yield row


# -- make_csv_dataset -------------------------------------------------------------------------------

def _text_reader(path: str, compression_type: str, encoding: str, delim: str, quote: bool):
    f, raw = _tfrecord._open(path, compression_type, "make_csv_dataset")
    text = io.TextIOWrapper(f, encoding=encoding, newline="")
    quoting = csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE
    return raw, text, csv.reader(text, delimiter=delim, quoting=quoting)


def infer_column_names(files, delim, quote, compression_type, encoding) -> list:
    names = None
    for path in files:
        raw, text, rows = _text_reader(path, compression_type, encoding, delim, quote)
        with raw, text:
            first = next(rows, None)
        if first is None:
            raise ValueError(f"Received StopIteration when reading the header line of {path}.  Empty file?")
        if names is not None and first != names:
            raise ValueError("Files have different column names in the header row.")
        names = first
    return names


def _is_int(s: str, bits: int) -> bool:
    try:
        v = int(s)
    except ValueError:
        return False
    return -(1 << (bits - 1)) <= v < (1 << (bits - 1))


def _is_float(s: str, dtype) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return dtype(s) < np.inf
    except ValueError:
        return False


_INFER = [(int32, lambda s: _is_int(s, 32)), (int64, lambda s: _is_int(s, 64)),
          (float32, lambda s: _is_float(s, np.float32)), (float64, lambda s: _is_float(s, np.float64)),
          (string, lambda s: True)]


def _infer_type(value: str, na_value: str, previous):
    """The least permissive dtype that fits ``value`` and the column's values before it."""
    if value in ("", na_value):
        return previous
    allowed = [t for t, _ in _INFER]
    start = 0 if previous is None else allowed.index(previous)
    for dtype, fits in _INFER[start:]:
        if fits(value):
            return dtype
    return string


def infer_column_defaults(files, num_cols, delim, quote, na_value, header, num_rows, select, compression_type,
                          encoding) -> list:
    """One-value defaults (0 or ``""``) of the dtypes inferred from the first ``num_rows``
    records (all of them for None): int32, int64, float32, float64 or string per column."""
    cols = list(range(num_cols)) if select is None else select
    types = [None] * len(cols)
    seen = 0
    for path in files:
        raw, text, rows = _text_reader(path, compression_type, encoding, delim, quote)
        with raw, text:
            if header:
                next(rows, None)
            for row in rows:
                if num_rows is not None and seen >= num_rows:
                    break
                if len(row) != num_cols:
                    raise ValueError("Problem inferring types: CSV row has different number of fields than "
                                     "expected.")
                types = [_infer_type(row[c], na_value, t) for c, t in zip(cols, types)]
                seen += 1
    return [_ops.constant(np.array([b""], dtype=object), string) if (t or string) == string else
            _ops.constant([0], t) for t in types]


def sorted_col_indices(select_columns, column_names) -> list:
    index = {n: i for i, n in enumerate(column_names)}
    out = []
    for v in select_columns:
        if isinstance(v, (int, np.integer)):
            if not 0 <= v < len(column_names):
                raise ValueError(f"Column index {v} specified in select_columns out of valid range.")
            out.append(int(v))
        elif v in index:
            out.append(index[v])
        else:
            raise ValueError(f"Value '{v}' specified in select_columns not a valid column index or name.")
    result = sorted(set(out))
    if len(result) != len(out):
        raise ValueError("select_columns contains duplicate columns")
    return result


def make_csv_dataset(dataset_cls, csv_dataset_cls, file_pattern, batch_size, column_names, column_defaults,
                     label_name, select_columns, field_delim, use_quote_delim, na_value, header, num_epochs,
                     shuffle, shuffle_buffer_size, shuffle_seed, num_rows_for_inference, compression_type,
                     ignore_errors, encoding):
    """``tf.data.experimental.make_csv_dataset`` built from the given dataset classes."""
    files = list_files(file_pattern)
    compression = _tfrecord.compression(compression_type)
    delim = _bytes(field_delim).decode()
    if column_names is None:
        if not header:
            raise ValueError("Cannot infer column names without a header line.")
        column_names = infer_column_names(files, delim, use_quote_delim, compression, encoding)
    column_names = list(column_names)
    if len(column_names) != len(set(column_names)):
        raise ValueError("Cannot have duplicate column names.")
    select = None if select_columns is None else sorted_col_indices(list(select_columns), column_names)
    if column_defaults is None:
        column_defaults = infer_column_defaults(files, len(column_names), delim, use_quote_delim, na_value,
                                                header, num_rows_for_inference, select, compression, encoding)
    if select is not None and len(column_defaults) != len(select):
        raise ValueError("If specified, column_defaults and select_columns must have same length.")
    if select is not None and len(column_names) > len(select):
        column_names = [column_names[i] for i in select]
    if label_name is not None and label_name not in column_names:
        raise ValueError("`label_name` provided must be one of the columns.")
    names = dataset_cls.from_tensor_slices(np.array([f.encode() for f in files], dtype=object))
    if shuffle:
        names = names.shuffle(len(files), shuffle_seed)
    ds = csv_dataset_cls(names, column_defaults, compression_type=compression, header=header,
                         field_delim=field_delim, use_quote_delim=use_quote_delim, na_value=na_value,
                         select_cols=select)
    ds._reader.ignore_errors = bool(ignore_errors)
    if shuffle:
        ds = ds.shuffle(shuffle_buffer_size, shuffle_seed)
    if num_epochs != 1:
        ds = ds.repeat(num_epochs)
    ds = ds.batch(batch_size, drop_remainder=num_epochs is None)

    def to_features(*columns):
        features = collections.OrderedDict(zip(column_names, columns))
        if label_name is not None:
            return features, features.pop(label_name)
        return features
    return ds.map(to_features)


def list_files(file_pattern) -> list:
    """The files matching ``file_pattern`` (a pattern or a list of them), sorted; a pattern
    that matches nothing raises InvalidArgumentError."""
    if isinstance(file_pattern, Tensor):
        file_pattern = [p for p in np.asarray(file_pattern.numpy(), dtype=object).reshape(-1)]
    patterns = file_pattern if isinstance(file_pattern, (list, tuple)) else [file_pattern]
    files = []
    for p in patterns:
        p = _tfrecord._path(p)
        matches = sorted(glob.glob(p))
        if not matches:
            raise InvalidArgumentError(f"No files matched pattern: {p}")
        files += matches
    return files
