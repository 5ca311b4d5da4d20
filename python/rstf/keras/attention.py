"""Keras attention layers (``rstf.keras.layers``): ``MultiHeadAttention`` (Keras 3's weight
shapes: query/key/value kernels ``[dim, num_heads, key_dim]``, output kernel
``[num_heads, value_dim, dim]``), ``Attention`` (dot-product or concat scores) and
``AdditiveAttention``, composed of ``einsum``, ``matmul`` and ``softmax``.

>>> import numpy as np, rstf as tf
>>> mha = tf.keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
>>> x = np.ones((1, 4, 5), "float32")
>>> out, scores = mha(x, x, return_attention_scores=True)
>>> out.shape, scores.shape
(TensorShape([1, 4, 5]), TensorShape([1, 2, 4, 4]))
"""

from __future__ import annotations

import math
import string

import numpy as np

from .. import _ops as _o
from .. import nn
from .. import random as _random
from .._einsum import einsum
from . import initializers
from .base_layer import Layer

_LETTERS = string.ascii_lowercase


def _large_negative(dtype):
    return -3e4 if dtype.name == "float16" else -1e9


def _masked_softmax(scores, mask, axes):
    """Keras' ``Softmax`` with a boolean mask: masked entries get a large negative logit, and
    zero probability."""
    keep = None
    if mask is not None:
        keep = _o.cast(mask, scores.dtype)
        scores = scores + (1.0 - keep) * _large_negative(scores.dtype)
    if len(axes) == 1:
        probs = nn.softmax(scores, axis=axes[0])
    else:
        probs = _o.exp(scores - _o.reduce_logsumexp(scores, axis=list(axes), keepdims=True))
    return probs if keep is None else probs * keep


def _dropout(x, rate, seed, training):
    if not training or rate <= 0.0:
        return x
    keep = _random.uniform(list(x.shape), dtype=x.dtype, seed=seed) >= rate
    return _o.where(keep, x / (1.0 - rate), _o.zeros_like(x))


def _causal_mask(q_len, v_len):
    """``[1, T, S]``: query position ``i`` sees key positions ``j <= i``."""
    return _o.convert_to_tensor(np.tril(np.ones((q_len, v_len), dtype=bool))[None])


def _proj_equation(free_dims, bound_dims, output_dims):
    """The einsum of a projection (Keras' ``_build_proj_equation``): the equation, the bias
    axes and the output rank."""
    letters = iter(_LETTERS)
    free = "".join(next(letters) for _ in range(free_dims))
    bound = "".join(next(letters) for _ in range(bound_dims))
    out = "".join(next(letters) for _ in range(output_dims))
    return f"{free}{bound},{bound}{out}->{free}{out}", out, free_dims + output_dims


def _attention_equations(rank, attn_axes):
    """The einsums of the scores and of the combination (Keras' ``_build_attention_equation``)
    for projected tensors of ``rank`` (``[batch..., attention axes..., heads, dim]``)."""
    target = _LETTERS[:rank]
    batch_dims = [i for i in range(rank) if i not in attn_axes and i != rank - 1]
    offset, source = rank, ""
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += _LETTERS[offset]
            offset += 1
    product = ("".join(target[i] for i in batch_dims) + "".join(target[i] for i in attn_axes)
               + "".join(source[i] for i in attn_axes))
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


