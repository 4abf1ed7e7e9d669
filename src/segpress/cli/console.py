"""Where the commands print (tests swap these consoles), and the signal that inputs failed."""

from __future__ import annotations

from rich.console import Console

stdout = Console()
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class InputFailed(Exception):
    """Some inputs failed; each was already reported on its own line."""
