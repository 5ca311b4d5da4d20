"""``TextVectorization``: strings to sequences of token indices (or to ``multi_hot``,
``count`` and ``tf_idf`` vectors), with a vocabulary ``adapt``ed from text or given. It
standardizes (lower case, punctuation stripped, or a function), splits (at whitespace, into
characters, or a function), makes n-grams, then looks the tokens up with a ``StringLookup``
whose mask token ``''`` is index 0 and OOV token ``'[UNK]'`` index 1.

The layer runs eagerly on eager tensors (a ``tf.data`` map function runs eagerly). Inside a
traced function (``tf.function``, ``Model.fit`` on a model holding the layer) the whole layer is
one graph node that calls back into Python on each run, since splitting gives ragged rows whose
lengths are known only then; its output must then be dense: ``'int'`` output needs
``output_sequence_length`` (or ``split=None``), and ``ragged=True`` is eager only.

>>> import rstf as tf
>>> layer = tf.keras.layers.TextVectorization(output_sequence_length=4)
>>> layer.adapt(["foo bar", "bar baz", "baz bada boom"])
>>> layer.get_vocabulary()
['', '[UNK]', 'baz', 'bar', 'foo', 'boom', 'bada']
>>> layer([["foo qux bar"], ["qux baz"]]).numpy()
array([[4, 1, 3, 0],
       [1, 2, 0, 0]])
"""

from __future__ import annotations

import numpy as np

from .. import _ops as _o
from .. import _rstf
from .. import strings as _strings
from .._ragged_tensor import RaggedTensor
from .._rstf import Tensor
from .base_layer import Layer
from .index_lookup import FILE_REFUSED, StringLookup, adapt_batches, listify, on_host

__all__ = ["TextVectorization"]

_PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")
_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def _check_choice(value, allowed, arg):
    if value is None or callable(value) or value in allowed:
        return
    raise ValueError(f"Unknown value for `{arg}` argument of layer TextVectorization. Allowed values are: "
                     f"{list(allowed)}, None or a callable. Received: {arg}={value!r}")


def _ngram_rows(rows, widths):
    """The n-grams of each row of tokens (bytes), widths in turn, joined by spaces."""
    return [[b" ".join(row[i:i + w]) for w in widths for i in range(len(row) - w + 1)] for row in rows]


def ngrams(tokens, widths):
    """``tf.strings.ngrams(tokens, widths, separator=" ")`` for an eager tensor or RaggedTensor
    of tokens (along the last axis)."""
    if isinstance(tokens, RaggedTensor):
        if tokens.ragged_rank > 1:
            return tokens.with_values(ngrams(tokens.values, widths))
        rows = _ngram_rows(tokens.to_list(), widths)
        splits = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
        values = np.empty(int(splits[-1]), dtype=object)
        values[:] = [g for r in rows for g in r]
        return RaggedTensor.from_row_splits(_o.constant(values, dtype="string"), splits, validate=False)
    a = np.asarray(tokens.numpy())
    if a.ndim == 0:
        raise ValueError("ngrams: the tokens must have rank 1 or more")
    rows = _ngram_rows(a.reshape(int(np.prod(a.shape[:-1])), a.shape[-1]).tolist(), widths)
    n = sum(max(a.shape[-1] - w + 1, 0) for w in widths)
    out = np.empty((len(rows), n), dtype=object)
    if n and rows:
        out[:] = rows
    return _o.constant(out.reshape(a.shape[:-1] + (n,)), dtype="string")