class _EinsumDense(Layer):
    """``einsum(equation, inputs, kernel) + bias``: the projections of ``MultiHeadAttention``."""

    def __init__(self, equation, kernel_shape, bias_shape, in_dims, kernel_initializer, bias_initializer,
                 **kwargs):
        super().__init__(**kwargs)
        self.equation = equation
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel = self.add_weight("kernel", kernel_shape,
                                      initializer=self._flat_init(kernel_shape, in_dims))
        self.bias = (self.add_weight("bias", bias_shape, initializer=bias_initializer)
                     if bias_shape is not None else None)
        self.built = True

    def _flat_init(self, shape, in_dims):
        # A named initializer sees the kernel as [fan_in, fan_out] (Keras' input and output axes).
        if not isinstance(self.kernel_initializer, str):
            return self.kernel_initializer
        init = initializers.get(self.kernel_initializer)
        flat = [math.prod(shape[:in_dims]), math.prod(shape[in_dims:])]
        return lambda s, dtype="float32", **kw: _o.reshape(init(flat, dtype=dtype), list(s))

    def call(self, inputs):
        y = einsum(self.equation, inputs, self.kernel)
        return y if self.bias is None else y + self.bias


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al.), as Keras 3: ``call(query, value, key=None,
    attention_mask=None, return_attention_scores=False, training=None, use_causal_mask=False)``;
    ``attention_mask`` ``[B, T, S]`` is True where query ``t`` may attend to key ``s``. Queries
    are scaled by ``1 / sqrt(key_dim)``; ``dropout`` applies to the attention probabilities
    when training.

    >>> import rstf as tf
    >>> mha = tf.keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, value_dim=3)
    >>> mha(tf.ones([2, 5, 6]), tf.ones([2, 7, 8])).shape
    TensorShape([2, 5, 6])
    >>> [tuple(w.shape) for w in mha.weights]
    [(6, 2, 4), (2, 4), (8, 2, 4), (2, 4), (8, 2, 3), (2, 3), (2, 3, 6), (6,)]
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 seed=None, **kwargs):
        for key in ("kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                    "bias_constraint", "sliding_window", "flash_attention"):
            if kwargs.pop(key, None) is not None:
                raise NotImplementedError(f"MultiHeadAttention: `{key}` is not supported by rstf yet")
        if kwargs.pop("use_gate", False):
            raise NotImplementedError("MultiHeadAttention: `use_gate` is not supported by rstf yet")
        if not isinstance(num_heads, int) or num_heads <= 0:
            raise ValueError("Received an invalid value for argument `num_heads`, expected a positive "
                             f"integer. Received: num_heads={num_heads}")
        if not isinstance(key_dim, int) or key_dim <= 0:
            raise ValueError("Received an invalid value for argument `key_dim`, expected a positive integer. "
                             f"Received: key_dim={key_dim}")
        if value_dim is not None and (not isinstance(value_dim, int) or value_dim <= 0):
            raise ValueError("Received an invalid value for argument `value_dim`, expected a positive "
                             f"integer or `None`. Received: value_dim={value_dim}")
        super().__init__(**kwargs)
        self.num_heads, self.key_dim = num_heads, key_dim
        self.value_dim = value_dim if value_dim else key_dim
        self.dropout, self.use_bias, self.seed = float(dropout), bool(use_bias), seed
        if output_shape:
            output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        self._output_shape_arg = output_shape or None
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(f"`attention_axes` must be an int, list, or tuple.Received: "
                             f"attention_axes={attention_axes}")
        self.attention_axes = None if attention_axes is None else tuple(attention_axes)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self._dense = None  # [query, key, value, attention_output], made from the first call's shapes

    @property
    def query_dense(self):
        return self._dense and self._dense[0]

    @property
    def key_dense(self):
        return self._dense and self._dense[1]

    @property
    def value_dense(self):
        return self._dense and self._dense[2]

    @property
    def output_dense(self):
        return self._dense and self._dense[3]

    def build(self, query_shape, value_shape=None, key_shape=None):
        """Creates the weights for these input shapes (the first call does it when not given)."""
        if value_shape is not None and self._dense is None:
            self._make(tuple(query_shape), tuple(value_shape), tuple(key_shape or value_shape))
        self.built = True

    def _make(self, q_shape, v_shape, k_shape):
        bias = self.use_bias
        kw = {"kernel_initializer": self.kernel_initializer, "bias_initializer": self.bias_initializer}

        def proj(shape, dim, name):
            eq, _, _ = _proj_equation(len(shape) - 1, 1, 2)
            return _EinsumDense(eq, [shape[-1], self.num_heads, dim], [self.num_heads, dim] if bias else None,
                                1, name=name, **kw)

        layers = [proj(q_shape, self.key_dim, "query"), proj(k_shape, self.key_dim, "key"),
                  proj(v_shape, self.value_dim, "value")]
        out_shape = list(self._output_shape_arg or (q_shape[-1],))
        eq, _, _ = _proj_equation(len(q_shape) - 1, 2, len(out_shape))
        layers.append(_EinsumDense(eq, [self.num_heads, self.value_dim, *out_shape],
                                   out_shape if bias else None, 2, name="attention_output", **kw))
        rank = len(q_shape) + 1
        axes = tuple(range(1, rank - 2)) if self.attention_axes is None else tuple(
            a % (rank - 1) for a in self.attention_axes)
        self.__dict__["_axes"] = axes
        self.__dict__["_equations"] = _attention_equations(rank, axes)
        self._dense = layers

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None, use_causal_mask=False):
        query, value = _o.convert_to_tensor(query), _o.convert_to_tensor(value)
        key = value if key is None else _o.convert_to_tensor(key)
        if self._dense is None:
            self._make(tuple(query.shape), tuple(value.shape), tuple(key.shape))
        mask = self._attention_mask(query, value, query_mask, value_mask, key_mask, attention_mask,
                                    use_causal_mask)
        q_dense, k_dense, v_dense, o_dense = self._dense
        q = q_dense(query) * (1.0 / math.sqrt(float(self.key_dim)))
        k, v = k_dense(key), v_dense(value)
        dot_eq, combine_eq, scores_rank = self.__dict__["_equations"]
        scores = einsum(dot_eq, k, q)
        axes = self.__dict__["_axes"]
        if mask is not None:
            # [B, T, S] lines up with the trailing axes of the scores [B, N, T, S]
            for _ in range(len(scores.shape) - len(mask.shape)):
                mask = _o.expand_dims(mask, -len(axes) * 2 - 1)
        scores = _masked_softmax(scores, mask, tuple(range(scores_rank - len(axes), scores_rank)))
        dropped = _dropout(scores, self.dropout, self.seed, training)
        output = o_dense(einsum(combine_eq, dropped, v))
        if return_attention_scores:
            return output, scores
        return output

    def _attention_mask(self, query, value, query_mask, value_mask, key_mask, attention_mask,
                        use_causal_mask):
        """Keras' merge of the masks into one boolean ``[B, T, S]`` (or broadcastable) mask."""
        mask = None

        def both(a, b):
            return b if a is None else _o.logical_and(a, b)

        if query_mask is not None:
            mask = _o.expand_dims(_o.cast(query_mask, "bool"), -1)
        for m in (value_mask, key_mask):
            if m is not None:
                mask = both(mask, _o.expand_dims(_o.cast(m, "bool"), -2))
        if use_causal_mask:
            mask = both(mask, _causal_mask(query.shape[1], value.shape[1]))
        if attention_mask is not None:
            mask = both(_o.cast(attention_mask, "bool"), mask) if mask is not None else _o.cast(
                attention_mask, "bool")
        return mask

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        query_shape = tuple(query_shape)
        if self._output_shape_arg:
            return query_shape[:-1] + tuple(self._output_shape_arg)
        return query_shape


