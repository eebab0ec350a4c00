"""Enums of the TFLite schema (the ``tflite`` package's generated modules) without importing the package.

``import tflite.X`` runs the package's ``__init__``, which imports all ~190 generated modules: a noticeable
share of an ONNX analysis' start-up, when lowering and rules need only a few enums of plain ints. Each enum
module is self-contained (one class of int constants), so it is loaded from its file on its own. The TFLite
reader, which needs the flatbuffer table classes, imports the package as usual; once it has, its modules are
used here too.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=None)
def schema_enum(name: str) -> type:
    """The enum class ``tflite.<name>.<name>``, e.g. ``schema_enum("BuiltinOperator").CONV_2D == 3``."""
    loaded = sys.modules.get(f"tflite.{name}")
    if loaded is not None:
        return getattr(loaded, name)
    package = importlib.util.find_spec("tflite")
    if package is None or not package.submodule_search_locations:
        raise ImportError("the tflite package (the TFLite schema) is not installed")
    path = Path(next(iter(package.submodule_search_locations))) / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"edgefit._tflite_schema.{name}", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ImportError(f"the tflite package has no schema module {name} ({path})")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def enum_names(enum: type) -> dict[int, str]:
    """Value -> name of a schema enum class."""
    return {v: k for k, v in vars(enum).items() if not k.startswith("_") and isinstance(v, int)}
