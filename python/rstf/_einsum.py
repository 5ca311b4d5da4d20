"""``einsum`` and ``tensordot`` (``rstf.linalg`` exports them): contractions composed from
transposes, reshapes and one batched matmul per pair of operands (so gradients, tracing and the
GPU come with those ops), never from a broadcast product holding every term. Also the small
conversion and error helpers that ``rstf.linalg`` shares.
"""

from __future__ import annotations

import builtins
import collections
import re

import numpy as np

from . import _args, _rstf
from . import _ops as _o
from ._rstf import Tensor


def _errors():
    from . import errors

    return errors


def _tensor(x, like=None) -> Tensor:
    """``x`` as a tensor; a value that is not one takes the dtype of ``like`` when given."""
    if _args._tensor_like(x):
        return _o.convert_to_tensor(x)
    if like is not None:
        return _o.convert_to_tensor(x, dtype=like.dtype)
    return _o.convert_to_tensor(x)


def _dims(shape) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def _same_dtype(op, tensors):
    """TensorFlow's refusal of operands of mixed dtypes (no implicit casts)."""
    for i, t in enumerate(tensors[1:], 1):
        if t.dtype != tensors[0].dtype:
            raise _errors().InvalidArgumentError(
                f"cannot compute {op} as input #{i}(zero-based) was expected to be a "
                f"{_args.tf_name(tensors[0].dtype)} tensor but is a {_args.tf_name(t.dtype)} tensor")


# ----------------------------------------------------------------------------- einsum

_EINSUM_DTYPES = ("float16", "bfloat16", "float32", "float64", "int32", "int64")


def _parse_einsum(equation, n):
    """``(input label strings, output label string, has ellipsis)`` as TensorFlow resolves them:
    the ellipsis is written ``0``; the implicit output is the labels appearing once, sorted."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a string, got {equation!r}")
    eq = equation.replace(" ", "")
    ellipsis = "..." in equation
    if ellipsis:
        if "0" in eq:
            raise ValueError(f'Invalid character "0" in equation: {equation}.')
        eq = eq.replace("...", "0")
    allowed = "a-zA-Z" + ("0" if ellipsis else "")
    m = re.match(f"^([{allowed},]*)(->[{allowed}]*)?$", eq)
    if not m:
        raise ValueError(f"Subscripts have incorrect format: {eq}")
    inputs = m.group(1).split(",")
    if len(inputs) != n:
        raise ValueError(f'Got {n} inputs for equation "{equation}", expecting {len(inputs)}')
    if m.group(2) is None:
        counts = collections.Counter(m.group(1))
        output = "".join(c for c in sorted(counts) if c != "," and counts[c] == 1)
    else:
        output = m.group(2)[2:]
    if len(set(output)) != len(output):
        raise ValueError(f"Output subscripts contain a label appearing more than once: {equation}")
    for c in output:
        if c != "0" and c not in m.group(1):
            raise ValueError(f"Output subscripts contain the label {c} not present in the input subscripts.")
    for labels in inputs:
        if labels.count("0") > 1:
            raise ValueError(f"Too many ellipses in input label {labels.replace('0', '...')}.")
    return inputs, output


def _einsum_labels(inputs, output, tensors):
    """Each operand's labels as a list (ellipsis dimensions become ``'#k'``, aligned on the
    right), the output's, and the size of every label (ellipsis sizes broadcast)."""
    errors = _errors()
    ell_rank = 0
    for i, (labels, t) in enumerate(zip(inputs, tensors)):
        named = len(labels) - labels.count("0")
        if "0" in labels:
            if t.ndim < named:
                raise errors.InvalidArgumentError(
                    f"Expected input {i} to have rank at least {named} but got: {t.ndim}")
            ell_rank = builtins.max(ell_rank, t.ndim - named)
        elif t.ndim != named:
            raise errors.InvalidArgumentError(f"Expected input {i} to have rank {named} but got: {t.ndim}")
    sizes: dict = {}
    ell_shapes = []
    lists = []
    for labels, t in zip(inputs, tensors):
        shape = list(t.shape)
        k = t.ndim - (len(labels) - labels.count("0"))
        full = []
        for c in labels:
            full += [f"#{p}" for p in builtins.range(ell_rank - k, ell_rank)] if c == "0" else [c]
        for axis, (label, d) in enumerate(zip(full, shape)):
            if label.startswith("#"):
                continue
            if label in sizes and sizes[label] != d:
                raise errors.InvalidArgumentError(
                    f"Expected dimension {sizes[label]} at axis {axis} of the input shaped {_dims(shape)} "
                    f"but got dimension {d}")
            sizes.setdefault(label, d)
        ell_shapes.append([1] * (ell_rank - k) + [d for lab, d in zip(full, shape) if lab.startswith("#")])
        lists.append(full)
    for p in builtins.range(ell_rank):
        ds = {s[p] for s in ell_shapes} - {1}
        if len(ds) > 1:
            raise errors.InvalidArgumentError(
                "Invalid broadcasting dimensions: " + " vs. ".join(_dims(s) for s in ell_shapes))
        sizes[f"#{p}"] = ds.pop() if ds else 1
    if "0" in output:
        out = []
        for c in output:
            out += [f"#{p}" for p in builtins.range(ell_rank)] if c == "0" else [c]
    else:
        if ell_rank:
            raise errors.InvalidArgumentError(
                f"Output contains {ell_rank} broadcasting dimension(s) but no ellipsis (...) was found in "
                "the output subscripts.")
        out = list(output)
    return lists, out, sizes


