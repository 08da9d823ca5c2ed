"""The lessons, as committed and as executed top to bottom in quick mode (RESNEXT_EDU_QUICK=1)."""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path
from queue import Empty

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from resnext_edu import course  # noqa: E402

import lesson05_facts  # noqa: E402  (tests/lesson05_facts.py)

NOTEBOOKS = sorted(course.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
FACT = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])")   # a number written with thousands separators
MAX_CELL_LINES = 30
# per lesson: numbers it prints, recomputed from their sources by the test (called with the lesson's printed text)
LESSON_CHECKS = {"05_cardinality_sweep": lesson05_facts.check}


class NudgingClient(nbclient.NotebookClient):
    """nbclient's client, made robust to two lost wake-ups of zmq's edge-triggered sockets (its file descriptor
    signals a change, not a state: an event consumed by another operation on the socket is never signalled again).

    * Client side (seen here): nbclient waits for a cell's reply by polling its shell socket for up to ``timeout``
      seconds; a reply whose wake-up is lost sits unread until that poll times out and its last, real check finds it.
      A lesson run of about 10 s then takes the whole cell limit (lesson 02 under ipywidgets 7.7: 610 s, kernel idle,
      its last cell done; caught with py-spy and by asking the kernel for ``In``). This client waits in slices of
      ``SLICE_SECONDS``: each slice ends with that real check, so a lost wake-up costs a few seconds, not the limit.
      (Nudges sent on the client's own shell socket while it was being polled, as this class did before, are one
      way to lose the wake-up: they are gone.)
    * Kernel side (ipython/ipykernel issue 1554): since ipykernel 7 a request that reaches the kernel's shell socket
      while it sends a reply can stay unread until the next *connection*. Every ``NUDGE_SECONDS`` of a cell, a new
      connection sends a kernel_info request and waits for its reply (a reply to a peer already gone is part of the
      bug) before closing: the connection wakes the kernel's stream, and its reply goes to that connection only.

    A cell slower than ``SLOW_CELL_SECONDS``, or one with a message found only by a slice's last check, is reported
    as a warning (which cell, how long, how many late messages): the evidence that either wake-up was lost."""

    SLICE_SECONDS = 2
    NUDGE_SECONDS = 20
    SLOW_CELL_SECONDS = 120
    late_messages = 0      # messages found only by a slice's last check: lost wake-ups (or a message just in time)

    def _wait_in_slices(self, channel) -> None:
        if getattr(channel, "waits_in_slices", False):
            return
        get_msg = channel.get_msg

        async def sliced(timeout=None):
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = self.SLICE_SECONDS if deadline is None else max(0.0, deadline - time.monotonic())
                wait = min(self.SLICE_SECONDS, left)
                started = time.monotonic()
                try:
                    msg = await get_msg(timeout=wait)
                    if wait > 0 and time.monotonic() - started >= wait:    # found by the slice's last check
                        self.late_messages += 1
                    return msg
                except Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise

        channel.get_msg, channel.waits_in_slices = sliced, True

    async def _nudge_from_a_new_connection(self) -> None:
        sock = self.kc.connect_shell()
        try:
            self.kc.session.send(sock, self.kc.session.msg("kernel_info_request"))
            await sock.poll(5000)
        finally:
            sock.close(linger=0)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        import asyncio

        self._wait_in_slices(self.kc.shell_channel)
        self._wait_in_slices(self.kc.iopub_channel)

        async def nudge():
            while True:
                await asyncio.sleep(self.NUDGE_SECONDS)
                await self._nudge_from_a_new_connection()

        task = asyncio.ensure_future(nudge())
        start = time.monotonic()
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            task.cancel()
            seconds = time.monotonic() - start
            late, self.late_messages = self.late_messages, 0
            if seconds > self.SLOW_CELL_SECONDS or late:    # evidence for the next stall: which cell, how long
                warnings.warn(f"cell {cell_index} ({cell.source.splitlines()[0][:60] if cell.source else ''!r}) "
                              f"took {seconds:.0f} s; {late} message(s) found only by the end of a "
                              f"{self.SLICE_SECONDS} s wait (a lost wake-up, or one just in time)")


def read(path: Path):
    return nbformat.read(path, as_version=4)


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_there_are_lessons():
    assert len(NOTEBOOKS) >= 1, f"no lessons found in {course.NOTEBOOKS}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_clean_with_badge_setup_and_structure(path):
    nb = read(path)
    for cell in code_cells(nb):
        assert not cell.get("outputs") and cell.get("execution_count") is None, \
            f"{path.name} is committed with outputs: clear them (Edit > Clear Outputs of All Cells) and save"
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("# "), "a title first"
    assert course.colab_badge(path.name) in first.source, \
        f"{path.name}: the Colab badge disagrees with resnext_edu/course.py; run `python -m resnext_edu.course`"
    setups = [c for c in code_cells(nb) if "google.colab" in c.source]
    assert len(setups) == 1 and setups[0].source == course.setup_cell(), \
        f"{path.name}: exactly one setup cell, as course.setup_cell() writes it (`python -m resnext_edu.course`)"
    assert code_cells(nb)[0] is setups[0], "the setup cell is the first code cell"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown").lower()
    for heading in ("what you will learn", "summary", "exercise"):
        assert heading in text, f"{path.name} lacks a '{heading}' section"
    assert any("quick_mode(" in c.source for c in code_cells(nb)), f"{path.name} has no quick-mode settings cell"
    long = [c.source.splitlines()[0] for c in code_cells(nb) if len(c.source.splitlines()) > MAX_CELL_LINES]
    assert not long, f"{path.name}: cells over {MAX_CELL_LINES} lines belong in the package: {long}"


def outputs_text(nb) -> str:
    parts = []
    for cell in code_cells(nb):
        for output in cell.get("outputs", []):
            if "text" in output:
                parts.append(output["text"])
            for mime in ("text/plain", "text/html", "text/markdown"):
                if mime in output.get("data", {}):
                    parts.append(output["data"][mime])
    return "\n".join(parts)


@pytest.mark.notebooks
@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_lesson_runs_in_quick_mode_and_its_facts_are_measured(path, tmp_path, monkeypatch):
    """Runs every cell (an error fails the test), then checks that every number the lesson's text states with
    thousands separators (69,632; 25,028,904; ...) was printed by the package's own code in this run."""
    monkeypatch.setenv(course.QUICK_ENV, "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = read(path)
    client = NudgingClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    for cell in code_cells(nb):
        for output in cell.outputs:
            assert output.output_type != "error", f"{path.name}: {output.get('ename')}: {output.get('evalue')}"
            if output.output_type == "stream" and output.name == "stderr":
                assert "Traceback" not in output.text, f"{path.name}: {output.text[:500]}"
    printed = outputs_text(nb)
    stated = {m for c in nb.cells if c.cell_type == "markdown" for m in FACT.findall(c.source)}
    unmeasured = sorted(n for n in stated if n not in printed)
    assert not unmeasured, f"{path.name} states {unmeasured} in its text, but no cell printed them"
    if path.stem in LESSON_CHECKS:
        LESSON_CHECKS[path.stem](printed)
