"""What every benchmark's result file carries beside its figures (benchmarks/README.md): the command that made it,
as a user would type it (no folder of the machine: ``provenance.command_line``), and the machine it ran on."""

from __future__ import annotations

import json
from pathlib import Path

from resnext_edu.files import atomic_write
from resnext_edu.provenance import command_line, describe


def write_result(out: str | Path, figures: dict, provenance: dict | None = None) -> None:
    """Write ``figures`` with ``command`` and ``provenance`` (``describe("cpu")`` unless given) to ``out`` as JSON,
    atomically: an interrupted benchmark leaves the previous result file whole."""
    result = {
        **figures,
        "command": command_line(),
        "provenance": describe("cpu") if provenance is None else provenance,
    }
    atomic_write(out, lambda tmp: Path(tmp).write_text(json.dumps(result, indent=1) + "\n"))
    print(f"written to {out}")