def _take_diagonals(t, labels):
    """Repeated labels of one operand replaced by their diagonal (one gather per label)."""
    for label in list(dict.fromkeys(labels)):
        where = [i for i, lab in enumerate(labels) if lab == label]
        if len(where) < 2:
            continue
        rest = [i for i in builtins.range(len(labels)) if i not in where]
        n = t.shape[where[0]]
        t = _rstf.transpose(t, rest + where)
        t = _rstf.reshape(t, [t.shape[i] for i in builtins.range(len(rest))] + [n ** len(where)])
        step = builtins.sum(n ** j for j in builtins.range(len(where)))
        idx = _rstf.constant(np.arange(n, dtype=np.int64) * step, None, None)
        t = _rstf.gather(t, idx, len(rest))
        labels = [labels[i] for i in rest] + [label]
    return t, labels


def _sum_out(t, labels, keep):
    """Sums over the labels not in ``keep``."""
    gone = [i for i, lab in enumerate(labels) if lab not in keep]
    if not gone:
        return t, labels
    return _rstf.reduce(t, "sum", gone, False), [lab for lab in labels if lab in keep]


def _permute(t, labels, order):
    perm = [labels.index(lab) for lab in order]
    return t if perm == list(builtins.range(len(perm))) else _rstf.transpose(t, perm)


def _contract(a, la, b, lb, keep):
    """The product of two operands summed over their shared labels that are not in ``keep``:
    one matmul with the kept shared labels as (broadcast) batch dimensions."""
    a, la = _sum_out(a, la, set(lb) | keep)
    b, lb = _sum_out(b, lb, set(la) | keep)
    batch = [lab for lab in la if lab in lb and lab in keep]
    inner = [lab for lab in la if lab in lb and lab not in keep]
    fa = [lab for lab in la if lab not in lb]
    fb = [lab for lab in lb if lab not in la]
    sa = dict(zip(la, a.shape))
    sb = dict(zip(lb, b.shape))
    if not inner:  # no sum: a broadcast product is the output itself
        a = _permute(a, la, batch + fa)
        a = _rstf.reshape(a, list(a.shape) + [1] * len(fb))
        b = _permute(b, lb, batch + fb)
        b = _rstf.reshape(b, [sb[lab] for lab in batch] + [1] * len(fa) + [sb[lab] for lab in fb])
        return _rstf.binary(a, b, "mul"), batch + fa + fb
    m = int(np.prod([sa[lab] for lab in fa], dtype=np.int64))
    n = int(np.prod([sb[lab] for lab in fb], dtype=np.int64))
    k = int(np.prod([sa[lab] for lab in inner], dtype=np.int64))
    a = _rstf.reshape(_permute(a, la, batch + fa + inner), [sa[lab] for lab in batch] + [m, k])
    b = _rstf.reshape(_permute(b, lb, batch + inner + fb), [sb[lab] for lab in batch] + [k, n])
    r = _rstf.matmul(a, b, False, False)
    shape = list(r.shape[:len(batch)]) + [sa[lab] for lab in fa] + [sb[lab] for lab in fb]
    return _rstf.reshape(r, shape), batch + fa + fb


