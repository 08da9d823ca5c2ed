"""The paper's own numbers, shipped as data with their source: Tables 1-8, the unnumbered "residual connections"
table of Section 5.1, the training errors Section 5.1 reads off Fig. 5, and the CIFAR recipe of Appendix A.

They are shown *beside* the learner's and the shipped results (lessons 01-06), never mixed with them. Load with
:func:`table`; each table is a dict with ``caption`` and ``rows``. :func:`format_table` prints one as text, marked as
the paper's and followed by the source.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

PAPER_JSON = Path(__file__).resolve().parent / "reference" / "paper.json"
NOT_TABLES = ("source", "units")
MARK = "[the paper's numbers, not measured here]"


@lru_cache(maxsize=1)
def load() -> dict:
    """The whole reference file: ``source``, ``units`` and the tables (``table1`` ... ``table8``,
    ``residual_connections``, ``figure5``, ``cifar_recipe``)."""
    return json.loads(PAPER_JSON.read_text())


def names() -> list[str]:
    """The names :func:`table` accepts, in the file's order."""
    return [key for key in load() if key not in NOT_TABLES]


def table(name: str) -> dict:
    """One table by name, e.g. ``table("table3")`` or ``table("residual_connections")``."""
    if name not in names():
        raise ValueError(f"No paper table named {name!r}. Available: {', '.join(names())}.")
    return load()[name]


def source() -> str:
    return load()["source"]


def _cell(value) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def format_table(name: str, columns: dict[str, str] | None = None) -> str:
    """A table as aligned text: its caption marked as the paper's, one line per row, the source last.

    ``columns`` maps row keys to headings (default: every key of the first row, as it is named in the file)."""
    t = table(name)
    rows = t.get("rows", [])
    columns = columns or {key: key for key in (rows[0] if rows else {})}
    cells = [[_cell(row.get(key)) for key in columns] for row in rows]
    widths = [
        max([len(heading)] + [len(r[i]) for r in cells])
        for i, heading in enumerate(columns.values())
    ]

    def line(values):
        """The first column left-aligned, the others right-aligned, two spaces between."""
        aligned = [
            v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths))
        ]
        return "  " + "  ".join(aligned)

    lines = [f"{t['caption']}  {MARK}", line(list(columns.values()))] + [line(r) for r in cells]
    for key in ("note", "paper_reading"):
        if key in t:
            lines.append(f"  {'the paper: ' if key == 'paper_reading' else ''}{t[key]}")
    lines.append(f"  source: {source()}")
    return "\n".join(lines)
