"""GGUF reader: header-only parsing with the gguf package's constants; hostile headers fail in one line."""

from __future__ import annotations

import builtins
import json
import struct
import sys

import numpy as np
import pytest
from conftest import run_edgefit

gguf = pytest.importorskip("gguf")

import edgefit.read.gguf as gguf_reader  # noqa: E402
from edgefit.errors import CorruptModelError, EdgefitError, UnsupportedFormatError, UsageError  # noqa: E402
from edgefit.inspect import inspect_model  # noqa: E402
from edgefit.llm import GGML_BLOCKS, detect_llm  # noqa: E402
from edgefit.read import read_model  # noqa: E402

Q = gguf.GGMLQuantizationType

#: A 2-layer qwen3-shaped model: hidden 256 (one Q4_K block per row), 4 heads x 64, 2 KV heads, I 512.
CFG = dict(layers=2, hidden=256, heads=4, kv_heads=2, head_dim=64, intermediate=512, vocab=320, context=4096)


def _tensors(cfg: dict, tied: bool, mtype: Q) -> list[tuple[str, list[int], Q]]:
    """(name, numpy-order shape, type): the tensors llama.cpp's qwen3 converter writes."""
    h, hd, i = cfg["hidden"], cfg["head_dim"], cfg["intermediate"]
    qd, kvd = cfg["heads"] * hd, cfg["kv_heads"] * hd
    out = [("token_embd.weight", [cfg["vocab"], h], mtype)]
    for b in range(cfg["layers"]):
        p = f"blk.{b}."
        out += [(p + "attn_norm.weight", [h], Q.F32), (p + "attn_q.weight", [qd, h], mtype),
                (p + "attn_k.weight", [kvd, h], mtype), (p + "attn_v.weight", [kvd, h], mtype),
                (p + "attn_output.weight", [h, qd], mtype), (p + "attn_q_norm.weight", [hd], Q.F32),
                (p + "attn_k_norm.weight", [hd], Q.F32), (p + "ffn_norm.weight", [h], Q.F32),
                (p + "ffn_gate.weight", [i, h], mtype), (p + "ffn_up.weight", [i, h], mtype),
                (p + "ffn_down.weight", [h, i], mtype)]
    out.append(("output_norm.weight", [h], Q.F32))
    if not tied:
        out.append(("output.weight", [cfg["vocab"], h], mtype))
    return out


def _nbytes(shape: list[int], qtype: Q) -> int:
    per_block, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
    return int(np.prod(shape)) // per_block * block_bytes


