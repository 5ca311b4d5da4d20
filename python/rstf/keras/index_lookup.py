"""Keras' lookup layers: ``StringLookup`` and ``IntegerLookup`` map tokens to vocabulary
indices (or back, with ``invert=True``) and encode them (``output_mode``), with the vocabulary
given or learned by ``adapt``; ``TextVectorization`` (:mod:`.text_preprocessing`) uses them.

The lookup is a Python ``dict`` (``O(n)`` per call, whatever the vocabulary's size). Inside a
traced function (``tf.function``, ``Model.fit``) it is a graph node that calls back into
Python on each run, as ``tf.numpy_function`` does (such a function cannot be saved in a
SavedModel; a ``.keras`` file, which holds the vocabulary in the layer's config, can).
Encodings other than ``'int'`` are float32, as in ``tf.keras``.

>>> import rstf as tf
>>> layer = tf.keras.layers.StringLookup()
>>> layer.adapt([["b", "a", "b"], ["c", "b", "a"]])
>>> layer.get_vocabulary()
['[UNK]', 'b', 'a', 'c']
>>> layer([["a", "c", "z"]]).numpy()
array([[2, 3, 0]])
"""

from __future__ import annotations

import collections
import itertools
import math
import os

import numpy as np

from .. import _ops as _o
from .. import _rstf
from .. import data as _data
from .. import sparse as _sparse
from .._ragged_tensor import RaggedTensor
from .._rstf import Tensor
from ..errors import InvalidArgumentError
from .base_layer import Layer

__all__ = ["StringLookup", "IntegerLookup"]

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
FILE_REFUSED = ("Requested the loading of a vocabulary file outside of the model archive. This carries a "
                "potential risk of loading arbitrary and sensitive files and thus it is disallowed. "
                "Vocabulary file: '{}'")
_M64 = (1 << 64) - 1
_K0, _K1, _K2 = 0xC3A5C85C97CB3127, 0xB492B66FBE98F273, 0x9AE16A3B2F90404F


# ----------------------------------------------------------------------------- FarmHash


def _rot(v, s):
    return ((v >> s) | (v << (64 - s))) & _M64


def _u64(s, i):
    return int.from_bytes(s[i:i + 8], "little")


def _u32(s, i):
    return int.from_bytes(s[i:i + 4], "little")


def _mix(u, v, mul):
    a = ((u ^ v) * mul) & _M64
    a ^= a >> 47
    b = ((v ^ a) * mul) & _M64
    b ^= b >> 47
    return (b * mul) & _M64


def _weak32(s, i, a, b):
    w, x, y, z = _u64(s, i), _u64(s, i + 8), _u64(s, i + 16), _u64(s, i + 24)
    a = (a + w) & _M64
    b = _rot((b + a + z) & _M64, 21)
    c = a
    a = (a + x + y) & _M64
    b = (b + _rot(a, 44)) & _M64
    return (a + z) & _M64, (b + c) & _M64


