"""OpGraph connectivity: the dict-based order and reachability agree with networkx on the same edges."""

import random

import networkx as nx
import pytest

from edgefit.errors import CorruptModelError
from edgefit.graph import Op, OpGraph, Tensor


def random_graph(seed: int, n: int = 60) -> OpGraph:
    """Ops in a shuffled model order reading 0-3 earlier tensors each (a DAG), some reading one twice."""
    rng = random.Random(seed)
    ranks = list(range(n))
    rng.shuffle(ranks)  # model order != data-flow order
    made: list[str] = ["x"]
    ops_by_rank: dict[int, Op] = {}
    for k in range(n):
        inputs = [rng.choice(made) for _ in range(rng.randint(0, 3))]
        ops_by_rank[k] = Op(index=-1, name=f"op{k}", type="Add", domain="ai.onnx", version=17, inputs=inputs,
                            outputs=[f"t{k}", f"u{k}"])
        made += [f"t{k}", f"u{k}"]
    ops = [ops_by_rank[k] for k in sorted(ops_by_rank, key=lambda k: ranks[k])]
    for i, op in enumerate(ops):
        op.index = i
    tensors = {t: Tensor(t, "float32", (1,)) for t in made}
    return OpGraph("g", ops, tensors, ["x"], [ops[-1].outputs[0]])


@pytest.mark.parametrize("seed", range(8))
def test_order_and_reachability_match_networkx(seed):
    g = random_graph(seed)
    reference = g.nx
    assert [op.index for op in g.topological_order()] == list(nx.lexicographical_topological_sort(reference))
    for op in g.ops:
        assert g.descendants(op) == nx.descendants(reference, op.index)
        assert list(g.predecessors[op.index]) == list(reference.predecessors(op.index))
        assert list(g.successors[op.index]) == list(reference.successors(op.index))


def test_a_cycle_is_a_corrupt_model():
    ops = [Op(0, "a", "Add", "ai.onnx", 17, ["x", "b_out"], ["a_out"]),
           Op(1, "b", "Relu", "ai.onnx", 17, ["a_out"], ["b_out"])]
    tensors = {t: Tensor(t, "float32", (1,)) for t in ("x", "a_out", "b_out")}
    g = OpGraph("loop", ops, tensors, ["x"], ["b_out"])
    with pytest.raises(CorruptModelError, match="data-flow cycle through ops a, b"):
        g.topological_order()
    assert g.descendants(ops[0]) == {1}  # the op itself is not its own descendant, as in networkx