def einsum(equation, *inputs, **kwargs) -> Tensor:
    """Tensor contraction over subscripts (``'ij,jk->ik'``), as ``numpy.einsum``: ``...`` for
    broadcast dimensions, an implicit output (the labels appearing once, sorted), repeated
    labels in one operand for diagonals and traces. Pairs of operands are contracted with one
    batched matmul each, the pair giving the smallest result first.

    >>> import rstf as tf
    >>> m = tf.reshape(tf.range(9.0), [3, 3])
    >>> tf.einsum("ii", m).numpy(), tf.einsum("ii->i", m).numpy()
    (np.float32(12.0), array([0., 4., 8.], dtype=float32))
    >>> tf.einsum("bij,bjk->bik", tf.ones([2, 3, 4]), tf.ones([2, 4, 5])).shape
    TensorShape([2, 3, 5])
    """
    bad = [k for k in kwargs if k not in ("name", "optimize")]
    if bad:
        raise TypeError(f"Invalid keyword arguments for einsum: {', '.join(bad)}. "
                        "Valid arguments: name, optimize, greedy.")
    spec_in, spec_out = _parse_einsum(equation, len(inputs))
    first = next((x for x in inputs if _args._tensor_like(x)), None)
    tensors = [_tensor(x, first) for x in inputs]
    _same_dtype("Einsum", tensors)
    if tensors and tensors[0].dtype.name not in _EINSUM_DTYPES:
        raise _errors().NotFoundError(
            f"Could not find device for node: {{{{node Einsum}}}} = Einsum[N={len(tensors)}, "
            f"T=DT_{tensors[0].dtype.name.upper()}, equation=\"{equation}\"]")
    lists, out, _ = _einsum_labels(spec_in, spec_out, tensors)
    ops = [_take_diagonals(t, labels) for t, labels in zip(tensors, lists)]
    keep_out = set(out)
    while len(ops) > 1:
        best = None
        for i in builtins.range(len(ops)):
            for j in builtins.range(i + 1, len(ops)):
                others = set(lab for k, (_, ls) in enumerate(ops) if k not in (i, j) for lab in ls)
                keep = keep_out | others
                sizes = dict(zip(ops[i][1], ops[i][0].shape))
                for lab, d in zip(ops[j][1], ops[j][0].shape):
                    sizes[lab] = builtins.max(d, sizes.get(lab, 1))
                size = np.prod([d for lab, d in sizes.items() if lab in keep], dtype=np.float64)
                if best is None or size < best[0]:
                    best = (size, i, j, keep)
        _, i, j, keep = best
        (a, la), (b, lb) = ops[i], ops[j]
        ops = [op for k, op in enumerate(ops) if k not in (i, j)] + [_contract(a, la, b, lb, keep)]
    t, labels = ops[0]
    t, labels = _sum_out(t, labels, keep_out)
    t = _permute(t, labels, out)
    return _rstf.identity(t) if any(t is x for x in tensors) else t