def fingerprint64(s: bytes) -> int:
    """FarmHash's ``Fingerprint64`` (``farmhashna::Hash64``) of ``s``, the hash of
    ``tf.strings.to_hash_bucket_fast``: OOV strings go to bucket ``fingerprint64(s) % n``.

    >>> [fingerprint64(s) % 3 for s in (b"Hello", b"TensorFlow", b"2.x")]
    [0, 2, 2]
    """
    n = len(s)
    if n <= 16:
        if n >= 8:
            mul = _K2 + n * 2
            a = (_u64(s, 0) + _K2) & _M64
            b = _u64(s, n - 8)
            return _mix((_rot(b, 37) * mul + a) & _M64, ((_rot(a, 25) + b) * mul) & _M64, mul)
        if n >= 4:
            return _mix(n + (_u32(s, 0) << 3), _u32(s, n - 4), _K2 + n * 2)
        if n > 0:
            v = (((s[0] + (s[n >> 1] << 8)) * _K2) ^ ((n + (s[n - 1] << 2)) * _K0)) & _M64
            return ((v ^ (v >> 47)) * _K2) & _M64
        return _K2
    mul = _K2 + n * 2
    if n <= 64:
        a = (_u64(s, 0) * (_K1 if n <= 32 else _K2)) & _M64
        b = _u64(s, 8)
        c = (_u64(s, n - 8) * mul) & _M64
        d = (_u64(s, n - 16) * _K2) & _M64
        y = (_rot((a + b) & _M64, 43) + _rot(c, 30) + d) & _M64
        z = _mix(y, (a + _rot((b + _K2) & _M64, 18) + c) & _M64, mul)
        if n <= 32:
            return z
        e = (_u64(s, 16) * mul) & _M64
        f = _u64(s, 24)
        g = ((y + _u64(s, n - 32)) * mul) & _M64
        h = ((z + _u64(s, n - 24)) * mul) & _M64
        return _mix((_rot((e + f) & _M64, 43) + _rot(g, 30) + h) & _M64,
                    (e + _rot((f + a) & _M64, 18) + g) & _M64, mul)
    x = (81 * _K2 + _u64(s, 0)) & _M64
    y = (81 * _K1 + 113) & _M64
    z = (y * _K2 + 113) & _M64
    z = ((z ^ (z >> 47)) * _K2) & _M64
    v0 = v1 = w0 = w1 = 0
    end = ((n - 1) // 64) * 64
    chunks = [(i, False) for i in range(0, end, 64)] + [(end + ((n - 1) & 63) - 63, True)]
    for i, last in chunks:
        if last:  # the last 64 bytes
            mul = _K1 + ((z & 0xFF) << 1)
            w0 = (w0 + ((n - 1) & 63)) & _M64
            v0 = (v0 + w0) & _M64
            w0 = (w0 + v0) & _M64
        m = mul if last else _K1
        x = (_rot((x + y + v0 + _u64(s, i + 8)) & _M64, 37) * m) & _M64
        y = (_rot((y + v1 + _u64(s, i + 48)) & _M64, 42) * m) & _M64
        x ^= (w1 * (9 if last else 1)) & _M64
        y = (y + v0 * (9 if last else 1) + _u64(s, i + 40)) & _M64
        z = (_rot((z + w0) & _M64, 33) * m) & _M64
        v0, v1 = _weak32(s, i, (v1 * m) & _M64, (x + w0) & _M64)
        w0, w1 = _weak32(s, i + 32, (z + w1) & _M64, (y + _u64(s, i + 16)) & _M64)
        x, z = z, x
    return _mix((_mix(v0, w0, mul) + (y ^ (y >> 47)) * _K0 + z) & _M64, (_mix(v1, w1, mul) + x) & _M64, mul)


# ----------------------------------------------------------------------------- helpers


def on_host(name: str, fn, inputs: list) -> list:
    """``fn(*tensors) -> [tensors]`` run eagerly; inside a traced function, when an input is
    traced, a graph node that calls ``fn`` on the values at each run (its results' shapes may
    differ from run to run)."""
    if not (_rstf.is_tracing() and any(_rstf.is_symbolic(t) for t in inputs)):
        return fn(*inputs)
    depth = _rstf.trace_suspend()
    try:
        outs = fn(*inputs)
    finally:
        _rstf.trace_resume(depth)
    return _rstf.trace_callback(name, fn, list(inputs), outs)


def _is_traced(x) -> bool:
    t = x.flat_values if isinstance(x, RaggedTensor) else x
    return isinstance(t, Tensor) and _rstf.is_tracing() and _rstf.is_symbolic(t)


def _flat_docs(data):
    """The tokens of ``data`` (a numpy array or an eager RaggedTensor) as a flat numpy array,
    and the ``[start, stop)`` positions in it of each document (a row of the first axis)."""
    if isinstance(data, RaggedTensor):
        splits = data.row_splits.numpy()
        inner = data.values
        while isinstance(inner, RaggedTensor):
            splits = inner.row_splits.numpy()[splits]
            inner = inner.values
        return np.asarray(inner.numpy()).reshape(-1), splits
    a = np.asarray(data)
    if a.ndim <= 1:
        a = a.reshape(1, -1)
    per = int(np.prod(a.shape[1:]))
    return a.reshape(-1), np.arange(a.shape[0] + 1) * per


def listify(x):
    """A vocabulary or weights (tensor, array, tuple) as a list, for a config."""
    if isinstance(x, Tensor):
        x = x.numpy()
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, tuple):
        x = list(x)
    if isinstance(x, list):
        return [v.decode("utf-8") if isinstance(v, bytes) else v for v in x]
    return x


