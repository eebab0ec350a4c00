"""Partitioning as edgetpu_compiler does it: data-flow cut, leading CPU ops, -a, -n, dead ops, failures."""

from __future__ import annotations

from edgefit.targets.coral import predict
from edgefit.partition import ACCELERATOR, CPU, CUT_STATUS, MAPPED_STATUS, REMOVED, partition_graph

from rules.graphbuilder import DictSpec, GraphBuilder, conv

IMAGE = (1, 8, 8, 4)
BLOCK = ("TEST-RULE", "Operation not supported")


def placements(graph, blocked=(), **spec):
    part = partition_graph(graph, {i: BLOCK for i in blocked}, DictSpec(**spec))
    return part, [p.device for p in part.placements]


def branching_graph():
    """x -> conv0 -> conv1 -> [op2: unmappable] -> conv3 -> add5 ; conv1 -> conv4 (parallel branch) -> add5."""
    b = GraphBuilder()
    x = b.input("x", IMAGE)
    c1 = conv(b, conv(b, x, IMAGE), IMAGE)
    cut = b.op("ARG_MAX", [c1], IMAGE)
    after = conv(b, cut, IMAGE)
    side = conv(b, c1, IMAGE)
    b.op("ADD", [after, side], IMAGE)
    return b.build()


def test_single_subgraph_cuts_only_data_flow_descendants():
    part, devices = placements(branching_graph(), blocked=[2])
    assert devices == [ACCELERATOR, ACCELERATOR, CPU, CPU, ACCELERATOR, CPU]
    assert part[3].status == CUT_STATUS and part[5].status == CUT_STATUS
    assert part[2].status == BLOCK[1] and part[2].reason == "TEST-RULE"
    assert part[0].status == MAPPED_STATUS and part.num_subgraphs == 1


def test_ops_later_in_file_but_independent_of_the_cut_stay_mapped():
    b = GraphBuilder()
    x = b.input("x", IMAGE)
    y = b.input("y", IMAGE)
    conv(b, b.op("ARG_MAX", [conv(b, x, IMAGE)], IMAGE), IMAGE)
    b.output(b.ops[-1].outputs[0], conv(b, y, IMAGE))  # file order: after the cut; data flow: unrelated
    _, devices = placements(b.build(), blocked=[1])
    assert devices == [ACCELERATOR, CPU, CPU, ACCELERATOR]


def test_leading_cpu_ops_do_not_cut_the_subgraph():
    b = GraphBuilder()
    q = b.op("QUANTIZE", [b.input("x", IMAGE, "float32")], IMAGE)
    b.op("DEQUANTIZE", [conv(b, conv(b, q, IMAGE), IMAGE)], IMAGE, "float32")
    ops, _, part, _ = predict(b.build(), DictSpec())
    assert [p.device for p in part.placements] == [CPU, ACCELERATOR, ACCELERATOR, CPU]
    assert ops[0][0].code == "CORAL-QUANTIZE-FLOAT-INPUT"
    assert part[3].reason == "CORAL-DEQUANTIZE-FLOAT-OUTPUT"


def test_unmappable_op_after_the_cut_keeps_its_own_status():
    b = GraphBuilder()
    y = b.op("GATHER", [conv(b, b.input("x", IMAGE), IMAGE)], (1, 8, 8))
    b.op("DEQUANTIZE", [b.op("RELU", [y], (1, 8, 8))], (1, 8, 8), "float32")
    _, _, part, _ = predict(b.build(), DictSpec())
    assert part[2].status == CUT_STATUS
    assert part[3].reason == "CORAL-DEQUANTIZE-FLOAT-OUTPUT"


def test_multi_subgraph_maps_every_mappable_op_in_numbered_subgraphs():
    part, devices = placements(branching_graph(), blocked=[2], toolchain__partitioning="multi_subgraph")
    assert devices == [ACCELERATOR, ACCELERATOR, CPU, ACCELERATOR, ACCELERATOR, ACCELERATOR]
    assert [part[i].subgraph for i in (0, 1, 3, 4, 5)] == [0, 0, 1, 0, 1]
    assert part.num_subgraphs == 2


def test_dead_ops_are_dropped_in_one_pass():
    b = GraphBuilder()
    features = conv(b, b.input("x", IMAGE, "uint8"), IMAGE)
    live = b.op("CUSTOM:Decoder", [features], (4,), "uint8")
    b.op("CUSTOM:Decoder", [b.op("DEQUANTIZE", [features], IMAGE, "float32")], (4,), "float32")
    b.output(live)
    ops, _, part, _ = predict(b.build(), DictSpec())
    assert [p.device for p in part.placements] == [ACCELERATOR, CPU, CPU, REMOVED]
    assert part.counts(b.build()) == {"CUSTOM:Decoder": 1, "DEQUANTIZE": 1}


def test_segments_balance_parameter_bytes():
    b = GraphBuilder()
    t = b.input("x", IMAGE)
    for size in (400, 100, 100, 100, 100):
        t = conv(b, t, IMAGE, weights_bytes=size)
    part, _ = placements(b.build(), toolchain__segments=2)
    assert [p.segment for p in part.placements] == [0, 1, 1, 1, 1]
    assert part.num_segments == 2


def test_compile_failure_puts_every_op_on_the_cpu():
    b = GraphBuilder()
    conv(b, b.input("x", IMAGE), IMAGE)
    part = partition_graph(b.build(), {}, DictSpec(), failure=("CORAL-OP-VERSION", "Model could not be parsed"))
    assert part.failure == "Model could not be parsed"
    assert [(p.device, p.reason) for p in part.placements] == [(CPU, "CORAL-OP-VERSION")]


def test_unknown_strategy_is_rejected():
    import pytest

    with pytest.raises(ValueError):
        placements(branching_graph(), toolchain__partitioning="greedy")
