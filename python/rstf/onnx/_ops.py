"""The converters: one per rstf op name (TensorFlow's name, as ``graph.get_operations()``
shows it), each writing the op as ONNX nodes. ``CONVERTERS`` is the registry; an op missing from
it raises :class:`UnsupportedOpError` naming it. Adding an op is one function::

    @converter("Relu6")
    def _relu6(ctx, n):
        return ctx.op("Clip", [n.inputs[0], ctx.scalar(0, n.dtype), ctx.scalar(6, n.dtype)])

A converter gets the builder ``ctx`` (``op`` adds a node and returns its output's name,
``const``/``i64``/``scalar`` add initializers, ``shape`` gives a shape tensor whose symbolic
sizes are read at run time) and the :class:`Call` ``n``; it returns the name of each result
(a list for ops with several). Layouts follow rstf (NHWC images): ONNX's NCHW ops are wrapped
in Transposes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import errors


class UnsupportedOpError(errors.UnimplementedError, NotImplementedError):
    """An op, or a use of one, that has no ONNX form."""


class Sym(NamedTuple):
    """A size that follows a ``None`` dimension: its value in each of the two traces."""

    a: int
    b: int


class Spec(NamedTuple):
    """A value's rstf dtype name and dimensions (ints, or :class:`Sym` for symbolic ones)."""

    dtype: str
    dims: list


class Call(NamedTuple):
    """One op to convert: its name, its attributes in the two traces (they differ only in sizes
    that follow ``None`` dimensions), its inputs' ONNX names and the specs of inputs and
    results."""

    op: str
    attr: object
    attr_b: object
    inputs: list
    specs_in: list
    specs_out: list

    @property
    def dtype(self) -> str:
        """The dtype of the first result."""
        return self.specs_out[0].dtype

    def rank(self, i=0) -> int:
        return len(self.specs_in[i].dims)


CONVERTERS: dict = {}
"""``{rstf op name: converter(ctx, call)}``."""

INT64_MAX, INT64_MIN = 2 ** 63 - 1, -(2 ** 63)
_FLOATS = ("float16", "bfloat16", "float32", "float64")


def converter(*names):
    """Registers the decorated function as the converter of the ops ``names``."""
    def register(fn):
        for name in names:
            CONVERTERS[name] = fn
        return fn
    return register


def paired(a, b) -> list:
    """Sizes from the two traces' attributes: equal ones as ints, others as :class:`Sym`."""
    return [x if x == y else Sym(x, y) for x, y in zip(a, b)]


def _unsupported(op, why):
    return UnsupportedOpError(f"export: {op}: {why}")


# -- elementwise ------------------------------------------------------------------------------

_UNARY = {"Neg": "Neg", "Abs": "Abs", "Sign": "Sign", "Exp": "Exp", "Log": "Log", "Sqrt": "Sqrt",
          "Reciprocal": "Reciprocal", "Sin": "Sin", "Cos": "Cos", "Tan": "Tan", "Tanh": "Tanh",
          "Sigmoid": "Sigmoid", "Erf": "Erf", "Asin": "Asin", "Acos": "Acos", "Atan": "Atan",
          "Sinh": "Sinh", "Cosh": "Cosh", "Acosh": "Acosh", "Atanh": "Atanh", "Asinh": "Asinh",
          "Relu": "Relu", "LogicalNot": "Not", "Softplus": "Softplus"}
_BINARY = {"AddV2": "Add", "Sub": "Sub", "Mul": "Mul", "RealDiv": "Div", "Pow": "Pow", "Maximum": "Max",
           "Minimum": "Min", "Equal": "Equal", "Less": "Less", "LessEqual": "LessOrEqual",
           "Greater": "Greater", "GreaterEqual": "GreaterOrEqual", "LogicalAnd": "And", "LogicalOr": "Or"}


def _simple(onnx_op, n_in):
    def convert(ctx, n):
        return ctx.op(onnx_op, n.inputs[:n_in])
    return convert


