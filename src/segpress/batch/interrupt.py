"""Ctrl-C as a request to stop: the first one lets the engine finish what is in flight and record it;
a second one raises ``KeyboardInterrupt`` at once.

Turning the first SIGINT into a flag (instead of an exception that may land anywhere) means a manifest
line is never cut in the middle by it. Signal handlers belong to the main thread; elsewhere (a batch
started from a thread of some application) Ctrl-C keeps its usual behaviour.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class StopRequest:
    """Set by the first Ctrl-C; engines check it between inputs."""

    def __init__(self) -> None:
        self.requested = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True


@contextmanager
def stop_on_interrupt() -> Iterator[StopRequest]:
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.signal(signal.SIGINT, stop._handle)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