def write_gguf(path, cfg=CFG, *, tied=True, mtype=Q.Q8_0, ftype=gguf.LlamaFileType.MOSTLY_Q8_0, data=True,
               tokens=True):
    """A qwen3 GGUF with real metadata; tensor data zero-filled, or absent (``data=False``: header only)."""
    w = gguf.GGUFWriter(str(path), "qwen3")
    w.add_name("tiny-qwen3")
    w.add_block_count(cfg["layers"])
    w.add_embedding_length(cfg["hidden"])
    w.add_head_count(cfg["heads"])
    w.add_head_count_kv(cfg["kv_heads"])
    w.add_key_length(cfg["head_dim"])
    w.add_value_length(cfg["head_dim"])
    w.add_feed_forward_length(cfg["intermediate"])
    w.add_context_length(cfg["context"])
    if ftype is not None:
        w.add_file_type(ftype)
    if tokens:
        w.add_token_list([f"t{i}" for i in range(cfg["vocab"])])
        w.add_chat_template("x" * 5000)  # a long string: summarized, not kept
    for name, shape, qtype in _tensors(cfg, tied, mtype):
        nbytes = _nbytes(shape, qtype)
        if data:
            if qtype == Q.F32:
                w.add_tensor(name, np.zeros(shape, np.float32))
            else:
                w.add_tensor(name, np.zeros(nbytes, np.uint8).reshape(shape[0], -1), raw_dtype=qtype)
        else:
            w.add_tensor_info(name, shape, np.dtype(np.float32), nbytes, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    if data:
        w.write_tensors_to_file()
    else:
        w.write_ti_data_to_file()
    w.close()
    return path


@pytest.fixture
def q8(tmp_path):
    return write_gguf(tmp_path / "tiny-q8_0.gguf")


def test_metadata_and_tensor_infos(q8):
    m = read_model(q8)
    assert m.format == "gguf" and len(m.graphs) == 1 and len(m.main) == 0
    meta = m.metadata
    assert meta["general.architecture"] == "qwen3" and meta["general.name"] == "tiny-qwen3"
    assert meta["qwen3.block_count"] == "2" and meta["qwen3.embedding_length"] == "256"
    assert meta["qwen3.attention.head_count"] == "4" and meta["qwen3.attention.head_count_kv"] == "2"
    assert meta["qwen3.attention.key_length"] == "64" and meta["qwen3.feed_forward_length"] == "512"
    assert meta["qwen3.context_length"] == "4096"
    assert meta["general.file_type"] == str(int(gguf.LlamaFileType.MOSTLY_Q8_0))
    assert meta["edgefit.file_type_name"] == "Q8_0"
    assert meta["tokenizer.ggml.tokens"] == "array[320] of string"  # a count, not 320 strings
    assert meta["tokenizer.chat_template"].startswith("string longer than")
    t = m.main.tensors["blk.0.attn_q.weight"]
    assert t.shape == (256, 256) and t.dtype == "q8_0" and t.stored_bytes == 256 * 256 // 32 * 34
    assert m.main.tensors["token_embd.weight"].shape == (320, 256)
    assert m.main.tensors["blk.1.ffn_down.weight"].shape == (256, 512)
    assert m.main.tensors["blk.0.attn_norm.weight"].dtype == "float32"
    assert m.notes == []


def test_detects_the_architecture_from_metadata(q8):
    a = detect_llm(read_model(q8))
    assert a is not None and a.source == "gguf" and a.arch == "qwen3"
    assert (a.layers, a.hidden, a.heads, a.kv_heads, a.head_dim, a.intermediate, a.vocab, a.context_max) == \
        (2, 256, 4, 2, 64, 512, 320, 4096)
    assert a.tied_embeddings and a.mlp_gated and a.file_format == "Q8_0" and a.file_weight_format == "q8_0"
    expected = sum(_nbytes(s, t) for _, s, t in _tensors(CFG, True, Q.Q8_0))
    assert a.file_weight_bytes == expected
    # The architecture's own Q8_0 pricing reproduces the file: every matrix Q8_0, 1-D tensors F32.
    assert a.weight_bytes("q8_0") == a.file_weight_bytes
    assert a.kv_cache_bytes_per_token() == 2 * 2 * 2 * 64 * 2
    json.dumps(a.to_dict())


def test_untied_f16_file(tmp_path):
    p = write_gguf(tmp_path / "f16.gguf", tied=False, mtype=Q.F16, ftype=gguf.LlamaFileType.MOSTLY_F16)
    a = detect_llm(read_model(p))
    assert not a.tied_embeddings and a.file_format == "F16"
    # F16 file: matrices 2 B each, vectors F32 (4 B); fp16 pricing stores vectors at 2 B.
    assert a.file_weight_bytes == a.weight_bytes("fp16") + 2 * a.vector_params


def test_file_type_absent_falls_back_to_the_dominant_tensor_type(tmp_path):
    a = detect_llm(read_model(write_gguf(tmp_path / "noft.gguf", ftype=None, tokens=False)))
    assert a.file_format == "Q8_0" and a.vocab == 320  # vocab from token_embd.weight when no token list


def test_header_only_file_reads_and_says_the_data_is_absent(tmp_path):
    p = write_gguf(tmp_path / "header-only.gguf", data=False)
    full = write_gguf(tmp_path / "full.gguf")
    assert p.stat().st_size < 20_000 < full.stat().st_size
    m = read_model(p)
    assert any("tensor data absent" in n for n in m.notes)
    assert detect_llm(m).file_weight_bytes == detect_llm(read_model(full)).file_weight_bytes


def test_no_byte_past_the_header_is_read(tmp_path, monkeypatch):
    p = write_gguf(tmp_path / "full.gguf")
    header_end = _header_end(p)
    furthest = []

    class Tracking:
        def __init__(self, f):
            self.f = f

        def read(self, n=-1):
            data = self.f.read(n)
            furthest.append(self.f.tell())
            return data

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    real_open = builtins.open
    monkeypatch.setattr(gguf_reader, "open", lambda *a, **k: Tracking(real_open(*a, **k)), raising=False)
    read_model(p)
    assert furthest and max(furthest) <= header_end < p.stat().st_size


def _header_end(path) -> int:
    """End of the tensor infos, found independently with gguf.GGUFReader."""
    r = gguf.GGUFReader(str(path))
    return min(int(t.data_offset) for t in r.tensors)


def test_inspect_of_a_gguf_file(q8):
    d = inspect_model(q8).to_dict()
    assert d["format"] == "gguf" and d["node_count"] == 0 and d["inputs"] == [] and d["op_histogram"] == {}
    assert d["param_bytes"] == detect_llm(read_model(q8)).file_weight_bytes
    assert set(d["params_by_dtype"]) == {"q8_0", "float32"}
    r = run_edgefit("inspect", q8)
    assert r.returncode == 0, r.stderr


def test_ggml_block_sizes_match_the_gguf_package():
    for name, layout in GGML_BLOCKS.items():
        assert gguf.GGML_QUANT_SIZES[Q[name]] == layout, name


# -- hostile input --------------------------------------------------------------------------------------------

def _header(version=3, n_tensors=0, n_kv=0) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", version, n_tensors, n_kv)


def _kv(key: bytes, vtype: int, payload: bytes) -> bytes:
    return struct.pack("<Q", len(key)) + key + struct.pack("<I", vtype) + payload


HOSTILE = {
    "absurd tensor count": _header(n_tensors=2 ** 62) + b"\0" * 64,
    "absurd kv count": _header(n_kv=2 ** 62) + b"\0" * 64,
    "absurd string length": _header(n_kv=1) + _kv(b"general.name", 8, struct.pack("<Q", 2 ** 40)) + b"x" * 64,
    "absurd key length": _header(n_kv=1) + struct.pack("<Q", 2 ** 40) + b"x" * 64,
    "absurd array count": _header(n_kv=1) + _kv(b"tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 2 ** 60)),
    "absurd numeric array": _header(n_kv=1) + _kv(b"a", 9, struct.pack("<IQ", 4, 2 ** 61)) + b"\0" * 64,
    "unknown value type": _header(n_kv=1) + _kv(b"a", 99, b"\0" * 16),
    "too many dims": _header(n_tensors=1) + struct.pack("<Q", 1) + b"t" + struct.pack("<I", 9) + b"\0" * 96,
    "dims do not fit type": _header(n_tensors=1) + struct.pack("<Q", 1) + b"t"
    + struct.pack("<IQIQ", 1, 33, int(Q.Q8_0), 0),
    "misaligned offset": _header(n_tensors=1) + struct.pack("<Q", 1) + b"t" + struct.pack("<IQIQ", 1, 4, 0, 3),
    "bad alignment": _header(n_kv=1) + _kv(b"general.alignment", 4, struct.pack("<I", 3)),
    "deep arrays": _header(n_kv=1) + _kv(b"a", 9, struct.pack("<IQ", 9, 1) * 6 + b"\0" * 64),
    "only magic": b"GGUF",
    "truncated counts": b"GGUF" + struct.pack("<I", 3) + b"\0\0\0",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_headers_are_corrupt_model_errors(tmp_path, case):
    p = tmp_path / "hostile.gguf"
    p.write_bytes(HOSTILE[case])
    with pytest.raises(CorruptModelError) as e:
        read_model(p)
    assert str(p) in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("data,message", [
    (b"GGUX" + b"\0" * 28, "magic"),
    (_header(version=1) + b"\0" * 16, "version 1"),
    (_header(version=7) + b"\0" * 16, "version 7"),
    (_header(n_tensors=1) + struct.pack("<Q", 1) + b"t" + struct.pack("<IQIQ", 1, 32, 250, 0), "ggml type 250"),
])
def test_unsupported_headers(tmp_path, data, message):
    p = tmp_path / "x.gguf"
    p.write_bytes(data)
    with pytest.raises(UnsupportedFormatError, match=message):
        read_model(p)


def test_every_truncation_of_the_header_is_a_one_line_error(tmp_path):
    src = write_gguf(tmp_path / "full.gguf", cfg=dict(CFG, vocab=8))
    data_start = _header_end(src)
    data = src.read_bytes()
    p = tmp_path / "cut.gguf"
    for n in range(1, data_start + 64, 3):
        p.write_bytes(data[:n])
        if n < data_start - 32:  # inside the key-values or tensor infos (the last 0-31 bytes may be padding)
            with pytest.raises(EdgefitError) as e:
                read_model(p)
            assert "\n" not in str(e.value) and str(p) in str(e.value)
        elif n >= data_start:  # the whole header is there: it reads, and says the data is cut
            assert any("truncated" in note for note in read_model(p).notes)


def test_not_decoder_llms_are_not_detected(tmp_path):
    # A vocab-only file (llama.cpp ships them for tokenizer tests): the metadata of a model, no tensors.
    p = tmp_path / "vocab.gguf"
    w = gguf.GGUFWriter(str(p), "llama")
    w.add_block_count(32)
    w.add_embedding_length(4096)
    w.add_head_count(32)
    w.add_token_list(["a", "b"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    m = read_model(p)
    assert m.metadata["llama.block_count"] == "32" and detect_llm(m) is None
    # An encoder (BERT embeddings model): not a decoder, no KV cache.
    bert = tmp_path / "bert.gguf"
    w = gguf.GGUFWriter(str(bert), "bert")
    w.add_block_count(1)
    w.add_embedding_length(32)
    w.add_head_count(2)
    w.add_tensor("token_embd.weight", np.zeros((8, 32), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    assert detect_llm(read_model(bert)) is None


def test_per_layer_head_counts_and_split_files(tmp_path):
    p = tmp_path / "split.gguf"
    w = gguf.GGUFWriter(str(p), "llama")
    w.add_block_count(2)
    w.add_embedding_length(64)
    w.add_head_count(4)
    w.add_head_count_kv([2, 1])
    w.add_uint16("split.no", 0)
    w.add_uint16("split.count", 3)
    w.add_tensor_info("token_embd.weight", [50, 64], np.dtype(np.float32), 50 * 64 * 2, raw_dtype=Q.F16)
    w.add_tensor_info("blk.0.attn_norm.weight", [64], np.dtype(np.float32), 64 * 4)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    m = read_model(p)
    assert m.metadata["llama.attention.head_count_kv"] == "[2, 1]"
    assert any(n.startswith("split GGUF: shard 0 (from 0) of 3") for n in m.notes)
    a = detect_llm(m)
    assert a.kv_heads == 2 and a.head_dim == 16 and any("varies by layer" in e for e in a.evidence)


def test_big_endian_file(tmp_path):
    p = tmp_path / "be.gguf"
    w = gguf.GGUFWriter(str(p), "llama", endianess=gguf.GGUFEndian.BIG)
    w.add_block_count(1)
    w.add_tensor_info("token_embd.weight", [8, 32], np.dtype(np.float32), 8 * 32 * 4)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    m = read_model(p)
    assert m.metadata["llama.block_count"] == "1" and m.main.tensors["token_embd.weight"].shape == (8, 32)


def test_wrong_extension_and_input_shapes(tmp_path, q8):
    renamed = tmp_path / "model.onnx"
    renamed.write_bytes(q8.read_bytes())
    with pytest.raises(UnsupportedFormatError, match="rename it to .gguf"):
        read_model(renamed)
    with pytest.raises(UsageError):
        read_model(q8, input_shapes={"seq": 8})


def test_missing_gguf_package_says_how_to_install(q8, monkeypatch):
    monkeypatch.setitem(sys.modules, "gguf", None)  # makes `import gguf` raise ImportError
    with pytest.raises(UsageError, match=r"pip install 'edgefit\[gguf\]'"):
        read_model(q8)


def test_cli_hostile_file_exits_2_with_one_line(tmp_path):
    p = tmp_path / "hostile.gguf"
    p.write_bytes(HOSTILE["absurd tensor count"])
    r = run_edgefit("inspect", p)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and str(p) in r.stderr