for _name, _onnx in _UNARY.items():
    CONVERTERS[_name] = _simple(_onnx, 1)
for _name, _onnx in _BINARY.items():
    CONVERTERS[_name] = _simple(_onnx, 2)
CONVERTERS["SelectV2"] = _simple("Where", 3)
CONVERTERS["MatrixDeterminant"] = _simple("Det", 1)


@converter("LogMatrixDeterminant")
def _slogdet(ctx, n):
    # From the determinant itself: a matrix whose determinant overflows float gives inf here.
    det = ctx.op("Det", n.inputs)
    return [ctx.op("Sign", [det]), ctx.op("Log", [ctx.op("Abs", [det])])]


@converter("Identity", "StopGradient")
def _identity(ctx, n):
    return n.inputs[0]


@converter("Round", "Floor", "Ceil")
def _rounding(ctx, n):
    # Integers are their own rounding; Round is half to even in both.
    return ctx.op(n.op, n.inputs) if n.dtype in _FLOATS else n.inputs[0]


@converter("Square")
def _square(ctx, n):
    return ctx.op("Mul", [n.inputs[0], n.inputs[0]])


@converter("Expm1")
def _expm1(ctx, n):
    return ctx.op("Sub", [ctx.op("Exp", n.inputs), ctx.scalar(1, n.dtype)])


@converter("Log1p")
def _log1p(ctx, n):
    return ctx.op("Log", [ctx.op("Add", [n.inputs[0], ctx.scalar(1, n.dtype)])])


@converter("Rsqrt")
def _rsqrt(ctx, n):
    return ctx.op("Reciprocal", [ctx.op("Sqrt", n.inputs)])


@converter("NotEqual")
def _not_equal(ctx, n):
    return ctx.op("Not", [ctx.op("Equal", n.inputs)])


@converter("FloorDiv")
def _floor_div(ctx, n):
    x, y = n.inputs
    if n.dtype in _FLOATS:
        return ctx.op("Floor", [ctx.op("Div", [x, y])])
    # x - (x mod y) is a multiple of y (Python's mod: the divisor's sign), so the division is exact.
    return ctx.op("Div", [ctx.op("Sub", [x, ctx.op("Mod", [x, y], fmod=0)]), y])


@converter("FloorMod")
def _floor_mod(ctx, n):
    x, y = n.inputs
    if n.dtype not in _FLOATS:
        return ctx.op("Mod", [x, y], fmod=0)
    r = ctx.op("Mod", [x, y], fmod=1)
    zero = ctx.scalar(0, n.dtype)
    signs = ctx.op("Xor", [ctx.op("Less", [r, zero]), ctx.op("Less", [y, zero])])
    fix = ctx.op("And", [ctx.op("Not", [ctx.op("Equal", [r, zero])]), signs])
    return ctx.op("Where", [fix, ctx.op("Add", [r, y]), r])


@converter("ReluGrad")
def _relu_grad(ctx, n):
    g, x = n.inputs
    positive = ctx.op("Greater", [x, ctx.scalar(0, n.specs_in[1].dtype)])
    return ctx.op("Where", [positive, g, ctx.scalar(0, n.dtype)])


@converter("Cast")
def _cast(ctx, n):
    return ctx.op("Cast", n.inputs, to=ctx.onnx_type(n.attr))


# -- reductions -------------------------------------------------------------------------------

def reduce(ctx, onnx_op, x, axes, keepdims):
    """``onnx_op`` (``ReduceSum``, ...) over ``axes`` (every axis when None)."""
    if axes is not None and not axes:
        return x
    if axes is None:
        return ctx.op(onnx_op, [x], keepdims=int(keepdims))
    if onnx_op == "ReduceSum" or ctx.opset >= 18:
        return ctx.op(onnx_op, [x, ctx.i64(axes)], keepdims=int(keepdims))
    return ctx.op(onnx_op, [x], axes=list(axes), keepdims=int(keepdims))


