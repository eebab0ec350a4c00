"""Parameter caching vs streaming: per layer, in execution order, within the granted budget."""

from __future__ import annotations

from edgefit.memory import DEFAULT_PARAM_CACHE_BYTES, plan_memory
from edgefit.partition import partition_graph

from rules.graphbuilder import DictSpec, GraphBuilder, conv

IMAGE = (1, 8, 8, 4)


def conv_chain(*weight_bytes):
    b = GraphBuilder()
    t = b.input("x", IMAGE)
    for size in weight_bytes:
        t = conv(b, t, IMAGE, weights_bytes=size)
    return b.build()


def plan(graph, blocked=(), **spec):
    spec = DictSpec(**spec)
    return plan_memory(graph, partition_graph(graph, {i: ("R", "s") for i in blocked}, spec), spec)


def bias_bytes(n_layers):
    return n_layers * 4 * 4  # int32 bias of 4 channels per layer


def test_everything_fits_in_the_default_budget():
    memory = plan(conv_chain(1000, 2000))
    assert memory.budget_bytes == DEFAULT_PARAM_CACHE_BYTES
    assert memory.cached_bytes == 3000 + bias_bytes(2) and memory.streamed_bytes == 0
    assert memory.fits_on_chip


def test_a_layer_that_does_not_fit_is_streamed_while_later_small_ones_are_cached():
    memory = plan(conv_chain(600, 600, 100), memory__param_cache_bytes=1000)
    cached = {d.tensor: d.cached for d in memory.decisions}
    assert cached == {"w0": True, "b0": True, "w1": False, "b1": False, "w2": True, "b2": True}
    assert memory.streamed_bytes == 616 and memory.cached_bytes == 732
    assert memory.remaining_bytes == 1000 - 732


def test_cpu_ops_hold_no_parameters_on_chip():
    memory = plan(conv_chain(1000, 2000), blocked=[1])
    assert {d.op for d in memory.decisions} == {0}


def test_shared_and_shape_constants_are_not_counted():
    b = GraphBuilder()
    x = b.input("x", IMAGE)
    w = b.const("w", (4, 1, 1, 4), byte_size=500)
    bias = b.const("bias", (4,), "int32")
    y = b.op("CONV_2D", [b.op("CONV_2D", [x, w, bias], IMAGE), w, bias], IMAGE)
    b.op("RESHAPE", [y, b.vector("shape", [1, 256])], (1, 256))
    memory = plan(b.build())
    assert [d.tensor for d in memory.decisions] == ["w", "bias"]
    assert memory.to_dict()["cached_bytes"] == 516
