"""edgefit: will this model run on that edge accelerator, and exactly why not?

    import edgefit
    report = edgefit.analyze("model.tflite", device="coral")
    print(report.verdict, report.summary()["cpu_ops_by_type"])
    table = edgefit.compare("model.onnx")          # every catalog device, best first
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgefit.api import analyze
    from edgefit.compare import compare
    from edgefit.inspect import inspect_model
    from edgefit.read import read_model

__all__ = ["analyze", "compare", "inspect_model", "read_model"]


def __getattr__(name: str) -> Any:
    # Imported on first use so `import edgefit` stays cheap for the CLI's fast paths.
    if name == "analyze":
        from edgefit.api import analyze

        return analyze
    if name == "compare":
        from edgefit.compare import compare

        return compare
    if name == "inspect_model":
        from edgefit.inspect import inspect_model

        return inspect_model
    if name == "read_model":
        from edgefit.read import read_model

        return read_model
    raise AttributeError(f"module 'edgefit' has no attribute {name!r}")
