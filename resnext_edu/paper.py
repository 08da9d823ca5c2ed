"""The paper's own numbers (Tables 1-4, 7 and the CIFAR recipe), shipped as data with their source.

They are shown *beside* the learner's and the shipped results (lessons 04-06), never mixed with them. Load with
:func:`load`; each table is a dict with ``caption`` and ``rows``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

PAPER_JSON = Path(__file__).resolve().parent / "reference" / "paper.json"


@lru_cache(maxsize=1)
def load() -> dict:
    """The whole reference file: ``source``, ``units``, ``table1`` ... ``table7``, ``cifar_recipe``."""
    return json.loads(PAPER_JSON.read_text())


def table(name: str) -> dict:
    """One table by name, e.g. ``table("table3")``."""
    data = load()
    if name not in data or not name.startswith(("table", "cifar")):
        tables = [k for k in data if k.startswith(("table", "cifar"))]
        raise ValueError(f"No paper table named {name!r}. Available: {', '.join(tables)}.")
    return data[name]


def source() -> str:
    return load()["source"]