def adapt_batches(data, steps, dtype):
    """The batches ``adapt`` reads from ``data``, as Keras does: each batch of a Dataset (or an
    iterable), or one batch of an array, list or tensor, whose rows (elements of a 1-D one)
    are documents."""
    if isinstance(data, _data.Dataset):
        batches = data if steps is None else itertools.islice(data, steps)
        return (b[0] if isinstance(b, tuple) else b for b in batches)
    if isinstance(data, (list, tuple, np.ndarray, Tensor, RaggedTensor)):
        if not isinstance(data, RaggedTensor):
            data = _o.convert_to_tensor(data) if dtype is None else _to_dtype(data, dtype)
            if len(data.shape) == 1:
                data = _o.expand_dims(data, -1)
        return [data]
    if hasattr(data, "__iter__"):
        return (b[0] if isinstance(b, tuple) else b for b in data)
    raise TypeError(f"adapt: unsupported data of type {type(data).__name__}; pass a tf.data.Dataset, a "
                    "NumPy array, a list, a tensor or an iterable of batches")


def _to_dtype(x, dtype):
    """``x`` as a tensor of ``dtype`` ('string' or 'int64'); numbers are cast to int64."""
    t = x if isinstance(x, Tensor) else _o.convert_to_tensor(x, dtype_hint=dtype)
    if dtype == "string":
        if t.dtype.name != "string":
            raise TypeError(f"Expected a string tensor, got a {t.dtype.name} tensor of shape "
                            f"{tuple(t.shape)}")
        return t
    if t.dtype.name == "string":
        raise TypeError(f"Expected an integer tensor, got a string tensor of shape {tuple(t.shape)}")
    return t if t.dtype.name == "int64" else _o.cast(t, "int64")


# ----------------------------------------------------------------------------- IndexLookup