@converter("Sum", "Prod", "Max", "Min", "Any", "All")
def _reduce(ctx, n):
    axes, keep = n.attr["axes"], n.attr["keepdims"]
    if n.op in ("Any", "All"):
        T = ctx.onnx.TensorProto
        x = ctx.op("Cast", n.inputs, to=T.INT32)
        y = reduce(ctx, "ReduceMax" if n.op == "Any" else "ReduceMin", x, axes, keep)
        return ctx.op("Cast", [y], to=T.BOOL)
    onnx_op = {"Sum": "ReduceSum", "Prod": "ReduceProd", "Max": "ReduceMax", "Min": "ReduceMin"}[n.op]
    return reduce(ctx, onnx_op, n.inputs[0], axes, keep)


@converter("ArgMax", "ArgMin")
def _arg_reduce(ctx, n):
    y = ctx.op(n.op, n.inputs, axis=n.attr["axis"], keepdims=0)
    return y if n.dtype == "int64" else ctx.op("Cast", [y], to=ctx.onnx_type(n.dtype))


@converter("Size")
def _size(ctx, n):
    dims = n.specs_in[0].dims
    axes = range(len(dims)) if n.attr["axes"] is None else [a % len(dims) for a in n.attr["axes"]]
    static = int(np.prod([dims[a] for a in axes if not isinstance(dims[a], Sym)], dtype=np.int64))
    sizes = [ctx.op("Shape", n.inputs, start=a, end=a + 1) for a in axes if isinstance(dims[a], Sym)]
    if not sizes:
        return ctx.scalar(static, n.dtype)
    total = sizes[0]
    for s in sizes[1:]:
        total = ctx.op("Mul", [total, s])
    if static != 1:
        total = ctx.op("Mul", [total, ctx.i64([static])])
    total = ctx.op("Reshape", [total, ctx.i64([])])
    return ctx.op("Cast", [total], to=ctx.onnx_type(n.dtype))


@converter("Cumsum")
def _cumsum(ctx, n):
    a = n.attr
    axis = ctx.const(np.asarray(a["axis"], dtype=np.int64))
    return ctx.op("CumSum", [n.inputs[0], axis], exclusive=int(a["exclusive"]), reverse=int(a["reverse"]))


@converter("Softmax", "LogSoftmax")
def _softmax(ctx, n):
    return ctx.op(n.op, n.inputs, axis=n.attr["axis"])


# -- matmul -----------------------------------------------------------------------------------

def _swap_last(ctx, x, rank):
    perm = list(range(rank))
    perm[-2:] = perm[-1], perm[-2]
    return ctx.op("Transpose", [x], perm=perm)


@converter("MatMul")
def _matmul(ctx, n):
    a, b = n.inputs
    if n.attr["transpose_a"]:
        a = _swap_last(ctx, a, n.rank(0))
    if n.attr["transpose_b"]:
        b = _swap_last(ctx, b, n.rank(1))
    return ctx.op("MatMul", [a, b])


# -- movement ---------------------------------------------------------------------------------

@converter("Transpose")
def _transpose(ctx, n):
    return ctx.op("Transpose", n.inputs, perm=list(n.attr))


@converter("Reshape")
def _reshape(ctx, n):
    dims = paired(n.attr, n.attr_b)
    x_dims = n.specs_in[0].dims
    literal_zero = 0 in dims
    if not literal_zero:
        # A symbolic size at the input's position is copied from it (ONNX's 0).
        dims = [0 if isinstance(d, Sym) and i < len(x_dims) and x_dims[i] == d else d
                for i, d in enumerate(dims)]
    left = [i for i, d in enumerate(dims) if isinstance(d, Sym)]
    if len(left) == 1 and -1 not in dims:
        dims[left[0]] = -1
    extra = {"allowzero": 1} if literal_zero else {}
    return ctx.op("Reshape", [n.inputs[0], ctx.shape(dims, n.inputs[0], x_dims)], **extra)


