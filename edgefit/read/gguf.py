"""GGUF reader: the header only (metadata key-values and tensor infos) -> Model; tensor data is never read.

GGUF is llama.cpp's file format: a header of typed key-values (architecture, hyper-parameters, tokenizer) and
tensor infos (name, dims, ggml type, offset), then the aligned tensor data. The header is parsed here with the
``gguf`` package's constants rather than ``gguf.GGUFReader``, which memory-maps the whole file, views every
tensor, and trusts the counts it reads. So a multi-GB file costs only its header, a header-only copy (data
region absent) still reads, and every count and length is checked against the file size before anything is
allocated from it.

The result is a ``Model`` with ``format="gguf"`` and one op-less graph whose tensors are the file's tensors
(numpy-order shapes, exact stored bytes). Scalar metadata is kept as strings; arrays are summarized
(``array[151936] of string``), short numeric ones kept (``[8, 8, 4]``).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

from edgefit.errors import CorruptModelError, ModelFileError, UnsupportedFormatError, UsageError
from edgefit.graph import Model, OpGraph, Tensor

MAGIC = b"GGUF"
#: Strings kept verbatim in ``Model.metadata`` up to this many bytes; longer ones (chat templates) summarized.
KEPT_STRING_BYTES = 1024
#: Numeric arrays kept verbatim (per-layer hyper-parameters) up to this many elements.
KEPT_ARRAY_ITEMS = 256
#: Keys and tensor names are identifiers: ggml caps tensor names at 64 bytes (GGML_MAX_NAME).
MAX_NAME_BYTES = 4096
MAX_ARRAY_DEPTH = 4
GGML_MAX_DIMS = 4
_GGML_DTYPE_NAMES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64", "I8": "int8",
                     "I16": "int16", "I32": "int32", "I64": "int64"}


def _import_gguf(path: Path) -> Any:
    try:
        import gguf
    except ImportError:
        raise UsageError("reading GGUF files needs the gguf package: pip install 'edgefit[gguf]'", path) from None
    return gguf


class _Header:
    """Bounded reads from the start of a file: every read is checked against the file size first."""

    def __init__(self, f: BinaryIO, size: int, path: Path, gguf: Any):
        self.f, self.size, self.path, self.gguf = f, size, path, gguf
        self.pos = 0
        self.order = "<"
        vt = gguf.GGUFValueType
        self.scalars = {vt.UINT8: "B", vt.INT8: "b", vt.UINT16: "H", vt.INT16: "h", vt.UINT32: "I", vt.INT32: "i",
                        vt.FLOAT32: "f", vt.BOOL: "?", vt.UINT64: "Q", vt.INT64: "q", vt.FLOAT64: "d"}

    def fail(self, what: str) -> CorruptModelError:
        return CorruptModelError(f"GGUF header {what} (at byte {self.pos} of {self.size})", self.path)

    def remaining(self) -> int:
        return self.size - self.pos

    def read(self, n: int, what: str) -> bytes:
        if n > self.remaining():
            raise self.fail(f"truncated: {what} needs {n} bytes, {self.remaining()} left")
        data = self.f.read(n)
        if len(data) != n:
            raise self.fail(f"truncated while reading {what}")
        self.pos += n
        return data

    def skip(self, n: int, what: str) -> None:
        if n > self.remaining():
            raise self.fail(f"truncated: {what} needs {n} bytes, {self.remaining()} left")
        self.f.seek(n, 1)
        self.pos += n

    def scalar(self, fmt: str, what: str) -> Any:
        return struct.unpack(self.order + fmt, self.read(struct.calcsize(fmt), what))[0]

    def u32(self, what: str) -> int:
        return self.scalar("I", what)

    def u64(self, what: str) -> int:
        return self.scalar("Q", what)

    def string(self, what: str, limit: int | None = None) -> str | None:
        """A length-prefixed UTF-8 string; None (and skipped) when longer than ``limit``."""
        n = self.u64(f"{what} length")
        if n > self.remaining():
            raise self.fail(f"{what} declares {n:,} bytes but only {self.remaining():,} remain")
        if limit is not None and n > limit:
            self.skip(n, what)
            return None
        return self.read(n, what).decode("utf-8", errors="replace")

    def name(self, what: str) -> str:
        n = self.u64(f"{what} length")
        if n > MAX_NAME_BYTES or n > self.remaining():
            raise self.fail(f"{what} length {n:,} is implausible")
        return self.read(n, what).decode("utf-8", errors="replace")

    def value_type(self, what: str) -> Any:
        code = self.u32(f"{what} type")
        try:
            return self.gguf.GGUFValueType(code)
        except ValueError:
            raise self.fail(f"{what} has unknown value type {code}") from None

    def value(self, vtype: Any, what: str, depth: int = 0) -> str:
        """One value, as the string kept in ``Model.metadata``."""
        vt = self.gguf.GGUFValueType
        if vtype == vt.STRING:
            s = self.string(what, KEPT_STRING_BYTES)
            return s if s is not None else "string longer than 1024 bytes (not kept)"
        if vtype == vt.ARRAY:
            if depth >= MAX_ARRAY_DEPTH:
                raise self.fail(f"{what} nests arrays more than {MAX_ARRAY_DEPTH} deep")
            etype = self.value_type(f"{what} element")
            count = self.u64(f"{what} count")
            min_item = 8 if etype in (vt.STRING, vt.ARRAY) else struct.calcsize(self.scalars[etype])
            if count * min_item > self.remaining():
                raise self.fail(f"{what} declares {count:,} elements but only {self.remaining():,} bytes remain")
            if etype in self.scalars and count <= KEPT_ARRAY_ITEMS:
                fmt = self.scalars[etype]
                items = struct.unpack(f"{self.order}{count}{fmt}", self.read(count * min_item, what))
                return "[" + ", ".join(_scalar_text(v) for v in items) + "]"
            if etype in self.scalars:
                self.skip(count * min_item, what)
            else:
                for _ in range(count):  # each element has its own length: walk them, keeping none
                    if etype == vt.STRING:
                        self.string(what, 0)
                    else:
                        self.value(etype, what, depth + 1)
            return f"array[{count}] of {etype.name.lower()}"
        return _scalar_text(self.scalar(self.scalars[vtype], what))


def _scalar_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v) if isinstance(v, float) else str(v)


def read_gguf(path: Path) -> Model:
    gguf = _import_gguf(path)
    try:
        with open(path, "rb") as f:
            return _read(f, path.stat().st_size, path, gguf)
    except OSError as e:
        raise ModelFileError(f"cannot read: {e.strerror or e}", path) from None


def _read(f: BinaryIO, size: int, path: Path, gguf: Any) -> Model:
    h = _Header(f, size, path, gguf)
    if size < 4 or h.read(4, "magic") != MAGIC:
        raise UnsupportedFormatError("not a GGUF file: it does not start with the magic 'GGUF'", path)
    raw = h.read(4, "version")
    version = struct.unpack("<I", raw)[0]
    if version & 0xFFFF == 0 and struct.unpack(">I", raw)[0] in (2, 3):
        h.order, version = ">", struct.unpack(">I", raw)[0]  # a big-endian GGUF (s390x builds)
    if version == 1:
        raise UnsupportedFormatError("GGUF version 1 (llama.cpp's first, pre-release layout) is not supported; "
                                     "convert the model again with a current llama.cpp", path)
    if version not in (2, 3):
        raise UnsupportedFormatError(f"GGUF version {version} is not one edgefit reads (2 and 3)", path)
    n_tensors = h.u64("tensor count")
    n_kv = h.u64("key-value count")
    # Smallest possible entries: a key-value is 8 (key length) + 1 + 4 (type) + 1 bytes, a tensor info
    # 8 + 1 (name) + 4 (n_dims) + 8 (a dim) + 4 (type) + 8 (offset).
    if n_kv * 14 > h.remaining():
        raise h.fail(f"declares {n_kv:,} key-values, more than the file can hold")
    if n_tensors * 33 > h.remaining():
        raise h.fail(f"declares {n_tensors:,} tensors, more than the file can hold")

    meta: dict[str, str] = {}
    for i in range(n_kv):
        key = h.name(f"key #{i}")
        vtype = h.value_type(f"key {key!r}")
        if key in meta:
            raise h.fail(f"repeats key {key!r}")
        meta[key] = h.value(vtype, f"key {key!r}")

    alignment = gguf.GGUF_DEFAULT_ALIGNMENT
    if "general.alignment" in meta:
        try:
            alignment = int(meta["general.alignment"])
        except ValueError:
            alignment = 0
        if alignment <= 0 or alignment & (alignment - 1):
            raise h.fail(f"general.alignment {meta['general.alignment']!r} is not a power of two")

    tensors: dict[str, Tensor] = {}
    types: dict[str, int] = {}
    data_end = 0
    for i in range(n_tensors):
        name = h.name(f"tensor #{i} name")
        n_dims = h.u32(f"tensor {name!r} n_dims")
        if not 1 <= n_dims <= GGML_MAX_DIMS:
            raise h.fail(f"tensor {name!r} has {n_dims} dims (ggml allows 1 to {GGML_MAX_DIMS})")
        dims = [h.u64(f"tensor {name!r} dims") for _ in range(n_dims)]
        code = h.u32(f"tensor {name!r} type")
        offset = h.u64(f"tensor {name!r} offset")
        try:
            qtype = gguf.GGMLQuantizationType(code)
        except ValueError:
            raise UnsupportedFormatError(f"tensor {name!r} has ggml type {code}, unknown to the installed gguf "
                                         "package; upgrade it (pip install -U gguf)", path) from None
        per_block, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
        if any(d >= 1 << 48 for d in dims) or dims[0] % per_block:
            raise h.fail(f"tensor {name!r} has dims {dims} that do not fit type {qtype.name} "
                         f"(blocks of {per_block})")
        if name in tensors:
            raise h.fail(f"repeats tensor {name!r}")
        if offset % alignment:
            raise h.fail(f"tensor {name!r} offset {offset} is not a multiple of the alignment {alignment}")
        elements = 1
        for d in dims:
            elements *= d
        nbytes = elements // per_block * block_bytes
        data_end = max(data_end, offset + nbytes)
        types[qtype.name] = types.get(qtype.name, 0) + 1
        tensors[name] = Tensor(name, _GGML_DTYPE_NAMES.get(qtype.name, qtype.name.lower()), tuple(reversed(dims)),
                               is_constant=True, stored_bytes=nbytes)

    data_start = -(-h.pos // alignment) * alignment
    notes = []
    if size < data_start + data_end:
        notes.append(f"tensor data absent or truncated: the file has {size:,} bytes, its tensors end at "
                     f"{data_start + data_end:,} (edgefit reads only the header, so the analysis is unaffected)")
    if meta.get("split.count", "1") not in ("0", "1"):
        notes.append(f"split GGUF: shard {meta.get('split.no', '?')} (from 0) of {meta['split.count']}; the "
                     "tensor figures cover this shard only")
    meta["edgefit.gguf_version"] = str(version)
    meta["edgefit.tensor_count"] = str(n_tensors)
    meta["edgefit.tensor_data_bytes"] = str(sum(t.stored_bytes or 0 for t in tensors.values()))
    meta["edgefit.tensor_types"] = ", ".join(f"{k} {v}" for k, v in sorted(types.items(), key=lambda kv: -kv[1]))
    file_type = meta.get("general.file_type")
    if file_type is not None and file_type.isdigit():
        try:
            ftype = gguf.LlamaFileType(int(file_type))
            meta["edgefit.file_type_name"] = ftype.name.removeprefix("MOSTLY_").removeprefix("ALL_")
        except ValueError:
            notes.append(f"general.file_type {file_type} is unknown to the installed gguf package")
    graph = OpGraph(meta.get("general.name") or path.stem, [], tensors, [], [])
    return Model(path=str(path), format="gguf", graphs=[graph], opsets={"gguf": version},
                 producer=meta.get("general.quantized_by", ""), metadata=meta, notes=notes)