class IndexLookup(Layer):
    """The machinery shared by ``StringLookup`` and ``IntegerLookup`` (not exported: use
    those). Indices: ``[mask]`` (only in ``'int'`` mode with a ``mask_token``), then
    ``num_oov_indices`` OOV indices, then the vocabulary's tokens."""

    _vocabulary_dtype = "string"
    _encoding = "utf-8"
    # The vocabulary's containers hold no variables: the variable walks need not read them.
    _TF_MODULE_IGNORED_PROPERTIES = frozenset(("_tokens", "_table", "_inverse", "_counts", "_doc_counts",
                                               "_config_vocab", "_config_idf"))

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, name=None, **kwargs):
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"If set, `max_tokens` must be greater than 1. Received: "
                             f"max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"If pad_to_max_tokens is True, must set `max_tokens`. Received: "
                             f"max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError(f"`num_oov_indices` must be greater than or equal to 0. Received: "
                             f"num_oov_indices={num_oov_indices}")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if output_mode not in _MODES:
            raise ValueError(f"Unknown value for `output_mode`. Allowed values are {list(_MODES)}. Received: "
                             f"output_mode={output_mode!r}")
        if invert and output_mode != "int":
            raise ValueError(f"`output_mode` must be `'int'` when `invert` is true. Received: "
                             f"output_mode={output_mode}")
        if sparse and output_mode == "int":
            raise ValueError("`sparse` may only be true if `output_mode` is `'one_hot'`, `'multi_hot'`, "
                             f"`'count'` or `'tf_idf'`. Received: sparse={sparse} and "
                             f"output_mode={output_mode}")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError("`idf_weights` should only be set if `output_mode` is `'tf_idf'`. Received: "
                             f"idf_weights={idf_weights} and output_mode={output_mode}")
        frozen = kwargs.pop("vocabulary_size", None)
        has_input = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        trainable = kwargs.pop("trainable", True)
        kwargs.pop("dtype", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword argument(s): {kwargs}")
        super().__init__(trainable=trainable, name=name)
        self.built = True  # no weights; inputs may be ragged
        self.max_tokens, self.num_oov_indices = max_tokens, int(num_oov_indices)
        self.mask_token, self.oov_token = mask_token, oov_token
        self.invert, self.output_mode, self.sparse = bool(invert), output_mode, bool(sparse)
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.vocabulary_dtype = self._vocabulary_dtype
        self._has_input_vocabulary = bool(has_input)
        self._frozen_vocab_size = frozen
        self._called = False
        self._tokens: list = []
        self._table: dict = {}
        self._idf = None
        self._config_vocab = self._config_idf = None
        if output_mode == "tf_idf" and has_input and vocabulary is not None and idf_weights is None:
            raise ValueError("When specifying the `vocabulary` argument, in TF-IDF output mode, the "
                             "`idf_weights` argument must also be provided.")
        self.reset_state()
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # -- tokens as stored: bytes for strings, ints for integers -----------------------------

    def _key(self, token):
        if token is None:
            return None
        if self.vocabulary_dtype == "string":
            return token.encode(self._encoding) if isinstance(token, str) else bytes(token)
        return int(token)

    def _show(self, token):
        if self.vocabulary_dtype == "string" and isinstance(token, bytes):
            return token.decode(self._encoding)
        return token

    def _oov_value(self):
        """What an OOV index maps to, inverted."""
        if self.oov_token is None:
            return b"" if self.vocabulary_dtype == "string" else -1
        return self._key(self.oov_token)

    def _oov_start_index(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self):
        return self._oov_start_index() + self.num_oov_indices

    # -- the vocabulary -------------------------------------------------------------------

    def vocabulary_size(self):
        """The size of the vocabulary, mask and OOV indices included."""
        return len(self._tokens) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary: a term's index in it is its index in the layer's output (with
        ``include_special_tokens``; else the mask and OOV tokens are left out)."""
        vocab = [self.oov_token] * self._token_start_index() + [self._show(t) for t in self._tokens]
        if self.mask_token is not None and self.output_mode == "int":
            vocab[0] = self.mask_token
        return vocab if include_special_tokens else vocab[self._token_start_index():]

    def _read_vocabulary(self, vocabulary):
        if isinstance(vocabulary, str):
            with open(vocabulary, encoding=self._encoding) as f:
                lines = f.read().splitlines()
            while lines and lines[-1] == "":
                lines.pop()
            return [self._key(v) for v in lines]
        if isinstance(vocabulary, (Tensor, np.ndarray)):
            vocabulary = np.asarray(vocabulary).reshape(-1).tolist()
        return [self._key(v) for v in vocabulary]

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (a list, tuple, 1-D array or tensor, or the path of a file of one
        term per line), with ``idf_weights`` in ``'tf_idf'`` mode, replacing any. It may start
        with the mask and OOV tokens (exactly those, in that order), else they are added."""
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
            if isinstance(vocabulary, str):
                raise ValueError("output_mode `'tf_idf'` does not support loading a vocabulary from file.")
        elif idf_weights is not None:
            raise ValueError("`idf_weights` should only be set if output_mode is `'tf_idf'`. Received: "
                             f"output_mode={self.output_mode} and idf_weights={idf_weights}")
        if isinstance(vocabulary, str) and not os.path.exists(vocabulary):
            raise ValueError(f"Vocabulary file {vocabulary} does not exist.")
        vocab = self._read_vocabulary(vocabulary)
        if not vocab:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary={vocabulary}")
        start = self._token_start_index()
        special = [self._key(self.mask_token)] * self._oov_start_index() + \
            [self._key(self.oov_token)] * self.num_oov_indices
        found_special = vocab[:start] == special
        tokens = vocab[start:] if found_special else vocab
        repeated = [t for t, c in collections.Counter(tokens).items() if c > 1]
        if repeated:
            raise ValueError("The passed vocabulary has at least one repeated term. Please uniquify your "
                             f"dataset. The repeated terms are: {[self._show(t) for t in repeated]}")
        shown_special = [self._show(t) for t in special]
        reserved = (("mask_token", self.mask_token, True), ("oov_token", self.oov_token, self.invert))
        for what, token, check in reserved:
            if token is not None and check and self._key(token) in tokens:
                at = len(vocab) - 1 - vocab[::-1].index(self._key(token))
                raise ValueError(
                    f"Found reserved {what.split('_')[0]} token at unexpected location in `vocabulary`. "
                    "Note that passed `vocabulary` does not need to include the OOV and mask tokens. "
                    "Either remove all mask and OOV tokens, or include them only at the start of the "
                    f"`vocabulary` in precisely this order: {shown_special}. Received: {what}={token} "
                    f"at vocabulary index {at}")
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ValueError("Attempted to set a vocabulary larger than the maximum vocab size. Received "
                             f"vocabulary size is {start + len(tokens)}; `max_tokens` is {self.max_tokens}.")
        if self.output_mode == "tf_idf":
            idf = np.asarray(listify(idf_weights), dtype=np.float64)
            if idf.ndim != 1:
                raise ValueError(f"TF-IDF data must be a 1-index array. Received: type(idf_weights)="
                                 f"{type(idf_weights)}")
            if len(idf) != len(vocab):
                raise ValueError(f"`idf_weights` must be the same length as vocabulary. len(idf_weights) is "
                                 f"{len(idf)}; len(vocabulary) is {len(vocab)}")
            front = 0 if found_special else start
            self._set_idf(np.concatenate([np.full(front, np.mean(idf)), idf]))
        self._set_tokens(tokens)
        self._config_vocab = [self._show(t) for t in vocab]
        self._config_idf = None if idf_weights is None else [float(w) for w in listify(idf_weights)]

    def _set_idf(self, idf):
        back = self.max_tokens - len(idf) if self.pad_to_max_tokens else 0
        self._idf = np.concatenate([idf, np.zeros(max(back, 0))]).astype(np.float32)

    def _set_tokens(self, tokens):
        size = self._token_start_index() + len(tokens)
        fixed = self.output_mode != "int" and not self.pad_to_max_tokens
        if fixed and self._called and self._frozen_vocab_size is not None and size != self._frozen_vocab_size:
            raise RuntimeError(f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, "
                               "the vocabulary size cannot be changed after the layer is called. Old vocab "
                               f"size is {self._frozen_vocab_size}, new vocab size is {size}")
        start = self._token_start_index()
        self._tokens = list(tokens)
        self._table = {t: i + start for i, t in enumerate(self._tokens)}
        self._frozen_vocab_size = size
        self._inverse = np.empty(size, dtype=object if self.vocabulary_dtype == "string" else np.int64)
        self._inverse[:] = [self._oov_value()] * start + self._tokens
        if self.vocabulary_dtype == "int64" and self._tokens:
            order = np.argsort(np.asarray(self._tokens, np.int64), kind="stable")
            self._sorted_keys = np.asarray(self._tokens, np.int64)[order]
            self._sorted_ids = order.astype(np.int64) + start

    # -- adapt ----------------------------------------------------------------------------

    def reset_state(self):
        """Forgets the token counts gathered by ``update_state``."""
        self._counts = collections.Counter()
        self._doc_counts = collections.Counter()
        self._num_documents = 0

    def adapt(self, data, steps=None):
        """Learns the vocabulary from ``data`` (a batched ``tf.data.Dataset``, an array, a list,
        a tensor or an iterable of batches; ``steps`` batches of a Dataset at most): tokens
        sorted by count, ties by the tokens themselves (high to low), cut to ``max_tokens``."""
        self.reset_state()
        for batch in adapt_batches(data, steps, self.vocabulary_dtype):
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data):
        """Counts the tokens of one batch (each row a document, for ``'tf_idf'``)."""
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static vocabulary via "
                             "`vocabulary` argument or `set_vocabulary()` method.")
        if isinstance(data, RaggedTensor):
            flat, bounds = _flat_docs(data)
        else:
            t = _to_dtype(data, self.vocabulary_dtype)
            flat, bounds = _flat_docs(t.numpy() if len(t.shape) else t.numpy().reshape(1))
        keys = flat.tolist()
        self._counts.update(keys)
        if self.output_mode == "tf_idf":
            for a, b in zip(bounds[:-1], bounds[1:]):
                self._doc_counts.update(set(keys[a:b]))
            self._num_documents += len(bounds) - 1

    def finalize_state(self):
        """Builds the vocabulary from the counts (``adapt`` calls it)."""
        if self._has_input_vocabulary or not self._counts:
            return
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                self._counts.pop(self._key(special), None)
        ranked = sorted(self._counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
        if self.max_tokens:
            ranked = ranked[:self.max_tokens - self._token_start_index()]
        tokens = [t for t, _ in ranked]
        if self.output_mode == "tf_idf":
            n = self._num_documents
            idf = np.array([math.log(1 + n / (1 + self._doc_counts[t])) for t in tokens], np.float32)
            mean = float(np.mean(idf)) if len(idf) else 0.0
            self._set_idf(np.concatenate([np.full(self._token_start_index(), mean), idf]))
        self._set_tokens(tokens)
        # (with the OOV tokens when there are IDF weights: theirs are part of the config)
        self._config_vocab = self.get_vocabulary(include_special_tokens=self._idf is not None)
        self._config_idf = None if self._idf is None else self._idf[:self.vocabulary_size()].tolist()
        self.reset_state()

    # -- the lookup -----------------------------------------------------------------------

    def _lookup_array(self, a: np.ndarray) -> np.ndarray:
        """The indices of the tokens of ``a`` (or the tokens of the indices, inverted)."""
        flat = a.reshape(-1)
        if self.invert:
            idx = flat.astype(np.int64)
            inside = (idx >= 0) & (idx < len(self._inverse))
            out = np.empty(len(idx), dtype=self._inverse.dtype)
            out[:] = self._oov_value()
            out[inside] = self._inverse[idx[inside]]
            if self.mask_token is not None:
                out[idx == 0] = self._key(self.mask_token)
            return out.reshape(a.shape)
        if self.vocabulary_dtype == "string":
            get = self._table.get
            ids = np.fromiter((get(k, -1) for k in flat.tolist()), np.int64, count=len(flat))
        elif self._tokens:
            pos = np.minimum(np.searchsorted(self._sorted_keys, flat), len(self._sorted_keys) - 1)
            ids = np.where(self._sorted_keys[pos] == flat, self._sorted_ids[pos], -1)
        else:
            ids = np.full(len(flat), -1, np.int64)
        missing = ids < 0
        masked = np.zeros(len(flat), bool)
        if self.mask_token is not None:
            masked = np.asarray(flat == self._key(self.mask_token), bool).reshape(-1)
        oov = missing & ~masked
        if self.num_oov_indices == 0 and oov.any():
            shown = [self._show(k) for k in flat[oov].tolist()]
            raise InvalidArgumentError("When `num_oov_indices=0` all inputs should be in vocabulary, found "
                                       f"OOV values {shown}, consider setting `num_oov_indices=1`.")
        if self.num_oov_indices == 1:
            ids[oov] = self._oov_start_index()
        elif self.num_oov_indices > 1 and oov.any():
            if self.vocabulary_dtype == "string":
                buckets = [fingerprint64(k) % self.num_oov_indices for k in flat[oov].tolist()]
            else:
                buckets = np.mod(flat[oov], self.num_oov_indices)
            ids[oov] = np.asarray(buckets, np.int64) + self._oov_start_index()
        ids[masked] = 0 if self.output_mode == "int" else -1  # -1: dropped by the encodings
        return ids.reshape(a.shape)

    def _lookup_dense(self, x: Tensor) -> Tensor:
        def run(t):
            out = self._lookup_array(np.asarray(t.numpy()))
            return [_rstf.constant(np.ascontiguousarray(out), None, None)]
        return on_host("LookupTableFindV2", run, [x])[0]

    def _input(self, inputs):
        dtype = "int64" if self.invert else self.vocabulary_dtype
        if isinstance(inputs, RaggedTensor):
            return inputs.with_flat_values(_to_dtype(inputs.flat_values, dtype))
        return _to_dtype(inputs, dtype)

    def call(self, inputs):
        self._called = True
        x = self._input(inputs)
        if self.output_mode != "int" and not self.pad_to_max_tokens and self._frozen_vocab_size is None:
            raise RuntimeError(f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, "
                               "you must set the layer's vocabulary before calling it. Either pass a "
                               "`vocabulary` argument to the layer, or call `adapt` with some sample data.")
        if isinstance(x, RaggedTensor):
            ids = x.with_flat_values(self._lookup_dense(x.flat_values))
        else:
            scalar = len(x.shape) == 0
            ids = self._lookup_dense(_o.reshape(x, [1]) if scalar else x)
            if self.output_mode == "int" and scalar:
                ids = _o.reshape(ids, [])
        if self.output_mode == "int":
            return ids
        out = self._encode(ids)
        if self.sparse:
            if _is_traced(out):
                raise NotImplementedError(f"{type(self).__name__}: `sparse=True` outputs are not supported "
                                          "inside traced functions (tf.function, Model.fit)")
            out = _sparse.from_dense(out)
        return out

    def _encode(self, ids):
        """``'one_hot'``, ``'multi_hot'``, ``'count'`` or ``'tf_idf'`` vectors (float32) of
        the indices (a mask, -1, gives none)."""
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        if isinstance(ids, RaggedTensor):
            if self.output_mode == "one_hot":
                return ids.with_flat_values(_o.one_hot(ids.flat_values, depth, dtype="float32"))
            if ids.ragged_rank > 1 or len(ids.shape) > 2:
                raise ValueError(f"output_mode={self.output_mode!r} takes ragged inputs of rank 2 at most. "
                                 f"Received: shape={ids.shape}")
            ids = ids.to_tensor(default_value=-1)
        rank = len(ids.shape)
        if self.output_mode == "one_hot":
            if rank > 1 and ids.shape[-1] == 1:
                ids = _o.squeeze(ids, axis=-1)
            return _o.one_hot(ids, depth, dtype="float32")
        if rank > 2 and self.output_mode != "multi_hot":
            raise ValueError("When output_mode is anything other than `'multi_hot', 'one_hot', or 'int'`, "
                             f"the rank must be 2 or less. Received output_mode: {self.output_mode} and "
                             f"input shape: {tuple(ids.shape)}, which would result in output rank {rank}.")
        hot = _o.one_hot(ids, depth, dtype="float32")
        if self.output_mode == "multi_hot":
            return _o.reduce_max(hot, axis=-2)
        counts = _o.reduce_sum(hot, axis=-2)
        if self.output_mode == "tf_idf":
            counts = counts * _o.constant(self._idf[:depth])
        return counts

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        if self.output_mode == "one_hot":
            return (shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape) + (depth,)
        return shape[:-1] + (depth,)

    # -- config ---------------------------------------------------------------------------

    def get_config(self):
        """The layer's arguments, with the vocabulary (and IDF weights) it holds: a layer made
        from this config (``from_config``) maps tokens as this one."""
        return {
            "name": self.name, "trainable": self.trainable, "dtype": self.dtype,
            "invert": self.invert, "max_tokens": self.max_tokens, "num_oov_indices": self.num_oov_indices,
            "oov_token": self.oov_token, "mask_token": self.mask_token, "output_mode": self.output_mode,
            "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary_dtype": self.vocabulary_dtype, "idf_weights": self._config_idf,
            "vocabulary": self._config_vocab, "vocabulary_size": self._frozen_vocab_size,
        }

    @classmethod
    def from_config(cls, config):
        """The layer of a ``get_config`` dict. A vocabulary given as a file path is refused:
        configs come from files, and a file must not make the layer read others."""
        config = dict(config)
        if isinstance(config.get("vocabulary"), str):
            raise ValueError(FILE_REFUSED.format(config["vocabulary"]))
        return cls(**config)


class StringLookup(IndexLookup):
    """Maps strings to integer indices from a vocabulary (``adapt``ed or given): index 0 for
    out-of-vocabulary strings by default (``num_oov_indices`` OOV indices, strings hashed
    among them), ``mask_token`` (if set) to 0 before them in ``'int'`` mode. ``invert=True``
    maps indices back to strings. ``output_mode``: ``'int'``, ``'one_hot'``, ``'multi_hot'``,
    ``'count'`` or ``'tf_idf'`` (float32 vectors the size of the vocabulary; the last axis of
    the input holds one sample's tokens).

    >>> import rstf as tf
    >>> layer = tf.keras.layers.StringLookup(vocabulary=["a", "b", "c", "d"])
    >>> layer([["a", "c", "d"], ["d", "z", "b"]]).numpy()
    array([[1, 3, 4],
           [4, 0, 2]])
    >>> inverse = tf.keras.layers.StringLookup(vocabulary=["a", "b", "c", "d"], invert=True)
    >>> inverse([[1, 3, 4], [4, 0, 2]]).numpy()
    array([[b'a', b'c', b'd'],
           [b'd', b'[UNK]', b'b']], dtype=object)
    >>> counts = tf.keras.layers.StringLookup(vocabulary=["a", "b", "c", "d"], output_mode="count")
    >>> counts([["a", "c", "d", "d"], ["d", "z", "b", "z"]]).numpy()
    array([[0., 1., 0., 1., 2.],
           [2., 0., 1., 0., 1.]], dtype=float32)
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False,
                 sparse=False, encoding="utf-8", name=None, **kwargs):
        kwargs.pop("vocabulary_dtype", None)
        self._encoding = encoding
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, sparse=sparse, pad_to_max_tokens=pad_to_max_tokens,
                         name=name, **kwargs)
        self.encoding = encoding

    def get_config(self):
        config = super().get_config()
        del config["vocabulary_dtype"]
        config["encoding"] = self.encoding
        return config


class IntegerLookup(IndexLookup):
    """``StringLookup`` for integer tokens (int64): OOV tokens are -1 (``oov_token``) when
    inverted, and go to OOV index ``token % num_oov_indices``.

    >>> import numpy as np, rstf as tf
    >>> layer = tf.keras.layers.IntegerLookup(vocabulary=[12, 36, 1138, 42])
    >>> layer(np.array([[12, 1138, 42], [42, 1000, 36]])).numpy()
    array([[1, 3, 4],
           [4, 0, 2]])
    """

    _vocabulary_dtype = "int64"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, vocabulary=None,
                 vocabulary_dtype="int64", idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, name=None, **kwargs):
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError("If `max_tokens` is set for `IntegerLookup`, it must be greater than 1. "
                             f"Received: max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError("The value of `num_oov_indices` argument for `IntegerLookup` must >= 0. "
                             f"Received: num_oov_indices={num_oov_indices}")
        if vocabulary_dtype != "int64":
            raise ValueError(f"Only `vocabulary_dtype='int64'` is supported at this time. Received: "
                             f"vocabulary_dtype={vocabulary_dtype}")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, sparse=sparse, pad_to_max_tokens=pad_to_max_tokens,
                         name=name, **kwargs)

    def get_config(self):
        config = super().get_config()
        for key in ("oov_token", "mask_token"):
            if config[key] is not None:
                config[key] = int(config[key])
        if config["vocabulary"] is not None:
            config["vocabulary"] = [int(v) for v in config["vocabulary"]]
        return config