@converter("ExpandDims")
def _expand_dims(ctx, n):
    return ctx.op("Unsqueeze", [n.inputs[0], ctx.i64([n.attr])])


@converter("Squeeze")
def _squeeze(ctx, n):
    axes = list(n.attr) or [i for i, d in enumerate(n.specs_in[0].dims) if d == 1]
    return ctx.op("Squeeze", [n.inputs[0], ctx.i64(axes)]) if axes else n.inputs[0]


def _target(ctx, n, dims):
    """A shape for Expand: symbolic sizes the input already has at the aligned position
    become 1 (Expand broadcasts them)."""
    x_dims = n.specs_in[0].dims
    off = len(dims) - len(x_dims)
    dims = [1 if isinstance(d, Sym) and i >= off and x_dims[i - off] == d else d for i, d in enumerate(dims)]
    return ctx.shape(dims)


@converter("BroadcastTo")
def _broadcast_to(ctx, n):
    return ctx.op("Expand", [n.inputs[0], _target(ctx, n, paired(n.attr, n.attr_b))])


@converter("Fill")
def _fill(ctx, n):
    return ctx.op("Expand", [n.inputs[0], ctx.shape(paired(n.attr, n.attr_b))])


@converter("ReverseV2")
def _reverse(ctx, n):
    axes = [a % n.rank() for a in n.attr]
    if not axes:
        return n.inputs[0]
    k = len(axes)
    return ctx.op("Slice", [n.inputs[0], ctx.i64([-1] * k), ctx.i64([INT64_MIN] * k), ctx.i64(axes),
                            ctx.i64([-1] * k)])


@converter("StridedSlice")
def _strided_slice(ctx, n):
    """numpy's indexing: one Slice for the ranges and indices, a Squeeze for the indices, an
    Unsqueeze for the new axes."""
    rank, items = n.rank(), n.attr
    consuming = sum(1 for it in items if isinstance(it, dict))
    starts, ends, axes, steps, squeeze, new = [], [], [], [], [], []
    ax = out = 0
    for it in items:
        if it == "Ellipsis":
            ax += rank - consuming
            out += rank - consuming
        elif it == "NewAxis":
            new.append(out)
            out += 1
        elif "Index" in it:
            i = it["Index"]
            starts.append(i)
            ends.append(INT64_MAX if i == -1 else i + 1)
            axes.append(ax)
            steps.append(1)
            squeeze.append(ax)
            ax += 1
        else:
            r = it["Range"]
            start, stop, step = r["start"], r["stop"], r["step"]
            if not (step == 1 and start in (None, 0) and stop is None):
                if start is None:
                    start = 0 if step > 0 else INT64_MAX
                if stop is None:
                    stop = INT64_MAX if step > 0 else INT64_MIN
                starts.append(start)
                ends.append(stop)
                axes.append(ax)
                steps.append(step)
            ax += 1
            out += 1
    y = n.inputs[0]
    if axes:
        y = ctx.op("Slice", [y, ctx.i64(starts), ctx.i64(ends), ctx.i64(axes), ctx.i64(steps)])
    if squeeze:
        y = ctx.op("Squeeze", [y, ctx.i64(squeeze)])
    if new:
        y = ctx.op("Unsqueeze", [y, ctx.i64(new)])
    return y


@converter("ConcatV2")
def _concat(ctx, n):
    if len(n.inputs) == 1:
        return n.inputs[0]
    return ctx.op("Concat", n.inputs, axis=n.attr)


@converter("Unpack")
def _unpack(ctx, n):
    axis, k = n.attr % n.rank(), len(n.specs_out)
    parts = [n.inputs[0]] if k == 1 else ctx.op("Split", [n.inputs[0], ctx.i64([1] * k)], n_out=k, axis=axis)
    return [ctx.op("Squeeze", [p, ctx.i64([axis])]) for p in parts]