class TextVectorization(Layer):
    """Maps strings to token indices, or to ``'multi_hot'``, ``'count'``, ``'tf_idf'``
    vectors (float32) over the vocabulary. ``standardize``: ``'lower_and_strip_punctuation'``,
    ``'lower'``, ``'strip_punctuation'``, None or a function of a string tensor; ``split``:
    ``'whitespace'``, ``'character'``, None or a function giving a RaggedTensor of tokens;
    ``ngrams``: an int n (1- to n-grams) or a tuple of widths. The input is a batch of strings
    (shape ``(batch,)`` or ``(batch, 1)``). ``'int'`` output is padded with 0 (or cut) to
    ``output_sequence_length``, else to the longest row; ``ragged=True`` keeps the rows.

    >>> import rstf as tf
    >>> layer = tf.keras.layers.TextVectorization(output_mode="multi_hot", max_tokens=4)
    >>> layer.adapt(["the cat sat", "the cat ran", "a dog ran"])
    >>> layer.get_vocabulary()
    ['[UNK]', 'the', 'ran', 'cat']
    >>> layer(["The cat, the dog."]).numpy()
    array([[1., 1., 0., 1.]], dtype=float32)
    """

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace",
                 ngrams=None, output_mode="int", output_sequence_length=None, pad_to_max_tokens=False,
                 vocabulary=None, idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None,
                 **kwargs):
        _check_choice(standardize, _STANDARDIZE, "standardize")
        _check_choice(split, _SPLIT, "split")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if output_mode not in _MODES:
            raise ValueError(f"Unknown value for `output_mode` argument of layer TextVectorization. Allowed "
                             f"values are: {list(_MODES)}. Received: output_mode={output_mode!r}")
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)
        if not (ngrams is None or isinstance(ngrams, int) and not isinstance(ngrams, bool)
                or isinstance(ngrams, tuple) and all(isinstance(n, int) for n in ngrams)):
            raise ValueError("`ngrams` must be None, an integer, or a tuple of integers. Received: "
                             f"ngrams={ngrams}")
        length = output_sequence_length
        if output_mode == "int" and not (length is None or isinstance(length, int)):
            raise ValueError("`output_sequence_length` must be either None or an integer when `output_mode` "
                             f"is 'int'. Received: output_sequence_length={length}")
        if output_mode != "int" and length is not None:
            raise ValueError("`output_sequence_length` must not be set if `output_mode` is not 'int'. "
                             f"Received output_sequence_length={length}.")
        if ragged and output_mode != "int":
            raise ValueError(f"`ragged` must not be true if `output_mode` is not `'int'`. Received: "
                             f"ragged={ragged} and output_mode={output_mode}")
        has_input = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        super().__init__(name=name, **kwargs)
        self.built = True  # no weights; the input is strings
        self._standardize, self._split, self._ngrams_arg = standardize, split, ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._output_mode, self._output_sequence_length = output_mode, output_sequence_length
        self._ragged, self._encoding = bool(ragged), encoding
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode, sparse=sparse,
            has_input_vocabulary=has_input, encoding=encoding, vocabulary_size=vocabulary_size)

    # -- the vocabulary -------------------------------------------------------------------

    def adapt(self, data, batch_size=None, steps=None):
        """Learns the vocabulary from ``data`` (a batched ``tf.data.Dataset`` of strings, a
        list or array of strings, a tensor, or an iterable of batches; ``steps`` batches of a
        Dataset at most): tokens sorted by count, ties by the tokens themselves (high to low),
        cut to ``max_tokens``."""
        self.reset_state()
        for batch in adapt_batches(data, steps, "string"):
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data):
        """Counts the tokens of one batch of strings."""
        self._lookup_layer.update_state(self._preprocess(data))

    def finalize_state(self):
        self._lookup_layer.finalize_state()

    def reset_state(self):
        self._lookup_layer.reset_state()

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary: a token's index in it is its index in the output (with
        ``include_special_tokens``; else the padding and OOV tokens are left out)."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        """The size of the vocabulary, padding and OOV tokens included."""
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (and IDF weights in ``'tf_idf'`` mode), replacing any."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    # -- the call -------------------------------------------------------------------------

    def _preprocess(self, inputs):
        if isinstance(inputs, RaggedTensor):
            raise TypeError("TextVectorization: the input must be a dense tensor of strings, got a "
                            "RaggedTensor")
        x = inputs if isinstance(inputs, Tensor) else _o.convert_to_tensor(inputs, dtype_hint="string")
        if x.dtype.name != "string":
            raise TypeError(f"TextVectorization: the input must be strings, got a {x.dtype.name} tensor of "
                            f"shape {tuple(x.shape)}")
        if self._standardize in ("lower", "lower_and_strip_punctuation"):
            x = _strings.lower(x)
        if self._standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            x = _strings.regex_replace(x, _PUNCTUATION, "")
        if callable(self._standardize):
            x = self._standardize(x)
        if self._split is not None:
            if len(x.shape) > 1:
                if x.shape[-1] != 1:
                    raise ValueError("When using `TextVectorization` to tokenize strings, the input rank "
                                     "must be 1 or the last shape dimension must be 1. Received: "
                                     f"inputs.shape={tuple(x.shape)} with rank={len(x.shape)}")
                x = _o.squeeze(x, axis=-1)
            if self._split == "whitespace":
                x = _strings.split(x)
            elif self._split == "character":
                x = _strings.unicode_split(x, "UTF-8")
            else:
                x = self._split(x)
        if self._ngrams is not None:
            x = ngrams(x, self._ngrams)
        return x

    def _eager_call(self, inputs):
        ids = self._lookup_layer.call(self._preprocess(inputs))
        if self._output_mode != "int" or self._ragged:
            return ids
        n = self._output_sequence_length
        if isinstance(ids, RaggedTensor):
            shape = [None] * len(ids.shape)
            shape[-1] = n
            return ids.to_tensor(default_value=0, shape=shape)
        if n is None or len(ids.shape) == 0:
            return ids
        have = int(ids.shape[-1])
        if have >= n:
            return ids[..., :n]
        return _o.pad(ids, [[0, 0]] * (len(ids.shape) - 1) + [[0, n - have]])

    def call(self, inputs):
        if not isinstance(inputs, (Tensor, RaggedTensor)):
            inputs = _o.convert_to_tensor(inputs, dtype_hint="string")
        if not (isinstance(inputs, Tensor) and _rstf.is_tracing() and _rstf.is_symbolic(inputs)):
            return self._eager_call(inputs)
        if self._ragged:
            raise ValueError("TextVectorization: `ragged=True` outputs are not supported inside traced "
                             "functions (tf.function, Model.fit); apply the layer eagerly, e.g. in a tf.data "
                             "map function")
        split = self._split is not None
        if split and (self._output_mode == "int" and self._output_sequence_length is None
                      or self._output_mode == "one_hot"):
            raise ValueError("TextVectorization: inside a traced function (tf.function, Model.fit) the "
                             "output must have a fixed shape: set `output_sequence_length` for "
                             "`output_mode='int'`, or apply the layer eagerly, e.g. in a tf.data map "
                             "function")

        def run(x):
            out = self._eager_call(x)
            if isinstance(out, RaggedTensor):
                raise ValueError("TextVectorization: the output is ragged; it must be dense inside a traced "
                                 "function")
            return [out]

        return on_host("TextVectorization", run, [inputs])[0]

    def compute_output_shape(self, input_shape):
        if self._output_mode == "int":
            return (tuple(input_shape)[0], self._output_sequence_length)
        shape = tuple(input_shape)
        if self._split is None:
            shape = shape + (1,) if len(shape) <= 1 else shape
        else:
            shape = shape + (None,)
        return self._lookup_layer.compute_output_shape(shape)

    # -- config ---------------------------------------------------------------------------

    def get_config(self):
        """The layer's arguments, with the vocabulary (and IDF weights) it holds."""
        lookup = self._lookup_layer
        return {
            "name": self.name, "trainable": self.trainable, "dtype": self.dtype,
            "max_tokens": lookup.max_tokens, "standardize": self._standardize, "split": self._split,
            "ngrams": self._ngrams_arg, "output_mode": self._output_mode,
            "output_sequence_length": self._output_sequence_length,
            "pad_to_max_tokens": lookup.pad_to_max_tokens,
            "sparse": lookup.sparse, "ragged": self._ragged, "vocabulary": listify(lookup._config_vocab),
            "idf_weights": listify(lookup._config_idf), "encoding": self._encoding,
            "vocabulary_size": self.vocabulary_size(),
        }

    @classmethod
    def from_config(cls, config):
        """The layer of a ``get_config`` dict (a vocabulary file path is refused, as
        ``StringLookup.from_config`` does)."""
        config = dict(config)
        if isinstance(config.get("vocabulary"), str):
            raise ValueError(FILE_REFUSED.format(config["vocabulary"]))
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)
