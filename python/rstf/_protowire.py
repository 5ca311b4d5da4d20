"""Protocol buffers' wire format, for the few messages rstf reads and writes itself
(``tf.train.Example`` and its parts, ``TensorProto``): varints, fixed-width numbers,
length-delimited fields, packed repeated numbers, and text-format escapes.

Decoding checks every length against the bytes left and every varint against its 10-byte
limit, so malformed input raises :class:`DecodeError` (a ``DataLossError``) instead of reading
past the end or allocating what a forged length asks for.

>>> from rstf import _protowire as w
>>> data = w.tag(1, w.VARINT) + w.varint(300) + w.tag(2, w.LEN) + w.varint(2) + b"hi"
>>> [(number, value) for number, _, value in w.fields(data, "Demo")]
[(1, 300), (2, b'hi')]
>>> w.unpack_int64s(w.pack_int64s([1, -1, 1 << 40]), "Demo")
[1, -1, 1099511627776]
"""

from __future__ import annotations

import math
import struct

import numpy as np

from .errors import DataLossError

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5
_U64 = (1 << 64) - 1


class DecodeError(DataLossError):
    """Bytes that are not a valid serialized message."""


def varint(n: int) -> bytes:
    """``n`` (negative numbers as their 64-bit two's complement) as a varint."""
    n &= _U64
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint((number << 3) | wire_type)


def length_delimited(number: int, payload: bytes) -> bytes:
    return tag(number, LEN) + varint(len(payload)) + payload


def read_varint(buf, pos: int, end: int, what: str):
    """``(value, next position)`` of the varint at ``pos``."""
    value = shift = 0
    while True:
        if pos >= end:
            raise DecodeError(f"Error parsing {what}: truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value & _U64, pos
        shift += 7
        if shift >= 70:
            raise DecodeError(f"Error parsing {what}: varint longer than 10 bytes")


def fields(buf, what: str, start: int = 0, end: int | None = None):
    """The fields of the message in ``buf[start:end]`` as ``(number, wire type, value)``:
    an int for varints and fixed-width numbers (unsigned), bytes for length-delimited fields.
    Groups (a deprecated encoding no field here uses) are skipped."""
    end = len(buf) if end is None else end
    pos = start
    while pos < end:
        key, pos = read_varint(buf, pos, end, what)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise DecodeError(f"Error parsing {what}: field number 0")
        if wire == VARINT:
            value, pos = read_varint(buf, pos, end, what)
        elif wire == I64 or wire == I32:
            size = 8 if wire == I64 else 4
            if pos + size > end:
                raise DecodeError(f"Error parsing {what}: truncated fixed-width field {number}")
            value = int.from_bytes(buf[pos:pos + size], "little")
            pos += size
        elif wire == LEN:
            size, pos = read_varint(buf, pos, end, what)
            if size > end - pos:
                raise DecodeError(f"Error parsing {what}: field {number} is {size} bytes long, "
                                  f"{end - pos} are left")
            value = bytes(buf[pos:pos + size])
            pos += size
        elif wire == SGROUP:
            pos = _skip_group(buf, pos, end, number, what)
            continue
        else:
            raise DecodeError(f"Error parsing {what}: invalid wire type {wire} of field {number}")
        yield number, wire, value


def _skip_group(buf, pos, end, number, what):
    depth = [number]
    while depth:
        key, pos = read_varint(buf, pos, end, what)
        n, wire = key >> 3, key & 7
        if wire == VARINT:
            _, pos = read_varint(buf, pos, end, what)
        elif wire in (I64, I32):
            pos += 8 if wire == I64 else 4
        elif wire == LEN:
            size, pos = read_varint(buf, pos, end, what)
            pos += size
        elif wire == SGROUP:
            depth.append(n)
        elif wire == EGROUP and n == depth[-1]:
            depth.pop()
        else:
            raise DecodeError(f"Error parsing {what}: malformed group {number}")
        if pos > end:
            raise DecodeError(f"Error parsing {what}: truncated group {number}")
    return pos


def signed64(u: int) -> int:
    return u - (1 << 64) if u >> 63 else u


def signed32(u: int) -> int:
    """An int32 field's varint (sign-extended to 64 bits when negative) as a Python int."""
    u &= 0xFFFFFFFF
    return u - (1 << 32) if u >> 31 else u


# -- packed repeated numbers ----------------------------------------------------------------------

def pack_int64s(values) -> bytes:
    return b"".join(varint(int(v)) for v in values)


def unpack_varints(data: bytes, what: str) -> np.ndarray:
    """The packed varints of ``data`` as uint64 (numpy, one pass over the bytes)."""
    a = np.frombuffer(data, np.uint8)
    if a.size == 0:
        return np.zeros(0, np.uint64)
    if a[-1] >= 0x80:
        raise DecodeError(f"Error parsing {what}: truncated packed varint")
    ends = np.flatnonzero(a < 0x80)
    starts = np.concatenate(([0], ends[:-1] + 1))
    if int((ends - starts).max()) >= 10:
        raise DecodeError(f"Error parsing {what}: varint longer than 10 bytes")
    position = np.arange(a.size) - np.repeat(starts, ends - starts + 1)
    parts = (a & 0x7F).astype(np.uint64) << (7 * position).astype(np.uint64)
    return np.bitwise_or.reduceat(parts, starts)


def unpack_int64s(data: bytes, what: str) -> list:
    if len(data) <= 16:
        out, pos = [], 0
        while pos < len(data):
            value, pos = read_varint(data, pos, len(data), what)
            out.append(signed64(value))
        return out
    return unpack_varints(data, what).view(np.int64).tolist()


def pack_floats(values) -> bytes:
    return np.asarray(values, dtype="<f4").tobytes()


def unpack_fixed(data: bytes, dtype: str, what: str) -> np.ndarray:
    size = np.dtype(dtype).itemsize
    if len(data) % size:
        raise DecodeError(f"Error parsing {what}: packed {np.dtype(dtype).name} values of {len(data)} bytes")
    return np.frombuffer(data, dtype)


def float32(value) -> float:
    """``value`` rounded to float32 (too large: infinity, as protobuf stores it)."""
    try:
        return struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


# -- text format ----------------------------------------------------------------------------------

_ESCAPES = {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", ord('"'): '\\"', ord("'"): "\\'",
            ord("\\"): "\\\\"}


def escape_bytes(data: bytes) -> str:
    """Bytes as protobuf's text format writes them (C escapes, octal outside printable ASCII)."""
    return "".join(_ESCAPES.get(b) or (chr(b) if 32 <= b < 127 else f"\\{b:03o}") for b in data)


def format_float(value: float) -> str:
    """A float32 as protobuf's text format writes it: 6 significant digits if they read back
    as the same float32, else 9."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    s = f"{value:.6g}"
    return s if float32(float(s)) == value else f"{value:.9g}"
