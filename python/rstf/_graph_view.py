"""What ``ConcreteFunction.graph`` shows of a traced graph: TensorFlow's inspection API
(``get_operations``, ``as_graph_def``) over the Rust graph, whose other methods it passes on.

Nodes are named as TensorFlow names them: by op type, made unique with ``_1``, ``_2``, ...;
arguments are ``Placeholder`` nodes and results ``Identity`` nodes, as in TensorFlow's graphs.

>>> import rstf as tf
>>> @tf.function
... def f(x):
...     return tf.nn.relu(x) * 2.0
>>> g = f.get_concrete_function(tf.constant([1.0])).graph
>>> [op.type for op in g.get_operations()]
['Placeholder', 'Relu', 'Const', 'Mul', 'Identity']
>>> len(g.as_graph_def().node)
5
"""

from __future__ import annotations


class Operation:
    """One node of a traced graph: ``name``, ``type`` and the names of its ``inputs``."""

    def __init__(self, name: str, type: str, inputs: list):  # noqa: A002
        self.name = name
        self.type = type
        self.inputs = inputs

    def __repr__(self):
        return f"<rstf.Operation '{self.name}' type={self.type}>"


class NodeDef:
    """A node as TensorFlow's ``NodeDef`` protocol buffer shows it: ``name``, ``op``, ``input``."""

    def __init__(self, op: Operation):
        self.name = op.name
        self.op = op.type
        self.input = list(op.inputs)

    def __str__(self):
        lines = [f'name: "{self.name}"', f'op: "{self.op}"'] + [f'input: "{i}"' for i in self.input]
        return "\n".join(lines) + "\n"


class GraphDef:
    """The nodes of a traced graph, printed in protocol-buffer text format as TensorFlow's
    ``GraphDef``."""

    def __init__(self, nodes: list):
        self.node = nodes

    def __str__(self):
        out = []
        for n in self.node:
            body = "".join(f"  {line}\n" for line in str(n).splitlines())
            out.append("node {\n" + body + "}\n")
        return "".join(out) + "versions {\n  producer: 1\n}\n"


class FuncGraph:
    """The graph of a concrete function; attributes it does not define come from the Rust
    graph (``run``, ``op_count``, ``polymorphic``, ``str``)."""

    def __init__(self, graph, arg_names=()):
        self._graph = graph
        self._arg_names = list(arg_names)

    def __getattr__(self, name):
        return getattr(self._graph, name)

    def __str__(self):
        return str(self._graph)

    def __len__(self):
        return len(self._graph)

    def get_operations(self) -> list:
        """The graph's operations in execution order."""
        nodes, inputs, outputs = self._graph.nodes()
        counts: dict = {}
        name_of: dict = {}
        ops = []

        def unique(base):
            n = counts.get(base, 0)
            counts[base] = n + 1
            return base if n == 0 else f"{base}_{n}"

        for i, slot in enumerate(inputs):
            base = self._arg_names[i] if i < len(self._arg_names) else "args"
            name = unique(base)
            name_of[slot] = name
            ops.append(Operation(name, "Placeholder", []))
        for op_type, ins, outs in nodes:
            name = unique(op_type)
            for k, s in enumerate(outs):
                name_of[s] = name if k == 0 else f"{name}:{k}"
            ops.append(Operation(name, op_type, [name_of.get(s, f"%{s}") for s in ins]))
        for s in outputs:
            ops.append(Operation(unique("Identity"), "Identity", [name_of.get(s, f"%{s}")]))
        return ops

    def as_graph_def(self) -> GraphDef:
        """The graph as TensorFlow's ``GraphDef`` (its ``node`` list; ``print`` shows it)."""
        return GraphDef([NodeDef(op) for op in self.get_operations()])