@converter("SplitV")
def _split(ctx, n):
    axis = n.attr["axis"] % n.rank()
    sizes = paired(n.attr["sizes"], n.attr_b["sizes"])
    if -1 in sizes:
        dim, known = n.specs_in[0].dims[axis], [s for s in sizes if s != -1]
        if isinstance(dim, Sym) or any(isinstance(s, Sym) for s in known):
            raise _unsupported(n.op, "a split of a None dimension with a size left to infer")
        sizes[sizes.index(-1)] = dim - sum(known)
    if len(sizes) == 1:
        return [n.inputs[0]]
    return ctx.op("Split", [n.inputs[0], ctx.shape(sizes)], n_out=len(sizes), axis=axis)


@converter("Tile")
def _tile(ctx, n):
    return ctx.op("Tile", [n.inputs[0], ctx.i64(n.attr)])


@converter("PadV2")
def _pad(ctx, n):
    pads = [p[0] for p in n.attr] + [p[1] for p in n.attr]
    if not any(pads):
        return n.inputs[0]
    return ctx.op("Pad", [n.inputs[0], ctx.i64(pads), n.inputs[1]], mode="constant")


@converter("GatherV2")
def _gather(ctx, n):
    return ctx.op("Gather", n.inputs, axis=n.attr)


@converter("OneHot")
def _one_hot(ctx, n):
    # TensorFlow's rule (indices outside [0, depth) give all `off`): ONNX's OneHot wraps
    # negative indices, a comparison with 0..depth-1 does not.
    indices, on, off = n.inputs
    dtype = n.specs_in[0].dtype
    depth = ctx.const(np.arange(n.attr), dtype)
    hit = ctx.op("Equal", [ctx.op("Unsqueeze", [indices, ctx.i64([-1])]), depth])
    return ctx.op("Where", [hit, on, off])


@converter("RandomStandardNormal", "RandomUniform")
def _random(ctx, n):
    a = n.attr
    dtype = ctx.onnx_type(a["dtype"])
    zeros = ctx.op("ConstantOfShape", [ctx.shape(paired(a["shape"], n.attr_b["shape"]))])
    if a["normal"]:
        return ctx.op("RandomNormalLike", [zeros], dtype=dtype, mean=float(a["a"]), scale=float(a["b"]))
    return ctx.op("RandomUniformLike", [zeros], dtype=dtype, low=float(a["a"]), high=float(a["b"]))


# -- windows (NHWC) ---------------------------------------------------------------------------

