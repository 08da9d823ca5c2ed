"""A notebook client for the tests that execute notebooks (lessons, the Colab simulation, the setup cell, live
curves in a kernel) and for the website's build (site/_ext/course_site.py): nbclient's, made robust to lost socket
wake-ups (README, Tests)."""

from __future__ import annotations

import asyncio
import time
import warnings
from queue import Empty

import nbclient


class NudgingClient(nbclient.NotebookClient):
    """nbclient's client, made robust to two lost wake-ups of zmq's edge-triggered sockets (its file descriptor
    signals a change, not a state: an event consumed by another operation on the socket is never signalled again).

    * Client side (seen here): nbclient waits for a cell's reply by polling its shell socket for up to ``timeout``
      seconds; a reply whose wake-up is lost sits unread until that poll times out and its last, real check finds it.
      A lesson run of about 10 s then takes the whole cell limit (lesson 02 under ipywidgets 7.7: 610 s, kernel idle,
      its last cell done; caught with py-spy and by asking the kernel for ``In``). This client waits in slices of
      ``SLICE_SECONDS``: each slice ends with that real check, so a lost wake-up costs a few seconds, not the limit.
      Which operation consumes the wake-up is not known: this class sends its nudges from new connections, not on
      that socket, and lesson 02's cell 22 (a widget explorer) still loses it in about 4 runs of 10.
    * Kernel side (ipython/ipykernel issue 1554): since ipykernel 7 a request that reaches the kernel's shell socket
      while it sends a reply can stay unread until the next *connection*. Every ``NUDGE_SECONDS`` of a cell, a new
      connection sends a kernel_info request and waits for its reply (a reply to a peer already gone is part of the
      bug) before closing: the connection wakes the kernel's stream, and its reply goes to that connection only.

    A cell slower than ``SLOW_CELL_SECONDS``, or one with a message found only by a slice's last check, is reported
    as a warning (which cell, how long, how many late messages): the evidence that either wake-up was lost."""

    SLICE_SECONDS = 2
    NUDGE_SECONDS = 20
    SLOW_CELL_SECONDS = 120
    late_messages = (
        0  # messages found only by a slice's last check: lost wake-ups (or a message just in time)
    )

    def _wait_in_slices(self, channel) -> None:
        if getattr(channel, "waits_in_slices", False):
            return
        get_msg = channel.get_msg

        async def sliced(timeout=None):
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = (
                    self.SLICE_SECONDS
                    if deadline is None
                    else max(0.0, deadline - time.monotonic())
                )
                wait = min(self.SLICE_SECONDS, left)
                started = time.monotonic()
                try:
                    msg = await get_msg(timeout=wait)
                    if (
                        wait > 0 and time.monotonic() - started >= wait
                    ):  # found by the slice's last check
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
        self._wait_in_slices(self.kc.shell_channel)
        self._wait_in_slices(self.kc.iopub_channel)

        async def nudge():
            while True:
                await asyncio.sleep(self.NUDGE_SECONDS)
                await self._nudge_from_a_new_connection()

        task = asyncio.ensure_future(nudge())
        start = time.monotonic()
        try:
            return await super().async_execute_cell(
                cell, cell_index, execution_count, store_history
            )
        finally:
            task.cancel()
            seconds = time.monotonic() - start
            late, self.late_messages = self.late_messages, 0
            if (
                seconds > self.SLOW_CELL_SECONDS or late
            ):  # evidence for the next stall: which cell, how long
                warnings.warn(
                    f"cell {cell_index} ({cell.source.splitlines()[0][:60] if cell.source else ''!r}) "
                    f"took {seconds:.0f} s; {late} message(s) found only by the end of a "
                    f"{self.SLICE_SECONDS} s wait (a lost wake-up, or one just in time)"
                )
