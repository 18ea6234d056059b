"""Background pre-rendering of the page a sequential client will most likely ask for next.

A syncing client spends a good part of each round trip parsing the page it just got; the
sandbox runs in its own process in dev/bench setups, so it can render the next items in that
idle time. Only static text is cached (the order status is applied per request), the cache
is bounded, and a miss simply renders inline, so this changes speed, never responses.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from .data import EarningsLedger


class Prefetcher:
    def __init__(self) -> None:
        self._q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="fanvue-sandbox-prefetch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._q.put(None)
            self._thread.join(timeout=5)
            self._thread = None

    def submit(self, ledger: EarningsLedger, hi: int, lo: int) -> None:
        """Pre-render items hi, hi-1, ..., lo+1 (clamped by the ledger) of `ledger`."""
        if self._thread is not None:
            self._q.put((ledger, hi, lo))

    def _run(self) -> None:
        while True:
            job = self._q.get()
            if job is None:
                return
            # only the newest request matters: drop jobs that piled up behind it
            try:
                while True:
                    nxt = self._q.get_nowait()
                    if nxt is None:
                        return
                    job = nxt
            except queue.Empty:
                pass
            ledger, hi, lo = job
            try:
                ledger.prerender(range(hi, lo, -1))
            except Exception:  # never let a background nicety kill the thread
                pass