def out_dim(size, k, stride, dilation, same):
    """``(output size, padding before, padding after)`` along one dimension, as rstf's Window."""
    span = (k - 1) * dilation + 1
    if same:
        out = -(-size // stride)
        total = max(0, (max(out, 1) - 1) * stride + span - size)
        return out, total // 2, total - total // 2
    out = (size - span) // stride + 1 if size >= span else 0
    return out, 0, 0


def window_counts(hw, window) -> np.ndarray:
    """How many of each window's taps fall inside an image of spatial size ``hw`` (what an
    average pool divides by)."""
    counts = []
    for size, k, s in zip(hw, window["size"], window["strides"]):
        out, before, _ = out_dim(size, k, s, 1, window["same"])
        starts = np.arange(out) * s - before
        counts.append(np.clip(starts + k, 0, size) - np.clip(starts, 0, size))
    return np.outer(counts[0], counts[1]).astype(np.float64)


def _window_attrs(n, dims):
    """ONNX attributes of a window over spatial sizes ``dims`` (explicit pads when they are
    known, else SAME_UPPER, TensorFlow's SAME)."""
    w = n.attr["window"]
    attrs = {"kernel_shape": list(w["size"]), "strides": list(w["strides"])}
    if any(isinstance(d, Sym) for d in dims):
        attrs["auto_pad"] = "SAME_UPPER" if w["same"] else "VALID"
    else:
        pads = [out_dim(d, k, s, r, w["same"])
                for d, k, s, r in zip(dims, w["size"], w["strides"], w["dilations"])]
        attrs["pads"] = [p[1] for p in pads] + [p[2] for p in pads]
    return attrs


def _nchw(ctx, x):
    return ctx.op("Transpose", [x], perm=[0, 3, 1, 2])


def _nhwc(ctx, y):
    return ctx.op("Transpose", [y], perm=[0, 2, 3, 1])


@converter("Conv2D")
def _conv2d(ctx, n):
    """A convolution (``Im2Col`` and a matmul with the filter, found by the exporter)."""
    x, w = n.inputs
    attrs = _window_attrs(n, n.specs_in[0].dims[1:3])
    if n.rank(1) == 2:  # [KH * KW * C, O]
        w = ctx.op("Reshape", [w, ctx.i64([*n.attr["window"]["size"], n.specs_in[0].dims[3], -1])])
    kernel = ctx.op("Transpose", [w], perm=[3, 2, 0, 1])  # HWIO -> OIHW
    y = ctx.op("Conv", [_nchw(ctx, x), kernel], dilations=list(n.attr["window"]["dilations"]), **attrs)
    return _nhwc(ctx, y)


@converter("MaxPool2D")
def _max_pool2d(ctx, n):
    attrs = _window_attrs(n, n.specs_in[0].dims[1:3])
    y = ctx.op("MaxPool", [_nchw(ctx, n.inputs[0])], dilations=list(n.attr["window"]["dilations"]), **attrs)
    return _nhwc(ctx, y)


@converter("AvgPool2D")
def _avg_pool2d(ctx, n):
    attrs = _window_attrs(n, n.specs_in[0].dims[1:3])
    y = ctx.op("AveragePool", [_nchw(ctx, n.inputs[0])], count_include_pad=0, **attrs)
    return _nhwc(ctx, y)


@converter("MaxPool")
def _max_pool_patches(ctx, n):
    """The maximum over the taps of ``[N, OH, OW, taps, C]`` patches."""
    return reduce(ctx, "ReduceMax", n.inputs[0], [3], False)


@converter("Im2Col")
def _im2col(ctx, n):
    """The windows as patches ``[N, OH, OW, taps * C]``: the padded image sliced once per tap."""
    dims = n.specs_in[0].dims
    if any(isinstance(d, Sym) for d in dims[1:3]):
        raise _unsupported(n.op, "image patches over a None height or width (outside a convolution "
                                 "or pooling the exporter recognises)")
    w = n.attr["window"]
    geo = [out_dim(d, k, s, r, w["same"])
           for d, k, s, r in zip(dims[1:3], w["size"], w["strides"], w["dilations"])]
    x = n.inputs[0]
    before = [g[1] for g in geo]
    # Enough padding after for the last window's last tap.
    after = [max(0, (g[0] - 1) * s + (k - 1) * r + 1 - d - g[1]) for g, d, k, s, r in
             zip(geo, dims[1:3], w["size"], w["strides"], w["dilations"])]
    if any(before) or any(after):
        value = ctx.scalar(float(n.attr["pad_value"]), n.specs_in[0].dtype)
        x = ctx.op("Pad", [x, ctx.i64([0, *before, 0, 0, *after, 0]), value], mode="constant")
    taps = []
    for i in range(w["size"][0]):
        for j in range(w["size"][1]):
            starts = [i * w["dilations"][0], j * w["dilations"][1]]
            ends = [s + (g[0] - 1) * st + 1 for s, g, st in zip(starts, geo, w["strides"])]
            taps.append(ctx.op("Slice", [x, ctx.i64(starts), ctx.i64(ends), ctx.i64([1, 2]),
                                         ctx.i64(w["strides"])]))
    return taps[0] if len(taps) == 1 else ctx.op("Concat", taps, axis=3)