class Attention(Layer):
    """Dot-product attention (Luong style): ``call([query, value])`` or ``[query, value, key]``
    gives ``softmax(scores) @ value`` with ``scores = query @ key^T`` (times a learned scalar
    ``scale`` when ``use_scale``); ``score_mode='concat'`` scores
    ``sum(tanh(query + key))`` instead. ``mask=[query_mask, value_mask]`` (booleans) hides
    value positions and zeroes the masked query positions' outputs.

    >>> import rstf as tf
    >>> q = tf.constant([[[1.0, 0.0]]])
    >>> v = tf.constant([[[1.0, 0.0], [0.0, 1.0]]])
    >>> out, scores = tf.keras.layers.Attention()([q, v], return_attention_scores=True)
    >>> scores.numpy().round(4)
    array([[[0.7311, 0.2689]]], dtype=float32)
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.use_scale, self.score_mode = use_scale, score_mode
        self.dropout, self.seed = float(dropout), seed
        if score_mode not in ("dot", "concat"):
            raise ValueError("Invalid value for argument score_mode. Expected one of {'dot', 'concat'}. "
                             f"Received: score_mode={score_mode}")
        self.scale = None
        self.concat_score_weight = None
        self.__dict__["_made"] = False

    def build(self, input_shape):
        if input_shape is not None and len(input_shape) and isinstance(input_shape[0], (list, tuple)) \
                and not self._made:
            self._make(input_shape[0][-1])
        self.built = True

    def _make(self, dim):
        if self.use_scale:
            self.scale = self.add_weight("scale", [], initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight("concat_score_weight", [], initializer="ones")
        self.__dict__["_made"] = True

    def _scores(self, q, k):
        if self.score_mode == "dot":
            scores = _o.matmul(q, k, transpose_b=True)
            return scores if self.scale is None else scores * self.scale
        summed = _o.expand_dims(q, -2) + _o.expand_dims(k, -3)
        if self.scale is not None:
            summed = self.scale * summed
        return self.concat_score_weight * _o.reduce_sum(_o.tanh(summed), axis=-1)

    def _validate(self, inputs, mask):
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)):
            shape = tuple(inputs.shape) if hasattr(inputs, "shape") else inputs
            raise ValueError(f"{name} layer must be called on a list of inputs, namely [query, value] or "
                             f"[query, value, key]. Received: inputs={shape}.")
        if not 2 <= len(inputs) <= 3:
            raise ValueError(f"{name} layer accepts inputs list of length 2 or 3, namely [query, value] or "
                             f"[query, value, key]. Received length: {len(inputs)}.")
        if mask is not None:
            if not isinstance(mask, (list, tuple)):
                raise ValueError(f"{name} layer mask must be a list, namely [query_mask, value_mask]. "
                                 f"Received: mask={mask}.")
            if not 2 <= len(mask) <= 3:
                raise ValueError(f"{name} layer accepts mask list of length 2 or 3. Received: "
                                 f"inputs={inputs}, mask={mask}.")

    def call(self, inputs, mask=None, training=None, return_attention_scores=False, use_causal_mask=False):
        self._validate(inputs, mask)
        q, v = _o.convert_to_tensor(inputs[0]), _o.convert_to_tensor(inputs[1])
        k = _o.convert_to_tensor(inputs[2]) if len(inputs) > 2 else v
        if not self._made:
            self._make(q.shape[-1])
        q_mask = mask[0] if mask else None
        v_mask = mask[1] if mask else None
        scores = self._scores(q, k)
        scores_mask = None if v_mask is None else _o.expand_dims(_o.cast(v_mask, "bool"), -2)
        if use_causal_mask:
            causal = _causal_mask(scores.shape[-2], scores.shape[-1])
            scores_mask = causal if scores_mask is None else _o.logical_and(scores_mask, causal)
        if scores_mask is not None:
            big = 65504.0 if scores.dtype.name == "float16" else 1.0e9
            scores = _o.where(scores_mask, scores, scores - big)
        weights = nn.softmax(scores, axis=-1)
        output = _o.matmul(_dropout(weights, self.dropout, self.seed, training), v)
        if q_mask is not None:
            output = _o.where(_o.expand_dims(_o.cast(q_mask, "bool"), -1), output, _o.zeros_like(output))
        if return_attention_scores:
            return output, weights
        return output

    def compute_mask(self, inputs, mask=None):
        self._validate(inputs, mask)
        return None if mask is None or mask[0] is None else _o.convert_to_tensor(mask[0])

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape[0])[:-1], tuple(input_shape[1])[-1])


class AdditiveAttention(Attention):
    """Additive attention (Bahdanau style): ``scores = sum(scale * tanh(query + key), -1)``
    with a learned ``scale`` vector ``[dim]`` when ``use_scale`` (the default).

    >>> import rstf as tf
    >>> layer = tf.keras.layers.AdditiveAttention()
    >>> layer([tf.ones([2, 3, 4]), tf.ones([2, 5, 4])]).shape, tuple(layer.scale.shape)
    (TensorShape([2, 3, 4]), (4,))
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def _make(self, dim):
        if self.use_scale:
            self.scale = self.add_weight("scale", [int(dim)], initializer="glorot_uniform")
        self.__dict__["_made"] = True

    def _scores(self, q, k):
        t = _o.tanh(_o.expand_dims(q, -2) + _o.expand_dims(k, -3))
        return _o.reduce_sum(t * self.scale if self.scale is not None else t, axis=-1)