def tensordot(a, b, axes, name=None) -> Tensor:
    """Sums the products of ``a``'s and ``b``'s elements over the given axes: ``axes=N`` pairs
    the last ``N`` axes of ``a`` with the first ``N`` of ``b``; ``axes=[[a axes], [b axes]]``
    names them. The result has ``a``'s other axes then ``b``'s.

    >>> import rstf as tf
    >>> tf.tensordot(tf.ones([2, 3]), tf.ones([3, 4]), axes=1).shape
    TensorShape([2, 4])
    >>> tf.tensordot([1.0, 2.0], [3.0, 4.0], axes=0).numpy()
    array([[3., 4.],
           [6., 8.]], dtype=float32)
    """
    a = _tensor(a, b if _args._tensor_like(b) else None)
    b = _tensor(b, a)
    if _args._tensor_like(axes) or isinstance(axes, np.ndarray):
        axes = np.asarray(axes).tolist()
    if isinstance(axes, float) or isinstance(axes, (str, bytes)):
        raise TypeError(f"Cannot convert {axes!r} to EagerTensor of dtype int32")
    if _args.is_int(axes):
        if axes < 0:
            raise ValueError(f"`axes` must be at least 0. Received: {axes}.")
        if axes > a.ndim:
            raise ValueError(f"`axes` must not be larger than the number of dimensions of tensor {a}.  "
                             f"Received {axes}, vs tensor dimensions {a.ndim}.")
        a_axes, b_axes = list(builtins.range(a.ndim - axes, a.ndim)), list(builtins.range(axes))
    elif isinstance(axes, (list, tuple)):
        if len(axes) != 2:
            raise ValueError(f"`axes` must be an integer or have length 2. Received {axes}.")
        a_axes, b_axes = axes
        a_axes = [a_axes] if _args.is_int(a_axes) else list(a_axes)
        b_axes = [b_axes] if _args.is_int(b_axes) else list(b_axes)
        if len(a_axes) != len(b_axes):
            raise ValueError("Different number of contraction axes `a` and `b`, "
                             f"{len(a_axes)} != {len(b_axes)}.")
    else:
        raise TypeError(f"`axes` must be an integer or a pair of lists of integers, got {axes!r}")
    _same_dtype("MatMul", [a, b])

    def norm_axes(ax, t):
        out = []
        for v in ax:
            if not _args.is_int(v):
                raise TypeError(f"Cannot convert {v!r} to EagerTensor of dtype int32")
            v = int(v)
            if not -t.ndim <= v < t.ndim:
                raise _errors().InvalidArgumentError(
                    f"tensordot: axis {v} is out of range for a tensor of rank {t.ndim}")
            out.append(v % t.ndim)
        if len(set(out)) != len(out):
            raise ValueError(f"tensordot: the axes {ax} repeat an axis")
        return out

    a_axes, b_axes = norm_axes(a_axes, a), norm_axes(b_axes, b)
    fa = [i for i in builtins.range(a.ndim) if i not in a_axes]
    fb = [i for i in builtins.range(b.ndim) if i not in b_axes]
    k_a = int(np.prod([a.shape[i] for i in a_axes], dtype=np.int64))
    k_b = int(np.prod([b.shape[i] for i in b_axes], dtype=np.int64))
    m = int(np.prod([a.shape[i] for i in fa], dtype=np.int64))
    n = int(np.prod([b.shape[i] for i in fb], dtype=np.int64))
    if k_a != k_b:
        raise _errors().InvalidArgumentError(
            f"Matrix size-incompatible: In[0]: [{m},{k_a}], In[1]: [{k_b},{n}]")
    am = _rstf.reshape(_rstf.transpose(a, fa + a_axes), [m, k_a])
    bm = _rstf.reshape(_rstf.transpose(b, b_axes + fb), [k_b, n])
    return _rstf.reshape(_rstf.matmul(am, bm, False, False),
                         [a.shape[i] for i in fa] + [b.shape[i] for i in fb])
